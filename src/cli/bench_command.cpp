#include <cstdio>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "cli/command_failed.h"
#include "cli/commands.h"
#include "cli/generation_options.h"
#include "cli/model_options.h"
#include "torchllm/benchmark.h"
#include "torchllm/device.h"
#include "torchllm/error.h"
#include "torchllm/model.h"
#include "torchllm/model_shapes.h"

namespace torchllm::cli {
namespace {

struct BenchOptions {
  ModelOptions model;
  std::string shape;
  std::vector<int64_t> prompt_tokens = {512};
  std::vector<int64_t> gen_tokens = {128};
  std::vector<int64_t> batches = {1};
  int64_t repetitions = 3;
  double bandwidth_gb_s = 0;
  bool json = false;
  double temperature = 0, top_p = 1, min_p = 0;
  int64_t top_k = 0;
};

std::string gib(uint64_t bytes) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.2f GiB", bytes / 1073741824.0);
  return text;
}

void run_bench(const BenchOptions& o) {
  if (!o.model.model_dir.empty() && !o.shape.empty())
    throw CommandFailed("give -m DIR or --shape NAME, not both", 2);
  for (const auto* list : {&o.prompt_tokens, &o.gen_tokens, &o.batches}) {
    for (int64_t v : *list) {
      if (v < 1) throw CommandFailed("-p, -n and -b take sizes of at least 1", 2);
    }
  }
  if (o.repetitions < 1) throw CommandFailed("-r must be at least 1", 2);
  std::unique_ptr<Transformer> model;
  std::string name;
  o.model.apply_threads();
  if (!o.shape.empty()) {
    ModelConfig config;
    try {
      config = model_shape(o.shape);
    } catch (const Error& e) {
      throw CommandFailed(e.what(), 2);
    }
    model = Transformer::random(config, o.model.load, 0);
    name = o.shape;
  } else {
    const std::string dir = o.model.resolved_model_dir();
    model = Transformer::load(dir, o.model.load);
    name = dir.substr(dir.find_last_of('/') == std::string::npos ? 0 : dir.find_last_of('/') + 1);
  }
  SamplingParams sampling = BenchmarkCase::greedy_sampling();
  sampling.temperature = o.temperature;
  sampling.top_k = o.top_k;
  sampling.top_p = o.top_p;
  sampling.min_p = o.min_p;
  sampling.seed = 0;  // sequence b samples with seed b
  try {
    sampling.validate(model->config().vocab_size);
  } catch (const Error& e) {
    throw CommandFailed(e.what(), 2);
  }
  const bool greedy = sampling.temperature == 0;
  const std::string device = device_name(model->device());
  const double bandwidth = o.bandwidth_gb_s > 0 ? o.bandwidth_gb_s : known_bandwidth_gb_s(device);
  const uint64_t weight_bytes = model->weight_bytes();
  const std::string kv_type = kv_cache_type_name(model->kv_cache_type(), model->dtype());
  // The dtype column, with the KV cache's type where it is not the dtype
  const std::string dtype_column =
      std::string(dtype_name(model->dtype())) +
      (model->kv_cache_type() == KvCacheType::kModel ? std::string() : ", KV " + kv_type);

  nlohmann::ordered_json rows = nlohmann::ordered_json::array();
  if (!o.json && !greedy) std::cout << "Sampling: " << describe_sampling(sampling) << "\n\n";
  if (!o.json) {
    std::cout << "| model | device | dtype | batch | prompt | gen | prefill tok/s | decode tok/s | TTFT ms | "
                 "peak mem | "
                 "weights | of bandwidth bound |\n"
              << "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n"
              << std::flush;
  }
  for (int64_t batch : o.batches) {
    for (int64_t prompt : o.prompt_tokens) {
      for (int64_t gen : o.gen_tokens) {
        const BenchmarkResult r = run_benchmark(*model, {batch, prompt, gen, o.repetitions, sampling});
        // At batch b every decode step reads all weights once and makes b tokens.
        const double bound_tok_s = bandwidth > 0 ? bandwidth * 1e9 / weight_bytes * batch : 0;
        nlohmann::ordered_json row = {{"model", name},
                                      {"device", device},
                                      {"dtype", dtype_name(model->dtype())},
                                      {"kv_cache_type", kv_type},
                                      {"batch", batch},
                                      {"prompt_tokens", prompt},
                                      {"gen_tokens", gen},
                                      {"prefill_tok_s", r.prefill_tok_s},
                                      {"decode_tok_s", r.decode_tok_s},
                                      {"decode_tok_s_stddev", r.decode_tok_s_stddev},
                                      {"ttft_ms", r.ttft_ms},
                                      {"weight_bytes", weight_bytes},
                                      {"peak_mem_bytes", r.peak_mem_bytes},
                                      {"cuda_graphs", r.cuda_graphs},
                                      {"repetitions", o.repetitions},
                                      {"temperature", sampling.temperature},
                                      {"top_k", sampling.top_k},
                                      {"top_p", sampling.top_p},
                                      {"min_p", sampling.min_p}};
        if (bound_tok_s > 0) {
          row["bandwidth_gb_s"] = bandwidth;
          row["bandwidth_fraction"] = r.decode_tok_s / bound_tok_s;
        }
        if (o.json) {
          rows.push_back(row);
          continue;
        }
        char line[512];
        std::snprintf(
            line, sizeof(line),
            "| %s | %s | %s | %lld | %lld | %lld | %.1f | %.1f ± %.1f | %.1f | %s | %s | %s |", name.c_str(),
            (device + (r.cuda_graphs ? " (CUDA graphs)" : "")).c_str(), dtype_column.c_str(),
            static_cast<long long>(batch), static_cast<long long>(prompt), static_cast<long long>(gen),
            r.prefill_tok_s, r.decode_tok_s, r.decode_tok_s_stddev, r.ttft_ms, gib(r.peak_mem_bytes).c_str(),
            gib(weight_bytes).c_str(),
            bound_tok_s > 0
                ? (std::to_string(static_cast<int>(100 * r.decode_tok_s / bound_tok_s)) + "%").c_str()
                : "-");
        std::cout << line << "\n" << std::flush;
      }
    }
  }
  if (o.json) std::cout << rows.dump(2) << "\n";
}

}  // namespace

void add_bench_command(CLI::App& app) {
  auto o = std::make_shared<BenchOptions>();
  CLI::App* cmd = app.add_subcommand("bench", "Measure prefill and decode speed (like llama-bench)");
  o->model.add_to(*cmd);
  std::string shapes;
  for (const std::string& s : model_shape_names()) shapes += (shapes.empty() ? "" : ", ") + s;
  cmd->add_option("--shape", o->shape, "Random weights with the dimensions of a public model: " + shapes);
  cmd->add_option("-p,--prompt-tokens", o->prompt_tokens, "Prompt lengths (comma-separated or repeated)")
      ->delimiter(',')
      ->capture_default_str();
  cmd->add_option("-n,--gen-tokens", o->gen_tokens, "Generated lengths")
      ->delimiter(',')
      ->capture_default_str();
  cmd->add_option("-b,--batch", o->batches, "Batch sizes (sequences decoded together)")
      ->delimiter(',')
      ->capture_default_str();
  cmd->add_option("-r,--repetitions", o->repetitions, "Timed runs per configuration, after one warm-up")
      ->capture_default_str();
  cmd->add_option("--bandwidth", o->bandwidth_gb_s,
                  "Memory bandwidth in GB/s for the bound column (default: known GPUs' data-sheet figure)");
  cmd->add_flag("--json", o->json, "Print a JSON array, one object per configuration");
  const std::string sampling = "Sampling of every sequence (default: greedy, as llama-bench's decode)";
  cmd->add_option("--temperature", o->temperature, "Softmax temperature; 0 = greedy")
      ->group(sampling)
      ->capture_default_str();
  cmd->add_option("--top-k", o->top_k, "Keep the k most likely tokens; 0 = off")
      ->group(sampling)
      ->capture_default_str();
  cmd->add_option("--top-p", o->top_p, "Keep tokens up to this cumulative probability; 1 = off")
      ->group(sampling)
      ->capture_default_str();
  cmd->add_option("--min-p", o->min_p, "Drop tokens below min_p x the most likely one's probability; 0 = off")
      ->group(sampling)
      ->capture_default_str();
  cmd->callback([o] { run_bench(*o); });
}

}  // namespace torchllm::cli

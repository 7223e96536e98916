#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/model_options.h"
#include "torchllm/checkpoint.h"
#include "torchllm/device.h"
#include "torchllm/model.h"

namespace torchllm::cli {
namespace {

struct InfoOptions {
  ModelOptions model;
  bool json = false;
};

const char* rope_name(RopeScaling::Type type) {
  switch (type) {
    case RopeScaling::Type::kDefault:
      return "default";
    case RopeScaling::Type::kLinear:
      return "linear";
    case RopeScaling::Type::kLlama3:
      return "llama3";
  }
  return "?";
}

// Everything is read from config.json and the safetensors headers: no weights are loaded.
void run_info(const InfoOptions& options) {
  const std::string dir = options.model.resolved_model_dir();
  const ModelConfig config = load_model_config(dir);
  const Architecture& arch = find_architecture(config.architecture);
  const Checkpoint checkpoint(dir);
  check_checkpoint_tensors(checkpoint, config);
  const c10::Device device = resolve_device(options.model.load.device);
  const c10::ScalarType dtype = resolve_dtype(options.model.load.dtype, device);
  const int64_t parameters = checkpoint_parameter_count(config);
  const uint64_t weight_bytes = static_cast<uint64_t>(parameters) * c10::elementSize(dtype);
  nlohmann::json info = {
      {"model_dir", dir},
      {"architecture", config.architecture},
      {"layers", config.num_layers},
      {"hidden_size", config.hidden_size},
      {"intermediate_size", config.intermediate_size},
      {"heads", config.num_heads},
      {"kv_heads", config.num_kv_heads},
      {"head_dim", config.head_dim},
      {"vocab_size", config.vocab_size},
      {"max_position_embeddings", config.max_position_embeddings},
      {"rope_theta", config.rope_theta},
      {"rope_scaling", rope_name(config.rope_scaling.type)},
      {"qk_norm", arch.qk_norm},
      {"qkv_bias", arch.qkv_bias || config.attention_bias},
      {"tie_word_embeddings", config.tie_word_embeddings},
      {"parameters", parameters},
      {"checkpoint_dtype", config.dtype},
      {"checkpoint_bytes", checkpoint.total_bytes()},
      {"device", device.str()},
      {"dtype", dtype_name(dtype)},
      {"weight_bytes", weight_bytes},
      {"kv_bytes_per_token", kv_bytes_per_token(config, dtype)},
  };
  if (options.json) {
    std::cout << info.dump(2) << "\n";
    return;
  }
  for (const auto& item : info.items()) {
    std::cout << item.key() << ": "
              << (item.value().is_string() ? item.value().get<std::string>() : item.value().dump()) << "\n";
  }
}

}  // namespace

void add_info_command(CLI::App& app) {
  auto options = std::make_shared<InfoOptions>();
  CLI::App* cmd =
      app.add_subcommand("info", "Describe a model: architecture, sizes, parameters, memory per token");
  options->model.add_to(*cmd);
  cmd->add_flag("--json", options->json, "Print one JSON object");
  cmd->callback([options] { run_info(*options); });
}

}  // namespace torchllm::cli

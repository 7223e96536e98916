#include "server/metrics.h"

#include <malloc.h>

#include <cstdio>

namespace torchllm::server {
namespace {

std::string number(double value) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.9g", value);
  return buffer;
}

void header(std::string& out, const char* name, const char* type, const char* help) {
  out += "# HELP ";
  out += name;
  out += ' ';
  out += help;
  out += "\n# TYPE ";
  out += name;
  out += ' ';
  out += type;
  out += '\n';
}

void sample(std::string& out, const char* name, const char* type, const char* help, int64_t value) {
  header(out, name, type, help);
  out += name;
  out += ' ' + std::to_string(value) + '\n';
}

void render_kv_cache(const EngineGauges& g, std::string& out) {
  sample(out, "torchllm_kv_block_size", "gauge", "Tokens per KV block (--kv-block-size).", g.kv_block_size);
  sample(out, "torchllm_kv_blocks_total", "gauge", "KV blocks in the pool.", g.kv_blocks_total);
  sample(out, "torchllm_kv_blocks_used", "gauge", "KV blocks held by running sequences.", g.kv_blocks_used);
  sample(out, "torchllm_kv_blocks_cached", "gauge",
         "KV blocks free but holding a cached prompt prefix (reused until evicted).", g.kv_blocks_cached);
  header(out, "torchllm_kv_cache_usage_ratio", "gauge",
         "KV blocks used / total (vLLM's kv_cache_usage_perc).");
  out += "torchllm_kv_cache_usage_ratio " +
         number(g.kv_blocks_total > 0 ? static_cast<double>(g.kv_blocks_used) / g.kv_blocks_total : 0.0) +
         "\n";
  sample(out, "torchllm_prompt_tokens_admitted_total", "counter",
         "Prompt tokens of sequences admitted to the KV cache (each sequence once).",
         g.prompt_tokens_admitted);
  sample(out, "torchllm_prefix_cache_hit_tokens_total", "counter",
         "Admitted prompt tokens whose K/V came from the prefix cache instead of being computed.",
         g.prefix_hit_tokens);
  sample(out, "torchllm_prompt_tokens_computed_total", "counter",
         "Prompt tokens the forward passes computed (recomputations after preemption included).",
         g.prompt_tokens_computed);
  sample(out, "torchllm_preemptions_total", "counter",
         "Sequences preempted (KV blocks freed, requeued and recomputed) because the pool ran out.",
         g.preemptions);
}

}  // namespace

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)), counts_(bounds_.size() + 1, 0) {}

void Histogram::observe(double value) {
  size_t i = 0;
  while (i < bounds_.size() && value > bounds_[i]) ++i;
  ++counts_[i];
  sum_ += value;
  ++count_;
}

void Histogram::render(const std::string& name, std::string& out) const {
  uint64_t cumulative = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    cumulative += counts_[i];
    out += name + "_bucket{le=\"" + (i < bounds_.size() ? number(bounds_[i]) : std::string("+Inf")) + "\"} " +
           std::to_string(cumulative) + "\n";
  }
  out += name + "_sum " + number(sum_) + "\n";
  out += name + "_count " + std::to_string(count_) + "\n";
}

Metrics::Metrics()
    : ttft_({0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60}),
      tpot_({0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 1, 2.5}),
      latency_({0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600}) {}

void Metrics::count_request(const std::string& endpoint, int status) {
  std::lock_guard<std::mutex> lock(mutex_);
  ++requests_[{endpoint, status}];
}

void Metrics::count_tokens(int64_t prompt, int64_t generated) {
  std::lock_guard<std::mutex> lock(mutex_);
  prompt_tokens_ += static_cast<uint64_t>(prompt);
  generated_tokens_ += static_cast<uint64_t>(generated);
}

void Metrics::count_finish(const std::string& reason) {
  std::lock_guard<std::mutex> lock(mutex_);
  ++finishes_[reason];
}

void Metrics::observe_time_to_first_token(double seconds) {
  std::lock_guard<std::mutex> lock(mutex_);
  ttft_.observe(seconds);
}

void Metrics::observe_time_per_output_token(double seconds) {
  std::lock_guard<std::mutex> lock(mutex_);
  tpot_.observe(seconds);
}

void Metrics::observe_request_latency(double seconds) {
  std::lock_guard<std::mutex> lock(mutex_);
  latency_.observe(seconds);
}

std::string Metrics::render(const EngineGauges& gauges) const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::string out;
  header(out, "torchllm_requests_total", "counter", "HTTP requests answered, by endpoint and status.");
  for (const auto& [key, count] : requests_) {
    out += "torchllm_requests_total{endpoint=\"" + key.first + "\",status=\"" + std::to_string(key.second) +
           "\"} " + std::to_string(count) + "\n";
  }
  header(out, "torchllm_generations_finished_total", "counter", "Generations finished, by finish reason.");
  for (const auto& [reason, count] : finishes_) {
    out += "torchllm_generations_finished_total{reason=\"" + reason + "\"} " + std::to_string(count) + "\n";
  }
  header(out, "torchllm_prompt_tokens_total", "counter", "Prompt tokens of finished generations.");
  out += "torchllm_prompt_tokens_total " + std::to_string(prompt_tokens_) + "\n";
  header(out, "torchllm_generation_tokens_total", "counter", "Tokens generated.");
  out += "torchllm_generation_tokens_total " + std::to_string(generated_tokens_) + "\n";
  header(out, "torchllm_model_ready", "gauge", "1 once the model is loaded.");
  out += std::string("torchllm_model_ready ") + (gauges.ready ? "1" : "0") + "\n";
  header(out, "torchllm_requests_waiting", "gauge", "Generations waiting for a KV slot (the queue depth).");
  out += "torchllm_requests_waiting " + std::to_string(gauges.waiting) + "\n";
  header(out, "torchllm_requests_running", "gauge", "Sequences holding a KV slot (active sequences).");
  out += "torchllm_requests_running " + std::to_string(gauges.running) + "\n";
  header(out, "torchllm_kv_slots", "gauge", "Most sequences running at once (--parallel).");
  out += "torchllm_kv_slots " + std::to_string(gauges.slots) + "\n";
  render_kv_cache(gauges, out);
  header(out, "torchllm_time_to_first_token_seconds", "histogram",
         "Time from a request's arrival to its first generated token.");
  ttft_.render("torchllm_time_to_first_token_seconds", out);
  header(out, "torchllm_time_per_output_token_seconds", "histogram",
         "Mean time per generated token after the first, per generation.");
  tpot_.render("torchllm_time_per_output_token_seconds", out);
  header(out, "torchllm_request_duration_seconds", "histogram",
         "Time from a completion request's arrival to its last byte.");
  latency_.render("torchllm_request_duration_seconds", out);
#if defined(__GLIBC__) && (__GLIBC__ > 2 || __GLIBC_MINOR__ >= 33)
  // Bytes malloc has handed out and not taken back: unlike resident memory, it falls back when memory is
  // freed, so it shows a leak rather than the allocator keeping freed pages.
  const struct mallinfo2 heap = mallinfo2();
  header(out, "torchllm_process_heap_bytes", "gauge",
         "Heap bytes in use (malloc, including mmap'ed blocks).");
  out += "torchllm_process_heap_bytes " + std::to_string(heap.uordblks + heap.hblkhd) + "\n";
#endif
  return out;
}

}  // namespace torchllm::server

#pragma once

// The server's counters and histograms, rendered in the Prometheus text exposition format (version 0.0.4).
// Thread-safe: HTTP threads record, /metrics renders.

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace torchllm::server {

// Cumulative buckets with fixed upper bounds (seconds).
class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);
  void observe(double value);
  // name_bucket{le=...}, name_sum, name_count lines.
  void render(const std::string& name, std::string& out) const;

 private:
  std::vector<double> bounds_;
  std::vector<uint64_t> counts_;  // per bound, not cumulative; the last is +Inf
  double sum_ = 0;
  uint64_t count_ = 0;
};

// What the engine reports at render time.
struct EngineGauges {
  bool ready = false;
  uint64_t waiting = 0;  // requests not yet running
  uint64_t running = 0;  // sequences running (holding KV blocks)
  int64_t slots = 0;     // most sequences running at once (--parallel)
  // The paged KV pool and its prefix cache (the engine's KvCacheStats, kept apart so that this header needs
  // no libtorch). Counters are cumulative since the server started.
  int64_t kv_block_size = 0;
  int64_t kv_blocks_total = 0;
  int64_t kv_blocks_used = 0;
  int64_t kv_blocks_cached = 0;
  int64_t prompt_tokens_admitted = 0;
  int64_t prefix_hit_tokens = 0;
  int64_t prompt_tokens_computed = 0;
  int64_t preemptions = 0;
};

class Metrics {
 public:
  Metrics();

  // One finished HTTP request of an endpoint ("chat", "completions", ...) with its status.
  void count_request(const std::string& endpoint, int status);
  void count_tokens(int64_t prompt, int64_t generated);
  void count_finish(const std::string& reason);
  void observe_time_to_first_token(double seconds);
  void observe_time_per_output_token(double seconds);
  void observe_request_latency(double seconds);

  std::string render(const EngineGauges& gauges) const;

 private:
  mutable std::mutex mutex_;
  std::map<std::pair<std::string, int>, uint64_t> requests_;
  std::map<std::string, uint64_t> finishes_;
  uint64_t prompt_tokens_ = 0;
  uint64_t generated_tokens_ = 0;
  Histogram ttft_;
  Histogram tpot_;
  Histogram latency_;
};

}  // namespace torchllm::server

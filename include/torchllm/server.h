#pragma once

// `torchllm serve`: one model behind an OpenAI-compatible HTTP API (chat and text completions, streaming
// and not, models, health, metrics, tokenize), many clients at once through the continuous-batching engine
// loop.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "torchllm/model.h"

namespace torchllm {

struct ServerOptions {
  std::string model_dir;
  std::string served_model_name;  // empty: the model directory's basename
  LoadOptions load;

  std::string host = "127.0.0.1";
  int port = 8080;
  std::string api_key;  // empty: no authentication

  // Most sequences running at once (DecodeRunner::kMaxBatch, the largest static decode batch); sequences are
  // admitted while KV blocks are free, so fewer run when the pool is full.
  int64_t parallel = 64;
  int64_t context = 0;  // positions per sequence; 0: min(max_position_embeddings, 4096)
  int64_t kv_block_size = 16;
  bool prefix_caching = true;
  // The KV pool's memory: kv_cache_memory bytes when given (any device), else on CUDA this fraction of the
  // device's memory less what is in use once the weights are loaded (as vLLM), else half of the available
  // RAM.
  double gpu_memory_utilization = 0.9;
  uint64_t kv_cache_memory = 0;  // 0: from the fraction
  int64_t prefill_chunk = 512;
  size_t max_queue = 64;                     // requests waiting beyond the slots; more get 503
  size_t max_body_bytes = 8u * 1024 * 1024;  // larger request bodies get 413
  double timeout_s = 600;                    // longest a request may take; then it is cancelled
  double shutdown_grace_s = 5;               // SIGINT/SIGTERM: in-flight requests get this long to finish
  std::vector<std::string> cors_origins;     // allowed browser origins; "*" for any; empty: no CORS headers
  // Host header values accepted besides the loopback names while listening on a loopback address (so that
  // a web page cannot reach the server through DNS rebinding).
  std::vector<std::string> allowed_hosts;
  size_t max_connections = 512;     // open connections; more are answered 503
  double header_timeout_s = 10;     // a request's head must arrive within this long of its first byte
  std::string log_format = "text";  // the access log on stderr: text | json
  bool quiet = false;               // no access log
  bool webui = true;                // the chat page at / (built into the binary)
};

// KV blocks of `block_size` positions that `budget_bytes` holds, at most 4 x what `parallel` sequences of
// `context` positions can use at once (the rest would only keep more prefixes cached; past that a pool costs
// memory and buys little). Throws Error(kResourceExhausted) saying what to change when the budget holds less
// than one sequence of `context` positions.
int64_t kv_pool_blocks(uint64_t budget_bytes, uint64_t kv_bytes_per_token, int64_t block_size,
                       int64_t parallel, int64_t context);

// Listens first (GET /health answers 503 while the model loads), then loads the model and serves until
// SIGINT or SIGTERM; returns after a graceful shutdown. Throws Error when the address cannot be bound or the
// model cannot be loaded.
void run_server(const ServerOptions& options);

}  // namespace torchllm

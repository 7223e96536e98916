#include "torchllm/server.h"

#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <ctime>
#include <iostream>
#include <memory>
#include <thread>

#include "server/api_error.h"
#include "server/routes.h"
#include "server/server_state.h"
#include "torchllm/error.h"

namespace torchllm {
namespace server {

ModelService& ServerState::ready_model() const {
  if (draining.load()) throw ApiError::unavailable("the server is shutting down");
  ModelService* loaded = model.load();
  if (!loaded) throw ApiError::unavailable("the model is still loading");
  return *loaded;
}

EngineGauges ServerState::gauges() const {
  EngineGauges gauges;
  if (ModelService* loaded = model.load()) {
    gauges.ready = true;
    gauges.waiting = loaded->engine().waiting();
    gauges.running = loaded->engine().running();
    gauges.slots = loaded->slots();
    const KvCacheStats kv = loaded->engine().kv_stats();
    gauges.kv_block_size = kv.block_size;
    gauges.kv_blocks_total = kv.blocks_total;
    gauges.kv_blocks_used = kv.blocks_used;
    gauges.kv_blocks_cached = kv.blocks_cached;
    gauges.prompt_tokens_admitted = kv.prompt_tokens;
    gauges.prefix_hit_tokens = kv.prefix_hit_tokens;
    gauges.prompt_tokens_computed = kv.computed_prompt_tokens;
    gauges.preemptions = kv.preemptions;
  }
  return gauges;
}

namespace {

using Clock = std::chrono::steady_clock;

// SIGINT / SIGTERM are blocked in every thread and taken here, so that shutdown runs as ordinary code on the
// main thread instead of inside a signal handler.
class SignalWaiter {
 public:
  SignalWaiter() {
    sigemptyset(&set_);
    sigaddset(&set_, SIGINT);
    sigaddset(&set_, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set_, &previous_);
  }
  ~SignalWaiter() { pthread_sigmask(SIG_SETMASK, &previous_, nullptr); }

  // The signal received, or 0 when `timeout` passed.
  int wait(std::chrono::milliseconds timeout) {
    timespec ts{static_cast<time_t>(timeout.count() / 1000),
                static_cast<long>(timeout.count() % 1000) * 1000000};
    const int sig = sigtimedwait(&set_, nullptr, &ts);
    return sig > 0 ? sig : 0;
  }

 private:
  sigset_t set_;
  sigset_t previous_;
};

template <typename Done>
bool wait_until(Done done, Clock::time_point deadline) {
  while (!done()) {
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

void log(const std::string& line) { std::cerr << "torchllm serve: " << line << std::endl; }

}  // namespace
}  // namespace server

int64_t kv_pool_blocks(uint64_t budget_bytes, uint64_t kv_bytes_per_token, int64_t block_size,
                       int64_t parallel, int64_t context) {
  if (block_size < 1 || parallel < 1 || context < 1 || kv_bytes_per_token == 0)
    throw Error::invalid_argument(
        "KV pool sizing needs a block size, --parallel and --context of at least 1");
  const int64_t per_sequence = (context + block_size - 1) / block_size;
  const uint64_t block_bytes = kv_bytes_per_token * static_cast<uint64_t>(block_size);
  const uint64_t fits = budget_bytes / block_bytes;
  if (fits < static_cast<uint64_t>(per_sequence)) {
    throw Error::exhausted(
        "the KV cache budget of " + std::to_string(budget_bytes) + " bytes holds " + std::to_string(fits) +
        " blocks of " + std::to_string(block_size) + " tokens, less than one sequence of the context's " +
        std::to_string(context) + " tokens (" + std::to_string(per_sequence) + " blocks, " +
        std::to_string(static_cast<uint64_t>(per_sequence) * block_bytes) +
        " bytes): use a smaller --context, or give the KV cache more memory with --kv-cache-memory (or, on "
        "CUDA, a higher --gpu-memory-utilization)");
  }
  const uint64_t cap = static_cast<uint64_t>(parallel) * static_cast<uint64_t>(per_sequence) * 4;
  return static_cast<int64_t>(std::min(fits, cap));
}

void run_server(const ServerOptions& options) {
  using namespace server;
  std::signal(SIGPIPE, SIG_IGN);  // a client that disconnects must not kill the server
  SignalWaiter signals;           // before any thread starts, so that they all inherit the mask

  ServerState state(options);
  std::unique_ptr<HttpServer> http = make_http_server(state);
  if (!http->bind(options.host, options.port)) {
    throw Error::exhausted("cannot listen on " + options.host + ":" + std::to_string(options.port) + ": " +
                           http->bind_error() + " (is another server running there? choose --port)");
  }
  std::thread listener([&http] { http->listen(); });
  log("listening on http://" + options.host + ":" + std::to_string(http->bound_port()) + " (loading " +
      options.model_dir + ")");

  auto stop_listening = [&] {
    http->stop();
    if (listener.joinable()) listener.join();
  };

  // Loading runs here while /health answers 503; a signal during loading is taken once it is done.
  std::unique_ptr<ModelService> model;
  try {
    model = std::make_unique<ModelService>(options);
  } catch (...) {
    stop_listening();
    throw;
  }
  state.model.store(model.get());
  log("ready: model '" + model->name() + "', " + model->capacity() + ", queue " +
      std::to_string(options.max_queue));

  int sig = 0;
  while ((sig = signals.wait(std::chrono::milliseconds(500))) == 0) {
  }
  log(std::string("received ") + (sig == SIGINT ? "SIGINT" : "SIGTERM") + ", shutting down");

  // New requests get 503; the ones in flight get the grace period, then are cancelled. Streams end with an
  // error event and [DONE] before the listener closes, so no client sees a connection cut mid-stream.
  state.draining.store(true);
  const auto grace =
      Clock::now() + std::chrono::milliseconds(static_cast<int64_t>(options.shutdown_grace_s * 1000));
  if (!wait_until([&] { return model->engine().in_flight() == 0; }, grace)) {
    log("cancelling " + std::to_string(model->engine().in_flight()) + " generations still running");
    model->engine().cancel_all();
  }
  wait_until([&] { return state.active.load() == 0; }, Clock::now() + std::chrono::seconds(10));
  stop_listening();
  model->engine().stop(/*cancel=*/true);
  state.model.store(nullptr);
  model.reset();
  log("stopped");
}

}  // namespace torchllm

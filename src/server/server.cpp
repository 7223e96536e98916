#include "torchllm/server.h"

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

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

int64_t default_parallel(uint64_t kv_bytes_per_token, int64_t context, bool on_cpu) {
  uint64_t budget = 4ull << 30;
  if (on_cpu) {
    const long pages = sysconf(_SC_PHYS_PAGES);
    const long page_size = sysconf(_SC_PAGE_SIZE);
    if (pages > 0 && page_size > 0)
      budget = static_cast<uint64_t>(pages) * static_cast<uint64_t>(page_size) / 4;
  }
  const uint64_t per_slot =
      std::max<uint64_t>(1, kv_bytes_per_token * static_cast<uint64_t>(std::max<int64_t>(context, 1)));
  return std::clamp<int64_t>(static_cast<int64_t>(budget / per_slot), 1, 16);
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
  log("ready: model '" + model->name() + "', " + std::to_string(model->slots()) + " slots of " +
      std::to_string(model->context()) + " tokens, queue " + std::to_string(options.max_queue));

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

#pragma once

// What every route shares: the options, the metrics, the model once it is loaded, and the shutdown state.

#include <atomic>
#include <cstdint>

#include "server/metrics.h"
#include "server/model_service.h"
#include "torchllm/server.h"

namespace torchllm::server {

struct ServerState {
  explicit ServerState(const ServerOptions& o) : options(o) {}

  const ServerOptions& options;
  Metrics metrics;
  std::atomic<ModelService*> model{nullptr};  // null while loading
  std::atomic<bool> draining{false};          // shutting down: new requests get 503
  std::atomic<int64_t> active{0};             // completion requests whose response is not finished

  // The loaded model, or ApiError(503) while loading / shutting down.
  ModelService& ready_model() const;
  EngineGauges gauges() const;
};

// Counts a request as active for as long as it lives (a stream's lifetime, for streams).
class ActiveRequest {
 public:
  explicit ActiveRequest(ServerState& state) : state_(state) { ++state_.active; }
  ~ActiveRequest() { --state_.active; }
  ActiveRequest(const ActiveRequest&) = delete;
  ActiveRequest& operator=(const ActiveRequest&) = delete;

 private:
  ServerState& state_;
};

}  // namespace torchllm::server

#pragma once

// Where the engine thread hands a request's generations to the HTTP thread that serves it. The engine side
// (the callbacks) only appends under a short lock and never waits; the HTTP side waits with a deadline.

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "torchllm/generation.h"
#include "torchllm/scheduler.h"

namespace torchllm::server {

struct ChannelEvent {
  enum class Kind { kDelta, kFinish, kError };
  Kind kind = Kind::kDelta;
  size_t choice = 0;  // which of the request's generations
  GenerationDelta delta;
  GenerationResult result;
  std::string error;
};

class GenerationChannel : public std::enable_shared_from_this<GenerationChannel> {
 public:
  // Callbacks that post choice `choice`'s events here; they keep the channel alive, so the HTTP side may
  // leave early (a client that disconnected) while the engine still finishes the generation.
  GenerationCallbacks callbacks_for(size_t choice);

  // Waits until an event is pending or `deadline` passes, then takes everything pending.
  std::vector<ChannelEvent> wait(std::chrono::steady_clock::time_point deadline);

 private:
  void post(ChannelEvent event);

  std::mutex mutex_;
  std::condition_variable ready_;
  std::vector<ChannelEvent> pending_;
};

}  // namespace torchllm::server

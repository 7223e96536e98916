#include "server/generation_channel.h"

namespace torchllm::server {

GenerationCallbacks GenerationChannel::callbacks_for(size_t choice) {
  std::shared_ptr<GenerationChannel> self = shared_from_this();
  GenerationCallbacks callbacks;
  callbacks.on_delta = [self, choice](const GenerationDelta& delta) {
    ChannelEvent event;
    event.kind = ChannelEvent::Kind::kDelta;
    event.choice = choice;
    event.delta = delta;
    self->post(std::move(event));
  };
  callbacks.on_finish = [self, choice](const GenerationResult& result) {
    ChannelEvent event;
    event.kind = ChannelEvent::Kind::kFinish;
    event.choice = choice;
    event.result = result;
    self->post(std::move(event));
  };
  callbacks.on_error = [self, choice](const std::string& message) {
    ChannelEvent event;
    event.kind = ChannelEvent::Kind::kError;
    event.choice = choice;
    event.error = message;
    self->post(std::move(event));
  };
  return callbacks;
}

void GenerationChannel::post(ChannelEvent event) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    pending_.push_back(std::move(event));
  }
  ready_.notify_one();
}

std::vector<ChannelEvent> GenerationChannel::wait(std::chrono::steady_clock::time_point deadline) {
  std::unique_lock<std::mutex> lock(mutex_);
  ready_.wait_until(lock, deadline, [this] { return !pending_.empty(); });
  std::vector<ChannelEvent> events;
  events.swap(pending_);
  return events;
}

}  // namespace torchllm::server

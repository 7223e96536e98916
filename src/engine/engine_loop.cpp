#include "torchllm/engine_loop.h"

#include <exception>
#include <string>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "torchllm/error.h"

namespace torchllm {

EngineLoop::EngineLoop(std::unique_ptr<Scheduler> scheduler, const EngineLoopOptions& options)
    : scheduler_(std::move(scheduler)),
      options_(options),
      max_batch_(scheduler_->options().max_batch),
      kv_stats_(scheduler_->kv_stats()) {
  thread_ = std::thread([this] { run(); });
}

EngineLoop::~EngineLoop() { stop(true); }

void EngineLoop::submit(GenerationRequest request, GenerationCallbacks callbacks) {
  std::vector<std::pair<GenerationRequest, GenerationCallbacks>> one;
  one.emplace_back(std::move(request), std::move(callbacks));
  submit_all(std::move(one));
}

void EngineLoop::submit_all(std::vector<std::pair<GenerationRequest, GenerationCallbacks>> generations) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (stopping_) throw Error::unsupported("the server is shutting down");
  // Everything in flight either holds a slot or waits for one, so this bounds the waiting ones exactly.
  if (in_flight_.size() + generations.size() > static_cast<size_t>(max_batch_) + options_.max_queue) {
    throw Error::exhausted("queue is full (" + std::to_string(options_.max_queue) +
                           " requests already wait for one of " + std::to_string(max_batch_) + " slots)");
  }
  for (auto& [request, callbacks] : generations) {
    if (!request.cancel) request.cancel = std::make_shared<std::atomic<bool>>(false);
    const uint64_t ticket = next_ticket_++;
    in_flight_.emplace(ticket, request.cancel);
    // The scheduler calls exactly one of on_finish / on_error; either one ends the generation's bookkeeping.
    GenerationCallbacks wrapped;
    wrapped.on_delta = std::move(callbacks.on_delta);
    wrapped.on_finish = [this, ticket, f = std::move(callbacks.on_finish)](const GenerationResult& result) {
      if (f) f(result);
      forget(ticket);
    };
    wrapped.on_error = [this, ticket, f = std::move(callbacks.on_error)](const std::string& message) {
      if (f) f(message);
      forget(ticket);
    };
    inbox_.push_back(Submission{std::move(request), std::move(wrapped)});
  }
  wake_.notify_one();
}

void EngineLoop::forget(uint64_t ticket) {
  std::lock_guard<std::mutex> lock(mutex_);
  in_flight_.erase(ticket);
}

void EngineLoop::cancel_all() {
  std::lock_guard<std::mutex> lock(mutex_);
  for (auto& entry : in_flight_) entry.second->store(true);
  wake_.notify_one();
}

void EngineLoop::stop(bool cancel) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
    if (cancel) {
      cancel_on_stop_ = true;
      for (auto& entry : in_flight_) entry.second->store(true);
    }
    wake_.notify_one();
  }
  if (thread_.joinable()) thread_.join();
}

size_t EngineLoop::waiting() const { return scheduler_waiting_.load(); }
size_t EngineLoop::running() const { return scheduler_running_.load(); }

size_t EngineLoop::in_flight() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return in_flight_.size();
}

void EngineLoop::publish_stats() {
  // The KV numbers first: a reader that sees the new counts sees the KV numbers of the same step.
  const KvCacheStats kv = scheduler_->kv_stats();
  {
    std::lock_guard<std::mutex> lock(mutex_);
    kv_stats_ = kv;
  }
  scheduler_waiting_.store(scheduler_->waiting());
  scheduler_running_.store(scheduler_->running());
}

KvCacheStats EngineLoop::kv_stats() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return kv_stats_;
}

void EngineLoop::admit_inbox(std::deque<Submission>& batch) {
  for (Submission& submission : batch) {
    GenerationCallbacks callbacks = submission.callbacks;
    try {
      scheduler_->submit(std::move(submission.request), std::move(submission.callbacks));
    } catch (const std::exception& e) {
      // The scheduler refused it before taking it over, so its callbacks are still ours to call.
      if (callbacks.on_error) callbacks.on_error(e.what());
    }
  }
  batch.clear();
}

namespace {

// A burst of requests leaves freed memory spread over glibc's per-thread arenas (every HTTP thread has one);
// giving it back when the engine goes idle keeps a long-running server's resident size at its baseline.
void release_free_memory() {
#if defined(__GLIBC__)
  malloc_trim(0);
#endif
}

}  // namespace

void EngineLoop::run() {
  std::deque<Submission> batch;
  bool busy = false;
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mutex_);
      if (busy && inbox_.empty() && !stopping_ && !scheduler_->has_work()) {
        busy = false;
        lock.unlock();
        release_free_memory();
        lock.lock();
      }
      wake_.wait(lock, [&] { return !inbox_.empty() || stopping_ || scheduler_->has_work(); });
      batch.swap(inbox_);
      if (cancel_on_stop_) {
        for (auto& entry : in_flight_) entry.second->store(true);
      }
      if (stopping_ && batch.empty() && !scheduler_->has_work()) break;
    }
    busy = true;
    admit_inbox(batch);
    try {
      scheduler_->step();
    } catch (const std::exception&) {
      // step() reports model failures to the sequences involved; anything escaping it is a bug, and the loop
      // must not die with it (every HTTP thread would wait forever).
      std::lock_guard<std::mutex> lock(mutex_);
      for (auto& entry : in_flight_) entry.second->store(true);
    }
    publish_stats();
  }
  publish_stats();
}

}  // namespace torchllm

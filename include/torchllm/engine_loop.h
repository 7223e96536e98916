#pragma once

// The thread that owns a Scheduler for the server: HTTP threads submit generations into an inbox, the engine
// thread moves them into the scheduler and steps it while there is work, sleeping otherwise. Only the engine
// thread touches the scheduler (and through it the model); callbacks run on it and must not block.

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "torchllm/generation.h"
#include "torchllm/scheduler.h"

namespace torchllm {

struct EngineLoopOptions {
  // Requests allowed to wait for a KV slot beyond the free ones; more are refused.
  size_t max_queue = 64;
};

class EngineLoop {
 public:
  // Starts the engine thread; it owns `scheduler` from now on.
  EngineLoop(std::unique_ptr<Scheduler> scheduler, const EngineLoopOptions& options);
  // stop(true).
  ~EngineLoop();
  EngineLoop(const EngineLoop&) = delete;
  EngineLoop& operator=(const EngineLoop&) = delete;

  // Thread-safe. The request waits in the inbox until the engine thread hands it to the scheduler; an error
  // the scheduler raises then (e.g. a prompt that does not fit) reaches callbacks.on_error. A request without
  // a cancel flag is given one. Throws Error(kResourceExhausted) "queue is full" when max_queue requests
  // already wait and no slot is free, and Error(kUnsupported) once stop() has begun.
  void submit(GenerationRequest request, GenerationCallbacks callbacks);
  // Submits all of them or, when they do not all fit, none (so a refused request starts nothing that would
  // then be cancelled). Same errors as submit().
  void submit_all(std::vector<std::pair<GenerationRequest, GenerationCallbacks>> generations);

  // Sets the cancel flag of every generation submitted and not yet finished; they end with kCancelled.
  void cancel_all();

  // Refuses new requests, lets the ones in flight finish (or cancels them first when `cancel`), and joins the
  // engine thread. Idempotent.
  void stop(bool cancel);

  // Approximate (updated by the engine thread after each step): requests not yet in a KV slot, and those in
  // one.
  size_t waiting() const;
  size_t running() const;
  // Generations submitted whose final callback has not run yet.
  size_t in_flight() const;
  int64_t max_batch() const { return max_batch_; }
  // The KV pool and prefix cache as of the last step.
  KvCacheStats kv_stats() const;

 private:
  struct Submission {
    GenerationRequest request;
    GenerationCallbacks callbacks;
  };

  void run();
  void admit_inbox(std::deque<Submission>& batch);
  void publish_stats();
  void forget(uint64_t ticket);

  std::unique_ptr<Scheduler> scheduler_;
  const EngineLoopOptions options_;
  const int64_t max_batch_;

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Submission> inbox_;
  bool stopping_ = false;
  bool cancel_on_stop_ = false;
  // Cancel flags of every generation in flight, so that cancel_all reaches the ones already in the scheduler.
  std::unordered_map<uint64_t, std::shared_ptr<std::atomic<bool>>> in_flight_;
  uint64_t next_ticket_ = 1;

  std::atomic<size_t> scheduler_waiting_{0};
  std::atomic<size_t> scheduler_running_{0};
  KvCacheStats kv_stats_;  // guarded by mutex_
  std::thread thread_;
};

}  // namespace torchllm

#pragma once

#include <atomic>
#include <memory>

namespace torchllm::cli {

// Ctrl-C while generating: the first SIGINT sets the flag of the generation in progress (it then stops at the
// next token); with no generation in progress, or at a second Ctrl-C, the default action ends the process.
class InterruptScope {
 public:
  explicit InterruptScope(std::shared_ptr<std::atomic<bool>> flag);
  ~InterruptScope();
  InterruptScope(const InterruptScope&) = delete;
  InterruptScope& operator=(const InterruptScope&) = delete;

 private:
  std::shared_ptr<std::atomic<bool>> flag_;  // kept alive while the handler may touch it
};

}  // namespace torchllm::cli

#include "cli/interrupt.h"

#include <csignal>

namespace torchllm::cli {
namespace {

// A signal handler may only touch lock-free atomics; the scope keeps the flag alive while installed.
std::atomic<std::atomic<bool>*> g_flag{nullptr};

extern "C" void on_sigint(int) {
  std::atomic<bool>* flag = g_flag.load();
  if (flag && !flag->load()) {
    flag->store(true);
  } else {
    std::signal(SIGINT, SIG_DFL);
    std::raise(SIGINT);
  }
}

}  // namespace

InterruptScope::InterruptScope(std::shared_ptr<std::atomic<bool>> flag) : flag_(std::move(flag)) {
  g_flag.store(flag_.get());
  struct sigaction action {};
  action.sa_handler = on_sigint;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
}

InterruptScope::~InterruptScope() {
  g_flag.store(nullptr);
  std::signal(SIGINT, SIG_DFL);
}

}  // namespace torchllm::cli

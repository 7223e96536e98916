#include "cli/load_progress.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <memory>

namespace torchllm::cli {

std::function<void(uint64_t, uint64_t)> make_load_progress() {
  if (!::isatty(STDERR_FILENO)) return {};
  struct State {
    std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
    bool drawn = false;
    int last_percent = -1;
  };
  auto state = std::make_shared<State>();
  return [state](uint64_t done, uint64_t total) {
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - state->start).count();
    if (total == 0 || (!state->drawn && seconds < 0.5)) return;
    const int percent = static_cast<int>(100 * done / total);
    if (percent == state->last_percent) return;
    state->drawn = true;
    state->last_percent = percent;
    constexpr int kWidth = 40;
    const int filled = percent * kWidth / 100;
    std::fprintf(stderr, "\rloading [%.*s%*s] %3d%% %.1f/%.1f GB", filled,
                 "########################################", kWidth - filled, "", percent, done / 1e9,
                 total / 1e9);
    if (done >= total) std::fprintf(stderr, "\r\033[K");
    std::fflush(stderr);
  };
}

}  // namespace torchllm::cli

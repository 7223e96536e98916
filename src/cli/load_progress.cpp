#include "cli/load_progress.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <memory>

namespace torchllm::cli {

LoadProgressBar::LoadProgressBar(std::FILE* out, double delay_s, Clock clock)
    : out_(out), delay_s_(delay_s), clock_(std::move(clock)), start_s_(clock_()) {}

void LoadProgressBar::update(uint64_t done, uint64_t total) {
  if (total == 0 || (!drawn_ && clock_() - start_s_ < delay_s_)) return;
  const int percent = static_cast<int>(100 * std::min(done, total) / total);
  if (percent == last_percent_) return;
  drawn_ = true;
  last_percent_ = percent;
  constexpr int kWidth = 40;
  const int filled = percent * kWidth / 100;
  std::fprintf(out_, "\rloading [%.*s%*s] %3d%% %.1f/%.1f GB", filled,
               "########################################", kWidth - filled, "", percent,
               static_cast<double>(done) / 1e9, static_cast<double>(total) / 1e9);
  if (done >= total) std::fprintf(out_, "\r\033[K");
  std::fflush(out_);
}

std::function<void(uint64_t, uint64_t)> make_load_progress() {
  if (!::isatty(STDERR_FILENO)) return {};
  auto bar = std::make_shared<LoadProgressBar>(stderr, 0.5, [] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
  });
  return [bar](uint64_t done, uint64_t total) { bar->update(done, total); };
}

}  // namespace torchllm::cli

#pragma once

// The timing loop of the microbenchmarks (not tests) in this directory.

#include <algorithm>
#include <chrono>
#include <functional>

namespace torchllm::bench {

// Best seconds per call over at least 3 calls and about `min_total_s` seconds (at most `max_calls`), after
// one warm-up call.
inline double best_seconds(const std::function<void()>& call, double min_total_s, int max_calls) {
  call();
  double best = 1e30, total = 0;
  for (int i = 0; i < 3 || (total < min_total_s && i < max_calls); ++i) {
    const auto start = std::chrono::steady_clock::now();
    call();
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    best = std::min(best, s);
    total += s;
  }
  return best;
}

}  // namespace torchllm::bench

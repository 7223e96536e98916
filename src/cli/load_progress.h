#pragma once

#include <cstdint>
#include <cstdio>
#include <functional>

namespace torchllm::cli {

// "loading [########    ]  42% 1.2/3.0 GB" on one line of `out`, redrawn when the percentage changes, drawn
// only once the load has taken `delay_s` seconds (a quick load shows nothing), and erased when it is done.
class LoadProgressBar {
 public:
  using Clock = std::function<double()>;  // seconds, monotonic
  LoadProgressBar(std::FILE* out, double delay_s, Clock clock);
  void update(uint64_t done, uint64_t total);

 private:
  std::FILE* out_;
  double delay_s_;
  Clock clock_;
  double start_s_;
  bool drawn_ = false;
  int last_percent_ = -1;
};

// A progress callback for Transformer::load: a LoadProgressBar on stderr when stderr is a terminal, else
// none.
std::function<void(uint64_t done, uint64_t total)> make_load_progress();

}  // namespace torchllm::cli

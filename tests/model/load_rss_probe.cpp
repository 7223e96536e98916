// load_rss_probe DIR DTYPE: loads the checkpoint on CPU in a fresh process and checks that loading raised the
// resident set by at most 1.3x the bytes of the weights in DTYPE (the memory map must not stay resident).
// load_rss_probe FILE.gguf DTYPE decode: a GGUF model whose block weights stay in the file mapping; after
// one decode step has read every weight, the resident set may have grown by at most 1.15x the file's size.
#include <malloc.h>

#include <fstream>
#include <iostream>
#include <string>

#include "torchllm/device.h"
#include "torchllm/model.h"

namespace {

int64_t status_kib(const std::string& key) {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind(key + ":", 0) == 0) return std::stoll(line.substr(key.size() + 1));
  }
  return -1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3 && argc != 4) {
    std::cerr << "usage: load_rss_probe DIR DTYPE | load_rss_probe FILE.gguf DTYPE decode\n";
    return 2;
  }
  // Warm libtorch up so its own start-up allocations are part of the baseline.
  torchllm::configure_cpu_threads(1);
  (void)torchllm::resolve_dtype("fp32", c10::Device(c10::kCPU));
  malloc_trim(0);
  std::ofstream("/proc/self/clear_refs") << "5";  // reset the peak (VmHWM) to the current RSS
  const int64_t baseline = status_kib("VmRSS");
  auto model = torchllm::Transformer::load(argv[1], torchllm::LoadOptions{"cpu", argv[2]});
  if (argc == 4) {
    torchllm::KvCache cache = model->make_cache(1, 8);
    (void)model->forward({{0, 0, {1}}}, cache);
    std::ifstream file(argv[1], std::ios::binary | std::ios::ate);
    const double file_kib = static_cast<double>(file.tellg()) / 1024.0;
    const int64_t rss = status_kib("VmRSS");
    const double ratio = static_cast<double>(rss - baseline) / file_kib;
    std::cout << "dtype " << argv[2] << ": file " << file_kib / 1024 << " MiB, weights "
              << model->weight_bytes() / 1048576.0 << " MiB, baseline RSS " << baseline / 1024
              << " MiB, RSS after a decode step " << rss / 1024 << " MiB, growth / file = " << ratio << "\n";
    return ratio <= 1.15 ? 0 : 1;
  }
  const int64_t peak = status_kib("VmHWM");
  const double weights_kib = static_cast<double>(model->weight_bytes()) / 1024.0;
  const double ratio = static_cast<double>(peak - baseline) / weights_kib;
  std::cout << "dtype " << argv[2] << ": weights " << weights_kib / 1024 << " MiB, baseline RSS "
            << baseline / 1024 << " MiB, peak RSS " << peak / 1024 << " MiB, load peak / weights = " << ratio
            << "\n";
  return ratio <= 1.3 ? 0 : 1;
}

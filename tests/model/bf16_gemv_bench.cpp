// bf16_gemv on each path this CPU has, weights streamed from DRAM (a set of matrices larger than the caches,
// used in turn), for the token counts of decode: GB/s of weight and GFLOP/s. A measurement, not a test.
//   bf16_gemv_bench [--threads N] [--in K] [--out M] [--rows 1,4,16,...] [--cached] [--best-only]
// --cached: one matrix, called again and again (from cache: the kernels' compute rate); --best-only: the best
// path and at::linear only.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <string>
#include <vector>

#include "best_seconds.h"
#include "model/kernels/bf16_gemv.h"

int main(int argc, char** argv) {
  int threads = 2;
  int64_t in = 1024, out = 3072;
  std::vector<int64_t> rows = {1, 2, 4, 8, 16};
  bool cached = false, best_only = false;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (flag == "--cached" || flag == "--best-only") {
      (flag == "--cached" ? cached : best_only) = true;
      continue;
    }
    if (i + 1 == argc) {
      std::fprintf(stderr, "%s wants a value\n", argv[i]);
      return 2;
    }
    ++i;
    if (flag == "--threads") {
      threads = std::atoi(argv[i]);
    } else if (flag == "--in") {
      in = std::atoll(argv[i]);
    } else if (flag == "--out") {
      out = std::atoll(argv[i]);
    } else if (flag == "--rows") {
      rows.clear();
      std::stringstream list(argv[i]);
      for (std::string item; std::getline(list, item, ',');) rows.push_back(std::atoll(item.c_str()));
    } else {
      std::fprintf(stderr, "unknown flag %s\n", argv[i - 1]);
      return 2;
    }
  }
  at::set_num_threads(threads);
  const int64_t bytes = in * out * 2;
  const int64_t count = cached ? 1 : std::max<int64_t>(2, (int64_t{1} << 30) / bytes);  // ~1 GiB in turn
  std::vector<at::Tensor> weights;
  for (int64_t i = 0; i < count; ++i) weights.push_back(at::randn({out, in}).to(at::kBFloat16));
  const torchllm::Bf16GemvIsa best = torchllm::bf16_gemv_best_isa();
  std::printf("%lld x %lld bf16 (%lld matrices in turn), %d threads\n", static_cast<long long>(out),
              static_cast<long long>(in), static_cast<long long>(count), threads);
  for (const int64_t r : rows) {
    const at::Tensor x = at::randn({r, in}).to(at::kBFloat16);
    std::printf("rows %3lld:", static_cast<long long>(r));
    const int first =
        best_only ? static_cast<int>(best)
                  : std::min(static_cast<int>(best), static_cast<int>(torchllm::Bf16GemvIsa::kAvx512));
    for (int level = first; level <= static_cast<int>(best); ++level) {
      const auto isa = static_cast<torchllm::Bf16GemvIsa>(level);
      int64_t next = 0;
      const double s = torchllm::bench::best_seconds(
                           [&] {
                             for (int64_t i = 0; i < count; ++i)
                               torchllm::bf16_gemv(x, weights[next++ % count], at::Tensor(), isa);
                           },
                           1.0, 50) /
                       static_cast<double>(count);
      std::printf("  %s %.1f GB/s %.0f GFLOP/s", torchllm::bf16_gemv_isa_name(isa), bytes / s / 1e9,
                  2.0 * r * in * out / s / 1e9);
    }
    int64_t next = 0;
    const double s = torchllm::bench::best_seconds(
                         [&] {
                           for (int64_t i = 0; i < count; ++i) at::linear(x, weights[next++ % count]);
                         },
                         1.0, 50) /
                     static_cast<double>(count);
    std::printf("  at::linear %.1f GB/s\n", bytes / s / 1e9);
  }
  return 0;
}

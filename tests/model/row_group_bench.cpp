// The row-group kernels (row_groups.h) against the kernels of the ggml layout (a measurement, not a test):
// one thread runs a whole matrix (3072 rows of 1024 elements, 1024 of 3072, so the weights come from L2/L3)
// against T tokens; --dram makes the matrices 48 times as tall (~85 MB of Q4_K), so that the weights come
// from DRAM as in the model. "old" is what the ggml layout runs: T = 1, the rows kernel in runs of 32 rows
// (or, where the type has none, the one-row kernel row by row); T > 1, the several-token kernel row by row.
// (Before the row groups, a token tile -- 16 tokens in the lanes -- served T >= 8 at about 250 GMAC/s; the
// row groups measured 1.1-1.3x it at 16 and 32 tokens.) "new" is the row-group kernel in runs of 2 groups
// (32 rows), as the model calls it. Prints the best times, the int8 multiply-adds per second and new's
// speedup.
//
//   row_group_bench [--quick] [--dram]   (--quick: T = 1, 4, 16)
#include <algorithm>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "bench_block_rows.h"
#include "best_seconds.h"
#include "model/kernels/block_dot.h"
#include "model/kernels/block_layouts.h"
#include "model/kernels/row_groups.h"

namespace {

using torchllm::GgmlType;
using torchllm::bench::BlockType;

const BlockType kTypes[] = {{"q4_k", GgmlType::kQ4_K, {0, 2}},
                            {"q5_k", GgmlType::kQ5_K, {0, 2}},
                            {"q6_k", GgmlType::kQ6_K, {offsetof(torchllm::BlockQ6_K, d)}},
                            {"q8_0", GgmlType::kQ8_0, {0}}};

constexpr int64_t kChunkRows = 32;
constexpr int64_t kChunkGroups = kChunkRows / torchllm::kGroupRows;

struct FreeBytes {
  void operator()(uint8_t* p) const { std::free(p); }
};
using AlignedBytes = std::unique_ptr<uint8_t[], FreeBytes>;

// 64-byte aligned, as libtorch's allocator aligns the model's row groups.
AlignedBytes aligned_bytes(int64_t size) {
  const auto rounded = static_cast<size_t>((size + 63) / 64 * 64);
  return AlignedBytes(static_cast<uint8_t*>(std::aligned_alloc(64, rounded)));
}

double best_seconds(const std::function<void()>& call) {
  return torchllm::bench::best_seconds(call, 0.3, 500);
}

void bench(const BlockType& type, int64_t n, const std::vector<int64_t>& token_counts, int64_t scale) {
  const int64_t rows = scale * 3072 * 1024 / n;
  const torchllm::SimdLevel level = torchllm::cpu_simd_level();
  std::mt19937 rng(7);
  const std::vector<uint8_t> w = torchllm::bench::random_weight_rows(type, rows, n, rng);
  const int64_t row_bytes = torchllm::quantized_row_bytes(type.type, n);
  const int64_t stride = torchllm::quantized_row_bytes(torchllm::activation_type(type.type), n);

  const int64_t group_count = rows / torchllm::kGroupRows;
  const int64_t group_bytes = torchllm::row_group_bytes(type.type, n);
  const AlignedBytes groups = aligned_bytes(group_count * group_bytes);
  for (int64_t g = 0; g < group_count; ++g) {
    torchllm::repack_x16(type.type, w.data() + g * torchllm::kGroupRows * row_bytes, row_bytes, n,
                         groups.get() + g * group_bytes);
  }

  const auto rows_dot = torchllm::block_dot_rows_function(type.type, level);
  const auto many = torchllm::block_dot_many_function(type.type, level);
  const auto single = torchllm::block_dot_function(type.type, level);
  const auto group_dot = torchllm::row_group_dot_function(type.type, level);
  std::vector<float> out(static_cast<size_t>(rows * 32));
  float sink = 0;
  for (const int64_t tokens : token_counts) {
    const std::vector<uint8_t> a =
        torchllm::bench::random_activation_rows(torchllm::activation_type(type.type), tokens, n, rng);
    const double old_s = best_seconds([&] {
      if (tokens == 1 && !rows_dot) {
        for (int64_t r = 0; r < rows; ++r) out[r] = single(w.data() + r * row_bytes, a.data(), n);
      } else if (tokens == 1) {
        for (int64_t r = 0; r < rows; r += kChunkRows) {
          rows_dot(w.data() + r * row_bytes, row_bytes, a.data(), std::min(kChunkRows, rows - r), n,
                   out.data() + r);
        }
      } else {
        for (int64_t r = 0; r < rows; ++r) {
          many(w.data() + r * row_bytes, a.data(), stride, tokens, n, out.data() + r * tokens);
        }
      }
    });
    sink += out[0];
    const double new_s = best_seconds([&] {
      for (int64_t g = 0; g < group_count; g += kChunkGroups) {
        group_dot(groups.get() + g * group_bytes, std::min(kChunkGroups, group_count - g), a.data(), stride,
                  tokens, n, out.data() + g * torchllm::kGroupRows, rows);
      }
    });
    sink += out[0];
    const double macs = static_cast<double>(rows * n * tokens);
    std::printf(
        "%-5s %6lld x %4lld  T %2lld   old %9.1f us %7.2f GMAC/s   new %9.1f us %7.2f GMAC/s   x%.2f\n",
        type.name, static_cast<long long>(rows), static_cast<long long>(n), static_cast<long long>(tokens),
        old_s * 1e6, macs / old_s * 1e-9, new_s * 1e6, macs / new_s * 1e-9, old_s / new_s);
  }
  if (sink == 12345.0f) std::printf(" ");
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<int64_t> token_counts = {1, 2, 4, 8, 16, 32};
  int64_t scale = 1;
  for (int i = 1; i < argc; ++i) {
    if (std::string(argv[i]) == "--quick") {
      token_counts = {1, 4, 16};
    } else if (std::string(argv[i]) == "--dram") {
      scale = 48;
    } else {
      std::fprintf(stderr, "usage: row_group_bench [--quick] [--dram]\n");
      return 2;
    }
  }
  const torchllm::SimdLevel level = torchllm::cpu_simd_level();
  std::printf("SIMD level %s, one thread, weights from %s\n", torchllm::simd_level_name(level),
              scale == 1 ? "L2/L3" : "DRAM");
  for (const BlockType& type : kTypes) {
    if (!torchllm::has_row_groups(type.type, level, 1024)) {
      std::printf("%s: no row-group kernel at this level\n", type.name);
      continue;
    }
    for (const int64_t n : {1024, 3072}) bench(type, n, token_counts, scale);
  }
  return 0;
}

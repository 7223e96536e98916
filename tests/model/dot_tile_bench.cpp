// The token-tile K kernels (block_dot_tile_function) against the several-token ones (block_dot_many_function)
// at decode shapes (a measurement, not a test): one thread runs a whole matrix (3072 rows of 1024 elements,
// 1024 of 3072, so the weights come from L2/L3 as in the model) against T tokens. "many" is one call per row
// with the T tokens' Q8_K rows; "tile" lays the tokens out once (tile_q8_k, included in its time) and runs
// the tile kernel over chunks of 32 rows, as the model does. Prints the best time, the int8 multiply-adds per
// second and the tile's speedup.
//
//   dot_tile_bench [--quick]   (--quick: T = 8, 16 only)
#include <algorithm>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "bench_block_rows.h"
#include "best_seconds.h"
#include "model/kernels/block_dot.h"
#include "model/kernels/block_layouts.h"
#include "model/kernels/token_tile.h"

namespace {

using torchllm::GgmlType;
using torchllm::bench::BlockType;

const BlockType kTypes[] = {{"q4_k", GgmlType::kQ4_K, {0, 2}},
                            {"q6_k", GgmlType::kQ6_K, {offsetof(torchllm::BlockQ6_K, d)}}};

constexpr int64_t kChunkRows = 32;

double best_seconds(const std::function<void()>& call) {
  return torchllm::bench::best_seconds(call, 0.3, 500);
}

void bench(const BlockType& type, int64_t n, const std::vector<int64_t>& token_counts) {
  constexpr int64_t kElements = 3072 * 1024;
  const int64_t rows = kElements / n;
  std::mt19937 rng(7);
  const std::vector<uint8_t> w = torchllm::bench::random_weight_rows(type, rows, n, rng);
  const int64_t row_bytes = torchllm::quantized_row_bytes(type.type, n);
  const int64_t stride = torchllm::quantized_row_bytes(GgmlType::kQ8_K, n);
  const auto many = torchllm::block_dot_many_function(type.type, torchllm::cpu_simd_level());
  const auto tile_dot = torchllm::block_dot_tile_function(type.type, torchllm::cpu_simd_level());
  std::vector<uint8_t> tile(static_cast<size_t>(torchllm::tile_bytes(n)));
  std::vector<float> out(static_cast<size_t>(rows * torchllm::kTileTokens));
  float sink = 0;
  for (const int64_t tokens : token_counts) {
    const std::vector<uint8_t> a = torchllm::bench::random_activation_rows(GgmlType::kQ8_K, tokens, n, rng);
    const double many_s = best_seconds([&] {
      for (int64_t r = 0; r < rows; ++r) {
        many(w.data() + r * row_bytes, a.data(), stride, tokens, n, out.data() + r * tokens);
      }
    });
    sink += out[0];
    const double tile_s = best_seconds([&] {
      torchllm::tile_q8_k(a.data(), stride, tokens, n, tile.data());
      for (int64_t r = 0; r < rows; r += kChunkRows) {
        const int64_t count = std::min(kChunkRows, rows - r);
        tile_dot(w.data() + r * row_bytes, row_bytes, count, tile.data(), n,
                 out.data() + r * torchllm::kTileTokens);
      }
    });
    sink += out[0];
    const double macs = static_cast<double>(rows * n * tokens);
    std::printf(
        "%-5s %4lld x %4lld  T %2lld   many %9.1f us %7.2f GMAC/s   tile %9.1f us %7.2f GMAC/s   x%.2f\n",
        type.name, static_cast<long long>(rows), static_cast<long long>(n), static_cast<long long>(tokens),
        many_s * 1e6, macs / many_s * 1e-9, tile_s * 1e6, macs / tile_s * 1e-9, many_s / tile_s);
  }
  if (sink == 12345.0f) std::printf(" ");
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<int64_t> token_counts = {4, 8, 12, 16};
  for (int i = 1; i < argc; ++i) {
    if (std::string(argv[i]) == "--quick") {
      token_counts = {8, 16};
    } else {
      std::fprintf(stderr, "usage: dot_tile_bench [--quick]\n");
      return 2;
    }
  }
  const torchllm::SimdLevel level = torchllm::cpu_simd_level();
  std::printf("SIMD level %s, one thread\n", torchllm::simd_level_name(level));
  for (const BlockType& type : kTypes) {
    if (!torchllm::block_dot_tile_function(type.type, level)) {
      std::printf("%s: no tile kernel at this level\n", type.name);
      continue;
    }
    for (const int64_t n : {1024, 3072}) bench(type, n, token_counts);
  }
  return 0;
}

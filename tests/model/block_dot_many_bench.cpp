// The several-token block dot products (block_dot_many_function) at decode shapes (a measurement, not a
// test): one thread runs a whole matrix's rows (3072 rows of 1024 elements, 1024 of 3072, so the weights come
// from L2/L3 as in the model) against T tokens' activations. Prints the best time per (row, token) and the
// int8 multiply-adds per second; T = 1 also times the single-token kernel, row by row and (for the types
// that have one) through the several-row kernel.
//
//   block_dot_many_bench [--quick] [--types q4_k,q6_k,...]
//     --quick: T = 1, 4, 16 only;  TORCHLLM_SIMD=avx2 block_dot_many_bench (a lower kernel)
#include <algorithm>
#include <chrono>
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

namespace {

using torchllm::GgmlType;
using torchllm::bench::BlockType;

const BlockType kTypes[] = {
    {"q4_k", GgmlType::kQ4_K, {0, 2}}, {"q6_k", GgmlType::kQ6_K, {offsetof(torchllm::BlockQ6_K, d)}},
    {"q5_k", GgmlType::kQ5_K, {0, 2}}, {"q8_0", GgmlType::kQ8_0, {0}},
    {"q4_0", GgmlType::kQ4_0, {0}},    {"q4_1", GgmlType::kQ4_1, {0, 2}},
};

double best_seconds(const std::function<void()>& call) {
  return torchllm::bench::best_seconds(call, 0.3, 500);
}

void bench(const BlockType& type, int64_t n, const std::vector<int64_t>& token_counts) {
  constexpr int64_t kElements = 3072 * 1024;
  const int64_t rows = kElements / n;
  std::mt19937 rng(7);
  const std::vector<uint8_t> w = torchllm::bench::random_weight_rows(type, rows, n, rng);
  const int64_t row_bytes = torchllm::quantized_row_bytes(type.type, n);
  const int64_t stride = torchllm::quantized_row_bytes(torchllm::activation_type(type.type), n);
  const auto level = torchllm::cpu_simd_level();
  const auto many = torchllm::block_dot_many_function(type.type, level);
  const auto single = torchllm::block_dot_function(type.type, level);
  const auto rows_kernel = torchllm::block_dot_rows_function(type.type, level);
  const auto report = [&](const char* kernel, int64_t tokens, double s) {
    const double per = s * 1e9 / static_cast<double>(rows * tokens);
    const double gmacs = static_cast<double>(rows * n * tokens) / s * 1e-9;
    std::printf("%-5s n %5lld  %-6s T %2lld  %8.1f ns/(row,token)  %6.2f GMAC/s\n", type.name,
                static_cast<long long>(n), kernel, static_cast<long long>(tokens), per, gmacs);
  };
  std::vector<float> out(static_cast<size_t>(rows * 32));
  float sink = 0;
  for (const int64_t tokens : token_counts) {
    const std::vector<uint8_t> a =
        torchllm::bench::random_activation_rows(torchllm::activation_type(type.type), tokens, n, rng);
    if (tokens == 1) {
      report("single", 1, best_seconds([&] {
               for (int64_t r = 0; r < rows; ++r) out[r] = single(w.data() + r * row_bytes, a.data(), n);
             }));
      if (rows_kernel) {
        report("rows", 1,
               best_seconds([&] { rows_kernel(w.data(), row_bytes, a.data(), rows, n, out.data()); }));
      }
    }
    report("many", tokens, best_seconds([&] {
             for (int64_t r = 0; r < rows; ++r)
               many(w.data() + r * row_bytes, a.data(), stride, tokens, n, out.data() + r * tokens);
           }));
    sink += out[0];
  }
  if (sink == 12345.0f) std::printf(" ");
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<int64_t> token_counts = {1, 2, 4, 8, 16};
  std::string only;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--quick") {
      token_counts = {1, 4, 16};
    } else if (arg == "--types" && i + 1 < argc) {
      only = std::string(",") + argv[++i] + ",";
    } else {
      std::fprintf(stderr, "usage: block_dot_many_bench [--quick] [--types q4_k,q6_k,...]\n");
      return 2;
    }
  }
  std::printf("SIMD level %s, one thread\n", torchllm::simd_level_name(torchllm::cpu_simd_level()));
  for (const BlockType& type : kTypes) {
    if (!only.empty() && only.find(std::string(",") + type.name + ",") == std::string::npos) continue;
    for (const int64_t n : {1024, 3072}) bench(type, n, token_counts);
  }
  return 0;
}

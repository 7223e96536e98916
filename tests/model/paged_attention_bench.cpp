// Decode attention straight from a paged KV pool (paged_decode_attention) against the libtorch path it
// replaces (DecodeAttention::gathered: each row's K/V gathered into [rows, kv_heads, len, head_dim] and
// compat::attention with a bool mask), at Qwen-like shapes: 16 query heads over 8 KV heads of 128.
// Prints the time per call (best of several) and the K/V bytes read per second.
//
//   paged_attention_bench [--quick] [--threads N] [--paged-only] [--cold] [--rows N]
//     --quick: lengths 512 and 2048 only; --threads: 2 by default; --paged-only: skip the libtorch path;
//     --cold: each call reads from DRAM, as a model's layers do (see kColdBytes), not from the L3 cache;
//     --rows: that batch only (1, 8 and 32 by default)
//   TORCHLLM_SIMD=avx2 paged_attention_bench          (a lower kernel)
#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "best_seconds.h"
#include "model/kernels/simd_level.h"
#include "model/paged_decode_attention.h"
#include "model/torch_compat.h"

namespace {

constexpr int64_t kQHeads = 16, kKvHeads = 8, kHeadDim = 128;

double best_seconds(const std::function<void()>& call) {
  return torchllm::bench::best_seconds(call, 0.5, 200);
}

// With --cold, the pools of one call are copied until the copies fill this many bytes (a model's layers each
// have their own), and each timed call walks all copies: every read then comes from DRAM.
constexpr double kColdBytes = 256e6;

void run(at::ScalarType dtype, int64_t rows, int64_t length, bool whole_block, bool paged_only, bool cold) {
  const int64_t block_size = whole_block ? length : 16;
  const int64_t blocks_per_row = (length + block_size - 1) / block_size;
  const int64_t num_blocks = rows * blocks_per_row;
  const double bytes = 2.0 * rows * kKvHeads * length * kHeadDim * at::elementSize(dtype);
  const int64_t copies = cold ? static_cast<int64_t>(kColdBytes / bytes) + 1 : 1;
  const at::Tensor q = at::randn({rows, kQHeads, kHeadDim}).to(dtype);  // [rows, q_heads, head_dim]
  // [num_blocks, kv_heads, block_size, head_dim] each, rows' blocks scattered over the pool
  std::vector<at::Tensor> key_pools, value_pools;
  for (int64_t c = 0; c < copies; ++c) {
    key_pools.push_back(at::randn({num_blocks, kKvHeads, block_size, kHeadDim}).to(dtype));
    value_pools.push_back(at::randn({num_blocks, kKvHeads, block_size, kHeadDim}).to(dtype));
  }
  const at::Tensor tables = at::randperm(num_blocks, at::kLong).view({rows, blocks_per_row});
  const at::Tensor lengths = at::full({rows}, length, at::kLong);  // [rows]
  const double paged = best_seconds([&] {
                         for (int64_t c = 0; c < copies; ++c) {
                           at::Tensor o = torchllm::paged_decode_attention(q, key_pools[c], value_pools[c],
                                                                           tables, lengths, 0);
                         }
                       }) /
                       copies;

  // Today's path on a slot cache [slots, kv_heads, max_seq, head_dim] of the same size: gather the rows'
  // slots (index_select copies them), mask by length, attend.
  auto slot_cache = [&](const at::Tensor& pool) {
    return pool.view({rows, blocks_per_row, kKvHeads, block_size, kHeadDim})
        .permute({0, 2, 1, 3, 4})
        .reshape({rows, kKvHeads, length, kHeadDim});
  };
  const at::Tensor slots = at::randperm(rows, at::kLong);
  const at::Tensor mask = (at::arange(length, at::kLong).view({1, length}) < lengths.view({rows, 1}))
                              .view({rows, 1, 1, length});  // [rows, 1, 1, len]
  double gathered = 0.0;
  if (!paged_only) {
    std::vector<at::Tensor> key_caches, value_caches;
    for (int64_t c = 0; c < copies; ++c) {
      key_caches.push_back(slot_cache(key_pools[c]));
      value_caches.push_back(slot_cache(value_pools[c]));
    }
    gathered =
        best_seconds([&] {
          for (int64_t c = 0; c < copies; ++c) {
            const at::Tensor k = key_caches[c].index_select(0, slots);    // [rows, kv_heads, len, head_dim]
            const at::Tensor v = value_caches[c].index_select(0, slots);  // [rows, kv_heads, len, head_dim]
            at::Tensor o = torchllm::compat::attention(q.unsqueeze(2), k, v, mask, false).squeeze(2);
          }
        }) /
        copies;
  }

  std::printf("| %-4s | %4lld | %5lld | %5lld | %9.3f | %7.1f | %9.3f | %7.1f | %5.2fx |\n",
              dtype == at::kFloat ? "f32" : "bf16", static_cast<long long>(rows),
              static_cast<long long>(length), static_cast<long long>(block_size), paged * 1e3,
              bytes / paged / 1e9, gathered * 1e3, bytes / gathered / 1e9, gathered / paged);
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  bool quick = false, paged_only = false, cold = false;
  std::vector<int64_t> row_counts = {1, 8, 32};
  int threads = 2;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--quick") {
      quick = true;
    } else if (arg == "--paged-only") {
      paged_only = true;
    } else if (arg == "--cold") {
      cold = true;
    } else if (arg == "--rows" && i + 1 < argc) {
      row_counts = {std::atoll(argv[++i])};
    } else if (arg == "--threads" && i + 1 < argc) {
      threads = std::atoi(argv[++i]);
    } else {
      std::fprintf(
          stderr,
          "usage: paged_attention_bench [--quick] [--threads N] [--paged-only] [--cold] [--rows N]\n");
      return 2;
    }
  }
  at::set_num_threads(threads);
  at::manual_seed(1);
  std::printf("kernel %s, %d threads; q_heads %lld, kv_heads %lld, head_dim %lld\n",
              torchllm::simd_level_name(torchllm::cpu_simd_level()), at::get_num_threads(),
              static_cast<long long>(kQHeads), static_cast<long long>(kKvHeads),
              static_cast<long long>(kHeadDim));
  std::printf("| type | rows | len   | block | paged ms  | GB/s    | gather ms | GB/s    | speedup |\n");
  std::printf("|------|------|-------|-------|-----------|---------|-----------|---------|---------|\n");
  std::vector<int64_t> lengths = {512, 2048};
  if (!quick) lengths.push_back(8192);
  for (const at::ScalarType dtype : {at::kBFloat16, at::kFloat}) {
    for (const bool whole_block : {false, true}) {
      for (const int64_t rows : row_counts) {
        for (const int64_t length : lengths) run(dtype, rows, length, whole_block, paged_only, cold);
      }
    }
  }
  return 0;
}

// Decode attention straight from a paged KV pool (paged_decode_attention) against the libtorch path it
// replaces (DecodeAttention::gathered: each row's K/V gathered into [rows, kv_heads, len, head_dim] and
// compat::attention with a bool mask), at Qwen-like shapes: 16 query heads over 8 KV heads of 128.
// Prints the time per call (best of several), the K/V pool bytes read per second and the keys (positions
// of one row, all KV heads) per second.
//
//   paged_attention_bench [--quick] [--threads N] [--paged-only] [--cold] [--rows N] [--length N] [--q8]
//                         [--group G] [--head-dim D]
//     --quick: lengths 512 and 2048 only; --threads: 2 by default; --paged-only: skip the libtorch path;
//     --cold: each call reads from DRAM, as a model's layers do (see kColdBytes), not from the L3 cache;
//     --rows: that batch only (1, 8 and 32 by default); --length: that length only;
//     --q8: q8_0 pools (kv_q8_0.h) instead of bf16 ones (no libtorch path to compare with);
//     --group: query heads per KV head (2 by default); --head-dim: 128 by default (q8_0: a multiple of 32)
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
#include "model/kernels/kv_q8_0.h"
#include "model/kernels/simd_level.h"
#include "model/paged_decode_attention.h"
#include "model/torch_compat.h"

namespace {

constexpr int64_t kKvHeads = 8;
int64_t g_q_heads = 16, g_head_dim = 128;  // --group, --head-dim

double best_seconds(const std::function<void()>& call) {
  return torchllm::bench::best_seconds(call, 0.5, 200);
}

// With --cold, the pools of one call are copied until the copies fill this many bytes (a model's layers each
// have their own), and each timed call walks all copies: every read then comes from DRAM.
constexpr double kColdBytes = 256e6;

// float32 [num_blocks, kv_heads, block_size, head_dim] -> its q8_0 rows, uint8 [..., kv_q8_row_bytes].
at::Tensor quantize_pool(const at::Tensor& x) {
  const int64_t row_bytes = torchllm::kv_q8_row_bytes(g_head_dim);
  at::Tensor out = at::empty({x.size(0), x.size(1), x.size(2), row_bytes}, at::kByte);
  const float* src = x.data_ptr<float>();
  uint8_t* dst = out.data_ptr<uint8_t>();
  for (int64_t r = 0; r < x.numel() / g_head_dim; ++r) {
    torchllm::quantize_kv_row_q8(src + r * g_head_dim, g_head_dim, dst + r * row_bytes);
  }
  return out;
}

// dtype: the pools' (q's for uint8, q8_0 pools, is bfloat16).
void run(at::ScalarType dtype, int64_t rows, int64_t length, bool whole_block, bool paged_only, bool cold) {
  const bool q8 = dtype == at::kByte;
  const int64_t block_size = whole_block ? length : 16;
  const int64_t blocks_per_row = (length + block_size - 1) / block_size;
  const int64_t num_blocks = rows * blocks_per_row;
  const int64_t row_bytes = q8 ? torchllm::kv_q8_row_bytes(g_head_dim) : g_head_dim * at::elementSize(dtype);
  const double bytes = 2.0 * rows * kKvHeads * length * row_bytes;
  const int64_t copies = cold ? static_cast<int64_t>(kColdBytes / bytes) + 1 : 1;
  const at::Tensor q =
      at::randn({rows, g_q_heads, g_head_dim}).to(q8 ? at::kBFloat16 : dtype);  // [rows, q_heads, head_dim]
  auto make_pool = [&] {  // [num_blocks, kv_heads, block_size, head_dim] (q8_0: row_bytes)
    const at::Tensor x = at::randn({num_blocks, kKvHeads, block_size, g_head_dim});
    return q8 ? quantize_pool(x) : x.to(dtype);
  };
  // rows' blocks scattered over the pool
  std::vector<at::Tensor> key_pools, value_pools;
  for (int64_t c = 0; c < copies; ++c) {
    key_pools.push_back(make_pool());
    value_pools.push_back(make_pool());
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
    return pool.view({rows, blocks_per_row, kKvHeads, block_size, g_head_dim})
        .permute({0, 2, 1, 3, 4})
        .reshape({rows, kKvHeads, length, g_head_dim});
  };
  const at::Tensor slots = at::randperm(rows, at::kLong);
  const at::Tensor mask = (at::arange(length, at::kLong).view({1, length}) < lengths.view({rows, 1}))
                              .view({rows, 1, 1, length});  // [rows, 1, 1, len]
  double gathered = 0.0;
  if (!paged_only && !q8) {
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

  std::printf("| %-4s | %4lld | %5lld | %5lld | %9.3f | %7.1f | %7.2f | %9.3f | %7.1f | %5.2fx |\n",
              q8 ? "q8_0" : (dtype == at::kFloat ? "f32" : "bf16"), static_cast<long long>(rows),
              static_cast<long long>(length), static_cast<long long>(block_size), paged * 1e3,
              bytes / paged / 1e9, rows * length / paged / 1e6, gathered * 1e3, bytes / gathered / 1e9,
              gathered / paged);
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  bool quick = false, paged_only = false, cold = false, q8 = false;
  int64_t only_length = 0;
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
    } else if (arg == "--q8") {
      q8 = true;
    } else if (arg == "--length" && i + 1 < argc) {
      only_length = std::atoll(argv[++i]);
    } else if (arg == "--rows" && i + 1 < argc) {
      row_counts = {std::atoll(argv[++i])};
    } else if (arg == "--group" && i + 1 < argc) {
      g_q_heads = kKvHeads * std::atoll(argv[++i]);
    } else if (arg == "--head-dim" && i + 1 < argc) {
      g_head_dim = std::atoll(argv[++i]);
    } else if (arg == "--threads" && i + 1 < argc) {
      threads = std::atoi(argv[++i]);
    } else {
      std::fprintf(stderr,
                   "usage: paged_attention_bench [--quick] [--threads N] [--paged-only] [--cold] [--rows N] "
                   "[--length N] [--q8] [--group G] [--head-dim D]\n");
      return 2;
    }
  }
  at::set_num_threads(threads);
  at::manual_seed(1);
  std::printf("kernel %s, %d threads; q_heads %lld, kv_heads %lld, head_dim %lld\n",
              torchllm::simd_level_name(torchllm::cpu_simd_level()), at::get_num_threads(),
              static_cast<long long>(g_q_heads), static_cast<long long>(kKvHeads),
              static_cast<long long>(g_head_dim));
  std::printf(
      "| type | rows | len   | block | paged ms  | GB/s    | Mkeys/s | gather ms | GB/s    | speedup |\n");
  std::printf(
      "|------|------|-------|-------|-----------|---------|---------|-----------|---------|---------|\n");
  std::vector<int64_t> lengths = {512, 2048};
  if (!quick) lengths.push_back(8192);
  if (only_length > 0) lengths = {only_length};
  for (const at::ScalarType dtype : {q8 ? at::kByte : at::kBFloat16, at::kFloat}) {
    for (const bool whole_block : {false, true}) {
      for (const int64_t rows : row_counts) {
        for (const int64_t length : lengths) run(dtype, rows, length, whole_block, paged_only, cold);
      }
    }
  }
  return 0;
}

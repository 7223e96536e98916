#pragma once

#include <ATen/Tensor.h>

#include <cstdint>
#include <optional>

#include "model/paged_decode_attention.h"
#include "torchllm/kv_cache.h"

namespace torchllm {

// The keys of `tables`' rows gathered from a pool into one contiguous tensor: pool [blocks, kv_heads,
// block_size, head_dim] (KvCache's view), tables [rows, n] int64 block ids -> [rows, kv_heads, key_len,
// head_dim], the first key_len positions of each row (key_len <= n * block_size).
at::Tensor gather_blocks(const at::Tensor& pool, const at::Tensor& tables, int64_t key_len);

// Whether decode attention on q over `pool` takes the paged CPU kernel (paged_decode_attention): a CPU
// tensor of a dtype it handles, a head-major contiguous pool, and TORCHLLM_DECODE_ATTENTION not "sdpa" (which
// forces the gather + scaled-dot-product path every other device takes, to compare).
bool paged_kernel_applies(const at::Tensor& q, const at::Tensor& pool);

// The attention of a static-shape decode step (one query per row), prepared once per step from device
// tensors and reused by every layer; it never reads them back to the host, so a CUDA graph can capture it.
// On a CPU it runs the paged kernel over each row's block table. On CUDA in bf16/fp16 it calls flash
// attention's variable-length kernel, on the cache in place when each slot is one block of its own, else on
// the rows' keys gathered into one buffer; elsewhere it gathers key_len keys per row and masks the rest, with
// the query heads of each KV head folded into the query axis (no grouped heads meet the mask).
class DecodeAttention {
 public:
  // tables: [rows, blocks_per_slot] int64, each row's block table; lengths: [rows] int64; key_len: keys
  // gathered per row on the gather paths (at least every length); first_slot >= 0: the rows' slots are
  // consecutive from it.
  DecodeAttention(const at::Tensor& tables, const at::Tensor& lengths, int64_t key_len, const KvCache& cache,
                  std::optional<int64_t> window, int64_t first_slot = -1);

  // q [rows, q_heads, head_dim]; pools [blocks, kv_heads, block_size, head_dim] (KvCache's view) already
  // holding this step's K/V. Returns [rows, q_heads, head_dim].
  at::Tensor attend(const at::Tensor& q, const at::Tensor& key_pool, const at::Tensor& value_pool) const;

  // Whether attend() takes the flash kernel for q on its device and dtype (TORCHLLM_DECODE_ATTENTION=sdpa
  // turns it off, to compare).
  static bool uses_flash(const at::Tensor& q);

 private:
  at::Tensor flash(const at::Tensor& q, const at::Tensor& key_pool, const at::Tensor& value_pool) const;
  at::Tensor gathered(const at::Tensor& q, const at::Tensor& key_pool, const at::Tensor& value_pool) const;

  at::Tensor tables_;   // [rows, blocks_per_slot] int64
  at::Tensor lengths_;  // [rows] int64
  int64_t key_len_;
  int64_t block_size_;
  bool one_block_per_slot_;
  std::optional<int64_t> window_;
  int64_t first_slot_;
  mutable at::Tensor mask_;  // bool [rows, 1, 1, key_len], made on first use by the gathered path
  // int32, made on first use by the flash path: [rows + 1] offsets of each row's keys and queries in the
  // flattened keys and batch, [rows] keys per row.
  mutable at::Tensor key_starts_, query_starts_, used_keys_;
};

}  // namespace torchllm

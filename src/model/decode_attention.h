#pragma once

#include <ATen/Tensor.h>

#include <cstdint>
#include <optional>

namespace torchllm {

// The attention of a static-shape decode step (one query per row), prepared once per step from device
// tensors and reused by every layer; it never reads them back to the host, so a CUDA graph can capture it.
// On CUDA in bf16/fp16 it calls flash attention's variable-length kernel on the cache in place, each row
// reading only its own slot's live keys; elsewhere it gathers key_len keys per row and masks the rest, with
// the query heads of each KV head folded into the query axis (no grouped heads meet the mask).
class DecodeAttention {
 public:
  // slots, lengths: [rows] int64; key_len: keys gathered per row on the fallback path (at least every
  // length); max_seq: the cache's positions per slot; first_slot >= 0: the slots are consecutive from it.
  DecodeAttention(const at::Tensor& slots, const at::Tensor& lengths, int64_t key_len, int64_t max_seq,
                  std::optional<int64_t> window, int64_t first_slot = -1);

  // q [rows, q_heads, head_dim]; caches [slots, kv_heads, max_seq, head_dim] (KvCache's view) already
  // holding this step's K/V. Returns [rows, q_heads, head_dim].
  at::Tensor attend(const at::Tensor& q, const at::Tensor& key_cache, const at::Tensor& value_cache) const;

  // Whether attend() takes the flash kernel for q on its device and dtype (TORCHLLM_DECODE_ATTENTION=sdpa
  // turns it off, to compare).
  static bool uses_flash(const at::Tensor& q);

 private:
  at::Tensor flash(const at::Tensor& q, const at::Tensor& key_cache, const at::Tensor& value_cache) const;
  at::Tensor gathered(const at::Tensor& q, const at::Tensor& key_cache, const at::Tensor& value_cache) const;

  at::Tensor slots_;    // [rows] int64
  at::Tensor lengths_;  // [rows] int64
  int64_t key_len_;
  int64_t max_seq_;
  std::optional<int64_t> window_;
  int64_t first_slot_;
  mutable at::Tensor mask_;  // bool [rows, 1, 1, key_len], made on first use by the gathered path
  // int32, made on first use by the flash path: [rows + 1] offsets of each row's keys and queries in the
  // flattened cache and batch, [rows] keys per row.
  mutable at::Tensor key_starts_, query_starts_, used_keys_;
};

}  // namespace torchllm

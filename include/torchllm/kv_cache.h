#pragma once

#include <ATen/Tensor.h>

#include <cstdint>
#include <string>
#include <vector>

namespace torchllm {

// How the cache stores keys and values: in the model's dtype, or (on a CPU) as q8_0 rows of int8 values with
// a float32 scale per 32 (model/kernels/kv_q8_0.h): 0.56 of bf16's bytes, so twice the tokens in the same
// memory and half the bytes a long context's decode step reads, at a small cost in accuracy (--cache-type).
enum class KvCacheType { kModel, kQ8_0 };
// "auto" (or empty) -> kModel, "q8_0" -> kQ8_0; anything else is Error(kInvalidArgument) naming the choices.
KvCacheType parse_kv_cache_type(const std::string& name);
// "q8_0", or the model dtype's name ("bf16", "fp16", "fp32") for kModel.
std::string kv_cache_type_name(KvCacheType type, c10::ScalarType model_dtype);

// The paged K/V pool of every layer: `num_blocks` blocks of `block_size` positions, allocated once and
// written in place, and a block table per sequence slot that maps its positions to blocks (block b of a
// slot holds its positions [b * block_size, (b + 1) * block_size)). Which blocks a slot gets is the engine's
// bookkeeping (BlockManager); the cache only holds the tables the model reads.
//
// One more block than num_blocks is allocated, and one more slot than max_batch: the scratch slot, whose
// table names only the scratch block, where the padding rows of a static-shape decode step write their K/V
// without touching a sequence's. Table entries past a slot's blocks name the scratch block too, so that a
// gather of a whole table stays in range.
//
// Two memory layouts per block behind the same view: head-major ([kv_heads, block_size, head_dim], each
// head's keys contiguous, what CPU matrix products and the paged CPU decode kernel want) and sequence-major
// ([block_size, kv_heads, head_dim], what flash attention's variable-length kernel reads in place on CUDA).
// A q8_0 cache is head-major, its pools uint8 with rows of kv_q8_row_bytes(head_dim) bytes in place of
// head_dim elements.
class KvCache {
 public:
  KvCache(int64_t num_layers, int64_t num_blocks, int64_t block_size, int64_t max_batch, int64_t max_seq,
          int64_t kv_heads, int64_t head_dim, const at::TensorOptions& options, bool head_major = false,
          KvCacheType type = KvCacheType::kModel);

  // [num_blocks + 1, kv_heads, block_size, head_dim] whatever the layout (a transposed view when
  // sequence-major); for q8_0, [num_blocks + 1, kv_heads, block_size, kv_q8_row_bytes(head_dim)] uint8
  at::Tensor keys(int64_t layer) const { return view(keys_[layer]); }
  at::Tensor values(int64_t layer) const { return view(values_[layer]); }
  bool head_major() const { return head_major_; }

  int64_t max_batch() const { return max_batch_; }
  int64_t max_seq() const { return max_seq_; }
  int64_t block_size() const { return block_size_; }
  int64_t num_blocks() const { return num_blocks_; }
  int64_t blocks_per_slot() const { return blocks_per_slot_; }
  int64_t scratch_slot() const { return max_batch_; }
  int64_t scratch_block() const { return num_blocks_; }
  uint64_t bytes() const;

  // The blocks of `slot`, in position order (at most blocks_per_slot; throws Error for a block out of range).
  void set_block_table(int64_t slot, const std::vector<int64_t>& blocks);
  // The blocks set for `slot` (blocks_per_slot entries, the unset ones the scratch block).
  const int64_t* block_table(int64_t slot) const;
  // Positions `slot`'s table covers.
  int64_t capacity(int64_t slot) const;
  // [max_batch + 1, blocks_per_slot] int64 on the cache's device, the same tensor for the cache's life (a
  // captured CUDA graph reads it); current after sync_block_tables().
  const at::Tensor& device_block_tables() const { return device_tables_; }
  // Copies the tables set since the last call to the device (non-blocking on CUDA).
  void sync_block_tables();
  // Whether every slot's table is its own single block, slot s -> block s (make_cache's layout).
  bool one_block_per_slot() const { return identity_; }

 private:
  at::Tensor view(const at::Tensor& t) const { return head_major_ ? t : t.transpose(1, 2); }
  int64_t num_blocks_;
  int64_t block_size_;
  int64_t max_batch_;
  int64_t max_seq_;
  int64_t blocks_per_slot_;
  bool head_major_;
  bool identity_ = false;
  bool tables_changed_ = true;
  std::vector<at::Tensor> keys_;
  std::vector<at::Tensor> values_;
  at::Tensor host_tables_;    // [max_batch + 1, blocks_per_slot] int64 on the host (pinned for CUDA)
  at::Tensor device_tables_;  // the same on the device (host_tables_ itself on a CPU)
  std::vector<int64_t> table_lengths_;
};

}  // namespace torchllm

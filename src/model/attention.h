#pragma once

#include <ATen/Tensor.h>

#include <optional>
#include <vector>

#include "torchllm/kv_cache.h"
#include "torchllm/model.h"

namespace torchllm {

// How the tokens of one forward pass attend to the cache, worked out once (with the block tables of their
// slots) and reused by every layer. Single-token chunks (decode steps) form one batched group; each longer
// chunk (a prompt piece) attends alone, to its keys gathered from their blocks (read in place when they lie
// in one block).
class AttentionPlan {
 public:
  AttentionPlan(const std::vector<SequenceChunk>& batch, const KvCache& cache,
                std::optional<int64_t> sliding_window, const c10::Device& device);

  // q [tokens, q_heads, head_dim] in the order of the batch's tokens; pools [blocks, kv_heads, block_size,
  // head_dim] (KvCache's view) already holding this pass's K/V. Returns [tokens, q_heads, head_dim].
  at::Tensor attend(const at::Tensor& q, const at::Tensor& key_cache, const at::Tensor& value_cache) const;

 private:
  struct Span {  // one sequence attending alone
    int64_t row, count, key_begin, key_end;
    int64_t first_block;  // the block holding key_begin
    at::Tensor blocks;    // [n] int64: the blocks holding keys [key_begin, key_end), when more than one
    at::Tensor mask;      // bool [1, 1, count, key_end - key_begin], or undefined
    bool causal;          // top-left causal mask is exact (chunk starts at the first key)
  };
  struct DecodeGroup {
    at::Tensor rows;     // [batch] token rows of the group
    at::Tensor tables;   // [batch, blocks_per_slot] int64: each row's block table
    at::Tensor lengths;  // [batch] int64: keys each row attends to
    int64_t first_slot = 0;
    bool in_place = false;  // one block per slot and consecutive slots: the pool read as it is
    int64_t key_len = 0;
    at::Tensor mask;  // bool [batch, 1, 1, key_len]
  };
  int64_t block_size_;
  std::optional<int64_t> window_;
  std::vector<Span> spans_;
  std::optional<DecodeGroup> decode_;
};

}  // namespace torchllm

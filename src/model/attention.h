#pragma once

#include <ATen/Tensor.h>

#include <optional>
#include <vector>

#include "torchllm/model.h"

namespace torchllm {

// How the tokens of one forward pass attend to the cache, worked out once and reused by every layer.
// Single-token chunks (decode steps) form one batched group; each longer chunk (a prompt piece) attends
// alone.
class AttentionPlan {
 public:
  AttentionPlan(const std::vector<SequenceChunk>& batch, std::optional<int64_t> sliding_window,
                const c10::Device& device);

  // q [tokens, q_heads, head_dim] in the order of the batch's tokens; caches [slots, kv_heads, max_seq,
  // head_dim] (KvCache's view) already holding this pass's K/V. Returns [tokens, q_heads, head_dim].
  at::Tensor attend(const at::Tensor& q, const at::Tensor& key_cache, const at::Tensor& value_cache) const;

 private:
  struct Span {  // one sequence attending alone
    int64_t row, count, slot, key_begin, key_end;
    at::Tensor mask;  // bool [1, 1, count, key_end - key_begin], or undefined
    bool causal;      // top-left causal mask is exact (chunk starts at the first key)
  };
  struct DecodeGroup {
    at::Tensor rows;   // [batch] token rows of the group
    at::Tensor slots;  // [batch]
    int64_t first_slot = 0;
    bool contiguous_slots = false;
    int64_t key_len = 0;
    at::Tensor mask;  // bool [batch, 1, 1, key_len]
  };
  std::vector<Span> spans_;
  std::optional<DecodeGroup> decode_;
};

}  // namespace torchllm

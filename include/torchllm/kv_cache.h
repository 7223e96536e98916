#pragma once

#include <ATen/Tensor.h>

#include <cstdint>
#include <optional>
#include <vector>

namespace torchllm {

// K/V tensors for every layer, allocated once for max_batch sequences x max_seq positions and written in
// place. One more slot than max_batch is allocated: the scratch slot, where the padding rows of a
// static-shape decode step write their K/V without touching a sequence's.
//
// Two memory layouts behind the same view: head-major ([slots, kv_heads, max_seq, head_dim], each head's
// keys contiguous, what CPU matrix products want: a strided batch of them ran 5-7x slower) and
// sequence-major ([slots, max_seq, kv_heads, head_dim], what flash attention's variable-length kernel reads
// in place on CUDA).
class KvCache {
 public:
  KvCache(int64_t num_layers, int64_t max_batch, int64_t max_seq, int64_t kv_heads, int64_t head_dim,
          const at::TensorOptions& options, bool head_major = false);

  // [max_batch + 1, kv_heads, max_seq, head_dim] whatever the layout (a transposed view when sequence-major)
  at::Tensor keys(int64_t layer) const { return view(keys_[layer]); }
  at::Tensor values(int64_t layer) const { return view(values_[layer]); }
  bool head_major() const { return head_major_; }

  int64_t max_batch() const { return max_batch_; }
  int64_t max_seq() const { return max_seq_; }
  int64_t scratch_slot() const { return max_batch_; }
  uint64_t bytes() const;

 private:
  at::Tensor view(const at::Tensor& t) const { return head_major_ ? t : t.transpose(1, 2); }
  int64_t max_batch_;
  int64_t max_seq_;
  bool head_major_;
  std::vector<at::Tensor> keys_;
  std::vector<at::Tensor> values_;
};

// Which cache slot belongs to which sequence and which tokens its K/V hold. Plain bookkeeping, no tensors.
// A released slot keeps its tokens, so that a later sequence starting with the same prefix (the next turn of
// a chat, a shared system prompt) can reuse them instead of computing them again.
class KvSlots {
 public:
  KvSlots(int64_t max_batch, int64_t max_seq);

  struct Acquired {
    int64_t slot = 0;
    int64_t reused = 0;  // leading prompt tokens whose K/V the slot already holds
  };
  // The free slot holding the longest prefix of `prompt` (at most prompt.size() - 1 tokens, so that the last
  // one is computed and yields logits), truncated to that prefix; nothing when every slot is taken.
  std::optional<Acquired> acquire(const std::vector<int64_t>& prompt);
  // Frees the slot; keep_tokens=false forgets its contents (after a failed forward pass).
  void release(int64_t slot, bool keep_tokens = true);
  int64_t length(int64_t slot) const;
  const std::vector<int64_t>& tokens(int64_t slot) const;
  // Records tokens written at the end of the slot; throws Error(kResourceExhausted) past max_seq.
  void append(int64_t slot, const std::vector<int64_t>& tokens);
  void truncate(int64_t slot, int64_t length);
  bool in_use(int64_t slot) const;
  int64_t free_count() const;
  int64_t max_seq() const { return max_seq_; }

 private:
  void check(int64_t slot) const;
  int64_t max_seq_;
  std::vector<std::vector<int64_t>> tokens_;
  std::vector<bool> used_;
};

}  // namespace torchllm

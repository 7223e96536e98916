#pragma once

#include <ATen/Tensor.h>

#include <cstdint>
#include <optional>
#include <vector>

namespace torchllm {

// K/V tensors for every layer, allocated once for max_batch sequences x max_seq positions and written in
// place.
class KvCache {
 public:
  KvCache(int64_t num_layers, int64_t max_batch, int64_t max_seq, int64_t kv_heads, int64_t head_dim,
          const at::TensorOptions& options);

  // [max_batch, max_seq, kv_heads, head_dim]
  const at::Tensor& keys(int64_t layer) const { return keys_[layer]; }
  const at::Tensor& values(int64_t layer) const { return values_[layer]; }

  int64_t max_batch() const { return max_batch_; }
  int64_t max_seq() const { return max_seq_; }
  uint64_t bytes() const;

 private:
  int64_t max_batch_;
  int64_t max_seq_;
  std::vector<at::Tensor> keys_;
  std::vector<at::Tensor> values_;
};

// Which cache slot belongs to which sequence and how many positions it holds. Plain bookkeeping, no tensors.
class KvSlots {
 public:
  KvSlots(int64_t max_batch, int64_t max_seq);

  std::optional<int64_t> acquire();  // a free slot with length 0, or nothing when all are taken
  void release(int64_t slot);
  int64_t length(int64_t slot) const;
  // Records n more positions; throws Error(kResourceExhausted) when that passes max_seq.
  void advance(int64_t slot, int64_t n);
  void truncate(int64_t slot, int64_t length);
  bool in_use(int64_t slot) const;
  int64_t free_count() const;
  int64_t max_seq() const { return max_seq_; }

 private:
  void check(int64_t slot) const;
  int64_t max_seq_;
  std::vector<int64_t> lengths_;
  std::vector<bool> used_;
};

}  // namespace torchllm

#include "torchllm/kv_cache.h"

#include <ATen/ATen.h>

#include "torchllm/error.h"

namespace torchllm {

KvCache::KvCache(int64_t num_layers, int64_t max_batch, int64_t max_seq, int64_t kv_heads, int64_t head_dim,
                 const at::TensorOptions& options, bool head_major)
    : max_batch_(max_batch), max_seq_(max_seq), head_major_(head_major) {
  if (max_batch <= 0 || max_seq <= 0)
    throw Error::invalid_argument("KV cache needs a positive batch and length");
  for (int64_t l = 0; l < num_layers; ++l) {
    // Zeroed so that never-written positions are finite even where a mask excludes them.
    const std::vector<int64_t> shape = head_major
                                           ? std::vector<int64_t>{max_batch + 1, kv_heads, max_seq, head_dim}
                                           : std::vector<int64_t>{max_batch + 1, max_seq, kv_heads, head_dim};
    keys_.push_back(at::zeros(shape, options));
    values_.push_back(at::zeros(shape, options));
  }
}

uint64_t KvCache::bytes() const {
  uint64_t total = 0;
  for (const auto& t : keys_) total += t.numel() * t.element_size();
  for (const auto& t : values_) total += t.numel() * t.element_size();
  return total;
}

}  // namespace torchllm

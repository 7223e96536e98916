#include "torchllm/kv_cache.h"

#include <ATen/ATen.h>

#include <string>

#include "model/kernels/kv_q8_0.h"
#include "torchllm/error.h"

namespace torchllm {

KvCacheType parse_kv_cache_type(const std::string& name) {
  if (name.empty() || name == "auto" || name == "bf16" || name == "fp16" || name == "f16" || name == "fp32" ||
      name == "f32") {
    return KvCacheType::kModel;
  }
  if (name == "q8_0") return KvCacheType::kQ8_0;
  throw Error::invalid_argument("unknown KV cache type '" + name +
                                "': use auto (the model's dtype) or q8_0 (int8 with a scale per 32 values)");
}

std::string kv_cache_type_name(KvCacheType type, c10::ScalarType model_dtype) {
  if (type == KvCacheType::kQ8_0) return "q8_0";
  if (model_dtype == at::kBFloat16) return "bf16";
  if (model_dtype == at::kHalf) return "fp16";
  return "fp32";
}

KvCache::KvCache(int64_t num_layers, int64_t num_blocks, int64_t block_size, int64_t max_batch,
                 int64_t max_seq, int64_t kv_heads, int64_t head_dim, const at::TensorOptions& options,
                 bool head_major, KvCacheType type)
    : num_blocks_(num_blocks),
      block_size_(block_size),
      max_batch_(max_batch),
      max_seq_(max_seq),
      blocks_per_slot_((max_seq + block_size - 1) / std::max<int64_t>(block_size, 1)),
      head_major_(head_major),
      table_lengths_(static_cast<size_t>(std::max<int64_t>(max_batch, 0) + 1), 0) {
  if (max_batch <= 0 || max_seq <= 0 || num_blocks <= 0 || block_size <= 0)
    throw Error::invalid_argument("KV cache needs a positive batch, length, block count and block size");
  const bool q8 = type == KvCacheType::kQ8_0;
  if (q8 && (!options.device().is_cpu() || !head_major)) {
    throw Error::invalid_argument("a q8_0 KV cache is for CPUs only: use --cache-type auto on " +
                                  options.device().str());
  }
  if (q8 && !kv_q8_fits(head_dim)) {
    throw Error::invalid_argument("a q8_0 KV cache needs a head size that is a multiple of 32, not " +
                                  std::to_string(head_dim) + ": use --cache-type auto");
  }
  const int64_t row = q8 ? kv_q8_row_bytes(head_dim) : head_dim;
  const at::TensorOptions pool_options = q8 ? options.dtype(at::kByte) : options;
  for (int64_t l = 0; l < num_layers; ++l) {
    // Zeroed so that never-written positions are finite even where a mask excludes them (a zero q8_0 row is
    // zeros with scale 0).
    const std::vector<int64_t> shape = head_major
                                           ? std::vector<int64_t>{num_blocks + 1, kv_heads, block_size, row}
                                           : std::vector<int64_t>{num_blocks + 1, block_size, kv_heads, row};
    keys_.push_back(at::zeros(shape, pool_options));
    values_.push_back(at::zeros(shape, pool_options));
  }
  const at::TensorOptions longs = at::TensorOptions().dtype(at::kLong);
  const bool on_cpu = options.device().is_cpu();
  host_tables_ = at::full({max_batch + 1, blocks_per_slot_}, num_blocks,
                          longs.pinned_memory(options.device().is_cuda()));
  device_tables_ = on_cpu ? host_tables_ : host_tables_.to(options.device());
  tables_changed_ = false;
  // A pool of exactly one block per slot, each as long as the context: slot s owns block s.
  if (num_blocks == max_batch && block_size >= max_seq) {
    for (int64_t s = 0; s < max_batch; ++s) set_block_table(s, {s});
    identity_ = true;
    sync_block_tables();
  }
}

uint64_t KvCache::bytes() const {
  uint64_t total = 0;
  for (const auto& t : keys_) total += t.numel() * t.element_size();
  for (const auto& t : values_) total += t.numel() * t.element_size();
  return total;
}

void KvCache::set_block_table(int64_t slot, const std::vector<int64_t>& blocks) {
  if (slot < 0 || slot >= max_batch_ || static_cast<int64_t>(blocks.size()) > blocks_per_slot_) {
    throw Error::internal("KV block table for slot " + std::to_string(slot) + " out of range");
  }
  int64_t* row = host_tables_.data_ptr<int64_t>() + slot * blocks_per_slot_;
  for (size_t i = 0; i < blocks.size(); ++i) {
    if (blocks[i] < 0 || blocks[i] >= num_blocks_) throw Error::internal("KV block out of range");
    if (row[i] != blocks[i]) {
      row[i] = blocks[i];
      tables_changed_ = true;
      identity_ = false;
    }
  }
  for (int64_t i = static_cast<int64_t>(blocks.size()); i < table_lengths_[slot]; ++i) {
    row[i] = num_blocks_;
    tables_changed_ = true;
  }
  table_lengths_[slot] = static_cast<int64_t>(blocks.size());
}

const int64_t* KvCache::block_table(int64_t slot) const {
  return host_tables_.data_ptr<int64_t>() + slot * blocks_per_slot_;
}

int64_t KvCache::capacity(int64_t slot) const {
  if (slot == max_batch_) return block_size_;  // the scratch slot: the scratch block
  return table_lengths_[slot] * block_size_;
}

void KvCache::sync_block_tables() {
  if (!tables_changed_) return;
  tables_changed_ = false;
  if (!device_tables_.is_same(host_tables_)) device_tables_.copy_(host_tables_, /*non_blocking=*/true);
}

}  // namespace torchllm

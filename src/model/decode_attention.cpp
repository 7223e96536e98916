#include "model/decode_attention.h"

#include <ATen/ATen.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <string>

#include "model/kv_quantization.h"
#include "model/torch_compat.h"

namespace torchllm {
namespace {

#if TORCHLLM_TORCH_AT_LEAST(2, 5)
// Cleared when the flash kernel refuses a call (a libtorch built without it, an unsupported GPU), so that
// every later step takes the gathered path at once.
std::atomic<bool> flash_works{true};

bool flash_disabled_by_environment() {
  const char* choice = std::getenv("TORCHLLM_DECODE_ATTENTION");
  return choice != nullptr && std::strcmp(choice, "sdpa") == 0;
}
#endif

}  // namespace

at::Tensor gather_blocks(const at::Tensor& pool, const at::Tensor& tables, int64_t key_len) {
  const int64_t rows = tables.size(0), block_size = pool.size(2);
  const int64_t n = (key_len + block_size - 1) / block_size;
  at::Tensor ids = tables.narrow(1, 0, n).reshape({rows * n});
  at::Tensor blocks = pool.index_select(0, ids);  // [rows * n, kv_heads, block_size, head_dim]
  if (n == 1) return blocks.narrow(2, 0, key_len);
  const int64_t kv_heads = pool.size(1), head_dim = pool.size(3);
  return blocks.view({rows, n, kv_heads, block_size, head_dim})
      .permute({0, 2, 1, 3, 4})
      .reshape({rows, kv_heads, n * block_size, head_dim})
      .narrow(2, 0, key_len);
}

bool paged_kernel_applies(const at::Tensor& q, const at::Tensor& pool) {
  static const bool disabled = [] {
    const char* choice = std::getenv("TORCHLLM_DECODE_ATTENTION");
    return choice != nullptr && std::strcmp(choice, "sdpa") == 0;
  }();
  return !disabled && paged_decode_attention_applies(q) && pool.is_contiguous() &&
         (pool.scalar_type() == q.scalar_type() || holds_q8_rows(pool));
}

DecodeAttention::DecodeAttention(const at::Tensor& tables, const at::Tensor& lengths, int64_t key_len,
                                 const KvCache& cache, std::optional<int64_t> window, int64_t first_slot)
    : tables_(tables),
      lengths_(lengths),
      key_len_(key_len),
      block_size_(cache.block_size()),
      one_block_per_slot_(cache.one_block_per_slot()),
      window_(window),
      first_slot_(first_slot) {}

bool DecodeAttention::uses_flash(const at::Tensor& q) {
#if TORCHLLM_TORCH_AT_LEAST(2, 5)
  static const bool disabled = flash_disabled_by_environment();
  const auto dtype = q.scalar_type();
  const int64_t head_dim = q.size(-1);
  return flash_works && !disabled && q.is_cuda() && (dtype == at::kBFloat16 || dtype == at::kHalf) &&
         head_dim % 8 == 0 && head_dim <= 256;
#else
  (void)q;
  return false;
#endif
}

at::Tensor DecodeAttention::attend(const at::Tensor& q, const at::Tensor& key_pool,
                                   const at::Tensor& value_pool) const {
  if (paged_kernel_applies(q, key_pool)) {
    return paged_decode_attention(q, key_pool, value_pool, tables_, lengths_, window_.value_or(0));
  }
  // Flash reads the pool in place when it is sequence-major (seen as [tokens, heads, dim]) and each slot is
  // one block; otherwise it reads the rows' keys gathered.
  if (uses_flash(q) && key_pool.size(0) * block_size_ < (int64_t{1} << 31) &&
      q.size(0) * key_len_ < (int64_t{1} << 31)) {
#if TORCHLLM_TORCH_AT_LEAST(2, 5)
    try {
      return flash(q, key_pool, value_pool);
    } catch (const c10::Error&) {
      flash_works = false;  // the gathered path below gives the same result
    }
#endif
  }
  return gathered(q, key_pool, value_pool);
}

at::Tensor DecodeAttention::flash(const at::Tensor& q, const at::Tensor& key_pool,
                                  const at::Tensor& value_pool) const {
#if TORCHLLM_TORCH_AT_LEAST(2, 5)
  const int64_t rows = q.size(0), kv_heads = key_pool.size(1), head_dim = key_pool.size(3);
  const bool in_place = one_block_per_slot_ && key_pool.transpose(1, 2).is_contiguous();
  // [total_keys, kv_heads, head_dim]: the pool itself, or the rows' keys gathered one row after another
  auto flat = [&](const at::Tensor& pool) {
    if (in_place) return pool.transpose(1, 2).reshape({pool.size(0) * block_size_, kv_heads, head_dim});
    return gather_blocks(pool, tables_, key_len_)
        .transpose(1, 2)
        .reshape({rows * key_len_, kv_heads, head_dim});
  };
  const at::Tensor keys = flat(key_pool), values = flat(value_pool);
  const int64_t total_keys = keys.size(0);
  if (!key_starts_.defined()) {  // once per step, shared by the layers
    const at::TensorOptions ints = lengths_.options().dtype(at::kInt);
    // Row i's keys start at its block's first position in the flattened pool (or at i * key_len in the
    // gathered keys) and number lengths[i]; the offsets need not increase, since the kernel takes each row's
    // key count from seqused_k.
    const at::Tensor starts =
        in_place ? tables_.select(1, 0) * block_size_ : at::arange(rows, ints) * key_len_;
    key_starts_ = at::cat({starts.to(at::kInt), at::full({1}, total_keys, ints)});  // [rows + 1]
    query_starts_ = at::arange(rows + 1, ints);                                     // [rows + 1]
    used_keys_ = lengths_.to(at::kInt);                                             // [rows]
  }
  std::optional<int64_t> left, right;
  if (window_) {
    left = *window_ - 1;
    right = 0;
  }
  auto result = at::_flash_attention_forward(q.contiguous(), keys, values, query_starts_, key_starts_,
                                             /*max_q=*/1,
                                             /*max_k=*/in_place ? block_size_ : key_len_, /*dropout_p=*/0.0,
                                             /*is_causal=*/false, /*return_debug_mask=*/false,
                                             /*scale=*/std::nullopt, left, right, used_keys_);
  return std::get<0>(result);  // [rows, q_heads, head_dim]
#else
  (void)key_pool;
  (void)value_pool;
  return q;
#endif
}

at::Tensor DecodeAttention::gathered(const at::Tensor& q, const at::Tensor& key_pool,
                                     const at::Tensor& value_pool) const {
  const int64_t rows = q.size(0);
  if (!mask_.defined()) {
    at::Tensor keys = at::arange(key_len_, lengths_.options()).view({1, key_len_});  // [1, key_len]
    at::Tensor lengths = lengths_.view({rows, 1});                                   // [rows, 1]
    at::Tensor allowed = keys < lengths;
    if (window_) allowed = allowed.logical_and(keys >= lengths - *window_);
    mask_ = allowed.view({rows, 1, 1, key_len_});
  }
  auto gather = [&](const at::Tensor& pool) {  // [rows, kv_heads, key_len, head_dim]
    if (one_block_per_slot_ && first_slot_ >= 0)
      return readable_kv(pool.narrow(0, first_slot_, rows).narrow(2, 0, key_len_), q.scalar_type());
    return readable_kv(gather_blocks(pool, tables_, key_len_), q.scalar_type());
  };
  at::Tensor o = compat::attention(q.unsqueeze(2), gather(key_pool), gather(value_pool), mask_,
                                   false);  // [rows, q_heads, 1, head_dim]
  return o.squeeze(2);
}

}  // namespace torchllm

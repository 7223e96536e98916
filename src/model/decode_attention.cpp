#include "model/decode_attention.h"

#include <ATen/ATen.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <string>

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

DecodeAttention::DecodeAttention(const at::Tensor& slots, const at::Tensor& lengths, int64_t key_len,
                                 int64_t max_seq, std::optional<int64_t> window, int64_t first_slot)
    : slots_(slots),
      lengths_(lengths),
      key_len_(key_len),
      max_seq_(max_seq),
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

at::Tensor DecodeAttention::attend(const at::Tensor& q, const at::Tensor& key_cache,
                                   const at::Tensor& value_cache) const {
  // Flash reads the cache in place: only the sequence-major layout can be seen as [tokens, heads, dim].
  if (uses_flash(q) && key_cache.size(0) * max_seq_ < (int64_t{1} << 31) &&
      key_cache.transpose(1, 2).is_contiguous()) {
#if TORCHLLM_TORCH_AT_LEAST(2, 5)
    try {
      return flash(q, key_cache, value_cache);
    } catch (const c10::Error&) {
      flash_works = false;  // the gathered path below gives the same result
    }
#endif
  }
  return gathered(q, key_cache, value_cache);
}

at::Tensor DecodeAttention::flash(const at::Tensor& q, const at::Tensor& key_cache,
                                  const at::Tensor& value_cache) const {
#if TORCHLLM_TORCH_AT_LEAST(2, 5)
  const int64_t rows = q.size(0), kv_heads = key_cache.size(1), head_dim = key_cache.size(3);
  const int64_t total_keys = key_cache.size(0) * max_seq_;
  if (!key_starts_.defined()) {  // once per step, shared by the layers
    const at::TensorOptions ints = slots_.options().dtype(at::kInt);
    // Row i's keys start at its slot's first position in the flattened cache and number lengths[i]; the
    // offsets need not increase, since the kernel takes each row's key count from seqused_k.
    key_starts_ = at::cat({(slots_ * max_seq_).to(at::kInt), at::full({1}, total_keys, ints)});  // [rows + 1]
    query_starts_ = at::arange(rows + 1, ints);                                                  // [rows + 1]
    used_keys_ = lengths_.to(at::kInt);                                                          // [rows]
  }
  std::optional<int64_t> left, right;
  if (window_) {
    left = *window_ - 1;
    right = 0;
  }
  auto result = at::_flash_attention_forward(
      q.contiguous(), key_cache.transpose(1, 2).view({total_keys, kv_heads, head_dim}),
      value_cache.transpose(1, 2).view({total_keys, kv_heads, head_dim}), query_starts_, key_starts_,
      /*max_q=*/1,
      /*max_k=*/max_seq_, /*dropout_p=*/0.0, /*is_causal=*/false, /*return_debug_mask=*/false,
      /*scale=*/std::nullopt, left, right, used_keys_);
  return std::get<0>(result);  // [rows, q_heads, head_dim]
#else
  (void)key_cache;
  (void)value_cache;
  return q;
#endif
}

at::Tensor DecodeAttention::gathered(const at::Tensor& q, const at::Tensor& key_cache,
                                     const at::Tensor& value_cache) const {
  const int64_t rows = q.size(0);
  if (!mask_.defined()) {
    at::Tensor keys = at::arange(key_len_, lengths_.options()).view({1, key_len_});  // [1, key_len]
    at::Tensor lengths = lengths_.view({rows, 1});                                   // [rows, 1]
    at::Tensor allowed = keys < lengths;
    if (window_) allowed = allowed.logical_and(keys >= lengths - *window_);
    mask_ = allowed.view({rows, 1, 1, key_len_});
  }
  auto gather = [&](const at::Tensor& cache) {  // [rows, kv_heads, key_len, head_dim]
    const at::Tensor live = cache.narrow(2, 0, key_len_);
    return first_slot_ >= 0 ? live.narrow(0, first_slot_, rows) : live.index_select(0, slots_);
  };
  at::Tensor o = compat::attention(q.unsqueeze(2), gather(key_cache), gather(value_cache), mask_,
                                   false);  // [rows, q_heads, 1, head_dim]
  return o.squeeze(2);
}

}  // namespace torchllm

#include "model/attention.h"

#include <ATen/ATen.h>

#include <algorithm>

#include "model/torch_compat.h"

namespace torchllm {
namespace {

// [count, keys]: query i sits at absolute position first_query + i; key j at first_key + j.
at::Tensor causal_window_mask(int64_t first_query, int64_t count, int64_t first_key, int64_t keys,
                              std::optional<int64_t> window) {
  at::Tensor q = at::arange(first_query, first_query + count, at::kLong).unsqueeze(1);
  at::Tensor k = at::arange(first_key, first_key + keys, at::kLong).unsqueeze(0);
  at::Tensor allowed = k <= q;
  if (window) allowed = allowed.logical_and(k > q - *window);
  return allowed;
}

}  // namespace

AttentionPlan::AttentionPlan(const std::vector<SequenceChunk>& batch, std::optional<int64_t> window,
                             const c10::Device& device) {
  std::vector<int64_t> decode_rows, decode_slots, decode_lengths;
  int64_t row = 0;
  for (const SequenceChunk& chunk : batch) {
    const int64_t n = static_cast<int64_t>(chunk.tokens.size());
    const int64_t end = chunk.start + n;
    if (n == 1) {
      decode_rows.push_back(row);
      decode_slots.push_back(chunk.slot);
      decode_lengths.push_back(end);
    } else {
      Span span{row, n, chunk.slot, 0, end, at::Tensor(), false};
      if (window) span.key_begin = std::max<int64_t>(0, chunk.start - *window + 1);
      const bool window_inactive = !window || end <= *window;
      if (chunk.start == 0 && window_inactive) {
        span.causal = true;
      } else {
        span.mask = causal_window_mask(chunk.start, n, span.key_begin, end - span.key_begin, window)
                        .view({1, 1, n, end - span.key_begin})
                        .to(device);
      }
      spans_.push_back(std::move(span));
    }
    row += n;
  }
  if (decode_rows.size() == 1) {
    // A lone decode step needs no mask: the cache slice of its live length is exactly what it may see.
    const int64_t end = decode_lengths[0];
    const int64_t begin = window ? std::max<int64_t>(0, end - *window) : 0;
    spans_.push_back(Span{decode_rows[0], 1, decode_slots[0], begin, end, at::Tensor(), false});
  } else if (!decode_rows.empty()) {
    DecodeGroup group;
    const auto count = static_cast<int64_t>(decode_rows.size());
    group.key_len = *std::max_element(decode_lengths.begin(), decode_lengths.end());
    group.rows = at::tensor(decode_rows, at::kLong).to(device);
    group.slots = at::tensor(decode_slots, at::kLong).to(device);
    group.first_slot = decode_slots[0];
    group.contiguous_slots = true;
    for (int64_t i = 0; i < count; ++i) group.contiguous_slots &= decode_slots[i] == decode_slots[0] + i;
    at::Tensor lengths = at::tensor(decode_lengths, at::kLong).view({count, 1});  // [batch, 1]
    at::Tensor keys = at::arange(group.key_len, at::kLong).view({1, group.key_len});
    at::Tensor allowed = keys < lengths;
    if (window) allowed = allowed.logical_and(keys >= lengths - *window);
    group.mask = allowed.view({count, 1, 1, group.key_len}).to(device);
    decode_ = std::move(group);
  }
}

at::Tensor AttentionPlan::attend(const at::Tensor& q, const at::Tensor& key_cache,
                                 const at::Tensor& value_cache) const {
  at::Tensor out = at::empty_like(q);  // [tokens, q_heads, head_dim]
  for (const Span& s : spans_) {
    // [1, heads, len, head_dim] views of the query rows and the live cache range
    at::Tensor qs = q.narrow(0, s.row, s.count).unsqueeze(0).transpose(1, 2);
    at::Tensor ks = key_cache[s.slot].narrow(1, s.key_begin, s.key_end - s.key_begin).unsqueeze(0);
    at::Tensor vs = value_cache[s.slot].narrow(1, s.key_begin, s.key_end - s.key_begin).unsqueeze(0);
    c10::optional<at::Tensor> mask;
    if (s.mask.defined()) mask = s.mask;
    at::Tensor o = compat::attention(qs, ks, vs, mask, s.causal);  // [1, q_heads, count, head_dim]
    out.narrow(0, s.row, s.count).copy_(o.squeeze(0).transpose(0, 1));
  }
  if (decode_) {
    const DecodeGroup& g = *decode_;
    const int64_t count = g.rows.size(0);
    auto gather = [&](const at::Tensor& cache) {  // [batch, kv_heads, key_len, head_dim]
      at::Tensor live = cache.narrow(2, 0, g.key_len);
      return g.contiguous_slots ? live.narrow(0, g.first_slot, count) : live.index_select(0, g.slots);
    };
    at::Tensor qd = q.index_select(0, g.rows).unsqueeze(2);  // [batch, q_heads, 1, head_dim]
    at::Tensor o = compat::attention(qd, gather(key_cache), gather(value_cache), g.mask,
                                     false);  // [batch, q_heads, 1, head_dim]
    out.index_copy_(0, g.rows, o.squeeze(2));
  }
  return out;
}

}  // namespace torchllm

#include "model/attention.h"

#include <ATen/ATen.h>

#include <algorithm>

#include "model/decode_attention.h"
#include "model/kv_quantization.h"
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

AttentionPlan::AttentionPlan(const std::vector<SequenceChunk>& batch, const KvCache& cache,
                             std::optional<int64_t> window, const c10::Device& device)
    : block_size_(cache.block_size()), window_(window) {
  const int64_t bs = block_size_;
  std::vector<int64_t> decode_rows, decode_slots, decode_lengths;
  // A lone decode step reads a slot of its own block in place; in a paged pool it joins the group path too
  // (the paged kernel on a CPU).
  const auto decode_steps =
      std::count_if(batch.begin(), batch.end(), [](const SequenceChunk& c) { return c.tokens.size() == 1; });
  const bool group_decode = decode_steps > 1 || (decode_steps == 1 && !cache.one_block_per_slot());
  int64_t row = 0;
  for (const SequenceChunk& chunk : batch) {
    const int64_t n = static_cast<int64_t>(chunk.tokens.size());
    const int64_t end = chunk.start + n;
    if (n == 1 && group_decode) {
      decode_rows.push_back(row);
      decode_slots.push_back(chunk.slot);
      decode_lengths.push_back(end);
      row += n;
      continue;
    }
    // A lone decode step needs no mask: the live key range is exactly what it may see.
    Span span{row, n, 0, end, 0, at::Tensor(), at::Tensor(), false};
    if (window) span.key_begin = std::max<int64_t>(0, n == 1 ? end - *window : chunk.start - *window + 1);
    if (n > 1) {
      const bool window_inactive = !window || end <= *window;
      if (chunk.start == 0 && window_inactive) {
        span.causal = true;
      } else {
        span.mask = causal_window_mask(chunk.start, n, span.key_begin, end - span.key_begin, window)
                        .view({1, 1, n, end - span.key_begin})
                        .to(device);
      }
    }
    const int64_t* table = cache.block_table(chunk.slot);
    const int64_t b0 = span.key_begin / bs, b1 = (end - 1) / bs;
    span.first_block = table[b0];
    if (b1 > b0)
      span.blocks = at::tensor(std::vector<int64_t>(table + b0, table + b1 + 1), at::kLong).to(device);
    spans_.push_back(std::move(span));
    row += n;
  }
  if (!decode_rows.empty()) {
    DecodeGroup group;
    const auto count = static_cast<int64_t>(decode_rows.size());
    group.key_len = *std::max_element(decode_lengths.begin(), decode_lengths.end());
    group.rows = at::tensor(decode_rows, at::kLong).to(device);
    group.first_slot = decode_slots[0];
    bool consecutive = true;
    for (int64_t i = 0; i < count; ++i) consecutive &= decode_slots[i] == decode_slots[0] + i;
    group.in_place = consecutive && cache.one_block_per_slot();
    const int64_t per_slot = cache.blocks_per_slot();
    std::vector<int64_t> tables;
    tables.reserve(static_cast<size_t>(count * per_slot));
    for (int64_t slot : decode_slots) {
      const int64_t* table = cache.block_table(slot);
      tables.insert(tables.end(), table, table + per_slot);
    }
    group.tables = at::tensor(tables, at::kLong).view({count, per_slot}).to(device);
    at::Tensor lengths = at::tensor(decode_lengths, at::kLong);  // [batch]
    group.lengths = lengths.to(device);
    at::Tensor keys = at::arange(group.key_len, at::kLong).view({1, group.key_len});
    at::Tensor allowed = keys < lengths.view({count, 1});
    if (window) allowed = allowed.logical_and(keys >= lengths.view({count, 1}) - *window);
    group.mask = allowed.view({count, 1, 1, group.key_len}).to(device);
    decode_ = std::move(group);
  }
}

at::Tensor AttentionPlan::attend(const at::Tensor& q, const at::Tensor& key_pool,
                                 const at::Tensor& value_pool) const {
  at::Tensor out = at::empty_like(q);  // [tokens, q_heads, head_dim]
  for (const Span& s : spans_) {
    const int64_t len = s.key_end - s.key_begin;
    const int64_t offset = s.key_begin % block_size_;
    // [1, kv_heads, len, head_dim]: the live key range, in place when it lies in one block
    auto keys_of = [&](const at::Tensor& pool) {
      if (!s.blocks.defined()) {
        return readable_kv(pool[s.first_block].narrow(1, offset, len).unsqueeze(0), q.scalar_type());
      }
      return readable_kv(gather_blocks(pool, s.blocks.unsqueeze(0), offset + len).narrow(2, offset, len),
                         q.scalar_type());
    };
    at::Tensor qs = q.narrow(0, s.row, s.count).unsqueeze(0).transpose(1, 2);  // [1, heads, count, head_dim]
    c10::optional<at::Tensor> mask;
    if (s.mask.defined()) mask = s.mask;
    at::Tensor o = compat::attention(qs, keys_of(key_pool), keys_of(value_pool), mask,
                                     s.causal);  // [1, q_heads, count, head_dim]
    out.narrow(0, s.row, s.count).copy_(o.squeeze(0).transpose(0, 1));
  }
  if (decode_) {
    const DecodeGroup& g = *decode_;
    const int64_t count = g.rows.size(0);
    at::Tensor qd = q.index_select(0, g.rows);  // [batch, q_heads, head_dim]
    at::Tensor o;
    if (paged_kernel_applies(qd, key_pool)) {
      o = paged_decode_attention(qd, key_pool, value_pool, g.tables, g.lengths, window_.value_or(0));
    } else {
      auto gather = [&](const at::Tensor& pool) {  // [batch, kv_heads, key_len, head_dim]
        if (g.in_place)
          return readable_kv(pool.narrow(0, g.first_slot, count).narrow(2, 0, g.key_len), q.scalar_type());
        return readable_kv(gather_blocks(pool, g.tables, g.key_len), q.scalar_type());
      };
      o = compat::attention(qd.unsqueeze(2), gather(key_pool), gather(value_pool), g.mask, false)
              .squeeze(2);  // [batch, q_heads, head_dim]
    }
    out.index_copy_(0, g.rows, o);
  }
  return out;
}

}  // namespace torchllm

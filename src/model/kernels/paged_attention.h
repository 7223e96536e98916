#pragma once

// Decode attention over a paged KV cache on a CPU (vLLM's PagedAttention, as a loop): one query token per
// row, its keys and values read block by block through the row's block table, never gathered into a
// contiguous copy. Per row and KV head, all query heads of the group are computed at once (each key and
// value is read once for the group), with float32 sums. Two passes, scores then values, rather than an online
// softmax: the reference (PyTorch's attention in the model's dtype) rounds each score and each probability to
// bf16 / fp16, which needs the whole row's maximum and sum before any value is weighted. No libtorch: the
// model's caller splits rows x KV heads over threads.

#include <cstdint>

#include "model/kernels/simd_level.h"

namespace torchllm {

// The pools' element type. kBF16 and kF16 round each score and probability to that type (as the reference
// does); kF32 and kQ8_0 keep them float32 throughout. kQ8_0: q8_0 rows (kv_q8_0.h), each read as float32
// q * d; head_dim a multiple of 32.
enum class KvElement { kF32, kBF16, kF16, kQ8_0 };

struct PagedDecodeArgs {
  const float* q = nullptr;  // [rows, q_heads, head_dim] float32, contiguous
  float* out = nullptr;      // [rows, q_heads, head_dim] float32, contiguous
  // The pools of one layer: [num_blocks, kv_heads, block_size, head_dim] contiguous, elements of `element`;
  // for kQ8_0 [num_blocks, kv_heads, block_size, kv_q8_row_bytes(head_dim)] bytes.
  const void* keys = nullptr;
  const void* values = nullptr;
  KvElement element = KvElement::kF32;
  // q_heads a multiple of kv_heads (query head h reads KV head h / (q_heads / kv_heads), as Hugging Face's
  // repeat_kv); head_dim a multiple of 8 up to 512; block_size >= 1.
  int64_t rows = 0, q_heads = 0, kv_heads = 0, head_dim = 0, block_size = 0;
  // [rows, table_stride] int64: block b of row r holds its positions [b * block_size, (b + 1) * block_size).
  const int64_t* block_tables = nullptr;
  int64_t table_stride = 0;
  // [rows] int64: row r attends to its positions [max(0, lengths[r] - window), lengths[r]), or to all of
  // [0, lengths[r]) with window 0. A row with no positions gets zeros.
  const int64_t* lengths = nullptr;
  int64_t window = 0;
  float scale = 1.0f;  // applied to q . k (1 / sqrt(head_dim) for these models)
  // Room for the scores of one work item, kPagedScratchGroup * (the most keys a row attends to) floats; each
  // concurrent caller its own.
  float* scratch = nullptr;
};

// Query heads whose scores a work item holds at once (larger groups go this many at a time).
constexpr int64_t kPagedScratchGroup = 8;
// The floats of PagedDecodeArgs::scratch for rows of at most `keys` keys each.
inline int64_t paged_scratch_floats(int64_t keys) { return kPagedScratchGroup * (keys > 0 ? keys : 1); }

// Computes the work items [begin, end) of rows * kv_heads (item = row * kv_heads + kv_head): writes the
// q_heads / kv_heads output heads of each. Items are independent; any split over threads gives the same
// floats.
using PagedDecodeFn = void (*)(const PagedDecodeArgs& args, int64_t begin, int64_t end);
// The kernel for `level`, or the best one below it that exists.
PagedDecodeFn paged_decode_function(SimdLevel level);

namespace kernels {
// The kernels behind paged_decode_function, one per instruction set (paged_attention_<isa>.cpp, each the loop
// of paged_attention_impl.h). Results differ between them only in float32 rounding (summation order).
void paged_decode_scalar(const PagedDecodeArgs& args, int64_t begin, int64_t end);
void paged_decode_avx2(const PagedDecodeArgs& args, int64_t begin, int64_t end);
void paged_decode_avx512(const PagedDecodeArgs& args, int64_t begin, int64_t end);
}  // namespace kernels

}  // namespace torchllm

#include "model/paged_decode_attention.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "model/kernels/kv_q8_0.h"
#include "model/kernels/paged_attention.h"
#include "model/kv_quantization.h"
#include "torchllm/error.h"

namespace torchllm {
namespace {

bool supported_dtype(at::ScalarType dtype) {
  return dtype == at::kFloat || dtype == at::kBFloat16 || dtype == at::kHalf;
}

// The pools' element type: q8_0 rows for uint8 pools, else q's (= the pools') dtype.
KvElement element_of(at::ScalarType dtype) {
  if (dtype == at::kByte) return KvElement::kQ8_0;
  if (dtype == at::kBFloat16) return KvElement::kBF16;
  if (dtype == at::kHalf) return KvElement::kF16;
  return KvElement::kF32;
}

// Shapes and dtypes come from the model and the cache, so a mismatch is a programming error.
void check_shapes(const at::Tensor& q, const at::Tensor& key_pool, const at::Tensor& value_pool,
                  const at::Tensor& block_tables, const at::Tensor& lengths) {
  auto fail = [](const std::string& what) { throw Error::internal("paged_decode_attention: " + what); };
  if (!paged_decode_attention_applies(q) || q.dim() != 3) {
    fail(
        "wants q [rows, q_heads, head_dim] on the CPU in float32/bfloat16/float16, head_dim a multiple of 8 "
        "up to " +
        std::to_string(kPagedDecodeMaxHeadDim));
  }
  const bool q8 = holds_q8_rows(key_pool);
  const at::ScalarType pool_dtype = q8 ? at::kByte : q.scalar_type();
  if (key_pool.dim() != 4 || key_pool.sizes() != value_pool.sizes() || !key_pool.is_contiguous() ||
      !value_pool.is_contiguous() || key_pool.scalar_type() != pool_dtype ||
      value_pool.scalar_type() != pool_dtype || !key_pool.is_cpu() || !value_pool.is_cpu()) {
    fail(
        "wants contiguous key and value pools [num_blocks, kv_heads, block_size, head_dim] in q's dtype, or "
        "uint8 q8_0 rows [num_blocks, kv_heads, block_size, kv_q8_row_bytes(head_dim)]");
  }
  const int64_t rows = q.size(0), q_heads = q.size(1), head_dim = q.size(2), kv_heads = key_pool.size(1);
  if (q8 && !kv_q8_fits(head_dim)) {
    fail("q8_0 pools want head_dim a multiple of 32, not " + std::to_string(head_dim));
  }
  const int64_t row_size = q8 ? kv_q8_row_bytes(head_dim) : head_dim;
  if (key_pool.size(3) != row_size || kv_heads < 1 || q_heads % kv_heads != 0 || key_pool.size(2) < 1) {
    fail("the pools' head_dim or KV heads do not fit q");
  }
  if (block_tables.dim() != 2 || block_tables.size(0) != rows || block_tables.scalar_type() != at::kLong ||
      lengths.dim() != 1 || lengths.size(0) != rows || lengths.scalar_type() != at::kLong ||
      !block_tables.is_cpu() || !lengths.is_cpu()) {
    fail("wants block_tables [rows, max_blocks] and lengths [rows], int64 on the CPU");
  }
}

// The kernel trusts every block index it reads: one out of range would read outside the pool. Blocks wholly
// before a row's window are never read (a cache may have freed them).
void check_tables(const int64_t* tables, int64_t stride, const int64_t* lengths, int64_t rows,
                  int64_t block_size, int64_t num_blocks, int64_t window) {
  for (int64_t r = 0; r < rows; ++r) {
    if (lengths[r] < 0 || lengths[r] > stride * block_size) {
      throw Error::internal("paged_decode_attention: row " + std::to_string(r) + " has length " +
                            std::to_string(lengths[r]) + ", beyond its block table");
    }
    const int64_t first = window > 0 ? std::max<int64_t>(0, lengths[r] - window) : 0;
    for (int64_t b = first / block_size; b * block_size < lengths[r]; ++b) {
      const int64_t block = tables[r * stride + b];
      if (block < 0 || block >= num_blocks) {
        throw Error::internal("paged_decode_attention: row " + std::to_string(r) + " names block " +
                              std::to_string(block) + " of " + std::to_string(num_blocks));
      }
    }
  }
}

}  // namespace

bool paged_decode_attention_applies(const at::Tensor& q) {
  return q.defined() && q.is_cpu() && supported_dtype(q.scalar_type()) && q.dim() == 3 && q.size(2) > 0 &&
         q.size(2) % 8 == 0 && q.size(2) <= kPagedDecodeMaxHeadDim;
}

at::Tensor paged_decode_attention(const at::Tensor& q, const at::Tensor& key_pool,
                                  const at::Tensor& value_pool, const at::Tensor& block_tables,
                                  const at::Tensor& lengths, int64_t window) {
  check_shapes(q, key_pool, value_pool, block_tables, lengths);
  const int64_t rows = q.size(0), q_heads = q.size(1), head_dim = q.size(2);
  const int64_t kv_heads = key_pool.size(1), block_size = key_pool.size(2);
  const at::Tensor q32 = q.to(at::kFloat).contiguous();  // [rows, q_heads, head_dim]
  const at::Tensor tables = block_tables.contiguous();   // [rows, max_blocks]
  const at::Tensor lens = lengths.contiguous();          // [rows]
  check_tables(tables.data_ptr<int64_t>(), tables.size(1), lens.data_ptr<int64_t>(), rows, block_size,
               key_pool.size(0), window);
  at::Tensor out = at::empty({rows, q_heads, head_dim}, q32.options());  // [rows, q_heads, head_dim] float32

  PagedDecodeArgs args;
  args.q = q32.data_ptr<float>();
  args.out = out.data_ptr<float>();
  args.keys = key_pool.data_ptr();
  args.values = value_pool.data_ptr();
  args.element = element_of(key_pool.scalar_type());
  args.rows = rows;
  args.q_heads = q_heads;
  args.kv_heads = kv_heads;
  args.head_dim = head_dim;
  args.block_size = block_size;
  args.block_tables = tables.data_ptr<int64_t>();
  args.table_stride = tables.size(1);
  args.lengths = lens.data_ptr<int64_t>();
  args.window = window;
  args.scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(head_dim)));

  // One item (a row's KV head with its query heads) reads length x head_dim keys and values: at a decode's
  // lengths, hundreds of KB, so even a single row's 8 KV heads are worth splitting over the threads (grain
  // 1; ATen's OpenMP loop gives each thread one contiguous range of items).
  const PagedDecodeFn kernel = paged_decode_function(cpu_simd_level());
  const int64_t* row_lengths = lens.data_ptr<int64_t>();
  const int64_t longest = rows == 0 ? 0 : *std::max_element(row_lengths, row_lengths + rows);
  at::parallel_for(0, rows * kv_heads, 1, [&](int64_t begin, int64_t end) {
    std::vector<float> scratch(static_cast<size_t>(paged_scratch_floats(longest)));  // this thread's scores
    PagedDecodeArgs mine = args;
    mine.scratch = scratch.data();
    kernel(mine, begin, end);
  });
  return q.scalar_type() == at::kFloat ? out : out.to(q.scalar_type());
}

}  // namespace torchllm

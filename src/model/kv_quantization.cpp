#include "model/kv_quantization.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <string>

#include "model/kernels/kv_q8_0.h"
#include "torchllm/error.h"

namespace torchllm {
namespace {

// Rows per thread at least: a row is a few hundred bytes.
constexpr int64_t kRowGrain = 64;

}  // namespace

bool holds_q8_rows(const at::Tensor& pool) { return pool.defined() && pool.scalar_type() == at::kByte; }

at::Tensor quantize_kv_rows(const at::Tensor& rows) {
  const int64_t head_dim = rows.size(-1);
  if (!rows.is_cpu() || !kv_q8_fits(head_dim)) {
    throw Error::internal("quantize_kv_rows wants CPU rows of a multiple of 32 elements, not " +
                          std::to_string(head_dim));
  }
  const at::Tensor x = rows.to(at::kFloat).contiguous();  // [n, head_dim] as float32
  const int64_t n = x.numel() / head_dim, row_bytes = kv_q8_row_bytes(head_dim);
  std::vector<int64_t> shape = rows.sizes().vec();
  shape.back() = row_bytes;
  at::Tensor out = at::empty(shape, rows.options().dtype(at::kByte));  // [..., row_bytes]
  const float* src = x.data_ptr<float>();
  uint8_t* dst = out.data_ptr<uint8_t>();
  at::parallel_for(0, n, kRowGrain, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r)
      quantize_kv_row_q8(src + r * head_dim, head_dim, dst + r * row_bytes);
  });
  return out;
}

at::Tensor dequantize_kv_rows(const at::Tensor& rows, at::ScalarType dtype) {
  const int64_t row_bytes = rows.size(-1), head_dim = kv_q8_head_dim(row_bytes);
  if (!holds_q8_rows(rows) || !rows.is_cpu() || !kv_q8_fits(head_dim) ||
      kv_q8_row_bytes(head_dim) != row_bytes) {
    throw Error::internal("dequantize_kv_rows wants CPU uint8 q8_0 rows, not rows of " +
                          std::to_string(row_bytes) + " bytes");
  }
  const at::Tensor bytes = rows.contiguous();
  const int64_t n = bytes.numel() / row_bytes;
  std::vector<int64_t> shape = rows.sizes().vec();
  shape.back() = head_dim;
  at::Tensor out = at::empty(shape, rows.options().dtype(at::kFloat));  // [..., head_dim] float32
  const uint8_t* src = bytes.data_ptr<uint8_t>();
  float* dst = out.data_ptr<float>();
  at::parallel_for(0, n, kRowGrain, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r)
      dequantize_kv_row_q8(src + r * row_bytes, head_dim, dst + r * head_dim);
  });
  return dtype == at::kFloat ? out : out.to(dtype);
}

at::Tensor readable_kv(const at::Tensor& rows, at::ScalarType dtype) {
  return holds_q8_rows(rows) ? dequantize_kv_rows(rows, dtype) : rows;
}

}  // namespace torchllm

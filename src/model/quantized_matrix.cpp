#include "model/quantized_matrix.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <map>
#include <string>

#include "model/kernels/block_dot.h"
#include "torchllm/error.h"

namespace torchllm {
namespace {

// Each thread's slice of output rows costs this many dot products at least (row dot products are ~0.1 us).
constexpr int64_t kRowGrain = 64;

int64_t row_bytes(const QuantizedMatrix::Part& part, int64_t columns) {
  return quantized_row_bytes(part.type, columns);
}

}  // namespace

QuantizedMatrix::QuantizedMatrix(int64_t columns, std::vector<Part> parts, std::shared_ptr<const void> owner)
    : columns_(columns), parts_(std::move(parts)), owner_(std::move(owner)) {
  for (const Part& part : parts_) {
    if (!has_block_dot(part.type) || columns % block_elements(part.type) != 0) {
      throw Error::invalid_argument("a quantized matrix part of ggml type " +
                                    std::to_string(static_cast<uint32_t>(part.type)) +
                                    " cannot hold rows of " + std::to_string(columns) + " elements");
    }
    if (!part.output_rows.empty() && static_cast<int64_t>(part.output_rows.size()) != part.rows) {
      throw Error::invalid_argument("a quantized matrix part's row order has the wrong length");
    }
    part_start_.push_back(rows_);
    rows_ += part.rows;
  }
}

uint64_t QuantizedMatrix::bytes() const {
  uint64_t total = 0;
  for (const Part& part : parts_) total += static_cast<uint64_t>(part.rows * row_bytes(part, columns_));
  return total;
}

at::Tensor QuantizedMatrix::multiply(const at::Tensor& x) const {
  if (!x.is_cpu() || x.dim() != 2 || x.size(1) != columns_) {
    throw Error::invalid_argument("a quantized matrix multiplies CPU activations [tokens, " +
                                  std::to_string(columns_) + "]");
  }
  if (x.size(0) <= kDotProductMaxTokens) return multiply_by_dot_products(x);
  return at::linear(x, dequantized(x.scalar_type()));
}

at::Tensor QuantizedMatrix::multiply_by_dot_products(const at::Tensor& x) const {
  const int64_t tokens = x.size(0);
  const at::Tensor xf = x.to(at::kFloat).contiguous();  // [tokens, columns]
  // Each activation format the parts read, quantized once for every token.
  std::map<GgmlType, std::vector<uint8_t>> activations;
  for (const Part& part : parts_) {
    const GgmlType format = activation_type(part.type);
    if (activations.count(format)) continue;
    const int64_t bytes = quantized_row_bytes(format, columns_);
    std::vector<uint8_t>& rows = activations[format];
    rows.resize(static_cast<size_t>(tokens * bytes));
    for (int64_t t = 0; t < tokens; ++t) {
      quantize_activation(format, xf.data_ptr<float>() + t * columns_, rows.data() + t * bytes, columns_);
    }
  }
  // [rows, tokens]: each weight row writes its tokens' outputs side by side (written [tokens, rows], a
  // wide lm_head would touch one page per token for every row).
  at::Tensor out = at::empty({rows_, tokens}, at::kFloat);
  float* out_data = out.data_ptr<float>();
  const SimdLevel level = cpu_simd_level();
  at::parallel_for(0, rows_, kRowGrain, [&](int64_t begin, int64_t end) {
    for (size_t p = 0; p < parts_.size(); ++p) {
      const Part& part = parts_[p];
      const int64_t first = std::max(begin, part_start_[p]);
      const int64_t last = std::min(end, part_start_[p] + part.rows);
      if (first >= last) continue;
      const BlockDotFn dot = block_dot_function(part.type, level);
      const int64_t w_bytes = row_bytes(part, columns_);
      const GgmlType format = activation_type(part.type);
      const uint8_t* act = activations.at(format).data();
      const int64_t a_bytes = quantized_row_bytes(format, columns_);
      for (int64_t r = first - part_start_[p]; r < last - part_start_[p]; ++r) {
        const uint8_t* w = part.data + r * w_bytes;
        const int64_t o = part_start_[p] + (part.output_rows.empty() ? r : part.output_rows[r]);
        for (int64_t t = 0; t < tokens; ++t) out_data[o * tokens + t] = dot(w, act + t * a_bytes, columns_);
      }
    }
  });
  return out.t().to(x.scalar_type()).contiguous();  // [tokens, rows]
}

at::Tensor QuantizedMatrix::dequantized(c10::ScalarType dtype) const {
  if (dtype != at::kFloat && dtype != at::kBFloat16 && dtype != at::kHalf) {
    throw Error::invalid_argument("quantized weights dequantize to float32, bf16 or fp16 only");
  }
  at::Tensor out = at::empty({rows_, columns_}, dtype);  // [rows, columns]
  at::parallel_for(0, rows_, kRowGrain, [&](int64_t begin, int64_t end) {
    std::vector<float> row(static_cast<size_t>(columns_));
    for (size_t p = 0; p < parts_.size(); ++p) {
      const Part& part = parts_[p];
      const int64_t first = std::max(begin, part_start_[p]);
      const int64_t last = std::min(end, part_start_[p] + part.rows);
      const int64_t w_bytes = row_bytes(part, columns_);
      for (int64_t r = first - part_start_[p]; r < last - part_start_[p]; ++r) {
        const int64_t o = part_start_[p] + (part.output_rows.empty() ? r : part.output_rows[r]);
        const uint8_t* w = part.data + r * w_bytes;
        if (dtype == at::kFloat) {
          dequantize(static_cast<uint32_t>(part.type), w, out.data_ptr<float>() + o * columns_, columns_);
          continue;
        }
        dequantize(static_cast<uint32_t>(part.type), w, row.data(), columns_);
        if (dtype == at::kBFloat16) {
          c10::BFloat16* dst = out.data_ptr<c10::BFloat16>() + o * columns_;
          for (int64_t i = 0; i < columns_; ++i) dst[i] = c10::BFloat16(row[i]);
        } else {
          c10::Half* dst = out.data_ptr<c10::Half>() + o * columns_;
          for (int64_t i = 0; i < columns_; ++i) dst[i] = c10::Half(row[i]);
        }
      }
    }
  });
  return out;
}

at::Tensor QuantizedMatrix::lookup(const at::Tensor& ids, c10::ScalarType dtype) const {
  const at::Tensor cpu_ids = ids.to(at::kCPU, at::kLong).contiguous();  // [n]
  const int64_t n = cpu_ids.numel();
  at::Tensor out = at::empty({n, columns_}, at::kFloat);  // [n, columns]
  const int64_t* id = cpu_ids.data_ptr<int64_t>();
  for (int64_t i = 0; i < n; ++i) {
    if (id[i] < 0 || id[i] >= rows_)
      throw Error::invalid_argument("row " + std::to_string(id[i]) + " is out of range");
    // Output row id[i]: find its part and stored row.
    size_t p = parts_.size() - 1;
    while (part_start_[p] > id[i]) --p;
    const Part& part = parts_[p];
    int64_t stored = id[i] - part_start_[p];
    if (!part.output_rows.empty()) {
      stored = std::find(part.output_rows.begin(), part.output_rows.end(), stored) - part.output_rows.begin();
    }
    dequantize(static_cast<uint32_t>(part.type), part.data + stored * row_bytes(part, columns_),
               out.data_ptr<float>() + i * columns_, columns_);
  }
  return out.to(ids.device()).to(dtype);
}

}  // namespace torchllm

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
    part_row_bytes_.push_back(quantized_row_bytes(part.type, columns));
    rows_ += part.rows;
  }
}

template <typename F>
void QuantizedMatrix::for_each_row(int64_t begin, int64_t end, F&& f) const {
  for (size_t p = 0; p < parts_.size(); ++p) {
    const Part& part = parts_[p];
    const int64_t first = std::max(begin, part_start_[p]) - part_start_[p];
    const int64_t last = std::min(end, part_start_[p] + part.rows) - part_start_[p];
    for (int64_t r = first; r < last; ++r) {
      f(p, part.data + r * part_row_bytes_[p],
        part_start_[p] + (part.output_rows.empty() ? r : part.output_rows[r]));
    }
  }
}

uint64_t QuantizedMatrix::bytes() const {
  uint64_t total = 0;
  for (size_t p = 0; p < parts_.size(); ++p)
    total += static_cast<uint64_t>(parts_[p].rows * part_row_bytes_[p]);
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
  // Each part's kernel and the activations it reads.
  std::vector<BlockDotFn> dots;
  std::vector<const uint8_t*> part_activations;
  std::vector<int64_t> activation_bytes;
  for (const Part& part : parts_) {
    dots.push_back(block_dot_function(part.type, cpu_simd_level()));
    part_activations.push_back(activations.at(activation_type(part.type)).data());
    activation_bytes.push_back(quantized_row_bytes(activation_type(part.type), columns_));
  }
  at::parallel_for(0, rows_, kRowGrain, [&](int64_t begin, int64_t end) {
    for_each_row(begin, end, [&](size_t p, const uint8_t* w, int64_t o) {
      const uint8_t* act = part_activations[p];
      for (int64_t t = 0; t < tokens; ++t) {
        out_data[o * tokens + t] = dots[p](w, act + t * activation_bytes[p], columns_);
      }
    });
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
    for_each_row(begin, end, [&](size_t p, const uint8_t* w, int64_t o) {
      const auto type = static_cast<uint32_t>(parts_[p].type);
      if (dtype == at::kFloat) {
        dequantize(type, w, out.data_ptr<float>() + o * columns_, columns_);
        return;
      }
      dequantize(type, w, row.data(), columns_);
      if (dtype == at::kBFloat16) {
        c10::BFloat16* dst = out.data_ptr<c10::BFloat16>() + o * columns_;
        for (int64_t i = 0; i < columns_; ++i) dst[i] = c10::BFloat16(row[i]);
      } else {
        c10::Half* dst = out.data_ptr<c10::Half>() + o * columns_;
        for (int64_t i = 0; i < columns_; ++i) dst[i] = c10::Half(row[i]);
      }
    });
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
    dequantize(static_cast<uint32_t>(part.type), part.data + stored * part_row_bytes_[p],
               out.data_ptr<float>() + i * columns_, columns_);
  }
  return out.to(ids.device()).to(dtype);
}

}  // namespace torchllm

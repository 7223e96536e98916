#include "model/quantized_matrix.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <c10/util/BFloat16.h>
#include <c10/util/Half.h>

#include <algorithm>
#include <string>
#include <type_traits>
#include <vector>

#include "model/kernels/amx_support.h"
#include "model/kernels/bf16_bits.h"
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
    part_dot_.push_back(block_dot_function(part.type, cpu_simd_level()));
    part_dot_many_.push_back(block_dot_many_function(part.type, cpu_simd_level()));
    part_dot_rows_.push_back(block_dot_rows_function(part.type, cpu_simd_level()));
    const GgmlType format = activation_type(part.type);
    const auto known = std::find(formats_.begin(), formats_.end(), format);
    if (known != formats_.end()) {
      part_activation_.push_back(format_offset_[known - formats_.begin()]);
      continue;
    }
    formats_.push_back(format);
    format_offset_.push_back(activation_bytes_);
    part_activation_.push_back(activation_bytes_);
    activation_bytes_ += quantized_row_bytes(format, columns);
  }
  repack_row_groups();
}

void QuantizedMatrix::repack_row_groups() {
  const SimdLevel level = cpu_simd_level();
  std::vector<int64_t> offset(parts_.size(), -1);
  int64_t total = 0;
  holds_all_rows_ = true;
  prefill_by_dot_products_ = true;
  for (size_t p = 0; p < parts_.size(); ++p) {
    const Part& part = parts_[p];
    const int64_t groups = has_row_groups(part.type, level, columns_) ? part.rows / kGroupRows : 0;
    part_grouped_rows_.push_back(groups * kGroupRows);
    holds_all_rows_ = holds_all_rows_ && groups * kGroupRows == part.rows;
    // Q8_0's and Q4_0's row groups serve decode; a prompt multiplies faster with their weights dequantized
    // (Qwen3-0.6B Q8_0 512-token prefill, 2-core Xeon: 345 tok/s by its row-group kernel, 672 through
    // at::linear).
    prefill_by_dot_products_ =
        prefill_by_dot_products_ &&
        (part.type == GgmlType::kQ4_K || part.type == GgmlType::kQ5_K || part.type == GgmlType::kQ6_K);
    if (groups == 0) continue;
    offset[p] = total;
    total += groups * row_group_bytes(part.type, columns_);
  }
  part_groups_.assign(parts_.size(), nullptr);
  part_group_dot_.assign(parts_.size(), nullptr);
  if (total == 0) return;
  row_groups_ = at::empty({total}, at::kByte);
  uint8_t* base = row_groups_.data_ptr<uint8_t>();
  for (size_t p = 0; p < parts_.size(); ++p) {
    if (offset[p] < 0) continue;
    const Part& part = parts_[p];
    const int64_t group_bytes = row_group_bytes(part.type, columns_);
    const int64_t row_bytes = part_row_bytes_[p];
    uint8_t* groups = base + offset[p];
    at::parallel_for(0, part_grouped_rows_[p] / kGroupRows, 16, [&](int64_t begin, int64_t end) {
      for (int64_t g = begin; g < end; ++g) {
        repack_x16(part.type, part.data + g * kGroupRows * row_bytes, row_bytes, columns_,
                   groups + g * group_bytes);
      }
    });
    part_groups_[p] = groups;
    part_group_dot_[p] = row_group_dot_function(part.type, level);
  }
  if (holds_all_rows_) {
    // Nothing reads the parts' own rows again: let their owner go (a quantized-at-load buffer is freed).
    for (Part& part : parts_) part.data = nullptr;
    owner_.reset();
  }
}

const uint8_t* QuantizedMatrix::stored_row(size_t p, int64_t r, std::vector<uint8_t>& buffer) const {
  if (r >= part_grouped_rows_[p]) return parts_[p].data + r * part_row_bytes_[p];
  buffer.resize(static_cast<size_t>(part_row_bytes_[p]));
  const int64_t group_bytes = row_group_bytes(parts_[p].type, columns_);
  unpack_row_x16(parts_[p].type, part_groups_[p] + r / kGroupRows * group_bytes, r % kGroupRows, columns_,
                 buffer.data());
  return buffer.data();
}

template <typename F>
void QuantizedMatrix::for_each_run(int64_t begin, int64_t end, F&& f) const {
  for (size_t p = 0; p < parts_.size(); ++p) {
    const int64_t first = std::max(begin, part_start_[p]) - part_start_[p];
    const int64_t last = std::min(end, part_start_[p] + parts_[p].rows) - part_start_[p];
    if (first < last) f(p, first, last - first);
  }
}

template <typename F>
void QuantizedMatrix::for_each_row(int64_t begin, int64_t end, F&& f) const {
  thread_local std::vector<uint8_t> buffer;
  for_each_run(begin, end, [&](size_t p, int64_t first, int64_t count) {
    for (int64_t r = first; r < first + count; ++r) f(p, stored_row(p, r, buffer), output_row(p, r));
  });
}

uint64_t QuantizedMatrix::bytes() const {
  uint64_t total = static_cast<uint64_t>(row_groups_.defined() ? row_groups_.numel() : 0);
  for (size_t p = 0; p < parts_.size(); ++p)
    total += static_cast<uint64_t>((parts_[p].rows - part_grouped_rows_[p]) * part_row_bytes_[p]);
  return total;
}

bool QuantizedMatrix::multiplies_by_dot_products(int64_t tokens, c10::ScalarType dtype) const {
  // Every row in K-quant row groups: their kernels for every token count (a 512-token Qwen3-0.6B Q4_K_M
  // prefill ran at 602-614 tok/s so, at 489 through the dequantized weights, on a Zen 5). Except for bf16
  // where the CPU has AMX, whose tiles libtorch's bf16 GEMM (oneDNN) uses: on the 2-core Xeon, 512-token
  // prefills ran at 399-421 tok/s by the kernels and 530-615 through the dequantized weights (Qwen3-0.6B
  // Q5_K_M; Q4_K_M 444-464 and 556-606; 65 with oneDNN kept off AMX and AVX512_BF16).
  if (tokens <= kDotProductMaxTokens) return true;
  return holds_all_rows_ && prefill_by_dot_products_ && !(dtype == at::kBFloat16 && amx_available());
}

at::Tensor QuantizedMatrix::multiply(const at::Tensor& x) const {
  if (!x.is_cpu() || x.dim() != 2 || x.size(1) != columns_) {
    throw Error::invalid_argument("a quantized matrix multiplies CPU activations [tokens, " +
                                  std::to_string(columns_) + "]");
  }
  if (multiplies_by_dot_products(x.size(0), x.scalar_type())) return multiply_by_dot_products(x);
  return at::linear(x, dequantized(x.scalar_type()));
}

void QuantizedMatrix::quantize_activations(const at::Tensor& x, uint8_t* dst) const {
  const int64_t tokens = x.size(0);
  const auto quantize_row = [&](int64_t t, const float* row) {
    for (size_t f = 0; f < formats_.size(); ++f)
      quantize_activation(formats_[f], row, dst + t * activation_bytes_ + format_offset_[f], columns_);
  };
  const c10::ScalarType dtype = x.scalar_type();
  if (dtype == at::kFloat && x.is_contiguous()) {
    for (int64_t t = 0; t < tokens; ++t) quantize_row(t, x.data_ptr<float>() + t * columns_);
    return;
  }
  if ((dtype == at::kBFloat16 || dtype == at::kHalf) && x.stride(1) == 1) {
    // Each row widened on the way (exact); the tokens split over the threads (serial, this was ~2% of a
    // 16-token decode step with the other thread idle).
    at::parallel_for(0, tokens, 1, [&](int64_t begin, int64_t end) {
      thread_local std::vector<float> row;
      row.resize(static_cast<size_t>(columns_));
      for (int64_t t = begin; t < end; ++t) {
        if (dtype == at::kBFloat16) {
          const c10::BFloat16* src = x.data_ptr<c10::BFloat16>() + t * x.stride(0);
          for (int64_t i = 0; i < columns_; ++i) row[i] = static_cast<float>(src[i]);
        } else {
          const c10::Half* src = x.data_ptr<c10::Half>() + t * x.stride(0);
          for (int64_t i = 0; i < columns_; ++i) row[i] = static_cast<float>(src[i]);
        }
        quantize_row(t, row.data());
      }
    });
    return;
  }
  const at::Tensor xf = x.to(at::kFloat).contiguous();  // [tokens, columns]
  for (int64_t t = 0; t < tokens; ++t) quantize_row(t, xf.data_ptr<float>() + t * columns_);
}

namespace {

// Writes each output row's floats into [tokens, rows] of T (the float rounds as .to() would round it).
template <typename T>
void store(T* out, int64_t rows, int64_t row, const float* values, int64_t tokens) {
  for (int64_t t = 0; t < tokens; ++t) {
    if constexpr (std::is_same_v<T, c10::BFloat16>) {
      reinterpret_cast<uint16_t*>(out)[t * rows + row] = float_to_bf16_bits(values[t]);
    } else {
      out[t * rows + row] = T(values[t]);
    }
  }
}

}  // namespace

template <typename T>
void QuantizedMatrix::multiply_row_groups(size_t p, int64_t first, int64_t count, const uint8_t* act,
                                          int64_t tokens, T* dst) const {
  // Two groups (32 rows) against up to 32 tokens per call (the next 32 tokens find the groups in L2):
  // values[t * rows + j] is row 16g + j, token t0 + t.
  constexpr int64_t kRunGroups = 2;
  float values[kDotProductMaxTokens * kRunGroups * kGroupRows];
  const int64_t group_bytes = row_group_bytes(parts_[p].type, columns_);
  const int64_t end_group =
      std::min((first + count + kGroupRows - 1) / kGroupRows, part_grouped_rows_[p] / kGroupRows);
  for (int64_t g = (first + kGroupRows - 1) / kGroupRows; g < end_group; g += kRunGroups) {
    const int64_t groups = std::min(kRunGroups, end_group - g);
    const int64_t rows = groups * kGroupRows;
    for (int64_t t0 = 0; t0 < tokens; t0 += kDotProductMaxTokens) {
      const int64_t block = std::min(kDotProductMaxTokens, tokens - t0);
      part_group_dot_[p](part_groups_[p] + g * group_bytes, groups,
                         act + t0 * activation_bytes_ + part_activation_[p], activation_bytes_, block,
                         columns_, values, rows);
      for (int64_t t = 0; t < block; ++t) {
        const float* v = values + t * rows;
        T* out = dst + (t0 + t) * rows_;
        if (!parts_[p].output_rows.empty()) {
          for (int64_t j = 0; j < rows; ++j) store(out, 0, output_row(p, g * kGroupRows + j), v + j, 1);
          continue;
        }
        out += output_row(p, g * kGroupRows);
        if constexpr (std::is_same_v<T, c10::BFloat16>) {
          auto* bits = reinterpret_cast<uint16_t*>(out);
          for (int64_t j = 0; j < rows; ++j) bits[j] = float_to_bf16_bits(v[j]);
        } else {
          for (int64_t j = 0; j < rows; ++j) out[j] = T(v[j]);
        }
      }
    }
  }
}

at::Tensor QuantizedMatrix::multiply_by_dot_products(const at::Tensor& x) const {
  const int64_t tokens = x.size(0);
  // Every activation format the parts read, quantized once for every token (reused across calls: a decode
  // step makes a few per layer).
  thread_local std::vector<uint8_t> activations;
  activations.resize(static_cast<size_t>(tokens * activation_bytes_));
  quantize_activations(x, activations.data());
  const uint8_t* act = activations.data();
  const c10::ScalarType dtype = x.scalar_type();
  const bool direct = dtype == at::kFloat || dtype == at::kBFloat16 || dtype == at::kHalf;
  at::Tensor out = at::empty({tokens, rows_}, direct ? dtype : at::kFloat);  // [tokens, rows]
  const auto run = [&](auto* dst) {
    at::parallel_for(0, rows_, kRowGrain, [&](int64_t begin, int64_t end) {
      float values[kDotProductMaxTokens];
      // Rows [first, first + count) of part p in the ggml layout.
      const auto ggml_rows = [&](size_t p, int64_t first, int64_t count) {
        const int64_t row_bytes = part_row_bytes_[p];
        if (tokens > 1) {
          for (int64_t r = first; r < first + count; ++r) {
            part_dot_many_[p](parts_[p].data + r * row_bytes, act + part_activation_[p], activation_bytes_,
                              tokens, columns_, values);
            store(dst, rows_, output_row(p, r), values, tokens);
          }
          return;
        }
        // One token: the single-token kernels (~10% faster than the several-token ones), several rows at a
        // time where the type has a kernel for that.
        const uint8_t* a = act + part_activation_[p];
        for (int64_t r = first; r < first + count; r += kDotProductMaxTokens) {
          const int64_t rows = std::min(kDotProductMaxTokens, first + count - r);
          const uint8_t* w = parts_[p].data + r * row_bytes;
          if (part_dot_rows_[p]) {
            part_dot_rows_[p](w, row_bytes, a, rows, columns_, values);
          } else {
            for (int64_t i = 0; i < rows; ++i) values[i] = part_dot_[p](w + i * row_bytes, a, columns_);
          }
          for (int64_t i = 0; i < rows; ++i) store(dst, rows_, output_row(p, r + i), values + i, 1);
        }
      };
      for_each_run(begin, end, [&](size_t p, int64_t first, int64_t count) {
        if (!part_groups_[p]) return ggml_rows(p, first, count);
        multiply_row_groups(p, first, count, act, tokens, dst);
        const int64_t tail = std::max(first, part_grouped_rows_[p]);
        if (tail < first + count) ggml_rows(p, tail, first + count - tail);
      });
    });
  };
  if (out.scalar_type() == at::kFloat) {
    run(out.data_ptr<float>());
  } else if (out.scalar_type() == at::kBFloat16) {
    run(out.data_ptr<c10::BFloat16>());
  } else {
    run(out.data_ptr<c10::Half>());
  }
  return direct ? out : out.to(dtype);
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
    thread_local std::vector<uint8_t> buffer;
    dequantize(static_cast<uint32_t>(part.type), stored_row(p, stored, buffer),
               out.data_ptr<float>() + i * columns_, columns_);
  }
  return out.to(ids.device()).to(dtype);
}

}  // namespace torchllm

#pragma once

#include <ATen/Tensor.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "model/kernels/block_dot.h"
#include "model/kernels/row_groups.h"
#include "model/quant/dequantize.h"

namespace torchllm {

// A weight matrix [rows, columns] kept in ggml blocks, as parts stacked along the rows (q, k and v; gate
// and up), each with its own block type and its rows where they already are (a GGUF mapping, which `owner`
// keeps alive): nothing is copied. A part may put its stored rows into other output positions (llama.cpp's
// converter interleaved each q/k head's rows; the forward pass wants Hugging Face's order).
//
// Where this CPU has a row-group kernel for a part's type (Q4_K, Q5_K, Q6_K, Q8_0 and Q4_0 with AVX-512
// VNNI, row_groups.h), the part's rows are repacked once at construction into groups of 16 rows, which
// decode reads, and prefill too for the K types (the kernels keep 16 rows in a vector's lanes); the rows past
// the last whole group stay where they are.
class QuantizedMatrix {
 public:
  struct Part {
    GgmlType type;
    int64_t rows = 0;
    const uint8_t* data = nullptr;     // rows * row_bytes, row-major
    std::vector<int64_t> output_rows;  // empty, or the output row (within the part) of each stored row
  };

  QuantizedMatrix(int64_t columns, std::vector<Part> parts, std::shared_ptr<const void> owner);

  int64_t rows() const { return rows_; }
  int64_t columns() const { return columns_; }
  uint64_t bytes() const;
  // Whether every row was repacked into row groups: the parts' own data is then never read again (its pages
  // can be released).
  bool holds_all_rows() const { return holds_all_rows_; }
  // Whether multiply() runs `tokens` activations of `dtype` through the block dot products (else through the
  // dequantized weights).
  bool multiplies_by_dot_products(int64_t tokens, c10::ScalarType dtype) const;
  const std::vector<Part>& parts() const { return parts_; }

  // x [tokens, columns] (float, bf16 or fp16, CPU) @ this^T -> [tokens, rows] in x's dtype. A few tokens
  // (decode), or more when multiplies_by_dot_products() says so, run the block dot products on the activation
  // quantized once per token and format; the others multiply with the dequantized weights in x's dtype.
  at::Tensor multiply(const at::Tensor& x) const;

  // Rows `ids` [n] dequantized to `dtype`: [n, columns] (an embedding lookup).
  at::Tensor lookup(const at::Tensor& ids, c10::ScalarType dtype) const;

  // The whole matrix dequantized to `dtype`: [rows, columns].
  at::Tensor dequantized(c10::ScalarType dtype) const;

  // Token counts up to this take the block dot products.
  static constexpr int64_t kDotProductMaxTokens = 32;

 private:
  at::Tensor multiply_by_dot_products(const at::Tensor& x) const;
  // Quantizes x's rows into every activation format the parts read: token t's formats lie side by side
  // from dst + t * activation_bytes_.
  void quantize_activations(const at::Tensor& x, uint8_t* dst) const;
  // Calls f(part index, first stored row, count) for each part's stored rows behind rows [begin, end): the
  // rows of a part lie part_row_bytes_ apart.
  template <typename F>
  void for_each_run(int64_t begin, int64_t end, F&& f) const;
  // Calls f(part index, stored row's ggml bytes, output row) for every row in [begin, end) (a row in a row
  // group is unpacked into a thread-local buffer first).
  template <typename F>
  void for_each_row(int64_t begin, int64_t end, F&& f) const;
  // Part p's stored row r as ggml blocks: in the part's data, or unpacked from its row group into `buffer`.
  const uint8_t* stored_row(size_t p, int64_t r, std::vector<uint8_t>& buffer) const;
  // Repacks each part that has a row-group kernel at this CPU's level into part_groups_.
  void repack_row_groups();
  // The row-group parts' rows [first, first + count) against the tokens: the groups that start in the range.
  template <typename T>
  void multiply_row_groups(size_t p, int64_t first, int64_t count, const uint8_t* act, int64_t tokens,
                           T* dst) const;
  // The output row of part p's stored row r.
  int64_t output_row(size_t p, int64_t r) const {
    return part_start_[p] + (parts_[p].output_rows.empty() ? r : parts_[p].output_rows[r]);
  }

  int64_t columns_;
  int64_t rows_ = 0;
  std::vector<Part> parts_;
  std::vector<int64_t> part_start_;      // first output row of each part
  std::vector<int64_t> part_row_bytes_;  // bytes of one stored row of each part
  std::vector<BlockDotFn> part_dot_;     // each part's kernels at this CPU's SIMD level: one token, several
  std::vector<BlockDotManyFn> part_dot_many_;
  std::vector<BlockDotRowsFn> part_dot_rows_;  // one token, several rows; nullptr: row by row
  std::vector<RowGroupDotFn> part_group_dot_;  // row-group kernel; nullptr: the part is not in row groups
  std::vector<const uint8_t*> part_groups_;    // the part's row groups (in row_groups_), or nullptr
  std::vector<int64_t> part_grouped_rows_;     // rows of the part in its row groups (a multiple of 16)
  at::Tensor row_groups_;                      // [bytes] uint8: every part's row groups
  bool holds_all_rows_ = false;
  bool prefill_by_dot_products_ = false;  // many tokens too take the row-group kernels (K-quant parts only)
  std::vector<int64_t> part_activation_;  // offset of each part's activation format in a token's activations
  std::vector<GgmlType> formats_;         // the distinct activation formats, at offsets format_offset_
  std::vector<int64_t> format_offset_;
  int64_t activation_bytes_ = 0;  // one token's activations in every format
  std::shared_ptr<const void> owner_;
};

}  // namespace torchllm

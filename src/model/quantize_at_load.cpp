#include "model/quantize_at_load.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <memory>
#include <vector>

#include "model/kernels/block_dot.h"
#include "model/quant/quantize_blocks.h"
#include "torchllm/error.h"

namespace torchllm {
namespace {

constexpr GgmlType kAtLoadTypes[] = {GgmlType::kQ8_0, GgmlType::kQ4_0, GgmlType::kQ4_1, GgmlType::kQ5_0,
                                     GgmlType::kQ5_1, GgmlType::kQ4_K, GgmlType::kQ5_K, GgmlType::kQ6_K};

// Blocks of `weight` [rows, columns] in `type`, owned by the matrix.
std::shared_ptr<const QuantizedMatrix> quantize_matrix(const at::Tensor& weight, GgmlType requested) {
  const int64_t rows = weight.size(0), columns = weight.size(1);
  const GgmlType type = quantize_type_for_rows(requested, columns);
  const int64_t row_bytes = quantized_bytes(type, columns);
  auto blocks = std::make_shared<std::vector<uint8_t>>(static_cast<size_t>(rows * row_bytes));
  const at::Tensor source = weight.contiguous();
  at::parallel_for(0, rows, 16, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const at::Tensor row = source[r].to(at::kFloat).contiguous();  // [columns]
      quantize_row(type, row.data_ptr<float>(), blocks->data() + r * row_bytes, columns);
    }
  });
  QuantizedMatrix::Part part;
  part.type = type;
  part.rows = rows;
  part.data = blocks->data();
  return std::make_shared<QuantizedMatrix>(columns, std::vector<QuantizedMatrix::Part>{part}, blocks);
}

void quantize(Linear& linear, GgmlType type) {
  if (!linear.weight.defined()) return;
  linear.blocks = quantize_matrix(linear.weight, type);
  linear.weight = at::Tensor();
}

}  // namespace

GgmlType quantize_type_for_rows(GgmlType requested, int64_t columns) {
  if (columns % block_elements(requested) == 0) return requested;
  const GgmlType fallback = requested == GgmlType::kQ4_K   ? GgmlType::kQ5_0
                            : requested == GgmlType::kQ5_K ? GgmlType::kQ5_1
                            : requested == GgmlType::kQ6_K ? GgmlType::kQ8_0
                                                           : requested;
  if (columns % block_elements(fallback) != 0) {
    throw Error::invalid_argument("rows of " + std::to_string(columns) +
                                  " elements cannot be quantized to whole 32-element blocks");
  }
  return fallback;
}

std::string quantize_at_load_types() {
  std::string out;
  for (const GgmlType t : kAtLoadTypes) out += std::string(out.empty() ? "" : ", ") + quantize_type_name(t);
  return out;
}

GgmlType quantize_at_load_type(const std::string& name) {
  GgmlType type = GgmlType::kF32;
  try {
    type = quantize_type_from_name(name);
  } catch (const Error&) {
  }
  for (const GgmlType t : kAtLoadTypes) {
    if (t == type) return type;
  }
  throw Error::invalid_argument("--quantize " + name + ": not a type torchllm computes on (use one of " +
                                quantize_at_load_types() + ")");
}

void quantize_projections(ModelWeightSet& set, GgmlType type) {
  for (LayerWeights& layer : set.layers) {
    for (Linear* linear : {&layer.qkv, &layer.o, &layer.gate_up, &layer.down}) quantize(*linear, type);
  }
  const bool tied = set.lm_head.weight.defined() && set.lm_head.weight.is_same(set.embed);
  if (set.embed.defined()) {
    set.embed_blocks = quantize_matrix(set.embed, type);
    set.embed = at::Tensor();
  }
  if (tied) {  // one matrix for both, as a GGUF without output.weight has
    set.lm_head.blocks = set.embed_blocks;
    set.lm_head.weight = at::Tensor();
  }
  quantize(set.lm_head, type);
}

}  // namespace torchllm

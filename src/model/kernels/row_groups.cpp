#include "model/kernels/row_groups.h"

#include <vector>

#include "model/kernels/block_dot.h"
#include "torchllm/error.h"

namespace torchllm {

bool has_row_groups(GgmlType type, SimdLevel level, int64_t n) {
  return level >= SimdLevel::kAvx512 &&
         (type == GgmlType::kQ4_K || type == GgmlType::kQ5_K || type == GgmlType::kQ6_K ||
          ((type == GgmlType::kQ8_0 || type == GgmlType::kQ4_0) && n % 64 == 0));
}

int64_t row_group_bytes(GgmlType type, int64_t n) {
  const int64_t blocks = n / kQK_K;
  switch (type) {
    case GgmlType::kQ4_K:
      return blocks * static_cast<int64_t>(sizeof(BlockQ4_Kx16));
    case GgmlType::kQ5_K:
      return blocks * static_cast<int64_t>(sizeof(BlockQ5_Kx16));
    case GgmlType::kQ6_K:
      return blocks * static_cast<int64_t>(sizeof(BlockQ6_Kx16));
    case GgmlType::kQ8_0:
      return n / (2 * kQK) * static_cast<int64_t>(sizeof(BlockQ8_0x16));
    case GgmlType::kQ4_0:
      return n / (2 * kQK) * static_cast<int64_t>(sizeof(BlockQ4_0x16));
    default:
      throw Error::invalid_argument("only Q4_K, Q5_K, Q6_K, Q8_0 and Q4_0 weights have a row-group layout");
  }
}

void repack_x16(GgmlType type, const uint8_t* rows, int64_t row_bytes, int64_t n, uint8_t* group) {
  if (type == GgmlType::kQ4_K) return kernels::repack_q4_k_x16(rows, row_bytes, n, group);
  if (type == GgmlType::kQ5_K) return kernels::repack_q5_k_x16(rows, row_bytes, n, group);
  if (type == GgmlType::kQ6_K) return kernels::repack_q6_k_x16(rows, row_bytes, n, group);
  if (type == GgmlType::kQ8_0) return kernels::repack_q8_0_x16(rows, row_bytes, n, group);
  if (type == GgmlType::kQ4_0) return kernels::repack_q4_0_x16(rows, row_bytes, n, group);
  throw Error::invalid_argument("only Q4_K, Q5_K, Q6_K, Q8_0 and Q4_0 weights have a row-group layout");
}

void unpack_row_x16(GgmlType type, const uint8_t* group, int64_t r, int64_t n, uint8_t* row) {
  if (type == GgmlType::kQ4_K) return kernels::unpack_row_q4_k_x16(group, r, n, row);
  if (type == GgmlType::kQ5_K) return kernels::unpack_row_q5_k_x16(group, r, n, row);
  if (type == GgmlType::kQ6_K) return kernels::unpack_row_q6_k_x16(group, r, n, row);
  if (type == GgmlType::kQ8_0) return kernels::unpack_row_q8_0_x16(group, r, n, row);
  if (type == GgmlType::kQ4_0) return kernels::unpack_row_q4_0_x16(group, r, n, row);
  throw Error::invalid_argument("only Q4_K, Q5_K, Q6_K, Q8_0 and Q4_0 weights have a row-group layout");
}

RowGroupDotFn row_group_dot_function(GgmlType type, SimdLevel level) {
  if (level < SimdLevel::kAvx512) return nullptr;
  switch (type) {
    case GgmlType::kQ4_K:
      return kernels::row_group_dot_q4_k_avx512;
    case GgmlType::kQ5_K:
      return kernels::row_group_dot_q5_k_avx512;
    case GgmlType::kQ6_K:
      return kernels::row_group_dot_q6_k_avx512;
    case GgmlType::kQ8_0:
      return kernels::row_group_dot_q8_0_avx512;
    case GgmlType::kQ4_0:
      return kernels::row_group_dot_q4_0_avx512;
    default:
      return nullptr;
  }
}

void row_group_dot_scalar(GgmlType type, const uint8_t* groups, int64_t group_count,
                          const uint8_t* activations, int64_t activation_stride, int64_t tokens, int64_t n,
                          float* out, int64_t out_stride) {
  const BlockDotFn dot = block_dot_function(type, SimdLevel::kScalar);
  std::vector<uint8_t> row(static_cast<size_t>(quantized_row_bytes(type, n)));
  for (int64_t g = 0; g < group_count; ++g) {
    for (int64_t r = 0; r < kGroupRows; ++r) {
      unpack_row_x16(type, groups + g * row_group_bytes(type, n), r, n, row.data());
      for (int64_t t = 0; t < tokens; ++t)
        out[t * out_stride + g * kGroupRows + r] = dot(row.data(), activations + t * activation_stride, n);
    }
  }
}

}  // namespace torchllm

// Scalar references of the 32-element formats' dot products. Each block's integer sum is exact; its float
// term is (d_w * d_a) * sum, plus m_w * s_a for the formats with a minimum, added in LaneSum's order.

#include <cstring>

#include "model/kernels/block_dot.h"
#include "model/kernels/block_dot_kernels.h"
#include "model/kernels/block_layouts.h"
#include "model/quant/fp16.h"

namespace torchllm::kernels {
namespace {

// The high bit of element j (0..31) of a 5-bit block: bit j of qh.
int high_bit(const uint8_t* qh, int j) {
  uint32_t bits;
  std::memcpy(&bits, qh, sizeof bits);
  return static_cast<int>((bits >> j) & 1);
}

// Weight value j of a 32-element block, as the integer the dot product multiplies.
template <typename Block>
int nibble(const Block& b, int j) {
  return j < kQK / 2 ? (b.qs[j] & 0x0F) : (b.qs[j - kQK / 2] >> 4);
}

template <typename Block, typename Value>
float dot_blocks(const uint8_t* weight_row, const uint8_t* activation_row, int64_t n, Value value) {
  const auto* w = reinterpret_cast<const Block*>(weight_row);
  const auto* a = reinterpret_cast<const BlockQ8_0*>(activation_row);
  LaneSum sum;
  for (int64_t b = 0; b < n / kQK; ++b) {
    int isum = 0;
    for (int j = 0; j < kQK; ++j) isum += value(w[b], j) * a[b].qs[j];
    sum.add(b, (fp16_to_fp32(w[b].d) * fp16_to_fp32(a[b].d)) * static_cast<float>(isum));
  }
  return sum.total();
}

template <typename Block, typename Value>
float dot_blocks_with_min(const uint8_t* weight_row, const uint8_t* activation_row, int64_t n, Value value) {
  const auto* w = reinterpret_cast<const Block*>(weight_row);
  const auto* a = reinterpret_cast<const BlockQ8_1*>(activation_row);
  LaneSum sum;
  for (int64_t b = 0; b < n / kQK; ++b) {
    int isum = 0;
    for (int j = 0; j < kQK; ++j) isum += value(w[b], j) * a[b].qs[j];
    const float scaled = (fp16_to_fp32(w[b].d) * fp16_to_fp32(a[b].d)) * static_cast<float>(isum);
    sum.add(b, scaled + fp16_to_fp32(w[b].m) * fp16_to_fp32(a[b].s));
  }
  return sum.total();
}

}  // namespace

float dot_q8_0_scalar(const uint8_t* weight_row, const uint8_t* activation_row, int64_t n) {
  return dot_blocks<BlockQ8_0>(weight_row, activation_row, n,
                               [](const BlockQ8_0& b, int j) { return static_cast<int>(b.qs[j]); });
}

float dot_q4_0_scalar(const uint8_t* weight_row, const uint8_t* activation_row, int64_t n) {
  return dot_blocks<BlockQ4_0>(weight_row, activation_row, n,
                               [](const BlockQ4_0& b, int j) { return nibble(b, j) - 8; });
}

float dot_q5_0_scalar(const uint8_t* weight_row, const uint8_t* activation_row, int64_t n) {
  return dot_blocks<BlockQ5_0>(weight_row, activation_row, n, [](const BlockQ5_0& b, int j) {
    return (nibble(b, j) | (high_bit(b.qh, j) << 4)) - 16;
  });
}

float dot_q4_1_scalar(const uint8_t* weight_row, const uint8_t* activation_row, int64_t n) {
  return dot_blocks_with_min<BlockQ4_1>(weight_row, activation_row, n,
                                        [](const BlockQ4_1& b, int j) { return nibble(b, j); });
}

float dot_q5_1_scalar(const uint8_t* weight_row, const uint8_t* activation_row, int64_t n) {
  return dot_blocks_with_min<BlockQ5_1>(weight_row, activation_row, n, [](const BlockQ5_1& b, int j) {
    return nibble(b, j) | (high_bit(b.qh, j) << 4);
  });
}

}  // namespace torchllm::kernels

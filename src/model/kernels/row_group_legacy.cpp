// Q8_0 and Q4_0 rows repacked into row groups of 16 and back (row_groups.h). Portable: only byte moves. A
// pair of blocks holds each row's quants in 4-byte units (Q8_0's with their sign bits flipped) and its two
// fp16 scales.
#include <cstddef>
#include <cstring>
#include <type_traits>

#include "model/kernels/row_groups.h"

namespace torchllm::kernels {
namespace {

// Q8_0's quants + 128 in the group (dpbusd's unsigned operand); Q4_0's nibbles as they are.
template <typename Pair>
constexpr uint32_t kFlippedBits = std::is_same_v<Pair, BlockQ8_0x16> ? 0x80808080u : 0u;

template <typename Pair, typename Block>
void repack_pairs(const uint8_t* rows, int64_t row_bytes, int64_t n, uint8_t* group) {
  constexpr int kUnits = sizeof(Block::qs) / 4;  // 4-byte units of one block's quants
  auto* out = reinterpret_cast<Pair*>(group);
  for (int64_t b = 0; b < n / kQK; ++b) {
    Pair& pair = out[b / 2];
    const int k = static_cast<int>(b % 2);
    for (int64_t r = 0; r < kGroupRows; ++r) {
      Block block;
      std::memcpy(&block, rows + r * row_bytes + b * static_cast<int64_t>(sizeof(Block)), sizeof block);
      std::memcpy(&pair.d[k][r], &block.d, sizeof block.d);
      for (int i = 0; i < kUnits; ++i) {
        uint32_t quads;
        std::memcpy(&quads, block.qs + 4 * i, sizeof quads);
        quads ^= kFlippedBits<Pair>;
        std::memcpy(&pair.qs[k][i][4 * r], &quads, sizeof quads);
      }
    }
  }
}

// 4 quants at a time (a prompt dequantizes the whole matrix through this).
template <typename Pair, typename Block>
void unpack_pairs(const uint8_t* group, int64_t r, int64_t n, uint8_t* row) {
  constexpr int kUnits = sizeof(Block::qs) / 4;
  const auto* in = reinterpret_cast<const Pair*>(group);
  for (int64_t b = 0; b < n / kQK; ++b) {
    const Pair& pair = in[b / 2];
    const int k = static_cast<int>(b % 2);
    uint8_t* out = row + b * static_cast<int64_t>(sizeof(Block));
    std::memcpy(out + offsetof(Block, d), &pair.d[k][r], sizeof(uint16_t));
    for (int i = 0; i < kUnits; ++i) {
      uint32_t quads;
      std::memcpy(&quads, &pair.qs[k][i][4 * r], sizeof quads);
      quads ^= kFlippedBits<Pair>;
      std::memcpy(out + offsetof(Block, qs) + 4 * i, &quads, sizeof quads);
    }
  }
}

}  // namespace

void repack_q8_0_x16(const uint8_t* rows, int64_t row_bytes, int64_t n, uint8_t* group) {
  repack_pairs<BlockQ8_0x16, BlockQ8_0>(rows, row_bytes, n, group);
}
void unpack_row_q8_0_x16(const uint8_t* group, int64_t r, int64_t n, uint8_t* row) {
  unpack_pairs<BlockQ8_0x16, BlockQ8_0>(group, r, n, row);
}
void repack_q4_0_x16(const uint8_t* rows, int64_t row_bytes, int64_t n, uint8_t* group) {
  repack_pairs<BlockQ4_0x16, BlockQ4_0>(rows, row_bytes, n, group);
}
void unpack_row_q4_0_x16(const uint8_t* group, int64_t r, int64_t n, uint8_t* row) {
  unpack_pairs<BlockQ4_0x16, BlockQ4_0>(group, r, n, row);
}

}  // namespace torchllm::kernels

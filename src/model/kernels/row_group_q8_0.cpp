// Q8_0 rows repacked into row groups of 16 and back (row_groups.h). Portable: only byte moves.
#include <cstddef>
#include <cstring>

#include "model/kernels/row_groups.h"

namespace torchllm::kernels {
namespace {

// Row r's two blocks into the pair, each quant's sign bit flipped.
void repack_row(BlockQ8_0x16& pair, int64_t r, const BlockQ8_0 (&row)[2]) {
  for (int k = 0; k < 2; ++k) {
    for (int i = 0; i < 8; ++i) {
      for (int j = 0; j < 4; ++j)
        pair.qs[k][i][4 * r + j] = static_cast<uint8_t>(row[k].qs[4 * i + j] ^ 0x80);
    }
    std::memcpy(&pair.d[k][r], &row[k].d, sizeof row[k].d);
  }
}

constexpr int64_t kPairBytes = 2 * static_cast<int64_t>(sizeof(BlockQ8_0));

}  // namespace

void repack_q8_0_x16(const uint8_t* rows, int64_t row_bytes, int64_t n, uint8_t* group) {
  auto* out = reinterpret_cast<BlockQ8_0x16*>(group);
  for (int64_t u = 0; u < n / (2 * kQK); ++u) {
    for (int64_t r = 0; r < kGroupRows; ++r) {
      BlockQ8_0 blocks[2];
      std::memcpy(blocks, rows + r * row_bytes + u * kPairBytes, sizeof blocks);
      repack_row(out[u], r, blocks);
    }
  }
}

void unpack_row_q8_0_x16(const uint8_t* group, int64_t r, int64_t n, uint8_t* row) {
  // 4 quants at a time, their sign bits flipped back together (a prompt dequantizes the whole matrix).
  constexpr uint32_t kSignBits = 0x80808080u;
  const auto* in = reinterpret_cast<const BlockQ8_0x16*>(group);
  for (int64_t b = 0; b < n / kQK; ++b) {
    const BlockQ8_0x16& pair = in[b / 2];
    const int k = static_cast<int>(b % 2);
    uint8_t* out = row + b * static_cast<int64_t>(sizeof(BlockQ8_0));
    std::memcpy(out + offsetof(BlockQ8_0, d), &pair.d[k][r], sizeof(uint16_t));
    for (int i = 0; i < 8; ++i) {
      uint32_t quads;
      std::memcpy(&quads, &pair.qs[k][i][4 * r], sizeof quads);
      quads ^= kSignBits;
      std::memcpy(out + offsetof(BlockQ8_0, qs) + 4 * i, &quads, sizeof quads);
    }
  }
}

}  // namespace torchllm::kernels

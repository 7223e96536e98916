// Q6_K rows repacked into row groups of 16 and back (row_groups.h). Portable: only byte moves.
//
// Per super-block, ql and qh are transposed in 4-byte units: the 4 bytes of row r at ggml offset 4i (of ql's
// first or second 32 bytes of a half, or of qh's 32 bytes of a half) land at bytes 4r..4r+3 of vector [h][i].
#include <cstring>

#include "model/kernels/row_groups.h"

namespace torchllm::kernels {
namespace {

// Moves the 4-byte units of one row's super-block between the ggml block and its group; kToGroup picks
// the direction, so that repack and unpack share one map.
template <bool kToGroup>
void move_row(BlockQ6_Kx16& group, int64_t r, BlockQ6_K& row) {
  const auto move = [](uint8_t* group_bytes, uint8_t* row_bytes, size_t count) {
    if (kToGroup) {
      std::memcpy(group_bytes, row_bytes, count);
    } else {
      std::memcpy(row_bytes, group_bytes, count);
    }
  };
  for (int h = 0; h < 2; ++h) {
    for (int i = 0; i < 8; ++i) {
      move(group.ql_a[h][i] + 4 * r, row.ql + 64 * h + 4 * i, 4);
      move(group.ql_b[h][i] + 4 * r, row.ql + 64 * h + 32 + 4 * i, 4);
      move(group.qh[h][i] + 4 * r, row.qh + 32 * h + 4 * i, 4);
    }
  }
  for (int j = 0; j < 16; ++j) {
    move(reinterpret_cast<uint8_t*>(&group.scales[j][r]), reinterpret_cast<uint8_t*>(&row.scales[j]), 1);
  }
  move(reinterpret_cast<uint8_t*>(&group.d[r]), reinterpret_cast<uint8_t*>(&row.d), sizeof(uint16_t));
}

}  // namespace

void repack_q6_k_x16(const uint8_t* rows, int64_t row_bytes, int64_t n, uint8_t* group) {
  auto* out = reinterpret_cast<BlockQ6_Kx16*>(group);
  for (int64_t b = 0; b < n / kQK_K; ++b) {
    std::memset(out[b].pad, 0, sizeof out[b].pad);
    for (int64_t r = 0; r < kGroupRows; ++r) {
      BlockQ6_K block;
      std::memcpy(&block, rows + r * row_bytes + b * static_cast<int64_t>(sizeof(BlockQ6_K)), sizeof block);
      move_row<true>(out[b], r, block);
    }
  }
}

void unpack_row_q6_k_x16(const uint8_t* group, int64_t r, int64_t n, uint8_t* row) {
  for (int64_t b = 0; b < n / kQK_K; ++b) {
    BlockQ6_Kx16 in;
    std::memcpy(&in, group + b * static_cast<int64_t>(sizeof(BlockQ6_Kx16)), sizeof in);
    BlockQ6_K block;
    move_row<false>(in, r, block);
    std::memcpy(row + b * static_cast<int64_t>(sizeof(BlockQ6_K)), &block, sizeof block);
  }
}

}  // namespace torchllm::kernels

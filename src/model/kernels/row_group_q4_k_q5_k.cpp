// Q4_K and Q5_K rows repacked into row groups of 16 and back (row_groups.h). Portable: only byte moves.
#include <cstring>
#include <type_traits>

#include "model/kernels/row_groups.h"

namespace torchllm::kernels {
namespace {

template <typename Group, typename Block>
void repack(const uint8_t* rows, int64_t row_bytes, int64_t n, uint8_t* group) {
  const int64_t blocks = n / kQK_K;
  auto* out = reinterpret_cast<Group*>(group);
  for (int64_t r = 0; r < kGroupRows; ++r) {
    const auto* row = reinterpret_cast<const Block*>(rows + r * row_bytes);
    for (int64_t b = 0; b < blocks; ++b) {
      const Block& w = row[b];
      Group& x = out[b];
      std::memcpy(&x.d[r], &w.d, sizeof w.d);
      std::memcpy(&x.dmin[r], &w.dmin, sizeof w.dmin);
      // ggml's get_scale_min_k4: sub-blocks 0..3 in the low 6 bits of bytes 0..7, sub-blocks 4..7 in the
      // nibbles of bytes 8..11 with their top two bits in the top bits of bytes 0..7.
      const uint8_t* q = w.scales;
      for (int j = 0; j < 4; ++j) {
        x.scales[j][r] = q[j] & 63;
        x.mins[j][r] = q[j + 4] & 63;
        x.scales[j + 4][r] = static_cast<uint8_t>((q[j + 8] & 0xF) | ((q[j] >> 6) << 4));
        x.mins[j + 4][r] = static_cast<uint8_t>((q[j + 8] >> 4) | ((q[j + 4] >> 6) << 4));
      }
      for (int c = 0; c < 4; ++c) {
        for (int i = 0; i < 8; ++i) std::memcpy(&x.qs[c][i][4 * r], w.qs + 32 * c + 4 * i, 4);
      }
      if constexpr (std::is_same_v<Block, BlockQ5_K>) {
        for (int i = 0; i < 8; ++i) std::memcpy(&x.qh[i][4 * r], w.qh + 4 * i, 4);
      }
    }
  }
}

template <typename Group, typename Block>
void unpack_row(const uint8_t* group, int64_t r, int64_t n, uint8_t* row) {
  const int64_t blocks = n / kQK_K;
  const auto* in = reinterpret_cast<const Group*>(group);
  auto* out = reinterpret_cast<Block*>(row);
  for (int64_t b = 0; b < blocks; ++b) {
    const Group& x = in[b];
    Block& w = out[b];
    std::memcpy(&w.d, &x.d[r], sizeof w.d);
    std::memcpy(&w.dmin, &x.dmin[r], sizeof w.dmin);
    uint8_t* q = w.scales;
    for (int j = 0; j < 4; ++j) {
      const int scale_hi = x.scales[j + 4][r], min_hi = x.mins[j + 4][r];
      q[j] = static_cast<uint8_t>((x.scales[j][r] & 63) | ((scale_hi >> 4) << 6));
      q[j + 4] = static_cast<uint8_t>((x.mins[j][r] & 63) | ((min_hi >> 4) << 6));
      q[j + 8] = static_cast<uint8_t>((scale_hi & 0xF) | ((min_hi & 0xF) << 4));
    }
    for (int c = 0; c < 4; ++c) {
      for (int i = 0; i < 8; ++i) std::memcpy(w.qs + 32 * c + 4 * i, &x.qs[c][i][4 * r], 4);
    }
    if constexpr (std::is_same_v<Block, BlockQ5_K>) {
      for (int i = 0; i < 8; ++i) std::memcpy(w.qh + 4 * i, &x.qh[i][4 * r], 4);
    }
  }
}

}  // namespace

void repack_q4_k_x16(const uint8_t* rows, int64_t row_bytes, int64_t n, uint8_t* group) {
  repack<BlockQ4_Kx16, BlockQ4_K>(rows, row_bytes, n, group);
}
void unpack_row_q4_k_x16(const uint8_t* group, int64_t r, int64_t n, uint8_t* row) {
  unpack_row<BlockQ4_Kx16, BlockQ4_K>(group, r, n, row);
}
void repack_q5_k_x16(const uint8_t* rows, int64_t row_bytes, int64_t n, uint8_t* group) {
  repack<BlockQ5_Kx16, BlockQ5_K>(rows, row_bytes, n, group);
}
void unpack_row_q5_k_x16(const uint8_t* group, int64_t r, int64_t n, uint8_t* row) {
  unpack_row<BlockQ5_Kx16, BlockQ5_K>(group, r, n, row);
}

}  // namespace torchllm::kernels

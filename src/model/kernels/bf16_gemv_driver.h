#pragma once

// The loop shared by the bf16_gemv kernels, included by each ISA's file. Everything here has internal
// linkage (static, or an unnamed namespace), so each file keeps its own copy built for its instruction set
// (see bf16_gemv_kernels.h).
//
// A `Dot` supplies `kAccumulators` (how many sums it keeps in registers) and
// `template <int R, int N> static void block(const Bf16GemvArgs&, int64_t row0, const uint16_t* w,
// float (&sums)[R][N])`: the dot products of activation rows row0..row0+R-1 with the N weight rows at w.

#include <cstdint>
#include <cstring>

#include "model/kernels/bf16_gemv_kernels.h"

namespace torchllm::kernels {
namespace {

// Activation rows share each weight block in groups of at most this many (their sums fill the registers).
constexpr int kRowGroup = 8;
// Weight rows per outer step: all row groups go over these before the next ones, so for more than kRowGroup
// rows each weight row comes from memory once and from cache after that. 12 splits evenly into blocks of 1-4.
constexpr int64_t kWeightStep = 12;

inline float bf16_bits_to_float(uint16_t bits) {
  const uint32_t wide = static_cast<uint32_t>(bits) << 16;
  float value;
  std::memcpy(&value, &wide, sizeof(value));
  return value;
}

// Round to nearest even, as c10::BFloat16; a NaN stays a (quiet) NaN.
inline uint16_t float_to_bf16_bits(float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, sizeof(bits));
  if ((bits & 0x7fffffffu) > 0x7f800000u) return 0x7fc0;
  bits += 0x7fffu + ((bits >> 16) & 1u);
  return static_cast<uint16_t>(bits >> 16);
}

template <class Dot, int R, int N>
void emit_block(const Bf16GemvArgs& a, int64_t row0, int64_t o) {
  float sums[R][N];
  Dot::template block<R, N>(a, row0, a.weight + o * a.in, sums);
  for (int n = 0; n < N; ++n) {
    const float bias = a.bias ? bf16_bits_to_float(a.bias[o + n]) : 0.0f;
    for (int r = 0; r < R; ++r) a.y[(row0 + r) * a.out + o + n] = float_to_bf16_bits(sums[r][n] + bias);
  }
}

// n (<= kWeightStep) weight rows from o, against R activation rows from row0: as many weight rows at a time
// as the accumulators allow (several rows also means several memory streams in flight), up to 4.
template <class Dot, int R>
void emit_rows(const Bf16GemvArgs& a, int64_t row0, int64_t o, int64_t n) {
  constexpr int kBlock = Dot::kAccumulators / R >= 4 ? 4 : (Dot::kAccumulators / R >= 2 ? 2 : 1);
  int64_t done = 0;
  for (; done + kBlock <= n; done += kBlock) emit_block<Dot, R, kBlock>(a, row0, o + done);
  for (; done < n; ++done) emit_block<Dot, R, 1>(a, row0, o + done);
}

template <class Dot>
void gemv_range(const Bf16GemvArgs& a, int64_t out_begin, int64_t out_end) {
  for (int64_t o = out_begin; o < out_end; o += kWeightStep) {
    const int64_t n = out_end - o < kWeightStep ? out_end - o : kWeightStep;
    for (int64_t row0 = 0; row0 < a.rows; row0 += kRowGroup) {
      switch (a.rows - row0 < kRowGroup ? a.rows - row0 : kRowGroup) {
        case 1:
          emit_rows<Dot, 1>(a, row0, o, n);
          break;
        case 2:
          emit_rows<Dot, 2>(a, row0, o, n);
          break;
        case 3:
          emit_rows<Dot, 3>(a, row0, o, n);
          break;
        case 4:
          emit_rows<Dot, 4>(a, row0, o, n);
          break;
        case 5:
          emit_rows<Dot, 5>(a, row0, o, n);
          break;
        case 6:
          emit_rows<Dot, 6>(a, row0, o, n);
          break;
        case 7:
          emit_rows<Dot, 7>(a, row0, o, n);
          break;
        default:
          emit_rows<Dot, 8>(a, row0, o, n);
          break;
      }
    }
  }
}

}  // namespace
}  // namespace torchllm::kernels

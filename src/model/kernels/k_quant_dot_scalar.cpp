// Scalar references of the K-quant dot products (Q4_K, Q5_K, Q6_K weights against Q8_K activations).
//
// Each super-block's products are summed in exact int32 arithmetic; only the block's scales are float, and
// the float term is formed with a fixed sequence of single-precision operations (this library compiles with
// -ffp-contract=off) so that the SIMD kernels can reproduce it bit for bit. The element order follows
// dequantize.cpp, which is bit-exact with llama.cpp's dequantize_row_q*_K.

#include <cstdint>

#include "model/kernels/block_dot.h"
#include "model/kernels/block_dot_kernels.h"
#include "model/kernels/block_layouts.h"
#include "model/quant/fp16.h"

namespace torchllm::kernels {
namespace {

// The 8 six-bit scales and mins packed in 12 bytes (ggml's get_scale_min_k4).
struct ScalesMins {
  int32_t scale[8];
  int32_t min[8];
};

ScalesMins unpack_scales_mins(const uint8_t* q) {
  ScalesMins out;
  for (int j = 0; j < 4; ++j) {
    out.scale[j] = q[j] & 63;
    out.min[j] = q[j + 4] & 63;
  }
  for (int j = 4; j < 8; ++j) {
    out.scale[j] = (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4);
    out.min[j] = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
  }
  return out;
}

// Σ_j min_j * (sum of the activations of 32-element sub-block j), from the precomputed 16-element sums.
int32_t min_sum(const ScalesMins& sm, const int16_t* bsums) {
  int32_t total = 0;
  for (int j = 0; j < 8; ++j) total += sm.min[j] * (bsums[2 * j] + bsums[2 * j + 1]);
  return total;
}

// The float term both Q4_K and Q5_K blocks contribute: d_a*d*isum - d_a*dmin*imin, in this order.
float scaled_min_term(float d_a, uint16_t d, uint16_t dmin, int32_t isum, int32_t imin) {
  const float scale = d_a * fp16_to_fp32(d);
  const float min_scale = d_a * fp16_to_fp32(dmin);
  return scale * static_cast<float>(isum) - min_scale * static_cast<float>(imin);
}

// Σ_i q_i * a_i over one super-block of Q4_K: each 64-element chunk holds 32 bytes whose low nibbles are
// sub-block 2c and whose high nibbles are sub-block 2c+1.
int32_t q4_k_block_sum(const BlockQ4_K& w, const ScalesMins& sm, const int8_t* a) {
  int32_t total = 0;
  for (int c = 0; c < 4; ++c) {
    const uint8_t* q = w.qs + 32 * c;
    const int8_t* a_lo = a + 64 * c;
    const int8_t* a_hi = a_lo + 32;
    int32_t lo = 0, hi = 0;
    for (int l = 0; l < 32; ++l) {
      lo += (q[l] & 0xF) * a_lo[l];
      hi += (q[l] >> 4) * a_hi[l];
    }
    total += sm.scale[2 * c] * lo + sm.scale[2 * c + 1] * hi;
  }
  return total;
}

// As q4_k_block_sum, with the fifth bit of sub-block s's values in bit s of qh[l].
int32_t q5_k_block_sum(const BlockQ5_K& w, const ScalesMins& sm, const int8_t* a) {
  int32_t total = 0;
  for (int c = 0; c < 4; ++c) {
    const uint8_t* q = w.qs + 32 * c;
    const int8_t* a_lo = a + 64 * c;
    const int8_t* a_hi = a_lo + 32;
    const int shift_lo = 2 * c, shift_hi = 2 * c + 1;
    int32_t lo = 0, hi = 0;
    for (int l = 0; l < 32; ++l) {
      lo += ((q[l] & 0xF) | (((w.qh[l] >> shift_lo) & 1) << 4)) * a_lo[l];
      hi += ((q[l] >> 4) | (((w.qh[l] >> shift_hi) & 1) << 4)) * a_hi[l];
    }
    total += sm.scale[2 * c] * lo + sm.scale[2 * c + 1] * hi;
  }
  return total;
}

// Σ_j sc_j Σ_{i in j} (q_i - 32) a_i. Each 128-element half has 64 ql bytes and 32 qh bytes; its quarter k
// (32 elements) takes the low nibbles of ql[32 * (k & 1) + l] for k < 2 and the high nibbles for k >= 2, with
// bits 2k and 2k+1 of qh[l] on top.
int32_t q6_k_block_sum(const BlockQ6_K& w, const int8_t* a) {
  int32_t total = 0;
  for (int half = 0; half < 2; ++half) {
    const uint8_t* ql = w.ql + 64 * half;
    const uint8_t* qh = w.qh + 32 * half;
    for (int k = 0; k < 4; ++k) {
      const uint8_t* ql_k = ql + 32 * (k & 1);
      const int nibble_shift = k < 2 ? 0 : 4;
      const int8_t* a_k = a + 128 * half + 32 * k;
      for (int s = 0; s < 2; ++s) {  // the quarter's two 16-element sub-blocks
        int32_t sub = 0;
        for (int l = 16 * s; l < 16 * s + 16; ++l) {
          const int q = ((ql_k[l] >> nibble_shift) & 0xF) | (((qh[l] >> (2 * k)) & 3) << 4);
          sub += (q - 32) * a_k[l];
        }
        total += w.scales[8 * half + 2 * k + s] * sub;
      }
    }
  }
  return total;
}

}  // namespace

float dot_q4_k_scalar(const uint8_t* weight_row, const uint8_t* activation_row, int64_t n) {
  const auto* w = reinterpret_cast<const BlockQ4_K*>(weight_row);
  const auto* a = reinterpret_cast<const BlockQ8_K*>(activation_row);
  LaneSum sum;
  for (int64_t b = 0; b < n / kQK_K; ++b) {
    const ScalesMins sm = unpack_scales_mins(w[b].scales);
    const int32_t isum = q4_k_block_sum(w[b], sm, a[b].qs);
    sum.add(b, scaled_min_term(a[b].d, w[b].d, w[b].dmin, isum, min_sum(sm, a[b].bsums)));
  }
  return sum.total();
}

float dot_q5_k_scalar(const uint8_t* weight_row, const uint8_t* activation_row, int64_t n) {
  const auto* w = reinterpret_cast<const BlockQ5_K*>(weight_row);
  const auto* a = reinterpret_cast<const BlockQ8_K*>(activation_row);
  LaneSum sum;
  for (int64_t b = 0; b < n / kQK_K; ++b) {
    const ScalesMins sm = unpack_scales_mins(w[b].scales);
    const int32_t isum = q5_k_block_sum(w[b], sm, a[b].qs);
    sum.add(b, scaled_min_term(a[b].d, w[b].d, w[b].dmin, isum, min_sum(sm, a[b].bsums)));
  }
  return sum.total();
}

float dot_q6_k_scalar(const uint8_t* weight_row, const uint8_t* activation_row, int64_t n) {
  const auto* w = reinterpret_cast<const BlockQ6_K*>(weight_row);
  const auto* a = reinterpret_cast<const BlockQ8_K*>(activation_row);
  LaneSum sum;
  for (int64_t b = 0; b < n / kQK_K; ++b) {
    const float scale = a[b].d * fp16_to_fp32(w[b].d);
    sum.add(b, scale * static_cast<float>(q6_k_block_sum(w[b], a[b].qs)));
  }
  return sum.total();
}

}  // namespace torchllm::kernels

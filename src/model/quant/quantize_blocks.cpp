#include "model/quant/quantize_blocks.h"

#include <cctype>
#include <cfloat>
#include <cmath>
#include <cstring>

#include "model/quant/fp16.h"
#include "torchllm/error.h"

// The code below follows ggml-quants.c statement by statement where a float is computed: the integer
// promotions (an int times a float is a float product), the evaluation order of sums and the casts that
// truncate (a uint8_t taken before a MIN) are what make the bytes equal, so they are kept even where a
// cleaner formula would give nearly the same result.

namespace torchllm {
namespace {

constexpr int kQK = 32;                 // elements per block of the _0/_1 types
constexpr int kQK_K = 256;              // elements per super-block of the K types
constexpr float kGroupMaxEps = 1e-15f;  // GROUP_MAX_EPS: below it a group counts as all zeros

// The block geometry of each type is dequantize.h's (dequant_block_elements / dequant_block_bytes).
struct TypeInfo {
  GgmlType type;
  const char* name;  // ggml_type_name
};

constexpr TypeInfo kTypes[] = {
    {GgmlType::kF32, "f32"},   {GgmlType::kF16, "f16"},   {GgmlType::kBF16, "bf16"},
    {GgmlType::kQ8_0, "q8_0"}, {GgmlType::kQ4_0, "q4_0"}, {GgmlType::kQ4_1, "q4_1"},
    {GgmlType::kQ5_0, "q5_0"}, {GgmlType::kQ5_1, "q5_1"}, {GgmlType::kQ4_K, "q4_K"},
    {GgmlType::kQ5_K, "q5_K"}, {GgmlType::kQ6_K, "q6_K"},
};

const TypeInfo* find_type(GgmlType type) {
  for (const TypeInfo& t : kTypes) {
    if (t.type == type) return &t;
  }
  return nullptr;
}

const TypeInfo& require_type(GgmlType type) {
  const TypeInfo* t = find_type(type);
  if (!t) {
    throw Error::unsupported("cannot quantize to ggml type " + std::to_string(static_cast<uint32_t>(type)) +
                             " (supported: " + quantizable_types() + ")");
  }
  return *t;
}

void put_fp16(uint8_t* p, float f) {
  const uint16_t h = fp32_to_fp16(f);
  p[0] = static_cast<uint8_t>(h & 0xFF);
  p[1] = static_cast<uint8_t>(h >> 8);
}

void put_u32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}

// ggml's MIN/MAX macros: the argument order decides what a NaN turns into.
template <typename T>
T min_of(T a, T b) {
  return a < b ? a : b;
}
template <typename T>
T max_of(T a, T b) {
  return a > b ? a : b;
}

// nearest_int: round half to even through the float mantissa (valid for |x| <= 2^22, as in ggml).
int nearest_int(float fval) {
  const float val = fval + 12582912.f;
  int i;
  std::memcpy(&i, &val, sizeof i);
  return (i & 0x007fffff) - 0x00400000;
}

// A C float-to-small-integer cast as ggml's x86-64 build does it: truncate to int, keep the low bits.
int8_t to_int8(float f) { return static_cast<int8_t>(static_cast<int>(f)); }
uint8_t to_uint8(float f) { return static_cast<uint8_t>(static_cast<int>(f)); }

// ---- the 32-element types ---------------------------------------------------------------------------------

void q8_0(const float* x, uint8_t* y) {  // d, qs[32] (int8)
  float amax = 0.0f;
  for (int j = 0; j < kQK; ++j) amax = max_of(amax, std::fabs(x[j]));
  const float d = amax / ((1 << 7) - 1);
  const float id = d ? 1.0f / d : 0.0f;
  put_fp16(y, d);
  for (int j = 0; j < kQK; ++j) {
    const float x0 = x[j] * id;
    y[2 + j] = static_cast<uint8_t>(to_int8(std::round(x0)));
  }
}

// The signed types scale by the element of largest magnitude, keeping its sign, so that it maps exactly to
// the most negative level (-8 or -16) and the asymmetric range is used fully.
void q4_0(const float* x, uint8_t* y) {  // d, qs[16]
  float amax = 0.0f, max = 0.0f;
  for (int j = 0; j < kQK; ++j) {
    if (amax < std::fabs(x[j])) {
      amax = std::fabs(x[j]);
      max = x[j];
    }
  }
  const float d = max / -8;
  const float id = d ? 1.0f / d : 0.0f;
  put_fp16(y, d);
  for (int j = 0; j < kQK / 2; ++j) {
    const float x0 = x[j] * id;
    const float x1 = x[kQK / 2 + j] * id;
    const uint8_t xi0 = static_cast<uint8_t>(min_of<int>(15, to_int8(x0 + 8.5f)));
    const uint8_t xi1 = static_cast<uint8_t>(min_of<int>(15, to_int8(x1 + 8.5f)));
    y[2 + j] = static_cast<uint8_t>(xi0 | (xi1 << 4));
  }
}

void q4_1(const float* x, uint8_t* y) {  // d, m, qs[16]
  float min = FLT_MAX, max = -FLT_MAX;
  for (int j = 0; j < kQK; ++j) {
    if (x[j] < min) min = x[j];
    if (x[j] > max) max = x[j];
  }
  const float d = (max - min) / ((1 << 4) - 1);
  const float id = d ? 1.0f / d : 0.0f;
  put_fp16(y, d);
  put_fp16(y + 2, min);
  for (int j = 0; j < kQK / 2; ++j) {
    const float x0 = (x[j] - min) * id;
    const float x1 = (x[kQK / 2 + j] - min) * id;
    const uint8_t xi0 = static_cast<uint8_t>(min_of<int>(15, to_int8(x0 + 0.5f)));
    const uint8_t xi1 = static_cast<uint8_t>(min_of<int>(15, to_int8(x1 + 0.5f)));
    y[4 + j] = static_cast<uint8_t>(xi0 | (xi1 << 4));
  }
}

void q5_0(const float* x, uint8_t* y) {  // d, qh[4], qs[16]
  float amax = 0.0f, max = 0.0f;
  for (int j = 0; j < kQK; ++j) {
    if (amax < std::fabs(x[j])) {
      amax = std::fabs(x[j]);
      max = x[j];
    }
  }
  const float d = max / -16;
  const float id = d ? 1.0f / d : 0.0f;
  put_fp16(y, d);
  uint32_t qh = 0;
  for (int j = 0; j < kQK / 2; ++j) {
    const float x0 = x[j] * id;
    const float x1 = x[kQK / 2 + j] * id;
    const uint8_t xi0 = static_cast<uint8_t>(min_of<int>(31, to_int8(x0 + 16.5f)));
    const uint8_t xi1 = static_cast<uint8_t>(min_of<int>(31, to_int8(x1 + 16.5f)));
    y[6 + j] = static_cast<uint8_t>((xi0 & 0x0F) | ((xi1 & 0x0F) << 4));
    qh |= ((xi0 & 0x10u) >> 4) << (j + 0);
    qh |= ((xi1 & 0x10u) >> 4) << (j + kQK / 2);
  }
  put_u32(y + 2, qh);
}

void q5_1(const float* x, uint8_t* y) {  // d, m, qh[4], qs[16]
  float min = FLT_MAX, max = -FLT_MAX;
  for (int j = 0; j < kQK; ++j) {
    if (x[j] < min) min = x[j];
    if (x[j] > max) max = x[j];
  }
  const float d = (max - min) / ((1 << 5) - 1);
  const float id = d ? 1.0f / d : 0.0f;
  put_fp16(y, d);
  put_fp16(y + 2, min);
  uint32_t qh = 0;
  for (int j = 0; j < kQK / 2; ++j) {
    const float x0 = (x[j] - min) * id;
    const float x1 = (x[kQK / 2 + j] - min) * id;
    const uint8_t xi0 = to_uint8(x0 + 0.5f);  // ggml takes no MIN here: x0 <= 31 by construction
    const uint8_t xi1 = to_uint8(x1 + 0.5f);
    y[8 + j] = static_cast<uint8_t>((xi0 & 0x0F) | ((xi1 & 0x0F) << 4));
    qh |= ((xi0 & 0x10u) >> 4) << (j + 0);
    qh |= ((xi1 & 0x10u) >> 4) << (j + kQK / 2);
  }
  put_u32(y + 4, qh);
}

// ---- the K types: super-blocks of 256 with quantized sub-block scales -------------------------------------

// make_qx_quants with rmse_type 1 and no importance weights (the only way q6_K's reference calls it): the
// signed levels of `n` values in [-nmax, nmax), searching 19 scales near nmax/max for the least
// x²-weighted squared error. Returns the scale; L gets level + nmax.
float make_qx_quants(int n, int nmax, const float* x, int8_t* L) {
  float max = 0, amax = 0;
  for (int i = 0; i < n; ++i) {
    const float ax = std::fabs(x[i]);
    if (ax > amax) {
      amax = ax;
      max = x[i];
    }
  }
  if (amax < kGroupMaxEps) {
    for (int i = 0; i < n; ++i) L[i] = 0;
    return 0.f;
  }
  float iscale = -nmax / max;
  float sumlx = 0, suml2 = 0;
  for (int i = 0; i < n; ++i) {
    int l = nearest_int(iscale * x[i]);
    l = max_of(-nmax, min_of(nmax - 1, l));
    L[i] = static_cast<int8_t>(l + nmax);
    const float w = x[i] * x[i];
    sumlx += w * x[i] * l;
    suml2 += w * l * l;
  }
  float scale = suml2 ? sumlx / suml2 : 0.0f;
  float best = scale * sumlx;
  for (int is = -9; is <= 9; ++is) {
    if (is == 0) continue;
    iscale = -(nmax + 0.1f * is) / max;
    sumlx = suml2 = 0;
    for (int i = 0; i < n; ++i) {
      int l = nearest_int(iscale * x[i]);
      l = max_of(-nmax, min_of(nmax - 1, l));
      const float w = x[i] * x[i];
      sumlx += w * x[i] * l;
      suml2 += w * l * l;
    }
    if (suml2 > 0 && sumlx * sumlx > best * suml2) {
      for (int i = 0; i < n; ++i) {
        const int l = nearest_int(iscale * x[i]);
        L[i] = static_cast<int8_t>(nmax + max_of(-nmax, min_of(nmax - 1, l)));
      }
      scale = sumlx / suml2;
      best = scale * sumlx;
    }
  }
  return scale;
}

// make_qkx2_quants with use_mad false: levels in [0, nmax] for x ≈ scale·L - the_min, trying nstep+1 scales
// around nmax/(max-min) and keeping the least weighted squared error. Returns the scale.
float make_qkx2_quants(int n, int nmax, const float* x, const float* weights, uint8_t* L, float* the_min,
                       uint8_t* Laux, float rmin, float rdelta, int nstep) {
  float min = x[0];
  float max = x[0];
  float sum_w = weights[0];
  float sum_x = sum_w * x[0];
  for (int i = 1; i < n; ++i) {
    if (x[i] < min) min = x[i];
    if (x[i] > max) max = x[i];
    const float w = weights[i];
    sum_w += w;
    sum_x += w * x[i];
  }
  if (min > 0) min = 0;
  if (max == min) {
    for (int i = 0; i < n; ++i) L[i] = 0;
    *the_min = -min;
    return 0.f;
  }
  float iscale = nmax / (max - min);
  float scale = 1 / iscale;
  float best_error = 0;
  for (int i = 0; i < n; ++i) {
    const int l = nearest_int(iscale * (x[i] - min));
    L[i] = static_cast<uint8_t>(max_of(0, min_of(nmax, l)));
    float diff = scale * L[i] + min - x[i];
    diff = diff * diff;
    const float w = weights[i];
    best_error += w * diff;
  }
  if (nstep < 1) {
    *the_min = -min;
    return scale;
  }
  for (int is = 0; is <= nstep; ++is) {
    iscale = (rmin + rdelta * is + nmax) / (max - min);
    float sum_l = 0, sum_l2 = 0, sum_xl = 0;
    for (int i = 0; i < n; ++i) {
      int l = nearest_int(iscale * (x[i] - min));
      l = max_of(0, min_of(nmax, l));
      Laux[i] = static_cast<uint8_t>(l);
      const float w = weights[i];
      sum_l += w * l;
      sum_l2 += w * l * l;
      sum_xl += w * l * x[i];
    }
    const float D = sum_w * sum_l2 - sum_l * sum_l;
    if (D > 0) {
      float this_scale = (sum_w * sum_xl - sum_x * sum_l) / D;
      float this_min = (sum_l2 * sum_x - sum_l * sum_xl) / D;
      if (this_min > 0) {
        this_min = 0;
        this_scale = sum_xl / sum_l2;
      }
      float cur_error = 0;
      for (int i = 0; i < n; ++i) {
        float diff = this_scale * Laux[i] + this_min - x[i];
        diff = diff * diff;
        const float w = weights[i];
        cur_error += w * diff;
      }
      if (cur_error < best_error) {
        for (int i = 0; i < n; ++i) L[i] = Laux[i];
        best_error = cur_error;
        scale = this_scale;
        min = this_min;
      }
    }
  }
  *the_min = -min;
  return scale;
}

// The shared part of q4_K and q5_K: 8 sub-blocks of 32 with an asymmetric scale and min each, both quantized
// to 6 bits against the super-block's largest; then every element requantized against the 6-bit values so
// that the levels fit the scales a reader will actually see. Writes d, dmin and scales[12] at y; L gets the
// levels in [0, nmax].
void quantize_k_scales(const float* x, uint8_t* y, uint8_t* L, int nmax, float rmin, float rdelta,
                       int nstep) {
  uint8_t Laux[32];
  float weights[32];
  float mins[kQK_K / 32];
  float scales[kQK_K / 32];
  float max_scale = 0;  // the mins are subtracted, so the scales are never negative
  float max_min = 0;
  for (int j = 0; j < kQK_K / 32; ++j) {
    float sum_x2 = 0;
    for (int l = 0; l < 32; ++l) sum_x2 += x[32 * j + l] * x[32 * j + l];
    const float av_x = std::sqrt(sum_x2 / 32);
    for (int l = 0; l < 32; ++l) weights[l] = av_x + std::fabs(x[32 * j + l]);
    scales[j] =
        make_qkx2_quants(32, nmax, x + 32 * j, weights, L + 32 * j, &mins[j], Laux, rmin, rdelta, nstep);
    const float scale = scales[j];
    if (scale > max_scale) max_scale = scale;
    const float min = mins[j];
    if (min > max_min) max_min = min;
  }

  uint8_t* packed = y + 4;
  const float inv_scale = max_scale > 0 ? 63.f / max_scale : 0.f;
  const float inv_min = max_min > 0 ? 63.f / max_min : 0.f;
  for (int j = 0; j < kQK_K / 32; ++j) {
    // Truncated to uint8_t before the MIN, as ggml does.
    uint8_t ls = static_cast<uint8_t>(nearest_int(inv_scale * scales[j]));
    uint8_t lm = static_cast<uint8_t>(nearest_int(inv_min * mins[j]));
    ls = min_of<uint8_t>(63, ls);
    lm = min_of<uint8_t>(63, lm);
    if (j < 4) {
      packed[j] = ls;
      packed[j + 4] = lm;
    } else {
      packed[j + 4] = static_cast<uint8_t>((ls & 0xF) | ((lm & 0xF) << 4));
      packed[j - 4] |= static_cast<uint8_t>((ls >> 4) << 6);
      packed[j - 0] |= static_cast<uint8_t>((lm >> 4) << 6);
    }
  }
  put_fp16(y, max_scale / 63.f);
  put_fp16(y + 2, max_min / 63.f);

  const float d_all = read_fp16(y);
  const float dmin_all = read_fp16(y + 2);
  uint8_t sc, m;
  for (int j = 0; j < kQK_K / 32; ++j) {
    scale_min_k4(j, packed, &sc, &m);
    const float d = d_all * sc;
    if (!d) continue;  // the sub-block keeps make_qkx2_quants' levels
    const float dm = dmin_all * m;
    for (int ii = 0; ii < 32; ++ii) {
      int l = nearest_int((x[32 * j + ii] + dm) / d);
      l = max_of(0, min_of(nmax, l));
      L[32 * j + ii] = static_cast<uint8_t>(l);
    }
  }
}

void q4_k(const float* x, uint8_t* y) {  // d, dmin, scales[12], qs[128]
  uint8_t L[kQK_K];
  quantize_k_scales(x, y, L, 15, -1.f, 0.1f, 20);
  uint8_t* q = y + 16;
  for (int j = 0; j < kQK_K; j += 64) {
    for (int l = 0; l < 32; ++l) q[l] = static_cast<uint8_t>(L[j + l] | (L[j + l + 32] << 4));
    q += 32;
  }
}

void q5_k(const float* x, uint8_t* y) {  // d, dmin, scales[12], qh[32], qs[128]
  uint8_t L[kQK_K];
  quantize_k_scales(x, y, L, 31, -0.5f, 0.1f, 15);
  uint8_t* qh = y + 16;
  uint8_t* ql = y + 48;
  std::memset(qh, 0, kQK_K / 8);
  uint8_t m1 = 1, m2 = 2;
  for (int n = 0; n < kQK_K; n += 64) {
    for (int j = 0; j < 32; ++j) {
      int l1 = L[n + j];
      if (l1 > 15) {
        l1 -= 16;
        qh[j] |= m1;
      }
      int l2 = L[n + j + 32];
      if (l2 > 15) {
        l2 -= 16;
        qh[j] |= m2;
      }
      ql[j] = static_cast<uint8_t>(l1 | (l2 << 4));
    }
    m1 = static_cast<uint8_t>(m1 << 2);
    m2 = static_cast<uint8_t>(m2 << 2);
    ql += 32;
  }
}

void q6_k(const float* x, uint8_t* y) {  // ql[128], qh[64], scales[16] (int8), d
  int8_t L[kQK_K];
  float scales[kQK_K / 16];
  float max_scale = 0, max_abs_scale = 0;
  for (int ib = 0; ib < kQK_K / 16; ++ib) {
    const float scale = make_qx_quants(16, 32, x + 16 * ib, L + 16 * ib);
    scales[ib] = scale;
    const float abs_scale = std::fabs(scale);
    if (abs_scale > max_abs_scale) {
      max_abs_scale = abs_scale;
      max_scale = scale;
    }
  }
  if (max_abs_scale < kGroupMaxEps) {
    std::memset(y, 0, 210);
    put_fp16(y + 208, 0.f);
    return;
  }

  int8_t* sc = reinterpret_cast<int8_t*>(y + 192);
  const float iscale = -128.f / max_scale;
  put_fp16(y + 208, 1 / iscale);
  for (int ib = 0; ib < kQK_K / 16; ++ib)
    sc[ib] = static_cast<int8_t>(min_of(127, nearest_int(iscale * scales[ib])));

  const float d_all = read_fp16(y + 208);
  for (int j = 0; j < kQK_K / 16; ++j) {
    const float d = d_all * sc[j];
    if (!d) continue;  // the sub-block keeps make_qx_quants' levels
    for (int ii = 0; ii < 16; ++ii) {
      int l = nearest_int(x[16 * j + ii] / d);
      l = max_of(-32, min_of(31, l));
      L[16 * j + ii] = static_cast<int8_t>(l + 32);
    }
  }

  uint8_t* ql = y;
  uint8_t* qh = y + 128;
  for (int j = 0; j < kQK_K; j += 128) {
    for (int l = 0; l < 32; ++l) {
      const uint8_t q1 = L[j + l + 0] & 0xF;
      const uint8_t q2 = L[j + l + 32] & 0xF;
      const uint8_t q3 = L[j + l + 64] & 0xF;
      const uint8_t q4 = L[j + l + 96] & 0xF;
      ql[l + 0] = static_cast<uint8_t>(q1 | (q3 << 4));
      ql[l + 32] = static_cast<uint8_t>(q2 | (q4 << 4));
      qh[l] = static_cast<uint8_t>((L[j + l] >> 4) | ((L[j + l + 32] >> 4) << 2) |
                                   ((L[j + l + 64] >> 4) << 4) | ((L[j + l + 96] >> 4) << 6));
    }
    ql += 64;
    qh += 32;
  }
}

using BlockQuantizer = void (*)(const float*, uint8_t*);

BlockQuantizer block_quantizer(GgmlType type) {
  switch (type) {
    case GgmlType::kQ8_0:
      return q8_0;
    case GgmlType::kQ4_0:
      return q4_0;
    case GgmlType::kQ4_1:
      return q4_1;
    case GgmlType::kQ5_0:
      return q5_0;
    case GgmlType::kQ5_1:
      return q5_1;
    case GgmlType::kQ4_K:
      return q4_k;
    case GgmlType::kQ5_K:
      return q5_k;
    case GgmlType::kQ6_K:
      return q6_k;
    default:
      return nullptr;
  }
}

// ggml_compute_fp32_to_bf16: round to nearest even, NaN to a quiet NaN.
uint16_t fp32_to_bf16(float f) {
  const uint32_t u = fp32_to_bits(f);
  if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((u >> 16) | 64);
  return static_cast<uint16_t>((u + (0x7fffu + ((u >> 16) & 1))) >> 16);
}

}  // namespace

bool can_quantize(GgmlType type) { return find_type(type) != nullptr; }

std::string quantizable_types() {
  std::string out;
  for (const TypeInfo& t : kTypes) out += std::string(out.empty() ? "" : ", ") + t.name;
  return out;
}

GgmlType quantize_type_from_name(const std::string& name) {
  std::string lower;
  for (char c : name) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (const TypeInfo& t : kTypes) {
    std::string candidate;
    for (const char* p = t.name; *p; ++p)
      candidate += static_cast<char>(std::tolower(static_cast<unsigned char>(*p)));
    if (candidate == lower) return t.type;
  }
  throw Error::invalid_argument("unknown quantization type '" + name +
                                "' (choose one of: " + quantizable_types() + ")");
}

const char* quantize_type_name(GgmlType type) { return require_type(type).name; }

int64_t quantized_bytes(GgmlType type, int64_t n) {
  const TypeInfo& t = require_type(type);
  const int64_t block_elements = dequant_block_elements(static_cast<uint32_t>(type));
  if (n < 0 || n % block_elements != 0) {
    throw Error::invalid_argument(std::to_string(n) + " elements cannot be stored as " + t.name +
                                  ": its blocks hold " + std::to_string(block_elements) +
                                  " elements (the row length must be a multiple)");
  }
  return n / block_elements * dequant_block_bytes(static_cast<uint32_t>(type));
}

void quantize_row(GgmlType type, const float* src, uint8_t* dst, int64_t n) {
  const TypeInfo& t = require_type(type);
  quantized_bytes(type, n);  // validates n
  switch (type) {
    case GgmlType::kF32:
      std::memcpy(dst, src, static_cast<size_t>(n) * 4);
      return;
    case GgmlType::kF16:
      for (int64_t i = 0; i < n; ++i) {
        const uint16_t h = fp32_to_fp16(src[i]);
        dst[2 * i] = static_cast<uint8_t>(h & 0xFF);
        dst[2 * i + 1] = static_cast<uint8_t>(h >> 8);
      }
      return;
    case GgmlType::kBF16:
      for (int64_t i = 0; i < n; ++i) {
        const uint16_t h = fp32_to_bf16(src[i]);
        dst[2 * i] = static_cast<uint8_t>(h & 0xFF);
        dst[2 * i + 1] = static_cast<uint8_t>(h >> 8);
      }
      return;
    default:
      break;
  }
  for (int64_t i = 0; i < n; ++i) {
    if (!std::isfinite(src[i])) {
      throw Error::invalid_argument(
          "cannot quantize to " + std::string(t.name) + ": element " + std::to_string(i) + " is " +
          (std::isnan(src[i]) ? "NaN" : "infinite") +
          " (the checkpoint's weights are damaged, or need a float type such as f16)");
    }
  }
  const BlockQuantizer quantize_block = block_quantizer(type);
  const int64_t block_elements = dequant_block_elements(static_cast<uint32_t>(type));
  const int64_t block_bytes = dequant_block_bytes(static_cast<uint32_t>(type));
  for (int64_t b = 0; b < n / block_elements; ++b) {
    quantize_block(src + b * block_elements, dst + b * block_bytes);
  }
}

}  // namespace torchllm

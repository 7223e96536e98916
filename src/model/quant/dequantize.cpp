#include "model/quant/dequantize.h"

#include <cstring>

#include "model/quant/fp16.h"
#include "torchllm/error.h"

namespace torchllm {
namespace {

constexpr int64_t kQK = 32;     // elements per block of the _0/_1 types
constexpr int64_t kQK_K = 256;  // elements per super-block of the K types

struct TypeInfo {
  GgmlType type;
  const char* name;
  int64_t block_elements;
  int64_t block_bytes;
};

constexpr TypeInfo kTypes[] = {
    {GgmlType::kF32, "F32", 1, 4},         {GgmlType::kF16, "F16", 1, 2},
    {GgmlType::kBF16, "BF16", 1, 2},       {GgmlType::kQ8_0, "Q8_0", kQK, 34},
    {GgmlType::kQ4_0, "Q4_0", kQK, 18},    {GgmlType::kQ4_1, "Q4_1", kQK, 20},
    {GgmlType::kQ5_0, "Q5_0", kQK, 22},    {GgmlType::kQ5_1, "Q5_1", kQK, 24},
    {GgmlType::kQ4_K, "Q4_K", kQK_K, 144}, {GgmlType::kQ5_K, "Q5_K", kQK_K, 176},
    {GgmlType::kQ6_K, "Q6_K", kQK_K, 210},
};

const TypeInfo* find_type(uint32_t id) {
  for (const TypeInfo& t : kTypes) {
    if (static_cast<uint32_t>(t.type) == id) return &t;
  }
  return nullptr;
}

const TypeInfo& require_type(uint32_t id) {
  const TypeInfo* t = find_type(id);
  if (!t) {
    throw Error::unsupported("ggml tensor type " + std::to_string(id) +
                             " cannot be loaded (supported: " + dequantizable_types() + ")");
  }
  return *t;
}

uint16_t read_u16(const uint8_t* p) { return static_cast<uint16_t>(p[0] | (p[1] << 8)); }
float read_f16(const uint8_t* p) { return read_fp16(p); }

// Block layouts (ggml-common.h): each starts with its fp16 scale(s), except q6_K which ends with it.
void q4_0(const uint8_t* x, float* y) {  // d, qs[16]
  const float d = read_f16(x);
  const uint8_t* qs = x + 2;
  for (int j = 0; j < kQK / 2; ++j) {
    const int x0 = (qs[j] & 0x0F) - 8;
    const int x1 = (qs[j] >> 4) - 8;
    y[j] = x0 * d;
    y[j + kQK / 2] = x1 * d;
  }
}

void q4_1(const uint8_t* x, float* y) {  // d, m, qs[16]
  const float d = read_f16(x);
  const float m = read_f16(x + 2);
  const uint8_t* qs = x + 4;
  for (int j = 0; j < kQK / 2; ++j) {
    const int x0 = qs[j] & 0x0F;
    const int x1 = qs[j] >> 4;
    y[j] = x0 * d + m;
    y[j + kQK / 2] = x1 * d + m;
  }
}

void q5_0(const uint8_t* x, float* y) {  // d, qh[4], qs[16]
  const float d = read_f16(x);
  uint32_t qh;
  std::memcpy(&qh, x + 2, sizeof qh);
  const uint8_t* qs = x + 6;
  for (int j = 0; j < kQK / 2; ++j) {
    const uint8_t xh_0 = static_cast<uint8_t>(((qh >> (j + 0)) << 4) & 0x10);
    const uint8_t xh_1 = static_cast<uint8_t>((qh >> (j + 12)) & 0x10);
    const int32_t x0 = ((qs[j] & 0x0F) | xh_0) - 16;
    const int32_t x1 = ((qs[j] >> 4) | xh_1) - 16;
    y[j] = x0 * d;
    y[j + kQK / 2] = x1 * d;
  }
}

void q5_1(const uint8_t* x, float* y) {  // d, m, qh[4], qs[16]
  const float d = read_f16(x);
  const float m = read_f16(x + 2);
  uint32_t qh;
  std::memcpy(&qh, x + 4, sizeof qh);
  const uint8_t* qs = x + 8;
  for (int j = 0; j < kQK / 2; ++j) {
    const uint8_t xh_0 = static_cast<uint8_t>(((qh >> (j + 0)) << 4) & 0x10);
    const uint8_t xh_1 = static_cast<uint8_t>((qh >> (j + 12)) & 0x10);
    const int x0 = (qs[j] & 0x0F) | xh_0;
    const int x1 = (qs[j] >> 4) | xh_1;
    y[j] = x0 * d + m;
    y[j + kQK / 2] = x1 * d + m;
  }
}

void q8_0(const uint8_t* x, float* y) {  // d, qs[32] (int8)
  const float d = read_f16(x);
  for (int j = 0; j < kQK; ++j) y[j] = static_cast<int8_t>(x[2 + j]) * d;
}

void q4_k(const uint8_t* x, float* y) {  // d, dmin, scales[12], qs[128]
  const float d = read_f16(x);
  const float min = read_f16(x + 2);
  const uint8_t* scales = x + 4;
  const uint8_t* q = x + 16;
  int is = 0;
  uint8_t sc, m;
  for (int j = 0; j < kQK_K; j += 64) {
    scale_min_k4(is + 0, scales, &sc, &m);
    const float d1 = d * sc;
    const float m1 = min * m;
    scale_min_k4(is + 1, scales, &sc, &m);
    const float d2 = d * sc;
    const float m2 = min * m;
    for (int l = 0; l < 32; ++l) *y++ = d1 * (q[l] & 0xF) - m1;
    for (int l = 0; l < 32; ++l) *y++ = d2 * (q[l] >> 4) - m2;
    q += 32;
    is += 2;
  }
}

void q5_k(const uint8_t* x, float* y) {  // d, dmin, scales[12], qh[32], qs[128]
  const float d = read_f16(x);
  const float min = read_f16(x + 2);
  const uint8_t* scales = x + 4;
  const uint8_t* qh = x + 16;
  const uint8_t* ql = x + 48;
  int is = 0;
  uint8_t sc, m;
  uint8_t u1 = 1, u2 = 2;
  for (int j = 0; j < kQK_K; j += 64) {
    scale_min_k4(is + 0, scales, &sc, &m);
    const float d1 = d * sc;
    const float m1 = min * m;
    scale_min_k4(is + 1, scales, &sc, &m);
    const float d2 = d * sc;
    const float m2 = min * m;
    for (int l = 0; l < 32; ++l) *y++ = d1 * ((ql[l] & 0xF) + (qh[l] & u1 ? 16 : 0)) - m1;
    for (int l = 0; l < 32; ++l) *y++ = d2 * ((ql[l] >> 4) + (qh[l] & u2 ? 16 : 0)) - m2;
    ql += 32;
    is += 2;
    u1 = static_cast<uint8_t>(u1 << 2);
    u2 = static_cast<uint8_t>(u2 << 2);
  }
}

void q6_k(const uint8_t* x, float* y) {  // ql[128], qh[64], scales[16] (int8), d
  const float d = read_f16(x + 208);
  const uint8_t* ql = x;
  const uint8_t* qh = x + 128;
  const int8_t* sc = reinterpret_cast<const int8_t*>(x + 192);
  for (int n = 0; n < kQK_K; n += 128) {
    for (int l = 0; l < 32; ++l) {
      const int is = l / 16;
      const int8_t q1 = static_cast<int8_t>(((ql[l + 0] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32);
      const int8_t q2 = static_cast<int8_t>(((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32);
      const int8_t q3 = static_cast<int8_t>(((ql[l + 0] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32);
      const int8_t q4 = static_cast<int8_t>(((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32);
      y[l + 0] = d * sc[is + 0] * q1;
      y[l + 32] = d * sc[is + 2] * q2;
      y[l + 64] = d * sc[is + 4] * q3;
      y[l + 96] = d * sc[is + 6] * q4;
    }
    y += 128;
    ql += 64;
    qh += 32;
    sc += 8;
  }
}

}  // namespace

// get_scale_min_k4 (ggml-quants.c): the 6-bit scale and min of sub-block j from the 12 packed bytes.
void scale_min_k4(int j, const uint8_t* q, uint8_t* d, uint8_t* m) {
  if (j < 4) {
    *d = q[j] & 63;
    *m = q[j + 4] & 63;
  } else {
    *d = static_cast<uint8_t>((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4));
    *m = static_cast<uint8_t>((q[j + 4] >> 4) | ((q[j - 0] >> 6) << 4));
  }
}

bool can_dequantize(uint32_t ggml_type) { return find_type(ggml_type) != nullptr; }

std::string dequantizable_types() {
  std::string out;
  for (const TypeInfo& t : kTypes) out += std::string(out.empty() ? "" : ", ") + t.name;
  return out;
}

int64_t dequant_block_elements(uint32_t ggml_type) { return require_type(ggml_type).block_elements; }
int64_t dequant_block_bytes(uint32_t ggml_type) { return require_type(ggml_type).block_bytes; }

void dequantize(uint32_t ggml_type, const uint8_t* src, float* dst, int64_t n) {
  const TypeInfo& t = require_type(ggml_type);
  if (n < 0 || n % t.block_elements != 0) {
    throw Error::invalid_argument(std::string("cannot dequantize ") + std::to_string(n) + " elements of " +
                                  t.name + ": not a whole number of " + std::to_string(t.block_elements) +
                                  "-element blocks");
  }
  const int64_t blocks = n / t.block_elements;
  void (*block_fn)(const uint8_t*, float*) = nullptr;
  switch (t.type) {
    case GgmlType::kF32:
      std::memcpy(dst, src, static_cast<size_t>(n) * sizeof(float));
      return;
    case GgmlType::kF16:
      for (int64_t i = 0; i < n; ++i) dst[i] = read_f16(src + 2 * i);
      return;
    case GgmlType::kBF16:  // ggml_compute_bf16_to_fp32: the upper half of a float32
      for (int64_t i = 0; i < n; ++i)
        dst[i] = fp32_from_bits(static_cast<uint32_t>(read_u16(src + 2 * i)) << 16);
      return;
    case GgmlType::kQ8_0:
      block_fn = q8_0;
      break;
    case GgmlType::kQ4_0:
      block_fn = q4_0;
      break;
    case GgmlType::kQ4_1:
      block_fn = q4_1;
      break;
    case GgmlType::kQ5_0:
      block_fn = q5_0;
      break;
    case GgmlType::kQ5_1:
      block_fn = q5_1;
      break;
    case GgmlType::kQ4_K:
      block_fn = q4_k;
      break;
    case GgmlType::kQ5_K:
      block_fn = q5_k;
      break;
    case GgmlType::kQ6_K:
      block_fn = q6_k;
      break;
    case GgmlType::kQ8_1:  // not in kTypes: require_type already refused them
    case GgmlType::kQ8_K:
      throw Error::unsupported(std::string(t.name) + " is an activation format");
  }
  for (int64_t b = 0; b < blocks; ++b) {
    block_fn(src + b * t.block_bytes, dst + b * t.block_elements);
  }
}

}  // namespace torchllm

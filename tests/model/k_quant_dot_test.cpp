// The K-quant dot-product kernels (Q4_K, Q5_K, Q6_K against Q8_K): the scalar references against a double
// sum of the dequantized weights times the activations, and each AVX2 and AVX-512 kernel bit for bit against
// its scalar reference, on random rows and on extreme ones that would expose an integer overflow or
// saturation.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include "model/kernels/block_dot_kernels.h"
#include "model/kernels/block_layouts.h"
#include "model/kernels/simd_level.h"
#include "model/quant/dequantize.h"
#include "model/quant/fp16.h"

namespace torchllm {
namespace {

using DotFn = float (*)(const uint8_t*, const uint8_t*, int64_t);

struct KQuantCase {
  const char* name;
  GgmlType type;
  size_t block_bytes;
  DotFn scalar;
  DotFn avx2;
  DotFn avx512;
};

const KQuantCase kCases[] = {
    {"Q4_K", GgmlType::kQ4_K, sizeof(BlockQ4_K), kernels::dot_q4_k_scalar, kernels::dot_q4_k_avx2,
     kernels::dot_q4_k_avx512},
    {"Q5_K", GgmlType::kQ5_K, sizeof(BlockQ5_K), kernels::dot_q5_k_scalar, kernels::dot_q5_k_avx2,
     kernels::dot_q5_k_avx512},
    {"Q6_K", GgmlType::kQ6_K, sizeof(BlockQ6_K), kernels::dot_q6_k_scalar, kernels::dot_q6_k_avx2,
     kernels::dot_q6_k_avx512},
};

// gtest names a failing case by its type.
void PrintTo(const KQuantCase& c, std::ostream* os) { *os << c.name; }

// 256, 512, 1024 and 4096 fill whole groups of LaneSum's 8 lanes or less; 2816 (11 blocks) leaves a tail;
// 3328 (13 blocks) takes the AVX-512 kernels' 8-block loop, a 4-block group and a single block.
const int64_t kLengths[] = {256, 512, 1024, 4096, 2816, 3328};
constexpr int kLengthCount = sizeof(kLengths) / sizeof(kLengths[0]);

// The byte offsets of a block's fp16 scales: d and dmin lead the Q4_K/Q5_K blocks; Q6_K ends with its d.
std::vector<size_t> fp16_offsets(GgmlType type) {
  if (type == GgmlType::kQ6_K) return {offsetof(BlockQ6_K, d)};
  return {0, 2};
}

void set_fp16(uint8_t* p, uint16_t h) {
  p[0] = static_cast<uint8_t>(h & 0xFF);
  p[1] = static_cast<uint8_t>(h >> 8);
}

// Random bytes with sane fp16 scales in ±0.1.
std::vector<uint8_t> random_weights(const KQuantCase& c, int64_t n, std::mt19937& rng) {
  std::vector<uint8_t> row(static_cast<size_t>(n / kQK_K) * c.block_bytes);
  std::uniform_int_distribution<int> byte(0, 255);
  std::uniform_real_distribution<float> scale(-0.1f, 0.1f);
  for (uint8_t& v : row) v = static_cast<uint8_t>(byte(rng));
  for (size_t b = 0; b < row.size(); b += c.block_bytes) {
    for (size_t off : fp16_offsets(c.type)) set_fp16(&row[b + off], fp32_to_fp16(scale(rng)));
  }
  return row;
}

// Q8_K blocks with the given d and qs, and bsums computed from them, as quantize_row_q8_K leaves them.
std::vector<BlockQ8_K> make_activation(int64_t n, const std::vector<float>& d,
                                       const std::vector<int8_t>& qs) {
  std::vector<BlockQ8_K> blocks(static_cast<size_t>(n / kQK_K));
  for (size_t b = 0; b < blocks.size(); ++b) {
    blocks[b].d = d[b];
    std::memcpy(blocks[b].qs, &qs[b * kQK_K], kQK_K);
    for (int j = 0; j < kQK_K / 16; ++j) {
      int sum = 0;
      for (int i = 0; i < 16; ++i) sum += blocks[b].qs[16 * j + i];
      blocks[b].bsums[j] = static_cast<int16_t>(sum);
    }
  }
  return blocks;
}

std::vector<BlockQ8_K> random_activation(int64_t n, std::mt19937& rng) {
  std::uniform_real_distribution<float> scale(-0.05f, 0.05f);
  std::uniform_int_distribution<int> q(-128, 127);
  std::vector<float> d(static_cast<size_t>(n / kQK_K));
  std::vector<int8_t> qs(static_cast<size_t>(n));
  for (float& v : d) v = scale(rng);
  for (int8_t& v : qs) v = static_cast<int8_t>(q(rng));
  return make_activation(n, d, qs);
}

const uint8_t* bytes(const std::vector<BlockQ8_K>& a) { return reinterpret_cast<const uint8_t*>(a.data()); }

struct Reference {
  double dot;
  double magnitude;  // Σ |w_i * a_i|, the scale of the rounding error
};

// The dot product in double from dequantize()'s floats and the activation's d * qs.
Reference reference_dot(GgmlType type, const std::vector<uint8_t>& weights, const std::vector<BlockQ8_K>& a,
                        int64_t n) {
  std::vector<float> w(static_cast<size_t>(n));
  dequantize(static_cast<uint32_t>(type), weights.data(), w.data(), n);
  Reference r{0, 0};
  for (int64_t i = 0; i < n; ++i) {
    const BlockQ8_K& block = a[static_cast<size_t>(i / kQK_K)];
    const double term = static_cast<double>(w[i]) * (static_cast<double>(block.d) * block.qs[i % kQK_K]);
    r.dot += term;
    r.magnitude += std::fabs(term);
  }
  return r;
}

// Bit equality, except that any NaN matches any NaN.
void expect_same_float(float expected, float actual, const std::string& what) {
  if (std::isnan(expected) && std::isnan(actual)) return;
  EXPECT_EQ(fp32_to_bits(expected), fp32_to_bits(actual)) << what << ": " << expected << " vs " << actual;
}

bool has_avx2() { return cpu_simd_level() >= SimdLevel::kAvx2; }
bool has_avx512() { return cpu_simd_level() >= SimdLevel::kAvx512; }

// `simd` against the scalar reference on random rows of every length.
void expect_random_rows_match(const KQuantCase& c, DotFn simd, uint32_t seed) {
  std::mt19937 rng(seed);
  for (int64_t n : kLengths) {
    for (int trial = 0; trial < 100; ++trial) {
      const std::vector<uint8_t> w = random_weights(c, n, rng);
      const std::vector<BlockQ8_K> a = random_activation(n, rng);
      expect_same_float(c.scalar(w.data(), bytes(a), n), simd(w.data(), bytes(a), n),
                        std::string(c.name) + " n=" + std::to_string(n));
    }
  }
}

// Any finite fp16 scale, subnormals included: the SIMD kernels convert with F16C, the reference with
// ggml's portable conversion, and both must give the same float.
void expect_any_fp16_scale_matches(const KQuantCase& c, DotFn simd, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> bits(0, 0xFFFF);
  for (int trial = 0; trial < 200; ++trial) {
    const int64_t n = kLengths[trial % kLengthCount];
    std::vector<uint8_t> w = random_weights(c, n, rng);
    for (size_t b = 0; b < w.size(); b += c.block_bytes) {
      for (size_t off : fp16_offsets(c.type)) {
        uint16_t h;
        do {
          h = static_cast<uint16_t>(bits(rng));
        } while ((h & 0x7C00) == 0x7C00);  // not infinity or NaN
        set_fp16(&w[b + off], h);
      }
    }
    const std::vector<BlockQ8_K> a = random_activation(n, rng);
    expect_same_float(c.scalar(w.data(), bytes(a), n), simd(w.data(), bytes(a), n),
                      std::string(c.name) + " n=" + std::to_string(n));
  }
}

class KQuantDotTest : public ::testing::TestWithParam<KQuantCase> {};

TEST_P(KQuantDotTest, ScalarMatchesDequantizedReference) {
  const KQuantCase& c = GetParam();
  std::mt19937 rng(1234);
  for (int64_t n : kLengths) {
    for (int trial = 0; trial < 20; ++trial) {
      const std::vector<uint8_t> w = random_weights(c, n, rng);
      const std::vector<BlockQ8_K> a = random_activation(n, rng);
      const Reference ref = reference_dot(c.type, w, a, n);
      const float got = c.scalar(w.data(), bytes(a), n);
      EXPECT_NEAR(got, ref.dot, 1e-5 * ref.magnitude + 1e-30) << c.name << " n=" << n << " trial " << trial;
    }
  }
}

TEST_P(KQuantDotTest, Avx2MatchesScalarBitForBit) {
  if (!has_avx2()) GTEST_SKIP() << "this CPU has no AVX2";
  expect_random_rows_match(GetParam(), GetParam().avx2, 99);
}

TEST_P(KQuantDotTest, Avx512MatchesScalarBitForBit) {
  if (!has_avx512()) GTEST_SKIP() << "this CPU has no AVX-512 with VNNI";
  expect_random_rows_match(GetParam(), GetParam().avx512, 101);
}

TEST_P(KQuantDotTest, Avx2MatchesScalarForAnyFiniteFp16Scale) {
  if (!has_avx2()) GTEST_SKIP() << "this CPU has no AVX2";
  expect_any_fp16_scale_matches(GetParam(), GetParam().avx2, 7);
}

TEST_P(KQuantDotTest, Avx512MatchesScalarForAnyFiniteFp16Scale) {
  if (!has_avx512()) GTEST_SKIP() << "this CPU has no AVX-512 with VNNI";
  expect_any_fp16_scale_matches(GetParam(), GetParam().avx512, 9);
}

// Rows at the ends of every range: all weight bytes 0x00 or 0xFF (largest or smallest values, scales and
// mins), Q6_K scales at ±127/-128, activations all 127 or all -128, and random mixtures of those. With unit
// scales the reference is an exact integer sum, so any overflow or saturation shows.
TEST_P(KQuantDotTest, ExtremeValuesDoNotOverflow) {
  const KQuantCase& c = GetParam();
  const int64_t n = 2816;
  const size_t blocks = static_cast<size_t>(n / kQK_K);
  std::mt19937 rng(5);
  std::uniform_int_distribution<int> coin(0, 1);
  for (int trial = 0; trial < 40; ++trial) {
    const int pattern = trial % 4;  // 0: all 0x00, 1: all 0xFF, 2-3: random 0x00/0xFF per byte
    std::vector<uint8_t> w(blocks * c.block_bytes);
    for (uint8_t& v : w) v = (pattern == 1 || (pattern >= 2 && coin(rng))) ? 0xFF : 0x00;
    for (size_t b = 0; b < blocks; ++b) {
      uint8_t* block = &w[b * c.block_bytes];
      for (size_t off : fp16_offsets(c.type)) set_fp16(block + off, fp32_to_fp16(1.0f));
      if (c.type == GgmlType::kQ6_K) {
        const int8_t scale =
            (trial / 4) % 3 == 0 ? 127 : ((trial / 4) % 3 == 1 ? -128 : (coin(rng) ? 127 : -128));
        std::memset(block + offsetof(BlockQ6_K, scales), static_cast<uint8_t>(scale), kQK_K / 16);
      }
    }
    const int8_t fill = (trial / 2) % 2 == 0 ? 127 : -128;
    std::vector<int8_t> qs(static_cast<size_t>(n), fill);
    if (trial >= 20) {
      for (int8_t& v : qs) v = coin(rng) ? 127 : -128;
    }
    const std::vector<BlockQ8_K> a = make_activation(n, std::vector<float>(blocks, 1.0f), qs);
    const Reference ref = reference_dot(c.type, w, a, n);
    const float scalar = c.scalar(w.data(), bytes(a), n);
    EXPECT_NEAR(scalar, ref.dot, 1e-6 * ref.magnitude + 1e-30) << c.name << " trial " << trial;
    if (has_avx2()) {
      expect_same_float(scalar, c.avx2(w.data(), bytes(a), n), std::string(c.name) + " extreme");
    }
    if (has_avx512()) {
      expect_same_float(scalar, c.avx512(w.data(), bytes(a), n), std::string(c.name) + " extreme avx512");
    }
  }
}

INSTANTIATE_TEST_SUITE_P(KTypes, KQuantDotTest, ::testing::ValuesIn(kCases),
                         [](const ::testing::TestParamInfo<KQuantCase>& info) { return info.param.name; });

}  // namespace
}  // namespace torchllm

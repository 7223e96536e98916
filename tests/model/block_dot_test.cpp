// The 32-element formats' block dot products: the scalar reference against the dequantized rows in double
// precision, every SIMD level bit-equal to the scalar reference, and the activation quantizers.

#include "model/kernels/block_dot.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "model/kernels/block_dot_kernels.h"
#include "model/kernels/block_layouts.h"
#include "model/quant/dequantize.h"
#include "model/quant/fp16.h"
#include "torchllm/error.h"

namespace torchllm {
namespace {

constexpr GgmlType kLegacyTypes[] = {GgmlType::kQ8_0, GgmlType::kQ4_0, GgmlType::kQ4_1, GgmlType::kQ5_0,
                                     GgmlType::kQ5_1};

struct LegacyKernels {
  GgmlType type;
  BlockDotFn scalar, avx2, avx512;
};
constexpr LegacyKernels kKernels[] = {
    {GgmlType::kQ8_0, kernels::dot_q8_0_scalar, kernels::dot_q8_0_avx2, kernels::dot_q8_0_avx512},
    {GgmlType::kQ4_0, kernels::dot_q4_0_scalar, kernels::dot_q4_0_avx2, kernels::dot_q4_0_avx512},
    {GgmlType::kQ4_1, kernels::dot_q4_1_scalar, kernels::dot_q4_1_avx2, kernels::dot_q4_1_avx512},
    {GgmlType::kQ5_0, kernels::dot_q5_0_scalar, kernels::dot_q5_0_avx2, kernels::dot_q5_0_avx512},
    {GgmlType::kQ5_1, kernels::dot_q5_1_scalar, kernels::dot_q5_1_avx2, kernels::dot_q5_1_avx512},
};

// Random blocks: random bytes, then sane fp16 scales (d, and m where the format has one).
std::vector<uint8_t> random_weight_row(GgmlType type, int64_t n, std::mt19937& rng, bool extreme = false) {
  const int64_t block_bytes = dequant_block_bytes(static_cast<uint32_t>(type));
  std::vector<uint8_t> row(quantized_row_bytes(type, n));
  std::uniform_int_distribution<int> byte(0, 255);
  std::uniform_real_distribution<float> scale(-0.05f, 0.05f);
  for (uint8_t& v : row)
    v = extreme ? (type == GgmlType::kQ8_0 ? 0x81 : 0xFF) : static_cast<uint8_t>(byte(rng));
  for (int64_t off = 0; off < static_cast<int64_t>(row.size()); off += block_bytes) {
    const uint16_t d = fp32_to_fp16(extreme ? 0.05f : scale(rng));
    std::memcpy(&row[off], &d, 2);
    if (type == GgmlType::kQ4_1 || type == GgmlType::kQ5_1) {
      const uint16_t m = fp32_to_fp16(extreme ? -0.05f : scale(rng));
      std::memcpy(&row[off + 2], &m, 2);
    }
  }
  return row;
}

std::vector<float> random_floats(int64_t n, std::mt19937& rng, float scale = 1.0f) {
  std::normal_distribution<float> normal(0.0f, scale);
  std::vector<float> x(n);
  for (float& v : x) v = normal(rng);
  return x;
}

std::vector<uint8_t> quantized_activation(GgmlType weight, const std::vector<float>& x) {
  const GgmlType act = activation_type(weight);
  std::vector<uint8_t> a(quantized_row_bytes(act, static_cast<int64_t>(x.size())));
  quantize_activation(act, x.data(), a.data(), static_cast<int64_t>(x.size()));
  return a;
}

// The activation row as the floats it stands for: d * q per element.
std::vector<double> activation_values(GgmlType act, const std::vector<uint8_t>& a, int64_t n) {
  std::vector<double> out(n);
  for (int64_t b = 0; b < n / kQK; ++b) {
    const auto* block8_0 = reinterpret_cast<const BlockQ8_0*>(a.data()) + b;
    const auto* block8_1 = reinterpret_cast<const BlockQ8_1*>(a.data()) + b;
    const float d = fp16_to_fp32(act == GgmlType::kQ8_0 ? block8_0->d : block8_1->d);
    const int8_t* qs = act == GgmlType::kQ8_0 ? block8_0->qs : block8_1->qs;
    for (int j = 0; j < kQK; ++j) out[b * kQK + j] = static_cast<double>(d) * qs[j];
  }
  return out;
}

TEST(BlockDot, ScalarReferenceEqualsTheDequantizedDotProduct) {
  std::mt19937 rng(7);
  for (const LegacyKernels& k : kKernels) {
    for (const int64_t n : {32, 256, 1024, 3104}) {
      const std::vector<uint8_t> w = random_weight_row(k.type, n, rng);
      const std::vector<float> x = random_floats(n, rng);
      const std::vector<uint8_t> a = quantized_activation(k.type, x);
      std::vector<float> wf(n);
      dequantize(static_cast<uint32_t>(k.type), w.data(), wf.data(), n);
      const std::vector<double> af = activation_values(activation_type(k.type), a, n);
      // The _1 formats' minimum meets the activation's stored sum s (fp16 of d * sum(q), llama.cpp's
      // approximation) instead of each element.
      const bool with_min = activation_type(k.type) == GgmlType::kQ8_1;
      double expected = 0, magnitude = 0;
      for (int64_t b = 0; b < n / kQK; ++b) {
        uint16_t m_bits = 0;
        std::memcpy(&m_bits, w.data() + b * dequant_block_bytes(static_cast<uint32_t>(k.type)) + 2, 2);
        const double m = with_min ? fp16_to_fp32(m_bits) : 0.0;
        for (int64_t i = b * kQK; i < (b + 1) * kQK; ++i) {
          expected += (wf[i] - m) * af[i];
          magnitude += std::fabs(wf[i] * af[i]);
        }
        if (with_min) expected += m * fp16_to_fp32(reinterpret_cast<const BlockQ8_1*>(a.data())[b].s);
      }
      EXPECT_NEAR(k.scalar(w.data(), a.data(), n), expected, 2e-6 * magnitude)
          << "type " << static_cast<int>(k.type) << " n " << n;
    }
  }
}

// Every kernel at `level` (read from LegacyKernels by `kernel`) returns the scalar reference's float bit for
// bit, on random rows (with 8-block groups and tails) and on extreme ones (largest weights, activations of
// +-127).
template <typename Kernel>
void expect_bit_identical_to_scalar(Kernel kernel, uint32_t seed) {
  std::mt19937 rng(seed);
  for (const LegacyKernels& k : kKernels) {
    for (const int64_t n : {32, 64, 224, 256, 288, 1024, 3104, 4096}) {
      for (int trial = 0; trial < 20; ++trial) {
        const bool extreme = trial == 0;
        const std::vector<uint8_t> w = random_weight_row(k.type, n, rng, extreme);
        std::vector<float> x = random_floats(n, rng, trial % 2 ? 1e-3f : 3.0f);
        if (extreme) {
          for (int64_t i = 0; i < n; ++i) x[i] = i % 2 ? -1.0f : 1.0f;  // activations of +-127
        }
        const std::vector<uint8_t> a = quantized_activation(k.type, x);
        const float scalar = k.scalar(w.data(), a.data(), n);
        const float simd = kernel(k)(w.data(), a.data(), n);
        ASSERT_EQ(fp32_to_bits(scalar), fp32_to_bits(simd))
            << "type " << static_cast<int>(k.type) << " n " << n << " trial " << trial << ": " << scalar
            << " vs " << simd;
      }
    }
  }
}

TEST(BlockDot, Avx2KernelsAreBitIdenticalToTheScalarReference) {
  if (cpu_simd_level() < SimdLevel::kAvx2) GTEST_SKIP() << "this CPU has no AVX2";
  expect_bit_identical_to_scalar([](const LegacyKernels& k) { return k.avx2; }, 11);
}

TEST(BlockDot, Avx512KernelsAreBitIdenticalToTheScalarReference) {
  if (cpu_simd_level() < SimdLevel::kAvx512) GTEST_SKIP() << "this CPU has no AVX-512 with VNNI";
  expect_bit_identical_to_scalar([](const LegacyKernels& k) { return k.avx512; }, 13);
}

TEST(BlockDot, DispatchPicksTheLevelAndKnowsEachFormatsActivation) {
  for (const GgmlType t : kLegacyTypes) EXPECT_TRUE(has_block_dot(t));
  EXPECT_FALSE(has_block_dot(GgmlType::kF16));
  EXPECT_FALSE(has_block_dot(GgmlType::kQ8_K));
  EXPECT_EQ(activation_type(GgmlType::kQ4_0), GgmlType::kQ8_0);
  EXPECT_EQ(activation_type(GgmlType::kQ5_1), GgmlType::kQ8_1);
  EXPECT_EQ(activation_type(GgmlType::kQ4_K), GgmlType::kQ8_K);
  EXPECT_EQ(activation_type(GgmlType::kQ6_K), GgmlType::kQ8_K);
  EXPECT_EQ(block_dot_function(GgmlType::kQ4_0, SimdLevel::kScalar), &kernels::dot_q4_0_scalar);
  EXPECT_EQ(block_dot_function(GgmlType::kQ4_0, SimdLevel::kAvx2), &kernels::dot_q4_0_avx2);
  // Every format has an AVX-512 kernel that beats its AVX2 one.
  EXPECT_EQ(block_dot_function(GgmlType::kQ4_0, SimdLevel::kAvx512), &kernels::dot_q4_0_avx512);
  EXPECT_EQ(block_dot_function(GgmlType::kQ8_0, SimdLevel::kAvx512), &kernels::dot_q8_0_avx512);
  EXPECT_EQ(block_dot_function(GgmlType::kQ4_1, SimdLevel::kAvx512), &kernels::dot_q4_1_avx512);
  EXPECT_EQ(block_dot_function(GgmlType::kQ5_0, SimdLevel::kAvx512), &kernels::dot_q5_0_avx512);
  EXPECT_EQ(block_dot_function(GgmlType::kQ5_1, SimdLevel::kAvx512), &kernels::dot_q5_1_avx512);
  EXPECT_EQ(block_dot_function(GgmlType::kQ4_K, SimdLevel::kAvx512), &kernels::dot_q4_k_avx512);
  EXPECT_EQ(block_dot_function(GgmlType::kQ5_K, SimdLevel::kAvx512), &kernels::dot_q5_k_avx512);
  EXPECT_EQ(block_dot_function(GgmlType::kQ6_K, SimdLevel::kAvx512), &kernels::dot_q6_k_avx512);
  EXPECT_EQ(block_dot_function(GgmlType::kQ6_K, SimdLevel::kAvx2), &kernels::dot_q6_k_avx2);
  EXPECT_THROW(block_dot_function(GgmlType::kBF16, SimdLevel::kScalar), Error);
  EXPECT_EQ(quantized_row_bytes(GgmlType::kQ4_K, 512), 288);
  EXPECT_EQ(quantized_row_bytes(GgmlType::kQ8_K, 256), 292);
  EXPECT_EQ(quantized_row_bytes(GgmlType::kQ8_1, 64), 72);
}

TEST(ActivationQuantization, Q8FormatsRoundTripWithinHalfAStep) {
  std::mt19937 rng(3);
  const int64_t n = 512;
  const std::vector<float> x = random_floats(n, rng, 2.0f);
  for (const GgmlType act : {GgmlType::kQ8_0, GgmlType::kQ8_1}) {
    std::vector<uint8_t> a(quantized_row_bytes(act, n));
    quantize_activation(act, x.data(), a.data(), n);
    const std::vector<double> back = activation_values(act, a, n);
    for (int64_t b = 0; b < n / kQK; ++b) {
      const auto* block = reinterpret_cast<const BlockQ8_1*>(a.data()) + b;
      const uint16_t d_bits =
          act == GgmlType::kQ8_0 ? reinterpret_cast<const BlockQ8_0*>(a.data())[b].d : block->d;
      const float d = fp16_to_fp32(d_bits);
      int sum = 0;
      for (int j = 0; j < kQK; ++j) {
        EXPECT_NEAR(back[b * kQK + j], x[b * kQK + j], 0.51 * d + 1e-3 * std::fabs(x[b * kQK + j]));
        if (act == GgmlType::kQ8_1) sum += block->qs[j];
      }
      if (act == GgmlType::kQ8_1) {
        EXPECT_NEAR(fp16_to_fp32(block->s), sum * d, 1e-3 * std::fabs(sum * d) + 1e-6);
      }
    }
  }
  std::vector<BlockQ8_K> k(n / kQK_K);
  quantize_activation(GgmlType::kQ8_K, x.data(), reinterpret_cast<uint8_t*>(k.data()), n);
  for (int64_t b = 0; b < n / kQK_K; ++b) {
    for (int g = 0; g < kQK_K / 16; ++g) {
      int sum = 0;
      for (int j = 0; j < 16; ++j) {
        const int64_t i = b * kQK_K + g * 16 + j;
        sum += k[b].qs[g * 16 + j];
        EXPECT_NEAR(k[b].d * k[b].qs[g * 16 + j], x[i], 0.51 * std::fabs(k[b].d));
        EXPECT_GE(k[b].qs[g * 16 + j], -127);  // the sign trick of the SIMD kernels relies on it
      }
      EXPECT_EQ(k[b].bsums[g], sum);
    }
  }
}

// llama.cpp's Q8_K takes its scale's sign from the first element of largest magnitude: where +a and -a
// both reach it, the earlier one is stored as -127.
TEST(ActivationQuantization, Q8_KScaleSignComesFromTheFirstLargestMagnitude) {
  for (const auto& [first, second] :
       {std::pair<int, int>{3, 200}, {37, 38}, {200, 255}, {15, 40}, {47, 48}}) {
    for (const float sign : {1.0f, -1.0f}) {
      std::vector<float> x(256, 0.25f);
      x[first] = sign * 3.0f;
      x[second] = -sign * 3.0f;
      BlockQ8_K block;
      quantize_activation(GgmlType::kQ8_K, x.data(), reinterpret_cast<uint8_t*>(&block), 256);
      EXPECT_EQ(block.qs[first], -127) << first << " " << sign;
      EXPECT_EQ(block.qs[second], 127) << first << " " << sign;
      EXPECT_FLOAT_EQ(block.d, -sign * 3.0f / 127.0f);
    }
  }
}

TEST(ActivationQuantization, AllZeroBlocksAndBadLengths) {
  std::vector<float> zeros(256, 0.0f);
  std::vector<uint8_t> a(quantized_row_bytes(GgmlType::kQ8_K, 256), 0xAB);
  quantize_activation(GgmlType::kQ8_K, zeros.data(), a.data(), 256);
  for (const uint8_t v : a) EXPECT_EQ(v, 0);
  EXPECT_THROW(quantize_activation(GgmlType::kQ8_0, zeros.data(), a.data(), 31), Error);
  EXPECT_THROW(quantize_activation(GgmlType::kQ4_0, zeros.data(), a.data(), 32), Error);
}

}  // namespace
}  // namespace torchllm

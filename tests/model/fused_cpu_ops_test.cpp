// The fused CPU ops against the libtorch expressions they replace in the transformer (transformers' RMSNorm,
// apply_rope, silu(gate) * up, the K/V index_put): bit-equal where the work is elementwise, and where a sum
// or exp is involved, equal but for rare last-bit differences of the dtype.
#include "model/fused_cpu_ops.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "model/rope.h"

namespace torchllm {
namespace {

at::Tensor reference_rms_norm(const at::Tensor& x, const at::Tensor& weight, double eps) {
  at::Tensor xf = x.to(at::kFloat);
  at::Tensor normed = xf * at::rsqrt(xf.pow(2).mean(-1, /*keepdim=*/true) + eps);
  return weight * normed.to(x.scalar_type());
}

// Fraction of elements that differ, and whether any differs by more than `ulps` units in the last place of
// its dtype, measured at the element's magnitude or the tensor's mean magnitude if larger (a rotation's sum
// of two products may cancel to far below the inputs' rounding).
struct Difference {
  double fraction = 0;
  bool beyond_ulps = false;
};

double epsilon_of(at::ScalarType dtype) {
  if (dtype == at::kFloat) return 1.1920929e-7;
  return dtype == at::kHalf ? 9.765625e-4 : 7.8125e-3;
}

Difference compare(const at::Tensor& ours, const at::Tensor& theirs, double ulps) {
  EXPECT_EQ(ours.sizes(), theirs.sizes());
  EXPECT_EQ(ours.scalar_type(), theirs.scalar_type());
  const at::Tensor a = ours.to(at::kDouble), b = theirs.to(at::kDouble);
  const at::Tensor allowed =
      b.abs().clamp_min(b.abs().mean().item<double>()) * (epsilon_of(ours.scalar_type()) * ulps);
  return {a.ne(b).to(at::kDouble).mean().item<double>(), (a - b).abs().gt(allowed).any().item<bool>()};
}

// libtorch 1.13's silu in `dtype`, step by step: exp, 1 + exp and the quotient each rounded to dtype (its
// CPU kernel has no float16 version to compare with directly).
at::Tensor staged_silu(const at::Tensor& g) {
  const auto dtype = g.scalar_type();
  const at::Tensor x = g.to(at::kFloat);
  const at::Tensor e = (-x).exp().to(dtype).to(at::kFloat);
  return (x / (1 + e).to(dtype).to(at::kFloat)).to(dtype);
}

class FusedCpuOps : public ::testing::TestWithParam<at::ScalarType> {
 protected:
  at::Tensor random(at::IntArrayRef sizes, double scale = 1.0) {
    return (at::randn(sizes, at::TensorOptions().dtype(at::kFloat)) * scale).to(GetParam());
  }
  void SetUp() override { at::manual_seed(7); }
};

TEST_P(FusedCpuOps, RmsNormIsTransformersRmsNorm) {
  const at::Tensor x = random({9, 1024}, 3.0), weight = random({1024});
  const Difference d = compare(fused_rms_norm(x, weight, 1e-6), reference_rms_norm(x, weight, 1e-6), 2);
  // The sum of squares is added in another order: a last-bit difference of the mean shows in float32 results
  // and flips a rare rounding to bf16/fp16.
  if (GetParam() != at::kFloat) {
    EXPECT_LT(d.fraction, 0.01);
  }
  EXPECT_FALSE(d.beyond_ulps);
}

TEST_P(FusedCpuOps, SiluMulIsLibtorchsSiluTimesUp) {
  const int64_t n = 3072;
  const at::Tensor gate_up = random({5, 2 * n}, 4.0), gate = gate_up.narrow(1, 0, n),
                   up = gate_up.narrow(1, n, n);
  if (GetParam() != at::kHalf) {  // the staged steps are libtorch's silu
    const Difference d = compare(staged_silu(gate), at::silu(gate), 1);
    EXPECT_LT(d.fraction, GetParam() == at::kFloat ? 0.3 : 0.005);
    EXPECT_FALSE(d.beyond_ulps);
  }
  const Difference d = compare(fused_silu_mul(gate_up), staged_silu(gate) * up, 2);
  // Only exp's last float bit may differ (glibc's against Sleef's), which rounding to bf16/fp16 rarely shows.
  EXPECT_LT(d.fraction, GetParam() == at::kFloat ? 0.3 : 0.005);
  EXPECT_FALSE(d.beyond_ulps);
}

// Every bf16 gate value (up = 1): the fused silu, whose exp is its own polynomial, against libtorch's exp
// with the same roundings. A last-bit difference of exp survives bf16's roundings only next to a tie.
TEST(FusedSiluMul, EveryBf16GateIsLibtorchsSilu) {
  const int64_t n = 65536;
  at::Tensor bits = at::arange(n, at::kInt).to(at::kShort);  // every 16-bit pattern
  const at::Tensor gate = bits.view(at::kBFloat16).view({1, n});
  const at::Tensor gate_up = at::cat({gate, at::ones({1, n}, at::kBFloat16)}, 1);
  const at::Tensor ours = fused_silu_mul(gate_up).to(at::kFloat), theirs = staged_silu(gate).to(at::kFloat);
  const at::Tensor both_nan = ours.isnan().logical_and(theirs.isnan());
  const at::Tensor differ = ours.ne(theirs).logical_and(both_nan.logical_not());
  EXPECT_LE(differ.sum().item<int64_t>(), 4) << "of " << n;  // none with glibc's or Sleef's exp here
  EXPECT_TRUE(ours.isnan().equal(theirs.isnan()));
  // Where they differ, by one bf16 step at most.
  const at::Tensor step = theirs.abs() * 7.8125e-3;
  EXPECT_FALSE(differ.logical_and((ours - theirs).abs().gt(step)).any().item<bool>());
}

TEST(FusedSiluMul, Float32ExtremesAndSpecialValues) {
  const std::vector<float> g = {-1e30f,
                                -200.0f,
                                -104.5f,
                                -89.0f,
                                -88.5f,
                                -87.0f,
                                -20.0f,
                                -1.0f,
                                -1e-30f,
                                0.0f,
                                1e-30f,
                                0.5f,
                                20.0f,
                                87.0f,
                                88.9f,
                                89.5f,
                                200.0f,
                                1e30f,
                                std::numeric_limits<float>::infinity(),
                                -std::numeric_limits<float>::infinity()};
  const int64_t n = static_cast<int64_t>(g.size());
  const at::Tensor gate = at::tensor(g).view({1, n});
  const at::Tensor ours = fused_silu_mul(at::cat({gate, at::ones({1, n})}, 1));
  const at::Tensor theirs = at::silu(gate);
  for (int64_t i = 0; i < n; ++i) {
    const float a = ours[0][i].item<float>(), b = theirs[0][i].item<float>();
    if (std::isnan(b)) {
      EXPECT_TRUE(std::isnan(a)) << "gate " << g[i];
    } else if (std::isinf(b)) {
      EXPECT_EQ(a, b) << "gate " << g[i];
    } else {
      EXPECT_NEAR(a, b, std::abs(b) * 4e-7) << "gate " << g[i];
    }
  }
  const at::Tensor nan_gate = at::full({1, 16}, std::numeric_limits<float>::quiet_NaN());
  EXPECT_TRUE(fused_silu_mul(at::cat({nan_gate, at::ones({1, 16})}, 1)).isnan().all().item<bool>());
}

// qkv through q/k norm, RoPE and the K/V writes, against the transformer's libtorch path on the same pools.
void check_qk_rope_store(at::ScalarType dtype, bool qk_norm, double max_fraction) {
  const QkvLayout l{6, 2, 64};
  const int64_t tokens = 5, blocks = 4, block_size = 3;
  const auto options = at::TensorOptions().dtype(dtype);
  const at::Tensor qkv = (at::randn({tokens, (l.heads + 2 * l.kv_heads) * l.head_dim}) * 2).to(dtype);
  const at::Tensor q_norm = qk_norm ? at::randn({l.head_dim}).to(dtype) : at::Tensor();
  const at::Tensor k_norm = qk_norm ? at::randn({l.head_dim}).to(dtype) : at::Tensor();
  ModelConfig config;
  config.head_dim = l.head_dim;
  config.rope_theta = 10000;
  const auto [cos_table, sin_table] = rope_tables(config, 16, options);
  const at::Tensor positions = at::tensor({3, 7, 0, 15, 9}, at::kLong);
  const at::Tensor cos = cos_table.index_select(0, positions).unsqueeze(1);  // [tokens, 1, head_dim]
  const at::Tensor sin = sin_table.index_select(0, positions).unsqueeze(1);
  const at::Tensor write_blocks = at::tensor({2, 0, 3, 1, 2}, at::kLong);
  const at::Tensor write_offsets = at::tensor({0, 2, 1, 1, 2}, at::kLong);

  at::Tensor keys = at::zeros({blocks, l.kv_heads, block_size, l.head_dim}, options);
  at::Tensor values = at::zeros_like(keys);
  const at::Tensor q =
      fused_qk_rope_store(qkv, l, q_norm, k_norm, 1e-6, cos, sin, keys, values, write_blocks, write_offsets);

  const int64_t q_rows = l.heads * l.head_dim, kv_rows = l.kv_heads * l.head_dim;
  at::Tensor q_ref = qkv.narrow(1, 0, q_rows).view({tokens, l.heads, l.head_dim});
  at::Tensor k_ref = qkv.narrow(1, q_rows, kv_rows).view({tokens, l.kv_heads, l.head_dim});
  const at::Tensor v_ref = qkv.narrow(1, q_rows + kv_rows, kv_rows).view({tokens, l.kv_heads, l.head_dim});
  if (qk_norm) {
    q_ref = reference_rms_norm(q_ref, q_norm, 1e-6);
    k_ref = reference_rms_norm(k_ref, k_norm, 1e-6);
  }
  q_ref = apply_rope(q_ref, cos, sin);
  k_ref = apply_rope(k_ref, cos, sin);
  at::Tensor keys_ref = at::zeros_like(keys), values_ref = at::zeros_like(values);
  using at::indexing::Slice;
  keys_ref.index_put_({write_blocks, Slice(), write_offsets}, k_ref);
  values_ref.index_put_({write_blocks, Slice(), write_offsets}, v_ref);

  for (const auto& [name, ours, theirs] : {std::tuple{"q", q, q_ref}, std::tuple{"keys", keys, keys_ref}}) {
    const Difference d = compare(ours, theirs, 4);
    if (dtype != at::kFloat) {
      EXPECT_LE(d.fraction, max_fraction) << name;
    }
    EXPECT_FALSE(d.beyond_ulps) << name;
  }
  EXPECT_TRUE(values.equal(values_ref));  // copied, and nothing else in the pools written
  EXPECT_EQ(keys.ne(0).sum().item<int64_t>(), keys_ref.ne(0).sum().item<int64_t>());
}

TEST_P(FusedCpuOps, RopeWithoutNormIsApplyRopeBitForBit) { check_qk_rope_store(GetParam(), false, 0.0); }

TEST_P(FusedCpuOps, QkNormAndRopeAreTheTransformersPath) { check_qk_rope_store(GetParam(), true, 0.02); }

TEST_P(FusedCpuOps, RefusesAWriteOutsideThePool) {
  const QkvLayout l{2, 1, 8};
  const auto options = at::TensorOptions().dtype(GetParam());
  const at::Tensor qkv = at::zeros({1, 4 * 8}, options), cos = at::ones({1, 1, 8}, options);
  at::Tensor pool = at::zeros({2, 1, 4, 8}, options), values = at::zeros_like(pool);
  EXPECT_THROW(fused_qk_rope_store(qkv, l, {}, {}, 1e-6, cos, cos, pool, values, at::tensor({2}, at::kLong),
                                   at::tensor({0}, at::kLong)),
               std::exception);
  EXPECT_THROW(fused_qk_rope_store(qkv, l, {}, {}, 1e-6, cos, cos, pool, values, at::tensor({1}, at::kLong),
                                   at::tensor({4}, at::kLong)),
               std::exception);
}

INSTANTIATE_TEST_SUITE_P(Dtypes, FusedCpuOps, ::testing::Values(at::kFloat, at::kBFloat16, at::kHalf),
                         [](const auto& info) { return std::string(c10::toString(info.param)); });

}  // namespace
}  // namespace torchllm

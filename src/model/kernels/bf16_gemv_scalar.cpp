// bf16_gemv without vector instructions: the fallback for CPUs without AVX2, and TORCHLLM_SIMD=scalar.

#include "model/kernels/bf16_gemv_driver.h"

namespace torchllm::kernels {
namespace {

struct ScalarDot {
  // A few weight rows at once let one activation value serve several products.
  static constexpr int64_t kActivationElementBytes = 2;
  template <int R>
  static constexpr int kWeightRows = R <= 2 ? 2 : 1;

  template <int R, int N>
  static void block(const Bf16GemvArgs& a, int64_t row0, const uint16_t* w, float (&sums)[R][N]) {
    for (int r = 0; r < R; ++r) {
      for (int n = 0; n < N; ++n) sums[r][n] = 0.0f;
    }
    for (int64_t k = 0; k < a.in; ++k) {
      for (int n = 0; n < N; ++n) {
        const float wk = bf16_bits_to_float(w[n * a.in + k]);
        for (int r = 0; r < R; ++r) sums[r][n] += bf16_bits_to_float(a.x[(row0 + r) * a.in + k]) * wk;
      }
    }
  }
};

}  // namespace

void bf16_gemv_scalar(const Bf16GemvArgs& args, int64_t out_begin, int64_t out_end) {
  gemv_range<ScalarDot>(args, out_begin, out_end);
}

}  // namespace torchllm::kernels

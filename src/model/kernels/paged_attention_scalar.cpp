// Paged decode attention without vector instructions: the loop of paged_attention_impl.h on one-lane
// "vectors" (plain floats). The fallback for CPUs without AVX2, and TORCHLLM_SIMD=scalar.

#include "model/kernels/paged_attention_impl.h"
#include "model/quant/fp16.h"

namespace torchllm::kernels {
namespace {

struct ScalarOps {
  using Vec = float;
  static constexpr int64_t kWidth = 1;
  static constexpr int kAccumulators = 8;
  static Vec zero() { return 0.0f; }
  static Vec set1(float x) { return x; }
  static Vec add(Vec a, Vec b) { return a + b; }
  static Vec sub(Vec a, Vec b) { return a - b; }
  static Vec mul(Vec a, Vec b) { return a * b; }
  static Vec max(Vec a, Vec b) { return a > b ? a : b; }
  static Vec fmadd(Vec a, Vec b, Vec c) { return a * b + c; }
  static Vec exp(Vec x) { return __builtin_expf(x); }
  static float reduce(Vec v) { return v; }
  static float reduce_max(Vec v) { return v; }
  static void reduce_tile(const Vec* v, float* out) {
    for (int t = 0; t < kTile; ++t) out[t] = v[t];
  }
  static Vec mul_f64(Vec v, double x) { return static_cast<float>(v * x); }
  static Vec round_bf16(Vec v) { return round_to<Bf16>(v); }
  static void store(float* p, Vec v) { *p = v; }
  static Vec load(const float* p) { return *p; }
  static Vec load(const Bf16* p) {
    const uint32_t wide = static_cast<uint32_t>(p->bits) << 16;
    float value;
    std::memcpy(&value, &wide, sizeof value);
    return value;
  }
  static void load_pair(const Bf16* p, Vec& even, Vec& odd) {
    even = load(p);
    odd = load(p + 1);
  }
  static Vec load(const F16* p) { return fp16_to_fp32(p->bits); }
  static Vec load(const Q8* p) { return static_cast<float>(p->value); }
};

}  // namespace

void paged_decode_scalar(const PagedDecodeArgs& args, int64_t begin, int64_t end) {
  paged_decode_range<ScalarOps>(args, begin, end);
}

}  // namespace torchllm::kernels

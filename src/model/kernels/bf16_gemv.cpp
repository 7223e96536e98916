#include "model/kernels/bf16_gemv.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <cstring>
#include <string>

#include "model/kernels/amx_support.h"
#include "model/kernels/bf16_gemv_kernels.h"
#include "model/kernels/simd_level.h"
#include "torchllm/error.h"

namespace torchllm {
namespace {

Bf16GemvIsa detect_isa() {
  switch (cpu_simd_level()) {
    case SimdLevel::kScalar:
      return Bf16GemvIsa::kScalar;
    case SimdLevel::kAvx2:
      return Bf16GemvIsa::kAvx2;
    case SimdLevel::kAvx512:
#if defined(__x86_64__) || defined(__i386__)
      __builtin_cpu_init();
      if (__builtin_cpu_supports("avx512bf16")) {
        return amx_available() ? Bf16GemvIsa::kAmxBf16 : Bf16GemvIsa::kAvx512Bf16;
      }
#endif
      return Bf16GemvIsa::kAvx512;
  }
  return Bf16GemvIsa::kScalar;
}

kernels::Bf16GemvFn kernel_for(Bf16GemvIsa isa) {
  switch (isa) {
    case Bf16GemvIsa::kScalar:
      return kernels::bf16_gemv_scalar;
    case Bf16GemvIsa::kAvx2:
      return kernels::bf16_gemv_avx2;
    case Bf16GemvIsa::kAvx512:
      return kernels::bf16_gemv_avx512;
    case Bf16GemvIsa::kAvx512Bf16:
    case Bf16GemvIsa::kAmxBf16:  // the rows and inputs the tiles do not take
      return kernels::bf16_gemv_avx512bf16;
  }
  return kernels::bf16_gemv_scalar;
}

const uint16_t* bf16_bits(const at::Tensor& t) { return reinterpret_cast<const uint16_t*>(t.data_ptr()); }

// x [rows, in] bfloat16 -> [rows, padded_in] float32 in the pair layout of bf16_gemv_kernels.h, zero padded.
// Done once per call, so the AVX2/AVX-512 kernels widen only the weight.
at::Tensor pair_layout(const at::Tensor& x, int64_t padded_in) {
  const int64_t rows = x.size(0), in = x.size(1);
  at::Tensor pairs = at::zeros({rows, padded_in}, x.options().dtype(at::kFloat));  // [rows, padded_in]
  const uint16_t* src = bf16_bits(x);
  float* dst = pairs.data_ptr<float>();
  constexpr int64_t kChunk = kernels::kBf16PairChunk;
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t k = 0; k < in; ++k) {
      const int64_t j = k % kChunk;
      const int64_t slot = k - j + (j % 2 == 0 ? j / 2 : kChunk / 2 + j / 2);
      const uint32_t wide = static_cast<uint32_t>(src[r * in + k]) << 16;
      std::memcpy(&dst[r * padded_in + slot], &wide, sizeof(float));
    }
  }
  return pairs;
}

// x [rows, in] bfloat16 (in a multiple of 32) -> x_tiles (bf16_gemv_kernels.h): a transpose of bfloat16 pairs
// (32-bit units) within each step of 32 inputs.
at::Tensor tile_layout(const at::Tensor& x) {
  constexpr int64_t kChunk = 16, kPairs = 16;
  const int64_t rows = x.size(0), in = x.size(1), steps = in / 32;
  at::Tensor tiles = at::empty({(rows + kChunk - 1) / kChunk * kChunk * in}, x.options());
  const auto* src = reinterpret_cast<const uint32_t*>(x.data_ptr());  // [rows, in / 2] pairs
  auto* dst = reinterpret_cast<uint32_t*>(tiles.data_ptr());
  for (int64_t c = 0; c * kChunk < rows; ++c) {
    const int64_t n = std::min(kChunk, rows - c * kChunk);
    uint32_t* chunk = dst + c * kChunk * in / 2;
    for (int64_t t = 0; t < n; ++t) {
      const uint32_t* row = src + (c * kChunk + t) * in / 2;
      for (int64_t s = 0; s < steps; ++s) {
        for (int64_t p = 0; p < kPairs; ++p) chunk[(s * kPairs + p) * n + t] = row[s * kPairs + p];
      }
    }
  }
  return tiles;
}

}  // namespace

Bf16GemvIsa bf16_gemv_best_isa() {
  static const Bf16GemvIsa isa = detect_isa();
  return isa;
}

const char* bf16_gemv_isa_name(Bf16GemvIsa isa) {
  switch (isa) {
    case Bf16GemvIsa::kScalar:
      return "scalar";
    case Bf16GemvIsa::kAvx2:
      return "avx2";
    case Bf16GemvIsa::kAvx512:
      return "avx512";
    case Bf16GemvIsa::kAvx512Bf16:
      return "avx512bf16";
    case Bf16GemvIsa::kAmxBf16:
      return "amx";
  }
  return "scalar";
}

int64_t bf16_gemv_max_rows(Bf16GemvIsa isa) {
  switch (isa) {
    case Bf16GemvIsa::kScalar:
      return 0;
    case Bf16GemvIsa::kAvx2:
    case Bf16GemvIsa::kAvx512:
      return 4;
    case Bf16GemvIsa::kAvx512Bf16:
    case Bf16GemvIsa::kAmxBf16:
      return 16;
  }
  return 0;
}

bool bf16_gemv_applies(const at::Tensor& x, const at::Tensor& weight) {
  return x.defined() && weight.defined() && x.is_cpu() && weight.is_cpu() &&
         x.scalar_type() == at::kBFloat16 && weight.scalar_type() == at::kBFloat16 && x.dim() == 2 &&
         weight.dim() == 2 && x.size(1) == weight.size(1) && x.size(0) >= 1 &&
         x.size(0) <= bf16_gemv_max_rows(bf16_gemv_best_isa()) && x.is_contiguous() && weight.is_contiguous();
}

at::Tensor bf16_gemv(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias) {
  return bf16_gemv(x, weight, bias, bf16_gemv_best_isa());
}

at::Tensor bf16_gemv(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias, Bf16GemvIsa isa) {
  // Callers check bf16_gemv_applies first; these are programming errors.
  if (!(x.defined() && weight.defined() && x.is_cpu() && weight.is_cpu() &&
        x.scalar_type() == at::kBFloat16 && weight.scalar_type() == at::kBFloat16 && x.dim() == 2 &&
        weight.dim() == 2 && x.size(1) == weight.size(1))) {
    throw Error::internal("bf16_gemv: wants x [rows, in] and weight [out, in], bfloat16 on the CPU");
  }
  if (isa > bf16_gemv_best_isa()) {
    throw Error::internal(std::string("bf16_gemv: ") + bf16_gemv_isa_name(isa) +
                          " is not available on this CPU");
  }
  const int64_t rows = x.size(0), in = x.size(1), out = weight.size(0);
  if (bias.defined() &&
      !(bias.is_cpu() && bias.scalar_type() == at::kBFloat16 && bias.dim() == 1 && bias.size(0) == out)) {
    throw Error::internal("bf16_gemv: wants a bfloat16 bias [out] on the CPU");
  }
  const at::Tensor xc = x.contiguous();                             // [rows, in]
  const at::Tensor wc = weight.contiguous();                        // [out, in]
  const at::Tensor bc = bias.defined() ? bias.contiguous() : bias;  // [out]
  at::Tensor y = at::empty({rows, out}, x.options());               // [rows, out]
  if (rows == 0 || out == 0) return y;

  kernels::Bf16GemvArgs args;
  args.x = bf16_bits(xc);
  args.weight = bf16_bits(wc);
  args.bias = bc.defined() ? bf16_bits(bc) : nullptr;
  args.y = reinterpret_cast<uint16_t*>(y.data_ptr());
  args.rows = rows;
  args.in = in;
  args.padded_in = (in + kernels::kBf16PairChunk - 1) / kernels::kBf16PairChunk * kernels::kBf16PairChunk;
  args.out = out;
  at::Tensor pairs;  // [rows, padded_in], kept alive through the kernels
  if (isa == Bf16GemvIsa::kAvx2 || isa == Bf16GemvIsa::kAvx512) {
    pairs = pair_layout(xc, args.padded_in);
    args.x_pairs = pairs.data_ptr<float>();
  }

  // Each thread streams its own weight rows. A task should read at least ~256 KB of weight so that starting
  // it costs little next to the stream; a 1024-wide projection of 3072 rows then splits across two threads.
  const int64_t grain = std::max<int64_t>(16, (int64_t{256} << 10) / std::max<int64_t>(1, in * 2));
  const kernels::Bf16GemvFn kernel = kernel_for(isa);
  if (isa == Bf16GemvIsa::kAmxBf16 && in % 64 == 0) {
    // Whole tiles of 16 weight rows on AMX; the last out % 16 rows with AVX512_BF16.
    constexpr int64_t kTileRows = 16;
    const at::Tensor tiles = tile_layout(xc);  // kept alive through the kernels
    args.x_tiles = reinterpret_cast<const uint16_t*>(tiles.data_ptr());
    const int64_t blocks = out / kTileRows;
    at::parallel_for(0, blocks, std::max<int64_t>(1, grain / kTileRows), [&](int64_t begin, int64_t end) {
      kernels::bf16_gemm_amx(args, begin * kTileRows, end * kTileRows);
    });
    if (blocks * kTileRows < out) kernel(args, blocks * kTileRows, out);
    return y;
  }
  at::parallel_for(0, out, grain, [&](int64_t begin, int64_t end) { kernel(args, begin, end); });
  return y;
}

}  // namespace torchllm

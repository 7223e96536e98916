#include "model/rope.h"

#include <ATen/ATen.h>

#include <cmath>

namespace torchllm {
namespace {

at::Tensor inverse_frequencies(const ModelConfig& c) {
  const int64_t dim = c.head_dim;
  // [dim / 2]
  at::Tensor exponents = at::arange(0, dim, 2, at::kLong).to(at::kFloat) / static_cast<double>(dim);
  at::Tensor inv_freq = 1.0 / at::pow(c.rope_theta, exponents);
  if (!c.rope_freq_factors.empty()) {
    inv_freq = inv_freq / at::tensor(c.rope_freq_factors, at::kFloat);
  }
  const RopeScaling& s = c.rope_scaling;
  if (s.type == RopeScaling::Type::kLinear) return inv_freq / s.factor;
  if (s.type != RopeScaling::Type::kLlama3) return inv_freq;

  const double old_len = static_cast<double>(s.original_max_position_embeddings);
  const double low_freq_wavelen = old_len / s.low_freq_factor;
  const double high_freq_wavelen = old_len / s.high_freq_factor;
  at::Tensor wavelen = 2 * M_PI / inv_freq;
  at::Tensor scaled = at::where(wavelen > low_freq_wavelen, inv_freq / s.factor, inv_freq);
  at::Tensor smooth = (old_len / wavelen - s.low_freq_factor) / (s.high_freq_factor - s.low_freq_factor);
  at::Tensor smoothed = (1 - smooth) * scaled / s.factor + smooth * scaled;
  at::Tensor medium = (wavelen >= high_freq_wavelen).logical_and(wavelen <= low_freq_wavelen);
  return at::where(medium, smoothed, scaled);
}

}  // namespace

std::pair<at::Tensor, at::Tensor> rope_tables(const ModelConfig& config, int64_t positions,
                                              const at::TensorOptions& options) {
  at::Tensor inv_freq = inverse_frequencies(config);                 // [dim / 2]
  at::Tensor pos = at::arange(positions, at::kLong).to(at::kFloat);  // [positions]
  at::Tensor freqs = at::outer(pos, inv_freq);                       // [positions, dim / 2]
  at::Tensor emb = at::cat({freqs, freqs}, -1);                      // [positions, dim]
  return {emb.cos().to(options), emb.sin().to(options)};
}

at::Tensor apply_rope(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin) {
  const int64_t half = x.size(-1) / 2;
  at::Tensor rotated = at::cat({x.narrow(-1, half, half).neg(), x.narrow(-1, 0, half)}, -1);
  return x * cos + rotated * sin;
}

}  // namespace torchllm

#pragma once

#include <cstdint>

namespace torchllm {

// The exponential race's scores: scores[i] = logits[i] - ln(noise[i]), the logarithm rounded to float32
// (within one unit in its last place of libm's) and subtracted in float32, as logits - noise.log() in
// libtorch; one vectorized pass with no temporaries. Noise that is not a positive normal float (0, infinity,
// NaN, subnormals) takes libm's log.
void race_scores_cpu(const float* logits, const float* noise, float* scores, int64_t n);

}  // namespace torchllm

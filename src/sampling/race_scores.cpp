#include "sampling/race_scores.h"

#include <cmath>
#include <limits>

#include "sampling/vector_log.h"

namespace torchllm {

using vector_log::Doubles;
using vector_log::Floats;
using vector_log::kLanes;

// Every value goes through the same arithmetic wherever it sits (a whole chunk, the padded tail), so a
// score does not depend on the width of the row it is in.
__attribute__((target_clones("arch=x86-64-v4", "avx2", "default"))) void race_scores_cpu(const float* logits,
                                                                                         const float* noise,
                                                                                         float* scores,
                                                                                         int64_t n) {
  for (int64_t i = 0; i < n; i += kLanes) {
    const int64_t lanes = n - i < kLanes ? n - i : kLanes;
    Floats e = Floats{} + 1.0f, l{};
    __builtin_memcpy(&e, noise + i, lanes * sizeof(float));
    __builtin_memcpy(&l, logits + i, lanes * sizeof(float));
    const auto normal = (e >= std::numeric_limits<float>::min()) & (e <= std::numeric_limits<float>::max());
    Doubles ln;
    vector_log::ln_positive(__builtin_convertvector(normal ? e : Floats{} + 1.0f, Doubles), ln);
    Floats s = l - __builtin_convertvector(ln, Floats);
    for (int64_t j = 0; j < lanes; ++j) {
      if (!normal[j]) s[j] = l[j] - std::log(e[j]);
    }
    __builtin_memcpy(scores + i, &s, lanes * sizeof(float));
  }
}

}  // namespace torchllm

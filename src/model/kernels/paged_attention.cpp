#include "model/kernels/paged_attention.h"

namespace torchllm {

PagedDecodeFn paged_decode_function(SimdLevel level) {
  switch (level) {
    case SimdLevel::kAvx512:
      return kernels::paged_decode_avx512;
    case SimdLevel::kAvx2:
      return kernels::paged_decode_avx2;
    case SimdLevel::kScalar:
      return kernels::paged_decode_scalar;
  }
  return kernels::paged_decode_scalar;
}

}  // namespace torchllm

#include "model/kernels/kv_q8_0.h"

#include <cmath>
#include <cstring>

namespace torchllm {

void quantize_kv_row_q8(const float* x, int64_t head_dim, uint8_t* row) {
  for (int64_t b = 0; b < head_dim / kKvQ8Block; ++b) {
    const float* block = x + b * kKvQ8Block;
    float amax = 0.0f;
    for (int64_t i = 0; i < kKvQ8Block; ++i) amax = std::fmax(amax, std::fabs(block[i]));
    const float d = amax / 127.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    for (int64_t i = 0; i < kKvQ8Block; ++i) {
      row[b * kKvQ8Block + i] = static_cast<uint8_t>(static_cast<int8_t>(std::roundf(block[i] * id)));
    }
    std::memcpy(row + head_dim + b * 4, &d, 4);
  }
}

void dequantize_kv_row_q8(const uint8_t* row, int64_t head_dim, float* out) {
  for (int64_t b = 0; b < head_dim / kKvQ8Block; ++b) {
    float d;
    std::memcpy(&d, row + head_dim + b * 4, 4);
    for (int64_t i = 0; i < kKvQ8Block; ++i) {
      out[b * kKvQ8Block + i] = static_cast<float>(static_cast<int8_t>(row[b * kKvQ8Block + i])) * d;
    }
  }
}

}  // namespace torchllm

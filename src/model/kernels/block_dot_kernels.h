#pragma once

// The kernels behind block_dot_function, one per weight type and instruction set. The scalar ones are the
// reference: each AVX2/AVX-512 kernel returns exactly what its scalar one does (see block_dot.h).

#include <cstdint>

namespace torchllm::kernels {

#define TORCHLLM_BLOCK_DOT(name) \
  float name(const uint8_t* weight_row, const uint8_t* activation_row, int64_t n)

// 32-element formats: Q8_0, Q4_0, Q5_0 read Q8_0 activations; Q4_1, Q5_1 read Q8_1.
TORCHLLM_BLOCK_DOT(dot_q8_0_scalar);
TORCHLLM_BLOCK_DOT(dot_q4_0_scalar);
TORCHLLM_BLOCK_DOT(dot_q4_1_scalar);
TORCHLLM_BLOCK_DOT(dot_q5_0_scalar);
TORCHLLM_BLOCK_DOT(dot_q5_1_scalar);
TORCHLLM_BLOCK_DOT(dot_q8_0_avx2);
TORCHLLM_BLOCK_DOT(dot_q4_0_avx2);
TORCHLLM_BLOCK_DOT(dot_q4_1_avx2);
TORCHLLM_BLOCK_DOT(dot_q5_0_avx2);
TORCHLLM_BLOCK_DOT(dot_q5_1_avx2);
TORCHLLM_BLOCK_DOT(dot_q8_0_avx512);
TORCHLLM_BLOCK_DOT(dot_q4_0_avx512);
TORCHLLM_BLOCK_DOT(dot_q4_1_avx512);
TORCHLLM_BLOCK_DOT(dot_q5_0_avx512);
TORCHLLM_BLOCK_DOT(dot_q5_1_avx512);

// K formats: Q4_K, Q5_K, Q6_K read Q8_K activations.
TORCHLLM_BLOCK_DOT(dot_q4_k_scalar);
TORCHLLM_BLOCK_DOT(dot_q5_k_scalar);
TORCHLLM_BLOCK_DOT(dot_q6_k_scalar);
TORCHLLM_BLOCK_DOT(dot_q4_k_avx2);
TORCHLLM_BLOCK_DOT(dot_q5_k_avx2);
TORCHLLM_BLOCK_DOT(dot_q6_k_avx2);
TORCHLLM_BLOCK_DOT(dot_q4_k_avx512);
TORCHLLM_BLOCK_DOT(dot_q5_k_avx512);
TORCHLLM_BLOCK_DOT(dot_q6_k_avx512);

#undef TORCHLLM_BLOCK_DOT

// The same for several tokens' activation rows at once (BlockDotManyFn, block_dot.h).
#define TORCHLLM_BLOCK_DOT_MANY(name)                                                             \
  void name(const uint8_t* weight_row, const uint8_t* activation_rows, int64_t activation_stride, \
            int64_t tokens, int64_t n, float* out)

TORCHLLM_BLOCK_DOT_MANY(dot_many_q8_0_avx512);
TORCHLLM_BLOCK_DOT_MANY(dot_many_q4_0_avx512);
TORCHLLM_BLOCK_DOT_MANY(dot_many_q4_1_avx512);
TORCHLLM_BLOCK_DOT_MANY(dot_many_q5_0_avx512);
TORCHLLM_BLOCK_DOT_MANY(dot_many_q5_1_avx512);
TORCHLLM_BLOCK_DOT_MANY(dot_many_q4_k_avx512);
TORCHLLM_BLOCK_DOT_MANY(dot_many_q5_k_avx512);
TORCHLLM_BLOCK_DOT_MANY(dot_many_q6_k_avx512);
TORCHLLM_BLOCK_DOT_MANY(dot_many_q4_k_avx2);
TORCHLLM_BLOCK_DOT_MANY(dot_many_q5_k_avx2);
TORCHLLM_BLOCK_DOT_MANY(dot_many_q6_k_avx2);

#undef TORCHLLM_BLOCK_DOT_MANY

// Several weight rows with one token's activation row (BlockDotRowsFn, block_dot.h).
#define TORCHLLM_BLOCK_DOT_ROWS(name)                                                                       \
  void name(const uint8_t* weight_rows, int64_t weight_stride, const uint8_t* activation_row, int64_t rows, \
            int64_t n, float* out)

TORCHLLM_BLOCK_DOT_ROWS(dot_rows_q4_k_avx512);
TORCHLLM_BLOCK_DOT_ROWS(dot_rows_q5_k_avx512);
TORCHLLM_BLOCK_DOT_ROWS(dot_rows_q6_k_avx512);

#undef TORCHLLM_BLOCK_DOT_ROWS

}  // namespace torchllm::kernels

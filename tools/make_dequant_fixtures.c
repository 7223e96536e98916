// Writes the dequantization fixtures: for each ggml type torchllm reads, blocks of that type and what
// llama.cpp's own reference dequantizer (ggml-base's type_traits to_float, i.e. ggml-quants.c
// dequantize_row_* and ggml.c's fp16/bf16 conversions) makes of them.
//
// Half of the blocks come from ggml's quantizer on seeded normal data (realistic scales); the other half are
// seeded random bytes (every bit pattern of the packed fields, scales that may be subnormal, inf or NaN).
//
//   <type>.blocks  the raw blocks        <type>.f32  the float32 values (little-endian), one per element
//
// Build against the ggml of llama.cpp's source (node-llama-cpp 3.22.1 bundles commit de3ff815ea7d):
//   cmake -S llama.cpp -B build -DGGML_NATIVE=OFF ... && ninja -C build ggml-base
//   cc -O2 -I llama.cpp/ggml/include tools/make_dequant_fixtures.c build/ggml/src/libggml-base.a -lm -lpthread
//      -lstdc++ -o make_dequant_fixtures && ./make_dequant_fixtures tests/data/gguf/dequant
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ggml.h"

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static uint64_t next_u64(void) {  // splitmix64
  uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

static float next_normal(void) {  // Box-Muller
  double u1 = ((next_u64() >> 11) + 1.0) / 9007199254740993.0;
  double u2 = (next_u64() >> 11) / 9007199254740992.0;
  return (float)(sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2));
}

static void write_file(const char* dir, const char* name, const char* ext, const void* data, size_t size) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s.%s", dir, name, ext);
  FILE* f = fopen(path, "wb");
  if (!f || fwrite(data, 1, size, f) != size || fclose(f) != 0) {
    fprintf(stderr, "cannot write %s\n", path);
    exit(1);
  }
}

int main(int argc, char** argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s OUTPUT_DIR\n", argv[0]);
    return 2;
  }
  const enum ggml_type types[] = {GGML_TYPE_F32,  GGML_TYPE_F16,  GGML_TYPE_BF16, GGML_TYPE_Q8_0,
                                  GGML_TYPE_Q4_0, GGML_TYPE_Q4_1, GGML_TYPE_Q5_0, GGML_TYPE_Q5_1,
                                  GGML_TYPE_Q4_K, GGML_TYPE_Q5_K, GGML_TYPE_Q6_K};
  for (size_t t = 0; t < sizeof types / sizeof types[0]; ++t) {
    const enum ggml_type type = types[t];
    // Rows of 512 elements: 2 quantized from normal data (scaled differently), 2 of random bytes.
    const int64_t row = 512, rows = 4, n = row * rows;
    const size_t row_bytes = ggml_row_size(type, row);
    uint8_t* blocks = malloc(row_bytes * rows);
    float* src = malloc(sizeof(float) * row * 2);
    float* out = malloc(sizeof(float) * n);
    for (int64_t i = 0; i < row * 2; ++i) src[i] = next_normal() * (i < row ? 0.02f : 3.0f);
    ggml_quantize_init(type);
    ggml_quantize_chunk(type, src, blocks, 0, 2, row, NULL);
    for (size_t i = 2 * row_bytes; i < rows * row_bytes; ++i) blocks[i] = (uint8_t)next_u64();
    const struct ggml_type_traits* traits = ggml_get_type_traits(type);
    if (type == GGML_TYPE_F32) {
      memcpy(out, blocks, sizeof(float) * n);  // ggml has no to_float for f32: it is the data itself
    } else {
      traits->to_float(blocks, out, n);
    }
    write_file(argv[1], ggml_type_name(type), "blocks", blocks, row_bytes * rows);
    write_file(argv[1], ggml_type_name(type), "f32", out, sizeof(float) * n);
    printf("%-5s %6zu bytes of blocks -> %lld floats\n", ggml_type_name(type), row_bytes * rows, (long long)n);
    free(blocks);
    free(src);
    free(out);
  }
  return 0;
}

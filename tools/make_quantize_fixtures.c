// Writes the quantization fixtures: seeded float rows and what llama.cpp's ggml_quantize_chunk (no importance
// matrix, the path llama-quantize takes without --imatrix) makes of them for every type torchllm writes.
//
// The rows are chosen to reach the quantizers' corner cases, not only typical weights:
//   0 normal * 0.02 (weights)      1 normal * 3 (wide range)        2 normal * 0.02 with sparse x50 outliers
//   3 zeros: whole blocks, single non-zeros, a mostly-zero sub-block
//   4 tiny: 1e-6 scale, 1e-20 (below GROUP_MAX_EPS) and subnormal sub-blocks
//   5 all positive (min > 0)       6 all negative ramps            7 half-integers (rounding ties)
//
//   input.f32     the rows, float32 little-endian, ROWS x ROW_LENGTH
//   <type>.blocks ggml_quantize_chunk's output for the whole input (ggml_type_name, e.g. q4_K.blocks)
//
// Build against the prebuilt ggml of llama.cpp's source (node-llama-cpp 3.22.1 bundles commit de3ff815ea7d;
// built Release, GGML_NATIVE=OFF, so ggml-base's reference quantizers are plain SSE2 code without FMA):
//   cc -O2 -I /tmp/nlc/llama.cpp/ggml/include tools/make_quantize_fixtures.c -L /tmp/nlc/llama.cpp/build/bin
//      -lggml -lggml-base -lm -Wl,-rpath,/tmp/nlc/llama.cpp/build/bin -o /tmp/make_quantize_fixtures
//   /tmp/make_quantize_fixtures tests/data/quantize
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ggml.h"

enum { ROW_LENGTH = 512, ROWS = 8 };

static uint64_t rng_state = 0x5EED0F0A11CE5EEDull;

static uint64_t next_u64(void) {  // splitmix64
  uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

static double next_uniform(void) { return (next_u64() >> 11) / 9007199254740992.0; }  // [0, 1)

static float next_normal(void) {  // Box-Muller
  double u1 = ((next_u64() >> 11) + 1.0) / 9007199254740993.0;
  double u2 = next_uniform();
  return (float)(sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2));
}

static void fill_rows(float* x) {
  for (int r = 0; r < ROWS; ++r) {
    float* row = x + (size_t)r * ROW_LENGTH;
    for (int i = 0; i < ROW_LENGTH; ++i) {
      float v = 0.0f;
      switch (r) {
        case 0: v = next_normal() * 0.02f; break;
        case 1: v = next_normal() * 3.0f; break;
        case 2: v = next_normal() * 0.02f * (next_u64() % 29 == 0 ? 50.0f : 1.0f); break;
        case 3:
          // Elements 0..255 zero (a whole K super-block), a single non-zero in 256..287, a sub-block with two
          // non-zeros of opposite sign, the rest normal.
          if (i < 256) v = 0.0f;
          else if (i < 288) v = i == 270 ? 0.5f : 0.0f;
          else if (i < 320) v = i == 300 ? -0.25f : i == 301 ? 0.125f : 0.0f;
          else v = next_normal() * 0.1f;
          break;
        case 4:
          if (i < 128) v = next_normal() * 1e-6f;
          else if (i < 256) v = next_normal() * 1e-20f;
          else if (i < 384) v = next_normal() * 1e-39f;  // subnormal
          else v = next_normal() * 1e-3f;
          break;
        case 5: v = 0.5f + (float)next_uniform(); break;
        case 6: v = -0.001f * (float)(i % 97) - (float)next_uniform() * 0.01f; break;
        case 7: v = (float)((int64_t)(next_u64() % 33) - 16) * 0.5f; break;
      }
      row[i] = v;
    }
  }
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
  static float input[ROWS * ROW_LENGTH];
  fill_rows(input);
  write_file(argv[1], "input", "f32", input, sizeof input);

  const enum ggml_type types[] = {GGML_TYPE_F32,  GGML_TYPE_F16,  GGML_TYPE_BF16, GGML_TYPE_Q8_0,
                                  GGML_TYPE_Q4_0, GGML_TYPE_Q4_1, GGML_TYPE_Q5_0, GGML_TYPE_Q5_1,
                                  GGML_TYPE_Q4_K, GGML_TYPE_Q5_K, GGML_TYPE_Q6_K};
  for (size_t t = 0; t < sizeof types / sizeof types[0]; ++t) {
    const enum ggml_type type = types[t];
    if (ggml_quantize_requires_imatrix(type)) {
      fprintf(stderr, "%s needs an importance matrix\n", ggml_type_name(type));
      return 1;
    }
    const size_t bytes = ggml_row_size(type, ROW_LENGTH) * ROWS;
    uint8_t* blocks = malloc(bytes);
    memset(blocks, 0xAB, bytes);  // a quantizer that skips a byte shows up
    const size_t written = ggml_quantize_chunk(type, input, blocks, 0, ROWS, ROW_LENGTH, NULL);
    if (written != bytes) {
      fprintf(stderr, "%s: ggml wrote %zu bytes, expected %zu\n", ggml_type_name(type), written, bytes);
      return 1;
    }
    write_file(argv[1], ggml_type_name(type), "blocks", blocks, bytes);
    printf("%-5s %6zu bytes\n", ggml_type_name(type), bytes);
    free(blocks);
  }
  return 0;
}

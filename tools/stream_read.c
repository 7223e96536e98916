// A STREAM-like memory read bandwidth probe for the bound column of tools/bench_vs_llamacpp.sh: sums an array
// of MIB MiB (default 1024) with THREADS OpenMP threads (default: OpenMP's), best of PASSES passes (default 5),
// and prints the read bandwidth in GB/s (1e9 bytes a second) as the last line.
//   cc -O2 -march=x86-64-v3 -fopenmp tools/stream_read.c -o stream_read && ./stream_read [THREADS] [MIB] [PASSES]
// The array is written by the same threads that read it (first touch), so on NUMA machines each thread reads its
// own node's memory. 64-bit integer sums: the compiler may vectorize and reorder them (unlike float sums at -O2).
#include <omp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char** argv) {
  const int threads = argc > 1 && atoi(argv[1]) > 0 ? atoi(argv[1]) : omp_get_max_threads();
  const long mib = argc > 2 && atol(argv[2]) > 0 ? atol(argv[2]) : 1024;
  const int passes = argc > 3 && atoi(argv[3]) > 0 ? atoi(argv[3]) : 5;
  omp_set_num_threads(threads);
  const long n = mib * 1024 * 1024 / (long)sizeof(uint64_t);
  uint64_t* a = aligned_alloc(64, (size_t)n * sizeof(uint64_t));
  if (!a) {
    fprintf(stderr, "stream_read: cannot allocate %ld MiB\n", mib);
    return 1;
  }
#pragma omp parallel for schedule(static)
  for (long i = 0; i < n; ++i) a[i] = (uint64_t)i;
  double best = 0;
  uint64_t check = 0;
  for (int p = 0; p < passes; ++p) {
    uint64_t sum = 0;
    const double start = omp_get_wtime();
#pragma omp parallel for simd schedule(static) reduction(+ : sum)
    for (long i = 0; i < n; ++i) sum += a[i];
    const double s = omp_get_wtime() - start;
    const double gb_s = (double)n * sizeof(uint64_t) / s / 1e9;
    if (gb_s > best) best = gb_s;
    check += sum;
  }
  const uint64_t expected = (uint64_t)passes * ((uint64_t)n * (uint64_t)(n - 1) / 2);
  if (check != expected) {
    fprintf(stderr, "stream_read: wrong sum\n");
    return 1;
  }
  fprintf(stderr, "stream_read: %ld MiB, %d threads, best of %d passes\n", mib, threads, passes);
  printf("%.2f\n", best);
  free(a);
  return 0;
}

// What the native benchmark references share (mam_ref.c, dense_ref.c): the input stream, the
// output checksum and the clock. bench/bench.ts and bench/native-dense.ts rebuild the first two
// in TypeScript, so that both sides are fed and checked alike.
#ifndef MAM_BENCH_COMMON_H
#define MAM_BENCH_COMMON_H
#include <stddef.h>
#include <stdint.h>
#include <time.h>

// A 32-bit LCG (seed it by setting lcg_state) mapped exactly to float32 in [-1, 1).
static uint32_t lcg_state;
static float lcg_next(void) {
  lcg_state = lcg_state * 1664525u + 1013904223u;
  return (float)((double)(lcg_state >> 8) / 16777216.0 * 2.0 - 1.0);
}

// FNV-1a over 32-bit words, continuing from h (start from FNV_BASIS).
#define FNV_BASIS 2166136261u
static uint32_t fnv1a(uint32_t h, const void *data, size_t words) {
  const uint32_t *p = data;
  for (size_t i = 0; i < words; i++) { h ^= p[i]; h *= 16777619u; }
  return h;
}

static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e3 + t.tv_nsec * 1e-6;
}

// For qsort of doubles, ascending.
static int cmp_double(const void *a, const void *b) {
  double d = *(const double *)a - *(const double *)b;
  return (d > 0) - (d < 0);
}
#endif

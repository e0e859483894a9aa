// Native reference for the fused MAM forward, the yardstick for the WebAssembly kernel.
//
//   y[b,k]      = max_j x[b,j] w[j,k] + min_j x[b,j] w[j,k]
//   argmax[b,k] = the j of that max (int32), argmin likewise
//
// Same semantics as src/layers/mam-math.ts (one slice): float32 products, strict > and <
// scanning j upwards (lowest index wins ties), accumulators starting at -inf / +inf.
// Written the plain cache-friendly way: for each row b, stream the kernel row by row and keep
// running max/min/index arrays over k, so the inner loop is contiguous and the compiler
// vectorises it (select-style updates rather than branches, which it cannot vectorise).
//
// Usage: mam_ref B n m
// Prints "checksum <hex>" (FNV-1a over y, argmax, argmin for the LCG input that bench.ts
// rebuilds identically), "ms_per_forward <ms>" and "gprod_per_s <G products/s>".
#define _POSIX_C_SOURCE 199309L
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_common.h"

__attribute__((noinline)) static void mam_forward(
    const float *restrict x, const float *restrict w, int B, int n, int m,
    float *restrict y, int32_t *restrict imax, int32_t *restrict imin,
    float *restrict mx, float *restrict mn) {
  for (int b = 0; b < B; b++) {
    int32_t *restrict ix = imax + (size_t)b * m;
    int32_t *restrict iy = imin + (size_t)b * m;
    for (int k = 0; k < m; k++) { mx[k] = -INFINITY; mn[k] = INFINITY; ix[k] = -1; iy[k] = -1; }
    for (int j = 0; j < n; j++) {
      const float xj = x[(size_t)b * n + j];
      const float *restrict wr = w + (size_t)j * m;
      for (int k = 0; k < m; k++) {
        const float p = xj * wr[k];
        const int gt = p > mx[k], lt = p < mn[k];
        mx[k] = gt ? p : mx[k];
        ix[k] = gt ? j : ix[k];
        mn[k] = lt ? p : mn[k];
        iy[k] = lt ? j : iy[k];
      }
    }
    for (int k = 0; k < m; k++) y[(size_t)b * m + k] = mx[k] + mn[k];
  }
}

// The test input, mirrored in bench.ts: the LCG of bench_common.h seeded 12345.
// Every 10th kernel entry is 0 (a pruned connection) and row 1 of x is all zeros, so that
// ties (including -0 against +0) exercise the lowest-index rule.
static void fill_input(float *x, float *w, int B, int n, int m) {
  lcg_state = 12345u;
  for (size_t i = 0; i < (size_t)B * n; i++) x[i] = lcg_next();
  for (size_t i = 0; i < (size_t)n * m; i++) w[i] = lcg_next();
  for (size_t i = 3; i < (size_t)n * m; i += 10) w[i] = 0.0f;
  if (B > 1) memset(x + n, 0, sizeof(float) * n);
}

int main(int argc, char **argv) {
  if (argc != 4) { fprintf(stderr, "usage: %s B n m\n", argv[0]); return 2; }
  const int B = atoi(argv[1]), n = atoi(argv[2]), m = atoi(argv[3]);
  if (B < 1 || n < 1 || m < 1) { fprintf(stderr, "B, n, m must be >= 1\n"); return 2; }
  // 64-byte alignment: sizes rounded up as aligned_alloc requires.
#define ALLOC(T, count) ((T *)aligned_alloc(64, ((sizeof(T) * (size_t)(count)) + 63) & ~(size_t)63))
  float *x = ALLOC(float, (size_t)B * n), *w = ALLOC(float, (size_t)n * m);
  float *y = ALLOC(float, (size_t)B * m), *mx = ALLOC(float, m), *mn = ALLOC(float, m);
  int32_t *imax = ALLOC(int32_t, (size_t)B * m), *imin = ALLOC(int32_t, (size_t)B * m);
  if (!x || !w || !y || !mx || !mn || !imax || !imin) { fprintf(stderr, "out of memory\n"); return 1; }

  fill_input(x, w, B, n, m);
  mam_forward(x, w, B, n, m, y, imax, imin, mx, mn);
  uint32_t h = FNV_BASIS;
  h = fnv1a(h, y, (size_t)B * m);
  h = fnv1a(h, imax, (size_t)B * m);
  h = fnv1a(h, imin, (size_t)B * m);
  printf("checksum %08x\n", h);

  // Warm up for ~200 ms, size samples to >= 25 ms each, report the median of 9.
  int reps = 0;
  const double t0 = now_ms();
  while (now_ms() - t0 < 200) {
    mam_forward(x, w, B, n, m, y, imax, imin, mx, mn);
    __asm__ volatile("" ::: "memory");  // the outputs count as used: no call is elided
    reps++;
  }
  const double per = (now_ms() - t0) / reps;
  const int iters = per >= 25 ? 1 : (int)ceil(25 / per);
  enum { SAMPLES = 9 };
  double ms[SAMPLES];
  for (int s = 0; s < SAMPLES; s++) {
    const double a = now_ms();
    for (int i = 0; i < iters; i++) {
      mam_forward(x, w, B, n, m, y, imax, imin, mx, mn);
      __asm__ volatile("" ::: "memory");
    }
    ms[s] = (now_ms() - a) / iters;
  }
  qsort(ms, SAMPLES, sizeof ms[0], cmp_double);
  const double med = ms[SAMPLES / 2];
  printf("ms_per_forward %.6f\n", med);
  printf("gprod_per_s %.4f\n", (double)B * n * m / (med * 1e6));
  return 0;
}

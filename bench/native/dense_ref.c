// Native reference for the dense (MAC) layer's three training products, the yardstick for the
// WebAssembly SIMD dense kernel:
//
//   forward  Z[b][k] = sum_j X[b][j] W[j][k]     X [B][n], W [n][m], Z [B][m]
//   grad W   G[j][k] = sum_b X[b][j] D[b][k]     D [B][m], G [n][m]
//   grad X   E[b][j] = sum_k D[b][k] W[j][k]     E [B][n], computed from WT[k][j] = W[j][k]
//
// Every sum runs sequentially over its summed index from an accumulator of 0.0f, one rounding
// per multiply and one per add (acc = acc + a*b), as the wasm kernel does; built with
// -ffp-contract=off the results match it bit for bit. (Without that flag gcc, in its default
// GNU C mode, contracts a*b+c into FMA: different bits, and on Zen 3 barely faster, as these
// loops are bound by loads and stores. Note -std=c99 would turn contraction off as well.) Each product is written the plain way: the summed index is a middle
// loop and the inner loop runs contiguously over an output row, so gcc vectorises it (over k,
// k, j respectively) without reordering any sum; forward and grad X also take output rows four
// at a time (see product()). grad X would naturally vectorise over k, the summed index, which
// reorders the sum; hence the transposed copy WT, made once outside the timed loop and timed on
// its own.
//
// Usage: dense_ref [B n m]   (default 64 512 512)
// Prints "forward gflops=<v> checksum=<hex>", likewise "gradw" and "gradx", and
// "transpose ms=<v>". GFLOP = 2*B*n*m per product; checksum = FNV-1a over the output's 32-bit
// words. Timing: ~100 ms warm-up, then the median of 5 rounds of >= 60 ms each.
#define _POSIX_C_SOURCE 200112L
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "bench_common.h"

// C[r][c] = sum_i A[r][i] P[i][c], A [rows][K], P [K][N], C [rows][N]: forward is
// (X, W) -> Z and grad X is (D, WT) -> E. Rows of C go four at a time, so that each loaded
// row of P serves four rows of C: P (W or WT, 1 MB at the default size) is streamed from L3
// rows/4 times instead of rows times. Measured on the 2-core Zen 3 (B=64, 512 -> 512,
// -ffp-contract=off, best of 40 alternated samples): 26-28 -> 37 GFLOP/s (+30-40%); the
// same blocking over j for grad W (its streamed D is only 128 KB) made it slower, so grad W
// is left plain.
__attribute__((noinline)) static void product(const float *restrict a, const float *restrict p,
                                              int rows, int K, int N, float *restrict c) {
  int r = 0;
  for (; r + 4 <= rows; r += 4) {
    float *restrict c0 = c + (size_t)r * N, *restrict c1 = c0 + N, *restrict c2 = c1 + N,
                    *restrict c3 = c2 + N;
    for (int k = 0; k < N; k++) c0[k] = c1[k] = c2[k] = c3[k] = 0.0f;
    for (int i = 0; i < K; i++) {
      const float *ai = a + (size_t)r * K + i;
      const float a0 = ai[0], a1 = ai[K], a2 = ai[2 * (size_t)K], a3 = ai[3 * (size_t)K];
      const float *restrict pr = p + (size_t)i * N;
      for (int k = 0; k < N; k++) {
        const float pk = pr[k];
        c0[k] = c0[k] + a0 * pk;
        c1[k] = c1[k] + a1 * pk;
        c2[k] = c2[k] + a2 * pk;
        c3[k] = c3[k] + a3 * pk;
      }
    }
  }
  for (; r < rows; r++) {  // the last rows % 4 rows, one at a time
    float *restrict cr = c + (size_t)r * N;
    for (int k = 0; k < N; k++) cr[k] = 0.0f;
    for (int i = 0; i < K; i++) {
      const float ai = a[(size_t)r * K + i];
      const float *restrict pr = p + (size_t)i * N;
      for (int k = 0; k < N; k++) cr[k] = cr[k] + ai * pr[k];
    }
  }
}

__attribute__((noinline)) static void grad_w(const float *restrict x, const float *restrict d,
                                             int B, int n, int m, float *restrict g) {
  for (int j = 0; j < n; j++) {
    float *restrict gr = g + (size_t)j * m;
    for (int k = 0; k < m; k++) gr[k] = 0.0f;
    for (int b = 0; b < B; b++) {
      const float xj = x[(size_t)b * n + j];
      const float *restrict dr = d + (size_t)b * m;
      for (int k = 0; k < m; k++) gr[k] = gr[k] + xj * dr[k];
    }
  }
}

// WT[k][j] = W[j][k], in 8x8 tiles: row by row, the strided side (a 2 KB stride at the
// default size) keeps hitting the same few cache sets; measured 0.75 -> 0.24 ms at 512 x 512.
__attribute__((noinline)) static void transpose(const float *restrict w, int n, int m,
                                                float *restrict wt) {
  for (int j0 = 0; j0 < n; j0 += 8)
    for (int k0 = 0; k0 < m; k0 += 8) {
      const int j1 = j0 + 8 < n ? j0 + 8 : n, k1 = k0 + 8 < m ? k0 + 8 : m;
      for (int j = j0; j < j1; j++)
        for (int k = k0; k < k1; k++) wt[(size_t)k * n + j] = w[(size_t)j * m + k];
    }
}

// The input: the LCG of bench_common.h seeded 12345 (as in mam_ref.c). One stream fills X
// (B*n, row-major), then W (n*m), then D (B*m), with no zeroed entries. native-dense.ts
// (denseLcgInputs) rebuilds it identically.

typedef struct { int B, n, m; float *x, *w, *wt, *d, *z, *g, *e; } Bufs;
static void op_forward(const Bufs *p) { product(p->x, p->w, p->B, p->n, p->m, p->z); }
static void op_grad_w(const Bufs *p) { grad_w(p->x, p->d, p->B, p->n, p->m, p->g); }
static void op_grad_x(const Bufs *p) { product(p->d, p->wt, p->B, p->m, p->n, p->e); }
static void op_transpose(const Bufs *p) { transpose(p->w, p->n, p->m, p->wt); }

/** Median ms per call of op: warm up ~100 ms, then 5 rounds of >= 60 ms. */
static double time_ms(void (*op)(const Bufs *), const Bufs *p) {
  int reps = 0;
  const double t0 = now_ms();
  while (now_ms() - t0 < 100) {
    op(p);
    __asm__ volatile("" ::: "memory");  // the outputs count as used: no call is elided
    reps++;
  }
  const double per = (now_ms() - t0) / reps;
  const int iters = per >= 60 ? 1 : (int)ceil(60 / per);
  enum { ROUNDS = 5 };
  double ms[ROUNDS];
  for (int r = 0; r < ROUNDS; r++) {
    const double a = now_ms();
    for (int i = 0; i < iters; i++) {
      op(p);
      __asm__ volatile("" ::: "memory");
    }
    ms[r] = (now_ms() - a) / iters;
  }
  qsort(ms, ROUNDS, sizeof ms[0], cmp_double);
  return ms[ROUNDS / 2];
}

static void report(const char *name, void (*op)(const Bufs *), const Bufs *p, const float *out,
                   size_t words) {
  op(p);
  const uint32_t h = fnv1a(FNV_BASIS, out, words);
  const double ms = time_ms(op, p);
  printf("%s gflops=%.3f checksum=%08x\n", name, 2.0 * p->B * p->n * p->m / (ms * 1e6),
         (unsigned)h);
}

static float *alloc_floats(size_t count) {
  void *p = NULL;
  return posix_memalign(&p, 64, sizeof(float) * (count ? count : 1)) ? NULL : p;
}

int main(int argc, char **argv) {
  if (argc != 1 && argc != 4) { fprintf(stderr, "usage: %s [B n m]\n", argv[0]); return 2; }
  const int B = argc == 4 ? atoi(argv[1]) : 64;
  const int n = argc == 4 ? atoi(argv[2]) : 512;
  const int m = argc == 4 ? atoi(argv[3]) : 512;
  if (B < 1 || n < 1 || m < 1) { fprintf(stderr, "B, n, m must be >= 1\n"); return 2; }
  Bufs p = {B, n, m,
            alloc_floats((size_t)B * n), alloc_floats((size_t)n * m), alloc_floats((size_t)m * n),
            alloc_floats((size_t)B * m), alloc_floats((size_t)B * m), alloc_floats((size_t)n * m),
            alloc_floats((size_t)B * n)};
  if (!p.x || !p.w || !p.wt || !p.d || !p.z || !p.g || !p.e) {
    fprintf(stderr, "out of memory\n");
    return 1;
  }

  lcg_state = 12345u;
  for (size_t i = 0; i < (size_t)B * n; i++) p.x[i] = lcg_next();
  for (size_t i = 0; i < (size_t)n * m; i++) p.w[i] = lcg_next();
  for (size_t i = 0; i < (size_t)B * m; i++) p.d[i] = lcg_next();
  op_transpose(&p);

  report("forward", op_forward, &p, p.z, (size_t)B * m);
  report("gradw", op_grad_w, &p, p.g, (size_t)n * m);
  report("gradx", op_grad_x, &p, p.e, (size_t)B * n);
  printf("transpose ms=%.4f\n", time_ms(op_transpose, &p));
  return 0;
}

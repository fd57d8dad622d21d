/* sgemm_peak.c: the machine's single-precision matrix-multiply peak through OpenBLAS (large
 * square sgemm, best of several runs), the yardstick for the share of peak the neural models reach.
 * Usage: sgemm_peak [threads=2] [n=2048] */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>

#include "touchpoint/core.h"

int main(int argc, char **argv) {
    int threads = argc > 1 ? atoi(argv[1]) : 2, n = argc > 2 ? atoi(argv[2]) : 2048;
    if (threads < 1 || n < 64) {
        fprintf(stderr, "usage: sgemm_peak [threads >= 1] [n >= 64]\n");
        return 2;
    }
    openblas_set_num_threads(threads);
    float *a = malloc((size_t)n * n * sizeof(float)), *b = malloc((size_t)n * n * sizeof(float));
    float *c = malloc((size_t)n * n * sizeof(float));
    if (!a || !b || !c) return 1;
    for (size_t i = 0; i < (size_t)n * n; i++) a[i] = (float)(i % 7) * 0.1f, b[i] = (float)(i % 5) * 0.1f;
    double best = 1e30;
    for (int rep = 0; rep < 6; rep++) {
        double t0 = tp_now();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1, a, n, b, n, 0, c, n);
        double dt = tp_now() - t0;
        if (rep > 0 && dt < best) best = dt; // the first run warms up
    }
    double gflops = 2.0 * n * n * (double)n / best / 1e9;
    printf("sgemm %dx%d, %d threads (%s): %.1f GFLOP/s\n", n, n, threads, openblas_get_config(), gflops);
    printf("RESULT sgemm_gflops=%.1f threads=%d n=%d\n", gflops, threads, n);
    free(a), free(b), free(c);
    return 0;
}

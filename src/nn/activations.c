/* activations.c: element-wise layers that need a buffer pass (sigmoid, tanh and softplus are
 * inline in nn_proto.h): ReLU, and inverted dropout drawn from per-row RNG streams so a given seed
 * gives the same masks on any thread count. Compiled in float and double (twice.h). */
#ifndef NN_PASS
#define NN_SELF "nn/activations.c"
#include "touchpoint/core.h"
#include "nn/twice.h"
#else

void NN(relu_forward)(real *x, size_t n) {
    for (size_t i = 0; i < n; i++) x[i] = x[i] > 0 ? x[i] : 0;
}

void NN(relu_backward)(real *dx, const real *y, size_t n) {
    for (size_t i = 0; i < n; i++) dx[i] = y[i] > 0 ? dx[i] : 0;
}

// x, mask (N,D); p in [0, 1)
void NN(dropout_forward)(real *x, real *mask, real p, uint64_t seed, uint64_t row0, int N, int D) {
    const real keep = 1 / (1 - p);
    for (int n = 0; n < N; n++) {
        tp_rng rng;
        tp_rng_seed_stream(&rng, seed, row0 + (uint64_t)n);
        for (int d = 0; d < D; d++) {
            size_t k = (size_t)n * D + d;
            mask[k] = tp_rng_uniform(&rng) < (double)p ? 0 : keep;
            x[k] *= mask[k];
        }
    }
}

#endif

/* fastmath.h: float exp, sigmoid and tanh for the hot LSTM loops, 8 lanes at a time through GCC/
 * Clang vector extensions (two SSE registers on baseline x86-64, one AVX register in the AVX2 clone
 * of the callers, see lstm.c) with a
 * scalar twin that runs the same operations for tails. glibc's tanhf (through expm1f) was 60% of
 * training time. exp is Cephes' expf (range reduction by ln 2 in two parts, degree-6 polynomial,
 * ~1 ulp); sigmoid = 1/(1 + e^-x); tanh = 2 sigmoid(2x) - 1 (absolute error ~1e-7). */
#ifndef TP_NN_FASTMATH_H
#define TP_NN_FASTMATH_H

#include <stdint.h>
#include <string.h>

/* Vectors travel by pointer: GCC notes an ABI change for 32-byte vector arguments without AVX. */
typedef float nn_v8 __attribute__((vector_size(32)));
typedef int32_t nn_v8i __attribute__((vector_size(32)));

#define NN_EXP_HI 88.3762626647949f
#define NN_EXP_LO -87.3365478515625f
#define NN_LOG2E 1.44269504088896341f
#define NN_EXP_C1 0.693359375f
#define NN_EXP_C2 -2.12194440e-4f
#define NN_EXP_P0 1.9875691500e-4f
#define NN_EXP_P1 1.3981999507e-3f
#define NN_EXP_P2 8.3334519073e-3f
#define NN_EXP_P3 4.1665795894e-2f
#define NN_EXP_P4 1.6666665459e-1f
#define NN_EXP_P5 5.0000001201e-1f
#define NN_ROUND_MAGIC 12582912.0f /* 1.5 2^23: x + magic - magic rounds to nearest */

#define NN_V8_SET(x) ((nn_v8){(x), (x), (x), (x), (x), (x), (x), (x)})
// lanes where m is set take b, others a
#define NN_V8_SELECT(m, a, b) ((nn_v8)(((nn_v8i)(a) & ~(m)) | ((nn_v8i)(b) & (m))))

static inline void nn_v8_load(nn_v8 *v, const float *p) { memcpy(v, p, sizeof *v); }
static inline void nn_v8_store(float *p, const nn_v8 *v) { memcpy(p, v, sizeof *v); }

static inline void nn_v8_exp(nn_v8 *v) { /* in place */
    nn_v8 x = *v;
    x = NN_V8_SELECT(x > NN_V8_SET(NN_EXP_HI), x, NN_V8_SET(NN_EXP_HI));
    x = NN_V8_SELECT(x < NN_V8_SET(NN_EXP_LO), x, NN_V8_SET(NN_EXP_LO));
    nn_v8 n = (x * NN_LOG2E + NN_ROUND_MAGIC) - NN_ROUND_MAGIC;
    nn_v8 r = x - n * NN_EXP_C1 - n * NN_EXP_C2;
    nn_v8 p = ((((NN_EXP_P0 * r + NN_EXP_P1) * r + NN_EXP_P2) * r + NN_EXP_P3) * r + NN_EXP_P4) * r +
              NN_EXP_P5;
    p = p * r * r + r + 1;
    nn_v8i e = (__builtin_convertvector(n, nn_v8i) + 127) << 23;
    *v = p * (nn_v8)e;
}
static inline void nn_v8_sigmoid(nn_v8 *v) {
    nn_v8 t = -*v;
    nn_v8_exp(&t);
    *v = 1 / (1 + t);
}
static inline void nn_v8_tanh(nn_v8 *v) {
    nn_v8 t = -2 * *v;
    nn_v8_exp(&t);
    *v = 2 / (1 + t) - 1;
}

// ---- small vector helpers for the kernels (float: 8 lanes; double: plain loops for the checks) ----

/* a.b with 8 partial sums added in a fixed order: deterministic, not the serial order. */
static inline float nn_fdot(const float *a, const float *b, int n) {
    int j = 0;
    nn_v8 acc = NN_V8_SET(0.0f), x, y;
    for (; j + 8 <= n; j += 8) {
        nn_v8_load(&x, a + j), nn_v8_load(&y, b + j);
        acc += x * y;
    }
    float s = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
    for (; j < n; j++) s += a[j] * b[j];
    return s;
}
static inline void nn_faxpy(float *y, float a, const float *x, int n) { /* y += a x */
    int j = 0;
    nn_v8 xv, yv;
    for (; j + 8 <= n; j += 8) {
        nn_v8_load(&xv, x + j), nn_v8_load(&yv, y + j);
        yv += a * xv;
        nn_v8_store(y + j, &yv);
    }
    for (; j < n; j++) y[j] += a * x[j];
}
static inline double nn_ddot(const double *a, const double *b, int n) {
    double s = 0;
    for (int j = 0; j < n; j++) s += a[j] * b[j];
    return s;
}
static inline void nn_daxpy(double *y, double a, const double *x, int n) {
    for (int j = 0; j < n; j++) y[j] += a * x[j];
}

static inline float nn_fexp(float x) {
    x = x > NN_EXP_HI ? NN_EXP_HI : x;
    x = x < NN_EXP_LO ? NN_EXP_LO : x;
    float n = (x * NN_LOG2E + NN_ROUND_MAGIC) - NN_ROUND_MAGIC;
    float r = x - n * NN_EXP_C1 - n * NN_EXP_C2;
    float p = ((((NN_EXP_P0 * r + NN_EXP_P1) * r + NN_EXP_P2) * r + NN_EXP_P3) * r + NN_EXP_P4) * r +
              NN_EXP_P5;
    p = p * r * r + r + 1;
    int32_t e = ((int32_t)n + 127) << 23;
    float s;
    memcpy(&s, &e, sizeof s);
    return p * s;
}
static inline float nn_fsigmoid(float x) { return 1 / (1 + nn_fexp(-x)); }
static inline float nn_ftanh(float x) { return 2 / (1 + nn_fexp(-2 * x)) - 1; }

#endif

/* fastmath.h: float exp, sigmoid and tanh for the hot LSTM loops, 4 lanes at a time through GCC/
 * Clang vector extensions (one SSE register on baseline x86-64) with a
 * scalar twin that runs the same operations for tails. glibc's tanhf (through expm1f) was 60% of
 * training time. exp is Cephes' expf (range reduction by ln 2 in two parts, degree-6 polynomial,
 * ~1 ulp); sigmoid = 1/(1 + e^-x); tanh = 2 sigmoid(2x) - 1 (absolute error ~1e-7). */
#ifndef TP_NN_FASTMATH_H
#define TP_NN_FASTMATH_H

#include <stdint.h>
#include <string.h>

typedef float nn_v4 __attribute__((vector_size(16)));
typedef int32_t nn_v4i __attribute__((vector_size(16)));

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

static inline nn_v4 nn_v4_load(const float *p) {
    nn_v4 v;
    memcpy(&v, p, sizeof v);
    return v;
}
static inline void nn_v4_store(float *p, nn_v4 v) { memcpy(p, &v, sizeof v); }
static inline nn_v4 nn_v4_set(float x) { return (nn_v4){x, x, x, x}; }

// lanes where m is set take b, others a
static inline nn_v4 nn_v4_select(nn_v4i m, nn_v4 a, nn_v4 b) {
    return (nn_v4)(((nn_v4i)a & ~m) | ((nn_v4i)b & m));
}

static inline nn_v4 nn_v4_exp(nn_v4 x) {
    x = nn_v4_select(x > nn_v4_set(NN_EXP_HI), x, nn_v4_set(NN_EXP_HI));
    x = nn_v4_select(x < nn_v4_set(NN_EXP_LO), x, nn_v4_set(NN_EXP_LO));
    nn_v4 n = (x * NN_LOG2E + NN_ROUND_MAGIC) - NN_ROUND_MAGIC;
    nn_v4 r = x - n * NN_EXP_C1 - n * NN_EXP_C2;
    nn_v4 p = ((((NN_EXP_P0 * r + NN_EXP_P1) * r + NN_EXP_P2) * r + NN_EXP_P3) * r + NN_EXP_P4) * r +
              NN_EXP_P5;
    p = p * r * r + r + 1;
    nn_v4i e = (__builtin_convertvector(n, nn_v4i) + 127) << 23;
    return p * (nn_v4)e;
}
static inline nn_v4 nn_v4_sigmoid(nn_v4 x) { return 1 / (1 + nn_v4_exp(-x)); }
static inline nn_v4 nn_v4_tanh(nn_v4 x) { return 2 / (1 + nn_v4_exp(-2 * x)) - 1; }

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

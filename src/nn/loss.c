/* loss.c: weighted binary cross-entropy from logits, max(z,0) - z y + log(1 + e^-|z|), which
 * never overflows (the same form as torch's BCEWithLogits). Compiled in float and double. */
#ifndef NN_PASS
#define NN_SELF "nn/loss.c"
#include "nn/twice.h"
#else

// z, y, w (N) -> sum of w_n bce_n
double NN(bce_forward)(const real *z, const real *y, const real *w, int N) {
    double sum = 0;
    for (int n = 0; n < N; n++) {
        real zn = z[n];
        real l = (zn > 0 ? zn : 0) - zn * y[n] + NN_LOG1P(NN_EXP(-(zn > 0 ? zn : -zn)));
        sum += (double)(w ? w[n] * l : l);
    }
    return sum;
}

// dz (N) = scale w (sigmoid(z) - y)
void NN(bce_backward)(real *dz, const real *z, const real *y, const real *w, real scale, int N) {
    for (int n = 0; n < N; n++) dz[n] = scale * (w ? w[n] : 1) * (NN(sigmoid)(z[n]) - y[n]);
}

#endif

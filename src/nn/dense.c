/* dense.c: fully connected layer y = x W^T + b on BLAS, forward and backward. W is stored
 * (O,F) like torch.nn.Linear so reference weights load without transposing.
 * Compiled in float and double (twice.h). */
#ifndef NN_PASS
#define NN_SELF "nn/dense.c"
#include "nn/twice.h"
#else

// in (N,F), W (O,F), b (O) or NULL -> out (N,O)
void NN(dense_forward)(real *out, const real *in, const real *W, const real *b, int N, int F,
                       int O) {
    if (N <= 0 || O <= 0) return;
    if (b) {
        for (int n = 0; n < N; n++) memcpy(out + (size_t)n * O, b, (size_t)O * sizeof(real));
    }
    if (F <= 0) {
        if (!b) memset(out, 0, (size_t)N * O * sizeof(real));
        return;
    }
    NN_GEMM(CblasRowMajor, CblasNoTrans, CblasTrans, N, O, F, 1, in, F, W, F, b ? 1 : 0, out, O);
}

// dout (N,O): din (N,F) +=, dW (O,F) +=, db (O) +=
void NN(dense_backward)(real *din, real *dW, real *db, const real *dout, const real *in,
                        const real *W, int N, int F, int O) {
    if (N <= 0 || O <= 0) return;
    if (F > 0) {
        if (din)
            NN_GEMM(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, F, O, 1, dout, O, W, F, 1, din,
                    F);
        NN_GEMM(CblasRowMajor, CblasTrans, CblasNoTrans, O, F, N, 1, dout, O, in, F, 1, dW, F);
    }
    if (db) {
        for (int n = 0; n < N; n++) {
            const real *d = dout + (size_t)n * O;
            for (int o = 0; o < O; o++) db[o] += d[o];
        }
    }
}

#endif

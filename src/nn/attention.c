/* attention.c: masked attention pooling over LSTM states: s_t = w.h_t - decay age_t (the paper's
 * time-decay attention when age is given), a = softmax over the real steps only, ctx = sum a_t h_t.
 * Padding steps get exactly zero weight and no gradient (DESIGN.md: the reference attends to
 * padding). Compiled in float and double (twice.h). */
#ifndef NN_PASS
#define NN_SELF "nn/attention.c"
#include "nn/twice.h"
#else

// h (T,N,H) time-major, w (H), age (N,T) or NULL, len (N) -> a (N,T), ctx (N,H)
NN_CLONES void NN(attention_forward)(real *ctx, real *a, const real *h, const real *w, const real *age,
                           real decay, const int *len, int T, int N, int H) {
    for (int n = 0; n < N; n++) {
        real *an = a + (size_t)n * T, *cn = ctx + (size_t)n * H;
        const int L = len[n];
        memset(an, 0, (size_t)T * sizeof(real));
        memset(cn, 0, (size_t)H * sizeof(real));
        if (L <= 0) continue;
        real mx = 0;
        for (int t = 0; t < L; t++) {
            const real *ht = h + ((size_t)t * N + n) * H;
            real s = NN_VDOT(w, ht, H);
            if (age) s -= decay * age[(size_t)n * T + t];
            an[t] = s;
            if (t == 0 || s > mx) mx = s;
        }
        real sum = 0;
        for (int t = 0; t < L; t++) {
            an[t] = NN_EXP(an[t] - mx);
            sum += an[t];
        }
        const real inv = 1 / sum;
        for (int t = 0; t < L; t++) {
            an[t] *= inv;
            NN_AXPY(cn, an[t], h + ((size_t)t * N + n) * H, H);
        }
    }
}

// dctx (N,H) -> dh (T,N,H) +=, dw (H) +=, *ddecay +=
NN_CLONES void NN(attention_backward)(real *dh, real *dw, real *ddecay, const real *dctx, const real *a,
                            const real *h, const real *w, const real *age, const int *len, int T,
                            int N, int H) {
    for (int n = 0; n < N; n++) {
        const real *an = a + (size_t)n * T, *dc = dctx + (size_t)n * H;
        const int L = len[n];
        if (L <= 0) continue;
        // da_t = dctx.h_t; ds_t = a_t (da_t - sum_u a_u da_u) (softmax Jacobian)
        real da[L], mean = 0;
        for (int t = 0; t < L; t++) {
            const real *ht = h + ((size_t)t * N + n) * H;
            da[t] = NN_VDOT(dc, ht, H);
            mean += an[t] * da[t];
        }
        for (int t = 0; t < L; t++) {
            const real *ht = h + ((size_t)t * N + n) * H;
            real *dht = dh + ((size_t)t * N + n) * H;
            const real ds = an[t] * (da[t] - mean), at = an[t];
            NN_AXPY(dht, at, dc, H);
            NN_AXPY(dht, ds, w, H);
            NN_AXPY(dw, ds, ht, H);
            if (age) *ddecay -= ds * age[(size_t)n * T + t];
        }
    }
}

#endif

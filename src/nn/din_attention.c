/* din_attention.c: DIN's local activation unit pieces (arXiv 1706.06978 §4.3): the attention
 * MLP input [q, k, q-k, q*k] and masked softmax pooling of the history. The MLP itself is
 * nn_dense + nn_relu. Padding slots get zero weight and no gradient. Compiled in float and double. */
#ifndef NN_PASS
#define NN_SELF "nn/din_attention.c"
#include "nn/din.h"
#include "nn/twice.h"
#else

// q (N,E), k (N,T,E) -> feat (N,T,4E)
void NN_SFX(din_features_forward)(real *feat, const real *q, const real *k, const int *len, int N,
                                  int T, int E) {
    for (int n = 0; n < N; n++) {
        const real *qn = q + (size_t)n * E;
        for (int t = 0; t < T; t++) {
            real *f = feat + ((size_t)n * T + t) * 4 * E;
            if (t >= len[n]) {
                memset(f, 0, (size_t)4 * E * sizeof(real));
                continue;
            }
            const real *kt = k + ((size_t)n * T + t) * E;
            for (int e = 0; e < E; e++) {
                f[e] = qn[e];
                f[E + e] = kt[e];
                f[2 * E + e] = qn[e] - kt[e];
                f[3 * E + e] = qn[e] * kt[e];
            }
        }
    }
}

void NN_SFX(din_features_backward)(real *dq, real *dk, const real *dfeat, const real *q,
                                   const real *k, const int *len, int N, int T, int E) {
    for (int n = 0; n < N; n++) {
        const real *qn = q + (size_t)n * E;
        real *dqn = dq + (size_t)n * E;
        for (int t = 0; t < len[n] && t < T; t++) {
            const real *f = dfeat + ((size_t)n * T + t) * 4 * E;
            const real *kt = k + ((size_t)n * T + t) * E;
            real *dkt = dk + ((size_t)n * T + t) * E;
            for (int e = 0; e < E; e++) {
                dqn[e] += f[e] + f[2 * E + e] + f[3 * E + e] * kt[e];
                dkt[e] += f[E + e] - f[2 * E + e] + f[3 * E + e] * qn[e];
            }
        }
    }
}

void NN_SFX(din_pool_forward)(real *v, real *w, const real *s, const real *k, const int *len, int N,
                              int T, int E) {
    for (int n = 0; n < N; n++) {
        real *wn = w + (size_t)n * T, *vn = v + (size_t)n * E;
        const real *sn = s + (size_t)n * T;
        const int L = len[n] < T ? len[n] : T;
        memset(wn, 0, (size_t)T * sizeof(real));
        memset(vn, 0, (size_t)E * sizeof(real));
        if (L <= 0) continue;
        real mx = sn[0];
        for (int t = 1; t < L; t++) mx = sn[t] > mx ? sn[t] : mx;
        real sum = 0;
        for (int t = 0; t < L; t++) sum += wn[t] = NN_EXP(sn[t] - mx);
        for (int t = 0; t < L; t++) {
            wn[t] /= sum;
            const real *kt = k + ((size_t)n * T + t) * E;
            for (int e = 0; e < E; e++) vn[e] += wn[t] * kt[e];
        }
    }
}

void NN_SFX(din_pool_backward)(real *dk, real *ds, const real *dv, const real *w, const real *k,
                               const int *len, int N, int T, int E) {
    for (int n = 0; n < N; n++) {
        const real *wn = w + (size_t)n * T, *dvn = dv + (size_t)n * E;
        real *dsn = ds + (size_t)n * T;
        const int L = len[n] < T ? len[n] : T;
        memset(dsn, 0, (size_t)T * sizeof(real));
        real mean = 0;
        for (int t = 0; t < L; t++) {
            const real *kt = k + ((size_t)n * T + t) * E;
            real *dkt = dk + ((size_t)n * T + t) * E;
            real dw = 0;
            for (int e = 0; e < E; e++) {
                dw += dvn[e] * kt[e];
                dkt[e] += wn[t] * dvn[e];
            }
            dsn[t] = dw;
            mean += wn[t] * dw;
        }
        for (int t = 0; t < L; t++) dsn[t] = wn[t] * (dsn[t] - mean); // softmax Jacobian
    }
}

#endif

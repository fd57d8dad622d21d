/* din.c: the DIN-style click model (issue #6 §2): keyword embeddings; attention of the candidate
 * over the user's history through an MLP on [q, k, q-k, q*k] (masked softmax, padding gets zero
 * weight and no gradient); user vector = weighted sum; click logit = MLP([user vector, q]).
 * Built on src/nn/ kernels; compiled in float and double (nn/twice.h) for gradient checks. */
#ifndef NN_PASS
#define NN_SELF "lookalike/din.c"
#include "lookalike/din_impl.h"

din_layout din_layout_of(const din_dims *d) {
    din_layout l;
    size_t o = 0;
    l.emb = o, o += (size_t)d->V * d->E;
    l.A1 = o, o += (size_t)d->A * 4 * d->E;
    l.b1 = o, o += (size_t)d->A;
    l.a2 = o, o += (size_t)d->A;
    l.b2 = o, o += 1;
    l.O1 = o, o += (size_t)d->H * 2 * d->E;
    l.c1 = o, o += (size_t)d->H;
    l.o2 = o, o += (size_t)d->H;
    l.c2 = o, o += 1;
    l.n = o;
    return l;
}

/* Scratch layout for N samples, NT = N*T rows:
 * q (N,E) k (NT,E) feat (NT,4E) h1 (NT,A) s (NT) w (NT) v (N,E) z (N,2E) g1 (N,H) logit (N)
 * | dlogit (N) dg1 (N,H) dz (N,2E) dq (N,E) dk (NT,E) ds (NT) dh1 (NT,A) dfeat (NT,4E) */
typedef struct ws_off {
    size_t q, k, feat, h1, s, w, v, z, g1, logit, dlogit, dg1, dz, dq, dk, ds, dh1, dfeat, n;
} ws_off;
static ws_off ws_layout(const din_dims *d, int N) {
    const size_t E = (size_t)d->E, NT = (size_t)N * d->T;
    ws_off w;
    size_t o = 0;
    w.q = o, o += N * E;
    w.k = o, o += NT * E;
    w.feat = o, o += NT * 4 * E;
    w.h1 = o, o += NT * d->A;
    w.s = o, o += NT;
    w.w = o, o += NT;
    w.v = o, o += N * E;
    w.z = o, o += N * 2 * E;
    w.g1 = o, o += (size_t)N * d->H;
    w.logit = o, o += N;
    w.dlogit = o, o += N;
    w.dg1 = o, o += (size_t)N * d->H;
    w.dz = o, o += N * 2 * E;
    w.dq = o, o += N * E;
    w.dk = o, o += NT * E;
    w.ds = o, o += NT;
    w.dh1 = o, o += NT * d->A;
    w.dfeat = o, o += NT * 4 * E;
    w.n = o;
    return w;
}
size_t din_ws_size(const din_dims *d, int N) { return ws_layout(d, N).n; }

#include "nn/twice.h"
#else

double NN_SFX(din_model_forward)(const din_dims *d, const real *p, const int32_t *cand,
                                 const int32_t *hist, const int *len, const real *y, int N,
                                 real *ws, real *prob) {
    const int E = d->E, T = d->T, A = d->A, H = d->H, NT = N * T;
    const din_layout L = din_layout_of(d);
    const ws_off W = ws_layout(d, N);
    real *q = ws + W.q, *k = ws + W.k, *feat = ws + W.feat, *h1 = ws + W.h1, *s = ws + W.s,
         *w = ws + W.w, *v = ws + W.v, *z = ws + W.z, *g1 = ws + W.g1, *logit = ws + W.logit;
    NN(embedding_forward)(q, p + L.emb, cand, N, E);
    NN(embedding_forward)(k, p + L.emb, hist, NT, E);
    // attention MLP on [q, k, q-k, q*k] -> one score per slot
    NN_SFX(din_features_forward)(feat, q, k, len, N, T, E);
    NN(dense_forward)(h1, feat, p + L.A1, p + L.b1, NT, 4 * E, A);
    NN(relu_forward)(h1, (size_t)NT * A);
    NN(dense_forward)(s, h1, p + L.a2, p + L.b2, NT, A, 1);
    NN_SFX(din_pool_forward)(v, w, s, k, len, N, T, E);
    // output MLP on [v, q]
    for (int n = 0; n < N; n++) {
        memcpy(z + (size_t)n * 2 * E, v + (size_t)n * E, (size_t)E * sizeof(real));
        memcpy(z + (size_t)n * 2 * E + E, q + (size_t)n * E, (size_t)E * sizeof(real));
    }
    NN(dense_forward)(g1, z, p + L.O1, p + L.c1, N, 2 * E, H);
    NN(relu_forward)(g1, (size_t)N * H);
    NN(dense_forward)(logit, g1, p + L.o2, p + L.c2, N, H, 1);
    if (prob)
        for (int n = 0; n < N; n++) prob[n] = NN(sigmoid)(logit[n]);
    return y ? NN(bce_forward)(logit, y, NULL, N) : 0;
}

void NN_SFX(din_model_backward)(const din_dims *d, const real *p, real *grad, const int32_t *cand,
                                const int32_t *hist, const int *len, const real *y, int N,
                                real *ws, real scale) {
    const int E = d->E, T = d->T, A = d->A, H = d->H, NT = N * T;
    const din_layout L = din_layout_of(d);
    const ws_off W = ws_layout(d, N);
    real *q = ws + W.q, *k = ws + W.k, *feat = ws + W.feat, *h1 = ws + W.h1, *w = ws + W.w,
         *z = ws + W.z, *g1 = ws + W.g1, *logit = ws + W.logit;
    real *dlogit = ws + W.dlogit, *dg1 = ws + W.dg1, *dz = ws + W.dz, *dq = ws + W.dq,
         *dk = ws + W.dk, *ds = ws + W.ds, *dh1 = ws + W.dh1, *dfeat = ws + W.dfeat;
    memset(dg1, 0, (size_t)N * H * sizeof(real));
    memset(dz, 0, (size_t)N * 2 * E * sizeof(real));
    memset(dq, 0, (size_t)N * E * sizeof(real));
    memset(dk, 0, (size_t)NT * E * sizeof(real));
    memset(dh1, 0, (size_t)NT * A * sizeof(real));
    memset(dfeat, 0, (size_t)NT * 4 * E * sizeof(real));
    NN(bce_backward)(dlogit, logit, y, NULL, scale, N);
    NN(dense_backward)(dg1, grad + L.o2, grad + L.c2, dlogit, g1, p + L.o2, N, H, 1);
    NN(relu_backward)(dg1, g1, (size_t)N * H);
    NN(dense_backward)(dz, grad + L.O1, grad + L.c1, dg1, z, p + L.O1, N, 2 * E, H);
    // dz rows are [dv, dq]
    for (int n = 0; n < N; n++)
        for (int e = 0; e < E; e++) dq[(size_t)n * E + e] += dz[(size_t)n * 2 * E + E + e];
    // dv is strided inside dz, so the pooling backward runs one row at a time
    for (int n = 0; n < N; n++) {
        const real *dvn = dz + (size_t)n * 2 * E;
        NN_SFX(din_pool_backward)(dk + (size_t)n * T * E, ds + (size_t)n * T, dvn,
                                  w + (size_t)n * T, k + (size_t)n * T * E, len + n, 1, T, E);
    }
    // score = a2 . h1 + b2: dh1 = ds a2 (padding rows have ds = 0)
    NN(dense_backward)(dh1, grad + L.a2, grad + L.b2, ds, h1, p + L.a2, NT, A, 1);
    NN(relu_backward)(dh1, h1, (size_t)NT * A);
    NN(dense_backward)(dfeat, grad + L.A1, grad + L.b1, dh1, feat, p + L.A1, NT, 4 * E, A);
    NN_SFX(din_features_backward)(dq, dk, dfeat, q, k, len, N, T, E);
    NN(embedding_backward)(grad + L.emb, dq, cand, N, E);
    NN(embedding_backward)(grad + L.emb, dk, hist, NT, E);
}

#endif

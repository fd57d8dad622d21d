/* lstm.c: LSTM layer, forward and backward, time-major (T,N,.) and packed like cuDNN: rows are
 * sorted by length so the rows alive at step t are a prefix, and padding never runs through the
 * state. Gates are [i f g o] (PyTorch's order) with two matrices: the input projection x W_x^T + b
 * is done by the caller (a dense layer, or a per-campaign table gathered by the model), the
 * recurrence h_{t-1} W_h^T here, W_h (4H,H). Compiled in float and double (twice.h). */
#ifndef NN_PASS
#define NN_SELF "nn/lstm.c"
#include "nn/twice.h"
#else

// gates (T,N,4H) in: input projections, out: [i f g o] activations; h, c, tc (T,N,H)
void NN(lstm_forward)(real *h, real *c, real *tc, real *gates, const real *Wh, const int *n_active,
                      int T, int N, int H) {
    const size_t G4 = (size_t)4 * H;
    for (int t = 0; t < T; t++) {
        const int na = n_active[t];
        real *G = gates + (size_t)t * N * G4;
        real *ht = h + (size_t)t * N * H, *ct = c + (size_t)t * N * H, *tct = tc + (size_t)t * N * H;
        const real *hp = ht - (size_t)N * H, *cp = ct - (size_t)N * H;
        if (t > 0 && na > 0)
            NN_GEMM(CblasRowMajor, CblasNoTrans, CblasTrans, na, (int)G4, H, 1, hp, H, Wh, H, 1, G,
                    (int)G4);
        for (int r = 0; r < na; r++) {
            real *g = G + r * G4;
            for (int j = 0; j < H; j++) {
                real ig = NN(sigmoid)(g[j]), fg = NN(sigmoid)(g[H + j]);
                real gg = NN_TANH(g[2 * H + j]), og = NN(sigmoid)(g[3 * H + j]);
                real cv = ig * gg + (t > 0 ? fg * cp[(size_t)r * H + j] : 0);
                real tcv = NN_TANH(cv);
                g[j] = ig, g[H + j] = fg, g[2 * H + j] = gg, g[3 * H + j] = og;
                ct[(size_t)r * H + j] = cv;
                tct[(size_t)r * H + j] = tcv;
                ht[(size_t)r * H + j] = og * tcv;
            }
        }
        if (na < N) memset(ht + (size_t)na * H, 0, (size_t)(N - na) * H * sizeof(real));
    }
}

// dh (T,N,H) in: gradient from above, out: total; gates out: d(pre-activations); dWh (4H,H) +=
void NN(lstm_backward)(real *gates, real *dWh, real *dh, real *dc, const real *h, const real *c,
                       const real *tc, const real *Wh, const int *n_active, int T, int N, int H) {
    const size_t G4 = (size_t)4 * H;
    memset(dc, 0, (size_t)N * H * sizeof(real));
    for (int t = T - 1; t >= 0; t--) {
        const int na = n_active[t];
        if (na == 0) continue;
        real *G = gates + (size_t)t * N * G4;
        const real *dht = dh + (size_t)t * N * H, *tct = tc + (size_t)t * N * H;
        const real *cp = c + (size_t)(t - 1) * N * H;
        for (int r = 0; r < na; r++) {
            real *g = G + r * G4;
            for (int j = 0; j < H; j++) {
                const size_t k = (size_t)r * H + j;
                real ig = g[j], fg = g[H + j], gg = g[2 * H + j], og = g[3 * H + j];
                real tcv = tct[k], dhv = dht[k];
                real dct = dc[k] + dhv * og * (1 - tcv * tcv);
                real cprev = t > 0 ? cp[k] : 0;
                g[j] = dct * gg * ig * (1 - ig);
                g[H + j] = dct * cprev * fg * (1 - fg);
                g[2 * H + j] = dct * ig * (1 - gg * gg);
                g[3 * H + j] = dhv * tcv * og * (1 - og);
                dc[k] = dct * fg;
            }
        }
        if (t > 0) {
            const real *hp = h + (size_t)(t - 1) * N * H;
            real *dhp = dh + (size_t)(t - 1) * N * H;
            NN_GEMM(CblasRowMajor, CblasNoTrans, CblasNoTrans, na, H, (int)G4, 1, G, (int)G4, Wh, H,
                    1, dhp, H);
            NN_GEMM(CblasRowMajor, CblasTrans, CblasNoTrans, (int)G4, H, na, 1, G, (int)G4, hp, H, 1,
                    dWh, H);
        }
    }
}

#endif

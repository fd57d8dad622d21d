/* lstm.c: LSTM layer, forward and backward, time-major (T,N,.) and packed like cuDNN: rows are
 * sorted by length so the rows alive at step t are a prefix, and padding never runs through the
 * state. Gates are [i f g o] (PyTorch's order) with two matrices: the input projection x W_x^T + b
 * is done by the caller (a dense layer, or a per-campaign table gathered by the model), the
 * recurrence h_{t-1} W_h^T here, W_h (4H,H). Compiled in float and double (twice.h). */
#ifndef NN_PASS
#define NN_SELF "nn/lstm.c"
#include "nn/twice.h"
#else

// One row of one step: g (4H) pre-activations -> activations; c = f cp + i g, h = o tanh(c).
// cp is NULL at t = 0 (zero state).
NN_CLONES static void NN(lstm_cell)(real *g, const real *cp, real *c, real *tc, real *h, int H) {
    int j = 0;
#ifndef NN_REAL_DOUBLE
    for (; j + 8 <= H; j += 8) {
        nn_v8 ig, fg, gg, og, cv, tcv, hv, cpv;
        nn_v8_load(&ig, g + j), nn_v8_load(&fg, g + H + j);
        nn_v8_load(&gg, g + 2 * H + j), nn_v8_load(&og, g + 3 * H + j);
        nn_v8_sigmoid(&ig), nn_v8_sigmoid(&fg), nn_v8_tanh(&gg), nn_v8_sigmoid(&og);
        cv = ig * gg;
        if (cp) {
            nn_v8_load(&cpv, cp + j);
            cv += fg * cpv;
        }
        tcv = cv;
        nn_v8_tanh(&tcv);
        hv = og * tcv;
        nn_v8_store(g + j, &ig), nn_v8_store(g + H + j, &fg);
        nn_v8_store(g + 2 * H + j, &gg), nn_v8_store(g + 3 * H + j, &og);
        nn_v8_store(c + j, &cv), nn_v8_store(tc + j, &tcv), nn_v8_store(h + j, &hv);
    }
#define CELL_SIGMOID nn_fsigmoid
#define CELL_TANH nn_ftanh
#else
#define CELL_SIGMOID NN(sigmoid)
#define CELL_TANH NN_TANH
#endif
    for (; j < H; j++) {
        real ig = CELL_SIGMOID(g[j]), fg = CELL_SIGMOID(g[H + j]);
        real gg = CELL_TANH(g[2 * H + j]), og = CELL_SIGMOID(g[3 * H + j]);
        real cv = ig * gg + (cp ? fg * cp[j] : 0);
        real tcv = CELL_TANH(cv);
        g[j] = ig, g[H + j] = fg, g[2 * H + j] = gg, g[3 * H + j] = og;
        c[j] = cv, tc[j] = tcv, h[j] = og * tcv;
    }
#undef CELL_SIGMOID
#undef CELL_TANH
}

// One row of one step backward: g (4H) activations -> gradients on the pre-activations; dc (H)
// in: gradient on c_t from step t+1, out: on c_{t-1}. cp NULL at t = 0.
NN_CLONES static void NN(lstm_cell_backward)(real *g, const real *cp, const real *tc,
                                             const real *dh, real *dc, int H) {
    int j = 0;
#ifndef NN_REAL_DOUBLE
    for (; j + 8 <= H; j += 8) {
        nn_v8 ig, fg, gg, og, tcv, dhv, dcv, cpv = NN_V8_SET(0.0f), dct, out;
        nn_v8_load(&ig, g + j), nn_v8_load(&fg, g + H + j);
        nn_v8_load(&gg, g + 2 * H + j), nn_v8_load(&og, g + 3 * H + j);
        nn_v8_load(&tcv, tc + j), nn_v8_load(&dhv, dh + j), nn_v8_load(&dcv, dc + j);
        if (cp) nn_v8_load(&cpv, cp + j);
        dct = dcv + dhv * og * (1 - tcv * tcv);
        out = dct * gg * ig * (1 - ig), nn_v8_store(g + j, &out);
        out = dct * cpv * fg * (1 - fg), nn_v8_store(g + H + j, &out);
        out = dct * ig * (1 - gg * gg), nn_v8_store(g + 2 * H + j, &out);
        out = dhv * tcv * og * (1 - og), nn_v8_store(g + 3 * H + j, &out);
        out = dct * fg, nn_v8_store(dc + j, &out);
    }
#endif
    for (; j < H; j++) {
        real ig = g[j], fg = g[H + j], gg = g[2 * H + j], og = g[3 * H + j];
        real tcv = tc[j], dhv = dh[j];
        real dct = dc[j] + dhv * og * (1 - tcv * tcv);
        real cprev = cp ? cp[j] : 0;
        g[j] = dct * gg * ig * (1 - ig);
        g[H + j] = dct * cprev * fg * (1 - fg);
        g[2 * H + j] = dct * ig * (1 - gg * gg);
        g[3 * H + j] = dhv * tcv * og * (1 - og);
        dc[j] = dct * fg;
    }
}

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
        for (int r = 0; r < na; r++)
            NN(lstm_cell)(G + r * G4, t > 0 ? cp + (size_t)r * H : NULL, ct + (size_t)r * H,
                          tct + (size_t)r * H, ht + (size_t)r * H, H);
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
        for (int r = 0; r < na; r++)
            NN(lstm_cell_backward)(G + r * G4, t > 0 ? cp + (size_t)r * H : NULL,
                                   tct + (size_t)r * H, dht + (size_t)r * H, dc + (size_t)r * H, H);
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

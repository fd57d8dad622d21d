/* test_nn.c: the nn kernels and the attention model (dnamta). Every backward pass is checked
 * against central finite differences in double precision (the kernels and the model core are
 * compiled in double too), the float model against the double one, the optimisers against
 * hand-computed steps, and determinism for a seed and thread count. */
#include "attribution/dnamta_core.h"
#include "nn/fastmath.h"
#include "nn/nn.h"
#include "test.h"
#include "touchpoint/core.h"
#include "touchpoint/dnamta.h"

#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#define EPS 1e-5

// max |a - b| / max(|a|, |b|, 1e-3) (a relative difference that ignores noise on tiny gradients)
static double rel_diff(const double *a, const double *b, size_t n, size_t *where) {
    double worst = 0;
    for (size_t i = 0; i < n; i++) {
        double s = fabs(a[i]) > fabs(b[i]) ? fabs(a[i]) : fabs(b[i]);
        double d = fabs(a[i] - b[i]) / (s > 1e-3 ? s : 1e-3);
        if (d > worst) {
            worst = d;
            if (where) *where = i;
        }
    }
    return worst;
}

static void report(const char *what, const double *analytic, const double *numeric, size_t n,
                   double tol) {
    size_t at = 0;
    double d = rel_diff(analytic, numeric, n, &at);
    printf("    %-34s %5zu values, max rel diff %.3g\n", what, n, d);
    CHECK(d <= tol);
    if (d > tol) printf("      at %zu: analytic %.10g numeric %.10g\n", at, analytic[at], numeric[at]);
}

static void fill(double *x, size_t n, tp_rng *r, double scale) {
    for (size_t i = 0; i < n; i++) x[i] = (2 * tp_rng_uniform(r) - 1) * scale;
}

static double dotd(const double *a, const double *b, size_t n) {
    double s = 0;
    for (size_t i = 0; i < n; i++) s += a[i] * b[i];
    return s;
}

// ---- kernels ----

static void test_dense(void) {
    enum { N = 3, F = 4, O = 5 };
    tp_rng r;
    tp_rng_seed(&r, 1);
    double in[N * F], W[O * F], b[O], R[N * O], out[N * O];
    fill(in, N * F, &r, 1), fill(W, O * F, &r, 1), fill(b, O, &r, 1), fill(R, N * O, &r, 1);
    double din[N * F] = {0}, dW[O * F] = {0}, db[O] = {0};
    nn_dense_backward_d(din, dW, db, R, in, W, N, F, O);
    double num[O * F];
    double *xs[] = {in, W, b};
    size_t ns[] = {N * F, O * F, O};
    double *an[] = {din, dW, db};
    const char *names[] = {"dense d in", "dense d W", "dense d b"};
    for (int k = 0; k < 3; k++) {
        for (size_t i = 0; i < ns[k]; i++) {
            double keep = xs[k][i];
            xs[k][i] = keep + EPS;
            nn_dense_forward_d(out, in, W, b, N, F, O);
            double lp = dotd(R, out, N * O);
            xs[k][i] = keep - EPS;
            nn_dense_forward_d(out, in, W, b, N, F, O);
            double lm = dotd(R, out, N * O);
            xs[k][i] = keep;
            num[i] = (lp - lm) / (2 * EPS);
        }
        report(names[k], an[k], num, ns[k], 1e-6);
    }
    // a hand-computed value: out[0][0] = in[0].W[0] + b[0]
    nn_dense_forward_d(out, in, W, b, N, F, O);
    CHECK_CLOSE(out[0], dotd(in, W, F) + b[0], 1e-12);
}

static void test_embedding(void) {
    enum { V = 4, E = 3, N = 5 };
    tp_rng r;
    tp_rng_seed(&r, 2);
    double table[V * E], R[N * E], out[N * E], dtable[V * E] = {0}, num[V * E];
    int32_t idx[N] = {2, -1, 0, 2, -1};
    fill(table, V * E, &r, 1), fill(R, N * E, &r, 1);
    nn_embedding_forward_d(out, table, idx, N, E);
    CHECK(out[1 * E] == 0 && out[1 * E + 1] == 0 && out[4 * E + 2] == 0); // padding: zero rows
    CHECK(out[3 * E + 1] == table[2 * E + 1]);
    nn_embedding_backward_d(dtable, R, idx, N, E);
    for (size_t i = 0; i < V * E; i++) {
        double keep = table[i];
        table[i] = keep + EPS;
        nn_embedding_forward_d(out, table, idx, N, E);
        double lp = dotd(R, out, N * E);
        table[i] = keep - EPS;
        nn_embedding_forward_d(out, table, idx, N, E);
        double lm = dotd(R, out, N * E);
        table[i] = keep;
        num[i] = (lp - lm) / (2 * EPS);
    }
    report("embedding d table", dtable, num, V * E, 1e-6);
    CHECK(dtable[1 * E] == 0 && dtable[3 * E + 2] == 0); // never indexed: no gradient
}

enum { LT = 4, LN = 3, LH = 3 };
static const int lstm_active[LT] = {3, 2, 1, 1}; // lengths 4, 2, 1

// loss sum R.h over the packed LSTM, from input projections gx
static double lstm_loss(const double *gx, const double *Wh, const double *R) {
    static double gates[LT * LN * 4 * LH], h[LT * LN * LH], c[LT * LN * LH], tc[LT * LN * LH];
    memcpy(gates, gx, sizeof gates);
    nn_lstm_forward_d(h, c, tc, gates, Wh, lstm_active, LT, LN, LH);
    return dotd(R, h, LT * LN * LH);
}

static void test_lstm(void) {
    enum { G = 4 * LH, NG = LT * LN * G, NH = LT * LN * LH };
    tp_rng r;
    tp_rng_seed(&r, 3);
    static double gx[NG], Wh[G * LH], R[NH], gates[NG], h[NH], c[NH], tc[NH], dh[NH], dc[LN * LH];
    double dWh[G * LH] = {0}, num[NG];
    fill(gx, NG, &r, 1), fill(Wh, G * LH, &r, 0.8), fill(R, NH, &r, 1);
    memcpy(gates, gx, sizeof gates);
    nn_lstm_forward_d(h, c, tc, gates, Wh, lstm_active, LT, LN, LH);
    // padding: h is zero where a row has ended (row 1 after step 2, row 2 after step 1)
    CHECK(h[(2 * LN + 1) * LH] == 0 && h[(1 * LN + 2) * LH + 2] == 0);
    memcpy(dh, R, sizeof dh);
    nn_lstm_backward_d(gates, dWh, dh, dc, h, c, tc, Wh, lstm_active, LT, LN, LH);
    for (size_t i = 0; i < NG; i++) {
        double keep = gx[i];
        gx[i] = keep + EPS;
        double lp = lstm_loss(gx, Wh, R);
        gx[i] = keep - EPS;
        double lm = lstm_loss(gx, Wh, R);
        gx[i] = keep;
        num[i] = (lp - lm) / (2 * EPS);
    }
    // gates of inactive rows are never read: numeric gradient 0; the kernel leaves them alone,
    // so compare only live entries and check the dead ones are numerically 0
    double an_live[NG], num_live[NG];
    size_t k = 0;
    bool dead_zero = true;
    for (int t = 0; t < LT; t++)
        for (int n = 0; n < LN; n++)
            for (int j = 0; j < G; j++) {
                size_t i = ((size_t)t * LN + n) * G + j;
                if (n < lstm_active[t])
                    an_live[k] = gates[i], num_live[k++] = num[i];
                else if (num[i] != 0)
                    dead_zero = false;
            }
    report("lstm d input projection", an_live, num_live, k, 1e-6);
    CHECK(dead_zero); // padding steps do not reach the loss
    for (size_t i = 0; i < G * LH; i++) {
        double keep = Wh[i];
        Wh[i] = keep + EPS;
        double lp = lstm_loss(gx, Wh, R);
        Wh[i] = keep - EPS;
        double lm = lstm_loss(gx, Wh, R);
        Wh[i] = keep;
        num[i] = (lp - lm) / (2 * EPS);
    }
    report("lstm d W_h", dWh, num, G * LH, 1e-6);
    // row 1 (length 2) gives the same states as running it alone for 2 steps
    double g1[2 * G], h1[2 * LH], c1[2 * LH], tc1[2 * LH];
    const int one[2] = {1, 1};
    for (int t = 0; t < 2; t++) memcpy(g1 + t * G, gx + ((size_t)t * LN + 1) * G, G * sizeof(double));
    nn_lstm_forward_d(h1, c1, tc1, g1, Wh, one, 2, 1, LH);
    memcpy(gates, gx, sizeof gates);
    nn_lstm_forward_d(h, c, tc, gates, Wh, lstm_active, LT, LN, LH);
    CHECK(memcmp(h1 + LH, h + (1 * LN + 1) * LH, LH * sizeof(double)) == 0);
    // hand-computed single step: h = o tanh(i g) with gx = 0: i = o = 0.5, g = 0 -> h = 0;
    // gx = [0, 0, 1, 0]: c = 0.5 tanh(1), h = 0.5 tanh(c)
    double g2[4] = {0, 0, 1, 0}, w1[4] = {0}, hh, cc, tt;
    const int a1 = 1;
    nn_lstm_forward_d(&hh, &cc, &tt, g2, w1, &a1, 1, 1, 1);
    CHECK_CLOSE(cc, 0.5 * tanh(1.0), 1e-15);
    CHECK_CLOSE(hh, 0.5 * tanh(0.5 * tanh(1.0)), 1e-15);
}

/* The float LSTM (vectorised exp/sigmoid/tanh, 8 lanes plus a scalar tail) against the double one
 * (libm) on H = 11, forward states and backward gradients. */
static void test_lstm_float(void) {
    enum { T = 3, N = 2, H = 11, G = 4 * H, NG = T * N * G, NH = T * N * H };
    const int act[T] = {2, 2, 1};
    tp_rng r;
    tp_rng_seed(&r, 5);
    static double gd[NG], whd[G * H], hd[NH], cd[NH], tcd[NH], dhd[NH], dcd[N * H], dwd[G * H];
    static float gf[NG], whf[G * H], hf[NH], cf[NH], tcf[NH], dhf[NH], dcf[N * H], dwf[G * H];
    fill(gd, NG, &r, 3), fill(whd, G * H, &r, 0.5), fill(dhd, NH, &r, 1);
    for (int i = 0; i < NG; i++) gf[i] = (float)gd[i], gd[i] = gf[i];
    for (int i = 0; i < G * H; i++) whf[i] = (float)whd[i], whd[i] = whf[i];
    for (int i = 0; i < NH; i++) dhf[i] = (float)dhd[i], dhd[i] = dhf[i];
    nn_lstm_forward_d(hd, cd, tcd, gd, whd, act, T, N, H);
    nn_lstm_forward(hf, cf, tcf, gf, whf, act, T, N, H);
    double worst = 0;
    for (int i = 0; i < NH; i++) worst = fmax(worst, fabs(hd[i] - hf[i]) + fabs(cd[i] - cf[i]));
    printf("    lstm float vs double: states max |diff| %.3g\n", worst);
    CHECK(worst < 1e-5);
    nn_lstm_backward_d(gd, dwd, dhd, dcd, hd, cd, tcd, whd, act, T, N, H);
    nn_lstm_backward(gf, dwf, dhf, dcf, hf, cf, tcf, whf, act, T, N, H);
    worst = 0;
    for (int t = 0; t < T; t++)
        for (int n = 0; n < act[t]; n++)
            for (int j = 0; j < G; j++) {
                size_t i = ((size_t)t * N + n) * G + j;
                worst = fmax(worst, fabs(gd[i] - gf[i]));
            }
    for (int i = 0; i < G * H; i++) worst = fmax(worst, fabs(dwd[i] - dwf[i]));
    printf("    lstm float vs double: gradients max |diff| %.3g\n", worst);
    CHECK(worst < 1e-5);
    // the fast exp at the clamps and a few points
    float xs[8] = {-100, -87, -10, -0.5f, 0, 0.3f, 20, 100};
    nn_v8 v;
    nn_v8_load(&v, xs);
    nn_v8_exp(&v);
    float ys[8];
    nn_v8_store(ys, &v);
    for (int i = 0; i < 8; i++) {
        double want = exp(fmin(fmax(xs[i], NN_EXP_LO), NN_EXP_HI));
        CHECK(fabs(ys[i] - want) <= 3e-7 * want);
        CHECK(ys[i] == nn_fexp(xs[i])); // the scalar twin agrees bit for bit
    }
}

enum { AT = 5, AN = 3, AH = 4 };
static const int att_len[AN] = {5, 3, 0};

static double att_loss(const double *h, const double *w, const double *age, double decay,
                       const double *R, double *a) {
    double ctx[AN * AH];
    nn_attention_forward_d(ctx, a, h, w, age, decay, att_len, AT, AN, AH);
    return dotd(R, ctx, AN * AH);
}

static void test_attention(void) {
    enum { NH = AT * AN * AH };
    tp_rng r;
    tp_rng_seed(&r, 4);
    double h[NH], w[AH], age[AN * AT], R[AN * AH], a[AN * AT], ctx[AN * AH];
    fill(h, NH, &r, 1), fill(w, AH, &r, 1), fill(R, AN * AH, &r, 1);
    for (int i = 0; i < AN * AT; i++) age[i] = 10 * tp_rng_uniform(&r);
    double decay = 0.3;
    // padding steps hold garbage: they must not matter
    for (int t = 3; t < AT; t++)
        for (int j = 0; j < AH; j++) h[((size_t)t * AN + 1) * AH + j] = 1e3;
    for (int t = 0; t < AT; t++) h[((size_t)t * AN + 2) * AH] = -7;
    nn_attention_forward_d(ctx, a, h, w, age, decay, att_len, AT, AN, AH);
    CHECK(a[1 * AT + 3] == 0 && a[1 * AT + 4] == 0); // exactly zero on padding
    for (int t = 0; t < AT; t++) CHECK(a[2 * AT + t] == 0); // empty row: no attention, zero ctx
    CHECK(ctx[2 * AH] == 0);
    CHECK_CLOSE(a[0] + a[1] + a[2] + a[3] + a[4], 1, 1e-15);
    CHECK_CLOSE(a[AT] + a[AT + 1] + a[AT + 2], 1, 1e-15);
    // hand check of row 1: softmax of w.h_t - decay age_t over its 3 steps
    double s[3], mx = -1e300, z = 0;
    for (int t = 0; t < 3; t++) {
        s[t] = dotd(w, h + ((size_t)t * AN + 1) * AH, AH) - decay * age[AT + t];
        if (s[t] > mx) mx = s[t];
    }
    for (int t = 0; t < 3; t++) z += exp(s[t] - mx);
    CHECK_CLOSE(a[AT + 1], exp(s[1] - mx) / z, 1e-14);

    double dh[NH] = {0}, dw[AH] = {0}, ddecay = 0, num[NH];
    nn_attention_backward_d(dh, dw, &ddecay, R, a, h, w, age, att_len, AT, AN, AH);
    for (int t = 3; t < AT; t++)
        for (int j = 0; j < AH; j++) CHECK(dh[((size_t)t * AN + 1) * AH + j] == 0); // exactly
    for (int t = 0; t < AT; t++) CHECK(dh[((size_t)t * AN + 2) * AH] == 0);
    double aa[AN * AT];
    for (size_t i = 0; i < NH; i++) {
        double keep = h[i];
        h[i] = keep + EPS;
        double lp = att_loss(h, w, age, decay, R, aa);
        h[i] = keep - EPS;
        double lm = att_loss(h, w, age, decay, R, aa);
        h[i] = keep;
        num[i] = (lp - lm) / (2 * EPS);
    }
    report("attention d h (padding: 0)", dh, num, NH, 1e-6);
    for (size_t i = 0; i < AH; i++) {
        double keep = w[i];
        w[i] = keep + EPS;
        double lp = att_loss(h, w, age, decay, R, aa);
        w[i] = keep - EPS;
        double lm = att_loss(h, w, age, decay, R, aa);
        w[i] = keep;
        num[i] = (lp - lm) / (2 * EPS);
    }
    report("attention d w", dw, num, AH, 1e-6);
    num[0] = (att_loss(h, w, age, decay + EPS, R, aa) - att_loss(h, w, age, decay - EPS, R, aa)) /
             (2 * EPS);
    report("attention d decay", &ddecay, num, 1, 1e-6);
}

static void test_bce(void) {
    double z[6] = {0, 2, -3, 50, -50, 0.7}, y[6] = {1, 0, 1, 0, 0, 1}, w[6] = {1, 2, 0.5, 1, 1, 3};
    double dz[6], num[6];
    CHECK_CLOSE(nn_bce_forward_d(z, y, NULL, 1), log(2.0), 1e-15);
    CHECK_CLOSE(nn_bce_forward_d(z + 3, y + 3, NULL, 1), 50 + log1p(exp(-50.0)), 1e-12); // no inf
    CHECK_CLOSE(nn_bce_forward_d(z + 4, y + 4, NULL, 1), log1p(exp(-50.0)), 1e-30);
    float zf = 100, yf = 1;
    CHECK(isfinite(nn_bce_forward(&zf, &yf, NULL, 1)));
    CHECK_CLOSE(nn_bce_forward_d(z + 1, y + 1, w + 1, 1), 2 * (2 + log1p(exp(-2.0))), 1e-14);
    nn_bce_backward_d(dz, z, y, w, 0.25, 6);
    for (int i = 0; i < 6; i++) {
        double keep = z[i];
        z[i] = keep + EPS;
        double lp = nn_bce_forward_d(z, y, w, 6);
        z[i] = keep - EPS;
        double lm = nn_bce_forward_d(z, y, w, 6);
        z[i] = keep;
        num[i] = 0.25 * (lp - lm) / (2 * EPS);
    }
    report("bce d logit", dz, num, 6, 1e-6);
}

static void test_dropout_relu(void) {
    float x[2000], mask[2000], x2[2000], mask2[2000];
    for (int i = 0; i < 2000; i++) x[i] = x2[i] = 1;
    nn_dropout_forward(x, mask, 0.25f, 9, 0, 4, 500);
    // the same rows drawn one at a time give the same masks (thread-split independence)
    for (int n = 0; n < 4; n++) nn_dropout_forward(x2 + n * 500, mask2 + n * 500, 0.25f, 9, n, 1, 500);
    CHECK(memcmp(mask, mask2, sizeof mask) == 0);
    int zeros = 0;
    for (int i = 0; i < 2000; i++) {
        zeros += mask[i] == 0;
        CHECK(mask[i] == 0 || mask[i] == 1 / 0.75f);
    }
    CHECK(zeros > 400 && zeros < 600); // ~500 of 2000
    double r[4] = {-1, 0, 2, 3}, d[4] = {1, 1, 1, 1};
    nn_relu_forward_d(r, 4);
    nn_relu_backward_d(d, r, 4);
    CHECK(r[0] == 0 && r[2] == 2 && d[0] == 0 && d[1] == 0 && d[2] == 1);
}

static void test_optim(void) {
    // Adam, hand-computed (PyTorch's formula): p = 1, g = 0.5 then -0.25, lr 0.1
    float p = 1, g = 0.5f, m = 0, v = 0;
    nn_adam_step(&p, &g, &m, &v, 1, 0.1f, 0.9f, 0.999f, 1e-8f, 0, 1);
    CHECK_CLOSE(p, 0.900000002, 1e-7);
    g = -0.25f;
    nn_adam_step(&p, &g, &m, &v, 1, 0.1f, 0.9f, 0.999f, 1e-8f, 0, 2);
    CHECK_CLOSE(p, 0.8733662987078463, 1e-6);
    // SGD with momentum 0.9 and weight decay 0.1: p = 2, g = 1, lr 0.5
    // step 1: g' = 1.2, buf = 1.2, p = 1.4; step 2: g' = 1.14, buf = 2.22, p = 0.29
    float q = 2, gq = 1, buf = 0;
    nn_sgd_step(&q, &gq, &buf, 1, 0.5f, 0.9f, 0.1f);
    CHECK_CLOSE(q, 1.4, 1e-6);
    nn_sgd_step(&q, &gq, &buf, 1, 0.5f, 0.9f, 0.1f);
    CHECK_CLOSE(buf, 2.22, 1e-6);
    CHECK_CLOSE(q, 0.29, 1e-6);
    // clipping: (3, 4) has norm 5; clipped to 1
    float gc[2] = {3, 4};
    CHECK_CLOSE(nn_clip_grad_norm(gc, 2, 1), 5, 1e-12);
    CHECK_CLOSE(gc[0], 0.6, 1e-6);
    CHECK_CLOSE(gc[1], 0.8, 1e-6);
    float gs[2] = {0.3f, 0.4f};
    nn_clip_grad_norm(gs, 2, 1); // under the limit: untouched
    CHECK(gs[0] == 0.3f && gs[1] == 0.4f);
}

// ---- the whole model ----

enum { MB = 6, MT = 4 };
typedef struct model_case {
    bool decay;
    int n_num, n_cat, ctrl_hidden;
    float dropout;
} model_case;

static const int32_t m_campaign[MB * MT] = {
    0, 3, 1, 2,  4, 4, -1, -1,  2, -1, -1, -1,  1, 0, 3, -1,  -1, -1, -1, -1,  3, 2, 2, 0,
};
static const float m_age[MB * MT] = {
    9, 4.5f, 2, 0.25f,  3, 1, 0, 0,  12, 0, 0, 0,  7, 6, 0.5f, 0,  0, 0, 0, 0,  20, 8, 8, 1,
};
static const float m_numeric[MB * 2] = {0.5f, -1, 1.2f, 0.3f, -0.7f, 2, 0, 0, 1, -1, -2, 0.4f};
static const int32_t m_cat[MB * 2] = {0, 1, 2, 0, 1, 1, 0, 0, 2, 1, 1, 0};
static const float m_label[MB] = {1, 0, 1, 0, 0, 1};
static const float m_weight[MB] = {1, 0.5f, 2, 1, 1, 3};
static const int m_card[2] = {3, 2};

static tp_dnamta_config case_config(const model_case *mc) {
    tp_dnamta_config c = {.n_campaigns = 5, .max_len = MT, .embed = 3, .hidden = 9,
                          .dropout = mc->dropout, .time_decay = mc->decay, .n_numeric = mc->n_num,
                          .n_categorical = mc->n_cat, .cat_cardinality = m_card, .cat_embed = 2,
                          .control_hidden = mc->ctrl_hidden};
    return c;
}

static tp_dnamta_batch case_batch(const model_case *mc) {
    tp_dnamta_batch b = {.B = MB, .campaign = m_campaign, .age_days = mc->decay ? m_age : NULL,
                         .numeric = mc->n_num ? m_numeric : NULL,
                         .categorical = mc->n_cat ? m_cat : NULL, .label = m_label,
                         .weight = m_weight};
    return b;
}

// mean weighted BCE of the double model; grads (when not NULL) receive its gradient
static double model_d(const dnamta_layout *L, const double *P, const tp_dnamta_batch *b,
                      bool train, double *grads, double *probs, double *att) {
    double *acts = malloc((size_t)b->B * L->row_acts * sizeof(double));
    double *proj = malloc(L->proj * sizeof(double)), *dproj = calloc(L->proj, sizeof(double));
    int *ints = malloc((2 * (size_t)b->B + L->T) * sizeof(int));
    dnamta_project_d(L, P, proj);
    double loss = dnamta_forward_chunk_d(L, P, proj, b, 0, b->B, train, 77, acts, ints, probs, att) / b->B;
    if (grads) {
        memset(grads, 0, L->n_params * sizeof(double));
        dnamta_backward_chunk_d(L, P, b, 0, b->B, 1.0 / b->B, acts, ints, grads, dproj);
        dnamta_finish_d(L, P, dproj, grads);
    }
    free(acts), free(proj), free(dproj), free(ints);
    return loss;
}

static void check_model(const char *label, const model_case *mc) {
    printf("  model: %s\n", label);
    tp_dnamta_config cfg = case_config(mc);
    tp_dnamta_batch b = case_batch(mc);
    tp_dnamta *m = NULL;
    CHECK_OK(tp_dnamta_new(&cfg, 8, 5, &m));
    if (!m) return;
    dnamta_layout L;
    CHECK_OK(dnamta_layout_init(&L, &cfg));
    size_t np;
    float *pf = tp_dnamta_params(m, &np);
    CHECK(np == L.n_params);
    // push parameters away from their init (zero biases hide mistakes)
    tp_rng r;
    tp_rng_seed(&r, 11);
    for (size_t i = 0; i < np; i++) pf[i] += (float)(0.3 * (2 * tp_rng_uniform(&r) - 1));
    double *P = malloc(np * sizeof(double)), *g = malloc(np * sizeof(double));
    double *num = malloc(np * sizeof(double)), *gf = malloc(np * sizeof(double));
    for (size_t i = 0; i < np; i++) P[i] = pf[i];
    const bool train = mc->dropout > 0;
    double probs_d[MB], att_d[MB * MT];
    double loss = model_d(&L, P, &b, train, g, probs_d, att_d);
    for (size_t i = 0; i < np; i++) {
        double keep = P[i];
        P[i] = keep + EPS;
        double lp = model_d(&L, P, &b, train, NULL, NULL, NULL);
        P[i] = keep - EPS;
        double lm = model_d(&L, P, &b, train, NULL, NULL, NULL);
        P[i] = keep;
        num[i] = (lp - lm) / (2 * EPS);
    }
    for (size_t k = 0; k < tp_dnamta_n_tensors(m); k++) {
        size_t off, size;
        const char *name = tp_dnamta_tensor(m, k, &off, &size);
        char what[64];
        snprintf(what, sizeof what, "d %s", name);
        report(what, g + off, num + off, size, 1e-5);
    }
    // attention: zero on padding, rows sum to 1 (0 for the empty journey)
    for (int i = 0; i < MB; i++) {
        double s = 0;
        for (int t = 0; t < MT; t++) {
            s += att_d[i * MT + t];
            if (m_campaign[i * MT + t] < 0) CHECK(att_d[i * MT + t] == 0);
        }
        CHECK_CLOSE(s, i == 4 ? 0 : 1, 1e-12);
    }
    // the float model through the public API, on 1 and 2 threads, agrees with the double one
    for (int nt = 1; nt <= 2; nt++) {
        CHECK_OK(tp_dnamta_set_threads(m, nt));
        float probs[MB], att[MB * MT], lossf;
        tp_dnamta_zero_grad(m);
        CHECK_OK(tp_dnamta_forward(m, &b, train, 77, probs, att, &lossf));
        CHECK_OK(tp_dnamta_backward(m, &b));
        CHECK_CLOSE(lossf, loss, 1e-5);
        for (int i = 0; i < MB; i++) CHECK_CLOSE(probs[i], probs_d[i], 1e-5);
        for (int i = 0; i < MB * MT; i++) {
            CHECK_CLOSE(att[i], att_d[i], 1e-5);
            if (m_campaign[i] < 0) CHECK(att[i] == 0);
        }
        const float *gr = tp_dnamta_grads(m, NULL);
        for (size_t i = 0; i < np; i++) gf[i] = gr[i];
        size_t at = 0;
        double d = rel_diff(gf, g, np, &at);
        printf("    float (%d thread%s) vs double gradient: max rel diff %.3g\n", nt,
               nt > 1 ? "s" : "", d);
        CHECK(d < 1e-3);
    }
    tp_dnamta_free(m);
    free(P), free(g), free(num), free(gf);
}

static void test_model_gradients(void) {
    model_case plain = {0};
    check_model("plain (embedding, LSTM, attention)", &plain);
    model_case decay = {.decay = true};
    check_model("time decay", &decay);
    model_case ctrl = {.decay = true, .n_num = 2, .n_cat = 2, .ctrl_hidden = 3};
    check_model("time decay + control (dense 3)", &ctrl);
    model_case raw = {.n_num = 2, .n_cat = 2, .ctrl_hidden = 0, .dropout = 0.3f};
    check_model("control fused raw + dropout", &raw);
}

static void run_steps(int threads, float *out, size_t np) {
    model_case mc = {.decay = true, .n_num = 2, .n_cat = 2, .ctrl_hidden = 3, .dropout = 0.2f};
    tp_dnamta_config cfg = case_config(&mc);
    tp_dnamta_batch b = case_batch(&mc);
    tp_dnamta *m = NULL;
    CHECK_OK(tp_dnamta_new(&cfg, MB, 42, &m));
    if (!m) return;
    CHECK_OK(tp_dnamta_set_threads(m, threads));
    tp_optim_config oc;
    tp_optim_config_default(&oc);
    oc.lr = 0.05f;
    for (int s = 0; s < 5; s++) {
        float loss;
        tp_dnamta_zero_grad(m);
        CHECK_OK(tp_dnamta_forward(m, &b, true, 1000 + s, NULL, NULL, &loss));
        CHECK_OK(tp_dnamta_backward(m, &b));
        CHECK_OK(tp_dnamta_step(m, &oc));
    }
    memcpy(out, tp_dnamta_params(m, NULL), np * sizeof(float));
    tp_dnamta_free(m);
}

static void test_determinism(void) {
    model_case mc = {.decay = true, .n_num = 2, .n_cat = 2, .ctrl_hidden = 3};
    tp_dnamta_config cfg = case_config(&mc);
    dnamta_layout L;
    CHECK_OK(dnamta_layout_init(&L, &cfg));
    size_t np = L.n_params;
    float *a = calloc(np, sizeof(float)), *b = calloc(np, sizeof(float));
    float *c = calloc(np, sizeof(float));
    run_steps(2, a, np);
    run_steps(2, b, np);
    run_steps(1, c, np);
    CHECK(memcmp(a, b, np * sizeof(float)) == 0); // same seed and threads: bit-identical
    double worst = 0;
    for (size_t i = 0; i < np; i++) worst = fmax(worst, fabs((double)a[i] - c[i]));
    printf("    1 vs 2 threads after 5 Adam steps: max |diff| %.3g\n", worst);
    CHECK(worst < 1e-4); // only the summation order differs
    free(a), free(b), free(c);
}

static void test_model_errors(void) {
    model_case mc = {.decay = true};
    tp_dnamta_config cfg = case_config(&mc);
    tp_dnamta *m = NULL;
    CHECK_OK(tp_dnamta_new(&cfg, MB, 1, &m));
    if (!m) return;
    tp_dnamta_batch b = case_batch(&mc);
    int32_t bad[MB * MT];
    memcpy(bad, m_campaign, sizeof bad);
    bad[1 * MT + 3] = 2; // a touch after padding
    b.campaign = bad;
    CHECK_STATUS(tp_dnamta_forward(m, &b, false, 0, NULL, NULL, NULL), TP_ERR_ARG);
    bad[1 * MT + 3] = 5; // out of range
    CHECK_STATUS(tp_dnamta_forward(m, &b, false, 0, NULL, NULL, NULL), TP_ERR_ARG);
    b = case_batch(&mc);
    float badl[MB];
    memcpy(badl, m_label, sizeof badl);
    badl[2] = 2;
    b.label = badl;
    CHECK_STATUS(tp_dnamta_forward(m, &b, false, 0, NULL, NULL, NULL), TP_ERR_ARG);
    b = case_batch(&mc);
    b.age_days = NULL;
    CHECK_STATUS(tp_dnamta_forward(m, &b, false, 0, NULL, NULL, NULL), TP_ERR_ARG);
    b = case_batch(&mc);
    CHECK_STATUS(tp_dnamta_backward(m, &b), TP_ERR_ARG); // no forward yet
    b.B = MB + 1;
    CHECK_STATUS(tp_dnamta_forward(m, &b, false, 0, NULL, NULL, NULL), TP_ERR_ARG);
    b = case_batch(&mc);
    b.label = NULL;
    float probs[MB], loss = -1;
    CHECK_OK(tp_dnamta_forward(m, &b, false, 0, probs, NULL, &loss));
    CHECK(loss == 0);
    CHECK_STATUS(tp_dnamta_backward(m, &b), TP_ERR_ARG); // unlabelled
    tp_dnamta_config badc = cfg;
    badc.dropout = 1;
    tp_dnamta *m2 = NULL;
    CHECK_STATUS(tp_dnamta_new(&badc, MB, 1, &m2), TP_ERR_ARG);
    CHECK(m2 == NULL);
    // tensor table covers the block exactly, in order
    size_t np, at = 0;
    tp_dnamta_params(m, &np);
    for (size_t k = 0; k < tp_dnamta_n_tensors(m); k++) {
        size_t off, size;
        tp_dnamta_tensor(m, k, &off, &size);
        CHECK(off == at);
        at = off + size;
    }
    CHECK(at == np);
    CHECK(tp_dnamta_tensor(m, tp_dnamta_n_tensors(m), NULL, NULL) == NULL);
    tp_dnamta_free(m);
}

// ---- against the PyTorch model (bench/dnamta_torch.py) ----

static void put(FILE *f, const char *name, const float *v, size_t n) {
    fprintf(f, "%s %zu", name, n);
    for (size_t i = 0; i < n; i++) fprintf(f, " %.9g", (double)v[i]);
    fputc('\n', f);
}

static void put_int(FILE *f, const char *name, const int32_t *v, size_t n) {
    fprintf(f, "%s %zu", name, n);
    for (size_t i = 0; i < n; i++) fprintf(f, " %d", v[i]);
    fputc('\n', f);
}

/* One batch with padding, an empty journey, time decay and control variables through the C model;
 * weights, batch, loss, probabilities, attention and every gradient go to a file that
 * bench/dnamta_torch.py --check recomputes in float64 and compares within 1e-4. */
static void test_torch_reference(void) {
    enum { B = 16, T = 6, NN_ = 3, NC = 2 };
    const char *script = "bench/dnamta_torch.py";
    if (access(script, R_OK) != 0) {
        printf("    %s not found: run the tests from the repository root\n", script);
        CHECK(0);
        return;
    }
    if (system("/usr/bin/python3 -c 'import torch' >/dev/null 2>&1") != 0) {
        printf("    SKIP torch reference: python3-torch is absent (scripts/setup.sh installs it)\n");
        return;
    }
    static const int card[NC] = {4, 3};
    tp_dnamta_config cfg = {.n_campaigns = 7, .max_len = T, .embed = 5, .hidden = 8,
                            .time_decay = true, .n_numeric = NN_, .n_categorical = NC,
                            .cat_cardinality = card, .cat_embed = 3, .control_hidden = 5};
    tp_dnamta *m = NULL;
    CHECK_OK(tp_dnamta_new(&cfg, B, 123, &m));
    if (!m) return;
    CHECK_OK(tp_dnamta_set_threads(m, 2));
    tp_rng r;
    tp_rng_seed(&r, 321);
    int32_t camp[B * T], cat[B * NC];
    float age[B * T], num[B * NN_], label[B], weight[B];
    for (int i = 0; i < B; i++) {
        int len = i == 3 ? 0 : 1 + (int)tp_rng_below(&r, T);
        for (int t = 0; t < T; t++) {
            camp[i * T + t] = t < len ? (int32_t)tp_rng_below(&r, 7) : -1;
            age[i * T + t] = t < len ? (float)(len - t) * 2.5f : 0;
        }
        for (int k = 0; k < NN_; k++) num[i * NN_ + k] = (float)tp_rng_normal(&r);
        for (int k = 0; k < NC; k++) cat[i * NC + k] = (int32_t)tp_rng_below(&r, (uint64_t)card[k]);
        label[i] = (float)(i % 3 == 0);
        weight[i] = i % 2 ? 1.0f : 2.5f;
    }
    size_t np;
    float *P = tp_dnamta_params(m, &np);
    for (size_t i = 0; i < np; i++) P[i] += (float)(0.2 * (2 * tp_rng_uniform(&r) - 1));
    tp_dnamta_batch b = {.B = B, .campaign = camp, .age_days = age, .numeric = num,
                         .categorical = cat, .label = label, .weight = weight};
    float probs[B], att[B * T], loss;
    tp_dnamta_zero_grad(m);
    CHECK_OK(tp_dnamta_forward(m, &b, false, 0, probs, att, &loss));
    CHECK_OK(tp_dnamta_backward(m, &b));
    const char *path = tp_test_path("dnamta_check.txt");
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    if (!f) return;
    int32_t hdr[] = {7, T, 5, 8, 1, NN_, NC, 3, 5, B};
    const char *hn[] = {"V", "T", "E", "H", "decay", "n_num", "n_cat", "cat_embed",
                        "control_hidden", "B"};
    for (int k = 0; k < 10; k++) put_int(f, hn[k], hdr + k, 1);
    put_int(f, "cat_card", card, NC);
    put_int(f, "campaign", camp, B * T);
    put(f, "age", age, B * T);
    put(f, "numeric", num, B * NN_);
    put_int(f, "categorical", cat, B * NC);
    put(f, "label", label, B);
    put(f, "weight", weight, B);
    put(f, "c.loss", &loss, 1);
    put(f, "c.probs", probs, B);
    put(f, "c.attention", att, B * T);
    const float *G = tp_dnamta_grads(m, NULL);
    for (size_t k = 0; k < tp_dnamta_n_tensors(m); k++) {
        size_t off, size;
        const char *name = tp_dnamta_tensor(m, k, &off, &size);
        char key[80];
        snprintf(key, sizeof key, "param.%s", name);
        put(f, key, P + off, size);
        snprintf(key, sizeof key, "c.grad.%s", name);
        put(f, key, G + off, size);
    }
    CHECK(fclose(f) == 0);
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s --check '%s' --tol 1e-4 2>&1", script, path);
    FILE *p = popen(cmd, "r");
    CHECK(p != NULL);
    if (p) {
        char line[512];
        while (fgets(line, sizeof line, p)) printf("    %s", line);
        int rc = pclose(p);
        CHECK(rc != -1 && WIFEXITED(rc) && WEXITSTATUS(rc) == 0);
    }
    tp_dnamta_free(m);
}

void suite_nn(void) {
    test_dense();
    test_embedding();
    test_lstm();
    test_lstm_float();
    test_attention();
    test_bce();
    test_dropout_relu();
    test_optim();
    test_model_gradients();
    test_determinism();
    test_model_errors();
    test_torch_reference();
}

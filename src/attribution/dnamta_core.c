/* dnamta_core.c: the computation of the attention model (dnamta.h) over a chunk of batch rows:
 * embedding -> LSTM (packed: padding never enters the state) -> score w.h_t [- softplus(r) age_t]
 * -> masked softmax (the attention) -> context -> dropout -> [control branch] -> dense -> sigmoid.
 * Compiled in float (the library) and double (the tests' finite-difference checks), see nn/twice.h.
 * The parameter block order is fixed here (dnamta_layout_init) and is what the model file stores. */
#ifndef NN_PASS
#include "attribution/dnamta_core.h"

#include <math.h>
#include <string.h>

/* Parameter block, in order (shapes row-major; torch.nn names in brackets):
 *   embedding (V,E)                                   [Embedding.weight]
 *   lstm.w_x (4H,E), lstm.w_h (4H,H), lstm.bias (4H)  [LSTM weight_ih_l0, weight_hh_l0, bias_ih_l0]
 *   attention.w (H)                                   score s_t = w.h_t (no bias: softmax ignores it)
 *   time_decay.rate (1)          if time_decay        decay = softplus(rate) per day of age
 *   control.embedding.<k> (card_k, cat_embed)         one per categorical control variable
 *   control.w (ch, U), control.bias (ch)  if control_hidden > 0 and U > 0
 *   output.w (Q), output.bias (1)
 * U = n_numeric + n_categorical cat_embed; Z = control_hidden if > 0 (and U > 0) else U; Q = H + Z.
 * The control input u is [numeric..., embedding_0(code_0)..., ...]; the output layer reads
 * [context (after dropout), z]. */
tp_status dnamta_layout_init(dnamta_layout *L, const tp_dnamta_config *c) {
    memset(L, 0, sizeof *L);
    if (c->n_campaigns < 1) return tp_fail(TP_ERR_ARG, "dnamta: n_campaigns %d < 1", c->n_campaigns);
    if (c->max_len < 1) return tp_fail(TP_ERR_ARG, "dnamta: max_len %d < 1", c->max_len);
    if (c->embed < 1 || c->hidden < 1)
        return tp_fail(TP_ERR_ARG, "dnamta: embed %d and hidden %d must be >= 1", c->embed,
                       c->hidden);
    if (!(c->dropout >= 0 && c->dropout < 1))
        return tp_fail(TP_ERR_ARG, "dnamta: dropout %g not in [0, 1)", (double)c->dropout);
    if (c->n_numeric < 0 || c->n_categorical < 0 || c->n_categorical > DNAMTA_MAX_CAT)
        return tp_fail(TP_ERR_ARG, "dnamta: %d numeric / %d categorical control variables (max %d)",
                       c->n_numeric, c->n_categorical, DNAMTA_MAX_CAT);
    if (c->n_categorical > 0 && (!c->cat_cardinality || c->cat_embed < 1))
        return tp_fail(TP_ERR_ARG, "dnamta: categorical control variables need cardinalities and "
                                   "cat_embed >= 1");
    if (c->control_hidden < 0)
        return tp_fail(TP_ERR_ARG, "dnamta: control_hidden %d < 0", c->control_hidden);
    L->V = c->n_campaigns, L->T = c->max_len, L->E = c->embed, L->H = c->hidden, L->G = 4 * c->hidden;
    L->decay = c->time_decay;
    L->n_num = c->n_numeric, L->n_cat = c->n_categorical;
    L->cat_embed = c->n_categorical > 0 ? c->cat_embed : 0;
    for (int k = 0; k < c->n_categorical; k++) {
        if (c->cat_cardinality[k] < 1)
            return tp_fail(TP_ERR_ARG, "dnamta: categorical control variable %d has cardinality %d",
                           k, c->cat_cardinality[k]);
        L->cat_card[k] = c->cat_cardinality[k];
    }
    L->U = L->n_num + L->n_cat * L->cat_embed;
    L->ctrl_hidden = L->U > 0 ? c->control_hidden : 0;
    L->Z = L->ctrl_hidden > 0 ? L->ctrl_hidden : L->U;
    L->Q = L->H + L->Z;
    L->dropout = c->dropout;
    size_t o = 0, V = L->V, E = L->E, H = L->H, G = L->G;
    L->o_emb = o, o += V * E;
    L->o_wx = o, o += G * E;
    L->o_wh = o, o += G * H;
    L->o_b = o, o += G;
    L->o_wa = o, o += H;
    L->o_rate = o, o += L->decay ? 1 : 0;
    for (int k = 0; k < L->n_cat; k++) L->o_cemb[k] = o, o += (size_t)L->cat_card[k] * L->cat_embed;
    L->o_cw = o, o += (size_t)L->ctrl_hidden * L->U;
    L->o_cb = o, o += (size_t)L->ctrl_hidden;
    L->o_wo = o, o += (size_t)L->Q;
    L->o_bo = o, o += 1;
    L->n_params = o;
    size_t T = L->T, U = L->U, Z = L->Z, Q = L->Q;
    // gates, h, c, tanh c, dh | a, age | ctx, mask, dc | q, dq | u, du | z, dz | logit, dlogit, y, w, p
    L->row_acts = T * G + 4 * T * H + 2 * T + 3 * H + 2 * Q + 2 * U + 2 * Z + 5;
    L->proj = V * G;
    return TP_OK;
}

tp_status dnamta_check_batch(const dnamta_layout *L, const tp_dnamta_batch *b, int max_batch,
                             bool need_labels) {
    if (b->B < 1 || b->B > max_batch)
        return tp_fail(TP_ERR_ARG, "dnamta: batch of %d rows (model holds 1..%d)", b->B, max_batch);
    if (!b->campaign) return tp_fail(TP_ERR_ARG, "dnamta: batch without campaign indices");
    if (L->decay && !b->age_days)
        return tp_fail(TP_ERR_ARG, "dnamta: the model has time decay but the batch has no age_days");
    if (L->n_num > 0 && !b->numeric)
        return tp_fail(TP_ERR_ARG, "dnamta: the model has %d numeric control variables but the "
                                   "batch has none", L->n_num);
    if (L->n_cat > 0 && !b->categorical)
        return tp_fail(TP_ERR_ARG, "dnamta: the model has %d categorical control variables but the "
                                   "batch has none", L->n_cat);
    if (need_labels && !b->label) return tp_fail(TP_ERR_ARG, "dnamta: batch without labels");
    for (int i = 0; i < b->B; i++) {
        const int32_t *c = b->campaign + (size_t)i * L->T;
        bool pad = false;
        for (int t = 0; t < L->T; t++) {
            if (c[t] < -1 || c[t] >= L->V)
                return tp_fail(TP_ERR_ARG, "dnamta: batch row %d step %d: campaign index %d not in "
                                           "[-1, %d)", i, t, c[t], L->V);
            if (c[t] == -1)
                pad = true;
            else if (pad)
                return tp_fail(TP_ERR_ARG, "dnamta: batch row %d step %d: a touch after padding "
                                           "(journeys must be left-aligned)", i, t);
            if (L->decay && c[t] >= 0 && !isfinite(b->age_days[(size_t)i * L->T + t]))
                return tp_fail(TP_ERR_ARG, "dnamta: batch row %d step %d: age_days not finite", i, t);
        }
        for (int k = 0; k < L->n_cat; k++) {
            int32_t v = b->categorical[(size_t)i * L->n_cat + k];
            if (v < 0 || v >= L->cat_card[k])
                return tp_fail(TP_ERR_ARG, "dnamta: batch row %d categorical control %d: code %d not "
                                           "in [0, %d)", i, k, v, L->cat_card[k]);
        }
        if (b->label && !(b->label[i] >= 0 && b->label[i] <= 1))
            return tp_fail(TP_ERR_ARG, "dnamta: batch row %d: label %g not in [0, 1]", i,
                           (double)b->label[i]);
        if (b->label && b->weight && !(b->weight[i] >= 0 && isfinite(b->weight[i])))
            return tp_fail(TP_ERR_ARG, "dnamta: batch row %d: weight %g not finite and >= 0", i,
                           (double)b->weight[i]);
        for (int k = 0; k < L->n_num; k++)
            if (!isfinite(b->numeric[(size_t)i * L->n_num + k]))
                return tp_fail(TP_ERR_ARG, "dnamta: batch row %d numeric control %d not finite", i, k);
    }
    return TP_OK;
}

#define NN_SELF "attribution/dnamta_core.c"
#include "nn/twice.h"

#else // ---- the computation, once per `real` ----

// Pointers into a chunk's activation block (n rows).
typedef struct NN_SFX(dn_acts) {
    real *gates, *h, *c, *tc, *dh; /* (T,n,G) and (T,n,H), time-major */
    real *a, *age;                 /* (n,T) */
    real *ctx, *mask, *dc;         /* (n,H) */
    real *q, *dq;                  /* (n,Q) */
    real *u, *du;                  /* (n,U) */
    real *z, *dz;                  /* (n,Z) */
    real *logit, *dlogit, *y, *w, *p; /* (n) */
    int *perm, *len, *n_active;    /* (n), (n), (T) */
} NN_SFX(dn_acts);

static NN_SFX(dn_acts) NN_SFX(dn_carve)(const dnamta_layout *L, int n, real *acts, int *ints) {
    NN_SFX(dn_acts) A;
    size_t T = L->T, H = L->H, G = L->G, N = n;
    real *p = acts;
    A.gates = p, p += T * N * G;
    A.h = p, p += T * N * H;
    A.c = p, p += T * N * H;
    A.tc = p, p += T * N * H;
    A.dh = p, p += T * N * H;
    A.a = p, p += N * T;
    A.age = p, p += N * T;
    A.ctx = p, p += N * H;
    A.mask = p, p += N * H;
    A.dc = p, p += N * H;
    A.q = p, p += N * L->Q;
    A.dq = p, p += N * L->Q;
    A.u = p, p += N * L->U;
    A.du = p, p += N * L->U;
    A.z = p, p += N * L->Z;
    A.dz = p, p += N * L->Z;
    A.logit = p, p += N;
    A.dlogit = p, p += N;
    A.y = p, p += N;
    A.w = p, p += N;
    A.p = p, p += N;
    TP_ASSERT((size_t)(p - acts) == N * L->row_acts);
    A.perm = ints, A.len = ints + n, A.n_active = ints + 2 * n;
    return A;
}

void NN_SFX(dnamta_project)(const dnamta_layout *L, const real *P, real *proj) {
    NN(dense_forward)(proj, P + L->o_emb, P + L->o_wx, P + L->o_b, L->V, L->E, L->G);
}

double NN_SFX(dnamta_forward_chunk)(const dnamta_layout *L, const real *P, const real *proj,
                                const tp_dnamta_batch *b, int lo, int hi, bool train,
                                uint64_t seed, real *acts, int *ints, real *probs,
                                real *attention) {
    const int n = hi - lo, T = L->T, H = L->H, G = L->G, Q = L->Q, U = L->U, Z = L->Z;
    NN_SFX(dn_acts) A = NN_SFX(dn_carve)(L, n, acts, ints);
    // lengths, then rows sorted by length (longest first, stable) so live rows are a prefix
    int count[T + 2];
    memset(count, 0, sizeof count);
    for (int i = 0; i < n; i++) {
        const int32_t *c = b->campaign + (size_t)(lo + i) * T;
        int len = 0;
        while (len < T && c[len] >= 0) len++;
        A.len[i] = len; // temporarily by input row
        count[T - len + 1]++;
    }
    for (int k = 1; k <= T + 1; k++) count[k] += count[k - 1]; // count[T - len]: first slot
    for (int i = 0; i < n; i++) A.perm[count[T - A.len[i]]++] = i;
    for (int r = 0; r < n; r++) {
        const int32_t *c = b->campaign + (size_t)(lo + A.perm[r]) * T;
        int len = 0;
        while (len < T && c[len] >= 0) len++;
        A.len[r] = len;
    }
    for (int t = 0; t < T; t++) {
        int na = 0;
        while (na < n && A.len[na] > t) na++;
        A.n_active[t] = na;
    }
    // LSTM: input projections gathered per touch, then the recurrence
    for (int t = 0; t < T; t++) {
        for (int r = 0; r < A.n_active[t]; r++) {
            int32_t cam = b->campaign[(size_t)(lo + A.perm[r]) * T + t];
            memcpy(A.gates + ((size_t)t * n + r) * G, proj + (size_t)cam * G, (size_t)G * sizeof(real));
        }
    }
    NN(lstm_forward)(A.h, A.c, A.tc, A.gates, P + L->o_wh, A.n_active, T, n, H);
    // attention over the real steps
    real decay = 0;
    if (L->decay) {
        decay = NN(softplus)(P[L->o_rate]);
        for (int r = 0; r < n; r++) {
            const float *ag = b->age_days + (size_t)(lo + A.perm[r]) * T;
            for (int t = 0; t < T; t++) A.age[(size_t)r * T + t] = t < A.len[r] ? (real)ag[t] : 0;
        }
    }
    NN(attention_forward)(A.ctx, A.a, A.h, P + L->o_wa, L->decay ? A.age : NULL, decay, A.len, T, n, H);
    if (train && L->dropout > 0) {
        for (int r = 0; r < n; r++)
            NN(dropout_forward)(A.ctx + (size_t)r * H, A.mask + (size_t)r * H, (real)L->dropout, seed,
                                (uint64_t)(lo + A.perm[r]), 1, H);
    } else {
        for (size_t k = 0; k < (size_t)n * H; k++) A.mask[k] = 1;
    }
    for (int r = 0; r < n; r++) memcpy(A.q + (size_t)r * Q, A.ctx + (size_t)r * H, (size_t)H * sizeof(real));
    // control branch
    if (U > 0) {
        for (int r = 0; r < n; r++) {
            const size_t g = (size_t)(lo + A.perm[r]);
            real *u = A.u + (size_t)r * U;
            for (int k = 0; k < L->n_num; k++) u[k] = (real)b->numeric[g * L->n_num + k];
            for (int k = 0; k < L->n_cat; k++) {
                const real *e = P + L->o_cemb[k] + (size_t)b->categorical[g * L->n_cat + k] * L->cat_embed;
                memcpy(u + L->n_num + k * L->cat_embed, e, (size_t)L->cat_embed * sizeof(real));
            }
        }
        if (L->ctrl_hidden > 0) {
            NN(dense_forward)(A.z, A.u, P + L->o_cw, P + L->o_cb, n, U, Z);
            NN(relu_forward)(A.z, (size_t)n * Z);
        } else {
            memcpy(A.z, A.u, (size_t)n * U * sizeof(real));
        }
        for (int r = 0; r < n; r++)
            memcpy(A.q + (size_t)r * Q + H, A.z + (size_t)r * Z, (size_t)Z * sizeof(real));
    }
    // output
    NN(dense_forward)(A.logit, A.q, P + L->o_wo, P + L->o_bo, n, Q, 1);
    for (int r = 0; r < n; r++) {
        const size_t g = (size_t)(lo + A.perm[r]);
        A.p[r] = NN(sigmoid)(A.logit[r]);
        if (probs) probs[g] = A.p[r];
        if (attention) memcpy(attention + g * T, A.a + (size_t)r * T, (size_t)T * sizeof(real));
        if (b->label) {
            A.y[r] = (real)b->label[g];
            A.w[r] = b->weight ? (real)b->weight[g] : 1;
        }
    }
    return b->label ? NN(bce_forward)(A.logit, A.y, A.w, n) : 0;
}

void NN_SFX(dnamta_backward_chunk)(const dnamta_layout *L, const real *P, const tp_dnamta_batch *b,
                               int lo, int hi, real scale, real *acts, int *ints, real *grads,
                               real *dproj) {
    const int n = hi - lo, T = L->T, H = L->H, G = L->G, Q = L->Q, U = L->U, Z = L->Z;
    NN_SFX(dn_acts) A = NN_SFX(dn_carve)(L, n, acts, ints);
    NN(bce_backward)(A.dlogit, A.logit, A.y, A.w, scale, n);
    memset(A.dq, 0, (size_t)n * Q * sizeof(real));
    NN(dense_backward)(A.dq, grads + L->o_wo, grads + L->o_bo, A.dlogit, A.q, P + L->o_wo, n, Q, 1);
    if (U > 0) {
        for (int r = 0; r < n; r++)
            memcpy(A.dz + (size_t)r * Z, A.dq + (size_t)r * Q + H, (size_t)Z * sizeof(real));
        if (L->ctrl_hidden > 0) {
            NN(relu_backward)(A.dz, A.z, (size_t)n * Z);
            memset(A.du, 0, (size_t)n * U * sizeof(real));
            NN(dense_backward)(A.du, grads + L->o_cw, grads + L->o_cb, A.dz, A.u, P + L->o_cw, n, U, Z);
        } else {
            memcpy(A.du, A.dz, (size_t)n * U * sizeof(real));
        }
        for (int r = 0; r < n; r++) {
            const size_t g = (size_t)(lo + A.perm[r]);
            for (int k = 0; k < L->n_cat; k++) {
                real *d = grads + L->o_cemb[k] + (size_t)b->categorical[g * L->n_cat + k] * L->cat_embed;
                const real *s = A.du + (size_t)r * U + L->n_num + k * L->cat_embed;
                for (int e = 0; e < L->cat_embed; e++) d[e] += s[e];
            }
        }
    }
    // dctx = dq[:, :H] through the dropout mask (ctx's buffer is free now)
    for (int r = 0; r < n; r++)
        for (int j = 0; j < H; j++)
            A.ctx[(size_t)r * H + j] = A.dq[(size_t)r * Q + j] * A.mask[(size_t)r * H + j];
    memset(A.dh, 0, (size_t)T * n * H * sizeof(real));
    real ddecay = 0;
    NN(attention_backward)(A.dh, grads + L->o_wa, &ddecay, A.ctx, A.a, A.h, P + L->o_wa,
                           L->decay ? A.age : NULL, A.len, T, n, H);
    if (L->decay) grads[L->o_rate] += ddecay * NN(sigmoid)(P[L->o_rate]); // d softplus = sigmoid
    NN(lstm_backward)(A.gates, grads + L->o_wh, A.dh, A.dc, A.h, A.c, A.tc, P + L->o_wh,
                      A.n_active, T, n, H);
    for (int t = 0; t < T; t++) {
        for (int r = 0; r < A.n_active[t]; r++) {
            int32_t cam = b->campaign[(size_t)(lo + A.perm[r]) * T + t];
            real *d = dproj + (size_t)cam * G;
            const real *s = A.gates + ((size_t)t * n + r) * G;
            for (int j = 0; j < G; j++) d[j] += s[j];
        }
    }
}

void NN_SFX(dnamta_finish)(const dnamta_layout *L, const real *P, const real *dproj, real *grads) {
    NN(dense_backward)(grads + L->o_emb, grads + L->o_wx, grads + L->o_b, dproj, P + L->o_emb,
                       P + L->o_wx, L->V, L->E, L->G);
}

#endif

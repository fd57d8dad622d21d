/* dnamta.c: the attention model of dnamta.h: memory (llm.c layout: one block each for parameters,
 * gradients, optimiser state and activations), initialisation, threading and the optimiser step.
 * The computation itself is in dnamta_core.c; the parameter order is documented there.
 * Threads split the batch into contiguous chunks with their own activations and gradients, reduced
 * in chunk order, so results are bit-identical for a given seed and thread count. */
#include "attribution/dnamta_core.h"
#include "nn/nn.h"
#include "touchpoint/dnamta.h"

#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#define MAX_TENSORS (8 + DNAMTA_MAX_CAT)

struct tp_dnamta {
    tp_dnamta_config cfg;
    int cat_card[DNAMTA_MAX_CAT];
    dnamta_layout L;
    int max_batch, n_threads;
    float *params, *grads, *m, *v; /* n_params each; m, v: Adam moments (m: SGD momentum) */
    long step;                     /* optimiser steps taken */
    float *proj;                   /* (V,G) input projection table of the last forward */
    float *acts;                   /* max_batch * row_acts */
    int *ints;                     /* 2 max_batch + n_threads T */
    float *tgrads;                 /* n_threads * (n_params + V G): per-thread gradients, dproj */
    double tloss[1024];            /* per-thread loss sums of the last forward */
    int last_B;                    /* rows of the last forward, 0 = none to backpropagate */
    bool last_labels;
    size_t n_tensors;
    char names[MAX_TENSORS][40];
    size_t t_off[MAX_TENSORS], t_size[MAX_TENSORS];
};

static void add_tensor(tp_dnamta *m, const char *name, size_t off, size_t size) {
    if (size == 0) return;
    TP_ASSERT(m->n_tensors < MAX_TENSORS);
    snprintf(m->names[m->n_tensors], sizeof m->names[0], "%s", name);
    m->t_off[m->n_tensors] = off;
    m->t_size[m->n_tensors] = size;
    m->n_tensors++;
}

// Glorot-uniform: U(-a, a) with a = sqrt(6 / (fan_in + fan_out)).
static void glorot(float *w, size_t n, int fan_in, int fan_out, tp_rng *rng) {
    const double a = sqrt(6.0 / (fan_in + fan_out));
    for (size_t i = 0; i < n; i++) w[i] = (float)((2 * tp_rng_uniform(rng) - 1) * a);
}

static tp_status alloc_threads(tp_dnamta *m, int nt) {
    const dnamta_layout *L = &m->L;
    tp_free(m->ints);
    tp_free(m->tgrads);
    m->ints = tp_malloc(((size_t)DNAMTA_ROW_INTS * m->max_batch + (size_t)nt * L->T) * sizeof(int));
    m->tgrads = tp_malloc((size_t)nt * (L->n_params + L->proj) * sizeof(float));
    m->n_threads = nt;
    m->last_B = 0;
    if (!m->ints || !m->tgrads) return tp_fail(TP_ERR_NOMEM, "dnamta: out of memory for %d threads", nt);
    return TP_OK;
}

tp_status tp_dnamta_new(const tp_dnamta_config *cfg, int max_batch, uint64_t seed, tp_dnamta **out) {
    *out = NULL;
    if (!cfg) return tp_fail(TP_ERR_ARG, "dnamta: no config");
    if (max_batch < 1) return tp_fail(TP_ERR_ARG, "dnamta: max_batch %d < 1", max_batch);
    tp_dnamta *m = tp_calloc(1, sizeof *m);
    if (!m) return tp_fail(TP_ERR_NOMEM, "dnamta: out of memory");
    tp_status rc = dnamta_layout_init(&m->L, cfg);
    if (rc != TP_OK) goto done;
    const dnamta_layout *L = &m->L;
    m->cfg = *cfg;
    for (int k = 0; k < cfg->n_categorical; k++) m->cat_card[k] = cfg->cat_cardinality[k];
    m->cfg.cat_cardinality = cfg->n_categorical > 0 ? m->cat_card : NULL;
    m->max_batch = max_batch;
    const size_t np = L->n_params;
    m->params = tp_calloc(4 * np, sizeof(float)); // params | grads | m | v
    m->proj = tp_malloc(L->proj * sizeof(float));
    m->acts = tp_malloc((size_t)max_batch * L->row_acts * sizeof(float));
    if (!m->params || !m->proj || !m->acts) {
        rc = tp_fail(TP_ERR_NOMEM, "dnamta: out of memory for %zu parameters and a batch of %d",
                     np, max_batch);
        goto done;
    }
    m->grads = m->params + np, m->m = m->params + 2 * np, m->v = m->params + 3 * np;
    int nt = tp_threads_default();
    if (nt > 1024) nt = 1024;
    rc = alloc_threads(m, nt);
    if (rc != TP_OK) goto done;
    // BLAS calls are small and already inside our threads: keep OpenBLAS single-threaded
    openblas_set_num_threads(1);

    tp_rng rng;
    tp_rng_seed(&rng, seed);
    float *P = m->params;
    const int V = L->V, E = L->E, H = L->H, G = L->G;
    glorot(P + L->o_emb, (size_t)V * E, V, E, &rng);
    glorot(P + L->o_wx, (size_t)G * E, E, G, &rng);
    glorot(P + L->o_wh, (size_t)G * H, H, G, &rng);
    for (int j = 0; j < H; j++) P[L->o_b + H + j] = 1; // forget gate bias 1 (Jozefowicz et al.)
    glorot(P + L->o_wa, (size_t)H, H, 1, &rng);
    if (L->decay) P[L->o_rate] = (float)log(expm1(0.1)); // softplus(rate) = 0.1 per day
    for (int k = 0; k < L->n_cat; k++)
        glorot(P + L->o_cemb[k], (size_t)L->cat_card[k] * L->cat_embed, L->cat_card[k],
               L->cat_embed, &rng);
    if (L->ctrl_hidden > 0) glorot(P + L->o_cw, (size_t)L->ctrl_hidden * L->U, L->U, L->ctrl_hidden, &rng);
    glorot(P + L->o_wo, (size_t)L->Q, L->Q, 1, &rng);

    add_tensor(m, "embedding", L->o_emb, (size_t)V * E);
    add_tensor(m, "lstm.w_x", L->o_wx, (size_t)G * E);
    add_tensor(m, "lstm.w_h", L->o_wh, (size_t)G * H);
    add_tensor(m, "lstm.bias", L->o_b, (size_t)G);
    add_tensor(m, "attention.w", L->o_wa, (size_t)H);
    if (L->decay) add_tensor(m, "time_decay.rate", L->o_rate, 1);
    for (int k = 0; k < L->n_cat; k++) {
        char name[40];
        snprintf(name, sizeof name, "control.embedding.%d", k);
        add_tensor(m, name, L->o_cemb[k], (size_t)L->cat_card[k] * L->cat_embed);
    }
    add_tensor(m, "control.w", L->o_cw, (size_t)L->ctrl_hidden * L->U);
    add_tensor(m, "control.bias", L->o_cb, (size_t)L->ctrl_hidden);
    add_tensor(m, "output.w", L->o_wo, (size_t)L->Q);
    add_tensor(m, "output.bias", L->o_bo, 1);
    *out = m;
    m = NULL;
done:
    tp_dnamta_free(m);
    return rc;
}

void tp_dnamta_free(tp_dnamta *m) {
    if (!m) return;
    tp_free(m->params);
    tp_free(m->proj);
    tp_free(m->acts);
    tp_free(m->ints);
    tp_free(m->tgrads);
    tp_free(m);
}

const tp_dnamta_config *tp_dnamta_get_config(const tp_dnamta *m) { return &m->cfg; }

float *tp_dnamta_params(tp_dnamta *m, size_t *n) {
    if (n) *n = m->L.n_params;
    return m->params;
}

float *tp_dnamta_grads(tp_dnamta *m, size_t *n) {
    if (n) *n = m->L.n_params;
    return m->grads;
}

size_t tp_dnamta_n_tensors(const tp_dnamta *m) { return m->n_tensors; }

const char *tp_dnamta_tensor(const tp_dnamta *m, size_t i, size_t *offset, size_t *size) {
    if (i >= m->n_tensors) return NULL;
    if (offset) *offset = m->t_off[i];
    if (size) *size = m->t_size[i];
    return m->names[i];
}

tp_status tp_dnamta_set_threads(tp_dnamta *m, int n_threads) {
    int nt = n_threads > 0 ? n_threads : tp_threads_default();
    if (nt > 1024) nt = 1024;
    if (nt == m->n_threads) return TP_OK;
    return alloc_threads(m, nt);
}

int tp_dnamta_get_threads(const tp_dnamta *m) { return m->n_threads; }

// ---- forward and backward over threads ----

typedef struct run_ctx {
    tp_dnamta *m;
    const tp_dnamta_batch *b;
    bool train;
    uint64_t seed;
    float *probs, *attention;
    float scale;
} run_ctx;

static tp_status forward_range(void *vctx, size_t lo, size_t hi, int tid) {
    run_ctx *x = vctx;
    tp_dnamta *m = x->m;
    const dnamta_layout *L = &m->L;
    // ints: the chunk's perm (n), len (n), n_active (T), contiguous: chunk tid starts at 2 lo + tid T
    int *ints = m->ints + (size_t)DNAMTA_ROW_INTS * lo + (size_t)tid * L->T;
    m->tloss[tid] = dnamta_forward_chunk(L, m->params, m->proj, x->b, (int)lo, (int)hi, x->train,
                                         x->seed, m->acts + lo * L->row_acts, ints, x->probs,
                                         x->attention);
    return TP_OK;
}

static tp_status backward_range(void *vctx, size_t lo, size_t hi, int tid) {
    run_ctx *x = vctx;
    tp_dnamta *m = x->m;
    const dnamta_layout *L = &m->L;
    int *ints = m->ints + (size_t)DNAMTA_ROW_INTS * lo + (size_t)tid * L->T;
    float *tg = m->tgrads + (size_t)tid * (L->n_params + L->proj);
    memset(tg, 0, (L->n_params + L->proj) * sizeof(float));
    dnamta_backward_chunk(L, m->params, x->b, (int)lo, (int)hi, x->scale,
                          m->acts + lo * L->row_acts, ints, tg, tg + L->n_params);
    return TP_OK;
}

tp_status tp_dnamta_forward(tp_dnamta *m, const tp_dnamta_batch *b, bool train, uint64_t seed,
                            float *probs, float *attention, float *loss) {
    const dnamta_layout *L = &m->L;
    m->last_B = 0;
    if (loss) *loss = 0;
    tp_status rc = dnamta_check_batch(L, b, m->max_batch, false);
    if (rc != TP_OK) return rc;
    dnamta_project(L, m->params, m->proj);
    run_ctx x = {.m = m, .b = b, .train = train, .seed = seed, .probs = probs, .attention = attention};
    int nt = m->n_threads < b->B ? m->n_threads : b->B;
    rc = tp_parallel_for((size_t)b->B, nt, forward_range, &x);
    if (rc != TP_OK) return rc;
    double sum = 0;
    for (int t = 0; t < nt; t++) sum += m->tloss[t];
    if (loss) *loss = b->label ? (float)(sum / b->B) : 0;
    m->last_B = b->B;
    m->last_labels = b->label != NULL;
    return TP_OK;
}

tp_status tp_dnamta_backward(tp_dnamta *m, const tp_dnamta_batch *b) {
    const dnamta_layout *L = &m->L;
    if (m->last_B == 0)
        return tp_fail(TP_ERR_ARG, "dnamta: backward without a forward pass (or called twice)");
    if (!m->last_labels || !b->label)
        return tp_fail(TP_ERR_ARG, "dnamta: backward needs a forward pass on a labelled batch");
    if (b->B != m->last_B)
        return tp_fail(TP_ERR_ARG, "dnamta: backward on %d rows after a forward on %d", b->B,
                       m->last_B);
    run_ctx x = {.m = m, .b = b, .scale = 1.0f / (float)b->B};
    int nt = m->n_threads < b->B ? m->n_threads : b->B;
    m->last_B = 0; // the backward overwrites the gate activations
    tp_status rc = tp_parallel_for((size_t)b->B, nt, backward_range, &x);
    if (rc != TP_OK) return rc;
    // reduce in thread order (deterministic), then the input projection's parameters
    const size_t np = L->n_params, stride = np + L->proj;
    float *t0 = m->tgrads;
    for (int t = 1; t < nt; t++) {
        const float *tg = m->tgrads + (size_t)t * stride;
        for (size_t i = 0; i < stride; i++) t0[i] += tg[i];
    }
    for (size_t i = 0; i < np; i++) m->grads[i] += t0[i];
    dnamta_finish(L, m->params, t0 + np, m->grads);
    return TP_OK;
}

void tp_dnamta_zero_grad(tp_dnamta *m) { memset(m->grads, 0, m->L.n_params * sizeof(float)); }

void tp_optim_config_default(tp_optim_config *c) {
    memset(c, 0, sizeof *c);
    c->kind = TP_OPTIM_ADAM;
    c->lr = 1e-3f;
    c->beta1 = 0.9f, c->beta2 = 0.999f, c->eps = 1e-8f;
    c->clip_norm = 5;
}

tp_status tp_dnamta_step(tp_dnamta *m, const tp_optim_config *c) {
    const size_t n = m->L.n_params;
    if (!(c->lr > 0) || !(c->weight_decay >= 0) || !(c->clip_norm >= 0))
        return tp_fail(TP_ERR_ARG, "dnamta: optimiser lr %g, weight decay %g, clip %g invalid",
                       (double)c->lr, (double)c->weight_decay, (double)c->clip_norm);
    if (c->clip_norm > 0) nn_clip_grad_norm(m->grads, n, c->clip_norm);
    m->step++;
    if (c->kind == TP_OPTIM_ADAM) {
        if (!(c->beta1 >= 0 && c->beta1 < 1 && c->beta2 >= 0 && c->beta2 < 1 && c->eps > 0))
            return tp_fail(TP_ERR_ARG, "dnamta: Adam betas (%g, %g) / eps %g invalid",
                           (double)c->beta1, (double)c->beta2, (double)c->eps);
        nn_adam_step(m->params, m->grads, m->m, m->v, n, c->lr, c->beta1, c->beta2, c->eps,
                     c->weight_decay, m->step);
    } else {
        nn_sgd_step(m->params, m->grads, m->m, n, c->lr, c->momentum, c->weight_decay);
    }
    return TP_OK;
}

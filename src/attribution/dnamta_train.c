/* dnamta_train.c: training the attention model (job 3). Minibatches in a seeded shuffle with
 * positives oversampled per batch (the reference's method) or class weights; early stopping on
 * the VALIDATION metric with patience, restoring the best epoch's parameters; random or
 * successive-halving hyperparameter search on validation only; the test split is read once, at
 * the very end (tp_dnamta_splits_test refuses a second read). */
#include "touchpoint/dnamta_train.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

// B batch rows, T steps, n journeys.

static double cpu_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void tp_dnamta_train_opts_default(tp_dnamta_train_opts *o) {
    memset(o, 0, sizeof *o);
    o->hp.lr = 1e-3f;
    o->hp.batch_size = 256;
    o->hp.embed = 20;
    o->hp.hidden = 64;
    o->hp.dropout = 0.1f;
    o->epochs = 20;
    o->patience = 3;
    o->imbalance = TP_IMB_OVERSAMPLE;
    o->positive_fraction = 0.5;
    o->metric = TP_DN_METRIC_ROC;
    o->search = TP_SEARCH_NONE;
    o->trials = 8;
    o->seed = 1;
}

void tp_dnamta_model_free(tp_dnamta_model *m) {
    if (!m) return;
    tp_dnamta_free(m->net);
    tp_free(m->cat_card);
    for (size_t i = 0; i < m->n_vocab; i++) tp_free(m->vocab[i]);
    tp_free(m->vocab);
    tp_dnamta_controls_clear(&m->controls);
    tp_free(m->hparams_json);
    tp_free(m->metrics_json);
    tp_free(m);
}

void tp_dnamta_train_result_clear(tp_dnamta_train_result *r) {
    if (!r) return;
    tp_free(r->curve);
    tp_free(r->trial_hp);
    tp_free(r->trial_val);
    tp_free(r->trial_epochs);
    tp_free(r->test_prob);
    tp_free(r->test_label);
    tp_free(r->baseline_credit);
    tp_free(r->baseline_share);
    memset(r, 0, sizeof *r);
}

static double logit(double p) {
    if (p < 1e-12) p = 1e-12;
    if (p > 1 - 1e-12) p = 1 - 1e-12;
    return log(p / (1 - p));
}

// ---- inference in batches ----

tp_status tp_dnamta_model_run(tp_dnamta_model *m, const tp_dnamta_data *d, int threads, double *prob, float *attention) {
    const tp_dnamta_config *cfg = &m->cfg;
    size_t T = d->T, Bmax = 512;
    int32_t *camp = NULL, *cat = NULL;
    float *age = NULL, *num = NULL, *p = NULL;
    uint32_t *idx = NULL;
    tp_status rc = TP_OK;
    if ((int)T != cfg->max_len || (int)d->n_numeric != cfg->n_numeric || (int)d->n_categorical != cfg->n_categorical)
        return tp_fail(TP_ERR_SHAPE, "dnamta: inputs have T=%zu, %zu numeric, %zu categorical; the model wants %d, %d, %d",
                       T, d->n_numeric, d->n_categorical, cfg->max_len, cfg->n_numeric, cfg->n_categorical);
    if (threads != 0 && (rc = tp_dnamta_set_threads(m->net, threads)) != TP_OK) return rc;
    size_t mb = (size_t)m->max_batch;
    if (Bmax > mb) Bmax = mb;
    camp = tp_malloc(Bmax * T * sizeof *camp);
    age = tp_malloc(Bmax * T * sizeof *age);
    p = tp_malloc(Bmax * sizeof *p);
    idx = tp_malloc(Bmax * sizeof *idx);
    if (d->n_numeric) num = tp_malloc(Bmax * d->n_numeric * sizeof *num);
    if (d->n_categorical) cat = tp_malloc(Bmax * d->n_categorical * sizeof *cat);
    if (!camp || !age || !p || !idx || (d->n_numeric && !num) || (d->n_categorical && !cat)) {
        rc = tp_fail(TP_ERR_NOMEM, "dnamta: out of memory for a batch");
        goto done;
    }
    for (size_t lo = 0; lo < d->n; lo += Bmax) {
        size_t B = d->n - lo < Bmax ? d->n - lo : Bmax;
        for (size_t r = 0; r < B; r++) idx[r] = (uint32_t)(lo + r);
        tp_dnamta_batch b;
        tp_dnamta_data_gather(d, idx, B, camp, age, NULL, num, cat, &b);
        if ((rc = tp_dnamta_forward(m->net, &b, false, 0, p, attention ? attention + lo * T : NULL, NULL)) != TP_OK)
            goto done;
        for (size_t r = 0; r < B; r++) {
            double q = p[r];
            prob[lo + r] = m->logit_offset == 0 ? q : 1.0 / (1.0 + exp(-(logit(q) + m->logit_offset)));
        }
    }
done:
    tp_free(camp);
    tp_free(age);
    tp_free(p);
    tp_free(idx);
    tp_free(num);
    tp_free(cat);
    return rc;
}

// ---- one training run ----

typedef struct run_ctx {
    const tp_dnamta_data *train, *val;
    const tp_dnamta_train_opts *o;
    tp_dnamta_model *proto; // vocabulary, controls, cat cardinalities
} run_ctx;

static uint64_t mix(uint64_t a, uint64_t b) { return tp_hash_u64(a * 0x9e3779b97f4a7c15ULL ^ tp_hash_u64(b + 1)); }

static double val_score(const tp_dnamta_train_opts *o, const tp_dnamta_epoch *e) {
    double v = o->metric == TP_DN_METRIC_PR ? e->val_pr : e->val_roc;
    return isfinite(v) ? v : -e->val_loss; // one-class validation: fall back to the log loss
}

static double prior_offset(const tp_dnamta_train_opts *o, const tp_dnamta_data *train, size_t B) {
    double pi = (double)train->positives / (double)train->n;
    if (train->positives == 0 || train->positives == train->n) return 0.0;
    if (o->imbalance == TP_IMB_WEIGHTS) return logit(pi); // balanced weights: effective prior 1/2
    if (o->imbalance == TP_IMB_OVERSAMPLE && o->positive_fraction > 0 && B >= 2) {
        long pb = lround(o->positive_fraction * (double)B);
        if (pb < 1) pb = 1;
        if (pb > (long)B - 1) pb = (long)B - 1;
        return logit(pi) - logit((double)pb / (double)B);
    }
    return 0.0;
}

static tp_status make_net(const run_ctx *x, const tp_dnamta_hparams *hp, tp_dnamta_model **out) {
    tp_dnamta_model *m = tp_calloc(1, sizeof *m);
    const tp_dnamta_model *p = x->proto;
    tp_status rc = TP_OK;
    if (!m) return tp_fail(TP_ERR_NOMEM, "out of memory");
    m->cfg = p->cfg;
    m->cfg.embed = hp->embed;
    m->cfg.hidden = hp->hidden;
    m->cfg.dropout = hp->dropout;
    m->cfg.cat_cardinality = p->cat_card;
    m->max_batch = hp->batch_size;
    m->logit_offset = prior_offset(x->o, x->train, (size_t)hp->batch_size);
    if ((rc = tp_dnamta_new(&m->cfg, hp->batch_size, x->o->seed, &m->net)) != TP_OK) goto done;
    m->cfg.cat_cardinality = NULL; // the net keeps its own copy; only the final model owns one
    if ((rc = tp_dnamta_set_threads(m->net, x->o->threads)) != TP_OK) goto done;
    *out = m;
    m = NULL;
done:
    tp_dnamta_model_free(m);
    return rc;
}

/* Train a new network with hp for up to max_epochs, early stopping with patience on val.
 * *out holds the best epoch's parameters; curve (max_epochs entries) is filled for *n_epochs. */
static tp_status train_run(const run_ctx *x, const tp_dnamta_hparams *hp, int max_epochs, int trial,
                           tp_dnamta_model **out, tp_dnamta_epoch *curve, int *n_epochs, int *best_epoch,
                           double *best_val) {
    const tp_dnamta_train_opts *o = x->o;
    const tp_dnamta_data *tr = x->train, *va = x->val;
    size_t T = tr->T, B = (size_t)hp->batch_size, nn = tr->n_numeric, nc = tr->n_categorical;
    tp_dnamta_model *m = NULL;
    float *best = NULL, *age = NULL, *lab = NULL, *num = NULL, *wt = NULL, *probs = NULL;
    int32_t *camp = NULL, *cat = NULL;
    uint32_t *idx = NULL;
    size_t *off = NULL;
    double *vprob = NULL;
    uint8_t *vlab = NULL;
    tp_status rc;
    if ((rc = make_net(x, hp, &m)) != TP_OK) return rc;
    size_t np;
    float *params = tp_dnamta_params(m->net, &np);
    best = tp_malloc(np * sizeof *best);
    camp = tp_malloc(B * T * sizeof *camp);
    age = tp_malloc(B * T * sizeof *age);
    lab = tp_malloc(B * sizeof *lab);
    wt = tp_malloc(B * sizeof *wt);
    probs = tp_malloc(B * sizeof *probs);
    if (nn) num = tp_malloc(B * nn * sizeof *num);
    if (nc) cat = tp_malloc(B * nc * sizeof *cat);
    vprob = tp_malloc((va->n ? va->n : 1) * sizeof *vprob);
    vlab = tp_malloc((va->n ? va->n : 1) * sizeof *vlab);
    if (!best || !camp || !age || !lab || !wt || !probs || (nn && !num) || (nc && !cat) || !vprob || !vlab) {
        rc = tp_fail(TP_ERR_NOMEM, "dnamta: out of memory for training buffers");
        goto done;
    }
    for (size_t i = 0; i < va->n; i++) vlab[i] = va->label[i] > 0.5f;
    double pi = (double)tr->positives / (double)tr->n;
    float w_pos = 1, w_neg = 1;
    if (o->imbalance == TP_IMB_WEIGHTS && tr->positives > 0 && tr->positives < tr->n) {
        w_pos = (float)(0.5 / pi);
        w_neg = (float)(0.5 / (1 - pi));
    }
    double pf = o->imbalance == TP_IMB_OVERSAMPLE ? o->positive_fraction : 0.0;
    tp_optim_config oc;
    tp_optim_config_default(&oc);
    oc.lr = hp->lr;
    double best_score = -INFINITY;
    int since = 0, ep;
    *best_epoch = 0;
    memcpy(best, params, np * sizeof *best);
    for (ep = 1; ep <= max_epochs; ep++) {
        size_t n_idx, nb;
        tp_free(idx);
        tp_free(off);
        idx = NULL, off = NULL;
        if ((rc = tp_dnamta_epoch_order(tr, B, pf, mix(o->seed, (uint64_t)ep), &idx, &n_idx, &off, &nb)) != TP_OK)
            goto done;
        char what[64];
        if (trial >= 0) snprintf(what, sizeof what, "trial %d epoch %d/%d", trial + 1, ep, max_epochs);
        else snprintf(what, sizeof what, "epoch %d/%d", ep, max_epochs);
        tp_progress *pg = tp_progress_begin(what, n_idx, "journeys");
        double t0 = tp_now(), c0 = cpu_now(), loss_sum = 0;
        for (size_t k = 0; k < nb; k++) {
            size_t bs = off[k + 1] - off[k];
            tp_dnamta_batch b;
            tp_dnamta_data_gather(tr, idx + off[k], bs, camp, age, lab, num, cat, &b);
            if (o->imbalance == TP_IMB_WEIGHTS) {
                for (size_t r = 0; r < bs; r++) wt[r] = lab[r] > 0.5f ? w_pos : w_neg;
                b.weight = wt;
            }
            float loss;
            tp_dnamta_zero_grad(m->net);
            if ((rc = tp_dnamta_forward(m->net, &b, true, mix(mix(o->seed, (uint64_t)ep), k), probs, NULL, &loss)) != TP_OK ||
                (rc = tp_dnamta_backward(m->net, &b)) != TP_OK || (rc = tp_dnamta_step(m->net, &oc)) != TP_OK) {
                tp_progress_end(pg);
                goto done;
            }
            loss_sum += loss;
            tp_progress_add(pg, bs);
        }
        tp_progress_end(pg);
        tp_dnamta_epoch *e = &curve[ep - 1];
        e->epoch = ep;
        e->seconds = tp_now() - t0;
        e->cpu_seconds = cpu_now() - c0;
        e->journeys_per_s = e->seconds > 0 ? (double)n_idx / e->seconds : 0;
        e->train_loss = nb ? loss_sum / (double)nb : NAN;
        e->val_loss = e->val_roc = e->val_pr = NAN;
        if (!isfinite(e->train_loss)) {
            rc = tp_fail(TP_ERR_INTERNAL, "dnamta: training diverged at epoch %d (loss %g); lower the learning rate (%g)",
                         ep, e->train_loss, (double)hp->lr);
            goto done;
        }
        if (va->n > 0) {
            if ((rc = tp_dnamta_model_run(m, va, 0, vprob, NULL)) != TP_OK) goto done;
            if ((rc = tp_metrics_log_loss(vprob, vlab, NULL, va->n, &e->val_loss)) != TP_OK) goto done;
            if ((rc = tp_metrics_roc_auc(vprob, vlab, va->n, &e->val_roc)) != TP_OK) goto done;
            if ((rc = tp_metrics_pr_auc(vprob, vlab, va->n, &e->val_pr)) != TP_OK) goto done;
        }
        if (o->on_epoch) o->on_epoch(o->ud, trial, hp, e);
        double s = va->n > 0 ? val_score(o, e) : -e->train_loss;
        if (s > best_score) {
            best_score = s;
            *best_epoch = ep;
            since = 0;
            memcpy(best, params, np * sizeof *best);
        } else if (++since >= o->patience) {
            ep++;
            break;
        }
    }
    *n_epochs = ep - 1;
    memcpy(params, best, np * sizeof *best); // restore the best epoch
    *best_val = best_score;
    *out = m;
    m = NULL;
done:
    tp_dnamta_model_free(m);
    tp_free(best);
    tp_free(camp);
    tp_free(age);
    tp_free(lab);
    tp_free(wt);
    tp_free(probs);
    tp_free(num);
    tp_free(cat);
    tp_free(idx);
    tp_free(off);
    tp_free(vprob);
    tp_free(vlab);
    return rc;
}

// ---- search ----

static void draw_hp(tp_rng *r, const tp_dnamta_hparams *base, tp_dnamta_hparams *hp) {
    static const int embeds[] = {8, 16, 20, 32};
    static const int hiddens[] = {16, 32, 64, 128};
    static const int batches[] = {64, 128, 256, 512};
    static const float drops[] = {0.0f, 0.1f, 0.2f, 0.3f};
    *hp = *base;
    hp->lr = (float)exp(log(3e-4) + tp_rng_uniform(r) * (log(1e-2) - log(3e-4))); // log-uniform
    hp->embed = embeds[tp_rng_below(r, 4)];
    hp->hidden = hiddens[tp_rng_below(r, 4)];
    hp->batch_size = batches[tp_rng_below(r, 4)];
    hp->dropout = drops[tp_rng_below(r, 4)];
}

static int cmp_score_desc(const void *a, const void *b, void *s) {
    const double *v = s;
    int i = *(const int *)a, k = *(const int *)b;
    if (v[i] != v[k]) return v[i] > v[k] ? -1 : 1;
    return i - k;
}

static json_t *hp_json(const tp_dnamta_hparams *hp) {
    return json_pack("{s:f, s:i, s:i, s:i, s:f}", "lr", (double)hp->lr, "batch_size", hp->batch_size, "embed",
                     hp->embed, "hidden", hp->hidden, "dropout", (double)hp->dropout);
}

static json_t *jnum(double v) { return isfinite(v) ? json_real(v) : json_null(); }

static const char *imb_name(tp_dnamta_imbalance i) {
    return i == TP_IMB_OVERSAMPLE ? "oversample" : i == TP_IMB_WEIGHTS ? "weights" : "none";
}
static const char *search_name(tp_dnamta_search s) {
    return s == TP_SEARCH_RANDOM ? "random" : s == TP_SEARCH_HALVING ? "halving" : "none";
}

static char *dump(json_t *o) {
    char *t = o ? json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(17)) : NULL;
    char *r = t ? tp_strdup(t) : NULL;
    free(t);
    return r;
}

/* The logistic-regression baseline: l2 chosen on val ROC-AUC, test metrics on the (already read)
 * test split, removal-effect credit over train + val + test. */
static tp_status baseline(const tp_dnamta_data *tr, const tp_dnamta_data *va, const tp_dnamta_data *te, size_t K,
                          tp_dnamta_train_result *r) {
    static const double l2s[] = {1e-5, 1e-4, 1e-3, 1e-2};
    tp_logreg *best = NULL, *m = NULL;
    size_t nmax = va->n > te->n ? va->n : te->n;
    double *p = tp_malloc((nmax ? nmax : 1) * sizeof *p), best_auc = -INFINITY;
    uint8_t *y = tp_malloc(nmax ? nmax : 1);
    tp_status rc = TP_OK;
    r->baseline_credit = tp_calloc(K + 1, sizeof *r->baseline_credit);
    r->baseline_share = tp_calloc(K + 1, sizeof *r->baseline_share);
    if (!p || !y || !r->baseline_credit || !r->baseline_share) {
        rc = tp_fail(TP_ERR_NOMEM, "out of memory for the baseline");
        goto done;
    }
    for (size_t k = 0; k < sizeof l2s / sizeof *l2s; k++) {
        if ((rc = tp_logreg_fit_bag(tr, K + 1, l2s[k], &m)) != TP_OK) goto done;
        double auc = -1;
        if (va->n > 0) {
            for (size_t i = 0; i < va->n; i++) y[i] = va->label[i] > 0.5f;
            if ((rc = tp_logreg_predict_bag(m, va, p)) != TP_OK) goto done;
            if ((rc = tp_metrics_roc_auc(p, y, va->n, &auc)) != TP_OK) goto done;
            if (!isfinite(auc)) auc = -1;
        }
        if (!best || auc > best_auc) {
            tp_logreg_free(best);
            best = m, best_auc = auc, r->baseline_l2 = l2s[k];
        } else {
            tp_logreg_free(m);
        }
        m = NULL;
    }
    if (te->n > 0) {
        for (size_t i = 0; i < te->n; i++) y[i] = te->label[i] > 0.5f;
        if ((rc = tp_logreg_predict_bag(best, te, p)) != TP_OK) goto done;
        if ((rc = tp_metrics_summarize(p, y, te->n, &r->baseline_test)) != TP_OK) goto done;
    }
    const tp_dnamta_data *all[3] = {tr, va, te};
    for (int k = 0; k < 3; k++)
        if ((rc = tp_logreg_removal_credit(best, all[k], r->baseline_credit)) != TP_OK) goto done;
    double tot = 0;
    for (size_t k = 0; k < K; k++) tot += r->baseline_credit[k];
    for (size_t k = 0; k < K; k++) r->baseline_share[k] = tot > 0 ? r->baseline_credit[k] / tot : 0;
    r->n_vocab = K;
    r->has_baseline = true;
done:
    tp_logreg_free(best);
    tp_logreg_free(m);
    tp_free(p);
    tp_free(y);
    return rc;
}

tp_status tp_dnamta_train(tp_dnamta_splits *s, const tp_dnamta_train_opts *o, tp_dnamta_model **out,
                          tp_dnamta_train_result *res) {
    tp_dnamta_train_result r;
    memset(&r, 0, sizeof r);
    tp_dnamta_model proto, *best_m = NULL, *m = NULL;
    memset(&proto, 0, sizeof proto);
    tp_dnamta_epoch *curve = NULL, *tcurve = NULL;
    json_t *hj = NULL, *mj = NULL, *test_j = NULL;
    char *test_txt = NULL;
    int *order = NULL;
    tp_status rc = TP_OK;
    double t_start = tp_now();
    const tp_dnamta_data *tr = tp_dnamta_splits_train(s), *va = tp_dnamta_splits_val(s), *te = NULL;
    const tp_dnamta_controls *ctl = tp_dnamta_splits_controls(s);
    if (o->epochs < 1 || o->patience < 1 || o->hp.batch_size < 1 || !(o->hp.lr > 0) || o->hp.embed < 1 ||
        o->hp.hidden < 1 || !(o->hp.dropout >= 0 && o->hp.dropout < 1) ||
        (o->search != TP_SEARCH_NONE && o->trials < 1))
        return tp_fail(TP_ERR_ARG, "dnamta train: invalid options (epochs %d, patience %d, batch %d, lr %g, embed %d, "
                       "hidden %d, dropout %g, trials %d)", o->epochs, o->patience, o->hp.batch_size, (double)o->hp.lr,
                       o->hp.embed, o->hp.hidden, (double)o->hp.dropout, o->trials);
    // The prototype: vocabulary size (+ unknown slot), T, controls.
    size_t n_vocab;
    (void)tp_dnamta_splits_vocab(s, &n_vocab);
    proto.cfg.n_campaigns = (int)n_vocab + 1;
    proto.cfg.max_len = (int)tr->T;
    proto.cfg.time_decay = o->time_decay;
    proto.cfg.n_numeric = (int)ctl->n_numeric;
    proto.cfg.n_categorical = (int)ctl->n_categorical;
    proto.cfg.cat_embed = ctl->n_categorical ? 4 : 0;
    proto.cfg.control_hidden = ctl->n_numeric + ctl->n_categorical ? 16 : 0;
    if (ctl->n_categorical) {
        if (!(proto.cat_card = tp_malloc(ctl->n_categorical * sizeof *proto.cat_card))) goto nomem;
        for (size_t k = 0; k < ctl->n_categorical; k++) proto.cat_card[k] = (int)ctl->n_levels[k] + 1;
    }
    run_ctx x = {tr, va, o, &proto};
    int max_ep = o->epochs;
    curve = tp_calloc((size_t)max_ep, sizeof *curve);
    tcurve = tp_calloc((size_t)max_ep, sizeof *tcurve);
    if (!curve || !tcurve) goto nomem;
    tp_dnamta_hparams hp = o->hp;
    int n_ep = 0, best_ep = 0;
    double best_val = -INFINITY;
    if (o->search != TP_SEARCH_NONE) {
        int K = o->trials;
        r.trial_hp = tp_calloc((size_t)K, sizeof *r.trial_hp);
        r.trial_val = tp_calloc((size_t)K, sizeof *r.trial_val);
        r.trial_epochs = tp_calloc((size_t)K, sizeof *r.trial_epochs);
        order = tp_calloc((size_t)K, sizeof *order);
        if (!r.trial_hp || !r.trial_val || !r.trial_epochs || !order) goto nomem;
        r.n_trials = (size_t)K;
        tp_rng rng;
        tp_rng_seed_stream(&rng, o->seed, 0x5ea4c4);
        r.trial_hp[0] = o->hp; // the given settings are always one of the candidates
        for (int k = 1; k < K; k++) draw_hp(&rng, &o->hp, &r.trial_hp[k]);
        for (int k = 0; k < K; k++) order[k] = k, r.trial_val[k] = -INFINITY;
        if (o->search == TP_SEARCH_RANDOM) {
            for (int k = 0; k < K; k++) {
                int ne, be;
                double bv;
                if ((rc = train_run(&x, &r.trial_hp[k], max_ep, k, &m, tcurve, &ne, &be, &bv)) != TP_OK) goto done;
                r.trial_val[k] = bv;
                r.trial_epochs[k] = ne;
                if (!best_m || bv > best_val) { // same seed for every trial: the final run is the best trial
                    tp_dnamta_model_free(best_m);
                    best_m = m;
                    best_val = bv, best_ep = be, n_ep = ne, hp = r.trial_hp[k];
                    memcpy(curve, tcurve, (size_t)ne * sizeof *curve);
                } else {
                    tp_dnamta_model_free(m);
                }
                m = NULL;
            }
        } else {
            // Successive halving: every candidate on a small epoch budget, keep the better half,
            // double the budget, until one is left; it is then trained with the full budget.
            int alive = K, rounds = 0;
            while ((1 << rounds) < K) rounds++;
            int budget = max_ep >> rounds;
            if (budget < 1) budget = 1;
            while (alive > 1) {
                for (int a = 0; a < alive; a++) {
                    int k = order[a], ne, be;
                    double bv;
                    if ((rc = train_run(&x, &r.trial_hp[k], budget, k, &m, tcurve, &ne, &be, &bv)) != TP_OK) goto done;
                    tp_dnamta_model_free(m);
                    m = NULL;
                    r.trial_val[k] = bv;
                    r.trial_epochs[k] = ne;
                }
                qsort_r(order, (size_t)alive, sizeof *order, cmp_score_desc, r.trial_val);
                alive = (alive + 1) / 2;
                budget = budget * 2 < max_ep ? budget * 2 : max_ep;
            }
            hp = r.trial_hp[order[0]];
        }
    }
    if (!best_m) {
        int ne, be;
        double bv;
        if ((rc = train_run(&x, &hp, max_ep, -1, &best_m, curve, &ne, &be, &bv)) != TP_OK) goto done;
        n_ep = ne, best_ep = be, best_val = bv;
    }
    // The model: the net and what prediction needs.
    m = best_m;
    best_m = NULL;
    char *const *vocab = tp_dnamta_splits_vocab(s, &n_vocab);
    m->vocab = tp_calloc(n_vocab ? n_vocab : 1, sizeof *m->vocab);
    if (!m->vocab) goto nomem;
    for (size_t k = 0; k < n_vocab; k++, m->n_vocab++)
        if (!(m->vocab[k] = tp_strdup(vocab[k]))) goto nomem;
    if (ctl->n_categorical) {
        m->cat_card = proto.cat_card;
        proto.cat_card = NULL;
        m->cfg.cat_cardinality = m->cat_card;
    }
    // Copy the control schema and statistics.
    tp_dnamta_controls *mc = &m->controls;
    mc->n_numeric = 0;
    if (ctl->n_numeric) {
        mc->numeric = tp_calloc(ctl->n_numeric, sizeof *mc->numeric);
        mc->mean = tp_malloc(ctl->n_numeric * sizeof *mc->mean);
        mc->std = tp_malloc(ctl->n_numeric * sizeof *mc->std);
        if (!mc->numeric || !mc->mean || !mc->std) goto nomem;
        for (size_t k = 0; k < ctl->n_numeric; k++, mc->n_numeric++) {
            if (!(mc->numeric[k] = tp_strdup(ctl->numeric[k]))) goto nomem;
            mc->mean[k] = ctl->mean[k], mc->std[k] = ctl->std[k];
        }
    }
    if (ctl->n_categorical) {
        mc->categorical = tp_calloc(ctl->n_categorical, sizeof *mc->categorical);
        mc->n_levels = tp_calloc(ctl->n_categorical, sizeof *mc->n_levels);
        mc->levels = tp_calloc(ctl->n_categorical, sizeof *mc->levels);
        if (!mc->categorical || !mc->n_levels || !mc->levels) goto nomem;
        for (size_t k = 0; k < ctl->n_categorical; k++) {
            mc->n_categorical++;
            if (!(mc->categorical[k] = tp_strdup(ctl->categorical[k]))) goto nomem;
            if (!(mc->levels[k] = tp_calloc(ctl->n_levels[k] ? ctl->n_levels[k] : 1, sizeof **mc->levels))) goto nomem;
            for (size_t v = 0; v < ctl->n_levels[k]; v++, mc->n_levels[k]++)
                if (!(mc->levels[k][v] = tp_strdup(ctl->levels[k][v]))) goto nomem;
        }
    }
    // The test split: read once, now.
    if ((rc = tp_dnamta_splits_test(s, &te)) != TP_OK) goto done;
    r.n_test = te->n;
    r.test_prob = tp_malloc((te->n ? te->n : 1) * sizeof *r.test_prob);
    r.test_label = tp_malloc((te->n ? te->n : 1) * sizeof *r.test_label);
    if (!r.test_prob || !r.test_label) goto nomem;
    for (size_t i = 0; i < te->n; i++) r.test_label[i] = te->label[i] > 0.5f;
    if ((rc = tp_dnamta_model_run(m, te, 0, r.test_prob, NULL)) != TP_OK) goto done;
    if (te->n > 0 && (rc = tp_metrics_summarize(r.test_prob, r.test_label, te->n, &r.test)) != TP_OK) goto done;
    if (o->baseline && (rc = baseline(tr, va, te, n_vocab, &r)) != TP_OK) goto done;
    r.best = hp;
    r.best_epoch = best_ep;
    r.best_val = best_val;
    r.n_epochs = (size_t)n_ep;
    r.curve = curve;
    curve = NULL;
    // Deterministic JSON for the model file (no timings).
    hj = hp_json(&hp);
    if (!hj) goto nomem;
    json_t *cn = json_array();
    for (size_t k = 0; k < ctl->n_numeric; k++) json_array_append_new(cn, json_string(ctl->numeric[k]));
    for (size_t k = 0; k < ctl->n_categorical; k++) json_array_append_new(cn, json_string(ctl->categorical[k]));
    json_object_set_new(hj, "max_len", json_integer((json_int_t)tr->T));
    json_object_set_new(hj, "time_decay", json_boolean(o->time_decay));
    json_object_set_new(hj, "controls", cn);
    json_object_set_new(hj, "imbalance", json_string(imb_name(o->imbalance)));
    json_object_set_new(hj, "positive_fraction", json_real(o->positive_fraction));
    json_object_set_new(hj, "metric", json_string(o->metric == TP_DN_METRIC_PR ? "pr" : "roc"));
    json_object_set_new(hj, "epochs", json_integer(o->epochs));
    json_object_set_new(hj, "patience", json_integer(o->patience));
    json_object_set_new(hj, "search", json_string(search_name(o->search)));
    json_object_set_new(hj, "trials", json_integer(o->search != TP_SEARCH_NONE ? o->trials : 0));
    json_object_set_new(hj, "seed", json_integer((json_int_t)o->seed));
    json_object_set_new(hj, "threads", json_integer(tp_dnamta_get_threads(m->net)));
    json_object_set_new(hj, "train_journeys", json_integer((json_int_t)tr->n));
    json_object_set_new(hj, "train_positives", json_integer((json_int_t)tr->positives));
    json_object_set_new(hj, "val_journeys", json_integer((json_int_t)va->n));
    json_object_set_new(hj, "test_journeys", json_integer((json_int_t)te->n));
    if (!(m->hparams_json = dump(hj))) goto nomem;
    mj = json_object();
    if (te->n > 0) {
        if ((rc = tp_metrics_summary_json(&r.test, &test_txt)) != TP_OK) goto done;
        test_j = json_loads(test_txt, 0, NULL);
        json_object_set(mj, "test", test_j);
    } else {
        json_object_set_new(mj, "test", json_null());
    }
    json_object_set_new(mj, "best_epoch", json_integer(best_ep));
    json_object_set_new(mj, "best_validation", jnum(best_val));
    json_object_set_new(mj, "validation_metric", json_string(o->metric == TP_DN_METRIC_PR ? "pr_auc" : "roc_auc"));
    json_t *cj = json_array();
    for (int e = 0; e < n_ep; e++) {
        const tp_dnamta_epoch *c = &r.curve[e];
        json_array_append_new(cj, json_pack("{s:i, s:o, s:o, s:o, s:o}", "epoch", c->epoch, "train_loss",
                                            jnum(c->train_loss), "val_loss", jnum(c->val_loss), "val_roc_auc",
                                            jnum(c->val_roc), "val_pr_auc", jnum(c->val_pr)));
    }
    json_object_set_new(mj, "curve", cj);
    json_t *tj = json_array();
    for (size_t k = 0; k < r.n_trials; k++) {
        json_t *h = hp_json(&r.trial_hp[k]);
        json_object_set_new(h, "best_validation", jnum(r.trial_val[k]));
        json_object_set_new(h, "epochs_trained", json_integer(r.trial_epochs[k]));
        json_array_append_new(tj, h);
    }
    json_object_set_new(mj, "search_trials", tj);
    if (!(m->metrics_json = dump(mj))) goto nomem;
    r.seconds = tp_now() - t_start;
    *out = m;
    m = NULL;
    if (res) {
        *res = r;
        memset(&r, 0, sizeof r);
    }
    goto done;
nomem:
    rc = tp_fail(TP_ERR_NOMEM, "dnamta train: out of memory");
done:
    tp_dnamta_model_free(m);
    tp_dnamta_model_free(best_m);
    tp_free(proto.cat_card);
    tp_free(curve);
    tp_free(tcurve);
    tp_free(order);
    tp_free(test_txt);
    json_decref(hj);
    json_decref(mj);
    json_decref(test_j);
    tp_dnamta_train_result_clear(&r);
    return rc;
}

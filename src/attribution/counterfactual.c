/* counterfactual.c: model-based counterfactual credit (issue 7). Per journey, variants with some
 * campaigns' touches removed (re-left-aligned, same ages and control variables) go through the
 * trained conversion model in one batched forward pass per buffer; removal effects and Shapley
 * values (exact over subsets, or permutation sampling with a standard error) turn the predicted
 * probabilities into expected incremental conversions per campaign and per touch. */
#include "touchpoint/counterfactual.h"
#include "touchpoint/io.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

// Letters: T model steps, R variant rows per forward pass, m distinct campaigns of a journey.

#define CF_MAX_EXACT_LIMIT 16
#define CF_DEFAULT_ROWS 4096

const char *tp_cf_method_name(tp_cf_method m) { return m == TP_CF_SHAPLEY ? "model-shapley" : "model-removal"; }

tp_status tp_cf_method_parse(const char *s, tp_cf_method *out) {
    if (!strcmp(s, "model-removal")) *out = TP_CF_REMOVAL;
    else if (!strcmp(s, "model-shapley")) *out = TP_CF_SHAPLEY;
    else return tp_fail(TP_ERR_ARG, "unknown counterfactual method '%s' (model-removal, model-shapley)", s);
    return TP_OK;
}

void tp_cf_opts_default(tp_cf_opts *o) {
    memset(o, 0, sizeof *o);
    o->max_exact = 8;
    o->samples = 64;
    o->seed = 1;
}

static size_t rows_for(tp_cf_method method, const tp_cf_opts *o, size_t m) {
    if (method == TP_CF_REMOVAL) return m + 2;
    if ((int)m <= o->max_exact) return (size_t)1 << m;
    return o->samples * (m - 1) + 2;
}

size_t tp_cf_rows_needed(tp_cf_method method, const tp_cf_opts *o, size_t T) {
    size_t need = 0;
    for (size_t m = 1; m <= T; m++) {
        size_t r = rows_for(method, o, m);
        if (r > need) need = r;
    }
    return need;
}

void tp_cf_result_free(tp_cf_result *r) {
    if (!r) return;
    tp_free(r->credit);
    tp_free(r->share);
    tp_free(r->std_error);
    tp_free(r->observed);
    tp_free(r->touch_credit);
    tp_free(r);
}

// ---- the variant batch ----

typedef struct pending {
    size_t i;    /* journey */
    size_t row0; /* its first row in the batch */
    int m;       /* distinct campaigns */
} pending;

typedef struct cf_ctx {
    tp_dnamta_model *m;
    const tp_journeys *j;
    const tp_dnamta_data *d;
    tp_cf_method method;
    const tp_cf_opts *o;
    size_t T, R, fill, n_pend;
    int32_t *camp;   /* (R, T) */
    float *age;      /* (R, T) */
    float *num;      /* (R, n_numeric) */
    int32_t *cat;    /* (R, n_categorical) */
    float *p;        /* (R) network probabilities */
    double *v;       /* (R) corrected probabilities */
    pending *pend;   /* (R) */
    int *perm;       /* (T) */
    double *wt;      /* (T + 1) Shapley weights */
    double *phi, *mean, *m2; /* (T) */
    tp_cf_result *res;
    double *var;     /* (n_campaigns) summed sampling variance of the credit */
} cf_ctx;

// Player (0..m-1, by first appearance) of each kept touch of journey i; returns m.
static int players(const cf_ctx *x, size_t i, int *pl) {
    const tp_journeys *j = x->j;
    size_t kept = (size_t)x->d->len[i], len = j->off[i + 1] - j->off[i];
    const int32_t *jc = j->campaign + j->off[i] + (len - kept);
    int m = 0, first[64];
    for (size_t t = 0; t < kept; t++) {
        int k = 0;
        while (k < m && jc[first[k]] != jc[t]) k++;
        if (k == m) first[m++] = (int)t;
        pl[t] = k;
    }
    return m;
}

// Row r of the batch: journey i keeping the touches whose player is in mask.
static void emit(cf_ctx *x, size_t i, const int *pl, uint32_t mask, size_t r) {
    const tp_dnamta_data *d = x->d;
    size_t T = x->T, kept = (size_t)d->len[i], k = 0;
    int32_t *c = x->camp + r * T;
    float *a = x->age + r * T;
    for (size_t t = 0; t < kept; t++) {
        if (!(mask >> pl[t] & 1u)) continue;
        c[k] = d->campaign[i * T + t];
        a[k] = d->age_days ? d->age_days[i * T + t] : 0.0f;
        k++;
    }
    for (; k < T; k++) c[k] = -1, a[k] = 0.0f;
    if (d->n_numeric) memcpy(x->num + r * d->n_numeric, d->numeric + i * d->n_numeric, d->n_numeric * sizeof(float));
    if (d->n_categorical)
        memcpy(x->cat + r * d->n_categorical, d->categorical + i * d->n_categorical, d->n_categorical * sizeof(int32_t));
}

static void draw_perm(const cf_ctx *x, size_t i, uint64_t k, int m, int *perm) {
    tp_rng g;
    tp_rng_seed_stream(&g, x->o->seed ^ tp_hash_u64(k + 1), (uint64_t)x->j->journey_id[i]);
    for (int q = 0; q < m; q++) perm[q] = q;
    for (int q = m - 1; q > 0; q--) {
        int s = (int)tp_rng_below(&g, (uint64_t)q + 1), t = perm[q];
        perm[q] = perm[s], perm[s] = t;
    }
}

static void add_journey(cf_ctx *x, size_t i, const int *pl, int m) {
    size_t r0 = x->fill;
    uint32_t all = (m >= 32) ? 0xffffffffu : ((1u << m) - 1);
    if (x->method == TP_CF_REMOVAL) {
        emit(x, i, pl, all, r0);
        emit(x, i, pl, 0, r0 + 1);
        for (int c = 0; c < m; c++) emit(x, i, pl, all & ~(1u << c), r0 + 2 + (size_t)c);
    } else if (m <= x->o->max_exact) {
        for (uint32_t s = 0; s <= all; s++) emit(x, i, pl, s, r0 + s);
    } else {
        emit(x, i, pl, 0, r0);
        emit(x, i, pl, all, r0 + 1);
        size_t r = r0 + 2;
        for (size_t k = 0; k < x->o->samples; k++) {
            draw_perm(x, i, k, m, x->perm);
            uint32_t s = 0;
            for (int q = 0; q + 1 < m; q++) {
                s |= 1u << x->perm[q];
                emit(x, i, pl, s, r++);
            }
        }
    }
    x->pend[x->n_pend++] = (pending){.i = i, .row0 = r0, .m = m};
    x->fill += rows_for(x->method, x->o, (size_t)m);
}

// phi (m) of one pending journey from x->v; sampled journeys also fill the variance of each phi.
static void credit_of(cf_ctx *x, const pending *q, double *phi, double *var) {
    const double *v = x->v + q->row0;
    int m = q->m;
    uint32_t all = (1u << m) - 1;
    for (int c = 0; c < m; c++) phi[c] = 0, var[c] = 0;
    double total = v[x->method == TP_CF_REMOVAL ? 0 : (m <= x->o->max_exact ? all : 1)] -
                   v[x->method == TP_CF_REMOVAL ? 1 : 0];
    if (x->method == TP_CF_REMOVAL) {
        // removal effects P(full) - P(without c), signed (docs/counterfactual.md): summed over
        // journeys, the conversions the model expects to lose when c alone is switched off
        (void)total;
        for (int c = 0; c < m; c++) phi[c] = v[0] - v[2 + c];
        return;
    }
    if (m <= x->o->max_exact) {
        // wt[s] = s! (m - s - 1)! / m!
        double f[CF_MAX_EXACT_LIMIT + 2];
        f[0] = 1;
        for (int k = 1; k <= m; k++) f[k] = f[k - 1] * k;
        for (int s = 0; s < m; s++) x->wt[s] = f[s] * f[m - s - 1] / f[m];
        for (uint32_t s = 0; s <= all; s++) {
            int size = __builtin_popcount(s);
            for (int c = 0; c < m; c++) {
                if (s >> c & 1u) continue;
                phi[c] += x->wt[size] * (v[s | 1u << c] - v[s]);
            }
        }
        return;
    }
    // permutations: the marginal contribution of each campaign, mean and variance over samples
    size_t K = x->o->samples, r = 2;
    double *mean = x->mean, *m2 = x->m2;
    for (int c = 0; c < m; c++) mean[c] = 0, m2[c] = 0;
    for (size_t k = 0; k < K; k++) {
        draw_perm(x, q->i, k, m, x->perm);
        double prev = v[0];
        for (int p = 0; p < m; p++) {
            double cur = p + 1 < m ? v[r++] : v[1];
            double mc = cur - prev, dlt = mc - mean[x->perm[p]];
            mean[x->perm[p]] += dlt / (double)(k + 1);
            m2[x->perm[p]] += dlt * (mc - mean[x->perm[p]]);
            prev = cur;
        }
    }
    for (int c = 0; c < m; c++) {
        phi[c] = mean[c];
        var[c] = m2[c] / (double)(K - 1) / (double)K;
    }
}

static tp_status flush(cf_ctx *x) {
    if (x->fill == 0) return TP_OK;
    tp_dnamta_model *m = x->m;
    tp_dnamta_batch b = {.B = (int)x->fill,
                         .campaign = x->camp,
                         .age_days = x->age,
                         .numeric = x->d->n_numeric ? x->num : NULL,
                         .categorical = x->d->n_categorical ? x->cat : NULL};
    tp_status rc = tp_dnamta_forward(m->net, &b, false, 0, x->p, NULL, NULL);
    if (rc != TP_OK) return rc;
    for (size_t r = 0; r < x->fill; r++) {
        double q = x->p[r];
        if (m->logit_offset != 0) {
            double qq = q < 1e-12 ? 1e-12 : q > 1 - 1e-12 ? 1 - 1e-12 : q;
            q = 1.0 / (1.0 + exp(-(log(qq / (1 - qq)) + m->logit_offset)));
        }
        x->v[r] = q;
    }
    tp_cf_result *res = x->res;
    const tp_journeys *j = x->j;
    int pl[64];
    for (size_t k = 0; k < x->n_pend; k++) {
        const pending *q = &x->pend[k];
        size_t i = q->i, kept = (size_t)x->d->len[i], len = j->off[i + 1] - j->off[i];
        size_t base = j->off[i] + (len - kept);
        const double *v = x->v + q->row0;
        bool exact = x->method == TP_CF_REMOVAL || q->m <= x->o->max_exact;
        uint32_t all = (1u << q->m) - 1;
        res->expected_conversions += x->method == TP_CF_REMOVAL ? v[0] : exact ? v[all] : v[1];
        res->baseline_conversions += x->method == TP_CF_REMOVAL ? v[1] : v[0];
        if (x->method == TP_CF_SHAPLEY) {
            if (exact) res->n_exact++;
            else res->n_sampled++;
        }
        credit_of(x, q, x->phi, x->m2 + x->T); // variance goes after the scratch m2
        double *var = x->m2 + x->T;
        players(x, i, pl);
        int cnt[64] = {0};
        for (size_t t = 0; t < kept; t++) cnt[pl[t]]++;
        for (size_t t = 0; t < kept; t++) res->touch_credit[base + t] = x->phi[pl[t]] / cnt[pl[t]];
        for (int c = 0; c < q->m; c++) {
            // the campaign of player c: its first touch
            size_t t = 0;
            while (pl[t] != c) t++;
            int32_t jc = j->campaign[base + t];
            res->credit[jc] += x->phi[c];
            if (x->var) x->var[jc] += var[c];
            if (j->converted[i]) res->observed[jc] += 1;
        }
    }
    res->n_rows += x->fill;
    res->n_forward++;
    x->fill = 0;
    x->n_pend = 0;
    return TP_OK;
}

tp_status tp_cf_attribute(tp_dnamta_model *m, const tp_journeys *j, const tp_dnamta_data *d, tp_cf_method method,
                          const tp_cf_opts *opts, tp_cf_result **out) {
    tp_cf_opts o;
    if (opts) o = *opts;
    else tp_cf_opts_default(&o);
    const tp_dnamta_config *cfg = &m->cfg;
    size_t T = d->T, K = j->n_campaigns;
    if (o.max_exact < 0 || o.max_exact > CF_MAX_EXACT_LIMIT)
        return tp_fail(TP_ERR_ARG, "counterfactual: max_exact %d not in 0..%d", o.max_exact, CF_MAX_EXACT_LIMIT);
    if (o.samples < 2) return tp_fail(TP_ERR_ARG, "counterfactual: samples %zu < 2", o.samples);
    if ((int)T != cfg->max_len || (int)d->n_numeric != cfg->n_numeric || (int)d->n_categorical != cfg->n_categorical)
        return tp_fail(TP_ERR_SHAPE, "counterfactual: inputs have T=%zu, %zu numeric, %zu categorical; the model wants "
                                     "%d, %d, %d", T, d->n_numeric, d->n_categorical, cfg->max_len, cfg->n_numeric,
                       cfg->n_categorical);
    if (d->n != j->n) return tp_fail(TP_ERR_SHAPE, "counterfactual: %zu model rows for %zu journeys", d->n, j->n);
    if (T > 31) return tp_fail(TP_ERR_ARG, "counterfactual: model steps T=%zu > 31", T);
    size_t need = tp_cf_rows_needed(method, &o, T), R = (size_t)m->max_batch;
    if (R < need)
        return tp_fail(TP_ERR_ARG, "counterfactual: the model was loaded for batches of %zu rows; %s needs %zu", R,
                       tp_cf_method_name(method), need);
    tp_status rc = tp_dnamta_set_threads(m->net, o.threads);
    if (rc != TP_OK) return rc;
    double t0 = tp_now();
    cf_ctx x = {.m = m, .j = j, .d = d, .method = method, .o = &o, .T = T, .R = R};
    tp_cf_result *res = tp_calloc(1, sizeof *res);
    size_t Kc = K ? K : 1;
    if (!res) return tp_fail(TP_ERR_NOMEM, "out of memory");
    res->method = method;
    res->n_campaigns = K;
    res->credit = tp_calloc(Kc, sizeof(double));
    res->share = tp_calloc(Kc, sizeof(double));
    res->observed = tp_calloc(Kc, sizeof(double));
    res->touch_credit = tp_calloc(j->n_touches ? j->n_touches : 1, sizeof(double));
    if (method == TP_CF_SHAPLEY) res->std_error = tp_calloc(Kc, sizeof(double)), x.var = tp_calloc(Kc, sizeof(double));
    x.res = res;
    x.camp = tp_malloc(R * T * sizeof *x.camp);
    x.age = tp_malloc(R * T * sizeof *x.age);
    x.num = d->n_numeric ? tp_malloc(R * d->n_numeric * sizeof *x.num) : NULL;
    x.cat = d->n_categorical ? tp_malloc(R * d->n_categorical * sizeof *x.cat) : NULL;
    x.p = tp_malloc(R * sizeof *x.p);
    x.v = tp_malloc(R * sizeof *x.v);
    x.pend = tp_malloc(R * sizeof *x.pend);
    x.perm = tp_malloc((T + 1) * sizeof *x.perm);
    x.wt = tp_malloc((T + 1) * sizeof *x.wt);
    x.phi = tp_malloc((T + 1) * sizeof *x.phi);
    x.mean = tp_malloc((T + 1) * sizeof *x.mean);
    x.m2 = tp_malloc(2 * (T + 1) * sizeof *x.m2);
    if (!res->credit || !res->share || !res->observed || !res->touch_credit ||
        (method == TP_CF_SHAPLEY && (!res->std_error || !x.var)) || !x.camp || !x.age ||
        (d->n_numeric && !x.num) || (d->n_categorical && !x.cat) || !x.p || !x.v || !x.pend || !x.perm || !x.wt ||
        !x.phi || !x.mean || !x.m2) {
        rc = tp_fail(TP_ERR_NOMEM, "counterfactual: out of memory for %zu variant rows", R);
        goto done;
    }
    int pl[64];
    for (size_t i = 0; i < j->n; i++) {
        if (d->len[i] <= 0) continue;
        int mm = players(&x, i, pl);
        res->n_journeys++;
        if (j->converted[i]) res->observed_conversions += 1;
        if (x.fill + rows_for(method, &o, (size_t)mm) > R && (rc = flush(&x)) != TP_OK) goto done;
        add_journey(&x, i, pl, mm);
    }
    if ((rc = flush(&x)) != TP_OK) goto done;
    double total = 0;
    for (size_t k = 0; k < K; k++) total += res->credit[k];
    for (size_t k = 0; k < K; k++) {
        res->share[k] = total != 0 ? res->credit[k] / total : 0.0;
        if (res->std_error) res->std_error[k] = sqrt(x.var[k]);
    }
    res->seconds = tp_now() - t0;
    *out = res;
    res = NULL;
done:
    tp_cf_result_free(res);
    tp_free(x.var);
    tp_free(x.camp);
    tp_free(x.age);
    tp_free(x.num);
    tp_free(x.cat);
    tp_free(x.p);
    tp_free(x.v);
    tp_free(x.pend);
    tp_free(x.perm);
    tp_free(x.wt);
    tp_free(x.phi);
    tp_free(x.mean);
    tp_free(x.m2);
    return rc;
}

// ---- output ----

static tp_status add_f64(tp_frame *f, const char *name, size_t n, const double *src) {
    tp_column *c = NULL;
    tp_status rc = tp_column_new(name, TP_DTYPE_F64, n, &c);
    if (rc == TP_OK) rc = tp_column_resize(c, n);
    if (rc == TP_OK) {
        memcpy(TP_COL(c, double), src, n * sizeof(double));
        rc = tp_frame_add_take(f, c);
        c = NULL;
    }
    tp_column_free(c);
    return rc;
}

tp_status tp_cf_write(const tp_cf_result *r, const tp_journeys *j, const char *dir, bool touches) {
    tp_frame *fc = NULL, *ft = NULL;
    tp_column *cn = NULL, *cid = NULL, *cix = NULL, *ctn = NULL, *ccr = NULL;
    const char *name = tp_cf_method_name(r->method);
    size_t K = r->n_campaigns, pl = strlen(dir) + strlen(name) + 32;
    char *path = tp_malloc(pl);
    tp_status rc = TP_OK;
    if (!path) return tp_fail(TP_ERR_NOMEM, "out of memory");
    if (K != j->n_campaigns) {
        rc = tp_fail(TP_ERR_ARG, "counterfactual: result has %zu campaigns, journeys %zu", K, j->n_campaigns);
        goto done;
    }
    if ((rc = tp_frame_new(&fc)) != TP_OK || (rc = tp_journeys_campaign_column(j, K, &cn)) != TP_OK) goto done;
    for (size_t k = 0; k < K; k++) TP_COL(cn, int32_t)[k] = (int32_t)k;
    if ((rc = tp_frame_add_take(fc, cn)) != TP_OK) goto done;
    cn = NULL;
    if ((rc = add_f64(fc, "attributed_conversions", K, r->credit)) != TP_OK ||
        (rc = add_f64(fc, "share", K, r->share)) != TP_OK)
        goto done;
    if (r->std_error && (rc = add_f64(fc, "std_error", K, r->std_error)) != TP_OK) goto done;
    if ((rc = add_f64(fc, "observed_conversions", K, r->observed)) != TP_OK) goto done;
    if ((rc = tp_mkdirs(dir)) != TP_OK) goto done;
    snprintf(path, pl, "%s/%s.parquet", dir, name);
    if ((rc = tp_table_write(fc, path, NULL)) != TP_OK) goto done;
    if (!touches) goto done;
    size_t rows = j->n_touches;
    if ((rc = tp_frame_new(&ft)) != TP_OK || (rc = tp_column_new("journey_id", TP_DTYPE_I64, rows, &cid)) != TP_OK ||
        (rc = tp_column_new("index", TP_DTYPE_I32, rows, &cix)) != TP_OK ||
        (rc = tp_journeys_campaign_column(j, rows, &ctn)) != TP_OK || (rc = tp_column_new("credit", TP_DTYPE_F64, rows, &ccr)) != TP_OK ||
        (rc = tp_column_resize(cid, rows)) != TP_OK || (rc = tp_column_resize(cix, rows)) != TP_OK ||
        (rc = tp_column_resize(ccr, rows)) != TP_OK)
        goto done;
    int64_t *id = TP_COL(cid, int64_t);
    int32_t *ix = TP_COL(cix, int32_t), *nm = TP_COL(ctn, int32_t);
    for (size_t i = 0; i < j->n; i++)
        for (uint64_t t = j->off[i]; t < j->off[i + 1]; t++) {
            id[t] = j->journey_id[i];
            ix[t] = (int32_t)(t - j->off[i]);
            nm[t] = j->campaign[t];
        }
    memcpy(TP_COL(ccr, double), r->touch_credit, rows * sizeof(double));
    tp_column **cols[4] = {&cid, &cix, &ctn, &ccr};
    for (int q = 0; q < 4; q++) {
        if ((rc = tp_frame_add_take(ft, *cols[q])) != TP_OK) goto done;
        *cols[q] = NULL;
    }
    snprintf(path, pl, "%s/%s_touches.parquet", dir, name);
    rc = tp_table_write(ft, path, NULL);
done:
    tp_column_free(cn);
    tp_column_free(cid);
    tp_column_free(cix);
    tp_column_free(ctn);
    tp_column_free(ccr);
    tp_frame_free(fc);
    tp_frame_free(ft);
    tp_free(path);
    return rc;
}

// ---- the command ----

tp_status tp_cf_attribute_job(const char *model_path, const char *journeys_path, tp_cf_method method,
                              const tp_cf_opts *opts, const char *dir, bool touches, tp_cf_result **out,
                              tp_journeys **journeys) {
    tp_cf_opts o;
    if (opts) o = *opts;
    else tp_cf_opts_default(&o);
    tp_dnamta_model *m = NULL;
    tp_frame *f = NULL;
    tp_journeys *j = NULL;
    tp_dnamta_data *d = NULL;
    tp_cf_result *res = NULL;
    tp_status rc = tp_dnamta_model_load(model_path, CF_DEFAULT_ROWS, &m);
    if (rc != TP_OK) return rc;
    size_t need = tp_cf_rows_needed(method, &o, (size_t)m->cfg.max_len);
    if (need > CF_DEFAULT_ROWS) {
        tp_dnamta_model_free(m);
        m = NULL;
        if ((rc = tp_dnamta_model_load(model_path, (int)need, &m)) != TP_OK) goto done;
    }
    if ((rc = tp_journeys_read_frame(journeys_path, &f, NULL)) != TP_OK) goto done;
    if ((rc = tp_journeys_from_frame(f, journeys_path, &j)) != TP_OK) goto done;
    if ((rc = tp_dnamta_data_build(j, f, journeys_path, m->vocab, m->n_vocab, (int32_t)m->n_vocab,
                                   (size_t)m->cfg.max_len, &m->controls, &d)) != TP_OK)
        goto done;
    tp_frame_free(f);
    f = NULL;
    if ((rc = tp_cf_attribute(m, j, d, method, &o, &res)) != TP_OK) goto done;
    if (dir && (rc = tp_cf_write(res, j, dir, touches)) != TP_OK) goto done;
    if (out) *out = res, res = NULL;
    if (journeys) *journeys = j, j = NULL;
done:
    tp_cf_result_free(res);
    tp_dnamta_data_free(d);
    tp_journeys_free(j);
    tp_frame_free(f);
    tp_dnamta_model_free(m);
    return rc;
}

// ---- the experiment's report section ----

typedef struct hbuf {
    char *p;
    size_t n, cap;
    bool oom;
} hbuf;

__attribute__((format(printf, 2, 3))) static void hb_printf(hbuf *b, const char *fmt, ...) {
    va_list ap;
    for (int pass = 0; pass < 2 && !b->oom; pass++) {
        va_start(ap, fmt);
        int k = vsnprintf(b->p ? b->p + b->n : NULL, b->p ? b->cap - b->n : 0, fmt, ap);
        va_end(ap);
        if (k < 0) {
            b->oom = true;
            return;
        }
        if (b->p && b->n + (size_t)k < b->cap) {
            b->n += (size_t)k;
            return;
        }
        size_t cap = (b->cap ? 2 * b->cap : 4096) + (size_t)k + 1;
        char *q = tp_realloc(b->p, cap);
        if (!q) {
            b->oom = true;
            return;
        }
        b->p = q, b->cap = cap;
    }
}

static void hb_esc(hbuf *b, const char *s) {
    for (; *s; s++) {
        switch (*s) {
        case '&': hb_printf(b, "&amp;"); break;
        case '<': hb_printf(b, "&lt;"); break;
        case '>': hb_printf(b, "&gt;"); break;
        case '"': hb_printf(b, "&quot;"); break;
        default: hb_printf(b, "%c", *s);
        }
    }
}

tp_status tp_cf_experiment_section(const char *path, char **html) {
    FILE *fp = fopen(path, "r");
    if (!fp) return tp_fail(TP_ERR_IO, "cannot open '%s'", path);
    hbuf b = {0};
    char line[1024];
    size_t row = 0;
    tp_status rc = TP_OK;
    hb_printf(&b, "<section id=\"counterfactual-experiment\"><h2>Counterfactual experiment</h2>\n"
                  "<p class=\"note\">Every method against the simulator's truth across seeds and trap strengths "
                  "(bench/counterfactual_experiment.sh, docs/counterfactual.md): mean total variation distance "
                  "of the shares (lower is better), mean Spearman rank correlation, and the mean share given to "
                  "the zero-effect retargeting campaign (truth 0). <code>+controls</code>: the model was trained "
                  "with the users' observable covariates as control variables. Source: ");
    hb_esc(&b, path);
    hb_printf(&b, "</p>\n<table><thead><tr><th>trap</th><th>method</th><th>runs</th><th>mean TVD</th><th></th>"
                  "<th>mean Spearman</th><th>retargeting share</th></tr></thead><tbody>\n");
    while (fgets(line, sizeof line, fp)) {
        row++;
        line[strcspn(line, "\r\n")] = 0;
        if (row == 1) {
            if (strncmp(line, "trap\tmethod\truns\tmean_tvd", 25) != 0) {
                rc = tp_fail(TP_ERR_FORMAT, "%s: not an experiment summary (header trap, method, runs, mean_tvd, ...)",
                             path);
                goto done;
            }
            continue;
        }
        char *f[6];
        int k = 0;
        for (char *s = line; k < 6; k++) {
            f[k] = s;
            char *tab = strchr(s, '\t');
            if (!tab) {
                k++;
                break;
            }
            *tab = 0;
            s = tab + 1;
        }
        if (k != 6) {
            rc = tp_fail(TP_ERR_FORMAT, "%s: row %zu has %d fields, wanted 6", path, row, k);
            goto done;
        }
        double tvd = atof(f[3]);
        bool cf = strncmp(f[1], "model-", 6) == 0;
        hb_printf(&b, "<tr%s><td>", cf ? " style=\"font-weight:bold\"" : "");
        hb_esc(&b, f[0]);
        hb_printf(&b, "</td><td>");
        hb_esc(&b, f[1]);
        hb_printf(&b, "</td><td>%d</td><td>%.3f</td><td><svg width=\"120\" height=\"10\"><rect width=\"%.1f\" "
                      "height=\"10\" fill=\"%s\"/></svg></td><td>%.3f</td><td>%.3f</td></tr>\n",
                  atoi(f[2]), tvd, tvd < 0 ? 0 : tvd > 1 ? 120.0 : 120 * tvd, cf ? "#d95f02" : "#1b9e77", atof(f[4]),
                  atof(f[5]));
    }
    hb_printf(&b, "</tbody></table></section>\n");
    if (b.oom) {
        rc = tp_fail(TP_ERR_NOMEM, "out of memory rendering the experiment section");
        goto done;
    }
    *html = b.p;
    b.p = NULL;
done:
    tp_free(b.p);
    fclose(fp);
    return rc;
}

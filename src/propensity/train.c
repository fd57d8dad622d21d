/* train.c: training one propensity model per product group (issue #5 §3). The model matrix as
 * dense floats (tp_pmatrix), splits by user hash AND by as-of date, a seeded hyperparameter search
 * (random, or TPE: good/bad trials split at a quantile, candidates drawn from Parzen densities of
 * the good ones, the best l/g ratio kept) on validation PR-AUC, test metrics beside a logistic
 * baseline, and the saved model folder (XGBoost file + sidecar JSON + holdout). */
#include "touchpoint/propensity.h"
#include "touchpoint/io.h"
#include "touchpoint/registry.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

// ---- tp_pmatrix ----

void tp_pmatrix_free(tp_pmatrix *m) {
    if (!m) return;
    tp_free(m->X);
    tp_free(m->y);
    tp_free(m->uid);
    tp_free(m->as_of);
    if (m->names)
        for (size_t j = 0; j < m->F; j++) tp_free(m->names[j]);
    tp_free(m->names);
    tp_free(m);
}

static bool is_numeric(tp_dtype t) {
    return t == TP_DTYPE_BOOL || t == TP_DTYPE_I32 || t == TP_DTYPE_I64 || t == TP_DTYPE_F32 ||
           t == TP_DTYPE_F64;
}

tp_status tp_pmatrix_from_frame(const tp_frame *f, const char *label_col, tp_pmatrix **out) {
    tp_status rc = TP_OK;
    tp_pmatrix *m = NULL;
    size_t *fcols = NULL;
    *out = NULL;
    tp_column *uid = tp_frame_find(f, "uid");
    if (!uid) return tp_fail(TP_ERR_NOTFOUND, "model matrix: no 'uid' column");
    tp_dtype ut = tp_column_type(uid);
    if (ut != TP_DTYPE_I64 && ut != TP_DTYPE_I32)
        return tp_fail(TP_ERR_FORMAT, "model matrix: 'uid' is %s, wants an integer", tp_dtype_name(ut));
    tp_column *asof = tp_frame_find(f, "as_of");
    if (asof && tp_column_type(asof) != TP_DTYPE_DATE && tp_column_type(asof) != TP_DTYPE_I32 &&
        tp_column_type(asof) != TP_DTYPE_I64)
        asof = NULL; /* not a date: an ordinary (ignored) column */
    tp_column *lab = NULL;
    if (label_col && !(lab = tp_frame_find(f, label_col)))
        return tp_fail(TP_ERR_NOTFOUND, "model matrix: no label column '%s'", label_col);
    if (lab && !is_numeric(tp_column_type(lab)))
        return tp_fail(TP_ERR_FORMAT, "model matrix: label column '%s' is %s, wants bool or 0/1",
                       label_col, tp_dtype_name(tp_column_type(lab)));
    size_t n = tp_frame_n_rows(f), nc = tp_frame_n_cols(f), F = 0;
    if (!(m = tp_calloc(1, sizeof *m)) || !(fcols = tp_calloc(nc ? nc : 1, sizeof *fcols))) {
        rc = tp_fail(TP_ERR_NOMEM, "out of memory");
        goto done;
    }
    for (size_t c = 0; c < nc; c++) {
        tp_column *col = tp_frame_col(f, c);
        if (col == uid || col == asof || col == lab) continue;
        if (!is_numeric(tp_column_type(col))) continue;
        if (!strcmp(tp_column_name(col), "label") || !strcmp(tp_column_name(col), "as_of"))
            continue; /* never features */
        fcols[F++] = c;
    }
    if (F == 0) {
        rc = tp_fail(TP_ERR_ARG, "model matrix: no numeric feature columns");
        goto done;
    }
    m->n = n;
    m->F = F;
    if (!(m->X = tp_malloc((n ? n : 1) * F * sizeof(float))) ||
        !(m->uid = tp_malloc((n ? n : 1) * sizeof(int64_t))) ||
        !(m->as_of = tp_calloc(n ? n : 1, sizeof(int32_t))) ||
        !(m->names = tp_calloc(F, sizeof(char *))) ||
        (lab && !(m->y = tp_malloc(n ? n : 1)))) {
        rc = tp_fail(TP_ERR_NOMEM, "out of memory (model matrix %zu x %zu)", n, F);
        goto done;
    }
    for (size_t j = 0; j < F; j++) {
        tp_column *col = tp_frame_col(f, fcols[j]);
        if (!(m->names[j] = tp_strdup(tp_column_name(col)))) {
            rc = tp_fail(TP_ERR_NOMEM, "out of memory");
            goto done;
        }
        bool nulls = tp_column_validity(col) != NULL;
        if (tp_column_type(col) == TP_DTYPE_F64 && !nulls) {
            const double *v = TP_CCOL(col, double);
            for (size_t i = 0; i < n; i++) m->X[i * F + j] = (float)v[i];
        } else {
            for (size_t i = 0; i < n; i++)
                m->X[i * F + j] = nulls && tp_column_is_null(col, i)
                                      ? NAN
                                      : (float)tp_column_get_f64(col, i);
        }
    }
    for (size_t i = 0; i < n; i++) {
        if (tp_column_is_null(uid, i)) {
            rc = tp_fail(TP_ERR_FORMAT, "model matrix: null uid at row %zu", i);
            goto done;
        }
        m->uid[i] = tp_column_get_i64(uid, i);
        if (asof && !tp_column_is_null(asof, i)) m->as_of[i] = (int32_t)tp_column_get_i64(asof, i);
        if (lab) {
            double v = tp_column_is_null(lab, i) ? NAN : tp_column_get_f64(lab, i);
            if (v != 0 && v != 1) {
                rc = tp_fail(TP_ERR_FORMAT, "model matrix: label '%s' at row %zu is not 0 or 1",
                             label_col, i);
                goto done;
            }
            m->y[i] = (uint8_t)v;
        }
    }
    *out = m;
    m = NULL;
done:
    tp_free(fcols);
    tp_pmatrix_free(m);
    return rc;
}

tp_status tp_pmatrix_take(const tp_pmatrix *m, const size_t *idx, size_t n, tp_pmatrix **out) {
    tp_pmatrix *r = NULL;
    size_t F = m->F;
    *out = NULL;
    if (!(r = tp_calloc(1, sizeof *r))) return tp_fail(TP_ERR_NOMEM, "out of memory");
    r->n = n;
    r->F = F;
    if (!(r->X = tp_malloc((n ? n : 1) * F * sizeof(float))) ||
        !(r->uid = tp_malloc((n ? n : 1) * sizeof(int64_t))) ||
        !(r->as_of = tp_malloc((n ? n : 1) * sizeof(int32_t))) ||
        !(r->names = tp_calloc(F, sizeof(char *))) || (m->y && !(r->y = tp_malloc(n ? n : 1))))
        goto nomem;
    for (size_t j = 0; j < F; j++)
        if (!(r->names[j] = tp_strdup(m->names[j]))) goto nomem;
    for (size_t i = 0; i < n; i++) {
        size_t s = idx[i];
        memcpy(r->X + i * F, m->X + s * F, F * sizeof(float));
        r->uid[i] = m->uid[s];
        r->as_of[i] = m->as_of[s];
        if (m->y) r->y[i] = m->y[s];
    }
    *out = r;
    return TP_OK;
nomem:
    tp_pmatrix_free(r);
    return tp_fail(TP_ERR_NOMEM, "out of memory (%zu rows)", n);
}

tp_status tp_pmatrix_to_frame(const tp_pmatrix *m, tp_frame **out) {
    tp_status rc;
    tp_frame *f = NULL;
    tp_column *c = NULL;
    *out = NULL;
    if ((rc = tp_frame_new(&f)) != TP_OK) return rc;
    if ((rc = tp_column_new("uid", TP_DTYPE_I64, m->n, &c)) || (rc = tp_column_resize(c, m->n)))
        goto done;
    memcpy(tp_column_data(c), m->uid, m->n * sizeof(int64_t));
    if ((rc = tp_frame_add_take(f, c))) goto done;
    c = NULL;
    if ((rc = tp_column_new("as_of", TP_DTYPE_DATE, m->n, &c)) || (rc = tp_column_resize(c, m->n)))
        goto done;
    memcpy(tp_column_data(c), m->as_of, m->n * sizeof(int32_t));
    if ((rc = tp_frame_add_take(f, c))) goto done;
    c = NULL;
    if (m->y) {
        if ((rc = tp_column_new("label", TP_DTYPE_BOOL, m->n, &c)) ||
            (rc = tp_column_resize(c, m->n)))
            goto done;
        memcpy(tp_column_data(c), m->y, m->n);
        if ((rc = tp_frame_add_take(f, c))) goto done;
        c = NULL;
    }
    for (size_t j = 0; j < m->F; j++) {
        if ((rc = tp_column_new(m->names[j], TP_DTYPE_F64, m->n, &c)) ||
            (rc = tp_column_resize(c, m->n)))
            goto done;
        double *v = TP_COL(c, double);
        for (size_t i = 0; i < m->n; i++) {
            float x = m->X[i * m->F + j];
            v[i] = x;
        }
        for (size_t i = 0; i < m->n; i++)
            if (isnan(m->X[i * m->F + j]) && (rc = tp_column_set_null(c, i, true))) goto done;
        if ((rc = tp_frame_add_take(f, c))) goto done;
        c = NULL;
    }
    *out = f;
    f = NULL;
done:
    tp_column_free(c);
    tp_frame_free(f);
    return rc;
}

// ---- splits ----

enum { ROLE_NONE = 0, ROLE_TRAIN, ROLE_VALID, ROLE_TEST };

static int cmp_i32(const void *a, const void *b) {
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

/* Distinct as-of dates of m, sorted (caller frees). */
static tp_status distinct_dates(const tp_pmatrix *m, int32_t **out, size_t *n_out) {
    int32_t *d = tp_malloc((m->n ? m->n : 1) * sizeof *d);
    if (!d) return tp_fail(TP_ERR_NOMEM, "out of memory");
    memcpy(d, m->as_of, m->n * sizeof *d);
    qsort(d, m->n, sizeof *d, cmp_i32);
    size_t k = 0;
    for (size_t i = 0; i < m->n; i++)
        if (k == 0 || d[k - 1] != d[i]) d[k++] = d[i];
    *out = d;
    *n_out = k;
    return TP_OK;
}

static double user_unit(int64_t uid, uint64_t seed) {
    uint64_t h = tp_hash_u64((uint64_t)uid ^ tp_hash_u64(seed ^ 0x5eedULL));
    return (double)(h >> 11) * 0x1.0p-53;
}

// ---- search space: a point u in [0,1]^6 -> parameters ----

enum { D = 6 };

static void params_from_unit(const double *u, double pos_ratio, const tp_gbm_params *base,
                             tp_gbm_params *p) {
    *p = *base;
    p->max_depth = 2 + (int)fmin(8, floor(u[0] * 9));
    p->eta = exp(log(0.01) + u[1] * (log(0.3) - log(0.01)));
    p->min_child_weight = exp(log(0.5) + u[2] * (log(50.0) - log(0.5)));
    p->subsample = 0.5 + 0.5 * u[3];
    p->colsample_bytree = 0.5 + 0.5 * u[4];
    p->scale_pos_weight = exp(u[5] * log(fmax(1.0, pos_ratio)));
}

static double normal_pdf(double x, double mu, double s) {
    double z = (x - mu) / s;
    return exp(-0.5 * z * z) / (s * 2.5066282746310002);
}

/* Parzen density on [0,1]: a uniform prior plus one Gaussian per point. */
static double parzen(double x, const double *pts, size_t n, double bw) {
    double s = 1.0; /* the prior's density on [0,1] */
    for (size_t k = 0; k < n; k++) s += normal_pdf(x, pts[k], bw);
    return s / (double)(n + 1);
}

typedef struct scored {
    double score;
    size_t i;
} scored;
static int cmp_scored_desc(const void *a, const void *b) {
    const scored *x = a, *y = b;
    if (x->score != y->score) return x->score < y->score ? 1 : -1;
    return (x->i > y->i) - (x->i < y->i);
}

/* Next point by TPE from the done trials (units U[t*D..], scores s[t], NaN = worst). */
static void tpe_next(const double *U, const double *s, size_t t, tp_rng *rng, double *out) {
    enum { CANDIDATES = 24 };
    scored order[512];
    size_t n = t < 512 ? t : 512;
    for (size_t i = 0; i < n; i++) order[i] = (scored){isnan(s[i]) ? -INFINITY : s[i], i};
    qsort(order, n, sizeof *order, cmp_scored_desc);
    size_t ng = (size_t)ceil(0.25 * (double)n);
    if (ng < 1) ng = 1;
    size_t nb = n - ng;
    double good[D][512], bad[D][512];
    for (size_t d = 0; d < D; d++) {
        for (size_t k = 0; k < ng; k++) good[d][k] = U[order[k].i * D + d];
        for (size_t k = 0; k < nb; k++) bad[d][k] = U[order[ng + k].i * D + d];
    }
    double bwg = fmax(0.05, 1.0 / (1.0 + (double)ng)), bwb = fmax(0.05, 1.0 / (1.0 + (double)nb));
    double best = -INFINITY;
    for (int c = 0; c < CANDIDATES; c++) {
        double x[D], score = 0;
        for (size_t d = 0; d < D; d++) {
            size_t comp = (size_t)tp_rng_below(rng, ng + 1);
            double v;
            if (comp == ng) v = tp_rng_uniform(rng);
            else {
                int tries = 0;
                do v = good[d][comp] + bwg * tp_rng_normal(rng);
                while ((v < 0 || v >= 1) && ++tries < 16);
                v = fmin(fmax(v, 0), 0.999999);
            }
            x[d] = v;
            score += log(parzen(v, good[d], ng, bwg)) - log(parzen(v, bad[d], nb, bwb));
        }
        if (score > best) {
            best = score;
            memcpy(out, x, sizeof x);
        }
    }
}

// ---- fit ----

void tp_ptrain_opts_default(tp_ptrain_opts *o) {
    memset(o, 0, sizeof *o);
    o->trials = 10;
    o->search = TP_PSEARCH_TPE;
    o->seed = 1;
    o->valid_frac = 0.15;
    o->test_frac = 0.15;
    tp_gbm_params_default(&o->base);
    o->baseline = true;
}

void tp_ptrain_result_free(tp_ptrain_result *r) {
    if (!r) return;
    tp_gbm_free(r->model);
    tp_free(r->trials);
    tp_free(r->train_dates);
    tp_pmatrix_free(r->holdout);
    tp_free(r);
}

/* Gather rows idx into a dense block (X, y). */
static tp_status gather(const tp_pmatrix *m, const size_t *idx, size_t n, float **X, uint8_t **y) {
    *X = tp_malloc((n ? n : 1) * m->F * sizeof(float));
    *y = tp_malloc(n ? n : 1);
    if (!*X || !*y) return tp_fail(TP_ERR_NOMEM, "out of memory (%zu x %zu)", n, m->F);
    for (size_t i = 0; i < n; i++) {
        memcpy(*X + i * m->F, m->X + idx[i] * m->F, m->F * sizeof(float));
        (*y)[i] = m->y[idx[i]];
    }
    return TP_OK;
}

tp_status tp_ptrain_fit(const tp_pmatrix *m, const tp_ptrain_opts *o, tp_ptrain_result **out) {
    tp_status rc = TP_OK;
    tp_ptrain_result *r = NULL;
    int32_t *dates = NULL;
    size_t n_dates = 0, *idx = NULL, nt = 0, nv = 0, ns = 0;
    float *Xt = NULL, *Xv = NULL, *Xs = NULL;
    uint8_t *yt = NULL, *yv = NULL, *ys = NULL;
    double *pv = NULL, *ps = NULL, *U = NULL, *S = NULL;
    tp_gbm *cand = NULL;
    tp_plogreg *lr = NULL;
    double t0 = tp_now();
    *out = NULL;
    if (!m->y) return tp_fail(TP_ERR_ARG, "training: the model matrix has no labels");
    if (o->trials < 1) return tp_fail(TP_ERR_ARG, "training: trials must be >= 1");
    if (!(o->valid_frac > 0 && o->test_frac > 0 && o->valid_frac + o->test_frac < 1))
        return tp_fail(TP_ERR_ARG, "training: valid/test fractions %g/%g must be > 0, sum < 1",
                       o->valid_frac, o->test_frac);
    if (!(r = tp_calloc(1, sizeof *r)) || !(idx = tp_malloc((m->n ? m->n : 1) * 3 * sizeof *idx)) ||
        !(r->trials = tp_calloc((size_t)o->trials, sizeof *r->trials))) {
        rc = tp_fail(TP_ERR_NOMEM, "out of memory");
        goto done;
    }
    // ---- split by time and by user ----
    if ((rc = distinct_dates(m, &dates, &n_dates)) != TP_OK) goto done;
    int32_t dvalid, dtest;
    size_t n_train_dates;
    if (n_dates >= 3) {
        dtest = dates[n_dates - 1];
        dvalid = dates[n_dates - 2];
        n_train_dates = n_dates - 2;
    } else {
        dtest = dvalid = dates[n_dates - 1];
        n_train_dates = 1;
    }
    if (!(r->train_dates = tp_malloc(n_train_dates * sizeof(int32_t)))) {
        rc = tp_fail(TP_ERR_NOMEM, "out of memory");
        goto done;
    }
    memcpy(r->train_dates, dates, n_train_dates * sizeof(int32_t));
    r->n_train_dates = n_train_dates;
    r->valid_date = dvalid;
    r->test_date = dtest;
    /* With a validation date after the training dates, every non-test user's row at that date
     * validates (the training labels end by then, so nothing from its future is trained on): a
     * validation set several times larger than a user share, which early stopping and the search
     * need for a rare class. With one date, validation is a share of the users. */
    bool time_valid = n_dates >= 2;
    size_t *it_ = idx, *iv = idx + m->n, *is = idx + 2 * m->n;
    for (size_t i = 0; i < m->n; i++) {
        double u = user_unit(m->uid[i], o->seed);
        int role = u < o->test_frac                                   ? ROLE_TEST
                   : !time_valid && u < o->test_frac + o->valid_frac ? ROLE_VALID
                                                                      : ROLE_TRAIN;
        int32_t d = m->as_of[i];
        if (role == ROLE_TRAIN && time_valid && d == dvalid) {
            iv[nv++] = i;
        } else if (role == ROLE_TRAIN) {
            bool ok = false;
            for (size_t k = 0; k < n_train_dates; k++) ok |= d == dates[k];
            if (ok) it_[nt++] = i;
        } else if (role == ROLE_VALID && d == dvalid) iv[nv++] = i;
        else if (role == ROLE_TEST && d == dtest) is[ns++] = i;
    }
    r->n_train = nt;
    r->n_valid = nv;
    r->n_test = ns;
    for (size_t i = 0; i < nt; i++) r->pos_train += m->y[it_[i]];
    for (size_t i = 0; i < nv; i++) r->pos_valid += m->y[iv[i]];
    for (size_t i = 0; i < ns; i++) r->pos_test += m->y[is[i]];
    if (nt == 0 || nv == 0 || ns == 0) {
        rc = tp_fail(TP_ERR_ARG, "training: an empty split (train %zu, validation %zu, test %zu rows)",
                     nt, nv, ns);
        goto done;
    }
    if (r->pos_train == 0) {
        rc = tp_fail(TP_ERR_ARG, "training: no positive label among %zu training rows", nt);
        goto done;
    }
    if ((rc = gather(m, it_, nt, &Xt, &yt)) || (rc = gather(m, iv, nv, &Xv, &yv)) ||
        (rc = gather(m, is, ns, &Xs, &ys)))
        goto done;
    if (!(pv = tp_malloc(nv * sizeof *pv)) || !(ps = tp_malloc(ns * sizeof *ps)) ||
        !(U = tp_calloc((size_t)o->trials * D, sizeof *U)) ||
        !(S = tp_calloc((size_t)o->trials, sizeof *S))) {
        rc = tp_fail(TP_ERR_NOMEM, "out of memory");
        goto done;
    }
    // ---- search ----
    double ratio = (double)(nt - r->pos_train) / (double)r->pos_train;
    tp_rng rng;
    tp_rng_seed_stream(&rng, o->seed, 0x7e5);
    int startup = o->trials < 4 ? o->trials : (o->trials / 4 > 3 ? o->trials / 4 : 3);
    double best_score = -INFINITY;
    double ts = tp_now();
    for (int t = 0; t < o->trials; t++) {
        tp_gbm_params p;
        double *u = U + (size_t)t * D;
        if (t == 0) {
            p = o->base;
        } else {
            if (o->search == TP_PSEARCH_TPE && t >= startup) tpe_next(U, S, (size_t)t, &rng, u);
            else
                for (int d = 0; d < D; d++) u[d] = tp_rng_uniform(&rng);
            params_from_unit(u, ratio, &o->base, &p);
        }
        if (t == 0) { /* place the defaults in the unit cube for TPE */
            u[0] = (p.max_depth - 2 + 0.5) / 9.0;
            u[1] = (log(p.eta) - log(0.01)) / (log(0.3) - log(0.01));
            u[2] = (log(p.min_child_weight) - log(0.5)) / (log(50.0) - log(0.5));
            u[3] = (p.subsample - 0.5) / 0.5;
            u[4] = (p.colsample_bytree - 0.5) / 0.5;
            u[5] = ratio > 1 ? log(p.scale_pos_weight) / log(ratio) : 0;
            for (int d = 0; d < D; d++) u[d] = fmin(fmax(u[d], 0), 0.999999);
        }
        p.n_threads = o->n_threads;
        p.seed = o->seed + (uint64_t)t;
        tp_gbm_fit fit;
        if ((rc = tp_gbm_train(&p, Xt, yt, nt, Xv, yv, nv, m->F, &fit, &cand)) != TP_OK) goto done;
        if ((rc = tp_gbm_predict(cand, Xv, nv, m->F, o->n_threads, pv)) != TP_OK) goto done;
        double ap;
        if ((rc = tp_metrics_pr_auc(pv, yv, nv, &ap)) != TP_OK) goto done;
        S[t] = ap;
        p.base_score = fit.base_score; /* recorded as used */
        r->trials[t] = (tp_ptrain_trial){p, fit.rounds, ap, fit.seconds, fit.cpu_seconds};
        r->n_trials = (size_t)t + 1;
        double sc = isnan(ap) ? -INFINITY : ap;
        if (!r->model || sc > best_score) {
            tp_gbm_free(r->model);
            r->model = cand;
            r->best = r->trials[t];
            best_score = sc;
        } else {
            tp_gbm_free(cand);
        }
        cand = NULL;
        tp_log(TP_LOG_INFO, "trial %d/%d: depth %d eta %.4g mcw %.3g sub %.2f col %.2f spw %.3g -> "
               "%d rounds, valid PR-AUC %.4f", t + 1, o->trials, p.max_depth, p.eta,
               p.min_child_weight, p.subsample, p.colsample_bytree, p.scale_pos_weight, fit.rounds, ap);
    }
    r->seconds_search = tp_now() - ts;
    // ---- test ----
    if ((rc = tp_gbm_predict(r->model, Xs, ns, m->F, o->n_threads, ps)) != TP_OK) goto done;
    if ((rc = tp_metrics_summarize(ps, ys, ns, &r->test)) != TP_OK) goto done;
    if (o->baseline) {
        double *pb = NULL;
        if (!(pb = tp_malloc(ns * sizeof *pb))) {
            rc = tp_fail(TP_ERR_NOMEM, "out of memory");
            goto done;
        }
        if ((rc = tp_plogreg_fit(Xt, yt, nt, m->F, 1.0, 200, o->n_threads, &lr)) != TP_OK ||
            (rc = tp_plogreg_predict(lr, Xs, ns, m->F, pb)) != TP_OK ||
            (rc = tp_metrics_summarize(pb, ys, ns, &r->baseline)) != TP_OK ||
            (rc = tp_metrics_pr_auc_compare(ps, pb, ys, ns, TP_PTRAIN_BOOTSTRAP, o->seed, o->n_threads,
                                            &r->vs_baseline, NULL)) != TP_OK) {
            tp_free(pb);
            goto done;
        }
        tp_free(pb);
        r->has_baseline = true;
    }
    if ((rc = tp_pmatrix_take(m, is, ns, &r->holdout)) != TP_OK) goto done;
    r->seconds_total = tp_now() - t0;
    *out = r;
    r = NULL;
done:
    tp_gbm_free(cand);
    tp_plogreg_free(lr);
    tp_free(dates);
    tp_free(idx);
    tp_free(Xt);
    tp_free(Xv);
    tp_free(Xs);
    tp_free(yt);
    tp_free(yv);
    tp_free(ys);
    tp_free(pv);
    tp_free(ps);
    tp_free(U);
    tp_free(S);
    tp_ptrain_result_free(r);
    return rc;
}

// ---- sidecar ----

static json_t *params_json(const tp_gbm_params *p) {
    return json_pack("{s:i, s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:i, s:i, s:i, s:I}", "max_depth",
                     p->max_depth, "eta", p->eta, "min_child_weight", p->min_child_weight,
                     "subsample", p->subsample, "colsample_bytree", p->colsample_bytree,
                     "scale_pos_weight", p->scale_pos_weight, "lambda", p->lambda, "base_score",
                     p->base_score, "max_bin",
                     p->max_bin, "max_rounds", p->max_rounds, "early_stopping", p->early_stopping,
                     "seed", (json_int_t)p->seed);
}

static json_t *summary_json(const tp_metrics_summary *s) {
    char *txt = NULL;
    if (tp_metrics_summary_json(s, &txt) != TP_OK) return NULL;
    json_t *j = json_loads(txt, 0, NULL);
    tp_free(txt);
    return j;
}

static json_t *date_json(int32_t d) {
    char buf[32];
    int y, mo, dd;
    tp_days_to_civil(d, &y, &mo, &dd);
    snprintf(buf, sizeof buf, "%04d-%02d-%02d", y, mo, dd);
    return json_string(buf);
}

/* Not NaN-safe in jansson: NaN becomes null. */
static json_t *real_or_null(double v) { return isnan(v) || isinf(v) ? json_null() : json_real(v); }

tp_status tp_ptrain_save(const tp_ptrain_result *r, const tp_pmatrix *m, const tp_ptrain_info *info,
                         const char *dir) {
    tp_status rc = TP_OK;
    json_t *meta = NULL;
    char *txt = NULL, *path = NULL;
    tp_frame *hf = NULL;
    size_t plen = strlen(dir) + 32;
    if ((rc = tp_mkdirs(dir)) != TP_OK) return rc;
    if (!(path = tp_malloc(plen))) return tp_fail(TP_ERR_NOMEM, "out of memory");
    snprintf(path, plen, "%s/model.json", dir);
    if ((rc = tp_gbm_save(r->model, path)) != TP_OK) goto done;
    meta = json_object();
    json_t *feats = json_array(), *trials = json_array(), *train_dates = json_array();
    for (size_t j = 0; j < m->F; j++) json_array_append_new(feats, json_string(m->names[j]));
    for (size_t t = 0; t < r->n_trials; t++) {
        json_t *p = params_json(&r->trials[t].params);
        json_object_set_new(p, "rounds", json_integer(r->trials[t].rounds));
        json_object_set_new(p, "valid_pr_auc", real_or_null(r->trials[t].valid_pr_auc));
        json_object_set_new(p, "seconds", json_real(r->trials[t].seconds));
        json_object_set_new(p, "cpu_seconds", json_real(r->trials[t].cpu_seconds));
        json_array_append_new(trials, p);
    }
    for (size_t k = 0; k < r->n_train_dates; k++)
        json_array_append_new(train_dates, date_json(r->train_dates[k]));
    json_t *bp = params_json(&r->best.params);
    json_object_set_new(bp, "rounds", json_integer(r->best.rounds));
    json_object_set_new(meta, "format", json_string("touchpoint-propensity-model-1"));
    json_object_set_new(meta, "group", json_string(info->group ? info->group : ""));
    json_object_set_new(meta, "model_file", json_string("model.json"));
    json_object_set_new(meta, "features", feats);
    json_object_set_new(meta, "params", bp);
    json_object_set_new(meta, "valid_pr_auc", real_or_null(r->best.valid_pr_auc));
    json_t *tm = summary_json(&r->test);
    json_object_set_new(meta, "metrics", tm ? tm : json_null());
    json_object_set_new(meta, "baseline", r->has_baseline ? summary_json(&r->baseline) : json_null());
    const tp_ap_compare *vb = &r->vs_baseline;
    json_object_set_new(meta, "vs_baseline",
                        r->has_baseline
                            ? json_pack("{s:o, s:[o, o], s:o, s:i}", "pr_auc_gain", real_or_null(vb->diff),
                                        "ci95", real_or_null(vb->lo), real_or_null(vb->hi), "p_not_better",
                                        real_or_null(vb->p_not_better), "bootstrap", (int)vb->n_boot)
                            : json_null());
    json_object_set_new(meta, "trials", trials);
    json_object_set_new(meta, "window",
                        json_pack("{s:o, s:o, s:o, s:i}", "train", train_dates, "valid",
                                  date_json(r->valid_date), "test", date_json(r->test_date),
                                  "horizon_days", info->horizon_days));
    json_object_set_new(meta, "rows",
                        json_pack("{s:I, s:I, s:I, s:I, s:I, s:I}", "train", (json_int_t)r->n_train,
                                  "valid", (json_int_t)r->n_valid, "test", (json_int_t)r->n_test,
                                  "train_positives", (json_int_t)r->pos_train, "valid_positives",
                                  (json_int_t)r->pos_valid, "test_positives", (json_int_t)r->pos_test));
    json_object_set_new(meta, "defs_hash", info->defs_hash ? json_string(info->defs_hash) : json_null());
    json_object_set_new(meta, "source", info->source ? json_string(info->source) : json_null());
    json_object_set_new(meta, "seconds", json_pack("{s:f, s:f}", "search", r->seconds_search,
                                                   "total", r->seconds_total));
    if (!(txt = json_dumps(meta, JSON_INDENT(2) | JSON_REAL_PRECISION(10)))) {
        rc = tp_fail(TP_ERR_NOMEM, "out of memory (sidecar JSON)");
        goto done;
    }
    snprintf(path, plen, "%s/meta.json", dir);
    if ((rc = tp_atomic_write(path, txt, strlen(txt))) != TP_OK) goto done;
    snprintf(path, plen, "%s/holdout.parquet", dir);
    if ((rc = tp_pmatrix_to_frame(r->holdout, &hf)) != TP_OK) goto done;
    rc = tp_table_write(hf, path, NULL);
done:
    tp_frame_free(hf);
    free(txt);
    json_decref(meta);
    tp_free(path);
    return rc;
}

// ---- a saved model ----

struct tp_pmodel {
    tp_gbm *gbm;
    char *group, *defs_hash, *meta_text;
    char **features;
    size_t F;
};

void tp_pmodel_free(tp_pmodel *m) {
    if (!m) return;
    tp_gbm_free(m->gbm);
    tp_free(m->group);
    tp_free(m->defs_hash);
    tp_free(m->meta_text);
    if (m->features)
        for (size_t j = 0; j < m->F; j++) tp_free(m->features[j]);
    tp_free(m->features);
    tp_free(m);
}

tp_status tp_pmodel_load(const char *dir, tp_pmodel **out) {
    tp_status rc = TP_OK;
    tp_pmodel *m = NULL;
    json_t *meta = NULL;
    json_error_t err;
    size_t plen = strlen(dir) + 32;
    char *path = tp_malloc(plen);
    *out = NULL;
    if (!path || !(m = tp_calloc(1, sizeof *m))) {
        rc = tp_fail(TP_ERR_NOMEM, "out of memory");
        goto done;
    }
    snprintf(path, plen, "%s/meta.json", dir);
    if (!(meta = json_load_file(path, 0, &err))) {
        rc = tp_fail(TP_ERR_FORMAT, "model sidecar '%s': %s (line %d)", path, err.text, err.line);
        goto done;
    }
    const char *mf = json_string_value(json_object_get(meta, "model_file"));
    json_t *feats = json_object_get(meta, "features");
    if (!mf || !json_is_array(feats) || strchr(mf, '/')) {
        rc = tp_fail(TP_ERR_FORMAT, "model sidecar '%s': no model_file or features", path);
        goto done;
    }
    m->F = json_array_size(feats);
    const char *g = json_string_value(json_object_get(meta, "group"));
    const char *h = json_string_value(json_object_get(meta, "defs_hash"));
    if (!(m->features = tp_calloc(m->F ? m->F : 1, sizeof(char *))) ||
        !(m->group = tp_strdup(g ? g : "")) || !(m->defs_hash = tp_strdup(h ? h : "")) ||
        !(m->meta_text = json_dumps(meta, JSON_INDENT(2) | JSON_REAL_PRECISION(10)))) {
        rc = tp_fail(TP_ERR_NOMEM, "out of memory");
        goto done;
    }
    { /* json_dumps allocates with malloc: keep everything in tp_ memory */
        char *t = tp_strdup(m->meta_text);
        free(m->meta_text);
        m->meta_text = t;
        if (!t) {
            rc = tp_fail(TP_ERR_NOMEM, "out of memory");
            goto done;
        }
    }
    for (size_t j = 0; j < m->F; j++) {
        const char *s = json_string_value(json_array_get(feats, j));
        if (!s) {
            rc = tp_fail(TP_ERR_FORMAT, "model sidecar '%s': feature %zu is not a string", path, j);
            goto done;
        }
        if (!(m->features[j] = tp_strdup(s))) {
            rc = tp_fail(TP_ERR_NOMEM, "out of memory");
            goto done;
        }
    }
    snprintf(path, plen, "%s/%s", dir, mf);
    if ((rc = tp_gbm_load(path, &m->gbm)) != TP_OK) goto done;
    if (tp_gbm_n_features(m->gbm) != m->F) {
        rc = tp_fail(TP_ERR_FORMAT, "model '%s' has %zu features, its sidecar lists %zu", path,
                     tp_gbm_n_features(m->gbm), m->F);
        goto done;
    }
    *out = m;
    m = NULL;
done:
    json_decref(meta);
    tp_free(path);
    tp_pmodel_free(m);
    return rc;
}

const char *tp_pmodel_group(const tp_pmodel *m) { return m->group; }
const char *tp_pmodel_defs_hash(const tp_pmodel *m) { return m->defs_hash; }
size_t tp_pmodel_n_features(const tp_pmodel *m) { return m->F; }
const char *tp_pmodel_feature(const tp_pmodel *m, size_t i) { return m->features[i]; }
const char *tp_pmodel_meta_json(const tp_pmodel *m) { return m->meta_text; }

tp_status tp_pmodel_predict(const tp_pmodel *m, const tp_pmatrix *x, int n_threads, double *out) {
    tp_status rc = TP_OK;
    size_t *map = tp_malloc(m->F * sizeof *map);
    float *X = NULL;
    bool same = x->F == m->F;
    if (!map) return tp_fail(TP_ERR_NOMEM, "out of memory");
    for (size_t j = 0; j < m->F; j++) {
        size_t k = 0;
        while (k < x->F && strcmp(x->names[k], m->features[j]) != 0) k++;
        if (k == x->F) {
            rc = tp_fail(TP_ERR_NOTFOUND, "model of group '%s' needs feature '%s', absent from the data",
                         m->group, m->features[j]);
            goto done;
        }
        map[j] = k;
        same &= k == j;
    }
    if (same) {
        rc = tp_gbm_predict(m->gbm, x->X, x->n, x->F, n_threads, out);
        goto done;
    }
    if (!(X = tp_malloc((x->n ? x->n : 1) * m->F * sizeof *X))) {
        rc = tp_fail(TP_ERR_NOMEM, "out of memory (%zu rows)", x->n);
        goto done;
    }
    for (size_t i = 0; i < x->n; i++)
        for (size_t j = 0; j < m->F; j++) X[i * m->F + j] = x->X[i * x->F + map[j]];
    rc = tp_gbm_predict(m->gbm, X, x->n, m->F, n_threads, out);
done:
    tp_free(map);
    tp_free(X);
    return rc;
}

tp_status tp_pmodel_evaluate(const tp_pmodel *m, const tp_pmatrix *x, int n_threads,
                             tp_metrics_summary *out) {
    if (!x->y) return tp_fail(TP_ERR_ARG, "evaluate: the data has no labels");
    double *p = tp_malloc((x->n ? x->n : 1) * sizeof *p);
    if (!p) return tp_fail(TP_ERR_NOMEM, "out of memory");
    tp_status rc = tp_pmodel_predict(m, x, n_threads, p);
    if (rc == TP_OK) rc = tp_metrics_summarize(p, x->y, x->n, out);
    tp_free(p);
    return rc;
}

// ---- jobs: train and evaluate over groups ----

/* File-system-safe copy of a group name for OUT_DIR/<group>/. */
static void safe_dir_name(const char *s, char *out, size_t n) {
    size_t k = 0;
    for (; *s && k + 1 < n; s++, k++) {
        char c = *s;
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '-' || c == '_' || (c == '.' && k > 0);
        out[k] = ok ? c : '_';
    }
    out[k] = 0;
    if (!k) snprintf(out, n, "_");
}

static char *dump_member(json_t *o, const char *key) {
    json_t *v = json_object_get(o, key);
    if (!v) return NULL;
    char *t = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(10));
    char *r = t ? tp_strdup(t) : NULL;
    free(t);
    return r;
}

/* Register DIR (a saved model folder) and record its own test PR-AUC on its holdout. */
static tp_status register_dir(const char *registry, const char *group, const char *dir,
                              const char *run_key, double pr_auc, int *version) {
    tp_status rc = TP_OK;
    tp_registry *reg = NULL;
    json_t *meta = NULL;
    char *params = NULL, *metrics = NULL, *window = NULL, path[4200];
    json_error_t err;
    snprintf(path, sizeof path, "%s/meta.json", dir);
    if (!(meta = json_load_file(path, 0, &err)))
        return tp_fail(TP_ERR_FORMAT, "'%s': %s", path, err.text);
    json_t *mb = json_pack("{s:O, s:O, s:O, s:O}", "test", json_object_get(meta, "metrics"), "baseline",
                           json_object_get(meta, "baseline"), "vs_baseline", json_object_get(meta, "vs_baseline"),
                           "valid_pr_auc", json_object_get(meta, "valid_pr_auc"));
    json_object_set_new(meta, "__metrics", mb ? mb : json_null());
    params = dump_member(meta, "params");
    metrics = dump_member(meta, "__metrics");
    window = dump_member(meta, "window");
    const char *hash = json_string_value(json_object_get(meta, "defs_hash"));
    if ((rc = tp_registry_open(registry, &reg)) != TP_OK) goto done;
    tp_registry_new v = {.model = group, .src_dir = dir, .params_json = params,
                         .metrics_json = metrics, .window_json = window, .defs_hash = hash,
                         .pr_auc = pr_auc, .run_key = run_key};
    bool existed;
    if ((rc = tp_registry_register(reg, &v, version, &existed)) != TP_OK) goto done;
    char holdout[320];
    snprintf(holdout, sizeof holdout, "%s/v%d", group, *version);
    if (!existed) {
        char *tm = dump_member(meta, "metrics");
        rc = tp_registry_record_evaluation(reg, group, *version, holdout, tm, pr_auc);
        tp_free(tm);
    }
done:
    tp_registry_close(reg);
    json_decref(meta);
    tp_free(params);
    tp_free(metrics);
    tp_free(window);
    return rc;
}

static tp_status train_one(const tp_ptrain_job *job, const char *group, tp_pmatrix *m,
                           const char *defs_hash, int horizon, tp_ptrain_job_cb cb, void *ud) {
    tp_status rc;
    tp_ptrain_result *r = NULL;
    tp_ptrain_job_group out;
    memset(&out, 0, sizeof out);
    snprintf(out.group, sizeof out.group, "%s", group);
    char safe[256];
    safe_dir_name(group, safe, sizeof safe);
    snprintf(out.dir, sizeof out.dir, "%s/%s", job->out_dir, safe);
    double t0 = tp_now();
    if ((rc = tp_ptrain_fit(m, &job->opts, &r)) != TP_OK)
        return tp_fail_context(rc, "training group '%s'", group);
    tp_ptrain_info info = {.group = group, .defs_hash = defs_hash,
                           .source = job->table ? job->table : job->events, .horizon_days = horizon};
    if ((rc = tp_ptrain_save(r, m, &info, out.dir)) != TP_OK) goto done;
    out.pr_auc = r->test.pr_auc;
    out.baseline_pr_auc = r->has_baseline ? r->baseline.pr_auc : NAN;
    out.gain_lo = r->has_baseline ? r->vs_baseline.lo : NAN;
    out.gain_hi = r->has_baseline ? r->vs_baseline.hi : NAN;
    out.roc_auc = r->test.roc_auc;
    out.valid_pr_auc = r->best.valid_pr_auc;
    out.n_train = r->n_train;
    out.n_test = r->n_test;
    out.pos_test = r->pos_test;
    if (job->registry) {
        char key[600];
        if (job->run_key) snprintf(key, sizeof key, "%s/%s", job->run_key, group);
        if ((rc = register_dir(job->registry, group, out.dir, job->run_key ? key : NULL,
                               r->test.pr_auc, &out.version)) != TP_OK)
            goto done;
    }
    out.seconds = tp_now() - t0;
    if (cb) cb(&out, ud);
done:
    tp_ptrain_result_free(r);
    return rc;
}

tp_status tp_ptrain_job_run(const tp_ptrain_job *job, tp_ptrain_job_cb cb, void *ud) {
    tp_status rc = TP_OK;
    tp_frame *f = NULL;
    tp_pmatrix *m = NULL;
    tp_events *ev = NULL;
    tp_feature_defs *defs = NULL;
    tp_propensity *p = NULL;
    if (!job->out_dir) return tp_fail(TP_ERR_ARG, "train: an output folder is required");
    if (job->table) {
        if (!job->label) return tp_fail(TP_ERR_ARG, "train: --table needs --label");
        if ((rc = tp_table_read(job->table, NULL, 0, &f)) != TP_OK) return rc;
        if ((rc = tp_pmatrix_from_frame(f, job->label, &m)) != TP_OK) {
            tp_fail_context(rc, "table '%s'", job->table);
            goto done;
        }
        const char *group = job->n_groups ? job->groups[0] : "table";
        rc = train_one(job, group, m, NULL, 0, cb, ud);
        goto done;
    }
    if (!job->events || !job->defs || job->n_as_of == 0)
        return tp_fail(TP_ERR_ARG, "train: events, definitions and as-of dates are required");
    if ((rc = tp_events_load(job->events, job->items, &ev)) != TP_OK) goto done;
    if ((rc = tp_feature_defs_load(job->defs, &defs)) != TP_OK) goto done;
    int horizon = job->horizon_days > 0 ? job->horizon_days : tp_feature_defs_horizon(defs);
    {   /* labels need events up to the last as-of date + horizon */
        int64_t lo, hi;
        int32_t last = job->as_of[0];
        for (size_t k = 1; k < job->n_as_of; k++) last = job->as_of[k] > last ? job->as_of[k] : last;
        tp_events_time_range(ev, &lo, &hi);
        if (hi < ((int64_t)last + horizon) * 86400 - 86400)
            tp_log(TP_LOG_WARN, "events end before the last as-of date + %d days: its labels are "
                   "incomplete", horizon);
    }
    {   /* label windows of earlier dates reaching past the test date see the test period */
        int32_t last = job->as_of[0];
        for (size_t k = 1; k < job->n_as_of; k++) last = job->as_of[k] > last ? job->as_of[k] : last;
        for (size_t k = 0; k < job->n_as_of; k++)
            if (job->as_of[k] < last && job->as_of[k] + horizon > last) {
                tp_log(TP_LOG_WARN, "as-of dates closer than the %d-day horizon: labels of earlier "
                       "dates overlap the test date's period (space them by >= %d days)", horizon,
                       horizon);
                break;
            }
    }
    tp_propensity_opts po;
    tp_propensity_opts_default(&po);
    po.store = job->store;
    po.materialize = job->store != NULL;
    po.horizon_days = horizon;
    po.n_threads = job->opts.n_threads;
    if ((rc = tp_propensity_new(ev, defs, &po, &p)) != TP_OK) goto done;
    size_t G = job->n_groups ? job->n_groups : tp_propensity_n_groups(p);
    for (size_t g = 0; g < G; g++) {
        const char *group = job->n_groups ? job->groups[g] : tp_propensity_group_name(p, g);
        if ((rc = tp_propensity_dataset(p, group, job->as_of, job->n_as_of, true, &f)) != TP_OK)
            goto done;
        if ((rc = tp_pmatrix_from_frame(f, "label", &m)) != TP_OK) goto done;
        tp_frame_free(f);
        f = NULL;
        if ((rc = train_one(job, group, m, tp_feature_defs_hash(defs), horizon, cb, ud)) != TP_OK)
            goto done;
        tp_pmatrix_free(m);
        m = NULL;
    }
done:
    tp_frame_free(f);
    tp_pmatrix_free(m);
    tp_propensity_free(p);
    tp_feature_defs_free(defs);
    tp_events_free(ev);
    return rc;
}

static tp_status summary_text(const tp_metrics_summary *s, char **out) {
    return tp_metrics_summary_json(s, out);
}

tp_status tp_pevaluate_job_run(const char *registry, const char *const *groups, size_t n_groups,
                               int version, int n_threads, void (*cb)(const char *line, void *ud),
                               void *ud) {
    tp_status rc = TP_OK;
    tp_registry *reg = NULL;
    char **names = NULL;
    size_t n_names = 0;
    tp_pmodel *cm = NULL, *pm = NULL;
    tp_frame *hf = NULL;
    tp_pmatrix *h = NULL;
    char *txt = NULL;
    if ((rc = tp_registry_open(registry, &reg)) != TP_OK) return rc;
    if (n_groups == 0) {
        if ((rc = tp_registry_models(reg, &names, &n_names)) != TP_OK) goto done;
        groups = (const char *const *)names;
        n_groups = n_names;
    }
    for (size_t g = 0; g < n_groups; g++) {
        tp_registry_version cv, pv;
        char path[4200], holdout[320], line[1024];
        if ((rc = tp_registry_get(reg, groups[g], version, &cv)) != TP_OK) goto done;
        snprintf(holdout, sizeof holdout, "%s/v%d", cv.model, cv.version);
        snprintf(path, sizeof path, "%s/holdout.parquet", cv.dir);
        if ((rc = tp_table_read(path, NULL, 0, &hf)) != TP_OK) goto done;
        if ((rc = tp_pmatrix_from_frame(hf, "label", &h)) != TP_OK) goto done;
        tp_metrics_summary cs, ps;
        if ((rc = tp_pmodel_load(cv.dir, &cm)) != TP_OK) goto done;
        if ((rc = tp_pmodel_evaluate(cm, h, n_threads, &cs)) != TP_OK) goto done;
        if ((rc = summary_text(&cs, &txt)) != TP_OK) goto done;
        if ((rc = tp_registry_record_evaluation(reg, cv.model, cv.version, holdout, txt, cs.pr_auc)))
            goto done;
        tp_free(txt);
        txt = NULL;
        tp_status s = tp_registry_production(reg, cv.model, &pv);
        if (s == TP_OK && pv.version != cv.version) {
            if ((rc = tp_pmodel_load(pv.dir, &pm)) != TP_OK) goto done;
            s = tp_pmodel_evaluate(pm, h, n_threads, &ps);
            if (s == TP_OK) {
                if ((rc = summary_text(&ps, &txt)) != TP_OK) goto done;
                if ((rc = tp_registry_record_evaluation(reg, pv.model, pv.version, holdout, txt,
                                                        ps.pr_auc)))
                    goto done;
                snprintf(line, sizeof line,
                         "%s: v%d PR-AUC %.4f vs production v%d %.4f on holdout %s (%zu rows)",
                         cv.model, cv.version, cs.pr_auc, pv.version, ps.pr_auc, holdout, h->n);
            } else if (s == TP_ERR_NOTFOUND) { /* other features: not comparable */
                snprintf(line, sizeof line,
                         "%s: v%d PR-AUC %.4f; production v%d cannot score this holdout (%s)",
                         cv.model, cv.version, cs.pr_auc, pv.version, tp_last_error());
            } else {
                rc = s;
                goto done;
            }
        } else if (s == TP_OK) {
            snprintf(line, sizeof line, "%s: v%d (production) PR-AUC %.4f on holdout %s", cv.model,
                     cv.version, cs.pr_auc, holdout);
        } else if (s == TP_ERR_NOTFOUND) {
            snprintf(line, sizeof line, "%s: v%d PR-AUC %.4f on holdout %s; no production version",
                     cv.model, cv.version, cs.pr_auc, holdout);
        } else {
            rc = s;
            goto done;
        }
        tp_clear_error();
        if (strcmp(cv.stage, "production") && strcmp(cv.stage, "staging")) {
            char why[400];
            snprintf(why, sizeof why, "evaluated on holdout %s: PR-AUC %.6f", holdout, cs.pr_auc);
            if ((rc = tp_registry_transition(reg, cv.model, cv.version, "staging", why))) goto done;
        }
        if (cb) cb(line, ud);
        tp_pmodel_free(cm);
        tp_pmodel_free(pm);
        cm = pm = NULL;
        tp_pmatrix_free(h);
        h = NULL;
        tp_frame_free(hf);
        hf = NULL;
    }
done:
    tp_free(txt);
    tp_pmodel_free(cm);
    tp_pmodel_free(pm);
    tp_pmatrix_free(h);
    tp_frame_free(hf);
    tp_registry_free_names(names, n_names);
    tp_registry_close(reg);
    return rc;
}

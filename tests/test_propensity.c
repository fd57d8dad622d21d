/* test_propensity.c: suite `propensity`: the model matrix, the XGBoost wrapper against a
 * hand-computed one-stump model, save/load round trips, the logistic baseline against its
 * optimality conditions and a hand-solved case, splits by user and time, the search, and the
 * saved model folder predicting by feature name. */
#include "test.h"
#include "touchpoint/propensity.h"
#include "touchpoint/touchpoint.h"

#include <math.h>
#include <stdlib.h>

// ---- helpers ----

static tp_column *col_f64(const char *name, const double *v, size_t n) {
    tp_column *c = NULL;
    if (tp_column_new(name, TP_DTYPE_F64, n, &c) != TP_OK) return NULL;
    for (size_t i = 0; i < n; i++)
        if (isnan(v[i])) tp_column_push_null(c);
        else tp_column_push_f64(c, v[i]);
    return c;
}

/* A synthetic matrix: users 1..U at `dates` as-of dates, 4 features, a label from a known
 * nonlinear rule with noise (x0 in a band around 0.5 and x1 > 0.5 -> high rate, else low:
 * a linear model cannot see the band). */
static tp_pmatrix *synth(size_t U, int n_dates, uint64_t seed) {
    tp_frame *f = NULL;
    tp_frame_new(&f);
    size_t n = U * (size_t)n_dates;
    tp_column *uid, *asof, *lab;
    tp_column_new("uid", TP_DTYPE_I64, n, &uid);
    tp_column_new("as_of", TP_DTYPE_DATE, n, &asof);
    tp_column_new("label", TP_DTYPE_BOOL, n, &lab);
    double *x[4];
    for (int j = 0; j < 4; j++) x[j] = malloc(n * sizeof(double));
    tp_rng r;
    tp_rng_seed(&r, seed);
    size_t row = 0;
    for (int d = 0; d < n_dates; d++)
        for (size_t u = 1; u <= U; u++, row++) {
            tp_column_push_i64(uid, (int64_t)u);
            tp_column_push_i32(asof, 19800 + 30 * d);
            for (int j = 0; j < 4; j++) x[j][row] = tp_rng_uniform(&r);
            double p = (fabs(x[0][row] - 0.5) < 0.15 && x[1][row] > 0.5) ? 0.5 : 0.02;
            tp_column_push_bool(lab, tp_rng_uniform(&r) < p);
        }
    tp_frame_add_take(f, uid);
    tp_frame_add_take(f, asof);
    tp_frame_add_take(f, lab);
    const char *names[4] = {"f0", "f1", "f2", "f3"};
    for (int j = 0; j < 4; j++) {
        tp_frame_add_take(f, col_f64(names[j], x[j], n));
        free(x[j]);
    }
    tp_pmatrix *m = NULL;
    tp_pmatrix_from_frame(f, "label", &m);
    tp_frame_free(f);
    return m;
}

// ---- cases ----

static void test_pmatrix(void) {
    tp_frame *f = NULL;
    CHECK_OK(tp_frame_new(&f));
    tp_column *uid, *lab, *s;
    tp_column_new("uid", TP_DTYPE_I64, 3, &uid);
    tp_column_new("bought", TP_DTYPE_I32, 3, &lab);
    tp_column_new("name", TP_DTYPE_STR, 3, &s);
    for (int i = 0; i < 3; i++) {
        tp_column_push_i64(uid, 10 + i);
        tp_column_push_i32(lab, i == 1);
        tp_column_push_str(s, "x", 1);
    }
    double a[3] = {1.5, NAN, -2}, b[3] = {0, 1, 2};
    CHECK_OK(tp_frame_add_take(f, uid));
    CHECK_OK(tp_frame_add_take(f, col_f64("a", a, 3)));
    CHECK_OK(tp_frame_add_take(f, s));
    CHECK_OK(tp_frame_add_take(f, lab));
    CHECK_OK(tp_frame_add_take(f, col_f64("b", b, 3)));
    tp_pmatrix *m = NULL;
    CHECK_OK(tp_pmatrix_from_frame(f, "bought", &m));
    if (m) {
        CHECK(m->n == 3 && m->F == 2);
        CHECK_STR(m->names[0], "a");
        CHECK_STR(m->names[1], "b");
        CHECK(m->X[0] == 1.5f && isnan(m->X[2]) && m->X[4] == -2.0f && m->X[5] == 2.0f);
        CHECK(m->y[0] == 0 && m->y[1] == 1 && m->y[2] == 0);
        CHECK(m->uid[2] == 12);
    }
    tp_pmatrix_free(m);
    CHECK_STATUS(tp_pmatrix_from_frame(f, "nope", &m), TP_ERR_NOTFOUND);
    /* a label of 2 is refused, naming the row */
    tp_column *bad;
    tp_column_new("bad", TP_DTYPE_I32, 3, &bad);
    tp_column_push_i32(bad, 0);
    tp_column_push_i32(bad, 2);
    tp_column_push_i32(bad, 1);
    tp_frame_add_take(f, bad);
    CHECK_STATUS(tp_pmatrix_from_frame(f, "bad", &m), TP_ERR_FORMAT);
    CHECK(strstr(tp_last_error(), "row 1") != NULL);
    tp_frame_free(f);
    /* a string uid is refused; a column named label is never a feature */
    CHECK_OK(tp_frame_new(&f));
    tp_column *su, *l2, *x;
    tp_column_new("uid", TP_DTYPE_STR, 1, &su);
    tp_column_push_str(su, "a", 1);
    tp_column_new("label", TP_DTYPE_BOOL, 1, &l2);
    tp_column_push_bool(l2, 1);
    tp_column_new("x", TP_DTYPE_F64, 1, &x);
    tp_column_push_f64(x, 2);
    tp_frame_add_take(f, su);
    tp_frame_add_take(f, l2);
    tp_frame_add_take(f, x);
    CHECK_STATUS(tp_pmatrix_from_frame(f, NULL, &m), TP_ERR_FORMAT);
    tp_frame_free(f);
}

/* One stump, eta 1, lambda 0: leaf weight -G/H with g = p - y, h = p(1-p) at p = 0.5.
 * x = 0: labels 0,0,0,1 -> G = 1, H = 1 -> w = -1; x = 1: 1,1,1,0 -> w = +1. */
static void test_gbm_stump(void) {
    float X[8] = {0, 0, 0, 0, 1, 1, 1, 1};
    uint8_t y[8] = {0, 0, 0, 1, 1, 1, 1, 0};
    tp_gbm_params p;
    tp_gbm_params_default(&p);
    p.max_depth = 1;
    p.eta = 1;
    p.lambda = 0;
    p.min_child_weight = 0;
    p.subsample = 1;
    p.colsample_bytree = 1;
    p.max_rounds = 1;
    p.early_stopping = 0;
    p.n_threads = 1;
    tp_gbm *m = NULL;
    tp_gbm_fit fit;
    CHECK_OK(tp_gbm_train(&p, X, y, 8, NULL, NULL, 0, 1, &fit, &m));
    if (!m) return;
    CHECK(fit.rounds == 1 && tp_gbm_n_rounds(m) == 1 && tp_gbm_n_features(m) == 1);
    float q[2] = {0, 1};
    double out[2];
    CHECK_OK(tp_gbm_predict(m, q, 2, 1, 1, out));
    CHECK_CLOSE(out[0], 1 / (1 + exp(1.0)), 1e-6);
    CHECK_CLOSE(out[1], 1 / (1 + exp(-1.0)), 1e-6);
    /* both of XGBoost's formats round-trip */
    const char *paths[2] = {tp_test_path("stump.json"), tp_test_path("stump.ubj")};
    for (int k = 0; k < 2; k++) {
        char path[512];
        snprintf(path, sizeof path, "%s", paths[k]);
        CHECK_OK(tp_gbm_save(m, path));
        tp_gbm *l = NULL;
        CHECK_OK(tp_gbm_load(path, &l));
        double o2[2] = {0, 0};
        if (l) CHECK_OK(tp_gbm_predict(l, q, 2, 1, 1, o2));
        CHECK(o2[0] == out[0] && o2[1] == out[1]);
        tp_gbm_free(l);
    }
    CHECK_STATUS(tp_gbm_save(m, tp_test_path("stump.bin")), TP_ERR_ARG);
    CHECK_STATUS(tp_gbm_predict(m, q, 1, 2, 1, out), TP_ERR_SHAPE);
    tp_gbm_free(m);
    tp_gbm *l = NULL;
    CHECK_STATUS(tp_gbm_load(tp_test_path("missing.json"), &l), TP_ERR_IO);
}

/* Early stopping keeps the best iteration only, and the model is deterministic. */
static void test_gbm_early_stopping(void) {
    tp_pmatrix *m = synth(2000, 1, 3);
    if (!m) {
        CHECK(0);
        return;
    }
    size_t nt = 1500, nv = 500;
    tp_gbm_params p;
    tp_gbm_params_default(&p);
    p.max_rounds = 300;
    p.early_stopping = 10;
    p.eta = 0.3;
    p.n_threads = 2;
    tp_gbm *a = NULL, *b = NULL;
    tp_gbm_fit fa, fb;
    CHECK_OK(tp_gbm_train(&p, m->X, m->y, nt, m->X + nt * m->F, m->y + nt, nv, m->F, &fa, &a));
    CHECK_OK(tp_gbm_train(&p, m->X, m->y, nt, m->X + nt * m->F, m->y + nt, nv, m->F, &fb, &b));
    if (a && b) {
        CHECK(fa.rounds_run < 300);                   /* it stopped */
        CHECK(fa.rounds_run == fa.rounds + 10); /* 10 rounds past the best */
        CHECK(tp_gbm_n_rounds(a) == fa.rounds);       /* sliced */
        CHECK(fa.valid_aucpr > 0.2);
        double pa[500], pb[500];
        CHECK_OK(tp_gbm_predict(a, m->X + nt * m->F, nv, m->F, 2, pa));
        CHECK_OK(tp_gbm_predict(b, m->X + nt * m->F, nv, m->F, 1, pb));
        CHECK(memcmp(pa, pb, sizeof pa) == 0);
    }
    tp_gbm_free(a);
    tp_gbm_free(b);
    tp_pmatrix_free(m);
}

/* Baseline: x = {-1, 1}, y = {0, 1}, C = 1. Standardised x is the same; the intercept is 0 by
 * symmetry and w solves w = 2 sigmoid(-w) (the gradient of 2 log(1 + e^-w) + w^2/2). */
static void test_logreg(void) {
    float X[2] = {-1, 1};
    uint8_t y[2] = {0, 1};
    tp_plogreg *m = NULL;
    CHECK_OK(tp_plogreg_fit(X, y, 2, 1, 1.0, 100, 1, &m));
    if (!m) return;
    double lo = 0, hi = 2;
    for (int i = 0; i < 200; i++) {
        double mid = 0.5 * (lo + hi);
        if (mid - 2 / (1 + exp(mid)) > 0) hi = mid;
        else lo = mid;
    }
    double w, b;
    tp_plogreg_coef(m, &w, &b);
    CHECK_CLOSE(w, lo, 1e-6);
    CHECK_CLOSE(b, 0, 1e-6);
    tp_plogreg_free(m);
    /* a bigger case: the gradient of the objective in the standardised space is ~0 at the fit */
    tp_pmatrix *d = synth(1000, 1, 5);
    CHECK_OK(tp_plogreg_fit(d->X, d->y, d->n, d->F, 0.5, 500, 2, &m));
    if (m) {
        size_t F = d->F, n = d->n;
        double wf[4], bf, mu[4] = {0}, sd[4] = {0}, g[5] = {0};
        tp_plogreg_coef(m, wf, &bf);
        for (size_t j = 0; j < F; j++) {
            for (size_t i = 0; i < n; i++) mu[j] += d->X[i * F + j] / (double)n;
            for (size_t i = 0; i < n; i++) sd[j] += pow(d->X[i * F + j] - mu[j], 2) / (double)n;
            sd[j] = sqrt(sd[j]);
        }
        for (size_t i = 0; i < n; i++) {
            double z = bf;
            for (size_t j = 0; j < F; j++) z += wf[j] * d->X[i * F + j];
            double r = 1 / (1 + exp(-z)) - d->y[i];
            for (size_t j = 0; j < F; j++) g[j] += r * (d->X[i * F + j] - mu[j]) / sd[j];
            g[F] += r;
        }
        double gmax = 0;
        for (size_t j = 0; j < F; j++) gmax = fmax(gmax, fabs(g[j] + wf[j] * sd[j] / 0.5));
        gmax = fmax(gmax, fabs(g[F]));
        printf("    logreg: max |gradient| at the fit %.3g (%d iterations)\n", gmax,
               tp_plogreg_iterations(m));
        CHECK(gmax < 1e-4);
        CHECK(wf[1] > 0); /* x1 raises the rate linearly (x0 acts through a band) */
    }
    tp_plogreg_free(m);
    tp_pmatrix_free(d);
}

static void test_fit(void) {
    tp_pmatrix *m = synth(2000, 4, 7);
    if (!m) {
        CHECK(0);
        return;
    }
    tp_ptrain_opts o;
    tp_ptrain_opts_default(&o);
    o.trials = 5;
    o.n_threads = 2;
    o.base.max_rounds = 100;
    o.base.early_stopping = 15;
    tp_ptrain_result *r = NULL, *r2 = NULL;
    CHECK_OK(tp_ptrain_fit(m, &o, &r));
    if (!r) goto done;
    /* time split: 4 dates -> train on the first two, validate on the third, test on the last */
    CHECK(r->n_train_dates == 2 && r->train_dates[0] == 19800 && r->train_dates[1] == 19830);
    CHECK(r->valid_date == 19860 && r->test_date == 19890);
    CHECK(r->n_trials == 5);
    /* user split: about 15% of users in test, all at the test date, none in train; every other
       user trains at the two training dates and validates at the validation date */
    CHECK(r->n_test > 200 && r->n_test < 400);
    CHECK(r->n_train == 2 * (2000 - r->n_test) && r->n_valid == 2000 - r->n_test);
    bool dates_ok = true;
    for (size_t i = 0; i < r->holdout->n; i++) dates_ok &= r->holdout->as_of[i] == 19890;
    CHECK(dates_ok);
    /* the best trial is the one with the best validation PR-AUC */
    double best = -1;
    for (size_t t = 0; t < r->n_trials; t++)
        if (r->trials[t].valid_pr_auc > best) best = r->trials[t].valid_pr_auc;
    CHECK(r->best.valid_pr_auc == best);
    /* the tree model sees the interaction; the linear baseline cannot */
    printf("    fit: test PR-AUC %.4f (baseline %.4f), ROC-AUC %.4f, %zu/%zu/%zu rows\n",
           r->test.pr_auc, r->baseline.pr_auc, r->test.roc_auc, r->n_train, r->n_valid, r->n_test);
    CHECK(r->has_baseline && r->test.pr_auc > r->baseline.pr_auc);
    /* ... measurably: the paired bootstrap's 95% interval of the gain lies above zero */
    CHECK(r->vs_baseline.n_boot == TP_PTRAIN_BOOTSTRAP && r->vs_baseline.diff == r->test.pr_auc - r->baseline.pr_auc);
    CHECK(r->vs_baseline.lo > 0 && r->vs_baseline.lo < r->vs_baseline.diff && r->vs_baseline.diff < r->vs_baseline.hi);
    CHECK(r->test.pr_auc > 0.3);
    /* same seed, same result; TPE and random both run */
    CHECK_OK(tp_ptrain_fit(m, &o, &r2));
    if (r2) CHECK(r2->test.pr_auc == r->test.pr_auc && r2->best.rounds == r->best.rounds);
    tp_ptrain_result_free(r2);
    r2 = NULL;
    o.search = TP_PSEARCH_RANDOM;
    o.trials = 2;
    o.baseline = false;
    CHECK_OK(tp_ptrain_fit(m, &o, &r2));
    if (r2) CHECK(r2->n_trials == 2 && !r2->has_baseline);
    tp_ptrain_result_free(r2);
    r2 = NULL;
    // ---- save, load, predict by name ----
    tp_ptrain_info info = {.group = "shoes", .defs_hash = "0123456789abcdef", .horizon_days = 30};
    char dir[512];
    snprintf(dir, sizeof dir, "%s", tp_test_path("model_shoes"));
    CHECK_OK(tp_ptrain_save(r, m, &info, dir));
    tp_pmodel *pm = NULL;
    CHECK_OK(tp_pmodel_load(dir, &pm));
    if (pm) {
        CHECK_STR(tp_pmodel_group(pm), "shoes");
        CHECK_STR(tp_pmodel_defs_hash(pm), "0123456789abcdef");
        CHECK(tp_pmodel_n_features(pm) == 4);
        tp_metrics_summary s;
        CHECK_OK(tp_pmodel_evaluate(pm, r->holdout, 1, &s));
        CHECK(s.pr_auc == r->test.pr_auc); /* same model, same rows */
        /* reversed column order: matched by name, same scores */
        tp_pmatrix *rev = NULL;
        size_t idx[8];
        for (size_t i = 0; i < 8; i++) idx[i] = i;
        CHECK_OK(tp_pmatrix_take(r->holdout, idx, 8, &rev));
        double a[8], b[8];
        CHECK_OK(tp_pmodel_predict(pm, rev, 1, a));
        for (size_t i = 0; i < 8; i++)
            for (size_t j = 0; j < 2; j++) {
                float t = rev->X[i * 4 + j];
                rev->X[i * 4 + j] = rev->X[i * 4 + 3 - j];
                rev->X[i * 4 + 3 - j] = t;
            }
        for (size_t j = 0; j < 2; j++) {
            char *t = rev->names[j];
            rev->names[j] = rev->names[3 - j];
            rev->names[3 - j] = t;
        }
        CHECK_OK(tp_pmodel_predict(pm, rev, 1, b));
        CHECK(memcmp(a, b, sizeof a) == 0);
        tp_free(rev->names[0]);
        rev->names[0] = tp_strdup("other");
        CHECK_STATUS(tp_pmodel_predict(pm, rev, 1, b), TP_ERR_NOTFOUND);
        tp_pmatrix_free(rev);
        /* the holdout file is the test rows */
        tp_frame *hf = NULL;
        char hp[600];
        snprintf(hp, sizeof hp, "%s/holdout.parquet", dir);
        CHECK_OK(tp_table_read(hp, NULL, 0, &hf));
        if (hf) CHECK(tp_frame_n_rows(hf) == r->n_test);
        tp_frame_free(hf);
    }
    tp_pmodel_free(pm);
done:
    tp_ptrain_result_free(r);
    tp_pmatrix_free(m);
}

static void test_fit_errors(void) {
    tp_pmatrix *m = synth(200, 1, 9);
    tp_ptrain_opts o;
    tp_ptrain_opts_default(&o);
    o.trials = 1;
    tp_ptrain_result *r = NULL;
    memset(m->y, 0, m->n); /* no positives */
    CHECK_STATUS(tp_ptrain_fit(m, &o, &r), TP_ERR_ARG);
    CHECK(strstr(tp_last_error(), "no positive") != NULL);
    o.test_frac = 0.9;
    CHECK_STATUS(tp_ptrain_fit(m, &o, &r), TP_ERR_ARG);
    tp_pmatrix_free(m);
}

void suite_propensity(void) {
    test_pmatrix();
    test_gbm_stump();
    test_gbm_early_stopping();
    test_logreg();
    test_fit();
    test_fit_errors();
}

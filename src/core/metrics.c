/* metrics.c: binary classification metrics (ROC-AUC, average precision, log loss, confusion,
 * best-F1 threshold, calibration, lift/capture, curves). Every metric works on one sorted order of
 * the scores (a radix sort of order-preserving integer keys) and treats equal scores as one group,
 * so results never depend on the order of the input rows. Definitions follow scikit-learn. */
#include "touchpoint/metrics.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

// n rows; P positives, N negatives; "group" = a run of equal scores in sorted order.

static tp_status check_inputs(const double *score, const uint8_t *label, size_t n, bool prob) {
    if (n > UINT32_MAX) return tp_fail(TP_ERR_ARG, "metrics: %zu rows is more than 2^32-1", n);
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(score[i]))
            return tp_fail(TP_ERR_ARG, "metrics: score at row %zu is not a finite number", i);
        if (prob && (score[i] < 0.0 || score[i] > 1.0))
            return tp_fail(TP_ERR_ARG, "metrics: probability at row %zu is %g, outside [0, 1]", i, score[i]);
        if (label[i] > 1)
            return tp_fail(TP_ERR_ARG, "metrics: label at row %zu is %u, expected 0 or 1", i, label[i]);
    }
    return TP_OK;
}

// Order-preserving signed key of a double (-0.0 folded into 0.0).
static int64_t score_key(double d) {
    d += 0.0;
    int64_t b;
    memcpy(&b, &d, sizeof b);
    return b < 0 ? b ^ INT64_MAX : b;
}

// perm (n, OUT, tp_malloc'd): rows by ascending score.
static tp_status sort_scores(const double *score, size_t n, uint32_t **perm) {
    int64_t *k = tp_malloc((n ? n : 1) * sizeof *k);
    uint32_t *p = tp_malloc((n ? n : 1) * sizeof *p);
    tp_status rc = TP_OK;
    if (!k || !p) {
        rc = tp_fail(TP_ERR_NOMEM, "metrics: out of memory sorting %zu scores", n);
        goto done;
    }
    for (size_t i = 0; i < n; i++) k[i] = score_key(score[i]);
    if ((rc = tp_radix_sort_i64(k, n, p)) != TP_OK) goto done;
    *perm = p;
    p = NULL;
done:
    tp_free(k);
    tp_free(p);
    return rc;
}

static uint64_t count_pos(const uint8_t *label, size_t n) {
    uint64_t P = 0;
    for (size_t i = 0; i < n; i++) P += label[i];
    return P;
}

// ---- ranking metrics ----

tp_status tp_metrics_roc_auc(const double *score, const uint8_t *label, size_t n, double *out) {
    uint32_t *perm = NULL;
    tp_status rc = check_inputs(score, label, n, false);
    if (rc != TP_OK) return rc;
    uint64_t P = count_pos(label, n), N = n - P;
    if (P == 0 || N == 0) {
        *out = NAN;
        return TP_OK;
    }
    if ((rc = sort_scores(score, n, &perm)) != TP_OK) return rc;
    // Mann-Whitney U: sum of the positives' ranks, each tie group at its average rank.
    double rank_sum = 0.0;
    for (size_t a = 0; a < n;) {
        size_t b = a + 1;
        while (b < n && score[perm[b]] == score[perm[a]]) b++;
        uint64_t pos = 0;
        for (size_t i = a; i < b; i++) pos += label[perm[i]];
        double avg_rank = 0.5 * ((double)(a + 1) + (double)b); // ranks a+1 .. b
        rank_sum += (double)pos * avg_rank;
        a = b;
    }
    *out = (rank_sum - 0.5 * (double)P * (double)(P + 1)) / ((double)P * (double)N);
    tp_free(perm);
    return TP_OK;
}

/* Walk distinct thresholds in decreasing order: for each, cumulative tp/fp of score >= t.
 * fn(ctx, threshold, tp, fp) is called once per group. */
typedef void (*group_fn)(void *ctx, double t, uint64_t tp, uint64_t fp);
static tp_status walk_desc(const double *score, const uint8_t *label, size_t n, group_fn fn, void *ctx) {
    uint32_t *perm = NULL;
    tp_status rc = sort_scores(score, n, &perm);
    if (rc != TP_OK) return rc;
    uint64_t tp = 0, fp = 0;
    for (size_t b = n; b > 0;) {
        size_t a = b - 1;
        while (a > 0 && score[perm[a - 1]] == score[perm[b - 1]]) a--;
        for (size_t i = a; i < b; i++) {
            if (label[perm[i]]) tp++;
            else fp++;
        }
        fn(ctx, score[perm[a]], tp, fp);
        b = a;
    }
    tp_free(perm);
    return TP_OK;
}

typedef struct ap_ctx {
    double P, ap, prev_recall;
} ap_ctx;
static void ap_step(void *c, double t, uint64_t tp, uint64_t fp) {
    ap_ctx *x = c;
    (void)t;
    double recall = (double)tp / x->P, precision = (double)tp / (double)(tp + fp);
    x->ap += (recall - x->prev_recall) * precision;
    x->prev_recall = recall;
}

tp_status tp_metrics_pr_auc(const double *score, const uint8_t *label, size_t n, double *out) {
    tp_status rc = check_inputs(score, label, n, false);
    if (rc != TP_OK) return rc;
    uint64_t P = count_pos(label, n);
    if (P == 0) {
        *out = NAN;
        return TP_OK;
    }
    ap_ctx x = {(double)P, 0.0, 0.0};
    if ((rc = walk_desc(score, label, n, ap_step, &x)) != TP_OK) return rc;
    *out = x.ap;
    return TP_OK;
}

// ---- paired bootstrap of the AP difference ----

/* AP of the resample given by per-row counts w (a row drawn k times weighs k), walking the tie
 * groups of perm from the highest score down: duplicated rows share their score, so this is
 * exactly the AP of the materialised resample. */
static double weighted_ap(const double *score, const uint32_t *perm, const uint8_t *label,
                          const uint32_t *w, size_t n, double P) {
    double tp = 0, fp = 0, ap = 0, prev_recall = 0;
    for (size_t b = n; b > 0;) {
        size_t a = b - 1;
        while (a > 0 && score[perm[a - 1]] == score[perm[b - 1]]) a--;
        double dtp = 0, dfp = 0;
        for (size_t i = a; i < b; i++) {
            uint32_t k = perm[i];
            if (label[k]) dtp += w[k];
            else dfp += w[k];
        }
        b = a;
        if (dtp + dfp == 0) continue; // no row of this group was drawn: not a threshold here
        tp += dtp;
        fp += dfp;
        double recall = tp / P;
        ap += (recall - prev_recall) * (tp / (tp + fp));
        prev_recall = recall;
    }
    return ap;
}

typedef struct boot_ctx {
    const double *a, *b;
    const uint8_t *label;
    const uint32_t *perm_a, *perm_b;
    size_t n;
    uint64_t seed;
    uint32_t *counts; /* n per thread */
    double *reps;     /* n_boot */
} boot_ctx;

static tp_status boot_chunk(void *vc, size_t lo, size_t hi, int tid) {
    boot_ctx *c = vc;
    uint32_t *w = c->counts + (size_t)tid * c->n;
    for (size_t r = lo; r < hi; r++) {
        tp_rng rng;
        tp_rng_seed_stream(&rng, c->seed, (uint64_t)r);
        memset(w, 0, c->n * sizeof *w);
        double P = 0;
        for (size_t i = 0; i < c->n; i++) {
            uint64_t k = tp_rng_below(&rng, c->n);
            w[k]++;
            P += c->label[k];
        }
        c->reps[r] = P == 0 ? NAN
                            : weighted_ap(c->a, c->perm_a, c->label, w, c->n, P) -
                                  weighted_ap(c->b, c->perm_b, c->label, w, c->n, P);
    }
    return TP_OK;
}

static int cmp_double(const void *x, const void *y) {
    double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

static double percentile_sorted(const double *v, size_t n, double q) {
    double pos = q * (double)(n - 1);
    size_t i = (size_t)pos;
    if (i + 1 >= n) return v[n - 1];
    return v[i] + (pos - (double)i) * (v[i + 1] - v[i]);
}

tp_status tp_metrics_pr_auc_compare(const double *score_a, const double *score_b, const uint8_t *label,
                                    size_t n, uint32_t n_boot, uint64_t seed, int n_threads,
                                    tp_ap_compare *out, double *reps) {
    tp_status rc;
    if ((rc = check_inputs(score_a, label, n, false)) != TP_OK ||
        (rc = check_inputs(score_b, label, n, false)) != TP_OK)
        return rc;
    if (n_boot == 0) return tp_fail(TP_ERR_ARG, "metrics: the bootstrap needs at least one replicate");
    memset(out, 0, sizeof *out);
    out->n_boot = n_boot;
    double ap_a, ap_b;
    if ((rc = tp_metrics_pr_auc(score_a, label, n, &ap_a)) != TP_OK ||
        (rc = tp_metrics_pr_auc(score_b, label, n, &ap_b)) != TP_OK)
        return rc;
    out->diff = ap_a - ap_b;
    out->lo = out->hi = out->p_not_better = NAN;
    if (isnan(out->diff)) {
        if (reps)
            for (uint32_t r = 0; r < n_boot; r++) reps[r] = NAN;
        return TP_OK;
    }
    int nt = n_threads > 0 ? n_threads : tp_threads_default();
    boot_ctx c = {score_a, score_b, label, NULL, NULL, n, seed, NULL, NULL};
    uint32_t *pa = NULL, *pb = NULL;
    double *sorted = NULL;
    if ((rc = sort_scores(score_a, n, &pa)) != TP_OK || (rc = sort_scores(score_b, n, &pb)) != TP_OK)
        goto done;
    c.perm_a = pa;
    c.perm_b = pb;
    if (!(c.counts = tp_malloc((size_t)nt * n * sizeof *c.counts)) ||
        !(c.reps = tp_malloc(n_boot * sizeof *c.reps)) || !(sorted = tp_malloc(n_boot * sizeof *sorted))) {
        rc = tp_fail(TP_ERR_NOMEM, "metrics: out of memory for %u bootstrap replicates", n_boot);
        goto done;
    }
    if ((rc = tp_parallel_for(n_boot, nt, boot_chunk, &c)) != TP_OK) goto done;
    size_t used = 0, not_better = 0;
    for (uint32_t r = 0; r < n_boot; r++) {
        if (isnan(c.reps[r])) continue;
        sorted[used++] = c.reps[r];
        not_better += c.reps[r] <= 0;
    }
    out->n_used = (uint32_t)used;
    if (used) {
        qsort(sorted, used, sizeof *sorted, cmp_double);
        out->lo = percentile_sorted(sorted, used, 0.025);
        out->hi = percentile_sorted(sorted, used, 0.975);
        out->p_not_better = (double)not_better / (double)used;
    }
    if (reps) memcpy(reps, c.reps, n_boot * sizeof *reps);
done:
    tp_free(pa);
    tp_free(pb);
    tp_free(c.counts);
    tp_free(c.reps);
    tp_free(sorted);
    return rc;
}

tp_status tp_metrics_log_loss(const double *prob, const uint8_t *label, const double *weight, size_t n,
                              double *out) {
    tp_status rc = check_inputs(prob, label, n, true);
    if (rc != TP_OK) return rc;
    if (n == 0) return tp_fail(TP_ERR_ARG, "metrics: log loss of no rows");
    const double eps = 0x1p-52;
    double sum = 0.0, wsum = 0.0;
    for (size_t i = 0; i < n; i++) {
        double p = prob[i] < eps ? eps : prob[i] > 1.0 - eps ? 1.0 - eps : prob[i];
        double w = weight ? weight[i] : 1.0;
        sum -= w * (label[i] ? log(p) : log1p(-p));
        wsum += w;
    }
    if (!(wsum > 0)) return tp_fail(TP_ERR_ARG, "metrics: log loss weights sum to %g", wsum);
    *out = sum / wsum;
    return TP_OK;
}

// ---- thresholds ----

static void fill_confusion(tp_confusion *c, double t, uint64_t tp, uint64_t fp, uint64_t P, uint64_t N) {
    c->threshold = t;
    c->tp = tp;
    c->fp = fp;
    c->fn = P - tp;
    c->tn = N - fp;
    uint64_t n = P + N;
    c->accuracy = n ? (double)(tp + c->tn) / (double)n : NAN;
    c->precision = tp + fp ? (double)tp / (double)(tp + fp) : 0.0;
    c->recall = P ? (double)tp / (double)P : 0.0;
    c->f1 = 2 * tp + fp + c->fn ? 2.0 * (double)tp / (double)(2 * tp + fp + c->fn) : 0.0;
}

tp_status tp_metrics_at_threshold(const double *score, const uint8_t *label, size_t n, double threshold,
                                  tp_confusion *out) {
    tp_status rc = check_inputs(score, label, n, false);
    if (rc != TP_OK) return rc;
    uint64_t tp = 0, fp = 0, P = count_pos(label, n);
    for (size_t i = 0; i < n; i++)
        if (score[i] >= threshold) {
            if (label[i]) tp++;
            else fp++;
        }
    fill_confusion(out, threshold, tp, fp, P, n - P);
    return TP_OK;
}

typedef struct f1_ctx {
    uint64_t P, N;
    bool have;
    tp_confusion best;
} f1_ctx;
static void f1_step(void *c, double t, uint64_t tp, uint64_t fp) {
    f1_ctx *x = c;
    tp_confusion k;
    fill_confusion(&k, t, tp, fp, x->P, x->N);
    if (!x->have || k.f1 > x->best.f1) { // strict: the highest threshold wins ties
        x->best = k;
        x->have = true;
    }
}

tp_status tp_metrics_best_f1(const double *score, const uint8_t *label, size_t n, tp_confusion *out) {
    tp_status rc = check_inputs(score, label, n, false);
    if (rc != TP_OK) return rc;
    if (n == 0) return tp_fail(TP_ERR_ARG, "metrics: best F1 threshold of no rows");
    uint64_t P = count_pos(label, n);
    f1_ctx x;
    memset(&x, 0, sizeof x);
    x.P = P;
    x.N = n - P;
    if ((rc = walk_desc(score, label, n, f1_step, &x)) != TP_OK) return rc;
    *out = x.best;
    return TP_OK;
}

// ---- calibration and lift ----

tp_status tp_metrics_calibration(const double *prob, const uint8_t *label, size_t n,
                                 tp_calib_strategy strategy, size_t n_bins, tp_calib_bin *bins) {
    uint32_t *perm = NULL;
    double *sum_p = NULL;
    uint64_t *pos = NULL;
    tp_status rc = check_inputs(prob, label, n, strategy == TP_CALIB_UNIFORM);
    if (rc != TP_OK) return rc;
    if (n_bins == 0) return tp_fail(TP_ERR_ARG, "metrics: calibration needs at least one bin");
    sum_p = tp_calloc(n_bins, sizeof *sum_p);
    pos = tp_calloc(n_bins, sizeof *pos);
    if (!sum_p || !pos) {
        rc = tp_fail(TP_ERR_NOMEM, "metrics: out of memory");
        goto done;
    }
    for (size_t k = 0; k < n_bins; k++) {
        bins[k].count = 0;
        bins[k].lo = strategy == TP_CALIB_UNIFORM ? (double)k * (1.0 / (double)n_bins) : NAN;
        bins[k].hi = strategy == TP_CALIB_UNIFORM ? (double)(k + 1) * (1.0 / (double)n_bins) : NAN;
    }
    if (strategy == TP_CALIB_UNIFORM) {
        bins[n_bins - 1].hi = 1.0;
        double step = 1.0 / (double)n_bins; // numpy.linspace's edges: k * step
        for (size_t i = 0; i < n; i++) {
            size_t k = 0; // edges k*step (k = 1 .. n_bins-1) strictly below p (searchsorted "left")
            while (k + 1 < n_bins && (double)(k + 1) * step < prob[i]) k++;
            bins[k].count++;
            sum_p[k] += prob[i];
            pos[k] += label[i];
        }
    } else {
        if ((rc = sort_scores(prob, n, &perm)) != TP_OK) goto done;
        for (size_t a = 0; a < n;) {
            size_t b = a + 1;
            while (b < n && prob[perm[b]] == prob[perm[a]]) b++;
            size_t k = (size_t)((double)a * (double)n_bins / (double)n);
            if (k >= n_bins) k = n_bins - 1;
            for (size_t i = a; i < b; i++) {
                bins[k].count++;
                sum_p[k] += prob[perm[i]];
                pos[k] += label[perm[i]];
            }
            if (!(bins[k].lo <= prob[perm[a]])) bins[k].lo = prob[perm[a]];
            bins[k].hi = prob[perm[a]];
            a = b;
        }
    }
    for (size_t k = 0; k < n_bins; k++) {
        double c = (double)bins[k].count;
        bins[k].mean_predicted = c > 0 ? sum_p[k] / c : NAN;
        bins[k].observed_rate = c > 0 ? (double)pos[k] / c : NAN;
    }
done:
    tp_free(perm);
    tp_free(sum_p);
    tp_free(pos);
    return rc;
}

tp_status tp_metrics_lift(const double *score, const uint8_t *label, size_t n, double fraction, tp_lift *out) {
    uint32_t *perm = NULL;
    tp_status rc = check_inputs(score, label, n, false);
    if (rc != TP_OK) return rc;
    if (!(fraction > 0.0 && fraction <= 1.0))
        return tp_fail(TP_ERR_ARG, "metrics: lift fraction %g is not in (0, 1]", fraction);
    if (n == 0) return tp_fail(TP_ERR_ARG, "metrics: lift of no rows");
    uint64_t P = count_pos(label, n);
    uint64_t n_top = (uint64_t)ceil(fraction * (double)n - 1e-9);
    if (n_top == 0) n_top = 1;
    if (n_top > n) n_top = n;
    if ((rc = sort_scores(score, n, &perm)) != TP_OK) return rc;
    double got = 0.0;
    uint64_t taken = 0;
    for (size_t b = n; b > 0 && taken < n_top;) {
        size_t a = b - 1;
        while (a > 0 && score[perm[a - 1]] == score[perm[b - 1]]) a--;
        uint64_t size = b - a, pos = 0;
        for (size_t i = a; i < b; i++) pos += label[perm[i]];
        uint64_t use = size <= n_top - taken ? size : n_top - taken;
        got += (double)pos * (double)use / (double)size; // a tie group at the cut counts pro rata
        taken += use;
        b = a;
    }
    tp_free(perm);
    out->fraction = fraction;
    out->n_top = n_top;
    out->positives = got;
    out->capture = P ? got / (double)P : NAN;
    out->lift = P ? (got / (double)n_top) / ((double)P / (double)n) : NAN;
    return TP_OK;
}

// ---- curves ----

typedef struct curve_ctx {
    uint64_t P, N;
    size_t k;
    double *x, *y, *t;
    bool pr;
} curve_ctx;
static void curve_step(void *c, double t, uint64_t tp, uint64_t fp) {
    curve_ctx *x = c;
    if (x->pr) {
        x->x[x->k] = x->P ? (double)tp / (double)x->P : NAN;
        x->y[x->k] = (double)tp / (double)(tp + fp);
    } else {
        x->x[x->k] = x->N ? (double)fp / (double)x->N : NAN;
        x->y[x->k] = x->P ? (double)tp / (double)x->P : NAN;
    }
    x->t[x->k] = t;
    x->k++;
}

static tp_status curve(const double *score, const uint8_t *label, size_t n, bool pr, double **ox,
                       double **oy, double **ot, size_t *n_points) {
    tp_status rc = check_inputs(score, label, n, false);
    if (rc != TP_OK) return rc;
    size_t m = n + 1; // at most n groups, plus the (0, 0) start of the ROC curve
    curve_ctx c = {count_pos(label, n), 0, 0, tp_malloc(m * sizeof(double)), tp_malloc(m * sizeof(double)),
                   tp_malloc(m * sizeof(double)), pr};
    c.N = n - c.P;
    if (!c.x || !c.y || !c.t) {
        rc = tp_fail(TP_ERR_NOMEM, "metrics: out of memory");
        goto fail;
    }
    if (!pr) {
        c.x[0] = 0.0;
        c.y[0] = 0.0;
        c.t[0] = INFINITY;
        c.k = 1;
    }
    if ((rc = walk_desc(score, label, n, curve_step, &c)) != TP_OK) goto fail;
    *ox = c.x;
    *oy = c.y;
    if (ot) *ot = c.t;
    else tp_free(c.t);
    *n_points = c.k;
    return TP_OK;
fail:
    tp_free(c.x);
    tp_free(c.y);
    tp_free(c.t);
    return rc;
}

tp_status tp_metrics_roc_curve(const double *score, const uint8_t *label, size_t n, double **fpr,
                               double **tpr, double **thresholds, size_t *n_points) {
    return curve(score, label, n, false, fpr, tpr, thresholds, n_points);
}
tp_status tp_metrics_pr_curve(const double *score, const uint8_t *label, size_t n, double **recall,
                              double **precision, double **thresholds, size_t *n_points) {
    return curve(score, label, n, true, recall, precision, thresholds, n_points);
}

// ---- summary ----

tp_status tp_metrics_summarize(const double *prob, const uint8_t *label, size_t n, tp_metrics_summary *out) {
    static const double fractions[TP_METRICS_N_LIFT] = {0.01, 0.05, 0.10, 0.20};
    tp_status rc;
    memset(out, 0, sizeof *out);
    if (n == 0) return tp_fail(TP_ERR_ARG, "metrics: no rows to evaluate");
    out->n = n;
    out->positives = count_pos(label, n);
    if ((rc = tp_metrics_roc_auc(prob, label, n, &out->roc_auc)) != TP_OK) return rc;
    if ((rc = tp_metrics_pr_auc(prob, label, n, &out->pr_auc)) != TP_OK) return rc;
    if ((rc = tp_metrics_log_loss(prob, label, NULL, n, &out->log_loss)) != TP_OK) return rc;
    if ((rc = tp_metrics_at_threshold(prob, label, n, 0.5, &out->at_half)) != TP_OK) return rc;
    if ((rc = tp_metrics_best_f1(prob, label, n, &out->best_f1)) != TP_OK) return rc;
    if ((rc = tp_metrics_calibration(prob, label, n, TP_CALIB_QUANTILE, TP_METRICS_CALIB_BINS,
                                     out->calibration)) != TP_OK)
        return rc;
    for (size_t i = 0; i < TP_METRICS_N_LIFT; i++)
        if ((rc = tp_metrics_lift(prob, label, n, fractions[i], &out->lift[i])) != TP_OK) return rc;
    return TP_OK;
}

static json_t *jnum(double v) { return isfinite(v) ? json_real(v) : json_null(); }

static json_t *confusion_json(const tp_confusion *c) {
    return json_pack("{s:o, s:I, s:I, s:I, s:I, s:o, s:o, s:o, s:o}", "threshold", jnum(c->threshold),
                     "tp", (json_int_t)c->tp, "fp", (json_int_t)c->fp, "tn", (json_int_t)c->tn, "fn",
                     (json_int_t)c->fn, "accuracy", jnum(c->accuracy), "precision", jnum(c->precision),
                     "recall", jnum(c->recall), "f1", jnum(c->f1));
}

tp_status tp_metrics_summary_json(const tp_metrics_summary *s, char **out) {
    tp_status rc = TP_OK;
    json_t *calib = json_array(), *lift = json_array();
    json_t *o = NULL;
    char *txt = NULL;
    if (!calib || !lift) goto nomem;
    for (size_t k = 0; k < TP_METRICS_CALIB_BINS; k++) {
        const tp_calib_bin *b = &s->calibration[k];
        if (json_array_append_new(calib, json_pack("{s:o, s:o, s:o, s:o, s:I}", "lo", jnum(b->lo), "hi",
                                                   jnum(b->hi), "mean_predicted", jnum(b->mean_predicted),
                                                   "observed_rate", jnum(b->observed_rate), "count",
                                                   (json_int_t)b->count)))
            goto nomem;
    }
    for (size_t k = 0; k < TP_METRICS_N_LIFT; k++) {
        const tp_lift *l = &s->lift[k];
        if (json_array_append_new(lift, json_pack("{s:o, s:I, s:o, s:o, s:o}", "fraction", jnum(l->fraction),
                                                  "n_top", (json_int_t)l->n_top, "positives", jnum(l->positives),
                                                  "capture", jnum(l->capture), "lift", jnum(l->lift))))
            goto nomem;
    }
    o = json_pack("{s:I, s:I, s:o, s:o, s:o, s:o, s:o, s:O, s:O}", "n", (json_int_t)s->n, "positives",
                  (json_int_t)s->positives, "roc_auc", jnum(s->roc_auc), "pr_auc", jnum(s->pr_auc), "log_loss",
                  jnum(s->log_loss), "at_0.5", confusion_json(&s->at_half), "best_f1", confusion_json(&s->best_f1),
                  "calibration_deciles", calib, "lift", lift);
    if (!o) goto nomem;
    txt = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(17));
    if (!txt) goto nomem;
    *out = tp_strdup(txt);
    if (!*out) goto nomem;
    goto done;
nomem:
    rc = tp_fail(TP_ERR_NOMEM, "metrics: out of memory writing JSON");
done:
    free(txt);
    json_decref(o);
    json_decref(calib);
    json_decref(lift);
    return rc;
}

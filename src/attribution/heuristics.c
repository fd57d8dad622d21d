/* heuristics.c: the rule-based attribution methods (last touch, first touch, linear, time decay,
 * position based). Each converting journey hands out exactly one conversion over its kept
 * touches; journeys are processed in per-thread chunks whose sums are reduced in chunk order,
 * so results are deterministic for a given thread count. */
#include "attr_impl.h"

#include <math.h>
#include <string.h>

typedef struct heur_ctx {
    const tp_journeys *j;
    tp_attr_method m;
    double decay;       /* time decay: ln 2 / half-life in seconds */
    double pf, pl;      /* position shares of the first and last touch */
    double *acc_conv;   /* per thread: n_campaigns attributed conversions */
    double *acc_value;  /* per thread: n_campaigns attributed value (NULL without values) */
    double *touch;      /* per touch credit, or NULL */
    double *scratch;    /* per thread: max_len weights */
    size_t scratch_len;
} heur_ctx;

// Weights of the touches of one journey (n >= 1 touches starting at t0), summing to 1.
static void journey_weights(const heur_ctx *x, uint64_t t0, size_t n, double *w) {
    const tp_journeys *j = x->j;
    switch (x->m) {
    case TP_ATTR_LAST:
        for (size_t k = 0; k < n; k++) w[k] = k + 1 == n;
        break;
    case TP_ATTR_FIRST:
        for (size_t k = 0; k < n; k++) w[k] = k == 0;
        break;
    case TP_ATTR_LINEAR:
        for (size_t k = 0; k < n; k++) w[k] = 1.0 / (double)n;
        break;
    case TP_ATTR_TIME_DECAY: {
        // 2^(-s/h) normalised; shifting every s by the journey's minimum leaves the normalised
        // weights unchanged and keeps the largest weight at 1 (no underflow of the whole journey).
        int64_t smin = j->seconds_to_end[t0];
        for (size_t k = 1; k < n; k++)
            if (j->seconds_to_end[t0 + k] < smin) smin = j->seconds_to_end[t0 + k];
        double sum = 0;
        for (size_t k = 0; k < n; k++) {
            w[k] = exp(-x->decay * (double)(j->seconds_to_end[t0 + k] - smin));
            sum += w[k];
        }
        for (size_t k = 0; k < n; k++) w[k] /= sum;
        break;
    }
    case TP_ATTR_POSITION:
        if (n == 1) {
            w[0] = 1;
        } else if (n == 2) {
            double s = x->pf + x->pl;
            w[0] = s > 0 ? x->pf / s : 0.5;
            w[1] = s > 0 ? x->pl / s : 0.5;
        } else {
            double mid = (1 - x->pf - x->pl) / (double)(n - 2);
            if (mid < 0) mid = 0; // first + last may exceed 1 by rounding only
            w[0] = x->pf;
            w[n - 1] = x->pl;
            for (size_t k = 1; k + 1 < n; k++) w[k] = mid;
        }
        break;
    default:
        TP_ASSERT(0);
    }
}

static tp_status heur_range(void *vctx, size_t lo, size_t hi, int tid) {
    heur_ctx *x = vctx;
    const tp_journeys *j = x->j;
    size_t C = j->n_campaigns;
    double *conv = x->acc_conv + (size_t)tid * C;
    double *val = x->acc_value ? x->acc_value + (size_t)tid * C : NULL;
    double *w = x->scratch + (size_t)tid * x->scratch_len;
    for (size_t i = lo; i < hi; i++) {
        if (!attr_counts(j, i)) continue;
        uint64_t t0 = j->off[i];
        size_t n = (size_t)(j->off[i + 1] - t0);
        journey_weights(x, t0, n, w);
        for (size_t k = 0; k < n; k++) {
            int32_t c = j->campaign[t0 + k];
            conv[c] += w[k];
            if (val) val[c] += w[k] * j->value[i];
            if (x->touch) x->touch[t0 + k] = w[k];
        }
    }
    return TP_OK;
}

tp_status attr_heuristic(const tp_journeys *j, tp_attr_method m, const tp_attr_opts *o,
                         tp_credit *c) {
    size_t C = j->n_campaigns;
    int nt = attr_threads(o);
    size_t maxn = 1;
    for (size_t i = 0; i < j->n; i++) {
        size_t n = (size_t)(j->off[i + 1] - j->off[i]);
        if (n > maxn) maxn = n;
    }
    heur_ctx x = {.j = j, .m = m, .decay = log(2.0) / (o->half_life_days * 86400.0),
                  .pf = o->position_first, .pl = o->position_last, .touch = c->touch_credit,
                  .scratch_len = maxn};
    tp_status rc = TP_OK;
    x.acc_conv = tp_calloc((size_t)nt * (C ? C : 1), sizeof(double));
    x.acc_value = j->value ? tp_calloc((size_t)nt * (C ? C : 1), sizeof(double)) : NULL;
    x.scratch = tp_malloc((size_t)nt * maxn * sizeof(double));
    if (!x.acc_conv || (j->value && !x.acc_value) || !x.scratch) {
        rc = tp_fail(TP_ERR_NOMEM, "out of memory for %s attribution", tp_attr_method_name(m));
        goto done;
    }
    rc = tp_parallel_for(j->n, nt, heur_range, &x);
    if (rc != TP_OK) goto done;
    for (int t = 0; t < nt; t++) { // reduce in chunk order: deterministic for a thread count
        for (size_t k = 0; k < C; k++) {
            c->attributed_conversions[k] += x.acc_conv[(size_t)t * C + k];
            if (x.acc_value) c->attributed_value[k] += x.acc_value[(size_t)t * C + k];
        }
    }
done:
    tp_free(x.acc_conv);
    tp_free(x.acc_value);
    tp_free(x.scratch);
    return rc;
}

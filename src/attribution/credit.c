/* credit.c: the front door of the attribution methods (tp_attribute), method names and options,
 * turning raw method weights (Markov removal effects, Shapley values) into campaign credit, and
 * the credit tables as frames and files (DIR/<method>.parquet, DIR/<method>_touches.parquet). */
#include "attr_impl.h"
#include "touchpoint/io.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const method_names[TP_ATTR_N_METHODS] = {
    "last", "first", "linear", "time-decay", "position", "markov", "shapley",
};

const char *tp_attr_method_name(tp_attr_method m) {
    return (unsigned)m < TP_ATTR_N_METHODS ? method_names[m] : "unknown";
}

tp_status tp_attr_method_parse(const char *s, tp_attr_method *out) {
    for (int m = 0; m < TP_ATTR_N_METHODS; m++) {
        if (strcmp(s, method_names[m]) == 0) {
            *out = (tp_attr_method)m;
            return TP_OK;
        }
    }
    return tp_fail(TP_ERR_ARG,
                   "unknown attribution method '%s' (expected last, first, linear, time-decay, "
                   "position, markov, shapley or all)",
                   s);
}

tp_status tp_attr_methods_parse(const char *list, unsigned *mask) {
    unsigned m = 0;
    const char *p = list;
    char word[64];
    for (;;) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len == 0 || len >= sizeof word)
            return tp_fail(TP_ERR_ARG, "bad method list '%s'", list);
        memcpy(word, p, len);
        word[len] = 0;
        if (strcmp(word, "all") == 0) {
            m |= (1u << TP_ATTR_N_METHODS) - 1;
        } else {
            tp_attr_method one = TP_ATTR_LAST;
            tp_status rc = tp_attr_method_parse(word, &one);
            if (rc != TP_OK) return rc;
            m |= 1u << one;
        }
        if (!e) break;
        p = e + 1;
    }
    *mask = m;
    return TP_OK;
}

void tp_attr_opts_default(tp_attr_opts *o) {
    memset(o, 0, sizeof *o);
    o->half_life_days = 7.0;
    o->position_first = 0.4;
    o->position_last = 0.4;
    o->markov_order = 1;
    o->markov_dense_max = 512;
    o->shapley_max_exact = 15;
    o->shapley_samples = 1000;
    o->shapley_game = TP_SHAPLEY_SET_RATES;
    o->seed = 1;
    o->n_threads = 0;
    o->per_touch = false;
}

int attr_threads(const tp_attr_opts *o) {
    return o->n_threads > 0 ? o->n_threads : tp_threads_default();
}

static tp_status check_opts(const tp_attr_opts *o) {
    if (!(o->half_life_days > 0) || !isfinite(o->half_life_days))
        return tp_fail(TP_ERR_ARG, "time-decay half-life must be a positive number of days, got %g",
                       o->half_life_days);
    if (!(o->position_first >= 0) || !(o->position_last >= 0) ||
        !(o->position_first + o->position_last <= 1 + 1e-12))
        return tp_fail(TP_ERR_ARG,
                       "position shares must be >= 0 with first + last <= 1, got %g and %g",
                       o->position_first, o->position_last);
    if (o->markov_order < 1 || o->markov_order > 4)
        return tp_fail(TP_ERR_ARG, "Markov order must be 1 to 4, got %d", o->markov_order);
    if (o->shapley_max_exact < 0 || o->shapley_max_exact > 25)
        return tp_fail(TP_ERR_ARG, "shapley_max_exact must be 0 to 25, got %d",
                       o->shapley_max_exact);
    if (o->shapley_game != TP_SHAPLEY_RATE && o->shapley_game != TP_SHAPLEY_COUNT &&
        o->shapley_game != TP_SHAPLEY_SET_RATES)
        return tp_fail(TP_ERR_ARG, "unknown Shapley game %d", (int)o->shapley_game);
    if (o->shapley_samples < 2)
        return tp_fail(TP_ERR_ARG, "Shapley sampling needs at least 2 permutations, got %zu",
                       o->shapley_samples);
    return TP_OK;
}

void tp_credit_free(tp_credit *c) {
    if (!c) return;
    for (size_t i = 0; c->campaigns && i < c->n_campaigns; i++) tp_free(c->campaigns[i]);
    tp_free(c->campaigns);
    tp_free(c->attributed_conversions);
    tp_free(c->share);
    tp_free(c->attributed_value);
    tp_free(c->std_error);
    tp_free(c->weight);
    tp_free(c->touch_credit);
    tp_free(c);
}

static tp_status credit_new(const tp_journeys *j, tp_attr_method m, const tp_attr_opts *o,
                            tp_credit **out) {
    size_t C = j->n_campaigns;
    tp_credit *c = tp_calloc(1, sizeof *c);
    if (!c) return tp_fail(TP_ERR_NOMEM, "out of memory allocating credit");
    c->method = m;
    c->n_campaigns = C;
    c->n_touches = j->n_touches;
    c->campaigns = tp_calloc(C ? C : 1, sizeof *c->campaigns);
    c->attributed_conversions = tp_calloc(C ? C : 1, sizeof(double));
    c->share = tp_calloc(C ? C : 1, sizeof(double));
    bool ok = c->campaigns && c->attributed_conversions && c->share;
    if (ok && j->value) ok = (c->attributed_value = tp_calloc(C ? C : 1, sizeof(double))) != NULL;
    if (ok && (m == TP_ATTR_MARKOV || m == TP_ATTR_SHAPLEY))
        ok = (c->weight = tp_calloc(C ? C : 1, sizeof(double))) != NULL;
    if (ok && o->per_touch)
        ok = (c->touch_credit = tp_calloc(j->n_touches ? j->n_touches : 1, sizeof(double))) != NULL;
    for (size_t i = 0; ok && i < C; i++)
        ok = (c->campaigns[i] = tp_strdup(j->campaigns[i] ? j->campaigns[i] : "")) != NULL;
    if (!ok) {
        tp_credit_free(c);
        return tp_fail(TP_ERR_NOMEM, "out of memory allocating credit for %zu campaigns", C);
    }
    for (size_t i = 0; i < j->n; i++) {
        if (!attr_counts(j, i)) continue;
        c->total_conversions += 1;
        if (j->value) c->total_value += j->value[i];
    }
    *out = c;
    return TP_OK;
}

// ---- weights -> credit (Markov, Shapley) ----

typedef struct touch_ctx {
    const tp_journeys *j;
    const double *w; /* per campaign, clipped at 0 by the caller */
    double *touch_credit;
    int *count; /* per thread: n_campaigns scratch counters */
} touch_ctx;

// Within a converting journey, touch t of campaign c gets w[c] / (touches of c in the journey),
// normalised to 1; when every weight is 0 the journey is split equally (linear).
static tp_status touch_range(void *vctx, size_t lo, size_t hi, int tid) {
    touch_ctx *x = vctx;
    const tp_journeys *j = x->j;
    int *cnt = x->count + (size_t)tid * j->n_campaigns;
    for (size_t i = lo; i < hi; i++) {
        uint64_t a = j->off[i], b = j->off[i + 1];
        if (!attr_counts(j, i)) continue;
        for (uint64_t t = a; t < b; t++) cnt[j->campaign[t]]++;
        double sum = 0;
        for (uint64_t t = a; t < b; t++) {
            double v = x->w[j->campaign[t]] / cnt[j->campaign[t]];
            x->touch_credit[t] = v;
            sum += v;
        }
        for (uint64_t t = a; t < b; t++) {
            x->touch_credit[t] = sum > 0 ? x->touch_credit[t] / sum : 1.0 / (double)(b - a);
            cnt[j->campaign[t]] = 0;
        }
    }
    return TP_OK;
}

static tp_status credit_from_weights(const tp_journeys *j, const tp_attr_opts *o, tp_credit *c) {
    size_t C = c->n_campaigns;
    double W = 0;
    for (size_t k = 0; k < C; k++) W += c->weight[k];
    for (size_t k = 0; k < C; k++) {
        double s = W != 0 ? c->weight[k] / W : 0;
        c->attributed_conversions[k] = s * c->total_conversions;
        if (c->attributed_value) c->attributed_value[k] = s * c->total_value;
        if (c->std_error) c->std_error[k] = W != 0 ? c->std_error[k] / fabs(W) * c->total_conversions : 0;
    }
    if (!c->touch_credit) return TP_OK;
    int nt = attr_threads(o);
    double *w = tp_malloc((C ? C : 1) * sizeof *w);
    int *count = tp_calloc((size_t)nt * (C ? C : 1), sizeof *count);
    tp_status rc = TP_OK;
    if (!w || !count) {
        rc = tp_fail(TP_ERR_NOMEM, "out of memory for per-touch credit");
        goto done;
    }
    for (size_t k = 0; k < C; k++) w[k] = c->weight[k] > 0 ? c->weight[k] : 0;
    touch_ctx x = {j, w, c->touch_credit, count};
    rc = tp_parallel_for(j->n, nt, touch_range, &x);
done:
    tp_free(w);
    tp_free(count);
    return rc;
}

static tp_status check_journeys(const tp_journeys *j) {
    if (j->off[j->n] != j->n_touches)
        return tp_fail(TP_ERR_SHAPE, "journey offsets end at %llu but there are %zu touches",
                       (unsigned long long)j->off[j->n], j->n_touches);
    for (size_t i = 0; i < j->n; i++) {
        if (j->off[i] > j->off[i + 1])
            return tp_fail(TP_ERR_SHAPE, "journey offsets decrease at journey %zu", i);
    }
    for (size_t t = 0; t < j->n_touches; t++) {
        if (j->campaign[t] < 0 || (size_t)j->campaign[t] >= j->n_campaigns)
            return tp_fail(TP_ERR_SHAPE, "touch %zu has campaign index %d of %zu campaigns", t,
                           (int)j->campaign[t], j->n_campaigns);
    }
    return TP_OK;
}

tp_status tp_attribute(const tp_journeys *j, tp_attr_method m, const tp_attr_opts *opts,
                       tp_credit **out) {
    tp_attr_opts def;
    if (!opts) {
        tp_attr_opts_default(&def);
        opts = &def;
    }
    if ((unsigned)m >= TP_ATTR_N_METHODS)
        return tp_fail(TP_ERR_ARG, "unknown attribution method %d", (int)m);
    tp_status rc = check_opts(opts);
    if (rc != TP_OK) return rc;
    rc = check_journeys(j);
    if (rc != TP_OK) return rc;
    tp_credit *c = NULL;
    rc = credit_new(j, m, opts, &c);
    if (rc != TP_OK) return rc;
    if (m == TP_ATTR_MARKOV || m == TP_ATTR_SHAPLEY) {
        rc = m == TP_ATTR_MARKOV ? attr_markov(j, opts, c) : attr_shapley(j, opts, c);
        if (rc == TP_OK) rc = credit_from_weights(j, opts, c);
    } else {
        rc = attr_heuristic(j, m, opts, c);
    }
    if (rc != TP_OK) goto done;
    for (size_t k = 0; k < c->n_campaigns; k++)
        c->share[k] = c->total_conversions > 0 ? c->attributed_conversions[k] / c->total_conversions : 0;
    *out = c;
    c = NULL;
done:
    tp_credit_free(c);
    return rc;
}

// ---- frames and files ----

static tp_status add_f64(tp_frame *f, const char *name, const double *v, size_t n) {
    tp_column *col = NULL;
    tp_status rc = tp_column_new(name, TP_DTYPE_F64, n, &col);
    if (rc != TP_OK) return rc;
    rc = tp_column_resize(col, n);
    if (rc == TP_OK) {
        if (n) memcpy(TP_COL(col, double), v, n * sizeof *v);
        rc = tp_frame_add_take(f, col);
        if (rc == TP_OK) return TP_OK;
    }
    tp_column_free(col);
    return rc;
}

// A string column whose dictionary holds the campaign names in mapper order (code = index).
static tp_status campaign_column(const char *const *names, size_t n_names, size_t cap,
                                 tp_column **out) {
    tp_column *col = NULL;
    tp_status rc = tp_column_new("campaign_nm", TP_DTYPE_STR, cap, &col);
    if (rc != TP_OK) return rc;
    tp_strdict *d = tp_column_dict(col);
    for (size_t k = 0; k < n_names; k++) {
        int32_t code;
        rc = tp_strdict_intern(d, names[k], strlen(names[k]), &code);
        if (rc != TP_OK) goto fail;
        if ((size_t)code != k) {
            rc = tp_fail(TP_ERR_FORMAT, "campaign name '%s' appears twice in the mapper", names[k]);
            goto fail;
        }
    }
    *out = col;
    return TP_OK;
fail:
    tp_column_free(col);
    return rc;
}

tp_status tp_credit_to_frame(const tp_credit *c, tp_frame **out) {
    tp_frame *f = NULL;
    tp_column *col = NULL;
    size_t C = c->n_campaigns;
    tp_status rc = tp_frame_new(&f);
    if (rc != TP_OK) return rc;
    rc = campaign_column((const char *const *)c->campaigns, C, C, &col);
    if (rc != TP_OK) goto done;
    rc = tp_column_resize(col, C);
    if (rc != TP_OK) goto done;
    // Rows sorted by name: the mapper is sorted, but sort here too so the contract holds for any
    // tp_journeys a caller builds.
    uint32_t *order = tp_malloc((C ? C : 1) * sizeof *order);
    double *tmp = tp_malloc((C ? C : 1) * sizeof *tmp);
    if (!order || !tmp) {
        tp_free(order);
        tp_free(tmp);
        rc = tp_fail(TP_ERR_NOMEM, "out of memory building the credit table");
        goto done;
    }
    for (size_t k = 0; k < C; k++) order[k] = (uint32_t)k;
    for (size_t a = 1; a < C; a++) { // insertion sort: campaigns are few, and usually sorted
        uint32_t v = order[a];
        size_t b = a;
        while (b > 0 && strcmp(c->campaigns[order[b - 1]], c->campaigns[v]) > 0) {
            order[b] = order[b - 1];
            b--;
        }
        order[b] = v;
    }
    int32_t *codes = TP_COL(col, int32_t);
    for (size_t k = 0; k < C; k++) codes[k] = (int32_t)order[k];
    rc = tp_frame_add_take(f, col);
    if (rc == TP_OK) col = NULL;
    const double *cols[4] = {c->attributed_conversions, c->share, c->attributed_value, c->std_error};
    const char *names[4] = {"attributed_conversions", "share", "attributed_value", "std_error"};
    for (int q = 0; q < 4 && rc == TP_OK; q++) {
        if (!cols[q]) continue;
        for (size_t k = 0; k < C; k++) tmp[k] = cols[q][order[k]];
        rc = add_f64(f, names[q], tmp, C);
    }
    tp_free(order);
    tp_free(tmp);
    if (rc != TP_OK) goto done;
    *out = f;
    f = NULL;
done:
    tp_column_free(col);
    tp_frame_free(f);
    return rc;
}

tp_status tp_touch_credit_to_frame(const tp_credit *c, const tp_journeys *j, tp_frame **out) {
    if (!c->touch_credit || c->n_touches != j->n_touches)
        return tp_fail(TP_ERR_ARG, "no per-touch credit for these journeys (run with per_touch)");
    size_t rows = 0;
    for (size_t i = 0; i < j->n; i++)
        if (attr_counts(j, i)) rows += j->off[i + 1] - j->off[i];
    tp_frame *f = NULL;
    tp_column *cid = NULL, *cix = NULL, *cnm = NULL, *ccr = NULL;
    tp_status rc = tp_frame_new(&f);
    if (rc != TP_OK) return rc;
    if ((rc = tp_column_new("journey_id", TP_DTYPE_I64, rows, &cid)) != TP_OK ||
        (rc = tp_column_new("index", TP_DTYPE_I32, rows, &cix)) != TP_OK ||
        (rc = campaign_column((const char *const *)j->campaigns, j->n_campaigns, rows, &cnm)) != TP_OK ||
        (rc = tp_column_new("credit", TP_DTYPE_F64, rows, &ccr)) != TP_OK)
        goto done;
    if ((rc = tp_column_resize(cid, rows)) != TP_OK || (rc = tp_column_resize(cix, rows)) != TP_OK ||
        (rc = tp_column_resize(cnm, rows)) != TP_OK || (rc = tp_column_resize(ccr, rows)) != TP_OK)
        goto done;
    int64_t *id = TP_COL(cid, int64_t);
    int32_t *ix = TP_COL(cix, int32_t), *nm = TP_COL(cnm, int32_t);
    double *cr = TP_COL(ccr, double);
    size_t r = 0;
    for (size_t i = 0; i < j->n; i++) {
        if (!attr_counts(j, i)) continue;
        for (uint64_t t = j->off[i]; t < j->off[i + 1]; t++, r++) {
            id[r] = j->journey_id[i];
            ix[r] = (int32_t)(t - j->off[i]);
            nm[r] = j->campaign[t];
            cr[r] = c->touch_credit[t];
        }
    }
    tp_column **cols[4] = {&cid, &cix, &cnm, &ccr};
    for (int q = 0; q < 4; q++) {
        rc = tp_frame_add_take(f, *cols[q]);
        if (rc != TP_OK) goto done;
        *cols[q] = NULL;
    }
    *out = f;
    f = NULL;
done:
    tp_column_free(cid);
    tp_column_free(cix);
    tp_column_free(cnm);
    tp_column_free(ccr);
    tp_frame_free(f);
    return rc;
}

tp_status tp_credit_write(const tp_credit *c, const tp_journeys *j, const char *dir) {
    tp_frame *f = NULL;
    char *path = NULL;
    const char *name = tp_attr_method_name(c->method);
    tp_status rc = tp_mkdirs(dir);
    if (rc != TP_OK) return rc;
    size_t plen = strlen(dir) + strlen(name) + 32;
    path = tp_malloc(plen);
    if (!path) return tp_fail(TP_ERR_NOMEM, "out of memory");
    snprintf(path, plen, "%s/%s.parquet", dir, name);
    rc = tp_credit_to_frame(c, &f);
    if (rc == TP_OK) rc = tp_table_write(f, path, NULL);
    if (rc != TP_OK) goto done;
    tp_frame_free(f);
    f = NULL;
    if (c->touch_credit) {
        snprintf(path, plen, "%s/%s_touches.parquet", dir, name);
        rc = tp_touch_credit_to_frame(c, j, &f);
        if (rc == TP_OK) rc = tp_table_write(f, path, NULL);
    }
done:
    if (rc != TP_OK) tp_fail_context(rc, "writing '%s'", path);
    tp_frame_free(f);
    tp_free(path);
    return rc;
}

/* evaluate.c: a credit table against the simulator's ground truth (`touchpoint evaluate`):
 * total variation distance between the share vectors, Spearman rank correlation (average ranks
 * for ties), and the worst-credited campaign, over the union of campaigns on both sides (a
 * campaign missing on one side has share 0 there). Truth and results are JSON (jansson). */
#include "touchpoint/attribution.h"
#include "touchpoint/io.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

// ---- truth ----

void tp_truth_free(tp_truth *t) {
    if (!t) return;
    for (size_t i = 0; t->names && i < t->n; i++) tp_free(t->names[i]);
    tp_free(t->names);
    tp_free(t->true_share);
    tp_free(t->incremental);
    tp_free(t);
}

tp_status tp_truth_read(const char *path, tp_truth **out) {
    json_error_t err;
    tp_truth *t = NULL;
    tp_status rc = TP_OK;
    json_t *root = json_load_file(path, 0, &err);
    if (!root)
        return tp_fail(TP_ERR_FORMAT, "cannot read truth file '%s': %s (line %d)", path, err.text,
                       err.line);
    json_t *camps = json_object_get(root, "campaigns");
    if (!json_is_array(camps)) {
        rc = tp_fail(TP_ERR_FORMAT, "truth file '%s': no \"campaigns\" array", path);
        goto done;
    }
    size_t n = json_array_size(camps);
    t = tp_calloc(1, sizeof *t);
    if (t) {
        t->names = tp_calloc(n ? n : 1, sizeof *t->names);
        t->true_share = tp_calloc(n ? n : 1, sizeof *t->true_share);
        t->incremental = tp_calloc(n ? n : 1, sizeof *t->incremental);
    }
    if (!t || !t->names || !t->true_share || !t->incremental) {
        rc = tp_fail(TP_ERR_NOMEM, "out of memory reading '%s'", path);
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        json_t *c = json_array_get(camps, i);
        json_t *name = json_object_get(c, "name"), *share = json_object_get(c, "true_share");
        json_t *inc = json_object_get(c, "incremental_conversions");
        if (!json_is_string(name) || !json_is_number(share)) {
            rc = tp_fail(TP_ERR_FORMAT,
                         "truth file '%s': campaigns[%zu] needs a string \"name\" and a number "
                         "\"true_share\"", path, i);
            goto done;
        }
        t->names[i] = tp_strdup(json_string_value(name));
        if (!t->names[i]) {
            rc = tp_fail(TP_ERR_NOMEM, "out of memory reading '%s'", path);
            goto done;
        }
        t->n = i + 1;
        t->true_share[i] = json_number_value(share);
        t->incremental[i] = json_is_number(inc) ? json_number_value(inc) : 0;
        for (size_t q = 0; q < i; q++) {
            if (strcmp(t->names[q], t->names[i]) == 0) {
                rc = tp_fail(TP_ERR_FORMAT, "truth file '%s': campaign '%s' listed twice", path,
                             t->names[i]);
                goto done;
            }
        }
    }
    t->n = n;
    *out = t;
    t = NULL;
done:
    json_decref(root);
    tp_truth_free(t);
    return rc;
}

// ---- metrics ----

typedef struct ranked {
    double v;
    size_t i;
} ranked;

static int cmp_ranked(const void *pa, const void *pb) {
    const ranked *a = pa, *b = pb;
    if (a->v != b->v) return a->v < b->v ? -1 : 1;
    return a->i < b->i ? -1 : a->i > b->i;
}

// Ranks 1..n, ties get the average of the ranks they span. Returns false on OOM.
static bool average_ranks(const double *x, size_t n, double *rank) {
    ranked *r = tp_malloc((n ? n : 1) * sizeof *r);
    if (!r) return false;
    for (size_t i = 0; i < n; i++) r[i] = (ranked){x[i], i};
    qsort(r, n, sizeof *r, cmp_ranked);
    for (size_t a = 0; a < n;) {
        size_t b = a;
        while (b + 1 < n && r[b + 1].v == r[a].v) b++;
        double avg = (double)(a + b) / 2.0 + 1.0;
        for (size_t q = a; q <= b; q++) rank[r[q].i] = avg;
        a = b + 1;
    }
    tp_free(r);
    return true;
}

double tp_spearman(const double *x, const double *y, size_t n) {
    if (n < 2) return NAN;
    double *rx = tp_malloc(n * sizeof *rx), *ry = tp_malloc(n * sizeof *ry);
    double rho = NAN;
    if (!rx || !ry || !average_ranks(x, n, rx) || !average_ranks(y, n, ry)) goto done;
    // Pearson correlation of the ranks (the tie-correct form of Spearman's rho).
    double mean = (double)(n + 1) / 2.0, sxy = 0, sxx = 0, syy = 0;
    for (size_t i = 0; i < n; i++) {
        double a = rx[i] - mean, b = ry[i] - mean;
        sxy += a * b;
        sxx += a * a;
        syy += b * b;
    }
    if (sxx > 0 && syy > 0) rho = sxy / sqrt(sxx * syy);
done:
    tp_free(rx);
    tp_free(ry);
    return rho;
}

void tp_eval_clear(tp_eval *e) {
    tp_free(e->method);
    tp_free(e->worst_campaign);
    memset(e, 0, sizeof *e);
}

typedef struct named {
    const char *name;
    double share;
    int side; /* 0 = credit, 1 = truth */
} named;

static int cmp_named(const void *pa, const void *pb) {
    const named *a = pa, *b = pb;
    int c = strcmp(a->name, b->name);
    return c ? c : a->side - b->side;
}

tp_status tp_eval_shares(const char *method, const char *const *names, const double *share,
                         size_t n, const tp_truth *truth, tp_eval *out) {
    memset(out, 0, sizeof *out);
    size_t m = n + truth->n;
    named *all = tp_malloc((m ? m : 1) * sizeof *all);
    double *x = tp_calloc(m ? m : 1, sizeof *x), *y = tp_calloc(m ? m : 1, sizeof *y);
    const char **uname = tp_malloc((m ? m : 1) * sizeof *uname);
    tp_status rc = TP_OK;
    if (!all || !x || !y || !uname) {
        rc = tp_fail(TP_ERR_NOMEM, "out of memory evaluating '%s'", method);
        goto done;
    }
    for (size_t i = 0; i < n; i++) all[i] = (named){names[i], share[i], 0};
    for (size_t i = 0; i < truth->n; i++) all[n + i] = (named){truth->names[i], truth->true_share[i], 1};
    qsort(all, m, sizeof *all, cmp_named);
    // Merge by name into the union: x = method share, y = true share (missing = 0).
    size_t u = 0;
    for (size_t a = 0; a < m;) {
        size_t b = a;
        while (b < m && strcmp(all[b].name, all[a].name) == 0) b++;
        if (b - a > 2 || (b - a == 2 && all[a].side == all[a + 1].side)) {
            rc = tp_fail(TP_ERR_FORMAT, "%s: campaign '%s' appears twice",
                         all[a].side ? "truth" : method, all[a].name);
            goto done;
        }
        uname[u] = all[a].name;
        for (size_t q = a; q < b; q++) (all[q].side ? y : x)[u] = all[q].share;
        u++;
        a = b;
    }
    double tvd = 0, worst = -1;
    size_t wi = 0;
    for (size_t i = 0; i < u; i++) {
        double d = fabs(x[i] - y[i]);
        tvd += d;
        if (d > worst) { // strict: the first name wins ties (union is sorted by name)
            worst = d;
            wi = i;
        }
    }
    out->n_campaigns = u;
    out->tvd = tvd / 2;
    out->spearman = tp_spearman(x, y, u);
    out->method = tp_strdup(method);
    out->worst_campaign = tp_strdup(u ? uname[wi] : "");
    out->worst_share = u ? x[wi] : 0;
    out->worst_true_share = u ? y[wi] : 0;
    if (!out->method || !out->worst_campaign) {
        tp_eval_clear(out);
        rc = tp_fail(TP_ERR_NOMEM, "out of memory evaluating '%s'", method);
    }
done:
    tp_free(all);
    tp_free(x);
    tp_free(y);
    tp_free(uname);
    return rc;
}

// "dir/markov.parquet" -> "markov"
static char *method_from_path(const char *path) {
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    const char *dot = strchr(base, '.');
    size_t len = dot && dot != base ? (size_t)(dot - base) : strlen(base);
    char *s = tp_malloc(len + 1);
    if (s) {
        memcpy(s, base, len);
        s[len] = 0;
    }
    return s;
}

tp_status tp_eval_credit_file(const char *path, const tp_truth *truth, tp_eval *out) {
    const char *cols[2] = {"campaign_nm", "share"};
    tp_frame *f = NULL;
    char *method = method_from_path(path);
    const char **names = NULL;
    double *share = NULL;
    tp_status rc = TP_OK;
    memset(out, 0, sizeof *out);
    if (!method) return tp_fail(TP_ERR_NOMEM, "out of memory");
    rc = tp_table_read(path, cols, 2, &f);
    if (rc != TP_OK) goto done;
    tp_column *cn = NULL, *cs = NULL;
    if ((rc = tp_frame_require(f, "campaign_nm", path, &cn)) != TP_OK ||
        (rc = tp_frame_require(f, "share", path, &cs)) != TP_OK)
        goto done;
    size_t n = tp_frame_n_rows(f);
    names = tp_malloc((n ? n : 1) * sizeof *names);
    share = tp_malloc((n ? n : 1) * sizeof *share);
    if (!names || !share) {
        rc = tp_fail(TP_ERR_NOMEM, "out of memory reading '%s'", path);
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        if (tp_column_is_null(cn, i) || tp_column_is_null(cs, i)) {
            rc = tp_fail(TP_ERR_FORMAT, "'%s': null %s at row %zu", path,
                         tp_column_is_null(cn, i) ? "campaign_nm" : "share", i);
            goto done;
        }
        names[i] = tp_column_get_str(cn, i, NULL);
        share[i] = tp_column_get_f64(cs, i);
    }
    rc = tp_eval_shares(method, names, share, n, truth, out);
done:
    tp_frame_free(f);
    tp_free(method);
    tp_free(names);
    tp_free(share);
    return rc;
}

static json_t *num_or_null(double v) { return isfinite(v) ? json_real(v) : json_null(); }

tp_status tp_eval_write_json(const tp_eval *evals, size_t n, const char *truth_path,
                             const char *path) {
    json_t *root = json_object(), *arr = json_array();
    char *text = NULL;
    tp_status rc = TP_OK;
    if (!root || !arr) {
        json_decref(arr);
        rc = tp_fail(TP_ERR_NOMEM, "out of memory writing '%s'", path);
        goto done;
    }
    json_object_set_new(root, "truth", json_string(truth_path ? truth_path : ""));
    json_object_set_new(root, "methods", arr);
    for (size_t i = 0; i < n; i++) {
        const tp_eval *e = &evals[i];
        json_t *o = json_object();
        if (!o) {
            rc = tp_fail(TP_ERR_NOMEM, "out of memory writing '%s'", path);
            goto done;
        }
        json_object_set_new(o, "method", json_string(e->method));
        json_object_set_new(o, "campaigns", json_integer((json_int_t)e->n_campaigns));
        json_object_set_new(o, "tvd", num_or_null(e->tvd));
        json_object_set_new(o, "spearman", num_or_null(e->spearman));
        json_object_set_new(o, "worst_campaign", json_string(e->worst_campaign));
        json_object_set_new(o, "worst_share", num_or_null(e->worst_share));
        json_object_set_new(o, "worst_true_share", num_or_null(e->worst_true_share));
        json_array_append_new(arr, o);
    }
    text = json_dumps(root, JSON_INDENT(2) | JSON_REAL_PRECISION(17));
    if (!text) {
        rc = tp_fail(TP_ERR_NOMEM, "out of memory writing '%s'", path);
        goto done;
    }
    size_t len = strlen(text);
    text[len] = '\n'; // json_dumps output is NUL-terminated; write it with a final newline
    rc = tp_atomic_write(path, text, len + 1);
    text[len] = 0;
done:
    free(text);
    json_decref(root);
    return rc;
}

/* journey_history.c: `touchpoint journeys --history-features` (issue 7). Per journey, what was
 * known about its user strictly before the journey's first touch: earlier conversions and
 * journeys, their mean length, days since the user was first seen and the activity rate. These
 * are control variables for the counterfactual methods (docs/counterfactual.md). */
#include "touchpoint/journey_build.h"
#include "touchpoint/io.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

// n impressions of the input; per split file, journeys grouped by uid in journey_id order.

typedef struct touch {
    int64_t uid, ts;
} touch;

static int cmp_touch(const void *a, const void *b) {
    const touch *x = a, *y = b;
    if (x->uid != y->uid) return x->uid < y->uid ? -1 : 1;
    return (x->ts > y->ts) - (x->ts < y->ts);
}

// Journey rows of one split, ordered by (uid, journey_id).
static const tp_journeys *g_j;
static int cmp_row(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    if (g_j->uid[x] != g_j->uid[y]) return g_j->uid[x] < g_j->uid[y] ? -1 : 1;
    return (g_j->journey_id[x] > g_j->journey_id[y]) - (g_j->journey_id[x] < g_j->journey_id[y]);
}

// The touches of the impressions (event rows, with a null campaign, are not touches).
static tp_status read_touches(const char *path, touch **out, size_t *n_out) {
    static const char *const cols[] = {"uid", "timestamp", "campaign"};
    tp_frame *f = NULL;
    touch *t = NULL;
    tp_status rc = tp_table_read(path, cols, 3, &f);
    if (rc != TP_OK) return rc;
    tp_column *cu = tp_frame_find(f, "uid"), *ct = tp_frame_find(f, "timestamp"), *cc = tp_frame_find(f, "campaign");
    size_t n = tp_frame_n_rows(f);
    if (!cu || !ct) {
        rc = tp_fail(TP_ERR_NOTFOUND, "%s: no column %s", path, cu ? "timestamp" : "uid");
        goto done;
    }
    if (tp_column_type(cu) != TP_DTYPE_I64 ||
        (tp_column_type(ct) != TP_DTYPE_I64 && tp_column_type(ct) != TP_DTYPE_TIMESTAMP)) {
        rc = tp_fail(TP_ERR_FORMAT, "%s: history features want int64 uid and int64/TIMESTAMP timestamp", path);
        goto done;
    }
    int64_t div = 1;
    if (tp_column_type(ct) == TP_DTYPE_TIMESTAMP) {
        tp_time_unit u = tp_column_unit(ct);
        div = u == TP_UNIT_MILLIS ? 1000 : u == TP_UNIT_MICROS ? 1000000 : u == TP_UNIT_NANOS ? 1000000000 : 1;
    }
    if (!(t = tp_malloc((n ? n : 1) * sizeof *t))) {
        rc = tp_fail(TP_ERR_NOMEM, "out of memory for %zu impressions", n);
        goto done;
    }
    const int64_t *u = TP_CCOL(cu, int64_t), *s = TP_CCOL(ct, int64_t);
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (tp_column_is_null(cu, i) || tp_column_is_null(ct, i)) {
            rc = tp_fail(TP_ERR_FORMAT, "%s: null uid or timestamp at row %zu", path, i);
            goto done;
        }
        if (cc && tp_column_is_null(cc, i)) continue;
        t[m++] = (touch){u[i], s[i] / div};
    }
    qsort(t, m, sizeof *t, cmp_touch);
    *out = t, *n_out = m;
    t = NULL;
done:
    tp_free(t);
    tp_frame_free(f);
    return rc;
}

static tp_status add_col(tp_frame *f, const char *name, const double *v, size_t n) {
    tp_column *c = NULL;
    tp_column *old = tp_frame_find(f, name);
    if (old) return tp_fail(TP_ERR_ARG, "the journeys already have a column %s", name);
    tp_status rc = tp_column_new(name, TP_DTYPE_F64, n, &c);
    if (rc == TP_OK) rc = tp_column_resize(c, n);
    if (rc == TP_OK) {
        memcpy(TP_COL(c, double), v, n * sizeof(double));
        rc = tp_frame_add_take(f, c);
        c = NULL;
    }
    tp_column_free(c);
    return rc;
}

#define N_HIST 5
static const char *const hist_names[N_HIST] = {"hist_prev_conversions", "hist_prev_journeys", "hist_prev_mean_length",
                                               "hist_days_since_first_seen", "hist_activity_rate"};

static tp_status one_split(const char *path, const touch *t, size_t nt) {
    tp_frame *f = NULL;
    tp_journeys *j = NULL;
    uint32_t *ord = NULL;
    double *h = NULL;
    tp_status rc = tp_table_read(path, NULL, 0, &f);
    if (rc != TP_OK) return rc;
    if ((rc = tp_journeys_from_frame(f, path, &j)) != TP_OK) goto done;
    size_t n = j->n;
    ord = tp_malloc((n ? n : 1) * sizeof *ord);
    h = tp_calloc((n ? n : 1) * N_HIST, sizeof *h);
    if (!ord || !h) {
        rc = tp_fail(TP_ERR_NOMEM, "out of memory for %zu journeys", n);
        goto done;
    }
    for (size_t i = 0; i < n; i++) ord[i] = (uint32_t)i;
    g_j = j;
    qsort(ord, n, sizeof *ord, cmp_row);
    for (size_t a = 0; a < n;) {
        size_t b = a;
        int64_t uid = j->uid[ord[a]];
        while (b < n && j->uid[ord[b]] == uid) b++;
        // the user's impressions
        size_t lo = 0, hi = nt;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (t[mid].uid < uid) lo = mid + 1;
            else hi = mid;
        }
        size_t s0 = lo, pos = lo, e0 = lo;
        while (e0 < nt && t[e0].uid == uid) e0++;
        double conv = 0, journeys = 0, lensum = 0;
        for (size_t q = a; q < b; q++) {
            size_t i = ord[q], len = (size_t)j->length[i], kept = j->off[i + 1] - j->off[i];
            // journeys of a user partition its touches in time order (cut at conversions); the
            // kept touches' gaps must match (the end may be a later event row)
            const int64_t *se = j->seconds_to_end + j->off[i];
            if (pos + len > e0 ||
                (kept && t[pos + len - 1].ts - t[pos + len - kept].ts != se[0] - se[kept - 1])) {
                rc = tp_fail(TP_ERR_FORMAT,
                             "%s: journey_id %lld of uid %lld does not match the impressions (history features "
                             "need journeys cut at conversions, without --dedupe, --lookback or conversion_id)",
                             path, (long long)j->journey_id[i], (long long)uid);
                goto done;
            }
            // a journey without a touch (ended by an event row) starts, as far as the touches
            // tell, after the user's last touch before it
            double days = 0.0;
            if (len || pos > s0) days = (double)(t[len ? pos : pos - 1].ts - t[s0].ts) / 86400.0;
            double *r = h + i * N_HIST;
            r[0] = conv;
            r[1] = journeys;
            r[2] = journeys > 0 ? lensum / journeys : 0.0;
            r[3] = days;
            r[4] = (double)(pos - s0) / (days > 1.0 ? days : 1.0);
            conv += j->converted[i] != 0;
            journeys += 1;
            lensum += (double)len;
            pos += len;
        }
        a = b;
    }
    double *col = tp_malloc((n ? n : 1) * sizeof *col);
    if (!col) {
        rc = tp_fail(TP_ERR_NOMEM, "out of memory");
        goto done;
    }
    for (int k = 0; k < N_HIST && rc == TP_OK; k++) {
        for (size_t i = 0; i < n; i++) col[i] = h[i * N_HIST + k];
        rc = add_col(f, hist_names[k], col, n);
    }
    tp_free(col);
    if (rc == TP_OK) rc = tp_table_write(f, path, NULL);
done:
    tp_frame_free(f);
    tp_journeys_free(j);
    tp_free(ord);
    tp_free(h);
    return rc;
}

tp_status tp_journeys_add_history(const char *impressions, const char *dir) {
    touch *t = NULL;
    size_t nt = 0, pl = strlen(dir) + 32, done_files = 0;
    char *p = tp_malloc(pl);
    if (!p) return tp_fail(TP_ERR_NOMEM, "out of memory");
    tp_status rc = read_touches(impressions, &t, &nt);
    static const char *const names[] = {"train", "val", "test", "all"};
    for (int k = 0; rc == TP_OK && k < 4; k++) {
        struct stat st;
        snprintf(p, pl, "%s/%s.parquet", dir, names[k]);
        if (stat(p, &st) != 0) continue;
        rc = one_split(p, t, nt);
        done_files++;
    }
    if (rc == TP_OK && !done_files) rc = tp_fail(TP_ERR_NOTFOUND, "'%s' holds no journeys files", dir);
    tp_free(t);
    tp_free(p);
    return rc;
}

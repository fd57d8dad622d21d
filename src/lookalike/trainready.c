/* trainready.c: Blue Marlin's train-ready table (issue #6 §1): per user, per interval, per
 * keyword the show and click counts, intervals newest first, users with at least
 * min_active_intervals intervals; plus the loader and history helper training and scoring use. */
#include "lal_impl.h"

#include <string.h>

tp_status lal_write_trainready(const tp_lookalike_config *c, lal_aggs *aggs, const tp_frame *persona,
                               char *const *keywords, int n_keywords, tp_lookalike_prep_stats *st) {
    const size_t n = aggs->n, n_users = tp_frame_n_rows(persona);
    tp_status rc = TP_OK;
    int64_t *k1 = tp_malloc((n ? n : 1) * sizeof(int64_t)), *k2 = tp_malloc((n ? n : 1) * sizeof(int64_t));
    uint32_t *perm = tp_malloc((n ? n : 1) * sizeof(uint32_t));
    int32_t *active = tp_calloc(n_users ? n_users : 1, sizeof(int32_t));
    tp_frame *tr = NULL, *us = NULL;
    tp_column *col[6] = {0}, *ucol[5] = {0};
    tp_column *pdid = tp_frame_col(persona, 0);
    tp_column *pg = tp_frame_find(persona, "gender"), *pa = tp_frame_find(persona, "age");
    if (!k1 || !k2 || !perm || !active) {
        rc = tp_fail(TP_ERR_NOMEM, "out of memory building train-ready data");
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        k1[i] = aggs->a[i].user;
        k2[i] = -aggs->a[i].interval * (int64_t)(n_keywords + 1) + aggs->a[i].keyword;
    }
    if ((rc = tp_radix_sort_pairs(k1, k2, n, perm))) goto done;
    // distinct intervals per user, and the number of distinct intervals overall
    int64_t *ivs = k1; // reuse as scratch for the global interval count
    size_t n_ivs = 0;
    for (size_t i = 0; i < n; i++) {
        const lal_agg *a = &aggs->a[perm[i]], *prev = i ? &aggs->a[perm[i - 1]] : NULL;
        if (!prev || prev->user != a->user || prev->interval != a->interval) active[a->user]++;
        ivs[n_ivs++] = a->interval;
    }
    if (n_ivs) {
        uint32_t *p2 = tp_malloc(n_ivs * sizeof(uint32_t));
        if (!p2 || (rc = tp_radix_sort_i64(ivs, n_ivs, p2))) {
            tp_free(p2);
            if (!rc) rc = tp_fail(TP_ERR_NOMEM, "out of memory");
            goto done;
        }
        st->intervals = 1;
        for (size_t i = 1; i < n_ivs; i++) st->intervals += ivs[p2[i]] != ivs[p2[i - 1]];
        tp_free(p2);
    }
    static const char *names[6] = {"did", "interval_starting_time", "keyword_index", "keyword",
                                   "show_counts", "click_counts"};
    static const tp_dtype types[6] = {TP_DTYPE_STR, TP_DTYPE_I64, TP_DTYPE_I32, TP_DTYPE_STR,
                                      TP_DTYPE_I64, TP_DTYPE_I64};
    for (int j = 0; j < 6; j++)
        if ((rc = tp_column_new(names[j], types[j], n, &col[j]))) goto done;
    for (size_t i = 0; i < n && !rc; i++) {
        const lal_agg *a = &aggs->a[perm[i]];
        if (active[a->user] < c->min_active_intervals) continue;
        size_t dl;
        const char *did = tp_column_get_str(pdid, (size_t)a->user, &dl);
        const char *kw = keywords[a->keyword];
        if (!(rc = tp_column_push_str(col[0], did, dl)) && !(rc = tp_column_push_i64(col[1], a->interval)) &&
            !(rc = tp_column_push_i32(col[2], a->keyword)) &&
            !(rc = tp_column_push_str(col[3], kw, strlen(kw))) && !(rc = tp_column_push_i64(col[4], a->shows)))
            rc = tp_column_push_i64(col[5], a->clicks);
        st->trainready_rows++;
    }
    if (rc || (rc = tp_frame_new(&tr))) goto done;
    for (int j = 0; j < 6; j++) {
        if ((rc = tp_frame_add_take(tr, col[j]))) goto done;
        col[j] = NULL;
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/trainready.parquet", c->out_dir);
    if ((rc = tp_pq_write_file(tr, path, NULL))) goto done;

    static const char *unames[5] = {"did", "did_bucket", "gender", "age", "active_intervals"};
    static const tp_dtype utypes[5] = {TP_DTYPE_STR, TP_DTYPE_I32, TP_DTYPE_I64, TP_DTYPE_I64, TP_DTYPE_I32};
    for (int j = 0; j < 5; j++)
        if ((rc = tp_column_new(unames[j], utypes[j], n_users, &ucol[j]))) goto done;
    for (size_t u = 0; u < n_users && !rc; u++) {
        if (active[u] > 0) st->users_in++;
        if (active[u] < c->min_active_intervals) continue;
        st->users_kept++;
        size_t dl;
        const char *did = tp_column_get_str(pdid, u, &dl);
        if (!(rc = tp_column_push_str(ucol[0], did, dl)) &&
            !(rc = tp_column_push_i32(ucol[1], tp_lookalike_did_bucket(did, dl, c->did_buckets))) &&
            !(rc = tp_column_push_i64(ucol[2], tp_column_get_i64(pg, u))) &&
            !(rc = tp_column_push_i64(ucol[3], tp_column_get_i64(pa, u))))
            rc = tp_column_push_i32(ucol[4], active[u]);
    }
    if (rc || (rc = tp_frame_new(&us))) goto done;
    for (int j = 0; j < 5; j++) {
        if ((rc = tp_frame_add_take(us, ucol[j]))) goto done;
        ucol[j] = NULL;
    }
    snprintf(path, sizeof path, "%s/users.parquet", c->out_dir);
    if ((rc = tp_pq_write_file(us, path, NULL))) goto done;
    tp_log(TP_LOG_INFO, "lookalike prepare: train-ready %zu aggregates in, %lld rows out; users %lld "
           "active, %lld kept (>= %d intervals)", n, (long long)st->trainready_rows,
           (long long)st->users_in, (long long)st->users_kept, c->min_active_intervals);
done:
    for (int j = 0; j < 6; j++) tp_column_free(col[j]);
    for (int j = 0; j < 5; j++) tp_column_free(ucol[j]);
    tp_frame_free(tr);
    tp_frame_free(us);
    tp_free(k1);
    tp_free(k2);
    tp_free(perm);
    tp_free(active);
    return rc;
}

// ---- loader ----

void lal_data_free(lal_data *d) {
    if (!d) return;
    for (int u = 0; d->dids && u < d->n_users; u++) tp_free(d->dids[u]);
    for (int k = 0; d->keywords && k < d->n_keywords; k++) tp_free(d->keywords[k]);
    tp_free(d->dids);
    tp_free(d->keywords);
    tp_free(d->row_off);
    tp_free(d->interval);
    tp_free(d->keyword);
    tp_free(d->shows);
    tp_free(d->clicks);
    tp_free(d);
}

tp_status lal_data_load(const char *out_dir, lal_data **out) {
    char path[4096];
    tp_frame *kf = NULL, *tf = NULL;
    lal_data *d = tp_calloc(1, sizeof *d);
    tp_status rc = TP_OK;
    if (!d) return tp_fail(TP_ERR_NOMEM, "out of memory");
    snprintf(path, sizeof path, "%s/keywords.parquet", out_dir);
    const char *kcols[] = {"keyword", "keyword_index"};
    if ((rc = tp_table_read(path, kcols, 2, &kf))) goto done;
    size_t nk = tp_frame_n_rows(kf);
    d->n_keywords = (int)nk;
    if (!(d->keywords = tp_calloc(nk ? nk : 1, sizeof(char *)))) {
        rc = tp_fail(TP_ERR_NOMEM, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < nk; i++) {
        int64_t ki = tp_column_get_i64(tp_frame_col(kf, 1), i);
        if (ki < 0 || ki >= (int64_t)nk || d->keywords[ki]) {
            rc = tp_fail(TP_ERR_FORMAT, "%s: row %zu: keyword_index %lld is not a permutation of 0..%zu",
                         path, i, (long long)ki, nk - 1);
            goto done;
        }
        if (!(d->keywords[ki] = tp_strdup(tp_column_get_str(tp_frame_col(kf, 0), i, NULL)))) {
            rc = tp_fail(TP_ERR_NOMEM, "out of memory");
            goto done;
        }
    }
    snprintf(path, sizeof path, "%s/trainready.parquet", out_dir);
    const char *tcols[] = {"did", "interval_starting_time", "keyword_index", "show_counts", "click_counts"};
    if ((rc = tp_table_read(path, tcols, 5, &tf))) goto done;
    size_t n = tp_frame_n_rows(tf);
    d->n_rows = n;
    d->interval = tp_malloc((n ? n : 1) * sizeof(int64_t));
    d->keyword = tp_malloc((n ? n : 1) * sizeof(int32_t));
    d->shows = tp_malloc((n ? n : 1) * sizeof(int32_t));
    d->clicks = tp_malloc((n ? n : 1) * sizeof(int32_t));
    d->row_off = tp_malloc((n + 2) * sizeof(int64_t));
    d->dids = tp_calloc(n + 1, sizeof(char *));
    if (!d->interval || !d->keyword || !d->shows || !d->clicks || !d->row_off || !d->dids) {
        rc = tp_fail(TP_ERR_NOMEM, "out of memory loading train-ready data");
        goto done;
    }
    tp_column *did = tp_frame_col(tf, 0);
    const char *prev = NULL;
    for (size_t i = 0; i < n; i++) {
        const char *s = tp_column_get_str(did, i, NULL);
        if (!prev || strcmp(prev, s) != 0) {
            if (prev && strcmp(prev, s) > 0) {
                rc = tp_fail(TP_ERR_FORMAT, "%s: row %zu: rows are not sorted by did", path, i);
                goto done;
            }
            d->row_off[d->n_users] = (int64_t)i;
            if (!(d->dids[d->n_users++] = tp_strdup(s))) {
                rc = tp_fail(TP_ERR_NOMEM, "out of memory");
                goto done;
            }
            prev = d->dids[d->n_users - 1];
        }
        d->interval[i] = tp_column_get_i64(tp_frame_col(tf, 1), i);
        int64_t k = tp_column_get_i64(tp_frame_col(tf, 2), i);
        if (k < 0 || k >= d->n_keywords) {
            rc = tp_fail(TP_ERR_FORMAT, "%s: column keyword_index, row %zu: %lld out of range 0..%d",
                         path, i, (long long)k, d->n_keywords - 1);
            goto done;
        }
        d->keyword[i] = (int32_t)k;
        d->shows[i] = (int32_t)tp_column_get_i64(tp_frame_col(tf, 3), i);
        d->clicks[i] = (int32_t)tp_column_get_i64(tp_frame_col(tf, 4), i);
    }
    d->row_off[d->n_users] = (int64_t)n;
    *out = d;
    d = NULL;
done:
    lal_data_free(d);
    tp_frame_free(kf);
    tp_frame_free(tf);
    return rc;
}

int lal_history(const lal_data *d, int u, int64_t t, int h_intervals, int max_len, int32_t *hist) {
    int n = 0, seen = 0;
    int64_t cur = INT64_MIN;
    for (int64_t r = d->row_off[u]; r < d->row_off[u + 1] && n < max_len; r++) {
        if (d->interval[r] >= t) continue; // strictly earlier intervals only
        if (d->interval[r] != cur) {
            if (seen == h_intervals) break;
            cur = d->interval[r];
            seen++;
        }
        if (d->clicks[r] > 0) hist[n++] = d->keyword[r];
    }
    return n;
}

/* journey_frame.c: the wide journeys layout (journey_id, uid, conversion_status, journey_length,
 * campaign_nm_at_index_i, seconds_to_end_at_index_i, optional conversion_value) parsed back into
 * the CSR tp_journeys the attribution methods work on. Every error names the source file, the
 * column and, for bad values, the row. */
#include "touchpoint/io.h"
#include "touchpoint/journeys.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static bool is_int(tp_dtype t) { return t == TP_DTYPE_I32 || t == TP_DTYPE_I64; }

static tp_status need_col(const tp_frame *f, const char *name, const char *src, bool (*ok)(tp_dtype),
                          const char *what, tp_column **out) {
    tp_status rc = tp_frame_require(f, name, src, out);
    if (rc != TP_OK) return rc;
    if (!ok(tp_column_type(*out)))
        return tp_fail(TP_ERR_FORMAT, "%s: column '%s' is %s, expected %s", src, name,
                       tp_dtype_name(tp_column_type(*out)), what);
    return TP_OK;
}
static bool ok_int(tp_dtype t) { return is_int(t); }
static bool ok_flag(tp_dtype t) { return t == TP_DTYPE_BOOL || is_int(t); }
static bool ok_num(tp_dtype t) {
    return is_int(t) || t == TP_DTYPE_F32 || t == TP_DTYPE_F64 || t == TP_DTYPE_BOOL;
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

tp_status tp_journeys_from_frame(const tp_frame *f, const char *source, tp_journeys **out) {
    const char *src = source ? source : "journeys";
    tp_column *cid, *cuid, *cst, *clen, *cval = NULL;
    tp_column **camp = NULL, **secs = NULL;
    tp_strdict *all = NULL;
    int32_t **maps = NULL;
    char **names = NULL;
    int32_t *rank = NULL;
    tp_journeys *j = NULL;
    size_t L = 0, n = tp_frame_n_rows(f);
    char name[64];
    tp_status rc;
    if ((rc = need_col(f, "journey_id", src, ok_int, "an integer", &cid)) != TP_OK) return rc;
    if ((rc = need_col(f, "uid", src, ok_int, "an integer", &cuid)) != TP_OK) return rc;
    if ((rc = need_col(f, "conversion_status", src, ok_flag, "bool or 0/1", &cst)) != TP_OK) return rc;
    if ((rc = need_col(f, "journey_length", src, ok_int, "an integer", &clen)) != TP_OK) return rc;
    if (tp_frame_find(f, "conversion_value") &&
        (rc = need_col(f, "conversion_value", src, ok_num, "a number", &cval)) != TP_OK)
        return rc;
    for (;;) {
        snprintf(name, sizeof name, "campaign_nm_at_index_%zu", L);
        if (!tp_frame_find(f, name)) break;
        L++;
    }
    if (L == 0)
        return tp_fail(TP_ERR_NOTFOUND, "%s: no column 'campaign_nm_at_index_0' (not a journeys file?)", src);
    camp = tp_calloc(L, sizeof *camp);
    secs = tp_calloc(L, sizeof *secs);
    maps = tp_calloc(L, sizeof *maps);
    if (!camp || !secs || !maps) {
        rc = tp_fail(TP_ERR_NOMEM, "out of memory");
        goto done;
    }
    for (size_t p = 0; p < L; p++) {
        snprintf(name, sizeof name, "campaign_nm_at_index_%zu", p);
        camp[p] = tp_frame_find(f, name);
        if (!tp_dtype_is_string(tp_column_type(camp[p]))) {
            rc = tp_fail(TP_ERR_FORMAT, "%s: column '%s' is %s, expected a string", src, name,
                         tp_dtype_name(tp_column_type(camp[p])));
            goto done;
        }
        snprintf(name, sizeof name, "seconds_to_end_at_index_%zu", p);
        if ((rc = need_col(f, name, src, ok_int, "an integer", &secs[p])) != TP_OK) goto done;
    }
    // Campaign names: the union of the strings that occur, sorted by byte order (the mapper).
    if ((rc = tp_strdict_new(&all)) != TP_OK) goto done;
    for (size_t p = 0; p < L; p++) {
        tp_strdict *d = tp_column_dict(camp[p]);
        size_t nd = tp_strdict_size(d);
        maps[p] = tp_malloc((nd ? nd : 1) * sizeof **maps);
        if (!maps[p]) {
            rc = tp_fail(TP_ERR_NOMEM, "out of memory");
            goto done;
        }
        for (size_t k = 0; k < nd; k++) maps[p][k] = -1;
        const int32_t *codes = TP_CCOL(camp[p], int32_t);
        for (size_t i = 0; i < n; i++) {
            if (tp_column_is_null(camp[p], i)) continue;
            int32_t c = codes[i];
            if (maps[p][c] >= 0) continue;
            size_t len;
            const char *s = tp_strdict_get(d, c, &len);
            if ((rc = tp_strdict_intern(all, s, len, &maps[p][c])) != TP_OK) goto done;
        }
    }
    size_t K = tp_strdict_size(all);
    names = tp_calloc(K ? K : 1, sizeof *names);
    rank = tp_malloc((K ? K : 1) * sizeof *rank);
    if (!names || !rank) {
        rc = tp_fail(TP_ERR_NOMEM, "out of memory");
        goto done;
    }
    for (size_t k = 0; k < K; k++) names[k] = (char *)tp_strdict_get(all, (int32_t)k, NULL);
    qsort(names, K, sizeof *names, cmp_str);
    for (size_t k = 0; k < K; k++) rank[tp_strdict_find(all, names[k], strlen(names[k]))] = (int32_t)k;
    // Count touches and check that each journey's touches are a prefix of the index columns.
    size_t T = 0;
    for (size_t i = 0; i < n; i++) {
        size_t len = 0;
        for (size_t p = 0; p < L; p++) {
            bool present = !tp_column_is_null(camp[p], i);
            if (present && len != p) {
                rc = tp_fail(TP_ERR_FORMAT, "%s: column '%s' has a value at row %zu after a null index",
                             src, tp_column_name(camp[p]), i);
                goto done;
            }
            if (present) {
                len++;
                if (tp_column_is_null(secs[p], i)) {
                    rc = tp_fail(TP_ERR_FORMAT, "%s: column '%s' is null at row %zu where the campaign is set",
                                 src, tp_column_name(secs[p]), i);
                    goto done;
                }
            }
        }
        T += len;
    }
    if ((rc = tp_journeys_alloc(n, T, K, cval != NULL, &j)) != TP_OK) goto done;
    j->max_len = L;
    for (size_t k = 0; k < K; k++)
        if (!(j->campaigns[k] = tp_strdup(names[k]))) {
            rc = tp_fail(TP_ERR_NOMEM, "out of memory");
            goto done;
        }
    size_t t = 0;
    for (size_t i = 0; i < n; i++) {
        const char *bad = tp_column_is_null(cid, i) ? "journey_id"
                          : tp_column_is_null(cuid, i) ? "uid"
                          : tp_column_is_null(cst, i)  ? "conversion_status"
                          : tp_column_is_null(clen, i) ? "journey_length"
                                                       : NULL;
        if (bad) {
            rc = tp_fail(TP_ERR_FORMAT, "%s: column '%s' is null at row %zu", src, bad, i);
            goto done;
        }
        j->journey_id[i] = tp_column_get_i64(cid, i);
        j->uid[i] = tp_column_get_i64(cuid, i);
        j->converted[i] = tp_column_get_i64(cst, i) != 0;
        int64_t len = tp_column_get_i64(clen, i);
        j->off[i] = t;
        for (size_t p = 0; p < L && !tp_column_is_null(camp[p], i); p++, t++) {
            j->campaign[t] = rank[maps[p][TP_CCOL(camp[p], int32_t)[i]]];
            j->seconds_to_end[t] = tp_column_get_i64(secs[p], i);
        }
        if (len < (int64_t)(t - j->off[i]) || len > INT32_MAX) {
            rc = tp_fail(TP_ERR_FORMAT, "%s: column 'journey_length' is %lld at row %zu but the row holds %zu touches",
                         src, (long long)len, i, (size_t)(t - j->off[i]));
            goto done;
        }
        j->length[i] = (int32_t)len;
        if (cval) j->value[i] = tp_column_is_null(cval, i) ? 0.0 : tp_column_get_f64(cval, i);
    }
    j->off[n] = t;
    *out = j;
    j = NULL;
done:
    tp_journeys_free(j);
    for (size_t p = 0; maps && p < L; p++) tp_free(maps[p]);
    tp_free(maps);
    tp_free(camp);
    tp_free(secs);
    tp_free(names);
    tp_free(rank);
    tp_strdict_unref(all);
    return rc;
}

static bool is_file(const char *p) {
    struct stat st;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

tp_status tp_journeys_read_frame(const char *path, tp_frame **out, char **source) {
    struct stat st;
    tp_frame *all = NULL, *part = NULL;
    char *p = NULL;
    tp_status rc = TP_OK;
    if (stat(path, &st) != 0) return tp_fail(TP_ERR_IO, "cannot open '%s': no such file or folder", path);
    size_t n = strlen(path) + 32;
    if (!(p = tp_malloc(n))) return tp_fail(TP_ERR_NOMEM, "out of memory");
    if (!S_ISDIR(st.st_mode)) {
        snprintf(p, n, "%s", path);
        rc = tp_table_read(path, NULL, 0, &all);
        goto done;
    }
    // A journeys folder: all.parquet, else train/val/test.parquet concatenated in that order.
    static const char *const files[] = {"all.parquet", "train.parquet", "val.parquet", "test.parquet"};
    snprintf(p, n, "%s/%s", path, files[0]);
    if (is_file(p)) {
        rc = tp_table_read(p, NULL, 0, &all);
        goto done;
    }
    for (size_t i = 1; i < 4; i++) {
        snprintf(p, n, "%s/%s", path, files[i]);
        if (!is_file(p)) continue;
        if ((rc = tp_table_read(p, NULL, 0, &part)) != TP_OK) goto done;
        if (!all) {
            all = part;
        } else if ((rc = tp_frame_append(all, part)) != TP_OK) {
            rc = tp_fail_context(rc, "appending '%s'", p);
            goto done;
        } else {
            tp_frame_free(part);
        }
        part = NULL;
    }
    if (!all) {
        rc = tp_fail(TP_ERR_NOTFOUND, "'%s' holds no all.parquet or train/val/test.parquet", path);
        goto done;
    }
    snprintf(p, n, "%s", path);
done:
    tp_frame_free(part);
    if (rc == TP_OK) {
        *out = all;
        if (source) {
            *source = p;
            p = NULL;
        }
    } else {
        tp_frame_free(all);
    }
    tp_free(p);
    return rc;
}

tp_status tp_journeys_read(const char *path, tp_journeys **out) {
    tp_frame *f;
    char *source;
    tp_status rc = tp_journeys_read_frame(path, &f, &source);
    if (rc != TP_OK) return rc;
    rc = tp_journeys_from_frame(f, source, out);
    tp_frame_free(f);
    tp_free(source);
    return rc;
}

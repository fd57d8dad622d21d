/* prepare.c: Blue Marlin's log preparation (issue #6 §1): clean persona, clean show/click logs
 * (slot filter, persona and keyword joins, day), keyword share threshold and keyword_index, and
 * unification (is_click, action_time_seconds, interval_starting_time, did_bucket) written to Hive
 * folders logs/day=/did_bucket=. Logs are streamed one row group at a time, in time batches
 * aligned to intervals, so memory is bounded by one batch; aggregates go to trainready.c. */
#include "lal_impl.h"

#include <errno.h>
#include <ftw.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

// ---- small pure helpers (public for tests) ----

int64_t tp_lookalike_interval_start(int64_t t, int64_t I) {
    int64_t r = t % I;
    if (r < 0) r += I;
    return t - r;
}

int tp_lookalike_did_bucket(const char *did, size_t len, int n) {
    return (int)(tp_hash_bytes(did, len, 0) % (uint64_t)n);
}

static int digits(const char *s, int n, int *out) {
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return 0;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 1;
}

tp_status tp_lookalike_parse_time(const char *s, size_t len, int64_t *out) {
    int y, mo, d, h = 0, mi = 0, se = 0;
    bool ok = len >= 10 && digits(s, 4, &y) && s[4] == '-' && digits(s + 5, 2, &mo) && s[7] == '-' &&
              digits(s + 8, 2, &d);
    if (ok && len > 10)
        ok = len >= 19 && (s[10] == ' ' || s[10] == 'T') && digits(s + 11, 2, &h) && s[13] == ':' &&
             digits(s + 14, 2, &mi) && s[16] == ':' && digits(s + 17, 2, &se);
    if (ok && len > 19) {
        ok = s[19] == '.' && len > 20;
        for (size_t i = 20; ok && i < len; i++) ok = s[i] >= '0' && s[i] <= '9';
    }
    if (!ok || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60)
        return tp_fail(TP_ERR_FORMAT, "bad action_time '%.*s' (want YYYY-MM-DD HH:MM:SS.fff)",
                       (int)(len > 40 ? 40 : len), s);
    *out = tp_civil_to_days(y, mo, d) * 86400 + h * 3600 + mi * 60 + se;
    return TP_OK;
}

/* The value of any column at row as text (borrowed str or buf). */
static const char *text_of(const tp_column *c, size_t row, char *buf, size_t *len) {
    const char *s = NULL;
    size_t n = tp_column_format(c, row, buf, &s, len);
    if (s) return s;
    *len = n;
    buf[n] = 0;
    return buf;
}

// ---- persona ----

typedef struct sidx {
    const char *s;
    uint32_t i;
} sidx;
static int cmp_sidx(const void *a, const void *b) {
    const sidx *x = a, *y = b;
    int c = strcmp(x->s, y->s);
    return c ? c : (x->i > y->i) - (x->i < y->i);
}

tp_status tp_lookalike_clean_persona(const tp_frame *persona, tp_frame **out, int64_t *n_conflicting) {
    tp_column *did, *gender, *age;
    tp_status rc;
    if ((rc = tp_frame_require(persona, "did", "persona", &did)) ||
        (rc = tp_frame_require(persona, "gender", "persona", &gender)) ||
        (rc = tp_frame_require(persona, "age", "persona", &age)))
        return rc;
    size_t n = tp_frame_n_rows(persona);
    sidx *s = tp_malloc((n ? n : 1) * sizeof *s);
    uint32_t *keep = tp_malloc((n ? n : 1) * sizeof *keep);
    char **str = tp_calloc(n ? n : 1, sizeof *str);
    size_t nk = 0;
    int64_t conflicts = 0;
    if (!s || !keep || !str) {
        rc = tp_fail(TP_ERR_NOMEM, "out of memory cleaning persona");
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        char buf[48];
        size_t len;
        if (tp_column_is_null(did, i)) {
            rc = tp_fail(TP_ERR_FORMAT, "persona: column did, row %zu: null did", i);
            goto done;
        }
        const char *t = text_of(did, i, buf, &len);
        if (!(str[i] = tp_strdup(t))) {
            rc = tp_fail(TP_ERR_NOMEM, "out of memory cleaning persona");
            goto done;
        }
        s[i].s = str[i];
        s[i].i = (uint32_t)i;
    }
    qsort(s, n, sizeof *s, cmp_sidx); // by did, then row: the first row of a did is kept
    for (size_t i = 0; i < n;) {
        size_t j = i + 1;
        bool conflict = false;
        int64_t g0 = tp_column_get_i64(gender, s[i].i), a0 = tp_column_get_i64(age, s[i].i);
        bool gn0 = tp_column_is_null(gender, s[i].i), an0 = tp_column_is_null(age, s[i].i);
        for (; j < n && !strcmp(s[j].s, s[i].s); j++) {
            if (tp_column_get_i64(gender, s[j].i) != g0 || tp_column_get_i64(age, s[j].i) != a0 ||
                tp_column_is_null(gender, s[j].i) != gn0 || tp_column_is_null(age, s[j].i) != an0)
                conflict = true;
        }
        if (conflict)
            conflicts++;
        else
            keep[nk++] = s[i].i;
        i = j;
    }
    tp_frame *p = NULL;
    const char *names[] = {"did", "gender", "age"};
    tp_frame *proj = NULL;
    if ((rc = tp_frame_project(persona, names, 3, &proj))) goto done;
    rc = tp_frame_take(proj, keep, nk, &p);
    tp_frame_free(proj);
    if (rc) goto done;
    *out = p;
    if (n_conflicting) *n_conflicting = conflicts;
done:
    if (str)
        for (size_t i = 0; i < n; i++) tp_free(str[i]);
    tp_free(str);
    tp_free(s);
    tp_free(keep);
    return rc;
}

// ---- log batches ----

/* Lookups shared by both passes. */
typedef struct prep {
    const tp_lookalike_config *c;
    tp_strdict *dids;        /* clean persona dids: code = user index */
    tp_strdict *apps;        /* spread_app_id text -> code */
    int32_t *app_kw;         /* app code -> keyword id (raw, before the threshold) */
    tp_strdict *kw_raw;      /* keyword names before the threshold */
    int32_t *raw_to_index;   /* raw keyword id -> keyword_index or -1 */
    int64_t *kw_shows;       /* raw keyword id -> impressions */
    tp_strdict *slots;       /* NULL = every slot */
    const tp_column *gender, *age; /* clean persona */
    tp_lookalike_prep_stats *st;
    char logs_tmp[4096];     /* OUT/.logs.tmp-<pid>: renamed to OUT/logs when everything worked */
} prep;

/* One log row resolved against the lookups; returns false if the row is filtered out. */
typedef struct logrow {
    int32_t user, kw_raw;
    int64_t t;
} logrow;

typedef struct logcols {
    tp_column *did, *slot, *app, *time;
} logcols;

static tp_status find_cols(const tp_frame *f, const char *src, logcols *lc) {
    tp_status rc;
    if ((rc = tp_frame_require(f, "did", src, &lc->did)) ||
        (rc = tp_frame_require(f, "slot_id", src, &lc->slot)) ||
        (rc = tp_frame_require(f, "spread_app_id", src, &lc->app)) ||
        (rc = tp_frame_require(f, "action_time", src, &lc->time)))
        return rc;
    return TP_OK;
}

/* Resolve row i: time first (a malformed time is an error on any row), then the time window
 * [lo, hi), the slot filter and the persona and keyword joins. *keep says whether it survived. */
static tp_status resolve(const prep *p, const logcols *lc, size_t i, const char *src, int64_t lo,
                         int64_t hi, logrow *r, bool *keep) {
    char buf[64];
    size_t len;
    *keep = false;
    if (tp_column_is_null(lc->did, i) || tp_column_is_null(lc->app, i) || tp_column_is_null(lc->time, i))
        return TP_OK;
    int64_t t;
    tp_dtype ty = tp_column_type(lc->time);
    if (ty == TP_DTYPE_TIMESTAMP) {
        static const int64_t div[] = {1, 1000, 1000000, 1000000000};
        int64_t v = tp_column_get_i64(lc->time, i), q = div[tp_column_unit(lc->time)];
        t = v / q - (v % q < 0);
    } else if (ty == TP_DTYPE_I64 || ty == TP_DTYPE_I32) {
        t = tp_column_get_i64(lc->time, i);
    } else if (tp_dtype_is_string(ty)) {
        const char *s = tp_column_get_str(lc->time, i, &len);
        tp_status rc = tp_lookalike_parse_time(s, len, &t);
        if (rc) return tp_fail_context(rc, "%s: column action_time, row %zu", src, i);
    } else {
        return tp_fail(TP_ERR_FORMAT, "%s: column action_time must be a string or a timestamp", src);
    }
    if (t < lo || t >= hi) return TP_OK;
    if (p->slots) {
        if (tp_column_is_null(lc->slot, i)) return TP_OK;
        const char *s = text_of(lc->slot, i, buf, &len);
        if (tp_strdict_find(p->slots, s, len) < 0) return TP_OK;
    }
    const char *d = text_of(lc->did, i, buf, &len);
    int32_t u = tp_strdict_find(p->dids, d, len);
    if (u < 0) return TP_OK;
    const char *a = text_of(lc->app, i, buf, &len);
    int32_t ac = tp_strdict_find(p->apps, a, len);
    if (ac < 0) return TP_OK;
    r->user = u;
    r->kw_raw = p->app_kw[ac];
    r->t = t;
    *keep = true;
    return TP_OK;
}

/* Pass 1: keyword impressions (shows), time range, input counts. */
static tp_status pass_count(prep *p, const char *path, bool is_click, int64_t *tmin, int64_t *tmax) {
    tp_scan *s = NULL;
    tp_frame *b = NULL;
    const char *src = is_click ? "click log" : "show log";
    tp_status rc = tp_scan_open(path, NULL, 0, &s);
    while (!rc && !(rc = tp_scan_next(s, &b)) && b) {
        logcols lc;
        if ((rc = find_cols(b, path, &lc))) break;
        size_t n = tp_frame_n_rows(b);
        for (size_t i = 0; i < n && !rc; i++) {
            logrow r;
            bool keep;
            if ((rc = resolve(p, &lc, i, src, INT64_MIN, INT64_MAX, &r, &keep)) || !keep) continue;
            if (!is_click) p->kw_shows[r.kw_raw]++;
            if (r.t < *tmin) *tmin = r.t;
            if (r.t > *tmax) *tmax = r.t;
            p->st->logs_joined++;
        }
        if (is_click) p->st->clicks_in += (int64_t)n; else p->st->shows_in += (int64_t)n;
        tp_frame_free(b);
        b = NULL;
    }
    tp_frame_free(b);
    tp_scan_close(s);
    return rc;
}

/* The unified rows of one batch, columns in output order. */
enum { U_DID, U_IS_CLICK, U_TIME, U_SECONDS, U_INTERVAL, U_KEYWORD, U_KWI, U_GENDER, U_AGE,
       U_ADV, U_MEDIA, U_SLOT, U_APP, U_DEVICE, U_NET, U_PRICE, U_N };
static const char *UNAMES[U_N] = {"did", "is_click", "action_time", "action_time_seconds",
                                  "interval_starting_time", "keyword", "keyword_index", "gender",
                                  "age", "adv_id", "media", "slot_id", "spread_app_id",
                                  "device_name", "net_type", "price_model"};
static const tp_dtype UTYPES[U_N] = {TP_DTYPE_STR, TP_DTYPE_I32, TP_DTYPE_STR, TP_DTYPE_I64,
                                     TP_DTYPE_I64, TP_DTYPE_STR, TP_DTYPE_I32, TP_DTYPE_I64,
                                     TP_DTYPE_I64, TP_DTYPE_STR, TP_DTYPE_STR, TP_DTYPE_STR,
                                     TP_DTYPE_STR, TP_DTYPE_STR, TP_DTYPE_STR, TP_DTYPE_STR};

typedef struct batch {
    tp_column *col[U_N];
    int64_t *day;       /* per row: day number */
    int32_t *bucket;
    int32_t *user;      /* per row: user index */
    size_t n, cap;
} batch;

static tp_status batch_reset(batch *bt) {
    for (int j = 0; j < U_N; j++) {
        tp_column_free(bt->col[j]);
        bt->col[j] = NULL;
        tp_status rc = tp_column_new(UNAMES[j], UTYPES[j], 1024, &bt->col[j]);
        if (rc) return rc;
    }
    bt->n = 0;
    return TP_OK;
}

static tp_status push_text(tp_column *dst, const tp_frame *f, const char *name, size_t i) {
    tp_column *c = tp_frame_find(f, name);
    if (!c || tp_column_is_null(c, i)) return tp_column_push_null(dst);
    char buf[64];
    size_t len;
    const char *s = text_of(c, i, buf, &len);
    return tp_column_push_str(dst, s, len);
}

/* Pass 2 for one batch [t0, t1): unify shows and clicks, aggregate, write partitions. */
static tp_status run_batch(prep *p, int64_t t0, int64_t t1, int batch_no, batch *bt, lal_aggs *aggs,
                           char *const *kw_names) {
    const tp_lookalike_config *c = p->c;
    tp_status rc = batch_reset(bt);
    size_t agg0 = aggs->n;
    for (int pass = 0; pass < 2 && !rc; pass++) {
        const char *path = pass ? c->clicks : c->shows;
        const char *src = pass ? "click log" : "show log";
        tp_scan *s = NULL;
        tp_frame *b = NULL;
        rc = tp_scan_open(path, NULL, 0, &s);
        while (!rc && !(rc = tp_scan_next(s, &b)) && b) {
            logcols lc;
            if ((rc = find_cols(b, path, &lc))) break;
            size_t n = tp_frame_n_rows(b);
            for (size_t i = 0; i < n && !rc; i++) {
                logrow r;
                bool keep;
                if ((rc = resolve(p, &lc, i, src, t0, t1, &r, &keep)) || !keep) continue;
                int32_t kwi = p->raw_to_index[r.kw_raw];
                if (kwi < 0) continue;
                if ((rc = tp_grow((void **)&bt->day, &bt->cap, bt->n + 1, sizeof(int64_t)))) break;
                size_t cap2 = bt->cap;
                int32_t *nb = tp_realloc(bt->bucket, cap2 * sizeof(int32_t));
                if (nb) bt->bucket = nb;
                int32_t *nu = nb ? tp_realloc(bt->user, cap2 * sizeof(int32_t)) : NULL;
                if (nu) bt->user = nu;
                if (!nb || !nu) {
                    rc = tp_fail(TP_ERR_NOMEM, "out of memory unifying logs");
                    break;
                }
                size_t dl;
                const char *did = tp_strdict_get(p->dids, r.user, &dl);
                int64_t iv = tp_lookalike_interval_start(r.t, c->interval_seconds);
                bt->day[bt->n] = tp_lookalike_interval_start(r.t, 86400) / 86400;
                bt->bucket[bt->n] = tp_lookalike_did_bucket(did, dl, c->did_buckets);
                bt->user[bt->n] = r.user;
                size_t kl;
                const char *kw = kw_names[kwi];
                kl = strlen(kw);
                char tb[64];
                size_t tl;
                const char *ts = text_of(lc.time, i, tb, &tl);
                if ((rc = tp_column_push_str(bt->col[U_DID], did, dl)) ||
                    (rc = tp_column_push_i32(bt->col[U_IS_CLICK], pass)) ||
                    (rc = tp_column_push_str(bt->col[U_TIME], ts, tl)) ||
                    (rc = tp_column_push_i64(bt->col[U_SECONDS], r.t)) ||
                    (rc = tp_column_push_i64(bt->col[U_INTERVAL], iv)) ||
                    (rc = tp_column_push_str(bt->col[U_KEYWORD], kw, kl)) ||
                    (rc = tp_column_push_i32(bt->col[U_KWI], kwi)) ||
                    (rc = tp_column_push_i64(bt->col[U_GENDER], tp_column_get_i64(p->gender, r.user))) ||
                    (rc = tp_column_push_i64(bt->col[U_AGE], tp_column_get_i64(p->age, r.user))))
                    break;
                for (int j = U_ADV; j < U_N && !rc; j++) rc = push_text(bt->col[j], b, UNAMES[j], i);
                if (rc) break;
                // aggregate: one entry per row for now, merged after the batch
                if ((rc = tp_grow((void **)&aggs->a, &aggs->cap, aggs->n + 1, sizeof(lal_agg)))) break;
                aggs->a[aggs->n++] = (lal_agg){r.user, kwi, iv, pass ? 0 : 1, pass ? 1 : 0};
                bt->n++;
                p->st->unified_rows++;
                p->st->unified_clicks += pass;
            }
            tp_frame_free(b);
            b = NULL;
        }
        tp_frame_free(b);
        tp_scan_close(s);
    }
    if (rc) return rc;

    // merge this batch's aggregates: sort by (user, interval, keyword) and sum
    size_t m = aggs->n - agg0;
    if (m) {
        int64_t *k1 = tp_malloc(m * sizeof(int64_t)), *k2 = tp_malloc(m * sizeof(int64_t));
        uint32_t *perm = tp_malloc(m * sizeof(uint32_t));
        lal_agg *tmp = tp_malloc(m * sizeof(lal_agg));
        if (!k1 || !k2 || !perm || !tmp) rc = tp_fail(TP_ERR_NOMEM, "out of memory aggregating");
        const int64_t nkw = (int64_t)p->st->keywords_kept + 1;
        for (size_t i = 0; !rc && i < m; i++) {
            const lal_agg *a = &aggs->a[agg0 + i];
            k1[i] = a->user;
            k2[i] = ((a->interval - t0) / c->interval_seconds) * nkw + a->keyword;
        }
        if (!rc) rc = tp_radix_sort_pairs(k1, k2, m, perm);
        size_t w = 0;
        for (size_t i = 0; !rc && i < m; i++) {
            const lal_agg *a = &aggs->a[agg0 + perm[i]];
            if (w && tmp[w - 1].user == a->user && tmp[w - 1].interval == a->interval &&
                tmp[w - 1].keyword == a->keyword) {
                tmp[w - 1].shows += a->shows;
                tmp[w - 1].clicks += a->clicks;
            } else {
                tmp[w++] = *a;
            }
        }
        if (!rc) {
            memcpy(aggs->a + agg0, tmp, w * sizeof(lal_agg));
            aggs->n = agg0 + w;
        }
        tp_free(k1);
        tp_free(k2);
        tp_free(perm);
        tp_free(tmp);
        if (rc) return rc;
    }

    // write partitions day=/did_bucket= (rows ordered by did, then time within a file)
    if (bt->n == 0) return TP_OK;
    tp_frame *f = NULL, *part = NULL;
    uint32_t *perm = tp_malloc(bt->n * sizeof(uint32_t)), *perm2 = NULL;
    int64_t *k1 = tp_malloc(bt->n * sizeof(int64_t)), *k2 = tp_malloc(bt->n * sizeof(int64_t));
    if (!perm || !k1 || !k2) {
        rc = tp_fail(TP_ERR_NOMEM, "out of memory writing partitions");
        goto wdone;
    }
    const int64_t *secs = TP_CCOL(bt->col[U_SECONDS], int64_t);
    for (size_t i = 0; i < bt->n; i++) {
        k1[i] = bt->day[i] * 65536 + bt->bucket[i];
        k2[i] = (int64_t)bt->user[i] * (t1 - t0 + 1) + (secs[i] - t0); // did order, then time
    }
    if ((rc = tp_radix_sort_pairs(k1, k2, bt->n, perm))) goto wdone;
    if ((rc = tp_frame_new(&f))) goto wdone;
    for (int j = 0; j < U_N; j++) {
        if ((rc = tp_frame_add_take(f, bt->col[j]))) goto wdone;
        bt->col[j] = NULL;
    }
    for (size_t i = 0; i < bt->n;) {
        size_t j = i;
        while (j < bt->n && k1[perm[j]] == k1[perm[i]]) j++;
        int64_t day = bt->day[perm[i]];
        int y, mo, d;
        tp_days_to_civil(day, &y, &mo, &d);
        char dir[4200], path[4300];
        snprintf(dir, sizeof dir, "%s/day=%04d-%02d-%02d/did_bucket=%d", p->logs_tmp, y, mo, d,
                 bt->bucket[perm[i]]);
        snprintf(path, sizeof path, "%s/part-%d.parquet", dir, batch_no);
        if ((rc = tp_mkdirs(dir))) goto wdone;
        if ((rc = tp_frame_take(f, perm + i, j - i, &part))) goto wdone;
        rc = tp_pq_write_file(part, path, NULL);
        tp_frame_free(part);
        part = NULL;
        if (rc) goto wdone;
        i = j;
    }
wdone:
    tp_frame_free(f);
    tp_free(perm);
    tp_free(perm2);
    tp_free(k1);
    tp_free(k2);
    return rc;
}

// ---- driver ----

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}
/* rm -rf path (our own output folder only); a missing path is fine. */
static tp_status remove_tree(const char *path) {
    if (access(path, F_OK) != 0) return TP_OK;
    if (nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS) != 0)
        return tp_fail(TP_ERR_IO, "cannot remove '%s': %s", path, strerror(errno));
    return TP_OK;
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static tp_status write_stats(const tp_lookalike_config *c, const tp_lookalike_prep_stats *st) {
    json_t *j = json_pack(
        "{s:{s:I,s:I,s:I}, s:{s:I,s:I,s:I}, s:{s:I,s:I}, s:{s:I,s:I,s:i}, s:{s:I,s:I,s:I,s:I}}",
        "persona", "rows_in", (json_int_t)st->persona_in, "rows_out", (json_int_t)st->persona_out,
        "conflicting_dids", (json_int_t)st->persona_conflicting_dids,
        "logs", "shows_in", (json_int_t)st->shows_in, "clicks_in", (json_int_t)st->clicks_in,
        "rows_joined", (json_int_t)st->logs_joined,
        "keywords", "in", (json_int_t)st->keywords_in, "kept", (json_int_t)st->keywords_kept,
        "unified", "rows", (json_int_t)st->unified_rows, "clicks", (json_int_t)st->unified_clicks,
        "batches", st->batches,
        "trainready", "rows", (json_int_t)st->trainready_rows, "users_in", (json_int_t)st->users_in,
        "users_kept", (json_int_t)st->users_kept, "intervals", (json_int_t)st->intervals);
    if (!j) return tp_fail(TP_ERR_NOMEM, "out of memory writing stats.json");
    char *text = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(j);
    if (!text) return tp_fail(TP_ERR_NOMEM, "out of memory writing stats.json");
    char path[4096];
    snprintf(path, sizeof path, "%s/stats.json", c->out_dir);
    tp_status rc = tp_atomic_write(path, text, strlen(text));
    free(text);
    return rc;
}

tp_status tp_lookalike_prepare(const tp_lookalike_config *c, tp_lookalike_prep_stats *stats) {
    tp_lookalike_prep_stats st = {0};
    prep p = {.c = c, .st = &st};
    tp_frame *persona_raw = NULL, *persona = NULL, *kwt = NULL, *kwout = NULL;
    char **kw_names = NULL;
    int n_kw = 0;
    lal_aggs aggs = {0};
    batch bt = {0};
    char path[4096];
    tp_status rc;
    if (c->interval_seconds < 1 || c->did_buckets < 1 || c->batch_days < 1)
        return tp_fail(TP_ERR_ARG, "lookalike prepare: interval_seconds, did_buckets and batch_days must be >= 1");
    if ((rc = tp_mkdirs(c->out_dir))) return rc;
    // the unified logs are written to a temporary folder that replaces OUT/logs at the end, so a
    // failed run leaves the previous logs and a re-run never mixes in stale part files
    snprintf(p.logs_tmp, sizeof p.logs_tmp, "%s/.logs.tmp-%ld", c->out_dir, (long)getpid());
    if ((rc = remove_tree(p.logs_tmp)) || (rc = tp_mkdirs(p.logs_tmp))) return rc;

    // persona
    if ((rc = tp_table_read(c->persona, NULL, 0, &persona_raw))) goto done;
    st.persona_in = (int64_t)tp_frame_n_rows(persona_raw);
    {
        tp_frame *clean = NULL;
        if ((rc = tp_lookalike_clean_persona(persona_raw, &clean, &st.persona_conflicting_dids)))
            goto done;
        // sort by did so user index order = did order
        size_t n = tp_frame_n_rows(clean);
        tp_column *d = tp_frame_col(clean, 0);
        sidx *s = tp_malloc((n ? n : 1) * sizeof *s);
        uint32_t *perm = tp_malloc((n ? n : 1) * sizeof *perm);
        char **strs = tp_calloc(n ? n : 1, sizeof(char *));
        if (!s || !perm || !strs) rc = tp_fail(TP_ERR_NOMEM, "out of memory");
        for (size_t i = 0; !rc && i < n; i++) {
            char buf[48];
            size_t len;
            if (!(strs[i] = tp_strdup(text_of(d, i, buf, &len)))) rc = tp_fail(TP_ERR_NOMEM, "out of memory");
            else s[i] = (sidx){strs[i], (uint32_t)i};
        }
        if (!rc) {
            qsort(s, n, sizeof *s, cmp_sidx);
            for (size_t i = 0; i < n; i++) perm[i] = s[i].i;
            rc = tp_frame_take(clean, perm, n, &persona);
        }
        if (!rc) rc = tp_strdict_new(&p.dids);
        for (size_t i = 0; !rc && i < n; i++) {
            int32_t code;
            rc = tp_strdict_intern(p.dids, s[i].s, strlen(s[i].s), &code);
        }
        for (size_t i = 0; strs && i < n; i++) tp_free(strs[i]);
        tp_free(strs);
        tp_free(s);
        tp_free(perm);
        tp_frame_free(clean);
        if (rc) goto done;
    }
    st.persona_out = (int64_t)tp_frame_n_rows(persona);
    if ((rc = tp_frame_require(persona, "gender", "persona", (tp_column **)&p.gender)) ||
        (rc = tp_frame_require(persona, "age", "persona", (tp_column **)&p.age)))
        goto done;
    snprintf(path, sizeof path, "%s/persona.parquet", c->out_dir);
    if ((rc = tp_pq_write_file(persona, path, NULL))) goto done;
    tp_log(TP_LOG_INFO, "lookalike prepare: persona %lld rows in, %lld out (%lld conflicting dids dropped)",
           (long long)st.persona_in, (long long)st.persona_out, (long long)st.persona_conflicting_dids);

    // keyword table: spread_app_id -> keyword
    if ((rc = tp_table_read(c->keywords, NULL, 0, &kwt))) goto done;
    {
        tp_column *app, *kw;
        if ((rc = tp_frame_require(kwt, "spread_app_id", c->keywords, &app)) ||
            (rc = tp_frame_require(kwt, "keyword", c->keywords, &kw)))
            goto done;
        size_t n = tp_frame_n_rows(kwt);
        if ((rc = tp_strdict_new(&p.apps)) || (rc = tp_strdict_new(&p.kw_raw))) goto done;
        if (!(p.app_kw = tp_malloc((n ? n : 1) * sizeof(int32_t)))) {
            rc = tp_fail(TP_ERR_NOMEM, "out of memory");
            goto done;
        }
        for (size_t i = 0; i < n; i++) {
            char b1[64], b2[64];
            size_t l1, l2;
            if (tp_column_is_null(app, i) || tp_column_is_null(kw, i)) continue;
            const char *a = text_of(app, i, b1, &l1);
            int32_t ac, kc;
            if ((rc = tp_strdict_intern(p.apps, a, l1, &ac))) goto done;
            const char *k = text_of(kw, i, b2, &l2);
            if ((rc = tp_strdict_intern(p.kw_raw, k, l2, &kc))) goto done;
            if ((size_t)ac < tp_strdict_size(p.apps) - 1) {
                if (p.app_kw[ac] != kc) {
                    rc = tp_fail(TP_ERR_FORMAT, "%s: row %zu: spread_app_id '%s' maps to two keywords",
                                 c->keywords, i, a);
                    goto done;
                }
            } else {
                p.app_kw[ac] = kc;
            }
        }
        st.keywords_in = (int64_t)tp_strdict_size(p.kw_raw);
    }
    if (c->slot_ids) {
        if ((rc = tp_strdict_new(&p.slots))) goto done;
        for (size_t i = 0; i < c->n_slot_ids; i++) {
            int32_t code;
            if ((rc = tp_strdict_intern(p.slots, c->slot_ids[i], strlen(c->slot_ids[i]), &code))) goto done;
        }
    }

    // pass 1: keyword impressions and the time range
    size_t nraw = tp_strdict_size(p.kw_raw);
    p.kw_shows = tp_calloc(nraw + 1, sizeof(int64_t));
    p.raw_to_index = tp_malloc((nraw + 1) * sizeof(int32_t));
    if (!p.kw_shows || !p.raw_to_index) {
        rc = tp_fail(TP_ERR_NOMEM, "out of memory");
        goto done;
    }
    int64_t tmin = INT64_MAX, tmax = INT64_MIN;
    if ((rc = pass_count(&p, c->shows, false, &tmin, &tmax)) ||
        (rc = pass_count(&p, c->clicks, true, &tmin, &tmax)))
        goto done;
    tp_log(TP_LOG_INFO, "lookalike prepare: logs %lld shows + %lld clicks in, %lld after slot filter "
           "and joins", (long long)st.shows_in, (long long)st.clicks_in, (long long)st.logs_joined);

    // keywords above the share threshold; keyword_index in name order
    {
        int64_t total = 0;
        for (size_t k = 0; k < nraw; k++) total += p.kw_shows[k];
        if (!(kw_names = tp_calloc(nraw + 1, sizeof(char *)))) {
            rc = tp_fail(TP_ERR_NOMEM, "out of memory");
            goto done;
        }
        for (size_t k = 0; k < nraw; k++) {
            double share = total ? (double)p.kw_shows[k] / (double)total : 0;
            if (p.kw_shows[k] > 0 && share > c->keyword_min_share) {
                if (!(kw_names[n_kw++] = tp_strdup(tp_strdict_get(p.kw_raw, (int32_t)k, NULL)))) {
                    rc = tp_fail(TP_ERR_NOMEM, "out of memory");
                    goto done;
                }
            }
        }
        qsort(kw_names, (size_t)n_kw, sizeof(char *), cmp_str);
        for (size_t k = 0; k < nraw; k++) p.raw_to_index[k] = -1;
        tp_column *ck = NULL, *ci = NULL, *cn = NULL, *cs = NULL;
        if ((rc = tp_frame_new(&kwout)) || (rc = tp_column_new("keyword", TP_DTYPE_STR, n_kw, &ck)) ||
            (rc = tp_column_new("keyword_index", TP_DTYPE_I32, n_kw, &ci)) ||
            (rc = tp_column_new("impressions", TP_DTYPE_I64, n_kw, &cn)) ||
            (rc = tp_column_new("share", TP_DTYPE_F64, n_kw, &cs))) {
            tp_column_free(ck); tp_column_free(ci); tp_column_free(cn); tp_column_free(cs);
            goto done;
        }
        for (int k = 0; k < n_kw && !rc; k++) {
            int32_t raw = tp_strdict_find(p.kw_raw, kw_names[k], strlen(kw_names[k]));
            p.raw_to_index[raw] = k;
            if (!(rc = tp_column_push_str(ck, kw_names[k], strlen(kw_names[k]))) &&
                !(rc = tp_column_push_i32(ci, k)) && !(rc = tp_column_push_i64(cn, p.kw_shows[raw])))
                rc = tp_column_push_f64(cs, (double)p.kw_shows[raw] / (double)total);
        }
        tp_column *cols[4] = {ck, ci, cn, cs};
        for (int j = 0; j < 4; j++) {
            if (!rc && !(rc = tp_frame_add_take(kwout, cols[j]))) cols[j] = NULL;
            tp_column_free(cols[j]);
        }
        if (rc) goto done;
        st.keywords_kept = n_kw;
        snprintf(path, sizeof path, "%s/keywords.parquet", c->out_dir);
        if ((rc = tp_pq_write_file(kwout, path, NULL))) goto done;
        tp_log(TP_LOG_INFO, "lookalike prepare: keywords %lld in, %d kept (share > %g)",
               (long long)st.keywords_in, n_kw, c->keyword_min_share);
    }

    // pass 2: time batches aligned to intervals
    if (tmin <= tmax) {
        const int64_t I = c->interval_seconds;
        int64_t width = ((int64_t)c->batch_days * 86400 + I - 1) / I * I;
        int64_t t0 = tp_lookalike_interval_start(tp_lookalike_interval_start(tmin, 86400), I);
        for (int bno = 0; t0 <= tmax; bno++, t0 += width) {
            if ((rc = run_batch(&p, t0, t0 + width, bno, &bt, &aggs, kw_names))) goto done;
            st.batches++;
        }
    }
    tp_log(TP_LOG_INFO, "lookalike prepare: unified %lld rows (%lld clicks) in %d batches",
           (long long)st.unified_rows, (long long)st.unified_clicks, st.batches);

    snprintf(path, sizeof path, "%s/logs", c->out_dir);
    if ((rc = remove_tree(path))) goto done;
    if (rename(p.logs_tmp, path) != 0) {
        rc = tp_fail(TP_ERR_IO, "cannot rename '%s' to '%s': %s", p.logs_tmp, path, strerror(errno));
        goto done;
    }
    if ((rc = lal_write_trainready(c, &aggs, persona, kw_names, n_kw, &st))) goto done;
    if ((rc = write_stats(c, &st))) goto done;
    if (stats) *stats = st;
done:
    if (rc) remove_tree(p.logs_tmp);
    for (int j = 0; j < U_N; j++) tp_column_free(bt.col[j]);
    tp_free(bt.day);
    tp_free(bt.bucket);
    tp_free(bt.user);
    tp_free(aggs.a);
    if (kw_names)
        for (int k = 0; k < n_kw; k++) tp_free(kw_names[k]);
    tp_free(kw_names);
    tp_strdict_unref(p.dids);
    tp_strdict_unref(p.apps);
    tp_strdict_unref(p.kw_raw);
    tp_strdict_unref(p.slots);
    tp_free(p.app_kw);
    tp_free(p.kw_shows);
    tp_free(p.raw_to_index);
    tp_frame_free(persona_raw);
    tp_frame_free(persona);
    tp_frame_free(kwt);
    tp_frame_free(kwout);
    return rc;
}

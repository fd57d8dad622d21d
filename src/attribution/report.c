/* report.c: job 5 of the attribution pipeline. Joins per-touch credit or attention scores with
 * the journeys (hash join on journey_id through tp_i64map), sums credit per campaign with padding
 * excluded, reads the simulator's truth and drives the whole job: credit tables in,
 * campaign_attention.parquet and report.html out. The HTML itself is drawn in report_html.c. */
#include "touchpoint/report.h"
#include "touchpoint/io.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

// ---- column access helpers ----

/* Integer value of row r of an integer column (fast path for int64/int32). */
static inline int64_t col_i64(const tp_column *c, tp_dtype t, size_t r) {
    if (t == TP_DTYPE_I64) return TP_CCOL(c, int64_t)[r];
    if (t == TP_DTYPE_I32) return TP_CCOL(c, int32_t)[r];
    return tp_column_get_i64(c, r);
}
static inline double col_f64(const tp_column *c, tp_dtype t, size_t r) {
    if (t == TP_DTYPE_F64) return TP_CCOL(c, double)[r];
    if (t == TP_DTYPE_F32) return TP_CCOL(c, float)[r];
    return tp_column_get_f64(c, r);
}
static bool is_int_type(tp_dtype t) { return t == TP_DTYPE_I64 || t == TP_DTYPE_I32; }
static bool is_num_type(tp_dtype t) {
    return t == TP_DTYPE_F64 || t == TP_DTYPE_F32 || t == TP_DTYPE_I64 || t == TP_DTYPE_I32 ||
           t == TP_DTYPE_BOOL;
}
static const char *src_name(const char *source) { return source ? source : "credit"; }

/* Index of campaign name s in the sorted campaign list, or -1. */
static long find_campaign(const tp_journeys *j, const char *s) {
    size_t lo = 0, hi = j->n_campaigns;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(j->campaigns[mid], s);
        if (c == 0) return (long)mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

/* journey_id -> journey index. */
static tp_status build_id_map(const tp_journeys *j, tp_i64map **out) {
    tp_i64map *m = NULL;
    tp_status rc = tp_i64map_new(j->n, &m);
    if (rc != TP_OK) return rc;
    for (size_t i = 0; i < j->n; i++) {
        int64_t v = (int64_t)i;
        int ins = 0;
        rc = tp_i64map_get_or_put(m, j->journey_id[i], &v, &ins);
        if (rc != TP_OK) goto fail;
        if (!ins) {
            rc = tp_fail(TP_ERR_FORMAT,
                         "journeys: journey_id %lld appears twice (rows %lld and %zu)",
                         (long long)j->journey_id[i], (long long)v, i);
            goto fail;
        }
    }
    *out = m;
    return TP_OK;
fail:
    tp_i64map_free(m);
    return rc;
}

// ---- accumulation into the campaign attention table ----

typedef struct acc {
    double *total;      /* per campaign: sum of credit */
    double *attributed; /* per campaign: sum of credit * conversion_status */
    int64_t *touches;   /* per campaign: kept touches in the joined journeys */
    uint8_t *seen_journey;
} acc;

static tp_status acc_init(acc *a, const tp_journeys *j) {
    size_t C = j->n_campaigns ? j->n_campaigns : 1;
    a->total = tp_calloc(C, sizeof *a->total);
    a->attributed = tp_calloc(C, sizeof *a->attributed);
    a->touches = tp_calloc(C, sizeof *a->touches);
    a->seen_journey = tp_calloc(j->n ? j->n : 1, 1);
    if (!a->total || !a->attributed || !a->touches || !a->seen_journey)
        return tp_fail(TP_ERR_NOMEM, "out of memory in the campaign attention join");
    return TP_OK;
}
static void acc_free(acc *a) {
    tp_free(a->total);
    tp_free(a->attributed);
    tp_free(a->touches);
    tp_free(a->seen_journey);
}

/* Count the kept touches per campaign of every joined journey, then build the output frame. */
static tp_status acc_finish(acc *a, const tp_journeys *j, tp_frame **out) {
    tp_status rc = TP_OK;
    tp_frame *f = NULL;
    tp_column *cn = NULL, *ct = NULL, *ca = NULL, *cc = NULL;
    for (size_t i = 0; i < j->n; i++) {
        if (!a->seen_journey[i]) continue;
        for (uint64_t t = j->off[i]; t < j->off[i + 1]; t++) a->touches[j->campaign[t]]++;
    }
    size_t rows = 0;
    for (size_t c = 0; c < j->n_campaigns; c++) rows += a->touches[c] > 0;
    if ((rc = tp_frame_new(&f)) != TP_OK) goto done;
    if ((rc = tp_column_new("campaign_nm", TP_DTYPE_STR, rows, &cn)) != TP_OK) goto done;
    if ((rc = tp_column_new("total_attention", TP_DTYPE_F64, rows, &ct)) != TP_OK) goto done;
    if ((rc = tp_column_new("average_attention", TP_DTYPE_F64, rows, &ca)) != TP_OK) goto done;
    if ((rc = tp_column_new("attributed_conversions", TP_DTYPE_F64, rows, &cc)) != TP_OK) goto done;
    for (size_t c = 0; c < j->n_campaigns; c++) {
        if (a->touches[c] == 0) continue;
        const char *name = j->campaigns[c];
        if ((rc = tp_column_push_str(cn, name, strlen(name))) != TP_OK) goto done;
        if ((rc = tp_column_push_f64(ct, a->total[c])) != TP_OK) goto done;
        if ((rc = tp_column_push_f64(ca, a->total[c] / (double)a->touches[c])) != TP_OK) goto done;
        if ((rc = tp_column_push_f64(cc, a->attributed[c])) != TP_OK) goto done;
    }
    /* add_take owns its column even when it fails, so each pointer is cleared first */
    tp_column **cols[4] = {&cn, &ct, &ca, &cc};
    for (int k = 0; k < 4; k++) {
        tp_column *c = *cols[k];
        *cols[k] = NULL;
        if ((rc = tp_frame_add_take(f, c)) != TP_OK) goto done;
    }
    *out = f;
    f = NULL;
done:
    tp_column_free(cn);
    tp_column_free(ct);
    tp_column_free(ca);
    tp_column_free(cc);
    tp_frame_free(f);
    return rc;
}

// ---- the two joins ----

tp_status tp_report_attention_from_touches(const tp_journeys *j, const tp_frame *touches,
                                           const char *source, tp_frame **out) {
    tp_status rc;
    tp_i64map *map = NULL;
    uint8_t *seen_touch = NULL;
    long *code_to_campaign = NULL;
    acc a = {0};
    tp_column *cid, *cidx, *ccred, *cname;
    const char *src = src_name(source);
    if (!j || !touches || !out) return tp_fail(TP_ERR_ARG, "report: NULL argument");
    if ((rc = tp_frame_require(touches, "journey_id", src, &cid)) != TP_OK) return rc;
    if ((rc = tp_frame_require(touches, "index", src, &cidx)) != TP_OK) return rc;
    if ((rc = tp_frame_require(touches, "credit", src, &ccred)) != TP_OK) return rc;
    cname = tp_frame_find(touches, "campaign_nm");
    tp_dtype tid = tp_column_type(cid), tidx = tp_column_type(cidx), tcred = tp_column_type(ccred);
    if (!is_int_type(tid))
        return tp_fail(TP_ERR_FORMAT, "%s: column journey_id is %s, expected an integer", src,
                       tp_dtype_name(tid));
    if (!is_int_type(tidx))
        return tp_fail(TP_ERR_FORMAT, "%s: column index is %s, expected an integer", src,
                       tp_dtype_name(tidx));
    if (!is_num_type(tcred))
        return tp_fail(TP_ERR_FORMAT, "%s: column credit is %s, expected a number", src,
                       tp_dtype_name(tcred));
    if (cname && !tp_dtype_is_string(tp_column_type(cname)))
        return tp_fail(TP_ERR_FORMAT, "%s: column campaign_nm is %s, expected a string", src,
                       tp_dtype_name(tp_column_type(cname)));

    if ((rc = build_id_map(j, &map)) != TP_OK) goto done;
    if ((rc = acc_init(&a, j)) != TP_OK) goto done;
    seen_touch = tp_calloc(j->n_touches ? j->n_touches : 1, 1);
    if (!seen_touch) {
        rc = tp_fail(TP_ERR_NOMEM, "out of memory in the campaign attention join");
        goto done;
    }
    if (cname) {
        /* dictionary code -> campaign index, resolved once per distinct name */
        tp_strdict *d = tp_column_dict(cname);
        size_t nd = tp_strdict_size(d);
        code_to_campaign = tp_malloc((nd ? nd : 1) * sizeof *code_to_campaign);
        if (!code_to_campaign) {
            rc = tp_fail(TP_ERR_NOMEM, "out of memory in the campaign attention join");
            goto done;
        }
        for (size_t k = 0; k < nd; k++)
            code_to_campaign[k] = find_campaign(j, tp_strdict_get(d, (int32_t)k, NULL));
    }

    size_t n = tp_frame_n_rows(touches);
    for (size_t r = 0; r < n; r++) {
        if (tp_column_is_null(cid, r) || tp_column_is_null(cidx, r)) {
            rc = tp_fail(TP_ERR_FORMAT, "%s: row %zu: journey_id or index is null", src, r);
            goto done;
        }
        int64_t id = col_i64(cid, tid, r), idx = col_i64(cidx, tidx, r), ji;
        if (!tp_i64map_get(map, id, &ji)) {
            rc = tp_fail(TP_ERR_FORMAT, "%s: row %zu: journey_id %lld is not in the journeys", src,
                         r, (long long)id);
            goto done;
        }
        if (idx < 0) {
            rc = tp_fail(TP_ERR_FORMAT, "%s: row %zu: negative index %lld", src, r, (long long)idx);
            goto done;
        }
        a.seen_journey[ji] = 1;
        uint64_t lo = j->off[ji], kept = j->off[ji + 1] - lo;
        if ((uint64_t)idx >= kept) continue; /* padding: excluded */
        uint64_t t = lo + (uint64_t)idx;
        if (seen_touch[t]) {
            rc = tp_fail(TP_ERR_FORMAT, "%s: row %zu: journey_id %lld index %lld is listed twice",
                         src, r, (long long)id, (long long)idx);
            goto done;
        }
        seen_touch[t] = 1;
        int32_t camp = j->campaign[t];
        if (cname && !tp_column_is_null(cname, r)) {
            int32_t code = TP_CCOL(cname, int32_t)[r];
            if (code_to_campaign[code] != camp) {
                rc = tp_fail(TP_ERR_FORMAT,
                             "%s: row %zu, column campaign_nm: '%s' but journey %lld has '%s' at "
                             "index %lld (credit and journeys do not match)",
                             src, r, tp_strdict_get(tp_column_dict(cname), code, NULL),
                             (long long)id, j->campaigns[camp], (long long)idx);
                goto done;
            }
        }
        double v = tp_column_is_null(ccred, r) ? 0.0 : col_f64(ccred, tcred, r);
        a.total[camp] += v;
        if (j->converted[ji]) a.attributed[camp] += v;
    }
    rc = acc_finish(&a, j, out);
done:
    tp_i64map_free(map);
    tp_free(seen_touch);
    tp_free(code_to_campaign);
    acc_free(&a);
    return rc;
}

tp_status tp_report_attention_from_scores(const tp_journeys *j, const tp_frame *scores,
                                          const char *source, tp_frame **out) {
    tp_status rc;
    tp_i64map *map = NULL;
    const tp_column **cols = NULL;
    tp_dtype *types = NULL;
    acc a = {0};
    tp_column *cid;
    const char *src = src_name(source);
    if (!j || !scores || !out) return tp_fail(TP_ERR_ARG, "report: NULL argument");
    if ((rc = tp_frame_require(scores, "journey_id", src, &cid)) != TP_OK) return rc;
    tp_dtype tid = tp_column_type(cid);
    if (!is_int_type(tid))
        return tp_fail(TP_ERR_FORMAT, "%s: column journey_id is %s, expected an integer", src,
                       tp_dtype_name(tid));
    size_t L = 0;
    char name[64];
    for (;;) {
        snprintf(name, sizeof name, "attention_at_index_%zu", L);
        if (!tp_frame_find(scores, name)) break;
        L++;
    }
    if (L == 0) return tp_fail(TP_ERR_NOTFOUND, "%s: no column attention_at_index_0", src);
    cols = tp_calloc(L, sizeof *cols);
    types = tp_calloc(L, sizeof *types);
    if (!cols || !types) {
        rc = tp_fail(TP_ERR_NOMEM, "out of memory in the campaign attention join");
        goto done;
    }
    for (size_t p = 0; p < L; p++) {
        snprintf(name, sizeof name, "attention_at_index_%zu", p);
        cols[p] = tp_frame_find(scores, name);
        types[p] = tp_column_type(cols[p]);
        if (!is_num_type(types[p])) {
            rc = tp_fail(TP_ERR_FORMAT, "%s: column %s is %s, expected a number", src, name,
                         tp_dtype_name(types[p]));
            goto done;
        }
    }
    if ((rc = build_id_map(j, &map)) != TP_OK) goto done;
    if ((rc = acc_init(&a, j)) != TP_OK) goto done;

    size_t n = tp_frame_n_rows(scores);
    for (size_t r = 0; r < n; r++) {
        if (tp_column_is_null(cid, r)) {
            rc = tp_fail(TP_ERR_FORMAT, "%s: row %zu: journey_id is null", src, r);
            goto done;
        }
        int64_t id = col_i64(cid, tid, r), ji;
        if (!tp_i64map_get(map, id, &ji)) {
            rc = tp_fail(TP_ERR_FORMAT, "%s: row %zu: journey_id %lld is not in the journeys", src,
                         r, (long long)id);
            goto done;
        }
        if (a.seen_journey[ji]) {
            rc = tp_fail(TP_ERR_FORMAT, "%s: row %zu: journey_id %lld is listed twice", src, r,
                         (long long)id);
            goto done;
        }
        a.seen_journey[ji] = 1;
        uint64_t lo = j->off[ji], kept = j->off[ji + 1] - lo;
        if (kept > L) {
            rc = tp_fail(TP_ERR_SHAPE,
                         "%s: row %zu: journey %lld has %llu touches but the scores have only %zu "
                         "positions",
                         src, r, (long long)id, (unsigned long long)kept, L);
            goto done;
        }
        for (uint64_t p = 0; p < kept; p++) { /* p >= kept is padding: never read */
            const tp_column *c = cols[p];
            double v = tp_column_is_null(c, r) ? 0.0 : col_f64(c, types[p], r);
            int32_t camp = j->campaign[lo + p];
            a.total[camp] += v;
            if (j->converted[ji]) a.attributed[camp] += v;
        }
    }
    rc = acc_finish(&a, j, out);
done:
    tp_i64map_free(map);
    tp_free(cols);
    tp_free(types);
    acc_free(&a);
    return rc;
}

// ---- the whole job ----

typedef struct method_src {
    char *name;
    char *path;         /* <method>.parquet */
    char *touches_path; /* <method>_touches.parquet, or NULL */
    tp_frame *credit;
} method_src;

static bool ends_with(const char *s, const char *suf) {
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && strcmp(s + a - b, suf) == 0;
}
static char *join_path(const char *dir, const char *name) {
    size_t a = strlen(dir), b = strlen(name);
    char *p = tp_malloc(a + b + 2);
    if (!p) return NULL;
    memcpy(p, dir, a);
    size_t k = a;
    if (a && dir[a - 1] != '/') p[k++] = '/';
    memcpy(p + k, name, b + 1);
    return p;
}
static bool file_exists(const char *p) {
    struct stat st;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}
static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Add the method whose credit table is at path (name = basename without .parquet). */
static tp_status add_method(method_src **ms, size_t *n, size_t *cap, const char *path) {
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    size_t bl = strlen(base);
    if (!ends_with(base, ".parquet") || bl == strlen(".parquet"))
        return tp_fail(TP_ERR_ARG, "credit file '%s': expected <method>.parquet", path);
    size_t nl = bl - strlen(".parquet");
    for (size_t i = 0; i < *n; i++)
        if (strlen((*ms)[i].name) == nl && memcmp((*ms)[i].name, base, nl) == 0)
            return tp_fail(TP_ERR_ARG, "credit for method '%.*s' given twice (second: '%s')",
                           (int)nl, base, path);
    tp_status rc = tp_grow((void **)ms, cap, *n + 1, sizeof **ms);
    if (rc != TP_OK) return rc;
    method_src *m = &(*ms)[*n];
    memset(m, 0, sizeof *m);
    m->name = tp_malloc(nl + 1);
    m->path = tp_strdup(path);
    /* <dir>/<method>_touches.parquet */
    size_t pl = strlen(path), tl = pl - strlen(".parquet");
    m->touches_path = tp_malloc(pl + strlen("_touches") + 1);
    if (!m->name || !m->path || !m->touches_path) {
        tp_free(m->name);
        tp_free(m->path);
        tp_free(m->touches_path);
        return tp_fail(TP_ERR_NOMEM, "out of memory");
    }
    memcpy(m->name, base, nl);
    m->name[nl] = 0;
    memcpy(m->touches_path, path, tl);
    strcpy(m->touches_path + tl, "_touches.parquet");
    if (!file_exists(m->touches_path)) {
        tp_free(m->touches_path);
        m->touches_path = NULL;
    }
    (*n)++;
    return TP_OK;
}

/* Every <method>.parquet in dir (not *_touches.parquet, campaign_attention.parquet, _* or .*),
 * in name order. */
static tp_status add_dir(method_src **ms, size_t *n, size_t *cap, const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return tp_fail(TP_ERR_IO, "cannot open credit folder '%s': %s", dir, strerror(errno));
    char **names = NULL;
    size_t nn = 0, ncap = 0;
    tp_status rc = TP_OK;
    struct dirent *e;
    while ((e = readdir(d))) {
        const char *s = e->d_name;
        if (s[0] == '.' || s[0] == '_' || !ends_with(s, ".parquet") ||
            ends_with(s, "_touches.parquet") || strcmp(s, "campaign_attention.parquet") == 0)
            continue;
        if ((rc = tp_grow((void **)&names, &ncap, nn + 1, sizeof *names)) != TP_OK) goto done;
        if (!(names[nn] = join_path(dir, s))) {
            rc = tp_fail(TP_ERR_NOMEM, "out of memory");
            goto done;
        }
        nn++;
    }
    if (nn == 0) {
        rc = tp_fail(TP_ERR_ARG, "credit folder '%s' holds no <method>.parquet", dir);
        goto done;
    }
    qsort(names, nn, sizeof *names, cmp_str);
    for (size_t i = 0; i < nn && rc == TP_OK; i++) rc = add_method(ms, n, cap, names[i]);
done:
    for (size_t i = 0; i < nn; i++) tp_free(names[i]);
    tp_free(names);
    closedir(d);
    return rc;
}

/* TVD of a credit table against the truth (tp_eval_shares: over the union of campaigns). */
static tp_status series_tvd(const tp_report_series *s, const tp_truth *t, double *out) {
    tp_column *cn = tp_frame_find(s->credit, "campaign_nm"),
              *cs = tp_frame_find(s->credit, "share");
    size_t n = tp_frame_n_rows(s->credit);
    const char **names = tp_malloc((n ? n : 1) * sizeof *names);
    double *share = tp_malloc((n ? n : 1) * sizeof *share);
    tp_eval ev;
    tp_status rc = TP_OK;
    if (!names || !share) rc = tp_fail(TP_ERR_NOMEM, "out of memory");
    for (size_t r = 0; rc == TP_OK && r < n; r++) {
        names[r] = tp_column_is_null(cn, r) ? "" : tp_column_get_str(cn, r, NULL);
        share[r] = tp_column_is_null(cs, r) ? 0.0 : tp_column_get_f64(cs, r);
    }
    if (rc == TP_OK && (rc = tp_eval_shares(s->name, names, share, n, t, &ev)) == TP_OK) {
        *out = ev.tvd;
        tp_eval_clear(&ev);
    }
    tp_free(names);
    tp_free(share);
    return rc;
}

void tp_report_result_clear(tp_report_result *res) {
    if (!res) return;
    tp_free(res->html_path);
    tp_free(res->attention_path);
    tp_free(res->attention_source);
    for (size_t i = 0; res->methods && i < res->n_methods; i++) tp_free(res->methods[i]);
    tp_free(res->methods);
    tp_free(res->tvd);
    memset(res, 0, sizeof *res);
}

tp_status tp_report_run(const tp_report_opts *o, tp_report_result *res) {
    tp_status rc = TP_OK;
    tp_journeys *j = NULL;
    method_src *ms = NULL;
    size_t nm = 0, mcap = 0;
    tp_frame *att_in = NULL, *att = NULL, *att_share = NULL;
    tp_truth *truth = NULL;
    tp_report_series *series = NULL;
    char *att_path = NULL, *html_path = NULL, *att_source = NULL;
    tp_report_result r = {0};
    if (res) memset(res, 0, sizeof *res);
    if (!o || !o->journeys || !o->out_dir)
        return tp_fail(TP_ERR_ARG, "report: journeys and an output folder are required");
    if (o->n_credit == 0 && !o->attention)
        return tp_fail(TP_ERR_ARG, "report: no credit tables and no attention scores given");
    if (o->attention && o->attention_method)
        return tp_fail(TP_ERR_ARG, "report: give attention scores or a method's per-touch credit "
                                   "for the attention table, not both");

    for (size_t i = 0; i < o->n_credit; i++) {
        struct stat st;
        if (stat(o->credit[i], &st) != 0) {
            rc = tp_fail(TP_ERR_IO, "cannot open credit '%s': %s", o->credit[i], strerror(errno));
            goto done;
        }
        rc = S_ISDIR(st.st_mode) ? add_dir(&ms, &nm, &mcap, o->credit[i])
                                 : add_method(&ms, &nm, &mcap, o->credit[i]);
        if (rc != TP_OK) goto done;
    }
    for (size_t i = 0; i < nm; i++) {
        tp_column *c;
        if ((rc = tp_table_read(ms[i].path, NULL, 0, &ms[i].credit)) != TP_OK) goto done;
        if ((rc = tp_frame_require(ms[i].credit, "campaign_nm", ms[i].path, &c)) != TP_OK)
            goto done;
        if (!tp_dtype_is_string(tp_column_type(c))) {
            rc = tp_fail(TP_ERR_FORMAT, "%s: column campaign_nm is %s, expected a string",
                         ms[i].path, tp_dtype_name(tp_column_type(c)));
            goto done;
        }
        if ((rc = tp_frame_require(ms[i].credit, "share", ms[i].path, &c)) != TP_OK) goto done;
        if (!is_num_type(tp_column_type(c))) {
            rc = tp_fail(TP_ERR_FORMAT, "%s: column share is %s, expected a number", ms[i].path,
                         tp_dtype_name(tp_column_type(c)));
            goto done;
        }
    }

    if ((rc = tp_journeys_read(o->journeys, &j)) != TP_OK) goto done;
    if ((rc = tp_mkdirs(o->out_dir)) != TP_OK) goto done;

    /* campaign attention: the model's scores, a chosen method's touches, or the first touches */
    const method_src *tm = NULL;
    if (o->attention_method) {
        for (size_t i = 0; i < nm; i++)
            if (strcmp(ms[i].name, o->attention_method) == 0) tm = &ms[i];
        if (!tm || !tm->touches_path) {
            rc = tp_fail(TP_ERR_ARG,
                         "report: no per-touch credit %s_touches.parquet for method '%s'",
                         o->attention_method, o->attention_method);
            goto done;
        }
    } else if (!o->attention) {
        for (size_t i = 0; i < nm && !tm; i++)
            if (ms[i].touches_path) tm = &ms[i];
    }
    if (o->attention && !o->attention_method) {
        if ((rc = tp_table_read(o->attention, NULL, 0, &att_in)) != TP_OK) goto done;
        if ((rc = tp_report_attention_from_scores(j, att_in, o->attention, &att)) != TP_OK)
            goto done;
        att_source = tp_strdup("attention scores");
    } else if (tm) {
        if ((rc = tp_table_read(tm->touches_path, NULL, 0, &att_in)) != TP_OK) goto done;
        if ((rc = tp_report_attention_from_touches(j, att_in, tm->touches_path, &att)) != TP_OK)
            goto done;
        size_t l = strlen(tm->name) + 32;
        if ((att_source = tp_malloc(l)))
            snprintf(att_source, l, "per-touch credit of method '%s'", tm->name);
    }
    if (att) {
        if (!att_source || !(att_path = join_path(o->out_dir, "campaign_attention.parquet"))) {
            rc = tp_fail(TP_ERR_NOMEM, "out of memory");
            goto done;
        }
        if ((rc = tp_table_write(att, att_path, NULL)) != TP_OK) goto done;
    }

    /* series: every method, plus the model's attention as its own method */
    series = tp_calloc(nm + 1, sizeof *series);
    if (!series) {
        rc = tp_fail(TP_ERR_NOMEM, "out of memory");
        goto done;
    }
    size_t ns = 0;
    for (size_t i = 0; i < nm; i++) series[ns++] = (tp_report_series){ms[i].name, ms[i].credit};
    bool have_attention_method = false; /* the model's own credit table (predict --credit-dir) */
    for (size_t i = 0; i < nm; i++) have_attention_method |= strcmp(ms[i].name, "attention") == 0;
    if (att && o->attention && !o->attention_method && !have_attention_method) {
        /* share column = attributed_conversions / their sum */
        tp_column *cc = NULL, *sh = NULL;
        if ((rc = tp_frame_clone(att, &att_share)) != TP_OK) goto done;
        cc = tp_frame_find(att_share, "attributed_conversions");
        size_t n = tp_frame_n_rows(att_share);
        double sum = 0;
        for (size_t r = 0; r < n; r++) sum += TP_CCOL(cc, double)[r];
        if ((rc = tp_column_new("share", TP_DTYPE_F64, n, &sh)) != TP_OK) goto done;
        for (size_t r = 0; r < n && rc == TP_OK; r++)
            rc = tp_column_push_f64(sh, sum > 0 ? TP_CCOL(cc, double)[r] / sum : 0.0);
        if (rc == TP_OK)
            rc = tp_frame_add_take(att_share, sh);
        else
            tp_column_free(sh);
        if (rc != TP_OK) goto done;
        series[ns++] = (tp_report_series){"attention", att_share};
    }

    if (o->truth && (rc = tp_truth_read(o->truth, &truth)) != TP_OK) goto done;

    if (!(html_path = join_path(o->out_dir, "report.html"))) {
        rc = tp_fail(TP_ERR_NOMEM, "out of memory");
        goto done;
    }
    tp_report_html_input in = {
        .title = o->title,
        .journeys_path = o->journeys,
        .journeys = j,
        .series = series,
        .n_series = ns,
        .truth = truth,
        .attention = att,
        .attention_source = att_source,
        .model_metrics = o->model_metrics,
        .experiment = o->experiment,
    };
    if ((rc = tp_report_html_write(&in, html_path)) != TP_OK) goto done;

    if (res) {
        r.methods = tp_calloc(ns ? ns : 1, sizeof *r.methods);
        if (truth) r.tvd = tp_calloc(ns ? ns : 1, sizeof *r.tvd);
        if (!r.methods || (truth && !r.tvd)) {
            rc = tp_fail(TP_ERR_NOMEM, "out of memory");
            goto done;
        }
        for (size_t i = 0; i < ns; i++) {
            if (!(r.methods[i] = tp_strdup(series[i].name))) {
                rc = tp_fail(TP_ERR_NOMEM, "out of memory");
                goto done;
            }
            r.n_methods = i + 1;
            if (truth && (rc = series_tvd(&series[i], truth, &r.tvd[i])) != TP_OK) goto done;
        }
        r.html_path = html_path;
        r.attention_path = att_path;
        r.attention_source = att ? att_source : NULL;
        html_path = att_path = NULL;
        if (att) att_source = NULL;
        *res = r;
        memset(&r, 0, sizeof r);
    }
done:
    tp_report_result_clear(&r);
    for (size_t i = 0; i < nm; i++) {
        tp_free(ms[i].name);
        tp_free(ms[i].path);
        tp_free(ms[i].touches_path);
        tp_frame_free(ms[i].credit);
    }
    tp_free(ms);
    tp_free(series);
    tp_frame_free(att_in);
    tp_frame_free(att);
    tp_frame_free(att_share);
    tp_truth_free(truth);
    tp_journeys_free(j);
    tp_free(att_path);
    tp_free(html_path);
    tp_free(att_source);
    return rc;
}

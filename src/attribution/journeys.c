/* journeys.c: job 1 of the attribution pipeline: impressions -> conversion journeys (CSR), and
 * the wide Parquet layout plus the one-hot export (job 2). Rows are ordered by a bijective hash
 * of uid, then time, then input order (stable radix sort); data over the memory budget goes into
 * bucket files that are ranges of that hash, so the bucketed path gives exactly the same journeys,
 * ids and order as the in-memory one. Corrects the reference: last L touches, label before the
 * cut, ids unique by construction, conversion_id grouping, no silent dedupe. */
#include "touchpoint/journey_build.h"
#include "touchpoint/io.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define N_FANOUT 256   /* bucket files per partitioning level (8 bits of the uid hash) */
#define MAX_DEPTH 4    /* levels of re-partitioning before a bucket is processed as it is */
#define CHUNK_ROWS 65536 /* journeys per wide frame handed to the writer */
#define HIST_MAX (1u << 20) /* length histogram bins (longer journeys share the last one) */
#define PART_ROWS 16384  /* rows per in-memory partition (sized to stay in cache) */

void tp_journeys_build_opts_default(tp_journeys_build_opts *o) {
    memset(o, 0, sizeof *o);
    o->max_len = 10;
    o->split[0] = 0.8;
    o->split[1] = 0.1;
    o->split[2] = 0.1;
    o->n_split = 3;
    o->seed = 42;
}

void tp_journeys_stats_clear(tp_journeys_stats *s) {
    if (!s) return;
    tp_free(s->length_hist);
    memset(s, 0, sizeof *s);
}

// Sort key of a uid: the splitmix64 finaliser is a bijection, so distinct uids never tie;
// flipping the top bit makes signed order equal unsigned order of the hash, whose top bits pick
// the bucket. Users therefore come out in the same order whatever the bucketing.
/* The campaign code of an event row (a null campaign: a conversion or an observation without an
 * ad, e.g. an order from the advertiser's own log): it ends or marks a journey, it is no touch. */
#define NO_TOUCH (-1)

static inline uint64_t uid_hash(int64_t uid) { return tp_hash_u64((uint64_t)uid); }
static inline int64_t uid_key(int64_t uid) { return (int64_t)(uid_hash(uid) ^ (1ULL << 63)); }
static inline unsigned bucket_of(int64_t uid, int depth) {
    return (unsigned)((uid_hash(uid) >> (56 - 8 * depth)) & 0xff);
}

int tp_journeys_split_of(int64_t uid, const tp_journeys_build_opts *o) {
    if (o->n_split < 3) return 0;
    uint64_t h = tp_hash_u64((uint64_t)uid ^ tp_hash_u64(o->seed ^ 0x9e3779b97f4a7c15ULL));
    double u = (double)(h >> 11) * (1.0 / 9007199254740992.0);
    double tot = o->split[0] + o->split[1] + o->split[2];
    if (u < o->split[0] / tot) return 0;
    if (u < (o->split[0] + o->split[1]) / tot) return 1;
    return 2;
}

// ---- dictionary remapping (batch dictionaries -> our own) ----

typedef struct remap {
    tp_strdict *src; /* referenced, so its address cannot be reused while we cache codes */
    int32_t *map;
    size_t cap;
} remap;

static void remap_clear(remap *r) {
    tp_strdict_unref(r->src);
    tp_free(r->map);
    memset(r, 0, sizeof *r);
}

static tp_status remap_code(remap *r, tp_strdict *own, tp_strdict *src, int32_t code, int32_t *out) {
    if (src != r->src) {
        remap_clear(r);
        r->src = tp_strdict_ref(src);
    }
    size_t need = tp_strdict_size(src);
    if (need > r->cap) {
        int32_t *m = tp_realloc(r->map, need * sizeof *m);
        if (!m) return tp_fail(TP_ERR_NOMEM, "out of memory remapping strings");
        for (size_t i = r->cap; i < need; i++) m[i] = -1;
        r->map = m;
        r->cap = need;
    }
    if (code < 0 || (size_t)code >= need) return tp_fail(TP_ERR_FORMAT, "string code %d out of range", code);
    if (r->map[code] < 0) {
        size_t len;
        const char *s = tp_strdict_get(src, code, &len);
        tp_status rc = tp_strdict_intern(own, s, len, &r->map[code]);
        if (rc != TP_OK) return rc;
    }
    *out = r->map[code];
    return TP_OK;
}

// ---- schema ----

typedef struct feat {
    char *name;
    tp_dtype type;      /* output dtype (conversion_value is always F64) */
    tp_dtype in_type;   /* dtype in the input */
    tp_time_unit unit;
    bool is_value;      /* conversion_value */
    tp_strdict *dict;   /* own dictionary for string features */
    remap rm;
} feat;

typedef struct schema {
    bool resolved;
    bool has_cid;
    size_t n_feat;      /* features incl. conversion_value (always first when present) */
    feat *feats;
    bool has_value;
    tp_strdict *names;  /* campaign names, codes in order of first appearance */
    remap camp_rm;
    tp_i64map *camp_int; /* int campaign value -> code */
    uint8_t *seen;      /* campaign codes that occur in a row */
    size_t seen_cap;
} schema;

static void schema_free(schema *s) {
    for (size_t i = 0; i < s->n_feat; i++) {
        tp_free(s->feats[i].name);
        tp_strdict_unref(s->feats[i].dict);
        remap_clear(&s->feats[i].rm);
    }
    tp_free(s->feats);
    tp_strdict_unref(s->names);
    remap_clear(&s->camp_rm);
    tp_i64map_free(s->camp_int);
    tp_free(s->seen);
    memset(s, 0, sizeof *s);
}

static bool is_int_type(tp_dtype t) { return t == TP_DTYPE_I32 || t == TP_DTYPE_I64; }
static bool is_numeric(tp_dtype t) {
    return t == TP_DTYPE_BOOL || t == TP_DTYPE_I32 || t == TP_DTYPE_I64 || t == TP_DTYPE_F32 ||
           t == TP_DTYPE_F64;
}

static bool reserved_name(const char *n) {
    return !strcmp(n, "journey_id") || !strcmp(n, "conversion_status") ||
           !strcmp(n, "journey_length") || !strncmp(n, "campaign_nm_at_index_", 21) ||
           !strncmp(n, "seconds_to_end_at_index_", 24);
}

static tp_status schema_resolve(schema *s, const tp_frame *f, const char *src) {
    tp_column *c;
    tp_status rc;
    const char *req[] = {"uid", "timestamp", "campaign", "conversion"};
    for (size_t i = 0; i < 4; i++)
        if ((rc = tp_frame_require(f, req[i], src, &c)) != TP_OK) return rc;
    s->has_cid = tp_frame_find(f, "conversion_id") != NULL;
    if ((rc = tp_strdict_new(&s->names)) != TP_OK) return rc;
    size_t nc = tp_frame_n_cols(f);
    s->feats = tp_calloc(nc + 1, sizeof *s->feats);
    if (!s->feats) return tp_fail(TP_ERR_NOMEM, "out of memory");
    tp_column *v = tp_frame_find(f, "conversion_value");
    if (v) {
        if (!is_numeric(tp_column_type(v)))
            return tp_fail(TP_ERR_FORMAT, "%s: column 'conversion_value' is %s, expected a number",
                           src, tp_dtype_name(tp_column_type(v)));
        feat *ft = &s->feats[s->n_feat++];
        ft->name = tp_strdup("conversion_value");
        ft->type = TP_DTYPE_F64;
        ft->in_type = tp_column_type(v);
        ft->is_value = true;
        s->has_value = true;
        if (!ft->name) return tp_fail(TP_ERR_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < nc; i++) {
        tp_column *col = tp_frame_col(f, i);
        const char *n = tp_column_name(col);
        if (!strcmp(n, "uid") || !strcmp(n, "timestamp") || !strcmp(n, "campaign") ||
            !strcmp(n, "conversion") || !strcmp(n, "conversion_id") || !strcmp(n, "cost") ||
            !strcmp(n, "conversion_value"))
            continue;
        if (reserved_name(n))
            return tp_fail(TP_ERR_FORMAT, "%s: column '%s' clashes with a journeys output column",
                           src, n);
        feat *ft = &s->feats[s->n_feat++];
        ft->name = tp_strdup(n);
        if (!ft->name) return tp_fail(TP_ERR_NOMEM, "out of memory");
        ft->type = ft->in_type = tp_column_type(col);
        ft->unit = tp_column_unit(col);
        if (tp_dtype_is_string(ft->type) && (rc = tp_strdict_new(&ft->dict)) != TP_OK) return rc;
    }
    s->resolved = true;
    return TP_OK;
}

// ---- row storage (struct of arrays) ----

typedef struct rows {
    size_t n, cap, n_feat;
    bool has_cid;
    int64_t *uid, *ts, *cid;
    int32_t *camp;
    uint8_t *conv;
    int64_t **fv;  /* per feature: value (ints widened, floats as double bits, string codes) */
    uint8_t **fok; /* per feature: 1 present, 0 null */
} rows;

static size_t rec_size(const schema *s) {
    return 8 + 8 + 4 + 1 + (s->has_cid ? 8 : 0) + s->n_feat * 9;
}

static tp_status rows_init(rows *r, const schema *s) {
    memset(r, 0, sizeof *r);
    r->n_feat = s->n_feat;
    r->has_cid = s->has_cid;
    if (s->n_feat) {
        r->fv = tp_calloc(s->n_feat, sizeof *r->fv);
        r->fok = tp_calloc(s->n_feat, sizeof *r->fok);
        if (!r->fv || !r->fok) return tp_fail(TP_ERR_NOMEM, "out of memory");
    }
    return TP_OK;
}

static void rows_free(rows *r) {
    tp_free(r->uid);
    tp_free(r->ts);
    tp_free(r->cid);
    tp_free(r->camp);
    tp_free(r->conv);
    for (size_t f = 0; f < r->n_feat; f++) {
        if (r->fv) tp_free(r->fv[f]);
        if (r->fok) tp_free(r->fok[f]);
    }
    tp_free(r->fv);
    tp_free(r->fok);
    memset(r, 0, sizeof *r);
}

static tp_status grow1(void **p, size_t n, size_t elem) {
    void *q = tp_realloc(*p, n * elem);
    if (!q) return tp_fail(TP_ERR_NOMEM, "out of memory holding %zu impressions", n);
    *p = q;
    return TP_OK;
}

static tp_status rows_reserve(rows *r, size_t need) {
    if (need <= r->cap) return TP_OK;
    size_t cap = r->cap ? r->cap : 1024;
    while (cap < need) cap *= 2;
    tp_status rc;
    if ((rc = grow1((void **)&r->uid, cap, 8)) || (rc = grow1((void **)&r->ts, cap, 8)) ||
        (rc = grow1((void **)&r->camp, cap, 4)) || (rc = grow1((void **)&r->conv, cap, 1)))
        return rc;
    if (r->has_cid && (rc = grow1((void **)&r->cid, cap, 8))) return rc;
    for (size_t f = 0; f < r->n_feat; f++)
        if ((rc = grow1((void **)&r->fv[f], cap, 8)) || (rc = grow1((void **)&r->fok[f], cap, 1)))
            return rc;
    r->cap = cap;
    return TP_OK;
}

static void rows_clear(rows *r) { r->n = 0; }

// ---- bucket files: one fixed-size record per row, in input order ----

static void rec_put(const rows *r, size_t i, uint8_t *p) {
    memcpy(p, &r->uid[i], 8), p += 8;
    memcpy(p, &r->ts[i], 8), p += 8;
    memcpy(p, &r->camp[i], 4), p += 4;
    *p++ = r->conv[i];
    if (r->has_cid) memcpy(p, &r->cid[i], 8), p += 8;
    for (size_t f = 0; f < r->n_feat; f++) {
        memcpy(p, &r->fv[f][i], 8), p += 8;
        *p++ = r->fok[f][i];
    }
}

static void rec_get(rows *r, size_t i, const uint8_t *p) {
    memcpy(&r->uid[i], p, 8), p += 8;
    memcpy(&r->ts[i], p, 8), p += 8;
    memcpy(&r->camp[i], p, 4), p += 4;
    r->conv[i] = *p++;
    if (r->has_cid) memcpy(&r->cid[i], p, 8), p += 8;
    for (size_t f = 0; f < r->n_feat; f++) {
        memcpy(&r->fv[f][i], p, 8), p += 8;
        r->fok[f][i] = *p++;
    }
}

typedef struct bucketset {
    FILE *fp[N_FANOUT];
    char *path[N_FANOUT];
    uint64_t n[N_FANOUT];
    int depth;
} bucketset;

static void bucketset_close(bucketset *b, bool unlink_files) {
    for (int i = 0; i < N_FANOUT; i++) {
        if (b->fp[i]) fclose(b->fp[i]);
        b->fp[i] = NULL;
        if (unlink_files && b->path[i]) unlink(b->path[i]);
        tp_free(b->path[i]);
        b->path[i] = NULL;
    }
}

static tp_status bucketset_open(bucketset *b, const char *dir, const char *prefix, int depth) {
    memset(b, 0, sizeof *b);
    b->depth = depth;
    for (int i = 0; i < N_FANOUT; i++) {
        size_t n = strlen(dir) + strlen(prefix) + 32;
        b->path[i] = tp_malloc(n);
        if (!b->path[i]) return tp_fail(TP_ERR_NOMEM, "out of memory");
        snprintf(b->path[i], n, "%s/%s%02x.bin", dir, prefix, i);
        b->fp[i] = fopen(b->path[i], "wb");
        if (!b->fp[i])
            return tp_fail(TP_ERR_IO, "cannot create bucket file '%s': %s", b->path[i], strerror(errno));
        setvbuf(b->fp[i], NULL, _IOFBF, 1 << 16);
    }
    return TP_OK;
}

static tp_status bucketset_put(bucketset *b, const rows *r, size_t rsz) {
    uint8_t buf[4096];
    if (rsz > sizeof buf) return tp_fail(TP_ERR_ARG, "too many feature columns for a bucket record");
    for (size_t i = 0; i < r->n; i++) {
        unsigned k = bucket_of(r->uid[i], b->depth);
        rec_put(r, i, buf);
        if (fwrite(buf, 1, rsz, b->fp[k]) != rsz)
            return tp_fail(TP_ERR_IO, "cannot write bucket file '%s': %s", b->path[k], strerror(errno));
        b->n[k]++;
    }
    return TP_OK;
}

static tp_status bucketset_finish_writes(bucketset *b) {
    for (int i = 0; i < N_FANOUT; i++) {
        if (b->fp[i] && fclose(b->fp[i]) != 0) {
            b->fp[i] = NULL;
            return tp_fail(TP_ERR_IO, "cannot write bucket file '%s': %s", b->path[i], strerror(errno));
        }
        b->fp[i] = NULL;
    }
    return TP_OK;
}

static tp_status read_bucket(const char *path, uint64_t n, size_t rsz, rows *r) {
    tp_status rc = TP_OK;
    uint8_t buf[1 << 16];
    FILE *fp = fopen(path, "rb");
    if (!fp) return tp_fail(TP_ERR_IO, "cannot open bucket file '%s': %s", path, strerror(errno));
    rows_clear(r);
    if ((rc = rows_reserve(r, n)) != TP_OK) goto done;
    size_t per = sizeof buf / rsz;
    while (r->n < n) {
        size_t want = n - r->n < per ? n - r->n : per;
        if (fread(buf, rsz, want, fp) != want) {
            rc = tp_fail(TP_ERR_IO, "bucket file '%s' is short", path);
            goto done;
        }
        for (size_t i = 0; i < want; i++) rec_get(r, r->n + i, buf + i * rsz);
        r->n += want;
    }
done:
    fclose(fp);
    return rc;
}

// ---- pending chunks (concatenated before they go to the sink) ----

typedef struct collect {
    tp_journeys **parts;
    tp_frame *feats;
    size_t n_parts, cap, n;
} collect;

static void collect_clear(collect *c) {
    for (size_t p = 0; p < c->n_parts; p++) tp_journeys_free(c->parts[p]);
    tp_free(c->parts);
    tp_frame_free(c->feats);
    memset(c, 0, sizeof *c);
}

/* Take j's arrays (j is left empty) and the feats frame (owned from here on). */
static tp_status collect_add(collect *c, tp_journeys *j, tp_frame *feats) {
    tp_status rc;
    tp_journeys *copy = NULL;
    if ((rc = tp_grow((void **)&c->parts, &c->cap, c->n_parts + 1, sizeof *c->parts)) != TP_OK ||
        (rc = tp_journeys_alloc(0, 0, 0, false, &copy)) != TP_OK) {
        tp_frame_free(feats);
        return rc;
    }
    tp_journeys tmp = *copy;
    *copy = *j;
    *j = tmp;
    c->parts[c->n_parts++] = copy;
    c->n += copy->n;
    if (!c->feats) {
        c->feats = feats;
        return TP_OK;
    }
    rc = tp_frame_append(c->feats, feats);
    tp_frame_free(feats);
    return rc;
}

/* Concatenate chunks (same campaigns) into one journey set. */
static tp_status concat_parts(collect *c, size_t K, char **campaigns, size_t L, bool with_value,
                              tp_journeys **out) {
    size_t n = 0, t = 0;
    for (size_t p = 0; p < c->n_parts; p++) n += c->parts[p]->n, t += c->parts[p]->n_touches;
    tp_journeys *j;
    tp_status rc = tp_journeys_alloc(n, t, K, with_value, &j);
    if (rc != TP_OK) return rc;
    j->max_len = L;
    for (size_t k = 0; k < K; k++)
        if (!(j->campaigns[k] = tp_strdup(campaigns[k]))) {
            tp_journeys_free(j);
            return tp_fail(TP_ERR_NOMEM, "out of memory");
        }
    size_t a = 0, b = 0;
    for (size_t p = 0; p < c->n_parts; p++) {
        tp_journeys *q = c->parts[p];
        memcpy(j->journey_id + a, q->journey_id, q->n * 8);
        memcpy(j->uid + a, q->uid, q->n * 8);
        memcpy(j->converted + a, q->converted, q->n);
        memcpy(j->length + a, q->length, q->n * 4);
        if (with_value) memcpy(j->value + a, q->value, q->n * 8);
        for (size_t i = 0; i < q->n; i++) j->off[a + i] = b + q->off[i];
        memcpy(j->campaign + b, q->campaign, q->n_touches * 4);
        memcpy(j->seconds_to_end + b, q->seconds_to_end, q->n_touches * 8);
        a += q->n;
        b += q->n_touches;
    }
    j->off[n] = b;
    *out = j;
    return TP_OK;
}

// ---- the engine ----

/* What one thread needs to turn partitions into journeys: its own counters, the journeys it made
 * (ids are assigned later, in order, by engine_flush) and scratch rows. */
typedef struct worker {
    tp_journeys_stats st; /* counts and length histogram of what this worker built */
    size_t hist_cap;
    collect pend;
    rows sub;
    bool sub_ready;
} worker;

static void worker_clear(worker *w) {
    tp_free(w->st.length_hist);
    collect_clear(&w->pend);
    rows_free(&w->sub);
    memset(w, 0, sizeof *w);
}

typedef struct engine engine;
/* Receives each finished chunk of journeys (in global order) with its per-journey features. */
typedef tp_status (*chunk_fn)(void *ud, engine *e, tp_journeys *j, tp_frame *feats);

struct engine {
    tp_journeys_build_opts o;
    const char *source;
    schema sc;
    rows part[N_FANOUT]; /* rows in memory, by the top 8 bits of the uid hash */
    size_t mem_n;        /* rows held in part[] */
    rows mem;            /* scratch rows for bucket files */
    uint64_t row_base;  /* input rows seen so far (for error messages) */
    bool spilling;
    char *tmpdir;
    bucketset top;
    size_t rsz;
    /* after the scan */
    char **campaigns;   /* sorted names */
    int32_t *rank;      /* code -> index in campaigns */
    size_t K;
    int64_t next_id;
    tp_journeys_stats st; /* totals (workers' counts are merged in) */
    size_t hist_cap;
    worker w0;            /* the sequential path's worker */
    chunk_fn sink;
    void *sink_ud;
    tp_progress *prog;
    collect pend;       /* journeys waiting to go to the sink in one larger chunk */
    double t_sink;      /* seconds spent in the sink (writing), for the debug log */
};

static tp_status engine_init(engine *e, const tp_journeys_build_opts *o, const char *source) {
    memset(e, 0, sizeof *e);
    if (o) e->o = *o;
    else tp_journeys_build_opts_default(&e->o);
    if (e->o.max_len == 0) return tp_fail(TP_ERR_ARG, "max_len must be at least 1");
    if (e->o.n_split != 1 && e->o.n_split != 3)
        return tp_fail(TP_ERR_ARG, "split needs 1 or 3 fractions, got %zu", e->o.n_split);
    if (e->o.n_split == 3) {
        double t = 0;
        for (int i = 0; i < 3; i++) {
            if (!(e->o.split[i] >= 0)) return tp_fail(TP_ERR_ARG, "split fractions must be >= 0");
            t += e->o.split[i];
        }
        if (!(t > 0)) return tp_fail(TP_ERR_ARG, "split fractions must not all be zero");
    }
    if (e->o.lookback_seconds < 0) return tp_fail(TP_ERR_ARG, "lookback must be >= 0");
    e->source = source ? source : "impressions";
    e->next_id = 1;
    e->st.max_len = e->o.max_len;
    return TP_OK;
}

static void rm_tmpdir(const char *dir) {
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *de;
        while ((de = readdir(d))) {
            if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
            size_t n = strlen(dir) + strlen(de->d_name) + 2;
            char *p = tp_malloc(n);
            if (!p) continue;
            snprintf(p, n, "%s/%s", dir, de->d_name);
            unlink(p);
            tp_free(p);
        }
        closedir(d);
    }
    rmdir(dir);
}

static void engine_free(engine *e) {
    collect_clear(&e->pend);
    worker_clear(&e->w0);
    bucketset_close(&e->top, true);
    if (e->tmpdir) rm_tmpdir(e->tmpdir);
    tp_free(e->tmpdir);
    rows_free(&e->mem);
    for (size_t b = 0; b < N_FANOUT; b++) rows_free(&e->part[b]);
    schema_free(&e->sc);
    for (size_t i = 0; e->campaigns && i < e->K; i++) tp_free(e->campaigns[i]);
    tp_free(e->campaigns);
    tp_free(e->rank);
    tp_journeys_stats_clear(&e->st);
    tp_progress_end(e->prog);
}

static size_t est_row_bytes(const engine *e) { return e->rsz + 48; }

static tp_status mark_seen(schema *s, int32_t code) {
    if ((size_t)code >= s->seen_cap) {
        size_t cap = s->seen_cap ? s->seen_cap : 64;
        while (cap <= (size_t)code) cap *= 2;
        uint8_t *p = tp_realloc(s->seen, cap);
        if (!p) return tp_fail(TP_ERR_NOMEM, "out of memory");
        memset(p + s->seen_cap, 0, cap - s->seen_cap);
        s->seen = p;
        s->seen_cap = cap;
    }
    s->seen[code] = 1;
    return TP_OK;
}

static tp_status ts_seconds(const tp_column *c, size_t i, int64_t *out) {
    int64_t v = tp_column_get_i64(c, i);
    if (tp_column_type(c) == TP_DTYPE_TIMESTAMP) {
        int64_t div = 1;
        switch (tp_column_unit(c)) {
        case TP_UNIT_SECONDS: div = 1; break;
        case TP_UNIT_MILLIS: div = 1000; break;
        case TP_UNIT_MICROS: div = 1000000; break;
        case TP_UNIT_NANOS: div = 1000000000; break;
        }
        int64_t q = v / div;
        if ((v % div) < 0) q--; /* floor */
        v = q;
    } else if (tp_column_type(c) == TP_DTYPE_DATE) {
        v *= 86400;
    }
    *out = v;
    return TP_OK;
}

/* One batch's columns on their way into the partitions: row i goes to P[bk[i]] at pos[i]. */
typedef struct ingest_job {
    engine *e;
    size_t n;
    const uint8_t *bk;
    const uint32_t *pos;
    rows *P;
    tp_column *cu, *ct, *cc, *cv, *ci;
    const int64_t *u64;
    const int32_t *u32;
    const int64_t *t64;
    tp_dtype tt;
    const uint8_t *conv_b;
    const int64_t *conv_l;
    const int32_t *conv_i;
    const int64_t *cid64;
    bool camp_str, camp_nulls; /* a null campaign is an event row, not a touch (code NO_TOUCH) */
    const int32_t *camp_codes;
    tp_strdict *camp_dict;
    tp_column **fc;
    const bool *fnull;
} ingest_job;

// Task 0: campaign; 1: conversion (+ conversion_id); 2: uid; 3: timestamp; 4 + k: feature k.
static tp_status ingest_task(const ingest_job *jb, size_t task) {
    tp_status rc = TP_OK;
    schema *s = &jb->e->sc;
    const size_t n = jb->n;
    const uint8_t *bk = jb->bk;
    const uint32_t *pos = jb->pos;
    rows *P = jb->P;
#define SCATTER(field, expr)                                                   \
    for (size_t i = 0; i < n; i++) P[bk[i]].field[pos[i]] = (expr)
    if (task == 0 && jb->camp_str) {
        const int32_t *camp_codes = jb->camp_codes;
        tp_strdict *camp_dict = jb->camp_dict;
        for (size_t i = 0; i < n; i++) {
            int32_t c = camp_codes[i], code;
            if (jb->camp_nulls && tp_column_is_null(jb->cc, i)) {
                P[bk[i]].camp[pos[i]] = NO_TOUCH;
                continue;
            }
            if (camp_dict == s->camp_rm.src && c >= 0 && (size_t)c < s->camp_rm.cap &&
                s->camp_rm.map[c] >= 0) {
                code = s->camp_rm.map[c]; /* fast path: already mapped */
            } else if ((rc = remap_code(&s->camp_rm, s->names, camp_dict, c, &code)) != TP_OK ||
                       (rc = mark_seen(s, code)) != TP_OK) {
                return rc;
            }
            P[bk[i]].camp[pos[i]] = code;
        }
    } else if (task == 0) {
        tp_column *cc = jb->cc;
        for (size_t i = 0; i < n; i++) {
            int64_t v = tp_column_get_i64(cc, i), val = -1;
            int32_t code;
            if (jb->camp_nulls && tp_column_is_null(cc, i)) {
                P[bk[i]].camp[pos[i]] = NO_TOUCH;
                continue;
            }
            if (!s->camp_int && (rc = tp_i64map_new(1024, &s->camp_int)) != TP_OK) return rc;
            if (!tp_i64map_get(s->camp_int, v, &val)) {
                char buf[32];
                int len = snprintf(buf, sizeof buf, "%" PRId64, v);
                if ((rc = tp_strdict_intern(s->names, buf, (size_t)len, &code)) != TP_OK) return rc;
                val = code;
                int ins;
                if ((rc = tp_i64map_get_or_put(s->camp_int, v, &val, &ins)) != TP_OK) return rc;
                if ((rc = mark_seen(s, code)) != TP_OK) return rc;
            }
            P[bk[i]].camp[pos[i]] = (int32_t)val;
        }
    } else if (task == 1) {
        tp_column *cv = jb->cv, *ci = jb->ci;
        if (jb->conv_b) SCATTER(conv, jb->conv_b[i] != 0);
        else if (jb->conv_l) SCATTER(conv, jb->conv_l[i] != 0);
        else if (jb->conv_i) SCATTER(conv, jb->conv_i[i] != 0);
        else SCATTER(conv, !tp_column_is_null(cv, i) && tp_column_get_i64(cv, i) != 0);
        if (jb->cid64) SCATTER(cid, jb->cid64[i]);
        else if (ci) SCATTER(cid, tp_column_is_null(ci, i) ? 0 : tp_column_get_i64(ci, i));
    } else if (task == 2) {
        if (jb->u64) SCATTER(uid, jb->u64[i]);
        else if (jb->u32) SCATTER(uid, jb->u32[i]);
        else SCATTER(uid, tp_column_get_i64(jb->cu, i));
    } else if (task == 3) {
        tp_column *ct = jb->ct;
        if (jb->t64) {
            SCATTER(ts, jb->t64[i]);
        } else if (jb->tt == TP_DTYPE_I32) {
            const int32_t *t32 = TP_CCOL(ct, int32_t);
            SCATTER(ts, t32[i]);
        } else {
            for (size_t i = 0; i < n; i++) ts_seconds(ct, i, &P[bk[i]].ts[pos[i]]);
        }
    } else {
        size_t k = task - 4;
        feat *ft = &s->feats[k];
        tp_column *c = jb->fc[k];
        tp_dtype t = tp_column_type(c);
        for (size_t i = 0; i < n; i++) {
            rows *r = &P[bk[i]];
            size_t o = pos[i];
            bool ok = !jb->fnull[k] || !tp_column_is_null(c, i);
            int64_t v = 0;
            if (ok) {
                if (ft->is_value || t == TP_DTYPE_F64 || t == TP_DTYPE_F32) {
                    double d = tp_column_get_f64(c, i);
                    memcpy(&v, &d, 8);
                } else if (tp_dtype_is_string(t)) {
                    int32_t fcode;
                    rc = remap_code(&ft->rm, ft->dict, tp_column_dict(c), TP_CCOL(c, int32_t)[i], &fcode);
                    if (rc != TP_OK) return rc;
                    v = fcode;
                } else {
                    v = tp_column_get_i64(c, i);
                }
            }
            r->fv[k][o] = v;
            r->fok[k][o] = ok;
        }
    }
#undef SCATTER
    return rc;
}

static tp_status ingest_fn(void *ctx, size_t lo, size_t hi, int tid) {
    (void)tid;
    for (size_t t = lo; t < hi; t++) {
        tp_status rc = ingest_task(ctx, t);
        if (rc != TP_OK) return rc;
    }
    return TP_OK;
}

/* Append one batch to e->mem, converting types. */
static tp_status engine_ingest(engine *e, const tp_frame *f) {
    tp_status rc;
    schema *s = &e->sc;
    const char *src = e->source;
    if (!s->resolved) {
        if ((rc = schema_resolve(s, f, src)) != TP_OK) return rc;
        if ((rc = rows_init(&e->mem, s)) != TP_OK) return rc;
        for (size_t b = 0; b < N_FANOUT; b++)
            if ((rc = rows_init(&e->part[b], s)) != TP_OK) return rc;
        e->rsz = rec_size(s);
    }
    size_t n = tp_frame_n_rows(f);
    tp_column *cu = tp_frame_find(f, "uid"), *ct = tp_frame_find(f, "timestamp"),
              *cc = tp_frame_find(f, "campaign"), *cv = tp_frame_find(f, "conversion"),
              *ci = tp_frame_find(f, "conversion_id");
    if (!cu || !ct || !cc || !cv)
        return tp_fail(TP_ERR_NOTFOUND, "%s: a batch lacks one of uid, timestamp, campaign, conversion", src);
    if (!is_int_type(tp_column_type(cu)))
        return tp_fail(TP_ERR_FORMAT, "%s: column 'uid' is %s, expected an integer", src,
                       tp_dtype_name(tp_column_type(cu)));
    tp_dtype tt = tp_column_type(ct);
    if (!is_int_type(tt) && tt != TP_DTYPE_TIMESTAMP && tt != TP_DTYPE_DATE)
        return tp_fail(TP_ERR_FORMAT, "%s: column 'timestamp' is %s, expected int64 seconds or a timestamp",
                       src, tp_dtype_name(tt));
    tp_dtype camp_t = tp_column_type(cc);
    if (!is_int_type(camp_t) && !tp_dtype_is_string(camp_t))
        return tp_fail(TP_ERR_FORMAT, "%s: column 'campaign' is %s, expected a string or an integer",
                       src, tp_dtype_name(camp_t));
    tp_dtype cvt = tp_column_type(cv);
    if (cvt != TP_DTYPE_BOOL && !is_int_type(cvt))
        return tp_fail(TP_ERR_FORMAT, "%s: column 'conversion' is %s, expected bool or 0/1", src,
                       tp_dtype_name(cvt));
    if ((ci != NULL) != s->has_cid)
        return tp_fail(TP_ERR_FORMAT, "%s: column 'conversion_id' is not in every batch", src);
    if (ci && !is_int_type(tp_column_type(ci)))
        return tp_fail(TP_ERR_FORMAT, "%s: column 'conversion_id' is %s, expected an integer", src,
                       tp_dtype_name(tp_column_type(ci)));
    tp_column *fc[s->n_feat ? s->n_feat : 1];
    for (size_t k = 0; k < s->n_feat; k++) {
        fc[k] = tp_frame_find(f, s->feats[k].name);
        if (!fc[k])
            return tp_fail(TP_ERR_FORMAT, "%s: column '%s' is not in every batch", src, s->feats[k].name);
        tp_dtype t = tp_column_type(fc[k]);
        if (t != s->feats[k].in_type && !(s->feats[k].is_value && is_numeric(t)))
            return tp_fail(TP_ERR_FORMAT, "%s: column '%s' changes type from %s to %s between batches",
                           src, s->feats[k].name, tp_dtype_name(s->feats[k].in_type), tp_dtype_name(t));
    }
    const int64_t *u64 = tp_column_type(cu) == TP_DTYPE_I64 ? TP_CCOL(cu, int64_t) : NULL;
    const int32_t *u32 = tp_column_type(cu) == TP_DTYPE_I32 ? TP_CCOL(cu, int32_t) : NULL;
    const bool uid_nulls = tp_column_null_count(cu) > 0, ts_nulls = tp_column_null_count(ct) > 0;
    const bool camp_nulls = tp_column_null_count(cc) > 0;
    // Each row goes to its partition: the top 8 bits of its uid hash (also the spill bucket), so
    // rows of one user end up together, in input order, without a global sort.
    uint8_t *bk = tp_malloc(n);
    if (!bk) return tp_fail(TP_ERR_NOMEM, "out of memory");
    size_t cnt[N_FANOUT] = {0};
    for (size_t i = 0; i < n; i++) {
        if (uid_nulls && tp_column_is_null(cu, i)) {
            tp_free(bk);
            return tp_fail(TP_ERR_FORMAT, "%s: column 'uid' is null at row %" PRIu64, src, e->row_base + i);
        }
        int64_t uid = u64 ? u64[i] : u32 ? u32[i] : tp_column_get_i64(cu, i);
        bk[i] = (uint8_t)bucket_of(uid, 0);
        cnt[bk[i]]++;
    }
    for (size_t b = 0; b < N_FANOUT; b++)
        if ((rc = rows_reserve(&e->part[b], e->part[b].n + cnt[b])) != TP_OK) {
            tp_free(bk);
            return rc;
        }
    const bool ts_plain = tt == TP_DTYPE_I64 ||
                          (tt == TP_DTYPE_TIMESTAMP && tp_column_unit(ct) == TP_UNIT_SECONDS);
    const int64_t *t64 = ts_plain ? TP_CCOL(ct, int64_t) : NULL;
    const bool conv_dense = tp_column_null_count(cv) == 0;
    const int64_t *cid64 = ci && tp_column_type(ci) == TP_DTYPE_I64 && tp_column_null_count(ci) == 0
                               ? TP_CCOL(ci, int64_t)
                               : NULL;
    bool fnull[s->n_feat ? s->n_feat : 1];
    for (size_t k = 0; k < s->n_feat; k++) fnull[k] = tp_column_null_count(fc[k]) > 0;
    const uint8_t *conv_b = conv_dense && cvt == TP_DTYPE_BOOL ? TP_CCOL(cv, uint8_t) : NULL;
    const int64_t *conv_l = conv_dense && cvt == TP_DTYPE_I64 ? TP_CCOL(cv, int64_t) : NULL;
    const int32_t *conv_i = conv_dense && cvt == TP_DTYPE_I32 ? TP_CCOL(cv, int32_t) : NULL;
    const bool camp_str = tp_dtype_is_string(camp_t);
    const int32_t *camp_codes = camp_str ? TP_CCOL(cc, int32_t) : NULL;
    tp_strdict *camp_dict = camp_str ? tp_column_dict(cc) : NULL;
    // Column at a time: each row's slot in its partition is fixed once (pos), then every column is
    // converted in its own tight loop instead of one branchy loop over rows.
    uint32_t *pos = tp_malloc((n ? n : 1) * sizeof *pos);
    if (!pos) {
        tp_free(bk);
        return tp_fail(TP_ERR_NOMEM, "out of memory");
    }
    {
        size_t next[N_FANOUT];
        for (size_t b = 0; b < N_FANOUT; b++) next[b] = e->part[b].n;
        for (size_t i = 0; i < n; i++) pos[i] = (uint32_t)next[bk[i]]++;
    }
    rows *P = e->part;
    if (ts_nulls) {
        for (size_t i = 0; i < n; i++)
            if (tp_column_is_null(ct, i)) {
                rc = tp_fail(TP_ERR_FORMAT, "%s: column 'timestamp' is null at row %" PRIu64, src,
                             e->row_base + i);
                goto fail;
            }
    }
    {
        // The columns are independent (each task owns its remap state): scatter them on the
        // threads. Tasks are ordered so two threads get similar loads.
        ingest_job jb = {e, n, bk, pos, P, cu, ct, cc, cv, ci, u64, u32, t64, tt, conv_b, conv_l,
                         conv_i, cid64, camp_str, camp_nulls, camp_codes, camp_dict, fc, fnull};
        size_t ntask = 4 + s->n_feat;
        int T = n >= 65536 ? tp_threads_default() : 1;
        if ((rc = tp_parallel_for(ntask, T, ingest_fn, &jb)) != TP_OK) goto fail;
    }
    for (size_t b = 0; b < N_FANOUT; b++) P[b].n += cnt[b];
    tp_free(pos);
    tp_free(bk);
    e->mem_n += n;
    e->row_base += n;
    e->st.impressions += n;
    return TP_OK;
fail:
    tp_free(pos);
    tp_free(bk);
    return rc;
}

static tp_status engine_spill(engine *e) {
    tp_status rc;
    if (!e->spilling) {
        const char *base = e->o.tmp_dir ? e->o.tmp_dir : getenv("TMPDIR");
        if (!base || !*base) base = "/tmp";
        size_t n = strlen(base) + 32;
        e->tmpdir = tp_malloc(n);
        if (!e->tmpdir) return tp_fail(TP_ERR_NOMEM, "out of memory");
        snprintf(e->tmpdir, n, "%s/.tp-journeys-XXXXXX", base);
        if (!mkdtemp(e->tmpdir)) {
            rc = tp_fail(TP_ERR_IO, "cannot create a temporary folder in '%s': %s", base, strerror(errno));
            tp_free(e->tmpdir);
            e->tmpdir = NULL;
            return rc;
        }
        if ((rc = bucketset_open(&e->top, e->tmpdir, "b0_", 0)) != TP_OK) return rc;
        e->spilling = true;
    }
    uint8_t buf[4096];
    if (e->rsz > sizeof buf) return tp_fail(TP_ERR_ARG, "too many feature columns for a bucket record");
    for (int b = 0; b < N_FANOUT; b++) {
        rows *r = &e->part[b];
        for (size_t i = 0; i < r->n; i++) {
            rec_put(r, i, buf);
            if (fwrite(buf, 1, e->rsz, e->top.fp[b]) != e->rsz)
                return tp_fail(TP_ERR_IO, "cannot write bucket file '%s': %s", e->top.path[b], strerror(errno));
        }
        e->top.n[b] += r->n;
        rows_clear(r);
    }
    e->mem_n = 0;
    return TP_OK;
}

static tp_status engine_add(engine *e, const tp_frame *f) {
    tp_status rc = engine_ingest(e, f);
    if (rc != TP_OK) return rc;
    tp_progress_add(e->prog, tp_frame_n_rows(f));
    bool over = (e->o.memory_bytes && e->mem_n * est_row_bytes(e) > e->o.memory_bytes) ||
                e->mem_n >= (size_t)UINT32_MAX - 1;
    if (e->spilling || over) return engine_spill(e);
    return TP_OK;
}

// ---- from sorted rows to journeys ----

/* Add count journeys of length len to a histogram (grown as needed). */
static tp_status hist_bump(tp_journeys_stats *st, size_t *hist_cap, size_t len, uint64_t count) {
    if (len > HIST_MAX) len = HIST_MAX; /* the last bin holds every longer journey */
    if (len >= *hist_cap) {
        size_t cap = *hist_cap ? *hist_cap : 64;
        while (cap <= len) cap *= 2;
        uint64_t *h = tp_realloc(st->length_hist, cap * sizeof *h);
        if (!h) return tp_fail(TP_ERR_NOMEM, "out of memory");
        memset(h + *hist_cap, 0, (cap - *hist_cap) * sizeof *h);
        st->length_hist = h;
        *hist_cap = cap;
    }
    st->length_hist[len] += count;
    if (len + 1 > st->hist_len) st->hist_len = len + 1;
    return TP_OK;
}

static tp_status hist_add(worker *w, size_t len) { return hist_bump(&w->st, &w->hist_cap, len, 1); }

/* Per-journey feature columns for journeys whose last touch is row last[k]. */
static tp_status feature_frame(engine *e, const rows *r, const uint32_t *last, size_t J, tp_frame **out) {
    tp_frame *f = NULL;
    tp_column *c = NULL;
    tp_status rc = tp_frame_new(&f);
    if (rc != TP_OK) return rc;
    for (size_t k = 0; k < e->sc.n_feat; k++) {
        feat *ft = &e->sc.feats[k];
        if (tp_dtype_is_string(ft->type)) rc = tp_column_new_dict(ft->name, ft->type, ft->dict, J, &c);
        else rc = tp_column_new(ft->name, ft->type, J, &c);
        if (rc != TP_OK) goto done;
        if (ft->type == TP_DTYPE_TIMESTAMP) tp_column_set_unit(c, ft->unit);
        if ((rc = tp_column_resize(c, J)) != TP_OK) goto done;
        const int64_t *fv = r->fv[k];
        for (size_t i = 0; i < J; i++) {
            int64_t v = fv[last[i]];
            switch (ft->type) {
            case TP_DTYPE_BOOL: TP_COL(c, uint8_t)[i] = (uint8_t)(v != 0); break;
            case TP_DTYPE_I32:
            case TP_DTYPE_DATE:
            case TP_DTYPE_STR:
            case TP_DTYPE_BYTES: TP_COL(c, int32_t)[i] = (int32_t)v; break;
            case TP_DTYPE_I64:
            case TP_DTYPE_TIMESTAMP: TP_COL(c, int64_t)[i] = v; break;
            case TP_DTYPE_F32: {
                double d;
                memcpy(&d, &v, 8);
                TP_COL(c, float)[i] = (float)d;
                break;
            }
            case TP_DTYPE_F64: memcpy(&TP_COL(c, double)[i], &v, 8); break;
            }
        }
        for (size_t i = 0; i < J; i++)
            if (!r->fok[k][last[i]] && (rc = tp_column_set_null(c, i, true)) != TP_OK) goto done;
        rc = tp_frame_add_take(f, c);
        c = NULL;
        if (rc != TP_OK) goto done;
    }
    *out = f;
    f = NULL;
done:
    tp_column_free(c);
    tp_frame_free(f);
    return rc;
}

/* Hand the pending journeys to the sink as one chunk. */
static tp_status engine_flush(engine *e) {
    tp_journeys *j = NULL;
    if (e->pend.n_parts == 0) return TP_OK;
    tp_status rc = concat_parts(&e->pend, e->K, e->campaigns, e->o.max_len, e->sc.has_value, &j);
    // Ids: the dense sequence number in output order (uid hash, then end time), whoever built them.
    for (size_t q = 0; rc == TP_OK && q < j->n; q++) j->journey_id[q] = e->next_id++;
    double t0 = tp_now();
    if (rc == TP_OK) rc = e->sink(e->sink_ud, e, j, e->pend.feats);
    e->t_sink += tp_now() - t0;
    tp_journeys_free(j);
    collect_clear(&e->pend);
    return rc;
}

/* Move what a worker built (counts and journeys, in order) into the engine; flush big chunks. */
static tp_status drain(engine *e, worker *w) {
    tp_status rc = TP_OK;
    tp_journeys_stats *a = &e->st, *b = &w->st;
    a->users += b->users;
    a->journeys += b->journeys;
    a->conversions += b->conversions;
    a->touches += b->touches;
    a->cut += b->cut;
    a->events += b->events;
    a->empty += b->empty;
    a->duplicates += b->duplicates;
    a->lookback_dropped += b->lookback_dropped;
    for (size_t k = 0; k < b->hist_len && rc == TP_OK; k++)
        if (b->length_hist[k]) rc = hist_bump(a, &e->hist_cap, k, b->length_hist[k]);
    uint64_t *h = b->length_hist;
    size_t hc = w->hist_cap;
    memset(b, 0, sizeof *b);
    if (h) memset(h, 0, hc * sizeof *h);
    b->length_hist = h;
    if (rc != TP_OK) return rc;
    collect *c = &w->pend;
    for (size_t p = 0; p < c->n_parts; p++) {
        if ((rc = tp_grow((void **)&e->pend.parts, &e->pend.cap, e->pend.n_parts + 1,
                          sizeof *e->pend.parts)) != TP_OK)
            return rc;
        e->pend.parts[e->pend.n_parts++] = c->parts[p];
        e->pend.n += c->parts[p]->n;
        c->parts[p] = NULL;
    }
    c->n_parts = 0;
    c->n = 0;
    if (c->feats) {
        if (!e->pend.feats) {
            e->pend.feats = c->feats;
        } else {
            rc = tp_frame_append(e->pend.feats, c->feats);
            tp_frame_free(c->feats);
        }
        c->feats = NULL;
    }
    if (rc == TP_OK && e->pend.n >= CHUNK_ROWS) rc = engine_flush(e);
    return rc;
}

/* rank[i] = the position of uid[i]'s key (uid_key) among the distinct keys of uid[0..n): sorting
 * by (rank, time) gives the same stable order as sorting by (key, time), as keys are distinct
 * exactly when uids are (the hash is a bijection). */
static tp_status user_ranks(const int64_t *uid, size_t n, int64_t *rank) {
    tp_status rc = TP_OK;
    size_t cap = 16, m = 0;
    while (cap < 2 * n) cap <<= 1;
    int64_t *su = tp_malloc(cap * sizeof *su), *ukey = tp_malloc(n * sizeof *ukey);
    uint32_t *sid = tp_malloc(cap * sizeof *sid), *uix = tp_malloc(n * sizeof *uix);
    uint32_t *uperm = tp_malloc(n * sizeof *uperm);
    if (!su || !ukey || !sid || !uix || !uperm) {
        rc = tp_fail(TP_ERR_NOMEM, "out of memory ranking the users of %zu impressions", n);
        goto done;
    }
    memset(sid, 0xff, cap * sizeof *sid);
    for (size_t i = 0; i < n; i++) {
        uint64_t h = uid_hash(uid[i]);
        size_t s = (size_t)h & (cap - 1);
        while (sid[s] != UINT32_MAX && su[s] != uid[i]) s = (s + 1) & (cap - 1);
        if (sid[s] == UINT32_MAX) {
            su[s] = uid[i];
            sid[s] = (uint32_t)m;
            ukey[m++] = (int64_t)(h ^ (1ULL << 63));
        }
        uix[i] = sid[s];
    }
    if ((rc = tp_radix_sort_i64(ukey, m, uperm)) != TP_OK) goto done;
    for (size_t q = 0; q < m; q++) sid[uperm[q]] = (uint32_t)q; /* reuse sid: user -> rank */
    for (size_t i = 0; i < n; i++) rank[i] = sid[uix[i]];
done:
    tp_free(su);
    tp_free(ukey);
    tp_free(sid);
    tp_free(uix);
    tp_free(uperm);
    return rc;
}

/* Sort one set of rows (all of some users), cut journeys, queue them for the sink. */
/* Per-event units: what the user's earlier units (events) tell before this one, as control
 * variables: hist_prev_events (earlier events of the user, e.g. visits), hist_prev_conversions,
 * and hist_events_in_journey (earlier events since the last conversion: a journey that has
 * gathered many touches is one that has gone on through many events without converting, a
 * selection a model must see to read touches right). Units of a user are consecutive and in
 * time order here. */
#define N_EVENT_HIST 3
static tp_status add_event_history(const tp_journeys *j, tp_frame *feats) {
    static const char *const names[N_EVENT_HIST] = {"hist_prev_events", "hist_prev_conversions",
                                                    "hist_events_in_journey"};
    tp_column *c[N_EVENT_HIST] = {NULL, NULL, NULL};
    tp_status rc = TP_OK;
    for (int k = 0; k < N_EVENT_HIST && rc == TP_OK; k++)
        if ((rc = tp_column_new(names[k], TP_DTYPE_F64, j->n, &c[k])) == TP_OK) rc = tp_column_resize(c[k], j->n);
    if (rc == TP_OK) {
        double *ev = TP_COL(c[0], double), *cv = TP_COL(c[1], double), *ej = TP_COL(c[2], double);
        for (size_t q = 0; q < j->n; q++) {
            bool same = q > 0 && j->uid[q] == j->uid[q - 1];
            ev[q] = same ? ev[q - 1] + 1 : 0;
            cv[q] = same ? cv[q - 1] + (j->converted[q - 1] != 0) : 0;
            ej[q] = same && !j->converted[q - 1] ? ej[q - 1] + 1 : 0;
        }
    }
    for (int k = 0; k < N_EVENT_HIST && rc == TP_OK; k++) {
        rc = tp_frame_add_take(feats, c[k]);
        c[k] = NULL;
    }
    for (int k = 0; k < N_EVENT_HIST; k++) tp_column_free(c[k]);
    return rc;
}

static tp_status process_rows(engine *e, worker *w, rows *r) {
    tp_status rc = TP_OK;
    size_t n = r->n;
    int64_t *k1 = NULL, *tmp = NULL;
    uint32_t *perm = NULL, *p2 = NULL, *js = NULL, *je = NULL, *jf = NULL, *jn = NULL, *last = NULL, *ord = NULL;
    int64_t *jkey = NULL, *jend = NULL;
    tp_journeys *j = NULL;
    tp_frame *feats = NULL;
    if (n == 0) return TP_OK;
    const bool cid_mode = r->has_cid;
    k1 = tp_malloc(n * sizeof *k1);
    perm = tp_malloc(n * sizeof *perm);
    if (!k1 || !perm) {
        rc = tp_fail(TP_ERR_NOMEM, "out of memory sorting %zu impressions", n);
        goto done;
    }
    if (!cid_mode) {
        // Rank the users by key first: (rank, time) is a key of ~30 bits that one radix sort
        // handles, where (uid key, time) is too wide for one key and costs two sorts.
        if ((rc = user_ranks(r->uid, n, k1)) != TP_OK) goto done;
        if ((rc = tp_radix_sort_pairs(k1, r->ts, n, perm)) != TP_OK) goto done;
    } else {
        for (size_t i = 0; i < n; i++) k1[i] = uid_key(r->uid[i]);
        // (uid, conversion_id, time): stable sort by (cid, time), then stable by uid key.
        tmp = tp_malloc(n * sizeof *tmp);
        p2 = tp_malloc(n * sizeof *p2);
        if (!tmp || !p2) {
            rc = tp_fail(TP_ERR_NOMEM, "out of memory sorting %zu impressions", n);
            goto done;
        }
        if ((rc = tp_radix_sort_pairs(r->cid, r->ts, n, perm)) != TP_OK) goto done;
        for (size_t i = 0; i < n; i++) tmp[i] = k1[perm[i]];
        if ((rc = tp_radix_sort_i64(tmp, n, p2)) != TP_OK) goto done;
        for (size_t i = 0; i < n; i++) p2[i] = perm[p2[i]];
        tp_free(perm);
        perm = p2;
        p2 = NULL;
        tp_free(tmp);
        tmp = NULL;
    }
    tp_free(k1);
    k1 = NULL;

    // Dedupe: among rows with equal (uid, [cid,] timestamp), drop any identical in campaign,
    // conversion and conversion_id to an earlier one. Off by default.
    size_t m = n;
    if (e->o.dedupe) {
        size_t run = 0;
        m = 0;
        for (size_t i = 0; i < n; i++) {
            uint32_t a = perm[i];
            if (m > 0) {
                uint32_t p = perm[m - 1];
                bool same_key = r->uid[a] == r->uid[p] && r->ts[a] == r->ts[p] &&
                                (!cid_mode || r->cid[a] == r->cid[p]);
                if (!same_key) run = m;
            }
            bool dup = false;
            for (size_t q = run; q < m && !dup; q++) {
                uint32_t b = perm[q];
                dup = r->camp[a] == r->camp[b] && r->conv[a] == r->conv[b] &&
                      (!cid_mode || r->cid[a] == r->cid[b]);
            }
            if (dup) w->st.duplicates++;
            else perm[m++] = a;
        }
    }

    // Journey boundaries. Per-event units (opts.per_event): one unit per event row, holding the
    // touches of the current journey (since the user's last conversion) before it; units overlap.
    const bool per_event = e->o.per_event;
    if (per_event && cid_mode) {
        rc = tp_fail(TP_ERR_ARG, "per-event units do not combine with a conversion_id column");
        goto done;
    }
    size_t J = 0;
    for (size_t i = 0; i < m && per_event; i++) {
        uint32_t a = perm[i];
        if (i == 0 || r->uid[a] != r->uid[perm[i - 1]]) w->st.users++;
        J += r->camp[a] == NO_TOUCH;
    }
    for (size_t i = 0; i < m && !per_event; i++) {
        uint32_t a = perm[i];
        bool start = i == 0;
        if (!start) {
            uint32_t p = perm[i - 1];
            start = r->uid[a] != r->uid[p] ||
                    (cid_mode ? r->cid[a] != r->cid[p] : r->conv[p] != 0);
        }
        if (i == 0 || r->uid[a] != r->uid[perm[i - 1]]) w->st.users++;
        J += start;
    }
    if (J == 0) goto done; /* per-event units without an event row: nothing to emit */
    js = tp_malloc(J * sizeof *js);
    je = tp_malloc(J * sizeof *je);
    jf = tp_malloc(J * sizeof *jf);
    last = tp_malloc(J * sizeof *last);
    jn = tp_malloc(J * sizeof *jn);
    ord = tp_malloc(J * sizeof *ord);
    if (!js || !je || !jf || !jn || !last || !ord) {
        rc = tp_fail(TP_ERR_NOMEM, "out of memory for %zu journeys", J);
        goto done;
    }
    size_t nj = 0;
    for (size_t i = 0, from = 0; i < m && per_event; i++) {
        uint32_t a = perm[i];
        if (i == 0 || r->uid[a] != r->uid[perm[i - 1]]) from = i;
        if (r->camp[a] != NO_TOUCH) continue;
        js[nj] = (uint32_t)from;
        je[nj++] = (uint32_t)i + 1;
        if (r->conv[a]) from = i + 1; /* a conversion starts a new journey */
    }
    for (size_t i = 0; i < m && !per_event; i++) {
        uint32_t a = perm[i];
        bool start = i == 0;
        if (!start) {
            uint32_t p = perm[i - 1];
            start = r->uid[a] != r->uid[p] ||
                    (cid_mode ? r->cid[a] != r->cid[p] : r->conv[p] != 0);
        }
        if (start) {
            if (nj) je[nj - 1] = (uint32_t)i;
            js[nj++] = (uint32_t)i;
        }
    }
    if (!per_event) je[nj - 1] = (uint32_t)m;
    // Lookback, then the cut to the last L touches (the label is the journey's, before cutting).
    // Event rows (null campaign) end or mark journeys but are not touches: a journey may have none.
    // jn[q] = its touches, jf[q] = the row of its first kept touch (the last L).
    size_t total = 0, L = e->o.max_len;
    for (size_t q = 0; q < J; q++) {
        int64_t end_ts = r->ts[perm[je[q] - 1]];
        uint32_t first = js[q];
        if (e->o.lookback_seconds > 0)
            while (end_ts - r->ts[perm[first]] > e->o.lookback_seconds) first++;
        w->st.lookback_dropped += first - js[q];
        last[q] = perm[je[q] - 1];
        size_t len = 0, kept = 0, from = je[q];
        for (size_t i = first; i < je[q]; i++) len += r->camp[perm[i]] != NO_TOUCH;
        while (kept < (len < L ? len : L)) kept += r->camp[perm[--from]] != NO_TOUCH;
        jn[q] = (uint32_t)len;
        jf[q] = (uint32_t)from;
        w->st.events += je[q] - first - len;
        total += kept;
        ord[q] = (uint32_t)q;
    }
    if (cid_mode) {
        // A user's (uid, conversion_id) groups come out by id; order them by end time (ties keep
        // conversion_id order) so ids follow (user hash, end time) as in the per-user mode.
        jkey = tp_malloc(J * sizeof *jkey);
        jend = tp_malloc(J * sizeof *jend);
        if (!jkey || !jend) {
            rc = tp_fail(TP_ERR_NOMEM, "out of memory for %zu journeys", J);
            goto done;
        }
        for (size_t q = 0; q < J; q++) {
            jkey[q] = uid_key(r->uid[last[q]]);
            jend[q] = r->ts[last[q]];
        }
        if ((rc = tp_radix_sort_pairs(jkey, jend, J, ord)) != TP_OK) goto done;
    }
    if ((rc = tp_journeys_alloc(J, total, e->K, e->sc.has_value, &j)) != TP_OK) goto done;
    j->max_len = L;
    for (size_t k = 0; k < e->K; k++)
        if (!(j->campaigns[k] = tp_strdup(e->campaigns[k]))) {
            rc = tp_fail(TP_ERR_NOMEM, "out of memory");
            goto done;
        }
    uint64_t t = 0;
    for (size_t q = 0; q < J; q++) {
        size_t s = ord[q];
        uint32_t lr = last[s];
        size_t len = jn[s];
        int64_t end_ts = r->ts[lr];
        j->uid[q] = r->uid[lr];
        j->converted[q] = cid_mode ? r->cid[lr] != 0 : r->conv[lr] != 0;
        j->length[q] = (int32_t)(len > INT32_MAX ? INT32_MAX : len);
        j->off[q] = t;
        for (size_t i = jf[s]; i < je[s]; i++) {
            uint32_t a = perm[i];
            if (r->camp[a] == NO_TOUCH) continue;
            j->campaign[t] = e->rank[r->camp[a]];
            j->seconds_to_end[t++] = end_ts - r->ts[a];
        }
        if ((rc = hist_add(w, len)) != TP_OK) goto done;
        w->st.cut += len > L;
        w->st.empty += len == 0;
        w->st.conversions += j->converted[q];
    }
    j->off[J] = t;
    w->st.journeys += J;
    w->st.touches += t;
    for (size_t q = 0; q < J; q++) js[q] = last[ord[q]]; /* reuse js: last row in output order */
    if ((rc = feature_frame(e, r, js, J, &feats)) != TP_OK) goto done;
    if (e->sc.has_value) {
        tp_column *vc = tp_frame_find(feats, "conversion_value");
        for (size_t q = 0; q < J; q++)
            j->value[q] = tp_column_is_null(vc, q) ? 0.0 : TP_CCOL(vc, double)[q];
    }
    if (per_event && (rc = add_event_history(j, feats)) != TP_OK) goto done;
    rc = collect_add(&w->pend, j, feats);
    feats = NULL;
done:
    tp_journeys_free(j);
    tp_frame_free(feats);
    tp_free(k1);
    tp_free(tmp);
    tp_free(perm);
    tp_free(p2);
    tp_free(js);
    tp_free(je);
    tp_free(jf);
    tp_free(last);
    tp_free(jn);
    tp_free(ord);
    tp_free(jkey);
    tp_free(jend);
    return rc;
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* After the scan: the mapper (campaigns seen in some row, sorted by byte order). */
static tp_status engine_campaigns(engine *e) {
    schema *s = &e->sc;
    size_t nn = s->names ? tp_strdict_size(s->names) : 0;
    e->rank = tp_malloc((nn ? nn : 1) * sizeof *e->rank);
    e->campaigns = tp_calloc(nn ? nn : 1, sizeof *e->campaigns);
    if (!e->rank || !e->campaigns) return tp_fail(TP_ERR_NOMEM, "out of memory");
    size_t K = 0;
    for (size_t c = 0; c < nn; c++) {
        if (c >= s->seen_cap || !s->seen[c]) continue;
        if (!(e->campaigns[K++] = tp_strdup(tp_strdict_get(s->names, (int32_t)c, NULL))))
            return tp_fail(TP_ERR_NOMEM, "out of memory");
    }
    e->K = K;
    qsort(e->campaigns, K, sizeof *e->campaigns, cmp_str);
    for (size_t c = 0; c < nn; c++) {
        e->rank[c] = -1;
        if (c >= s->seen_cap || !s->seen[c]) continue;
        const char *name = tp_strdict_get(s->names, (int32_t)c, NULL);
        size_t lo = 0, hi = K;
        while (lo < hi) {
            size_t mid = (lo + hi) / 2;
            if (strcmp(e->campaigns[mid], name) < 0) lo = mid + 1;
            else hi = mid;
        }
        e->rank[c] = (int32_t)lo;
    }
    e->st.n_campaigns = K;
    return TP_OK;
}

/* Process rows whose uid hashes agree on their top used_bits bits: split them in memory by the
 * next bits into cache-sized partitions (about PART_ROWS rows) and process those in hash order.
 * Sorting and cutting a partition that fits in cache is several times faster than one big sort,
 * and the order of the output is the same (it is the order of the hash either way). */
static tp_status process_partitioned(engine *e, worker *w, rows *r, int used_bits) {
    tp_status rc = TP_OK;
    size_t n = r->n;
    int nb = 0;
    while (nb < 16 && ((size_t)PART_ROWS << nb) < n) nb++;
    if (used_bits + nb > 64) nb = 64 - used_bits;
    if (nb == 0) return process_rows(e, w, r);
    size_t B = (size_t)1 << nb;
    uint32_t *cnt = tp_calloc(B + 1, sizeof *cnt), *idx = tp_malloc(n * sizeof *idx);
    uint32_t *part = tp_malloc(n * sizeof *part);
    if (!cnt || !idx || !part) {
        rc = tp_fail(TP_ERR_NOMEM, "out of memory partitioning %zu impressions", n);
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        uint64_t h = uid_hash(r->uid[i]);
        part[i] = (uint32_t)((used_bits ? h << used_bits : h) >> (64 - nb));
        cnt[part[i] + 1]++;
    }
    for (size_t b = 0; b < B; b++) cnt[b + 1] += cnt[b];
    for (size_t i = 0; i < n; i++) idx[cnt[part[i]]++] = (uint32_t)i; /* stable: input order */
    tp_free(part);
    part = NULL;
    rows *s = &w->sub;
    if (!w->sub_ready) {
        if ((rc = rows_init(s, &e->sc)) != TP_OK) goto done;
        w->sub_ready = true;
    }
    size_t lo = 0;
    for (size_t b = 0; b < B && rc == TP_OK; b++) {
        size_t hi = cnt[b]; /* after the scatter, cnt[b] is the end of partition b */
        if (hi == lo) continue;
        rows_clear(s);
        if ((rc = rows_reserve(s, hi - lo)) != TP_OK) break;
        for (size_t k = lo; k < hi; k++) {
            uint32_t i = idx[k];
            size_t o = k - lo;
            s->uid[o] = r->uid[i];
            s->ts[o] = r->ts[i];
            s->camp[o] = r->camp[i];
            s->conv[o] = r->conv[i];
            if (s->has_cid) s->cid[o] = r->cid[i];
            for (size_t f = 0; f < s->n_feat; f++) {
                s->fv[f][o] = r->fv[f][i];
                s->fok[f][o] = r->fok[f][i];
            }
        }
        s->n = hi - lo;
        rc = process_rows(e, w, s);
        lo = hi;
    }
done:
    tp_free(cnt);
    tp_free(idx);
    tp_free(part);
    return rc;
}

/* Process one bucket file; re-partition it by the next 8 bits of the hash when over budget. */
static tp_status process_bucket(engine *e, const char *path, uint64_t n, int depth) {
    tp_status rc = TP_OK;
    if (n == 0) return TP_OK;
    bool over = (e->o.memory_bytes && n * est_row_bytes(e) > e->o.memory_bytes) ||
                n >= (uint64_t)UINT32_MAX - 1;
    if (!over || depth + 1 >= MAX_DEPTH) {
        if ((rc = read_bucket(path, n, e->rsz, &e->mem)) != TP_OK) return rc;
        unlink(path);
        rc = process_partitioned(e, &e->w0, &e->mem, 8 * (depth + 1));
        if (rc == TP_OK) rc = drain(e, &e->w0);
        rows_clear(&e->mem);
        return rc;
    }
    // Stream the file into sub-buckets without loading it whole.
    bucketset sub;
    char prefix[64];
    const char *base = strrchr(path, '/');
    snprintf(prefix, sizeof prefix, "%.*s_", (int)(strlen(base + 1) - 4), base + 1);
    if ((rc = bucketset_open(&sub, e->tmpdir, prefix, depth + 1)) != TP_OK) goto done;
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        rc = tp_fail(TP_ERR_IO, "cannot open bucket file '%s': %s", path, strerror(errno));
        goto done;
    }
    size_t per = 4096;
    uint64_t left = n;
    rows_clear(&e->mem);
    if ((rc = rows_reserve(&e->mem, per)) != TP_OK) {
        fclose(fp);
        goto done;
    }
    uint8_t *buf = tp_malloc(per * e->rsz);
    if (!buf) {
        fclose(fp);
        rc = tp_fail(TP_ERR_NOMEM, "out of memory");
        goto done;
    }
    while (left && rc == TP_OK) {
        size_t want = left < per ? (size_t)left : per;
        if (fread(buf, e->rsz, want, fp) != want) {
            rc = tp_fail(TP_ERR_IO, "bucket file '%s' is short", path);
            break;
        }
        for (size_t i = 0; i < want; i++) rec_get(&e->mem, i, buf + i * e->rsz);
        e->mem.n = want;
        rc = bucketset_put(&sub, &e->mem, e->rsz);
        left -= want;
    }
    tp_free(buf);
    fclose(fp);
    rows_clear(&e->mem);
    if (rc != TP_OK) goto done;
    unlink(path);
    if ((rc = bucketset_finish_writes(&sub)) != TP_OK) goto done;
    e->st.buckets += N_FANOUT - 1;
    for (int b = 0; b < N_FANOUT && rc == TP_OK; b++)
        rc = process_bucket(e, sub.path[b], sub.n[b], depth + 1);
done:
    bucketset_close(&sub, true);
    return rc;
}

/* The in-memory path: the 256 partitions in waves, each wave's partitions on the threads, then
 * drained in partition order, so the output and ids do not depend on the thread count. */
typedef struct wave {
    engine *e;
    worker *ws;
    size_t b0;
} wave;

static tp_status wave_fn(void *ctx, size_t lo, size_t hi, int tid) {
    wave *wv = ctx;
    (void)tid;
    for (size_t i = lo; i < hi; i++) {
        rows *r = &wv->e->part[wv->b0 + i];
        tp_status rc = process_partitioned(wv->e, &wv->ws[i], r, 8);
        rows_free(r); /* give memory back as we go */
        if (rc != TP_OK) return rc;
    }
    return TP_OK;
}

static tp_status process_in_memory(engine *e) {
    tp_status rc = TP_OK;
    int T = tp_threads_default();
    if (T <= 1) {
        for (int b = 0; b < N_FANOUT && rc == TP_OK; b++) {
            rc = process_partitioned(e, &e->w0, &e->part[b], 8);
            rows_free(&e->part[b]);
            if (rc == TP_OK) rc = drain(e, &e->w0);
        }
        return rc;
    }
    size_t W = (size_t)T * 4 < N_FANOUT ? (size_t)T * 4 : N_FANOUT;
    worker *ws = tp_calloc(W, sizeof *ws);
    if (!ws) return tp_fail(TP_ERR_NOMEM, "out of memory");
    for (size_t b0 = 0; b0 < N_FANOUT && rc == TP_OK; b0 += W) {
        size_t m = N_FANOUT - b0 < W ? N_FANOUT - b0 : W;
        wave wv = {e, ws, b0};
        rc = tp_parallel_for(m, T, wave_fn, &wv);
        for (size_t i = 0; i < m && rc == TP_OK; i++) rc = drain(e, &ws[i]);
    }
    for (size_t i = 0; i < W; i++) worker_clear(&ws[i]);
    tp_free(ws);
    return rc;
}

static tp_status engine_finish(engine *e) {
    tp_status rc;
    if (!e->sc.resolved) return tp_fail(TP_ERR_FORMAT, "%s: no impressions", e->source);
    if ((rc = engine_campaigns(e)) != TP_OK) return rc;
    if (!e->spilling) {
        rc = process_in_memory(e);
    } else {
        if ((rc = bucketset_finish_writes(&e->top)) != TP_OK) return rc;
        e->st.buckets = N_FANOUT;
        tp_progress *p = tp_progress_begin("journeys: buckets", N_FANOUT, "buckets");
        for (int b = 0; b < N_FANOUT && rc == TP_OK; b++) {
            rc = process_bucket(e, e->top.path[b], e->top.n[b], 0);
            tp_progress_add(p, 1);
        }
        tp_progress_end(p);
    }
    if (rc == TP_OK) rc = engine_flush(e);
    if (rc != TP_OK) return rc;
    // Length quantiles: smallest L keeping 80% / 95% of journeys whole.
    uint64_t cum = 0;
    e->st.len_p80 = e->st.len_p95 = 0;
    bool got80 = false, got95 = false;
    for (size_t k = 0; k < e->st.hist_len; k++) {
        cum += e->st.length_hist[k];
        if (!got80 && cum * 100 >= e->st.journeys * 80) e->st.len_p80 = k, got80 = true;
        if (!got95 && cum * 100 >= e->st.journeys * 95) e->st.len_p95 = k, got95 = true;
    }
    return TP_OK;
}

static tp_status collect_chunk(void *ud, engine *e, tp_journeys *j, tp_frame *feats) {
    (void)e;
    tp_frame *copy = NULL;
    tp_status rc = tp_frame_clone(feats, &copy);
    if (rc != TP_OK) return rc;
    return collect_add(ud, j, copy);
}

tp_status tp_journeys_build(const tp_frame *impressions, const char *source,
                            const tp_journeys_build_opts *opts, tp_journeys **out,
                            tp_frame **features, tp_journeys_stats *stats) {
    engine e;
    collect c = {0};
    tp_status rc = engine_init(&e, opts, source);
    if (rc != TP_OK) goto done;
    e.sink = collect_chunk;
    e.sink_ud = &c;
    if ((rc = engine_add(&e, impressions)) != TP_OK) goto done;
    if ((rc = engine_finish(&e)) != TP_OK) goto done;
    if ((rc = concat_parts(&c, e.K, e.campaigns, e.o.max_len, e.sc.has_value, out)) != TP_OK) goto done;
    if (features) {
        if (c.feats) {
            *features = c.feats;
            c.feats = NULL;
        } else {
            rc = tp_frame_new(features);
        }
    }
    if (stats) {
        *stats = e.st;
        memset(&e.st, 0, sizeof e.st);
    }
done:
    collect_clear(&c);
    engine_free(&e);
    return rc;
}

// ---- wide layout ----

/* The journey columns of tp_journeys_to_frame, built column by column on the threads. */
typedef struct frame_job {
    const tp_journeys *j;
    const uint32_t *rows;
    size_t n, L;
    tp_strdict *dict;
    const int32_t *codes;
    tp_column **cols; /* 4 + 2L (+1 with conversion_value), filled in order */
    const uint64_t *start; /* [n] first touch of row i's journey */
    const uint32_t *len;   /* [n] kept touches of row i's journey */
} frame_job;

static tp_status frame_col(const frame_job *fj, size_t k, tp_column **out) {
    const tp_journeys *j = fj->j;
    const uint32_t *rows = fj->rows;
    size_t n = fj->n, L = fj->L;
    tp_column *c = NULL;
    char name[64];
    tp_status rc;
#define ROW(i) (rows ? rows[i] : (uint32_t)(i))
    if (k >= 4 && k < 4 + L) {
        size_t p = k - 4;
        snprintf(name, sizeof name, "campaign_nm_at_index_%zu", p);
        if ((rc = tp_column_new_dict(name, TP_DTYPE_STR, fj->dict, n, &c)) != TP_OK) goto done;
        if ((rc = tp_column_resize(c, n)) != TP_OK) goto done;
        int32_t *d = TP_COL(c, int32_t);
        for (size_t i = 0; i < n; i++) {
            if (p < fj->len[i]) {
                d[i] = fj->codes[j->campaign[fj->start[i] + p]];
            } else if ((rc = tp_column_set_null(c, i, true)) != TP_OK) {
                goto done;
            }
        }
    } else if (k >= 4 + L && k < 4 + 2 * L) {
        size_t p = k - 4 - L;
        snprintf(name, sizeof name, "seconds_to_end_at_index_%zu", p);
        if ((rc = tp_column_new(name, TP_DTYPE_I64, n, &c)) != TP_OK) goto done;
        if ((rc = tp_column_resize(c, n)) != TP_OK) goto done;
        int64_t *d = TP_COL(c, int64_t);
        for (size_t i = 0; i < n; i++) {
            if (p < fj->len[i]) {
                d[i] = j->seconds_to_end[fj->start[i] + p];
            } else if ((rc = tp_column_set_null(c, i, true)) != TP_OK) {
                goto done;
            }
        }
    } else {
        static const char *fixed[4] = {"journey_id", "uid", "conversion_status", "journey_length"};
        static const tp_dtype ft[4] = {TP_DTYPE_I64, TP_DTYPE_I64, TP_DTYPE_BOOL, TP_DTYPE_I32};
        bool val = k == 4 + 2 * L;
        if ((rc = tp_column_new(val ? "conversion_value" : fixed[k], val ? TP_DTYPE_F64 : ft[k], n,
                                &c)) != TP_OK)
            goto done;
        if ((rc = tp_column_resize(c, n)) != TP_OK) goto done;
        if (val) for (size_t i = 0; i < n; i++) TP_COL(c, double)[i] = j->value[ROW(i)];
        else if (k == 0) for (size_t i = 0; i < n; i++) TP_COL(c, int64_t)[i] = j->journey_id[ROW(i)];
        else if (k == 1) for (size_t i = 0; i < n; i++) TP_COL(c, int64_t)[i] = j->uid[ROW(i)];
        else if (k == 2) for (size_t i = 0; i < n; i++) TP_COL(c, uint8_t)[i] = j->converted[ROW(i)] != 0;
        else for (size_t i = 0; i < n; i++) TP_COL(c, int32_t)[i] = j->length[ROW(i)];
    }
#undef ROW
    *out = c;
    c = NULL;
done:
    tp_column_free(c);
    return rc;
}

static tp_status frame_fn(void *ctx, size_t lo, size_t hi, int tid) {
    frame_job *fj = ctx;
    (void)tid;
    for (size_t k = lo; k < hi; k++) {
        tp_status rc = frame_col(fj, k, &fj->cols[k]);
        if (rc != TP_OK) return rc;
    }
    return TP_OK;
}

tp_status tp_journeys_to_frame(const tp_journeys *j, const tp_frame *features, const uint32_t *rows,
                               size_t n, tp_frame **out) {
    tp_frame *f = NULL;
    tp_column *c = NULL;
    tp_strdict *dict = NULL;
    int32_t *codes = NULL;
    tp_column **cols = NULL;
    uint64_t *start = NULL;
    uint32_t *len = NULL;
    size_t L = j->max_len, nc = 0;
    if (!rows) n = j->n;
    tp_status rc = tp_frame_new(&f);
    if (rc != TP_OK) goto done;
    if ((rc = tp_strdict_new(&dict)) != TP_OK) goto done;
    codes = tp_malloc((j->n_campaigns ? j->n_campaigns : 1) * sizeof *codes);
    if (!codes) {
        rc = tp_fail(TP_ERR_NOMEM, "out of memory");
        goto done;
    }
    for (size_t k = 0; k < j->n_campaigns; k++)
        if ((rc = tp_strdict_intern(dict, j->campaigns[k], strlen(j->campaigns[k]), &codes[k])) != TP_OK)
            goto done;
    bool value_in_feats = features && tp_frame_find(features, "conversion_value");
    nc = 4 + 2 * L + (j->value && !value_in_feats ? 1 : 0);
    if (!(cols = tp_calloc(nc, sizeof *cols))) {
        rc = tp_fail(TP_ERR_NOMEM, "out of memory");
        goto done;
    }
    // Where each row's touches are, once for all 2L columns.
    if (!(start = tp_malloc((n ? n : 1) * sizeof *start)) || !(len = tp_malloc((n ? n : 1) * sizeof *len))) {
        rc = tp_fail(TP_ERR_NOMEM, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        uint32_t r = rows ? rows[i] : (uint32_t)i;
        start[i] = j->off[r];
        uint64_t k = j->off[r + 1] - j->off[r];
        len[i] = (uint32_t)(k < L ? k : L); /* columns stop at L anyway */
    }
    // Columns are independent: build them on the threads when there is enough work to share.
    frame_job fj = {j, rows, n, L, dict, codes, cols, start, len};
    int T = n * nc >= 65536 ? tp_threads_default() : 1;
    if ((rc = tp_parallel_for(nc, T, frame_fn, &fj)) != TP_OK) goto done;
    for (size_t k = 0; k < nc; k++) {
        rc = tp_frame_add_take(f, cols[k]);
        cols[k] = NULL;
        if (rc != TP_OK) goto done;
    }
#define ADDCOL()                                                                \
    do {                                                                        \
        rc = tp_frame_add_take(f, c);                                           \
        c = NULL;                                                               \
        if (rc != TP_OK) goto done;                                             \
    } while (0)
    if (features) {
        if (tp_frame_n_rows(features) != j->n && tp_frame_n_cols(features) > 0) {
            rc = tp_fail(TP_ERR_SHAPE, "features have %zu rows for %zu journeys",
                         tp_frame_n_rows(features), j->n);
            goto done;
        }
        for (size_t k = 0; k < tp_frame_n_cols(features); k++) {
            tp_column *src = tp_frame_col(features, k);
            if (rows) {
                rc = tp_column_take(src, rows, n, &c);
            } else {
                if ((rc = tp_column_new_dict(tp_column_name(src), tp_column_type(src),
                                             tp_column_dict(src), n, &c)) != TP_OK)
                    goto done;
                tp_column_set_unit(c, tp_column_unit(src));
                rc = tp_column_append(c, src, 0, n);
            }
            if (rc != TP_OK) goto done;
            ADDCOL();
        }
    }
#undef ADDCOL
    *out = f;
    f = NULL;
done:
    for (size_t k = 0; cols && k < nc; k++) tp_column_free(cols[k]);
    tp_free(cols);
    tp_free(start);
    tp_free(len);
    tp_column_free(c);
    tp_frame_free(f);
    tp_strdict_unref(dict);
    tp_free(codes);
    return rc;
}

// ---- one-hot export (the reference's job 2 layout) ----

tp_status tp_encode_onehot(const tp_journeys *j, size_t lo, size_t hi, bool as_bool, tp_frame **out) {
    tp_frame *f = NULL;
    tp_column *c = NULL;
    tp_column **cols = NULL;
    size_t K = j->n_campaigns, L = j->max_len;
    if (hi > j->n || lo > hi) return tp_fail(TP_ERR_ARG, "journey range [%zu, %zu) of %zu", lo, hi, j->n);
    size_t n = hi - lo;
    tp_dtype bt = as_bool ? TP_DTYPE_BOOL : TP_DTYPE_I64;
    tp_status rc = tp_frame_new(&f);
    if (rc != TP_OK) goto done;
    if ((rc = tp_column_new("journey_id", TP_DTYPE_I64, n, &c)) != TP_OK) goto done;
    if ((rc = tp_column_resize(c, n)) != TP_OK) goto done;
    memcpy(TP_COL(c, int64_t), j->journey_id + lo, n * 8);
    rc = tp_frame_add_take(f, c);
    c = NULL;
    if (rc != TP_OK) goto done;
    cols = tp_calloc(L * K + 1, sizeof *cols);
    if (!cols) {
        rc = tp_fail(TP_ERR_NOMEM, "out of memory");
        goto done;
    }
    for (size_t p = 0; p < L; p++)
        for (size_t k = 0; k < K; k++) {
            size_t nl = strlen(j->campaigns[k]) + 64;
            char *name = tp_malloc(nl);
            if (!name) {
                rc = tp_fail(TP_ERR_NOMEM, "out of memory");
                goto done;
            }
            snprintf(name, nl, "campaign_nm_at_index_%zu_in_journey_is_%s", p + 1, j->campaigns[k]);
            rc = tp_column_new(name, bt, n, &c);
            tp_free(name);
            if (rc != TP_OK) goto done;
            if ((rc = tp_column_resize(c, n)) != TP_OK) goto done; /* zero-filled */
            cols[p * K + k] = c;
            rc = tp_frame_add_take(f, c);
            c = NULL;
            if (rc != TP_OK) goto done;
        }
    for (size_t i = 0; i < n; i++) {
        size_t r = lo + i;
        for (uint64_t t = j->off[r]; t < j->off[r + 1]; t++) {
            size_t p = t - j->off[r];
            if (p >= L) break;
            tp_column *col = cols[p * K + (size_t)j->campaign[t]];
            if (as_bool) TP_COL(col, uint8_t)[i] = 1;
            else TP_COL(col, int64_t)[i] = 1;
        }
    }
    if ((rc = tp_column_new("conversion_status", bt, n, &c)) != TP_OK) goto done;
    if ((rc = tp_column_resize(c, n)) != TP_OK) goto done;
    for (size_t i = 0; i < n; i++) {
        if (as_bool) TP_COL(c, uint8_t)[i] = j->converted[lo + i] != 0;
        else TP_COL(c, int64_t)[i] = j->converted[lo + i] != 0;
    }
    rc = tp_frame_add_take(f, c);
    c = NULL;
    if (rc != TP_OK) goto done;
    *out = f;
    f = NULL;
done:
    tp_free(cols);
    tp_column_free(c);
    tp_frame_free(f);
    return rc;
}

// ---- the file job ----

typedef struct file_sink {
    const tp_journeys_build_opts *o;
    tp_pq_writer *w[3];
    uint32_t *idx;
    size_t idx_cap;
    uint8_t *sp; /* split of each journey of the chunk */
    size_t sp_cap;
} file_sink;

static tp_status write_chunk(void *ud, engine *e, tp_journeys *j, tp_frame *feats) {
    file_sink *fs = ud;
    tp_status rc = TP_OK;
    size_t ns = e->o.n_split == 1 ? 1 : 3;
    if ((rc = tp_grow((void **)&fs->idx, &fs->idx_cap, j->n ? j->n : 1, sizeof *fs->idx)) != TP_OK ||
        (rc = tp_grow((void **)&fs->sp, &fs->sp_cap, j->n ? j->n : 1, 1)) != TP_OK)
        return rc;
    for (size_t q = 0; q < j->n; q++) fs->sp[q] = (uint8_t)tp_journeys_split_of(j->uid[q], &e->o);
    for (size_t s = 0; s < ns && rc == TP_OK; s++) {
        size_t m = 0;
        for (size_t q = 0; q < j->n; q++)
            if (fs->sp[q] == s) fs->idx[m++] = (uint32_t)q;
        e->st.per_split[s] += m;
        for (size_t a = 0; a < m && rc == TP_OK; a += CHUNK_ROWS) {
            size_t b = a + CHUNK_ROWS < m ? a + CHUNK_ROWS : m;
            tp_frame *wf = NULL;
            if ((rc = tp_journeys_to_frame(j, feats, fs->idx + a, b - a, &wf)) != TP_OK) break;
            rc = tp_pq_writer_write(fs->w[s], wf);
            tp_frame_free(wf);
        }
    }
    return rc;
}

tp_status tp_journeys_stats_json(const tp_journeys_stats *s, char **out) {
    json_t *o = json_object(), *h = json_object(), *sp = json_object();
    tp_status rc = TP_OK;
    if (!o || !h || !sp) {
        rc = tp_fail(TP_ERR_NOMEM, "out of memory");
        goto done;
    }
    json_object_set_new(o, "impressions", json_integer((json_int_t)s->impressions));
    json_object_set_new(o, "duplicates_dropped", json_integer((json_int_t)s->duplicates));
    json_object_set_new(o, "lookback_dropped", json_integer((json_int_t)s->lookback_dropped));
    json_object_set_new(o, "event_rows", json_integer((json_int_t)s->events));
    json_object_set_new(o, "empty_journeys", json_integer((json_int_t)s->empty));
    json_object_set_new(o, "users", json_integer((json_int_t)s->users));
    json_object_set_new(o, "journeys", json_integer((json_int_t)s->journeys));
    json_object_set_new(o, "conversions", json_integer((json_int_t)s->conversions));
    json_object_set_new(o, "conversion_rate",
                        json_real(s->journeys ? (double)s->conversions / (double)s->journeys : 0.0));
    json_object_set_new(o, "campaigns", json_integer((json_int_t)s->n_campaigns));
    json_object_set_new(o, "max_len", json_integer((json_int_t)s->max_len));
    json_object_set_new(o, "touches_kept", json_integer((json_int_t)s->touches));
    json_object_set_new(o, "journeys_cut", json_integer((json_int_t)s->cut));
    json_object_set_new(o, "share_cut",
                        json_real(s->journeys ? (double)s->cut / (double)s->journeys : 0.0));
    json_object_set_new(o, "len_keeping_80pct", json_integer((json_int_t)s->len_p80));
    json_object_set_new(o, "len_keeping_95pct", json_integer((json_int_t)s->len_p95));
    for (size_t k = 0; k < s->hist_len; k++) {
        if (!s->length_hist[k]) continue;
        char key[32];
        snprintf(key, sizeof key, "%zu", k);
        json_object_set_new(h, key, json_integer((json_int_t)s->length_hist[k]));
    }
    json_object_set_new(o, "length_histogram", h);
    h = NULL;
    if (s->per_split[1] || s->per_split[2]) {
        json_object_set_new(sp, "train", json_integer((json_int_t)s->per_split[0]));
        json_object_set_new(sp, "val", json_integer((json_int_t)s->per_split[1]));
        json_object_set_new(sp, "test", json_integer((json_int_t)s->per_split[2]));
    } else {
        json_object_set_new(sp, "all", json_integer((json_int_t)s->per_split[0]));
    }
    json_object_set_new(o, "splits", sp);
    sp = NULL;
    json_object_set_new(o, "buckets", json_integer((json_int_t)s->buckets));
    char *txt = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    if (!txt) {
        rc = tp_fail(TP_ERR_NOMEM, "out of memory writing stats");
        goto done;
    }
    size_t tl = strlen(txt);
    *out = tp_malloc(tl + 2);
    if (*out) memcpy(*out, txt, tl), memcpy(*out + tl, "\n", 2);
    free(txt);
    if (!*out) rc = tp_fail(TP_ERR_NOMEM, "out of memory");
done:
    json_decref(o);
    json_decref(h);
    json_decref(sp);
    return rc;
}

static tp_status write_json_text(const char *dir, const char *name, const char *txt) {
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = tp_malloc(n);
    if (!p) return tp_fail(TP_ERR_NOMEM, "out of memory");
    snprintf(p, n, "%s/%s", dir, name);
    tp_status rc = tp_atomic_write(p, txt, strlen(txt));
    tp_free(p);
    return rc;
}

static tp_status write_mapper(const char *dir, char **campaigns, size_t K) {
    json_t *o = json_object(), *a = json_array();
    tp_status rc = TP_OK;
    char *txt = NULL;
    if (!o || !a) {
        json_decref(a);
        rc = tp_fail(TP_ERR_NOMEM, "out of memory");
        goto done;
    }
    for (size_t k = 0; k < K; k++) json_array_append_new(a, json_string(campaigns[k]));
    json_object_set_new(o, "campaigns", a);
    txt = json_dumps(o, JSON_INDENT(2));
    if (!txt) {
        rc = tp_fail(TP_ERR_NOMEM, "out of memory writing the mapper");
        goto done;
    }
    size_t tl = strlen(txt);
    char *nl = tp_malloc(tl + 2);
    if (!nl) {
        rc = tp_fail(TP_ERR_NOMEM, "out of memory");
        goto done;
    }
    memcpy(nl, txt, tl);
    memcpy(nl + tl, "\n", 2);
    rc = write_json_text(dir, "mapper.json", nl);
    tp_free(nl);
done:
    free(txt);
    json_decref(o);
    return rc;
}

tp_status tp_journeys_write(const char *input, const char *out_dir, const tp_journeys_build_opts *opts,
                            tp_journeys_stats *stats) {
    engine e;
    file_sink fs = {0};
    tp_scan *scan = NULL;
    tp_frame *batch = NULL;
    char *stats_txt = NULL;
    static const char *split_names[3] = {"train.parquet", "val.parquet", "test.parquet"};
    tp_status rc = engine_init(&e, opts, input);
    if (rc != TP_OK) goto done;
    if ((rc = tp_mkdirs(out_dir)) != TP_OK) goto done;
    if (!e.o.tmp_dir) e.o.tmp_dir = out_dir;
    e.sink = write_chunk;
    e.sink_ud = &fs;
    fs.o = &e.o;
    size_t ns = e.o.n_split == 1 ? 1 : 3;
    tp_pq_write_opts wo;
    tp_pq_write_opts_default(&wo);
    if (e.o.memory_bytes) {
        // Bound what the writers buffer: ~ (L * 20 + 64) bytes per journey, three writers.
        size_t per = (e.o.max_len * 20 + 64) * 3;
        size_t rg = e.o.memory_bytes / 4 / per;
        wo.row_group_rows = rg < 16384 ? 16384 : rg > wo.row_group_rows ? wo.row_group_rows : rg;
    }
    for (size_t s = 0; s < ns; s++) {
        size_t n = strlen(out_dir) + 32;
        char *p = tp_malloc(n);
        if (!p) {
            rc = tp_fail(TP_ERR_NOMEM, "out of memory");
            goto done;
        }
        snprintf(p, n, "%s/%s", out_dir, ns == 1 ? "all.parquet" : split_names[s]);
        rc = tp_pq_writer_open(p, &wo, &fs.w[s]);
        tp_free(p);
        if (rc != TP_OK) goto done;
    }
    double t0 = tp_now();
    if ((rc = tp_scan_open(input, NULL, 0, &scan)) != TP_OK) goto done;
    e.prog = tp_progress_begin("journeys: reading", 0, "rows");
    for (;;) {
        if ((rc = tp_scan_next(scan, &batch)) != TP_OK) goto done;
        if (!batch) break;
        rc = engine_add(&e, batch);
        tp_frame_free(batch);
        batch = NULL;
        if (rc != TP_OK) goto done;
    }
    tp_scan_close(scan);
    scan = NULL;
    tp_progress_end(e.prog);
    e.prog = NULL;
    double t1 = tp_now();
    if ((rc = engine_finish(&e)) != TP_OK) goto done;
    tp_log(TP_LOG_DEBUG, "journeys: read %" PRIu64 " rows in %.2f s; built in %.2f s, wrote in %.2f s",
           e.st.impressions, t1 - t0, tp_now() - t1 - e.t_sink, e.t_sink);
    // A split nobody fell into still gets a file with the schema and no rows.
    for (size_t s = 0; s < ns; s++) {
        if (e.st.per_split[s]) continue;
        tp_journeys *empty = NULL;
        tp_frame *ef = NULL, *wf = NULL;
        if ((rc = tp_journeys_alloc(0, 0, 0, e.sc.has_value, &empty)) != TP_OK) goto done;
        empty->max_len = e.o.max_len;
        rc = e.sc.n_feat ? feature_frame(&e, &e.mem, NULL, 0, &ef) : TP_OK;
        if (rc == TP_OK) rc = tp_journeys_to_frame(empty, ef, NULL, 0, &wf);
        if (rc == TP_OK) rc = tp_pq_writer_write(fs.w[s], wf);
        tp_frame_free(wf);
        tp_frame_free(ef);
        tp_journeys_free(empty);
        if (rc != TP_OK) goto done;
    }
    for (size_t s = 0; s < ns; s++) {
        rc = tp_pq_writer_close(fs.w[s]);
        fs.w[s] = NULL;
        if (rc != TP_OK) goto done;
    }
    // Files of the other split layout from an earlier run would be read back instead of these
    // (tp_journeys_read prefers all.parquet): remove them.
    for (size_t s = 0; s < 4; s++) {
        static const char *stale[4] = {"all.parquet", "train.parquet", "val.parquet", "test.parquet"};
        if ((ns == 1) == (s == 0)) continue;
        size_t n = strlen(out_dir) + 32;
        char *p = tp_malloc(n);
        if (!p) {
            rc = tp_fail(TP_ERR_NOMEM, "out of memory");
            goto done;
        }
        snprintf(p, n, "%s/%s", out_dir, stale[s]);
        int bad = unlink(p) != 0 && errno != ENOENT;
        if (bad) rc = tp_fail(TP_ERR_IO, "cannot remove stale '%s': %s", p, strerror(errno));
        tp_free(p);
        if (bad) goto done;
    }
    if ((rc = write_mapper(out_dir, e.campaigns, e.K)) != TP_OK) goto done;
    if ((rc = tp_journeys_stats_json(&e.st, &stats_txt)) != TP_OK) goto done;
    if ((rc = write_json_text(out_dir, "stats.json", stats_txt)) != TP_OK) goto done;
    if (stats) {
        *stats = e.st;
        memset(&e.st, 0, sizeof e.st);
    }
done:
    for (size_t s = 0; s < 3; s++)
        if (fs.w[s]) tp_pq_writer_abort(fs.w[s]);
    tp_free(fs.idx);
    tp_free(fs.sp);
    tp_frame_free(batch);
    if (scan) tp_scan_close(scan);
    tp_free(stats_txt);
    engine_free(&e);
    return rc;
}

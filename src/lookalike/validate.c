/* validate.c: audience validation against a later test period (issue #6 §5): clicks and CTR on one
 * keyword among the extended audience vs an equally sized random sample of non-seed users (the
 * lift), and precision/recall at M of the users who actually clicked. Users are joined by did
 * through one string map; the log's dictionary codes are mapped once, not per row. */
#include "touchpoint/audience.h"

#include <jansson.h>
#include <math.h>
#include <string.h>

enum { IN_UNIVERSE = 1, IS_SEED = 2, IN_AUDIENCE = 4 };

typedef struct did_map {
    size_t cap, n, ncap; // cap: slots (power of two); n: distinct dids
    uint32_t *slot;      // id + 1, 0 = empty
    char **did;          // id -> did (owned copies)
    uint64_t *hash;      // id -> hash
    uint8_t *flags;      // id -> IN_* bits
    int64_t *shows, *clicks;
} did_map;

static void map_free(did_map *m) {
    for (size_t i = 0; i < m->n; i++) tp_free(m->did[i]);
    tp_free(m->slot), tp_free(m->did), tp_free(m->hash), tp_free(m->flags);
    tp_free(m->shows), tp_free(m->clicks);
}

static int64_t map_find(const did_map *m, const char *s, size_t len, uint64_t h, size_t *free_slot) {
    for (size_t i = h & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
        if (!m->slot[i]) {
            if (free_slot) *free_slot = i;
            return -1;
        }
        uint32_t id = m->slot[i] - 1;
        if (m->hash[id] == h && strncmp(m->did[id], s, len) == 0 && m->did[id][len] == 0)
            return id;
    }
}

static tp_status map_grow(did_map *m) {
    size_t cap = m->cap ? m->cap * 2 : 1024;
    uint32_t *slot = tp_calloc(cap, sizeof *slot);
    if (!slot) return tp_fail(TP_ERR_NOMEM, "validate: out of memory");
    for (size_t id = 0; id < m->n; id++) {
        size_t i = m->hash[id] & (cap - 1);
        while (slot[i]) i = (i + 1) & (cap - 1);
        slot[i] = (uint32_t)id + 1;
    }
    tp_free(m->slot);
    m->slot = slot;
    m->cap = cap;
    return TP_OK;
}

// Id of did (added with flag when absent and add != 0); -1 when absent and not added.
static tp_status map_put(did_map *m, const char *s, size_t len, uint8_t flag, int add, int64_t *id) {
    tp_status rc;
    if ((m->n + 1) * 2 > m->cap && (rc = map_grow(m)) != TP_OK) return rc;
    uint64_t h = tp_hash_bytes(s, len, 0);
    size_t fs = 0;
    int64_t f = map_find(m, s, len, h, &fs);
    if (f >= 0) {
        m->flags[f] |= flag;
        *id = f;
        return TP_OK;
    }
    if (!add) {
        *id = -1;
        return TP_OK;
    }
    if (m->n >= UINT32_MAX - 1) return tp_fail(TP_ERR_ARG, "validate: too many users");
    if (m->n == m->ncap) {
        size_t nc = m->ncap ? m->ncap * 2 : 1024;
        char **d = tp_realloc(m->did, nc * sizeof *d);
        if (d) m->did = d;
        uint64_t *hh = tp_realloc(m->hash, nc * sizeof *hh);
        if (hh) m->hash = hh;
        uint8_t *fl = tp_realloc(m->flags, nc);
        if (fl) m->flags = fl;
        if (!d || !hh || !fl) return tp_fail(TP_ERR_NOMEM, "validate: out of memory");
        m->ncap = nc;
    }
    char *c = tp_malloc(len + 1);
    if (!c) return tp_fail(TP_ERR_NOMEM, "validate: out of memory");
    memcpy(c, s, len);
    c[len] = 0;
    m->did[m->n] = c;
    m->hash[m->n] = h;
    m->flags[m->n] = flag;
    m->slot[fs] = (uint32_t)m->n + 1;
    *id = (int64_t)m->n++;
    return TP_OK;
}

// The did of log row r as text (strings borrowed, integers formatted into buf).
static const char *row_did(const tp_column *c, size_t r, char *buf, size_t *len) {
    const char *s = NULL;
    size_t n = tp_column_format(c, r, buf, &s, len);
    if (s) return s;
    *len = n;
    return buf;
}

static void group_sum(const did_map *m, const uint32_t *ids, size_t n, bool has_shows,
                      tp_audience_group_stats *g) {
    memset(g, 0, sizeof *g);
    g->users = (int64_t)n;
    for (size_t i = 0; i < n; i++) {
        g->impressions += m->shows[ids[i]];
        g->clicks += m->clicks[ids[i]];
        g->clickers += m->clicks[ids[i]] > 0;
    }
    if (!has_shows) g->impressions = -1;
    g->ctr = has_shows && g->impressions > 0 ? (double)g->clicks / (double)g->impressions : NAN;
}

tp_status tp_audience_validate(const char *const *audience, size_t n_audience,
                               const char *const *universe, size_t n_universe,
                               const char *const *seeds, size_t n_seeds, const tp_frame *log,
                               const char *keyword, uint64_t seed, tp_validate_result *out) {
    if (!log || !keyword || !out || (!audience && n_audience) || (!seeds && n_seeds))
        return tp_fail(TP_ERR_ARG, "validate: NULL argument");
    memset(out, 0, sizeof *out);
    did_map m = {0};
    uint32_t *aud = NULL, *pool = NULL;
    int64_t *code_id = NULL;
    tp_status rc;
    tp_column *cdid, *ckw, *cclick = tp_frame_find(log, "is_click");
    if ((rc = tp_frame_require(log, "did", "test log", &cdid)) != TP_OK) return rc;
    if ((rc = tp_frame_require(log, "keyword", "test log", &ckw)) != TP_OK) return rc;
    if (cclick && (tp_dtype_is_string(tp_column_type(cclick)) ||
                   tp_column_type(cclick) == TP_DTYPE_F32 || tp_column_type(cclick) == TP_DTYPE_F64))
        return tp_fail(TP_ERR_FORMAT, "test log: column 'is_click' must be bool or integer");
    if (!tp_dtype_is_string(tp_column_type(ckw)))
        return tp_fail(TP_ERR_FORMAT, "test log: column 'keyword' must be a string");
    size_t R = tp_frame_n_rows(log);
    int64_t id;
    char buf[64];

    // ---- users: seeds, universe, audience ----
    for (size_t i = 0; i < n_seeds; i++)
        if ((rc = map_put(&m, seeds[i], strlen(seeds[i]), IS_SEED, 1, &id)) != TP_OK) goto done;
    if (universe) {
        for (size_t i = 0; i < n_universe; i++)
            if ((rc = map_put(&m, universe[i], strlen(universe[i]), IN_UNIVERSE, 1, &id)) != TP_OK)
                goto done;
    } else { // every distinct did of the log
        for (size_t r = 0; r < R; r++) {
            if (tp_column_is_null(cdid, r)) continue;
            size_t len;
            const char *s = row_did(cdid, r, buf, &len);
            if ((rc = map_put(&m, s, len, IN_UNIVERSE, 1, &id)) != TP_OK) goto done;
        }
    }
    aud = tp_malloc((n_audience ? n_audience : 1) * sizeof *aud);
    if (!aud) goto nomem;
    size_t na = 0;
    for (size_t i = 0; i < n_audience; i++) {
        if ((rc = map_put(&m, audience[i], strlen(audience[i]), 0, 1, &id)) != TP_OK) goto done;
        if (m.flags[id] & IN_AUDIENCE) continue; // a did listed twice counts once
        m.flags[id] |= IN_AUDIENCE;
        aud[na++] = (uint32_t)id;
    }
    m.shows = tp_calloc(m.n ? m.n : 1, sizeof *m.shows);
    m.clicks = tp_calloc(m.n ? m.n : 1, sizeof *m.clicks);
    if (!m.shows || !m.clicks) goto nomem;

    // ---- the keyword's shows and clicks per user ----
    tp_strdict *kd = tp_column_dict(ckw);
    int32_t kw = tp_strdict_find(kd, keyword, strlen(keyword));
    bool did_is_str = tp_dtype_is_string(tp_column_type(cdid));
    if (did_is_str) { // map each dictionary code once
        tp_strdict *dd = tp_column_dict(cdid);
        size_t nd = tp_strdict_size(dd);
        code_id = tp_malloc((nd ? nd : 1) * sizeof *code_id);
        if (!code_id) goto nomem;
        for (size_t c = 0; c < nd; c++) {
            size_t len;
            const char *s = tp_strdict_get(dd, (int32_t)c, &len);
            if ((rc = map_put(&m, s, len, 0, 0, &code_id[c])) != TP_OK) goto done;
        }
    }
    const int32_t *kcodes = tp_column_cdata(ckw);
    const int32_t *dcodes = did_is_str ? tp_column_cdata(cdid) : NULL;
    for (size_t r = 0; kw >= 0 && r < R; r++) {
        if (kcodes[r] != kw || tp_column_is_null(ckw, r) || tp_column_is_null(cdid, r)) continue;
        if (dcodes) {
            id = code_id[dcodes[r]];
        } else {
            size_t len;
            const char *s = row_did(cdid, r, buf, &len);
            if ((rc = map_put(&m, s, len, 0, 0, &id)) != TP_OK) goto done;
        }
        if (id < 0) continue;
        bool click = cclick ? (!tp_column_is_null(cclick, r) && tp_column_get_i64(cclick, r) != 0)
                            : true;
        m.shows[id]++;
        m.clicks[id] += click;
    }

    // ---- random sample of non-seed universe users, same size as the audience ----
    pool = tp_malloc((m.n ? m.n : 1) * sizeof *pool);
    if (!pool) goto nomem;
    size_t np = 0;
    for (size_t i = 0; i < m.n; i++) {
        if ((m.flags[i] & IN_UNIVERSE) && !(m.flags[i] & IS_SEED)) {
            pool[np++] = (uint32_t)i;
            out->clickers_total += m.clicks[i] > 0;
        }
    }
    out->universe = (int64_t)np;
    size_t nr = na < np ? na : np;
    tp_rng rng;
    tp_rng_seed(&rng, seed);
    for (size_t i = 0; i < nr; i++) { // partial Fisher-Yates
        size_t j = i + (size_t)tp_rng_below(&rng, np - i);
        uint32_t v = pool[i];
        pool[i] = pool[j], pool[j] = v;
    }
    group_sum(&m, aud, na, cclick != NULL, &out->audience);
    group_sum(&m, pool, nr, cclick != NULL, &out->random);
    out->lift_clicks = out->random.clicks > 0 ? (double)out->audience.clicks / out->random.clicks : NAN;
    out->lift_ctr = out->random.ctr > 0 ? out->audience.ctr / out->random.ctr : NAN;
    int64_t hit = 0; // audience users in the universe who clicked
    for (size_t i = 0; i < na; i++)
        hit += (m.flags[aud[i]] & IN_UNIVERSE) && !(m.flags[aud[i]] & IS_SEED) && m.clicks[aud[i]] > 0;
    out->precision_at_m = na ? (double)out->audience.clickers / (double)na : NAN;
    out->recall_at_m = out->clickers_total ? (double)hit / (double)out->clickers_total : NAN;
    goto done;
nomem:
    rc = tp_fail(TP_ERR_NOMEM, "validate: out of memory");
done:
    map_free(&m);
    tp_free(aud), tp_free(pool), tp_free(code_id);
    return rc;
}

static json_t *num_or_null(double v) { return isfinite(v) ? json_real(v) : json_null(); }

static json_t *group_json(const tp_audience_group_stats *g) {
    json_t *o = json_object();
    json_object_set_new(o, "users", json_integer(g->users));
    json_object_set_new(o, "impressions", g->impressions >= 0 ? json_integer(g->impressions) : json_null());
    json_object_set_new(o, "clicks", json_integer(g->clicks));
    json_object_set_new(o, "clickers", json_integer(g->clickers));
    json_object_set_new(o, "ctr", num_or_null(g->ctr));
    return o;
}

char *tp_validate_result_json(const tp_validate_result *r, const char *keyword) {
    json_t *o = json_object();
    json_object_set_new(o, "keyword", json_string(keyword));
    json_object_set_new(o, "audience", group_json(&r->audience));
    json_object_set_new(o, "random", group_json(&r->random));
    json_object_set_new(o, "lift_clicks", num_or_null(r->lift_clicks));
    json_object_set_new(o, "lift_ctr", num_or_null(r->lift_ctr));
    json_object_set_new(o, "universe", json_integer(r->universe));
    json_object_set_new(o, "clickers_total", json_integer(r->clickers_total));
    json_object_set_new(o, "precision_at_m", num_or_null(r->precision_at_m));
    json_object_set_new(o, "recall_at_m", num_or_null(r->recall_at_m));
    char *s = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10));
    json_decref(o);
    if (!s) return NULL;
    char *c = tp_strdup(s);
    free(s);
    return c;
}

/* features.c: events -> point-in-time features, every feature in one sweep. Events are grouped by
 * (uid, group, timestamp) once with the core radix sort; a feature set at as-of T then visits each
 * user's (uid, group) runs once, updating one accumulator per (event type, window) slot; user
 * features combine the runs, group features combine users in fixed blocks (so sums do not depend
 * on the thread count). Only events with timestamp < T are ever read. */
#include "features_impl.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define BLOCK_USERS 1024 /* users per block of group partials: fixed, so results ignore threads */
#define NO_TS INT64_MIN

// ---- events ----

void tp_events_free(tp_events *e) {
    if (!e) return;
    tp_free(e->ts);
    tp_free(e->type);
    tp_free(e->item);
    tp_free(e->amount);
    tp_free(e->uid);
    tp_free(e->user_seg);
    tp_free(e->seg_off);
    tp_free(e->seg_group);
    for (size_t i = 0; i < e->n_groups; i++) tp_free(e->group_names[i]);
    tp_free(e->group_names);
    for (size_t i = 0; i < e->n_type_names; i++) tp_free(e->type_names[i]);
    tp_free(e->type_names);
    tp_free(e);
}

size_t tp_events_n_events(const tp_events *e) { return e->n; }
size_t tp_events_n_users(const tp_events *e) { return e->n_users; }
size_t tp_events_n_groups(const tp_events *e) { return e->n_groups; }
const char *tp_events_group_name(const tp_events *e, size_t i) {
    return i < e->n_groups ? e->group_names[i] : NULL;
}
int tp_events_group_index(const tp_events *e, const char *name) {
    size_t lo = 0, hi = e->n_groups;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(e->group_names[mid], name);
        if (c == 0) return (int)mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}
void tp_events_time_range(const tp_events *e, int64_t *min_ts, int64_t *max_ts) {
    if (min_ts) *min_ts = e->min_ts;
    if (max_ts) *max_ts = e->max_ts;
}

/* The loader's growing columns before sorting. */
typedef struct raw {
    size_t n, cap;
    int64_t *uid, *ts;
    int16_t *type;
    int32_t *item, *group; /* group: code in gdict, -1 = look up the item */
    double *amount;
    tp_strdict *types, *items, *gdict;
    tp_i64map *int_items;
    bool has_amount;
    int32_t *gmap; /* scan group dict code -> gdict code */
    size_t gmap_n;
    const char *src;
    size_t row0; /* rows before this batch, for messages */
} raw;

static void raw_free(raw *r) {
    tp_free(r->uid);
    tp_free(r->ts);
    tp_free(r->type);
    tp_free(r->item);
    tp_free(r->group);
    tp_free(r->amount);
    tp_strdict_unref(r->types);
    tp_strdict_unref(r->items);
    tp_strdict_unref(r->gdict);
    tp_i64map_free(r->int_items);
    tp_free(r->gmap);
}

static tp_status raw_reserve(raw *r, size_t need) {
    if (need <= r->cap) return TP_OK;
    size_t cap = r->cap ? r->cap : 1 << 16;
    while (cap < need) cap *= 2;
    void *p;
#define GROW(f)                                                                    \
    if (!(p = tp_realloc(r->f, cap * sizeof *r->f))) goto nomem;                   \
    r->f = p;
    GROW(uid) GROW(ts) GROW(type) GROW(item) GROW(group) GROW(amount)
#undef GROW
    r->cap = cap;
    return TP_OK;
nomem:
    return tp_fail(TP_ERR_NOMEM, "out of memory loading %zu events", need);
}

static int64_t ts_seconds(const tp_column *c, size_t i) {
    if (tp_column_type(c) == TP_DTYPE_I32) return TP_CCOL(c, int32_t)[i];
    int64_t v = TP_CCOL(c, int64_t)[i];
    if (tp_column_type(c) != TP_DTYPE_TIMESTAMP) return v;
    int64_t div = 1;
    switch (tp_column_unit(c)) {
    case TP_UNIT_SECONDS: div = 1; break;
    case TP_UNIT_MILLIS: div = 1000; break;
    case TP_UNIT_MICROS: div = 1000000; break;
    case TP_UNIT_NANOS: div = 1000000000; break;
    }
    int64_t q = v / div;
    return (v % div < 0) ? q - 1 : q; // floor
}

static bool is_int(tp_dtype t) { return t == TP_DTYPE_I64 || t == TP_DTYPE_I32 || t == TP_DTYPE_BOOL; }

static tp_status raw_add_batch(raw *r, const tp_frame *f) {
    size_t n = tp_frame_n_rows(f);
    tp_column *cu = tp_frame_find(f, "uid"), *ct = tp_frame_find(f, "timestamp"),
              *ce = tp_frame_find(f, "event_type"), *ci = tp_frame_find(f, "item"),
              *cg = tp_frame_find(f, "group"), *ca = tp_frame_find(f, "amount");
    const char *names[] = {"uid", "timestamp", "event_type", "item"};
    tp_column *req[] = {cu, ct, ce, ci};
    for (int k = 0; k < 4; k++)
        if (!req[k]) return tp_fail(TP_ERR_NOTFOUND, "%s: no column '%s'", r->src, names[k]);
    if (!is_int(tp_column_type(cu)))
        return tp_fail(TP_ERR_FORMAT, "%s: column 'uid' is %s, expected an integer", r->src,
                       tp_dtype_name(tp_column_type(cu)));
    tp_dtype tt = tp_column_type(ct);
    if (tt != TP_DTYPE_I64 && tt != TP_DTYPE_I32 && tt != TP_DTYPE_TIMESTAMP)
        return tp_fail(TP_ERR_FORMAT, "%s: column 'timestamp' is %s, expected int64 seconds or a timestamp",
                       r->src, tp_dtype_name(tt));
    if (tp_column_type(ce) != TP_DTYPE_STR)
        return tp_fail(TP_ERR_FORMAT, "%s: column 'event_type' is %s, expected a string", r->src,
                       tp_dtype_name(tp_column_type(ce)));
    tp_dtype it = tp_column_type(ci);
    if (it != TP_DTYPE_STR && !is_int(it))
        return tp_fail(TP_ERR_FORMAT, "%s: column 'item' is %s, expected a string or an integer",
                       r->src, tp_dtype_name(it));
    if (cg && tp_column_type(cg) != TP_DTYPE_STR)
        return tp_fail(TP_ERR_FORMAT, "%s: column 'group' is %s, expected a string", r->src,
                       tp_dtype_name(tp_column_type(cg)));
    if (ca && tp_column_type(ca) != TP_DTYPE_F64 && tp_column_type(ca) != TP_DTYPE_F32 &&
        !is_int(tp_column_type(ca)))
        return tp_fail(TP_ERR_FORMAT, "%s: column 'amount' is %s, expected a number", r->src,
                       tp_dtype_name(tp_column_type(ca)));
    tp_status rc = raw_reserve(r, r->n + n);
    if (rc != TP_OK) return rc;
    // Dictionaries: one per column for the whole scan; remember them on the first batch.
    if (!r->types) r->types = tp_strdict_ref(tp_column_dict(ce));
    if (r->types != tp_column_dict(ce))
        return tp_fail(TP_ERR_INTERNAL, "%s: event_type dictionary changed between batches", r->src);
    if (it == TP_DTYPE_STR) {
        if (!r->items) r->items = tp_strdict_ref(tp_column_dict(ci));
        if (r->items != tp_column_dict(ci))
            return tp_fail(TP_ERR_INTERNAL, "%s: item dictionary changed between batches", r->src);
    } else if (!r->int_items) {
        if ((rc = tp_i64map_new(1024, &r->int_items)) != TP_OK) return rc;
    }
    if (r->items && it != TP_DTYPE_STR)
        return tp_fail(TP_ERR_FORMAT, "%s: column 'item' changes type between files", r->src);
    if (cg) {
        tp_strdict *sd = tp_column_dict(cg);
        size_t ns = tp_strdict_size(sd);
        if (ns > r->gmap_n) {
            int32_t *m = tp_realloc(r->gmap, ns * sizeof *m);
            if (!m) return tp_fail(TP_ERR_NOMEM, "out of memory");
            r->gmap = m;
            for (size_t k = r->gmap_n; k < ns; k++) {
                size_t len;
                const char *s = tp_strdict_get(sd, (int32_t)k, &len);
                if ((rc = tp_strdict_intern(r->gdict, s, len, &m[k])) != TP_OK) return rc;
            }
            r->gmap_n = ns;
        }
    }
    if (ca) r->has_amount = true;
    if (tp_column_null_count(cu) || tp_column_null_count(ct) || tp_column_null_count(ce) ||
        tp_column_null_count(ci)) {
        for (size_t i = 0; i < n; i++)
            for (int k = 0; k < 4; k++)
                if (tp_column_is_null(req[k], i))
                    return tp_fail(TP_ERR_FORMAT, "%s: row %zu: column '%s' is null", r->src,
                                   r->row0 + i + 1, names[k]);
    }
    size_t o = r->n;
    const int32_t *ecode = TP_CCOL(ce, int32_t);
    if (tp_strdict_size(r->types) > 32000)
        return tp_fail(TP_ERR_FORMAT, "%s: more than 32000 distinct event types", r->src);
    for (size_t i = 0; i < n; i++) {
        r->uid[o + i] = tp_column_type(cu) == TP_DTYPE_I64 ? TP_CCOL(cu, int64_t)[i] : tp_column_get_i64(cu, i);
        r->ts[o + i] = ts_seconds(ct, i);
        r->type[o + i] = (int16_t)ecode[i];
    }
    if (it == TP_DTYPE_STR) {
        memcpy(r->item + o, TP_CCOL(ci, int32_t), n * sizeof(int32_t));
    } else {
        for (size_t i = 0; i < n; i++) {
            int64_t key = tp_column_get_i64(ci, i), val = (int64_t)tp_i64map_size(r->int_items);
            int ins;
            if ((rc = tp_i64map_get_or_put(r->int_items, key, &val, &ins)) != TP_OK) return rc;
            r->item[o + i] = (int32_t)val;
        }
    }
    if (cg) {
        const int32_t *gc = TP_CCOL(cg, int32_t);
        for (size_t i = 0; i < n; i++) r->group[o + i] = tp_column_is_null(cg, i) ? -1 : r->gmap[gc[i]];
    } else {
        for (size_t i = 0; i < n; i++) r->group[o + i] = -1;
    }
    if (ca && tp_column_type(ca) == TP_DTYPE_F64) { // the common case, without per-row calls
        const double *x = TP_CCOL(ca, double);
        const uint8_t *valid = tp_column_validity(ca);
        for (size_t i = 0; i < n; i++)
            r->amount[o + i] = !valid || (valid[i >> 3] >> (i & 7) & 1) ? x[i] : NAN;
    } else if (ca) {
        for (size_t i = 0; i < n; i++)
            r->amount[o + i] = tp_column_is_null(ca, i) ? NAN : tp_column_get_f64(ca, i);
    } else {
        for (size_t i = 0; i < n; i++) r->amount[o + i] = NAN;
    }
    r->n += n;
    r->row0 += n;
    return TP_OK;
}

/* Fill group -1 from the items table (item -> group). */
static tp_status apply_items(raw *r, const tp_frame *items, const char *src) {
    size_t need = 0;
    for (size_t i = 0; i < r->n; i++) need += r->group[i] < 0;
    if (!need) return TP_OK;
    if (!items)
        return tp_fail(TP_ERR_FORMAT, "%s: events without a group and no items table (item -> group)",
                       r->src);
    tp_column *ii, *ig;
    tp_status rc;
    if ((rc = tp_frame_require(items, "item", src, &ii)) != TP_OK) return rc;
    if ((rc = tp_frame_require(items, "group", src, &ig)) != TP_OK) return rc;
    if (tp_column_type(ig) != TP_DTYPE_STR)
        return tp_fail(TP_ERR_FORMAT, "%s: column 'group' is not a string", src);
    size_t n_items = r->items ? tp_strdict_size(r->items) : tp_i64map_size(r->int_items);
    int32_t *map = tp_malloc((n_items ? n_items : 1) * sizeof *map);
    if (!map) return tp_fail(TP_ERR_NOMEM, "out of memory");
    for (size_t k = 0; k < n_items; k++) map[k] = -1;
    size_t rows = tp_frame_n_rows(items);
    for (size_t i = 0; i < rows && rc == TP_OK; i++) {
        if (tp_column_is_null(ii, i) || tp_column_is_null(ig, i)) continue;
        int64_t code = -1;
        if (r->items) {
            if (!tp_dtype_is_string(tp_column_type(ii))) {
                rc = tp_fail(TP_ERR_FORMAT, "%s: column 'item' is not a string like the events' item", src);
                break;
            }
            size_t len;
            const char *s = tp_column_get_str(ii, i, &len);
            code = tp_strdict_find(r->items, s, len);
        } else {
            if (!is_int(tp_column_type(ii))) {
                rc = tp_fail(TP_ERR_FORMAT, "%s: column 'item' is not an integer like the events' item", src);
                break;
            }
            if (!tp_i64map_get(r->int_items, tp_column_get_i64(ii, i), &code)) code = -1;
        }
        if (code < 0) continue;
        size_t len;
        const char *g = tp_column_get_str(ig, i, &len);
        rc = tp_strdict_intern(r->gdict, g, len, &map[code]);
    }
    for (size_t i = 0; i < r->n && rc == TP_OK; i++) {
        if (r->group[i] >= 0) continue;
        if ((r->group[i] = map[r->item[i]]) < 0) {
            char buf[64];
            const char *name = buf;
            if (r->items)
                name = tp_strdict_get(r->items, r->item[i], NULL);
            else
                snprintf(buf, sizeof buf, "(item code %d)", r->item[i]);
            rc = tp_fail(TP_ERR_NOTFOUND, "%s: item '%s' has no group and is not in the items table %s",
                         r->src, name, src);
        }
    }
    tp_free(map);
    return rc;
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

#define PERMUTE(T, field)                                                   \
    do {                                                                    \
        T *nv = tp_malloc((n ? n : 1) * sizeof(T));                         \
        if (!nv) goto nomem;                                                \
        for (size_t i = 0; i < n; i++) nv[i] = r->field[perm[i]];           \
        tp_free(r->field);                                                  \
        r->field = nv;                                                      \
    } while (0)

/* Sort by (uid, group name, ts) and build users and segments; takes r's arrays. */
static tp_status build_events(raw *r, tp_events **out) {
    size_t n = r->n;
    tp_status rc = TP_OK;
    int64_t *k2 = NULL;
    uint32_t *perm = NULL;
    int32_t *rank = NULL;
    tp_events *e = tp_calloc(1, sizeof *e);
    if (!e) goto nomem;
    if (n >= UINT32_MAX) {
        rc = tp_fail(TP_ERR_ARG, "%s: %zu events, more than one process handles (2^32)", r->src, n);
        goto done;
    }
    // Groups sorted by name: rank[gdict code].
    size_t G = tp_strdict_size(r->gdict);
    e->n_groups = G;
    if (!(e->group_names = tp_calloc(G ? G : 1, sizeof(char *))) || !(rank = tp_malloc((G ? G : 1) * sizeof *rank)))
        goto nomem;
    for (size_t g = 0; g < G; g++)
        if (!(e->group_names[g] = tp_strdup(tp_strdict_get(r->gdict, (int32_t)g, NULL)))) goto nomem;
    qsort(e->group_names, G, sizeof(char *), cmp_str);
    for (size_t g = 0; g < G; g++) {
        const char *s = tp_strdict_get(r->gdict, (int32_t)g, NULL);
        rank[g] = tp_events_group_index(e, s);
    }
    size_t T = r->types ? tp_strdict_size(r->types) : 0;
    e->n_type_names = T;
    if (!(e->type_names = tp_calloc(T ? T : 1, sizeof(char *)))) goto nomem;
    for (size_t t = 0; t < T; t++)
        if (!(e->type_names[t] = tp_strdup(tp_strdict_get(r->types, (int32_t)t, NULL)))) goto nomem;
    e->n_items = r->items ? tp_strdict_size(r->items) : r->int_items ? tp_i64map_size(r->int_items) : 0;
    int64_t mn = INT64_MAX, mx = INT64_MIN;
    for (size_t i = 0; i < n; i++) {
        if (r->ts[i] < mn) mn = r->ts[i];
        if (r->ts[i] > mx) mx = r->ts[i];
    }
    e->min_ts = n ? mn : 0;
    e->max_ts = n ? mx : 0;
    if (n && (uint64_t)(mx - mn) >= (1ULL << 42)) {
        rc = tp_fail(TP_ERR_FORMAT, "%s: timestamps span more than 2^42 seconds (are they in seconds?)", r->src);
        goto done;
    }
    if (!(k2 = tp_malloc((n ? n : 1) * sizeof *k2)) || !(perm = tp_malloc((n ? n : 1) * sizeof *perm)))
        goto nomem;
    for (size_t i = 0; i < n; i++) {
        r->group[i] = rank[r->group[i]];
        k2[i] = ((int64_t)r->group[i] << 42) | (r->ts[i] - mn);
    }
    if ((rc = tp_radix_sort_pairs(r->uid, k2, n, perm)) != TP_OK) goto done;
    tp_free(k2);
    k2 = NULL;
    PERMUTE(int64_t, uid);
    PERMUTE(int64_t, ts);
    PERMUTE(int16_t, type);
    PERMUTE(int32_t, item);
    PERMUTE(int32_t, group);
    if (r->has_amount) PERMUTE(double, amount);
    tp_free(perm);
    perm = NULL;
    // Users and segments.
    size_t nu = 0, ns = 0;
    for (size_t i = 0; i < n; i++) {
        bool new_user = i == 0 || r->uid[i] != r->uid[i - 1];
        nu += new_user;
        ns += new_user || r->group[i] != r->group[i - 1];
    }
    e->n = n;
    e->n_users = nu;
    e->n_seg = ns;
    if (!(e->uid = tp_malloc((nu ? nu : 1) * sizeof *e->uid)) ||
        !(e->user_seg = tp_malloc((nu + 1) * sizeof *e->user_seg)) ||
        !(e->seg_off = tp_malloc((ns + 1) * sizeof *e->seg_off)) ||
        !(e->seg_group = tp_malloc((ns ? ns : 1) * sizeof *e->seg_group)))
        goto nomem;
    size_t u = 0, s = 0;
    for (size_t i = 0; i < n; i++) {
        bool new_user = i == 0 || r->uid[i] != r->uid[i - 1];
        if (new_user) {
            e->uid[u] = r->uid[i];
            e->user_seg[u++] = s;
        }
        if (new_user || r->group[i] != r->group[i - 1]) {
            e->seg_off[s] = i;
            e->seg_group[s++] = r->group[i];
        }
    }
    e->user_seg[nu] = ns;
    e->seg_off[ns] = n;
    e->ts = r->ts;
    r->ts = NULL;
    e->type = r->type;
    r->type = NULL;
    e->item = r->item;
    r->item = NULL;
    if (r->has_amount) {
        e->amount = r->amount;
        r->amount = NULL;
    }
    *out = e;
    e = NULL;
    goto done;
nomem:
    rc = tp_fail(TP_ERR_NOMEM, "out of memory grouping %zu events", n);
done:
    tp_free(k2);
    tp_free(perm);
    tp_free(rank);
    tp_events_free(e);
    return rc;
}

static tp_status raw_init(raw *r, const char *src) {
    memset(r, 0, sizeof *r);
    r->src = src;
    return tp_strdict_new(&r->gdict);
}

tp_status tp_events_from_frames(const tp_frame *events, const tp_frame *items, tp_events **out) {
    *out = NULL;
    raw r;
    tp_status rc = raw_init(&r, "events");
    if (rc == TP_OK) rc = raw_add_batch(&r, events);
    if (rc == TP_OK) rc = apply_items(&r, items, "items");
    if (rc == TP_OK) rc = build_events(&r, out);
    raw_free(&r);
    return rc;
}

tp_status tp_events_load(const char *events_path, const char *items_path, tp_events **out) {
    *out = NULL;
    raw r;
    tp_scan *sc = NULL;
    tp_frame *f = NULL, *items = NULL;
    tp_status rc = raw_init(&r, events_path);
    if (rc != TP_OK) goto done;
    // Which optional columns exist: look at the first batch of an unprojected scan.
    const char *cols[6] = {"uid", "timestamp", "event_type", "item"};
    size_t nc = 4;
    if ((rc = tp_scan_open(events_path, NULL, 0, &sc)) != TP_OK) goto done;
    if ((rc = tp_scan_next(sc, &f)) != TP_OK) goto done;
    if (f && tp_frame_find(f, "group")) cols[nc++] = "group";
    if (f && tp_frame_find(f, "amount")) cols[nc++] = "amount";
    tp_frame_free(f);
    f = NULL;
    tp_scan_close(sc);
    sc = NULL;
    if ((rc = tp_scan_open(events_path, cols, nc, &sc)) != TP_OK) goto done;
    for (;;) {
        if ((rc = tp_scan_next(sc, &f)) != TP_OK) goto done;
        if (!f) break;
        if ((rc = raw_add_batch(&r, f)) != TP_OK) goto done;
        tp_frame_free(f);
        f = NULL;
    }
    if (items_path && (rc = tp_table_read(items_path, NULL, 0, &items)) != TP_OK) goto done;
    if ((rc = apply_items(&r, items, items_path ? items_path : "")) != TP_OK) goto done;
    rc = build_events(&r, out);
done:
    tp_frame_free(f);
    tp_frame_free(items);
    tp_scan_close(sc);
    raw_free(&r);
    return rc;
}

// ---- computation plan ----

typedef struct acc {
    int64_t count, namt, last, ndays, nitems, nusers, lastday;
    double sum;
} acc;

typedef struct slot {
    int type;          /* defs type index */
    int any;           /* type is "any" */
    int window;        /* days, 0 = all */
    int64_t start;     /* first timestamp inside the window (INT64_MIN for all) */
    uint8_t ug_days, ug_items, user_days, user_items, group_days, group_users;
} slot;

typedef struct plan {
    const tp_events *ev;
    const tp_feature_defs *d;
    int64_t T;         /* as-of instant */
    int32_t Tday;
    size_t ns;
    slot *slots;
    int *fslot[TP_N_LEVELS]; /* slot of each base feature (-1 for ratio/trend) */
    int16_t *tmap;     /* event type code -> defs type index, -1 none */
    int **by_code;     /* per event type code: slots that match, -1 terminated */
    bool any_ug_items, any_user_days, any_user_items, any_group_days;
} plan;

static void plan_free(plan *p) {
    tp_free(p->slots);
    for (int l = 0; l < TP_N_LEVELS; l++) tp_free(p->fslot[l]);
    tp_free(p->tmap);
    if (p->by_code)
        for (size_t c = 0; c < p->ev->n_type_names; c++) tp_free(p->by_code[c]);
    tp_free(p->by_code);
}

static int slot_of(plan *p, int type, int window, size_t *cap) {
    for (size_t i = 0; i < p->ns; i++)
        if (p->slots[i].type == type && p->slots[i].window == window) return (int)i;
    if (tp_grow((void **)&p->slots, cap, p->ns + 1, sizeof(slot)) != TP_OK) return -1;
    slot *s = &p->slots[p->ns];
    memset(s, 0, sizeof *s);
    s->type = type;
    s->any = !strcmp(p->d->types[type], "any");
    s->window = window;
    s->start = window ? p->T - (int64_t)window * DAY_SECONDS : INT64_MIN;
    return (int)p->ns++;
}

static tp_status plan_build(plan *p, const tp_events *ev, const tp_feature_defs *d, int32_t as_of) {
    memset(p, 0, sizeof *p);
    p->ev = ev;
    p->d = d;
    p->Tday = as_of;
    p->T = (int64_t)as_of * DAY_SECONDS;
    size_t cap = 0;
    for (int l = 0; l < TP_N_LEVELS; l++) {
        if (!(p->fslot[l] = tp_malloc((d->n[l] ? d->n[l] : 1) * sizeof(int)))) goto nomem;
        for (size_t i = 0; i < d->n[l]; i++) {
            const fdef *f = &d->f[l][i];
            p->fslot[l][i] = -1;
            if (f->metric == M_RATIO || f->metric == M_TREND) continue;
            int s = slot_of(p, f->type, f->window, &cap);
            if (s < 0) goto nomem;
            p->fslot[l][i] = s;
            slot *sl = &p->slots[s];
            if (f->metric == M_DISTINCT_DAYS) {
                if (l == TP_LEVEL_USER_GROUP) sl->ug_days = 1;
                if (l == TP_LEVEL_USER) sl->user_days = 1, p->any_user_days = true;
                if (l == TP_LEVEL_GROUP) sl->group_days = 1, p->any_group_days = true;
            }
            if (f->metric == M_DISTINCT_ITEMS) {
                if (l == TP_LEVEL_USER_GROUP) sl->ug_items = 1, p->any_ug_items = true;
                if (l == TP_LEVEL_USER) sl->user_items = 1, p->any_user_items = true;
            }
            if (f->metric == M_DISTINCT_USERS) sl->group_users = 1;
        }
    }
    size_t C = ev->n_type_names;
    if (!(p->tmap = tp_malloc((C ? C : 1) * sizeof *p->tmap)) ||
        !(p->by_code = tp_calloc(C ? C : 1, sizeof *p->by_code)))
        goto nomem;
    for (size_t c = 0; c < C; c++) {
        p->tmap[c] = -1;
        for (size_t t = 0; t < d->n_types; t++)
            if (!strcmp(d->types[t], ev->type_names[c])) p->tmap[c] = (int16_t)t;
        if (!(p->by_code[c] = tp_malloc((p->ns + 1) * sizeof(int)))) goto nomem;
        size_t k = 0;
        for (size_t s = 0; s < p->ns; s++)
            if (p->slots[s].any || p->slots[s].type == p->tmap[c]) p->by_code[c][k++] = (int)s;
        p->by_code[c][k] = -1;
    }
    return TP_OK;
nomem:
    plan_free(p);
    return tp_fail(TP_ERR_NOMEM, "out of memory planning features");
}

static void acc_reset(acc *a, size_t n) {
    for (size_t i = 0; i < n; i++) {
        memset(&a[i], 0, sizeof *a);
        a[i].last = NO_TS;
        a[i].lastday = INT64_MIN;
    }
}

static void acc_merge(acc *dst, const acc *src) {
    dst->count += src->count;
    dst->namt += src->namt;
    dst->sum += src->sum;
    if (src->last > dst->last) dst->last = src->last;
}

static double ratio(double num, double den, const fdef *f) {
    if (den != 0) return num / den;
    if (num == 0) return f->missing;
    return isnan(f->div_zero) ? num : f->div_zero;
}

/* Value of feature i of level l given the slot accumulators a (and parent for share). Earlier
 * values of the same row are in row[] (for ratio/trend). */
static double eval_feature(const plan *p, int l, size_t i, const acc *a, const acc *parent,
                           const double *row) {
    const fdef *f = &p->d->f[l][i];
    int s = p->fslot[l][i];
    switch (f->metric) {
    case M_COUNT: return (double)a[s].count;
    case M_DISTINCT_DAYS: return (double)a[s].ndays;
    case M_DISTINCT_ITEMS: return (double)a[s].nitems;
    case M_DISTINCT_USERS: return (double)a[s].nusers;
    case M_SUM_AMOUNT: return a[s].sum;
    case M_MEAN_AMOUNT: return a[s].namt ? a[s].sum / (double)a[s].namt : f->missing;
    case M_DAYS_SINCE_LAST:
        return a[s].last != NO_TS && (f->window == 0 || a[s].last >= p->slots[s].start)
                   ? (double)(p->T - a[s].last) / DAY_SECONDS
                   : f->missing;
    case M_SHARE:
        return a[s].count && parent && parent[s].count ? (double)a[s].count / (double)parent[s].count : 0.0;
    case M_RATIO:
    case M_TREND: return ratio(row[f->num], row[f->den], f);
    }
    return NAN;
}

double tp_feature_defs_empty_value(const tp_feature_defs *d, tp_feature_level l, size_t i) {
    if ((unsigned)l >= TP_N_LEVELS || i >= d->n[l]) return NAN;
    // Every base metric of an empty row is 0 or its 'missing'; ratios/trends follow from those.
    double *row = tp_malloc((i + 1) * sizeof *row);
    if (!row) return NAN;
    for (size_t k = 0; k <= i; k++) {
        const fdef *f = &d->f[l][k];
        switch (f->metric) {
        case M_MEAN_AMOUNT:
        case M_DAYS_SINCE_LAST: row[k] = f->missing; break;
        case M_RATIO:
        case M_TREND: row[k] = ratio(row[f->num], row[f->den], f); break;
        default: row[k] = 0;
        }
    }
    double v = row[i];
    tp_free(row);
    return v;
}

// ---- distinct counts with windows ----

typedef struct dent {
    int64_t key, ts;
    int32_t code;
} dent;

/* Distinct keys (dense codes < n_keys) per flagged slot: for each slot, keys among entries of the
 * slot's type whose latest timestamp is inside the window. One pass per distinct event type over
 * the entries with a stamp array instead of a sort; adds into a[s].ndays or a[s].nitems. */
typedef struct dscratch {
    uint32_t *stamp;  /* [n_keys] pass id that last saw the key */
    int64_t *maxts;   /* [n_keys] latest timestamp of the key in this pass */
    int32_t *touched; /* keys seen in this pass */
    uint32_t pass;
} dscratch;

static void distinct_count(const plan *p, const dent *e, size_t n, size_t flag_off, int items,
                           acc *a, dscratch *ds) {
    if (!n) return;
#define FLAGGED(q) (*((const uint8_t *)&p->slots[q] + flag_off))
    for (size_t s = 0; s < p->ns; s++) {
        const slot *sl = &p->slots[s];
        if (!FLAGGED(s)) continue;
        bool seen = false; // the type's pass was made for an earlier slot
        for (size_t q = 0; q < s && !seen; q++) seen = FLAGGED(q) && p->slots[q].type == sl->type;
        if (seen) continue;
        uint32_t id = ++ds->pass;
        size_t nt = 0;
        for (size_t i = 0; i < n; i++) {
            if (!sl->any && p->tmap[e[i].code] != sl->type) continue;
            int64_t k = e[i].key;
            if (ds->stamp[k] != id) {
                ds->stamp[k] = id;
                ds->maxts[k] = e[i].ts;
                ds->touched[nt++] = (int32_t)k;
            } else if (e[i].ts > ds->maxts[k]) {
                ds->maxts[k] = e[i].ts;
            }
        }
        for (size_t r = s; r < p->ns; r++) {
            if (!FLAGGED(r) || p->slots[r].type != sl->type) continue;
            int64_t cnt = 0, start = p->slots[r].start;
            for (size_t i = 0; i < nt; i++) cnt += ds->maxts[ds->touched[i]] >= start;
            if (items)
                a[r].nitems = cnt;
            else
                a[r].ndays = cnt;
        }
    }
#undef FLAGGED
}

// ---- the sweep ----

typedef struct gpart { /* group partials of one block: [G][ns] */
    acc *a;
} gpart;

typedef struct run {
    plan *p;
    const tp_events *ev;
    size_t *user_row, *seg_row; /* output row or SIZE_MAX when inactive */
    double **out[TP_N_LEVELS];  /* feature columns */
    int64_t *uid_out[TP_N_LEVELS];
    int32_t *grp_out;
    size_t n_blocks;
    acc *gacc;                  /* [n_blocks][G][ns] */
    uint8_t **gdays;            /* per thread: [G][ns][n_days] presence, or NULL */
    int64_t day0;
    size_t n_days;
    int nt;
} run;

static tp_status sweep_chunk(void *ctx, size_t b_lo, size_t b_hi, int tid) {
    run *R = ctx;
    const plan *p = R->p;
    const tp_events *ev = R->ev;
    const tp_feature_defs *d = p->d;
    size_t ns = p->ns, G = ev->n_groups;
    tp_status rc = TP_OK;
    size_t seg_cap = 16, dcap = 0, ecap = 0, n_keys = ev->n_items > R->n_days ? ev->n_items : R->n_days;
    dscratch ds = {tp_calloc(n_keys + 1, sizeof(uint32_t)), tp_malloc((n_keys + 1) * sizeof(int64_t)),
                   tp_malloc((n_keys + 1) * sizeof(int32_t)), 0};
    acc *ua = tp_malloc(ns * sizeof *ua), *sa = tp_malloc(seg_cap * ns * sizeof *sa);
    double *row = tp_malloc((d->n[0] + d->n[1] + d->n[2] + 1) * sizeof *row);
    dent *dd = NULL, *de = NULL; /* user days and items entries */
    dent *se = NULL;             /* segment items */
    size_t secap = 0;
    uint8_t *gdays = NULL;
    if (p->any_group_days) {
        gdays = tp_calloc(G * ns * R->n_days + 1, 1);
        R->gdays[tid] = gdays;
    }
    if (!ua || !sa || !row || (p->any_group_days && !gdays) || !ds.stamp || !ds.maxts || !ds.touched) {
        rc = tp_fail(TP_ERR_NOMEM, "out of memory computing features");
        goto done;
    }
    for (size_t b = b_lo; b < b_hi; b++) {
        acc *ga = R->gacc + b * G * ns;
        acc_reset(ga, G * ns);
        size_t u_lo = b * BLOCK_USERS, u_hi = u_lo + BLOCK_USERS;
        if (u_hi > ev->n_users) u_hi = ev->n_users;
        for (size_t u = u_lo; u < u_hi; u++) {
            if (R->user_row[u] == SIZE_MAX) continue;
            size_t s_lo = ev->user_seg[u], s_hi = ev->user_seg[u + 1], nseg = s_hi - s_lo;
            if (nseg > seg_cap) {
                seg_cap = nseg;
                acc *t = tp_realloc(sa, seg_cap * ns * sizeof *sa);
                if (!t) {
                    rc = tp_fail(TP_ERR_NOMEM, "out of memory");
                    goto done;
                }
                sa = t;
            }
            acc_reset(ua, ns);
            size_t nd = 0, ne = 0, nu_ev = ev->seg_off[s_hi] - ev->seg_off[s_lo];
            if ((p->any_user_days && tp_grow((void **)&dd, &dcap, nu_ev, sizeof *dd) != TP_OK) ||
                (p->any_user_items && tp_grow((void **)&de, &ecap, nu_ev, sizeof *de) != TP_OK) ||
                (p->any_ug_items && tp_grow((void **)&se, &secap, nu_ev, sizeof *se) != TP_OK))
                goto nomem;
            for (size_t s = s_lo; s < s_hi; s++) {
                acc *a = sa + (s - s_lo) * ns;
                acc_reset(a, ns);
                size_t nse = 0;
                int g = ev->seg_group[s];
                for (size_t i = ev->seg_off[s]; i < ev->seg_off[s + 1]; i++) {
                    int64_t ts = ev->ts[i];
                    if (ts >= p->T) break; // point in time: the run is sorted by time
                    int code = ev->type[i];
                    double amt = ev->amount ? ev->amount[i] : NAN;
                    int64_t day = ts >= 0 ? ts / DAY_SECONDS : (ts - DAY_SECONDS + 1) / DAY_SECONDS;
                    for (const int *sp = p->by_code[code]; *sp >= 0; sp++) {
                        const slot *sl = &p->slots[*sp];
                        if (ts < sl->start) continue;
                        acc *x = &a[*sp];
                        x->count++;
                        if (!isnan(amt)) {
                            x->sum += amt;
                            x->namt++;
                        }
                        x->last = ts;
                        if (day != x->lastday) {
                            x->ndays++;
                            x->lastday = day;
                        }
                        if (sl->group_days) gdays[((size_t)g * ns + (size_t)*sp) * R->n_days + (size_t)(day - R->day0)] = 1;
                    }
                    if (p->any_ug_items) se[nse++] = (dent){ev->item[i], ts, code};
                    if (p->any_user_days) dd[nd++] = (dent){day - R->day0, ts, code};
                    if (p->any_user_items) de[ne++] = (dent){ev->item[i], ts, code};
                }
                if (p->any_ug_items) distinct_count(p, se, nse, offsetof(slot, ug_items), 1, a, &ds);
                for (size_t k = 0; k < ns; k++) {
                    acc_merge(&ua[k], &a[k]);
                    acc *gx = &ga[(size_t)g * ns + k];
                    acc_merge(gx, &a[k]);
                    gx->nusers += a[k].count > 0;
                }
            }
            if (p->any_user_days) distinct_count(p, dd, nd, offsetof(slot, user_days), 0, ua, &ds);
            if (p->any_user_items) distinct_count(p, de, ne, offsetof(slot, user_items), 1, ua, &ds);
            // user row
            size_t r = R->user_row[u];
            R->uid_out[TP_LEVEL_USER][r] = ev->uid[u];
            for (size_t i = 0; i < d->n[TP_LEVEL_USER]; i++) {
                row[i] = eval_feature(p, TP_LEVEL_USER, i, ua, NULL, row);
                R->out[TP_LEVEL_USER][i][r] = row[i];
            }
            // user x group rows
            for (size_t s = s_lo; s < s_hi; s++) {
                size_t sr = R->seg_row[s];
                if (sr == SIZE_MAX) continue;
                R->uid_out[TP_LEVEL_USER_GROUP][sr] = ev->uid[u];
                R->grp_out[sr] = ev->seg_group[s];
                const acc *a = sa + (s - s_lo) * ns;
                for (size_t i = 0; i < d->n[TP_LEVEL_USER_GROUP]; i++) {
                    row[i] = eval_feature(p, TP_LEVEL_USER_GROUP, i, a, ua, row);
                    R->out[TP_LEVEL_USER_GROUP][i][sr] = row[i];
                }
            }
        }
    }
    goto done;
nomem:
    rc = tp_fail(TP_ERR_NOMEM, "out of memory computing features");
done:
    tp_free(ua);
    tp_free(sa);
    tp_free(row);
    tp_free(dd);
    tp_free(de);
    tp_free(se);
    tp_free(ds.stamp);
    tp_free(ds.maxts);
    tp_free(ds.touched);
    return rc;
}

void tp_feature_set_free(tp_feature_set *s) {
    if (!s) return;
    for (int l = 0; l < TP_N_LEVELS; l++) tp_frame_free(s->level[l]);
    tp_free(s);
}

/* A frame with key columns and n_feat double columns of n rows; pointers to their storage. */
static tp_status make_frame(const tp_events *ev, const tp_feature_defs *d, int l, size_t n,
                            tp_frame **out, int64_t **uid, int32_t **grp, double **cols) {
    tp_frame *f = NULL;
    tp_column *c = NULL;
    tp_status rc = tp_frame_new(&f);
    if (rc != TP_OK) return rc;
    if (l != TP_LEVEL_GROUP) {
        if ((rc = tp_column_new("uid", TP_DTYPE_I64, n, &c)) != TP_OK) goto done;
        if ((rc = tp_column_resize(c, n)) != TP_OK) goto done;
        *uid = TP_COL(c, int64_t);
        if ((rc = tp_frame_add_take(f, c)) != TP_OK) goto done;
        c = NULL;
    }
    if (l != TP_LEVEL_USER) {
        tp_strdict *sd = NULL;
        if ((rc = tp_strdict_new(&sd)) != TP_OK) goto done;
        for (size_t g = 0; g < ev->n_groups && rc == TP_OK; g++) {
            int32_t code;
            rc = tp_strdict_intern(sd, ev->group_names[g], strlen(ev->group_names[g]), &code);
        }
        if (rc == TP_OK) rc = tp_column_new_dict("group", TP_DTYPE_STR, sd, n, &c);
        tp_strdict_unref(sd);
        if (rc != TP_OK) goto done;
        if ((rc = tp_column_resize(c, n)) != TP_OK) goto done;
        *grp = TP_COL(c, int32_t);
        if ((rc = tp_frame_add_take(f, c)) != TP_OK) goto done;
        c = NULL;
    }
    for (size_t i = 0; i < d->n[l]; i++) {
        if ((rc = tp_column_new(d->f[l][i].name, TP_DTYPE_F64, n, &c)) != TP_OK) goto done;
        if ((rc = tp_column_resize(c, n)) != TP_OK) goto done;
        cols[i] = TP_COL(c, double);
        if ((rc = tp_frame_add_take(f, c)) != TP_OK) goto done;
        c = NULL;
    }
    *out = f;
    f = NULL;
done:
    tp_column_free(c);
    tp_frame_free(f);
    return rc;
}

tp_status tp_features_compute(const tp_events *ev, const tp_feature_defs *d, int32_t as_of,
                              int n_threads, tp_feature_set **out) {
    *out = NULL;
    double t0 = tp_now();
    plan p;
    tp_status rc = plan_build(&p, ev, d, as_of);
    if (rc != TP_OK) return rc;
    run R = {.p = &p, .ev = ev};
    tp_feature_set *fs = tp_calloc(1, sizeof *fs);
    double *cols[TP_N_LEVELS] = {0};
    size_t G = ev->n_groups, ns = p.ns;
    int32_t *gdummy = NULL;
    int64_t *udummy = NULL;
    if (!fs || !(R.user_row = tp_malloc((ev->n_users + 1) * sizeof(size_t))) ||
        !(R.seg_row = tp_malloc((ev->n_seg + 1) * sizeof(size_t))))
        goto nomem;
    fs->as_of = as_of;
    // Rows: a pair is present when its first event is before T; a user when any pair is.
    size_t nu = 0, nsg = 0;
    for (size_t u = 0; u < ev->n_users; u++) {
        bool any = false;
        for (size_t s = ev->user_seg[u]; s < ev->user_seg[u + 1]; s++) {
            bool act = ev->ts[ev->seg_off[s]] < p.T;
            R.seg_row[s] = act ? nsg++ : SIZE_MAX;
            any |= act;
        }
        R.user_row[u] = any ? nu++ : SIZE_MAX;
    }
    for (int l = 0; l < TP_N_LEVELS; l++) {
        size_t rows = l == TP_LEVEL_USER ? nu : l == TP_LEVEL_GROUP ? G : nsg;
        if (!(R.out[l] = tp_calloc(d->n[l] + 1, sizeof(double *)))) goto nomem;
        int64_t **up = l == TP_LEVEL_GROUP ? &udummy : &R.uid_out[l];
        int32_t **gp = l == TP_LEVEL_USER ? &gdummy : l == TP_LEVEL_GROUP ? &gdummy : &R.grp_out;
        if ((rc = make_frame(ev, d, l, rows, &fs->level[l], up, gp, R.out[l])) != TP_OK) goto done;
        if (l == TP_LEVEL_GROUP)
            for (size_t g = 0; g < G; g++) gdummy[g] = (int32_t)g;
    }
    (void)cols;
    int nt = n_threads > 0 ? n_threads : tp_threads_default();
    R.n_blocks = (ev->n_users + BLOCK_USERS - 1) / BLOCK_USERS;
    if ((size_t)nt > R.n_blocks) nt = R.n_blocks ? (int)R.n_blocks : 1;
    R.nt = nt;
    R.day0 = ev->n ? ev->min_ts / DAY_SECONDS - 1 : 0;
    R.n_days = ev->n ? (size_t)(ev->max_ts / DAY_SECONDS - R.day0 + 2) : 1;
    if (!(R.gacc = tp_malloc((R.n_blocks * G * ns + 1) * sizeof(acc))) ||
        !(R.gdays = tp_calloc((size_t)nt, sizeof(uint8_t *))))
        goto nomem;
    if ((rc = tp_parallel_for(R.n_blocks, nt, sweep_chunk, &R)) != TP_OK) goto done;
    // Group rows: block partials reduced in block order (the same for any thread count).
    {
        acc *ga = tp_malloc((G * ns + 1) * sizeof *ga), tot[1];
        acc *total = tp_malloc((ns + 1) * sizeof *total);
        double *row = tp_malloc((d->n[TP_LEVEL_GROUP] + 1) * sizeof *row);
        if (!ga || !total || !row) {
            tp_free(ga);
            tp_free(total);
            tp_free(row);
            goto nomem;
        }
        (void)tot;
        acc_reset(ga, G * ns);
        acc_reset(total, ns);
        for (size_t b = 0; b < R.n_blocks; b++)
            for (size_t k = 0; k < G * ns; k++) {
                acc_merge(&ga[k], &R.gacc[b * G * ns + k]);
                ga[k].nusers += R.gacc[b * G * ns + k].nusers;
            }
        for (size_t g = 0; g < G; g++)
            for (size_t k = 0; k < ns; k++) {
                acc_merge(&total[k], &ga[g * ns + k]);
                if (!p.slots[k].group_days) continue;
                int64_t lo = p.slots[k].window ? (int64_t)as_of - p.slots[k].window : INT64_MIN;
                int64_t cnt = 0;
                for (size_t dd = 0; dd < R.n_days; dd++) {
                    int64_t day = R.day0 + (int64_t)dd;
                    if (day < lo || day >= as_of) continue;
                    uint8_t present = 0;
                    for (int t = 0; t < nt; t++)
                        if (R.gdays[t]) present |= R.gdays[t][(g * ns + k) * R.n_days + dd];
                    cnt += present;
                }
                ga[g * ns + k].ndays = cnt;
            }
        for (size_t g = 0; g < G; g++)
            for (size_t i = 0; i < d->n[TP_LEVEL_GROUP]; i++) {
                row[i] = eval_feature(&p, TP_LEVEL_GROUP, i, ga + g * ns, total, row);
                R.out[TP_LEVEL_GROUP][i][g] = row[i];
            }
        tp_free(ga);
        tp_free(total);
        tp_free(row);
    }
    fs->seconds = tp_now() - t0;
    *out = fs;
    fs = NULL;
    goto done;
nomem:
    rc = tp_fail(TP_ERR_NOMEM, "out of memory computing features");
done:
    if (R.gdays)
        for (int t = 0; t < R.nt; t++) tp_free(R.gdays[t]);
    tp_free(R.gdays);
    tp_free(R.gacc);
    for (int l = 0; l < TP_N_LEVELS; l++) tp_free(R.out[l]);
    tp_free(R.user_row);
    tp_free(R.seg_row);
    tp_feature_set_free(fs);
    plan_free(&p);
    return rc;
}

tp_status tp_feature_set_write(const tp_feature_set *s, const char *dir) {
    tp_status rc = tp_mkdirs(dir);
    for (int l = 0; l < TP_N_LEVELS && rc == TP_OK; l++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s.parquet", dir, tp_feature_level_name((tp_feature_level)l));
        rc = tp_table_write(s->level[l], path, NULL);
    }
    return rc;
}

/* features_defs.c: feature definitions in YAML (libyaml document API, so every error names the key
 * and its line). Blocks of `levels x metrics x event_types x windows` expand into features with
 * predictable names; ratios, trends and shares refer to earlier features. The canonical form (one
 * line per feature, every parameter spelled out) is what the store hashes. */
#include "features_impl.h"
#include "core/yamlcfg.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

const char *const tp_feat_metric_names[M_N_METRICS] = {
    "count", "distinct_days", "distinct_items", "sum_amount", "mean_amount", "days_since_last",
    "distinct_users", "share", "ratio", "trend",
};
static const char *const level_names[TP_N_LEVELS] = {"user", "group", "user_group"};

const char *tp_feature_level_name(tp_feature_level l) {
    return (unsigned)l < TP_N_LEVELS ? level_names[l] : "?";
}

// ---- dates ----

tp_status tp_date_parse(const char *s, int32_t *days) {
    int y, m, d, n = 0;
    if (!s || sscanf(s, "%4d-%2d-%2d%n", &y, &m, &d, &n) != 3 || s[n] || n != 10 || m < 1 ||
        m > 12 || d < 1 || d > 31)
        return tp_fail(TP_ERR_ARG, "'%s' is not a date (YYYY-MM-DD)", s ? s : "(null)");
    int64_t v = tp_civil_to_days(y, m, d);
    int yy, mm, dd;
    tp_days_to_civil(v, &yy, &mm, &dd);
    if (yy != y || mm != m || dd != d) return tp_fail(TP_ERR_ARG, "'%s' is not a valid date", s);
    *days = (int32_t)v;
    return TP_OK;
}

char *tp_date_format(int32_t days, char *buf) {
    int y, m, d;
    tp_days_to_civil(days, &y, &m, &d);
    char tmp[48];
    snprintf(tmp, sizeof tmp, "%04d-%02d-%02d", y, m, d);
    memcpy(buf, tmp, 10);
    buf[10] = 0;
    return buf;
}

// ---- parsing ----

typedef struct parser {
    tp_ycfg y;
    tp_feature_defs *d;
    size_t cap[TP_N_LEVELS];
} parser;

/* A number, or nan, .nan or null for NaN (no value). */
static tp_status get_double(parser *p, const yaml_node_t *n, const char *key, double *out) {
    const char *s = tp_ycfg_scalar(n);
    if (tp_ycfg_is_null(n) || (s && (!strcmp(s, "nan") || !strcmp(s, ".nan") || !strcmp(s, "null")))) {
        *out = NAN;
        return TP_OK;
    }
    return tp_ycfg_num(&p->y, key, n, -INFINITY, INFINITY, out);
}

/* A scalar or a sequence of scalars -> items[0..*n). */
static tp_status get_list(parser *p, const yaml_node_t *n, const char *key, const char **items,
                          size_t max, size_t *cnt) {
    return tp_ycfg_list(&p->y, key, n, TP_YCFG_ONE | TP_YCFG_NONEMPTY, items, max, cnt);
}

static tp_status parse_window(parser *p, const yaml_node_t *n, const char *s, int *w) {
    if (!strcmp(s, "all")) {
        *w = 0;
        return TP_OK;
    }
    char *end;
    long v = strtol(s, &end, 10);
    if ((*end && strcmp(end, "d")) || v < 1 || v > 36500)
        return tp_ycfg_fail(&p->y, n, "window '%s' is not a number of days (1..36500) or 'all'", s);
    *w = (int)v;
    return TP_OK;
}

static tp_status type_index(parser *p, const char *s, int *idx) {
    tp_feature_defs *d = p->d;
    for (size_t i = 0; i < d->n_types; i++)
        if (!strcmp(d->types[i], s)) {
            *idx = (int)i;
            return TP_OK;
        }
    char **t = tp_realloc(d->types, (d->n_types + 1) * sizeof *t);
    if (!t) return tp_fail(TP_ERR_NOMEM, "out of memory");
    d->types = t;
    if (!(t[d->n_types] = tp_strdup(s))) return tp_fail(TP_ERR_NOMEM, "out of memory");
    *idx = (int)d->n_types++;
    return TP_OK;
}

static int find_feature(const tp_feature_defs *d, int level, const char *name) {
    for (size_t i = 0; i < d->n[level]; i++)
        if (!strcmp(d->f[level][i].name, name)) return (int)i;
    return -1;
}

static tp_status add_feature(parser *p, const yaml_node_t *at, int level, fdef *f) {
    tp_feature_defs *d = p->d;
    if (find_feature(d, level, f->name) >= 0) {
        tp_status rc = tp_ycfg_fail(&p->y, at, "duplicate feature name '%s' at level %s", f->name, level_names[level]);
        tp_free(f->name);
        return rc;
    }
    if (tp_grow((void **)&d->f[level], &p->cap[level], d->n[level] + 1, sizeof(fdef)) != TP_OK) {
        tp_free(f->name);
        return TP_ERR_NOMEM;
    }
    d->f[level][d->n[level]++] = *f;
    return TP_OK;
}

static char *window_suffix(int w, char *buf) {
    if (w)
        snprintf(buf, 16, "_%dd", w);
    else
        snprintf(buf, 16, "_all");
    return buf;
}

#define MAXL 64

static const char *const block_keys[] = {
    "level", "levels", "metric", "metrics", "event_type", "event_types", "window", "windows", "name",
    "numerator", "denominator", "of", "short", "long", "zero", "div_zero", "missing", NULL,
};

static tp_status parse_block(parser *p, const yaml_node_t *blk, const char **def_types,
                             size_t n_def_types, const char **def_windows, size_t n_def_windows) {
    if (blk->type != YAML_MAPPING_NODE)
        return tp_ycfg_fail(&p->y, blk, "each entry of 'features' is a mapping (level, metric, ...)");
    const yaml_node_t *v[sizeof block_keys / sizeof *block_keys] = {0};
    const char *ks;
    yaml_node_t *k, *kv;
    tp_status rc = tp_ycfg_map(&p->y, blk, NULL, NULL);
    if (rc != TP_OK) return rc;
    tp_ycfg_foreach(&p->y, blk, i, ks, k, kv) {
        int found = -1;
        for (int b = 0; block_keys[b]; b++)
            if (!strcmp(block_keys[b], ks)) found = b;
        if (found < 0) return tp_ycfg_fail(&p->y, k, "unknown key '%s' in a feature block", ks);
        v[found] = kv;
    }
    const yaml_node_t *lev = v[0] ? v[0] : v[1], *met = v[2] ? v[2] : v[3];
    const yaml_node_t *typ = v[4] ? v[4] : v[5], *win = v[6] ? v[6] : v[7];
    const yaml_node_t *name = v[8], *num = v[9], *den = v[10], *of = v[11], *sh = v[12],
                      *lo = v[13], *zero = v[14], *div0 = v[15], *miss = v[16];
    if (v[0] && v[1]) return tp_ycfg_fail(&p->y, v[1], "give 'level' or 'levels', not both");
    if (v[2] && v[3]) return tp_ycfg_fail(&p->y, v[3], "give 'metric' or 'metrics', not both");
    if (v[4] && v[5]) return tp_ycfg_fail(&p->y, v[5], "give 'event_type' or 'event_types', not both");
    if (v[6] && v[7]) return tp_ycfg_fail(&p->y, v[7], "give 'window' or 'windows', not both");
    if (!lev) return tp_ycfg_fail(&p->y, blk, "a feature block needs 'level' (user, group or user_group)");
    if (!met) return tp_ycfg_fail(&p->y, blk, "a feature block needs 'metric'");
    const char *lv[4], *mv[M_N_METRICS], *tv[MAXL], *wv[MAXL];
    size_t nl, nm, nt = n_def_types, nw = n_def_windows;
    if ((rc = get_list(p, lev, "level", lv, 4, &nl)) != TP_OK) return rc;
    if ((rc = get_list(p, met, "metric", mv, M_N_METRICS, &nm)) != TP_OK) return rc;
    memcpy(tv, def_types, nt * sizeof *tv);
    memcpy(wv, def_windows, nw * sizeof *wv);
    if (typ && (rc = get_list(p, typ, "event_types", tv, MAXL, &nt)) != TP_OK) return rc;
    if (win && (rc = get_list(p, win, "windows", wv, MAXL, &nw)) != TP_OK) return rc;
    int levels[4], metrics[M_N_METRICS], windows[MAXL];
    for (size_t i = 0; i < nl; i++) {
        levels[i] = -1;
        for (int l = 0; l < TP_N_LEVELS; l++)
            if (!strcmp(lv[i], level_names[l])) levels[i] = l;
        if (levels[i] < 0)
            return tp_ycfg_fail(&p->y, lev, "unknown level '%s' (user, group, user_group)", lv[i]);
    }
    for (size_t i = 0; i < nm; i++) {
        metrics[i] = -1;
        for (int m = 0; m < M_N_METRICS; m++)
            if (!strcmp(mv[i], tp_feat_metric_names[m])) metrics[i] = m;
        if (metrics[i] < 0) return tp_ycfg_fail(&p->y, met, "unknown metric '%s'", mv[i]);
        if ((metrics[i] == M_RATIO || metrics[i] == M_TREND) && nm > 1)
            return tp_ycfg_fail(&p->y, met, "'%s' must be the only metric of its block", mv[i]);
    }
    for (size_t i = 0; i < nw; i++)
        if ((rc = parse_window(p, win ? win : blk, wv[i], &windows[i])) != TP_OK) return rc;
    double zero_v = 0, div0_v = NAN, miss_v = NAN;
    if (zero && (rc = get_double(p, zero, "zero", &zero_v)) != TP_OK) return rc;
    if (div0 && (rc = get_double(p, div0, "div_zero", &div0_v)) != TP_OK) return rc;
    if (miss && (rc = get_double(p, miss, "missing", &miss_v)) != TP_OK) return rc;
    const char *ename = tp_ycfg_scalar(name);
    if (name && !ename) return tp_ycfg_fail(&p->y, name, "'name' wants a string");

    int m0 = metrics[0];
    if (m0 == M_RATIO || m0 == M_TREND) {
        // Operand-based features: num/den names (ratio) or of + short/long (trend).
        if (m0 == M_RATIO && (!num || !den || !tp_ycfg_scalar(num) || !tp_ycfg_scalar(den)))
            return tp_ycfg_fail(&p->y, blk, "a ratio needs 'numerator' and 'denominator' (feature names)");
        if (m0 == M_RATIO && !ename) return tp_ycfg_fail(&p->y, blk, "a ratio needs a 'name'");
        if (m0 == M_TREND && (!of || !sh || !lo || !tp_ycfg_scalar(of)))
            return tp_ycfg_fail(&p->y, blk, "a trend needs 'of' (a feature name without window), 'short' and 'long'");
        if (m0 == M_RATIO && (of || sh || lo))
            return tp_ycfg_fail(&p->y, of ? of : sh ? sh : lo, "'of', 'short' and 'long' belong to a trend");
        if (m0 == M_TREND && (num || den))
            return tp_ycfg_fail(&p->y, num ? num : den, "'numerator' and 'denominator' belong to a ratio");
        if (typ || miss) return tp_ycfg_fail(&p->y, typ ? typ : miss, "'%s' does not apply to ratio or trend", typ ? "event_types" : "missing");
        int sw = 0, lw = 0;
        size_t nwin = m0 == M_RATIO ? (win ? nw : 1) : 1;
        if (m0 == M_TREND) {
            if ((rc = parse_window(p, sh, tp_ycfg_scalar(sh) ? tp_ycfg_scalar(sh) : "?", &sw)) != TP_OK) return rc;
            if ((rc = parse_window(p, lo, tp_ycfg_scalar(lo) ? tp_ycfg_scalar(lo) : "?", &lw)) != TP_OK) return rc;
            if (win) return tp_ycfg_fail(&p->y, win, "a trend takes 'short' and 'long', not 'windows'");
        }
        if (ename && nl > 1) return tp_ycfg_fail(&p->y, name, "'name' with several levels would repeat a name");
        for (size_t li = 0; li < nl; li++)
            for (size_t wi = 0; wi < nwin; wi++) {
                char nbuf[256], dbuf[256], fbuf[256], s1[16], s2[16];
                if (m0 == M_RATIO) {
                    const char *sfx = win ? window_suffix(windows[wi], s1) : "";
                    snprintf(nbuf, sizeof nbuf, "%s%s", tp_ycfg_scalar(num), sfx);
                    snprintf(dbuf, sizeof dbuf, "%s%s", tp_ycfg_scalar(den), sfx);
                    snprintf(fbuf, sizeof fbuf, "%s%s", ename, sfx);
                } else {
                    const char *ofs = tp_ycfg_scalar(of) ? tp_ycfg_scalar(of) : "";
                    snprintf(nbuf, sizeof nbuf, "%s%s", ofs, window_suffix(sw, s1));
                    snprintf(dbuf, sizeof dbuf, "%s%s", ofs, window_suffix(lw, s2));
                    if (ename)
                        snprintf(fbuf, sizeof fbuf, "%s", ename);
                    else
                        snprintf(fbuf, sizeof fbuf, "%s_trend%s%s", ofs, s1, s2);
                }
                fdef f = {.metric = m0, .type = -1, .window = 0, .missing = zero_v, .div_zero = div0_v};
                f.num = find_feature(p->d, levels[li], nbuf);
                f.den = find_feature(p->d, levels[li], dbuf);
                if (f.num < 0)
                    return tp_ycfg_fail(&p->y, m0 == M_RATIO ? num : of, "no earlier %s feature named '%s'",
                               level_names[levels[li]], nbuf);
                if (f.den < 0)
                    return tp_ycfg_fail(&p->y, m0 == M_RATIO ? den : of, "no earlier %s feature named '%s'",
                               level_names[levels[li]], dbuf);
                if (!(f.name = tp_strdup(fbuf))) return tp_fail(TP_ERR_NOMEM, "out of memory");
                if ((rc = add_feature(p, name ? name : blk, levels[li], &f)) != TP_OK) return rc;
            }
        return TP_OK;
    }
    for (int i = 9; i <= 13; i++)
        if (v[i]) return tp_ycfg_fail(&p->y, v[i], "'%s' only applies to ratio or trend", block_keys[i]);
    if (div0) return tp_ycfg_fail(&p->y, div0, "'div_zero' only applies to ratio or trend");
    if (zero) return tp_ycfg_fail(&p->y, zero, "'zero' only applies to ratio or trend");
    if (!nt) return tp_ycfg_fail(&p->y, blk, "no event_types (give them here or at the top level)");
    if (!nw) return tp_ycfg_fail(&p->y, blk, "no windows (give them here or at the top level)");
    if (ename && nl * nm * nt * nw != 1)
        return tp_ycfg_fail(&p->y, name, "'name' needs a block that defines exactly one feature");
    for (size_t li = 0; li < nl; li++)
        for (size_t mi = 0; mi < nm; mi++) {
            int l = levels[li], m = metrics[mi];
            if (m == M_DISTINCT_USERS && l != TP_LEVEL_GROUP)
                return tp_ycfg_fail(&p->y, met, "distinct_users is a group-level metric");
            if (m == M_DISTINCT_ITEMS && l == TP_LEVEL_GROUP)
                return tp_ycfg_fail(&p->y, met, "distinct_items is not available at level group");
            if (m == M_SHARE && l == TP_LEVEL_USER)
                return tp_ycfg_fail(&p->y, met, "share is for levels user_group and group");
            if (miss && m != M_MEAN_AMOUNT && m != M_DAYS_SINCE_LAST)
                return tp_ycfg_fail(&p->y, miss, "'missing' applies to mean_amount and days_since_last, not %s",
                           tp_feat_metric_names[m]);
            for (size_t ti = 0; ti < nt; ti++)
                for (size_t wi = 0; wi < nw; wi++) {
                    fdef f = {.metric = m, .window = windows[wi], .num = -1, .den = -1,
                              .div_zero = NAN};
                    if ((rc = type_index(p, tv[ti], &f.type)) != TP_OK) return rc;
                    f.missing = miss ? miss_v
                                : m == M_DAYS_SINCE_LAST ? (f.window ? f.window : 3650)
                                                         : 0;
                    char buf[256], s1[16];
                    if (ename)
                        snprintf(buf, sizeof buf, "%s", ename);
                    else
                        snprintf(buf, sizeof buf, "%s_%s%s", tv[ti], tp_feat_metric_names[m],
                                 window_suffix(f.window, s1));
                    if (!(f.name = tp_strdup(buf))) return tp_fail(TP_ERR_NOMEM, "out of memory");
                    if ((rc = add_feature(p, name ? name : blk, l, &f)) != TP_OK) return rc;
                }
        }
    return TP_OK;
}

static tp_status parse_root(parser *p) {
    const yaml_node_t *root = tp_ycfg_root(&p->y);
    const char *def_types[MAXL], *def_windows[MAXL];
    size_t nt = 0, nw = 0;
    const yaml_node_t *features = NULL;
    const char *ks;
    yaml_node_t *k, *v;
    tp_status rc = tp_ycfg_map(&p->y, root, NULL, "version, event_types, windows, labels, features");
    if (rc != TP_OK) return rc;
    tp_ycfg_foreach(&p->y, root, i, ks, k, v) {
        if (!strcmp(ks, "version")) {
            int ver;
            if ((rc = tp_ycfg_int(&p->y, "version", v, 1, 1, &ver)) != TP_OK) return rc;
        } else if (!strcmp(ks, "event_types")) {
            if ((rc = get_list(p, v, ks, def_types, MAXL, &nt)) != TP_OK) return rc;
        } else if (!strcmp(ks, "windows")) {
            if ((rc = get_list(p, v, ks, def_windows, MAXL, &nw)) != TP_OK) return rc;
            for (size_t w = 0; w < nw; w++) {
                int days;
                if ((rc = parse_window(p, v, def_windows[w], &days)) != TP_OK) return rc;
            }
        } else if (!strcmp(ks, "labels")) {
            const char *ls;
            yaml_node_t *lk, *lv;
            if ((rc = tp_ycfg_map(&p->y, v, "labels", "purchase_type, horizon_days")) != TP_OK) return rc;
            tp_ycfg_foreach(&p->y, v, j, ls, lk, lv) {
                if (!strcmp(ls, "purchase_type"))
                    rc = tp_ycfg_str(&p->y, "purchase_type", lv, TP_YCFG_NONEMPTY, &p->d->purchase_type);
                else if (!strcmp(ls, "horizon_days"))
                    rc = tp_ycfg_int(&p->y, "horizon_days", lv, 1, 3650, &p->d->horizon);
                else
                    rc = tp_ycfg_fail(&p->y, lk, "unknown key '%s' in 'labels' (purchase_type, horizon_days)", ls);
                if (rc != TP_OK) return rc;
            }
        } else if (!strcmp(ks, "features")) {
            if (v->type != YAML_SEQUENCE_NODE) return tp_ycfg_fail(&p->y, v, "'features' is a list of blocks");
            features = v;
        } else {
            return tp_ycfg_fail(&p->y, k, "unknown key '%s' (version, event_types, windows, labels, features)", ks);
        }
    }
    if (!features) return tp_ycfg_fail(&p->y, root, "no 'features:' list");
    for (size_t i = 0; i < tp_ycfg_len(features); i++)
        if ((rc = parse_block(p, tp_ycfg_item(&p->y, features, i), def_types, nt, def_windows, nw)) != TP_OK)
            return rc;
    size_t total = 0;
    for (int l = 0; l < TP_N_LEVELS; l++) total += p->d->n[l];
    if (!total) return tp_ycfg_fail(&p->y, features, "'features' defines no feature");
    return TP_OK;
}

// ---- canonical form and hash ----

static void fmt_num(double v, char *buf) {
    if (isnan(v))
        strcpy(buf, "nan");
    else
        tp_format_f64(v, buf);
}

typedef struct sbuf {
    char *s;
    size_t len, cap;
} sbuf;

static tp_status sb_add(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static tp_status sb_add(sbuf *b, const char *fmt, ...) {
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (k < 0) k = 0;
    if ((size_t)k >= sizeof line) k = (int)sizeof line - 1;
    if (tp_grow((void **)&b->s, &b->cap, b->len + (size_t)k + 1, 1) != TP_OK) return TP_ERR_NOMEM;
    memcpy(b->s + b->len, line, (size_t)k + 1);
    b->len += (size_t)k;
    return TP_OK;
}

static tp_status build_canonical(tp_feature_defs *d) {
    sbuf b = {0};
    tp_status rc = sb_add(&b, "labels purchase_type=%s horizon_days=%d\n", d->purchase_type, d->horizon);
    for (int l = 0; l < TP_N_LEVELS && rc == TP_OK; l++)
        for (size_t i = 0; i < d->n[l] && rc == TP_OK; i++) {
            const fdef *f = &d->f[l][i];
            char a[40], c[40];
            fmt_num(f->missing, a);
            fmt_num(f->div_zero, c);
            if (f->metric == M_RATIO || f->metric == M_TREND)
                rc = sb_add(&b, "%s %s %s num=%s den=%s zero=%s div_zero=%s\n", level_names[l],
                            f->name, tp_feat_metric_names[f->metric], d->f[l][f->num].name,
                            d->f[l][f->den].name, a, c);
            else
                rc = sb_add(&b, "%s %s %s type=%s window=%d missing=%s\n", level_names[l], f->name,
                            tp_feat_metric_names[f->metric], d->types[f->type], f->window, a);
        }
    if (rc != TP_OK) {
        tp_free(b.s);
        return rc;
    }
    d->canonical = b.s;
    snprintf(d->hash, sizeof d->hash, "%016llx",
             (unsigned long long)tp_hash_bytes(b.s, b.len, 0x7470666561747331ULL));
    return TP_OK;
}

// ---- public ----

void tp_feature_defs_free(tp_feature_defs *d) {
    if (!d) return;
    for (int l = 0; l < TP_N_LEVELS; l++) {
        for (size_t i = 0; i < d->n[l]; i++) tp_free(d->f[l][i].name);
        tp_free(d->f[l]);
    }
    for (size_t i = 0; i < d->n_types; i++) tp_free(d->types[i]);
    tp_free(d->types);
    tp_free(d->purchase_type);
    tp_free(d->canonical);
    tp_free(d);
}

/* The definitions in the document that `loaded` says p->y holds. */
static tp_status parse_doc(parser *p, tp_status loaded, tp_feature_defs **out) {
    tp_status rc = loaded;
    if (rc == TP_OK && (!(p->d = tp_calloc(1, sizeof *p->d)) ||
                        !(p->d->purchase_type = tp_strdup("purchase"))))
        rc = tp_fail(TP_ERR_NOMEM, "out of memory");
    if (rc == TP_OK) {
        p->d->horizon = 30;
        rc = parse_root(p);
    }
    if (rc == TP_OK) rc = build_canonical(p->d);
    if (rc == TP_OK) {
        *out = p->d;
        p->d = NULL;
    }
    tp_feature_defs_free(p->d);
    tp_ycfg_close(&p->y);
    return rc;
}

tp_status tp_feature_defs_parse(const char *text, size_t len, const char *source,
                                tp_feature_defs **out) {
    *out = NULL;
    parser p = {.y = {.path = source ? source : "(features)", .what = "feature definitions",
                      .short_loc = true}};
    return parse_doc(&p, tp_ycfg_load_text(&p.y, text, len), out);
}

tp_status tp_feature_defs_load(const char *path, tp_feature_defs **out) {
    *out = NULL;
    parser p = {.y = {.path = path, .what = "feature definitions", .short_loc = true}};
    return parse_doc(&p, tp_ycfg_load_file(&p.y), out);
}

const char *tp_feature_defs_hash(const tp_feature_defs *d) { return d->hash; }
const char *tp_feature_defs_canonical(const tp_feature_defs *d) { return d->canonical; }
size_t tp_feature_defs_n(const tp_feature_defs *d, tp_feature_level l) {
    return (unsigned)l < TP_N_LEVELS ? d->n[l] : 0;
}
const char *tp_feature_defs_name(const tp_feature_defs *d, tp_feature_level l, size_t i) {
    return (unsigned)l < TP_N_LEVELS && i < d->n[l] ? d->f[l][i].name : NULL;
}
const char *tp_feature_defs_purchase_type(const tp_feature_defs *d) { return d->purchase_type; }
int tp_feature_defs_horizon(const tp_feature_defs *d) { return d->horizon; }

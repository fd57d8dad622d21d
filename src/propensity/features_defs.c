/* features_defs.c: feature definitions in YAML (libyaml document API, so every error names the key
 * and its line). Blocks of `levels x metrics x event_types x windows` expand into features with
 * predictable names; ratios, trends and shares refer to earlier features. The canonical form (one
 * line per feature, every parameter spelled out) is what the store hashes. */
#include "features_impl.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

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
    yaml_document_t doc;
    const char *src;
    tp_feature_defs *d;
    size_t cap[TP_N_LEVELS];
} parser;

static int line_of(const yaml_node_t *n) { return (int)n->start_mark.line + 1; }

static tp_status err(parser *p, const yaml_node_t *n, const char *fmt, const char *a, const char *b) {
    char msg[512];
    snprintf(msg, sizeof msg, fmt, a ? a : "", b ? b : "");
    return tp_fail(TP_ERR_FORMAT, "%s:%d: %s", p->src, n ? line_of(n) : 0, msg);
}

static const char *scalar(const yaml_node_t *n) {
    return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

static tp_status get_int(parser *p, const yaml_node_t *n, const char *key, long lo, long hi, long *out) {
    const char *s = scalar(n);
    char *end;
    errno = 0;
    long v = s ? strtol(s, &end, 10) : 0;
    if (!s || !*s || *end || errno || v < lo || v > hi) {
        char range[64];
        snprintf(range, sizeof range, "an integer in %ld..%ld", lo, hi);
        return err(p, n, "'%s' wants %s", key, range);
    }
    *out = v;
    return TP_OK;
}

static tp_status get_double(parser *p, const yaml_node_t *n, const char *key, double *out) {
    const char *s = scalar(n);
    char *end;
    if (s && (!strcmp(s, "nan") || !strcmp(s, ".nan") || !strcmp(s, "null"))) {
        *out = NAN;
        return TP_OK;
    }
    double v = s ? strtod(s, &end) : 0;
    if (!s || !*s || *end) return err(p, n, "'%s' wants a number", key, NULL);
    *out = v;
    return TP_OK;
}

/* A scalar or a sequence of scalars -> items[0..*n). */
static tp_status get_list(parser *p, const yaml_node_t *n, const char *key, const char **items,
                          size_t max, size_t *cnt) {
    *cnt = 0;
    if (n->type == YAML_SCALAR_NODE) {
        items[(*cnt)++] = scalar(n);
        return TP_OK;
    }
    if (n->type != YAML_SEQUENCE_NODE) return err(p, n, "'%s' wants a value or a list", key, NULL);
    for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++) {
        const yaml_node_t *c = yaml_document_get_node(&p->doc, *it);
        if (!scalar(c)) return err(p, c, "'%s' wants a list of plain values", key, NULL);
        if (*cnt == max) return err(p, c, "'%s' has too many entries", key, NULL);
        items[(*cnt)++] = scalar(c);
    }
    if (*cnt == 0) return err(p, n, "'%s' is empty", key, NULL);
    return TP_OK;
}

static tp_status parse_window(parser *p, const yaml_node_t *n, const char *s, int *w) {
    if (!strcmp(s, "all")) {
        *w = 0;
        return TP_OK;
    }
    char *end;
    long v = strtol(s, &end, 10);
    if ((*end && strcmp(end, "d")) || v < 1 || v > 36500)
        return err(p, n, "window '%s' is not a number of days (1..36500) or 'all'", s, NULL);
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
        tp_status rc = err(p, at, "duplicate feature name '%s' at level %s", f->name, level_names[level]);
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
        return err(p, blk, "each entry of 'features' is a mapping (level, metric, ...)", NULL, NULL);
    const yaml_node_t *v[sizeof block_keys / sizeof *block_keys] = {0};
    for (yaml_node_pair_t *pr = blk->data.mapping.pairs.start; pr < blk->data.mapping.pairs.top; pr++) {
        const yaml_node_t *k = yaml_document_get_node(&p->doc, pr->key);
        const char *ks = scalar(k);
        int found = -1;
        for (int i = 0; ks && block_keys[i]; i++)
            if (!strcmp(block_keys[i], ks)) found = i;
        if (found < 0) return err(p, k, "unknown key '%s' in a feature block", ks ? ks : "?", NULL);
        if (v[found]) return err(p, k, "key '%s' given twice", ks, NULL);
        v[found] = yaml_document_get_node(&p->doc, pr->value);
    }
    const yaml_node_t *lev = v[0] ? v[0] : v[1], *met = v[2] ? v[2] : v[3];
    const yaml_node_t *typ = v[4] ? v[4] : v[5], *win = v[6] ? v[6] : v[7];
    const yaml_node_t *name = v[8], *num = v[9], *den = v[10], *of = v[11], *sh = v[12],
                      *lo = v[13], *zero = v[14], *div0 = v[15], *miss = v[16];
    if (v[0] && v[1]) return err(p, v[1], "give 'level' or 'levels', not both", NULL, NULL);
    if (v[2] && v[3]) return err(p, v[3], "give 'metric' or 'metrics', not both", NULL, NULL);
    if (v[4] && v[5]) return err(p, v[5], "give 'event_type' or 'event_types', not both", NULL, NULL);
    if (v[6] && v[7]) return err(p, v[7], "give 'window' or 'windows', not both", NULL, NULL);
    if (!lev) return err(p, blk, "a feature block needs 'level' (user, group or user_group)", NULL, NULL);
    if (!met) return err(p, blk, "a feature block needs 'metric'", NULL, NULL);
    const char *lv[4], *mv[M_N_METRICS], *tv[MAXL], *wv[MAXL];
    size_t nl, nm, nt = n_def_types, nw = n_def_windows;
    tp_status rc;
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
            return err(p, lev, "unknown level '%s' (user, group, user_group)", lv[i], NULL);
    }
    for (size_t i = 0; i < nm; i++) {
        metrics[i] = -1;
        for (int m = 0; m < M_N_METRICS; m++)
            if (!strcmp(mv[i], tp_feat_metric_names[m])) metrics[i] = m;
        if (metrics[i] < 0) return err(p, met, "unknown metric '%s'", mv[i], NULL);
        if ((metrics[i] == M_RATIO || metrics[i] == M_TREND) && nm > 1)
            return err(p, met, "'%s' must be the only metric of its block", mv[i], NULL);
    }
    for (size_t i = 0; i < nw; i++)
        if ((rc = parse_window(p, win ? win : blk, wv[i], &windows[i])) != TP_OK) return rc;
    double zero_v = 0, div0_v = NAN, miss_v = NAN;
    if (zero && (rc = get_double(p, zero, "zero", &zero_v)) != TP_OK) return rc;
    if (div0 && (rc = get_double(p, div0, "div_zero", &div0_v)) != TP_OK) return rc;
    if (miss && (rc = get_double(p, miss, "missing", &miss_v)) != TP_OK) return rc;
    const char *ename = scalar(name);
    if (name && !ename) return err(p, name, "'name' wants a string", NULL, NULL);

    int m0 = metrics[0];
    if (m0 == M_RATIO || m0 == M_TREND) {
        // Operand-based features: num/den names (ratio) or of + short/long (trend).
        if (m0 == M_RATIO && (!num || !den || !scalar(num) || !scalar(den)))
            return err(p, blk, "a ratio needs 'numerator' and 'denominator' (feature names)", NULL, NULL);
        if (m0 == M_RATIO && !ename) return err(p, blk, "a ratio needs a 'name'", NULL, NULL);
        if (m0 == M_TREND && (!of || !sh || !lo || !scalar(of)))
            return err(p, blk, "a trend needs 'of' (a feature name without window), 'short' and 'long'", NULL, NULL);
        if (m0 == M_RATIO && (of || sh || lo))
            return err(p, of ? of : sh ? sh : lo, "'of', 'short' and 'long' belong to a trend", NULL, NULL);
        if (m0 == M_TREND && (num || den))
            return err(p, num ? num : den, "'numerator' and 'denominator' belong to a ratio", NULL, NULL);
        if (typ || miss) return err(p, typ ? typ : miss, "'%s' does not apply to ratio or trend", typ ? "event_types" : "missing", NULL);
        int sw = 0, lw = 0;
        size_t nwin = m0 == M_RATIO ? (win ? nw : 1) : 1;
        if (m0 == M_TREND) {
            if ((rc = parse_window(p, sh, scalar(sh) ? scalar(sh) : "?", &sw)) != TP_OK) return rc;
            if ((rc = parse_window(p, lo, scalar(lo) ? scalar(lo) : "?", &lw)) != TP_OK) return rc;
            if (win) return err(p, win, "a trend takes 'short' and 'long', not 'windows'", NULL, NULL);
        }
        if (ename && nl > 1) return err(p, name, "'name' with several levels would repeat a name", NULL, NULL);
        for (size_t li = 0; li < nl; li++)
            for (size_t wi = 0; wi < nwin; wi++) {
                char nbuf[256], dbuf[256], fbuf[256], s1[16], s2[16];
                if (m0 == M_RATIO) {
                    const char *sfx = win ? window_suffix(windows[wi], s1) : "";
                    snprintf(nbuf, sizeof nbuf, "%s%s", scalar(num), sfx);
                    snprintf(dbuf, sizeof dbuf, "%s%s", scalar(den), sfx);
                    snprintf(fbuf, sizeof fbuf, "%s%s", ename, sfx);
                } else {
                    const char *ofs = scalar(of) ? scalar(of) : "";
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
                    return err(p, m0 == M_RATIO ? num : of, "no earlier %s feature named '%s'",
                               level_names[levels[li]], nbuf);
                if (f.den < 0)
                    return err(p, m0 == M_RATIO ? den : of, "no earlier %s feature named '%s'",
                               level_names[levels[li]], dbuf);
                if (!(f.name = tp_strdup(fbuf))) return tp_fail(TP_ERR_NOMEM, "out of memory");
                if ((rc = add_feature(p, name ? name : blk, levels[li], &f)) != TP_OK) return rc;
            }
        return TP_OK;
    }
    for (int i = 9; i <= 13; i++)
        if (v[i]) return err(p, v[i], "'%s' only applies to ratio or trend", block_keys[i], NULL);
    if (div0) return err(p, div0, "'div_zero' only applies to ratio or trend", NULL, NULL);
    if (zero) return err(p, zero, "'zero' only applies to ratio or trend", NULL, NULL);
    if (!nt) return err(p, blk, "no event_types (give them here or at the top level)", NULL, NULL);
    if (!nw) return err(p, blk, "no windows (give them here or at the top level)", NULL, NULL);
    if (ename && nl * nm * nt * nw != 1)
        return err(p, name, "'name' needs a block that defines exactly one feature", NULL, NULL);
    for (size_t li = 0; li < nl; li++)
        for (size_t mi = 0; mi < nm; mi++) {
            int l = levels[li], m = metrics[mi];
            if (m == M_DISTINCT_USERS && l != TP_LEVEL_GROUP)
                return err(p, met, "distinct_users is a group-level metric", NULL, NULL);
            if (m == M_DISTINCT_ITEMS && l == TP_LEVEL_GROUP)
                return err(p, met, "distinct_items is not available at level group", NULL, NULL);
            if (m == M_SHARE && l == TP_LEVEL_USER)
                return err(p, met, "share is for levels user_group and group", NULL, NULL);
            if (miss && m != M_MEAN_AMOUNT && m != M_DAYS_SINCE_LAST)
                return err(p, miss, "'missing' applies to mean_amount and days_since_last, not %s",
                           tp_feat_metric_names[m], NULL);
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
    yaml_node_t *root = yaml_document_get_root_node(&p->doc);
    if (!root) return tp_fail(TP_ERR_FORMAT, "%s: empty document (expected 'features:')", p->src);
    if (root->type != YAML_MAPPING_NODE)
        return err(p, root, "the document is a mapping with 'features:'", NULL, NULL);
    const char *def_types[MAXL], *def_windows[MAXL];
    size_t nt = 0, nw = 0;
    const yaml_node_t *features = NULL;
    tp_status rc;
    for (yaml_node_pair_t *pr = root->data.mapping.pairs.start; pr < root->data.mapping.pairs.top; pr++) {
        const yaml_node_t *k = yaml_document_get_node(&p->doc, pr->key);
        const yaml_node_t *v = yaml_document_get_node(&p->doc, pr->value);
        const char *ks = scalar(k);
        if (!ks) return err(p, k, "keys are plain strings", NULL, NULL);
        if (!strcmp(ks, "version")) {
            long ver;
            if ((rc = get_int(p, v, "version", 1, 1, &ver)) != TP_OK) return rc;
        } else if (!strcmp(ks, "event_types")) {
            if ((rc = get_list(p, v, ks, def_types, MAXL, &nt)) != TP_OK) return rc;
        } else if (!strcmp(ks, "windows")) {
            if ((rc = get_list(p, v, ks, def_windows, MAXL, &nw)) != TP_OK) return rc;
            for (size_t i = 0; i < nw; i++) {
                int w;
                if ((rc = parse_window(p, v, def_windows[i], &w)) != TP_OK) return rc;
            }
        } else if (!strcmp(ks, "labels")) {
            if (v->type != YAML_MAPPING_NODE) return err(p, v, "'labels' is a mapping", NULL, NULL);
            for (yaml_node_pair_t *q = v->data.mapping.pairs.start; q < v->data.mapping.pairs.top; q++) {
                const yaml_node_t *lk = yaml_document_get_node(&p->doc, q->key);
                const yaml_node_t *lv = yaml_document_get_node(&p->doc, q->value);
                const char *ls = scalar(lk);
                if (ls && !strcmp(ls, "purchase_type") && scalar(lv)) {
                    tp_free(p->d->purchase_type);
                    if (!(p->d->purchase_type = tp_strdup(scalar(lv))))
                        return tp_fail(TP_ERR_NOMEM, "out of memory");
                } else if (ls && !strcmp(ls, "horizon_days")) {
                    long h;
                    if ((rc = get_int(p, lv, "horizon_days", 1, 3650, &h)) != TP_OK) return rc;
                    p->d->horizon = (int)h;
                } else {
                    return err(p, lk, "unknown key '%s' in 'labels' (purchase_type, horizon_days)",
                               ls ? ls : "?", NULL);
                }
            }
        } else if (!strcmp(ks, "features")) {
            if (v->type != YAML_SEQUENCE_NODE) return err(p, v, "'features' is a list of blocks", NULL, NULL);
            features = v;
        } else {
            return err(p, k, "unknown key '%s' (version, event_types, windows, labels, features)", ks, NULL);
        }
    }
    if (!features) return err(p, root, "no 'features:' list", NULL, NULL);
    for (yaml_node_item_t *it = features->data.sequence.items.start;
         it < features->data.sequence.items.top; it++)
        if ((rc = parse_block(p, yaml_document_get_node(&p->doc, *it), def_types, nt, def_windows,
                              nw)) != TP_OK)
            return rc;
    size_t total = 0;
    for (int l = 0; l < TP_N_LEVELS; l++) total += p->d->n[l];
    if (!total) return err(p, features, "'features' defines no feature", NULL, NULL);
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

tp_status tp_feature_defs_parse(const char *text, size_t len, const char *source,
                                tp_feature_defs **out) {
    *out = NULL;
    parser p = {.src = source ? source : "(features)"};
    yaml_parser_t yp;
    tp_status rc = TP_OK;
    int have_doc = 0;
    if (!yaml_parser_initialize(&yp)) return tp_fail(TP_ERR_NOMEM, "cannot start the YAML parser");
    yaml_parser_set_input_string(&yp, (const unsigned char *)text, len);
    if (!yaml_parser_load(&yp, &p.doc)) {
        rc = tp_fail(TP_ERR_FORMAT, "%s:%d: %s", p.src, (int)yp.problem_mark.line + 1,
                     yp.problem ? yp.problem : "invalid YAML");
        goto done;
    }
    have_doc = 1;
    if (!(p.d = tp_calloc(1, sizeof *p.d)) || !(p.d->purchase_type = tp_strdup("purchase"))) {
        rc = tp_fail(TP_ERR_NOMEM, "out of memory");
        goto done;
    }
    p.d->horizon = 30;
    if ((rc = parse_root(&p)) != TP_OK) goto done;
    if ((rc = build_canonical(p.d)) != TP_OK) goto done;
    *out = p.d;
    p.d = NULL;
done:
    tp_feature_defs_free(p.d);
    if (have_doc) yaml_document_delete(&p.doc);
    yaml_parser_delete(&yp);
    return rc;
}

tp_status tp_feature_defs_load(const char *path, tp_feature_defs **out) {
    *out = NULL;
    FILE *fp = fopen(path, "rb");
    if (!fp) return tp_fail(TP_ERR_IO, "cannot open '%s': %s", path, strerror(errno));
    char *buf = NULL;
    size_t cap = 0, len = 0;
    tp_status rc = TP_OK;
    for (;;) {
        if ((rc = tp_grow((void **)&buf, &cap, len + 65536, 1)) != TP_OK) goto done;
        size_t k = fread(buf + len, 1, cap - len, fp);
        len += k;
        if (k == 0) break;
    }
    if (ferror(fp)) {
        rc = tp_fail(TP_ERR_IO, "reading '%s': %s", path, strerror(errno));
        goto done;
    }
    rc = tp_feature_defs_parse(buf, len, path, out);
done:
    tp_free(buf);
    fclose(fp);
    return rc;
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

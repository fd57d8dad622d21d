/* yamlcfg.c: loading a YAML config with libyaml and reading typed settings out of it, with one
 * wording for every reader's errors (file, line, key, what was wanted and what was found).
 * Before this file each of the five config readers carried its own copy of these helpers. */
#include "core/yamlcfg.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// ---- loading ----

static tp_status load(tp_ycfg *y, yaml_parser_t *p) {
    if (!yaml_parser_load(p, &y->doc)) {
        if (p->error == YAML_MEMORY_ERROR) return tp_fail(TP_ERR_NOMEM, "out of memory (libyaml)");
        if (p->error == YAML_READER_ERROR) /* bad encoding: libyaml knows the byte, not the line */
            return y->short_loc ? tp_fail(TP_ERR_FORMAT, "%s: byte %zu: %s", y->path,
                                          p->problem_offset, p->problem)
                                : tp_fail(TP_ERR_FORMAT, "%s '%s', byte %zu: %s", y->what, y->path,
                                          p->problem_offset, p->problem);
        char ctx[256] = "";
        if (p->context)
            snprintf(ctx, sizeof ctx, " (%s started at line %lu)", p->context,
                     (unsigned long)p->context_mark.line + 1);
        const char *problem = p->problem ? p->problem : "invalid YAML";
        unsigned long line = (unsigned long)p->problem_mark.line + 1;
        unsigned long col = (unsigned long)p->problem_mark.column + 1;
        if (y->short_loc)
            return tp_fail(TP_ERR_FORMAT, "%s:%lu:%lu: %s%s", y->path, line, col, problem, ctx);
        return tp_fail(TP_ERR_FORMAT, "%s '%s', line %lu, column %lu: %s%s", y->what, y->path,
                       line, col, problem, ctx);
    }
    y->loaded = true;
    if (!yaml_document_get_root_node(&y->doc)) {
        if (y->short_loc) return tp_fail(TP_ERR_FORMAT, "%s: empty %s", y->path, y->what);
        return tp_fail(TP_ERR_FORMAT, "%s '%s' is empty", y->what, y->path);
    }
    return TP_OK;
}

tp_status tp_ycfg_load_file(tp_ycfg *y) {
    yaml_parser_t p;
    FILE *fp = fopen(y->path, "rb");
    if (!fp) return tp_fail(TP_ERR_IO, "cannot open %s '%s': %s", y->what, y->path, strerror(errno));
    if (!yaml_parser_initialize(&p)) {
        fclose(fp);
        return tp_fail(TP_ERR_NOMEM, "out of memory (libyaml)");
    }
    yaml_parser_set_input_file(&p, fp);
    tp_status rc = load(y, &p);
    yaml_parser_delete(&p);
    fclose(fp);
    return rc;
}

tp_status tp_ycfg_load_text(tp_ycfg *y, const char *text, size_t len) {
    yaml_parser_t p;
    if (!yaml_parser_initialize(&p)) return tp_fail(TP_ERR_NOMEM, "out of memory (libyaml)");
    yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
    tp_status rc = load(y, &p);
    yaml_parser_delete(&p);
    return rc;
}

void tp_ycfg_close(tp_ycfg *y) {
    if (y->loaded) yaml_document_delete(&y->doc);
    y->loaded = false;
}

yaml_node_t *tp_ycfg_root(tp_ycfg *y) {
    return y->loaded ? yaml_document_get_root_node(&y->doc) : NULL;
}

// ---- errors and nodes ----

tp_status tp_ycfg_fail(const tp_ycfg *y, const yaml_node_t *n, const char *fmt, ...) {
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    unsigned long line = n ? (unsigned long)n->start_mark.line + 1 : 1;
    if (y->short_loc) return tp_fail(TP_ERR_FORMAT, "%s:%lu: %s", y->path, line, msg);
    return tp_fail(TP_ERR_FORMAT, "%s '%s', line %lu: %s", y->what, y->path, line, msg);
}

const char *tp_ycfg_scalar(const yaml_node_t *n) {
    return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

bool tp_ycfg_is_null(const yaml_node_t *n) {
    const char *s = tp_ycfg_scalar(n);
    if (!s || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE) return false;
    return !*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") || !strcmp(s, "NULL");
}

size_t tp_ycfg_len(const yaml_node_t *n) {
    if (n && n->type == YAML_SEQUENCE_NODE)
        return (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
    if (n && n->type == YAML_MAPPING_NODE)
        return (size_t)(n->data.mapping.pairs.top - n->data.mapping.pairs.start);
    return 0;
}

yaml_node_t *tp_ycfg_item(const tp_ycfg *y, const yaml_node_t *seq, size_t i) {
    return yaml_document_get_node((yaml_document_t *)&y->doc, seq->data.sequence.items.start[i]);
}

const char *tp_ycfg_pair(const tp_ycfg *y, const yaml_node_t *map, size_t i, yaml_node_t **kn,
                         yaml_node_t **v) {
    const yaml_node_pair_t *p = &map->data.mapping.pairs.start[i];
    *kn = yaml_document_get_node((yaml_document_t *)&y->doc, p->key);
    *v = yaml_document_get_node((yaml_document_t *)&y->doc, p->value);
    const char *k = tp_ycfg_scalar(*kn);
    return k ? k : ""; /* tp_ycfg_map refuses such keys; "" keeps a loop over them going */
}

tp_status tp_ycfg_map(const tp_ycfg *y, const yaml_node_t *n, const char *key, const char *known) {
    if (!n || n->type != YAML_MAPPING_NODE) {
        char hint[512] = "";
        if (known) snprintf(hint, sizeof hint, " (%s)", known);
        if (key) return tp_ycfg_fail(y, n, "key '%s' wants a mapping%s", key, hint);
        return tp_ycfg_fail(y, n, "the %s must be a mapping of keys%s", y->what, hint);
    }
    size_t m = tp_ycfg_len(n);
    yaml_node_t *kn, *v, *kn2;
    for (size_t i = 0; i < m; i++) {
        tp_ycfg_pair(y, n, i, &kn, &v);
        const char *k = tp_ycfg_scalar(kn);
        if (!k) return tp_ycfg_fail(y, kn, "keys must be plain names");
        for (size_t j = 0; j < i; j++)
            if (!strcmp(tp_ycfg_pair(y, n, j, &kn2, &v), k))
                return tp_ycfg_fail(y, kn, "key '%s' is given twice", k);
    }
    return TP_OK;
}

// ---- typed values ----

static const char *shown(const yaml_node_t *n) {
    const char *s = tp_ycfg_scalar(n);
    return s ? s : "(a list or mapping)";
}

tp_status tp_ycfg_i64(const tp_ycfg *y, const char *key, const yaml_node_t *n, int64_t lo,
                      int64_t hi, int64_t *out) {
    const char *s = tp_ycfg_scalar(n);
    char *end = NULL;
    errno = 0;
    long long v = s ? strtoll(s, &end, 10) : 0;
    if (!s || !*s || *end || errno || v < lo || v > hi)
        return tp_ycfg_fail(y, n, "key '%s' wants an integer from %lld to %lld, not '%s'", key,
                            (long long)lo, (long long)hi, shown(n));
    *out = v;
    return TP_OK;
}

tp_status tp_ycfg_int(const tp_ycfg *y, const char *key, const yaml_node_t *n, int lo, int hi,
                      int *out) {
    int64_t v;
    tp_status rc = tp_ycfg_i64(y, key, n, lo, hi, &v);
    if (rc == TP_OK) *out = (int)v;
    return rc;
}

tp_status tp_ycfg_num(const tp_ycfg *y, const char *key, const yaml_node_t *n, double lo, double hi,
                      double *out) {
    const char *s = tp_ycfg_scalar(n);
    char *end = NULL;
    double v = s ? strtod(s, &end) : 0;
    if (s && *s && !*end && isfinite(v) && v >= lo && v <= hi) {
        *out = v;
        return TP_OK;
    }
    char range[96] = "";
    if (isfinite(lo) && isfinite(hi))
        snprintf(range, sizeof range, " from %g to %g", lo, hi);
    else if (isfinite(lo))
        snprintf(range, sizeof range, " >= %g", lo);
    else if (isfinite(hi))
        snprintf(range, sizeof range, " <= %g", hi);
    return tp_ycfg_fail(y, n, "key '%s' wants a number%s, not '%s'", key, range, shown(n));
}

tp_status tp_ycfg_bool(const tp_ycfg *y, const char *key, const yaml_node_t *n, bool *out) {
    static const char *const yes[] = {"true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON", "1"};
    static const char *const no[] = {"false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF", "0"};
    const char *s = tp_ycfg_scalar(n);
    for (size_t i = 0; s && i < sizeof yes / sizeof *yes; i++) {
        if (!strcmp(s, yes[i])) return *out = true, TP_OK;
        if (!strcmp(s, no[i])) return *out = false, TP_OK;
    }
    return tp_ycfg_fail(y, n, "key '%s' wants true or false, not '%s'", key, shown(n));
}

// ---- strings, paths, lists ----

tp_status tp_ycfg_str(const tp_ycfg *y, const char *key, const yaml_node_t *n, unsigned flags,
                      char **out) {
    const char *s = tp_ycfg_scalar(n);
    bool null = tp_ycfg_is_null(n);
    if ((flags & TP_YCFG_NONEMPTY) && (!s || !*s || null))
        return tp_ycfg_fail(y, n, "key '%s' wants a non-empty string", key);
    if (!s) return tp_ycfg_fail(y, n, "key '%s' wants a string", key);
    char *d = null ? NULL : tp_strdup(s);
    if (!null && !d) return tp_fail(TP_ERR_NOMEM, "out of memory");
    tp_free(*out);
    *out = d;
    return TP_OK;
}

char *tp_ycfg_resolve(const tp_ycfg *y, const char *rel) {
    const char *slash = y->path ? strrchr(y->path, '/') : NULL;
    if (rel[0] == '/' || !slash) return tp_strdup(rel);
    size_t dir = (size_t)(slash - y->path) + 1, n = strlen(rel) + 1; /* the folder with its '/' */
    char *p = tp_malloc(dir + n);
    if (p) {
        memcpy(p, y->path, dir);
        memcpy(p + dir, rel, n);
    }
    return p;
}

tp_status tp_ycfg_path(const tp_ycfg *y, const char *key, const yaml_node_t *n, char **out) {
    const char *s = tp_ycfg_scalar(n);
    if (!s || !*s || tp_ycfg_is_null(n)) return tp_ycfg_fail(y, n, "key '%s' wants a path", key);
    char *p = tp_ycfg_resolve(y, s);
    if (!p) return tp_fail(TP_ERR_NOMEM, "out of memory");
    tp_free(*out);
    *out = p;
    return TP_OK;
}

tp_status tp_ycfg_list(const tp_ycfg *y, const char *key, const yaml_node_t *n, unsigned flags,
                       const char **items, size_t max, size_t *count) {
    size_t k = 0;
    if (n && n->type == YAML_SCALAR_NODE && (flags & TP_YCFG_ONE)) {
        if (max < 1) return tp_ycfg_fail(y, n, "key '%s' has more than %zu entries", key, max);
        if (!tp_ycfg_is_null(n)) items[k++] = tp_ycfg_scalar(n); /* ~ is an empty list */
        if ((flags & TP_YCFG_NONEMPTY) && k == 0) return tp_ycfg_fail(y, n, "key '%s' is empty", key);
    } else if (!n || n->type != YAML_SEQUENCE_NODE) {
        return tp_ycfg_fail(y, n, "key '%s' wants %s", key,
                            flags & TP_YCFG_ONE ? "a value or a list" : "a list");
    } else {
        for (size_t i = 0; i < tp_ycfg_len(n); i++) {
            const yaml_node_t *e = tp_ycfg_item(y, n, i);
            const char *s = tp_ycfg_scalar(e);
            if (!s) return tp_ycfg_fail(y, e, "key '%s' wants a list of plain values", key);
            if (!*s) return tp_ycfg_fail(y, e, "key '%s' wants non-empty values", key);
            if (k == max) return tp_ycfg_fail(y, e, "key '%s' has more than %zu entries", key, max);
            items[k++] = s;
        }
        if ((flags & TP_YCFG_NONEMPTY) && k == 0) return tp_ycfg_fail(y, n, "key '%s' is empty", key);
    }
    *count = k;
    return TP_OK;
}

void tp_ycfg_list_free(char **items, size_t count) {
    for (size_t i = 0; items && i < count; i++) tp_free(items[i]);
    tp_free(items);
}

tp_status tp_ycfg_list_dup(const tp_ycfg *y, const char *key, const yaml_node_t *n, unsigned flags,
                           char ***out, size_t *count) {
    size_t m = tp_ycfg_len(n) + 1, k = 0; /* + 1: a scalar with TP_YCFG_ONE */
    const char **tmp = tp_malloc(m * sizeof *tmp);
    char **d = tp_calloc(m + 1, sizeof *d);
    tp_status rc = tmp && d ? TP_OK : tp_fail(TP_ERR_NOMEM, "out of memory");
    if (rc == TP_OK) rc = tp_ycfg_list(y, key, n, flags, tmp, m, &k);
    for (size_t i = 0; rc == TP_OK && i < k; i++)
        if (!(d[i] = tp_strdup(tmp[i]))) rc = tp_fail(TP_ERR_NOMEM, "out of memory");
    tp_free(tmp);
    if (rc != TP_OK) {
        tp_ycfg_list_free(d, m);
        return rc;
    }
    tp_ycfg_list_free(*out, *count);
    *out = d;
    *count = k;
    return TP_OK;
}

/* config.c: lookalike.yaml (issue #6), parsed with libyaml's document API. Unknown keys, wrong
 * types and out-of-range values are TP_ERR_FORMAT naming the file and line. Relative paths are
 * resolved against the config's folder so a config works from any working directory. */
#include "touchpoint/lookalike.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

void tp_lookalike_config_default(tp_lookalike_config *c) {
    memset(c, 0, sizeof *c);
    c->keyword_min_share = 0;
    c->interval_seconds = 86400;
    c->did_buckets = 4;
    c->batch_days = 7;
    c->min_active_intervals = 1;
    c->history_intervals = 10;
    c->max_history = 64;
    c->embedding_dim = 16;
    c->attention_hidden = 32;
    c->hidden = 32;
    c->epochs = 4;
    c->batch_size = 256;
    c->learning_rate = 0.005;
    c->weight_decay = 0;
    c->test_fraction = 0.2;
    c->seed = 1;
}

void tp_lookalike_config_free(tp_lookalike_config *c) {
    if (!c) return;
    tp_free(c->persona);
    tp_free(c->shows);
    tp_free(c->clicks);
    tp_free(c->keywords);
    tp_free(c->out_dir);
    for (size_t i = 0; i < c->n_slot_ids; i++) tp_free(c->slot_ids[i]);
    tp_free(c->slot_ids);
    tp_free(c);
}

typedef struct yctx {
    yaml_document_t *doc;
    const char *path;
    const char *base; /* folder of the config, "" for none */
} yctx;

__attribute__((format(printf, 3, 4))) static tp_status yfail(const yctx *y, const yaml_node_t *n,
                                                             const char *fmt, ...) {
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return tp_fail(TP_ERR_FORMAT, "lookalike config '%s', line %lu: %s", y->path,
                   (unsigned long)(n ? n->start_mark.line + 1 : 1), msg);
}

static const char *scalar(const yaml_node_t *n) {
    return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

static tp_status get_path(const yctx *y, const char *key, const yaml_node_t *n, char **out) {
    const char *s = scalar(n);
    if (!s || !*s) return yfail(y, n, "key '%s' wants a path", key);
    tp_free(*out);
    size_t len = strlen(y->base) + strlen(s) + 2;
    if (!(*out = tp_malloc(len))) return tp_fail(TP_ERR_NOMEM, "out of memory");
    if (s[0] == '/' || !*y->base)
        snprintf(*out, len, "%s", s);
    else
        snprintf(*out, len, "%s/%s", y->base, s);
    return TP_OK;
}
static tp_status get_int(const yctx *y, const char *key, const yaml_node_t *n, int64_t lo,
                         int64_t hi, int64_t *out) {
    const char *s = scalar(n);
    char *end;
    errno = 0;
    long long v = s ? strtoll(s, &end, 10) : 0;
    if (!s || !*s || *end || errno || v < lo || v > hi)
        return yfail(y, n, "key '%s' wants an integer from %lld to %lld, not '%s'", key,
                     (long long)lo, (long long)hi, s ? s : "(a list or mapping)");
    *out = v;
    return TP_OK;
}
static tp_status get_num(const yctx *y, const char *key, const yaml_node_t *n, double lo,
                         double hi, double *out) {
    const char *s = scalar(n);
    char *end;
    double v = s ? strtod(s, &end) : 0;
    if (!s || !*s || *end || !isfinite(v) || v < lo || v > hi)
        return yfail(y, n, "key '%s' wants a number from %g to %g, not '%s'", key, lo, hi,
                     s ? s : "(a list or mapping)");
    *out = v;
    return TP_OK;
}

#define INT_KEY(name, field, lo, hi)                                                      \
    if (!strcmp(k, name)) {                                                               \
        int64_t v_;                                                                       \
        if ((rc = get_int(y, name, v, lo, hi, &v_))) return rc;                           \
        c->field = v_;                                                                    \
        continue;                                                                         \
    }
#define NUM_KEY(name, field, lo, hi)                                                      \
    if (!strcmp(k, name)) {                                                               \
        if ((rc = get_num(y, name, v, lo, hi, &c->field))) return rc;                     \
        continue;                                                                         \
    }

static tp_status parse_section(const yctx *y, const char *section, const yaml_node_t *n,
                               tp_lookalike_config *c) {
    if (n->type != YAML_MAPPING_NODE) return yfail(y, n, "'%s' wants a mapping", section);
    tp_status rc;
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
        yaml_node_t *kn = yaml_document_get_node(y->doc, p->key);
        yaml_node_t *v = yaml_document_get_node(y->doc, p->value);
        const char *k = scalar(kn);
        if (!k) return yfail(y, kn, "keys must be strings");
        if (!strcmp(section, "input")) {
            char **dst = !strcmp(k, "persona")    ? &c->persona
                         : !strcmp(k, "shows")    ? &c->shows
                         : !strcmp(k, "clicks")   ? &c->clicks
                         : !strcmp(k, "keywords") ? &c->keywords
                                                  : NULL;
            if (!dst) return yfail(y, kn, "unknown key 'input.%s' (persona, shows, clicks, keywords)", k);
            if ((rc = get_path(y, k, v, dst))) return rc;
            continue;
        }
        if (!strcmp(section, "prepare")) {
            if (!strcmp(k, "slot_ids")) {
                if (v->type != YAML_SEQUENCE_NODE) return yfail(y, v, "'slot_ids' wants a list");
                size_t m = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
                for (size_t i = 0; i < c->n_slot_ids; i++) tp_free(c->slot_ids[i]);
                tp_free(c->slot_ids);
                c->n_slot_ids = 0;
                if (!(c->slot_ids = tp_calloc(m + 1, sizeof(char *))))
                    return tp_fail(TP_ERR_NOMEM, "out of memory");
                for (size_t i = 0; i < m; i++) {
                    yaml_node_t *e = yaml_document_get_node(y->doc, v->data.sequence.items.start[i]);
                    const char *s = scalar(e);
                    if (!s) return yfail(y, e, "'slot_ids' entries must be scalars");
                    if (!(c->slot_ids[i] = tp_strdup(s))) return tp_fail(TP_ERR_NOMEM, "out of memory");
                    c->n_slot_ids++;
                }
                continue;
            }
            NUM_KEY("keyword_min_share", keyword_min_share, 0, 1)
            INT_KEY("interval_seconds", interval_seconds, 1, 366LL * 86400)
            INT_KEY("did_buckets", did_buckets, 1, 65536)
            INT_KEY("batch_days", batch_days, 1, 3650)
            INT_KEY("min_active_intervals", min_active_intervals, 1, 100000)
            return yfail(y, kn, "unknown key 'prepare.%s' (slot_ids, keyword_min_share, "
                         "interval_seconds, did_buckets, batch_days, min_active_intervals)", k);
        }
        // train
        INT_KEY("history_intervals", history_intervals, 1, 10000)
        INT_KEY("max_history", max_history, 1, 4096)
        INT_KEY("embedding_dim", embedding_dim, 1, 1024)
        INT_KEY("attention_hidden", attention_hidden, 1, 1024)
        INT_KEY("hidden", hidden, 1, 4096)
        INT_KEY("epochs", epochs, 1, 10000)
        INT_KEY("batch_size", batch_size, 1, 1 << 20)
        NUM_KEY("learning_rate", learning_rate, 1e-9, 10)
        NUM_KEY("weight_decay", weight_decay, 0, 10)
        NUM_KEY("test_fraction", test_fraction, 0.01, 0.9)
        INT_KEY("threads", threads, 0, 4096)
        if (!strcmp(k, "seed")) {
            int64_t s;
            if ((rc = get_int(y, "seed", v, 0, INT64_MAX, &s))) return rc;
            c->seed = (uint64_t)s;
            continue;
        }
        return yfail(y, kn, "unknown key 'train.%s' (history_intervals, max_history, embedding_dim, "
                     "attention_hidden, hidden, epochs, batch_size, learning_rate, weight_decay, "
                     "test_fraction, seed, threads)", k);
    }
    return TP_OK;
}

static tp_status parse_root(const yctx *y, const yaml_node_t *root, tp_lookalike_config *c) {
    if (root->type != YAML_MAPPING_NODE) return yfail(y, root, "the config must be a mapping");
    tp_status rc;
    for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top; p++) {
        yaml_node_t *kn = yaml_document_get_node(y->doc, p->key);
        yaml_node_t *v = yaml_document_get_node(y->doc, p->value);
        const char *k = scalar(kn);
        if (!k) return yfail(y, kn, "keys must be strings");
        if (!strcmp(k, "output")) {
            if ((rc = get_path(y, "output", v, &c->out_dir))) return rc;
        } else if (!strcmp(k, "input") || !strcmp(k, "prepare") || !strcmp(k, "train")) {
            if ((rc = parse_section(y, k, v, c))) return rc;
        } else {
            return yfail(y, kn, "unknown key '%s' (input, output, prepare, train)", k);
        }
    }
    const char *missing = !c->persona ? "input.persona" : !c->shows ? "input.shows"
                          : !c->clicks ? "input.clicks" : !c->keywords ? "input.keywords"
                          : !c->out_dir ? "output" : NULL;
    if (missing) return yfail(y, root, "missing key '%s'", missing);
    return TP_OK;
}

tp_status tp_lookalike_config_load(const char *path, tp_lookalike_config **out) {
    tp_status rc = TP_OK;
    yaml_parser_t parser;
    yaml_document_t doc;
    bool have_doc = false, have_parser = false;
    char *base = NULL;
    FILE *fp = fopen(path, "rb");
    if (!fp) return tp_fail(TP_ERR_IO, "cannot open lookalike config '%s': %s", path, strerror(errno));
    tp_lookalike_config *c = tp_calloc(1, sizeof *c);
    if (!c || !(base = tp_strdup(path))) {
        rc = tp_fail(TP_ERR_NOMEM, "out of memory");
        goto done;
    }
    tp_lookalike_config_default(c);
    char *slash = strrchr(base, '/');
    if (slash) *slash = 0; else base[0] = 0;
    if (!yaml_parser_initialize(&parser)) {
        rc = tp_fail(TP_ERR_NOMEM, "out of memory (libyaml)");
        goto done;
    }
    have_parser = true;
    yaml_parser_set_input_file(&parser, fp);
    if (!yaml_parser_load(&parser, &doc)) {
        rc = tp_fail(TP_ERR_FORMAT, "lookalike config '%s', line %lu: %s", path,
                     (unsigned long)parser.problem_mark.line + 1,
                     parser.problem ? parser.problem : "invalid YAML");
        goto done;
    }
    have_doc = true;
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    if (!root) {
        rc = tp_fail(TP_ERR_FORMAT, "lookalike config '%s' is empty", path);
        goto done;
    }
    yctx y = {&doc, path, base};
    if ((rc = parse_root(&y, root, c))) goto done;
    *out = c;
    c = NULL;
done:
    if (have_doc) yaml_document_delete(&doc);
    if (have_parser) yaml_parser_delete(&parser);
    tp_lookalike_config_free(c);
    tp_free(base);
    fclose(fp);
    return rc;
}

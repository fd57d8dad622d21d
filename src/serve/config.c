/* config.c: serve.yaml for `touchpoint serve` (libyaml document API). A flat mapping of scalars
 * plus a `tokens` sequence; unknown keys and bad values are errors naming the file and line, so a
 * typo in `tokens` can never silently turn authentication off. Reference: docs/serve.md. */
#include "serve_impl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

void tp_serve_config_default(tp_serve_config *c) {
    memset(c, 0, sizeof *c);
    c->port = 8080;
    c->clusters = 20;
    c->top_n = 10;
    c->extension_pct = 100;
    c->workers = 1;
    c->http_threads = 2;
    c->max_body_bytes = 16u << 20;
}

void tp_serve_config_free(tp_serve_config *c) {
    if (!c) return;
    tp_free(c->listen), tp_free(c->data_root), tp_free(c->scores), tp_free(c->job_db);
    for (size_t i = 0; i < c->n_tokens; i++) tp_free(c->tokens[i]);
    tp_free(c->tokens);
    tp_free(c);
}

static tp_status at(const char *path, const yaml_node_t *n, const char *fmt, const char *key) {
    return tp_fail(TP_ERR_FORMAT, "serve config '%s', line %lu: %s%s", path,
                   (unsigned long)n->start_mark.line + 1, fmt, key);
}

static bool scalar_int(const yaml_node_t *v, long long lo, long long hi, long long *out) {
    if (v->type != YAML_SCALAR_NODE) return false;
    char *end;
    errno = 0;
    long long x = strtoll((const char *)v->data.scalar.value, &end, 10);
    if (errno || *end || end == (const char *)v->data.scalar.value || x < lo || x > hi) return false;
    *out = x;
    return true;
}

// A relative path without ".." components (it must stay under the data root).
static bool safe_relative(const char *p) {
    if (!*p || p[0] == '/') return false;
    for (const char *s = p; *s;) {
        const char *e = strchr(s, '/');
        size_t n = e ? (size_t)(e - s) : strlen(s);
        if (n == 2 && s[0] == '.' && s[1] == '.') return false;
        s += n + (e ? 1 : 0);
    }
    return true;
}

tp_status tp_serve_config_load(const char *path, tp_serve_config **out) {
    tp_status rc = TP_OK;
    yaml_parser_t parser;
    yaml_document_t doc;
    bool have_parser = false, have_doc = false;
    FILE *fp = fopen(path, "rb");
    if (!fp) return tp_fail(TP_ERR_IO, "cannot open serve config '%s': %s", path, strerror(errno));
    tp_serve_config *c = tp_calloc(1, sizeof *c);
    if (!c) {
        rc = tp_fail(TP_ERR_NOMEM, "out of memory");
        goto done;
    }
    tp_serve_config_default(c);
    if (!yaml_parser_initialize(&parser)) {
        rc = tp_fail(TP_ERR_NOMEM, "out of memory (libyaml)");
        goto done;
    }
    have_parser = true;
    yaml_parser_set_input_file(&parser, fp);
    if (!yaml_parser_load(&parser, &doc)) {
        rc = tp_fail(TP_ERR_FORMAT, "serve config '%s', line %lu: %s", path,
                     (unsigned long)parser.problem_mark.line + 1,
                     parser.problem ? parser.problem : "invalid YAML");
        goto done;
    }
    have_doc = true;
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    if (!root || root->type != YAML_MAPPING_NODE) {
        rc = tp_fail(TP_ERR_FORMAT, "serve config '%s': expected a mapping of settings", path);
        goto done;
    }
    for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top; p++) {
        yaml_node_t *k = yaml_document_get_node(&doc, p->key), *v = yaml_document_get_node(&doc, p->value);
        if (k->type != YAML_SCALAR_NODE) {
            rc = at(path, k, "keys must be scalars", "");
            goto done;
        }
        const char *key = (const char *)k->data.scalar.value;
        const char *sv = v->type == YAML_SCALAR_NODE ? (const char *)v->data.scalar.value : NULL;
        long long x;
        char **str = NULL;
        if (strcmp(key, "listen") == 0) str = &c->listen;
        else if (strcmp(key, "data_root") == 0) str = &c->data_root;
        else if (strcmp(key, "scores") == 0) str = &c->scores;
        else if (strcmp(key, "job_db") == 0) str = &c->job_db;
        if (str) {
            if (!sv || !*sv) {
                rc = at(path, v, "expected a non-empty string for ", key);
                goto done;
            }
            if ((str == &c->scores || str == &c->job_db) && !safe_relative(sv)) {
                rc = at(path, v, "must be a path relative to data_root without '..': ", key);
                goto done;
            }
            tp_free(*str);
            if (!(*str = tp_strdup(sv))) {
                rc = tp_fail(TP_ERR_NOMEM, "out of memory");
                goto done;
            }
        } else if (strcmp(key, "port") == 0) {
            if (!scalar_int(v, 0, 65535, &x)) {
                rc = at(path, v, "expected an integer 0..65535 for ", key);
                goto done;
            }
            c->port = (int)x;
        } else if (strcmp(key, "clusters") == 0 || strcmp(key, "top_n") == 0 ||
                   strcmp(key, "workers") == 0 || strcmp(key, "job_threads") == 0 ||
                   strcmp(key, "http_threads") == 0) {
            long long lo = strcmp(key, "job_threads") == 0 ? 0 : 1;
            if (!scalar_int(v, lo, 100000, &x)) {
                rc = at(path, v, lo ? "expected a positive integer for " : "expected an integer >= 0 for ", key);
                goto done;
            }
            if (key[0] == 'c') c->clusters = (int)x;
            else if (key[0] == 't') c->top_n = (int)x;
            else if (key[0] == 'w') c->workers = (int)x;
            else if (key[0] == 'j') c->job_threads = (int)x;
            else c->http_threads = (int)x;
        } else if (strcmp(key, "max_body_bytes") == 0) {
            if (!scalar_int(v, 1, 1LL << 40, &x)) {
                rc = at(path, v, "expected a positive integer for ", key);
                goto done;
            }
            c->max_body_bytes = (size_t)x;
        } else if (strcmp(key, "extension_pct") == 0) {
            char *end;
            double d = sv ? strtod(sv, &end) : 0;
            if (!sv || *end || !(d > 0) || d > 1e6) {
                rc = at(path, v, "expected a number > 0 for ", key);
                goto done;
            }
            c->extension_pct = d;
        } else if (strcmp(key, "tokens") == 0) {
            if (v->type != YAML_SEQUENCE_NODE) {
                rc = at(path, v, "expected a list of strings for ", key);
                goto done;
            }
            size_t n = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
            c->tokens = tp_calloc(n ? n : 1, sizeof *c->tokens);
            if (!c->tokens) {
                rc = tp_fail(TP_ERR_NOMEM, "out of memory");
                goto done;
            }
            for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top; it++) {
                yaml_node_t *t = yaml_document_get_node(&doc, *it);
                if (t->type != YAML_SCALAR_NODE || strlen((const char *)t->data.scalar.value) < 8) {
                    rc = at(path, t, "tokens must be strings of at least 8 characters", "");
                    goto done;
                }
                if (!(c->tokens[c->n_tokens++] = tp_strdup((const char *)t->data.scalar.value))) {
                    rc = tp_fail(TP_ERR_NOMEM, "out of memory");
                    goto done;
                }
            }
        } else {
            rc = at(path, k, "unknown key ", key);
            goto done;
        }
    }
    // data_root relative to the config's folder
    const char *root_dir = c->data_root ? c->data_root : ".";
    if (root_dir[0] != '/') {
        const char *slash = strrchr(path, '/');
        size_t n = (slash ? (size_t)(slash - path) : 1) + strlen(root_dir) + 2;
        char *p = tp_malloc(n);
        if (!p) {
            rc = tp_fail(TP_ERR_NOMEM, "out of memory");
            goto done;
        }
        if (slash) snprintf(p, n, "%.*s/%s", (int)(slash - path), path, root_dir);
        else snprintf(p, n, "%s", root_dir);
        tp_free(c->data_root);
        c->data_root = p;
    }
    *out = c;
    c = NULL;
done:
    if (have_doc) yaml_document_delete(&doc);
    if (have_parser) yaml_parser_delete(&parser);
    tp_serve_config_free(c);
    fclose(fp);
    return rc;
}

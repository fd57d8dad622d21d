/* config.c: serve.yaml for `touchpoint serve` (libyaml document API). A flat mapping of scalars
 * plus a `tokens` sequence; unknown keys and bad values are errors naming the file and line, so a
 * typo in `tokens` can never silently turn authentication off. Reference: docs/serve.md. */
#include "serve_impl.h"
#include "core/yamlcfg.h"

#include <string.h>

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
    tp_ycfg_list_free(c->tokens, c->n_tokens);
    tp_free(c);
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

static const char KNOWN[] = "listen, port, data_root, scores, job_db, clusters, top_n, "
                            "extension_pct, workers, job_threads, http_threads, tokens, max_body_bytes";

static tp_status parse_root(const tp_ycfg *y, const yaml_node_t *root, tp_serve_config *c) {
    tp_status rc = tp_ycfg_map(y, root, NULL, KNOWN);
    const char *key;
    yaml_node_t *k, *v;
    int64_t x;
    if (rc) return rc;
    tp_ycfg_foreach(y, root, i, key, k, v) {
        char **str = !strcmp(key, "listen")      ? &c->listen
                     : !strcmp(key, "data_root") ? &c->data_root
                     : !strcmp(key, "scores")    ? &c->scores
                     : !strcmp(key, "job_db")    ? &c->job_db
                                                 : NULL;
        if (str) {
            if ((rc = tp_ycfg_str(y, key, v, TP_YCFG_NONEMPTY, str))) return rc;
            if ((str == &c->scores || str == &c->job_db) && !safe_relative(*str))
                return tp_ycfg_fail(y, v, "key '%s' must be a path relative to data_root without '..'",
                                    key);
        } else if (!strcmp(key, "port")) {
            rc = tp_ycfg_int(y, key, v, 0, 65535, &c->port);
        } else if (!strcmp(key, "clusters")) {
            rc = tp_ycfg_int(y, key, v, 1, 100000, &c->clusters);
        } else if (!strcmp(key, "top_n")) {
            rc = tp_ycfg_int(y, key, v, 1, 100000, &c->top_n);
        } else if (!strcmp(key, "workers")) {
            rc = tp_ycfg_int(y, key, v, 1, 100000, &c->workers);
        } else if (!strcmp(key, "job_threads")) {
            rc = tp_ycfg_int(y, key, v, 0, 100000, &c->job_threads);
        } else if (!strcmp(key, "http_threads")) {
            rc = tp_ycfg_int(y, key, v, 1, 100000, &c->http_threads);
        } else if (!strcmp(key, "max_body_bytes")) {
            if ((rc = tp_ycfg_i64(y, key, v, 1, INT64_C(1) << 40, &x)) == TP_OK)
                c->max_body_bytes = (size_t)x;
        } else if (!strcmp(key, "extension_pct")) {
            if ((rc = tp_ycfg_num(y, key, v, 0, 1e6, &c->extension_pct)) == TP_OK &&
                !(c->extension_pct > 0))
                rc = tp_ycfg_fail(y, v, "key 'extension_pct' must be positive");
        } else if (!strcmp(key, "tokens")) {
            if ((rc = tp_ycfg_list_dup(y, key, v, 0, &c->tokens, &c->n_tokens))) return rc;
            for (size_t t = 0; t < c->n_tokens; t++)
                if (strlen(c->tokens[t]) < 8)
                    return tp_ycfg_fail(y, tp_ycfg_item(y, v, t),
                                        "tokens must be strings of at least 8 characters");
        } else {
            return tp_ycfg_fail(y, k, "unknown key '%s' (known: %s)", key, KNOWN);
        }
        if (rc) return rc;
    }
    return TP_OK;
}

tp_status tp_serve_config_load(const char *path, tp_serve_config **out) {
    tp_ycfg y = {.path = path, .what = "serve config"};
    tp_serve_config *c = tp_calloc(1, sizeof *c);
    tp_status rc = c ? tp_ycfg_load_file(&y) : tp_fail(TP_ERR_NOMEM, "out of memory");
    if (rc == TP_OK) {
        tp_serve_config_default(c);
        rc = parse_root(&y, tp_ycfg_root(&y), c);
    }
    if (rc == TP_OK) { // data_root relative to the config's folder
        char *root = tp_ycfg_resolve(&y, c->data_root ? c->data_root : ".");
        if (!root) rc = tp_fail(TP_ERR_NOMEM, "out of memory");
        tp_free(c->data_root);
        c->data_root = root;
    }
    if (rc == TP_OK) {
        *out = c;
        c = NULL;
    }
    tp_ycfg_close(&y);
    tp_serve_config_free(c);
    return rc;
}

/* routes.c: the service's routes table, like Redis's command table, and its handlers. A handler
 * parses the request (JSON through jansson, multipart through libmicrohttpd's post processor),
 * calls one library or job-store function and fills the reply. No request names a file path:
 * results are found by job id, which must be 32 lowercase hex digits. */
#include "serve_impl.h"

#include <fcntl.h>
#include <jansson.h>
#include <microhttpd.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

void reply_json(reply *rp, int code, json_t *obj) {
    char *s = json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(obj);
    rp->code = code;
    rp->ctype = "application/json";
    if (!s) {
        rp->code = 500;
        rp->body = tp_strdup("{\"error\":\"out of memory\"}");
    } else {
        size_t n = strlen(s);
        rp->body = tp_malloc(n + 2);
        if (rp->body) memcpy(rp->body, s, n), rp->body[n] = '\n', rp->body[n + 1] = 0;
        free(s);
    }
    rp->len = rp->body ? strlen(rp->body) : 0;
}

void reply_error(reply *rp, int code, const char *fmt, ...) {
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    json_t *o = json_object();
    json_object_set_new(o, "error", json_string(msg));
    reply_json(rp, code, o);
}

// ---- GET /healthz, GET /metrics ----

static void route_health(tp_server *s, const request *rq, const char *tail, reply *rp) {
    json_t *o = json_object();
    json_object_set_new(o, "status", json_string("ok"));
    json_object_set_new(o, "users", json_integer((json_int_t)s->table->n_users));
    json_object_set_new(o, "keywords", json_integer((json_int_t)s->table->n_keywords));
    json_object_set_new(o, "uptime_seconds", json_real(tp_now() - s->started));
    reply_json(rp, 200, o);
}

static void route_metrics(tp_server *s, const request *rq, const char *tail, reply *rp) {
    rp->body = serve_metrics_text(s);
    if (!rp->body) {
        reply_error(rp, 500, "%s", tp_last_error());
        return;
    }
    rp->code = 200;
    rp->len = strlen(rp->body);
    rp->ctype = "text/plain; version=0.0.4";
}

// ---- POST /lookalike/extend-audience ----

typedef struct form {
    char *seeds;        // concatenated file/field content
    size_t len, cap;
    char *k, *top_n, *m, *pct, *no_cluster;
    bool failed;
} form;

static void set_field(char **dst, const char *data, size_t size, size_t off) {
    if (off == 0) {
        tp_free(*dst);
        *dst = NULL;
    }
    size_t old = *dst ? strlen(*dst) : 0;
    if (old + size > 64) return; // parameters are short; longer values are rejected below
    char *p = tp_realloc(*dst, old + size + 1);
    if (!p) return;
    memcpy(p + old, data, size);
    p[old + size] = 0;
    *dst = p;
}

static enum MHD_Result form_iter(void *cls, enum MHD_ValueKind kind, const char *key,
                                 const char *filename, const char *content_type,
                                 const char *transfer_encoding, const char *data, uint64_t off,
                                 size_t size) {
    form *f = cls;
    if (!key) return MHD_YES;
    if (strcmp(key, "file") == 0 || strcmp(key, "seeds") == 0) {
        if (tp_grow((void **)&f->seeds, &f->cap, f->len + size + 1, 1) != TP_OK) {
            f->failed = true;
            return MHD_NO;
        }
        memcpy(f->seeds + f->len, data, size);
        f->len += size;
        f->seeds[f->len] = 0;
    } else if (strcmp(key, "k") == 0) set_field(&f->k, data, size, off);
    else if (strcmp(key, "top-n") == 0) set_field(&f->top_n, data, size, off);
    else if (strcmp(key, "m") == 0) set_field(&f->m, data, size, off);
    else if (strcmp(key, "extension-pct") == 0) set_field(&f->pct, data, size, off);
    else if (strcmp(key, "no-cluster") == 0) set_field(&f->no_cluster, data, size, off);
    return MHD_YES;
}

static bool parse_int(const char *s, long long lo, long long hi, long long *out) {
    char *end;
    if (!s || !*s) return false;
    long long v = strtoll(s, &end, 10);
    if (*end || v < lo || v > hi) return false;
    *out = v;
    return true;
}

static bool parse_real(const char *s, double lo, double hi, double *out) {
    char *end;
    if (!s || !*s) return false;
    double v = strtod(s, &end);
    if (*end || !(v > lo) || v > hi) return false;
    *out = v;
    return true;
}

// Job options from the JSON body; false (with a reply) on a bad value.
static bool json_opts(const json_t *o, tp_audience_opts *opt, reply *rp) {
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)o, key, v) {
        if (strcmp(key, "seeds") == 0) continue;
        if (strcmp(key, "k") == 0 || strcmp(key, "top-n") == 0 || strcmp(key, "m") == 0) {
            if (!json_is_integer(v) || json_integer_value(v) < 1 ||
                json_integer_value(v) > (strcmp(key, "m") == 0 ? (json_int_t)1 << 40 : 100000)) {
                reply_error(rp, 400, "\"%s\" must be a positive integer", key);
                return false;
            }
            json_int_t x = json_integer_value(v);
            if (key[0] == 'k') opt->k = (int)x;
            else if (key[0] == 't') opt->top_n = (int)x;
            else opt->m = x;
        } else if (strcmp(key, "extension-pct") == 0) {
            if (!json_is_number(v) || !(json_number_value(v) > 0) || json_number_value(v) > 1e6) {
                reply_error(rp, 400, "\"extension-pct\" must be a number > 0");
                return false;
            }
            opt->extension_pct = json_number_value(v);
            opt->m = 0;
        } else if (strcmp(key, "no-cluster") == 0) {
            if (!json_is_boolean(v)) {
                reply_error(rp, 400, "\"no-cluster\" must be true or false");
                return false;
            }
            opt->no_cluster = json_is_true(v);
        } else {
            reply_error(rp, 400, "unknown field \"%s\" (expected seeds, k, top-n, m, extension-pct, "
                        "no-cluster)", key);
            return false;
        }
    }
    return true;
}

static void route_extend(tp_server *s, const request *rq, const char *tail, reply *rp) {
    tp_audience_opts opt;
    tp_audience_opts_default(&opt);
    opt.k = s->cfg.clusters;
    opt.top_n = s->cfg.top_n;
    opt.extension_pct = s->cfg.extension_pct;
    opt.threads = s->cfg.job_threads;
    char **seeds = NULL;
    size_t ns = 0;
    form f = {0};
    json_t *root = NULL;
    const char *ct = rq->content_type ? rq->content_type : "";
    if (strncasecmp(ct, "application/json", 16) == 0) {
        json_error_t err;
        root = json_loadb(rq->body ? rq->body : "", rq->len, 0, &err);
        if (!root || !json_is_object(root)) {
            reply_error(rp, 400, "malformed JSON body: %s (line %d, column %d)",
                        root ? "expected an object" : err.text, err.line, err.column);
            goto done;
        }
        json_t *arr = json_object_get(root, "seeds");
        if (!json_is_array(arr) || json_array_size(arr) == 0) {
            reply_error(rp, 400, "\"seeds\" must be a non-empty array of did strings");
            goto done;
        }
        if (!json_opts(root, &opt, rp)) goto done;
        ns = json_array_size(arr);
        seeds = tp_calloc(ns, sizeof *seeds);
        if (!seeds) {
            reply_error(rp, 500, "out of memory");
            goto done;
        }
        for (size_t i = 0; i < ns; i++) {
            json_t *e = json_array_get(arr, i);
            if (!json_is_string(e) || json_string_length(e) == 0 ||
                memchr(json_string_value(e), 0, json_string_length(e))) {
                reply_error(rp, 400, "\"seeds\"[%zu] must be a non-empty string", i);
                goto done;
            }
            if (!(seeds[i] = tp_strdup(json_string_value(e)))) {
                reply_error(rp, 500, "out of memory");
                goto done;
            }
        }
    } else if (strncasecmp(ct, "multipart/form-data", 19) == 0) {
        struct MHD_PostProcessor *pp = MHD_create_post_processor(rq->conn, 65536, form_iter, &f);
        if (!pp) {
            reply_error(rp, 400, "malformed multipart body (missing boundary?)");
            goto done;
        }
        enum MHD_Result r = MHD_post_process(pp, rq->body ? rq->body : "", rq->len);
        MHD_destroy_post_processor(pp);
        if (r != MHD_YES || f.failed) {
            reply_error(rp, 400, "malformed multipart body");
            goto done;
        }
        if (!f.seeds) {
            reply_error(rp, 400, "multipart body needs a file field named \"file\" (or \"seeds\") "
                        "with one did per line");
            goto done;
        }
        long long x;
        double d;
        if (f.k && !parse_int(f.k, 1, 100000, &x)) goto bad_field;
        if (f.k) opt.k = (int)x;
        if (f.top_n && !parse_int(f.top_n, 1, 100000, &x)) goto bad_field;
        if (f.top_n) opt.top_n = (int)x;
        if (f.m && !parse_int(f.m, 1, 1LL << 40, &x)) goto bad_field;
        if (f.m) opt.m = x;
        if (f.pct && !parse_real(f.pct, 0, 1e6, &d)) goto bad_field;
        if (f.pct) opt.extension_pct = d, opt.m = 0;
        if (f.no_cluster) opt.no_cluster = strcmp(f.no_cluster, "true") == 0 || strcmp(f.no_cluster, "1") == 0;
        if (tp_audience_parse_seeds(f.seeds, f.len, &seeds, &ns) != TP_OK) {
            reply_error(rp, 400, "seed file: %s", tp_last_error());
            goto done;
        }
    } else if (strncasecmp(ct, "text/plain", 10) == 0 || strncasecmp(ct, "text/csv", 8) == 0) {
        if (tp_audience_parse_seeds(rq->body ? rq->body : "", rq->len, &seeds, &ns) != TP_OK) {
            reply_error(rp, 400, "seed list: %s", tp_last_error());
            goto done;
        }
    } else {
        reply_error(rp, 415, "send application/json {\"seeds\": [...]}, multipart/form-data with a "
                    "\"file\" field, or text/plain with one did per line");
        goto done;
    }
    if (ns == 0) {
        reply_error(rp, 400, "the seed list is empty");
        goto done;
    }
    char id[33];
    size_t n_given = ns;
    tp_status st = jobs_submit(s->jobs, seeds, ns, &opt, id); // takes the seeds
    seeds = NULL, ns = 0;
    if (st != TP_OK) {
        reply_error(rp, 500, "%s", tp_last_error());
        goto done;
    }
    json_t *o = json_object();
    json_object_set_new(o, "job-id", json_string(id));
    json_object_set_new(o, "status", json_string("Running"));
    json_object_set_new(o, "seeds", json_integer((json_int_t)n_given));
    char url[96];
    snprintf(url, sizeof url, "/lookalike/status/%s", id);
    json_object_set_new(o, "status-url", json_string(url));
    reply_json(rp, 202, o);
    goto done;
bad_field:
    reply_error(rp, 400, "bad value in a form field (k, top-n, m: positive integers; "
                "extension-pct: a number > 0)");
done:
    json_decref(root);
    tp_audience_seeds_free(seeds, ns);
    tp_free(f.seeds), tp_free(f.k), tp_free(f.top_n), tp_free(f.m), tp_free(f.pct);
    tp_free(f.no_cluster);
}

// ---- GET /lookalike/status/<id>, GET /lookalike/result/<id> ----

// Look the job up; false (with a 404/500 reply) when it does not exist.
static bool find_job(tp_server *s, const char *id, char status[16], char **error,
                     int64_t *selected, int64_t *unknown, reply *rp) {
    if (!job_id_valid(id)) {
        reply_error(rp, 404, "no such job (job ids are 32 hex digits)");
        return false;
    }
    int r = jobs_get(s->jobs, id, status, error, selected, unknown);
    if (r < 0) reply_error(rp, 500, "%s", tp_last_error());
    else if (r == 0) reply_error(rp, 404, "no such job: %s", id);
    return r == 1;
}

static void route_status(tp_server *s, const request *rq, const char *id, reply *rp) {
    char status[16], *error = NULL;
    int64_t selected = 0, unknown = 0;
    if (!find_job(s, id, status, &error, &selected, &unknown, rp)) return;
    json_t *o = json_object();
    json_object_set_new(o, "job-id", json_string(id));
    // Queued is reported as Running: the API has three states (docs/serve.md)
    bool fin = strcmp(status, "Finished") == 0, failed = strcmp(status, "Failed") == 0;
    json_object_set_new(o, "status", json_string(fin ? "Finished" : failed ? "Failed" : "Running"));
    if (!fin && !failed) json_object_set_new(o, "queued", json_boolean(strcmp(status, "Queued") == 0));
    if (fin) {
        char url[96];
        snprintf(url, sizeof url, "/lookalike/result/%s", id);
        json_object_set_new(o, "url", json_string(url));
        json_object_set_new(o, "users", json_integer(selected));
        json_object_set_new(o, "unknown-seeds", json_integer(unknown));
    }
    if (failed) json_object_set_new(o, "error", json_string(error ? error : "failed"));
    tp_free(error);
    reply_json(rp, 200, o);
}

static void route_result(tp_server *s, const request *rq, const char *id, reply *rp) {
    char status[16], *error = NULL;
    int64_t selected = 0, unknown = 0;
    if (!find_job(s, id, status, &error, &selected, &unknown, rp)) return;
    tp_free(error);
    if (strcmp(status, "Finished") != 0) {
        reply_error(rp, 409, "job %s is %s; poll /lookalike/status/%s", id,
                    strcmp(status, "Failed") == 0 ? "Failed" : "still running", id);
        return;
    }
    char *path = jobs_result_path(s, id);
    int fd = path ? open(path, O_RDONLY | O_CLOEXEC) : -1;
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        if (fd >= 0) close(fd);
        reply_error(rp, 410, "the result of job %s is no longer on disk", id);
        tp_free(path);
        return;
    }
    tp_free(path);
    rp->code = 200;
    rp->fd = fd;
    rp->fd_size = (size_t)st.st_size;
    rp->ctype = "text/csv";
    rp->filename = "audience.csv";
}

const route serve_routes[] = {
    {"GET", "/healthz", 0, "/healthz", 1, route_health},
    {"GET", "/metrics", 0, "/metrics", 0, route_metrics},
    {"POST", "/lookalike/extend-audience", 0, "/lookalike/extend-audience", 0, route_extend},
    {"GET", "/lookalike/status/", 1, "/lookalike/status/{id}", 0, route_status},
    {"GET", "/lookalike/result/", 1, "/lookalike/result/{id}", 0, route_result},
};
const int serve_n_routes = (int)(sizeof serve_routes / sizeof serve_routes[0]);

/* http.c: the libmicrohttpd side of `touchpoint serve`: start/stop, one access handler that
 * collects the body (413 past max_body_bytes, checked on Content-Length before reading), checks the
 * bearer token (401), dispatches through the routes table (404/405) and records Prometheus metrics
 * (requests by route and code, a latency histogram by route, jobs by state). */
#include "serve_impl.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const double serve_buckets[SERVE_N_BUCKETS] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                                               0.01,   0.025,   0.05,   0.1,   0.5,    2.5};

typedef struct conn_state {
    request rq;
    double t0;
    bool too_big, refused; // a reply was queued before the body was read
} conn_state;

// ---- metrics ----

static void record(tp_server *s, int route_idx, int code, double seconds) {
    int r = route_idx < 0 ? SERVE_MAX_ROUTES : route_idx;
    pthread_mutex_lock(&s->mu);
    for (int i = 0; i < SERVE_MAX_CODES; i++) {
        if (s->codes[r][i] == code || s->codes[r][i] == 0) {
            s->codes[r][i] = code;
            s->code_count[r][i]++;
            break;
        }
    }
    int b = 0;
    while (b < SERVE_N_BUCKETS && seconds > serve_buckets[b]) b++;
    s->bucket[r][b]++;
    s->lat_sum[r] += seconds;
    s->lat_count[r]++;
    pthread_mutex_unlock(&s->mu);
}

typedef struct sbuf {
    char *p;
    size_t len, cap;
    bool failed;
} sbuf;

static void sb_printf(sbuf *b, const char *fmt, ...) {
    va_list ap;
    for (;;) {
        if (b->failed) return;
        size_t room = b->cap - b->len;
        va_start(ap, fmt);
        int n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? room : 0, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->failed = true;
            return;
        }
        if ((size_t)n < room) {
            b->len += (size_t)n;
            return;
        }
        if (tp_grow((void **)&b->p, &b->cap, b->len + (size_t)n + 1024, 1) != TP_OK) b->failed = true;
    }
}

char *serve_metrics_text(tp_server *s) {
    sbuf b = {0};
    int64_t jc[4];
    tp_status jst = jobs_counts(s->jobs, jc);
    sb_printf(&b, "# HELP touchpoint_http_requests_total HTTP requests by route and status code.\n"
                  "# TYPE touchpoint_http_requests_total counter\n");
    pthread_mutex_lock(&s->mu);
    for (int r = 0; r <= SERVE_MAX_ROUTES; r++) {
        if (r < SERVE_MAX_ROUTES && r >= serve_n_routes) continue;
        const char *label = r < serve_n_routes ? serve_routes[r].label : "other";
        for (int i = 0; i < SERVE_MAX_CODES && s->codes[r][i]; i++)
            sb_printf(&b, "touchpoint_http_requests_total{route=\"%s\",code=\"%d\"} %llu\n", label,
                      s->codes[r][i], (unsigned long long)s->code_count[r][i]);
    }
    sb_printf(&b, "# HELP touchpoint_http_request_duration_seconds Time from the request's first "
                  "byte to its reply being queued.\n"
                  "# TYPE touchpoint_http_request_duration_seconds histogram\n");
    for (int r = 0; r <= SERVE_MAX_ROUTES; r++) {
        if (r < SERVE_MAX_ROUTES && r >= serve_n_routes) continue;
        if (!s->lat_count[r]) continue;
        const char *label = r < serve_n_routes ? serve_routes[r].label : "other";
        uint64_t cum = 0;
        for (int i = 0; i < SERVE_N_BUCKETS; i++) {
            cum += s->bucket[r][i];
            sb_printf(&b, "touchpoint_http_request_duration_seconds_bucket{route=\"%s\",le=\"%g\"} %llu\n",
                      label, serve_buckets[i], (unsigned long long)cum);
        }
        cum += s->bucket[r][SERVE_N_BUCKETS];
        sb_printf(&b, "touchpoint_http_request_duration_seconds_bucket{route=\"%s\",le=\"+Inf\"} %llu\n"
                      "touchpoint_http_request_duration_seconds_sum{route=\"%s\"} %.9f\n"
                      "touchpoint_http_request_duration_seconds_count{route=\"%s\"} %llu\n",
                  label, (unsigned long long)cum, label, s->lat_sum[r], label,
                  (unsigned long long)s->lat_count[r]);
    }
    pthread_mutex_unlock(&s->mu);
    if (jst == TP_OK) {
        static const char *names[4] = {"queued", "running", "finished", "failed"};
        sb_printf(&b, "# HELP touchpoint_jobs Lookalike jobs in the store by state.\n"
                      "# TYPE touchpoint_jobs gauge\n");
        for (int i = 0; i < 4; i++)
            sb_printf(&b, "touchpoint_jobs{state=\"%s\"} %lld\n", names[i], (long long)jc[i]);
    }
    sb_printf(&b, "# HELP touchpoint_uptime_seconds Seconds since the server started.\n"
                  "# TYPE touchpoint_uptime_seconds gauge\ntouchpoint_uptime_seconds %.3f\n",
              tp_now() - s->started);
    if (b.failed) {
        tp_free(b.p);
        tp_fail(TP_ERR_NOMEM, "out of memory");
        return NULL;
    }
    return b.p;
}

// ---- replies ----

static enum MHD_Result send_reply(struct MHD_Connection *conn, tp_server *s, int route_idx,
                                  double t0, reply *rp) {
    struct MHD_Response *res;
    if (rp->fd >= 0) {
        res = MHD_create_response_from_fd((uint64_t)rp->fd_size, rp->fd);
        if (!res) close(rp->fd);
    } else {
        res = MHD_create_response_from_buffer(rp->len, rp->body ? rp->body : (void *)"",
                                              rp->body ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
        if (res) rp->body = NULL; // MHD frees it (tp_free is free)
    }
    tp_free(rp->body);
    rp->body = NULL;
    if (!res) return MHD_NO;
    if (rp->ctype) MHD_add_response_header(res, MHD_HTTP_HEADER_CONTENT_TYPE, rp->ctype);
    if (rp->filename) {
        char cd[128];
        snprintf(cd, sizeof cd, "attachment; filename=\"%s\"", rp->filename);
        MHD_add_response_header(res, "Content-Disposition", cd);
    }
    if (rp->code == 401) MHD_add_response_header(res, "WWW-Authenticate", "Bearer realm=\"touchpoint\"");
    if (rp->code == 413) MHD_add_response_header(res, MHD_HTTP_HEADER_CONNECTION, "close");
    enum MHD_Result r = MHD_queue_response(conn, (unsigned)rp->code, res);
    MHD_destroy_response(res);
    record(s, route_idx, rp->code, tp_now() - t0);
    return r;
}

// Constant-time comparison of the presented token with each configured one.
static bool token_ok(const tp_server *s, struct MHD_Connection *conn) {
    if (s->cfg.n_tokens == 0) return true;
    const char *h = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    if (!h || strncasecmp(h, "Bearer ", 7) != 0) return false;
    const char *tok = h + 7;
    size_t n = strlen(tok);
    bool ok = false;
    for (size_t i = 0; i < s->cfg.n_tokens; i++) {
        const char *t = s->cfg.tokens[i];
        size_t m = strlen(t);
        unsigned diff = (unsigned)(n ^ m);
        for (size_t j = 0; j < m; j++) diff |= (unsigned)(t[j] ^ (j < n ? tok[j] : 0));
        ok |= diff == 0;
    }
    return ok;
}

// The route for (method, url): index, or -1 (404) / -2 (405). *tail: the rest after a prefix.
static int match(const char *method, const char *url, const char **tail) {
    bool path_known = false;
    for (int i = 0; i < serve_n_routes; i++) {
        const route *r = &serve_routes[i];
        size_t n = strlen(r->path);
        bool hit = r->prefix ? strncmp(url, r->path, n) == 0 && url[n] : strcmp(url, r->path) == 0;
        if (!hit) continue;
        path_known = true;
        if (strcmp(method, r->method) == 0 || (strcmp(method, "HEAD") == 0 && strcmp(r->method, "GET") == 0)) {
            *tail = url + n;
            return i;
        }
    }
    return path_known ? -2 : -1;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls) {
    tp_server *s = cls;
    conn_state *cs = *con_cls;
    reply rp = {.fd = -1};
    const char *tail = "";
    int ri = match(method, url, &tail);
    if (!cs) { // first call: headers only
        cs = tp_calloc(1, sizeof *cs);
        if (!cs) return MHD_NO;
        cs->t0 = tp_now();
        cs->rq.conn = conn;
        *con_cls = cs;
        const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (ri >= 0 && !serve_routes[ri].open && !token_ok(s, conn)) {
            cs->refused = true;
            reply_error(&rp, 401, "missing or invalid bearer token");
            return send_reply(conn, s, ri, cs->t0, &rp);
        }
        if (cl && strtoull(cl, NULL, 10) > s->cfg.max_body_bytes) {
            cs->refused = true;
            reply_error(&rp, 413, "request body of %s bytes is over the limit of %zu", cl,
                        s->cfg.max_body_bytes);
            return send_reply(conn, s, ri, cs->t0, &rp);
        }
        return MHD_YES;
    }
    if (cs->refused) { // reply already queued: discard the body
        *upload_size = 0;
        return MHD_YES;
    }
    if (*upload_size) {
        if (!cs->too_big && cs->rq.len + *upload_size > s->cfg.max_body_bytes) cs->too_big = true;
        if (!cs->too_big) {
            if (tp_grow((void **)&cs->rq.body, &cs->rq.cap, cs->rq.len + *upload_size + 1, 1) != TP_OK)
                return MHD_NO;
            memcpy(cs->rq.body + cs->rq.len, upload, *upload_size);
            cs->rq.len += *upload_size;
            cs->rq.body[cs->rq.len] = 0;
        }
        *upload_size = 0;
        return MHD_YES;
    }
    // final call: the whole body is in
    if (cs->too_big) {
        reply_error(&rp, 413, "request body is over the limit of %zu bytes", s->cfg.max_body_bytes);
    } else if (ri == -1) {
        reply_error(&rp, 404, "no such route: %s", url);
    } else if (ri == -2) {
        reply_error(&rp, 405, "method %s not allowed on %s", method, url);
    } else {
        const char *ct = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
        cs->rq.content_type = ct ? tp_strdup(ct) : NULL;
        cs->rq.method = method;
        cs->rq.url = url;
        serve_routes[ri].fn(s, &cs->rq, tail, &rp);
    }
    return send_reply(conn, s, ri, cs->t0, &rp);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe) {
    conn_state *cs = *con_cls;
    if (!cs) return;
    tp_free(cs->rq.body);
    tp_free(cs->rq.content_type);
    tp_free(cs);
    *con_cls = NULL;
}

static void mhd_log(void *cls, const char *fmt, va_list ap) {
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    size_t n = strlen(msg);
    while (n && msg[n - 1] == '\n') msg[--n] = 0;
    tp_log(TP_LOG_WARN, "http: %s", msg);
}

// ---- start / stop ----

static char *join(const char *a, const char *b) {
    size_t n = strlen(a) + strlen(b) + 2;
    char *p = tp_malloc(n);
    if (p) snprintf(p, n, "%s/%s", a, b);
    return p;
}

static char *dup_or(const char *s, const char *def) { return tp_strdup(s ? s : def); }

tp_status tp_server_start(const tp_serve_config *c, tp_server **out) {
    tp_server *s = tp_calloc(1, sizeof *s);
    if (!s) return tp_fail(TP_ERR_NOMEM, "out of memory");
    tp_status rc = TP_OK;
    pthread_mutex_init(&s->mu, NULL);
    s->started = tp_now();
    s->cfg = *c;
    s->cfg.listen = dup_or(c->listen, "127.0.0.1");
    s->cfg.data_root = dup_or(c->data_root, ".");
    s->cfg.scores = dup_or(c->scores, "scores");
    s->cfg.job_db = dup_or(c->job_db, "jobs.sqlite");
    s->cfg.tokens = tp_calloc(c->n_tokens ? c->n_tokens : 1, sizeof *s->cfg.tokens);
    s->cfg.n_tokens = 0;
    if (!s->cfg.listen || !s->cfg.data_root || !s->cfg.scores || !s->cfg.job_db || !s->cfg.tokens)
        goto nomem;
    for (size_t i = 0; i < c->n_tokens; i++)
        if (!(s->cfg.tokens[s->cfg.n_tokens++] = tp_strdup(c->tokens[i]))) goto nomem;
    s->scores_path = join(s->cfg.data_root, s->cfg.scores);
    s->db_path = join(s->cfg.data_root, s->cfg.job_db);
    s->results_dir = join(s->cfg.data_root, "results");
    if (!s->scores_path || !s->db_path || !s->results_dir) goto nomem;
    if ((rc = tp_mkdirs(s->results_dir)) != TP_OK) goto fail;
    if ((rc = tp_score_table_read(s->scores_path, &s->table)) != TP_OK) goto fail;
    if ((rc = jobs_open(s, s->db_path, &s->jobs)) != TP_OK) goto fail;

    struct sockaddr_in a4;
    struct sockaddr_in6 a6;
    struct sockaddr *sa;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
    memset(&a4, 0, sizeof a4), memset(&a6, 0, sizeof a6);
    if (inet_pton(AF_INET, s->cfg.listen, &a4.sin_addr) == 1) {
        a4.sin_family = AF_INET;
        a4.sin_port = htons((uint16_t)s->cfg.port);
        sa = (struct sockaddr *)&a4;
    } else if (inet_pton(AF_INET6, s->cfg.listen, &a6.sin6_addr) == 1) {
        a6.sin6_family = AF_INET6;
        a6.sin6_port = htons((uint16_t)s->cfg.port);
        sa = (struct sockaddr *)&a6;
        flags |= MHD_USE_IPv6;
    } else {
        rc = tp_fail(TP_ERR_ARG, "listen address '%s' is not an IPv4 or IPv6 literal", s->cfg.listen);
        goto fail;
    }
    unsigned pool = s->cfg.http_threads > 0 ? (unsigned)s->cfg.http_threads : 1;
    if (pool > 1) flags |= MHD_USE_EPOLL_INTERNAL_THREAD;
    s->daemon = MHD_start_daemon(flags, (uint16_t)s->cfg.port, NULL, NULL, on_request, s,
                                 MHD_OPTION_EXTERNAL_LOGGER, mhd_log, s, // first, or MHD prints
                                 MHD_OPTION_SOCK_ADDR, sa,
                                 MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
                                 MHD_OPTION_THREAD_POOL_SIZE, pool,
                                 MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30,
                                 MHD_OPTION_CONNECTION_LIMIT, (unsigned)1000,
                                 MHD_OPTION_END);
    if (!s->daemon) {
        rc = tp_fail(TP_ERR_IO, "cannot listen on %s port %d: %s", s->cfg.listen, s->cfg.port,
                     errno ? strerror(errno) : "libmicrohttpd failed");
        goto fail;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
    s->port = di ? di->port : s->cfg.port;
    *out = s;
    return TP_OK;
nomem:
    rc = tp_fail(TP_ERR_NOMEM, "out of memory");
fail:
    tp_server_stop(s);
    return rc;
}

int tp_server_port(const tp_server *s) { return s->port; }

void tp_server_stop(tp_server *s) {
    if (!s) return;
    if (s->daemon) MHD_stop_daemon(s->daemon); // no new requests; open ones are closed
    jobs_close(s->jobs);                        // running jobs finish, queued ones stay Queued
    tp_score_table_free(s->table);
    tp_free(s->scores_path), tp_free(s->db_path), tp_free(s->results_dir);
    tp_free(s->cfg.listen), tp_free(s->cfg.data_root), tp_free(s->cfg.scores), tp_free(s->cfg.job_db);
    for (size_t i = 0; i < s->cfg.n_tokens; i++) tp_free(s->cfg.tokens[i]);
    tp_free(s->cfg.tokens);
    pthread_mutex_destroy(&s->mu);
    tp_free(s);
}

/* serve.h: the HTTP job service behind `touchpoint serve` (issue #6 §6): libmicrohttpd, a routes
 * table, a worker pool running lookalike extension jobs, and a SQLite job store so finished jobs
 * survive a restart. The API is described in docs/serve.md and docs/openapi.yaml. */
#ifndef TOUCHPOINT_SERVE_H
#define TOUCHPOINT_SERVE_H

#include "touchpoint/core.h"

#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tp_serve_config {
    char *listen;          /* IPv4 or IPv6 literal (default "127.0.0.1") */
    int port;              /* default 8080; 0 = any free port (see tp_server_port) */
    char *data_root;       /* every file the service touches is under here (default ".") */
    char *scores;          /* score table, relative to data_root (default "scores") */
    char *job_db;          /* SQLite job store, relative to data_root (default "jobs.sqlite") */
    int clusters;          /* default k for jobs (20) */
    int top_n;             /* default top-N (10) */
    double extension_pct;  /* default extension percentage (100) */
    int workers;           /* jobs run at once (default 1) */
    int job_threads;       /* threads per job (0 = tp_threads_default()) */
    int http_threads;      /* connection threads (default 2) */
    char **tokens;         /* accepted bearer tokens; none = no authentication */
    size_t n_tokens;
    size_t max_body_bytes; /* larger request bodies get 413 (default 16 MiB) */
} tp_serve_config;

TP_API void tp_serve_config_default(tp_serve_config *c); /* strings NULL = the defaults above */
/* Read YAML (libyaml). Unknown keys, wrong types and out-of-range values are TP_ERR_FORMAT naming
 * the file and line; data_root is taken relative to the config's folder; scores and job_db must
 * be relative paths without ".." components. Free with tp_serve_config_free. */
TP_API tp_status tp_serve_config_load(const char *path, tp_serve_config **out);
TP_API void tp_serve_config_free(tp_serve_config *c);

typedef struct tp_server tp_server;
/* Load the score table, open the job store (jobs left Queued or Running by an earlier process are
 * marked Failed), start the workers and the HTTP listener. The config is copied. */
TP_API tp_status tp_server_start(const tp_serve_config *c, tp_server **out);
TP_API int tp_server_port(const tp_server *s); /* the bound port */
/* Stop accepting connections, let running jobs finish, close the store, free. NULL is fine. */
TP_API void tp_server_stop(tp_server *s);

#ifdef __cplusplus
}
#endif
#endif

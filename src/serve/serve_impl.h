/* serve_impl.h: what the service's files share: the server object, a request and its reply,
 * the routes table (routes.c), the job store and worker pool (jobs.c) and the metrics (http.c). */
#ifndef TP_SERVE_IMPL_H
#define TP_SERVE_IMPL_H

#include "touchpoint/audience.h"
#include "touchpoint/serve.h"

#include <pthread.h>

// ---- a request and its reply ----

typedef struct request {
    const char *method, *url;
    char *body;             // NUL-terminated copy of the upload
    size_t len, cap;
    char *content_type;     // copy of the Content-Type header (may be NULL)
    struct MHD_Connection *conn;
} request;

typedef struct reply {
    int code;
    char *body;             // owned (tp_malloc); NULL = empty
    size_t len;
    const char *ctype;      // static string
    int fd;                 // >= 0: send this file instead of body (closed by MHD)
    size_t fd_size;
    const char *filename;   // Content-Disposition attachment name (static or server-owned)
} reply;

// Reply with a JSON object (text built by jansson, takes the json_t reference).
struct json_t;
void reply_json(reply *rp, int code, struct json_t *obj);
void reply_error(reply *rp, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

// ---- routes (routes.c) ----

typedef void (*route_fn)(tp_server *s, const request *rq, const char *tail, reply *rp);
typedef struct route {
    const char *method;
    const char *path;   // exact path, or a prefix when prefix != 0 (tail = the rest)
    int prefix;
    const char *label;  // for metrics, e.g. "/lookalike/status/{id}"
    int open;           // 1: no token needed
    route_fn fn;
} route;
extern const route serve_routes[];
extern const int serve_n_routes;

// ---- jobs (jobs.c) ----

typedef struct job_store job_store;
tp_status jobs_open(tp_server *s, const char *db_path, job_store **out);
void jobs_close(job_store *js); // stops workers after their current job
// Queue a job; takes the seeds (array and strings). *id receives 33 bytes (hex + NUL).
tp_status jobs_submit(job_store *js, char **seeds, size_t n_seeds, const tp_audience_opts *o,
                      char id[33]);
// Look a job up: 1 found (status, error, selected filled), 0 not found, -1 store error.
int jobs_get(job_store *js, const char *id, char status[16], char **error, int64_t *selected,
             int64_t *seeds_unknown);
// Counts by state for /metrics: queued, running, finished, failed.
tp_status jobs_counts(job_store *js, int64_t counts[4]);
bool job_id_valid(const char *id);
char *jobs_result_path(const tp_server *s, const char *id); // tp_malloc'd

// ---- the server ----

#define SERVE_MAX_ROUTES 16
#define SERVE_MAX_CODES 16
#define SERVE_N_BUCKETS 12
struct tp_server {
    tp_serve_config cfg;     // owned copy
    char *scores_path, *db_path, *results_dir;
    tp_score_table *table;   // read-only, shared by the jobs
    job_store *jobs;
    struct MHD_Daemon *daemon;
    int port;
    // metrics: requests by (route, code), latency histogram by route
    pthread_mutex_t mu;
    int codes[SERVE_MAX_ROUTES + 1][SERVE_MAX_CODES];
    uint64_t code_count[SERVE_MAX_ROUTES + 1][SERVE_MAX_CODES];
    uint64_t bucket[SERVE_MAX_ROUTES + 1][SERVE_N_BUCKETS + 1];
    double lat_sum[SERVE_MAX_ROUTES + 1];
    uint64_t lat_count[SERVE_MAX_ROUTES + 1];
    double started;
};
extern const double serve_buckets[SERVE_N_BUCKETS];
// Prometheus text of the metrics (tp_malloc'd).
char *serve_metrics_text(tp_server *s);

#endif

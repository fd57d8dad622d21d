/* jobs.c: the lookalike job queue, its worker pool and the SQLite job store (issue #6 §6).
 * A job is Queued -> Running -> Finished | Failed; its row survives a restart, its result is a CSV
 * file under DATA_ROOT/results/<id>.csv written atomically. Jobs a previous process left Queued or
 * Running are marked Failed at start ("interrupted by a restart"): their seeds are not stored. */
#include "serve_impl.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

typedef struct job {
    char id[33];
    char **seeds;
    size_t n_seeds;
    tp_audience_opts opts;
    struct job *next;
} job;

struct job_store {
    tp_server *srv;
    sqlite3 *db;
    pthread_mutex_t db_mu; // one connection, used by HTTP threads and workers
    pthread_mutex_t q_mu;
    pthread_cond_t q_cv;
    job *head, *tail;
    bool stopping;
    pthread_t *threads;
    int n_threads;
};

bool job_id_valid(const char *id) {
    size_t n = 0;
    for (; id[n]; n++)
        if (!((id[n] >= '0' && id[n] <= '9') || (id[n] >= 'a' && id[n] <= 'f')) || n >= 32) return false;
    return n == 32;
}

char *jobs_result_path(const tp_server *s, const char *id) {
    size_t n = strlen(s->results_dir) + 48;
    char *p = tp_malloc(n);
    if (p) snprintf(p, n, "%s/%s.csv", s->results_dir, id);
    return p;
}

static void job_free(job *j) {
    if (!j) return;
    tp_audience_seeds_free(j->seeds, j->n_seeds);
    tp_free(j);
}

// Run one statement with optional text/int bindings: "t" text, "i" int64, "r" double, "n" null.
static tp_status db_exec(job_store *js, const char *sql, const char *types, ...) {
    va_list ap;
    va_start(ap, types);
    sqlite3_stmt *st = NULL;
    tp_status rc = TP_OK;
    pthread_mutex_lock(&js->db_mu);
    if (sqlite3_prepare_v2(js->db, sql, -1, &st, NULL) != SQLITE_OK) {
        rc = tp_fail(TP_ERR_INTERNAL, "job store: %s", sqlite3_errmsg(js->db));
        goto done;
    }
    for (int i = 0; types && types[i]; i++) {
        switch (types[i]) {
        case 't': sqlite3_bind_text(st, i + 1, va_arg(ap, const char *), -1, SQLITE_TRANSIENT); break;
        case 'i': sqlite3_bind_int64(st, i + 1, va_arg(ap, int64_t)); break;
        case 'r': sqlite3_bind_double(st, i + 1, va_arg(ap, double)); break;
        default: sqlite3_bind_null(st, i + 1); break;
        }
    }
    int r;
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
    }
    if (r != SQLITE_DONE) rc = tp_fail(TP_ERR_INTERNAL, "job store: %s", sqlite3_errmsg(js->db));
done:
    sqlite3_finalize(st);
    pthread_mutex_unlock(&js->db_mu);
    va_end(ap);
    return rc;
}

static void run_job(job_store *js, job *j) {
    tp_server *s = js->srv;
    db_exec(js, "UPDATE jobs SET status='Running', started_at=?2 WHERE id=?1", "ti", j->id,
            (int64_t)time(NULL));
    tp_audience *a = NULL;
    tp_audience_stats st;
    char *path = jobs_result_path(s, j->id);
    tp_status rc = path ? TP_OK : tp_fail(TP_ERR_NOMEM, "out of memory");
    if (rc == TP_OK)
        rc = tp_audience_extend(s->table, (const char *const *)j->seeds, j->n_seeds, &j->opts, &a, &st);
    if (rc == TP_OK) rc = tp_audience_write(a, s->table, path);
    if (rc == TP_OK) {
        db_exec(js, "UPDATE jobs SET status='Finished', finished_at=?2, selected=?3, seeds_matched=?4,"
                " seeds_unknown=?5 WHERE id=?1", "tiiii", j->id, (int64_t)time(NULL),
                (int64_t)a->n, st.seeds_matched, st.seeds_unknown);
        tp_log(TP_LOG_INFO, "job %s finished: %zu users", j->id, a->n);
    } else {
        db_exec(js, "UPDATE jobs SET status='Failed', finished_at=?2, error=?3 WHERE id=?1", "tit",
                j->id, (int64_t)time(NULL), tp_last_error());
        tp_log(TP_LOG_WARN, "job %s failed: %s", j->id, tp_last_error());
    }
    tp_audience_free(a);
    tp_free(path);
}

static void *worker(void *arg) {
    job_store *js = arg;
    for (;;) {
        pthread_mutex_lock(&js->q_mu);
        while (!js->head && !js->stopping) pthread_cond_wait(&js->q_cv, &js->q_mu);
        if (js->stopping) { // queued jobs stay Queued and are marked Failed at the next start
            pthread_mutex_unlock(&js->q_mu);
            return NULL;
        }
        job *j = js->head;
        js->head = j->next;
        if (!js->head) js->tail = NULL;
        pthread_mutex_unlock(&js->q_mu);
        run_job(js, j);
        job_free(j);
    }
}

tp_status jobs_open(tp_server *s, const char *db_path, job_store **out) {
    job_store *js = tp_calloc(1, sizeof *js);
    if (!js) return tp_fail(TP_ERR_NOMEM, "out of memory");
    js->srv = s;
    pthread_mutex_init(&js->db_mu, NULL);
    pthread_mutex_init(&js->q_mu, NULL);
    pthread_cond_init(&js->q_cv, NULL);
    tp_status rc = TP_OK;
    if (sqlite3_open_v2(db_path, &js->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                        SQLITE_OPEN_FULLMUTEX, NULL) != SQLITE_OK) {
        rc = tp_fail(TP_ERR_IO, "cannot open job store '%s': %s", db_path,
                     js->db ? sqlite3_errmsg(js->db) : "out of memory");
        goto fail;
    }
    sqlite3_busy_timeout(js->db, 5000);
    char *err = NULL;
    if (sqlite3_exec(js->db,
                     "PRAGMA journal_mode=WAL;"
                     "CREATE TABLE IF NOT EXISTS jobs(id TEXT PRIMARY KEY, status TEXT NOT NULL,"
                     " created_at INTEGER, started_at INTEGER, finished_at INTEGER,"
                     " n_seeds INTEGER, params TEXT, selected INTEGER, seeds_matched INTEGER,"
                     " seeds_unknown INTEGER, error TEXT);"
                     "UPDATE jobs SET status='Failed', error='interrupted by a server restart'"
                     " WHERE status IN ('Queued','Running');",
                     NULL, NULL, &err) != SQLITE_OK) {
        rc = tp_fail(TP_ERR_IO, "job store '%s': %s", db_path, err ? err : "error");
        sqlite3_free(err);
        goto fail;
    }
    int n = s->cfg.workers > 0 ? s->cfg.workers : 1;
    js->threads = tp_calloc((size_t)n, sizeof *js->threads);
    if (!js->threads) {
        rc = tp_fail(TP_ERR_NOMEM, "out of memory");
        goto fail;
    }
    for (; js->n_threads < n; js->n_threads++) {
        if (pthread_create(&js->threads[js->n_threads], NULL, worker, js) != 0) {
            rc = tp_fail(TP_ERR_INTERNAL, "cannot start worker threads");
            goto fail;
        }
    }
    *out = js;
    return TP_OK;
fail:
    jobs_close(js);
    return rc;
}

void jobs_close(job_store *js) {
    if (!js) return;
    pthread_mutex_lock(&js->q_mu);
    js->stopping = true;
    pthread_cond_broadcast(&js->q_cv);
    pthread_mutex_unlock(&js->q_mu);
    for (int i = 0; i < js->n_threads; i++) pthread_join(js->threads[i], NULL);
    while (js->head) {
        job *j = js->head;
        js->head = j->next;
        job_free(j);
    }
    tp_free(js->threads);
    if (js->db) sqlite3_close(js->db);
    pthread_mutex_destroy(&js->db_mu);
    pthread_mutex_destroy(&js->q_mu);
    pthread_cond_destroy(&js->q_cv);
    tp_free(js);
}

tp_status jobs_submit(job_store *js, char **seeds, size_t n_seeds, const tp_audience_opts *o,
                      char id[33]) {
    unsigned char r[16];
    size_t got = 0;
    while (got < sizeof r) {
        ssize_t k = getrandom(r + got, sizeof r - got, 0);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) {
            tp_audience_seeds_free(seeds, n_seeds);
            return tp_fail(TP_ERR_INTERNAL, "getrandom: %s", strerror(errno));
        }
        got += (size_t)k;
    }
    for (int i = 0; i < 16; i++) snprintf(id + 2 * i, 3, "%02x", r[i]);
    job *j = tp_calloc(1, sizeof *j);
    if (!j) {
        tp_audience_seeds_free(seeds, n_seeds);
        return tp_fail(TP_ERR_NOMEM, "out of memory");
    }
    memcpy(j->id, id, 33);
    j->seeds = seeds, j->n_seeds = n_seeds, j->opts = *o;
    char params[256];
    snprintf(params, sizeof params,
             "{\"k\": %d, \"top-n\": %d, \"m\": %lld, \"extension-pct\": %g, \"no-cluster\": %s}",
             o->k, o->top_n, (long long)o->m, o->extension_pct, o->no_cluster ? "true" : "false");
    tp_status rc = db_exec(js, "INSERT INTO jobs(id, status, created_at, n_seeds, params) "
                           "VALUES(?1, 'Queued', ?2, ?3, ?4)", "tiit", id, (int64_t)time(NULL),
                           (int64_t)n_seeds, params);
    if (rc != TP_OK) {
        job_free(j);
        return rc;
    }
    pthread_mutex_lock(&js->q_mu);
    if (js->tail) js->tail->next = j;
    else js->head = j;
    js->tail = j;
    pthread_cond_signal(&js->q_cv);
    pthread_mutex_unlock(&js->q_mu);
    return TP_OK;
}

int jobs_get(job_store *js, const char *id, char status[16], char **error, int64_t *selected,
             int64_t *seeds_unknown) {
    sqlite3_stmt *st = NULL;
    int found = -1;
    *error = NULL;
    pthread_mutex_lock(&js->db_mu);
    if (sqlite3_prepare_v2(js->db, "SELECT status, error, selected, seeds_unknown FROM jobs "
                           "WHERE id=?1", -1, &st, NULL) != SQLITE_OK)
        goto done;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
    int r = sqlite3_step(st);
    if (r == SQLITE_DONE) {
        found = 0;
    } else if (r == SQLITE_ROW) {
        found = 1;
        snprintf(status, 16, "%s", (const char *)sqlite3_column_text(st, 0));
        const unsigned char *e = sqlite3_column_text(st, 1);
        if (e) *error = tp_strdup((const char *)e);
        *selected = sqlite3_column_int64(st, 2);
        *seeds_unknown = sqlite3_column_int64(st, 3);
    }
done:
    if (found < 0) tp_fail(TP_ERR_INTERNAL, "job store: %s", sqlite3_errmsg(js->db));
    sqlite3_finalize(st);
    pthread_mutex_unlock(&js->db_mu);
    return found;
}

tp_status jobs_counts(job_store *js, int64_t counts[4]) {
    static const char *names[4] = {"Queued", "Running", "Finished", "Failed"};
    sqlite3_stmt *st = NULL;
    tp_status rc = TP_OK;
    memset(counts, 0, 4 * sizeof *counts);
    pthread_mutex_lock(&js->db_mu);
    if (sqlite3_prepare_v2(js->db, "SELECT status, count(*) FROM jobs GROUP BY status", -1, &st,
                           NULL) != SQLITE_OK) {
        rc = tp_fail(TP_ERR_INTERNAL, "job store: %s", sqlite3_errmsg(js->db));
        goto done;
    }
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(st, 0);
        for (int i = 0; i < 4; i++)
            if (name && strcmp(name, names[i]) == 0) counts[i] = sqlite3_column_int64(st, 1);
    }
done:
    sqlite3_finalize(st);
    pthread_mutex_unlock(&js->db_mu);
    return rc;
}

/* threads.c: the worker count and tp_parallel_for over plain pthreads. Chunks are fixed by n and
 * the thread count alone, chunk 0 runs on the calling thread, and a failing chunk's message is
 * carried back to the caller's tp_last_error(). docs/architecture.md says why not OpenMP. */
#include "touchpoint/core.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_THREADS 1024

static _Atomic int default_override; /* 0 = TP_THREADS or the CPU count */

int tp_threads_default(void) {
    int n = atomic_load(&default_override);
    if (n > 0) return n;
    const char *env = getenv("TP_THREADS");
    if (env && *env) {
        char *end;
        errno = 0;
        long v = strtol(env, &end, 10);
        if (errno == 0 && *end == 0 && v > 0) return v > MAX_THREADS ? MAX_THREADS : (int)v;
    }
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    if (cpus < 1) return 1;
    return cpus > MAX_THREADS ? MAX_THREADS : (int)cpus;
}

// n <= 0 goes back to TP_THREADS / the CPU count.
void tp_threads_set_default(int n) {
    atomic_store(&default_override, n > 0 ? (n > MAX_THREADS ? MAX_THREADS : n) : 0);
}

typedef struct task {
    tp_range_fn fn;
    void *ctx;
    size_t lo, hi;
    int tid;
    int started; /* a thread runs this chunk (else the caller ran it) */
    pthread_t thread;
    tp_status rc;
    char msg[1024]; /* tp_last_error() of the worker when rc != TP_OK */
} task;

static void run_task(task *t) {
    t->rc = t->fn(t->ctx, t->lo, t->hi, t->tid);
    if (t->rc != TP_OK) snprintf(t->msg, sizeof t->msg, "%s", tp_last_error());
}

static void *thread_main(void *arg) {
    run_task(arg);
    return NULL;
}

tp_status tp_parallel_for(size_t n, int n_threads, tp_range_fn fn, void *ctx) {
    if (n == 0) return TP_OK;
    size_t nt = (size_t)(n_threads > 0 ? n_threads : tp_threads_default());
    if (nt > MAX_THREADS) nt = MAX_THREADS;
    if (nt > n) nt = n; // no empty chunks
    if (nt == 1) return fn(ctx, 0, n, 0);

    task *tasks = tp_calloc(nt, sizeof *tasks);
    if (!tasks) return tp_fail(TP_ERR_NOMEM, "out of memory starting %zu threads", nt);
    size_t q = n / nt, r = n % nt; // chunk i = [i q + min(i, r), ...): the first r chunks get one more
    for (size_t i = 0; i < nt; i++) {
        tasks[i].fn = fn;
        tasks[i].ctx = ctx;
        tasks[i].lo = i * q + (i < r ? i : r);
        tasks[i].hi = tasks[i].lo + q + (i < r);
        tasks[i].tid = (int)i;
    }
    for (size_t i = 1; i < nt; i++)
        tasks[i].started = pthread_create(&tasks[i].thread, NULL, thread_main, &tasks[i]) == 0;
    run_task(&tasks[0]);
    for (size_t i = 1; i < nt; i++) {
        if (tasks[i].started)
            pthread_join(tasks[i].thread, NULL);
        else
            run_task(&tasks[i]); // could not start a thread: same chunk, same result, just slower
    }
    tp_status rc = TP_OK;
    for (size_t i = 0; i < nt && rc == TP_OK; i++) {
        if (tasks[i].rc != TP_OK) rc = tp_fail(tasks[i].rc, "%s", tasks[i].msg);
    }
    tp_free(tasks);
    return rc;
}

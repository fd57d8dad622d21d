/* log.c: the library's log calls. Messages are formatted here and handed to a sink installed by
 * the front-end (stderr for the CLI, a job log for the server); without a sink nothing is logged,
 * so the library itself never prints. Sink calls are serialised so lines never interleave. */
#include "touchpoint/core.h"

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

static pthread_mutex_t sink_lock = PTHREAD_MUTEX_INITIALIZER;
static tp_log_fn sink_fn;
static void *sink_ud;
static _Atomic int sink_set;
static _Atomic int min_level = TP_LOG_INFO;

void tp_log_set_sink(tp_log_fn fn, void *ud) {
    pthread_mutex_lock(&sink_lock);
    sink_fn = fn;
    sink_ud = ud;
    atomic_store(&sink_set, fn != NULL);
    pthread_mutex_unlock(&sink_lock);
}

void tp_log_set_level(tp_log_level level) { atomic_store(&min_level, (int)level); }

tp_log_level tp_log_get_level(void) { return (tp_log_level)atomic_load(&min_level); }

// The sink runs under sink_lock: it must not call tp_log itself.
void tp_log(tp_log_level level, const char *fmt, ...) {
    if (level >= TP_LOG_OFF || (int)level < atomic_load(&min_level) || !atomic_load(&sink_set))
        return;
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if ((size_t)n >= sizeof msg) memcpy(msg + sizeof msg - 4, "...", 4); // mark truncation
    pthread_mutex_lock(&sink_lock);
    if (sink_fn) sink_fn(level, msg, sink_ud);
    pthread_mutex_unlock(&sink_lock);
}

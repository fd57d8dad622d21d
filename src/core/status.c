/* status.c: status strings, the thread-local last-error message, assertions, and the
 * allocation wrappers (with failure injection for error-path tests). */
#include "touchpoint/core.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

static _Thread_local char last_error[1024];

const char *tp_status_str(tp_status s) {
    switch (s) {
    case TP_OK: return "ok";
    case TP_ERR_NOMEM: return "out of memory";
    case TP_ERR_IO: return "I/O error";
    case TP_ERR_FORMAT: return "format error";
    case TP_ERR_ARG: return "invalid argument";
    case TP_ERR_SHAPE: return "shape mismatch";
    case TP_ERR_UNSUPPORTED: return "unsupported";
    case TP_ERR_NOTFOUND: return "not found";
    case TP_ERR_INTERNAL: return "internal error";
    }
    return "unknown status";
}

const char *tp_last_error(void) { return last_error; }
void tp_clear_error(void) { last_error[0] = 0; }

tp_status tp_fail(tp_status code, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error, sizeof last_error, fmt, ap);
    va_end(ap);
    return code;
}

tp_status tp_fail_context(tp_status code, const char *fmt, ...) {
    char old[sizeof last_error];
    memcpy(old, last_error, sizeof old);
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(last_error, sizeof last_error, fmt, ap);
    va_end(ap);
    if (n >= 0 && (size_t)n + 2 < sizeof last_error && old[0]) {
        /* Append ": <old>", cut to fit (truncation is intended: the newest context comes first). */
        size_t at = (size_t)n, room = sizeof last_error - at - 1, len = strlen(old);
        memcpy(last_error + at, ": ", 2);
        at += 2;
        room -= 2;
        if (len > room) len = room;
        memcpy(last_error + at, old, len);
        last_error[at + len] = 0;
    }
    return code;
}

void tp_assert_fail(const char *file, int line, const char *expr) {
    fprintf(stderr, "touchpoint: assertion failed at %s:%d: %s\n", file, line, expr);
    abort();
}

// ---- allocation ----

static _Atomic long fail_after;

void tp_alloc_fail_after(long n) { fail_after = n; }

static int should_fail(void) {
    if (fail_after <= 0) return 0;
    return --fail_after == 0;
}

void *tp_malloc(size_t n) { return should_fail() ? NULL : malloc(n ? n : 1); }
void *tp_calloc(size_t n, size_t size) { return should_fail() ? NULL : calloc(n ? n : 1, size ? size : 1); }
void *tp_realloc(void *p, size_t n) { return should_fail() ? NULL : realloc(p, n ? n : 1); }
void tp_free(void *p) { free(p); }
char *tp_strdup(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = tp_malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

tp_status tp_grow(void **buf, size_t *cap, size_t need, size_t elem) {
    if (need <= *cap) return TP_OK;
    size_t c = *cap ? *cap : 16;
    while (c < need) {
        if (c > SIZE_MAX / 2 / elem) return tp_fail(TP_ERR_NOMEM, "buffer of %zu x %zu bytes is too large", need, elem);
        c *= 2;
    }
    void *p = tp_realloc(*buf, c * elem);
    if (!p) return tp_fail(TP_ERR_NOMEM, "out of memory growing a buffer to %zu bytes", c * elem);
    *buf = p;
    *cap = c;
    return TP_OK;
}

double tp_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

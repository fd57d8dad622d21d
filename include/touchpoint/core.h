/* core.h: status codes and errors, logging, progress, arenas, RNG, hashing, radix sort, threads.
 * Every other module of libtouchpoint builds on these. The library never prints and never exits:
 * it returns a tp_status and leaves a message in tp_last_error(); front-ends decide what to show. */
#ifndef TOUCHPOINT_CORE_H
#define TOUCHPOINT_CORE_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define TP_API __attribute__((visibility("default")))

#ifdef __cplusplus
extern "C" {
#endif

// ---- status and errors ----

typedef enum tp_status {
    TP_OK = 0,
    TP_ERR_NOMEM,    /* allocation failed */
    TP_ERR_IO,       /* open/read/write/rename failed */
    TP_ERR_FORMAT,   /* input is malformed (corrupt file, bad CSV field, bad config) */
    TP_ERR_ARG,      /* caller passed an invalid argument */
    TP_ERR_SHAPE,    /* sizes or schemas do not agree */
    TP_ERR_UNSUPPORTED, /* valid input we refuse by design (nested column, encrypted file) */
    TP_ERR_NOTFOUND, /* a named column, file or key does not exist */
    TP_ERR_INTERNAL, /* a third-party library failed */
} tp_status;

TP_API const char *tp_status_str(tp_status s); /* static string, e.g. "format error" */

/* The message of the last failure on this thread; valid until the next failing tp_ call.
 * Never NULL (empty string when nothing failed). */
TP_API const char *tp_last_error(void);

/* Record a message for tp_last_error() and return code. printf-style. */
TP_API tp_status tp_fail(tp_status code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Prefix the current message with context: "reading 'x.parquet': <old message>". Returns code. */
TP_API tp_status tp_fail_context(tp_status code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

TP_API void tp_clear_error(void);

/* Bugs, not bad input: abort with file and line. */
#define TP_ASSERT(c)                                                                 \
    do {                                                                             \
        if (!(c)) tp_assert_fail(__FILE__, __LINE__, #c);                            \
    } while (0)
TP_API void tp_assert_fail(const char *file, int line, const char *expr) __attribute__((noreturn));

// ---- memory ----

/* malloc/calloc/realloc that return NULL on failure like libc; kept as functions so
 * allocation failures can be injected in tests (tp_alloc_fail_after). */
TP_API void *tp_malloc(size_t n);
TP_API void *tp_calloc(size_t n, size_t size);
TP_API void *tp_realloc(void *p, size_t n);
TP_API void tp_free(void *p);
TP_API char *tp_strdup(const char *s);
/* Make the n-th allocation from now fail (0 disables). For tests of error paths. */
TP_API void tp_alloc_fail_after(long n);

/* Grow *buf (of *cap elements of size elem) to hold at least need elements, doubling. */
TP_API tp_status tp_grow(void **buf, size_t *cap, size_t need, size_t elem);

/* Arena: bump allocator for many small objects freed together. */
typedef struct tp_arena tp_arena;
TP_API tp_status tp_arena_new(size_t block_size, tp_arena **out); /* block_size 0 = 1 MiB */
TP_API void *tp_arena_alloc(tp_arena *a, size_t n);               /* 16-byte aligned, NULL on OOM */
TP_API char *tp_arena_strndup(tp_arena *a, const char *s, size_t n);
TP_API void tp_arena_reset(tp_arena *a); /* keeps the first block */
TP_API size_t tp_arena_used(const tp_arena *a);
TP_API void tp_arena_free(tp_arena *a);

// ---- logging and progress (the front-end chooses where they go) ----

typedef enum tp_log_level { TP_LOG_DEBUG, TP_LOG_INFO, TP_LOG_WARN, TP_LOG_ERROR, TP_LOG_OFF } tp_log_level;
typedef void (*tp_log_fn)(tp_log_level level, const char *msg, void *ud);
/* Install a sink; without one (the default) the library logs nothing. */
TP_API void tp_log_set_sink(tp_log_fn fn, void *ud);
TP_API void tp_log_set_level(tp_log_level level);
TP_API tp_log_level tp_log_get_level(void);
TP_API void tp_log(tp_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Progress of long work. The library calls tp_progress_* on its own; where it goes is set by
 * tp_progress_set_output(): NULL (default) silences it; a TTY gets a redrawn bar with rate and ETA;
 * anything else gets a plain line every few seconds. */
typedef struct tp_progress tp_progress;
TP_API void tp_progress_set_output(FILE *fp);
/* total 0 = unknown; unit e.g. "rows". Returns NULL when progress is silenced (all calls accept NULL). */
TP_API tp_progress *tp_progress_begin(const char *what, uint64_t total, const char *unit);
TP_API void tp_progress_add(tp_progress *p, uint64_t n); /* thread-safe */
TP_API void tp_progress_end(tp_progress *p);

/* Monotonic seconds, for timing. */
TP_API double tp_now(void);

// ---- random numbers (xoshiro256**, seeded through splitmix64) ----

typedef struct tp_rng { uint64_t s[4]; } tp_rng;
TP_API void tp_rng_seed(tp_rng *r, uint64_t seed);
/* An independent stream: same (seed, stream) gives the same sequence on any thread count. */
TP_API void tp_rng_seed_stream(tp_rng *r, uint64_t seed, uint64_t stream);
TP_API uint64_t tp_rng_u64(tp_rng *r);
TP_API double tp_rng_uniform(tp_rng *r);            /* [0, 1) */
TP_API uint64_t tp_rng_below(tp_rng *r, uint64_t n); /* [0, n), unbiased; n > 0 */
TP_API double tp_rng_normal(tp_rng *r);             /* standard normal */
TP_API double tp_rng_exponential(tp_rng *r, double rate);
TP_API uint32_t tp_rng_poisson(tp_rng *r, double mean);
TP_API void tp_rng_shuffle_i64(tp_rng *r, int64_t *a, size_t n);

// ---- hashing ----

TP_API uint64_t tp_hash_bytes(const void *p, size_t n, uint64_t seed);
static inline uint64_t tp_hash_u64(uint64_t x) { /* splitmix64 finaliser: a bijection */
    x ^= x >> 30; x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27; x *= 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

/* Open-addressing map int64 -> int64 (for id lookups). */
typedef struct tp_i64map tp_i64map;
TP_API tp_status tp_i64map_new(size_t expected, tp_i64map **out);
TP_API void tp_i64map_free(tp_i64map *m);
/* Insert key if absent with value *val; otherwise set *val to the stored value. *inserted says which. */
TP_API tp_status tp_i64map_get_or_put(tp_i64map *m, int64_t key, int64_t *val, int *inserted);
TP_API int tp_i64map_get(const tp_i64map *m, int64_t key, int64_t *val); /* 1 found, 0 not */
TP_API size_t tp_i64map_size(const tp_i64map *m);

// ---- sorting ----

/* Stable LSD radix sort of n records by (k1, k2) ascending, as signed 64-bit integers.
 * perm (n entries, OUT) receives the sorted order as indices into the input; ties keep
 * input order. Skips byte passes where all keys agree. O(n) extra memory. */
TP_API tp_status tp_radix_sort_pairs(const int64_t *k1, const int64_t *k2, size_t n, uint32_t *perm);
/* Same for one key, n < 2^32. */
TP_API tp_status tp_radix_sort_i64(const int64_t *k, size_t n, uint32_t *perm);

// ---- threads (pthreads; see docs/architecture.md for why not OpenMP) ----

/* Default worker count: TP_THREADS env var, else the number of online CPUs. */
TP_API int tp_threads_default(void);
TP_API void tp_threads_set_default(int n);
/* Run fn(ctx, lo, hi, tid) over [0, n) split into n_threads contiguous chunks (n_threads <= 0 means
 * the default). Chunk boundaries depend only on n and n_threads, so results reduced by chunk in
 * order are deterministic for a given thread count. Returns the first non-OK status of any chunk. */
typedef tp_status (*tp_range_fn)(void *ctx, size_t lo, size_t hi, int tid);
TP_API tp_status tp_parallel_for(size_t n, int n_threads, tp_range_fn fn, void *ctx);

#ifdef __cplusplus
}
#endif
#endif

/* audience.h: lookalike audience extension and validation (issue #6 §4-5), after Apache Blue
 * Marlin: seed users -> k-means on their score vectors -> cosine similarity of every non-seed user
 * to the centres (blocked sgemm, per-user top-N heap) -> mean of the top N -> top M users.
 * The score table (tp_score_table) and its readers live in lookalike.h. Docs: docs/lookalike.md. */
#ifndef TOUCHPOINT_AUDIENCE_H
#define TOUCHPOINT_AUDIENCE_H

#include "touchpoint/lookalike.h"

#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

// ---- k-means (src/lookalike/kmeans.c) ----

/* Lloyd's k-means on n rows of x (n x d, row-major) with k-means++ initialisation drawn from
 * tp_rng seeded with `seed`. Squared distances come from one sgemm per iteration
 * (|x|^2 - 2 x.c + |c|^2); ties go to the lowest centre index; an emptied cluster is re-seeded with
 * the point farthest from its centre. Stops when no assignment changes or after max_iter.
 * centres (k x d, OUT), assign (n, OUT, may be NULL), *inertia (sum of squared distances, may be
 * NULL). Requires 1 <= k <= n. Deterministic for a given seed. */
TP_API tp_status tp_kmeans(const float *x, size_t n, size_t d, int k, int max_iter, uint64_t seed,
                           float *centres, int32_t *assign, double *inertia, int *iterations);

// ---- similarity (src/lookalike/similarity.c) ----

typedef struct tp_similarity_opts {
    int top_n;          /* N: similarities kept per user (default 10; capped at n_centres) */
    int threads;        /* worker threads, 0 = tp_threads_default() */
    size_t block_users; /* users per sgemm block (default 2048) */
    size_t block_cols;  /* centres per sgemm block (default 1024) */
} tp_similarity_opts;
TP_API void tp_similarity_opts_default(tp_similarity_opts *o);

/* For every user u in [0, n_users) with skip == NULL or skip[u] == 0: cosine similarity of row u of
 * users (n_users x d) to every row of cols (n_cols x d), the N largest kept in a min-heap, and
 * score[u] = their mean. Skipped users get -INFINITY. Rows with zero norm have similarity 0.
 * Work is parallel over user blocks; memory is O(threads * block_users * (block_cols + N)) beyond
 * the inputs. The result does not depend on the thread count. *pairs (may be NULL) receives the
 * number of user x column similarities computed. */
TP_API tp_status tp_similarity_topn_mean(const float *users, size_t n_users, size_t d,
                                         const uint8_t *skip, const float *cols, size_t n_cols,
                                         const tp_similarity_opts *o, float *score, double *pairs);

/* Indices of the m largest scores (ties: lower index first), best first, skipping -INFINITY.
 * *n_out may be below m when fewer candidates exist. idx has m entries (OUT). */
TP_API tp_status tp_select_top_m(const float *score, size_t n, size_t m, uint32_t *idx, size_t *n_out);

// ---- extension (src/lookalike/extend.c) ----

typedef struct tp_audience_opts {
    int k;                /* clusters on the seeds (default 20; capped at the matched seeds) */
    int top_n;            /* similarities kept per user (default 10) */
    int64_t m;            /* users to select; 0 = from extension_pct */
    double extension_pct; /* M = round(pct / 100 * matched seeds) when m == 0 (default 100) */
    bool no_cluster;      /* compare to every seed (in blocks) instead of the centres */
    int kmeans_iter;      /* default 50 */
    uint64_t seed;        /* k-means++ seed (default 1) */
    int threads;          /* 0 = tp_threads_default() */
    size_t block_users;   /* 0 = default */
} tp_audience_opts;
TP_API void tp_audience_opts_default(tp_audience_opts *o);

#define TP_AUDIENCE_EXAMPLES 5
typedef struct tp_audience_stats {
    int64_t seeds_given;     /* distinct seed dids given */
    int64_t seeds_matched;   /* found in the score table */
    int64_t seeds_unknown;   /* not found */
    char unknown_examples[TP_AUDIENCE_EXAMPLES][64]; /* the first few unknown dids (truncated) */
    int k_requested, k_used;
    bool k_high;             /* fewer than 10 matched seeds per cluster: clusters are thin */
    int kmeans_iterations;
    double kmeans_inertia;
    int64_t candidates;      /* non-seed users scored */
    int64_t selected;        /* M actually selected */
    double pairs;            /* user x centre similarities computed */
    double kmeans_seconds, similarity_seconds, select_seconds;
} tp_audience_stats;

/* The extended audience: n users (indices into the score table), best first. */
typedef struct tp_audience {
    size_t n;
    uint32_t *user; /* row in the score table */
    float *score;   /* final score: mean of the user's top-N similarities */
} tp_audience;
TP_API void tp_audience_free(tp_audience *a);

/* Extend seeds (dids, duplicates ignored) over table t. Unknown dids are counted in *stats (not an
 * error) unless none match (TP_ERR_NOTFOUND). Deterministic for given opts (ties by user index).
 * *out is owned by the caller; *stats may be NULL. */
TP_API tp_status tp_audience_extend(const tp_score_table *t, const char *const *seeds,
                                    size_t n_seeds, const tp_audience_opts *o, tp_audience **out,
                                    tp_audience_stats *stats);

/* Write (did string, score double) atomically; .parquet or .csv/.tsv by extension. */
TP_API tp_status tp_audience_write(const tp_audience *a, const tp_score_table *t, const char *path);

/* Seed lists: one did per line, the first comma-separated field; a first line "did" is a header;
 * blank lines skipped; surrounding quotes and whitespace trimmed. The array and strings are owned
 * by the caller (free with tp_audience_seeds_free). */
TP_API tp_status tp_audience_parse_seeds(const char *buf, size_t len, char ***out, size_t *n);
TP_API tp_status tp_audience_read_seeds(const char *path, char ***out, size_t *n);
TP_API void tp_audience_seeds_free(char **seeds, size_t n);

// ---- validation (src/lookalike/validate.c) ----

typedef struct tp_audience_group_stats {
    int64_t users;        /* group size */
    int64_t impressions;  /* shows of the keyword to the group in the test log (-1: log has none) */
    int64_t clicks;       /* clicks on the keyword */
    int64_t clickers;     /* users with at least one click */
    double ctr;           /* clicks / impressions (NAN when unknown or 0 impressions) */
} tp_audience_group_stats;

typedef struct tp_validate_result {
    tp_audience_group_stats audience, random;
    double lift_clicks;   /* audience clicks / random clicks (NAN if random has none) */
    double lift_ctr;      /* audience CTR / random CTR */
    int64_t universe;     /* non-seed users the random sample was drawn from */
    int64_t clickers_total; /* non-seed users in the universe who clicked the keyword */
    double precision_at_m, recall_at_m;
} tp_validate_result;

/* Validate an audience against a later test log: a table with did and keyword (string) columns
 * and an optional is_click (bool or 0/1 integer; without it every row is a click and CTR is
 * unknown). The keyword's shows and clicks are counted per user. The random group is an equally
 * sized sample (tp_rng with `seed`, partial Fisher-Yates) of the universe minus the seeds; the
 * universe is the given dids, or every distinct did of the log when universe is NULL (a sample of
 * active users, which makes the baseline stronger and the lift smaller). */
TP_API tp_status tp_audience_validate(const char *const *audience, size_t n_audience,
                                      const char *const *universe, size_t n_universe,
                                      const char *const *seeds, size_t n_seeds,
                                      const tp_frame *log, const char *keyword, uint64_t seed,
                                      tp_validate_result *out);
/* The result as a JSON object (jansson text, caller frees with tp_free). */
TP_API char *tp_validate_result_json(const tp_validate_result *r, const char *keyword);

#ifdef __cplusplus
}
#endif
#endif

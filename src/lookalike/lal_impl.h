/* lal_impl.h: what the lookalike files share inside the library (not public): the aggregated
 * train-ready rows handed from prepare.c to trainready.c, and the history loader used by training
 * and scoring. */
#ifndef TP_LAL_IMPL_H
#define TP_LAL_IMPL_H

#include "touchpoint/lookalike.h"

/* One (user, interval, keyword) aggregate. user indexes the clean persona (sorted by did). */
typedef struct lal_agg {
    int32_t user;
    int32_t keyword;
    int64_t interval;  /* interval_starting_time, unix seconds */
    int64_t shows, clicks;
} lal_agg;

typedef struct lal_aggs {
    lal_agg *a;
    size_t n, cap;
} lal_aggs;

/* Write trainready.parquet and users.parquet under c->out_dir from the aggregates (any order),
 * the clean persona (did, gender, age; row i = user i) and the keyword names (index order). */
tp_status lal_write_trainready(const tp_lookalike_config *c, lal_aggs *aggs, const tp_frame *persona,
                               char *const *keywords, int n_keywords, tp_lookalike_prep_stats *st);

/* Train-ready data in memory, grouped by user: for user u, rows row_off[u]..row_off[u+1]-1 of
 * the arrays, sorted by interval descending (newest first), then keyword. */
typedef struct lal_data {
    int n_users, n_keywords;
    char **dids;          /* n_users */
    char **keywords;      /* n_keywords, index order */
    size_t n_rows;
    int64_t *row_off;     /* n_users + 1 */
    int64_t *interval;    /* n_rows */
    int32_t *keyword;
    int32_t *shows, *clicks;
} lal_data;
tp_status lal_data_load(const char *out_dir, lal_data **out);
void lal_data_free(lal_data *d);

/* The history of user u before interval t (strictly earlier): keywords clicked in the last
 * h_intervals distinct earlier intervals with activity, newest first, at most max_len; returns
 * the length written to hist. */
int lal_history(const lal_data *d, int u, int64_t t, int h_intervals, int max_len, int32_t *hist);

/* History slots T and intervals N the model was trained with. */
void lal_din_history_shape(const tp_din *m, int *T, int *h_intervals);

#endif

/* events_sim.h: synthetic e-commerce event logs with a known purchase model
 * (`touchpoint simulate --kind events`, issue #5 §7). Users have latent interests per product
 * group; views and carts follow interest, purchases follow recent views/carts in the group and the
 * interest through a known logistic model, so a good propensity model measurably beats a baseline.
 * Model and equations: docs/propensity_features.md. */
#ifndef TOUCHPOINT_EVENTS_SIM_H
#define TOUCHPOINT_EVENTS_SIM_H

#include "touchpoint/io.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tp_evsim_opts {
    int64_t users;       /* N > 0; uids 1..N */
    int groups;          /* G, 1..1000, default 10 */
    int items_per_group; /* default 50 */
    int days;            /* D >= 1, default 120 */
    uint64_t seed;       /* default 1 */
    int64_t start_time;  /* unix seconds of day 0 (midnight UTC), default 1704067200 (2024-01-01) */
    double activity;     /* mean view sessions per user per day, default 0.15 */
    double purchase_rate;/* scales the purchase intercept; default 1 gives ~1% of user x group
                            pairs purchasing in a 30-day horizon */
    int threads;         /* 0 = default; output does not depend on it */
    size_t batch_rows;   /* rows per batch, default 1,000,000 */
} tp_evsim_opts;
TP_API void tp_evsim_opts_default(tp_evsim_opts *o);

typedef struct tp_evsim_result {
    int64_t users, events, views, carts, purchases;
    double purchase_pair_rate_30d; /* share of user x group pairs with a purchase in the last 30 days */
} tp_evsim_result;

/* Stream events (uid int64, timestamp int64, event_type string, item string, group string,
 * amount double) sorted by (uid, timestamp) to out_path (.parquet/.csv, atomic). items_path (may be
 * NULL): the items table (item, group, price). truth_path (may be NULL): the purchase model as JSON
 * (coefficients, group intercepts, the realised positive rate). res may be NULL. */
TP_API tp_status tp_evsim_run(const tp_evsim_opts *o, const char *out_path, const char *items_path,
                              const char *truth_path, tp_evsim_result *res);

#ifdef __cplusplus
}
#endif
#endif

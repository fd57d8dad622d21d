/* simulate.h: synthetic impression logs with a known truth (`touchpoint simulate`).
 * Users, campaigns with true incremental effects, and the traps that fool naive attribution
 * (retargeting, a late-journey closer, a frequent useless campaign). The truth is each campaign's
 * share of incremental conversions, by counterfactual re-simulation on the same random streams.
 * The model and its equations are in docs/simulate.md. */
#ifndef TOUCHPOINT_SIMULATE_H
#define TOUCHPOINT_SIMULATE_H

#include "touchpoint/io.h"

#ifdef __cplusplus
extern "C" {
#endif

#define TP_SIM_MAX_CAMPAIGNS 1000

typedef struct tp_sim_opts {
    int64_t users;         /* N > 0; uids are 1..N */
    int campaigns;         /* K, TP_SIM_MIN_CAMPAIGNS..TP_SIM_MAX_CAMPAIGNS, default 10 */
    int days;              /* D >= 1, default 30 */
    uint64_t seed;         /* default 1 */
    int64_t start_time;    /* unix seconds of day 0, default 1704067200 (2024-01-01 00:00 UTC) */
    double trap_strength;  /* 0 = no traps, 1 = default, up to 3 */
    bool conversion_id;    /* add conversion_id (Criteo layout: see docs/simulate.md) */
    bool cost;             /* add cost (double, currency units per impression) */
    bool user_features;    /* add age_band, region, past_purchases, visit_frequency */
    bool truth;            /* also run the K+1 counterfactual worlds (needed for truth.json) */
    bool conversion_events;/* every conversion as its own row (null campaign) and a last
                              observation row per user, so journeys without a touch appear */
    bool observable_targeting; /* campaigns target on the observable visit rate, not the latent z */
    bool visit_events;     /* every site visit as its own row (null campaign; conversion true
                              where it converted): the decision moments, for per-visit units */
    /* NULL, or K flags: campaigns removed from the world (no impressions, no effect). Everything
     * else is drawn from the same streams, so this is the counterfactual the truth uses. */
    const uint8_t *disabled;
    int threads;           /* 0 = tp_threads_default() */
    size_t batch_rows;     /* target rows per frame handed to the callback, default 1,000,000 */
} tp_sim_opts;
#define TP_SIM_MIN_CAMPAIGNS 5

TP_API void tp_sim_opts_default(tp_sim_opts *o);

typedef struct tp_sim_campaign {
    char name[32];               /* "c00_search", ... */
    const char *role;            /* static: "positive", "retargeting", "late", "useless" */
    double effect;               /* beta_c, the maximal lift on the conversion log-odds */
    int64_t impressions;         /* shown in the simulated world (0 when disabled) */
    int64_t incremental;         /* conversions(all) - conversions(without c); with opts.truth */
    double true_share;           /* max(incremental,0) / sum of positive incrementals */
} tp_sim_campaign;

typedef struct tp_sim_result {
    int64_t users;
    int64_t impressions;         /* rows produced */
    int64_t conversions;         /* every conversion in the world, touched or not */
    int64_t observed_conversions;/* conversions whose journey has at least one impression */
    int64_t baseline_conversions;/* with every campaign removed; with opts.truth, else -1 */
    int64_t incremental;         /* conversions - baseline_conversions; with opts.truth, else -1 */
    uint64_t seed;
    int n_campaigns;
    tp_sim_campaign *campaigns;  /* n_campaigns entries, in campaign order */
} tp_sim_result;
TP_API void tp_sim_result_free(tp_sim_result *r);

/* Name and role of campaign c of K without simulating (name needs 32 bytes). */
TP_API tp_status tp_sim_campaign_info(int K, int c, char *name, const char **role);

/* Receives each batch of rows in (uid, timestamp) order; the frame is borrowed for the call.
 * Returning non-OK stops the simulation with that status. */
typedef tp_status (*tp_sim_batch_fn)(void *ud, const tp_frame *batch);

/* Simulate; batches go to fn (may be NULL to only count). Columns: uid int64, timestamp int64,
 * campaign string, conversion bool, then the optional ones. The same options (seed, threads or
 * not) give the same rows and the same batches. *out (may be NULL) receives the counts and,
 * with opts.truth, the counterfactual truth; free it with tp_sim_result_free.
 * Errors: TP_ERR_ARG for bad options, NOMEM, or whatever fn returns. */
TP_API tp_status tp_simulate(const tp_sim_opts *opts, tp_sim_batch_fn fn, void *ud,
                             tp_sim_result **out);

/* Simulate into out_path (.parquet, or .csv/.tsv, streamed in batches and written atomically)
 * and, when truth_path is not NULL, write the truth JSON there (forces opts.truth).
 * out_path may be NULL to only produce the truth. *out as for tp_simulate (may be NULL). */
TP_API tp_status tp_simulate_impressions(const tp_sim_opts *opts, const char *out_path,
                                         const char *truth_path, tp_sim_result **out);

/* Write the truth JSON (shared format, see docs/simulate.md) atomically. r must come from a
 * run with opts.truth. */
TP_API tp_status tp_sim_truth_write(const tp_sim_result *r, const char *path);

#ifdef __cplusplus
}
#endif
#endif

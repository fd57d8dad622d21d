/* attribution.h: the classic attribution methods over a journey set (last/first touch, linear,
 * time decay, position based, Markov removal effect, Shapley value), the campaign credit table
 * they produce (DIR/<method>.parquet), and the evaluation of a credit table against the
 * simulator's ground truth (`touchpoint evaluate`). See docs/attribution.md for the formulas. */
#ifndef TOUCHPOINT_ATTRIBUTION_H
#define TOUCHPOINT_ATTRIBUTION_H

#include "touchpoint/journeys.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum tp_attr_method {
    TP_ATTR_LAST,       /* all credit to the last touch */
    TP_ATTR_FIRST,      /* all credit to the first touch */
    TP_ATTR_LINEAR,     /* equal credit to every touch */
    TP_ATTR_TIME_DECAY, /* weights 2^(-seconds_to_end / half_life), normalised per journey */
    TP_ATTR_POSITION,   /* position based ("U-shaped"): first/last shares, the rest to the middle */
    TP_ATTR_MARKOV,     /* removal effect in an order-k Markov chain, solved exactly */
    TP_ATTR_SHAPLEY,    /* Shapley value of the conversion-rate game over campaign sets */
    TP_ATTR_N_METHODS
} tp_attr_method;

/* "last", "first", "linear", "time-decay", "position", "markov", "shapley". */
TP_API const char *tp_attr_method_name(tp_attr_method m);
/* Parse one method name (as above). TP_ERR_ARG names the bad word. */
TP_API tp_status tp_attr_method_parse(const char *s, tp_attr_method *out);
/* Parse a comma-separated list of names, or "all", into a bit set (bit m = method m). */
TP_API tp_status tp_attr_methods_parse(const char *list, unsigned *mask);

/* The Shapley characteristic function over campaign sets. Let C(T) / N(T) be the converting / all
 * journeys whose campaign set is exactly T, and CR(T) = C(T) / N(T).
 *   SET_RATES: v(S) = sum of CR(T) over the observed sets T that are subsets of S (the default).
 *          A sum of unanimity games, so the exact Shapley value has a closed form for any number
 *          of campaigns: phi_i = sum over T containing i of CR(T) / |T|. Monotone, so credits are
 *          never negative.
 *   RATE:  v(S) = C(S) / N(S) pooled over all journeys whose set is a subset of S. Not monotone:
 *          campaigns seen mostly in non-converting journeys get negative credit, and a campaign
 *          aimed at likely converters can get more than all of it (docs/attribution.md).
 *   COUNT: v(S) = C(S), the conversions (its Shapley value splits each conversion equally among
 *          the distinct campaigns of its journey). */
typedef enum tp_shapley_game { TP_SHAPLEY_RATE, TP_SHAPLEY_COUNT, TP_SHAPLEY_SET_RATES } tp_shapley_game;

typedef struct tp_attr_opts {
    double half_life_days;  /* time decay; > 0; default 7 */
    double position_first;  /* position based: share of the first touch; default 0.4 */
    double position_last;   /* share of the last touch; default 0.4; the middle gets the rest */
    int markov_order;       /* k in 1..4; default 1 */
    size_t markov_dense_max; /* direct (dense LU) solve up to this many transient states, else
                                Gauss-Seidel; default 512; 0 = always iterative */
    int shapley_max_exact;  /* exact Shapley up to this many campaigns (<= 25); default 15 */
    size_t shapley_samples; /* permutations when sampling; default 1000 */
    tp_shapley_game shapley_game; /* default TP_SHAPLEY_SET_RATES */
    uint64_t seed;          /* sampling seed; default 1 */
    int n_threads;          /* <= 0: tp_threads_default() */
    bool per_touch;         /* also fill tp_credit.touch_credit */
} tp_attr_opts;

TP_API void tp_attr_opts_default(tp_attr_opts *o);

/* The result of one method: one row per campaign of the journey set's mapper (same order:
 * sorted by name). Conversions are counted over converting journeys with at least one kept
 * touch; shares sum to 1 (Shapley shares may be negative: see docs). */
typedef struct tp_credit {
    tp_attr_method method;
    size_t n_campaigns;
    char **campaigns;               /* owned copies of the names */
    double *attributed_conversions; /* per campaign; sums to total_conversions */
    double *share;                  /* attributed_conversions / total_conversions */
    double *attributed_value;       /* credit x journey value; NULL when journeys have no value */
    double *std_error;              /* standard error of attributed_conversions when estimated by
                                       sampling (Shapley above shapley_max_exact); else NULL */
    double *weight;                 /* the method's raw score per campaign before normalisation:
                                       Markov removal effect, Shapley value; NULL for heuristics */
    double total_conversions;       /* converting journeys with >= 1 touch */
    double total_value;             /* sum of their values (0 without values) */
    double base_rate;               /* Markov: P(conversion) of the chain; Shapley: v(all) */
    size_t n_states;                /* Markov: transient states of the chain */
    size_t n_samples;               /* Shapley: permutations sampled (0 = exact) */
    size_t n_touches;               /* length of touch_credit (the journey set's n_touches) */
    double *touch_credit;           /* per touch (CSR order of the journey set), NULL unless
                                       opts.per_touch; sums to 1 per converting journey */
} tp_credit;

/* Run method m over the journeys. opts NULL = defaults. The caller frees *out with
 * tp_credit_free. Errors: TP_ERR_ARG (bad options), TP_ERR_UNSUPPORTED (Markov state key does
 * not fit: too many campaigns for the order), TP_ERR_INTERNAL (iterative solve did not
 * converge), TP_ERR_NOMEM. */
TP_API tp_status tp_attribute(const tp_journeys *j, tp_attr_method m, const tp_attr_opts *opts,
                              tp_credit **out);
TP_API void tp_credit_free(tp_credit *c);

/* The credit table as a frame: campaign_nm, attributed_conversions, share, and attributed_value
 * / std_error when present; rows sorted by campaign_nm. */
TP_API tp_status tp_credit_to_frame(const tp_credit *c, tp_frame **out);
/* Per-touch credit as a frame: journey_id, index (int32, position in the kept journey),
 * campaign_nm, credit; one row per touch of a converting journey. TP_ERR_ARG without
 * touch_credit. */
TP_API tp_status tp_touch_credit_to_frame(const tp_credit *c, const tp_journeys *j,
                                          tp_frame **out);
/* Write DIR/<method>.parquet (and DIR/<method>_touches.parquet when touch_credit is set),
 * atomically; creates DIR. */
TP_API tp_status tp_credit_write(const tp_credit *c, const tp_journeys *j, const char *dir);

// ---- evaluation against ground truth ----

/* The simulator's truth file (see BRIEF: campaigns[].name / true_share). */
typedef struct tp_truth {
    size_t n;
    char **names;
    double *true_share;
    double *incremental; /* incremental_conversions per campaign */
} tp_truth;
TP_API tp_status tp_truth_read(const char *path, tp_truth **out);
TP_API void tp_truth_free(tp_truth *t);

typedef struct tp_eval {
    char *method;         /* from the credit file name: DIR/markov.parquet -> "markov" */
    size_t n_campaigns;   /* size of the union of campaigns */
    double tvd;           /* 1/2 sum |share - true_share| over the union (missing = 0) */
    double spearman;      /* rank correlation over the union (average ranks for ties); NaN when
                             either side is constant */
    char *worst_campaign; /* largest |share - true_share| (first by name on ties) */
    double worst_share;
    double worst_true_share;
} tp_eval;

/* Compare shares (names[i], share[i], n) with truth. Names need not be sorted; duplicates are
 * refused (TP_ERR_FORMAT). Fills *out (free its strings with tp_eval_clear). */
TP_API tp_status tp_eval_shares(const char *method, const char *const *names, const double *share,
                                size_t n, const tp_truth *truth, tp_eval *out);
/* Read a credit table (any format tp_table_read accepts; columns campaign_nm and share) and
 * compare it with truth. */
TP_API tp_status tp_eval_credit_file(const char *path, const tp_truth *truth, tp_eval *out);
TP_API void tp_eval_clear(tp_eval *e);
/* {"truth": path, "methods": [{"method", "campaigns", "tvd", "spearman", "worst_campaign",
 *  "worst_share", "worst_true_share"}, ...]} written atomically; NaN is written as null. */
TP_API tp_status tp_eval_write_json(const tp_eval *evals, size_t n, const char *truth_path,
                                    const char *path);

/* Spearman rank correlation of x and y (n values; average ranks for ties). NaN when n < 2 or a
 * side is constant. */
TP_API double tp_spearman(const double *x, const double *y, size_t n);

#ifdef __cplusplus
}
#endif
#endif

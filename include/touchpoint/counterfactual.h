/* counterfactual.h: model-based counterfactual attribution (issue 7). A trained conversion model
 * (dnamta_train.h) is asked what it predicts for each journey with campaigns' touches removed:
 * removal effects (model-removal) and Shapley values over the journey's campaigns against the
 * no-touch baseline given the control variables alone (model-shapley). Summed over journeys the
 * credit is the model's expected incremental conversions per campaign. docs/counterfactual.md. */
#ifndef TOUCHPOINT_COUNTERFACTUAL_H
#define TOUCHPOINT_COUNTERFACTUAL_H

#include "touchpoint/dnamta_train.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum tp_cf_method {
    TP_CF_REMOVAL, /* "model-removal" */
    TP_CF_SHAPLEY  /* "model-shapley" */
} tp_cf_method;
TP_API const char *tp_cf_method_name(tp_cf_method m);
/* "model-removal" or "model-shapley"; TP_ERR_ARG otherwise. */
TP_API tp_status tp_cf_method_parse(const char *s, tp_cf_method *out);

typedef struct tp_cf_opts {
    int max_exact;      /* Shapley: exact over all 2^m subsets up to m distinct campaigns (default 8,
                           at most 16); permutation sampling above */
    size_t samples;     /* Shapley: permutations per sampled journey (default 64, >= 2) */
    uint64_t seed;      /* permutation seed (default 1); journey i uses stream journey_id */
    int threads;        /* forward-pass threads, <= 0: tp_threads_default() */
} tp_cf_opts;
TP_API void tp_cf_opts_default(tp_cf_opts *o);

/* Rows one journey needs in the variant batch: removal m + 2 (full, empty, one per campaign);
 * exact Shapley 2^m; sampled Shapley samples * (m - 1) + 2. tp_cf_rows_needed gives the largest
 * over journeys of at most T touches: the model's max_batch must be at least that. */
TP_API size_t tp_cf_rows_needed(tp_cf_method method, const tp_cf_opts *o, size_t T);

typedef struct tp_cf_result {
    tp_cf_method method;
    size_t n_campaigns;          /* the journeys' campaigns (j->campaigns, sorted by name) */
    double *credit;              /* (n_campaigns) expected incremental conversions */
    double *share;               /* credit / sum of credit (may be negative for Shapley) */
    double *std_error;           /* (n_campaigns) sampling standard error of credit (Shapley; 0 when
                                    every journey was exact); NULL for removal */
    double *observed;            /* (n_campaigns) converting journeys whose kept touches include it */
    double *touch_credit;        /* (j->n_touches) per touch, CSR order; 0 outside the model window */
    double expected_conversions; /* sum over journeys of P(full journey) */
    double baseline_conversions; /* sum of P(no touch | controls) */
    double observed_conversions; /* converting journeys with >= 1 kept touch */
    size_t n_journeys, n_exact, n_sampled; /* journeys with touches; Shapley exact / sampled */
    size_t n_rows;               /* variant rows sent through the model */
    size_t n_forward;            /* forward passes (batches) */
    double seconds;              /* attribution time (model passes and credit) */
} tp_cf_result;
TP_API void tp_cf_result_free(tp_cf_result *r);

/* Credit of method over the journeys j, whose model inputs d were built from j with the model's
 * vocabulary and controls (tp_dnamta_data_build; row i = journey i, same kept last T touches).
 * Removal credit of campaign c in a journey is P(full) - P(without c) (signed; split equally
 * over c's touches); Shapley credit is exact or sampled (std_error). Variants (the journey with campaigns' touches removed and the rest re-left-aligned, same ages
 * and controls) of as many journeys as fit go through the model in one tp_dnamta_forward of up
 * to m->max_batch rows, in buffers allocated once. TP_ERR_ARG when max_batch is below
 * tp_cf_rows_needed, TP_ERR_SHAPE when d does not match the model. */
TP_API tp_status tp_cf_attribute(tp_dnamta_model *m, const tp_journeys *j, const tp_dnamta_data *d,
                                 tp_cf_method method, const tp_cf_opts *o, tp_cf_result **out);

/* DIR/<method>.parquet in the shared credit format (campaign_nm, attributed_conversions, share,
 * std_error for Shapley, observed_conversions) and, with touches, DIR/<method>_touches.parquet
 * (journey_id, index, campaign_nm, credit), atomically; creates DIR. */
TP_API tp_status tp_cf_write(const tp_cf_result *r, const tp_journeys *j, const char *dir, bool touches);

/* The whole command: load the model (file) with a big enough batch, read the journeys (file, or
 * folder: all.parquet or train+val+test), attribute, write DIR. *out and *journeys (each may be
 * NULL) receive the result and the journeys. */
TP_API tp_status tp_cf_attribute_job(const char *model_path, const char *journeys_path, tp_cf_method method,
                                     const tp_cf_opts *o, const char *dir, bool touches, tp_cf_result **out,
                                     tp_journeys **journeys);

/* The HTML report's experiment section (<section id="counterfactual-experiment">) from the
 * summary.tsv of bench/counterfactual_experiment.sh (trap, method, runs, mean_tvd,
 * mean_spearman, mean_retarget_share); *html is tp_malloc'd. TP_ERR_IO / TP_ERR_FORMAT. */
TP_API tp_status tp_cf_experiment_section(const char *summary_tsv, char **html);

#ifdef __cplusplus
}
#endif
#endif

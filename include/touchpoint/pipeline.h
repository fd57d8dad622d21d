/* pipeline.h: the attribution jobs in order from one YAML file (`touchpoint pipeline`):
 * simulate (optional) -> journeys -> attribute (each method) -> evaluate (with a truth file) ->
 * report. Each step records its state in OUTPUT/_pipeline/state.json (status, start and end
 * times, fingerprints of its inputs and of its part of the config, its outputs), so a resumed run
 * skips the steps whose inputs and settings have not changed, and a failed step leaves the
 * outputs of earlier steps intact. The config keys are listed in docs/pipeline.md. */
#ifndef TOUCHPOINT_PIPELINE_H
#define TOUCHPOINT_PIPELINE_H

#include "touchpoint/core.h"
#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tp_pipeline_config {
    char *path;             /* the YAML file, for messages */
    char *input;            /* impressions (file or folder); with simulate: where they are written
                               (default OUTPUT/simulate/impressions.parquet) */
    char *output;           /* root folder of every step's outputs (required) */
    size_t journey_max_len; /* default 10 */
    double split[3];        /* fractions; n_split 1 = one "all" set (the default) */
    size_t n_split;
    uint64_t seed;          /* user split and Shapley sampling; default 42 */
    double lookback_days;   /* 0 = off (default) */
    char **methods;         /* names as written ("all" allowed); default: all */
    size_t n_methods;
    double half_life_days;  /* time decay; default 7 */
    int markov_order;       /* default 1 */
    bool per_touch;         /* write <method>_touches.parquet too (default true) */
    char *truth;            /* truth.json; with simulate, default OUTPUT/simulate/truth.json */
    char *title;            /* report title (optional) */
    bool simulate;          /* a simulate: block was given */
    int64_t sim_users;      /* default 10,000 */
    int sim_campaigns;      /* default 10 */
    int sim_days;           /* default 30 */
    uint64_t sim_seed;      /* default 1 */
    struct tp_pipeline_model *model; /* a model: block (attention model: train and predict steps,
                                        its credit as the method "attention"), or NULL */
} tp_pipeline_config;

/* Parse a pipeline YAML file (libyaml). Unknown keys, wrong types and YAML syntax errors are
 * TP_ERR_FORMAT naming the file, the key and the line; a missing file is TP_ERR_IO. Relative
 * paths are kept as written (relative to the working directory). */
TP_API tp_status tp_pipeline_config_read(const char *path, tp_pipeline_config **out);
/* The same from YAML text in memory (path names it in messages). */
TP_API tp_status tp_pipeline_config_parse(const char *yaml, size_t len, const char *path,
                                          tp_pipeline_config **out);
TP_API void tp_pipeline_config_free(tp_pipeline_config *c);

typedef enum tp_step_status {
    TP_STEP_PENDING,
    TP_STEP_RAN,     /* ran and finished in this run */
    TP_STEP_SKIPPED, /* resumed: finished before, inputs and config unchanged */
    TP_STEP_FAILED,
} tp_step_status;

/* Called when a step starts running (status PENDING) and when it ends (RAN, SKIPPED or FAILED;
 * a skipped step only gets the SKIPPED call), e.g. to print progress; seconds is the step's run
 * time (0 at the start). */
typedef void (*tp_pipeline_event_fn)(void *ud, const char *step, size_t i, size_t n,
                                     tp_step_status status, double seconds);

typedef struct tp_pipeline_opts {
    bool resume;                   /* skip finished steps whose fingerprints are unchanged */
    tp_pipeline_event_fn on_event; /* may be NULL */
    void *ud;
} tp_pipeline_opts;

typedef struct tp_pipeline_eval_row {
    char *method;
    double tvd, spearman;
    char *worst_campaign;
} tp_pipeline_eval_row;

typedef struct tp_pipeline_result {
    size_t n_steps;
    char **step;             /* step names in order */
    tp_step_status *status;  /* per step */
    char *state_path;        /* OUTPUT/_pipeline/state.json */
    char *report_path;       /* OUTPUT/report/report.html (NULL if the run stopped before) */
    char *evaluation_path;   /* OUTPUT/evaluation/evaluation.json, or NULL without a truth */
    size_t n_eval;           /* evaluation rows, best (lowest TVD) first */
    tp_pipeline_eval_row *eval;
    char *failed_step;       /* name of the step that failed, or NULL */
} tp_pipeline_result;

/* Run the pipeline. On a step failure the error reads "pipeline step '<name>' failed: <why>"
 * (the step's own error, with its file/column/row), the state file records it, the outputs of
 * earlier steps are left as they were, and res->failed_step names it. res may be NULL; free it
 * with tp_pipeline_result_clear. */
TP_API tp_status tp_pipeline_run(const tp_pipeline_config *c, const tp_pipeline_opts *opts,
                                 tp_pipeline_result *res);
TP_API void tp_pipeline_result_clear(tp_pipeline_result *res);

#ifdef __cplusplus
}
#endif
#endif

/* propensity.h: propensity models (issue #5 §3, §5, §6). One XGBoost binary classifier per product
 * group through XGBoost's C API (tp_gbm), trained with early stopping and a seeded hyperparameter
 * search on validation PR-AUC, splits by user hash and by time, a logistic-regression baseline,
 * test metrics; scoring of every group's production model into the profile table (long and wide
 * Parquet + a binary uid index for lookups); and the daily/weekly workflows. Features come from
 * features.h (tp_propensity_dataset); the registry is registry.h. Guide: docs/propensity.md. */
#ifndef TOUCHPOINT_PROPENSITY_H
#define TOUCHPOINT_PROPENSITY_H

#include "touchpoint/features.h"
#include "touchpoint/metrics.h"

#ifdef __cplusplus
extern "C" {
#endif

// ---- model matrix: dense float features (NaN = missing) ----

/* Rows of one group's model matrix, ready for XGBoost: X is (n, F) row-major float. */
typedef struct tp_pmatrix {
    size_t n, F;
    float *X;        /* n*F */
    uint8_t *y;      /* n labels, or NULL when the frame had no label column */
    int64_t *uid;    /* n */
    int32_t *as_of;  /* n days since 1970-01-01 (0 when the frame has no as_of column) */
    char **names;    /* F feature names */
} tp_pmatrix;

/* Build from a frame: uid (integer, required), optional as_of (date or int), label column
 * label_col (bool or 0/1 numeric; NULL = no labels) and every other numeric column as a feature
 * (strings are skipped; a column named "label" or "as_of" never is a feature). Nulls become NaN.
 * Errors: NOTFOUND (uid/label missing), FORMAT (uid not an integer, label not 0/1, naming the
 * row), NOMEM. */
TP_API tp_status tp_pmatrix_from_frame(const tp_frame *f, const char *label_col, tp_pmatrix **out);
/* Rows idx[0..n) of m (a copy). */
TP_API tp_status tp_pmatrix_take(const tp_pmatrix *m, const size_t *idx, size_t n, tp_pmatrix **out);
/* As a frame: uid, as_of (date), label (bool, when present), features (double). */
TP_API tp_status tp_pmatrix_to_frame(const tp_pmatrix *m, tp_frame **out);
TP_API void tp_pmatrix_free(tp_pmatrix *m);

// ---- gbm: XGBoost booster (objective binary:logistic, tree_method hist) ----

typedef struct tp_gbm tp_gbm;

typedef struct tp_gbm_params {
    int max_depth;           /* default 6 */
    double eta;              /* learning rate, default 0.1 */
    double min_child_weight; /* default 1 */
    double subsample;        /* default 0.8 */
    double colsample_bytree; /* default 0.8 */
    double scale_pos_weight; /* default 1 */
    double lambda;           /* L2 on leaf weights, default 1 */
    double base_score;       /* initial probability; 0 (default) = the training positive rate
                                (XGBoost 1.7 starts at 0.5, which for a 1% class wastes the first
                                rounds and lets early stopping fire on an underfit model) */
    int max_bin;             /* hist bins, default 256 */
    int max_rounds;          /* boosting rounds at most, default 500 */
    int early_stopping;      /* stop after this many rounds without a better validation aucpr
                                (0 = never); default 30 */
    int n_threads;           /* <= 0: tp_threads_default() */
    uint64_t seed;           /* XGBoost's seed (row/column sampling), default 0 */
} tp_gbm_params;
TP_API void tp_gbm_params_default(tp_gbm_params *p);

typedef struct tp_gbm_fit {
    int rounds;            /* trees kept: best iteration + 1 (all rounds without validation) */
    int rounds_run;        /* rounds trained before stopping */
    double valid_aucpr;    /* XGBoost's validation aucpr at the best iteration (NaN without) */
    double seconds;        /* training time, DMatrix construction included */
    double cpu_seconds;    /* process CPU time over the same span (all threads) */
    double base_score;     /* the initial probability used */
} tp_gbm_fit;

/* Train on (Xt, yt) (nt rows) with early stopping on (Xv, yv) (nv rows; Xv NULL = no validation:
 * max_rounds rounds). Rows are row-major, F features, NaN = missing. The returned model keeps
 * only the best iteration's trees. Errors: ARG, INTERNAL (XGBoost's message), NOMEM. */
TP_API tp_status tp_gbm_train(const tp_gbm_params *p, const float *Xt, const uint8_t *yt, size_t nt,
                              const float *Xv, const uint8_t *yv, size_t nv, size_t F,
                              tp_gbm_fit *fit /* OUT, may be NULL */, tp_gbm **out);
/* Probabilities for n rows of F features (F must equal the model's). n_threads <= 0: default. */
TP_API tp_status tp_gbm_predict(const tp_gbm *m, const float *X, size_t n, size_t F, int n_threads,
                                double *out);
/* XGBoost's own format, chosen by extension: .json or .ubj. Written atomically. */
TP_API tp_status tp_gbm_save(const tp_gbm *m, const char *path);
TP_API tp_status tp_gbm_load(const char *path, tp_gbm **out);
TP_API size_t tp_gbm_n_features(const tp_gbm *m);
TP_API int tp_gbm_n_rounds(const tp_gbm *m);
TP_API void tp_gbm_free(tp_gbm *m);

// ---- logistic-regression baseline ----

typedef struct tp_plogreg tp_plogreg;
/* L2-regularised logistic regression on standardised features (train means/stds; NaN -> the
 * mean), minimising sum(log loss) + 0.5/C * |w|^2 (intercept not penalised) with L-BFGS, as
 * scikit-learn's LogisticRegression(C=C). Deterministic for a given thread count. */
TP_API tp_status tp_plogreg_fit(const float *X, const uint8_t *y, size_t n, size_t F, double C,
                               int max_iter, int n_threads, tp_plogreg **out);
TP_API tp_status tp_plogreg_predict(const tp_plogreg *m, const float *X, size_t n, size_t F,
                                   double *out);
/* Coefficients in the original (unstandardised) feature scale: w[0..F) and the intercept. */
TP_API void tp_plogreg_coef(const tp_plogreg *m, double *w /* OUT F */, double *b /* OUT */);
TP_API int tp_plogreg_iterations(const tp_plogreg *m);
TP_API void tp_plogreg_free(tp_plogreg *m);

// ---- training one group ----

typedef enum tp_psearch_kind { TP_PSEARCH_RANDOM, TP_PSEARCH_TPE } tp_psearch_kind;

typedef struct tp_ptrain_opts {
    int trials;              /* hyperparameter trials (>= 1); trial 0 is the defaults */
    tp_psearch_kind search;   /* random or TPE */
    uint64_t seed;           /* search, splits, XGBoost seeds */
    int n_threads;           /* <= 0: default */
    double valid_frac, test_frac; /* user split by hash of uid: default 0.15 / 0.15 (valid_frac
                                     only with a single as-of date; see tp_ptrain_fit) */
    tp_gbm_params base;      /* max_rounds, early_stopping, max_bin, lambda, threads */
    bool baseline;           /* fit the logistic baseline (default true) */
} tp_ptrain_opts;
TP_API void tp_ptrain_opts_default(tp_ptrain_opts *o);

typedef struct tp_ptrain_trial {
    tp_gbm_params params;
    int rounds;
    double valid_pr_auc; /* average precision on the validation rows (NaN if undefined) */
    double seconds, cpu_seconds; /* tp_gbm_train's */
} tp_ptrain_trial;

#define TP_PTRAIN_BOOTSTRAP 1000
typedef struct tp_ptrain_result {
    tp_gbm *model;             /* best trial's model (owned) */
    tp_ptrain_trial best;
    tp_ptrain_trial *trials;   /* n_trials */
    size_t n_trials;
    tp_metrics_summary test;   /* the model on the held-out test rows */
    bool has_baseline;
    tp_metrics_summary baseline; /* the logistic baseline on the same rows */
    tp_ap_compare vs_baseline;   /* test PR-AUC of the model minus the baseline's, with a paired
                                    bootstrap 95% interval (TP_PTRAIN_BOOTSTRAP replicates) */
    size_t n_train, n_valid, n_test, pos_train, pos_valid, pos_test;
    int32_t *train_dates, valid_date, test_date; /* as-of days of each role (train: n_train_dates) */
    size_t n_train_dates;
    tp_pmatrix *holdout;       /* the test rows (owned), for champion/challenger comparisons */
    double seconds_search, seconds_total;
} tp_ptrain_result;
TP_API void tp_ptrain_result_free(tp_ptrain_result *r);

/* Split m by time and by user: with k >= 3 distinct as-of dates, the last is the test date, the
 * one before the validation date, the rest train; with 2, train on the first and validate/test on
 * the second; with 1, users only. A hash of (uid, seed) puts test_frac of the users in test: they
 * are used only at the test date, never in training. The other users train at the training dates
 * and validate at the validation date; with a single date, valid_frac of the users validate
 * instead. Then: search (trials of tp_gbm_train with early stopping, scored by validation PR-AUC),
 * the baseline, test metrics. Errors: ARG (no labels, an empty split, no positives in training),
 * INTERNAL, NOMEM. */
TP_API tp_status tp_ptrain_fit(const tp_pmatrix *m, const tp_ptrain_opts *o, tp_ptrain_result **out);

/* What a trained model carries with it (the sidecar JSON beside the XGBoost file). */
typedef struct tp_ptrain_info {
    const char *group;
    const char *defs_hash;  /* may be NULL (ready-made table) */
    const char *source;     /* events path or table path, for lineage */
    int horizon_days;       /* 0 for a table */
} tp_ptrain_info;

/* Write DIR/model.json (XGBoost), DIR/meta.json (sidecar: group, features, params, metrics of the
 * model and the baseline, trials, training window, definitions hash, rows) and
 * DIR/holdout.parquet (the test rows), each atomically. DIR is created. */
TP_API tp_status tp_ptrain_save(const tp_ptrain_result *r, const tp_pmatrix *m,
                                const tp_ptrain_info *info, const char *dir);

// ---- a saved model: booster + sidecar ----

typedef struct tp_pmodel tp_pmodel;
/* Load DIR/model.json (or .ubj) and DIR/meta.json. */
TP_API tp_status tp_pmodel_load(const char *dir, tp_pmodel **out);
TP_API void tp_pmodel_free(tp_pmodel *m);
TP_API const char *tp_pmodel_group(const tp_pmodel *m);
TP_API const char *tp_pmodel_defs_hash(const tp_pmodel *m); /* "" when none */
TP_API size_t tp_pmodel_n_features(const tp_pmodel *m);
TP_API const char *tp_pmodel_feature(const tp_pmodel *m, size_t i);
/* The sidecar as JSON text (borrowed, lives with m). */
TP_API const char *tp_pmodel_meta_json(const tp_pmodel *m);
/* Probabilities for the rows of x, its features matched BY NAME to the model's (a missing one is
 * TP_ERR_NOTFOUND naming it). */
TP_API tp_status tp_pmodel_predict(const tp_pmodel *m, const tp_pmatrix *x, int n_threads,
                                   double *out);
/* Metrics of the model on a labelled matrix (e.g. a holdout.parquet). */
TP_API tp_status tp_pmodel_evaluate(const tp_pmodel *m, const tp_pmatrix *x, int n_threads,
                                    tp_metrics_summary *out);

// ---- profile table ----

typedef struct tp_profile_model {
    const char *group;
    const char *model_dir;  /* a tp_pmodel folder */
    int version;            /* registry version, written into the long table */
} tp_profile_model;

typedef struct tp_profile_opts {
    int n_threads;
    int keep;               /* snapshots kept in PROFILE_DIR/snapshots (default 3) */
    /* Test hook: called after the long table is written into the temporary snapshot and before
     * anything is committed (a crash here must leave the previous profile intact); a non-zero
     * return fails the run (TP_ERR_IO, "injected failure"). */
    int (*after_long)(void *ud);
    void *ud;
} tp_profile_opts;
TP_API void tp_profile_opts_default(tp_profile_opts *o);

typedef struct tp_profile_result {
    size_t users, groups;
    char path[4096];        /* the committed snapshot folder */
    double seconds;
} tp_profile_result;

/* Score every user of the feature set at as_of with each model and commit a new snapshot
 * PROFILE_DIR/snapshots/<as_of>.<seq>/ holding profile_long.parquet (uid, group, score,
 * model_version, as_of), profile_wide.parquet (uid, one score column per group) and index.bin
 * (uids sorted + scores, for tp_profile_lookup). The snapshot is built under a temporary name,
 * fsynced and renamed; then PROFILE_DIR/LATEST (JSON) and the PROFILE_DIR/current symlink are
 * replaced atomically, so readers see the previous profile or the new one, never a mix.
 * Models whose definitions hash differs from defs' are refused (TP_ERR_ARG). */
TP_API tp_status tp_profile_score(tp_propensity *p, const tp_feature_defs *defs, int32_t as_of,
                                  const tp_profile_model *models, size_t n_models,
                                  const char *profile_dir, const tp_profile_opts *o,
                                  tp_profile_result *res);

/* A read-only handle on the latest profile (PROFILE_DIR/LATEST), index mapped in memory. Lookups
 * are a binary search, safe from many threads. */
typedef struct tp_profile tp_profile;
TP_API tp_status tp_profile_open(const char *profile_dir, tp_profile **out);
TP_API void tp_profile_close(tp_profile *p);
TP_API size_t tp_profile_n_groups(const tp_profile *p);
TP_API size_t tp_profile_n_users(const tp_profile *p);
TP_API const char *tp_profile_group(const tp_profile *p, size_t g);
TP_API int tp_profile_model_version(const tp_profile *p, size_t g);
TP_API int32_t tp_profile_as_of(const tp_profile *p);
TP_API const char *tp_profile_path(const tp_profile *p); /* snapshot folder */
/* scores[g] for every group of uid (n_groups values). TP_ERR_NOTFOUND when uid is not in it. */
TP_API tp_status tp_profile_lookup(const tp_profile *p, int64_t uid, double *scores /* OUT */);

// ---- jobs: what `touchpoint propensity` and the workflows run ----

typedef struct tp_ptrain_job {
    const char *events, *items, *defs, *store; /* events mode (store may be NULL) */
    const int32_t *as_of; size_t n_as_of;
    const char *table, *label;                 /* ready-made table mode instead */
    const char *const *groups; size_t n_groups; /* NULL/0 = all groups */
    int horizon_days;                          /* 0 = the definitions' */
    tp_ptrain_opts opts;
    const char *out_dir;                       /* OUT_DIR/<group>/ per group */
    const char *registry;                      /* may be NULL: register each version there */
    const char *run_key;                       /* registry idempotence key (may be NULL) */
} tp_ptrain_job;

typedef struct tp_ptrain_job_group {
    char group[256];
    int version;                  /* registry version (0 without a registry) */
    double pr_auc, baseline_pr_auc, roc_auc, valid_pr_auc;
    double gain_lo, gain_hi;      /* 95% interval of pr_auc - baseline_pr_auc (NaN without one) */
    size_t n_train, n_test, pos_test;
    double seconds;
    char dir[4096];
} tp_ptrain_job_group;

typedef void (*tp_ptrain_job_cb)(const tp_ptrain_job_group *g, void *ud);
/* Train every group of the job (a callback after each), save, register. */
TP_API tp_status tp_ptrain_job_run(const tp_ptrain_job *job, tp_ptrain_job_cb cb, void *ud);

/* Champion/challenger evaluation: metrics of version (0 = latest) of each group's model and of
 * its current production version on the version's own holdout, recorded in the registry (the
 * version moves to staging). cb gets one line of text per group. */
TP_API tp_status tp_pevaluate_job_run(const char *registry, const char *const *groups,
                                      size_t n_groups, int version, int n_threads,
                                      void (*cb)(const char *line, void *ud), void *ud);

typedef struct tp_pscore_job {
    const char *events, *items, *defs, *store, *registry, *out_dir;
    int32_t as_of;
    int n_threads;
    tp_profile_opts profile;
} tp_pscore_job;
/* Every group with a production version in the registry -> the profile table. */
TP_API tp_status tp_pscore_job_run(const tp_pscore_job *job, tp_profile_result *res);

// ---- workflows ----

typedef struct tp_workflow_opts {
    bool resume;            /* restart the latest unfinished run at its first step not done */
    const char *as_of;      /* overrides the YAML's as_of ("YYYY-MM-DD", "today") */
    int n_threads;
    void (*log)(const char *line, void *ud); /* progress lines, may be NULL */
    void *ud;
} tp_workflow_opts;

typedef struct tp_workflow_result {
    int64_t run_id;
    int steps_run, steps_skipped;
    char failed_step[128];  /* "" when everything succeeded */
} tp_workflow_result;

/* Run a workflow YAML (docs/propensity.md): steps features, train, evaluate, promote, score, in
 * order, each recorded in the state SQLite (start, end, status, outputs JSON, error). A failed
 * step stops the run (TP_ERR_* of the step, message naming it); --resume reruns from there with
 * the same as-of date. Test hook: the environment variable TP_FAIL_STEP=<step>[:kill] makes that
 * step fail (or the process SIGKILL itself) midway, after part of its output is written. */
TP_API tp_status tp_workflow_run(const char *yaml_path, const tp_workflow_opts *o,
                                 tp_workflow_result *res);
/* The runs and steps of a workflow's state as a frame (run, as_of, step, status, started, ended,
 * error), newest run first. */
TP_API tp_status tp_workflow_status(const char *yaml_path, tp_frame **out);

#ifdef __cplusplus
}
#endif
#endif

/* dnamta_train.h: everything around the attention network of dnamta.h: journeys -> padded
 * (B,T) arrays with control variables, minibatch training with early stopping on the validation
 * split and a hyperparameter search, the versioned model file, prediction (per-touch attention
 * and conversion probability), and a bag-of-campaigns logistic-regression baseline.
 * The test split is loaded lazily and can be read exactly once (tp_dnamta_splits_test). */
#ifndef TOUCHPOINT_DNAMTA_TRAIN_H
#define TOUCHPOINT_DNAMTA_TRAIN_H

#include "touchpoint/dnamta.h"
#include "touchpoint/journeys.h"
#include "touchpoint/metrics.h"

#ifdef __cplusplus
extern "C" {
#endif

// ---- control variables: schema and train-split statistics ----

typedef struct tp_dnamta_controls {
    size_t n_numeric;
    char **numeric;        /* column names */
    double *mean, *std;    /* train-split mean and standard deviation (std 1 when constant) */
    size_t n_categorical;
    char **categorical;    /* column names */
    size_t *n_levels;      /* levels seen in train per column; code 0 = unknown/null, 1.. = levels */
    char ***levels;        /* levels[c][k], sorted by byte order (code k+1) */
} tp_dnamta_controls;
TP_API void tp_dnamta_controls_clear(tp_dnamta_controls *c);

// ---- model inputs ----

/* Journeys as dense model inputs. Rows are left-aligned: touch t of journey i (in time order) at
 * [i*T + t]; campaign -1 and age 0 from the journey's kept length on. When a journey holds more
 * than T touches, its LAST T touches are kept. */
typedef struct tp_dnamta_data {
    size_t n, T;
    int64_t *journey_id;   /* (n) */
    int32_t *len;          /* (n) touches in the (B,T) row, <= T */
    int32_t *campaign;     /* (n, T) vocabulary index, -1 = padding */
    float *age_days;       /* (n, T) seconds_to_end / 86400 */
    float *label;          /* (n) 0/1 */
    float *numeric;        /* (n, n_numeric) standardised, or NULL */
    int32_t *categorical;  /* (n, n_categorical) codes, or NULL */
    size_t n_numeric, n_categorical;
    size_t positives;
} tp_dnamta_data;
TP_API void tp_dnamta_data_free(tp_dnamta_data *d);

/* Build model inputs from journeys (j) and, for control variables, the frame they were read
 * from (one row per journey, same order; may be NULL without controls). vocab maps campaign
 * names to indices (n_vocab names; a name absent from vocab gets index unknown_index, which
 * must be < the model's n_campaigns, or -1 to fail with TP_ERR_FORMAT). */
TP_API tp_status tp_dnamta_data_build(const tp_journeys *j, const tp_frame *frame, const char *source,
                                      char *const *vocab, size_t n_vocab, int32_t unknown_index, size_t T,
                                      const tp_dnamta_controls *controls, tp_dnamta_data **out);

/* Fit the control statistics on the train frame: columns listed by name; a string/bool column
 * is categorical, a numeric column numeric. A missing column is TP_ERR_NOTFOUND naming it. */
TP_API tp_status tp_dnamta_controls_fit(const tp_frame *train, const char *source, const char *const *names,
                                        size_t n_names, tp_dnamta_controls *out);

/* Copy rows idx[0..B) into the batch buffers (campaign (B,T), age (B,T), label (B), numeric,
 * categorical) and point b at them. The buffers must hold B rows. */
TP_API void tp_dnamta_data_gather(const tp_dnamta_data *d, const uint32_t *idx, size_t B, int32_t *campaign,
                                  float *age, float *label, float *numeric, int32_t *categorical,
                                  tp_dnamta_batch *b);

/* The row order of one epoch: shuffled rows cut into batches of batch_size. With
 * positive_fraction > 0 (oversampling, the reference's method) every batch holds
 * round(positive_fraction * batch_size) positives drawn from the (reshuffled, cycled) positive
 * rows and the rest from the negatives, and the epoch has ceil(negatives / negatives per batch)
 * batches; otherwise it is a plain shuffle with ceil(n / batch_size) batches (the last shorter).
 * *idx (tp_malloc'd, *n_idx rows) and *batch_off (n_batches + 1 offsets) are owned by the caller. */
TP_API tp_status tp_dnamta_epoch_order(const tp_dnamta_data *d, size_t batch_size, double positive_fraction,
                                       uint64_t seed, uint32_t **idx, size_t *n_idx, size_t **batch_off,
                                       size_t *n_batches);

// ---- splits: train and val loaded up front, test loaded once on demand ----

typedef struct tp_dnamta_splits tp_dnamta_splits;
/* Open a journeys folder (train/val/test.parquet, or all.parquet which is then split by user hash
 * 80/10/10 with split_seed) and mapper.json (the vocabulary; else the train split's campaigns).
 * Loads train and val with the given control columns (statistics fitted on train). T = 0 takes
 * the journeys' layout width (campaign_nm_at_index_0 .. L-1). */
TP_API tp_status tp_dnamta_splits_open(const char *dir, size_t T, const char *const *controls, size_t n_controls,
                                       uint64_t split_seed, tp_dnamta_splits **out);
TP_API void tp_dnamta_splits_free(tp_dnamta_splits *s);
TP_API const tp_dnamta_data *tp_dnamta_splits_train(const tp_dnamta_splits *s); /* borrowed */
TP_API const tp_dnamta_data *tp_dnamta_splits_val(const tp_dnamta_splits *s);   /* borrowed */
/* The test split: loaded on the first call; every later call fails with TP_ERR_ARG ("the test
 * split was already used"), so a tuner cannot peek. *out is borrowed (valid while s lives). */
TP_API tp_status tp_dnamta_splits_test(tp_dnamta_splits *s, const tp_dnamta_data **out);
TP_API int tp_dnamta_splits_test_reads(const tp_dnamta_splits *s); /* 0 or 1 */
/* Vocabulary (n names + the unknown slot at index n), borrowed. */
TP_API char *const *tp_dnamta_splits_vocab(const tp_dnamta_splits *s, size_t *n);
TP_API const tp_dnamta_controls *tp_dnamta_splits_controls(const tp_dnamta_splits *s);

// ---- training ----

typedef enum tp_dnamta_imbalance { TP_IMB_OVERSAMPLE, TP_IMB_WEIGHTS, TP_IMB_NONE } tp_dnamta_imbalance;
typedef enum tp_dnamta_metric { TP_DN_METRIC_ROC, TP_DN_METRIC_PR } tp_dnamta_metric;
typedef enum tp_dnamta_search { TP_SEARCH_NONE, TP_SEARCH_RANDOM, TP_SEARCH_HALVING } tp_dnamta_search;

typedef struct tp_dnamta_hparams {
    float lr;            /* Adam learning rate (default 1e-3) */
    int batch_size;      /* default 256 */
    int embed;           /* default 20 */
    int hidden;          /* default 64 */
    float dropout;       /* default 0.1 */
} tp_dnamta_hparams;

typedef struct tp_dnamta_epoch {
    int epoch;           /* 1-based */
    double train_loss;   /* mean batch loss (on the oversampled/weighted batches) */
    double val_loss;     /* log loss on val with corrected probabilities */
    double val_roc, val_pr;
    double seconds;      /* wall time of the epoch's training part */
    double journeys_per_s; /* training rows processed / seconds */
    double cpu_seconds;  /* process CPU time (all threads) of the training part: on a shared
                            machine wall time measures the scheduler as much as the code */
} tp_dnamta_epoch;

typedef struct tp_dnamta_train_opts {
    tp_dnamta_hparams hp;
    int epochs;          /* maximum, default 20 */
    int patience;        /* epochs without validation improvement before stopping, default 3 */
    bool time_decay;
    tp_dnamta_imbalance imbalance;  /* default oversample */
    double positive_fraction;       /* oversample: positives per batch, default 0.5 */
    tp_dnamta_metric metric;        /* validation metric, default ROC-AUC */
    tp_dnamta_search search;        /* default none */
    int trials;                     /* search: configurations tried, default 8 */
    uint64_t seed;                  /* default 1 */
    int threads;                    /* <= 0: tp_threads_default() */
    bool baseline;                  /* also fit the logistic-regression baseline (l2 tuned on val),
                                       evaluate it on the same single test read, and compute its
                                       removal-effect credit over all journeys */
    /* Called after each epoch of the final training run (trial < 0) and of every search trial. */
    void (*on_epoch)(void *ud, int trial, const tp_dnamta_hparams *hp, const tp_dnamta_epoch *e);
    void *ud;
} tp_dnamta_train_opts;
TP_API void tp_dnamta_train_opts_default(tp_dnamta_train_opts *o);

/* A trained model with what prediction needs. */
typedef struct tp_dnamta_model {
    tp_dnamta *net;
    int max_batch;           /* rows per forward pass the net was made for */
    tp_dnamta_config cfg;    /* cfg.cat_cardinality points at cat_card */
    int *cat_card;
    char **vocab;            /* n_vocab campaign names; index n_vocab is the unknown slot */
    size_t n_vocab;
    tp_dnamta_controls controls;
    double logit_offset;     /* added to the network's logit: undoes the oversampling/weights prior
                                shift so probabilities estimate the real conversion rate */
    char *hparams_json;      /* training settings (JSON object text) */
    char *metrics_json;      /* test metrics + validation curve (JSON object text, deterministic) */
} tp_dnamta_model;
TP_API void tp_dnamta_model_free(tp_dnamta_model *m);

typedef struct tp_dnamta_train_result {
    tp_dnamta_hparams best;          /* chosen hyperparameters */
    int best_epoch;                  /* epoch whose parameters were kept */
    double best_val;                 /* its validation metric */
    size_t n_epochs;
    tp_dnamta_epoch *curve;          /* final run, per epoch */
    size_t n_trials;
    tp_dnamta_hparams *trial_hp;     /* search trials */
    double *trial_val;               /* their best validation metric */
    int *trial_epochs;               /* epochs each trial trained */
    tp_metrics_summary test;         /* on the test split (read once, at the end) */
    double *test_prob;               /* (n_test) corrected probabilities, for curves */
    uint8_t *test_label;
    size_t n_test;
    double seconds;
    bool has_baseline;               /* opts.baseline: */
    double baseline_l2;              /* chosen on val */
    tp_metrics_summary baseline_test;
    double *baseline_credit;         /* (n_vocab) attributed conversions per campaign */
    double *baseline_share;          /* (n_vocab) */
    size_t n_vocab;
} tp_dnamta_train_result;
TP_API void tp_dnamta_train_result_clear(tp_dnamta_train_result *r);

/* Search (optional) and train on s's train split, stop early on its val split, restore the best
 * epoch's parameters, then evaluate once on the test split. *out receives the model. */
TP_API tp_status tp_dnamta_train(tp_dnamta_splits *s, const tp_dnamta_train_opts *o, tp_dnamta_model **out,
                                 tp_dnamta_train_result *res);

/* Probabilities (n) and attention (n, T) (may be NULL) for d, in batches, without dropout. */
TP_API tp_status tp_dnamta_model_run(tp_dnamta_model *m, const tp_dnamta_data *d, int threads, double *prob,
                                     float *attention);

/* MODEL.metrics.json: hyperparameters, test metrics, per-epoch curves with timings, search
 * trials, and the test ROC and PR curves (at most 200 points each) for the report. */
TP_API tp_status tp_dnamta_train_metrics_write(const tp_dnamta_model *m, const tp_dnamta_train_result *r,
                                               const char *path);

/* The baseline's credit table dir/logreg.parquet (campaign_nm, attributed_conversions, share) when
 * r->has_baseline (TP_ERR_ARG otherwise); campaigns in the model's vocabulary order. */
TP_API tp_status tp_dnamta_baseline_write(const tp_dnamta_model *m, const tp_dnamta_train_result *r, const char *dir);

/* The whole of job 3: open journeys_dir, train, save the model to model_path and write
 * model_path.metrics.json; with o->baseline and baseline_dir, also baseline_dir/logreg.parquet.
 * res (may be NULL) receives the result. */
TP_API tp_status tp_dnamta_train_job(const char *journeys_dir, const char *model_path, const char *const *controls,
                                     size_t n_controls, const tp_dnamta_train_opts *o, const char *baseline_dir,
                                     tp_dnamta_train_result *res);
/* The whole of job 4: load the model, predict journeys (file or folder), write scores_path
 * (attention_score.parquet) and, when credit_dir is not NULL, credit_dir/attention.parquet and
 * credit_dir/attention_touches.parquet. *n_journeys (may be NULL) receives the count. */
TP_API tp_status tp_dnamta_predict_job(const char *model_path, const char *journeys, const char *scores_path,
                                       const char *credit_dir, int threads, size_t *n_journeys);

/* The model's HTML report section (<section id="model">: test metrics, settings, training curves,
 * test ROC and PR curves as inline SVG) from a MODEL.metrics.json; *html is tp_malloc'd. */
TP_API tp_status tp_dnamta_report_section(const char *metrics_path, char **html);

// ---- model file ----

#define TP_DNAMTA_FILE_VERSION 1
/* Write the model atomically: "TPDNAMTA", u32 version, u32 0, u64 header length, header JSON
 * (config, vocabulary, controls and their statistics, hyperparameters, logit offset), u64 metrics
 * length, metrics JSON, u64 parameter count, float32 parameters (little-endian), then the CRC-32
 * (zlib) of every byte before it. */
TP_API tp_status tp_dnamta_model_save(const tp_dnamta_model *m, const char *path);
/* Load; a wrong magic, another version, a truncated or corrupt (checksum) file or an inconsistent
 * header is TP_ERR_FORMAT with a message saying which. */
TP_API tp_status tp_dnamta_model_load(const char *path, int max_batch, tp_dnamta_model **out);

// ---- prediction on a journeys frame ----

/* Read journeys (a file, or a folder: all.parquet or train+val+test), run the model. *journeys,
 * *prob (n) and *attention (n, L) are owned by the caller; L = the file's layout width, attention
 * in the journey's own index positions (zero on padding and on touches before the model's last T). */
TP_API tp_status tp_dnamta_predict_path(tp_dnamta_model *m, const char *path, int threads, tp_journeys **journeys,
                                        double **prob, double **attention, size_t *L);
/* journey_id, attention_at_index_0 .. L-1 (f64), conversion_probability (f64). */
TP_API tp_status tp_dnamta_scores_frame(const tp_journeys *j, const double *prob, const double *attention, size_t L,
                                        tp_frame **out);
/* Credit in the shared format: dir/<method>_touches.parquet (journey_id, index, campaign_nm,
 * credit = attention x probability x scale) and dir/<method>.parquet (campaign totals), where
 * scale makes the total equal the converting journeys with touches. */
TP_API tp_status tp_dnamta_credit_write(const tp_journeys *j, const double *prob, const double *attention,
                                        size_t L, const char *dir, const char *method);

// ---- baseline: L2 logistic regression on bag-of-campaigns counts ----

typedef struct tp_logreg {
    size_t n_features;
    double *w;      /* n_features weights */
    double bias;
} tp_logreg;
/* Features of journey i: counts of each vocabulary campaign among its touches (d->campaign).
 * Fits by Newton's method (IRLS) on the mean log loss + l2/2 |w|^2 (bias unpenalised). */
TP_API tp_status tp_logreg_fit_bag(const tp_dnamta_data *d, size_t n_features, double l2, tp_logreg **out);
TP_API tp_status tp_logreg_predict_bag(const tp_logreg *m, const tp_dnamta_data *d, double *prob);
TP_API void tp_logreg_free(tp_logreg *m);
/* Removal-effect credit of the converting journeys of d: in each, campaign c present gets
 * max(0, p(journey) - p(journey without c's touches)), normalised to sum 1 over the journey (equal
 * split when every effect is 0). Adds into credit[0 .. n_features-1]. */
TP_API tp_status tp_logreg_removal_credit(const tp_logreg *m, const tp_dnamta_data *d, double *credit);

#ifdef __cplusplus
}
#endif
#endif

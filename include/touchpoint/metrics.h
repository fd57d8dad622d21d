/* metrics.h: binary classification metrics over (score, label) pairs, shared by the attention
 * model and the propensity models: ROC-AUC (exact, average ranks for ties), PR-AUC (average
 * precision as scikit-learn defines it), log loss, confusion counts at a threshold, the best-F1
 * threshold, a calibration table, lift and capture rate in the top k%, and the ROC/PR curves.
 * Everything is deterministic (ties broken by score only, never by memory order). */
#ifndef TOUCHPOINT_METRICS_H
#define TOUCHPOINT_METRICS_H

#include "touchpoint/core.h"
#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Inputs everywhere: score[i] (finite; probabilities where the metric needs them) and
 * label[i] (0 or 1) for i < n. A NaN/inf score or a label other than 0/1 is TP_ERR_ARG naming the
 * row. Metrics undefined for the data (ROC-AUC with one class only, PR-AUC without positives)
 * are NaN, not errors, so a tiny validation split does not stop a training run. */

/* Area under the ROC curve: (sum of the positives' average ranks - P(P+1)/2) / (P N). */
TP_API tp_status tp_metrics_roc_auc(const double *score, const uint8_t *label, size_t n, double *out);
/* Average precision: sum over distinct thresholds (descending) of (R_k - R_{k-1}) P_k, which is
 * sklearn.metrics.average_precision_score. */
TP_API tp_status tp_metrics_pr_auc(const double *score, const uint8_t *label, size_t n, double *out);
/* Mean of -[y log p + (1-y) log(1-p)], p clipped to [eps, 1-eps] with eps = 2^-52 (sklearn's
 * float64 eps). Scores must lie in [0, 1]. weight may be NULL (all 1); else a weighted mean. */
TP_API tp_status tp_metrics_log_loss(const double *prob, const uint8_t *label, const double *weight,
                                     size_t n, double *out);

typedef struct tp_confusion {
    double threshold;           /* predicted positive when score >= threshold */
    uint64_t tp, fp, tn, fn;
    double accuracy, precision, recall, f1; /* precision/f1 are 0 when nothing is predicted
                                               positive (sklearn's zero_division=0) */
} tp_confusion;
TP_API tp_status tp_metrics_at_threshold(const double *score, const uint8_t *label, size_t n,
                                         double threshold, tp_confusion *out);
/* The threshold among the distinct scores that maximises F1 (the highest such threshold on ties),
 * and the confusion there. Without positives F1 is 0 everywhere: the threshold is the largest
 * score. n = 0 is TP_ERR_ARG. */
TP_API tp_status tp_metrics_best_f1(const double *score, const uint8_t *label, size_t n,
                                    tp_confusion *out);

typedef enum tp_calib_strategy {
    TP_CALIB_UNIFORM,  /* bins of equal width on [0,1]: sklearn calibration_curve(strategy="uniform"):
                          bin k holds scores in (k/n, (k+1)/n], the first also 0 */
    TP_CALIB_QUANTILE, /* bins of equal count by rank of score (deciles for 10 bins); equal scores
                          stay in the same bin (a tie group goes to the bin of its first member) */
} tp_calib_strategy;
typedef struct tp_calib_bin {
    double lo, hi;        /* score range of the bin (uniform: the edges; quantile: min/max score) */
    double mean_predicted;
    double observed_rate; /* positives / count */
    uint64_t count;       /* 0 for an empty bin (then the means are NaN) */
} tp_calib_bin;
/* Fill bins[0 .. n_bins-1] (n_bins >= 1). Scores must lie in [0, 1] for TP_CALIB_UNIFORM. */
TP_API tp_status tp_metrics_calibration(const double *prob, const uint8_t *label, size_t n,
                                        tp_calib_strategy strategy, size_t n_bins, tp_calib_bin *bins);

typedef struct tp_lift {
    double fraction;   /* k% as a fraction, e.g. 0.1 */
    uint64_t n_top;    /* ceil(fraction * n) rows with the highest scores (ties at the cut: the
                          whole tie group is counted fractionally, so the result does not depend on
                          row order) */
    double positives;  /* expected positives in the top rows */
    double capture;    /* positives / all positives (NaN without positives) */
    double lift;       /* (positives / n_top) / (all positives / n) */
} tp_lift;
TP_API tp_status tp_metrics_lift(const double *score, const uint8_t *label, size_t n, double fraction,
                                 tp_lift *out);

/* The ROC curve (fpr, tpr) and PR curve (recall, precision) at every distinct threshold, in
 * decreasing threshold order, as sklearn's roc_curve(drop_intermediate=False) (which starts at
 * (0,0)) and precision_recall_curve (reversed, without its final (recall 0, precision 1) point).
 * Arrays are allocated with tp_malloc (caller frees); *n_points is their length. */
TP_API tp_status tp_metrics_roc_curve(const double *score, const uint8_t *label, size_t n,
                                      double **fpr, double **tpr, double **thresholds, size_t *n_points);
TP_API tp_status tp_metrics_pr_curve(const double *score, const uint8_t *label, size_t n,
                                     double **recall, double **precision, double **thresholds,
                                     size_t *n_points);

/* Is score a better than score b on the same rows? The paired bootstrap of the average-precision
 * difference AP(a) - AP(b): replicate r (0 <= r < n_boot) resamples the n rows with replacement,
 * drawing n indices with tp_rng_below(n) from tp_rng_seed_stream(seed, r), and scores both on that
 * same resample. diff is the difference on the rows as given; lo/hi the 2.5% and 97.5% percentiles
 * of the replicates (sorted, linear interpolation as numpy.percentile); p_not_better the share of
 * replicates with a difference <= 0 (a one-sided bootstrap p-value). Replicates without a positive
 * are skipped (n_used counts the rest). reps, when not NULL, receives the n_boot replicate
 * differences in replicate order (NaN for a skipped one). */
typedef struct tp_ap_compare {
    double diff, lo, hi, p_not_better;
    uint32_t n_boot, n_used;
} tp_ap_compare;
TP_API tp_status tp_metrics_pr_auc_compare(const double *score_a, const double *score_b,
                                           const uint8_t *label, size_t n, uint32_t n_boot,
                                           uint64_t seed, int n_threads, tp_ap_compare *out,
                                           double *reps);

// ---- everything at once (what train reports on the test split) ----

#define TP_METRICS_CALIB_BINS 10
#define TP_METRICS_N_LIFT 4 /* top 1%, 5%, 10%, 20% */
typedef struct tp_metrics_summary {
    uint64_t n, positives;
    double roc_auc, pr_auc, log_loss;
    tp_confusion at_half;   /* threshold 0.5 */
    tp_confusion best_f1;
    tp_calib_bin calibration[TP_METRICS_CALIB_BINS]; /* quantile deciles */
    tp_lift lift[TP_METRICS_N_LIFT];
} tp_metrics_summary;
TP_API tp_status tp_metrics_summarize(const double *prob, const uint8_t *label, size_t n,
                                      tp_metrics_summary *out);
/* The summary as a JSON object text (caller frees with tp_free); NaN is written as null. */
TP_API tp_status tp_metrics_summary_json(const tp_metrics_summary *s, char **out);

#ifdef __cplusplus
}
#endif
#endif

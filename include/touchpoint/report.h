/* report.h: job 5 of the attribution pipeline. Per-touch credit (any method's
 * <method>_touches.parquet, or the deep model's attention_at_index_i scores) is joined with the
 * journeys and summed per campaign (campaign_attention.parquet, the reference's columns plus
 * attributed conversions); the campaign credit tables of every method become one self-contained
 * HTML report (inline SVG and CSS, no script, no network). */
#ifndef TOUCHPOINT_REPORT_H
#define TOUCHPOINT_REPORT_H

#include "touchpoint/attribution.h"
#include "touchpoint/journeys.h"

#ifdef __cplusplus
extern "C" {
#endif

// ---- campaign attention (the join) ----

/* Sum per-touch credit per campaign. touches has the columns journey_id (int), index (int),
 * credit (numeric) and optionally campaign_nm (string; when present it must agree with the
 * journey's campaign at that index, else TP_ERR_FORMAT naming the row). Rows whose index is at
 * or beyond the journey's kept length are padding and are skipped. A journey_id absent from j,
 * a negative index or a (journey, index) pair listed twice is TP_ERR_FORMAT naming the row.
 * *out (owned) has one row per campaign that has at least one counted touch, sorted by name:
 *   campaign_nm (string), total_attention (f64: sum of credit), average_attention (f64: total /
 *   the campaign's kept touches in the journeys that appear in the credit), attributed_conversions
 *   (f64: sum of credit * conversion_status).
 * source names the credit file in error messages (may be NULL). */
TP_API tp_status tp_report_attention_from_touches(const tp_journeys *j, const tp_frame *touches,
                                                  const char *source, tp_frame **out);

/* The same from the deep model's wide scores: journey_id and attention_at_index_0 ..
 * attention_at_index_{L-1} (numeric; nulls count as 0). Positions at or beyond the journey's
 * kept length are padding and never counted, whatever their value. A journey listed twice is an
 * error. Output as above. */
TP_API tp_status tp_report_attention_from_scores(const tp_journeys *j, const tp_frame *scores,
                                                 const char *source, tp_frame **out);

// ---- the HTML report ----

typedef struct tp_report_series {
    const char *name;        /* method name shown in the legend, e.g. "markov" */
    const tp_frame *credit;  /* campaign_nm (string) + share (numeric) [+ attributed_conversions] */
} tp_report_series;

typedef struct tp_report_html_input {
    const char *title;             /* NULL = "Attribution report" */
    const char *journeys_path;     /* shown as the data source (may be NULL) */
    const tp_journeys *journeys;   /* required: summary, length histogram, rate by length */
    const tp_report_series *series; /* one per method, in display order */
    size_t n_series;
    const tp_truth *truth;         /* optional (tp_truth_read): true shares as a series,
                                      the error table */
    const tp_frame *attention;     /* optional campaign attention table (as written above) */
    const char *attention_source;  /* what the attention came from, e.g. "attention scores" */
    size_t max_campaigns;          /* campaigns drawn in the credit chart, 0 = 30 (all in tables) */
    const char *model_metrics;     /* optional MODEL.metrics.json of the attention model: adds its
                                      metrics, training curves and ROC/PR curves */
    const char *experiment;        /* optional summary.tsv of bench/counterfactual_experiment.sh:
                                      adds the counterfactual experiment section */
} tp_report_html_input;

/* Render the report into a malloc'd NUL-terminated string (*out, free with tp_free). */
TP_API tp_status tp_report_html_render(const tp_report_html_input *in, char **out);
/* Render and write atomically to path. */
TP_API tp_status tp_report_html_write(const tp_report_html_input *in, const char *path);

/* HTML-escape s (& < > " ') into a new string (tp_free). NULL on out of memory. */
TP_API char *tp_report_html_escape(const char *s);

// ---- the whole job (what `touchpoint report` and the pipeline call) ----

typedef struct tp_report_opts {
    const char *journeys;          /* journeys file or folder (tp_journeys_read) */
    const char *const *credit;     /* credit folders (every <method>.parquet inside) or files */
    size_t n_credit;
    const char *out_dir;           /* created if missing */
    const char *truth;             /* optional truth.json */
    const char *attention;         /* optional attention_score.parquet */
    const char *attention_method;  /* use this method's _touches.parquet for the attention table
                                      (NULL: --attention if given, else the first method that has
                                      per-touch credit) */
    const char *title;             /* NULL = default */
    const char *model_metrics;     /* optional MODEL.metrics.json (see tp_report_html_input) */
    const char *experiment;        /* optional experiment summary.tsv (see tp_report_html_input) */
} tp_report_opts;

typedef struct tp_report_result {
    char *html_path;        /* OUT_DIR/report.html */
    char *attention_path;   /* OUT_DIR/campaign_attention.parquet, or NULL when no per-touch
                               credit or scores were available */
    char *attention_source; /* "attention scores" or "<method> per-touch credit", or NULL */
    size_t n_methods;       /* credit tables found */
    char **methods;         /* their names, in report order */
    double *tvd;            /* per method when a truth file was given, else NULL */
} tp_report_result;

/* Run job 5: read the journeys and credit tables, write campaign_attention.parquet (when a
 * source of per-touch credit exists) and report.html into out_dir. A credit folder with no
 * <method>.parquet, or no credit at all, is TP_ERR_ARG. *res (may be NULL) is filled; free it
 * with tp_report_result_clear. */
TP_API tp_status tp_report_run(const tp_report_opts *o, tp_report_result *res);
TP_API void tp_report_result_clear(tp_report_result *res);

#ifdef __cplusplus
}
#endif
#endif

/* pipeline_model.h (internal): the pipeline's `model:` block, the attention model's train and
 * predict steps, kept out of pipeline.c so that file only needs a few calls. */
#ifndef TP_PIPELINE_MODEL_H
#define TP_PIPELINE_MODEL_H

#include "touchpoint/dnamta_train.h"
#include "core/yamlcfg.h"

typedef struct tp_pipeline_model {
    tp_dnamta_train_opts o; /* epochs, batch_size, lr, embed, hidden, dropout, ... */
    char **controls;        /* control variable columns */
    size_t n_controls;
} tp_pipeline_model;

/* Parse the `model:` mapping (keys: epochs, batch_size, lr, embed, hidden, dropout, time_decay,
 * controls, imbalance, positive_fraction, metric, patience, search, trials, seed, threads).
 * `model: {}` or `model: true` takes every default. Errors name the file, key and line. */
tp_status tp_pipeline_model_parse(const tp_ycfg *y, const yaml_node_t *n, tp_pipeline_model **out);
void tp_pipeline_model_free(tp_pipeline_model *m);
/* Canonical text of the settings (for the step fingerprints). */
void tp_pipeline_model_settings(const tp_pipeline_model *m, char *buf, size_t cap);
/* OUTPUT/model/model.bin, OUTPUT/model/model.bin.metrics.json, OUTPUT/model/attention_score.parquet */
void tp_pipeline_model_paths(const char *output, char *model, char *metrics, char *scores, size_t cap);
/* The train step: train on journeys_dir, write the model and its metrics. */
tp_status tp_pipeline_model_train(const tp_pipeline_model *m, const char *journeys_dir, const char *model_path);
/* The predict step: scores for every journey, and attention.parquet/attention_touches.parquet in credit_dir. */
tp_status tp_pipeline_model_predict(const tp_pipeline_model *m, const char *model_path, const char *journeys_dir,
                                    const char *scores_path, const char *credit_dir);

#endif

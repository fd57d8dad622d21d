/* registry.h: the model registry (issue #5 §4), one SQLite file. Registered models (one per product
 * group), their versions (parameters, metrics, feature-definition hash, training window, the folder
 * of the model files, copied into the registry's own store beside the SQLite file), stages none /
 * staging / production / archived, evaluations on named holdouts, and a log of every stage
 * transition with its reason and time. At most one production version per model is enforced by a
 * unique index and every transition runs in one transaction (a crash never leaves two). */
#ifndef TOUCHPOINT_REGISTRY_H
#define TOUCHPOINT_REGISTRY_H

#include "touchpoint/table.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tp_registry tp_registry;

/* Open (creating the file and schema if needed). Model files live in <path minus .sqlite>_models/.
 * Errors: IO, INTERNAL (SQLite message). */
TP_API tp_status tp_registry_open(const char *path, tp_registry **out);
TP_API void tp_registry_close(tp_registry *r);

typedef struct tp_registry_new {
    const char *model;        /* registered model name (the product group) */
    const char *src_dir;      /* folder with model.json, meta.json, holdout.parquet: copied in */
    const char *params_json;  /* JSON texts (may be NULL) */
    const char *metrics_json;
    const char *window_json;  /* training window: as-of dates, horizon */
    const char *defs_hash;    /* may be NULL */
    double pr_auc;            /* test PR-AUC, for listings */
    const char *run_key;      /* idempotence: registering the same key again returns that version */
} tp_registry_new;

/* A new version (stage none), files copied atomically. *version gets its number; *existed says
 * whether run_key had already been registered (nothing is then changed). */
TP_API tp_status tp_registry_register(tp_registry *r, const tp_registry_new *v, int *version,
                                      bool *existed);

typedef struct tp_registry_version {
    char model[256];
    int version;
    char stage[16];        /* "none", "staging", "production", "archived" */
    char dir[4096];        /* folder of model.json/meta.json/holdout.parquet in the registry */
    char defs_hash[64];
    double pr_auc;
    char created[32];      /* UTC, ISO 8601 */
} tp_registry_version;

/* version 0 = the latest. NOTFOUND when absent. */
TP_API tp_status tp_registry_get(tp_registry *r, const char *model, int version,
                                 tp_registry_version *out);
/* The production version of model, NOTFOUND when none. */
TP_API tp_status tp_registry_production(tp_registry *r, const char *model, tp_registry_version *out);
/* All registered model names, sorted (free with tp_registry_free_names). */
TP_API tp_status tp_registry_models(tp_registry *r, char ***names, size_t *n);
TP_API void tp_registry_free_names(char **names, size_t n);

/* Record the metrics of (model, version) on holdout (a name, e.g. "<model>/v7": the holdout of
 * version 7). Re-recording the same pair replaces it. */
TP_API tp_status tp_registry_record_evaluation(tp_registry *r, const char *model, int version,
                                               const char *holdout, const char *metrics_json,
                                               double pr_auc);
/* PR-AUC of (model, version) on holdout; NOTFOUND when not evaluated there. */
TP_API tp_status tp_registry_evaluation(tp_registry *r, const char *model, int version,
                                        const char *holdout, double *pr_auc);

/* Move (model, version) to stage "none", "staging" or "archived" with a reason (recorded).
 * Production is reached only through tp_registry_promote. */
TP_API tp_status tp_registry_transition(tp_registry *r, const char *model, int version,
                                        const char *stage, const char *reason);
TP_API tp_status tp_registry_archive(tp_registry *r, const char *model, int version,
                                     const char *reason);

typedef struct tp_promotion {
    bool promoted;
    int previous;          /* the production version before (0 = none) */
    double challenger, champion; /* PR-AUC on the challenger's holdout (NaN when unknown) */
    char reason[512];
} tp_promotion;

/* Champion/challenger: (model, version) becomes production when there is no production version,
 * or when its PR-AUC on its own holdout ("<model>/v<version>") beats the production version's
 * PR-AUC on that same holdout by more than margin, or when force is set. The old production
 * version is archived in the same transaction. A refusal is not an error: out->promoted is false,
 * out->reason says why, and the decision is logged (a transition with from = to). */
TP_API tp_status tp_registry_promote(tp_registry *r, const char *model, int version, double margin,
                                     bool force, const char *reason, tp_promotion *out);

/* Versions: model, version, stage, pr_auc, defs_hash, created, dir; sorted by (model, version). */
TP_API tp_status tp_registry_list(tp_registry *r, tp_frame **out);
/* One version as JSON: its fields, params, metrics, window, evaluations and transitions (caller
 * frees with tp_free). version 0 = latest. */
TP_API tp_status tp_registry_show(tp_registry *r, const char *model, int version, char **json);

#ifdef __cplusplus
}
#endif
#endif

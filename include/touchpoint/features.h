/* features.h: propensity features (issue #5 §1-3). Events -> point-in-time features declared in
 * YAML (windows, event types, levels user / group / user_group, metrics) -> feature store
 * (Parquet snapshots + SQLite catalogue) -> labels -> the model matrix of one product group.
 * Point in time, always: features at as-of date D use only events with timestamp < D 00:00 UTC;
 * labels are purchases with D 00:00 < timestamp <= D 00:00 + horizon days. Naming scheme and
 * YAML reference: docs/propensity_features.md. */
#ifndef TOUCHPOINT_FEATURES_H
#define TOUCHPOINT_FEATURES_H

#include "touchpoint/io.h"

#ifdef __cplusplus
extern "C" {
#endif

// ---- dates ----

/* "YYYY-MM-DD" -> days since 1970-01-01 (TP_ERR_ARG naming the text when malformed). */
TP_API tp_status tp_date_parse(const char *s, int32_t *days);
/* days -> "YYYY-MM-DD" (buf >= 11 bytes). Returns buf. */
TP_API char *tp_date_format(int32_t days, char *buf);

// ---- events ----

/* Events in memory, grouped by (uid, group, timestamp) once (radix sort), with dictionaries of
 * event types, items and groups. Immutable after loading, so it is safe to share across threads. */
typedef struct tp_events tp_events;

/* Read events (Parquet/CSV/folder; columns by name: uid, timestamp (int64 unix seconds or a
 * TIMESTAMP column), event_type (string), item (string or int), group (string; optional when
 * items_path is given), optional amount (double)). items_path (may be NULL): a table item -> group
 * used for events without a group column or with a null group. Rows with a null uid, timestamp
 * or event_type, or no group after the lookup, are errors naming the file and row.
 * Errors: IO, FORMAT, NOTFOUND (missing column, item absent from the items table), NOMEM. */
TP_API tp_status tp_events_load(const char *events_path, const char *items_path, tp_events **out);
/* Same from frames in memory (items may be NULL). The frames are not taken over. */
TP_API tp_status tp_events_from_frames(const tp_frame *events, const tp_frame *items,
                                       tp_events **out);
TP_API void tp_events_free(tp_events *e);
TP_API size_t tp_events_n_events(const tp_events *e);
TP_API size_t tp_events_n_users(const tp_events *e);
/* Product groups present in the events, sorted by name; index i in [0, n_groups). */
TP_API size_t tp_events_n_groups(const tp_events *e);
TP_API const char *tp_events_group_name(const tp_events *e, size_t i); /* borrowed, lives with e */
TP_API int tp_events_group_index(const tp_events *e, const char *name); /* -1 if absent */
/* First and last event timestamps (unix seconds). */
TP_API void tp_events_time_range(const tp_events *e, int64_t *min_ts, int64_t *max_ts);

// ---- feature definitions (YAML) ----

typedef enum tp_feature_level {
    TP_LEVEL_USER = 0,       /* one row per uid: activity over all groups */
    TP_LEVEL_GROUP = 1,      /* one row per product group: activity of all users */
    TP_LEVEL_USER_GROUP = 2, /* one row per (uid, group) with at least one event before as-of */
} tp_feature_level;
#define TP_N_LEVELS 3
TP_API const char *tp_feature_level_name(tp_feature_level l); /* "user", "group", "user_group" */

typedef struct tp_feature_defs tp_feature_defs;

/* Parse definitions from a YAML file / from text (source names the text in messages). Unknown
 * keys, bad values, duplicate names and dangling ratio operands are TP_ERR_FORMAT with the key
 * and its line: "features.yaml:12: unknown key 'windoe'". */
TP_API tp_status tp_feature_defs_load(const char *path, tp_feature_defs **out);
TP_API tp_status tp_feature_defs_parse(const char *text, size_t len, const char *source,
                                       tp_feature_defs **out);
TP_API void tp_feature_defs_free(tp_feature_defs *d);
/* Hash of the canonical form of the parsed definitions (16 hex digits): whitespace, comments,
 * key order and the choice of generated vs explicit-but-identical names do not change it. */
TP_API const char *tp_feature_defs_hash(const tp_feature_defs *d);
/* Canonical text the hash is computed from (one line per feature), borrowed. */
TP_API const char *tp_feature_defs_canonical(const tp_feature_defs *d);
/* Features of one level, in definition order: their names (borrowed) and the value a row that has
 * no events gets (what the model matrix uses for a (uid, group) pair absent from the snapshot). */
TP_API size_t tp_feature_defs_n(const tp_feature_defs *d, tp_feature_level l);
TP_API const char *tp_feature_defs_name(const tp_feature_defs *d, tp_feature_level l, size_t i);
TP_API double tp_feature_defs_empty_value(const tp_feature_defs *d, tp_feature_level l, size_t i);
/* Label settings from the YAML's optional `labels:` section: event type of a purchase (default
 * "purchase") and horizon in days (default 30). */
TP_API const char *tp_feature_defs_purchase_type(const tp_feature_defs *d);
TP_API int tp_feature_defs_horizon(const tp_feature_defs *d);

// ---- computation ----

/* Features of every level at one as-of date. Frames: user = uid (int64) + one double column per
 * feature, sorted by uid, one row per user with at least one event before as-of; group = group
 * (string) + features, sorted by name, one row per group present in the events (also those with
 * no events before as-of: empty values); user_group = uid, group, features, sorted by (uid, group
 * name), one row per pair with at least one event before as-of. */
typedef struct tp_feature_set {
    int32_t as_of;         /* days since 1970-01-01 */
    tp_frame *level[TP_N_LEVELS]; /* indexed by tp_feature_level */
    double seconds;        /* time taken to compute or load */
} tp_feature_set;
TP_API void tp_feature_set_free(tp_feature_set *s);

/* One pass over the grouped events: every feature of every level at as_of. n_threads <= 0 = the
 * default; the result is identical for any thread count. */
TP_API tp_status tp_features_compute(const tp_events *ev, const tp_feature_defs *defs,
                                     int32_t as_of, int n_threads, tp_feature_set **out);
/* Write a feature set as DIR/<level>.parquet (atomic per file). */
TP_API tp_status tp_feature_set_write(const tp_feature_set *s, const char *dir);

// ---- labels ----

/* out[i] = 1 when uids[i] purchased (event type = purchase_type, NULL = "purchase") in group
 * within (as_of 00:00, as_of 00:00 + horizon_days], else 0. */
TP_API tp_status tp_labels_compute(const tp_events *ev, const char *group, int32_t as_of,
                                   int horizon_days, const char *purchase_type,
                                   const int64_t *uids, size_t n, uint8_t *out);

// ---- feature store ----

typedef struct tp_featurestore_result {
    int version;          /* snapshot version at this as-of date (1, 2, ...) */
    bool noop;            /* the same definitions were already materialised for this date */
    int64_t rows[TP_N_LEVELS];
    double seconds;       /* time taken by the computation (of the existing snapshot when noop) */
    char hash[17];        /* definitions hash */
} tp_featurestore_result;

/* Compute and register the snapshot of defs at as_of in STORE (created if needed):
 * STORE/snapshots/<level>/as_of=<YYYY-MM-DD>/v<version>/part-0.parquet and a catalogue row per
 * level in STORE/catalog.sqlite. The same definitions (hash) at the same date: no-op (res->noop).
 * Other definitions: the next version; nothing is ever overwritten. Each snapshot folder is
 * written under a temporary name and renamed. Errors: IO, INTERNAL (SQLite), NOMEM. */
TP_API tp_status tp_featurestore_materialize(const char *store, const tp_events *ev,
                                             const tp_feature_defs *defs, int32_t as_of,
                                             int n_threads, tp_featurestore_result *res);
/* Load the snapshot of defs (by hash) at as_of. TP_ERR_NOTFOUND when there is none. */
TP_API tp_status tp_featurestore_load(const char *store, const tp_feature_defs *defs,
                                      int32_t as_of, tp_feature_set **out);
/* Catalogue as a frame: level, as_of (date), version, defs_hash, rows, features, seconds,
 * created (string, UTC), path; sorted by (as_of, version, level). */
TP_API tp_status tp_featurestore_list(const char *store, tp_frame **out);
/* Canonical definitions stored for a hash (caller frees with tp_free). NOTFOUND if unknown. */
TP_API tp_status tp_featurestore_defs_text(const char *store, const char *hash, char **out);
/* Features of one row from a snapshot: level user: key1 = uid; user_group: uid + group; group:
 * group. *out = a one-row frame (keys + features), NOTFOUND when the row is absent. version 0 =
 * the latest version at that date. */
TP_API tp_status tp_featurestore_get(const char *store, tp_feature_level level, int32_t as_of,
                                     int version, int64_t uid, const char *group, tp_frame **out);

// ---- model matrix (what training and scoring consume) ----

/* Events + definitions + optional store + a cache of feature sets by as-of date. */
typedef struct tp_propensity tp_propensity;

typedef struct tp_propensity_opts {
    const char *store;     /* feature store folder, or NULL: snapshots found there are loaded,
                              missing ones are computed (and not written) */
    bool materialize;      /* with a store: also write the snapshots computed here */
    int horizon_days;      /* label horizon, 0 = the definitions' (default 30) */
    int n_threads;         /* <= 0: default */
} tp_propensity_opts;
TP_API void tp_propensity_opts_default(tp_propensity_opts *o);

/* ev and defs are borrowed and must outlive p. */
TP_API tp_status tp_propensity_new(const tp_events *ev, const tp_feature_defs *defs,
                                   const tp_propensity_opts *opts, tp_propensity **out);
TP_API void tp_propensity_free(tp_propensity *p);
/* The groups present (as tp_events_n_groups / tp_events_group_name). */
TP_API size_t tp_propensity_n_groups(const tp_propensity *p);
TP_API const char *tp_propensity_group_name(const tp_propensity *p, size_t i);

/* The model matrix of one group: columns uid (int64), as_of (date), label (bool; only when
 * with_labels), then "user.<name>" for each user feature, "user_group.<name>" for each
 * user x group feature (the empty value when the pair has no events), "group.<name>" for each group
 * feature, all double, in definition order. Rows: for each as-of date in the order given, every
 * user with at least one event (any group) before that date, by uid. Training passes several
 * dates with labels; scoring one date without. Errors: NOTFOUND (unknown group), ARG, IO, NOMEM. */
TP_API tp_status tp_propensity_dataset(tp_propensity *p, const char *group, const int32_t *as_of,
                                       size_t n_as_of, bool with_labels, tp_frame **out);
/* The cached feature set of one date (computed or loaded on first use); borrowed, lives with p. */
TP_API tp_status tp_propensity_features(tp_propensity *p, int32_t as_of,
                                        const tp_feature_set **out);

#ifdef __cplusplus
}
#endif
#endif

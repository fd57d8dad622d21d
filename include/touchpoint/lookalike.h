/* lookalike.h: lookalike audiences after Apache Blue Marlin (issue #6 §1-3): log preparation
 * (clean persona/show/click logs, unify into interval buckets, train-ready histories), a DIN-style
 * click model, and the L2-normalised user x keyword score table (.parquet and the .tpsm binary
 * matrix) that audience extension (audience.h) reads. Formats: docs/lookalike.md, BRIEF.md. */
#ifndef TOUCHPOINT_LOOKALIKE_H
#define TOUCHPOINT_LOOKALIKE_H

#include "touchpoint/io.h"

#ifdef __cplusplus
extern "C" {
#endif

// ---- configuration (lookalike.yaml, read with libyaml; docs/lookalike.md) ----

typedef struct tp_lookalike_config {
    /* inputs (Parquet/CSV file, folder or Hive folders) */
    char *persona;              /* did, gender, age */
    char *shows;                /* did, adv_id, media, slot_id, spread_app_id, device_name, net_type,
                                   price_model, action_time 'YYYY-MM-DD HH:MM:SS.fff' */
    char *clicks;               /* same columns as shows */
    char *keywords;             /* spread_app_id, keyword */
    char *out_dir;              /* everything prepare/train/scores write goes under here */
    /* prepare */
    char **slot_ids;            /* NULL-terminated; NULL = keep every slot */
    size_t n_slot_ids;
    double keyword_min_share;   /* keep keywords with share of impressions > this (default 0) */
    int64_t interval_seconds;   /* bucket width (default 86400) */
    int did_buckets;            /* did_bucket = hash(did) mod this (default 4) */
    int batch_days;             /* days of logs per processing batch (default 7) */
    int min_active_intervals;   /* keep users with at least this many intervals (default 1) */
    /* train */
    int history_intervals;      /* N: the user's last N intervals before the sample (default 10) */
    int max_history;            /* flattened history length cap, newest kept (default 64) */
    int embedding_dim;          /* E (default 16) */
    int attention_hidden;       /* hidden width of the attention MLP (default 32) */
    int hidden;                 /* hidden width of the output MLP (default 32) */
    int epochs;                 /* default 4 */
    int batch_size;             /* default 256 */
    double learning_rate;       /* Adam, default 0.005 */
    double weight_decay;        /* default 0 */
    double test_fraction;       /* newest share of intervals held out for test (default 0.2) */
    uint64_t seed;              /* default 1 */
    int threads;                /* 0 = tp_threads_default() */
} tp_lookalike_config;

TP_API void tp_lookalike_config_default(tp_lookalike_config *c);
/* Read a YAML config. Unknown keys, wrong types and bad values are TP_ERR_FORMAT naming the file
 * and the line. Relative input paths are taken relative to the config's folder. Free with
 * tp_lookalike_config_free. */
TP_API tp_status tp_lookalike_config_load(const char *path, tp_lookalike_config **out);
TP_API void tp_lookalike_config_free(tp_lookalike_config *c);

// ---- §1 preparation ----

/* Row counts in and out of every step (also written to OUT/stats.json). */
typedef struct tp_lookalike_prep_stats {
    int64_t persona_in, persona_out, persona_conflicting_dids;
    int64_t shows_in, clicks_in, logs_slot_kept, logs_joined;
    int64_t keywords_in, keywords_kept;
    int64_t unified_rows, unified_clicks;
    int64_t trainready_rows, users_in, users_kept;
    int64_t intervals;
    int batches;
} tp_lookalike_prep_stats;

/* Run every preparation step; writes under c->out_dir:
 *   persona.parquet                          did, gender, age (clean)
 *   keywords.parquet                         keyword, keyword_index, impressions, share
 *   logs/day=YYYY-MM-DD/did_bucket=B/part-0.parquet   unified logs (see docs/lookalike.md)
 *   trainready.parquet                       did, interval_starting_time, keyword_index, keyword,
 *                                            show_counts, click_counts; per did newest first
 *   users.parquet                            did, did_bucket, gender, age, active_intervals
 *   stats.json
 * Every file is written atomically. *stats (may be NULL) receives the counts. */
TP_API tp_status tp_lookalike_prepare(const tp_lookalike_config *c, tp_lookalike_prep_stats *stats);

/* The individual steps, on in-memory frames (for tests and embedding). */
/* persona (did str, gender, age) -> distinct rows; dids with more than one (gender, age) dropped.
 * *n_conflicting (may be NULL) counts the dropped dids. */
TP_API tp_status tp_lookalike_clean_persona(const tp_frame *persona, tp_frame **out,
                                            int64_t *n_conflicting);
/* Parse 'YYYY-MM-DD HH:MM:SS[.fff]' into unix seconds (fraction dropped). */
TP_API tp_status tp_lookalike_parse_time(const char *s, size_t len, int64_t *out);
/* t - t mod interval, floor semantics for negative t. */
TP_API int64_t tp_lookalike_interval_start(int64_t t, int64_t interval_seconds);
/* hash(did) mod n (stable across runs and machines: tp_hash_bytes seed 0). */
TP_API int tp_lookalike_did_bucket(const char *did, size_t len, int n);

// ---- §2 the DIN-style click model ----

typedef struct tp_din tp_din; /* opaque: parameters and shapes */

typedef struct tp_lookalike_train_stats {
    int64_t train_samples, test_samples, train_positives, test_positives;
    double test_auc, test_logloss;        /* the model */
    double base_auc, base_logloss;        /* popularity baseline: keyword CTR on train */
    double train_seconds;
    int epochs;
    double last_train_loss;
} tp_lookalike_train_stats;

/* Train on OUT/trainready.parquet + OUT/keywords.parquet; write the model to model_path
 * (NULL = OUT/model.tpdin) and the metrics to OUT/train_stats.json. */
TP_API tp_status tp_lookalike_train(const tp_lookalike_config *c, const char *model_path,
                                    tp_lookalike_train_stats *stats);
TP_API tp_status tp_din_load(const char *path, tp_din **out);
TP_API tp_status tp_din_save(const tp_din *m, const char *path); /* versioned, checksummed, atomic */
TP_API void tp_din_free(tp_din *m);
TP_API int tp_din_n_keywords(const tp_din *m);
/* Click probability of each candidate keyword for one user given its history (keyword indexes,
 * newest first, n_hist >= 0). probs has n_cand entries. */
TP_API tp_status tp_din_predict(const tp_din *m, const int32_t *hist, int n_hist,
                                const int32_t *cand, int n_cand, float *probs);

// ---- §3 score table ----

/* A dense user x keyword matrix. Owned strings; scores n_users x n_keywords, row-major. */
typedef struct tp_score_table {
    uint64_t n_users;
    uint32_t n_keywords;
    char **keywords;  /* n_keywords names (without the kw_ prefix) */
    char **dids;      /* n_users ids */
    float *scores;    /* n_users * n_keywords */
} tp_score_table;

TP_API void tp_score_table_free(tp_score_table *t);
/* Scale every row to unit L2 norm (all-zero rows stay zero). */
TP_API void tp_score_table_normalise(tp_score_table *t);
/* The .tpsm format (BRIEF.md): "TPSCORE1", u32 version 1, u64 n_users, u32 n_keywords,
 * u32 reserved, keywords (u32 len + bytes), dids (u32 len + bytes), float32 matrix, u64 checksum
 * (tp_hash_bytes seed 0 over everything before it). Little-endian. Atomic. */
TP_API tp_status tp_score_table_write_tpsm(const tp_score_table *t, const char *path);
/* Validates magic, version, every size against the file size, and the checksum; errors are
 * TP_ERR_FORMAT naming the file and what is wrong. */
TP_API tp_status tp_score_table_read_tpsm(const char *path, tp_score_table **out);
/* Parquet: did (string), kw_<keyword> float columns. */
TP_API tp_status tp_score_table_write_parquet(const tp_score_table *t, const char *path);
TP_API tp_status tp_score_table_read_parquet(const char *path, tp_score_table **out);
/* By extension (.tpsm or .parquet), or a folder holding scores.tpsm. */
TP_API tp_status tp_score_table_read(const char *path, tp_score_table **out);

/* Score every kept user (OUT/users.parquet, histories from trainready) for every keyword with the
 * model, L2-normalise, write DIR/scores.parquet and DIR/scores.tpsm (DIR NULL = OUT/scores).
 * *out_users (may be NULL) receives the number of rows. */
TP_API tp_status tp_lookalike_scores(const tp_lookalike_config *c, const char *model_path,
                                     const char *dir, uint64_t *out_users);

// ---- §7 simulation with planted interest groups ----

typedef struct tp_lookalike_sim_opts {
    int64_t users;      /* N > 0 */
    int keywords;       /* K, 2..10000 (default 40) */
    int days;           /* D >= 1 (default 14) */
    uint64_t seed;      /* default 1 */
    int groups;         /* latent interest groups (default 4) */
    int64_t start_time; /* unix seconds of day 0, default 1704067200 */
} tp_lookalike_sim_opts;
TP_API void tp_lookalike_sim_opts_default(tp_lookalike_sim_opts *o);
/* Write DIR/persona.parquet, DIR/shows.parquet, DIR/clicks.parquet, DIR/keywords.parquet and
 * DIR/groups.parquet (did, group: the planted truth) and DIR/truth.json. */
TP_API tp_status tp_lookalike_simulate(const tp_lookalike_sim_opts *o, const char *dir);

#ifdef __cplusplus
}
#endif
#endif

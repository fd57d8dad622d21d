/* journey_build.h: job 1 (impressions -> conversion journeys) and job 2 (one-hot export).
 * The builder reads impressions by column name, sorts them per user, cuts them into journeys and
 * writes the wide layout of journeys.h; data larger than a memory budget is partitioned by a hash
 * of uid into temporary bucket files and processed bucket by bucket with identical results. */
#ifndef TOUCHPOINT_JOURNEY_BUILD_H
#define TOUCHPOINT_JOURNEY_BUILD_H

#include "touchpoint/journeys.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tp_journeys_build_opts {
    size_t max_len;           /* L: keep the LAST L touches of each journey (default 10) */
    int64_t lookback_seconds; /* drop touches older than this before the journey's end (0 = off) */
    bool dedupe;              /* drop repeated identical impressions (default off: every row counts) */
    size_t memory_bytes;      /* budget; 0 = unlimited (everything in memory) */
    const char *tmp_dir;      /* where bucket files go (NULL = $TMPDIR or /tmp); a private
                                 subfolder is created there and removed on success and failure */
    double split[3];          /* train/val/test fractions (normalised); n_split 1 = one "all" set */
    size_t n_split;           /* 1 or 3 (default 3: 0.8, 0.1, 0.1) */
    uint64_t seed;            /* for the user split (default 42) */
    bool per_event;           /* one unit per event row (null campaign: a visit or a conversion
                                 of the advertiser's log) instead of one per journey: the touches
                                 since the user's last conversion before it, labelled with the
                                 event's conversion flag. Units overlap; trailing touches without
                                 an event make none. Not with conversion_id. */
} tp_journeys_build_opts;

TP_API void tp_journeys_build_opts_default(tp_journeys_build_opts *o);

/* What a build saw. length_hist[k] = journeys whose length (before the L cut) is k, for
 * k < hist_len (journeys longer than 2^20 touches are counted in bin 2^20). */
typedef struct tp_journeys_stats {
    uint64_t impressions;      /* input rows */
    uint64_t duplicates;       /* rows dropped by dedupe */
    uint64_t lookback_dropped; /* touches dropped by the lookback window */
    uint64_t users;
    uint64_t journeys;
    uint64_t conversions;      /* converting journeys */
    uint64_t touches;          /* kept touches (after the L cut) */
    uint64_t cut;              /* journeys longer than L */
    uint64_t events;           /* event rows (null campaign: a conversion or an observation
                                  without an ad), which end or mark journeys but are no touches */
    uint64_t empty;            /* journeys without a touch (only with event rows) */
    uint64_t per_split[3];     /* journeys per split (index 0 only when n_split is 1) */
    uint64_t *length_hist;     /* owned; free with tp_journeys_stats_clear */
    size_t hist_len;
    size_t len_p80, len_p95;   /* smallest L keeping 80% / 95% of journeys whole */
    size_t n_campaigns;
    size_t buckets;            /* bucket files used (0 = in memory) */
    size_t max_len;
} tp_journeys_stats;
TP_API void tp_journeys_stats_clear(tp_journeys_stats *s);

/* Build journeys from an impressions frame (columns found by name: uid, timestamp, campaign,
 * conversion; optional conversion_id, conversion_value; cost is ignored; every other column is a
 * user feature passed through from each journey's last touch). source names the data in errors.
 *
 * Order and ids: users are ordered by a 64-bit bijective hash of uid (so the bucketed path, whose
 * buckets are ranges of that hash, gives exactly the same order), each user's journeys by end time;
 * journey_id is the dense sequence number 1, 2, ... in that order, so ids are unique by
 * construction. *out receives the journeys (all splits); *features (when not NULL) a frame with one
 * row per journey holding conversion_value (if present) and the user feature columns. With
 * opts->memory_bytes smaller than the data, the work goes through bucket files under opts->tmp_dir.
 * Errors: TP_ERR_NOTFOUND (a required column), TP_ERR_FORMAT (a null uid/timestamp/campaign, a
 * column of the wrong type; the message names the column and row), TP_ERR_IO, TP_ERR_NOMEM. */
TP_API tp_status tp_journeys_build(const tp_frame *impressions, const char *source,
                                   const tp_journeys_build_opts *opts, tp_journeys **out,
                                   tp_frame **features, tp_journeys_stats *stats);

/* The split (0 train, 1 val, 2 test; always 0 when n_split is 1) of a user: a hash of uid and
 * seed compared with the cumulative fractions, so it is deterministic and stable across runs. */
TP_API int tp_journeys_split_of(int64_t uid, const tp_journeys_build_opts *opts);

/* The whole job: scan input (a Parquet/CSV file or folder, streamed in batches), build, and write
 * out_dir/{train,val,test}.parquet (or all.parquet), out_dir/mapper.json and out_dir/stats.json.
 * Split files are committed only after every bucket succeeded; temporary files are removed on
 * success and on failure. stats (may be NULL) receives the summary. */
TP_API tp_status tp_journeys_write(const char *input, const char *out_dir,
                                   const tp_journeys_build_opts *opts, tp_journeys_stats *stats);

/* --history-features (issue 7): add to each journeys file in dir (train/val/test/all.parquet)
 * columns computed strictly before each journey's first touch from the impressions (uid,
 * timestamp): hist_prev_conversions, hist_prev_journeys, hist_prev_mean_length (journey_length
 * of earlier journeys), hist_days_since_first_seen, hist_activity_rate (touches before the journey
 * per day since first seen, at least one day). Journeys must partition each user's impressions in
 * time order (cut at conversions, no dedupe/lookback/conversion_id): else TP_ERR_FORMAT naming the
 * journey. Files are rewritten atomically. */
TP_API tp_status tp_journeys_add_history(const char *impressions, const char *dir);

/* Stats as JSON text (what stats.json holds); caller frees with tp_free. */
TP_API tp_status tp_journeys_stats_json(const tp_journeys_stats *s, char **out);

/* The wide layout of journeys [rows[0], rows[1], ...] (rows NULL = all j->n in order): journey_id,
 * uid, conversion_status, journey_length, campaign_nm_at_index_0..L-1 (null-padded),
 * seconds_to_end_at_index_0..L-1, conversion_value (from features when it has that column, else
 * from j->value when present), then the other feature columns (features may be NULL; its row i
 * belongs to journey i). */
TP_API tp_status tp_journeys_to_frame(const tp_journeys *j, const tp_frame *features,
                                      const uint32_t *rows, size_t n_rows, tp_frame **out);

/* One-hot export in the DeepAttribution reference's layout (its job 2): journey_id, then for
 * i = 1..L (1-based, like the reference) and each campaign in mapper order the column
 * campaign_nm_at_index_{i}_in_journey_is_{campaign}, then conversion_status. Values are int64 0/1
 * like the reference's files, or bool when as_bool. Journeys [lo, hi) only, so large sets can be
 * exported in chunks. */
TP_API tp_status tp_encode_onehot(const tp_journeys *j, size_t lo, size_t hi, bool as_bool,
                                  tp_frame **out);

#ifdef __cplusplus
}
#endif
#endif

/* test_journeys.c: the journey builder (job 1), the wide layout round trip, the one-hot export
 * (job 2), on hand-computed cases: timestamp ties, users without conversions, consecutive
 * conversions, the last-L cut, lookback, conversion_id groups, integer campaigns, unique ids,
 * the user split, dedupe, the bucketed path against the in-memory one, and the real Criteo rows. */
#include "test.h"
#include "touchpoint/journey_build.h"
#include "touchpoint/touchpoint.h"

#include <dirent.h>
#include <stdlib.h>
#include <sys/stat.h>

// ---- helpers ----

typedef struct imp {
    int64_t uid, ts;
    const char *camp;
    int conv;
    int64_t cid;
} imp;

/* An impressions frame; with_cid adds conversion_id; age (int32) = 100 + row for pass-through. */
static tp_frame *frame_of(const imp *r, size_t n, bool with_cid, bool with_age) {
    tp_frame *f = NULL;
    tp_column *u, *t, *c, *v, *k = NULL, *a = NULL;
    CHECK_OK(tp_frame_new(&f));
    CHECK_OK(tp_column_new("timestamp", TP_DTYPE_I64, n, &t)); /* real files put timestamp first */
    CHECK_OK(tp_column_new("uid", TP_DTYPE_I64, n, &u));
    CHECK_OK(tp_column_new("campaign", TP_DTYPE_STR, n, &c));
    CHECK_OK(tp_column_new("conversion", TP_DTYPE_BOOL, n, &v));
    if (with_cid) CHECK_OK(tp_column_new("conversion_id", TP_DTYPE_I64, n, &k));
    if (with_age) CHECK_OK(tp_column_new("age", TP_DTYPE_I32, n, &a));
    for (size_t i = 0; i < n; i++) {
        CHECK_OK(tp_column_push_i64(t, r[i].ts));
        CHECK_OK(tp_column_push_i64(u, r[i].uid));
        if (r[i].camp) CHECK_OK(tp_column_push_str(c, r[i].camp, strlen(r[i].camp)));
        else CHECK_OK(tp_column_push_null(c)); /* an event row */
        CHECK_OK(tp_column_push_bool(v, r[i].conv != 0));
        if (k) CHECK_OK(tp_column_push_i64(k, r[i].cid));
        if (a) CHECK_OK(tp_column_push_i32(a, (int32_t)(100 + i)));
    }
    CHECK_OK(tp_frame_add_take(f, t));
    CHECK_OK(tp_frame_add_take(f, u));
    CHECK_OK(tp_frame_add_take(f, c));
    CHECK_OK(tp_frame_add_take(f, v));
    if (k) CHECK_OK(tp_frame_add_take(f, k));
    if (a) CHECK_OK(tp_frame_add_take(f, a));
    return f;
}

/* Index of the k-th journey (0-based, in output order) of user uid, or -1. */
static long nth_of(const tp_journeys *j, int64_t uid, int k) {
    for (size_t i = 0; i < j->n; i++)
        if (j->uid[i] == uid && k-- == 0) return (long)i;
    return -1;
}

static size_t count_of(const tp_journeys *j, int64_t uid) {
    size_t n = 0;
    for (size_t i = 0; i < j->n; i++) n += j->uid[i] == uid;
    return n;
}

/* "c,b,a,a": the kept touches of journey i as campaign names. */
static const char *touches(const tp_journeys *j, long i) {
    static char buf[256];
    buf[0] = 0;
    if (i < 0) return "(none)";
    for (uint64_t t = j->off[i]; t < j->off[i + 1]; t++) {
        if (t > j->off[i]) strcat(buf, ",");
        strcat(buf, j->campaigns[j->campaign[t]]);
    }
    return buf;
}
static const char *secs(const tp_journeys *j, long i) {
    static char buf[256];
    buf[0] = 0;
    if (i < 0) return "(none)";
    for (uint64_t t = j->off[i]; t < j->off[i + 1]; t++)
        snprintf(buf + strlen(buf), sizeof buf - strlen(buf), "%s%lld", t > j->off[i] ? "," : "",
                 (long long)j->seconds_to_end[t]);
    return buf;
}

static bool ids_unique_dense(const tp_journeys *j) {
    uint8_t *seen = calloc(j->n + 1, 1);
    bool ok = true;
    for (size_t i = 0; i < j->n; i++) {
        int64_t id = j->journey_id[i];
        if (id < 1 || (size_t)id > j->n || seen[id]) ok = false;
        else seen[id] = 1;
    }
    free(seen);
    return ok;
}

// ---- cases ----

/* uid 1: rows 0,1 tie at t=100 (b before a by input order), row 2 earlier, a conversion at 200,
 * one touch after it (an open journey). uid 2 never converts. */
static const imp basic[] = {
    {1, 100, "b", 0, 0}, {1, 100, "a", 0, 0}, {1, 50, "c", 0, 0}, {1, 200, "a", 1, 0},
    {1, 300, "b", 0, 0}, {2, 10, "c", 0, 0},  {2, 20, "c", 0, 0},
};

static void test_basic(void) {
    tp_frame *f = frame_of(basic, 7, false, true);
    tp_journeys_build_opts o;
    tp_journeys_build_opts_default(&o);
    tp_journeys *j = NULL;
    tp_frame *feats = NULL;
    tp_journeys_stats st;
    CHECK_OK(tp_journeys_build(f, "basic", &o, &j, &feats, &st));
    if (!j) goto done;
    CHECK(j->n == 3);
    CHECK(j->n_campaigns == 3);
    CHECK_STR(j->campaigns[0], "a");
    CHECK_STR(j->campaigns[2], "c");
    CHECK(j->max_len == 10);
    long a = nth_of(j, 1, 0), b = nth_of(j, 1, 1), c = nth_of(j, 2, 0);
    CHECK_STR(touches(j, a), "c,b,a,a"); /* time order; the t=100 tie keeps input order b, a */
    CHECK_STR(secs(j, a), "150,100,100,0");
    CHECK(a >= 0 && j->converted[a] == 1 && j->length[a] == 4);
    CHECK_STR(touches(j, b), "b"); /* after the last conversion: open, non-converting */
    CHECK(b >= 0 && j->converted[b] == 0 && j->length[b] == 1);
    CHECK(b == a + 1 && j->journey_id[b] == j->journey_id[a] + 1); /* a user's journeys by end time */
    CHECK_STR(touches(j, c), "c,c");
    CHECK_STR(secs(j, c), "10,0");
    CHECK(c >= 0 && j->converted[c] == 0 && j->length[c] == 2);
    CHECK(ids_unique_dense(j));
    CHECK(j->value == NULL);
    // Pass-through feature from the journey's last touch: rows 3 (age 103), 4 (104), 6 (106).
    tp_column *age = feats ? tp_frame_find(feats, "age") : NULL;
    CHECK(age != NULL && tp_column_type(age) == TP_DTYPE_I32);
    if (age) {
        CHECK(tp_column_get_i64(age, (size_t)a) == 103);
        CHECK(tp_column_get_i64(age, (size_t)b) == 104);
        CHECK(tp_column_get_i64(age, (size_t)c) == 106);
    }
    CHECK(st.impressions == 7 && st.users == 2 && st.journeys == 3 && st.conversions == 1);
    CHECK(st.hist_len == 5 && st.length_hist[1] == 1 && st.length_hist[2] == 1 && st.length_hist[4] == 1);
    CHECK(st.cut == 0);
    CHECK(st.len_p80 == 4 && st.len_p95 == 4); /* 1/3 <= 1, 2/3 <= 2, 3/3 <= 4 */

    // Wide layout: index 0 is the oldest kept touch, nulls after the last one; round trip.
    tp_frame *w = NULL;
    CHECK_OK(tp_journeys_to_frame(j, feats, NULL, 0, &w));
    if (w) {
        tp_column *c0 = tp_frame_find(w, "campaign_nm_at_index_0");
        tp_column *c3 = tp_frame_find(w, "campaign_nm_at_index_3");
        tp_column *c9 = tp_frame_find(w, "seconds_to_end_at_index_9");
        CHECK(c0 && c3 && c9 && !tp_frame_find(w, "campaign_nm_at_index_10"));
        CHECK(tp_frame_find(w, "age") != NULL);
        CHECK(tp_frame_n_cols(w) == 4 + 20 + 1);
        if (c0 && c3) {
            CHECK_STR(tp_column_get_str(c0, (size_t)a, NULL), "c");
            CHECK_STR(tp_column_get_str(c3, (size_t)a, NULL), "a");
            CHECK(tp_column_is_null(c3, (size_t)b));
            CHECK(tp_column_get_i64(tp_frame_find(w, "seconds_to_end_at_index_1"), (size_t)a) == 100);
            CHECK(tp_column_is_null(tp_frame_find(w, "seconds_to_end_at_index_2"), (size_t)c));
        }
        tp_journeys *back = NULL;
        CHECK_OK(tp_journeys_from_frame(w, "wide", &back));
        if (back) {
            CHECK(back->n == j->n && back->n_touches == j->n_touches && back->max_len == 10);
            CHECK(back->n_campaigns == 3);
            bool same = true;
            for (size_t i = 0; i < j->n; i++)
                same &= back->journey_id[i] == j->journey_id[i] && back->uid[i] == j->uid[i] &&
                        back->converted[i] == j->converted[i] && back->length[i] == j->length[i] &&
                        back->off[i + 1] == j->off[i + 1];
            for (size_t t = 0; t < j->n_touches; t++)
                same &= back->campaign[t] == j->campaign[t] && back->seconds_to_end[t] == j->seconds_to_end[t];
            CHECK(same);
        }
        tp_journeys_free(back);
        // A row with a value after a null index is refused, naming the file and column.
        tp_column *c5 = tp_frame_find(w, "campaign_nm_at_index_5");
        CHECK_OK(tp_column_set_null(c5, (size_t)a, false));
        back = NULL;
        CHECK_STATUS(tp_journeys_from_frame(w, "bad.parquet", &back), TP_ERR_FORMAT);
        CHECK(strstr(tp_last_error(), "bad.parquet") && strstr(tp_last_error(), "campaign_nm_at_index_5"));
        tp_journeys_free(back);
    }
    tp_frame_free(w);
done:
    tp_journeys_stats_clear(&st);
    tp_frame_free(feats);
    tp_journeys_free(j);
    tp_frame_free(f);
}

static void test_cut_and_lookback(void) {
    tp_frame *f = frame_of(basic, 7, false, false);
    tp_journeys_build_opts o;
    tp_journeys_build_opts_default(&o);
    o.max_len = 2;
    tp_journeys *j = NULL;
    tp_journeys_stats st;
    CHECK_OK(tp_journeys_build(f, "basic", &o, &j, NULL, &st));
    if (j) {
        long a = nth_of(j, 1, 0);
        CHECK_STR(touches(j, a), "a,a"); /* the LAST two touches, the converting one kept */
        CHECK_STR(secs(j, a), "100,0");
        CHECK(j->converted[a] == 1 && j->length[a] == 4); /* label and length before the cut */
        CHECK(j->max_len == 2 && j->n_touches == 2 + 1 + 2);
        CHECK(st.cut == 1 && st.touches == 5);
    }
    tp_journeys_free(j);
    tp_journeys_stats_clear(&st);
    // Lookback 120 s: the touch at t=50 is 150 s before the end (200): dropped.
    tp_journeys_build_opts_default(&o);
    o.lookback_seconds = 120;
    j = NULL;
    CHECK_OK(tp_journeys_build(f, "basic", &o, &j, NULL, &st));
    if (j) {
        long a = nth_of(j, 1, 0);
        CHECK_STR(touches(j, a), "b,a,a");
        CHECK(j->length[a] == 3 && j->converted[a] == 1);
        CHECK_STR(touches(j, nth_of(j, 2, 0)), "c,c");
        CHECK(st.lookback_dropped == 1);
    }
    tp_journeys_free(j);
    tp_journeys_stats_clear(&st);
    tp_frame_free(f);
}

/* A TIMESTAMP column (here microseconds) is read as seconds, rounding down (also before 1970). */
static void test_timestamp_column(void) {
    tp_frame *f = NULL;
    tp_column *u, *t, *c, *v;
    CHECK_OK(tp_frame_new(&f));
    CHECK_OK(tp_column_new("uid", TP_DTYPE_I64, 3, &u));
    CHECK_OK(tp_column_new("timestamp", TP_DTYPE_TIMESTAMP, 3, &t));
    tp_column_set_unit(t, TP_UNIT_MICROS);
    CHECK_OK(tp_column_new("campaign", TP_DTYPE_STR, 3, &c));
    CHECK_OK(tp_column_new("conversion", TP_DTYPE_BOOL, 3, &v));
    const int64_t us[] = {-1500000, 2999999, 10000000}; /* floor: -2 s, 2 s, 10 s */
    for (int i = 0; i < 3; i++) {
        CHECK_OK(tp_column_push_i64(u, 4));
        CHECK_OK(tp_column_push_i64(t, us[i]));
        CHECK_OK(tp_column_push_str(c, i == 1 ? "y" : "x", 1));
        CHECK_OK(tp_column_push_bool(v, i == 2));
    }
    CHECK_OK(tp_frame_add_take(f, u));
    CHECK_OK(tp_frame_add_take(f, t));
    CHECK_OK(tp_frame_add_take(f, c));
    CHECK_OK(tp_frame_add_take(f, v));
    tp_journeys *j = NULL;
    CHECK_OK(tp_journeys_build(f, "micros", NULL, &j, NULL, NULL));
    if (j) {
        CHECK(j->n == 1);
        CHECK_STR(touches(j, 0), "x,y,x");
        CHECK_STR(secs(j, 0), "12,8,0");
    }
    tp_journeys_free(j);
    tp_frame_free(f);
}

static void test_consecutive_conversions(void) {
    static const imp r[] = {
        {3, 1, "a", 1, 0}, {3, 2, "b", 1, 0}, {3, 3, "c", 1, 0}, {3, 4, "a", 0, 0},
    };
    tp_frame *f = frame_of(r, 4, false, false);
    tp_journeys *j = NULL;
    CHECK_OK(tp_journeys_build(f, "consecutive", NULL, &j, NULL, NULL));
    if (j) {
        CHECK(j->n == 4);
        CHECK_STR(touches(j, 0), "a");
        CHECK_STR(touches(j, 1), "b");
        CHECK_STR(touches(j, 2), "c");
        CHECK_STR(touches(j, 3), "a");
        CHECK(j->converted[0] && j->converted[1] && j->converted[2] && !j->converted[3]);
        CHECK(j->journey_id[0] == 1 && j->journey_id[3] == 4);
    }
    tp_journeys_free(j);
    tp_frame_free(f);
}

/* conversion_id groups; uid 1 / conv 12 and uid 11 / conv 2 must get different ids (the
 * reference's bigint(concat(uid, conversion_id)) makes both 112). */
static void test_conversion_id(void) {
    static const imp r[] = {
        {1, 10, "a", 1, 12}, {1, 20, "b", 0, 0}, {1, 30, "c", 1, 12},
        {1, 15, "a", 1, 7},  {1, 40, "b", 1, 7}, {11, 5, "a", 1, 2},
    };
    tp_frame *f = frame_of(r, 6, true, false);
    tp_journeys *j = NULL;
    CHECK_OK(tp_journeys_build(f, "cid", NULL, &j, NULL, NULL));
    if (j) {
        CHECK(j->n == 4);
        CHECK(count_of(j, 1) == 3 && count_of(j, 11) == 1);
        long a = nth_of(j, 1, 0), b = nth_of(j, 1, 1), c = nth_of(j, 1, 2), d = nth_of(j, 11, 0);
        CHECK_STR(touches(j, a), "b"); /* conversion_id 0: the non-converting journey, ends at 20 */
        CHECK(!j->converted[a]);
        CHECK_STR(touches(j, b), "a,c"); /* conv 12, ends at 30 */
        CHECK_STR(secs(j, b), "20,0");
        CHECK(j->converted[b]);
        CHECK_STR(touches(j, c), "a,b"); /* conv 7, ends at 40 */
        CHECK(j->converted[c] && j->length[c] == 2);
        CHECK_STR(touches(j, d), "a");
        CHECK(j->converted[d]);
        CHECK(ids_unique_dense(j));
        CHECK(j->journey_id[b] != j->journey_id[d]);
        CHECK(j->journey_id[a] < j->journey_id[b] && j->journey_id[b] < j->journey_id[c]);
    }
    tp_journeys_free(j);
    tp_frame_free(f);
}

static void test_int_campaign(void) {
    tp_frame *f = NULL;
    tp_column *u, *t, *c, *v;
    CHECK_OK(tp_frame_new(&f));
    CHECK_OK(tp_column_new("uid", TP_DTYPE_I64, 4, &u));
    CHECK_OK(tp_column_new("timestamp", TP_DTYPE_I64, 4, &t));
    CHECK_OK(tp_column_new("campaign", TP_DTYPE_I64, 4, &c));
    CHECK_OK(tp_column_new("conversion", TP_DTYPE_I32, 4, &v)); /* 0/1 ints are accepted */
    const int64_t camps[] = {5061834, 30801593, 5061834, 497593};
    for (int i = 0; i < 4; i++) {
        CHECK_OK(tp_column_push_i64(u, 9));
        CHECK_OK(tp_column_push_i64(t, 1000 + i));
        CHECK_OK(tp_column_push_i64(c, camps[i]));
        CHECK_OK(tp_column_push_i32(v, i == 3));
    }
    CHECK_OK(tp_frame_add_take(f, u));
    CHECK_OK(tp_frame_add_take(f, t));
    CHECK_OK(tp_frame_add_take(f, c));
    CHECK_OK(tp_frame_add_take(f, v));
    tp_journeys *j = NULL;
    CHECK_OK(tp_journeys_build(f, "ints", NULL, &j, NULL, NULL));
    if (j) {
        CHECK(j->n == 1 && j->n_campaigns == 3);
        CHECK_STR(j->campaigns[0], "30801593"); /* names kept as strings, byte order */
        CHECK_STR(j->campaigns[1], "497593");
        CHECK_STR(j->campaigns[2], "5061834");
        CHECK_STR(touches(j, 0), "5061834,30801593,5061834,497593");
        CHECK(j->converted[0] == 1);
    }
    tp_journeys_free(j);
    tp_frame_free(f);
}

/* Event rows (null campaign): the advertiser's own conversions and observations joined to the
 * impressions. uid 1: touches a (t=10), b (t=20), its conversion as an event at t=50 (the end:
 * seconds are to it), a second conversion at t=60 with no touch since (an empty converting
 * journey), a touch c at t=70 and the last observation at t=99 (non-converting, ends at 99).
 * uid 2 has only an observation: one empty non-converting journey. */
static const imp events[] = {
    {1, 10, "a", 0, 1}, {1, 20, "b", 0, 1}, {1, 50, NULL, 1, 1}, {1, 60, NULL, 1, 2},
    {1, 70, "c", 0, 0}, {1, 99, NULL, 0, 0}, {2, 99, NULL, 0, 0},
};

static void test_event_rows(void) {
    for (int with_cid = 0; with_cid < 2; with_cid++) {
        tp_frame *f = frame_of(events, 7, with_cid, false);
        tp_journeys_build_opts o;
        tp_journeys_build_opts_default(&o);
        o.max_len = 1;
        tp_journeys *j = NULL;
        tp_journeys_stats st;
        CHECK_OK(tp_journeys_build(f, "events", &o, &j, NULL, &st));
        if (j) {
            CHECK(j->n == 4 && j->n_campaigns == 3 && count_of(j, 1) == 3 && count_of(j, 2) == 1);
            long a = nth_of(j, 1, 0), b = nth_of(j, 1, 1), c = nth_of(j, 1, 2), d = nth_of(j, 2, 0);
            CHECK_STR(touches(j, a), "b"); /* the last L = 1 touch, not the event row */
            CHECK_STR(secs(j, a), "30");   /* 50 - 20: to the conversion, not to the last touch */
            CHECK(j->converted[a] == 1 && j->length[a] == 2);
            CHECK_STR(touches(j, b), "");
            CHECK(j->converted[b] == 1 && j->length[b] == 0);
            CHECK_STR(touches(j, c), "c");
            CHECK_STR(secs(j, c), "29");
            CHECK(j->converted[c] == 0 && j->length[c] == 1);
            CHECK(j->converted[d] == 0 && j->length[d] == 0 && j->off[d + 1] == j->off[d]);
            CHECK(st.events == 4 && st.empty == 2 && st.touches == 2 && st.conversions == 2);
        }
        tp_journeys_free(j);
        tp_journeys_stats_clear(&st);
        tp_frame_free(f);
    }
}

/* Per-event units: uid 1 sees a (t=10), visits at 20, sees b (30), converts at a visit at 40,
 * sees c (50), visits at 60, sees d (70: no event after it, so no unit); uid 2 only visits. */
static const imp visits[] = {
    {1, 10, "a", 0, 0}, {1, 20, NULL, 0, 0}, {1, 30, "b", 0, 0}, {1, 40, NULL, 1, 0},
    {1, 50, "c", 0, 0}, {1, 60, NULL, 0, 0}, {1, 70, "d", 0, 0}, {2, 5, NULL, 0, 0},
};

static void test_per_event(void) {
    tp_frame *f = frame_of(visits, 8, false, false);
    tp_journeys_build_opts o;
    tp_journeys_build_opts_default(&o);
    o.per_event = true;
    tp_journeys *j = NULL;
    tp_frame *feats = NULL;
    tp_journeys_stats st;
    CHECK_OK(tp_journeys_build(f, "visits", &o, &j, &feats, &st));
    if (j && feats) {
        CHECK(j->n == 4 && count_of(j, 1) == 3 && count_of(j, 2) == 1 && st.conversions == 1);
        long u[3] = {nth_of(j, 1, 0), nth_of(j, 1, 1), nth_of(j, 1, 2)}, v = nth_of(j, 2, 0);
        CHECK_STR(touches(j, u[0]), "a");
        CHECK_STR(secs(j, u[0]), "10");
        CHECK_STR(touches(j, u[1]), "a,b"); /* the journey so far: units overlap */
        CHECK_STR(secs(j, u[1]), "30,10");
        CHECK(j->converted[u[1]] == 1 && j->converted[u[0]] == 0);
        CHECK_STR(touches(j, u[2]), "c"); /* the conversion started a new journey */
        CHECK(j->converted[u[2]] == 0 && j->length[v] == 0 && j->converted[v] == 0);
        tp_column *pe = tp_frame_find(feats, "hist_prev_events"), *pc = tp_frame_find(feats, "hist_prev_conversions"),
                  *ij = tp_frame_find(feats, "hist_events_in_journey");
        CHECK(pe && pc && ij);
        if (pe && pc && ij) {
            const double want[3][3] = {{0, 0, 0}, {1, 0, 1}, {2, 1, 0}};
            for (int k = 0; k < 3; k++) {
                CHECK(tp_column_get_f64(pe, (size_t)u[k]) == want[k][0]);
                CHECK(tp_column_get_f64(pc, (size_t)u[k]) == want[k][1]);
                CHECK(tp_column_get_f64(ij, (size_t)u[k]) == want[k][2]);
            }
            CHECK(tp_column_get_f64(pe, (size_t)v) == 0);
        }
    }
    tp_journeys_free(j);
    tp_frame_free(feats);
    tp_journeys_stats_clear(&st);
    // max_len 1 keeps the last touch of each unit; the length is the unit's before the cut
    o.max_len = 1;
    j = NULL;
    CHECK_OK(tp_journeys_build(f, "visits", &o, &j, NULL, NULL));
    if (j) {
        long b = nth_of(j, 1, 1);
        CHECK_STR(touches(j, b), "b");
        CHECK(j->length[b] == 2);
    }
    tp_journeys_free(j);
    tp_frame_free(f);
    // conversion_id groups and per-event units do not combine
    f = frame_of(visits, 8, true, false);
    j = NULL;
    o.max_len = 10;
    CHECK_STATUS(tp_journeys_build(f, "visits", &o, &j, NULL, NULL), TP_ERR_ARG);
    CHECK(strstr(tp_last_error(), "conversion_id") != NULL);
    tp_frame_free(f);
}

static void test_dedupe(void) {
    static const imp r[] = {
        {5, 1, "a", 0, 0}, {5, 1, "a", 0, 0}, {5, 1, "b", 0, 0}, {5, 1, "a", 0, 0}, {5, 2, "a", 1, 0},
    };
    tp_frame *f = frame_of(r, 5, false, false);
    tp_journeys_build_opts o;
    tp_journeys_build_opts_default(&o);
    tp_journeys *j = NULL;
    tp_journeys_stats st;
    CHECK_OK(tp_journeys_build(f, "dupes", &o, &j, NULL, &st)); /* off by default: every row counts */
    if (j) CHECK_STR(touches(j, 0), "a,a,b,a,a");
    CHECK(st.duplicates == 0);
    tp_journeys_free(j);
    tp_journeys_stats_clear(&st);
    o.dedupe = true;
    j = NULL;
    CHECK_OK(tp_journeys_build(f, "dupes", &o, &j, NULL, &st));
    if (j) {
        CHECK_STR(touches(j, 0), "a,b,a");
        CHECK(j->length[0] == 3);
    }
    CHECK(st.duplicates == 2);
    tp_journeys_free(j);
    tp_journeys_stats_clear(&st);
    tp_frame_free(f);
}

static void test_split(void) {
    tp_journeys_build_opts o, o2;
    tp_journeys_build_opts_default(&o);
    o2 = o;
    o2.seed = 7;
    size_t count[3] = {0, 0, 0}, moved = 0;
    for (int64_t uid = 0; uid < 20000; uid++) {
        int s = tp_journeys_split_of(uid, &o);
        CHECK(s >= 0 && s <= 2);
        if (s < 0 || s > 2) break;
        count[s]++;
        if (tp_journeys_split_of(uid, &o) != s) CHECK(0); /* deterministic */
        moved += tp_journeys_split_of(uid, &o2) != s;
    }
    // 20000 users at 0.8/0.1/0.1: the binomial sd of train is 57 users; 6 sd of slack.
    CHECK(count[0] > 15650 && count[0] < 16350);
    CHECK(count[1] > 1750 && count[1] < 2250 && count[2] > 1750 && count[2] < 2250);
    CHECK(moved > 1000); /* another seed is another split */
    o.n_split = 1;
    CHECK(tp_journeys_split_of(12345, &o) == 0);
}

static size_t dir_entries(const char *path) {
    DIR *d = opendir(path);
    size_t n = 0;
    struct dirent *de;
    if (!d) return (size_t)-1;
    while ((de = readdir(d)))
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) n++;
    closedir(d);
    return n;
}

/* Random impressions: users with skewed activity, ties in time, conversion ids optional. */
static tp_frame *random_frame(size_t n, bool with_cid, uint64_t seed) {
    tp_rng rng;
    tp_rng_seed(&rng, seed);
    tp_frame *f = NULL;
    tp_column *u, *t, *c, *v, *k = NULL, *val, *seg, *age;
    CHECK_OK(tp_frame_new(&f));
    CHECK_OK(tp_column_new("uid", TP_DTYPE_I64, n, &u));
    CHECK_OK(tp_column_new("timestamp", TP_DTYPE_I64, n, &t));
    CHECK_OK(tp_column_new("campaign", TP_DTYPE_STR, n, &c));
    CHECK_OK(tp_column_new("conversion", TP_DTYPE_BOOL, n, &v));
    if (with_cid) CHECK_OK(tp_column_new("conversion_id", TP_DTYPE_I64, n, &k));
    CHECK_OK(tp_column_new("conversion_value", TP_DTYPE_F64, n, &val));
    CHECK_OK(tp_column_new("segment", TP_DTYPE_STR, n, &seg));
    CHECK_OK(tp_column_new("age", TP_DTYPE_I64, n, &age));
    static const char *names[] = {"search", "social", "display", "email", "video", "affiliate"};
    static const char *segs[] = {"new", "returning", "vip"};
    for (size_t i = 0; i < n; i++) {
        int64_t uid = (int64_t)(tp_rng_below(&rng, n / 8 + 1) * tp_rng_below(&rng, 3)) - 5;
        const char *nm = names[tp_rng_below(&rng, 6)];
        bool conv = tp_rng_uniform(&rng) < 0.15;
        CHECK_OK(tp_column_push_i64(u, uid));
        CHECK_OK(tp_column_push_i64(t, (int64_t)tp_rng_below(&rng, 40) * 3600));
        if (tp_rng_uniform(&rng) < 0.1) CHECK_OK(tp_column_push_null(c)); /* event rows too */
        else CHECK_OK(tp_column_push_str(c, nm, strlen(nm)));
        CHECK_OK(tp_column_push_bool(v, conv));
        if (k) CHECK_OK(tp_column_push_i64(k, conv ? (int64_t)tp_rng_below(&rng, 4) : 0));
        if (tp_rng_uniform(&rng) < 0.1) CHECK_OK(tp_column_push_null(val));
        else CHECK_OK(tp_column_push_f64(val, conv ? 10.0 * (double)tp_rng_below(&rng, 10) : 0.0));
        const char *sg = segs[tp_rng_below(&rng, 3)];
        CHECK_OK(tp_column_push_str(seg, sg, strlen(sg)));
        CHECK_OK(tp_column_push_i64(age, 18 + (int64_t)tp_rng_below(&rng, 60)));
    }
    CHECK_OK(tp_frame_add_take(f, u));
    CHECK_OK(tp_frame_add_take(f, t));
    CHECK_OK(tp_frame_add_take(f, c));
    CHECK_OK(tp_frame_add_take(f, v));
    if (k) CHECK_OK(tp_frame_add_take(f, k));
    CHECK_OK(tp_frame_add_take(f, val));
    CHECK_OK(tp_frame_add_take(f, seg));
    CHECK_OK(tp_frame_add_take(f, age));
    return f;
}

static bool same_journeys(const tp_journeys *a, const tp_journeys *b) {
    if (a->n != b->n || a->n_touches != b->n_touches || a->n_campaigns != b->n_campaigns ||
        a->max_len != b->max_len || (a->value == NULL) != (b->value == NULL))
        return false;
    for (size_t k = 0; k < a->n_campaigns; k++)
        if (strcmp(a->campaigns[k], b->campaigns[k])) return false;
    for (size_t i = 0; i < a->n; i++)
        if (a->journey_id[i] != b->journey_id[i] || a->uid[i] != b->uid[i] ||
            a->converted[i] != b->converted[i] || a->length[i] != b->length[i] ||
            a->off[i + 1] != b->off[i + 1] || (a->value && a->value[i] != b->value[i]))
            return false;
    for (size_t t = 0; t < a->n_touches; t++)
        if (a->campaign[t] != b->campaign[t] || a->seconds_to_end[t] != b->seconds_to_end[t]) return false;
    return true;
}

static bool same_features(const tp_frame *a, const tp_frame *b) {
    if (tp_frame_n_cols(a) != tp_frame_n_cols(b) || tp_frame_n_rows(a) != tp_frame_n_rows(b)) return false;
    char x[64], y[64];
    for (size_t k = 0; k < tp_frame_n_cols(a); k++) {
        tp_column *ca = tp_frame_col(a, k), *cb = tp_frame_col(b, k);
        if (strcmp(tp_column_name(ca), tp_column_name(cb)) || tp_column_type(ca) != tp_column_type(cb))
            return false;
        for (size_t i = 0; i < tp_frame_n_rows(a); i++) {
            const char *sa = NULL, *sb = NULL;
            size_t la = 0, lb = 0;
            size_t na = tp_column_format(ca, i, x, &sa, &la), nb = tp_column_format(cb, i, y, &sb, &lb);
            if (tp_column_is_null(ca, i) != tp_column_is_null(cb, i)) return false;
            if (sa || sb) {
                if (!sa || !sb || la != lb || memcmp(sa, sb, la)) return false;
            } else if (na != nb || memcmp(x, y, na)) {
                return false;
            }
        }
    }
    return true;
}

/* The bucketed (out-of-core) path must give exactly what the in-memory path gives. */
static void test_bucketed_equals_memory(void) {
    for (int mode = 0; mode < 3; mode++) { /* 0: journeys, 1: conversion_id groups, 2: per-event units */
        int with_cid = mode == 1;
        tp_frame *f = random_frame(30000, with_cid, 11 + (uint64_t)mode);
        tp_journeys_build_opts o;
        tp_journeys_build_opts_default(&o);
        o.max_len = 4;
        o.lookback_seconds = 30 * 3600;
        o.dedupe = with_cid;
        o.per_event = mode == 2;
        tp_journeys *a = NULL, *b = NULL;
        tp_frame *fa = NULL, *fb = NULL;
        tp_journeys_stats sa, sb;
        memset(&sa, 0, sizeof sa);
        memset(&sb, 0, sizeof sb);
        CHECK_OK(tp_journeys_build(f, "random", &o, &a, &fa, &sa));
        const char *tmp = tp_test_path(mode == 1 ? "buckets_cid" : mode == 2 ? "buckets_ev" : "buckets");
        mkdir(tmp, 0755);
        o.tmp_dir = tmp;
        o.memory_bytes = 64 << 10; /* 64 KiB: spills, and the larger buckets split again */
        CHECK_OK(tp_journeys_build(f, "random", &o, &b, &fb, &sb));
        CHECK(sa.buckets == 0 && sb.buckets >= 256);
        // The in-memory path runs partitions on threads: any thread count gives the same output.
        int threads = tp_threads_default();
        tp_journeys *c1 = NULL, *c4 = NULL;
        tp_frame *f1 = NULL, *f4 = NULL;
        o.memory_bytes = 0;
        tp_threads_set_default(1);
        CHECK_OK(tp_journeys_build(f, "random", &o, &c1, &f1, NULL));
        tp_threads_set_default(4);
        CHECK_OK(tp_journeys_build(f, "random", &o, &c4, &f4, NULL));
        tp_threads_set_default(threads);
        o.memory_bytes = 64 << 10;
        if (a && c1 && c4) {
            CHECK(same_journeys(a, c1) && same_journeys(a, c4));
            CHECK(same_features(fa, f1) && same_features(fa, f4));
        }
        tp_journeys_free(c1);
        tp_journeys_free(c4);
        tp_frame_free(f1);
        tp_frame_free(f4);
        if (a && b) {
            CHECK(a->n > 1000);
            CHECK(same_journeys(a, b));
            CHECK(ids_unique_dense(a));
            CHECK(a->value != NULL);
            CHECK(tp_frame_n_cols(fa) == (mode == 2 ? 6u : 3u)); /* conversion_value, segment, age (+ 3 hist_) */
            CHECK(same_features(fa, fb));
            CHECK(sa.journeys == sb.journeys && sa.conversions == sb.conversions &&
                  sa.users == sb.users && sa.cut == sb.cut && sa.duplicates == sb.duplicates &&
                  sa.lookback_dropped == sb.lookback_dropped && sa.hist_len == sb.hist_len &&
                  sa.events == sb.events && sa.empty == sb.empty);
            CHECK(sa.journeys == a->n && sa.impressions == 30000);
        }
        CHECK(dir_entries(tmp) == 0); /* the bucket folder is gone */
        tp_journeys_free(a);
        tp_journeys_free(b);
        tp_frame_free(fa);
        tp_frame_free(fb);
        tp_journeys_stats_clear(&sa);
        tp_journeys_stats_clear(&sb);
        tp_frame_free(f);
    }
}

static void test_errors(void) {
    static const imp r[] = {{1, 1, "a", 0, 0}};
    tp_frame *f = frame_of(r, 1, false, false);
    tp_journeys *j = NULL;
    tp_column *c = tp_frame_remove(f, 3); /* conversion */
    tp_column_free(c);
    CHECK_STATUS(tp_journeys_build(f, "noconv.parquet", NULL, &j, NULL, NULL), TP_ERR_NOTFOUND);
    CHECK(strstr(tp_last_error(), "conversion") && strstr(tp_last_error(), "noconv.parquet"));
    tp_frame_free(f);
    // A null uid names the column and the row.
    f = frame_of(basic, 7, false, false);
    CHECK_OK(tp_column_set_null(tp_frame_find(f, "uid"), 5, true));
    CHECK_STATUS(tp_journeys_build(f, "nulls.parquet", NULL, &j, NULL, NULL), TP_ERR_FORMAT);
    CHECK(strstr(tp_last_error(), "'uid'") && strstr(tp_last_error(), "row 5"));
    tp_frame_free(f);
}

static void test_onehot(void) {
    tp_frame *f = frame_of(basic, 7, false, false);
    tp_journeys_build_opts o;
    tp_journeys_build_opts_default(&o);
    o.max_len = 3;
    tp_journeys *j = NULL;
    tp_frame *h = NULL;
    CHECK_OK(tp_journeys_build(f, "basic", &o, &j, NULL, NULL));
    if (j) CHECK_OK(tp_encode_onehot(j, 0, j->n, false, &h));
    if (h) {
        // journey_id, 3 positions x 3 campaigns, conversion_status: the reference's order.
        CHECK(tp_frame_n_cols(h) == 1 + 9 + 1);
        CHECK_STR(tp_column_name(tp_frame_col(h, 0)), "journey_id");
        CHECK_STR(tp_column_name(tp_frame_col(h, 1)), "campaign_nm_at_index_1_in_journey_is_a");
        CHECK_STR(tp_column_name(tp_frame_col(h, 3)), "campaign_nm_at_index_1_in_journey_is_c");
        CHECK_STR(tp_column_name(tp_frame_col(h, 4)), "campaign_nm_at_index_2_in_journey_is_a");
        CHECK_STR(tp_column_name(tp_frame_col(h, 10)), "conversion_status");
        CHECK(tp_column_type(tp_frame_col(h, 1)) == TP_DTYPE_I64);
        long a = nth_of(j, 1, 0); /* kept: b,a,a */
        tp_column *i1b = tp_frame_find(h, "campaign_nm_at_index_1_in_journey_is_b");
        tp_column *i1a = tp_frame_find(h, "campaign_nm_at_index_1_in_journey_is_a");
        tp_column *i3a = tp_frame_find(h, "campaign_nm_at_index_3_in_journey_is_a");
        tp_column *i3c = tp_frame_find(h, "campaign_nm_at_index_3_in_journey_is_c");
        CHECK(tp_column_get_i64(i1b, (size_t)a) == 1 && tp_column_get_i64(i1a, (size_t)a) == 0);
        CHECK(tp_column_get_i64(i3a, (size_t)a) == 1);
        long c = nth_of(j, 2, 0); /* c,c: position 3 is padding, all zeros */
        CHECK(tp_column_get_i64(i3c, (size_t)c) == 0);
        CHECK(tp_column_get_i64(tp_frame_col(h, 10), (size_t)a) == 1);
        CHECK(tp_column_get_i64(tp_frame_col(h, 10), (size_t)c) == 0);
        long s = 0;
        for (size_t k = 1; k < 10; k++) s += tp_column_get_i64(tp_frame_col(h, k), (size_t)c);
        CHECK(s == 2);
    }
    tp_frame_free(h);
    tp_journeys_free(j);
    tp_frame_free(f);
}

/* The real Criteo rows (timestamp first, integer campaign, bool conversion), through journeys.
 * Expected counts computed independently with DuckDB: per uid, one journey per converting row
 * plus one open journey when the user's last row (by time, then file order) does not convert. */
#define CRITEO_USERS 911
#define CRITEO_JOURNEYS 924
#define CRITEO_CONVERSIONS 76
#define CRITEO_CAMPAIGNS 21
static void test_criteo(void) {
    const char *root = tp_test_shared_data();
    if (!root) {
        printf("  (shared data not found: skipping the Criteo file)\n");
        return;
    }
    char path[600];
    snprintf(path, sizeof path, "%s/deepattribution/raw_impressions_criteo_head1000.parquet", root);
    tp_frame *f = NULL;
    CHECK_OK(tp_table_read(path, NULL, 0, &f));
    if (!f) return;
    CHECK(tp_column_type(tp_frame_find(f, "campaign")) == TP_DTYPE_I64);
    tp_journeys_build_opts o;
    tp_journeys_build_opts_default(&o);
    tp_journeys *j = NULL;
    tp_journeys_stats st;
    memset(&st, 0, sizeof st);
    CHECK_OK(tp_journeys_build(f, path, &o, &j, NULL, &st));
    if (j) {
        CHECK(st.impressions == 1000);
        CHECK(st.users == CRITEO_USERS);
        CHECK(j->n == CRITEO_JOURNEYS);
        CHECK(st.conversions == CRITEO_CONVERSIONS);
        CHECK(j->n_campaigns == CRITEO_CAMPAIGNS);
        CHECK(ids_unique_dense(j));
    }
    tp_journeys_stats_clear(&st);
    tp_journeys_free(j);
    tp_frame_free(f);
}

/* The reference's own files: its job-1 output (train_sample_onehot.parquet, columns
 * campaign_nm_at_index_{1..10}_in_journey) put into our wide layout and one-hot encoded must give
 * exactly its job-2 output (preprocessed_part_0.parquet: a subset of those journeys), column names,
 * column order and every value. */
static void test_reference_onehot(void) {
    const char *root = tp_test_shared_data();
    if (!root) return;
    char path[600], name[80];
    tp_frame *ref = NULL, *pre = NULL, *w = NULL, *h = NULL;
    tp_journeys *j = NULL;
    tp_i64map *rowof = NULL;
    snprintf(path, sizeof path, "%s/deepattribution/train_sample_onehot.parquet", root);
    CHECK_OK(tp_table_read(path, NULL, 0, &ref));
    snprintf(path, sizeof path, "%s/deepattribution/preprocessed_part_0.parquet", root);
    CHECK_OK(tp_table_read(path, NULL, 0, &pre));
    if (!ref || !pre) goto done;
    size_t n = tp_frame_n_rows(ref), L = 10;
    const char *keep[] = {"journey_id", "conversion_status"};
    CHECK_OK(tp_frame_project(ref, keep, 2, &w));
    if (!w) goto done;
    tp_column *uid, *len;
    tp_column *jid = tp_frame_find(w, "journey_id");
    CHECK_OK(tp_column_new("uid", TP_DTYPE_I64, n, &uid));
    CHECK_OK(tp_column_new("journey_length", TP_DTYPE_I32, n, &len));
    CHECK_OK(tp_column_resize(len, n));
    for (size_t i = 0; i < n; i++) CHECK_OK(tp_column_push_i64(uid, tp_column_get_i64(jid, i)));
    CHECK_OK(tp_frame_add_take(w, uid));
    tp_column *camp[10], *sec[10];
    for (size_t p = 0; p < L; p++) {
        snprintf(name, sizeof name, "campaign_nm_at_index_%zu_in_journey", p + 1);
        tp_column *src = tp_frame_find(ref, name);
        CHECK(src != NULL);
        if (!src) goto done;
        CHECK_OK(tp_column_take(src, NULL, 0, &camp[p])); /* empty, same dictionary */
        CHECK_OK(tp_column_append(camp[p], src, 0, n));
        snprintf(name, sizeof name, "campaign_nm_at_index_%zu", p);
        CHECK_OK(tp_column_rename(camp[p], name));
        snprintf(name, sizeof name, "seconds_to_end_at_index_%zu", p);
        CHECK_OK(tp_column_new(name, TP_DTYPE_I64, n, &sec[p]));
        for (size_t i = 0; i < n; i++) {
            bool null = tp_column_is_null(src, i);
            if (null) CHECK_OK(tp_column_push_null(sec[p]));
            else CHECK_OK(tp_column_push_i64(sec[p], 0));
            if (!null) TP_COL(len, int32_t)[i]++;
        }
    }
    for (size_t p = 0; p < L; p++) CHECK_OK(tp_frame_add_take(w, camp[p]));
    for (size_t p = 0; p < L; p++) CHECK_OK(tp_frame_add_take(w, sec[p]));
    CHECK_OK(tp_frame_add_take(w, len));
    CHECK_OK(tp_journeys_from_frame(w, "train_sample_onehot.parquet", &j));
    if (!j) goto done;
    CHECK(j->n == 8438 && j->n_campaigns == 20 && j->max_len == 10);
    CHECK_OK(tp_encode_onehot(j, 0, j->n, false, &h));
    if (!h) goto done;
    CHECK(tp_frame_n_cols(h) == tp_frame_n_cols(pre) && tp_frame_n_cols(h) == 202);
    size_t nc = tp_frame_n_cols(h) < tp_frame_n_cols(pre) ? tp_frame_n_cols(h) : tp_frame_n_cols(pre);
    size_t bad_names = 0, bad_types = 0, bad_values = 0, missing = 0;
    for (size_t k = 0; k < nc; k++) {
        bad_names += strcmp(tp_column_name(tp_frame_col(h, k)), tp_column_name(tp_frame_col(pre, k))) != 0;
        bad_types += tp_column_type(tp_frame_col(h, k)) != tp_column_type(tp_frame_col(pre, k));
    }
    CHECK(bad_names == 0 && bad_types == 0);
    CHECK_OK(tp_i64map_new(j->n, &rowof));
    for (size_t i = 0; i < j->n; i++) {
        int64_t v = (int64_t)i;
        int ins;
        CHECK_OK(tp_i64map_get_or_put(rowof, j->journey_id[i], &v, &ins));
    }
    tp_column *pid = tp_frame_col(pre, 0);
    for (size_t r = 0; r < tp_frame_n_rows(pre); r++) {
        int64_t i;
        if (!tp_i64map_get(rowof, tp_column_get_i64(pid, r), &i)) {
            missing++;
            continue;
        }
        for (size_t k = 0; k < nc; k++)
            bad_values += tp_column_get_i64(tp_frame_col(h, k), (size_t)i) !=
                          tp_column_get_i64(tp_frame_col(pre, k), r);
    }
    CHECK(missing == 0);
    CHECK(bad_values == 0);
    if (bad_names || bad_values) printf("  reference one-hot: %zu names, %zu values differ\n", bad_names, bad_values);
done:
    tp_i64map_free(rowof);
    tp_journeys_free(j);
    tp_frame_free(h);
    tp_frame_free(w);
    tp_frame_free(ref);
    tp_frame_free(pre);
}

/* The file job: splits are disjoint by user and together hold exactly the in-memory journeys;
 * the bucketed run writes the same files' content; no temporary file survives; a failing run
 * leaves no output. */
static void test_write_files(void) {
    tp_frame *f = random_frame(20000, false, 5);
    const char *in = tp_test_path("imp.parquet");
    CHECK_OK(tp_table_write(f, in, NULL));
    tp_journeys_build_opts o;
    tp_journeys_build_opts_default(&o);
    tp_journeys *mem = NULL, *disk = NULL, *disk2 = NULL;
    CHECK_OK(tp_journeys_build(f, "random", &o, &mem, NULL, NULL));
    char out[512], out2[512], p[600];
    snprintf(out, sizeof out, "%s", tp_test_path("jout"));
    snprintf(out2, sizeof out2, "%s", tp_test_path("jout_buckets"));
    tp_journeys_stats st, st2;
    memset(&st, 0, sizeof st);
    memset(&st2, 0, sizeof st2);
    CHECK_OK(tp_journeys_write(in, out, &o, &st));
    CHECK(dir_entries(out) == 5); /* train, val, test, mapper.json, stats.json */
    o.memory_bytes = 256 << 10;
    CHECK_OK(tp_journeys_write(in, out2, &o, &st2));
    CHECK(dir_entries(out2) == 5 && st2.buckets >= 256 && st.buckets == 0);
    CHECK(st.journeys == st2.journeys && st.per_split[0] == st2.per_split[0] &&
          st.per_split[1] == st2.per_split[1] && st.per_split[2] == st2.per_split[2]);
    CHECK_OK(tp_journeys_read(out, &disk));
    CHECK_OK(tp_journeys_read(out2, &disk2));
    if (mem && disk && disk2) {
        CHECK(disk->n == mem->n && disk->n_touches == mem->n_touches);
        CHECK(same_journeys(disk, disk2));
        // Every journey of the in-memory set is on disk once, identical; users in one split only.
        tp_i64map *byid = NULL, *split_of_uid = NULL;
        CHECK_OK(tp_i64map_new(mem->n, &byid));
        CHECK_OK(tp_i64map_new(mem->n, &split_of_uid));
        size_t bad = 0, s0 = st.per_split[0], s1 = s0 + st.per_split[1];
        for (size_t i = 0; i < disk->n; i++) {
            int64_t v = (int64_t)i, sp = i < s0 ? 0 : i < s1 ? 1 : 2, got = sp;
            int ins;
            CHECK_OK(tp_i64map_get_or_put(byid, disk->journey_id[i], &v, &ins));
            bad += !ins;
            CHECK_OK(tp_i64map_get_or_put(split_of_uid, disk->uid[i], &got, &ins));
            bad += got != sp;
            bad += tp_journeys_split_of(disk->uid[i], &o) != (int)sp;
        }
        CHECK(bad == 0);
        for (size_t i = 0; i < mem->n; i++) {
            int64_t k;
            if (!tp_i64map_get(byid, mem->journey_id[i], &k)) {
                bad++;
                continue;
            }
            bad += disk->uid[k] != mem->uid[i] || disk->converted[k] != mem->converted[i] ||
                   disk->length[k] != mem->length[i] ||
                   disk->off[k + 1] - disk->off[k] != mem->off[i + 1] - mem->off[i];
            for (uint64_t t = 0; t < mem->off[i + 1] - mem->off[i]; t++)
                bad += strcmp(disk->campaigns[disk->campaign[disk->off[k] + t]],
                              mem->campaigns[mem->campaign[mem->off[i] + t]]) != 0 ||
                       disk->seconds_to_end[disk->off[k] + t] != mem->seconds_to_end[mem->off[i] + t];
        }
        CHECK(bad == 0);
        tp_i64map_free(byid);
        tp_i64map_free(split_of_uid);
    }
    // --split 1: only all.parquet.
    o.n_split = 1;
    o.memory_bytes = 0;
    snprintf(p, sizeof p, "%s", tp_test_path("jout_all"));
    CHECK_OK(tp_journeys_write(in, p, &o, NULL));
    CHECK(dir_entries(p) == 3);
    snprintf(p + strlen(p), sizeof p - strlen(p), "/all.parquet");
    struct stat sb;
    CHECK(stat(p, &sb) == 0);
    // A failing run (no 'campaign' column) leaves no output and no temporary folder.
    tp_column_free(tp_frame_remove(f, 2));
    const char *bad_in = tp_test_path("bad.parquet");
    CHECK_OK(tp_table_write(f, bad_in, NULL));
    snprintf(p, sizeof p, "%s", tp_test_path("jout_bad"));
    o.memory_bytes = 1 << 20;
    CHECK_STATUS(tp_journeys_write(bad_in, p, &o, NULL), TP_ERR_NOTFOUND);
    CHECK(strstr(tp_last_error(), "campaign") != NULL);
    CHECK(dir_entries(p) == 0);
    // A failure after spilling (a null timestamp in row group 16 of 20, 1 MiB budget) removes the
    // bucket files and the split files: the output folder stays empty.
    tp_frame_free(f);
    f = random_frame(20000, false, 5);
    CHECK_OK(tp_column_set_null(tp_frame_find(f, "timestamp"), 15500, true));
    tp_write_opts wo;
    tp_write_opts_default(&wo);
    wo.parquet.row_group_rows = 1000;
    const char *late = tp_test_path("late_null.parquet");
    CHECK_OK(tp_table_write(f, late, &wo));
    snprintf(p, sizeof p, "%s", tp_test_path("jout_late"));
    o.n_split = 3;
    o.memory_bytes = 1 << 20;
    o.max_len = 10;
    CHECK_STATUS(tp_journeys_write(late, p, &o, NULL), TP_ERR_FORMAT);
    CHECK(strstr(tp_last_error(), "'timestamp'") && strstr(tp_last_error(), "row 15500"));
    CHECK(dir_entries(p) == 0);
    o.memory_bytes = 64 << 10; /* spills from the first row group on */
    CHECK_STATUS(tp_journeys_write(late, p, &o, NULL), TP_ERR_FORMAT);
    CHECK(dir_entries(p) == 0);
    tp_journeys_stats_clear(&st);
    tp_journeys_stats_clear(&st2);
    tp_journeys_free(mem);
    tp_journeys_free(disk);
    tp_journeys_free(disk2);
    tp_frame_free(f);
}

void suite_journeys(void) {
    test_basic();
    test_cut_and_lookback();
    test_consecutive_conversions();
    test_timestamp_column();
    test_conversion_id();
    test_int_campaign();
    test_event_rows();
    test_per_event();
    test_dedupe();
    test_split();
    test_bucketed_equals_memory();
    test_errors();
    test_onehot();
    test_criteo();
    test_reference_onehot();
    test_write_files();
}

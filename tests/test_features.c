/* test_features.c: propensity features on a tiny event log with hand-computed values (every
 * metric, both windows, the as-of boundary to the second), leakage, labels at the horizon's
 * edges, zero denominators, the model matrix, the feature store's no-op / new-version rules and
 * catalogue rows, YAML errors with lines, and identical results for 1, 2 and 3 threads. */
#include "test.h"

#include "touchpoint/events_sim.h"
#include "touchpoint/features.h"

#include <stdlib.h>

#define D0 1704067200LL           /* 2024-01-01 00:00 UTC */
#define DAY 86400LL
#define T (D0 + 9 * DAY)          /* as-of 2024-01-10 */
#define H 3600LL

typedef struct ev {
    int64_t uid, ts;
    const char *type, *item, *group;
    double amount; /* NAN = null */
} ev;

/* The log of the hand computations (comments give each event's role). */
static const ev LOG[] = {
    {1, D0 + 10 * H, "view", "i1", "A", NAN},           // e1 day 0: 30d only
    {1, D0 + 5 * DAY + 8 * H, "view", "i2", "A", NAN},  // e2 day 5
    {1, D0 + 5 * DAY + 9 * H, "view", "i1", "A", NAN},  // e3 day 5 (same day)
    {1, D0 + 8 * DAY + 12 * H, "cart", "i1", "A", NAN}, // e4 day 8
    {1, T - 1, "purchase", "i1", "A", 10.0},            // e5 one second before as-of: in
    {1, T, "purchase", "i3", "B", 99.0},                // e6 exactly at as-of: out
    {1, T + 5 * DAY, "purchase", "i1", "A", 20.0},      // e7 label for A
    {1, D0 + 6 * DAY + 12 * H, "view", "i3", "B", NAN}, // e8 day 6
    {2, D0 + 1 * DAY + 10 * H, "view", "i4", "B", NAN}, // e9 day 1
    {2, T + 30 * DAY + 1, "purchase", "i4", "B", 5.0},  // e10 one second after the horizon
    {3, T + 1, "view", "i1", "A", NAN},                 // u3 only after as-of: no row
};

static const char DEFS[] =
    "event_types: [view, cart, purchase]\n"
    "windows: [7, 30]\n"
    "features:\n"
    "  - level: user_group\n"
    "    metrics: [count, distinct_days, distinct_items]\n"
    "  - level: user_group\n"
    "    metrics: [sum_amount, mean_amount]\n"
    "    event_types: [purchase]\n"
    "  - level: user_group\n"
    "    metric: days_since_last\n"
    "    event_types: [view]\n"
    "  - level: user_group\n"
    "    metric: ratio\n"
    "    name: cart_to_view\n"
    "    numerator: cart_count\n"
    "    denominator: view_count\n"
    "    windows: [7, 30]\n"
    "    zero: -1\n"
    "  - level: user_group\n"
    "    metric: share\n"
    "    event_types: [view]\n"
    "    windows: [30]\n"
    "  - level: user_group\n"
    "    metric: trend\n"
    "    of: view_count\n"
    "    short: 7\n"
    "    long: 30\n"
    "  - level: user\n"
    "    metrics: [count, distinct_days]\n"
    "    event_types: [view, any]\n"
    "  - level: group\n"
    "    metrics: [count, distinct_users, distinct_days]\n"
    "    event_types: [view]\n";

static tp_frame *log_frame(const ev *e, size_t n) {
    tp_frame *f = NULL;
    tp_column *c[6];
    const char *names[] = {"uid", "timestamp", "event_type", "item", "group", "amount"};
    tp_dtype types[] = {TP_DTYPE_I64, TP_DTYPE_I64, TP_DTYPE_STR, TP_DTYPE_STR, TP_DTYPE_STR, TP_DTYPE_F64};
    tp_frame_new(&f);
    for (int k = 0; k < 6; k++) tp_column_new(names[k], types[k], n, &c[k]);
    for (size_t i = 0; i < n; i++) {
        tp_column_push_i64(c[0], e[i].uid);
        tp_column_push_i64(c[1], e[i].ts);
        tp_column_push_str(c[2], e[i].type, strlen(e[i].type));
        tp_column_push_str(c[3], e[i].item, strlen(e[i].item));
        tp_column_push_str(c[4], e[i].group, strlen(e[i].group));
        if (isnan(e[i].amount))
            tp_column_push_null(c[5]);
        else
            tp_column_push_f64(c[5], e[i].amount);
    }
    for (int k = 0; k < 6; k++) tp_frame_add_take(f, c[k]);
    return f;
}

static double val(const tp_frame *f, const char *col, size_t row) {
    tp_column *c = tp_frame_find(f, col);
    if (!c || row >= tp_frame_n_rows(f)) {
        fprintf(stderr, "  missing column %s or row %zu\n", col, row);
        return NAN;
    }
    return tp_column_get_f64(c, row);
}

static int32_t as_of_day(void) { return (int32_t)(T / DAY); }

static void test_hand_values(void) {
    tp_feature_defs *d = NULL;
    tp_events *e = NULL;
    tp_feature_set *fs = NULL;
    tp_frame *lf = log_frame(LOG, sizeof LOG / sizeof *LOG);
    CHECK_OK(tp_feature_defs_parse(DEFS, strlen(DEFS), "defs", &d));
    CHECK_OK(tp_events_from_frames(lf, NULL, &e));
    if (!d || !e) goto done;
    CHECK(tp_events_n_users(e) == 3);
    CHECK(tp_events_n_groups(e) == 2);
    CHECK_STR(tp_events_group_name(e, 0), "A");
    CHECK_OK(tp_features_compute(e, d, as_of_day(), 1, &fs));
    if (!fs) goto done;
    const tp_frame *ug = fs->level[TP_LEVEL_USER_GROUP], *u = fs->level[TP_LEVEL_USER],
                   *g = fs->level[TP_LEVEL_GROUP];
    // rows: (1,A), (1,B), (2,B); users 1, 2 (user 3 has nothing before as-of); groups A, B
    CHECK(tp_frame_n_rows(ug) == 3);
    CHECK(tp_frame_n_rows(u) == 2);
    CHECK(tp_frame_n_rows(g) == 2);
    CHECK(val(ug, "uid", 0) == 1 && val(ug, "uid", 1) == 1 && val(ug, "uid", 2) == 2);
    // (1, A): e1..e5
    CHECK_CLOSE(val(ug, "view_count_7d", 0), 2, 0);
    CHECK_CLOSE(val(ug, "view_count_30d", 0), 3, 0);
    CHECK_CLOSE(val(ug, "cart_count_7d", 0), 1, 0);
    CHECK_CLOSE(val(ug, "purchase_count_7d", 0), 1, 0); // e5 (T-1) in, e6 (T) is group B anyway
    CHECK_CLOSE(val(ug, "view_distinct_days_7d", 0), 1, 0);
    CHECK_CLOSE(val(ug, "view_distinct_days_30d", 0), 2, 0);
    CHECK_CLOSE(val(ug, "view_distinct_items_7d", 0), 2, 0);
    CHECK_CLOSE(val(ug, "view_distinct_items_30d", 0), 2, 0);
    CHECK_CLOSE(val(ug, "cart_distinct_items_30d", 0), 1, 0);
    CHECK_CLOSE(val(ug, "purchase_sum_amount_7d", 0), 10, 0);
    CHECK_CLOSE(val(ug, "purchase_mean_amount_30d", 0), 10, 0);
    CHECK_CLOSE(val(ug, "view_days_since_last_7d", 0), 3 + 15.0 / 24, 1e-12);
    CHECK_CLOSE(val(ug, "view_days_since_last_30d", 0), 3 + 15.0 / 24, 1e-12);
    CHECK_CLOSE(val(ug, "cart_to_view_7d", 0), 0.5, 1e-15);
    CHECK_CLOSE(val(ug, "cart_to_view_30d", 0), 1.0 / 3, 1e-15);
    CHECK_CLOSE(val(ug, "view_share_30d", 0), 0.75, 1e-15);
    CHECK_CLOSE(val(ug, "view_count_trend_7d_30d", 0), 2.0 / 3, 1e-15);
    // (1, B): only e8; e6 at exactly T is excluded
    CHECK_CLOSE(val(ug, "view_count_7d", 1), 1, 0);
    CHECK_CLOSE(val(ug, "purchase_count_30d", 1), 0, 0);
    CHECK_CLOSE(val(ug, "purchase_sum_amount_30d", 1), 0, 0);
    CHECK_CLOSE(val(ug, "purchase_mean_amount_30d", 1), 0, 0); // no amount: documented 0
    CHECK_CLOSE(val(ug, "view_days_since_last_7d", 1), 2.5, 1e-12);
    CHECK_CLOSE(val(ug, "cart_to_view_7d", 1), 0, 0);
    CHECK_CLOSE(val(ug, "view_share_30d", 1), 0.25, 1e-15);
    // (2, B): e9 on day 1, outside the 7-day window
    CHECK_CLOSE(val(ug, "view_count_7d", 2), 0, 0);
    CHECK_CLOSE(val(ug, "view_count_30d", 2), 1, 0);
    CHECK_CLOSE(val(ug, "view_distinct_days_7d", 2), 0, 0);
    CHECK_CLOSE(val(ug, "view_days_since_last_7d", 2), 7, 0); // empty window: the window length
    CHECK_CLOSE(val(ug, "view_days_since_last_30d", 2), 7 + 14.0 / 24, 1e-12);
    CHECK_CLOSE(val(ug, "cart_to_view_7d", 2), -1, 0); // 0/0 -> zero: -1
    CHECK_CLOSE(val(ug, "cart_to_view_30d", 2), 0, 0); // 0/1
    CHECK_CLOSE(val(ug, "view_count_trend_7d_30d", 2), 0, 0);
    CHECK_CLOSE(val(ug, "view_share_30d", 2), 1, 0);
    // users
    CHECK_CLOSE(val(u, "view_count_7d", 0), 3, 0);
    CHECK_CLOSE(val(u, "view_count_30d", 0), 4, 0);
    CHECK_CLOSE(val(u, "view_distinct_days_7d", 0), 2, 0);
    CHECK_CLOSE(val(u, "view_distinct_days_30d", 0), 3, 0);
    CHECK_CLOSE(val(u, "any_count_7d", 0), 5, 0);
    CHECK_CLOSE(val(u, "any_count_30d", 0), 6, 0);
    CHECK_CLOSE(val(u, "any_distinct_days_7d", 0), 3, 0);
    CHECK_CLOSE(val(u, "any_distinct_days_30d", 0), 4, 0);
    CHECK_CLOSE(val(u, "any_count_7d", 1), 0, 0);
    CHECK_CLOSE(val(u, "any_count_30d", 1), 1, 0);
    // groups
    CHECK_CLOSE(val(g, "view_count_7d", 0), 2, 0);
    CHECK_CLOSE(val(g, "view_count_30d", 0), 3, 0);
    CHECK_CLOSE(val(g, "view_distinct_users_30d", 0), 1, 0);
    CHECK_CLOSE(val(g, "view_distinct_days_7d", 0), 1, 0);
    CHECK_CLOSE(val(g, "view_distinct_days_30d", 0), 2, 0);
    CHECK_CLOSE(val(g, "view_count_30d", 1), 2, 0);
    CHECK_CLOSE(val(g, "view_distinct_users_7d", 1), 1, 0);
    CHECK_CLOSE(val(g, "view_distinct_users_30d", 1), 2, 0);
    CHECK_CLOSE(val(g, "view_distinct_days_30d", 1), 2, 0);
    // empty values (what a missing pair gets in the model matrix)
    for (size_t i = 0; i < tp_feature_defs_n(d, TP_LEVEL_USER_GROUP); i++) {
        const char *n = tp_feature_defs_name(d, TP_LEVEL_USER_GROUP, i);
        double v = tp_feature_defs_empty_value(d, TP_LEVEL_USER_GROUP, i);
        if (!strcmp(n, "view_days_since_last_30d")) CHECK(v == 30);
        if (!strcmp(n, "cart_to_view_7d")) CHECK(v == -1);
        if (!strcmp(n, "view_count_7d")) CHECK(v == 0);
    }
done:
    tp_feature_set_free(fs);
    tp_events_free(e);
    tp_feature_defs_free(d);
    tp_frame_free(lf);
}

static bool frames_equal(const tp_frame *a, const tp_frame *b) {
    if (tp_frame_n_rows(a) != tp_frame_n_rows(b) || tp_frame_n_cols(a) != tp_frame_n_cols(b)) return false;
    for (size_t c = 0; c < tp_frame_n_cols(a); c++) {
        tp_column *x = tp_frame_col(a, c), *y = tp_frame_col(b, c);
        if (strcmp(tp_column_name(x), tp_column_name(y))) return false;
        for (size_t r = 0; r < tp_frame_n_rows(a); r++) {
            if (tp_dtype_is_string(tp_column_type(x))) {
                if (strcmp(tp_column_get_str(x, r, NULL), tp_column_get_str(y, r, NULL))) return false;
            } else {
                double u = tp_column_get_f64(x, r), v = tp_column_get_f64(y, r);
                if (memcmp(&u, &v, sizeof u)) return false; // bit-identical
            }
        }
    }
    return true;
}

/* Features at T must not change when everything at or after T is removed. */
static void test_leakage(void) {
    ev before[16];
    size_t n = 0;
    for (size_t i = 0; i < sizeof LOG / sizeof *LOG; i++)
        if (LOG[i].ts < T) before[n++] = LOG[i];
    tp_feature_defs *d = NULL;
    tp_events *e1 = NULL, *e2 = NULL;
    tp_feature_set *a = NULL, *b = NULL;
    tp_frame *f1 = log_frame(LOG, sizeof LOG / sizeof *LOG), *f2 = log_frame(before, n);
    CHECK_OK(tp_feature_defs_parse(DEFS, strlen(DEFS), "defs", &d));
    CHECK_OK(tp_events_from_frames(f1, NULL, &e1));
    CHECK_OK(tp_events_from_frames(f2, NULL, &e2));
    if (d && e1 && e2) {
        CHECK_OK(tp_features_compute(e1, d, as_of_day(), 2, &a));
        CHECK_OK(tp_features_compute(e2, d, as_of_day(), 2, &b));
        for (int l = 0; a && b && l < TP_N_LEVELS; l++) CHECK(frames_equal(a->level[l], b->level[l]));
        // the event at exactly T counts once the as-of moves a day later
        tp_feature_set *c = NULL;
        CHECK_OK(tp_features_compute(e1, d, as_of_day() + 1, 1, &c));
        if (c) CHECK_CLOSE(val(c->level[TP_LEVEL_USER_GROUP], "purchase_count_7d", 1), 1, 0);
        tp_feature_set_free(c);
        // labels: (T, T + 30 days]
        int64_t uids[3] = {1, 2, 3};
        uint8_t lab[3];
        CHECK_OK(tp_labels_compute(e1, "A", as_of_day(), 30, NULL, uids, 3, lab));
        CHECK(lab[0] == 1 && lab[1] == 0 && lab[2] == 0);
        CHECK_OK(tp_labels_compute(e1, "B", as_of_day(), 30, NULL, uids, 3, lab));
        CHECK(lab[0] == 0); // e6 is exactly at T: neither a feature nor a label
        CHECK(lab[1] == 0); // e10 one second after the horizon
        CHECK_OK(tp_labels_compute(e1, "B", as_of_day(), 31, NULL, uids, 3, lab));
        CHECK(lab[1] == 1);
        CHECK_STATUS(tp_labels_compute(e1, "Z", as_of_day(), 30, NULL, uids, 3, lab), TP_ERR_NOTFOUND);
    }
    tp_feature_set_free(a);
    tp_feature_set_free(b);
    tp_events_free(e1);
    tp_events_free(e2);
    tp_feature_defs_free(d);
    tp_frame_free(f1);
    tp_frame_free(f2);
}

static void test_dataset(void) {
    tp_feature_defs *d = NULL;
    tp_events *e = NULL;
    tp_propensity *p = NULL;
    tp_frame *m = NULL, *lf = log_frame(LOG, sizeof LOG / sizeof *LOG);
    CHECK_OK(tp_feature_defs_parse(DEFS, strlen(DEFS), "defs", &d));
    CHECK_OK(tp_events_from_frames(lf, NULL, &e));
    if (!d || !e) goto done;
    CHECK_OK(tp_propensity_new(e, d, NULL, &p));
    if (!p) goto done;
    CHECK(tp_propensity_n_groups(p) == 2);
    int32_t dates[2] = {as_of_day(), as_of_day() - 5};
    CHECK_OK(tp_propensity_dataset(p, "A", dates, 2, true, &m));
    if (!m) goto done;
    // date 1: users 1, 2; date 2 (2024-01-05): users 1 (e1, e2... before) and 2 (e9)
    CHECK(tp_frame_n_rows(m) == 4);
    CHECK_STR(tp_column_name(tp_frame_col(m, 0)), "uid");
    CHECK_STR(tp_column_name(tp_frame_col(m, 1)), "as_of");
    CHECK_STR(tp_column_name(tp_frame_col(m, 2)), "label");
    CHECK_STR(tp_column_name(tp_frame_col(m, 3)), "user.view_count_7d");
    CHECK(tp_frame_n_cols(m) == 3 + tp_feature_defs_n(d, TP_LEVEL_USER) +
                                    tp_feature_defs_n(d, TP_LEVEL_USER_GROUP) +
                                    tp_feature_defs_n(d, TP_LEVEL_GROUP));
    CHECK(val(m, "uid", 0) == 1 && val(m, "uid", 1) == 2);
    CHECK(val(m, "label", 0) == 1 && val(m, "label", 1) == 0);
    CHECK_CLOSE(val(m, "user_group.view_count_30d", 0), 3, 0);
    CHECK_CLOSE(val(m, "user_group.view_count_30d", 1), 0, 0);          // no (2, A) pair
    CHECK_CLOSE(val(m, "user_group.view_days_since_last_30d", 1), 30, 0); // its empty value
    CHECK_CLOSE(val(m, "user_group.cart_to_view_7d", 1), -1, 0);
    CHECK_CLOSE(val(m, "group.view_count_30d", 0), 3, 0);
    CHECK_CLOSE(val(m, "group.view_count_30d", 1), 3, 0);
    CHECK_CLOSE(val(m, "user.view_count_30d", 1), 1, 0);
    // second date, 2024-01-05: user 1 has e1 only (day 0), user 2 e9; both labels from e5 / none
    CHECK(val(m, "as_of", 2) == as_of_day() - 5);
    CHECK_CLOSE(val(m, "user_group.view_count_30d", 2), 1, 0);
    CHECK(val(m, "label", 2) == 1); // e5 at T-1 is within (T-5d, T+25d]
    tp_frame_free(m);
    m = NULL;
    CHECK_OK(tp_propensity_dataset(p, "B", dates, 1, false, &m));
    if (m) CHECK(!tp_frame_find(m, "label"));
    tp_frame_free(m);
    m = NULL;
    CHECK_STATUS(tp_propensity_dataset(p, "nope", dates, 1, false, &m), TP_ERR_NOTFOUND);
done:
    tp_frame_free(m);
    tp_propensity_free(p);
    tp_events_free(e);
    tp_feature_defs_free(d);
    tp_frame_free(lf);
}

static void test_store(void) {
    const char *store = tp_test_path("fstore");
    tp_feature_defs *d = NULL, *d_ws = NULL, *d2 = NULL;
    tp_events *e = NULL;
    tp_feature_set *a = NULL, *b = NULL;
    tp_frame *lst = NULL, *row = NULL, *lf = log_frame(LOG, sizeof LOG / sizeof *LOG);
    // the same definitions with other whitespace and comments; then a real change
    char ws[4096], changed[4096];
    snprintf(ws, sizeof ws, "# comment\n%s\n\n", DEFS);
    snprintf(changed, sizeof changed, "%s", DEFS);
    char *z = strstr(changed, "zero: -1");
    if (z) z[7] = '2';
    CHECK_OK(tp_feature_defs_parse(DEFS, strlen(DEFS), "defs", &d));
    CHECK_OK(tp_feature_defs_parse(ws, strlen(ws), "ws", &d_ws));
    CHECK_OK(tp_feature_defs_parse(changed, strlen(changed), "changed", &d2));
    CHECK_OK(tp_events_from_frames(lf, NULL, &e));
    if (!d || !d_ws || !d2 || !e) goto done;
    CHECK_STR(tp_feature_defs_hash(d), tp_feature_defs_hash(d_ws));
    CHECK(strcmp(tp_feature_defs_hash(d), tp_feature_defs_hash(d2)) != 0);
    tp_featurestore_result r;
    CHECK_OK(tp_featurestore_materialize(store, e, d, as_of_day(), 1, &r));
    CHECK(r.version == 1 && !r.noop && r.rows[TP_LEVEL_USER] == 2 && r.rows[TP_LEVEL_USER_GROUP] == 3);
    CHECK_OK(tp_featurestore_materialize(store, e, d_ws, as_of_day(), 1, &r));
    CHECK(r.version == 1 && r.noop);
    CHECK_OK(tp_featurestore_materialize(store, e, d2, as_of_day(), 1, &r));
    CHECK(r.version == 2 && !r.noop);
    CHECK_OK(tp_featurestore_materialize(store, e, d, as_of_day() - 1, 1, &r));
    CHECK(r.version == 1 && !r.noop);
    // an orphan folder (a crash between rename and commit) is skipped, never reused
    char orphan[600], date[11];
    snprintf(orphan, sizeof orphan, "%s/snapshots/group/as_of=%s/v2", store, tp_date_format(as_of_day() - 1, date));
    CHECK_OK(tp_mkdirs(orphan));
    CHECK_OK(tp_featurestore_materialize(store, e, d2, as_of_day() - 1, 1, &r));
    CHECK(r.version == 3 && !r.noop);
    CHECK_OK(tp_featurestore_list(store, &lst));
    if (lst) {
        CHECK(tp_frame_n_rows(lst) == 12); // 4 snapshots x 3 levels
        CHECK_STR(tp_column_get_str(tp_frame_find(lst, "level"), 0, NULL), "user");
        CHECK(tp_column_get_i64(tp_frame_find(lst, "version"), 9) == 2); // rows by (as_of, version, level)
        CHECK_STR(tp_column_get_str(tp_frame_find(lst, "defs_hash"), 9, NULL), tp_feature_defs_hash(d2));
        CHECK(tp_column_get_i64(tp_frame_find(lst, "version"), 3) == 3);
        CHECK(tp_column_get_i64(tp_frame_find(lst, "rows"), 8) == 3);
    }
    // loading gives what computing gives
    CHECK_OK(tp_featurestore_load(store, d, as_of_day(), &a));
    CHECK_OK(tp_features_compute(e, d, as_of_day(), 1, &b));
    for (int l = 0; a && b && l < TP_N_LEVELS; l++) CHECK(frames_equal(a->level[l], b->level[l]));
    tp_feature_set *none = NULL;
    CHECK_STATUS(tp_featurestore_load(store, d, as_of_day() + 7, &none), TP_ERR_NOTFOUND);
    CHECK(none == NULL);
    CHECK_OK(tp_featurestore_get(store, TP_LEVEL_USER_GROUP, as_of_day(), 2, 2, "B", &row));
    if (row) CHECK_CLOSE(val(row, "cart_to_view_7d", 0), -2, 0); // version 2: zero = -2
    tp_frame_free(row);
    row = NULL;
    CHECK_OK(tp_featurestore_get(store, TP_LEVEL_USER_GROUP, as_of_day(), 1, 2, "B", &row));
    if (row) CHECK_CLOSE(val(row, "cart_to_view_7d", 0), -1, 0);
    char *text = NULL;
    CHECK_OK(tp_featurestore_defs_text(store, tp_feature_defs_hash(d), &text));
    CHECK_STR(text, tp_feature_defs_canonical(d));
    tp_free(text);
done:
    tp_feature_set_free(a);
    tp_feature_set_free(b);
    tp_frame_free(lst);
    tp_frame_free(row);
    tp_frame_free(lf);
    tp_events_free(e);
    tp_feature_defs_free(d);
    tp_feature_defs_free(d_ws);
    tp_feature_defs_free(d2);
}

static void expect_yaml_error(const char *text, const char *needle) {
    tp_feature_defs *d = NULL;
    CHECK_STATUS(tp_feature_defs_parse(text, strlen(text), "f.yaml", &d), TP_ERR_FORMAT);
    if (!strstr(tp_last_error(), needle)) {
        tp_test_fail(__FILE__, __LINE__, "error '%s' does not contain '%s'", tp_last_error(), needle);
    }
    tp_feature_defs_free(d);
}

static void test_yaml_errors(void) {
    expect_yaml_error("windows: [7]\nfeatures:\n  - level: user\n    metric: count\n    windoe: [3]\n",
                      "f.yaml:5: unknown key 'windoe'");
    expect_yaml_error("windows: [7]\nevent_types: [view]\nfeatures:\n  - level: user\n    metric: counts\n",
                      "f.yaml:5: unknown metric 'counts'");
    expect_yaml_error("windows: [7]\nevent_types: [view]\nfeatures:\n  - level: users\n    metric: count\n",
                      "f.yaml:4: unknown level 'users'");
    expect_yaml_error("windows: [7]\nevent_types: [view]\nfeatures:\n  - level: user\n    metric: count\n"
                      "  - level: user\n    metric: ratio\n    name: r\n    numerator: view_count_7d\n"
                      "    denominator: cart_count_7d\n",
                      "f.yaml:10: no earlier user feature named 'cart_count_7d'");
    expect_yaml_error("windows: [7x]\nfeatures: []\n", "f.yaml:1: window '7x'");
    expect_yaml_error("bogus: 1\n", "f.yaml:1: unknown key 'bogus'");
    expect_yaml_error("features:\n  - level: user\n    metric: count\n    event_types: [view]\n    windows: [7]\n"
                      "  - level: user\n    metric: count\n    event_types: [view]\n    windows: [7]\n",
                      "duplicate feature name 'view_count_7d'");
    expect_yaml_error("features: [\n", "f.yaml:");
}

static void test_threads(void) {
    const char *path = tp_test_path("events.parquet");
    tp_evsim_opts o;
    tp_evsim_opts_default(&o);
    o.users = 3000;
    o.days = 60;
    o.groups = 5;
    CHECK_OK(tp_evsim_run(&o, path, NULL, NULL, NULL));
    tp_feature_defs *d = NULL;
    tp_events *e = NULL;
    CHECK_OK(tp_feature_defs_parse(DEFS, strlen(DEFS), "defs", &d));
    CHECK_OK(tp_events_load(path, NULL, &e));
    if (d && e) {
        int32_t day = (int32_t)(o.start_time / DAY) + 45;
        tp_feature_set *s[3] = {0};
        for (int t = 0; t < 3; t++) CHECK_OK(tp_features_compute(e, d, day, t + 1, &s[t]));
        for (int t = 1; t < 3; t++)
            for (int l = 0; s[0] && s[t] && l < TP_N_LEVELS; l++) CHECK(frames_equal(s[0]->level[l], s[t]->level[l]));
        if (s[0]) CHECK(tp_frame_n_rows(s[0]->level[TP_LEVEL_USER]) > 2000);
        for (int t = 0; t < 3; t++) tp_feature_set_free(s[t]);
    }
    tp_events_free(e);
    tp_feature_defs_free(d);
}

void suite_features(void) {
    test_hand_values();
    test_leakage();
    test_dataset();
    test_store();
    test_yaml_errors();
    test_threads();
}

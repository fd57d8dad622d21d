/* test_simulate.c: the impressions simulator. Determinism (seed, threads, batch size), schema,
 * journey bookkeeping (flags, conversion ids), the traps, the counterfactual truth against
 * re-simulation with a campaign disabled, and the baseline rate against the model's equations. */
#include "test.h"
#include "touchpoint/simulate.h"

#include <stdlib.h>

static tp_status collect(void *ud, const tp_frame *f) {
    tp_frame **acc = ud;
    return tp_frame_append(*acc, f);
}

/* Simulate into one frame. */
static tp_frame *sim(const tp_sim_opts *o, tp_sim_result **res) {
    tp_frame *f = NULL;
    if (tp_frame_new(&f) != TP_OK) return NULL;
    tp_status st = tp_simulate(o, collect, &f, res);
    if (st != TP_OK) {
        fprintf(stderr, "  simulate: %s\n", tp_last_error());
        tp_frame_free(f);
        return NULL;
    }
    return f;
}

static bool same_frames(const tp_frame *a, const tp_frame *b) {
    if (!a || !b || tp_frame_n_rows(a) != tp_frame_n_rows(b) || tp_frame_n_cols(a) != tp_frame_n_cols(b))
        return false;
    size_t n = tp_frame_n_rows(a);
    for (size_t j = 0; j < tp_frame_n_cols(a); j++) {
        const tp_column *x = tp_frame_col(a, j), *y = tp_frame_col(b, j);
        if (strcmp(tp_column_name(x), tp_column_name(y)) || tp_column_type(x) != tp_column_type(y))
            return false;
        for (size_t i = 0; i < n; i++) {
            if (tp_dtype_is_string(tp_column_type(x))) {
                if (strcmp(tp_column_get_str(x, i, NULL), tp_column_get_str(y, i, NULL))) return false;
            } else if (tp_column_type(x) == TP_DTYPE_F64) {
                if (tp_column_get_f64(x, i) != tp_column_get_f64(y, i)) return false;
            } else if (tp_column_get_i64(x, i) != tp_column_get_i64(y, i)) {
                return false;
            }
        }
    }
    return true;
}

static void base_opts(tp_sim_opts *o, int64_t users) {
    tp_sim_opts_default(o);
    o->users = users;
    o->seed = 42;
}

static void test_determinism(void) {
    tp_sim_opts o;
    base_opts(&o, 3000);
    o.conversion_id = o.cost = o.user_features = true;
    o.threads = 1;
    o.batch_rows = 5000;
    tp_frame *a = sim(&o, NULL);
    tp_frame *b = sim(&o, NULL);
    CHECK(a && b && tp_frame_n_rows(a) > 10000);
    CHECK(same_frames(a, b));
    o.threads = 3; /* thread count does not change a row */
    tp_frame *c = sim(&o, NULL);
    CHECK(same_frames(a, c));
    o.batch_rows = 777; /* nor does the batch size */
    tp_frame *d = sim(&o, NULL);
    CHECK(same_frames(a, d));
    o.seed = 43;
    tp_frame *e = sim(&o, NULL);
    CHECK(e && !same_frames(a, e));
    /* the first user's first rows differ in time */
    CHECK(e && a && tp_column_get_i64(tp_frame_find(a, "timestamp"), 0) !=
                        tp_column_get_i64(tp_frame_find(e, "timestamp"), 0));
    tp_frame_free(a);
    tp_frame_free(b);
    tp_frame_free(c);
    tp_frame_free(d);
    tp_frame_free(e);
}

static void test_schema_and_journeys(void) {
    tp_sim_opts o;
    base_opts(&o, 2000);
    o.days = 20;
    tp_sim_result *r = NULL;
    tp_frame *f = sim(&o, &r);
    CHECK(f && r);
    if (!f || !r) return;
    CHECK(tp_frame_n_cols(f) == 4); /* no optional columns unless asked */
    CHECK(tp_frame_find(f, "conversion_id") == NULL);
    tp_frame_free(f);
    tp_sim_result_free(r);

    o.conversion_id = o.cost = o.user_features = true;
    f = sim(&o, &r);
    CHECK(f && r);
    if (!f || !r) return;
    static const char *names[] = {"uid", "timestamp", "campaign", "conversion", "conversion_id",
                                  "cost", "age_band", "region", "past_purchases", "visit_frequency"};
    static const tp_dtype types[] = {TP_DTYPE_I64, TP_DTYPE_I64, TP_DTYPE_STR, TP_DTYPE_BOOL,
                                     TP_DTYPE_I64, TP_DTYPE_F64, TP_DTYPE_STR, TP_DTYPE_STR,
                                     TP_DTYPE_I32, TP_DTYPE_F64};
    CHECK(tp_frame_n_cols(f) == 10);
    for (size_t j = 0; j < 10 && j < tp_frame_n_cols(f); j++) {
        CHECK_STR(tp_column_name(tp_frame_col(f, j)), names[j]);
        CHECK(tp_column_type(tp_frame_col(f, j)) == types[j]);
    }
    size_t n = tp_frame_n_rows(f);
    CHECK((int64_t)n == r->impressions);
    int64_t per_campaign = 0;
    for (int c = 0; c < r->n_campaigns; c++) per_campaign += r->campaigns[c].impressions;
    CHECK(per_campaign == r->impressions);
    CHECK(r->baseline_conversions == -1 && r->incremental == -1); /* no truth asked */
    const int64_t *uid = TP_CCOL(tp_frame_find(f, "uid"), int64_t);
    const int64_t *ts = TP_CCOL(tp_frame_find(f, "timestamp"), int64_t);
    const uint8_t *conv = TP_CCOL(tp_frame_find(f, "conversion"), uint8_t);
    const int64_t *cid = TP_CCOL(tp_frame_find(f, "conversion_id"), int64_t);
    const double *cost = TP_CCOL(tp_frame_find(f, "cost"), double);
    const tp_column *camp = tp_frame_find(f, "campaign");
    bool sorted = true, in_range = true, names_ok = true, cost_ok = true, ids_ok = true;
    int64_t flags = 0, max_id = 0, users_seen = 0;
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && (uid[i] < uid[i - 1] || (uid[i] == uid[i - 1] && ts[i] < ts[i - 1]))) sorted = false;
        if (i == 0 || uid[i] != uid[i - 1]) users_seen++;
        if (uid[i] < 1 || uid[i] > o.users) in_range = false;
        if (ts[i] < o.start_time || ts[i] >= o.start_time + o.days * 86400LL) in_range = false;
        const char *s = tp_column_get_str(camp, i, NULL);
        if (!(s[0] == 'c' && s[1] >= '0' && s[1] <= '9' && s[2] >= '0' && s[2] <= '9' && s[3] == '_'))
            names_ok = false;
        if (!(cost[i] > 0 && cost[i] < 1)) cost_ok = false;
        flags += conv[i];
        /* conversion ids: a journey's touches are consecutive rows of one user, numbered in
         * order 1, 2, ...; the flag sits on the journey's last touch */
        if (cid[i]) {
            if (cid[i] > max_id) {
                if (cid[i] != max_id + 1) ids_ok = false;
                max_id = cid[i];
            } else if (cid[i] != max_id || uid[i] != uid[i - 1]) {
                ids_ok = false;
            }
            bool last = i + 1 == n || cid[i + 1] != cid[i];
            if (conv[i] != last) ids_ok = false;
        } else if (conv[i]) {
            ids_ok = false;
        }
    }
    CHECK(sorted);
    CHECK(in_range);
    CHECK(names_ok);
    CHECK(cost_ok);
    CHECK(ids_ok);
    CHECK(flags == r->observed_conversions);
    CHECK(max_id == r->observed_conversions);
    CHECK(r->observed_conversions > 100 && r->observed_conversions <= r->conversions);
    CHECK(users_seen > o.users * 9 / 10);
    CHECK(tp_column_null_count(camp) == 0);
    const tp_column *age = tp_frame_find(f, "age_band");
    CHECK(tp_strdict_size(tp_column_dict(age)) == 5);
    CHECK(tp_strdict_find(tp_column_dict(tp_frame_find(f, "region")), "west", 4) >= 0);
    tp_frame_free(f);
    tp_sim_result_free(r);
}

/* Index of campaign name in the frame's dictionary order (= campaign index). */
static int camp_of(const tp_sim_result *r, const char *role) {
    for (int c = 0; c < r->n_campaigns; c++)
        if (!strcmp(r->campaigns[c].role, role)) return c;
    return -1;
}

static void test_truth_and_traps(void) {
    tp_sim_opts o;
    base_opts(&o, 20000);
    o.truth = true;
    o.user_features = true;
    tp_sim_result *r = NULL;
    tp_frame *f = sim(&o, &r);
    CHECK(f && r);
    if (!f || !r) return;
    CHECK(r->n_campaigns == 10);
    CHECK_STR(r->campaigns[0].name, "c00_search");
    CHECK_STR(r->campaigns[1].name, "c01_retarget");
    int rt = camp_of(r, "retargeting"), late = camp_of(r, "late"), use = camp_of(r, "useless");
    CHECK(rt == 1 && late == 2 && use == 3);
    double sum = 0;
    int64_t pos = 0;
    for (int c = 0; c < r->n_campaigns; c++) {
        sum += r->campaigns[c].true_share;
        if (r->campaigns[c].incremental > 0) pos += r->campaigns[c].incremental;
    }
    CHECK_CLOSE(sum, 1.0, 1e-12);
    CHECK(r->baseline_conversions > 0 && r->baseline_conversions < r->conversions);
    CHECK(r->incremental == r->conversions - r->baseline_conversions);
    // trap 1 and 3: zero true effect, exactly
    CHECK(r->campaigns[rt].incremental == 0 && r->campaigns[rt].true_share == 0.0);
    CHECK(r->campaigns[use].incremental == 0 && r->campaigns[use].true_share == 0.0);
    // trap 3: the useless campaign is the most frequent
    for (int c = 0; c < r->n_campaigns; c++)
        if (c != use) CHECK(r->campaigns[use].impressions > r->campaigns[c].impressions);
    // trap 2: the closer works
    CHECK(r->campaigns[late].incremental > 0);
    for (int c = 0; c < r->n_campaigns; c++)
        if (c != rt && c != use) CHECK(r->campaigns[c].incremental > 0);

    // trap 1: retargeting reaches high-propensity users (more past purchases) and is often the
    // last touch of a converting journey
    const int64_t *uid = TP_CCOL(tp_frame_find(f, "uid"), int64_t);
    const int32_t *camp = TP_CCOL(tp_frame_find(f, "campaign"), int32_t);
    const uint8_t *conv = TP_CCOL(tp_frame_find(f, "conversion"), uint8_t);
    const int32_t *past = TP_CCOL(tp_frame_find(f, "past_purchases"), int32_t);
    size_t n = tp_frame_n_rows(f);
    double past_rt = 0, past_users = 0;
    int64_t n_rt = 0, n_users = 0, last_rt = 0, last_all = 0;
    for (size_t i = 0; i < n; i++) {
        if (camp[i] == rt) {
            past_rt += past[i];
            n_rt++;
        }
        if (i == 0 || uid[i] != uid[i - 1]) {
            past_users += past[i];
            n_users++;
        }
        if (conv[i]) {
            last_all++;
            last_rt += camp[i] == rt;
        }
    }
    CHECK(n_rt > 0 && n_users > 0);
    double ratio = (past_rt / (double)n_rt) / (past_users / (double)n_users);
    printf("  retargeting: past purchases x%.2f vs users; last touch of %.1f%% of conversions, "
           "%.1f%% of impressions\n", ratio, 100.0 * last_rt / last_all,
           100.0 * n_rt / (double)n);
    CHECK(ratio > 1.3);
    CHECK((double)last_rt / last_all > 1.5 * (double)n_rt / (double)n);

    // counterfactual consistency: disabling c through the public API gives exactly
    // conversions(all) - incremental_c, and every other row is unchanged (same streams)
    uint8_t off[10];
    int cases[] = {0, 2, 3, 5};
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        int c = cases[k];
        memset(off, 0, sizeof off);
        off[c] = 1;
        tp_sim_opts oc = o;
        oc.truth = false;
        oc.disabled = off;
        tp_sim_result *rc = NULL;
        tp_frame *g = sim(&oc, &rc);
        CHECK(g && rc);
        if (!g || !rc) continue;
        CHECK(rc->conversions == r->conversions - r->campaigns[c].incremental);
        CHECK(rc->campaigns[c].impressions == 0);
        CHECK(rc->impressions == r->impressions - r->campaigns[c].impressions);
        /* the other campaigns' rows are the same rows, in the same order */
        const int64_t *ts = TP_CCOL(tp_frame_find(f, "timestamp"), int64_t);
        const int64_t *gts = TP_CCOL(tp_frame_find(g, "timestamp"), int64_t);
        const int64_t *guid = TP_CCOL(tp_frame_find(g, "uid"), int64_t);
        const int32_t *gcamp = TP_CCOL(tp_frame_find(g, "campaign"), int32_t);
        size_t gi = 0;
        bool same = true;
        for (size_t i = 0; i < n && same; i++) {
            if (camp[i] == c) continue;
            if (gi >= tp_frame_n_rows(g) || guid[gi] != uid[i] || gts[gi] != ts[i] || gcamp[gi] != camp[i])
                same = false;
            gi++;
        }
        CHECK(same && gi == tp_frame_n_rows(g));
        tp_frame_free(g);
        tp_sim_result_free(rc);
    }
    // trap 2: without a working campaign to warm the journey up, the closer does nothing
    memset(off, 0, sizeof off);
    for (int c = 0; c < 10; c++) off[c] = !strcmp(r->campaigns[c].role, "positive");
    tp_sim_opts ol = o;
    ol.disabled = off;
    tp_sim_result *rl = NULL;
    CHECK_OK(tp_simulate(&ol, NULL, NULL, &rl));
    CHECK(rl && rl->campaigns[late].impressions == r->campaigns[late].impressions);
    CHECK(rl && rl->campaigns[late].incremental == 0 && rl->conversions == rl->baseline_conversions);
    tp_sim_result_free(rl);

    memset(off, 1, sizeof off);
    tp_sim_opts ob = o;
    ob.truth = false;
    ob.disabled = off;
    tp_sim_result *rb = NULL;
    CHECK_OK(tp_simulate(&ob, NULL, NULL, &rb));
    CHECK(rb && rb->conversions == r->baseline_conversions && rb->impressions == 0);
    tp_sim_result_free(rb);
    tp_frame_free(f);
    tp_sim_result_free(r);
}

/* Baseline conversions against the model's equations (docs/simulate.md §1-2): a user with latent
 * z visits Poisson(D * 0.3 exp(0.35 z + 0.3 e)) times and converts at each with sigmoid(-4.4 +
 * 0.8 z) when no campaign runs. Expected per user: D * 0.3 * exp(0.045) * E_z[exp(0.35 z)
 * sigmoid(-4.4 + 0.8 z)], integrated here by the trapezoid rule. */
static void test_baseline_rate(void) {
    const int D = 30;
    double e = 0.0, h = 0.001;
    for (double z = -8; z <= 8; z += h) {
        double phi = exp(-0.5 * z * z) / sqrt(2 * M_PI);
        e += h * phi * exp(0.35 * z) / (1.0 + exp(4.4 - 0.8 * z));
    }
    double per_user = D * 0.3 * exp(0.045) * e;
    tp_sim_opts o;
    base_opts(&o, 100000);
    o.days = D;
    o.truth = true;
    o.campaigns = 5;
    tp_sim_result *r = NULL;
    CHECK_OK(tp_simulate(&o, NULL, NULL, &r));
    if (!r) return;
    double got = (double)r->baseline_conversions / (double)o.users;
    /* sd of the mean is about sqrt(per_user / N) / per_user = 0.7% here; allow 4% */
    printf("  baseline conversions per user: %.5f simulated, %.5f expected\n", got, per_user);
    CHECK_CLOSE(got / per_user, 1.0, 0.04);
    tp_sim_result_free(r);
}

static tp_status fail_second(void *ud, const tp_frame *f) {
    int *calls = ud;
    (void)f;
    if (++*calls == 2) return tp_fail(TP_ERR_IO, "sink refused batch %d", *calls);
    return TP_OK;
}

static void test_options(void) {
    {   /* a failing sink stops the run; its message (from the sink thread) comes back */
        tp_sim_opts o;
        base_opts(&o, 3000);
        o.batch_rows = 5000;
        int calls = 0;
        CHECK_STATUS(tp_simulate(&o, fail_second, &calls, NULL), TP_ERR_IO);
        CHECK(calls == 2);
        CHECK(strstr(tp_last_error(), "sink refused batch 2") != NULL);
    }
    tp_sim_opts o;
    base_opts(&o, 100);
    o.campaigns = 4;
    CHECK_STATUS(tp_simulate(&o, NULL, NULL, NULL), TP_ERR_ARG);
    o.campaigns = 12;
    o.days = 0;
    CHECK_STATUS(tp_simulate(&o, NULL, NULL, NULL), TP_ERR_ARG);
    o.days = 5;
    o.trap_strength = -1;
    CHECK_STATUS(tp_simulate(&o, NULL, NULL, NULL), TP_ERR_ARG);
    o.trap_strength = 1;
    CHECK_STATUS(tp_simulate_impressions(&o, tp_test_path("x.json"), NULL, NULL), TP_ERR_ARG);
    char name[32];
    const char *role;
    CHECK_OK(tp_sim_campaign_info(12, 11, name, &role));
    CHECK_STR(name, "c11_video");
    CHECK_STR(role, "positive");
    CHECK_STATUS(tp_sim_campaign_info(12, 12, name, &role), TP_ERR_ARG);
    // more than ten campaigns: all names distinct, extra ones positive
    tp_sim_result *r = NULL;
    o.truth = true;
    CHECK_OK(tp_simulate(&o, NULL, NULL, &r));
    if (r) {
        CHECK(r->n_campaigns == 12);
        CHECK_STR(r->campaigns[10].name, "c10_social");
        CHECK(r->campaigns[10].effect > 0);
    }
    tp_sim_result_free(r);
    // a world without rows still hands the sink one empty frame with the schema
    uint8_t all[12];
    memset(all, 1, sizeof all);
    o.disabled = all;
    o.truth = false;
    o.users = 2000; /* ~0.036 conversions per user in 5 days */
    tp_frame *f = sim(&o, &r);
    CHECK(f && tp_frame_n_rows(f) == 0 && tp_frame_n_cols(f) == 4);
    CHECK(r && r->impressions == 0 && r->observed_conversions == 0 && r->conversions > 0);
    tp_frame_free(f);
    tp_sim_result_free(r);
    o.disabled = NULL;
    o.truth = true;
    // trap strength 0: retargeting is untargeted and unanchored, the banner ordinary
    o.trap_strength = 0;
    o.users = 5000;
    CHECK_OK(tp_simulate(&o, NULL, NULL, &r));
    if (r) CHECK(r->campaigns[3].impressions < r->campaigns[7].impressions * 2);
    tp_sim_result_free(r);
}

/* Files: the Parquet output reads back as the in-memory rows, the truth JSON is there, and a
 * failing run leaves nothing behind. */
static void test_files(void) {
    tp_sim_opts o;
    base_opts(&o, 4000);
    o.conversion_id = o.cost = o.user_features = true;
    o.batch_rows = 20000; /* several batches */
    tp_sim_result *r = NULL;
    tp_frame *mem = sim(&o, &r);
    const char *pq = tp_test_path("sim.parquet"), *tj = tp_test_path("sim_truth.json");
    tp_sim_result *rf = NULL;
    CHECK_OK(tp_simulate_impressions(&o, pq, tj, &rf));
    tp_frame *back = NULL;
    CHECK_OK(tp_pq_read_file(pq, NULL, 0, &back));
    CHECK(mem && back && same_frames(mem, back));
    CHECK(r && rf && rf->impressions == r->impressions && rf->conversions == r->conversions);
    CHECK(rf && rf->baseline_conversions >= 0); /* a truth path turns the truth on */
    FILE *fp = fopen(tj, "r");
    CHECK(fp != NULL);
    if (fp) {
        char buf[256] = {0};
        CHECK(fread(buf, 1, sizeof buf - 1, fp) > 0);
        CHECK(strstr(buf, "\"baseline_conversions\"") != NULL);
        fclose(fp);
    }
    // CSV: same number of rows
    const char *csv = tp_test_path("sim.csv");
    CHECK_OK(tp_simulate_impressions(&o, csv, NULL, NULL));
    tp_frame *cf = NULL;
    CHECK_OK(tp_csv_read_file(csv, NULL, &cf));
    CHECK(cf && mem && tp_frame_n_rows(cf) == tp_frame_n_rows(mem));
    // a truth file that cannot be written: neither file is left
    const char *pq2 = tp_test_path("sim2.parquet");
    CHECK_STATUS(tp_simulate_impressions(&o, pq2, tp_test_path("nodir/t.json"), NULL), TP_ERR_IO);
    CHECK(fopen(pq2, "r") == NULL);
    tp_frame_free(cf);
    tp_frame_free(back);
    tp_frame_free(mem);
    tp_sim_result_free(r);
    tp_sim_result_free(rf);
}

void suite_simulate(void) {
    test_files();
    test_options();
    test_determinism();
    test_schema_and_journeys();
    test_truth_and_traps();
    test_baseline_rate();
}

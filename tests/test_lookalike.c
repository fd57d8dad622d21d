/* test_lookalike.c: suite lookalike (issue #6 §1-3). Cleaning rules and train-ready counts on
 * tiny hand-made logs (conflicting persona, slot filter, keyword threshold, interval arithmetic,
 * did_bucket), the DIN backward pass against central finite differences in double, padding
 * masking, training beating the keyword-CTR baseline on simulated data, and the score table
 * (.tpsm/.parquet) round trip with corrupt-file errors. */
#include "test.h"
#include "touchpoint/touchpoint.h"
#include "touchpoint/lookalike.h"

#include <dirent.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "lookalike/lal_impl.h"
#include "lookalike/din_impl.h"

static void write_text(const char *path, const char *text) {
    FILE *fp = fopen(path, "w");
    CHECK(fp != NULL);
    if (!fp) return;
    fputs(text, fp);
    fclose(fp);
}

static void corrupt(const char *src, const char *dst, long off, int byte, long truncate_to);

static bool exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

// ---- pure helpers ----

static void test_helpers(void) {
    int64_t t;
    CHECK_OK(tp_lookalike_parse_time("2024-01-01 00:00:00.000", 23, &t));
    CHECK(t == 1704067200);
    CHECK_OK(tp_lookalike_parse_time("2024-01-02 10:30:15.999", 23, &t));
    CHECK(t == 1704067200 + 86400 + 10 * 3600 + 30 * 60 + 15);
    CHECK_OK(tp_lookalike_parse_time("2024-01-02", 10, &t));
    CHECK(t == 1704067200 + 86400);
    CHECK_STATUS(tp_lookalike_parse_time("2024-13-02 10:30:15", 19, &t), TP_ERR_FORMAT);
    CHECK_STATUS(tp_lookalike_parse_time("yesterday", 9, &t), TP_ERR_FORMAT);
    // interval arithmetic: t - t mod I, floor semantics before 1970
    CHECK(tp_lookalike_interval_start(1704067200 + 3599, 3600) == 1704067200);
    CHECK(tp_lookalike_interval_start(1704067200 + 3600, 3600) == 1704067200 + 3600);
    CHECK(tp_lookalike_interval_start(1704067200 + 86399, 86400) == 1704067200);
    CHECK(tp_lookalike_interval_start(-1, 86400) == -86400);
    CHECK(tp_lookalike_interval_start(0, 86400) == 0);
    // did_bucket: deterministic, in range, = tp_hash_bytes(seed 0) mod n, spread over buckets
    int hits[4] = {0};
    for (int i = 0; i < 400; i++) {
        char did[16];
        snprintf(did, sizeof did, "d%05d", i);
        int b = tp_lookalike_did_bucket(did, strlen(did), 4);
        CHECK(b == tp_lookalike_did_bucket(did, strlen(did), 4));
        CHECK(b == (int)(tp_hash_bytes(did, strlen(did), 0) % 4));
        if (b >= 0 && b < 4) hits[b]++;
    }
    for (int b = 0; b < 4; b++) CHECK(hits[b] > 60);
}

static void test_clean_persona(void) {
    tp_frame *f = NULL, *out = NULL;
    tp_column *d, *g, *a;
    CHECK_OK(tp_frame_new(&f));
    CHECK_OK(tp_column_new("did", TP_DTYPE_STR, 8, &d));
    CHECK_OK(tp_column_new("gender", TP_DTYPE_I32, 8, &g));
    CHECK_OK(tp_column_new("age", TP_DTYPE_I32, 8, &a));
    const char *dids[] = {"b", "a", "b", "c", "a", "c"};
    int gs[] = {0, 1, 1, 1, 1, 1}, as[] = {30, 20, 30, 40, 20, 41};
    for (int i = 0; i < 6; i++) {
        CHECK_OK(tp_column_push_str(d, dids[i], 1));
        CHECK_OK(tp_column_push_i32(g, gs[i]));
        CHECK_OK(tp_column_push_i32(a, as[i]));
    }
    CHECK_OK(tp_frame_add_take(f, d));
    CHECK_OK(tp_frame_add_take(f, g));
    CHECK_OK(tp_frame_add_take(f, a));
    int64_t conflicts = -1;
    CHECK_OK(tp_lookalike_clean_persona(f, &out, &conflicts));
    // a: exact duplicate kept once; b: two genders -> dropped; c: two ages -> dropped
    CHECK(conflicts == 2);
    CHECK(out && tp_frame_n_rows(out) == 1);
    if (out && tp_frame_n_rows(out) == 1) {
        CHECK_STR(tp_column_get_str(tp_frame_col(out, 0), 0, NULL), "a");
        CHECK(tp_column_get_i64(tp_frame_col(out, 1), 0) == 1);
        CHECK(tp_column_get_i64(tp_frame_col(out, 2), 0) == 20);
    }
    tp_frame_free(out);
    tp_frame_free(f);
}

// ---- prepare on hand-made logs ----

#define HDR "did,adv_id,media,slot_id,spread_app_id,device_name,net_type,price_model,action_time\n"

static void test_prepare_by_hand(void) {
    const char *dir = tp_test_path("lal_hand");
    char p[1024], q[1024];
    CHECK_OK(tp_mkdirs(dir));
    snprintf(p, sizeof p, "%s/persona.csv", dir);
    write_text(p, "did,gender,age\nu1,1,20\nu1,1,20\nu2,0,30\nu3,1,40\nu3,0,40\nu4,0,50\nu6,1,25\n");
    snprintf(p, sizeof p, "%s/keywords.csv", dir);
    write_text(p, "spread_app_id,keyword\n10,travel\n11,travel\n20,games\n30,rare\n");
    snprintf(p, sizeof p, "%s/shows.csv", dir);
    write_text(p, HDR
               "u1,1,m,s1,10,dv,4G,CPC,2024-01-01 10:00:00.000\n"  // travel day0
               "u1,1,m,s1,20,dv,4G,CPC,2024-01-01 11:00:00.500\n"  // games day0
               "u1,1,m,s1,11,dv,4G,CPC,2024-01-02 09:00:00.000\n"  // travel day1 (2nd app)
               "u1,1,m,s9,10,dv,4G,CPC,2024-01-02 10:00:00.000\n"  // slot s9: filtered
               "u2,1,m,s2,20,dv,4G,CPC,2024-01-01 12:00:00.000\n"  // games day0
               "u2,1,m,s2,20,dv,4G,CPC,2024-01-03 12:00:00.000\n"  // games day2
               "u3,1,m,s1,10,dv,4G,CPC,2024-01-01 08:00:00.000\n"  // conflicting persona
               "u5,1,m,s1,10,dv,4G,CPC,2024-01-01 08:00:00.000\n"  // no persona
               "u4,1,m,s1,99,dv,4G,CPC,2024-01-02 08:00:00.000\n"  // app without keyword
               "u4,1,m,s1,30,dv,4G,CPC,2024-01-02 09:00:00.000\n"  // rare keyword
               "u2,1,m,s1,20,dv,4G,CPC,2024-01-03 23:59:59.999\n"  // games day2, last ms
               "u6,1,m,s1,10,dv,4G,CPC,2024-01-02 10:00:00.000\n"); // u6: one interval only
    snprintf(p, sizeof p, "%s/clicks.csv", dir);
    write_text(p, HDR
               "u1,1,m,s1,10,dv,4G,CPC,2024-01-01 10:00:05.000\n"  // travel day0
               "u2,1,m,s2,20,dv,4G,CPC,2024-01-03 12:00:10.000\n"  // games day2
               "u2,1,m,s9,20,dv,4G,CPC,2024-01-03 12:00:11.000\n"  // slot s9: filtered
               "u4,1,m,s1,30,dv,4G,CPC,2024-01-02 09:00:01.000\n"); // rare keyword
    snprintf(p, sizeof p, "%s/lal.yaml", dir);
    write_text(p, "input:\n  persona: persona.csv\n  shows: shows.csv\n  clicks: clicks.csv\n"
                  "  keywords: keywords.csv\noutput: out\nprepare:\n  slot_ids: [s1, s2]\n"
                  "  keyword_min_share: 0.15\n  did_buckets: 3\n  batch_days: 1\n"
                  "  min_active_intervals: 2\n");
    tp_lookalike_config *c = NULL;
    CHECK_OK(tp_lookalike_config_load(p, &c));
    if (!c) return;
    tp_lookalike_prep_stats st;
    CHECK_OK(tp_lookalike_prepare(c, &st));
    CHECK(st.persona_in == 7 && st.persona_out == 4 && st.persona_conflicting_dids == 1);
    CHECK(st.shows_in == 12 && st.clicks_in == 4);
    CHECK(st.logs_joined == 8 + 3); // slot, persona and keyword joins; the rare keyword still in
    // shows after the joins: travel 3, games 4, rare 1 of 8: rare 0.125 <= 0.15 is dropped
    CHECK(st.keywords_in == 3 && st.keywords_kept == 2);
    CHECK(st.unified_rows == 7 + 2 && st.unified_clicks == 2);
    CHECK(st.batches == 3);
    CHECK(st.users_in == 3 && st.users_kept == 2); // u6 has one interval
    CHECK(st.trainready_rows == 5);
    CHECK(st.intervals == 3);

    // keyword_index in name order: games 0, travel 1
    tp_frame *f = NULL;
    snprintf(q, sizeof q, "%s/out/keywords.parquet", dir);
    CHECK_OK(tp_table_read(q, NULL, 0, &f));
    if (f && tp_frame_n_rows(f) == 2) {
        CHECK_STR(tp_column_get_str(tp_frame_find(f, "keyword"), 0, NULL), "games");
        CHECK(tp_column_get_i64(tp_frame_find(f, "impressions"), 0) == 4);
        CHECK_STR(tp_column_get_str(tp_frame_find(f, "keyword"), 1, NULL), "travel");
        CHECK_CLOSE(tp_column_get_f64(tp_frame_find(f, "share"), 1), 3.0 / 8, 1e-12);
    }
    tp_frame_free(f);
    f = NULL;

    // train-ready by hand: per did, newest interval first, then keyword_index
    const int64_t D0 = 1704067200, D = 86400;
    struct { const char *did; int64_t iv; int kw; int64_t shows, clicks; } want[5] = {
        {"u1", D0 + D, 1, 1, 0}, {"u1", D0, 0, 1, 0}, {"u1", D0, 1, 1, 1},
        {"u2", D0 + 2 * D, 0, 2, 1}, {"u2", D0, 0, 1, 0}};
    snprintf(q, sizeof q, "%s/out/trainready.parquet", dir);
    CHECK_OK(tp_table_read(q, NULL, 0, &f));
    CHECK(f && tp_frame_n_rows(f) == 5);
    for (size_t i = 0; f && i < 5 && i < tp_frame_n_rows(f); i++) {
        CHECK_STR(tp_column_get_str(tp_frame_find(f, "did"), i, NULL), want[i].did);
        CHECK(tp_column_get_i64(tp_frame_find(f, "interval_starting_time"), i) == want[i].iv);
        CHECK(tp_column_get_i64(tp_frame_find(f, "keyword_index"), i) == want[i].kw);
        CHECK(tp_column_get_i64(tp_frame_find(f, "show_counts"), i) == want[i].shows);
        CHECK(tp_column_get_i64(tp_frame_find(f, "click_counts"), i) == want[i].clicks);
    }
    tp_frame_free(f);
    f = NULL;

    // unified logs: Hive partitions, read back as one table with day and did_bucket columns
    snprintf(q, sizeof q, "%s/out/logs", dir);
    CHECK_OK(tp_table_read(q, NULL, 0, &f));
    CHECK(f && tp_frame_n_rows(f) == 9);
    if (f) {
        tp_column *dcol = tp_frame_find(f, "did"), *bcol = tp_frame_find(f, "did_bucket"),
                  *icol = tp_frame_find(f, "interval_starting_time"),
                  *scol = tp_frame_find(f, "action_time_seconds"), *day = tp_frame_find(f, "day");
        CHECK(dcol && bcol && icol && scol && day && tp_frame_find(f, "is_click"));
        for (size_t i = 0; dcol && bcol && icol && scol && i < tp_frame_n_rows(f); i++) {
            size_t len;
            const char *did = tp_column_get_str(dcol, i, &len);
            char b[16];
            snprintf(b, sizeof b, "%d", tp_lookalike_did_bucket(did, len, 3));
            char buf[48];
            const char *s = NULL;
            size_t sl;
            size_t n = tp_column_format(bcol, i, buf, &s, &sl);
            if (!s) { buf[n] = 0; s = buf; }
            CHECK(strncmp(s, b, strlen(b)) == 0);
            int64_t secs = tp_column_get_i64(scol, i);
            CHECK(tp_column_get_i64(icol, i) == secs - secs % 86400);
        }
    }
    tp_frame_free(f);
    snprintf(q, sizeof q, "%s/out/stats.json", dir);
    CHECK(exists(q));

    // history: clicked keywords of strictly earlier intervals, newest first
    lal_data *d = NULL;
    snprintf(q, sizeof q, "%s/out", dir);
    CHECK_OK(lal_data_load(q, &d));
    if (d) {
        int32_t h[8];
        CHECK(d->n_users == 2);
        CHECK(lal_history(d, 0, INT64_MAX, 10, 8, h) == 1 && h[0] == 1);
        CHECK(lal_history(d, 0, D0 + D, 10, 8, h) == 1 && h[0] == 1);
        CHECK(lal_history(d, 0, D0, 10, 8, h) == 0);
        CHECK(lal_history(d, 1, D0 + 2 * D, 10, 8, h) == 0); // u2's click is in day 2 itself
        CHECK(lal_history(d, 1, INT64_MAX, 10, 8, h) == 1 && h[0] == 0);
        CHECK(lal_history(d, 0, INT64_MAX, 1, 8, h) == 0); // last 1 interval (day 1): no click
    }
    lal_data_free(d);

    // a malformed action_time is an error naming the log, the column and the row
    snprintf(q, sizeof q, "%s/shows_bad.csv", dir);
    write_text(q, HDR "u1,1,m,s1,10,dv,4G,CPC,2024-01-01 10:00:00.000\n"
                      "u1,1,m,s1,10,dv,4G,CPC,2024-01-01 25:00:00.000\n");
    tp_free(c->shows);
    c->shows = tp_strdup(q);
    CHECK_STATUS(tp_lookalike_prepare(c, NULL), TP_ERR_FORMAT);
    CHECK(strstr(tp_last_error(), "action_time") && strstr(tp_last_error(), "row 1"));
    snprintf(q, sizeof q, "%s/out/logs", dir);
    CHECK(exists(q)); // the previous run's logs are still there, and no temporary folder
    snprintf(q, sizeof q, "%s/out", dir);
    DIR *dd = opendir(q);
    for (struct dirent *e; dd && (e = readdir(dd));) CHECK(strncmp(e->d_name, ".logs.tmp", 9) != 0);
    if (dd) closedir(dd);
    tp_lookalike_config_free(c);

    // config errors name the line
    snprintf(p, sizeof p, "%s/bad.yaml", dir);
    write_text(p, "input:\n  persona: a\n  shows: b\n  clicks: c\n  keywords: d\noutput: o\n"
                  "prepare:\n  slot_ids: [s1]\n  keyword_share: 0.1\n");
    c = NULL;
    CHECK_STATUS(tp_lookalike_config_load(p, &c), TP_ERR_FORMAT);
    CHECK(strstr(tp_last_error(), "line 9") != NULL);
    CHECK(strstr(tp_last_error(), "keyword_share") != NULL);
    write_text(p, "input:\n  persona: a\n  shows: b\n  clicks: c\n  keywords: d\noutput: o\n"
                  "train:\n  epochs: -3\n");
    CHECK_STATUS(tp_lookalike_config_load(p, &c), TP_ERR_FORMAT);
    CHECK(strstr(tp_last_error(), "line 8") != NULL);
    tp_lookalike_config_free(c);
}

// ---- DIN gradients by central finite differences (double) ----

static void test_din_gradients(void) {
    const din_dims dm = {6, 3, 4, 5, 4}; // V E A H T
    const int N = 4;
    const din_layout L = din_layout_of(&dm);
    double *p = malloc(L.n * sizeof(double)), *g = calloc(L.n, sizeof(double));
    double *ws = malloc(din_ws_size(&dm, N) * sizeof(double));
    tp_rng r;
    tp_rng_seed(&r, 7);
    for (size_t i = 0; i < L.n; i++) p[i] = 0.5 * tp_rng_normal(&r);
    int32_t cand[4] = {0, 3, 5, 2};
    // row 2 has an empty history; keyword 4 sits only in a padded slot (beyond len) of row 0
    int32_t hist[16] = {1, 2, 4, -1, 3, 3, 0, 5, -1, -1, -1, -1, 5, -1, -1, -1};
    int len[4] = {2, 4, 0, 1};
    double y[4] = {1, 0, 1, 0};
    din_model_forward_d(&dm, p, cand, hist, len, y, N, ws, NULL);
    din_model_backward_d(&dm, p, g, cand, hist, len, y, N, ws, 1.0);
    double maxdiff = 0;
    const double h = 1e-6;
    for (size_t i = 0; i < L.n; i++) {
        double keep = p[i];
        p[i] = keep + h;
        double lp = din_model_forward_d(&dm, p, cand, hist, len, y, N, ws, NULL);
        p[i] = keep - h;
        double lm = din_model_forward_d(&dm, p, cand, hist, len, y, N, ws, NULL);
        p[i] = keep;
        double num = (lp - lm) / (2 * h), diff = fabs(num - g[i]) / fmax(1.0, fabs(num));
        if (diff > maxdiff) maxdiff = diff;
    }
    printf("    din gradient check: %zu parameters, max relative difference %.3g\n", L.n, maxdiff);
    CHECK(maxdiff < 1e-6);
    // padding: keyword 4's embedding row gets no gradient (it is only behind len in row 0)
    for (int e = 0; e < dm.E; e++) CHECK(g[L.emb + 4 * dm.E + e] == 0);
    // ... and the attention weights of padded slots are exactly 0 (ws layout: w after s)
    din_model_forward_d(&dm, p, cand, hist, len, y, N, ws, NULL);
    double probs[4];
    din_model_forward_d(&dm, p, cand, hist, len, NULL, N, ws, probs);
    int32_t hist2[16];
    memcpy(hist2, hist, sizeof hist);
    hist2[2] = 0; // change what sits in a padded slot: the outputs must not move
    double probs2[4];
    din_model_forward_d(&dm, p, cand, hist2, len, NULL, N, ws, probs2);
    for (int n = 0; n < N; n++) CHECK(probs[n] == probs2[n]);
    // the float model agrees with the double one
    float *pf = malloc(L.n * sizeof(float)), *wsf = malloc(din_ws_size(&dm, N) * sizeof(float)), pr[4];
    for (size_t i = 0; i < L.n; i++) pf[i] = (float)p[i];
    din_model_forward(&dm, pf, cand, hist, len, NULL, N, wsf, pr);
    for (int n = 0; n < N; n++) CHECK_CLOSE(pr[n], probs[n], 1e-5);
    free(pf);
    free(wsf);
    free(p);
    free(g);
    free(ws);
}

// ---- training on simulated data beats the popularity baseline ----

static void test_train_beats_baseline(void) {
    const char *dir = tp_test_path("lal_sim");
    char p[1024];
    tp_lookalike_sim_opts o;
    tp_lookalike_sim_opts_default(&o);
    o.users = 500;
    o.keywords = 16;
    o.days = 8;
    o.seed = 11;
    snprintf(p, sizeof p, "%s/data", dir);
    CHECK_OK(tp_lookalike_simulate(&o, p));
    snprintf(p, sizeof p, "%s/lal.yaml", dir);
    write_text(p, "input:\n  persona: data/persona.parquet\n  shows: data/shows.parquet\n"
                  "  clicks: data/clicks.parquet\n  keywords: data/keywords.parquet\noutput: out\n"
                  "prepare:\n  min_active_intervals: 2\ntrain:\n  embedding_dim: 8\n"
                  "  attention_hidden: 16\n  hidden: 16\n  epochs: 3\n  max_history: 32\n"
                  "  test_fraction: 0.25\n  threads: 2\n");
    tp_lookalike_config *c = NULL;
    CHECK_OK(tp_lookalike_config_load(p, &c));
    if (!c) return;
    tp_lookalike_prep_stats ps;
    CHECK_OK(tp_lookalike_prepare(c, &ps));
    tp_lookalike_train_stats ts = {0};
    CHECK_OK(tp_lookalike_train(c, NULL, &ts));
    printf("    simulated 500 users: test ROC-AUC %.4f vs keyword CTR %.4f; log loss %.4f vs %.4f\n",
           ts.test_auc, ts.base_auc, ts.test_logloss, ts.base_logloss);
    CHECK(ts.test_samples > 0 && ts.train_samples > ts.test_samples);
    CHECK(ts.test_auc > ts.base_auc + 0.03);
    CHECK(ts.test_logloss < ts.base_logloss);
    // the model file: round trip, then a flipped byte and a truncation are refused
    snprintf(p, sizeof p, "%s/out/model.tpdin", dir);
    tp_din *m = NULL;
    CHECK_OK(tp_din_load(p, &m));
    if (m) {
        CHECK(tp_din_n_keywords(m) == 16);
        int32_t hist[3] = {4, 8, 4}, cand[16];
        float pr[16];
        for (int k = 0; k < 16; k++) cand[k] = k;
        CHECK_OK(tp_din_predict(m, hist, 3, cand, 16, pr));
        for (int k = 0; k < 16; k++) CHECK(pr[k] > 0 && pr[k] < 1);
        CHECK_STATUS(tp_din_predict(m, hist, 3, (int32_t[]){16}, 1, pr), TP_ERR_ARG);
        char bad[1100];
        snprintf(bad, sizeof bad, "%s/bad.tpdin", dir);
        corrupt(p, bad, 200, 0x5a, -1);
        tp_din *m2 = NULL;
        CHECK_STATUS(tp_din_load(bad, &m2), TP_ERR_FORMAT);
        CHECK(strstr(tp_last_error(), "checksum") != NULL);
        corrupt(p, bad, -1, 0, 30);
        CHECK_STATUS(tp_din_load(bad, &m2), TP_ERR_FORMAT);
        CHECK(m2 == NULL);
    }
    tp_din_free(m);
    // scores: one L2-normalised row per kept user, same in .tpsm and .parquet
    uint64_t nu = 0;
    CHECK_OK(tp_lookalike_scores(c, NULL, NULL, &nu));
    CHECK(nu == (uint64_t)ps.users_kept);
    tp_score_table *a = NULL, *b = NULL;
    snprintf(p, sizeof p, "%s/out/scores", dir);
    CHECK_OK(tp_score_table_read(p, &a));
    snprintf(p, sizeof p, "%s/out/scores/scores.parquet", dir);
    CHECK_OK(tp_score_table_read(p, &b));
    if (a && b) {
        CHECK(a->n_users == nu && b->n_users == nu && a->n_keywords == 16 && b->n_keywords == 16);
        for (uint64_t u = 0; u < a->n_users && u < b->n_users; u += 37) {
            double s = 0;
            for (uint32_t k = 0; k < a->n_keywords; k++) s += (double)a->scores[u * 16 + k] * a->scores[u * 16 + k];
            CHECK_CLOSE(s, 1.0, 1e-5);
            CHECK_STR(a->dids[u], b->dids[u]);
            CHECK(memcmp(a->scores + u * 16, b->scores + u * 16, 16 * sizeof(float)) == 0);
        }
    }
    tp_score_table_free(a);
    tp_score_table_free(b);
    tp_lookalike_config_free(c);
}

// ---- score table round trip and corrupt files ----

static tp_score_table *small_table(void) {
    tp_score_table *t = calloc(1, sizeof *t);
    t->n_users = 3;
    t->n_keywords = 2;
    t->keywords = calloc(2, sizeof(char *));
    t->dids = calloc(3, sizeof(char *));
    t->scores = malloc(6 * sizeof(float));
    t->keywords[0] = tp_strdup("games");
    t->keywords[1] = tp_strdup("travel");
    const char *d[] = {"x1", "x22", ""};
    float s[6] = {3, 4, 0, 0, 1, 1};
    for (int i = 0; i < 3; i++) t->dids[i] = tp_strdup(d[i]);
    memcpy(t->scores, s, sizeof s);
    return t;
}

static void corrupt(const char *src, const char *dst, long off, int byte, long truncate_to) {
    FILE *a = fopen(src, "rb");
    fseek(a, 0, SEEK_END);
    long n = ftell(a);
    rewind(a);
    unsigned char *b = malloc((size_t)n);
    CHECK(fread(b, 1, (size_t)n, a) == (size_t)n);
    fclose(a);
    if (off >= 0) b[off] = (unsigned char)byte;
    FILE *o = fopen(dst, "wb");
    fwrite(b, 1, truncate_to >= 0 ? (size_t)truncate_to : (size_t)n, o);
    fclose(o);
    free(b);
}

static void test_score_table(void) {
    tp_score_table *t = small_table(), *r = NULL;
    tp_score_table_normalise(t);
    CHECK_CLOSE(t->scores[0], 0.6, 1e-7);
    CHECK_CLOSE(t->scores[1], 0.8, 1e-7);
    CHECK(t->scores[2] == 0 && t->scores[3] == 0); // zero rows stay zero
    CHECK_CLOSE(t->scores[4], sqrt(0.5), 1e-7);
    const char *path = tp_test_path("t.tpsm");
    CHECK_OK(tp_score_table_write_tpsm(t, path));
    // exact layout: header 28 + names (4+5, 4+6) + dids (4+2, 4+3, 4+0) + 6 floats + checksum
    struct stat st;
    CHECK(stat(path, &st) == 0 && st.st_size == 28 + 19 + 17 + 24 + 8);
    CHECK_OK(tp_score_table_read_tpsm(path, &r));
    if (r) {
        CHECK(r->n_users == 3 && r->n_keywords == 2);
        CHECK_STR(r->keywords[1], "travel");
        CHECK_STR(r->dids[1], "x22");
        CHECK_STR(r->dids[2], "");
        CHECK(memcmp(r->scores, t->scores, 6 * sizeof(float)) == 0);
    }
    tp_score_table_free(r);
    r = NULL;
    const char *pq = tp_test_path("t.parquet");
    CHECK_OK(tp_score_table_write_parquet(t, pq));
    CHECK_OK(tp_score_table_read(pq, &r));
    if (r) {
        CHECK(r->n_users == 3 && r->n_keywords == 2);
        CHECK_STR(r->keywords[0], "games");
        CHECK(memcmp(r->scores, t->scores, 6 * sizeof(float)) == 0);
    }
    tp_score_table_free(r);
    r = NULL;
    tp_frame *f = NULL;
    CHECK_OK(tp_table_read(pq, NULL, 0, &f));
    CHECK(f && tp_frame_find(f, "kw_travel") && tp_column_type(tp_frame_find(f, "kw_travel")) == TP_DTYPE_F32);
    tp_frame_free(f);

    // corrupt files: each a clear TP_ERR_FORMAT, never a crash
    const char *bad = tp_test_path("bad.tpsm");
    corrupt(path, bad, 0, 'X', -1);
    CHECK_STATUS(tp_score_table_read_tpsm(bad, &r), TP_ERR_FORMAT);
    CHECK(strstr(tp_last_error(), "magic") != NULL);
    corrupt(path, bad, 8, 2, -1); // version 2
    CHECK_STATUS(tp_score_table_read_tpsm(bad, &r), TP_ERR_FORMAT);
    CHECK(strstr(tp_last_error(), "version") != NULL);
    corrupt(path, bad, 19, 0x7f, -1); // n_users huge
    CHECK_STATUS(tp_score_table_read_tpsm(bad, &r), TP_ERR_FORMAT);
    CHECK(strstr(tp_last_error(), "users") != NULL);
    corrupt(path, bad, 28 + 19 + 17 + 5, 0x41, -1); // a score byte
    CHECK_STATUS(tp_score_table_read_tpsm(bad, &r), TP_ERR_FORMAT);
    CHECK(strstr(tp_last_error(), "checksum") != NULL);
    corrupt(path, bad, -1, 0, 28 + 19 + 17 + 24 + 8 - 5); // truncated
    CHECK_STATUS(tp_score_table_read_tpsm(bad, &r), TP_ERR_FORMAT);
    corrupt(path, bad, 28, 0xff, -1); // first keyword length runs past the end
    CHECK_STATUS(tp_score_table_read_tpsm(bad, &r), TP_ERR_FORMAT);
    CHECK(strstr(tp_last_error(), "keyword 0") != NULL);
    corrupt(path, bad, -1, 0, 10);
    CHECK_STATUS(tp_score_table_read_tpsm(bad, &r), TP_ERR_FORMAT);
    CHECK_STATUS(tp_score_table_read_tpsm(tp_test_path("missing.tpsm"), &r), TP_ERR_IO);
    CHECK(r == NULL);
    tp_score_table_free(t);
}

void suite_lookalike(void) {
    test_helpers();
    test_clean_persona();
    test_prepare_by_hand();
    test_din_gradients();
    test_score_table();
    test_train_beats_baseline();
}

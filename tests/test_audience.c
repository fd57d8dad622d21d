/* test_audience.c: k-means, blocked similarity with top-N, top-M selection, audience extension
 * and validation (issue #6 §4-5). Hand-computed cases first, then a naive double-precision
 * reference, thread-count independence, and planted interest groups where the lift must be > 1. */
#include "test.h"
#include "touchpoint/audience.h"
#include "touchpoint/serve.h"

#include <stdlib.h>

// A score table of G planted groups: group g's users lean on keywords [g*K/G, (g+1)*K/G).
static tp_score_table *planted_table(size_t n, uint32_t K, int G, uint64_t seed, int *group) {
    tp_score_table *t = tp_calloc(1, sizeof *t);
    t->n_users = n;
    t->n_keywords = K;
    t->keywords = tp_malloc(K * sizeof *t->keywords);
    t->dids = tp_malloc(n * sizeof *t->dids);
    t->scores = tp_malloc(n * K * sizeof *t->scores);
    char buf[32];
    for (uint32_t k = 0; k < K; k++) snprintf(buf, sizeof buf, "k%u", k), t->keywords[k] = tp_strdup(buf);
    tp_rng r;
    tp_rng_seed(&r, seed);
    for (size_t u = 0; u < n; u++) {
        int g = (int)tp_rng_below(&r, (uint64_t)G);
        if (group) group[u] = g;
        snprintf(buf, sizeof buf, "d%zu", u);
        t->dids[u] = tp_strdup(buf);
        for (uint32_t k = 0; k < K; k++) {
            int kg = (int)(k * (uint32_t)G / K);
            t->scores[u * K + k] = (float)(tp_rng_uniform(&r) * 0.3 + (kg == g ? 1.0 : 0.0));
        }
    }
    tp_score_table_normalise(t);
    return t;
}

static void test_kmeans_hand(void) {
    const float x[] = {0, 0, 0, 1, 10, 10, 10, 11};
    float c[4];
    int32_t a[4];
    double inertia = -1;
    int it = -1;
    CHECK_OK(tp_kmeans(x, 4, 2, 2, 20, 7, c, a, &inertia, &it));
    CHECK(a[0] == a[1] && a[2] == a[3] && a[0] != a[2]);
    const float *c0 = c + 2 * a[0], *c1 = c + 2 * a[2];
    CHECK_CLOSE(c0[0], 0, 1e-6);
    CHECK_CLOSE(c0[1], 0.5, 1e-6);
    CHECK_CLOSE(c1[0], 10, 1e-6);
    CHECK_CLOSE(c1[1], 10.5, 1e-6);
    CHECK_CLOSE(inertia, 1.0, 1e-4); // four points at distance 0.5
    // same seed, same answer; k > n refused
    float c2[4];
    CHECK_OK(tp_kmeans(x, 4, 2, 2, 20, 7, c2, NULL, NULL, NULL));
    CHECK(memcmp(c, c2, sizeof c) == 0);
    CHECK_STATUS(tp_kmeans(x, 4, 2, 5, 20, 7, c2, NULL, NULL, NULL), TP_ERR_ARG);
    // k == n: every point its own centre, inertia 0
    float c4[8];
    CHECK_OK(tp_kmeans(x, 4, 2, 4, 20, 1, c4, NULL, &inertia, NULL));
    CHECK_CLOSE(inertia, 0, 1e-6);
}

static void test_similarity_hand(void) {
    // users: (1,0), (0,2), (3,4), (0,0); cols (1,0), (0,1), (1,1)
    const float u[] = {1, 0, 0, 2, 3, 4, 0, 0}, c[] = {1, 0, 0, 1, 1, 1};
    float s[4];
    tp_similarity_opts o;
    tp_similarity_opts_default(&o);
    o.top_n = 1;
    double pairs = 0;
    CHECK_OK(tp_similarity_topn_mean(u, 4, 2, NULL, c, 3, &o, s, &pairs));
    CHECK_CLOSE(s[0], 1, 1e-6);
    CHECK_CLOSE(s[1], 1, 1e-6);
    CHECK_CLOSE(s[2], 7 / (5 * sqrt(2.0)), 1e-6); // (3+4)/(5*sqrt2) beats 0.8 and 0.6
    CHECK_CLOSE(s[3], 0, 0);
    CHECK_CLOSE(pairs, 12, 0);
    o.top_n = 2;
    const uint8_t skip[] = {0, 1, 0, 0};
    CHECK_OK(tp_similarity_topn_mean(u, 4, 2, skip, c, 3, &o, s, &pairs));
    CHECK_CLOSE(s[0], (1 + 1 / sqrt(2.0)) / 2, 1e-6);
    CHECK(s[1] == -INFINITY);
    CHECK_CLOSE(s[2], (7 / (5 * sqrt(2.0)) + 0.8) / 2, 1e-6);
    CHECK_CLOSE(pairs, 9, 0);
    o.top_n = 10; // capped at the 3 columns: mean of all
    CHECK_OK(tp_similarity_topn_mean(u, 4, 2, NULL, c, 3, &o, s, NULL));
    CHECK_CLOSE(s[2], (0.6 + 0.8 + 7 / (5 * sqrt(2.0))) / 3, 1e-6);
}

static int cmp_desc_d(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? 1 : x > y ? -1 : 0;
}

static void test_similarity_naive(void) {
    enum { U = 3001, D = 13, C = 77, N = 5 };
    float *u = malloc(sizeof(float) * U * D), *c = malloc(sizeof(float) * C * D);
    float *s1 = malloc(sizeof(float) * U), *s2 = malloc(sizeof(float) * U);
    tp_rng r;
    tp_rng_seed(&r, 3);
    for (int i = 0; i < U * D; i++) u[i] = (float)tp_rng_normal(&r);
    for (int i = 0; i < C * D; i++) c[i] = (float)tp_rng_normal(&r);
    tp_similarity_opts o;
    tp_similarity_opts_default(&o);
    o.top_n = N;
    o.block_users = 64; // many blocks, ragged last one
    o.block_cols = 16;  // ragged column blocks too
    o.threads = 1;
    CHECK_OK(tp_similarity_topn_mean(u, U, D, NULL, c, C, &o, s1, NULL));
    o.threads = 2;
    CHECK_OK(tp_similarity_topn_mean(u, U, D, NULL, c, C, &o, s2, NULL));
    CHECK(memcmp(s1, s2, sizeof(float) * U) == 0); // independent of the thread count
    double maxdiff = 0;
    for (int i = 0; i < U; i++) {
        double sims[C], nu = 0;
        for (int t = 0; t < D; t++) nu += (double)u[i * D + t] * u[i * D + t];
        for (int j = 0; j < C; j++) {
            double dot = 0, nc = 0;
            for (int t = 0; t < D; t++) dot += (double)u[i * D + t] * c[j * D + t], nc += (double)c[j * D + t] * c[j * D + t];
            sims[j] = dot / sqrt(nu * nc);
        }
        qsort(sims, C, sizeof sims[0], cmp_desc_d);
        double m = 0;
        for (int j = 0; j < N; j++) m += sims[j];
        m /= N;
        if (fabs(m - s1[i]) > maxdiff) maxdiff = fabs(m - s1[i]);
    }
    printf("  similarity vs double reference: max diff %.3g\n", maxdiff);
    CHECK(maxdiff < 1e-5);
    free(u), free(c), free(s1), free(s2);
}

static void test_select(void) {
    const float s[] = {1, 3, 3, 2, -INFINITY, 3, NAN};
    uint32_t idx[10];
    size_t n = 0;
    CHECK_OK(tp_select_top_m(s, 7, 3, idx, &n));
    CHECK(n == 3 && idx[0] == 1 && idx[1] == 2 && idx[2] == 5);
    CHECK_OK(tp_select_top_m(s, 7, 10, idx, &n));
    CHECK(n == 5 && idx[0] == 1 && idx[1] == 2 && idx[2] == 5 && idx[3] == 3 && idx[4] == 0);
    CHECK_OK(tp_select_top_m(s, 7, 4, idx, &n));
    CHECK(n == 4 && idx[3] == 3);
    CHECK_OK(tp_select_top_m(s, 7, 0, idx, &n));
    CHECK(n == 0);
}

static void test_parse_seeds(void) {
    const char txt[] = "\xEF\xBB\xBF" "did\r\n d1 \r\n\"d2\",x,y\n\n  \nd3";
    char **v = NULL;
    size_t n = 0;
    CHECK_OK(tp_audience_parse_seeds(txt, sizeof txt - 1, &v, &n));
    CHECK(n == 3);
    if (n == 3) {
        CHECK_STR(v[0], "d1");
        CHECK_STR(v[1], "d2");
        CHECK_STR(v[2], "d3");
    }
    tp_audience_seeds_free(v, n);
    const char nul[] = "a\nb\0c\n";
    CHECK_STATUS(tp_audience_parse_seeds(nul, sizeof nul - 1, &v, &n), TP_ERR_FORMAT);
    CHECK_STATUS(tp_audience_read_seeds(tp_test_path("missing.csv"), &v, &n), TP_ERR_IO);
}

static void test_extend_planted(void) {
    enum { U = 20000, K = 24, G = 4 };
    int *group = malloc(sizeof(int) * U);
    tp_score_table *t = planted_table(U, K, G, 11, group);
    // 200 seeds from group 2, plus a duplicate and two unknown dids
    const char *seeds[203];
    size_t ns = 0;
    for (size_t u = 0; u < U && ns < 200; u++)
        if (group[u] == 2) seeds[ns++] = t->dids[u];
    seeds[ns++] = seeds[0];
    seeds[ns++] = "nobody-1";
    seeds[ns++] = "nobody-2";
    tp_audience_opts o;
    tp_audience_opts_default(&o);
    o.k = 5;
    o.extension_pct = 500; // M = 5 * 200 = 1000
    o.threads = 2;
    tp_audience *a = NULL, *b = NULL;
    tp_audience_stats st;
    CHECK_OK(tp_audience_extend(t, seeds, ns, &o, &a, &st));
    CHECK(st.seeds_given == 202 && st.seeds_matched == 200 && st.seeds_unknown == 2);
    CHECK_STR(st.unknown_examples[0], "nobody-1");
    CHECK(st.k_used == 5 && !st.k_high);
    CHECK(st.candidates == U - 200);
    CHECK(a && a->n == 1000 && st.selected == 1000);
    int in_group = 0, seed_hit = 0, sorted = 1;
    for (size_t i = 0; a && i < a->n; i++) {
        in_group += group[a->user[i]] == 2;
        for (size_t j = 0; j < 200; j++) seed_hit += strcmp(t->dids[a->user[i]], seeds[j]) == 0;
        if (i && a->score[i] > a->score[i - 1]) sorted = 0;
    }
    printf("  planted extension: %d of 1000 selected in the seed group\n", in_group);
    CHECK(in_group == 1000); // groups are separable: every pick from the seeds' group
    CHECK(seed_hit == 0);
    CHECK(sorted);
    // deterministic across thread counts
    o.threads = 1;
    CHECK_OK(tp_audience_extend(t, seeds, ns, &o, &b, NULL));
    CHECK(b && a && b->n == a->n && memcmp(a->user, b->user, a->n * sizeof *a->user) == 0 &&
          memcmp(a->score, b->score, a->n * sizeof *a->score) == 0);
    tp_audience_free(b), b = NULL;
    // no clustering: all seeds as columns; m given directly; high k warned
    o.no_cluster = true;
    o.m = 300;
    CHECK_OK(tp_audience_extend(t, seeds, ns, &o, &b, &st));
    CHECK(b && b->n == 300 && st.pairs == (double)(U - 200) * 200);
    int ing = 0;
    for (size_t i = 0; b && i < b->n; i++) ing += group[b->user[i]] == 2;
    CHECK(ing == 300);
    tp_audience_free(b), b = NULL;
    o.no_cluster = false;
    o.k = 50;
    CHECK_OK(tp_audience_extend(t, seeds, ns, &o, &b, &st));
    CHECK(st.k_high && st.k_used == 50);
    tp_audience_free(b), b = NULL;
    // nothing matches: an error that names a did
    const char *bad[] = {"x1", "x2"};
    CHECK_STATUS(tp_audience_extend(t, bad, 2, &o, &b, &st), TP_ERR_NOTFOUND);
    CHECK(strstr(tp_last_error(), "x1") != NULL);
    CHECK(st.seeds_unknown == 2);
    // write CSV and Parquet, read back
    const char *paths[] = {tp_test_path("aud.csv"), tp_test_path("aud.parquet")};
    for (int p = 0; p < 2; p++) {
        char path[4096];
        snprintf(path, sizeof path, "%s", paths[p]);
        CHECK_OK(tp_audience_write(a, t, path));
        tp_frame *f = NULL;
        CHECK_OK(tp_table_read(path, NULL, 0, &f));
        CHECK(f && tp_frame_n_rows(f) == a->n);
        tp_column *cd = f ? tp_frame_find(f, "did") : NULL, *cs = f ? tp_frame_find(f, "score") : NULL;
        CHECK(cd && cs);
        if (cd && cs && a->n) {
            CHECK_STR(tp_column_get_str(cd, 0, NULL), t->dids[a->user[0]]);
            CHECK_CLOSE(tp_column_get_f64(cs, a->n - 1), a->score[a->n - 1], 1e-6);
        }
        tp_frame_free(f);
    }
    CHECK_STATUS(tp_audience_write(a, t, tp_test_path("aud.json")), TP_ERR_ARG);
    tp_audience_free(a);
    tp_score_table_free(t);
    free(group);
}

// Log frame from parallel arrays (did, keyword, is_click).
static tp_frame *log_frame(const char **did, const char **kw, const int *click, size_t n) {
    tp_frame *f = NULL;
    tp_column *a, *b, *c;
    tp_frame_new(&f);
    tp_column_new("did", TP_DTYPE_STR, n, &a);
    tp_column_new("keyword", TP_DTYPE_STR, n, &b);
    tp_column_new("is_click", TP_DTYPE_I32, n, &c);
    for (size_t i = 0; i < n; i++) {
        tp_column_push_str(a, did[i], strlen(did[i]));
        tp_column_push_str(b, kw[i], strlen(kw[i]));
        tp_column_push_i32(c, click[i]);
    }
    tp_frame_add_take(f, a), tp_frame_add_take(f, b), tp_frame_add_take(f, c);
    return f;
}

static void test_validate_hand(void) {
    // universe a..f; seed f; audience {a, b}; random sample: 2 of {a..e}.
    const char *did[] = {"a", "a", "a", "b", "c", "c", "d", "f", "e", "e"};
    const char *kw[] = {"kw", "kw", "x", "kw", "kw", "kw", "kw", "kw", "x", "kw"};
    const int clk[] = {1, 0, 1, 0, 1, 0, 0, 1, 0, 0};
    tp_frame *log = log_frame(did, kw, clk, 10);
    const char *aud[] = {"a", "b"}, *uni[] = {"a", "b", "c", "d", "e", "f"}, *seeds[] = {"f"};
    tp_validate_result r;
    CHECK_OK(tp_audience_validate(aud, 2, uni, 6, seeds, 1, log, "kw", 5, &r));
    CHECK(r.audience.users == 2 && r.audience.impressions == 3 && r.audience.clicks == 1);
    CHECK(r.audience.clickers == 1);
    CHECK_CLOSE(r.audience.ctr, 1.0 / 3, 1e-12);
    CHECK(r.universe == 5 && r.clickers_total == 2); // a and c; f is a seed
    CHECK_CLOSE(r.precision_at_m, 0.5, 0);
    CHECK_CLOSE(r.recall_at_m, 0.5, 0);
    CHECK(r.random.users == 2);
    // the random pair is one of the 10 pairs of {a..e}; its counts must match that pair
    CHECK(r.random.clicks >= 0 && r.random.clicks <= 2);
    // a keyword nobody saw: zero counts, NaN rates, still OK
    CHECK_OK(tp_audience_validate(aud, 2, uni, 6, seeds, 1, log, "none", 5, &r));
    CHECK(r.audience.clicks == 0 && isnan(r.audience.ctr) && isnan(r.lift_clicks));
    char *js = tp_validate_result_json(&r, "none");
    CHECK(js && strstr(js, "\"lift_clicks\": null"));
    tp_free(js);
    // universe from the log: {a, b, c, d, f, e} minus seed f
    CHECK_OK(tp_audience_validate(aud, 2, NULL, 0, seeds, 1, log, "kw", 5, &r));
    CHECK(r.universe == 5);
    tp_frame_free(log);
    // missing column
    tp_frame *empty = NULL;
    tp_frame_new(&empty);
    CHECK_STATUS(tp_audience_validate(aud, 2, NULL, 0, NULL, 0, empty, "kw", 1, &r), TP_ERR_NOTFOUND);
    tp_frame_free(empty);
}

static void test_validate_planted(void) {
    // Planted groups in the scores; group 1 clicks keyword "k9" (group 1's block) at 20%, others at 1%.
    enum { U = 6000, K = 24, G = 4 };
    int *group = malloc(sizeof(int) * U);
    tp_score_table *t = planted_table(U, K, G, 5, group);
    const char **seeds = malloc(sizeof(char *) * U);
    size_t ns = 0;
    for (size_t u = 0; u < U && ns < 100; u++)
        if (group[u] == 1) seeds[ns++] = t->dids[u];
    tp_audience_opts o;
    tp_audience_opts_default(&o);
    o.k = 4;
    o.extension_pct = 300;
    tp_audience *a = NULL;
    CHECK_OK(tp_audience_extend(t, seeds, ns, &o, &a, NULL));
    // test log: 5 shows of k9 per user, clicks by group
    size_t n = (size_t)U * 5;
    const char **did = malloc(sizeof(char *) * n), **kw = malloc(sizeof(char *) * n);
    int *clk = malloc(sizeof(int) * n);
    tp_rng r;
    tp_rng_seed(&r, 99);
    for (size_t i = 0; i < n; i++) {
        size_t u = i / 5;
        did[i] = t->dids[u];
        kw[i] = "k9";
        clk[i] = tp_rng_uniform(&r) < (group[u] == 1 ? 0.2 : 0.01);
    }
    tp_frame *log = log_frame(did, kw, clk, n);
    const char **aud = malloc(sizeof(char *) * (a ? a->n : 1));
    for (size_t i = 0; a && i < a->n; i++) aud[i] = t->dids[a->user[i]];
    tp_validate_result res;
    CHECK_OK(tp_audience_validate(aud, a ? a->n : 0, (const char *const *)t->dids, U, seeds, ns,
                                  log, "k9", 1, &res));
    printf("  planted validation: audience %lld clicks (CTR %.3f), random %lld (CTR %.3f), lift %.2f, "
           "precision@M %.3f, recall@M %.3f\n",
           (long long)res.audience.clicks, res.audience.ctr, (long long)res.random.clicks,
           res.random.ctr, res.lift_clicks, res.precision_at_m, res.recall_at_m);
    CHECK(res.audience.users == 300 && res.random.users == 300);
    CHECK(res.lift_clicks > 2.0);
    CHECK(res.lift_ctr > 2.0);
    tp_frame_free(log);
    free(did), free(kw), free(clk), free(aud), free(seeds), free(group);
    tp_audience_free(a);
    tp_score_table_free(t);
}

static void test_tpsm_roundtrip(void) {
    // The score-table reader (lookalike.h) feeding extension: same audience as in memory.
    tp_score_table *t = planted_table(3000, 8, 2, 21, NULL), *back = NULL;
    const char *path = tp_test_path("scores.tpsm");
    char p[4096];
    snprintf(p, sizeof p, "%s", path);
    CHECK_OK(tp_score_table_write_tpsm(t, p));
    CHECK_OK(tp_score_table_read_tpsm(p, &back));
    const char *seeds[] = {"d1", "d2", "d3", "d4", "d5", "d6"};
    tp_audience_opts o;
    tp_audience_opts_default(&o);
    o.k = 2;
    o.m = 50;
    tp_audience *a = NULL, *b = NULL;
    CHECK_OK(tp_audience_extend(t, seeds, 6, &o, &a, NULL));
    if (back) CHECK_OK(tp_audience_extend(back, seeds, 6, &o, &b, NULL));
    CHECK(a && b && a->n == 50 && b->n == 50 && memcmp(a->user, b->user, 50 * sizeof *a->user) == 0);
    tp_audience_free(a), tp_audience_free(b);
    tp_score_table_free(t), tp_score_table_free(back);
}

static void write_text(const char *path, const char *text) {
    FILE *fp = fopen(path, "w");
    if (fp) fputs(text, fp), fclose(fp);
}

static void test_serve_config(void) {
    char p[4096];
    snprintf(p, sizeof p, "%s", tp_test_path("serve.yaml"));
    write_text(p, "listen: 127.0.0.1\nport: 0\ndata_root: root\nscores: s/scores.tpsm\n"
                  "clusters: 7\ntop_n: 3\nextension_pct: 250\nworkers: 2\n"
                  "tokens: [abcdefgh1, abcdefgh2]\nmax_body_bytes: 1000\n");
    tp_serve_config *c = NULL;
    CHECK_OK(tp_serve_config_load(p, &c));
    if (c) {
        CHECK(c->port == 0 && c->clusters == 7 && c->top_n == 3 && c->workers == 2);
        CHECK_CLOSE(c->extension_pct, 250, 0);
        CHECK(c->n_tokens == 2 && c->max_body_bytes == 1000);
        CHECK_STR(c->tokens[1], "abcdefgh2");
        CHECK(strstr(c->data_root, "/root") != NULL); // relative to the config's folder
    }
    tp_serve_config_free(c);
    // the example config loads
    c = NULL;
    CHECK_OK(tp_serve_config_load("examples/serve.yaml", &c));
    tp_serve_config_free(c);
    const char *bad[] = {"tokenz: [abcdefgh1]\n",   // misspelt key
                         "scores: ../outside.tpsm\n", // escapes the data root
                         "job_db: /etc/jobs.sqlite\n",
                         "port: 70000\n",
                         "tokens: [short]\n",
                         "top_n: 0\n",
                         "- a list\n"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        write_text(p, bad[i]);
        c = NULL;
        CHECK_STATUS(tp_serve_config_load(p, &c), TP_ERR_FORMAT);
        CHECK(strstr(tp_last_error(), "serve.yaml") != NULL);
        tp_serve_config_free(c);
    }
    write_text(p, "\n\nworkers: many\n");
    CHECK_STATUS(tp_serve_config_load(p, &c), TP_ERR_FORMAT);
    CHECK(strstr(tp_last_error(), "line 3") != NULL);
}

void suite_audience(void) {
    test_kmeans_hand();
    test_similarity_hand();
    test_similarity_naive();
    test_select();
    test_parse_seeds();
    test_extend_planted();
    test_validate_hand();
    test_validate_planted();
    test_tpsm_roundtrip();
    test_serve_config();
}

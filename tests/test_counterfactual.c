/* test_counterfactual.c: model-based counterfactual credit (src/attribution/counterfactual.c)
 * on a tiny random-weight model: exact Shapley against a brute force over all orderings,
 * removal credit recomputed by hand from single forwards, permutation sampling within its
 * standard error, the empty journey (zero context), and batched vs one-by-one forwards. */
#include "test.h"
#include "touchpoint/counterfactual.h"
#include "touchpoint/io.h"
#include "touchpoint/journey_build.h"

#include <stdlib.h>

// V campaigns, T steps; a model with random weights and one numeric control variable.
enum { V = 6, T = 8 };

static tp_dnamta_model *tiny_model(int max_batch, int n_numeric) {
    tp_dnamta_model *m = tp_calloc(1, sizeof *m);
    if (!m) abort();
    m->cfg = (tp_dnamta_config){.n_campaigns = V + 1, .max_len = T, .embed = 3, .hidden = 4, .time_decay = true,
                                .n_numeric = n_numeric};
    if (tp_dnamta_new(&m->cfg, max_batch, 7, &m->net) != TP_OK) abort();
    // larger weights than the initialiser's so that campaigns matter visibly
    size_t np;
    float *p = tp_dnamta_params(m->net, &np);
    tp_rng g;
    tp_rng_seed(&g, 3);
    for (size_t k = 0; k < np; k++) p[k] = (float)(tp_rng_normal(&g) * 0.8);
    m->max_batch = max_batch;
    m->n_vocab = V;
    m->logit_offset = -0.3;
    return m;
}

static void free_model(tp_dnamta_model *m) {
    tp_dnamta_free(m->net);
    tp_free(m);
}

// One journey per row of camps (-1 terminated, at most T), campaign index = vocabulary index.
typedef struct fixture {
    tp_journeys *j;
    tp_dnamta_data d;
    int32_t camp[8 * T], len[8];
    float age[8 * T], num[8];
    int64_t id[8];
} fixture;

static void build(fixture *f, const int rows[][T + 1], size_t n) {
    size_t touches = 0;
    for (size_t i = 0; i < n; i++)
        for (int t = 0; rows[i][t] >= 0; t++) touches++;
    if (tp_journeys_alloc(n, touches, V, false, &f->j) != TP_OK) abort();
    for (int c = 0; c < V; c++) {
        char nm[4] = {'c', (char)('0' + c), 0, 0};
        f->j->campaigns[c] = tp_strdup(nm);
    }
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        int L = 0;
        while (rows[i][L] >= 0) L++;
        f->j->journey_id[i] = f->id[i] = 100 + (int64_t)i;
        f->j->converted[i] = (uint8_t)(i % 2);
        f->j->length[i] = L;
        f->len[i] = L;
        for (int t = 0; t < T; t++) {
            f->camp[i * T + t] = t < L ? rows[i][t] : -1;
            f->age[i * T + t] = t < L ? (float)(L - t) * 0.7f : 0.0f;
        }
        for (int t = 0; t < L; t++, k++) {
            f->j->campaign[k] = rows[i][t];
            f->j->seconds_to_end[k] = (int64_t)((L - t) * 0.7 * 86400);
        }
        f->j->off[i + 1] = k;
        f->num[i] = 0.5f - (float)i * 0.4f;
    }
    f->j->n_touches = touches;
    f->d = (tp_dnamta_data){.n = n, .T = T, .journey_id = f->id, .len = f->len, .campaign = f->camp,
                            .age_days = f->age, .numeric = f->num, .n_numeric = 1};
}

// Corrected probability of journey i keeping only touches whose campaign is in set (bit per
// campaign index), by a forward pass of that one row.
static double prob_subset(tp_dnamta_model *m, const fixture *f, size_t i, unsigned set) {
    int32_t c[T];
    float a[T], p;
    int k = 0;
    for (int t = 0; t < f->len[i]; t++) {
        int cam = f->camp[i * T + t];
        if (!(set >> cam & 1u)) continue;
        c[k] = cam, a[k] = f->age[i * T + t], k++;
    }
    for (; k < T; k++) c[k] = -1, a[k] = 0;
    tp_dnamta_batch b = {.B = 1, .campaign = c, .age_days = a, .numeric = &f->num[i]};
    if (tp_dnamta_forward(m->net, &b, false, 0, &p, NULL, NULL) != TP_OK) abort();
    double q = p;
    return 1.0 / (1.0 + exp(-(log(q / (1 - q)) + m->logit_offset)));
}

static const int rows[][T + 1] = {
    {0, 1, 2, 1, 0, -1},          // 3 campaigns, repeats
    {3, -1},                      // 1 campaign
    {4, 5, 4, 4, -1},             // 2 campaigns
    {0, 1, 2, 3, 4, 5, 0, 1, -1}, // 6 campaigns, full length
};

static void test_exact_shapley_brute_force(void) {
    fixture f;
    build(&f, rows, 4);
    tp_dnamta_model *m = tiny_model(256, 1);
    tp_cf_opts o;
    tp_cf_opts_default(&o);
    o.threads = 2;
    // one journey at a time, so per-campaign credit is that journey's Shapley value
    for (size_t i = 0; i < 4; i++) {
        fixture g;
        build(&g, &rows[i], 1);
        g.num[0] = f.num[i];
        tp_cf_result *r = NULL;
        CHECK_OK(tp_cf_attribute(m, g.j, &g.d, TP_CF_SHAPLEY, &o, &r));
        if (!r) continue;
        CHECK(r->n_exact == 1 && r->n_sampled == 0);
        // brute force over all orderings of the present campaigns
        int pres[V], np = 0;
        for (int c = 0; c < V; c++)
            for (int t = 0; t < g.len[0]; t++)
                if (g.camp[t] == c) {
                    pres[np++] = c;
                    break;
                }
        double phi[V] = {0};
        int perm[V];
        for (int q = 0; q < np; q++) perm[q] = q;
        size_t count = 0;
        for (;;) { // lexicographic permutations
            unsigned s = 0;
            double prev = prob_subset(m, &g, 0, 0);
            for (int q = 0; q < np; q++) {
                s |= 1u << pres[perm[q]];
                double cur = prob_subset(m, &g, 0, s);
                phi[pres[perm[q]]] += cur - prev;
                prev = cur;
            }
            count++;
            int a = np - 2;
            while (a >= 0 && perm[a] > perm[a + 1]) a--;
            if (a < 0) break;
            int b = np - 1;
            while (perm[b] < perm[a]) b--;
            int tmp = perm[a];
            perm[a] = perm[b], perm[b] = tmp;
            for (int lo = a + 1, hi = np - 1; lo < hi; lo++, hi--) tmp = perm[lo], perm[lo] = perm[hi], perm[hi] = tmp;
        }
        double sum = 0;
        for (int c = 0; c < V; c++) {
            CHECK_CLOSE(r->credit[c], phi[c] / (double)count, 1e-6);
            sum += r->credit[c];
        }
        // efficiency: the values sum to P(full) - P(no touch), and the touches carry the credit
        CHECK_CLOSE(sum, prob_subset(m, &g, 0, 0x3f) - prob_subset(m, &g, 0, 0), 1e-6);
        CHECK_CLOSE(r->expected_conversions - r->baseline_conversions, sum, 1e-9);
        double ts = 0;
        for (size_t t = 0; t < g.j->n_touches; t++) ts += r->touch_credit[t];
        CHECK_CLOSE(ts, sum, 1e-9);
        tp_cf_result_free(r);
        tp_journeys_free(g.j);
    }
    tp_journeys_free(f.j);
    free_model(m);
}

static void test_removal_by_hand(void) {
    fixture f;
    build(&f, rows, 4);
    tp_dnamta_model *m = tiny_model(64, 1);
    tp_cf_result *r = NULL;
    CHECK_OK(tp_cf_attribute(m, f.j, &f.d, TP_CF_REMOVAL, NULL, &r));
    if (!r) goto done;
    // by hand: effects P(full) - P(without c), signed, split over the campaign's touches
    double want[V] = {0}, want_touch0 = 0, expect = 0;
    for (size_t i = 0; i < 4; i++) {
        double full = prob_subset(m, &f, i, 0x3f);
        expect += full;
        unsigned present = 0;
        for (int t = 0; t < f.len[i]; t++) present |= 1u << f.camp[i * T + t];
        for (int c = 0; c < V; c++) {
            if (!(present >> c & 1u)) continue;
            double e = full - prob_subset(m, &f, i, 0x3fu & ~(1u << c));
            want[c] += e;
            if (i == 0 && c == 0) want_touch0 = e / 2; // campaign 0 has two touches in journey 0
        }
    }
    for (int c = 0; c < V; c++) CHECK_CLOSE(r->credit[c], want[c], 1e-6);
    CHECK_CLOSE(r->touch_credit[0], want_touch0, 1e-6);
    CHECK_CLOSE(r->expected_conversions, expect, 1e-5);
    CHECK(r->n_rows == 5 + 3 + 4 + 8); // m + 2 rows per journey
    CHECK(r->std_error == NULL);
    // observed: converting journeys (1 and 3) containing each campaign
    CHECK_CLOSE(r->observed[3], 2, 0);
    CHECK_CLOSE(r->observed[5], 1, 0);
    // too small a batch for the method is refused
    tp_cf_opts o;
    tp_cf_opts_default(&o);
    tp_cf_result *r2 = NULL;
    CHECK_STATUS(tp_cf_attribute(m, f.j, &f.d, TP_CF_SHAPLEY, &o, &r2), TP_ERR_ARG);
done:
    tp_cf_result_free(r);
    tp_journeys_free(f.j);
    free_model(m);
}

static void test_sampling_within_se(void) {
    fixture f;
    build(&f, &rows[3], 1); // 6 campaigns
    tp_dnamta_model *m = tiny_model(4096, 1);
    tp_cf_opts o;
    tp_cf_opts_default(&o);
    tp_cf_result *ex = NULL, *sa = NULL, *sb = NULL;
    CHECK_OK(tp_cf_attribute(m, f.j, &f.d, TP_CF_SHAPLEY, &o, &ex));
    o.max_exact = 3;
    o.samples = 400;
    CHECK_OK(tp_cf_attribute(m, f.j, &f.d, TP_CF_SHAPLEY, &o, &sa));
    CHECK_OK(tp_cf_attribute(m, f.j, &f.d, TP_CF_SHAPLEY, &o, &sb));
    if (!ex || !sa || !sb) goto done;
    CHECK(sa->n_sampled == 1 && sa->n_exact == 0);
    double sum = 0, maxz = 0;
    for (int c = 0; c < V; c++) {
        CHECK(sa->std_error[c] > 0);
        double z = fabs(sa->credit[c] - ex->credit[c]) / sa->std_error[c];
        if (z > maxz) maxz = z;
        CHECK(z < 4);
        CHECK(sa->credit[c] == sb->credit[c]); // deterministic given the seed
        sum += sa->credit[c];
        CHECK(ex->std_error[c] == 0);
    }
    printf("  sampled Shapley: max |sampled - exact| / se = %.2f\n", maxz);
    // every permutation sums to v(all) - v(empty), so the sampled values do too
    CHECK_CLOSE(sum, prob_subset(m, &f, 0, 0x3f) - prob_subset(m, &f, 0, 0), 1e-6);
done:
    tp_cf_result_free(ex);
    tp_cf_result_free(sa);
    tp_cf_result_free(sb);
    tp_journeys_free(f.j);
    free_model(m);
}

static void test_batched_forward_and_empty(void) {
    tp_dnamta_model *m = tiny_model(64, 1);
    // rows of lengths 3, 0, 8, 1, 0 in one batch vs one by one
    int32_t c[5 * T];
    float a[5 * T], num[5] = {0.1f, -1.0f, 2.0f, 0.0f, 0.7f}, pb[5], p1;
    const int lens[5] = {3, 0, 8, 1, 0};
    for (int i = 0; i < 5; i++)
        for (int t = 0; t < T; t++) {
            c[i * T + t] = t < lens[i] ? (i + t) % V : -1;
            a[i * T + t] = t < lens[i] ? (float)(lens[i] - t) : 0;
        }
    CHECK_OK(tp_dnamta_set_threads(m->net, 2));
    tp_dnamta_batch b = {.B = 5, .campaign = c, .age_days = a, .numeric = num};
    CHECK_OK(tp_dnamta_forward(m->net, &b, false, 0, pb, NULL, NULL));
    for (int i = 0; i < 5; i++) {
        tp_dnamta_batch b1 = {.B = 1, .campaign = c + i * T, .age_days = a + i * T, .numeric = num + i};
        CHECK_OK(tp_dnamta_forward(m->net, &b1, false, 0, &p1, NULL, NULL));
        CHECK(isfinite(pb[i]) && pb[i] > 0 && pb[i] < 1);
        CHECK_CLOSE(pb[i], p1, 1e-7);
    }
    // the empty journey is the control branch alone: different controls, different baselines
    CHECK(pb[1] != pb[4]);
    free_model(m);
}

// History features by hand. User 1: touches at days 0, 1 (converts), 3, 4, 10 (converts), 12;
// user 2: one touch at day 2 (no conversion). Journeys: u1 {0,1} conv, {3,4,10} conv, {12}; u2 {2}.
static void test_history_features(void) {
    const int64_t uid[] = {1, 1, 1, 1, 1, 1, 2};
    const double day[] = {0, 1, 3, 4, 10, 12, 2};
    const bool conv[] = {false, true, false, false, true, false, false};
    tp_frame *f = NULL, *r = NULL;
    tp_column *cu = NULL, *ct = NULL, *cc = NULL, *cv = NULL;
    CHECK_OK(tp_frame_new(&f));
    CHECK_OK(tp_column_new("uid", TP_DTYPE_I64, 7, &cu));
    CHECK_OK(tp_column_new("timestamp", TP_DTYPE_I64, 7, &ct));
    CHECK_OK(tp_column_new("campaign", TP_DTYPE_STR, 7, &cc));
    CHECK_OK(tp_column_new("conversion", TP_DTYPE_BOOL, 7, &cv));
    if (!f || !cu || !ct || !cc || !cv) return;
    for (int i = 0; i < 7; i++) {
        tp_column_push_i64(cu, uid[i]);
        tp_column_push_i64(ct, 1700000000 + (int64_t)(day[i] * 86400));
        tp_column_push_str(cc, i % 2 ? "a" : "b", 1);
        tp_column_push_bool(cv, conv[i]);
    }
    tp_frame_add_take(f, cu);
    tp_frame_add_take(f, ct);
    tp_frame_add_take(f, cc);
    tp_frame_add_take(f, cv);
    char imp[512], dir[512], all[600];
    snprintf(imp, sizeof imp, "%s", tp_test_path("hist_imp.parquet"));
    snprintf(dir, sizeof dir, "%s", tp_test_path("hist_j"));
    snprintf(all, sizeof all, "%s/all.parquet", dir);
    CHECK_OK(tp_table_write(f, imp, NULL));
    tp_journeys_build_opts o;
    tp_journeys_build_opts_default(&o);
    o.n_split = 1;
    o.split[0] = 1;
    CHECK_OK(tp_journeys_write(imp, dir, &o, NULL));
    CHECK_OK(tp_journeys_add_history(imp, dir));
    CHECK_OK(tp_table_read(all, NULL, 0, &r));
    if (r && tp_frame_find(r, "hist_activity_rate")) {
        const int64_t *u = TP_CCOL(tp_frame_find(r, "uid"), int64_t), *id = TP_CCOL(tp_frame_find(r, "journey_id"), int64_t);
        const double *pc = TP_CCOL(tp_frame_find(r, "hist_prev_conversions"), double);
        const double *pj = TP_CCOL(tp_frame_find(r, "hist_prev_journeys"), double);
        const double *ml = TP_CCOL(tp_frame_find(r, "hist_prev_mean_length"), double);
        const double *ds = TP_CCOL(tp_frame_find(r, "hist_days_since_first_seen"), double);
        const double *ar = TP_CCOL(tp_frame_find(r, "hist_activity_rate"), double);
        CHECK(tp_frame_n_rows(r) == 4);
        int seen = 0;
        for (size_t i = 0; i < tp_frame_n_rows(r); i++) {
            if (u[i] == 2) {
                CHECK(pc[i] == 0 && pj[i] == 0 && ds[i] == 0 && ar[i] == 0);
                continue;
            }
            // user 1's journeys in id order: k = 0, 1, 2
            int k = 0;
            for (size_t q = 0; q < tp_frame_n_rows(r); q++) k += u[q] == 1 && id[q] < id[i];
            const double want_pc[3] = {0, 1, 2}, want_ml[3] = {0, 2, 2.5}, want_ds[3] = {0, 3, 12};
            const double want_ar[3] = {0, 2.0 / 3.0, 5.0 / 12.0};
            CHECK_CLOSE(pc[i], want_pc[k], 0);
            CHECK_CLOSE(pj[i], k, 0);
            CHECK_CLOSE(ml[i], want_ml[k], 1e-12);
            CHECK_CLOSE(ds[i], want_ds[k], 1e-9);
            CHECK_CLOSE(ar[i], want_ar[k], 1e-9);
            seen++;
        }
        CHECK(seen == 3);
    } else {
        CHECK(!"history columns missing");
    }
    // a second call refuses to add the columns twice
    CHECK_STATUS(tp_journeys_add_history(imp, dir), TP_ERR_ARG);
    tp_frame_free(f);
    tp_frame_free(r);
}

void suite_counterfactual(void) {
    test_history_features();
    test_exact_shapley_brute_force();
    test_removal_by_hand();
    test_sampling_within_se();
    test_batched_forward_and_empty();
}

/* test_attribution.c: the attribution methods on hand-computed cases (every heuristic, Markov
 * order 1 and 2 solved by hand, Shapley on three campaigns by hand), sampled Shapley against a
 * brute-force exact value within its stated standard error, and the evaluation metrics. */
#include "test.h"
#include "touchpoint/attribution.h"
#include "touchpoint/io.h"

#include <stdlib.h>

// ---- fixtures ----

/* Build journeys from specs like "a b c +" (touches, then + converted / - not). Campaigns are
 * single letters a.. (n_campaigns of them); seconds_to_end of touch k of n is (n-1-k) days
 * unless ste is given (one array per journey, may be NULL). */
static tp_journeys *make(const char *const *spec, size_t n, size_t n_campaigns,
                         const int64_t *const *ste, const double *value) {
    size_t touches = 0;
    for (size_t i = 0; i < n; i++)
        for (const char *p = spec[i]; *p; p++) touches += *p >= 'a' && *p <= 'z';
    tp_journeys *j = NULL;
    if (tp_journeys_alloc(n, touches, n_campaigns, value != NULL, &j) != TP_OK) abort();
    for (size_t c = 0; c < n_campaigns; c++) {
        char name[2] = {(char)('a' + c), 0};
        j->campaigns[c] = tp_strdup(name);
    }
    size_t t = 0;
    for (size_t i = 0; i < n; i++) {
        size_t t0 = t;
        for (const char *p = spec[i]; *p; p++) {
            if (*p >= 'a' && *p <= 'z') j->campaign[t++] = *p - 'a';
            if (*p == '+') j->converted[i] = 1;
        }
        size_t len = t - t0;
        for (size_t k = 0; k < len; k++)
            j->seconds_to_end[t0 + k] = ste && ste[i] ? ste[i][k] : (int64_t)(len - 1 - k) * 86400;
        j->off[i + 1] = t;
        j->length[i] = (int32_t)len;
        j->journey_id[i] = (int64_t)i + 100;
        j->uid[i] = (int64_t)i;
        if (value) j->value[i] = value[i];
        if (len > j->max_len) j->max_len = len;
    }
    return j;
}

static tp_credit *run(const tp_journeys *j, tp_attr_method m, const tp_attr_opts *o) {
    tp_credit *c = NULL;
    CHECK_OK(tp_attribute(j, m, o, &c));
    return c;
}

// ---- heuristics ----

static void test_heuristics(void) {
    /* J1: a b c + (2, 1, 0 days to end), value 10
     * J2: b a +   (1, 0 days), value 20
     * J3: c +     value 5
     * J4: a c -   (never credited)
     * last:   a = 1 (J2), c = 2 (J1, J3)
     * first:  a = 1 (J1), b = 1 (J2), c = 1 (J3)
     * linear: a = 1/3 + 1/2 = 5/6, b = 1/3 + 1/2 = 5/6, c = 1/3 + 1 = 4/3
     * time-decay, half-life 1 day: J1 weights 1/4, 1/2, 1 over 7/4 -> 1/7, 2/7, 4/7;
     *   J2 weights 1/2, 1 over 3/2 -> b 1/3, a 2/3; J3 c 1.
     *   a = 1/7 + 2/3 = 17/21, b = 2/7 + 1/3 = 13/21, c = 4/7 + 1 = 11/7
     * position 40/20/40: J1 a .4 b .2 c .4; J2 (two touches) b .5 a .5; J3 c 1
     *   a = .9, b = .7, c = 1.4
     * position 30/50: J1 a .3 b .2 c .5; J2 b .3/.8 = .375, a .625; a = .925 b = .575 c = 1.5
     * values under last touch: a = 20, c = 10 + 5 = 15. */
    const char *spec[] = {"a b c +", "b a +", "c +", "a c -"};
    double value[] = {10, 20, 5, 1000};
    tp_journeys *j = make(spec, 4, 3, NULL, value);
    tp_attr_opts o;
    tp_attr_opts_default(&o);
    o.half_life_days = 1;
    o.per_touch = true;
    struct {
        tp_attr_method m;
        double want[3];
    } cases[] = {
        {TP_ATTR_LAST, {1, 0, 2}},
        {TP_ATTR_FIRST, {1, 1, 1}},
        {TP_ATTR_LINEAR, {5.0 / 6, 5.0 / 6, 4.0 / 3}},
        {TP_ATTR_TIME_DECAY, {17.0 / 21, 13.0 / 21, 11.0 / 7}},
        {TP_ATTR_POSITION, {0.9, 0.7, 1.4}},
    };
    for (size_t q = 0; q < sizeof cases / sizeof *cases; q++) {
        for (int nt = 1; nt <= 3; nt++) {
            o.n_threads = nt;
            tp_credit *c = run(j, cases[q].m, &o);
            if (!c) continue;
            CHECK_CLOSE(c->total_conversions, 3, 0);
            CHECK_CLOSE(c->total_value, 35, 0);
            for (int k = 0; k < 3; k++) {
                CHECK_CLOSE(c->attributed_conversions[k], cases[q].want[k], 1e-12);
                CHECK_CLOSE(c->share[k], cases[q].want[k] / 3, 1e-12);
            }
            CHECK(c->std_error == NULL && c->weight == NULL);
            // per-touch: sums to 1 per converting journey, 0 on J4
            CHECK_CLOSE(c->touch_credit[0] + c->touch_credit[1] + c->touch_credit[2], 1, 1e-12);
            CHECK_CLOSE(c->touch_credit[3] + c->touch_credit[4], 1, 1e-12);
            CHECK_CLOSE(c->touch_credit[5], 1, 0);
            CHECK(c->touch_credit[6] == 0 && c->touch_credit[7] == 0);
            if (cases[q].m == TP_ATTR_LAST) {
                CHECK_CLOSE(c->attributed_value[0], 20, 0);
                CHECK_CLOSE(c->attributed_value[1], 0, 0);
                CHECK_CLOSE(c->attributed_value[2], 15, 0);
            }
            if (cases[q].m == TP_ATTR_TIME_DECAY) {
                CHECK_CLOSE(c->touch_credit[0], 1.0 / 7, 1e-12);
                CHECK_CLOSE(c->touch_credit[3], 1.0 / 3, 1e-12);
                // value: a = 10/7 + 20*2/3
                CHECK_CLOSE(c->attributed_value[0], 10.0 / 7 + 40.0 / 3, 1e-12);
            }
            tp_credit_free(c);
        }
    }
    o.n_threads = 2;
    o.position_first = 0.3;
    o.position_last = 0.5;
    tp_credit *c = run(j, TP_ATTR_POSITION, &o);
    if (c) {
        CHECK_CLOSE(c->attributed_conversions[0], 0.925, 1e-12);
        CHECK_CLOSE(c->attributed_conversions[1], 0.575, 1e-12);
        CHECK_CLOSE(c->attributed_conversions[2], 1.5, 1e-12);
        tp_credit_free(c);
    }
    tp_journeys_free(j);

    /* Position on 4 and 5 touches: a b b c + -> a .4, b .1 + .1, c .4;
     * a b c b a + -> a .4 + .4, b .2/3 * 2, c .2/3. Time decay far from the end: touches
     * 1000 and 1001 half-lives old still split 2/3, 1/3 (no underflow to 0/0). */
    const char *spec2[] = {"a b b c +", "a b c b a +", "a b +"};
    int64_t far[] = {1001 * 86400, 1000 * 86400};
    const int64_t *ste[] = {NULL, NULL, far};
    j = make(spec2, 3, 3, ste, NULL);
    tp_attr_opts_default(&o);
    c = run(j, TP_ATTR_POSITION, &o);
    if (c) {
        CHECK_CLOSE(c->attributed_conversions[0], 0.4 + 0.8 + 0.5, 1e-12);
        CHECK_CLOSE(c->attributed_conversions[1], 0.2 + 0.4 / 3 + 0.5, 1e-12);
        CHECK_CLOSE(c->attributed_conversions[2], 0.4 + 0.2 / 3, 1e-12);
        CHECK(c->attributed_value == NULL);
        tp_credit_free(c);
    }
    o.half_life_days = 1;
    o.per_touch = true;
    c = run(j, TP_ATTR_TIME_DECAY, &o);
    if (c) {
        CHECK_CLOSE(c->touch_credit[9], 1.0 / 3, 1e-12);
        CHECK_CLOSE(c->touch_credit[10], 2.0 / 3, 1e-12);
        tp_credit_free(c);
    }
    tp_journeys_free(j);
}

// ---- Markov ----

static void test_markov(void) {
    /* Journeys: J1 a b a b +, J2 a b -, J3 b a -, J4 b +. Two conversions.
     *
     * Order 1. Counts: start -> a 2, start -> b 2.
     *   a -> b 3 (J1 twice, J2), a -> null 1 (J3):            P(a->b) = 3/4, P(a->null) = 1/4
     *   b -> a 2 (J1, J3), b -> conv 2 (J1, J4), b -> null 1 (J2): 2/5, 2/5, 1/5
     *   h_a = 3/4 h_b, h_b = 2/5 + 2/5 h_a = 2/5 + 3/10 h_b  =>  h_b = 4/7, h_a = 3/7
     *   P(conv) = 1/2 (3/7) + 1/2 (4/7) = 1/2
     *   remove a: h_b = 2/5, P = 1/5, RE_a = 1 - (1/5)/(1/2) = 3/5
     *   remove b: h_a = 0,   P = 0,   RE_b = 1
     *   credit a = 2 (3/5)/(8/5) = 3/4, b = 2 (1)/(8/5) = 5/4
     *
     * Order 2. States (a), (b), (a,b), (b,a). Counts: start -> (a) 2, start -> (b) 2.
     *   (a) -> (a,b) 2:                                           1
     *   (a,b) -> (b,a) 1 (J1), -> conv 1 (J1), -> null 1 (J2):     1/3 each
     *   (b,a) -> (a,b) 1 (J1), -> null 1 (J3):                     1/2 each
     *   (b) -> (b,a) 1 (J3), -> conv 1 (J4):                       1/2 each
     *   x = h(a,b) = 1/3 + 1/3 y, y = h(b,a) = 1/2 x  =>  x = 2/5, y = 1/5
     *   h(a) = 2/5, h(b) = 1/2 y + 1/2 = 3/5, P(conv) = 1/2 (2/5 + 3/5) = 1/2
     *   remove a (states (a), (a,b), (b,a) go to null): h(b) = 1/2, P = 1/4, RE_a = 1/2
     *   remove b (states (b), (a,b), (b,a)): h(a) = 0, P = 0, RE_b = 1
     *   credit a = 2 (1/2)/(3/2) = 2/3, b = 4/3 */
    const char *spec[] = {"a b a b +", "a b -", "b a -", "b +"};
    tp_journeys *j = make(spec, 4, 3, NULL, NULL); // campaign c never occurs
    tp_attr_opts o;
    tp_attr_opts_default(&o);
    for (int dense = 0; dense < 2; dense++) {
        o.markov_dense_max = dense ? 512 : 0;
        o.markov_order = 1;
        tp_credit *c = run(j, TP_ATTR_MARKOV, &o);
        if (c) {
            CHECK(c->n_states == 2);
            CHECK_CLOSE(c->base_rate, 0.5, 1e-14);
            CHECK_CLOSE(c->weight[0], 0.6, 1e-13);
            CHECK_CLOSE(c->weight[1], 1.0, 1e-13);
            CHECK_CLOSE(c->weight[2], 0.0, 0);
            CHECK_CLOSE(c->attributed_conversions[0], 0.75, 1e-12);
            CHECK_CLOSE(c->attributed_conversions[1], 1.25, 1e-12);
            CHECK_CLOSE(c->share[0], 0.375, 1e-12);
            tp_credit_free(c);
        }
        o.markov_order = 2;
        c = run(j, TP_ATTR_MARKOV, &o);
        if (c) {
            CHECK(c->n_states == 4);
            CHECK_CLOSE(c->base_rate, 0.5, 1e-14);
            CHECK_CLOSE(c->weight[0], 0.5, 1e-13);
            CHECK_CLOSE(c->weight[1], 1.0, 1e-13);
            CHECK_CLOSE(c->attributed_conversions[0], 2.0 / 3, 1e-12);
            CHECK_CLOSE(c->attributed_conversions[1], 4.0 / 3, 1e-12);
            tp_credit_free(c);
        }
    }
    tp_journeys_free(j);

    /* A bigger random chain: Gauss-Seidel and the dense LU agree to 1e-12 at orders 1..3, for
     * 1 and 3 threads; removal effects lie in [0, 1]; shares sum to 1. */
    enum { NJ = 3000, NC = 7 };
    uint64_t s = 42;
    char **sp = malloc(NJ * sizeof *sp);
    for (int i = 0; i < NJ; i++) {
        sp[i] = malloc(64);
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        int len = 1 + (int)((s >> 33) % 8), p = 0;
        for (int k = 0; k < len; k++) {
            s = s * 6364136223846793005ULL + 1442695040888963407ULL;
            int cmp = (int)((s >> 33) % NC);
            if (k > 0 && (s >> 20) % 3 == 0) cmp = sp[i][p - 2] - 'a'; // repeats: self loops
            sp[i][p++] = (char)('a' + cmp);
            sp[i][p++] = ' ';
        }
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        int conv = (s >> 33) % 100 < (unsigned)(5 + 10 * (memchr(sp[i], 'c', (size_t)p) != NULL) + 3 * len);
        sp[i][p++] = conv ? '+' : '-';
        sp[i][p] = 0;
    }
    j = make((const char *const *)sp, NJ, NC, NULL, NULL);
    for (int k = 1; k <= 3; k++) {
        o.markov_order = k;
        o.n_threads = 1;
        o.markov_dense_max = 100000;
        tp_credit *d = run(j, TP_ATTR_MARKOV, &o);
        o.markov_dense_max = 0;
        o.n_threads = 3;
        tp_credit *g = run(j, TP_ATTR_MARKOV, &o);
        if (!d || !g) continue;
        CHECK(d->n_states == g->n_states);
        CHECK_CLOSE(d->base_rate, g->base_rate, 1e-13);
        double sum = 0;
        for (int q = 0; q < NC; q++) {
            CHECK_CLOSE(d->weight[q], g->weight[q], 1e-12);
            CHECK(g->weight[q] >= 0 && g->weight[q] <= 1);
            sum += g->share[q];
        }
        CHECK_CLOSE(sum, 1, 1e-12);
        printf("    markov order %d: %zu states, P(conv) %.6f, RE(c) %.6f\n", k, g->n_states,
               g->base_rate, g->weight[2]);
        tp_credit_free(d);
        tp_credit_free(g);
    }
    o.markov_order = 4; // sparse only (states exceed what dense would take here)
    o.markov_dense_max = 512;
    tp_credit *c4 = run(j, TP_ATTR_MARKOV, &o);
    if (c4) {
        double sum = 0;
        for (int q = 0; q < NC; q++) sum += c4->share[q];
        CHECK_CLOSE(sum, 1, 1e-12);
        CHECK(c4->n_states > 512);
        tp_credit_free(c4);
    }
    tp_journeys_free(j);
    for (int i = 0; i < NJ; i++) free(sp[i]);
    free(sp);
}

// ---- Shapley ----

static void add_journeys(char **sp, int *n, const char *s, int count) {
    for (int i = 0; i < count; i++) sp[(*n)++] = (char *)s;
}

static void test_shapley_exact(void) {
    /* Sets (journeys, conversions): {a} (10, 2), {b} (10, 1), {a,b} (5, 3), {c} (5, 0),
     * {a,c} (5, 2). v(S) = conversions / journeys over journeys whose set is inside S:
     *   v(a) = 2/10, v(b) = 1/10, v(c) = 0, v(ab) = 6/25, v(ac) = 4/20, v(bc) = 1/15,
     *   v(abc) = 8/35.
     * phi_a = 1/3 v(a) + 1/6 (v(ab) - v(b)) + 1/6 (v(ac) - v(c)) + 1/3 (v(abc) - v(bc))
     *       = 1/15 + 7/300 + 1/30 + 17/315 = 1117/6300
     * phi_b = 1/3 v(b) + 1/6 (v(ab) - v(a)) + 1/6 (v(bc) - v(c)) + 1/3 (v(abc) - v(ac))
     *       = 191/3150
     * phi_c = 1/3 v(c) + 1/6 (v(ac) - v(a)) + 1/6 (v(bc) - v(b)) + 1/3 (v(abc) - v(ab))
     *       = -59/6300   (c lowers the conversion rate of every coalition it joins)
     * Sum = v(abc) = 8/35; credit = phi / (8/35) * 8 conversions = 35 phi:
     *   a = 1117/180, b = 191/90, c = -59/180. Touch order and repeats do not matter. */
    char *sp[40];
    int n = 0;
    add_journeys(sp, &n, "a +", 2);
    add_journeys(sp, &n, "a a -", 8);
    add_journeys(sp, &n, "b +", 1);
    add_journeys(sp, &n, "b -", 9);
    add_journeys(sp, &n, "a b +", 2);
    add_journeys(sp, &n, "b b a +", 1);
    add_journeys(sp, &n, "b a -", 2);
    add_journeys(sp, &n, "c -", 5);
    add_journeys(sp, &n, "c a +", 2);
    add_journeys(sp, &n, "a c -", 3);
    tp_journeys *j = make((const char *const *)sp, (size_t)n, 4, NULL, NULL);
    tp_attr_opts o;
    tp_attr_opts_default(&o);
    o.shapley_game = TP_SHAPLEY_RATE;
    for (int nt = 1; nt <= 2; nt++) {
        o.n_threads = nt;
        tp_credit *c = run(j, TP_ATTR_SHAPLEY, &o);
        if (!c) continue;
        CHECK(c->n_samples == 0 && c->std_error == NULL);
        CHECK_CLOSE(c->base_rate, 8.0 / 35, 1e-15);
        CHECK_CLOSE(c->weight[0], 1117.0 / 6300, 1e-15);
        CHECK_CLOSE(c->weight[1], 191.0 / 3150, 1e-15);
        CHECK_CLOSE(c->weight[2], -59.0 / 6300, 1e-15);
        CHECK_CLOSE(c->weight[3], 0, 0); // campaign d never occurs
        CHECK_CLOSE(c->attributed_conversions[0], 1117.0 / 180, 1e-12);
        CHECK_CLOSE(c->attributed_conversions[1], 191.0 / 90, 1e-12);
        CHECK_CLOSE(c->attributed_conversions[2], -59.0 / 180, 1e-12);
        tp_credit_free(c);
    }
    /* Set-rates game (the default): exact sets {a} 2/10, {b} 1/10, {a,b} 3/5, {c} 0/5, {a,c} 2/5;
     * v(S) sums the rates of the sets inside S, so phi_i = sum over sets T with i of CR(T)/|T|:
     *   phi_a = 0.2 + 0.6/2 + 0.4/2 = 0.7, phi_b = 0.1 + 0.6/2 = 0.4, phi_c = 0.4/2 = 0.2;
     *   v(abc) = 1.3; credit = phi / 1.3 * 8: a = 56/13, b = 32/13, c = 16/13 (never negative).
     * Exact for any number of campaigns: no sampling even with shapley_max_exact = 2. */
    o.shapley_game = TP_SHAPLEY_SET_RATES;
    for (int nt = 1; nt <= 2; nt++) {
        o.n_threads = nt;
        o.shapley_max_exact = nt == 1 ? 15 : 2;
        tp_credit *c = run(j, TP_ATTR_SHAPLEY, &o);
        if (!c) continue;
        CHECK(c->n_samples == 0 && c->std_error == NULL);
        CHECK_CLOSE(c->base_rate, 1.3, 1e-15);
        CHECK_CLOSE(c->weight[0], 0.7, 1e-15);
        CHECK_CLOSE(c->weight[1], 0.4, 1e-15);
        CHECK_CLOSE(c->weight[2], 0.2, 1e-15);
        CHECK_CLOSE(c->weight[3], 0, 0);
        CHECK_CLOSE(c->attributed_conversions[0], 56.0 / 13, 1e-12);
        CHECK_CLOSE(c->attributed_conversions[1], 32.0 / 13, 1e-12);
        CHECK_CLOSE(c->attributed_conversions[2], 16.0 / 13, 1e-12);
        tp_credit_free(c);
    }
    o.shapley_max_exact = 15;
    /* Count game v(S) = C(S): each conversion split equally among its journey's distinct
     * campaigns: a = 2 + 3/2 + 2/2 = 4.5, b = 1 + 3/2 = 2.5, c = 2/2 = 1; v(abc) = 8. */
    o.shapley_game = TP_SHAPLEY_COUNT;
    for (int exact = 0; exact < 2; exact++) {
        o.shapley_max_exact = exact ? 15 : 2; // 3 players > 2: sampled
        tp_credit *c = run(j, TP_ATTR_SHAPLEY, &o);
        if (!c) continue;
        CHECK(c->n_samples == (exact ? 0 : o.shapley_samples));
        CHECK_CLOSE(c->base_rate, 8, 0);
        double tol = exact ? 1e-12 : 0.2; // sampled: permutations over 3 players
        CHECK_CLOSE(c->attributed_conversions[0], 4.5, tol);
        CHECK_CLOSE(c->attributed_conversions[1], 2.5, tol);
        CHECK_CLOSE(c->attributed_conversions[2], 1.0, tol);
        tp_credit_free(c);
    }
    tp_journeys_free(j);
}

static double game_v(const uint32_t *mask, const uint8_t *conv, int nj, uint32_t S) {
    int in = 0, cv = 0;
    for (int i = 0; i < nj; i++) {
        if ((mask[i] & ~S) == 0) {
            in++;
            cv += conv[i];
        }
    }
    return in ? (double)cv / in : 0;
}

static void test_shapley_sampling(void) {
    /* 16 campaigns, 400 random journeys. Brute force: v over all 2^16 coalitions straight from
     * the definition, phi_i = sum_S |S|!(n-|S|-1)!/n! (v(S+i) - v(S)). The library samples (16 >
     * shapley_max_exact = 15): every campaign within 4 stated standard errors. With
     * shapley_max_exact = 16 it computes the exact values: equal to 1e-12. */
    enum { NJ = 400, NC = 16 };
    uint64_t s = 7;
    char **sp = malloc(NJ * sizeof *sp);
    uint32_t mask[NJ];
    uint8_t conv[NJ];
    for (int i = 0; i < NJ; i++) {
        sp[i] = malloc(64);
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        int len = 1 + (int)((s >> 33) % 4), p = 0;
        mask[i] = 0;
        for (int k = 0; k < len; k++) {
            s = s * 6364136223846793005ULL + 1442695040888963407ULL;
            int cmp = (int)((s >> 33) % NC);
            mask[i] |= 1u << cmp;
            sp[i][p++] = (char)('a' + cmp);
            sp[i][p++] = ' ';
        }
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        conv[i] = (s >> 33) % 100 < (unsigned)(10 + 25 * ((mask[i] & 0x7) != 0));
        sp[i][p++] = conv[i] ? '+' : '-';
        sp[i][p] = 0;
    }
    double *v = malloc(sizeof(double) << NC);
    for (uint32_t S = 0; S < (1u << NC); S++) v[S] = game_v(mask, conv, NJ, S);
    double phi[NC], fact[NC + 1];
    fact[0] = 1;
    for (int q = 1; q <= NC; q++) fact[q] = fact[q - 1] * q;
    for (int i = 0; i < NC; i++) {
        phi[i] = 0;
        for (uint32_t S = 0; S < (1u << NC); S++) {
            if (S & (1u << i)) continue;
            int k = __builtin_popcount(S);
            phi[i] += fact[k] * fact[NC - k - 1] / fact[NC] * (v[S | (1u << i)] - v[S]);
        }
    }
    double vall = v[(1u << NC) - 1], total = 0;
    for (int i = 0; i < NJ; i++) total += conv[i];
    tp_journeys *j = make((const char *const *)sp, NJ, NC, NULL, NULL);
    tp_attr_opts o;
    tp_attr_opts_default(&o);
    o.shapley_game = TP_SHAPLEY_RATE;
    o.shapley_samples = 4000;
    o.seed = 12345;
    o.n_threads = 2;
    tp_credit *c = run(j, TP_ATTR_SHAPLEY, &o);
    if (c) {
        CHECK(c->n_samples == 4000 && c->std_error != NULL);
        double worst = 0;
        for (int i = 0; i < NC; i++) {
            double want = phi[i] / vall * total;
            double z = fabs(c->attributed_conversions[i] - want) / c->std_error[i];
            CHECK(c->std_error[i] > 0);
            CHECK(z <= 4);
            if (z > worst) worst = z;
        }
        printf("    sampled Shapley: worst |error| / SE over %d campaigns = %.2f\n", NC, worst);
        // Determinism: same seed and thread count, same numbers; another thread count draws
        // the same permutations (per-sample streams), equal up to summation order.
        tp_credit *c2 = run(j, TP_ATTR_SHAPLEY, &o);
        o.n_threads = 3;
        tp_credit *c3 = run(j, TP_ATTR_SHAPLEY, &o);
        for (int i = 0; c2 && c3 && i < NC; i++) {
            CHECK(c2->attributed_conversions[i] == c->attributed_conversions[i]);
            CHECK_CLOSE(c3->attributed_conversions[i], c->attributed_conversions[i], 1e-10);
        }
        tp_credit_free(c2);
        tp_credit_free(c3);
        tp_credit_free(c);
    }
    o.shapley_max_exact = 16;
    c = run(j, TP_ATTR_SHAPLEY, &o);
    if (c) {
        CHECK(c->n_samples == 0);
        for (int i = 0; i < NC; i++) CHECK_CLOSE(c->weight[i], phi[i], 1e-12);
        tp_credit_free(c);
    }
    tp_journeys_free(j);
    for (int i = 0; i < NJ; i++) free(sp[i]);
    free(sp);
    free(v);
}

// ---- names, options, frames ----

static void test_api(void) {
    tp_attr_method m;
    CHECK_OK(tp_attr_method_parse("time-decay", &m));
    CHECK(m == TP_ATTR_TIME_DECAY);
    CHECK_STR(tp_attr_method_name(TP_ATTR_SHAPLEY), "shapley");
    CHECK_STATUS(tp_attr_method_parse("markow", &m), TP_ERR_ARG);
    unsigned mask = 0;
    CHECK_OK(tp_attr_methods_parse("all", &mask));
    CHECK(mask == 0x7f);
    CHECK_OK(tp_attr_methods_parse("last,markov", &mask));
    CHECK(mask == ((1u << TP_ATTR_LAST) | (1u << TP_ATTR_MARKOV)));
    CHECK_STATUS(tp_attr_methods_parse("last,", &mask), TP_ERR_ARG);

    const char *spec[] = {"b a +", "c -", "a +"};
    tp_journeys *j = make(spec, 3, 3, NULL, NULL);
    tp_attr_opts o;
    tp_attr_opts_default(&o);
    tp_credit *c = NULL;
    o.markov_order = 5;
    CHECK_STATUS(tp_attribute(j, TP_ATTR_MARKOV, &o, &c), TP_ERR_ARG);
    tp_attr_opts_default(&o);
    o.position_first = 0.7;
    o.position_last = 0.4;
    CHECK_STATUS(tp_attribute(j, TP_ATTR_POSITION, &o, &c), TP_ERR_ARG);
    tp_attr_opts_default(&o);
    o.half_life_days = 0;
    CHECK_STATUS(tp_attribute(j, TP_ATTR_TIME_DECAY, &o, &c), TP_ERR_ARG);
    j->campaign[0] = 7;
    CHECK_STATUS(tp_attribute(j, TP_ATTR_LAST, NULL, &c), TP_ERR_SHAPE);
    j->campaign[0] = 1;

    // Credit table frame: sorted names, shares, no value column without values.
    tp_attr_opts_default(&o);
    o.per_touch = true;
    c = run(j, TP_ATTR_LAST, &o);
    tp_frame *f = NULL;
    if (c) {
        CHECK_OK(tp_credit_to_frame(c, &f));
        if (f) {
            CHECK(tp_frame_n_rows(f) == 3 && tp_frame_n_cols(f) == 3);
            CHECK_STR(tp_column_get_str(tp_frame_find(f, "campaign_nm"), 0, NULL), "a");
            CHECK_CLOSE(tp_column_get_f64(tp_frame_find(f, "attributed_conversions"), 0), 2, 0);
            CHECK_CLOSE(tp_column_get_f64(tp_frame_find(f, "share"), 0), 1, 0);
            CHECK(tp_frame_find(f, "attributed_value") == NULL);
            tp_frame_free(f);
        }
        f = NULL;
        CHECK_OK(tp_touch_credit_to_frame(c, j, &f));
        if (f) { // J0 (b a) and J2 (a): three touch rows
            CHECK(tp_frame_n_rows(f) == 3);
            CHECK(tp_column_get_i64(tp_frame_find(f, "journey_id"), 2) == 102);
            CHECK(tp_column_get_i64(tp_frame_find(f, "index"), 1) == 1);
            CHECK_STR(tp_column_get_str(tp_frame_find(f, "campaign_nm"), 0, NULL), "b");
            CHECK_CLOSE(tp_column_get_f64(tp_frame_find(f, "credit"), 1), 1, 0);
            tp_frame_free(f);
        }
        tp_credit_free(c);
    }
    tp_journeys_free(j);

    // Degenerate inputs: no touches at all, and touches but no conversion. Every method
    // succeeds with zero credit.
    const char *none[] = {"-", "+"}, *noconv[] = {"a b -", "c -"};
    for (int q = 0; q < 2; q++) {
        j = make(q ? noconv : none, 2, 3, NULL, NULL);
        for (int m = 0; m < TP_ATTR_N_METHODS; m++) {
            c = run(j, (tp_attr_method)m, NULL);
            if (!c) continue;
            CHECK(c->total_conversions == 0);
            for (int k = 0; k < 3; k++) CHECK(c->attributed_conversions[k] == 0 && c->share[k] == 0);
            tp_credit_free(c);
        }
        tp_journeys_free(j);
    }
}

// ---- evaluation ----

static void test_evaluate(void) {
    /* Method shares a .5, b .3, c .2; truth a .4, b .4, d .2. Union a, b, c, d:
     *   x = (.5, .3, .2, 0), y = (.4, .4, 0, .2)
     *   TVD = (.1 + .1 + .2 + .2) / 2 = .3; worst: c and d tie at .2, c first by name.
     *   ranks x = (4, 3, 2, 1); y: 0 -> 1 (c), .2 -> 2 (d), .4 .4 -> 3.5 3.5
     *   deviations from 2.5: dx = (1.5, .5, -.5, -1.5), dy = (1, 1, -1.5, -.5)
     *   rho = 3.5 / sqrt(5 * 4.5) = 0.7378647873726218 */
    char *tn[] = {"a", "b", "d"};
    double ts[] = {0.4, 0.4, 0.2}, ti[] = {40, 40, 20};
    tp_truth truth = {3, tn, ts, ti};
    const char *names[] = {"c", "a", "b"};
    double share[] = {0.2, 0.5, 0.3};
    tp_eval e;
    CHECK_OK(tp_eval_shares("linear", names, share, 3, &truth, &e));
    CHECK(e.n_campaigns == 4);
    CHECK_CLOSE(e.tvd, 0.3, 1e-15);
    CHECK_CLOSE(e.spearman, 3.5 / sqrt(22.5), 1e-15);
    CHECK_STR(e.worst_campaign, "c");
    CHECK_CLOSE(e.worst_share, 0.2, 0);
    CHECK_CLOSE(e.worst_true_share, 0, 0);
    CHECK_STR(e.method, "linear");
    tp_eval_clear(&e);

    // Ties on both sides: x = (1, 1, 2, 3), y = (1, 2, 2, 2): ranks (1.5, 1.5, 3, 4) and
    // (1, 3, 3, 3); dx = (-1, -1, .5, 1.5), dy = (-1.5, .5, .5, .5): sxy = 1.5 - .5 + .25 + .75
    // = 2, sxx = 4.5, syy = 3, rho = 2 / sqrt(13.5).
    double x[] = {1, 1, 2, 3}, y[] = {1, 2, 2, 2};
    CHECK_CLOSE(tp_spearman(x, y, 4), 2 / sqrt(13.5), 1e-15);
    CHECK(isnan(tp_spearman(x, (double[]){5, 5, 5, 5}, 4)));
    double w[] = {1, 2, 3}, z[] = {3, 2, 1};
    CHECK_CLOSE(tp_spearman(w, z, 3), -1, 1e-15);
    CHECK_CLOSE(tp_spearman(x, z, 3), -1.5 / sqrt(3), 1e-15); // (1.5, 1.5, 3) vs (3, 2, 1)

    const char *dup[] = {"a", "a"};
    CHECK_STATUS(tp_eval_shares("last", dup, share, 2, &truth, &e), TP_ERR_FORMAT);

    // Truth file and JSON output.
    const char *tpath = tp_test_path("truth.json");
    FILE *fp = fopen(tpath, "w");
    if (fp) {
        fputs("{\"seed\": 1, \"campaigns\": [{\"name\": \"a\", \"role\": \"x\", \"true_share\": 0.4,"
              " \"incremental_conversions\": 40}, {\"name\": \"b\", \"true_share\": 0.6}]}", fp);
        fclose(fp);
    }
    tp_truth *t = NULL;
    CHECK_OK(tp_truth_read(tpath, &t));
    if (t) {
        CHECK(t->n == 2);
        CHECK_STR(t->names[1], "b");
        CHECK_CLOSE(t->true_share[1], 0.6, 0);
        CHECK_CLOSE(t->incremental[0], 40, 0);
        CHECK_OK(tp_eval_shares("first", names, share, 3, t, &e));
        CHECK_CLOSE(e.tvd, 0.5 * (0.2 + 0.1 + 0.3), 1e-15);
        const char *jpath = tp_test_path("eval.json");
        CHECK_OK(tp_eval_write_json(&e, 1, tpath, jpath));
        tp_truth *back = NULL;
        CHECK_STATUS(tp_truth_read(jpath, &back), TP_ERR_FORMAT); // no "campaigns" array
        fp = fopen(jpath, "r");
        char buf[2048] = {0};
        if (fp) {
            CHECK(fread(buf, 1, sizeof buf - 1, fp) > 0);
            fclose(fp);
        }
        CHECK(strstr(buf, "\"method\": \"first\"") != NULL);
        CHECK(strstr(buf, "\"worst_campaign\": \"b\"") != NULL);
        tp_eval_clear(&e);
        tp_truth_free(t);
    }
}

// ---- files: credit tables written and read back, evaluated from disk ----

static void test_files(void) {
    const char *spec[] = {"a b +", "b +", "c -", "a c +"};
    double value[] = {1, 2, 3, 4};
    tp_journeys *j = make(spec, 4, 3, NULL, value);
    tp_attr_opts o;
    tp_attr_opts_default(&o);
    o.per_touch = true;
    tp_credit *c = run(j, TP_ATTR_LINEAR, &o);
    const char *dir = tp_test_path("credit");
    if (c) {
        CHECK_OK(tp_credit_write(c, j, dir));
        tp_frame *f = NULL;
        char path[600];
        snprintf(path, sizeof path, "%s/linear.parquet", dir);
        CHECK_OK(tp_table_read(path, NULL, 0, &f));
        if (f) {
            CHECK(tp_frame_n_rows(f) == 3);
            // a: 1/2 + 1/2 = 1, value 1/2 + 4/2 = 2.5
            CHECK_CLOSE(tp_column_get_f64(tp_frame_find(f, "attributed_conversions"), 0), 1, 1e-15);
            CHECK_CLOSE(tp_column_get_f64(tp_frame_find(f, "attributed_value"), 0), 2.5, 1e-15);
            tp_frame_free(f);
        }
        f = NULL;
        snprintf(path, sizeof path, "%s/linear_touches.parquet", dir);
        CHECK_OK(tp_table_read(path, NULL, 0, &f));
        if (f) {
            CHECK(tp_frame_n_rows(f) == 5);
            tp_frame_free(f);
        }
        char *tn[] = {"a", "b", "c"};
        double ts[] = {1.0 / 3, 1.0 / 3, 1.0 / 3}, ti[] = {0, 0, 0};
        tp_truth truth = {3, tn, ts, ti};
        tp_eval e;
        snprintf(path, sizeof path, "%s/linear.parquet", dir);
        CHECK_OK(tp_eval_credit_file(path, &truth, &e));
        CHECK_STR(e.method, "linear");
        // shares a 1/3, b 1.5/3 = 1/2, c 1/6: TVD = (0 + 1/6 + 1/6) / 2 = 1/6
        CHECK_CLOSE(e.tvd, 1.0 / 6, 1e-15);
        tp_eval_clear(&e);
        tp_credit_free(c);
    }
    tp_journeys_free(j);
}

void suite_attribution(void) {
    test_heuristics();
    test_markov();
    test_shapley_exact();
    test_shapley_sampling();
    test_api();
    test_evaluate();
    test_files();
}

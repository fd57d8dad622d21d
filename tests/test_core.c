/* test_core.c: the core module. RNG outputs are pinned against an independent Python
 * implementation of xoshiro256** / splitmix64; distributions are checked at 5 sigma with fixed
 * seeds; the map and the radix sort against brute-force references; parallel_for for coverage. */
#include "test.h"
#include "touchpoint/core.h"

#include <fcntl.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

// ---- status and errors ----

static void test_errors(void) {
    tp_clear_error();
    CHECK_STR(tp_last_error(), "");
    CHECK(tp_fail(TP_ERR_FORMAT, "bad field '%s' at row %d", "x", 7) == TP_ERR_FORMAT);
    CHECK_STR(tp_last_error(), "bad field 'x' at row 7");
    CHECK(tp_fail_context(TP_ERR_FORMAT, "reading '%s'", "a.csv") == TP_ERR_FORMAT);
    CHECK_STR(tp_last_error(), "reading 'a.csv': bad field 'x' at row 7");
    tp_clear_error();
    tp_fail_context(TP_ERR_IO, "writing '%s'", "b"); // no message before: just the context
    CHECK_STR(tp_last_error(), "writing 'b'");
    CHECK_STR(tp_status_str(TP_ERR_NOMEM), "out of memory");
    CHECK_STR(tp_status_str(TP_OK), "ok");
    tp_clear_error();
}

// ---- rng ----

static void test_rng_pinned(void) {
    tp_rng r = {{1, 2, 3, 4}}; // the reference state of xoshiro256starstar.c
    CHECK(tp_rng_u64(&r) == 11520ULL);
    CHECK(tp_rng_u64(&r) == 0ULL);
    CHECK(tp_rng_u64(&r) == 1509978240ULL);
    CHECK(tp_rng_u64(&r) == 1215971899390074240ULL);
    tp_rng_seed(&r, 0); // splitmix64 from 0
    CHECK(r.s[0] == 0xe220a8397b1dcdafULL);
    CHECK(r.s[1] == 0x6e789e6aa1b965f4ULL);
    CHECK(r.s[2] == 0x06c45d188009454fULL);
    CHECK(r.s[3] == 0xf88bb8a8724c81ecULL);
    tp_rng_seed(&r, 42);
    CHECK(tp_rng_u64(&r) == 0x15780b2e0c2ec716ULL);
    CHECK(tp_rng_u64(&r) == 0x6104d9866d113a7eULL);
    CHECK(tp_rng_u64(&r) == 0xae17533239e499a1ULL);
    tp_rng_seed_stream(&r, 42, 7);
    CHECK(tp_rng_u64(&r) == 0x87c06ee27335d2a3ULL);
    CHECK(tp_rng_u64(&r) == 0x1e9bd021fb9772a9ULL);
    CHECK(tp_rng_u64(&r) == 0x3d400ef0918e9c0eULL);
}

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void test_rng_streams(void) {
    tp_rng a, b;
    tp_rng_seed_stream(&a, 9, 3);
    tp_rng_seed_stream(&b, 9, 3);
    int same = 1;
    for (int i = 0; i < 1000; i++) same &= tp_rng_u64(&a) == tp_rng_u64(&b);
    CHECK(same);
    // Neighbouring streams and seeds: no shared outputs, uncorrelated uniforms.
    enum { S = 64, L = 256 };
    static uint64_t seen[S * L];
    for (int s = 0; s < S; s++) {
        tp_rng r;
        tp_rng_seed_stream(&r, s < S / 2 ? 1 : 2, (uint64_t)(s % (S / 2)));
        for (int i = 0; i < L; i++) seen[s * L + i] = tp_rng_u64(&r);
    }
    qsort(seen, S * L, sizeof *seen, cmp_u64);
    int dup = 0;
    for (int i = 1; i < S * L; i++) dup += seen[i] == seen[i - 1];
    CHECK(dup == 0);
    const int N = 100000;
    tp_rng_seed_stream(&a, 5, 0);
    tp_rng_seed_stream(&b, 5, 1);
    double sxy = 0, sx = 0, sy = 0, sxx = 0, syy = 0;
    for (int i = 0; i < N; i++) {
        double x = tp_rng_uniform(&a), y = tp_rng_uniform(&b);
        sx += x, sy += y, sxy += x * y, sxx += x * x, syy += y * y;
    }
    double corr = (sxy / N - sx / N * sy / N) /
                  sqrt((sxx / N - sx / N * sx / N) * (syy / N - sy / N * sy / N));
    CHECK(fabs(corr) < 5.0 / sqrt(N));
}

// Sample mean and variance within 5 sigma of the truth (var of the sample variance from mu4).
static void check_moments(const double *x, int n, double mean, double var, double mu4) {
    double m = 0, v = 0;
    for (int i = 0; i < n; i++) m += x[i];
    m /= n;
    for (int i = 0; i < n; i++) v += (x[i] - m) * (x[i] - m);
    v /= n - 1;
    CHECK_CLOSE(m, mean, 5 * sqrt(var / n));
    CHECK_CLOSE(v, var, 5 * sqrt((mu4 - var * var) / n));
}

static void test_rng_distributions(void) {
    enum { N = 200000 };
    static double x[N];
    tp_rng r;
    tp_rng_seed(&r, 2024);
    int in_range = 1;
    for (int i = 0; i < N; i++) {
        x[i] = tp_rng_uniform(&r);
        in_range &= x[i] >= 0 && x[i] < 1;
    }
    CHECK(in_range);
    check_moments(x, N, 0.5, 1.0 / 12, 1.0 / 80);

    int within1 = 0;
    for (int i = 0; i < N; i++) {
        x[i] = tp_rng_normal(&r);
        within1 += fabs(x[i]) < 1;
    }
    check_moments(x, N, 0, 1, 3);
    double p1 = 0.682689492137086; // P(|Z| < 1)
    CHECK_CLOSE((double)within1 / N, p1, 5 * sqrt(p1 * (1 - p1) / N));

    int positive = 1;
    for (int i = 0; i < N; i++) {
        x[i] = tp_rng_exponential(&r, 2.0);
        positive &= x[i] >= 0;
    }
    CHECK(positive);
    check_moments(x, N, 0.5, 0.25, 9.0 / 16); // mu4 = 9 / rate^4

    // Poisson: inversion below mean 10, PTRS above. mu4 = lambda (1 + 3 lambda).
    const double means[] = {0.3, 3.5, 9.99, 10, 40, 1000, 1e6};
    for (size_t m = 0; m < sizeof means / sizeof *means; m++) {
        double lam = means[m];
        int at_mode = 0;
        long mode = (long)floor(lam);
        for (int i = 0; i < N; i++) {
            uint32_t k = tp_rng_poisson(&r, lam);
            x[i] = k;
            at_mode += (long)k == mode;
        }
        check_moments(x, N, lam, lam, lam * (1 + 3 * lam));
        double pm = exp(-lam + mode * log(lam) - lgamma(mode + 1.0)); // P(X = mode)
        CHECK_CLOSE((double)at_mode / N, pm, 5 * sqrt(pm * (1 - pm) / N) + 1e-9);
    }
    CHECK(tp_rng_poisson(&r, 0) == 0);

    // below(): every residue equally likely, including a bound that is not a power of two.
    int counts[7] = {0};
    for (int i = 0; i < 70000; i++) counts[tp_rng_below(&r, 7)]++;
    for (int c = 0; c < 7; c++) CHECK_CLOSE(counts[c], 10000, 5 * sqrt(10000 * 6.0 / 7));
    int ok = 1;
    uint64_t big = (1ULL << 63) + 12345;
    for (int i = 0; i < 1000; i++) ok &= tp_rng_below(&r, big) < big && tp_rng_below(&r, 1) == 0;
    CHECK(ok);
    // The top half of [0, 2^63 + 12345) must be hit about half the time (a modulo would skew).
    int high = 0;
    for (int i = 0; i < 10000; i++) high += tp_rng_below(&r, big) >= big / 2;
    CHECK_CLOSE(high, 5000, 5 * 50);
}

static void test_rng_shuffle(void) {
    tp_rng r;
    tp_rng_seed(&r, 11);
    int64_t a[100], b[100];
    for (int i = 0; i < 100; i++) a[i] = b[i] = i - 50;
    tp_rng_shuffle_i64(&r, a, 100);
    tp_rng_seed(&r, 11);
    tp_rng_shuffle_i64(&r, b, 100);
    CHECK(memcmp(a, b, sizeof a) == 0);
    int seen[100] = {0}, moved = 0;
    for (int i = 0; i < 100; i++) {
        seen[a[i] + 50]++;
        moved += a[i] != i - 50;
    }
    int perm = 1;
    for (int i = 0; i < 100; i++) perm &= seen[i] == 1;
    CHECK(perm);
    CHECK(moved > 80);
    // All 6 orders of 3 elements equally often.
    int orders[6] = {0};
    enum { N = 60000 };
    for (int t = 0; t < N; t++) {
        int64_t v[3] = {0, 1, 2};
        tp_rng_shuffle_i64(&r, v, 3);
        orders[v[0] * 2 + (v[1] > v[2])]++;
    }
    for (int o = 0; o < 6; o++) CHECK_CLOSE(orders[o], N / 6, 5 * sqrt(N / 6.0 * 5 / 6));
    tp_rng_shuffle_i64(&r, a, 0); // no-ops
    tp_rng_shuffle_i64(&r, a, 1);
}

// ---- hashing ----

static void test_hash_bytes(void) {
    unsigned char buf[300];
    for (int i = 0; i < 300; i++) buf[i] = (unsigned char)(i * 7 + 3);
    // Every length, and every alignment of the same bytes, is deterministic.
    uint64_t h[257];
    for (int n = 0; n <= 256; n++) h[n] = tp_hash_bytes(buf, (size_t)n, 1);
    int distinct = 1;
    for (int a = 0; a <= 256; a++)
        for (int b = a + 1; b <= 256; b++) distinct &= h[a] != h[b];
    CHECK(distinct);
    unsigned char copy[300];
    for (int off = 1; off < 8; off++) {
        memcpy(copy + off, buf, 200);
        CHECK(tp_hash_bytes(copy + off, 200, 1) == tp_hash_bytes(buf, 200, 1));
    }
    CHECK(tp_hash_bytes(buf, 40, 1) != tp_hash_bytes(buf, 40, 2));
    CHECK(tp_hash_bytes("", 0, 0) != tp_hash_bytes("", 0, 1));
    // Avalanche: flipping any one input bit flips about half the output bits.
    const int lens[] = {3, 8, 13, 16, 31, 64, 100};
    for (size_t l = 0; l < sizeof lens / sizeof *lens; l++) {
        int n = lens[l];
        double total = 0;
        int min_flips = 64;
        uint64_t h0 = tp_hash_bytes(buf, (size_t)n, 99);
        for (int bit = 0; bit < n * 8; bit++) {
            buf[bit / 8] ^= (unsigned char)(1u << (bit % 8));
            int f = __builtin_popcountll(h0 ^ tp_hash_bytes(buf, (size_t)n, 99));
            buf[bit / 8] ^= (unsigned char)(1u << (bit % 8));
            total += f;
            min_flips = f < min_flips ? f : min_flips;
        }
        CHECK_CLOSE(total / (n * 8), 32, 3);
        CHECK(min_flips >= 12);
    }
}

static void test_i64map(void) {
    tp_i64map *m = NULL;
    CHECK_OK(tp_i64map_new(0, &m)); // starts small: the test makes it grow many times
    if (!m) return;
    enum { POOL = 1500, OPS = 6000 };
    static int64_t pool[POOL], ref_key[POOL], ref_val[POOL];
    size_t n_ref = 0;
    tp_rng r;
    tp_rng_seed(&r, 77);
    pool[0] = INT64_MIN;
    pool[1] = INT64_MAX;
    pool[2] = 0;
    pool[3] = -1;
    pool[4] = INT64_MIN + 1;
    for (int i = 5; i < POOL; i++)
        pool[i] = i % 3 ? (int64_t)tp_rng_u64(&r) : (int64_t)tp_rng_below(&r, 1000) - 500;
    int ok = 1;
    for (int op = 0; op < OPS; op++) {
        int64_t key = op < 5 ? pool[op] : pool[tp_rng_below(&r, POOL)]; // the extremes first
        size_t at = n_ref;
        for (size_t k = 0; k < n_ref; k++)
            if (ref_key[k] == key) at = k;
        if (op >= 5 && tp_rng_below(&r, 3) == 0) { // lookup
            int64_t v = 12345;
            int found = tp_i64map_get(m, key, &v);
            ok &= found == (at < n_ref) && (!found || v == ref_val[at]) && (found || v == 12345);
            continue;
        }
        int64_t v = op * 3 + 1;
        int inserted = -1;
        ok &= tp_i64map_get_or_put(m, key, &v, &inserted) == TP_OK;
        if (at < n_ref) {
            ok &= inserted == 0 && v == ref_val[at];
        } else {
            ok &= inserted == 1 && v == op * 3 + 1;
            ref_key[n_ref] = key;
            ref_val[n_ref++] = v;
        }
        ok &= tp_i64map_size(m) == n_ref;
    }
    CHECK(ok);
    CHECK(n_ref > 1000);
    for (size_t k = 0; k < n_ref; k++) {
        int64_t v;
        ok &= tp_i64map_get(m, ref_key[k], &v) == 1 && v == ref_val[k];
    }
    CHECK(ok);
    // INT64_MIN (the empty-slot marker) lives outside the table; it must behave like any key.
    int64_t vmin = 5, vmax = 5, want_min = 0, want_max = 0;
    int ins_min = -1, ins_max = -1, has_min = 0, has_max = 0;
    for (size_t k = 0; k < n_ref; k++) {
        if (ref_key[k] == INT64_MIN) has_min = 1, want_min = ref_val[k];
        if (ref_key[k] == INT64_MAX) has_max = 1, want_max = ref_val[k];
    }
    CHECK(has_min && has_max);
    CHECK_OK(tp_i64map_get_or_put(m, INT64_MIN, &vmin, &ins_min));
    CHECK_OK(tp_i64map_get_or_put(m, INT64_MAX, &vmax, &ins_max));
    CHECK(ins_min == 0 && vmin == want_min && ins_max == 0 && vmax == want_max);
    tp_i64map_free(m);
    tp_i64map_free(NULL);

    // Many sequential keys, sized up front.
    CHECK_OK(tp_i64map_new(100000, &m));
    if (!m) return;
    ok = 1;
    for (int64_t k = 0; k < 100000; k++) {
        int64_t val = -k;
        ok &= tp_i64map_get_or_put(m, k * 4096, &val, NULL) == TP_OK;
    }
    for (int64_t k = 0; k < 100000; k++) {
        int64_t val;
        ok &= tp_i64map_get(m, k * 4096, &val) && val == -k && !tp_i64map_get(m, k * 4096 + 1, &val);
    }
    CHECK(ok);
    CHECK(tp_i64map_size(m) == 100000);
    tp_i64map_free(m);

    tp_alloc_fail_after(1);
    CHECK_STATUS(tp_i64map_new(10, &m), TP_ERR_NOMEM);
    CHECK(m == NULL);
    tp_alloc_fail_after(0);
}

// ---- radix sort ----

static const int64_t *cmp_k1, *cmp_k2;
static int cmp_perm(const void *pa, const void *pb) {
    uint32_t a = *(const uint32_t *)pa, b = *(const uint32_t *)pb;
    if (cmp_k1[a] != cmp_k1[b]) return cmp_k1[a] < cmp_k1[b] ? -1 : 1;
    if (cmp_k2 && cmp_k2[a] != cmp_k2[b]) return cmp_k2[a] < cmp_k2[b] ? -1 : 1;
    return a < b ? -1 : a > b; // ties in input order: what a stable sort must produce
}

// Radix result equals qsort with an index tie-break, on 1 and on 2 threads.
static void check_sort(const char *what, const int64_t *k1, const int64_t *k2, size_t n) {
    uint32_t *want = malloc((n ? n : 1) * sizeof *want), *got = malloc((n ? n : 1) * sizeof *got);
    for (size_t i = 0; i < n; i++) want[i] = (uint32_t)i;
    cmp_k1 = k1;
    cmp_k2 = k2;
    qsort(want, n, sizeof *want, cmp_perm);
    for (int threads = 1; threads <= 2; threads++) {
        tp_threads_set_default(threads);
        memset(got, 0xff, (n ? n : 1) * sizeof *got);
        tp_status s = k2 ? tp_radix_sort_pairs(k1, k2, n, got) : tp_radix_sort_i64(k1, n, got);
        CHECK(s == TP_OK);
        int same = memcmp(want, got, n * sizeof *got) == 0;
        if (!same) fprintf(stderr, "  radix sort differs from qsort: %s, n %zu, %d threads\n", what, n, threads);
        CHECK(same);
    }
    tp_threads_set_default(0);
    free(want);
    free(got);
}

static void test_radix_sort(void) {
    enum { N = 600000 }; // > 2 * 2^18, so the sort really uses 2 threads
    int64_t *a = malloc(N * sizeof *a), *b = malloc(N * sizeof *b);
    tp_rng r;
    tp_rng_seed(&r, 5);
    const size_t sizes[] = {0, 1, 2, 47, 48, 1000, 70000, N};
    for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++) {
        size_t n = sizes[s];
        // (uid, timestamp) shaped: few uids, so many ties in k1, some full ties (stability).
        for (size_t i = 0; i < n; i++) {
            a[i] = (int64_t)tp_rng_below(&r, n / 8 + 1);
            b[i] = 1700000000000LL + (int64_t)tp_rng_below(&r, 1000);
        }
        check_sort("uid/timestamp pairs", a, b, n);
        check_sort("one key with duplicates", a, NULL, n);
    }
    size_t n = N;
    // Full 64-bit random keys: both ranges are 64 bits wide, the two-phase path.
    for (size_t i = 0; i < n; i++) a[i] = (int64_t)tp_rng_u64(&r), b[i] = (int64_t)tp_rng_u64(&r);
    check_sort("random full-width pairs", a, b, n);
    check_sort("random full-width keys", a, NULL, n);
    // Negatives and the extremes, with many exact duplicates.
    const int64_t extremes[] = {INT64_MIN, INT64_MAX, -1, 0, 1, INT64_MIN + 1, INT64_MAX - 1, -1000};
    for (size_t i = 0; i < n; i++) {
        a[i] = extremes[tp_rng_below(&r, 8)];
        b[i] = extremes[tp_rng_below(&r, 8)];
    }
    check_sort("extreme pairs", a, b, n);
    check_sort("extreme keys", a, NULL, n);
    // All equal; already sorted; reverse sorted; all equal in k1 only; mostly-equal with outliers
    // (one huge MSD bucket).
    for (size_t i = 0; i < n; i++) a[i] = -7, b[i] = 3;
    check_sort("all equal", a, b, n);
    for (size_t i = 0; i < n; i++) a[i] = (int64_t)i - 1000, b[i] = -(int64_t)i;
    check_sort("sorted k1, reverse k2", a, b, n);
    check_sort("sorted", a, NULL, n);
    check_sort("reverse", b, NULL, n);
    for (size_t i = 0; i < n; i++) a[i] = 42, b[i] = (int64_t)tp_rng_below(&r, 1u << 30) - (1 << 29);
    check_sort("constant k1", a, b, n);
    for (size_t i = 0; i < n; i++) {
        a[i] = i % 1000 == 0 ? (int64_t)tp_rng_u64(&r) >> 20 : 5;
        b[i] = (int64_t)tp_rng_below(&r, 100);
    }
    check_sort("skewed", a, b, n);
    check_sort("skewed one key", a, NULL, n);
    // Argument errors come before any memory is touched.
    uint32_t p;
    CHECK_STATUS(tp_radix_sort_i64(a, (size_t)UINT32_MAX + 1, &p), TP_ERR_ARG);
    CHECK_STATUS(tp_radix_sort_pairs(a, NULL, 3, &p), TP_ERR_ARG);
    CHECK_OK(tp_radix_sort_i64(NULL, 0, NULL));
    uint32_t *perm = malloc(1000 * sizeof *perm);
    tp_alloc_fail_after(3);
    CHECK_STATUS(tp_radix_sort_pairs(a, b, 1000, perm), TP_ERR_NOMEM);
    tp_alloc_fail_after(0);
    free(perm);
    free(a);
    free(b);
}

// ---- threads ----

typedef struct cover {
    unsigned char *hits;
    size_t lo[64], hi[64];
    _Atomic int calls;
    int fail_from; /* chunks with tid >= fail_from fail */
} cover;

static tp_status cover_fn(void *ctx, size_t lo, size_t hi, int tid) {
    cover *c = ctx;
    for (size_t i = lo; i < hi; i++) c->hits[i]++;
    c->lo[tid] = lo;
    c->hi[tid] = hi;
    atomic_fetch_add(&c->calls, 1);
    if (tid >= c->fail_from) return tp_fail(tid % 2 ? TP_ERR_IO : TP_ERR_FORMAT, "chunk %d failed", tid);
    return TP_OK;
}

static void test_parallel_for(void) {
    const size_t ns[] = {0, 1, 5, 100, 1000003};
    const int ts[] = {1, 2, 3, 8, 17};
    for (size_t a = 0; a < sizeof ns / sizeof *ns; a++) {
        for (size_t b = 0; b < sizeof ts / sizeof *ts; b++) {
            size_t n = ns[a];
            int t = ts[b];
            cover c = {.fail_from = 64};
            c.hits = calloc(n + 1, 1);
            CHECK_OK(tp_parallel_for(n, t, cover_fn, &c));
            int once = 1;
            for (size_t i = 0; i < n; i++) once &= c.hits[i] == 1;
            CHECK(once);
            int chunks = n == 0 ? 0 : (size_t)t < n ? t : (int)n;
            CHECK(atomic_load(&c.calls) == chunks);
            int contiguous = 1; // in tid order, sizes differing by at most one, largest first
            for (int k = 0; k < chunks; k++) {
                contiguous &= c.lo[k] == (k ? c.hi[k - 1] : 0);
                contiguous &= c.hi[k] - c.lo[k] == n / chunks + ((size_t)k < n % chunks);
            }
            CHECK(contiguous);
            free(c.hits);
        }
    }
    // The first failing chunk in chunk order wins, and its message reaches this thread.
    cover c = {.fail_from = 2};
    c.hits = calloc(1000, 1);
    tp_clear_error();
    CHECK_STATUS(tp_parallel_for(1000, 5, cover_fn, &c), TP_ERR_FORMAT);
    CHECK_STR(tp_last_error(), "chunk 2 failed");
    CHECK(atomic_load(&c.calls) == 5); // every chunk still ran
    c.fail_from = 0;
    CHECK_STATUS(tp_parallel_for(1000, 1, cover_fn, &c), TP_ERR_FORMAT);
    CHECK_STR(tp_last_error(), "chunk 0 failed");
    c.fail_from = 3;
    CHECK_STATUS(tp_parallel_for(1000, 4, cover_fn, &c), TP_ERR_IO);
    CHECK_STR(tp_last_error(), "chunk 3 failed");
    free(c.hits);

    // Default thread count: override, then TP_THREADS, then the CPU count.
    const char *old = getenv("TP_THREADS");
    char *saved = old ? strdup(old) : NULL;
    tp_threads_set_default(0);
    setenv("TP_THREADS", "3", 1);
    CHECK(tp_threads_default() == 3);
    tp_threads_set_default(5);
    CHECK(tp_threads_default() == 5);
    tp_threads_set_default(0);
    setenv("TP_THREADS", "nonsense", 1);
    CHECK(tp_threads_default() >= 1);
    if (saved) {
        setenv("TP_THREADS", saved, 1);
        free(saved);
    } else {
        unsetenv("TP_THREADS");
    }
}

// ---- arena ----

static void test_arena(void) {
    tp_arena *a = NULL;
    CHECK_OK(tp_arena_new(4096, &a));
    if (!a) return;
    enum { K = 3000 };
    static unsigned char *ptr[K];
    static size_t len[K];
    tp_rng r;
    tp_rng_seed(&r, 3);
    int aligned = 1;
    size_t total = 0;
    for (int i = 0; i < K; i++) {
        len[i] = i % 500 == 0 ? 5000 + (size_t)i : (size_t)tp_rng_below(&r, 100); // some own-block
        ptr[i] = tp_arena_alloc(a, len[i]);
        aligned &= ptr[i] && (uintptr_t)ptr[i] % 16 == 0;
        if (ptr[i]) memset(ptr[i], i & 0xff, len[i]);
        total += len[i];
    }
    CHECK(aligned);
    int intact = 1; // no allocation overlapped another
    for (int i = 0; i < K; i++)
        for (size_t k = 0; k < len[i]; k++) intact &= ptr[i][k] == (i & 0xff);
    CHECK(intact);
    CHECK(tp_arena_used(a) >= total);
    char *s = tp_arena_strndup(a, "hello world", 5);
    CHECK_STR(s, "hello");
    CHECK_STR(tp_arena_strndup(a, "ab", 10), "ab");
    CHECK_STR(tp_arena_strndup(a, "", 0), "");
    tp_arena_reset(a);
    CHECK(tp_arena_used(a) == 0);
    void *p = tp_arena_alloc(a, 1);
    CHECK(p && (uintptr_t)p % 16 == 0);
    CHECK(tp_arena_used(a) > 0 && tp_arena_used(a) <= 16);
    tp_arena_free(a);
    tp_arena_free(NULL);
    tp_alloc_fail_after(2);
    CHECK_STATUS(tp_arena_new(0, &a), TP_ERR_NOMEM);
    tp_alloc_fail_after(0);
}

// ---- log and progress ----

typedef struct logged {
    int n;
    tp_log_level level;
    char msg[4096];
} logged;

static void log_sink(tp_log_level level, const char *msg, void *ud) {
    logged *l = ud;
    l->n++;
    l->level = level;
    snprintf(l->msg, sizeof l->msg, "%s", msg);
}

static void test_log(void) {
    tp_log_level old = tp_log_get_level();
    tp_log(TP_LOG_ERROR, "nobody listens"); // no sink: silent
    logged l = {0};
    tp_log_set_sink(log_sink, &l);
    tp_log_set_level(TP_LOG_INFO);
    CHECK(tp_log_get_level() == TP_LOG_INFO);
    tp_log(TP_LOG_DEBUG, "hidden %d", 1);
    CHECK(l.n == 0);
    tp_log(TP_LOG_WARN, "read %d rows from '%s'", 12, "x.csv");
    CHECK(l.n == 1 && l.level == TP_LOG_WARN);
    CHECK_STR(l.msg, "read 12 rows from 'x.csv'");
    char big[3000];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = 0;
    tp_log(TP_LOG_ERROR, "%s", big);
    CHECK(l.n == 2 && strlen(l.msg) == 2047 && strcmp(l.msg + 2044, "...") == 0);
    tp_log_set_level(TP_LOG_OFF);
    tp_log(TP_LOG_ERROR, "off");
    CHECK(l.n == 2);
    tp_log_set_sink(NULL, NULL);
    tp_log_set_level(old);
}

static tp_status progress_fn(void *ctx, size_t lo, size_t hi, int tid) {
    for (size_t i = lo; i < hi; i += 1000) tp_progress_add(ctx, hi - i < 1000 ? hi - i : 1000);
    return TP_OK;
}

// Reads the whole file into buf; returns its length.
static size_t slurp(const char *path, char *buf, size_t cap) {
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    size_t n = fread(buf, 1, cap - 1, f);
    buf[n] = 0;
    fclose(f);
    return n;
}

static void test_progress(void) {
    tp_progress_set_output(NULL);
    tp_progress *p = tp_progress_begin("silent", 10, "rows");
    CHECK(p == NULL);
    tp_progress_add(p, 5);
    tp_progress_end(p);

    const char *path = tp_test_path("progress.txt");
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    if (!f) return;
    tp_progress_set_output(f);
    p = tp_progress_begin("rows test", 2700000, "rows");
    CHECK(p != NULL);
    CHECK_OK(tp_parallel_for(2700000, 4, progress_fn, p));
    tp_progress_end(p);
    tp_progress_set_output(NULL);
    fclose(f);
    static char buf[1 << 16];
    size_t n = slurp(path, buf, sizeof buf);
    // Periodic lines only come every 5 s; the last line is always the summary.
    CHECK(n > 0 && buf[n - 1] == '\n');
    if (n < 2) return;
    buf[n - 1] = 0;
    char *last = strrchr(buf, '\n');
    last = last ? last + 1 : buf;
    CHECK(strncmp(last, "rows test: 2,700,000 rows in ", 29) == 0);
    CHECK(strstr(last, " s (") != NULL);
    CHECK(n >= 9 && strcmp(buf + n - 9, " rows/s)") == 0);

    // A terminal gets the bar: drive one through a pseudo-terminal when the system has them.
    int master = posix_openpt(O_RDWR | O_NOCTTY);
    if (master < 0 || grantpt(master) != 0 || unlockpt(master) != 0) {
        if (master >= 0) close(master);
        return;
    }
    FILE *tty = fopen(ptsname(master), "w");
    if (!tty) {
        close(master);
        return;
    }
    tp_progress_set_output(tty);
    p = tp_progress_begin("bar", 2000, "rows");
    tp_progress_add(p, 900);
    tp_progress_add(p, 1100);
    tp_progress_end(p);
    tp_progress_set_output(NULL);
    fclose(tty);
    fcntl(master, F_SETFL, O_NONBLOCK);
    n = 0;
    ssize_t got;
    while (n < sizeof buf - 1 && (got = read(master, buf + n, sizeof buf - 1 - n)) > 0) n += (size_t)got;
    buf[n] = 0;
    close(master);
    CHECK(strstr(buf, "\rbar [                              ]   0% 0/2.0k rows") != NULL);
    CHECK(strstr(buf, "\rbar [##############################] 100% 2.0k/2.0k rows ") != NULL);
    CHECK(strstr(buf, " rows/s in ") != NULL);
    CHECK(n > 0 && (buf[n - 1] == '\n'));
}

void suite_core(void) {
    test_errors();
    test_rng_pinned();
    test_rng_streams();
    test_rng_distributions();
    test_rng_shuffle();
    test_hash_bytes();
    test_i64map();
    test_radix_sort();
    test_parallel_for();
    test_arena();
    test_log();
    test_progress();
}

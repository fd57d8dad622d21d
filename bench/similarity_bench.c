/* similarity_bench.c: the lookalike similarity kernel in isolation (issue #6 §7), and the
 * generator of the synthetic score tables bench/similarity.sh runs end to end. Built by
 * `make build/bench/similarity_bench` (or `make bench`).
 * Usage: similarity_bench gen OUT.tpsm SEEDS.csv USERS KEYWORDS GROUPS N_SEEDS [SEED]
 *        similarity_bench sim USERS COLS KEYWORDS TOP_N [THREADS] [BLOCK_USERS] */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "touchpoint/audience.h"

// Planted groups: user u in group u % G leans on its block of keywords, plus uniform noise.
static tp_score_table *make_table(size_t n, uint32_t K, int G, uint64_t seed) {
    tp_score_table *t = tp_calloc(1, sizeof *t);
    if (!t) return NULL;
    t->n_users = n;
    t->n_keywords = K;
    t->keywords = tp_calloc(K, sizeof *t->keywords);
    t->dids = tp_calloc(n, sizeof *t->dids);
    t->scores = tp_malloc(n * K * sizeof *t->scores);
    if (!t->keywords || !t->dids || !t->scores) return NULL;
    char buf[32];
    for (uint32_t k = 0; k < K; k++) snprintf(buf, sizeof buf, "kw%03u", k), t->keywords[k] = tp_strdup(buf);
    tp_rng r;
    tp_rng_seed(&r, seed);
    for (size_t u = 0; u < n; u++) {
        snprintf(buf, sizeof buf, "u%07zu", u);
        t->dids[u] = tp_strdup(buf);
        int g = (int)(u % (size_t)G);
        for (uint32_t k = 0; k < K; k++)
            t->scores[u * K + k] = (float)(0.5 * tp_rng_uniform(&r) + ((int)(k * (uint32_t)G / K) == g));
    }
    tp_score_table_normalise(t);
    return t;
}

static int gen(int argc, char **argv) {
    if (argc < 8) return 2;
    size_t n = strtoull(argv[4], NULL, 10), ns = strtoull(argv[7], NULL, 10);
    uint32_t K = (uint32_t)atoi(argv[5]);
    int G = atoi(argv[6]);
    uint64_t seed = argc > 8 ? strtoull(argv[8], NULL, 10) : 1;
    if (!n || !K || G < 1 || ns > n) return 2;
    double t0 = tp_now();
    tp_score_table *t = make_table(n, K, G, seed);
    if (!t) return fprintf(stderr, "out of memory\n"), 1;
    if (tp_score_table_write_tpsm(t, argv[2]) != TP_OK) return fprintf(stderr, "%s\n", tp_last_error()), 1;
    FILE *fp = fopen(argv[3], "w");
    if (!fp) return perror(argv[3]), 1;
    // seeds: group 0 members spread over the table (every G-th user, strided)
    size_t stride = n / G / (ns ? ns : 1);
    if (stride < 1) stride = 1;
    fprintf(fp, "did\n");
    for (size_t i = 0, u = 0; i < ns && u < n; i++, u += stride * (size_t)G) fprintf(fp, "%s\n", t->dids[u]);
    fclose(fp);
    printf("wrote %s (%zu users x %u keywords, %d groups) and %s (%zu seeds) in %.1f s\n", argv[2], n,
           K, G, argv[3], ns, tp_now() - t0);
    tp_score_table_free(t);
    return 0;
}

static double cpu_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int sim(int argc, char **argv) {
    if (argc < 6) return 2;
    size_t U = strtoull(argv[2], NULL, 10), C = strtoull(argv[3], NULL, 10), D = strtoull(argv[4], NULL, 10);
    int N = atoi(argv[5]), threads = argc > 6 ? atoi(argv[6]) : 0;
    size_t bu = argc > 7 ? strtoull(argv[7], NULL, 10) : 0;
    float *u = tp_malloc(U * D * sizeof *u), *c = tp_malloc(C * D * sizeof *c), *s = tp_malloc(U * sizeof *s);
    if (!u || !c || !s) return fprintf(stderr, "out of memory\n"), 1;
    tp_rng r;
    tp_rng_seed(&r, 5);
    for (size_t i = 0; i < U * D; i++) u[i] = (float)tp_rng_uniform(&r);
    for (size_t i = 0; i < C * D; i++) c[i] = (float)tp_rng_uniform(&r);
    tp_similarity_opts o;
    tp_similarity_opts_default(&o);
    o.top_n = N;
    o.threads = threads;
    if (bu) o.block_users = bu;
    double best = 1e30, best_cpu = 1e30, pairs = 0;
    for (int rep = 0; rep < 3; rep++) {
        double t0 = tp_now(), c0 = cpu_now();
        if (tp_similarity_topn_mean(u, U, D, NULL, c, C, &o, s, &pairs) != TP_OK)
            return fprintf(stderr, "%s\n", tp_last_error()), 1;
        double dt = tp_now() - t0, dc = cpu_now() - c0;
        if (dt < best) best = dt;
        if (dc < best_cpu) best_cpu = dc;
    }
    // The bare sgemm over the same blocks (one thread, no heap): what BLAS alone reaches on this shape.
    size_t B = bu ? bu : 2048, CB = C < 1024 ? C : 1024;
    float *prod = tp_malloc(B * CB * sizeof *prod);
    openblas_set_num_threads(1);
    double t0 = tp_now(), bare_cpu = cpu_now();
    for (size_t u0 = 0; u0 < U; u0 += B)
        for (size_t c0 = 0; c0 < C; c0 += CB) {
            size_t nu = U - u0 < B ? U - u0 : B, nc = C - c0 < CB ? C - c0 : CB;
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)nu, (int)nc, (int)D, 1.0f,
                        u + u0 * D, (int)D, c + c0 * D, (int)D, 0.0f, prod, (int)nc);
        }
    double bare = tp_now() - t0;
    bare_cpu = cpu_now() - bare_cpu;
    tp_free(prod);
    // Square 2048^3 sgemm, one thread, per CPU second: the peak that a loaded machine's wall clock hides.
    size_t S = 2048;
    float *a = tp_malloc(S * S * sizeof *a), *b2 = tp_malloc(S * S * sizeof *b2), *c2 = tp_malloc(S * S * sizeof *c2);
    double peak_cpu = 1e30;
    if (a && b2 && c2) {
        for (size_t i = 0; i < S * S; i++) a[i] = (float)(i % 7) * 0.1f, b2[i] = (float)(i % 5) * 0.1f;
        for (int rep = 0; rep < 3; rep++) {
            double q = cpu_now();
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)S, (int)S, (int)S, 1, a, (int)S, b2,
                        (int)S, 0, c2, (int)S);
            q = cpu_now() - q;
            if (rep > 0 && q < peak_cpu) peak_cpu = q;
        }
    }
    tp_free(a), tp_free(b2), tp_free(c2);
    double peak = 2.0 * (double)S * S * S / peak_cpu / 1e9;
    printf("sgemm peak 2048^3, 1 thread: %.1f GFLOP per CPU second\n", peak);
    double flops = 2.0 * (double)D * (double)U * (double)C;
    printf("bare sgemm on the same blocks, 1 thread: %.3f s wall, %.3f s CPU, %.1f GFLOP/s per CPU second\n",
           bare, bare_cpu, flops / bare_cpu / 1e9);
    double gflops = 2.0 * (double)D * pairs / best / 1e9;
    printf("similarity %zu users x %zu columns x %zu keywords, top-%d, %d threads: %.3f s, "
           "%.3g pairs/s, %.1f GFLOP/s (sgemm part)\n",
           U, C, D, N, threads ? threads : tp_threads_default(), best, pairs / best, gflops);
    printf("CPU time: %.3f s, %.3g pairs per CPU second, %.1f GFLOP per CPU second\n", best_cpu,
           pairs / best_cpu, 2.0 * (double)D * pairs / best_cpu / 1e9);
    printf("RESULT similarity_seconds=%.4f pairs_per_second=%.4g gflops=%.2f cpu_seconds=%.4f "
           "pairs_per_cpu_second=%.4g gflops_per_cpu=%.2f bare_sgemm_gflops_per_cpu=%.2f "
           "peak_gflops_per_cpu=%.2f share_of_peak_cpu=%.3f\n",
           best, pairs / best, gflops, best_cpu, pairs / best_cpu,
           2.0 * (double)D * pairs / best_cpu / 1e9, flops / bare_cpu / 1e9, peak,
           2.0 * (double)D * pairs / best_cpu / 1e9 / peak);
    tp_free(u), tp_free(c), tp_free(s);
    return 0;
}

int main(int argc, char **argv) {
    int rc = 2;
    if (argc > 1 && strcmp(argv[1], "gen") == 0) rc = gen(argc, argv);
    else if (argc > 1 && strcmp(argv[1], "sim") == 0) rc = sim(argc, argv);
    if (rc == 2)
        fprintf(stderr, "usage: similarity_bench gen OUT.tpsm SEEDS.csv USERS KEYWORDS GROUPS N_SEEDS [SEED]\n"
                        "       similarity_bench sim USERS COLS KEYWORDS TOP_N [THREADS] [BLOCK_USERS]\n");
    return rc;
}

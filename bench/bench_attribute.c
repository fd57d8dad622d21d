/* bench_attribute.c: wall and CPU time of every attribution method on a synthetic in-memory
 * journey set (default 10M journeys, 200 campaigns), without file I/O. `make bench` builds it as
 * build/bench/bench_attribute (bench/run.sh runs it); by hand:
 *   make build/bench/bench_attribute
 *   build/bench/bench_attribute [JOURNEYS] [CAMPAIGNS] [THREADS] [MARKOV_ORDER] [SHAPLEY_SAMPLES] */
#include "touchpoint/touchpoint.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

// CPU seconds of the whole process (all threads): robust to a loaded machine, unlike wall time.
static double cpu_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Journeys: length 1 + geometric (mean ~4, at most 20), campaigns drawn with Zipf-like
 * popularity, seconds between touches exponential (mean 1 day); conversion probability rises
 * with the number of touches from the first 10% of campaigns ("effective" ones). */
static tp_journeys *synth(size_t n, size_t C, uint64_t seed) {
    tp_rng r;
    tp_rng_seed(&r, seed);
    uint8_t *len = malloc(n);
    size_t touches = 0;
    for (size_t i = 0; i < n; i++) {
        int l = 1;
        while (l < 20 && tp_rng_uniform(&r) < 0.75) l++;
        len[i] = (uint8_t)l;
        touches += (size_t)l;
    }
    double *cdf = malloc(C * sizeof *cdf), acc = 0;
    for (size_t c = 0; c < C; c++) cdf[c] = acc += 1.0 / (double)(c + 5);
    for (size_t c = 0; c < C; c++) cdf[c] /= acc;
    tp_journeys *j = NULL;
    if (tp_journeys_alloc(n, touches, C, true, &j) != TP_OK) abort();
    for (size_t c = 0; c < C; c++) {
        char name[32];
        snprintf(name, sizeof name, "campaign_%04zu", c);
        j->campaigns[c] = tp_strdup(name);
    }
    size_t t = 0, effective = C / 10 ? C / 10 : 1;
    for (size_t i = 0; i < n; i++) {
        j->off[i] = t;
        int good = 0;
        int64_t gap = 0;
        for (int k = 0; k < len[i]; k++) {
            double u = tp_rng_uniform(&r);
            size_t lo = 0, hi = C - 1;
            while (lo < hi) {
                size_t mid = (lo + hi) / 2;
                if (cdf[mid] < u) lo = mid + 1;
                else hi = mid;
            }
            j->campaign[t + (size_t)k] = (int32_t)lo;
            good += lo < effective;
        }
        for (int k = len[i] - 1; k >= 0; k--) { // seconds to the last touch, going backwards
            j->seconds_to_end[t + (size_t)k] = gap;
            gap += (int64_t)tp_rng_exponential(&r, 1.0 / 86400);
        }
        t += len[i];
        j->converted[i] = tp_rng_uniform(&r) < 0.01 + 0.03 * good;
        j->value[i] = j->converted[i] ? 10 + 90 * tp_rng_uniform(&r) : 0;
        j->journey_id[i] = (int64_t)i;
        j->uid[i] = (int64_t)i;
        j->length[i] = len[i];
    }
    j->off[n] = t;
    j->max_len = 20;
    free(len);
    free(cdf);
    return j;
}

int main(int argc, char **argv) {
    size_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : 10000000;
    size_t C = argc > 2 ? strtoull(argv[2], NULL, 10) : 200;
    int threads = argc > 3 ? atoi(argv[3]) : 0;
    tp_attr_opts o;
    tp_attr_opts_default(&o);
    o.n_threads = threads;
    if (argc > 4) o.markov_order = atoi(argv[4]);
    if (argc > 5) o.shapley_samples = strtoull(argv[5], NULL, 10);
    double t0 = tp_now();
    tp_journeys *j = synth(n, C, 42);
    printf("synthetic: %zu journeys, %zu touches, %zu campaigns, threads %d (%.1f s to build)\n",
           j->n, j->n_touches, C, threads > 0 ? threads : tp_threads_default(), tp_now() - t0);
    double total = 0, total_cpu = 0;
    for (int m = 0; m < TP_ATTR_N_METHODS; m++) {
        tp_credit *c = NULL;
        double t1 = tp_now(), c1 = cpu_now();
        if (tp_attribute(j, (tp_attr_method)m, &o, &c) != TP_OK) {
            fprintf(stderr, "%s: %s\n", tp_attr_method_name((tp_attr_method)m), tp_last_error());
            return 1;
        }
        double dt = tp_now() - t1, dc = cpu_now() - c1;
        total += dt;
        total_cpu += dc;
        size_t best = 0;
        for (size_t k = 1; k < C; k++)
            if (c->attributed_conversions[k] > c->attributed_conversions[best]) best = k;
        printf("%-10s %8.2f s wall %8.2f s cpu   top %s %.1f of %.0f",
               tp_attr_method_name((tp_attr_method)m), dt, dc,
               c->campaigns[best], c->attributed_conversions[best], c->total_conversions);
        if (m == TP_ATTR_MARKOV) printf("   (order %d, %zu states)", o.markov_order, c->n_states);
        if (m == TP_ATTR_SHAPLEY)
            printf("   (%s, max SE %.2f)", c->n_samples ? "sampled" : "exact",
                   c->std_error ? c->std_error[best] : 0.0);
        printf("\n");
        tp_credit_free(c);
    }
    printf("all methods %.2f s wall, %.2f s cpu\n", total, total_cpu);
    tp_journeys_free(j);
    return 0;
}

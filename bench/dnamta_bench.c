/* dnamta_bench.c: training and prediction throughput of the attention model (journeys/s) on
 * synthetic journeys, the C side of bench/dnamta_torch.py --bench (same generator, model size,
 * batch, threads, Adam with clip 5). Also the training FLOP rate, for the share of sgemm peak.
 * Usage: dnamta_bench [--journeys N] [--campaigns V] [--len T] [--embed E] [--hidden H]
 *        [--batch B] [--threads N] [--epochs N] [--seed S] [--full] [--decay] [--peak GFLOPS] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "touchpoint/core.h"
#include "touchpoint/dnamta.h"

// The generator of dnamta_torch.py's synthetic(): a hash of (journey, slot).
static uint64_t mix(uint64_t i, uint64_t k, uint64_t state) {
    uint64_t x = i * 0x9E3779B97F4A7C15ULL + k * 0xBF58476D1CE4E5B9ULL + state;
    x ^= x >> 31;
    x *= 0x94D049BB133111EBULL;
    x ^= x >> 29;
    return x;
}

static double cpu_now(void) { /* CPU seconds of the process, all threads */
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int main(int argc, char **argv) {
    int n = 100000, V = 50, T = 10, E = 20, H = 64, B = 256, threads = 2, epochs = 2, full = 0;
    int decay = 0;
    uint64_t seed = 1;
    double peak = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
#define OPT(name, var, conv)                                                                      \
    if (strcmp(a, name) == 0 && v) {                                                              \
        var = conv(v);                                                                            \
        i++;                                                                                      \
        continue;                                                                                 \
    }
        OPT("--journeys", n, atoi) OPT("--campaigns", V, atoi) OPT("--len", T, atoi)
        OPT("--embed", E, atoi) OPT("--hidden", H, atoi) OPT("--batch", B, atoi)
        OPT("--threads", threads, atoi) OPT("--epochs", epochs, atoi)
        OPT("--seed", seed, (uint64_t)atoll) OPT("--peak", peak, atof)
        if (strcmp(a, "--full") == 0) { full = 1; continue; }
        if (strcmp(a, "--decay") == 0) { decay = 1; continue; }
        fprintf(stderr, "usage: dnamta_bench [--journeys N] [--campaigns V] [--len T] [--embed E] "
                        "[--hidden H] [--batch B] [--threads N] [--epochs N] [--seed S] [--full] "
                        "[--decay] [--peak GFLOPS]\n");
        return 2;
    }
    const uint64_t state = seed * 6364136223846793005ULL + 1442695040888963407ULL;
    int32_t *camp = malloc((size_t)n * T * sizeof *camp);
    float *age = calloc((size_t)n * T, sizeof *age), *y = malloc((size_t)n * sizeof *y);
    int64_t *order = malloc((size_t)n * sizeof *order);
    if (!camp || !age || !y || !order) return 1;
    double steps = 0;
    for (int i = 0; i < n; i++) {
        int len = full ? T : 1 + (int)(mix((uint64_t)i, 0, state) % (uint64_t)T);
        int hit = 0;
        for (int t = 0; t < T; t++) {
            int32_t c = t < len ? (int32_t)(mix((uint64_t)i, 1 + (uint64_t)t, state) % (uint64_t)V) : -1;
            camp[(size_t)i * T + t] = c;
            age[(size_t)i * T + t] = t < len ? (float)(len - 1 - t) * 1.5f : 0;
            hit |= c == 0 || c == 1;
        }
        double u = (double)(mix((uint64_t)i, 999, state) % 1000) / 1000;
        y[i] = u < (hit ? 0.3 : 0.05);
        order[i] = i;
        steps += len;
    }
    tp_dnamta_config cfg = {.n_campaigns = V, .max_len = T, .embed = E, .hidden = H,
                            .time_decay = decay};
    tp_dnamta *m = NULL;
    if (tp_dnamta_new(&cfg, B, seed, &m) != TP_OK || tp_dnamta_set_threads(m, threads) != TP_OK) {
        fprintf(stderr, "dnamta_bench: %s\n", tp_last_error());
        return 1;
    }
    tp_optim_config oc;
    tp_optim_config_default(&oc); // Adam, lr 1e-3, clip 5: as the torch side
    int32_t *bc = malloc((size_t)B * T * sizeof *bc);
    float *ba = malloc((size_t)B * T * sizeof *ba), *by = malloc((size_t)B * sizeof *by);
    float *probs = malloc((size_t)n * sizeof *probs);
    tp_rng rng;
    tp_rng_seed(&rng, seed);
    printf("touchpoint dnamta, %d threads, %d journeys (%.2f touches each), V=%d T=%d E=%d H=%d "
           "batch %d%s\n", threads, n, steps / n, V, T, E, H, B, decay ? ", time decay" : "");
    double total = 0, cpu = 0, best = 0;
    for (int ep = 0; ep < epochs; ep++) {
        tp_rng_shuffle_i64(&rng, order, (size_t)n);
        double t0 = tp_now(), c0 = cpu_now(), lsum = 0;
        for (int s = 0; s < n; s += B) {
            int nb = n - s < B ? n - s : B;
            for (int k = 0; k < nb; k++) {
                int64_t i = order[s + k];
                memcpy(bc + (size_t)k * T, camp + i * T, (size_t)T * sizeof *bc);
                memcpy(ba + (size_t)k * T, age + i * T, (size_t)T * sizeof *ba);
                by[k] = y[i];
            }
            tp_dnamta_batch b = {.B = nb, .campaign = bc, .age_days = decay ? ba : NULL, .label = by};
            float loss;
            tp_dnamta_zero_grad(m);
            if (tp_dnamta_forward(m, &b, true, (uint64_t)s, NULL, NULL, &loss) != TP_OK ||
                tp_dnamta_backward(m, &b) != TP_OK || tp_dnamta_step(m, &oc) != TP_OK) {
                fprintf(stderr, "dnamta_bench: %s\n", tp_last_error());
                return 1;
            }
            lsum += (double)loss * nb;
        }
        double dt = tp_now() - t0;
        total += dt;
        cpu += cpu_now() - c0;
        if (n / dt > best) best = n / dt;
        printf("epoch %d: loss %.5f, %.0f journeys/s\n", ep + 1, lsum / n, n / dt);
    }
    double t0 = tp_now();
    for (int s = 0; s < n; s += B) {
        int nb = n - s < B ? n - s : B;
        tp_dnamta_batch b = {.B = nb, .campaign = camp + (size_t)s * T,
                             .age_days = decay ? age + (size_t)s * T : NULL};
        if (tp_dnamta_forward(m, &b, false, 0, probs + s, NULL, NULL) != TP_OK) return 1;
    }
    double pdt = tp_now() - t0;
    // model FLOPs of training: 3x the forward's multiply-adds (LSTM input + recurrent matmuls,
    // attention, output), counted on real touches only (padding is never computed)
    double fwd = steps * (2.0 * 4 * H * (E + H) + 4.0 * H) + n * 2.0 * H;
    double gflops = 3 * fwd * epochs / total / 1e9;
    printf("training %.2f GFLOP/s of model FLOPs", gflops);
    if (peak > 0) printf(" = %.1f%% of the %.1f GFLOP/s sgemm peak", 100 * gflops / peak, peak);
    printf("\nRESULT impl=c threads=%d T=%d batch=%d journeys=%d train_jps=%.0f best_epoch_jps=%.0f "
           "train_cpu_jps=%.0f predict_jps=%.0f train_gflops=%.2f\n", threads, T, B, n,
           n * (double)epochs / total, best, n * (double)epochs / cpu, n / pdt, gflops);
    tp_dnamta_free(m);
    free(camp), free(age), free(y), free(order), free(bc), free(ba), free(by), free(probs);
    return 0;
}

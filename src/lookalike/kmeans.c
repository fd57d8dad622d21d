/* kmeans.c: k-means on the seed users' score vectors (issue #6 §4): k-means++ initialisation from a
 * seeded tp_rng, then Lloyd iterations whose point-centre distances come from one sgemm
 * (|x|^2 - 2 x.c + |c|^2). Seeds number in the thousands, so this runs on one thread; sums are
 * accumulated in double so the result does not depend on BLAS blocking beyond float rounding.
 * Dimension letters: N points, D dimensions, K centres. */
#include "touchpoint/audience.h"

#include <cblas.h>
#include <float.h>
#include <math.h>
#include <string.h>

// Squared distance of every point to every centre: dist (N x K).
static void sq_dists(const float *x, const float *xn, size_t n, size_t d, const float *c, int k,
                     float *cn, float *dist) {
    for (int j = 0; j < k; j++) {
        double s = 0;
        for (size_t t = 0; t < d; t++) s += (double)c[(size_t)j * d + t] * c[(size_t)j * d + t];
        cn[j] = (float)s;
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, k, (int)d, -2.0f, x, (int)d, c,
                (int)d, 0.0f, dist, k);
    for (size_t i = 0; i < n; i++)
        for (int j = 0; j < k; j++) {
            float v = dist[i * k + j] + xn[i] + cn[j];
            dist[i * k + j] = v > 0 ? v : 0; // rounding can make it slightly negative
        }
}

static double sq_dist1(const float *a, const float *b, size_t d) {
    double s = 0;
    for (size_t t = 0; t < d; t++) {
        double u = (double)a[t] - b[t];
        s += u * u;
    }
    return s;
}

tp_status tp_kmeans(const float *x, size_t n, size_t d, int k, int max_iter, uint64_t seed,
                    float *centres, int32_t *assign, double *inertia, int *iterations) {
    if (!x || !centres || n == 0 || d == 0 || k < 1 || (size_t)k > n || max_iter < 0)
        return tp_fail(TP_ERR_ARG, "kmeans: need 1 <= k (%d) <= points (%zu) and d > 0", k, n);
    if (n > (size_t)INT32_MAX || d > (size_t)INT32_MAX)
        return tp_fail(TP_ERR_ARG, "kmeans: too many points or dimensions");
    tp_status rc = TP_OK;
    float *xn = tp_malloc(n * sizeof *xn), *cn = tp_malloc((size_t)k * sizeof *cn);
    float *dist = tp_malloc(n * (size_t)k * sizeof *dist);
    double *best = tp_malloc(n * sizeof *best), *sum = tp_malloc((size_t)k * d * sizeof *sum);
    int32_t *asg = tp_malloc(n * sizeof *asg);
    int64_t *count = tp_malloc((size_t)k * sizeof *count);
    if (!xn || !cn || !dist || !best || !sum || !asg || !count) {
        rc = tp_fail(TP_ERR_NOMEM, "kmeans: out of memory for %zu points x %d centres", n, k);
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        double s = 0;
        for (size_t t = 0; t < d; t++) s += (double)x[i * d + t] * x[i * d + t];
        xn[i] = (float)s;
    }

    // ---- k-means++: first centre uniform, then each next with probability ~ D(x)^2 ----
    tp_rng rng;
    tp_rng_seed(&rng, seed);
    size_t first = (size_t)tp_rng_below(&rng, n);
    memcpy(centres, x + first * d, d * sizeof *centres);
    for (size_t i = 0; i < n; i++) best[i] = sq_dist1(x + i * d, centres, d);
    for (int j = 1; j < k; j++) {
        double total = 0;
        for (size_t i = 0; i < n; i++) total += best[i];
        size_t pick = 0;
        if (total > 0) {
            double r = tp_rng_uniform(&rng) * total, acc = 0;
            pick = n - 1;
            for (size_t i = 0; i < n; i++) {
                acc += best[i];
                if (acc > r && best[i] > 0) {
                    pick = i;
                    break;
                }
            }
        } else { // every point coincides with a centre: take the next points in order
            pick = (first + (size_t)j) % n;
        }
        memcpy(centres + (size_t)j * d, x + pick * d, d * sizeof *centres);
        for (size_t i = 0; i < n; i++) {
            double v = sq_dist1(x + i * d, centres + (size_t)j * d, d);
            if (v < best[i]) best[i] = v;
        }
    }

    // ---- Lloyd ----
    for (size_t i = 0; i < n; i++) asg[i] = -1;
    int it = 0;
    double inert = 0;
    for (;;) {
        sq_dists(x, xn, n, d, centres, k, cn, dist);
        size_t changed = 0;
        inert = 0;
        for (size_t i = 0; i < n; i++) {
            int bj = 0;
            float bv = dist[i * k];
            for (int j = 1; j < k; j++)
                if (dist[i * k + j] < bv) bv = dist[i * k + j], bj = j;
            if (asg[i] != bj) changed++, asg[i] = bj;
            best[i] = bv;
            inert += bv;
        }
        if (changed == 0 || it >= max_iter) break;
        it++;
        memset(sum, 0, (size_t)k * d * sizeof *sum);
        memset(count, 0, (size_t)k * sizeof *count);
        for (size_t i = 0; i < n; i++) {
            count[asg[i]]++;
            for (size_t t = 0; t < d; t++) sum[(size_t)asg[i] * d + t] += x[i * d + t];
        }
        for (int j = 0; j < k; j++) {
            if (count[j] == 0) { // re-seed an emptied cluster with the worst-served point
                size_t far = 0;
                for (size_t i = 1; i < n; i++)
                    if (best[i] > best[far]) far = i;
                memcpy(centres + (size_t)j * d, x + far * d, d * sizeof *centres);
                best[far] = 0;
                continue;
            }
            for (size_t t = 0; t < d; t++)
                centres[(size_t)j * d + t] = (float)(sum[(size_t)j * d + t] / (double)count[j]);
        }
    }
    if (assign) memcpy(assign, asg, n * sizeof *asg);
    if (inertia) *inertia = inert;
    if (iterations) *iterations = it;
done:
    tp_free(xn), tp_free(cn), tp_free(dist), tp_free(best), tp_free(sum), tp_free(asg), tp_free(count);
    return rc;
}

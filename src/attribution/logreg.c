/* logreg.c: the baseline next to the attention model: L2-regularised logistic regression on
 * bag-of-campaigns counts (how often each campaign appears among a journey's kept touches),
 * fitted by Newton's method (IRLS) with a dense Cholesky solve. Deterministic: no sampling. */
#include "touchpoint/dnamta_train.h"

#include <math.h>
#include <string.h>

// n journeys, K features (+1 for the bias, stored last in the Newton system).

void tp_logreg_free(tp_logreg *m) {
    if (!m) return;
    tp_free(m->w);
    tp_free(m);
}

// Sparse row: (feature, count) pairs of journey i; returns the number of pairs.
static size_t bag(const tp_dnamta_data *d, size_t i, size_t K, int32_t *f, double *c) {
    size_t m = 0;
    const int32_t *row = d->campaign + i * d->T;
    for (size_t t = 0; t < d->T && row[t] >= 0; t++) {
        int32_t k = row[t];
        if ((size_t)k >= K) continue;
        size_t q = 0;
        while (q < m && f[q] != k) q++;
        if (q == m) f[m] = k, c[m++] = 0;
        c[q] += 1;
    }
    return m;
}

// Solve A x = b in place (A (N,N) symmetric positive definite, overwritten by its Cholesky factor).
static bool cholesky_solve(double *A, double *b, size_t N) {
    for (size_t j = 0; j < N; j++) {
        double s = A[j * N + j];
        for (size_t k = 0; k < j; k++) s -= A[j * N + k] * A[j * N + k];
        if (!(s > 0)) return false;
        double l = sqrt(s);
        A[j * N + j] = l;
        for (size_t i = j + 1; i < N; i++) {
            double v = A[i * N + j];
            for (size_t k = 0; k < j; k++) v -= A[i * N + k] * A[j * N + k];
            A[i * N + j] = v / l;
        }
    }
    for (size_t i = 0; i < N; i++) { // L y = b
        double v = b[i];
        for (size_t k = 0; k < i; k++) v -= A[i * N + k] * b[k];
        b[i] = v / A[i * N + i];
    }
    for (size_t i = N; i-- > 0;) { // L^T x = y
        double v = b[i];
        for (size_t k = i + 1; k < N; k++) v -= A[k * N + i] * b[k];
        b[i] = v / A[i * N + i];
    }
    return true;
}

tp_status tp_logreg_fit_bag(const tp_dnamta_data *d, size_t K, double l2, tp_logreg **out) {
    size_t N = K + 1, n = d->n, T = d->T;
    tp_logreg *m = tp_calloc(1, sizeof *m);
    double *H = tp_malloc(N * N * sizeof *H), *g = tp_malloc(N * sizeof *g);
    int32_t *f = tp_malloc((T ? T : 1) * sizeof *f);
    double *c = tp_malloc((T ? T : 1) * sizeof *c);
    tp_status rc = TP_OK;
    if (!m || !H || !g || !f || !c || !(m->w = tp_calloc(K ? K : 1, sizeof *m->w))) {
        rc = tp_fail(TP_ERR_NOMEM, "logreg: out of memory for %zu features", K);
        goto done;
    }
    if (n == 0 || !(l2 >= 0)) {
        rc = tp_fail(TP_ERR_ARG, "logreg: %zu rows, l2 %g", n, l2);
        goto done;
    }
    m->n_features = K;
    double pi = (double)d->positives / (double)n;
    m->bias = pi > 0 && pi < 1 ? log(pi / (1 - pi)) : 0.0;
    for (int it = 0; it < 100; it++) {
        memset(H, 0, N * N * sizeof *H);
        memset(g, 0, N * sizeof *g);
        for (size_t i = 0; i < n; i++) {
            size_t q = bag(d, i, K, f, c);
            double z = m->bias;
            for (size_t a = 0; a < q; a++) z += m->w[f[a]] * c[a];
            double p = 1.0 / (1.0 + exp(-z)), r = p - d->label[i], w = p * (1 - p);
            for (size_t a = 0; a < q; a++) {
                g[f[a]] += r * c[a];
                for (size_t b = 0; b < q; b++) H[(size_t)f[a] * N + (size_t)f[b]] += w * c[a] * c[b];
                H[(size_t)f[a] * N + K] += w * c[a];
                H[K * N + (size_t)f[a]] += w * c[a];
            }
            g[K] += r;
            H[K * N + K] += w;
        }
        for (size_t a = 0; a < N; a++) {
            g[a] /= (double)n;
            for (size_t b = 0; b < N; b++) H[a * N + b] /= (double)n;
        }
        for (size_t a = 0; a < K; a++) {
            g[a] += l2 * m->w[a];
            H[a * N + a] += l2 + 1e-12;
        }
        H[K * N + K] += 1e-12;
        if (!cholesky_solve(H, g, N)) {
            rc = tp_fail(TP_ERR_INTERNAL, "logreg: the Newton system is singular (use l2 > 0)");
            goto done;
        }
        double step = 0;
        for (size_t a = 0; a < K; a++) {
            m->w[a] -= g[a];
            if (fabs(g[a]) > step) step = fabs(g[a]);
        }
        m->bias -= g[K];
        if (fabs(g[K]) > step) step = fabs(g[K]);
        if (step < 1e-10) break;
    }
    *out = m;
    m = NULL;
done:
    tp_logreg_free(m);
    tp_free(H);
    tp_free(g);
    tp_free(f);
    tp_free(c);
    return rc;
}

tp_status tp_logreg_predict_bag(const tp_logreg *m, const tp_dnamta_data *d, double *prob) {
    size_t T = d->T;
    int32_t *f = tp_malloc((T ? T : 1) * sizeof *f);
    double *c = tp_malloc((T ? T : 1) * sizeof *c);
    if (!f || !c) {
        tp_free(f);
        tp_free(c);
        return tp_fail(TP_ERR_NOMEM, "logreg: out of memory");
    }
    for (size_t i = 0; i < d->n; i++) {
        size_t q = bag(d, i, m->n_features, f, c);
        double z = m->bias;
        for (size_t a = 0; a < q; a++) z += m->w[f[a]] * c[a];
        prob[i] = 1.0 / (1.0 + exp(-z));
    }
    tp_free(f);
    tp_free(c);
    return TP_OK;
}

tp_status tp_logreg_removal_credit(const tp_logreg *m, const tp_dnamta_data *d, double *credit) {
    size_t T = d->T;
    int32_t *f = tp_malloc((T ? T : 1) * sizeof *f);
    double *c = tp_malloc((T ? T : 1) * sizeof *c), *e = tp_malloc((T ? T : 1) * sizeof *e);
    if (!f || !c || !e) {
        tp_free(f);
        tp_free(c);
        tp_free(e);
        return tp_fail(TP_ERR_NOMEM, "logreg: out of memory");
    }
    for (size_t i = 0; i < d->n; i++) {
        if (!(d->label[i] > 0.5f)) continue;
        size_t q = bag(d, i, m->n_features, f, c);
        if (q == 0) continue;
        double z = m->bias, sum = 0;
        for (size_t a = 0; a < q; a++) z += m->w[f[a]] * c[a];
        double p = 1.0 / (1.0 + exp(-z));
        for (size_t a = 0; a < q; a++) {
            double pa = 1.0 / (1.0 + exp(-(z - m->w[f[a]] * c[a])));
            e[a] = p - pa > 0 ? p - pa : 0.0;
            sum += e[a];
        }
        for (size_t a = 0; a < q; a++) credit[f[a]] += sum > 0 ? e[a] / sum : 1.0 / (double)q;
    }
    tp_free(f);
    tp_free(c);
    tp_free(e);
    return TP_OK;
}

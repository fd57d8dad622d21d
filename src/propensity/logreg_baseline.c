/* logreg_baseline.c: the logistic-regression baseline reported beside each propensity model.
 * L2-regularised (scikit-learn's LogisticRegression(C) objective: sum of log losses + |w|^2/(2C),
 * intercept free) on features standardised with the training means/stds, missing values at the
 * mean, fitted with L-BFGS (m = 10, backtracking Armijo line search). The standardisation is
 * folded into the weights on the fly, so the float matrix is never copied. Gradients are summed
 * per chunk and reduced in chunk order: the same result for a given thread count. */
#include "touchpoint/propensity.h"

#include <math.h>
#include <string.h>

// n rows, F features; parameters theta = (w[0..F), b) in the standardised space.

struct tp_plogreg {
    size_t F;
    double *mu, *sd; /* F each */
    double *w;       /* F + 1: standardised weights, then the intercept */
    int iterations;
};

void tp_plogreg_free(tp_plogreg *m) {
    if (!m) return;
    tp_free(m->mu);
    tp_free(m->sd);
    tp_free(m->w);
    tp_free(m);
}

typedef struct lctx {
    const float *X;
    const uint8_t *y;
    size_t n, F;
    const double *mu, *sd, *theta;
    double *part; /* n_chunks * (F + 2): gradient (F+1) then loss */
    int chunks;
} lctx;

static inline double log1pexp(double z) { return z > 0 ? z + log1p(exp(-z)) : log1p(exp(z)); }

static tp_status grad_chunk(void *vc, size_t lo, size_t hi, int tid) {
    lctx *c = vc;
    size_t F = c->F;
    double *g = c->part + (size_t)tid * (F + 2);
    memset(g, 0, (F + 2) * sizeof *g);
    for (size_t i = lo; i < hi; i++) {
        const float *x = c->X + i * F;
        double z = c->theta[F];
        for (size_t j = 0; j < F; j++) {
            double v = x[j];
            if (!isnan(v)) z += (v - c->mu[j]) / c->sd[j] * c->theta[j];
        }
        double p = 1 / (1 + exp(-z));
        double r = p - c->y[i];
        for (size_t j = 0; j < F; j++) {
            double v = x[j];
            if (!isnan(v)) g[j] += r * (v - c->mu[j]) / c->sd[j];
        }
        g[F] += r;
        g[F + 1] += log1pexp(z) - (c->y[i] ? z : 0);
    }
    return TP_OK;
}

/* f and gradient at theta (F+1). */
static double eval(lctx *c, const double *theta, double C, double *grad) {
    size_t F = c->F;
    c->theta = theta;
    tp_parallel_for(c->n, c->chunks, grad_chunk, c);
    memset(grad, 0, (F + 1) * sizeof *grad);
    double f = 0;
    for (int t = 0; t < c->chunks; t++) {
        const double *g = c->part + (size_t)t * (F + 2);
        for (size_t j = 0; j <= F; j++) grad[j] += g[j];
        f += g[F + 1];
    }
    for (size_t j = 0; j < F; j++) {
        f += 0.5 / C * theta[j] * theta[j];
        grad[j] += theta[j] / C;
    }
    return f;
}

static double dot(const double *a, const double *b, size_t n) {
    double s = 0;
    for (size_t i = 0; i < n; i++) s += a[i] * b[i];
    return s;
}

tp_status tp_plogreg_fit(const float *X, const uint8_t *y, size_t n, size_t F, double C,
                         int max_iter, int n_threads, tp_plogreg **out) {
    enum { M = 10 };
    tp_status rc = TP_OK;
    tp_plogreg *m = NULL;
    double *buf = NULL, *part = NULL;
    *out = NULL;
    if (n == 0 || F == 0 || !(C > 0))
        return tp_fail(TP_ERR_ARG, "logistic baseline: %zu rows, %zu features, C = %g", n, F, C);
    size_t N = F + 1;
    int chunks = n_threads > 0 ? n_threads : tp_threads_default();
    if ((size_t)chunks > n) chunks = (int)n;
    if (!(m = tp_calloc(1, sizeof *m)) || !(m->mu = tp_calloc(F, sizeof(double))) ||
        !(m->sd = tp_calloc(F, sizeof(double))) || !(m->w = tp_calloc(N, sizeof(double))) ||
        !(buf = tp_calloc(N * (5 + 2 * M) + 2 * M, sizeof(double))) ||
        !(part = tp_calloc((size_t)chunks * (F + 2), sizeof(double)))) {
        rc = tp_fail(TP_ERR_NOMEM, "out of memory (logistic baseline, %zu features)", F);
        goto done;
    }
    m->F = F;
    // ---- standardisation (two passes, ignoring NaN) ----
    for (size_t j = 0; j < F; j++) {
        double s = 0, cnt = 0;
        for (size_t i = 0; i < n; i++) {
            double v = X[i * F + j];
            if (!isnan(v)) s += v, cnt++;
        }
        double mu = cnt > 0 ? s / cnt : 0, ss = 0;
        for (size_t i = 0; i < n; i++) {
            double v = X[i * F + j];
            if (!isnan(v)) ss += (v - mu) * (v - mu);
        }
        double sd = cnt > 0 ? sqrt(ss / cnt) : 0;
        m->mu[j] = mu;
        m->sd[j] = sd > 1e-12 ? sd : 1; /* a constant column stays at 0 after centring */
    }
    // ---- L-BFGS ----
    double *theta = buf, *g = buf + N, *d = buf + 2 * N, *tn = buf + 3 * N, *gn = buf + 4 * N;
    double *S = buf + 5 * N, *Y = S + M * N, *rho = Y + M * N, *alpha = rho + M;
    lctx c = {.X = X, .y = y, .n = n, .F = F, .mu = m->mu, .sd = m->sd, .part = part, .chunks = chunks};
    double f = eval(&c, theta, C, g);
    int k = 0, stored = 0, it;
    for (it = 0; it < max_iter; it++) {
        double gmax = 0;
        for (size_t j = 0; j < N; j++) gmax = fmax(gmax, fabs(g[j]));
        if (gmax < 1e-6 * fmax(1.0, (double)n * 1e-3)) break;
        // two-loop recursion: d = -H g
        for (size_t j = 0; j < N; j++) d[j] = -g[j];
        for (int q = 0; q < stored; q++) {
            int s = ((k - 1 - q) % M + M) % M;
            alpha[s] = rho[s] * dot(S + s * N, d, N);
            for (size_t j = 0; j < N; j++) d[j] -= alpha[s] * Y[s * N + j];
        }
        if (stored > 0) {
            int s = ((k - 1) % M + M) % M;
            double gam = dot(S + s * N, Y + s * N, N) / dot(Y + s * N, Y + s * N, N);
            for (size_t j = 0; j < N; j++) d[j] *= gam;
        } else {
            double gn2 = sqrt(dot(g, g, N));
            for (size_t j = 0; j < N; j++) d[j] /= gn2 > 1 ? gn2 : 1;
        }
        for (int q = stored - 1; q >= 0; q--) {
            int s = ((k - 1 - q) % M + M) % M;
            double b = rho[s] * dot(Y + s * N, d, N);
            for (size_t j = 0; j < N; j++) d[j] += S[s * N + j] * (alpha[s] - b);
        }
        double gd = dot(g, d, N);
        if (!(gd < 0)) { /* not a descent direction: restart from steepest descent */
            stored = 0;
            for (size_t j = 0; j < N; j++) d[j] = -g[j];
            gd = dot(g, d, N);
        }
        double step = 1, fn = f;
        int ls;
        for (ls = 0; ls < 40; ls++) {
            for (size_t j = 0; j < N; j++) tn[j] = theta[j] + step * d[j];
            fn = eval(&c, tn, C, gn);
            if (fn <= f + 1e-4 * step * gd) break;
            step *= 0.5;
        }
        if (ls == 40) break; /* no progress possible in double precision */
        int s = k % M;
        for (size_t j = 0; j < N; j++) {
            S[s * N + j] = tn[j] - theta[j];
            Y[s * N + j] = gn[j] - g[j];
        }
        double sy = dot(S + s * N, Y + s * N, N);
        if (sy > 1e-12) {
            rho[s] = 1 / sy;
            k++;
            if (stored < M) stored++;
        }
        double df = f - fn;
        memcpy(theta, tn, N * sizeof *theta);
        memcpy(g, gn, N * sizeof *g);
        f = fn;
        if (df <= 1e-12 * fmax(1.0, fabs(f))) {
            it++;
            break;
        }
    }
    memcpy(m->w, theta, N * sizeof *theta);
    m->iterations = it;
    *out = m;
    m = NULL;
done:
    tp_plogreg_free(m);
    tp_free(buf);
    tp_free(part);
    return rc;
}

tp_status tp_plogreg_predict(const tp_plogreg *m, const float *X, size_t n, size_t F, double *out) {
    if (F != m->F)
        return tp_fail(TP_ERR_SHAPE, "logistic baseline: %zu features given, fitted on %zu", F, m->F);
    for (size_t i = 0; i < n; i++) {
        const float *x = X + i * F;
        double z = m->w[F];
        for (size_t j = 0; j < F; j++)
            if (!isnan(x[j])) z += (x[j] - m->mu[j]) / m->sd[j] * m->w[j];
        out[i] = 1 / (1 + exp(-z));
    }
    return TP_OK;
}

void tp_plogreg_coef(const tp_plogreg *m, double *w, double *b) {
    double bb = m->w[m->F];
    for (size_t j = 0; j < m->F; j++) {
        w[j] = m->w[j] / m->sd[j];
        bb -= m->mu[j] * w[j];
    }
    *b = bb;
}

int tp_plogreg_iterations(const tp_plogreg *m) { return m->iterations; }

/* similarity.c: blocked cosine similarity of every user to a set of columns (seed-cluster centres
 * or the seeds themselves) with OpenBLAS sgemm, a per-user top-N min-heap and the mean of the top N
 * (issue #6 §4), then the top-M selection. Blocks are fixed by size, not by thread count, so the
 * result is identical on any number of threads; memory beyond the inputs stays bounded.
 * Dimension letters: U users, C columns, D dimensions, N kept per user, BU/BC block sizes. */
#include "touchpoint/audience.h"

#include <cblas.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

void tp_similarity_opts_default(tp_similarity_opts *o) {
    memset(o, 0, sizeof *o);
    o->top_n = 10;
    o->block_users = 2048;
    o->block_cols = 1024;
}

typedef struct sim_ctx {
    const float *users;
    size_t n_users, d;
    const uint8_t *skip;
    const float *cols; // normalised copy, C x D
    size_t n_cols, bu, bc;
    int top_n;
    float *score;
} sim_ctx;

// Min-heap of at most N floats: root is the smallest kept similarity.
static inline void heap_push(float *h, int *len, int cap, float v) {
    if (*len < cap) {
        int i = (*len)++;
        while (i > 0) {
            int p = (i - 1) / 2;
            if (h[p] <= v) break;
            h[i] = h[p];
            i = p;
        }
        h[i] = v;
        return;
    }
    if (v <= h[0]) return;
    int i = 0;
    for (;;) {
        int l = 2 * i + 1, r = l + 1, m = i;
        float mv = v;
        if (l < cap && h[l] < mv) m = l, mv = h[l];
        if (r < cap && h[r] < mv) m = r, mv = h[r];
        if (m == i) break;
        h[i] = h[m];
        i = m;
    }
    h[i] = v;
}

static inline float max16(const float *x) {
    float m[8];
    for (int t = 0; t < 8; t++) m[t] = x[t] > x[t + 8] ? x[t] : x[t + 8];
    for (int t = 0; t < 4; t++) m[t] = m[t] > m[t + 4] ? m[t] : m[t + 4];
    m[0] = m[0] > m[2] ? m[0] : m[2], m[1] = m[1] > m[3] ? m[1] : m[3];
    return m[0] > m[1] ? m[0] : m[1];
}

// Users [lo, hi) of block indices: one call per thread, buffers allocated once.
static tp_status sim_range(void *vctx, size_t lo, size_t hi, int tid) {
    const sim_ctx *c = vctx;
    size_t bu = c->bu, bc = c->bc, d = c->d, N = (size_t)c->top_n;
    float *prod = tp_malloc(bu * bc * sizeof *prod), *heap = tp_malloc(bu * N * sizeof *heap);
    float *inv = tp_malloc(bu * sizeof *inv);
    int *hlen = tp_malloc(bu * sizeof *hlen);
    tp_status rc = TP_OK;
    if (!prod || !heap || !inv || !hlen) {
        rc = tp_fail(TP_ERR_NOMEM, "similarity: out of memory for a %zu x %zu block", bu, bc);
        goto done;
    }
    for (size_t b = lo; b < hi; b++) {
        size_t u0 = b * bu, nu = c->n_users - u0 < bu ? c->n_users - u0 : bu;
        const float *ub = c->users + u0 * d;
        for (size_t i = 0; i < nu; i++) {
            double s = 0;
            for (size_t t = 0; t < d; t++) s += (double)ub[i * d + t] * ub[i * d + t];
            inv[i] = s > 0 ? (float)(1.0 / sqrt(s)) : 0.0f;
            hlen[i] = 0;
        }
        for (size_t c0 = 0; c0 < c->n_cols; c0 += bc) {
            size_t nc = c->n_cols - c0 < bc ? c->n_cols - c0 : bc;
            // prod (nu x nc) = U_block (nu x D) . C_block^T (D x nc)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)nu, (int)nc, (int)d, 1.0f, ub,
                        (int)d, c->cols + c0 * d, (int)d, 0.0f, prod, (int)nc);
            for (size_t i = 0; i < nu; i++) {
                if (c->skip && c->skip[u0 + i]) continue;
                const float *row = prod + i * nc;
                float *h = heap + i * N, w = inv[i];
                int len = hlen[i];
                size_t j = 0;
                for (; j < nc && len < (int)N; j++) heap_push(h, &len, (int)N, row[j] * w);
                // Heap full: most similarities fall below its minimum, so test first (cheap,
                // well predicted) and push rarely.
                float thr = len == (int)N ? h[0] : -INFINITY;
                while (j < nc) {
                    // Skip 16 at a time when their maximum cannot enter the heap (vectorises).
                    if (j + 16 <= nc) {
                        float mx = max16(row + j);
                        if (mx * w <= thr) {
                            j += 16;
                            continue;
                        }
                    }
                    size_t e = j + 16 <= nc ? j + 16 : nc;
                    for (; j < e; j++) {
                        float v = row[j] * w;
                        if (v > thr) {
                            heap_push(h, &len, (int)N, v);
                            thr = h[0];
                        }
                    }
                }
                hlen[i] = len;
            }
        }
        for (size_t i = 0; i < nu; i++) {
            if (c->skip && c->skip[u0 + i]) {
                c->score[u0 + i] = -INFINITY;
                continue;
            }
            double s = 0;
            for (int j = 0; j < hlen[i]; j++) s += heap[i * N + (size_t)j];
            c->score[u0 + i] = hlen[i] ? (float)(s / hlen[i]) : 0.0f;
        }
    }
done:
    tp_free(prod), tp_free(heap), tp_free(inv), tp_free(hlen);
    return rc;
}

// Our threads split the users; OpenBLAS runs single-threaded inside each of them. Concurrent
// calls (jobs of the HTTP service) share one setting: the first saves OpenBLAS's thread count and
// sets 1, the last restores it.
static pthread_mutex_t blas_mu = PTHREAD_MUTEX_INITIALIZER;
static int blas_users, blas_saved;
static void blas_single_enter(void) {
    pthread_mutex_lock(&blas_mu);
    if (blas_users++ == 0) {
        blas_saved = openblas_get_num_threads();
        openblas_set_num_threads(1);
    }
    pthread_mutex_unlock(&blas_mu);
}
static void blas_single_leave(void) {
    pthread_mutex_lock(&blas_mu);
    if (--blas_users == 0) openblas_set_num_threads(blas_saved);
    pthread_mutex_unlock(&blas_mu);
}

tp_status tp_similarity_topn_mean(const float *users, size_t n_users, size_t d,
                                  const uint8_t *skip, const float *cols, size_t n_cols,
                                  const tp_similarity_opts *o, float *score, double *pairs) {
    tp_similarity_opts def;
    if (!o) tp_similarity_opts_default(&def), o = &def;
    if (!users || !cols || !score || d == 0 || n_cols == 0 || o->top_n < 1)
        return tp_fail(TP_ERR_ARG, "similarity: need users, at least one column, d > 0, top-n >= 1");
    if (d > (size_t)INT32_MAX / 2)
        return tp_fail(TP_ERR_ARG, "similarity: %zu dimensions is too many", d);
    sim_ctx c = {.users = users, .n_users = n_users, .d = d, .skip = skip, .n_cols = n_cols,
                 .score = score};
    c.bu = o->block_users ? o->block_users : 2048;
    c.bc = o->block_cols ? o->block_cols : 1024;
    if (c.bc > n_cols) c.bc = n_cols;
    if (c.bu > 1u << 20) c.bu = 1u << 20;
    c.top_n = (size_t)o->top_n < n_cols ? o->top_n : (int)n_cols;
    float *cn = tp_malloc(n_cols * d * sizeof *cn);
    if (!cn) return tp_fail(TP_ERR_NOMEM, "similarity: out of memory for %zu x %zu columns", n_cols, d);
    for (size_t j = 0; j < n_cols; j++) {
        double s = 0;
        for (size_t t = 0; t < d; t++) s += (double)cols[j * d + t] * cols[j * d + t];
        float w = s > 0 ? (float)(1.0 / sqrt(s)) : 0.0f;
        for (size_t t = 0; t < d; t++) cn[j * d + t] = cols[j * d + t] * w;
    }
    c.cols = cn;
    size_t n_blocks = (n_users + c.bu - 1) / c.bu;
    int threads = o->threads > 0 ? o->threads : tp_threads_default();
    if ((size_t)threads > n_blocks) threads = n_blocks ? (int)n_blocks : 1;
    blas_single_enter();
    tp_status rc = n_blocks ? tp_parallel_for(n_blocks, threads, sim_range, &c) : TP_OK;
    blas_single_leave();
    if (rc == TP_OK && pairs) {
        size_t kept = n_users;
        if (skip)
            for (size_t u = 0; u < n_users; u++) kept -= skip[u] != 0;
        *pairs = (double)kept * (double)n_cols;
    }
    tp_free(cn);
    return rc;
}

// ---- top-M selection ----

// a ranks below b: lower score, or equal score and higher index.
static inline int worse(const float *s, uint32_t a, uint32_t b) {
    return s[a] < s[b] || (s[a] == s[b] && a > b);
}

tp_status tp_select_top_m(const float *score, size_t n, size_t m, uint32_t *idx, size_t *n_out) {
    if (!score || (!idx && m) || !n_out) return tp_fail(TP_ERR_ARG, "select: NULL argument");
    if (n > UINT32_MAX) return tp_fail(TP_ERR_ARG, "select: more than 2^32 users");
    size_t len = 0;
    if (m == 0) goto out;
    // Min-heap (by `worse`) of the m best seen so far: the root is the weakest kept.
    for (size_t u = 0; u < n; u++) {
        if (score[u] == -INFINITY || isnan(score[u])) continue;
        uint32_t v = (uint32_t)u;
        if (len < m) {
            size_t i = len++;
            while (i > 0) {
                size_t p = (i - 1) / 2;
                if (!worse(score, v, idx[p])) break;
                idx[i] = idx[p];
                i = p;
            }
            idx[i] = v;
            continue;
        }
        if (!worse(score, idx[0], v)) continue;
        size_t i = 0;
        for (;;) {
            size_t l = 2 * i + 1, r = l + 1, w = i;
            uint32_t wv = v;
            if (l < len && worse(score, idx[l], wv)) w = l, wv = idx[l];
            if (r < len && worse(score, idx[r], wv)) w = r, wv = idx[r];
            if (w == i) break;
            idx[i] = idx[w];
            i = w;
        }
        idx[i] = v;
    }
    // Heapsort: pop the weakest to the back, so the array ends best first.
    for (size_t end = len; end > 1; end--) { // heapsort: weakest to the back
        uint32_t top = idx[0];
        uint32_t v = idx[end - 1];
        size_t i = 0, hl = end - 1;
        for (;;) {
            size_t l = 2 * i + 1, r = l + 1, w = i;
            uint32_t wv = v;
            if (l < hl && worse(score, idx[l], wv)) w = l, wv = idx[l];
            if (r < hl && worse(score, idx[r], wv)) w = r, wv = idx[r];
            if (w == i) break;
            idx[i] = idx[w];
            i = w;
        }
        if (hl) idx[i] = v;
        idx[end - 1] = top;
    }
out:
    *n_out = len;
    return TP_OK;
}

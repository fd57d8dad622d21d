/* din_train.c: training of the DIN-style click model (issue #6 §2). Samples are the train-ready
 * (user, interval, keyword) rows: clicked = positive, shown-not-clicked = negative, history from
 * strictly earlier intervals; the newest intervals are the test set. Adam on one flat parameter
 * block; metrics against the popularity baseline (keyword CTR); the model file is versioned,
 * checksummed and written atomically. */
#include <errno.h>
#include <jansson.h> /* before din_impl.h: nn/real.h defines `real` as a macro */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "lal_impl.h"
#include "lookalike/din_impl.h"
#include "touchpoint/metrics.h"

struct tp_din {
    din_dims d;
    int history_intervals;
    char **keywords; /* V names */
    float *p;        /* parameters */
};

static const char DIN_MAGIC[8] = {'T', 'P', 'D', 'I', 'N', 'M', 'D', 'L'};
#define DIN_VERSION 1u

void tp_din_free(tp_din *m) {
    if (!m) return;
    for (int k = 0; m->keywords && k < m->d.V; k++) tp_free(m->keywords[k]);
    tp_free(m->keywords);
    tp_free(m->p);
    tp_free(m);
}
int tp_din_n_keywords(const tp_din *m) { return m->d.V; }
void lal_din_history_shape(const tp_din *m, int *T, int *h_intervals) {
    *T = m->d.T;
    *h_intervals = m->history_intervals;
}

// ---- model file: magic, u32 version, u32 V E A H T history_intervals, names, float params, u64 hash ----

tp_status tp_din_save(const tp_din *m, const char *path) {
    size_t np = din_layout_of(&m->d).n, cap = 64 + np * 4 + 8;
    for (int k = 0; k < m->d.V; k++) cap += 4 + strlen(m->keywords[k]);
    uint8_t *b = tp_malloc(cap);
    if (!b) return tp_fail(TP_ERR_NOMEM, "out of memory saving the model");
    size_t o = 0;
    uint32_t hdr[7] = {DIN_VERSION, (uint32_t)m->d.V, (uint32_t)m->d.E, (uint32_t)m->d.A,
                       (uint32_t)m->d.H, (uint32_t)m->d.T, (uint32_t)m->history_intervals};
    memcpy(b, DIN_MAGIC, 8), o = 8;
    memcpy(b + o, hdr, sizeof hdr), o += sizeof hdr;
    for (int k = 0; k < m->d.V; k++) {
        uint32_t l = (uint32_t)strlen(m->keywords[k]);
        memcpy(b + o, &l, 4), o += 4;
        memcpy(b + o, m->keywords[k], l), o += l;
    }
    memcpy(b + o, m->p, np * 4), o += np * 4;
    uint64_t h = tp_hash_bytes(b, o, 0);
    memcpy(b + o, &h, 8), o += 8;
    tp_status rc = tp_atomic_write(path, b, o);
    tp_free(b);
    return rc;
}

tp_status tp_din_load(const char *path, tp_din **out) {
    FILE *fp = fopen(path, "rb");
    if (!fp) return tp_fail(TP_ERR_IO, "cannot open model '%s': %s", path, strerror(errno));
    tp_status rc = TP_OK;
    uint8_t *b = NULL;
    tp_din *m = NULL;
    struct stat st;
    size_t size = fstat(fileno(fp), &st) == 0 ? (size_t)st.st_size : 0;
    if (size < 8 + 28 + 8) {
        rc = tp_fail(TP_ERR_FORMAT, "'%s': not a touchpoint DIN model (too short)", path);
        goto done;
    }
    if (!(b = tp_malloc(size)) || fread(b, 1, size, fp) != size) {
        rc = b ? tp_fail(TP_ERR_IO, "short read on '%s'", path) : tp_fail(TP_ERR_NOMEM, "out of memory");
        goto done;
    }
    uint32_t hdr[7];
    memcpy(hdr, b + 8, sizeof hdr);
    uint64_t h;
    memcpy(&h, b + size - 8, 8);
    if (memcmp(b, DIN_MAGIC, 8) != 0) {
        rc = tp_fail(TP_ERR_FORMAT, "'%s': bad magic (not a touchpoint DIN model)", path);
        goto done;
    }
    if (hdr[0] != DIN_VERSION) {
        rc = tp_fail(TP_ERR_FORMAT, "'%s': model version %u, this build reads %u", path, hdr[0], DIN_VERSION);
        goto done;
    }
    if (h != tp_hash_bytes(b, size - 8, 0)) {
        rc = tp_fail(TP_ERR_FORMAT, "'%s': checksum mismatch: the model file is corrupt", path);
        goto done;
    }
    if (!(m = tp_calloc(1, sizeof *m))) {
        rc = tp_fail(TP_ERR_NOMEM, "out of memory");
        goto done;
    }
    m->d = (din_dims){(int)hdr[1], (int)hdr[2], (int)hdr[3], (int)hdr[4], (int)hdr[5]};
    m->history_intervals = (int)hdr[6];
    if (hdr[1] > (1u << 24) || hdr[2] > 4096 || hdr[3] > 4096 || hdr[4] > 65536 || hdr[5] > 65536 ||
        !(m->keywords = tp_calloc(hdr[1] + 1, sizeof(char *)))) {
        rc = tp_fail(TP_ERR_FORMAT, "'%s': implausible model dimensions", path);
        goto done;
    }
    size_t o = 36, end = size - 8;
    for (int k = 0; k < m->d.V; k++) {
        uint32_t l;
        if (end - o < 4 || (memcpy(&l, b + o, 4), o += 4, end - o < l) ||
            !(m->keywords[k] = tp_malloc(l + 1))) {
            rc = tp_fail(TP_ERR_FORMAT, "'%s': truncated keyword list", path);
            goto done;
        }
        memcpy(m->keywords[k], b + o, l);
        m->keywords[k][l] = 0;
        o += l;
    }
    size_t np = din_layout_of(&m->d).n;
    if (end - o != np * 4) {
        rc = tp_fail(TP_ERR_FORMAT, "'%s': %zu parameter bytes, the dimensions want %zu", path, end - o, np * 4);
        goto done;
    }
    if (!(m->p = tp_malloc(np * 4))) {
        rc = tp_fail(TP_ERR_NOMEM, "out of memory");
        goto done;
    }
    memcpy(m->p, b + o, np * 4);
    *out = m;
    m = NULL;
done:
    tp_din_free(m);
    tp_free(b);
    fclose(fp);
    return rc;
}

tp_status tp_din_predict(const tp_din *m, const int32_t *hist, int n_hist, const int32_t *cand,
                         int n_cand, float *probs) {
    const int B = 256;
    if (n_hist > m->d.T) n_hist = m->d.T; // newest first: keep the newest T
    if (n_hist < 0) n_hist = 0;
    din_dims db = m->d;
    const int T = db.T = n_hist > 0 ? n_hist : 1; // no slot that every row pads
    float *ws = tp_malloc(din_ws_size(&db, B) * sizeof(float));
    int32_t *h = tp_malloc((size_t)B * T * sizeof(int32_t));
    int *len = tp_malloc((size_t)B * sizeof(int));
    tp_status rc = TP_OK;
    if (!ws || !h || !len) {
        rc = tp_fail(TP_ERR_NOMEM, "out of memory scoring");
        goto done;
    }
    for (int b = 0; b < B; b++) {
        for (int t = 0; t < T; t++) h[(size_t)b * T + t] = t < n_hist ? hist[t] : -1;
        len[b] = n_hist;
    }
    for (int i = 0; i < n_cand; i += B) {
        int n = n_cand - i < B ? n_cand - i : B;
        for (int j = 0; j < n; j++)
            if (cand[i + j] < 0 || cand[i + j] >= m->d.V) {
                rc = tp_fail(TP_ERR_ARG, "candidate keyword %d out of range 0..%d", cand[i + j], m->d.V - 1);
                goto done;
            }
        din_model_forward(&db, m->p, cand + i, h, len, NULL, n, ws, probs + i);
    }
done:
    tp_free(ws);
    tp_free(h);
    tp_free(len);
    return rc;
}

// ---- metrics (touchpoint/metrics.h, shared with the attention and propensity models) ----

/* ROC-AUC and log loss of float probabilities; NaN when undefined (one class only). */
static tp_status metrics_of(const float *p, const uint8_t *y, size_t n, double *auc, double *ll) {
    double *d = tp_malloc((n ? n : 1) * sizeof(double));
    if (!d) return tp_fail(TP_ERR_NOMEM, "out of memory computing metrics");
    for (size_t i = 0; i < n; i++) d[i] = p[i];
    tp_status rc = tp_metrics_roc_auc(d, y, n, auc);
    if (!rc) rc = tp_metrics_log_loss(d, y, NULL, n, ll);
    tp_free(d);
    return rc;
}

// ---- training ----

typedef struct sample {
    int32_t user, cand;
    int64_t interval;
    uint8_t y;
} sample;

/* Fill one batch; the history is stored with stride Tb = the longest history in the batch (>= 1),
 * returned, so the attention MLP never runs on a slot that every row pads. */
static int fill_batch(const lal_data *d, const tp_lookalike_config *c, const din_dims *dm,
                      const sample *s, const uint32_t *idx, int n, int32_t *cand, int32_t *hist,
                      int *len, float *y) {
    int Tb = 1;
    for (int j = 0; j < n; j++) {
        const sample *x = &s[idx ? idx[j] : (uint32_t)j];
        cand[j] = x->cand;
        y[j] = x->y;
        len[j] = lal_history(d, x->user, x->interval, c->history_intervals, dm->T,
                             hist + (size_t)j * dm->T);
        if (len[j] > Tb) Tb = len[j];
    }
    for (int j = 0; j < n; j++) { // compact rows to stride Tb (forward copy: Tb <= T)
        int32_t *dst = hist + (size_t)j * Tb;
        memmove(dst, hist + (size_t)j * dm->T, (size_t)len[j] * sizeof(int32_t));
        for (int t = len[j]; t < Tb; t++) dst[t] = -1;
    }
    return Tb;
}

/* Data parallelism: a batch is cut into P contiguous chunks (P = the thread count), each chunk's
 * gradient goes to its own buffer and the buffers are summed in chunk order, so a given seed and
 * thread count always give the same model. */
typedef struct worker {
    float *ws, *grad, *y, *pbuf; /* ws, y, cand, hist, len, pbuf: one sub-batch (SUB) */
    int32_t *cand, *hist;
    int *len;
    uint32_t *ids, *perm;        /* the chunk's samples sorted by history length */
    double loss;
} worker;

typedef struct batch_job {
    const lal_data *d;
    const tp_lookalike_config *c;
    const tp_din *m;
    const sample *S;      /* samples; with idx the batch is S[idx[0..nb)], else S[0..nb) */
    const uint32_t *idx;
    int nb, P;
    worker *w;
    size_t np;
    float scale;          /* backward of scale * summed loss; 0 = forward only */
    float *prob;          /* forward only: nb probabilities */
} batch_job;

/* A chunk is run in sub-batches of SUB samples sorted by history length, each with its own
 * history stride, so short histories are not padded to the longest one of the whole batch (the
 * gradient is a sum, so this changes nothing but the work). */
#define SUB 32
static tp_status batch_chunk(void *vx, size_t lo, size_t hi, int tid) {
    batch_job *x = vx;
    const int T = x->m->d.T;
    for (size_t ch = lo; ch < hi; ch++) {
        worker *w = &x->w[ch];
        const int a = (int)((int64_t)x->nb * (int64_t)ch / x->P);
        const int b = (int)((int64_t)x->nb * (int64_t)(ch + 1) / x->P), n = b - a;
        w->loss = 0;
        if (x->scale != 0) memset(w->grad, 0, x->np * sizeof(float));
        if (n <= 0) continue;
        // counting sort of the chunk's samples by history length (stable)
        int cnt[T + 2];
        memset(cnt, 0, sizeof cnt);
        for (int j = 0; j < n; j++) {
            uint32_t id = x->idx ? x->idx[a + j] : (uint32_t)(a + j);
            const sample *sm = &x->S[id];
            int L = lal_history(x->d, sm->user, sm->interval, x->c->history_intervals, T, w->hist);
            w->len[j] = L;
            cnt[L + 1]++;
        }
        for (int t = 0; t <= T; t++) cnt[t + 1] += cnt[t];
        for (int j = 0; j < n; j++) w->perm[cnt[w->len[j]]++] = (uint32_t)j;
        for (int j = 0; j < n; j++)
            w->ids[j] = x->idx ? x->idx[a + (int)w->perm[j]] : (uint32_t)(a + (int)w->perm[j]);
        for (int s0 = 0; s0 < n; s0 += SUB) {
            const int m = n - s0 < SUB ? n - s0 : SUB;
            din_dims db = x->m->d;
            db.T = fill_batch(x->d, x->c, &x->m->d, x->S, w->ids + s0, m, w->cand, w->hist, w->len, w->y);
            w->loss += din_model_forward(&db, x->m->p, w->cand, w->hist, w->len, w->y, m, w->ws,
                                         x->prob ? w->pbuf : NULL);
            if (x->prob)
                for (int j = 0; j < m; j++) x->prob[a + (int)w->perm[s0 + j]] = w->pbuf[j];
            if (x->scale != 0)
                din_model_backward(&db, x->m->p, w->grad, w->cand, w->hist, w->len, w->y, m, w->ws,
                                   x->scale);
        }
    }
    return TP_OK;
}

static tp_status write_train_stats(const tp_lookalike_config *c, const tp_lookalike_train_stats *s) {
    json_t *j = json_pack("{s:I,s:I,s:I,s:I,s:f,s:f,s:f,s:f,s:f,s:i,s:f}", "train_samples",
                          (json_int_t)s->train_samples, "test_samples", (json_int_t)s->test_samples,
                          "train_positives", (json_int_t)s->train_positives, "test_positives",
                          (json_int_t)s->test_positives, "test_auc", isnan(s->test_auc) ? -1.0 : s->test_auc,
                          "test_logloss", s->test_logloss, "baseline_auc", isnan(s->base_auc) ? -1.0 : s->base_auc,
                          "baseline_logloss", s->base_logloss, "train_seconds", s->train_seconds,
                          "epochs", s->epochs, "last_train_loss", s->last_train_loss);
    if (!j) return tp_fail(TP_ERR_NOMEM, "out of memory writing train_stats.json");
    char *text = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(j);
    if (!text) return tp_fail(TP_ERR_NOMEM, "out of memory writing train_stats.json");
    char path[4096];
    snprintf(path, sizeof path, "%s/train_stats.json", c->out_dir);
    tp_status rc = tp_atomic_write(path, text, strlen(text));
    free(text);
    return rc;
}

tp_status tp_lookalike_train(const tp_lookalike_config *c, const char *model_path,
                             tp_lookalike_train_stats *stats) {
    tp_lookalike_train_stats st = {0};
    lal_data *d = NULL;
    tp_din *m = NULL;
    sample *S = NULL;
    uint32_t *order = NULL;
    float *grad = NULL, *am = NULL, *av = NULL, *pt = NULL, *pb = NULL;
    worker *wk = NULL;
    int P = 1;
    uint8_t *yt = NULL;
    double *kw_pos = NULL, *kw_n = NULL;
    int64_t *ivs = NULL;
    char path[4096];
    const double t_start = tp_now();
    tp_status rc = lal_data_load(c->out_dir, &d);
    if (rc) return rc;
    if (d->n_keywords < 1 || d->n_rows == 0) {
        rc = tp_fail(TP_ERR_ARG, "lookalike train: no train-ready rows in '%s' (run prepare first)", c->out_dir);
        goto done;
    }
    // time split: the newest test_fraction of the distinct intervals
    size_t n = d->n_rows, n_iv = 0;
    if (!(ivs = tp_malloc(n * sizeof(int64_t)))) goto nomem;
    {
        uint32_t *p = tp_malloc(n * sizeof(uint32_t));
        if (!p || (rc = tp_radix_sort_i64(d->interval, n, p))) {
            tp_free(p);
            if (!rc) goto nomem;
            goto done;
        }
        for (size_t i = 0; i < n; i++)
            if (!n_iv || ivs[n_iv - 1] != d->interval[p[i]]) ivs[n_iv++] = d->interval[p[i]];
        tp_free(p);
    }
    if (n_iv < 2) {
        rc = tp_fail(TP_ERR_ARG, "lookalike train: %zu distinct interval(s); a time split needs at least 2", n_iv);
        goto done;
    }
    size_t n_test_iv = (size_t)ceil(c->test_fraction * (double)n_iv);
    if (n_test_iv < 1) n_test_iv = 1;
    if (n_test_iv >= n_iv) n_test_iv = n_iv - 1;
    const int64_t cutoff = ivs[n_iv - n_test_iv];
    // samples: train first, then test
    if (!(S = tp_malloc(n * sizeof *S))) goto nomem;
    size_t n_tr = 0, n_te = 0;
    for (int pass = 0; pass < 2; pass++)
        for (int u = 0; u < d->n_users; u++)
            for (int64_t r = d->row_off[u]; r < d->row_off[u + 1]; r++) {
                bool test = d->interval[r] >= cutoff;
                if (test != (pass == 1)) continue;
                if (d->clicks[r] <= 0 && d->shows[r] <= 0) continue;
                S[n_tr + n_te] = (sample){u, d->keyword[r], d->interval[r], d->clicks[r] > 0};
                if (pass) n_te++; else n_tr++;
            }
    st.train_samples = (int64_t)n_tr;
    st.test_samples = (int64_t)n_te;
    for (size_t i = 0; i < n_tr + n_te; i++) {
        if (i < n_tr) st.train_positives += S[i].y; else st.test_positives += S[i].y;
    }
    if (n_tr == 0 || n_te == 0) {
        rc = tp_fail(TP_ERR_ARG, "lookalike train: empty train (%zu) or test (%zu) set", n_tr, n_te);
        goto done;
    }

    // model
    if (!(m = tp_calloc(1, sizeof *m))) goto nomem;
    m->d = (din_dims){d->n_keywords, c->embedding_dim, c->attention_hidden, c->hidden, c->max_history};
    m->history_intervals = c->history_intervals;
    if (!(m->keywords = tp_calloc((size_t)d->n_keywords, sizeof(char *)))) goto nomem;
    for (int k = 0; k < d->n_keywords; k++)
        if (!(m->keywords[k] = tp_strdup(d->keywords[k]))) goto nomem;
    const din_layout L = din_layout_of(&m->d);
    const int B = c->batch_size, T = m->d.T;
    P = c->threads > 0 ? c->threads : tp_threads_default();
    if (P > B) P = B;
    if (P < 1) P = 1;
    const int CB = (B + P - 1) / P; // the largest chunk
    if (!(m->p = tp_malloc(L.n * sizeof(float))) || !(am = tp_calloc(L.n, sizeof(float))) ||
        !(av = tp_calloc(L.n, sizeof(float))) || !(order = tp_malloc(n_tr * sizeof(uint32_t))) ||
        !(wk = tp_calloc((size_t)P, sizeof *wk)))
        goto nomem;
    for (int i = 0; i < P; i++) {
        worker *w = &wk[i];
        if (!(w->grad = tp_malloc(L.n * sizeof(float))) ||
            !(w->ws = tp_malloc(din_ws_size(&m->d, SUB) * sizeof(float))) ||
            !(w->y = tp_malloc((size_t)SUB * sizeof(float))) ||
            !(w->pbuf = tp_malloc((size_t)SUB * sizeof(float))) ||
            !(w->cand = tp_malloc((size_t)SUB * sizeof(int32_t))) ||
            !(w->hist = tp_malloc((size_t)(CB > SUB ? CB : SUB) * T * sizeof(int32_t))) ||
            !(w->len = tp_malloc((size_t)(CB > SUB ? CB : SUB) * sizeof(int))) ||
            !(w->ids = tp_malloc((size_t)CB * sizeof(uint32_t))) ||
            !(w->perm = tp_malloc((size_t)CB * sizeof(uint32_t))))
            goto nomem;
    }
    grad = wk[0].grad;
    {
        tp_rng r;
        tp_rng_seed(&r, c->seed);
        const int E = m->d.E, A = m->d.A, H = m->d.H;
        struct { size_t off, n; double scale; } init[] = {
            {L.emb, (size_t)m->d.V * E, 0.1}, {L.A1, (size_t)A * 4 * E, sqrt(2.0 / (4 * E))},
            {L.b1, (size_t)A, 0}, {L.a2, (size_t)A, sqrt(1.0 / A)}, {L.b2, 1, 0},
            {L.O1, (size_t)H * 2 * E, sqrt(2.0 / (2 * E))}, {L.c1, (size_t)H, 0},
            {L.o2, (size_t)H, sqrt(1.0 / H)}, {L.c2, 1, 0}};
        for (size_t i = 0; i < sizeof init / sizeof *init; i++)
            for (size_t j = 0; j < init[i].n; j++)
                m->p[init[i].off + j] = (float)(init[i].scale * tp_rng_normal(&r));
        // start the output bias at the train log-odds so the first steps do not fight the prior
        double pr = (double)st.train_positives / (double)n_tr;
        m->p[L.c2] = (float)log((pr + 1e-6) / (1 - pr + 1e-6));
        for (size_t i = 0; i < n_tr; i++) order[i] = (uint32_t)i;
        long step = 0;
        for (int ep = 0; ep < c->epochs; ep++) {
            for (size_t i = n_tr; i > 1; i--) { // Fisher-Yates, seeded
                size_t j = tp_rng_below(&r, i);
                uint32_t t = order[i - 1];
                order[i - 1] = order[j];
                order[j] = t;
            }
            double loss = 0;
            for (size_t i = 0; i < n_tr; i += (size_t)B) {
                int nb = (int)(n_tr - i < (size_t)B ? n_tr - i : (size_t)B);
                batch_job job = {d, c, m, S, order + i, nb, P, wk, L.n, 1.0f / nb, NULL};
                if ((rc = tp_parallel_for((size_t)P, P, batch_chunk, &job))) goto done;
                for (int w = 0; w < P; w++) { // reduce in chunk order
                    loss += wk[w].loss;
                    if (w == 0) continue;
                    const float *g = wk[w].grad;
                    for (size_t k = 0; k < L.n; k++) grad[k] += g[k];
                }
                nn_clip_grad_norm(grad, L.n, 5.0f);
                nn_adam_step(m->p, grad, am, av, L.n, (float)c->learning_rate, 0.9f, 0.999f, 1e-8f,
                             (float)c->weight_decay, ++step);
            }
            st.last_train_loss = loss / (double)n_tr;
            st.epochs = ep + 1;
            tp_log(TP_LOG_INFO, "lookalike train: epoch %d/%d, train log loss %.5f", ep + 1,
                   c->epochs, st.last_train_loss);
        }
    }
    st.train_seconds = tp_now() - t_start;

    // test metrics, and the popularity baseline (keyword CTR on train, smoothed towards the mean)
    if (!(pt = tp_malloc(n_te * sizeof(float))) || !(pb = tp_malloc(n_te * sizeof(float))) ||
        !(yt = tp_malloc(n_te)) || !(kw_pos = tp_calloc((size_t)d->n_keywords, sizeof(double))) ||
        !(kw_n = tp_calloc((size_t)d->n_keywords, sizeof(double))))
        goto nomem;
    for (size_t i = 0; i < n_tr; i++) kw_pos[S[i].cand] += S[i].y, kw_n[S[i].cand] += 1;
    const double prior = (double)st.train_positives / (double)n_tr;
    for (size_t i = 0; i < n_te; i += (size_t)B) {
        int nb = (int)(n_te - i < (size_t)B ? n_te - i : (size_t)B);
        batch_job job = {d, c, m, S + n_tr + i, NULL, nb, P, wk, L.n, 0, pt + i};
        if ((rc = tp_parallel_for((size_t)P, P, batch_chunk, &job))) goto done;
        for (int j = 0; j < nb; j++) {
            const sample *x = &S[n_tr + i + j];
            yt[i + j] = x->y;
            pb[i + j] = (float)((kw_pos[x->cand] + prior) / (kw_n[x->cand] + 1));
        }
    }
    if ((rc = metrics_of(pt, yt, n_te, &st.test_auc, &st.test_logloss)) ||
        (rc = metrics_of(pb, yt, n_te, &st.base_auc, &st.base_logloss)))
        goto done;
    tp_log(TP_LOG_INFO, "lookalike train: test ROC-AUC %.4f (baseline %.4f), log loss %.4f (baseline %.4f)",
           st.test_auc, st.base_auc, st.test_logloss, st.base_logloss);

    if (!model_path) {
        snprintf(path, sizeof path, "%s/model.tpdin", c->out_dir);
        model_path = path;
    }
    if ((rc = tp_din_save(m, model_path))) goto done;
    if ((rc = write_train_stats(c, &st))) goto done;
    if (stats) *stats = st;
    goto done;
nomem:
    rc = tp_fail(TP_ERR_NOMEM, "out of memory training the click model");
done:
    lal_data_free(d);
    tp_din_free(m);
    tp_free(S);
    tp_free(order);
    for (int i = 0; wk && i < P; i++) {
        tp_free(wk[i].grad);
        tp_free(wk[i].ws);
        tp_free(wk[i].y);
        tp_free(wk[i].cand);
        tp_free(wk[i].hist);
        tp_free(wk[i].len);
        tp_free(wk[i].pbuf);
        tp_free(wk[i].ids);
        tp_free(wk[i].perm);
    }
    tp_free(wk);
    tp_free(am);
    tp_free(av);
    tp_free(pt);
    tp_free(pb);
    tp_free(yt);
    tp_free(kw_pos);
    tp_free(kw_n);
    tp_free(ivs);
    return rc;
}

/* shapley.c: Shapley-value attribution. The players are the campaigns that occur in the
 * journeys. Default game (set rates): v(S) = sum of the conversion rates of the observed campaign
 * sets inside S, exact in closed form for any number of campaigns. The pooled-rate game
 * v(S) = C(S) / N(S) and the count game v(S) = C(S) (tp_shapley_game) are exact by a subset-sum
 * (zeta) transform over bitmasks up to shapley_max_exact players, O(2^P P); above that, a
 * permutation-sampling estimate with its standard error. Docs: docs/attribution.md. */
#include "attr_impl.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* P players; D distinct campaign sets T (as sorted player lists) with conv(T) and n(T). */

// ---- distinct campaign sets ----

typedef struct setmap {
    uint32_t *slot;                 /* cap slots: entry index + 1, 0 = empty */
    size_t cap;
    uint64_t *hash, *off, *conv, *n;/* per entry */
    uint32_t *len;
    size_t n_sets, sets_cap;
    uint32_t *members;              /* concatenated sorted player lists */
    size_t n_members, members_cap;
} setmap;

static void setmap_free(setmap *m) {
    tp_free(m->slot);
    tp_free(m->hash);
    tp_free(m->off);
    tp_free(m->conv);
    tp_free(m->n);
    tp_free(m->len);
    tp_free(m->members);
    memset(m, 0, sizeof *m);
}

static tp_status setmap_rehash(setmap *m, size_t cap) {
    uint32_t *slot = tp_calloc(cap, sizeof *slot);
    if (!slot) return tp_fail(TP_ERR_NOMEM, "out of memory for campaign sets");
    for (size_t e = 0; e < m->n_sets; e++) {
        size_t i = (size_t)m->hash[e] & (cap - 1);
        while (slot[i]) i = (i + 1) & (cap - 1);
        slot[i] = (uint32_t)e + 1;
    }
    tp_free(m->slot);
    m->slot = slot;
    m->cap = cap;
    return TP_OK;
}

static tp_status grow_sets(setmap *m) {
    size_t cap = m->sets_cap ? m->sets_cap * 2 : 1024;
    uint64_t **u64s[4] = {&m->hash, &m->off, &m->conv, &m->n};
    for (int q = 0; q < 4; q++) {
        uint64_t *p = tp_realloc(*u64s[q], cap * sizeof **u64s[q]);
        if (!p) return tp_fail(TP_ERR_NOMEM, "out of memory for campaign sets");
        *u64s[q] = p;
    }
    uint32_t *l = tp_realloc(m->len, cap * sizeof *m->len);
    if (!l) return tp_fail(TP_ERR_NOMEM, "out of memory for campaign sets");
    m->len = l;
    m->sets_cap = cap;
    return TP_OK;
}

// Add (conv, n) to the set given as a sorted player list.
static tp_status setmap_add(setmap *m, const uint32_t *set, uint32_t len, uint64_t conv,
                            uint64_t n) {
    if ((m->n_sets + 1) * 2 > m->cap) {
        tp_status rc = setmap_rehash(m, m->cap ? m->cap * 2 : 2048);
        if (rc != TP_OK) return rc;
    }
    uint64_t h = tp_hash_bytes(set, len * sizeof *set, 0x5eed);
    size_t i = (size_t)h & (m->cap - 1);
    for (; m->slot[i]; i = (i + 1) & (m->cap - 1)) {
        size_t e = m->slot[i] - 1;
        if (m->hash[e] == h && m->len[e] == len &&
            memcmp(m->members + m->off[e], set, len * sizeof *set) == 0) {
            m->conv[e] += conv;
            m->n[e] += n;
            return TP_OK;
        }
    }
    if (m->n_sets == m->sets_cap) {
        tp_status rc = grow_sets(m);
        if (rc != TP_OK) return rc;
    }
    tp_status rc = tp_grow((void **)&m->members, &m->members_cap, m->n_members + len + 1,
                           sizeof *m->members);
    if (rc != TP_OK) return rc;
    size_t e = m->n_sets++;
    m->hash[e] = h;
    m->off[e] = m->n_members;
    m->len[e] = len;
    m->conv[e] = conv;
    m->n[e] = n;
    if (len) memcpy(m->members + m->n_members, set, len * sizeof *set);
    m->n_members += len;
    m->slot[i] = (uint32_t)e + 1;
    return TP_OK;
}

typedef struct sets_ctx {
    const tp_journeys *j;
    const int32_t *player; /* campaign -> player */
    setmap *local;         /* per thread */
    uint32_t *buf;         /* per thread: max_len */
    size_t buf_len;
} sets_ctx;

static tp_status sets_range(void *vctx, size_t lo, size_t hi, int tid) {
    sets_ctx *x = vctx;
    const tp_journeys *j = x->j;
    uint32_t *buf = x->buf + (size_t)tid * x->buf_len;
    for (size_t i = lo; i < hi; i++) {
        uint32_t len = 0;
        for (uint64_t t = j->off[i]; t < j->off[i + 1]; t++) {
            uint32_t p = (uint32_t)x->player[j->campaign[t]];
            uint32_t a = len; // insertion into a sorted, duplicate-free list
            while (a > 0 && buf[a - 1] > p) a--;
            if (a > 0 && buf[a - 1] == p) continue;
            memmove(buf + a + 1, buf + a, (len - a) * sizeof *buf);
            buf[a] = p;
            len++;
        }
        if (len == 0) continue;
        tp_status rc = setmap_add(&x->local[tid], buf, len, j->converted[i] ? 1 : 0, 1);
        if (rc != TP_OK) return rc;
    }
    return TP_OK;
}

static tp_status collect_sets(const tp_journeys *j, const int32_t *player, int nt, setmap *out) {
    size_t maxn = 1;
    for (size_t i = 0; i < j->n; i++)
        if (j->off[i + 1] - j->off[i] > maxn) maxn = (size_t)(j->off[i + 1] - j->off[i]);
    sets_ctx x = {.j = j, .player = player, .buf_len = maxn};
    tp_status rc = TP_OK;
    x.local = tp_calloc((size_t)nt, sizeof *x.local);
    x.buf = tp_malloc((size_t)nt * maxn * sizeof *x.buf);
    if (!x.local || !x.buf) {
        rc = tp_fail(TP_ERR_NOMEM, "out of memory for campaign sets");
        goto done;
    }
    rc = tp_parallel_for(j->n, nt, sets_range, &x);
    // Counts are integers, so merging order does not change any total.
    for (int t = 1; t < nt && rc == TP_OK; t++) {
        setmap *s = &x.local[t];
        for (size_t e = 0; e < s->n_sets && rc == TP_OK; e++)
            rc = setmap_add(&x.local[0], s->members + s->off[e], s->len[e], s->conv[e], s->n[e]);
    }
    if (rc == TP_OK) {
        *out = x.local[0];
        memset(&x.local[0], 0, sizeof x.local[0]);
    }
done:
    for (int t = 0; x.local && t < nt; t++) setmap_free(&x.local[t]);
    tp_free(x.local);
    tp_free(x.buf);
    return rc;
}

// ---- exact: zeta transform over 2^P masks ----

typedef struct exact_ctx {
    size_t P;
    const double *v; /* 2^P */
    double *phi;
} exact_ctx;

// phi_i = sum over S not containing i of |S|! (P-|S|-1)! / P! * (v(S + i) - v(S)).
static tp_status exact_range(void *vctx, size_t lo, size_t hi, int tid) {
    exact_ctx *x = vctx;
    size_t P = x->P;
    double w[32];
    // w[s] = 1 / (P * C(P-1, s))
    for (size_t s = 0; s < P; s++) {
        double binom = 1;
        for (size_t q = 0; q < s; q++) binom = binom * (double)(P - 1 - q) / (double)(q + 1);
        w[s] = 1.0 / ((double)P * binom);
    }
    for (size_t i = lo; i < hi; i++) {
        uint64_t bit = UINT64_C(1) << i;
        double acc = 0;
        for (uint64_t S = 0; S < (UINT64_C(1) << P); S++) {
            if (S & bit) continue;
            acc += w[__builtin_popcountll(S)] * (x->v[S | bit] - x->v[S]);
        }
        x->phi[i] = acc;
    }
    return TP_OK;
}

static tp_status shapley_exact(const setmap *sm, size_t P, bool count_game, int nt, double *phi) {
    size_t M = (size_t)1 << P;
    double *cz = tp_calloc(M, sizeof *cz), *nz = tp_calloc(M, sizeof *nz);
    tp_status rc = TP_OK;
    if (!cz || !nz) {
        rc = tp_fail(TP_ERR_NOMEM, "out of memory for exact Shapley over %zu campaigns", P);
        goto done;
    }
    for (size_t e = 0; e < sm->n_sets; e++) {
        uint64_t mask = 0;
        for (uint32_t q = 0; q < sm->len[e]; q++) mask |= UINT64_C(1) << sm->members[sm->off[e] + q];
        cz[mask] += (double)sm->conv[e];
        nz[mask] += (double)sm->n[e];
    }
    // Subset sums: afterwards cz[S] = C(S), nz[S] = N(S). Integer-valued, so exact below 2^53.
    for (size_t b = 0; b < P; b++) {
        size_t bit = (size_t)1 << b;
        for (size_t S = 0; S < M; S++) {
            if (!(S & bit)) continue;
            cz[S] += cz[S ^ bit];
            nz[S] += nz[S ^ bit];
        }
    }
    if (!count_game) // v(S), in place
        for (size_t S = 0; S < M; S++) cz[S] = nz[S] > 0 ? cz[S] / nz[S] : 0;
    exact_ctx x = {P, cz, phi};
    rc = tp_parallel_for(P, nt, exact_range, &x);
done:
    tp_free(cz);
    tp_free(nz);
    return rc;
}

// ---- set rates: a sum of unanimity games, exact for any P ----

/* v(S) = sum over observed sets T within S of CR(T). Each term is CR(T) times the unanimity game
 * of T, whose Shapley value gives CR(T) / |T| to each member of T (and 0 to the others). Sets are
 * visited in first-seen order, which is fixed by the data and the thread count. Returns v(all). */
static double shapley_set_rates(const setmap *sm, double *phi) {
    double total = 0;
    for (size_t e = 0; e < sm->n_sets; e++) {
        if (!sm->n[e]) continue;
        double rate = (double)sm->conv[e] / (double)sm->n[e];
        total += rate;
        for (uint32_t q = 0; q < sm->len[e]; q++) phi[sm->members[sm->off[e] + q]] += rate / sm->len[e];
    }
    return total;
}

// ---- sampling: random permutations ----

/* The sets laid out for streaming, once per run: singletons folded into per-player totals, the
 * rest grouped by size (block b holds sets of size b + 2) with 16-bit members and 32-bit
 * counts, so one permutation reads a few bytes per set. */
typedef struct compact {
    uint64_t *conv1, *n1;       /* P: singleton sets */
    size_t n_blocks;
    size_t *count;              /* per block: sets */
    uint16_t **mem;             /* per block: count * size members */
    uint32_t **conv, **n;       /* per block: count */
} compact;

static void compact_free(compact *k) {
    for (size_t b = 0; b < k->n_blocks; b++) {
        tp_free(k->mem[b]);
        tp_free(k->conv[b]);
        tp_free(k->n[b]);
    }
    tp_free(k->mem);
    tp_free(k->conv);
    tp_free(k->n);
    tp_free(k->count);
    tp_free(k->conv1);
    tp_free(k->n1);
    memset(k, 0, sizeof *k);
}

static tp_status compact_build(const setmap *sm, size_t P, compact *k) {
    memset(k, 0, sizeof *k);
    if (P > 65535)
        return tp_fail(TP_ERR_UNSUPPORTED, "Shapley sampling supports up to 65535 campaigns, got %zu", P);
    size_t maxlen = 1;
    for (size_t e = 0; e < sm->n_sets; e++) {
        if (sm->len[e] > maxlen) maxlen = sm->len[e];
        if (sm->n[e] > UINT32_MAX)
            return tp_fail(TP_ERR_UNSUPPORTED, "a campaign set occurs more than 2^32 times");
    }
    k->n_blocks = maxlen - 1;
    k->conv1 = tp_calloc(P, sizeof *k->conv1);
    k->n1 = tp_calloc(P, sizeof *k->n1);
    k->count = tp_calloc(k->n_blocks + 1, sizeof *k->count);
    k->mem = tp_calloc(k->n_blocks + 1, sizeof *k->mem);
    k->conv = tp_calloc(k->n_blocks + 1, sizeof *k->conv);
    k->n = tp_calloc(k->n_blocks + 1, sizeof *k->n);
    if (!k->conv1 || !k->n1 || !k->count || !k->mem || !k->conv || !k->n) goto oom;
    for (size_t e = 0; e < sm->n_sets; e++)
        if (sm->len[e] >= 2) k->count[sm->len[e] - 2]++;
    for (size_t b = 0; b < k->n_blocks; b++) {
        size_t c = k->count[b] ? k->count[b] : 1;
        k->mem[b] = tp_malloc(c * (b + 2) * sizeof **k->mem);
        k->conv[b] = tp_malloc(c * sizeof **k->conv);
        k->n[b] = tp_malloc(c * sizeof **k->n);
        if (!k->mem[b] || !k->conv[b] || !k->n[b]) goto oom;
        k->count[b] = 0;
    }
    for (size_t e = 0; e < sm->n_sets; e++) {
        const uint32_t *m = sm->members + sm->off[e];
        if (sm->len[e] == 1) {
            k->conv1[m[0]] += sm->conv[e];
            k->n1[m[0]] += sm->n[e];
            continue;
        }
        size_t b = sm->len[e] - 2, i = k->count[b]++;
        for (uint32_t q = 0; q < sm->len[e]; q++) k->mem[b][i * (b + 2) + q] = (uint16_t)m[q];
        k->conv[b][i] = (uint32_t)sm->conv[e];
        k->n[b][i] = (uint32_t)sm->n[e];
    }
    return TP_OK;
oom:
    compact_free(k);
    return tp_fail(TP_ERR_NOMEM, "out of memory laying out %zu campaign sets", sm->n_sets);
}

typedef struct sample_ctx {
    const compact *k;
    size_t P;
    uint64_t seed;
    bool count_game;
    double *sum, *sumsq;   /* per thread: P */
    uint32_t *perm, *rank; /* per thread: P */
    uint64_t *stepc, *stepn; /* per thread: P */
    tp_progress *progress;
} sample_ctx;

// One permutation: set T joins the coalition when its last member (in permutation order) does,
// so C and N of every prefix are prefix sums of per-step totals; player perm[i] contributes
// v(prefix_i) - v(prefix_{i-1}). The contributions of one permutation sum to v(all).
static tp_status sample_range(void *vctx, size_t lo, size_t hi, int tid) {
    sample_ctx *x = vctx;
    const compact *k = x->k;
    size_t P = x->P;
    double *sum = x->sum + (size_t)tid * P, *sumsq = x->sumsq + (size_t)tid * P;
    uint32_t *perm = x->perm + (size_t)tid * P, *rank = x->rank + (size_t)tid * P;
    uint64_t *sc = x->stepc + (size_t)tid * P, *sn = x->stepn + (size_t)tid * P;
    for (size_t m = lo; m < hi; m++) {
        tp_rng rng;
        tp_rng_seed_stream(&rng, x->seed, m); // the sample's own stream: same on any thread count
        for (size_t i = 0; i < P; i++) perm[i] = (uint32_t)i;
        for (size_t i = P; i > 1; i--) { // Fisher-Yates
            size_t r = (size_t)tp_rng_below(&rng, i);
            uint32_t t = perm[i - 1];
            perm[i - 1] = perm[r];
            perm[r] = t;
        }
        for (size_t i = 0; i < P; i++) rank[perm[i]] = (uint32_t)i;
        for (size_t i = 0; i < P; i++) {
            sc[rank[i]] = k->conv1[i];
            sn[rank[i]] = k->n1[i];
        }
        for (size_t b = 0; b < k->n_blocks; b++) {
            size_t len = b + 2, cnt = k->count[b];
            const uint16_t *mem = k->mem[b];
            const uint32_t *cv = k->conv[b], *nn = k->n[b];
            if (len == 2) { // the common sizes unrolled, with branch-free maxima
                for (size_t e = 0; e < cnt; e++, mem += 2) {
                    uint32_t a = rank[mem[0]], c = rank[mem[1]];
                    uint32_t top = a > c ? a : c;
                    sc[top] += cv[e];
                    sn[top] += nn[e];
                }
                continue;
            }
            if (len == 3) {
                for (size_t e = 0; e < cnt; e++, mem += 3) {
                    uint32_t a = rank[mem[0]], c = rank[mem[1]], d = rank[mem[2]];
                    uint32_t top = a > c ? a : c;
                    top = top > d ? top : d;
                    sc[top] += cv[e];
                    sn[top] += nn[e];
                }
                continue;
            }
            for (size_t e = 0; e < cnt; e++, mem += len) {
                uint32_t top = rank[mem[0]];
                for (size_t q = 1; q < len; q++) {
                    uint32_t a = rank[mem[q]];
                    top = a > top ? a : top;
                }
                sc[top] += cv[e];
                sn[top] += nn[e];
            }
        }
        uint64_t cc = 0, cn = 0;
        double vprev = 0;
        for (size_t i = 0; i < P; i++) {
            cc += sc[i];
            cn += sn[i];
            double v = x->count_game ? (double)cc : cn > 0 ? (double)cc / (double)cn : 0;
            double d = v - vprev;
            sum[perm[i]] += d;
            sumsq[perm[i]] += d * d;
            vprev = v;
        }
        tp_progress_add(x->progress, 1);
    }
    return TP_OK;
}

static tp_status shapley_sample(const setmap *sm, size_t P, const tp_attr_opts *o, int nt,
                                double *phi, double *se) {
    size_t Ms = o->shapley_samples;
    if ((size_t)nt > Ms) nt = (int)Ms;
    compact k;
    tp_status rc = compact_build(sm, P, &k);
    if (rc != TP_OK) return rc;
    sample_ctx x = {.k = &k, .P = P, .seed = o->seed,
                    .count_game = o->shapley_game == TP_SHAPLEY_COUNT};
    size_t sz = (size_t)nt * P;
    x.sum = tp_calloc(sz, sizeof *x.sum);
    x.sumsq = tp_calloc(sz, sizeof *x.sumsq);
    x.stepc = tp_malloc(sz * sizeof *x.stepc);
    x.stepn = tp_malloc(sz * sizeof *x.stepn);
    x.perm = tp_malloc(sz * sizeof *x.perm);
    x.rank = tp_malloc(sz * sizeof *x.rank);
    if (!x.sum || !x.sumsq || !x.stepc || !x.stepn || !x.perm || !x.rank) {
        rc = tp_fail(TP_ERR_NOMEM, "out of memory for Shapley sampling over %zu campaigns", P);
        goto done;
    }
    x.progress = tp_progress_begin("shapley permutations", Ms, "permutations");
    rc = tp_parallel_for(Ms, nt, sample_range, &x);
    tp_progress_end(x.progress);
    if (rc != TP_OK) goto done;
    for (size_t i = 0; i < P; i++) {
        double s = 0, s2 = 0;
        for (int t = 0; t < nt; t++) { // reduce in chunk order
            s += x.sum[(size_t)t * P + i];
            s2 += x.sumsq[(size_t)t * P + i];
        }
        double mean = s / (double)Ms;
        double var = (s2 - s * mean) / (double)(Ms - 1); // sample variance of one contribution
        phi[i] = mean;
        se[i] = var > 0 ? sqrt(var / (double)Ms) : 0;
    }
done:
    compact_free(&k);
    tp_free(x.sum);
    tp_free(x.sumsq);
    tp_free(x.stepc);
    tp_free(x.stepn);
    tp_free(x.perm);
    tp_free(x.rank);
    return rc;
}

tp_status attr_shapley(const tp_journeys *j, const tp_attr_opts *o, tp_credit *c) {
    size_t C = j->n_campaigns, P = 0;
    int nt = attr_threads(o);
    int32_t *player = tp_malloc((C ? C : 1) * sizeof *player);
    uint32_t *campaign_of = tp_malloc((C ? C : 1) * sizeof *campaign_of);
    double *phi = NULL, *se = NULL;
    setmap sm = {0};
    tp_status rc = TP_OK;
    if (!player || !campaign_of) {
        rc = tp_fail(TP_ERR_NOMEM, "out of memory for Shapley players");
        goto done;
    }
    for (size_t k = 0; k < C; k++) player[k] = -1;
    for (size_t t = 0; t < j->n_touches; t++) player[j->campaign[t]] = -2; // present
    for (size_t k = 0; k < C; k++) { // players numbered in campaign (name) order
        if (player[k] != -2) continue;
        player[k] = (int32_t)P;
        campaign_of[P++] = (uint32_t)k;
    }
    rc = collect_sets(j, player, nt, &sm);
    if (rc != TP_OK) goto done;
    phi = tp_calloc(P ? P : 1, sizeof *phi);
    se = tp_calloc(P ? P : 1, sizeof *se);
    if (!phi || !se) {
        rc = tp_fail(TP_ERR_NOMEM, "out of memory for Shapley values");
        goto done;
    }
    uint64_t conv = 0, all = 0;
    for (size_t e = 0; e < sm.n_sets; e++) {
        conv += sm.conv[e];
        all += sm.n[e];
    }
    c->base_rate = o->shapley_game == TP_SHAPLEY_COUNT ? (double)conv
                   : all ? (double)conv / (double)all : 0;
    if (P == 0) goto done;
    if (o->shapley_game == TP_SHAPLEY_SET_RATES) {
        c->base_rate = shapley_set_rates(&sm, phi);
        c->n_samples = 0;
    } else if (P <= (size_t)o->shapley_max_exact) {
        rc = shapley_exact(&sm, P, o->shapley_game == TP_SHAPLEY_COUNT, nt, phi);
        c->n_samples = 0;
    } else {
        c->std_error = tp_calloc(C, sizeof *c->std_error);
        if (!c->std_error) {
            rc = tp_fail(TP_ERR_NOMEM, "out of memory for Shapley standard errors");
            goto done;
        }
        rc = shapley_sample(&sm, P, o, nt, phi, se);
        c->n_samples = o->shapley_samples;
    }
    if (rc != TP_OK) goto done;
    for (size_t i = 0; i < P; i++) {
        c->weight[campaign_of[i]] = phi[i];
        if (c->std_error) c->std_error[campaign_of[i]] = se[i];
    }
done:
    setmap_free(&sm);
    tp_free(player);
    tp_free(campaign_of);
    tp_free(phi);
    tp_free(se);
    return rc;
}

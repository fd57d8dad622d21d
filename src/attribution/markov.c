/* markov.c: Markov-chain attribution of order k (1..4). States are the last k touches (fewer at
 * the start of a journey) plus start, conversion and null; transition probabilities are counted
 * over all journeys. P(conversion) and every removal effect 1 - P(conv | c removed) / P(conv)
 * are computed exactly by solving the absorbing chain (dense LU when small, Gauss-Seidel to
 * machine precision otherwise), never by simulation. Docs: docs/attribution.md. */
#include "attr_impl.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* S transient states, ids in key order (see chain_build). */

// ---- open-addressing hash map: u64 key -> two u64 payloads ----

#define EMPTY_KEY UINT64_MAX

typedef struct hmap {
    uint64_t *key, *a, *b;
    size_t cap, n; /* cap is a power of two */
    bool direct;   /* small key spaces: a and b indexed by the key itself, key[] unused; a slot
                      is used when a != 0 (every add has da > 0) */
} hmap;

#define DIRECT_STATES (1u << 18) /* state key spaces up to this size are indexed directly */
#define DIRECT_EDGES (1u << 20)  /* likewise (S+1)(S+2) transition keys */

static void hmap_free(hmap *m) {
    tp_free(m->key);
    tp_free(m->a);
    tp_free(m->b);
    memset(m, 0, sizeof *m);
}

static tp_status hmap_init(hmap *m, size_t expect) {
    memset(m, 0, sizeof *m);
    size_t cap = 64;
    while (cap < expect * 2) cap *= 2;
    m->cap = cap;
    m->n = 0;
    m->key = tp_malloc(cap * sizeof *m->key);
    m->a = tp_calloc(cap, sizeof *m->a);
    m->b = tp_calloc(cap, sizeof *m->b);
    if (!m->key || !m->a || !m->b) {
        hmap_free(m);
        return tp_fail(TP_ERR_NOMEM, "out of memory for a Markov hash table of %zu slots", cap);
    }
    memset(m->key, 0xff, cap * sizeof *m->key);
    return TP_OK;
}

static tp_status hmap_init_direct(hmap *m, size_t space) {
    memset(m, 0, sizeof *m);
    m->direct = true;
    m->cap = space ? space : 1;
    m->a = tp_calloc(m->cap, sizeof *m->a);
    m->b = tp_calloc(m->cap, sizeof *m->b);
    if (!m->a || !m->b) {
        hmap_free(m);
        return tp_fail(TP_ERR_NOMEM, "out of memory for a Markov table of %zu entries", space);
    }
    return TP_OK;
}

// Slot s in use? Its key through *key.
static inline bool hmap_used(const hmap *m, size_t s, uint64_t *key) {
    if (m->direct) {
        *key = s;
        return m->a[s] != 0;
    }
    *key = m->key[s];
    return m->key[s] != EMPTY_KEY;
}

static inline size_t hmap_find(const hmap *m, uint64_t key) {
    if (m->direct) return (size_t)key;
    size_t mask = m->cap - 1, i = (size_t)tp_hash_u64(key) & mask;
    while (m->key[i] != key && m->key[i] != EMPTY_KEY) i = (i + 1) & mask;
    return i;
}

static tp_status hmap_add(hmap *m, uint64_t key, uint64_t da, uint64_t db) {
    if (m->direct) {
        m->n += m->a[key] == 0;
        m->a[key] += da;
        m->b[key] += db;
        return TP_OK;
    }
    size_t i = hmap_find(m, key);
    if (m->key[i] == EMPTY_KEY) {
        if ((m->n + 1) * 2 > m->cap) {
            hmap big;
            tp_status rc = hmap_init(&big, m->cap);
            if (rc != TP_OK) return rc;
            for (size_t s = 0; s < m->cap; s++) {
                if (m->key[s] == EMPTY_KEY) continue;
                size_t d = hmap_find(&big, m->key[s]);
                big.key[d] = m->key[s];
                big.a[d] = m->a[s];
                big.b[d] = m->b[s];
            }
            big.n = m->n;
            hmap_free(m);
            *m = big;
            i = hmap_find(m, key);
        }
        m->key[i] = key;
        m->n++;
    }
    m->a[i] += da;
    m->b[i] += db;
    return TP_OK;
}

static tp_status hmap_merge(hmap *dst, const hmap *src) {
    for (size_t s = 0; s < src->cap; s++) {
        uint64_t key;
        if (!hmap_used(src, s, &key)) continue;
        tp_status rc = hmap_add(dst, key, src->a[s], src->b[s]);
        if (rc != TP_OK) return rc;
    }
    return TP_OK;
}

// ---- the chain ----

typedef struct chain {
    size_t S;          /* transient states */
    uint64_t B;        /* digit base of state keys (n_campaigns + 1) */
    uint64_t *skey;    /* per state: its key (base-B digits, newest least significant) */
    uint64_t *row;     /* S+1 offsets into col/p: transitions to other transient states */
    uint32_t *col;
    double *p;
    double *diag;      /* self-loop probability */
    double *pconv;     /* probability of converting next */
    double *pstart;    /* S: probability that a journey starts in the state */
    double pstart_conv;
    uint64_t *cstate_off; /* n_campaigns+1 offsets: states containing campaign c */
    uint32_t *cstate;
} chain;

static void chain_free(chain *ch) {
    tp_free(ch->skey);
    tp_free(ch->row);
    tp_free(ch->col);
    tp_free(ch->p);
    tp_free(ch->diag);
    tp_free(ch->pconv);
    tp_free(ch->pstart);
    tp_free(ch->cstate_off);
    tp_free(ch->cstate);
}

typedef struct build_ctx {
    const tp_journeys *j;
    uint64_t B, mod;   /* digit base (n_campaigns + 1) and B^(k-1) */
    uint64_t space;    /* direct tables: key space size, 0 = hash tables */
    hmap *local;       /* per thread */
    const hmap *ids;   /* state key -> id (in a) */
    uint64_t S;
} build_ctx;

static inline uint64_t next_key(const build_ctx *x, uint64_t key, int32_t c) {
    return (key % x->mod) * x->B + (uint64_t)c + 1;
}

// Phase A: occurrences per state key.
static tp_status count_states(void *vctx, size_t lo, size_t hi, int tid) {
    build_ctx *x = vctx;
    const tp_journeys *j = x->j;
    hmap *m = &x->local[tid];
    for (size_t i = lo; i < hi; i++) {
        uint64_t key = 0;
        for (uint64_t t = j->off[i]; t < j->off[i + 1]; t++) {
            key = next_key(x, key, j->campaign[t]);
            tp_status rc = hmap_add(m, key, 1, 0);
            if (rc != TP_OK) return rc;
        }
    }
    return TP_OK;
}

// Phase B: transition counts keyed from * (S+2) + to; from S = start, to S = conv, S+1 = null.
static tp_status count_edges(void *vctx, size_t lo, size_t hi, int tid) {
    build_ctx *x = vctx;
    const tp_journeys *j = x->j;
    hmap *m = &x->local[tid];
    for (size_t i = lo; i < hi; i++) {
        if (j->off[i + 1] == j->off[i]) continue;
        uint64_t key = 0, prev = x->S;
        for (uint64_t t = j->off[i]; t < j->off[i + 1]; t++) {
            key = next_key(x, key, j->campaign[t]);
            uint64_t id = x->ids->a[hmap_find(x->ids, key)];
            tp_status rc = hmap_add(m, prev * (x->S + 2) + id, 1, 0);
            if (rc != TP_OK) return rc;
            prev = id;
        }
        tp_status rc = hmap_add(m, prev * (x->S + 2) + (j->converted[i] ? x->S : x->S + 1), 1, 0);
        if (rc != TP_OK) return rc;
    }
    return TP_OK;
}

typedef struct state_rank {
    uint64_t key;
    uint64_t suffix; /* the newest k-1 touches: they alone fix the state's successors */
} state_rank;

static int cmp_suffix(const void *pa, const void *pb) {
    const state_rank *a = pa, *b = pb;
    if (a->suffix != b->suffix) return a->suffix < b->suffix ? -1 : 1;
    return a->key < b->key ? -1 : a->key > b->key;
}

typedef struct edge {
    uint64_t key, count;
} edge;

static int cmp_edge(const void *pa, const void *pb) {
    const edge *a = pa, *b = pb;
    return a->key < b->key ? -1 : a->key > b->key;
}

static tp_status run_counting(build_ctx *x, int nt, tp_range_fn fn, size_t expect, hmap *out) {
    tp_status rc = TP_OK;
    x->local = tp_calloc((size_t)nt, sizeof *x->local);
    if (!x->local) return tp_fail(TP_ERR_NOMEM, "out of memory");
    for (int t = 0; t < nt && rc == TP_OK; t++)
        rc = x->space ? hmap_init_direct(&x->local[t], x->space) : hmap_init(&x->local[t], expect);
    if (rc == TP_OK) rc = tp_parallel_for(x->j->n, nt, fn, x);
    // Merge in thread order; the payloads are integer counts, so the result does not depend on it.
    for (int t = 1; t < nt && rc == TP_OK; t++) rc = hmap_merge(&x->local[0], &x->local[t]);
    if (rc == TP_OK) {
        *out = x->local[0];
        memset(&x->local[0], 0, sizeof x->local[0]);
    }
    for (int t = 0; t < nt; t++) hmap_free(&x->local[t]);
    tp_free(x->local);
    x->local = NULL;
    return rc;
}

static tp_status chain_build(const tp_journeys *j, int k, int nt, chain *ch) {
    memset(ch, 0, sizeof *ch);
    size_t C = j->n_campaigns;
    uint64_t B = (uint64_t)C + 1, mod = 1;
    for (int q = 1; q < k; q++) {
        if (mod > (UINT64_C(1) << 62) / B / B)
            return tp_fail(TP_ERR_UNSUPPORTED,
                           "Markov order %d over %zu campaigns: state keys do not fit 64 bits "
                           "(use a lower order)", k, C);
        mod *= B;
    }
    hmap states = {0}, ids = {0}, edges = {0};
    state_rank *rank = NULL;
    edge *ev = NULL;
    tp_status rc;
    build_ctx x = {.j = j, .B = B, .mod = mod};

    x.space = mod <= DIRECT_STATES / B ? mod * B : 0;
    rc = run_counting(&x, nt, count_states, 1024, &states);
    if (rc != TP_OK) goto done;
    size_t S = states.n;
    if (S >= (UINT64_C(1) << 31) - 2) {
        rc = tp_fail(TP_ERR_UNSUPPORTED, "Markov chain with %zu states is too large", S);
        goto done;
    }
    rank = tp_malloc((S ? S : 1) * sizeof *rank);
    if (!rank) {
        rc = tp_fail(TP_ERR_NOMEM, "out of memory for %zu Markov states", S);
        goto done;
    }
    for (size_t s = 0, r = 0; s < states.cap; s++) {
        uint64_t key;
        if (!hmap_used(&states, s, &key)) continue;
        rank[r].key = key;
        rank[r].suffix = key % mod;
        r++;
    }
    /* Layout for cache locality: ids grouped by suffix (the newest k-1 touches), and sweeps go
     * in id order. The states of one group have the same successors, so consecutive rows of a
     * sweep read the same few cached rows of the solution instead of missing all over it. */
    qsort(rank, S, sizeof *rank, cmp_suffix);
    rc = x.space ? hmap_init_direct(&ids, x.space) : hmap_init(&ids, S);
    if (rc != TP_OK) goto done;
    ch->S = S;
    ch->B = B;
    ch->skey = tp_malloc((S ? S : 1) * sizeof *ch->skey);
    if (!ch->skey) {
        rc = tp_fail(TP_ERR_NOMEM, "out of memory for %zu Markov states", S);
        goto done;
    }
    for (size_t s = 0; s < S; s++) {
        ch->skey[s] = rank[s].key;
        if ((rc = hmap_add(&ids, rank[s].key, s, 0)) != TP_OK) goto done;
    }

    x.ids = &ids;
    x.S = S;
    x.space = (S + 1) * (S + 2) <= DIRECT_EDGES ? (S + 1) * (S + 2) : 0;
    rc = run_counting(&x, nt, count_edges, 4 * S + 1024, &edges);
    if (rc != TP_OK) goto done;

    size_t E = edges.n;
    ev = tp_malloc((E ? E : 1) * sizeof *ev);
    ch->row = tp_calloc(S + 1, sizeof *ch->row);
    ch->col = tp_malloc((E ? E : 1) * sizeof *ch->col);
    ch->p = tp_malloc((E ? E : 1) * sizeof *ch->p);
    ch->diag = tp_calloc(S ? S : 1, sizeof *ch->diag);
    ch->pconv = tp_calloc(S ? S : 1, sizeof *ch->pconv);
    ch->pstart = tp_calloc(S ? S : 1, sizeof *ch->pstart);
    ch->cstate_off = tp_calloc(C + 1, sizeof *ch->cstate_off);
    if (!ev || !ch->row || !ch->col || !ch->p || !ch->diag || !ch->pconv || !ch->pstart ||
        !ch->cstate_off) {
        rc = tp_fail(TP_ERR_NOMEM, "out of memory for %zu Markov transitions", E);
        goto done;
    }
    for (size_t s = 0, r = 0; s < edges.cap; s++) {
        uint64_t key;
        if (!hmap_used(&edges, s, &key)) continue;
        ev[r].key = key;
        ev[r].count = edges.a[s];
        r++;
    }
    qsort(ev, E, sizeof *ev, cmp_edge);
    // Rows in order of source id: transient states 0..S-1, then start (S).
    size_t nnz = 0;
    for (size_t e = 0; e < E;) {
        uint64_t from = ev[e].key / (S + 2);
        size_t f = e;
        uint64_t total = 0;
        while (f < E && ev[f].key / (S + 2) == from) total += ev[f++].count;
        for (size_t g = e; g < f; g++) {
            uint64_t to = ev[g].key % (S + 2);
            double pr = (double)ev[g].count / (double)total;
            if (from == S) {
                if (to < S) ch->pstart[to] = pr;
                else if (to == S) ch->pstart_conv = pr;
            } else if (to == S) {
                ch->pconv[from] = pr;
            } else if (to == from) {
                ch->diag[from] = pr;
            } else if (to < S) {
                ch->col[nnz] = (uint32_t)to;
                ch->p[nnz] = pr;
                nnz++;
            }
        }
        if (from < S) ch->row[from + 1] = nnz;
        e = f;
    }
    for (size_t s = 0; s < S; s++) // states are sources in order, but fill rows with no edges
        if (ch->row[s + 1] < ch->row[s]) ch->row[s + 1] = ch->row[s];

    // Campaign -> states containing it (each state listed once per distinct campaign).
    for (int pass = 0; pass < 2; pass++) {
        for (size_t s = 0; s < S; s++) {
            int32_t seen[4];
            int ns = 0;
            for (uint64_t key = ch->skey[s]; key; key /= B) {
                int32_t c = (int32_t)(key % B) - 1;
                int dup = 0;
                for (int q = 0; q < ns; q++) dup |= seen[q] == c;
                if (dup) continue;
                seen[ns++] = c;
                if (pass == 0) ch->cstate_off[c + 1]++;
                else ch->cstate[ch->cstate_off[c]++] = (uint32_t)s;
            }
        }
        if (pass == 0) {
            for (size_t c = 0; c < C; c++) ch->cstate_off[c + 1] += ch->cstate_off[c];
            ch->cstate = tp_malloc((ch->cstate_off[C] ? ch->cstate_off[C] : 1) * sizeof *ch->cstate);
            if (!ch->cstate) {
                rc = tp_fail(TP_ERR_NOMEM, "out of memory for the Markov state index");
                goto done;
            }
        } else {
            for (size_t c = C; c > 0; c--) ch->cstate_off[c] = ch->cstate_off[c - 1];
            ch->cstate_off[0] = 0;
        }
    }
done:
    hmap_free(&states);
    hmap_free(&ids);
    hmap_free(&edges);
    tp_free(rank);
    tp_free(ev);
    if (rc != TP_OK) chain_free(ch);
    return rc;
}

// ---- solvers: h(s) = P(conversion | in state s), removed states fixed at 0 ----

#define GS_MAX_SWEEPS 200000

// Gauss-Seidel from the given h; stops when the a-posteriori error bound
// |change| * rho / (1 - rho) (rho estimated from successive changes) falls below 1e-15,
// or the change itself is at the rounding floor.
static tp_status solve_gs(const chain *ch, const uint8_t *removed, double *h) {
    double prev = 0;
    for (int it = 0; it < GS_MAX_SWEEPS; it++) {
        double delta = 0;
        for (size_t s = 0; s < ch->S; s++) {
            if (removed && removed[s]) continue;
            double acc = ch->pconv[s];
            for (uint64_t e = ch->row[s]; e < ch->row[s + 1]; e++) acc += ch->p[e] * h[ch->col[e]];
            double v = acc / (1 - ch->diag[s]);
            double d = fabs(v - h[s]);
            if (d > delta) delta = d;
            h[s] = v;
        }
        if (delta <= 1e-16) return TP_OK; // at the rounding floor of values in [0, 1]
        if (it >= 2 && prev > 0) {
            double rho = delta / prev;
            if (rho < 1 && delta * rho / (1 - rho) <= 1e-15) return TP_OK;
        }
        prev = delta;
    }
    return tp_fail(TP_ERR_INTERNAL,
                   "Markov chain solve did not converge in %d Gauss-Seidel sweeps (%zu states)",
                   GS_MAX_SWEEPS, ch->S);
}

// Direct solve of (I - Q) h = pconv with partial pivoting; A is S*S scratch.
static void solve_dense(const chain *ch, const uint8_t *removed, double *A, double *h) {
    size_t S = ch->S;
    memset(A, 0, S * S * sizeof *A);
    for (size_t s = 0; s < S; s++) {
        double *r = A + s * S;
        r[s] = 1;
        if (removed && removed[s]) {
            h[s] = 0;
            continue;
        }
        r[s] -= ch->diag[s];
        for (uint64_t e = ch->row[s]; e < ch->row[s + 1]; e++) r[ch->col[e]] -= ch->p[e];
        h[s] = ch->pconv[s];
    }
    for (size_t c = 0; c < S; c++) {
        size_t piv = c;
        for (size_t r = c + 1; r < S; r++)
            if (fabs(A[r * S + c]) > fabs(A[piv * S + c])) piv = r;
        if (piv != c) {
            for (size_t q = 0; q < S; q++) {
                double t = A[c * S + q];
                A[c * S + q] = A[piv * S + q];
                A[piv * S + q] = t;
            }
            double t = h[c];
            h[c] = h[piv];
            h[piv] = t;
        }
        double d = A[c * S + c];
        for (size_t r = c + 1; r < S; r++) {
            double f = A[r * S + c] / d;
            if (f == 0) continue;
            for (size_t q = c; q < S; q++) A[r * S + q] -= f * A[c * S + q];
            h[r] -= f * h[c];
        }
    }
    for (size_t c = S; c-- > 0;) {
        double acc = h[c];
        for (size_t q = c + 1; q < S; q++) acc -= A[c * S + q] * h[q];
        h[c] = acc / A[c * S + c];
    }
}

// Order 1, where removing c removes exactly one state (c's own). With N = (I - Q)^-1:
// h = N pconv; the expected visits to c from start are V_c = (pstart^T N)_c, and the chance to
// ever visit c is f_c = V_c / N_cc (a visit is followed by N_cc visits on average). Paths that
// never visit c are untouched by its removal, so P(conv | c removed) = P - f_c h_c.
// One O(S^3) Gauss-Jordan inversion gives every removal effect. A is S*S scratch.
static tp_status removals_order1(const chain *ch, double *A, double *h, double *p_removed_state) {
    size_t S = ch->S;
    double *inv = tp_calloc(S * S, sizeof *inv);
    if (!inv) return tp_fail(TP_ERR_NOMEM, "out of memory inverting a %zu-state chain", S);
    memset(A, 0, S * S * sizeof *A);
    for (size_t s = 0; s < S; s++) {
        A[s * S + s] = 1 - ch->diag[s];
        for (uint64_t e = ch->row[s]; e < ch->row[s + 1]; e++) A[s * S + ch->col[e]] -= ch->p[e];
        inv[s * S + s] = 1;
    }
    for (size_t c = 0; c < S; c++) {
        size_t piv = c;
        for (size_t r = c + 1; r < S; r++)
            if (fabs(A[r * S + c]) > fabs(A[piv * S + c])) piv = r;
        if (piv != c) {
            for (size_t q = 0; q < S; q++) {
                double t = A[c * S + q];
                A[c * S + q] = A[piv * S + q];
                A[piv * S + q] = t;
                t = inv[c * S + q];
                inv[c * S + q] = inv[piv * S + q];
                inv[piv * S + q] = t;
            }
        }
        double d = 1 / A[c * S + c];
        for (size_t q = 0; q < S; q++) {
            A[c * S + q] *= d;
            inv[c * S + q] *= d;
        }
        for (size_t r = 0; r < S; r++) {
            double f = A[r * S + c];
            if (r == c || f == 0) continue;
            for (size_t q = 0; q < S; q++) {
                A[r * S + q] -= f * A[c * S + q];
                inv[r * S + q] -= f * inv[c * S + q];
            }
        }
    }
    for (size_t s = 0; s < S; s++) {
        double acc = 0;
        for (size_t q = 0; q < S; q++) acc += inv[s * S + q] * ch->pconv[q];
        h[s] = acc;
    }
    double P = ch->pstart_conv;
    for (size_t s = 0; s < S; s++) P += ch->pstart[s] * h[s];
    for (size_t c = 0; c < S; c++) {
        double v = 0;
        for (size_t s = 0; s < S; s++) v += ch->pstart[s] * inv[s * S + c];
        p_removed_state[c] = P - v / inv[c * S + c] * h[c];
    }
    tp_free(inv);
    return TP_OK;
}

static double p_conversion(const chain *ch, const double *h) {
    double p = ch->pstart_conv;
    for (size_t s = 0; s < ch->S; s++) p += ch->pstart[s] * h[s];
    return p;
}

// ---- many removals at once: Gauss-Seidel on a block of W right-hand sides ----

/* Column q of the S x W block H holds h for "campaign cols[q] removed". One sweep reads each
 * transition once and updates all W columns (a short fixed-length loop the compiler
 * vectorises), which is what makes hundreds of removals affordable at order 2 and above.
 * Each column follows exactly the single-removal Gauss-Seidel iteration; a block stops when its
 * largest change passes the same error bound as solve_gs. Blocks are fixed by the campaign
 * list alone, so results do not depend on the thread count. */
#define W 32

typedef struct block_ctx {
    const chain *ch;
    const double *h_full;
    const uint32_t *todo;
    size_t n_todo;
    double *p_removed;
    double *H;          /* per thread: S * W */
    int16_t *colmap;    /* per thread: n_campaigns + 1, campaign -> column or -1 */
    size_t n_campaigns;
    tp_progress *progress;
} block_ctx;

static tp_status block_range(void *vctx, size_t lo, size_t hi, int tid) {
    block_ctx *x = vctx;
    const chain *ch = x->ch;
    size_t S = ch->S;
    double *H = x->H + (size_t)tid * S * W;
    int16_t *colmap = x->colmap + (size_t)tid * (x->n_campaigns + 1);
    for (size_t blk = lo; blk < hi; blk++) {
        size_t q0 = blk * W, nq = x->n_todo - q0 < W ? x->n_todo - q0 : W;
        for (size_t q = 0; q < nq; q++) colmap[x->todo[q0 + q]] = (int16_t)q;
        // Warm start from the full solution with the removed states at 0 (monotone from above).
        for (size_t s = 0; s < S; s++) {
            double *Hs = H + s * W;
            for (int q = 0; q < W; q++) Hs[q] = x->h_full[s];
            for (uint64_t key = ch->skey[s]; key; key /= ch->B) {
                int16_t q = colmap[key % ch->B - 1];
                if (q >= 0) Hs[q] = 0;
            }
        }
        double prev = 0;
        int it = 0;
        for (;; it++) {
            if (it == GS_MAX_SWEEPS)
                return tp_fail(TP_ERR_INTERNAL,
                               "Markov chain solve did not converge in %d Gauss-Seidel sweeps "
                               "(%zu states)", GS_MAX_SWEEPS, S);
            double delta = 0;
            for (size_t s = 0; s < S; s++) {
                // Prefetch the rows the next state reads: when it starts a new suffix group they
                // are all cold, and fetching them together overlaps the misses.
                if (s + 1 < S) {
                    for (uint64_t e = ch->row[s + 1]; e < ch->row[s + 2]; e++) {
                        const double *Ht = H + (size_t)ch->col[e] * W;
                        __builtin_prefetch(Ht);
                        __builtin_prefetch(Ht + W / 2);
                    }
                }
                double acc[W];
                for (int q = 0; q < W; q++) acc[q] = ch->pconv[s];
                for (uint64_t e = ch->row[s]; e < ch->row[s + 1]; e++) {
                    const double p = ch->p[e], *Ht = H + (size_t)ch->col[e] * W;
                    for (int q = 0; q < W; q++) acc[q] += p * Ht[q];
                }
                double inv = 1 / (1 - ch->diag[s]);
                for (int q = 0; q < W; q++) acc[q] *= inv;
                for (uint64_t key = ch->skey[s]; key; key /= ch->B) {
                    int16_t q = colmap[key % ch->B - 1];
                    if (q >= 0) acc[q] = 0;
                }
                double *Hs = H + s * W;
                for (int q = 0; q < W; q++) {
                    double d = fabs(acc[q] - Hs[q]);
                    delta = d > delta ? d : delta;
                    Hs[q] = acc[q];
                }
            }
            if (delta <= 1e-16) break;
            if (it >= 2 && prev > 0) {
                double rho = delta / prev;
                if (rho < 1 && delta * rho / (1 - rho) <= 1e-15) break;
            }
            prev = delta;
        }
        for (size_t q = 0; q < nq; q++) {
            double p = ch->pstart_conv;
            for (size_t s = 0; s < S; s++) p += ch->pstart[s] * H[s * W + q];
            x->p_removed[q0 + q] = p;
            colmap[x->todo[q0 + q]] = -1;
        }
        tp_log(TP_LOG_DEBUG, "markov: removal block %zu solved in %d sweeps", blk, it + 1);
        tp_progress_add(x->progress, nq);
    }
    return TP_OK;
}

static tp_status removals_blocked(const chain *ch, const double *h_full, const uint32_t *todo,
                                  size_t n_todo, size_t C, int nt, double *p_removed) {
    size_t n_blocks = (n_todo + W - 1) / W;
    if ((size_t)nt > n_blocks) nt = (int)n_blocks;
    // Each thread holds an S x W block: fewer threads rather than more than ~4 GiB of blocks.
    size_t per_thread = (ch->S ? ch->S : 1) * W * sizeof(double);
    while (nt > 1 && (size_t)nt * per_thread > ((size_t)4 << 30)) nt--;
    block_ctx x = {.ch = ch, .h_full = h_full, .todo = todo, .n_todo = n_todo,
                   .p_removed = p_removed, .n_campaigns = C};
    tp_status rc = TP_OK;
    x.H = tp_malloc((size_t)nt * (ch->S ? ch->S : 1) * W * sizeof *x.H);
    x.colmap = tp_malloc((size_t)nt * (C + 1) * sizeof *x.colmap);
    if (!x.H || !x.colmap) {
        rc = tp_fail(TP_ERR_NOMEM, "out of memory for Markov removals over %zu states", ch->S);
        goto done;
    }
    memset(x.colmap, 0xff, (size_t)nt * (C + 1) * sizeof *x.colmap); // all -1
    x.progress = tp_progress_begin("markov removal effects", n_todo, "campaigns");
    rc = tp_parallel_for(n_blocks, nt, block_range, &x);
    tp_progress_end(x.progress);
done:
    tp_free(x.H);
    tp_free(x.colmap);
    return rc;
}

// Small chains at order >= 2: one dense LU solve per removed campaign.
typedef struct removal_ctx {
    const chain *ch;
    bool dense;
    const uint32_t *todo; /* campaigns to remove */
    double *p_removed;    /* per todo entry */
    double *h;            /* per thread: S */
    uint8_t *removed;     /* per thread: S */
    double *A;            /* per thread: S*S when dense */
    tp_progress *progress;
} removal_ctx;

static tp_status removal_range(void *vctx, size_t lo, size_t hi, int tid) {
    removal_ctx *x = vctx;
    const chain *ch = x->ch;
    size_t S = ch->S;
    double *h = x->h + (size_t)tid * S;
    uint8_t *rm = x->removed + (size_t)tid * S;
    for (size_t q = lo; q < hi; q++) {
        uint32_t c = x->todo[q];
        for (uint64_t e = ch->cstate_off[c]; e < ch->cstate_off[c + 1]; e++) rm[ch->cstate[e]] = 1;
        solve_dense(ch, rm, x->A + (size_t)tid * S * S, h);
        x->p_removed[q] = p_conversion(ch, h);
        for (uint64_t e = ch->cstate_off[c]; e < ch->cstate_off[c + 1]; e++) rm[ch->cstate[e]] = 0;
        tp_progress_add(x->progress, 1);
    }
    return TP_OK;
}

tp_status attr_markov(const tp_journeys *j, const tp_attr_opts *o, tp_credit *c) {
    chain ch;
    int nt = attr_threads(o);
    tp_status rc = chain_build(j, o->markov_order, nt, &ch);
    if (rc != TP_OK) return rc;
    size_t S = ch.S, C = j->n_campaigns;
    removal_ctx x = {.ch = &ch, .dense = S <= o->markov_dense_max};
    double *h_full = tp_calloc(S ? S : 1, sizeof *h_full);
    uint32_t *todo = tp_malloc((C ? C : 1) * sizeof *todo);
    size_t n_todo = 0;
    if (!h_full || !todo) {
        rc = tp_fail(TP_ERR_NOMEM, "out of memory solving the Markov chain");
        goto done;
    }
    for (size_t k = 0; k < C; k++)
        if (ch.cstate_off[k + 1] > ch.cstate_off[k]) todo[n_todo++] = (uint32_t)k;
    if (nt > (int)n_todo) nt = n_todo ? (int)n_todo : 1;
    x.h = tp_malloc((size_t)nt * (S ? S : 1) * sizeof *x.h);
    x.removed = tp_calloc((size_t)nt * (S ? S : 1), 1);
    x.p_removed = tp_calloc(n_todo ? n_todo : 1, sizeof *x.p_removed);
    if (x.dense) x.A = tp_malloc((size_t)nt * (S ? S * S : 1) * sizeof *x.A);
    if (!x.h || !x.removed || !x.p_removed || (x.dense && !x.A)) {
        rc = tp_fail(TP_ERR_NOMEM, "out of memory solving the Markov chain (%zu states)", S);
        goto done;
    }
    if (S == 0) { // no touches at all: nothing to credit
        c->n_states = 0;
        goto done;
    }
    if (x.dense && o->markov_order == 1) {
        // Each campaign is one state: state s is the campaign skey[s] - 1.
        double *pr = tp_malloc((S ? S : 1) * sizeof *pr);
        if (!pr) {
            rc = tp_fail(TP_ERR_NOMEM, "out of memory solving the Markov chain");
            goto done;
        }
        rc = removals_order1(&ch, x.A, h_full, pr);
        for (size_t q = 0; rc == TP_OK && q < n_todo; q++)
            x.p_removed[q] = pr[ch.cstate[ch.cstate_off[todo[q]]]];
        tp_free(pr);
        if (rc != TP_OK) goto done;
    } else if (x.dense) {
        solve_dense(&ch, NULL, x.A, h_full);
    } else if ((rc = solve_gs(&ch, NULL, h_full)) != TP_OK) {
        goto done;
    }
    double P = p_conversion(&ch, h_full);
    c->base_rate = P;
    c->n_states = S;
    if (P > 0 && n_todo > 0 && !x.dense) {
        rc = removals_blocked(&ch, h_full, todo, n_todo, C, nt, x.p_removed);
        if (rc != TP_OK) goto done;
    } else if (P > 0 && n_todo > 0 && o->markov_order > 1) {
        x.todo = todo;
        x.progress = tp_progress_begin("markov removal effects", n_todo, "campaigns");
        rc = tp_parallel_for(n_todo, nt, removal_range, &x);
        tp_progress_end(x.progress);
        if (rc != TP_OK) goto done;
    }
    if (P > 0) {
        for (size_t q = 0; q < n_todo; q++) {
            double re = 1 - x.p_removed[q] / P;
            c->weight[todo[q]] = re < 0 ? 0 : re > 1 ? 1 : re; // in [0, 1] exactly; clip rounding
        }
    }
done:
    tp_free(h_full);
    tp_free(todo);
    tp_free(x.h);
    tp_free(x.removed);
    tp_free(x.p_removed);
    tp_free(x.A);
    chain_free(&ch);
    return rc;
}

/* sort.c: stable radix sort of signed 64-bit keys (one key, or a (k1, k2) pair) into a uint32
 * permutation. Keys are mapped to unsigned (sign bit flipped) and shifted down by their minimum so
 * only varying bits are sorted; a pair whose two ranges fit in 64 bits becomes one composite key.
 * One MSD pass on the top bits scatters the records into buckets of ~32K, then each bucket is
 * sorted by LSD passes while it sits in cache, skipping digits that are constant in that bucket.
 * Doing the wide passes in cache matters: at 100M records a scatter pass over main memory costs
 * more than a second (TLB misses, fresh pages), while a bucket's passes cost little. Buckets and
 * chunks are fixed by n and the thread count, and the result of a stable sort is unique, so the
 * permutation never depends on the number of threads. */
#include "touchpoint/core.h"

#include <string.h>

#define MAX_DIGIT 11      /* bits per LSD digit at most: 2048 buckets */
#define MAX_PASSES 6      /* ceil(64 / 11) */
#define MAX_TOP 12        /* bits of the MSD digit at most: 4096 buckets */
#define BUCKET_LOG2 15    /* aim at 2^15 records per MSD bucket (~400 KiB with scratch: L2) */
#define SMALL_BUCKET 48   /* below this, insertion sort */
#define MIN_CHUNK ((size_t)1 << 18) /* records per thread below which threads do not pay */
#define SIGN 0x8000000000000000ULL

enum { KEY_ONE, KEY_PAIR, KEY_GATHER };

typedef struct job {
    size_t n;
    int nt;
    // key i: KEY_ONE u1 - min1; KEY_PAIR ((u1 - min1) << shift) | (u2 - min2); KEY_GATHER as
    // KEY_ONE at gather[i]. u = k ^ SIGN maps signed order to unsigned order.
    int mode;
    const int64_t *k1, *k2;
    const uint32_t *gather;
    uint64_t min1, min2;
    int shift;
    const uint32_t *idx_in; /* index recorded for record i: idx_in[i], or i when NULL */
    int nbits;              /* significant bits of the keys */
    int top;                /* bits of the MSD digit, 0..MAX_TOP */
    size_t *cnt;            /* [nt][1 << top] counts, then destinations, of the MSD pass */
    size_t *bstart;         /* [(1 << top) + 1] start of each MSD bucket */
    uint64_t *K;            /* n keys (low nbits - top bits), in MSD bucket order */
    uint32_t *I;            /* n indices alongside K */
    uint32_t *out;
    uint64_t (*mm)[4];      /* [nt] min1, max1, min2, max2 */
} job;

static int bits_for(uint64_t range) { return range ? 64 - __builtin_clzll(range) : 0; }

// Mode is a constant at every call site, so each loop below is compiled once per mode.
static inline __attribute__((always_inline)) uint64_t key_at(const job *j, size_t i, int mode) {
    if (mode == KEY_ONE) return ((uint64_t)j->k1[i] ^ SIGN) - j->min1;
    if (mode == KEY_PAIR) {
        uint64_t a = ((uint64_t)j->k1[i] ^ SIGN) - j->min1, b = ((uint64_t)j->k2[i] ^ SIGN) - j->min2;
        return j->shift < 64 ? (a << j->shift) | b : b; // shift 64 only when a is always 0
    }
    return ((uint64_t)j->k1[j->gather[i]] ^ SIGN) - j->min1;
}

// ---- ranges ----

static tp_status minmax_chunk(void *ctx, size_t lo, size_t hi, int tid) {
    job *j = ctx;
    uint64_t mn1 = UINT64_MAX, mx1 = 0, mn2 = UINT64_MAX, mx2 = 0;
    for (size_t i = lo; i < hi; i++) {
        uint64_t u = (uint64_t)j->k1[i] ^ SIGN;
        mn1 = u < mn1 ? u : mn1;
        mx1 = u > mx1 ? u : mx1;
    }
    if (j->k2) {
        for (size_t i = lo; i < hi; i++) {
            uint64_t u = (uint64_t)j->k2[i] ^ SIGN;
            mn2 = u < mn2 ? u : mn2;
            mx2 = u > mx2 ? u : mx2;
        }
    }
    j->mm[tid][0] = mn1;
    j->mm[tid][1] = mx1;
    j->mm[tid][2] = mn2;
    j->mm[tid][3] = mx2;
    return TP_OK;
}

// ---- the MSD pass over main memory: count, then scatter keys and indices into buckets ----

// The MSD digit is the top `top` bits; top > 0 here, so the shift is below 64.
static inline __attribute__((always_inline)) void msd_count(job *j, size_t lo, size_t hi, int tid,
                                                            int mode) {
    size_t *c = j->cnt + (size_t)tid * ((size_t)1 << j->top);
    const int s = j->nbits - j->top;
    for (size_t i = lo; i < hi; i++) c[key_at(j, i, mode) >> s]++;
}

static tp_status msd_count_chunk(void *ctx, size_t lo, size_t hi, int tid) {
    job *j = ctx;
    size_t R = (size_t)1 << j->top;
    memset(j->cnt + (size_t)tid * R, 0, R * sizeof *j->cnt);
    if (j->top == 0)
        j->cnt[tid] = hi - lo;
    else if (j->mode == KEY_ONE)
        msd_count(j, lo, hi, tid, KEY_ONE);
    else if (j->mode == KEY_PAIR)
        msd_count(j, lo, hi, tid, KEY_PAIR);
    else
        msd_count(j, lo, hi, tid, KEY_GATHER);
    return TP_OK;
}

static inline __attribute__((always_inline)) void msd_scatter(job *j, size_t lo, size_t hi, int tid,
                                                              int mode) {
    size_t *dst = j->cnt + (size_t)tid * ((size_t)1 << j->top);
    const int s = j->nbits - j->top, top = j->top;
    const uint64_t low = s >= 64 ? UINT64_MAX : (((uint64_t)1 << s) - 1);
    uint64_t *K = j->K;
    uint32_t *I = j->I;
    const uint32_t *idx = j->idx_in;
    for (size_t i = lo; i < hi; i++) {
        uint64_t k = key_at(j, i, mode);
        size_t d = top ? dst[k >> s]++ : dst[0]++;
        K[d] = k & low;
        I[d] = idx ? idx[i] : (uint32_t)i;
    }
}

static tp_status msd_scatter_chunk(void *ctx, size_t lo, size_t hi, int tid) {
    job *j = ctx;
    if (j->mode == KEY_ONE)
        msd_scatter(j, lo, hi, tid, KEY_ONE);
    else if (j->mode == KEY_PAIR)
        msd_scatter(j, lo, hi, tid, KEY_PAIR);
    else
        msd_scatter(j, lo, hi, tid, KEY_GATHER);
    return TP_OK;
}

// ---- each bucket in cache: LSD passes over the remaining low bits ----

typedef struct scratch {
    uint64_t *k;
    uint32_t *i;
    uint32_t hist[MAX_PASSES][1 << MAX_DIGIT];
} scratch;

// Stable insertion sort of m (key, index) records; writes the indices to out.
static void insertion(uint64_t *K, uint32_t *I, size_t m, uint32_t *out) {
    for (size_t a = 1; a < m; a++) {
        uint64_t k = K[a];
        uint32_t x = I[a];
        size_t b = a;
        while (b > 0 && K[b - 1] > k) {
            K[b] = K[b - 1];
            I[b] = I[b - 1];
            b--;
        }
        K[b] = k;
        I[b] = x;
    }
    memcpy(out, I, m * sizeof *out);
}

static void lsd_bucket(uint64_t *K, uint32_t *I, size_t m, int nbits, scratch *sc, uint32_t *out) {
    if (m < SMALL_BUCKET) {
        insertion(K, I, m, out);
        return;
    }
    int P = (nbits + MAX_DIGIT - 1) / MAX_DIGIT;
    int w = P ? (nbits + P - 1) / P : 1;
    size_t R = (size_t)1 << w;
    uint64_t mask = R - 1;
    for (int p = 0; p < P; p++) memset(sc->hist[p], 0, R * sizeof(uint32_t));
    for (size_t a = 0; a < m; a++) { // every digit's histogram in one read
        uint64_t k = K[a];
        for (int p = 0; p < P; p++) sc->hist[p][(k >> (p * w)) & mask]++;
    }
    int todo[MAX_PASSES], n_todo = 0;
    for (int p = 0; p < P; p++) { // a digit where one bucket holds everything would only copy
        if (sc->hist[p][(K[0] >> (p * w)) & mask] != m) todo[n_todo++] = p;
    }
    if (n_todo == 0) {
        memcpy(out, I, m * sizeof *out);
        return;
    }
    uint64_t *ks = K, *kd = sc->k;
    uint32_t *is = I, *id = sc->i;
    for (int t = 0; t < n_todo; t++) {
        int p = todo[t], s = p * w, last = t == n_todo - 1;
        uint32_t *h = sc->hist[p], run = 0;
        for (size_t b = 0; b < R; b++) {
            uint32_t c = h[b];
            h[b] = run;
            run += c;
        }
        if (last) {
            for (size_t a = 0; a < m; a++) out[h[(ks[a] >> s) & mask]++] = is[a];
        } else {
            for (size_t a = 0; a < m; a++) {
                uint64_t k = ks[a];
                uint32_t d = h[(k >> s) & mask]++;
                kd[d] = k;
                id[d] = is[a];
            }
            uint64_t *kt = ks;
            ks = kd;
            kd = kt;
            uint32_t *it = is;
            is = id;
            id = it;
        }
    }
}

/* Thread tid takes the buckets that start in its share [tid n / nt, (tid+1) n / nt) of the
 * records, so a skewed key distribution still spreads by records, not by bucket count. */
static tp_status bucket_chunk(void *ctx, size_t lo, size_t hi, int tid) {
    job *j = ctx;
    size_t R = (size_t)1 << j->top;
    size_t from = lo * j->n / (size_t)j->nt, to = hi * j->n / (size_t)j->nt;
    size_t b0 = 0, b1;
    while (b0 < R && j->bstart[b0] < from) b0++;
    for (b1 = b0; b1 < R && j->bstart[b1] < to; b1++) {}
    size_t biggest = 0;
    for (size_t b = b0; b < b1; b++) {
        size_t m = j->bstart[b + 1] - j->bstart[b];
        biggest = m > biggest ? m : biggest;
    }
    if (biggest < SMALL_BUCKET) biggest = 0;
    scratch *sc = tp_malloc(sizeof *sc);
    uint64_t *k = tp_malloc(biggest * sizeof *k);
    uint32_t *i = tp_malloc(biggest * sizeof *i);
    tp_status rc = TP_OK;
    if (!sc || !k || !i) {
        rc = tp_fail(TP_ERR_NOMEM, "radix sort: out of memory for a bucket of %zu records", biggest);
        goto done;
    }
    sc->k = k;
    sc->i = i;
    int low_bits = j->nbits - j->top;
    for (size_t b = b0; b < b1; b++) {
        size_t s = j->bstart[b], m = j->bstart[b + 1] - s;
        if (m) lsd_bucket(j->K + s, j->I + s, m, low_bits, sc, j->out + s);
    }
done:
    tp_free(sc);
    tp_free(k);
    tp_free(i);
    return rc;
}

// Sort the keys described by j (mode, nbits) and write the recorded indices in order to j->out.
static tp_status sort_keys(job *j) {
    const size_t n = j->n;
    if (j->nbits == 0) { // all keys equal: input order
        for (size_t i = 0; i < n; i++) j->out[i] = j->idx_in ? j->idx_in[i] : (uint32_t)i;
        return TP_OK;
    }
    int lg = bits_for(n) - BUCKET_LOG2;
    j->top = lg < 0 ? 0 : lg > MAX_TOP ? MAX_TOP : lg;
    if (j->top > j->nbits) j->top = j->nbits;
    size_t R = (size_t)1 << j->top;
    const int nt = j->nt;
    tp_status rc = tp_parallel_for(n, nt, msd_count_chunk, j);
    if (rc != TP_OK) return rc;
    // Destinations bucket by bucket, and within a bucket chunk by chunk: this keeps stability.
    size_t run = 0;
    for (size_t b = 0; b < R; b++) {
        j->bstart[b] = run;
        for (int t = 0; t < nt; t++) {
            size_t c = j->cnt[(size_t)t * R + b];
            j->cnt[(size_t)t * R + b] = run;
            run += c;
        }
    }
    j->bstart[R] = run;
    rc = tp_parallel_for(n, nt, msd_scatter_chunk, j);
    if (rc != TP_OK) return rc;
    return tp_parallel_for((size_t)nt, nt, bucket_chunk, j);
}

static tp_status sort_impl(const int64_t *k1, const int64_t *k2, size_t n, uint32_t *perm) {
    if (n == 0) return TP_OK;
    if (!k1 || !perm) return tp_fail(TP_ERR_ARG, "radix sort: NULL keys or permutation");
    if (n > UINT32_MAX)
        return tp_fail(TP_ERR_ARG, "radix sort: %zu records exceed the 2^32-1 a uint32 permutation holds", n);

    job j = {0};
    j.n = n;
    j.k1 = k1;
    j.k2 = k2;
    j.out = perm;
    size_t nt = (size_t)tp_threads_default();
    if (nt > n / MIN_CHUNK) nt = n / MIN_CHUNK;
    j.nt = nt < 1 ? 1 : (int)nt;

    uint32_t *phase_a = NULL;
    tp_status rc = TP_OK;
    j.mm = tp_malloc((size_t)j.nt * sizeof *j.mm);
    j.cnt = tp_malloc((size_t)j.nt * ((size_t)1 << MAX_TOP) * sizeof *j.cnt);
    j.bstart = tp_malloc((((size_t)1 << MAX_TOP) + 1) * sizeof *j.bstart);
    j.K = tp_malloc(n * sizeof *j.K);
    j.I = tp_malloc(n * sizeof *j.I);
    if (!j.mm || !j.cnt || !j.bstart || !j.K || !j.I) {
        rc = tp_fail(TP_ERR_NOMEM, "radix sort: out of memory for %zu records (%zu MiB scratch)", n,
                     n * 12 >> 20);
        goto done;
    }

    rc = tp_parallel_for(n, j.nt, minmax_chunk, &j);
    if (rc != TP_OK) goto done;
    uint64_t mn1 = UINT64_MAX, mx1 = 0, mn2 = UINT64_MAX, mx2 = 0;
    for (int t = 0; t < j.nt; t++) {
        mn1 = j.mm[t][0] < mn1 ? j.mm[t][0] : mn1;
        mx1 = j.mm[t][1] > mx1 ? j.mm[t][1] : mx1;
        mn2 = j.mm[t][2] < mn2 ? j.mm[t][2] : mn2;
        mx2 = j.mm[t][3] > mx2 ? j.mm[t][3] : mx2;
    }
    int b1 = bits_for(mx1 - mn1), b2 = k2 ? bits_for(mx2 - mn2) : 0;
    j.min1 = mn1;
    j.min2 = mn2;

    if (!k2) {
        j.mode = KEY_ONE;
        j.nbits = b1;
        rc = sort_keys(&j);
    } else if (b1 + b2 <= 64) {
        j.mode = KEY_PAIR;
        j.shift = b2;
        j.nbits = b1 + b2;
        rc = sort_keys(&j);
    } else { // too wide for one key: sort by k2, then stably by k1 gathered in that order
        phase_a = tp_malloc(n * sizeof *phase_a);
        if (!phase_a) {
            rc = tp_fail(TP_ERR_NOMEM, "radix sort: out of memory for %zu records", n);
            goto done;
        }
        j.mode = KEY_ONE;
        j.k1 = k2;
        j.min1 = mn2;
        j.nbits = b2;
        j.out = phase_a;
        rc = sort_keys(&j);
        if (rc != TP_OK) goto done;
        j.mode = KEY_GATHER;
        j.k1 = k1;
        j.min1 = mn1;
        j.gather = phase_a;
        j.idx_in = phase_a;
        j.nbits = b1;
        j.out = perm;
        rc = sort_keys(&j);
    }
done:
    tp_free(j.mm);
    tp_free(j.cnt);
    tp_free(j.bstart);
    tp_free(j.K);
    tp_free(j.I);
    tp_free(phase_a);
    return rc;
}

tp_status tp_radix_sort_pairs(const int64_t *k1, const int64_t *k2, size_t n, uint32_t *perm) {
    if (n && !k2) return tp_fail(TP_ERR_ARG, "radix sort: NULL second key");
    return sort_impl(k1, k2, n, perm);
}

tp_status tp_radix_sort_i64(const int64_t *k, size_t n, uint32_t *perm) { return sort_impl(k, NULL, n, perm); }

/* sort.c: stable LSD radix sort of signed 64-bit keys (one key, or a (k1, k2) pair) producing a
 * uint32 permutation. Keys are mapped to unsigned (sign bit flipped) and shifted down by their
 * minimum, so only the bits that vary are sorted; a pair whose two ranges fit in 64 bits together
 * becomes one composite key. One pass builds the keys and every digit histogram; digits that are
 * constant are skipped. Counting and scattering are split over threads in fixed chunks, which keeps
 * the sort stable and its output independent of the thread count. */
#include "touchpoint/core.h"

#include <string.h>

#define MAX_DIGIT 11               /* bits per digit at most: 2048 buckets, 16 KiB of counts */
#define MAX_PASSES 8               /* ceil(64 / 11) = 6 */
#define MIN_CHUNK ((size_t)1 << 18) /* elements per thread below which threads do not pay */

enum { BUILD_ONE, BUILD_PAIR, BUILD_GATHER };

typedef struct job {
    size_t n;
    int nt;
    // key construction: key = ((u1 - min1) << shift) | (u2 - min2), u = k ^ sign bit
    int mode;
    const int64_t *k1, *k2;
    const uint32_t *gather; /* BUILD_GATHER: key i comes from k1[gather[i]] */
    uint64_t min1, min2;
    int shift;
    // radix state
    int passes, width;
    size_t *hist; /* [nt][passes][1 << width] counts per chunk, from the build pass */
    size_t *cnt;  /* [nt][1 << width] counts or offsets for the current pass */
    uint64_t *keys;
    // the current pass
    const uint64_t *ksrc;
    uint64_t *kdst; /* NULL on the last pass: only the permutation is needed */
    const uint32_t *isrc; /* NULL on the first pass: the identity */
    uint32_t *idst;
    int dshift;
    // min/max reduction
    uint64_t (*mm)[4]; /* [nt] min1, max1, min2, max2 */
} job;

#define SIGN 0x8000000000000000ULL

static int bits_for(uint64_t range) { return range ? 64 - __builtin_clzll(range) : 0; }

// ---- one pass over the input: ranges ----

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

// ---- one pass: build the keys and all digit histograms ----

static tp_status build_chunk(void *ctx, size_t lo, size_t hi, int tid) {
    job *j = ctx;
    const size_t R = (size_t)1 << j->width, mask = R - 1;
    const int P = j->passes, w = j->width;
    size_t *h = j->hist + (size_t)tid * P * R;
    memset(h, 0, P * R * sizeof *h);
    uint64_t *K = j->keys;
    const uint64_t min1 = j->min1, min2 = j->min2;
    for (size_t i = lo; i < hi; i++) {
        uint64_t key;
        if (j->mode == BUILD_ONE) {
            key = ((uint64_t)j->k1[i] ^ SIGN) - min1;
        } else if (j->mode == BUILD_PAIR) {
            uint64_t a = ((uint64_t)j->k1[i] ^ SIGN) - min1, b = ((uint64_t)j->k2[i] ^ SIGN) - min2;
            key = j->shift < 64 ? (a << j->shift) | b : b; // shift 64 only when a is always 0
        } else {
            key = ((uint64_t)j->k1[j->gather[i]] ^ SIGN) - min1;
        }
        K[i] = key;
        for (int p = 0; p < P; p++) h[(size_t)p * R + ((key >> (p * w)) & mask)]++;
    }
    return TP_OK;
}

// ---- one radix pass: count (when threaded), then scatter ----

static tp_status count_chunk(void *ctx, size_t lo, size_t hi, int tid) {
    job *j = ctx;
    const size_t R = (size_t)1 << j->width, mask = R - 1;
    size_t *c = j->cnt + (size_t)tid * R;
    memset(c, 0, R * sizeof *c);
    const uint64_t *K = j->ksrc;
    const int s = j->dshift;
    for (size_t i = lo; i < hi; i++) c[(K[i] >> s) & mask]++;
    return TP_OK;
}

static tp_status scatter_chunk(void *ctx, size_t lo, size_t hi, int tid) {
    job *j = ctx;
    const size_t R = (size_t)1 << j->width;
    const uint64_t mask = R - 1;
    size_t *off = j->cnt + (size_t)tid * R;
    const uint64_t *K = j->ksrc;
    uint64_t *KD = j->kdst;
    const uint32_t *I = j->isrc;
    uint32_t *ID = j->idst;
    const int s = j->dshift;
    // Four loop variants so the hot loop carries no branches on the pass kind.
    if (KD && I) {
        for (size_t i = lo; i < hi; i++) {
            uint64_t k = K[i];
            size_t d = off[(k >> s) & mask]++;
            KD[d] = k;
            ID[d] = I[i];
        }
    } else if (KD) {
        for (size_t i = lo; i < hi; i++) {
            uint64_t k = K[i];
            size_t d = off[(k >> s) & mask]++;
            KD[d] = k;
            ID[d] = (uint32_t)i;
        }
    } else if (I) {
        for (size_t i = lo; i < hi; i++) ID[off[(K[i] >> s) & mask]++] = I[i];
    } else {
        for (size_t i = lo; i < hi; i++) ID[off[(K[i] >> s) & mask]++] = (uint32_t)i;
    }
    return TP_OK;
}

/* Sort keys j->keys (built by build_chunk with nbits significant bits) stably; the result
 * permutation is idx_in[sorted order] (or the sorted order itself when idx_in is NULL), written to
 * out. kbuf (n keys) and ibuf (n indices) are scratch; idx_in must differ from out and ibuf. */
static tp_status radix_passes(job *j, uint64_t *kbuf, const uint32_t *idx_in, uint32_t *ibuf,
                              uint32_t *out) {
    const size_t n = j->n, R = (size_t)1 << j->width;
    const int P = j->passes, nt = j->nt;
    tp_status rc = tp_parallel_for(n, nt, build_chunk, j);
    if (rc != TP_OK) return rc;

    // Digit p is constant when one bucket holds every key; such passes would only copy.
    int todo[MAX_PASSES], n_todo = 0;
    for (int p = 0; p < P; p++) {
        int constant = 0;
        for (size_t b = 0; b < R && !constant; b++) {
            size_t total = 0;
            for (int t = 0; t < nt; t++) total += j->hist[((size_t)t * P + p) * R + b];
            constant = total == n;
        }
        if (!constant) todo[n_todo++] = p;
    }
    if (n_todo == 0) {
        for (size_t i = 0; i < n; i++) out[i] = idx_in ? idx_in[i] : (uint32_t)i;
        return TP_OK;
    }

    uint64_t *ksrc = j->keys, *kdst = kbuf;
    const uint32_t *isrc = idx_in;
    for (int m = 0; m < n_todo; m++) {
        int p = todo[m];
        int last = m == n_todo - 1;
        // Passes alternate between out and ibuf so that the last one lands in out.
        uint32_t *idst = ((n_todo - 1 - m) % 2 == 0) ? out : ibuf;
        j->ksrc = ksrc;
        j->kdst = last ? NULL : kdst;
        j->isrc = isrc;
        j->idst = idst;
        j->dshift = p * j->width;
        if (m == 0) { // the build histograms describe the current (input) order chunk by chunk
            for (int t = 0; t < nt; t++)
                memcpy(j->cnt + (size_t)t * R, j->hist + ((size_t)t * P + p) * R, R * sizeof(size_t));
        } else if (nt > 1) {
            rc = tp_parallel_for(n, nt, count_chunk, j);
            if (rc != TP_OK) return rc;
        } else { // one chunk: the totals do not depend on the order
            memcpy(j->cnt, j->hist + (size_t)p * R, R * sizeof(size_t));
        }
        // Offsets: bucket by bucket, and within a bucket chunk by chunk, which keeps stability.
        size_t run = 0;
        for (size_t b = 0; b < R; b++) {
            for (int t = 0; t < nt; t++) {
                size_t c = j->cnt[(size_t)t * R + b];
                j->cnt[(size_t)t * R + b] = run;
                run += c;
            }
        }
        rc = tp_parallel_for(n, nt, scatter_chunk, j);
        if (rc != TP_OK) return rc;
        uint64_t *kt = ksrc;
        ksrc = kdst;
        kdst = kt;
        isrc = idst;
    }
    return TP_OK;
}

// Digits for nbits significant bits: as few passes as 11-bit digits allow, balanced in width.
static void plan_digits(job *j, int nbits) {
    j->passes = (nbits + MAX_DIGIT - 1) / MAX_DIGIT;
    j->width = j->passes ? (nbits + j->passes - 1) / j->passes : 1;
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
    size_t nt = (size_t)tp_threads_default();
    if (nt > n / MIN_CHUNK) nt = n / MIN_CHUNK;
    j.nt = nt < 1 ? 1 : (int)nt;

    uint64_t *keys = NULL, *kbuf = NULL;
    uint32_t *ibuf = NULL, *phase_a = NULL;
    tp_status rc = TP_OK;
    j.mm = tp_malloc((size_t)j.nt * sizeof *j.mm);
    j.hist = tp_malloc((size_t)j.nt * MAX_PASSES * ((size_t)1 << MAX_DIGIT) * sizeof(size_t));
    j.cnt = tp_malloc((size_t)j.nt * ((size_t)1 << MAX_DIGIT) * sizeof(size_t));
    keys = tp_malloc(n * sizeof *keys);
    kbuf = tp_malloc(n * sizeof *kbuf);
    ibuf = tp_malloc(n * sizeof *ibuf);
    if (!j.mm || !j.hist || !j.cnt || !keys || !kbuf || !ibuf) {
        rc = tp_fail(TP_ERR_NOMEM, "radix sort: out of memory for %zu records (%zu MiB scratch)", n,
                     n * 20 >> 20);
        goto done;
    }
    j.keys = keys;

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
        j.mode = BUILD_ONE;
        plan_digits(&j, b1);
        rc = radix_passes(&j, kbuf, NULL, ibuf, perm);
    } else if (b1 + b2 <= 64) {
        j.mode = BUILD_PAIR;
        j.shift = b2;
        plan_digits(&j, b1 + b2);
        rc = radix_passes(&j, kbuf, NULL, ibuf, perm);
    } else { // too wide for one key: sort by k2, then stably by k1 gathered in that order
        phase_a = tp_malloc(n * sizeof *phase_a);
        if (!phase_a) {
            rc = tp_fail(TP_ERR_NOMEM, "radix sort: out of memory for %zu records", n);
            goto done;
        }
        j.mode = BUILD_ONE;
        j.k1 = k2;
        j.min1 = mn2;
        plan_digits(&j, b2);
        rc = radix_passes(&j, kbuf, NULL, ibuf, phase_a);
        if (rc != TP_OK) goto done;
        j.mode = BUILD_GATHER;
        j.k1 = k1;
        j.min1 = mn1;
        j.gather = phase_a;
        plan_digits(&j, b1);
        rc = radix_passes(&j, kbuf, phase_a, ibuf, perm);
    }
done:
    tp_free(j.mm);
    tp_free(j.hist);
    tp_free(j.cnt);
    tp_free(keys);
    tp_free(kbuf);
    tp_free(ibuf);
    tp_free(phase_a);
    return rc;
}

tp_status tp_radix_sort_pairs(const int64_t *k1, const int64_t *k2, size_t n, uint32_t *perm) {
    if (n && !k2) return tp_fail(TP_ERR_ARG, "radix sort: NULL second key");
    return sort_impl(k1, k2, n, perm);
}

tp_status tp_radix_sort_i64(const int64_t *k, size_t n, uint32_t *perm) { return sort_impl(k, NULL, n, perm); }

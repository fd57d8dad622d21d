/* strdict.c: the string dictionary behind string columns: a byte pool with offsets and an
 * open-addressing hash index of codes. Refcounted so batches of one scan share it. */
#include "touchpoint/table.h"

#include <stdatomic.h>
#include <string.h>

struct tp_strdict {
    atomic_int refs;
    char *pool;        /* each string NUL-terminated */
    size_t pool_len, pool_cap;
    size_t *off;       /* start of string i in pool; off[n] = pool_len */
    size_t n, off_cap;
    int32_t *slots;    /* hash index: code or -1; capacity a power of two */
    uint64_t *hashes;  /* hash of code i, for cheap rehash and compare */
    size_t n_slots;
};

tp_status tp_strdict_new(tp_strdict **out) {
    tp_strdict *d = tp_calloc(1, sizeof *d);
    if (!d) return tp_fail(TP_ERR_NOMEM, "out of memory allocating a string dictionary");
    atomic_init(&d->refs, 1);
    d->off = tp_malloc(16 * sizeof *d->off);
    d->off_cap = 16;
    d->n_slots = 64;
    d->slots = tp_malloc(d->n_slots * sizeof *d->slots);
    if (!d->off || !d->slots) {
        tp_strdict_unref(d);
        return tp_fail(TP_ERR_NOMEM, "out of memory allocating a string dictionary");
    }
    memset(d->slots, 0xff, d->n_slots * sizeof *d->slots);
    d->off[0] = 0;
    *out = d;
    return TP_OK;
}

tp_strdict *tp_strdict_ref(tp_strdict *d) {
    atomic_fetch_add(&d->refs, 1);
    return d;
}

void tp_strdict_unref(tp_strdict *d) {
    if (!d || atomic_fetch_sub(&d->refs, 1) != 1) return;
    tp_free(d->pool);
    tp_free(d->off);
    tp_free(d->slots);
    tp_free(d->hashes);
    tp_free(d);
}

size_t tp_strdict_size(const tp_strdict *d) { return d->n; }
size_t tp_strdict_bytes(const tp_strdict *d) {
    return d->pool_cap + d->off_cap * sizeof *d->off + d->n_slots * (sizeof *d->slots + sizeof *d->hashes);
}

const char *tp_strdict_get(const tp_strdict *d, int32_t code, size_t *len) {
    TP_ASSERT(code >= 0 && (size_t)code < d->n);
    if (len) *len = d->off[code + 1] - d->off[code] - 1;
    return d->pool + d->off[code];
}

static int32_t lookup(const tp_strdict *d, const char *s, size_t len, uint64_t h, size_t *slot) {
    size_t mask = d->n_slots - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        int32_t c = d->slots[i];
        if (c < 0) {
            *slot = i;
            return -1;
        }
        if (d->hashes[c] == h && d->off[c + 1] - d->off[c] - 1 == len &&
            memcmp(d->pool + d->off[c], s, len) == 0)
            return c;
    }
}

int32_t tp_strdict_find(const tp_strdict *d, const char *s, size_t len) {
    size_t slot;
    if (d->n == 0) return -1;
    return lookup(d, s, len, tp_hash_bytes(s, len, 0), &slot);
}

static tp_status rehash(tp_strdict *d) {
    size_t n_slots = d->n_slots * 2;
    int32_t *slots = tp_malloc(n_slots * sizeof *slots);
    if (!slots) return tp_fail(TP_ERR_NOMEM, "out of memory growing a string dictionary");
    memset(slots, 0xff, n_slots * sizeof *slots);
    for (size_t c = 0; c < d->n; c++) {
        size_t i = d->hashes[c] & (n_slots - 1);
        while (slots[i] >= 0) i = (i + 1) & (n_slots - 1);
        slots[i] = (int32_t)c;
    }
    tp_free(d->slots);
    d->slots = slots;
    d->n_slots = n_slots;
    return TP_OK;
}

tp_status tp_strdict_intern(tp_strdict *d, const char *s, size_t len, int32_t *code) {
    uint64_t h = tp_hash_bytes(s, len, 0);
    size_t slot = 0;
    int32_t c = d->n ? lookup(d, s, len, h, &slot) : -1;
    if (c >= 0) {
        *code = c;
        return TP_OK;
    }
    if (d->n >= INT32_MAX - 1) return tp_fail(TP_ERR_SHAPE, "string dictionary exceeds 2^31 distinct values");
    tp_status rc;
    size_t hash_cap = d->off_cap; /* hashes has off_cap entries */
    if ((rc = tp_grow((void **)&d->off, &d->off_cap, d->n + 2, sizeof *d->off)) != TP_OK) return rc;
    if (d->off_cap != hash_cap || !d->hashes) {
        uint64_t *hs = tp_realloc(d->hashes, d->off_cap * sizeof *hs);
        if (!hs) return tp_fail(TP_ERR_NOMEM, "out of memory growing a string dictionary");
        d->hashes = hs;
    }
    if ((rc = tp_grow((void **)&d->pool, &d->pool_cap, d->pool_len + len + 1, 1)) != TP_OK) return rc;
    if (len) memcpy(d->pool + d->pool_len, s, len);
    d->pool[d->pool_len + len] = 0;
    d->pool_len += len + 1;
    c = (int32_t)d->n++;
    d->off[d->n] = d->pool_len;
    d->hashes[c] = h;
    if (d->n * 10 > d->n_slots * 7) {
        if ((rc = rehash(d)) != TP_OK) return rc;
    } else {
        if (d->n == 1) { /* first insert: lookup was skipped, find the slot now */
            size_t mask = d->n_slots - 1;
            slot = h & mask;
            while (d->slots[slot] >= 0) slot = (slot + 1) & mask;
        }
        d->slots[slot] = c;
    }
    *code = c;
    return TP_OK;
}

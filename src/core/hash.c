/* hash.c: a fast 64-bit hash of byte strings and an int64 -> int64 hash map for id lookups.
 * The byte hash multiplies 64-bit words into a 128-bit product and folds the halves together
 * (the multiply-fold idea behind wyhash and rapidhash; the constants here are SHA-512's
 * initial values). Not cryptographic: for hash tables and partitioning, not for untrusted keys. */
#include "touchpoint/core.h"

#include <string.h>

__extension__ typedef unsigned __int128 u128;

#define C0 0x6a09e667f3bcc909ULL
#define C1 0xbb67ae8584caa73bULL
#define C2 0x3c6ef372fe94f82bULL
#define C3 0xa54ff53a5f1d36f1ULL
#define C4 0x510e527fade682d1ULL

static inline uint64_t fold(uint64_t a, uint64_t b) {
    u128 m = (u128)a * b;
    return (uint64_t)m ^ (uint64_t)(m >> 64);
}

// Little-endian loads on every platform, so hashes (and partitions) agree across machines.
static inline uint64_t rd64(const uint8_t *p) {
    uint64_t v;
    memcpy(&v, p, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap64(v);
#endif
    return v;
}
static inline uint64_t rd32(const uint8_t *p) {
    uint32_t v;
    memcpy(&v, p, 4);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap32(v);
#endif
    return v;
}

uint64_t tp_hash_bytes(const void *p, size_t n, uint64_t seed) {
    const uint8_t *s = p;
    uint64_t h = seed ^ fold(seed ^ C0, C1);
    uint64_t a, b;
    if (n <= 16) {
        if (n >= 8) { // two possibly overlapping words cover 8..16 bytes
            a = rd64(s);
            b = rd64(s + n - 8);
        } else if (n >= 4) {
            a = rd32(s);
            b = rd32(s + n - 4);
        } else if (n > 0) {
            a = ((uint64_t)s[0] << 16) | ((uint64_t)s[n >> 1] << 8) | s[n - 1];
            b = 0;
        } else {
            a = b = 0;
        }
    } else {
        size_t i = n;
        if (i > 32) { // two independent lanes of 16 bytes, so the multiplies overlap
            uint64_t h2 = h ^ C2;
            do {
                h = fold(rd64(s) ^ C1, rd64(s + 8) ^ h);
                h2 = fold(rd64(s + 16) ^ C2, rd64(s + 24) ^ h2);
                s += 32;
                i -= 32;
            } while (i > 32);
            h ^= h2;
        }
        if (i > 16) {
            h = fold(rd64(s) ^ C1, rd64(s + 8) ^ h);
            s += 16;
            i -= 16;
        }
        // 1..16 bytes remain; read the last 16 bytes of the input (n > 16, so they exist).
        a = rd64(s + i - 16);
        b = rd64(s + i - 8);
    }
    h = fold(a ^ C1, b ^ h);
    return fold(h ^ C3, (uint64_t)n ^ C4);
}

// ---- int64 -> int64 map ----

/* Open addressing with linear probing over a power-of-two table, load <= 0.7. EMPTY marks a free
 * slot; the one key equal to EMPTY lives outside the table (has_empty_key), so every int64 works. */
#define EMPTY INT64_MIN

struct tp_i64map {
    int64_t *keys;
    int64_t *vals;
    size_t cap;  /* slots, a power of two */
    size_t size; /* keys stored, including the EMPTY key */
    size_t limit; /* grow when the table would hold more than this (0.7 cap) */
    int has_empty_key;
    int64_t empty_key_val;
};

static tp_status table_alloc(size_t cap, int64_t **keys, int64_t **vals) {
    *keys = tp_malloc(cap * sizeof **keys);
    *vals = tp_malloc(cap * sizeof **vals);
    if (!*keys || !*vals) {
        tp_free(*keys);
        tp_free(*vals);
        return tp_fail(TP_ERR_NOMEM, "out of memory allocating a hash map of %zu slots", cap);
    }
    for (size_t i = 0; i < cap; i++) (*keys)[i] = EMPTY;
    return TP_OK;
}

static size_t cap_for(size_t n) {
    size_t cap = 16;
    while (cap < SIZE_MAX / 16 && cap * 7 / 10 < n) cap *= 2;
    return cap;
}

tp_status tp_i64map_new(size_t expected, tp_i64map **out) {
    *out = NULL;
    if (expected > SIZE_MAX / 32) return tp_fail(TP_ERR_ARG, "hash map of %zu keys is too large", expected);
    tp_i64map *m = tp_calloc(1, sizeof *m);
    if (!m) return tp_fail(TP_ERR_NOMEM, "out of memory creating a hash map");
    m->cap = cap_for(expected);
    m->limit = m->cap * 7 / 10;
    tp_status rc = table_alloc(m->cap, &m->keys, &m->vals);
    if (rc != TP_OK) {
        tp_free(m);
        return rc;
    }
    *out = m;
    return TP_OK;
}

void tp_i64map_free(tp_i64map *m) {
    if (!m) return;
    tp_free(m->keys);
    tp_free(m->vals);
    tp_free(m);
}

static inline size_t slot_of(int64_t key, size_t mask) { return (size_t)tp_hash_u64((uint64_t)key) & mask; }

static tp_status grow(tp_i64map *m) {
    if (m->cap > SIZE_MAX / 32) return tp_fail(TP_ERR_NOMEM, "hash map cannot grow past %zu slots", m->cap);
    size_t cap = m->cap * 2, mask = cap - 1;
    int64_t *keys, *vals;
    tp_status rc = table_alloc(cap, &keys, &vals);
    if (rc != TP_OK) return rc;
    for (size_t i = 0; i < m->cap; i++) {
        int64_t k = m->keys[i];
        if (k == EMPTY) continue;
        size_t j = slot_of(k, mask);
        while (keys[j] != EMPTY) j = (j + 1) & mask;
        keys[j] = k;
        vals[j] = m->vals[i];
    }
    tp_free(m->keys);
    tp_free(m->vals);
    m->keys = keys;
    m->vals = vals;
    m->cap = cap;
    m->limit = cap * 7 / 10;
    return TP_OK;
}

tp_status tp_i64map_get_or_put(tp_i64map *m, int64_t key, int64_t *val, int *inserted) {
    if (key == EMPTY) {
        if (inserted) *inserted = !m->has_empty_key;
        if (m->has_empty_key) {
            *val = m->empty_key_val;
        } else {
            m->has_empty_key = 1;
            m->empty_key_val = *val;
            m->size++;
        }
        return TP_OK;
    }
    size_t mask = m->cap - 1, i = slot_of(key, mask);
    for (;; i = (i + 1) & mask) {
        int64_t k = m->keys[i];
        if (k == key) {
            *val = m->vals[i];
            if (inserted) *inserted = 0;
            return TP_OK;
        }
        if (k == EMPTY) break;
    }
    size_t in_table = m->size - (size_t)m->has_empty_key;
    if (in_table + 1 > m->limit) {
        tp_status rc = grow(m);
        if (rc != TP_OK) return rc;
        mask = m->cap - 1;
        for (i = slot_of(key, mask); m->keys[i] != EMPTY; i = (i + 1) & mask) {}
    }
    m->keys[i] = key;
    m->vals[i] = *val;
    m->size++;
    if (inserted) *inserted = 1;
    return TP_OK;
}

int tp_i64map_get(const tp_i64map *m, int64_t key, int64_t *val) {
    if (key == EMPTY) {
        if (m->has_empty_key && val) *val = m->empty_key_val;
        return m->has_empty_key;
    }
    size_t mask = m->cap - 1;
    for (size_t i = slot_of(key, mask);; i = (i + 1) & mask) {
        int64_t k = m->keys[i];
        if (k == key) {
            if (val) *val = m->vals[i];
            return 1;
        }
        if (k == EMPTY) return 0;
    }
}

size_t tp_i64map_size(const tp_i64map *m) { return m ? m->size : 0; }

/* parquet_write.c: the streaming Parquet writer. Frames are buffered into row groups of
 * opts.row_group_rows; each column chunk is an optional PLAIN dictionary page (strings, whose frame
 * codes are remapped to the chunk's used subset) plus data pages (v1 or v2) with RLE/bit-packed
 * definition levels, compressed per page, the chunks of a row group encoded in parallel; the footer
 * (FileMetaData, Thrift compact) ends the file. All columns are OPTIONAL so later batches may hold
 * nulls. Output is atomic (io.h). Spec: apache/parquet-format (parquet.thrift, Encodings.md). */
#include "io/codec.h"
#include "io/thrift_write.h"
#include "touchpoint/io.h"
#include "touchpoint/parquet.h"

#include <errno.h>
#include <math.h>
#include <zlib.h>
#include <stdlib.h>
#include <string.h>

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "parquet_write.c writes PLAIN values by memcpy and needs a little-endian target"
#endif

#ifndef TP_VERSION
#define TP_VERSION "0.0.0"
#endif

// ---- Parquet enums (parquet.thrift) ----
enum { PT_BOOLEAN = 0, PT_INT32 = 1, PT_INT64 = 2, PT_FLOAT = 4, PT_DOUBLE = 5, PT_BYTE_ARRAY = 6 };
enum { ENC_PLAIN = 0, ENC_RLE = 3, ENC_RLE_DICTIONARY = 8 };
enum { PAGE_DATA = 0, PAGE_DICTIONARY = 2, PAGE_DATA_V2 = 3 };
enum { CT_UTF8 = 0, CT_DATE = 6, CT_TIMESTAMP_MILLIS = 9, CT_TIMESTAMP_MICROS = 10 };
enum { REP_OPTIONAL = 1 };

#define STATS_MAX_BYTES 4096 /* longer string min/max are left out (as Arrow's default) */

// ---- growable byte buffer ----

typedef struct bytebuf {
    uint8_t *p;
    size_t len, cap;
} bytebuf;

static tp_status bb_reserve(bytebuf *b, size_t extra) {
    if (b->len + extra <= b->cap) return TP_OK;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + extra) cap *= 2;
    uint8_t *p = tp_realloc(b->p, cap);
    if (!p) return tp_fail(TP_ERR_NOMEM, "parquet writer: out of memory (%zu bytes)", cap);
    b->p = p;
    b->cap = cap;
    return TP_OK;
}

static void bb_free(bytebuf *b) {
    tp_free(b->p);
    memset(b, 0, sizeof *b);
}

// Unchecked appends: the caller reserved room.
static inline void put_u32le(bytebuf *b, uint32_t v) {
    memcpy(b->p + b->len, &v, 4);
    b->len += 4;
}
static inline void put_varint(bytebuf *b, uint64_t v) {
    while (v >= 0x80) {
        b->p[b->len++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    b->p[b->len++] = (uint8_t)v;
}

static inline bool bit_get(const uint8_t *bm, size_t i) {
    return (bm[i >> 3] >> (i & 7)) & 1;
}
static inline void bit_put(uint8_t *bm, size_t i, bool v) {
    if (v) bm[i >> 3] |= (uint8_t)(1u << (i & 7));
    else bm[i >> 3] &= (uint8_t) ~(1u << (i & 7));
}

// ---- RLE / bit-packed hybrid (Parquet Encodings.md) ----

// Pack n values (n a multiple of 8) of bit width w (1..32), LSB first.
static void bitpack(uint8_t *out, const uint32_t *v, size_t n, int w) {
    uint64_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        acc |= (uint64_t)v[i] << bits;
        bits += w;
        while (bits >= 8) {
            *out++ = (uint8_t)acc;
            acc >>= 8;
            bits -= 8;
        }
    }
}

static size_t run_length(const uint32_t *v, size_t i, size_t n, size_t cap) {
    size_t j = i + 1;
    while (j < n && j - i < cap && v[j] == v[i]) j++;
    return j - i;
}

// Runs of >= 8 equal values become RLE runs; everything else goes into bit-packed groups of 8
// (the last group zero-padded: readers stop at the page's value count).
static tp_status rle_encode(bytebuf *b, const uint32_t *v, size_t n, int w) {
    size_t vbytes = (size_t)(w + 7) / 8;
    tp_status rc = bb_reserve(b, (n / 8 + 2) * ((size_t)w + 20) + 32);
    if (rc != TP_OK) return rc;
    size_t i = 0;
    while (i < n) {
        size_t r = run_length(v, i, n, SIZE_MAX);
        if (r >= 8) {
            put_varint(b, (uint64_t)r << 1);
            uint32_t x = v[i];
            for (size_t k = 0; k < vbytes; k++) b->p[b->len++] = (uint8_t)(x >> (8 * k));
            i += r;
            continue;
        }
        size_t j = i;
        for (;;) {
            j += 8;
            if (j >= n) {
                j = n;
                break;
            }
            if (run_length(v, j, n, 8) >= 8) break;
        }
        size_t groups = (j - i + 7) / 8;
        put_varint(b, (uint64_t)groups << 1 | 1);
        size_t full = (j - i) / 8 * 8;
        bitpack(b->p + b->len, v + i, full, w);
        b->len += full / 8 * (size_t)w;
        if (full < j - i) {
            uint32_t tail[8] = {0};
            memcpy(tail, v + i + full, (j - i - full) * sizeof *v);
            bitpack(b->p + b->len, tail, 8, w);
            b->len += (size_t)w;
        }
        i = j;
    }
    return TP_OK;
}

static int bit_width(uint32_t max) {
    int w = 0;
    while (max) {
        w++;
        max >>= 1;
    }
    return w;
}

// ---- per-chunk string dictionary: the used subset of the frames' dictionaries ----

typedef struct sdict {
    uint8_t *pool; /* entry bytes back to back */
    size_t pool_len, pool_cap;
    size_t *off;    /* entry start in pool */
    uint32_t *len;  /* entry length */
    uint64_t *hash; /* entry hash (for rehashing) */
    size_t n, cap;  /* entries */
    int32_t *slots; /* open addressing: entry index or -1 */
    size_t n_slots; /* power of two */
    // remap cache: source-dictionary code -> entry, valid when gen matches
    tp_strdict *src; /* referenced */
    int32_t *cache;
    uint32_t *cache_gen;
    size_t cache_cap;
    uint32_t gen;
} sdict;

static void sdict_free(sdict *d) {
    tp_free(d->pool);
    tp_free(d->off);
    tp_free(d->len);
    tp_free(d->hash);
    tp_free(d->slots);
    tp_free(d->cache);
    tp_free(d->cache_gen);
    tp_strdict_unref(d->src);
    memset(d, 0, sizeof *d);
}

// Forget the entries (a new column chunk) but keep the memory.
static void sdict_clear(sdict *d) {
    d->n = 0;
    d->pool_len = 0;
    if (d->slots) memset(d->slots, 0xff, d->n_slots * sizeof *d->slots);
    d->gen++;
}

static tp_status sdict_rehash(sdict *d, size_t n_slots) {
    int32_t *s = tp_malloc(n_slots * sizeof *s);
    if (!s) return tp_fail(TP_ERR_NOMEM, "parquet writer: out of memory (string dictionary)");
    memset(s, 0xff, n_slots * sizeof *s);
    for (size_t e = 0; e < d->n; e++) {
        size_t i = d->hash[e] & (n_slots - 1);
        while (s[i] >= 0) i = (i + 1) & (n_slots - 1);
        s[i] = (int32_t)e;
    }
    tp_free(d->slots);
    d->slots = s;
    d->n_slots = n_slots;
    return TP_OK;
}

static tp_status sdict_intern(sdict *d, const char *str, size_t len, int32_t *out) {
    tp_status rc = TP_OK;
    if ((d->n + 1) * 2 > d->n_slots) {
        rc = sdict_rehash(d, d->n_slots ? d->n_slots * 2 : 1024);
        if (rc != TP_OK) return rc;
    }
    uint64_t h = tp_hash_bytes(str, len, 0x7470717772697465ULL);
    size_t mask = d->n_slots - 1, i = h & mask;
    for (; d->slots[i] >= 0; i = (i + 1) & mask) {
        int32_t e = d->slots[i];
        if (d->hash[e] == h && d->len[e] == len && memcmp(d->pool + d->off[e], str, len) == 0) {
            *out = e;
            return TP_OK;
        }
    }
    if (len > UINT32_MAX || d->n >= INT32_MAX)
        return tp_fail(TP_ERR_ARG, "string of %zu bytes or dictionary too large for Parquet", len);
    if (d->n == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 256;
        size_t *off = tp_realloc(d->off, cap * sizeof *off);
        if (off) d->off = off;
        uint32_t *ln = tp_realloc(d->len, cap * sizeof *ln);
        if (ln) d->len = ln;
        uint64_t *hs = tp_realloc(d->hash, cap * sizeof *hs);
        if (hs) d->hash = hs;
        if (!off || !ln || !hs) return tp_fail(TP_ERR_NOMEM, "parquet writer: out of memory");
        d->cap = cap;
    }
    if (d->pool_len + len > d->pool_cap) {
        size_t cap = d->pool_cap ? d->pool_cap : 4096;
        while (cap < d->pool_len + len) cap *= 2;
        uint8_t *p = tp_realloc(d->pool, cap);
        if (!p) return tp_fail(TP_ERR_NOMEM, "parquet writer: out of memory");
        d->pool = p;
        d->pool_cap = cap;
    }
    if (len) memcpy(d->pool + d->pool_len, str, len);
    d->off[d->n] = d->pool_len;
    d->len[d->n] = (uint32_t)len;
    d->hash[d->n] = h;
    d->pool_len += len;
    d->slots[i] = (int32_t)d->n;
    *out = (int32_t)d->n++;
    return TP_OK;
}

// ---- writer state ----

typedef struct chunk_meta {
    int64_t num_values;
    int64_t total_uncompressed, total_compressed; /* including page headers */
    int64_t data_page_offset, dict_page_offset;   /* dict_page_offset -1: none */
    bool dict_encoded;
    bool has_stats, has_minmax;
    int64_t null_count;
    uint8_t *min, *max; /* tp_malloc'd, little-endian PLAIN bytes (or the string) */
    size_t min_len, max_len;
} chunk_meta;

typedef struct rowgroup_meta {
    int64_t num_rows, total_byte_size, total_compressed, file_offset;
    chunk_meta *cols;
} rowgroup_meta;

typedef struct wcol {
    char *name;
    tp_dtype type;
    tp_time_unit unit; /* frame unit */
    bool seconds;      /* frame holds seconds: written as millis (Parquet has no seconds) */
    size_t elem;       /* bytes per buffered value */
    uint8_t *vals;     /* buffered values (strings: chunk dictionary entries) */
    size_t vals_cap;   /* rows */
    uint8_t *valid;    /* buffered validity bitmap, NULL while no null was buffered */
    size_t valid_cap;  /* bytes */
    sdict dict;        /* strings */
} wcol;

// Per-thread encoding scratch, reused across pages and row groups.
typedef struct scratch {
    bytebuf page, comp, levels;
    uint32_t *u32;
    size_t u32_cap;
    tp_tw tw;
} scratch;

static void scratch_free(scratch *s) {
    bb_free(&s->page);
    bb_free(&s->comp);
    bb_free(&s->levels);
    tp_free(s->u32);
    tp_tw_free(&s->tw);
}

struct tp_pq_writer {
    tp_atomic_file af;
    char *path; /* destination, for messages */
    tp_pq_write_opts opts;
    char **kv;   /* key, value, ... copies */
    size_t n_kv; /* pairs */
    bool failed;
    tp_status fail_rc;
    uint64_t offset; /* bytes written so far */
    bool have_schema;
    size_t n_cols;
    wcol *cols;
    size_t buffered; /* rows buffered for the current row group */
    int64_t total_rows;
    rowgroup_meta *rgs;
    size_t n_rgs, rgs_cap;
    // column chunks are encoded in parallel into chunk_out[column], then written in order
    scratch *scr; /* one per worker */
    int n_scr;
    bytebuf *chunk_out; /* n_cols */
    tp_tw tw;           /* footer */
};

typedef struct colview {
    const void *vals;     /* row 0 of the row group; strings: int32 chunk-dictionary entries */
    const uint8_t *valid; /* NULL = no nulls */
    size_t bit0;          /* bit of row 0 in valid */
} colview;

void tp_pq_write_opts_default(tp_pq_write_opts *o) {
    memset(o, 0, sizeof *o);
    o->codec = TP_CODEC_ZSTD;
    o->level = 0;
    o->row_group_rows = 1000000;
    o->page_bytes = 1 << 20;
    o->dict_max_bytes = 1 << 20;
    o->statistics = true;
    o->page_version = 1;
    o->metadata = NULL;
}

static const char *wpath(const tp_pq_writer *w) {
    return w->path;
}

static tp_status write_bytes(tp_pq_writer *w, const void *p, size_t n) {
    if (n && fwrite(p, 1, n, w->af.fp) != n)
        return tp_fail(TP_ERR_IO, "cannot write '%s' (temp file of '%s'): %s", w->af.tmp_path,
                       w->path, strerror(errno));
    w->offset += n;
    return TP_OK;
}

static tp_status ensure_u32(scratch *s, size_t n) {
    if (n <= s->u32_cap) return TP_OK;
    size_t cap = s->u32_cap ? s->u32_cap : 1024;
    while (cap < n) cap *= 2;
    uint32_t *p = tp_realloc(s->u32, cap * sizeof *p);
    if (!p) return tp_fail(TP_ERR_NOMEM, "parquet writer: out of memory");
    s->u32 = p;
    s->u32_cap = cap;
    return TP_OK;
}

// ---- schema ----

static void physical_type(const wcol *c, int *pt) {
    switch (c->type) {
    case TP_DTYPE_BOOL: *pt = PT_BOOLEAN; break;
    case TP_DTYPE_I32:
    case TP_DTYPE_DATE: *pt = PT_INT32; break;
    case TP_DTYPE_I64:
    case TP_DTYPE_TIMESTAMP: *pt = PT_INT64; break;
    case TP_DTYPE_F32: *pt = PT_FLOAT; break;
    case TP_DTYPE_F64: *pt = PT_DOUBLE; break;
    case TP_DTYPE_STR:
    case TP_DTYPE_BYTES: *pt = PT_BYTE_ARRAY; break;
    }
}

static tp_status set_schema(tp_pq_writer *w, const tp_frame *f) {
    size_t n = tp_frame_n_cols(f);
    w->cols = tp_calloc(n ? n : 1, sizeof *w->cols);
    if (!w->cols) return tp_fail(TP_ERR_NOMEM, "parquet writer: out of memory");
    w->n_cols = n;
    for (size_t i = 0; i < n; i++) {
        const tp_column *c = tp_frame_col(f, i);
        wcol *wc = &w->cols[i];
        wc->name = tp_strdup(tp_column_name(c));
        if (!wc->name) return tp_fail(TP_ERR_NOMEM, "parquet writer: out of memory");
        wc->type = tp_column_type(c);
        if ((unsigned)wc->type > TP_DTYPE_DATE)
            return tp_fail(TP_ERR_ARG, "writing '%s': column '%s' has unknown dtype %d", wpath(w),
                           wc->name, (int)wc->type);
        wc->unit = wc->type == TP_DTYPE_TIMESTAMP ? tp_column_unit(c) : TP_UNIT_SECONDS;
        wc->seconds = wc->type == TP_DTYPE_TIMESTAMP && wc->unit == TP_UNIT_SECONDS;
        wc->elem = tp_dtype_size(wc->type);
    }
    w->have_schema = true;
    return TP_OK;
}

static tp_status check_schema(const tp_pq_writer *w, const tp_frame *f) {
    if (tp_frame_n_cols(f) != w->n_cols)
        return tp_fail(TP_ERR_SHAPE, "writing '%s': frame has %zu columns, the file has %zu",
                       wpath(w), tp_frame_n_cols(f), w->n_cols);
    for (size_t i = 0; i < w->n_cols; i++) {
        const tp_column *c = tp_frame_col(f, i);
        const wcol *wc = &w->cols[i];
        if (strcmp(tp_column_name(c), wc->name) != 0)
            return tp_fail(TP_ERR_SHAPE, "writing '%s': column %zu is '%s', the file has '%s'",
                           wpath(w), i, tp_column_name(c), wc->name);
        if (tp_column_type(c) != wc->type ||
            (wc->type == TP_DTYPE_TIMESTAMP && tp_column_unit(c) != wc->unit))
            return tp_fail(TP_ERR_SHAPE,
                           "writing '%s': column '%s' changed type from the first frame", wpath(w),
                           wc->name);
    }
    return TP_OK;
}

// ---- buffering ----

static tp_status ensure_vals(wcol *c, size_t rows) {
    if (rows <= c->vals_cap) return TP_OK;
    size_t cap = c->vals_cap ? c->vals_cap : 1024;
    while (cap < rows) cap *= 2;
    uint8_t *p = tp_realloc(c->vals, cap * c->elem);
    if (!p) return tp_fail(TP_ERR_NOMEM, "parquet writer: out of memory buffering '%s'", c->name);
    c->vals = p;
    c->vals_cap = cap;
    return TP_OK;
}

// Remap string codes of rows [lo, hi) of src into chunk-dictionary entries at out[0..).
static tp_status remap_strings(tp_pq_writer *w, wcol *c, const tp_column *src, size_t lo, size_t hi,
                               int32_t *out) {
    tp_status rc = TP_OK;
    sdict *d = &c->dict;
    tp_strdict *sd = tp_column_dict(src);
    if (!sd)
        return tp_fail(TP_ERR_ARG, "writing '%s': string column '%s' has no dictionary", wpath(w),
                       c->name);
    if (sd != d->src) {
        tp_strdict_unref(d->src);
        d->src = tp_strdict_ref(sd);
        d->gen++;
    }
    if (d->gen == 0) d->gen = 1; /* 0 marks never-filled cache slots */
    size_t dn = tp_strdict_size(sd);
    if (dn > d->cache_cap) {
        size_t cap = d->cache_cap ? d->cache_cap : 256;
        while (cap < dn) cap *= 2;
        int32_t *cc = tp_realloc(d->cache, cap * sizeof *cc);
        if (cc) d->cache = cc;
        uint32_t *cg = tp_realloc(d->cache_gen, cap * sizeof *cg);
        if (cg) d->cache_gen = cg;
        if (!cc || !cg) return tp_fail(TP_ERR_NOMEM, "parquet writer: out of memory");
        memset(d->cache_gen + d->cache_cap, 0, (cap - d->cache_cap) * sizeof *cg);
        d->cache_cap = cap;
    }
    const int32_t *codes = TP_CCOL(src, int32_t);
    const uint8_t *valid = tp_column_validity(src);
    const uint32_t gen = d->gen;
    for (size_t r = lo; r < hi; r++) {
        if (valid && !bit_get(valid, r)) {
            out[r - lo] = 0;
            continue;
        }
        int32_t s = codes[r];
        if (s < 0 || (size_t)s >= dn)
            return tp_fail(
                TP_ERR_ARG,
                "writing '%s': column '%s' row %zu: string code %d outside its dictionary of %zu",
                wpath(w), c->name, r, s, dn);
        if (d->cache_gen[s] == gen) {
            out[r - lo] = d->cache[s];
            continue;
        }
        size_t len;
        const char *str = tp_strdict_get(sd, s, &len);
        int32_t e = 0;
        rc = sdict_intern(d, str, len, &e);
        if (rc != TP_OK) return rc;
        d->cache[s] = e;
        d->cache_gen[s] = gen;
        out[r - lo] = e;
    }
    return TP_OK;
}

// Copy (or convert) values of rows [lo, hi) of src into the column buffer at row dst.
static tp_status fill_values(tp_pq_writer *w, wcol *c, const tp_column *src, size_t lo, size_t hi,
                             size_t dst) {
    tp_status rc = ensure_vals(c, dst + (hi - lo));
    if (rc != TP_OK) return rc;
    if (tp_dtype_is_string(c->type))
        return remap_strings(w, c, src, lo, hi, (int32_t *)c->vals + dst);
    if (c->seconds) {
        const int64_t *s = TP_CCOL(src, int64_t);
        const uint8_t *valid = tp_column_validity(src);
        int64_t *o = (int64_t *)c->vals + dst;
        for (size_t r = lo; r < hi; r++) {
            int64_t v = s[r];
            if (valid && !bit_get(valid, r)) v = 0;
            if (v > INT64_MAX / 1000 || v < INT64_MIN / 1000)
                return tp_fail(
                    TP_ERR_ARG,
                    "writing '%s': column '%s' row %zu: timestamp %lld s overflows milliseconds",
                    wpath(w), c->name, r, (long long)v);
            o[r - lo] = v * 1000;
        }
        return TP_OK;
    }
    memcpy(c->vals + dst * c->elem, (const uint8_t *)tp_column_cdata(src) + lo * c->elem,
           (hi - lo) * c->elem);
    return TP_OK;
}

// Copy n bits from src at bit s0 to dst at bit d0 (src NULL: set them); whole bytes of dst at a
// time, since a bit-by-bit copy of every column's bitmap was a visible part of writing journeys.
static void bits_copy(uint8_t *dst, size_t d0, const uint8_t *src, size_t s0, size_t n) {
    for (; n && (d0 & 7); d0++, s0++, n--) bit_put(dst, d0, src ? bit_get(src, s0) : true);
    size_t nb = n / 8, sh = s0 & 7;
    uint8_t *d = dst + (d0 >> 3);
    if (!src) {
        memset(d, 0xff, nb);
    } else if (sh == 0) {
        memcpy(d, src + (s0 >> 3), nb);
    } else {
        const uint8_t *s = src + (s0 >> 3);
        for (size_t k = 0; k < nb; k++) d[k] = (uint8_t)((s[k] >> sh) | (s[k + 1] << (8 - sh)));
    }
    d0 += nb * 8, s0 += nb * 8, n -= nb * 8;
    for (; n; d0++, s0++, n--) bit_put(dst, d0, src ? bit_get(src, s0) : true);
}

// Validity of rows [lo, hi) of src at buffered row dst. The bitmap appears with the first null
// (earlier rows present) and grows as needed; new bytes start as all-present.
static tp_status fill_validity(wcol *c, const tp_column *src, size_t lo, size_t hi, size_t dst) {
    const uint8_t *sv = tp_column_validity(src);
    if (!sv && !c->valid) return TP_OK;
    size_t need = (dst + (hi - lo) + 7) / 8;
    if (need > c->valid_cap) {
        size_t cap = c->valid_cap ? c->valid_cap : 1024;
        while (cap < need) cap *= 2;
        uint8_t *p = tp_realloc(c->valid, cap);
        if (!p)
            return tp_fail(TP_ERR_NOMEM, "parquet writer: out of memory buffering '%s'", c->name);
        memset(p + c->valid_cap, 0xff, cap - c->valid_cap);
        c->valid = p;
        c->valid_cap = cap;
    }
    bits_copy(c->valid, dst, sv, lo, hi - lo);
    return TP_OK;
}

// ---- statistics ----

static tp_status set_minmax(chunk_meta *m, const void *mn, size_t mn_len, const void *mx,
                            size_t mx_len) {
    m->min = tp_malloc(mn_len ? mn_len : 1);
    m->max = tp_malloc(mx_len ? mx_len : 1);
    if (!m->min || !m->max) return tp_fail(TP_ERR_NOMEM, "parquet writer: out of memory");
    if (mn_len) memcpy(m->min, mn, mn_len);
    if (mx_len) memcpy(m->max, mx, mx_len);
    m->min_len = mn_len;
    m->max_len = mx_len;
    m->has_minmax = true;
    return TP_OK;
}

static int bytes_cmp(const uint8_t *a, size_t an, const uint8_t *b, size_t bn) {
    int c = memcmp(a, b, an < bn ? an : bn);
    if (c) return c;
    return an < bn ? -1 : an > bn;
}

#define PRESENT(v, r) (!(v)->valid || bit_get((v)->valid, (v)->bit0 + (r)))

// min/max over present values in signed order (floats: NaN skipped, zeros as -0.0 / +0.0).
static tp_status compute_stats(const wcol *c, const colview *v, size_t n, chunk_meta *m) {
    m->has_stats = true;
    switch (c->type) {
    case TP_DTYPE_BOOL: {
        const uint8_t *x = v->vals;
        uint8_t mn = 1, mx = 0;
        bool any = false;
        for (size_t r = 0; r < n; r++)
            if (PRESENT(v, r)) {
                uint8_t b = x[r] != 0;
                mn = b < mn ? b : mn;
                mx = b > mx ? b : mx;
                any = true;
            }
        return any ? set_minmax(m, &mn, 1, &mx, 1) : TP_OK;
    }
    case TP_DTYPE_I32:
    case TP_DTYPE_DATE: {
        const int32_t *x = v->vals;
        int32_t mn = INT32_MAX, mx = INT32_MIN;
        bool any = false;
        for (size_t r = 0; r < n; r++)
            if (PRESENT(v, r)) {
                mn = x[r] < mn ? x[r] : mn;
                mx = x[r] > mx ? x[r] : mx;
                any = true;
            }
        return any ? set_minmax(m, &mn, 4, &mx, 4) : TP_OK;
    }
    case TP_DTYPE_I64:
    case TP_DTYPE_TIMESTAMP: {
        const int64_t *x = v->vals;
        int64_t mn = INT64_MAX, mx = INT64_MIN;
        bool any = false;
        if (!v->valid) {
            for (size_t r = 0; r < n; r++) {
                mn = x[r] < mn ? x[r] : mn;
                mx = x[r] > mx ? x[r] : mx;
            }
            any = n > 0;
        } else {
            for (size_t r = 0; r < n; r++)
                if (PRESENT(v, r)) {
                    mn = x[r] < mn ? x[r] : mn;
                    mx = x[r] > mx ? x[r] : mx;
                    any = true;
                }
        }
        return any ? set_minmax(m, &mn, 8, &mx, 8) : TP_OK;
    }
    case TP_DTYPE_F32: {
        const float *x = v->vals;
        float mn = INFINITY, mx = -INFINITY;
        bool any = false;
        for (size_t r = 0; r < n; r++)
            if (PRESENT(v, r) && !isnan(x[r])) {
                mn = x[r] < mn ? x[r] : mn;
                mx = x[r] > mx ? x[r] : mx;
                any = true;
            }
        if (mn == 0) mn = -0.0f;
        if (mx == 0) mx = 0.0f;
        return any ? set_minmax(m, &mn, 4, &mx, 4) : TP_OK;
    }
    case TP_DTYPE_F64: {
        const double *x = v->vals;
        double mn = INFINITY, mx = -INFINITY;
        bool any = false;
        for (size_t r = 0; r < n; r++)
            if (PRESENT(v, r) && !isnan(x[r])) {
                mn = x[r] < mn ? x[r] : mn;
                mx = x[r] > mx ? x[r] : mx;
                any = true;
            }
        if (mn == 0) mn = -0.0;
        if (mx == 0) mx = 0.0;
        return any ? set_minmax(m, &mn, 8, &mx, 8) : TP_OK;
    }
    case TP_DTYPE_STR:
    case TP_DTYPE_BYTES: {
        // Every chunk-dictionary entry is a present value of this chunk: scan entries, not rows.
        const sdict *d = &c->dict;
        if (d->n == 0) return TP_OK;
        size_t lo = 0, hi = 0;
        for (size_t e = 1; e < d->n; e++) {
            if (bytes_cmp(d->pool + d->off[e], d->len[e], d->pool + d->off[lo], d->len[lo]) < 0)
                lo = e;
            if (bytes_cmp(d->pool + d->off[e], d->len[e], d->pool + d->off[hi], d->len[hi]) > 0)
                hi = e;
        }
        if (d->len[lo] > STATS_MAX_BYTES || d->len[hi] > STATS_MAX_BYTES) return TP_OK;
        return set_minmax(m, d->pool + d->off[lo], d->len[lo], d->pool + d->off[hi], d->len[hi]);
    }
    }
    return TP_OK;
}

// ---- pages ----

// Compress (unless UNCOMPRESSED) the page body in s->page (the first `plain_prefix` bytes stay
// uncompressed: v2 levels), encode its header and append both to out. Offsets in m are relative
// to the start of out until flush_rowgroup places the chunk in the file.
static tp_status emit_page(const tp_pq_writer *w, scratch *s, bytebuf *out, int page_type,
                           size_t plain_prefix, int32_t n_values, int32_t n_nulls, int32_t n_rows,
                           int encoding, int32_t dict_entries, chunk_meta *m) {
    tp_status rc = TP_OK;
    const uint8_t *body = s->page.p;
    size_t ulen = s->page.len, clen = ulen;
    if (w->opts.codec != TP_CODEC_UNCOMPRESSED) {
        size_t out_len = 0;
        rc = tp_codec_compress(w->opts.codec, w->opts.level, s->page.p + plain_prefix,
                               ulen - plain_prefix, &s->comp.p, &s->comp.cap, &out_len);
        if (rc != TP_OK) return tp_fail_context(rc, "writing '%s'", wpath(w));
        // comp = levels (uncompressed) + compressed values
        if (plain_prefix) {
            s->comp.len = out_len;
            rc = bb_reserve(&s->comp, plain_prefix);
            if (rc != TP_OK) return rc;
            memmove(s->comp.p + plain_prefix, s->comp.p, out_len);
            memcpy(s->comp.p, s->page.p, plain_prefix);
        }
        body = s->comp.p;
        clen = plain_prefix + out_len;
    }
    if (ulen > INT32_MAX || clen > INT32_MAX)
        return tp_fail(TP_ERR_ARG,
                       "writing '%s': a page of %zu bytes exceeds Parquet's 2 GiB limit", wpath(w),
                       ulen);
    tp_tw *t = &s->tw;
    tp_tw_reset(t);
    tp_tw_field_i32(t, 1, page_type);
    tp_tw_field_i32(t, 2, (int32_t)ulen);
    tp_tw_field_i32(t, 3, (int32_t)clen);
    // Page CRC: CRC-32 of the page bytes as written (after the header); readers may verify it.
    tp_tw_field_i32(t, 4, (int32_t)(uint32_t)crc32(0L, body, (uInt)clen));
    if (page_type == PAGE_DATA) {
        tp_tw_field_struct(t, 5);
        tp_tw_field_i32(t, 1, n_values);
        tp_tw_field_i32(t, 2, encoding);
        tp_tw_field_i32(t, 3, ENC_RLE);
        tp_tw_field_i32(t, 4, ENC_RLE);
        tp_tw_struct_end(t);
    } else if (page_type == PAGE_DICTIONARY) {
        tp_tw_field_struct(t, 7);
        tp_tw_field_i32(t, 1, dict_entries);
        tp_tw_field_i32(t, 2, ENC_PLAIN);
        tp_tw_struct_end(t);
    } else {
        tp_tw_field_struct(t, 8);
        tp_tw_field_i32(t, 1, n_values);
        tp_tw_field_i32(t, 2, n_nulls);
        tp_tw_field_i32(t, 3, n_rows);
        tp_tw_field_i32(t, 4, encoding);
        tp_tw_field_i32(t, 5, (int32_t)plain_prefix);
        tp_tw_field_i32(t, 6, 0);
        tp_tw_field_bool(t, 7, w->opts.codec != TP_CODEC_UNCOMPRESSED);
        tp_tw_struct_end(t);
    }
    tp_tw_struct_end(t);
    rc = tp_tw_status(t);
    if (rc != TP_OK) return rc;
    if (page_type == PAGE_DICTIONARY) m->dict_page_offset = (int64_t)out->len;
    else if (m->data_page_offset < 0) m->data_page_offset = (int64_t)out->len;
    rc = bb_reserve(out, t->len + clen);
    if (rc != TP_OK) return rc;
    memcpy(out->p + out->len, t->buf, t->len);
    memcpy(out->p + out->len + t->len, body, clen);
    out->len += t->len + clen;
    m->total_uncompressed += (int64_t)(t->len + ulen);
    m->total_compressed += (int64_t)(t->len + clen);
    return rc;
}

// Definition levels of rows [r0, r1) into s->levels as an RLE/bit-packed hybrid run (width 1).
static tp_status encode_levels(scratch *s, const colview *v, size_t r0, size_t r1, size_t *nulls) {
    tp_status rc = TP_OK;
    size_t n = r1 - r0, nn = 0;
    s->levels.len = 0;
    if (v->valid) {
        rc = ensure_u32(s, n);
        if (rc != TP_OK) return rc;
        for (size_t r = r0; r < r1; r++) {
            uint32_t d = bit_get(v->valid, v->bit0 + r);
            s->u32[r - r0] = d;
            nn += !d;
        }
    }
    *nulls = nn;
    if (!nn) { /* one RLE run of 1s */
        rc = bb_reserve(&s->levels, 16);
        if (rc != TP_OK) return rc;
        put_varint(&s->levels, (uint64_t)n << 1);
        s->levels.p[s->levels.len++] = 1;
        return TP_OK;
    }
    return rle_encode(&s->levels, s->u32, n, 1);
}

// Values of present rows in [r0, r1) appended to s->page.
static tp_status encode_values(scratch *s, const wcol *c, const colview *v, size_t r0, size_t r1,
                               size_t nulls, bool dict, int dict_bw) {
    tp_status rc = TP_OK;
    bytebuf *b = &s->page;
    size_t n = r1 - r0, np = n - nulls;
    if (dict) {
        const int32_t *x = (const int32_t *)v->vals;
        rc = ensure_u32(s, np);
        if (rc != TP_OK) return rc;
        size_t k = 0;
        for (size_t r = r0; r < r1; r++)
            if (PRESENT(v, r)) s->u32[k++] = (uint32_t)x[r];
        rc = bb_reserve(b, 1);
        if (rc != TP_OK) return rc;
        b->p[b->len++] = (uint8_t)dict_bw;
        return rle_encode(b, s->u32, np, dict_bw);
    }
    if (tp_dtype_is_string(c->type)) {
        const int32_t *x = (const int32_t *)v->vals;
        const sdict *d = &c->dict;
        size_t bytes = 0;
        for (size_t r = r0; r < r1; r++)
            if (PRESENT(v, r)) bytes += 4 + d->len[x[r]];
        rc = bb_reserve(b, bytes);
        if (rc != TP_OK) return rc;
        for (size_t r = r0; r < r1; r++)
            if (PRESENT(v, r)) {
                uint32_t len = d->len[x[r]];
                put_u32le(b, len);
                memcpy(b->p + b->len, d->pool + d->off[x[r]], len);
                b->len += len;
            }
        return TP_OK;
    }
    if (c->type == TP_DTYPE_BOOL) {
        const uint8_t *x = v->vals;
        size_t bytes = (np + 7) / 8;
        rc = bb_reserve(b, bytes);
        if (rc != TP_OK) return rc;
        uint8_t *o = b->p + b->len;
        memset(o, 0, bytes);
        size_t k = 0;
        for (size_t r = r0; r < r1; r++)
            if (PRESENT(v, r)) {
                if (x[r]) o[k >> 3] |= (uint8_t)(1u << (k & 7));
                k++;
            }
        b->len += bytes;
        return TP_OK;
    }
    size_t es = c->elem;
    rc = bb_reserve(b, np * es);
    if (rc != TP_OK) return rc;
    const uint8_t *x = v->vals;
    if (!nulls) {
        memcpy(b->p + b->len, x + r0 * es, n * es);
        b->len += n * es;
        return TP_OK;
    }
    uint8_t *o = b->p + b->len;
    if (es == 8) {
        for (size_t r = r0; r < r1; r++)
            if (PRESENT(v, r)) {
                memcpy(o, x + r * 8, 8);
                o += 8;
            }
    } else {
        for (size_t r = r0; r < r1; r++)
            if (PRESENT(v, r)) {
                memcpy(o, x + r * 4, 4);
                o += 4;
            }
    }
    b->len = (size_t)(o - b->p);
    return TP_OK;
}

// Rows of the page from r0 (at least one): fixed-width types by count, plain strings by bytes.
static size_t page_end(const tp_pq_writer *w, const wcol *c, const colview *v, size_t r0, size_t n,
                       bool dict, int dict_bw) {
    size_t target = w->opts.page_bytes ? w->opts.page_bytes : 1;
    size_t rows;
    if (dict) rows = target * 8 / (size_t)dict_bw;
    else if (c->type == TP_DTYPE_BOOL) rows = target * 8;
    else if (tp_dtype_is_string(c->type)) {
        const int32_t *x = (const int32_t *)v->vals;
        size_t bytes = 0, r = r0;
        while (r < n && bytes < target) {
            if (PRESENT(v, r)) bytes += 4 + c->dict.len[x[r]];
            r++;
        }
        return r;
    } else rows = target / c->elem;
    if (rows < 1) rows = 1;
    return n - r0 < rows ? n : r0 + rows;
}

// Zero bits among n bits of bm from bit b0, eight bytes at a time.
static size_t count_nulls(const uint8_t *bm, size_t b0, size_t n) {
    size_t z = 0;
    for (; n && (b0 & 7); b0++, n--) z += !bit_get(bm, b0);
    const uint8_t *p = bm + (b0 >> 3);
    size_t nb = n / 8, k = 0;
    for (; k + 8 <= nb; k += 8) {
        uint64_t x;
        memcpy(&x, p + k, 8);
        z += 64 - (size_t)__builtin_popcountll(x);
    }
    for (; k < nb; k++) z += 8 - (size_t)__builtin_popcount(p[k]);
    b0 += nb * 8, n -= nb * 8;
    for (; n; b0++, n--) z += !bit_get(bm, b0);
    return z;
}

// Encode one column chunk (dictionary page, data pages) into out. Runs on a worker thread: it
// touches only this column's state, s and out.
static tp_status write_chunk(const tp_pq_writer *w, scratch *s, wcol *c, const colview *v, size_t n,
                             chunk_meta *m, bytebuf *out) {
    tp_status rc = TP_OK;
    m->dict_page_offset = -1;
    m->data_page_offset = -1;
    m->num_values = (int64_t)n;
    size_t nulls = v->valid ? count_nulls(v->valid, v->bit0, n) : 0;
    m->null_count = (int64_t)nulls;
    if (w->opts.statistics) {
        rc = compute_stats(c, v, n, m);
        if (rc != TP_OK) return rc;
    }
    bool is_str = tp_dtype_is_string(c->type);
    const sdict *d = &c->dict;
    bool dict = is_str && d->n > 0 && d->pool_len + 4 * d->n <= w->opts.dict_max_bytes;
    int dict_bw = dict ? bit_width((uint32_t)(d->n - 1)) : 0;
    if (dict && dict_bw == 0) dict_bw = 1;
    m->dict_encoded = dict;
    if (dict) { /* PLAIN dictionary page: the used subset of the frames' dictionaries */
        s->page.len = 0;
        rc = bb_reserve(&s->page, d->pool_len + 4 * d->n);
        if (rc != TP_OK) return rc;
        for (size_t e = 0; e < d->n; e++) {
            put_u32le(&s->page, d->len[e]);
            memcpy(s->page.p + s->page.len, d->pool + d->off[e], d->len[e]);
            s->page.len += d->len[e];
        }
        rc = emit_page(w, s, out, PAGE_DICTIONARY, 0, 0, 0, 0, ENC_PLAIN, (int32_t)d->n, m);
        if (rc != TP_OK) return rc;
    }
    int enc = dict ? ENC_RLE_DICTIONARY : ENC_PLAIN;
    bool v2 = w->opts.page_version == 2;
    size_t r0 = 0;
    do { /* a 0-row chunk still gets one (empty) data page */
        size_t r1 = page_end(w, c, v, r0, n, dict, dict_bw);
        size_t pn = 0;
        rc = encode_levels(s, v, r0, r1, &pn);
        if (rc != TP_OK) return rc;
        s->page.len = 0;
        size_t lv = s->levels.len;
        rc = bb_reserve(&s->page, lv + 4);
        if (rc != TP_OK) return rc;
        if (!v2) put_u32le(&s->page, (uint32_t)lv);
        memcpy(s->page.p + s->page.len, s->levels.p, lv);
        s->page.len += lv;
        rc = encode_values(s, c, v, r0, r1, pn, dict, dict_bw);
        if (rc != TP_OK) return rc;
        rc = emit_page(w, s, out, v2 ? PAGE_DATA_V2 : PAGE_DATA, v2 ? lv : 0, (int32_t)(r1 - r0),
                       (int32_t)pn, (int32_t)(r1 - r0), enc, 0, m);
        if (rc != TP_OK) return rc;
        r0 = r1;
    } while (r0 < n);
    return TP_OK;
}

static tp_status add_rowgroup(tp_pq_writer *w, rowgroup_meta **out) {
    if (w->n_rgs == w->rgs_cap) {
        size_t cap = w->rgs_cap ? w->rgs_cap * 2 : 16;
        rowgroup_meta *p = tp_realloc(w->rgs, cap * sizeof *p);
        if (!p) return tp_fail(TP_ERR_NOMEM, "parquet writer: out of memory");
        w->rgs = p;
        w->rgs_cap = cap;
    }
    rowgroup_meta *rg = &w->rgs[w->n_rgs];
    memset(rg, 0, sizeof *rg);
    rg->cols = tp_calloc(w->n_cols ? w->n_cols : 1, sizeof *rg->cols);
    if (!rg->cols) return tp_fail(TP_ERR_NOMEM, "parquet writer: out of memory");
    w->n_rgs++;
    *out = rg;
    return TP_OK;
}

typedef struct encode_job {
    tp_pq_writer *w;
    const colview *views;
    size_t n; /* rows */
    rowgroup_meta *rg;
    size_t next; /* next column to take (atomic) */
    int failed;  /* a column failed: the others stop early (atomic) */
} encode_job;

// A worker: takes columns one at a time (dynamic, so one wide column does not hold up a fixed
// share of the others). Each chunk depends on its column alone, so the bytes do not depend on
// the thread count.
static tp_status encode_worker(void *ctx, size_t lo, size_t hi, int tid) {
    encode_job *job = ctx;
    tp_pq_writer *w = job->w;
    for (;;) {
        size_t i = __atomic_fetch_add(&job->next, 1, __ATOMIC_RELAXED);
        if (i >= w->n_cols || __atomic_load_n(&job->failed, __ATOMIC_RELAXED)) return TP_OK;
        w->chunk_out[i].len = 0;
        tp_status rc = write_chunk(w, &w->scr[tid], &w->cols[i], &job->views[i], job->n,
                                   &job->rg->cols[i], &w->chunk_out[i]);
        if (rc != TP_OK) {
            __atomic_store_n(&job->failed, 1, __ATOMIC_RELAXED);
            return tp_fail_context(rc, "column '%s' of row group %zu", w->cols[i].name,
                                   w->n_rgs - 1);
        }
    }
}

// Write one row group of n rows from the given column views, then reset the buffers. Columns are
// encoded and compressed in parallel (tp_threads_default() workers), then written in order.
static tp_status flush_rowgroup(tp_pq_writer *w, const colview *views, size_t n) {
    tp_status rc = TP_OK;
    if (n == 0) return TP_OK;
    rowgroup_meta *rg = NULL;
    rc = add_rowgroup(w, &rg);
    if (rc != TP_OK) return rc;
    rg->num_rows = (int64_t)n;
    rg->file_offset = (int64_t)w->offset;
    if (!w->chunk_out) {
        w->chunk_out = tp_calloc(w->n_cols, sizeof *w->chunk_out);
        if (!w->chunk_out) return tp_fail(TP_ERR_NOMEM, "parquet writer: out of memory");
    }
    int nt = tp_threads_default();
    if (nt < 1) nt = 1;
    if ((size_t)nt > w->n_cols) nt = (int)w->n_cols;
    if (nt > w->n_scr) {
        scratch *sc = tp_realloc(w->scr, (size_t)nt * sizeof *sc);
        if (!sc) return tp_fail(TP_ERR_NOMEM, "parquet writer: out of memory");
        memset(sc + w->n_scr, 0, (size_t)(nt - w->n_scr) * sizeof *sc);
        w->scr = sc;
        w->n_scr = nt;
    }
    encode_job job = {w, views, n, rg, 0, 0};
    rc = tp_parallel_for((size_t)nt, nt, encode_worker, &job);
    if (rc != TP_OK) return rc;
    for (size_t i = 0; i < w->n_cols; i++) {
        chunk_meta *m = &rg->cols[i];
        int64_t base = (int64_t)w->offset;
        m->data_page_offset += base;
        if (m->dict_page_offset >= 0) m->dict_page_offset += base;
        rc = write_bytes(w, w->chunk_out[i].p, w->chunk_out[i].len);
        if (rc != TP_OK) return rc;
        rg->total_byte_size += m->total_uncompressed;
        rg->total_compressed += m->total_compressed;
    }
    w->total_rows += (int64_t)n;
    for (size_t i = 0; i < w->n_cols; i++) {
        wcol *c = &w->cols[i];
        if (tp_dtype_is_string(c->type)) sdict_clear(&c->dict);
        tp_free(c->valid); /* the next row group allocates one only if it holds a null */
        c->valid = NULL;
        c->valid_cap = 0;
    }
    w->buffered = 0;
    return TP_OK;
}

static tp_status flush_buffered(tp_pq_writer *w) {
    if (w->buffered == 0) return TP_OK;
    colview *views = tp_calloc(w->n_cols ? w->n_cols : 1, sizeof *views);
    if (!views) return tp_fail(TP_ERR_NOMEM, "parquet writer: out of memory");
    for (size_t i = 0; i < w->n_cols; i++) {
        views[i].vals = w->cols[i].vals;
        views[i].valid = w->cols[i].valid;
        views[i].bit0 = 0;
    }
    tp_status rc = flush_rowgroup(w, views, w->buffered);
    tp_free(views);
    return rc;
}

// A full row group straight from the frame: numeric columns are not copied.
static tp_status flush_direct(tp_pq_writer *w, const tp_frame *f, size_t lo, size_t hi) {
    tp_status rc = TP_OK;
    colview *views = tp_calloc(w->n_cols ? w->n_cols : 1, sizeof *views);
    if (!views) return tp_fail(TP_ERR_NOMEM, "parquet writer: out of memory");
    for (size_t i = 0; i < w->n_cols; i++) {
        wcol *c = &w->cols[i];
        const tp_column *src = tp_frame_col(f, i);
        if (tp_dtype_is_string(c->type) || c->seconds) {
            rc = fill_values(w, c, src, lo, hi, 0);
            if (rc != TP_OK) goto done;
            views[i].vals = c->vals;
        } else {
            views[i].vals = (const uint8_t *)tp_column_cdata(src) + lo * c->elem;
        }
        views[i].valid = tp_column_validity(src);
        views[i].bit0 = lo;
    }
    rc = flush_rowgroup(w, views, hi - lo);
done:
    tp_free(views);
    return rc;
}

// ---- footer ----

static void write_schema_element(tp_tw *t, const wcol *c) {
    int pt = 0;
    physical_type(c, &pt);
    tp_tw_struct_begin(t);
    tp_tw_field_i32(t, 1, pt);
    tp_tw_field_i32(t, 3, REP_OPTIONAL);
    tp_tw_field_string(t, 4, c->name);
    tp_time_unit u = c->seconds ? TP_UNIT_MILLIS : c->unit;
    switch (c->type) {
    case TP_DTYPE_STR:
        tp_tw_field_i32(t, 6, CT_UTF8);
        tp_tw_field_struct(t, 10); /* LogicalType */
        tp_tw_field_struct(t, 1);  /* STRING */
        tp_tw_struct_end(t);
        tp_tw_struct_end(t);
        break;
    case TP_DTYPE_DATE:
        tp_tw_field_i32(t, 6, CT_DATE);
        tp_tw_field_struct(t, 10);
        tp_tw_field_struct(t, 6); /* DATE */
        tp_tw_struct_end(t);
        tp_tw_struct_end(t);
        break;
    case TP_DTYPE_TIMESTAMP:
        if (u == TP_UNIT_MILLIS) tp_tw_field_i32(t, 6, CT_TIMESTAMP_MILLIS);
        if (u == TP_UNIT_MICROS) tp_tw_field_i32(t, 6, CT_TIMESTAMP_MICROS);
        tp_tw_field_struct(t, 10);
        tp_tw_field_struct(t, 8);     /* TIMESTAMP */
        tp_tw_field_bool(t, 1, true); /* isAdjustedToUTC */
        tp_tw_field_struct(t, 2);     /* unit: TimeUnit union */
        tp_tw_field_struct(t, u == TP_UNIT_MILLIS ? 1 : u == TP_UNIT_MICROS ? 2 : 3);
        tp_tw_struct_end(t);
        tp_tw_struct_end(t);
        tp_tw_struct_end(t);
        tp_tw_struct_end(t);
        break;
    default: break;
    }
    tp_tw_struct_end(t);
}

static void write_column_chunk(tp_tw *t, const wcol *c, const chunk_meta *m, int codec) {
    int pt = 0;
    physical_type(c, &pt);
    tp_tw_struct_begin(t);
    tp_tw_field_i64(t, 2, m->dict_page_offset >= 0 ? m->dict_page_offset : m->data_page_offset);
    tp_tw_field_struct(t, 3); /* ColumnMetaData */
    tp_tw_field_i32(t, 1, pt);
    if (m->dict_encoded) {
        tp_tw_field_list(t, 2, TP_TT_I32, 3);
        tp_tw_i32(t, ENC_PLAIN);
        tp_tw_i32(t, ENC_RLE);
        tp_tw_i32(t, ENC_RLE_DICTIONARY);
    } else {
        tp_tw_field_list(t, 2, TP_TT_I32, 2);
        tp_tw_i32(t, ENC_PLAIN);
        tp_tw_i32(t, ENC_RLE);
    }
    tp_tw_field_list(t, 3, TP_TT_BINARY, 1);
    tp_tw_string(t, c->name);
    tp_tw_field_i32(t, 4, codec);
    tp_tw_field_i64(t, 5, m->num_values);
    tp_tw_field_i64(t, 6, m->total_uncompressed);
    tp_tw_field_i64(t, 7, m->total_compressed);
    tp_tw_field_i64(t, 9, m->data_page_offset);
    if (m->dict_page_offset >= 0) tp_tw_field_i64(t, 11, m->dict_page_offset);
    if (m->has_stats) {
        tp_tw_field_struct(t, 12);
        // Legacy max/min (fields 1, 2) too where their old signed order is right, as Arrow does:
        // readers predating min_value/max_value still prune on numeric columns.
        if (m->has_minmax && !tp_dtype_is_string(c->type)) {
            tp_tw_field_binary(t, 1, m->max, m->max_len);
            tp_tw_field_binary(t, 2, m->min, m->min_len);
        }
        tp_tw_field_i64(t, 3, m->null_count);
        if (m->has_minmax) {
            tp_tw_field_binary(t, 5, m->max, m->max_len);
            tp_tw_field_binary(t, 6, m->min, m->min_len);
        }
        tp_tw_struct_end(t);
    }
    tp_tw_struct_end(t); /* ColumnMetaData */
    tp_tw_struct_end(t); /* ColumnChunk */
}

static tp_status write_footer(tp_pq_writer *w) {
    tp_status rc = TP_OK;
    tp_tw *t = &w->tw;
    tp_tw_reset(t);
    tp_tw_field_i32(t, 1, 2);
    tp_tw_field_list(t, 2, TP_TT_STRUCT, w->n_cols + 1);
    tp_tw_struct_begin(t); /* root */
    tp_tw_field_string(t, 4, "schema");
    tp_tw_field_i32(t, 5, (int32_t)w->n_cols);
    tp_tw_struct_end(t);
    for (size_t i = 0; i < w->n_cols; i++) write_schema_element(t, &w->cols[i]);
    tp_tw_field_i64(t, 3, w->total_rows);
    tp_tw_field_list(t, 4, TP_TT_STRUCT, w->n_rgs);
    for (size_t g = 0; g < w->n_rgs; g++) {
        const rowgroup_meta *rg = &w->rgs[g];
        tp_tw_struct_begin(t);
        tp_tw_field_list(t, 1, TP_TT_STRUCT, w->n_cols);
        for (size_t i = 0; i < w->n_cols; i++)
            write_column_chunk(t, &w->cols[i], &rg->cols[i], (int)w->opts.codec);
        tp_tw_field_i64(t, 2, rg->total_byte_size);
        tp_tw_field_i64(t, 3, rg->num_rows);
        tp_tw_field_i64(t, 5, rg->file_offset);
        tp_tw_field_i64(t, 6, rg->total_compressed);
        if (g <= INT16_MAX) tp_tw_field_i16(t, 7, (int16_t)g);
        tp_tw_struct_end(t);
    }
    if (w->n_kv) {
        tp_tw_field_list(t, 5, TP_TT_STRUCT, w->n_kv);
        for (size_t k = 0; k < w->n_kv; k++) {
            tp_tw_struct_begin(t);
            tp_tw_field_string(t, 1, w->kv[2 * k]);
            tp_tw_field_string(t, 2, w->kv[2 * k + 1]);
            tp_tw_struct_end(t);
        }
    }
    tp_tw_field_string(t, 6, "touchpoint " TP_VERSION);
    // column_orders: TYPE_ORDER for every column (readers then trust min_value/max_value)
    tp_tw_field_list(t, 7, TP_TT_STRUCT, w->n_cols);
    for (size_t i = 0; i < w->n_cols; i++) {
        tp_tw_struct_begin(t);
        tp_tw_field_struct(t, 1);
        tp_tw_struct_end(t);
        tp_tw_struct_end(t);
    }
    tp_tw_struct_end(t);
    rc = tp_tw_status(t);
    if (rc != TP_OK) return rc;
    if (t->len > UINT32_MAX) return tp_fail(TP_ERR_ARG, "writing '%s': footer too large", wpath(w));
    uint8_t tail[8];
    uint32_t flen = (uint32_t)t->len;
    memcpy(tail, &flen, 4);
    memcpy(tail + 4, "PAR1", 4);
    rc = write_bytes(w, t->buf, t->len);
    if (rc == TP_OK) rc = write_bytes(w, tail, 8);
    return rc;
}

// ---- public API ----

static void writer_free(tp_pq_writer *w) {
    if (!w) return;
    for (size_t i = 0; i < w->n_cols; i++) {
        tp_free(w->cols[i].name);
        tp_free(w->cols[i].vals);
        tp_free(w->cols[i].valid);
        sdict_free(&w->cols[i].dict);
    }
    tp_free(w->cols);
    for (size_t g = 0; g < w->n_rgs; g++) {
        for (size_t i = 0; i < w->n_cols; i++) {
            tp_free(w->rgs[g].cols[i].min);
            tp_free(w->rgs[g].cols[i].max);
        }
        tp_free(w->rgs[g].cols);
    }
    tp_free(w->rgs);
    for (size_t k = 0; k < 2 * w->n_kv; k++) tp_free(w->kv[k]);
    tp_free(w->kv);
    tp_free(w->path);
    for (int k = 0; k < w->n_scr; k++) scratch_free(&w->scr[k]);
    tp_free(w->scr);
    if (w->chunk_out)
        for (size_t i = 0; i < w->n_cols; i++) bb_free(&w->chunk_out[i]);
    tp_free(w->chunk_out);
    tp_tw_free(&w->tw);
    tp_free(w);
}

// Any error discards the output at once: the destination is never touched.
static tp_status writer_fail(tp_pq_writer *w, tp_status rc) {
    if (!w->failed) {
        w->failed = true;
        w->fail_rc = rc;
        tp_atomic_abort(&w->af);
    }
    return rc;
}

tp_status tp_pq_writer_open(const char *path, const tp_pq_write_opts *opts, tp_pq_writer **out) {
    tp_status rc = TP_OK;
    *out = NULL;
    tp_pq_writer *w = tp_calloc(1, sizeof *w);
    if (!w) return tp_fail(TP_ERR_NOMEM, "parquet writer: out of memory");
    tp_tw_init(&w->tw);
    w->path = tp_strdup(path ? path : "");
    if (!w->path) {
        rc = tp_fail(TP_ERR_NOMEM, "parquet writer: out of memory");
        goto done;
    }
    if (opts) w->opts = *opts;
    else tp_pq_write_opts_default(&w->opts);
    w->opts.metadata = NULL; /* copied below; the caller's array need not outlive the writer */
    if (w->opts.row_group_rows == 0) w->opts.row_group_rows = 1000000;
    if (w->opts.page_bytes == 0) w->opts.page_bytes = 1 << 20;
    if (w->opts.page_version == 0) w->opts.page_version = 1;
    if (w->opts.page_version != 1 && w->opts.page_version != 2) {
        rc = tp_fail(TP_ERR_ARG, "writing '%s': page_version must be 1 or 2, not %d", path,
                     w->opts.page_version);
        goto done;
    }
    switch (w->opts.codec) {
    case TP_CODEC_UNCOMPRESSED:
    case TP_CODEC_SNAPPY:
    case TP_CODEC_GZIP:
    case TP_CODEC_BROTLI:
    case TP_CODEC_ZSTD:
    case TP_CODEC_LZ4_RAW: break;
    default:
        rc = tp_fail(TP_ERR_UNSUPPORTED,
                     "writing '%s': codec %d is not supported for writing (use zstd, snappy, gzip, "
                     "brotli, lz4_raw or none)",
                     path, (int)w->opts.codec);
        goto done;
    }
    if (opts && opts->metadata) {
        size_t n = 0;
        while (opts->metadata[2 * n]) {
            if (!opts->metadata[2 * n + 1]) {
                rc = tp_fail(TP_ERR_ARG, "writing '%s': metadata key '%s' has no value", path,
                             opts->metadata[2 * n]);
                goto done;
            }
            n++;
        }
        w->kv = tp_calloc(2 * n + 1, sizeof *w->kv);
        if (!w->kv) {
            rc = tp_fail(TP_ERR_NOMEM, "parquet writer: out of memory");
            goto done;
        }
        w->n_kv = n;
        for (size_t k = 0; k < 2 * n; k++)
            if (!(w->kv[k] = tp_strdup(opts->metadata[k]))) {
                rc = tp_fail(TP_ERR_NOMEM, "parquet writer: out of memory");
                goto done;
            }
    }
    rc = tp_atomic_open(path, &w->af);
    if (rc != TP_OK) goto done;
    rc = write_bytes(w, "PAR1", 4);
    if (rc != TP_OK) {
        tp_atomic_abort(&w->af);
        goto done;
    }
    *out = w;
    w = NULL;
done:
    writer_free(w);
    return rc;
}

typedef struct fill_job {
    tp_pq_writer *w;
    const tp_frame *f;
    size_t lo, hi; /* rows of f, buffered at row w->buffered */
} fill_job;

static tp_status fill_fn(void *ctx, size_t c0, size_t c1, int tid) {
    fill_job *fj = ctx;
    tp_pq_writer *w = fj->w;
    (void)tid;
    for (size_t i = c0; i < c1; i++) {
        wcol *c = &w->cols[i];
        const tp_column *src = tp_frame_col(fj->f, i);
        tp_status rc = fill_values(w, c, src, fj->lo, fj->hi, w->buffered);
        if (rc == TP_OK) rc = fill_validity(c, src, fj->lo, fj->hi, w->buffered);
        if (rc != TP_OK) return rc;
    }
    return TP_OK;
}

tp_status tp_pq_writer_write(tp_pq_writer *w, const tp_frame *f) {
    tp_status rc = TP_OK;
    if (w->failed) return tp_fail(w->fail_rc, "writing '%s': an earlier write failed", wpath(w));
    rc = tp_frame_validate(f);
    if (rc != TP_OK) return writer_fail(w, rc);
    rc = w->have_schema ? check_schema(w, f) : set_schema(w, f);
    if (rc != TP_OK) return writer_fail(w, rc);
    size_t n = tp_frame_n_rows(f), rg = w->opts.row_group_rows, lo = 0;
    while (lo < n) {
        if (w->buffered == 0 && n - lo >= rg) {
            rc = flush_direct(w, f, lo, lo + rg);
            if (rc != TP_OK) return writer_fail(w, rc);
            lo += rg;
            continue;
        }
        size_t take = rg - w->buffered;
        if (take > n - lo) take = n - lo;
        // Columns buffer independently: copy them on the threads when there is enough to share.
        fill_job fj = {w, f, lo, lo + take};
        int T = take * w->n_cols >= 65536 ? tp_threads_default() : 1;
        rc = tp_parallel_for(w->n_cols, T, fill_fn, &fj);
        if (rc != TP_OK) return writer_fail(w, rc);
        w->buffered += take;
        lo += take;
        if (w->buffered == rg) {
            rc = flush_buffered(w);
            if (rc != TP_OK) return writer_fail(w, rc);
        }
    }
    return TP_OK;
}

tp_status tp_pq_writer_close(tp_pq_writer *w) {
    tp_status rc = TP_OK;
    if (!w) return tp_fail(TP_ERR_ARG, "parquet writer: close of NULL writer");
    if (w->failed) {
        rc = tp_fail(w->fail_rc, "writing '%s': an earlier write failed; nothing was written",
                     wpath(w));
        goto done;
    }
    if (w->n_cols == 0) { /* readers (DuckDB, Arrow) refuse a schema without columns */
        rc = tp_fail(TP_ERR_ARG,
                     "writing '%s': no columns to write (write a frame with its columns, "
                     "even with 0 rows)",
                     wpath(w));
        tp_atomic_abort(&w->af);
        goto done;
    }
    rc = flush_buffered(w);
    if (rc == TP_OK) rc = write_footer(w);
    if (rc == TP_OK) rc = tp_atomic_commit(&w->af);
    else tp_atomic_abort(&w->af);
done:
    writer_free(w);
    return rc;
}

void tp_pq_writer_abort(tp_pq_writer *w) {
    if (!w) return;
    if (!w->failed) tp_atomic_abort(&w->af);
    writer_free(w);
}

tp_status tp_pq_write_file(const tp_frame *f, const char *path, const tp_pq_write_opts *opts) {
    tp_pq_writer *w = NULL;
    tp_status rc = tp_pq_writer_open(path, opts, &w);
    if (rc != TP_OK) return rc;
    rc = tp_pq_writer_write(w, f);
    if (rc != TP_OK) {
        tp_pq_writer_abort(w);
        return rc;
    }
    return tp_pq_writer_close(w);
}

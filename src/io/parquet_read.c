/* parquet_read.c: the Parquet reader. Opens a file by mmap (or a caller's buffer), parses the
 * footer, maps each flat column to a tp_dtype and decodes one row group at a time into a frame,
 * its columns on worker threads: pages (v1, v2, dictionary) are CRC-checked, decompressed and
 * decoded straight into the column storage. Every offset and size read from the file is checked
 * against the file before use. */
#include "io/codec.h"
#include "io/parquet_decode.h"
#include "io/parquet_internal.h"
#include "io/parquet_meta.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

// how the physical values of a column become tp_dtype values
typedef enum conv {
    CV_BOOL,    /* BOOLEAN -> BOOL */
    CV_I32,     /* INT32 -> I32 / DATE (also TIME millis, INT_8/16/32, UINT_8/16) */
    CV_U32,     /* INT32 (UINT_32) -> I64 */
    CV_I64,     /* INT64 -> I64 / TIMESTAMP (also UINT_64 as its bits) */
    CV_INT96,   /* INT96 -> TIMESTAMP micros */
    CV_F32,     /* FLOAT -> F32 */
    CV_F64,     /* DOUBLE -> F64 */
    CV_F16,     /* FLBA(2) FLOAT16 -> F32 */
    CV_DEC32,   /* INT32 DECIMAL -> F64 */
    CV_DEC64,   /* INT64 DECIMAL -> F64 */
    CV_DECBA,   /* BYTE_ARRAY / FLBA DECIMAL -> F64 */
    CV_STR,     /* BYTE_ARRAY / FLBA -> STR or BYTES codes */
} conv;

typedef struct pq_col {
    const char *name;            /* the schema element's name */
    const pq_schema_elem *se;    /* the leaf (flat columns) */
    int leaf;                    /* index into a row group's column chunks (first leaf if nested) */
    bool nested;                 /* a group or a repeated field: refused by name */
    char *bad;                   /* why the column cannot be read (bad type annotation), or NULL */
    int max_def;                 /* 0 required, 1 optional */
    tp_dtype dtype;
    tp_time_unit unit;
    conv cv;
    double scale;                /* decimals: 10^scale */
    int digits;                  /* decimals: the scale itself */
    bool uuid;                   /* FLBA(16) UUID: read as its canonical 36-character text */
    tp_strdict *dict;            /* strings: shared by every row group read from this reader */
} pq_col;

/* Decoding buffers, one set per worker thread, reused across pages and row groups. */
typedef struct pq_scratch {
    uint8_t *page_buf;           /* decompressed page */
    size_t page_cap;
    uint32_t *u32;               /* dictionary indices, RLE booleans */
    size_t u32_cap;
    uint32_t *lev;               /* definition levels */
    size_t lev_cap;
    uint8_t *vals;               /* BYTE_STREAM_SPLIT output, DELTA_BYTE_ARRAY value */
    size_t vals_cap;
    int64_t *i64;                /* DELTA_BINARY_PACKED values, delta lengths */
    size_t i64_cap;
    uint8_t *dict_vals;          /* current chunk's dictionary, in the output type */
    size_t dict_cap;
    uint8_t *nulls_buf;          /* non-null values of a page with nulls, before spreading */
    size_t nulls_cap;
} pq_scratch;

static void scratch_free(pq_scratch *r) {
    tp_free(r->page_buf);
    tp_free(r->u32);
    tp_free(r->lev);
    tp_free(r->vals);
    tp_free(r->i64);
    tp_free(r->dict_vals);
    tp_free(r->nulls_buf);
}

struct tp_pq_reader {
    char *path;
    const uint8_t *data;
    size_t size;
    bool mapped;
    uint8_t *owned;              /* tp_pq_open_memory copies */
    size_t data_end;             /* offset of the footer: pages live before it */
    pq_file_meta meta;
    pq_col *cols;
    size_t n_cols, n_leaves;
    size_t *sel;
    size_t n_sel;
    bool sel_all;
    pq_scratch *scr;             /* one per decoding thread, reused across row groups */
    int n_scr;
};

/* Sizes we refuse as corrupt rather than try to allocate (a hostile header must not be able to
 * make us allocate much more than the file holds). */
#define PAGE_LIMIT_FLOOR ((size_t)256 << 20)
#define ROWGROUP_BYTES_FLOOR ((size_t)256 << 20)

static tp_status grow(void **buf, size_t *cap, size_t need) {
    if (need <= *cap) return TP_OK;
    size_t c = *cap ? *cap : 4096;
    while (c < need) c *= 2;
    void *p = tp_realloc(*buf, c);
    if (!p) return tp_fail(TP_ERR_NOMEM, "out of memory for a %zu-byte decoding buffer", c);
    *buf = p;
    *cap = c;
    return TP_OK;
}

// ---- schema ----

/* Walk the subtree at schema[*i], advancing *i past it; counts its leaves. */
static tp_status walk_subtree(const pq_file_meta *m, uint32_t *i, int depth, size_t *leaves) {
    if (*i >= m->n_schema) return tp_fail(TP_ERR_FORMAT, "schema tree is truncated");
    if (depth > 64) return tp_fail(TP_ERR_FORMAT, "schema nested too deeply");
    const pq_schema_elem *e = &m->schema[(*i)++];
    if (e->num_children < 0) return tp_fail(TP_ERR_FORMAT, "schema element '%s' has a negative child count", e->name);
    if (e->num_children == 0) {
        if (e->type < 0 || e->type > PQ_FLBA)
            return tp_fail(TP_ERR_FORMAT, "schema leaf '%s' has no valid physical type", e->name);
        (*leaves)++;
        return TP_OK;
    }
    for (int32_t k = 0; k < e->num_children; k++) {
        tp_status rc = walk_subtree(m, i, depth + 1, leaves);
        if (rc != TP_OK) return rc;
    }
    return TP_OK;
}

static double pow10i(int s) {
    double r = 1;
    for (int k = 0; k < s; k++) r *= 10;
    return r;
}

/* The dtype a flat leaf reads as. */
static tp_status map_type(pq_col *c) {
    const pq_schema_elem *e = c->se;
    int t = e->type, lt = e->logical, ct = e->converted;
    c->unit = TP_UNIT_SECONDS;
    bool is_dec = lt == PQ_LT_DECIMAL || (lt == 0 && ct == PQ_CT_DECIMAL);
    if (is_dec) {
        int scale = lt == PQ_LT_DECIMAL ? e->lt_scale : e->scale;
        if (scale < 0 || scale > 76) return tp_fail(TP_ERR_FORMAT, "column '%s': decimal scale %d is invalid", c->name, scale);
        c->scale = pow10i(scale);
        c->digits = scale;
    }
    switch (t) {
    case PQ_BOOLEAN: c->dtype = TP_DTYPE_BOOL; c->cv = CV_BOOL; return TP_OK;
    case PQ_INT32:
        if (is_dec) { c->dtype = TP_DTYPE_F64; c->cv = CV_DEC32; return TP_OK; }
        if (lt == PQ_LT_DATE || (lt == 0 && ct == PQ_CT_DATE)) { c->dtype = TP_DTYPE_DATE; c->cv = CV_I32; return TP_OK; }
        if ((lt == PQ_LT_INTEGER && !e->lt_signed && e->lt_bits == 32) || (lt == 0 && ct == PQ_CT_UINT_32)) {
            c->dtype = TP_DTYPE_I64;
            c->cv = CV_U32;
            return TP_OK;
        }
        c->dtype = TP_DTYPE_I32;
        c->cv = CV_I32;
        return TP_OK;
    case PQ_INT64:
        if (is_dec) { c->dtype = TP_DTYPE_F64; c->cv = CV_DEC64; return TP_OK; }
        c->cv = CV_I64;
        c->dtype = TP_DTYPE_I64;
        if (lt == PQ_LT_TIMESTAMP) {
            c->dtype = TP_DTYPE_TIMESTAMP;
            c->unit = e->lt_unit == PQ_UNIT_MILLIS ? TP_UNIT_MILLIS
                      : e->lt_unit == PQ_UNIT_NANOS ? TP_UNIT_NANOS : TP_UNIT_MICROS;
        } else if (lt == 0 && ct == PQ_CT_TIMESTAMP_MILLIS) {
            c->dtype = TP_DTYPE_TIMESTAMP;
            c->unit = TP_UNIT_MILLIS;
        } else if (lt == 0 && ct == PQ_CT_TIMESTAMP_MICROS) {
            c->dtype = TP_DTYPE_TIMESTAMP;
            c->unit = TP_UNIT_MICROS;
        }
        return TP_OK;
    case PQ_INT96: c->dtype = TP_DTYPE_TIMESTAMP; c->unit = TP_UNIT_MICROS; c->cv = CV_INT96; return TP_OK;
    case PQ_FLOAT: c->dtype = TP_DTYPE_F32; c->cv = CV_F32; return TP_OK;
    case PQ_DOUBLE: c->dtype = TP_DTYPE_F64; c->cv = CV_F64; return TP_OK;
    case PQ_FLBA:
        if (e->type_length <= 0)
            return tp_fail(TP_ERR_FORMAT, "column '%s': FIXED_LEN_BYTE_ARRAY length %d is invalid", c->name,
                           e->type_length);
        if (is_dec && e->type_length > 64)
            return tp_fail(TP_ERR_FORMAT, "column '%s': a %d-byte decimal is too wide", c->name, e->type_length);
        if (is_dec) { c->dtype = TP_DTYPE_F64; c->cv = CV_DECBA; return TP_OK; }
        if (lt == PQ_LT_FLOAT16) {
            if (e->type_length != 2)
                return tp_fail(TP_ERR_FORMAT, "column '%s': FLOAT16 needs 2 bytes, not %d", c->name, e->type_length);
            c->dtype = TP_DTYPE_F32;
            c->cv = CV_F16;
            return TP_OK;
        }
        c->cv = CV_STR;
        c->uuid = lt == PQ_LT_UUID && e->type_length == 16;
        c->dtype = c->uuid ? TP_DTYPE_STR : TP_DTYPE_BYTES;
        return TP_OK;
    case PQ_BYTE_ARRAY:
        if (is_dec) { c->dtype = TP_DTYPE_F64; c->cv = CV_DECBA; return TP_OK; }
        c->cv = CV_STR;
        if (lt == PQ_LT_STRING || lt == PQ_LT_ENUM || lt == PQ_LT_JSON ||
            (lt == 0 && (ct == PQ_CT_UTF8 || ct == PQ_CT_ENUM || ct == PQ_CT_JSON)))
            c->dtype = TP_DTYPE_STR;
        else c->dtype = TP_DTYPE_BYTES;
        return TP_OK;
    }
    return tp_fail(TP_ERR_FORMAT, "column '%s': unknown physical type %d", c->name, t);
}

static tp_status build_columns(tp_pq_reader *r) {
    const pq_file_meta *m = &r->meta;
    const pq_schema_elem *root = &m->schema[0];
    if (root->num_children <= 0 && m->n_schema > 1)
        return tp_fail(TP_ERR_FORMAT, "schema root has no children");
    if ((size_t)root->num_children >= m->n_schema + 1u)
        return tp_fail(TP_ERR_FORMAT, "schema root claims %d children but the schema has %u elements",
                       root->num_children, m->n_schema);
    size_t n = root->num_children > 0 ? (size_t)root->num_children : 0;
    r->cols = tp_calloc(n ? n : 1, sizeof *r->cols);
    if (!r->cols) return tp_fail(TP_ERR_NOMEM, "out of memory");
    uint32_t i = 1;
    size_t leaves = 0;
    for (size_t k = 0; k < n; k++) {
        pq_col *c = &r->cols[k];
        uint32_t at = i;
        if (at >= m->n_schema) return tp_fail(TP_ERR_FORMAT, "schema tree is truncated");
        c->se = &m->schema[at];
        c->name = c->se->name;
        c->leaf = (int)leaves;
        tp_status rc = walk_subtree(m, &i, 1, &leaves);
        if (rc != TP_OK) return rc;
        r->n_cols = k + 1;
        if (c->se->num_children > 0 || c->se->repetition == PQ_REPEATED) {
            c->nested = true;
            continue;
        }
        c->max_def = c->se->repetition == PQ_OPTIONAL ? 1 : 0;
        if (map_type(c) != TP_OK) { // only this column is unreadable: keep the others
            c->bad = tp_strdup(tp_last_error());
            if (!c->bad) return tp_fail(TP_ERR_NOMEM, "out of memory");
        }
    }
    if (i != m->n_schema)
        return tp_fail(TP_ERR_FORMAT, "schema has %u elements but its tree uses %u", m->n_schema, i);
    r->n_leaves = leaves;
    // duplicate top-level names would make frames ambiguous: refuse them (by name)
    for (size_t a = 0; a < n; a++)
        for (size_t b = a + 1; b < n; b++)
            if (strcmp(r->cols[a].name, r->cols[b].name) == 0)
                return tp_fail(TP_ERR_FORMAT, "column name '%s' appears twice in the schema", r->cols[a].name);
    return TP_OK;
}

// ---- open / close ----

static tp_status open_common(tp_pq_reader *r) {
    const uint8_t *d = r->data;
    size_t n = r->size;
    if (n >= 4 && memcmp(d + n - 4, "PARE", 4) == 0)
        return tp_fail(TP_ERR_UNSUPPORTED, "the file is encrypted (encrypted footer, magic PARE): not supported");
    if (n < 12) return tp_fail(TP_ERR_FORMAT, "not a Parquet file (only %zu bytes)", n);
    if (memcmp(d, "PAR1", 4) != 0 && memcmp(d, "PARE", 4) != 0)
        return tp_fail(TP_ERR_FORMAT, "not a Parquet file (no PAR1 magic at the start)");
    if (memcmp(d + n - 4, "PAR1", 4) != 0)
        return tp_fail(TP_ERR_FORMAT, "not a Parquet file or truncated (no PAR1 magic at the end)");
    uint32_t flen;
    memcpy(&flen, d + n - 8, 4);
    if ((size_t)flen > n - 12)
        return tp_fail(TP_ERR_FORMAT, "footer length %u exceeds the file size %zu", flen, n);
    r->data_end = n - 8 - flen;
    tp_status rc = tp_pq_meta_parse(d + r->data_end, flen, &r->meta);
    if (rc != TP_OK) return rc;
    if (r->meta.encrypted)
        return tp_fail(TP_ERR_UNSUPPORTED, "the file is encrypted (plaintext footer with encryption metadata): not supported");
    if (r->meta.num_rows < 0) return tp_fail(TP_ERR_FORMAT, "negative row count %lld", (long long)r->meta.num_rows);
    if ((rc = build_columns(r)) != TP_OK) return rc;
    int64_t total = 0;
    for (uint32_t g = 0; g < r->meta.n_row_groups; g++) {
        const pq_row_group *rg = &r->meta.row_groups[g];
        if (rg->num_rows < 0 || rg->num_rows > INT32_MAX)
            return tp_fail(TP_ERR_FORMAT, "row group %u has an invalid row count %lld", g, (long long)rg->num_rows);
        if (rg->n_columns != r->n_leaves)
            return tp_fail(TP_ERR_FORMAT, "row group %u has %u column chunks, the schema has %zu leaves", g,
                           rg->n_columns, r->n_leaves);
        for (uint32_t k = 0; k < rg->n_columns; k++)
            if (rg->columns[k].encrypted)
                return tp_fail(TP_ERR_UNSUPPORTED, "column chunk '%s' is encrypted: not supported",
                               rg->columns[k].path ? rg->columns[k].path : "?");
        total += rg->num_rows;
    }
    // some writers leave FileMetaData.num_rows at 0: the row groups (checked against their pages) rule
    r->meta.num_rows = total;
    r->sel_all = true;
    return TP_OK;
}

static tp_status finish_open(tp_pq_reader *r, tp_pq_reader **out) {
    tp_status rc = open_common(r);
    if (rc != TP_OK) {
        rc = tp_fail_context(rc, "'%s'", r->path);
        tp_pq_close(r);
        return rc;
    }
    *out = r;
    return TP_OK;
}

tp_status tp_pq_open(const char *path, tp_pq_reader **out) {
    *out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return tp_fail(TP_ERR_IO, "cannot open '%s': %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return tp_fail(TP_ERR_IO, "cannot read '%s': %s", path, strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return tp_fail(TP_ERR_IO, "cannot read '%s': %s", path, S_ISDIR(st.st_mode) ? "is a directory" : "not a regular file");
    }
    tp_pq_reader *r = tp_calloc(1, sizeof *r);
    if (!r || !(r->path = tp_strdup(path))) {
        close(fd);
        tp_free(r);
        return tp_fail(TP_ERR_NOMEM, "out of memory opening '%s'", path);
    }
    r->size = (size_t)st.st_size;
    if (r->size > 0) {
        void *p = mmap(NULL, r->size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p == MAP_FAILED) {
            int e = errno;
            close(fd);
            tp_pq_close(r);
            return tp_fail(TP_ERR_IO, "cannot map '%s': %s", path, strerror(e));
        }
        r->data = p;
        r->mapped = true;
    } else r->data = (const uint8_t *)"";
    close(fd);
    return finish_open(r, out);
}

tp_status tp_pq_open_memory(const void *buf, size_t n, const char *name, tp_pq_reader **out) {
    *out = NULL;
    tp_pq_reader *r = tp_calloc(1, sizeof *r);
    if (!r || !(r->path = tp_strdup(name ? name : "<memory>")) || !(r->owned = tp_malloc(n ? n : 1))) {
        if (r) tp_free(r->path);
        tp_free(r);
        return tp_fail(TP_ERR_NOMEM, "out of memory opening a %zu-byte buffer", n);
    }
    if (n) memcpy(r->owned, buf, n);
    r->data = r->owned;
    r->size = n;
    return finish_open(r, out);
}

void tp_pq_close(tp_pq_reader *r) {
    if (!r) return;
    if (r->mapped) munmap((void *)r->data, r->size);
    tp_free(r->owned);
    for (size_t i = 0; r->cols && i < r->n_cols; i++) {
        tp_strdict_unref(r->cols[i].dict);
        tp_free(r->cols[i].bad);
    }
    tp_free(r->cols);
    tp_pq_meta_free(&r->meta);
    tp_free(r->sel);
    for (int t = 0; t < r->n_scr; t++) scratch_free(&r->scr[t]);
    tp_free(r->scr);
    tp_free(r->path);
    tp_free(r);
}

int64_t tp_pq_n_rows(const tp_pq_reader *r) { return r->meta.num_rows; }
size_t tp_pq_n_row_groups(const tp_pq_reader *r) { return r->meta.n_row_groups; }
size_t tp_pq_n_columns(const tp_pq_reader *r) { return r->n_cols; }
const char *tp_pq_column_name(const tp_pq_reader *r, size_t i) {
    return i < r->n_cols ? r->cols[i].name : NULL;
}
const pq_file_meta *tp_pq_meta(const tp_pq_reader *r) { return &r->meta; }

/* TP_OK if column c can be read; else the error naming it. */
static tp_status col_refused(const tp_pq_reader *r, const pq_col *c) {
    if (c->nested)
        return tp_fail(TP_ERR_UNSUPPORTED, "'%s': column '%s' is nested or repeated: not supported", r->path, c->name);
    if (c->bad) return tp_fail(TP_ERR_FORMAT, "'%s': %s", r->path, c->bad);
    return TP_OK;
}

tp_status tp_pq_column_type(const tp_pq_reader *r, size_t i, tp_dtype *type, tp_time_unit *unit) {
    if (i >= r->n_cols) return tp_fail(TP_ERR_ARG, "'%s': column %zu out of range (%zu columns)", r->path, i, r->n_cols);
    const pq_col *c = &r->cols[i];
    tp_status rc = col_refused(r, c);
    if (rc != TP_OK) return rc;
    if (type) *type = c->dtype;
    if (unit) *unit = c->unit;
    return TP_OK;
}

tp_status tp_pq_select(tp_pq_reader *r, const char *const *names, size_t n) {
    if (!names || n == 0) {
        r->sel_all = true;
        r->n_sel = 0;
        return TP_OK;
    }
    size_t *sel = tp_malloc(n * sizeof *sel);
    if (!sel) return tp_fail(TP_ERR_NOMEM, "out of memory");
    for (size_t k = 0; k < n; k++) {
        size_t i = 0;
        while (i < r->n_cols && strcmp(r->cols[i].name, names[k]) != 0) i++;
        tp_status rc = TP_OK;
        if (i == r->n_cols) rc = tp_fail(TP_ERR_NOTFOUND, "'%s': no column named '%s'", r->path, names[k]);
        else rc = col_refused(r, &r->cols[i]);
        for (size_t j = 0; rc == TP_OK && j < k; j++)
            if (sel[j] == i) rc = tp_fail(TP_ERR_ARG, "'%s': column '%s' selected twice", r->path, names[k]);
        if (rc != TP_OK) {
            tp_free(sel);
            return rc;
        }
        sel[k] = i;
    }
    tp_free(r->sel);
    r->sel = sel;
    r->n_sel = n;
    r->sel_all = false;
    return TP_OK;
}

// ---- value conversion ----

static float half_to_float(uint16_t h) {
    uint32_t s = (uint32_t)(h >> 15) << 31, e = (h >> 10) & 0x1f, m = h & 0x3ff, bits;
    if (e == 0x1f) bits = s | 0x7f800000u | (m << 13); // inf / nan
    else if (e) bits = s | ((e + 112) << 23) | (m << 13);
    else if (m == 0) bits = s;
    else { // subnormal: normalise
        e = 113;
        while (!(m & 0x400)) {
            m <<= 1;
            e--;
        }
        bits = s | (e << 23) | ((m & 0x3ff) << 13);
    }
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

/* Decimals to double, correctly rounded (as strtod of the decimal text would be): when the
 * unscaled value and 10^scale are both exact doubles one division rounds once; otherwise the
 * digits go through strtod. */
static double dec_slow_i64(int64_t v, int digits) {
    char buf[48];
    snprintf(buf, sizeof buf, "%llde-%d", (long long)v, digits);
    return strtod(buf, NULL);
}

static double dec_i64(int64_t v, const pq_col *c) {
    if (c->digits <= 22 && v > -(1LL << 53) && v < (1LL << 53)) return (double)v / c->scale;
    return dec_slow_i64(v, c->digits);
}

/* Big-endian two's complement integer of n bytes with the column's scale. */
static double dec_be(const uint8_t *p, size_t n, const pq_col *c) {
    if (n == 0) return 0;
    bool neg = p[0] & 0x80;
    // drop sign-extension bytes so that up to 8 significant bytes go through int64
    while (n > 1 && p[0] == (neg ? 0xff : 0x00) && ((p[1] & 0x80) != 0) == neg) {
        p++;
        n--;
    }
    if (n <= 8) {
        uint64_t u = neg ? ~0ull : 0;
        for (size_t k = 0; k < n; k++) u = u << 8 | p[k];
        return dec_i64((int64_t)u, c);
    }
    // wide: magnitude in base 256, then decimal digits by repeated division by 10
    uint8_t mag[64];
    char digits[200];
    if (n > sizeof mag) return NAN; // callers refuse wider values
    unsigned carry = 1;
    for (size_t k = n; k-- > 0;) { // two's complement negation when negative
        unsigned b = neg ? (uint8_t)~p[k] + carry : p[k];
        carry = neg ? b >> 8 : 0;
        mag[k] = (uint8_t)b;
    }
    size_t nd = 0, start = 0;
    while (start < n) {
        unsigned rem = 0;
        for (size_t k = start; k < n; k++) {
            unsigned cur = rem << 8 | mag[k];
            mag[k] = (uint8_t)(cur / 10);
            rem = cur % 10;
        }
        digits[nd++] = (char)('0' + rem);
        while (start < n && mag[start] == 0) start++;
    }
    char buf[240];
    size_t o = 0;
    if (neg) buf[o++] = '-';
    while (nd) buf[o++] = digits[--nd];
    snprintf(buf + o, sizeof buf - o, "e-%d", c->digits);
    return strtod(buf, NULL);
}

/* INT96 (nanoseconds of the day, Julian day) -> microseconds since the epoch. */
static int64_t int96_to_micros(const uint8_t *p) {
    int64_t nanos;
    int32_t jd;
    memcpy(&nanos, p, 8);
    memcpy(&jd, p + 8, 4);
    uint64_t days = (uint64_t)((int64_t)jd - 2440588);
    return (int64_t)(days * 86400000000ull + (uint64_t)(nanos / 1000)); // wraps, never traps
}

/* n fixed-width physical values at src (PLAIN layout) -> n output values at out. */
static void convert_fixed(const pq_col *c, const uint8_t *src, size_t n, void *out) {
    size_t w = c->se->type == PQ_FLBA ? (size_t)c->se->type_length : 0;
    switch (c->cv) {
    case CV_I32:
    case CV_F32: memcpy(out, src, n * 4); return;
    case CV_I64:
    case CV_F64: memcpy(out, src, n * 8); return;
    case CV_U32:
        for (size_t i = 0; i < n; i++) {
            uint32_t v;
            memcpy(&v, src + 4 * i, 4);
            ((int64_t *)out)[i] = v;
        }
        return;
    case CV_DEC32:
        for (size_t i = 0; i < n; i++) {
            int32_t v;
            memcpy(&v, src + 4 * i, 4);
            ((double *)out)[i] = dec_i64(v, c);
        }
        return;
    case CV_DEC64:
        for (size_t i = 0; i < n; i++) {
            int64_t v;
            memcpy(&v, src + 8 * i, 8);
            ((double *)out)[i] = dec_i64(v, c);
        }
        return;
    case CV_INT96:
        for (size_t i = 0; i < n; i++) ((int64_t *)out)[i] = int96_to_micros(src + 12 * i);
        return;
    case CV_F16:
        for (size_t i = 0; i < n; i++) ((float *)out)[i] = half_to_float((uint16_t)(src[2 * i] | src[2 * i + 1] << 8));
        return;
    case CV_DECBA:
        for (size_t i = 0; i < n; i++) ((double *)out)[i] = dec_be(src + w * i, w, c);
        return;
    case CV_BOOL:
    case CV_STR: break; // not fixed-width conversions
    }
    TP_ASSERT(0);
}

/* n DELTA_BINARY_PACKED values (64-bit wrap-around; INT32 columns keep the low 32 bits). */
static void convert_i64(const pq_col *c, const int64_t *v, size_t n, void *out) {
    switch (c->cv) {
    case CV_I32:
        for (size_t i = 0; i < n; i++) ((int32_t *)out)[i] = (int32_t)(uint32_t)(uint64_t)v[i];
        return;
    case CV_U32:
        for (size_t i = 0; i < n; i++) ((int64_t *)out)[i] = (int64_t)(uint32_t)(uint64_t)v[i];
        return;
    case CV_DEC32:
        for (size_t i = 0; i < n; i++) ((double *)out)[i] = dec_i64((int32_t)(uint32_t)(uint64_t)v[i], c);
        return;
    case CV_I64: memcpy(out, v, n * 8); return;
    case CV_DEC64:
        for (size_t i = 0; i < n; i++) ((double *)out)[i] = dec_i64(v[i], c);
        return;
    default: TP_ASSERT(0);
    }
}

/* Physical width in bytes of fixed-width types (0 for BOOLEAN and BYTE_ARRAY). */
static size_t phys_width(const pq_schema_elem *e) {
    switch (e->type) {
    case PQ_INT32:
    case PQ_FLOAT: return 4;
    case PQ_INT64:
    case PQ_DOUBLE: return 8;
    case PQ_INT96: return 12;
    case PQ_FLBA: return (size_t)e->type_length;
    default: return 0;
    }
}

// byte-array sink: strings are interned (with a one-entry cache for runs), decimals converted
typedef struct ba_ctx {
    const pq_col *c;
    void *out;
    const uint8_t *last;
    uint32_t last_len;
    int32_t last_code;
    bool no_cache;               /* DELTA_BYTE_ARRAY rebuilds values in one buffer: no caching */
} ba_ctx;

static tp_status ba_sink(void *vctx, size_t i, const uint8_t *p, uint32_t len) {
    ba_ctx *x = vctx;
    if (x->c->cv == CV_DECBA) {
        if (len > 64) return tp_fail(TP_ERR_FORMAT, "decimal of %u bytes is too wide", len);
        ((double *)x->out)[i] = dec_be(p, len, x->c);
        return TP_OK;
    }
    int32_t code;
    char text[36];
    if (x->c->uuid && len == 16) { // 8-4-4-4-12 lower-case hex, as every UUID is printed
        static const char hex[] = "0123456789abcdef";
        for (int k = 0, o = 0; k < 16; k++) {
            if (k == 4 || k == 6 || k == 8 || k == 10) text[o++] = '-';
            text[o++] = hex[p[k] >> 4];
            text[o++] = hex[p[k] & 15];
        }
        return tp_strdict_intern(x->c->dict, text, sizeof text, &((int32_t *)x->out)[i]);
    }
    if (x->last && len == x->last_len && memcmp(p, x->last, len) == 0) code = x->last_code;
    else {
        tp_status rc = tp_strdict_intern(x->c->dict, (const char *)p, len, &code);
        if (rc != TP_OK) return rc;
        x->last = x->no_cache ? NULL : p;
        x->last_len = len;
        x->last_code = code;
    }
    ((int32_t *)x->out)[i] = code;
    return TP_OK;
}

/* FLBA values are plain fixed-size slices: feed them through the same sink. */
static tp_status flba_to_sink(const uint8_t *p, size_t w, size_t n, ba_ctx *x) {
    for (size_t i = 0; i < n; i++) {
        tp_status rc = ba_sink(x, i, p + i * w, (uint32_t)w);
        if (rc != TP_OK) return rc;
    }
    return TP_OK;
}

/* Before allocating for a page, check its claimed uncompressed size against what the codec can
 * produce from clen bytes (snappy records the size; deflate and lz4 have bounded ratios). */
static tp_status plausible_size(int codec, const uint8_t *src, size_t clen, size_t ulen) {
    size_t limit = PAGE_LIMIT_FLOOR;
    if (clen < SIZE_MAX / 1100 && clen * 1100 > limit) limit = clen * 1100;
    if (codec == TP_CODEC_SNAPPY) {
        uint64_t n = 0; // snappy's preamble: the uncompressed length as a varint
        for (size_t k = 0, sh = 0; k < clen && k < 5; k++, sh += 7) {
            n |= (uint64_t)(src[k] & 0x7f) << sh;
            if (!(src[k] & 0x80)) break;
        }
        if (n != ulen)
            return tp_fail(TP_ERR_FORMAT, "snappy page holds %llu bytes, the header says %zu", (unsigned long long)n, ulen);
    } else if (codec == TP_CODEC_GZIP) {
        limit = clen * 1032 + 1024; // deflate's maximum ratio
    } else if (codec == TP_CODEC_LZ4 || codec == TP_CODEC_LZ4_RAW) {
        limit = clen * 256 + 1024;  // lz4's maximum ratio (~255)
    }
    if (ulen > limit)
        return tp_fail(TP_ERR_FORMAT, "page claims %zu uncompressed bytes from %zu compressed: refusing as corrupt", ulen,
                       clen);
    return TP_OK;
}

// ---- page decoding ----

typedef struct chunk_state {
    pq_scratch *r;               /* this thread's buffers */
    pq_col *c;
    int codec;
    size_t dict_n;               /* entries in r->dict_vals; dict_seen says whether a page came */
    bool dict_seen;
    tp_column *col;
    size_t rows_done, num_rows;
} chunk_state;

/* Decode n non-null values of encoding enc from [p, p+len) into out (output dtype layout). */
static tp_status decode_values(chunk_state *s, int enc, const uint8_t *p, size_t len, size_t n, void *out) {
    pq_scratch *r = s->r;
    const pq_col *c = s->c;
    const pq_schema_elem *e = c->se;
    size_t ow = tp_dtype_size(c->dtype);
    tp_status rc;
    if (n == 0) return TP_OK;
    switch (enc) {
    case PQ_ENC_PLAIN_DICTIONARY:
    case PQ_ENC_RLE_DICTIONARY: {
        if (!s->dict_seen) return tp_fail(TP_ERR_FORMAT, "dictionary-encoded page without a dictionary page");
        if (len < 1) return tp_fail(TP_ERR_FORMAT, "dictionary-encoded page is empty");
        int bw = p[0];
        if (bw > 32) return tp_fail(TP_ERR_FORMAT, "dictionary index bit width %d > 32", bw);
        if ((rc = grow((void **)&r->u32, &r->u32_cap, n * 4)) != TP_OK) return rc;
        if ((rc = pq_rle_decode(p + 1, len - 1, bw, r->u32, n)) != TP_OK) return rc;
        const uint32_t *idx = r->u32;
        size_t dn = s->dict_n;
        for (size_t i = 0; i < n; i++)
            if (idx[i] >= dn)
                return tp_fail(TP_ERR_FORMAT, "dictionary index %u out of range (%zu entries)", idx[i], dn);
        if (ow == 1)
            for (size_t i = 0; i < n; i++) ((uint8_t *)out)[i] = r->dict_vals[idx[i]];
        else if (ow == 4)
            for (size_t i = 0; i < n; i++) ((uint32_t *)out)[i] = ((const uint32_t *)r->dict_vals)[idx[i]];
        else
            for (size_t i = 0; i < n; i++) ((uint64_t *)out)[i] = ((const uint64_t *)r->dict_vals)[idx[i]];
        return TP_OK;
    }
    case PQ_ENC_PLAIN:
        if (e->type == PQ_BOOLEAN) {
            if ((n + 7) / 8 > len) return tp_fail(TP_ERR_FORMAT, "PLAIN booleans truncated (%zu values in %zu bytes)", n, len);
            for (size_t i = 0; i < n; i++) ((uint8_t *)out)[i] = (p[i >> 3] >> (i & 7)) & 1;
            return TP_OK;
        }
        if (e->type == PQ_BYTE_ARRAY) {
            ba_ctx x = {.c = c, .out = out};
            return pq_plain_ba(p, len, n, ba_sink, &x);
        }
        {
            size_t w = phys_width(e);
            if (w == 0 || n > len / w)
                return tp_fail(TP_ERR_FORMAT, "PLAIN page of %zu bytes cannot hold %zu values", len, n);
            if (c->cv == CV_STR) {
                ba_ctx x = {.c = c, .out = out};
                return flba_to_sink(p, w, n, &x);
            }
            convert_fixed(c, p, n, out);
            return TP_OK;
        }
    case PQ_ENC_RLE:
        if (e->type != PQ_BOOLEAN) return tp_fail(TP_ERR_FORMAT, "RLE value encoding on a non-boolean column");
        {
            if (len < 4) return tp_fail(TP_ERR_FORMAT, "RLE booleans lack their length prefix");
            uint32_t l;
            memcpy(&l, p, 4);
            if (l > len - 4) return tp_fail(TP_ERR_FORMAT, "RLE booleans length %u runs past the page", l);
            if ((rc = grow((void **)&r->u32, &r->u32_cap, n * 4)) != TP_OK) return rc;
            if ((rc = pq_rle_decode(p + 4, l, 1, r->u32, n)) != TP_OK) return rc;
            for (size_t i = 0; i < n; i++) ((uint8_t *)out)[i] = (uint8_t)r->u32[i];
            return TP_OK;
        }
    case PQ_ENC_DELTA_BINARY_PACKED: {
        if (e->type != PQ_INT32 && e->type != PQ_INT64)
            return tp_fail(TP_ERR_FORMAT, "DELTA_BINARY_PACKED on a %s column", tp_pq_type_name(e->type));
        if ((rc = grow((void **)&r->i64, &r->i64_cap, n * 8)) != TP_OK) return rc;
        size_t cnt, used;
        if ((rc = pq_delta_decode(p, len, r->i64, n, &cnt, &used)) != TP_OK) return rc;
        if (cnt != n) return tp_fail(TP_ERR_FORMAT, "DELTA_BINARY_PACKED holds %zu values, the page needs %zu", cnt, n);
        convert_i64(c, r->i64, n, out);
        return TP_OK;
    }
    case PQ_ENC_DELTA_LENGTH_BYTE_ARRAY:
    case PQ_ENC_DELTA_BYTE_ARRAY: {
        if (e->type != PQ_BYTE_ARRAY && !(enc == PQ_ENC_DELTA_BYTE_ARRAY && e->type == PQ_FLBA))
            return tp_fail(TP_ERR_FORMAT, "%s on a %s column", tp_pq_encoding_name(enc), tp_pq_type_name(e->type));
        if ((rc = grow((void **)&r->i64, &r->i64_cap, 2 * n * 8)) != TP_OK) return rc;
        ba_ctx x = {.c = c, .out = out};
        if (enc == PQ_ENC_DELTA_LENGTH_BYTE_ARRAY) return pq_delta_length_ba(p, len, n, r->i64, ba_sink, &x);
        if ((rc = grow((void **)&r->vals, &r->vals_cap, len + 1)) != TP_OK) return rc;
        if (e->type == PQ_FLBA && c->cv != CV_STR && c->cv != CV_DECBA) {
            // FLOAT16 via DELTA_BYTE_ARRAY: rebuild into byte slices, then convert
            return tp_fail(TP_ERR_UNSUPPORTED, "DELTA_BYTE_ARRAY on a FLOAT16 column is not supported");
        }
        x.no_cache = true;
        return pq_delta_ba(p, len, n, r->i64, r->vals, ba_sink, &x);
    }
    case PQ_ENC_BYTE_STREAM_SPLIT: {
        size_t w = phys_width(e);
        if (w == 0 || e->type == PQ_INT96)
            return tp_fail(TP_ERR_FORMAT, "BYTE_STREAM_SPLIT on a %s column", tp_pq_type_name(e->type));
        if (n > SIZE_MAX / w) return tp_fail(TP_ERR_FORMAT, "too many values");
        if ((rc = grow((void **)&r->vals, &r->vals_cap, n * w)) != TP_OK) return rc;
        if ((rc = pq_bss_decode(p, len, w, n, r->vals)) != TP_OK) return rc;
        if (c->cv == CV_STR) {
            ba_ctx x = {.c = c, .out = out};
            return flba_to_sink(r->vals, w, n, &x);
        }
        convert_fixed(c, r->vals, n, out);
        return TP_OK;
    }
    default:
        return tp_fail(TP_ERR_UNSUPPORTED, "value encoding %s (%d) is not supported", tp_pq_encoding_name(enc), enc);
    }
}

static tp_status read_dictionary(chunk_state *s, const pq_page_header *h, const uint8_t *p, size_t len) {
    pq_scratch *r = s->r;
    if (s->dict_seen) return tp_fail(TP_ERR_FORMAT, "second dictionary page in one column chunk");
    if (h->encoding != PQ_ENC_PLAIN && h->encoding != PQ_ENC_PLAIN_DICTIONARY)
        return tp_fail(TP_ERR_FORMAT, "dictionary page encoding %s is not PLAIN", tp_pq_encoding_name(h->encoding));
    size_t n = (size_t)h->num_values;
    // every dictionary entry takes at least one byte (a bit for booleans)
    size_t minw = s->c->se->type == PQ_BOOLEAN ? 0 : s->c->se->type == PQ_BYTE_ARRAY ? 4 : phys_width(s->c->se);
    if (minw && n > len / minw)
        return tp_fail(TP_ERR_FORMAT, "dictionary page of %zu bytes cannot hold %zu entries", len, n);
    if (!minw && n > len * 8) return tp_fail(TP_ERR_FORMAT, "dictionary page of %zu bytes cannot hold %zu entries", len, n);
    size_t ow = tp_dtype_size(s->c->dtype);
    tp_status rc = grow((void **)&r->dict_vals, &r->dict_cap, n * ow + 8);
    if (rc != TP_OK) return rc;
    if ((rc = decode_values(s, PQ_ENC_PLAIN, p, len, n, r->dict_vals)) != TP_OK) return rc;
    s->dict_n = n;
    s->dict_seen = true;
    return TP_OK;
}

/* Place n_vals decoded values (in r->vals-like buffer src) over n rows with def levels lev. */
/* Spread nonnull decoded values (src) over n rows following the definition levels in r->lev;
 * the rows between stay zero and are marked null. */
#define SCATTER(T)                                                                                  \
    do {                                                                                            \
        T *d = (T *)dst;                                                                            \
        const T *v = (const T *)src;                                                                \
        for (size_t i = 0; i < n; i++)                                                              \
            if (lev[i] == md) d[i] = v[j++];                                                         \
    } while (0)
static tp_status scatter(chunk_state *s, const uint32_t *lev, size_t n, const uint8_t *src) {
    size_t ow = tp_dtype_size(s->c->dtype), j = 0;
    uint32_t md = (uint32_t)s->c->max_def;
    uint8_t *dst = (uint8_t *)tp_column_data(s->col) + s->rows_done * ow;
    if (ow == 1) SCATTER(uint8_t);
    else if (ow == 4) SCATTER(uint32_t);
    else SCATTER(uint64_t);
    for (size_t i = 0; i < n; i++)
        if (lev[i] != md) {
            tp_status rc = tp_column_set_null(s->col, s->rows_done + i, true);
            if (rc != TP_OK) return rc;
        }
    return TP_OK;
}

/* Decode a page's values into the column at rows_done (through a side buffer when it has nulls). */
static tp_status page_values(chunk_state *s, int enc, size_t n, size_t nonnull, bool has_lev,
                             const uint8_t *p, size_t len) {
    pq_scratch *r = s->r;
    size_t ow = tp_dtype_size(s->c->dtype);
    tp_status rc;
    if (!has_lev || nonnull == n) {
        void *out = (uint8_t *)tp_column_data(s->col) + s->rows_done * ow;
        return decode_values(s, enc, p, len, n, out);
    }
    // decode_values may use every other scratch buffer (indices, BSS, DELTA): this one is its own
    if ((rc = grow((void **)&r->nulls_buf, &r->nulls_cap, nonnull * ow + 8)) != TP_OK) return rc;
    if ((rc = decode_values(s, enc, p, len, nonnull, r->nulls_buf)) != TP_OK) return rc;
    return scatter(s, r->lev, n, r->nulls_buf);
}

/* Definition levels that are one RLE run of max_def (a page without nulls, the common case for
 * OPTIONAL columns) need not be expanded. */
static bool levels_all_present(const uint8_t *p, size_t len, int bw, uint32_t md, size_t n) {
    uint64_t h = 0;
    size_t pos = 0;
    for (int sh = 0; pos < len && sh < 64; sh += 7) {
        uint8_t b = p[pos++];
        h |= (uint64_t)(b & 0x7f) << sh;
        if (!(b & 0x80)) break;
        if (pos == len) return false;
    }
    if ((h & 1) || (h >> 1) < n) return false;
    size_t vb = ((size_t)bw + 7) / 8;
    if (len - pos < vb) return false;
    uint32_t v = 0;
    for (size_t k = 0; k < vb; k++) v |= (uint32_t)p[pos + k] << (8 * k);
    return v == md;
}

static tp_status count_levels(chunk_state *s, size_t n, size_t *nonnull) {
    const uint32_t *lev = s->r->lev;
    size_t k = 0;
    uint32_t md = (uint32_t)s->c->max_def, any = 0;
    for (size_t i = 0; i < n; i++) { // branch-free so it vectorises; a level > md sets a bit above md
        any |= lev[i];
        k += lev[i] == md;
    }
    if (any > md)
        for (size_t i = 0; i < n; i++)
            if (lev[i] > md) return tp_fail(TP_ERR_FORMAT, "definition level %u exceeds the maximum %u", lev[i], md);
    *nonnull = k;
    return TP_OK;
}

static tp_status data_page_v1(chunk_state *s, const pq_page_header *h, const uint8_t *p, size_t len) {
    pq_scratch *r = s->r;
    size_t n = (size_t)h->num_values, nonnull = n;
    bool all = false;
    tp_status rc;
    if (n > s->num_rows - s->rows_done)
        return tp_fail(TP_ERR_FORMAT, "data page holds %zu values, only %zu rows remain", n, s->num_rows - s->rows_done);
    if (s->c->max_def > 0) {
        if ((rc = grow((void **)&r->lev, &r->lev_cap, n * 4 + 4)) != TP_OK) return rc;
        int bw = pq_bit_width((uint32_t)s->c->max_def);
        if (h->def_encoding == PQ_ENC_RLE) {
            if (len < 4) return tp_fail(TP_ERR_FORMAT, "definition levels lack their length prefix");
            uint32_t l;
            memcpy(&l, p, 4);
            if (l > len - 4) return tp_fail(TP_ERR_FORMAT, "definition levels length %u runs past the page", l);
            all = levels_all_present(p + 4, l, bw, (uint32_t)s->c->max_def, n);
            if (!all && (rc = pq_rle_decode(p + 4, l, bw, r->lev, n)) != TP_OK) return rc;
            p += 4 + l;
            len -= 4 + (size_t)l;
        } else if (h->def_encoding == PQ_ENC_BIT_PACKED) {
            size_t bytes = (n * (size_t)bw + 7) / 8;
            if (bytes > len) return tp_fail(TP_ERR_FORMAT, "BIT_PACKED definition levels truncated");
            if ((rc = pq_bitpacked_legacy_decode(p, bytes, bw, r->lev, n)) != TP_OK) return rc;
            p += bytes;
            len -= bytes;
        } else
            return tp_fail(TP_ERR_FORMAT, "definition level encoding %s is not supported", tp_pq_encoding_name(h->def_encoding));
        if (!all && (rc = count_levels(s, n, &nonnull)) != TP_OK) return rc;
    }
    if ((rc = page_values(s, h->encoding, n, nonnull, s->c->max_def > 0, p, len)) != TP_OK) return rc;
    s->rows_done += n;
    return TP_OK;
}

static tp_status data_page_v2(chunk_state *s, const pq_page_header *h, const uint8_t *body, size_t clen) {
    pq_scratch *r = s->r;
    size_t n = (size_t)h->num_values, nonnull = n;
    size_t rl = (size_t)h->rep_len, dl = (size_t)h->def_len;
    tp_status rc;
    if (n > s->num_rows - s->rows_done)
        return tp_fail(TP_ERR_FORMAT, "data page holds %zu values, only %zu rows remain", n, s->num_rows - s->rows_done);
    if (rl + dl > clen || rl + dl > (size_t)h->uncompressed_size)
        return tp_fail(TP_ERR_FORMAT, "page v2 level lengths (%zu + %zu) exceed the page size", rl, dl);
    if (s->c->max_def > 0) {
        if ((rc = grow((void **)&r->lev, &r->lev_cap, n * 4 + 4)) != TP_OK) return rc;
        int bw = pq_bit_width((uint32_t)s->c->max_def);
        if (!levels_all_present(body + rl, dl, bw, (uint32_t)s->c->max_def, n)) {
            if ((rc = pq_rle_decode(body + rl, dl, bw, r->lev, n)) != TP_OK) return rc;
            if ((rc = count_levels(s, n, &nonnull)) != TP_OK) return rc;
        }
    } // num_nulls is informational: the levels decide (as in Arrow's reader)
    const uint8_t *vp = body + rl + dl;
    size_t vlen = clen - rl - dl, ulen = (size_t)h->uncompressed_size - rl - dl;
    if (h->is_compressed && s->codec != TP_CODEC_UNCOMPRESSED && ulen > 0) {
        if ((rc = plausible_size(s->codec, vp, vlen, ulen)) != TP_OK) return rc;
        if ((rc = grow((void **)&r->page_buf, &r->page_cap, ulen)) != TP_OK) return rc;
        if ((rc = tp_codec_decompress((tp_codec)s->codec, vp, vlen, r->page_buf, ulen)) != TP_OK) return rc;
        vp = r->page_buf;
        vlen = ulen;
    } else if (ulen == 0) vlen = 0;
    if ((rc = page_values(s, h->encoding, n, nonnull, s->c->max_def > 0, vp, vlen)) != TP_OK) return rc;
    s->rows_done += n;
    return TP_OK;
}

// ---- column chunks ----

static tp_status read_chunk(const tp_pq_reader *r, pq_scratch *sc, pq_col *c, const pq_column_meta *cm,
                            size_t num_rows, tp_column *col, size_t *page_no) {
    tp_status rc;
    *page_no = 0;
    if (num_rows == 0) return TP_OK; // nothing to decode (writers may leave offsets at 0)
    if (!cm->present) return tp_fail(TP_ERR_FORMAT, "column chunk has no metadata");
    if (cm->file_path) return tp_fail(TP_ERR_UNSUPPORTED, "column chunk lives in another file ('%s')", cm->file_path);
    if (cm->type != c->se->type)
        return tp_fail(TP_ERR_FORMAT, "column chunk type %s differs from the schema's %s", tp_pq_type_name(cm->type),
                       tp_pq_type_name(c->se->type));
    if (cm->codec < 0 || cm->codec > TP_CODEC_LZ4_RAW) return tp_fail(TP_ERR_FORMAT, "unknown codec %d", cm->codec);
    int64_t start = cm->data_page_offset;
    if (cm->has_dictionary_page_offset && cm->dictionary_page_offset > 0 && cm->dictionary_page_offset < start)
        start = cm->dictionary_page_offset;
    if (start < 4 || (uint64_t)start >= r->data_end)
        return tp_fail(TP_ERR_FORMAT, "column chunk offset %lld is outside the data (%zu bytes)", (long long)start,
                       r->data_end);
    chunk_state s = {.r = sc, .c = c, .codec = cm->codec, .col = col, .num_rows = num_rows};
    size_t pos = (size_t)start, end = r->data_end;
    while (s.rows_done < num_rows) {
        if (pos >= end)
            return tp_fail(TP_ERR_FORMAT, "column chunk ends after %zu of %zu rows", s.rows_done, num_rows);
        pq_page_header h;
        size_t hl;
        (*page_no)++;
        if ((rc = tp_pq_page_header_parse(r->data + pos, end - pos, &h, &hl)) != TP_OK) return rc;
        pos += hl;
        size_t clen = (size_t)h.compressed_size, ulen = (size_t)h.uncompressed_size;
        if (clen > end - pos)
            return tp_fail(TP_ERR_FORMAT, "page of %zu bytes runs past the end of the data", clen);
        const uint8_t *body = r->data + pos;
        pos += clen;
        if (h.has_crc) {
            uint32_t crc = (uint32_t)crc32(0L, body, (uInt)clen);
            if (crc != h.crc)
                return tp_fail(TP_ERR_FORMAT, "page CRC mismatch (stored %08x, computed %08x): the page is corrupt", h.crc,
                               crc);
        }
        if (h.type == PQ_PAGE_DATA_V2) {
            if (!h.has_v2) return tp_fail(TP_ERR_FORMAT, "data page v2 without its header");
            if ((rc = data_page_v2(&s, &h, body, clen)) != TP_OK) return rc;
            continue;
        }
        if (h.type != PQ_PAGE_DATA && h.type != PQ_PAGE_DICTIONARY) continue; // index pages etc.
        const uint8_t *p = body;
        if (cm->codec != TP_CODEC_UNCOMPRESSED && ulen > 0) {
            if ((rc = plausible_size(cm->codec, body, clen, ulen)) != TP_OK) return rc;
            if ((rc = grow((void **)&sc->page_buf, &sc->page_cap, ulen + 1)) != TP_OK) return rc;
            if ((rc = tp_codec_decompress((tp_codec)cm->codec, body, clen, sc->page_buf, ulen)) != TP_OK) return rc;
            p = sc->page_buf;
        } else if (cm->codec == TP_CODEC_UNCOMPRESSED && ulen != clen)
            return tp_fail(TP_ERR_FORMAT, "uncompressed page sizes disagree (%zu vs %zu)", ulen, clen);
        if (h.type == PQ_PAGE_DICTIONARY) {
            if (!h.has_dict) return tp_fail(TP_ERR_FORMAT, "dictionary page without its header");
            if ((rc = read_dictionary(&s, &h, p, ulen)) != TP_OK) return rc;
        } else {
            if (!h.has_data) return tp_fail(TP_ERR_FORMAT, "data page without its header");
            if ((rc = data_page_v1(&s, &h, p, ulen)) != TP_OK) return rc;
        }
    }
    return TP_OK;
}

static tp_status make_column(pq_col *c, size_t rows, tp_column **out) {
    tp_status rc;
    if (tp_dtype_is_string(c->dtype) && !c->dict && (rc = tp_strdict_new(&c->dict)) != TP_OK) return rc;
    if ((rc = tp_column_new_dict(c->name, c->dtype, c->dict, rows, out)) != TP_OK) return rc;
    tp_column_set_unit(*out, c->unit);
    if ((rc = tp_column_resize(*out, rows)) != TP_OK) {
        tp_column_free(*out);
        *out = NULL;
    }
    return rc;
}

/* One row group's selected columns, decoded by worker threads that take columns in index order
 * (so every column before the first failing one is always decoded, and the error reported, the
 * first failing column's, does not depend on the thread count). */
typedef struct rg_job {
    tp_pq_reader *r;
    size_t g, rows, n;
    tp_column **out;             /* n decoded columns */
    tp_status *st;               /* n statuses */
    char **msg;                  /* n error messages */
    size_t next;                 /* next column to take (atomic) */
    int failed;                  /* a column failed: take no more (atomic) */
} rg_job;

static tp_status decode_column(rg_job *job, size_t k, pq_scratch *sc) {
    tp_pq_reader *r = job->r;
    pq_col *c = &r->cols[r->sel_all ? k : r->sel[k]];
    size_t page = 0;
    tp_status rc = make_column(c, job->rows, &job->out[k]);
    if (rc == TP_OK) rc = read_chunk(r, sc, c, &r->meta.row_groups[job->g].columns[c->leaf], job->rows, job->out[k], &page);
    if (rc == TP_OK) return TP_OK;
    if (page) return tp_fail_context(rc, "'%s': column '%s', row group %zu, page %zu", r->path, c->name, job->g, page);
    return tp_fail_context(rc, "'%s': column '%s', row group %zu", r->path, c->name, job->g);
}

static tp_status rg_worker(void *ctx, size_t lo, size_t hi, int tid) {
    rg_job *job = ctx;
    for (;;) {
        if (__atomic_load_n(&job->failed, __ATOMIC_RELAXED)) return TP_OK;
        size_t k = __atomic_fetch_add(&job->next, 1, __ATOMIC_RELAXED);
        if (k >= job->n) return TP_OK;
        job->st[k] = decode_column(job, k, &job->r->scr[tid]);
        if (job->st[k] != TP_OK) {
            job->msg[k] = tp_strdup(tp_last_error()); // NULL on OOM: the status still stands
            __atomic_store_n(&job->failed, 1, __ATOMIC_RELAXED);
        }
    }
}

/* Worker threads for n columns of rows rows: one unless the work pays for starting threads. */
static int decode_threads(size_t n, size_t rows) {
    int nt = tp_threads_default();
    if ((size_t)nt > n) nt = (int)n;
    if (rows * n < ((size_t)1 << 16) || nt < 1) nt = 1;
    return nt;
}

tp_status tp_pq_read_row_group(tp_pq_reader *r, size_t g, tp_frame **out) {
    *out = NULL;
    if (g >= r->meta.n_row_groups)
        return tp_fail(TP_ERR_ARG, "'%s': row group %zu out of range (%u row groups)", r->path, g, r->meta.n_row_groups);
    const pq_row_group *rg = &r->meta.row_groups[g];
    size_t rows = (size_t)rg->num_rows, n = r->sel_all ? r->n_cols : r->n_sel;
    // memory the frame will need; refuse implausible row counts before allocating
    size_t need = 0;
    for (size_t k = 0; k < n; k++) {
        pq_col *c = &r->cols[r->sel_all ? k : r->sel[k]];
        tp_status rc = col_refused(r, c);
        if (rc != TP_OK) return rc;
        need += rows * (tp_dtype_size(c->dtype) + 9); // values, validity, level and index scratch
    }
    if (need > ROWGROUP_BYTES_FLOOR && need / 64 > r->size)
        return tp_fail(TP_ERR_FORMAT, "'%s': row group %zu claims %zu rows (%zu bytes decoded) in a %zu-byte file: refusing as corrupt",
                       r->path, g, rows, need, r->size);
    int nt = decode_threads(n, rows);
    if (nt > r->n_scr) {
        pq_scratch *sc = tp_realloc(r->scr, (size_t)nt * sizeof *sc);
        if (!sc) return tp_fail(TP_ERR_NOMEM, "out of memory");
        memset(sc + r->n_scr, 0, (size_t)(nt - r->n_scr) * sizeof *sc);
        r->scr = sc;
        r->n_scr = nt;
    }
    rg_job job = {.r = r, .g = g, .rows = rows, .n = n};
    tp_frame *f = NULL;
    job.out = tp_calloc(n ? n : 1, sizeof *job.out);
    job.st = tp_calloc(n ? n : 1, sizeof *job.st);
    job.msg = tp_calloc(n ? n : 1, sizeof *job.msg);
    tp_status rc = job.out && job.st && job.msg ? TP_OK : tp_fail(TP_ERR_NOMEM, "out of memory");
    if (rc == TP_OK && n) rc = tp_parallel_for((size_t)nt, nt, rg_worker, &job);
    for (size_t k = 0; rc == TP_OK && k < n; k++) // the first failing column, in selection order
        if (job.st[k] != TP_OK) rc = job.msg[k] ? tp_fail(job.st[k], "%s", job.msg[k]) : job.st[k];
    if (rc == TP_OK) rc = tp_frame_new(&f);
    for (size_t k = 0; rc == TP_OK && k < n; k++) {
        rc = tp_frame_add_take(f, job.out[k]);
        job.out[k] = NULL;
    }
    for (size_t k = 0; k < n && job.out; k++) tp_column_free(job.out[k]);
    for (size_t k = 0; k < n && job.msg; k++) tp_free(job.msg[k]);
    tp_free(job.out);
    tp_free(job.st);
    tp_free(job.msg);
    if (rc != TP_OK) {
        tp_frame_free(f);
        return rc;
    }
    *out = f;
    return TP_OK;
}

/* An empty frame with the selected columns (files without row groups). */
static tp_status empty_frame(tp_pq_reader *r, tp_frame **out) {
    tp_frame *f = NULL;
    tp_status rc = tp_frame_new(&f);
    size_t n = r->sel_all ? r->n_cols : r->n_sel;
    for (size_t k = 0; rc == TP_OK && k < n; k++) {
        pq_col *c = &r->cols[r->sel_all ? k : r->sel[k]];
        tp_column *col;
        if ((rc = col_refused(r, c)) == TP_OK && (rc = make_column(c, 0, &col)) == TP_OK) rc = tp_frame_add_take(f, col);
    }
    if (rc != TP_OK) {
        tp_frame_free(f);
        return rc;
    }
    *out = f;
    return TP_OK;
}

tp_status tp_pq_read_all(tp_pq_reader *r, tp_frame **out) {
    tp_frame *all = NULL;
    tp_status rc = empty_frame(r, &all);
    for (size_t g = 0; rc == TP_OK && g < r->meta.n_row_groups; g++) {
        tp_frame *f = NULL;
        rc = tp_pq_read_row_group(r, g, &f);
        if (rc == TP_OK) rc = tp_frame_append(all, f);
        tp_frame_free(f);
    }
    if (rc != TP_OK) {
        tp_frame_free(all);
        return rc;
    }
    *out = all;
    return TP_OK;
}

tp_status tp_pq_read_file(const char *path, const char *const *cols, size_t n_cols, tp_frame **out) {
    tp_pq_reader *r = NULL;
    *out = NULL;
    tp_status rc = tp_pq_open(path, &r);
    if (rc == TP_OK) rc = tp_pq_select(r, cols, n_cols);
    if (rc == TP_OK) rc = tp_pq_read_all(r, out);
    tp_pq_close(r);
    return rc;
}

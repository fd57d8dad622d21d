/* csv_write.c: the CSV/TSV writer. RFC 4180 quoting only where a value needs it (delimiter,
 * quote, CR or LF inside, a leading BOM, or an empty string, which is written "" so it reads back
 * as an empty string while a null is an empty field). Values are formatted by tp_column_format (shortest
 * round-trip floats, YYYY-MM-DD HH:MM:SS[.ffffff] timestamps). Files are written atomically,
 * optionally gzip-compressed. */
#include "touchpoint/io.h"

#include <errno.h>
#include <string.h>
#include <zlib.h>

void tp_csv_write_opts_default(tp_csv_write_opts *o) {
    memset(o, 0, sizeof *o);
    o->delimiter = ',';
    o->header = true;
}

// ---- output sink: a buffer flushed to a FILE*, through deflate when gzip ----

enum { SINK_BUF = 1 << 18 };

typedef struct sink {
    FILE *fp;
    const char *what; /* path for messages */
    z_stream zs;
    bool gz;
    char *buf;
    size_t n;
    unsigned char *zbuf;
} sink;

static tp_status sink_drain(sink *s, int flush) {
    if (!s->gz) {
        if (s->n && fwrite(s->buf, 1, s->n, s->fp) != s->n)
            return tp_fail(TP_ERR_IO, "cannot write '%s': %s", s->what, strerror(errno));
        s->n = 0;
        return TP_OK;
    }
    s->zs.next_in = (Bytef *)s->buf;
    s->zs.avail_in = (uInt)s->n;
    for (;;) {
        s->zs.next_out = s->zbuf;
        s->zs.avail_out = SINK_BUF;
        int z = deflate(&s->zs, flush);
        if (z == Z_STREAM_ERROR) return tp_fail(TP_ERR_INTERNAL, "zlib deflate failed writing '%s'", s->what);
        size_t out = SINK_BUF - s->zs.avail_out;
        if (out && fwrite(s->zbuf, 1, out, s->fp) != out)
            return tp_fail(TP_ERR_IO, "cannot write '%s': %s", s->what, strerror(errno));
        if (flush == Z_FINISH ? z == Z_STREAM_END : (s->zs.avail_in == 0 && s->zs.avail_out != 0)) break;
    }
    s->n = 0;
    return TP_OK;
}

static tp_status sink_open(sink *s, FILE *fp, const char *what, bool gz) {
    memset(s, 0, sizeof *s);
    s->fp = fp;
    s->what = what;
    s->buf = tp_malloc(SINK_BUF);
    if (!s->buf) return tp_fail(TP_ERR_NOMEM, "out of memory writing '%s'", what);
    if (gz) {
        s->zbuf = tp_malloc(SINK_BUF);
        if (!s->zbuf) return tp_fail(TP_ERR_NOMEM, "out of memory writing '%s'", what);
        if (deflateInit2(&s->zs, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
            return tp_fail(TP_ERR_INTERNAL, "zlib deflateInit2 failed writing '%s'", what);
        s->gz = true;
    }
    return TP_OK;
}

static void sink_close(sink *s) {
    if (s->gz) deflateEnd(&s->zs);
    tp_free(s->buf);
    tp_free(s->zbuf);
}

static inline tp_status sink_put(sink *s, const char *p, size_t n) {
    if (n <= SINK_BUF - s->n) { /* the common case: fits */
        memcpy(s->buf + s->n, p, n);
        s->n += n;
        return TP_OK;
    }
    while (n) {
        if (s->n == SINK_BUF) {
            tp_status rc = sink_drain(s, Z_NO_FLUSH);
            if (rc != TP_OK) return rc;
        }
        size_t k = SINK_BUF - s->n < n ? SINK_BUF - s->n : n;
        memcpy(s->buf + s->n, p, k);
        s->n += k;
        p += k;
        n -= k;
    }
    return TP_OK;
}

static tp_status sink_finish(sink *s) {
    tp_status rc = sink_drain(s, s->gz ? Z_FINISH : Z_NO_FLUSH);
    if (rc == TP_OK && fflush(s->fp) != 0)
        rc = tp_fail(TP_ERR_IO, "cannot write '%s': %s", s->what, strerror(errno));
    return rc;
}

// ---- values ----

static bool needs_quotes(const char *p, size_t n, char delim) {
    if (n == 0) return true;
    /* A leading UTF-8 BOM would be taken for the file's BOM (and dropped) at the start of a file */
    if (n >= 3 && (uint8_t)p[0] == 0xEF && (uint8_t)p[1] == 0xBB && (uint8_t)p[2] == 0xBF) return true;
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        if (c == delim || c == '"' || c == '\n' || c == '\r') return true;
    }
    return false;
}

static tp_status put_text(sink *s, const char *p, size_t n, char delim) {
    if (!needs_quotes(p, n, delim)) return sink_put(s, p, n);
    tp_status rc = sink_put(s, "\"", 1);
    while (rc == TP_OK && n) {
        const char *q = memchr(p, '"', n);
        size_t k = q ? (size_t)(q - p) + 1 : n; /* through the quote, which is then doubled */
        rc = sink_put(s, p, k);
        if (rc == TP_OK && q) rc = sink_put(s, "\"", 1);
        p += k;
        n -= k;
    }
    return rc == TP_OK ? sink_put(s, "\"", 1) : rc;
}

static size_t format_i64(int64_t v, char *buf) {
    char tmp[24];
    size_t n = 0;
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    do {
        tmp[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    size_t k = 0;
    if (v < 0) buf[k++] = '-';
    while (n) buf[k++] = tmp[--n];
    return k;
}

static inline void put2(char *b, int v) {
    b[0] = (char)('0' + v / 10);
    b[1] = (char)('0' + v % 10);
}

/* YYYY-MM-DD; false (use tp_column_format) outside years 0000-9999. */
static bool format_date(int64_t days, char *b) {
    int y, m, d;
    tp_days_to_civil(days, &y, &m, &d);
    if (y < 0 || y > 9999) return false;
    put2(b, y / 100);
    put2(b + 2, y % 100);
    b[4] = '-';
    put2(b + 5, m);
    b[7] = '-';
    put2(b + 8, d);
    return true;
}

/* The same text as tp_column_format for timestamps (YYYY-MM-DD HH:MM:SS, then the fraction when
 * not zero: up to six digits for ms/us, nine for ns, trailing zeros trimmed), without printf;
 * 0 = fall back. */
static size_t format_ts(int64_t v, tp_time_unit unit, char *b) {
    static const int64_t per_sec[] = {1, 1000, 1000000, 1000000000};
    int64_t ps = per_sec[unit], secs = v / ps, frac = v % ps;
    if (frac < 0) {
        frac += ps;
        secs--;
    }
    int64_t days = secs / 86400, sod = secs % 86400;
    if (sod < 0) {
        sod += 86400;
        days--;
    }
    if (!format_date(days, b)) return 0;
    b[10] = ' ';
    put2(b + 11, (int)(sod / 3600));
    b[13] = ':';
    put2(b + 14, (int)(sod / 60 % 60));
    b[16] = ':';
    put2(b + 17, (int)(sod % 60));
    size_t n = 19;
    if (frac) {
        int nd = unit == TP_UNIT_NANOS ? 9 : 6;
        if (unit == TP_UNIT_MILLIS) frac *= 1000;
        b[n++] = '.';
        for (int i = nd - 1; i >= 0; i--) {
            b[n + (size_t)i] = (char)('0' + frac % 10);
            frac /= 10;
        }
        n += (size_t)nd;
        while (b[n - 1] == '0') n--; /* trailing zeros trimmed, as tp_column_format does */
    }
    return n;
}

typedef struct wcol {
    const tp_column *c;
    tp_dtype type;
    tp_time_unit unit;
    const void *data;
    const uint8_t *valid; /* NULL = no nulls */
    const tp_strdict *dict;
} wcol;

static tp_status write_rows(const tp_frame *f, size_t lo, size_t hi, char delim, bool header, sink *s) {
    tp_status rc = TP_OK;
    size_t nc = tp_frame_n_cols(f);
    wcol *cols = tp_calloc(nc ? nc : 1, sizeof *cols);
    if (!cols) return tp_fail(TP_ERR_NOMEM, "out of memory writing '%s'", s->what);
    for (size_t j = 0; j < nc; j++) {
        const tp_column *c = tp_frame_col(f, j);
        cols[j] = (wcol){c, tp_column_type(c), tp_column_unit(c), tp_column_cdata(c), tp_column_validity(c),
                         tp_column_dict(c)};
    }
    if (header && nc) {
        for (size_t j = 0; j < nc && rc == TP_OK; j++) {
            const char *name = tp_column_name(cols[j].c);
            if (j) rc = sink_put(s, &delim, 1);
            if (rc == TP_OK) rc = put_text(s, name, strlen(name), delim);
        }
        if (rc == TP_OK) rc = sink_put(s, "\n", 1);
    }
    /* Plain delimiters never occur in numbers, dates or timestamps, so those skip the quote check
     * (an exotic delimiter such as '-' or ':' takes the checked path). */
    bool plain = !(delim == '-' || delim == ':' || delim == '.' || delim == '+' || delim == ' ' ||
                   (delim >= '0' && delim <= '9') || (delim | 0x20) == 'e' || (delim | 0x20) == 'n' ||
                   (delim | 0x20) == 'a' || (delim | 0x20) == 'i' || (delim | 0x20) == 'f' ||
                   (delim | 0x20) == 't' || (delim | 0x20) == 'y');
    char buf[64];
    for (size_t i = lo; i < hi && rc == TP_OK; i++) {
        for (size_t j = 0; j < nc && rc == TP_OK; j++) {
            const wcol *w = &cols[j];
            if (j && (rc = sink_put(s, &delim, 1)) != TP_OK) break;
            if (w->valid && !(w->valid[i >> 3] >> (i & 7) & 1)) continue;
            size_t n = 0;
            switch (w->type) {
            case TP_DTYPE_I32: n = format_i64(((const int32_t *)w->data)[i], buf); break;
            case TP_DTYPE_I64: n = format_i64(((const int64_t *)w->data)[i], buf); break;
            case TP_DTYPE_DATE:
                n = format_date(((const int32_t *)w->data)[i], buf) ? 10 : 0;
                break;
            case TP_DTYPE_TIMESTAMP: n = format_ts(((const int64_t *)w->data)[i], w->unit, buf); break;
            case TP_DTYPE_STR:
            case TP_DTYPE_BYTES: {
                size_t len = 0;
                const char *str = tp_strdict_get(w->dict, ((const int32_t *)w->data)[i], &len);
                rc = put_text(s, str, len, delim);
                continue;
            }
            default: break;
            }
            if (n == 0) { /* bool, floats, out-of-range dates: the table's formatter */
                const char *str = NULL;
                size_t len = 0;
                n = tp_column_format(w->c, i, buf, &str, &len);
                rc = str ? put_text(s, str, len, delim) : put_text(s, buf, n, delim);
            } else {
                rc = plain ? sink_put(s, buf, n) : put_text(s, buf, n, delim);
            }
        }
        if (rc == TP_OK) rc = sink_put(s, "\n", 1);
    }
    tp_free(cols);
    return rc;
}

static tp_status check_delim(char d) {
    if (d == 0 || d == '"' || d == '\n' || d == '\r')
        return tp_fail(TP_ERR_ARG, "invalid CSV delimiter (must not be NUL, a quote, CR or LF)");
    return TP_OK;
}

tp_status tp_csv_write_rows(const tp_frame *f, size_t lo, size_t hi, char delimiter, bool header, FILE *fp) {
    tp_status rc;
    size_t nr = tp_frame_n_rows(f);
    if (hi > nr) hi = nr;
    if (lo > hi) lo = hi;
    if ((rc = check_delim(delimiter)) != TP_OK) return rc;
    sink s;
    if ((rc = sink_open(&s, fp, "output", false)) == TP_OK &&
        (rc = write_rows(f, lo, hi, delimiter, header, &s)) == TP_OK)
        rc = sink_finish(&s);
    sink_close(&s);
    return rc;
}

tp_status tp_csv_write_file(const tp_frame *f, const char *path, const tp_csv_write_opts *opts) {
    tp_status rc;
    tp_csv_write_opts defaults;
    if (!opts) {
        tp_csv_write_opts_default(&defaults);
        opts = &defaults;
    }
    if ((rc = check_delim(opts->delimiter)) != TP_OK) return rc;
    size_t pl = strlen(path);
    bool gz = opts->gzip || (pl > 3 && strcmp(path + pl - 3, ".gz") == 0);
    tp_atomic_file af;
    if ((rc = tp_atomic_open(path, &af)) != TP_OK) return rc;
    sink s;
    if ((rc = sink_open(&s, af.fp, path, gz)) == TP_OK &&
        (rc = write_rows(f, 0, tp_frame_n_rows(f), opts->delimiter, opts->header, &s)) == TP_OK)
        rc = sink_finish(&s);
    sink_close(&s);
    if (rc == TP_OK) return tp_atomic_commit(&af);
    tp_atomic_abort(&af);
    return rc;
}

/* csv_write.c: the CSV/TSV writer. RFC 4180 quoting only where a value needs it (delimiter,
 * quote, CR or LF inside, or an empty string, which is written "" so it reads back as an empty
 * string while a null is an empty field). Values are formatted by tp_column_format (shortest
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

static tp_status write_rows(const tp_frame *f, size_t lo, size_t hi, char delim, bool header, sink *s) {
    tp_status rc = TP_OK;
    size_t nc = tp_frame_n_cols(f);
    if (header && nc) {
        for (size_t j = 0; j < nc && rc == TP_OK; j++) {
            const char *name = tp_column_name(tp_frame_col(f, j));
            if (j) rc = sink_put(s, &delim, 1);
            if (rc == TP_OK) rc = put_text(s, name, strlen(name), delim);
        }
        if (rc == TP_OK) rc = sink_put(s, "\n", 1);
    }
    char buf[64];
    for (size_t i = lo; i < hi && rc == TP_OK; i++) {
        for (size_t j = 0; j < nc && rc == TP_OK; j++) {
            const tp_column *c = tp_frame_col(f, j);
            if (j && (rc = sink_put(s, &delim, 1)) != TP_OK) break;
            if (tp_column_is_null(c, i)) continue;
            size_t n;
            switch (tp_column_type(c)) {
            case TP_DTYPE_I32:
                n = format_i64(TP_CCOL(c, int32_t)[i], buf);
                rc = put_text(s, buf, n, delim);
                break;
            case TP_DTYPE_I64:
                n = format_i64(TP_CCOL(c, int64_t)[i], buf);
                rc = put_text(s, buf, n, delim);
                break;
            case TP_DTYPE_STR:
            case TP_DTYPE_BYTES: {
                size_t len = 0;
                const char *str = tp_strdict_get(tp_column_dict(c), TP_CCOL(c, int32_t)[i], &len);
                rc = put_text(s, str, len, delim);
                break;
            }
            default: {
                const char *str = NULL;
                size_t len = 0;
                n = tp_column_format(c, i, buf, &str, &len);
                rc = str ? put_text(s, str, len, delim) : put_text(s, buf, n, delim);
                break;
            }
            }
        }
        if (rc == TP_OK) rc = sink_put(s, "\n", 1);
    }
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

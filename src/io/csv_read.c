/* csv_read.c: the CSV/TSV reader (RFC 4180, issue #2 section 6). The whole text is mapped (or
 * inflated, for gzip input found by its magic bytes) into memory, so a column whose inferred type
 * a later row does not fit can be widened by re-parsing its earlier values from the text, and
 * big bodies are cut at record ends and parsed by several threads.
 * Types: bool, int32, int64, double, date, timestamp (stored in microseconds: fraction digits
 * beyond the sixth are dropped, offsets Z/+HH:MM are folded into UTC), string. */
#include "touchpoint/csv.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

void tp_csv_opts_default(tp_csv_opts *o) {
    memset(o, 0, sizeof *o);
    o->header = true;
    o->infer_rows = 10000;
}

// ---- input: mmap, read() or inflate the whole text ----

typedef struct input {
    const char *data; /* the text, after a UTF-8 BOM */
    size_t len;
    void *map; /* mmap'd region (plain regular files) */
    size_t map_len;
    char *heap; /* or a tp_malloc'd buffer */
} input;

static void input_free(input *in) {
    if (in->map) munmap(in->map, in->map_len);
    tp_free(in->heap);
    memset(in, 0, sizeof *in);
}

/* Inflate every gzip member of src into a new buffer. Trailing zero bytes (tape padding) are
 * accepted, anything else after a member must be another member. */
static tp_status gunzip_all(const char *path, const uint8_t *src, size_t n, char **out, size_t *out_len) {
    tp_status rc = TP_OK;
    size_t cap = n < ((size_t)1 << 20) ? ((size_t)1 << 22) : n * 4, len = 0;
    char *buf = tp_malloc(cap);
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (!buf) return tp_fail(TP_ERR_NOMEM, "out of memory inflating '%s'", path);
    if (inflateInit2(&zs, 15 + 32) != Z_OK) {
        tp_free(buf);
        return tp_fail(TP_ERR_INTERNAL, "zlib inflateInit2 failed for '%s'", path);
    }
    size_t pos = 0;
    for (;;) {
        zs.next_in = (Bytef *)(src + pos);
        zs.avail_in = (uInt)((n - pos) > 0x40000000u ? 0x40000000u : (n - pos));
        size_t before_in = zs.avail_in;
        if (len == cap) {
            char *nb = tp_realloc(buf, cap * 2);
            if (!nb) {
                rc = tp_fail(TP_ERR_NOMEM, "out of memory inflating '%s'", path);
                goto done;
            }
            buf = nb;
            cap *= 2;
        }
        size_t room = cap - len;
        zs.next_out = (Bytef *)(buf + len);
        zs.avail_out = (uInt)(room > 0x40000000u ? 0x40000000u : room);
        size_t before_out = zs.avail_out;
        int z = inflate(&zs, Z_NO_FLUSH);
        pos += before_in - zs.avail_in;
        len += before_out - zs.avail_out;
        if (z == Z_STREAM_END) {
            /* Another member follows, or only padding. */
            size_t k = pos;
            while (k < n && src[k] == 0) k++;
            if (k == n) break;
            if (n - pos < 2 || src[pos] != 0x1f || src[pos + 1] != 0x8b) {
                rc = tp_fail(TP_ERR_FORMAT, "trailing bytes after gzip member at offset %zu in '%s'",
                             pos, path);
                goto done;
            }
            inflateReset(&zs);
            continue;
        }
        if (z == Z_BUF_ERROR && pos == n && zs.avail_out > 0) {
            rc = tp_fail(TP_ERR_FORMAT, "truncated gzip stream in '%s'", path);
            goto done;
        }
        if (z != Z_OK && z != Z_BUF_ERROR) {
            rc = tp_fail(TP_ERR_FORMAT, "corrupt gzip stream in '%s': %s", path,
                         zs.msg ? zs.msg : "inflate failed");
            goto done;
        }
        if (pos == n && zs.avail_out > 0 && z == Z_OK && before_in == 0) {
            rc = tp_fail(TP_ERR_FORMAT, "truncated gzip stream in '%s'", path);
            goto done;
        }
    }
    *out = buf;
    *out_len = len;
    buf = NULL;
done:
    inflateEnd(&zs);
    tp_free(buf);
    return rc;
}

static tp_status input_open(const char *path, input *in) {
    tp_status rc = TP_OK;
    memset(in, 0, sizeof *in);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return tp_fail(TP_ERR_IO, "cannot open '%s': %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        rc = tp_fail(TP_ERR_IO, "cannot stat '%s': %s", path, strerror(errno));
        goto done;
    }
    if (S_ISDIR(st.st_mode)) {
        rc = tp_fail(TP_ERR_IO, "'%s' is a directory, not a CSV file", path);
        goto done;
    }
    const uint8_t *raw = NULL;
    size_t raw_len = 0;
    if (S_ISREG(st.st_mode) && st.st_size > 0) {
        void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (m == MAP_FAILED) {
            rc = tp_fail(TP_ERR_IO, "cannot map '%s': %s", path, strerror(errno));
            goto done;
        }
        madvise(m, (size_t)st.st_size, MADV_SEQUENTIAL);
        in->map = m;
        in->map_len = (size_t)st.st_size;
        raw = m;
        raw_len = in->map_len;
    } else if (!S_ISREG(st.st_mode)) { /* a pipe or a device: read in big blocks */
        size_t cap = (size_t)1 << 24, len = 0;
        char *buf = tp_malloc(cap);
        if (!buf) {
            rc = tp_fail(TP_ERR_NOMEM, "out of memory reading '%s'", path);
            goto done;
        }
        for (;;) {
            if (len == cap) {
                char *nb = tp_realloc(buf, cap * 2);
                if (!nb) {
                    tp_free(buf);
                    rc = tp_fail(TP_ERR_NOMEM, "out of memory reading '%s'", path);
                    goto done;
                }
                buf = nb;
                cap *= 2;
            }
            ssize_t k = read(fd, buf + len, cap - len);
            if (k < 0 && errno == EINTR) continue;
            if (k < 0) {
                tp_free(buf);
                rc = tp_fail(TP_ERR_IO, "cannot read '%s': %s", path, strerror(errno));
                goto done;
            }
            if (k == 0) break;
            len += (size_t)k;
        }
        in->heap = buf;
        raw = (const uint8_t *)buf;
        raw_len = len;
    }
    if (raw_len >= 2 && raw[0] == 0x1f && raw[1] == 0x8b) {
        char *text = NULL;
        size_t text_len = 0;
        rc = gunzip_all(path, raw, raw_len, &text, &text_len);
        if (rc != TP_OK) goto done;
        if (in->map) munmap(in->map, in->map_len);
        in->map = NULL;
        tp_free(in->heap);
        in->heap = text;
        raw = (const uint8_t *)text;
        raw_len = text_len;
    }
    if (raw_len >= 3 && raw[0] == 0xEF && raw[1] == 0xBB && raw[2] == 0xBF) {
        raw += 3;
        raw_len -= 3;
    }
    in->data = raw ? (const char *)raw : "";
    in->len = raw_len;
done:
    close(fd);
    if (rc != TP_OK) input_free(in);
    return rc;
}

// ---- tokenizer ----

typedef struct field {
    const char *p;
    size_t len;
    size_t off;     /* offset into the scratch buffer when in_scratch */
    size_t line;    /* physical line where the field starts */
    bool quoted;
    bool in_scratch; /* unescaped copy ("" -> ") lives in scratch */
} field;

typedef struct tok {
    const char *path;
    const char *pos, *end;
    char delim;
    size_t line; /* physical line of pos (1-based) */
    field *f;
    size_t n_f, cap_f;
    char *scratch;
    size_t n_s, cap_s;
    char *const *names; /* column names for messages (NULL while reading the header) */
    size_t n_names;
    size_t quotes; /* quote characters consumed as RFC 4180 quoting (opening, closing, "") */
} tok;

static tp_status unterminated(const tok *t, size_t line) {
    size_t i = t->n_f - 1;
    if (t->names && i < t->n_names)
        return tp_fail(TP_ERR_FORMAT, "unterminated quoted field starting in '%s', line %zu, column '%s'",
                       t->path, line, t->names[i]);
    return tp_fail(TP_ERR_FORMAT, "unterminated quoted field starting in '%s', line %zu", t->path, line);
}

static void tok_free(tok *t) {
    tp_free(t->f);
    tp_free(t->scratch);
}

static tp_status scratch_put(tok *t, const char *p, size_t n) {
    if (n == 0) return TP_OK;
    if (t->n_s + n > t->cap_s) {
        size_t cap = t->cap_s ? t->cap_s : 256;
        while (cap < t->n_s + n) cap *= 2;
        char *s = tp_realloc(t->scratch, cap);
        if (!s) return tp_fail(TP_ERR_NOMEM, "out of memory parsing '%s'", t->path);
        t->scratch = s;
        t->cap_s = cap;
    }
    memcpy(t->scratch + t->n_s, p, n);
    t->n_s += n;
    return TP_OK;
}

static size_t count_nl(const char *p, const char *e) {
    size_t n = 0;
    while ((p = memchr(p, '\n', (size_t)(e - p))) != NULL) {
        n++;
        p++;
    }
    return n;
}

/* First byte at or after p that is the delimiter or LF (end if none). Eight bytes at a time:
 * a byte equal to c makes (v ^ c*0x01..) have a zero byte, found by the haszero bit trick,
 * whose lowest set bit is exact (borrows only disturb higher bytes). */
static inline const char *scan_plain(const char *p, const char *end, char d) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    const uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
    const uint64_t md = ones * (uint8_t)d, mn = ones * (uint8_t)'\n';
    while (end - p >= 8) {
        uint64_t v;
        memcpy(&v, p, 8);
        uint64_t a = v ^ md, b = v ^ mn;
        uint64_t hit = (((a - ones) & ~a) | ((b - ones) & ~b)) & highs;
        if (hit) return p + (__builtin_ctzll(hit) >> 3);
        p += 8;
    }
#endif
    while (p < end && *p != d && *p != '\n') p++;
    return p;
}

/* Scan one record at t->pos into t->f[0 .. t->n_f). *got = false at the end of the text.
 * *rec_line receives the physical line where the record starts. */
static tp_status tok_next(tok *t, bool *got, size_t *rec_line) {
    const char *p = t->pos, *end = t->end;
    const char d = t->delim;
    t->n_f = 0;
    t->n_s = 0;
    *rec_line = t->line;
    if (p >= end) {
        *got = false;
        return TP_OK;
    }
    *got = true;
    bool any_scratch = false;
    for (;;) {
        if (t->n_f == t->cap_f) {
            size_t cap = t->cap_f ? t->cap_f * 2 : 16;
            field *nf = tp_realloc(t->f, cap * sizeof *nf);
            if (!nf) return tp_fail(TP_ERR_NOMEM, "out of memory parsing '%s'", t->path);
            t->f = nf;
            t->cap_f = cap;
        }
        field *fl = &t->f[t->n_f++];
        fl->line = t->line;
        fl->in_scratch = false;
        if (p < end && *p == '"') {
            fl->quoted = true;
            const char *s = p + 1;
            const char *q = memchr(s, '"', (size_t)(end - s));
            if (!q)
                return unterminated(t, fl->line);
            t->line += count_nl(s, q);
            const char *a = q + 1; /* after the quote: CRLF/CR-at-end end the record like LF */
            if (a < end && *a == '\r' && (a + 1 == end || a[1] == '\n')) a++;
            if (a < end && *a != d && *a != '\n') {
                /* Doubled quotes (or text after the closing quote): unescape into scratch. */
                fl->in_scratch = true;
                any_scratch = true;
                fl->off = t->n_s;
                for (;;) {
                    tp_status rc = scratch_put(t, s, (size_t)(q - s));
                    if (rc != TP_OK) return rc;
                    if (q + 1 < end && q[1] == '"') { /* "" is one quote */
                        t->quotes += 2;
                        if ((rc = scratch_put(t, "\"", 1)) != TP_OK) return rc;
                        s = q + 2;
                        q = memchr(s, '"', (size_t)(end - s));
                        if (!q)
                            return unterminated(t, fl->line);
                        t->line += count_nl(s, q);
                        continue;
                    }
                    /* Closing quote; text up to the delimiter is kept as is (as Python's csv). */
                    t->quotes += 2;
                    s = q + 1;
                    const char *e = s;
                    while (e < end && *e != d && *e != '\n') e++;
                    const char *te = e;
                    if (te < end && *te == '\n' && te > s && te[-1] == '\r') te--;
                    if (te > s && (rc = scratch_put(t, s, (size_t)(te - s))) != TP_OK) return rc;
                    p = e;
                    break;
                }
                fl->len = t->n_s - fl->off;
            } else {
                fl->p = s;
                fl->len = (size_t)(q - s);
                t->quotes += 2;
                p = a;
            }
        } else {
            fl->quoted = false;
            const char *s = p;
            p = scan_plain(p, end, d);
            const char *e = p;
            if (e > s && e[-1] == '\r' && (e == end || *e == '\n')) e--;
            fl->p = s;
            fl->len = (size_t)(e - s);
        }
        if (p < end && *p == d) {
            p++;
            continue;
        }
        /* p at '\n' or the end (a quoted field followed by junk is caught above) */
        if (p < end) {
            p++;
            t->line++;
        }
        break;
    }
    if (any_scratch)
        for (size_t i = 0; i < t->n_f; i++)
            if (t->f[i].in_scratch) t->f[i].p = t->scratch + t->f[i].off;
    t->pos = p;
    return TP_OK;
}

// ---- value parsers ----

typedef enum ctype { CT_NULL, CT_BOOL, CT_I32, CT_I64, CT_F64, CT_DATE, CT_TS, CT_STR, CT_F32 } ctype;
static const char *const ctype_names[] = {"null",  "bool", "int32",     "int64", "double",
                                          "date", "timestamp", "string", "float"};

static bool parse_bool(const char *p, size_t n, uint8_t *v) {
    if (n == 4 && strncasecmp(p, "true", 4) == 0) return (*v = 1), true;
    if (n == 5 && strncasecmp(p, "false", 5) == 0) return (*v = 0), true;
    return false;
}

/* Decimal integer with an optional sign; false if not an integer or out of int64 range. */
static inline bool parse_i64(const char *p, size_t n, int64_t *v) {
    if (n == 0) return false;
    bool neg = false;
    size_t i = 0;
    if (p[0] == '-' || p[0] == '+') {
        neg = p[0] == '-';
        i = 1;
        if (n == 1) return false;
    }
    uint64_t x = 0;
    if (n - i <= 18) { /* cannot overflow */
        for (; i < n; i++) {
            unsigned c = (unsigned char)p[i] - '0';
            if (c > 9) return false;
            x = x * 10 + c;
        }
        *v = neg ? -(int64_t)x : (int64_t)x;
        return true;
    }
    for (; i < n; i++) {
        unsigned c = (unsigned char)p[i] - '0';
        if (c > 9) return false;
        if (x > (UINT64_MAX - c) / 10) return false;
        x = x * 10 + c;
    }
    if (neg) {
        if (x > (uint64_t)INT64_MAX + 1) return false;
        *v = x == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)x;
    } else {
        if (x > (uint64_t)INT64_MAX) return false;
        *v = (int64_t)x;
    }
    return true;
}

static const double pow10_tab[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                   1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                   1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

static bool ieq(const char *p, size_t n, const char *w) {
    return strlen(w) == n && strncasecmp(p, w, n) == 0;
}

/* Decimal float: [+-](digits[.digits]|.digits)[(e|E)[+-]digits], or nan/inf/infinity (any
 * case, signed). Exact fast path (Clinger) when the mantissa has at most 15 significant digits
 * and the power of ten is at most 22; strtod otherwise. */
static bool parse_f64(const char *p, size_t n, double *v) {
    if (n == 0) return false;
    size_t i = 0;
    bool neg = false;
    if (p[0] == '-' || p[0] == '+') {
        neg = p[0] == '-';
        i = 1;
    }
    if (i < n && (p[i] | 0x20) >= 'a' && (p[i] | 0x20) <= 'z') {
        const char *w = p + i;
        size_t wn = n - i;
        if (ieq(w, wn, "nan")) return (*v = neg ? -NAN : NAN), true;
        if (ieq(w, wn, "inf") || ieq(w, wn, "infinity")) return (*v = neg ? -INFINITY : INFINITY), true;
        return false;
    }
    uint64_t m = 0;
    int sig = 0, drop = 0; /* significant digits kept; digits dropped before the point */
    int frac = 0;          /* digits kept after the point */
    size_t digits = 0;
    for (; i < n && (unsigned)(p[i] - '0') <= 9; i++, digits++) {
        if (m == 0 && p[i] == '0') continue;
        if (sig < 19) {
            m = m * 10 + (uint64_t)(p[i] - '0');
            sig++;
        } else {
            drop++;
        }
    }
    if (i < n && p[i] == '.') {
        i++;
        for (; i < n && (unsigned)(p[i] - '0') <= 9; i++, digits++) {
            if (m == 0 && p[i] == '0') {
                frac++;
                continue;
            }
            if (sig < 19) {
                m = m * 10 + (uint64_t)(p[i] - '0');
                sig++;
                frac++;
            }
        }
    }
    if (digits == 0) return false;
    long e = 0;
    if (i < n && (p[i] == 'e' || p[i] == 'E')) {
        i++;
        bool eneg = false;
        if (i < n && (p[i] == '-' || p[i] == '+')) eneg = p[i++] == '-';
        if (i == n) return false;
        for (; i < n && (unsigned)(p[i] - '0') <= 9; i++)
            if (e < 100000) e = e * 10 + (p[i] - '0');
        if (eneg) e = -e;
    }
    if (i != n) return false;
    long e10 = e + drop - frac;
    if (m == 0) {
        *v = neg ? -0.0 : 0.0;
        return true;
    }
    if (sig <= 15 && e10 >= -22 && e10 <= 22) {
        double x = (double)m;
        x = e10 < 0 ? x / pow10_tab[-e10] : x * pow10_tab[e10];
        *v = neg ? -x : x;
        return true;
    }
    char buf[128];
    char *tmp = n < sizeof buf ? buf : tp_malloc(n + 1);
    if (!tmp) return false;
    memcpy(tmp, p, n);
    tmp[n] = 0;
    *v = strtod(tmp, NULL);
    if (tmp != buf) tp_free(tmp);
    return true;
}

static inline int dig2(const char *p) {
    unsigned a = (unsigned char)p[0] - '0', b = (unsigned char)p[1] - '0';
    return (a > 9 || b > 9) ? -1 : (int)(a * 10 + b);
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil), inline
 * here because the reader calls it once per date or timestamp value. */
static inline int32_t days_from_civil(int y, int m, int d) {
    y -= m <= 2;
    int era = (y >= 0 ? y : y - 399) / 400;
    int yoe = y - era * 400;
    int doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static bool parse_date(const char *p, size_t n, int32_t *days) {
    if (n != 10 || p[4] != '-' || p[7] != '-') return false;
    int y1 = dig2(p), y2 = dig2(p + 2), mo = dig2(p + 5), d = dig2(p + 8);
    if (y1 < 0 || y2 < 0 || mo < 1 || mo > 12 || d < 1) return false;
    int y = y1 * 100 + y2;
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int md = mdays[mo - 1] + (mo == 2 && (y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)));
    if (d > md) return false;
    *days = days_from_civil(y, mo, d);
    return true;
}

/* YYYY-MM-DD[( |T)HH:MM:SS[.f{1,9}]][Z|(+|-)HH:MM] -> microseconds since the epoch, UTC. */
static bool parse_ts(const char *p, size_t n, int64_t *us) {
    int32_t days;
    if (n < 10 || !parse_date(p, 10, &days)) return false;
    int64_t secs = (int64_t)days * 86400, frac_us = 0;
    size_t i = 10;
    if (i < n && (p[i] == ' ' || p[i] == 'T')) {
        if (n - i < 9 || p[i + 3] != ':' || p[i + 6] != ':') return false;
        int h = dig2(p + i + 1), mi = dig2(p + i + 4), s = dig2(p + i + 7);
        if (h < 0 || h > 23 || mi < 0 || mi > 59 || s < 0 || s > 59) return false;
        secs += h * 3600 + mi * 60 + s;
        i += 9;
        if (i < n && p[i] == '.') {
            i++;
            size_t k = 0;
            int64_t f = 0;
            for (; i < n && (unsigned)(p[i] - '0') <= 9; i++, k++) {
                if (k >= 9) return false;
                if (k < 6) f = f * 10 + (p[i] - '0');
            }
            if (k == 0) return false;
            for (size_t j = k; j < 6; j++) f *= 10;
            frac_us = f;
        }
    }
    if (i < n && p[i] == 'Z') {
        i++;
    } else if (i < n && (p[i] == '+' || p[i] == '-') && i > 10) {
        if (n - i != 6 || p[i + 3] != ':') return false;
        int oh = dig2(p + i + 1), om = dig2(p + i + 4);
        if (oh < 0 || oh > 23 || om < 0 || om > 59) return false;
        int64_t off = oh * 3600 + om * 60;
        secs -= p[i] == '+' ? off : -off;
        i += 6;
    }
    if (i != n) return false;
    /* Offsets may leave years 0000-9999, which the writer could not write back as read. */
    if (secs < -62167219200LL || secs >= 253402300800LL) return false;
    *us = secs * 1000000 + frac_us;
    return true;
}

/* The narrowest type of a non-null value. */
static ctype classify(const char *p, size_t n) {
    uint8_t b;
    int64_t i;
    double f;
    int32_t d;
    if (n == 0) return CT_STR; /* a quoted empty string */
    if (parse_i64(p, n, &i)) return (i >= INT32_MIN && i <= INT32_MAX) ? CT_I32 : CT_I64;
    if (parse_f64(p, n, &f)) return CT_F64;
    if (parse_bool(p, n, &b)) return CT_BOOL;
    if (n == 10 && parse_date(p, n, &d)) return CT_DATE;
    if (parse_ts(p, n, &i)) return CT_TS;
    return CT_STR;
}

/* Least type holding both (int32 < int64 < double; date < timestamp; else string). */
static ctype join(ctype a, ctype b) {
    if (a == CT_NULL) return b;
    if (b == CT_NULL || a == b) return a;
    bool an = a == CT_I32 || a == CT_I64 || a == CT_F64, bn = b == CT_I32 || b == CT_I64 || b == CT_F64;
    if (an && bn) return a > b ? a : b;
    bool at = a == CT_DATE || a == CT_TS, bt = b == CT_DATE || b == CT_TS;
    if (at && bt) return CT_TS;
    return CT_STR;
}

// ---- output columns ----

typedef struct ocol {
    char *name;
    size_t src;   /* field index in the record */
    ctype type;   /* current type (CT_NULL while every value so far is null) */
    bool fixed;   /* from the explicit schema: never widened */
    void *data;   /* cap values of the type's width */
    uint8_t *nulls; /* bitmap, bit set = null (allocated on the first null) */
    size_t n_null;
    tp_strdict *dict;
    struct scache *cache; /* strings: codes of recent short values (reset with the dict) */
} ocol;

/* A direct-mapped cache in front of the dictionary for values of at most 16 bytes (campaign
 * names, countries, ...): one multiply-hash and two compares instead of hashing, probing and
 * memcmp. len is the value length + 1 (0 = empty slot). */
enum { SCACHE_BITS = 12 };
typedef struct scache {
    uint64_t k0, k1;
    uint32_t len;
    int32_t code;
} scache;

static size_t ctype_width(ctype t) {
    switch (t) {
    case CT_BOOL: return 1;
    case CT_I32: case CT_DATE: case CT_STR: case CT_F32: return 4;
    case CT_I64: case CT_F64: case CT_TS: return 8;
    case CT_NULL: return 0;
    }
    return 0;
}

typedef struct reader {
    const char *path;
    const tp_csv_opts *o;
    const char *body, *end; /* first data record, end of the text */
    size_t body_line;
    char delim;
    size_t n_fields; /* fields per record */
    ocol *cols;
    size_t n_cols;
    size_t cap;  /* rows allocated in every column */
    size_t rows; /* rows stored */
    char **names; /* header names (n_fields) */
    size_t null_len;
    double rows_per_byte; /* from the inference sample, to size columns once */
    size_t quotes;        /* quote characters parse_body consumed as quoting */
} reader;

/* Null in a string column: an unquoted empty field or the null token ("" is an empty string). */
static inline bool is_null_str(const reader *r, const field *f) {
    if (f->quoted) return false;
    if (f->len == 0) return true;
    return r->null_len && f->len == r->null_len && memcmp(f->p, r->o->null_token, f->len) == 0;
}
/* Null in a typed column: also a quoted empty field. */
static inline bool is_null_typed(const reader *r, const field *f) {
    return f->len == 0 || is_null_str(r, f);
}

/* Room for at least `want` rows (doubling, in multiples of 8 for the bitmaps). */
static tp_status grow_rows(reader *r, size_t want) {
    size_t cap = r->cap ? r->cap * 2 : 1024;
    if (cap < want) cap = (want + 7) & ~(size_t)7;
    for (size_t j = 0; j < r->n_cols; j++) {
        ocol *c = &r->cols[j];
        size_t w = ctype_width(c->type);
        if (w) {
            void *d = tp_realloc(c->data, cap * w);
            if (!d) return tp_fail(TP_ERR_NOMEM, "out of memory reading '%s'", r->path);
            c->data = d;
        }
        if (c->nulls) {
            uint8_t *nb = tp_realloc(c->nulls, cap / 8);
            if (!nb) return tp_fail(TP_ERR_NOMEM, "out of memory reading '%s'", r->path);
            memset(nb + r->cap / 8, 0, (cap - r->cap) / 8);
            c->nulls = nb;
        }
    }
    r->cap = cap;
    return TP_OK;
}

static tp_status set_null(reader *r, ocol *c, size_t row) {
    if (!c->nulls) {
        c->nulls = tp_calloc(r->cap / 8, 1);
        if (!c->nulls) return tp_fail(TP_ERR_NOMEM, "out of memory reading '%s'", r->path);
    }
    c->nulls[row >> 3] |= (uint8_t)(1u << (row & 7));
    c->n_null++;
    return TP_OK;
}

static inline bool row_is_null(const ocol *c, size_t row) {
    return c->nulls && (c->nulls[row >> 3] >> (row & 7) & 1);
}

/* Store a non-null value of type c->type at row; false if it does not fit. */
static inline bool store(reader *r, ocol *c, size_t row, const char *p, size_t n, tp_status *rc) {
    switch (c->type) {
    case CT_I32: {
        int64_t v;
        if (!parse_i64(p, n, &v) || v < INT32_MIN || v > INT32_MAX) return false;
        ((int32_t *)c->data)[row] = (int32_t)v;
        return true;
    }
    case CT_I64: {
        int64_t v;
        if (!parse_i64(p, n, &v)) return false;
        ((int64_t *)c->data)[row] = v;
        return true;
    }
    case CT_F64: {
        double v;
        if (!parse_f64(p, n, &v)) return false;
        ((double *)c->data)[row] = v;
        return true;
    }
    case CT_F32: {
        double v;
        if (!parse_f64(p, n, &v)) return false;
        ((float *)c->data)[row] = (float)v;
        return true;
    }
    case CT_BOOL: return parse_bool(p, n, (uint8_t *)c->data + row);
    case CT_DATE: return parse_date(p, n, (int32_t *)c->data + row);
    case CT_TS: return parse_ts(p, n, (int64_t *)c->data + row);
    case CT_STR: {
        int32_t code;
        scache *e = NULL;
        uint64_t k0 = 0, k1 = 0;
        if (n <= 16) {
            if (!c->cache) c->cache = tp_calloc((size_t)1 << SCACHE_BITS, sizeof *c->cache);
            if (c->cache) {
                if (n > 8) {
                    memcpy(&k0, p, 8);
                    memcpy(&k1, p + 8, n - 8);
                } else {
                    memcpy(&k0, p, n);
                }
                uint64_t h = (k0 * 0x9E3779B97F4A7C15ULL) ^ (k1 * 0xC2B2AE3D27D4EB4FULL) ^ n;
                h = (h ^ (h >> 31)) * 0xbf58476d1ce4e5b9ULL;
                e = &c->cache[h >> (64 - SCACHE_BITS)];
                if (e->len == n + 1 && e->k0 == k0 && e->k1 == k1) {
                    ((int32_t *)c->data)[row] = e->code;
                    return true;
                }
            }
        }
        tp_status s = tp_strdict_intern(c->dict, p, n, &code);
        if (s != TP_OK) {
            *rc = s;
            return true;
        }
        if (e) {
            e->k0 = k0;
            e->k1 = k1;
            e->len = (uint32_t)n + 1;
            e->code = code;
        }
        ((int32_t *)c->data)[row] = code;
        return true;
    }
    case CT_NULL: return false;
    }
    return false;
}


static void tok_init(tok *t, const reader *r) {
    memset(t, 0, sizeof *t);
    t->path = r->path;
    t->pos = r->body;
    t->end = r->end;
    t->delim = r->delim;
    t->line = r->body_line;
    t->names = r->names;
    t->n_names = r->n_fields;
}

/* The next data record, skipping blank lines when records have several fields (a blank line
 * is a null value in a one-column file, which is how the writer writes one). */
static tp_status next_data(const reader *r, tok *t, bool *got, size_t *line) {
    for (;;) {
        tp_status rc = tok_next(t, got, line);
        if (rc != TP_OK || !*got) return rc;
        if (r->n_fields > 1 && t->n_f == 1 && !t->f[0].quoted && t->f[0].len == 0) continue;
        if (t->n_f != r->n_fields)
            return tp_fail(TP_ERR_FORMAT, "row has %zu field%s, expected %zu, in '%s', line %zu", t->n_f,
                           t->n_f == 1 ? "" : "s", r->n_fields, r->path, *line);
        return TP_OK;
    }
}

/* Re-read field c->src of the first `rows` data records as strings (widening to string). */
static tp_status reparse_as_string(reader *r, ocol *c, size_t rows) {
    tp_status rc = TP_OK;
    tok t;
    tok_init(&t, r);
    tp_strdict *dict = NULL;
    int32_t *codes = NULL;
    uint8_t *nulls = NULL;
    size_t n_null = 0;
    if ((rc = tp_strdict_new(&dict)) != TP_OK) goto done;
    codes = tp_malloc((r->cap ? r->cap : 1) * sizeof *codes);
    if (!codes) {
        rc = tp_fail(TP_ERR_NOMEM, "out of memory reading '%s'", r->path);
        goto done;
    }
    for (size_t k = 0; k < rows; k++) {
        bool got;
        size_t line;
        if ((rc = next_data(r, &t, &got, &line)) != TP_OK) goto done;
        TP_ASSERT(got);
        const field *f = &t.f[c->src];
        if (is_null_str(r, f)) {
            if (!nulls && !(nulls = tp_calloc(r->cap / 8, 1))) {
                rc = tp_fail(TP_ERR_NOMEM, "out of memory reading '%s'", r->path);
                goto done;
            }
            nulls[k >> 3] |= (uint8_t)(1u << (k & 7));
            n_null++;
            codes[k] = 0;
            continue;
        }
        if ((rc = tp_strdict_intern(dict, f->p, f->len, &codes[k])) != TP_OK) goto done;
    }
    tp_free(c->data);
    tp_free(c->nulls);
    tp_strdict_unref(c->dict);
    tp_free(c->cache); /* its codes were into the old dictionary */
    c->cache = NULL;
    c->data = codes;
    c->nulls = nulls;
    c->n_null = n_null;
    c->dict = dict;
    c->type = CT_STR;
    codes = NULL;
    nulls = NULL;
    dict = NULL;
done:
    tok_free(&t);
    tp_free(codes);
    tp_free(nulls);
    tp_strdict_unref(dict);
    return rc;
}

/* Widen column c to type nt; rows [0, rows) hold values of the old type. */
static tp_status widen(reader *r, ocol *c, ctype nt, size_t rows) {
    if (nt == CT_STR) return reparse_as_string(r, c, rows);
    void *nd = tp_malloc((r->cap ? r->cap : 1) * ctype_width(nt));
    if (!nd) return tp_fail(TP_ERR_NOMEM, "out of memory reading '%s'", r->path);
    for (size_t k = 0; k < rows; k++) {
        bool null = c->type == CT_NULL || row_is_null(c, k);
        switch (nt) {
        case CT_I64:
            ((int64_t *)nd)[k] = null ? 0 : ((int32_t *)c->data)[k];
            break;
        case CT_F64:
            if (null) ((double *)nd)[k] = 0;
            else if (c->type == CT_I32) ((double *)nd)[k] = ((int32_t *)c->data)[k];
            else ((double *)nd)[k] = (double)((int64_t *)c->data)[k];
            break;
        case CT_TS:
            ((int64_t *)nd)[k] = null ? 0 : (int64_t)((int32_t *)c->data)[k] * 86400000000LL;
            break;
        default: /* from CT_NULL: every row so far is null */
            TP_ASSERT(c->type == CT_NULL);
            memset((char *)nd + k * ctype_width(nt), 0, ctype_width(nt));
            break;
        }
    }
    tp_free(c->data);
    c->data = nd;
    c->type = nt;
    return TP_OK;
}

static tp_status value_error(const reader *r, const ocol *c, const field *f) {
    int n = f->len > 60 ? 60 : (int)f->len;
    return tp_fail(TP_ERR_FORMAT,
                   "value \"%.*s%s\" does not fit the schema type %s, in '%s', line %zu, column '%s'", n,
                   f->p, f->len > 60 ? "..." : "", ctype_names[c->type], r->path, f->line, c->name);
}

// ---- header, inference, body ----

static char detect_delimiter(const char *p, const char *end) {
    static const char cand[] = {',', '\t', ';', '|'};
    size_t cnt[4] = {0};
    bool inq = false;
    for (; p < end; p++) {
        char ch = *p;
        if (ch == '"') inq = !inq;
        else if (!inq && ch == '\n') break;
        else if (!inq)
            for (int k = 0; k < 4; k++) cnt[k] += ch == cand[k];
    }
    int best = 0;
    for (int k = 1; k < 4; k++)
        if (cnt[k] > cnt[best]) best = k;
    return cand[best];
}

static tp_status parse_schema_type(const char *t, ctype *out) {
    static const struct {
        const char *name;
        ctype t;
    } tab[] = {{"bool", CT_BOOL},    {"int32", CT_I32},  {"int64", CT_I64},          {"float", CT_F32},
               {"double", CT_F64},   {"string", CT_STR}, {"timestamp", CT_TS},       {"date", CT_DATE},
               {"float64", CT_F64},  {"float32", CT_F32}, {"str", CT_STR},           {"boolean", CT_BOOL}};
    for (size_t i = 0; i < sizeof tab / sizeof *tab; i++)
        if (strcmp(t, tab[i].name) == 0) return (*out = tab[i].t), TP_OK;
    return TP_ERR_ARG;
}

static tp_status read_header(reader *r, const char *text, size_t len) {
    tp_status rc = TP_OK;
    const tp_csv_opts *o = r->o;
    r->end = text + len;
    r->delim = o->delimiter ? o->delimiter : detect_delimiter(text, r->end);
    if (r->delim == '"' || r->delim == '\n' || r->delim == '\r')
        return tp_fail(TP_ERR_ARG, "invalid CSV delimiter for '%s'", r->path);
    tok t;
    memset(&t, 0, sizeof t);
    t.path = r->path;
    t.pos = text;
    t.end = r->end;
    t.delim = r->delim;
    t.line = 1;
    bool got;
    size_t line;
    for (;;) { /* skip blank lines before a header (without one, a blank line is a null value) */
        if ((rc = tok_next(&t, &got, &line)) != TP_OK) goto done;
        if (!got || !o->header || !(t.n_f == 1 && !t.f[0].quoted && t.f[0].len == 0)) break;
    }
    if (!got) { /* no records at all: an empty frame */
        r->body = r->end;
        r->body_line = t.line;
        goto done;
    }
    r->n_fields = t.n_f;
    r->names = tp_calloc(t.n_f, sizeof *r->names);
    if (!r->names) {
        rc = tp_fail(TP_ERR_NOMEM, "out of memory reading '%s'", r->path);
        goto done;
    }
    for (size_t i = 0; i < t.n_f; i++) {
        char buf[64];
        const char *s = buf;
        size_t n;
        /* names are C strings: a NUL byte ends one, and an empty name gets column_<i> */
        if (o->header && t.f[i].len > 0 && (n = strnlen(t.f[i].p, t.f[i].len)) > 0) {
            s = t.f[i].p;
        } else {
            n = (size_t)snprintf(buf, sizeof buf, "column_%zu", i + 1);
        }
        /* Duplicate names get a suffix, as pandas does: a, a.1, a.2 */
        char *name = tp_malloc(n + 24);
        if (!name) {
            rc = tp_fail(TP_ERR_NOMEM, "out of memory reading '%s'", r->path);
            goto done;
        }
        memcpy(name, s, n);
        name[n] = 0;
        for (size_t k = 1;; k++) {
            bool dup = false;
            for (size_t j = 0; j < i && !dup; j++) dup = strcmp(r->names[j], name) == 0;
            if (!dup) break;
            snprintf(name + n, 24, ".%zu", k);
        }
        r->names[i] = name;
    }
    if (o->header) {
        r->body = t.pos;
        r->body_line = t.line;
    } else {
        r->body = text;
        r->body_line = 1;
    }
done:
    tok_free(&t);
    return rc;
}

static tp_status setup_columns(reader *r) {
    const tp_csv_opts *o = r->o;
    size_t n = o->columns ? o->n_columns : r->n_fields;
    r->cols = tp_calloc(n ? n : 1, sizeof *r->cols);
    if (!r->cols) return tp_fail(TP_ERR_NOMEM, "out of memory reading '%s'", r->path);
    for (size_t j = 0; j < n; j++) {
        ocol *c = &r->cols[j];
        size_t src = j;
        if (o->columns) {
            const char *want = o->columns[j];
            for (src = 0; src < r->n_fields && strcmp(r->names[src], want) != 0; src++) {
            }
            if (src == r->n_fields)
                return tp_fail(TP_ERR_NOTFOUND, "column '%s' not found in '%s'", want, r->path);
            for (size_t k = 0; k < j; k++)
                if (r->cols[k].src == src)
                    return tp_fail(TP_ERR_ARG, "column '%s' requested twice from '%s'", want, r->path);
        }
        c->src = src;
        c->name = r->names[src];
        c->type = CT_NULL;
        r->n_cols = j + 1;
    }
    for (size_t s = 0; s < o->n_schema; s++) {
        const char *spec = o->schema[s];
        const char *colon = strrchr(spec, ':');
        if (!colon)
            return tp_fail(TP_ERR_ARG, "schema entry '%s' for '%s' is not name:type", spec, r->path);
        ctype t;
        if (parse_schema_type(colon + 1, &t) != TP_OK)
            return tp_fail(TP_ERR_ARG,
                           "schema entry '%s' for '%s': unknown type '%s' (bool, int32, int64, float, "
                           "double, string, timestamp, date)",
                           spec, r->path, colon + 1);
        size_t nl = (size_t)(colon - spec), src;
        for (src = 0; src < r->n_fields; src++)
            if (strlen(r->names[src]) == nl && memcmp(r->names[src], spec, nl) == 0) break;
        if (src == r->n_fields)
            return tp_fail(TP_ERR_NOTFOUND, "schema column '%.*s' not found in '%s'", (int)nl, spec,
                           r->path);
        for (size_t j = 0; j < r->n_cols; j++)
            if (r->cols[j].src == src) {
                r->cols[j].type = t;
                r->cols[j].fixed = true;
            }
    }
    for (size_t j = 0; j < r->n_cols; j++)
        if (r->cols[j].type == CT_STR && !r->cols[j].dict) {
            tp_status rc = tp_strdict_new(&r->cols[j].dict);
            if (rc != TP_OK) return rc;
        }
    return TP_OK;
}

static tp_status infer(reader *r) {
    tp_status rc = TP_OK;
    tok t;
    tok_init(&t, r);
    ctype *ty = tp_calloc(r->n_cols ? r->n_cols : 1, sizeof *ty);
    if (!ty) return tp_fail(TP_ERR_NOMEM, "out of memory reading '%s'", r->path);
    size_t limit = r->o->infer_rows ? r->o->infer_rows : SIZE_MAX;
    size_t sampled = 0;
    for (size_t k = 0; k < limit; k++) {
        bool got;
        size_t line;
        if ((rc = next_data(r, &t, &got, &line)) != TP_OK) goto done;
        if (!got) break;
        sampled++;
        for (size_t j = 0; j < r->n_cols; j++) {
            const field *f = &t.f[r->cols[j].src];
            if (r->cols[j].fixed || ty[j] == CT_STR || is_null_typed(r, f)) continue;
            ty[j] = join(ty[j], classify(f->p, f->len));
        }
    }
    for (size_t j = 0; j < r->n_cols; j++) {
        ocol *c = &r->cols[j];
        if (c->fixed) continue;
        c->type = ty[j];
        if (c->type == CT_STR && (rc = tp_strdict_new(&c->dict)) != TP_OK) goto done;
    }
    size_t sample_bytes = (size_t)(t.pos - r->body);
    if (sampled && sample_bytes) r->rows_per_byte = (double)sampled / (double)sample_bytes;
done:
    tok_free(&t);
    tp_free(ty);
    return rc;
}

/* Size the columns once for the text [body, end) from the sample's bytes per row (+5%). */
static tp_status presize(reader *r) {
    if (r->rows_per_byte <= 0) return TP_OK;
    double est = r->rows_per_byte * (double)(r->end - r->body) * 1.05 + 16;
    return grow_rows(r, (size_t)est);
}

/* Parse every data record of [r->body, r->end) into r->cols, widening as needed. */
static tp_status parse_body(reader *r) {
    tp_status rc = TP_OK;
    tok t;
    tok_init(&t, r);
    for (;;) {
        bool got;
        size_t line;
        if ((rc = next_data(r, &t, &got, &line)) != TP_OK) goto done;
        if (!got) break;
        if (r->rows == r->cap && (rc = grow_rows(r, 0)) != TP_OK) goto done;
        size_t row = r->rows;
        for (size_t j = 0; j < r->n_cols; j++) {
            ocol *c = &r->cols[j];
            const field *f = &t.f[c->src];
            if (c->type == CT_STR ? is_null_str(r, f) : is_null_typed(r, f)) {
                if (c->type != CT_NULL) memset((char *)c->data + row * ctype_width(c->type), 0,
                                               ctype_width(c->type));
                if ((rc = set_null(r, c, row)) != TP_OK) goto done;
                continue;
            }
            if (store(r, c, row, f->p, f->len, &rc)) {
                if (rc != TP_OK) goto done;
                continue;
            }
            if (c->fixed) {
                rc = value_error(r, c, f);
                goto done;
            }
            ctype nt = join(c->type, classify(f->p, f->len));
            if ((rc = widen(r, c, nt, row)) != TP_OK) goto done;
            bool ok = store(r, c, row, f->p, f->len, &rc);
            TP_ASSERT(ok);
            if (rc != TP_OK) goto done;
        }
        r->rows++;
    }
done:
    r->quotes = t.quotes;
    tok_free(&t);
    return rc;
}

// ---- parallel parsing: quote-free text splits at line ends ----

/* A part of the body parsed on its own: a copy of the reader with its own range and columns. */
static void part_free(reader *p) {
    for (size_t j = 0; j < p->n_cols && p->cols; j++) {
        tp_free(p->cols[j].data);
        tp_free(p->cols[j].nulls);
        tp_free(p->cols[j].cache);
        tp_strdict_unref(p->cols[j].dict);
    }
    tp_free(p->cols);
    p->cols = NULL;
}

static tp_status part_init(const reader *r, reader *p, const char *body, const char *end, size_t line) {
    *p = *r;
    p->body = body;
    p->end = end;
    p->body_line = line;
    p->cap = p->rows = 0;
    p->cols = tp_calloc(r->n_cols ? r->n_cols : 1, sizeof *p->cols);
    if (!p->cols) return tp_fail(TP_ERR_NOMEM, "out of memory reading '%s'", r->path);
    for (size_t j = 0; j < r->n_cols; j++) {
        ocol *c = &p->cols[j];
        c->name = r->cols[j].name;
        c->src = r->cols[j].src;
        c->type = r->cols[j].type;
        c->fixed = r->cols[j].fixed;
        if (c->type == CT_STR) {
            tp_status rc = tp_strdict_new(&c->dict);
            if (rc != TP_OK) return rc;
        }
    }
    return presize(p);
}

/* Exact count of byte ch in [p, e), eight bytes at a time (the 7-bit add cannot carry across
 * bytes, so unlike the haszero trick every byte's flag is exact). */
static size_t count_byte(const char *p, const char *e, char ch) {
    size_t n = 0;
#if defined(__GNUC__)
    const uint64_t lo7 = 0x7f7f7f7f7f7f7f7fULL, m = 0x0101010101010101ULL * (uint8_t)ch;
    while (e - p >= 8) {
        uint64_t v;
        memcpy(&v, p, 8);
        v ^= m; /* zero bytes where ch was */
        uint64_t nz = ((v & lo7) + lo7) | v; /* high bit set where the byte is not zero */
        n += (size_t)__builtin_popcountll(~nz & ~lo7);
        p += 8;
    }
#endif
    for (; p < e; p++) n += *p == ch;
    return n;
}

typedef struct part_job {
    reader *parts;
    tp_status *rc;
    bool *irregular;   /* a part used quotes outside RFC 4180 quoting: the split may be wrong */
    const char **cuts; /* quote counting: [cuts[i], cuts[i+1]) */
    size_t *counts;
    bool check;
} part_job;

static tp_status part_run(void *ctx, size_t lo, size_t hi, int tid) {
    part_job *job = ctx;
    (void)tid;
    for (size_t i = lo; i < hi; i++) {
        reader *p = &job->parts[i];
        job->rc[i] = parse_body(p);
        if (job->check && job->rc[i] == TP_OK) job->irregular[i] = count_byte(p->body, p->end, '"') != p->quotes;
    }
    return TP_OK; /* failures are re-run on the caller's thread for the right line number */
}

static tp_status count_run(void *ctx, size_t lo, size_t hi, int tid) {
    part_job *job = ctx;
    (void)tid;
    for (size_t i = lo; i < hi; i++) job->counts[i] = count_byte(job->cuts[i], job->cuts[i + 1], '"');
    return TP_OK;
}

/* Split [body, end) into n parts at record ends and parse them in parallel.
 * Without quotes every LF ends a record. With quotes, an LF ends a record when an even number
 * of quotes precedes it, which holds as long as every quote so far was RFC 4180 quoting (opening,
 * closing, doubled); quotes are counted in parallel first. Each part then checks that all its
 * quotes were quoting. If every part is clean, every cut was a true record boundary (by
 * induction from the first part) and the parts equal a sequential parse. If any part failed or
 * found a stray quote, *fallback asks for the sequential parse: it is the reference for the error
 * message (and its line), and a failing read need not be fast. */
static tp_status parse_parallel(reader *r, size_t n, bool quoted, reader **out_parts, bool *fallback) {
    tp_status rc = TP_OK;
    *fallback = false;
    reader *parts = tp_calloc(n, sizeof *parts);
    tp_status *rcs = tp_calloc(n, sizeof *rcs);
    bool *irregular = tp_calloc(n, sizeof *irregular);
    const char **cuts = tp_calloc(n + 1, sizeof *cuts);
    size_t *counts = tp_calloc(n, sizeof *counts);
    if (!parts || !rcs || !irregular || !cuts || !counts) {
        rc = tp_fail(TP_ERR_NOMEM, "out of memory reading '%s'", r->path);
        goto done;
    }
    size_t len = (size_t)(r->end - r->body);
    part_job job = {parts, rcs, irregular, cuts, counts, quoted};
    for (size_t i = 0; i <= n; i++) cuts[i] = i == n ? r->end : r->body + len / n * i;
    if (quoted && (rc = tp_parallel_for(n, (int)n, count_run, &job)) != TP_OK) goto done;
    /* Move each cut to just after the next LF outside quotes. */
    size_t parity = 0;
    const char *prev = r->body;
    for (size_t i = 1; i < n; i++) {
        parity += counts[i - 1];
        const char *p = cuts[i];
        size_t par = parity & 1;
        if (!quoted) {
            const char *nl = memchr(p, '\n', (size_t)(r->end - p));
            p = nl ? nl + 1 : r->end;
        } else {
            for (; p < r->end; p++) {
                if (*p == '"') par ^= 1;
                else if (*p == '\n' && !par) break;
            }
            if (p < r->end) p++;
        }
        if (p < prev) p = prev; /* an earlier cut went past this one: this part is empty */
        cuts[i] = p;
        prev = p;
    }
    for (size_t i = 0; i < n; i++)
        if ((rc = part_init(r, &parts[i], cuts[i], cuts[i + 1], 0)) != TP_OK) goto done;
    if ((rc = tp_parallel_for(n, (int)n, part_run, &job)) != TP_OK) goto done;
    for (size_t i = 0; i < n; i++)
        if (rcs[i] != TP_OK || irregular[i]) {
            *fallback = true;
            goto done;
        }
    *out_parts = parts;
    parts = NULL;
done:
    for (size_t i = 0; parts && i < n; i++) part_free(&parts[i]);
    tp_free(parts);
    tp_free(rcs);
    tp_free(irregular);
    tp_free(cuts);
    tp_free(counts);
    return rc;
}

// ---- the frame ----

static tp_dtype dtype_of(ctype t) {
    switch (t) {
    case CT_BOOL: return TP_DTYPE_BOOL;
    case CT_I32: return TP_DTYPE_I32;
    case CT_I64: return TP_DTYPE_I64;
    case CT_F64: return TP_DTYPE_F64;
    case CT_F32: return TP_DTYPE_F32;
    case CT_DATE: return TP_DTYPE_DATE;
    case CT_TS: return TP_DTYPE_TIMESTAMP;
    case CT_STR: case CT_NULL: return TP_DTYPE_STR;
    }
    return TP_DTYPE_STR;
}

/* Column j from the parts in order: agree on the joined type (widening parts, re-parsing to
 * string where needed), merge the string dictionaries (in part order, so codes are the same as a
 * sequential read's), concatenate. */
static tp_status build_column(reader *parts, size_t n, size_t j, tp_column **out) {
    tp_status rc = TP_OK;
    tp_column *col = NULL;
    tp_strdict *dict = NULL;
    int32_t *map = NULL;
    ctype t = CT_NULL;
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        t = join(t, parts[i].cols[j].type);
        total += parts[i].rows;
    }
    if (t == CT_NULL) t = CT_STR; /* no value at all: strings (a quoted "" is an empty string) */
    for (size_t i = 0; i < n; i++) {
        ocol *c = &parts[i].cols[j];
        if (c->type != t && (rc = widen(&parts[i], c, t, parts[i].rows)) != TP_OK) goto done;
    }
    const ocol *c0 = &parts[0].cols[j];
    if (t == CT_STR) {
        if (n == 1) {
            dict = tp_strdict_ref(c0->dict);
        } else if ((rc = tp_strdict_new(&dict)) != TP_OK) {
            goto done;
        }
        rc = tp_column_new_dict(c0->name, TP_DTYPE_STR, dict, total, &col);
    } else {
        rc = tp_column_new(c0->name, dtype_of(t), total, &col);
    }
    if (rc != TP_OK) goto done;
    if (t == CT_TS) tp_column_set_unit(col, TP_UNIT_MICROS);
    if ((rc = tp_column_resize(col, total)) != TP_OK) goto done;
    size_t w = ctype_width(t), at = 0;
    char *dst = tp_column_data(col);
    for (size_t i = 0; i < n; i++) {
        ocol *c = &parts[i].cols[j];
        size_t rows = parts[i].rows;
        if (t == CT_STR && n > 1) { /* re-intern this part's strings, remap its codes */
            size_t nd = tp_strdict_size(c->dict);
            tp_free(map);
            map = tp_malloc((nd ? nd : 1) * sizeof *map);
            if (!map) {
                rc = tp_fail(TP_ERR_NOMEM, "out of memory reading '%s'", parts[0].path);
                goto done;
            }
            for (size_t k = 0; k < nd; k++) {
                size_t len;
                const char *s = tp_strdict_get(c->dict, (int32_t)k, &len);
                if ((rc = tp_strdict_intern(dict, s, len, &map[k])) != TP_OK) goto done;
            }
            const int32_t *src = c->data;
            int32_t *d = (int32_t *)dst + at;
            for (size_t k = 0; k < rows; k++) d[k] = row_is_null(c, k) ? 0 : map[src[k]];
        } else if (rows) {
            memcpy(dst + at * w, c->data, rows * w);
        }
        if (c->n_null)
            for (size_t k = 0; k < rows; k++)
                if (row_is_null(c, k) && (rc = tp_column_set_null(col, at + k, true)) != TP_OK) goto done;
        /* free the staging buffers early: peak memory is about one column, not the table twice */
        tp_free(c->data);
        c->data = NULL;
        at += rows;
    }
    *out = col;
    col = NULL;
done:
    tp_free(map);
    tp_strdict_unref(dict);
    tp_column_free(col);
    return rc;
}

static tp_status build_frame(reader *parts, size_t n, tp_frame **out) {
    tp_status rc;
    tp_frame *fr = NULL;
    tp_column *col = NULL;
    if ((rc = tp_frame_new(&fr)) != TP_OK) goto done;
    for (size_t j = 0; j < parts[0].n_cols; j++) {
        if ((rc = build_column(parts, n, j, &col)) != TP_OK) goto done;
        rc = tp_frame_add_take(fr, col); /* takes the column even when it fails */
        col = NULL;
        if (rc != TP_OK) goto done;
    }
    *out = fr;
    fr = NULL;
done:
    tp_column_free(col);
    tp_frame_free(fr);
    return rc;
}

/* Bodies at least this big, without quotes, are parsed by several threads (a part gets at least
 * a quarter of it). Not static: internal knob the fuzzer lowers to compare both paths. */
size_t tp_csv_parallel_min_bytes = 4u << 20;

tp_status tp_csv_read_file(const char *path, const tp_csv_opts *opts, tp_frame **out) {
    tp_status rc;
    tp_csv_opts defaults;
    if (!opts) {
        tp_csv_opts_default(&defaults);
        opts = &defaults;
    }
    *out = NULL;
    input in;
    reader r, *parts = NULL;
    size_t n_parts = 0;
    memset(&r, 0, sizeof r);
    r.path = path;
    r.o = opts;
    r.null_len = opts->null_token ? strlen(opts->null_token) : 0;
    if ((rc = input_open(path, &in)) != TP_OK) return rc;
    if ((rc = read_header(&r, in.data, in.len)) != TP_OK) goto done;
    if ((rc = setup_columns(&r)) != TP_OK) goto done;
    if ((rc = infer(&r)) != TP_OK) goto done;
    size_t body_len = (size_t)(r.end - r.body);
    int nt = tp_threads_default();
    size_t min_bytes = tp_csv_parallel_min_bytes ? tp_csv_parallel_min_bytes : 1;
    bool fallback = true;
    if (nt > 1 && body_len >= min_bytes && r.n_cols > 0) {
        size_t per = min_bytes / 4 ? min_bytes / 4 : 1;
        size_t n = (size_t)nt;
        if (n > body_len / per) n = body_len / per;
        if (n < 1) n = 1;
        bool quoted = memchr(r.body, '"', body_len) != NULL;
        if ((rc = parse_parallel(&r, n, quoted, &parts, &fallback)) != TP_OK) goto done;
        if (!fallback) {
            n_parts = n;
            rc = build_frame(parts, n_parts, out);
        }
    }
    if (fallback) {
        if ((rc = presize(&r)) != TP_OK) goto done;
        if ((rc = parse_body(&r)) != TP_OK) goto done;
        rc = build_frame(&r, 1, out);
    }
done:
    for (size_t i = 0; i < n_parts && parts; i++) part_free(&parts[i]);
    tp_free(parts);
    part_free(&r);
    for (size_t i = 0; i < r.n_fields && r.names; i++) tp_free(r.names[i]);
    tp_free(r.names);
    input_free(&in);
    return rc;
}

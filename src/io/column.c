/* column.c: typed columns with a validity bitmap (allocated on the first null) and, for strings,
 * a reference to a shared dictionary. Storage grows by doubling; appends are amortised O(1). */
#include "touchpoint/table.h"

#include <math.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

struct tp_column {
    char *name;
    tp_dtype type;
    tp_time_unit unit;
    size_t len, cap; /* rows; capacity in rows */
    void *data;
    uint8_t *valid;  /* NULL = all present; else cap/8 rounded up bytes */
    size_t n_null;
    tp_strdict *dict;
};

static const char *dtype_names[] = {"bool", "int32", "int64", "float", "double",
                                    "string", "bytes", "timestamp", "date"};

const char *tp_dtype_name(tp_dtype t) {
    return (unsigned)t < sizeof dtype_names / sizeof *dtype_names ? dtype_names[t] : "?";
}

size_t tp_dtype_size(tp_dtype t) {
    switch (t) {
    case TP_DTYPE_BOOL: return 1;
    case TP_DTYPE_I32: case TP_DTYPE_F32: case TP_DTYPE_STR: case TP_DTYPE_BYTES: case TP_DTYPE_DATE: return 4;
    case TP_DTYPE_I64: case TP_DTYPE_F64: case TP_DTYPE_TIMESTAMP: return 8;
    }
    return 0;
}

bool tp_dtype_is_string(tp_dtype t) { return t == TP_DTYPE_STR || t == TP_DTYPE_BYTES; }

tp_status tp_column_new_dict(const char *name, tp_dtype type, tp_strdict *dict, size_t cap, tp_column **out) {
    tp_column *c = tp_calloc(1, sizeof *c);
    if (!c) return tp_fail(TP_ERR_NOMEM, "out of memory allocating column '%s'", name);
    c->type = type;
    c->unit = TP_UNIT_SECONDS;
    c->name = tp_strdup(name);
    tp_status rc = c->name ? TP_OK : tp_fail(TP_ERR_NOMEM, "out of memory");
    if (rc == TP_OK && tp_dtype_is_string(type)) {
        if (dict) c->dict = tp_strdict_ref(dict);
        else rc = tp_strdict_new(&c->dict);
    }
    if (rc == TP_OK) rc = tp_column_reserve(c, cap ? cap : 16);
    if (rc != TP_OK) {
        tp_column_free(c);
        return rc;
    }
    *out = c;
    return TP_OK;
}

tp_status tp_column_new(const char *name, tp_dtype type, size_t cap, tp_column **out) {
    return tp_column_new_dict(name, type, NULL, cap, out);
}

void tp_column_free(tp_column *c) {
    if (!c) return;
    tp_free(c->name);
    tp_free(c->data);
    tp_free(c->valid);
    tp_strdict_unref(c->dict);
    tp_free(c);
}

const char *tp_column_name(const tp_column *c) { return c->name; }
tp_status tp_column_rename(tp_column *c, const char *name) {
    char *n = tp_strdup(name);
    if (!n) return tp_fail(TP_ERR_NOMEM, "out of memory");
    tp_free(c->name);
    c->name = n;
    return TP_OK;
}
tp_dtype tp_column_type(const tp_column *c) { return c->type; }
tp_time_unit tp_column_unit(const tp_column *c) { return c->unit; }
void tp_column_set_unit(tp_column *c, tp_time_unit u) { c->unit = u; }
size_t tp_column_len(const tp_column *c) { return c->len; }
tp_strdict *tp_column_dict(const tp_column *c) { return c->dict; }
void *tp_column_data(tp_column *c) { return c->data; }
const void *tp_column_cdata(const tp_column *c) { return c->data; }
const uint8_t *tp_column_validity(const tp_column *c) { return c->valid; }
size_t tp_column_null_count(const tp_column *c) { return c->n_null; }

bool tp_column_is_null(const tp_column *c, size_t row) {
    return c->valid && !(c->valid[row >> 3] >> (row & 7) & 1);
}

tp_status tp_column_reserve(tp_column *c, size_t cap) {
    if (cap <= c->cap) return TP_OK;
    size_t w = tp_dtype_size(c->type);
    if (cap > SIZE_MAX / 8 / w) return tp_fail(TP_ERR_NOMEM, "column '%s': %zu rows is too many", c->name, cap);
    void *d = tp_realloc(c->data, cap * w);
    if (!d) return tp_fail(TP_ERR_NOMEM, "out of memory growing column '%s' to %zu rows", c->name, cap);
    c->data = d;
    if (c->valid) {
        uint8_t *v = tp_realloc(c->valid, (cap + 7) / 8);
        if (!v) return tp_fail(TP_ERR_NOMEM, "out of memory growing column '%s'", c->name);
        memset(v + (c->cap + 7) / 8, 0xff, (cap + 7) / 8 - (c->cap + 7) / 8);
        c->valid = v;
    }
    c->cap = cap;
    return TP_OK;
}

static tp_status ensure(tp_column *c, size_t n) {
    if (n <= c->cap) return TP_OK;
    size_t cap = c->cap ? c->cap : 16;
    while (cap < n) cap *= 2;
    return tp_column_reserve(c, cap);
}

tp_status tp_column_resize(tp_column *c, size_t n) {
    tp_status rc = ensure(c, n);
    if (rc != TP_OK) return rc;
    if (n > c->len) {
        memset((char *)c->data + c->len * tp_dtype_size(c->type), 0, (n - c->len) * tp_dtype_size(c->type));
        if (c->valid) /* new rows present: bits may be stale from an earlier shrink */
            for (size_t i = c->len; i < n; i++) c->valid[i >> 3] |= (uint8_t)(1u << (i & 7));
    } else if (c->valid) {
        for (size_t i = n; i < c->len; i++)
            if (!(c->valid[i >> 3] >> (i & 7) & 1)) c->n_null--;
    }
    c->len = n;
    return TP_OK;
}

tp_status tp_column_set_null(tp_column *c, size_t row, bool is_null) {
    TP_ASSERT(row < c->len);
    if (!c->valid) {
        if (!is_null) return TP_OK;
        c->valid = tp_malloc((c->cap + 7) / 8);
        if (!c->valid) return tp_fail(TP_ERR_NOMEM, "out of memory for the null bitmap of '%s'", c->name);
        memset(c->valid, 0xff, (c->cap + 7) / 8);
    }
    uint8_t bit = (uint8_t)(1u << (row & 7));
    bool was_null = !(c->valid[row >> 3] & bit);
    if (is_null && !was_null) {
        c->valid[row >> 3] &= (uint8_t)~bit;
        c->n_null++;
    } else if (!is_null && was_null) {
        c->valid[row >> 3] |= bit;
        c->n_null--;
    }
    return TP_OK;
}

#define PUSH(c, T, v)                                         \
    do {                                                      \
        tp_status rc_ = ensure(c, c->len + 1);                \
        if (rc_ != TP_OK) return rc_;                         \
        ((T *)c->data)[c->len] = (v);                         \
        if (c->valid) c->valid[c->len >> 3] |= (uint8_t)(1u << (c->len & 7)); \
        c->len++;                                             \
        return TP_OK;                                         \
    } while (0)

tp_status tp_column_push_null(tp_column *c) {
    tp_status rc = ensure(c, c->len + 1);
    if (rc != TP_OK) return rc;
    memset((char *)c->data + c->len * tp_dtype_size(c->type), 0, tp_dtype_size(c->type));
    c->len++;
    if (c->valid) c->valid[(c->len - 1) >> 3] |= (uint8_t)(1u << ((c->len - 1) & 7));
    return tp_column_set_null(c, c->len - 1, true);
}

tp_status tp_column_push_bool(tp_column *c, bool v) {
    TP_ASSERT(c->type == TP_DTYPE_BOOL);
    PUSH(c, uint8_t, v ? 1 : 0);
}
tp_status tp_column_push_i32(tp_column *c, int32_t v) {
    TP_ASSERT(c->type == TP_DTYPE_I32 || c->type == TP_DTYPE_DATE);
    PUSH(c, int32_t, v);
}
tp_status tp_column_push_i64(tp_column *c, int64_t v) {
    TP_ASSERT(c->type == TP_DTYPE_I64 || c->type == TP_DTYPE_TIMESTAMP);
    PUSH(c, int64_t, v);
}
tp_status tp_column_push_f32(tp_column *c, float v) {
    TP_ASSERT(c->type == TP_DTYPE_F32);
    PUSH(c, float, v);
}
tp_status tp_column_push_f64(tp_column *c, double v) {
    TP_ASSERT(c->type == TP_DTYPE_F64);
    PUSH(c, double, v);
}
tp_status tp_column_push_str(tp_column *c, const char *s, size_t len) {
    TP_ASSERT(tp_dtype_is_string(c->type));
    int32_t code;
    tp_status rc = tp_strdict_intern(c->dict, s, len, &code);
    if (rc != TP_OK) return rc;
    PUSH(c, int32_t, code);
}

int64_t tp_column_get_i64(const tp_column *c, size_t row) {
    TP_ASSERT(row < c->len);
    switch (c->type) {
    case TP_DTYPE_BOOL: return ((const uint8_t *)c->data)[row];
    case TP_DTYPE_I32: case TP_DTYPE_DATE: return ((const int32_t *)c->data)[row];
    case TP_DTYPE_I64: case TP_DTYPE_TIMESTAMP: return ((const int64_t *)c->data)[row];
    case TP_DTYPE_F32: return (int64_t)((const float *)c->data)[row];
    case TP_DTYPE_F64: return (int64_t)((const double *)c->data)[row];
    default: TP_ASSERT(!"tp_column_get_i64 on a string column");
    }
    return 0;
}

double tp_column_get_f64(const tp_column *c, size_t row) {
    TP_ASSERT(row < c->len);
    switch (c->type) {
    case TP_DTYPE_F32: return ((const float *)c->data)[row];
    case TP_DTYPE_F64: return ((const double *)c->data)[row];
    default: return (double)tp_column_get_i64(c, row);
    }
}

const char *tp_column_get_str(const tp_column *c, size_t row, size_t *len) {
    TP_ASSERT(row < c->len && tp_dtype_is_string(c->type));
    return tp_strdict_get(c->dict, ((const int32_t *)c->data)[row], len);
}

tp_status tp_column_append(tp_column *dst, const tp_column *src, size_t lo, size_t hi) {
    if (dst->type != src->type)
        return tp_fail(TP_ERR_SHAPE, "column '%s' is %s in one part and %s in another", dst->name,
                       tp_dtype_name(dst->type), tp_dtype_name(src->type));
    TP_ASSERT(lo <= hi && hi <= src->len);
    size_t n = hi - lo, base = dst->len, w = tp_dtype_size(src->type);
    tp_status rc = ensure(dst, base + n);
    if (rc != TP_OK) return rc;
    if (tp_dtype_is_string(src->type) && src->dict != dst->dict) {
        /* Re-intern through a remap of the codes that occur, so each distinct string hashes once. */
        size_t nd = tp_strdict_size(src->dict);
        int32_t *map = tp_malloc((nd ? nd : 1) * sizeof *map);
        if (!map) return tp_fail(TP_ERR_NOMEM, "out of memory appending column '%s'", dst->name);
        memset(map, 0xff, (nd ? nd : 1) * sizeof *map);
        const int32_t *s = (const int32_t *)src->data + lo;
        int32_t *d = (int32_t *)dst->data + base;
        for (size_t i = 0; i < n; i++) {
            int32_t code = s[i];
            if (tp_column_is_null(src, lo + i)) {
                d[i] = 0;
                continue;
            }
            if (map[code] < 0) {
                size_t len;
                const char *str = tp_strdict_get(src->dict, code, &len);
                if ((rc = tp_strdict_intern(dst->dict, str, len, &map[code])) != TP_OK) {
                    tp_free(map);
                    return rc;
                }
            }
            d[i] = map[code];
        }
        tp_free(map);
    } else if (n) {
        memcpy((char *)dst->data + base * w, (const char *)src->data + lo * w, n * w);
    }
    dst->len = base + n;
    if (dst->valid)
        for (size_t i = base; i < base + n; i++) dst->valid[i >> 3] |= (uint8_t)(1u << (i & 7));
    if (src->valid && src->n_null)
        for (size_t i = 0; i < n; i++)
            if (tp_column_is_null(src, lo + i) && (rc = tp_column_set_null(dst, base + i, true)) != TP_OK)
                return rc;
    return TP_OK;
}

tp_status tp_column_take(const tp_column *src, const uint32_t *idx, size_t n, tp_column **out) {
    tp_column *c;
    tp_status rc = tp_column_new_dict(src->name, src->type, src->dict, n, &c);
    if (rc != TP_OK) return rc;
    c->unit = src->unit;
    size_t w = tp_dtype_size(src->type);
    switch (w) {
    case 1: for (size_t i = 0; i < n; i++) ((uint8_t *)c->data)[i] = ((const uint8_t *)src->data)[idx[i]]; break;
    case 4: for (size_t i = 0; i < n; i++) ((uint32_t *)c->data)[i] = ((const uint32_t *)src->data)[idx[i]]; break;
    default: for (size_t i = 0; i < n; i++) ((uint64_t *)c->data)[i] = ((const uint64_t *)src->data)[idx[i]]; break;
    }
    c->len = n;
    if (src->n_null)
        for (size_t i = 0; i < n; i++)
            if (tp_column_is_null(src, idx[i]) && (rc = tp_column_set_null(c, i, true)) != TP_OK) {
                tp_column_free(c);
                return rc;
            }
    *out = c;
    return TP_OK;
}

// ---- formatting ----

size_t tp_format_f64(double v, char *buf) {
    if (isnan(v)) return (size_t)sprintf(buf, "NaN");
    if (isinf(v)) return (size_t)sprintf(buf, v < 0 ? "-Infinity" : "Infinity");
    /* Shortest %.*g that parses back to the same double (at most 17 digits). */
    for (int p = 1; p <= 17; p++) {
        int n = snprintf(buf, 32, "%.*g", p, v);
        if (strtod(buf, NULL) == v) {
            /* Python-style: keep integral doubles recognisable as floats ("1.0"). */
            if (!strpbrk(buf, ".eEn")) {
                buf[n++] = '.';
                buf[n++] = '0';
                buf[n] = 0;
            }
            return (size_t)n;
        }
    }
    return (size_t)snprintf(buf, 32, "%.17g", v);
}

size_t tp_format_f32(float v, char *buf) {
    /* Shortest form that round-trips through float (not double), as a float32 reader expects. */
    if (isnan(v) || isinf(v)) return tp_format_f64(v, buf);
    for (int p = 1; p <= 9; p++) {
        int n = snprintf(buf, 32, "%.*g", p, (double)v);
        if (strtof(buf, NULL) == v) {
            if (!strpbrk(buf, ".eEn")) {
                buf[n++] = '.';
                buf[n++] = '0';
                buf[n] = 0;
            }
            return (size_t)n;
        }
    }
    return (size_t)snprintf(buf, 32, "%.9g", (double)v);
}

/* Howard Hinnant's days_from_civil / civil_from_days algorithms (public domain, facts not code). */
int64_t tp_civil_to_days(int y, int m, int d) {
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

void tp_days_to_civil(int64_t z, int *y, int *m, int *d) {
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)(yoe + era * 400 + (*m <= 2));
}

static size_t format_timestamp(int64_t v, tp_time_unit unit, char *buf) {
    static const int64_t per_sec[] = {1, 1000, 1000000, 1000000000};
    static const int digits[] = {0, 3, 6, 9};
    int64_t ps = per_sec[unit];
    int64_t secs = v / ps, frac = v % ps;
    if (frac < 0) {
        frac += ps;
        secs--;
    }
    int64_t days = secs / 86400, sod = secs % 86400;
    if (sod < 0) {
        sod += 86400;
        days--;
    }
    int y, mo, d;
    tp_days_to_civil(days, &y, &mo, &d);
    int n = sprintf(buf, "%04d-%02d-%02d %02d:%02d:%02d", y, mo, d, (int)(sod / 3600), (int)(sod / 60 % 60),
                    (int)(sod % 60));
    if (frac) {
        /* Microsecond precision as specified; nanoseconds keep all 9 digits. */
        int nd = digits[unit];
        if (unit == TP_UNIT_MILLIS) {
            frac *= 1000;
            nd = 6;
        }
        n += sprintf(buf + n, ".%0*lld", nd, (long long)frac);
        while (buf[n - 1] == '0') buf[--n] = 0; /* trim trailing zeros like DuckDB */
    }
    return (size_t)n;
}

size_t tp_column_format(const tp_column *c, size_t row, char *buf, const char **str, size_t *str_len) {
    if (str) *str = NULL;
    if (tp_column_is_null(c, row)) return 0;
    switch (c->type) {
    case TP_DTYPE_BOOL: return (size_t)sprintf(buf, "%s", ((const uint8_t *)c->data)[row] ? "true" : "false");
    case TP_DTYPE_I32: return (size_t)sprintf(buf, "%d", ((const int32_t *)c->data)[row]);
    case TP_DTYPE_I64: return (size_t)sprintf(buf, "%lld", (long long)((const int64_t *)c->data)[row]);
    case TP_DTYPE_F32: return tp_format_f32(((const float *)c->data)[row], buf);
    case TP_DTYPE_F64: return tp_format_f64(((const double *)c->data)[row], buf);
    case TP_DTYPE_TIMESTAMP: return format_timestamp(((const int64_t *)c->data)[row], c->unit, buf);
    case TP_DTYPE_DATE: {
        int y, m, d;
        tp_days_to_civil(((const int32_t *)c->data)[row], &y, &m, &d);
        return (size_t)sprintf(buf, "%04d-%02d-%02d", y, m, d);
    }
    case TP_DTYPE_STR:
    case TP_DTYPE_BYTES:
        TP_ASSERT(str && str_len);
        *str = tp_column_get_str(c, row, str_len);
        return 0;
    }
    return 0;
}

/* table.h: columnar frames. A tp_frame is an ordered set of named, typed columns of equal length.
 * Strings are dictionary-encoded: int32 codes into a tp_strdict (refcounted, so frames read from
 * the same file in batches share one dictionary and codes stay comparable across batches).
 * Nulls are a validity bitmap (bit set = value present); a column with no nulls has no bitmap. */
#ifndef TOUCHPOINT_TABLE_H
#define TOUCHPOINT_TABLE_H

#include "touchpoint/core.h"
#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum tp_dtype {
    TP_DTYPE_BOOL,      /* uint8_t, 0 or 1 */
    TP_DTYPE_I32,       /* int32_t */
    TP_DTYPE_I64,       /* int64_t */
    TP_DTYPE_F32,       /* float */
    TP_DTYPE_F64,       /* double */
    TP_DTYPE_STR,       /* int32_t codes into a tp_strdict; UTF-8 text */
    TP_DTYPE_BYTES,     /* like STR, but arbitrary bytes (printed as \xNN escapes) */
    TP_DTYPE_TIMESTAMP, /* int64_t since the Unix epoch, UTC, in the column's time unit */
    TP_DTYPE_DATE,      /* int32_t days since 1970-01-01 */
} tp_dtype;

typedef enum tp_time_unit { TP_UNIT_SECONDS, TP_UNIT_MILLIS, TP_UNIT_MICROS, TP_UNIT_NANOS } tp_time_unit;

TP_API const char *tp_dtype_name(tp_dtype t); /* "bool", "int32", ..., "timestamp[us]" uses tp_column_type_name */
TP_API size_t tp_dtype_size(tp_dtype t);      /* bytes per stored value (codes for strings) */
TP_API bool tp_dtype_is_string(tp_dtype t);   /* STR or BYTES */

// ---- string dictionary ----

typedef struct tp_strdict tp_strdict;
TP_API tp_status tp_strdict_new(tp_strdict **out);
TP_API tp_strdict *tp_strdict_ref(tp_strdict *d); /* +1 reference; returns d */
TP_API void tp_strdict_unref(tp_strdict *d);      /* -1; frees at zero; NULL is fine */
/* Code of s (interned if new). Codes are dense: 0 .. size-1 in order of first insertion. */
TP_API tp_status tp_strdict_intern(tp_strdict *d, const char *s, size_t len, int32_t *code);
/* Code of s, or -1 if absent. */
TP_API int32_t tp_strdict_find(const tp_strdict *d, const char *s, size_t len);
TP_API size_t tp_strdict_size(const tp_strdict *d);
/* Borrowed pointer to the bytes of code (NUL-terminated; len via *len when not NULL); valid until
 * the dictionary is freed or grows (interning may move the pool: copy before interning more). */
TP_API const char *tp_strdict_get(const tp_strdict *d, int32_t code, size_t *len);
/* Bytes held by the pool, for memory accounting. */
TP_API size_t tp_strdict_bytes(const tp_strdict *d);

// ---- columns ----

typedef struct tp_column tp_column;

/* A new empty column with room for cap rows. Strings get a fresh dictionary unless dict is given
 * (then the column takes a reference). */
TP_API tp_status tp_column_new(const char *name, tp_dtype type, size_t cap, tp_column **out);
TP_API tp_status tp_column_new_dict(const char *name, tp_dtype type, tp_strdict *dict, size_t cap,
                                    tp_column **out);
TP_API void tp_column_free(tp_column *c);

TP_API const char *tp_column_name(const tp_column *c);
TP_API tp_status tp_column_rename(tp_column *c, const char *name);
TP_API tp_dtype tp_column_type(const tp_column *c);
TP_API tp_time_unit tp_column_unit(const tp_column *c); /* timestamps; seconds otherwise */
TP_API void tp_column_set_unit(tp_column *c, tp_time_unit u);
TP_API size_t tp_column_len(const tp_column *c);
TP_API tp_strdict *tp_column_dict(const tp_column *c); /* borrowed; NULL unless string */

/* Raw storage (borrowed, valid until the column grows or is freed). The pointer type must match
 * the dtype (TP_ASSERT checks it): bool -> uint8_t, i32/date/str codes -> int32_t,
 * i64/timestamp -> int64_t, f32 -> float, f64 -> double. */
TP_API void *tp_column_data(tp_column *c);
TP_API const void *tp_column_cdata(const tp_column *c);
#define TP_COL(c, T) ((T *)tp_column_data(c))
#define TP_CCOL(c, T) ((const T *)tp_column_cdata(c))

/* Validity bitmap (bit i of byte i/8 set = present), or NULL when every value is present. */
TP_API const uint8_t *tp_column_validity(const tp_column *c);
TP_API bool tp_column_is_null(const tp_column *c, size_t row);
TP_API size_t tp_column_null_count(const tp_column *c);

/* Resize to n rows (new rows are zero and present). Returns a pointer to storage as tp_column_data. */
TP_API tp_status tp_column_resize(tp_column *c, size_t n);
TP_API tp_status tp_column_reserve(tp_column *c, size_t cap);
/* Mark row null / present (allocates the bitmap on the first null). */
TP_API tp_status tp_column_set_null(tp_column *c, size_t row, bool is_null);

/* Appends (grow amortised). For strings, the value is interned into the column's dictionary. */
TP_API tp_status tp_column_push_null(tp_column *c);
TP_API tp_status tp_column_push_bool(tp_column *c, bool v);
TP_API tp_status tp_column_push_i32(tp_column *c, int32_t v);
TP_API tp_status tp_column_push_i64(tp_column *c, int64_t v); /* also timestamps */
TP_API tp_status tp_column_push_f32(tp_column *c, float v);
TP_API tp_status tp_column_push_f64(tp_column *c, double v);
TP_API tp_status tp_column_push_str(tp_column *c, const char *s, size_t len);

/* Value accessors for any row (slow path: for printing and tests, not for kernels). */
TP_API int64_t tp_column_get_i64(const tp_column *c, size_t row);  /* bool/ints/date/timestamp */
TP_API double tp_column_get_f64(const tp_column *c, size_t row);   /* any numeric */
TP_API const char *tp_column_get_str(const tp_column *c, size_t row, size_t *len); /* strings */

/* Append rows [lo, hi) of src to dst (same dtype; strings re-interned unless they share a dict). */
TP_API tp_status tp_column_append(tp_column *dst, const tp_column *src, size_t lo, size_t hi);
/* dst = src[idx[0]], src[idx[1]], ... (a gather, for sorting and filtering). */
TP_API tp_status tp_column_take(const tp_column *src, const uint32_t *idx, size_t n, tp_column **out);

/* Write the value at row as text into buf (for CSV and printing): ints as decimal, floats in
 * shortest round-trip form, timestamps as YYYY-MM-DD HH:MM:SS[.ffffff] UTC, dates as YYYY-MM-DD.
 * Null writes nothing and returns 0. Returns the length written (buf needs >= 40 bytes for
 * non-strings; strings return a borrowed pointer through *str instead and 0 here). */
TP_API size_t tp_column_format(const tp_column *c, size_t row, char *buf, const char **str,
                               size_t *str_len);

/* Shortest decimal that round-trips (like Python's repr): writes into buf (>= 32 bytes). */
TP_API size_t tp_format_f64(double v, char *buf);
TP_API size_t tp_format_f32(float v, char *buf);
/* Civil time helpers (proleptic Gregorian, UTC). */
TP_API void tp_days_to_civil(int64_t days, int *y, int *m, int *d);
TP_API int64_t tp_civil_to_days(int y, int m, int d);

// ---- frames ----

typedef struct tp_frame tp_frame;

TP_API tp_status tp_frame_new(tp_frame **out);
TP_API void tp_frame_free(tp_frame *f);
TP_API size_t tp_frame_n_rows(const tp_frame *f);
TP_API size_t tp_frame_n_cols(const tp_frame *f);
/* Borrowed; valid while the frame lives. */
TP_API tp_column *tp_frame_col(const tp_frame *f, size_t i);
/* Column by exact name, or NULL. */
TP_API tp_column *tp_frame_find(const tp_frame *f, const char *name);
/* Like find, but a missing column is an error naming it and the source (which may be NULL). */
TP_API tp_status tp_frame_require(const tp_frame *f, const char *name, const char *source,
                                  tp_column **out);
/* Add a column (the frame takes ownership: "_take"). Its length must match the frame's rows
 * unless the frame is empty of columns. Duplicate names are refused. */
TP_API tp_status tp_frame_add_take(tp_frame *f, tp_column *c);
/* Remove and return column i (caller owns it). */
TP_API tp_column *tp_frame_remove(tp_frame *f, size_t i);
/* A new frame with the named columns only, in that order (deep copy; strings share dicts). */
TP_API tp_status tp_frame_project(const tp_frame *f, const char *const *names, size_t n, tp_frame **out);
/* Append all rows of src to dst (same column names and types, in the same order). An empty
 * dst (no columns) takes src's schema. */
TP_API tp_status tp_frame_append(tp_frame *dst, const tp_frame *src);
/* Row subset / reorder by index. */
TP_API tp_status tp_frame_take(const tp_frame *f, const uint32_t *idx, size_t n, tp_frame **out);
/* Deep copy. */
TP_API tp_status tp_frame_clone(const tp_frame *f, tp_frame **out);
/* Check that every column has n_rows values (TP_ERR_SHAPE otherwise). */
TP_API tp_status tp_frame_validate(const tp_frame *f);

#ifdef __cplusplus
}
#endif
#endif

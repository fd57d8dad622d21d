/* thrift_write.h (internal): a Thrift compact-protocol encoder into a growable byte buffer, just
 * enough for Parquet's page headers and file footer. Errors (allocation) are sticky: encode the
 * whole struct, then check tp_tw_status once. */
#ifndef TP_IO_THRIFT_WRITE_H
#define TP_IO_THRIFT_WRITE_H

#include "touchpoint/core.h"

#include <stdbool.h>

/* Compact-protocol element types (as used in field and list headers). */
enum {
    TP_TT_BOOL_TRUE = 1, TP_TT_BOOL_FALSE = 2, TP_TT_BYTE = 3, TP_TT_I16 = 4, TP_TT_I32 = 5,
    TP_TT_I64 = 6, TP_TT_DOUBLE = 7, TP_TT_BINARY = 8, TP_TT_LIST = 9, TP_TT_SET = 10,
    TP_TT_MAP = 11, TP_TT_STRUCT = 12,
};

#define TP_TW_MAX_DEPTH 16

typedef struct tp_tw {
    uint8_t *buf;                     /* tp_malloc'd; owned */
    size_t len, cap;                  /* bytes used / allocated */
    int16_t last[TP_TW_MAX_DEPTH];    /* last field id per open struct (delta encoding) */
    int depth;                        /* open structs; 0 = top level (the outermost struct) */
    bool failed;                      /* an allocation failed or nesting overflowed */
} tp_tw;

void tp_tw_init(tp_tw *w);
void tp_tw_reset(tp_tw *w); /* len = 0, keeps the buffer */
void tp_tw_free(tp_tw *w);
tp_status tp_tw_status(const tp_tw *w); /* TP_ERR_NOMEM (with a message) after any failure */

// ---- fields of the current struct (ids must increase for delta encoding to be used) ----
void tp_tw_field_bool(tp_tw *w, int16_t id, bool v);
void tp_tw_field_i8(tp_tw *w, int16_t id, int8_t v);
void tp_tw_field_i16(tp_tw *w, int16_t id, int16_t v);
void tp_tw_field_i32(tp_tw *w, int16_t id, int32_t v);
void tp_tw_field_i64(tp_tw *w, int16_t id, int64_t v);
void tp_tw_field_binary(tp_tw *w, int16_t id, const void *p, size_t n);
void tp_tw_field_string(tp_tw *w, int16_t id, const char *s); /* NUL-terminated */
/* A nested struct field: fields follow, then tp_tw_struct_end. */
void tp_tw_field_struct(tp_tw *w, int16_t id);
/* A list field of n elements of compact type elem; the elements follow with tp_tw_i32 etc. */
void tp_tw_field_list(tp_tw *w, int16_t id, int elem, size_t n);

// ---- bare values (list elements) ----
void tp_tw_i32(tp_tw *w, int32_t v);
void tp_tw_i64(tp_tw *w, int64_t v);
void tp_tw_binary(tp_tw *w, const void *p, size_t n);
void tp_tw_string(tp_tw *w, const char *s);
void tp_tw_struct_begin(tp_tw *w); /* a struct as a list element (or the outermost struct) */
void tp_tw_struct_end(tp_tw *w);   /* writes the stop byte and pops */

#endif

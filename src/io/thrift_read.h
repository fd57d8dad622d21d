/* thrift_read.h (internal): a Thrift compact-protocol decoder for Parquet metadata.
 * Every read is bounds-checked; nesting is depth-limited; list sizes are checked against the bytes
 * left, so a hostile footer can neither overrun the buffer nor make us allocate much. Errors are
 * sticky: after the first, every read returns zero and tr->bad stays set. */
#ifndef TP_IO_THRIFT_READ_H
#define TP_IO_THRIFT_READ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
    TP_CT_STOP = 0, TP_CT_TRUE = 1, TP_CT_FALSE = 2, TP_CT_BYTE = 3, TP_CT_I16 = 4, TP_CT_I32 = 5,
    TP_CT_I64 = 6, TP_CT_DOUBLE = 7, TP_CT_BINARY = 8, TP_CT_LIST = 9, TP_CT_SET = 10,
    TP_CT_MAP = 11, TP_CT_STRUCT = 12,
};

#define TP_THRIFT_MAX_DEPTH 64

typedef struct tp_thrift_reader {
    const uint8_t *p, *end;
    int depth;
    bool bad;
    char why[96]; /* first error */
} tp_thrift_reader;

void tp_thrift_init(tp_thrift_reader *tr, const uint8_t *p, size_t n);
/* Record an error (first one wins). */
void tp_thrift_error(tp_thrift_reader *tr, const char *why);

/* Struct framing: begin pushes a field-id context, end pops it. */
typedef struct tp_thrift_struct { int16_t last_id; } tp_thrift_struct;
bool tp_thrift_struct_begin(tp_thrift_reader *tr, tp_thrift_struct *st);
void tp_thrift_struct_end(tp_thrift_reader *tr);
/* Next field of the current struct: false at STOP or on error. */
bool tp_thrift_field(tp_thrift_reader *tr, tp_thrift_struct *st, int16_t *id, int *type);

/* Scalars by the wire type given (accept any integer width; a mismatched type is an error). */
int64_t tp_thrift_int(tp_thrift_reader *tr, int type);
int32_t tp_thrift_i32(tp_thrift_reader *tr, int type); /* range-checked */
bool tp_thrift_bool(tp_thrift_reader *tr, int type);   /* field bools carry the value in the type */
double tp_thrift_double(tp_thrift_reader *tr, int type);
/* Binary/string: borrowed pointer into the buffer. */
bool tp_thrift_binary(tp_thrift_reader *tr, int type, const uint8_t **p, uint32_t *len);
/* List/set header: element type and count (count <= bytes left). */
bool tp_thrift_list(tp_thrift_reader *tr, int type, int *elem_type, uint32_t *n);
/* List elements of bool type are one byte each. */
bool tp_thrift_list_bool(tp_thrift_reader *tr);
/* Skip a value of any type. */
void tp_thrift_skip(tp_thrift_reader *tr, int type);

#endif

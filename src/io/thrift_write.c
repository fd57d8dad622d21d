/* thrift_write.c: Thrift compact-protocol encoder (field headers with id deltas, zigzag varints,
 * lists, nested structs) for the Parquet writer's page headers and footer. Spec: Apache Thrift
 * "Thrift Compact protocol encoding" (doc/specs/thrift-compact-protocol.md). */
#include "io/thrift_write.h"

#include <string.h>

void tp_tw_init(tp_tw *w) {
    memset(w, 0, sizeof *w);
}

void tp_tw_reset(tp_tw *w) {
    w->len = 0;
    w->depth = 0;
    w->last[0] = 0;
    w->failed = false;
}

void tp_tw_free(tp_tw *w) {
    tp_free(w->buf);
    tp_tw_init(w);
}

tp_status tp_tw_status(const tp_tw *w) {
    if (w->failed)
        return tp_fail(TP_ERR_NOMEM, "thrift encoder: out of memory or nesting too deep");
    return TP_OK;
}

static bool reserve(tp_tw *w, size_t extra) {
    if (w->failed) return false;
    if (w->len + extra <= w->cap) return true;
    size_t cap = w->cap ? w->cap : 256;
    while (cap < w->len + extra) cap *= 2;
    uint8_t *b = tp_realloc(w->buf, cap);
    if (!b) {
        w->failed = true;
        return false;
    }
    w->buf = b;
    w->cap = cap;
    return true;
}

static void put_byte(tp_tw *w, uint8_t b) {
    if (reserve(w, 1)) w->buf[w->len++] = b;
}

static void put_varint(tp_tw *w, uint64_t v) {
    if (!reserve(w, 10)) return;
    while (v >= 0x80) {
        w->buf[w->len++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    w->buf[w->len++] = (uint8_t)v;
}

static uint64_t zigzag64(int64_t v) {
    return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

static void put_bytes(tp_tw *w, const void *p, size_t n) {
    put_varint(w, n);
    if (n && reserve(w, n)) {
        memcpy(w->buf + w->len, p, n);
        w->len += n;
    }
}

// Field header: a 4-bit id delta packed with the type when 1 <= delta <= 15, else the type byte
// followed by the id as a zigzag varint.
static void field_header(tp_tw *w, int16_t id, int type) {
    int16_t last = w->last[w->depth];
    int delta = id - last;
    if (delta > 0 && delta <= 15) {
        put_byte(w, (uint8_t)(delta << 4 | type));
    } else {
        put_byte(w, (uint8_t)type);
        put_varint(w, zigzag64(id));
    }
    w->last[w->depth] = id;
}

static void push(tp_tw *w) {
    if (w->depth + 1 >= TP_TW_MAX_DEPTH) {
        w->failed = true;
        return;
    }
    w->depth++;
    w->last[w->depth] = 0;
}

void tp_tw_field_bool(tp_tw *w, int16_t id, bool v) {
    field_header(w, id, v ? TP_TT_BOOL_TRUE : TP_TT_BOOL_FALSE);
}

void tp_tw_field_i8(tp_tw *w, int16_t id, int8_t v) {
    field_header(w, id, TP_TT_BYTE);
    put_byte(w, (uint8_t)v);
}

void tp_tw_field_i16(tp_tw *w, int16_t id, int16_t v) {
    field_header(w, id, TP_TT_I16);
    put_varint(w, zigzag64(v));
}

void tp_tw_field_i32(tp_tw *w, int16_t id, int32_t v) {
    field_header(w, id, TP_TT_I32);
    put_varint(w, zigzag64(v));
}

void tp_tw_field_i64(tp_tw *w, int16_t id, int64_t v) {
    field_header(w, id, TP_TT_I64);
    put_varint(w, zigzag64(v));
}

void tp_tw_field_binary(tp_tw *w, int16_t id, const void *p, size_t n) {
    field_header(w, id, TP_TT_BINARY);
    put_bytes(w, p, n);
}

void tp_tw_field_string(tp_tw *w, int16_t id, const char *s) {
    tp_tw_field_binary(w, id, s, strlen(s));
}

void tp_tw_field_struct(tp_tw *w, int16_t id) {
    field_header(w, id, TP_TT_STRUCT);
    push(w);
}

void tp_tw_field_list(tp_tw *w, int16_t id, int elem, size_t n) {
    field_header(w, id, TP_TT_LIST);
    if (n < 15) {
        put_byte(w, (uint8_t)(n << 4 | (size_t)elem));
    } else {
        put_byte(w, (uint8_t)(0xF0 | elem));
        put_varint(w, n);
    }
}

void tp_tw_i32(tp_tw *w, int32_t v) {
    put_varint(w, zigzag64(v));
}

void tp_tw_i64(tp_tw *w, int64_t v) {
    put_varint(w, zigzag64(v));
}

void tp_tw_binary(tp_tw *w, const void *p, size_t n) {
    put_bytes(w, p, n);
}

void tp_tw_string(tp_tw *w, const char *s) {
    put_bytes(w, s, strlen(s));
}

void tp_tw_struct_begin(tp_tw *w) {
    push(w);
}

void tp_tw_struct_end(tp_tw *w) {
    put_byte(w, 0); /* STOP */
    if (w->depth > 0) w->depth--;
}

/* thrift_read.c: Thrift compact-protocol decoding (the wire format of Parquet's footer and page
 * headers), written for untrusted input: bounds-checked, depth-limited, sticky errors.
 * Spec: https://github.com/apache/thrift/blob/master/doc/specs/thrift-compact-protocol.md */
#include "io/thrift_read.h"

#include <string.h>

void tp_thrift_init(tp_thrift_reader *tr, const uint8_t *p, size_t n) {
    tr->p = p;
    tr->end = p + n;
    tr->depth = 0;
    tr->bad = false;
    tr->why[0] = 0;
}

void tp_thrift_error(tp_thrift_reader *tr, const char *why) {
    if (!tr->bad) {
        tr->bad = true;
        size_t n = strlen(why);
        if (n >= sizeof tr->why) n = sizeof tr->why - 1;
        memcpy(tr->why, why, n);
        tr->why[n] = 0;
    }
    tr->p = tr->end;
}

static uint8_t get_byte(tp_thrift_reader *tr) {
    if (tr->bad) return 0;
    if (tr->p >= tr->end) {
        tp_thrift_error(tr, "truncated thrift data");
        return 0;
    }
    return *tr->p++;
}

static uint64_t varint(tp_thrift_reader *tr) {
    uint64_t v = 0;
    for (int shift = 0; shift < 70; shift += 7) {
        uint8_t b = get_byte(tr);
        if (tr->bad) return 0;
        if (shift == 63 && b > 1) break;
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) return v;
    }
    tp_thrift_error(tr, "thrift varint too long");
    return 0;
}

static int64_t zigzag(uint64_t v) { return (int64_t)(v >> 1) ^ -(int64_t)(v & 1); }

bool tp_thrift_struct_begin(tp_thrift_reader *tr, tp_thrift_struct *st) {
    st->last_id = 0;
    if (tr->bad) return false;
    if (++tr->depth > TP_THRIFT_MAX_DEPTH) {
        tp_thrift_error(tr, "thrift structs nested too deeply");
        return false;
    }
    return true;
}

void tp_thrift_struct_end(tp_thrift_reader *tr) {
    if (tr->depth > 0) tr->depth--;
}

bool tp_thrift_field(tp_thrift_reader *tr, tp_thrift_struct *st, int16_t *id, int *type) {
    uint8_t b = get_byte(tr);
    if (tr->bad) return false;
    int t = b & 0x0f;
    if (t == TP_CT_STOP) {
        if (b != 0) tp_thrift_error(tr, "bad thrift field header");
        return false;
    }
    if (t > TP_CT_STRUCT) {
        tp_thrift_error(tr, "unknown thrift field type");
        return false;
    }
    int delta = b >> 4;
    int64_t fid;
    if (delta) fid = (int64_t)st->last_id + delta;
    else fid = zigzag(varint(tr));
    if (tr->bad) return false;
    if (fid < INT16_MIN || fid > INT16_MAX) {
        tp_thrift_error(tr, "thrift field id out of range");
        return false;
    }
    st->last_id = (int16_t)fid;
    *id = (int16_t)fid;
    *type = t;
    return true;
}

int64_t tp_thrift_int(tp_thrift_reader *tr, int type) {
    switch (type) {
    case TP_CT_BYTE: return (int8_t)get_byte(tr);
    case TP_CT_I16:
    case TP_CT_I32:
    case TP_CT_I64: return zigzag(varint(tr));
    default: tp_thrift_error(tr, "thrift field has the wrong type (expected an integer)"); return 0;
    }
}

int32_t tp_thrift_i32(tp_thrift_reader *tr, int type) {
    int64_t v = tp_thrift_int(tr, type);
    if (v < INT32_MIN || v > INT32_MAX) {
        tp_thrift_error(tr, "thrift i32 out of range");
        return 0;
    }
    return (int32_t)v;
}

bool tp_thrift_bool(tp_thrift_reader *tr, int type) {
    if (type == TP_CT_TRUE) return true;
    if (type == TP_CT_FALSE) return false;
    tp_thrift_error(tr, "thrift field has the wrong type (expected a bool)");
    return false;
}

bool tp_thrift_list_bool(tp_thrift_reader *tr) {
    uint8_t b = get_byte(tr);
    return b == 1; // 1 = true; 2 (spec) or 0 (some writers) = false
}

double tp_thrift_double(tp_thrift_reader *tr, int type) {
    if (type != TP_CT_DOUBLE) {
        tp_thrift_error(tr, "thrift field has the wrong type (expected a double)");
        return 0;
    }
    if (tr->bad || tr->end - tr->p < 8) {
        tp_thrift_error(tr, "truncated thrift data");
        return 0;
    }
    double d;
    memcpy(&d, tr->p, 8); // little-endian on the wire, as on our hosts
    tr->p += 8;
    return d;
}

bool tp_thrift_binary(tp_thrift_reader *tr, int type, const uint8_t **p, uint32_t *len) {
    *p = NULL;
    *len = 0;
    if (type != TP_CT_BINARY) {
        tp_thrift_error(tr, "thrift field has the wrong type (expected binary)");
        return false;
    }
    uint64_t n = varint(tr);
    if (tr->bad) return false;
    if (n > (uint64_t)(tr->end - tr->p)) {
        tp_thrift_error(tr, "thrift binary runs past the end of the data");
        return false;
    }
    *p = tr->p;
    *len = (uint32_t)n;
    tr->p += n;
    return true;
}

bool tp_thrift_list(tp_thrift_reader *tr, int type, int *elem_type, uint32_t *n) {
    *n = 0;
    *elem_type = 0;
    if (type != TP_CT_LIST && type != TP_CT_SET) {
        tp_thrift_error(tr, "thrift field has the wrong type (expected a list)");
        return false;
    }
    uint8_t b = get_byte(tr);
    if (tr->bad) return false;
    uint64_t size = b >> 4;
    if (size == 15) size = varint(tr);
    int et = b & 0x0f;
    if (tr->bad) return false;
    if (et == TP_CT_STOP || et > TP_CT_STRUCT) {
        tp_thrift_error(tr, "bad thrift list element type");
        return false;
    }
    // every element takes at least one byte on the wire (bools and empty structs included)
    if (size > (uint64_t)(tr->end - tr->p)) {
        tp_thrift_error(tr, "thrift list longer than the data left");
        return false;
    }
    *elem_type = et;
    *n = (uint32_t)size;
    return true;
}

void tp_thrift_skip(tp_thrift_reader *tr, int type) {
    if (tr->bad) return;
    switch (type) {
    case TP_CT_TRUE:
    case TP_CT_FALSE: return; // field bools carry no payload
    case TP_CT_BYTE: get_byte(tr); return;
    case TP_CT_I16:
    case TP_CT_I32:
    case TP_CT_I64: varint(tr); return;
    case TP_CT_DOUBLE:
        if (tr->end - tr->p < 8) tp_thrift_error(tr, "truncated thrift data");
        else tr->p += 8;
        return;
    case TP_CT_BINARY: {
        const uint8_t *p;
        uint32_t n;
        tp_thrift_binary(tr, type, &p, &n);
        return;
    }
    case TP_CT_LIST:
    case TP_CT_SET: {
        int et;
        uint32_t n;
        if (!tp_thrift_list(tr, type, &et, &n)) return;
        if (++tr->depth > TP_THRIFT_MAX_DEPTH) {
            tp_thrift_error(tr, "thrift data nested too deeply");
            return;
        }
        for (uint32_t i = 0; i < n && !tr->bad; i++) {
            if (et == TP_CT_TRUE || et == TP_CT_FALSE) get_byte(tr);
            else tp_thrift_skip(tr, et);
        }
        tr->depth--;
        return;
    }
    case TP_CT_MAP: {
        uint64_t n = varint(tr);
        if (tr->bad || n == 0) return;
        uint8_t kv = get_byte(tr);
        int kt = kv >> 4, vt = kv & 0x0f;
        if (n > (uint64_t)(tr->end - tr->p)) {
            tp_thrift_error(tr, "thrift map longer than the data left");
            return;
        }
        if (++tr->depth > TP_THRIFT_MAX_DEPTH) {
            tp_thrift_error(tr, "thrift data nested too deeply");
            return;
        }
        for (uint64_t i = 0; i < n && !tr->bad; i++) {
            if (kt == TP_CT_TRUE || kt == TP_CT_FALSE) get_byte(tr);
            else tp_thrift_skip(tr, kt);
            if (vt == TP_CT_TRUE || vt == TP_CT_FALSE) get_byte(tr);
            else tp_thrift_skip(tr, vt);
        }
        tr->depth--;
        return;
    }
    case TP_CT_STRUCT: {
        tp_thrift_struct st;
        if (!tp_thrift_struct_begin(tr, &st)) return;
        int16_t id;
        int t;
        while (tp_thrift_field(tr, &st, &id, &t)) tp_thrift_skip(tr, t);
        tp_thrift_struct_end(tr);
        return;
    }
    default: tp_thrift_error(tr, "unknown thrift type"); return;
    }
}

/* parquet_meta.c: parsing of Parquet's FileMetaData and PageHeader (parquet.thrift field ids)
 * from Thrift compact bytes. Unknown fields are skipped; every count is bounded by the bytes that
 * remain, so the arena never holds more than a small multiple of the footer size. */
#include "io/parquet_meta.h"

#include "io/thrift_read.h"

#include <string.h>

typedef tp_thrift_reader TR;
typedef tp_thrift_struct TS;

// ---- allocation: a bump allocator over a block list owned by the pq_file_meta ----

struct pq_block {
    struct pq_block *next;
    size_t used, cap;
    _Alignas(16) unsigned char data[];
};
typedef pq_file_meta arena_t;

static void *arena_alloc(arena_t *a, size_t n) {
    n = (n + 15) & ~(size_t)15;
    struct pq_block *b = a->blocks;
    if (!b || b->cap - b->used < n) {
        size_t cap = n > 65536 ? n : 65536;
        b = tp_malloc(sizeof *b + cap);
        if (!b) return NULL;
        b->next = a->blocks;
        b->used = 0;
        b->cap = cap;
        a->blocks = b;
    }
    void *p = b->data + b->used;
    b->used += n;
    return p;
}

static char *arena_strndup(arena_t *a, const char *s, size_t n) {
    char *d = arena_alloc(a, n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = 0;
    }
    return d;
}

static char *dup_bytes(TR *tr, arena_t *a, int type) {
    const uint8_t *p;
    uint32_t n;
    if (!tp_thrift_binary(tr, type, &p, &n)) return NULL;
    char *s = arena_strndup(a, (const char *)p, n);
    if (!s) tp_thrift_error(tr, "out of memory");
    return s;
}

static void *arena_array(TR *tr, arena_t *a, uint32_t n, size_t elem) {
    void *p = arena_alloc(a, (size_t)(n ? n : 1) * elem);
    if (!p) tp_thrift_error(tr, "out of memory");
    else memset(p, 0, (size_t)(n ? n : 1) * elem);
    return p;
}

// ---- Statistics ----

static void parse_stats(TR *tr, pq_stats *s) {
    TS st;
    int16_t id;
    int t;
    memset(s, 0, sizeof *s);
    pq_bytes lmin = {0}, lmax = {0};
    bool has_lmin = false, has_lmax = false;
    if (!tp_thrift_struct_begin(tr, &st)) return;
    while (tp_thrift_field(tr, &st, &id, &t)) {
        switch (id) {
        case 1: has_lmax = tp_thrift_binary(tr, t, &lmax.p, &lmax.len); break;
        case 2: has_lmin = tp_thrift_binary(tr, t, &lmin.p, &lmin.len); break;
        case 3: s->null_count = tp_thrift_int(tr, t); s->has_null_count = true; break;
        case 4: s->distinct_count = tp_thrift_int(tr, t); s->has_distinct_count = true; break;
        case 5: s->has_max = tp_thrift_binary(tr, t, &s->max.p, &s->max.len); break;
        case 6: s->has_min = tp_thrift_binary(tr, t, &s->min.p, &s->min.len); break;
        default: tp_thrift_skip(tr, t);
        }
    }
    tp_thrift_struct_end(tr);
    if (!s->has_min && !s->has_max && (has_lmin || has_lmax)) {
        s->min = lmin;
        s->max = lmax;
        s->has_min = has_lmin;
        s->has_max = has_lmax;
        s->legacy = true;
    }
}

// ---- SchemaElement ----

static void parse_time_unit(TR *tr, int *unit) {
    TS st;
    int16_t id;
    int t;
    if (!tp_thrift_struct_begin(tr, &st)) return;
    while (tp_thrift_field(tr, &st, &id, &t)) {
        if (id >= 1 && id <= 3 && t == TP_CT_STRUCT) *unit = id;
        tp_thrift_skip(tr, t);
    }
    tp_thrift_struct_end(tr);
}

static void parse_logical(TR *tr, pq_schema_elem *e) {
    TS st, inner;
    int16_t id, iid;
    int t, it;
    if (!tp_thrift_struct_begin(tr, &st)) return;
    while (tp_thrift_field(tr, &st, &id, &t)) {
        if (t != TP_CT_STRUCT) {
            tp_thrift_skip(tr, t);
            continue;
        }
        if (id < PQ_LT_STRING || id > PQ_LT_GEOGRAPHY || id == 9) {
            tp_thrift_skip(tr, t); // a logical type newer than this reader: use the physical type
            continue;
        }
        e->logical = id;
        if (id != PQ_LT_DECIMAL && id != PQ_LT_TIME && id != PQ_LT_TIMESTAMP && id != PQ_LT_INTEGER) {
            tp_thrift_skip(tr, t); // empty marker structs, or ones whose contents we do not use
            continue;
        }
        if (!tp_thrift_struct_begin(tr, &inner)) break;
        while (tp_thrift_field(tr, &inner, &iid, &it)) {
            if (id == PQ_LT_DECIMAL && iid == 1) e->lt_scale = tp_thrift_i32(tr, it);
            else if (id == PQ_LT_DECIMAL && iid == 2) e->lt_precision = tp_thrift_i32(tr, it);
            else if ((id == PQ_LT_TIME || id == PQ_LT_TIMESTAMP) && iid == 1) e->lt_utc = tp_thrift_bool(tr, it);
            else if ((id == PQ_LT_TIME || id == PQ_LT_TIMESTAMP) && iid == 2 && it == TP_CT_STRUCT)
                parse_time_unit(tr, &e->lt_unit);
            else if (id == PQ_LT_INTEGER && iid == 1) e->lt_bits = (int)tp_thrift_int(tr, it);
            else if (id == PQ_LT_INTEGER && iid == 2) e->lt_signed = tp_thrift_bool(tr, it);
            else tp_thrift_skip(tr, it);
        }
        tp_thrift_struct_end(tr);
    }
    tp_thrift_struct_end(tr);
}

static void parse_schema_elem(TR *tr, arena_t *a, pq_schema_elem *e) {
    TS st;
    int16_t id;
    int t;
    e->type = -1;
    e->repetition = -1;
    e->converted = -1;
    if (!tp_thrift_struct_begin(tr, &st)) return;
    while (tp_thrift_field(tr, &st, &id, &t)) {
        switch (id) {
        case 1: e->type = tp_thrift_i32(tr, t); break;
        case 2: e->type_length = tp_thrift_i32(tr, t); break;
        case 3: e->repetition = tp_thrift_i32(tr, t); break;
        case 4: e->name = dup_bytes(tr, a, t); break;
        case 5: e->num_children = tp_thrift_i32(tr, t); break;
        case 6: e->converted = tp_thrift_i32(tr, t); break;
        case 7: e->scale = tp_thrift_i32(tr, t); break;
        case 8: e->precision = tp_thrift_i32(tr, t); break;
        case 10:
            if (t == TP_CT_STRUCT) parse_logical(tr, e);
            else tp_thrift_skip(tr, t);
            break;
        default: tp_thrift_skip(tr, t);
        }
    }
    tp_thrift_struct_end(tr);
    if (!tr->bad && !e->name) tp_thrift_error(tr, "schema element without a name");
}

// ---- ColumnChunk / ColumnMetaData / RowGroup ----

static void parse_column_meta(TR *tr, arena_t *a, pq_column_meta *c) {
    TS st;
    int16_t id;
    int t, et;
    uint32_t n;
    c->present = true;
    c->type = -1;
    c->codec = -1;
    c->data_page_offset = -1;
    if (!tp_thrift_struct_begin(tr, &st)) return;
    while (tp_thrift_field(tr, &st, &id, &t)) {
        switch (id) {
        case 1: c->type = tp_thrift_i32(tr, t); break;
        case 2:
            if (!tp_thrift_list(tr, t, &et, &n)) break;
            c->encodings = arena_array(tr, a, n, sizeof(int));
            c->n_encodings = c->encodings ? n : 0;
            for (uint32_t i = 0; i < c->n_encodings && !tr->bad; i++) c->encodings[i] = tp_thrift_i32(tr, et);
            break;
        case 3: {
            if (!tp_thrift_list(tr, t, &et, &n)) break;
            size_t total = 0;
            const uint8_t *save = tr->p;
            for (uint32_t i = 0; i < n && !tr->bad; i++) {
                const uint8_t *p;
                uint32_t len;
                if (tp_thrift_binary(tr, et, &p, &len)) total += len + 1;
            }
            if (tr->bad) break;
            c->path = arena_alloc(a, total + 1);
            if (!c->path) {
                tp_thrift_error(tr, "out of memory");
                break;
            }
            tr->p = save; // second pass: join with '.'
            size_t off = 0;
            for (uint32_t i = 0; i < n && !tr->bad; i++) {
                const uint8_t *p;
                uint32_t len;
                tp_thrift_binary(tr, et, &p, &len);
                if (i) c->path[off++] = '.';
                memcpy(c->path + off, p, len);
                off += len;
            }
            c->path[off] = 0;
            break;
        }
        case 4: c->codec = tp_thrift_i32(tr, t); break;
        case 5: c->num_values = tp_thrift_int(tr, t); break;
        case 6: c->total_uncompressed = tp_thrift_int(tr, t); break;
        case 7: c->total_compressed = tp_thrift_int(tr, t); break;
        case 9: c->data_page_offset = tp_thrift_int(tr, t); break;
        case 10: c->index_page_offset = tp_thrift_int(tr, t); break;
        case 11:
            c->dictionary_page_offset = tp_thrift_int(tr, t);
            c->has_dictionary_page_offset = true;
            break;
        case 12:
            if (t == TP_CT_STRUCT) {
                parse_stats(tr, &c->stats);
                c->has_stats = true;
            } else tp_thrift_skip(tr, t);
            break;
        default: tp_thrift_skip(tr, t);
        }
    }
    tp_thrift_struct_end(tr);
}

static void parse_column_chunk(TR *tr, arena_t *a, pq_column_meta *c) {
    TS st;
    int16_t id;
    int t;
    if (!tp_thrift_struct_begin(tr, &st)) return;
    while (tp_thrift_field(tr, &st, &id, &t)) {
        if (id == 1 && t == TP_CT_BINARY) c->file_path = dup_bytes(tr, a, t);
        else if (id == 3 && t == TP_CT_STRUCT) parse_column_meta(tr, a, c);
        else if (id == 8 || id == 9) {
            c->encrypted = true;
            tp_thrift_skip(tr, t);
        } else tp_thrift_skip(tr, t);
    }
    tp_thrift_struct_end(tr);
}

static void parse_row_group(TR *tr, arena_t *a, pq_row_group *g) {
    TS st;
    int16_t id;
    int t, et;
    uint32_t n;
    if (!tp_thrift_struct_begin(tr, &st)) return;
    while (tp_thrift_field(tr, &st, &id, &t)) {
        switch (id) {
        case 1:
            if (!tp_thrift_list(tr, t, &et, &n)) break;
            if (et != TP_CT_STRUCT) {
                tp_thrift_error(tr, "row group columns are not structs");
                break;
            }
            if (g->columns) {
                tp_thrift_error(tr, "row group lists its columns twice");
                break;
            }
            g->columns = arena_array(tr, a, n, sizeof *g->columns);
            g->n_columns = g->columns ? n : 0;
            for (uint32_t i = 0; i < g->n_columns && !tr->bad; i++) parse_column_chunk(tr, a, &g->columns[i]);
            break;
        case 2: g->total_byte_size = tp_thrift_int(tr, t); break;
        case 3: g->num_rows = tp_thrift_int(tr, t); break;
        case 6: g->total_compressed_size = tp_thrift_int(tr, t); break;
        default: tp_thrift_skip(tr, t);
        }
    }
    tp_thrift_struct_end(tr);
}

// ---- FileMetaData ----

tp_status tp_pq_meta_parse(const uint8_t *buf, size_t n, pq_file_meta *m) {
    memset(m, 0, sizeof *m);
    tp_status rc;
    arena_t *a = m;
    TR tr;
    TS st;
    int16_t id;
    int t, et;
    uint32_t cnt;
    bool has_schema = false, has_rows = false;
    tp_thrift_init(&tr, buf, n);
    if (tp_thrift_struct_begin(&tr, &st)) {
        while (tp_thrift_field(&tr, &st, &id, &t)) {
            switch (id) {
            case 1: m->version = tp_thrift_i32(&tr, t); break;
            case 2:
                if (!tp_thrift_list(&tr, t, &et, &cnt)) break;
                if (et != TP_CT_STRUCT || m->schema) {
                    tp_thrift_error(&tr, "bad schema list");
                    break;
                }
                m->schema = arena_array(&tr, a, cnt, sizeof *m->schema);
                m->n_schema = m->schema ? cnt : 0;
                for (uint32_t i = 0; i < m->n_schema && !tr.bad; i++) parse_schema_elem(&tr, a, &m->schema[i]);
                has_schema = true;
                break;
            case 3: m->num_rows = tp_thrift_int(&tr, t); has_rows = true; break;
            case 4:
                if (!tp_thrift_list(&tr, t, &et, &cnt)) break;
                if (et != TP_CT_STRUCT || m->row_groups) {
                    tp_thrift_error(&tr, "bad row group list");
                    break;
                }
                m->row_groups = arena_array(&tr, a, cnt, sizeof *m->row_groups);
                m->n_row_groups = m->row_groups ? cnt : 0;
                for (uint32_t i = 0; i < m->n_row_groups && !tr.bad; i++) parse_row_group(&tr, a, &m->row_groups[i]);
                break;
            case 5:
                if (!tp_thrift_list(&tr, t, &et, &cnt)) break;
                if (et != TP_CT_STRUCT) {
                    tp_thrift_skip(&tr, TP_CT_STRUCT);
                    tp_thrift_error(&tr, "bad key/value metadata");
                    break;
                }
                m->kv = arena_array(&tr, a, cnt, sizeof *m->kv);
                m->n_kv = m->kv ? cnt : 0;
                for (uint32_t i = 0; i < m->n_kv && !tr.bad; i++) {
                    TS kst;
                    int16_t kid;
                    int kt;
                    if (!tp_thrift_struct_begin(&tr, &kst)) break;
                    while (tp_thrift_field(&tr, &kst, &kid, &kt)) {
                        if (kid == 1 && kt == TP_CT_BINARY) m->kv[i].key = dup_bytes(&tr, a, kt);
                        else if (kid == 2 && kt == TP_CT_BINARY) m->kv[i].value = dup_bytes(&tr, a, kt);
                        else tp_thrift_skip(&tr, kt);
                    }
                    tp_thrift_struct_end(&tr);
                }
                break;
            case 6:
                if (t == TP_CT_BINARY) m->created_by = dup_bytes(&tr, a, t);
                else tp_thrift_skip(&tr, t);
                break;
            case 8: m->encrypted = true; tp_thrift_skip(&tr, t); break;
            default: tp_thrift_skip(&tr, t);
            }
        }
        tp_thrift_struct_end(&tr);
    }
    if (!tr.bad && (!has_schema || m->n_schema == 0)) tp_thrift_error(&tr, "footer has no schema");
    if (!tr.bad && !has_rows) tp_thrift_error(&tr, "footer has no row count");
    if (tr.bad) {
        rc = tp_fail(TP_ERR_FORMAT, "corrupt footer metadata: %s", tr.why);
        tp_pq_meta_free(m);
        return rc;
    }
    return TP_OK;
}

void tp_pq_meta_free(pq_file_meta *m) {
    if (!m) return;
    while (m->blocks) {
        struct pq_block *next = m->blocks->next;
        tp_free(m->blocks);
        m->blocks = next;
    }
    memset(m, 0, sizeof *m);
}

// ---- PageHeader ----

tp_status tp_pq_page_header_parse(const uint8_t *buf, size_t n, pq_page_header *h, size_t *used) {
    memset(h, 0, sizeof *h);
    h->type = -1;
    h->is_compressed = true;
    TR tr;
    TS st, sub;
    int16_t id, sid;
    int t, stt;
    bool has_type = false, has_usize = false, has_csize = false;
    tp_thrift_init(&tr, buf, n);
    if (tp_thrift_struct_begin(&tr, &st)) {
        while (tp_thrift_field(&tr, &st, &id, &t)) {
            switch (id) {
            case 1: h->type = tp_thrift_i32(&tr, t); has_type = true; break;
            case 2: h->uncompressed_size = tp_thrift_i32(&tr, t); has_usize = true; break;
            case 3: h->compressed_size = tp_thrift_i32(&tr, t); has_csize = true; break;
            case 4: h->crc = (uint32_t)tp_thrift_i32(&tr, t); h->has_crc = true; break;
            case 5: case 7: case 8:
                if (t != TP_CT_STRUCT) {
                    tp_thrift_skip(&tr, t);
                    break;
                }
                if (id == 5) h->has_data = true;
                if (id == 7) h->has_dict = true;
                if (id == 8) h->has_v2 = true;
                if (!tp_thrift_struct_begin(&tr, &sub)) break;
                while (tp_thrift_field(&tr, &sub, &sid, &stt)) {
                    if (sid == 1) h->num_values = tp_thrift_i32(&tr, stt);
                    else if (id == 5 && sid == 2) h->encoding = tp_thrift_i32(&tr, stt);
                    else if (id == 5 && sid == 3) h->def_encoding = tp_thrift_i32(&tr, stt);
                    else if (id == 5 && sid == 4) h->rep_encoding = tp_thrift_i32(&tr, stt);
                    else if (id == 7 && sid == 2) h->encoding = tp_thrift_i32(&tr, stt);
                    else if (id == 8 && sid == 2) h->num_nulls = tp_thrift_i32(&tr, stt);
                    else if (id == 8 && sid == 3) h->num_rows = tp_thrift_i32(&tr, stt);
                    else if (id == 8 && sid == 4) h->encoding = tp_thrift_i32(&tr, stt);
                    else if (id == 8 && sid == 5) h->def_len = tp_thrift_i32(&tr, stt);
                    else if (id == 8 && sid == 6) h->rep_len = tp_thrift_i32(&tr, stt);
                    else if (id == 8 && sid == 7) h->is_compressed = tp_thrift_bool(&tr, stt);
                    else if ((id == 5 && sid == 5) || (id == 8 && sid == 8)) {
                        if (stt == TP_CT_STRUCT) {
                            parse_stats(&tr, &h->stats);
                            h->has_stats = true;
                        } else tp_thrift_skip(&tr, stt);
                    } else tp_thrift_skip(&tr, stt);
                }
                tp_thrift_struct_end(&tr);
                break;
            default: tp_thrift_skip(&tr, t);
            }
        }
        tp_thrift_struct_end(&tr);
    }
    if (!tr.bad && (!has_type || !has_usize || !has_csize))
        tp_thrift_error(&tr, "page header lacks its type or sizes");
    if (!tr.bad && (h->uncompressed_size < 0 || h->compressed_size < 0))
        tp_thrift_error(&tr, "page header has a negative size");
    if (!tr.bad && (h->num_values < 0 || h->num_nulls < 0 || h->def_len < 0 || h->rep_len < 0))
        tp_thrift_error(&tr, "page header has a negative count");
    if (tr.bad) return tp_fail(TP_ERR_FORMAT, "corrupt page header: %s", tr.why);
    *used = (size_t)(tr.p - buf);
    return TP_OK;
}

// ---- names ----

const char *tp_pq_type_name(int type) {
    static const char *const names[] = {"BOOLEAN", "INT32",  "INT64",      "INT96",
                                        "FLOAT",   "DOUBLE", "BYTE_ARRAY", "FIXED_LEN_BYTE_ARRAY"};
    return type >= 0 && type < 8 ? names[type] : "?";
}

const char *tp_pq_encoding_name(int enc) {
    switch (enc) {
    case PQ_ENC_PLAIN: return "PLAIN";
    case PQ_ENC_PLAIN_DICTIONARY: return "PLAIN_DICTIONARY";
    case PQ_ENC_RLE: return "RLE";
    case PQ_ENC_BIT_PACKED: return "BIT_PACKED";
    case PQ_ENC_DELTA_BINARY_PACKED: return "DELTA_BINARY_PACKED";
    case PQ_ENC_DELTA_LENGTH_BYTE_ARRAY: return "DELTA_LENGTH_BYTE_ARRAY";
    case PQ_ENC_DELTA_BYTE_ARRAY: return "DELTA_BYTE_ARRAY";
    case PQ_ENC_RLE_DICTIONARY: return "RLE_DICTIONARY";
    case PQ_ENC_BYTE_STREAM_SPLIT: return "BYTE_STREAM_SPLIT";
    default: return "?";
    }
}

const char *tp_pq_converted_name(int ct) {
    static const char *const names[] = {
        "UTF8",       "MAP",          "MAP_KEY_VALUE", "LIST",   "ENUM",   "DECIMAL",
        "DATE",       "TIME_MILLIS",  "TIME_MICROS",   "TIMESTAMP_MILLIS", "TIMESTAMP_MICROS",
        "UINT_8",     "UINT_16",      "UINT_32",       "UINT_64", "INT_8",  "INT_16",
        "INT_32",     "INT_64",       "JSON",          "BSON",   "INTERVAL"};
    return ct >= 0 && ct < (int)(sizeof names / sizeof *names) ? names[ct] : "?";
}

const char *tp_pq_logical_name(int lt) {
    switch (lt) {
    case PQ_LT_STRING: return "STRING";
    case PQ_LT_MAP: return "MAP";
    case PQ_LT_LIST: return "LIST";
    case PQ_LT_ENUM: return "ENUM";
    case PQ_LT_DECIMAL: return "DECIMAL";
    case PQ_LT_DATE: return "DATE";
    case PQ_LT_TIME: return "TIME";
    case PQ_LT_TIMESTAMP: return "TIMESTAMP";
    case PQ_LT_INTEGER: return "INTEGER";
    case PQ_LT_UNKNOWN: return "UNKNOWN";
    case PQ_LT_JSON: return "JSON";
    case PQ_LT_BSON: return "BSON";
    case PQ_LT_UUID: return "UUID";
    case PQ_LT_FLOAT16: return "FLOAT16";
    case PQ_LT_VARIANT: return "VARIANT";
    case PQ_LT_GEOMETRY: return "GEOMETRY";
    case PQ_LT_GEOGRAPHY: return "GEOGRAPHY";
    default: return "?";
    }
}

/* parquet_meta.h (internal): Parquet footer and page-header structures (parquet.thrift) and
 * their parsing from Thrift compact bytes. Strings and statistics point into the parsed buffer,
 * which must outlive the structures; arrays come from one block list freed by tp_pq_meta_free. */
#ifndef TP_IO_PARQUET_META_H
#define TP_IO_PARQUET_META_H

#include "touchpoint/core.h"
#include <stdbool.h>

// physical types, repetition, converted types, encodings, page types: parquet.thrift values
enum { PQ_BOOLEAN, PQ_INT32, PQ_INT64, PQ_INT96, PQ_FLOAT, PQ_DOUBLE, PQ_BYTE_ARRAY, PQ_FLBA };
enum { PQ_REQUIRED, PQ_OPTIONAL, PQ_REPEATED };
enum {
    PQ_CT_UTF8 = 0, PQ_CT_MAP, PQ_CT_MAP_KEY_VALUE, PQ_CT_LIST, PQ_CT_ENUM, PQ_CT_DECIMAL,
    PQ_CT_DATE, PQ_CT_TIME_MILLIS, PQ_CT_TIME_MICROS, PQ_CT_TIMESTAMP_MILLIS,
    PQ_CT_TIMESTAMP_MICROS, PQ_CT_UINT_8, PQ_CT_UINT_16, PQ_CT_UINT_32, PQ_CT_UINT_64,
    PQ_CT_INT_8, PQ_CT_INT_16, PQ_CT_INT_32, PQ_CT_INT_64, PQ_CT_JSON, PQ_CT_BSON, PQ_CT_INTERVAL,
};
enum {
    PQ_ENC_PLAIN = 0, PQ_ENC_PLAIN_DICTIONARY = 2, PQ_ENC_RLE = 3, PQ_ENC_BIT_PACKED = 4,
    PQ_ENC_DELTA_BINARY_PACKED = 5, PQ_ENC_DELTA_LENGTH_BYTE_ARRAY = 6, PQ_ENC_DELTA_BYTE_ARRAY = 7,
    PQ_ENC_RLE_DICTIONARY = 8, PQ_ENC_BYTE_STREAM_SPLIT = 9,
};
enum { PQ_PAGE_DATA = 0, PQ_PAGE_INDEX = 1, PQ_PAGE_DICTIONARY = 2, PQ_PAGE_DATA_V2 = 3 };
// LogicalType union members (field ids)
enum {
    PQ_LT_NONE = 0, PQ_LT_STRING = 1, PQ_LT_MAP = 2, PQ_LT_LIST = 3, PQ_LT_ENUM = 4,
    PQ_LT_DECIMAL = 5, PQ_LT_DATE = 6, PQ_LT_TIME = 7, PQ_LT_TIMESTAMP = 8, PQ_LT_INTEGER = 10,
    PQ_LT_UNKNOWN = 11, PQ_LT_JSON = 12, PQ_LT_BSON = 13, PQ_LT_UUID = 14, PQ_LT_FLOAT16 = 15,
    PQ_LT_VARIANT = 16, PQ_LT_GEOMETRY = 17, PQ_LT_GEOGRAPHY = 18,
};
enum { PQ_UNIT_MILLIS = 1, PQ_UNIT_MICROS = 2, PQ_UNIT_NANOS = 3 };

typedef struct pq_bytes {
    const uint8_t *p;
    uint32_t len;
} pq_bytes;

typedef struct pq_stats {
    pq_bytes min, max;          /* min_value/max_value, else the legacy min/max */
    bool has_min, has_max;
    bool legacy;                /* min/max came from the deprecated fields 1/2 */
    int64_t null_count, distinct_count;
    bool has_null_count, has_distinct_count;
} pq_stats;

typedef struct pq_schema_elem {
    char *name;
    int type;                   /* -1 for groups */
    int32_t type_length;
    int repetition;             /* -1 when absent (root) */
    int32_t num_children;
    int converted;              /* -1 when absent */
    int32_t scale, precision;
    int logical;                /* PQ_LT_*, 0 when absent */
    int lt_unit;                /* TIME/TIMESTAMP: PQ_UNIT_* */
    bool lt_utc;
    int lt_bits;                /* INTEGER: 8/16/32/64 */
    bool lt_signed;
    int32_t lt_scale, lt_precision;
} pq_schema_elem;

typedef struct pq_column_meta {
    bool present;               /* meta_data was in the ColumnChunk */
    char *file_path;            /* NULL: same file */
    bool encrypted;             /* crypto metadata present */
    int type;
    int *encodings;
    uint32_t n_encodings;
    char *path;                 /* path_in_schema joined with '.' */
    int codec;
    int64_t num_values, total_uncompressed, total_compressed;
    int64_t data_page_offset, dictionary_page_offset, index_page_offset;
    bool has_dictionary_page_offset;
    pq_stats stats;
    bool has_stats;
} pq_column_meta;

typedef struct pq_row_group {
    pq_column_meta *columns;
    uint32_t n_columns;
    int64_t num_rows, total_byte_size, total_compressed_size;
} pq_row_group;

typedef struct pq_kv {
    char *key, *value;
} pq_kv;

typedef struct pq_file_meta {
    int32_t version;
    pq_schema_elem *schema;
    uint32_t n_schema;
    int64_t num_rows;
    pq_row_group *row_groups;
    uint32_t n_row_groups;
    pq_kv *kv;
    uint32_t n_kv;
    char *created_by;
    bool encrypted;             /* encryption_algorithm present (plaintext-footer mode) */
    struct pq_block *blocks;    /* allocations, freed together */
} pq_file_meta;

typedef struct pq_page_header {
    int type;
    int32_t uncompressed_size, compressed_size;
    bool has_crc;
    uint32_t crc;
    bool has_data, has_dict, has_v2;
    // DataPageHeader / DataPageHeaderV2 / DictionaryPageHeader
    int32_t num_values;
    int encoding;
    int def_encoding, rep_encoding;     /* v1 */
    int32_t num_nulls, num_rows;        /* v2 */
    int32_t def_len, rep_len;           /* v2 */
    bool is_compressed;                 /* v2, default true */
    pq_stats stats;                     /* data page statistics (v1/v2), for inspection */
    bool has_stats;
} pq_page_header;

/* Parse a FileMetaData from buf (n bytes). TP_ERR_FORMAT with the reason on malformed input. */
tp_status tp_pq_meta_parse(const uint8_t *buf, size_t n, pq_file_meta *out);
void tp_pq_meta_free(pq_file_meta *m);
/* Parse one PageHeader at buf; *used receives its length in bytes. */
tp_status tp_pq_page_header_parse(const uint8_t *buf, size_t n, pq_page_header *out, size_t *used);

const char *tp_pq_type_name(int type);
const char *tp_pq_encoding_name(int enc);
const char *tp_pq_converted_name(int ct);
const char *tp_pq_logical_name(int lt);

#endif

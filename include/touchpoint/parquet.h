/* parquet.h: our own Parquet reader and writer (flat schemas).
 * Reader: every physical type, PLAIN, dictionary, RLE, DELTA_* and BYTE_STREAM_SPLIT encodings,
 * UNCOMPRESSED/SNAPPY/GZIP/ZSTD/LZ4_RAW/LZ4(Hadoop)/BROTLI, data pages v1 and v2, page CRCs.
 * It reads one row group at a time so memory stays bounded.
 * Writer: dictionary strings, RLE definition levels, statistics, atomic temp+fsync+rename. */
#ifndef TOUCHPOINT_PARQUET_H
#define TOUCHPOINT_PARQUET_H

#include "touchpoint/table.h"

#ifdef __cplusplus
extern "C" {
#endif

// ---- reader ----

typedef struct tp_pq_reader tp_pq_reader;

/* Open a file and parse its footer. Errors name the file. */
TP_API tp_status tp_pq_open(const char *path, tp_pq_reader **out);
TP_API void tp_pq_close(tp_pq_reader *r);
TP_API int64_t tp_pq_n_rows(const tp_pq_reader *r);
TP_API size_t tp_pq_n_row_groups(const tp_pq_reader *r);
TP_API size_t tp_pq_n_columns(const tp_pq_reader *r);
TP_API const char *tp_pq_column_name(const tp_pq_reader *r, size_t i); /* borrowed */
/* The dtype the column reads as (TP_ERR_UNSUPPORTED for nested/repeated columns, with its name). */
TP_API tp_status tp_pq_column_type(const tp_pq_reader *r, size_t i, tp_dtype *type, tp_time_unit *unit);

/* Restrict reads to the named columns, in that order (NULL/0 = all). A name that does not exist
 * is TP_ERR_NOTFOUND naming it and the file. */
TP_API tp_status tp_pq_select(tp_pq_reader *r, const char *const *names, size_t n);
/* Read row group g into a new frame. String columns of consecutive reads from one reader share
 * one dictionary per column, so codes are comparable across row groups. */
TP_API tp_status tp_pq_read_row_group(tp_pq_reader *r, size_t g, tp_frame **out);
/* Convenience: the whole file (selected columns) as one frame. */
TP_API tp_status tp_pq_read_file(const char *path, const char *const *cols, size_t n_cols, tp_frame **out);

/* Human-readable metadata (what parquet-tools shows): schema, row groups, per-column-chunk codec,
 * encodings, sizes, statistics. Written to fp. */
TP_API tp_status tp_pq_inspect(const char *path, FILE *fp);

// ---- writer ----

typedef enum tp_codec {
    TP_CODEC_UNCOMPRESSED = 0, TP_CODEC_SNAPPY = 1, TP_CODEC_GZIP = 2, TP_CODEC_LZO = 3,
    TP_CODEC_BROTLI = 4, TP_CODEC_LZ4 = 5, TP_CODEC_ZSTD = 6, TP_CODEC_LZ4_RAW = 7,
} tp_codec; /* values are Parquet's CompressionCodec */

TP_API const char *tp_codec_name(tp_codec c);
TP_API tp_status tp_codec_parse(const char *name, tp_codec *out); /* "zstd", "snappy", "gzip", "none" ... */

typedef struct tp_pq_write_opts {
    tp_codec codec;          /* default ZSTD */
    int level;               /* codec level, 0 = codec default */
    size_t row_group_rows;   /* rows per row group, default 1,000,000 */
    size_t page_bytes;       /* target uncompressed data page size, default 1 MiB */
    size_t dict_max_bytes;   /* dictionary page size before falling back to PLAIN, default 1 MiB */
    bool statistics;         /* min/max/null_count, default true */
    int page_version;        /* data page header version: 1 (default) or 2 */
    const char *const *metadata; /* key_value_metadata: NULL, or key, value, key, value, ..., NULL */
} tp_pq_write_opts;
TP_API void tp_pq_write_opts_default(tp_pq_write_opts *o);

/* Streaming writer: frames are buffered into row groups of opts->row_group_rows.
 * Output goes to "<path>.tmp-<pid>" and is renamed over path only by tp_pq_writer_close after
 * fsync; tp_pq_writer_abort (or any error) removes the temp file and leaves path untouched. */
typedef struct tp_pq_writer tp_pq_writer;
TP_API tp_status tp_pq_writer_open(const char *path, const tp_pq_write_opts *opts, tp_pq_writer **out);
/* All frames must have the same column names and dtypes as the first. Every column is written
 * OPTIONAL; timestamps in seconds are written as milliseconds (Parquet has no seconds unit). */
TP_API tp_status tp_pq_writer_write(tp_pq_writer *w, const tp_frame *f);
/* Flush, footer, fsync, rename; frees w. TP_ERR_ARG (nothing written) if no column was ever given. */
TP_API tp_status tp_pq_writer_close(tp_pq_writer *w);
TP_API void tp_pq_writer_abort(tp_pq_writer *w);      /* discard; frees w */
/* One call: write a whole frame atomically. opts NULL = defaults. */
TP_API tp_status tp_pq_write_file(const tp_frame *f, const char *path, const tp_pq_write_opts *opts);

#ifdef __cplusplus
}
#endif
#endif

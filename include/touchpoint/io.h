/* io.h: read and write tables by path, whatever the format: a .parquet file, a .csv/.tsv file
 * (optionally .gz), a folder of part files, or Hive-style key=value/ folders (partition keys
 * become string columns). Formats are chosen by extension. */
#ifndef TOUCHPOINT_IO_H
#define TOUCHPOINT_IO_H

#include "touchpoint/csv.h"
#include "touchpoint/parquet.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum tp_format { TP_FORMAT_UNKNOWN, TP_FORMAT_PARQUET, TP_FORMAT_CSV, TP_FORMAT_TSV } tp_format;
TP_API tp_format tp_format_of_path(const char *path); /* by extension, ignoring a trailing .gz */

/* Read a whole table (columns: projection, NULL = all). For a folder, every part file (sorted by
 * path) must have the same schema; files named _* or .* are skipped. */
TP_API tp_status tp_table_read(const char *path, const char *const *cols, size_t n_cols, tp_frame **out);

/* Streaming scan: one batch (a row group, a chunk of CSV rows) at a time. String columns share a
 * dictionary across all batches of one scan. */
typedef struct tp_scan tp_scan;
TP_API tp_status tp_scan_open(const char *path, const char *const *cols, size_t n_cols, tp_scan **out);
/* *out = next batch (caller frees), or NULL at the end. */
TP_API tp_status tp_scan_next(tp_scan *s, tp_frame **out);
TP_API void tp_scan_close(tp_scan *s);

typedef struct tp_write_opts {
    tp_pq_write_opts parquet;
    tp_csv_write_opts csv;
} tp_write_opts;
TP_API void tp_write_opts_default(tp_write_opts *o);
/* Write atomically in the format of the path's extension. opts NULL = defaults. */
TP_API tp_status tp_table_write(const tp_frame *f, const char *path, const tp_write_opts *opts);

/* Atomic file helpers: open "<path>.tmp-<pid>-<n>" for writing; commit fsyncs, closes and renames
 * (and fsyncs the directory); abort closes and unlinks. */
typedef struct tp_atomic_file {
    FILE *fp;
    char *path;
    char *tmp_path;
} tp_atomic_file;
TP_API tp_status tp_atomic_open(const char *path, tp_atomic_file *af);
TP_API tp_status tp_atomic_commit(tp_atomic_file *af);
TP_API void tp_atomic_abort(tp_atomic_file *af);
/* Write a whole buffer atomically. */
TP_API tp_status tp_atomic_write(const char *path, const void *data, size_t n);
/* mkdir -p */
TP_API tp_status tp_mkdirs(const char *path);

#ifdef __cplusplus
}
#endif
#endif

/* csv.h: CSV/TSV reader and writer. RFC 4180 quoting, a header row, delimiter detection,
 * type inference with an explicit schema override, gzip input (by magic bytes). Errors name the
 * file, line and column. */
#ifndef TOUCHPOINT_CSV_H
#define TOUCHPOINT_CSV_H

#include "touchpoint/table.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tp_csv_opts {
    char delimiter;          /* 0 = detect from the header line (',', '\t', ';', '|') */
    bool header;             /* first row names the columns (default true) */
    size_t infer_rows;       /* rows sampled for type inference, default 10,000 (0 = all) */
    /* Explicit types for some columns: "name:type" strings, type one of bool,int32,int64,float,
     * double,string,timestamp,date. Others are inferred. */
    const char *const *schema;
    size_t n_schema;
    const char *const *columns; /* projection (NULL = all) */
    size_t n_columns;
    const char *null_token;  /* extra token read as null besides the empty field (e.g. "NA") */
} tp_csv_opts;
TP_API void tp_csv_opts_default(tp_csv_opts *o);

/* Read a whole CSV/TSV file (plain or gzip, by magic bytes; a UTF-8 BOM is skipped) into *out.
 * Inferred types: bool (true/false, any case), int32, int64, double (also nan/inf), date
 * (YYYY-MM-DD), timestamp (YYYY-MM-DD[ T]HH:MM:SS[.f{1,9}][Z|+HH:MM], stored in microseconds,
 * digits past the sixth dropped), else string; a later value that does not fit widens the column
 * (int32 -> int64 -> double, date -> timestamp, else string, re-read from the text). Nulls: an
 * unquoted empty field or null_token; a quoted "" is an empty string in a string column (null in
 * others). Blank lines are skipped unless the file has a single column (then they are nulls).
 * Errors (TP_ERR_FORMAT) name the file, the 1-based physical line and the column: a value the
 * explicit schema does not fit, a row with the wrong field count, an unterminated quote (the line
 * where it began). A projected or schema column missing from the header is TP_ERR_NOTFOUND. */
TP_API tp_status tp_csv_read_file(const char *path, const tp_csv_opts *opts, tp_frame **out);

typedef struct tp_csv_write_opts {
    char delimiter; /* default ',' */
    bool header;    /* default true */
    bool gzip;      /* default false; true when the path ends in .gz */
} tp_csv_write_opts;
TP_API void tp_csv_write_opts_default(tp_csv_write_opts *o);
/* Atomic (temp file, fsync, rename). */
TP_API tp_status tp_csv_write_file(const tp_frame *f, const char *path, const tp_csv_write_opts *opts);
/* Streaming variant for the CLI's `cat`: writes rows [lo, hi) to fp, header when asked. */
TP_API tp_status tp_csv_write_rows(const tp_frame *f, size_t lo, size_t hi, char delimiter,
                                   bool header, FILE *fp);

#ifdef __cplusplus
}
#endif
#endif

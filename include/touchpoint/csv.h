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

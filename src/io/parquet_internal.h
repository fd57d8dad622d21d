/* parquet_internal.h (internal): reader entry points shared by the inspector, the tests and the
 * fuzz target but not part of the public API. */
#ifndef TP_IO_PARQUET_INTERNAL_H
#define TP_IO_PARQUET_INTERNAL_H

#include "io/parquet_meta.h"
#include "touchpoint/parquet.h"

/* Open a Parquet file held in memory (the bytes are copied); name is used in error messages. */
tp_status tp_pq_open_memory(const void *buf, size_t n, const char *name, tp_pq_reader **out);
/* Every row group of the selected columns as one frame (an empty frame for zero row groups). */
tp_status tp_pq_read_all(tp_pq_reader *r, tp_frame **out);
/* The parsed footer (borrowed, valid until tp_pq_close). */
const pq_file_meta *tp_pq_meta(const tp_pq_reader *r);

#endif

/* codec.h (internal): block compression for Parquet pages and gzip CSV, over Debian's
 * zstd, snappy, zlib, brotli and lz4 libraries. */
#ifndef TP_IO_CODEC_H
#define TP_IO_CODEC_H

#include "touchpoint/parquet.h"

/* Decompress src into dst, which must be exactly dst_len bytes (Parquet records the
 * uncompressed size). GZIP accepts concatenated members; LZ4 is the Hadoop-framed variant
 * (falling back to a raw LZ4 block as other readers do). A size mismatch or corrupt input is
 * TP_ERR_FORMAT. */
tp_status tp_codec_decompress(tp_codec c, const uint8_t *src, size_t src_len, uint8_t *dst, size_t dst_len);

/* Compress src into a buffer that the function (re)allocates as needed: *dst and *dst_cap are an
 * in/out growable buffer (tp_malloc'd; may start NULL/0); *dst_len receives the size. */
tp_status tp_codec_compress(tp_codec c, int level, const uint8_t *src, size_t src_len, uint8_t **dst,
                            size_t *dst_cap, size_t *dst_len);

/* Inflate a whole gzip stream (all members) of unknown size into a new buffer. */
tp_status tp_gunzip_alloc(const uint8_t *src, size_t src_len, uint8_t **out, size_t *out_len);

#endif

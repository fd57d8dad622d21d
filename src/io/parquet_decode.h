/* parquet_decode.h (internal): Parquet value and level encodings, decoded from bounded buffers:
 * the RLE/bit-packed hybrid, legacy BIT_PACKED levels, DELTA_BINARY_PACKED,
 * DELTA_LENGTH_BYTE_ARRAY, DELTA_BYTE_ARRAY, BYTE_STREAM_SPLIT and PLAIN byte arrays.
 * Spec: https://parquet.apache.org/docs/file-format/data-pages/encodings/ */
#ifndef TP_IO_PARQUET_DECODE_H
#define TP_IO_PARQUET_DECODE_H

#include "touchpoint/core.h"

/* RLE/bit-packed hybrid (no length prefix): exactly n values of bw bits (0..32) into out.
 * Running out of data before n values is TP_ERR_FORMAT. */
tp_status pq_rle_decode(const uint8_t *p, size_t len, int bw, uint32_t *out, size_t n);

/* Deprecated BIT_PACKED levels: n values of bw bits packed from the most significant bit. */
tp_status pq_bitpacked_legacy_decode(const uint8_t *p, size_t len, int bw, uint32_t *out, size_t n);

/* Bits needed for values 0..max (0 for max 0). */
int pq_bit_width(uint32_t max);

/* Unpack n little-endian bit-packed values of bw bits (0..64) from p (avail bytes; the caller
 * guarantees n*bw bits fit). */
void pq_unpack64(const uint8_t *p, size_t avail, int bw, uint64_t *out, size_t n);

/* DELTA_BINARY_PACKED: decodes all values the header announces (at most cap, else an error)
 * into out with wrap-around 64-bit arithmetic (int32 columns keep the low 32 bits). *count
 * receives how many, *used how many bytes the encoding took. */
tp_status pq_delta_decode(const uint8_t *p, size_t len, int64_t *out, size_t cap, size_t *count,
                          size_t *used);

/* Byte-array values are handed to a sink one at a time (i = value index); the bytes are valid
 * only during the call. */
typedef tp_status (*pq_ba_sink)(void *ctx, size_t i, const uint8_t *p, uint32_t len);

/* PLAIN byte arrays: n values of [u32 length][bytes]. */
tp_status pq_plain_ba(const uint8_t *p, size_t len, size_t n, pq_ba_sink sink, void *ctx);
/* DELTA_LENGTH_BYTE_ARRAY: n values. scratch: int64 room for at least n lengths. */
tp_status pq_delta_length_ba(const uint8_t *p, size_t len, size_t n, int64_t *scratch, pq_ba_sink sink,
                             void *ctx);
/* DELTA_BYTE_ARRAY: n values; scratch: int64 room for 2n; buf: len bytes of room for the value
 * being rebuilt (a value is never longer than the sum of all suffixes, which is < len). */
tp_status pq_delta_ba(const uint8_t *p, size_t len, size_t n, int64_t *scratch, uint8_t *buf,
                      pq_ba_sink sink, void *ctx);

/* BYTE_STREAM_SPLIT: gather n values of width w bytes into their PLAIN layout in out (n*w
 * bytes). The page holds len/w values; fewer than n is an error. */
tp_status pq_bss_decode(const uint8_t *p, size_t len, size_t w, size_t n, uint8_t *out);

#endif

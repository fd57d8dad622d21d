/* codec.c: block compression for Parquet pages (both directions) and gzip streams for CSV, over
 * Debian's zstd, snappy, zlib, brotli and lz4. Decompression always targets an exact size (Parquet
 * records the uncompressed page size), so corrupt input can never make us write or allocate more. */
#include "io/codec.h"

#include <brotli/decode.h>
#include <brotli/encode.h>
#include <ctype.h>
#include <lz4.h>
#include <lz4frame.h>
#include <snappy-c.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>
#include <zstd.h>

static const char *const codec_names[] = {"uncompressed", "snappy", "gzip", "lzo",
                                          "brotli",       "lz4",    "zstd", "lz4_raw"};

const char *tp_codec_name(tp_codec c) {
    if ((unsigned)c < sizeof codec_names / sizeof *codec_names) return codec_names[c];
    return "unknown";
}

tp_status tp_codec_parse(const char *name, tp_codec *out) {
    if (!name) return tp_fail(TP_ERR_ARG, "codec name is NULL");
    if (strcasecmp(name, "none") == 0 || strcasecmp(name, "uncompressed") == 0) {
        *out = TP_CODEC_UNCOMPRESSED;
        return TP_OK;
    }
    for (size_t i = 0; i < sizeof codec_names / sizeof *codec_names; i++) {
        if (strcasecmp(name, codec_names[i]) == 0) {
            *out = (tp_codec)i;
            return TP_OK;
        }
    }
    if (strcasecmp(name, "lz4-raw") == 0) {
        *out = TP_CODEC_LZ4_RAW;
        return TP_OK;
    }
    return tp_fail(TP_ERR_ARG,
                   "unknown codec '%s' (expected none, snappy, gzip, brotli, lz4, lz4_raw or zstd)",
                   name);
}

// ---- decompression ----

/* zlib: gzip or zlib header (auto-detected), any number of concatenated members. */
static tp_status inflate_exact(const uint8_t *src, size_t src_len, uint8_t *dst, size_t dst_len) {
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (inflateInit2(&zs, 15 + 32) != Z_OK) return tp_fail(TP_ERR_INTERNAL, "zlib inflateInit failed");
    tp_status rc = TP_OK;
    size_t in_off = 0, out_off = 0;
    for (;;) {
        size_t in_chunk = src_len - in_off, out_chunk = dst_len - out_off;
        if (in_chunk > UINT32_MAX) in_chunk = UINT32_MAX;
        if (out_chunk > UINT32_MAX) out_chunk = UINT32_MAX;
        zs.next_in = (Bytef *)(src + in_off);
        zs.avail_in = (uInt)in_chunk;
        zs.next_out = dst + out_off;
        zs.avail_out = (uInt)out_chunk;
        int zr = inflate(&zs, Z_NO_FLUSH);
        in_off += in_chunk - zs.avail_in;
        out_off += out_chunk - zs.avail_out;
        if (zr == Z_STREAM_END) {
            // another member follows? (skip trailing zero padding some writers leave)
            while (in_off < src_len && src[in_off] == 0) in_off++;
            if (in_off >= src_len || out_off == dst_len) break;
            if (inflateReset(&zs) != Z_OK) {
                rc = tp_fail(TP_ERR_INTERNAL, "zlib inflateReset failed");
                goto done;
            }
            continue;
        }
        if (zr == Z_OK) continue; // a stalled stream comes back as Z_BUF_ERROR next round
        if (zr == Z_BUF_ERROR) {
            rc = tp_fail(TP_ERR_FORMAT, "gzip data truncated or larger than the recorded %zu bytes",
                         dst_len);
            goto done;
        }
        rc = tp_fail(TP_ERR_FORMAT, "gzip data corrupt: %s", zs.msg ? zs.msg : "inflate error");
        goto done;
    }
    if (out_off != dst_len)
        rc = tp_fail(TP_ERR_FORMAT, "gzip data decompressed to %zu bytes, expected %zu", out_off, dst_len);
done:
    inflateEnd(&zs);
    return rc;
}

static uint32_t be32(const uint8_t *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Hadoop's Lz4Codec framing: blocks of [BE u32 decompressed][BE u32 compressed][lz4 block].
 * Returns 1 when src parses fully that way and fills dst exactly. */
static int lz4_hadoop(const uint8_t *src, size_t src_len, uint8_t *dst, size_t dst_len) {
    size_t in = 0, out = 0;
    if (src_len < 8) return 0;
    while (in < src_len) {
        if (src_len - in < 8) return 0;
        uint32_t dlen = be32(src + in), clen = be32(src + in + 4);
        in += 8;
        if (clen > src_len - in || dlen > dst_len - out) return 0;
        if (clen > INT32_MAX || dlen > INT32_MAX) return 0;
        int n = LZ4_decompress_safe((const char *)src + in, (char *)dst + out, (int)clen, (int)dlen);
        if (n < 0 || (uint32_t)n != dlen) return 0;
        in += clen;
        out += dlen;
    }
    return out == dst_len;
}

static int lz4_frame(const uint8_t *src, size_t src_len, uint8_t *dst, size_t dst_len) {
    LZ4F_dctx *ctx = NULL;
    if (LZ4F_isError(LZ4F_createDecompressionContext(&ctx, LZ4F_VERSION))) return 0;
    size_t in = 0, out = 0;
    int ok = 0;
    for (;;) {
        size_t in_n = src_len - in, out_n = dst_len - out;
        size_t r = LZ4F_decompress(ctx, dst + out, &out_n, src + in, &in_n, NULL);
        if (LZ4F_isError(r)) break;
        in += in_n;
        out += out_n;
        if (r == 0) {
            ok = out == dst_len && in == src_len;
            break;
        }
        if (in_n == 0 && out_n == 0) break; // no progress: truncated or output full
    }
    LZ4F_freeDecompressionContext(ctx);
    return ok;
}

tp_status tp_codec_decompress(tp_codec c, const uint8_t *src, size_t src_len, uint8_t *dst,
                              size_t dst_len) {
    switch (c) {
    case TP_CODEC_UNCOMPRESSED:
        if (src_len != dst_len)
            return tp_fail(TP_ERR_FORMAT, "uncompressed page is %zu bytes, header says %zu", src_len,
                           dst_len);
        if (dst_len) memcpy(dst, src, dst_len);
        return TP_OK;
    case TP_CODEC_SNAPPY: {
        size_t n = 0;
        if (snappy_uncompressed_length((const char *)src, src_len, &n) != SNAPPY_OK)
            return tp_fail(TP_ERR_FORMAT, "snappy data corrupt (bad length header)");
        if (n != dst_len)
            return tp_fail(TP_ERR_FORMAT, "snappy data decompresses to %zu bytes, expected %zu", n,
                           dst_len);
        if (snappy_uncompress((const char *)src, src_len, (char *)dst, &n) != SNAPPY_OK || n != dst_len)
            return tp_fail(TP_ERR_FORMAT, "snappy data corrupt");
        return TP_OK;
    }
    case TP_CODEC_GZIP:
        return inflate_exact(src, src_len, dst, dst_len);
    case TP_CODEC_ZSTD: {
        size_t n = ZSTD_decompress(dst, dst_len, src, src_len);
        if (ZSTD_isError(n)) return tp_fail(TP_ERR_FORMAT, "zstd data corrupt: %s", ZSTD_getErrorName(n));
        if (n != dst_len)
            return tp_fail(TP_ERR_FORMAT, "zstd data decompresses to %zu bytes, expected %zu", n, dst_len);
        return TP_OK;
    }
    case TP_CODEC_LZ4_RAW: {
        if (src_len > INT32_MAX || dst_len > INT32_MAX)
            return tp_fail(TP_ERR_FORMAT, "lz4 block of %zu bytes is too large", src_len);
        int n = LZ4_decompress_safe((const char *)src, (char *)dst, (int)src_len, (int)dst_len);
        if (n < 0) return tp_fail(TP_ERR_FORMAT, "lz4_raw data corrupt");
        if ((size_t)n != dst_len)
            return tp_fail(TP_ERR_FORMAT, "lz4_raw data decompresses to %d bytes, expected %zu", n, dst_len);
        return TP_OK;
    }
    case TP_CODEC_LZ4: {
        // Hadoop framing first (parquet-mr), then a raw block (old parquet-cpp), then the LZ4
        // frame format: the order Arrow's reader uses.
        if (lz4_hadoop(src, src_len, dst, dst_len)) return TP_OK;
        if (src_len <= INT32_MAX && dst_len <= INT32_MAX) {
            int n = LZ4_decompress_safe((const char *)src, (char *)dst, (int)src_len, (int)dst_len);
            if (n >= 0 && (size_t)n == dst_len) return TP_OK;
        }
        if (lz4_frame(src, src_len, dst, dst_len)) return TP_OK;
        return tp_fail(TP_ERR_FORMAT,
                       "lz4 data corrupt (neither Hadoop-framed, raw block nor frame format)");
    }
    case TP_CODEC_BROTLI: {
        size_t n = dst_len;
        if (BrotliDecoderDecompress(src_len, src, &n, dst) != BROTLI_DECODER_RESULT_SUCCESS)
            return tp_fail(TP_ERR_FORMAT, "brotli data corrupt or larger than the recorded %zu bytes",
                           dst_len);
        if (n != dst_len)
            return tp_fail(TP_ERR_FORMAT, "brotli data decompresses to %zu bytes, expected %zu", n, dst_len);
        return TP_OK;
    }
    case TP_CODEC_LZO:
        return tp_fail(TP_ERR_UNSUPPORTED, "LZO compression is not supported");
    }
    return tp_fail(TP_ERR_FORMAT, "unknown compression codec %d", (int)c);
}

// ---- compression ----

static tp_status ensure(uint8_t **dst, size_t *cap, size_t need) {
    if (*cap >= need) return TP_OK;
    uint8_t *p = tp_realloc(*dst, need);
    if (!p) return tp_fail(TP_ERR_NOMEM, "out of memory for a %zu-byte compression buffer", need);
    *dst = p;
    *cap = need;
    return TP_OK;
}

static void put_be32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

tp_status tp_codec_compress(tp_codec c, int level, const uint8_t *src, size_t src_len, uint8_t **dst,
                            size_t *dst_cap, size_t *dst_len) {
    tp_status rc;
    switch (c) {
    case TP_CODEC_UNCOMPRESSED:
        if ((rc = ensure(dst, dst_cap, src_len)) != TP_OK) return rc;
        if (src_len) memcpy(*dst, src, src_len);
        *dst_len = src_len;
        return TP_OK;
    case TP_CODEC_SNAPPY: {
        size_t n = snappy_max_compressed_length(src_len);
        if ((rc = ensure(dst, dst_cap, n)) != TP_OK) return rc;
        if (snappy_compress((const char *)src, src_len, (char *)*dst, &n) != SNAPPY_OK)
            return tp_fail(TP_ERR_INTERNAL, "snappy compression failed");
        *dst_len = n;
        return TP_OK;
    }
    case TP_CODEC_GZIP: {
        z_stream zs;
        memset(&zs, 0, sizeof zs);
        int lv = level > 0 && level <= 9 ? level : 6;
        if (deflateInit2(&zs, lv, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
            return tp_fail(TP_ERR_INTERNAL, "zlib deflateInit failed");
        size_t bound = deflateBound(&zs, (uLong)src_len) + 32;
        if ((rc = ensure(dst, dst_cap, bound)) != TP_OK) {
            deflateEnd(&zs);
            return rc;
        }
        size_t in = 0, out = 0;
        int zr;
        do {
            size_t in_n = src_len - in, out_n = *dst_cap - out;
            if (in_n > UINT32_MAX) in_n = UINT32_MAX;
            if (out_n > UINT32_MAX) out_n = UINT32_MAX;
            zs.next_in = (Bytef *)(src + in);
            zs.avail_in = (uInt)in_n;
            zs.next_out = *dst + out;
            zs.avail_out = (uInt)out_n;
            zr = deflate(&zs, in + in_n == src_len ? Z_FINISH : Z_NO_FLUSH);
            in += in_n - zs.avail_in;
            out += out_n - zs.avail_out;
        } while (zr == Z_OK || (zr == Z_BUF_ERROR && out < *dst_cap));
        deflateEnd(&zs);
        if (zr != Z_STREAM_END) return tp_fail(TP_ERR_INTERNAL, "zlib compression failed (%d)", zr);
        *dst_len = out;
        return TP_OK;
    }
    case TP_CODEC_ZSTD: {
        size_t bound = ZSTD_compressBound(src_len);
        if ((rc = ensure(dst, dst_cap, bound)) != TP_OK) return rc;
        size_t n = ZSTD_compress(*dst, bound, src, src_len, level ? level : 3);
        if (ZSTD_isError(n)) return tp_fail(TP_ERR_INTERNAL, "zstd compression failed: %s", ZSTD_getErrorName(n));
        *dst_len = n;
        return TP_OK;
    }
    case TP_CODEC_LZ4_RAW:
    case TP_CODEC_LZ4: {
        if (src_len > (size_t)LZ4_MAX_INPUT_SIZE)
            return tp_fail(TP_ERR_ARG, "page of %zu bytes is too large for lz4", src_len);
        size_t hdr = c == TP_CODEC_LZ4 ? 8 : 0;
        int bound = LZ4_compressBound((int)src_len);
        if ((rc = ensure(dst, dst_cap, (size_t)bound + hdr)) != TP_OK) return rc;
        int accel = level < 0 ? -level : 1;
        int n = LZ4_compress_fast((const char *)src, (char *)*dst + hdr, (int)src_len, bound, accel);
        if (n <= 0) return tp_fail(TP_ERR_INTERNAL, "lz4 compression failed");
        if (hdr) { // one Hadoop block: what parquet-mr and Arrow read as LZ4
            put_be32(*dst, (uint32_t)src_len);
            put_be32(*dst + 4, (uint32_t)n);
        }
        *dst_len = (size_t)n + hdr;
        return TP_OK;
    }
    case TP_CODEC_BROTLI: {
        size_t bound = BrotliEncoderMaxCompressedSize(src_len);
        if (bound == 0) bound = src_len + 1024;
        if ((rc = ensure(dst, dst_cap, bound)) != TP_OK) return rc;
        size_t n = bound;
        int q = level > 0 && level <= BROTLI_MAX_QUALITY ? level : 6;
        if (!BrotliEncoderCompress(q, BROTLI_DEFAULT_WINDOW, BROTLI_MODE_GENERIC, src_len, src, &n, *dst))
            return tp_fail(TP_ERR_INTERNAL, "brotli compression failed");
        *dst_len = n;
        return TP_OK;
    }
    case TP_CODEC_LZO:
        return tp_fail(TP_ERR_UNSUPPORTED, "LZO compression is not supported");
    }
    return tp_fail(TP_ERR_ARG, "unknown compression codec %d", (int)c);
}

// ---- whole gzip streams (CSV) ----

tp_status tp_gunzip_alloc(const uint8_t *src, size_t src_len, uint8_t **out, size_t *out_len) {
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (inflateInit2(&zs, 15 + 32) != Z_OK) return tp_fail(TP_ERR_INTERNAL, "zlib inflateInit failed");
    tp_status rc = TP_OK;
    uint8_t *buf = NULL;
    size_t cap = 0, used = 0, in = 0;
    for (;;) {
        if (used == cap) {
            size_t want = cap ? cap * 2 : (src_len * 4 > 4096 ? src_len * 4 : 4096);
            uint8_t *nb = tp_realloc(buf, want);
            if (!nb) {
                rc = tp_fail(TP_ERR_NOMEM, "out of memory inflating gzip data (%zu bytes)", want);
                goto done;
            }
            buf = nb;
            cap = want;
        }
        size_t in_n = src_len - in, out_n = cap - used;
        if (in_n > UINT32_MAX) in_n = UINT32_MAX;
        if (out_n > UINT32_MAX) out_n = UINT32_MAX;
        zs.next_in = (Bytef *)(src + in);
        zs.avail_in = (uInt)in_n;
        zs.next_out = buf + used;
        zs.avail_out = (uInt)out_n;
        int zr = inflate(&zs, Z_NO_FLUSH);
        in += in_n - zs.avail_in;
        used += out_n - zs.avail_out;
        if (zr == Z_STREAM_END) {
            while (in < src_len && src[in] == 0) in++;
            if (in >= src_len) break;
            if (inflateReset(&zs) != Z_OK) {
                rc = tp_fail(TP_ERR_INTERNAL, "zlib inflateReset failed");
                goto done;
            }
            continue;
        }
        if (zr == Z_OK) continue;
        if (zr == Z_BUF_ERROR && used == cap) continue; // just needs more room
        if (zr == Z_BUF_ERROR) {
            rc = tp_fail(TP_ERR_FORMAT, "gzip stream truncated after %zu bytes", used);
            goto done;
        }
        rc = tp_fail(TP_ERR_FORMAT, "gzip stream corrupt: %s", zs.msg ? zs.msg : "inflate error");
        goto done;
    }
    *out = buf;
    *out_len = used;
    buf = NULL;
done:
    inflateEnd(&zs);
    tp_free(buf);
    return rc;
}

/* parquet_decode.c: Parquet's level and value encodings over bounded buffers. Bit-unpacking
 * loads 64-bit words (one unaligned load per value) with byte-width fast paths; every length
 * read from the data is checked against the bytes left before it is used. */
#include "io/parquet_decode.h"

#include <string.h>

static uint64_t load64(const uint8_t *p, size_t avail) {
    uint64_t w = 0;
    if (avail >= 8) memcpy(&w, p, 8);
    else if (avail) memcpy(&w, p, avail);
    return w; // little-endian host assumed (x86-64, aarch64)
}

int pq_bit_width(uint32_t max) {
    int w = 0;
    while (max) {
        w++;
        max >>= 1;
    }
    return w;
}

static void unpack32(const uint8_t *p, size_t avail, int bw, uint32_t *out, size_t n) {
    if (bw == 0) {
        memset(out, 0, n * sizeof *out);
        return;
    }
    if (bw == 8) {
        for (size_t i = 0; i < n; i++) out[i] = p[i];
        return;
    }
    if (bw == 16) {
        for (size_t i = 0; i < n; i++) out[i] = (uint32_t)p[2 * i] | (uint32_t)p[2 * i + 1] << 8;
        return;
    }
    if (bw == 32) {
        memcpy(out, p, n * 4);
        return;
    }
    const uint64_t mask = (1ull << bw) - 1;
    size_t bit = 0, i = 0;
    // fast part: a full 8-byte load is always in bounds
    size_t safe = avail >= 8 ? (avail - 8) * 8 : 0; // bit offsets whose word load fits
    for (; i < n && bit < safe; i++, bit += (size_t)bw) {
        uint64_t w;
        memcpy(&w, p + (bit >> 3), 8);
        out[i] = (uint32_t)((w >> (bit & 7)) & mask);
    }
    for (; i < n; i++, bit += (size_t)bw) {
        size_t b = bit >> 3;
        out[i] = (uint32_t)((load64(p + b, avail - b) >> (bit & 7)) & mask);
    }
}

void pq_unpack64(const uint8_t *p, size_t avail, int bw, uint64_t *out, size_t n) {
    if (bw == 0) {
        memset(out, 0, n * sizeof *out);
        return;
    }
    if (bw == 64) {
        memcpy(out, p, n * 8);
        return;
    }
    const uint64_t mask = (1ull << bw) - 1;
    size_t bit = 0;
    for (size_t i = 0; i < n; i++, bit += (size_t)bw) {
        size_t b = bit >> 3;
        unsigned sh = bit & 7;
        uint64_t w = load64(p + b, avail - b) >> sh;
        if (sh && sh + (unsigned)bw > 64 && b + 8 < avail) w |= (uint64_t)p[b + 8] << (64 - sh);
        out[i] = w & mask;
    }
}

static int read_uvarint(const uint8_t *p, size_t len, size_t *pos, uint64_t *v) {
    uint64_t r = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (*pos >= len) return 0;
        uint8_t b = p[(*pos)++];
        r |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *v = r;
            return 1;
        }
    }
    return 0;
}

tp_status pq_rle_decode(const uint8_t *p, size_t len, int bw, uint32_t *out, size_t n) {
    if (bw < 0 || bw > 32) return tp_fail(TP_ERR_FORMAT, "RLE bit width %d is out of range", bw);
    size_t i = 0, pos = 0;
    const size_t vbytes = ((size_t)bw + 7) / 8;
    while (i < n) {
        uint64_t h;
        if (pos >= len)
            return tp_fail(TP_ERR_FORMAT, "RLE data ends after %zu of %zu values", i, n);
        if (!read_uvarint(p, len, &pos, &h)) return tp_fail(TP_ERR_FORMAT, "bad RLE run header");
        if (h & 1) { // bit-packed run of (h >> 1) groups of 8
            uint64_t groups = h >> 1;
            if (groups == 0) continue;
            size_t left = len - pos;
            uint64_t bytes = bw == 0 ? 0 : groups > left ? (uint64_t)left + 1 : groups * (uint64_t)bw;
            size_t avail = bytes < left ? (size_t)bytes : left;
            uint64_t count = groups > UINT64_MAX / 8 ? UINT64_MAX : groups * 8;
            size_t take = count < n - i ? (size_t)count : n - i;
            // a truncated last run is tolerated if it still holds the values we need
            if ((uint64_t)take * (uint64_t)bw > (uint64_t)avail * 8)
                return tp_fail(TP_ERR_FORMAT, "RLE bit-packed run truncated after %zu of %zu values", i, n);
            unpack32(p + pos, avail, bw, out + i, take);
            i += take;
            pos += avail;
        } else { // repeated run
            uint64_t count = h >> 1;
            if (vbytes > len - pos) return tp_fail(TP_ERR_FORMAT, "RLE run value truncated");
            uint32_t v = 0;
            for (size_t k = 0; k < vbytes; k++) v |= (uint32_t)p[pos + k] << (8 * k);
            pos += vbytes;
            if (bw < 32 && (v >> bw)) return tp_fail(TP_ERR_FORMAT, "RLE run value %u wider than %d bits", v, bw);
            size_t take = count < n - i ? (size_t)count : n - i;
            if (v == 0) memset(out + i, 0, take * sizeof *out);
            else
                for (size_t k = 0; k < take; k++) out[i + k] = v;
            i += take;
        }
    }
    return TP_OK;
}

tp_status pq_bitpacked_legacy_decode(const uint8_t *p, size_t len, int bw, uint32_t *out, size_t n) {
    if (bw < 0 || bw > 32) return tp_fail(TP_ERR_FORMAT, "BIT_PACKED width %d is out of range", bw);
    if ((uint64_t)n * (uint64_t)bw > (uint64_t)len * 8)
        return tp_fail(TP_ERR_FORMAT, "BIT_PACKED levels truncated (%zu values of %d bits in %zu bytes)", n, bw, len);
    size_t bit = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t v = 0;
        for (int k = 0; k < bw; k++, bit++) v = v << 1 | ((p[bit >> 3] >> (7 - (bit & 7))) & 1);
        out[i] = v;
    }
    return TP_OK;
}

// ---- DELTA_BINARY_PACKED ----

tp_status pq_delta_decode(const uint8_t *p, size_t len, int64_t *out, size_t cap, size_t *count,
                          size_t *used) {
    size_t pos = 0;
    uint64_t block, minis, total, first;
    if (!read_uvarint(p, len, &pos, &block) || !read_uvarint(p, len, &pos, &minis) ||
        !read_uvarint(p, len, &pos, &total) || !read_uvarint(p, len, &pos, &first))
        return tp_fail(TP_ERR_FORMAT, "DELTA_BINARY_PACKED header truncated");
    if (block == 0 || block % 128 || block > (1u << 20) || minis == 0 || block % minis ||
        (block / minis) % 32)
        return tp_fail(TP_ERR_FORMAT, "DELTA_BINARY_PACKED block size %llu / %llu miniblocks is invalid",
                       (unsigned long long)block, (unsigned long long)minis);
    if (total > cap)
        return tp_fail(TP_ERR_FORMAT, "DELTA_BINARY_PACKED holds %llu values, at most %zu expected",
                       (unsigned long long)total, cap);
    const size_t per_mini = (size_t)(block / minis);
    uint64_t v = (uint64_t)((first >> 1) ^ -(first & 1));
    size_t i = 0;
    if (total > 0) out[i++] = (int64_t)v;
    uint64_t tmp[512];
    while (i < total) {
        uint64_t zz;
        if (!read_uvarint(p, len, &pos, &zz)) return tp_fail(TP_ERR_FORMAT, "DELTA_BINARY_PACKED block header truncated");
        uint64_t min_delta = (zz >> 1) ^ -(zz & 1);
        if (minis > len - pos) return tp_fail(TP_ERR_FORMAT, "DELTA_BINARY_PACKED bit widths truncated");
        const uint8_t *widths = p + pos;
        pos += (size_t)minis;
        for (size_t m = 0; m < minis && i < total; m++) {
            int bw = widths[m];
            if (bw > 64) return tp_fail(TP_ERR_FORMAT, "DELTA_BINARY_PACKED bit width %d > 64", bw);
            size_t bytes = per_mini * (size_t)bw / 8;
            size_t avail = bytes < len - pos ? bytes : len - pos;
            size_t take = per_mini < total - i ? per_mini : (size_t)(total - i);
            if ((uint64_t)take * (uint64_t)bw > (uint64_t)avail * 8)
                return tp_fail(TP_ERR_FORMAT, "DELTA_BINARY_PACKED miniblock truncated");
            for (size_t off = 0; off < take; off += 512) {
                size_t k = take - off < 512 ? take - off : 512;
                size_t bitoff = off * (size_t)bw; // multiple of 8 since off is a multiple of 512
                pq_unpack64(p + pos + bitoff / 8, avail - bitoff / 8, bw, tmp, k);
                for (size_t j = 0; j < k; j++) {
                    v += min_delta + tmp[j];
                    out[i++] = (int64_t)v;
                }
            }
            pos += avail;
        }
    }
    *count = (size_t)total;
    *used = pos;
    return TP_OK;
}

// ---- byte arrays ----

tp_status pq_plain_ba(const uint8_t *p, size_t len, size_t n, pq_ba_sink sink, void *ctx) {
    size_t pos = 0;
    for (size_t i = 0; i < n; i++) {
        if (len - pos < 4) return tp_fail(TP_ERR_FORMAT, "PLAIN byte array %zu of %zu truncated", i, n);
        uint32_t l;
        memcpy(&l, p + pos, 4);
        pos += 4;
        if (l > len - pos)
            return tp_fail(TP_ERR_FORMAT, "PLAIN byte array %zu of %zu: length %u runs past the page", i, n, l);
        tp_status rc = sink(ctx, i, p + pos, l);
        if (rc != TP_OK) return rc;
        pos += l;
    }
    return TP_OK;
}

tp_status pq_delta_length_ba(const uint8_t *p, size_t len, size_t n, int64_t *lens, pq_ba_sink sink,
                             void *ctx) {
    size_t cnt, used;
    tp_status rc = pq_delta_decode(p, len, lens, n, &cnt, &used);
    if (rc != TP_OK) return rc;
    if (cnt < n)
        return tp_fail(TP_ERR_FORMAT, "DELTA_LENGTH_BYTE_ARRAY has %zu lengths for %zu values", cnt, n);
    size_t pos = used;
    for (size_t i = 0; i < n; i++) {
        int64_t l = lens[i];
        if (l < 0 || (uint64_t)l > len - pos)
            return tp_fail(TP_ERR_FORMAT, "DELTA_LENGTH_BYTE_ARRAY value %zu has a bad length %lld", i, (long long)l);
        rc = sink(ctx, i, p + pos, (uint32_t)l);
        if (rc != TP_OK) return rc;
        pos += (size_t)l;
    }
    return TP_OK;
}

tp_status pq_delta_ba(const uint8_t *p, size_t len, size_t n, int64_t *scratch, uint8_t *buf,
                      pq_ba_sink sink, void *ctx) {
    int64_t *pre = scratch, *suf = scratch + n;
    size_t cnt, used, cnt2, used2;
    tp_status rc = pq_delta_decode(p, len, pre, n, &cnt, &used);
    if (rc != TP_OK) return rc;
    rc = pq_delta_decode(p + used, len - used, suf, n, &cnt2, &used2);
    if (rc != TP_OK) return rc;
    if (cnt < n || cnt2 < n)
        return tp_fail(TP_ERR_FORMAT, "DELTA_BYTE_ARRAY has %zu prefixes and %zu suffixes for %zu values",
                       cnt, cnt2, n);
    size_t pos = used + used2, cur = 0;
    for (size_t i = 0; i < n; i++) {
        int64_t pl = pre[i], sl = suf[i];
        if (pl < 0 || (size_t)pl > cur)
            return tp_fail(TP_ERR_FORMAT, "DELTA_BYTE_ARRAY value %zu: prefix %lld longer than the previous value", i,
                           (long long)pl);
        if (sl < 0 || (uint64_t)sl > len - pos)
            return tp_fail(TP_ERR_FORMAT, "DELTA_BYTE_ARRAY value %zu: suffix length %lld runs past the page", i,
                           (long long)sl);
        if ((uint64_t)pl + (uint64_t)sl > len)
            return tp_fail(TP_ERR_FORMAT, "DELTA_BYTE_ARRAY value %zu is implausibly long", i);
        memcpy(buf + pl, p + pos, (size_t)sl); // in place: the prefix is already there
        pos += (size_t)sl;
        cur = (size_t)(pl + sl);
        rc = sink(ctx, i, buf, (uint32_t)cur);
        if (rc != TP_OK) return rc;
    }
    return TP_OK;
}

// ---- BYTE_STREAM_SPLIT ----

tp_status pq_bss_decode(const uint8_t *p, size_t len, size_t w, size_t n, uint8_t *out) {
    if (w == 0) return tp_fail(TP_ERR_FORMAT, "BYTE_STREAM_SPLIT with zero width");
    size_t stride = len / w;
    if (stride < n || len % w)
        return tp_fail(TP_ERR_FORMAT, "BYTE_STREAM_SPLIT page of %zu bytes cannot hold %zu values of %zu bytes",
                       len, n, w);
    if (w == 4) {
        const uint8_t *s0 = p, *s1 = p + stride, *s2 = p + 2 * stride, *s3 = p + 3 * stride;
        for (size_t i = 0; i < n; i++) {
            out[4 * i] = s0[i];
            out[4 * i + 1] = s1[i];
            out[4 * i + 2] = s2[i];
            out[4 * i + 3] = s3[i];
        }
        return TP_OK;
    }
    for (size_t k = 0; k < w; k++) {
        const uint8_t *s = p + k * stride;
        for (size_t i = 0; i < n; i++) out[i * w + k] = s[i];
    }
    return TP_OK;
}

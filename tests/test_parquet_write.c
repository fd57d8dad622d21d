/* test_parquet_write.c: the Parquet writer. Hand-computed bytes for the Thrift encoder and a tiny
 * page; frames of every type (nulls, empty and unicode strings, INT64 extremes, NaN/inf, 0 rows,
 * many row groups and pages, every codec, page v2, dictionary fallback) written to files; atomic
 * replacement. With TP_PQ_OUT=DIR the files and the values DuckDB must read from them
 * (<case>.expected.jsonl, the format of tests/duckdb_oracle.mjs) are kept in DIR for
 * tests/parquet_duckdb_smoke.sh. */
#include "test.h"
#include "io/thrift_write.h"
#include "touchpoint/io.h"
#include "touchpoint/parquet.h"

#include <dirent.h>
#include <stdlib.h>
#include <sys/stat.h>

// ---- helpers ----

static const char *out_dir(void) {
    const char *d = getenv("TP_PQ_OUT");
    return d && *d ? d : tp_test_tmpdir();
}

static const char *out_path(const char *name, const char *ext) {
    static char bufs[4][1024];
    static int k;
    char *b = bufs[k++ & 3];
    snprintf(b, 1024, "%s/%s%s", out_dir(), name, ext);
    return b;
}

static tp_column *new_col(const char *name, tp_dtype t) {
    tp_column *c = NULL;
    CHECK_OK(tp_column_new(name, t, 0, &c));
    return c;
}

static void add(tp_frame *f, tp_column *c) {
    CHECK_OK(tp_frame_add_take(f, c));
}

static unsigned char *read_all(const char *path, size_t *n) {
    FILE *fp = fopen(path, "rb");
    if (!fp) return NULL;
    fseek(fp, 0, SEEK_END);
    long len = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    unsigned char *b = malloc((size_t)len + 1);
    *n = fread(b, 1, (size_t)len, fp);
    fclose(fp);
    return b;
}

// Structural checks any Parquet file must pass: magic at both ends, footer length in range.
static void check_file_shape(const char *path) {
    size_t n = 0;
    unsigned char *b = read_all(path, &n);
    CHECK(b != NULL);
    if (!b) return;
    CHECK(n >= 12);
    CHECK(memcmp(b, "PAR1", 4) == 0);
    CHECK(memcmp(b + n - 4, "PAR1", 4) == 0);
    uint32_t flen;
    memcpy(&flen, b + n - 8, 4);
    CHECK(flen > 0 && flen <= n - 12);
    free(b);
}

// ---- expected values, in the exact text of duckdb_oracle.mjs "dump" ----

static const char *duck_type(const tp_column *c) {
    switch (tp_column_type(c)) {
    case TP_DTYPE_BOOL: return "BOOLEAN";
    case TP_DTYPE_I32: return "INTEGER";
    case TP_DTYPE_I64: return "BIGINT";
    case TP_DTYPE_F32: return "FLOAT";
    case TP_DTYPE_F64: return "DOUBLE";
    case TP_DTYPE_STR: return "VARCHAR";
    case TP_DTYPE_BYTES: return "BLOB";
    case TP_DTYPE_DATE: return "DATE";
    case TP_DTYPE_TIMESTAMP: return "TIMESTAMP WITH TIME ZONE";
    }
    return "?";
}

static void expect_value(FILE *fp, const tp_column *c, size_t r) {
    if (tp_column_is_null(c, r)) {
        fputs("null", fp);
        return;
    }
    switch (tp_column_type(c)) {
    case TP_DTYPE_BOOL:
    case TP_DTYPE_I32:
        fprintf(fp, "%lld", (long long)tp_column_get_i64(c, r));
        break;
    case TP_DTYPE_I64:
    case TP_DTYPE_DATE:
        fprintf(fp, "\"%lld\"", (long long)tp_column_get_i64(c, r));
        break;
    case TP_DTYPE_TIMESTAMP: { /* DuckDB reads UTC-adjusted timestamps as microseconds */
        int64_t v = tp_column_get_i64(c, r);
        switch (tp_column_unit(c)) {
        case TP_UNIT_SECONDS: v *= 1000000; break;
        case TP_UNIT_MILLIS: v *= 1000; break;
        case TP_UNIT_MICROS: break;
        case TP_UNIT_NANOS: v = v >= 0 ? v / 1000 : -((-v + 999) / 1000); break;
        }
        fprintf(fp, "\"%lld\"", (long long)v);
        break;
    }
    case TP_DTYPE_F32: {
        float x = TP_CCOL(c, float)[r];
        uint32_t u;
        memcpy(&u, &x, 4);
        if (isnan(x)) fputs("\"nan\"", fp);
        else fprintf(fp, "\"%08x\"", u);
        break;
    }
    case TP_DTYPE_F64: {
        double x = TP_CCOL(c, double)[r];
        uint64_t u;
        memcpy(&u, &x, 8);
        if (isnan(x)) fputs("\"nan\"", fp);
        else fprintf(fp, "\"%016llx\"", (unsigned long long)u);
        break;
    }
    case TP_DTYPE_STR:
    case TP_DTYPE_BYTES: {
        size_t len;
        const unsigned char *s = (const unsigned char *)tp_column_get_str(c, r, &len);
        fputc('"', fp);
        for (size_t i = 0; i < len; i++) fprintf(fp, "%02X", s[i]);
        fputc('"', fp);
        break;
    }
    }
}

// Append the rows of f to the expectation file (header first when create).
static void write_expected(const char *name, const tp_frame *f, bool create) {
    FILE *fp = fopen(out_path(name, ".expected.jsonl"), create ? "w" : "a");
    CHECK(fp != NULL);
    if (!fp) return;
    size_t nc = tp_frame_n_cols(f), nr = tp_frame_n_rows(f);
    if (create) {
        fputc('[', fp);
        for (size_t i = 0; i < nc; i++)
            fprintf(fp, "%s[\"%s\",\"%s\"]", i ? "," : "", tp_column_name(tp_frame_col(f, i)),
                    duck_type(tp_frame_col(f, i)));
        fputs("]\n", fp);
    }
    for (size_t r = 0; r < nr; r++) {
        fputc('[', fp);
        for (size_t i = 0; i < nc; i++) {
            if (i) fputc(',', fp);
            expect_value(fp, tp_frame_col(f, i), r);
        }
        fputs("]\n", fp);
    }
    fclose(fp);
}

// ---- frames ----

static const char *words[] = {"alpha", "beta", "gamma", "", "héllo wörld", "日本語", "🎉 emoji", "z"};

// n rows of every type; rows 0-3 hold the edge cases, later rows are pseudo-random with nulls.
static tp_frame *types_frame(size_t n, uint64_t seed) {
    tp_frame *f = NULL;
    CHECK_OK(tp_frame_new(&f));
    tp_column *b = new_col("b", TP_DTYPE_BOOL), *i32 = new_col("i32", TP_DTYPE_I32),
              *i64 = new_col("i64", TP_DTYPE_I64), *f32 = new_col("f32", TP_DTYPE_F32),
              *f64 = new_col("f64", TP_DTYPE_F64), *s = new_col("s", TP_DTYPE_STR),
              *by = new_col("by", TP_DTYPE_BYTES), *tms = new_col("ts_ms", TP_DTYPE_TIMESTAMP),
              *tus = new_col("ts_us", TP_DTYPE_TIMESTAMP), *tns = new_col("ts_ns", TP_DTYPE_TIMESTAMP),
              *tsec = new_col("ts_s", TP_DTYPE_TIMESTAMP), *d = new_col("d", TP_DTYPE_DATE);
    tp_column_set_unit(tms, TP_UNIT_MILLIS);
    tp_column_set_unit(tus, TP_UNIT_MICROS);
    tp_column_set_unit(tns, TP_UNIT_NANOS);
    tp_column_set_unit(tsec, TP_UNIT_SECONDS);
    tp_column *all[] = {b, i32, i64, f32, f64, s, by, tms, tus, tns, tsec, d};
    const size_t nall = sizeof all / sizeof *all;
    tp_rng rng;
    tp_rng_seed(&rng, seed);
    for (size_t r = 0; r < n; r++) {
        if (r == 1) { /* a row of nulls */
            for (size_t k = 0; k < nall; k++) CHECK_OK(tp_column_push_null(all[k]));
            continue;
        }
        if (r == 0 || r == 2 || r == 3) {
            CHECK_OK(tp_column_push_bool(b, r == 0));
            CHECK_OK(tp_column_push_i32(i32, r == 0 ? INT32_MIN : r == 2 ? INT32_MAX : 0));
            CHECK_OK(tp_column_push_i64(i64, r == 0 ? INT64_MIN : r == 2 ? INT64_MAX : 0));
            CHECK_OK(tp_column_push_f32(f32, r == 0 ? NAN : r == 2 ? INFINITY : -0.0f));
            CHECK_OK(tp_column_push_f64(f64, r == 0 ? NAN : r == 2 ? -INFINITY : -0.0));
            CHECK_OK(tp_column_push_str(s, r == 0 ? "" : r == 2 ? "héllo wörld ✓ 日本語 🎉" : "a",
                                        r == 0 ? 0 : strlen(r == 2 ? "héllo wörld ✓ 日本語 🎉" : "a")));
            CHECK_OK(tp_column_push_str(by, r == 0 ? "\0\xff\x01" : "", r == 0 ? 3 : 0));
            CHECK_OK(tp_column_push_i64(tms, r == 0 ? -1 : r == 2 ? INT64_C(253402300799999) : 0));
            CHECK_OK(tp_column_push_i64(tus, r == 0 ? -1 : r == 2 ? INT64_C(1700000000123456) : 0));
            CHECK_OK(tp_column_push_i64(tns, r == 0 ? -1000 : r == 2 ? INT64_C(1700000000123456000) : 0));
            CHECK_OK(tp_column_push_i64(tsec, r == 0 ? -86400 : r == 2 ? INT64_C(4102444800) : 0));
            CHECK_OK(tp_column_push_i32(d, r == 0 ? -719162 : r == 2 ? 2932896 : 0));
            continue;
        }
        for (size_t k = 0; k < nall; k++) {
            if ((r + 3 * k) % 7 == 0) {
                CHECK_OK(tp_column_push_null(all[k]));
                continue;
            }
            uint64_t x = tp_rng_u64(&rng);
            switch (k) {
            case 0: CHECK_OK(tp_column_push_bool(b, x & 1)); break;
            case 1: CHECK_OK(tp_column_push_i32(i32, (int32_t)(uint32_t)x)); break;
            case 2: CHECK_OK(tp_column_push_i64(i64, (int64_t)x)); break;
            case 3: CHECK_OK(tp_column_push_f32(f32, (float)(tp_rng_normal(&rng) * 1e3))); break;
            case 4: CHECK_OK(tp_column_push_f64(f64, tp_rng_normal(&rng) * 1e-3)); break;
            case 5: {
                const char *w = words[x % 8];
                CHECK_OK(tp_column_push_str(s, w, strlen(w)));
                break;
            }
            case 6: {
                char buf[5] = {(char)x, (char)(x >> 8), 0, (char)(x >> 16), (char)(x >> 24)};
                CHECK_OK(tp_column_push_str(by, buf, (x >> 32) % 6));
                break;
            }
            case 7: CHECK_OK(tp_column_push_i64(tms, INT64_C(1600000000000) + (int64_t)(x % 1000000000))); break;
            case 8: CHECK_OK(tp_column_push_i64(tus, INT64_C(1600000000000000) + (int64_t)(x % 1000000000000))); break;
            case 9: CHECK_OK(tp_column_push_i64(tns, INT64_C(1600000000000000000) + (int64_t)(x % 1000000000000000))); break;
            case 10: CHECK_OK(tp_column_push_i64(tsec, INT64_C(1600000000) + (int64_t)(x % 100000000))); break;
            case 11: CHECK_OK(tp_column_push_i32(d, (int32_t)(x % 40000) - 10000)); break;
            }
        }
    }
    for (size_t k = 0; k < nall; k++) add(f, all[k]);
    return f;
}

// ---- round trip through our own reader ----

// Rows [0, n) of want against rows [off, off + n) of got, value by value (floats by bit pattern,
// any NaN equal; timestamps in seconds come back as milliseconds). Returns mismatches.
static size_t compare_column(const tp_column *want, const tp_column *got, size_t off, const char *file) {
    size_t bad = 0, n = tp_column_len(want);
    tp_dtype t = tp_column_type(want);
    int64_t scale = 1;
    if (t == TP_DTYPE_TIMESTAMP) {
        tp_time_unit wu = tp_column_unit(want), gu = tp_column_unit(got);
        if (wu == TP_UNIT_SECONDS) scale = 1000, wu = TP_UNIT_MILLIS;
        if (wu != gu) {
            tp_test_fail(__FILE__, __LINE__, "%s: column '%s' unit %d read back as %d", file,
                         tp_column_name(want), (int)wu, (int)gu);
            return 1;
        }
    }
    for (size_t r = 0; r < n && bad < 5; r++) {
        size_t g = off + r;
        bool wn = tp_column_is_null(want, r), gn = tp_column_is_null(got, g);
        bool same = wn == gn;
        if (same && !wn) {
            switch (t) {
            case TP_DTYPE_F32: {
                float a = TP_CCOL(want, float)[r], b = TP_CCOL(got, float)[g];
                same = (isnan(a) && isnan(b)) || memcmp(&a, &b, 4) == 0;
                break;
            }
            case TP_DTYPE_F64: {
                double a = TP_CCOL(want, double)[r], b = TP_CCOL(got, double)[g];
                same = (isnan(a) && isnan(b)) || memcmp(&a, &b, 8) == 0;
                break;
            }
            case TP_DTYPE_STR:
            case TP_DTYPE_BYTES: {
                size_t la, lb;
                const char *a = tp_column_get_str(want, r, &la), *b = tp_column_get_str(got, g, &lb);
                same = la == lb && memcmp(a, b, la) == 0;
                break;
            }
            default:
                same = tp_column_get_i64(want, r) * scale == tp_column_get_i64(got, g);
            }
        }
        if (!same) {
            tp_test_fail(__FILE__, __LINE__, "%s: column '%s' row %zu differs after reading back",
                         file, tp_column_name(want), g);
            bad++;
        }
    }
    return bad;
}

// Read path back with tp_pq_read_file and compare with the frames written, in order.
static void check_roundtrip(const char *path, const tp_frame *const *parts, size_t n_parts) {
    tp_frame *got = NULL;
    CHECK_OK(tp_pq_read_file(path, NULL, 0, &got));
    if (!got) return;
    size_t rows = 0;
    for (size_t k = 0; k < n_parts; k++) rows += tp_frame_n_rows(parts[k]);
    CHECK(tp_frame_n_rows(got) == rows);
    CHECK(tp_frame_n_cols(got) == tp_frame_n_cols(parts[0]));
    if (tp_frame_n_rows(got) != rows || tp_frame_n_cols(got) != tp_frame_n_cols(parts[0])) {
        tp_frame_free(got);
        return;
    }
    for (size_t i = 0; i < tp_frame_n_cols(got); i++) {
        const tp_column *g = tp_frame_col(got, i), *w0 = tp_frame_col(parts[0], i);
        CHECK_STR(tp_column_name(g), tp_column_name(w0));
        CHECK(tp_column_type(g) == tp_column_type(w0));
        if (tp_column_type(g) != tp_column_type(w0)) continue;
        size_t off = 0;
        for (size_t k = 0; k < n_parts; k++) {
            compare_column(tp_frame_col(parts[k], i), g, off, path);
            off += tp_frame_n_rows(parts[k]);
        }
    }
    tp_frame_free(got);
}

// Write f with opts as <name>.parquet and its expectation; check the file's shape and read it back.
static void write_case(const char *name, const tp_frame *f, const tp_pq_write_opts *o) {
    const char *p = out_path(name, ".parquet");
    CHECK_OK(tp_pq_write_file(f, p, o));
    check_file_shape(p);
    write_expected(name, f, true);
    check_roundtrip(p, &f, 1);
}

// ---- tests ----

static size_t count_tmp_files(const char *dir, const char *prefix);

static void test_thrift_bytes(void) {
    tp_tw t;
    tp_tw_init(&t);
    tp_tw_field_i32(&t, 1, -1);         /* delta 1, i32: 0x15, zigzag(-1) = 1 */
    tp_tw_field_i64(&t, 20, 300);       /* delta 19 > 15: long form 0x06, zigzag(20) = 40, zz(300) = 600 */
    tp_tw_field_bool(&t, 21, true);     /* 0x11 */
    tp_tw_field_string(&t, 22, "ab");   /* 0x18 02 'a' 'b' */
    tp_tw_field_list(&t, 23, TP_TT_I32, 2); /* 0x19, 0x25 */
    tp_tw_i32(&t, 2);
    tp_tw_i32(&t, -3);
    tp_tw_field_struct(&t, 24);         /* 0x1c */
    tp_tw_field_i32(&t, 1, 64);         /* 0x15 0x80 0x01 */
    tp_tw_struct_end(&t);               /* 0x00 */
    tp_tw_field_list(&t, 25, TP_TT_STRUCT, 20); /* 0x19 0xfc 0x14 */
    tp_tw_struct_end(&t);
    const uint8_t want[] = {0x15, 0x01, 0x06, 0x28, 0xd8, 0x04, 0x11, 0x18, 0x02, 'a', 'b', 0x19, 0x25,
                            0x04, 0x05, 0x1c, 0x15, 0x80, 0x01, 0x00, 0x19, 0xfc, 0x14, 0x00};
    CHECK_OK(tp_tw_status(&t));
    CHECK(t.len == sizeof want);
    CHECK(t.len == sizeof want && memcmp(t.buf, want, sizeof want) == 0);
    tp_tw_free(&t);
}

// One int32 column [1, null, 3], uncompressed, no statistics: the page is computed by hand.
static void test_page_bytes(void) {
    tp_frame *f = NULL;
    CHECK_OK(tp_frame_new(&f));
    tp_column *c = new_col("x", TP_DTYPE_I32);
    CHECK_OK(tp_column_push_i32(c, 1));
    CHECK_OK(tp_column_push_null(c));
    CHECK_OK(tp_column_push_i32(c, 3));
    add(f, c);
    tp_pq_write_opts o;
    tp_pq_write_opts_default(&o);
    o.codec = TP_CODEC_UNCOMPRESSED;
    o.statistics = false;
    const char *p = tp_test_path("page.parquet");
    CHECK_OK(tp_pq_write_file(f, p, &o));
    size_t n = 0;
    unsigned char *b = read_all(p, &n);
    const uint8_t want[] = {
        'P', 'A', 'R', '1',
        0x15, 0x00,                   /* type DATA_PAGE */
        0x15, 0x1c, 0x15, 0x1c,       /* uncompressed = compressed = 14 bytes */
        0x15, 0xac, 0xb1, 0xd7, 0xf6, 0x09, /* crc 0x4f6aec56 (zlib.crc32 of the 14 bytes below) */
        0x1c,                         /* field 5 (delta 1): DataPageHeader */
        0x15, 0x06, 0x15, 0x00,       /* 3 values, PLAIN */
        0x15, 0x06, 0x15, 0x06, 0x00, /* levels RLE, RLE */
        0x00,
        0x02, 0x00, 0x00, 0x00,       /* definition levels: 2 bytes */
        0x03, 0x05,                   /* one bit-packed group: 1,0,1 -> 0b101 */
        0x01, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, /* PLAIN 1, 3 */
    };
    CHECK(b && n > sizeof want);
    if (b && n > sizeof want) CHECK(memcmp(b, want, sizeof want) == 0);
    // our reader verifies the CRC: a flipped value byte is refused, not misread
    tp_frame *got = NULL;
    CHECK_OK(tp_pq_read_file(p, NULL, 0, &got));
    tp_frame_free(got);
    got = NULL;
    if (b && n > sizeof want) {
        b[sizeof want - 4] ^= 0x01; /* 3 -> 2 */
        CHECK_OK(tp_atomic_write(p, b, n));
        CHECK_STATUS(tp_pq_read_file(p, NULL, 0, &got), TP_ERR_FORMAT);
        CHECK(strstr(tp_last_error(), "CRC") != NULL);
        tp_frame_free(got);
    }
    free(b);
    tp_frame_free(f);
}

static void test_types(void) {
    tp_frame *f = types_frame(200, 1);
    tp_pq_write_opts o;
    tp_pq_write_opts_default(&o);
    write_case("types", f, &o);
    const char *meta[] = {"origin", "touchpoint test", "note", "ünïcode", NULL};
    o.metadata = meta;
    o.codec = TP_CODEC_SNAPPY;
    write_case("types_kv", f, &o);
    tp_frame_free(f);
}

static void test_codecs(void) {
    tp_frame *f = types_frame(3000, 2);
    static const struct {
        const char *name;
        tp_codec codec;
        int version;
    } cases[] = {
        {"codec_none", TP_CODEC_UNCOMPRESSED, 1}, {"codec_snappy", TP_CODEC_SNAPPY, 1},
        {"codec_gzip", TP_CODEC_GZIP, 1},         {"codec_zstd", TP_CODEC_ZSTD, 1},
        {"codec_brotli", TP_CODEC_BROTLI, 1},     {"codec_lz4raw", TP_CODEC_LZ4_RAW, 1},
        {"v2_none", TP_CODEC_UNCOMPRESSED, 2},    {"v2_zstd", TP_CODEC_ZSTD, 2},
        {"v2_snappy", TP_CODEC_SNAPPY, 2},        {"v2_gzip", TP_CODEC_GZIP, 2},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        tp_pq_write_opts o;
        tp_pq_write_opts_default(&o);
        o.codec = cases[i].codec;
        o.page_version = cases[i].version;
        o.row_group_rows = 1000;
        o.page_bytes = 2000;
        write_case(cases[i].name, f, &o);
    }
    tp_pq_write_opts o;
    tp_pq_write_opts_default(&o);
    o.codec = TP_CODEC_LZ4; /* Hadoop-framed LZ4 is deprecated: refused for writing */
    CHECK_STATUS(tp_pq_write_file(f, tp_test_path("lz4.parquet"), &o), TP_ERR_UNSUPPORTED);
    tp_frame_free(f);
}

static void test_empty(void) {
    tp_frame *f = types_frame(0, 3);
    CHECK(tp_frame_n_rows(f) == 0 && tp_frame_n_cols(f) == 12);
    write_case("empty", f, NULL);
    tp_frame_free(f);
}

// Many row groups and pages, streamed in batches of uneven size: some batches fill a row group
// straight from the frame, some are buffered across batches; string batches alternate between a
// shared dictionary and fresh ones (codes re-interned into the chunk dictionary).
static void test_streaming(void) {
    tp_pq_write_opts o;
    tp_pq_write_opts_default(&o);
    o.row_group_rows = 1000;
    o.page_bytes = 1024;
    tp_pq_writer *w = NULL;
    CHECK_OK(tp_pq_writer_open(out_path("stream", ".parquet"), &o, &w));
    if (!w) return;
    tp_strdict *shared = NULL;
    CHECK_OK(tp_strdict_new(&shared));
    const size_t sizes[] = {333, 2500, 1, 999, 1000, 0, 4167, 7};
    enum { n_parts = sizeof sizes / sizeof *sizes };
    tp_frame *parts[n_parts];
    int64_t row = 0;
    for (size_t bi = 0; bi < sizeof sizes / sizeof *sizes; bi++) {
        tp_frame *f = NULL;
        CHECK_OK(tp_frame_new(&f));
        tp_column *id = new_col("id", TP_DTYPE_I64), *s = NULL, *v = new_col("v", TP_DTYPE_F64);
        if (bi % 2 == 0) CHECK_OK(tp_column_new_dict("s", TP_DTYPE_STR, shared, 0, &s));
        else s = new_col("s", TP_DTYPE_STR);
        for (size_t r = 0; r < sizes[bi]; r++, row++) {
            CHECK_OK(tp_column_push_i64(id, row * 7919 - 1000000));
            char buf[32];
            int len = snprintf(buf, sizeof buf, "k%lld", (long long)(row % 37 == 0 ? row : row % 11));
            if (row % 13 == 5) CHECK_OK(tp_column_push_null(s));
            else CHECK_OK(tp_column_push_str(s, buf, (size_t)len));
            if (row % 17 == 3) CHECK_OK(tp_column_push_null(v));
            else CHECK_OK(tp_column_push_f64(v, (double)row / 8.0));
        }
        add(f, id);
        add(f, s);
        add(f, v);
        CHECK_OK(tp_pq_writer_write(w, f));
        write_expected("stream", f, bi == 0);
        parts[bi] = f;
    }
    CHECK(row == 9007);
    CHECK_OK(tp_pq_writer_close(w));
    check_file_shape(out_path("stream", ".parquet"));
    check_roundtrip(out_path("stream", ".parquet"), (const tp_frame *const *)parts, n_parts);
    // the reader sees the row groups as written: 1000 rows each, then the 7-row tail
    tp_pq_reader *r = NULL;
    CHECK_OK(tp_pq_open(out_path("stream", ".parquet"), &r));
    if (r) {
        CHECK(tp_pq_n_rows(r) == 9007);
        CHECK(tp_pq_n_row_groups(r) == 10);
        tp_frame *last = NULL;
        CHECK_OK(tp_pq_read_row_group(r, 9, &last));
        CHECK(last && tp_frame_n_rows(last) == 7);
        tp_frame_free(last);
        tp_pq_close(r);
    }
    for (size_t k = 0; k < n_parts; k++) tp_frame_free(parts[k]);
    tp_strdict_unref(shared);
}

// A dictionary over dict_max_bytes falls back to PLAIN strings (still exact).
static void test_dict_fallback(void) {
    tp_frame *f = NULL;
    CHECK_OK(tp_frame_new(&f));
    tp_column *s = new_col("u", TP_DTYPE_STR);
    for (int r = 0; r < 5000; r++) {
        char buf[48];
        int len = snprintf(buf, sizeof buf, "user-%08d-%s", r * 31, r % 3 ? "x" : "long suffix");
        CHECK_OK(tp_column_push_str(s, buf, (size_t)len));
    }
    add(f, s);
    tp_pq_write_opts o;
    tp_pq_write_opts_default(&o);
    o.dict_max_bytes = 4096;
    o.page_bytes = 8192;
    write_case("dict_fallback", f, &o);
    size_t n1 = 0, n2 = 0;
    free(read_all(out_path("dict_fallback", ".parquet"), &n1));
    o.dict_max_bytes = 1 << 20;
    o.codec = TP_CODEC_UNCOMPRESSED;
    write_case("dict_used", f, &o);
    free(read_all(out_path("dict_used", ".parquet"), &n2));
    CHECK(n1 > 0 && n2 > 0);
    tp_frame_free(f);
}

// Level and index patterns that exercise every branch of the RLE/bit-packed hybrid: runs of 7, 8
// and 9, alternation, a 300-value dictionary (9-bit indices), single-value dictionaries, columns
// entirely null, null runs longer than a page; tiny pages so each chunk has many of them.
static void test_patterns(void) {
    tp_frame *f = NULL;
    CHECK_OK(tp_frame_new(&f));
    tp_column *runs = new_col("runs", TP_DTYPE_STR), *wide = new_col("wide", TP_DTYPE_STR),
              *one = new_col("one", TP_DTYPE_STR), *nul = new_col("all_null", TP_DTYPE_STR),
              *inul = new_col("all_null_i32", TP_DTYPE_I32), *blk = new_col("null_blocks", TP_DTYPE_I64),
              *alt = new_col("alt", TP_DTYPE_BOOL);
    const size_t n = 5000;
    size_t run_len = 7, in_run = 0, sym = 0;
    for (size_t r = 0; r < n; r++) {
        char buf[16];
        // runs: symbol changes after run lengths cycling 7, 8, 9, 1, 2, 20
        static const size_t cyc[] = {7, 8, 9, 1, 2, 20};
        if (in_run == run_len) {
            sym = (sym + 1) % 5;
            in_run = 0;
            run_len = cyc[(r / 3) % 6];
        }
        in_run++;
        int len = snprintf(buf, sizeof buf, "r%zu", sym);
        CHECK_OK(tp_column_push_str(runs, buf, (size_t)len));
        len = snprintf(buf, sizeof buf, "w%zu", (r * 7) % 300);
        if (r % 11 == 4) CHECK_OK(tp_column_push_null(wide));
        else CHECK_OK(tp_column_push_str(wide, buf, (size_t)len));
        CHECK_OK(tp_column_push_str(one, "only", 4));
        CHECK_OK(tp_column_push_null(nul));
        CHECK_OK(tp_column_push_null(inul));
        if ((r / 700) % 2 == 1) CHECK_OK(tp_column_push_null(blk));
        else CHECK_OK(tp_column_push_i64(blk, (int64_t)r - 2500));
        if (r % 3 == 2) CHECK_OK(tp_column_push_null(alt));
        else CHECK_OK(tp_column_push_bool(alt, r % 2));
    }
    add(f, runs);
    add(f, wide);
    add(f, one);
    add(f, nul);
    add(f, inul);
    add(f, blk);
    add(f, alt);
    tp_pq_write_opts o;
    tp_pq_write_opts_default(&o);
    o.row_group_rows = 2048;
    o.page_bytes = 64;
    write_case("patterns", f, &o);
    o.page_version = 2;
    o.codec = TP_CODEC_SNAPPY;
    write_case("patterns_v2", f, &o);
    tp_frame_free(f);
}

// row_group_rows = SIZE_MAX means one row group for everything (buffers grow with the data).
static void test_one_rowgroup(void) {
    tp_pq_write_opts o;
    tp_pq_write_opts_default(&o);
    o.row_group_rows = SIZE_MAX;
    tp_pq_writer *w = NULL;
    const char *p = tp_test_path("one_rg.parquet");
    CHECK_OK(tp_pq_writer_open(p, &o, &w));
    if (!w) return;
    tp_frame *parts[3];
    for (int k = 0; k < 3; k++) {
        parts[k] = types_frame(1000 + 500 * (size_t)k, 10 + (uint64_t)k);
        CHECK_OK(tp_pq_writer_write(w, parts[k]));
    }
    CHECK_OK(tp_pq_writer_close(w));
    check_roundtrip(p, (const tp_frame *const *)parts, 3);
    tp_pq_reader *r = NULL;
    CHECK_OK(tp_pq_open(p, &r));
    CHECK(r && tp_pq_n_row_groups(r) == 1 && tp_pq_n_rows(r) == 4500);
    tp_pq_close(r);
    for (int k = 0; k < 3; k++) tp_frame_free(parts[k]);
}

// Columns are encoded in parallel: the bytes must not depend on the thread count.
static void test_threads_identical(void) {
    tp_frame *f = types_frame(5000, 21);
    tp_pq_write_opts o;
    tp_pq_write_opts_default(&o);
    o.row_group_rows = 1500;
    o.page_bytes = 4096;
    int saved = tp_threads_default();
    const char *names[] = {"thr1.parquet", "thr2.parquet", "thr5.parquet"};
    const int counts[] = {1, 2, 5};
    unsigned char *bytes[3] = {0};
    size_t lens[3] = {0};
    for (int k = 0; k < 3; k++) {
        tp_threads_set_default(counts[k]);
        CHECK_OK(tp_pq_write_file(f, tp_test_path(names[k]), &o));
        bytes[k] = read_all(tp_test_path(names[k]), &lens[k]);
    }
    tp_threads_set_default(saved);
    for (int k = 1; k < 3; k++)
        CHECK(bytes[0] && bytes[k] && lens[k] == lens[0] && memcmp(bytes[0], bytes[k], lens[0]) == 0);
    check_roundtrip(tp_test_path("thr2.parquet"), (const tp_frame *const *)&f, 1);
    for (int k = 0; k < 3; k++) free(bytes[k]);
    tp_frame_free(f);
}

// Zero columns (no frame written, or a frame without columns): refused, since readers refuse a
// schema without columns; nothing is created.
static void test_no_columns(void) {
    tp_pq_writer *w = NULL;
    const char *p = tp_test_path("nocols.parquet");
    CHECK_OK(tp_pq_writer_open(p, NULL, &w));
    CHECK_STATUS(tp_pq_writer_close(w), TP_ERR_ARG);
    tp_frame *f = NULL;
    CHECK_OK(tp_frame_new(&f));
    CHECK_STATUS(tp_pq_write_file(f, p, NULL), TP_ERR_ARG);
    size_t n = 0;
    CHECK(read_all(p, &n) == NULL);
    CHECK(count_tmp_files(tp_test_tmpdir(), "nocols.parquet") == 0);
    tp_frame_free(f);
}

static size_t count_tmp_files(const char *dir, const char *prefix) {
    DIR *d = opendir(dir);
    size_t n = 0, pl = strlen(prefix);
    struct dirent *e;
    while (d && (e = readdir(d)))
        if (strncmp(e->d_name, prefix, pl) == 0 && strstr(e->d_name, ".tmp-")) n++;
    if (d) closedir(d);
    return n;
}

// A failed or aborted write leaves an existing destination byte for byte as it was, and no temp.
static void test_atomic(void) {
    const char *p = tp_test_path("keep.parquet");
    CHECK_OK(tp_atomic_write(p, "original", 8));
    tp_frame *f = types_frame(50, 4);
    tp_pq_writer *w = NULL;
    CHECK_OK(tp_pq_writer_open(p, NULL, &w));
    CHECK_OK(tp_pq_writer_write(w, f));
    CHECK(count_tmp_files(tp_test_tmpdir(), "keep.parquet") == 1);
    tp_frame *g = NULL; /* second frame with a different schema: the write fails */
    CHECK_OK(tp_frame_new(&g));
    add(g, new_col("other", TP_DTYPE_I32));
    CHECK_STATUS(tp_pq_writer_write(w, g), TP_ERR_SHAPE);
    CHECK(strstr(tp_last_error(), "keep.parquet") != NULL);
    CHECK(count_tmp_files(tp_test_tmpdir(), "keep.parquet") == 0);
    CHECK(tp_pq_writer_close(w) != TP_OK); /* frees w; nothing renamed */
    size_t n = 0;
    unsigned char *b = read_all(p, &n);
    CHECK(b && n == 8 && memcmp(b, "original", 8) == 0);
    free(b);
    // abort after a successful write: also untouched
    CHECK_OK(tp_pq_writer_open(p, NULL, &w));
    CHECK_OK(tp_pq_writer_write(w, f));
    tp_pq_writer_abort(w);
    b = read_all(p, &n);
    CHECK(b && n == 8 && memcmp(b, "original", 8) == 0);
    free(b);
    CHECK(count_tmp_files(tp_test_tmpdir(), "keep.parquet") == 0);
    // a string code outside its dictionary is refused, naming column and row
    tp_frame *h = NULL;
    CHECK_OK(tp_frame_new(&h));
    tp_column *s = new_col("s", TP_DTYPE_STR);
    CHECK_OK(tp_column_push_str(s, "a", 1));
    CHECK_OK(tp_column_push_str(s, "b", 1));
    TP_COL(s, int32_t)[1] = 9;
    add(h, s);
    CHECK_STATUS(tp_pq_write_file(h, p, NULL), TP_ERR_ARG);
    CHECK(strstr(tp_last_error(), "'s' row 1") != NULL);
    b = read_all(p, &n);
    CHECK(b && n == 8 && memcmp(b, "original", 8) == 0);
    free(b);
    // success replaces the file
    CHECK_OK(tp_pq_write_file(f, p, NULL));
    check_file_shape(p);
    CHECK(count_tmp_files(tp_test_tmpdir(), "keep.parquet") == 0);
    // a destination in a missing directory fails cleanly
    CHECK_STATUS(tp_pq_write_file(f, tp_test_path("no/such/dir/x.parquet"), NULL), TP_ERR_IO);
    CHECK_OK(tp_mkdirs(tp_test_path("no/such/dir")));
    CHECK_OK(tp_pq_write_file(f, tp_test_path("no/such/dir/x.parquet"), NULL));
    tp_frame_free(f);
    tp_frame_free(g);
    tp_frame_free(h);
}

// Every allocation of a write fails in turn: each attempt returns TP_ERR_NOMEM (never crashes or
// leaks, which ASan checks) and leaves the existing destination as it was, until one succeeds.
static void test_alloc_failures(void) {
    const char *p = tp_test_path("oom.parquet");
    CHECK_OK(tp_atomic_write(p, "original", 8));
    tp_frame *parts[2] = {types_frame(300, 7), types_frame(40, 8)};
    tp_pq_write_opts o;
    tp_pq_write_opts_default(&o);
    o.row_group_rows = 128;
    const char *meta[] = {"k", "v", NULL};
    o.metadata = meta;
    long n;
    int failures = 0;
    for (n = 1; n < 100000; n++) {
        tp_alloc_fail_after(n);
        tp_pq_writer *w = NULL;
        tp_status rc = tp_pq_writer_open(p, &o, &w);
        if (rc == TP_OK) rc = tp_pq_writer_write(w, parts[0]);
        if (rc == TP_OK) rc = tp_pq_writer_write(w, parts[1]);
        if (rc == TP_OK) {
            rc = tp_pq_writer_close(w);
        } else if (w) {
            tp_pq_writer_abort(w);
        }
        tp_alloc_fail_after(0);
        if (rc == TP_OK) break;
        failures++;
        if (rc != TP_ERR_NOMEM) {
            CHECK_STATUS(rc, TP_ERR_NOMEM);
            break;
        }
        size_t len = 0;
        unsigned char *b = read_all(p, &len);
        bool same = b && len == 8 && memcmp(b, "original", 8) == 0;
        free(b);
        if (!same) {
            CHECK(same);
            fprintf(stderr, "  allocation %ld failed: %s\n", n, tp_last_error());
            break;
        }
    }
    CHECK(failures > 50); /* the loop really went through many allocation sites */
    CHECK(count_tmp_files(tp_test_tmpdir(), "oom.parquet") == 0);
    check_roundtrip(p, (const tp_frame *const *)parts, 2);
    tp_frame_free(parts[0]);
    tp_frame_free(parts[1]);
}

static void test_seconds_overflow(void) {
    tp_frame *f = NULL;
    CHECK_OK(tp_frame_new(&f));
    tp_column *t = new_col("t", TP_DTYPE_TIMESTAMP);
    tp_column_set_unit(t, TP_UNIT_SECONDS);
    CHECK_OK(tp_column_push_i64(t, 0));
    CHECK_OK(tp_column_push_i64(t, INT64_MAX / 10));
    add(f, t);
    CHECK_STATUS(tp_pq_write_file(f, tp_test_path("sec.parquet"), NULL), TP_ERR_ARG);
    CHECK(strstr(tp_last_error(), "'t' row 1") != NULL);
    tp_frame_free(f);
}

void suite_parquet_write(void) {
    if (getenv("TP_PQ_OUT")) mkdir(getenv("TP_PQ_OUT"), 0777);
    test_thrift_bytes();
    test_page_bytes();
    test_types();
    test_codecs();
    test_empty();
    test_streaming();
    test_patterns();
    test_no_columns();
    test_one_rowgroup();
    test_threads_identical();
    test_dict_fallback();
    test_atomic();
    test_seconds_overflow();
    test_alloc_failures();
}

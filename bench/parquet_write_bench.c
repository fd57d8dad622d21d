/* parquet_write_bench.c: write throughput of our Parquet writer on an impressions-like frame
 * (uid i64, timestamp i64, campaign string with 50 distinct values, conversion bool). The rows are
 * a pure function of the row index, so bench/parquet_write_duckdb.mjs builds the same table in
 * DuckDB. Usage: parquet_write_bench ROWS OUT_DIR [stream]; prints one JSON line per codec.
 * With "stream", rows are generated and written in batches of 100,000 through one streaming
 * writer (ZSTD) and the peak resident memory is reported: it stays bounded by the row group. */
#include "touchpoint/parquet.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>

#define CHECK_TP(call)                                                                             \
    do {                                                                                           \
        if ((call) != TP_OK) {                                                                     \
            fprintf(stderr, "parquet_write_bench: %s: %s\n", #call, tp_last_error());              \
            exit(1);                                                                               \
        }                                                                                          \
    } while (0)

// Rows [lo, lo + n) of the table as a new frame.
static tp_frame *make_rows(size_t lo, size_t n) {
    tp_frame *f = NULL;
    tp_column *uid = NULL, *ts = NULL, *camp = NULL, *conv = NULL;
    CHECK_TP(tp_frame_new(&f));
    CHECK_TP(tp_column_new("uid", TP_DTYPE_I64, n, &uid));
    CHECK_TP(tp_column_new("timestamp", TP_DTYPE_I64, n, &ts));
    CHECK_TP(tp_column_new("campaign", TP_DTYPE_STR, n, &camp));
    CHECK_TP(tp_column_new("conversion", TP_DTYPE_BOOL, n, &conv));
    CHECK_TP(tp_column_resize(uid, n));
    CHECK_TP(tp_column_resize(ts, n));
    CHECK_TP(tp_column_resize(camp, n));
    CHECK_TP(tp_column_resize(conv, n));
    int32_t codes[50];
    for (int c = 0; c < 50; c++) {
        char name[32];
        int len = snprintf(name, sizeof name, "campaign_%d", c);
        CHECK_TP(tp_strdict_intern(tp_column_dict(camp), name, (size_t)len, &codes[c]));
    }
    // Same formulas as the DuckDB side: uid = (i * 2654435761) % 1000003, timestamp =
    // 1600000000000000 + i * 1000 + (i * 7919) % 1000, campaign = (i * 40503) % 50 with a
    // skew (every third row from the first 5), conversion = i % 97 == 0.
    int64_t *pu = TP_COL(uid, int64_t), *pt = TP_COL(ts, int64_t);
    int32_t *pc = TP_COL(camp, int32_t);
    uint8_t *pv = TP_COL(conv, uint8_t);
    for (size_t j = 0; j < n; j++) {
        size_t i = lo + j;
        uint64_t u = (uint64_t)i;
        pu[j] = (int64_t)((u * 2654435761ULL) % 1000003ULL);
        pt[j] = INT64_C(1600000000000000) + (int64_t)(u * 1000 + (u * 7919) % 1000);
        pc[j] = codes[i % 3 == 0 ? (u * 40503) % 5 : (u * 40503) % 50];
        pv[j] = i % 97 == 0;
    }
    CHECK_TP(tp_frame_add_take(f, uid));
    CHECK_TP(tp_frame_add_take(f, ts));
    CHECK_TP(tp_frame_add_take(f, camp));
    CHECK_TP(tp_frame_add_take(f, conv));
    return f;
}

// User + system CPU time of the process (all threads): robust to other load on the machine.
static double cpu_seconds(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec * 1e-6 + (double)ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec * 1e-6;
}

static long max_rss_mb(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss / 1024;
}

int main(int argc, char **argv) {
    if (argc != 3 && !(argc == 4 && strcmp(argv[3], "stream") == 0)) {
        fprintf(stderr, "usage: parquet_write_bench ROWS OUT_DIR [stream]\n");
        return 2;
    }
    size_t n = (size_t)strtoull(argv[1], NULL, 10);
    const char *dir = argv[2];
    mkdir(dir, 0777);
    const double in_bytes = (double)n * (8 + 8 + 4 + 1); /* the frame's value bytes */
    if (argc == 4) {
        char path[1024];
        snprintf(path, sizeof path, "%s/touchpoint_stream.parquet", dir);
        tp_pq_writer *w = NULL;
        double t0 = tp_now(), gen = 0;
        CHECK_TP(tp_pq_writer_open(path, NULL, &w));
        for (size_t lo = 0; lo < n; lo += 100000) {
            double g0 = tp_now();
            tp_frame *b = make_rows(lo, n - lo < 100000 ? n - lo : 100000);
            gen += tp_now() - g0;
            CHECK_TP(tp_pq_writer_write(w, b));
            tp_frame_free(b);
        }
        CHECK_TP(tp_pq_writer_close(w));
        double dt = tp_now() - t0 - gen;
        struct stat st;
        stat(path, &st);
        printf("{\"writer\":\"touchpoint-stream\",\"codec\":\"zstd\",\"rows\":%zu,\"seconds\":%.4f,"
               "\"rows_per_s\":%.0f,\"in_mb_per_s\":%.1f,\"file_bytes\":%lld,\"max_rss_mb\":%ld,"
               "\"path\":\"%s\"}\n",
               n, dt, (double)n / dt, in_bytes / dt / 1e6, (long long)st.st_size, max_rss_mb(),
               path);
        return 0;
    }
    tp_frame *f = make_rows(0, n);
    const struct {
        const char *name;
        tp_codec codec;
    } codecs[] = {
        {"zstd", TP_CODEC_ZSTD}, {"snappy", TP_CODEC_SNAPPY}, {"none", TP_CODEC_UNCOMPRESSED}};
    for (size_t k = 0; k < sizeof codecs / sizeof *codecs; k++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/touchpoint_%s.parquet", dir, codecs[k].name);
        tp_pq_write_opts o;
        tp_pq_write_opts_default(&o);
        o.codec = codecs[k].codec;
        double best = 1e30, best_cpu = 1e30;
        for (int rep = 0; rep < 3; rep++) {
            double t0 = tp_now(), c0 = cpu_seconds();
            CHECK_TP(tp_pq_write_file(f, path, &o));
            double dt = tp_now() - t0, dc = cpu_seconds() - c0;
            if (dt < best) best = dt;
            if (dc < best_cpu) best_cpu = dc;
        }
        struct stat st;
        stat(path, &st);
        printf("{\"writer\":\"touchpoint\",\"codec\":\"%s\",\"rows\":%zu,\"seconds\":%.4f,"
               "\"cpu_seconds\":%.4f,\"rows_per_s\":%.0f,\"in_mb_per_s\":%.1f,\"file_bytes\":%lld,"
               "\"path\":\"%s\"}\n",
               codecs[k].name, n, best, best_cpu, (double)n / best, in_bytes / best / 1e6,
               (long long)st.st_size, path);
        fflush(stdout);
    }
    tp_frame_free(f);
    return 0;
}

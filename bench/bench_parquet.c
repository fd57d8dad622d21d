/* bench_parquet.c: Parquet read and write throughput of our reader and writer on one file.
 * usage: bench_parquet FILE.parquet [repeats]
 * Prints rows/s and MB/s (file bytes) for a full read (all columns, all row groups) and for
 * writing the same frame back with ZSTD and SNAPPY. The best of `repeats` runs is reported. */
#include "touchpoint/touchpoint.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static double file_mb(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 ? st.st_size / 1e6 : 0;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: bench_parquet FILE.parquet [repeats]\n");
        return 2;
    }
    const char *path = argv[1];
    int repeats = argc > 2 ? atoi(argv[2]) : 3;
    double best = 1e30;
    tp_frame *f = NULL;
    for (int i = 0; i < repeats; i++) {
        tp_frame_free(f);
        f = NULL;
        double t0 = tp_now();
        if (tp_table_read(path, NULL, 0, &f) != TP_OK) {
            fprintf(stderr, "bench_parquet: %s\n", tp_last_error());
            return 1;
        }
        double t = tp_now() - t0;
        if (t < best) best = t;
    }
    size_t rows = tp_frame_n_rows(f);
    double mb = file_mb(path);
    printf("read  touchpoint: %zu rows in %.3f s: %.2f M rows/s, %.1f MB/s\n", rows, best, rows / best / 1e6,
           mb / best);
    const tp_codec codecs[] = {TP_CODEC_ZSTD, TP_CODEC_SNAPPY};
    char out[4096];
    snprintf(out, sizeof out, "%s.bench-out.parquet", path);
    for (size_t c = 0; c < 2; c++) {
        tp_pq_write_opts o;
        tp_pq_write_opts_default(&o);
        o.codec = codecs[c];
        best = 1e30;
        for (int i = 0; i < repeats; i++) {
            double t0 = tp_now();
            if (tp_pq_write_file(f, out, &o) != TP_OK) {
                fprintf(stderr, "bench_parquet: %s\n", tp_last_error());
                return 1;
            }
            double t = tp_now() - t0;
            if (t < best) best = t;
        }
        printf("write touchpoint %s: %zu rows in %.3f s: %.2f M rows/s, %.1f MB/s (output %.1f MB)\n",
               tp_codec_name(codecs[c]), rows, best, rows / best / 1e6, file_mb(out) / best, file_mb(out));
    }
    unlink(out);
    tp_frame_free(f);
    return 0;
}

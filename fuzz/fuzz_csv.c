/* fuzz_csv.c: libFuzzer target for the CSV reader and writer. The first input byte picks the
 * options (delimiter, header, null token, inference sample, a schema); the rest is the file.
 * The sequential and the parallel parse must agree (same frame, or the same error message), and
 * a successful read is written back and re-read: the second frame must equal the first. */
#include "touchpoint/csv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* csv_read.c's internal threshold for parallel parsing (lowered here to reach that path). */
extern size_t tp_csv_parallel_min_bytes;

static int fd_in = -1, fd_out = -1;
static char path_in[64], path_out[64];

static void put(int fd, const void *p, size_t n) {
    if (ftruncate(fd, 0) != 0) abort();
    if (lseek(fd, 0, SEEK_SET) != 0) abort();
    const char *c = p;
    while (n) {
        ssize_t k = write(fd, c, n);
        if (k <= 0) abort();
        c += k;
        n -= (size_t)k;
    }
}

static void fmt(const tp_column *c, size_t i, char *buf, const char **s, size_t *n) {
    const char *str = NULL;
    size_t len = 0;
    size_t k = tp_column_format(c, i, buf, &str, &len);
    *s = str ? str : buf;
    *n = str ? len : k;
}

static void same(const tp_frame *a, const tp_frame *b) {
    if (tp_frame_n_cols(a) != tp_frame_n_cols(b) || tp_frame_n_rows(a) != tp_frame_n_rows(b)) {
        fprintf(stderr, "round trip: shape %zux%zu vs %zux%zu\n", tp_frame_n_rows(a), tp_frame_n_cols(a),
                tp_frame_n_rows(b), tp_frame_n_cols(b));
        abort();
    }
    for (size_t j = 0; j < tp_frame_n_cols(a); j++) {
        const tp_column *x = tp_frame_col(a, j), *y = tp_frame_col(b, j);
        if (strcmp(tp_column_name(x), tp_column_name(y)) != 0 || tp_column_type(x) != tp_column_type(y)) {
            fprintf(stderr, "round trip: column %zu '%s' %s vs '%s' %s\n", j, tp_column_name(x),
                    tp_dtype_name(tp_column_type(x)), tp_column_name(y), tp_dtype_name(tp_column_type(y)));
            abort();
        }
        for (size_t i = 0; i < tp_frame_n_rows(a); i++) {
            if (tp_column_is_null(x, i) != tp_column_is_null(y, i)) {
                fprintf(stderr, "round trip: null mismatch at column %zu row %zu\n", j, i);
                abort();
            }
            char b1[64], b2[64];
            const char *s1, *s2;
            size_t n1, n2;
            fmt(x, i, b1, &s1, &n1);
            fmt(y, i, b2, &s2, &n2);
            if (n1 != n2 || memcmp(s1, s2, n1) != 0) {
                fprintf(stderr, "round trip: column %zu row %zu: \"%.*s\" vs \"%.*s\"\n", j, i, (int)n1, s1,
                        (int)n2, s2);
                abort();
            }
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (fd_in < 0) {
        fd_in = memfd_create("fuzz_csv_in", 0);
        fd_out = memfd_create("fuzz_csv_out", 0);
        if (fd_in < 0 || fd_out < 0) abort();
        snprintf(path_in, sizeof path_in, "/proc/self/fd/%d", fd_in);
        snprintf(path_out, sizeof path_out, "/proc/self/fd/%d", fd_out);
    }
    if (size < 1) return 0;
    uint8_t flags = data[0];
    static const char delims[8] = {0, ',', '\t', ';', '|', ' ', 0, ':'};
    static const size_t infer[4] = {1, 2, 10, 0};
    static const char *const schema[] = {"column_1:int32", "a:date"};
    tp_csv_opts o;
    tp_csv_opts_default(&o);
    o.delimiter = delims[flags & 7];
    o.header = !(flags & 8);
    o.null_token = (flags & 16) ? "NA" : NULL;
    o.infer_rows = infer[(flags >> 5) & 3];
    if (flags & 128) {
        o.schema = o.header ? schema + 1 : schema;
        o.n_schema = 1;
    }
    put(fd_in, data + 1, size - 1);
    tp_frame *f = NULL, *p = NULL;
    tp_threads_set_default(1);
    tp_status rc = tp_csv_read_file(path_in, &o, &f);
    char msg[1024];
    snprintf(msg, sizeof msg, "%s", tp_last_error());
    tp_threads_set_default(3);
    tp_csv_parallel_min_bytes = 1;
    tp_status rc2 = tp_csv_read_file(path_in, &o, &p);
    tp_csv_parallel_min_bytes = 4u << 20;
    tp_threads_set_default(1);
    if (rc != rc2 || (rc != TP_OK && strcmp(msg, tp_last_error()) != 0)) {
        fprintf(stderr, "parallel: %d \"%s\" vs %d \"%s\"\n", rc, msg, rc2, tp_last_error());
        abort();
    }
    if (rc != TP_OK) return 0;
    same(f, p);
    tp_frame_free(p);
    /* write back (all rows) and read again: same frame. A null token is not written back. */
    if (!o.null_token) {
        char *buf = NULL;
        size_t len = 0;
        FILE *fp = open_memstream(&buf, &len);
        char d = o.delimiter && o.delimiter != ' ' && o.delimiter != ':' ? o.delimiter : ',';
        if (tp_csv_write_rows(f, 0, tp_frame_n_rows(f), d, o.header, fp) != TP_OK) abort();
        fclose(fp);
        put(fd_out, buf, len);
        free(buf);
        tp_csv_opts o2 = o;
        o2.delimiter = d;
        o2.infer_rows = 0;
        tp_frame *g = NULL;
        if (tp_csv_read_file(path_out, &o2, &g) != TP_OK) {
            fprintf(stderr, "round trip: re-read failed: %s\n", tp_last_error());
            abort();
        }
        same(f, g);
        tp_frame_free(g);
    }
    tp_frame_free(f);
    return 0;
}

/* fuzz_parquet.c: libFuzzer target for the Parquet reader. Opens the input from memory, reads
 * every column of every row group (one column at a time, so a bad chunk does not hide the
 * others), and describes it with the inspector; any crash, leak, hang or huge allocation is a bug.
 * Built and run by `make fuzz` (scripts/fuzz.sh), seeded from fuzz/corpus/parquet/. */
#include "io/parquet_internal.h"

#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    tp_pq_reader *r = NULL;
    if (tp_pq_open_memory(data, size, "fuzz", &r) != TP_OK) return 0;
    size_t n = tp_pq_n_columns(r);
    for (size_t c = 0; c < n; c++) {
        const char *name = tp_pq_column_name(r, c);
        tp_dtype t;
        tp_time_unit u;
        (void)tp_pq_column_type(r, c, &t, &u);
        if (tp_pq_select(r, &name, 1) != TP_OK) continue;
        for (size_t g = 0; g < tp_pq_n_row_groups(r); g++) {
            tp_frame *f = NULL;
            if (tp_pq_read_row_group(r, g, &f) == TP_OK) {
                // touch every value so sanitizers see uninitialised or out-of-range data
                const tp_column *col = tp_frame_col(f, 0);
                char buf[64];
                const char *s;
                size_t sl;
                for (size_t i = 0; i < tp_column_len(col); i++) (void)tp_column_format(col, i, buf, &s, &sl);
            }
            tp_frame_free(f);
        }
    }
    // the inspector reads by path: hand it the same bytes through a memfd
    int fd = memfd_create("fuzz", 0);
    if (fd >= 0) {
        char path[64];
        FILE *sink = fopen("/dev/null", "w");
        if (write(fd, data, size) == (ssize_t)size && sink) {
            snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
            (void)tp_pq_inspect(path, sink);
        }
        if (sink) fclose(sink);
        close(fd);
    }
    tp_frame *all = NULL;
    (void)tp_pq_select(r, NULL, 0);
    if (tp_pq_read_all(r, &all) == TP_OK) tp_frame_free(all);
    tp_pq_close(r);
    return 0;
}

/* csv_read_bench.c: times tp_csv_read_file on one file (best of REPEAT runs) for bench/csv_read.sh.
 * Prints `touchpoint rows=<n> seconds=<wall> cpu_seconds=<cpu> rows_per_s=<rows/wall>
 * cpu_rows_per_s=<rows/cpu>` (CPU time too, since a shared machine makes wall time noisy). */
#include "touchpoint/csv.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double cpu_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: csv_read_bench FILE [REPEAT]\n");
        return 2;
    }
    int repeat = argc > 2 ? atoi(argv[2]) : 3;
    double best = 1e300, best_cpu = 1e300;
    size_t rows = 0;
    for (int r = 0; r < repeat; r++) {
        tp_frame *f = NULL;
        double t0 = tp_now(), c0 = cpu_now();
        if (tp_csv_read_file(argv[1], NULL, &f) != TP_OK) {
            fprintf(stderr, "csv_read_bench: %s\n", tp_last_error());
            return 1;
        }
        double dt = tp_now() - t0, dc = cpu_now() - c0;
        if (dt < best) best = dt;
        if (dc < best_cpu) best_cpu = dc;
        rows = tp_frame_n_rows(f);
        if (r == 0) {
            fprintf(stderr, "columns:");
            for (size_t j = 0; j < tp_frame_n_cols(f); j++)
                fprintf(stderr, " %s:%s", tp_column_name(tp_frame_col(f, j)),
                        tp_dtype_name(tp_column_type(tp_frame_col(f, j))));
            fprintf(stderr, "\n");
        }
        tp_frame_free(f);
    }
    printf("touchpoint rows=%zu seconds=%.3f cpu_seconds=%.3f rows_per_s=%.0f cpu_rows_per_s=%.0f\n", rows,
           best, best_cpu, (double)rows / best, (double)rows / best_cpu);
    return 0;
}

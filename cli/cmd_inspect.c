/* cmd_inspect.c: `touchpoint inspect FILE`: a Parquet file's schema, row groups, column chunks
 * (codec, encodings, sizes) and statistics, like parquet-tools; for CSV, the inferred schema. */
#include "cli.h"

#include <string.h>

const char cmd_inspect_summary[] = "show a file's schema, row groups, encodings, sizes and statistics";

static const char usage[] = "usage: touchpoint inspect FILE\n";

int cmd_inspect(int argc, char **argv) {
    static const struct option opts[] = {{"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    int ch;
    while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (ch == 'h') return cli_help(usage);
        return cli_usage_error("inspect", usage, "bad option");
    }
    if (optind + 1 != argc) return cli_usage_error("inspect", usage, "wants exactly one FILE");
    const char *path = argv[optind];
    if (tp_format_of_path(path) == TP_FORMAT_PARQUET || tp_format_of_path(path) == TP_FORMAT_UNKNOWN)
        return tp_pq_inspect(path, stdout) == TP_OK ? 0 : cli_fail();
    tp_frame *f;
    if (tp_table_read(path, NULL, 0, &f) != TP_OK) return cli_fail();
    printf("file: %s\nformat: %s\nrows: %zu\ncolumns: %zu\n", path,
           tp_format_of_path(path) == TP_FORMAT_TSV ? "TSV" : "CSV", tp_frame_n_rows(f), tp_frame_n_cols(f));
    for (size_t i = 0; i < tp_frame_n_cols(f); i++) {
        const tp_column *c = tp_frame_col(f, i);
        printf("  %-30s %-10s nulls=%zu\n", tp_column_name(c), tp_dtype_name(tp_column_type(c)),
               tp_column_null_count(c));
    }
    tp_frame_free(f);
    return 0;
}

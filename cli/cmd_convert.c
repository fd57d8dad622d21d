/* cmd_convert.c: `touchpoint convert IN OUT`: CSV/TSV/Parquet in either direction, by extension.
 * Parquet output is streamed row group by row group; the output appears only when complete. */
#include "cli.h"

#include <string.h>

const char cmd_convert_summary[] = "convert between CSV, TSV and Parquet (by extension)";

static const char usage[] =
    "usage: touchpoint convert IN OUT [--columns a,b] [--compression zstd|snappy|gzip|none]\n"
    "                          [--row-group-rows N]\n"
    "  IN and OUT are .parquet, .csv, .tsv (.csv.gz for gzip); IN may be a folder of parts.\n";

int cmd_convert(int argc, char **argv) {
    static const struct option opts[] = {{"columns", required_argument, 0, 'c'},
                                         {"compression", required_argument, 0, 'z'},
                                         {"row-group-rows", required_argument, 0, 'r'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    char **cols = NULL;
    size_t n_cols = 0;
    tp_write_opts wo;
    tp_write_opts_default(&wo);
    int ch, rc = 0;
    int64_t rg;
    while ((ch = getopt_long(argc, argv, "c:z:r:h", opts, NULL)) != -1) {
        switch (ch) {
        case 'c':
            cli_free_list(cols);
            cols = cli_split_list(optarg, &n_cols);
            break;
        case 'z':
            if (tp_codec_parse(optarg, &wo.parquet.codec) != TP_OK) {
                cli_free_list(cols);
                return cli_usage_error("convert", usage, "unknown compression '%s'", optarg);
            }
            break;
        case 'r':
            if (!cli_parse_i64(optarg, &rg) || rg < 1) {
                cli_free_list(cols);
                return cli_usage_error("convert", usage, "--row-group-rows wants a number >= 1");
            }
            wo.parquet.row_group_rows = (size_t)rg;
            break;
        case 'h': cli_free_list(cols); return cli_help(usage);
        default: cli_free_list(cols); return cli_usage_error("convert", usage, "bad option");
        }
    }
    if (optind + 2 != argc) {
        cli_free_list(cols);
        return cli_usage_error("convert", usage, "wants IN and OUT");
    }
    const char *in = argv[optind], *out = argv[optind + 1];
    tp_format of = tp_format_of_path(out);
    if (of == TP_FORMAT_UNKNOWN) {
        cli_free_list(cols);
        return cli_usage_error("convert", usage, "cannot tell the format of '%s' from its extension", out);
    }
    tp_scan *scan = NULL;
    tp_frame *batch = NULL, *all = NULL;
    tp_pq_writer *w = NULL;
    if (tp_scan_open(in, (const char *const *)cols, n_cols, &scan) != TP_OK) {
        rc = cli_fail();
        goto done;
    }
    if (of == TP_FORMAT_PARQUET && tp_pq_writer_open(out, &wo.parquet, &w) != TP_OK) {
        rc = cli_fail();
        goto done;
    }
    if (of != TP_FORMAT_PARQUET && tp_frame_new(&all) != TP_OK) {
        rc = cli_fail();
        goto done;
    }
    tp_progress *p = tp_progress_begin("convert", 0, "rows");
    for (;;) {
        if (tp_scan_next(scan, &batch) != TP_OK) {
            rc = cli_fail();
            break;
        }
        if (!batch) break;
        tp_status s = w ? tp_pq_writer_write(w, batch) : tp_frame_append(all, batch);
        tp_progress_add(p, tp_frame_n_rows(batch));
        tp_frame_free(batch);
        if (s != TP_OK) {
            rc = cli_fail();
            break;
        }
    }
    tp_progress_end(p);
    if (rc == 0) {
        if (w) {
            tp_status s = tp_pq_writer_close(w);
            w = NULL;
            if (s != TP_OK) rc = cli_fail();
        } else if (tp_table_write(all, out, &wo) != TP_OK) {
            rc = cli_fail();
        }
    }
done:
    if (w) tp_pq_writer_abort(w);
    tp_frame_free(all);
    tp_scan_close(scan);
    cli_free_list(cols);
    return rc;
}

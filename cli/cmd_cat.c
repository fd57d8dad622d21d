/* cmd_cat.c: `touchpoint cat FILE`: print rows as JSON lines or CSV, streaming batch by batch so
 * a large file prints its first rows at once. */
#include "cli.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

const char cmd_cat_summary[] = "print the rows of a Parquet/CSV file or folder (JSON lines or CSV)";

static const char usage[] =
    "usage: touchpoint cat FILE|DIR [--columns a,b] [--limit N] [--format jsonl|csv]\n"
    "  --columns LIST   only these columns, in this order\n"
    "  --limit N        at most N rows\n"
    "  --format F       jsonl (default: one object per row) or csv\n";

static void json_string(const char *s, size_t n, bool bytes, FILE *fp) {
    fputc('"', fp);
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        switch (ch) {
        case '"': fputs("\\\"", fp); break;
        case '\\': fputs("\\\\", fp); break;
        case '\n': fputs("\\n", fp); break;
        case '\r': fputs("\\r", fp); break;
        case '\t': fputs("\\t", fp); break;
        default:
            if (bytes && (ch < 0x20 || ch >= 0x7f)) fprintf(fp, "\\\\x%02X", ch); /* DuckDB's blob form */
            else if (ch < 0x20) fprintf(fp, "\\u%04x", ch);
            else fputc(ch, fp);
        }
    }
    fputc('"', fp);
}

static void print_jsonl(const tp_frame *f, size_t n, FILE *fp) {
    char buf[64];
    size_t nc = tp_frame_n_cols(f);
    for (size_t r = 0; r < n; r++) {
        fputc('{', fp);
        for (size_t i = 0; i < nc; i++) {
            const tp_column *c = tp_frame_col(f, i);
            if (i) fputc(',', fp);
            json_string(tp_column_name(c), strlen(tp_column_name(c)), false, fp);
            fputc(':', fp);
            if (tp_column_is_null(c, r)) {
                fputs("null", fp);
                continue;
            }
            tp_dtype t = tp_column_type(c);
            if (tp_dtype_is_string(t)) {
                size_t len;
                const char *s = tp_column_get_str(c, r, &len);
                json_string(s, len, t == TP_DTYPE_BYTES, fp);
                continue;
            }
            if ((t == TP_DTYPE_F32 || t == TP_DTYPE_F64) && !isfinite(tp_column_get_f64(c, r))) {
                fputs("null", fp); /* JSON has no NaN or Infinity */
                continue;
            }
            const char *s;
            size_t sl;
            size_t len = tp_column_format(c, r, buf, &s, &sl);
            if (t == TP_DTYPE_TIMESTAMP || t == TP_DTYPE_DATE) json_string(buf, len, false, fp);
            else fwrite(buf, 1, len, fp);
        }
        fputs("}\n", fp);
    }
}

int cmd_cat(int argc, char **argv) {
    static const struct option opts[] = {{"columns", required_argument, 0, 'c'},
                                         {"limit", required_argument, 0, 'n'},
                                         {"format", required_argument, 0, 'f'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    char **cols = NULL;
    size_t n_cols = 0;
    int64_t limit = -1;
    bool csv = false;
    int ch, rc = 0;
    while ((ch = getopt_long(argc, argv, "c:n:f:h", opts, NULL)) != -1) {
        switch (ch) {
        case 'c':
            cli_free_list(cols);
            cols = cli_split_list(optarg, &n_cols);
            break;
        case 'n':
            if (!cli_parse_i64(optarg, &limit) || limit < 0) {
                cli_free_list(cols);
                return cli_usage_error("cat", usage, "--limit wants a number >= 0, not '%s'", optarg);
            }
            break;
        case 'f':
            if (!strcmp(optarg, "csv")) csv = true;
            else if (!strcmp(optarg, "jsonl") || !strcmp(optarg, "json")) csv = false;
            else {
                cli_free_list(cols);
                return cli_usage_error("cat", usage, "--format is jsonl or csv, not '%s'", optarg);
            }
            break;
        case 'h': cli_free_list(cols); return cli_help(usage);
        default: cli_free_list(cols); return cli_usage_error("cat", usage, "bad option");
        }
    }
    if (optind + 1 != argc) {
        cli_free_list(cols);
        return cli_usage_error("cat", usage, "wants exactly one FILE");
    }
    tp_scan *scan;
    if (tp_scan_open(argv[optind], (const char *const *)cols, n_cols, &scan) != TP_OK) {
        cli_free_list(cols);
        return cli_fail();
    }
    int64_t left = limit;
    bool header = true;
    tp_frame *batch;
    while (left != 0) {
        if (tp_scan_next(scan, &batch) != TP_OK) {
            rc = cli_fail();
            break;
        }
        if (!batch) break;
        size_t n = tp_frame_n_rows(batch);
        if (left >= 0 && (int64_t)n > left) n = (size_t)left;
        if (csv) {
            if (tp_csv_write_rows(batch, 0, n, ',', header, stdout) != TP_OK) rc = cli_fail();
            header = false;
        } else {
            print_jsonl(batch, n, stdout);
        }
        if (left >= 0) left -= (int64_t)n;
        tp_frame_free(batch);
        if (rc) break;
    }
    tp_scan_close(scan);
    cli_free_list(cols);
    if (fflush(stdout) != 0) return cli_errorf("cannot write to standard output");
    return rc;
}

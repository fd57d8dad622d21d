/* cmd_encode.c: `touchpoint encode JOURNEYS --out FILE.parquet`: attribution job 2, the
 * reference's one-hot layout (journey_id, campaign_nm_at_index_{i}_in_journey_is_{c}, then
 * conversion_status), for tools that consume the reference's files. Written in chunks. */
#include "cli.h"
#include "touchpoint/journey_build.h"

const char cmd_encode_summary[] = "one-hot export of journeys in the DeepAttribution layout (job 2)";

static const char usage[] =
    "usage: touchpoint encode JOURNEYS --out FILE.parquet [--bool]\n"
    "\n"
    "JOURNEYS is a journeys file or folder (from `touchpoint journeys`). The output has the\n"
    "reference's columns: journey_id, campaign_nm_at_index_{i}_in_journey_is_{campaign} for\n"
    "i = 1..L and every campaign in mapper order, and conversion_status, as int64 0/1 like the\n"
    "reference's files (--bool writes booleans instead).\n";

int cmd_encode(int argc, char **argv) {
    static const struct option longopts[] = {
        {"out", required_argument, NULL, 'o'},
        {"bool", no_argument, NULL, 'b'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *out = NULL;
    bool as_bool = false;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'o': out = optarg; break;
        case 'b': as_bool = true; break;
        case 'h': return cli_help(usage);
        default: return cli_usage_error("encode", usage, "unknown option");
        }
    }
    if (optind + 1 != argc)
        return cli_usage_error("encode", usage, "expected one JOURNEYS path, got %d", argc - optind);
    if (!out) return cli_usage_error("encode", usage, "--out FILE.parquet is required");
    tp_journeys *j = NULL;
    tp_pq_writer *w = NULL;
    tp_frame *f = NULL;
    int rc = 0;
    if (tp_journeys_read(argv[optind], &j) != TP_OK) return cli_fail();
    if (tp_pq_writer_open(out, NULL, &w) != TP_OK) {
        rc = cli_fail();
        goto done;
    }
    // Chunks keep memory at (chunk x L x campaigns) cells whatever the number of journeys.
    size_t cols = j->max_len * j->n_campaigns + 2;
    size_t chunk = cols ? (size_t)(64u << 20) / (cols * 8) : 65536;
    if (chunk < 1024) chunk = 1024;
    for (size_t lo = 0; lo == 0 || lo < j->n; lo += chunk) {
        size_t hi = lo + chunk < j->n ? lo + chunk : j->n;
        if (tp_encode_onehot(j, lo, hi, as_bool, &f) != TP_OK || tp_pq_writer_write(w, f) != TP_OK) {
            rc = cli_fail();
            goto done;
        }
        tp_frame_free(f);
        f = NULL;
        if (hi >= j->n) break;
    }
    tp_pq_writer *wc = w;
    w = NULL;
    if (tp_pq_writer_close(wc) != TP_OK) {
        rc = cli_fail();
        goto done;
    }
    if (!cli_quiet)
        printf("wrote %s: %zu journeys, %zu one-hot columns (%zu positions x %zu campaigns)\n", out,
               j->n, j->max_len * j->n_campaigns, j->max_len, j->n_campaigns);
done:
    tp_frame_free(f);
    if (w) tp_pq_writer_abort(w);
    tp_journeys_free(j);
    return rc;
}

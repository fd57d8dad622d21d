/* cmd_predict.c: `touchpoint predict --model MODEL JOURNEYS --out attention_score.parquet`: job 4
 * of the attribution pipeline, per-journey attention and conversion probability from a trained
 * model, optionally as credit tables that evaluate and report take as the method "attention". */
#include "cli.h"
#include "touchpoint/dnamta_train.h"

#include <string.h>

const char cmd_predict_summary[] = "per-touch attention and conversion probability from a model (attribution job 4)";

static const char usage[] =
    "usage: touchpoint predict --model MODEL JOURNEYS --out attention_score.parquet [options]\n"
    "\n"
    "JOURNEYS is a journeys Parquet file or folder (all.parquet, else train+val+test.parquet).\n"
    "Writes journey_id, attention_at_index_0 .. attention_at_index_{L-1} (zero on padding; each\n"
    "row sums to 1 over its touches) and conversion_probability.\n"
    "\n"
    "options:\n"
    "  --model MODEL       from `touchpoint train`\n"
    "  --out FILE          attention scores (.parquet or .csv)\n"
    "  --credit-dir DIR    also write DIR/attention.parquet (campaign credit: attention x predicted\n"
    "                      probability, scaled to the observed conversions) and\n"
    "                      DIR/attention_touches.parquet (per-touch credit)\n"
    "  --threads N         worker threads (default: all CPUs)\n"
    "  --help              this text\n";

int cmd_predict(int argc, char **argv) {
    static const struct option longopts[] = {
        {"model", required_argument, NULL, 'm'},      {"out", required_argument, NULL, 'o'},
        {"credit-dir", required_argument, NULL, 'c'}, {"threads", required_argument, NULL, 't'},
        {"help", no_argument, NULL, 'h'},             {NULL, 0, NULL, 0},
    };
    const char *model = NULL, *out = NULL, *credit = NULL;
    int threads = 0, c;
    int64_t v;
    optind = 1;
    while ((c = getopt_long(argc, argv, "m:o:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'm': model = optarg; break;
        case 'o': out = optarg; break;
        case 'c': credit = optarg; break;
        case 't':
            if (!cli_parse_i64(optarg, &v) || v < 1 || v > 1024)
                return cli_usage_error("predict", usage, "--threads wants a number from 1 to 1024, not '%s'", optarg);
            threads = (int)v;
            break;
        case 'h': return cli_help(usage);
        default: return cli_usage_error("predict", usage, "unknown option");
        }
    }
    if (!model) return cli_usage_error("predict", usage, "--model MODEL is required");
    if (!out && !credit) return cli_usage_error("predict", usage, "--out FILE (or --credit-dir DIR) is required");
    if (optind != argc - 1) return cli_usage_error("predict", usage, "give exactly one JOURNEYS file or folder");
    size_t n = 0;
    double t0 = tp_now();
    if (tp_dnamta_predict_job(model, argv[optind], out, credit, threads, &n) != TP_OK) return cli_fail();
    double s = tp_now() - t0;
    if (out) printf("scores: %s (%zu journeys, %.2fs, %.0f journeys/s)\n", out, n, s, s > 0 ? (double)n / s : 0.0);
    if (credit) printf("credit: %s/attention.parquet, %s/attention_touches.parquet\n", credit, credit);
    return 0;
}

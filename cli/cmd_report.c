/* cmd_report.c: `touchpoint report` (job 5 of the attribution pipeline). Joins per-touch credit or
 * the model's attention scores with the journeys into campaign_attention.parquet and draws every
 * method's campaign credit into one self-contained report.html. A thin layer over tp_report_run. */
#include "cli.h"
#include "touchpoint/report.h"

#include <stdlib.h>
#include <string.h>

const char cmd_report_summary[] = "campaign attention table and HTML report from credit tables";

static const char USAGE[] =
    "usage: touchpoint report --journeys JOURNEYS --credit DIR|FILE [DIR|FILE...] --out OUTDIR\n"
    "                         [--truth truth.json] [--attention attention_score.parquet]\n"
    "                         [--attention-from METHOD] [--title TEXT]\n"
    "                         [--model-metrics MODEL.metrics.json] [--experiment summary.tsv]\n"
    "\n"
    "  --journeys PATH       journeys file or folder (output of `touchpoint journeys`)\n"
    "  --credit PATH...      credit folders (every <method>.parquet inside) or credit files;\n"
    "                        repeat the option, separate with commas, or list them after it\n"
    "  --out DIR             writes DIR/report.html and DIR/campaign_attention.parquet\n"
    "  --truth FILE          simulator truth: true shares and each method's error (TVD)\n"
    "  --attention FILE      the model's per-journey attention (journey_id,\n"
    "                        attention_at_index_0..L-1) for campaign_attention.parquet\n"
    "  --attention-from M    use method M's M_touches.parquet for campaign_attention.parquet\n"
    "                        (default: --attention, else the first method with per-touch credit)\n"
    "  --title TEXT          report title\n"
    "  --model-metrics FILE  the attention model's MODEL.metrics.json (from `touchpoint train`):\n"
    "                        adds its test metrics, training curves, ROC and PR curves\n"
    "  --experiment FILE     summary.tsv of bench/counterfactual_experiment.sh: adds the\n"
    "                        counterfactual experiment section (docs/counterfactual.md)\n";

int cmd_report(int argc, char **argv) {
    static const struct option opts[] = {
        {"journeys", required_argument, NULL, 'j'},
        {"credit", required_argument, NULL, 'c'},
        {"out", required_argument, NULL, 'o'},
        {"truth", required_argument, NULL, 't'},
        {"attention", required_argument, NULL, 'a'},
        {"attention-from", required_argument, NULL, 'm'},
        {"title", required_argument, NULL, 'T'},
        {"help", no_argument, NULL, 'h'},
        {"model-metrics", required_argument, NULL, 'M'},
        {"experiment", required_argument, NULL, 'E'},
        {NULL, 0, NULL, 0},
    };
    tp_report_opts o = {0};
    char **credit = NULL;
    size_t n_credit = 0;
    int rc = 0, c;
    tp_report_result res = {0};
    char **lists[64];
    size_t n_lists = 0;

    credit = calloc((size_t)argc + 1, sizeof *credit);
    if (!credit) return cli_errorf("out of memory");
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'j': o.journeys = optarg; break;
        case 'o': o.out_dir = optarg; break;
        case 't': o.truth = optarg; break;
        case 'a': o.attention = optarg; break;
        case 'm': o.attention_method = optarg; break;
        case 'T': o.title = optarg; break;
        case 'M': o.model_metrics = optarg; break;
        case 'E': o.experiment = optarg; break;
        case 'c': {
            size_t k = 0;
            if (n_lists == sizeof lists / sizeof *lists) {
                rc = cli_usage_error("report", USAGE, "too many --credit options");
                goto done;
            }
            char **l = cli_split_list(optarg, &k);
            if (!l) {
                rc = cli_errorf("out of memory");
                goto done;
            }
            lists[n_lists++] = l;
            char **grown = realloc(credit, (n_credit + k + (size_t)argc + 1) * sizeof *credit);
            if (!grown) {
                rc = cli_errorf("out of memory");
                goto done;
            }
            credit = grown;
            for (size_t i = 0; i < k; i++) credit[n_credit++] = l[i];
            break;
        }
        case 'h': rc = cli_help(USAGE); goto done;
        default: rc = cli_usage_error("report", USAGE, "unknown option"); goto done;
        }
    }
    for (int i = optind; i < argc; i++) credit[n_credit++] = argv[i]; /* --credit a b c */
    if (!o.journeys) {
        rc = cli_usage_error("report", USAGE, "--journeys is required");
        goto done;
    }
    if (!o.out_dir) {
        rc = cli_usage_error("report", USAGE, "--out is required");
        goto done;
    }
    if (n_credit == 0 && !o.attention) {
        rc = cli_usage_error("report", USAGE, "give --credit (and/or --attention)");
        goto done;
    }
    o.credit = (const char *const *)credit;
    o.n_credit = n_credit;
    if (tp_report_run(&o, &res) != TP_OK) {
        rc = cli_fail();
        goto done;
    }
    if (!cli_quiet) {
        if (res.tvd) { /* best first */
            size_t order[64], n = res.n_methods < 64 ? res.n_methods : 64;
            for (size_t i = 0; i < n; i++) {
                size_t k = i;
                while (k > 0 && res.tvd[order[k - 1]] > res.tvd[i]) {
                    order[k] = order[k - 1];
                    k--;
                }
                order[k] = i;
            }
            printf("%-4s %-16s %10s\n", "rank", "method", "error(TVD)");
            for (size_t i = 0; i < n; i++)
                printf("%-4zu %-16s %10.4f\n", i + 1, res.methods[order[i]], res.tvd[order[i]]);
        } else {
            printf("methods:");
            for (size_t i = 0; i < res.n_methods; i++) printf(" %s", res.methods[i]);
            printf("\n");
        }
        if (res.attention_path)
            printf("wrote %s (from %s)\n", res.attention_path, res.attention_source);
        printf("wrote %s\n", res.html_path);
    }
done:
    tp_report_result_clear(&res);
    for (size_t i = 0; i < n_lists; i++) cli_free_list(lists[i]);
    free(credit);
    return rc;
}

/* cmd_pipeline.c: `touchpoint pipeline --config pipeline.yaml [--resume]`: every attribution job
 * in order from one YAML file (simulate, journeys, attribute, evaluate, report), resumable.
 * Prints one line per step on stderr, then the evaluation table and the report's path. */
#include "cli.h"
#include "touchpoint/pipeline.h"

#include <math.h>
#include <string.h>

const char cmd_pipeline_summary[] = "run journeys, attribute, evaluate and report from one YAML";

static const char USAGE[] =
    "usage: touchpoint pipeline --config pipeline.yaml [--resume]\n"
    "\n"
    "  --config FILE   the pipeline (keys: input, output, journey_max_len, split, seed,\n"
    "                  lookback_days, methods, half_life_days, markov_order, per_touch, truth,\n"
    "                  title, simulate {users, campaigns, days, seed}); see "
    "examples/pipeline.yaml\n"
    "  --resume        skip the steps that finished before and whose inputs and settings are\n"
    "                  unchanged (state in OUTPUT/_pipeline/state.json)\n";

static void on_event(void *ud, const char *step, size_t i, size_t n, tp_step_status st,
                     double seconds) {
    (void)ud;
    if (cli_quiet && st != TP_STEP_FAILED) return;
    switch (st) {
    case TP_STEP_PENDING: fprintf(stderr, "[%zu/%zu] %s ...\n", i + 1, n, step); break;
    case TP_STEP_RAN:
        fprintf(stderr, "[%zu/%zu] %s done (%.1f s)\n", i + 1, n, step, seconds);
        break;
    case TP_STEP_SKIPPED:
        fprintf(stderr, "[%zu/%zu] %s skipped (unchanged since the last run)\n", i + 1, n, step);
        break;
    case TP_STEP_FAILED: fprintf(stderr, "[%zu/%zu] %s FAILED\n", i + 1, n, step); break;
    }
}

int cmd_pipeline(int argc, char **argv) {
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"resume", no_argument, NULL, 'r'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *config = NULL;
    tp_pipeline_opts po = {.on_event = on_event};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'c': config = optarg; break;
        case 'r': po.resume = true; break;
        case 'h': return cli_help(USAGE);
        default: return cli_usage_error("pipeline", USAGE, "unknown option");
        }
    }
    if (optind < argc)
        return cli_usage_error("pipeline", USAGE, "unexpected argument '%s'", argv[optind]);
    if (!config) return cli_usage_error("pipeline", USAGE, "--config is required");

    tp_pipeline_config *cfg = NULL;
    if (tp_pipeline_config_read(config, &cfg) != TP_OK) return cli_fail();
    tp_pipeline_result res;
    int rc = 0;
    if (tp_pipeline_run(cfg, &po, &res) != TP_OK) {
        rc = cli_fail();
    } else {
        if (res.n_eval) {
            printf("\n%-4s %-12s %10s %10s  %s\n", "rank", "method", "error(TVD)", "spearman",
                   "worst campaign");
            for (size_t i = 0; i < res.n_eval; i++) {
                const tp_pipeline_eval_row *e = &res.eval[i];
                char rho[32];
                if (isnan(e->spearman))
                    snprintf(rho, sizeof rho, "-");
                else
                    snprintf(rho, sizeof rho, "%.3f", e->spearman);
                printf("%-4zu %-12s %10.4f %10s  %s\n", i + 1, e->method, e->tvd, rho,
                       e->worst_campaign);
            }
            printf("\nevaluation: %s\n", res.evaluation_path);
        }
        printf("report: %s\n", res.report_path);
    }
    tp_pipeline_result_clear(&res);
    tp_pipeline_config_free(cfg);
    return rc;
}

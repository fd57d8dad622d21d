/* cmd_workflow.c: `touchpoint workflow run FILE.yaml [--resume] [--as-of DATE]` and
 * `touchpoint workflow status FILE.yaml`: the daily (features -> score) and weekly (features ->
 * train -> evaluate -> promote) propensity workflows of issue #5 §6, recorded step by step in
 * SQLite. Scheduling with cron or systemd timers: docs/propensity.md. */
#include "cli.h"

#include "touchpoint/propensity.h"

#include <string.h>

const char cmd_workflow_summary[] = "run the daily/weekly propensity workflows (resumable)";

static const char usage[] =
    "usage: touchpoint workflow run FILE.yaml [--resume] [--as-of DATE|today|yesterday]\n"
    "       touchpoint workflow status FILE.yaml\n"
    "\n"
    "run     a new run of the workflow's steps (features, train, evaluate, promote, score), each\n"
    "        recorded in the state SQLite; --resume continues the latest unfinished run at its\n"
    "        first step not done, with that run's as-of date. Exit 1 when a step fails.\n"
    "status  runs and steps, newest run first\n"
    "Format of FILE.yaml: docs/propensity.md; examples/daily.yaml, examples/weekly.yaml.\n";

static void log_line(const char *line, void *ud) {
    (void)ud;
    if (cli_quiet) return;
    fprintf(stderr, "%s\n", line);
}

int cmd_workflow(int argc, char **argv) {
    enum { O_RESUME = 256, O_ASOF };
    static const struct option longopts[] = {
        {"resume", no_argument, 0, O_RESUME},
        {"as-of", required_argument, 0, O_ASOF},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    if (argc < 2) return cli_usage_error("workflow", usage, "which action? run or status");
    if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) return cli_help(usage);
    const char *action = argv[1], *as_of = NULL;
    bool resume = false;
    int ch;
    optind = 2;
    while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (ch) {
        case O_RESUME: resume = true; break;
        case O_ASOF: as_of = optarg; break;
        case 'h': return cli_help(usage);
        default: return cli_usage_error("workflow", usage, "unknown option");
        }
    }
    if (optind + 1 != argc) return cli_usage_error("workflow", usage, "one workflow YAML file, please");
    const char *path = argv[optind];
    if (!strcmp(action, "run")) {
        if (resume && as_of)
            return cli_usage_error("workflow", usage, "--resume keeps the run's as-of date: drop --as-of");
        tp_workflow_opts o = {.resume = resume, .as_of = as_of, .n_threads = tp_threads_default(),
                              .log = log_line};
        tp_workflow_result res;
        if (tp_workflow_run(path, &o, &res) != TP_OK) return cli_fail();
        printf("run %lld: %d step(s) run, %d skipped\n", (long long)res.run_id, res.steps_run,
               res.steps_skipped);
        return 0;
    }
    if (!strcmp(action, "status")) {
        tp_frame *f = NULL;
        if (tp_workflow_status(path, &f) != TP_OK) return cli_fail();
        printf("run\tas_of\tstep\tstatus\tstarted\tended\tattempts\terror\n");
        for (size_t i = 0; i < tp_frame_n_rows(f); i++) {
            for (size_t k = 0; k < tp_frame_n_cols(f); k++) {
                tp_column *c = tp_frame_col(f, k);
                char buf[64];
                const char *s = NULL;
                size_t sl = 0, n = tp_column_format(c, i, buf, &s, &sl);
                printf("%s%.*s", k ? "\t" : "", (int)(s ? sl : n), s ? s : buf);
            }
            printf("\n");
        }
        tp_frame_free(f);
        return 0;
    }
    return cli_usage_error("workflow", usage, "unknown action '%s'", action);
}

/* cmd_lookalike.c: `touchpoint lookalike prepare|train|scores` (issue #6 §1-3), dispatching
 * `extend` and `validate` to cli/lookalike_audience.c (cli_lookalike.h), and
 * `touchpoint simulate --kind lookalike` (§7). Thin layers over include/touchpoint/lookalike.h. */
#include "cli.h"
#include "cli_lookalike.h"

#include "touchpoint/lookalike.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

const char cmd_lookalike_summary[] = "lookalike audiences: prepare logs, train the click model, score, extend, validate";

static const char usage[] =
    "usage: touchpoint lookalike <step> --config lookalike.yaml [options]\n"
    "\n"
    "steps (Apache Blue Marlin's lookalike, docs/lookalike.md):\n"
    "  prepare    clean persona/show/click logs, unify into interval buckets (Hive folders\n"
    "             logs/day=/did_bucket=), keyword_index, train-ready histories, stats.json\n"
    "  train      the DIN-style click model; test ROC-AUC and log loss vs keyword CTR\n"
    "  scores     the L2-normalised user x keyword score table (scores.parquet, scores.tpsm)\n"
    "  extend     extend a seed audience (see `touchpoint lookalike extend --help`)\n"
    "  validate   clicks of the extended audience vs random users (see its --help)\n"
    "\n"
    "options (prepare, train, scores):\n"
    "  --config FILE   lookalike.yaml (required)\n"
    "  --model FILE    model file (default OUTPUT/model.tpdin)\n"
    "  --out DIR       scores: output folder (default OUTPUT/scores)\n"
    "  --epochs N      train: override train.epochs\n"
    "  -h, --help      this help\n";

static int run_step(const char *step, int argc, char **argv) {
    static const struct option longopts[] = {
        {"config", required_argument, 0, 'c'}, {"model", required_argument, 0, 'm'},
        {"out", required_argument, 0, 'o'},    {"epochs", required_argument, 0, 'e'},
        {"help", no_argument, 0, 'h'},         {0, 0, 0, 0},
    };
    const char *config = NULL, *model = NULL, *out = NULL;
    int64_t epochs = 0;
    int ch;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (ch) {
        case 'c': config = optarg; break;
        case 'm': model = optarg; break;
        case 'o': out = optarg; break;
        case 'e':
            if (!cli_parse_i64(optarg, &epochs) || epochs < 1 || epochs > 10000)
                return cli_usage_error("lookalike", usage, "--epochs wants 1..10000, not '%s'", optarg);
            break;
        case 'h': return cli_help(usage);
        default: return cli_usage_error("lookalike", usage, "unknown option");
        }
    }
    if (optind < argc) return cli_usage_error("lookalike", usage, "unexpected argument '%s'", argv[optind]);
    if (!config) return cli_usage_error("lookalike", usage, "--config is required");
    tp_lookalike_config *c = NULL;
    if (tp_lookalike_config_load(config, &c) != TP_OK) return cli_fail();
    if (epochs) c->epochs = (int)epochs;
    int code = 0;
    double t0 = tp_now();
    if (!strcmp(step, "prepare")) {
        tp_lookalike_prep_stats s;
        if (tp_lookalike_prepare(c, &s) != TP_OK) {
            code = cli_fail();
        } else if (!cli_quiet) {
            // the per-step row counts were logged by the library as each step finished
            fprintf(stderr, "touchpoint: prepared %" PRId64 " users, %" PRId64 " keywords, %" PRId64
                    " train-ready rows in %.2f s -> %s (stats.json)\n", s.users_kept, s.keywords_kept,
                    s.trainready_rows, tp_now() - t0, c->out_dir);
        }
    } else if (!strcmp(step, "train")) {
        tp_lookalike_train_stats s;
        if (tp_lookalike_train(c, model, &s) != TP_OK) {
            code = cli_fail();
        } else if (!cli_quiet) {
            fprintf(stderr,
                    "touchpoint: samples train %" PRId64 " (%" PRId64 " clicks), test %" PRId64
                    " (%" PRId64 " clicks); trained %d epochs in %.2f s -> %s%s\n",
                    s.train_samples, s.train_positives, s.test_samples, s.test_positives, s.epochs,
                    s.train_seconds, model ? model : c->out_dir, model ? "" : "/model.tpdin");
        }
    } else {
        uint64_t n = 0;
        if (tp_lookalike_scores(c, model, out, &n) != TP_OK)
            code = cli_fail();
        else if (!cli_quiet)
            fprintf(stderr, "touchpoint: scored %" PRIu64 " users in %.2f s -> %s%s (scores.parquet, "
                    "scores.tpsm)\n", n, tp_now() - t0, out ? out : c->out_dir, out ? "" : "/scores");
    }
    tp_lookalike_config_free(c);
    return code;
}

int cmd_lookalike(int argc, char **argv) {
    if (argc < 2) return cli_usage_error("lookalike", usage, "a step is required");
    const char *step = argv[1];
    if (!strcmp(step, "-h") || !strcmp(step, "--help")) return cli_help(usage);
    if (!strcmp(step, "extend")) return cmd_lookalike_extend(argc - 1, argv + 1);
    if (!strcmp(step, "validate")) return cmd_lookalike_validate(argc - 1, argv + 1);
    if (!strcmp(step, "prepare") || !strcmp(step, "train") || !strcmp(step, "scores"))
        return run_step(step, argc - 1, argv + 1);
    return cli_usage_error("lookalike", usage, "unknown step '%s'", step);
}

// ---- touchpoint simulate --kind lookalike ----

static const char sim_usage[] =
    "usage: touchpoint simulate --kind lookalike --users N --out DIR [options]\n"
    "\n"
    "Writes Blue Marlin-style logs with planted interest groups into DIR: persona.parquet (did,\n"
    "gender, age; with duplicate and conflicting rows), shows.parquet and clicks.parquet (did,\n"
    "adv_id, media, slot_id, spread_app_id, device_name, net_type, price_model, action_time),\n"
    "keywords.parquet (spread_app_id -> keyword), groups.parquet (did -> planted group) and\n"
    "truth.json. Members of a group click far more on their group's keywords.\n"
    "\n"
    "options:\n"
    "  --users N      users (required)\n"
    "  --keywords K   keywords, 2..10000 (default 40)\n"
    "  --days D       days, 1..3650 (default 14)\n"
    "  --groups G     interest groups, 1..K (default 4)\n"
    "  --seed S       random seed (default 1)\n"
    "  --out DIR      output folder (required)\n"
    "  -h, --help     this help\n";

int cmd_simulate_lookalike(int argc, char **argv) {
    static const struct option longopts[] = {
        {"kind", required_argument, 0, 'K'},  {"users", required_argument, 0, 'u'},
        {"keywords", required_argument, 0, 'k'}, {"days", required_argument, 0, 'd'},
        {"groups", required_argument, 0, 'g'}, {"seed", required_argument, 0, 's'},
        {"out", required_argument, 0, 'o'},   {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    tp_lookalike_sim_opts o;
    tp_lookalike_sim_opts_default(&o);
    o.users = 0;
    const char *out = NULL;
    int64_t v;
    int ch;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (ch) {
        case 'K': break; // "lookalike", checked by cmd_simulate
        case 'u':
            if (!cli_parse_i64(optarg, &v) || v < 1 || v > INT32_MAX)
                return cli_usage_error("simulate", sim_usage, "--users wants a positive number, not '%s'", optarg);
            o.users = v;
            break;
        case 'k':
            if (!cli_parse_i64(optarg, &v) || v < 2 || v > 10000)
                return cli_usage_error("simulate", sim_usage, "--keywords wants 2..10000, not '%s'", optarg);
            o.keywords = (int)v;
            break;
        case 'd':
            if (!cli_parse_i64(optarg, &v) || v < 1 || v > 3650)
                return cli_usage_error("simulate", sim_usage, "--days wants 1..3650, not '%s'", optarg);
            o.days = (int)v;
            break;
        case 'g':
            if (!cli_parse_i64(optarg, &v) || v < 1 || v > 10000)
                return cli_usage_error("simulate", sim_usage, "--groups wants 1..10000, not '%s'", optarg);
            o.groups = (int)v;
            break;
        case 's':
            if (!cli_parse_i64(optarg, &v) || v < 0)
                return cli_usage_error("simulate", sim_usage, "--seed wants a number >= 0, not '%s'", optarg);
            o.seed = (uint64_t)v;
            break;
        case 'o': out = optarg; break;
        case 'h': return cli_help(sim_usage);
        default: return cli_usage_error("simulate", sim_usage, "unknown option");
        }
    }
    if (optind < argc) return cli_usage_error("simulate", sim_usage, "unexpected argument '%s'", argv[optind]);
    if (!o.users) return cli_usage_error("simulate", sim_usage, "--users is required");
    if (!out) return cli_usage_error("simulate", sim_usage, "--out DIR is required");
    if (o.groups > o.keywords)
        return cli_usage_error("simulate", sim_usage, "--groups (%d) must not exceed --keywords (%d)", o.groups, o.keywords);
    double t0 = tp_now();
    if (tp_lookalike_simulate(&o, out) != TP_OK) return cli_fail();
    if (!cli_quiet)
        fprintf(stderr, "touchpoint: simulated %" PRId64 " users, %d keywords, %d days, %d groups in %.2f s -> %s\n",
                o.users, o.keywords, o.days, o.groups, tp_now() - t0, out);
    return 0;
}

/* cmd_simulate.c: `touchpoint simulate`, an impressions log with a known truth (issue #2 §8).
 * Thin layer over tp_simulate_impressions; prints a per-campaign summary of the truth. */
#include "cli.h"

#include "cli_lookalike.h"
#include "touchpoint/simulate.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

const char cmd_simulate_summary[] = "simulate impressions with a known true contribution per campaign";

static const char usage[] =
    "usage: touchpoint simulate --users N --out FILE.parquet|FILE.csv [options]\n"
    "\n"
    "Simulates users seeing campaigns over D days and converting, with the traps that fool naive\n"
    "attribution (retargeting, a late-journey closer, a frequent useless campaign). The truth is\n"
    "each campaign's share of incremental conversions, by counterfactual re-simulation with the\n"
    "campaign removed and the same random streams. Model: docs/simulate.md.\n"
    "\n"
    "options:\n"
    "  --users N            users to simulate (uids 1..N)\n"
    "  --campaigns K        campaigns, 5..1000 (default 10)\n"
    "  --days D             days simulated, 1..3650 (default 30)\n"
    "  --seed S             random seed >= 0 (default 1)\n"
    "  --start T            unix seconds of day 0 (default 1704067200 = 2024-01-01 UTC)\n"
    "  --out FILE           impressions: .parquet, .csv or .tsv (.csv.gz/.tsv.gz: gzipped);\n"
    "                       rows sorted by (uid, timestamp)\n"
    "  --truth FILE         write the truth JSON (true_share per campaign)\n"
    "  --conversion-id      add conversion_id (every touch of a converting journey carries it)\n"
    "  --cost               add cost per impression (double)\n"
    "  --user-features      add age_band, region, past_purchases, visit_frequency\n"
    "  --trap-strength X    0 (no traps) .. 3, default 1\n"
    "  --disable LIST       campaigns removed from the world (names or indexes, comma-separated)\n"
    "  --batch-rows N       rows per write batch (default 1000000)\n"
    "  -h, --help           this help\n"
    "\n"
    "  --kind lookalike     persona/show/click/keyword logs with planted interest groups instead\n"
    "                       (see `touchpoint simulate --kind lookalike --help`)\n";

static int find_campaign(int K, const char *s) {
    int64_t idx;
    if (cli_parse_i64(s, &idx)) return idx >= 0 && idx < K ? (int)idx : -1;
    for (int c = 0; c < K; c++) {
        char name[32];
        tp_sim_campaign_info(K, c, name, NULL);
        if (!strcmp(name, s)) return c;
    }
    return -1;
}

int cmd_simulate(int argc, char **argv) {
    for (int i = 1; i < argc; i++) // --kind lookalike: a different simulator (cmd_lookalike.c)
        if ((!strcmp(argv[i], "--kind") && i + 1 < argc && !strcmp(argv[i + 1], "lookalike")) ||
            !strcmp(argv[i], "--kind=lookalike"))
            return cmd_simulate_lookalike(argc, argv);
    static const struct option longopts[] = {
        {"users", required_argument, 0, 'u'},      {"campaigns", required_argument, 0, 'k'},
        {"days", required_argument, 0, 'd'},       {"seed", required_argument, 0, 's'},
        {"start", required_argument, 0, 'S'},      {"out", required_argument, 0, 'o'},
        {"truth", required_argument, 0, 't'},      {"conversion-id", no_argument, 0, 'c'},
        {"cost", no_argument, 0, 'C'},             {"user-features", no_argument, 0, 'f'},
        {"trap-strength", required_argument, 0, 'x'}, {"disable", required_argument, 0, 'D'},
        {"batch-rows", required_argument, 0, 'b'}, {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    tp_sim_opts o;
    tp_sim_opts_default(&o);
    o.users = 0;
    const char *out = NULL, *truth = NULL, *disable = NULL;
    int64_t v;
    double x;
    int ch;
    uint8_t *off = NULL;
    tp_sim_result *res = NULL;
    int code = 0;
    while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (ch) {
        case 'u':
            if (!cli_parse_i64(optarg, &v) || v < 1)
                return cli_usage_error("simulate", usage, "--users wants a positive number, not '%s'", optarg);
            o.users = v;
            break;
        case 'k':
            if (!cli_parse_i64(optarg, &v) || v < TP_SIM_MIN_CAMPAIGNS || v > TP_SIM_MAX_CAMPAIGNS)
                return cli_usage_error("simulate", usage, "--campaigns wants %d..%d, not '%s'",
                                       TP_SIM_MIN_CAMPAIGNS, TP_SIM_MAX_CAMPAIGNS, optarg);
            o.campaigns = (int)v;
            break;
        case 'd':
            if (!cli_parse_i64(optarg, &v) || v < 1 || v > 3650)
                return cli_usage_error("simulate", usage, "--days wants 1..3650, not '%s'", optarg);
            o.days = (int)v;
            break;
        case 's':
            if (!cli_parse_i64(optarg, &v) || v < 0)
                return cli_usage_error("simulate", usage, "--seed wants a number >= 0, not '%s'", optarg);
            o.seed = (uint64_t)v;
            break;
        case 'S':
            if (!cli_parse_i64(optarg, &v) || v < 0)
                return cli_usage_error("simulate", usage, "--start wants unix seconds, not '%s'", optarg);
            o.start_time = v;
            break;
        case 'o': out = optarg; break;
        case 't': truth = optarg; break;
        case 'c': o.conversion_id = true; break;
        case 'C': o.cost = true; break;
        case 'f': o.user_features = true; break;
        case 'x':
            if (!cli_parse_f64(optarg, &x) || !(x >= 0 && x <= 3))
                return cli_usage_error("simulate", usage, "--trap-strength wants 0..3, not '%s'", optarg);
            o.trap_strength = x;
            break;
        case 'D': disable = optarg; break;
        case 'b':
            if (!cli_parse_i64(optarg, &v) || v < 1)
                return cli_usage_error("simulate", usage, "--batch-rows wants a positive number, not '%s'", optarg);
            o.batch_rows = (size_t)v;
            break;
        case 'h': return cli_help(usage);
        default: return cli_usage_error("simulate", usage, "unknown option");
        }
    }
    if (optind < argc)
        return cli_usage_error("simulate", usage, "unexpected argument '%s'", argv[optind]);
    if (o.users == 0) return cli_usage_error("simulate", usage, "--users is required");
    if (!out && !truth) return cli_usage_error("simulate", usage, "--out (or --truth) is required");
    if (out && tp_format_of_path(out) == TP_FORMAT_UNKNOWN)
        return cli_usage_error("simulate", usage, "--out '%s': use .parquet, .csv or .tsv", out);
    if (disable) {
        size_t n = 0;
        char **list = cli_split_list(disable, &n);
        off = calloc((size_t)o.campaigns, 1);
        if (!list || !off) {
            cli_free_list(list);
            free(off);
            return cli_errorf("out of memory");
        }
        for (size_t i = 0; i < n; i++) {
            int c = find_campaign(o.campaigns, list[i]);
            if (c < 0) {
                code = cli_usage_error("simulate", usage, "--disable: no campaign '%s' among %d",
                                       list[i], o.campaigns);
                cli_free_list(list);
                free(off);
                return code;
            }
            off[c] = 1;
        }
        cli_free_list(list);
        o.disabled = off;
    }

    double t0 = tp_now();
    if (tp_simulate_impressions(&o, out, truth, &res) != TP_OK) {
        code = cli_fail();
        goto done;
    }
    double dt = tp_now() - t0;
    if (!cli_quiet) {
        fprintf(stderr,
                "touchpoint: simulated %" PRId64 " users, %" PRId64 " impressions, %" PRId64
                " conversions (%" PRId64 " with touches) in %.2f s (%.0f impressions/s)\n",
                res->users, res->impressions, res->conversions, res->observed_conversions, dt,
                dt > 0 ? (double)res->impressions / dt : 0.0);
        if (res->baseline_conversions >= 0) {
            fprintf(stderr, "touchpoint: baseline (no campaign) %" PRId64 ", incremental %" PRId64 "\n",
                    res->baseline_conversions, res->incremental);
            fprintf(stderr, "  %-16s %-12s %12s %12s %10s\n", "campaign", "role", "impressions",
                    "incremental", "true_share");
            for (int c = 0; c < res->n_campaigns; c++) {
                const tp_sim_campaign *k = &res->campaigns[c];
                fprintf(stderr, "  %-16s %-12s %12" PRId64 " %12" PRId64 " %10.4f\n", k->name,
                        k->role, k->impressions, k->incremental, k->true_share);
            }
        }
    }
done:
    tp_sim_result_free(res);
    free(off);
    return code;
}

/* cmd_simulate.c: `touchpoint simulate`, an impressions log with a known truth (issue #2 §8).
 * Thin layer over tp_simulate_impressions; prints a per-campaign summary of the truth. */
#include "cli.h"

#include "cli_lookalike.h"
#include "touchpoint/events_sim.h"
#include "touchpoint/simulate.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

const char cmd_simulate_summary[] = "simulate impressions with a known true contribution per campaign";

static const char usage[] =
    "usage: touchpoint simulate --users N --out FILE.parquet|FILE.csv [options]\n"
    "       touchpoint simulate --kind events --help   (an e-commerce event log, issue #5)\n"
    "       touchpoint simulate --kind lookalike --help (persona/show/click logs, issue #6)\n"
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
    "  --conversion-events  every conversion as its own row (null campaign), touches carry\n"
    "                       conversion false, and a last row per user (null campaign, false):\n"
    "                       journeys without a touch appear (the advertiser's order log joined)\n"
    "  --observable-targeting  campaigns target on the users' visit rate (column visit_frequency)\n"
    "                       instead of their latent propensity: a confounder a model can control\n"
    "  --visit-events       every site visit as its own row (null campaign, conversion true where\n"
    "                       it converted): the advertiser's visit log joined (journeys --per-event)\n"
    "  --trap-strength X    0 (no traps) .. 3, default 1\n"
    "  --disable LIST       campaigns removed from the world (names or indexes, comma-separated)\n"
    "  --batch-rows N       rows per write batch (default 1000000)\n"
    "  -h, --help           this help\n";

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

// ---- --kind events (issue #5) ----

static const char events_usage[] =
    "usage: touchpoint simulate --kind events --users N --out EVENTS.parquet|.csv [options]\n"
    "\n"
    "Simulates views, carts and purchases of N users in G product groups over D days with a\n"
    "known purchase model (docs/propensity_features.md): about 1% of user x group pairs purchase\n"
    "in a 30-day horizon. Rows sorted by (uid, timestamp); the same seed gives the same rows.\n"
    "\n"
    "options:\n"
    "  --users N            users (uids 1..N)\n"
    "  --groups G           product groups, 1..1000 (default 10)\n"
    "  --items-per-group K  items per group (default 50)\n"
    "  --days D             days simulated (default 120)\n"
    "  --seed S             random seed (default 1)\n"
    "  --start T            unix seconds of day 0, a midnight (default 1704067200 = 2024-01-01)\n"
    "  --activity X         mean view sessions per user per day (default 0.15)\n"
    "  --purchase-rate X    multiplies the purchase odds (default 1)\n"
    "  --out FILE           events: .parquet, .csv or .tsv\n"
    "  --items FILE         the items table (item, group, price)\n"
    "  --truth FILE         the purchase model as JSON\n"
    "  -h, --help           this help\n";

static int simulate_events(int argc, char **argv) {
    static const struct option longopts[] = {
        {"kind", required_argument, 0, 'K'},     {"users", required_argument, 0, 'u'},
        {"groups", required_argument, 0, 'g'},   {"items-per-group", required_argument, 0, 'I'},
        {"days", required_argument, 0, 'd'},     {"seed", required_argument, 0, 's'},
        {"start", required_argument, 0, 'S'},    {"activity", required_argument, 0, 'a'},
        {"purchase-rate", required_argument, 0, 'p'}, {"out", required_argument, 0, 'o'},
        {"items", required_argument, 0, 'i'},    {"truth", required_argument, 0, 't'},
        {"help", no_argument, 0, 'h'},           {0, 0, 0, 0},
    };
    tp_evsim_opts o;
    tp_evsim_opts_default(&o);
    o.users = 0;
    const char *out = NULL, *items = NULL, *truth = NULL;
    int64_t v;
    double x;
    int ch;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (ch) {
        case 'K': break;
        case 'u':
        case 'g':
        case 'I':
        case 'd':
        case 's':
        case 'S':
            if (!cli_parse_i64(optarg, &v) || v < (ch == 's' || ch == 'S' ? 0 : 1))
                return cli_usage_error("simulate", events_usage, "%s wants a positive number, not '%s'",
                                       argv[optind - 1], optarg);
            if (ch == 'u') o.users = v;
            if (ch == 'g') o.groups = v > 100000 ? 100000 : (int)v;
            if (ch == 'I') o.items_per_group = v > 1000000 ? 1000000 : (int)v;
            if (ch == 'd') o.days = v > 100000 ? 100000 : (int)v;
            if (ch == 's') o.seed = (uint64_t)v;
            if (ch == 'S') o.start_time = v;
            break;
        case 'a':
        case 'p':
            if (!cli_parse_f64(optarg, &x) || !(x > 0))
                return cli_usage_error("simulate", events_usage, "%s wants a number > 0, not '%s'",
                                       argv[optind - 1], optarg);
            if (ch == 'a') o.activity = x;
            else o.purchase_rate = x;
            break;
        case 'o': out = optarg; break;
        case 'i': items = optarg; break;
        case 't': truth = optarg; break;
        case 'h': return cli_help(events_usage);
        default: return cli_usage_error("simulate", events_usage, "unknown option");
        }
    }
    if (optind < argc)
        return cli_usage_error("simulate", events_usage, "unexpected argument '%s'", argv[optind]);
    if (o.users == 0) return cli_usage_error("simulate", events_usage, "--users is required");
    if (!out) return cli_usage_error("simulate", events_usage, "--out is required");
    tp_evsim_result r;
    double t0 = tp_now();
    if (tp_evsim_run(&o, out, items, truth, &r) != TP_OK) return cli_fail();
    if (!cli_quiet)
        fprintf(stderr,
                "touchpoint: simulated %" PRId64 " users, %" PRId64 " events (%" PRId64 " views, %" PRId64
                " carts, %" PRId64 " purchases) in %.2f s; %.2f%% of user x group pairs purchased in the "
                "last 30 days\n",
                r.users, r.events, r.views, r.carts, r.purchases, tp_now() - t0,
                100.0 * r.purchase_pair_rate_30d);
    return 0;
}

/* --kind impressions|events: events dispatch to simulate_events; impressions (the default)
 * continue below without the option. */
static int simulate_kind(int argc, char **argv, int *is_events) {
    *is_events = 0;
    for (int i = 1; i < argc; i++) {
        const char *k = NULL;
        if (!strcmp(argv[i], "--kind") && i + 1 < argc) k = argv[i + 1];
        else if (!strncmp(argv[i], "--kind=", 7)) k = argv[i] + 7;
        if (!k) continue;
        if (!strcmp(k, "events")) *is_events = 1;
        else if (strcmp(k, "impressions"))
            return cli_usage_error("simulate", usage, "--kind wants impressions, events or lookalike, not '%s'", k);
        // drop the option from argv for the impressions parser
        int drop = !strcmp(argv[i], "--kind") ? 2 : 1;
        if (!*is_events) {
            for (int j = i; j + drop <= argc; j++) argv[j] = argv[j + drop];
            argc -= drop;
            i--;
        }
    }
    return -argc; // <= 0: the new argc, negated
}

int cmd_simulate(int argc, char **argv) {
    for (int i = 1; i < argc; i++) // --kind lookalike: a different simulator (cmd_lookalike.c)
        if ((!strcmp(argv[i], "--kind") && i + 1 < argc && !strcmp(argv[i + 1], "lookalike")) ||
            !strcmp(argv[i], "--kind=lookalike"))
            return cmd_simulate_lookalike(argc, argv);
    int is_events, k = simulate_kind(argc, argv, &is_events);
    if (k > 0) return k;
    if (is_events) return simulate_events(argc, argv);
    argc = -k;
    static const struct option longopts[] = {
        {"users", required_argument, 0, 'u'},      {"campaigns", required_argument, 0, 'k'},
        {"days", required_argument, 0, 'd'},       {"seed", required_argument, 0, 's'},
        {"start", required_argument, 0, 'S'},      {"out", required_argument, 0, 'o'},
        {"truth", required_argument, 0, 't'},      {"conversion-id", no_argument, 0, 'c'},
        {"cost", no_argument, 0, 'C'},             {"user-features", no_argument, 0, 'f'},
        {"trap-strength", required_argument, 0, 'x'}, {"disable", required_argument, 0, 'D'},
        {"batch-rows", required_argument, 0, 'b'}, {"help", no_argument, 0, 'h'},
        {"conversion-events", no_argument, 0, 'E'}, {"visit-events", no_argument, 0, 'V'},
        {"observable-targeting", no_argument, 0, 'O'},
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
        case 'E': o.conversion_events = true; break;
        case 'V': o.visit_events = true; break;
        case 'O': o.observable_targeting = true; break;
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

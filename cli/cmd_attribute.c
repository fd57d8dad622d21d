/* cmd_attribute.c: `touchpoint attribute JOURNEYS --method M --out DIR`: runs the classic
 * attribution methods over a journeys file (or folder), writes DIR/<method>.parquet per method
 * (and DIR/<method>_touches.parquet with --per-touch) and prints the credit table. */
#include "cli.h"
#include "touchpoint/counterfactual.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

const char cmd_attribute_summary[] = "credit campaigns with last/first/linear/time-decay/position/markov/shapley";

static const char usage[] =
    "usage: touchpoint attribute JOURNEYS --out DIR [--method M[,M...]|all] [options]\n"
    "  JOURNEYS               journeys Parquet file or folder (from `touchpoint journeys`)\n"
    "  --method M             last, first, linear, time-decay, position, markov, shapley or all\n"
    "                         (default all); a comma-separated list runs several\n"
    "  --out DIR              writes DIR/<method>.parquet for each method\n"
    "  --half-life DAYS       time-decay half-life (default 7)\n"
    "  --position F,M,L       position-based shares of first, middle, last (default 0.4,0.2,0.4)\n"
    "  --markov-order K       Markov chain order, 1 to 4 (default 1)\n"
    "  --shapley-max-exact N  exact Shapley up to N campaigns, sampling above (default 15)\n"
    "  --samples N            Shapley permutations when sampling (default 1000)\n"
    "  --shapley-game G       set-rates (default): v(S) = sum of the conversion rates of the\n"
    "                         campaign sets inside S (exact for any number of campaigns);\n"
    "                         rate: v(S) = pooled conversion rate of journeys whose set is in S\n"
    "                         (can give negative credit); count: v(S) = their conversions\n"
    "  --seed S               sampling seed (default 1)\n"
    "  --per-touch            also write DIR/<method>_touches.parquet (per-touch credit)\n"
    "model-based counterfactual methods (docs/counterfactual.md; not part of all):\n"
    "  --method model-removal|model-shapley  credit from a trained model's predictions\n"
    "                         with campaigns' touches removed; need --model\n"
    "  --model MODEL          the model from `touchpoint train` (with its control variables)\n"
    "  --model-max-exact N    model-shapley: exact over subsets up to N campaigns in a journey,\n"
    "                         permutation sampling above (default 8, at most 16)\n"
    "  --model-samples N      model-shapley: permutations per sampled journey (default 64)\n"
    "  --threads N            model forward-pass threads (default: all cores)\n"
    "  -h, --help             this help\n";

static void print_single(const tp_credit *c) {
    size_t C = c->n_campaigns, w = 11;
    for (size_t k = 0; k < C; k++)
        if (strlen(c->campaigns[k]) > w) w = strlen(c->campaigns[k]);
    printf("%s: %.0f conversions\n", tp_attr_method_name(c->method), c->total_conversions);
    printf("%-*s %14s %9s", (int)w, "campaign_nm", "conversions", "share");
    if (c->attributed_value) printf(" %14s", "value");
    if (c->std_error) printf(" %10s", "std_error");
    printf("\n");
    for (size_t k = 0; k < C; k++) {
        printf("%-*s %14.3f %8.3f%%", (int)w, c->campaigns[k], c->attributed_conversions[k],
               100 * c->share[k]);
        if (c->attributed_value) printf(" %14.2f", c->attributed_value[k]);
        if (c->std_error) printf(" %10.3f", c->std_error[k]);
        printf("\n");
    }
}

// Several methods: one row per campaign, attributed conversions per method.
static void print_wide(tp_credit *const *cs, size_t n) {
    size_t C = cs[0]->n_campaigns, w = 11;
    for (size_t k = 0; k < C; k++)
        if (strlen(cs[0]->campaigns[k]) > w) w = strlen(cs[0]->campaigns[k]);
    printf("attributed conversions (%.0f in total)\n", cs[0]->total_conversions);
    printf("%-*s", (int)w, "campaign_nm");
    for (size_t m = 0; m < n; m++) printf(" %11s", tp_attr_method_name(cs[m]->method));
    printf("\n");
    for (size_t k = 0; k < C; k++) {
        printf("%-*s", (int)w, cs[0]->campaigns[k]);
        for (size_t m = 0; m < n; m++) printf(" %11.3f", cs[m]->attributed_conversions[k]);
        printf("\n");
    }
}

// A counterfactual method: expected incremental conversions beside the observed conversions.
static void print_cf(const tp_cf_result *r, const tp_journeys *j) {
    size_t C = r->n_campaigns, w = 11;
    for (size_t k = 0; k < C; k++)
        if (strlen(j->campaigns[k]) > w) w = strlen(j->campaigns[k]);
    printf("%s: %zu journeys, %.0f observed conversions; model: %.1f expected, %.1f without any touch, "
           "%.1f incremental\n", tp_cf_method_name(r->method), r->n_journeys, r->observed_conversions,
           r->expected_conversions, r->baseline_conversions, r->expected_conversions - r->baseline_conversions);
    if (r->expected_conversions < r->baseline_conversions)
        printf("  note: the model's no-touch baseline is above the full journeys (an extrapolation: no\n"
               "  training journey is empty); levels are not identified and shares are ratios to a\n"
               "  negative total (docs/counterfactual.md)\n");
    if (r->method == TP_CF_SHAPLEY)
        printf("  %zu journeys exact, %zu sampled; ", r->n_exact, r->n_sampled);
    else
        printf("  ");
    printf("%zu variant rows in %zu forward passes, %.2f s\n", r->n_rows, r->n_forward, r->seconds);
    printf("%-*s %14s %9s %10s %14s\n", (int)w, "campaign_nm", "incremental", "share", "std_error",
           "observed_conv");
    for (size_t k = 0; k < C; k++)
        printf("%-*s %14.3f %8.3f%% %10.3f %14.0f\n", (int)w, j->campaigns[k], r->credit[k], 100 * r->share[k],
               r->std_error ? r->std_error[k] : 0.0, r->observed[k]);
}

int cmd_attribute(int argc, char **argv) {
    static const struct option longopts[] = {
        {"method", required_argument, NULL, 'm'},
        {"out", required_argument, NULL, 'o'},
        {"half-life", required_argument, NULL, 'H'},
        {"position", required_argument, NULL, 'P'},
        {"markov-order", required_argument, NULL, 'k'},
        {"shapley-max-exact", required_argument, NULL, 'x'},
        {"samples", required_argument, NULL, 'n'},
        {"shapley-game", required_argument, NULL, 'g'},
        {"seed", required_argument, NULL, 's'},
        {"per-touch", no_argument, NULL, 't'},
        {"model", required_argument, NULL, 'M'},
        {"model-max-exact", required_argument, NULL, 'X'},
        {"model-samples", required_argument, NULL, 'N'},
        {"threads", required_argument, NULL, 'T'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *methods = "all", *out = NULL;
    tp_attr_opts o;
    tp_attr_opts_default(&o);
    const char *model = NULL;
    tp_cf_opts co;
    tp_cf_opts_default(&co);
    int opt;
    int64_t iv;
    while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (opt) {
        case 'm': methods = optarg; break;
        case 'o': out = optarg; break;
        case 'H':
            if (!cli_parse_f64(optarg, &o.half_life_days) || !(o.half_life_days > 0))
                return cli_usage_error("attribute", usage, "--half-life wants a positive number of days, not '%s'", optarg);
            break;
        case 'P': {
            size_t n = 0;
            char **parts = cli_split_list(optarg, &n);
            double v[3];
            bool ok = parts && n == 3;
            for (size_t q = 0; ok && q < 3; q++) ok = cli_parse_f64(parts[q], &v[q]) && v[q] >= 0;
            cli_free_list(parts);
            if (!ok || fabs(v[0] + v[1] + v[2] - 1) > 1e-9)
                return cli_usage_error("attribute", usage,
                                       "--position wants three shares >= 0 summing to 1 (first,middle,last), not '%s'", optarg);
            o.position_first = v[0];
            o.position_last = v[2];
            break;
        }
        case 'k':
            if (!cli_parse_i64(optarg, &iv) || iv < 1 || iv > 4)
                return cli_usage_error("attribute", usage, "--markov-order wants 1 to 4, not '%s'", optarg);
            o.markov_order = (int)iv;
            break;
        case 'x':
            if (!cli_parse_i64(optarg, &iv) || iv < 0 || iv > 25)
                return cli_usage_error("attribute", usage, "--shapley-max-exact wants 0 to 25, not '%s'", optarg);
            o.shapley_max_exact = (int)iv;
            break;
        case 'n':
            if (!cli_parse_i64(optarg, &iv) || iv < 2)
                return cli_usage_error("attribute", usage, "--samples wants a number >= 2, not '%s'", optarg);
            o.shapley_samples = (size_t)iv;
            break;
        case 's':
            if (!cli_parse_i64(optarg, &iv))
                return cli_usage_error("attribute", usage, "--seed wants an integer, not '%s'", optarg);
            o.seed = (uint64_t)iv;
            break;
        case 'g':
            if (!strcmp(optarg, "set-rates")) o.shapley_game = TP_SHAPLEY_SET_RATES;
            else if (!strcmp(optarg, "rate")) o.shapley_game = TP_SHAPLEY_RATE;
            else if (!strcmp(optarg, "count")) o.shapley_game = TP_SHAPLEY_COUNT;
            else return cli_usage_error("attribute", usage,
                                        "--shapley-game wants set-rates, rate or count, not '%s'", optarg);
            break;
        case 't': o.per_touch = true; break;
        case 'M': model = optarg; break;
        case 'X':
            if (!cli_parse_i64(optarg, &iv) || iv < 0 || iv > 16)
                return cli_usage_error("attribute", usage, "--model-max-exact wants 0 to 16, not '%s'", optarg);
            co.max_exact = (int)iv;
            break;
        case 'N':
            if (!cli_parse_i64(optarg, &iv) || iv < 2)
                return cli_usage_error("attribute", usage, "--model-samples wants a number >= 2, not '%s'", optarg);
            co.samples = (size_t)iv;
            break;
        case 'T':
            if (!cli_parse_i64(optarg, &iv) || iv < 1 || iv > 1024)
                return cli_usage_error("attribute", usage, "--threads wants 1 to 1024, not '%s'", optarg);
            co.threads = (int)iv;
            o.n_threads = (int)iv;
            break;
        case 'h': return cli_help(usage);
        default: return cli_usage_error("attribute", usage, "bad option");
        }
    }
    if (optind + 1 != argc)
        return cli_usage_error("attribute", usage, "expected one JOURNEYS path, got %d", argc - optind);
    if (!out) return cli_usage_error("attribute", usage, "--out DIR is required");
    // model-removal / model-shapley are taken out of the list; the rest are the classic methods
    unsigned mask = 0;
    bool cf[2] = {false, false};
    {
        size_t nw = 0;
        char **words = cli_split_list(methods, &nw);
        size_t cap = strlen(methods) + 1, used = 0;
        char *rest = calloc(cap, 1);
        bool ok = words && rest;
        for (size_t q = 0; ok && q < nw; q++) {
            tp_cf_method cm;
            if (!strncmp(words[q], "model-", 6) && tp_cf_method_parse(words[q], &cm) == TP_OK) {
                cf[cm] = true;
            } else {
                used += (size_t)snprintf(rest + used, cap - used, "%s%s", used ? "," : "", words[q]);
            }
        }
        if (ok && used && tp_attr_methods_parse(rest, &mask) != TP_OK) ok = false;
        cli_free_list(words);
        free(rest);
        if (!ok) return cli_usage_error("attribute", usage, "%s", tp_last_error());
    }
    if ((cf[0] || cf[1]) && !model)
        return cli_usage_error("attribute", usage, "--method model-removal/model-shapley needs --model MODEL");
    if (model && !cf[0] && !cf[1])
        return cli_usage_error("attribute", usage, "--model is only used by model-removal and model-shapley");

    int rc = 1;
    for (int q = 0; q < 2; q++) {
        if (!cf[q]) continue;
        tp_cf_result *r = NULL;
        tp_journeys *jj = NULL;
        if (tp_cf_attribute_job(model, argv[optind], (tp_cf_method)q, &co, out, o.per_touch, &r, &jj) != TP_OK) {
            cli_fail();
            return 1;
        }
        print_cf(r, jj);
        tp_cf_result_free(r);
        tp_journeys_free(jj);
    }
    if (!mask) return 0;
    tp_journeys *j = NULL;
    tp_credit *cs[TP_ATTR_N_METHODS] = {0};
    size_t n = 0;
    double t0 = tp_now();
    if (tp_journeys_read(argv[optind], &j) != TP_OK) goto done;
    tp_log(TP_LOG_INFO, "read %zu journeys, %zu touches, %zu campaigns in %.2f s", j->n,
           j->n_touches, j->n_campaigns, tp_now() - t0);
    for (int m = 0; m < TP_ATTR_N_METHODS; m++) {
        if (!(mask & (1u << m))) continue;
        double t1 = tp_now();
        if (tp_attribute(j, (tp_attr_method)m, &o, &cs[n]) != TP_OK) {
            tp_fail_context(TP_ERR_INTERNAL, "%s attribution", tp_attr_method_name((tp_attr_method)m));
            goto done;
        }
        double t2 = tp_now();
        if (tp_credit_write(cs[n], j, out) != TP_OK) goto done;
        const tp_credit *c = cs[n];
        if (m == TP_ATTR_MARKOV)
            tp_log(TP_LOG_INFO, "markov (order %d): %zu states, P(conversion) %.6g, %.2f s",
                   o.markov_order, c->n_states, c->base_rate, t2 - t1);
        else if (m == TP_ATTR_SHAPLEY)
            tp_log(TP_LOG_INFO, "shapley (%s): v(all) %.6g, %.2f s",
                   c->n_samples ? "sampled" : "exact", c->base_rate, t2 - t1);
        else
            tp_log(TP_LOG_INFO, "%s: %.2f s", tp_attr_method_name(c->method), t2 - t1);
        n++;
    }
    if (n == 1) print_single(cs[0]);
    else if (n > 1) print_wide(cs, n);
    rc = 0;
done:
    if (rc) cli_fail();
    for (size_t q = 0; q < n + 1 && q < TP_ATTR_N_METHODS; q++) tp_credit_free(cs[q]);
    tp_journeys_free(j);
    return rc;
}

/* cmd_propensity.c: `touchpoint propensity train|evaluate|score|lookup` (issue #5 §3, §5): one
 * XGBoost model per product group, champion/challenger evaluation against the registry, the
 * profile table, and a uid lookup in it. A thin layer over tp_ptrain_job_run & co. */
#include "cli.h"

#include "touchpoint/propensity.h"
#include "touchpoint/registry.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

const char cmd_propensity_summary[] = "train, evaluate and score propensity models (one per product group)";

static const char usage[] =
    "usage: touchpoint propensity train --events EVENTS --defs FEATURES.yaml --as-of D1,D2,...\n"
    "                                   (--group G[,G...] | --all-groups) --out MODELDIR\n"
    "                                   [--store STORE] [--items ITEMS] [--horizon DAYS]\n"
    "                                   [--trials N] [--search tpe|random] [--seed S]\n"
    "                                   [--registry REG.sqlite] [--max-rounds N]\n"
    "                                   [--early-stopping N] [--valid-frac F] [--test-frac F]\n"
    "                                   [--no-baseline]\n"
    "       touchpoint propensity train --table FEATURES.parquet --label COL [--group NAME] --out DIR ...\n"
    "       touchpoint propensity evaluate --registry REG.sqlite [--group G[,G...]] [--version V]\n"
    "       touchpoint propensity score --as-of DATE --registry REG.sqlite --events EVENTS\n"
    "                                   --defs FEATURES.yaml --out PROFILE_DIR [--store STORE]\n"
    "                                   [--items ITEMS] [--keep N]\n"
    "       touchpoint propensity lookup --profile PROFILE_DIR --uid UID\n"
    "\n"
    "train     one XGBoost classifier per group (hist, binary:logistic), early stopping and a\n"
    "          search (--trials, default 10, TPE) on validation PR-AUC; splits by user hash and\n"
    "          by time (last as-of date = test, the one before = validation); test metrics beside a\n"
    "          logistic baseline. Writes MODELDIR/<group>/{model.json,meta.json,holdout.parquet}\n"
    "          and registers a version in --registry when given.\n"
    "evaluate  the version (default latest) and the production version of each group on the\n"
    "          version's holdout, recorded in the registry (then `registry promote`).\n"
    "score     every group's production model -> PROFILE_DIR/current/{profile_long,profile_wide}\n"
    "          .parquet + index.bin, committed atomically (LATEST names the snapshot).\n"
    "lookup    the scores of one uid in the latest profile.\n";

static const char *search_name(tp_psearch_kind k) { return k == TP_PSEARCH_TPE ? "tpe" : "random"; }

static void print_group(const tp_ptrain_job_group *g, void *ud) {
    (void)ud;
    printf("%s: test PR-AUC %.4f (baseline %.4f, gain 95%% CI [%+.4f, %+.4f]), ROC-AUC %.4f, valid "
           "PR-AUC %.4f, %zu train / %zu test rows (%zu positive), %.1f s -> %s",
           g->group, g->pr_auc, g->baseline_pr_auc, g->gain_lo, g->gain_hi, g->roc_auc, g->valid_pr_auc, g->n_train,
           g->n_test, g->pos_test, g->seconds, g->dir);
    if (g->version) printf(" (registered v%d)", g->version);
    printf("\n");
    fflush(stdout);
}

static void print_line(const char *line, void *ud) {
    (void)ud;
    printf("%s\n", line);
    fflush(stdout);
}

static int parse_dates(const char *s, int32_t **out, size_t *n) {
    char **list = cli_split_list(s, n);
    *out = NULL;
    if (!list || *n == 0) {
        cli_free_list(list);
        return -1;
    }
    *out = calloc(*n, sizeof **out);
    for (size_t k = 0; k < *n; k++)
        if (tp_date_parse(list[k], &(*out)[k]) != TP_OK) {
            cli_free_list(list);
            free(*out);
            *out = NULL;
            return (int)k + 1;
        }
    cli_free_list(list);
    return 0;
}

int cmd_propensity(int argc, char **argv) {
    enum { O_EVENTS = 256, O_ITEMS, O_DEFS, O_STORE, O_ASOF, O_GROUP, O_ALL, O_HORIZON, O_TRIALS,
           O_SEARCH, O_SEED, O_REG, O_OUT, O_TABLE, O_LABEL, O_ROUNDS, O_ES, O_VF, O_TF, O_NOBASE,
           O_VERSION, O_PROFILE, O_UID, O_KEEP, O_RUNKEY };
    static const struct option longopts[] = {
        {"events", required_argument, 0, O_EVENTS}, {"items", required_argument, 0, O_ITEMS},
        {"defs", required_argument, 0, O_DEFS},     {"store", required_argument, 0, O_STORE},
        {"as-of", required_argument, 0, O_ASOF},    {"group", required_argument, 0, O_GROUP},
        {"all-groups", no_argument, 0, O_ALL},      {"horizon", required_argument, 0, O_HORIZON},
        {"trials", required_argument, 0, O_TRIALS}, {"search", required_argument, 0, O_SEARCH},
        {"seed", required_argument, 0, O_SEED},     {"registry", required_argument, 0, O_REG},
        {"out", required_argument, 0, O_OUT},       {"table", required_argument, 0, O_TABLE},
        {"label", required_argument, 0, O_LABEL},   {"max-rounds", required_argument, 0, O_ROUNDS},
        {"early-stopping", required_argument, 0, O_ES},
        {"valid-frac", required_argument, 0, O_VF}, {"test-frac", required_argument, 0, O_TF},
        {"no-baseline", no_argument, 0, O_NOBASE},  {"version", required_argument, 0, O_VERSION},
        {"profile", required_argument, 0, O_PROFILE}, {"uid", required_argument, 0, O_UID},
        {"keep", required_argument, 0, O_KEEP},     {"run-key", required_argument, 0, O_RUNKEY},
        {"help", no_argument, 0, 'h'},              {0, 0, 0, 0},
    };
    if (argc < 2) return cli_usage_error("propensity", usage, "which action? train, evaluate, score or lookup");
    if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) return cli_help(usage);
    const char *action = argv[1];
    const char *events = NULL, *items = NULL, *defs = NULL, *store = NULL, *as_of_s = NULL,
               *groups_s = NULL, *reg = NULL, *out = NULL, *table = NULL, *label = NULL,
               *profile = NULL, *run_key = NULL;
    bool all = false;
    int64_t horizon = 0, version = 0, uid = 0, keep = 3;
    bool have_uid = false;
    tp_ptrain_opts o;
    tp_ptrain_opts_default(&o);
    int64_t v;
    double d;
    int ch;
    optind = 2;
    while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (ch) {
        case O_EVENTS: events = optarg; break;
        case O_ITEMS: items = optarg; break;
        case O_DEFS: defs = optarg; break;
        case O_STORE: store = optarg; break;
        case O_ASOF: as_of_s = optarg; break;
        case O_GROUP: groups_s = optarg; break;
        case O_ALL: all = true; break;
        case O_REG: reg = optarg; break;
        case O_OUT: out = optarg; break;
        case O_TABLE: table = optarg; break;
        case O_LABEL: label = optarg; break;
        case O_PROFILE: profile = optarg; break;
        case O_RUNKEY: run_key = optarg; break;
        case O_NOBASE: o.baseline = false; break;
        case O_HORIZON:
            if (!cli_parse_i64(optarg, &horizon) || horizon < 1 || horizon > 3650)
                return cli_usage_error("propensity", usage, "--horizon wants days 1..3650, not '%s'", optarg);
            break;
        case O_TRIALS:
            if (!cli_parse_i64(optarg, &v) || v < 1 || v > 500)
                return cli_usage_error("propensity", usage, "--trials wants 1..500, not '%s'", optarg);
            o.trials = (int)v;
            break;
        case O_SEARCH:
            if (!strcmp(optarg, "tpe")) o.search = TP_PSEARCH_TPE;
            else if (!strcmp(optarg, "random")) o.search = TP_PSEARCH_RANDOM;
            else return cli_usage_error("propensity", usage, "--search is tpe or random, not '%s'", optarg);
            break;
        case O_SEED:
            if (!cli_parse_i64(optarg, &v) || v < 0)
                return cli_usage_error("propensity", usage, "--seed wants an integer >= 0, not '%s'", optarg);
            o.seed = (uint64_t)v;
            break;
        case O_ROUNDS:
            if (!cli_parse_i64(optarg, &v) || v < 1 || v > 100000)
                return cli_usage_error("propensity", usage, "--max-rounds wants 1..100000, not '%s'", optarg);
            o.base.max_rounds = (int)v;
            break;
        case O_ES:
            if (!cli_parse_i64(optarg, &v) || v < 0 || v > 100000)
                return cli_usage_error("propensity", usage, "--early-stopping wants 0..100000, not '%s'", optarg);
            o.base.early_stopping = (int)v;
            break;
        case O_VF:
        case O_TF:
            if (!cli_parse_f64(optarg, &d) || !(d > 0 && d < 1))
                return cli_usage_error("propensity", usage, "%s wants a fraction in (0, 1), not '%s'",
                                       ch == O_VF ? "--valid-frac" : "--test-frac", optarg);
            if (ch == O_VF) o.valid_frac = d;
            else o.test_frac = d;
            break;
        case O_VERSION:
            if (!cli_parse_i64(optarg, &version) || version < 1 || version > 1000000000)
                return cli_usage_error("propensity", usage, "--version wants a number >= 1, not '%s'", optarg);
            break;
        case O_UID:
            if (!cli_parse_i64(optarg, &uid))
                return cli_usage_error("propensity", usage, "--uid wants an integer, not '%s'", optarg);
            have_uid = true;
            break;
        case O_KEEP:
            if (!cli_parse_i64(optarg, &keep) || keep < 1 || keep > 1000)
                return cli_usage_error("propensity", usage, "--keep wants 1..1000, not '%s'", optarg);
            break;
        case 'h': return cli_help(usage);
        default: return cli_usage_error("propensity", usage, "unknown option");
        }
    }
    if (optind < argc) return cli_usage_error("propensity", usage, "unexpected argument '%s'", argv[optind]);
    int code = 0;
    int32_t *dates = NULL;
    size_t n_dates = 0, n_groups = 0;
    char **groups = groups_s ? cli_split_list(groups_s, &n_groups) : NULL;

    if (!strcmp(action, "train")) {
        if (!out) {
            code = cli_usage_error("propensity", usage, "train needs --out");
            goto done;
        }
        if (table) {
            if (!label || events) {
                code = cli_usage_error("propensity", usage, "--table needs --label (and no --events)");
                goto done;
            }
        } else {
            if (!events || !defs || !as_of_s) {
                code = cli_usage_error("propensity", usage, "train needs --events, --defs and --as-of (or --table)");
                goto done;
            }
            if (!all && !groups) {
                code = cli_usage_error("propensity", usage, "train needs --group G or --all-groups");
                goto done;
            }
            if (all && groups) {
                code = cli_usage_error("propensity", usage, "--group and --all-groups exclude each other");
                goto done;
            }
            int bad = parse_dates(as_of_s, &dates, &n_dates);
            if (bad) {
                code = cli_usage_error("propensity", usage, "--as-of wants YYYY-MM-DD[,...], not '%s'", as_of_s);
                goto done;
            }
        }
        o.n_threads = tp_threads_default();
        tp_ptrain_job job = {.events = events, .items = items, .defs = defs, .store = store,
                             .as_of = dates, .n_as_of = n_dates, .table = table, .label = label,
                             .groups = (const char *const *)groups, .n_groups = n_groups,
                             .horizon_days = (int)horizon, .opts = o, .out_dir = out,
                             .registry = reg, .run_key = run_key};
        if (!cli_quiet)
            fprintf(stderr, "training: %d trial(s), %s search, seed %llu, %d thread(s)\n", o.trials,
                    search_name(o.search), (unsigned long long)o.seed, o.n_threads);
        if (tp_ptrain_job_run(&job, print_group, NULL) != TP_OK) code = cli_fail();
    } else if (!strcmp(action, "evaluate")) {
        if (!reg) {
            code = cli_usage_error("propensity", usage, "evaluate needs --registry");
            goto done;
        }
        if (tp_pevaluate_job_run(reg, (const char *const *)groups, n_groups, (int)version,
                                 tp_threads_default(), print_line, NULL) != TP_OK)
            code = cli_fail();
    } else if (!strcmp(action, "score")) {
        if (!as_of_s || !reg || !events || !defs || !out) {
            code = cli_usage_error("propensity", usage, "score needs --as-of, --registry, --events, --defs and --out");
            goto done;
        }
        int32_t day;
        if (tp_date_parse(as_of_s, &day) != TP_OK) {
            code = cli_usage_error("propensity", usage, "--as-of wants YYYY-MM-DD, not '%s'", as_of_s);
            goto done;
        }
        tp_pscore_job job = {.events = events, .items = items, .defs = defs, .store = store,
                             .registry = reg, .out_dir = out, .as_of = day,
                             .n_threads = tp_threads_default()};
        tp_profile_opts_default(&job.profile);
        job.profile.keep = (int)keep;
        tp_profile_result res;
        if (tp_pscore_job_run(&job, &res) != TP_OK) code = cli_fail();
        else
            printf("profile: %zu users x %zu groups at %s in %.1f s -> %s (current: %s/current)\n",
                   res.users, res.groups, as_of_s, res.seconds, res.path, out);
    } else if (!strcmp(action, "lookup")) {
        if (!profile || !have_uid) {
            code = cli_usage_error("propensity", usage, "lookup needs --profile and --uid");
            goto done;
        }
        tp_profile *p = NULL;
        if (tp_profile_open(profile, &p) != TP_OK) {
            code = cli_fail();
            goto done;
        }
        size_t G = tp_profile_n_groups(p);
        double *s = calloc(G ? G : 1, sizeof *s);
        if (tp_profile_lookup(p, uid, s) != TP_OK) code = cli_fail();
        else {
            char date[16];
            printf("uid\tgroup\tscore\tmodel_version\tas_of\n");
            for (size_t g = 0; g < G; g++)
                printf("%lld\t%s\t%.6g\t%d\t%s\n", (long long)uid, tp_profile_group(p, g), s[g],
                       tp_profile_model_version(p, g), tp_date_format(tp_profile_as_of(p), date));
        }
        free(s);
        tp_profile_close(p);
    } else {
        code = cli_usage_error("propensity", usage, "unknown action '%s'", action);
    }
done:
    free(dates);
    cli_free_list(groups);
    return code;
}

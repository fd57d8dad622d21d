/* cmd_features.c: `touchpoint features`, point-in-time propensity features at one as-of date
 * (issue #5 §1), written as one Parquet file per level or materialised into a feature store. */
#include "cli.h"

#include "touchpoint/features.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

static double cpu_seconds(void) { /* the process's CPU time, all threads */
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

const char cmd_features_summary[] = "compute point-in-time propensity features from an event log";

static const char usage[] =
    "usage: touchpoint features --events EVENTS --defs FEATURES.yaml --as-of YYYY-MM-DD\n"
    "                           (--out DIR | --store STORE) [--items ITEMS]\n"
    "\n"
    "Computes every feature of the definitions at the as-of date from events strictly before\n"
    "that date (00:00 UTC). Reference: docs/propensity_features.md.\n"
    "\n"
    "options:\n"
    "  --events PATH     events (Parquet/CSV/folder): uid, timestamp, event_type, item, group, [amount]\n"
    "  --items PATH      items table (item, group) for events without a group\n"
    "  --defs FILE       feature definitions (YAML)\n"
    "  --as-of DATE      as-of date; several dates may be given comma-separated\n"
    "  --out DIR         write DIR/user.parquet, DIR/group.parquet, DIR/user_group.parquet\n"
    "                    (with several dates: DIR/as_of=<date>/...)\n"
    "  --store STORE     materialise into a feature store instead (see `touchpoint featurestore`)\n"
    "  -h, --help        this help\n";

int cmd_features(int argc, char **argv) {
    static const struct option longopts[] = {
        {"events", required_argument, 0, 'e'}, {"items", required_argument, 0, 'i'},
        {"defs", required_argument, 0, 'd'},   {"as-of", required_argument, 0, 'a'},
        {"out", required_argument, 0, 'o'},    {"store", required_argument, 0, 's'},
        {"help", no_argument, 0, 'h'},         {0, 0, 0, 0},
    };
    const char *events = NULL, *items = NULL, *defs_path = NULL, *as_of_s = NULL, *out = NULL,
               *store = NULL;
    int ch;
    while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (ch) {
        case 'e': events = optarg; break;
        case 'i': items = optarg; break;
        case 'd': defs_path = optarg; break;
        case 'a': as_of_s = optarg; break;
        case 'o': out = optarg; break;
        case 's': store = optarg; break;
        case 'h': return cli_help(usage);
        default: return cli_usage_error("features", usage, "unknown option");
        }
    }
    if (optind < argc) return cli_usage_error("features", usage, "unexpected argument '%s'", argv[optind]);
    if (!events || !defs_path || !as_of_s)
        return cli_usage_error("features", usage, "--events, --defs and --as-of are required");
    if (!out == !store) return cli_usage_error("features", usage, "give one of --out or --store");
    size_t n_dates = 0;
    char **dates = cli_split_list(as_of_s, &n_dates);
    int32_t *days = calloc(n_dates ? n_dates : 1, sizeof *days);
    tp_feature_defs *defs = NULL;
    tp_events *ev = NULL;
    tp_feature_set *fs = NULL;
    int code = 0;
    if (!dates || !days || !n_dates) {
        code = cli_usage_error("features", usage, "--as-of wants YYYY-MM-DD[,YYYY-MM-DD...]");
        goto done;
    }
    for (size_t i = 0; i < n_dates; i++)
        if (tp_date_parse(dates[i], &days[i]) != TP_OK) {
            code = cli_usage_error("features", usage, "%s", tp_last_error());
            goto done;
        }
    if (tp_feature_defs_load(defs_path, &defs) != TP_OK) goto fail;
    double t0 = tp_now(), c0 = cpu_seconds();
    if (tp_events_load(events, items, &ev) != TP_OK) goto fail;
    double t_load = tp_now() - t0;
    if (!cli_quiet)
        fprintf(stderr, "loaded %zu events, %zu users, %zu groups in %.2f s (cpu %.2f s)\n",
                tp_events_n_events(ev), tp_events_n_users(ev), tp_events_n_groups(ev), t_load,
                cpu_seconds() - c0);
    for (size_t k = 0; k < n_dates; k++) {
        if (store) {
            tp_featurestore_result res;
            if (tp_featurestore_materialize(store, ev, defs, days[k], 0, &res) != TP_OK) goto fail;
            printf("%s: definitions %s, version %d%s: user %lld rows, group %lld, user_group %lld, %.3f s\n",
                   dates[k], res.hash, res.version, res.noop ? " (already materialised, nothing done)" : "",
                   (long long)res.rows[0], (long long)res.rows[1], (long long)res.rows[2], res.seconds);
        } else {
            double c1 = cpu_seconds();
            if (tp_features_compute(ev, defs, days[k], 0, &fs) != TP_OK) goto fail;
            if (!cli_quiet)
                fprintf(stderr, "computed features at %s in %.3f s (cpu %.3f s)\n", dates[k], fs->seconds,
                        cpu_seconds() - c1);
            char dir[4096];
            if (n_dates == 1)
                snprintf(dir, sizeof dir, "%s", out);
            else
                snprintf(dir, sizeof dir, "%s/as_of=%s", out, dates[k]);
            if (tp_feature_set_write(fs, dir) != TP_OK) goto fail;
            printf("%s: user %zu rows x %zu features, group %zu x %zu, user_group %zu x %zu, %.3f s -> %s\n",
                   dates[k], tp_frame_n_rows(fs->level[0]), tp_feature_defs_n(defs, TP_LEVEL_USER),
                   tp_frame_n_rows(fs->level[1]), tp_feature_defs_n(defs, TP_LEVEL_GROUP),
                   tp_frame_n_rows(fs->level[2]), tp_feature_defs_n(defs, TP_LEVEL_USER_GROUP),
                   fs->seconds, dir);
            tp_feature_set_free(fs);
            fs = NULL;
        }
    }
    goto done;
fail:
    code = cli_fail();
done:
    tp_feature_set_free(fs);
    tp_events_free(ev);
    tp_feature_defs_free(defs);
    cli_free_list(dates);
    free(days);
    return code;
}

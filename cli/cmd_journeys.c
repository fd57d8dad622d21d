/* cmd_journeys.c: `touchpoint journeys IMPRESSIONS --out DIR`: job 1 of the attribution
 * pipeline (impressions -> conversion journeys, split by user), a thin layer over
 * tp_journeys_write; prints the summary that stats.json also holds. */
#include "cli.h"
#include "touchpoint/journey_build.h"

#include <stdlib.h>
#include <string.h>

const char cmd_journeys_summary[] = "build conversion journeys from impressions (attribution job 1)";

static const char usage[] =
    "usage: touchpoint journeys IMPRESSIONS --out DIR [options]\n"
    "\n"
    "IMPRESSIONS is a Parquet/CSV file or folder with columns (found by name) uid, timestamp,\n"
    "campaign (string or integer), conversion; optional conversion_id (journeys are then\n"
    "(uid, conversion_id) groups, 0/null = none), conversion_value; cost is ignored; any other\n"
    "column is a user feature passed through from each journey's last touch.\n"
    "A row with a null campaign is an event, not a touch: the advertiser's own conversion (with\n"
    "conversion true it ends the journey, which may then have no touch at all) or an\n"
    "observation (false: the user was seen; a trailing one makes an empty non-converting journey).\n"
    "Writes DIR/train.parquet, DIR/val.parquet, DIR/test.parquet (or DIR/all.parquet with\n"
    "--split 1), DIR/mapper.json and DIR/stats.json.\n"
    "\n"
    "options:\n"
    "  --out DIR            output folder (created)\n"
    "  --max-len L          keep the LAST L touches of each journey (default 10); the label and\n"
    "                       journey_length are computed before the cut\n"
    "  --split A,B,C | 1    train/val/test fractions by user (default 0.8,0.1,0.1)\n"
    "  --seed S             seed of the user split (default 42)\n"
    "  --lookback DAYS      drop touches more than DAYS before the journey's end (default: keep all)\n"
    "  --dedupe             drop repeated identical impressions (default: every row counts)\n"
    "  --history-features   add per-journey columns known before the journey starts (control\n"
    "                       variables): hist_prev_conversions, hist_prev_journeys,\n"
    "                       hist_prev_mean_length, hist_days_since_first_seen, hist_activity_rate\n"
    "  --per-event          one unit per event row (e.g. each site visit of simulate --visit-events)\n"
    "                       instead of one per journey: the touches since the user's last\n"
    "                       conversion before the event, labelled with its conversion flag\n"
    "  --memory SIZE        memory budget, e.g. 4G; larger data goes through bucket files in a\n"
    "                       temporary folder inside DIR (default: no limit)\n"
    "  --help               this text\n";

int cmd_journeys(int argc, char **argv) {
    static const struct option longopts[] = {
        {"out", required_argument, NULL, 'o'},      {"max-len", required_argument, NULL, 'L'},
        {"split", required_argument, NULL, 's'},    {"seed", required_argument, NULL, 'S'},
        {"lookback", required_argument, NULL, 'b'}, {"dedupe", no_argument, NULL, 'd'},
        {"history-features", no_argument, NULL, 'y'}, {"per-event", no_argument, NULL, 'E'},
        {"memory", required_argument, NULL, 'm'},   {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    tp_journeys_build_opts o;
    tp_journeys_build_opts_default(&o);
    const char *out = NULL;
    int64_t v;
    double d;
    int c;
    optind = 1;
    bool history = false;
    while ((c = getopt_long(argc, argv, "o:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'o': out = optarg; break;
        case 'L':
            if (!cli_parse_i64(optarg, &v) || v < 1 || v > 100000)
                return cli_usage_error("journeys", usage, "--max-len wants a number from 1 to 100000, not '%s'", optarg);
            o.max_len = (size_t)v;
            break;
        case 's': {
            size_t n = 0;
            char **parts = cli_split_list(optarg, &n);
            bool ok = parts && (n == 1 || n == 3);
            double f[3] = {0, 0, 0};
            for (size_t i = 0; ok && i < n; i++) ok = cli_parse_f64(parts[i], &f[i]) && f[i] >= 0;
            cli_free_list(parts);
            if (ok && n == 1) ok = f[0] == 1.0;
            if (ok && n == 3) ok = f[0] + f[1] + f[2] > 0.999 && f[0] + f[1] + f[2] < 1.001;
            if (!ok)
                return cli_usage_error("journeys", usage,
                                       "--split wants 1 or three fractions summing to 1 (e.g. 0.8,0.1,0.1), not '%s'", optarg);
            o.n_split = n;
            memcpy(o.split, f, sizeof f);
            break;
        }
        case 'S':
            if (!cli_parse_i64(optarg, &v)) return cli_usage_error("journeys", usage, "--seed wants an integer, not '%s'", optarg);
            o.seed = (uint64_t)v;
            break;
        case 'b':
            if (!cli_parse_f64(optarg, &d) || !(d > 0) || d > 1e6)
                return cli_usage_error("journeys", usage, "--lookback wants a positive number of days, not '%s'", optarg);
            o.lookback_seconds = (int64_t)(d * 86400.0 + 0.5);
            break;
        case 'd': o.dedupe = true; break;
        case 'y': history = true; break;
        case 'E': o.per_event = true; break;
        case 'm':
            if (!cli_parse_bytes(optarg, &o.memory_bytes) || o.memory_bytes < (1u << 20))
                return cli_usage_error("journeys", usage, "--memory wants a size of at least 1M (e.g. 4G), not '%s'", optarg);
            break;
        case 'h': return cli_help(usage);
        default: return cli_usage_error("journeys", usage, "unknown option");
        }
    }
    if (optind + 1 != argc)
        return cli_usage_error("journeys", usage, "expected one IMPRESSIONS path, got %d", argc - optind);
    if (!out) return cli_usage_error("journeys", usage, "--out DIR is required");
    tp_journeys_stats st;
    double t0 = tp_now();
    if (history && o.per_event)
        return cli_usage_error("journeys", usage, "--history-features cannot be combined with --per-event");
    if (history && (o.dedupe || o.lookback_seconds))
        return cli_usage_error("journeys", usage, "--history-features cannot be combined with --dedupe or --lookback");
    if (tp_journeys_write(argv[optind], out, &o, &st) != TP_OK) return cli_fail();
    if (history && tp_journeys_add_history(argv[optind], out) != TP_OK) return cli_fail();
    double secs = tp_now() - t0;
    if (!cli_quiet) {
        printf("impressions   %llu (%llu users)\n", (unsigned long long)st.impressions,
               (unsigned long long)st.users);
        if (o.dedupe) printf("duplicates    %llu dropped\n", (unsigned long long)st.duplicates);
        if (st.events)
            printf("events        %llu rows without a campaign; %llu journeys without a touch\n",
                   (unsigned long long)st.events, (unsigned long long)st.empty);
        if (o.lookback_seconds) printf("lookback      %llu touches dropped\n", (unsigned long long)st.lookback_dropped);
        printf("journeys      %llu, %llu converting (rate %.4f)\n", (unsigned long long)st.journeys,
               (unsigned long long)st.conversions,
               st.journeys ? (double)st.conversions / (double)st.journeys : 0.0);
        printf("campaigns     %zu\n", st.n_campaigns);
        printf("max length    %zu: %llu journeys cut (%.2f%%); L keeping 80%% whole: %zu, 95%%: %zu\n",
               st.max_len, (unsigned long long)st.cut,
               st.journeys ? 100.0 * (double)st.cut / (double)st.journeys : 0.0, st.len_p80, st.len_p95);
        if (o.n_split == 3)
            printf("splits        train %llu, val %llu, test %llu journeys\n",
                   (unsigned long long)st.per_split[0], (unsigned long long)st.per_split[1],
                   (unsigned long long)st.per_split[2]);
        if (st.buckets) printf("buckets       %zu (out of core)\n", st.buckets);
        printf("wrote         %s/ in %.2f s\n", out, secs);
    }
    tp_journeys_stats_clear(&st);
    return 0;
}

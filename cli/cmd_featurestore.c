/* cmd_featurestore.c: `touchpoint featurestore materialize|list|show|get`, the feature store of
 * issue #5 §2: Parquet snapshots by level, as-of date and version, catalogued in SQLite. */
#include "cli.h"

#include "touchpoint/features.h"

#include <stdlib.h>
#include <string.h>

const char cmd_featurestore_summary[] = "materialise and inspect feature snapshots (feature store)";

static const char usage[] =
    "usage: touchpoint featurestore materialize --store STORE --events EVENTS --defs FEATURES.yaml\n"
    "                                          --as-of DATE[,DATE...] [--items ITEMS]\n"
    "       touchpoint featurestore list --store STORE\n"
    "       touchpoint featurestore show --store STORE --hash HASH\n"
    "       touchpoint featurestore get --store STORE --as-of DATE --level user|group|user_group\n"
    "                                   [--uid N] [--group G] [--version V]\n"
    "\n"
    "materialize  compute and register snapshots; the same definitions at the same date are a\n"
    "             no-op, changed definitions become the next version (nothing is overwritten)\n"
    "list         the catalogue: level, as_of, version, definitions hash, rows, features, seconds\n"
    "show         the canonical definitions stored for a hash\n"
    "get          the features of one uid / (uid, group) / group (latest version by default)\n";

int cmd_featurestore(int argc, char **argv) {
    static const struct option longopts[] = {
        {"store", required_argument, 0, 's'},  {"events", required_argument, 0, 'e'},
        {"items", required_argument, 0, 'i'},  {"defs", required_argument, 0, 'd'},
        {"as-of", required_argument, 0, 'a'},  {"hash", required_argument, 0, 'H'},
        {"level", required_argument, 0, 'l'},  {"uid", required_argument, 0, 'u'},
        {"group", required_argument, 0, 'g'},  {"version", required_argument, 0, 'v'},
        {"help", no_argument, 0, 'h'},         {0, 0, 0, 0},
    };
    if (argc < 2) return cli_usage_error("featurestore", usage, "which action? materialize, list, show or get");
    if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) return cli_help(usage);
    const char *action = argv[1];
    const char *store = NULL, *events = NULL, *items = NULL, *defs_path = NULL, *as_of_s = NULL,
               *hash = NULL, *level_s = NULL, *group = NULL;
    int64_t uid = 0, version = 0;
    bool have_uid = false;
    int ch;
    optind = 2;
    while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (ch) {
        case 's': store = optarg; break;
        case 'e': events = optarg; break;
        case 'i': items = optarg; break;
        case 'd': defs_path = optarg; break;
        case 'a': as_of_s = optarg; break;
        case 'H': hash = optarg; break;
        case 'l': level_s = optarg; break;
        case 'g': group = optarg; break;
        case 'u':
            if (!cli_parse_i64(optarg, &uid))
                return cli_usage_error("featurestore", usage, "--uid wants an integer, not '%s'", optarg);
            have_uid = true;
            break;
        case 'v':
            if (!cli_parse_i64(optarg, &version) || version < 0 || version > 1000000)
                return cli_usage_error("featurestore", usage, "--version wants a number, not '%s'", optarg);
            break;
        case 'h': return cli_help(usage);
        default: return cli_usage_error("featurestore", usage, "unknown option");
        }
    }
    if (optind < argc) return cli_usage_error("featurestore", usage, "unexpected argument '%s'", argv[optind]);
    if (!store) return cli_usage_error("featurestore", usage, "--store is required");
    int code = 0;
    tp_frame *f = NULL;
    tp_feature_defs *defs = NULL;
    tp_events *ev = NULL;
    char **dates = NULL;
    if (!strcmp(action, "materialize")) {
        if (!events || !defs_path || !as_of_s)
            return cli_usage_error("featurestore", usage, "materialize needs --events, --defs and --as-of");
        size_t nd = 0;
        dates = cli_split_list(as_of_s, &nd);
        int32_t day;
        for (size_t k = 0; dates && k < nd; k++)
            if (tp_date_parse(dates[k], &day) != TP_OK) {
                code = cli_usage_error("featurestore", usage, "%s", tp_last_error());
                goto done;
            }
        if (tp_feature_defs_load(defs_path, &defs) != TP_OK || tp_events_load(events, items, &ev) != TP_OK)
            goto fail;
        for (size_t k = 0; dates && k < nd; k++) {
            tp_date_parse(dates[k], &day);
            tp_featurestore_result res;
            if (tp_featurestore_materialize(store, ev, defs, day, 0, &res) != TP_OK) goto fail;
            printf("%s: definitions %s, version %d%s: user %lld rows, group %lld, user_group %lld, %.3f s\n",
                   dates[k], res.hash, res.version, res.noop ? " (already materialised, nothing done)" : "",
                   (long long)res.rows[0], (long long)res.rows[1], (long long)res.rows[2], res.seconds);
        }
    } else if (!strcmp(action, "list")) {
        if (tp_featurestore_list(store, &f) != TP_OK) goto fail;
        if (tp_csv_write_rows(f, 0, tp_frame_n_rows(f), '\t', true, stdout) != TP_OK) goto fail;
    } else if (!strcmp(action, "show")) {
        if (!hash) return cli_usage_error("featurestore", usage, "show needs --hash");
        char *text = NULL;
        if (tp_featurestore_defs_text(store, hash, &text) != TP_OK) goto fail;
        fputs(text, stdout);
        tp_free(text);
    } else if (!strcmp(action, "get")) {
        int32_t day;
        if (!as_of_s || !level_s) return cli_usage_error("featurestore", usage, "get needs --as-of and --level");
        if (tp_date_parse(as_of_s, &day) != TP_OK)
            return cli_usage_error("featurestore", usage, "%s", tp_last_error());
        int level = -1;
        for (int l = 0; l < TP_N_LEVELS; l++)
            if (!strcmp(level_s, tp_feature_level_name((tp_feature_level)l))) level = l;
        if (level < 0) return cli_usage_error("featurestore", usage, "--level wants user, group or user_group");
        if (level != TP_LEVEL_GROUP && !have_uid) return cli_usage_error("featurestore", usage, "--uid is required");
        if (level != TP_LEVEL_USER && !group) return cli_usage_error("featurestore", usage, "--group is required");
        if (tp_featurestore_get(store, (tp_feature_level)level, day, (int)version, uid, group, &f) != TP_OK)
            goto fail;
        // one feature per line: name<TAB>value
        for (size_t c = 0; c < tp_frame_n_cols(f); c++) {
            tp_column *col = tp_frame_col(f, c);
            char buf[64];
            const char *s = NULL;
            size_t sl = 0, n = tp_column_format(col, 0, buf, &s, &sl);
            printf("%s\t%.*s\n", tp_column_name(col), (int)(s ? sl : n), s ? s : buf);
        }
    } else {
        return cli_usage_error("featurestore", usage, "unknown action '%s'", action);
    }
    goto done;
fail:
    code = cli_fail();
done:
    tp_frame_free(f);
    tp_feature_defs_free(defs);
    tp_events_free(ev);
    cli_free_list(dates);
    return code;
}

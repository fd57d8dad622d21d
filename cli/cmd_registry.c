/* cmd_registry.c: `touchpoint registry list|show|promote|archive` over the SQLite model registry
 * (issue #5 §4): versions and stages, champion/challenger promotion with a margin, archiving;
 * every transition is recorded with its reason. */
#include "cli.h"

#include "touchpoint/registry.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

const char cmd_registry_summary[] = "list, show, promote and archive model versions";

static const char usage[] =
    "usage: touchpoint registry list --registry REG.sqlite\n"
    "       touchpoint registry show --registry REG.sqlite --model G [--version V]\n"
    "       touchpoint registry promote --registry REG.sqlite --model G[,G...]|--all [--version V]\n"
    "                                   [--margin M] [--force] [--reason TEXT]\n"
    "       touchpoint registry archive --registry REG.sqlite --model G --version V [--reason TEXT]\n"
    "\n"
    "list     every version: model, version, stage, test PR-AUC, definitions hash, created\n"
    "show     one version (default latest) as JSON: params, metrics, window, evaluations,\n"
    "         transitions\n"
    "promote  champion/challenger: the version (default latest) becomes production if it beats\n"
    "         the production version's PR-AUC on the version's holdout by more than --margin\n"
    "         (default 0; run `propensity evaluate` first), or with --force; the old production\n"
    "         version is archived. A refusal is reported and logged, exit 0.\n"
    "archive  move a version to the archived stage\n";

int cmd_registry(int argc, char **argv) {
    enum { O_REG = 256, O_MODEL, O_VERSION, O_MARGIN, O_FORCE, O_REASON, O_ALL };
    static const struct option longopts[] = {
        {"registry", required_argument, 0, O_REG}, {"model", required_argument, 0, O_MODEL},
        {"version", required_argument, 0, O_VERSION}, {"margin", required_argument, 0, O_MARGIN},
        {"force", no_argument, 0, O_FORCE},        {"reason", required_argument, 0, O_REASON},
        {"all", no_argument, 0, O_ALL},            {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    if (argc < 2) return cli_usage_error("registry", usage, "which action? list, show, promote or archive");
    if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) return cli_help(usage);
    const char *action = argv[1], *path = NULL, *model = NULL, *reason = NULL;
    int64_t version = 0;
    double margin = 0;
    bool force = false, all = false;
    int ch;
    optind = 2;
    while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (ch) {
        case O_REG: path = optarg; break;
        case O_MODEL: model = optarg; break;
        case O_REASON: reason = optarg; break;
        case O_FORCE: force = true; break;
        case O_ALL: all = true; break;
        case O_VERSION:
            if (!cli_parse_i64(optarg, &version) || version < 1 || version > 1000000000)
                return cli_usage_error("registry", usage, "--version wants a number >= 1, not '%s'", optarg);
            break;
        case O_MARGIN:
            if (!cli_parse_f64(optarg, &margin) || !(margin >= 0 && margin < 1))
                return cli_usage_error("registry", usage, "--margin wants a number in [0, 1), not '%s'", optarg);
            break;
        case 'h': return cli_help(usage);
        default: return cli_usage_error("registry", usage, "unknown option");
        }
    }
    if (optind < argc) return cli_usage_error("registry", usage, "unexpected argument '%s'", argv[optind]);
    if (!path) return cli_usage_error("registry", usage, "--registry is required");
    bool known = !strcmp(action, "list") || !strcmp(action, "show") || !strcmp(action, "promote") ||
                 !strcmp(action, "archive");
    if (!known) return cli_usage_error("registry", usage, "unknown action '%s'", action);
    if (strcmp(action, "list") && !model && !(all && !strcmp(action, "promote")))
        return cli_usage_error("registry", usage, "%s needs --model", action);
    if (!strcmp(action, "archive") && !version)
        return cli_usage_error("registry", usage, "archive needs --version");
    tp_registry *r = NULL;
    if (tp_registry_open(path, &r) != TP_OK) return cli_fail();
    int code = 0;
    if (!strcmp(action, "list")) {
        tp_frame *f = NULL;
        if (tp_registry_list(r, &f) != TP_OK) code = cli_fail();
        else {
            printf("model\tversion\tstage\tpr_auc\tdefs_hash\tcreated\n");
            for (size_t i = 0; i < tp_frame_n_rows(f); i++) {
                size_t l;
                tp_column *pr = tp_frame_col(f, 3);
                printf("%s\t%d\t%s\t", tp_column_get_str(tp_frame_col(f, 0), i, &l),
                       (int)tp_column_get_i64(tp_frame_col(f, 1), i),
                       tp_column_get_str(tp_frame_col(f, 2), i, &l));
                if (tp_column_is_null(pr, i)) printf("-");
                else printf("%.4f", tp_column_get_f64(pr, i));
                printf("\t%s\t%s\n", tp_column_get_str(tp_frame_col(f, 4), i, &l),
                       tp_column_get_str(tp_frame_col(f, 5), i, &l));
            }
        }
        tp_frame_free(f);
    } else if (!strcmp(action, "show")) {
        char *json = NULL;
        if (tp_registry_show(r, model, (int)version, &json) != TP_OK) code = cli_fail();
        else printf("%s\n", json);
        tp_free(json);
    } else if (!strcmp(action, "promote")) {
        size_t n = 0;
        char **names = NULL;
        if (all) {
            if (tp_registry_models(r, &names, &n) != TP_OK) code = cli_fail();
        }
        char **list = all ? names : cli_split_list(model, &n);
        for (size_t k = 0; code == 0 && k < n; k++) {
            tp_promotion p;
            if (tp_registry_promote(r, list[k], (int)version, margin, force, reason, &p) != TP_OK) {
                code = cli_fail();
                break;
            }
            tp_registry_version v;
            int ver = (int)version;
            if (!ver && tp_registry_get(r, list[k], 0, &v) == TP_OK) ver = v.version;
            if (p.promoted)
                printf("%s: v%d is production (%s)\n", list[k], ver, p.reason);
            else
                printf("%s: v%d not promoted, production stays v%d (%s)\n", list[k], ver, p.previous,
                       p.reason);
        }
        if (all) tp_registry_free_names(names, n);
        else cli_free_list(list);
    } else {
        if (tp_registry_archive(r, model, (int)version, reason) != TP_OK) code = cli_fail();
        else printf("%s: v%d archived\n", model, (int)version);
    }
    tp_registry_close(r);
    return code;
}

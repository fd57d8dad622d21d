/* cmd_evaluate.c: `touchpoint evaluate --truth truth.json CREDIT...`: compares credit tables
 * (DIR/<method>.parquet from `touchpoint attribute`, or a folder of them) with the simulator's
 * ground truth: total variation distance, Spearman rank correlation, worst-credited campaign. */
#include "cli.h"

#include <dirent.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

const char cmd_evaluate_summary[] = "score credit tables against a simulator truth file";

static const char usage[] =
    "usage: touchpoint evaluate --truth TRUTH.json CREDIT... [--out EVAL.json]\n"
    "  CREDIT          a credit table (DIR/<method>.parquet) or a folder of them\n"
    "                  (per-touch tables *_touches.* are skipped); the method is the file name\n"
    "  --truth FILE    truth file from `touchpoint simulate --truth`\n"
    "  --out FILE      also write the results as JSON\n"
    "  -h, --help      this help\n";

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

// Append path, or the credit tables inside the folder path (sorted), to *list.
static bool expand(const char *path, char ***list, size_t *n, size_t *cap) {
    struct stat st;
    char **found = NULL;
    size_t nf = 0, cf = 0;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
        DIR *d = opendir(path);
        if (!d) return false;
        struct dirent *e;
        while ((e = readdir(d))) {
            const char *nm = e->d_name;
            size_t len = strlen(nm);
            if (nm[0] == '.' || nm[0] == '_' || len < 9 || strcmp(nm + len - 8, ".parquet") != 0) continue;
            if (len >= 16 && strcmp(nm + len - 16, "_touches.parquet") == 0) continue;
            if (nf == cf) {
                cf = cf ? 2 * cf : 8;
                char **p = realloc(found, cf * sizeof *p);
                if (!p) break;
                found = p;
            }
            size_t plen = strlen(path) + len + 2;
            found[nf] = malloc(plen);
            if (!found[nf]) break;
            snprintf(found[nf++], plen, "%s/%s", path, nm);
        }
        closedir(d);
        qsort(found, nf, sizeof *found, cmp_str);
    } else {
        found = malloc(sizeof *found);
        if (!found || !(found[0] = strdup(path))) {
            free(found);
            return false;
        }
        nf = 1;
    }
    for (size_t q = 0; q < nf; q++) {
        if (*n == *cap) {
            *cap = *cap ? 2 * *cap : 8;
            char **p = realloc(*list, *cap * sizeof *p);
            if (!p) return false;
            *list = p;
        }
        (*list)[(*n)++] = found[q];
    }
    free(found);
    return true;
}

int cmd_evaluate(int argc, char **argv) {
    static const struct option longopts[] = {
        {"truth", required_argument, NULL, 't'},
        {"out", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *truth_path = NULL, *out = NULL;
    int opt;
    while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (opt) {
        case 't': truth_path = optarg; break;
        case 'o': out = optarg; break;
        case 'h': return cli_help(usage);
        default: return cli_usage_error("evaluate", usage, "bad option");
        }
    }
    if (!truth_path) return cli_usage_error("evaluate", usage, "--truth FILE is required");
    if (optind >= argc) return cli_usage_error("evaluate", usage, "give at least one credit table");

    int rc = 1;
    char **files = NULL;
    size_t nfiles = 0, cap = 0, nev = 0;
    tp_eval *ev = NULL;
    tp_truth *truth = NULL;
    for (int a = optind; a < argc; a++) {
        if (!expand(argv[a], &files, &nfiles, &cap)) {
            cli_errorf("cannot list '%s'", argv[a]);
            goto done;
        }
    }
    if (nfiles == 0) {
        cli_errorf("no credit tables (*.parquet) found in the given folders");
        goto done;
    }
    if (tp_truth_read(truth_path, &truth) != TP_OK) {
        cli_fail();
        goto done;
    }
    ev = calloc(nfiles, sizeof *ev);
    if (!ev) {
        cli_errorf("out of memory");
        goto done;
    }
    for (; nev < nfiles; nev++) {
        if (tp_eval_credit_file(files[nev], truth, &ev[nev]) != TP_OK) {
            cli_fail();
            goto done;
        }
    }
    size_t w = 6, wc = 14;
    for (size_t q = 0; q < nev; q++) {
        if (strlen(ev[q].method) > w) w = strlen(ev[q].method);
        if (strlen(ev[q].worst_campaign) > wc) wc = strlen(ev[q].worst_campaign);
    }
    printf("%-*s %8s %9s  %-*s %8s %10s\n", (int)w, "method", "tvd", "spearman", (int)wc,
           "worst_campaign", "share", "true_share");
    for (size_t q = 0; q < nev; q++) {
        char sp[32];
        if (isnan(ev[q].spearman)) snprintf(sp, sizeof sp, "n/a");
        else snprintf(sp, sizeof sp, "%.4f", ev[q].spearman);
        printf("%-*s %8.4f %9s  %-*s %8.4f %10.4f\n", (int)w, ev[q].method, ev[q].tvd, sp,
               (int)wc, ev[q].worst_campaign, ev[q].worst_share, ev[q].worst_true_share);
    }
    if (out && tp_eval_write_json(ev, nev, truth_path, out) != TP_OK) {
        cli_fail();
        goto done;
    }
    rc = 0;
done:
    for (size_t q = 0; q < nev; q++) tp_eval_clear(&ev[q]);
    free(ev);
    for (size_t q = 0; q < nfiles; q++) free(files[q]);
    free(files);
    tp_truth_free(truth);
    return rc;
}

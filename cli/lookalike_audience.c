/* lookalike_audience.c: `touchpoint lookalike extend` and `touchpoint lookalike validate` (issue #6
 * §4-5), dispatched from cmd_lookalike.c through cli_lookalike.h. Thin layers over audience.h:
 * parse options, read the score table and seed list, call the library, print and write results. */
#include "cli.h"
#include "cli_lookalike.h"
#include "touchpoint/audience.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char extend_usage[] =
    "usage: touchpoint lookalike extend --scores DIR --seeds SEEDS.csv --out OUT\n"
    "                                   [--k K] [--top-n N] [--m M | --extension-pct P]\n"
    "                                   [--no-cluster] [--seed S] [--block-users B]\n"
    "  --scores DIR         score table: a folder with scores.tpsm, or a .tpsm/.parquet file\n"
    "  --seeds FILE         seed dids, one per line (first CSV field; a 'did' header is skipped)\n"
    "  --out OUT            OUT.parquet / OUT.csv, or a folder (OUT/audience.parquet); the run's\n"
    "                       statistics go next to it as extend.json\n"
    "  --k K                k-means clusters on the seeds (default 20)\n"
    "  --top-n N            similarities kept per user; the score is their mean (default 10)\n"
    "  --m M                users to select\n"
    "  --extension-pct P    or M = P%% of the matched seeds (default 100)\n"
    "  --no-cluster         compare to every seed (in blocks) instead of the cluster centres\n"
    "  --seed S             k-means++ seed (default 1)\n"
    "  --block-users B      users per sgemm block (default 2048)\n"
    "  -h, --help           this help\n";

static bool ends_with(const char *s, const char *suf) {
    size_t n = strlen(s), m = strlen(suf);
    return n >= m && strcmp(s + n - m, suf) == 0;
}

static int write_json_file(json_t *o, const char *path) {
    char *s = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10));
    if (!s) return cli_errorf("out of memory");
    size_t n = strlen(s);
    s[n] = '\n'; // json_dumps leaves room for the NUL; write text + newline
    tp_status st = tp_atomic_write(path, s, n + 1);
    free(s);
    return st == TP_OK ? 0 : cli_fail();
}

int cmd_lookalike_extend(int argc, char **argv) {
    static const struct option longopts[] = {
        {"scores", required_argument, NULL, 's'},     {"seeds", required_argument, NULL, 'S'},
        {"out", required_argument, NULL, 'o'},        {"k", required_argument, NULL, 'k'},
        {"top-n", required_argument, NULL, 'n'},      {"m", required_argument, NULL, 'm'},
        {"extension-pct", required_argument, NULL, 'p'}, {"no-cluster", no_argument, NULL, 'C'},
        {"seed", required_argument, NULL, 'r'},       {"block-users", required_argument, NULL, 'b'},
        {"help", no_argument, NULL, 'h'},             {NULL, 0, NULL, 0},
    };
    const char *scores = NULL, *seeds_path = NULL, *out = NULL;
    tp_audience_opts o;
    tp_audience_opts_default(&o);
    bool have_m = false, have_pct = false;
    int64_t v;
    double f;
    int opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (opt) {
        case 's': scores = optarg; break;
        case 'S': seeds_path = optarg; break;
        case 'o': out = optarg; break;
        case 'k':
            if (!cli_parse_i64(optarg, &v) || v < 1 || v > 1000000)
                return cli_usage_error("lookalike extend", extend_usage, "--k must be 1..1000000");
            o.k = (int)v;
            break;
        case 'n':
            if (!cli_parse_i64(optarg, &v) || v < 1 || v > 100000)
                return cli_usage_error("lookalike extend", extend_usage, "--top-n must be 1..100000");
            o.top_n = (int)v;
            break;
        case 'm':
            if (!cli_parse_i64(optarg, &v) || v < 1)
                return cli_usage_error("lookalike extend", extend_usage, "--m must be >= 1");
            o.m = v, have_m = true;
            break;
        case 'p':
            if (!cli_parse_f64(optarg, &f) || !(f > 0) || f > 1e6)
                return cli_usage_error("lookalike extend", extend_usage, "--extension-pct must be > 0");
            o.extension_pct = f, have_pct = true;
            break;
        case 'C': o.no_cluster = true; break;
        case 'r':
            if (!cli_parse_i64(optarg, &v) || v < 0)
                return cli_usage_error("lookalike extend", extend_usage, "--seed must be >= 0");
            o.seed = (uint64_t)v;
            break;
        case 'b':
            if (!cli_parse_i64(optarg, &v) || v < 1 || v > (1 << 20))
                return cli_usage_error("lookalike extend", extend_usage, "--block-users must be 1..1048576");
            o.block_users = (size_t)v;
            break;
        case 'h': return cli_help(extend_usage);
        default: return cli_usage_error("lookalike extend", extend_usage, "bad option");
        }
    }
    if (!scores || !seeds_path || !out)
        return cli_usage_error("lookalike extend", extend_usage, "--scores, --seeds and --out are required");
    if (have_m && have_pct)
        return cli_usage_error("lookalike extend", extend_usage, "give --m or --extension-pct, not both");
    if (optind < argc)
        return cli_usage_error("lookalike extend", extend_usage, "unexpected argument '%s'", argv[optind]);

    int rc = 1;
    tp_score_table *t = NULL;
    char **seeds = NULL;
    size_t ns = 0;
    tp_audience *a = NULL;
    tp_audience_stats st;
    char *path = NULL, *json_path = NULL;
    json_t *js = NULL;
    double t0 = tp_now();
    if (tp_audience_read_seeds(seeds_path, &seeds, &ns) != TP_OK) goto fail;
    if (tp_score_table_read(scores, &t) != TP_OK) goto fail;
    double t_read = tp_now() - t0;
    if (tp_audience_extend(t, (const char *const *)seeds, ns, &o, &a, &st) != TP_OK) {
        if (st.seeds_given)
            fprintf(stderr, "touchpoint: %lld seed dids given, none in the score table (%llu users)\n",
                    (long long)st.seeds_given, (unsigned long long)t->n_users);
        goto fail;
    }
    size_t plen = strlen(out) + 32;
    path = malloc(plen), json_path = malloc(plen);
    if (!path || !json_path) {
        cli_errorf("out of memory");
        goto done;
    }
    if (ends_with(out, ".parquet") || ends_with(out, ".csv") || ends_with(out, ".tsv")) {
        snprintf(path, plen, "%s", out);
        const char *slash = strrchr(out, '/');
        if (slash) {
            snprintf(json_path, plen, "%.*s", (int)(slash - out), out);
            if (json_path[0] && tp_mkdirs(json_path) != TP_OK) goto fail;
            snprintf(json_path, plen, "%.*s/extend.json", (int)(slash - out), out);
        } else {
            snprintf(json_path, plen, "extend.json");
        }
    } else {
        if (tp_mkdirs(out) != TP_OK) goto fail;
        snprintf(path, plen, "%s/audience.parquet", out);
        snprintf(json_path, plen, "%s/extend.json", out);
    }
    if (tp_audience_write(a, t, path) != TP_OK) goto fail;

    if (st.seeds_unknown) {
        fprintf(stderr, "touchpoint: warning: %lld of %lld seed dids are not in the score table "
                "(e.g.", (long long)st.seeds_unknown, (long long)st.seeds_given);
        for (int i = 0; i < TP_AUDIENCE_EXAMPLES && i < st.seeds_unknown; i++)
            fprintf(stderr, " '%s'", st.unknown_examples[i]);
        fprintf(stderr, ")\n");
    }
    if (st.k_high)
        fprintf(stderr, "touchpoint: warning: k = %d clusters for %lld matched seeds (fewer than 10 "
                "seeds per cluster); consider a smaller --k\n", o.k, (long long)st.seeds_matched);
    double sim_rate = st.similarity_seconds > 0 ? st.pairs / st.similarity_seconds : 0;
    if (!cli_quiet) {
        printf("seeds: %lld given, %lld matched, %lld unknown\n", (long long)st.seeds_given,
               (long long)st.seeds_matched, (long long)st.seeds_unknown);
        if (o.no_cluster) printf("clusters: none (compared to all %lld seeds)\n", (long long)st.seeds_matched);
        else printf("clusters: %d (k-means %d iterations, inertia %.4g)\n", st.k_used,
                    st.kmeans_iterations, st.kmeans_inertia);
        printf("scored: %lld users, %.3g similarities in %.3f s (%.3g pairs/s)\n",
               (long long)st.candidates, st.pairs, st.similarity_seconds, sim_rate);
        printf("selected: %lld users -> %s\n", (long long)st.selected, path);
        if (a->n) printf("score range: %.6f .. %.6f\n", a->score[0], a->score[a->n - 1]);
    }
    js = json_object();
    json_object_set_new(js, "scores", json_string(scores));
    json_object_set_new(js, "seeds_given", json_integer(st.seeds_given));
    json_object_set_new(js, "seeds_matched", json_integer(st.seeds_matched));
    json_object_set_new(js, "seeds_unknown", json_integer(st.seeds_unknown));
    json_t *ex = json_array();
    for (int i = 0; i < TP_AUDIENCE_EXAMPLES && i < st.seeds_unknown; i++)
        json_array_append_new(ex, json_string(st.unknown_examples[i]));
    json_object_set_new(js, "unknown_examples", ex);
    json_object_set_new(js, "k", o.no_cluster ? json_null() : json_integer(st.k_used));
    json_object_set_new(js, "k_high", json_boolean(st.k_high));
    json_object_set_new(js, "top_n", json_integer(o.top_n));
    json_object_set_new(js, "candidates", json_integer(st.candidates));
    json_object_set_new(js, "selected", json_integer(st.selected));
    json_object_set_new(js, "pairs", json_real(st.pairs));
    json_object_set_new(js, "read_seconds", json_real(t_read));
    json_object_set_new(js, "kmeans_seconds", json_real(st.kmeans_seconds));
    json_object_set_new(js, "similarity_seconds", json_real(st.similarity_seconds));
    json_object_set_new(js, "select_seconds", json_real(st.select_seconds));
    json_object_set_new(js, "pairs_per_second", json_real(sim_rate));
    json_object_set_new(js, "audience", json_string(path));
    rc = write_json_file(js, json_path);
    goto done;
fail:
    rc = cli_fail();
done:
    json_decref(js);
    free(path), free(json_path);
    tp_audience_free(a);
    tp_audience_seeds_free(seeds, ns);
    tp_score_table_free(t);
    return rc;
}

// ---- validate ----

static const char validate_usage[] =
    "usage: touchpoint lookalike validate --audience FILE --clicks TEST_LOG --keyword KW\n"
    "                                     [--scores DIR] [--seeds SEEDS.csv] [--seed S] [--out FILE.json]\n"
    "  --audience FILE   the extended audience (did, score) from `lookalike extend`\n"
    "  --clicks LOG      test-period log (file or folder): did, keyword, optional is_click\n"
    "                    (e.g. the unified logs of `lookalike prepare` for later days)\n"
    "  --keyword KW      the keyword whose clicks are counted\n"
    "  --scores DIR      draw the random sample from the score table's users (default: the\n"
    "                    log's users, a stronger baseline)\n"
    "  --seeds FILE      seed dids, excluded from the random sample and from recall\n"
    "  --seed S          random sample seed (default 1)\n"
    "  --from DAY        keep log rows whose `day` column (YYYY-MM-DD, as in the Hive folders\n"
    "                    of `lookalike prepare`) is DAY or later: the test period\n"
    "  --out FILE        also write the result as JSON (default: next to the audience,\n"
    "                    validate.json)\n"
    "  -h, --help        this help\n";

// The values of column name of a table as strings (ints formatted).
static tp_status read_dids(const char *path, const char *name, char ***out, size_t *n) {
    tp_frame *f = NULL;
    const char *cols[] = {name};
    tp_status rc = tp_table_read(path, cols, 1, &f);
    if (rc != TP_OK) return rc;
    tp_column *c = tp_frame_col(f, 0);
    size_t rows = tp_frame_n_rows(f), k = 0;
    char **v = tp_calloc(rows ? rows : 1, sizeof *v);
    if (!v) {
        tp_frame_free(f);
        return tp_fail(TP_ERR_NOMEM, "out of memory");
    }
    char buf[64];
    for (size_t r = 0; r < rows; r++) {
        if (tp_column_is_null(c, r)) continue;
        const char *s = NULL;
        size_t slen = 0, len = tp_column_format(c, r, buf, &s, &slen);
        if (s) len = slen;
        else s = buf;
        v[k] = tp_malloc(len + 1);
        if (!v[k]) {
            tp_audience_seeds_free(v, k);
            tp_frame_free(f);
            return tp_fail(TP_ERR_NOMEM, "out of memory");
        }
        memcpy(v[k], s, len);
        v[k++][len] = 0;
    }
    tp_frame_free(f);
    *out = v;
    *n = k;
    return TP_OK;
}

// Keep the rows of *log whose day column (a YYYY-MM-DD string or a date) is >= from.
static tp_status filter_from(tp_frame **log, const char *from) {
    tp_column *day;
    tp_status rc = tp_frame_require(*log, "day", "test log", &day);
    if (rc != TP_OK) return rc;
    size_t n = tp_frame_n_rows(*log), k = 0;
    uint32_t *idx = tp_malloc((n ? n : 1) * sizeof *idx);
    if (!idx) return tp_fail(TP_ERR_NOMEM, "out of memory");
    char buf[64];
    for (size_t r = 0; r < n; r++) {
        if (tp_column_is_null(day, r)) continue;
        const char *s = NULL;
        size_t len = 0, m = tp_column_format(day, r, buf, &s, &len);
        if (!s) s = buf, len = m;
        if (len >= 10 && strncmp(s, from, 10) >= 0) idx[k++] = (uint32_t)r;
    }
    tp_frame *f = NULL;
    rc = tp_frame_take(*log, idx, k, &f);
    tp_free(idx);
    if (rc != TP_OK) return rc;
    tp_frame_free(*log);
    *log = f;
    return TP_OK;
}

int cmd_lookalike_validate(int argc, char **argv) {
    static const struct option longopts[] = {
        {"audience", required_argument, NULL, 'a'}, {"clicks", required_argument, NULL, 'c'},
        {"keyword", required_argument, NULL, 'k'},  {"scores", required_argument, NULL, 's'},
        {"seeds", required_argument, NULL, 'S'},    {"seed", required_argument, NULL, 'r'},
        {"out", required_argument, NULL, 'o'},      {"from", required_argument, NULL, 'f'},
        {"help", no_argument, NULL, 'h'},           {NULL, 0, NULL, 0},
    };
    const char *aud_path = NULL, *log_path = NULL, *kw = NULL, *scores = NULL, *seeds_path = NULL,
               *out = NULL, *from = NULL;
    uint64_t seed = 1;
    int64_t v;
    int opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (opt) {
        case 'a': aud_path = optarg; break;
        case 'c': log_path = optarg; break;
        case 'k': kw = optarg; break;
        case 's': scores = optarg; break;
        case 'S': seeds_path = optarg; break;
        case 'o': out = optarg; break;
        case 'f':
            if (strlen(optarg) != 10 || optarg[4] != '-' || optarg[7] != '-')
                return cli_usage_error("lookalike validate", validate_usage, "--from wants YYYY-MM-DD");
            from = optarg;
            break;
        case 'r':
            if (!cli_parse_i64(optarg, &v) || v < 0)
                return cli_usage_error("lookalike validate", validate_usage, "--seed must be >= 0");
            seed = (uint64_t)v;
            break;
        case 'h': return cli_help(validate_usage);
        default: return cli_usage_error("lookalike validate", validate_usage, "bad option");
        }
    }
    if (!aud_path || !log_path || !kw)
        return cli_usage_error("lookalike validate", validate_usage,
                               "--audience, --clicks and --keyword are required");
    if (optind < argc)
        return cli_usage_error("lookalike validate", validate_usage, "unexpected argument '%s'", argv[optind]);
    int rc = 1;
    char **aud = NULL, **seeds = NULL, *js = NULL, *json_path = NULL;
    size_t na = 0, ns = 0;
    tp_score_table *t = NULL;
    tp_frame *log = NULL;
    tp_validate_result r;
    if (read_dids(aud_path, "did", &aud, &na) != TP_OK) goto fail;
    if (seeds_path && tp_audience_read_seeds(seeds_path, &seeds, &ns) != TP_OK) goto fail;
    if (scores && tp_score_table_read(scores, &t) != TP_OK) goto fail;
    const char *cols[] = {"did", "keyword", "day", "is_click"};
    size_t nc = from ? 4 : 3;
    const char *const *cp = from ? cols : (const char *const[]){"did", "keyword", "is_click"};
    tp_status st = tp_table_read(log_path, cp, nc, &log);
    if (st == TP_ERR_NOTFOUND) st = tp_table_read(log_path, cp, nc - 1, &log); // no is_click
    if (st != TP_OK) goto fail;
    size_t rows_in = tp_frame_n_rows(log);
    if (from && filter_from(&log, from) != TP_OK) goto fail;
    if (tp_audience_validate((const char *const *)aud, na, t ? (const char *const *)t->dids : NULL,
                             t ? (size_t)t->n_users : 0, (const char *const *)seeds, ns, log, kw,
                             seed, &r) != TP_OK)
        goto fail;
    char ctr_a[32] = "n/a", ctr_r[32] = "n/a";
    if (!isnan(r.audience.ctr)) snprintf(ctr_a, sizeof ctr_a, "%.5f", r.audience.ctr);
    if (!isnan(r.random.ctr)) snprintf(ctr_r, sizeof ctr_r, "%.5f", r.random.ctr);
    if (from) printf("keyword %s, test log %s: %zu of %zu rows from %s on\n", kw, log_path,
                     tp_frame_n_rows(log), rows_in, from);
    else printf("keyword %s, test log %s (%zu rows)\n", kw, log_path, rows_in);
    printf("%-9s %9s %12s %9s %9s %9s\n", "group", "users", "impressions", "clicks", "clickers", "CTR");
    const tp_audience_group_stats *g[2] = {&r.audience, &r.random};
    const char *gn[2] = {"audience", "random"}, *ctr[2] = {ctr_a, ctr_r};
    for (int i = 0; i < 2; i++) {
        char imp[32] = "n/a";
        if (g[i]->impressions >= 0) snprintf(imp, sizeof imp, "%lld", (long long)g[i]->impressions);
        printf("%-9s %9lld %12s %9lld %9lld %9s\n", gn[i], (long long)g[i]->users, imp,
               (long long)g[i]->clicks, (long long)g[i]->clickers, ctr[i]);
    }
    if (isnan(r.lift_clicks)) printf("lift (clicks): n/a (no clicks in the random sample)\n");
    else printf("lift (clicks): %.3f\n", r.lift_clicks);
    if (!isnan(r.lift_ctr)) printf("lift (CTR): %.3f\n", r.lift_ctr);
    printf("precision@M %.4f, recall@M %.4f (M = %lld, %lld clickers among %lld non-seed users)\n",
           r.precision_at_m, r.recall_at_m, (long long)r.audience.users, (long long)r.clickers_total,
           (long long)r.universe);
    js = tp_validate_result_json(&r, kw);
    if (!js) {
        cli_errorf("out of memory");
        goto done;
    }
    if (!out) {
        size_t n = strlen(aud_path) + 32;
        json_path = malloc(n);
        if (!json_path) {
            cli_errorf("out of memory");
            goto done;
        }
        const char *slash = strrchr(aud_path, '/');
        if (slash) snprintf(json_path, n, "%.*s/validate.json", (int)(slash - aud_path), aud_path);
        else snprintf(json_path, n, "validate.json");
        out = json_path;
    }
    size_t jl = strlen(js);
    char *buf = malloc(jl + 2);
    if (!buf) {
        cli_errorf("out of memory");
        goto done;
    }
    memcpy(buf, js, jl);
    buf[jl] = '\n';
    st = tp_atomic_write(out, buf, jl + 1);
    free(buf);
    if (st != TP_OK) goto fail;
    if (!cli_quiet) printf("wrote %s\n", out);
    rc = 0;
    goto done;
fail:
    rc = cli_fail();
done:
    tp_free(js);
    free(json_path);
    tp_audience_seeds_free(aud, na);
    tp_audience_seeds_free(seeds, ns);
    tp_score_table_free(t);
    tp_frame_free(log);
    return rc;
}

/* lookalike_sim.c: synthetic Blue Marlin-style logs with PLANTED INTEREST GROUPS (issue #6 §7):
 * every user belongs to one latent group; each group has a subset of keywords on which its
 * members click far more often, so a click model should learn the groups from click histories and
 * audience extension should find a seed's group mates (groups.parquet is the truth). */
#include "touchpoint/lookalike.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

/* N users, K keywords, D days, G groups. Each keyword has 2 apps (spread_app_id); app 2K is an
 * orphan (no keyword: dropped by the join). Keyword k is in the interest set of group k mod G
 * (the first G keywords, the most popular, are shared by nobody: popularity alone is no signal). */

void tp_lookalike_sim_opts_default(tp_lookalike_sim_opts *o) {
    memset(o, 0, sizeof *o);
    o->users = 1000;
    o->keywords = 40;
    o->days = 14;
    o->seed = 1;
    o->groups = 4;
    o->start_time = 1704067200;
}

static const char *SLOTS[] = {"s1", "s2", "s3", "s9"};
static const char *MEDIA[] = {"native", "banner", "video"};
static const char *NETS[] = {"WIFI", "4G", "5G"};
static const char *PRICE[] = {"CPC", "CPM", "CPD"};
static const char *DEVICES[] = {"phoneA", "phoneB", "phoneC", "tablet"};

typedef struct logcols {
    tp_column *c[9]; /* did adv_id media slot_id spread_app_id device_name net_type price_model action_time */
} logcols;
static const char *LOGNAMES[9] = {"did", "adv_id", "media", "slot_id", "spread_app_id",
                                  "device_name", "net_type", "price_model", "action_time"};

static tp_status logcols_new(logcols *l) {
    memset(l, 0, sizeof *l);
    for (int i = 0; i < 9; i++) {
        tp_dtype t = (i == 1 || i == 4) ? TP_DTYPE_I64 : TP_DTYPE_STR;
        tp_status rc = tp_column_new(LOGNAMES[i], t, 1024, &l->c[i]);
        if (rc) return rc;
    }
    return TP_OK;
}
static void logcols_free(logcols *l) {
    for (int i = 0; i < 9; i++) tp_column_free(l->c[i]);
    memset(l, 0, sizeof *l);
}
static tp_status logcols_flush(logcols *l, tp_pq_writer *w) {
    tp_frame *f = NULL;
    tp_status rc = tp_frame_new(&f);
    for (int i = 0; !rc && i < 9; i++) {
        rc = tp_frame_add_take(f, l->c[i]);
        if (!rc) l->c[i] = NULL;
    }
    if (!rc && tp_frame_n_rows(f) > 0) rc = tp_pq_writer_write(w, f);
    tp_frame_free(f);
    logcols_free(l);
    return rc ? rc : logcols_new(l);
}

static void fmt_time(int64_t t_ms, char *buf) {
    int64_t s = t_ms / 1000, days = s / 86400, sod = s % 86400;
    int y, m, d;
    tp_days_to_civil(days, &y, &m, &d);
    snprintf(buf, 32, "%04d-%02d-%02d %02d:%02d:%02d.%03d", y, m, d, (int)(sod / 3600),
             (int)(sod / 60 % 60), (int)(sod % 60), (int)(t_ms % 1000));
}

static tp_status push_row(logcols *l, const char *did, tp_rng *r, int64_t app, const char *slot,
                          int64_t t_ms) {
    char ts[32];
    fmt_time(t_ms, ts);
    tp_status rc = tp_column_push_str(l->c[0], did, strlen(did));
    if (!rc) rc = tp_column_push_i64(l->c[1], 100 + (int64_t)tp_rng_below(r, 20));
    const char *media = MEDIA[tp_rng_below(r, 3)];
    if (!rc) rc = tp_column_push_str(l->c[2], media, strlen(media));
    if (!rc) rc = tp_column_push_str(l->c[3], slot, strlen(slot));
    if (!rc) rc = tp_column_push_i64(l->c[4], app);
    const char *dev = DEVICES[tp_rng_below(r, 4)], *net = NETS[tp_rng_below(r, 3)],
               *pm = PRICE[tp_rng_below(r, 3)];
    if (!rc) rc = tp_column_push_str(l->c[5], dev, strlen(dev));
    if (!rc) rc = tp_column_push_str(l->c[6], net, strlen(net));
    if (!rc) rc = tp_column_push_str(l->c[7], pm, strlen(pm));
    if (!rc) rc = tp_column_push_str(l->c[8], ts, strlen(ts));
    return rc;
}

static void did_name(int64_t u, char *buf) { snprintf(buf, 32, "d%07lld", (long long)u); }

tp_status tp_lookalike_simulate(const tp_lookalike_sim_opts *o, const char *dir) {
    const int64_t N = o->users;
    const int K = o->keywords, D = o->days, G = o->groups;
    if (N < 1 || K < 2 || K > 10000 || D < 1 || D > 3650 || G < 1 || G > K)
        return tp_fail(TP_ERR_ARG, "lookalike simulate: need users >= 1, keywords 2..10000, "
                       "days 1..3650, groups 1..keywords");
    tp_status rc = tp_mkdirs(dir);
    if (rc) return rc;
    char path[4096];
    tp_frame *f = NULL;
    tp_column *c1 = NULL, *c2 = NULL, *c3 = NULL;
    tp_pq_writer *ws = NULL, *wc = NULL;
    logcols ls = {0}, lc = {0};
    int *group = tp_malloc((size_t)N * sizeof(int));
    double *activity = tp_malloc((size_t)N * sizeof(double));
    double *pop = tp_malloc((size_t)K * sizeof(double));
    int64_t n_shows = 0, n_clicks = 0, n_persona = 0;
    json_t *truth = NULL;
    if (!group || !activity || !pop) {
        rc = tp_fail(TP_ERR_NOMEM, "out of memory simulating lookalike logs");
        goto done;
    }
    // keyword popularity: Zipf-like, normalised to a distribution
    double zs = 0;
    for (int k = 0; k < K; k++) zs += pop[k] = 1 / pow(k + 1.0, 0.7);
    for (int k = 0; k < K; k++) pop[k] /= zs;

    // ---- persona (+ conflicting and duplicate rows), groups ----
    if ((rc = tp_frame_new(&f))) goto done;
    if ((rc = tp_column_new("did", TP_DTYPE_STR, (size_t)N, &c1)) ||
        (rc = tp_column_new("gender", TP_DTYPE_I32, (size_t)N, &c2)) ||
        (rc = tp_column_new("age", TP_DTYPE_I32, (size_t)N, &c3)))
        goto done;
    for (int64_t u = 0; u < N; u++) {
        tp_rng r;
        tp_rng_seed_stream(&r, o->seed, (uint64_t)u);
        char did[32];
        did_name(u, did);
        group[u] = (int)tp_rng_below(&r, (uint64_t)G);
        activity[u] = exp(0.5 * tp_rng_normal(&r)) * 3.0; // impressions per day
        int gender = (int)tp_rng_below(&r, 2), age = 1 + (int)tp_rng_below(&r, 6);
        int copies = tp_rng_uniform(&r) < 0.05 ? 2 : 1; // exact duplicates: kept once
        for (int i = 0; i < copies; i++) {
            if ((rc = tp_column_push_str(c1, did, strlen(did))) || (rc = tp_column_push_i32(c2, gender)) ||
                (rc = tp_column_push_i32(c3, age)))
                goto done;
            n_persona++;
        }
        if (tp_rng_uniform(&r) < 0.01) { // a conflicting (gender, age): the did is dropped
            if ((rc = tp_column_push_str(c1, did, strlen(did))) ||
                (rc = tp_column_push_i32(c2, gender)) || (rc = tp_column_push_i32(c3, age % 6 + 1)))
                goto done;
            n_persona++;
        }
    }
    if ((rc = tp_frame_add_take(f, c1))) goto done;
    c1 = NULL;
    if ((rc = tp_frame_add_take(f, c2))) goto done;
    c2 = NULL;
    if ((rc = tp_frame_add_take(f, c3))) goto done;
    c3 = NULL;
    snprintf(path, sizeof path, "%s/persona.parquet", dir);
    if ((rc = tp_pq_write_file(f, path, NULL))) goto done;
    tp_frame_free(f);
    f = NULL;

    // groups.parquet: the planted truth
    if ((rc = tp_frame_new(&f)) || (rc = tp_column_new("did", TP_DTYPE_STR, (size_t)N, &c1)) ||
        (rc = tp_column_new("group", TP_DTYPE_I32, (size_t)N, &c2)))
        goto done;
    for (int64_t u = 0; u < N; u++) {
        char did[32];
        did_name(u, did);
        if ((rc = tp_column_push_str(c1, did, strlen(did))) || (rc = tp_column_push_i32(c2, group[u])))
            goto done;
    }
    if ((rc = tp_frame_add_take(f, c1))) goto done;
    c1 = NULL;
    if ((rc = tp_frame_add_take(f, c2))) goto done;
    c2 = NULL;
    snprintf(path, sizeof path, "%s/groups.parquet", dir);
    if ((rc = tp_pq_write_file(f, path, NULL))) goto done;
    tp_frame_free(f);
    f = NULL;

    // keywords.parquet: spread_app_id -> keyword (2 apps per keyword)
    if ((rc = tp_frame_new(&f)) || (rc = tp_column_new("spread_app_id", TP_DTYPE_I64, 2 * K, &c1)) ||
        (rc = tp_column_new("keyword", TP_DTYPE_STR, 2 * K, &c2)))
        goto done;
    for (int a = 0; a < 2 * K; a++) {
        char kw[32];
        snprintf(kw, sizeof kw, "kw%03d", a / 2);
        if ((rc = tp_column_push_i64(c1, 1000 + a)) || (rc = tp_column_push_str(c2, kw, strlen(kw))))
            goto done;
    }
    if ((rc = tp_frame_add_take(f, c1))) goto done;
    c1 = NULL;
    if ((rc = tp_frame_add_take(f, c2))) goto done;
    c2 = NULL;
    snprintf(path, sizeof path, "%s/keywords.parquet", dir);
    if ((rc = tp_pq_write_file(f, path, NULL))) goto done;
    tp_frame_free(f);
    f = NULL;

    // ---- show and click logs, one row group per day ----
    tp_pq_write_opts wo;
    tp_pq_write_opts_default(&wo);
    char ps[4096], pc[4096];
    snprintf(ps, sizeof ps, "%s/shows.parquet", dir);
    snprintf(pc, sizeof pc, "%s/clicks.parquet", dir);
    if ((rc = tp_pq_writer_open(ps, &wo, &ws)) || (rc = tp_pq_writer_open(pc, &wo, &wc))) goto done;
    if ((rc = logcols_new(&ls)) || (rc = logcols_new(&lc))) goto done;
    for (int d = 0; d < D; d++) {
        for (int64_t u = 0; u < N; u++) {
            tp_rng r;
            tp_rng_seed_stream(&r, o->seed ^ 0x5eed5eedULL, (uint64_t)d * (uint64_t)N + (uint64_t)u);
            char did[32];
            did_name(u, did);
            uint32_t n = tp_rng_poisson(&r, activity[u]);
            for (uint32_t i = 0; i < n; i++) {
                // keyword: 70% by popularity, 30% from the user's interest set (ads target a bit)
                int k;
                if (tp_rng_uniform(&r) < 0.3 && K > G) {
                    int m = (K - G + (G - 1 - group[u])) / G; // keywords k >= G with k mod G == g
                    k = G + group[u] + G * (int)tp_rng_below(&r, (uint64_t)(m > 0 ? m : 1));
                    if (k >= K) k = (int)tp_rng_below(&r, (uint64_t)K);
                } else {
                    double x = tp_rng_uniform(&r), acc = 0;
                    k = K - 1;
                    for (int j = 0; j < K; j++)
                        if ((acc += pop[j]) > x) {
                            k = j;
                            break;
                        }
                }
                int64_t app = tp_rng_uniform(&r) < 0.005 ? 1000 + 2 * K : 1000 + 2 * k + (int64_t)tp_rng_below(&r, 2);
                const char *slot = SLOTS[tp_rng_below(&r, 4)];
                int64_t t_ms = (o->start_time + (int64_t)d * 86400) * 1000 +
                               (int64_t)tp_rng_below(&r, 86400000 - 60000);
                if ((rc = push_row(&ls, did, &r, app, slot, t_ms))) goto done;
                n_shows++;
                bool interest = k >= G && k % G == group[u];
                double ctr = interest ? 0.25 : 0.03;
                if (tp_rng_uniform(&r) < ctr) {
                    if ((rc = push_row(&lc, did, &r, app, slot, t_ms + 1000 + (int64_t)tp_rng_below(&r, 30000))))
                        goto done;
                    n_clicks++;
                }
            }
        }
        if ((rc = logcols_flush(&ls, ws)) || (rc = logcols_flush(&lc, wc))) goto done;
    }
    rc = tp_pq_writer_close(ws);
    ws = NULL;
    if (rc) goto done;
    rc = tp_pq_writer_close(wc);
    wc = NULL;
    if (rc) goto done;

    truth = json_pack("{s:I, s:I, s:i, s:i, s:i, s:I, s:I, s:I, s:f, s:f}", "seed",
                      (json_int_t)o->seed, "users", (json_int_t)N, "keywords", K, "days", D,
                      "groups", G, "persona_rows", (json_int_t)n_persona, "shows",
                      (json_int_t)n_shows, "clicks", (json_int_t)n_clicks, "ctr_interest", 0.25,
                      "ctr_other", 0.03);
    json_t *sets = json_array();
    for (int g = 0; truth && sets && g < G; g++) {
        json_t *a = json_array();
        for (int k = G + g; k < K; k += G) {
            char kw[32];
            snprintf(kw, sizeof kw, "kw%03d", k);
            json_array_append_new(a, json_string(kw));
        }
        json_array_append_new(sets, a);
    }
    if (!truth || !sets) {
        json_decref(sets);
        rc = tp_fail(TP_ERR_NOMEM, "out of memory writing truth.json");
        goto done;
    }
    json_object_set_new(truth, "interest_keywords", sets);
    char *text = json_dumps(truth, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    if (!text) {
        rc = tp_fail(TP_ERR_NOMEM, "out of memory writing truth.json");
        goto done;
    }
    snprintf(path, sizeof path, "%s/truth.json", dir);
    rc = tp_atomic_write(path, text, strlen(text));
    free(text);
done:
    if (ws) tp_pq_writer_abort(ws);
    if (wc) tp_pq_writer_abort(wc);
    logcols_free(&ls);
    logcols_free(&lc);
    json_decref(truth);
    tp_column_free(c1);
    tp_column_free(c2);
    tp_column_free(c3);
    tp_frame_free(f);
    tp_free(group);
    tp_free(activity);
    tp_free(pop);
    return rc;
}

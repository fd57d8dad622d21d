/* workflow.c: `touchpoint workflow run daily.yaml|weekly.yaml` (issue #5 §6). A workflow is an
 * ordered list of steps (features, train, evaluate, promote, score) over shared settings; each
 * run and step is recorded in a SQLite state file (start, end, status, outputs JSON, error), one
 * run at a time (flock). --resume picks the latest unfinished run up at its first step not done,
 * with that run's as-of date. Steps are idempotent: feature snapshots are no-ops when present,
 * train registers under a run key (a rerun finds its version), promote of a production version is
 * a no-op, score commits a whole new profile snapshot or nothing. */
#include "touchpoint/propensity.h"
#include "touchpoint/registry.h"
#include "core/yamlcfg.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

// ---- config ----

enum { MAX_STEPS = 16, MAX_DATES = 64, MAX_GROUPS = 256 };

typedef struct wf_config {
    char *name, *state, *as_of, *events, *items, *defs, *store, *registry, *models, *profile;
    char *groups[MAX_GROUPS];
    size_t n_groups;                /* 0 = all */
    int train_offsets[MAX_DATES];   /* days relative to as_of */
    size_t n_offsets;
    int horizon, trials, max_rounds, early_stopping, keep;
    tp_psearch_kind search;
    uint64_t seed;
    double margin;
    bool force;
    char *steps[MAX_STEPS];
    size_t n_steps;
} wf_config;

static void config_free(wf_config *c) {
    char **s[] = {&c->name, &c->state, &c->as_of, &c->events, &c->items, &c->defs, &c->store,
                  &c->registry, &c->models, &c->profile};
    for (size_t k = 0; k < sizeof s / sizeof *s; k++) tp_free(*s[k]);
    for (size_t k = 0; k < c->n_groups; k++) tp_free(c->groups[k]);
    for (size_t k = 0; k < c->n_steps; k++) tp_free(c->steps[k]);
}

/* ${VAR} expanded from the environment (an unset variable is an error). */
static tp_status expand(const tp_ycfg *y, const yaml_node_t *n, const char *s, char **out) {
    size_t cap = strlen(s) + 1, len = 0;
    char *r = tp_malloc(cap);
    if (!r) return tp_fail(TP_ERR_NOMEM, "out of memory");
    for (const char *p = s; *p;) {
        const char *add = p;
        size_t alen = 1;
        char var[256];
        if (p[0] == '$' && p[1] == '{') {
            const char *e = strchr(p, '}');
            if (!e || (size_t)(e - p - 2) >= sizeof var) {
                tp_free(r);
                return tp_ycfg_fail(y, n, "unterminated ${...} in '%s'", s);
            }
            memcpy(var, p + 2, (size_t)(e - p - 2));
            var[e - p - 2] = 0;
            add = getenv(var);
            if (!add) {
                tp_free(r);
                return tp_ycfg_fail(y, n, "environment variable '%s' is not set", var);
            }
            alen = strlen(add);
            p = e + 1;
        } else {
            p++;
        }
        if (tp_grow((void **)&r, &cap, len + alen + 1, 1) != TP_OK) {
            tp_free(r);
            return tp_fail(TP_ERR_NOMEM, "out of memory");
        }
        memcpy(r + len, add, alen);
        len += alen;
    }
    r[len] = 0;
    *out = r;
    return TP_OK;
}

/* A non-empty string with ${VAR} expanded; a path is then taken relative to the YAML's folder. */
static tp_status get_str(const tp_ycfg *y, const char *key, const yaml_node_t *n, bool is_path,
                         char **out) {
    char *e = NULL, *p = NULL;
    tp_status rc = tp_ycfg_str(y, key, n, TP_YCFG_NONEMPTY, &e);
    if (rc == TP_OK) rc = expand(y, n, e, &p);
    tp_free(e);
    if (rc == TP_OK && is_path) {
        e = tp_ycfg_resolve(y, p);
        tp_free(p);
        if (!(p = e)) rc = tp_fail(TP_ERR_NOMEM, "out of memory");
    }
    if (rc != TP_OK) return rc;
    tp_free(*out);
    *out = p;
    return TP_OK;
}

/* A list of strings, each ${VAR}-expanded, into items[0..*count) (at most max). */
static tp_status get_list(const tp_ycfg *y, const char *key, const yaml_node_t *n, char **items,
                          size_t max, size_t *count) {
    const char *s[MAX_GROUPS]; /* max is MAX_GROUPS or MAX_STEPS */
    size_t k = 0;
    tp_status rc = tp_ycfg_list(y, key, n, 0, s, max, &k);
    for (size_t i = 0; rc == TP_OK && i < k; i++) {
        items[i] = NULL;
        if ((rc = expand(y, tp_ycfg_item(y, n, i), s[i], &items[i])) == TP_OK) *count = i + 1;
    }
    return rc;
}

static const char *KNOWN_STEPS[] = {"features", "train", "evaluate", "promote", "score"};

static tp_status parse_section(const tp_ycfg *y, const yaml_node_t *n, const char *section,
                               wf_config *c) {
    tp_status rc = tp_ycfg_map(y, n, section, NULL);
    const char *k;
    yaml_node_t *kn, *vn;
    if (rc) return rc;
    tp_ycfg_foreach(y, n, i, k, kn, vn) {
        if (!strcmp(section, "train")) {
            if (!strcmp(k, "dates")) {
                if (vn->type != YAML_SEQUENCE_NODE)
                    return tp_ycfg_fail(y, vn, "'dates' wants a list of day offsets");
                if (tp_ycfg_len(vn) > MAX_DATES) return tp_ycfg_fail(y, vn, "too many dates");
                c->n_offsets = 0;
                for (size_t d = 0; rc == TP_OK && d < tp_ycfg_len(vn); d++)
                    rc = tp_ycfg_int(y, "dates", tp_ycfg_item(y, vn, d), -36500, 0,
                                     &c->train_offsets[c->n_offsets++]);
            } else if (!strcmp(k, "horizon")) rc = tp_ycfg_int(y, k, vn, 1, 3650, &c->horizon);
            else if (!strcmp(k, "trials")) rc = tp_ycfg_int(y, k, vn, 1, 500, &c->trials);
            else if (!strcmp(k, "max_rounds")) rc = tp_ycfg_int(y, k, vn, 1, 100000, &c->max_rounds);
            else if (!strcmp(k, "early_stopping"))
                rc = tp_ycfg_int(y, k, vn, 0, 100000, &c->early_stopping);
            else if (!strcmp(k, "seed")) {
                int64_t s;
                if ((rc = tp_ycfg_i64(y, k, vn, 0, 2147483647, &s)) == TP_OK) c->seed = (uint64_t)s;
            } else if (!strcmp(k, "search")) {
                const char *s = tp_ycfg_scalar(vn);
                if (s && !strcmp(s, "tpe")) c->search = TP_PSEARCH_TPE;
                else if (s && !strcmp(s, "random")) c->search = TP_PSEARCH_RANDOM;
                else return tp_ycfg_fail(y, vn, "'search' is tpe or random");
            } else return tp_ycfg_fail(y, kn, "unknown key '%s' in train", k);
        } else if (!strcmp(section, "promote")) {
            if (!strcmp(k, "margin")) rc = tp_ycfg_num(y, k, vn, -INFINITY, INFINITY, &c->margin);
            else if (!strcmp(k, "force")) rc = tp_ycfg_bool(y, k, vn, &c->force);
            else return tp_ycfg_fail(y, kn, "unknown key '%s' in promote", k);
        } else if (!strcmp(section, "score")) {
            if (!strcmp(k, "keep")) rc = tp_ycfg_int(y, k, vn, 1, 1000, &c->keep);
            else return tp_ycfg_fail(y, kn, "unknown key '%s' in score", k);
        }
        if (rc != TP_OK) return rc;
    }
    return TP_OK;
}

static tp_status parse_root(const tp_ycfg *y, const yaml_node_t *root, wf_config *c) {
    tp_status rc = tp_ycfg_map(y, root, NULL, NULL);
    const char *k;
    yaml_node_t *kn, *vn;
    if (rc) return rc;
    tp_ycfg_foreach(y, root, i, k, kn, vn) {
        if (!strcmp(k, "name")) rc = get_str(y, k, vn, false, &c->name);
        else if (!strcmp(k, "state")) rc = get_str(y, k, vn, true, &c->state);
        else if (!strcmp(k, "as_of")) rc = get_str(y, k, vn, false, &c->as_of);
        else if (!strcmp(k, "events")) rc = get_str(y, k, vn, true, &c->events);
        else if (!strcmp(k, "items")) rc = get_str(y, k, vn, true, &c->items);
        else if (!strcmp(k, "defs")) rc = get_str(y, k, vn, true, &c->defs);
        else if (!strcmp(k, "store")) rc = get_str(y, k, vn, true, &c->store);
        else if (!strcmp(k, "registry")) rc = get_str(y, k, vn, true, &c->registry);
        else if (!strcmp(k, "models")) rc = get_str(y, k, vn, true, &c->models);
        else if (!strcmp(k, "profile")) rc = get_str(y, k, vn, true, &c->profile);
        else if (!strcmp(k, "groups")) {
            const char *s = tp_ycfg_scalar(vn);
            if (s && !strcmp(s, "all")) c->n_groups = 0;
            else rc = get_list(y, k, vn, c->groups, MAX_GROUPS, &c->n_groups);
        } else if (!strcmp(k, "steps")) {
            rc = get_list(y, k, vn, c->steps, MAX_STEPS, &c->n_steps);
            for (size_t s = 0; rc == TP_OK && s < c->n_steps; s++) {
                bool ok = false;
                for (size_t q = 0; q < 5; q++) ok |= !strcmp(c->steps[s], KNOWN_STEPS[q]);
                if (!ok)
                    rc = tp_ycfg_fail(y, vn, "unknown step '%s' (features, train, evaluate, promote, score)",
                                      c->steps[s]);
            }
        } else if (!strcmp(k, "train") || !strcmp(k, "promote") || !strcmp(k, "score"))
            rc = parse_section(y, vn, k, c);
        else rc = tp_ycfg_fail(y, kn, "unknown key '%s'", k);
        if (rc != TP_OK) return rc;
    }
    if (!c->name || !c->state || !c->events || !c->defs || !c->n_steps)
        return tp_ycfg_fail(y, root, "a workflow needs name, state, events, defs and steps");
    for (size_t s = 0; s < c->n_steps; s++) {
        const char *st = c->steps[s];
        if ((!strcmp(st, "train") || !strcmp(st, "evaluate") || !strcmp(st, "promote") ||
             !strcmp(st, "score")) && !c->registry)
            return tp_ycfg_fail(y, root, "step '%s' needs 'registry'", st);
        if (!strcmp(st, "train") && (!c->models || !c->n_offsets))
            return tp_ycfg_fail(y, root, "step 'train' needs 'models' and train.dates");
        if (!strcmp(st, "score") && !c->profile)
            return tp_ycfg_fail(y, root, "step 'score' needs 'profile'");
    }
    return TP_OK;
}

static tp_status config_load(const char *path, wf_config *c) {
    tp_ycfg y = {.path = path, .what = "workflow", .short_loc = true};
    memset(c, 0, sizeof *c);
    c->horizon = 0;
    c->trials = 10;
    c->max_rounds = 500;
    c->early_stopping = 30;
    c->search = TP_PSEARCH_TPE;
    c->seed = 1;
    c->keep = 3;
    tp_status rc = tp_ycfg_load_file(&y);
    if (rc == TP_OK) rc = parse_root(&y, tp_ycfg_root(&y), c);
    tp_ycfg_close(&y);
    if (rc != TP_OK) config_free(c);
    return rc;
}

// ---- state ----

static const char *STATE_SCHEMA =
    "PRAGMA journal_mode=WAL;"
    "CREATE TABLE IF NOT EXISTS runs(id INTEGER PRIMARY KEY, workflow TEXT NOT NULL, yaml TEXT,"
    " as_of TEXT NOT NULL, started TEXT NOT NULL, ended TEXT, status TEXT NOT NULL, pid INTEGER);"
    "CREATE TABLE IF NOT EXISTS steps(run_id INTEGER NOT NULL REFERENCES runs(id), idx INTEGER NOT NULL,"
    " name TEXT NOT NULL, started TEXT, ended TEXT, status TEXT NOT NULL, outputs TEXT, error TEXT,"
    " attempts INTEGER NOT NULL DEFAULT 0, PRIMARY KEY(run_id, idx));";

static void now_utc(char *buf, size_t n) {
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static tp_status sql(sqlite3 *db, const char *path, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    char *q = sqlite3_vmprintf(fmt, ap);
    va_end(ap);
    char *err = NULL;
    tp_status rc = TP_OK;
    if (!q) return tp_fail(TP_ERR_NOMEM, "out of memory");
    if (sqlite3_exec(db, q, NULL, NULL, &err) != SQLITE_OK)
        rc = tp_fail(TP_ERR_INTERNAL, "workflow state '%s': %s", path, err ? err : "?");
    sqlite3_free(err);
    sqlite3_free(q);
    return rc;
}

// ---- steps ----

typedef struct wf_run {
    wf_config *c;
    const tp_workflow_opts *o;
    sqlite3 *db;
    int64_t run_id;
    int32_t as_of;
    char as_of_s[16];
    const char *fail_step; /* TP_FAIL_STEP */
    bool fail_kill;
    json_t *outputs;       /* the current step's outputs */
    int n_threads;
} wf_run;

__attribute__((format(printf, 2, 3))) static void say(const wf_run *r, const char *fmt, ...) {
    if (!r->o || !r->o->log) return;
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    r->o->log(line, r->o->ud);
}

static char *date_str(int32_t d, char *buf) {
    int y, m, dd;
    tp_days_to_civil(d, &y, &m, &dd);
    snprintf(buf, 16, "%04d-%02d-%02d", y % 10000, m % 100, dd % 100);
    return buf;
}

static bool has_step(const wf_config *c, const char *name) {
    for (size_t s = 0; s < c->n_steps; s++)
        if (!strcmp(c->steps[s], name)) return true;
    return false;
}

static void train_dates(const wf_run *r, int32_t *d, size_t *n) {
    *n = r->c->n_offsets;
    for (size_t k = 0; k < *n; k++) d[k] = r->as_of + r->c->train_offsets[k];
}

static tp_status step_features(wf_run *r) {
    tp_status rc;
    tp_events *ev = NULL;
    tp_feature_defs *defs = NULL;
    int32_t dates[MAX_DATES + 1];
    size_t n = 0;
    if (has_step(r->c, "train")) train_dates(r, dates, &n);
    if (has_step(r->c, "score")) dates[n++] = r->as_of;
    if (!r->c->store) {
        say(r, "  features: no store configured, computed on the fly by later steps");
        return TP_OK;
    }
    if ((rc = tp_events_load(r->c->events, r->c->items, &ev)) != TP_OK) goto done;
    if ((rc = tp_feature_defs_load(r->c->defs, &defs)) != TP_OK) goto done;
    json_t *arr = json_array();
    json_object_set_new(r->outputs, "snapshots", arr);
    for (size_t k = 0; k < n; k++) {
        tp_featurestore_result res;
        char ds[16];
        if ((rc = tp_featurestore_materialize(r->c->store, ev, defs, dates[k], r->n_threads, &res)))
            goto done;
        json_array_append_new(arr, json_pack("{s:s, s:i, s:b, s:s}", "as_of", date_str(dates[k], ds),
                                             "version", res.version, "noop", res.noop, "hash", res.hash));
        say(r, "  features %s: v%d%s (%lld users)", ds, res.version, res.noop ? ", already there" : "",
            (long long)res.rows[TP_LEVEL_USER]);
    }
done:
    tp_feature_defs_free(defs);
    tp_events_free(ev);
    return rc;
}

static void train_cb(const tp_ptrain_job_group *g, void *ud) {
    wf_run *r = ud;
    json_t *groups = json_object_get(r->outputs, "groups");
    json_object_set_new(groups, g->group,
                        json_pack("{s:i, s:o, s:o, s:s}", "version", g->version, "pr_auc",
                                  isnan(g->pr_auc) ? json_null() : json_real(g->pr_auc),
                                  "baseline_pr_auc",
                                  isnan(g->baseline_pr_auc) ? json_null() : json_real(g->baseline_pr_auc),
                                  "dir", g->dir));
    say(r, "  train %s: v%d, test PR-AUC %.4f (baseline %.4f, gain 95%% CI [%+.4f, %+.4f])", g->group,
        g->version, g->pr_auc, g->baseline_pr_auc, g->gain_lo, g->gain_hi);
}

static tp_status step_train(wf_run *r) {
    int32_t dates[MAX_DATES];
    size_t n;
    train_dates(r, dates, &n);
    char out[4200], key[512];
    snprintf(out, sizeof out, "%s/run-%lld", r->c->models, (long long)r->run_id);
    snprintf(key, sizeof key, "%s/run-%lld", r->c->name, (long long)r->run_id);
    tp_ptrain_job job = {.events = r->c->events, .items = r->c->items, .defs = r->c->defs,
                         .store = r->c->store, .as_of = dates, .n_as_of = n,
                         .groups = (const char *const *)r->c->groups, .n_groups = r->c->n_groups,
                         .horizon_days = r->c->horizon, .out_dir = out, .registry = r->c->registry,
                         .run_key = key};
    tp_ptrain_opts_default(&job.opts);
    job.opts.trials = r->c->trials;
    job.opts.search = r->c->search;
    job.opts.seed = r->c->seed;
    job.opts.n_threads = r->n_threads;
    job.opts.base.max_rounds = r->c->max_rounds;
    job.opts.base.early_stopping = r->c->early_stopping;
    json_object_set_new(r->outputs, "groups", json_object());
    json_object_set_new(r->outputs, "models", json_string(out));
    return tp_ptrain_job_run(&job, train_cb, r);
}

/* The train step's outputs of this run (borrowed into *out, caller decrefs). */
static tp_status trained(wf_run *r, json_t **out) {
    sqlite3_stmt *st = NULL;
    *out = NULL;
    if (sqlite3_prepare_v2(r->db, "SELECT outputs FROM steps WHERE run_id = ? AND name = 'train'"
                                  " AND status = 'done'", -1, &st, NULL) != SQLITE_OK)
        return tp_fail(TP_ERR_INTERNAL, "workflow state: %s", sqlite3_errmsg(r->db));
    sqlite3_bind_int64(st, 1, r->run_id);
    tp_status rc = TP_OK;
    if (sqlite3_step(st) == SQLITE_ROW) {
        json_t *o = json_loads((const char *)sqlite3_column_text(st, 0), 0, NULL);
        json_t *g = o ? json_object_get(o, "groups") : NULL;
        if (g) *out = json_incref(g);
        json_decref(o);
    }
    sqlite3_finalize(st);
    if (!*out) rc = tp_fail(TP_ERR_ARG, "workflow '%s': step needs a finished train step in this run",
                            r->c->name);
    return rc;
}

static void eval_cb(const char *line, void *ud) {
    wf_run *r = ud;
    json_array_append_new(json_object_get(r->outputs, "lines"), json_string(line));
    say(r, "  evaluate %s", line);
}

static tp_status step_evaluate(wf_run *r) {
    json_t *groups = NULL;
    tp_status rc = trained(r, &groups);
    if (rc != TP_OK) return rc;
    json_object_set_new(r->outputs, "lines", json_array());
    const char *g;
    json_t *v;
    json_object_foreach(groups, g, v) {
        const char *one[1] = {g};
        int ver = (int)json_integer_value(json_object_get(v, "version"));
        if ((rc = tp_pevaluate_job_run(r->c->registry, one, 1, ver, r->n_threads, eval_cb, r)))
            break;
    }
    json_decref(groups);
    return rc;
}

static tp_status step_promote(wf_run *r) {
    json_t *groups = NULL;
    tp_registry *reg = NULL;
    tp_status rc = trained(r, &groups);
    if (rc != TP_OK) return rc;
    if ((rc = tp_registry_open(r->c->registry, &reg)) != TP_OK) goto done;
    json_t *res = json_object();
    json_object_set_new(r->outputs, "decisions", res);
    const char *g;
    json_t *v;
    json_object_foreach(groups, g, v) {
        int ver = (int)json_integer_value(json_object_get(v, "version"));
        tp_promotion p;
        char why[128];
        snprintf(why, sizeof why, "workflow %s run %lld", r->c->name, (long long)r->run_id);
        if ((rc = tp_registry_promote(reg, g, ver, r->c->margin, r->c->force, why, &p))) goto done;
        json_object_set_new(res, g, json_pack("{s:i, s:b, s:s}", "version", ver, "promoted",
                                              p.promoted, "reason", p.reason));
        say(r, "  promote %s v%d: %s (%s)", g, ver, p.promoted ? "production" : "not promoted",
            p.reason);
    }
done:
    tp_registry_close(reg);
    json_decref(groups);
    return rc;
}

static int inject_after_long(void *ud) {
    wf_run *r = ud;
    if (r->fail_kill) raise(SIGKILL);
    return 1;
}

static tp_status step_score(wf_run *r) {
    tp_pscore_job job = {.events = r->c->events, .items = r->c->items, .defs = r->c->defs,
                         .store = r->c->store, .registry = r->c->registry, .out_dir = r->c->profile,
                         .as_of = r->as_of, .n_threads = r->n_threads};
    tp_profile_opts_default(&job.profile);
    job.profile.keep = r->c->keep;
    if (r->fail_step && !strcmp(r->fail_step, "score")) {
        job.profile.after_long = inject_after_long;
        job.profile.ud = r;
    }
    tp_profile_result res;
    tp_status rc = tp_pscore_job_run(&job, &res);
    if (rc != TP_OK) return rc;
    json_object_set_new(r->outputs, "snapshot", json_string(res.path));
    json_object_set_new(r->outputs, "users", json_integer((json_int_t)res.users));
    json_object_set_new(r->outputs, "groups", json_integer((json_int_t)res.groups));
    say(r, "  score: %zu users x %zu groups -> %s", res.users, res.groups, res.path);
    return TP_OK;
}

static tp_status run_step(wf_run *r, const char *name) {
    tp_status rc;
    if (!strcmp(name, "features")) rc = step_features(r);
    else if (!strcmp(name, "train")) rc = step_train(r);
    else if (!strcmp(name, "evaluate")) rc = step_evaluate(r);
    else if (!strcmp(name, "promote")) rc = step_promote(r);
    else rc = step_score(r);
    /* injected failure of the other steps: after their output exists, before it is recorded */
    if (rc == TP_OK && r->fail_step && !strcmp(r->fail_step, name) && strcmp(name, "score")) {
        if (r->fail_kill) raise(SIGKILL);
        rc = tp_fail(TP_ERR_IO, "step '%s': injected failure (TP_FAIL_STEP)", name);
    }
    return rc;
}

// ---- run ----

static tp_status parse_as_of(const char *s, int32_t *out) {
    if (!s || !strcmp(s, "today") || !strcmp(s, "yesterday")) {
        time_t t = time(NULL);
        *out = (int32_t)(t / 86400) - (s && !strcmp(s, "yesterday") ? 1 : 0);
        return TP_OK;
    }
    return tp_date_parse(s, out);
}

tp_status tp_workflow_run(const char *yaml_path, const tp_workflow_opts *o, tp_workflow_result *res) {
    tp_status rc;
    wf_config c;
    wf_run r;
    sqlite3_stmt *st = NULL;
    int lock_fd = -1;
    char *err = NULL, now[64];
    memset(&r, 0, sizeof r);
    if (res) memset(res, 0, sizeof *res);
    if ((rc = config_load(yaml_path, &c)) != TP_OK) return rc;
    r.c = &c;
    r.o = o;
    r.n_threads = o && o->n_threads > 0 ? o->n_threads : tp_threads_default();
    char fs[128] = {0};
    const char *env = getenv("TP_FAIL_STEP");
    if (env && *env) {
        snprintf(fs, sizeof fs, "%s", env);
        char *colon = strchr(fs, ':');
        if (colon) {
            r.fail_kill = !strcmp(colon + 1, "kill");
            *colon = 0;
        }
        r.fail_step = fs;
    }
    // one run at a time on a state file
    {
        char lock[4200];
        snprintf(lock, sizeof lock, "%s.lock", c.state);
        char *slash = strrchr(c.state, '/');
        if (slash) {
            *slash = 0;
            rc = tp_mkdirs(c.state);
            *slash = '/';
            if (rc != TP_OK) goto done;
        }
        if ((lock_fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0644)) < 0) {
            rc = tp_fail(TP_ERR_IO, "cannot open '%s': %s", lock, strerror(errno));
            goto done;
        }
        if (flock(lock_fd, LOCK_EX | LOCK_NB) != 0) {
            rc = tp_fail(TP_ERR_IO, "workflow state '%s' is in use by another run", c.state);
            goto done;
        }
    }
    if (sqlite3_open(c.state, &r.db) != SQLITE_OK) {
        rc = tp_fail(TP_ERR_IO, "cannot open workflow state '%s': %s", c.state, sqlite3_errmsg(r.db));
        goto done;
    }
    sqlite3_busy_timeout(r.db, 10000);
    if (sqlite3_exec(r.db, STATE_SCHEMA, NULL, NULL, &err) != SQLITE_OK) {
        rc = tp_fail(TP_ERR_INTERNAL, "workflow state '%s': %s", c.state, err ? err : "?");
        goto done;
    }
    now_utc(now, sizeof now);
    if (o && o->resume) {
        if (sqlite3_prepare_v2(r.db, "SELECT id, as_of, status FROM runs WHERE workflow = ?"
                                     " ORDER BY id DESC LIMIT 1", -1, &st, NULL) != SQLITE_OK) {
            rc = tp_fail(TP_ERR_INTERNAL, "workflow state: %s", sqlite3_errmsg(r.db));
            goto done;
        }
        sqlite3_bind_text(st, 1, c.name, -1, SQLITE_TRANSIENT);
        if (sqlite3_step(st) != SQLITE_ROW) {
            rc = tp_fail(TP_ERR_NOTFOUND, "workflow '%s': no run to resume in '%s'", c.name, c.state);
            goto done;
        }
        r.run_id = sqlite3_column_int64(st, 0);
        snprintf(r.as_of_s, sizeof r.as_of_s, "%s", (const char *)sqlite3_column_text(st, 1));
        bool finished = !strcmp((const char *)sqlite3_column_text(st, 2), "done");
        sqlite3_finalize(st);
        st = NULL;
        if (finished) {
            say(&r, "workflow %s: run %lld finished, nothing to resume", c.name, (long long)r.run_id);
            if (res) res->run_id = r.run_id;
            goto done;
        }
        if ((rc = tp_date_parse(r.as_of_s, &r.as_of)) != TP_OK) goto done;
        say(&r, "workflow %s: resuming run %lld (as of %s)", c.name, (long long)r.run_id, r.as_of_s);
        if ((rc = sql(r.db, c.state, "UPDATE runs SET status = 'running', pid = %d, ended = NULL"
                                     " WHERE id = %lld", (int)getpid(), (long long)r.run_id)))
            goto done;
    } else {
        if ((rc = parse_as_of(o && o->as_of ? o->as_of : c.as_of, &r.as_of)) != TP_OK) goto done;
        date_str(r.as_of, r.as_of_s);
        if ((rc = sql(r.db, c.state, "INSERT INTO runs(workflow, yaml, as_of, started, status, pid)"
                                     " VALUES(%Q, %Q, %Q, %Q, 'running', %d)", c.name, yaml_path,
                      r.as_of_s, now, (int)getpid())))
            goto done;
        r.run_id = sqlite3_last_insert_rowid(r.db);
        for (size_t s = 0; s < c.n_steps; s++)
            if ((rc = sql(r.db, c.state, "INSERT INTO steps(run_id, idx, name, status)"
                                         " VALUES(%lld, %d, %Q, 'pending')", (long long)r.run_id,
                          (int)s, c.steps[s])))
                goto done;
        say(&r, "workflow %s: run %lld as of %s (%zu steps)", c.name, (long long)r.run_id, r.as_of_s,
            c.n_steps);
    }
    if (res) res->run_id = r.run_id;
    for (size_t s = 0; s < c.n_steps; s++) {
        const char *name = c.steps[s];
        // done already (a resumed run)?
        bool done_before = false;
        if (sqlite3_prepare_v2(r.db, "SELECT status FROM steps WHERE run_id = ? AND idx = ?", -1, &st,
                               NULL) == SQLITE_OK) {
            sqlite3_bind_int64(st, 1, r.run_id);
            sqlite3_bind_int(st, 2, (int)s);
            if (sqlite3_step(st) == SQLITE_ROW)
                done_before = !strcmp((const char *)sqlite3_column_text(st, 0), "done");
        }
        sqlite3_finalize(st);
        st = NULL;
        if (done_before) {
            say(&r, "step %zu/%zu %s: done in an earlier attempt, skipped", s + 1, c.n_steps, name);
            if (res) res->steps_skipped++;
            continue;
        }
        now_utc(now, sizeof now);
        if ((rc = sql(r.db, c.state, "UPDATE steps SET status = 'running', started = %Q, ended = NULL,"
                                     " error = NULL, attempts = attempts + 1 WHERE run_id = %lld AND"
                                     " idx = %d", now, (long long)r.run_id, (int)s)))
            goto done;
        say(&r, "step %zu/%zu %s", s + 1, c.n_steps, name);
        r.outputs = json_object();
        double t0 = tp_now();
        tp_status srs = run_step(&r, name);
        json_object_set_new(r.outputs, "seconds", json_real(tp_now() - t0));
        char *out_txt = json_dumps(r.outputs, JSON_COMPACT | JSON_REAL_PRECISION(8));
        json_decref(r.outputs);
        r.outputs = NULL;
        now_utc(now, sizeof now);
        if (srs != TP_OK) {
            char msg[1100];
            snprintf(msg, sizeof msg, "%s", tp_last_error());
            sql(r.db, c.state, "UPDATE steps SET status = 'failed', ended = %Q, error = %Q, outputs = %Q"
                               " WHERE run_id = %lld AND idx = %d", now, msg, out_txt,
                (long long)r.run_id, (int)s);
            sql(r.db, c.state, "UPDATE runs SET status = 'failed', ended = %Q WHERE id = %lld", now,
                (long long)r.run_id);
            free(out_txt);
            if (res) snprintf(res->failed_step, sizeof res->failed_step, "%s", name);
            rc = tp_fail(srs, "workflow %s, run %lld, step '%s' failed: %s (rerun with --resume)",
                         c.name, (long long)r.run_id, name, msg);
            goto done;
        }
        rc = sql(r.db, c.state, "UPDATE steps SET status = 'done', ended = %Q, outputs = %Q"
                                " WHERE run_id = %lld AND idx = %d", now, out_txt, (long long)r.run_id,
                 (int)s);
        free(out_txt);
        if (rc != TP_OK) goto done;
        if (res) res->steps_run++;
    }
    now_utc(now, sizeof now);
    rc = sql(r.db, c.state, "UPDATE runs SET status = 'done', ended = %Q WHERE id = %lld", now,
             (long long)r.run_id);
    say(&r, "workflow %s: run %lld done", c.name, (long long)r.run_id);
done:
    json_decref(r.outputs);
    sqlite3_finalize(st);
    sqlite3_free(err);
    if (r.db) sqlite3_close(r.db);
    if (lock_fd >= 0) close(lock_fd);
    config_free(&c);
    return rc;
}

tp_status tp_workflow_status(const char *yaml_path, tp_frame **out) {
    tp_status rc;
    wf_config c;
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    tp_frame *f = NULL;
    enum { NC = 8 };
    tp_column *cols[NC] = {0};
    static const char *names[NC] = {"run", "as_of", "step", "status", "started", "ended", "attempts",
                                    "error"};
    *out = NULL;
    if ((rc = config_load(yaml_path, &c)) != TP_OK) return rc;
    for (int k = 0; k < NC; k++)
        if ((rc = tp_column_new(names[k], k == 0 || k == 6 ? TP_DTYPE_I64 : TP_DTYPE_STR, 16,
                                &cols[k])))
            goto done;
    if (sqlite3_open_v2(c.state, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        rc = tp_fail(TP_ERR_NOTFOUND, "workflow '%s' has no state yet ('%s')", c.name, c.state);
        goto done;
    }
    if (sqlite3_prepare_v2(db, "SELECT r.id, r.as_of, s.name, s.status, s.started, s.ended,"
                               " s.attempts, s.error FROM runs r JOIN steps s ON s.run_id = r.id"
                               " WHERE r.workflow = ? ORDER BY r.id DESC, s.idx", -1, &st,
                           NULL) != SQLITE_OK) {
        rc = tp_fail(TP_ERR_INTERNAL, "workflow state '%s': %s", c.state, sqlite3_errmsg(db));
        goto done;
    }
    sqlite3_bind_text(st, 1, c.name, -1, SQLITE_TRANSIENT);
    while (sqlite3_step(st) == SQLITE_ROW) {
        for (int k = 0; k < NC && rc == TP_OK; k++) {
            if (k == 0 || k == 6) rc = tp_column_push_i64(cols[k], sqlite3_column_int64(st, k));
            else if (sqlite3_column_type(st, k) == SQLITE_NULL) rc = tp_column_push_null(cols[k]);
            else {
                const char *s = (const char *)sqlite3_column_text(st, k);
                rc = tp_column_push_str(cols[k], s, strlen(s));
            }
        }
        if (rc) goto done;
    }
    if ((rc = tp_frame_new(&f))) goto done;
    for (int k = 0; k < NC; k++) {
        if ((rc = tp_frame_add_take(f, cols[k]))) goto done;
        cols[k] = NULL;
    }
    *out = f;
    f = NULL;
done:
    for (int k = 0; k < NC; k++) tp_column_free(cols[k]);
    tp_frame_free(f);
    sqlite3_finalize(st);
    if (db) sqlite3_close(db);
    config_free(&c);
    return rc;
}

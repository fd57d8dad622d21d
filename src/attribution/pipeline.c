/* pipeline.c: `touchpoint pipeline`. Parses the pipeline YAML with libyaml (unknown keys and
 * wrong types are errors naming the key and line), then runs simulate -> journeys -> attribute
 * -> evaluate -> report through the library functions, recording each step in
 * OUTPUT/_pipeline/state.json (jansson) with fingerprints (size + mtime of every input and output
 * file, hash of the step's settings) so --resume skips what has not changed. */
#include "touchpoint/pipeline.h"
#include "touchpoint/attribution.h"
#include "touchpoint/io.h"
#include "touchpoint/journey_build.h"
#include "touchpoint/report.h"
#include "touchpoint/simulate.h"
#include "attribution/pipeline_model.h"
#include "core/yamlcfg.h"

#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

// ---- config ----

void tp_pipeline_config_free(tp_pipeline_config *c) {
    if (!c) return;
    tp_free(c->path);
    tp_free(c->input);
    tp_free(c->output);
    for (size_t i = 0; i < c->n_methods; i++) tp_free(c->methods[i]);
    tp_free(c->methods);
    tp_free(c->truth);
    tp_free(c->title);
    tp_pipeline_model_free(c->model);
    tp_free(c);
}

/* Append one string to the config's method list. */
static tp_status push_method(tp_pipeline_config *c, const char *s, size_t len) {
    char **m = tp_realloc(c->methods, (c->n_methods + 1) * sizeof *m);
    if (!m) return tp_fail(TP_ERR_NOMEM, "out of memory");
    c->methods = m;
    while (len && (*s == ' ')) s++, len--;
    while (len && s[len - 1] == ' ') len--;
    char *d = tp_malloc(len + 1);
    if (!d) return tp_fail(TP_ERR_NOMEM, "out of memory");
    memcpy(d, s, len);
    d[len] = 0;
    c->methods[c->n_methods++] = d;
    return TP_OK;
}

/* methods: [a, b] or "a,b" or all. */
static tp_status get_methods(const tp_ycfg *y, const yaml_node_t *n, tp_pipeline_config *c) {
    tp_status rc = TP_OK;
    if (n->type == YAML_SEQUENCE_NODE)
        return tp_ycfg_list_dup(y, "methods", n, TP_YCFG_NONEMPTY, &c->methods, &c->n_methods);
    const char *s = tp_ycfg_scalar(n);
    if (!s || !*s) return tp_ycfg_fail(y, n, "key 'methods' wants a list of method names");
    tp_ycfg_list_free(c->methods, c->n_methods);
    c->methods = NULL;
    c->n_methods = 0;
    while (rc == TP_OK && *s) {
        const char *e = strchr(s, ',');
        size_t l = e ? (size_t)(e - s) : strlen(s);
        if (l) rc = push_method(c, s, l);
        s += l + (e ? 1 : 0);
    }
    if (rc == TP_OK && c->n_methods == 0) return tp_ycfg_fail(y, n, "key 'methods' is empty");
    return rc;
}

/* split: 1 | "0.8,0.1,0.1" | [0.8, 0.1, 0.1] */
static tp_status get_split(const tp_ycfg *y, const yaml_node_t *n, tp_pipeline_config *c) {
    double v[4];
    size_t k = 0;
    if (n->type == YAML_SEQUENCE_NODE) {
        for (size_t i = 0; i < tp_ycfg_len(n) && k < 4; i++) {
            tp_status rc = tp_ycfg_num(y, "split", tp_ycfg_item(y, n, i), 0, INFINITY, &v[k++]);
            if (rc != TP_OK) return rc;
        }
    } else {
        const char *s = tp_ycfg_scalar(n);
        if (!s) return tp_ycfg_fail(y, n, "key 'split' wants 1 or three fractions");
        while (*s && k < 4) {
            char *end;
            v[k] = strtod(s, &end);
            if (end == s || !(v[k] >= 0) || (*end && *end != ','))
                return tp_ycfg_fail(y, n,
                                    "key 'split' wants 1 or three fractions like 0.8,0.1,0.1, not "
                                    "'%s'",
                                    tp_ycfg_scalar(n));
            k++;
            s = *end ? end + 1 : end;
        }
    }
    if (k == 1) {
        c->n_split = 1;
        c->split[0] = 1, c->split[1] = c->split[2] = 0;
        return TP_OK;
    }
    if (k != 3 || v[0] + v[1] + v[2] <= 0)
        return tp_ycfg_fail(y, n, "key 'split' wants 1 or three fractions (train, val, test)");
    c->n_split = 3;
    for (int i = 0; i < 3; i++) c->split[i] = v[i];
    return TP_OK;
}

static tp_status parse_simulate(const tp_ycfg *y, const yaml_node_t *n, tp_pipeline_config *c) {
    tp_status rc = tp_ycfg_map(y, n, "simulate", "users, campaigns, days, seed");
    const char *key;
    yaml_node_t *k, *v;
    int64_t x;
    if (rc != TP_OK) return rc;
    c->simulate = true;
    tp_ycfg_foreach(y, n, i, key, k, v) {
        if (!strcmp(key, "users")) {
            if ((rc = tp_ycfg_i64(y, "simulate.users", v, 1, INT64_C(1) << 40, &x)) == TP_OK)
                c->sim_users = x;
        } else if (!strcmp(key, "campaigns"))
            rc = tp_ycfg_int(y, "simulate.campaigns", v, TP_SIM_MIN_CAMPAIGNS, TP_SIM_MAX_CAMPAIGNS,
                             &c->sim_campaigns);
        else if (!strcmp(key, "days"))
            rc = tp_ycfg_int(y, "simulate.days", v, 1, 100000, &c->sim_days);
        else if (!strcmp(key, "seed")) {
            if ((rc = tp_ycfg_i64(y, "simulate.seed", v, 0, INT64_MAX, &x)) == TP_OK)
                c->sim_seed = (uint64_t)x;
        } else
            rc = tp_ycfg_fail(y, k, "unknown key 'simulate.%s' (known: users, campaigns, days, seed)",
                              key);
        if (rc != TP_OK) break;
    }
    return rc;
}

static const char *const KNOWN_KEYS =
    "input, output, journey_max_len, split, seed, lookback_days, methods, half_life_days, "
    "markov_order, per_touch, truth, title, simulate, model";

static tp_status parse_root(const tp_ycfg *y, const yaml_node_t *root, tp_pipeline_config *c) {
    tp_status rc = tp_ycfg_map(y, root, NULL, KNOWN_KEYS);
    const char *key;
    yaml_node_t *k, *v;
    int64_t x;
    if (rc != TP_OK) return rc;
    tp_ycfg_foreach(y, root, i, key, k, v) {
        if (!strcmp(key, "input"))
            rc = tp_ycfg_str(y, key, v, 0, &c->input);
        else if (!strcmp(key, "output"))
            rc = tp_ycfg_str(y, key, v, 0, &c->output);
        else if (!strcmp(key, "truth"))
            rc = tp_ycfg_str(y, key, v, 0, &c->truth);
        else if (!strcmp(key, "title"))
            rc = tp_ycfg_str(y, key, v, 0, &c->title);
        else if (!strcmp(key, "journey_max_len")) {
            if ((rc = tp_ycfg_i64(y, key, v, 1, 100000, &x)) == TP_OK) c->journey_max_len = (size_t)x;
        } else if (!strcmp(key, "seed")) {
            if ((rc = tp_ycfg_i64(y, key, v, 0, INT64_MAX, &x)) == TP_OK) c->seed = (uint64_t)x;
        } else if (!strcmp(key, "markov_order"))
            rc = tp_ycfg_int(y, key, v, 1, 4, &c->markov_order);
        else if (!strcmp(key, "lookback_days"))
            rc = tp_ycfg_num(y, key, v, 0, INFINITY, &c->lookback_days);
        else if (!strcmp(key, "half_life_days")) {
            if ((rc = tp_ycfg_num(y, key, v, 0, INFINITY, &c->half_life_days)) == TP_OK &&
                c->half_life_days <= 0)
                rc = tp_ycfg_fail(y, v, "key 'half_life_days' must be positive");
        } else if (!strcmp(key, "per_touch"))
            rc = tp_ycfg_bool(y, key, v, &c->per_touch);
        else if (!strcmp(key, "split"))
            rc = get_split(y, v, c);
        else if (!strcmp(key, "methods"))
            rc = get_methods(y, v, c);
        else if (!strcmp(key, "simulate"))
            rc = parse_simulate(y, v, c);
        else if (!strcmp(key, "model")) /* the attention model: pipeline_model.c */
            rc = tp_pipeline_model_parse(y, v, &c->model);
        else
            rc = tp_ycfg_fail(y, k, "unknown key '%s' (known: %s)", key, KNOWN_KEYS);
        if (rc != TP_OK) break;
    }
    if (rc != TP_OK) return rc;
    if (!c->output) return tp_ycfg_fail(y, root, "key 'output' (the output folder) is required");
    if (!c->input && !c->simulate)
        return tp_ycfg_fail(y, root, "key 'input' is required (or a 'simulate' block to generate it)");
    return TP_OK;
}

/* A config with every default, read from the document that `loaded` says y holds. */
static tp_status parse_doc(tp_ycfg *y, tp_status loaded, tp_pipeline_config **out) {
    tp_status rc = loaded;
    tp_pipeline_config *c = rc == TP_OK ? tp_calloc(1, sizeof *c) : NULL;
    if (rc == TP_OK && (!c || !(c->path = tp_strdup(y->path))))
        rc = tp_fail(TP_ERR_NOMEM, "out of memory");
    if (rc != TP_OK) goto done;
    c->journey_max_len = 10;
    c->n_split = 1;
    c->split[0] = 1;
    c->seed = 42;
    c->half_life_days = 7;
    c->markov_order = 1;
    c->per_touch = true;
    c->sim_users = 10000;
    c->sim_campaigns = 10;
    c->sim_days = 30;
    c->sim_seed = 1;
    if ((rc = parse_root(y, tp_ycfg_root(y), c)) != TP_OK) goto done;
    if (c->methods == NULL && (rc = push_method(c, "all", 3)) != TP_OK) goto done;
    *out = c;
    c = NULL;
done:
    tp_ycfg_close(y);
    tp_pipeline_config_free(c);
    return rc;
}

tp_status tp_pipeline_config_parse(const char *text, size_t len, const char *path,
                                   tp_pipeline_config **out) {
    tp_ycfg y = {.path = path ? path : "(config)", .what = "pipeline config"};
    return parse_doc(&y, tp_ycfg_load_text(&y, text, len), out);
}

tp_status tp_pipeline_config_read(const char *path, tp_pipeline_config **out) {
    tp_ycfg y = {.path = path, .what = "pipeline config"};
    return parse_doc(&y, tp_ycfg_load_file(&y), out);
}

// ---- fingerprints ----

static uint64_t fnv1a(uint64_t h, const void *p, size_t n) {
    const unsigned char *s = p;
    for (size_t i = 0; i < n; i++) h = (h ^ s[i]) * 0x100000001b3ULL;
    return h;
}
#define FNV_INIT 0xcbf29ce484222325ULL

static int64_t mtime_ns(const struct stat *st) {
    return (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
}
static int cmp_cstr(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* {"path", "size", "mtime_ns", "files", "hash"}: a file, or every visible file of a folder
 * (recursively, sorted by name, each name+size+mtime in the hash); {"path", "missing": true}. */
static json_t *fingerprint(const char *path) {
    struct stat st;
    json_t *o = json_object();
    if (!o) return NULL;
    json_object_set_new(o, "path", json_string(path));
    if (stat(path, &st) != 0) {
        json_object_set_new(o, "missing", json_true());
        return o;
    }
    uint64_t h = FNV_INIT;
    int64_t size = 0, mt = 0, files = 0;
    if (S_ISDIR(st.st_mode)) {
        /* one level of listing per folder, recursing into sub-folders */
        char **stack = NULL, **names = NULL;
        size_t ns = 0, scap = 0;
        if (tp_grow((void **)&stack, &scap, 1, sizeof *stack) != TP_OK) goto fail;
        stack[ns++] = tp_strdup(path);
        while (ns) {
            char *dir = stack[--ns];
            DIR *d = dir ? opendir(dir) : NULL;
            size_t nn = 0, ncap = 0;
            struct dirent *e;
            while (d && (e = readdir(d))) {
                if (e->d_name[0] == '.' || strstr(e->d_name, ".tmp-")) continue;
                size_t l = strlen(dir) + strlen(e->d_name) + 2;
                if (tp_grow((void **)&names, &ncap, nn + 1, sizeof *names) != TP_OK) break;
                if (!(names[nn] = tp_malloc(l))) break;
                snprintf(names[nn++], l, "%s/%s", dir, e->d_name);
            }
            if (d) closedir(d);
            qsort(names, nn, sizeof *names, cmp_cstr);
            for (size_t i = 0; i < nn; i++) {
                struct stat fs;
                if (stat(names[i], &fs) == 0 && S_ISDIR(fs.st_mode)) {
                    if (tp_grow((void **)&stack, &scap, ns + 1, sizeof *stack) == TP_OK) {
                        stack[ns++] = names[i];
                        names[i] = NULL;
                        continue;
                    }
                } else if (stat(names[i], &fs) == 0) {
                    int64_t m = mtime_ns(&fs);
                    h = fnv1a(h, names[i], strlen(names[i]) + 1);
                    h = fnv1a(h, &fs.st_size, sizeof fs.st_size);
                    h = fnv1a(h, &m, sizeof m);
                    size += fs.st_size;
                    if (m > mt) mt = m;
                    files++;
                }
                tp_free(names[i]);
            }
            tp_free(dir);
            tp_free(names);
            names = NULL;
        }
        tp_free(stack);
    } else {
        size = st.st_size;
        mt = mtime_ns(&st);
        files = 1;
        h = fnv1a(h, &size, sizeof size);
        h = fnv1a(h, &mt, sizeof mt);
    }
    char hex[20];
    snprintf(hex, sizeof hex, "%016llx", (unsigned long long)h);
    json_object_set_new(o, "size", json_integer(size));
    json_object_set_new(o, "mtime_ns", json_integer(mt));
    json_object_set_new(o, "files", json_integer(files));
    json_object_set_new(o, "hash", json_string(hex));
    return o;
fail:
    json_decref(o);
    return NULL;
}

static json_t *fingerprints(char *const *paths, size_t n, bool only_existing) {
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++) {
        json_t *f = fingerprint(paths[i]);
        if (!f) {
            json_decref(a);
            return NULL;
        }
        if (only_existing && json_object_get(f, "missing"))
            json_decref(f);
        else
            json_array_append_new(a, f);
    }
    return a;
}

// ---- the run ----

typedef struct pctx {
    const tp_pipeline_config *c;
    char *dir_sim, *dir_journeys, *dir_attr, *dir_eval, *dir_report, *dir_state;
    char *impressions, *truth, *state_path, *eval_path, *report_path;
    char **method_names; /* canonical names ("time-decay"), after expansion of "all" */
    tp_attr_method *methods;
    size_t n_methods;
    tp_pipeline_eval_row *eval;
    size_t n_eval;
} pctx;

/* A growable list of owned paths. */
typedef struct plist {
    char **p;
    size_t n, cap;
} plist;
static tp_status plist_add(plist *l, const char *a, const char *b) {
    tp_status rc = tp_grow((void **)&l->p, &l->cap, l->n + 1, sizeof *l->p);
    if (rc != TP_OK) return rc;
    size_t n = strlen(a) + (b ? strlen(b) + 1 : 0) + 1;
    if (!(l->p[l->n] = tp_malloc(n))) return tp_fail(TP_ERR_NOMEM, "out of memory");
    if (b)
        snprintf(l->p[l->n], n, "%s/%s", a, b);
    else
        snprintf(l->p[l->n], n, "%s", a);
    l->n++;
    return TP_OK;
}
static void plist_free(plist *l) {
    for (size_t i = 0; i < l->n; i++) tp_free(l->p[i]);
    tp_free(l->p);
    memset(l, 0, sizeof *l);
}

static char *path_join(const char *a, const char *b) {
    size_t n = strlen(a) + strlen(b) + 2;
    char *p = tp_malloc(n);
    if (p) snprintf(p, n, "%s%s%s", a, (*a && a[strlen(a) - 1] == '/') ? "" : "/", b);
    return p;
}

/* Expand and check the method names ("all" = every method); errors name the bad word. */
static tp_status resolve_methods(pctx *x) {
    unsigned mask = 0;
    size_t n = 0;
    tp_attr_method order[TP_ATTR_N_METHODS];
    for (size_t i = 0; i < x->c->n_methods; i++) {
        const char *s = x->c->methods[i];
        if (!strcmp(s, "all")) {
            for (int m = 0; m < TP_ATTR_N_METHODS; m++)
                if (!(mask & (1u << m))) mask |= 1u << m, order[n++] = (tp_attr_method)m;
            continue;
        }
        tp_attr_method m;
        tp_status rc = tp_attr_method_parse(s, &m);
        if (rc != TP_OK) return tp_fail_context(rc, "in 'methods' of '%s'", x->c->path);
        if (!(mask & (1u << m))) mask |= 1u << m, order[n++] = m;
    }
    x->methods = tp_calloc(n ? n : 1, sizeof *x->methods);
    x->method_names = tp_calloc(n ? n : 1, sizeof *x->method_names);
    if (!x->methods || !x->method_names) return tp_fail(TP_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        x->methods[i] = order[i];
        if (!(x->method_names[i] = tp_strdup(tp_attr_method_name(order[i]))))
            return tp_fail(TP_ERR_NOMEM, "out of memory");
        x->n_methods = i + 1;
    }
    return TP_OK;
}

/* The credit files of the configured methods (and their per-touch files when written). */
static tp_status credit_files(const pctx *x, plist *l, bool touches) {
    tp_status rc = TP_OK;
    char name[128];
    for (size_t i = 0; i < x->n_methods && rc == TP_OK; i++) {
        snprintf(name, sizeof name, "%s.parquet", x->method_names[i]);
        rc = plist_add(l, x->dir_attr, name);
        if (rc == TP_OK && touches && x->c->per_touch) {
            snprintf(name, sizeof name, "%s_touches.parquet", x->method_names[i]);
            rc = plist_add(l, x->dir_attr, name);
        }
    }
    return rc;
}

static void cfg_methods(const pctx *x, char *buf, size_t cap) {
    size_t k = 0;
    buf[0] = 0;
    for (size_t i = 0; i < x->c->n_methods && k < cap; i++)
        k += (size_t)snprintf(buf + k, cap - k, "%s%s", i ? "," : "", x->c->methods[i]);
}

typedef struct step {
    const char *name;
    char cfg[1024]; /* the settings the step depends on, canonical text */
    plist inputs, outputs;
    tp_status (*plan)(pctx *x, struct step *s); /* fill cfg, inputs, outputs */
    tp_status (*run)(pctx *x, struct step *s);
} step;

// ---- simulate ----

static tp_status plan_simulate(pctx *x, step *s) {
    const tp_pipeline_config *c = x->c;
    snprintf(s->cfg, sizeof s->cfg, "users=%lld;campaigns=%d;days=%d;seed=%llu;out=%s;truth=%s",
             (long long)c->sim_users, c->sim_campaigns, c->sim_days,
             (unsigned long long)c->sim_seed, x->impressions, x->truth);
    tp_status rc = plist_add(&s->outputs, x->impressions, NULL);
    if (rc == TP_OK) rc = plist_add(&s->outputs, x->truth, NULL);
    return rc;
}
static tp_status parent_dir(const char *path) {
    char *d = tp_strdup(path);
    if (!d) return tp_fail(TP_ERR_NOMEM, "out of memory");
    char *slash = strrchr(d, '/');
    tp_status rc = TP_OK;
    if (slash && slash != d) {
        *slash = 0;
        rc = tp_mkdirs(d);
    }
    tp_free(d);
    return rc;
}
static tp_status run_simulate(pctx *x, step *s) {
    (void)s;
    const tp_pipeline_config *c = x->c;
    tp_sim_opts o;
    tp_sim_opts_default(&o);
    o.users = c->sim_users;
    o.campaigns = c->sim_campaigns;
    o.days = c->sim_days;
    o.seed = c->sim_seed;
    o.truth = true;
    tp_status rc = parent_dir(x->impressions);
    if (rc == TP_OK) rc = parent_dir(x->truth);
    if (rc == TP_OK) rc = tp_simulate_impressions(&o, x->impressions, x->truth, NULL);
    return rc;
}

// ---- journeys ----

static tp_status plan_journeys(pctx *x, step *s) {
    const tp_pipeline_config *c = x->c;
    snprintf(s->cfg, sizeof s->cfg,
             "input=%s;max_len=%zu;split=%.17g,%.17g,%.17g/%zu;seed=%llu;lookback_days=%.17g",
             x->impressions, c->journey_max_len, c->split[0], c->split[1], c->split[2], c->n_split,
             (unsigned long long)c->seed, c->lookback_days);
    tp_status rc = plist_add(&s->inputs, x->impressions, NULL);
    if (rc == TP_OK) rc = plist_add(&s->outputs, x->dir_journeys, NULL);
    return rc;
}
static tp_status run_journeys(pctx *x, step *s) {
    (void)s;
    const tp_pipeline_config *c = x->c;
    tp_journeys_build_opts o;
    tp_journeys_stats st = {0};
    tp_journeys_build_opts_default(&o);
    o.max_len = c->journey_max_len;
    o.lookback_seconds = (int64_t)llround(c->lookback_days * 86400.0);
    o.n_split = c->n_split;
    for (int i = 0; i < 3; i++) o.split[i] = c->split[i];
    o.seed = c->seed;
    tp_status rc = tp_mkdirs(x->dir_journeys);
    if (rc == TP_OK) rc = tp_journeys_write(x->impressions, x->dir_journeys, &o, &st);
    tp_journeys_stats_clear(&st);
    if (rc != TP_OK) return rc;
    /* a previous run with the other split layout must not be read back with this one */
    static const char *const three[] = {"train.parquet", "val.parquet", "test.parquet"};
    for (int i = 0; i < (c->n_split == 1 ? 3 : 1); i++) {
        char *p = path_join(x->dir_journeys, c->n_split == 1 ? three[i] : "all.parquet");
        if (!p) return tp_fail(TP_ERR_NOMEM, "out of memory");
        if (unlink(p) != 0 && errno != ENOENT)
            rc = tp_fail(TP_ERR_IO, "cannot remove stale '%s': %s", p, strerror(errno));
        tp_free(p);
    }
    return rc;
}

// ---- attribute ----

static tp_status plan_attribute(pctx *x, step *s) {
    const tp_pipeline_config *c = x->c;
    char m[512];
    cfg_methods(x, m, sizeof m);
    snprintf(s->cfg, sizeof s->cfg,
             "methods=%s;half_life_days=%.17g;markov_order=%d;seed=%llu;per_touch=%d", m,
             c->half_life_days, c->markov_order, (unsigned long long)c->seed, (int)c->per_touch);
    tp_status rc = resolve_methods(x);
    if (rc == TP_OK) rc = plist_add(&s->inputs, x->dir_journeys, NULL);
    if (rc == TP_OK) rc = credit_files(x, &s->outputs, true);
    return rc;
}
static tp_status run_attribute(pctx *x, step *s) {
    (void)s;
    const tp_pipeline_config *c = x->c;
    tp_journeys *j = NULL;
    tp_credit *cr = NULL;
    tp_attr_opts o;
    tp_attr_opts_default(&o);
    o.half_life_days = c->half_life_days;
    o.markov_order = c->markov_order;
    o.seed = c->seed;
    o.per_touch = c->per_touch;
    tp_status rc = tp_journeys_read(x->dir_journeys, &j);
    if (rc == TP_OK) rc = tp_mkdirs(x->dir_attr);
    for (size_t i = 0; rc == TP_OK && i < x->n_methods; i++) {
        tp_log(TP_LOG_INFO, "pipeline: attribute: %s", x->method_names[i]);
        rc = tp_attribute(j, x->methods[i], &o, &cr);
        if (rc == TP_OK) rc = tp_credit_write(cr, j, x->dir_attr);
        if (rc == TP_OK && !c->per_touch) { /* per-touch credit of an earlier run is stale now */
            char name[128], *p;
            snprintf(name, sizeof name, "%s_touches.parquet", x->method_names[i]);
            if (!(p = path_join(x->dir_attr, name))) rc = tp_fail(TP_ERR_NOMEM, "out of memory");
            else if (unlink(p) != 0 && errno != ENOENT)
                rc = tp_fail(TP_ERR_IO, "cannot remove stale '%s': %s", p, strerror(errno));
            tp_free(p);
        }
        if (rc != TP_OK) rc = tp_fail_context(rc, "method '%s'", x->method_names[i]);
        tp_credit_free(cr);
        cr = NULL;
    }
    tp_journeys_free(j);
    return rc;
}

// ---- the attention model (a model: block; settings and jobs in pipeline_model.c) ----

static tp_status plan_train(pctx *x, step *s) {
    char p[4096];
    tp_pipeline_model_settings(x->c->model, s->cfg, sizeof s->cfg);
    tp_status rc = plist_add(&s->inputs, x->dir_journeys, NULL);
    tp_pipeline_model_paths(x->c->output, p, NULL, NULL, sizeof p);
    if (rc == TP_OK) rc = plist_add(&s->outputs, p, NULL);
    tp_pipeline_model_paths(x->c->output, NULL, p, NULL, sizeof p);
    if (rc == TP_OK) rc = plist_add(&s->outputs, p, NULL);
    return rc;
}
static tp_status run_train(pctx *x, step *s) {
    return tp_pipeline_model_train(x->c->model, x->dir_journeys, s->outputs.p[0]);
}
static tp_status plan_predict(pctx *x, step *s) {
    char p[4096];
    tp_pipeline_model_paths(x->c->output, p, NULL, NULL, sizeof p);
    snprintf(s->cfg, sizeof s->cfg, "model=%.900s;threads=%d", p, x->c->model->o.threads);
    tp_status rc = plist_add(&s->inputs, p, NULL);
    if (rc == TP_OK) rc = plist_add(&s->inputs, x->dir_journeys, NULL);
    tp_pipeline_model_paths(x->c->output, NULL, NULL, p, sizeof p);
    if (rc == TP_OK) rc = plist_add(&s->outputs, p, NULL);
    if (rc == TP_OK) rc = plist_add(&s->outputs, x->dir_attr, "attention.parquet");
    if (rc == TP_OK) rc = plist_add(&s->outputs, x->dir_attr, "attention_touches.parquet");
    return rc;
}
static tp_status run_predict(pctx *x, step *s) {
    return tp_pipeline_model_predict(x->c->model, s->inputs.p[0], x->dir_journeys, s->outputs.p[0],
                                     x->dir_attr);
}

// ---- evaluate ----

static void eval_rows_free(tp_pipeline_eval_row *r, size_t n) {
    for (size_t i = 0; i < n; i++) {
        tp_free(r[i].method);
        tp_free(r[i].worst_campaign);
    }
    tp_free(r);
}
static int cmp_eval(const void *a, const void *b) {
    const tp_pipeline_eval_row *x = a, *y = b;
    return (x->tvd > y->tvd) - (x->tvd < y->tvd);
}
/* The rows of evaluation.json, best first. */
static tp_status load_eval(pctx *x) {
    json_error_t err;
    json_t *root = json_load_file(x->eval_path, 0, &err);
    if (!root) return tp_fail(TP_ERR_FORMAT, "cannot read '%s': %s", x->eval_path, err.text);
    json_t *ms = json_object_get(root, "methods");
    size_t n = json_array_size(ms);
    tp_pipeline_eval_row *r = tp_calloc(n ? n : 1, sizeof *r);
    tp_status rc = TP_OK;
    if (!r) rc = tp_fail(TP_ERR_NOMEM, "out of memory");
    for (size_t i = 0; rc == TP_OK && i < n; i++) {
        json_t *e = json_array_get(ms, i);
        const char *m = json_string_value(json_object_get(e, "method"));
        const char *w = json_string_value(json_object_get(e, "worst_campaign"));
        json_t *sp = json_object_get(e, "spearman");
        r[i].method = tp_strdup(m ? m : "?");
        r[i].worst_campaign = tp_strdup(w ? w : "");
        r[i].tvd = json_number_value(json_object_get(e, "tvd"));
        r[i].spearman = json_is_number(sp) ? json_number_value(sp) : NAN;
        if (!r[i].method || !r[i].worst_campaign) rc = tp_fail(TP_ERR_NOMEM, "out of memory");
    }
    json_decref(root);
    if (rc != TP_OK) {
        eval_rows_free(r, n);
        return rc;
    }
    qsort(r, n, sizeof *r, cmp_eval);
    eval_rows_free(x->eval, x->n_eval);
    x->eval = r;
    x->n_eval = n;
    return TP_OK;
}
static tp_status plan_evaluate(pctx *x, step *s) {
    char m[512];
    cfg_methods(x, m, sizeof m);
    snprintf(s->cfg, sizeof s->cfg, "truth=%s;methods=%s", x->truth, m);
    tp_status rc = plist_add(&s->inputs, x->truth, NULL);
    if (rc == TP_OK) rc = credit_files(x, &s->inputs, false);
    if (rc == TP_OK && x->c->model) rc = plist_add(&s->inputs, x->dir_attr, "attention.parquet");
    if (rc == TP_OK) rc = plist_add(&s->outputs, x->eval_path, NULL);
    return rc;
}
static tp_status run_evaluate(pctx *x, step *s) {
    tp_truth *t = NULL;
    size_t n_ev = x->n_methods + (x->c->model != NULL); /* + the model's attention credit */
    tp_eval *ev = tp_calloc(n_ev ? n_ev : 1, sizeof *ev);
    size_t n = 0;
    if (!ev) return tp_fail(TP_ERR_NOMEM, "out of memory");
    tp_status rc = tp_truth_read(x->truth, &t);
    for (size_t i = 0; rc == TP_OK && i < n_ev; i++) {
        rc = tp_eval_credit_file(s->inputs.p[1 + i], t, &ev[i]);
        if (rc == TP_OK) n = i + 1;
    }
    if (rc == TP_OK) rc = tp_mkdirs(x->dir_eval);
    if (rc == TP_OK) rc = tp_eval_write_json(ev, n, x->truth, x->eval_path);
    for (size_t i = 0; i < n; i++) tp_eval_clear(&ev[i]);
    tp_free(ev);
    tp_truth_free(t);
    if (rc == TP_OK) rc = load_eval(x);
    return rc;
}

// ---- report ----

static tp_status plan_report(pctx *x, step *s) {
    char m[512];
    cfg_methods(x, m, sizeof m);
    snprintf(s->cfg, sizeof s->cfg, "title=%s;truth=%s;methods=%s;per_touch=%d",
             x->c->title ? x->c->title : "", x->truth ? x->truth : "", m, (int)x->c->per_touch);
    tp_status rc = plist_add(&s->inputs, x->dir_journeys, NULL);
    if (rc == TP_OK) rc = credit_files(x, &s->inputs, true);
    if (rc == TP_OK && x->truth) rc = plist_add(&s->inputs, x->truth, NULL);
    if (rc == TP_OK && x->c->model) { /* the model's credit, scores and metrics */
        char p[4096];
        rc = plist_add(&s->inputs, x->dir_attr, "attention.parquet");
        tp_pipeline_model_paths(x->c->output, NULL, p, NULL, sizeof p);
        if (rc == TP_OK) rc = plist_add(&s->inputs, p, NULL);
        tp_pipeline_model_paths(x->c->output, NULL, NULL, p, sizeof p);
        if (rc == TP_OK) rc = plist_add(&s->inputs, p, NULL);
    }
    if (rc == TP_OK) rc = plist_add(&s->outputs, x->report_path, NULL);
    if (rc == TP_OK) rc = plist_add(&s->outputs, x->dir_report, "campaign_attention.parquet");
    return rc;
}
static tp_status run_report(pctx *x, step *s) {
    (void)s;
    plist credit = {0};
    tp_status rc = credit_files(x, &credit, false);
    tp_report_opts o = {
        .journeys = x->dir_journeys,
        .credit = (const char *const *)credit.p,
        .n_credit = credit.n,
        .out_dir = x->dir_report,
        .truth = x->truth,
        .title = x->c->title,
    };
    char model_metrics[4096], model_scores[4096];
    if (rc == TP_OK && x->c->model) { /* the model as a method, its attention, its curves */
        rc = plist_add(&credit, x->dir_attr, "attention.parquet");
        tp_pipeline_model_paths(x->c->output, NULL, model_metrics, model_scores, sizeof model_scores);
        o.credit = (const char *const *)credit.p;
        o.n_credit = credit.n;
        o.attention = model_scores;
        o.model_metrics = model_metrics;
    }
    /* without per-touch credit there is no attention table: drop one left by an earlier run */
    char *stale = x->c->per_touch || x->c->model ? NULL : path_join(x->dir_report, "campaign_attention.parquet");
    if (stale && unlink(stale) != 0 && errno != ENOENT)
        rc = tp_fail(TP_ERR_IO, "cannot remove stale '%s': %s", stale, strerror(errno));
    tp_free(stale);
    if (rc == TP_OK) rc = tp_report_run(&o, NULL);
    plist_free(&credit);
    return rc;
}

// ---- state ----

static void iso_now(char *buf, size_t cap) {
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static json_t *find_step(json_t *state, const char *name) {
    json_t *steps = json_object_get(state, "steps"), *e;
    size_t i;
    json_array_foreach(steps, i, e) {
        const char *n = json_string_value(json_object_get(e, "name"));
        if (n && !strcmp(n, name)) return e;
    }
    return NULL;
}

static tp_status state_write(const pctx *x, json_t *state) {
    char *text = json_dumps(state, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    if (!text) return tp_fail(TP_ERR_NOMEM, "out of memory writing '%s'", x->state_path);
    size_t n = strlen(text);
    char *t2 = tp_malloc(n + 2);
    tp_status rc;
    if (!t2)
        rc = tp_fail(TP_ERR_NOMEM, "out of memory");
    else {
        memcpy(t2, text, n);
        t2[n] = '\n';
        rc = tp_atomic_write(x->state_path, t2, n + 1);
        tp_free(t2);
    }
    free(text);
    return rc;
}

/* A finished record whose settings, inputs and outputs all match now. */
static bool can_skip(json_t *prev, const char *cfg_hash, json_t *inputs) {
    if (!prev) return false;
    const char *st = json_string_value(json_object_get(prev, "status"));
    const char *h = json_string_value(json_object_get(prev, "config_hash"));
    if (!st || strcmp(st, "done") != 0 || !h || strcmp(h, cfg_hash) != 0) return false;
    if (!json_equal(json_object_get(prev, "inputs"), inputs)) return false;
    json_t *outs = json_object_get(prev, "outputs"), *o;
    size_t i;
    if (!json_is_array(outs)) return false;
    json_array_foreach(outs, i, o) {
        const char *p = json_string_value(json_object_get(o, "path"));
        json_t *now = p ? fingerprint(p) : NULL;
        bool same = now && json_equal(now, o);
        json_decref(now);
        if (!same) return false;
    }
    return true;
}

// ---- driver ----

void tp_pipeline_result_clear(tp_pipeline_result *res) {
    if (!res) return;
    for (size_t i = 0; i < res->n_steps; i++) tp_free(res->step[i]);
    tp_free(res->step);
    tp_free(res->status);
    tp_free(res->state_path);
    tp_free(res->report_path);
    tp_free(res->evaluation_path);
    eval_rows_free(res->eval, res->n_eval);
    tp_free(res->failed_step);
    memset(res, 0, sizeof *res);
}

static void pctx_free(pctx *x) {
    tp_free(x->dir_sim);
    tp_free(x->dir_journeys);
    tp_free(x->dir_attr);
    tp_free(x->dir_eval);
    tp_free(x->dir_report);
    tp_free(x->dir_state);
    tp_free(x->impressions);
    tp_free(x->truth);
    tp_free(x->state_path);
    tp_free(x->eval_path);
    tp_free(x->report_path);
    for (size_t i = 0; i < x->n_methods; i++) tp_free(x->method_names[i]);
    tp_free(x->method_names);
    tp_free(x->methods);
    eval_rows_free(x->eval, x->n_eval);
}

tp_status tp_pipeline_run(const tp_pipeline_config *c, const tp_pipeline_opts *opts,
                          tp_pipeline_result *res) {
    tp_status rc = TP_OK;
    pctx x = {.c = c};
    json_t *prev = NULL, *state = NULL, *steps_json = NULL;
    step steps[7];
    size_t n_steps = 0;
    tp_pipeline_opts dflt = {0};
    char msg[1024] = "";
    char *lock_path = NULL;
    int lock_fd = -1;
    if (!opts) opts = &dflt;
    if (res) memset(res, 0, sizeof *res);
    memset(steps, 0, sizeof steps);
    if (!c || !c->output) return tp_fail(TP_ERR_ARG, "pipeline: no config or no output folder");

    x.dir_sim = path_join(c->output, "simulate");
    x.dir_journeys = path_join(c->output, "journeys");
    x.dir_attr = path_join(c->output, "attribution");
    x.dir_eval = path_join(c->output, "evaluation");
    x.dir_report = path_join(c->output, "report");
    x.dir_state = path_join(c->output, "_pipeline");
    x.state_path = path_join(c->output, "_pipeline/state.json");
    x.eval_path = path_join(c->output, "evaluation/evaluation.json");
    x.report_path = path_join(c->output, "report/report.html");
    x.impressions =
        c->input ? tp_strdup(c->input) : path_join(c->output, "simulate/impressions.parquet");
    x.truth = c->truth      ? tp_strdup(c->truth)
              : c->simulate ? path_join(c->output, "simulate/truth.json")
                            : NULL;
    if (!x.dir_sim || !x.dir_journeys || !x.dir_attr || !x.dir_eval || !x.dir_report ||
        !x.dir_state || !x.state_path || !x.eval_path || !x.report_path || !x.impressions ||
        ((c->truth || c->simulate) && !x.truth)) {
        rc = tp_fail(TP_ERR_NOMEM, "out of memory");
        goto done;
    }

    if (c->simulate)
        steps[n_steps++] = (step){.name = "simulate", .plan = plan_simulate, .run = run_simulate};
    steps[n_steps++] = (step){.name = "journeys", .plan = plan_journeys, .run = run_journeys};
    steps[n_steps++] = (step){.name = "attribute", .plan = plan_attribute, .run = run_attribute};
    if (c->model) {
        steps[n_steps++] = (step){.name = "train", .plan = plan_train, .run = run_train};
        steps[n_steps++] = (step){.name = "predict", .plan = plan_predict, .run = run_predict};
    }
    if (x.truth)
        steps[n_steps++] = (step){.name = "evaluate", .plan = plan_evaluate, .run = run_evaluate};
    steps[n_steps++] = (step){.name = "report", .plan = plan_report, .run = run_report};

    if ((rc = tp_mkdirs(x.dir_state)) != TP_OK) goto done;
    /* one run per output folder at a time: the lock goes away with the process */
    lock_path = path_join(x.dir_state, "lock");
    if (!lock_path) {
        rc = tp_fail(TP_ERR_NOMEM, "out of memory");
        goto done;
    }
    lock_fd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (lock_fd < 0) {
        rc = tp_fail(TP_ERR_IO, "cannot open '%s': %s", lock_path, strerror(errno));
        goto done;
    }
    if (flock(lock_fd, LOCK_EX | LOCK_NB) != 0) {
        rc = tp_fail(errno == EWOULDBLOCK ? TP_ERR_ARG : TP_ERR_IO,
                     "another pipeline is running on '%s' (lock '%s'): %s", c->output, lock_path,
                     errno == EWOULDBLOCK ? "wait for it to finish" : strerror(errno));
        goto done;
    }
    if (opts->resume) {
        struct stat st;
        if (stat(x.state_path, &st) == 0) {
            json_error_t err;
            prev = json_load_file(x.state_path, 0, &err);
            if (!prev)
                tp_log(TP_LOG_WARN, "pipeline: ignoring unreadable state '%s' (line %d: %s)",
                       x.state_path, err.line, err.text);
        }
    }
    state = json_object();
    steps_json = json_array();
    if (!state || !steps_json) {
        rc = tp_fail(TP_ERR_NOMEM, "out of memory");
        goto done;
    }
    json_object_set_new(state, "version", json_integer(1));
    json_object_set_new(state, "config", json_string(c->path ? c->path : ""));
    json_object_set(state, "steps", steps_json);
    for (size_t i = 0; i < n_steps; i++) {
        json_t *r = json_object();
        json_object_set_new(r, "name", json_string(steps[i].name));
        json_object_set_new(r, "status", json_string("pending"));
        json_array_append_new(steps_json, r);
    }
    if (res) {
        res->step = tp_calloc(n_steps, sizeof *res->step);
        res->status = tp_calloc(n_steps, sizeof *res->status);
        if (!res->step || !res->status) {
            rc = tp_fail(TP_ERR_NOMEM, "out of memory");
            goto done;
        }
        res->n_steps = n_steps;
        for (size_t i = 0; i < n_steps; i++)
            if (!(res->step[i] = tp_strdup(steps[i].name))) {
                rc = tp_fail(TP_ERR_NOMEM, "out of memory");
                goto done;
            }
    }

    for (size_t i = 0; i < n_steps; i++) {
        step *s = &steps[i];
        json_t *rec = json_array_get(steps_json, i);
        char started[32], finished[32], hex[20];
        iso_now(started, sizeof started);
        double t0 = tp_now();
        rc = s->plan(&x, s);
        json_t *inputs = NULL;
        if (rc == TP_OK) {
            snprintf(hex, sizeof hex, "%016llx",
                     (unsigned long long)fnv1a(FNV_INIT, s->cfg, strlen(s->cfg)));
            inputs = fingerprints(s->inputs.p, s->inputs.n, false);
            if (!inputs) rc = tp_fail(TP_ERR_NOMEM, "out of memory");
        }
        tp_step_status st = TP_STEP_RAN;
        if (rc == TP_OK && opts->resume && can_skip(find_step(prev, s->name), hex, inputs)) {
            json_t *old = find_step(prev, s->name);
            json_array_set(steps_json, i, old);
            st = TP_STEP_SKIPPED;
            if (!strcmp(s->name, "evaluate")) rc = load_eval(&x);
        } else if (rc == TP_OK) {
            if (opts->on_event) opts->on_event(opts->ud, s->name, i, n_steps, TP_STEP_PENDING, 0);
            json_object_set_new(rec, "status", json_string("running"));
            json_object_set_new(rec, "started", json_string(started));
            json_object_set_new(rec, "config", json_string(s->cfg));
            json_object_set_new(rec, "config_hash", json_string(hex));
            json_object_set(rec, "inputs", inputs);
            if ((rc = state_write(&x, state)) == TP_OK) rc = s->run(&x, s);
        }
        json_decref(inputs);
        double secs = tp_now() - t0;
        if (rc != TP_OK) {
            snprintf(msg, sizeof msg, "%s", tp_last_error());
            iso_now(finished, sizeof finished);
            json_object_set_new(rec, "status", json_string("failed"));
            json_object_set_new(rec, "finished", json_string(finished));
            json_object_set_new(rec, "seconds", json_real(secs));
            json_object_set_new(rec, "error", json_string(msg));
            if (res) {
                res->status[i] = TP_STEP_FAILED;
                res->failed_step = tp_strdup(s->name);
            }
            if (opts->on_event) opts->on_event(opts->ud, s->name, i, n_steps, TP_STEP_FAILED, secs);
            if (state_write(&x, state) != TP_OK)
                tp_log(TP_LOG_WARN, "pipeline: could not record the failure in '%s'", x.state_path);
            rc = tp_fail(rc, "pipeline step '%s' failed: %s", s->name, msg);
            goto done;
        }
        if (st == TP_STEP_RAN) {
            json_t *outs = fingerprints(s->outputs.p, s->outputs.n, true);
            iso_now(finished, sizeof finished);
            json_object_set_new(rec, "status", json_string("done"));
            json_object_set_new(rec, "finished", json_string(finished));
            json_object_set_new(rec, "seconds", json_real(secs));
            json_object_set_new(rec, "outputs", outs ? outs : json_array());
        }
        if ((rc = state_write(&x, state)) != TP_OK) goto done;
        if (res) res->status[i] = st;
        if (opts->on_event) opts->on_event(opts->ud, s->name, i, n_steps, st, secs);
    }
    if (res) {
        res->report_path = tp_strdup(x.report_path);
        if (x.truth) res->evaluation_path = tp_strdup(x.eval_path);
        res->eval = x.eval;
        res->n_eval = x.n_eval;
        x.eval = NULL;
        x.n_eval = 0;
    }
done:
    if (res && !res->state_path && x.state_path) res->state_path = tp_strdup(x.state_path);
    for (size_t i = 0; i < n_steps; i++) {
        plist_free(&steps[i].inputs);
        plist_free(&steps[i].outputs);
    }
    if (lock_fd >= 0) close(lock_fd); /* releases the lock */
    tp_free(lock_path);
    json_decref(prev);
    json_decref(state);
    json_decref(steps_json);
    pctx_free(&x);
    return rc;
}

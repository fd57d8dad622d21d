/* score.c: the profile table (issue #5 §5). Every group's production model scores every user of
 * the feature set at an as-of date; the result is committed as a new snapshot folder (long and
 * wide Parquet + index.bin) built under a temporary name and renamed, then LATEST and the
 * `current` symlink are swapped atomically, so a failed or killed run never leaves a half-written
 * profile. index.bin (sorted uids + a row of scores per uid) is mapped by tp_profile_open for
 * lookups by binary search: what the HTTP service will serve. */
#include "touchpoint/propensity.h"
#include "touchpoint/registry.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

// index.bin: "TPPROF01", u64 users U, u32 groups G, i32 as_of, then per group u32 version,
// u32 name length, name bytes; zero padding to 8 bytes; int64 uid[U] sorted; double score[U*G].

void tp_profile_opts_default(tp_profile_opts *o) {
    memset(o, 0, sizeof *o);
    o->keep = 3;
}

static tp_status fsync_path(const char *path) {
    int fd = open(path, O_RDONLY | O_DIRECTORY);
    if (fd < 0) return tp_fail(TP_ERR_IO, "cannot open '%s': %s", path, strerror(errno));
    int e = fsync(fd) != 0 ? errno : 0;
    close(fd);
    if (e && e != EINVAL) return tp_fail(TP_ERR_IO, "cannot fsync '%s': %s", path, strerror(e));
    return TP_OK;
}

static tp_status rm_rf(const char *path) {
    DIR *d = opendir(path);
    if (!d) {
        if (unlink(path) != 0 && errno != ENOENT)
            return tp_fail(TP_ERR_IO, "cannot remove '%s': %s", path, strerror(errno));
        return TP_OK;
    }
    struct dirent *e;
    tp_status rc = TP_OK;
    char sub[4096];
    while ((e = readdir(d)) && rc == TP_OK) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
        struct stat sb;
        if (lstat(sub, &sb) == 0 && S_ISDIR(sb.st_mode)) rc = rm_rf(sub);
        else if (unlink(sub) != 0) rc = tp_fail(TP_ERR_IO, "cannot remove '%s': %s", sub, strerror(errno));
    }
    closedir(d);
    if (rc == TP_OK && rmdir(path) != 0)
        rc = tp_fail(TP_ERR_IO, "cannot remove '%s': %s", path, strerror(errno));
    return rc;
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Highest snapshot sequence number in snap_dir; removes temporary folders of dead processes. */
static int scan_snapshots(const char *snap_dir, char ***names, size_t *n_names) {
    DIR *d = opendir(snap_dir);
    int max = 0;
    *names = NULL;
    *n_names = 0;
    size_t cap = 0;
    if (!d) return 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        int pid;
        if (sscanf(e->d_name, ".tmp-%d-", &pid) == 1) {
            if (kill(pid, 0) != 0 && errno == ESRCH) {
                char p[4096];
                snprintf(p, sizeof p, "%s/%s", snap_dir, e->d_name);
                rm_rf(p); /* a killed run's leftovers */
                tp_clear_error();
            }
            continue;
        }
        int seq;
        if (sscanf(e->d_name, "%d_", &seq) == 1 && e->d_name[0] >= '0' && e->d_name[0] <= '9') {
            if (seq > max) max = seq;
            if (tp_grow((void **)names, &cap, *n_names + 1, sizeof **names) == TP_OK)
                (*names)[(*n_names)++] = tp_strdup(e->d_name);
        }
    }
    closedir(d);
    if (*n_names) qsort(*names, *n_names, sizeof **names, cmp_str);
    return max;
}

static tp_status write_index(const char *path, const int64_t *uid, size_t U, const double *scores,
                             const tp_profile_model *models, size_t G, int32_t as_of) {
    tp_atomic_file af;
    tp_status rc = tp_atomic_open(path, &af);
    if (rc != TP_OK) return rc;
    uint64_t u64 = U;
    uint32_t g32 = (uint32_t)G;
    size_t off = 0;
    bool ok = fwrite("TPPROF01", 1, 8, af.fp) == 8 && fwrite(&u64, 8, 1, af.fp) == 1 &&
              fwrite(&g32, 4, 1, af.fp) == 1 && fwrite(&as_of, 4, 1, af.fp) == 1;
    off = 24;
    for (size_t g = 0; ok && g < G; g++) {
        uint32_t v = (uint32_t)models[g].version, len = (uint32_t)strlen(models[g].group);
        ok = fwrite(&v, 4, 1, af.fp) == 1 && fwrite(&len, 4, 1, af.fp) == 1 &&
             fwrite(models[g].group, 1, len, af.fp) == len;
        off += 8 + len;
    }
    static const char zeros[8] = {0};
    if (ok && off % 8) ok = fwrite(zeros, 1, 8 - off % 8, af.fp) == 8 - off % 8;
    if (ok && U) ok = fwrite(uid, 8, U, af.fp) == U && fwrite(scores, 8, U * G, af.fp) == U * G;
    if (!ok) {
        tp_atomic_abort(&af);
        return tp_fail(TP_ERR_IO, "cannot write '%s': %s", path, strerror(errno));
    }
    return tp_atomic_commit(&af);
}

static int cmp_model(const void *a, const void *b) {
    return strcmp(((const tp_profile_model *)a)->group, ((const tp_profile_model *)b)->group);
}

tp_status tp_profile_score(tp_propensity *p, const tp_feature_defs *defs, int32_t as_of,
                           const tp_profile_model *models_in, size_t G, const char *profile_dir,
                           const tp_profile_opts *o_in, tp_profile_result *res) {
    tp_status rc = TP_OK;
    tp_profile_opts o;
    tp_profile_model *models = NULL;
    tp_pmodel *pm = NULL;
    tp_frame *mf = NULL, *lf = NULL, *wf = NULL;
    tp_pmatrix *x = NULL;
    int64_t *uid = NULL;
    double *scores = NULL, *col = NULL;
    size_t U = 0;
    char *snap = NULL, *tmp = NULL, *fin = NULL, *path = NULL, **old = NULL;
    size_t n_old = 0;
    json_t *latest = NULL;
    char *latest_txt = NULL;
    double t0 = tp_now();
    if (o_in) o = *o_in;
    else tp_profile_opts_default(&o);
    if (o.keep < 1) o.keep = 1;
    if (G == 0) return tp_fail(TP_ERR_ARG, "profile: no production model to score with");
    if (!(models = tp_malloc(G * sizeof *models))) return tp_fail(TP_ERR_NOMEM, "out of memory");
    memcpy(models, models_in, G * sizeof *models);
    qsort(models, G, sizeof *models, cmp_model);
    for (size_t g = 0; g + 1 < G; g++)
        if (!strcmp(models[g].group, models[g + 1].group)) {
            rc = tp_fail(TP_ERR_ARG, "profile: two models for group '%s'", models[g].group);
            goto done;
        }
    // ---- score ----
    for (size_t g = 0; g < G; g++) {
        if ((rc = tp_pmodel_load(models[g].model_dir, &pm)) != TP_OK) goto done;
        const char *h = tp_pmodel_defs_hash(pm);
        if (*h && strcmp(h, tp_feature_defs_hash(defs)) != 0) {
            rc = tp_fail(TP_ERR_ARG,
                         "profile: the model of group '%s' (v%d) was trained on feature definitions "
                         "%s, the definitions given hash to %s",
                         models[g].group, models[g].version, h, tp_feature_defs_hash(defs));
            goto done;
        }
        if ((rc = tp_propensity_dataset(p, models[g].group, &as_of, 1, false, &mf)) != TP_OK) goto done;
        if ((rc = tp_pmatrix_from_frame(mf, NULL, &x)) != TP_OK) goto done;
        tp_frame_free(mf);
        mf = NULL;
        if (g == 0) {
            U = x->n;
            if (!(uid = tp_malloc((U ? U : 1) * sizeof *uid)) ||
                !(scores = tp_malloc((U ? U : 1) * G * sizeof *scores)) ||
                !(col = tp_malloc((U ? U : 1) * sizeof *col))) {
                rc = tp_fail(TP_ERR_NOMEM, "out of memory (%zu users x %zu groups)", U, G);
                goto done;
            }
            memcpy(uid, x->uid, U * sizeof *uid);
            for (size_t i = 1; i < U; i++)
                if (uid[i] <= uid[i - 1]) {
                    rc = tp_fail(TP_ERR_INTERNAL, "profile: model matrix not sorted by uid at row %zu", i);
                    goto done;
                }
        } else if (x->n != U || memcmp(x->uid, uid, U * sizeof *uid) != 0) {
            rc = tp_fail(TP_ERR_INTERNAL, "profile: groups '%s' and '%s' have different users",
                         models[0].group, models[g].group);
            goto done;
        }
        if ((rc = tp_pmodel_predict(pm, x, o.n_threads, col)) != TP_OK) goto done;
        for (size_t i = 0; i < U; i++) scores[i * G + g] = col[i];
        tp_pmatrix_free(x);
        x = NULL;
        tp_pmodel_free(pm);
        pm = NULL;
    }
    // ---- frames ----
    {
        tp_column *c = NULL;
        if ((rc = tp_frame_new(&lf)) || (rc = tp_frame_new(&wf))) goto done;
        tp_column *lu = NULL, *lg = NULL, *ls = NULL, *lv = NULL, *la = NULL;
        size_t N = U * G;
        if ((rc = tp_column_new("uid", TP_DTYPE_I64, N, &lu)) ||
            (rc = tp_column_new("group", TP_DTYPE_STR, N, &lg)) ||
            (rc = tp_column_new("score", TP_DTYPE_F64, N, &ls)) ||
            (rc = tp_column_new("model_version", TP_DTYPE_I32, N, &lv)) ||
            (rc = tp_column_new("as_of", TP_DTYPE_DATE, N, &la))) {
            tp_column_free(lu), tp_column_free(lg), tp_column_free(ls), tp_column_free(lv),
                tp_column_free(la);
            goto done;
        }
        tp_column *lc[5] = {lu, lg, ls, lv, la};
        int32_t codes[1024];
        for (size_t g = 0; g < G && g < 1024; g++)
            rc = rc ? rc : tp_strdict_intern(tp_column_dict(lg), models[g].group,
                                             strlen(models[g].group), &codes[g]);
        if (G > 1024) rc = tp_fail(TP_ERR_ARG, "profile: more than 1024 groups");
        for (int k = 0; k < 5 && !rc; k++) rc = tp_column_resize(lc[k], N);
        if (!rc) {
            int64_t *vu = TP_COL(lu, int64_t);
            int32_t *vg = TP_COL(lg, int32_t), *vv = TP_COL(lv, int32_t), *va = TP_COL(la, int32_t);
            double *vs = TP_COL(ls, double);
            for (size_t i = 0; i < U; i++)
                for (size_t g = 0; g < G; g++) {
                    size_t r = i * G + g;
                    vu[r] = uid[i];
                    vg[r] = codes[g];
                    vs[r] = scores[r];
                    vv[r] = models[g].version;
                    va[r] = as_of;
                }
        }
        for (int k = 0; k < 5; k++) {
            if (!rc) rc = tp_frame_add_take(lf, lc[k]);
            else tp_column_free(lc[k]);
        }
        if (rc) goto done;
        if ((rc = tp_column_new("uid", TP_DTYPE_I64, U, &c)) || (rc = tp_column_resize(c, U)))
            goto wide_fail;
        memcpy(tp_column_data(c), uid, U * sizeof *uid);
        if ((rc = tp_frame_add_take(wf, c))) goto wide_fail;
        c = NULL;
        for (size_t g = 0; g < G; g++) {
            if ((rc = tp_column_new(models[g].group, TP_DTYPE_F64, U, &c)) ||
                (rc = tp_column_resize(c, U)))
                goto wide_fail;
            double *v = TP_COL(c, double);
            for (size_t i = 0; i < U; i++) v[i] = scores[i * G + g];
            if ((rc = tp_frame_add_take(wf, c))) goto wide_fail;
            c = NULL;
        }
    wide_fail:
        tp_column_free(c);
        if (rc) goto done;
    }
    // ---- write the snapshot under a temporary name, then commit ----
    size_t L = strlen(profile_dir) + 128;
    if (!(snap = tp_malloc(L)) || !(tmp = tp_malloc(L)) || !(fin = tp_malloc(L)) ||
        !(path = tp_malloc(L + 64))) {
        rc = tp_fail(TP_ERR_NOMEM, "out of memory");
        goto done;
    }
    snprintf(snap, L, "%s/snapshots", profile_dir);
    if ((rc = tp_mkdirs(snap)) != TP_OK) goto done;
    static int counter;
    snprintf(tmp, L, "%s/.tmp-%d-%d", snap, (int)getpid(), counter++);
    rm_rf(tmp);
    tp_clear_error();
    if ((rc = tp_mkdirs(tmp)) != TP_OK) goto done;
    snprintf(path, L + 64, "%s/profile_long.parquet", tmp);
    if ((rc = tp_table_write(lf, path, NULL)) != TP_OK) goto done;
    if (o.after_long && o.after_long(o.ud) != 0) {
        rc = tp_fail(TP_ERR_IO, "profile: injected failure after writing '%s'", path);
        goto done;
    }
    snprintf(path, L + 64, "%s/profile_wide.parquet", tmp);
    if ((rc = tp_table_write(wf, path, NULL)) != TP_OK) goto done;
    snprintf(path, L + 64, "%s/index.bin", tmp);
    if ((rc = write_index(path, uid, U, scores, models, G, as_of)) != TP_OK) goto done;
    if ((rc = fsync_path(tmp)) != TP_OK) goto done;
    int seq = scan_snapshots(snap, &old, &n_old) + 1;
    char date[16];
    {
        int y, mo, d;
        tp_days_to_civil(as_of, &y, &mo, &d);
        snprintf(date, sizeof date, "%04d-%02d-%02d", y % 10000, mo, d);
    }
    char rel[64];
    snprintf(rel, sizeof rel, "snapshots/%06d_%s", seq % 1000000, date);
    snprintf(fin, L, "%s/%s", profile_dir, rel);
    if (rename(tmp, fin) != 0) {
        rc = tp_fail(TP_ERR_IO, "cannot rename '%s' to '%s': %s", tmp, fin, strerror(errno));
        goto done;
    }
    if ((rc = fsync_path(snap)) != TP_OK) goto done;
    // LATEST (JSON) then the `current` symlink, each replaced atomically
    latest = json_pack("{s:s, s:s, s:I, s:[]}", "as_of", date, "snapshot", rel, "users",
                       (json_int_t)U, "groups");
    for (size_t g = 0; g < G; g++)
        json_array_append_new(json_object_get(latest, "groups"),
                              json_pack("{s:s, s:i}", "group", models[g].group, "version",
                                        models[g].version));
    if (!(latest_txt = json_dumps(latest, JSON_INDENT(2)))) {
        rc = tp_fail(TP_ERR_NOMEM, "out of memory");
        goto done;
    }
    snprintf(path, L + 64, "%s/LATEST", profile_dir);
    if ((rc = tp_atomic_write(path, latest_txt, strlen(latest_txt))) != TP_OK) goto done;
    {
        char lnk[4096];
        snprintf(lnk, sizeof lnk, "%s/.current-%d", profile_dir, (int)getpid());
        unlink(lnk);
        snprintf(path, L + 64, "%s/current", profile_dir);
        if (symlink(rel, lnk) != 0 || rename(lnk, path) != 0) {
            rc = tp_fail(TP_ERR_IO, "cannot point '%s' at '%s': %s", path, rel, strerror(errno));
            unlink(lnk);
            goto done;
        }
        if ((rc = fsync_path(profile_dir)) != TP_OK) goto done;
    }
    // prune: keep the newest o.keep snapshots (this one included)
    if (n_old + 1 > (size_t)o.keep) {
        size_t drop = n_old + 1 - (size_t)o.keep;
        for (size_t k = 0; k < drop && k < n_old; k++) {
            snprintf(path, L + 64, "%s/%s", snap, old[k]);
            rm_rf(path);
        }
        tp_clear_error();
    }
    if (res) {
        res->users = U;
        res->groups = G;
        snprintf(res->path, sizeof res->path, "%s", fin);
        res->seconds = tp_now() - t0;
    }
done:
    if (rc != TP_OK && tmp && tmp[0]) {
        rm_rf(tmp); /* a failure leaves nothing behind; the previous profile stays current */
    }
    for (size_t k = 0; k < n_old; k++) tp_free(old[k]);
    tp_free(old);
    json_decref(latest);
    free(latest_txt);
    tp_free(models);
    tp_pmodel_free(pm);
    tp_frame_free(mf);
    tp_frame_free(lf);
    tp_frame_free(wf);
    tp_pmatrix_free(x);
    tp_free(uid);
    tp_free(scores);
    tp_free(col);
    tp_free(snap);
    tp_free(tmp);
    tp_free(fin);
    tp_free(path);
    return rc;
}

// ---- reading: tp_profile ----

struct tp_profile {
    void *map;
    size_t map_len;
    uint64_t U;
    uint32_t G;
    int32_t as_of;
    char **groups;
    int *versions;
    const int64_t *uid;
    const double *scores;
    char *path;
};

void tp_profile_close(tp_profile *p) {
    if (!p) return;
    if (p->map) munmap(p->map, p->map_len);
    if (p->groups)
        for (uint32_t g = 0; g < p->G; g++) tp_free(p->groups[g]);
    tp_free(p->groups);
    tp_free(p->versions);
    tp_free(p->path);
    tp_free(p);
}

tp_status tp_profile_open(const char *profile_dir, tp_profile **out) {
    tp_status rc = TP_OK;
    tp_profile *p = NULL;
    json_t *latest = NULL;
    json_error_t err;
    int fd = -1;
    char path[4096];
    *out = NULL;
    snprintf(path, sizeof path, "%s/LATEST", profile_dir);
    if (!(latest = json_load_file(path, 0, &err)))
        return tp_fail(errno == ENOENT ? TP_ERR_NOTFOUND : TP_ERR_FORMAT,
                       "profile '%s': no readable LATEST (%s): has `propensity score` run?",
                       profile_dir, err.text);
    const char *rel = json_string_value(json_object_get(latest, "snapshot"));
    if (!rel || strstr(rel, "..")) {
        rc = tp_fail(TP_ERR_FORMAT, "profile '%s': LATEST has no snapshot", profile_dir);
        goto done;
    }
    if (!(p = tp_calloc(1, sizeof *p))) {
        rc = tp_fail(TP_ERR_NOMEM, "out of memory");
        goto done;
    }
    snprintf(path, sizeof path, "%s/%s", profile_dir, rel);
    if (!(p->path = tp_strdup(path))) {
        rc = tp_fail(TP_ERR_NOMEM, "out of memory");
        goto done;
    }
    snprintf(path, sizeof path, "%s/%s/index.bin", profile_dir, rel);
    if ((fd = open(path, O_RDONLY)) < 0) {
        rc = tp_fail(TP_ERR_IO, "cannot open '%s': %s", path, strerror(errno));
        goto done;
    }
    struct stat sb;
    if (fstat(fd, &sb) != 0 || sb.st_size < 24) {
        rc = tp_fail(TP_ERR_FORMAT, "profile index '%s' is truncated", path);
        goto done;
    }
    p->map_len = (size_t)sb.st_size;
    p->map = mmap(NULL, p->map_len, PROT_READ, MAP_SHARED, fd, 0);
    if (p->map == MAP_FAILED) {
        p->map = NULL;
        rc = tp_fail(TP_ERR_IO, "cannot map '%s': %s", path, strerror(errno));
        goto done;
    }
    const unsigned char *b = p->map;
    if (memcmp(b, "TPPROF01", 8) != 0) {
        rc = tp_fail(TP_ERR_FORMAT, "'%s' is not a profile index (bad magic)", path);
        goto done;
    }
    memcpy(&p->U, b + 8, 8);
    memcpy(&p->G, b + 16, 4);
    memcpy(&p->as_of, b + 20, 4);
    size_t off = 24;
    if (p->G > 100000 || !(p->groups = tp_calloc(p->G ? p->G : 1, sizeof(char *))) ||
        !(p->versions = tp_calloc(p->G ? p->G : 1, sizeof(int)))) {
        rc = tp_fail(p->G > 100000 ? TP_ERR_FORMAT : TP_ERR_NOMEM, "profile index '%s': bad header", path);
        goto done;
    }
    for (uint32_t g = 0; g < p->G; g++) {
        uint32_t v, len;
        if (off + 8 > p->map_len) goto trunc;
        memcpy(&v, b + off, 4);
        memcpy(&len, b + off + 4, 4);
        off += 8;
        if (off + len > p->map_len) goto trunc;
        if (!(p->groups[g] = tp_malloc(len + 1))) {
            rc = tp_fail(TP_ERR_NOMEM, "out of memory");
            goto done;
        }
        memcpy(p->groups[g], b + off, len);
        p->groups[g][len] = 0;
        p->versions[g] = (int)v;
        off += len;
    }
    off = (off + 7) / 8 * 8;
    if (p->U > (p->map_len - off) / 8 || off + p->U * 8 * (1 + (uint64_t)p->G) != p->map_len) goto trunc;
    p->uid = (const int64_t *)(b + off);
    p->scores = (const double *)(b + off + p->U * 8);
    *out = p;
    p = NULL;
    goto done;
trunc:
    rc = tp_fail(TP_ERR_FORMAT, "profile index '%s' is truncated or corrupt", path);
done:
    if (fd >= 0) close(fd);
    json_decref(latest);
    tp_profile_close(p);
    return rc;
}

size_t tp_profile_n_groups(const tp_profile *p) { return p->G; }
size_t tp_profile_n_users(const tp_profile *p) { return (size_t)p->U; }
const char *tp_profile_group(const tp_profile *p, size_t g) { return p->groups[g]; }
int tp_profile_model_version(const tp_profile *p, size_t g) { return p->versions[g]; }
int32_t tp_profile_as_of(const tp_profile *p) { return p->as_of; }
const char *tp_profile_path(const tp_profile *p) { return p->path; }

tp_status tp_profile_lookup(const tp_profile *p, int64_t uid, double *scores) {
    size_t lo = 0, hi = (size_t)p->U;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (p->uid[mid] < uid) lo = mid + 1;
        else hi = mid;
    }
    if (lo == p->U || p->uid[lo] != uid)
        return tp_fail(TP_ERR_NOTFOUND, "uid %lld is not in the profile", (long long)uid);
    memcpy(scores, p->scores + lo * p->G, p->G * sizeof *scores);
    return TP_OK;
}

// ---- the score job ----

tp_status tp_pscore_job_run(const tp_pscore_job *job, tp_profile_result *res) {
    tp_status rc = TP_OK;
    tp_registry *reg = NULL;
    tp_events *ev = NULL;
    tp_feature_defs *defs = NULL;
    tp_propensity *p = NULL;
    char **names = NULL;
    size_t n_names = 0, G = 0;
    tp_profile_model *models = NULL;
    tp_registry_version *vers = NULL;
    if (!job->registry || !job->events || !job->defs || !job->out_dir)
        return tp_fail(TP_ERR_ARG, "score: registry, events, definitions and output are required");
    if ((rc = tp_registry_open(job->registry, &reg)) != TP_OK) return rc;
    if ((rc = tp_registry_models(reg, &names, &n_names)) != TP_OK) goto done;
    if (!(models = tp_calloc(n_names ? n_names : 1, sizeof *models)) ||
        !(vers = tp_calloc(n_names ? n_names : 1, sizeof *vers))) {
        rc = tp_fail(TP_ERR_NOMEM, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < n_names; i++) {
        tp_status s = tp_registry_production(reg, names[i], &vers[G]);
        if (s == TP_ERR_NOTFOUND) continue; /* not an active group */
        if (s != TP_OK) {
            rc = s;
            goto done;
        }
        models[G] = (tp_profile_model){vers[G].model, vers[G].dir, vers[G].version};
        G++;
    }
    tp_clear_error();
    if (G == 0) {
        rc = tp_fail(TP_ERR_NOTFOUND, "score: registry '%s' has no production model", job->registry);
        goto done;
    }
    if ((rc = tp_events_load(job->events, job->items, &ev)) != TP_OK) goto done;
    if ((rc = tp_feature_defs_load(job->defs, &defs)) != TP_OK) goto done;
    tp_propensity_opts po;
    tp_propensity_opts_default(&po);
    po.store = job->store;
    po.materialize = job->store != NULL;
    po.n_threads = job->n_threads;
    if ((rc = tp_propensity_new(ev, defs, &po, &p)) != TP_OK) goto done;
    tp_profile_opts o = job->profile;
    o.n_threads = job->n_threads;
    if (o.keep == 0) o.keep = 3;
    rc = tp_profile_score(p, defs, job->as_of, models, G, job->out_dir, &o, res);
done:
    tp_propensity_free(p);
    tp_feature_defs_free(defs);
    tp_events_free(ev);
    tp_registry_free_names(names, n_names);
    tp_free(models);
    tp_free(vers);
    tp_registry_close(reg);
    return rc;
}

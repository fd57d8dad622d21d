/* registry.c: the model registry in SQLite (issue #5 §4). Schema: models, versions (stage, params,
 * metrics, window, defs hash, folder), evaluations (metrics of a version on a named holdout),
 * transitions (every stage change with reason and time). One production version per model is a
 * partial unique index; promotions run in BEGIN IMMEDIATE transactions, so a crash rolls back to
 * the old state. Model files are copied into <registry>_models/<model>/v<N>/ before the row that
 * points to them is committed. */
#include "touchpoint/registry.h"
#include "touchpoint/io.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

struct tp_registry {
    sqlite3 *db;
    char *path;
    char *store; /* <path minus .sqlite>_models */
};

static const char *SCHEMA =
    "PRAGMA journal_mode=WAL;"
    "PRAGMA foreign_keys=ON;"
    "CREATE TABLE IF NOT EXISTS models(id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,"
    " created TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS versions(id INTEGER PRIMARY KEY,"
    " model_id INTEGER NOT NULL REFERENCES models(id), version INTEGER NOT NULL,"
    " stage TEXT NOT NULL DEFAULT 'none' CHECK(stage IN ('none','staging','production','archived')),"
    " created TEXT NOT NULL, params TEXT, metrics TEXT, window TEXT, defs_hash TEXT,"
    " pr_auc REAL, dir TEXT NOT NULL, run_key TEXT UNIQUE, UNIQUE(model_id, version));"
    "CREATE UNIQUE INDEX IF NOT EXISTS one_production ON versions(model_id)"
    " WHERE stage = 'production';"
    "CREATE TABLE IF NOT EXISTS evaluations(version_id INTEGER NOT NULL REFERENCES versions(id),"
    " holdout TEXT NOT NULL, pr_auc REAL, metrics TEXT, created TEXT NOT NULL,"
    " PRIMARY KEY(version_id, holdout));"
    "CREATE TABLE IF NOT EXISTS transitions(id INTEGER PRIMARY KEY,"
    " version_id INTEGER NOT NULL REFERENCES versions(id), from_stage TEXT NOT NULL,"
    " to_stage TEXT NOT NULL, reason TEXT NOT NULL, at TEXT NOT NULL);";

static tp_status db_fail(tp_registry *r, const char *what) {
    return tp_fail(TP_ERR_INTERNAL, "registry '%s': %s: %s", r->path, what, sqlite3_errmsg(r->db));
}

static void now_utc(char *buf, size_t n) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    snprintf(buf, n, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ts.tv_nsec / 1000000) % 1000);
}

tp_status tp_registry_open(const char *path, tp_registry **out) {
    tp_registry *r = NULL;
    char *err = NULL;
    tp_status rc = TP_OK;
    *out = NULL;
    if (!(r = tp_calloc(1, sizeof *r)) || !(r->path = tp_strdup(path)) ||
        !(r->store = tp_malloc(strlen(path) + 16))) {
        rc = tp_fail(TP_ERR_NOMEM, "out of memory");
        goto done;
    }
    size_t L = strlen(path);
    if (L > 7 && !strcmp(path + L - 7, ".sqlite")) L -= 7;
    memcpy(r->store, path, L);
    strcpy(r->store + L, "_models");
    if (sqlite3_open_v2(path, &r->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) != SQLITE_OK) {
        rc = tp_fail(TP_ERR_IO, "cannot open registry '%s': %s", path,
                     r->db ? sqlite3_errmsg(r->db) : "out of memory");
        goto done;
    }
    sqlite3_busy_timeout(r->db, 10000);
    if (sqlite3_exec(r->db, SCHEMA, NULL, NULL, &err) != SQLITE_OK) {
        rc = tp_fail(TP_ERR_INTERNAL, "registry '%s': creating the schema: %s", path,
                     err ? err : "?");
        goto done;
    }
    *out = r;
    r = NULL;
done:
    sqlite3_free(err);
    tp_registry_close(r);
    return rc;
}

void tp_registry_close(tp_registry *r) {
    if (!r) return;
    if (r->db) sqlite3_close(r->db);
    tp_free(r->path);
    tp_free(r->store);
    tp_free(r);
}

static tp_status exec(tp_registry *r, const char *sql) {
    char *err = NULL;
    if (sqlite3_exec(r->db, sql, NULL, NULL, &err) != SQLITE_OK) {
        tp_status rc = tp_fail(TP_ERR_INTERNAL, "registry '%s': %s: %s", r->path, sql, err ? err : "?");
        sqlite3_free(err);
        return rc;
    }
    return TP_OK;
}

static tp_status prep(tp_registry *r, const char *sql, sqlite3_stmt **st) {
    if (sqlite3_prepare_v2(r->db, sql, -1, st, NULL) != SQLITE_OK) return db_fail(r, sql);
    return TP_OK;
}

static void bind_text(sqlite3_stmt *st, int i, const char *s) {
    if (s) sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
    else sqlite3_bind_null(st, i);
}

/* File-system-safe name. */
static void safe_name(const char *s, char *out, size_t n) {
    size_t k = 0;
    for (; *s && k + 1 < n; s++) {
        char c = *s;
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '-' || c == '_' || c == '.';
        out[k] = ok && !(k == 0 && c == '.') ? c : '_';
        k++;
    }
    out[k] = 0;
    if (k == 0) snprintf(out, n, "_");
}

static tp_status copy_file(const char *src, const char *dst) {
    tp_status rc = TP_OK;
    FILE *fp = fopen(src, "rb");
    char *buf = NULL;
    if (!fp) return tp_fail(TP_ERR_IO, "cannot open '%s': %s", src, strerror(errno));
    struct stat sb;
    if (fstat(fileno(fp), &sb) != 0) {
        rc = tp_fail(TP_ERR_IO, "cannot stat '%s': %s", src, strerror(errno));
        goto done;
    }
    size_t n = (size_t)sb.st_size;
    if (!(buf = tp_malloc(n ? n : 1))) {
        rc = tp_fail(TP_ERR_NOMEM, "out of memory copying '%s'", src);
        goto done;
    }
    if (fread(buf, 1, n, fp) != n) {
        rc = tp_fail(TP_ERR_IO, "cannot read '%s'", src);
        goto done;
    }
    rc = tp_atomic_write(dst, buf, n);
done:
    tp_free(buf);
    fclose(fp);
    return rc;
}

static tp_status model_id(tp_registry *r, const char *model, bool create, int64_t *id) {
    sqlite3_stmt *st = NULL;
    tp_status rc = prep(r, "SELECT id FROM models WHERE name = ?", &st);
    if (rc != TP_OK) return rc;
    bind_text(st, 1, model);
    int s = sqlite3_step(st);
    if (s == SQLITE_ROW) {
        *id = sqlite3_column_int64(st, 0);
        goto done;
    }
    if (s != SQLITE_DONE) {
        rc = db_fail(r, "looking up a model");
        goto done;
    }
    if (!create) {
        rc = tp_fail(TP_ERR_NOTFOUND, "registry '%s': no model named '%s'", r->path, model);
        goto done;
    }
    sqlite3_finalize(st);
    st = NULL;
    char now[96];
    now_utc(now, sizeof now);
    if ((rc = prep(r, "INSERT INTO models(name, created) VALUES(?, ?)", &st)) != TP_OK) goto done;
    bind_text(st, 1, model);
    bind_text(st, 2, now);
    if (sqlite3_step(st) != SQLITE_DONE) {
        rc = db_fail(r, "adding a model");
        goto done;
    }
    *id = sqlite3_last_insert_rowid(r->db);
done:
    sqlite3_finalize(st);
    return rc;
}

tp_status tp_registry_register(tp_registry *r, const tp_registry_new *v, int *version, bool *existed) {
    tp_status rc = TP_OK;
    sqlite3_stmt *st = NULL;
    bool in_tx = false;
    char *dst = NULL, *src = NULL;
    *existed = false;
    if (!v->model || !*v->model || !v->src_dir)
        return tp_fail(TP_ERR_ARG, "registry register: model name and folder are required");
    if ((rc = exec(r, "BEGIN IMMEDIATE")) != TP_OK) return rc;
    in_tx = true;
    if (v->run_key) {
        if ((rc = prep(r, "SELECT v.version, m.name FROM versions v JOIN models m ON m.id = v.model_id"
                          " WHERE run_key = ?", &st)) != TP_OK)
            goto done;
        bind_text(st, 1, v->run_key);
        if (sqlite3_step(st) == SQLITE_ROW && !strcmp((const char *)sqlite3_column_text(st, 1), v->model)) {
            *version = sqlite3_column_int(st, 0);
            *existed = true;
            goto done;
        }
        sqlite3_finalize(st);
        st = NULL;
    }
    int64_t mid = 0;
    if ((rc = model_id(r, v->model, true, &mid)) != TP_OK) goto done;
    if ((rc = prep(r, "SELECT COALESCE(MAX(version), 0) + 1 FROM versions WHERE model_id = ?", &st)))
        goto done;
    sqlite3_bind_int64(st, 1, mid);
    if (sqlite3_step(st) != SQLITE_ROW) {
        rc = db_fail(r, "numbering a version");
        goto done;
    }
    int ver = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    st = NULL;
    char safe[256];
    safe_name(v->model, safe, sizeof safe);
    size_t dl = strlen(r->store) + strlen(safe) + 64, sl = strlen(v->src_dir) + 64;
    if (!(dst = tp_malloc(dl + 32)) || !(src = tp_malloc(sl))) {
        rc = tp_fail(TP_ERR_NOMEM, "out of memory");
        goto done;
    }
    snprintf(dst, dl, "%s/%s/v%d", r->store, safe, ver);
    if ((rc = tp_mkdirs(dst)) != TP_OK) goto done;
    static const char *files[] = {"model.json", "meta.json", "holdout.parquet"};
    for (size_t k = 0; k < 3; k++) {
        snprintf(src, sl, "%s/%s", v->src_dir, files[k]);
        snprintf(dst, dl + 32, "%s/%s/v%d/%s", r->store, safe, ver, files[k]);
        if ((rc = copy_file(src, dst)) != TP_OK) goto done;
    }
    snprintf(dst, dl, "%s/%s/v%d", r->store, safe, ver);
    char now[96];
    now_utc(now, sizeof now);
    if ((rc = prep(r, "INSERT INTO versions(model_id, version, stage, created, params, metrics, window,"
                      " defs_hash, pr_auc, dir, run_key) VALUES(?,?, 'none', ?,?,?,?,?,?,?,?)", &st)))
        goto done;
    sqlite3_bind_int64(st, 1, mid);
    sqlite3_bind_int(st, 2, ver);
    bind_text(st, 3, now);
    bind_text(st, 4, v->params_json);
    bind_text(st, 5, v->metrics_json);
    bind_text(st, 6, v->window_json);
    bind_text(st, 7, v->defs_hash);
    if (isnan(v->pr_auc)) sqlite3_bind_null(st, 8);
    else sqlite3_bind_double(st, 8, v->pr_auc);
    bind_text(st, 9, dst);
    bind_text(st, 10, v->run_key);
    if (sqlite3_step(st) != SQLITE_DONE) {
        rc = db_fail(r, "adding a version");
        goto done;
    }
    int64_t vid = sqlite3_last_insert_rowid(r->db);
    sqlite3_finalize(st);
    st = NULL;
    if ((rc = prep(r, "INSERT INTO transitions(version_id, from_stage, to_stage, reason, at)"
                      " VALUES(?, 'none', 'none', 'registered', ?)", &st)))
        goto done;
    sqlite3_bind_int64(st, 1, vid);
    bind_text(st, 2, now);
    if (sqlite3_step(st) != SQLITE_DONE) {
        rc = db_fail(r, "recording the registration");
        goto done;
    }
    *version = ver;
done:
    sqlite3_finalize(st);
    if (in_tx) {
        if (rc == TP_OK) rc = exec(r, "COMMIT");
        if (rc != TP_OK) sqlite3_exec(r->db, "ROLLBACK", NULL, NULL, NULL);
    }
    tp_free(dst);
    tp_free(src);
    return rc;
}

static void copy_col(sqlite3_stmt *st, int i, char *dst, size_t n) {
    const char *s = (const char *)sqlite3_column_text(st, i);
    snprintf(dst, n, "%s", s ? s : "");
}

#define VERSION_COLS                                                                               \
    "SELECT m.name, v.version, v.stage, v.dir, v.defs_hash, v.pr_auc, v.created, v.id"              \
    " FROM versions v JOIN models m ON m.id = v.model_id "

static void read_version(sqlite3_stmt *st, tp_registry_version *out) {
    memset(out, 0, sizeof *out);
    copy_col(st, 0, out->model, sizeof out->model);
    out->version = sqlite3_column_int(st, 1);
    copy_col(st, 2, out->stage, sizeof out->stage);
    copy_col(st, 3, out->dir, sizeof out->dir);
    copy_col(st, 4, out->defs_hash, sizeof out->defs_hash);
    out->pr_auc = sqlite3_column_type(st, 5) == SQLITE_NULL ? NAN : sqlite3_column_double(st, 5);
    copy_col(st, 6, out->created, sizeof out->created);
}

/* version 0 = latest; stage non-NULL = that stage instead. Sets *vid when not NULL. */
static tp_status find_version(tp_registry *r, const char *model, int version, const char *stage,
                              tp_registry_version *out, int64_t *vid) {
    sqlite3_stmt *st = NULL;
    tp_status rc;
    const char *sql = stage ? VERSION_COLS "WHERE m.name = ? AND v.stage = ?"
                      : version ? VERSION_COLS "WHERE m.name = ? AND v.version = ?"
                                : VERSION_COLS "WHERE m.name = ? ORDER BY v.version DESC LIMIT 1";
    if ((rc = prep(r, sql, &st)) != TP_OK) return rc;
    bind_text(st, 1, model);
    if (stage) bind_text(st, 2, stage);
    else if (version) sqlite3_bind_int(st, 2, version);
    int s = sqlite3_step(st);
    if (s == SQLITE_ROW) {
        read_version(st, out);
        if (vid) *vid = sqlite3_column_int64(st, 7);
    } else if (s == SQLITE_DONE) {
        if (stage)
            rc = tp_fail(TP_ERR_NOTFOUND, "registry '%s': model '%s' has no %s version", r->path,
                         model, stage);
        else if (version)
            rc = tp_fail(TP_ERR_NOTFOUND, "registry '%s': model '%s' has no version %d", r->path,
                         model, version);
        else rc = tp_fail(TP_ERR_NOTFOUND, "registry '%s': no model named '%s'", r->path, model);
    } else {
        rc = db_fail(r, "reading a version");
    }
    sqlite3_finalize(st);
    return rc;
}

tp_status tp_registry_get(tp_registry *r, const char *model, int version, tp_registry_version *out) {
    return find_version(r, model, version, NULL, out, NULL);
}

tp_status tp_registry_production(tp_registry *r, const char *model, tp_registry_version *out) {
    return find_version(r, model, 0, "production", out, NULL);
}

void tp_registry_free_names(char **names, size_t n) {
    if (!names) return;
    for (size_t i = 0; i < n; i++) tp_free(names[i]);
    tp_free(names);
}

tp_status tp_registry_models(tp_registry *r, char ***names, size_t *n) {
    sqlite3_stmt *st = NULL;
    char **v = NULL;
    size_t k = 0, cap = 0;
    tp_status rc = prep(r, "SELECT name FROM models ORDER BY name", &st);
    *names = NULL;
    *n = 0;
    if (rc != TP_OK) return rc;
    int s;
    while ((s = sqlite3_step(st)) == SQLITE_ROW) {
        if ((rc = tp_grow((void **)&v, &cap, k + 1, sizeof *v)) != TP_OK) goto done;
        if (!(v[k] = tp_strdup((const char *)sqlite3_column_text(st, 0)))) {
            rc = tp_fail(TP_ERR_NOMEM, "out of memory");
            goto done;
        }
        k++;
    }
    if (s != SQLITE_DONE) rc = db_fail(r, "listing models");
done:
    sqlite3_finalize(st);
    if (rc != TP_OK) {
        tp_registry_free_names(v, k);
        return rc;
    }
    *names = v;
    *n = k;
    return TP_OK;
}

tp_status tp_registry_record_evaluation(tp_registry *r, const char *model, int version,
                                        const char *holdout, const char *metrics_json, double pr_auc) {
    tp_registry_version v;
    int64_t vid;
    sqlite3_stmt *st = NULL;
    tp_status rc = find_version(r, model, version, NULL, &v, &vid);
    if (rc != TP_OK) return rc;
    char now[96];
    now_utc(now, sizeof now);
    if ((rc = prep(r, "INSERT OR REPLACE INTO evaluations(version_id, holdout, pr_auc, metrics, created)"
                      " VALUES(?,?,?,?,?)", &st)) != TP_OK)
        return rc;
    sqlite3_bind_int64(st, 1, vid);
    bind_text(st, 2, holdout);
    if (isnan(pr_auc)) sqlite3_bind_null(st, 3);
    else sqlite3_bind_double(st, 3, pr_auc);
    bind_text(st, 4, metrics_json);
    bind_text(st, 5, now);
    if (sqlite3_step(st) != SQLITE_DONE) rc = db_fail(r, "recording an evaluation");
    sqlite3_finalize(st);
    return rc;
}

tp_status tp_registry_evaluation(tp_registry *r, const char *model, int version, const char *holdout,
                                 double *pr_auc) {
    sqlite3_stmt *st = NULL;
    tp_status rc = prep(r, "SELECT e.pr_auc FROM evaluations e JOIN versions v ON v.id = e.version_id"
                           " JOIN models m ON m.id = v.model_id"
                           " WHERE m.name = ? AND v.version = ? AND e.holdout = ?", &st);
    if (rc != TP_OK) return rc;
    bind_text(st, 1, model);
    sqlite3_bind_int(st, 2, version);
    bind_text(st, 3, holdout);
    int s = sqlite3_step(st);
    if (s == SQLITE_ROW)
        *pr_auc = sqlite3_column_type(st, 0) == SQLITE_NULL ? NAN : sqlite3_column_double(st, 0);
    else if (s == SQLITE_DONE)
        rc = tp_fail(TP_ERR_NOTFOUND, "registry '%s': %s v%d was not evaluated on holdout '%s'",
                     r->path, model, version, holdout);
    else rc = db_fail(r, "reading an evaluation");
    sqlite3_finalize(st);
    return rc;
}

/* Inside a transaction: set the stage of version row vid and log it. */
static tp_status set_stage(tp_registry *r, int64_t vid, const char *from, const char *to,
                           const char *reason) {
    sqlite3_stmt *st = NULL;
    char now[96];
    now_utc(now, sizeof now);
    tp_status rc = prep(r, "UPDATE versions SET stage = ? WHERE id = ?", &st);
    if (rc != TP_OK) return rc;
    bind_text(st, 1, to);
    sqlite3_bind_int64(st, 2, vid);
    if (sqlite3_step(st) != SQLITE_DONE) {
        rc = db_fail(r, "changing a stage");
        goto done;
    }
    sqlite3_finalize(st);
    st = NULL;
    if ((rc = prep(r, "INSERT INTO transitions(version_id, from_stage, to_stage, reason, at)"
                      " VALUES(?,?,?,?,?)", &st)) != TP_OK)
        goto done;
    sqlite3_bind_int64(st, 1, vid);
    bind_text(st, 2, from);
    bind_text(st, 3, to);
    bind_text(st, 4, reason ? reason : "");
    bind_text(st, 5, now);
    if (sqlite3_step(st) != SQLITE_DONE) rc = db_fail(r, "recording a transition");
done:
    sqlite3_finalize(st);
    return rc;
}

static tp_status end_tx(tp_registry *r, tp_status rc) {
    if (rc == TP_OK) rc = exec(r, "COMMIT");
    if (rc != TP_OK) sqlite3_exec(r->db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

tp_status tp_registry_transition(tp_registry *r, const char *model, int version, const char *stage,
                                 const char *reason) {
    if (strcmp(stage, "none") && strcmp(stage, "staging") && strcmp(stage, "archived"))
        return tp_fail(TP_ERR_ARG, "registry: stage '%s' is not none, staging or archived%s", stage,
                       !strcmp(stage, "production") ? " (production is reached by promote)" : "");
    tp_status rc = exec(r, "BEGIN IMMEDIATE");
    if (rc != TP_OK) return rc;
    tp_registry_version v;
    int64_t vid;
    if ((rc = find_version(r, model, version, NULL, &v, &vid)) == TP_OK && strcmp(v.stage, stage))
        rc = set_stage(r, vid, v.stage, stage, reason);
    return end_tx(r, rc);
}

tp_status tp_registry_archive(tp_registry *r, const char *model, int version, const char *reason) {
    return tp_registry_transition(r, model, version, "archived", reason ? reason : "archived by hand");
}

tp_status tp_registry_promote(tp_registry *r, const char *model, int version, double margin,
                              bool force, const char *reason, tp_promotion *out) {
    memset(out, 0, sizeof *out);
    out->challenger = out->champion = NAN;
    tp_status rc = exec(r, "BEGIN IMMEDIATE");
    if (rc != TP_OK) return rc;
    tp_registry_version cv, pv;
    int64_t cid, pid = 0;
    char holdout[300], why[512];
    if ((rc = find_version(r, model, version, NULL, &cv, &cid)) != TP_OK) goto done;
    if (!strcmp(cv.stage, "production")) {
        out->promoted = true;
        out->previous = cv.version;
        snprintf(out->reason, sizeof out->reason, "%s v%d is already production", model, cv.version);
        goto done;
    }
    rc = find_version(r, model, 0, "production", &pv, &pid);
    if (rc == TP_ERR_NOTFOUND) {
        rc = TP_OK;
        pid = 0;
    } else if (rc != TP_OK) goto done;
    snprintf(holdout, sizeof holdout, "%s/v%d", model, cv.version);
    if (tp_registry_evaluation(r, model, cv.version, holdout, &out->challenger) != TP_OK)
        out->challenger = NAN;
    if (pid) {
        out->previous = pv.version;
        if (tp_registry_evaluation(r, model, pv.version, holdout, &out->champion) != TP_OK)
            out->champion = NAN;
    }
    tp_clear_error();
    bool ok;
    if (force) {
        ok = true;
        snprintf(why, sizeof why, "forced%s%s", reason ? ": " : "", reason ? reason : "");
    } else if (!pid) {
        ok = true;
        snprintf(why, sizeof why, "no production version");
    } else if (isnan(out->challenger) || isnan(out->champion)) {
        ok = false;
        snprintf(why, sizeof why,
                 "cannot compare: v%d and production v%d need PR-AUC on holdout '%s' (run "
                 "`touchpoint propensity evaluate`), or use --force", cv.version, pv.version, holdout);
    } else if (out->challenger > out->champion + margin) {
        ok = true;
        snprintf(why, sizeof why, "challenger PR-AUC %.6f beats production v%d %.6f + margin %g on %s",
                 out->challenger, pv.version, out->champion, margin, holdout);
    } else {
        ok = false;
        snprintf(why, sizeof why,
                 "challenger PR-AUC %.6f does not beat production v%d %.6f + margin %g on %s",
                 out->challenger, pv.version, out->champion, margin, holdout);
    }
    snprintf(out->reason, sizeof out->reason, "%s", why);
    if (!ok) { /* logged, stage unchanged */
        char msg[600];
        snprintf(msg, sizeof msg, "not promoted: %s", why);
        rc = set_stage(r, cid, cv.stage, cv.stage, msg);
        goto done;
    }
    if (pid) {
        char msg[600];
        snprintf(msg, sizeof msg, "replaced by v%d: %s", cv.version, why);
        if ((rc = set_stage(r, pid, "production", "archived", msg)) != TP_OK) goto done;
    }
    if ((rc = set_stage(r, cid, cv.stage, "production", why)) != TP_OK) goto done;
    out->promoted = true;
done:
    return end_tx(r, rc);
}

tp_status tp_registry_list(tp_registry *r, tp_frame **out) {
    tp_status rc;
    sqlite3_stmt *st = NULL;
    tp_frame *f = NULL;
    tp_column *c[7] = {0};
    static const char *names[7] = {"model", "version", "stage", "pr_auc", "defs_hash", "created", "dir"};
    static const tp_dtype types[7] = {TP_DTYPE_STR, TP_DTYPE_I32, TP_DTYPE_STR, TP_DTYPE_F64,
                                      TP_DTYPE_STR, TP_DTYPE_STR, TP_DTYPE_STR};
    *out = NULL;
    for (int k = 0; k < 7; k++)
        if ((rc = tp_column_new(names[k], types[k], 16, &c[k])) != TP_OK) goto done;
    if ((rc = prep(r, VERSION_COLS "ORDER BY m.name, v.version", &st)) != TP_OK) goto done;
    int s;
    while ((s = sqlite3_step(st)) == SQLITE_ROW) {
        tp_registry_version v;
        read_version(st, &v);
        if ((rc = tp_column_push_str(c[0], v.model, strlen(v.model))) ||
            (rc = tp_column_push_i32(c[1], v.version)) ||
            (rc = tp_column_push_str(c[2], v.stage, strlen(v.stage))) ||
            (rc = isnan(v.pr_auc) ? tp_column_push_null(c[3]) : tp_column_push_f64(c[3], v.pr_auc)) ||
            (rc = tp_column_push_str(c[4], v.defs_hash, strlen(v.defs_hash))) ||
            (rc = tp_column_push_str(c[5], v.created, strlen(v.created))) ||
            (rc = tp_column_push_str(c[6], v.dir, strlen(v.dir))))
            goto done;
    }
    if (s != SQLITE_DONE) {
        rc = db_fail(r, "listing versions");
        goto done;
    }
    if ((rc = tp_frame_new(&f)) != TP_OK) goto done;
    for (int k = 0; k < 7; k++) {
        if ((rc = tp_frame_add_take(f, c[k])) != TP_OK) goto done;
        c[k] = NULL;
    }
    *out = f;
    f = NULL;
done:
    sqlite3_finalize(st);
    for (int k = 0; k < 7; k++) tp_column_free(c[k]);
    tp_frame_free(f);
    return rc;
}

static json_t *json_text_or_null(sqlite3_stmt *st, int i) {
    const char *s = (const char *)sqlite3_column_text(st, i);
    if (!s) return json_null();
    json_t *j = json_loads(s, JSON_DECODE_ANY, NULL);
    return j ? j : json_string(s);
}

tp_status tp_registry_show(tp_registry *r, const char *model, int version, char **json) {
    tp_registry_version v;
    int64_t vid;
    sqlite3_stmt *st = NULL;
    json_t *o = NULL;
    *json = NULL;
    tp_status rc = find_version(r, model, version, NULL, &v, &vid);
    if (rc != TP_OK) return rc;
    o = json_pack("{s:s, s:i, s:s, s:s, s:s, s:s}", "model", v.model, "version", v.version, "stage",
                  v.stage, "dir", v.dir, "defs_hash", v.defs_hash, "created", v.created);
    json_object_set_new(o, "pr_auc", isnan(v.pr_auc) ? json_null() : json_real(v.pr_auc));
    if ((rc = prep(r, "SELECT params, metrics, window FROM versions WHERE id = ?", &st))) goto done;
    sqlite3_bind_int64(st, 1, vid);
    if (sqlite3_step(st) == SQLITE_ROW) {
        json_object_set_new(o, "params", json_text_or_null(st, 0));
        json_object_set_new(o, "metrics", json_text_or_null(st, 1));
        json_object_set_new(o, "window", json_text_or_null(st, 2));
    }
    sqlite3_finalize(st);
    st = NULL;
    json_t *ev = json_array();
    json_object_set_new(o, "evaluations", ev);
    if ((rc = prep(r, "SELECT holdout, pr_auc, created FROM evaluations WHERE version_id = ?"
                      " ORDER BY created", &st)))
        goto done;
    sqlite3_bind_int64(st, 1, vid);
    while (sqlite3_step(st) == SQLITE_ROW)
        json_array_append_new(
            ev, json_pack("{s:s, s:o, s:s}", "holdout", sqlite3_column_text(st, 0), "pr_auc",
                          sqlite3_column_type(st, 1) == SQLITE_NULL
                              ? json_null()
                              : json_real(sqlite3_column_double(st, 1)),
                          "created", sqlite3_column_text(st, 2)));
    sqlite3_finalize(st);
    st = NULL;
    json_t *tr = json_array();
    json_object_set_new(o, "transitions", tr);
    if ((rc = prep(r, "SELECT from_stage, to_stage, reason, at FROM transitions WHERE version_id = ?"
                      " ORDER BY id", &st)))
        goto done;
    sqlite3_bind_int64(st, 1, vid);
    while (sqlite3_step(st) == SQLITE_ROW)
        json_array_append_new(tr, json_pack("{s:s, s:s, s:s, s:s}", "from", sqlite3_column_text(st, 0),
                                            "to", sqlite3_column_text(st, 1), "reason",
                                            sqlite3_column_text(st, 2), "at",
                                            sqlite3_column_text(st, 3)));
    char *txt = json_dumps(o, JSON_INDENT(2) | JSON_REAL_PRECISION(10));
    if (!txt || !(*json = tp_strdup(txt))) rc = tp_fail(TP_ERR_NOMEM, "out of memory");
    free(txt);
done:
    sqlite3_finalize(st);
    json_decref(o);
    return rc;
}

/* featurestore.c: materialised feature snapshots (Parquet, one folder per level, as-of date and
 * version) registered in a SQLite catalogue with the definitions' hash, row counts and time taken.
 * The same definitions at the same date are a no-op; other definitions get the next version; a
 * snapshot folder is written under a temporary name and renamed, so readers never see half of one. */
#include "features_impl.h"

#include <errno.h>
#include <math.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char schema_sql[] =
    "CREATE TABLE IF NOT EXISTS definitions ("
    " hash TEXT PRIMARY KEY, canonical TEXT NOT NULL, created TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS snapshots ("
    " id INTEGER PRIMARY KEY, level TEXT NOT NULL, as_of TEXT NOT NULL, version INTEGER NOT NULL,"
    " defs_hash TEXT NOT NULL REFERENCES definitions(hash), rows INTEGER NOT NULL,"
    " features INTEGER NOT NULL, seconds REAL NOT NULL, created TEXT NOT NULL, path TEXT NOT NULL,"
    " UNIQUE(level, as_of, version));";

static tp_status db_fail(sqlite3 *db, const char *what, const char *store) {
    return tp_fail(TP_ERR_INTERNAL, "feature store '%s': %s: %s", store, what,
                   db ? sqlite3_errmsg(db) : "cannot open");
}

static tp_status db_open(const char *store, bool create, sqlite3 **out) {
    *out = NULL;
    char path[4096];
    snprintf(path, sizeof path, "%s/catalog.sqlite", store);
    if (!create && access(path, F_OK) != 0)
        return tp_fail(TP_ERR_NOTFOUND, "feature store '%s': no catalog.sqlite", store);
    if (create) {
        tp_status rc = tp_mkdirs(store);
        if (rc != TP_OK) return rc;
    }
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0), NULL) != SQLITE_OK) {
        tp_status rc = db_fail(db, "opening the catalogue", store);
        sqlite3_close(db);
        return rc;
    }
    sqlite3_busy_timeout(db, 600000); // a concurrent materialize may compute for minutes
    if (sqlite3_exec(db, schema_sql, NULL, NULL, NULL) != SQLITE_OK) {
        tp_status rc = db_fail(db, "creating the catalogue", store);
        sqlite3_close(db);
        return rc;
    }
    *out = db;
    return TP_OK;
}

static void now_utc(char *buf, size_t n) {
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Version of hash at as_of (0 if none) and the largest version at as_of. */
static tp_status find_version(sqlite3 *db, const char *store, const char *hash, const char *date,
                              int *mine, int *max_v, double *secs, int64_t *rows) {
    *mine = 0;
    *max_v = 0;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db,
                           "SELECT version, defs_hash, level, rows, seconds FROM snapshots WHERE as_of = ?1",
                           -1, &st, NULL) != SQLITE_OK)
        return db_fail(db, "reading the catalogue", store);
    sqlite3_bind_text(st, 1, date, -1, SQLITE_STATIC);
    int r;
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        int v = sqlite3_column_int(st, 0);
        if (v > *max_v) *max_v = v;
        if (hash && !strcmp((const char *)sqlite3_column_text(st, 1), hash)) {
            *mine = v;
            const char *lv = (const char *)sqlite3_column_text(st, 2);
            for (int l = 0; l < TP_N_LEVELS; l++)
                if (rows && !strcmp(lv, tp_feature_level_name((tp_feature_level)l)))
                    rows[l] = sqlite3_column_int64(st, 3);
            if (secs) *secs = sqlite3_column_double(st, 4);
        }
    }
    sqlite3_finalize(st);
    if (r != SQLITE_DONE) return db_fail(db, "reading the catalogue", store);
    return TP_OK;
}

static void snap_dir(char *buf, size_t n, const char *store, int level, const char *date, int version) {
    snprintf(buf, n, "%s/snapshots/%s/as_of=%s/v%d", store, tp_feature_level_name((tp_feature_level)level),
             date, version);
}

static void rm_tree_tmp(const char *dir) {
    char p[16384];
    snprintf(p, sizeof p, "%s/part-0.parquet", dir);
    unlink(p);
    rmdir(dir);
}

tp_status tp_featurestore_materialize(const char *store, const tp_events *ev,
                                      const tp_feature_defs *defs, int32_t as_of, int n_threads,
                                      tp_featurestore_result *res) {
    memset(res, 0, sizeof *res);
    snprintf(res->hash, sizeof res->hash, "%s", defs->hash);
    char date[11], created[32], tmp[TP_N_LEVELS][4096], fin[TP_N_LEVELS][4096];
    tp_date_format(as_of, date);
    sqlite3 *db = NULL;
    tp_feature_set *fs = NULL;
    int done_dirs = 0, renamed = 0;
    tp_status rc = db_open(store, true, &db);
    if (rc != TP_OK) return rc;
    // One writer at a time: the transaction holds the catalogue while we compute and write.
    if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
        rc = db_fail(db, "locking the catalogue", store);
        goto done;
    }
    int mine, max_v;
    if ((rc = find_version(db, store, defs->hash, date, &mine, &max_v, &res->seconds, res->rows)) != TP_OK)
        goto rollback;
    if (mine) {
        res->version = mine;
        res->noop = true;
        goto rollback; // nothing to write
    }
    // A folder the catalogue does not list (a crash between rename and commit) is never reused.
    for (res->version = max_v + 1;; res->version++) {
        bool taken = false;
        for (int l = 0; l < TP_N_LEVELS && !taken; l++) {
            snap_dir(fin[l], sizeof fin[l], store, l, date, res->version);
            taken = access(fin[l], F_OK) == 0;
        }
        if (!taken) break;
    }
    if ((rc = tp_features_compute(ev, defs, as_of, n_threads, &fs)) != TP_OK) goto rollback;
    for (int l = 0; l < TP_N_LEVELS; l++) {
        snap_dir(fin[l], sizeof fin[l], store, l, date, res->version);
        snprintf(tmp[l], sizeof tmp[l], "%s.tmp-%ld", fin[l], (long)getpid());
        if ((rc = tp_mkdirs(tmp[l])) != TP_OK) goto rollback;
        done_dirs = l + 1;
        char path[4200];
        snprintf(path, sizeof path, "%s/part-0.parquet", tmp[l]);
        if ((rc = tp_pq_write_file(fs->level[l], path, NULL)) != TP_OK) goto rollback;
        res->rows[l] = (int64_t)tp_frame_n_rows(fs->level[l]);
    }
    res->seconds = fs->seconds;
    now_utc(created, sizeof created);
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, "INSERT OR IGNORE INTO definitions(hash, canonical, created) VALUES (?1, ?2, ?3)",
                           -1, &st, NULL) != SQLITE_OK) {
        rc = db_fail(db, "writing the catalogue", store);
        goto rollback;
    }
    sqlite3_bind_text(st, 1, defs->hash, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, defs->canonical, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, created, -1, SQLITE_STATIC);
    int sr = sqlite3_step(st);
    sqlite3_finalize(st);
    if (sr != SQLITE_DONE) {
        rc = db_fail(db, "writing the catalogue", store);
        goto rollback;
    }
    for (int l = 0; l < TP_N_LEVELS; l++) {
        if (sqlite3_prepare_v2(db,
                               "INSERT INTO snapshots(level, as_of, version, defs_hash, rows, features,"
                               " seconds, created, path) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                               -1, &st, NULL) != SQLITE_OK) {
            rc = db_fail(db, "writing the catalogue", store);
            goto rollback;
        }
        char rel[4096];
        snprintf(rel, sizeof rel, "snapshots/%s/as_of=%s/v%d/part-0.parquet",
                 tp_feature_level_name((tp_feature_level)l), date, res->version);
        sqlite3_bind_text(st, 1, tp_feature_level_name((tp_feature_level)l), -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, date, -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 3, res->version);
        sqlite3_bind_text(st, 4, defs->hash, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 5, res->rows[l]);
        sqlite3_bind_int64(st, 6, (sqlite3_int64)defs->n[l]);
        sqlite3_bind_double(st, 7, res->seconds);
        sqlite3_bind_text(st, 8, created, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 9, rel, -1, SQLITE_TRANSIENT);
        sr = sqlite3_step(st);
        sqlite3_finalize(st);
        if (sr != SQLITE_DONE) {
            rc = db_fail(db, "writing the catalogue", store);
            goto rollback;
        }
    }
    // Publish the folders, then commit: a crash in between leaves folders the catalogue does
    // not list (ignored; the next run picks a version past them).
    for (int l = 0; l < TP_N_LEVELS; l++) {
        if (rename(tmp[l], fin[l]) != 0) {
            rc = tp_fail(TP_ERR_IO, "feature store '%s': cannot rename '%s' to '%s': %s", store,
                         tmp[l], fin[l], strerror(errno));
            goto rollback;
        }
        renamed = l + 1;
    }
    if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        rc = db_fail(db, "committing the catalogue", store);
        goto rollback;
    }
    goto done;
rollback:
    sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    for (int l = 0; l < renamed; l++) rm_tree_tmp(fin[l]);
    for (int l = renamed; l < done_dirs; l++) rm_tree_tmp(tmp[l]);
done:
    tp_feature_set_free(fs);
    sqlite3_close(db);
    return rc;
}

tp_status tp_featurestore_load(const char *store, const tp_feature_defs *defs, int32_t as_of,
                               tp_feature_set **out) {
    *out = NULL;
    char date[11];
    tp_date_format(as_of, date);
    sqlite3 *db = NULL;
    tp_status rc = db_open(store, false, &db);
    if (rc != TP_OK) return rc;
    int mine, max_v;
    double t0 = tp_now();
    tp_feature_set *fs = NULL;
    if ((rc = find_version(db, store, defs->hash, date, &mine, &max_v, NULL, NULL)) != TP_OK) goto done;
    if (!mine) {
        rc = tp_fail(TP_ERR_NOTFOUND, "feature store '%s': no snapshot of definitions %s at %s", store,
                     defs->hash, date);
        goto done;
    }
    if (!(fs = tp_calloc(1, sizeof *fs))) {
        rc = tp_fail(TP_ERR_NOMEM, "out of memory");
        goto done;
    }
    fs->as_of = as_of;
    for (int l = 0; l < TP_N_LEVELS; l++) {
        char dir[4096], path[4200];
        snap_dir(dir, sizeof dir, store, l, date, mine);
        snprintf(path, sizeof path, "%s/part-0.parquet", dir);
        if ((rc = tp_pq_read_file(path, NULL, 0, &fs->level[l])) != TP_OK) goto done;
        // The snapshot must have the definitions' columns in order.
        size_t key = l == TP_LEVEL_USER_GROUP ? 2 : 1;
        if (tp_frame_n_cols(fs->level[l]) != key + defs->n[l]) {
            rc = tp_fail(TP_ERR_FORMAT, "%s: %zu columns, the definitions give %zu", path,
                         tp_frame_n_cols(fs->level[l]), key + defs->n[l]);
            goto done;
        }
    }
    fs->seconds = tp_now() - t0;
    *out = fs;
    fs = NULL;
done:
    tp_feature_set_free(fs);
    sqlite3_close(db);
    return rc;
}

tp_status tp_featurestore_list(const char *store, tp_frame **out) {
    *out = NULL;
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    tp_frame *f = NULL;
    tp_status rc = db_open(store, false, &db);
    if (rc != TP_OK) return rc;
    static const char *const names[] = {"level", "as_of", "version", "defs_hash", "rows",
                                        "features", "seconds", "created", "path"};
    static const tp_dtype types[] = {TP_DTYPE_STR, TP_DTYPE_DATE, TP_DTYPE_I32, TP_DTYPE_STR,
                                     TP_DTYPE_I64, TP_DTYPE_I32, TP_DTYPE_F64, TP_DTYPE_STR, TP_DTYPE_STR};
    if ((rc = tp_frame_new(&f)) != TP_OK) goto done;
    for (int i = 0; i < 9; i++) {
        tp_column *c;
        if ((rc = tp_column_new(names[i], types[i], 16, &c)) != TP_OK) goto done;
        if ((rc = tp_frame_add_take(f, c)) != TP_OK) {
            tp_column_free(c);
            goto done;
        }
    }
    if (sqlite3_prepare_v2(db,
                           "SELECT level, as_of, version, defs_hash, rows, features, seconds, created, path"
                           " FROM snapshots ORDER BY as_of, version,"
                           " CASE level WHEN 'user' THEN 0 WHEN 'group' THEN 1 ELSE 2 END",
                           -1, &st, NULL) != SQLITE_OK) {
        rc = db_fail(db, "reading the catalogue", store);
        goto done;
    }
    int r;
    while (rc == TP_OK && (r = sqlite3_step(st)) == SQLITE_ROW) {
        for (int i = 0; i < 9 && rc == TP_OK; i++) {
            tp_column *c = tp_frame_col(f, (size_t)i);
            const char *s = (const char *)sqlite3_column_text(st, i);
            switch (types[i]) {
            case TP_DTYPE_STR: rc = tp_column_push_str(c, s, strlen(s)); break;
            case TP_DTYPE_DATE: {
                int32_t dd = 0;
                rc = tp_date_parse(s, &dd);
                if (rc == TP_OK) rc = tp_column_push_i32(c, dd);
                break;
            }
            case TP_DTYPE_I32: rc = tp_column_push_i32(c, sqlite3_column_int(st, i)); break;
            case TP_DTYPE_I64: rc = tp_column_push_i64(c, sqlite3_column_int64(st, i)); break;
            default: rc = tp_column_push_f64(c, sqlite3_column_double(st, i));
            }
        }
    }
    if (rc == TP_OK && r != SQLITE_DONE) rc = db_fail(db, "reading the catalogue", store);
    if (rc != TP_OK) goto done;
    *out = f;
    f = NULL;
done:
    sqlite3_finalize(st);
    sqlite3_close(db);
    tp_frame_free(f);
    return rc;
}

tp_status tp_featurestore_defs_text(const char *store, const char *hash, char **out) {
    *out = NULL;
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    tp_status rc = db_open(store, false, &db);
    if (rc != TP_OK) return rc;
    if (sqlite3_prepare_v2(db, "SELECT canonical FROM definitions WHERE hash = ?1", -1, &st, NULL) != SQLITE_OK) {
        rc = db_fail(db, "reading the catalogue", store);
        goto done;
    }
    sqlite3_bind_text(st, 1, hash, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW) {
        if (!(*out = tp_strdup((const char *)sqlite3_column_text(st, 0))))
            rc = tp_fail(TP_ERR_NOMEM, "out of memory");
    } else {
        rc = tp_fail(TP_ERR_NOTFOUND, "feature store '%s': no definitions with hash %s", store, hash);
    }
done:
    sqlite3_finalize(st);
    sqlite3_close(db);
    return rc;
}

tp_status tp_featurestore_get(const char *store, tp_feature_level level, int32_t as_of, int version,
                              int64_t uid, const char *group, tp_frame **out) {
    *out = NULL;
    if ((unsigned)level >= TP_N_LEVELS) return tp_fail(TP_ERR_ARG, "unknown level %d", (int)level);
    if (level != TP_LEVEL_USER && !group) return tp_fail(TP_ERR_ARG, "level %s needs a group",
                                                         tp_feature_level_name(level));
    char date[11];
    tp_date_format(as_of, date);
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    tp_frame *f = NULL;
    uint32_t *idx = NULL;
    tp_status rc = db_open(store, false, &db);
    if (rc != TP_OK) return rc;
    if (!version) {
        int mine;
        if ((rc = find_version(db, store, NULL, date, &mine, &version, NULL, NULL)) != TP_OK) goto done;
        if (!version) {
            rc = tp_fail(TP_ERR_NOTFOUND, "feature store '%s': no snapshot at %s", store, date);
            goto done;
        }
    }
    char dir[4096], path[4200];
    snap_dir(dir, sizeof dir, store, level, date, version);
    snprintf(path, sizeof path, "%s/part-0.parquet", dir);
    if (access(path, F_OK) != 0) {
        rc = tp_fail(TP_ERR_NOTFOUND, "feature store '%s': no %s snapshot v%d at %s", store,
                     tp_feature_level_name(level), version, date);
        goto done;
    }
    if ((rc = tp_pq_read_file(path, NULL, 0, &f)) != TP_OK) goto done;
    size_t n = tp_frame_n_rows(f);
    tp_column *cu = level != TP_LEVEL_GROUP ? tp_frame_find(f, "uid") : NULL;
    tp_column *cg = level != TP_LEVEL_USER ? tp_frame_find(f, "group") : NULL;
    size_t hit = SIZE_MAX;
    for (size_t i = 0; i < n && hit == SIZE_MAX; i++) {
        if (cu && tp_column_get_i64(cu, i) != uid) continue;
        if (cg) {
            size_t len;
            const char *s = tp_column_get_str(cg, i, &len);
            if (!s || strlen(group) != len || memcmp(s, group, len)) continue;
        }
        hit = i;
    }
    if (hit == SIZE_MAX) {
        rc = tp_fail(TP_ERR_NOTFOUND, "%s: no row for uid %lld%s%s", path, (long long)uid,
                     group ? " group " : "", group ? group : "");
        goto done;
    }
    uint32_t one = (uint32_t)hit;
    rc = tp_frame_take(f, &one, 1, out);
done:
    tp_free(idx);
    sqlite3_finalize(st);
    sqlite3_close(db);
    tp_frame_free(f);
    return rc;
}

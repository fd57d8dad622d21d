/* test_registry.c: suite `registry`: versions and their copied files, run-key idempotence,
 * champion/challenger promotion (no production, refusal without a shared holdout, the margin,
 * --force), archiving, the transition log, and the database refusing two production versions. */
#include "test.h"
#include "touchpoint/registry.h"
#include "touchpoint/touchpoint.h"

#include <jansson.h>
#include <math.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <sys/stat.h>

static void make_model_dir(const char *dir, const char *tag) {
    tp_mkdirs(dir);
    const char *files[3] = {"model.json", "meta.json", "holdout.parquet"};
    for (int k = 0; k < 3; k++) {
        char p[600];
        snprintf(p, sizeof p, "%s/%s", dir, files[k]);
        tp_atomic_write(p, tag, strlen(tag));
    }
}

static int count_transitions(const char *json) {
    json_t *o = json_loads(json, 0, NULL);
    int n = o ? (int)json_array_size(json_object_get(o, "transitions")) : -1;
    json_decref(o);
    return n;
}

void suite_registry(void) {
    char path[512], src[512];
    snprintf(path, sizeof path, "%s", tp_test_path("reg.sqlite"));
    snprintf(src, sizeof src, "%s", tp_test_path("src_model"));
    make_model_dir(src, "first");
    tp_registry *r = NULL;
    CHECK_OK(tp_registry_open(path, &r));
    if (!r) return;
    // ---- register ----
    int v1 = 0, v2 = 0, v3 = 0;
    bool existed = true;
    tp_registry_new nv = {.model = "shoes", .src_dir = src, .params_json = "{\"max_depth\": 4}",
                          .metrics_json = "{\"pr_auc\": 0.3}", .window_json = "{\"test\": \"2024-04-01\"}",
                          .defs_hash = "abcd", .pr_auc = 0.3, .run_key = "weekly/run-1/shoes"};
    CHECK_OK(tp_registry_register(r, &nv, &v1, &existed));
    CHECK(v1 == 1 && !existed);
    /* the same run key again: the same version, nothing new */
    CHECK_OK(tp_registry_register(r, &nv, &v2, &existed));
    CHECK(v2 == 1 && existed);
    tp_registry_version v;
    CHECK_OK(tp_registry_get(r, "shoes", 1, &v));
    CHECK_STR(v.stage, "none");
    CHECK_STR(v.defs_hash, "abcd");
    CHECK_CLOSE(v.pr_auc, 0.3, 1e-12);
    { /* the files were copied into the registry's store */
        char p[4200];
        snprintf(p, sizeof p, "%s/model.json", v.dir);
        struct stat sb;
        CHECK(stat(p, &sb) == 0 && sb.st_size == 5);
        CHECK(strstr(v.dir, "reg_models/shoes/v1") != NULL);
    }
    CHECK_STATUS(tp_registry_production(r, "shoes", &v), TP_ERR_NOTFOUND);
    CHECK_STATUS(tp_registry_get(r, "hats", 0, &v), TP_ERR_NOTFOUND);
    // ---- first promotion: no production version ----
    tp_promotion p;
    CHECK_OK(tp_registry_promote(r, "shoes", 1, 0.0, false, NULL, &p));
    CHECK(p.promoted && p.previous == 0);
    CHECK(strstr(p.reason, "no production") != NULL);
    CHECK_OK(tp_registry_production(r, "shoes", &v));
    CHECK(v.version == 1);
    // ---- a challenger without a shared holdout is refused ----
    make_model_dir(src, "second");
    nv.run_key = "weekly/run-2/shoes";
    nv.pr_auc = 0.35;
    CHECK_OK(tp_registry_register(r, &nv, &v2, &existed));
    CHECK(v2 == 2);
    CHECK_OK(tp_registry_record_evaluation(r, "shoes", 2, "shoes/v2", "{}", 0.35));
    CHECK_OK(tp_registry_promote(r, "shoes", 2, 0.0, false, NULL, &p));
    CHECK(!p.promoted && p.previous == 1);
    CHECK(strstr(p.reason, "cannot compare") != NULL);
    CHECK_OK(tp_registry_production(r, "shoes", &v));
    CHECK(v.version == 1);
    // ---- the same holdout: the margin decides ----
    CHECK_OK(tp_registry_record_evaluation(r, "shoes", 1, "shoes/v2", "{}", 0.32));
    double e;
    CHECK_OK(tp_registry_evaluation(r, "shoes", 1, "shoes/v2", &e));
    CHECK_CLOSE(e, 0.32, 1e-12);
    CHECK_OK(tp_registry_promote(r, "shoes", 2, 0.05, false, NULL, &p)); /* 0.35 > 0.37? no */
    CHECK(!p.promoted);
    CHECK_CLOSE(p.challenger, 0.35, 1e-12);
    CHECK_CLOSE(p.champion, 0.32, 1e-12);
    CHECK(strstr(p.reason, "does not beat") != NULL);
    CHECK_OK(tp_registry_promote(r, "shoes", 2, 0.02, false, NULL, &p)); /* 0.35 > 0.34: yes */
    CHECK(p.promoted && p.previous == 1);
    CHECK_OK(tp_registry_production(r, "shoes", &v));
    CHECK(v.version == 2);
    CHECK_OK(tp_registry_get(r, "shoes", 1, &v));
    CHECK_STR(v.stage, "archived");
    /* promoting the production version again is a no-op */
    CHECK_OK(tp_registry_promote(r, "shoes", 2, 0.0, false, NULL, &p));
    CHECK(p.promoted && strstr(p.reason, "already") != NULL);
    // ---- a worse challenger, forced ----
    make_model_dir(src, "third");
    nv.run_key = NULL;
    CHECK_OK(tp_registry_register(r, &nv, &v3, &existed));
    CHECK(v3 == 3);
    CHECK_OK(tp_registry_record_evaluation(r, "shoes", 3, "shoes/v3", "{}", 0.1));
    CHECK_OK(tp_registry_record_evaluation(r, "shoes", 2, "shoes/v3", "{}", 0.2));
    CHECK_OK(tp_registry_promote(r, "shoes", 3, 0.0, false, NULL, &p));
    CHECK(!p.promoted);
    CHECK_OK(tp_registry_promote(r, "shoes", 3, 0.0, true, "rollback of a bad feature", &p));
    CHECK(p.promoted && strstr(p.reason, "forced: rollback") != NULL);
    CHECK_OK(tp_registry_get(r, "shoes", 0, &v)); /* latest */
    CHECK(v.version == 3);
    CHECK_STR(v.stage, "production");
    // ---- transitions and show ----
    char *json = NULL;
    CHECK_OK(tp_registry_show(r, "shoes", 2, &json));
    /* v2: registered, refused (cannot compare), refused (margin), promoted, archived by v3 */
    if (json) {
        CHECK(count_transitions(json) == 5);
        CHECK(strstr(json, "\"holdout\": \"shoes/v2\"") != NULL);
        CHECK(strstr(json, "replaced by v3") != NULL);
        CHECK(strstr(json, "\"max_depth\": 4") != NULL);
    }
    tp_free(json);
    // ---- archive; staging; production only through promote ----
    CHECK_OK(tp_registry_archive(r, "shoes", 3, "retired"));
    CHECK_STATUS(tp_registry_production(r, "shoes", &v), TP_ERR_NOTFOUND);
    CHECK_STATUS(tp_registry_transition(r, "shoes", 2, "production", "sneaky"), TP_ERR_ARG);
    CHECK_OK(tp_registry_transition(r, "shoes", 2, "staging", "re-check"));
    // ---- list and models ----
    nv.model = "hats";
    CHECK_OK(tp_registry_register(r, &nv, &v1, &existed));
    tp_frame *f = NULL;
    CHECK_OK(tp_registry_list(r, &f));
    if (f) {
        CHECK(tp_frame_n_rows(f) == 4);
        size_t l;
        CHECK_STR(tp_column_get_str(tp_frame_col(f, 0), 0, &l), "hats");
        CHECK_STR(tp_column_get_str(tp_frame_col(f, 2), 2, &l), "staging");
    }
    tp_frame_free(f);
    char **names = NULL;
    size_t n = 0;
    CHECK_OK(tp_registry_models(r, &names, &n));
    CHECK(n == 2 && !strcmp(names[0], "hats") && !strcmp(names[1], "shoes"));
    tp_registry_free_names(names, n);
    tp_registry_close(r);
    // ---- the database itself refuses two production versions of a model ----
    CHECK_OK(tp_registry_open(path, &r));
    if (r) {
        CHECK_OK(tp_registry_promote(r, "shoes", 2, 0, true, NULL, &p));
        tp_registry_close(r);
    }
    sqlite3 *db = NULL;
    CHECK(sqlite3_open(path, &db) == SQLITE_OK);
    int rc = sqlite3_exec(db, "UPDATE versions SET stage = 'production' WHERE version = 1 AND"
                              " model_id = (SELECT id FROM models WHERE name = 'shoes')",
                          NULL, NULL, NULL);
    CHECK(rc == SQLITE_CONSTRAINT);
    sqlite3_close(db);
}

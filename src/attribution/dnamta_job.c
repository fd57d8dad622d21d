/* dnamta_job.c: jobs 3 and 4 as single calls (what `touchpoint train`, `touchpoint predict` and
 * the pipeline use): open the journeys, train, save MODEL and MODEL.metrics.json (curves with
 * timings, test metrics, ROC/PR curve points for the report); load MODEL, predict, write
 * attention_score.parquet and the model's credit in the shared format. */
#include "touchpoint/dnamta_train.h"
#include "touchpoint/io.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static json_t *jnum(double v) { return isfinite(v) ? json_real(v) : json_null(); }

// Curve points thinned to at most max_pts (first and last kept), as [[x, y], ...].
static json_t *points(const double *x, const double *y, size_t n, size_t max_pts) {
    json_t *a = json_array();
    size_t step = n > max_pts ? (n + max_pts - 2) / (max_pts - 1) : 1;
    for (size_t i = 0; i < n; i += step) json_array_append_new(a, json_pack("[o, o]", jnum(x[i]), jnum(y[i])));
    if (n > 0 && (n - 1) % step != 0) json_array_append_new(a, json_pack("[o, o]", jnum(x[n - 1]), jnum(y[n - 1])));
    return a;
}

tp_status tp_dnamta_train_metrics_write(const tp_dnamta_model *m, const tp_dnamta_train_result *r, const char *path) {
    json_t *o = json_object(), *cj = json_array(), *tj = NULL;
    double *fx = NULL, *fy = NULL, *rx = NULL, *ry = NULL;
    char *txt = NULL, *sum = NULL;
    tp_status rc = TP_OK;
    if (!o || !cj) goto nomem;
    if (m->hparams_json) json_object_set_new(o, "hyperparameters", json_loads(m->hparams_json, 0, NULL));
    if (r->n_test > 0) {
        if ((rc = tp_metrics_summary_json(&r->test, &sum)) != TP_OK) goto done;
        json_object_set_new(o, "test", json_loads(sum, 0, NULL));
    } else {
        json_object_set_new(o, "test", json_null());
    }
    if (r->has_baseline && r->n_test > 0) {
        char *bs = NULL;
        if ((rc = tp_metrics_summary_json(&r->baseline_test, &bs)) != TP_OK) goto done;
        json_t *bj = json_loads(bs, 0, NULL);
        tp_free(bs);
        if (bj) json_object_set_new(bj, "l2", json_real(r->baseline_l2));
        json_object_set_new(o, "baseline_logreg", bj);
    }
    json_object_set_new(o, "best_epoch", json_integer(r->best_epoch));
    json_object_set_new(o, "best_validation", jnum(r->best_val));
    json_object_set_new(o, "train_seconds", json_real(r->seconds));
    for (size_t e = 0; e < r->n_epochs; e++) {
        const tp_dnamta_epoch *c = &r->curve[e];
        json_t *e = json_pack("{s:i, s:o, s:o, s:o, s:o, s:o, s:o}", "epoch", c->epoch, "train_loss",
                              jnum(c->train_loss), "val_loss", jnum(c->val_loss), "val_roc_auc", jnum(c->val_roc),
                              "val_pr_auc", jnum(c->val_pr), "seconds", jnum(c->seconds), "journeys_per_s",
                              jnum(c->journeys_per_s));
        json_object_set_new(e, "cpu_seconds", jnum(c->cpu_seconds));
        json_object_set_new(e, "journeys_per_cpu_s",
                            jnum(c->cpu_seconds > 0 ? c->journeys_per_s * c->seconds / c->cpu_seconds : NAN));
        json_array_append_new(cj, e);
    }
    json_object_set_new(o, "curve", cj);
    cj = NULL;
    tj = json_array();
    for (size_t k = 0; k < r->n_trials; k++) {
        const tp_dnamta_hparams *h = &r->trial_hp[k];
        json_array_append_new(tj, json_pack("{s:f, s:i, s:i, s:i, s:f, s:o, s:i}", "lr", (double)h->lr, "batch_size",
                                            h->batch_size, "embed", h->embed, "hidden", h->hidden, "dropout",
                                            (double)h->dropout, "best_validation", jnum(r->trial_val[k]),
                                            "epochs_trained", r->trial_epochs[k]));
    }
    json_object_set_new(o, "search_trials", tj);
    tj = NULL;
    if (r->n_test > 0 && r->test.positives > 0 && r->test.positives < r->test.n) {
        size_t n1, n2;
        if ((rc = tp_metrics_roc_curve(r->test_prob, r->test_label, r->n_test, &fx, &fy, NULL, &n1)) != TP_OK) goto done;
        if ((rc = tp_metrics_pr_curve(r->test_prob, r->test_label, r->n_test, &rx, &ry, NULL, &n2)) != TP_OK) goto done;
        json_object_set_new(o, "roc_curve", points(fx, fy, n1, 200));
        json_object_set_new(o, "pr_curve", points(rx, ry, n2, 200));
    }
    txt = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10));
    if (!txt) goto nomem;
    rc = tp_atomic_write(path, txt, strlen(txt));
    goto done;
nomem:
    rc = tp_fail(TP_ERR_NOMEM, "out of memory writing '%s'", path);
done:
    free(txt);
    tp_free(sum);
    tp_free(fx);
    tp_free(fy);
    tp_free(rx);
    tp_free(ry);
    json_decref(o);
    json_decref(cj);
    json_decref(tj);
    return rc;
}

tp_status tp_dnamta_baseline_write(const tp_dnamta_model *m, const tp_dnamta_train_result *r, const char *dir) {
    tp_frame *f = NULL;
    tp_column *c = NULL;
    size_t K = m->n_vocab, pl = strlen(dir) + 32;
    char *path = tp_malloc(pl);
    tp_status rc = TP_OK;
    if (!path) return tp_fail(TP_ERR_NOMEM, "out of memory");
    if (!r->has_baseline || r->n_vocab != K) {
        rc = tp_fail(TP_ERR_ARG, "no baseline was trained with this model");
        goto done;
    }
    if ((rc = tp_frame_new(&f)) != TP_OK || (rc = tp_column_new("campaign_nm", TP_DTYPE_STR, K, &c)) != TP_OK) goto done;
    for (size_t k = 0; k < K && rc == TP_OK; k++) rc = tp_column_push_str(c, m->vocab[k], strlen(m->vocab[k]));
    if (rc != TP_OK || (rc = tp_frame_add_take(f, c)) != TP_OK) goto done;
    c = NULL;
    const char *names[2] = {"attributed_conversions", "share"};
    const double *vals[2] = {r->baseline_credit, r->baseline_share};
    for (int q = 0; q < 2; q++) {
        if ((rc = tp_column_new(names[q], TP_DTYPE_F64, K, &c)) != TP_OK) goto done;
        for (size_t k = 0; k < K && rc == TP_OK; k++) rc = tp_column_push_f64(c, vals[q][k]);
        if (rc != TP_OK || (rc = tp_frame_add_take(f, c)) != TP_OK) goto done;
        c = NULL;
    }
    if ((rc = tp_mkdirs(dir)) != TP_OK) goto done;
    snprintf(path, pl, "%s/logreg.parquet", dir);
    rc = tp_table_write(f, path, NULL);
done:
    tp_column_free(c);
    tp_frame_free(f);
    tp_free(path);
    return rc;
}

tp_status tp_dnamta_train_job(const char *journeys_dir, const char *model_path, const char *const *controls,
                              size_t n_controls, const tp_dnamta_train_opts *o, const char *baseline_dir,
                              tp_dnamta_train_result *res) {
    tp_dnamta_splits *s = NULL;
    tp_dnamta_model *m = NULL;
    tp_dnamta_train_result r;
    memset(&r, 0, sizeof r);
    size_t pl = strlen(model_path) + 16;
    char *mpath = tp_malloc(pl);
    tp_status rc;
    if (!mpath) return tp_fail(TP_ERR_NOMEM, "out of memory");
    snprintf(mpath, pl, "%s.metrics.json", model_path);
    if ((rc = tp_dnamta_splits_open(journeys_dir, 0, controls, n_controls, 42, &s)) != TP_OK) goto done;
    if ((rc = tp_dnamta_train(s, o, &m, &r)) != TP_OK) goto done;
    if ((rc = tp_dnamta_model_save(m, model_path)) != TP_OK) goto done;
    if ((rc = tp_dnamta_train_metrics_write(m, &r, mpath)) != TP_OK) goto done;
    if (o->baseline && baseline_dir && (rc = tp_dnamta_baseline_write(m, &r, baseline_dir)) != TP_OK) goto done;
    if (res) {
        *res = r;
        memset(&r, 0, sizeof r);
    }
done:
    tp_dnamta_train_result_clear(&r);
    tp_dnamta_model_free(m);
    tp_dnamta_splits_free(s);
    tp_free(mpath);
    return rc;
}

tp_status tp_dnamta_predict_job(const char *model_path, const char *journeys, const char *scores_path,
                                const char *credit_dir, int threads, size_t *n_journeys) {
    tp_dnamta_model *m = NULL;
    tp_journeys *j = NULL;
    double *prob = NULL, *att = NULL;
    tp_frame *f = NULL;
    size_t L = 0;
    tp_status rc = tp_dnamta_model_load(model_path, 0, &m);
    if (rc != TP_OK) return rc;
    if ((rc = tp_dnamta_predict_path(m, journeys, threads, &j, &prob, &att, &L)) != TP_OK) goto done;
    if (scores_path) {
        if ((rc = tp_dnamta_scores_frame(j, prob, att, L, &f)) != TP_OK) goto done;
        if ((rc = tp_table_write(f, scores_path, NULL)) != TP_OK) goto done;
    }
    if (credit_dir && (rc = tp_dnamta_credit_write(j, prob, att, L, credit_dir, "attention")) != TP_OK) goto done;
    if (n_journeys) *n_journeys = j->n;
done:
    tp_frame_free(f);
    tp_journeys_free(j);
    tp_free(prob);
    tp_free(att);
    tp_dnamta_model_free(m);
    return rc;
}

/* scores.c: the user x keyword score table (issue #6 §3): for every kept user, the click model's
 * probability for every keyword given the user's latest history, rows L2-normalised, written as
 * DIR/scores.parquet and DIR/scores.tpsm. Users are scored in parallel chunks (each row depends
 * only on its user, so the output does not depend on the thread count). */
#include <stdlib.h>
#include <string.h>

#include "lal_impl.h"
#include "lookalike/din_impl.h"

typedef struct score_ctx {
    const lal_data *d;
    const tp_din *m;
    const tp_lookalike_config *c;
    tp_score_table *t;
    int T, h_intervals;
} score_ctx;

static tp_status score_range(void *vctx, size_t lo, size_t hi, int tid) {
    score_ctx *x = vctx;
    const int V = x->t->n_keywords;
    int32_t *hist = tp_malloc((size_t)x->T * sizeof(int32_t));
    int32_t *cand = tp_malloc((size_t)V * sizeof(int32_t));
    tp_status rc = TP_OK;
    if (!hist || !cand) {
        rc = tp_fail(TP_ERR_NOMEM, "out of memory scoring");
        goto done;
    }
    for (int k = 0; k < V; k++) cand[k] = k;
    for (size_t u = lo; u < hi && !rc; u++) {
        int n = lal_history(x->d, (int)u, INT64_MAX, x->h_intervals, x->T, hist);
        rc = tp_din_predict(x->m, hist, n, cand, V, x->t->scores + u * (size_t)V);
    }
done:
    tp_free(hist);
    tp_free(cand);
    return rc;
}

tp_status tp_lookalike_scores(const tp_lookalike_config *c, const char *model_path, const char *dir,
                              uint64_t *out_users) {
    char path[8300], mpath[4200], sdir[4200];
    lal_data *d = NULL;
    tp_din *m = NULL;
    tp_score_table *t = NULL;
    if (!model_path) {
        snprintf(mpath, sizeof mpath, "%s/model.tpdin", c->out_dir);
        model_path = mpath;
    }
    if (!dir) {
        snprintf(sdir, sizeof sdir, "%s/scores", c->out_dir);
        dir = sdir;
    }
    tp_status rc = tp_din_load(model_path, &m);
    if (rc || (rc = lal_data_load(c->out_dir, &d))) goto done;
    if (tp_din_n_keywords(m) != d->n_keywords) {
        rc = tp_fail(TP_ERR_SHAPE, "model '%s' has %d keywords, '%s/keywords.parquet' has %d",
                     model_path, tp_din_n_keywords(m), c->out_dir, d->n_keywords);
        goto done;
    }
    if (!(t = tp_calloc(1, sizeof *t))) goto nomem;
    t->n_users = (uint64_t)d->n_users;
    t->n_keywords = (uint32_t)d->n_keywords;
    if (!(t->dids = tp_calloc(t->n_users + 1, sizeof(char *))) ||
        !(t->keywords = tp_calloc(t->n_keywords + 1, sizeof(char *))) ||
        !(t->scores = tp_malloc((t->n_users * t->n_keywords + 1) * sizeof(float))))
        goto nomem;
    for (uint64_t u = 0; u < t->n_users; u++)
        if (!(t->dids[u] = tp_strdup(d->dids[u]))) goto nomem;
    for (uint32_t k = 0; k < t->n_keywords; k++)
        if (!(t->keywords[k] = tp_strdup(d->keywords[k]))) goto nomem;
    // the history shape the model was trained with, from the model file
    score_ctx x = {d, m, c, t, 0, 0};
    lal_din_history_shape(m, &x.T, &x.h_intervals);
    if ((rc = tp_parallel_for(t->n_users, c->threads, score_range, &x))) goto done;
    tp_score_table_normalise(t);
    if ((rc = tp_mkdirs(dir))) goto done;
    snprintf(path, sizeof path, "%s/scores.parquet", dir);
    if ((rc = tp_score_table_write_parquet(t, path))) goto done;
    snprintf(path, sizeof path, "%s/scores.tpsm", dir);
    if ((rc = tp_score_table_write_tpsm(t, path))) goto done;
    if (out_users) *out_users = t->n_users;
    goto done;
nomem:
    rc = tp_fail(TP_ERR_NOMEM, "out of memory building the score table");
done:
    tp_score_table_free(t);
    tp_din_free(m);
    lal_data_free(d);
    return rc;
}

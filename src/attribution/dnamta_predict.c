/* dnamta_predict.c: job 4, the attention model applied to journeys. Per journey the conversion
 * probability and the attention over its touches (in the journey's own index positions), written
 * as attention_score.parquet, and the model as an attribution method in the shared credit format
 * (per-touch credit = attention x predicted probability, scaled to the observed conversions). */
#include "touchpoint/dnamta_train.h"
#include "touchpoint/io.h"

#include <stdio.h>
#include <string.h>

// n journeys, L the journeys layout width, T the model's steps.

tp_status tp_dnamta_predict_path(tp_dnamta_model *m, const char *path, int threads, tp_journeys **journeys,
                                 double **prob_out, double **att_out, size_t *L_out) {
    tp_frame *f = NULL;
    tp_journeys *j = NULL;
    tp_dnamta_data *d = NULL;
    double *prob = NULL, *att = NULL;
    float *a = NULL;
    tp_status rc = tp_journeys_read_frame(path, &f, NULL);
    if (rc != TP_OK) return rc;
    if ((rc = tp_journeys_from_frame(f, path, &j)) != TP_OK) goto done;
    size_t T = (size_t)m->cfg.max_len, n = j->n, L = j->max_len;
    if ((rc = tp_dnamta_data_build(j, f, path, m->vocab, m->n_vocab, (int32_t)m->n_vocab, T, &m->controls, &d)) != TP_OK)
        goto done;
    prob = tp_malloc((n ? n : 1) * sizeof *prob);
    att = tp_calloc((n ? n : 1) * (L ? L : 1), sizeof *att);
    a = tp_malloc((n ? n : 1) * T * sizeof *a);
    if (!prob || !att || !a) {
        rc = tp_fail(TP_ERR_NOMEM, "out of memory for %zu journeys", n);
        goto done;
    }
    if ((rc = tp_dnamta_model_run(m, d, threads, prob, a)) != TP_OK) goto done;
    for (size_t i = 0; i < n; i++) {
        size_t len = j->off[i + 1] - j->off[i], kept = (size_t)d->len[i], first = len - kept;
        for (size_t t = 0; t < kept; t++) att[i * L + first + t] = a[i * T + t];
    }
    *journeys = j;
    *prob_out = prob;
    *att_out = att;
    *L_out = L;
    j = NULL, prob = NULL, att = NULL;
done:
    tp_frame_free(f);
    tp_journeys_free(j);
    tp_dnamta_data_free(d);
    tp_free(prob);
    tp_free(att);
    tp_free(a);
    return rc;
}

static tp_status add_f64(tp_frame *f, const char *name, size_t n, const double *src, size_t stride) {
    tp_column *c = NULL;
    tp_status rc = tp_column_new(name, TP_DTYPE_F64, n, &c);
    if (rc == TP_OK) rc = tp_column_resize(c, n);
    if (rc == TP_OK) {
        double *v = TP_COL(c, double);
        for (size_t i = 0; i < n; i++) v[i] = src[i * stride];
        rc = tp_frame_add_take(f, c);
        c = NULL;
    }
    tp_column_free(c);
    return rc;
}

tp_status tp_dnamta_scores_frame(const tp_journeys *j, const double *prob, const double *attention, size_t L,
                                 tp_frame **out) {
    tp_frame *f = NULL;
    tp_column *c = NULL;
    size_t n = j->n;
    char name[64];
    tp_status rc = tp_frame_new(&f);
    if (rc != TP_OK) return rc;
    if ((rc = tp_column_new("journey_id", TP_DTYPE_I64, n, &c)) != TP_OK || (rc = tp_column_resize(c, n)) != TP_OK)
        goto done;
    memcpy(TP_COL(c, int64_t), j->journey_id, n * sizeof(int64_t));
    if ((rc = tp_frame_add_take(f, c)) != TP_OK) goto done;
    c = NULL;
    for (size_t t = 0; t < L; t++) {
        snprintf(name, sizeof name, "attention_at_index_%zu", t);
        if ((rc = add_f64(f, name, n, attention + t, L)) != TP_OK) goto done;
    }
    if ((rc = add_f64(f, "conversion_probability", n, prob, 1)) != TP_OK) goto done;
    *out = f;
    f = NULL;
done:
    tp_column_free(c);
    tp_frame_free(f);
    return rc;
}

tp_status tp_dnamta_credit_write(const tp_journeys *j, const double *prob, const double *attention, size_t L,
                                 const char *dir, const char *method) {
    tp_frame *ft = NULL, *fc = NULL;
    tp_column *cid = NULL, *cix = NULL, *cnm = NULL, *ccr = NULL, *cc2 = NULL;
    double *per = NULL, *cr2 = NULL, *sh = NULL;
    size_t pl = strlen(dir) + strlen(method) + 32;
    char *path = tp_malloc(pl);
    tp_status rc = TP_OK;
    if (!path) return tp_fail(TP_ERR_NOMEM, "out of memory");
    // Scale: sum of p over journeys with touches -> the converting journeys with touches.
    double sum_p = 0, conv = 0;
    size_t rows = 0;
    for (size_t i = 0; i < j->n; i++) {
        size_t len = j->off[i + 1] - j->off[i];
        if (!len) continue;
        sum_p += prob[i];
        conv += j->converted[i] != 0;
        rows += len;
    }
    double scale = sum_p > 0 ? conv / sum_p : 0.0;
    per = tp_calloc(j->n_campaigns ? j->n_campaigns : 1, sizeof *per);
    if (!per) {
        rc = tp_fail(TP_ERR_NOMEM, "out of memory");
        goto done;
    }
    if ((rc = tp_frame_new(&ft)) != TP_OK || (rc = tp_column_new("journey_id", TP_DTYPE_I64, rows, &cid)) != TP_OK ||
        (rc = tp_column_new("index", TP_DTYPE_I32, rows, &cix)) != TP_OK || (rc = tp_journeys_campaign_column(j, rows, &cnm)) != TP_OK ||
        (rc = tp_column_new("credit", TP_DTYPE_F64, rows, &ccr)) != TP_OK || (rc = tp_column_resize(cid, rows)) != TP_OK ||
        (rc = tp_column_resize(cix, rows)) != TP_OK || (rc = tp_column_resize(ccr, rows)) != TP_OK)
        goto done;
    int64_t *id = TP_COL(cid, int64_t);
    int32_t *ix = TP_COL(cix, int32_t), *nm = TP_COL(cnm, int32_t);
    double *cr = TP_COL(ccr, double);
    size_t r = 0;
    for (size_t i = 0; i < j->n; i++)
        for (uint64_t t = j->off[i]; t < j->off[i + 1]; t++, r++) {
            size_t p = t - j->off[i];
            id[r] = j->journey_id[i];
            ix[r] = (int32_t)p;
            nm[r] = j->campaign[t];
            cr[r] = p < L ? attention[i * L + p] * prob[i] * scale : 0.0;
            per[j->campaign[t]] += cr[r];
        }
    tp_column **cols[4] = {&cid, &cix, &cnm, &ccr};
    for (int q = 0; q < 4; q++) {
        if ((rc = tp_frame_add_take(ft, *cols[q])) != TP_OK) goto done;
        *cols[q] = NULL;
    }
    // Campaign table (every campaign of the journeys' mapper, sorted by name).
    size_t K = j->n_campaigns;
    double total = 0;
    for (size_t k = 0; k < K; k++) total += per[k];
    if ((rc = tp_frame_new(&fc)) != TP_OK || (rc = tp_journeys_campaign_column(j, K, &cc2)) != TP_OK) goto done;
    for (size_t k = 0; k < K; k++) TP_COL(cc2, int32_t)[k] = (int32_t)k;
    if ((rc = tp_frame_add_take(fc, cc2)) != TP_OK) goto done;
    cc2 = NULL;
    sh = tp_malloc((K ? K : 1) * sizeof *sh);
    if (!sh) {
        rc = tp_fail(TP_ERR_NOMEM, "out of memory");
        goto done;
    }
    for (size_t k = 0; k < K; k++) sh[k] = total > 0 ? per[k] / total : 0.0;
    if ((rc = add_f64(fc, "attributed_conversions", K, per, 1)) != TP_OK) goto done;
    if ((rc = add_f64(fc, "share", K, sh, 1)) != TP_OK) goto done;
    if ((rc = tp_mkdirs(dir)) != TP_OK) goto done;
    snprintf(path, pl, "%s/%s_touches.parquet", dir, method);
    if ((rc = tp_table_write(ft, path, NULL)) != TP_OK) goto done;
    snprintf(path, pl, "%s/%s.parquet", dir, method);
    rc = tp_table_write(fc, path, NULL);
done:
    tp_column_free(cid);
    tp_column_free(cix);
    tp_column_free(cnm);
    tp_column_free(ccr);
    tp_column_free(cc2);
    tp_frame_free(ft);
    tp_frame_free(fc);
    tp_free(per);
    tp_free(cr2);
    tp_free(sh);
    tp_free(path);
    return rc;
}

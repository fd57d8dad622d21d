/* report_model.c: the attention model's part of the HTML report, rendered from
 * MODEL.metrics.json: test metrics and hyperparameters, training curves (losses and validation
 * ROC/PR-AUC per epoch, best epoch marked) and the test ROC and PR curves, as inline SVG using the
 * report's CSS classes. Kept apart from report_html.c so the report needs one call to include it. */
#include "touchpoint/dnamta_train.h"

#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

typedef struct sbuf {
    char *p;
    size_t n, cap;
    bool oom;
} sbuf;

__attribute__((format(printf, 2, 3))) static void sp(sbuf *b, const char *fmt, ...) {
    va_list ap;
    for (;;) {
        if (b->oom) return;
        size_t room = b->cap - b->n;
        va_start(ap, fmt);
        int k = vsnprintf(b->p ? b->p + b->n : NULL, room, fmt, ap);
        va_end(ap);
        if (k < 0) {
            b->oom = true;
            return;
        }
        if ((size_t)k < room) {
            b->n += (size_t)k;
            return;
        }
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->n + (size_t)k + 1) cap *= 2;
        char *q = tp_realloc(b->p, cap);
        if (!q) {
            b->oom = true;
            return;
        }
        b->p = q, b->cap = cap;
    }
}

static void esc(sbuf *b, const char *s) {
    for (; *s; s++) {
        switch (*s) {
        case '&': sp(b, "&amp;"); break;
        case '<': sp(b, "&lt;"); break;
        case '>': sp(b, "&gt;"); break;
        case '"': sp(b, "&quot;"); break;
        case '\'': sp(b, "&#39;"); break;
        default: sp(b, "%c", *s);
        }
    }
}

static double num(json_t *o, const char *key) {
    json_t *v = json_object_get(o, key);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

static void fmt(char *buf, size_t cap, double v, int dec) {
    if (isfinite(v)) snprintf(buf, cap, "%.*f", dec, v);
    else snprintf(buf, cap, "n/a");
}

typedef struct series {
    const char *name, *colour;
    const double *x, *y;
    size_t n;
    bool dashed;
} series;

// A line chart on [x0,x1] x [y0,y1] with 5 ticks per axis; mark_x (if finite) draws a vertical line.
static void line_chart(sbuf *b, const char *id, const char *title, const char *xlab, const char *ylab, const series *s,
                       size_t ns, double x0, double x1, double y0, double y1, double mark_x, bool int_x) {
    const double W = 460, H = 300, L = 56, R = 14, T = 14, B = 44;
    double pw = W - L - R, ph = H - T - B;
    if (!(x1 > x0)) x1 = x0 + 1;
    if (!(y1 > y0)) y1 = y0 + 1;
#define PX(v) (L + ((v) - x0) / (x1 - x0) * pw)
#define PY(v) (T + ph - ((v) - y0) / (y1 - y0) * ph)
    sp(b, "<svg class=\"chart %s\" viewBox=\"0 0 %.0f %.0f\" width=\"%.0f\" height=\"%.0f\" role=\"img\" "
          "aria-labelledby=\"%s-t\" xmlns=\"http://www.w3.org/2000/svg\"><title id=\"%s-t\">",
       id, W, H, W, H, id, id);
    esc(b, title);
    sp(b, "</title>\n");
    for (int k = 0; k <= 4; k++) {
        double yv = y0 + (y1 - y0) * k / 4.0, xv = x0 + (x1 - x0) * k / 4.0;
        sp(b, "<line class=\"grid\" x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\"/>", L, W - R, PY(yv), PY(yv));
        sp(b, "<text class=\"tick\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%.3g</text>", L - 6, PY(yv) + 4, yv);
        if (int_x && fabs(xv - round(xv)) > 1e-9 && x1 - x0 >= 4) continue;
        sp(b, "<text class=\"tick\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%.3g</text>", PX(xv), T + ph + 16,
           int_x ? round(xv) : xv);
    }
    sp(b, "<line class=\"axis\" x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\"/>", L, W - R, T + ph, T + ph);
    sp(b, "<line class=\"axis\" x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\"/>", L, L, T, T + ph);
    sp(b, "<text class=\"tick\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">", L + pw / 2, H - 6);
    esc(b, xlab);
    sp(b, "</text><text class=\"tick\" transform=\"translate(14 %.1f) rotate(-90)\" text-anchor=\"middle\">", T + ph / 2);
    esc(b, ylab);
    sp(b, "</text>\n");
    if (isfinite(mark_x))
        sp(b, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#9aa4b2\" stroke-dasharray=\"3 3\"/>"
              "<text class=\"tick\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\">best epoch</text>\n",
           PX(mark_x), PX(mark_x), T, T + ph, PX(mark_x) + (PX(mark_x) > L + pw / 2 ? -4 : 4), T + 10,
           PX(mark_x) > L + pw / 2 ? "end" : "start");
    for (size_t k = 0; k < ns; k++) {
        const series *q = &s[k];
        sp(b, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\"%s points=\"", q->colour,
           q->dashed ? " stroke-dasharray=\"5 4\"" : "");
        for (size_t i = 0; i < q->n; i++)
            if (isfinite(q->x[i]) && isfinite(q->y[i])) sp(b, "%.1f,%.1f ", PX(q->x[i]), PY(q->y[i]));
        sp(b, "\"><title>");
        esc(b, q->name);
        sp(b, "</title></polyline>\n");
        if (q->n <= 60)
            for (size_t i = 0; i < q->n; i++)
                if (isfinite(q->x[i]) && isfinite(q->y[i]))
                    sp(b, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2.6\" fill=\"%s\"/>", PX(q->x[i]), PY(q->y[i]), q->colour);
    }
    sp(b, "</svg>\n<div class=\"legend\">");
    for (size_t k = 0; k < ns; k++) {
        sp(b, "<span><i class=\"sw\" style=\"background:%s\"></i>", s[k].colour);
        esc(b, s[k].name);
        sp(b, "</span>");
    }
    sp(b, "</div>\n");
#undef PX
#undef PY
}

static void minmax(const double *v, size_t n, double *lo, double *hi) {
    for (size_t i = 0; i < n; i++)
        if (isfinite(v[i])) {
            if (v[i] < *lo) *lo = v[i];
            if (v[i] > *hi) *hi = v[i];
        }
}

// [[x, y], ...] -> arrays (tp_malloc'd).
static size_t pairs(json_t *a, double **x, double **y) {
    size_t n = json_array_size(a);
    *x = tp_malloc((n ? n : 1) * sizeof **x);
    *y = tp_malloc((n ? n : 1) * sizeof **y);
    if (!*x || !*y) return 0;
    for (size_t i = 0; i < n; i++) {
        json_t *p = json_array_get(a, i);
        json_t *u = json_array_get(p, 0), *v = json_array_get(p, 1);
        (*x)[i] = json_is_number(u) ? json_number_value(u) : NAN;
        (*y)[i] = json_is_number(v) ? json_number_value(v) : NAN;
    }
    return n;
}

tp_status tp_dnamta_report_section(const char *metrics_path, char **out) {
    json_error_t err;
    json_t *root = json_load_file(metrics_path, 0, &err);
    sbuf b = {0};
    double *ep = NULL, *tl = NULL, *vl = NULL, *vr = NULL, *vp = NULL, *rx = NULL, *ry = NULL, *px = NULL, *py = NULL;
    char v1[32], v2[32];
    tp_status rc = TP_OK;
    if (!root) return tp_fail(TP_ERR_FORMAT, "model metrics '%s', line %d: %s", metrics_path, err.line, err.text);
    json_t *test = json_object_get(root, "test"), *hp = json_object_get(root, "hyperparameters");
    json_t *curve = json_object_get(root, "curve");
    if (!json_is_array(curve)) {
        rc = tp_fail(TP_ERR_FORMAT, "model metrics '%s': no \"curve\" array (not a MODEL.metrics.json?)", metrics_path);
        goto done;
    }
    sp(&b, "<section id=\"model\"><h2>Attention model (DNAMTA)</h2><p class=\"note\">LSTM with attention over the "
           "touches, trained on the train split, stopped early on the validation split, evaluated once on the "
           "test split. Attention shows what the model looked at to predict conversion; it is not a causal "
           "effect.</p>\n");
    // Test metrics and settings.
    sp(&b, "<div class=\"cards\">");
    if (json_is_object(test)) {
        json_t *half = json_object_get(test, "at_0.5"), *best = json_object_get(test, "best_f1");
        json_t *lift = json_object_get(test, "lift");
        fmt(v1, sizeof v1, num(test, "roc_auc"), 4);
        sp(&b, "<div class=\"card\"><div class=\"v\">%s</div><div class=\"k\">test ROC-AUC</div></div>", v1);
        fmt(v1, sizeof v1, num(test, "pr_auc"), 4);
        sp(&b, "<div class=\"card\"><div class=\"v\">%s</div><div class=\"k\">test PR-AUC</div></div>", v1);
        fmt(v1, sizeof v1, num(test, "log_loss"), 4);
        sp(&b, "<div class=\"card\"><div class=\"v\">%s</div><div class=\"k\">test log loss</div></div>", v1);
        fmt(v1, sizeof v1, num(half, "f1"), 4);
        sp(&b, "<div class=\"card\"><div class=\"v\">%s</div><div class=\"k\">F1 at 0.5</div></div>", v1);
        fmt(v1, sizeof v1, num(best, "f1"), 4);
        fmt(v2, sizeof v2, num(best, "threshold"), 3);
        sp(&b, "<div class=\"card\"><div class=\"v\">%s</div><div class=\"k\">best F1 (threshold %s)</div></div>", v1, v2);
        for (size_t k = 0; k < json_array_size(lift); k++) {
            json_t *l = json_array_get(lift, k);
            if (fabs(num(l, "fraction") - 0.1) > 1e-9) continue;
            fmt(v1, sizeof v1, num(l, "lift"), 2);
            sp(&b, "<div class=\"card\"><div class=\"v\">%s</div><div class=\"k\">lift in the top 10%%</div></div>", v1);
        }
        fmt(v1, sizeof v1, num(test, "n"), 0);
        sp(&b, "<div class=\"card\"><div class=\"v\">%s</div><div class=\"k\">test journeys</div></div>", v1);
    } else {
        sp(&b, "<div class=\"card\"><div class=\"v\">n/a</div><div class=\"k\">empty test split</div></div>");
    }
    sp(&b, "</div>\n");
    if (json_is_object(hp)) {
        sp(&b, "<p class=\"note\">Settings: ");
        const char *key;
        json_t *v;
        bool first = true;
        json_object_foreach(hp, key, v) {
            char *t = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT | JSON_REAL_PRECISION(4));
            if (!t) continue;
            sp(&b, "%s", first ? "" : ", ");
            esc(&b, key);
            sp(&b, " ");
            esc(&b, t);
            free(t);
            first = false;
        }
        sp(&b, ".</p>\n");
    }
    // Training curves.
    size_t ne = json_array_size(curve);
    ep = tp_malloc((ne ? ne : 1) * sizeof *ep);
    tl = tp_malloc((ne ? ne : 1) * sizeof *tl);
    vl = tp_malloc((ne ? ne : 1) * sizeof *vl);
    vr = tp_malloc((ne ? ne : 1) * sizeof *vr);
    vp = tp_malloc((ne ? ne : 1) * sizeof *vp);
    if (!ep || !tl || !vl || !vr || !vp) {
        rc = tp_fail(TP_ERR_NOMEM, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < ne; i++) {
        json_t *e = json_array_get(curve, i);
        ep[i] = num(e, "epoch"), tl[i] = num(e, "train_loss"), vl[i] = num(e, "val_loss");
        vr[i] = num(e, "val_roc_auc"), vp[i] = num(e, "val_pr_auc");
    }
    double best = num(root, "best_epoch");
    if (ne > 0) {
        sp(&b, "<h3>Training curves</h3><p class=\"note\">Train loss is on the rebalanced batches (oversampled "
               "positives or class weights); validation loss uses probabilities corrected back to the real "
               "conversion rate, so the two are not on the same scale.</p><div class=\"grid2\" "
               "style=\"grid-template-columns:1fr 1fr\"><div>\n");
        double lo = INFINITY, hi = -INFINITY;
        minmax(tl, ne, &lo, &hi);
        minmax(vl, ne, &lo, &hi);
        if (!(lo <= hi)) lo = 0, hi = 1;
        series s1[2] = {{"train loss", "#0072B2", ep, tl, ne, false}, {"validation loss", "#E69F00", ep, vl, ne, false}};
        line_chart(&b, "loss", "Loss per epoch", "epoch", "loss", s1, 2, ne > 1 ? 1 : 0.5, ne > 1 ? (double)ne : 1.5,
                   fmax(0, lo - 0.05 * (hi - lo + 1e-9)), hi + 0.05 * (hi - lo + 1e-9), best, true);
        sp(&b, "</div><div>\n");
        lo = INFINITY, hi = -INFINITY;
        minmax(vr, ne, &lo, &hi);
        minmax(vp, ne, &lo, &hi);
        if (!(lo <= hi)) lo = 0, hi = 1;
        series s2[2] = {{"validation ROC-AUC", "#009E73", ep, vr, ne, false},
                        {"validation PR-AUC", "#CC79A7", ep, vp, ne, false}};
        line_chart(&b, "valauc", "Validation AUC per epoch", "epoch", "AUC", s2, 2, ne > 1 ? 1 : 0.5,
                   ne > 1 ? (double)ne : 1.5, fmax(0, lo - 0.05), fmin(1, hi + 0.05), best, true);
        sp(&b, "</div></div>\n");
    }
    // ROC and PR curves on test.
    json_t *roc = json_object_get(root, "roc_curve"), *pr = json_object_get(root, "pr_curve");
    if (json_is_array(roc) && json_is_array(pr)) {
        size_t n1 = pairs(roc, &rx, &ry), n2 = pairs(pr, &px, &py);
        if (!rx || !ry || !px || !py) {
            rc = tp_fail(TP_ERR_NOMEM, "out of memory");
            goto done;
        }
        double diag[2] = {0, 1}, base = NAN;
        if (json_is_object(test) && num(test, "n") > 0) base = num(test, "positives") / num(test, "n");
        double bx[2] = {0, 1}, by[2] = {base, base};
        sp(&b, "<h3>Test ROC and precision-recall curves</h3><div class=\"grid2\" "
               "style=\"grid-template-columns:1fr 1fr\"><div>\n");
        series s3[2] = {{"model", "#0072B2", rx, ry, n1, false}, {"chance", "#9aa4b2", diag, diag, 2, true}};
        line_chart(&b, "roc", "ROC curve on the test split", "false positive rate", "true positive rate", s3, 2, 0, 1,
                   0, 1, NAN, false);
        sp(&b, "</div><div>\n");
        series s4[2] = {{"model", "#0072B2", px, py, n2, false}, {"base rate", "#9aa4b2", bx, by, 2, true}};
        line_chart(&b, "pr", "Precision-recall curve on the test split", "recall", "precision", s4, isfinite(base) ? 2 : 1,
                   0, 1, 0, 1, NAN, false);
        sp(&b, "</div></div>\n");
    }
    sp(&b, "</section>\n");
    if (b.oom) {
        rc = tp_fail(TP_ERR_NOMEM, "out of memory rendering the model section");
        goto done;
    }
    *out = b.p;
    b.p = NULL;
done:
    json_decref(root);
    tp_free(b.p);
    tp_free(ep);
    tp_free(tl);
    tp_free(vl);
    tp_free(vr);
    tp_free(vp);
    tp_free(rx);
    tp_free(ry);
    tp_free(px);
    tp_free(py);
    return rc;
}

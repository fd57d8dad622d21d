/* test_dnamta_train.c: the training side of the attention model. Metrics on hand-computed cases
 * and against scikit-learn (via /usr/bin/python3, skipped with a message when absent); model
 * inputs (left alignment, padding, ages, last-T cut, unknown campaigns); oversampled batches;
 * the model file (round trip, corrupt/truncated/other-version refused); a tiny training run on
 * simulated journeys; determinism; the test split read once; prediction; the logistic baseline. */
#include "test.h"
#include "touchpoint/dnamta_train.h"
#include "touchpoint/journey_build.h"
#include "touchpoint/report.h"
#include "touchpoint/touchpoint.h"

#include <stdlib.h>

// ---- metrics by hand ----

static void test_metrics_hand(void) {
    const double s[4] = {0.1, 0.4, 0.35, 0.8};
    const uint8_t y[4] = {0, 0, 1, 1};
    double v;
    CHECK_OK(tp_metrics_roc_auc(s, y, 4, &v));
    CHECK_CLOSE(v, 0.75, 1e-15);
    CHECK_OK(tp_metrics_pr_auc(s, y, 4, &v)); // sklearn's doc example: 0.8333
    CHECK_CLOSE(v, 5.0 / 6.0, 1e-15);
    // Ties: every score equal -> AUC 1/2, AP = the positive rate.
    const double t[4] = {0.5, 0.5, 0.5, 0.5};
    const uint8_t yt[4] = {0, 1, 0, 1};
    CHECK_OK(tp_metrics_roc_auc(t, yt, 4, &v));
    CHECK_CLOSE(v, 0.5, 1e-15);
    CHECK_OK(tp_metrics_pr_auc(t, yt, 4, &v));
    CHECK_CLOSE(v, 0.5, 1e-15);
    // A tie between a positive and a negative counts a half: pairs (+0.3 vs -0.3) tie, (+0.9 > -0.3).
    const double u[3] = {0.3, 0.3, 0.9};
    const uint8_t yu[3] = {0, 1, 1};
    CHECK_OK(tp_metrics_roc_auc(u, yu, 3, &v));
    CHECK_CLOSE(v, 0.75, 1e-15);
    // One class only: NaN, not an error.
    const uint8_t none[4] = {0, 0, 0, 0};
    CHECK_OK(tp_metrics_roc_auc(s, none, 4, &v));
    CHECK(isnan(v));
    CHECK_OK(tp_metrics_pr_auc(s, none, 4, &v));
    CHECK(isnan(v));
    // Log loss.
    const double p[2] = {0.9, 0.2};
    const uint8_t yp[2] = {1, 0};
    CHECK_OK(tp_metrics_log_loss(p, yp, NULL, 2, &v));
    CHECK_CLOSE(v, -(log(0.9) + log(0.8)) / 2, 1e-15);
    const double w[2] = {3, 1};
    CHECK_OK(tp_metrics_log_loss(p, yp, w, 2, &v));
    CHECK_CLOSE(v, -(3 * log(0.9) + log(0.8)) / 4, 1e-15);
    // Confusion at 0.5 and the best-F1 threshold.
    tp_confusion c;
    CHECK_OK(tp_metrics_at_threshold(s, y, 4, 0.5, &c));
    CHECK(c.tp == 1 && c.fp == 0 && c.fn == 1 && c.tn == 2);
    CHECK_CLOSE(c.accuracy, 0.75, 1e-15);
    CHECK_CLOSE(c.precision, 1.0, 1e-15);
    CHECK_CLOSE(c.recall, 0.5, 1e-15);
    CHECK_CLOSE(c.f1, 2.0 / 3.0, 1e-15);
    CHECK_OK(tp_metrics_best_f1(s, y, 4, &c)); // thresholds .8: 2/3, .4: 1/2, .35: 4/5, .1: 2/3
    CHECK_CLOSE(c.threshold, 0.35, 0);
    CHECK_CLOSE(c.f1, 0.8, 1e-15);
    // Nothing predicted positive: precision and F1 are 0.
    CHECK_OK(tp_metrics_at_threshold(s, y, 4, 0.95, &c));
    CHECK(c.tp == 0 && c.precision == 0 && c.f1 == 0);
    // Lift: scores 10..1, positives at 10, 9, 5, 1 (P = 4 of 10).
    double ls[10];
    uint8_t ly[10] = {0};
    for (int i = 0; i < 10; i++) ls[i] = 10 - i;
    ly[0] = ly[1] = ly[5] = ly[9] = 1;
    tp_lift l;
    CHECK_OK(tp_metrics_lift(ls, ly, 10, 0.2, &l));
    CHECK(l.n_top == 2);
    CHECK_CLOSE(l.positives, 2, 1e-15);
    CHECK_CLOSE(l.capture, 0.5, 1e-15);
    CHECK_CLOSE(l.lift, 2.5, 1e-15);
    // A tie group across the cut counts pro rata: top 2 of {3:+, 2:+, 2:-, 1:-} = 1 + 1/2.
    const double ts[4] = {3, 2, 2, 1};
    const uint8_t ty[4] = {1, 1, 0, 0};
    CHECK_OK(tp_metrics_lift(ts, ty, 4, 0.5, &l));
    CHECK_CLOSE(l.positives, 1.5, 1e-15);
    CHECK_CLOSE(l.capture, 0.75, 1e-15);
    CHECK_CLOSE(l.lift, 1.5, 1e-15);
    // Calibration by rank: two bins of two.
    const double cs[4] = {0.4, 0.1, 0.3, 0.2};
    const uint8_t cy[4] = {1, 0, 0, 1};
    tp_calib_bin b[2];
    CHECK_OK(tp_metrics_calibration(cs, cy, 4, TP_CALIB_QUANTILE, 2, b));
    CHECK(b[0].count == 2 && b[1].count == 2);
    CHECK_CLOSE(b[0].mean_predicted, 0.15, 1e-15);
    CHECK_CLOSE(b[0].observed_rate, 0.5, 1e-15);
    CHECK_CLOSE(b[1].mean_predicted, 0.35, 1e-15);
    CHECK_CLOSE(b[1].lo, 0.3, 0);
    CHECK_CLOSE(b[1].hi, 0.4, 0);
    // Uniform bins: 0.5 belongs to the first of two bins (edges are right-closed, like sklearn).
    const double us[3] = {0.5, 0.50001, 1.0};
    const uint8_t uy[3] = {0, 1, 1};
    CHECK_OK(tp_metrics_calibration(us, uy, 3, TP_CALIB_UNIFORM, 2, b));
    CHECK(b[0].count == 1 && b[1].count == 2);
    // Bad input names the row.
    const uint8_t bad[2] = {1, 2};
    CHECK_STATUS(tp_metrics_roc_auc(p, bad, 2, &v), TP_ERR_ARG);
    CHECK(strstr(tp_last_error(), "row 1") != NULL);
    const double nanv[2] = {0.5, NAN};
    CHECK_STATUS(tp_metrics_pr_auc(nanv, yp, 2, &v), TP_ERR_ARG);
    // Row order does not matter.
    const double s2[4] = {0.8, 0.35, 0.4, 0.1};
    const uint8_t y2[4] = {1, 1, 0, 0};
    tp_metrics_summary m1, m2;
    CHECK_OK(tp_metrics_summarize(s, y, 4, &m1));
    CHECK_OK(tp_metrics_summarize(s2, y2, 4, &m2));
    CHECK(memcmp(&m1, &m2, sizeof m1) == 0);
    char *js = NULL;
    CHECK_OK(tp_metrics_summary_json(&m1, &js));
    CHECK(js && strstr(js, "\"roc_auc\": 0.75"));
    tp_free(js);
}

// ---- metrics against scikit-learn ----

static void test_metrics_sklearn(void) {
    if (system("/usr/bin/python3 -c 'import sklearn' >/dev/null 2>&1") != 0) {
        printf("  metrics vs sklearn: SKIPPED (/usr/bin/python3 with sklearn not found; apt-get install python3-sklearn)\n");
        return;
    }
    enum { N = 2000 };
    static double s[N];
    static uint8_t y[N];
    tp_rng r;
    tp_rng_seed(&r, 7);
    const char *csv = tp_test_path("sk_scores.csv");
    FILE *fp = fopen(csv, "w");
    CHECK(fp != NULL);
    if (!fp) return;
    for (int i = 0; i < N; i++) {
        double z = tp_rng_normal(&r);
        y[i] = tp_rng_uniform(&r) < 1.0 / (1.0 + exp(-(z * 1.5 - 1.5)));
        s[i] = round(1000.0 / (1.0 + exp(-z))) / 1000.0; // rounded: many ties
        fprintf(fp, "%.17g,%d\n", s[i], y[i]);
    }
    fclose(fp);
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "/usr/bin/python3 -c '\n"
             "import numpy as np, sys\n"
             "from sklearn import metrics as M\n"
             "from sklearn.calibration import calibration_curve\n"
             "d = np.loadtxt(\"%s\", delimiter=\",\"); s = d[:,0]; y = d[:,1].astype(int)\n"
             "out = [M.roc_auc_score(y, s), M.average_precision_score(y, s), M.log_loss(y, s),\n"
             "       M.accuracy_score(y, s >= 0.5), M.precision_score(y, s >= 0.5), M.recall_score(y, s >= 0.5),\n"
             "       M.f1_score(y, s >= 0.5)]\n"
             "pt, pp = calibration_curve(y, s, n_bins=10, strategy=\"uniform\")\n"
             "fpr, tpr, th = M.roc_curve(y, s, drop_intermediate=False)\n"
             "print(\" \".join(\"%%.17g\" %% v for v in out))\n"
             "print(len(pt), \" \".join(\"%%.17g %%.17g\" %% (a, b) for a, b in zip(pt, pp)))\n"
             "print(len(fpr), \" \".join(\"%%.17g %%.17g\" %% (a, b) for a, b in zip(fpr, tpr)))\n"
             "'",
             csv);
    FILE *pp = popen(cmd, "r");
    CHECK(pp != NULL);
    if (!pp) return;
    double want[7];
    int ok = 1;
    for (int k = 0; k < 7; k++) ok &= fscanf(pp, "%lg", &want[k]) == 1;
    CHECK(ok);
    double got;
    CHECK_OK(tp_metrics_roc_auc(s, y, N, &got));
    CHECK_CLOSE(got, want[0], 1e-9);
    CHECK_OK(tp_metrics_pr_auc(s, y, N, &got));
    CHECK_CLOSE(got, want[1], 1e-9);
    CHECK_OK(tp_metrics_log_loss(s, y, NULL, N, &got));
    CHECK_CLOSE(got, want[2], 1e-9);
    tp_confusion c;
    CHECK_OK(tp_metrics_at_threshold(s, y, N, 0.5, &c));
    CHECK_CLOSE(c.accuracy, want[3], 1e-9);
    CHECK_CLOSE(c.precision, want[4], 1e-9);
    CHECK_CLOSE(c.recall, want[5], 1e-9);
    CHECK_CLOSE(c.f1, want[6], 1e-9);
    // Calibration: sklearn lists the non-empty bins.
    int nb = 0;
    CHECK(fscanf(pp, "%d", &nb) == 1);
    tp_calib_bin bins[10];
    CHECK_OK(tp_metrics_calibration(s, y, N, TP_CALIB_UNIFORM, 10, bins));
    int k = 0, nonempty = 0;
    for (int q = 0; q < 10; q++) {
        if (!bins[q].count) continue;
        nonempty++;
        double pt = 0, pr = 0;
        if (k < nb && fscanf(pp, "%lg %lg", &pt, &pr) == 2) {
            CHECK_CLOSE(bins[q].observed_rate, pt, 1e-9);
            CHECK_CLOSE(bins[q].mean_predicted, pr, 1e-9);
        }
        k++;
    }
    CHECK(nonempty == nb);
    // ROC curve at every distinct threshold.
    int np = 0;
    CHECK(fscanf(pp, "%d", &np) == 1);
    double *fx, *fy, *th;
    size_t n_pts;
    CHECK_OK(tp_metrics_roc_curve(s, y, N, &fx, &fy, &th, &n_pts));
    CHECK((int)n_pts == np);
    double maxd = 0;
    for (int q = 0; q < np && q < (int)n_pts; q++) {
        double a, b;
        if (fscanf(pp, "%lg %lg", &a, &b) != 2) break;
        maxd = fmax(maxd, fmax(fabs(a - fx[q]), fabs(b - fy[q])));
    }
    CHECK(maxd <= 1e-12);
    printf("  metrics vs sklearn: %d rows, ROC-AUC %.6f, AP %.6f, log loss %.6f, %d calibration bins, %d ROC points, "
           "max curve diff %.1e\n", N, want[0], want[1], want[2], nb, np, maxd);
    tp_free(fx);
    tp_free(fy);
    tp_free(th);
    CHECK(pclose(pp) == 0);
}

// ---- model inputs and batches ----

static tp_journeys *hand_journeys(void) {
    // Three journeys: [b, a] (converted), [] , [a, c, b, zz] with ages; campaigns a b c zz.
    tp_journeys *j = NULL;
    CHECK_OK(tp_journeys_alloc(3, 6, 4, false, &j));
    const char *names[4] = {"a", "b", "c", "zz"};
    for (int k = 0; k < 4; k++) j->campaigns[k] = tp_strdup(names[k]);
    const int64_t ids[3] = {11, 12, 13};
    const uint64_t off[4] = {0, 2, 2, 6};
    const int32_t camp[6] = {1, 0, 0, 2, 1, 3};
    const int64_t sec[6] = {86400, 0, 3 * 86400, 43200, 0, 0};
    for (int i = 0; i < 3; i++) j->journey_id[i] = ids[i], j->uid[i] = i + 1, j->length[i] = (int32_t)(off[i + 1] - off[i]);
    j->converted[0] = 1;
    for (int i = 0; i < 4; i++) j->off[i] = off[i];
    for (int t = 0; t < 6; t++) j->campaign[t] = camp[t], j->seconds_to_end[t] = sec[t];
    j->max_len = 4;
    return j;
}

static void test_data(void) {
    tp_journeys *j = hand_journeys();
    char *vocab[3] = {"a", "b", "c"}; // "zz" is unknown to this vocabulary
    tp_dnamta_data *d = NULL;
    CHECK_STATUS(tp_dnamta_data_build(j, NULL, "hand", vocab, 3, -1, 3, NULL, &d), TP_ERR_FORMAT);
    CHECK(strstr(tp_last_error(), "'zz'") != NULL);
    CHECK_OK(tp_dnamta_data_build(j, NULL, "hand", vocab, 3, 3, 3, NULL, &d));
    if (!d) goto done;
    CHECK(d->n == 3 && d->T == 3 && d->positives == 1);
    // Journey 0: left-aligned [b, a, pad], ages 1 day, 0.
    CHECK(d->campaign[0] == 1 && d->campaign[1] == 0 && d->campaign[2] == -1);
    CHECK_CLOSE(d->age_days[0], 1.0, 0);
    CHECK_CLOSE(d->age_days[1], 0.0, 0);
    CHECK_CLOSE(d->age_days[2], 0.0, 0);
    CHECK(d->len[0] == 2 && d->label[0] == 1.0f);
    // Journey 1: empty -> all padding.
    CHECK(d->len[1] == 0 && d->campaign[3] == -1 && d->campaign[5] == -1);
    // Journey 2: 4 touches, T 3 -> the LAST three [c, b, unknown], ages 0.5, 0, 0.
    CHECK(d->len[2] == 3 && d->campaign[6] == 2 && d->campaign[7] == 1 && d->campaign[8] == 3);
    CHECK_CLOSE(d->age_days[6], 0.5, 0);
    CHECK(d->journey_id[2] == 13);
    // Gather two rows.
    int32_t camp[6], cat[1];
    float age[6], lab[2], num[1];
    uint32_t idx[2] = {2, 0};
    tp_dnamta_batch b;
    tp_dnamta_data_gather(d, idx, 2, camp, age, lab, num, cat, &b);
    CHECK(b.B == 2 && b.campaign[0] == 2 && b.campaign[3] == 1 && b.label[1] == 1.0f && b.numeric == NULL);
done:
    tp_dnamta_data_free(d);
    tp_journeys_free(j);
}

static void test_oversampling(void) {
    // 100 negatives, 10 positives; batches of 10 with 30% positives.
    tp_dnamta_data d;
    memset(&d, 0, sizeof d);
    float label[110];
    for (int i = 0; i < 110; i++) label[i] = i % 11 == 0 ? 1.0f : 0.0f;
    d.n = 110, d.T = 1, d.label = label, d.positives = 10;
    uint32_t *idx = NULL;
    size_t *off = NULL, n_idx = 0, nb = 0;
    CHECK_OK(tp_dnamta_epoch_order(&d, 10, 0.3, 5, &idx, &n_idx, &off, &nb));
    CHECK(nb == 15); // ceil(100 / 7)
    int seen_neg[110] = {0};
    size_t full = 0;
    for (size_t k = 0; k < nb; k++) {
        size_t pos = 0, n = off[k + 1] - off[k];
        for (size_t r = off[k]; r < off[k + 1]; r++) {
            CHECK(idx[r] < 110);
            if (label[idx[r]] > 0.5f) pos++;
            else seen_neg[idx[r]]++;
        }
        if (n == 10) {
            full++;
            CHECK(pos == 3);
        } else {
            CHECK(pos >= 1 && n - pos == 100 - 14 * 7); // the remaining 2 negatives
        }
    }
    CHECK(full == 14);
    int once = 1;
    for (int i = 0; i < 110; i++)
        if (label[i] < 0.5f) once &= seen_neg[i] == 1;
    CHECK(once);
    tp_free(idx);
    tp_free(off);
    // Without oversampling: a permutation in batches of 32.
    CHECK_OK(tp_dnamta_epoch_order(&d, 32, 0.0, 5, &idx, &n_idx, &off, &nb));
    CHECK(n_idx == 110 && nb == 4 && off[3] == 96 && off[4] == 110);
    int seen[110] = {0}, perm = 1;
    for (size_t r = 0; r < n_idx; r++) seen[idx[r]]++;
    for (int i = 0; i < 110; i++) perm &= seen[i] == 1;
    CHECK(perm);
    // The same seed gives the same order.
    uint32_t *idx2 = NULL;
    size_t *off2 = NULL, n2, nb2;
    CHECK_OK(tp_dnamta_epoch_order(&d, 32, 0.0, 5, &idx2, &n2, &off2, &nb2));
    CHECK(n2 == n_idx && memcmp(idx, idx2, n2 * sizeof *idx) == 0);
    tp_free(idx);
    tp_free(off);
    tp_free(idx2);
    tp_free(off2);
}

// ---- training on simulated journeys ----

static const char *sim_dir(void) {
    static char dir[512];
    if (dir[0]) return dir;
    snprintf(dir, sizeof dir, "%s", tp_test_path("dn_journeys"));
    tp_sim_opts so;
    tp_sim_opts_default(&so);
    so.users = 4000;
    so.seed = 3;
    so.user_features = true;
    so.threads = 1;
    char imp[512];
    snprintf(imp, sizeof imp, "%s", tp_test_path("dn_imp.parquet"));
    CHECK_OK(tp_simulate_impressions(&so, imp, NULL, NULL));
    tp_journeys_build_opts jo;
    tp_journeys_build_opts_default(&jo);
    jo.max_len = 8;
    CHECK_OK(tp_journeys_write(imp, dir, &jo, NULL));
    return dir;
}

static void small_opts(tp_dnamta_train_opts *o) {
    tp_dnamta_train_opts_default(o);
    o->hp.embed = 8;
    o->hp.hidden = 16;
    o->hp.batch_size = 128;
    o->hp.lr = 5e-3f;
    o->epochs = 3;
    o->patience = 2;
    o->threads = 2;
    o->seed = 11;
}

static unsigned char *slurp(const char *path, size_t *n) {
    FILE *fp = fopen(path, "rb");
    if (!fp) return NULL;
    fseek(fp, 0, SEEK_END);
    long sz = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    unsigned char *b = malloc((size_t)sz + 1);
    *n = fread(b, 1, (size_t)sz, fp);
    fclose(fp);
    return b;
}

static void spit(const char *path, const unsigned char *b, size_t n) {
    FILE *fp = fopen(path, "wb");
    if (!fp) return;
    fwrite(b, 1, n, fp);
    fclose(fp);
}

static void test_train_and_file(void) {
    const char *dir = sim_dir();
    tp_dnamta_splits *s = NULL;
    tp_dnamta_model *m = NULL, *m2 = NULL, *lm = NULL;
    tp_dnamta_train_result r;
    memset(&r, 0, sizeof r);
    const char *controls[2] = {"region", "past_purchases"};
    CHECK_OK(tp_dnamta_splits_open(dir, 0, controls, 2, 42, &s));
    if (!s) return;
    CHECK(tp_dnamta_splits_test_reads(s) == 0);
    tp_dnamta_train_opts o;
    small_opts(&o);
    o.time_decay = true;
    CHECK_OK(tp_dnamta_train(s, &o, &m, &r));
    if (!m) goto done;
    // The test split was read exactly once, and cannot be read again.
    CHECK(tp_dnamta_splits_test_reads(s) == 1);
    const tp_dnamta_data *te = NULL;
    CHECK_STATUS(tp_dnamta_splits_test(s, &te), TP_ERR_ARG);
    CHECK(strstr(tp_last_error(), "already used") != NULL);
    printf("  tiny run: %zu epochs (best %d), val ROC-AUC %.4f, test ROC-AUC %.4f on %llu journeys\n", r.n_epochs,
           r.best_epoch, r.best_val, r.test.roc_auc, (unsigned long long)r.test.n);
    CHECK(r.test.roc_auc > 0.65);
    CHECK(r.n_epochs >= 1 && r.best_epoch >= 1 && r.best_epoch <= (int)r.n_epochs);
    CHECK(m->controls.n_numeric == 1 && m->controls.n_categorical == 1);
    // Round trip: same bytes after load + save, same predictions.
    const char *p1 = tp_test_path("dn_model1.bin"), *p2 = tp_test_path("dn_model2.bin"), *pb = tp_test_path("dn_bad.bin");
    CHECK_OK(tp_dnamta_model_save(m, p1));
    CHECK_OK(tp_dnamta_model_load(p1, 0, &lm));
    if (!lm) goto done;
    CHECK_OK(tp_dnamta_model_save(lm, p2));
    size_t n1 = 0, n2 = 0;
    unsigned char *b1 = slurp(p1, &n1), *b2 = slurp(p2, &n2);
    CHECK(b1 && b2 && n1 == n2 && memcmp(b1, b2, n1) == 0);
    const tp_dnamta_data *va = tp_dnamta_splits_val(s);
    double *pa = tp_malloc(va->n * sizeof *pa), *pbv = tp_malloc(va->n * sizeof *pbv);
    float *att = tp_malloc(va->n * va->T * sizeof *att);
    CHECK_OK(tp_dnamta_model_run(m, va, 1, pa, NULL));
    CHECK_OK(tp_dnamta_model_run(lm, va, 2, pbv, att));
    CHECK(memcmp(pa, pbv, va->n * sizeof *pa) == 0);
    // Attention: zero on padding, sums to 1 over real touches.
    double worst = 0;
    int pad_ok = 1;
    for (size_t i = 0; i < va->n; i++) {
        double sum = 0;
        for (size_t t = 0; t < va->T; t++) {
            if ((int)t < va->len[i]) sum += att[i * va->T + t];
            else pad_ok &= att[i * va->T + t] == 0.0f;
        }
        if (va->len[i] > 0) worst = fmax(worst, fabs(sum - 1));
    }
    CHECK(pad_ok);
    CHECK(worst < 1e-5);
    tp_free(pa);
    tp_free(pbv);
    tp_free(att);
    // Refused files: truncated, corrupt, another version, not a model.
    tp_dnamta_model *bad = NULL;
    spit(pb, b1, n1 - 7);
    CHECK_STATUS(tp_dnamta_model_load(pb, 0, &bad), TP_ERR_FORMAT);
    CHECK(strstr(tp_last_error(), "truncated") != NULL);
    spit(pb, b1, 30);
    CHECK_STATUS(tp_dnamta_model_load(pb, 0, &bad), TP_ERR_FORMAT);
    CHECK(strstr(tp_last_error(), "truncated") != NULL);
    b1[n1 - 100] ^= 0x10; // a parameter bit
    spit(pb, b1, n1);
    CHECK_STATUS(tp_dnamta_model_load(pb, 0, &bad), TP_ERR_FORMAT);
    CHECK(strstr(tp_last_error(), "corrupt") != NULL && strstr(tp_last_error(), "checksum") != NULL);
    b1[n1 - 100] ^= 0x10;
    b1[8] = 2; // format version 2
    spit(pb, b1, n1);
    CHECK_STATUS(tp_dnamta_model_load(pb, 0, &bad), TP_ERR_FORMAT);
    CHECK(strstr(tp_last_error(), "version 2") != NULL);
    b1[0] = 'X';
    spit(pb, b1, n1);
    CHECK_STATUS(tp_dnamta_model_load(pb, 0, &bad), TP_ERR_FORMAT);
    CHECK(strstr(tp_last_error(), "magic") != NULL);
    CHECK_STATUS(tp_dnamta_model_load(tp_test_path("dn_missing.bin"), 0, &bad), TP_ERR_IO);
    CHECK(bad == NULL);
    free(b1);
    free(b2);
    // Determinism: a second run with the same seed and threads writes the same bytes.
    tp_dnamta_splits_free(s);
    s = NULL;
    CHECK_OK(tp_dnamta_splits_open(dir, 0, controls, 2, 42, &s));
    tp_dnamta_train_result_clear(&r);
    if (s) CHECK_OK(tp_dnamta_train(s, &o, &m2, &r));
    if (m2) {
        CHECK_OK(tp_dnamta_model_save(m2, p2));
        b1 = slurp(p1, &n1);
        b2 = slurp(p2, &n2);
        CHECK(b1 && b2 && n1 == n2 && memcmp(b1, b2, n1) == 0);
        free(b1);
        free(b2);
    }
done:
    tp_dnamta_train_result_clear(&r);
    tp_dnamta_model_free(m);
    tp_dnamta_model_free(m2);
    tp_dnamta_model_free(lm);
    tp_dnamta_splits_free(s);
}

static void test_search_reads_test_once(void) {
    tp_dnamta_splits *s = NULL;
    tp_dnamta_model *m = NULL;
    tp_dnamta_train_result r;
    memset(&r, 0, sizeof r);
    CHECK_OK(tp_dnamta_splits_open(sim_dir(), 0, NULL, 0, 42, &s));
    if (!s) return;
    tp_dnamta_train_opts o;
    small_opts(&o);
    o.epochs = 2;
    o.search = TP_SEARCH_HALVING;
    o.trials = 3;
    o.imbalance = TP_IMB_WEIGHTS;
    o.metric = TP_DN_METRIC_PR;
    CHECK_OK(tp_dnamta_train(s, &o, &m, &r));
    CHECK(tp_dnamta_splits_test_reads(s) == 1);
    CHECK(r.n_trials == 3);
    for (size_t k = 0; k < r.n_trials; k++) CHECK(r.trial_epochs[k] >= 1 && isfinite(r.trial_val[k]));
    CHECK(m && m->metrics_json && strstr(m->metrics_json, "search_trials"));
    tp_dnamta_train_result_clear(&r);
    tp_dnamta_model_free(m);
    tp_dnamta_splits_free(s);
}

static void test_predict_and_credit(void) {
    const char *dir = sim_dir(), *mp = tp_test_path("dn_job.bin"), *sp = tp_test_path("dn_scores.parquet"),
               *cd = tp_test_path("dn_credit");
    tp_dnamta_train_opts o;
    small_opts(&o);
    o.epochs = 1;
    o.baseline = true;
    CHECK_OK(tp_dnamta_train_job(dir, mp, NULL, 0, &o, cd, NULL));
    size_t n = 0;
    CHECK_OK(tp_dnamta_predict_job(mp, dir, sp, cd, 2, &n));
    tp_frame *f = NULL, *c = NULL;
    tp_journeys *j = NULL;
    CHECK_OK(tp_table_read(sp, NULL, 0, &f));
    CHECK_OK(tp_journeys_read(dir, &j));
    if (f && j) {
        CHECK(tp_frame_n_rows(f) == j->n && n == j->n);
        CHECK(tp_frame_find(f, "attention_at_index_7") && !tp_frame_find(f, "attention_at_index_8"));
        CHECK(tp_frame_find(f, "conversion_probability") != NULL);
        // The report's join consumes the scores: total attention = journeys with touches.
        tp_frame *ca = NULL;
        CHECK_OK(tp_report_attention_from_scores(j, f, sp, &ca));
        if (ca) {
            double tot = 0;
            tp_column *ct = tp_frame_find(ca, "total_attention");
            for (size_t i = 0; ct && i < tp_frame_n_rows(ca); i++) tot += tp_column_get_f64(ct, i);
            size_t with = 0;
            for (size_t i = 0; i < j->n; i++) with += j->off[i + 1] > j->off[i];
            CHECK_CLOSE(tot, (double)with, 1e-3 * (double)with);
        }
        tp_frame_free(ca);
    }
    char path[600];
    snprintf(path, sizeof path, "%s/logreg.parquet", cd);
    tp_frame *lr = NULL;
    CHECK_OK(tp_table_read(path, NULL, 0, &lr));
    CHECK(lr && tp_frame_n_rows(lr) > 0 && tp_frame_find(lr, "share"));
    tp_frame_free(lr);
    snprintf(path, sizeof path, "%s/attention.parquet", cd);
    CHECK_OK(tp_table_read(path, NULL, 0, &c));
    if (c && j) {
        double sh = 0, ac = 0, conv = 0;
        for (size_t i = 0; i < tp_frame_n_rows(c); i++) {
            sh += tp_column_get_f64(tp_frame_find(c, "share"), i);
            ac += tp_column_get_f64(tp_frame_find(c, "attributed_conversions"), i);
        }
        for (size_t i = 0; i < j->n; i++) conv += j->converted[i] && j->off[i + 1] > j->off[i];
        CHECK_CLOSE(sh, 1.0, 1e-9);
        CHECK_CLOSE(ac, conv, 1e-6 * conv);
        CHECK(tp_frame_n_rows(c) == j->n_campaigns);
    }
    tp_frame_free(f);
    tp_frame_free(c);
    tp_journeys_free(j);
}

static void test_logreg(void) {
    tp_dnamta_splits *s = NULL;
    CHECK_OK(tp_dnamta_splits_open(sim_dir(), 0, NULL, 0, 42, &s));
    if (!s) return;
    const tp_dnamta_data *tr = tp_dnamta_splits_train(s), *va = tp_dnamta_splits_val(s);
    size_t K;
    (void)tp_dnamta_splits_vocab(s, &K);
    tp_logreg *m = NULL;
    const double l2 = 1e-3;
    CHECK_OK(tp_logreg_fit_bag(tr, K + 1, l2, &m));
    if (m) {
        // Optimality: the gradient of mean log loss + l2/2 |w|^2 vanishes.
        double *p = tp_malloc(tr->n * sizeof *p), *g = tp_calloc(K + 2, sizeof *g);
        CHECK_OK(tp_logreg_predict_bag(m, tr, p));
        for (size_t i = 0; i < tr->n; i++) {
            double r = p[i] - tr->label[i];
            for (size_t t = 0; t < tr->T && tr->campaign[i * tr->T + t] >= 0; t++) g[tr->campaign[i * tr->T + t]] += r;
            g[K + 1] += r;
        }
        double worst = 0;
        for (size_t k = 0; k <= K; k++) worst = fmax(worst, fabs(g[k] / (double)tr->n + l2 * m->w[k]));
        worst = fmax(worst, fabs(g[K + 1] / (double)tr->n));
        CHECK(worst < 1e-9);
        double *pv = tp_malloc(va->n * sizeof *pv), auc = 0;
        uint8_t *yv = tp_malloc(va->n);
        for (size_t i = 0; i < va->n; i++) yv[i] = va->label[i] > 0.5f;
        CHECK_OK(tp_logreg_predict_bag(m, va, pv));
        CHECK_OK(tp_metrics_roc_auc(pv, yv, va->n, &auc));
        printf("  logreg: max gradient %.1e, val ROC-AUC %.4f\n", worst, auc);
        CHECK(auc > 0.6);
        tp_free(p);
        tp_free(g);
        tp_free(pv);
        tp_free(yv);
    }
    tp_logreg_free(m);
    tp_dnamta_splits_free(s);
}

/* The paired bootstrap: each replicate equals the AP difference of the materialised resample
 * (drawn as the header says), the result does not depend on the thread count, and a clearly
 * better scorer gets a confidence interval above zero. */
static void test_metrics_ap_compare(void) {
    enum { N = 300, B = 40 };
    double a[N], b[N], reps[B], reps1[B];
    uint8_t y[N];
    tp_rng rng;
    tp_rng_seed_stream(&rng, 11, 0);
    for (int i = 0; i < N; i++) {
        y[i] = tp_rng_uniform(&rng) < 0.1;
        a[i] = round((y[i] * 1.5 + tp_rng_normal(&rng)) * 8) / 8; // ties on purpose
        b[i] = round((y[i] * 0.5 + tp_rng_normal(&rng)) * 8) / 8;
    }
    tp_ap_compare c, c1;
    CHECK_OK(tp_metrics_pr_auc_compare(a, b, y, N, B, 5, 2, &c, reps));
    CHECK_OK(tp_metrics_pr_auc_compare(a, b, y, N, B, 5, 1, &c1, reps1));
    CHECK(memcmp(reps, reps1, sizeof reps) == 0 && c.lo == c1.lo && c.hi == c1.hi);
    double apa, apb;
    CHECK_OK(tp_metrics_pr_auc(a, y, N, &apa));
    CHECK_OK(tp_metrics_pr_auc(b, y, N, &apb));
    CHECK(c.diff == apa - apb);
    double ra[N], rb[N];
    uint8_t ry[N];
    for (int r = 0; r < B; r++) {
        tp_rng_seed_stream(&rng, 5, (uint64_t)r);
        for (int i = 0; i < N; i++) {
            uint64_t k = tp_rng_below(&rng, N);
            ra[i] = a[k];
            rb[i] = b[k];
            ry[i] = y[k];
        }
        CHECK_OK(tp_metrics_pr_auc(ra, ry, N, &apa));
        CHECK_OK(tp_metrics_pr_auc(rb, ry, N, &apb));
        CHECK_CLOSE(reps[r], apa - apb, 1e-12);
    }
    CHECK(c.n_used == B && c.lo <= c.diff && c.diff <= c.hi);
    CHECK(c.lo > 0 && c.p_not_better == 0);
    // Against itself: a zero difference in every replicate, never "better".
    CHECK_OK(tp_metrics_pr_auc_compare(a, a, y, N, B, 5, 2, &c, NULL));
    CHECK(c.diff == 0 && c.lo == 0 && c.hi == 0 && c.p_not_better == 1);
    CHECK_STATUS(tp_metrics_pr_auc_compare(a, b, y, N, 0, 5, 2, &c, NULL), TP_ERR_ARG);
}

void suite_dnamta_train(void) {
    test_metrics_hand();
    test_metrics_ap_compare();
    test_metrics_sklearn();
    test_data();
    test_oversampling();
    test_train_and_file();
    test_search_reads_test_once();
    test_predict_and_credit();
    test_logreg();
}

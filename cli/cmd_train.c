/* cmd_train.c: `touchpoint train JOURNEYS_DIR --out MODEL`: job 3 of the attribution pipeline,
 * the attention model (DNAMTA) trained on the train split, stopped early on the validation split,
 * evaluated once on the test split; a thin layer over tp_dnamta_train_job. */
#include "cli.h"
#include "touchpoint/dnamta_train.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

const char cmd_train_summary[] = "train the attention attribution model (attribution job 3)";

static const char usage[] =
    "usage: touchpoint train JOURNEYS_DIR --out MODEL [options]\n"
    "\n"
    "JOURNEYS_DIR is the output of `touchpoint journeys`: train/val/test.parquet and mapper.json\n"
    "(a folder with only all.parquet is split 80/10/10 by a hash of uid). Trains on train, stops\n"
    "early on val, then evaluates once on test. Writes MODEL and MODEL.metrics.json.\n"
    "\n"
    "options:\n"
    "  --out MODEL             model file (written atomically)\n"
    "  --epochs N              maximum epochs (default 20)\n"
    "  --batch-size B          rows per minibatch (default 256)\n"
    "  --lr X                  Adam learning rate (default 0.001)\n"
    "  --embed E               campaign embedding size (default 20)\n"
    "  --hidden H              LSTM units (default 64)\n"
    "  --dropout P             dropout on the attention-pooled state (default 0.1)\n"
    "  --time-decay            time-decay attention (score minus a learned rate x touch age)\n"
    "  --controls a,b          control variables: journeys columns (strings/bools categorical,\n"
    "                          numbers standardised with train mean/std)\n"
    "  --imbalance M           oversample (default: positives make --positive-fraction of each\n"
    "                          batch, the reference's method), weights (balanced class weights), none\n"
    "  --positive-fraction F   oversample: share of positives per batch (default 0.5)\n"
    "  --metric roc|pr         validation metric for early stopping and search (default roc)\n"
    "  --patience K            epochs without validation improvement before stopping (default 3)\n"
    "  --search random|halving hyperparameter search over lr, embed, hidden, dropout, batch size\n"
    "                          on the validation split (successive halving: half kept per round)\n"
    "  --trials N              search candidates (default 8)\n"
    "  --seed S                seed (default 1); same seed and threads = same model file\n"
    "  --threads N             worker threads (default: all CPUs)\n"
    "  --baseline DIR          also fit an L2 logistic regression on bag-of-campaigns counts (l2\n"
    "                          tuned on val), print its test metrics and write its removal-effect\n"
    "                          credit to DIR/logreg.parquet (for evaluate/report)\n"
    "  --help                  this text\n";

static void on_epoch(void *ud, int trial, const tp_dnamta_hparams *hp, const tp_dnamta_epoch *e) {
    (void)ud;
    if (cli_quiet) return;
    if (trial >= 0)
        fprintf(stderr, "trial %d (lr %.4g, batch %d, embed %d, hidden %d, dropout %.2g) ", trial + 1, (double)hp->lr,
                hp->batch_size, hp->embed, hp->hidden, (double)hp->dropout);
    fprintf(stderr, "epoch %d: train loss %.4f, val loss %.4f, val ROC-AUC %.4f, val PR-AUC %.4f, %.1fs (cpu %.1fs), %.0f journeys/s\n",
            e->epoch, e->train_loss, e->val_loss, e->val_roc, e->val_pr, e->seconds, e->cpu_seconds, e->journeys_per_s);
}

static bool parse_int(const char *s, int lo, int hi, int *out) {
    int64_t v;
    if (!cli_parse_i64(s, &v) || v < lo || v > hi) return false;
    *out = (int)v;
    return true;
}

int cmd_train(int argc, char **argv) {
    static const struct option longopts[] = {
        {"out", required_argument, NULL, 'o'},        {"epochs", required_argument, NULL, 'e'},
        {"batch-size", required_argument, NULL, 'b'}, {"lr", required_argument, NULL, 'l'},
        {"embed", required_argument, NULL, 'E'},      {"hidden", required_argument, NULL, 'H'},
        {"dropout", required_argument, NULL, 'd'},    {"time-decay", no_argument, NULL, 'D'},
        {"controls", required_argument, NULL, 'c'},   {"imbalance", required_argument, NULL, 'i'},
        {"positive-fraction", required_argument, NULL, 'f'}, {"metric", required_argument, NULL, 'm'},
        {"patience", required_argument, NULL, 'p'},   {"search", required_argument, NULL, 's'},
        {"trials", required_argument, NULL, 'n'},     {"seed", required_argument, NULL, 'S'},
        {"threads", required_argument, NULL, 't'},    {"help", no_argument, NULL, 'h'},
        {"baseline", required_argument, NULL, 'B'},
        {NULL, 0, NULL, 0},
    };
    tp_dnamta_train_opts o;
    tp_dnamta_train_opts_default(&o);
    const char *out = NULL, *baseline_dir = NULL;
    char **controls = NULL;
    size_t n_controls = 0;
    double d;
    int64_t v;
    int c, rc = 1;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'o': out = optarg; break;
        case 'e':
            if (!parse_int(optarg, 1, 100000, &o.epochs))
                return cli_usage_error("train", usage, "--epochs wants a number from 1 to 100000, not '%s'", optarg);
            break;
        case 'b':
            if (!parse_int(optarg, 2, 1 << 20, &o.hp.batch_size))
                return cli_usage_error("train", usage, "--batch-size wants a number from 2 to 1048576, not '%s'", optarg);
            break;
        case 'l':
            if (!cli_parse_f64(optarg, &d) || !(d > 0 && d < 10))
                return cli_usage_error("train", usage, "--lr wants a positive number below 10, not '%s'", optarg);
            o.hp.lr = (float)d;
            break;
        case 'E':
            if (!parse_int(optarg, 1, 4096, &o.hp.embed))
                return cli_usage_error("train", usage, "--embed wants a number from 1 to 4096, not '%s'", optarg);
            break;
        case 'H':
            if (!parse_int(optarg, 1, 4096, &o.hp.hidden))
                return cli_usage_error("train", usage, "--hidden wants a number from 1 to 4096, not '%s'", optarg);
            break;
        case 'd':
            if (!cli_parse_f64(optarg, &d) || !(d >= 0 && d < 1))
                return cli_usage_error("train", usage, "--dropout wants a number in [0, 1), not '%s'", optarg);
            o.hp.dropout = (float)d;
            break;
        case 'D': o.time_decay = true; break;
        case 'c':
            cli_free_list(controls);
            controls = cli_split_list(optarg, &n_controls);
            if (!controls || n_controls == 0) return cli_usage_error("train", usage, "--controls wants column names, not '%s'", optarg);
            break;
        case 'i':
            if (!strcmp(optarg, "oversample")) o.imbalance = TP_IMB_OVERSAMPLE;
            else if (!strcmp(optarg, "weights")) o.imbalance = TP_IMB_WEIGHTS;
            else if (!strcmp(optarg, "none")) o.imbalance = TP_IMB_NONE;
            else {
                cli_free_list(controls);
                return cli_usage_error("train", usage, "--imbalance wants oversample, weights or none, not '%s'", optarg);
            }
            break;
        case 'f':
            if (!cli_parse_f64(optarg, &d) || !(d > 0 && d < 1)) {
                cli_free_list(controls);
                return cli_usage_error("train", usage, "--positive-fraction wants a number in (0, 1), not '%s'", optarg);
            }
            o.positive_fraction = d;
            break;
        case 'm':
            if (!strcmp(optarg, "roc")) o.metric = TP_DN_METRIC_ROC;
            else if (!strcmp(optarg, "pr")) o.metric = TP_DN_METRIC_PR;
            else {
                cli_free_list(controls);
                return cli_usage_error("train", usage, "--metric wants roc or pr, not '%s'", optarg);
            }
            break;
        case 'p':
            if (!parse_int(optarg, 1, 100000, &o.patience)) {
                cli_free_list(controls);
                return cli_usage_error("train", usage, "--patience wants a number from 1 to 100000, not '%s'", optarg);
            }
            break;
        case 's':
            if (!strcmp(optarg, "random")) o.search = TP_SEARCH_RANDOM;
            else if (!strcmp(optarg, "halving")) o.search = TP_SEARCH_HALVING;
            else if (!strcmp(optarg, "none")) o.search = TP_SEARCH_NONE;
            else {
                cli_free_list(controls);
                return cli_usage_error("train", usage, "--search wants random, halving or none, not '%s'", optarg);
            }
            break;
        case 'n':
            if (!parse_int(optarg, 1, 10000, &o.trials)) {
                cli_free_list(controls);
                return cli_usage_error("train", usage, "--trials wants a number from 1 to 10000, not '%s'", optarg);
            }
            break;
        case 'S':
            if (!cli_parse_i64(optarg, &v)) {
                cli_free_list(controls);
                return cli_usage_error("train", usage, "--seed wants an integer, not '%s'", optarg);
            }
            o.seed = (uint64_t)v;
            break;
        case 't':
            if (!parse_int(optarg, 1, 1024, &o.threads)) {
                cli_free_list(controls);
                return cli_usage_error("train", usage, "--threads wants a number from 1 to 1024, not '%s'", optarg);
            }
            break;
        case 'B':
            baseline_dir = optarg;
            o.baseline = true;
            break;
        case 'h': cli_free_list(controls); return cli_help(usage);
        default: cli_free_list(controls); return cli_usage_error("train", usage, "unknown option");
        }
    }
    if (!out) {
        cli_free_list(controls);
        return cli_usage_error("train", usage, "--out MODEL is required");
    }
    if (optind != argc - 1) {
        cli_free_list(controls);
        return cli_usage_error("train", usage, "give exactly one JOURNEYS_DIR");
    }
    o.on_epoch = on_epoch;
    tp_dnamta_train_result r;
    memset(&r, 0, sizeof r);
    if (tp_dnamta_train_job(argv[optind], out, (const char *const *)controls, n_controls, &o, baseline_dir, &r) != TP_OK) {
        rc = cli_fail();
        goto done;
    }
    printf("model: %s (best epoch %d of %zu, validation %s %.4f; lr %g, batch %d, embed %d, hidden %d, dropout %g)\n",
           out, r.best_epoch, r.n_epochs, o.metric == TP_DN_METRIC_PR ? "PR-AUC" : "ROC-AUC", r.best_val, (double)r.best.lr,
           r.best.batch_size, r.best.embed, r.best.hidden, (double)r.best.dropout);
    if (r.n_test > 0) {
        const tp_metrics_summary *t = &r.test;
        printf("test (%llu journeys, %llu conversions):\n", (unsigned long long)t->n, (unsigned long long)t->positives);
        printf("  ROC-AUC  %.4f\n  PR-AUC   %.4f\n  log loss %.4f\n", t->roc_auc, t->pr_auc, t->log_loss);
        printf("  at 0.5:       accuracy %.4f  precision %.4f  recall %.4f  F1 %.4f\n", t->at_half.accuracy,
               t->at_half.precision, t->at_half.recall, t->at_half.f1);
        printf("  best F1 %.4g: accuracy %.4f  precision %.4f  recall %.4f  F1 %.4f\n", t->best_f1.threshold,
               t->best_f1.accuracy, t->best_f1.precision, t->best_f1.recall, t->best_f1.f1);
        for (int k = 0; k < TP_METRICS_N_LIFT; k++)
            printf("  top %4.1f%%: lift %.2f, capture %.4f\n", 100 * t->lift[k].fraction, t->lift[k].lift,
                   t->lift[k].capture);
        printf("  calibration (deciles): mean predicted -> observed rate\n");
        for (int k = 0; k < TP_METRICS_CALIB_BINS; k++)
            if (t->calibration[k].count)
                printf("    %8.5f -> %8.5f  (%llu)\n", t->calibration[k].mean_predicted, t->calibration[k].observed_rate,
                       (unsigned long long)t->calibration[k].count);
    } else {
        printf("test: the test split is empty\n");
    }
    if (r.has_baseline && r.n_test > 0)
        printf("baseline (L2 logistic regression on campaign counts, l2 %g): test ROC-AUC %.4f, PR-AUC %.4f, "
               "log loss %.4f\n", r.baseline_l2, r.baseline_test.roc_auc, r.baseline_test.pr_auc,
               r.baseline_test.log_loss);
    if (baseline_dir) printf("baseline credit: %s/logreg.parquet\n", baseline_dir);
    printf("metrics: %s.metrics.json\n", out);
    rc = 0;
done:
    tp_dnamta_train_result_clear(&r);
    cli_free_list(controls);
    return rc;
}

/* gbm.c: the XGBoost booster behind tp_gbm, through XGBoost's C API (Debian libxgboost-dev).
 * binary:logistic with tree_method hist; early stopping on the validation set's aucpr the way
 * xgboost.train(early_stopping_rounds=...) does it (strictly better to count as progress), then
 * the model is sliced to the best iteration so saved files and predictions agree. XGBoost's own
 * logging is silenced (the library never prints). */
#include "touchpoint/propensity.h"
#include "touchpoint/io.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <xgboost/c_api.h>

struct tp_gbm {
    BoosterHandle h;
    size_t F;
    int rounds;
};

static pthread_once_t quiet_once = PTHREAD_ONCE_INIT;
static void make_quiet(void) { XGBSetGlobalConfig("{\"verbosity\": 0}"); }

static tp_status xgb_fail(const char *what) {
    return tp_fail(TP_ERR_INTERNAL, "XGBoost %s: %s", what, XGBGetLastError());
}

void tp_gbm_params_default(tp_gbm_params *p) {
    memset(p, 0, sizeof *p);
    p->max_depth = 6;
    p->eta = 0.1;
    p->min_child_weight = 1;
    p->subsample = 0.8;
    p->colsample_bytree = 0.8;
    p->scale_pos_weight = 1;
    p->lambda = 1;
    p->max_bin = 256;
    p->max_rounds = 500;
    p->early_stopping = 30;
    p->n_threads = 0;
    p->seed = 0;
}

static tp_status make_dmatrix(const float *X, const uint8_t *y, size_t n, size_t F, int threads,
                              DMatrixHandle *out) {
    tp_status rc = TP_OK;
    float *lab = NULL;
    *out = NULL;
    /* The array-interface constructor: what the Python package uses for a numpy array (faster
     * than XGDMatrixCreateFromMat_omp's two passes). */
    char iface[256], cfg[96];
    snprintf(iface, sizeof iface,
             "{\"data\": [%llu, true], \"shape\": [%zu, %zu], \"typestr\": \"<f4\", "
             "\"version\": 3}",
             (unsigned long long)(uintptr_t)X, n, F);
    snprintf(cfg, sizeof cfg, "{\"missing\": NaN, \"nthread\": %d}", threads);
    if (XGDMatrixCreateFromDense(iface, cfg, out) != 0) return xgb_fail("creating a matrix");
    if (y) {
        if (!(lab = tp_malloc((n ? n : 1) * sizeof *lab))) {
            rc = tp_fail(TP_ERR_NOMEM, "out of memory (%zu labels)", n);
            goto done;
        }
        for (size_t i = 0; i < n; i++) lab[i] = (float)y[i];
        if (XGDMatrixSetFloatInfo(*out, "label", lab, (bst_ulong)n) != 0) {
            rc = xgb_fail("setting labels");
            goto done;
        }
    }
done:
    tp_free(lab);
    if (rc != TP_OK && *out) {
        XGDMatrixFree(*out);
        *out = NULL;
    }
    return rc;
}

static tp_status set_param(BoosterHandle h, const char *k, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static tp_status set_param(BoosterHandle h, const char *k, const char *fmt, ...) {
    char v[64];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(v, sizeof v, fmt, ap);
    va_end(ap);
    if (XGBoosterSetParam(h, k, v) != 0) return xgb_fail(k);
    return TP_OK;
}

static int resolve_threads(int n) { return n > 0 ? n : tp_threads_default(); }

/* "[3]\tvalid-aucpr:0.4321" -> 0.4321 (NaN when absent). */
static double parse_eval(const char *s) {
    const char *p = s ? strstr(s, "aucpr:") : NULL;
    if (!p) return NAN;
    return strtod(p + 6, NULL);
}

tp_status tp_gbm_train(const tp_gbm_params *p, const float *Xt, const uint8_t *yt, size_t nt,
                       const float *Xv, const uint8_t *yv, size_t nv, size_t F, tp_gbm_fit *fit,
                       tp_gbm **out) {
    tp_status rc = TP_OK;
    DMatrixHandle dt = NULL, dv = NULL;
    BoosterHandle h = NULL, sliced = NULL;
    tp_gbm *m = NULL;
    double t0 = tp_now();
    clock_t c0 = clock();
    *out = NULL;
    if (!p || !Xt || !yt || nt == 0 || F == 0)
        return tp_fail(TP_ERR_ARG, "gbm train: empty training matrix (%zu rows, %zu features)", nt, F);
    if (p->max_rounds < 1) return tp_fail(TP_ERR_ARG, "gbm train: max_rounds must be >= 1");
    pthread_once(&quiet_once, make_quiet);
    int threads = resolve_threads(p->n_threads);
    double base = p->base_score;
    if (!(base > 0 && base < 1)) {
        size_t pos = 0;
        for (size_t i = 0; i < nt; i++) pos += yt[i] != 0;
        base = fmin(fmax((double)pos / (double)nt, 1e-6), 1 - 1e-6);
    }
    rc = make_dmatrix(Xt, yt, nt, F, threads, &dt);
    if (rc != TP_OK) goto done;
    bool valid = Xv && yv && nv > 0;
    if (valid && (rc = make_dmatrix(Xv, yv, nv, F, threads, &dv)) != TP_OK) goto done;
    DMatrixHandle cache[2] = {dt, dv};
    if (XGBoosterCreate(cache, valid ? 2 : 1, &h) != 0) {
        rc = xgb_fail("creating a booster");
        goto done;
    }
    if ((rc = set_param(h, "objective", "binary:logistic")) ||
        (rc = set_param(h, "tree_method", "hist")) || (rc = set_param(h, "eval_metric", "aucpr")) ||
        (rc = set_param(h, "max_depth", "%d", p->max_depth)) ||
        (rc = set_param(h, "eta", "%.17g", p->eta)) ||
        (rc = set_param(h, "min_child_weight", "%.17g", p->min_child_weight)) ||
        (rc = set_param(h, "subsample", "%.17g", p->subsample)) ||
        (rc = set_param(h, "colsample_bytree", "%.17g", p->colsample_bytree)) ||
        (rc = set_param(h, "scale_pos_weight", "%.17g", p->scale_pos_weight)) ||
        (rc = set_param(h, "lambda", "%.17g", p->lambda)) ||
        (rc = set_param(h, "base_score", "%.17g", base)) ||
        (rc = set_param(h, "max_bin", "%d", p->max_bin)) ||
        (rc = set_param(h, "nthread", "%d", threads)) ||
        (rc = set_param(h, "seed", "%llu", (unsigned long long)(p->seed & 0x7fffffff))) ||
        (rc = set_param(h, "verbosity", "0")))
        goto done;
    int best = -1, it;
    double best_score = -INFINITY;
    for (it = 0; it < p->max_rounds; it++) {
        if (XGBoosterUpdateOneIter(h, it, dt) != 0) {
            rc = xgb_fail("boosting");
            goto done;
        }
        if (!valid) continue;
        const char *names[1] = {"valid"};
        const char *res = NULL;
        if (XGBoosterEvalOneIter(h, it, &dv, names, 1, &res) != 0) {
            rc = xgb_fail("evaluating");
            goto done;
        }
        double s = parse_eval(res);
        if (best < 0 || s > best_score) { /* NaN never improves */
            best = it;
            if (!isnan(s)) best_score = s;
        }
        if (p->early_stopping > 0 && it - best >= p->early_stopping) {
            it++;
            break;
        }
    }
    int keep = valid ? best + 1 : it;
    if (keep < it) {
        if (XGBoosterSlice(h, 0, keep, 1, &sliced) != 0) {
            rc = xgb_fail("slicing to the best iteration");
            goto done;
        }
        XGBoosterFree(h);
        h = sliced;
        sliced = NULL;
    }
    if (!(m = tp_calloc(1, sizeof *m))) {
        rc = tp_fail(TP_ERR_NOMEM, "out of memory");
        goto done;
    }
    m->h = h;
    h = NULL;
    m->F = F;
    m->rounds = keep;
    if (fit) {
        fit->base_score = base;
        fit->rounds = keep;
        fit->rounds_run = it;
        fit->valid_aucpr = valid && best_score > -INFINITY ? best_score : NAN;
        fit->seconds = tp_now() - t0;
        fit->cpu_seconds = (double)(clock() - c0) / CLOCKS_PER_SEC;
    }
    *out = m;
done:
    if (h) XGBoosterFree(h);
    if (dt) XGDMatrixFree(dt);
    if (dv) XGDMatrixFree(dv);
    return rc;
}

tp_status tp_gbm_predict(const tp_gbm *m, const float *X, size_t n, size_t F, int n_threads,
                         double *out) {
    tp_status rc = TP_OK;
    DMatrixHandle d = NULL;
    if (F != m->F)
        return tp_fail(TP_ERR_SHAPE, "gbm predict: %zu features given, the model has %zu", F, m->F);
    if (n == 0) return TP_OK;
    int threads = resolve_threads(n_threads);
    if ((rc = make_dmatrix(X, NULL, n, F, threads, &d)) != TP_OK) return rc;
    if ((rc = set_param(m->h, "nthread", "%d", threads)) != TP_OK) goto done;
    const bst_ulong *shape = NULL;
    bst_ulong dim = 0;
    const float *res = NULL;
    if (XGBoosterPredictFromDMatrix(m->h, d,
                                    "{\"type\": 0, \"training\": false, \"iteration_begin\": 0, "
                                    "\"iteration_end\": 0, \"strict_shape\": false}",
                                    &shape, &dim, &res) != 0) {
        rc = xgb_fail("predicting");
        goto done;
    }
    if (dim != 1 || shape[0] != n) {
        rc = tp_fail(TP_ERR_INTERNAL, "XGBoost predicting: unexpected output shape");
        goto done;
    }
    for (size_t i = 0; i < n; i++) out[i] = res[i];
done:
    XGDMatrixFree(d);
    return rc;
}

static bool ends_with(const char *s, const char *suf) {
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && !strcmp(s + a - b, suf);
}

tp_status tp_gbm_save(const tp_gbm *m, const char *path) {
    const char *cfg;
    if (ends_with(path, ".json")) cfg = "{\"format\": \"json\"}";
    else if (ends_with(path, ".ubj")) cfg = "{\"format\": \"ubj\"}";
    else return tp_fail(TP_ERR_ARG, "model file '%s': the name must end in .json or .ubj", path);
    bst_ulong len = 0;
    const char *buf = NULL;
    if (XGBoosterSaveModelToBuffer(m->h, cfg, &len, &buf) != 0) return xgb_fail("saving a model");
    tp_status rc = tp_atomic_write(path, buf, (size_t)len);
    if (rc != TP_OK) return tp_fail_context(rc, "writing model '%s'", path);
    return TP_OK;
}

tp_status tp_gbm_load(const char *path, tp_gbm **out) {
    tp_status rc = TP_OK;
    FILE *fp = NULL;
    char *buf = NULL;
    BoosterHandle h = NULL;
    tp_gbm *m = NULL;
    *out = NULL;
    pthread_once(&quiet_once, make_quiet);
    if (!(fp = fopen(path, "rb")))
        return tp_fail(TP_ERR_IO, "cannot open model '%s': %s", path, strerror(errno));
    if (fseek(fp, 0, SEEK_END) != 0) {
        rc = tp_fail(TP_ERR_IO, "cannot read model '%s': %s", path, strerror(errno));
        goto done;
    }
    long sz = ftell(fp);
    rewind(fp);
    if (sz <= 0) {
        rc = tp_fail(TP_ERR_FORMAT, "model '%s' is empty", path);
        goto done;
    }
    if (!(buf = tp_malloc((size_t)sz))) {
        rc = tp_fail(TP_ERR_NOMEM, "out of memory reading '%s'", path);
        goto done;
    }
    if (fread(buf, 1, (size_t)sz, fp) != (size_t)sz) {
        rc = tp_fail(TP_ERR_IO, "cannot read model '%s'", path);
        goto done;
    }
    if (XGBoosterCreate(NULL, 0, &h) != 0) {
        rc = xgb_fail("creating a booster");
        goto done;
    }
    if (XGBoosterLoadModelFromBuffer(h, buf, (bst_ulong)sz) != 0) {
        rc = tp_fail(TP_ERR_FORMAT, "model '%s' is not an XGBoost model: %s", path, XGBGetLastError());
        goto done;
    }
    bst_ulong nf = 0;
    int rounds = 0;
    if (XGBoosterGetNumFeature(h, &nf) != 0 || XGBoosterBoostedRounds(h, &rounds) != 0) {
        rc = xgb_fail("reading model shape");
        goto done;
    }
    if (!(m = tp_calloc(1, sizeof *m))) {
        rc = tp_fail(TP_ERR_NOMEM, "out of memory");
        goto done;
    }
    m->h = h;
    h = NULL;
    m->F = (size_t)nf;
    m->rounds = rounds;
    *out = m;
done:
    if (h) XGBoosterFree(h);
    tp_free(buf);
    fclose(fp);
    return rc;
}

size_t tp_gbm_n_features(const tp_gbm *m) { return m->F; }
int tp_gbm_n_rounds(const tp_gbm *m) { return m->rounds; }

void tp_gbm_free(tp_gbm *m) {
    if (!m) return;
    if (m->h) XGBoosterFree(m->h);
    tp_free(m);
}

/* pipeline_model.c: the attention model in `touchpoint pipeline`: the YAML `model:` block (the
 * same settings as `touchpoint train`), and the train and predict steps that pipeline.c runs after
 * attribute, so evaluate and report see the model's credit as the method "attention". */
#include "attribution/pipeline_model.h"
#include "touchpoint/io.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char KEYS[] = "epochs, batch_size, lr, embed, hidden, dropout, time_decay, controls, imbalance, "
                           "positive_fraction, metric, patience, search, trials, seed, threads";

void tp_pipeline_model_free(tp_pipeline_model *m) {
    if (!m) return;
    tp_ycfg_list_free(m->controls, m->n_controls);
    tp_free(m);
}

tp_status tp_pipeline_model_parse(const tp_ycfg *y, const yaml_node_t *n, tp_pipeline_model **out) {
    tp_pipeline_model *m = tp_calloc(1, sizeof *m);
    tp_status rc = TP_OK;
    const char *key;
    yaml_node_t *k, *v;
    bool on = false;
    if (!m) return tp_fail(TP_ERR_NOMEM, "out of memory");
    tp_dnamta_train_opts_default(&m->o);
    if (tp_ycfg_scalar(n) && tp_ycfg_bool(y, "model", n, &on) == TP_OK && on) goto ok;
    if (!n || n->type != YAML_MAPPING_NODE) {
        rc = tp_ycfg_fail(y, n, "key 'model' wants a mapping of settings (%s) or true", KEYS);
        goto done;
    }
    if ((rc = tp_ycfg_map(y, n, "model", KEYS)) != TP_OK) goto done;
    tp_ycfg_foreach(y, n, i, key, k, v) {
        const char *s = tp_ycfg_scalar(v);
        char qk[64]; /* model.<key> in messages */
        double d = 0;
        snprintf(qk, sizeof qk, "model.%s", key);
#define NUM(lo, hi) (rc = tp_ycfg_num(y, qk, v, (lo), (hi), &d)) != TP_OK
        if (!strcmp(key, "epochs")) {
            if (NUM(1, 100000)) break;
            m->o.epochs = (int)d;
        } else if (!strcmp(key, "batch_size")) {
            if (NUM(2, 1 << 20)) break;
            m->o.hp.batch_size = (int)d;
        } else if (!strcmp(key, "lr")) {
            if (NUM(1e-9, 10)) break;
            m->o.hp.lr = (float)d;
        } else if (!strcmp(key, "embed")) {
            if (NUM(1, 4096)) break;
            m->o.hp.embed = (int)d;
        } else if (!strcmp(key, "hidden")) {
            if (NUM(1, 4096)) break;
            m->o.hp.hidden = (int)d;
        } else if (!strcmp(key, "dropout")) {
            if (NUM(0, 0.99)) break;
            m->o.hp.dropout = (float)d;
        } else if (!strcmp(key, "positive_fraction")) {
            if (NUM(0.01, 0.99)) break;
            m->o.positive_fraction = d;
        } else if (!strcmp(key, "patience")) {
            if (NUM(1, 100000)) break;
            m->o.patience = (int)d;
        } else if (!strcmp(key, "trials")) {
            if (NUM(1, 10000)) break;
            m->o.trials = (int)d;
        } else if (!strcmp(key, "seed")) {
            if (NUM(0, 9007199254740992.0)) break;
            m->o.seed = (uint64_t)d;
        } else if (!strcmp(key, "threads")) {
            if (NUM(1, 1024)) break;
            m->o.threads = (int)d;
        } else if (!strcmp(key, "time_decay")) {
            rc = tp_ycfg_bool(y, qk, v, &m->o.time_decay);
        } else if (!strcmp(key, "imbalance")) {
            if (s && !strcmp(s, "oversample")) m->o.imbalance = TP_IMB_OVERSAMPLE;
            else if (s && !strcmp(s, "weights")) m->o.imbalance = TP_IMB_WEIGHTS;
            else if (s && !strcmp(s, "none")) m->o.imbalance = TP_IMB_NONE;
            else rc = tp_ycfg_fail(y, v, "key 'model.imbalance' wants oversample, weights or none");
        } else if (!strcmp(key, "metric")) {
            if (s && !strcmp(s, "roc")) m->o.metric = TP_DN_METRIC_ROC;
            else if (s && !strcmp(s, "pr")) m->o.metric = TP_DN_METRIC_PR;
            else rc = tp_ycfg_fail(y, v, "key 'model.metric' wants roc or pr");
        } else if (!strcmp(key, "search")) {
            if (s && !strcmp(s, "none")) m->o.search = TP_SEARCH_NONE;
            else if (s && !strcmp(s, "random")) m->o.search = TP_SEARCH_RANDOM;
            else if (s && !strcmp(s, "halving")) m->o.search = TP_SEARCH_HALVING;
            else rc = tp_ycfg_fail(y, v, "key 'model.search' wants none, random or halving");
        } else if (!strcmp(key, "controls")) { /* a list of column names, or one */
            rc = tp_ycfg_list_dup(y, qk, v, TP_YCFG_ONE, &m->controls, &m->n_controls);
        } else {
            rc = tp_ycfg_fail(y, k, "unknown key 'model.%s' (known: %s)", key, KEYS);
        }
#undef NUM
        if (rc != TP_OK) break;
    }
    if (rc != TP_OK) goto done;
ok:
    *out = m;
    m = NULL;
done:
    tp_pipeline_model_free(m);
    return rc;
}

void tp_pipeline_model_settings(const tp_pipeline_model *m, char *buf, size_t cap) {
    const tp_dnamta_train_opts *o = &m->o;
    size_t k = (size_t)snprintf(buf, cap,
                                "epochs=%d;batch=%d;lr=%.9g;embed=%d;hidden=%d;dropout=%.9g;decay=%d;imb=%d;pf=%.9g;"
                                "metric=%d;patience=%d;search=%d;trials=%d;seed=%llu;threads=%d;controls=",
                                o->epochs, o->hp.batch_size, (double)o->hp.lr, o->hp.embed, o->hp.hidden,
                                (double)o->hp.dropout, (int)o->time_decay, (int)o->imbalance, o->positive_fraction,
                                (int)o->metric, o->patience, (int)o->search, o->trials, (unsigned long long)o->seed,
                                o->threads);
    for (size_t i = 0; i < m->n_controls && k < cap; i++)
        k += (size_t)snprintf(buf + k, cap - k, "%s%s", i ? "," : "", m->controls[i]);
}

void tp_pipeline_model_paths(const char *output, char *model, char *metrics, char *scores, size_t cap) {
    const char *sep = *output && output[strlen(output) - 1] == '/' ? "" : "/";
    if (model) snprintf(model, cap, "%s%smodel/model.bin", output, sep);
    if (metrics) snprintf(metrics, cap, "%s%smodel/model.bin.metrics.json", output, sep);
    if (scores) snprintf(scores, cap, "%s%smodel/attention_score.parquet", output, sep);
}

static tp_status parent(const char *path) {
    char *d = tp_strdup(path);
    if (!d) return tp_fail(TP_ERR_NOMEM, "out of memory");
    char *slash = strrchr(d, '/');
    tp_status rc = TP_OK;
    if (slash) {
        *slash = 0;
        rc = tp_mkdirs(d);
    }
    tp_free(d);
    return rc;
}

tp_status tp_pipeline_model_train(const tp_pipeline_model *m, const char *journeys_dir, const char *model_path) {
    tp_status rc = parent(model_path);
    if (rc != TP_OK) return rc;
    return tp_dnamta_train_job(journeys_dir, model_path, (const char *const *)m->controls, m->n_controls, &m->o, NULL, NULL);
}

tp_status tp_pipeline_model_predict(const tp_pipeline_model *m, const char *model_path, const char *journeys_dir,
                                    const char *scores_path, const char *credit_dir) {
    tp_status rc = parent(scores_path);
    if (rc != TP_OK) return rc;
    return tp_dnamta_predict_job(model_path, journeys_dir, scores_path, credit_dir, m->o.threads, NULL);
}

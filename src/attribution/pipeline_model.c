/* pipeline_model.c: the attention model in `touchpoint pipeline`: the YAML `model:` block (the
 * same settings as `touchpoint train`), and the train and predict steps that pipeline.c runs after
 * attribute, so evaluate and report see the model's credit as the method "attention". */
#include "attribution/pipeline_model.h"
#include "touchpoint/io.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char KEYS[] = "epochs, batch_size, lr, embed, hidden, dropout, time_decay, controls, imbalance, "
                           "positive_fraction, metric, patience, search, trials, seed, threads";

__attribute__((format(printf, 3, 4))) static tp_status bad(const char *path, const yaml_node_t *n, const char *fmt, ...) {
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return tp_fail(TP_ERR_FORMAT, "pipeline config '%s', line %lu: model: %s", path,
                   (unsigned long)(n ? n->start_mark.line + 1 : 1), msg);
}

static const char *scal(const yaml_node_t *n) {
    return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

static bool to_f64(const char *s, double *v) {
    char *e;
    errno = 0;
    *v = s ? strtod(s, &e) : 0;
    return s && *s && !*e && !errno;
}

void tp_pipeline_model_free(tp_pipeline_model *m) {
    if (!m) return;
    for (size_t i = 0; i < m->n_controls; i++) tp_free(m->controls[i]);
    tp_free(m->controls);
    tp_free(m);
}

static tp_status add_control(tp_pipeline_model *m, const char *s) {
    char **p = tp_realloc(m->controls, (m->n_controls + 1) * sizeof *p);
    if (!p) return tp_fail(TP_ERR_NOMEM, "out of memory");
    m->controls = p;
    if (!(p[m->n_controls] = tp_strdup(s))) return tp_fail(TP_ERR_NOMEM, "out of memory");
    m->n_controls++;
    return TP_OK;
}

tp_status tp_pipeline_model_parse(yaml_document_t *doc, yaml_node_t *n, const char *path, tp_pipeline_model **out) {
    tp_pipeline_model *m = tp_calloc(1, sizeof *m);
    tp_status rc = TP_OK;
    if (!m) return tp_fail(TP_ERR_NOMEM, "out of memory");
    tp_dnamta_train_opts_default(&m->o);
    const char *sv = scal(n);
    if (sv && (!strcmp(sv, "true") || !strcmp(sv, "yes") || !strcmp(sv, "on"))) goto ok;
    if (!n || n->type != YAML_MAPPING_NODE) {
        rc = bad(path, n, "wants a mapping of settings (%s) or true", KEYS);
        goto done;
    }
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top && rc == TP_OK; p++) {
        yaml_node_t *k = yaml_document_get_node(doc, p->key), *v = yaml_document_get_node(doc, p->value);
        const char *key = scal(k), *s = scal(v);
        double d;
        if (!key) {
            rc = bad(path, k, "keys must be plain names");
            break;
        }
#define NUM(lo, hi)                                                                                                    \
    if (!to_f64(s, &d) || d < (lo) || d > (hi)) {                                                                      \
        rc = bad(path, v, "key '%s' wants a number from %g to %g", key, (double)(lo), (double)(hi));                   \
        break;                                                                                                         \
    }
        if (!strcmp(key, "epochs")) {
            NUM(1, 100000);
            m->o.epochs = (int)d;
        } else if (!strcmp(key, "batch_size")) {
            NUM(2, 1 << 20);
            m->o.hp.batch_size = (int)d;
        } else if (!strcmp(key, "lr")) {
            NUM(1e-9, 10);
            m->o.hp.lr = (float)d;
        } else if (!strcmp(key, "embed")) {
            NUM(1, 4096);
            m->o.hp.embed = (int)d;
        } else if (!strcmp(key, "hidden")) {
            NUM(1, 4096);
            m->o.hp.hidden = (int)d;
        } else if (!strcmp(key, "dropout")) {
            NUM(0, 0.99);
            m->o.hp.dropout = (float)d;
        } else if (!strcmp(key, "positive_fraction")) {
            NUM(0.01, 0.99);
            m->o.positive_fraction = d;
        } else if (!strcmp(key, "patience")) {
            NUM(1, 100000);
            m->o.patience = (int)d;
        } else if (!strcmp(key, "trials")) {
            NUM(1, 10000);
            m->o.trials = (int)d;
        } else if (!strcmp(key, "seed")) {
            NUM(0, 9007199254740992.0);
            m->o.seed = (uint64_t)d;
        } else if (!strcmp(key, "threads")) {
            NUM(1, 1024);
            m->o.threads = (int)d;
        } else if (!strcmp(key, "time_decay")) {
            if (s && (!strcmp(s, "true") || !strcmp(s, "yes"))) m->o.time_decay = true;
            else if (s && (!strcmp(s, "false") || !strcmp(s, "no"))) m->o.time_decay = false;
            else rc = bad(path, v, "key 'time_decay' wants true or false");
        } else if (!strcmp(key, "imbalance")) {
            if (s && !strcmp(s, "oversample")) m->o.imbalance = TP_IMB_OVERSAMPLE;
            else if (s && !strcmp(s, "weights")) m->o.imbalance = TP_IMB_WEIGHTS;
            else if (s && !strcmp(s, "none")) m->o.imbalance = TP_IMB_NONE;
            else rc = bad(path, v, "key 'imbalance' wants oversample, weights or none");
        } else if (!strcmp(key, "metric")) {
            if (s && !strcmp(s, "roc")) m->o.metric = TP_DN_METRIC_ROC;
            else if (s && !strcmp(s, "pr")) m->o.metric = TP_DN_METRIC_PR;
            else rc = bad(path, v, "key 'metric' wants roc or pr");
        } else if (!strcmp(key, "search")) {
            if (s && !strcmp(s, "none")) m->o.search = TP_SEARCH_NONE;
            else if (s && !strcmp(s, "random")) m->o.search = TP_SEARCH_RANDOM;
            else if (s && !strcmp(s, "halving")) m->o.search = TP_SEARCH_HALVING;
            else rc = bad(path, v, "key 'search' wants none, random or halving");
        } else if (!strcmp(key, "controls")) {
            if (v && v->type == YAML_SEQUENCE_NODE) {
                for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top && rc == TP_OK; it++) {
                    const char *c = scal(yaml_document_get_node(doc, *it));
                    rc = c && *c ? add_control(m, c) : bad(path, v, "key 'controls' wants column names");
                }
            } else if (s && *s) {
                rc = add_control(m, s);
            } else {
                rc = bad(path, v, "key 'controls' wants a list of column names");
            }
        } else {
            rc = bad(path, k, "unknown key '%s' (known: %s)", key, KEYS);
        }
#undef NUM
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

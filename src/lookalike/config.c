/* config.c: lookalike.yaml (issue #6), parsed with libyaml's document API. Unknown keys, wrong
 * types and out-of-range values are TP_ERR_FORMAT naming the file and line. Relative paths are
 * resolved against the config's folder so a config works from any working directory. */
#include "touchpoint/lookalike.h"
#include "core/yamlcfg.h"

#include <stdio.h>
#include <string.h>

void tp_lookalike_config_default(tp_lookalike_config *c) {
    memset(c, 0, sizeof *c);
    c->keyword_min_share = 0;
    c->interval_seconds = 86400;
    c->did_buckets = 4;
    c->batch_days = 7;
    c->min_active_intervals = 1;
    c->history_intervals = 10;
    c->max_history = 64;
    c->embedding_dim = 16;
    c->attention_hidden = 32;
    c->hidden = 32;
    c->epochs = 4;
    c->batch_size = 256;
    c->learning_rate = 0.005;
    c->weight_decay = 0;
    c->test_fraction = 0.2;
    c->seed = 1;
}

void tp_lookalike_config_free(tp_lookalike_config *c) {
    if (!c) return;
    tp_free(c->persona);
    tp_free(c->shows);
    tp_free(c->clicks);
    tp_free(c->keywords);
    tp_free(c->out_dir);
    tp_ycfg_list_free(c->slot_ids, c->n_slot_ids);
    tp_free(c);
}

#define INT_KEY(name, field, lo, hi)                                                      \
    if (!strcmp(k, name)) {                                                               \
        if ((rc = tp_ycfg_int(y, qk, v, lo, hi, &c->field))) return rc;                   \
        continue;                                                                         \
    }
#define NUM_KEY(name, field, lo, hi)                                                      \
    if (!strcmp(k, name)) {                                                               \
        if ((rc = tp_ycfg_num(y, qk, v, lo, hi, &c->field))) return rc;                   \
        continue;                                                                         \
    }

static tp_status parse_section(const tp_ycfg *y, const char *section, const yaml_node_t *n,
                               tp_lookalike_config *c) {
    tp_status rc = tp_ycfg_map(y, n, section, NULL);
    const char *k;
    yaml_node_t *kn, *v;
    if (rc) return rc;
    tp_ycfg_foreach(y, n, i, k, kn, v) {
        char qk[128]; /* section.key in messages */
        snprintf(qk, sizeof qk, "%s.%s", section, k);
        if (!strcmp(section, "input")) {
            char **dst = !strcmp(k, "persona")    ? &c->persona
                         : !strcmp(k, "shows")    ? &c->shows
                         : !strcmp(k, "clicks")   ? &c->clicks
                         : !strcmp(k, "keywords") ? &c->keywords
                                                  : NULL;
            if (!dst) return tp_ycfg_fail(y, kn, "unknown key 'input.%s' (persona, shows, clicks, keywords)", k);
            if ((rc = tp_ycfg_path(y, qk, v, dst))) return rc;
            continue;
        }
        if (!strcmp(section, "prepare")) {
            if (!strcmp(k, "slot_ids")) {
                if ((rc = tp_ycfg_list_dup(y, qk, v, 0, &c->slot_ids, &c->n_slot_ids))) return rc;
                continue;
            }
            NUM_KEY("keyword_min_share", keyword_min_share, 0, 1)
            INT_KEY("did_buckets", did_buckets, 1, 65536)
            INT_KEY("batch_days", batch_days, 1, 3650)
            INT_KEY("min_active_intervals", min_active_intervals, 1, 100000)
            if (!strcmp(k, "interval_seconds")) {
                if ((rc = tp_ycfg_i64(y, qk, v, 1, 366LL * 86400, &c->interval_seconds))) return rc;
                continue;
            }
            return tp_ycfg_fail(y, kn, "unknown key 'prepare.%s' (slot_ids, keyword_min_share, "
                                "interval_seconds, did_buckets, batch_days, min_active_intervals)", k);
        }
        // train
        INT_KEY("history_intervals", history_intervals, 1, 10000)
        INT_KEY("max_history", max_history, 1, 4096)
        INT_KEY("embedding_dim", embedding_dim, 1, 1024)
        INT_KEY("attention_hidden", attention_hidden, 1, 1024)
        INT_KEY("hidden", hidden, 1, 4096)
        INT_KEY("epochs", epochs, 1, 10000)
        INT_KEY("batch_size", batch_size, 1, 1 << 20)
        NUM_KEY("learning_rate", learning_rate, 1e-9, 10)
        NUM_KEY("weight_decay", weight_decay, 0, 10)
        NUM_KEY("test_fraction", test_fraction, 0.01, 0.9)
        INT_KEY("threads", threads, 0, 4096)
        if (!strcmp(k, "seed")) {
            int64_t s;
            if ((rc = tp_ycfg_i64(y, qk, v, 0, INT64_MAX, &s))) return rc;
            c->seed = (uint64_t)s;
            continue;
        }
        return tp_ycfg_fail(y, kn, "unknown key 'train.%s' (history_intervals, max_history, embedding_dim, "
                            "attention_hidden, hidden, epochs, batch_size, learning_rate, weight_decay, "
                            "test_fraction, seed, threads)", k);
    }
    return TP_OK;
}

static tp_status parse_root(const tp_ycfg *y, const yaml_node_t *root, tp_lookalike_config *c) {
    tp_status rc = tp_ycfg_map(y, root, NULL, "input, output, prepare, train");
    const char *k;
    yaml_node_t *kn, *v;
    if (rc) return rc;
    tp_ycfg_foreach(y, root, i, k, kn, v) {
        if (!strcmp(k, "output")) {
            if ((rc = tp_ycfg_path(y, "output", v, &c->out_dir))) return rc;
        } else if (!strcmp(k, "input") || !strcmp(k, "prepare") || !strcmp(k, "train")) {
            if ((rc = parse_section(y, k, v, c))) return rc;
        } else {
            return tp_ycfg_fail(y, kn, "unknown key '%s' (input, output, prepare, train)", k);
        }
    }
    const char *missing = !c->persona ? "input.persona" : !c->shows ? "input.shows"
                          : !c->clicks ? "input.clicks" : !c->keywords ? "input.keywords"
                          : !c->out_dir ? "output" : NULL;
    if (missing) return tp_ycfg_fail(y, root, "missing key '%s'", missing);
    return TP_OK;
}

tp_status tp_lookalike_config_load(const char *path, tp_lookalike_config **out) {
    tp_ycfg y = {.path = path, .what = "lookalike config"};
    tp_lookalike_config *c = tp_calloc(1, sizeof *c);
    tp_status rc = c ? tp_ycfg_load_file(&y) : tp_fail(TP_ERR_NOMEM, "out of memory");
    if (rc == TP_OK) {
        tp_lookalike_config_default(c);
        rc = parse_root(&y, tp_ycfg_root(&y), c);
    }
    if (rc == TP_OK) {
        *out = c;
        c = NULL;
    }
    tp_ycfg_close(&y);
    tp_lookalike_config_free(c);
    return rc;
}

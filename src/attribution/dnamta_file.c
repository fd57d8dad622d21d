/* dnamta_file.c: the attention model's file. A versioned binary: magic "TPDNAMTA", format
 * version, a JSON header (network config, campaign vocabulary, control-variable schema and
 * train statistics, hyperparameters, prior correction, tensor table), the metrics JSON, the float32
 * parameters, and a CRC-32 over everything before it. Written atomically; loading refuses a wrong
 * magic, another version, a truncated or corrupt file with a message that says which. */
#include "touchpoint/dnamta_train.h"
#include "touchpoint/io.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

static const char MAGIC[8] = {'T', 'P', 'D', 'N', 'A', 'M', 'T', 'A'};

// ---- little-endian buffer ----

typedef struct buf {
    unsigned char *p;
    size_t n, cap;
    bool oom;
} buf;

static void put(buf *b, const void *src, size_t n) {
    if (b->oom) return;
    if (b->n + n > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->n + n) cap *= 2;
        unsigned char *q = tp_realloc(b->p, cap);
        if (!q) {
            b->oom = true;
            return;
        }
        b->p = q, b->cap = cap;
    }
    memcpy(b->p + b->n, src, n);
    b->n += n;
}
static void put_u32(buf *b, uint32_t v) {
    unsigned char x[4] = {(unsigned char)v, (unsigned char)(v >> 8), (unsigned char)(v >> 16), (unsigned char)(v >> 24)};
    put(b, x, 4);
}
static void put_u64(buf *b, uint64_t v) {
    put_u32(b, (uint32_t)v);
    put_u32(b, (uint32_t)(v >> 32));
}
static uint32_t get_u32(const unsigned char *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t get_u64(const unsigned char *p) { return get_u32(p) | (uint64_t)get_u32(p + 4) << 32; }

static uint32_t crc32_of(const unsigned char *p, size_t n) {
    uLong c = crc32(0L, Z_NULL, 0);
    while (n > 0) {
        uInt k = n > (1u << 30) ? (1u << 30) : (uInt)n;
        c = crc32(c, p, k);
        p += k, n -= k;
    }
    return (uint32_t)c;
}

// ---- save ----

static json_t *header_json(const tp_dnamta_model *m) {
    const tp_dnamta_config *c = &m->cfg;
    json_t *h = json_object(), *cfg = json_object(), *card = json_array(), *voc = json_array();
    json_t *num = json_array(), *cat = json_array(), *ten = json_array(), *hp = NULL;
    for (int k = 0; k < c->n_categorical; k++) json_array_append_new(card, json_integer(c->cat_cardinality[k]));
    json_object_set_new(cfg, "n_campaigns", json_integer(c->n_campaigns));
    json_object_set_new(cfg, "max_len", json_integer(c->max_len));
    json_object_set_new(cfg, "embed", json_integer(c->embed));
    json_object_set_new(cfg, "hidden", json_integer(c->hidden));
    json_object_set_new(cfg, "dropout", json_real(c->dropout));
    json_object_set_new(cfg, "time_decay", json_boolean(c->time_decay));
    json_object_set_new(cfg, "n_numeric", json_integer(c->n_numeric));
    json_object_set_new(cfg, "n_categorical", json_integer(c->n_categorical));
    json_object_set_new(cfg, "cat_cardinality", card);
    json_object_set_new(cfg, "cat_embed", json_integer(c->cat_embed));
    json_object_set_new(cfg, "control_hidden", json_integer(c->control_hidden));
    for (size_t k = 0; k < m->n_vocab; k++) json_array_append_new(voc, json_string(m->vocab[k]));
    const tp_dnamta_controls *ct = &m->controls;
    for (size_t k = 0; k < ct->n_numeric; k++)
        json_array_append_new(num, json_pack("{s:s, s:f, s:f}", "name", ct->numeric[k], "mean", ct->mean[k], "std",
                                             ct->std[k]));
    for (size_t k = 0; k < ct->n_categorical; k++) {
        json_t *lv = json_array();
        for (size_t v = 0; v < ct->n_levels[k]; v++) json_array_append_new(lv, json_string(ct->levels[k][v]));
        json_array_append_new(cat, json_pack("{s:s, s:o}", "name", ct->categorical[k], "levels", lv));
    }
    size_t nt = tp_dnamta_n_tensors(m->net);
    for (size_t i = 0; i < nt; i++) {
        size_t off, sz;
        const char *name = tp_dnamta_tensor(m->net, i, &off, &sz);
        json_array_append_new(ten, json_pack("{s:s, s:I, s:I}", "name", name, "offset", (json_int_t)off, "size",
                                             (json_int_t)sz));
    }
    json_object_set_new(h, "format", json_string("touchpoint dnamta model"));
    json_object_set_new(h, "config", cfg);
    json_object_set_new(h, "max_batch", json_integer(m->max_batch));
    json_object_set_new(h, "logit_offset", json_real(m->logit_offset));
    json_object_set_new(h, "campaigns", voc);
    json_object_set_new(h, "controls", json_pack("{s:o, s:o}", "numeric", num, "categorical", cat));
    if (m->hparams_json && (hp = json_loads(m->hparams_json, 0, NULL)) != NULL) json_object_set_new(h, "hyperparameters", hp);
    json_object_set_new(h, "tensors", ten);
    return h;
}

tp_status tp_dnamta_model_save(const tp_dnamta_model *m, const char *path) {
    buf b = {0};
    json_t *h = header_json(m);
    char *ht = h ? json_dumps(h, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(17)) : NULL;
    const char *mt = m->metrics_json ? m->metrics_json : "{}";
    tp_status rc = TP_OK;
    if (!ht) {
        rc = tp_fail(TP_ERR_NOMEM, "out of memory writing the model header");
        goto done;
    }
    size_t np;
    const float *params = tp_dnamta_params(m->net, &np);
    put(&b, MAGIC, sizeof MAGIC);
    put_u32(&b, TP_DNAMTA_FILE_VERSION);
    put_u32(&b, 0);
    put_u64(&b, strlen(ht));
    put(&b, ht, strlen(ht));
    put_u64(&b, strlen(mt));
    put(&b, mt, strlen(mt));
    put_u64(&b, np);
    for (size_t i = 0; i < np; i++) {
        uint32_t u;
        memcpy(&u, &params[i], 4);
        put_u32(&b, u);
    }
    if (b.oom) {
        rc = tp_fail(TP_ERR_NOMEM, "out of memory writing the model");
        goto done;
    }
    put_u32(&b, crc32_of(b.p, b.n));
    if (b.oom) {
        rc = tp_fail(TP_ERR_NOMEM, "out of memory writing the model");
        goto done;
    }
    rc = tp_atomic_write(path, b.p, b.n);
done:
    free(ht);
    json_decref(h);
    tp_free(b.p);
    return rc;
}

// ---- load ----

static tp_status read_all(const char *path, unsigned char **out, size_t *n) {
    FILE *fp = fopen(path, "rb");
    unsigned char *p = NULL;
    size_t cap = 0, len = 0;
    if (!fp) return tp_fail(TP_ERR_IO, "cannot open model '%s': %s", path, strerror(errno));
    for (;;) {
        if (len == cap) {
            size_t nc = cap ? cap * 2 : 1 << 16;
            unsigned char *q = tp_realloc(p, nc);
            if (!q) {
                tp_free(p);
                fclose(fp);
                return tp_fail(TP_ERR_NOMEM, "out of memory reading model '%s'", path);
            }
            p = q, cap = nc;
        }
        size_t k = fread(p + len, 1, cap - len, fp);
        len += k;
        if (k == 0) break;
    }
    int err = ferror(fp);
    fclose(fp);
    if (err) {
        tp_free(p);
        return tp_fail(TP_ERR_IO, "cannot read model '%s'", path);
    }
    *out = p;
    *n = len;
    return TP_OK;
}

#define BAD(...)                                                                                                       \
    do {                                                                                                               \
        rc = tp_fail(TP_ERR_FORMAT, __VA_ARGS__);                                                                      \
        goto done;                                                                                                     \
    } while (0)

static bool get_int(json_t *o, const char *key, long lo, long hi, int *out) {
    json_t *v = json_object_get(o, key);
    if (!json_is_integer(v)) return false;
    json_int_t x = json_integer_value(v);
    if (x < lo || x > hi) return false;
    *out = (int)x;
    return true;
}

tp_status tp_dnamta_model_load(const char *path, int max_batch, tp_dnamta_model **out) {
    unsigned char *p = NULL;
    size_t n = 0;
    json_t *h = NULL;
    json_error_t jerr;
    tp_dnamta_model *m = NULL;
    tp_status rc = read_all(path, &p, &n);
    if (rc != TP_OK) return rc;
    if (n < 8 || memcmp(p, MAGIC, 8) != 0) BAD("'%s' is not a touchpoint attention model (no TPDNAMTA magic)", path);
    if (n < 24) BAD("model '%s' is truncated (%zu bytes)", path, n);
    uint32_t ver = get_u32(p + 8);
    if (ver != TP_DNAMTA_FILE_VERSION)
        BAD("model '%s' has format version %u; this build reads version %d (retrain or use a matching touchpoint)", path,
            ver, TP_DNAMTA_FILE_VERSION);
    size_t pos = 16;
    uint64_t hl = get_u64(p + pos);
    pos += 8;
    if (hl > n - pos) BAD("model '%s' is truncated (header of %llu bytes, %zu left)", path, (unsigned long long)hl, n - pos);
    size_t hpos = pos;
    pos += hl;
    if (n - pos < 8) BAD("model '%s' is truncated after the header", path);
    uint64_t ml = get_u64(p + pos);
    pos += 8;
    if (ml > n - pos) BAD("model '%s' is truncated (metrics of %llu bytes, %zu left)", path, (unsigned long long)ml, n - pos);
    size_t mpos = pos;
    pos += ml;
    if (n - pos < 8) BAD("model '%s' is truncated after the metrics", path);
    uint64_t np = get_u64(p + pos);
    pos += 8;
    if (np > (n - pos) / 4 || n - pos - np * 4 < 4)
        BAD("model '%s' is truncated (%llu parameters announced, %zu bytes left)", path, (unsigned long long)np, n - pos);
    size_t ppos = pos;
    pos += np * 4;
    if (n - pos != 4) BAD("model '%s' has %zu unexpected bytes after the parameters", path, n - pos - 4);
    uint32_t want = get_u32(p + pos), got = crc32_of(p, pos);
    if (want != got) BAD("model '%s' is corrupt: checksum %08x, expected %08x", path, got, want);
    // The header.
    if (!(h = json_loadb((const char *)p + hpos, hl, 0, &jerr))) BAD("model '%s': bad header JSON: %s", path, jerr.text);
    json_t *cfg = json_object_get(h, "config"), *voc = json_object_get(h, "campaigns");
    json_t *ctl = json_object_get(h, "controls"), *ten = json_object_get(h, "tensors");
    if (!json_is_object(cfg) || !json_is_array(voc) || !json_is_object(ctl) || !json_is_array(ten))
        BAD("model '%s': header lacks config/campaigns/controls/tensors", path);
    if (!(m = tp_calloc(1, sizeof *m))) {
        rc = tp_fail(TP_ERR_NOMEM, "out of memory");
        goto done;
    }
    tp_dnamta_config *c = &m->cfg;
    int td = 0;
    json_t *tdv = json_object_get(cfg, "time_decay"), *dv = json_object_get(cfg, "dropout");
    if (!get_int(cfg, "n_campaigns", 1, INT32_MAX, &c->n_campaigns) || !get_int(cfg, "max_len", 1, 1 << 20, &c->max_len) ||
        !get_int(cfg, "embed", 1, 1 << 16, &c->embed) || !get_int(cfg, "hidden", 1, 1 << 16, &c->hidden) ||
        !get_int(cfg, "n_numeric", 0, 1 << 16, &c->n_numeric) ||
        !get_int(cfg, "n_categorical", 0, 1 << 16, &c->n_categorical) ||
        !get_int(cfg, "cat_embed", 0, 1 << 16, &c->cat_embed) ||
        !get_int(cfg, "control_hidden", 0, 1 << 16, &c->control_hidden) || !json_is_boolean(tdv) || !json_is_number(dv))
        BAD("model '%s': bad network config in the header", path);
    td = json_is_true(tdv);
    c->time_decay = td;
    c->dropout = (float)json_number_value(dv);
    if (!get_int(h, "max_batch", 1, 1 << 24, &m->max_batch)) BAD("model '%s': bad max_batch", path);
    if (max_batch > 0) m->max_batch = max_batch;
    json_t *lo = json_object_get(h, "logit_offset");
    if (!json_is_number(lo)) BAD("model '%s': no logit_offset", path);
    m->logit_offset = json_number_value(lo);
    json_t *card = json_object_get(cfg, "cat_cardinality");
    if (!json_is_array(card) || json_array_size(card) != (size_t)c->n_categorical)
        BAD("model '%s': cat_cardinality does not match n_categorical", path);
    if (c->n_categorical) {
        if (!(m->cat_card = tp_malloc((size_t)c->n_categorical * sizeof *m->cat_card))) {
            rc = tp_fail(TP_ERR_NOMEM, "out of memory");
            goto done;
        }
        for (int k = 0; k < c->n_categorical; k++) {
            json_t *v = json_array_get(card, (size_t)k);
            if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > INT32_MAX)
                BAD("model '%s': bad cat_cardinality[%d]", path, k);
            m->cat_card[k] = (int)json_integer_value(v);
        }
        c->cat_cardinality = m->cat_card;
    }
    size_t nv = json_array_size(voc);
    if ((int64_t)nv + 1 != c->n_campaigns) BAD("model '%s': %zu campaigns but n_campaigns %d", path, nv, c->n_campaigns);
    if (!(m->vocab = tp_calloc(nv ? nv : 1, sizeof *m->vocab))) {
        rc = tp_fail(TP_ERR_NOMEM, "out of memory");
        goto done;
    }
    for (size_t k = 0; k < nv; k++, m->n_vocab++) {
        const char *s = json_string_value(json_array_get(voc, k));
        if (!s) BAD("model '%s': campaigns[%zu] is not a string", path, k);
        if (k > 0 && strcmp(m->vocab[k - 1], s) >= 0) BAD("model '%s': campaigns are not sorted at %zu", path, k);
        if (!(m->vocab[k] = tp_strdup(s))) {
            rc = tp_fail(TP_ERR_NOMEM, "out of memory");
            goto done;
        }
    }
    // Controls.
    json_t *num = json_object_get(ctl, "numeric"), *cat = json_object_get(ctl, "categorical");
    if (!json_is_array(num) || !json_is_array(cat) || json_array_size(num) != (size_t)c->n_numeric ||
        json_array_size(cat) != (size_t)c->n_categorical)
        BAD("model '%s': the control schema does not match the network", path);
    tp_dnamta_controls *mc = &m->controls;
    size_t nn = json_array_size(num), nc = json_array_size(cat);
    if (nn) {
        mc->numeric = tp_calloc(nn, sizeof *mc->numeric);
        mc->mean = tp_calloc(nn, sizeof *mc->mean);
        mc->std = tp_calloc(nn, sizeof *mc->std);
        if (!mc->numeric || !mc->mean || !mc->std) {
            rc = tp_fail(TP_ERR_NOMEM, "out of memory");
            goto done;
        }
    }
    for (size_t k = 0; k < nn; k++, mc->n_numeric++) {
        json_t *e = json_array_get(num, k);
        const char *nm = json_string_value(json_object_get(e, "name"));
        json_t *mu = json_object_get(e, "mean"), *sd = json_object_get(e, "std");
        if (!nm || !json_is_number(mu) || !json_is_number(sd) || !(json_number_value(sd) > 0))
            BAD("model '%s': bad numeric control %zu", path, k);
        if (!(mc->numeric[k] = tp_strdup(nm))) {
            rc = tp_fail(TP_ERR_NOMEM, "out of memory");
            goto done;
        }
        mc->mean[k] = json_number_value(mu);
        mc->std[k] = json_number_value(sd);
    }
    if (nc) {
        mc->categorical = tp_calloc(nc, sizeof *mc->categorical);
        mc->n_levels = tp_calloc(nc, sizeof *mc->n_levels);
        mc->levels = tp_calloc(nc, sizeof *mc->levels);
        if (!mc->categorical || !mc->n_levels || !mc->levels) {
            rc = tp_fail(TP_ERR_NOMEM, "out of memory");
            goto done;
        }
    }
    for (size_t k = 0; k < nc; k++) {
        json_t *e = json_array_get(cat, k), *lv = json_object_get(e, "levels");
        const char *nm = json_string_value(json_object_get(e, "name"));
        if (!nm || !json_is_array(lv) || json_array_size(lv) + 1 != (size_t)m->cat_card[k])
            BAD("model '%s': bad categorical control %zu", path, k);
        mc->n_categorical++;
        size_t L = json_array_size(lv);
        if (!(mc->categorical[k] = tp_strdup(nm)) || !(mc->levels[k] = tp_calloc(L ? L : 1, sizeof **mc->levels))) {
            rc = tp_fail(TP_ERR_NOMEM, "out of memory");
            goto done;
        }
        for (size_t v = 0; v < L; v++, mc->n_levels[k]++) {
            const char *s = json_string_value(json_array_get(lv, v));
            if (!s || (v > 0 && strcmp(mc->levels[k][v - 1], s) >= 0))
                BAD("model '%s': categorical control '%s' levels are not sorted strings", path, nm);
            if (!(mc->levels[k][v] = tp_strdup(s))) {
                rc = tp_fail(TP_ERR_NOMEM, "out of memory");
                goto done;
            }
        }
    }
    json_t *hp = json_object_get(h, "hyperparameters");
    if (hp) {
        char *t = json_dumps(hp, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(17));
        m->hparams_json = t ? tp_strdup(t) : NULL;
        free(t);
    }
    if (!(m->metrics_json = tp_malloc(ml + 1))) {
        rc = tp_fail(TP_ERR_NOMEM, "out of memory");
        goto done;
    }
    memcpy(m->metrics_json, p + mpos, ml);
    m->metrics_json[ml] = 0;
    // The network and its parameters.
    if ((rc = tp_dnamta_new(c, m->max_batch, 0, &m->net)) != TP_OK) {
        rc = tp_fail_context(rc, "model '%s'", path);
        goto done;
    }
    size_t have;
    float *params = tp_dnamta_params(m->net, &have);
    if (have != np) BAD("model '%s' holds %llu parameters; its config makes %zu", path, (unsigned long long)np, have);
    size_t nt = tp_dnamta_n_tensors(m->net);
    if (json_array_size(ten) != nt) BAD("model '%s' lists %zu tensors; the network has %zu", path, json_array_size(ten), nt);
    for (size_t i = 0; i < nt; i++) {
        size_t off, sz;
        const char *name = tp_dnamta_tensor(m->net, i, &off, &sz);
        json_t *e = json_array_get(ten, i);
        const char *fn = json_string_value(json_object_get(e, "name"));
        json_t *fo = json_object_get(e, "offset"), *fs = json_object_get(e, "size");
        if (!fn || strcmp(fn, name) || !json_is_integer(fo) || (size_t)json_integer_value(fo) != off ||
            !json_is_integer(fs) || (size_t)json_integer_value(fs) != sz)
            BAD("model '%s': tensor %zu is '%s' in the file but '%s' (offset %zu, size %zu) in this build", path, i,
                fn ? fn : "?", name, off, sz);
    }
    for (size_t i = 0; i < np; i++) {
        uint32_t u = get_u32(p + ppos + 4 * i);
        memcpy(&params[i], &u, 4);
    }
    *out = m;
    m = NULL;
done:
    json_decref(h);
    tp_free(p);
    tp_dnamta_model_free(m);
    return rc;
}

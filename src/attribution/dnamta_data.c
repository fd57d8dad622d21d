/* dnamta_data.c: journeys -> the attention model's dense inputs. Left-aligned (B,T) campaign
 * indices (-1 padding) and ages in days, control variables (categorical -> codes over the train
 * split's levels, numeric -> standardised with train mean/std), the epoch order with per-batch
 * oversampling of positives, and the train/val/test splits (test loaded once, on demand). */
#include "touchpoint/dnamta_train.h"
#include "touchpoint/io.h"
#include "touchpoint/journey_build.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

// n journeys, T steps, K vocabulary size.

void tp_dnamta_controls_clear(tp_dnamta_controls *c) {
    if (!c) return;
    for (size_t i = 0; i < c->n_numeric; i++) tp_free(c->numeric ? c->numeric[i] : NULL);
    tp_free(c->numeric);
    tp_free(c->mean);
    tp_free(c->std);
    for (size_t i = 0; i < c->n_categorical; i++) {
        if (c->categorical) tp_free(c->categorical[i]);
        for (size_t k = 0; c->levels && c->levels[i] && k < c->n_levels[i]; k++) tp_free(c->levels[i][k]);
        if (c->levels) tp_free(c->levels[i]);
    }
    tp_free(c->categorical);
    tp_free(c->n_levels);
    tp_free(c->levels);
    memset(c, 0, sizeof *c);
}

void tp_dnamta_data_free(tp_dnamta_data *d) {
    if (!d) return;
    tp_free(d->journey_id);
    tp_free(d->len);
    tp_free(d->campaign);
    tp_free(d->age_days);
    tp_free(d->label);
    tp_free(d->numeric);
    tp_free(d->categorical);
    tp_free(d);
}

static bool is_categorical(tp_dtype t) { return tp_dtype_is_string(t) || t == TP_DTYPE_BOOL; }
static bool is_numeric(tp_dtype t) {
    return t == TP_DTYPE_I32 || t == TP_DTYPE_I64 || t == TP_DTYPE_F32 || t == TP_DTYPE_F64;
}

// The value of a categorical cell as text (strings as stored, bools as "false"/"true").
static const char *cat_text(const tp_column *c, size_t row, size_t *len) {
    if (tp_column_is_null(c, row)) return NULL;
    if (tp_column_type(c) == TP_DTYPE_BOOL) {
        bool v = tp_column_get_i64(c, row) != 0;
        *len = v ? 4 : 5;
        return v ? "true" : "false";
    }
    return tp_column_get_str(c, row, len);
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

tp_status tp_dnamta_controls_fit(const tp_frame *train, const char *source, const char *const *names, size_t n_names,
                                 tp_dnamta_controls *out) {
    tp_dnamta_controls c;
    memset(&c, 0, sizeof c);
    tp_strdict *seen = NULL;
    tp_status rc = TP_OK;
    const char *src = source ? source : "journeys";
    if (n_names == 0) {
        *out = c;
        return TP_OK;
    }
    c.numeric = tp_calloc(n_names, sizeof *c.numeric);
    c.mean = tp_calloc(n_names, sizeof *c.mean);
    c.std = tp_calloc(n_names, sizeof *c.std);
    c.categorical = tp_calloc(n_names, sizeof *c.categorical);
    c.n_levels = tp_calloc(n_names, sizeof *c.n_levels);
    c.levels = tp_calloc(n_names, sizeof *c.levels);
    if (!c.numeric || !c.mean || !c.std || !c.categorical || !c.n_levels || !c.levels) goto nomem;
    size_t n = tp_frame_n_rows(train);
    for (size_t i = 0; i < n_names; i++) {
        for (size_t k = 0; k < i; k++)
            if (!strcmp(names[k], names[i])) {
                rc = tp_fail(TP_ERR_ARG, "control variable '%s' is listed twice", names[i]);
                goto done;
            }
        tp_column *col;
        if ((rc = tp_frame_require(train, names[i], src, &col)) != TP_OK) goto done;
        tp_dtype t = tp_column_type(col);
        if (is_numeric(t)) {
            double sum = 0, sq = 0, cnt = 0;
            for (size_t r = 0; r < n; r++) {
                if (tp_column_is_null(col, r)) continue;
                double v = tp_column_get_f64(col, r);
                if (!isfinite(v)) {
                    rc = tp_fail(TP_ERR_FORMAT, "%s: column '%s' holds %g at row %zu (not finite)", src, names[i], v, r);
                    goto done;
                }
                sum += v;
                cnt += 1;
            }
            double mean = cnt > 0 ? sum / cnt : 0.0;
            for (size_t r = 0; r < n; r++)
                if (!tp_column_is_null(col, r)) {
                    double dv = tp_column_get_f64(col, r) - mean;
                    sq += dv * dv;
                }
            double sd = cnt > 0 ? sqrt(sq / cnt) : 0.0;
            size_t k = c.n_numeric++;
            if (!(c.numeric[k] = tp_strdup(names[i]))) goto nomem;
            c.mean[k] = mean;
            c.std[k] = sd > 1e-12 ? sd : 1.0;
        } else if (is_categorical(t)) {
            size_t k = c.n_categorical++;
            if (!(c.categorical[k] = tp_strdup(names[i]))) goto nomem;
            if ((rc = tp_strdict_new(&seen)) != TP_OK) goto done;
            for (size_t r = 0; r < n; r++) {
                size_t len;
                const char *s = cat_text(col, r, &len);
                int32_t code;
                if (s && (rc = tp_strdict_intern(seen, s, len, &code)) != TP_OK) goto done;
            }
            size_t m = tp_strdict_size(seen);
            c.levels[k] = tp_calloc(m ? m : 1, sizeof **c.levels);
            if (!c.levels[k]) goto nomem;
            for (size_t v = 0; v < m; v++) {
                if (!(c.levels[k][v] = tp_strdup(tp_strdict_get(seen, (int32_t)v, NULL)))) goto nomem;
                c.n_levels[k]++;
            }
            qsort(c.levels[k], m, sizeof *c.levels[k], cmp_str);
            tp_strdict_unref(seen);
            seen = NULL;
        } else {
            rc = tp_fail(TP_ERR_FORMAT, "%s: control column '%s' is %s; expected a number, string or bool", src,
                         names[i], tp_dtype_name(t));
            goto done;
        }
    }
    *out = c;
    memset(&c, 0, sizeof c);
    goto done;
nomem:
    rc = tp_fail(TP_ERR_NOMEM, "out of memory fitting control variables");
done:
    tp_strdict_unref(seen);
    tp_dnamta_controls_clear(&c);
    return rc;
}

static int32_t find_name(char *const *sorted, size_t n, const char *s) {
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(sorted[mid], s);
        if (c == 0) return (int32_t)mid;
        if (c < 0) lo = mid + 1;
        else hi = mid;
    }
    return -1;
}

tp_status tp_dnamta_data_build(const tp_journeys *j, const tp_frame *frame, const char *source, char *const *vocab,
                               size_t n_vocab, int32_t unknown_index, size_t T, const tp_dnamta_controls *controls,
                               tp_dnamta_data **out) {
    const char *src = source ? source : "journeys";
    tp_dnamta_data *d = tp_calloc(1, sizeof *d);
    int32_t *map = NULL;
    char *tmp = NULL;
    tp_status rc = TP_OK;
    size_t n = j->n;
    size_t nn = controls ? controls->n_numeric : 0, nc = controls ? controls->n_categorical : 0;
    if (!d) return tp_fail(TP_ERR_NOMEM, "out of memory");
    if (T == 0) {
        rc = tp_fail(TP_ERR_ARG, "model inputs need T >= 1");
        goto done;
    }
    if ((nn || nc) && (!frame || tp_frame_n_rows(frame) != n)) {
        rc = tp_fail(TP_ERR_SHAPE, "%s: control variables need the journeys frame (%zu rows)", src, n);
        goto done;
    }
    d->n = n;
    d->T = T;
    d->n_numeric = nn;
    d->n_categorical = nc;
    size_t nr = n ? n : 1;
    d->journey_id = tp_malloc(nr * sizeof *d->journey_id);
    d->len = tp_malloc(nr * sizeof *d->len);
    d->campaign = tp_malloc(nr * T * sizeof *d->campaign);
    d->age_days = tp_malloc(nr * T * sizeof *d->age_days);
    d->label = tp_malloc(nr * sizeof *d->label);
    map = tp_malloc((j->n_campaigns ? j->n_campaigns : 1) * sizeof *map);
    if (nn) d->numeric = tp_malloc(nr * nn * sizeof *d->numeric);
    if (nc) d->categorical = tp_malloc(nr * nc * sizeof *d->categorical);
    if (!d->journey_id || !d->len || !d->campaign || !d->age_days || !d->label || !map || (nn && !d->numeric) ||
        (nc && !d->categorical)) {
        rc = tp_fail(TP_ERR_NOMEM, "out of memory for %zu journeys x %zu steps", n, T);
        goto done;
    }
    // The journeys' own campaign indices -> the model's vocabulary (both sorted by name).
    for (size_t k = 0; k < j->n_campaigns; k++) {
        map[k] = find_name(vocab, n_vocab, j->campaigns[k]);
        if (map[k] < 0) {
            if (unknown_index < 0) {
                rc = tp_fail(TP_ERR_FORMAT, "%s: campaign '%s' is not in the model's vocabulary", src, j->campaigns[k]);
                goto done;
            }
            map[k] = unknown_index;
        }
    }
    for (size_t i = 0; i < n; i++) {
        size_t a = j->off[i], b = j->off[i + 1], m = b - a;
        if (m > T) a = b - T, m = T; // keep the last T touches, nearest the conversion
        d->journey_id[i] = j->journey_id[i];
        d->len[i] = (int32_t)m;
        d->label[i] = j->converted[i] ? 1.0f : 0.0f;
        d->positives += j->converted[i] != 0;
        int32_t *cr = d->campaign + i * T;
        float *ar = d->age_days + i * T;
        for (size_t t = 0; t < m; t++) {
            cr[t] = map[j->campaign[a + t]];
            ar[t] = (float)((double)j->seconds_to_end[a + t] / 86400.0);
        }
        for (size_t t = m; t < T; t++) {
            cr[t] = -1;
            ar[t] = 0.0f;
        }
    }
    for (size_t k = 0; k < nn; k++) {
        tp_column *col;
        if ((rc = tp_frame_require(frame, controls->numeric[k], src, &col)) != TP_OK) goto done;
        if (!is_numeric(tp_column_type(col))) {
            rc = tp_fail(TP_ERR_FORMAT, "%s: control column '%s' is %s, but the model has it as numeric", src,
                         controls->numeric[k], tp_dtype_name(tp_column_type(col)));
            goto done;
        }
        for (size_t i = 0; i < n; i++) {
            double v = tp_column_is_null(col, i) ? controls->mean[k] : tp_column_get_f64(col, i);
            if (!isfinite(v)) v = controls->mean[k]; // missing -> the train mean (0 after scaling)
            d->numeric[i * nn + k] = (float)((v - controls->mean[k]) / controls->std[k]);
        }
    }
    for (size_t k = 0; k < nc; k++) {
        tp_column *col;
        if ((rc = tp_frame_require(frame, controls->categorical[k], src, &col)) != TP_OK) goto done;
        if (!is_categorical(tp_column_type(col))) {
            rc = tp_fail(TP_ERR_FORMAT, "%s: control column '%s' is %s, but the model has it as categorical", src,
                         controls->categorical[k], tp_dtype_name(tp_column_type(col)));
            goto done;
        }
        for (size_t i = 0; i < n; i++) {
            size_t len = 0;
            const char *s = cat_text(col, i, &len);
            int32_t code = 0;
            if (s) {
                tp_free(tmp);
                if (!(tmp = tp_malloc(len + 1))) {
                    rc = tp_fail(TP_ERR_NOMEM, "out of memory");
                    goto done;
                }
                memcpy(tmp, s, len);
                tmp[len] = 0;
                code = find_name(controls->levels[k], controls->n_levels[k], tmp) + 1; // unseen -> 0
            }
            d->categorical[i * nc + k] = code;
        }
    }
    *out = d;
    d = NULL;
done:
    tp_free(tmp);
    tp_free(map);
    tp_dnamta_data_free(d);
    return rc;
}

void tp_dnamta_data_gather(const tp_dnamta_data *d, const uint32_t *idx, size_t B, int32_t *campaign, float *age,
                           float *label, float *numeric, int32_t *categorical, tp_dnamta_batch *b) {
    size_t T = d->T, nn = d->n_numeric, nc = d->n_categorical;
    for (size_t r = 0; r < B; r++) {
        size_t i = idx[r];
        memcpy(campaign + r * T, d->campaign + i * T, T * sizeof *campaign);
        memcpy(age + r * T, d->age_days + i * T, T * sizeof *age);
        if (label) label[r] = d->label[i];
        if (nn) memcpy(numeric + r * nn, d->numeric + i * nn, nn * sizeof *numeric);
        if (nc) memcpy(categorical + r * nc, d->categorical + i * nc, nc * sizeof *categorical);
    }
    memset(b, 0, sizeof *b);
    b->B = (int)B;
    b->campaign = campaign;
    b->age_days = age;
    b->label = label;
    b->numeric = nn ? numeric : NULL;
    b->categorical = nc ? categorical : NULL;
    b->weight = NULL;
}

static void shuffle_u32(tp_rng *r, uint32_t *a, size_t n) {
    for (size_t i = n; i > 1; i--) {
        size_t k = (size_t)tp_rng_below(r, i);
        uint32_t t = a[i - 1];
        a[i - 1] = a[k];
        a[k] = t;
    }
}

tp_status tp_dnamta_epoch_order(const tp_dnamta_data *d, size_t batch_size, double positive_fraction, uint64_t seed,
                                uint32_t **idx_out, size_t *n_idx, size_t **off_out, size_t *n_batches) {
    tp_rng r;
    uint32_t *pos = NULL, *neg = NULL, *idx = NULL;
    size_t *off = NULL;
    tp_status rc = TP_OK;
    size_t n = d->n, P = 0, N = 0;
    if (batch_size == 0) return tp_fail(TP_ERR_ARG, "batch size must be positive");
    if (positive_fraction < 0 || positive_fraction >= 1)
        return tp_fail(TP_ERR_ARG, "positive fraction %g is not in [0, 1)", positive_fraction);
    tp_rng_seed(&r, seed);
    pos = tp_malloc((n ? n : 1) * sizeof *pos);
    neg = tp_malloc((n ? n : 1) * sizeof *neg);
    if (!pos || !neg) goto nomem;
    for (size_t i = 0; i < n; i++) {
        if (d->label[i] > 0.5f) pos[P++] = (uint32_t)i;
        else neg[N++] = (uint32_t)i;
    }
    bool over = positive_fraction > 0 && P > 0 && N > 0 && batch_size >= 2;
    if (!over) {
        idx = tp_malloc((n ? n : 1) * sizeof *idx);
        size_t nb = (n + batch_size - 1) / batch_size;
        off = tp_malloc((nb + 1) * sizeof *off);
        if (!idx || !off) goto nomem;
        for (size_t i = 0; i < n; i++) idx[i] = (uint32_t)i;
        shuffle_u32(&r, idx, n);
        for (size_t k = 0; k <= nb; k++) off[k] = k * batch_size < n ? k * batch_size : n;
        *n_idx = n;
        *n_batches = nb;
    } else {
        size_t pb = (size_t)llround(positive_fraction * (double)batch_size);
        if (pb < 1) pb = 1;
        if (pb > batch_size - 1) pb = batch_size - 1;
        size_t nbn = batch_size - pb; // negatives per batch
        size_t nb = (N + nbn - 1) / nbn;
        size_t total = 0;
        // Every negative once; positives cycled through reshuffled passes.
        shuffle_u32(&r, neg, N);
        shuffle_u32(&r, pos, P);
        size_t cap = nb * batch_size;
        idx = tp_malloc(cap * sizeof *idx);
        off = tp_malloc((nb + 1) * sizeof *off);
        if (!idx || !off) goto nomem;
        size_t pi = 0, ni = 0;
        for (size_t k = 0; k < nb; k++) {
            off[k] = total;
            size_t take_n = N - ni < nbn ? N - ni : nbn;
            size_t take_p = take_n == nbn ? pb : (size_t)llround((double)take_n * (double)pb / (double)nbn);
            if (take_p < 1) take_p = 1;
            size_t start = total;
            for (size_t q = 0; q < take_p; q++) {
                if (pi == P) {
                    shuffle_u32(&r, pos, P);
                    pi = 0;
                }
                idx[total++] = pos[pi++];
            }
            for (size_t q = 0; q < take_n; q++) idx[total++] = neg[ni++];
            shuffle_u32(&r, idx + start, total - start);
        }
        off[nb] = total;
        *n_idx = total;
        *n_batches = nb;
    }
    *idx_out = idx;
    *off_out = off;
    idx = NULL;
    off = NULL;
    goto done;
nomem:
    rc = tp_fail(TP_ERR_NOMEM, "out of memory ordering an epoch of %zu journeys", n);
done:
    tp_free(pos);
    tp_free(neg);
    tp_free(idx);
    tp_free(off);
    return rc;
}

// ---- splits ----

struct tp_dnamta_splits {
    char *dir;
    size_t T;
    char **vocab; // n_vocab sorted names
    size_t n_vocab;
    tp_dnamta_controls controls;
    tp_dnamta_data *train, *val, *test;
    tp_frame *test_frame; // all.parquet case: the test rows, kept until the test is read
    char *test_path;      // per-split case: test.parquet, read on demand
    int test_reads;
};

static bool is_file(const char *p) {
    struct stat st;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

static tp_status read_vocab(const char *path, tp_dnamta_splits *s) {
    json_error_t err;
    json_t *root = json_load_file(path, 0, &err), *arr;
    tp_status rc = TP_OK;
    if (!root) return tp_fail(TP_ERR_FORMAT, "'%s' line %d: %s", path, err.line, err.text);
    arr = json_object_get(root, "campaigns");
    if (!json_is_array(arr)) {
        rc = tp_fail(TP_ERR_FORMAT, "'%s': no \"campaigns\" array", path);
        goto done;
    }
    size_t n = json_array_size(arr);
    s->vocab = tp_calloc(n ? n : 1, sizeof *s->vocab);
    if (!s->vocab) {
        rc = tp_fail(TP_ERR_NOMEM, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        const char *v = json_string_value(json_array_get(arr, i));
        if (!v) {
            rc = tp_fail(TP_ERR_FORMAT, "'%s': campaigns[%zu] is not a string", path, i);
            goto done;
        }
        if (!(s->vocab[i] = tp_strdup(v))) {
            rc = tp_fail(TP_ERR_NOMEM, "out of memory");
            goto done;
        }
        s->n_vocab++;
    }
    qsort(s->vocab, s->n_vocab, sizeof *s->vocab, cmp_str); // the mapper is sorted; make sure
    for (size_t i = 1; i < s->n_vocab; i++)
        if (!strcmp(s->vocab[i - 1], s->vocab[i])) {
            rc = tp_fail(TP_ERR_FORMAT, "'%s': campaign '%s' is listed twice", path, s->vocab[i]);
            goto done;
        }
done:
    json_decref(root);
    return rc;
}

static tp_status load_frame(tp_dnamta_splits *s, const tp_frame *f, const char *src, tp_dnamta_data **out) {
    tp_journeys *j = NULL;
    tp_status rc = tp_journeys_from_frame(f, src, &j);
    if (rc == TP_OK)
        rc = tp_dnamta_data_build(j, f, src, s->vocab, s->n_vocab, (int32_t)s->n_vocab, s->T, &s->controls, out);
    tp_journeys_free(j);
    return rc;
}

void tp_dnamta_splits_free(tp_dnamta_splits *s) {
    if (!s) return;
    tp_free(s->dir);
    for (size_t i = 0; i < s->n_vocab; i++) tp_free(s->vocab[i]);
    tp_free(s->vocab);
    tp_dnamta_controls_clear(&s->controls);
    tp_dnamta_data_free(s->train);
    tp_dnamta_data_free(s->val);
    tp_dnamta_data_free(s->test);
    tp_frame_free(s->test_frame);
    tp_free(s->test_path);
    tp_free(s);
}

tp_status tp_dnamta_splits_open(const char *dir, size_t T, const char *const *controls, size_t n_controls,
                                uint64_t split_seed, tp_dnamta_splits **out) {
    tp_dnamta_splits *s = tp_calloc(1, sizeof *s);
    tp_frame *ftrain = NULL, *fval = NULL, *fall = NULL;
    tp_journeys *jtrain = NULL;
    uint32_t *rows[3] = {NULL, NULL, NULL};
    size_t pl = strlen(dir) + 32;
    char src_train[600], src_val[600]; // names of the splits in error messages
    char *p = tp_malloc(pl);
    tp_status rc = TP_OK;
    if (!s || !p) {
        rc = tp_fail(TP_ERR_NOMEM, "out of memory");
        goto done;
    }
    s->T = T;
    if (!(s->dir = tp_strdup(dir))) {
        rc = tp_fail(TP_ERR_NOMEM, "out of memory");
        goto done;
    }
    snprintf(p, pl, "%s/train.parquet", dir);
    snprintf(src_train, sizeof src_train, "%.500s/train.parquet", dir);
    snprintf(src_val, sizeof src_val, "%.500s/val.parquet", dir);
    if (is_file(p)) {
        if ((rc = tp_table_read(p, NULL, 0, &ftrain)) != TP_OK) goto done;
        snprintf(p, pl, "%s/val.parquet", dir);
        if (!is_file(p)) {
            rc = tp_fail(TP_ERR_NOTFOUND, "'%s' has train.parquet but no val.parquet", dir);
            goto done;
        }
        if ((rc = tp_table_read(p, NULL, 0, &fval)) != TP_OK) goto done;
        snprintf(p, pl, "%s/test.parquet", dir);
        if (!is_file(p)) {
            rc = tp_fail(TP_ERR_NOTFOUND, "'%s' has train.parquet but no test.parquet", dir);
            goto done;
        }
        if (!(s->test_path = tp_strdup(p))) {
            rc = tp_fail(TP_ERR_NOMEM, "out of memory");
            goto done;
        }
    } else {
        snprintf(p, pl, "%s/all.parquet", dir);
        if (!is_file(p)) {
            rc = tp_fail(TP_ERR_NOTFOUND, "'%s' holds neither train/val/test.parquet nor all.parquet (the output "
                         "of `touchpoint journeys`)", dir);
            goto done;
        }
        // One set: split it by a hash of uid, 80/10/10 (the same rule `touchpoint journeys` uses).
        snprintf(src_train, sizeof src_train, "%.500s/all.parquet (train rows)", dir);
        snprintf(src_val, sizeof src_val, "%.500s/all.parquet (val rows)", dir);
        if ((rc = tp_table_read(p, NULL, 0, &fall)) != TP_OK) goto done;
        tp_column *cu;
        if ((rc = tp_frame_require(fall, "uid", p, &cu)) != TP_OK) goto done;
        tp_journeys_build_opts o;
        tp_journeys_build_opts_default(&o);
        o.n_split = 3;
        o.split[0] = 0.8, o.split[1] = 0.1, o.split[2] = 0.1;
        o.seed = split_seed;
        size_t n = tp_frame_n_rows(fall), cnt[3] = {0, 0, 0};
        for (int k = 0; k < 3; k++)
            if (!(rows[k] = tp_malloc((n ? n : 1) * sizeof *rows[k]))) {
                rc = tp_fail(TP_ERR_NOMEM, "out of memory");
                goto done;
            }
        for (size_t i = 0; i < n; i++) {
            if (tp_column_is_null(cu, i)) {
                rc = tp_fail(TP_ERR_FORMAT, "%s: column 'uid' is null at row %zu", p, i);
                goto done;
            }
            int k = tp_journeys_split_of(tp_column_get_i64(cu, i), &o);
            rows[k][cnt[k]++] = (uint32_t)i;
        }
        if ((rc = tp_frame_take(fall, rows[0], cnt[0], &ftrain)) != TP_OK) goto done;
        if ((rc = tp_frame_take(fall, rows[1], cnt[1], &fval)) != TP_OK) goto done;
        if ((rc = tp_frame_take(fall, rows[2], cnt[2], &s->test_frame)) != TP_OK) goto done;
    }
    if (s->T == 0) { // the layout width of the journeys
        char name[64];
        for (;;) {
            snprintf(name, sizeof name, "campaign_nm_at_index_%zu", s->T);
            if (!tp_frame_find(ftrain, name)) break;
            s->T++;
        }
        if (s->T == 0) {
            rc = tp_fail(TP_ERR_NOTFOUND, "'%s': no column 'campaign_nm_at_index_0' (not a journeys folder?)", dir);
            goto done;
        }
    }
    snprintf(p, pl, "%s/mapper.json", dir);
    if (is_file(p)) {
        if ((rc = read_vocab(p, s)) != TP_OK) goto done;
    } else {
        if ((rc = tp_journeys_from_frame(ftrain, src_train, &jtrain)) != TP_OK) goto done;
        if (!(s->vocab = tp_calloc(jtrain->n_campaigns ? jtrain->n_campaigns : 1, sizeof *s->vocab))) {
            rc = tp_fail(TP_ERR_NOMEM, "out of memory");
            goto done;
        }
        for (size_t k = 0; k < jtrain->n_campaigns; k++, s->n_vocab++)
            if (!(s->vocab[k] = tp_strdup(jtrain->campaigns[k]))) {
                rc = tp_fail(TP_ERR_NOMEM, "out of memory");
                goto done;
            }
    }
    if (s->n_vocab == 0) {
        rc = tp_fail(TP_ERR_FORMAT, "'%s': no campaigns", dir);
        goto done;
    }
    if ((rc = tp_dnamta_controls_fit(ftrain, src_train, controls, n_controls, &s->controls)) != TP_OK) goto done;
    if ((rc = load_frame(s, ftrain, src_train, &s->train)) != TP_OK) goto done;
    if ((rc = load_frame(s, fval, src_val, &s->val)) != TP_OK) goto done;
    if (s->train->n == 0) {
        rc = tp_fail(TP_ERR_FORMAT, "'%s': the train split has no journeys", dir);
        goto done;
    }
    *out = s;
    s = NULL;
done:
    for (int k = 0; k < 3; k++) tp_free(rows[k]);
    tp_journeys_free(jtrain);
    tp_frame_free(ftrain);
    tp_frame_free(fval);
    tp_frame_free(fall);
    tp_free(p);
    tp_dnamta_splits_free(s);
    return rc;
}

const tp_dnamta_data *tp_dnamta_splits_train(const tp_dnamta_splits *s) { return s->train; }
const tp_dnamta_data *tp_dnamta_splits_val(const tp_dnamta_splits *s) { return s->val; }
int tp_dnamta_splits_test_reads(const tp_dnamta_splits *s) { return s->test_reads; }
char *const *tp_dnamta_splits_vocab(const tp_dnamta_splits *s, size_t *n) {
    *n = s->n_vocab;
    return s->vocab;
}
const tp_dnamta_controls *tp_dnamta_splits_controls(const tp_dnamta_splits *s) { return &s->controls; }

tp_status tp_dnamta_splits_test(tp_dnamta_splits *s, const tp_dnamta_data **out) {
    tp_frame *f = NULL;
    tp_status rc;
    if (s->test_reads > 0)
        return tp_fail(TP_ERR_ARG, "the test split of '%s' was already used: it is read once, after training", s->dir);
    s->test_reads++;
    if (s->test_path) {
        if ((rc = tp_table_read(s->test_path, NULL, 0, &f)) != TP_OK) return rc;
        rc = load_frame(s, f, s->test_path, &s->test);
        tp_frame_free(f);
    } else {
        rc = load_frame(s, s->test_frame, "all.parquet (test rows)", &s->test);
        tp_frame_free(s->test_frame);
        s->test_frame = NULL;
    }
    if (rc == TP_OK) *out = s->test;
    return rc;
}

/* labels.c: labels (a purchase in the group within (as_of, as_of + horizon]) and the model matrix
 * of one product group: user features, that group's user x group features and the group's features,
 * stacked over as-of dates. Feature sets come from the feature store when the snapshot exists and
 * are computed otherwise, once per date (cached). */
#include "features_impl.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static size_t find_user(const tp_events *ev, int64_t uid) {
    size_t lo = 0, hi = ev->n_users;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (ev->uid[mid] < uid)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < ev->n_users && ev->uid[lo] == uid ? lo : SIZE_MAX;
}

tp_status tp_labels_compute(const tp_events *ev, const char *group, int32_t as_of, int horizon_days,
                            const char *purchase_type, const int64_t *uids, size_t n, uint8_t *out) {
    if (horizon_days < 1) return tp_fail(TP_ERR_ARG, "label horizon %d days: must be >= 1", horizon_days);
    int g = tp_events_group_index(ev, group);
    if (g < 0) return tp_fail(TP_ERR_NOTFOUND, "no product group '%s' in the events", group);
    if (!purchase_type) purchase_type = "purchase";
    int code = -1;
    for (size_t c = 0; c < ev->n_type_names; c++)
        if (!strcmp(ev->type_names[c], purchase_type)) code = (int)c;
    int64_t T = (int64_t)as_of * DAY_SECONDS, end = T + (int64_t)horizon_days * DAY_SECONDS;
    for (size_t i = 0; i < n; i++) {
        out[i] = 0;
        size_t u = code < 0 ? SIZE_MAX : find_user(ev, uids[i]);
        if (u == SIZE_MAX) continue;
        for (size_t s = ev->user_seg[u]; s < ev->user_seg[u + 1]; s++) {
            if (ev->seg_group[s] != g) continue;
            for (size_t k = ev->seg_off[s]; k < ev->seg_off[s + 1]; k++) {
                int64_t ts = ev->ts[k];
                if (ts > end) break;
                if (ts > T && ev->type[k] == code) {
                    out[i] = 1;
                    break;
                }
            }
        }
    }
    return TP_OK;
}

// ---- model matrix ----

struct tp_propensity {
    const tp_events *ev;
    const tp_feature_defs *d;
    tp_propensity_opts o;
    tp_feature_set **cache;
    size_t n_cache, cap_cache;
};

void tp_propensity_opts_default(tp_propensity_opts *o) {
    memset(o, 0, sizeof *o);
}

tp_status tp_propensity_new(const tp_events *ev, const tp_feature_defs *defs,
                            const tp_propensity_opts *opts, tp_propensity **out) {
    *out = NULL;
    tp_propensity *p = tp_calloc(1, sizeof *p);
    if (!p) return tp_fail(TP_ERR_NOMEM, "out of memory");
    p->ev = ev;
    p->d = defs;
    if (opts)
        p->o = *opts;
    else
        tp_propensity_opts_default(&p->o);
    if (!p->o.horizon_days) p->o.horizon_days = defs->horizon;
    if (p->o.horizon_days < 1) {
        tp_free(p);
        return tp_fail(TP_ERR_ARG, "label horizon %d days: must be >= 1", opts->horizon_days);
    }
    *out = p;
    return TP_OK;
}

void tp_propensity_free(tp_propensity *p) {
    if (!p) return;
    for (size_t i = 0; i < p->n_cache; i++) tp_feature_set_free(p->cache[i]);
    tp_free(p->cache);
    tp_free(p);
}

size_t tp_propensity_n_groups(const tp_propensity *p) { return p->ev->n_groups; }
const char *tp_propensity_group_name(const tp_propensity *p, size_t i) {
    return tp_events_group_name(p->ev, i);
}

tp_status tp_propensity_features(tp_propensity *p, int32_t as_of, const tp_feature_set **out) {
    for (size_t i = 0; i < p->n_cache; i++)
        if (p->cache[i]->as_of == as_of) {
            *out = p->cache[i];
            return TP_OK;
        }
    tp_feature_set *fs = NULL;
    tp_status rc = TP_OK;
    if (p->o.store) {
        if (p->o.materialize) {
            tp_featurestore_result res;
            if ((rc = tp_featurestore_materialize(p->o.store, p->ev, p->d, as_of, p->o.n_threads, &res)) != TP_OK)
                return rc;
        }
        rc = tp_featurestore_load(p->o.store, p->d, as_of, &fs);
        if (rc == TP_ERR_NOTFOUND) {
            tp_clear_error();
            rc = TP_OK;
        }
        if (rc != TP_OK) return rc;
    }
    if (!fs && (rc = tp_features_compute(p->ev, p->d, as_of, p->o.n_threads, &fs)) != TP_OK) return rc;
    if ((rc = tp_grow((void **)&p->cache, &p->cap_cache, p->n_cache + 1, sizeof *p->cache)) != TP_OK) {
        tp_feature_set_free(fs);
        return rc;
    }
    p->cache[p->n_cache++] = fs;
    *out = fs;
    return TP_OK;
}

static tp_status add_col(tp_frame *f, const char *name, tp_dtype t, size_t n, void **data) {
    tp_column *c;
    tp_status rc = tp_column_new(name, t, n, &c);
    if (rc != TP_OK) return rc;
    if ((rc = tp_column_resize(c, n)) != TP_OK || (rc = tp_frame_add_take(f, c)) != TP_OK) {
        tp_column_free(c);
        return rc;
    }
    *data = tp_column_data(c);
    return TP_OK;
}

tp_status tp_propensity_dataset(tp_propensity *p, const char *group, const int32_t *as_of,
                                size_t n_as_of, bool with_labels, tp_frame **out) {
    *out = NULL;
    const tp_feature_defs *d = p->d;
    if (tp_events_group_index(p->ev, group) < 0)
        return tp_fail(TP_ERR_NOTFOUND, "no product group '%s' in the events", group);
    if (!n_as_of) return tp_fail(TP_ERR_ARG, "no as-of date");
    const tp_feature_set *fs[n_as_of];
    size_t rows = 0;
    tp_status rc = TP_OK;
    for (size_t k = 0; k < n_as_of; k++) {
        if ((rc = tp_propensity_features(p, as_of[k], &fs[k])) != TP_OK) return rc;
        rows += tp_frame_n_rows(fs[k]->level[TP_LEVEL_USER]);
    }
    size_t nf[TP_N_LEVELS], F = 0;
    for (int l = 0; l < TP_N_LEVELS; l++) F += nf[l] = d->n[l];
    tp_frame *f = NULL;
    int64_t *uid;
    int32_t *date;
    uint8_t *label = NULL;
    double **col = tp_calloc(F + 1, sizeof *col);
    double *empty = tp_malloc((nf[TP_LEVEL_USER_GROUP] + nf[TP_LEVEL_GROUP] + 1) * sizeof *empty);
    if (!col || !empty) {
        tp_free(col);
        tp_free(empty);
        return tp_fail(TP_ERR_NOMEM, "out of memory");
    }
    for (size_t q = 0; q < nf[TP_LEVEL_USER_GROUP]; q++)
        empty[q] = tp_feature_defs_empty_value(d, TP_LEVEL_USER_GROUP, q);
    for (size_t q = 0; q < nf[TP_LEVEL_GROUP]; q++)
        empty[nf[TP_LEVEL_USER_GROUP] + q] = tp_feature_defs_empty_value(d, TP_LEVEL_GROUP, q);
    if ((rc = tp_frame_new(&f)) != TP_OK) goto done;
    if ((rc = add_col(f, "uid", TP_DTYPE_I64, rows, (void **)&uid)) != TP_OK) goto done;
    if ((rc = add_col(f, "as_of", TP_DTYPE_DATE, rows, (void **)&date)) != TP_OK) goto done;
    if (with_labels && (rc = add_col(f, "label", TP_DTYPE_BOOL, rows, (void **)&label)) != TP_OK) goto done;
    static const int order[TP_N_LEVELS] = {TP_LEVEL_USER, TP_LEVEL_USER_GROUP, TP_LEVEL_GROUP};
    size_t c = 0;
    for (int oi = 0; oi < TP_N_LEVELS; oi++) {
        int l = order[oi];
        for (size_t i = 0; i < nf[l]; i++) {
            char name[512];
            snprintf(name, sizeof name, "%s.%s", tp_feature_level_name((tp_feature_level)l), d->f[l][i].name);
            if ((rc = add_col(f, name, TP_DTYPE_F64, rows, (void **)&col[c++])) != TP_OK) goto done;
        }
    }
    size_t r0 = 0;
    for (size_t k = 0; k < n_as_of; k++) {
        const tp_frame *U = fs[k]->level[TP_LEVEL_USER], *UG = fs[k]->level[TP_LEVEL_USER_GROUP],
                       *GR = fs[k]->level[TP_LEVEL_GROUP];
        size_t nu = tp_frame_n_rows(U), nug = tp_frame_n_rows(UG), ngr = tp_frame_n_rows(GR);
        const int64_t *uu = TP_CCOL(tp_frame_col(U, 0), int64_t);
        const int64_t *gu = TP_CCOL(tp_frame_col(UG, 0), int64_t);
        const tp_column *ggc = tp_frame_col(UG, 1), *grc = tp_frame_col(GR, 0);
        int32_t gcode = tp_strdict_find(tp_column_dict(ggc), group, strlen(group));
        const int32_t *gg = TP_CCOL(ggc, int32_t);
        size_t grow = SIZE_MAX;
        int32_t grcode = tp_strdict_find(tp_column_dict(grc), group, strlen(group));
        for (size_t i = 0; i < ngr; i++)
            if (TP_CCOL(grc, int32_t)[i] == grcode) grow = i;
        size_t j = 0;
        for (size_t i = 0; i < nu; i++) {
            size_t r = r0 + i;
            uid[r] = uu[i];
            date[r] = as_of[k];
            size_t cc = 0;
            for (size_t q = 0; q < nf[TP_LEVEL_USER]; q++)
                col[cc++][r] = TP_CCOL(tp_frame_col(U, 1 + q), double)[i];
            while (j < nug && gu[j] < uu[i]) j++;
            size_t hit = SIZE_MAX;
            for (size_t jj = j; jj < nug && gu[jj] == uu[i]; jj++)
                if (gg[jj] == gcode) hit = jj;
            for (size_t q = 0; q < nf[TP_LEVEL_USER_GROUP]; q++)
                col[cc++][r] = hit != SIZE_MAX ? TP_CCOL(tp_frame_col(UG, 2 + q), double)[hit]
                                               : empty[q];
            for (size_t q = 0; q < nf[TP_LEVEL_GROUP]; q++)
                col[cc++][r] = grow != SIZE_MAX ? TP_CCOL(tp_frame_col(GR, 1 + q), double)[grow]
                                                : empty[nf[TP_LEVEL_USER_GROUP] + q];
        }
        if (with_labels &&
            (rc = tp_labels_compute(p->ev, group, as_of[k], p->o.horizon_days, d->purchase_type,
                                    uid + r0, nu, label + r0)) != TP_OK)
            goto done;
        r0 += nu;
    }
    *out = f;
    f = NULL;
done:
    tp_free(col);
    tp_free(empty);
    tp_frame_free(f);
    return rc;
}

/* journey_set.c: allocation of the in-memory (CSR) journey set. Parsing the wide Parquet layout
 * lives in journey_frame.c. */
#include "touchpoint/journeys.h"

#include <string.h>

tp_status tp_journeys_alloc(size_t n, size_t n_touches, size_t n_campaigns, bool with_value,
                            tp_journeys **out) {
    tp_journeys *j = tp_calloc(1, sizeof *j);
    if (!j) return tp_fail(TP_ERR_NOMEM, "out of memory allocating journeys");
    j->n = n;
    j->n_touches = n_touches;
    j->n_campaigns = n_campaigns;
    j->journey_id = tp_calloc(n, sizeof *j->journey_id);
    j->uid = tp_calloc(n, sizeof *j->uid);
    j->converted = tp_calloc(n, 1);
    j->length = tp_calloc(n, sizeof *j->length);
    j->value = with_value ? tp_calloc(n, sizeof *j->value) : NULL;
    j->off = tp_calloc(n + 1, sizeof *j->off);
    j->campaign = tp_calloc(n_touches, sizeof *j->campaign);
    j->seconds_to_end = tp_calloc(n_touches, sizeof *j->seconds_to_end);
    j->campaigns = tp_calloc(n_campaigns, sizeof *j->campaigns);
    if (!j->journey_id || !j->uid || !j->converted || !j->length || (with_value && !j->value) ||
        !j->off || !j->campaign || !j->seconds_to_end || !j->campaigns) {
        tp_journeys_free(j);
        return tp_fail(TP_ERR_NOMEM, "out of memory allocating %zu journeys", n);
    }
    *out = j;
    return TP_OK;
}

void tp_journeys_free(tp_journeys *j) {
    if (!j) return;
    for (size_t i = 0; j->campaigns && i < j->n_campaigns; i++) tp_free(j->campaigns[i]);
    tp_free(j->campaigns);
    tp_free(j->journey_id);
    tp_free(j->uid);
    tp_free(j->converted);
    tp_free(j->length);
    tp_free(j->value);
    tp_free(j->off);
    tp_free(j->campaign);
    tp_free(j->seconds_to_end);
    tp_free(j);
}

tp_status tp_journeys_campaign_column(const tp_journeys *j, size_t rows, tp_column **out) {
    tp_column *c = NULL;
    tp_status rc = tp_column_new("campaign_nm", TP_DTYPE_STR, rows, &c);
    for (size_t k = 0; rc == TP_OK && k < j->n_campaigns; k++) {
        int32_t code;
        rc = tp_strdict_intern(tp_column_dict(c), j->campaigns[k], strlen(j->campaigns[k]), &code);
        if (rc == TP_OK && code != (int32_t)k) rc = tp_fail(TP_ERR_INTERNAL, "campaign names are not distinct");
    }
    if (rc == TP_OK) rc = tp_column_resize(c, rows);
    if (rc != TP_OK) {
        tp_column_free(c);
        return rc;
    }
    *out = c;
    return TP_OK;
}

/* journeys.h: conversion journeys, the unit of attribution. In memory they are CSR arrays
 * (per journey an offset range into per-touch arrays); on disk they are the wide Parquet layout
 * of the DeepAttribution reference (campaign_nm_at_index_i, seconds_to_end_at_index_i), written
 * by `touchpoint journeys` and read back by tp_journeys_from_frame. */
#ifndef TOUCHPOINT_JOURNEYS_H
#define TOUCHPOINT_JOURNEYS_H

#include "touchpoint/table.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tp_journeys {
    size_t n;                /* journeys */
    size_t n_touches;        /* kept touches over all journeys (= off[n]) */
    int64_t *journey_id;     /* unique by construction */
    int64_t *uid;
    uint8_t *converted;      /* 1 if the journey ends in a conversion */
    int32_t *length;         /* touches before the max-len cut (>= off[i+1]-off[i]) */
    double *value;           /* conversion value per journey, or NULL when the data has none */
    uint64_t *off;           /* n+1 offsets into the touch arrays; touches in time order */
    int32_t *campaign;       /* per touch: index into campaigns[] */
    int64_t *seconds_to_end; /* per touch: seconds from the touch to the journey's last touch */
    char **campaigns;        /* n_campaigns names, sorted by byte order (the mapper) */
    size_t n_campaigns;
    size_t max_len;          /* L: the widest journey the layout holds */
} tp_journeys;

/* Allocate arrays for n journeys and n_touches touches (zeroed; off[] all zero; campaigns[] NULL
 * names to be filled with tp_strdup). value is allocated only when with_value. */
TP_API tp_status tp_journeys_alloc(size_t n, size_t n_touches, size_t n_campaigns, bool with_value,
                                   tp_journeys **out);
TP_API void tp_journeys_free(tp_journeys *j);
/* A new string column "campaign_nm" of rows zero codes whose dictionary codes are the journeys'
 * campaign indices (code k = campaigns[k]), so per-touch campaign indices can be stored as-is. */
TP_API tp_status tp_journeys_campaign_column(const tp_journeys *j, size_t rows, tp_column **out);

/* Parse the wide layout (journey_id, uid, conversion_status, journey_length,
 * campaign_nm_at_index_0.., seconds_to_end_at_index_0.., optional conversion_value).
 * source names the file in error messages. */
TP_API tp_status tp_journeys_from_frame(const tp_frame *f, const char *source, tp_journeys **out);
/* The journeys table behind path: a file, or a folder's all.parquet, else its train, val and test
 * .parquet concatenated in that order. *source (optional, caller frees) names what was read, for
 * error messages (the file, or the folder when the splits were concatenated). */
TP_API tp_status tp_journeys_read_frame(const char *path, tp_frame **out, char **source);
/* Read a journeys Parquet file, or a folder of them (all.parquet or train/val/test). */
TP_API tp_status tp_journeys_read(const char *path, tp_journeys **out);

#ifdef __cplusplus
}
#endif
#endif

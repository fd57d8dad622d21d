/* features_impl.h: what the propensity feature files share (not public): the parsed definitions
 * and the grouped events. features_defs.c fills tp_feature_defs, features.c fills tp_events and
 * computes, featurestore.c and labels.c read both. */
#ifndef TP_FEATURES_IMPL_H
#define TP_FEATURES_IMPL_H

#include "touchpoint/features.h"

#define DAY_SECONDS 86400

enum metric {
    M_COUNT, M_DISTINCT_DAYS, M_DISTINCT_ITEMS, M_SUM_AMOUNT, M_MEAN_AMOUNT, M_DAYS_SINCE_LAST,
    M_DISTINCT_USERS, M_SHARE, M_RATIO, M_TREND, M_N_METRICS
};
extern const char *const tp_feat_metric_names[M_N_METRICS];

typedef struct fdef {
    char *name;
    int metric;    /* enum metric */
    int type;      /* index into defs->types; for ratio/trend unused */
    int window;    /* days; 0 = all history before as-of */
    double missing;/* mean with no amount, days_since_last with no event; 0/0 of ratio/trend */
    double div_zero; /* ratio/trend x/0 with x != 0; NAN = the numerator */
    int num, den;  /* ratio/trend operands: indexes of earlier features of the same level */
} fdef;

struct tp_feature_defs {
    fdef *f[TP_N_LEVELS];
    size_t n[TP_N_LEVELS];
    char **types;  /* event types used; "any" means every event */
    size_t n_types;
    char *purchase_type;
    int horizon;
    char *canonical;
    char hash[17];
};

/* Events sorted by (uid, group name, timestamp). Segments are (uid, group) runs. */
struct tp_events {
    size_t n;               /* events */
    int64_t *ts;            /* unix seconds */
    int16_t *type;          /* code into type_names */
    int32_t *item;          /* dense item code */
    double *amount;         /* NAN when missing; NULL when the log has no amount column */
    size_t n_users;
    int64_t *uid;           /* per user, ascending */
    size_t *user_seg;       /* n_users + 1: first segment of each user */
    size_t n_seg;
    size_t *seg_off;        /* n_seg + 1: first event of each segment */
    int32_t *seg_group;     /* group rank of each segment */
    size_t n_groups;
    char **group_names;     /* sorted */
    size_t n_type_names;
    char **type_names;
    size_t n_items;
    int64_t min_ts, max_ts;
};

#endif

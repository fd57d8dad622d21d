/* attr_impl.h: what the attribution method files share inside the library (not public):
 * the credit constructor, the normalisation of raw method weights into credit, and the
 * per-method entry points called by tp_attribute (credit.c). */
#ifndef TP_ATTR_IMPL_H
#define TP_ATTR_IMPL_H

#include "touchpoint/attribution.h"

/* Worker count for opts (opts->n_threads or the default). */
int attr_threads(const tp_attr_opts *o);

/* True when journey i counts as a conversion to attribute (converted, >= 1 kept touch). */
static inline bool attr_counts(const tp_journeys *j, size_t i) {
    return j->converted[i] && j->off[i + 1] > j->off[i];
}

/* Heuristic methods: fill attributed_conversions / attributed_value / touch_credit of c. */
tp_status attr_heuristic(const tp_journeys *j, tp_attr_method m, const tp_attr_opts *o,
                         tp_credit *c);
/* Markov: fill c->weight (removal effects), base_rate, n_states. */
tp_status attr_markov(const tp_journeys *j, const tp_attr_opts *o, tp_credit *c);
/* Shapley: fill c->weight (Shapley values), base_rate, n_samples and, when sampled,
 * c->std_error as the standard error of each weight. */
tp_status attr_shapley(const tp_journeys *j, const tp_attr_opts *o, tp_credit *c);

#endif

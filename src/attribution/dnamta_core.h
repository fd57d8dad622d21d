/* dnamta_core.h: the attention model's computation (src/attribution/dnamta_core.c), separate from
 * its memory and threading (dnamta.c) so tests can run the same code in double precision.
 * Letters: B batch, T steps, V campaigns, E embedding, H hidden, G = 4H gates, U control input
 * width, Z control output width, Q = H + Z output-layer input width. */
#ifndef TP_DNAMTA_CORE_H
#define TP_DNAMTA_CORE_H

#include "touchpoint/dnamta.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DNAMTA_MAX_CAT 64 /* control categorical variables */

// Where each tensor lives in the parameter block, and the activation sizes. Type-independent.
typedef struct dnamta_layout {
    int V, T, E, H, G;
    bool decay;
    int n_num, n_cat, cat_embed, ctrl_hidden;
    int cat_card[DNAMTA_MAX_CAT];
    int U, Z, Q;
    float dropout;
    // parameter offsets (elements), in the order of the block
    size_t o_emb, o_wx, o_wh, o_b, o_wa, o_rate, o_cemb[DNAMTA_MAX_CAT], o_cw, o_cb, o_wo, o_bo;
    size_t n_params;
    size_t row_acts; /* activation elements per batch row */
    size_t proj;     /* V*G: the per-campaign input projection table */
} dnamta_layout;

/* Fills L from cfg; TP_ERR_ARG with a message when cfg is invalid. */
tp_status dnamta_layout_init(dnamta_layout *L, const tp_dnamta_config *cfg);
/* Checks a batch against the layout: B in [1, max_batch], campaign codes in [-1, V), padding only
 * at the end of a row, age_days present when the model decays, control inputs present and in
 * range and finite, labels present when need_labels and in [0, 1] when present, weights finite
 * and >= 0. */
tp_status dnamta_check_batch(const dnamta_layout *L, const tp_dnamta_batch *b, int max_batch,
                             bool need_labels);

/* Ints per chunk of n rows (perm, len) plus T per thread (n_active). */
#define DNAMTA_ROW_INTS 2

#undef NN_REAL_DOUBLE
#include "nn/real.h"
#include "attribution/dnamta_proto.h"
#define NN_REAL_DOUBLE
#include "nn/real.h"
#include "attribution/dnamta_proto.h"
#undef NN_REAL_DOUBLE
#include "nn/real.h"

#endif

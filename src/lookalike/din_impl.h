/* din_impl.h: the DIN-style click model's forward/backward over one flat parameter block
 * (llm.c layout), in float (din_model_*) for training and in double (din_model_*_d) for the
 * finite-difference checks in tests/test_lookalike.c. Internal to the library. */
#ifndef TP_DIN_IMPL_H
#define TP_DIN_IMPL_H

#include "nn/din.h"

/* V keywords, E embedding, A attention hidden, H output hidden, T history slots. */
typedef struct din_dims {
    int V, E, A, H, T;
} din_dims;

/* Offsets into the parameter block (all in reals):
 *   emb (V,E) | A1 (A,4E) | b1 (A) | a2 (A) | b2 (1) | O1 (H,2E) | c1 (H) | o2 (H) | c2 (1) */
typedef struct din_layout {
    size_t emb, A1, b1, a2, b2, O1, c1, o2, c2, n;
} din_layout;
din_layout din_layout_of(const din_dims *d);
/* Reals of scratch for a batch of N samples (activations + gradients). */
size_t din_ws_size(const din_dims *d, int N);

#undef NN_REAL_DOUBLE
#include "nn/real.h"
#include "lookalike/din_proto.h"
#define NN_REAL_DOUBLE
#include "nn/real.h"
#include "lookalike/din_proto.h"
#undef NN_REAL_DOUBLE
#include "nn/real.h"

#endif

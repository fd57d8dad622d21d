/* din.h: the kernels of DIN's local activation unit (Zhou et al., "Deep Interest Network for
 * Click-Through Rate Prediction", arXiv 1706.06978) that nn.h does not have: the attention MLP's
 * input [q, k, q-k, q*k] and masked softmax pooling of the history keys. Float (din_*) and double
 * (din_*_d) like nn.h. Letters: N samples, T history slots, E embedding width. */
#ifndef TP_NN_DIN_H
#define TP_NN_DIN_H

#include "nn/nn.h"

#undef NN_REAL_DOUBLE
#include "nn/real.h"
#include "nn/din_proto.h"
#define NN_REAL_DOUBLE
#include "nn/real.h"
#include "nn/din_proto.h"
#undef NN_REAL_DOUBLE
#include "nn/real.h"

#endif

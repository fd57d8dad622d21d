/* nn.h: the neural-network kernels (src/nn/) used by the attention model and the click model.
 * Kernels take pointers and sizes, never allocate and never fail. Each exists in float (nn_*) and
 * in double (nn_*_d, for gradient checks); nn_proto.h lists them once for both types.
 * Letters: N rows (batch), T steps, E embedding, H hidden, F/O layer input/output widths. */
#ifndef TP_NN_H
#define TP_NN_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>

#undef NN_REAL_DOUBLE
#include "nn/real.h"
#include "nn/nn_proto.h"
#define NN_REAL_DOUBLE
#include "nn/real.h"
#include "nn/nn_proto.h"
#undef NN_REAL_DOUBLE
#include "nn/real.h"

// ---- optimisers (float only: they update the float parameter block) ----

/* Adam as in PyTorch (L2 weight decay added to the gradient, not AdamW): m, v (n) are the moment
 * buffers, t >= 1 the step number after this update. */
void nn_adam_step(float *p, const float *g, float *m, float *v, size_t n, float lr, float beta1,
                  float beta2, float eps, float weight_decay, long t);
/* SGD with momentum as in PyTorch (buf = momentum buf + g, no dampening; p -= lr buf). buf (n)
 * starts at zero; momentum 0 is plain SGD. */
void nn_sgd_step(float *p, const float *g, float *buf, size_t n, float lr, float momentum,
                 float weight_decay);
/* L2 norm of g (n), accumulated in double. */
double nn_grad_norm(const float *g, size_t n);
/* Scale g so its global L2 norm is at most max_norm (> 0). Returns the norm before clipping. */
double nn_clip_grad_norm(float *g, size_t n, float max_norm);

#endif

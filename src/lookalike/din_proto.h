/* din_proto.h: model prototypes for the current `real` (see din_impl.h; no include guard). */

/* Forward for N samples: cand (N) candidate keyword, hist (N,T) history keywords (-1 padding
 * after the first len[n]), y (N) labels or NULL. Fills ws; prob (N) or NULL receives the click
 * probabilities. Returns the summed BCE when y is given, else 0. */
double NN_SFX(din_model_forward)(const din_dims *d, const real *p, const int32_t *cand,
                                 const int32_t *hist, const int *len, const real *y, int N,
                                 real *ws, real *prob);
/* Backward of scale * (summed BCE) after din_model_forward on the same inputs and ws:
 * grad (n params) +=. */
void NN_SFX(din_model_backward)(const din_dims *d, const real *p, real *grad, const int32_t *cand,
                                const int32_t *hist, const int *len, const real *y, int N,
                                real *ws, real scale);

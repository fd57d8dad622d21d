/* din_proto.h: DIN kernel prototypes for the current `real` (see din.h; no include guard). */

/* q (N,E) candidates, k (N,T,E) history keys, len (N) real slots per row.
 * feat (N,T,4E) = [q, k_t, q - k_t, q * k_t] for t < len; rows t >= len are zero. */
void NN_SFX(din_features_forward)(real *feat, const real *q, const real *k, const int *len, int N,
                                  int T, int E);
/* dfeat (N,T,4E) -> dq (N,E) +=, dk (N,T,E) += (t < len only: padding gets no gradient). */
void NN_SFX(din_features_backward)(real *dq, real *dk, const real *dfeat, const real *q,
                                   const real *k, const int *len, int N, int T, int E);
/* s (N,T) scores -> w (N,T) = softmax over t < len (exactly 0 beyond; all 0 when len is 0);
 * v (N,E) = sum_t w_t k_t. */
void NN_SFX(din_pool_forward)(real *v, real *w, const real *s, const real *k, const int *len, int N,
                              int T, int E);
/* dv (N,E) -> dk (N,T,E) +=, ds (N,T) = (overwritten; 0 on padding). */
void NN_SFX(din_pool_backward)(real *dk, real *ds, const real *dv, const real *w, const real *k,
                               const int *len, int N, int T, int E);

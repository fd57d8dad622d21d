/* dnamta_proto.h: the model's computation for the current `real` (float: dnamta_*; double:
 * dnamta_*_d), instantiated by dnamta_core.h (no include guard on purpose). */

/* proj (V,G) = emb W_x^T + b: the LSTM input projection of every campaign, gathered per touch. */
void NN_SFX(dnamta_project)(const dnamta_layout *L, const real *params, real *proj);

/* Forward over batch rows [lo, hi). acts: (hi-lo) * L->row_acts elements; ints: 2 (hi-lo) + T.
 * Writes probs[lo..hi) and attention rows when not NULL. Returns the sum of weighted BCE over the
 * chunk when the batch has labels (else 0). */
double NN_SFX(dnamta_forward_chunk)(const dnamta_layout *L, const real *params, const real *proj,
                                const tp_dnamta_batch *b, int lo, int hi, bool train,
                                uint64_t seed, real *acts, int *ints, real *probs,
                                real *attention);
/* Backward over the rows of the last forward of the same chunk: grads (n_params) += the chunk's
 * gradient of (sum of weighted BCE) * scale, except the embedding, W_x and bias of the LSTM
 * input, which go through dproj (V,G) += (see dnamta_finish). Overwrites the gates. */
void NN_SFX(dnamta_backward_chunk)(const dnamta_layout *L, const real *params,
                               const tp_dnamta_batch *b, int lo, int hi, real scale, real *acts,
                               int *ints, real *grads, real *dproj);
/* grads += the embedding, W_x and LSTM-bias gradients from dproj (V,G). */
void NN_SFX(dnamta_finish)(const dnamta_layout *L, const real *params, const real *dproj, real *grads);

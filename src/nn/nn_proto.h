/* nn_proto.h: kernel prototypes and small inline activations, instantiated for the current
 * `real` by nn.h (no include guard on purpose). Shapes are row-major. */

// ---- activations ----
static inline real NN(sigmoid)(real x) {
    // two branches so exp never overflows
    if (x >= 0) return (real)1 / ((real)1 + NN_EXP(-x));
    real e = NN_EXP(x);
    return e / ((real)1 + e);
}
static inline real NN(softplus)(real x) { /* log(1 + e^x), stable */
    return x > 0 ? x + NN_LOG1P(NN_EXP(-x)) : NN_LOG1P(NN_EXP(x));
}

// ---- dense: out (N,O) = in (N,F) W^T + b, W (O,F), b (O) or NULL ----
void NN(dense_forward)(real *out, const real *in, const real *W, const real *b, int N, int F, int O);
/* din (N,F) += dout W (skipped when din is NULL); dW (O,F) += dout^T in; db (O) += column sums of
 * dout (skipped when NULL). */
void NN(dense_backward)(real *din, real *dW, real *db, const real *dout, const real *in,
                        const real *W, int N, int F, int O);

// ---- embedding: out (N,E) = table[idx] (V,E); idx -1 gives a zero row ----
void NN(embedding_forward)(real *out, const real *table, const int32_t *idx, int N, int E);
/* dtable[idx[n]] += dout[n]; rows with idx -1 contribute nothing. */
void NN(embedding_backward)(real *dtable, const real *dout, const int32_t *idx, int N, int E);

// ---- LSTM, time-major and packed (see lstm.c) ----
/* gates (T,N,4H): on entry the input projections x_t W_x^T + b of every active row; on exit the
 * gate activations [i f g o]. n_active (T): rows 0..n_active[t]-1 run at step t (non-increasing,
 * i.e. rows sorted by length, longest first). h, c, tc (T,N,H) receive h_t, c_t and tanh(c_t)
 * for active rows; h is zero on inactive rows. Wh (4H,H). The state starts at zero. */
void NN(lstm_forward)(real *h, real *c, real *tc, real *gates, const real *Wh, const int *n_active,
                      int T, int N, int H);
/* dh (T,N,H): on entry the gradient of the loss on every h_t (from above); it is overwritten with
 * the total gradient. gates is overwritten with the gradient on the gate pre-activations, which is
 * also the gradient on the input projections. dWh (4H,H) +=. dc (N,H) is scratch. */
void NN(lstm_backward)(real *gates, real *dWh, real *dh, real *dc, const real *h, const real *c,
                       const real *tc, const real *Wh, const int *n_active, int T, int N, int H);

// ---- masked attention pooling over the LSTM states (see attention.c) ----
/* h (T,N,H) time-major; len (N) real steps per row (the rest is padding); w (H) score weights;
 * age (N,T) or NULL with decay the (positive) time-decay rate: s_t = w.h_t - decay age_t.
 * a (N,T) = softmax of s over t < len (exactly 0 beyond; all 0 when len is 0);
 * ctx (N,H) = sum_t a_t h_t. */
void NN(attention_forward)(real *ctx, real *a, const real *h, const real *w, const real *age,
                           real decay, const int *len, int T, int N, int H);
/* From dctx (N,H): dh (T,N,H) += on real steps only (padding untouched); dw (H) +=;
 * *ddecay += dL/d(decay) when age is not NULL. */
void NN(attention_backward)(real *dh, real *dw, real *ddecay, const real *dctx, const real *a,
                            const real *h, const real *w, const real *age, const int *len, int T,
                            int N, int H);

// ---- binary cross-entropy from logits, stable for any z ----
/* Returns sum_n w_n bce(z_n, y_n) (w NULL = 1), accumulated in double. */
double NN(bce_forward)(const real *z, const real *y, const real *w, int N);
/* dz (N) = scale w_n (sigmoid(z_n) - y_n). */
void NN(bce_backward)(real *dz, const real *z, const real *y, const real *w, real scale, int N);

// ---- dropout ----
/* mask (N,D) = 0 with probability p else 1/(1-p), row n drawn from the stream (seed, row0 + n) so
 * the draw does not depend on how rows are split across threads; x (N,D) *= mask. */
void NN(dropout_forward)(real *x, real *mask, real p, uint64_t seed, uint64_t row0, int N, int D);

// ---- relu in place, and its backward (dx *= y > 0) ----
void NN(relu_forward)(real *x, size_t n);
void NN(relu_backward)(real *dx, const real *y, size_t n);

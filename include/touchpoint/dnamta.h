/* dnamta.h: the deep attention attribution model (DNAMTA, arXiv 1809.02230) as a library:
 * campaign embedding -> LSTM -> per-step score -> masked softmax over time (the attention, with an
 * optional learned time decay) -> attention-weighted sum of LSTM states -> [fused with control
 * variables] -> dense -> sigmoid. Padding positions get exactly zero attention and no gradient.
 * Training loops, the model file and the CLI build on this API (src/attribution/dnamta_train.c). */
#ifndef TOUCHPOINT_DNAMTA_H
#define TOUCHPOINT_DNAMTA_H

#include "touchpoint/core.h"
#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tp_dnamta_config {
    int n_campaigns;     /* vocabulary; campaign index -1 marks padding */
    int max_len;         /* T */
    int embed;           /* E, embedding size (reference: 20) */
    int hidden;          /* H, LSTM units (reference: 64) */
    float dropout;       /* on the attention-pooled state during training, 0 = off */
    bool time_decay;     /* score_t -= softplus(rate) * age_days_t (paper's time-decay attention) */
    int n_numeric;       /* control variables: standardised numeric features */
    int n_categorical;   /* control variables: categorical features, each through an embedding */
    const int *cat_cardinality; /* n_categorical entries (copied by tp_dnamta_new) */
    int cat_embed;       /* embedding size of each categorical control variable */
    int control_hidden;  /* width of the dense layer on the control variables (0 = fuse raw) */
} tp_dnamta_config;

/* One minibatch, row-major. Padding: campaign[b*T+t] = -1 for t >= the journey's length
 * (journeys are left-aligned: real touches first, in time order). */
typedef struct tp_dnamta_batch {
    int B;                    /* batch size */
    const int32_t *campaign;  /* (B, T) */
    const float *age_days;    /* (B, T) days from the touch to the journey's end; NULL if unused */
    const float *numeric;     /* (B, n_numeric) already standardised; NULL if none */
    const int32_t *categorical; /* (B, n_categorical) codes in [0, cardinality); NULL if none */
    const float *label;       /* (B) 0/1; NULL for inference */
    const float *weight;      /* (B) per-example loss weight; NULL = 1 */
} tp_dnamta_batch;

typedef struct tp_dnamta tp_dnamta;

/* A new model with parameters initialised from seed (Glorot-uniform weights, zero biases, LSTM
 * forget-gate bias 1), room for batches of up to max_batch rows. */
TP_API tp_status tp_dnamta_new(const tp_dnamta_config *cfg, int max_batch, uint64_t seed, tp_dnamta **out);
TP_API void tp_dnamta_free(tp_dnamta *m);
TP_API const tp_dnamta_config *tp_dnamta_get_config(const tp_dnamta *m); /* borrowed */
/* Worker threads for forward/backward (n <= 0: tp_threads_default(), the default at creation).
 * Results are bit-identical for a given seed and thread count. Drops the last forward pass. */
TP_API tp_status tp_dnamta_set_threads(tp_dnamta *m, int n);
TP_API int tp_dnamta_get_threads(const tp_dnamta *m);

/* Parameters and gradients are each one contiguous float block (llm.c layout). The pointers are
 * borrowed and stay valid for the model's life. The order of tensors inside is documented in
 * src/attribution/dnamta.c and is what the model file stores. */
TP_API float *tp_dnamta_params(tp_dnamta *m, size_t *n);
TP_API float *tp_dnamta_grads(tp_dnamta *m, size_t *n);
/* Names and sizes of the parameter tensors, for export and reference checks (i < n_tensors). */
TP_API size_t tp_dnamta_n_tensors(const tp_dnamta *m);
TP_API const char *tp_dnamta_tensor(const tp_dnamta *m, size_t i, size_t *offset, size_t *size);

/* Forward pass. probs (B) receives P(conversion); attention (B, T) receives the attention weights
 * (zero on padding, each row summing to 1 over real touches) when not NULL. train enables dropout
 * (with a stream derived from seed). Returns the mean weighted binary cross-entropy when the batch
 * has labels (0 otherwise) through *loss. Activations are kept for tp_dnamta_backward. */
TP_API tp_status tp_dnamta_forward(tp_dnamta *m, const tp_dnamta_batch *b, bool train, uint64_t seed,
                                   float *probs, float *attention, float *loss);
/* Backward pass of the last forward (which must have had labels): ACCUMULATES into the gradient
 * block (call tp_dnamta_zero_grad first). Gradient of the mean weighted BCE. */
TP_API tp_status tp_dnamta_backward(tp_dnamta *m, const tp_dnamta_batch *b);
TP_API void tp_dnamta_zero_grad(tp_dnamta *m);

/* Optimiser step over the parameter block. */
typedef enum tp_optim_kind { TP_OPTIM_ADAM, TP_OPTIM_SGD } tp_optim_kind;
typedef struct tp_optim_config {
    tp_optim_kind kind;
    float lr;            /* learning rate */
    float beta1, beta2, eps; /* Adam (0.9, 0.999, 1e-8) */
    float momentum;      /* SGD */
    float weight_decay;  /* L2, 0 = off */
    float clip_norm;     /* global gradient norm clip, 0 = off */
} tp_optim_config;
TP_API void tp_optim_config_default(tp_optim_config *c); /* Adam, lr 1e-3, clip 5 */
TP_API tp_status tp_dnamta_step(tp_dnamta *m, const tp_optim_config *c);

#ifdef __cplusplus
}
#endif
#endif

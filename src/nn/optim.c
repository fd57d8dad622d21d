/* optim.c: parameter updates over one flat float block: Adam and SGD with momentum (both exactly
 * as PyTorch defines them, L2 weight decay added to the gradient), and global-norm clipping. */
#include "nn/nn.h"

void nn_adam_step(float *p, const float *g, float *m, float *v, size_t n, float lr, float beta1,
                  float beta2, float eps, float weight_decay, long t) {
    const double bc1 = 1 - pow(beta1, (double)t), bc2 = 1 - pow(beta2, (double)t);
    const float step = (float)(lr / bc1), sbc2 = (float)sqrt(bc2);
    for (size_t i = 0; i < n; i++) {
        float gi = g[i] + weight_decay * p[i];
        m[i] = beta1 * m[i] + (1 - beta1) * gi;
        v[i] = beta2 * v[i] + (1 - beta2) * gi * gi;
        p[i] -= step * m[i] / (sqrtf(v[i]) / sbc2 + eps);
    }
}

void nn_sgd_step(float *p, const float *g, float *buf, size_t n, float lr, float momentum,
                 float weight_decay) {
    for (size_t i = 0; i < n; i++) {
        float gi = g[i] + weight_decay * p[i];
        buf[i] = momentum * buf[i] + gi;
        p[i] -= lr * buf[i];
    }
}

double nn_grad_norm(const float *g, size_t n) {
    double s = 0;
    for (size_t i = 0; i < n; i++) s += (double)g[i] * g[i];
    return sqrt(s);
}

double nn_clip_grad_norm(float *g, size_t n, float max_norm) {
    double norm = nn_grad_norm(g, n);
    if (norm > max_norm) {
        // torch.nn.utils.clip_grad_norm_: scale by max_norm / (norm + 1e-6)
        float s = (float)(max_norm / (norm + 1e-6));
        for (size_t i = 0; i < n; i++) g[i] *= s;
    }
    return norm;
}

/* embedding.c: table lookup, the cheap equivalent of the reference's one-hot -> Dense. Index -1
 * is padding: a zero row that receives no gradient. Compiled in float and double (twice.h). */
#ifndef NN_PASS
#define NN_SELF "nn/embedding.c"
#include "nn/twice.h"
#else

// table (V,E), idx (N) -> out (N,E)
void NN(embedding_forward)(real *out, const real *table, const int32_t *idx, int N, int E) {
    for (int n = 0; n < N; n++) {
        real *o = out + (size_t)n * E;
        if (idx[n] < 0)
            memset(o, 0, (size_t)E * sizeof(real));
        else
            memcpy(o, table + (size_t)idx[n] * E, (size_t)E * sizeof(real));
    }
}

// dout (N,E) -> dtable (V,E) +=
void NN(embedding_backward)(real *dtable, const real *dout, const int32_t *idx, int N, int E) {
    for (int n = 0; n < N; n++) {
        if (idx[n] < 0) continue;
        real *d = dtable + (size_t)idx[n] * E;
        const real *g = dout + (size_t)n * E;
        for (int e = 0; e < E; e++) d[e] += g[e];
    }
}

#endif

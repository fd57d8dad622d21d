/* twice.h: compiles the including kernel file (named by NN_SELF) in float and in double; see
 * real.h. A kernel file is `#ifndef NN_PASS / #define NN_SELF "nn/x.c" / #include "nn/twice.h" /
 * #else <body> #endif`. */
#define NN_PASS
#include "nn/fastmath.h"
#include "nn/nn.h"
#include <cblas.h>
#include <string.h>
#include NN_SELF
#define NN_REAL_DOUBLE
#include "nn/real.h"
#include NN_SELF
#undef NN_REAL_DOUBLE

/* real.h: selects the element type of the nn kernels. Each kernel file is compiled twice, once
 * with NN_REAL_DOUBLE undefined (float, names nn_*) for the library and once with it defined
 * (double, names nn_*_d; NN_SFX adds only the _d) for the finite-difference checks in tests/test_nn.c. Include it again
 * after changing NN_REAL_DOUBLE: it undefines what it defined before. */
#undef real
#undef NN
#undef NN_SFX
#undef NN_GEMM
#undef NN_DOT
#undef NN_EXP
#undef NN_LOG1P
#undef NN_TANH
#undef NN_SQRT
#undef NN_VDOT
#undef NN_AXPY
#undef NN_CLONES
#ifdef NN_REAL_DOUBLE
#define real double
#define NN(name) nn_##name##_d
#define NN_SFX(name) name##_d
#define NN_GEMM cblas_dgemm
#define NN_DOT cblas_ddot
#define NN_EXP exp
#define NN_LOG1P log1p
#define NN_TANH tanh
#define NN_SQRT sqrt
#define NN_VDOT nn_ddot
#define NN_AXPY nn_daxpy
#define NN_CLONES
#else
#define real float
#define NN(name) nn_##name
#define NN_SFX(name) name
#define NN_GEMM cblas_sgemm
#define NN_DOT cblas_sdot
#define NN_EXP expf
#define NN_LOG1P log1pf
#define NN_TANH tanhf
#define NN_SQRT sqrtf
#define NN_VDOT nn_fdot
#define NN_AXPY nn_faxpy
/* hot float kernels are also built for AVX2 and picked at load time; both builds do the same IEEE
 * operations (no FMA contraction in ISO C mode), so results do not depend on the machine */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__SANITIZE_ADDRESS__)
#define NN_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define NN_CLONES
#endif
#endif

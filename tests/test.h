/* test.h: the tiny test harness. Every suite is a function suite_<name>(void) in
 * tests/test_<name>.c; CHECK records a failure with file and line and goes on. */
#ifndef TP_TEST_H
#define TP_TEST_H

#include <math.h>
#include <stdio.h>
#include <string.h>

extern int tp_test_checks, tp_test_failures;
void tp_test_fail(const char *file, int line, const char *fmt, ...);

#define CHECK(c)                                                                        \
    do {                                                                                \
        tp_test_checks++;                                                               \
        if (!(c)) tp_test_fail(__FILE__, __LINE__, "CHECK(%s)", #c);                   \
    } while (0)
#define CHECK_CLOSE(a, b, tol)                                                          \
    do {                                                                                \
        double a_ = (double)(a), b_ = (double)(b);                                      \
        tp_test_checks++;                                                               \
        if (!(fabs(a_ - b_) <= (tol)))                                                  \
            tp_test_fail(__FILE__, __LINE__, "%s = %.17g, %s = %.17g, tol %g", #a, a_, #b, \
                         b_, (double)(tol));                                            \
    } while (0)
/* A tp_ call that must succeed; prints tp_last_error() when it does not. */
#define CHECK_OK(call)                                                                  \
    do {                                                                                \
        tp_status s_ = (call);                                                          \
        tp_test_checks++;                                                               \
        if (s_ != TP_OK)                                                                \
            tp_test_fail(__FILE__, __LINE__, "%s -> %s: %s", #call, tp_status_str(s_),     \
                         tp_last_error());                                              \
    } while (0)
#define CHECK_STATUS(call, want)                                                        \
    do {                                                                                \
        tp_status s_ = (call);                                                          \
        tp_test_checks++;                                                               \
        if (s_ != (want))                                                               \
            tp_test_fail(__FILE__, __LINE__, "%s -> %s, wanted %s (%s)", #call,            \
                         tp_status_str(s_), tp_status_str(want), tp_last_error());       \
    } while (0)
#define CHECK_STR(a, b)                                                                 \
    do {                                                                                \
        const char *a_ = (a), *b_ = (b);                                                \
        tp_test_checks++;                                                               \
        if (!a_ || !b_ || strcmp(a_, b_) != 0)                                          \
            tp_test_fail(__FILE__, __LINE__, "%s = \"%s\", %s = \"%s\"", #a, a_ ? a_ : "(null)", \
                         #b, b_ ? b_ : "(null)");                                        \
    } while (0)

/* A fresh temporary directory for this run (removed at exit); tp_test_path joins a name to it
 * in a static rotating buffer. */
const char *tp_test_tmpdir(void);
const char *tp_test_path(const char *name);
/* ../shared/data, found relative to the repository (TP_SHARED_DATA overrides); NULL if absent. */
const char *tp_test_shared_data(void);

#endif

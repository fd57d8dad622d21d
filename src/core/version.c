/* version.c: the library version, from the VERSION file via the Makefile. */
#include "touchpoint/touchpoint.h"

#ifndef TP_VERSION
#define TP_VERSION "0.0.0"
#endif

const char *tp_version(void) { return TP_VERSION; }

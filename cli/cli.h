/* cli.h: what the subcommands share. Each cli/cmd_<name>.c defines
 *   const char cmd_<name>_summary[];          one line for `touchpoint help`
 *   int cmd_<name>(int argc, char **argv);     argv[0] is "<name>"; returns the exit code
 * and parses its options with getopt_long. `--help` prints the usage to stdout and returns 0.
 * Exit codes: 0 ok, 1 runtime error, 2 usage error. The CLI uses only include/touchpoint/. */
#ifndef TP_CLI_H
#define TP_CLI_H

#include "touchpoint/touchpoint.h"

#include <getopt.h>
#include <stdbool.h>

/* "touchpoint: error: <tp_last_error()>" on stderr; returns 1. */
int cli_fail(void);
/* "touchpoint: error: <message>" on stderr; returns 1. */
int cli_errorf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "touchpoint <cmd>: <message>" then "usage: ..." on stderr; returns 2. */
int cli_usage_error(const char *cmd, const char *usage, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Print usage to stdout; returns 0 (for --help). */
int cli_help(const char *usage);

/* Split "a,b,c" into a NULL-terminated array of strings (free with cli_free_list). */
char **cli_split_list(const char *s, size_t *n);
void cli_free_list(char **list);

/* Parse numbers strictly (whole string, in range); false on error. */
bool cli_parse_i64(const char *s, int64_t *out);
bool cli_parse_f64(const char *s, double *out);
/* "4G", "512M", "100k", plain bytes. */
bool cli_parse_bytes(const char *s, size_t *out);

/* Global options parsed by main before the command: --quiet, --threads N, --log-level L. */
extern bool cli_quiet;

#endif

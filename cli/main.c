/* main.c: `touchpoint <command> [options]`. Parses the global options, installs the log and
 * progress sinks on stderr, and dispatches to cmd_<name>() from the generated command table. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define COMMAND(name)                                                                            \
    int cmd_##name(int argc, char **argv);                                                       \
    extern const char cmd_##name##_summary[];
#include "commands.h"
#undef COMMAND

static const struct command {
    const char *name;
    int (*fn)(int, char **);
    const char *summary;
} commands[] = {
#define COMMAND(name) {#name, cmd_##name, cmd_##name##_summary},
#include "commands.h"
#undef COMMAND
    {NULL, NULL, NULL}, /* keeps the array non-empty */
};
static const size_t n_commands = sizeof commands / sizeof *commands - 1;

static const char usage[] =
    "usage: touchpoint [--quiet] [--threads N] [--log-level debug|info|warn|error] <command> [options]\n"
    "       touchpoint <command> --help\n"
    "       touchpoint --version\n";

static void print_help(FILE *fp) {
    fprintf(fp, "touchpoint %s: attribution, propensity and lookalike from raw event logs.\n\n%s\ncommands:\n",
            tp_version(), usage);
    for (size_t i = 0; i < n_commands; i++) fprintf(fp, "  %-12s %s\n", commands[i].name, commands[i].summary);
    fprintf(fp, "\nExit status: 0 ok, 1 runtime error, 2 usage error. Docs: docs/README.md\n");
}

static void log_to_stderr(tp_log_level level, const char *msg, void *ud) {
    static const char *names[] = {"debug", "info", "warning", "error"};
    (void)ud;
    if (level == TP_LOG_INFO) fprintf(stderr, "touchpoint: %s\n", msg);
    else fprintf(stderr, "touchpoint: %s: %s\n", names[level], msg);
}

int main(int argc, char **argv) {
    int i = 1;
    tp_log_level level = TP_LOG_INFO;
    for (; i < argc && argv[i][0] == '-'; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--quiet") || !strcmp(a, "-q")) {
            cli_quiet = true;
            level = TP_LOG_WARN;
        } else if (!strcmp(a, "--version") || !strcmp(a, "-V")) {
            printf("touchpoint %s\n", tp_version());
            return 0;
        } else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            print_help(stdout);
            return 0;
        } else if (!strcmp(a, "--threads") && i + 1 < argc) {
            int64_t n;
            if (!cli_parse_i64(argv[++i], &n) || n < 1 || n > 1024)
                return cli_usage_error("", usage, "--threads wants a number from 1 to 1024, not '%s'", argv[i]);
            tp_threads_set_default((int)n);
        } else if (!strcmp(a, "--log-level") && i + 1 < argc) {
            const char *l = argv[++i];
            if (!strcmp(l, "debug")) level = TP_LOG_DEBUG;
            else if (!strcmp(l, "info")) level = TP_LOG_INFO;
            else if (!strcmp(l, "warn")) level = TP_LOG_WARN;
            else if (!strcmp(l, "error")) level = TP_LOG_ERROR;
            else return cli_usage_error("", usage, "unknown log level '%s'", l);
        } else {
            fprintf(stderr, "touchpoint: unknown option '%s'\n%s", a, usage);
            return 2;
        }
    }
    if (i >= argc) {
        print_help(stderr);
        return 2;
    }
    const char *name = argv[i];
    if (!strcmp(name, "help")) {
        if (i + 1 < argc) {
            for (size_t k = 0; k < n_commands; k++)
                if (!strcmp(commands[k].name, argv[i + 1])) {
                    char *hargv[] = {argv[i + 1], "--help", NULL};
                    return commands[k].fn(2, hargv);
                }
            fprintf(stderr, "touchpoint: no command '%s'\n", argv[i + 1]);
            return 2;
        }
        print_help(stdout);
        return 0;
    }
    tp_log_set_sink(log_to_stderr, NULL);
    tp_log_set_level(level);
    if (!cli_quiet) tp_progress_set_output(stderr);
    for (size_t k = 0; k < n_commands; k++) {
        if (strcmp(commands[k].name, name) == 0) {
            optind = 1;
            return commands[k].fn(argc - i, argv + i);
        }
    }
    fprintf(stderr, "touchpoint: no command '%s' (see 'touchpoint help')\n", name);
    return 2;
}

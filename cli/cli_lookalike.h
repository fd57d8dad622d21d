/* cli_lookalike.h: the `touchpoint lookalike` subcommands implemented outside cmd_lookalike.c.
 * cmd_lookalike.c (prepare, train, scores) dispatches `extend` and `validate` to these, defined in
 * cli/lookalike_audience.c (owned by the audience helper). argv[0] is "extend" / "validate";
 * same exit codes as any command (0 ok, 1 runtime error, 2 usage error). */
#ifndef TP_CLI_LOOKALIKE_H
#define TP_CLI_LOOKALIKE_H

int cmd_lookalike_extend(int argc, char **argv);
int cmd_lookalike_validate(int argc, char **argv);

/* `touchpoint simulate --kind lookalike ...` (defined in cmd_lookalike.c; argv as cmd_simulate's). */
int cmd_simulate_lookalike(int argc, char **argv);

#endif

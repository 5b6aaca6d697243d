/*
 * cmd — the table of subcommands.  Each command lives in src/cmd/<name>.c
 * with one entry point; main() looks the name up here and dispatches.
 * Help output (`forja help NAME`, `forja NAME --help`) is generated from
 * the same table, so usage, options and man page cannot drift apart.
 */
#ifndef FORJA_CMD_H
#define FORJA_CMD_H

#include <stdio.h>

#include "forja/app.h"
#include "forja/opt.h"

struct cmd {
	const char *name;
	int (*run)(struct app *app, int argc, char **argv); /* returns an exit code */
	const char *summary;             /* one line for `forja --help` */
	const char *usage;               /* "forja bootstrap [OPTIONS]" */
	const char *description;         /* a paragraph, may be NULL */
	const struct opt_spec *options;  /* the command's own, terminated */
	const struct opt_spec *common;   /* shared ones it takes; NULL: app_common_options */
};

extern const struct cmd cmd_table[];
extern const size_t cmd_count;

/* Global options, parsed before the command name (ids below). */
enum { CMD_OPT_CHDIR = 1, CMD_OPT_VERSION, CMD_OPT_CONTINUE };
extern const struct opt_spec cmd_global_options[];

const struct cmd *cmd_find(const char *name);
/* `forja --help`: usage, commands, global options, exit codes. */
void cmd_print_usage(FILE *out);
/* Report an unknown command name with the closest valid one; returns
 * EXIT_USAGE.  context prefixes the message ("help: "). */
int cmd_unknown(const struct app *app, const char *context, const char *name);
void cmd_print_help(const struct cmd *cmd, FILE *out);

/* Parse a command's options with the common ones; on --help prints the
 * command's help and sets *exit_code to 0; returns OPT_* like opt_next. */
int cmd_next_option(const struct cmd *cmd, struct app *app, struct opt_state *st,
		    int *exit_code);

/* Parse a command that takes options only (its own and cmd->common) and no
 * operand: -1 to go on, else the exit code to return at once (help shown,
 * or a usage error printed). */
int cmd_parse_no_operands(const struct cmd *cmd, struct app *app, int argc, char **argv);

int cmd_bootstrap(struct app *app, int argc, char **argv);
int cmd_help(struct app *app, int argc, char **argv);
int cmd_exec(struct app *app, int argc, char **argv);
int cmd_models(struct app *app, int argc, char **argv);
int cmd_doctor(struct app *app, int argc, char **argv);
int cmd_tool(struct app *app, int argc, char **argv);
int cmd_trust(struct app *app, int argc, char **argv);
int cmd_contracts(struct app *app, int argc, char **argv);
int cmd_sessions(struct app *app, int argc, char **argv);
int cmd_hook(struct app *app, int argc, char **argv);
/* Continue session id (full, already resolved) in the interactive
 * session; returns an exit code.  In src/cmd/chat.c. */
int cmd_chat_resume(struct app *app, const char *id);
/* `forja` with no command: the interactive session (src/cmd/chat.c). */
int cmd_chat(struct app *app, int argc, char **argv);

#endif

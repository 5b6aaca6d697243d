/*
 * app — what every command is handed: the global settings parsed from the
 * command line and the environment, and the current directory forja runs in.
 *
 * main() owns the one struct app; commands read it and may call
 * app_common_option() for the flags every command accepts (--json, -q, -v,
 * --color) so that they work after the command name too.
 */
#ifndef FORJA_APP_H
#define FORJA_APP_H

#include <stdbool.h>
#include <stdio.h>

#include "forja/ferr.h"
#include "forja/opt.h"

enum color_mode { COLOR_AUTO, COLOR_ALWAYS, COLOR_NEVER };

/* What tool calls may do at all (contracts and approvals decide the rest). */
enum sandbox_mode { SANDBOX_WORKSPACE_WRITE, SANDBOX_READ_ONLY, SANDBOX_DANGER_FULL_ACCESS };

/* Whether calls that need approval wait for the person (--approvals). */
enum approvals_mode { APPROVALS_DEFAULT, APPROVALS_ASK, APPROVALS_AUTO };

struct app {
	const char *cwd;          /* absolute, after -C; owned by main */
	bool json;                /* --json: machine-readable output */
	enum color_mode color_mode;
	bool color;               /* resolved for stdout */
	int verbosity;            /* -1 quiet, 0 normal, 1+ verbose */
	const char *provider;     /* --provider, or NULL */
	const char *model;        /* --model, or NULL */
	const char *base_url;     /* --base-url, or NULL */
	enum sandbox_mode sandbox; /* --sandbox, default workspace-write */
	const char *sandbox_name;
	bool sandbox_given;       /* --sandbox was on the command line */
	enum approvals_mode approvals; /* --approvals, or APPROVALS_DEFAULT */
	bool resume_latest;       /* --continue */
};

/* Option ids reserved for the common options (commands use ids below 1000). */
enum {
	APP_OPT_JSON = 1000,
	APP_OPT_COLOR,
	APP_OPT_QUIET,
	APP_OPT_VERBOSE,
	APP_OPT_HELP,
	APP_OPT_PROVIDER,
	APP_OPT_MODEL,
	APP_OPT_BASE_URL,
	APP_OPT_SANDBOX,
	APP_OPT_APPROVALS,
};

/* The common options, terminated; point opt_state.common at it. */
extern const struct opt_spec app_common_options[];
/* The common options plus --provider, --model and --base-url, for the
 * commands that talk to a model (they also work before any command). */
extern const struct opt_spec app_provider_options[];
/* The common options plus --sandbox, for the commands that run tools. */
extern const struct opt_spec app_tool_options[];
/* The provider options plus --sandbox and --approvals, for the agent. */
extern const struct opt_spec app_agent_options[];

/* Apply a common option returned by opt_next().  Returns 0, or -1 with a
 * usage error (bad --color value). */
int app_common_option(struct app *app, int id, const char *value, struct ferr *e);

/* Decide app->color from the mode, NO_COLOR, TERM and whether stdout is a
 * terminal. */
void app_resolve_color(struct app *app);

/* Print an error for the person on stderr ("forja: message"), coloured when
 * stderr is a terminal and colour is allowed. */
void app_print_error(const struct app *app, const struct ferr *e);

/* Print a usage error made from fmt as app_print_error() does; returns
 * EXIT_USAGE, for `return app_usage_error(app, "...", ...);`. */
int app_usage_error(const struct app *app, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif

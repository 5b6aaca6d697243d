/*
 * config — forja's settings, layered: built-in defaults < system
 * (/etc/forja/config.json) < user ($XDG_CONFIG_HOME/forja/config.json) <
 * project (.forja/config.json at the repository root) < environment <
 * flags.  Files are JSON with comments (jsonc.h); every error names the
 * file, line, column and key.
 *
 * A project's config comes from the repository, which may be hostile: it
 * may only tighten (lower timeouts and retries, pick a model) until the
 * user trusts the project.  Anything else in it — providers, base URLs,
 * headers, key sources, a CA bundle — is ignored with a warning, so that a
 * cloned repository cannot send the user's API key to its own server.
 *
 * API keys are never written in config files: a provider names the
 * environment variable or the file (readable only by the user) that holds
 * its key.
 */
#ifndef FORJA_CONFIG_H
#define FORJA_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "forja/buf.h"
#include "forja/ferr.h"
#include "forja/http.h"

struct config_provider {
	char *name;
	char *type;            /* "openai" or "anthropic" */
	char *base_url;
	char *model;
	char **headers;        /* "Name: value" */
	size_t nheaders;
	char *api_key_env;
	char *api_key_file;
	long max_tokens;
	char *file;            /* where it was defined, for messages */
};

/* What the config says of one model (the "models" key): NULL/0/-1 unset. */
struct config_model {
	char *name;
	long context_window;   /* tokens; 0 unknown */
	double input_price, output_price, cached_input_price; /* USD per million tokens; < 0 unset */
};

/* hooks.block_on: the least severe review finding that fails the
 * pre-commit hook; each value is stricter than the one before. */
enum config_block_on {
	CONFIG_BLOCK_NEVER,    /* advisory: findings are shown, the commit goes on */
	CONFIG_BLOCK_ERROR,
	CONFIG_BLOCK_WARNING,
	CONFIG_BLOCK_NOTE,
};

struct config {
	char *provider;        /* the default provider's name */
	char *model;
	struct config_provider *providers;
	size_t nproviders;
	struct http_timeouts timeouts;
	int max_attempts;
	long retry_base_ms, retry_max_delay_ms, retry_total_ms;
	char *ca_bundle;
	char *sandbox;         /* "read-only", "workspace-write", "danger-full-access", or NULL */
	char *approvals;       /* "ask", "auto", or NULL (the front end decides) */
	long max_turns;        /* model requests per prompt; 0 no limit (default 50) */
	long max_tool_calls;   /* tool calls per prompt; 0 no limit (default 200) */
	long max_session_tokens; /* prompt + completion tokens per session; 0 no limit */
	double max_session_cost; /* estimated USD per session; 0 no limit */
	struct config_model *models;
	size_t nmodels;
	long context_budget;   /* tokens of project context in the system prompt; -1 default, 0 none */
	long hooks_timeout_ms; /* the most a git hook waits for the model (default 15000) */
	enum config_block_on hooks_block_on; /* default CONFIG_BLOCK_NEVER */
	char **files;          /* the files read, in order */
	size_t nfiles;
	char **warnings;       /* for the person: ignored project settings */
	size_t nwarnings;
};

/* Load the layers.  project_root is the repository root (or NULL outside
 * one).  Returns 0, or -1 with FERR_CONFIG naming file:line:column and the
 * key. */
int config_load(const char *project_root, struct config *cfg, struct ferr *e);
void config_release(struct config *cfg);
const struct config_provider *config_find_provider(const struct config *cfg, const char *name);
const struct config_model *config_find_model(const struct config *cfg, const char *model);

#endif

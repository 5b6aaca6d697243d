/*
 * app.c — the common options, colour decision and error printing shared by
 * every command.
 */
#include "forja/app.h"
#include "forja/buf.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const struct opt_spec app_common_options[] = {
	{ "json", 0, OPT_FLAG, APP_OPT_JSON, NULL, "machine-readable JSON output" },
	{ "color", 0, OPT_VALUE, APP_OPT_COLOR, "WHEN", "colour: auto, always or never" },
	{ "quiet", 'q', OPT_FLAG, APP_OPT_QUIET, NULL, "print less" },
	{ "verbose", 'v', OPT_FLAG, APP_OPT_VERBOSE, NULL, "print more: what forja did and why" },
	{ "help", 'h', OPT_FLAG, APP_OPT_HELP, NULL, "show help and exit" },
	{ 0 },
};

const struct opt_spec app_tool_options[] = {
	{ "sandbox", 0, OPT_VALUE, APP_OPT_SANDBOX, "MODE",
	  "what tool calls may do: read-only, workspace-write (default) or danger-full-access" },
	{ "json", 0, OPT_FLAG, APP_OPT_JSON, NULL, "machine-readable JSON output" },
	{ "color", 0, OPT_VALUE, APP_OPT_COLOR, "WHEN", "colour: auto, always or never" },
	{ "quiet", 'q', OPT_FLAG, APP_OPT_QUIET, NULL, "print less" },
	{ "verbose", 'v', OPT_FLAG, APP_OPT_VERBOSE, NULL, "print more: what forja did and why" },
	{ "help", 'h', OPT_FLAG, APP_OPT_HELP, NULL, "show help and exit" },
	{ 0 },
};

const struct opt_spec app_provider_options[] = {
	{ "provider", 0, OPT_VALUE, APP_OPT_PROVIDER, "NAME",
	  "the LLM provider: openai, anthropic, ollama, llamacpp, lmstudio, vllm, openrouter or one from config" },
	{ "model", 0, OPT_VALUE, APP_OPT_MODEL, "MODEL", "the model to use" },
	{ "base-url", 0, OPT_VALUE, APP_OPT_BASE_URL, "URL",
	  "the provider's API base URL (an OpenAI-compatible server unless --provider says otherwise)" },
	{ "json", 0, OPT_FLAG, APP_OPT_JSON, NULL, "machine-readable JSON output" },
	{ "color", 0, OPT_VALUE, APP_OPT_COLOR, "WHEN", "colour: auto, always or never" },
	{ "quiet", 'q', OPT_FLAG, APP_OPT_QUIET, NULL, "print less" },
	{ "verbose", 'v', OPT_FLAG, APP_OPT_VERBOSE, NULL, "print more: what forja did and why" },
	{ "help", 'h', OPT_FLAG, APP_OPT_HELP, NULL, "show help and exit" },
	{ 0 },
};

const struct opt_spec app_agent_options[] = {
	{ "provider", 0, OPT_VALUE, APP_OPT_PROVIDER, "NAME",
	  "the LLM provider: openai, anthropic, ollama, llamacpp, lmstudio, vllm, openrouter or one from config" },
	{ "model", 0, OPT_VALUE, APP_OPT_MODEL, "MODEL", "the model to use" },
	{ "base-url", 0, OPT_VALUE, APP_OPT_BASE_URL, "URL",
	  "the provider's API base URL (an OpenAI-compatible server unless --provider says otherwise)" },
	{ "sandbox", 0, OPT_VALUE, APP_OPT_SANDBOX, "MODE",
	  "what tool calls may do: read-only, workspace-write (default) or danger-full-access" },
	{ "approvals", 0, OPT_VALUE, APP_OPT_APPROVALS, "MODE",
	  "ask: calls that need approval wait for you (default on a terminal); auto: they run" },
	{ "json", 0, OPT_FLAG, APP_OPT_JSON, NULL, "machine-readable JSON output" },
	{ "color", 0, OPT_VALUE, APP_OPT_COLOR, "WHEN", "colour: auto, always or never" },
	{ "quiet", 'q', OPT_FLAG, APP_OPT_QUIET, NULL, "print less" },
	{ "verbose", 'v', OPT_FLAG, APP_OPT_VERBOSE, NULL, "print more: what forja did and why" },
	{ "help", 'h', OPT_FLAG, APP_OPT_HELP, NULL, "show help and exit" },
	{ 0 },
};

int app_common_option(struct app *app, int id, const char *value, struct ferr *e)
{
	switch (id) {
	case APP_OPT_JSON:
		app->json = true;
		return 0;
	case APP_OPT_QUIET:
		app->verbosity = -1;
		return 0;
	case APP_OPT_SANDBOX: {
		static const char *const modes[] = { "workspace-write", "read-only",
						     "danger-full-access" };
		for (int i = 0; i < 3; i++)
			if (strcmp(value, modes[i]) == 0) {
				app->sandbox = (enum sandbox_mode)i;
				app->sandbox_name = modes[i];
				app->sandbox_given = true;
				return 0;
			}
		const char *hint = opt_suggest(value, modes, 3);
		return ferr_set(e, FERR_USAGE,
				"--sandbox: expected read-only, workspace-write or danger-full-access, got '%s'%s%s%s",
				value, hint ? "; did you mean '" : "", hint ? hint : "", hint ? "'?" : "");
	}
	case APP_OPT_APPROVALS:
		if (strcmp(value, "ask") == 0) {
			app->approvals = APPROVALS_ASK;
			return 0;
		}
		if (strcmp(value, "auto") == 0) {
			app->approvals = APPROVALS_AUTO;
			return 0;
		}
		{
			static const char *const modes[] = { "ask", "auto" };
			const char *hint = opt_suggest(value, modes, 2);
			return ferr_set(e, FERR_USAGE, "--approvals: expected ask or auto, got '%s'%s%s%s",
					value, hint ? "; did you mean '" : "", hint ? hint : "", hint ? "'?" : "");
		}
	case APP_OPT_PROVIDER:
		app->provider = value;
		return 0;
	case APP_OPT_MODEL:
		app->model = value;
		return 0;
	case APP_OPT_BASE_URL:
		if (strncmp(value, "http://", 7) != 0 && strncmp(value, "https://", 8) != 0)
			return ferr_set(e, FERR_USAGE,
					"--base-url: expected an http:// or https:// URL, got '%s'", value);
		app->base_url = value;
		return 0;
	case APP_OPT_VERBOSE:
		app->verbosity = app->verbosity < 0 ? 1 : app->verbosity + 1;
		return 0;
	case APP_OPT_COLOR:
		if (strcmp(value, "auto") == 0)
			app->color_mode = COLOR_AUTO;
		else if (strcmp(value, "always") == 0)
			app->color_mode = COLOR_ALWAYS;
		else if (strcmp(value, "never") == 0)
			app->color_mode = COLOR_NEVER;
		else {
			static const char *const whens[] = { "auto", "always", "never" };
			const char *hint = opt_suggest(value, whens, 3);
			return ferr_set(e, FERR_USAGE,
					"--color: expected auto, always or never, got '%s'%s%s%s",
					value, hint ? "; did you mean '" : "", hint ? hint : "",
					hint ? "'?" : "");
		}
		app_resolve_color(app);
		return 0;
	}
	return ferr_set(e, FERR_INTERNAL, "unhandled common option %d", id);
}

static bool color_allowed(int fd, enum color_mode mode)
{
	const char *no_color = getenv("NO_COLOR");
	const char *term = getenv("TERM");

	if (mode == COLOR_ALWAYS)
		return true;
	if (mode == COLOR_NEVER)
		return false;
	if (no_color && *no_color)
		return false;
	if (term && strcmp(term, "dumb") == 0)
		return false;
	return isatty(fd);
}

void app_resolve_color(struct app *app)
{
	app->color = color_allowed(STDOUT_FILENO, app->color_mode);
}

void app_print_error(const struct app *app, const struct ferr *e)
{
	bool color = color_allowed(STDERR_FILENO, app ? app->color_mode : COLOR_AUTO);

	fprintf(stderr, "%sforja:%s %s\n", color ? "\033[1;31m" : "",
		color ? "\033[0m" : "", e->msg[0] ? e->msg : ferr_class_name(e->cls));
}

int app_usage_error(const struct app *app, const char *fmt, ...)
{
	struct ferr e = FERR_INIT;
	struct buf msg = BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	buf_vprintf(&msg, fmt, ap);
	va_end(ap);
	ferr_set(&e, FERR_USAGE, "%s", buf_cstr(&msg));
	app_print_error(app, &e);
	buf_release(&msg);
	return EXIT_USAGE;
}

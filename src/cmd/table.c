/*
 * table.c — the subcommand table, lookup, and help generated from it.
 */
#include <string.h>

#include "forja/cmd.h"

extern const struct opt_spec cmd_bootstrap_options[];
extern const struct opt_spec cmd_exec_options[];
extern const struct opt_spec cmd_models_options[];
extern const struct opt_spec cmd_doctor_options[];
extern const struct opt_spec cmd_tool_options[];
extern const struct opt_spec cmd_trust_options[];
extern const struct opt_spec cmd_contracts_options[];
extern const struct opt_spec cmd_sessions_options[];
extern const struct opt_spec cmd_hook_options[];

static void print_options(const struct opt_spec *s, FILE *out);

const struct cmd cmd_table[] = {
	{ "bootstrap", cmd_bootstrap, "print the project context the agent starts with",
	  "forja bootstrap [--json] [--budget TOKENS] [--no-cache]",
	  "Scans the repository (branch, HEAD, upstream, status, recent commits,\n"
	  "languages, build and test commands, AGENTS.md files, README head,\n"
	  "submodules) and prints it compactly within a token budget, or in full\n"
	  "as JSON.  Results are cached by repository state in the state database.",
	  cmd_bootstrap_options, NULL },
	{ "exec", cmd_exec, "send one prompt to the model and stream the answer",
	  "forja exec [OPTIONS] PROMPT...",
	  "Sends the project context (the bootstrap) as the system prompt and\n"
	  "PROMPT as the user message; when stdin is not a terminal, what it\n"
	  "holds is attached to the prompt (or is the prompt when none is given).\n"
	  "The answer streams to stdout; reasoning, retry notices and errors go\n"
	  "to stderr.  With --json, every event is one JSON object per line.",
	  cmd_exec_options, app_provider_options },
	{ "models", cmd_models, "list the models the provider offers",
	  "forja models [--provider NAME] [--base-url URL] [--json]", NULL,
	  cmd_models_options, app_provider_options },
	{ "doctor", cmd_doctor, "check config, provider, key, reachability and sandbox support",
	  "forja doctor [--provider NAME] [--model MODEL] [--base-url URL]",
	  "Prints one line per check with its verdict (ok, warn, FAIL) and exits\n"
	  "non-zero when a check failed.  The API key is never printed.",
	  cmd_doctor_options, app_provider_options },
	{ "contracts", cmd_contracts, "list, show and check the tool contracts",
	  "forja contracts [list | show NAME | check [PATH...]] [--json]",
	  "list (the default) prints each loaded contract: name, kind, approval\n"
	  "and file.  show NAME prints the tool definition the model sees.  check\n"
	  "checks the loaded contracts, or the files given, and prints every\n"
	  "problem as file:line:col; it exits 1 when there is one.  Contracts come\n"
	  "from forja's own directory and ~/.config/forja/contracts; see\n"
	  "forja-contracts(5) for the format.",
	  cmd_contracts_options, app_common_options },
	{ "tool", cmd_tool, "run one tool call as the agent would, and record it",
	  "forja tool NAME [--args JSON|-] [--session ID] [--sandbox MODE] [--json]",
	  "Finds NAME's contract, validates the arguments (JSON; - reads them from\n"
	  "stdin) against its schema, runs the tool in the sandbox mode without\n"
	  "asking, prints its output and records the call in the audit.  Exit 0\n"
	  "when it succeeded, 1 when the tool failed, 5 when the call was refused.",
	  cmd_tool_options, app_tool_options },
	{ "trust", cmd_trust, "trust this project's own config and contracts, or stop",
	  "forja trust [--revoke | --list]",
	  "A project's .forja/config.json may only tighten settings and its\n"
	  ".forja/contracts are not loaded until you trust the project: they come\n"
	  "with the repository, which may come from anyone.  Trust is kept in the\n"
	  "state database by the project's resolved root.",
	  cmd_trust_options, NULL },
	{ "sessions", cmd_sessions, "list, show, export, remove or resume past conversations",
	  "forja sessions [list [--all] [--ids] | show ID | export ID [--markdown] |\n"
	  "                       rm ID... | resume ID] [--json]",
	  "list (the default) prints this project's sessions, the most recently\n"
	  "updated first: short id, last update, number of messages, model and\n"
	  "title; --all lists every project's, with its project; --ids prints only\n"
	  "the full ids.  show ID prints a session's conversation, with each tool\n"
	  "call on one line; export ID writes it as Markdown, or with --json as the\n"
	  "same JSON as show --json.  rm removes sessions and everything recorded\n"
	  "in them, the audit of their tool calls included.  resume ID continues a\n"
	  "session in the interactive session.  ID is the full id or a unique\n"
	  "prefix of at least 4 of its hex digits.",
	  cmd_sessions_options, app_common_options },
	{ "hook", cmd_hook, "install, remove, list or run forja's git hooks",
	  "forja hook [install [HOOK...] | uninstall [HOOK...] | list | run HOOK [ARGS...]]",
	  "HOOK is pre-commit (the staged changes reviewed by the agent, read-only;\n"
	  "findings printed as path:line: severity: message, blocking the commit only\n"
	  "from the severity in the config's hooks.block_on) or prepare-commit-msg\n"
	  "(a message drafted from the diff being committed, unless one was given).\n"
	  "install writes a small script in the hooks directory (core.hooksPath, or\n"
	  "the common git directory's hooks/); a hook already there is kept as\n"
	  "HOOK.forja-chained and runs first.  uninstall puts it back.  list shows\n"
	  "each hook: forja, other or none, and its path.  run is what the scripts\n"
	  "call.  A hook waits at most hooks.timeout_ms for the model and never\n"
	  "blocks a commit because forja failed; FORJA_SKIP=1 skips it.",
	  cmd_hook_options, app_provider_options },
	{ "help", cmd_help, "show help for forja or for one command",
	  "forja help [COMMAND]", NULL, NULL, NULL },
};
const size_t cmd_count = sizeof cmd_table / sizeof cmd_table[0];

const struct opt_spec cmd_global_options[] = {
	{ NULL, 'C', OPT_VALUE, CMD_OPT_CHDIR, "DIR", "run as if forja was started in DIR" },
	{ "version", 0, OPT_FLAG, CMD_OPT_VERSION, NULL, "print the version and exit" },
	{ "sandbox", 0, OPT_VALUE, APP_OPT_SANDBOX, "MODE",
	  "what tool calls may do: read-only, workspace-write (default) or danger-full-access" },
	{ "approvals", 0, OPT_VALUE, APP_OPT_APPROVALS, "MODE",
	  "ask: calls that need approval wait for you (default on a terminal); auto: they run" },
	{ "continue", 0, OPT_FLAG, CMD_OPT_CONTINUE, NULL,
	  "continue the latest session of this project" },
	{ 0 },
};

void cmd_print_usage(FILE *out)
{
	fprintf(out,
		"usage: forja [-C DIR] [--sandbox MODE] [--approvals MODE] [--continue]\n"
		"             [--provider NAME] [--model MODEL] [--base-url URL] [--json]\n"
		"             [--color=WHEN] [-q] [-v] [COMMAND [ARGS]]\n"
		"\n"
		"forja is a terminal coding agent: it reads the repository it runs in,\n"
		"talks to an LLM and runs the model's tool calls under contracts in a sandbox.\n"
		"With no command it starts an interactive session in this project.\n"
		"\n"
		"Commands:\n");
	for (size_t i = 0; i < cmd_count; i++)
		fprintf(out, "  %-12s %s\n", cmd_table[i].name, cmd_table[i].summary);
	fprintf(out, "\nGlobal options:\n");
	print_options(cmd_global_options, out);
	print_options(app_provider_options, out);
	fprintf(out,
		"\nRun 'forja help COMMAND' for a command's options; 'man forja' for the manual.\n"
		"Exit codes: 0 ok, 1 failed, 2 usage, 3 config or auth, 4 provider unreachable,\n"
		"5 denied, 130 interrupted.\n");
}

int cmd_unknown(const struct app *app, const char *context, const char *name)
{
	const char *names[64];
	size_t n = 0;
	struct ferr e = FERR_INIT;

	for (size_t i = 0; i < cmd_count && n < 64; i++)
		names[n++] = cmd_table[i].name;
	const char *hint = opt_suggest(name, names, n);
	if (hint)
		ferr_set(&e, FERR_USAGE, "%s'%s' is not a forja command; did you mean '%s'?",
			 context, name, hint);
	else
		ferr_set(&e, FERR_USAGE, "%s'%s' is not a forja command; see 'forja --help'",
			 context, name);
	app_print_error(app, &e);
	return EXIT_USAGE;
}

const struct cmd *cmd_find(const char *name)
{
	for (size_t i = 0; i < cmd_count; i++)
		if (strcmp(cmd_table[i].name, name) == 0)
			return &cmd_table[i];
	return NULL;
}

static void print_options(const struct opt_spec *s, FILE *out)
{
	for (; s && s->id; s++) {
		char left[64];
		const char *eq = s->arg == OPT_VALUE ? " " : "";
		const char *mv = s->arg == OPT_VALUE ? s->metavar : "";
		if (s->name && s->short_name)
			snprintf(left, sizeof left, "-%c, --%s%s%s", s->short_name, s->name, eq, mv);
		else if (s->name)
			snprintf(left, sizeof left, "--%s%s%s", s->name, eq, mv);
		else
			snprintf(left, sizeof left, "-%c%s%s", s->short_name, eq, mv);
		fprintf(out, "  %-24s %s\n", left, s->help);
	}
}

void cmd_print_help(const struct cmd *cmd, FILE *out)
{
	fprintf(out, "usage: %s\n\n%c%s.\n", cmd->usage,
		cmd->summary[0] >= 'a' && cmd->summary[0] <= 'z' ? cmd->summary[0] - 'a' + 'A' : cmd->summary[0],
		cmd->summary + 1);
	if (cmd->description)
		fprintf(out, "\n%s\n", cmd->description);
	if (cmd->options && cmd->options->id) {
		fprintf(out, "\nOptions:\n");
		print_options(cmd->options, out);
	}
	fprintf(out, "\nCommon options:\n");
	print_options(cmd->common ? cmd->common : app_common_options, out);
}

int cmd_parse_no_operands(const struct cmd *cmd, struct app *app, int argc, char **argv)
{
	struct opt_state st;
	struct ferr e = FERR_INIT;
	int id, rc = EXIT_OK;

	opt_init(&st, argc, argv, cmd->name);
	st.common = cmd->common ? cmd->common : app_common_options;
	while ((id = cmd_next_option(cmd, app, &st, &rc)) != OPT_END) {
		if (id == OPT_ERROR)
			return rc;
		if (id == OPT_POSITIONAL) {
			ferr_set(&e, FERR_USAGE, "%s: unexpected argument '%s'", cmd->name, st.value);
			app_print_error(app, &e);
			return EXIT_USAGE;
		}
	}
	return -1;
}

int cmd_next_option(const struct cmd *cmd, struct app *app, struct opt_state *st,
		    int *exit_code)
{
	struct ferr e = FERR_INIT;
	static const struct opt_spec none[] = { { 0 } };
	int id = opt_next(st, cmd->options ? cmd->options : none, &e);

	if (id == OPT_ERROR) {
		app_print_error(app, &e);
		*exit_code = ferr_exit_code(e.cls);
		return OPT_ERROR;
	}
	if (id == APP_OPT_HELP) {
		cmd_print_help(cmd, stdout);
		*exit_code = EXIT_OK;
		return OPT_ERROR;
	}
	if (id >= APP_OPT_JSON && id != APP_OPT_HELP) {
		if (app_common_option(app, id, st->value, &e) != 0) {
			app_print_error(app, &e);
			*exit_code = ferr_exit_code(e.cls);
			return OPT_ERROR;
		}
		return cmd_next_option(cmd, app, st, exit_code);
	}
	return id;
}

/*
 * tool.c — `forja tool NAME --args JSON`: one tool call run exactly as the
 * agent would run it — the contract found, the arguments validated, the
 * call made under the sandbox mode, the result printed and the call
 * recorded in the audit — for scripts and tests.  The person typed the
 * command, so nothing is asked; a refusal exits 5.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "forja/bootstrap.h"
#include "forja/cmd.h"
#include "forja/config.h"
#include "forja/contract.h"
#include "forja/executor.h"
#include "forja/jail.h"
#include "forja/json.h"
#include "forja/pathpol.h"
#include "forja/store.h"
#include "forja/tools.h"
#include "forja/utf8.h"

#define ARGS_STDIN_MAX (1024 * 1024)

enum { OPT_ARGS = 1, OPT_SESSION };

const struct opt_spec cmd_tool_options[] = {
	{ "args", 0, OPT_VALUE, OPT_ARGS, "JSON", "the call's arguments as JSON, or - to read them from stdin" },
	{ "session", 0, OPT_VALUE, OPT_SESSION, "ID", "record the call in this session (default: a new one)" },
	{ 0 },
};

static int read_all_stdin(struct buf *out, struct ferr *e)
{
	char chunk[65536];

	for (;;) {
		ssize_t n = read(STDIN_FILENO, chunk, sizeof chunk);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return ferr_set(e, FERR_IO, "reading the arguments from stdin: %s", strerror(errno));
		if (n == 0)
			return 0;
		if (out->len + (size_t)n > ARGS_STDIN_MAX)
			return ferr_set(e, FERR_USAGE, "tool: the arguments on stdin are over %d KiB",
					ARGS_STDIN_MAX / 1024);
		buf_add(out, chunk, (size_t)n);
	}
}

static int unknown_tool(const struct app *app, const struct contract_set *set, const char *name)
{
	const char *names[256];
	size_t n = 0;
	struct ferr e = FERR_INIT;

	for (size_t i = 0; i < set->count && n < 256; i++)
		names[n++] = set->items[i].name;
	const char *hint = opt_suggest(name, names, n);
	if (hint)
		ferr_set(&e, FERR_USAGE, "tool: no contract named '%s'; did you mean '%s'?", name, hint);
	else
		ferr_set(&e, FERR_USAGE, "tool: no contract named '%s'; see 'forja contracts list'",
			 name);
	app_print_error(app, &e);
	return EXIT_USAGE;
}

/* Open the audit and settle the session before the call: a session named
 * but unknown is a usage error, found before anything runs.  A database
 * that cannot be opened is a warning: the call runs unrecorded. */
static int audit_open(const struct app *app, const char *session, struct store **st,
		      char used[33], struct ferr *e)
{
	const char *db = getenv("FORJA_DB");
	struct ferr we = FERR_INIT;
	bool exists = false;

	used[0] = '\0';
	if (store_open(db && *db ? db : NULL, st, &we) != 0) {
		if (app->verbosity >= 0)
			fprintf(stderr, "forja: warning: the call will not be in the audit: %s\n", we.msg);
		*st = NULL;
		return 0;
	}
	if (!session)
		return 0;
	if (store_session_exists(*st, session, &exists, e) != 0)
		return -1;
	if (!exists)
		return ferr_set(e, FERR_USAGE, "tool: no session '%s' in %s", session, store_path(*st));
	snprintf(used, 33, "%s", session);
	return 0;
}

/* The call's record, in the session settled by audit_open() or a new one. */
static void audit(const struct app *app, struct store *st, const char *tool, const cJSON *args,
		  const struct tool_result *r, long long duration, char used[33], long long *row)
{
	struct ferr e = FERR_INIT;
	char *argtext = cJSON_PrintUnformatted(args);
	struct store_change *changes = xcalloc(r->nchanges + 1, sizeof *changes);

	*row = -1;
	if (!st)
		goto out;
	if (!used[0] && store_session_new(st, "tool", app->cwd, used, &e) != 0)
		goto warn;
	for (size_t i = 0; i < r->nchanges; i++) {
		changes[i].path = r->changes[i].path;
		changes[i].existed = r->changes[i].existed;
		changes[i].mode = r->changes[i].mode_before;
		changes[i].before = r->changes[i].before.data;
		changes[i].before_len = r->changes[i].before.len;
	}
	struct store_audit a = {
		used, tool, argtext ? argtext : "{}", app->sandbox_name, "user", (int)r->status,
		r->output.len, (unsigned long long)duration, changes, r->nchanges,
	};
	if (store_audit_add(st, &a, row, &e) == 0)
		goto out;
warn:
	if (app->verbosity >= 0)
		fprintf(stderr, "forja: warning: the call is not in the audit: %s\n", e.msg);
out:
	free(changes);
	free(argtext);
}

int cmd_tool(struct app *app, int argc, char **argv)
{
	const struct cmd *self = cmd_find("tool");
	struct opt_state st;
	struct ferr e = FERR_INIT;
	const char *name = NULL, *args_text = NULL, *session = NULL;
	struct buf args_in = BUF_INIT, problems = BUF_INIT;
	struct contract_set set;
	struct executor x;
	struct exec_call call;
	struct exec_outcome outcome;
	struct tool_result r;
	struct store *store = NULL;
	char *root = NULL;
	char used[33] = "";
	long long row = -1;
	int id, rc = EXIT_OK;

	memset(&set, 0, sizeof set);
	memset(&r, 0, sizeof r);
	memset(&x, 0, sizeof x);
	x.ws.root_fd = -1;
	memset(&call, 0, sizeof call);
	memset(&outcome, 0, sizeof outcome);
	opt_init(&st, argc, argv, "tool");
	st.common = app_tool_options;
	while ((id = cmd_next_option(self, app, &st, &rc)) != OPT_END) {
		switch (id) {
		case OPT_ERROR:
			return rc;
		case OPT_ARGS:
			args_text = st.value;
			break;
		case OPT_SESSION:
			session = st.value;
			break;
		case OPT_POSITIONAL:
			if (name) {
				ferr_set(&e, FERR_USAGE, "tool: one tool at a time, got '%s' and '%s'",
					 name, st.value);
				goto fail;
			}
			name = st.value;
			break;
		}
	}
	if (!name) {
		ferr_set(&e, FERR_USAGE, "tool: which tool?  usage: %s", self->usage);
		goto fail;
	}
	if (args_text && strcmp(args_text, "-") == 0) {
		if (read_all_stdin(&args_in, &e) != 0)
			goto fail;
	} else {
		buf_puts(&args_in, args_text ? args_text : "{}");
	}

	if (contract_set_load(app->cwd, &set, &problems, &e) < 0)
		goto fail;
	if (problems.len && app->verbosity >= 0)
		fprintf(stderr, "forja: warning: some contracts were not loaded:\n%s", problems.data);
	buf_reset(&problems);
	const struct contract *c = contract_find(&set, name);
	if (!c) {
		rc = unknown_tool(app, &set, name);
		goto out;
	}
	root = bootstrap_project_root(app->cwd);
	if (!app->sandbox_given) {
		/* the config's mode, a project's only when stricter */
		struct config cfg;
		if (config_load(root, &cfg, &e) != 0)
			goto fail;
		if (app->verbosity >= 0)
			for (size_t i = 0; i < cfg.nwarnings; i++)
				fprintf(stderr, "forja: warning: %s\n", cfg.warnings[i]);
		if (cfg.sandbox) {
			struct ferr ignored = FERR_INIT;
			app_common_option(app, APP_OPT_SANDBOX, cfg.sandbox, &ignored);
		}
		config_release(&cfg);
	}
	if (executor_open(&x, root ? root : app->cwd, app->sandbox, &set, &e) != 0)
		goto fail;
	if (executor_prepare(&x, name, args_in.data, args_in.len, &call, &problems, &e) < 0)
		goto fail;
	if (!call.args || (!call.summary && problems.len)) {
		ferr_set(&e, call.args || !call.c ? FERR_DENIED : FERR_USAGE, "tool %s: %s", name, problems.data);
		goto fail;
	}
	if (audit_open(app, session, &store, used, &e) != 0)
		goto fail;
	if (call.jailed && !call.forbidden) {
		executor_probe(&x);
		if (app->sandbox == SANDBOX_DANGER_FULL_ACCESS && x.caps.why[0] && app->verbosity >= 0)
			fprintf(stderr, "forja: warning: danger-full-access: running without:\n%s", x.caps.why);
	}
	if (executor_run(&x, &call, NULL, NULL, -1, &r, &outcome, &e) != 0)
		goto fail;
	audit(app, store, name, call.args, &r, outcome.duration_ms, used, &row);

	if (app->json) {
		struct buf j = BUF_INIT;
		static const char *const status_names[] = { "ok", "failed", "denied" };
		buf_puts(&j, "{\"tool\":");
		json_put_string(&j, name, strlen(name));
		buf_printf(&j, ",\"status\":\"%s\",\"output\":", status_names[r.status]);
		json_put_string(&j, buf_cstr(&r.output), r.output.len);
		buf_printf(&j, ",\"cut_bytes\":%llu,\"changes\":[", (unsigned long long)r.cut_bytes);
		for (size_t i = 0; i < r.nchanges; i++) {
			buf_puts(&j, i ? ",{\"path\":" : "{\"path\":");
			json_put_string(&j, r.changes[i].path, strlen(r.changes[i].path));
			buf_printf(&j, ",\"existed\":%s}", r.changes[i].existed ? "true" : "false");
		}
		buf_puts(&j, "],\"session\":");
		if (used[0])
			json_put_string(&j, used, strlen(used));
		else
			buf_puts(&j, "null");
		buf_printf(&j, ",\"audit_id\":%lld}\n", row);
		fwrite(j.data, 1, j.len, stdout);
		buf_release(&j);
	} else {
		fwrite(buf_cstr(&r.output), 1, r.output.len, stdout);
		if (r.output.len && r.output.data[r.output.len - 1] != '\n')
			putchar('\n');
	}
	rc = r.status == TOOL_OK ? EXIT_OK : r.status == TOOL_DENIED ? EXIT_DENIED : EXIT_FAILED;
	goto out;
fail:
	app_print_error(app, &e);
	rc = ferr_exit_code(e.cls);
out:
	tool_result_release(&r);
	exec_outcome_release(&outcome);
	exec_call_release(&call);
	executor_close(&x);
	store_close(store);
	contract_set_release(&set);
	buf_release(&args_in);
	buf_release(&problems);
	free(root);
	return rc;
}

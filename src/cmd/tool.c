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
#include "forja/contract.h"
#include "forja/json.h"
#include "forja/pathpol.h"
#include "forja/store.h"
#include "forja/tools.h"

#define ARGS_STDIN_MAX (1024 * 1024)

enum { OPT_ARGS = 1, OPT_SESSION };

const struct opt_spec cmd_tool_options[] = {
	{ "args", 0, OPT_VALUE, OPT_ARGS, "JSON", "the call's arguments as JSON, or - to read them from stdin" },
	{ "session", 0, OPT_VALUE, OPT_SESSION, "ID", "record the call in this session (default: a new one)" },
	{ 0 },
};

typedef int (*tool_fn)(const struct tool_ctx *, const cJSON *, struct tool_result *, struct ferr *);

static const struct {
	const char *name;
	tool_fn fn;
} builtins[] = {
	{ "read_file", tool_read_file }, { "write_file", tool_write_file },
	{ "edit_file", tool_edit_file }, { "list_dir", tool_list_dir },
	{ "glob", tool_glob }, { "grep", tool_grep }, { "apply_patch", tool_apply_patch },
};

static tool_fn builtin_fn(const char *name)
{
	for (size_t i = 0; i < sizeof builtins / sizeof *builtins; i++)
		if (strcmp(builtins[i].name, name) == 0)
			return builtins[i].fn;
	return NULL;
}

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

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
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
	struct pathpol ws = { -1, NULL, false };
	struct tool_result r;
	struct store *store = NULL;
	cJSON *args = NULL;
	char *root = NULL;
	char used[33] = "";
	long long row = -1;
	int id, rc = EXIT_OK;

	memset(&set, 0, sizeof set);
	memset(&r, 0, sizeof r);
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
	if (contract_validate_args(c, args_in.data, args_in.len, &args, &problems) != 0) {
		while (problems.len && problems.data[problems.len - 1] == '\n')
			buf_truncate(&problems, problems.len - 1);
		ferr_set(&e, FERR_USAGE, "tool %s: the arguments do not fit its contract:\n%s", name,
			 problems.data);
		goto fail;
	}
	if (c->kind != CONTRACT_KIND_BUILTIN) {
		ferr_set(&e, FERR_DENIED,
			 "tool %s: command tools run only under the process jail, which this build "
			 "cannot apply yet; nothing was run", name);
		goto fail;
	}
	tool_fn fn = builtin_fn(name);
	if (!fn) {
		ferr_set(&e, FERR_DENIED, "tool %s: this build has no built-in tool of that name; nothing was run",
			 name);
		goto fail;
	}
	root = bootstrap_project_root(app->cwd);
	if (pathpol_open_root(root ? root : app->cwd, &ws, &e) != 0)
		goto fail;
	if (audit_open(app, session, &store, used, &e) != 0)
		goto fail;

	struct tool_ctx ctx = { 0 };
	ctx.ws = &ws;
	ctx.read_only = app->sandbox == SANDBOX_READ_ONLY;
	ctx.max_output_bytes = (uint64_t)c->limits.max_output_bytes;
	ctx.max_file_bytes = (uint64_t)c->limits.max_file_bytes;
	long long t0 = now_ms();
	if (fn(&ctx, args, &r, &e) != 0)
		goto fail;
	audit(app, store, name, args, &r, now_ms() - t0, used, &row);

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
	store_close(store);
	pathpol_release(&ws);
	cJSON_Delete(args);
	contract_set_release(&set);
	buf_release(&args_in);
	buf_release(&problems);
	free(root);
	return rc;
}

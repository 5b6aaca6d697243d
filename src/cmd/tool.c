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

static void push(const char ***list, size_t *n, const char *s)
{
	*list = xrealloc(*list, (*n + 2) * sizeof **list);
	(*list)[(*n)++] = s;
	(*list)[*n] = NULL;
}

static void add_output(struct buf *out, const char *what, const struct jail_output *o)
{
	if (!o->total)
		return;
	if (what)
		buf_printf(out, "%s[%s]\n", out->len && out->data[out->len - 1] != '\n' ? "\n" : "", what);
	if (o->cut) {
		buf_add(out, o->data.data, o->cut_at);
		buf_printf(out, "%s[… %llu bytes cut …]\n", o->cut_at && o->data.data[o->cut_at - 1] != '\n' ? "\n" : "",
			   (unsigned long long)o->cut);
		buf_add(out, o->data.data + o->cut_at, o->data.len - o->cut_at);
	} else {
		buf_add(out, buf_cstr(&o->data), o->data.len);
	}
}

/* A command — a command contract's expanded argv, or the run tool's —
 * under the jail, with what the contract declares and nothing more. */
static int run_jailed(const struct app *app, const struct contract *c, char *const *argv,
		      const char *root, long timeout_ms, struct tool_result *r, struct ferr *e)
{
	struct jail_spec s;
	struct jail_result res;
	struct jail_caps caps;
	const char **ro = NULL, **rw = NULL, **hide = NULL, **env = NULL;
	size_t nro = 0, nrw = 0, nhide = 0, nenv = 0;
	struct buf *paths = xcalloc(c->effects.nread + c->effects.nwrite + 1, sizeof *paths);
	size_t np = 0;
	struct buf cfgdir = BUF_INIT, statedir = BUF_INIT, clean = BUF_INIT;
	const char *xdg_c = getenv("XDG_CONFIG_HOME"), *xdg_s = getenv("XDG_STATE_HOME");
	const char *home = getenv("HOME");
	int rc = -1;

	memset(&s, 0, sizeof s);
	memset(&res, 0, sizeof res);
	memset(&caps, 0, sizeof caps);
	/* The project is visible already.  It is writable when the contract
	 * may write anywhere in it (the jail cannot make only part of it
	 * writable), else it is bound read-only; paths outside it are added
	 * read-only or writable as declared. */
	bool writes_project = false;
	size_t rootlen = strlen(root);
	for (size_t i = 0; i < c->effects.nread + c->effects.nwrite; i++) {
		bool w = i >= c->effects.nread;
		const char *p = w ? c->effects.write[i - c->effects.nread] : c->effects.read[i];
		struct buf *b = &paths[np];
		if (contract_resolve_path(p, root, b, e) != 0)
			goto out;
		while (b->len > 1 && (b->data[b->len - 1] == '/' ||
				      (b->len >= 2 && strcmp(b->data + b->len - 2, "/.") == 0)))
			buf_truncate(b, b->data[b->len - 1] == '/' ? b->len - 1 : b->len - 2);
		bool inside = strncmp(b->data, root, rootlen) == 0 &&
			      (b->data[rootlen] == '\0' || b->data[rootlen] == '/');
		np++;
		if (inside) {
			writes_project |= w;
			continue;
		}
		push(w ? &rw : &ro, w ? &nrw : &nro, b->data);
	}
	if (!writes_project)
		push(&ro, &nro, root);
	/* forja's own files are never visible to a tool */
	if (xdg_c && *xdg_c == '/')
		buf_printf(&cfgdir, "%s/forja", xdg_c);
	else if (home)
		buf_printf(&cfgdir, "%s/.config/forja", home);
	if (xdg_s && *xdg_s == '/')
		buf_printf(&statedir, "%s/forja", xdg_s);
	else if (home)
		buf_printf(&statedir, "%s/.local/state/forja", home);
	if (cfgdir.len)
		push(&hide, &nhide, cfgdir.data);
	if (statedir.len)
		push(&hide, &nhide, statedir.data);
	/* only what the contract lists, and never a secret (the jail drops
	 * those again) */
	for (size_t i = 0; i < c->nenv; i++) {
		const char *v = getenv(c->env[i]);
		if (!v)
			continue;
		struct buf *kv = xcalloc(1, sizeof *kv);
		buf_printf(kv, "%s=%s", c->env[i], v);
		push(&env, &nenv, buf_steal(kv));
		free(kv);
	}
	if (!env)
		push(&env, &nenv, xstrdup("PATH=/usr/local/bin:/usr/bin:/bin"));
	jail_probe(&caps);
	s.argv = (const char *const *)argv;
	s.workspace = root;
	s.ro_paths = ro;
	s.rw_paths = rw;
	s.hide_paths = hide;
	s.env = env;
	s.network = c->effects.network;
	s.timeout_ms = timeout_ms;
	s.max_output_bytes = (uint64_t)c->limits.max_output_bytes;
	s.memory_bytes = (uint64_t)c->limits.memory_mb * 1024 * 1024;
	s.max_file_bytes = (uint64_t)c->limits.max_file_bytes;
	s.max_processes = (long)c->limits.max_processes;
	s.cancel_fd = -1;
	s.caps = &caps;
	if (app->sandbox == SANDBOX_DANGER_FULL_ACCESS) {
		/* the explicit, loud way to run where a layer is missing */
		s.allow_missing = ~0u;
		if (caps.why[0] && app->verbosity >= 0)
			fprintf(stderr, "forja: warning: danger-full-access: running without:\n%s", caps.why);
	}
	if (jail_run(&s, &res, e) != 0) {
		if (e->cls != FERR_DENIED)
			goto out;
		r->status = TOOL_DENIED;
		buf_puts(&r->output, e->msg);
		ferr_clear(e);
		rc = 0;
		goto out;
	}
	add_output(&r->output, NULL, &res.out);
	add_output(&r->output, "stderr", &res.err);
	if (r->output.len && r->output.data[r->output.len - 1] != '\n')
		buf_putc(&r->output, '\n');
	if (res.timed_out)
		buf_printf(&r->output, "[stopped: timed out after %ld ms]\n", timeout_ms);
	else if (res.oom_killed)
		buf_puts(&r->output, "[stopped: out of memory]\n");
	else if (res.output_killed)
		buf_puts(&r->output, "[stopped: far too much output]\n");
	else if (res.exec_errno)
		buf_printf(&r->output, "[could not run %s: %s]\n", argv[0], strerror(res.exec_errno));
	else if (res.signal)
		buf_printf(&r->output, "[killed by signal %d]\n", res.signal);
	else
		buf_printf(&r->output, "[exit %d]\n", res.exit_code);
	r->cut_bytes = res.out.cut + res.err.cut;
	r->status = res.exit_code == 0 && !res.signal && !res.timed_out ? TOOL_OK : TOOL_FAILED;
	/* what the model reads must be UTF-8 */
	if (!utf8_is_valid(buf_cstr(&r->output), r->output.len)) {
		utf8_sanitize(&clean, buf_cstr(&r->output), r->output.len);
		buf_release(&r->output);
		r->output = clean;
		clean = (struct buf)BUF_INIT;
	}
	rc = 0;
out:
	jail_result_release(&res);
	jail_caps_release(&caps);
	for (size_t i = 0; i < np; i++)
		buf_release(&paths[i]);
	free(paths);
	for (size_t i = 0; i < nenv; i++)
		free((char *)env[i]);
	free(env);
	free(ro);
	free(rw);
	free(hide);
	buf_release(&cfgdir);
	buf_release(&statedir);
	buf_release(&clean);
	return rc;
}

/* The run tool's argv: an array as given, a string through sh -c. */
static char **run_argv(const cJSON *args, size_t *argc)
{
	const cJSON *cmd = cJSON_GetObjectItemCaseSensitive(args, "command"), *item;
	char **argv;
	size_t n = 0;

	if (cJSON_IsString(cmd)) {
		argv = xcalloc(4, sizeof *argv);
		argv[0] = xstrdup("sh");
		argv[1] = xstrdup("-c");
		argv[2] = xstrdup(cmd->valuestring);
		*argc = 3;
		return argv;
	}
	argv = xcalloc((size_t)cJSON_GetArraySize(cmd) + 1, sizeof *argv);
	cJSON_ArrayForEach(item, cmd)
		argv[n++] = xstrdup(item->valuestring);
	*argc = n;
	return argv;
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
	bool jailed = c->kind == CONTRACT_KIND_COMMAND || strcmp(name, "run") == 0;
	tool_fn fn = jailed ? NULL : builtin_fn(name);
	if (!jailed && !fn) {
		ferr_set(&e, FERR_DENIED, "tool %s: this build has no built-in tool of that name; nothing was run",
			 name);
		goto fail;
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
	if (jailed) {
		char **cargv = NULL;
		size_t cargc = 0;
		long timeout = (long)c->limits.timeout_ms;
		const cJSON *t = cJSON_GetObjectItemCaseSensitive(args, "timeout_ms");
		if (c->kind == CONTRACT_KIND_COMMAND) {
			if (contract_expand_argv(c, args, &cargv, &cargc, &e) != 0)
				goto fail;
		} else {
			cargv = run_argv(args, &cargc);
			if (cJSON_IsNumber(t) && t->valuedouble >= 1 && t->valuedouble < (double)timeout)
				timeout = (long)t->valuedouble;
		}
		int jrc = 0;
		if (ctx.read_only) {
			/* the jail's project is writable: it cannot enforce read-only */
			r.status = TOOL_DENIED;
			buf_puts(&r.output, "the sandbox is read-only: commands cannot run in it");
		} else {
			jrc = run_jailed(app, c, cargv, ws.root, timeout, &r, &e);
		}
		contract_argv_free(cargv, cargc);
		if (jrc != 0)
			goto fail;
	} else if (fn(&ctx, args, &r, &e) != 0) {
		goto fail;
	}
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

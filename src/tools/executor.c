/*
 * executor.c — a tool call from name and arguments to a result: the
 * contract, the schema, the sandbox mode, the approval decision, then the
 * tool in process or the command in the jail.  See executor.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "forja/executor.h"
#include "forja/utf8.h"

typedef int (*tool_fn)(const struct tool_ctx *, const cJSON *, struct tool_result *, struct ferr *);

static const struct {
	const char *name;
	tool_fn fn;
	bool writes;
} builtins[] = {
	{ "read_file", tool_read_file, false }, { "write_file", tool_write_file, true },
	{ "edit_file", tool_edit_file, true }, { "list_dir", tool_list_dir, false },
	{ "glob", tool_glob, false }, { "grep", tool_grep, false },
	{ "apply_patch", tool_apply_patch, true },
};

static int builtin_index(const char *name)
{
	for (size_t i = 0; i < sizeof builtins / sizeof *builtins; i++)
		if (strcmp(builtins[i].name, name) == 0)
			return (int)i;
	return -1;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int executor_open(struct executor *x, const char *root, enum sandbox_mode mode,
		  const struct contract_set *set, struct ferr *e)
{
	const char *xdg_c = getenv("XDG_CONFIG_HOME"), *xdg_s = getenv("XDG_STATE_HOME");
	const char *home = getenv("HOME");
	struct buf b = BUF_INIT;

	memset(x, 0, sizeof *x);
	x->ws.root_fd = -1;
	x->caps.netns_fd = -1;
	x->mode = mode;
	x->set = set;
	if (pathpol_open_root(root, &x->ws, e) != 0)
		return -1;
	x->root = xstrdup(x->ws.root);
	/* forja's own files are never visible to a tool */
	if (xdg_c && *xdg_c == '/')
		buf_printf(&b, "%s/forja", xdg_c);
	else if (home)
		buf_printf(&b, "%s/.config/forja", home);
	if (b.len)
		x->cfgdir = buf_steal(&b);
	if (xdg_s && *xdg_s == '/')
		buf_printf(&b, "%s/forja", xdg_s);
	else if (home)
		buf_printf(&b, "%s/.local/state/forja", home);
	if (b.len)
		x->statedir = buf_steal(&b);
	buf_release(&b);
	return 0;
}

void executor_close(struct executor *x)
{
	pathpol_release(&x->ws);
	if (x->probed)
		jail_caps_release(&x->caps);
	free(x->root);
	free(x->cfgdir);
	free(x->statedir);
	memset(x, 0, sizeof *x);
	x->ws.root_fd = -1;
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
		argv[n++] = xstrdup(cJSON_IsString(item) ? item->valuestring : "");
	*argc = n;
	return argv;
}

static const char *arg_str(const cJSON *args, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(args, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* Text for one line on a terminal: no control characters, cut at max. */
static void one_line(struct buf *out, const char *s, size_t max)
{
	struct buf clean = BUF_INIT;
	size_t start = out->len;

	utf8_sanitize(&clean, s, strlen(s));
	for (size_t i = 0; i < clean.len; i++) {
		unsigned char c = (unsigned char)clean.data[i];
		buf_putc(out, c < 0x20 || c == 0x7f ? ' ' : (char)c);
	}
	buf_release(&clean);
	if (out->len - start > max) {
		size_t cut = start + max;
		while (cut > start && ((unsigned char)out->data[cut] & 0xc0) == 0x80)
			cut--;
		buf_truncate(out, cut);
		buf_puts(out, "…");
	}
}

static bool read_now(struct executor *x, const char *path, struct buf *out);

static void describe(struct executor *x, struct exec_call *call)
{
	struct buf s = BUF_INIT, p = BUF_INIT;
	const char *name = call->c->name;
	const char *path = arg_str(call->args, "path");

	buf_puts(&s, name);
	if (call->jailed) {
		buf_puts(&s, ": ");
		bool shell = call->argc == 3 && strcmp(call->argv[0], "sh") == 0 &&
			     strcmp(call->argv[1], "-c") == 0;
		if (shell) {
			one_line(&s, call->argv[2], 200);
			buf_printf(&p, "sh -c ");
			contract_shell_quote(&p, call->argv[2]);
		} else {
			struct buf q = BUF_INIT;
			for (size_t i = 0; i < call->argc; i++) {
				if (i)
					buf_putc(&q, ' ');
				contract_shell_quote(&q, call->argv[i]);
			}
			one_line(&s, buf_cstr(&q), 200);
			buf_add(&p, q.data, q.len);
			buf_release(&q);
		}
		buf_printf(&p, "\n(in %s; %s, time limit %ld s)", call->c->effects.network ? "the sandbox with network" : "the sandbox, no network",
			   call->writes ? "may write the workspace" : "read-only", call->timeout_ms / 1000);
	} else {
		const char *extra = path ? path : arg_str(call->args, "pattern");
		if (extra) {
			buf_putc(&s, ' ');
			one_line(&s, extra, 200);
		}
		if (strcmp(name, "edit_file") == 0 || strcmp(name, "write_file") == 0) {
			/* what the file would become, as a diff against what it is */
			struct buf now = BUF_INIT, after = BUF_INIT;
			bool exists = path && read_now(x, path, &now);
			if (strcmp(name, "write_file") == 0) {
				const char *c = arg_str(call->args, "content");
				buf_puts(&after, c ? c : "");
			} else {
				const char *o = arg_str(call->args, "old_string"), *n = arg_str(call->args, "new_string");
				const cJSON *all = cJSON_GetObjectItemCaseSensitive(call->args, "replace_all");
				size_t ol = o ? strlen(o) : 0;
				const char *t = buf_cstr(&now), *end = t + now.len;
				bool done = false;
				while (ol && t < end) {
					const char *hit = memmem(t, (size_t)(end - t), o, ol);
					if (!hit || (done && !cJSON_IsTrue(all)))
						break;
					buf_add(&after, t, (size_t)(hit - t));
					buf_puts(&after, n ? n : "");
					t = hit + ol;
					done = true;
				}
				buf_add(&after, t, (size_t)(end - t));
			}
			exec_diff(&p, path ? path : "?", exists ? buf_cstr(&now) : NULL, now.len, buf_cstr(&after),
				  after.len, 3, 0);
			buf_release(&now);
			buf_release(&after);
		} else if (strcmp(name, "apply_patch") == 0) {
			const char *patch = arg_str(call->args, "patch");
			buf_puts(&p, patch ? patch : "");
		} else {
			char *a = cJSON_PrintUnformatted(call->args);
			buf_printf(&p, "%s %s", name, a ? a : "{}");
			free(a);
		}
	}
	call->summary = buf_steal(&s);
	call->preview = buf_steal(&p);
	buf_release(&s);
	buf_release(&p);
}

int executor_prepare(struct executor *x, const char *name, const char *args, size_t len,
		     struct exec_call *call, struct buf *problem, struct ferr *e)
{
	struct buf probs = BUF_INIT;
	const struct contract *c;

	memset(call, 0, sizeof *call);
	c = contract_find(x->set, name);
	if (!c) {
		buf_printf(problem, "there is no tool named '%s'; the tools are:", name);
		for (size_t i = 0; i < x->set->count; i++)
			buf_printf(problem, "%s %s", i ? "," : "", x->set->items[i].name);
		return 1;
	}
	call->c = c;
	if (contract_validate_args(c, args, len, &call->args, &probs) != 0) {
		while (probs.len && probs.data[probs.len - 1] == '\n')
			buf_truncate(&probs, probs.len - 1);
		buf_printf(problem, "the arguments do not fit the %s tool's schema:\n%s", name,
			   buf_cstr(&probs));
		buf_release(&probs);
		return 1;
	}
	buf_release(&probs);
	call->jailed = c->kind == CONTRACT_KIND_COMMAND || strcmp(c->name, "run") == 0;
	if (!call->jailed && builtin_index(c->name) < 0) {
		buf_printf(problem, "forja has no built-in tool '%s' (its contract names one this build lacks)",
			   c->name);
		return 1;
	}
	call->spawns = call->jailed;
	call->writes = call->jailed ? c->effects.nwrite > 0 : builtins[builtin_index(c->name)].writes;
	call->timeout_ms = (long)c->limits.timeout_ms;
	if (call->jailed) {
		if (c->kind == CONTRACT_KIND_COMMAND) {
			struct ferr ae = FERR_INIT;
			if (contract_expand_argv(c, call->args, &call->argv, &call->argc, &ae) != 0) {
				buf_puts(problem, ae.msg);
				return 1;
			}
		} else {
			const cJSON *t = cJSON_GetObjectItemCaseSensitive(call->args, "timeout_ms");
			call->argv = run_argv(call->args, &call->argc);
			if (!call->argc) {
				buf_puts(problem, "run: the command is empty");
				return 1;
			}
			if (cJSON_IsNumber(t) && t->valuedouble >= 1 && t->valuedouble < (double)call->timeout_ms)
				call->timeout_ms = (long)t->valuedouble;
		}
	}
	if (x->mode == SANDBOX_READ_ONLY && (call->writes || call->spawns))
		call->forbidden = xstrdup(call->spawns
			? "the sandbox is read-only: commands cannot run in it (start forja with --sandbox workspace-write to allow them)"
			: "the sandbox is read-only: files cannot be written (start forja with --sandbox workspace-write to allow it)");
	describe(x, call);
	(void)e;
	return 0;
}

void exec_call_release(struct exec_call *call)
{
	cJSON_Delete(call->args);
	contract_argv_free(call->argv, call->argc);
	free(call->summary);
	free(call->preview);
	free(call->forbidden);
	memset(call, 0, sizeof *call);
}

enum exec_decision executor_decide(const struct exec_call *call)
{
	if (call->forbidden)
		return EXEC_DENY;
	switch (call->c->approval) {
	case CONTRACT_APPROVAL_NONE:
		return EXEC_RUN;
	case CONTRACT_APPROVAL_ON_WRITE:
		return call->writes || call->spawns ? EXEC_ASK : EXEC_RUN;
	case CONTRACT_APPROVAL_ALWAYS:
		break;
	}
	return EXEC_ASK;
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
static int run_jailed(struct executor *x, const struct exec_call *call,
		      void (*on_output)(void *, int, const char *, size_t), void *ctx, int cancel_fd,
		      struct tool_result *r, struct exec_outcome *o, struct ferr *e)
{
	const struct contract *c = call->c;
	const char *root = x->root;
	struct jail_spec s;
	struct jail_result res;
	const char **ro = NULL, **rw = NULL, **hide = NULL, **env = NULL;
	size_t nro = 0, nrw = 0, nhide = 0, nenv = 0;
	struct buf *paths = xcalloc(c->effects.nread + c->effects.nwrite + 1, sizeof *paths);
	size_t np = 0;
	struct buf clean = BUF_INIT;
	int rc = -1;

	memset(&s, 0, sizeof s);
	memset(&res, 0, sizeof res);
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
	if (x->cfgdir)
		push(&hide, &nhide, x->cfgdir);
	if (x->statedir)
		push(&hide, &nhide, x->statedir);
	/* only what the contract lists, and never a secret (the jail drops
	 * those again) */
	for (size_t i = 0; i < c->nenv; i++) {
		const char *v = getenv(c->env[i]);
		if (!v)
			continue;
		struct buf kv = BUF_INIT;
		buf_printf(&kv, "%s=%s", c->env[i], v);
		push(&env, &nenv, buf_steal(&kv));
		buf_release(&kv);
	}
	if (!env)
		push(&env, &nenv, xstrdup("PATH=/usr/local/bin:/usr/bin:/bin"));
	s.argv = (const char *const *)call->argv;
	s.workspace = root;
	s.ro_paths = ro;
	s.rw_paths = rw;
	s.hide_paths = hide;
	s.env = env;
	s.network = c->effects.network;
	s.timeout_ms = call->timeout_ms;
	s.max_output_bytes = (uint64_t)c->limits.max_output_bytes;
	s.memory_bytes = (uint64_t)c->limits.memory_mb * 1024 * 1024;
	s.max_file_bytes = (uint64_t)c->limits.max_file_bytes;
	s.max_processes = (long)c->limits.max_processes;
	s.cancel_fd = cancel_fd;
	s.on_output = on_output;
	s.output_ctx = ctx;
	s.caps = &x->caps;
	if (x->mode == SANDBOX_DANGER_FULL_ACCESS)
		s.allow_missing = ~0u;  /* the explicit, loud way to run where a layer is missing */
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
		buf_printf(&r->output, "[stopped: timed out after %ld ms]\n", call->timeout_ms);
	else if (res.cancelled)
		buf_puts(&r->output, "[stopped: cancelled by the user]\n");
	else if (res.disk_killed)
		buf_printf(&r->output, "[killed: free space on %s fell below %.1f %s]\n", res.disk_path,
			   res.disk_watermark >= (1ull << 30) ? (double)res.disk_watermark / 1073741824.0
							       : (double)res.disk_watermark / 1048576.0,
			   res.disk_watermark >= (1ull << 30) ? "GiB" : "MiB");
	else if (res.oom_killed)
		buf_puts(&r->output, "[stopped: out of memory]\n");
	else if (res.output_killed)
		buf_puts(&r->output, "[stopped: far too much output]\n");
	else if (res.exec_errno)
		buf_printf(&r->output, "[could not run %s: %s]\n", call->argv[0], strerror(res.exec_errno));
	else if (res.signal)
		buf_printf(&r->output, "[killed by signal %d]\n", res.signal);
	else
		buf_printf(&r->output, "[exit %d]\n", res.exit_code);
	if (res.layers_missing) {
		/* said in each result: the model and the person should know */
		buf_puts(&r->output, "[jail without: ");
		jail_layers_describe(res.layers_missing, &r->output);
		buf_puts(&r->output, " (allowed by danger-full-access)]\n");
	}
	r->cut_bytes = res.out.cut + res.err.cut;
	r->status = res.exit_code == 0 && !res.signal && !res.timed_out ? TOOL_OK : TOOL_FAILED;
	o->exit_code = res.signal ? -1 : res.exit_code;
	o->timed_out = res.timed_out;
	o->cancelled = res.cancelled;
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
	for (size_t i = 0; i < np; i++)
		buf_release(&paths[i]);
	free(paths);
	for (size_t i = 0; i < nenv; i++)
		free((char *)env[i]);
	free(env);
	free(ro);
	free(rw);
	free(hide);
	buf_release(&clean);
	return rc;
}

/* The content of a workspace file now, for the diff; false when missing. */
static bool read_now(struct executor *x, const char *path, struct buf *out)
{
	struct ferr e = FERR_INIT;
	int fd;
	char chunk[65536];

	if (pathpol_open_read(&x->ws, path, strlen(path), false, &fd, &e) != 0)
		return false;
	for (;;) {
		ssize_t n = read(fd, chunk, sizeof chunk);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		buf_add(out, chunk, (size_t)n);
		if (out->len > (size_t)16 * 1024 * 1024)
			break;
	}
	close(fd);
	return true;
}

int executor_probe(struct executor *x)
{
	if (!x->probed) {
		jail_probe(&x->caps);
		x->probed = true;
	}
	return 0;
}

int executor_run(struct executor *x, const struct exec_call *call,
		 void (*on_output)(void *ctx, int stream, const char *data, size_t len),
		 void *ctx, int cancel_fd, struct tool_result *r, struct exec_outcome *o,
		 struct ferr *e)
{
	long long t0 = now_ms();
	int rc = 0;

	memset(o, 0, sizeof *o);
	o->exit_code = -1;
	if (call->forbidden) {
		r->status = TOOL_DENIED;
		buf_puts(&r->output, call->forbidden);
		return 0;
	}
	if (call->jailed) {
		if (!x->probed)
			return ferr_set(e, FERR_FAILED, "executor: the jail was not probed before a command ran");
		rc = run_jailed(x, call, on_output, ctx, cancel_fd, r, o, e);
	} else {
		struct tool_ctx tc = { 0 };
		tc.ws = &x->ws;
		tc.read_only = x->mode == SANDBOX_READ_ONLY;
		tc.max_output_bytes = (uint64_t)call->c->limits.max_output_bytes;
		tc.max_file_bytes = (uint64_t)call->c->limits.max_file_bytes;
		rc = builtins[builtin_index(call->c->name)].fn(&tc, call->args, r, e);
		if (rc == 0 && r->nchanges) {
			struct buf d = BUF_INIT, now = BUF_INIT;
			for (size_t i = 0; i < r->nchanges; i++) {
				const struct tool_change *ch = &r->changes[i];
				buf_reset(&now);
				bool exists = read_now(x, ch->path, &now);
				exec_diff(&d, ch->path, ch->existed ? buf_cstr(&ch->before) : NULL, ch->before.len,
					  exists ? buf_cstr(&now) : NULL, now.len, 3, 400);
			}
			buf_release(&now);
			if (d.len)
				o->diff = buf_steal(&d);
			buf_release(&d);
		}
	}
	o->duration_ms = now_ms() - t0;
	return rc;
}

void exec_outcome_release(struct exec_outcome *o)
{
	free(o->diff);
	memset(o, 0, sizeof *o);
	o->exit_code = -1;
}

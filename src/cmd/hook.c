/*
 * hook.c — `forja hook`: git hooks.  install, uninstall and list manage
 * small POSIX sh scripts in the repository's hooks directory
 * (core.hooksPath, or hooks/ in the common git directory, which linked
 * worktrees share) that chain to the hook that was there before; run HOOK
 * is what those scripts call.  prepare-commit-msg drafts the message from
 * the diff being committed; pre-commit reviews the staged changes with the
 * agent, read-only.  A hook never blocks a commit because forja failed:
 * it says why on stderr and exits 0.
 */
#include <errno.h>
#include <fcntl.h>
#include <git2.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#ifdef __APPLE__
#include <mach-o/dyld.h>
#endif

#include "forja/bootstrap.h"
#include "forja/cmd.h"
#include "forja/config.h"
#include "forja/events.h"
#include "forja/gitlib.h"
#include "forja/http.h"
#include "forja/provider.h"
#include "forja/utf8.h"
#include "agentrun.h"

/* The line that tells forja's scripts from anyone else's. */
#define HOOK_MARKER "# forja-hook: written by 'forja hook install'"
#define HOOK_CHAINED_SUFFIX ".forja-chained"

/* What the model is shown of a diff, and the most read of a hook file or a
 * commit message file. */
#define DIFF_MAX_MESSAGE (96 * 1024)
#define DIFF_MAX_REVIEW (256 * 1024)
#define MESSAGE_FILE_MAX (16 * 1024 * 1024)
#define DRAFT_MAX (16 * 1024)
#define FINDINGS_MAX 200
#define RECENT_COMMITS 20

static const char *const hook_names[] = { "pre-commit", "prepare-commit-msg" };
#define NHOOKS (sizeof hook_names / sizeof *hook_names)

const struct opt_spec cmd_hook_options[] = { { 0 } };

enum hook_state { HOOK_NONE, HOOK_FORJA, HOOK_OTHER };

struct hook_repo {
	git_repository *repo;
	bool initialized;
	char *workdir;     /* without the trailing slash; NULL when bare */
	char *hooks_dir;
};

static bool is_supported(const char *hook)
{
	for (size_t i = 0; i < NHOOKS; i++)
		if (strcmp(hook, hook_names[i]) == 0)
			return true;
	return false;
}

static int unsupported(const struct app *app, const char *sub, const char *hook)
{
	const char *hint = opt_suggest(hook, hook_names, NHOOKS);

	if (hint)
		return app_usage_error(app, "hook %s: '%s' is not a hook forja provides; did you mean '%s'?",
			     sub, hook, hint);
	return app_usage_error(app, "hook %s: '%s' is not a hook forja provides (pre-commit, prepare-commit-msg)",
		     sub, hook);
}

static int git_fail(struct ferr *e, enum ferr_class cls, const char *what)
{
	const git_error *ge = git_error_last();

	return ferr_set(e, cls, "%s: %s", what, ge && ge->message ? ge->message : "unknown error");
}

static char *strip_slash(const char *path)
{
	size_t len = strlen(path);

	while (len > 1 && path[len - 1] == '/')
		len--;
	return xstrndup(path, len);
}

/* The hooks directory as git finds it: core.hooksPath (relative to the
 * worktree's root, or to the git directory of a bare repository), else
 * hooks/ in the common directory. */
static int find_hooks_dir(struct hook_repo *hr, struct ferr *e)
{
	git_config *cfg = NULL;
	git_buf v = GIT_BUF_INIT;
	struct buf p = BUF_INIT;

	if (git_repository_config_snapshot(&cfg, hr->repo) != 0)
		return git_fail(e, FERR_IO, "reading the repository's git config");
	int rc = git_config_get_path(&v, cfg, "core.hooksPath");
	if (rc == 0 && v.ptr && *v.ptr) {
		if (v.ptr[0] == '/') {
			buf_puts(&p, v.ptr);
		} else {
			char *base = strip_slash(hr->workdir ? hr->workdir
							     : git_repository_path(hr->repo));
			buf_printf(&p, "%s/%s", base, v.ptr);
			free(base);
		}
	} else {
		git_error_clear();
		char *common = strip_slash(git_repository_commondir(hr->repo));
		buf_printf(&p, "%s/hooks", common);
		free(common);
	}
	git_buf_dispose(&v);
	git_config_free(cfg);
	hr->hooks_dir = strip_slash(p.data);
	buf_release(&p);
	return 0;
}

static void repo_close(struct hook_repo *hr)
{
	if (hr->repo)
		git_repository_free(hr->repo);
	if (hr->initialized)
		git_libgit2_shutdown();
	free(hr->workdir);
	free(hr->hooks_dir);
	memset(hr, 0, sizeof *hr);
}

static int repo_open(const char *cwd, struct hook_repo *hr, struct ferr *e)
{
	memset(hr, 0, sizeof *hr);
	if (gitlib_load(e) != 0)
		return -1;
	git_libgit2_init();
	hr->initialized = true;
	/* as git does: GIT_DIR, GIT_WORK_TREE, GIT_CEILING_DIRECTORIES … */
	int rc = git_repository_open_ext(&hr->repo, cwd, GIT_REPOSITORY_OPEN_FROM_ENV, NULL);
	if (rc == GIT_ENOTFOUND) {
		hr->repo = NULL;
		ferr_set(e, FERR_USAGE, "%s is not in a git repository", cwd);
		goto fail;
	}
	if (rc != 0) {
		hr->repo = NULL;
		git_fail(e, FERR_IO, cwd);
		goto fail;
	}
	if (!git_repository_is_bare(hr->repo) && git_repository_workdir(hr->repo))
		hr->workdir = strip_slash(git_repository_workdir(hr->repo));
	if (find_hooks_dir(hr, e) != 0)
		goto fail;
	return 0;
fail:
	repo_close(hr);
	return -1;
}

/* ---- the scripts ---- */

static char *path_join(const char *dir, const char *name, const char *suffix)
{
	struct buf p = BUF_INIT;

	buf_printf(&p, "%s/%s%s", dir, name, suffix ? suffix : "");
	return buf_steal(&p);
}

static bool exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

static enum hook_state hook_state(const char *path)
{
	char head[4096];
	struct stat st;

	if (lstat(path, &st) != 0)
		return HOOK_NONE;
	if (!S_ISREG(st.st_mode))
		return HOOK_OTHER;
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return HOOK_OTHER;
	ssize_t n = read(fd, head, sizeof head - 1);
	close(fd);
	if (n <= 0)
		return HOOK_OTHER;
	head[n] = '\0';
	const char *m = strstr(head, "\n" HOOK_MARKER "\n");
	return m ? HOOK_FORJA : HOOK_OTHER;
}

/* The running forja's absolute path, or NULL when the system will not say. */
static char *self_path(void)
{
#ifdef __APPLE__
	uint32_t size = 0;
	_NSGetExecutablePath(NULL, &size);
	char *raw = xmalloc(size + 1);
	if (_NSGetExecutablePath(raw, &size) != 0) {
		free(raw);
		return NULL;
	}
	char *real = realpath(raw, NULL);
	free(raw);
	return real;
#else
	return realpath("/proc/self/exe", NULL);
#endif
}

/* A word for sh: in single quotes, a quote written as '\''. */
static void sh_quote(struct buf *out, const char *s)
{
	buf_putc(out, '\'');
	for (; *s; s++) {
		if (*s == '\'')
			buf_puts(out, "'\\''");
		else
			buf_putc(out, *s);
	}
	buf_putc(out, '\'');
}

static void hook_script(struct buf *out, const char *hook, const char *forja)
{
	buf_printf(out,
		   "#!/bin/sh\n"
		   HOOK_MARKER "\n"
		   "# 'forja hook uninstall %s' removes it and puts back the hook it replaced.\n"
		   "# The hook that was here before, now %s" HOOK_CHAINED_SUFFIX ", runs first\n"
		   "# with the same arguments and input; when it fails, so does this one.\n"
		   "chained=\"$(dirname \"$0\")/%s" HOOK_CHAINED_SUFFIX "\"\n"
		   "if [ -x \"$chained\" ]; then\n"
		   "\t\"$chained\" \"$@\" || exit $?\n"
		   "fi\n"
		   "forja=",
		   hook, hook, hook);
	sh_quote(out, forja ? forja : "forja");
	buf_printf(out,
		   "\n"
		   "[ -x \"$forja\" ] || forja=forja\n"
		   "if ! command -v \"$forja\" >/dev/null 2>&1; then\n"
		   "\techo \"forja hook %s: forja is not installed; skipped\" >&2\n"
		   "\texit 0\n"
		   "fi\n"
		   "exec \"$forja\" hook run %s \"$@\"\n",
		   hook, hook);
}

static int mkdirs(const char *dir, struct ferr *e)
{
	char *p = xstrdup(dir);
	int rc = 0;

	for (char *s = p + 1; ; s++) {
		if (*s != '/' && *s != '\0')
			continue;
		char c = *s;
		*s = '\0';
		if (mkdir(p, 0777) != 0 && errno != EEXIST) {
			rc = ferr_set(e, FERR_IO, "creating %s: %s", p, strerror(errno));
			break;
		}
		*s = c;
		if (!c)
			break;
	}
	free(p);
	return rc;
}

/* Write the script to a temporary file beside path, then rename it into
 * place: a crash leaves the old file or the new one, never half of one. */
static int write_script(const char *dir, const char *path, const char *text, size_t len,
			struct ferr *e)
{
	struct buf tmp = BUF_INIT;
	int rc = -1;

	buf_printf(&tmp, "%s/.forja-hook-XXXXXX", dir);
	int fd = mkstemp(tmp.data);
	if (fd < 0) {
		ferr_set(e, FERR_IO, "creating a file in %s: %s", dir, strerror(errno));
		goto out;
	}
	size_t off = 0;
	while (off < len) {
		ssize_t n = write(fd, text + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ferr_set(e, FERR_IO, "writing %s: %s", tmp.data, strerror(errno));
			close(fd);
			unlink(tmp.data);
			goto out;
		}
		off += (size_t)n;
	}
	if (fchmod(fd, 0755) != 0 || close(fd) != 0) {
		ferr_set(e, FERR_IO, "writing %s: %s", tmp.data, strerror(errno));
		unlink(tmp.data);
		goto out;
	}
	if (rename(tmp.data, path) != 0) {
		ferr_set(e, FERR_IO, "renaming %s to %s: %s", tmp.data, path, strerror(errno));
		unlink(tmp.data);
		goto out;
	}
	rc = 0;
out:
	buf_release(&tmp);
	return rc;
}

static int install_one(const char *dir, const char *hook, const char *forja, struct ferr *e)
{
	char *path = path_join(dir, hook, NULL);
	char *chained = path_join(dir, hook, HOOK_CHAINED_SUFFIX);
	struct buf script = BUF_INIT;
	struct stat st;
	bool moved = false;
	int rc = -1;

	enum hook_state state = hook_state(path);
	if (state == HOOK_OTHER) {
		if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
			ferr_set(e, FERR_FAILED, "%s is a directory; forja leaves it alone", path);
			goto out;
		}
		if (exists(chained)) {
			ferr_set(e, FERR_FAILED,
				 "%s already exists, so forja cannot keep the hook at %s there; "
				 "move one of them away and install again",
				 chained, path);
			goto out;
		}
		if (rename(path, chained) != 0) {
			ferr_set(e, FERR_IO, "moving %s to %s: %s", path, chained, strerror(errno));
			goto out;
		}
		moved = true;
	}
	hook_script(&script, hook, forja);
	if (write_script(dir, path, script.data, script.len, e) != 0) {
		if (moved && rename(chained, path) != 0)
			ferr_prefix(e, "%s is now %s (moving it back failed: %s)", path, chained,
				    strerror(errno));
		goto out;
	}
	printf("%s %s: %s%s%s\n", state == HOOK_FORJA ? "updated" : "installed", hook, path,
	       moved || exists(chained) ? "; it runs the previous hook first, now " : "",
	       moved || exists(chained) ? chained : "");
	rc = 0;
out:
	buf_release(&script);
	free(path);
	free(chained);
	return rc;
}

static int uninstall_one(const char *dir, const char *hook, struct ferr *e)
{
	char *path = path_join(dir, hook, NULL);
	char *chained = path_join(dir, hook, HOOK_CHAINED_SUFFIX);
	int rc = -1;

	switch (hook_state(path)) {
	case HOOK_OTHER:
		ferr_set(e, FERR_FAILED, "%s was not written by forja; left alone", path);
		goto out;
	case HOOK_NONE:
		if (exists(chained)) {
			if (rename(chained, path) != 0) {
				ferr_set(e, FERR_IO, "moving %s to %s: %s", chained, path, strerror(errno));
				goto out;
			}
			printf("restored %s: %s\n", hook, path);
		} else {
			printf("%s: not installed\n", hook);
		}
		break;
	case HOOK_FORJA:
		if (unlink(path) != 0) {
			ferr_set(e, FERR_IO, "removing %s: %s", path, strerror(errno));
			goto out;
		}
		if (exists(chained)) {
			if (rename(chained, path) != 0) {
				ferr_set(e, FERR_IO, "moving %s back to %s: %s", chained, path,
					 strerror(errno));
				goto out;
			}
			printf("removed %s; restored the previous hook: %s\n", hook, path);
		} else {
			printf("removed %s: %s\n", hook, path);
		}
		break;
	}
	rc = 0;
out:
	free(path);
	free(chained);
	return rc;
}

static void json_str(struct buf *b, const char *s)
{
	char *clean = utf8_text_dup(s, strlen(s));

	buf_putc(b, '"');
	for (const char *c = clean; *c; c++) {
		if (*c == '"' || *c == '\\')
			buf_printf(b, "\\%c", *c);
		else if ((unsigned char)*c < 0x20)
			buf_printf(b, "\\u%04x", (unsigned char)*c);
		else
			buf_putc(b, *c);
	}
	buf_putc(b, '"');
	free(clean);
}

static void list_hooks(const struct app *app, const char *dir)
{
	static const char *const names[] = { "none", "forja", "other" };
	struct buf out = BUF_INIT;

	if (app->json)
		buf_putc(&out, '[');
	for (size_t i = 0; i < NHOOKS; i++) {
		char *path = path_join(dir, hook_names[i], NULL);
		char *chained = path_join(dir, hook_names[i], HOOK_CHAINED_SUFFIX);
		enum hook_state state = hook_state(path);
		bool has_chained = state == HOOK_FORJA && exists(chained);
		if (app->json) {
			buf_printf(&out, "%s{\"hook\":\"%s\",\"status\":\"%s\",\"path\":", i ? "," : "",
				   hook_names[i], names[state]);
			json_str(&out, path);
			buf_puts(&out, ",\"chained\":");
			if (has_chained)
				json_str(&out, chained);
			else
				buf_puts(&out, "null");
			buf_putc(&out, '}');
		} else {
			char *shown = utf8_path_dup(path, strlen(path));
			buf_printf(&out, "%-19s %-6s %s%s\n", hook_names[i], names[state], shown,
				   has_chained ? " (runs the previous hook first: " : "");
			if (has_chained) {
				buf_truncate(&out, out.len - 1);
				char *c = utf8_path_dup(chained, strlen(chained));
				buf_printf(&out, "%s)\n", c);
				free(c);
			}
			free(shown);
		}
		free(path);
		free(chained);
	}
	if (app->json)
		buf_puts(&out, "]\n");
	fputs(out.data, stdout);
	buf_release(&out);
}

/* ---- what is being committed ---- */

struct diff_text {
	struct buf *out;
	size_t cap;
	size_t dropped;
};

static int on_diff_line(const git_diff_delta *delta, const git_diff_hunk *hunk,
			const git_diff_line *line, void *payload)
{
	struct diff_text *d = payload;
	size_t need = line->content_len + 1;

	(void)delta;
	(void)hunk;
	if (d->dropped || d->out->len + need > d->cap) {
		d->dropped += need;
		return 0;
	}
	if (line->origin == GIT_DIFF_LINE_CONTEXT || line->origin == GIT_DIFF_LINE_ADDITION ||
	    line->origin == GIT_DIFF_LINE_DELETION)
		buf_putc(d->out, line->origin);
	buf_add(d->out, line->content, line->content_len);
	return 0;
}

/* The diff of the index git is committing ($GIT_INDEX_FILE during a
 * commit: with -a or PATHs that is a lock file, not .git/index) against
 * HEAD, as text for the model, cut at cap bytes.  The index is only read. */
static int staged_diff(struct hook_repo *hr, size_t cap, struct buf *text, size_t *nfiles,
		       struct ferr *e)
{
	const char *env = getenv("GIT_INDEX_FILE");
	git_index *index = NULL;
	git_reference *head = NULL;
	git_object *commit = NULL;
	git_tree *tree = NULL;
	git_diff *diff = NULL;
	git_diff_options opts;
	struct buf raw = BUF_INIT;
	struct diff_text d = { &raw, cap, 0 };
	int rc = -1;

	if (env && *env) {
		if (git_index_open(&index, env) != 0) {
			git_fail(e, FERR_IO, env);
			goto out;
		}
	} else if (git_repository_index(&index, hr->repo) != 0) {
		git_fail(e, FERR_IO, "reading the index");
		goto out;
	}
	int hrc = git_repository_head(&head, hr->repo);
	if (hrc == 0) {
		if (git_reference_peel(&commit, head, GIT_OBJECT_COMMIT) != 0 ||
		    git_commit_tree(&tree, (git_commit *)commit) != 0) {
			git_fail(e, FERR_IO, "reading HEAD");
			goto out;
		}
	} else if (hrc != GIT_EUNBORNBRANCH && hrc != GIT_ENOTFOUND) {
		git_fail(e, FERR_IO, "reading HEAD");
		goto out;
	}
	git_error_clear();
	git_diff_options_init(&opts, GIT_DIFF_OPTIONS_VERSION);
	opts.context_lines = 3;
	if (git_diff_tree_to_index(&diff, hr->repo, tree, index, &opts) != 0) {
		git_fail(e, FERR_IO, "comparing the index with HEAD");
		goto out;
	}
	*nfiles = git_diff_num_deltas(diff);
	if (git_diff_print(diff, GIT_DIFF_FORMAT_PATCH, on_diff_line, &d) != 0) {
		git_fail(e, FERR_IO, "printing the staged diff");
		goto out;
	}
	utf8_sanitize(text, raw.data ? raw.data : "", raw.len);
	if (d.dropped)
		buf_printf(text, "[the diff is cut here: %zu more bytes not shown]\n", d.dropped);
	rc = 0;
out:
	buf_release(&raw);
	git_diff_free(diff);
	git_tree_free(tree);
	git_commit_free((git_commit *)commit);
	git_reference_free(head);
	git_index_free(index);
	return rc;
}

/* "type(scope)!: subject" */
static bool is_conventional(const char *s)
{
	const char *p = s;

	while (*p >= 'a' && *p <= 'z')
		p++;
	if (p == s)
		return false;
	if (*p == '(') {
		const char *close = strchr(p, ')');
		if (!close || close == p + 1 || memchr(p, '\n', (size_t)(close - p)))
			return false;
		p = close + 1;
	}
	if (*p == '!')
		p++;
	return p[0] == ':' && p[1] == ' ' && p[2] && p[2] != ' ' && p[2] != '\n';
}

/* The subjects of the latest commits, one a line, and how many of them
 * follow Conventional Commits. */
static void recent_subjects(struct hook_repo *hr, struct buf *out, size_t *n, size_t *conventional)
{
	git_revwalk *walk = NULL;
	git_oid oid;

	*n = *conventional = 0;
	if (git_reference_name_to_id(&oid, hr->repo, "HEAD") != 0 ||
	    git_revwalk_new(&walk, hr->repo) != 0 || git_revwalk_push(walk, &oid) != 0) {
		git_error_clear();
		git_revwalk_free(walk);
		return;
	}
	git_revwalk_sorting(walk, GIT_SORT_TIME);
	while (*n < RECENT_COMMITS && git_revwalk_next(&oid, walk) == 0) {
		git_commit *c = NULL;
		if (git_commit_lookup(&c, hr->repo, &oid) != 0)
			break;
		const char *msg = git_commit_message(c);
		size_t len = strcspn(msg ? msg : "", "\n");
		if (len > 200)
			len = 200;
		char *subject = utf8_text_dup(msg ? msg : "", len);
		if (*subject) {
			if (*n < 10)
				buf_printf(out, "  %s\n", subject);
			if (is_conventional(subject))
				(*conventional)++;
			(*n)++;
		}
		free(subject);
		git_commit_free(c);
	}
	git_error_clear();
	git_revwalk_free(walk);
}

/* ---- one request to the model, bounded in time ---- */

struct oneshot {
	struct provider_call *call;
	bool done, failed, timed_out;
	struct ferr err;
	char last_retry[sizeof ((struct ferr *)0)->msg];
};

/* what went wrong in a retried attempt, to say when time runs out */
static void on_event(void *ctx, const struct event *ev)
{
	struct oneshot *s = ctx;

	if (ev->type == EV_RETRY && ev->error)
		snprintf(s->last_retry, sizeof s->last_retry, "%s", ev->error->msg);
}

static void on_call_done(void *ctx, const struct ferr *err)
{
	struct oneshot *s = ctx;

	s->done = true;
	if (err) {
		s->failed = true;
		s->err = *err;
	}
}

static void on_call_timeout(uv_timer_t *t)
{
	struct oneshot *s = t->data;

	s->timed_out = true;
	provider_call_cancel(s->call);
}

static void close_cb(uv_handle_t *h)
{
	(void)h;
}

/* No request may outlast the hook's own time. */
static void cap_provider(struct provider_config *pc, long timeout_ms)
{
	long *t[] = { &pc->timeouts.connect_ms, &pc->timeouts.first_byte_ms, &pc->timeouts.idle_ms,
		      &pc->timeouts.total_ms, &pc->retry_total_ms };

	for (size_t i = 0; i < sizeof t / sizeof *t; i++)
		if (*t[i] <= 0 || *t[i] > timeout_ms)
			*t[i] = timeout_ms;
}

static void timeout_error(struct ferr *e, long timeout_ms, const char *last)
{
	ferr_set(e, FERR_TIMEOUT, "the model did not answer within %ld ms (hooks.timeout_ms)%s%s",
		 timeout_ms, *last ? "; last attempt: " : "", last);
}

static int ask_model(const struct app *app, const struct config *cfg, const char *system,
		     const char *user, struct buf *answer, struct ferr *e)
{
	uv_loop_t loop;
	uv_timer_t timer;
	struct http_client *http = NULL;
	struct provider_config pc;
	struct provider_choice choice;
	struct chat_result result;
	struct chat_msg msg;
	struct chat_request req;
	struct event_bus bus;
	struct oneshot s;
	bool pc_open = false, timer_open = false;
	int rc = -1;

	memset(&s, 0, sizeof s);
	memset(&pc, 0, sizeof pc);
	memset(&result, 0, sizeof result);
	memset(&msg, 0, sizeof msg);
	memset(&req, 0, sizeof req);
	events_init(&bus);
	events_add_sink(&bus, (struct event_sink){ on_event, &s });
	if (uv_loop_init(&loop) != 0)
		return ferr_set(e, FERR_IO, "cannot set up the event loop");
	if (http_client_new(&loop, &http, e) != 0)
		goto out;
	memset(&choice, 0, sizeof choice);
	choice.provider = app->provider;
	choice.model = app->model;
	choice.base_url = app->base_url;
	if (provider_resolve(&loop, http, cfg, &choice, &pc, e) != 0)
		goto out;
	pc_open = true;
	cap_provider(&pc, cfg->hooks_timeout_ms);
	msg.role = "user";
	msg.content = user;
	req.system = system;
	req.msgs = &msg;
	req.nmsgs = 1;
	uv_timer_init(&loop, &timer);
	timer.data = &s;
	timer_open = true;
	if (provider_call_start(&loop, http, &pc, &req, &bus, &result, on_call_done, &s, &s.call,
				e) != 0)
		goto out;
	uv_timer_start(&timer, on_call_timeout, (uint64_t)cfg->hooks_timeout_ms, 0);
	while (!s.done)
		uv_run(&loop, UV_RUN_ONCE);
	uv_timer_stop(&timer);
	if (s.timed_out) {
		timeout_error(e, cfg->hooks_timeout_ms, s.last_retry);
		goto out;
	}
	if (s.failed) {
		*e = s.err;
		goto out;
	}
	if (strcmp(result.finish, "length") == 0) {
		ferr_set(e, FERR_FAILED, "the answer was cut at the model's output limit");
		goto out;
	}
	if (strcmp(result.finish, "content_filter") == 0) {
		ferr_set(e, FERR_FAILED, "the provider's content filter stopped the answer");
		goto out;
	}
	buf_add(answer, result.text.data ? result.text.data : "", result.text.len);
	rc = 0;
out:
	if (s.call)
		provider_call_free(s.call);
	if (http)
		http_client_free(http);
	if (timer_open)
		uv_close((uv_handle_t *)&timer, close_cb);
	uv_run(&loop, UV_RUN_DEFAULT);
	uv_loop_close(&loop);
	if (pc_open)
		provider_config_release(&pc);
	chat_result_release(&result);
	return rc;
}

/* ---- prepare-commit-msg ---- */

static const char message_system[] =
	"You write git commit messages. Answer with the commit message only: no preamble, "
	"no quotes, no code fences, no comment lines starting with #.";

/* The model's answer as a message: valid UTF-8 without control
 * characters, code fences, comment lines or blank lines at either end. */
static void clean_draft(const char *answer, size_t len, struct buf *out)
{
	struct buf text = BUF_INIT;

	utf8_sanitize(&text, answer, len > DRAFT_MAX ? DRAFT_MAX : len);
	const char *p = text.data ? text.data : "";
	while (*p) {
		size_t n = strcspn(p, "\n");
		const char *line = p;
		p += n;
		if (*p)
			p++;
		if (line[0] == '#' || (n >= 3 && strncmp(line, "```", 3) == 0))
			continue;
		while (n && (line[n - 1] == ' ' || line[n - 1] == '\t'))
			n--;
		if (!n && (!out->len || out->data[out->len - 1] == '\n') &&
		    (!out->len || (out->len >= 2 && out->data[out->len - 2] == '\n')))
			continue;  /* no leading blank lines, no runs of them */
		buf_add(out, line, n);
		buf_putc(out, '\n');
	}
	while (out->len >= 2 && out->data[out->len - 1] == '\n' && out->data[out->len - 2] == '\n')
		buf_truncate(out, out->len - 1);
	buf_release(&text);
}

static int read_file(const char *path, size_t max, struct buf *out, struct ferr *e)
{
	FILE *f = fopen(path, "rb");
	char chunk[65536];
	size_t n;

	if (!f)
		return ferr_set(e, FERR_IO, "%s: %s", path, strerror(errno));
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
		if (out->len + n > max) {
			fclose(f);
			return ferr_set(e, FERR_IO, "%s is larger than %zu MiB", path, max >> 20);
		}
		buf_add(out, chunk, n);
	}
	int bad = ferror(f);
	fclose(f);
	if (bad)
		return ferr_set(e, FERR_IO, "reading %s failed", path);
	return 0;
}

/* The draft at the top of the message file, what git wrote (its comment
 * lines) below it. */
static int write_message(const char *path, const struct buf *draft, struct ferr *e)
{
	struct buf old = BUF_INIT, text = BUF_INIT, dir = BUF_INIT;
	int rc = -1;

	if (read_file(path, MESSAGE_FILE_MAX, &old, e) != 0)
		goto out;
	buf_add(&text, draft->data, draft->len);
	if (!old.len || old.data[0] != '\n')
		buf_putc(&text, '\n');
	buf_add(&text, old.data ? old.data : "", old.len);
	const char *slash = strrchr(path, '/');
	if (slash)
		buf_add(&dir, path, slash == path ? 1 : (size_t)(slash - path));
	else
		buf_putc(&dir, '.');
	struct buf tmp = BUF_INIT;
	buf_printf(&tmp, "%s/.forja-msg-XXXXXX", dir.data);
	int fd = mkstemp(tmp.data);
	if (fd < 0) {
		ferr_set(e, FERR_IO, "creating a file beside %s: %s", path, strerror(errno));
		buf_release(&tmp);
		goto out;
	}
	FILE *f = fdopen(fd, "wb");
	bool ok = f && fwrite(text.data, 1, text.len, f) == text.len;
	if (f)
		ok = fclose(f) == 0 && ok;
	else
		close(fd);
	if (!ok || rename(tmp.data, path) != 0) {
		ferr_set(e, FERR_IO, "writing %s: %s", path, strerror(errno));
		unlink(tmp.data);
		buf_release(&tmp);
		goto out;
	}
	buf_release(&tmp);
	rc = 0;
out:
	buf_release(&old);
	buf_release(&text);
	buf_release(&dir);
	return rc;
}

static bool skip_requested(void)
{
	const char *s = getenv("FORJA_SKIP");

	return s && *s && strcmp(s, "0") != 0;
}

/* Load the config of the project at the repository's root. */
static int hook_config(const struct app *app, struct config *cfg, struct ferr *e)
{
	char *root = bootstrap_project_root(app->cwd);
	int rc = config_load(root, cfg, e);

	free(root);
	if (rc == 0 && app->verbosity >= 0)
		for (size_t i = 0; i < cfg->nwarnings; i++)
			fprintf(stderr, "forja: warning: %s\n", cfg->warnings[i]);
	return rc;
}

static int run_prepare_commit_msg(struct app *app, char **args, size_t nargs)
{
	struct ferr e = FERR_INIT;
	struct hook_repo hr;
	struct config cfg;
	struct buf diff = BUF_INIT, subjects = BUF_INIT, user = BUF_INIT, answer = BUF_INIT,
		   draft = BUF_INIT;
	bool repo_ok = false, cfg_ok = false;
	size_t nfiles = 0, ncommits = 0, nconventional = 0;

	if (nargs < 1 || nargs > 3)
		return app_usage_error(app, "hook run prepare-commit-msg: usage: forja hook run "
				  "prepare-commit-msg FILE [SOURCE [COMMIT]]");
	const char *file = args[0];
	/* the pre-commit framework passes the file only, the source in the
	 * environment */
	const char *source = nargs > 1 ? args[1] : getenv("PRE_COMMIT_COMMIT_MSG_SOURCE");
	if (source && *source && strcmp(source, "template") != 0)
		return EXIT_OK;  /* -m/-F, a merge, a squash, an amend: the message is given */
	if (skip_requested()) {
		if (app->verbosity >= 0)
			fprintf(stderr, "forja: FORJA_SKIP is set: no commit message drafted\n");
		return EXIT_OK;
	}
	if (repo_open(app->cwd, &hr, &e) != 0)
		goto fail;
	repo_ok = true;
	if (hook_config(app, &cfg, &e) != 0)
		goto fail;
	cfg_ok = true;
	if (staged_diff(&hr, DIFF_MAX_MESSAGE, &diff, &nfiles, &e) != 0)
		goto fail;
	if (!nfiles) {
		if (app->verbosity >= 0)
			fprintf(stderr, "forja: nothing is staged: no commit message drafted\n");
		goto done;
	}
	recent_subjects(&hr, &subjects, &ncommits, &nconventional);
	buf_puts(&user,
		 "Write the commit message for the changes below, which are about to be committed.\n"
		 "- The subject line: what the change does, in the imperative mood, at most 72 "
		 "characters, no final period.\n"
		 "- When the change needs explaining: a blank line, then a short body wrapped at 72 "
		 "columns that says what changed and why.\n");
	/* most of the recent history, and at least three commits */
	if (ncommits >= 3 && nconventional * 10 >= ncommits * 6)
		buf_puts(&user,
			 "- This repository follows Conventional Commits: the subject must be "
			 "\"type(scope): subject\" (type one of feat, fix, docs, style, refactor, perf, "
			 "test, build, ci, chore, revert; the scope optional), as in its history.\n");
	if (subjects.len)
		buf_printf(&user, "\nRecent subjects in this repository, for the style:\n%s",
			   subjects.data);
	buf_printf(&user, "\nThe staged diff (%zu file%s):\n%s", nfiles, nfiles == 1 ? "" : "s",
		   diff.data ? diff.data : "");
	if (ask_model(app, &cfg, message_system, user.data, &answer, &e) != 0)
		goto fail;
	clean_draft(answer.data ? answer.data : "", answer.len, &draft);
	if (!draft.len) {
		ferr_set(&e, FERR_PROVIDER, "the model's answer was empty");
		goto fail;
	}
	if (write_message(file, &draft, &e) != 0)
		goto fail;
	goto done;
fail:
	/* never block a commit on forja's failure: git's file stays as it was */
	if (app->verbosity >= 0)
		fprintf(stderr, "forja: no commit message drafted: %s\n", e.msg);
done:
	if (cfg_ok)
		config_release(&cfg);
	if (repo_ok)
		repo_close(&hr);
	buf_release(&diff);
	buf_release(&subjects);
	buf_release(&user);
	buf_release(&answer);
	buf_release(&draft);
	return EXIT_OK;
}

/* ---- pre-commit ---- */

static const char *const severities[] = { "", "error", "warning", "note" };

struct finding {
	char *path;
	long line;
	enum config_block_on severity;  /* CONFIG_BLOCK_ERROR … _NOTE */
	char *message;
};

static void skip_blank(const char **p)
{
	while (**p == ' ' || **p == '\t')
		(*p)++;
}

/* "path:line: severity: message", possibly in a list item or backquotes;
 * 0 with *f filled, or -1 for a line of any other form. */
static int parse_finding(const char *line, struct finding *f)
{
	const char *p = line;

	skip_blank(&p);
	if ((p[0] == '-' || p[0] == '*') && p[1] == ' ')
		p += 2;
	skip_blank(&p);
	if (*p == '`')
		p++;
	const char *start = p;
	/* the first ":digits:" ends the path */
	for (; *p; p++) {
		if (*p != ':' || p[1] < '0' || p[1] > '9')
			continue;
		const char *d = p + 1;
		long n = 0;
		while (*d >= '0' && *d <= '9' && n < 1000000000L)
			n = n * 10 + (*d++ - '0');
		if (*d != ':' || n <= 0)
			continue;
		size_t plen = (size_t)(p - start);
		if (!plen || plen > 4096)
			return -1;
		const char *s = d + 1;
		skip_blank(&s);
		int sev = 0;
		for (int i = 1; i <= 3; i++) {
			size_t k = strlen(severities[i]);
			if (strncasecmp(s, severities[i], k) == 0 && s[k] == ':') {
				sev = i;
				s += k + 1;
				break;
			}
		}
		if (!sev)
			return -1;
		skip_blank(&s);
		size_t mlen = strlen(s);
		while (mlen && (s[mlen - 1] == ' ' || s[mlen - 1] == '`'))
			mlen--;
		if (!mlen)
			return -1;
		if (mlen > 1000)
			mlen = 1000;
		f->path = utf8_text_dup(start, plen);
		f->line = n;
		f->severity = (enum config_block_on)sev;
		f->message = utf8_text_dup(s, mlen);
		return 0;
	}
	return -1;
}

struct review {
	struct agentrun *r;
	uint64_t deadline;
	bool timed_out;
};

static void on_review_tick(void *ctx)
{
	struct review *rv = ctx;

	if (!rv->timed_out && uv_hrtime() >= rv->deadline) {
		rv->timed_out = true;
		agent_cancel(rv->r->agent);
	}
}

static const char review_instructions[] =
	"Review the staged changes below: the diff of what is about to be committed in this "
	"repository. You may read the project's files with your tools to check the context; "
	"change nothing.\n"
	"Report each real problem in the changed lines on a line of its own, exactly in this "
	"form:\n"
	"path:line: severity: message\n"
	"where path is relative to the repository's root, line is the line's number in the new "
	"version of the file, and severity is one of\n"
	"  error    a bug, a security hole, data loss, or a broken build or test;\n"
	"  warning  likely a problem;\n"
	"  note     style, clarity or a small improvement.\n"
	"Write nothing else: no preamble, no summary, no code fences. When there is no problem, "
	"answer exactly: no findings\n\n";

static int run_pre_commit(struct app *app, size_t nargs)
{
	struct ferr e = FERR_INIT;
	struct hook_repo hr;
	struct config cfg;
	struct buf diff = BUF_INIT, prompt = BUF_INIT;
	struct event_bus bus;
	struct agentrun r;
	struct agentrun_opts ro;
	struct agent_outcome out;
	struct review rv;
	struct finding *findings = NULL;
	size_t nfindings = 0, nfiles = 0, counts[4] = { 0 };
	bool repo_ok = false, cfg_ok = false, run_ok = false;
	int rc = EXIT_OK;

	(void)nargs;  /* the pre-commit framework may pass file names: the index says more */
	memset(&r, 0, sizeof r);
	if (skip_requested()) {
		if (app->verbosity >= 0)
			fprintf(stderr, "forja: FORJA_SKIP is set: review skipped\n");
		return EXIT_OK;
	}
	if (repo_open(app->cwd, &hr, &e) != 0)
		goto fail;
	repo_ok = true;
	if (hook_config(app, &cfg, &e) != 0)
		goto fail;
	cfg_ok = true;
	if (staged_diff(&hr, DIFF_MAX_REVIEW, &diff, &nfiles, &e) != 0)
		goto fail;
	if (!nfiles)
		goto done;
	buf_puts(&prompt, review_instructions);
	buf_printf(&prompt, "The staged diff (%zu file%s):\n%s", nfiles, nfiles == 1 ? "" : "s",
		   diff.data ? diff.data : "");

	/* a review reads, it never writes, and nobody is there to approve */
	app->sandbox = SANDBOX_READ_ONLY;
	app->sandbox_name = "read-only";
	app->sandbox_given = true;
	app->approvals = APPROVALS_AUTO;
	events_init(&bus);
	memset(&ro, 0, sizeof ro);
	ro.kind = "hook";
	ro.interactive = false;
	ro.context = false;
	ro.bus = &bus;
	ro.can_ask = false;
	ro.read_tools_only = true;
	ro.timeout_cap_ms = cfg.hooks_timeout_ms;
	if (agentrun_open(&r, app, &ro, &e) != 0)
		goto fail;
	run_ok = true;
	cap_provider(&r.pc, cfg.hooks_timeout_ms);
	rv.r = &r;
	rv.timed_out = false;
	rv.deadline = uv_hrtime() + (uint64_t)cfg.hooks_timeout_ms * 1000000u;
	r.on_tick = on_review_tick;
	r.tick_ctx = &rv;
	memset(&out, 0, sizeof out);
	if (agentrun_turn(&r, prompt.data, &out, &e) != 0)
		goto fail;
	if (rv.timed_out) {
		timeout_error(&e, cfg.hooks_timeout_ms, "");
		goto fail;
	}
	if (out.end != AGENT_END_DONE) {
		e = out.err;
		if (!e.msg[0])
			ferr_set(&e, FERR_FAILED, "the review did not finish");
		goto fail;
	}

	const char *answer = agent_last_answer(r.agent);
	const char *p = answer ? answer : "";
	bool said_none = false;
	while (*p) {
		size_t n = strcspn(p, "\n");
		char *line = xstrndup(p, n);
		struct finding f;
		p += n;
		if (*p)
			p++;
		const char *t = line;
		skip_blank(&t);
		if (strncasecmp(t, "no findings", 11) == 0)
			said_none = true;
		else if (nfindings < FINDINGS_MAX && parse_finding(line, &f) == 0) {
			findings = xrealloc(findings, (nfindings + 1) * sizeof *findings);
			findings[nfindings++] = f;
			counts[f.severity]++;
		}
		free(line);
	}
	bool blocked = false;
	for (size_t i = 0; i < nfindings; i++) {
		char *shown = utf8_path_dup(findings[i].path, strlen(findings[i].path));
		printf("%s:%ld: %s: %s\n", shown, findings[i].line, severities[findings[i].severity],
		       findings[i].message);
		free(shown);
		if (cfg.hooks_block_on != CONFIG_BLOCK_NEVER && findings[i].severity <= cfg.hooks_block_on)
			blocked = true;
	}
	fflush(stdout);
	if (!nfindings && !said_none && *answer) {
		if (app->verbosity >= 0)
			fprintf(stderr, "forja: review: the model's answer holds no finding of the form "
					"path:line: severity: message; nothing to report\n");
	} else if (nfindings && app->verbosity >= 0) {
		fprintf(stderr, "forja: review: %zu finding%s (%zu error%s, %zu warning%s, %zu note%s)",
			nfindings, nfindings == 1 ? "" : "s", counts[1], counts[1] == 1 ? "" : "s",
			counts[2], counts[2] == 1 ? "" : "s", counts[3], counts[3] == 1 ? "" : "s");
		if (blocked)
			fprintf(stderr, "; commit blocked: hooks.block_on is \"%s\" "
					"(FORJA_SKIP=1 or git commit --no-verify to commit anyway)\n",
				severities[cfg.hooks_block_on]);
		else
			fprintf(stderr, "; advisory, the commit goes on\n");
	}
	if (blocked)
		rc = EXIT_FAILED;
	goto done;
fail:
	/* never block a commit on forja's own failure */
	if (app->verbosity >= 0)
		fprintf(stderr, "forja: review skipped: %s\n", e.msg);
done:
	for (size_t i = 0; i < nfindings; i++) {
		free(findings[i].path);
		free(findings[i].message);
	}
	free(findings);
	if (run_ok)
		agentrun_close(&r);
	if (cfg_ok)
		config_release(&cfg);
	if (repo_ok)
		repo_close(&hr);
	buf_release(&diff);
	buf_release(&prompt);
	return rc;
}

/* ---- the command ---- */

int cmd_hook(struct app *app, int argc, char **argv)
{
	const struct cmd *self = cmd_find("hook");
	struct opt_state st;
	struct ferr e = FERR_INIT;
	struct hook_repo hr;
	bool repo_ok = false;
	char **args = xcalloc((size_t)argc + 1, sizeof *args);
	size_t nargs = 0;
	int id, rc = EXIT_OK;

	opt_init(&st, argc, argv, "hook");
	st.common = app_provider_options;
	while ((id = cmd_next_option(self, app, &st, &rc)) != OPT_END) {
		if (id == OPT_ERROR)
			goto out;
		if (id == OPT_POSITIONAL) {
			args[nargs++] = (char *)st.value;
			/* what git passes after `run HOOK` is the hook's, never ours */
			if (nargs == 2 && strcmp(args[0], "run") == 0)
				st.only_positionals = true;
		}
	}
	const char *sub = nargs ? args[0] : NULL;
	if (!sub) {
		rc = app_usage_error(app, "hook: which subcommand? usage: %s", self->usage);
		goto out;
	}
	if (strcmp(sub, "run") == 0) {
		if (nargs < 2) {
			rc = app_usage_error(app, "hook run: which hook? pre-commit or prepare-commit-msg");
			goto out;
		}
		if (!is_supported(args[1])) {
			rc = unsupported(app, "run", args[1]);
			goto out;
		}
		if (strcmp(args[1], "pre-commit") == 0)
			rc = run_pre_commit(app, nargs - 2);
		else
			rc = run_prepare_commit_msg(app, args + 2, nargs - 2);
		goto out;
	}
	bool install = strcmp(sub, "install") == 0, uninstall = strcmp(sub, "uninstall") == 0;
	if (!install && !uninstall && strcmp(sub, "list") != 0) {
		static const char *const subs[] = { "install", "uninstall", "list", "run" };
		const char *hint = opt_suggest(sub, subs, 4);
		rc = hint ? app_usage_error(app, "hook: unknown subcommand '%s'; did you mean '%s'?", sub, hint)
			  : app_usage_error(app, "hook: unknown subcommand '%s'; usage: %s", sub, self->usage);
		goto out;
	}
	if (!install && !uninstall && nargs > 1) {
		rc = app_usage_error(app, "hook list: unexpected argument '%s'", args[1]);
		goto out;
	}
	for (size_t i = 1; i < nargs; i++)
		if (!is_supported(args[i])) {
			rc = unsupported(app, sub, args[i]);
			goto out;
		}
	if (repo_open(app->cwd, &hr, &e) != 0) {
		app_print_error(app, &e);
		rc = ferr_exit_code(e.cls);
		goto out;
	}
	repo_ok = true;
	if (!install && !uninstall) {
		list_hooks(app, hr.hooks_dir);
		goto out;
	}
	/* no names: every hook forja provides */
	const char *const *hooks = nargs > 1 ? (const char *const *)args + 1 : hook_names;
	size_t nhooks = nargs > 1 ? nargs - 1 : NHOOKS;
	char *forja = install ? self_path() : NULL;
	if (install && mkdirs(hr.hooks_dir, &e) != 0) {
		app_print_error(app, &e);
		rc = ferr_exit_code(e.cls);
		free(forja);
		goto out;
	}
	for (size_t i = 0; i < nhooks; i++) {
		ferr_clear(&e);
		if ((install ? install_one(hr.hooks_dir, hooks[i], forja, &e)
			     : uninstall_one(hr.hooks_dir, hooks[i], &e)) != 0) {
			app_print_error(app, &e);
			rc = ferr_exit_code(e.cls);
		}
	}
	free(forja);
out:
	if (repo_ok)
		repo_close(&hr);
	free(args);
	fflush(stdout);
	return rc;
}

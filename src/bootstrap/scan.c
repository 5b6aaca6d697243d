/*
 * scan.c — gathers the bootstrap context with libgit2: repository, branch,
 * HEAD, upstream, recent commits, files and languages, instruction files,
 * README, submodules; the status comes from status.c, project commands
 * from detect.c.  A directory outside any repository gets a plain scan.
 */
#include "internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "forja/detect.h"
#include "forja/gitlib.h"
#include "forja/utf8.h"
#include "forja/version.h"

#define TOP_ENTRIES_MAX 40
#define PLAIN_SCAN_MAX_FILES 50000
#define README_BYTES_MAX 4096

static const char *const readme_names[] = {
	"README.md", "README", "README.rst", "README.txt", "README.markdown",
	"readme.md", "Readme.md",
};

static int cmp_cstr(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int git_fail(struct ferr *e, enum ferr_class cls, const char *what)
{
	const git_error *ge = git_error_last();

	return ferr_set(e, cls, "%s: %s", what, ge && ge->message ? ge->message : "unknown error");
}

static char *resolve(const char *path)
{
	char *r = realpath(path, NULL);

	return r ? r : xstrdup(path);
}

static char *strip_slash(const char *path)
{
	size_t len = strlen(path);

	while (len > 1 && path[len - 1] == '/')
		len--;
	return xstrndup(path, len);
}

/* cwd relative to root ("" when equal or outside). */
static char *relative_to(const char *root, const char *cwd)
{
	size_t rl = strlen(root);

	if (strncmp(cwd, root, rl) == 0 && (cwd[rl] == '/' || cwd[rl] == '\0')) {
		const char *rest = cwd + rl;
		while (*rest == '/')
			rest++;
		return xstrdup(rest);
	}
	if (strcmp(root, "/") == 0)
		return xstrdup(cwd + 1);
	return xstrdup("");
}

int bs_ctx_open(struct bs_ctx *ctx, const char *cwd, struct ferr *e)
{
	int rc;

	memset(ctx, 0, sizeof *ctx);
	ctx->cwd = resolve(cwd);
	if (gitlib_load(e) != 0)
		return -1;
	git_libgit2_init();
	ctx->initialized = true;
	/* as git does: GIT_DIR, GIT_WORK_TREE, GIT_CEILING_DIRECTORIES … */
	rc = git_repository_open_ext(&ctx->repo, ctx->cwd, GIT_REPOSITORY_OPEN_FROM_ENV, NULL);
	if (rc == GIT_ENOTFOUND) {
		ctx->repo = NULL;
		ctx->root = xstrdup(ctx->cwd);
		ctx->cwd_rel = xstrdup("");
		return 0;
	}
	if (rc != 0)
		return git_fail(e, FERR_IO, ctx->cwd);

	{
		char *gd = strip_slash(git_repository_path(ctx->repo));
		ctx->gitdir = resolve(gd);
		free(gd);
	}
	if (git_repository_is_bare(ctx->repo)) {
		ctx->root = xstrdup(ctx->gitdir);
		ctx->cwd_rel = xstrdup("");
	} else {
		char *wd = strip_slash(git_repository_workdir(ctx->repo));
		ctx->root = resolve(wd);
		free(wd);
		ctx->cwd_rel = relative_to(ctx->root, ctx->cwd);
		/* git honours $GIT_INDEX_FILE (set in hooks during a commit) */
		const char *env = getenv("GIT_INDEX_FILE");
		ctx->index_path = env && *env ? xstrdup(env) : NULL;
		if (!ctx->index_path) {
			struct buf p = BUF_INIT;
			buf_printf(&p, "%s/index", ctx->gitdir);
			ctx->index_path = buf_steal(&p);
		}
		int irc = idx_read(ctx->index_path, &ctx->index, e);
		if (irc == -2) {
			/* not damaged, only beyond forja: say so and show the rest */
			ctx->index_note = xstrdup(e->msg);
			ferr_clear(e);
		} else if (irc != 0) {
			return -1;
		} else {
			ctx->has_index = true;
		}
	}
	rc = git_repository_head(&ctx->head, ctx->repo);
	if (rc == 0) {
		git_object *obj = NULL;
		if (git_reference_peel(&obj, ctx->head, GIT_OBJECT_COMMIT) == 0) {
			ctx->head_commit = (git_commit *)obj;
			if (git_commit_tree(&ctx->head_tree, ctx->head_commit) != 0)
				return git_fail(e, FERR_IO, "reading the HEAD tree");
		}
	} else if (rc != GIT_EUNBORNBRANCH && rc != GIT_ENOTFOUND) {
		return git_fail(e, FERR_IO, "reading HEAD");
	}
	return 0;
}

void bs_ctx_release(struct bs_ctx *ctx)
{
	for (size_t i = 0; i < ctx->ndirty_subs; i++)
		free(ctx->dirty_subs[i]);
	free(ctx->dirty_subs);
	buf_release(&ctx->sub_state);
	if (ctx->initialized) {
		/* only then: a libgit2 call, even a free, loads the library */
		git_tree_free(ctx->head_tree);
		git_commit_free(ctx->head_commit);
		git_reference_free(ctx->head);
		git_repository_free(ctx->repo);
		git_libgit2_shutdown();
	}
	idx_release(&ctx->index);
	free(ctx->index_path);
	free(ctx->index_note);
	free(ctx->cwd);
	free(ctx->gitdir);
	free(ctx->root);
	free(ctx->cwd_rel);
	memset(ctx, 0, sizeof *ctx);
}

static char *short_id(const git_oid *oid)
{
	char hex[GIT_OID_HEXSZ + 1];

	git_oid_tostr(hex, sizeof hex, oid);
	hex[7] = '\0';
	return xstrdup(hex);
}

static char *branch_name(struct bs_ctx *ctx)
{
	git_reference *head = NULL;
	const char *target;
	char *name = NULL;

	if (ctx->head) {
		if (git_reference_is_branch(ctx->head))
			return utf8_text_dup(git_reference_shorthand(ctx->head),
					     strlen(git_reference_shorthand(ctx->head)));
		return NULL;
	}
	/* unborn: HEAD names a branch that does not exist yet */
	if (git_reference_lookup(&head, ctx->repo, "HEAD") == 0 &&
	    git_reference_type(head) == GIT_REFERENCE_SYMBOLIC &&
	    (target = git_reference_symbolic_target(head))) {
		if (strncmp(target, "refs/heads/", 11) == 0)
			target += 11;
		name = utf8_text_dup(target, strlen(target));
	}
	git_reference_free(head);
	return name;
}

static void fill_upstream(struct bs_ctx *ctx, struct bootstrap *bs, git_oid *up_oid)
{
	git_buf name = GIT_BUF_INIT;
	git_reference *up = NULL;

	memset(up_oid, 0, sizeof *up_oid);
	if (!ctx->head || !git_reference_is_branch(ctx->head))
		return;
	if (git_branch_upstream_name(&name, ctx->repo, git_reference_name(ctx->head)) != 0) {
		git_error_clear();
		return;
	}
	const char *shown = name.ptr;
	if (strncmp(shown, "refs/remotes/", 13) == 0)
		shown += 13;
	else if (strncmp(shown, "refs/heads/", 11) == 0)
		shown += 11;
	bs->upstream = utf8_text_dup(shown, strlen(shown));
	if (git_reference_lookup(&up, ctx->repo, name.ptr) != 0 ||
	    git_reference_name_to_id(up_oid, ctx->repo, name.ptr) != 0) {
		bs->upstream_gone = true;
		git_error_clear();
	} else if (ctx->head_commit) {
		git_graph_ahead_behind(&bs->ahead, &bs->behind, ctx->repo,
				       git_commit_id(ctx->head_commit), up_oid);
	}
	git_reference_free(up);
	git_buf_dispose(&name);
}

void bs_state_base(struct buf *key, size_t budget, const char *root, const char *cwd_rel,
		   const char *gitdir, const char *index_path, const struct idx *index)
{
	buf_printf(key, "format=%d\nbudget=%zu\nforja=%s\n", BOOTSTRAP_FORMAT_VERSION, budget,
		   FORJA_VERSION);
	buf_puts(key, "root=");
	utf8_quote_path(key, root, strlen(root));
	buf_puts(key, "\ncwd=");
	utf8_quote_path(key, cwd_rel, strlen(cwd_rel));
	buf_puts(key, "\ngitdir=");
	utf8_quote_path(key, gitdir, strlen(gitdir));
	buf_puts(key, "\nindex=");
	utf8_quote_path(key, index_path, strlen(index_path));
	/* no libgit2 here: the cache's fast path runs without it */
	buf_putc(key, ' ');
	for (size_t i = 0; i < sizeof index->checksum; i++)
		buf_printf(key, "%02x", index->checksum[i]);
	buf_printf(key, " %zu\n", index->count);
}

void bs_ctx_state_key(struct bs_ctx *ctx, size_t budget, struct buf *key)
{
	bs_state_base(key, budget, ctx->root, ctx->cwd_rel, ctx->gitdir, ctx->index_path,
		      &ctx->index);
	if (ctx->sub_state.len)
		buf_printf(key, "submodules=%s\n", ctx->sub_state.data);
}

#define NEVER_RACY INT64_MAX

static void record(struct wt_dirs *dirs, struct wt_fingerprint *fp, const char *path,
		   int64_t racy_after)
{
	struct stat st;
	bool present = lstat(path, &st) == 0;

	wt_fingerprint_add_stat(fp, path, present ? &st : NULL, racy_after);
	wt_dirs_push(dirs, path, strlen(path));
}

/* A directory and every non-directory directly in it: the project files
 * detect.c reads and the instruction files, tracked by git or not. */
static void record_dir_files(struct wt_dirs *dirs, struct wt_fingerprint *fp, const char *dir,
			     int64_t racy_after)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	struct buf p = BUF_INIT;
	char **names = NULL;
	size_t n = 0;

	record(dirs, fp, dir, racy_after);
	if (!d)
		return;
	while ((de = readdir(d))) {
		if (de->d_type == DT_DIR || strcmp(de->d_name, ".git") == 0)
			continue;
		names = xrealloc(names, (n + 1) * sizeof *names);
		names[n++] = xstrdup(de->d_name);
	}
	closedir(d);
	/* sorted, so that the recorded list does not depend on readdir order */
	if (n)
		qsort(names, n, sizeof *names, cmp_cstr);
	for (size_t i = 0; i < n; i++) {
		buf_reset(&p);
		buf_printf(&p, "%s/%s", strcmp(dir, "/") == 0 ? "" : dir, names[i]);
		record(dirs, fp, p.data, racy_after);
		free(names[i]);
	}
	free(names);
	buf_release(&p);
}

/* A ref as git may store it: a loose file, or a line in packed-refs (whose
 * stat is recorded once by the caller). */
static void record_ref(struct wt_dirs *dirs, struct wt_fingerprint *fp, const char *gitdir,
		       const char *commondir, const char *name)
{
	struct buf p = BUF_INIT;
	bool per_worktree = strncmp(name, "refs/", 5) != 0;

	buf_printf(&p, "%s/%s", per_worktree ? gitdir : commondir, name);
	record(dirs, fp, p.data, NEVER_RACY);
	buf_release(&p);
}

void bs_ctx_record_extra(struct bs_ctx *ctx, struct wt_dirs *dirs, struct wt_fingerprint *fp)
{
	int64_t racy_after = (int64_t)time(NULL) - 2;
	struct buf p = BUF_INIT;
	const char *home = getenv("HOME");
	const char *xdg = getenv("XDG_CONFIG_HOME");
	char *common = NULL;

	if (ctx->repo) {
		static const char *const git_files[] = {
			"config", "config.worktree", "info/exclude",
			/* git replaces these by renaming a new file over them: a new
			 * inode however soon it happens, so never racy */
			"HEAD", "packed-refs", "shallow",
			/* an operation in progress */
			"MERGE_HEAD", "CHERRY_PICK_HEAD", "REVERT_HEAD", "BISECT_LOG",
			"rebase-merge", "rebase-apply", "sequencer",
		};
		char *cd = strip_slash(git_repository_commondir(ctx->repo));
		common = resolve(cd);
		free(cd);
		for (size_t i = 0; i < sizeof git_files / sizeof *git_files; i++) {
			buf_reset(&p);
			int64_t racy = i < 3 ? racy_after : NEVER_RACY;
			buf_printf(&p, "%s/%s", ctx->gitdir, git_files[i]);
			record(dirs, fp, p.data, racy);
			if (strcmp(common, ctx->gitdir) != 0) {
				buf_reset(&p);
				buf_printf(&p, "%s/%s", common, git_files[i]);
				record(dirs, fp, p.data, racy);
			}
		}
		/* the refs the scan read: HEAD's branch and its upstream */
		git_reference *head = NULL;
		if (git_reference_lookup(&head, ctx->repo, "HEAD") == 0 &&
		    git_reference_type(head) == GIT_REFERENCE_SYMBOLIC) {
			const char *branch = git_reference_symbolic_target(head);
			git_buf up = GIT_BUF_INIT;
			record_ref(dirs, fp, ctx->gitdir, common, branch);
			if (git_branch_upstream_name(&up, ctx->repo, branch) == 0)
				record_ref(dirs, fp, ctx->gitdir, common, up.ptr);
			git_buf_dispose(&up);
		}
		git_reference_free(head);
		/* a core.excludesFile set anywhere in the config */
		git_config *cfg = NULL;
		git_buf v = GIT_BUF_INIT;
		if (git_repository_config_snapshot(&cfg, ctx->repo) == 0 &&
		    git_config_get_path(&v, cfg, "core.excludesfile") == 0)
			record(dirs, fp, v.ptr, racy_after);
		git_buf_dispose(&v);
		git_config_free(cfg);
		git_error_clear();
	}
	record(dirs, fp, "/etc/gitconfig", racy_after);
	if (home && *home) {
		static const char *const xdg_files[] = { "git/config", "git/ignore" };
		buf_reset(&p);
		buf_printf(&p, "%s/.gitconfig", home);
		record(dirs, fp, p.data, racy_after);
		for (size_t i = 0; i < 2; i++) {
			buf_reset(&p);
			if (xdg && *xdg)
				buf_printf(&p, "%s/%s", xdg, xdg_files[i]);
			else
				buf_printf(&p, "%s/.config/%s", home, xdg_files[i]);
			record(dirs, fp, p.data, racy_after);
		}
	}
	/* each directory from the root down to cwd may hold an AGENTS.md */
	buf_reset(&p);
	buf_puts(&p, ctx->root);
	record_dir_files(dirs, fp, p.data, racy_after);
	for (const char *c = ctx->cwd_rel; *c;) {
		const char *slash = strchr(c, '/');
		size_t n = slash ? (size_t)(slash - c) : strlen(c);
		if (p.len && p.data[p.len - 1] != '/')
			buf_putc(&p, '/');
		buf_add(&p, c, n);
		record_dir_files(dirs, fp, p.data, racy_after);
		c += n;
		while (*c == '/')
			c++;
	}
	free(common);
	buf_release(&p);
}

/* Read a regular file beneath root (no link may lead outside it), at most
 * cap bytes.  Returns 0 with text, or -1 when absent or not acceptable. */
static int read_beneath(const char *root, const char *path, size_t cap, struct buf *text,
			uint64_t *size)
{
	char *real = realpath(path, NULL);
	size_t rl = strlen(root);
	struct stat st;
	int fd = -1, rc = -1;

	if (!real)
		return -1;
	if (strncmp(real, root, rl) != 0 || (real[rl] != '/' && strcmp(root, "/") != 0))
		goto out;
	fd = open(real, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
		goto out;
	*size = (uint64_t)st.st_size;
	buf_reset(text);
	buf_grow(text, cap);
	while (text->len < cap) {
		ssize_t n = read(fd, text->data + text->len, cap - text->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		text->len += (size_t)n;
	}
	text->data[text->len] = '\0';
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	free(real);
	return rc;
}

/* Cut at a character boundary no later than len. */
static size_t utf8_floor(const char *s, size_t len)
{
	while (len > 0 && ((unsigned char)s[len] & 0xc0) == 0x80)
		len--;
	return len;
}

/* README lines that are markup rather than words. */
static bool readme_noise(const char *l, size_t len)
{
	size_t i = 0;

	while (i < len && (l[i] == ' ' || l[i] == '\t'))
		i++;
	l += i;
	len -= i;
	if (!len)
		return false;
	if (l[0] == '<' || (len >= 3 && memcmp(l, "[![", 3) == 0) || (len >= 2 && memcmp(l, "![", 2) == 0))
		return true;
	/* a Markdown link definition: [name]: url */
	if (l[0] == '[') {
		const char *close = memchr(l, ']', len);
		if (close && (size_t)(close - l) + 1 < len && close[1] == ':')
			return true;
	}
	return false;
}

static void read_doc(struct bs_doc *doc, const char *root, const char *rel, size_t cap,
		     size_t max_lines)
{
	struct buf abs = BUF_INIT, text = BUF_INIT;
	uint64_t size = 0;

	buf_printf(&abs, "%s/%s", root, rel);
	if (read_beneath(root, abs.data, cap + 1, &text, &size) == 0) {
		size_t keep = text.len;
		doc->truncated = text.len > cap;
		if (keep > cap)
			keep = utf8_floor(text.data, cap);
		if (max_lines) {
			/* the first lines that say something: no markup, badges,
			 * link definitions or runs of blank lines */
			struct buf lines = BUF_INIT;
			size_t n = 0, i = 0;
			bool blank = true;
			while (i < keep && n < max_lines) {
				const char *l = text.data + i;
				const char *nl = memchr(l, '\n', keep - i);
				size_t len = nl ? (size_t)(nl - l) : keep - i;
				i += len + (nl != NULL);
				while (len && (l[len - 1] == '\r' || l[len - 1] == ' ' || l[len - 1] == '\t'))
					len--;
				if (readme_noise(l, len))
					continue;
				if (!len) {
					if (!blank)
						buf_putc(&lines, '\n');
					blank = true;
					continue;
				}
				buf_add(&lines, l, len);
				buf_putc(&lines, '\n');
				blank = false;
				n++;
			}
			if (i < keep || (uint64_t)keep < size)
				doc->truncated = true;
			buf_release(&text);
			text = lines;
			keep = text.len;
		}
		while (keep > 0 && (text.data[keep - 1] == '\n' || text.data[keep - 1] == '\r' ||
				    text.data[keep - 1] == ' '))
			keep--;
		doc->path = utf8_path_dup(rel, strlen(rel));
		doc->text = utf8_text_dup(text.data, keep);
		doc->size = size;
	}
	buf_release(&abs);
	buf_release(&text);
}

static void scan_docs(struct bs_ctx *ctx, struct bootstrap *bs)
{
	struct buf rel = BUF_INIT, file = BUF_INIT;

	/* AGENTS.md from the root down to cwd, in that order */
	for (const char *c = ctx->cwd_rel;;) {
		buf_reset(&file);
		if (rel.len)
			buf_printf(&file, "%s/", rel.data);
		buf_puts(&file, "AGENTS.md");
		struct bs_doc doc = { 0 };
		read_doc(&doc, ctx->root, file.data, BOOTSTRAP_DOC_CAP, 0);
		if (doc.path) {
			bs->agents = xrealloc(bs->agents, (bs->nagents + 1) * sizeof *bs->agents);
			bs->agents[bs->nagents++] = doc;
		}
		if (!*c)
			break;
		const char *slash = strchr(c, '/');
		size_t n = slash ? (size_t)(slash - c) : strlen(c);
		if (rel.len)
			buf_putc(&rel, '/');
		buf_add(&rel, c, n);
		c += n;
		while (*c == '/')
			c++;
	}
	for (size_t i = 0; i < sizeof readme_names / sizeof *readme_names && !bs->readme.path; i++)
		read_doc(&bs->readme, ctx->root, readme_names[i], README_BYTES_MAX,
			 BOOTSTRAP_README_LINES);
	buf_release(&rel);
	buf_release(&file);
}

static void scan_commands(struct bs_ctx *ctx, struct bootstrap *bs)
{
	struct ferr ignored = FERR_INIT;

	detect_commands(ctx->root, "", &bs->commands, &bs->ncommands, &ignored);
	if (*ctx->cwd_rel) {
		struct buf prefix = BUF_INIT;
		buf_printf(&prefix, "%s/", ctx->cwd_rel);
		detect_commands(ctx->cwd, prefix.data, &bs->commands, &bs->ncommands, &ignored);
		buf_release(&prefix);
	}
}

static void format_time(char *out, size_t len, git_time_t when, int offset_min)
{
	time_t t = (time_t)when + (time_t)offset_min * 60;
	struct tm tm;
	int off = offset_min < 0 ? -offset_min : offset_min;

	gmtime_r(&t, &tm);
	snprintf(out, len, "%04d-%02d-%02dT%02d:%02d:%02d%c%02d:%02d", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		 offset_min < 0 ? '-' : '+', off / 60, off % 60);
}

static char *commit_subject(const git_commit *c)
{
	const char *msg = git_commit_message(c);
	size_t n = 0;

	if (!msg)
		return xstrdup("");
	while (msg[n] == '\n')
		msg++;
	while (msg[n] && msg[n] != '\n')
		n++;
	if (n > 200)
		n = utf8_floor(msg, 200);
	return utf8_text_dup(msg, n);
}

static int scan_commits(struct bs_ctx *ctx, struct bootstrap *bs, struct ferr *e)
{
	git_revwalk *walk = NULL;
	git_oid oid;
	char when[64];

	if (!ctx->head_commit)
		return 0;
	bs->head_id = short_id(git_commit_id(ctx->head_commit));
	bs->head_subject = commit_subject(ctx->head_commit);
	format_time(when, sizeof when, git_commit_time(ctx->head_commit),
		    git_commit_time_offset(ctx->head_commit));
	bs->head_date = xstrdup(when);
	if (git_revwalk_new(&walk, ctx->repo) != 0 ||
	    /* git log's own order; GIT_SORT_TIME would read the whole history */
	    git_revwalk_sorting(walk, GIT_SORT_NONE) != 0 ||
	    git_revwalk_push(walk, git_commit_id(ctx->head_commit)) != 0) {
		git_revwalk_free(walk);
		return git_fail(e, FERR_IO, "walking the history");
	}
	bs->commits = xcalloc(BOOTSTRAP_MAX_COMMITS, sizeof *bs->commits);
	while (bs->ncommits < BOOTSTRAP_MAX_COMMITS && git_revwalk_next(&oid, walk) == 0) {
		git_commit *c = NULL;
		if (git_commit_lookup(&c, ctx->repo, &oid) != 0)
			break;
		bs->commits[bs->ncommits].id = short_id(&oid);
		bs->commits[bs->ncommits].subject = commit_subject(c);
		bs->ncommits++;
		git_commit_free(c);
	}
	git_error_clear();
	git_revwalk_free(walk);
	return 0;
}

/* Strip "user:password@" from a URL so that no credential is shown. */
static char *url_without_credentials(const char *url)
{
	const char *scheme = strstr(url, "://");
	const char *host = scheme ? scheme + 3 : url;
	const char *at = NULL;

	for (const char *p = host; *p && *p != '/'; p++)
		if (*p == '@')
			at = p;
	if (!scheme || !at)
		return utf8_text_dup(url, strlen(url));
	struct buf b = BUF_INIT;
	buf_add(&b, url, (size_t)(host - url));
	buf_puts(&b, at + 1);
	char *clean = utf8_text_dup(b.data, b.len);
	buf_release(&b);
	return clean;
}

static git_submodule_ignore_t parse_ignore(const char *v)
{
	if (strcmp(v, "all") == 0)
		return GIT_SUBMODULE_IGNORE_ALL;
	if (strcmp(v, "dirty") == 0)
		return GIT_SUBMODULE_IGNORE_DIRTY;
	if (strcmp(v, "untracked") == 0)
		return GIT_SUBMODULE_IGNORE_UNTRACKED;
	if (strcmp(v, "none") == 0)
		return GIT_SUBMODULE_IGNORE_NONE;
	return GIT_SUBMODULE_IGNORE_UNSPECIFIED;
}

/* As git decides it: submodule.NAME.ignore in the repository's config,
 * then in .gitmodules, then diff.ignoreSubmodules. */
static git_submodule_ignore_t submodule_ignore(struct bs_ctx *ctx, git_submodule *sm,
					       const char *name)
{
	git_config *cfg = NULL;
	git_buf v = GIT_BUF_INIT;
	struct buf key = BUF_INIT;
	git_submodule_ignore_t ign = GIT_SUBMODULE_IGNORE_UNSPECIFIED;

	buf_printf(&key, "submodule.%s.ignore", name);
	if (git_repository_config_snapshot(&cfg, ctx->repo) == 0) {
		if (git_config_get_string_buf(&v, cfg, key.data) == 0)
			ign = parse_ignore(v.ptr);
		git_buf_dispose(&v);
		if (ign == GIT_SUBMODULE_IGNORE_UNSPECIFIED &&
		    git_submodule_ignore(sm) != GIT_SUBMODULE_IGNORE_NONE)
			ign = git_submodule_ignore(sm);
		if (ign == GIT_SUBMODULE_IGNORE_UNSPECIFIED &&
		    git_config_get_string_buf(&v, cfg, "diff.ignoresubmodules") == 0)
			ign = parse_ignore(v.ptr);
		git_buf_dispose(&v);
		git_config_free(cfg);
	}
	git_error_clear();
	buf_release(&key);
	return ign == GIT_SUBMODULE_IGNORE_UNSPECIFIED ? GIT_SUBMODULE_IGNORE_NONE : ign;
}

struct sub_walk {
	struct bs_ctx *ctx;
	struct bootstrap *bs;  /* NULL: only the state for the cache key */
};

static int sub_cb(git_submodule *sm, const char *name, void *payload)
{
	struct sub_walk *sw = payload;
	unsigned int flags = 0;
	const git_oid *id = git_submodule_index_id(sm);
	const char *path = git_submodule_path(sm);
	const char *state = "ok";
	char hex[GIT_OID_HEXSZ + 1] = "";

	if (git_submodule_status(&flags, sw->ctx->repo, name, submodule_ignore(sw->ctx, sm, name)) != 0) {
		git_error_clear();
		flags = 0;
	}
	if (id)
		git_oid_tostr(hex, sizeof hex, id);
	if (flags & GIT_SUBMODULE_STATUS_WD_UNINITIALIZED)
		state = "not initialized";
	else if (flags & GIT_SUBMODULE_STATUS_WD_DELETED)
		state = "missing";
	else if (flags & GIT_SUBMODULE_STATUS_WD_MODIFIED)
		state = "new commits";
	else if (flags & (GIT_SUBMODULE_STATUS_WD_INDEX_MODIFIED | GIT_SUBMODULE_STATUS_WD_WD_MODIFIED))
		state = "modified content";
	else if (flags & GIT_SUBMODULE_STATUS_WD_UNTRACKED)
		state = "untracked content";
	buf_printf(&sw->ctx->sub_state, "%s %s %u;", path, hex, flags);
	if ((flags & (GIT_SUBMODULE_STATUS_WD_MODIFIED | GIT_SUBMODULE_STATUS_WD_INDEX_MODIFIED |
		      GIT_SUBMODULE_STATUS_WD_WD_MODIFIED | GIT_SUBMODULE_STATUS_WD_UNTRACKED |
		      GIT_SUBMODULE_STATUS_WD_DELETED)) &&
	    !(flags & GIT_SUBMODULE_STATUS_WD_UNINITIALIZED)) {
		struct bs_ctx *ctx = sw->ctx;
		ctx->dirty_subs = xrealloc(ctx->dirty_subs,
					   (ctx->ndirty_subs + 1) * sizeof *ctx->dirty_subs);
		ctx->dirty_subs[ctx->ndirty_subs++] = xstrdup(path);
	}
	if (sw->bs) {
		struct bootstrap *bs = sw->bs;
		struct bs_submodule *s;
		bs->submodules = xrealloc(bs->submodules,
					  (bs->nsubmodules + 1) * sizeof *bs->submodules);
		s = &bs->submodules[bs->nsubmodules++];
		memset(s, 0, sizeof *s);
		s->name = utf8_text_dup(name, strlen(name));
		s->path = utf8_path_dup(path, strlen(path));
		s->url = git_submodule_url(sm) ? url_without_credentials(git_submodule_url(sm))
					       : xstrdup("");
		s->head = id ? xstrndup(hex, 7) : NULL;
		s->state = xstrdup(state);
	}
	return 0;
}


static int cmp_submodule(const void *a, const void *b)
{
	return strcmp(((const struct bs_submodule *)a)->path, ((const struct bs_submodule *)b)->path);
}

/* Submodule states: for the listing, for the status (a submodule with new
 * commits or changes is modified) and for the cache key. */
static void scan_submodules(struct bs_ctx *ctx, struct bootstrap *bs)
{
	struct sub_walk sw = { ctx, bs };
	bool any = false;

	for (size_t i = 0; i < ctx->ndirty_subs; i++)
		free(ctx->dirty_subs[i]);
	free(ctx->dirty_subs);
	ctx->dirty_subs = NULL;
	ctx->ndirty_subs = 0;
	buf_reset(&ctx->sub_state);
	if (!ctx->has_index)
		return;
	for (size_t i = 0; i < ctx->index.count && !any; i++)
		any = bs_is_gitlink(ctx->index.entries[i].mode);
	if (!any)
		return;
	git_submodule_foreach(ctx->repo, sub_cb, &sw);
	git_error_clear();
	if (ctx->ndirty_subs)
		qsort(ctx->dirty_subs, ctx->ndirty_subs, sizeof *ctx->dirty_subs, cmp_cstr);
	if (bs)
		if (bs->nsubmodules)
			qsort(bs->submodules, bs->nsubmodules, sizeof *bs->submodules, cmp_submodule);
}

static void add_top(struct bs_list *top, const char *name, size_t len, bool is_dir)
{
	struct buf b = BUF_INIT;

	buf_add(&b, name, len);
	if (is_dir)
		buf_putc(&b, '/');
	bs_list_push(top, TOP_ENTRIES_MAX, b.data, b.len);
	buf_release(&b);
}

static void scan_files(struct bs_ctx *ctx, struct bootstrap *bs)
{
	struct detect_langs *dl = detect_langs_new();
	const char *prev = NULL;
	size_t prev_len = 0;
	for (size_t i = 0; i < ctx->index.count; i++) {
		const struct idx_entry *ie = &ctx->index.entries[i];
		size_t plen = ie->path_len;
		if (i > 0 && ctx->index.entries[i - 1].path_len == plen &&
		    memcmp(ctx->index.entries[i - 1].path, ie->path, plen) == 0)
			continue; /* another stage of a conflicted path */
		bs->tracked_files++;
		if (!bs_is_gitlink(ie->mode))
			detect_langs_add(dl, ie->path, plen, ie->size);
		const char *slash = strchr(ie->path, '/');
		size_t tlen = slash ? (size_t)(slash - ie->path) : plen;
		if (prev && tlen == prev_len && memcmp(prev, ie->path, tlen) == 0)
			continue;
		prev = ie->path;
		prev_len = tlen;
		/* sorted: the entries under one top-level directory are adjacent */
		add_top(&bs->top, ie->path, tlen, slash != NULL);
	}
	detect_langs_finish(dl, &bs->langs, &bs->nlangs);
	detect_langs_free(dl);
}

/* Outside a repository: a bounded walk of the directory, skipping hidden
 * entries and the usual dependency and build directories. */
static bool plain_skip(const char *name)
{
	static const char *const skip[] = { "node_modules", "target", "build", "dist",
					    "__pycache__", "venv", "vendor" };

	if (name[0] == '.')
		return true;
	for (size_t i = 0; i < sizeof skip / sizeof *skip; i++)
		if (strcmp(name, skip[i]) == 0)
			return true;
	return false;
}

static void plain_walk(struct bootstrap *bs, struct detect_langs *dl, struct buf *path,
		       size_t root_len, dev_t dev, int depth, bool *capped)
{
	DIR *d;
	struct dirent *de;
	size_t base = path->len;
	struct stat st;

	if (depth > 64 || !(d = opendir(path->data)))
		return;
	while ((de = readdir(d)) && !*capped) {
		if (plain_skip(de->d_name))
			continue;
		buf_truncate(path, base);
		buf_printf(path, "/%s", de->d_name);
		if (lstat(path->data, &st) != 0)
			continue;
		if (S_ISDIR(st.st_mode)) {
			/* never into /proc, /sys or another mount */
			if (st.st_dev == dev)
				plain_walk(bs, dl, path, root_len, dev, depth + 1, capped);
		} else if (S_ISREG(st.st_mode) || S_ISLNK(st.st_mode)) {
			if (bs->tracked_files >= PLAIN_SCAN_MAX_FILES) {
				*capped = true;
				break;
			}
			bs->tracked_files++;
			const char *rel = path->data + root_len + 1;
			detect_langs_add(dl, rel, strlen(rel), (uint64_t)st.st_size);
		}
	}
	closedir(d);
	buf_truncate(path, base);
}

static void scan_plain(struct bs_ctx *ctx, struct bootstrap *bs)
{
	struct detect_langs *dl = detect_langs_new();
	struct buf path = BUF_INIT;
	bool capped = false;
	DIR *d;
	struct dirent *de;
	char **names = NULL;
	size_t n = 0;

	struct stat rst;
	buf_puts(&path, ctx->root);
	if (stat(ctx->root, &rst) == 0)
		plain_walk(bs, dl, &path, path.len, rst.st_dev, 0, &capped);
	detect_langs_finish(dl, &bs->langs, &bs->nlangs);
	detect_langs_free(dl);
	if (capped) {
		char note[128];
		snprintf(note, sizeof note, "file count stopped at %d files", PLAIN_SCAN_MAX_FILES);
		bs_list_push(&bs->notes, 16, note, strlen(note));
	}
	if ((d = opendir(ctx->root))) {
		while ((de = readdir(d))) {
			if (de->d_name[0] == '.')
				continue;
			names = xrealloc(names, (n + 1) * sizeof *names);
			struct stat st;
			buf_reset(&path);
			buf_printf(&path, "%s/%s", ctx->root, de->d_name);
			bool dir = lstat(path.data, &st) == 0 && S_ISDIR(st.st_mode);
			buf_reset(&path);
			buf_printf(&path, "%s%s", de->d_name, dir ? "/" : "");
			names[n++] = buf_steal(&path);
		}
		closedir(d);
	}
	if (n)
		qsort(names, n, sizeof *names, cmp_cstr);
	for (size_t i = 0; i < n; i++) {
		bs_list_push(&bs->top, TOP_ENTRIES_MAX, names[i], strlen(names[i]));
		free(names[i]);
	}
	free(names);
	buf_release(&path);
}

int bs_ctx_scan(struct bs_ctx *ctx, struct bootstrap *bs, struct wt_dirs *dirs,
		struct wt_fingerprint *fp, struct ferr *e)
{
	const char *slash;
	git_oid up;

	bs->root = utf8_path_dup(ctx->root, strlen(ctx->root));
	slash = strrchr(ctx->root, '/');
	bs->name = utf8_path_dup(slash && slash[1] ? slash + 1 : ctx->root,
				 strlen(slash && slash[1] ? slash + 1 : ctx->root));
	bs->cwd_rel = utf8_path_dup(ctx->cwd_rel, strlen(ctx->cwd_rel));
	if (!ctx->repo) {
		static const char note[] = "not a git repository: a plain directory scan";
		bs_list_push(&bs->notes, 16, note, sizeof note - 1);
		scan_plain(ctx, bs);
		scan_docs(ctx, bs);
		scan_commands(ctx, bs);
		return 0;
	}
	bs->has_repo = true;
	bs->is_bare = git_repository_is_bare(ctx->repo);
	bs->is_worktree = git_repository_is_worktree(ctx->repo);
	{
		char *gd = strip_slash(git_repository_path(ctx->repo));
		char *real = resolve(gd);
		bs->git_dir = utf8_path_dup(real, strlen(real));
		free(real);
		free(gd);
	}
	bs->branch = branch_name(ctx);
	bs->is_unborn = ctx->head_commit == NULL;
	if (bs->is_unborn) {
		static const char note[] = "no commits yet";
		bs_list_push(&bs->notes, 16, note, sizeof note - 1);
	}
	fill_upstream(ctx, bs, &up);
	if (scan_commits(ctx, bs, e) != 0)
		return -1;
	static const struct { int state; const char *note; } states[] = {
		{ GIT_REPOSITORY_STATE_MERGE, "a merge is in progress (git merge --continue or --abort)" },
		{ GIT_REPOSITORY_STATE_REVERT, "a revert is in progress" },
		{ GIT_REPOSITORY_STATE_REVERT_SEQUENCE, "a revert is in progress" },
		{ GIT_REPOSITORY_STATE_CHERRYPICK, "a cherry-pick is in progress" },
		{ GIT_REPOSITORY_STATE_CHERRYPICK_SEQUENCE, "a cherry-pick is in progress" },
		{ GIT_REPOSITORY_STATE_BISECT, "a bisect is in progress" },
		{ GIT_REPOSITORY_STATE_REBASE, "a rebase is in progress" },
		{ GIT_REPOSITORY_STATE_REBASE_INTERACTIVE, "an interactive rebase is in progress" },
		{ GIT_REPOSITORY_STATE_REBASE_MERGE, "a rebase is in progress" },
		{ GIT_REPOSITORY_STATE_APPLY_MAILBOX, "git am is in progress" },
		{ GIT_REPOSITORY_STATE_APPLY_MAILBOX_OR_REBASE, "git am or a rebase is in progress" },
	};
	int state = git_repository_state(ctx->repo);
	for (size_t i = 0; i < sizeof states / sizeof *states; i++)
		if (states[i].state == state)
			bs_list_push(&bs->notes, 16, states[i].note, strlen(states[i].note));
	if (bs->is_bare) {
		static const char note[] = "bare repository: no working tree, so no status, files or languages";
		bs_list_push(&bs->notes, 16, note, sizeof note - 1);
		return 0;
	}
	if (!ctx->has_index) {
		struct buf note = BUF_INIT;
		buf_printf(&note, "no status or file list: %s", ctx->index_note ? ctx->index_note : "no index");
		bs_list_push(&bs->notes, 16, note.data, note.len);
		buf_release(&note);
		scan_docs(ctx, bs);
		scan_commands(ctx, bs);
		return 0;
	}
	scan_submodules(ctx, bs);
	if (wt_status(ctx->repo, &ctx->index, ctx->head_tree,
		      (const char *const *)ctx->dirty_subs, ctx->ndirty_subs,
		      &bs->status, dirs, fp, e) != 0)
		return -1;
	bs->has_status = true;
	scan_files(ctx, bs);
	scan_docs(ctx, bs);
	scan_commands(ctx, bs);
	return 0;
}

void bs_ctx_submodule_state(struct bs_ctx *ctx)
{
	scan_submodules(ctx, NULL);
}

static void doc_release(struct bs_doc *d)
{
	free(d->path);
	free(d->text);
}

void bootstrap_release(struct bootstrap *bs)
{
	free(bs->root);
	free(bs->name);
	free(bs->cwd_rel);
	free(bs->git_dir);
	free(bs->branch);
	free(bs->head_id);
	free(bs->head_subject);
	free(bs->head_date);
	free(bs->upstream);
	bs_list_release(&bs->status.staged);
	bs_list_release(&bs->status.modified);
	bs_list_release(&bs->status.untracked);
	bs_list_release(&bs->status.conflicted);
	for (size_t i = 0; i < bs->ncommits; i++) {
		free(bs->commits[i].id);
		free(bs->commits[i].subject);
	}
	free(bs->commits);
	for (size_t i = 0; i < bs->nlangs; i++)
		free(bs->langs[i].name);
	free(bs->langs);
	bs_list_release(&bs->top);
	detect_commands_free(bs->commands, bs->ncommands);
	for (size_t i = 0; i < bs->nagents; i++)
		doc_release(&bs->agents[i]);
	free(bs->agents);
	doc_release(&bs->readme);
	for (size_t i = 0; i < bs->nsubmodules; i++) {
		struct bs_submodule *s = &bs->submodules[i];
		free(s->name);
		free(s->path);
		free(s->url);
		free(s->head);
		free(s->state);
	}
	free(bs->submodules);
	bs_list_release(&bs->notes);
	memset(bs, 0, sizeof *bs);
}

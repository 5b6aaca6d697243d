/*
 * test_shadow.c — the shadow repository against real temporary git
 * repositories made with `git`: what a snapshot records, shadow_changed and
 * shadow_diff after edits, deletions, additions, chmod, a file replaced by
 * a symbolic link, new directories, ignored files and a nested repository;
 * shadow_restore bringing back every byte and mode and removing what was
 * added; the user's repository unchanged byte for byte throughout; a
 * workspace that is not a repository; snapshots in a row; hostile
 * snapshots and symbolic links that point out; 10,000 files timed.
 */
#include "forja/shadow.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "tap.h"

static char tmp[64];

static void vcmd(struct buf *b, const char *fmt, va_list ap)
{
	buf_reset(b);
	buf_vprintf(b, fmt, ap);
}

/* Run a shell command; its exit status (0 ok). */
static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
	struct buf cmd = BUF_INIT;
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vcmd(&cmd, fmt, ap);
	va_end(ap);
	rc = system(cmd.data);
	if (rc != 0)
		printf("# command failed (%d): %s\n", rc, cmd.data);
	buf_release(&cmd);
	return rc;
}

/* Run a shell command and return its standard output (the caller frees). */
static char *capture(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *capture(const char *fmt, ...)
{
	struct buf cmd = BUF_INIT, out = BUF_INIT;
	char chunk[4096];
	size_t n;
	va_list ap;
	FILE *p;

	va_start(ap, fmt);
	vcmd(&cmd, fmt, ap);
	va_end(ap);
	p = popen(cmd.data, "r");
	if (p) {
		while ((n = fread(chunk, 1, sizeof chunk, p)) > 0)
			buf_add(&out, chunk, n);
		pclose(p);
	}
	buf_release(&cmd);
	return buf_steal(&out);
}

static char *read_file(const char *path)
{
	struct buf out = BUF_INIT;
	char chunk[4096];
	size_t n;
	FILE *f = fopen(path, "rb");

	if (!f)
		return NULL;
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
		buf_add(&out, chunk, n);
	fclose(f);
	return buf_steal(&out);
}

static char *path_in(const char *dir, const char *name)
{
	struct buf b = BUF_INIT;

	buf_printf(&b, "%s/%s", dir, name);
	return buf_steal(&b);
}

/* "kind:mode" of path without following links: "file:644", "link", "dir", "none". */
static char *kind(const char *dir, const char *name)
{
	char *p = path_in(dir, name);
	struct buf b = BUF_INIT;
	struct stat st;

	if (lstat(p, &st) != 0)
		buf_puts(&b, "none");
	else if (S_ISLNK(st.st_mode))
		buf_puts(&b, "link");
	else if (S_ISDIR(st.st_mode))
		buf_puts(&b, "dir");
	else
		buf_printf(&b, "file:%o", (unsigned)(st.st_mode & 0777));
	free(p);
	return buf_steal(&b);
}

static void is_kind(const char *dir, const char *name, const char *want, const char *test)
{
	char *got = kind(dir, name);

	tap_is_str(got, want, test);
	free(got);
}

static void is_content(const char *dir, const char *name, const char *want, const char *test)
{
	char *p = path_in(dir, name);
	char *got = read_file(p);

	tap_is_str(got, want, test);
	free(got);
	free(p);
}

static char *changed_list(struct shadow *s, const char *from)
{
	struct ferr e = FERR_INIT;
	struct buf b = BUF_INIT;
	char **paths = NULL;
	size_t n = 0;

	if (shadow_changed(s, from, &paths, &n, &e) != 0) {
		buf_printf(&b, "error: %s", e.msg);
		return buf_steal(&b);
	}
	for (size_t i = 0; i < n; i++)
		buf_printf(&b, "%s%s", i ? "," : "", paths[i]);
	shadow_paths_free(paths, n);
	return buf_steal(&b);
}

static void is_changed(struct shadow *s, const char *from, const char *want, const char *test)
{
	char *got = changed_list(s, from);

	tap_is_str(got, want, test);
	free(got);
}

/* Everything about the user's repository a shadow must never change. */
static char *user_state(const char *ws)
{
	return capture("cd '%s' && sha256sum .git/index .git/config .git/HEAD && "
		       "git --no-optional-locks status --porcelain=v1 --untracked-files=all && "
		       "echo STASH && git stash list && echo REFS && git for-each-ref && "
		       "echo OBJECTS && find .git -type f | sort | sha256sum",
		       ws);
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}

static void test_git_workspace(void)
{
	struct ferr e = FERR_INIT;
	struct shadow *s = NULL;
	struct buf diff = BUF_INIT, report = BUF_INIT;
	char s1[41], s2[41];
	char *ws = path_in(tmp, "ws");
	char *before, *after, *p, *newer;

	sh("mkdir -p '%s' && cd '%s' && git init -q -b main . && "
	   "printf 'line one\\nline two\\n' >a.txt && printf 'bee\\n' >b.txt && "
	   "printf '#!/bin/sh\\necho hi\\n' >keep.sh && printf 'not a link\\n' >link-me.txt && "
	   "mkdir dir && printf 'sea\\n' >dir/c.txt && printf '*.log\\nbuild/\\n' >.gitignore && "
	   "printf 'old log\\n' >old.log && mkdir build && printf 'obj\\n' >build/x.o && "
	   "chmod 644 keep.sh && git add . && git commit -q -m one && "
	   "printf 'stashed\\n' >>b.txt && git stash -q && "
	   "printf 'staged\\n' >staged.txt && git add staged.txt && "
	   "printf 'local edit\\n' >>dir/c.txt",
	   ws, ws);
	before = user_state(ws);
	sh("touch '%s/marker'", tmp);
	usleep(20000);

	tap_is_int(shadow_open(ws, &s, &e), 0, "shadow_open on a git workspace");
	if (!s) {
		printf("#   error: %s\n", e.msg);
		return;
	}
	p = path_in(tmp, "shadow/");
	tap_ok(strncmp(shadow_path(s), p, strlen(p)) == 0 &&
		       strlen(shadow_path(s)) == strlen(p) + 16 + 4,
	       "the shadow lives under FORJA_SHADOW_DIR as <16 hex>.git");
	free(p);
	{
		char *cfg = capture("git --git-dir='%s' config --get core.autocrlf; "
				    "git --git-dir='%s' config --get core.filemode; "
				    "git --git-dir='%s' config --get core.symlinks; "
				    "git --git-dir='%s' config --get core.bare",
				    shadow_path(s), shadow_path(s), shadow_path(s), shadow_path(s));
		tap_is_str(cfg, "false\ntrue\ntrue\ntrue\n",
			   "shadow config: autocrlf false, filemode, symlinks, bare");
		free(cfg);
	}

	tap_is_int(shadow_snapshot(s, "turn 1", s1, &e), 0, "first snapshot");
	tap_is_int((long long)strlen(s1), 40, "  its id is 40 hex digits");
	{
		char *tree = capture("git --git-dir='%s' ls-tree -r --name-only %s | tr '\\n' ,",
				     shadow_path(s), s1);
		tap_is_str(tree, ".gitignore,a.txt,b.txt,dir/c.txt,keep.sh,link-me.txt,staged.txt,",
			   "  it records the workspace's files, not ignored ones, not .git");
		free(tree);
		char *msg = capture("git --git-dir='%s' log -1 --format='%%an <%%ae> %%s' %s",
				    shadow_path(s), s1);
		tap_is_str(msg, "forja <forja@localhost> turn 1\n", "  author and label");
		free(msg);
	}
	is_changed(s, s1, "", "nothing changed right after the snapshot");
	is_changed(s, NULL, "", "  NULL means the latest snapshot");

	/* a turn: every kind of change */
	sh("cd '%s' && printf 'line one\\nline 2\\n' >a.txt && rm b.txt && "
	   "printf 'brand new\\n' >new.txt && printf 'ignored\\n' >new.log && "
	   "chmod +x keep.sh && rm link-me.txt && ln -s a.txt link-me.txt && "
	   "mkdir -p newdir/sub && printf 'x\\n' >newdir/x.txt && printf 'y\\n' >newdir/sub/y.txt && "
	   "printf 'more obj\\n' >build/y.o && "
	   "mkdir inner && cd inner && git init -q . && printf 'inner\\n' >f && cd .. && "
	   "printf 'stay\\n' >dir/c.txt.log",
	   ws);
	is_changed(s, s1, "a.txt,b.txt,keep.sh,link-me.txt,new.txt,newdir/sub/y.txt,newdir/x.txt",
		   "shadow_changed lists exactly the changed paths that are not ignored");

	tap_is_int(shadow_diff(s, s1, &diff, 3, &e), 0, "shadow_diff");
	tap_contains(diff.data, "diff --git a/a.txt b/a.txt\n", "  a.txt has a header");
	tap_contains(diff.data, "-line two\n+line 2\n", "  and its change");
	tap_contains(diff.data, "diff --git a/b.txt b/b.txt\ndeleted file mode 100644",
		     "  b.txt deleted");
	tap_contains(diff.data, "new file mode 100644", "  new.txt added");
	tap_contains(diff.data, "+brand new\n", "  with its content");
	tap_contains(diff.data, "old mode 100644\nnew mode 100755", "  keep.sh made executable");
	tap_contains(diff.data, "--- a/link-me.txt\n+++ /dev/null\n@@ -1 +0,0 @@\n-not a link\n",
		     "  link-me.txt's file deleted");
	tap_contains(diff.data, "new file mode 120000", "  and a link added");
	tap_contains(diff.data, "+a.txt\n\\ No newline at end of file\n", "  pointing to a.txt");
	tap_contains(diff.data, "+++ b/newdir/sub/y.txt", "  a file in a new directory");
	tap_ok(!strstr(buf_cstr(&diff), "new.log") && !strstr(buf_cstr(&diff), "inner") &&
		       !strstr(buf_cstr(&diff), "build/"),
	       "  no ignored file, no nested repository");
	buf_reset(&diff);
	tap_is_int(shadow_diff(s, s1, &diff, 0, &e), 0, "shadow_diff with no context");
	tap_contains(diff.data, "@@ -2 +2 @@ line one\n-line two\n+line 2\n", "  a hunk without context");

	tap_is_int(shadow_restore(s, s1, &report, &e), 0, "shadow_restore to the first snapshot");
	if (e.cls)
		printf("#   error: %s\n", e.msg);
	tap_is_str(report.data,
		   "removed new.txt\nremoved newdir/sub/y.txt\nremoved newdir/x.txt\n"
		   "restored a.txt\nrestored b.txt\nrestored keep.sh\nrestored link-me.txt\n",
		   "  the report names each path");
	is_content(ws, "a.txt", "line one\nline two\n", "  a.txt's bytes are back");
	is_content(ws, "b.txt", "bee\n", "  b.txt is back");
	is_kind(ws, "b.txt", "file:644", "  with its mode");
	is_kind(ws, "keep.sh", "file:644", "  keep.sh is no longer executable");
	is_content(ws, "keep.sh", "#!/bin/sh\necho hi\n", "  and kept its bytes");
	is_kind(ws, "link-me.txt", "file:644", "  link-me.txt is a file again");
	is_content(ws, "link-me.txt", "not a link\n", "  with its bytes");
	is_kind(ws, "new.txt", "none", "  new.txt removed");
	is_kind(ws, "newdir", "none", "  the new directory removed once empty");
	is_content(ws, "new.log", "ignored\n", "  the ignored new file untouched");
	is_content(ws, "old.log", "old log\n", "  the ignored old file untouched");
	is_content(ws, "build/y.o", "more obj\n", "  a file in an ignored directory untouched");
	is_content(ws, "dir/c.txt.log", "stay\n", "  an ignored file in a tracked directory untouched");
	is_content(ws, "dir/c.txt", "sea\nlocal edit\n", "  an unchanged file unchanged");
	is_content(ws, "inner/f", "inner\n", "  the nested repository untouched");
	is_kind(ws, "inner/.git", "dir", "  its .git too");
	is_changed(s, s1, "", "nothing differs from the first snapshot after the restore");

	sh("rm -rf '%s/inner'", ws);
	after = user_state(ws);
	tap_is_str(after, before,
		   "the user's index, config, HEAD, status, stash, refs and objects unchanged");
	newer = capture("cd '%s' && find .git -newer '%s/marker'", ws, tmp);
	tap_is_str(newer, "", "  nothing under .git was written");
	free(newer);
	free(after);

	/* the nested repository is counted, and an ignored file made visible
	 * by a .gitignore edit is not removed when the edit is undone */
	sh("mkdir '%s/inner' && cd '%s/inner' && git init -q . && printf 'inner\\n' >f", ws, ws);
	tap_is_int(shadow_snapshot(s, "turn 2", s2, &e), 0, "second snapshot");
	tap_is_int((long long)shadow_last_stats(s)->skipped_repos, 1,
		   "  the nested repository is counted as left out");
	tap_contains(shadow_notes(s), "inner/", "  and named in the notes");
	{
		char *parent = capture("git --git-dir='%s' rev-parse %s^", shadow_path(s), s2);
		char want[64];
		snprintf(want, sizeof want, "%s\n", s1);
		tap_is_str(parent, want, "  its parent is the first snapshot");
		free(parent);
	}
	sh("cd '%s' && printf 'build/\\n' >.gitignore", ws);
	is_changed(s, s2, ".gitignore,dir/c.txt.log,new.log,old.log",
		   "a .gitignore edit shows the files it no longer ignores");
	buf_reset(&report);
	tap_is_int(shadow_restore(s, s2, &report, &e), 0, "restore after a .gitignore edit");
	tap_is_str(report.data, "restored .gitignore\n", "  only .gitignore is put back");
	is_content(ws, "old.log", "old log\n", "  the files it ignored are kept");
	is_content(ws, "new.log", "ignored\n", "  all of them");

	free(before);
	buf_release(&diff);
	buf_release(&report);
	shadow_close(s);
	free(ws);
}

static void test_plain_workspace(void)
{
	struct ferr e = FERR_INIT;
	struct shadow *s = NULL;
	struct buf report = BUF_INIT;
	char s1[41], s2[41];
	char *ws = path_in(tmp, "plain");

	sh("mkdir -p '%s/src' && cd '%s' && printf 'v1\\n' >src/main.c && printf 'doc\\n' >README && "
	   "printf 'crlf\\r\\nline\\r\\n' >dos.txt && printf '*.txt text eol=lf\\n' >.gitattributes",
	   ws, ws);
	tap_is_int(shadow_open(ws, &s, &e), 0, "shadow_open on a directory that is no repository");
	if (!s) {
		printf("#   error: %s\n", e.msg);
		return;
	}
	tap_is_int(shadow_snapshot(s, "one", s1, &e), 0, "  snapshot");
	sh("cd '%s' && printf 'v2\\n' >src/main.c && printf 'x\\n' >extra && rm dos.txt", ws);
	tap_is_int(shadow_snapshot(s, "two", s2, &e), 0, "  second snapshot in a row");
	sh("cd '%s' && printf 'v3\\n' >src/main.c && mkdir -p a/b/c && printf 'z\\n' >a/b/c/z", ws);
	is_changed(s, s2, "a/b/c/z,src/main.c", "  changes since the second snapshot");
	is_changed(s, s1, "a/b/c/z,dos.txt,extra,src/main.c", "  changes since the first");
	tap_is_int(shadow_restore(s, s1, &report, &e), 0, "  restore to the first");
	is_content(ws, "src/main.c", "v1\n", "  main.c is v1 again");
	is_content(ws, "dos.txt", "crlf\r\nline\r\n", "  CRLF bytes kept whatever .gitattributes say");
	is_kind(ws, "extra", "none", "  extra removed");
	is_kind(ws, "a", "none", "  the new directories removed");
	is_kind(ws, ".git", "none", "  no .git created in the workspace");
	is_changed(s, s1, "", "  nothing differs from the first");
	tap_is_int(shadow_restore(s, s2, &report, &e), 0, "  and forward to the second");
	is_content(ws, "src/main.c", "v2\n", "  main.c is v2");
	is_content(ws, "extra", "x\n", "  extra back");
	is_kind(ws, "dos.txt", "none", "  dos.txt gone again");
	shadow_close(s);

	/* the same root opens the same shadow, with its history */
	s = NULL;
	tap_is_int(shadow_open(ws, &s, &e), 0, "reopening");
	if (s) {
		is_changed(s, NULL, "", "  the latest snapshot is still the second");
		is_changed(s, s1, "dos.txt,extra,src/main.c", "  and the first is still there");
		shadow_close(s);
	}
	buf_release(&report);
	free(ws);
}

/* A workspace with more new files than the budget (forja started in a
 * home directory) is refused whole, records nothing, and fits again once
 * the budget allows */
static void test_budget(void)
{
	struct ferr e = FERR_INIT;
	struct shadow *s = NULL;
	char oid[41];
	char *ws = path_in(tmp, "budget");

	sh("mkdir -p '%s' && cd '%s' && for i in 1 2 3 4 5 6 7 8 9 10; do echo $i >f$i; done", ws, ws);
	tap_is_int(shadow_open(ws, &s, &e), 0, "budget: shadow_open");
	if (!s)
		goto out;
	setenv("FORJA_SHADOW_MAX_FILES", "5", 1);
	tap_is_int(shadow_snapshot(s, "too many", oid, &e), -1, "budget: 10 new files over a budget of 5 are refused");
	tap_is_int(e.cls, FERR_FAILED, "budget: ... as a failure");
	tap_ok(strstr(e.msg, "too big to snapshot") != NULL, "budget: ... saying why");
	if (!strstr(e.msg, "too big"))
		printf("#   got: %s\n", e.msg);
	tap_is_str(oid, "", "budget: ... and no snapshot id");
	ferr_clear(&e);
	tap_is_int(shadow_snapshot(s, "still too many", oid, &e), -1, "budget: nothing half-recorded: still refused");
	ferr_clear(&e);
	unsetenv("FORJA_SHADOW_MAX_FILES");
	tap_is_int(shadow_snapshot(s, "fits", oid, &e), 0, "budget: with the default budget it is recorded");
	is_changed(s, oid, "", "budget: ... all of it");
	/* a forja killed mid-snapshot leaves libgit2's lock files behind */
	sh("cd '%s' && echo 11 >f11 && : >'%s/index.lock' && mkdir -p '%s/refs/forja' && : >'%s/refs/forja/snapshots.lock'",
	   ws, shadow_path(s), shadow_path(s), shadow_path(s));
	tap_is_int(shadow_snapshot(s, "after a kill", oid, &e), 0, "stale lock files of a killed snapshot do not block the next");
	if (e.msg[0])
		printf("#   error: %s\n", e.msg);
	is_changed(s, oid, "", "... and it recorded the new file");
	shadow_close(s);
out:
	unsetenv("FORJA_SHADOW_MAX_FILES");
	free(ws);
}

/* forja's state directory inside the workspace (forja run in $HOME), and
 * a file recorded once then ignored */
static void test_state_inside_and_ignored_later(void)
{
	struct ferr e = FERR_INIT;
	struct shadow *s = NULL;
	struct buf report = BUF_INIT;
	char s1[41], s2[41];
	char *ws = path_in(tmp, "homelike");
	char *state = path_in(ws, ".local/state/forja/shadow");
	char *saved = xstrdup(getenv("FORJA_SHADOW_DIR"));
	char *tree;

	sh("mkdir -p '%s' && printf 'gen 1\\n' >'%s/gen.out' && printf 'notes\\n' >'%s/notes.txt'",
	   ws, ws, ws);
	setenv("FORJA_SHADOW_DIR", state, 1);
	tap_is_int(shadow_open(ws, &s, &e), 0, "shadow_open with the state directory inside");
	setenv("FORJA_SHADOW_DIR", saved, 1);
	if (!s)
		return;
	tap_is_int(shadow_snapshot(s, "one", s1, &e), 0, "  snapshot");
	tree = capture("git --git-dir='%s' ls-tree -r --name-only %s | tr '\\n' ,", shadow_path(s), s1);
	tap_is_str(tree, "gen.out,notes.txt,", "  the shadow repository itself is not recorded");
	free(tree);
	sh("printf '*.out\\n' >'%s/.gitignore' && printf 'gen 2\\n' >'%s/gen.out'", ws, ws);
	tap_is_int(shadow_snapshot(s, "two", s2, &e), 0, "  snapshot after gen.out became ignored");
	tree = capture("git --git-dir='%s' ls-tree -r --name-only %s | tr '\\n' ,", shadow_path(s), s2);
	tap_is_str(tree, ".gitignore,notes.txt,", "  a file ignored now is no longer recorded");
	free(tree);
	sh("printf 'gen 3\\n' >'%s/gen.out' && printf 'more\\n' >>'%s/notes.txt'", ws, ws);
	tap_is_int(shadow_restore(s, s2, &report, &e), 0, "  restore");
	tap_is_str(report.data, "restored notes.txt\n", "  only notes.txt restored");
	is_content(ws, "gen.out", "gen 3\n", "  the ignored file untouched");
	is_kind(shadow_path(s), "HEAD", "file:644", "  the shadow repository survives the restore");
	shadow_close(s);
	buf_release(&report);
	free(saved);
	free(state);
	free(ws);
}

static void test_hostile(void)
{
	struct ferr e = FERR_INIT;
	struct shadow *s = NULL;
	struct buf report = BUF_INIT;
	char s1[41];
	char *ws = path_in(tmp, "hostile");
	char *out = path_in(tmp, "outside");
	char *commit, *config_before, *config_after;

	sh("mkdir -p '%s' '%s/esc' && cd '%s' && git init -q . && printf 'f\\n' >esc/f.txt && "
	   "printf 'top\\n' >top.txt",
	   out, ws, ws);
	tap_is_int(shadow_open(ws, &s, &e), 0, "shadow_open for hostile cases");
	if (!s)
		return;
	tap_is_int(shadow_snapshot(s, "one", s1, &e), 0, "  snapshot");

	/* a directory replaced by a link that points out of the workspace */
	sh("cd '%s' && rm -r esc && ln -s '%s' esc", ws, out);
	tap_is_int(shadow_restore(s, s1, &report, &e), 0, "restore with a link pointing out");
	is_kind(ws, "esc", "dir", "  the link replaced by the directory");
	is_content(ws, "esc/f.txt", "f\n", "  its file back");
	is_kind(out, "f.txt", "none", "  nothing written through the link");

	/* a snapshot whose tree holds .git/config and .GIT/hooks/x */
	config_before = capture("cat '%s/.git/config'", ws);
	commit = capture(
		"cd '%s' && export GIT_DIR='%s' && "
		"b=$(printf '[core]\\n\\thooksPath = /tmp/evil\\n' | git hash-object -w --stdin) && "
		"t=$(printf '100644 blob %%s\\tconfig\\n' $b | git mktree) && "
		"r=$(printf '040000 tree %%s\\t.git\\n100644 blob %%s\\tok.txt\\n' $t $b | git mktree) && "
		"git commit-tree -m evil $r",
		tmp, shadow_path(s));
	commit[strcspn(commit, "\n")] = '\0';
	tap_is_int((long long)strlen(commit), 40, "  a hostile commit made in the shadow");
	buf_reset(&report);
	ferr_clear(&e);
	tap_is_int(shadow_restore(s, commit, &report, &e), -1, "a tree with .git/config is refused");
	tap_is_int(e.cls, FERR_DENIED, "  as denied");
	tap_contains(e.msg, ".git/config", "  naming the path");
	config_after = capture("cat '%s/.git/config'", ws);
	tap_is_str(config_after, config_before, "  the workspace's .git/config untouched");
	is_kind(ws, "ok.txt", "none", "  and nothing else written");
	tap_is_str(buf_cstr(&report), "", "  an empty report");
	free(commit);
	free(config_after);

	commit = capture("cd '%s' && export GIT_DIR='%s' && "
			 "b=$(printf 'x\\n' | git hash-object -w --stdin) && "
			 "t=$(printf '100644 blob %%s\\tx\\n' $b | git mktree) && "
			 "r=$(printf '040000 tree %%s\\t.GIT\\n' $t | git mktree) && "
			 "git commit-tree -m evil $r",
			 tmp, shadow_path(s));
	commit[strcspn(commit, "\n")] = '\0';
	ferr_clear(&e);
	tap_is_int(shadow_restore(s, commit, &report, &e), -1, "a tree with .GIT/x is refused");
	is_kind(ws, ".GIT", "none", "  nothing created");
	free(commit);

	ferr_clear(&e);
	tap_is_int(shadow_restore(s, "not-an-id", &report, &e), -1, "a malformed id is refused");
	tap_is_int(e.cls, FERR_USAGE, "  as a usage error");
	ferr_clear(&e);
	tap_is_int(shadow_restore(s, "0123456789012345678901234567890123456789", &report, &e), -1,
		   "an unknown id is refused");
	tap_contains(e.msg, "no snapshot", "  saying so");
	shadow_close(s);

	s = NULL;
	ferr_clear(&e);
	tap_is_int(shadow_open("relative/path", &s, &e), -1, "a relative root is refused");
	tap_ok(s == NULL, "  and *out is NULL");
	free(config_before);
	buf_release(&report);
	free(ws);
	free(out);
}

static void test_big_tree(void)
{
	struct ferr e = FERR_INIT;
	struct shadow *s = NULL;
	struct buf report = BUF_INIT;
	char s1[41], s2[41], s3[41];
	char *ws = path_in(tmp, "big");
	double t0, first, second, third;
	int fd;

	sh("mkdir -p '%s' && cd '%s' && for d in $(seq 0 99); do mkdir d$d; "
	   "for f in $(seq 0 99); do echo \"file $d $f\" >d$d/f$f.txt; done; done",
	   ws, ws);
	{
		char *huge = path_in(ws, "huge.bin");
		fd = open(huge, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		tap_ok(fd >= 0 && ftruncate(fd, SHADOW_MAX_FILE + 1) == 0 && close(fd) == 0,
		       "a sparse file over 50 MiB");
		free(huge);
	}
	tap_is_int(shadow_open(ws, &s, &e), 0, "shadow_open on 10,000 files");
	if (!s)
		return;
	t0 = now_ms();
	tap_is_int(shadow_snapshot(s, "first", s1, &e), 0, "first snapshot of 10,000 files");
	first = now_ms() - t0;
	tap_is_int((long long)shadow_last_stats(s)->skipped_large, 1, "  the huge file left out");
	tap_contains(shadow_notes(s), "huge.bin", "  and named");
	t0 = now_ms();
	tap_is_int(shadow_snapshot(s, "second", s2, &e), 0, "second snapshot, nothing changed");
	second = now_ms() - t0;
	sh("cd '%s' && echo changed >d5/f5.txt", ws);
	t0 = now_ms();
	tap_is_int(shadow_snapshot(s, "third", s3, &e), 0, "third snapshot, one file changed");
	third = now_ms() - t0;
	printf("# snapshot of 10,000 files: first %.1f ms, second %.1f ms, third (one change) %.1f ms\n",
	       first, second, third);
	tap_ok(second * 2 < first, "  the second is much faster than the first (stat cache)");
	is_changed(s, s1, "d5/f5.txt", "  the change seen against the first");
	tap_is_int(shadow_restore(s, s1, &report, &e), 0, "  restore among 10,000 files");
	is_content(ws, "d5/f5.txt", "file 5 5\n", "  the file is back");
	is_kind(ws, "huge.bin", "file:644", "  the huge file untouched");
	shadow_close(s);
	buf_release(&report);
	free(ws);
}

int main(void)
{
	char *p;

	snprintf(tmp, sizeof tmp, "/tmp/forja-shadow-XXXXXX");
	if (!mkdtemp(tmp)) {
		printf("Bail out! mkdtemp: %s\n", strerror(errno));
		return 1;
	}
	p = path_in(tmp, "home");
	mkdir(p, 0700);
	setenv("HOME", p, 1);
	free(p);
	p = path_in(tmp, "state");
	setenv("XDG_STATE_HOME", p, 1);
	free(p);
	p = path_in(tmp, "shadow");
	setenv("FORJA_SHADOW_DIR", p, 1);
	free(p);
	setenv("GIT_CONFIG_NOSYSTEM", "1", 1);
	setenv("GIT_AUTHOR_NAME", "T", 1);
	setenv("GIT_AUTHOR_EMAIL", "t@example.com", 1);
	setenv("GIT_COMMITTER_NAME", "T", 1);
	setenv("GIT_COMMITTER_EMAIL", "t@example.com", 1);
	unsetenv("GIT_DIR");
	unsetenv("GIT_WORK_TREE");
	unsetenv("GIT_INDEX_FILE");
	umask(022);
	test_budget();

	test_git_workspace();
	test_plain_workspace();
	test_state_inside_and_ignored_later();
	test_hostile();
	test_big_tree();

	sh("rm -rf '%s'", tmp);
	return tap_done();
}

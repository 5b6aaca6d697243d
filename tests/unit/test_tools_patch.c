/*
 * apply_patch: unified diffs applied to real files in a scratch workspace,
 * judged by what is on disk afterwards, by the status and by the words of
 * the report the model gets.  Also the parser alone on hostile input.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cJSON.h>

#include "forja/buf.h"
#include "forja/ferr.h"
#include "forja/patch.h"
#include "forja/pathpol.h"
#include "forja/tools.h"
#include "forja/utf8.h"
#include "tap.h"

static char scratch[PATH_MAX], ws[PATH_MAX], outside[PATH_MAX];
static struct pathpol pp;
static struct tool_ctx ctx;
static struct tool_result res;    /* the last call's result */
static size_t got_len;            /* length of the last get() */
static int tmp_leaks;

static void die(const char *what, const char *path)
{
	fprintf(stderr, "test setup: %s %s: %s\n", what, path, strerror(errno));
	exit(99);
}

static void at(char *dst, const char *base, const char *rel)
{
	int n = snprintf(dst, PATH_MAX, "%s/%s", base, rel);

	if (n < 0 || n >= PATH_MAX) {
		fprintf(stderr, "test setup: path too long: %s/%s\n", base, rel);
		exit(99);
	}
}

static void mkdirs_for(const char *path)
{
	char tmp[PATH_MAX];

	snprintf(tmp, sizeof tmp, "%s", path);
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
			die("mkdir", tmp);
		*p = '/';
	}
}

static void put_n(const char *rel, const char *content, size_t len)
{
	char p[PATH_MAX];
	int fd;

	at(p, ws, rel);
	mkdirs_for(p);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || write(fd, content, len) != (ssize_t)len)
		die("write", p);
	close(fd);
}

static void put(const char *rel, const char *content)
{
	put_n(rel, content, strlen(content));
}

/* The file's content (free() it), or NULL when it does not exist. */
static char *get(const char *rel)
{
	char p[PATH_MAX];
	struct buf b = BUF_INIT;
	char chunk[4096];
	ssize_t n;
	int fd;

	at(p, ws, rel);
	fd = open(p, O_RDONLY);
	if (fd < 0)
		return NULL;
	while ((n = read(fd, chunk, sizeof chunk)) > 0)
		buf_add(&b, chunk, (size_t)n);
	close(fd);
	got_len = b.len;
	buf_putc(&b, '\0');
	b.len--;
	return buf_steal(&b);
}

static bool exists(const char *rel)
{
	char p[PATH_MAX];
	struct stat st;

	at(p, ws, rel);
	return lstat(p, &st) == 0;
}

static int is_file(const char *rel, const char *want, const char *name)
{
	char *got = get(rel);
	int ok = tap_is_str(got, want, name);

	free(got);
	return ok;
}

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	if (ftw->level > 0 && remove(path) != 0)
		die("remove", path);
	return 0;
}

static void reset_ws(void)
{
	nftw(ws, rm_one, 32, FTW_DEPTH | FTW_PHYS);
}

static int find_tmp(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	if (strncmp(path + ftw->base, ".forja-tmp-", 11) == 0)
		tmp_leaks++;
	return 0;
}

static int count_tmp(void)
{
	tmp_leaks = 0;
	nftw(ws, find_tmp, 32, FTW_PHYS);
	return tmp_leaks;
}

/* Run apply_patch on text; the status. */
static int apply(const char *text)
{
	struct ferr e = FERR_INIT;
	cJSON *args = cJSON_CreateObject();
	int rc;

	tool_result_release(&res);
	cJSON_AddStringToObject(args, "patch", text);
	rc = tool_apply_patch(&ctx, args, &res, &e);
	cJSON_Delete(args);
	if (rc != 0) {
		fprintf(stderr, "internal error: %s\n", e.msg);
		return -1;
	}
	if (getenv("SHOW_OUTPUT"))
		printf("# ---- output:\n%s", buf_cstr(&res.output));
	return (int)res.status;
}

static const char *out(void)
{
	return buf_cstr(&res.output);
}

static int open_fds(void)
{
	int n = 0;

	for (int fd = 0; fd < 1024; fd++)
		n += fcntl(fd, F_GETFD) != -1;
	return n;
}

/* ---- the basic operations ----------------------------------------------- */

static const char ten[] = "one\ntwo\nthree\nfour\nfive\nsix\nseven\neight\nnine\nten\n";

static void test_single_hunk(void)
{
	reset_ws();
	put("src/a.c", ten);
	tap_is_int(apply("--- a/src/a.c\n"
			 "+++ b/src/a.c\n"
			 "@@ -3,3 +3,4 @@\n"
			 " three\n"
			 "-four\n"
			 "+FOUR\n"
			 "+four and a half\n"
			 " five\n"),
		   TOOL_OK, "single hunk: ok");
	is_file("src/a.c",
		"one\ntwo\nthree\nFOUR\nfour and a half\nfive\nsix\nseven\neight\nnine\nten\n",
		"single hunk: the file has the change");
	tap_contains(out(), "Patched 1 file:\n  M src/a.c (+2 -1)\n", "single hunk: summary");
	tap_is_int((long long)res.nchanges, 1, "single hunk: one change recorded");
	if (res.nchanges == 1) {
		tap_is_str(res.changes[0].path, "src/a.c", "single hunk: change path");
		tap_ok(res.changes[0].existed, "single hunk: change says it existed");
		tap_is_str(buf_cstr(&res.changes[0].before), ten, "single hunk: previous content kept");
		tap_is_int(res.changes[0].mode_before, 0644, "single hunk: previous mode");
	}
	tap_is_int(count_tmp(), 0, "single hunk: no temp file left");
}

static void test_multi_hunk(void)
{
	reset_ws();
	put("a.txt", ten);
	tap_is_int(apply("--- a/a.txt\n"
			 "+++ b/a.txt\n"
			 "@@ -1,2 +1,2 @@ section text\n"
			 "-one\n"
			 "+ONE\n"
			 " two\n"
			 "@@ -8,3 +8,2 @@\n"
			 " eight\n"
			 "-nine\n"
			 " ten\n"),
		   TOOL_OK, "two hunks: ok");
	is_file("a.txt", "ONE\ntwo\nthree\nfour\nfive\nsix\nseven\neight\nten\n",
		"two hunks: both applied");
	tap_contains(out(), "M a.txt (+1 -2)", "two hunks: counts");
	tap_ok(!strstr(out(), "note:"), "two hunks: no note when the numbers are right");
}

static void test_multi_file(void)
{
	reset_ws();
	put("a.txt", "a1\na2\n");
	put("b/b.txt", "b1\nb2\n");
	tap_is_int(apply("diff --git a/a.txt b/a.txt\n"
			 "index 1111111..2222222 100644\n"
			 "--- a/a.txt\n"
			 "+++ b/a.txt\n"
			 "@@ -1,2 +1,2 @@\n"
			 " a1\n"
			 "-a2\n"
			 "+A2\n"
			 "diff --git a/b/b.txt b/b/b.txt\n"
			 "--- a/b/b.txt\n"
			 "+++ b/b/b.txt\n"
			 "@@ -1 +1 @@\n"
			 "-b1\n"
			 "+B1\n"),
		   TOOL_OK, "two files: ok");
	is_file("a.txt", "a1\nA2\n", "two files: first changed");
	is_file("b/b.txt", "B1\nb2\n", "two files: second changed");
	tap_is_int((long long)res.nchanges, 2, "two files: two changes recorded");
	tap_contains(out(), "Patched 2 files:", "two files: summary");
}

static void test_new_file(void)
{
	reset_ws();
	tap_is_int(apply("--- /dev/null\n"
			 "+++ b/new/dir/n.c\n"
			 "@@ -0,0 +1,2 @@\n"
			 "+int n;\n"
			 "+int m;\n"),
		   TOOL_OK, "new file: ok");
	is_file("new/dir/n.c", "int n;\nint m;\n", "new file: created with its directories");
	tap_contains(out(), "A new/dir/n.c (+2 -0)", "new file: summary");
	if (tap_is_int((long long)res.nchanges, 1, "new file: one change")) {
		tap_ok(!res.changes[0].existed, "new file: change says it did not exist");
		tap_is_int((long long)res.changes[0].before.len, 0, "new file: no previous content");
	}

	put("exists.c", "x\n");
	tap_is_int(apply("--- /dev/null\n+++ b/exists.c\n@@ -0,0 +1 @@\n+y\n"), TOOL_FAILED,
		   "new file over an existing one: failed");
	tap_contains(out(), "exists.c: exists already", "new file over an existing one: says so");
	is_file("exists.c", "x\n", "new file over an existing one: untouched");

	tap_is_int(apply("diff --git a/empty.txt b/empty.txt\n"
			 "new file mode 100644\n"
			 "index 0000000..e69de29\n"),
		   TOOL_OK, "new empty file (git, no hunks): ok");
	is_file("empty.txt", "", "new empty file: exists and is empty");

	tap_is_int(apply("--- /dev/null\n+++ b/noprefix.txt\n@@ -0,0 +1 @@\n+p\n"), TOOL_OK,
		   "new file, +++ without b/: ok");
	is_file("noprefix.txt", "p\n", "new file, +++ without b/: the name as written");

	tap_is_int(apply("diff --git a/run.sh b/run.sh\n"
			 "new file mode 100755\n"
			 "--- /dev/null\n"
			 "+++ b/run.sh\n"
			 "@@ -0,0 +1 @@\n"
			 "+echo hi\n"),
		   TOOL_OK, "new executable file: ok");
	tap_contains(out(), "note: run.sh: mode 100755 not applied", "new executable: mode noted");
}

static void test_delete(void)
{
	reset_ws();
	put("d/gone.txt", "g1\ng2\n");
	put("d/keep.txt", "k\n");
	tap_is_int(apply("--- a/d/gone.txt\n"
			 "+++ /dev/null\n"
			 "@@ -1,2 +0,0 @@\n"
			 "-g1\n"
			 "-g2\n"),
		   TOOL_OK, "delete: ok");
	tap_ok(!exists("d/gone.txt"), "delete: the file is gone");
	tap_ok(exists("d/keep.txt"), "delete: its neighbour stays");
	tap_contains(out(), "D d/gone.txt (+0 -2)", "delete: summary");
	if (tap_is_int((long long)res.nchanges, 1, "delete: one change")) {
		tap_ok(res.changes[0].existed, "delete: change says it existed");
		tap_is_str(buf_cstr(&res.changes[0].before), "g1\ng2\n", "delete: previous content");
	}
	tap_is_int(count_tmp(), 0, "delete: no temp file left");

	put("git-del.txt", "x\n");
	tap_is_int(apply("diff --git a/git-del.txt b/git-del.txt\n"
			 "deleted file mode 100644\n"
			 "index 587be6b..0000000\n"
			 "--- a/git-del.txt\n"
			 "+++ /dev/null\n"
			 "@@ -1 +0,0 @@\n"
			 "-x\n"),
		   TOOL_OK, "delete, git form: ok");
	tap_ok(!exists("git-del.txt"), "delete, git form: gone");

	put("partial.txt", "p1\np2\np3\n");
	tap_is_int(apply("--- a/partial.txt\n+++ /dev/null\n@@ -1,2 +0,0 @@\n-p1\n-p2\n"),
		   TOOL_FAILED, "delete that leaves lines: failed");
	tap_contains(out(), "its hunks leave 1 of its lines", "delete that leaves lines: says so");
	is_file("partial.txt", "p1\np2\np3\n", "delete that leaves lines: untouched");

	put("empty-del.txt", "");
	tap_is_int(apply("diff --git a/empty-del.txt b/empty-del.txt\n"
			 "deleted file mode 100644\n"
			 "index e69de29..0000000\n"),
		   TOOL_OK, "delete an empty file without hunks: ok");
	tap_ok(!exists("empty-del.txt"), "delete an empty file: gone");

	tap_is_int(apply("--- a/missing.txt\n+++ b/missing.txt\n@@ -1 +1 @@\n-a\n+b\n"),
		   TOOL_FAILED, "modify a missing file: failed");
	tap_contains(out(), "missing.txt: no such file (to create it, use `--- /dev/null`",
		     "modify a missing file: says how to create");
}

static void test_rename(void)
{
	reset_ws();
	put("old.txt", ten);
	tap_is_int(apply("diff --git a/old.txt b/sub/new.txt\n"
			 "similarity index 90%\n"
			 "rename from old.txt\n"
			 "rename to sub/new.txt\n"
			 "--- a/old.txt\n"
			 "+++ b/sub/new.txt\n"
			 "@@ -4,3 +4,3 @@\n"
			 " four\n"
			 "-five\n"
			 "+FIVE\n"
			 " six\n"),
		   TOOL_OK, "rename with a change: ok");
	tap_ok(!exists("old.txt"), "rename: the old name is gone");
	is_file("sub/new.txt", "one\ntwo\nthree\nfour\nFIVE\nsix\nseven\neight\nnine\nten\n",
		"rename: the new name has the changed content");
	tap_contains(out(), "R old.txt -> sub/new.txt (+1 -1)", "rename: summary");
	tap_is_int((long long)res.nchanges, 2, "rename: two changes (old deleted, new created)");

	put("r2.txt", "same\n");
	put("taken.txt", "taken\n");
	tap_is_int(apply("diff --git a/r2.txt b/taken.txt\n"
			 "similarity index 100%\n"
			 "rename from r2.txt\n"
			 "rename to taken.txt\n"),
		   TOOL_FAILED, "rename onto an existing file: failed");
	is_file("r2.txt", "same\n", "rename onto an existing file: source untouched");
	is_file("taken.txt", "taken\n", "rename onto an existing file: target untouched");
}

/* The output of `git diff --cached -M` for four kinds of change at once,
 * CRLF lines included (made with git 2.x). */
static void test_real_git_diff(void)
{
	reset_ws();
	put("r.txt", ten);
	put("nonl.txt", "alpha\nbeta");
	put("crlf.txt", "x\r\ny\r\nz\r\n");
	put("del.txt", "gone\n");
	tap_is_int(apply("diff --git a/crlf.txt b/crlf.txt\n"
			 "index 415a78b..ce5d508 100644\n"
			 "--- a/crlf.txt\n"
			 "+++ b/crlf.txt\n"
			 "@@ -1,3 +1,3 @@\n"
			 " x\r\n"
			 "-y\r\n"
			 "+Y\r\n"
			 " z\r\n"
			 "diff --git a/del.txt b/del.txt\n"
			 "deleted file mode 100644\n"
			 "index 286c5f5..0000000\n"
			 "--- a/del.txt\n"
			 "+++ /dev/null\n"
			 "@@ -1 +0,0 @@\n"
			 "-gone\n"
			 "diff --git a/empty.txt b/empty.txt\n"
			 "new file mode 100644\n"
			 "index 0000000..e69de29\n"
			 "diff --git a/r.txt b/moved.txt\n"
			 "similarity index 89%\n"
			 "rename from r.txt\n"
			 "rename to moved.txt\n"
			 "index c9e9e05..7155914 100644\n"
			 "--- a/r.txt\n"
			 "+++ b/moved.txt\n"
			 "@@ -2,7 +2,7 @@ one\n"
			 " two\n"
			 " three\n"
			 " four\n"
			 "-five\n"
			 "+FIVE\n"
			 " six\n"
			 " seven\n"
			 " eight\n"
			 "diff --git a/nonl.txt b/nonl.txt\n"
			 "index 91896af..b9dce1e 100644\n"
			 "--- a/nonl.txt\n"
			 "+++ b/nonl.txt\n"
			 "@@ -1,2 +1,2 @@\n"
			 " alpha\n"
			 "-beta\n"
			 "\\ No newline at end of file\n"
			 "+BETA\n"
			 "\\ No newline at end of file\n"),
		   TOOL_OK, "real git diff: ok");
	is_file("crlf.txt", "x\r\nY\r\nz\r\n", "real git diff: CRLF file keeps CRLF");
	tap_ok(!exists("del.txt"), "real git diff: deleted");
	is_file("empty.txt", "", "real git diff: empty file created");
	tap_ok(!exists("r.txt"), "real git diff: renamed away");
	is_file("moved.txt", "one\ntwo\nthree\nfour\nFIVE\nsix\nseven\neight\nnine\nten\n",
		"real git diff: renamed and changed");
	is_file("nonl.txt", "alpha\nBETA", "real git diff: still no newline at the end");
	tap_is_int((long long)res.nchanges, 6, "real git diff: six changes recorded");

	reset_ws();
	tap_is_int(apply("diff --git a/my file.c b/my file.c\n"
			 "new file mode 100644\n"
			 "index 0000000..bca70f3\n"
			 "--- /dev/null\n"
			 "+++ b/my file.c\t\n"
			 "@@ -0,0 +1 @@\n"
			 "+q\n"
			 "diff --git \"a/tab\\there\" \"b/tab\\there\"\n"
			 "new file mode 100644\n"
			 "index 0000000..bca70f3\n"
			 "--- /dev/null\n"
			 "+++ \"b/tab\\there\"\n"
			 "@@ -0,0 +1 @@\n"
			 "+q\n"),
		   TOOL_OK, "names with a space and a tab (git quoting): ok");
	is_file("my file.c", "q\n", "a name with a space");
	is_file("tab\there", "q\n", "a quoted name with a tab");
}

/* ---- finding the place ---------------------------------------------------- */

static void test_offsets(void)
{
	reset_ws();
	put("o.txt", ten);
	tap_is_int(apply("--- a/o.txt\n+++ b/o.txt\n"
			 "@@ -20,3 +20,3 @@\n"
			 " four\n"
			 "-five\n"
			 "+5\n"
			 " six\n"),
		   TOOL_OK, "wrong line number, unique context: ok");
	is_file("o.txt", "one\ntwo\nthree\nfour\n5\nsix\nseven\neight\nnine\nten\n",
		"wrong line number: applied where the lines are");
	tap_contains(out(), "note: o.txt: hunk 1 applied at line 4 (its header says 20)",
		     "wrong line number: noted");

	put("o.txt", ten);
	tap_is_int(apply("--- a/o.txt\n+++ b/o.txt\n"
			 "@@ -4,2 +4,2 @@\n"
			 " two\n"
			 "-three\n"
			 "+3\n"
			 "@@ -10,2 +10,2 @@\n"
			 " eight\n"
			 "-nine\n"
			 "+9\n"),
		   TOOL_OK, "both hunks 2 lines off: ok");
	is_file("o.txt", "one\ntwo\n3\nfour\nfive\nsix\nseven\neight\n9\nten\n",
		"both hunks 2 lines off: applied");
	tap_contains(out(), "hunk 2 applied at line 8 (its header says 10)",
		     "both hunks off: second noted too");

	put("rep.txt", "head\nx\n}\nmid\nx\n}\nend\n");
	tap_is_int(apply("--- a/rep.txt\n+++ b/rep.txt\n"
			 "@@ -3,1 +3,1 @@\n-head\n+HEAD\n"
			 "@@ -7,2 +7,2 @@\n-x\n+X\n }\n"),
		   TOOL_OK, "an ambiguous hunk at the offset the previous one was found at: ok");
	is_file("rep.txt", "HEAD\nx\n}\nmid\nX\n}\nend\n",
		"ambiguous hunk, shifted like the one before: the shifted place is taken");

	put("order.txt", ten);
	tap_is_int(apply("--- a/order.txt\n+++ b/order.txt\n"
			 "@@ -9,1 +9,1 @@\n-nine\n+9\n"
			 "@@ -1,1 +1,1 @@\n-one\n+1\n"),
		   TOOL_OK, "hunks out of order: ok");
	is_file("order.txt", "1\ntwo\nthree\nfour\nfive\nsix\nseven\neight\n9\nten\n",
		"hunks out of order: both applied");

	put("ins.txt", "a\nb\nc\n");
	tap_is_int(apply("--- a/ins.txt\n+++ b/ins.txt\n@@ -2,0 +3,2 @@\n+x\n+y\n"), TOOL_OK,
		   "pure insertion after line 2: ok");
	is_file("ins.txt", "a\nb\nx\ny\nc\n", "pure insertion: in place");
	tap_is_int(apply("--- a/ins.txt\n+++ b/ins.txt\n@@ -0,0 +1 @@\n+top\n"), TOOL_OK,
		   "insertion at the top: ok");
	is_file("ins.txt", "top\na\nb\nx\ny\nc\n", "insertion at the top: in place");
	tap_is_int(apply("--- a/ins.txt\n+++ b/ins.txt\n@@ -40,0 +41 @@\n+far\n"), TOOL_FAILED,
		   "insertion past the end: failed");
	tap_contains(out(), "adds lines after line 40, but the file has only 6 lines",
		     "insertion past the end: says so");

	put("cnt.txt", "a\nb\n");
	tap_is_int(apply("--- a/cnt.txt\n+++ b/cnt.txt\n@@ -2 +2 @@\n-b\n+B\n"), TOOL_OK,
		   "counts omitted (,1 implied): ok");
	is_file("cnt.txt", "a\nB\n", "counts omitted: applied");

	put("blank.txt", "a\n\nb\n");
	tap_is_int(apply("--- a/blank.txt\n+++ b/blank.txt\n@@ -1,3 +1,3 @@\n a\n\n-b\n+B\n"),
		   TOOL_OK, "an empty line as an empty context line: ok");
	is_file("blank.txt", "a\n\nB\n", "empty context line: applied");

	put("seq.txt", "a\nb\nc\n");
	tap_is_int(apply("--- a/seq.txt\n+++ b/seq.txt\n@@ -1 +1 @@\n-a\n+A\n"
			 "--- a/seq.txt\n+++ b/seq.txt\n@@ -1,2 +1,2 @@\n A\n-b\n+B\n"),
		   TOOL_OK, "two sections for one file: ok");
	is_file("seq.txt", "A\nB\nc\n", "two sections for one file: applied in order");
	tap_is_int((long long)res.nchanges, 1, "two sections for one file: one change");
}

static void test_ambiguous(void)
{
	static const char rep[] = "x\n}\n\ny\n}\n\nz\n}\n\n";

	reset_ws();
	put("amb.c", rep);
	tap_is_int(apply("--- a/amb.c\n+++ b/amb.c\n@@ -40,2 +40,3 @@\n }\n \n+// end\n"),
		   TOOL_FAILED, "ambiguous context, wrong number: refused");
	tap_contains(out(), "amb.c: hunk 1 of 1 (`@@ -40,2 +40,3 @@`) is ambiguous: its context "
		     "and `-` lines are not at line 40 as the header says, and they match in 3 "
		     "places: lines 2, 5, 8.",
		     "ambiguous: names every place");
	tap_contains(out(), "Add context lines until only one place matches",
		     "ambiguous: says what to do");
	is_file("amb.c", rep, "ambiguous: untouched");

	tap_is_int(apply("--- a/amb.c\n+++ b/amb.c\n@@ -5,2 +5,3 @@\n }\n \n+// end\n"), TOOL_OK,
		   "ambiguous context, right number: ok");
	is_file("amb.c", "x\n}\n\ny\n}\n\n// end\nz\n}\n\n", "right number: the one it names");

	put("ov.txt", "a\nb\nc\nd\n");
	tap_is_int(apply("--- a/ov.txt\n+++ b/ov.txt\n"
			 "@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n"
			 "@@ -2,2 +2,2 @@\n-b\n+X\n c\n"),
		   TOOL_FAILED, "overlapping hunks: refused");
	tap_contains(out(), "hunk 2 of 2", "overlapping hunks: names the second");
	is_file("ov.txt", "a\nb\nc\nd\n", "overlapping hunks: untouched");
}

static void test_mismatch(void)
{
	static const char src[] = "int main(void)\n{\n\tint x = 1;\n\treturn x;\n}\n";

	reset_ws();
	put("m.c", src);
	tap_is_int(apply("--- a/m.c\n"
			 "+++ b/m.c\n"
			 "@@ -1,5 +1,5 @@\n"
			 " int main(void)\n"
			 " {\n"
			 "-\tint x = 1;\n"
			 "+\tint x = 2;\n"
			 " \treturn y;\n"
			 " }\n"),
		   TOOL_FAILED, "mismatched context: refused");
	tap_is_str(out(),
		   "m.c: hunk 1 of 1 (`@@ -1,5 +1,5 @@`) does not apply: its context and `-` "
		   "lines are not in the file.\n"
		   "  First difference: line 4 of m.c, against the context line at patch line 8.\n"
		   "    expected: \"\\treturn y;\"\n"
		   "    actual:   \"\\treturn x;\"\n"
		   "  The hunk's first 3 old lines match lines 1-3 of m.c; this is where the header "
		   "says.\n"
		   "  The expected line is nowhere in m.c.\n"
		   "No file was changed.\n",
		   "mismatched context: the exact report");
	is_file("m.c", src, "mismatched context: untouched");
	tap_is_int((long long)res.nchanges, 0, "mismatched context: no change recorded");

	tap_is_int(apply("--- a/m.c\n+++ b/m.c\n@@ -3,2 +3,2 @@\n-    int x = 1;\n+    int x = 2;\n"
			 "     return x;\n"),
		   TOOL_FAILED, "spaces for tabs: refused");
	tap_contains(out(), "differ only in white space", "spaces for tabs: says it");

	tap_is_int(apply("--- a/m.c\n+++ b/m.c\n@@ -9,2 +9,2 @@\n }\n-gone\n+here\n"), TOOL_FAILED,
		   "lines past the end: refused");
	tap_contains(out(), "actual:   (end of file: m.c has 5 lines)", "past the end: says so");

	tap_is_int(apply("--- a/m.c\n+++ b/m.c\n@@ -1,2 +1,1 @@\n int main(void)\n-\treturn x;\n"),
		   TOOL_FAILED, "a line that is elsewhere: refused");
	tap_contains(out(), "The hunk's first old line matches line 1 of m.c; this is where the "
		     "header says.\n  The expected line is at line 4 of m.c.",
		     "mismatch: points at where the expected line is");
}

static void test_no_newline(void)
{
	reset_ws();
	put("n1.txt", "a\nb");
	tap_is_int(apply("--- a/n1.txt\n+++ b/n1.txt\n@@ -1,2 +1,2 @@\n a\n-b\n"
			 "\\ No newline at end of file\n+c\n"),
		   TOOL_OK, "marker on the old side only: ok");
	is_file("n1.txt", "a\nc\n", "marker on the old side only: a newline is added");

	put("n2.txt", "a\nb\n");
	tap_is_int(apply("--- a/n2.txt\n+++ b/n2.txt\n@@ -1,2 +1,2 @@\n a\n-b\n+c\n"
			 "\\ No newline at end of file\n"),
		   TOOL_OK, "marker on the new side only: ok");
	is_file("n2.txt", "a\nc", "marker on the new side only: the newline is dropped");

	put("n3.txt", "a\nb");
	tap_is_int(apply("--- a/n3.txt\n+++ b/n3.txt\n@@ -1,2 +1,3 @@\n a\n b\n+c\n"), TOOL_OK,
		   "no markers, file without a final newline: ok");
	is_file("n3.txt", "a\nb\nc", "no markers: the file's state is kept");

	put("n4.txt", "a\nb\n");
	tap_is_int(apply("--- a/n4.txt\n+++ b/n4.txt\n@@ -1,2 +1,2 @@\n a\n-b\n"
			 "\\ No newline at end of file\n+c\n"),
		   TOOL_OK, "old-side marker where the file has a newline: ok (line ends are not "
		   "content)");
	is_file("n4.txt", "a\nc\n", "old-side marker, file with newline: newline kept");

	put("n5.txt", "a\nb\nc\n");
	tap_is_int(apply("--- a/n5.txt\n+++ b/n5.txt\n@@ -1,2 +1,2 @@\n a\n-b\n+B\n"
			 "\\ No newline at end of file\n"),
		   TOOL_FAILED, "new-side marker on a line that is not last: refused");
	tap_contains(out(), "not the last of the result", "marker not last: says so");

	tap_is_int(apply("--- /dev/null\n+++ b/n6.txt\n@@ -0,0 +1 @@\n+only\n"
			 "\\ No newline at end of file\n"),
		   TOOL_OK, "new file without a final newline: ok");
	is_file("n6.txt", "only", "new file without a final newline");
}

static void test_crlf(void)
{
	reset_ws();
	put("w.txt", "a\r\nb\r\nc\r\n");
	tap_is_int(apply("--- a/w.txt\n+++ b/w.txt\n@@ -1,3 +1,4 @@\n a\n-b\n+B\n+B2\n c\n"),
		   TOOL_OK, "CRLF file, LF patch: ok");
	is_file("w.txt", "a\r\nB\r\nB2\r\nc\r\n", "CRLF file: new lines take CRLF");

	put("u.txt", "a\nb\n");
	tap_is_int(apply("--- a/u.txt\r\n+++ b/u.txt\r\n@@ -1,2 +1,2 @@\r\n a\r\n-b\r\n+B\r\n"),
		   TOOL_OK, "LF file, CRLF patch: ok");
	is_file("u.txt", "a\nB\n", "LF file, CRLF patch: stays LF");

	tap_is_int(apply("--- /dev/null\n+++ b/nw.txt\n@@ -0,0 +1,2 @@\n+x\r\n+y\r\n"), TOOL_OK,
		   "new file from CRLF lines: ok");
	is_file("nw.txt", "x\r\ny\r\n", "new file from CRLF lines: CRLF");

	put("mix.txt", "a\r\nb\r\nc");
	tap_is_int(apply("--- a/mix.txt\n+++ b/mix.txt\n@@ -2,2 +2,3 @@\n b\n c\n+d\n"), TOOL_OK,
		   "CRLF file without a final newline, appending: ok");
	is_file("mix.txt", "a\r\nb\r\nc\r\nd", "CRLF, appending: line ends and final state kept");
}

/* ---- all or nothing -------------------------------------------------------- */

static void test_all_or_nothing(void)
{
	reset_ws();
	put("first.txt", "f1\nf2\n");
	put("second.txt", "s1\ns2\n");
	tap_is_int(apply("--- a/first.txt\n+++ b/first.txt\n@@ -1,2 +1,2 @@\n f1\n-f2\n+F2\n"
			 "--- a/second.txt\n+++ b/second.txt\n@@ -1,2 +1,2 @@\n s1\n-nope\n+S2\n"),
		   TOOL_FAILED, "second file's hunk fails: failed");
	is_file("first.txt", "f1\nf2\n", "second file's hunk fails: first untouched");
	is_file("second.txt", "s1\ns2\n", "second file's hunk fails: second untouched");
	tap_contains(out(), "second.txt: hunk 1 of 1", "second file's hunk fails: names it");
	tap_contains(out(), "No file was changed.", "second file's hunk fails: nothing changed");
	tap_is_int((long long)res.nchanges, 0, "second file's hunk fails: no change recorded");

	tap_is_int(apply("--- a/first.txt\n+++ b/first.txt\n@@ -1,2 +1,2 @@\n f1\n-f2\n+F2\n"
			 "--- /dev/null\n+++ b/.git/hooks/pre-commit\n@@ -0,0 +1 @@\n+evil\n"),
		   TOOL_DENIED, "second path under .git: denied");
	tap_contains(out(), ".git/hooks/pre-commit: refused", "under .git: the rule's message");
	is_file("first.txt", "f1\nf2\n", "under .git: first untouched");
	tap_ok(!exists(".git"), "under .git: nothing made there");

	tap_is_int(apply("--- a/first.txt\n+++ b/first.txt\n@@ -1,2 +1,2 @@\n f1\n-f2\n+F2\n"
			 "--- /dev/null\n+++ b/sub/.forja/contracts/x.json\n@@ -0,0 +1 @@\n+{}\n"),
		   TOOL_DENIED, "second path under .forja: denied");
	is_file("first.txt", "f1\nf2\n", "under .forja: first untouched");

	tap_is_int(apply("--- a/first.txt\n+++ b/first.txt\n@@ -1,2 +1,2 @@\n f1\n-f2\n+F2\n"
			 "--- a/first.txt\n+++ b/first.txt\n@@ -1,2 +1,2 @@\n f1\n-F2\n+f2\n"),
		   TOOL_FAILED, "a patch that undoes itself: refused");
	tap_contains(out(), "The patch changes nothing", "a patch that changes nothing: says so");

	tap_is_int(apply("diff --git a/first.txt b/first.txt\nold mode 100644\nnew mode 100755\n"),
		   TOOL_FAILED, "a mode change alone: refused (modes are not changed)");
	tap_contains(out(), "The patch changes nothing: every file would stay as it is.\n"
		     "note: first.txt: mode 100755 not applied", "a mode change alone: says why");

	{
		static const char *const deny[] = { "secrets" };

		ctx.deny_write = deny;
		ctx.ndeny_write = 1;
		put("secrets/k.txt", "k\n");
		tap_is_int(apply("--- a/first.txt\n+++ b/first.txt\n@@ -1 +1 @@\n-f1\n+F1\n"
				 "--- a/secrets/k.txt\n+++ b/secrets/k.txt\n@@ -1 +1 @@\n-k\n+K\n"),
			   TOOL_DENIED, "a contract's non-writable path: denied");
		tap_contains(out(), "which the contract marks not writable", "deny list: rule named");
		is_file("first.txt", "f1\nf2\n", "deny list: first untouched");
		ctx.deny_write = NULL;
		ctx.ndeny_write = 0;
	}
}

static void test_rollback(void)
{
	struct rlimit old, small;
	struct buf big = BUF_INIT;

	reset_ws();
	put("one.txt", "o1\no2\n");
	put("gone.txt", "bye\n");
	put("afile", "I am a file\n");
	/* A directory where the create needs one is a file: only the write
	 * itself finds out, after one.txt and the delete are done. */
	tap_is_int(apply("--- a/gone.txt\n+++ /dev/null\n@@ -1 +0,0 @@\n-bye\n"
			 "--- a/one.txt\n+++ b/one.txt\n@@ -1,2 +1,2 @@\n o1\n-o2\n+O2\n"
			 "--- /dev/null\n+++ b/afile/new.txt\n@@ -0,0 +1 @@\n+n\n"),
		   TOOL_FAILED, "a write fails half-way: failed");
	tap_contains(out(), "Writing afile/new.txt failed", "half-way: names the failing write");
	tap_contains(out(), "Undone: one.txt, gone.txt.", "half-way: says what was undone");
	tap_contains(out(), "No file was changed.", "half-way: nothing changed");
	is_file("one.txt", "o1\no2\n", "half-way: the written file is restored");
	is_file("gone.txt", "bye\n", "half-way: the deleted file is back");
	is_file("afile", "I am a file\n", "half-way: the file in the way untouched");
	tap_is_int((long long)res.nchanges, 0, "half-way: no change recorded");
	tap_is_int(count_tmp(), 0, "half-way: no temp file left");

	/* A file-size limit makes the second write fail for real (EFBIG). */
	for (int i = 0; i < 3000; i++)
		buf_puts(&big, "+a line that makes the new file larger than the limit\n");
	{
		struct buf p = BUF_INIT;

		buf_puts(&p, "--- a/one.txt\n+++ b/one.txt\n@@ -1,2 +1,2 @@\n o1\n-o2\n+O2\n");
		buf_printf(&p, "--- /dev/null\n+++ b/deep/er/big.txt\n@@ -0,0 +1,3000 @@\n%s",
			   big.data);
		getrlimit(RLIMIT_FSIZE, &old);
		small = old;
		small.rlim_cur = 64 * 1024;
		signal(SIGXFSZ, SIG_IGN);
		setrlimit(RLIMIT_FSIZE, &small);
		tap_is_int(apply(p.data), TOOL_FAILED, "disk says no on the second write: failed");
		setrlimit(RLIMIT_FSIZE, &old);
		signal(SIGXFSZ, SIG_DFL);
		tap_contains(out(), "Writing deep/er/big.txt failed", "EFBIG: names the file");
		tap_contains(out(), "Undone: one.txt.", "EFBIG: first write undone");
		is_file("one.txt", "o1\no2\n", "EFBIG: first file restored");
		tap_ok(!exists("deep/er/big.txt"), "EFBIG: no partial new file");
		tap_ok(!exists("deep"), "EFBIG: the directories made for it are removed");
		tap_is_int(count_tmp(), 0, "EFBIG: no temp file left");
		buf_release(&p);
	}
	buf_release(&big);
}

/* ---- paths ---------------------------------------------------------------- */

static void test_paths(void)
{
	char p[PATH_MAX], link_target[PATH_MAX];

	reset_ws();
	put("a.txt", "a\n");
	tap_is_int(apply("--- a/../out/target.txt\n+++ b/../out/target.txt\n@@ -1 +1 @@\n"
			 "-ORIGINAL\n+PWNED\n"),
		   TOOL_DENIED, "`..` out of the workspace: denied");
	tap_contains(out(), "refused: `..` in a patch path", "`..`: the rule");
	tap_is_int(apply("--- a/src/../a.txt\n+++ b/src/../a.txt\n@@ -1 +1 @@\n-a\n+b\n"),
		   TOOL_DENIED, "`..` that stays inside: denied too");
	tap_is_int(apply("--- /etc/hostname\n+++ /etc/hostname\n@@ -1 +1 @@\n-x\n+y\n"),
		   TOOL_DENIED, "an absolute path outside: denied");
	tap_contains(out(), "outside the workspace", "absolute outside: the rule");

	at(p, ws, "a.txt");
	{
		struct buf abs = BUF_INIT;

		buf_printf(&abs, "--- %s\n+++ %s\n@@ -1 +1 @@\n-a\n+A\n", p, p);
		tap_is_int(apply(abs.data), TOOL_OK, "an absolute path inside the workspace: ok");
		is_file("a.txt", "A\n", "absolute inside: applied");
		buf_release(&abs);
	}

	at(p, ws, "escape");
	if (symlink(outside, p) != 0)
		die("symlink", p);
	tap_is_int(apply("--- a/escape/target.txt\n+++ b/escape/target.txt\n@@ -1 +1 @@\n"
			 "-ORIGINAL\n+PWNED\n"),
		   TOOL_DENIED, "a symlinked directory pointing outside: denied");
	at(p, ws, "reldir");
	if (symlink("../out", p) != 0)
		die("symlink", p);
	tap_is_int(apply("--- a/reldir/target.txt\n+++ b/reldir/target.txt\n@@ -1 +1 @@\n"
			 "-ORIGINAL\n+PWNED\n"),
		   TOOL_DENIED, "a relative symlinked directory leading outside: denied");
	tap_contains(out(), "reldir/target.txt: ", "relative directory escape: names the file");
	tap_is_int(apply("--- /dev/null\n+++ b/reldir/new.txt\n@@ -0,0 +1 @@\n+x\n"),
		   TOOL_DENIED, "creating through a symlinked directory leading outside: denied");
	at(p, outside, "new.txt");
	tap_ok(access(p, F_OK) != 0, "nothing created outside");
	at(p, outside, "target.txt");
	at(link_target, ws, "rel-escape.txt");
	if (symlink("../out/target.txt", link_target) != 0)
		die("symlink", link_target);
	tap_is_int(apply("--- a/rel-escape.txt\n+++ b/rel-escape.txt\n@@ -1 +1 @@\n"
			 "-ORIGINAL\n+PWNED\n"),
		   TOOL_DENIED, "a relative symlink leading outside: denied");
	{
		char *t = NULL;
		FILE *f = fopen(p, "r");
		char line[64] = "";

		if (f) {
			if (!fgets(line, sizeof line, f))
				line[0] = '\0';
			fclose(f);
		}
		t = line;
		tap_is_str(t, "ORIGINAL\n", "the file outside is untouched");
	}

	at(p, ws, "alias.txt");
	if (symlink("a.txt", p) != 0)
		die("symlink", p);
	tap_is_int(apply("--- a/alias.txt\n+++ b/alias.txt\n@@ -1 +1 @@\n-A\n+B\n"), TOOL_DENIED,
		   "a symlink inside the workspace: denied (never written through)");
	tap_contains(out(), "alias.txt: refused: is a symbolic link", "symlink: the rule");
	is_file("a.txt", "A\n", "symlink: its target untouched");

	if (mkdir(strcat(strcpy(p, ws), "/.git"), 0755) != 0)
		die("mkdir", p);
	put(".git/config", "[core]\n");
	at(p, ws, "g");
	if (symlink(".git", p) != 0)
		die("symlink", p);
	tap_is_int(apply("--- a/a.txt\n+++ b/a.txt\n@@ -1 +1 @@\n-A\n+B\n"
			 "--- a/g/config\n+++ b/g/config\n@@ -1 +1,2 @@\n [core]\n"
			 "+\thooksPath = /tmp/evil\n"),
		   TOOL_DENIED, "a symlink to .git as a directory: denied");
	tap_contains(out(), "g/config: resolves to .git/config through a symbolic link; "
		     ".git/config: refused: \".git\" is never written", "g -> .git: says where");
	is_file(".git/config", "[core]\n", "g -> .git: .git untouched");
	is_file("a.txt", "A\n", "g -> .git: the other file untouched");

	at(p, ws, "d");
	if (mkdir(p, 0755) != 0)
		die("mkdir", p);
	put("d/real.txt", "r\n");
	at(p, ws, "d2");
	if (symlink("d", p) != 0)
		die("symlink", p);
	tap_is_int(apply("--- a/d2/real.txt\n+++ b/d2/real.txt\n@@ -1 +1 @@\n-r\n+R\n"), TOOL_OK,
		   "a symlinked directory inside the workspace: ok");
	is_file("d/real.txt", "R\n", "symlinked directory: the real file changed");
	tap_is_int(apply("--- a/d2/real.txt\n+++ b/d2/real.txt\n@@ -1 +1 @@\n-R\n+S\n"
			 "--- a/d/real.txt\n+++ b/d/real.txt\n@@ -1 +1 @@\n-R\n+T\n"),
		   TOOL_FAILED, "one file under two names in one patch: refused");
	tap_contains(out(), "are the same file", "two names: says so");

	put("hard.txt", "h\n");
	{
		char q[PATH_MAX];

		at(p, ws, "hard.txt");
		at(q, ws, "hard2.txt");
		if (link(p, q) != 0)
			die("link", q);
	}
	tap_is_int(apply("--- a/hard.txt\n+++ b/hard.txt\n@@ -1 +1 @@\n-h\n+H\n"), TOOL_DENIED,
		   "a hard-linked file: denied");
	tap_contains(out(), "hard links", "hard link: the rule");

	tap_is_int(apply("--- a/d\n+++ b/d\n@@ -1 +1 @@\n-x\n+y\n"), TOOL_FAILED,
		   "a directory: failed");
	tap_contains(out(), "d: is a directory", "a directory: says so");
}

/* ---- malformed patches -------------------------------------------------- */

struct bad {
	const char *name, *patch, *says;
};

static void test_malformed(void)
{
	static const struct bad cases[] = {
		{ "empty patch", "", "no file header found" },
		{ "prose only", "please change foo to bar\n", "no file header found" },
		{ "truncated hunk", "--- a/a.txt\n+++ b/a.txt\n@@ -1,3 +1,3 @@\n a\n-b\n",
		  "line 3: the patch ends inside hunk 1 of a.txt (`@@ -1,3 +1,3 @@`): its header "
		  "counts 3 old and 3 new lines, the body has only 2 and 1" },
		{ "counts too small", "--- a/a.txt\n+++ b/a.txt\n@@ -1,1 +1,1 @@\n a\n-b\n+B\n",
		  "line 5: hunk 1 of a.txt (`@@ -1,1 +1,1 @@`): the header counts 1 old and 1 new "
		  "lines, but the body has 2 old and 2 new" },
		{ "counts too large", "--- a/a.txt\n+++ b/a.txt\n@@ -1,4 +1,4 @@\n a\n-b\n+B\n"
				      "--- a/c.txt\n+++ b/c.txt\n@@ -1 +1 @@\n-c\n+C\n",
		  "the header counts 4 old and 4 new lines, but the body has 2 old and 2 new" },
		{ "counts that would swallow the next file",
		  "--- a/a.txt\n+++ b/a.txt\n@@ -1,3 +1,3 @@\n a\n-b\n+B\n"
		  "--- a/c.txt\n+++ b/c.txt\n@@ -1 +1 @@\n-c\n+C\n",
		  "line 7: hunk 1 of a.txt (`@@ -1,3 +1,3 @@`): the header counts 3 old and 3 new "
		  "lines, but the body has 2 old and 2 new" },
		{ "bad hunk header", "--- a/a.txt\n+++ b/a.txt\n@@ -1,x +1 @@\n-a\n+b\n",
		  "line 3: malformed hunk header `@@ -1,x +1 @@`" },
		{ "numberless hunk header", "--- a/a.txt\n+++ b/a.txt\n@@\n-a\n+b\n",
		  "has no line numbers" },
		{ "Codex format", "*** Begin Patch\n*** Update File: a.txt\n@@\n-a\n+b\n*** End Patch\n",
		  "this is the `*** Begin Patch` format" },
		{ "hunk before header", "@@ -1 +1 @@\n-a\n+b\n", "a hunk before any file header" },
		{ "--- without +++", "--- a/a.txt\n@@ -1 +1 @@\n-a\n+b\n",
		  "`---` must be followed by a `+++ b/path` line" },
		{ "binary, git", "diff --git a/i.png b/i.png\nindex 1..2 100644\nGIT binary patch\n"
				 "literal 5\nabcde\n",
		  "a binary patch cannot be applied" },
		{ "binary, diff", "diff --git a/i.png b/i.png\nindex 1..2 100644\n"
				  "Binary files a/i.png and b/i.png differ\n",
		  "a binary patch cannot be applied" },
		{ "combined diff", "--- a/a.txt\n+++ b/a.txt\n@@@ -1,1 -1,1 +1,1 @@@\n- a\n+ b\n",
		  "a combined diff" },
		{ "empty hunk", "--- a/a.txt\n+++ b/a.txt\n@@ -1,0 +1,0 @@\n", "is empty" },
		{ "no hunks", "--- a/a.txt\n+++ b/a.txt\n", "has no hunks" },
		{ "different names", "--- a/a.txt\n+++ b/b.txt\n@@ -1 +1 @@\n-a\n+b\n",
		  "name different files" },
		{ "symlink mode", "diff --git a/l b/l\nnew file mode 120000\n--- /dev/null\n"
				  "+++ b/l\n@@ -0,0 +1 @@\n+target\n",
		  "symbolic links and submodules cannot be patched" },
		{ "copy", "diff --git a/a b/b\nsimilarity index 100%\ncopy from a\ncopy to b\n",
		  "copies (`copy from`/`copy to`) are not supported" },
		{ "context in a new file", "--- /dev/null\n+++ b/n.txt\n@@ -1 +1 @@\n-a\n+b\n",
		  "every line of a new file is a `+` line" },
		{ "marker first", "--- a/a.txt\n+++ b/a.txt\n@@ -1 +1 @@\n\\ No newline at end of "
				  "file\n-a\n+b\n",
		  "must follow a context, `-` or `+` line" },
		{ "line after marker", "--- a/a.txt\n+++ b/a.txt\n@@ -1,2 +1,2 @@\n-a\n\\ No "
				       "newline at end of file\n-b\n+c\n+d\n",
		  "a `-` line after `\\ No newline at end of file`" },
		{ "junk after a hunk", "--- a/a.txt\n+++ b/a.txt\n@@ -1 +1 @@\n-a\n+b\nhello\n",
		  "line 6: unexpected `hello`" },
		{ "huge number", "--- a/a.txt\n+++ b/a.txt\n@@ -99999999999 +1 @@\n-a\n+b\n",
		  "malformed hunk header" },
		{ "bad quoting", "--- \"a/x\n+++ \"b/x\"\n@@ -1 +1 @@\n-a\n+b\n",
		  "malformed quoted file name" },
	};

	reset_ws();
	put("a.txt", "a\nb\nc\n");
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char name[160];

		snprintf(name, sizeof name, "malformed, %s: failed", cases[i].name);
		tap_is_int(apply(cases[i].patch), TOOL_FAILED, name);
		snprintf(name, sizeof name, "malformed, %s: the message", cases[i].name);
		tap_contains(out(), cases[i].says, name);
		snprintf(name, sizeof name, "malformed, %s: valid UTF-8", cases[i].name);
		tap_ok(utf8_is_valid(out(), res.output.len), name);
	}
	is_file("a.txt", "a\nb\nc\n", "malformed: the file untouched throughout");

	tap_is_int(apply("Some commit message\n\n```diff\n--- a/a.txt\n+++ b/a.txt\n@@ -1 +1 @@\n"
			 "-a\n+A\n```\n"),
		   TOOL_OK, "a commit message and a Markdown fence around the diff: ok");
	is_file("a.txt", "A\nb\nc\n", "fenced: applied");
	tap_is_int(apply("\xef\xbb\xbf--- a/a.txt\n+++ b/a.txt\n@@ -1,3 +1,3 @@\n A\n b\n-c\n+C\n\n"
			 "@@ -1 +1 @@\n-A\n+a\n\n\n"),
		   TOOL_FAILED, "BOM, blank lines between hunks: parsed (then overlap refused)");
	tap_contains(out(), "hunk 2 of 2", "BOM and blank lines: reached the second hunk");
}

static void test_limits(void)
{
	struct buf huge = BUF_INIT;

	reset_ws();
	put("a.txt", "a\n");
	buf_puts(&huge, "--- /dev/null\n+++ b/big.txt\n@@ -0,0 +1,40000 @@\n");
	for (int i = 0; i < 40000; i++)
		buf_puts(&huge, "+0123456789012345678901234567890\n");
	tap_is_int(apply(huge.data), TOOL_FAILED, "a patch over 1 MiB: failed");
	tap_contains(out(), "the limit is 1048576: split it", "over 1 MiB: names the limit");
	tap_ok(!exists("big.txt"), "over 1 MiB: nothing written");
	buf_release(&huge);

	{
		struct buf many = BUF_INIT;

		for (int i = 0; i <= PATCH_MAX_FILES; i++)
			buf_printf(&many, "--- a/f%d\n+++ b/f%d\n@@ -1 +1 @@\n-x\n+y\n", i, i);
		tap_is_int(apply(many.data), TOOL_FAILED, "more than PATCH_MAX_FILES files: failed");
		tap_contains(out(), "more than 256 files in one patch", "too many files: says so");
		buf_reset(&many);
		buf_puts(&many, "--- a/a.txt\n+++ b/a.txt\n");
		for (int i = 0; i <= PATCH_MAX_HUNKS; i++)
			buf_printf(&many, "@@ -%d +%d @@\n-x\n+y\n", i + 1, i + 1);
		tap_is_int(apply(many.data), TOOL_FAILED, "more than PATCH_MAX_HUNKS hunks: failed");
		tap_contains(out(), "more than 10000 hunks in one patch", "too many hunks: says so");
		buf_release(&many);
	}

	ctx.max_file_bytes = 16;
	put("small.txt", "0123456789\n");
	tap_is_int(apply("--- a/small.txt\n+++ b/small.txt\n@@ -1 +1,2 @@\n 0123456789\n"
			 "+0123456789\n"),
		   TOOL_FAILED, "a result over max_file_bytes: failed");
	tap_contains(out(), "larger than 16 bytes", "over max_file_bytes: says so");
	is_file("small.txt", "0123456789\n", "over max_file_bytes: untouched");
	put("large.txt", "0123456789012345678901234567890\n");
	tap_is_int(apply("--- a/large.txt\n+++ b/large.txt\n@@ -1 +1 @@\n"
			 "-0123456789012345678901234567890\n+x\n"),
		   TOOL_FAILED, "a file over max_file_bytes: failed");
	tap_contains(out(), "apply_patch edits files of at most 16 bytes", "file too big: says so");
	ctx.max_file_bytes = 0;

	put_n("bin.dat", "a\0b\n", 4);
	tap_is_int(apply("--- a/bin.dat\n+++ b/bin.dat\n@@ -1 +1 @@\n-a\n+b\n"), TOOL_FAILED,
		   "a file with NUL bytes: failed");
	tap_contains(out(), "binary", "NUL bytes: says binary");

	ctx.max_output_bytes = 200;
	{
		struct buf many = BUF_INIT;

		for (int i = 0; i < 40; i++) {
			char n[32];

			snprintf(n, sizeof n, "f%02d.txt", i);
			put(n, "x\n");
			buf_printf(&many, "--- a/%s\n+++ b/%s\n@@ -1 +1 @@\n-x\n+y\n", n, n);
		}
		tap_is_int(apply(many.data), TOOL_OK, "forty files, small output cap: ok");
		tap_ok(res.output.len <= 200, "output cap: kept under max_output_bytes");
		tap_ok(res.cut_bytes > 0, "output cap: cut bytes counted");
		tap_contains(out(), "Patched 40 files:", "output cap: the head is kept");
		buf_release(&many);
	}
	ctx.max_output_bytes = 0;
}

static void test_refusals(void)
{
	struct ferr e = FERR_INIT;
	cJSON *args;

	reset_ws();
	put("a.txt", "a\n");
	ctx.read_only = true;
	tap_is_int(apply("--- a/a.txt\n+++ b/a.txt\n@@ -1 +1 @@\n-a\n+b\n"), TOOL_DENIED,
		   "read-only sandbox: denied");
	tap_contains(out(), "read-only", "read-only: says so");
	is_file("a.txt", "a\n", "read-only: untouched");
	ctx.read_only = false;

	tool_result_release(&res);
	args = cJSON_CreateObject();
	tap_is_int(tool_apply_patch(&ctx, args, &res, &e), 0, "no `patch` argument: answered");
	tap_is_int(res.status, TOOL_FAILED, "no `patch` argument: failed");
	tap_contains(out(), "`patch`: required", "no `patch` argument: says so");
	cJSON_Delete(args);
}

/* ---- the parser and patch_apply alone ------------------------------------ */

static void test_parser_api(void)
{
	struct patch p;
	struct buf why = BUF_INIT, o = BUF_INIT, notes = BUF_INIT;
	static const char text[] = "diff --git a/x.c b/x.c\n"
				   "index 1..2 100644\n"
				   "--- a/x.c\n"
				   "+++ b/x.c\n"
				   "@@ -1,2 +1,2 @@ fn\n"
				   " a\n"
				   "-b\n"
				   "+c\n";
	unsigned long long work = 1000;

	memset(&p, 0, sizeof p);
	tap_is_int(patch_parse(text, strlen(text), &p, &why), 0, "patch_parse: ok");
	if (tap_is_int((long long)p.nfiles, 1, "patch_parse: one file")) {
		tap_is_int(p.files[0].op, PATCH_MODIFY, "patch_parse: a modification");
		tap_is_str(p.files[0].old_path, "x.c", "patch_parse: a/ stripped");
		tap_is_int((long long)p.files[0].nhunks, 1, "patch_parse: one hunk");
		tap_is_int((long long)p.files[0].hunks[0].nlines, 3, "patch_parse: three lines");
		tap_is_int((long long)p.files[0].hunks[0].lines[2].lineno, 8, "patch_parse: line numbers");
		tap_is_int(patch_apply(&p.files[0], "x.c", "a\nb\n", 4, 100, &work, &o, &notes, &why),
			   0, "patch_apply: ok");
		tap_is_str(buf_cstr(&o), "a\nc\n", "patch_apply: the result");
		buf_reset(&o);
		tap_is_int(patch_apply(&p.files[0], "x.c", "a\nb\n", 4, 3, &work, &o, &notes, &why),
			   -1, "patch_apply: over max_len refused");
	}
	patch_release(&p);

	{
		/* Work bounded: many hunks in a big file, each misplaced by another
		 * amount, so that each needs a search of the whole file. */
		struct buf big = BUF_INIT, pt = BUF_INIT;

		for (int i = 0; i < 200000; i++)
			buf_printf(&big, "line %d\n", i);
		buf_puts(&pt, "--- a/s\n+++ b/s\n");
		for (int i = 0; i < 50; i++)
			buf_printf(&pt, "@@ -%d,2 +%d,2 @@\n line %d\n-line %d\n+other\n",
				   1000000 - i * 7000, 1000000 - i * 7000, 1000 + i * 1000,
				   1001 + i * 1000);
		memset(&p, 0, sizeof p);
		buf_reset(&why);
		tap_is_int(patch_parse(pt.data, pt.len, &p, &why), 0, "work bound: parsed");
		work = 1000000;
		buf_reset(&o);
		tap_is_int(patch_apply(&p.files[0], "s", big.data, big.len, 1 << 24, &work, &o, &notes,
				       &why),
			   -1, "work bound: refused, not searched forever");
		tap_contains(buf_cstr(&why), "needs more work than one call may take",
			     "work bound: says why");
		patch_release(&p);
		buf_release(&big);
		buf_release(&pt);
	}
	buf_release(&why);
	buf_release(&o);
	buf_release(&notes);
}

int main(void)
{
	struct ferr e = FERR_INIT;
	int fds_before;

	alarm(300);
	snprintf(scratch, sizeof scratch, "%s/forja-patch-XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(scratch))
		die("mkdtemp", scratch);
	at(ws, scratch, "ws");
	at(outside, scratch, "out");
	if (mkdir(ws, 0755) != 0 || mkdir(outside, 0755) != 0)
		die("mkdir", ws);
	{
		char p[PATH_MAX];
		FILE *f;

		at(p, outside, "target.txt");
		f = fopen(p, "w");
		if (!f || fputs("ORIGINAL\n", f) < 0 || fclose(f) != 0)
			die("write", p);
	}
	if (pathpol_open_root(ws, &pp, &e) < 0) {
		fprintf(stderr, "test setup: %s\n", e.msg);
		return 99;
	}
	umask(022);
	ctx.ws = &pp;
	fds_before = open_fds();

	/* Everything once through openat2 (when the kernel has it) and once
	 * through the path policy's own walk. */
	for (int pass = 0; pass < 2; pass++) {
		if (pass == 1) {
			if (!pp.use_openat2)
				break;
			pp.use_openat2 = false;
			printf("# the same again with the component walk instead of openat2\n");
		}
		test_single_hunk();
		test_multi_hunk();
		test_multi_file();
		test_new_file();
		test_delete();
		test_rename();
		test_real_git_diff();
		test_offsets();
		test_ambiguous();
		test_mismatch();
		test_no_newline();
		test_crlf();
		test_all_or_nothing();
		test_rollback();
		test_paths();
		test_malformed();
		test_limits();
		test_refusals();
	}
	test_parser_api();

	tool_result_release(&res);
	tap_is_int(open_fds(), fds_before, "no file descriptor leaked");
	pathpol_release(&pp);
	nftw(scratch, rm_one, 32, FTW_DEPTH | FTW_PHYS);
	rmdir(scratch);
	return tap_done();
}

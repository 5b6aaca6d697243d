/*
 * ignore: git's ignore rules, judged by git itself.  Each case builds a
 * scratch repository (a tree, .gitignore files, .git/info/exclude, a
 * core.excludesFile), asks `git check-ignore --no-index` about every path
 * in it, and compares with what the ignore stack says when walked down the
 * way glob and grep walk.  Then a few direct checks: wildmatch's budget,
 * the hash fast paths against the slow path, notes for unreadable files.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "forja/buf.h"
#include "forja/ignore.h"
#include "tap.h"

static char scratch[PATH_MAX];

struct pfile {
	const char *path;   /* in the repo; "@exclude" = .git/info/exclude, "@global" */
	const char *text;
};

struct gcase {
	const char *name;
	const char *tree;   /* entries split by '|': "a/b" file, "a/" dir, "l->t" symlink */
	struct pfile pats[4];
	bool icase;
};

static const struct gcase cases[] = {
	{ "plain name at any depth", "foo|a/foo|a/b/foo|foobar|a/xfoo",
	  { { ".gitignore", "foo\n" } }, false },
	{ "plain name excludes a directory and its contents", "foo/x|foo/y/z|a/foo/q|bar",
	  { { ".gitignore", "foo\n" } }, false },
	{ "trailing slash: directories only", "logs/a|x/logs|x/y/logs/b",
	  { { ".gitignore", "logs/\n" } }, false },
	{ "leading slash anchors", "foo|a/foo|foo2",
	  { { ".gitignore", "/foo\n" } }, false },
	{ "middle slash anchors", "a/foo|b/a/foo|c/foo|a/foox|a/foo2/x",
	  { { ".gitignore", "a/foo\n" } }, false },
	{ "star extension", "x.o|a/y.o|a/b/z.o|x.oo|o|.o",
	  { { ".gitignore", "*.o\n" } }, false },
	{ "negation re-includes", "x.o|keep.o|a/keep.o",
	  { { ".gitignore", "*.o\n!keep.o\n" } }, false },
	{ "last pattern wins", "x.o|keep.o",
	  { { ".gitignore", "!keep.o\n*.o\n" } }, false },
	{ "parent directory excluded: no re-include", "build/keep|build/x|build/s/keep",
	  { { ".gitignore", "build/\n!build/keep\n!keep\n" } }, false },
	{ "dir/* with negation works", "build/keep|build/x|build/s/keep",
	  { { ".gitignore", "build/*\n!build/keep\n" } }, false },
	{ "leading **/", "foo|a/foo|a/b/foo/c|foox",
	  { { ".gitignore", "**/foo\n" } }, false },
	{ "leading **/ with a path", "foo/bar|a/foo/bar|a/b/foo/bar|a/bar|foo/x/bar",
	  { { ".gitignore", "**/foo/bar\n" } }, false },
	{ "trailing /**", "abc/x|abc/d/y|xabc/z",
	  { { ".gitignore", "abc/**\n" } }, false },
	{ "middle /**/", "a/b|a/x/b|a/x/y/b|a/xb|b|c/a/b",
	  { { ".gitignore", "a/**/b\n" } }, false },
	{ "** glued to a name is a star", "a/xb|a/b|a/x/y/b|a/x/b",
	  { { ".gitignore", "a/**b\n" } }, false },
	{ "bare **", "x|a/b|.hidden",
	  { { ".gitignore", "**\n" } }, false },
	{ "whitelist: * then !*/ then !*.c", "a.c|a.h|d/b.c|d/b.h|d/e/f.c",
	  { { ".gitignore", "*\n!*/\n!*.c\n" } }, false },
	{ "character class", "a.txt|b.txt|d.txt|ab.txt",
	  { { ".gitignore", "[abc].txt\n" } }, false },
	{ "range", "file0.txt|file5.txt|filea.txt|file10.txt",
	  { { ".gitignore", "file[0-9].txt\n" } }, false },
	{ "negated classes ! and ^", "ax|bx|cy|dy",
	  { { ".gitignore", "[!a]x\n[^c]y\n" } }, false },
	{ "posix classes", "a1|ab|A_|a-",
	  { { ".gitignore", "a[[:digit:]]\n[[:upper:]][[:punct:]]\n" } }, false },
	{ "question mark", "ab|abc|a/b|axb",
	  { { ".gitignore", "a?b\n" } }, false },
	{ "question mark does not cross a slash", "a/xb|a/b/c|axb/q",
	  { { ".gitignore", "a?b/c\na/?b\n" } }, false },
	{ "escaped hash", "#foo|foo|bar",
	  { { ".gitignore", "\\#foo\n#bar\n" } }, false },
	{ "comment is not a pattern", "#foo|foo",
	  { { ".gitignore", "#foo\n" } }, false },
	{ "escaped bang", "!foo|foo",
	  { { ".gitignore", "\\!foo\n" } }, false },
	{ "trailing spaces dropped", "foo|foo |bar",
	  { { ".gitignore", "foo   \nbar\t\n" } }, false },
	{ "escaped trailing space kept", "foo|foo |foo  ",
	  { { ".gitignore", "foo\\ \n" } }, false },
	{ "CRLF line endings", "foo|bar|baz",
	  { { ".gitignore", "foo\r\nbar\r\n" } }, false },
	{ "nested .gitignore re-includes", "a.log|sub/a.log|sub/important.log|important.log",
	  { { ".gitignore", "*.log\n" }, { "sub/.gitignore", "!important.log\n" } }, false },
	{ "nested anchored pattern is relative to its directory", "x|sub/x|sub/d/x",
	  { { "sub/.gitignore", "/x\n" } }, false },
	{ "nested middle slash", "c/d|sub/c/d|sub/e/c/d",
	  { { "sub/.gitignore", "c/d\n" } }, false },
	{ "deeper .gitignore excludes what the parent included", "k.log|sub/k.log|sub/t/k.log",
	  { { ".gitignore", "*.log\n!k.log\n" }, { "sub/t/.gitignore", "k.log\n" } }, false },
	{ "info/exclude", "secret|a/secret|other",
	  { { "@exclude", "secret\n" } }, false },
	{ ".gitignore beats info/exclude", "x.tmp|keep.tmp",
	  { { "@exclude", "*.tmp\n" }, { ".gitignore", "!keep.tmp\n" } }, false },
	{ "core.excludesFile", "x.swp|a/y.swp|z",
	  { { "@global", "*.swp\n" } }, false },
	{ "info/exclude beats core.excludesFile", "x.bak|keep.bak",
	  { { "@global", "*.bak\n" }, { "@exclude", "!keep.bak\n" } }, false },
	{ "global anchored pattern", "top|a/top",
	  { { "@global", "/top\n" } }, false },
	{ "ignoreCase on", "a.txt|B.TXT|c.Txt|d.md",
	  { { ".gitignore", "*.TXT\n" } }, true },
	{ "ignoreCase off", "a.txt|B.TXT|c.Txt",
	  { { ".gitignore", "*.TXT\n" } }, false },
	{ "ignoreCase on: literal names and classes", "Makefile|MAKEFILE|xA|xa|Dir/f",
	  { { ".gitignore", "makefile\nx[a]\ndir/\n" } }, true },
	{ "star suffix, directories only", "x.d/f|y.d|z/w.d/g",
	  { { ".gitignore", "*.d/\n" } }, false },
	{ "dir-only literal vs file of that name", "logs|a/logs/x",
	  { { ".gitignore", "logs/\n" } }, false },
	{ "BOM at the start", "foo|bar",
	  { { ".gitignore", "\xef\xbb\xbf" "foo\nbar\n" } }, false },
	{ "blank and whitespace-only lines", "foo| |x",
	  { { ".gitignore", "\n   \n\t\nfoo\n" } }, false },
	{ "lone bang and lone slash", "foo|x",
	  { { ".gitignore", "!\n/\nfoo\n" } }, false },
	{ "middle slash, directories only", "foo/bar/x|x/foo/bar|a/foo/bar/y",
	  { { ".gitignore", "foo/bar/\n" } }, false },
	{ "doc/*.txt is one level", "doc/a.txt|doc/server/b.txt|x/doc/c.txt",
	  { { ".gitignore", "doc/*.txt\n" } }, false },
	{ "doc/**/*.txt is any level", "doc/a.txt|doc/server/b.txt|doc/s/t/c.txt|x/doc/d.txt",
	  { { ".gitignore", "doc/**/*.txt\n" } }, false },
	{ "*/foo matches one level", "a/foo|a/b/foo|foo",
	  { { ".gitignore", "*/foo\n" } }, false },
	{ "a/*/b", "a/x/b|a/x/y/b|a/b",
	  { { ".gitignore", "a/*/b\n" } }, false },
	{ "**/logs/ directories only", "logs/x|a/logs/y|a/b/logs|c/logsx/z",
	  { { ".gitignore", "**/logs/\n" } }, false },
	{ "abc**/x quirk", "abc/x|abcd/x|abc/d/x|abcd/e/x",
	  { { ".gitignore", "abc**/x\n" } }, false },
	{ "escaped star is literal", "*|a|a*",
	  { { ".gitignore", "\\*\n" } }, false },
	{ "class with a trailing dash", "a-|ab|a]",
	  { { ".gitignore", "a[b-]\n" } }, false },
	{ "class starting with ]", "a]|ab|ax",
	  { { ".gitignore", "a[]b]\n" } }, false },
	{ "unterminated class matches nothing", "[abc|abc|a",
	  { { ".gitignore", "[abc\n" } }, false },
	{ "trailing backslash", "foo|foo\\",
	  { { ".gitignore", "foo\\\n" } }, false },
	{ "repeated **/", "x|a/x|a/b/c/x",
	  { { ".gitignore", "**/**/x\n" } }, false },
	{ "dotted suffix", "a.min.js|a.js|min.js|b/c.min.js",
	  { { ".gitignore", "*.min.js\n" } }, false },
	{ "top-level whitelist", "src/a|doc/b|README|src/x/y",
	  { { ".gitignore", "/*\n!/src\n" } }, false },
	{ "UTF-8 names", "café/x|cafe/y|naïve.txt",
	  { { ".gitignore", "café/\nna*.txt\n" } }, false },
	{ "hidden files", ".env|a/.cache/x|visible",
	  { { ".gitignore", ".*\n" } }, false },
	{ "deeper negation beats parent's exclusion of a name", "x|sub/x|sub/y/x",
	  { { ".gitignore", "x\n" }, { "sub/.gitignore", "!x\n" } }, false },
	{ "negated directory", "build/a|build/b/c",
	  { { ".gitignore", "build\n!build/\n" } }, false },
	{ "spaces inside names", "a b|a  b|x/a b/c",
	  { { ".gitignore", "a b\n" } }, false },
	{ "symlink is not a directory", "real/f|link->real|other->nowhere",
	  { { ".gitignore", "link/\nreal/\n" } }, false },
	{ "symlink matched by name", "real/f|link->real",
	  { { ".gitignore", "link\n" } }, false },
	{ "range with escaped end", "a]|a\\|ab|a^",
	  { { ".gitignore", "a[Z-\\]]\n" } }, false },
	{ "many literal names and suffixes mixed with globs",
	  "Makefile|x.o|y.a|z.so|lib/q.o|keep.o|t1|t22|node_modules/p/i.js",
	  { { ".gitignore", "Makefile\n*.o\n*.a\n*.so\n!keep.o\nt?\nnode_modules/\nMakefile\n" } }, false },
	{ "pattern longer than the name", "ab|abc",
	  { { ".gitignore", "/abcdef*\nabcd/\n" } }, false },
};

static void die(const char *what, const char *path)
{
	fprintf(stderr, "test setup: %s %s: %s\n", what, path, strerror(errno));
	exit(99);
}

static void at(char *dst, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Format a path into dst (PATH_MAX bytes); too long is a setup error. */
static void at(char *dst, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(dst, PATH_MAX, fmt, ap);
	va_end(ap);
	if (n < 0 || n >= PATH_MAX) {
		fprintf(stderr, "test setup: path too long\n");
		exit(99);
	}
}

static void mkdirs(const char *path)
{
	char tmp[PATH_MAX];

	at(tmp, "%s", path);
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
			die("mkdir", tmp);
		*p = '/';
	}
	if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
		die("mkdir", tmp);
}

static void write_file(const char *path, const char *text)
{
	char dir[PATH_MAX];
	char *slash;
	int fd;

	at(dir, "%s", path);
	slash = strrchr(dir, '/');
	if (slash) {
		*slash = '\0';
		mkdirs(dir);
	}
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		die("write", path);
	close(fd);
}

static int run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int run(const char *fmt, ...)
{
	char cmd[8192];
	va_list ap;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof cmd, fmt, ap);
	va_end(ap);
	st = system(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 255;
}

/* Every path of the tree under root except .git, relative, NUL-separated. */
static struct buf walked;
static size_t walked_root_len;

static int collect(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	const char *rel = path + walked_root_len;

	(void)st;
	(void)flag;
	(void)ftw;
	if (!*rel)
		return 0;
	rel++;
	if (strcmp(rel, ".git") == 0 || strncmp(rel, ".git/", 5) == 0)
		return 0;
	buf_add(&walked, rel, strlen(rel) + 1);
	return 0;
}

/* Our verdict for rel, reached the way a walk reaches it. */
static bool ours(int rootfd, struct ignore_list *global, bool icase, const char *rel)
{
	struct ignore_stack *s = ignore_stack_new(icase, global);
	struct stat st;
	int dirfd = dup(rootfd);
	bool ignored = false;
	size_t len = strlen(rel);

	ignore_stack_enter(s, dirfd, "", 0,
			   IGNORE_IS_ROOT | IGNORE_HAS_DOTGIT | IGNORE_HAS_GITIGNORE);
	for (size_t i = 0; i < len && !ignored; i++) {
		int sub;

		if (rel[i] != '/')
			continue;
		if (ignore_is_ignored(s, rel, i, true)) {
			ignored = true;
			break;
		}
		{
			char name[PATH_MAX];
			size_t start = i;

			while (start > 0 && rel[start - 1] != '/')
				start--;
			memcpy(name, rel + start, i - start);
			name[i - start] = '\0';
			sub = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
			if (sub < 0)
				die("openat", name);
			close(dirfd);
			dirfd = sub;
		}
		ignore_stack_enter(s, dirfd, rel, i + 1,
				   IGNORE_HAS_GITIGNORE |
				   (faccessat(dirfd, ".git", F_OK, AT_SYMLINK_NOFOLLOW) == 0 ?
				    IGNORE_HAS_DOTGIT : 0));
	}
	if (!ignored) {
		const char *base = strrchr(rel, '/');

		base = base ? base + 1 : rel;
		if (fstatat(dirfd, base, &st, AT_SYMLINK_NOFOLLOW) != 0)
			die("fstatat", rel);
		ignored = ignore_is_ignored(s, rel, len, S_ISDIR(st.st_mode));
	}
	close(dirfd);
	ignore_stack_free(s);   /* frees global too */
	return ignored;
}

static bool in_list(const struct buf *list, const char *rel)
{
	for (size_t off = 0; off < list->len; off += strlen(list->data + off) + 1)
		if (strcmp(list->data + off, rel) == 0)
			return true;
	return false;
}

static void run_case(size_t n, const struct gcase *c)
{
	char repo[PATH_MAX], p[PATH_MAX], global[PATH_MAX], list[PATH_MAX], outp[PATH_MAX];
	struct buf tree = BUF_INIT, gitout = BUF_INIT, diag = BUF_INIT;
	bool has_global = false;
	int rootfd, st;
	char name[PATH_MAX];

	at(repo, "%s/case%02zu", scratch, n);
	at(global, "%s/global%02zu", scratch, n);
	at(list, "%s/list%02zu", scratch, n);
	at(outp, "%s/out%02zu", scratch, n);
	mkdirs(repo);
	if (run("git init -q '%s'", repo) != 0) {
		fprintf(stderr, "git init failed\n");
		exit(99);
	}
	buf_puts(&tree, c->tree);
	for (char *save = NULL, *e = strtok_r(tree.data, "|", &save); e;
	     e = strtok_r(NULL, "|", &save)) {
		char *arrow = strstr(e, "->");

		if (arrow) {
			*arrow = '\0';
			at(p, "%s/%s", repo, e);
			if (symlink(arrow + 2, p) != 0)
				die("symlink", p);
		} else if (e[strlen(e) - 1] == '/') {
			at(p, "%s/%s", repo, e);
			mkdirs(p);
		} else {
			at(p, "%s/%s", repo, e);
			write_file(p, "x\n");
		}
	}
	for (size_t i = 0; i < 4 && c->pats[i].path; i++) {
		if (strcmp(c->pats[i].path, "@global") == 0) {
			write_file(global, c->pats[i].text);
			has_global = true;
			continue;
		}
		if (strcmp(c->pats[i].path, "@exclude") == 0)
			at(p, "%s/.git/info/exclude", repo);
		else
			at(p, "%s/%s", repo, c->pats[i].path);
		write_file(p, c->pats[i].text);
	}

	buf_reset(&walked);
	walked_root_len = strlen(repo);
	if (nftw(repo, collect, 16, FTW_PHYS) != 0)
		die("nftw", repo);
	{
		FILE *f = fopen(list, "w");

		if (!f || fwrite(walked.data, 1, walked.len, f) != walked.len)
			die("write", list);
		fclose(f);
	}
	st = run("cd '%s' && git -c core.excludesFile='%s' -c core.ignoreCase=%s "
		 "check-ignore --no-index --stdin -z <'%s' >'%s'",
		 repo, has_global ? global : "/nonexistent/forja-test", c->icase ? "true" : "false",
		 list, outp);
	if (st != 0 && st != 1) {
		fprintf(stderr, "git check-ignore failed (%d) in %s\n", st, repo);
		exit(99);
	}
	{
		FILE *f = fopen(outp, "r");
		char chunk[4096];
		size_t got;

		if (!f)
			die("open", outp);
		while ((got = fread(chunk, 1, sizeof chunk, f)) > 0)
			buf_add(&gitout, chunk, got);
		fclose(f);
	}

	rootfd = open(repo, O_RDONLY | O_DIRECTORY);
	if (rootfd < 0)
		die("open", repo);
	for (size_t off = 0; off < walked.len; off += strlen(walked.data + off) + 1) {
		const char *rel = walked.data + off;
		struct ignore_list *g = NULL;
		struct ferr e = FERR_INIT;
		bool mine, theirs = in_list(&gitout, rel);

		if (has_global && ignore_list_load_file(global, c->icase, &g, &e) != 0) {
			fprintf(stderr, "load global: %s\n", e.msg);
			exit(99);
		}
		mine = ours(rootfd, g, c->icase, rel);
		if (mine != theirs)
			buf_printf(&diag, "#   %s: git says %s, forja says %s\n", rel,
				   theirs ? "ignored" : "not ignored", mine ? "ignored" : "not ignored");
	}
	close(rootfd);
	at(name, "git agrees: %s", c->name);
	tap_ok(diag.len == 0, name);
	if (diag.len)
		fputs(diag.data, stdout);
	buf_release(&tree);
	buf_release(&gitout);
	buf_release(&diag);
}

/* The fast paths (hash of names, suffix table) give what the slow path
 * gives: the same patterns wrapped so that each is forced to wildmatch. */
static void test_fast_paths(void)
{
	static const char *const names[] = { "Makefile", "a.o", "b.a", "keep.o", "x.min.js",
					     "y.js", "z", "Make", "o", ".o" };
	struct ignore_list *fast = ignore_list_new("", 0, false);
	struct ignore_list *slow = ignore_list_new("", 0, false);
	bool same = true;

	static const char fast_text[] = "Makefile\n*.o\n*.a\n!keep.o\n*.js\n!*.min.js\nz/\no\n";
	/* "[M]" and "[.]" defeat both fast paths without changing the meaning */
	static const char slow_text[] =
		"[M]akefile\n*[.]o\n*[.]a\n![k]eep.o\n*[.]js\n!*[.]min.js\n[z]/\n[o]\n";

	ignore_list_add_text(fast, fast_text, strlen(fast_text));
	ignore_list_add_text(slow, slow_text, strlen(slow_text));
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		for (int d = 0; d < 2; d++)
			if (ignore_list_match(fast, names[i], strlen(names[i]), d) !=
			    ignore_list_match(slow, names[i], strlen(names[i]), d)) {
				printf("#   %s (dir %d) differs\n", names[i], d);
				same = false;
			}
	tap_ok(same, "hash fast paths agree with wildmatch");
	tap_is_int(ignore_list_count(fast), 8, "eight patterns counted");
	ignore_list_free(fast);
	ignore_list_free(slow);
}

static void test_wildmatch(void)
{
	char text[4096];
	struct timespec t0, t1;
	double ms;

	tap_ok(ignore_wildmatch("foo/**/bar", "foo/bar", IGNORE_WM_PATHNAME), "**/ matches no dir");
	tap_ok(ignore_wildmatch("foo/**/bar", "foo/a/b/bar", IGNORE_WM_PATHNAME),
	       "**/ matches many dirs");
	tap_ok(!ignore_wildmatch("foo*bar", "foo/bar", IGNORE_WM_PATHNAME), "* stops at /");
	tap_ok(ignore_wildmatch("foo*bar", "foo/bar", 0), "* crosses / without PATHNAME");
	tap_ok(ignore_wildmatch("[[:alpha:]]x", "Qx", 0), "[[:alpha:]]");
	tap_ok(!ignore_wildmatch("[[:nope:]]x", "Qx", 0), "unknown class: no match");
	tap_ok(ignore_wildmatch("ABC", "abc", IGNORE_WM_CASEFOLD), "casefold");

	memset(text, 'a', sizeof text - 1);
	text[sizeof text - 1] = '\0';
	clock_gettime(CLOCK_MONOTONIC, &t0);
	tap_ok(!ignore_wildmatch("*a*a*a*a*a*a*a*a*a*a*a*a*b", text, 0),
	       "pathological pattern gives up");
	tap_ok(!ignore_wildmatch("**/**/**/**/**/**/**/**/**/**/x",
				 "a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/y",
				 IGNORE_WM_PATHNAME), "nested ** gives up or fails");
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
	tap_ok(ms < 500, "both within the step budget (< 500 ms)");
	if (ms >= 500)
		printf("#   took %.1f ms\n", ms);
}

static void test_notes(void)
{
	char dir[PATH_MAX], p[PATH_MAX];
	struct ignore_stack *s;
	int fd;

	at(dir, "%s/notes", scratch);
	mkdirs(dir);
	at(p, "%s/.gitignore", dir);
	write_file(p, "x\n");
	if (geteuid() == 0) {
		/* root reads anything: use a directory named .gitignore instead,
		 * which is skipped silently, and a symlink, which git ignores */
		tap_ok(1, "unreadable .gitignore noted (skipped: running as root)");
	} else {
		chmod(p, 0);
		fd = open(dir, O_RDONLY | O_DIRECTORY);
		s = ignore_stack_new(false, NULL);
		ignore_stack_enter(s, fd, "", 0, IGNORE_IS_ROOT | IGNORE_HAS_GITIGNORE);
		tap_contains(ignore_stack_notes(s), ".gitignore: Permission denied",
			     "unreadable .gitignore noted");
		ignore_stack_free(s);
		close(fd);
		chmod(p, 0644);
	}
	unlink(p);
	if (symlink("elsewhere", p) != 0)
		die("symlink", p);
	at(p, "%s/elsewhere", dir);
	write_file(p, "x\n");
	fd = open(dir, O_RDONLY | O_DIRECTORY);
	s = ignore_stack_new(false, NULL);
	ignore_stack_enter(s, fd, "", 0, IGNORE_IS_ROOT | IGNORE_HAS_GITIGNORE);
	tap_ok(!ignore_is_ignored(s, "x", 1, false), "symlinked .gitignore is not followed");
	tap_is_str(ignore_stack_notes(s), "", "and is not a problem");
	ignore_stack_free(s);
	close(fd);
}

/* Hostile pattern files: NUL bytes, invalid UTF-8, a huge line, a file over
 * the cap, and many patterns (which must stay fast). */
static void test_hostile(void)
{
	static const char nul[] = "foo\0bar\nbaz\n";
	static const char odd[] = "\xff*\n\\\n\n\n#\n!\n";
	struct ignore_list *l = ignore_list_new("", 0, false);
	struct buf big = BUF_INIT, name = BUF_INIT;
	struct timespec t0, t1;
	char dir[PATH_MAX], p[PATH_MAX];
	struct ignore_stack *s;
	size_t hits = 0;
	double ms;
	int fd;

	ignore_list_add_text(l, nul, sizeof nul - 1);
	tap_is_int((long long)ignore_list_count(l), 2, "NUL: the line ends there, as in git");
	tap_ok(ignore_list_match(l, "foo", 3, false) == IGNORE_EXCLUDED &&
	       ignore_list_match(l, "baz", 3, false) == IGNORE_EXCLUDED &&
	       ignore_list_match(l, "foobar", 6, false) == IGNORE_NONE, "NUL: what remains matches");
	ignore_list_free(l);

	l = ignore_list_new("", 0, false);
	ignore_list_add_text(l, odd, strlen(odd));
	tap_ok(ignore_list_match(l, "\xff\x80x", 3, false) == IGNORE_EXCLUDED,
	       "invalid UTF-8 patterns match bytes");
	tap_ok(ignore_list_match(l, "\\", 1, false) == IGNORE_NONE, "a lone backslash matches nothing");
	ignore_list_free(l);

	l = ignore_list_new("", 0, false);
	for (int i = 0; i < 100000; i++)
		buf_putc(&big, "ab*?[]"[i % 6]);
	buf_putc(&big, '\n');
	ignore_list_add_text(l, big.data, big.len);
	tap_ok(ignore_list_match(l, "abc", 3, false) == IGNORE_NONE, "a 100 KB pattern line");
	ignore_list_free(l);

	at(dir, "%s/hostile", scratch);
	mkdirs(dir);
	at(p, "%s/.gitignore", dir);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || ftruncate(fd, (off_t)IGNORE_MAX_FILE + 1) != 0)
		die("ftruncate", p);
	close(fd);
	fd = open(dir, O_RDONLY | O_DIRECTORY);
	s = ignore_stack_new(false, NULL);
	ignore_stack_enter(s, fd, "", 0, IGNORE_IS_ROOT | IGNORE_HAS_GITIGNORE);
	tap_contains(ignore_stack_notes(s), ".gitignore: larger than", "a pattern file over the cap is noted");
	ignore_stack_free(s);
	close(fd);

	/* 20,000 names, 20,000 "*.extN" suffixes and 200 wildcards, against
	 * 100,000 paths */
	buf_reset(&big);
	for (int i = 0; i < 20000; i++)
		buf_printf(&big, "name%d\n*.ext%d\n", i, i);
	for (int i = 0; i < 200; i++)
		buf_printf(&big, "w%d*x?\n", i);
	l = ignore_list_new("", 0, false);
	ignore_list_add_text(l, big.data, big.len);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < 100000; i++) {
		buf_reset(&name);
		buf_printf(&name, "dir%d/%s%d%s", i % 97, i % 3 ? "file" : "name", i % 30000,
			   i % 5 ? ".c" : ".ext7");
		hits += ignore_list_match(l, name.data, name.len, false) == IGNORE_EXCLUDED;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
	tap_ok(hits > 0 && ms < 2000, "40,200 patterns against 100,000 paths stay fast");
	printf("# %.0f ms for 100,000 paths (%zu ignored)\n", ms, hits);
	ignore_list_free(l);
	buf_release(&big);
	buf_release(&name);
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

int main(void)
{
	const char *tmp = getenv("TMPDIR");
	char xdg[PATH_MAX];

	at(scratch, "%s/forja-test-ignore.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(scratch))
		die("mkdtemp", scratch);
	/* git must see none of the user's configuration */
	at(xdg, "%s/xdg", scratch);
	mkdirs(xdg);
	setenv("HOME", scratch, 1);
	setenv("XDG_CONFIG_HOME", xdg, 1);
	setenv("GIT_CONFIG_NOSYSTEM", "1", 1);
	setenv("GIT_CONFIG_GLOBAL", "/dev/null", 1);
	unsetenv("GIT_DIR");
	unsetenv("GIT_WORK_TREE");

	if (run("git --version >/dev/null 2>&1") != 0) {
		printf("1..0 # SKIP git not installed\n");
		return 0;
	}
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		run_case(i, &cases[i]);
	test_fast_paths();
	test_wildmatch();
	test_notes();
	test_hostile();
	{
		struct buf g = BUF_INIT;

		tap_ok(ignore_global_path(&g) && strstr(g.data, "/xdg/git/ignore"),
		       "core.excludesFile default under XDG_CONFIG_HOME");
		buf_release(&g);
	}
	tap_ok(ignore_is_git_name(".git", false) && !ignore_is_git_name(".GIT", false) &&
	       ignore_is_git_name(".GIT", true) && !ignore_is_git_name(".gitx", true),
	       ".git recognised");
	nftw(scratch, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	buf_release(&walked);
	return tap_done();
}

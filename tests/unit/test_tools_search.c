/*
 * tools_search: the glob and grep tools on scratch workspaces, judged by
 * their output: which paths and lines come back, in which order, what is
 * left out and what the model is told about it.  grep's four ways of
 * searching a file (a literal alone, a literal then PCRE2, PCRE2 over the
 * whole file, PCRE2 line by line) are checked against a plain per-line
 * PCRE2 loop on the same text.
 */
#define PCRE2_CODE_UNIT_WIDTH 8

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <pcre2.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "forja/buf.h"
#include "forja/tools.h"
#include "tap.h"

static char scratch[PATH_MAX], ws[PATH_MAX], outside[PATH_MAX];
static struct pathpol pp;
static struct tool_ctx ctx;

static void die(const char *what, const char *path)
{
	fprintf(stderr, "test setup: %s %s: %s\n", what, path, strerror(errno));
	exit(99);
}

static void at(char *dst, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
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

/* Write len bytes to base/rel, making directories. */
static void put_bytes(const char *base, const char *rel, const void *data, size_t len)
{
	char p[PATH_MAX], dir[PATH_MAX];
	char *slash;
	int fd;

	at(p, "%s/%s", base, rel);
	at(dir, "%s", p);
	slash = strrchr(dir, '/');
	*slash = '\0';
	mkdirs(dir);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || write(fd, data, len) != (ssize_t)len)
		die("write", p);
	close(fd);
}

static void put(const char *rel, const char *text)
{
	put_bytes(ws, rel, text, strlen(text));
}

/* Call a tool with JSON arguments; the result's output is returned (a
 * static copy, valid until the next call) and its status stored. */
static enum tool_status status;
static uint64_t cut;
static char *last;

static const char *call(int (*tool)(const struct tool_ctx *, const cJSON *, struct tool_result *,
				    struct ferr *),
			const char *json)
{
	struct tool_result r;
	struct ferr e = FERR_INIT;
	cJSON *args = cJSON_Parse(json);

	if (!args) {
		fprintf(stderr, "bad test JSON: %s\n", json);
		exit(99);
	}
	memset(&r, 0, sizeof r);
	if (tool(&ctx, args, &r, &e) != 0) {
		fprintf(stderr, "internal error: %s\n", e.msg);
		exit(99);
	}
	status = r.status;
	cut = r.cut_bytes;
	free(last);
	last = xstrdup(buf_cstr(&r.output));
	tool_result_release(&r);
	cJSON_Delete(args);
	return last;
}

static const char *grep(const char *json)
{
	return call(tool_grep, json);
}

static const char *glob(const char *json)
{
	return call(tool_glob, json);
}

/* The output without its bracketed summary lines. */
static char *body(const char *out)
{
	struct buf b = BUF_INIT;

	for (const char *p = out; *p;) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) + 1 : strlen(p);

		if (*p != '[')
			buf_add(&b, p, n);
		p += n;
	}
	return buf_steal(&b);
}

static void is_body(const char *out, const char *want, const char *name)
{
	char *b = body(out);

	if (!tap_is_str(b, want, name))
		printf("#   whole output: %s\n", out);
	free(b);
}

/* ---- glob ------------------------------------------------------------------------ */

static void setup_tree(void)
{
	char p[PATH_MAX];

	put(".gitignore", "build/\n*.o\n/secret.txt\n");
	put("README.md", "# readme\n");
	put("secret.txt", "hidden by the root .gitignore\n");
	put("main.c", "int main(void) { return helper(); }\n");
	put("main.o", "object\n");
	put("src/a.c", "int a;\n");
	put("src/a.h", "extern int a;\n");
	put("src/b.c", "int b;\n");
	put("src/lib/c.c", "int c;\n");
	put("src/lib/deep/d.c", "int d;\n");
	put("src/lib/.gitignore", "generated.c\n");
	put("src/lib/generated.c", "int generated;\n");
	put("src/x.c.txt", "not c\n");
	put("build/out.c", "int built;\n");
	put("docs/guide.md", "guide\n");
	put("docs/api/ref.md", "ref\n");
	put("a.c", "top a\n");
	put("a-b.c", "sorts before a/ ...\n");
	put("a/z.c", "... and after a.c\n");
	put(".git/config", "[core]\n\tneedle = in .git\n");
	put(".git/HEAD", "ref: refs/heads/main\n");
	put(".git/info/exclude", "excluded.txt\n");
	put("excluded.txt", "listed in info/exclude\n");
	put("!bang.txt", "a name with a bang\n");
	at(p, "%s/outside.c", outside);
	put_bytes(outside, "outside.c", "int outside; needle\n", 20);
	put_bytes(outside, "sub/o.c", "needle\n", 7);
	at(p, "%s/link-out", ws);
	if (symlink(outside, p) != 0)
		die("symlink", p);
	at(p, "%s/link-file.c", ws);
	at(p, "%s/link-file.c", ws);
	{
		char target[PATH_MAX];

		at(target, "%s/outside.c", outside);
		if (symlink(target, p) != 0)
			die("symlink", p);
	}
	at(p, "%s/src/link-in", ws);
	if (symlink("lib", p) != 0)
		die("symlink", p);
	at(p, "%s/fifo.c", ws);
	if (mkfifo(p, 0644) != 0)
		die("mkfifo", p);
}

static void test_glob(void)
{
	const char *o;

	o = glob("{\"pattern\":\"*.c\"}");
	tap_is_int(status, TOOL_OK, "glob: ok");
	is_body(o,
		"a-b.c\n"
		"a.c\n"
		"a/z.c\n"
		"link-file.c\n"
		"main.c\n"
		"src/a.c\n"
		"src/b.c\n"
		"src/lib/c.c\n"
		"src/lib/deep/d.c\n",
		"glob *.c: any depth, sorted by path, ignored files and .git left out, "
		"symlinks listed, FIFO not");
	tap_contains(o, "[9 files, sorted by path]", "glob: says how many and the order");

	o = glob("{\"pattern\":\"src/**/*.c\"}");
	is_body(o, "src/a.c\nsrc/b.c\nsrc/lib/c.c\nsrc/lib/deep/d.c\n", "glob src/**/*.c");
	o = glob("{\"pattern\":\"src/*.c\"}");
	is_body(o, "src/a.c\nsrc/b.c\n", "glob src/*.c: one level");
	o = glob("{\"pattern\":\"./src/*.{c,h}\"}");
	is_body(o, "src/a.c\nsrc/a.h\nsrc/b.c\n", "glob braces and a leading ./");
	o = glob("{\"pattern\":\"docs\"}");
	is_body(o, "docs/api/ref.md\ndocs/guide.md\n", "glob of a directory name lists what is in it");
	o = glob("{\"pattern\":\"*.c\",\"path\":\"src/lib\"}");
	is_body(o, "src/lib/c.c\nsrc/lib/deep/d.c\n",
		"glob under a path: nested .gitignore honoured, paths from the workspace");
	o = glob("{\"pattern\":\"deep/*.c\",\"path\":\"src/lib\"}");
	is_body(o, "src/lib/deep/d.c\n", "glob with a slash is relative to the path");
	o = glob("{\"pattern\":\"**/link-*\"}");
	is_body(o, "link-file.c\nlink-out\nsrc/link-in\n", "symlinks listed, not followed");
	o = glob("{\"pattern\":\"o.c\"}");
	tap_contains(o, "No files match", "glob never walks through a symlink out of the workspace");
	o = glob("{\"pattern\":\"!bang.txt\"}");
	is_body(o, "!bang.txt\n", "a leading ! in glob is part of the name");
	o = glob("{\"pattern\":\"config\"}");
	tap_contains(o, "No files match", "glob never lists .git");
	o = glob("{\"pattern\":\"*.txt\"}");
	is_body(o, "!bang.txt\nsrc/x.c.txt\n", "info/exclude and anchored root patterns honoured");

	o = glob("{\"pattern\":\"*.c\",\"path\":\"../\"}");
	tap_is_int(status, TOOL_DENIED, "glob: a path above the workspace is denied");
	o = glob("{\"pattern\":\"*.c\",\"path\":\"link-out\"}");
	tap_is_int(status, TOOL_DENIED, "glob: a path through a symlink out is denied");
	o = glob("{\"pattern\":\"*.c\",\"path\":\"nope\"}");
	tap_is_int(status, TOOL_FAILED, "glob: a missing path fails");
	tap_contains(o, "nope", "and names it");
	o = glob("{\"pattern\":\"*\",\"path\":\".git\"}");
	tap_is_int(status, TOOL_FAILED, "glob: path .git refused");
	o = glob("{\"pattern\":\"{a,b}{c,d}{e,f}{g,h}{i,j}{k,l}{m,n}{o,p}{q,r}\"}");
	tap_is_int(status, TOOL_FAILED, "glob: too many alternatives refused");
	tap_contains(o, "alternatives", "and says why");
	o = glob("{\"pattern\":\"*.c\",\"path\":\"main.c\"}");
	tap_is_int(status, TOOL_FAILED, "glob: path must be a directory");
}

static void test_glob_cap(void)
{
	char rel[64];
	const char *o;
	char *b;
	size_t lines = 0;

	for (int i = 0; i < 1203; i++) {
		snprintf(rel, sizeof rel, "many/f%04d.txt", i);
		put(rel, "x\n");
	}
	o = glob("{\"pattern\":\"many/*.txt\"}");
	b = body(o);
	for (const char *p = b; *p; p++)
		lines += *p == '\n';
	tap_is_int((long long)lines, 1000, "glob: at most 1000 paths");
	tap_contains(o, "[1000 of 1203 files shown, sorted by path", "glob: count of the rest");
	tap_ok(strncmp(b, "many/f0000.txt\nmany/f0001.txt\n", 30) == 0, "glob: the first ones kept");
	free(b);
}

/* ---- grep ------------------------------------------------------------------------ */

static void test_grep_basics(void)
{
	const char *o;

	put("g/one.txt", "alpha\nneedle one\nbeta\n");
	put("g/two.txt", "needle two\nneedle three\n");
	put("g/sub/three.txt", "gamma\n");
	put("g/ignored.log", "needle in an ignored file\n");
	put("g/.gitignore", "*.log\n");
	o = grep("{\"pattern\":\"needle\",\"path\":\"g\"}");
	tap_is_int(status, TOOL_OK, "grep: ok");
	is_body(o, "g/one.txt:2:needle one\ng/two.txt:1:needle two\ng/two.txt:2:needle three\n",
		"grep: path:line:text, sorted, .gitignore honoured");
	tap_contains(o, "[3 matching lines in 2 files]", "grep: summary");

	o = grep("{\"pattern\":\"needle\"}");
	tap_ok(!strstr(o, ".git/config") && !strstr(o, "outside"),
	       "grep: .git and symlinks out of the workspace never searched");
	tap_ok(!strstr(o, "link-file.c"), "grep: a symlinked file is not followed");

	o = grep("{\"pattern\":\"needle\",\"path\":\".git\"}");
	tap_is_int(status, TOOL_FAILED, "grep: path .git refused");
	tap_contains(o, ".git", "and says so");
	o = grep("{\"pattern\":\"x\",\"path\":\"src/link-in/../../.git\"}");
	tap_ok(status != TOOL_OK, "grep: .git reached through a symlink and .. refused");

	o = grep("{\"pattern\":\"NEEDLE T\",\"path\":\"g\",\"case_insensitive\":true}");
	is_body(o, "g/two.txt:1:needle two\ng/two.txt:2:needle three\n", "grep: case_insensitive");
	o = grep("{\"pattern\":\"NEEDLE\",\"path\":\"g\"}");
	tap_contains(o, "No matches in g (4 files searched).", "grep: case-sensitive by default");

	o = grep("{\"pattern\":\"needle\",\"path\":\"g\",\"glob\":\"two.*\"}");
	is_body(o, "g/two.txt:1:needle two\ng/two.txt:2:needle three\n", "grep: glob filter");
	o = grep("{\"pattern\":\"needle\",\"path\":\"g\",\"glob\":\"!two.*\"}");
	is_body(o, "g/one.txt:2:needle one\n", "grep: negated glob filter");
	o = grep("{\"pattern\":\"int\",\"glob\":\"src/lib/**\"}");
	is_body(o, "src/lib/c.c:1:int c;\nsrc/lib/deep/d.c:1:int d;\n",
		"grep: glob with a directory prefix");

	o = grep("{\"pattern\":\"needle\",\"path\":\"g/two.txt\"}");
	is_body(o, "g/two.txt:1:needle two\ng/two.txt:2:needle three\n", "grep: a single file");
	o = grep("{\"pattern\":\"needle\",\"path\":\"g/ignored.log\"}");
	is_body(o, "g/ignored.log:1:needle in an ignored file\n",
		"grep: a file named explicitly is searched even if ignored");

	put("nested/.git/HEAD", "ref: refs/heads/main\n");
	put("nested/.gitignore", "inner.txt\n");
	put("nested/x.o", "needle: the outer *.o does not reach into a nested repository\n");
	put("nested/inner.txt", "needle\n");
	o = grep("{\"pattern\":\"needle\",\"path\":\"nested\"}");
	is_body(o, "nested/x.o:1:needle: the outer *.o does not reach into a nested repository\n",
		"grep: a nested repository has its own rules");
	put("src/gen.o", "int in_an_object;\n");
	o = grep("{\"pattern\":\"in_an_object\",\"path\":\"src\"}");
	tap_contains(o, "No matches", "grep under a path: the root .gitignore still applies");
	o = grep("{\"pattern\":\"int\",\"path\":\"src/lib\"}");
	is_body(o, "src/lib/c.c:1:int c;\nsrc/lib/deep/d.c:1:int d;\n",
		"grep under a path: its own .gitignore applies");

	o = grep("{\"pattern\":\"a(b\"}");
	tap_is_int(status, TOOL_FAILED, "grep: bad pattern fails");
	tap_contains(o, "missing closing parenthesis at offset 3", "grep: PCRE2's message and offset");
	o = grep("{\"pattern\":\"x\",\"path\":\"/etc\"}");
	tap_is_int(status, TOOL_DENIED, "grep: a path outside is denied");
	o = grep("{\"pattern\":\"x\",\"path\":\"fifo.c\"}");
	tap_ok(status != TOOL_OK, "grep: a FIFO named explicitly is refused, not opened");
	o = grep("{\"pattern\":\"main\"}");
	tap_contains(o, "main.c:1:", "grep: walks past a FIFO without blocking");
}

static void test_grep_context(void)
{
	const char *o;

	put("c/ctx.txt", "l1\nl2\nhit3\nl4\nl5\nl6\nl7\nhit8\nhit9\nl10\n");
	put("c/other.txt", "o1\nhit2\n");
	o = grep("{\"pattern\":\"hit\",\"path\":\"c\",\"context\":1}");
	is_body(o,
		"c/ctx.txt-2-l2\n"
		"c/ctx.txt:3:hit3\n"
		"c/ctx.txt-4-l4\n"
		"--\n"
		"c/ctx.txt-7-l7\n"
		"c/ctx.txt:8:hit8\n"
		"c/ctx.txt:9:hit9\n"
		"c/ctx.txt-10-l10\n"
		"--\n"
		"c/other.txt-1-o1\n"
		"c/other.txt:2:hit2\n",
		"grep: context lines, merged groups, -- between groups and files");
	o = grep("{\"pattern\":\"hit\",\"path\":\"c\",\"context\":3}");
	is_body(o,
		"c/ctx.txt-1-l1\n"
		"c/ctx.txt-2-l2\n"
		"c/ctx.txt:3:hit3\n"
		"c/ctx.txt-4-l4\n"
		"c/ctx.txt-5-l5\n"
		"c/ctx.txt-6-l6\n"
		"c/ctx.txt-7-l7\n"
		"c/ctx.txt:8:hit8\n"
		"c/ctx.txt:9:hit9\n"
		"c/ctx.txt-10-l10\n"
		"--\n"
		"c/other.txt-1-o1\n"
		"c/other.txt:2:hit2\n",
		"grep: overlapping context merged, none past the ends");
}

static void test_grep_caps(void)
{
	char rel[64], line[64];
	struct buf text = BUF_INIT, longline = BUF_INIT;
	const char *o;
	char *b;
	size_t n = 0;

	for (int i = 0; i < 30; i++) {
		snprintf(line, sizeof line, "match %d\n", i);
		buf_puts(&text, line);
	}
	for (int f = 0; f < 4; f++) {
		snprintf(rel, sizeof rel, "caps/f%d.txt", f);
		put(rel, text.data);
	}
	o = grep("{\"pattern\":\"^match\",\"path\":\"caps\",\"max_results\":45}");
	b = body(o);
	for (const char *p = b; *p; p++)
		n += *p == '\n';
	tap_is_int((long long)n, 45, "grep: max_results lines shown");
	tap_ok(strstr(b, "caps/f1.txt:15:match 14\n") && !strstr(b, "caps/f1.txt:16:"),
	       "grep: cut after the 45th line in walk order");
	tap_contains(o, "[120 matching lines in 4 files; the first 45 shown", "grep: count of the rest");
	free(b);

	buf_puts(&longline, "start ");
	for (int i = 0; i < 200; i++)
		buf_puts(&longline, "filler ");
	buf_puts(&longline, "TARGET");
	for (int i = 0; i < 200; i++)
		buf_puts(&longline, " tail");
	buf_puts(&longline, "\n");
	put("long/min.js", longline.data);
	o = grep("{\"pattern\":\"TARGET\",\"path\":\"long\"}");
	b = body(o);
	tap_ok(strlen(b) < 420 && strstr(b, "TARGET") && strstr(b, "long/min.js:1:...") &&
	       strstr(b, "filler TARGET tail"),
	       "grep: a long line is cut around the match");
	tap_contains(b, "... [", "grep: and says the line's length");
	free(b);

	put_bytes(ws, "bin/data.bin", "needle\0binary\n", 14);
	put("bin/text.txt", "needle\n");
	o = grep("{\"pattern\":\"needle\",\"path\":\"bin\"}");
	is_body(o, "bin/text.txt:1:needle\n", "grep: binary file skipped");
	tap_contains(o, "[1 binary file skipped]", "grep: binary files counted");
	o = grep("{\"pattern\":\"needle\",\"path\":\"bin/data.bin\"}");
	tap_contains(o, "is a binary file", "grep: a binary file named explicitly says so");

	ctx.max_file_bytes = 100;
	put("big/large.txt", longline.data);
	put("big/small.txt", "TARGET\n");
	o = grep("{\"pattern\":\"TARGET\",\"path\":\"big\"}");
	is_body(o, "big/small.txt:1:TARGET\n", "grep: files over the size cap skipped");
	tap_contains(o, "over 100 bytes skipped: big/large.txt", "grep: and named");
	o = grep("{\"pattern\":\"TARGET\",\"path\":\"big/large.txt\"}");
	tap_contains(o, "big/large.txt is larger than 100 bytes: not searched.",
		     "grep: a file named explicitly over the cap says so");
	ctx.max_file_bytes = 0;

	ctx.max_output_bytes = 400;
	o = grep("{\"pattern\":\"^match\",\"path\":\"caps\",\"max_results\":200}");
	tap_ok(strlen(o) <= 420 && cut > 0, "grep: output kept within max_output_bytes");
	tap_contains(o, "bytes cut ...]", "grep: the cut is marked");
	tap_contains(o, "[120 matching lines", "grep: the summary survives the cut (tail kept)");
	ctx.max_output_bytes = 0;

	buf_release(&text);
	buf_release(&longline);
}

static void test_grep_catastrophic(void)
{
	struct buf text = BUF_INIT;
	struct timespec t0, t1;
	const char *o;
	double ms;

	for (int i = 0; i < 200; i++)
		buf_puts(&text, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab\n");
	put("cat/evil.txt", text.data);
	put("cat/fine.txt", "aab\n");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	o = grep("{\"pattern\":\"(a+)+$\",\"path\":\"cat\"}");
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
	tap_is_int(status, TOOL_OK, "grep: catastrophic pattern still answers");
	tap_contains(o, "match limit in 1 file", "grep: the match limit is reported");
	tap_contains(o, "cat/evil.txt", "grep: naming the file");
	tap_ok(ms < 5000, "grep: bounded in time");
	if (ms >= 5000)
		printf("#   took %.0f ms\n", ms);
	buf_release(&text);
}

/* Many files over many directories: the output must not depend on the
 * threads, and must be in path order. */
static void test_grep_order(void)
{
	struct buf want = BUF_INIT;
	char rel[128], text[128];
	const char *o;
	char *first = NULL;
	bool same = true;

	for (int d = 0; d < 40; d++)
		for (int f = 0; f < 60; f++) {
			snprintf(rel, sizeof rel, "ord/d%02d/f%02d.txt", d, f);
			snprintf(text, sizeof text, "x\nhit %d %d\n", d, f);
			put(rel, text);
			if (f % 7 == 0) {
				/* a directory among the files: d/f07.txt, then
				 * d/f07/ ('.' < '/'), then d/f08.txt */
				snprintf(rel, sizeof rel, "ord/d%02d/f%02d/in.txt", d, f);
				put(rel, "hit inner\n");
			}
		}
	for (int d = 0; d < 40; d++)
		for (int f = 0; f < 60; f++) {
			buf_printf(&want, "ord/d%02d/f%02d.txt:2:hit %d %d\n", d, f, d, f);
			if (f % 7 == 0)
				buf_printf(&want, "ord/d%02d/f%02d/in.txt:1:hit inner\n", d, f);
		}
	for (int run = 0; run < 6; run++) {
		char *b;

		o = grep("{\"pattern\":\"hit\",\"path\":\"ord\",\"max_results\":5000}");
		b = body(o);
		if (!first)
			first = xstrdup(b);
		else if (strcmp(first, b) != 0)
			same = false;
		free(b);
	}
	tap_ok(same, "grep: same output on every run (threads)");
	tap_is_str(first, want.data, "grep: output in path order");
	free(first);
	buf_release(&want);
}

/* ---- grep: the four ways of searching against a per-line reference ----------------- */

static const char equiv_text[] =
	"foo\n"
	"xfoo\n"
	"foo bar\n"
	"  foo  \n"
	"\n"
	"bar foo\n"
	"foobar\n"
	"food\r\n"
	"fo\n"
	"o foo\n"
	"FOO Foo fOo\n"
	"ab\n"
	"abc 123 4567\n"
	"x\tfoo\tx\n"
	"\xff\xfe foo \xc3 .\n"
	"caf\xc3\xa9 foo\n"
	"long \xc5\xbf and \xe2\x84\xaa\n"
	"LONG S AND K\n"
	"a.c a-c abc\n"
	"ends with foo";

static const char *const equiv_patterns[] = {
	"foo", "foo bar", "fo+", "\\bfoo\\b", "(?<!x)foo", "(?<=x)foo", "foo$", "^foo", "^\\s+foo",
	"\\s+foo", "o\\sf", "[^x]*$", "^$", "^", "(?i)FOO", "x|y", "a.c", "a\\.c", "foo(?=bar)",
	"foo(?!bar)", "\\Aab", "ab\\z", "\\d{3}", "\\d+ \\d+", "caf\xc3\xa9", "\\w+\\s*$",
	"(foo|bar)+", "f(o)\\1", "[[:upper:]]{3}", "s and k", "long s", "\\t", "foo\\r",
	"foo\\n", "(?s)foo.bar", "(?m)^ab$", "(?-m)^ab$", "o{2}", "o{0}f", "fo?o", "\\Qa.c\\E",
	"x?foo", "fo*", "foo\\Kbar", "bar foo|food",
};

/* Line numbers (1-based) where a per-line PCRE2 match succeeds. */
static void reference(const char *pattern, bool icase, const char *text, size_t len,
		      struct buf *out)
{
	int err;
	PCRE2_SIZE off;
	pcre2_code *code = pcre2_compile(
		(PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED,
		PCRE2_UTF | PCRE2_MATCH_INVALID_UTF | PCRE2_MULTILINE | (icase ? PCRE2_CASELESS : 0),
		&err, &off, NULL);
	pcre2_match_data *md;
	size_t pos = 0, lineno = 1;

	if (!code) {
		buf_puts(out, "(does not compile)");
		return;
	}
	md = pcre2_match_data_create_from_pattern(code, NULL);
	while (pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t end = nl ? (size_t)(nl - text) : len;

		if (pcre2_match(code, (PCRE2_SPTR)(text + pos), end - pos, 0, 0, md, NULL) >= 0)
			buf_printf(out, "%zu ", lineno);
		pos = end + 1;
		lineno++;
	}
	pcre2_match_data_free(md);
	pcre2_code_free(code);
}

/* Line numbers in grep's output for eq/t.txt. */
static void got_lines(const char *out, struct buf *got)
{
	for (const char *p = out; (p = strstr(p, "eq/t.txt:"));) {
		p += 9;
		buf_printf(got, "%ld ", strtol(p, NULL, 10));
	}
}

static void test_grep_equivalence(void)
{
	size_t len = sizeof equiv_text - 1;
	size_t agree = 0, total = 0;
	struct buf diag = BUF_INIT;

	put_bytes(ws, "eq/t.txt", equiv_text, len);
	for (size_t i = 0; i < sizeof equiv_patterns / sizeof equiv_patterns[0]; i++) {
		for (int icase = 0; icase < 2; icase++) {
			struct buf want = BUF_INIT, got = BUF_INIT, json = BUF_INIT;
			cJSON *args = cJSON_CreateObject();
			char *txt;

			cJSON_AddStringToObject(args, "pattern", equiv_patterns[i]);
			cJSON_AddStringToObject(args, "path", "eq");
			cJSON_AddNumberToObject(args, "max_results", 1000);
			cJSON_AddBoolToObject(args, "case_insensitive", icase);
			txt = cJSON_PrintUnformatted(args);
			reference(equiv_patterns[i], icase, equiv_text, len, &want);
			got_lines(grep(txt), &got);
			total++;
			if (strcmp(buf_cstr(&want), buf_cstr(&got)) == 0)
				agree++;
			else
				buf_printf(&diag, "#   /%s/%s: want [%s] got [%s]\n", equiv_patterns[i],
					   icase ? "i" : "", buf_cstr(&want), buf_cstr(&got));
			free(txt);
			cJSON_Delete(args);
			buf_release(&want);
			buf_release(&got);
			buf_release(&json);
		}
	}
	tap_is_int((long long)agree, (long long)total,
		   "grep: every pattern finds the lines a per-line PCRE2 match finds");
	if (diag.len)
		fputs(diag.data, stdout);
	buf_release(&diag);

	/* and the same over many files, where the threads take part */
	{
		char rel[64];
		struct buf want = BUF_INIT, got = BUF_INIT;
		const char *o;

		for (int f = 0; f < 300; f++) {
			snprintf(rel, sizeof rel, "eqm/f%03d.txt", f);
			put_bytes(ws, rel, equiv_text, len);
		}
		reference("\\s+foo", false, equiv_text, len, &want);
		o = grep("{\"pattern\":\"\\\\s+foo\",\"path\":\"eqm\",\"max_results\":10000}");
		for (const char *p = o; (p = strstr(p, "eqm/f000.txt:"));) {
			p += 13;
			buf_printf(&got, "%ld ", strtol(p, NULL, 10));
		}
		tap_is_str(buf_cstr(&got), buf_cstr(&want), "grep: many files, same lines");
		tap_contains(o, "300 files]", "grep: every file searched");
		buf_release(&want);
		buf_release(&got);
	}
	grep("{\"pattern\":\"foo\\\\nbar\",\"path\":\"eq\"}");
	tap_contains(last, "\\n never matches", "grep: a pattern with \\n gets a note");
}

static void test_grep_text(void)
{
	static const char bad[] = "ok \xff\x01 needle\r\n";

	const char *o;

	put_bytes(ws, "u/bad.txt", bad, sizeof bad - 1);
	o = grep("{\"pattern\":\"needle\",\"path\":\"u\"}");
	is_body(o, "u/bad.txt:1:ok \xef\xbf\xbd needle\n",
		"grep: invalid UTF-8 and control bytes made safe");
	put("u/tab\there.txt", "needle\n");
	o = grep("{\"pattern\":\"needle\",\"path\":\"u\",\"glob\":\"tab*\"}");
	is_body(o, "\"u/tab\\there.txt\":1:needle\n", "grep: odd paths quoted as git does");
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
	struct ferr e = FERR_INIT;
	char xdg[PATH_MAX];

	at(scratch, "%s/forja-test-search.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(scratch))
		die("mkdtemp", scratch);
	at(ws, "%s/ws", scratch);
	at(outside, "%s/outside", scratch);
	at(xdg, "%s/xdg", scratch);
	mkdirs(ws);
	mkdirs(outside);
	mkdirs(xdg);
	put_bytes(xdg, "git/ignore", "*.swp\n", 6);
	setenv("XDG_CONFIG_HOME", xdg, 1);
	setup_tree();
	put("global.swp", "needle swp\n");
	if (pathpol_open_root(ws, &pp, &e) < 0) {
		fprintf(stderr, "%s\n", e.msg);
		return 99;
	}
	ctx.ws = &pp;
	ctx.read_only = true;

	test_glob();
	tap_ok(!strstr(glob("{\"pattern\":\"*.swp\"}"), "global.swp"),
	       "glob: core.excludesFile honoured");
	test_glob_cap();
	test_grep_basics();
	test_grep_context();
	test_grep_caps();
	test_grep_catastrophic();
	test_grep_order();
	test_grep_equivalence();
	test_grep_text();
	/* and once more through the component walk instead of openat2 */
	pp.use_openat2 = false;
	grep("{\"pattern\":\"needle\",\"path\":\"g\"}");
	tap_contains(last, "[3 matching lines in 2 files]", "grep: same through the walk fallback");
	glob("{\"pattern\":\"*.c\",\"path\":\"link-out\"}");
	tap_is_int(status, TOOL_DENIED, "glob: symlink out denied through the walk fallback");

	pathpol_release(&pp);
	free(last);
	nftw(scratch, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return tap_done();
}

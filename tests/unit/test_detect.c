/*
 * test_detect.c — languages by extension and build/test/lint commands by
 * project file (src/bootstrap/detect.c), including hostile inputs: invalid
 * UTF-8, NUL bytes, symlinks, FIFOs, huge files, malformed JSON.
 */
#include "forja/detect.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "tap.h"

/* ---- helpers ---- */

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static void add(struct detect_langs *dl, const char *path, uint64_t size)
{
	detect_langs_add(dl, path, strlen(path), size);
}

/* "name files bytes" per language, ", "-separated. */
static char *render_langs(struct detect_langs *dl)
{
	struct bs_lang *langs;
	struct buf out = BUF_INIT;
	size_t n;

	detect_langs_finish(dl, &langs, &n);
	for (size_t i = 0; i < n; i++)
		buf_printf(&out, "%s%s %zu %llu", i ? ", " : "", langs[i].name, langs[i].files,
			   (unsigned long long)langs[i].bytes);
	detect_langs_free_list(langs, n);
	return buf_steal(&out);
}

static char *make_dir(void)
{
	char tmpl[] = "/tmp/forja-detect-XXXXXX";
	char *dir = mkdtemp(tmpl);

	if (!dir) {
		perror("mkdtemp");
		exit(2);
	}
	return xstrdup(dir);
}

static void write_bytes(const char *dir, const char *name, const char *data, size_t len)
{
	struct buf path = BUF_INIT;
	FILE *f;

	buf_printf(&path, "%s/%s", dir, name);
	f = fopen(path.data, "wb");
	if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
		perror(path.data);
		exit(2);
	}
	buf_release(&path);
}

static void write_file(const char *dir, const char *name, const char *text)
{
	write_bytes(dir, name, text, strlen(text));
}

static void make_subdir(const char *dir, const char *name)
{
	struct buf path = BUF_INIT;

	buf_printf(&path, "%s/%s", dir, name);
	if (mkdir(path.data, 0755) != 0) {
		perror(path.data);
		exit(2);
	}
	buf_release(&path);
}

static void remove_tree(const char *dir)
{
	struct buf cmd = BUF_INIT;

	buf_printf(&cmd, "rm -rf '%s'", dir);
	if (system(cmd.data) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
	buf_release(&cmd);
}

/* Run detect_commands on dir and render "kind|command|source\n" lines;
 * *rc gets its return value. */
static char *scan_prefix(const char *dir, const char *prefix, int *rc)
{
	struct bs_command *cmds = NULL;
	struct ferr e = FERR_INIT;
	struct buf out = BUF_INIT;
	size_t n = 0;

	*rc = detect_commands(dir, prefix, &cmds, &n, &e);
	for (size_t i = 0; i < n; i++)
		buf_printf(&out, "%s|%s|%s\n", cmds[i].kind, cmds[i].command, cmds[i].source);
	if (*rc != 0)
		printf("# detect_commands: %s\n", e.msg);
	detect_commands_free(cmds, n);
	return buf_steal(&out);
}

static char *scan(const char *dir, int *rc)
{
	return scan_prefix(dir, "", rc);
}

/* Check the commands found in a directory holding exactly the given files
 * (name, content pairs, NULL-terminated). */
static void check_project(const char *what, const char *const *files, const char *want)
{
	char *dir = make_dir(), *got, name[256];
	int rc;

	for (size_t i = 0; files[i]; i += 2)
		write_file(dir, files[i], files[i + 1]);
	got = scan(dir, &rc);
	snprintf(name, sizeof name, "%s: scan succeeds", what);
	tap_is_int(rc, 0, name);
	snprintf(name, sizeof name, "%s: commands", what);
	tap_is_str(got, want, name);
	free(got);
	remove_tree(dir);
	free(dir);
}

/* ---- languages ---- */

static void test_langs_mixed(void)
{
	struct detect_langs *dl = detect_langs_new();
	char *got;

	add(dl, "src/main.c", 1000);
	add(dl, "src/util.h", 200);
	add(dl, "src/x.CPP", 300);
	add(dl, "include/y.hh", 100);
	add(dl, "lib/z.cc", 50);
	add(dl, "tools/gen.py", 400);
	add(dl, "Makefile", 80);
	add(dl, "sub/GNUmakefile", 5);
	add(dl, "rules.mk", 15);
	add(dl, "CMakeLists.txt", 70);
	add(dl, "cmake/Find.cmake", 30);
	add(dl, "Dockerfile", 20);
	add(dl, "docker/Dockerfile.dev", 20);
	add(dl, "README", 60);
	add(dl, ".gitignore", 10);
	add(dl, "odd.", 1);
	add(dl, "data/a.XYZ", 25);
	add(dl, "data/b.xyz", 25);
	add(dl, "man/forja.1", 90);
	add(dl, "asm/start.S", 40);
	add(dl, "asm/boot.s", 2);
	add(dl, "web/app.tsx", 9);
	add(dl, "web/app.ts", 1);
	add(dl, "dir.d/file", 4);
	got = render_langs(dl);
	tap_is_str(got,
		   "C 2 1200, C++ 3 450, Python 1 400, CMake 2 100, Makefile 3 100, "
		   "Roff 1 90, (none) 4 75, .xyz 2 50, Assembly 2 42, Dockerfile 2 40, "
		   "TypeScript 2 10",
		   "languages: sorted by bytes, names and extensions merged");
	free(got);
	detect_langs_free(dl);
}

static void test_langs_order_ties(void)
{
	struct detect_langs *dl = detect_langs_new();
	char *got;

	add(dl, "b.rs", 10);
	add(dl, "a.go", 10);
	add(dl, "c.zig", 10);
	add(dl, "d.rb", 11);
	got = render_langs(dl);
	tap_is_str(got, "Ruby 1 11, Go 1 10, Rust 1 10, Zig 1 10",
		   "languages: equal bytes ordered by name");
	free(got);

	/* The order files arrive in does not matter. */
	detect_langs_free(dl);
	dl = detect_langs_new();
	add(dl, "d.rb", 11);
	add(dl, "c.zig", 10);
	add(dl, "a.go", 10);
	add(dl, "b.rs", 10);
	got = render_langs(dl);
	tap_is_str(got, "Ruby 1 11, Go 1 10, Rust 1 10, Zig 1 10",
		   "languages: independent of input order");
	free(got);
	detect_langs_free(dl);
}

static void test_langs_empty(void)
{
	struct detect_langs *dl = detect_langs_new();
	struct bs_lang *langs = (struct bs_lang *)1;
	size_t n = 99;

	detect_langs_finish(dl, &langs, &n);
	tap_ok(langs == NULL && n == 0, "languages: empty tally gives NULL, 0");
	detect_langs_free(dl);
	detect_langs_free(NULL);
}

static void test_langs_hostile(void)
{
	struct detect_langs *dl = detect_langs_new();
	char *got;

	detect_langs_add(dl, "bad.\xff", 5, 3);
	detect_langs_add(dl, "worse.\xfe", 7, 4);
	detect_langs_add(dl, "x.\xc3\xa9T", 5, 5);  /* valid UTF-8, uppercase T */
	detect_langs_add(dl, "ctl.a\x01" "b", 7, 6);
	detect_langs_add(dl, "nul.a\0b", 7, 7);
	detect_langs_add(dl, "nul.c\0", 6, 1);
	detect_langs_add(dl, "long.abcdefghijklmnopq", 22, 8);  /* 17 bytes */
	detect_langs_add(dl, "ok.abcdefghijklmnop", 19, 9);     /* 16 bytes */
	detect_langs_add(dl, "", 0, 2);
	detect_langs_add(dl, "dir/", 4, 2);
	detect_langs_add(dl, "truncated.c", 3, 100);  /* only "tru" counts */
	got = render_langs(dl);
	tap_is_str(got,
		   "(none) 4 112, .a?b 2 13, .abcdefghijklmnop 1 9, .? 2 7, "
		   ".\xc3\xa9t 1 5, .c? 1 1",
		   "languages: invalid UTF-8, control bytes, NUL, long extensions");
	free(got);
	detect_langs_free(dl);
}

static void test_langs_fast(void)
{
	struct detect_langs *dl = detect_langs_new();
	static const char *const exts[] = { "c", "h", "py", "js", "md", "json", "weird", "" };
	char path[64];
	double start, ms;
	struct bs_lang *langs;
	size_t n, total = 0;

	start = now_ms();
	for (int i = 0; i < 100000; i++) {
		int len = snprintf(path, sizeof path, "src/dir%d/file%d.%s", i % 97, i,
				   exts[i % 8]);
		detect_langs_add(dl, path, (size_t)len, (uint64_t)i);
	}
	detect_langs_finish(dl, &langs, &n);
	ms = now_ms() - start;
	for (size_t i = 0; i < n; i++)
		total += langs[i].files;
	tap_is_int((long long)total, 100000, "languages: 100,000 files all counted");
	tap_is_int((long long)n, 7, "languages: 100,000 files in 7 groups");
	printf("# 100,000 files in %.1f ms\n", ms);
	tap_ok(ms < 500, "languages: 100,000 files tallied quickly (even under ASan)");
	detect_langs_free_list(langs, n);
	detect_langs_free(dl);
}

/* ---- Makefile ---- */

static const char realistic_makefile[] =
	"# forja: build, test. Targets: all check\n"
	"CC ?= cc\n"
	"CFLAGS := -O2 -DX=\"a:b\"\n"
	"OBJS = a.o b.o\n"
	"LDFLAGS += -lm\n"
	"NOW != date +%H:%M\n"
	"prefix ::= /usr\n"
	"URL = http://example.com:80/x\n"
	"\n"
	".PHONY: all check clean install help lint-man bench fmt\n"
	".SUFFIXES:\n"
	"\n"
	"all: forja\n"
	"\n"
	"forja: $(OBJS)\n"
	"\t$(CC) -o $@ $(OBJS) -Wl,-rpath:/x\n"
	"\t@echo \"done: ok\"\n"
	"\n"
	"%.o: %.c\n"
	"\t$(CC) -c $<\n"
	"$(BUILD)/%.o: %.c\n"
	"\tcc -c $<\n"
	"$(eval x: y)\n"
	"\n"
	"check: all\n"
	"\t./run-tests --filter=a:b \\\n"
	"more: stuff\n"
	"help:\n"
	"\t@echo \"targets: all check\"\n"
	"clean::\n"
	"\trm -f *.o\n"
	"clean::\n"
	"\trm -rf build\n"
	"define RULE\n"
	"generated: bar\n"
	"endef\n"
	"ifeq ($(X),y)\n"
	"debug: CFLAGS += -g\n"
	"endif\n"
	"lint-man: ; mandoc -Tlint forja.1 # a: comment\n"
	"bench: forja ## run benchmarks\n"
	"install \\\n"
	"  : all\n"
	"fmt:\n"
	"notphony:\n"
	"build/dir/x.o: x.c\n"
	".c.o:\n"
	"#commented: x\n"
	"  indented: x\n";

static void test_make_realistic(void)
{
	const char *files[] = { "Makefile", realistic_makefile, NULL };

	check_project("Makefile with variables, patterns, recipes, .PHONY", files,
		      "build|make all|Makefile\n"
		      "test|make check|Makefile\n"
		      "other|make clean|Makefile\n"
		      "other|make bench|Makefile\n"
		      "other|make install|Makefile\n"
		      "format|make fmt|Makefile\n"
		      "other|make help|Makefile\n"
		      "lint|make lint-man|Makefile\n");
}

static void test_make_no_phony(void)
{
	const char *files[] = {
		"makefile",
		"prog: main.o util.o\n\tcc -o prog main.o util.o\n"
		"main.o: main.c\n\tcc -c main.c\n"
		"test-unit: prog\n\t./prog --test\n"
		"tests: test-unit\n",
		NULL,
	};

	check_project("Makefile without .PHONY", files,
		      "test|make tests|makefile\n"
		      "other|make prog|makefile\n"
		      "test|make test-unit|makefile\n");
}

static void test_make_cap_and_order(void)
{
	struct buf mk = BUF_INIT;
	const char *files[] = { "Makefile", NULL, NULL };

	buf_puts(&mk, ".PHONY:");
	for (int i = 0; i < 20; i++)
		buf_printf(&mk, " t%02d", i);
	buf_puts(&mk, " clean test\n");
	for (int i = 0; i < 20; i++)
		buf_printf(&mk, "t%02d:\n\techo %d\n", i, i);
	buf_puts(&mk, "clean:\n\trm -f x\ntest:\n\t./t\n");
	files[1] = mk.data;
	check_project("Makefile: well-known first, at most 8", files,
		      "other|make clean|Makefile\n"
		      "test|make test|Makefile\n"
		      "other|make t00|Makefile\n"
		      "other|make t01|Makefile\n"
		      "other|make t02|Makefile\n"
		      "other|make t03|Makefile\n"
		      "other|make t04|Makefile\n"
		      "other|make t05|Makefile\n");
	buf_release(&mk);
}

static void test_autotools(void)
{
	const char *configured[] = { "configure", "#!/bin/sh\n", NULL };
	const char *fresh[] = { "configure.ac", "AC_INIT([x], [1])\n", "autogen.sh", "#!/bin/sh\n", NULL };
	const char *built[] = { "configure", "#!/bin/sh\n", "Makefile", "all:\n\techo\n", NULL };

	check_project("autotools: a configure script", configured,
		      "build|./configure && make|configure\n"
		      "test|make check|configure\n");
	check_project("autotools: configure.ac and autogen.sh", fresh,
		      "build|./autogen.sh && ./configure && make|configure.ac\n"
		      "test|make check|configure.ac\n");
	check_project("autotools: once configured, the Makefile speaks", built,
		      "build|make all|Makefile\n");
}

static void test_make_gnumakefile_wins(void)
{
	const char *files[] = {
		"Makefile", "all:\n\techo plain\n",
		"GNUmakefile", "build:\n\techo gnu\n",
		NULL,
	};

	check_project("GNUmakefile is the one make reads", files,
		      "build|make build|GNUmakefile\n");
}

static void test_make_hostile_bytes(void)
{
	static const char mk[] =
		"all:\r\n\techo crlf\r\n"
		"te\0st: x\n"
		"caf\xc3: x\n"
		"caf\xc3\xa9: x\n"
		"a\x01" "b: x\n"
		"a\x1b[31m: x\n"
		"-rf: x\n"
		"\xff\xfe\0\0: \0\n"
		"check\0: x\n"
		"lint: x \\\r\n  y\r\n";
	char *dir = make_dir(), *got;
	int rc;

	write_bytes(dir, "Makefile", mk, sizeof mk - 1);
	got = scan(dir, &rc);
	tap_is_int(rc, 0, "Makefile with NUL, CR and invalid UTF-8: scan succeeds");
	tap_is_str(got,
		   "build|make all|Makefile\n"
		   "lint|make lint|Makefile\n"
		   "other|make caf\xc3\xa9|Makefile\n",
		   "Makefile with NUL, CR and invalid UTF-8: only clean names");
	free(got);
	remove_tree(dir);
	free(dir);
}

static void test_make_symlink_ignored(void)
{
	char *outside = make_dir(), *dir = make_dir(), *got;
	struct buf target = BUF_INIT, link = BUF_INIT;
	int rc;

	write_file(outside, "Makefile", "all:\n\techo outside\n");
	write_file(outside, "package.json", "{\"scripts\":{\"build\":\"x\"}}");
	buf_printf(&target, "%s/Makefile", outside);
	buf_printf(&link, "%s/Makefile", dir);
	tap_is_int(symlink(target.data, link.data), 0, "symlink: created Makefile link");
	buf_reset(&target);
	buf_reset(&link);
	buf_printf(&target, "%s/package.json", outside);
	buf_printf(&link, "%s/package.json", dir);
	tap_is_int(symlink(target.data, link.data), 0, "symlink: created package.json link");
	write_file(dir, "go.mod", "module x\n");
	got = scan(dir, &rc);
	tap_is_int(rc, 0, "symlinked Makefile: scan succeeds");
	tap_is_str(got,
		   "build|go build ./...|go.mod\n"
		   "test|go test ./...|go.mod\n"
		   "lint|go vet ./...|go.mod\n",
		   "symlinked Makefile and package.json are ignored");
	free(got);
	buf_release(&target);
	buf_release(&link);
	remove_tree(dir);
	remove_tree(outside);
	free(dir);
	free(outside);
}

static void on_alarm(int sig)
{
	static const char msg[] = "not ok - detect_commands hung on a FIFO\n";

	(void)sig;
	if (write(1, msg, sizeof msg - 1) < 0)
		_exit(1);
	_exit(1);
}

static void test_make_fifo(void)
{
	char *dir = make_dir(), *got;
	struct buf path = BUF_INIT;
	int rc;

	buf_printf(&path, "%s/Makefile", dir);
	tap_is_int(mkfifo(path.data, 0644), 0, "FIFO: created a FIFO named Makefile");
	buf_reset(&path);
	buf_printf(&path, "%s/package.json", dir);
	tap_is_int(mkfifo(path.data, 0644), 0, "FIFO: created a FIFO named package.json");
	write_file(dir, "Cargo.toml", "[package]\nname = \"x\"\n");
	signal(SIGALRM, on_alarm);
	alarm(10);
	got = scan(dir, &rc);
	alarm(0);
	tap_is_int(rc, 0, "FIFO Makefile: scan succeeds without hanging");
	tap_is_str(got,
		   "build|cargo build|Cargo.toml\n"
		   "test|cargo test|Cargo.toml\n"
		   "lint|cargo clippy|Cargo.toml\n"
		   "format|cargo fmt --check|Cargo.toml\n",
		   "FIFO Makefile: no make commands");
	free(got);
	buf_release(&path);
	remove_tree(dir);
	free(dir);
}

static void test_make_huge(void)
{
	char *dir = make_dir(), *got;
	struct buf mk = BUF_INIT;
	double start, ms;
	int rc;

	buf_puts(&mk, ".PHONY: all late\nall:\n\techo hi\n");
	while (mk.len < 10 * 1024 * 1024)
		buf_puts(&mk, "\techo 'filler line: nothing to see here, just bytes'\n");
	buf_puts(&mk, "late:\n\techo late\n");
	write_bytes(dir, "Makefile", mk.data, mk.len);
	start = now_ms();
	got = scan(dir, &rc);
	ms = now_ms() - start;
	printf("# 10 MiB Makefile in %.1f ms\n", ms);
	tap_is_int(rc, 0, "10 MiB Makefile: scan succeeds");
	tap_is_str(got, "build|make all|Makefile\n",
		   "10 MiB Makefile: read only to the cap");
	tap_ok(ms < 1000, "10 MiB Makefile: handled quickly");
	free(got);

	/* A target name cut by the cap is dropped, not shortened. */
	buf_reset(&mk);
	buf_puts(&mk, "all:\n");
	while (mk.len < DETECT_READ_CAP - 3)
		buf_putc(&mk, '#');
	buf_puts(&mk, "\nabcdef:\n");
	write_bytes(dir, "Makefile", mk.data, mk.len);
	got = scan(dir, &rc);
	tap_is_str(got, "build|make all|Makefile\n", "Makefile: half a line at the cap is dropped");
	free(got);

	/* One logical line of 10 MiB (all continuations). */
	buf_reset(&mk);
	buf_puts(&mk, "all");
	while (mk.len < 10 * 1024 * 1024)
		buf_puts(&mk, " x \\\n");
	write_bytes(dir, "Makefile", mk.data, mk.len);
	got = scan(dir, &rc);
	tap_is_int(rc, 0, "Makefile of one huge continued line: scan succeeds");
	free(got);

	buf_release(&mk);
	remove_tree(dir);
	free(dir);
}

/* ---- package.json ---- */

static const char realistic_package_json[] =
	"{\n"
	"  \"name\": \"web\",\n"
	"  \"private\": true,\n"
	"  \"scripts\": {\n"
	"    \"dev\": \"vite\",\n"
	"    \"build\": \"tsc && vite build\",\n"
	"    \"preview\": \"vite preview\",\n"
	"    \"pretest\": \"node setup.js\",\n"
	"    \"test\": \"vitest\",\n"
	"    \"lint\": \"eslint .\",\n"
	"    \"format\": \"prettier -w .\",\n"
	"    \"prepare\": \"husky\",\n"
	"    \"test:e2e\": \"playwright test\",\n"
	"    \"bad name\": \"x\",\n"
	"    \"evil\\u001b[2J\": \"x\",\n"
	"    \"number\": 3,\n"
	"    \"typecheck\": \"tsc --noEmit\"\n"
	"  },\n"
	"  \"devDependencies\": { \"vite\": \"^5\" }\n"
	"}\n";

static void test_package_json(void)
{
	const char *npm[] = { "package.json", realistic_package_json, NULL };
	const char *yarn[] = { "package.json", realistic_package_json, "yarn.lock", "", NULL };
	const char *pnpm[] = { "package.json", realistic_package_json, "pnpm-lock.yaml", "",
			       NULL };
	const char *bun[] = { "package.json", "{\"scripts\":{\"test\":\"bun test\"}}",
			      "bun.lockb", "", NULL };
	const char *manager[] = {
		"package.json", "{\"packageManager\":\"pnpm@9.1.0\",\"scripts\":{\"build\":\"x\"}}",
		"yarn.lock", "", NULL,
	};

	check_project("package.json with npm", npm,
		      "run|npm run dev|package.json\n"
		      "build|npm run build|package.json\n"
		      "test|npm test|package.json\n"
		      "lint|npm run lint|package.json\n"
		      "format|npm run format|package.json\n"
		      "lint|npm run typecheck|package.json\n"
		      "other|npm run preview|package.json\n"
		      "test|npm run test:e2e|package.json\n");
	check_project("package.json with yarn.lock", yarn,
		      "run|yarn dev|package.json\n"
		      "build|yarn build|package.json\n"
		      "test|yarn test|package.json\n"
		      "lint|yarn lint|package.json\n"
		      "format|yarn format|package.json\n"
		      "lint|yarn typecheck|package.json\n"
		      "other|yarn preview|package.json\n"
		      "test|yarn test:e2e|package.json\n");
	check_project("package.json with pnpm-lock.yaml", pnpm,
		      "run|pnpm dev|package.json\n"
		      "build|pnpm build|package.json\n"
		      "test|pnpm test|package.json\n"
		      "lint|pnpm lint|package.json\n"
		      "format|pnpm format|package.json\n"
		      "lint|pnpm typecheck|package.json\n"
		      "other|pnpm preview|package.json\n"
		      "test|pnpm test:e2e|package.json\n");
	check_project("package.json with bun.lockb", bun, "test|bun run test|package.json\n");
	check_project("packageManager wins over a lockfile", manager,
		      "build|pnpm build|package.json\n");
}

static void test_package_json_malformed(void)
{
	const char *truncated[] = {
		"package.json", "{\"scripts\": {\"build\": \"tsc\",",
		"go.mod", "module example.com/x\n",
		NULL,
	};
	const char *wrong_types[] = {
		"package.json", "{\"scripts\": [\"build\"]}",
		NULL,
	};
	const char *not_object[] = { "package.json", "\"just a string\"", NULL };
	const char *empty[] = { "package.json", "", NULL };
	static const char with_nul[] = "{\"scripts\":{\"build\":\"x\0y\"}}";
	const char *escaped_nul[] = {
		"package.json", "{\"scripts\":{\"bu\\u0000ild\":\"x\"}}", NULL,
	};
	char *dir = make_dir(), *got;
	int rc;

	check_project("malformed package.json", truncated,
		      "build|go build ./...|go.mod\n"
		      "test|go test ./...|go.mod\n"
		      "lint|go vet ./...|go.mod\n");
	check_project("package.json with scripts as an array", wrong_types, "");
	check_project("package.json that is not an object", not_object, "");
	check_project("empty package.json", empty, "");
	check_project("package.json with \\u0000 in a name", escaped_nul, "");

	write_bytes(dir, "package.json", with_nul, sizeof with_nul - 1);
	got = scan(dir, &rc);
	tap_is_int(rc, 0, "package.json with NUL bytes: scan succeeds");
	tap_is_str(got, "", "package.json with NUL bytes: taken as malformed");
	free(got);
	remove_tree(dir);
	free(dir);
}

static void test_deno(void)
{
	const char *files[] = {
		"deno.json",
		"{\"tasks\":{\"dev\":\"deno run -A main.ts\","
		"\"check\":{\"command\":\"deno check main.ts\"},\"x y\":\"no\"}}",
		NULL,
	};

	check_project("deno.json", files,
		      "run|deno task dev|deno.json\n"
		      "test|deno task check|deno.json\n");
}

/* ---- Cargo, Go, CMake, Meson ---- */

static void test_cargo_go(void)
{
	const char *files[] = {
		"Cargo.toml", "[package]\nname = \"x\"\nversion = \"0.1.0\"\n",
		"go.mod", "module example.com/x\n\ngo 1.22\n",
		NULL,
	};

	check_project("Cargo.toml and go.mod", files,
		      "build|cargo build|Cargo.toml\n"
		      "test|cargo test|Cargo.toml\n"
		      "lint|cargo clippy|Cargo.toml\n"
		      "format|cargo fmt --check|Cargo.toml\n"
		      "build|go build ./...|go.mod\n"
		      "test|go test ./...|go.mod\n"
		      "lint|go vet ./...|go.mod\n");
}

static void test_cmake_meson(void)
{
	const char *cmake[] = {
		"CMakeLists.txt",
		"cmake_minimum_required(VERSION 3.20)\n"
		"PROJECT (demo C)\n"
		"add_executable(demo main.c)\n"
		"enable_testing()\n"
		"add_test(NAME t COMMAND demo)\n",
		NULL,
	};
	const char *cmake_no_tests[] = {
		"CMakeLists.txt",
		"project(demo)\n# enable_testing() is for later\nadd_executable(demo main.c)\n",
		NULL,
	};
	const char *cmake_ctest[] = {
		"CMakeLists.txt", "project(demo)\ninclude(CTest)\n", NULL,
	};
	const char *cmake_subdir[] = {
		"CMakeLists.txt", "add_library(util util.c)\n", NULL,
	};
	const char *meson[] = {
		"meson.build", "project('demo', 'c')\nexecutable('demo', 'main.c')\n", NULL,
	};

	check_project("CMakeLists.txt with tests", cmake,
		      "build|cmake -B build && cmake --build build|CMakeLists.txt\n"
		      "test|ctest --test-dir build|CMakeLists.txt\n");
	check_project("CMakeLists.txt without tests", cmake_no_tests,
		      "build|cmake -B build && cmake --build build|CMakeLists.txt\n");
	check_project("CMakeLists.txt with include(CTest)", cmake_ctest,
		      "build|cmake -B build && cmake --build build|CMakeLists.txt\n"
		      "test|ctest --test-dir build|CMakeLists.txt\n");
	check_project("CMakeLists.txt without project()", cmake_subdir, "");
	check_project("meson.build", meson,
		      "build|meson setup build && meson compile -C build|meson.build\n"
		      "test|meson test -C build|meson.build\n");
}

/* ---- Python ---- */

static void test_python(void)
{
	const char *uv[] = {
		"pyproject.toml",
		"[build-system]\n"
		"requires = [\"hatchling\"]\n"
		"build-backend = \"hatchling.build\"\n"
		"\n"
		"[project]\n"
		"name = \"demo\"\n"
		"dependencies = []\n"
		"\n"
		"[tool.pytest.ini_options]\n"
		"testpaths = [\"tests\"]\n"
		"\n"
		"[tool.ruff]\n"
		"line-length = 100\n"
		"[tool.ruff.lint]\n"
		"select = [\"E\"]\n"
		"\n"
		"[tool.mypy]\n"
		"strict = true\n",
		"uv.lock", "version = 1\n",
		NULL,
	};
	const char *poetry[] = {
		"pyproject.toml",
		"[tool.poetry]\nname = \"demo\"\n"
		"[tool.poetry.group.dev.dependencies]\npytest = \"^8\"\n"
		"[tool.black]\nline-length = 88\n"
		"[ tool.mypy ]\nfiles = [\"src\"]\n"
		"[tool.ruff.format]\nquote-style = \"single\"\n",
		"poetry.lock", "",
		"setup.cfg", "[metadata]\nname = demo\n[tool:pytest]\naddopts = -q\n[flake8]\nmax-line-length = 100\n",
		NULL,
	};
	const char *hatch[] = {
		"pyproject.toml",
		"[build-system]\nrequires = [\"hatchling\"]\n"
		"[tool.hatch.envs.default]\ndependencies = [\"pytest\"]\n",
		NULL,
	};
	const char *plain[] = {
		"pyproject.toml", "[build-system]\nrequires = [\"setuptools\"]\n",
		"tox.ini", "[tox]\nenvlist = py312\n[pytest]\naddopts = -q\n[flake8]\nmax-line-length = 100\n",
		NULL,
	};
	const char *tox_config_only[] = {
		"tox.ini", "[flake8]\nmax-line-length = 100\n", NULL,
	};
	const char *setup_cfg_only[] = {
		"setup.cfg", "[tool:pytest]\ntestpaths = tests\n",
		"pytest.ini", "[pytest]\n",
		NULL,
	};

	check_project("pyproject.toml with uv", uv,
		      "build|uv build|pyproject.toml\n"
		      "test|uv run pytest|pyproject.toml\n"
		      "lint|uv run ruff check|pyproject.toml\n"
		      "lint|uv run mypy .|pyproject.toml\n");
	check_project("pyproject.toml with poetry and setup.cfg", poetry,
		      "test|poetry run pytest|pyproject.toml\n"
		      "lint|poetry run ruff check|pyproject.toml\n"
		      "lint|poetry run mypy|pyproject.toml\n"
		      "format|poetry run black --check .|pyproject.toml\n"
		      "format|poetry run ruff format --check|pyproject.toml\n"
		      "lint|poetry run flake8|setup.cfg\n");
	check_project("pyproject.toml with hatch", hatch,
		      "build|hatch build|pyproject.toml\n"
		      "test|hatch run pytest|pyproject.toml\n");
	check_project("pyproject.toml and tox.ini", plain,
		      "build|python -m build|pyproject.toml\n"
		      "test|tox|tox.ini\n"
		      "test|pytest|tox.ini\n"
		      "lint|flake8|tox.ini\n");
	check_project("setup.cfg and pytest.ini", setup_cfg_only, "test|pytest|setup.cfg\n");
	check_project("tox.ini holding only flake8 settings", tox_config_only,
		      "lint|flake8|tox.ini\n");
}

static void test_setup_py(void)
{
	char *dir = make_dir(), *got;
	int rc;

	write_file(dir, "setup.py", "from setuptools import setup\nsetup(name='x')\n");
	got = scan(dir, &rc);
	tap_is_str(got, "", "setup.py without tests/: nothing");
	free(got);
	make_subdir(dir, "tests");
	got = scan(dir, &rc);
	tap_is_str(got, "test|pytest|setup.py\n", "setup.py with tests/: pytest");
	free(got);
	write_file(dir, "tox.ini", "[testenv]\ncommands = pytest\n");
	got = scan(dir, &rc);
	tap_is_str(got, "test|tox|tox.ini\n",
		   "setup.py: nothing more when tox.ini already says");
	free(got);
	remove_tree(dir);
	free(dir);
}

/* ---- Ruby, Gradle, Maven, just, Task ---- */

static void test_ruby_jvm(void)
{
	char *dir = make_dir(), *got;
	int rc;

	write_file(dir, "Gemfile", "source 'https://rubygems.org'\ngem 'rspec'\n");
	write_file(dir, "Rakefile", "require 'rspec/core/rake_task'\nRSpec::Core::RakeTask.new(:spec)\n");
	make_subdir(dir, "spec");
	write_file(dir, "build.gradle.kts", "plugins { java }\n");
	write_file(dir, "gradlew", "#!/bin/sh\n");
	write_file(dir, "pom.xml", "<project></project>\n");
	got = scan(dir, &rc);
	tap_is_int(rc, 0, "Ruby, Gradle, Maven: scan succeeds");
	tap_is_str(got,
		   "test|bundle exec rake|Rakefile\n"
		   "test|bundle exec rspec|Gemfile\n"
		   "build|./gradlew build|build.gradle.kts\n"
		   "test|./gradlew test|build.gradle.kts\n"
		   "build|mvn package|pom.xml\n"
		   "test|mvn test|pom.xml\n",
		   "Ruby, Gradle, Maven: commands");
	free(got);
	remove_tree(dir);
	free(dir);
}

static void test_just_task(void)
{
	const char *just[] = {
		"justfile",
		"set shell := [\"bash\", \"-c\"]\n"
		"version := \"1.0\"\n"
		"alias b := build\n"
		"\n"
		"# Build it\n"
		"build:\n"
		"    cargo build\n"
		"\n"
		"@test filter=\"a:b\":\n"
		"    cargo test {{filter}}\n"
		"_helper:\n"
		"    echo\n"
		"[private]\n"
		"secret:\n"
		"    echo\n"
		"[group('ci')]\n"
		"lint: build\n"
		"    echo hi: there\n"
		"release version:\n"
		"    echo {{version}}\n",
		NULL,
	};
	const char *task[] = {
		"Taskfile.yml",
		"version: '3'\n"
		"vars:\n"
		"  X: y\n"
		"tasks:\n"
		"  default:\n"
		"    cmds:\n"
		"      - task: build\n"
		"  build:\n"
		"    cmds:\n"
		"      - go build ./...\n"
		"  \"test:unit\":\n"
		"    cmds: [go test ./...]\n"
		"  lint: # static checks\n"
		"    cmds:\n"
		"      - golangci-lint run\n"
		"\n"
		"includes:\n"
		"  docs: ./docs\n",
		NULL,
	};

	check_project("justfile", just,
		      "build|just build|justfile\n"
		      "test|just test|justfile\n"
		      "lint|just lint|justfile\n"
		      "other|just release|justfile\n");
	check_project("Taskfile.yml", task,
		      "build|task default|Taskfile.yml\n"
		      "build|task build|Taskfile.yml\n"
		      "lint|task lint|Taskfile.yml\n"
		      "test|task test:unit|Taskfile.yml\n");
}

/* ---- the scan as a whole ---- */

static void test_order_prefix_append(void)
{
	char *dir = make_dir();
	struct bs_command *cmds = NULL;
	struct ferr e = FERR_INIT;
	struct buf out = BUF_INIT;
	size_t n = 0;
	int rc;

	write_file(dir, "package.json", "{\"scripts\":{\"test\":\"jest\"}}");
	write_file(dir, "Cargo.toml", "[package]\n");
	write_file(dir, "Makefile", "test:\n\tcargo test\n");
	rc = detect_commands(dir, "", &cmds, &n, &e);
	rc |= detect_commands(dir, "sub/dir/", &cmds, &n, &e);
	for (size_t i = 0; i < n; i++)
		buf_printf(&out, "%s|%s|%s\n", cmds[i].kind, cmds[i].command, cmds[i].source);
	tap_is_int(rc, 0, "two scans succeed");
	tap_is_str(out.data,
		   "test|make test|Makefile\n"
		   "build|cargo build|Cargo.toml\n"
		   "test|cargo test|Cargo.toml\n"
		   "lint|cargo clippy|Cargo.toml\n"
		   "format|cargo fmt --check|Cargo.toml\n"
		   "test|npm test|package.json\n"
		   "test|make test|sub/dir/Makefile\n"
		   "build|cargo build|sub/dir/Cargo.toml\n"
		   "test|cargo test|sub/dir/Cargo.toml\n"
		   "lint|cargo clippy|sub/dir/Cargo.toml\n"
		   "format|cargo fmt --check|sub/dir/Cargo.toml\n"
		   "test|npm test|sub/dir/package.json\n",
		   "fixed source order; prefix names the source; results are appended");
	detect_commands_free(cmds, n);
	buf_release(&out);
	remove_tree(dir);
	free(dir);
}

static void test_empty_and_missing(void)
{
	char *dir = make_dir(), *got;
	struct bs_command *cmds = NULL;
	struct ferr e = FERR_INIT;
	size_t n = 0;
	int rc;

	got = scan(dir, &rc);
	tap_is_int(rc, 0, "empty directory: scan succeeds");
	tap_is_str(got, "", "empty directory: no commands");
	free(got);

	make_subdir(dir, "Makefile");   /* a directory named Makefile */
	make_subdir(dir, "package.json");
	make_subdir(dir, "pyproject.toml");
	got = scan(dir, &rc);
	tap_is_int(rc, 0, "directories named like project files: scan succeeds");
	tap_is_str(got, "", "directories named like project files: ignored");
	free(got);

	remove_tree(dir);
	rc = detect_commands(dir, "", &cmds, &n, &e);
	tap_is_int(rc, -1, "missing directory: an error");
	tap_is_int(e.cls, FERR_IO, "missing directory: FERR_IO");
	tap_contains(e.msg, dir, "missing directory: the message names it");
	tap_ok(cmds == NULL && n == 0, "missing directory: nothing appended");
	detect_commands_free(NULL, 0);
	free(dir);
}

int main(void)
{
	test_langs_mixed();
	test_langs_order_ties();
	test_langs_empty();
	test_langs_hostile();
	test_langs_fast();

	test_make_realistic();
	test_make_no_phony();
	test_make_cap_and_order();
	test_autotools();
	test_make_gnumakefile_wins();
	test_make_hostile_bytes();
	test_make_symlink_ignored();
	test_make_fifo();
	test_make_huge();

	test_package_json();
	test_package_json_malformed();
	test_deno();
	test_cargo_go();
	test_cmake_meson();
	test_python();
	test_setup_py();
	test_ruby_jvm();
	test_just_task();
	test_order_prefix_append();
	test_empty_and_missing();
	return tap_done();
}

/*
 * pathpol: every hostile path a model could send, each through openat2 and
 * through the component walk, judged by effects (what was opened, what
 * changed on disk) and by the rule the message names.  Runs as root and as
 * an unprivileged user; it builds its own scratch tree under /tmp.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <unistd.h>

#include "forja/buf.h"
#include "forja/ferr.h"
#include "forja/pathpol.h"
#include "tap.h"

static char scratch[PATH_MAX], ws[PATH_MAX], out[PATH_MAX], out2[PATH_MAX];
static struct pathpol pp;
static const char *mode = "";   /* "[openat2]" or "[walk]", appended to names */
static bool show_messages;      /* print refusal messages once, for the reader */
static bool have_chardev;
static const char *const denied[] = { "secrets", "docs/private/" };
#define NDENIED (sizeof denied / sizeof denied[0])

static const char *name_of(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The test's name with the mode appended (one static buffer: use at once). */
static const char *name_of(const char *fmt, ...)
{
	static char name[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(name, sizeof name, fmt, ap);
	va_end(ap);
	if (n >= 0 && (size_t)n < sizeof name)
		snprintf(name + n, sizeof name - (size_t)n, " %s", mode);
	return name;
}

static void at(char *dst, const char *base, const char *rel)
{
	int n = snprintf(dst, PATH_MAX, "%s/%s", base, rel);

	if (n < 0 || n >= PATH_MAX) {
		fprintf(stderr, "test setup: path too long: %s/%s\n", base, rel);
		exit(99);
	}
}

static void die(const char *what, const char *path)
{
	fprintf(stderr, "test setup: %s %s: %s\n", what, path, strerror(errno));
	exit(99);
}

static void put_file(const char *base, const char *rel, const char *content, mode_t mode_bits)
{
	char p[PATH_MAX];
	int fd;

	at(p, base, rel);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || write(fd, content, strlen(content)) != (ssize_t)strlen(content))
		die("write", p);
	if (fchmod(fd, mode_bits) != 0)
		die("chmod", p);
	close(fd);
}

static void put_dir(const char *rel)
{
	char p[PATH_MAX];

	at(p, ws, rel);
	if (mkdir(p, 0755) != 0 && errno != EEXIST)
		die("mkdir", p);
}

static void put_link(const char *target, const char *rel)
{
	char p[PATH_MAX];

	at(p, ws, rel);
	unlink(p);
	if (symlink(target, p) != 0)
		die("symlink", p);
}

/* The whole content of a file, or NULL; free() it. */
static char *slurp_fd(int fd)
{
	struct buf b = BUF_INIT;
	char chunk[4096];
	ssize_t n;

	while ((n = read(fd, chunk, sizeof chunk)) > 0)
		buf_add(&b, chunk, (size_t)n);
	if (n < 0) {
		buf_release(&b);
		return NULL;
	}
	buf_puts(&b, "");
	return buf_steal(&b);
}

static char *slurp(const char *base, const char *rel)
{
	char p[PATH_MAX], *s;
	int fd;

	at(p, base, rel);
	fd = open(p, O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0)
		return NULL;
	s = slurp_fd(fd);
	close(fd);
	return s;
}

static bool exists(const char *base, const char *rel)
{
	char p[PATH_MAX];
	struct stat st;

	at(p, base, rel);
	return lstat(p, &st) == 0;
}

static void content_is(const char *base, const char *rel, const char *want, const char *name)
{
	char *got = slurp(base, rel);

	tap_is_str(got, want, name);
	free(got);
}

/* A refusal: class, and a message naming the rule (needle). */
static void check_refusal(int r, const struct ferr *e, enum ferr_class want, const char *needle,
			  const char *name)
{
	bool ok = r == -1 && e->cls == want && (!needle || strstr(e->msg, needle));

	tap_ok(ok, name);
	if (!ok)
		printf("#   wanted %s containing \"%s\", got r=%d %s: %s\n", ferr_class_name(want),
		       needle ? needle : "", r, ferr_class_name(e->cls), e->msg);
	else if (show_messages)
		printf("#   %s\n", e->msg);
}

static void expect_read_ok(const char *path, bool want_dir, const char *want, const char *name)
{
	struct ferr e = FERR_INIT;
	int fd = -1;
	int r = pathpol_open_read(&pp, path, strlen(path), want_dir, &fd, &e);

	tap_ok(r == 0 && fd >= 0, name);
	if (r != 0)
		printf("#   error: %s\n", e.msg);
	if (r == 0 && want) {
		char *got = slurp_fd(fd);

		tap_is_str(got, want, name_of("%s: content", path));
		free(got);
	}
	if (r == 0 && fd >= 0) {
		int fl = fcntl(fd, F_GETFL);

		tap_ok(!(fl & O_NONBLOCK) && (fl & O_ACCMODE) == O_RDONLY &&
		       (fcntl(fd, F_GETFD) & FD_CLOEXEC),
		       name_of("%s: a blocking O_RDONLY close-on-exec fd", path));
		close(fd);
	}
}

static void expect_read_refused(const char *path, size_t len, bool want_dir,
				enum ferr_class want, const char *needle, const char *name)
{
	struct ferr e = FERR_INIT;
	int fd = 12345;
	int r = pathpol_open_read(&pp, path, len, want_dir, &fd, &e);

	check_refusal(r, &e, want, needle, name);
	if (fd >= 0 && fd != 12345)
		close(fd);
	if (fd != -1)
		printf("#   *fd should be -1 after a refusal, is %d\n", fd);
}

static int write_path(const char *path, size_t len, const char *data, bool mkdirs,
		      struct pathpol_prev *prev, struct ferr *e)
{
	return pathpol_write_atomic(&pp, path, len, data, strlen(data), mkdirs, denied, NDENIED,
				    prev, e);
}

static void expect_write_ok(const char *path, bool mkdirs, const char *name)
{
	struct ferr e = FERR_INIT;
	int r = write_path(path, strlen(path), "new content\n", mkdirs, NULL, &e);

	tap_ok(r == 0, name);
	if (r != 0)
		printf("#   error: %s\n", e.msg);
}

static void expect_write_refused(const char *path, bool mkdirs, enum ferr_class want,
				 const char *needle, const char *name)
{
	struct ferr e = FERR_INIT;
	int r = write_path(path, strlen(path), "PWNED\n", mkdirs, NULL, &e);

	check_refusal(r, &e, want, needle, name);
}

/* ---- scratch tree --------------------------------------------------- */

static void make_socket(const char *rel)
{
	struct sockaddr_un sa;
	char p[PATH_MAX];
	int s;

	at(p, ws, rel);
	memset(&sa, 0, sizeof sa);
	sa.sun_family = AF_UNIX;
	if (strlen(p) >= sizeof sa.sun_path)
		die("socket path too long", p);
	strcpy(sa.sun_path, p);
	s = socket(AF_UNIX, SOCK_STREAM, 0);
	if (s < 0 || bind(s, (struct sockaddr *)&sa, sizeof sa) != 0)
		die("bind", p);
	close(s); /* the socket file stays */
}

static void build_tree(void)
{
	char p[PATH_MAX], q[PATH_MAX];

	snprintf(scratch, sizeof scratch, "/tmp/pathpol-XXXXXX");
	if (!mkdtemp(scratch))
		die("mkdtemp", scratch);
	at(ws, scratch, "ws");
	at(out, scratch, "out");
	at(out2, scratch, "out2");
	if (mkdir(ws, 0755) != 0 || mkdir(out, 0755) != 0 || mkdir(out2, 0755) != 0)
		die("mkdir", ws);
	put_file(out, "target.txt", "ORIGINAL\n", 0644);
	/* For the write race: one link only, so that the hard-link rule
	 * cannot be what saves it. */
	put_file(out2, "target.txt", "ORIGINAL\n", 0644);

	put_file(ws, "ok.txt", "hello\n", 0644);
	put_dir("sub");
	put_file(ws, "sub/f", "in-sub\n", 0644);
	put_dir("sub/deep");
	put_dir("sub/.git");
	put_dir(".git");
	put_dir(".git/hooks");
	put_file(ws, ".git/config", "[core]\n", 0644);
	put_file(ws, ".git/HEAD", "ref: refs/heads/main\n", 0644);
	put_dir("wt");
	put_file(ws, "wt/.git", "gitdir: ../.git/worktrees/wt\n", 0644);
	put_dir("secrets");
	put_file(ws, "secrets/k", "sk-canary\n", 0600);
	put_file(ws, "small.txt", "small\n", 0644);

	put_link("/etc", "l1");
	put_link("/etc", "sub/l2");
	put_link("/etc/passwd", "sub/deep/l3");
	put_link("sub", "in");
	put_link("sub/f", "fl");
	put_link("sub/f/", "fl3");
	put_link("../out", "up");
	put_link("../out/target.txt", "upf");
	at(p, ws, "sub");
	put_link(p, "abs");
	put_link("loop2", "loop1");
	put_link("loop1", "loop2");
	put_link("self", "self");
	put_link("/proc/self/root", "pr");
	put_link("../../../../../../../../../proc/self/root", "pr2");
	put_link("/dev/null", "devnull");
	put_link(".git", "g");
	put_link("secrets", "s");
	put_link(out, "o");
	put_link("../out", "ro");
	put_link("ok.txt", "lnk");
	put_link("nothing-here", "dangling");

	at(p, ws, "p");
	if (mkfifo(p, 0644) != 0)
		die("mkfifo", p);
	make_socket("sock");
	at(p, ws, "null");
	have_chardev = mknod(p, S_IFCHR | 0666, makedev(1, 3)) == 0;

	/* A hard link to a file outside the workspace (same file system). */
	at(p, out, "target.txt");
	at(q, ws, "h");
	if (link(p, q) != 0)
		die("link", q);
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (flag == FTW_DP)
		rmdir(p);
	else
		unlink(p);
	return 0;
}

static int tmp_leaks;

static int find_tmp(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	if (strncmp(p + ftw->base, ".forja-tmp-", 11) == 0) {
		printf("#   leftover temp file: %s\n", p);
		tmp_leaks++;
	}
	return 0;
}

/* ---- cases without a mode -------------------------------------------- */

static void normalise_is(const char *in, size_t len, const char *want, const char *name)
{
	struct buf rel = BUF_INIT;
	struct ferr e = FERR_INIT;
	int r = pathpol_normalise(&pp, in, len, &rel, &e);

	if (want) {
		tap_ok(r == 0, name);
		if (r != 0)
			printf("#   error: %s\n", e.msg);
		else
			tap_is_str(rel.data, want, name);
	} else {
		tap_ok(r == -1 && e.cls == FERR_DENIED, name);
		if (r == 0)
			printf("#   accepted as \"%s\"\n", rel.data);
	}
	buf_release(&rel);
}

static void test_normalise(void)
{
	char p[PATH_MAX + 100], *long_path, comp[301];
	struct buf rel = BUF_INIT;
	struct ferr e = FERR_INIT;
	int r;

	mode = "";
	normalise_is("ok.txt", 6, "ok.txt", "plain relative path kept");
	normalise_is(".//./a//b/", 10, "a/b", "./ and duplicate slashes removed");
	normalise_is("a/../b", 6, "a/../b", "\"..\" kept for the resolution");
	normalise_is(".", 1, ".", "\".\" is the root");
	snprintf(p, sizeof p, "%s/ok.txt", pp.root);
	normalise_is(p, strlen(p), "ok.txt", "absolute path inside made relative");
	snprintf(p, sizeof p, "%s", pp.root);
	normalise_is(p, strlen(p), ".", "the root's absolute path is \".\"");
	snprintf(p, sizeof p, "%s/../x", pp.root);
	normalise_is(p, strlen(p), NULL, "root + /../x refused");
	snprintf(p, sizeof p, "%s-evil/x", pp.root);
	normalise_is(p, strlen(p), NULL, "root-evil/x refused (by component, not prefix)");
	normalise_is("../x", 4, NULL, "../x refused");
	normalise_is("a/../../x", 9, NULL, "a/../../x refused");
	normalise_is("./././../x", 10, NULL, "./././../x refused");
	normalise_is("/etc/passwd", 11, NULL, "/etc/passwd refused");
	normalise_is("/proc/self/root/etc/passwd", 26, NULL, "/proc/self/root/etc/passwd refused");
	normalise_is("/proc/self/cwd", 14, NULL, "/proc/self/cwd refused");
	normalise_is("/", 1, NULL, "/ refused");
	normalise_is("", 0, NULL, "empty path refused");

	r = pathpol_normalise(&pp, "ok.txt\0../../etc/passwd", 23, &rel, &e);
	tap_ok(r == -1 && e.cls == FERR_DENIED, "NUL in the path refused");
	tap_contains(e.msg, "NUL", "NUL: the message names the rule");
	tap_contains(e.msg, "\\000", "NUL: the path is shown escaped");

	long_path = malloc(5001);
	memset(long_path, 'a', 5000);
	for (int i = 1; i < 5000; i += 2)
		long_path[i] = '/';
	long_path[5000] = '\0';
	r = pathpol_normalise(&pp, long_path, 5000, &rel, &e);
	tap_ok(r == -1 && e.cls == FERR_DENIED, "5000-byte path refused");
	tap_contains(e.msg, "too long", "5000 bytes: the message names the rule");
	tap_ok(strlen(e.msg) < 400, "5000 bytes: the message shows only the start of the path");
	free(long_path);

	memset(comp, 'b', 300);
	comp[300] = '\0';
	snprintf(p, sizeof p, "sub/%s/x", comp);
	r = pathpol_normalise(&pp, p, strlen(p), &rel, &e);
	tap_ok(r == -1 && e.cls == FERR_DENIED, "300-byte component refused");
	tap_contains(e.msg, "NAME_MAX", "300-byte component: the message names the rule");
	buf_release(&rel);
}

static void check_write_is(const char *rel, bool allowed, const char *needle)
{
	struct ferr e = FERR_INIT;
	int r = pathpol_check_write(&pp, rel, denied, NDENIED, &e);

	if (allowed) {
		tap_ok(r == 0, name_of("check_write allows %s", rel));
		if (r != 0)
			printf("#   error: %s\n", e.msg);
	} else {
		check_refusal(r, &e, FERR_DENIED, needle, name_of("check_write refuses %s", rel));
	}
}

static void test_check_write(void)
{
	mode = "";
	check_write_is(".git", false, ".git");
	check_write_is(".git/config", false, ".git");
	check_write_is(".git/hooks/pre-commit", false, ".git");
	check_write_is("vendor/lib/.git/hooks/post-merge", false, ".git");
	check_write_is(".GIT/config", false, ".git");
	check_write_is(".Git/HEAD", false, ".git");
	check_write_is(".git./config", false, ".git");
	check_write_is(".git /config", false, ".git");
	check_write_is("GIT~1/config", false, ".git");
	check_write_is(".g\xe2\x80\x8cit/config", false, ".git");
	check_write_is(".git::$INDEX_ALLOCATION/config", false, ".git");
	check_write_is(".forja/config.json", false, ".forja");
	check_write_is("x/.forja/y", false, ".forja");
	check_write_is(".FORJA/contracts/x.json", false, ".forja");
	check_write_is("FORJA~1/x", false, ".forja");
	check_write_is("secrets", false, "contract");
	check_write_is("secrets/k", false, "contract");
	check_write_is("SECRETS/k", false, "contract");
	check_write_is("./secrets//k", false, "contract");
	check_write_is("x/../secrets/k", false, "contract");
	check_write_is("docs/private/a", false, "contract");
	check_write_is(".github/workflows/ci.yml", true, NULL);
	check_write_is(".gitignore", true, NULL);
	check_write_is(".gitmodules", true, NULL);
	check_write_is("forja/x", true, NULL);
	check_write_is(".forjarc", true, NULL);
	check_write_is("git/x", true, NULL);
	check_write_is("secretsx", true, NULL);
	check_write_is("docs/privateer", true, NULL);
	check_write_is("src/main.c", true, NULL);
	{
		char abs_denied[PATH_MAX];
		const char *list[1] = { abs_denied };
		struct ferr e = FERR_INIT;

		snprintf(abs_denied, sizeof abs_denied, "%s/build", pp.root);
		tap_ok(pathpol_check_write(&pp, "build/x", list, 1, &e) == -1,
		       "an absolute denied entry inside the root counts");
		tap_ok(pathpol_check_write(&pp, "buildx", list, 1, &e) == 0,
		       "an absolute denied entry matches whole components");
	}
}

/* ---- cases run in both modes ---------------------------------------- */

static void test_reads(void)
{
	char p[PATH_MAX + 100], comp[301], *long_path;

	expect_read_ok("ok.txt", false, "hello\n", name_of("read ok.txt"));
	snprintf(p, sizeof p, "%s/ok.txt", pp.root);
	expect_read_ok(p, false, "hello\n", name_of("read <root>/ok.txt"));
	expect_read_ok("sub/../ok.txt", false, "hello\n", name_of("read sub/../ok.txt"));
	expect_read_ok("sub/deep/../f", false, "in-sub\n", name_of("read sub/deep/../f"));
	expect_read_ok("in/f", false, "in-sub\n", name_of("relative symlink inside (middle) followed"));
	expect_read_ok("fl", false, "in-sub\n", name_of("relative symlink inside (last) followed"));
	expect_read_ok("in/deep/../f", false, "in-sub\n", name_of("in/deep/../f through a symlink"));
	expect_read_ok("h", false, "ORIGINAL\n",
		       name_of("hard link to an outside file: reading is allowed"));
	expect_read_ok("sub", true, NULL, name_of("directory opened with want_dir"));
	expect_read_ok(".", true, NULL, name_of("the root opened with want_dir"));
	expect_read_ok("in", true, NULL, name_of("symlink to a directory opened with want_dir"));

	expect_read_refused("../x", 4, false, FERR_DENIED, "..", name_of("read ../x"));
	expect_read_refused("sub/../../x", 11, false, FERR_DENIED, "..",
			    name_of("read sub/../../x"));
	expect_read_refused("/etc/passwd", 11, false, FERR_DENIED, "absolute path outside",
			    name_of("read /etc/passwd"));
	snprintf(p, sizeof p, "%s/../out/target.txt", pp.root);
	expect_read_refused(p, strlen(p), false, FERR_DENIED, "..",
			    name_of("read <root>/../out/target.txt"));
	snprintf(p, sizeof p, "%s-evil/x", pp.root);
	expect_read_refused(p, strlen(p), false, FERR_DENIED, "absolute path outside",
			    name_of("read <root>-evil/x"));

	expect_read_refused("l1/passwd", 9, false, FERR_DENIED, "absolute",
			    name_of("symlink to /etc as the first component"));
	expect_read_refused("sub/l2/passwd", 13, false, FERR_DENIED, "absolute",
			    name_of("symlink to /etc as a middle component"));
	expect_read_refused("sub/deep/l3", 11, false, FERR_DENIED, "absolute",
			    name_of("symlink to /etc/passwd as the last component"));
	expect_read_refused("l1", 2, true, FERR_DENIED, "absolute",
			    name_of("symlink to /etc listed as a directory"));
	expect_read_refused("up/target.txt", 13, false, FERR_DENIED, "leads outside",
			    name_of("relative symlink climbing out (middle)"));
	expect_read_refused("upf", 3, false, FERR_DENIED, "leads outside",
			    name_of("relative symlink climbing out (last)"));
	expect_read_refused("abs/f", 5, false, FERR_DENIED, "absolute",
			    name_of("absolute symlink pointing inside refused"));
	expect_read_refused("loop1", 5, false, FERR_DENIED, "symbolic links",
			    name_of("symlink loop a -> b -> a"));
	expect_read_refused("self/x", 6, false, FERR_DENIED, "symbolic links",
			    name_of("symlink loop self -> self"));
	expect_read_refused("/proc/self/root/etc/passwd", 26, false, FERR_DENIED,
			    "absolute path outside", name_of("read /proc/self/root/etc/passwd"));
	expect_read_refused("/proc/self/cwd", 14, true, FERR_DENIED, "absolute path outside",
			    name_of("read /proc/self/cwd"));
	expect_read_refused("/proc/self/fd/0", 15, false, FERR_DENIED, "absolute path outside",
			    name_of("read /proc/self/fd/0"));
	expect_read_refused("pr/etc/passwd", 13, false, FERR_DENIED, "absolute",
			    name_of("symlink to /proc/self/root inside the workspace"));
	expect_read_refused("pr2/etc/passwd", 14, false, FERR_DENIED, "leads outside",
			    name_of("relative symlink climbing to /proc/self/root"));
	expect_read_refused("ok.txt\0../../etc/passwd", 23, false, FERR_DENIED, "NUL",
			    name_of("NUL in the name"));
	long_path = malloc(5001);
	memset(long_path, 'a', 5000);
	long_path[5000] = '\0';
	expect_read_refused(long_path, 5000, false, FERR_DENIED, "too long",
			    name_of("5000-byte path"));
	free(long_path);
	memset(comp, 'c', 300);
	comp[300] = '\0';
	expect_read_refused(comp, 300, false, FERR_DENIED, "NAME_MAX",
			    name_of("300-byte component"));
	expect_read_refused("", 0, false, FERR_DENIED, "empty", name_of("empty path"));

	expect_read_refused("p", 1, false, FERR_DENIED, "FIFO", name_of("FIFO never opened"));
	expect_read_refused("sock", 4, false, FERR_DENIED, "socket",
			    name_of("socket never opened"));
	if (have_chardev)
		expect_read_refused("null", 4, false, FERR_DENIED, "character device",
				    name_of("character device never opened"));
	else
		tap_ok(1, name_of("character device never opened # SKIP mknod not permitted"));
	expect_read_refused("devnull", 7, false, FERR_DENIED, "absolute",
			    name_of("/dev/null through a symlink inside"));

	expect_read_refused("sub", 3, false, FERR_IO, "directory",
			    name_of("a directory read as a file"));
	expect_read_refused("ok.txt", 6, true, FERR_IO, "not a directory",
			    name_of("a file listed as a directory"));
	expect_read_refused("missing", 7, false, FERR_IO, "No such file",
			    name_of("a missing file"));
	expect_read_refused("dangling", 8, false, FERR_IO, "No such file",
			    name_of("a dangling relative symlink"));
	expect_read_refused("ok.txt/x", 8, false, FERR_IO, "Not a directory",
			    name_of("a file used as a directory"));
	expect_read_refused("fl3", 3, false, FERR_IO, "Not a directory",
			    name_of("a symlink to \"file/\" (trailing slash)"));
}

/* The /proc magic links themselves, with /proc/self as a (silly) root. */
static void test_magic_links(void)
{
	struct pathpol saved = pp;
	struct ferr e = FERR_INIT;

	if (pathpol_open_root("/proc/self", &pp, &e) != 0) {
		tap_ok(0, name_of("open /proc/self as a root"));
		printf("#   %s\n", e.msg);
		pp = saved;
		return;
	}
	pp.use_openat2 = saved.use_openat2;
	expect_read_refused("root/etc/passwd", 15, false, FERR_DENIED, "magic link",
			    name_of("magic link root/ refused"));
	expect_read_refused("cwd", 3, true, FERR_DENIED, "magic link",
			    name_of("magic link cwd refused"));
	expect_read_refused("fd/0", 4, false, FERR_DENIED, "magic link",
			    name_of("magic link fd/0 refused"));
	pathpol_release(&pp);
	pp = saved;
}

static void test_writes(void)
{
	char p[PATH_MAX + 100];
	struct pathpol_prev prev;
	struct ferr e = FERR_INIT;
	struct stat st;
	int r;

	expect_write_refused(".git/hooks/pre-commit", true, FERR_DENIED, ".git",
			     name_of("write .git/hooks/pre-commit"));
	expect_write_refused(".git/config", false, FERR_DENIED, ".git",
			     name_of("write .git/config"));
	expect_write_refused("sub/.git/x", false, FERR_DENIED, ".git",
			     name_of("write sub/.git/x (nested repository)"));
	expect_write_refused(".GIT/config", false, FERR_DENIED, ".git",
			     name_of("write .GIT/config"));
	expect_write_refused(".Git/HEAD", false, FERR_DENIED, ".git", name_of("write .Git/HEAD"));
	expect_write_refused(".git", false, FERR_DENIED, ".git", name_of("write .git itself"));
	expect_write_refused("wt/.git", false, FERR_DENIED, ".git",
			     name_of("write a worktree's .git file"));
	content_is(ws, "wt/.git", "gitdir: ../.git/worktrees/wt\n",
		   name_of("the worktree .git file is unchanged"));
	content_is(ws, ".git/config", "[core]\n", name_of(".git/config is unchanged"));
	tap_ok(!exists(ws, ".git/hooks/pre-commit"), name_of("no pre-commit hook was created"));
	expect_write_refused("g/config", false, FERR_DENIED, "resolves to",
			     name_of("write g/config with g -> .git"));
	expect_write_refused(".//.git/./config", false, FERR_DENIED, ".git",
			     name_of("write .//.git/./config"));
	expect_write_refused("sub/../.git/config", false, FERR_DENIED, ".git",
			     name_of("write sub/../.git/config"));
	snprintf(p, sizeof p, "%s/.git/config", pp.root);
	expect_write_refused(p, false, FERR_DENIED, ".git", name_of("write <root>/.git/config"));

	expect_write_refused(".forja/config.json", true, FERR_DENIED, ".forja",
			     name_of("write .forja/config.json before .forja exists"));
	tap_ok(!exists(ws, ".forja"), name_of(".forja was not created"));
	expect_write_refused("x/.forja/y", true, FERR_DENIED, ".forja",
			     name_of("write x/.forja/y"));
	tap_ok(!exists(ws, "x"), name_of("x was not created either"));
	expect_write_refused(".Forja/contracts/run.json", true, FERR_DENIED, ".forja",
			     name_of("write .Forja/contracts/run.json"));
	put_link("nowhere/.forja", "fl2");
	expect_write_refused("fl2/x", true, FERR_DENIED, ".forja",
			     name_of("mkdirs through a link to a missing .forja"));
	tap_ok(!exists(ws, "nowhere/.forja"), name_of("the link's .forja was not created"));

	expect_write_refused("secrets/k", false, FERR_DENIED, "contract",
			     name_of("write under a denied prefix"));
	expect_write_refused("Secrets/k", true, FERR_DENIED, "contract",
			     name_of("write under a denied prefix, other case"));
	expect_write_refused("s/k", false, FERR_DENIED, "resolves to",
			     name_of("write s/k with s -> secrets"));
	expect_write_refused("docs/private/a", true, FERR_DENIED, "contract",
			     name_of("write under docs/private/"));
	content_is(ws, "secrets/k", "sk-canary\n", name_of("secrets/k is unchanged"));

	expect_write_refused("p", false, FERR_DENIED, "FIFO", name_of("write a FIFO"));
	expect_write_refused("sock", false, FERR_DENIED, "socket", name_of("write a socket"));
	if (have_chardev)
		expect_write_refused("null", false, FERR_DENIED, "character device",
				     name_of("write a character device"));
	else
		tap_ok(1, name_of("write a character device # SKIP mknod not permitted"));
	expect_write_refused("devnull", false, FERR_DENIED, "symbolic link",
			     name_of("write /dev/null through a symlink"));
	expect_write_refused("lnk", false, FERR_DENIED, "symbolic link",
			     name_of("write a relative symlink (last component)"));
	content_is(ws, "ok.txt", "hello\n", name_of("the link's target is unchanged"));
	expect_write_refused("dangling", false, FERR_DENIED, "symbolic link",
			     name_of("write a dangling symlink"));
	tap_ok(!exists(ws, "nothing-here"), name_of("the dangling link's target was not created"));
	expect_write_refused("o/new.txt", false, FERR_DENIED, "absolute",
			     name_of("write through an absolute symlink out"));
	expect_write_refused("ro/new.txt", false, FERR_DENIED, "leads outside",
			     name_of("write through a relative symlink out"));
	expect_write_refused("up/target.txt", false, FERR_DENIED, "leads outside",
			     name_of("overwrite an outside file through a symlink"));
	expect_write_refused("abs/new", false, FERR_DENIED, "absolute",
			     name_of("write through an absolute symlink pointing inside"));
	expect_write_refused("h", false, FERR_DENIED, "hard links",
			     name_of("write a hard link to an outside file"));
	content_is(out, "target.txt", "ORIGINAL\n", name_of("the outside file is unchanged"));
	tap_ok(!exists(out, "new.txt"), name_of("nothing was created outside"));
	expect_write_refused("../x", false, FERR_DENIED, "..", name_of("write ../x"));
	expect_write_refused("/tmp/x", false, FERR_DENIED, "absolute path outside",
			     name_of("write /tmp/x"));
	expect_write_refused(".", false, FERR_DENIED, "root", name_of("write the root"));
	expect_write_refused("sub/..", false, FERR_DENIED, "..", name_of("write sub/.."));
	expect_write_refused("sub", false, FERR_IO, "directory", name_of("write a directory"));
	r = write_path("ok\0x", 4, "data", false, NULL, &e);
	check_refusal(r, &e, FERR_DENIED, "NUL", name_of("write a path with NUL"));

	put_file(ws, "script.sh", "#!/bin/sh\necho old\n", 0755);
	r = write_path("script.sh", 9, "#!/bin/sh\necho new\n", false, &prev, &e);
	tap_ok(r == 0, name_of("write script.sh"));
	tap_ok(prev.existed && prev.size == 19 && prev.mode == 0755,
	       name_of("prev reports the replaced file"));
	at(p, ws, "script.sh");
	tap_ok(stat(p, &st) == 0 && (st.st_mode & 07777) == 0755 && st.st_nlink == 1,
	       name_of("mode 0755 kept"));
	content_is(ws, "script.sh", "#!/bin/sh\necho new\n", name_of("script.sh has the new content"));

	at(p, ws, "fresh.txt");
	unlink(p);
	r = write_path("fresh.txt", 9, "x", false, &prev, &e);
	tap_ok(r == 0 && !prev.existed, name_of("write a new file"));
	tap_ok(stat(p, &st) == 0 && (st.st_mode & 07777) == 0644,
	       name_of("a new file is 0644 & ~umask"));

	expect_write_refused("nodir/f", false, FERR_IO, "No such file",
			     name_of("missing parent without mkdirs"));
	tap_ok(!exists(ws, "nodir"), name_of("the missing parent was not created"));
	expect_write_ok("n1/n2/f", true, name_of("missing parents created with mkdirs"));
	content_is(ws, "n1/n2/f", "new content\n", name_of("n1/n2/f written"));
	expect_write_ok("in/newf", false, name_of("write through a relative symlink inside"));
	content_is(ws, "sub/newf", "new content\n", name_of("sub/newf written"));
	expect_write_ok(".github/workflows/ci.yml", true, name_of("write .github/workflows/ci.yml"));
	expect_write_ok("secretsx", false, name_of("write secretsx (not under secrets)"));

	/* A failure after the temp file exists: the file-size limit. */
	{
		struct rlimit old, small;
		char *before;

		put_file(ws, "big.txt", "small\n", 0644);
		getrlimit(RLIMIT_FSIZE, &old);
		small = old;
		small.rlim_cur = 1024;
		signal(SIGXFSZ, SIG_IGN);
		fflush(stdout);
		setrlimit(RLIMIT_FSIZE, &small);
		{
			char *data = malloc(8192);

			memset(data, 'z', 8191);
			data[8191] = '\0';
			r = write_path("big.txt", 7, data, false, NULL, &e);
			free(data);
		}
		setrlimit(RLIMIT_FSIZE, &old);
		check_refusal(r, &e, FERR_IO, "too large", name_of("a write that fails half-way"));
		before = slurp(ws, "big.txt");
		tap_is_str(before, "small\n", name_of("the old content survives a failed write"));
		free(before);
		tmp_leaks = 0;
		nftw(ws, find_tmp, 32, FTW_PHYS);
		tap_is_int(tmp_leaks, 0, name_of("no temp file left after the failed write"));
	}
}

/* ---- races ------------------------------------------------------------ */

struct swapper {
	char a[PATH_MAX], b[PATH_MAX];
	atomic_bool stop;
	atomic_long swaps;
};

static void *swap_loop(void *arg)
{
	struct swapper *s = arg;

	while (!atomic_load(&s->stop))
		if (renameat2(AT_FDCWD, s->a, AT_FDCWD, s->b, RENAME_EXCHANGE) == 0)
			atomic_fetch_add(&s->swaps, 1);
	return NULL;
}

static bool start_swapper(struct swapper *s, pthread_t *t, const char *dir, const char *link)
{
	at(s->a, ws, dir);
	at(s->b, ws, link);
	atomic_init(&s->stop, false);
	atomic_init(&s->swaps, 0);
	if (renameat2(AT_FDCWD, s->a, AT_FDCWD, s->b, RENAME_EXCHANGE) != 0 ||
	    renameat2(AT_FDCWD, s->a, AT_FDCWD, s->b, RENAME_EXCHANGE) != 0)
		return false;
	return pthread_create(t, NULL, swap_loop, s) == 0;
}

static void stop_swapper(struct swapper *s, pthread_t t)
{
	struct stat st;

	atomic_store(&s->stop, true);
	pthread_join(t, NULL);
	if (lstat(s->a, &st) == 0 && !S_ISDIR(st.st_mode))
		renameat2(AT_FDCWD, s->a, AT_FDCWD, s->b, RENAME_EXCHANGE);
}

/* A thread swaps directory rdir with a symlink to /etc while we open
 * rdir/passwd n times: we must never get /etc/passwd. */
static void race_read(const char *link, int n)
{
	struct swapper s;
	pthread_t t;
	struct stat etc, inside, st;
	char p[PATH_MAX];
	int escapes = 0, in = 0, other = 0, refused = 0;

	at(p, ws, "rdir/passwd");
	if (stat("/etc/passwd", &etc) != 0 || stat(p, &inside) != 0 ||
	    !start_swapper(&s, &t, "rdir", link)) {
		tap_ok(0, name_of("race setup (%s)", link));
		return;
	}
	for (int i = 0; i < n; i++) {
		struct ferr e = FERR_INIT;
		int fd;

		if (pathpol_open_read(&pp, "rdir/passwd", 11, false, &fd, &e) != 0) {
			refused++;
			continue;
		}
		if (fstat(fd, &st) == 0 && st.st_dev == etc.st_dev && st.st_ino == etc.st_ino)
			escapes++;
		else if (st.st_dev == inside.st_dev && st.st_ino == inside.st_ino)
			in++;
		else
			other++;
		close(fd);
	}
	stop_swapper(&s, t);
	printf("#   %d opens of rdir/passwd against %s: %d inside, %d refused, %d /etc/passwd, "
	       "%ld swaps\n", n, link, in, refused, escapes, atomic_load(&s.swaps));
	tap_is_int(escapes, 0, name_of("race: never opened /etc/passwd (%s)", link));
	tap_is_int(other, 0, name_of("race: never opened anything else (%s)", link));
	tap_ok(in > 0 && atomic_load(&s.swaps) > 0,
	       name_of("race: the race really ran (%s)", link));
}

/* The same for writes: wdir against a symlink to out2, whose target.txt
 * must stay ORIGINAL. */
static void race_write(const char *link, int n)
{
	struct swapper s;
	pthread_t t;
	int ok = 0, refused = 0;

	if (!start_swapper(&s, &t, "wdir", link)) {
		tap_ok(0, name_of("write race setup (%s)", link));
		return;
	}
	/* A write takes several system calls, so the swapper wins most rounds;
	 * go on (at most 10n) until one write got through. */
	for (int i = 0; i < n || (ok == 0 && i < 10 * n); i++) {
		struct ferr e = FERR_INIT;

		if (pathpol_write_atomic(&pp, "wdir/target.txt", 15, "PWNED\n", 6, false, NULL, 0,
					 NULL, &e) == 0)
			ok++;
		else
			refused++;
	}
	stop_swapper(&s, t);
	printf("#   %d writes of wdir/target.txt against %s: %d written, %d refused, %ld swaps\n",
	       ok + refused, link, ok, refused, atomic_load(&s.swaps));
	content_is(out2, "target.txt", "ORIGINAL\n",
		   name_of("write race: the outside file is unchanged (%s)", link));
	tmp_leaks = 0;
	nftw(out2, find_tmp, 32, FTW_PHYS);
	tap_is_int(tmp_leaks, 0, name_of("write race: no temp file outside (%s)", link));
	tap_ok(ok > 0, name_of("write race: the race really ran (%s)", link));
}

static void test_races(void)
{
	put_dir("rdir");
	put_file(ws, "rdir/passwd", "inside\n", 0644);
	put_link("/etc", "retc");
	put_link("../../../../../../../../../../etc", "retc2");
	race_read("retc", 10000);
	race_read("retc2", 10000);

	put_dir("wdir");
	put_file(ws, "wdir/target.txt", "inside\n", 0644);
	put_link(out2, "wout");
	put_link("../out2", "wout2");
	race_write("wout", 2000);
	race_write("wout2", 2000);
}

static int open_fds(void)
{
	int n = 0;

	for (int fd = 0; fd < 1024; fd++)
		if (fcntl(fd, F_GETFD) != -1)
			n++;
	return n;
}

int main(void)
{
	struct ferr e = FERR_INIT;
	bool have_openat2;
	int fds_before;

	alarm(600); /* a FIFO that blocked us would otherwise hang the suite */
	umask(022);
	setvbuf(stdout, NULL, _IOLBF, 0);
	build_tree();
	printf("# running as uid %d in %s\n", (int)getuid(), ws);

	tap_ok(pathpol_open_root("", &pp, &e) == -1 && e.cls == FERR_USAGE, "empty root refused");
	tap_ok(pathpol_open_root("/nonexistent/ws", &pp, &e) == -1 && e.cls == FERR_IO &&
		       pp.root_fd == -1,
	       "missing root refused");
	{
		char p[PATH_MAX];

		at(p, ws, "ok.txt");
		tap_ok(pathpol_open_root(p, &pp, &e) == -1 && e.cls == FERR_IO,
		       "a file as the root refused");
	}
	pathpol_release(&pp);
	if (pathpol_open_root(ws, &pp, &e) != 0) {
		printf("Bail out! %s\n", e.msg);
		return 1;
	}
	have_openat2 = pp.use_openat2;
	fds_before = open_fds();
	printf("# openat2 %s\n", have_openat2 ? "available" : "not available");

	test_normalise();
	test_check_write();
	for (int m = 0; m < 2; m++) {
		mode = m == 0 ? "[openat2]" : "[walk]";
		show_messages = m == 0;
		if (m == 0 && !have_openat2) {
			tap_ok(1, "openat2 cases # SKIP openat2 not available");
			continue;
		}
		pp.use_openat2 = m == 0;
		test_reads();
		test_magic_links();
		test_writes();
		test_races();
	}
	tmp_leaks = 0;
	nftw(ws, find_tmp, 32, FTW_PHYS);
	mode = "";
	tap_is_int(tmp_leaks, 0, "no temp file left anywhere in the workspace");
	tap_is_int(open_fds(), fds_before, "no file descriptor leaked");

	pathpol_release(&pp);
	pathpol_release(&pp);
	tap_ok(pp.root_fd == -1 && pp.root == NULL, "release twice is safe");
	nftw(scratch, rm_one, 32, FTW_DEPTH | FTW_PHYS);
	return tap_done();
}

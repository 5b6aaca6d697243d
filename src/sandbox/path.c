/*
 * path.c — the path policy of include/forja/pathpol.h: shape checks on the
 * string, resolution beneath the root fd (openat2, or our own walk one
 * component at a time), the write rules on names, and atomic replacement
 * by a temp file and renameat() on a verified directory fd.
 */
#include "forja/pathpol.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "forja/utf8.h"

#if defined(__has_include)
#if __has_include(<linux/openat2.h>)
#include <linux/openat2.h>
#define HAVE_LINUX_OPENAT2_H 1
#endif
#endif
#ifndef HAVE_LINUX_OPENAT2_H
struct open_how {
	uint64_t flags;
	uint64_t mode;
	uint64_t resolve;
};
#define RESOLVE_NO_MAGICLINKS 0x02
#define RESOLVE_BENEATH 0x08
#endif
#ifndef SYS_openat2
#define SYS_openat2 437 /* one number on every architecture (unified table, 5.6) */
#endif
#ifndef PROC_SUPER_MAGIC
#define PROC_SUPER_MAGIC 0x9fa0
#endif

/* How much of a path a message shows: a 4 KiB path must leave room for
 * the rule in struct ferr's 1 KiB. */
#define DISP_MAX 160
/* openat2 returns EAGAIN when a rename raced a ".." it resolved. */
#define OPENAT2_TRIES 16
/* A directory mkdirs made and someone removed again, before we opened it. */
#define MKDIR_TRIES 4

#define TMP_PREFIX ".forja-tmp-"

/* ---- messages ---------------------------------------------------------- */

/* Append s as a message shows it: git-quoted when needed, cut to DISP_MAX
 * bytes at a character boundary. */
static void put_disp(struct buf *out, const char *s, size_t len)
{
	size_t n = len;

	if (n > DISP_MAX) {
		n = DISP_MAX;
		while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--;
	}
	utf8_quote_path(out, s, n);
	if (n < len)
		buf_puts(out, "...");
}

/* A name inside a message, always in double quotes (git's quoted form
 * already has them). */
static void put_name(struct buf *out, const char *s, size_t len)
{
	size_t at = out->len;

	put_disp(out, s, len);
	if (out->len == at || out->data[at] != '"') {
		struct buf q = BUF_INIT;

		buf_putc(&q, '"');
		buf_add(&q, out->data + at, out->len - at);
		buf_putc(&q, '"');
		buf_truncate(out, at);
		buf_add(out, q.data, q.len);
		buf_release(&q);
	}
}

static void put_name_str(struct buf *out, const char *s)
{
	put_name(out, s, strlen(s));
}

static int fail(struct ferr *e, enum ferr_class cls, const char *path, size_t len,
		const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* "<path as given>: <rule>" into e; returns -1. */
static int fail(struct ferr *e, enum ferr_class cls, const char *path, size_t len,
		const char *fmt, ...)
{
	struct buf m = BUF_INIT;
	va_list ap;

	put_disp(&m, path, len);
	buf_puts(&m, ": ");
	va_start(ap, fmt);
	buf_vprintf(&m, fmt, ap);
	va_end(ap);
	ferr_set(e, cls, "%s", buf_cstr(&m));
	buf_release(&m);
	return -1;
}

static const char *file_kind(mode_t mode)
{
	if (S_ISFIFO(mode))
		return "a FIFO";
	if (S_ISSOCK(mode))
		return "a socket";
	if (S_ISCHR(mode))
		return "a character device";
	if (S_ISBLK(mode))
		return "a block device";
	if (S_ISDIR(mode))
		return "a directory";
	if (S_ISLNK(mode))
		return "a symbolic link";
	return "not a regular file";
}

static int fail_special(struct ferr *e, const char *path, size_t len, mode_t mode)
{
	return fail(e, FERR_DENIED, path, len,
		    "refused: %s, not a regular file; FIFOs, sockets and devices are never "
		    "opened", file_kind(mode));
}

/* ---- components -------------------------------------------------------- */

/* The next '/'-separated component of s[*pos..len), skipping empty ones. */
static bool next_comp(const char *s, size_t len, size_t *pos, const char **comp, size_t *n)
{
	size_t start;

	while (*pos < len && s[*pos] == '/')
		(*pos)++;
	if (*pos >= len)
		return false;
	start = *pos;
	while (*pos < len && s[*pos] != '/')
		(*pos)++;
	*comp = s + start;
	*n = *pos - start;
	return true;
}

static bool is_dot(const char *c, size_t n)
{
	return n == 1 && c[0] == '.';
}

static bool is_dotdot(const char *c, size_t n)
{
	return n == 2 && c[0] == '.' && c[1] == '.';
}

static char ascii_lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static bool comp_eq_nocase(const char *a, size_t an, const char *b, size_t bn)
{
	if (an != bn)
		return false;
	for (size_t i = 0; i < an; i++)
		if (ascii_lower(a[i]) != ascii_lower(b[i]))
			return false;
	return true;
}

/*
 * When absolute path s lies beneath the root, set *pos to where its part
 * relative to the root begins.  By whole components: "/ws-evil" is not
 * under "/ws".  "." components are skipped; ".." never matches, so an
 * absolute path that wanders is refused rather than interpreted.
 */
static bool strip_root(const struct pathpol *pp, const char *s, size_t len, size_t *pos)
{
	const char *root = pp->root ? pp->root : "";
	size_t rlen = strlen(root), rpos = 0, spos = 0;
	const char *rc, *sc;
	size_t rn, sn;

	if (!pp->root)
		return false;
	while (next_comp(root, rlen, &rpos, &rc, &rn)) {
		do {
			if (!next_comp(s, len, &spos, &sc, &sn))
				return false;
		} while (is_dot(sc, sn));
		if (sn != rn || memcmp(sc, rc, rn) != 0)
			return false;
	}
	*pos = spos;
	return true;
}

/* ---- the write rules on names ----------------------------------------- */

/* Length of a code point at s that HFS+ ignores in names (git's
 * is_hfs_dotgit list: U+200C..U+200F, U+202A..U+202E, U+206A..U+206F,
 * U+FEFF), else 0. */
static size_t hfs_ignorable(const unsigned char *s, size_t n)
{
	if (n < 3)
		return 0;
	if (s[0] == 0xe2 && s[1] == 0x80 && s[2] >= 0x8c && s[2] <= 0x8f)
		return 3;
	if (s[0] == 0xe2 && s[1] == 0x80 && s[2] >= 0xaa && s[2] <= 0xae)
		return 3;
	if (s[0] == 0xe2 && s[1] == 0x81 && s[2] >= 0xaa && s[2] <= 0xaf)
		return 3;
	if (s[0] == 0xef && s[1] == 0xbb && s[2] == 0xbf)
		return 3;
	return 0;
}

static size_t skip_ignorable(const char *s, size_t n, size_t i)
{
	size_t k;

	while (i < n && (k = hfs_ignorable((const unsigned char *)s + i, n - i)) != 0)
		i += k;
	return i;
}

/* What Windows file systems ignore after a name: trailing dots and spaces,
 * and an alternate data stream (":stream"). */
static bool is_ntfs_tail(const char *s, size_t n, size_t i)
{
	for (;;) {
		i = skip_ignorable(s, n, i);
		if (i >= n || s[i] == ':')
			return true;
		if (s[i] != '.' && s[i] != ' ')
			return false;
		i++;
	}
}

/*
 * Does component s name "." + word on some file system a workspace may
 * live on?  ASCII case-insensitive, HFS+ ignorables skipped, NTFS tails
 * allowed, and the 8.3 alias (up to six letters, '~', digits).  word is
 * lower case.
 */
static bool is_protected_name(const char *s, size_t n, const char *word)
{
	size_t wl = strlen(word), i, k;

	i = skip_ignorable(s, n, 0);
	if (i < n && s[i] == '.') {
		i++;
		for (k = 0; k < wl; k++) {
			i = skip_ignorable(s, n, i);
			if (i >= n || ascii_lower(s[i]) != word[k])
				break;
			i++;
		}
		if (k == wl && is_ntfs_tail(s, n, i))
			return true;
	}
	for (i = 0, k = 0; k < wl && k < 6; k++, i++)
		if (i >= n || ascii_lower(s[i]) != word[k])
			return false;
	if (i >= n || s[i] != '~' || i + 1 >= n || s[i + 1] < '1' || s[i + 1] > '9')
		return false;
	for (i += 1; i < n && s[i] >= '0' && s[i] <= '9'; i++)
		;
	return is_ntfs_tail(s, n, i);
}

/* Is path equal to or beneath prefix (by components, ASCII case folded)?
 * An absolute prefix counts only when it lies beneath the root. */
static bool under_prefix(const struct pathpol *pp, const char *path, const char *prefix)
{
	size_t xlen = strlen(prefix), plen = strlen(path), xpos = 0, ppos = 0;
	const char *xc, *pc;
	size_t xn, pn;

	if (prefix[0] == '/' && !strip_root(pp, prefix, xlen, &xpos))
		return false;
	for (;;) {
		do {
			if (!next_comp(prefix, xlen, &xpos, &xc, &xn))
				return true;
		} while (is_dot(xc, xn));
		do {
			if (!next_comp(path, plen, &ppos, &pc, &pn))
				return false;
		} while (is_dot(pc, pn));
		if (!comp_eq_nocase(xc, xn, pc, pn))
			return false;
	}
}

/* rel with "." dropped and each ".." folded into the component before it. */
static void fold_dotdot(const char *rel, struct buf *out)
{
	size_t len = strlen(rel), pos = 0, n;
	const char *c;

	buf_reset(out);
	buf_puts(out, "");
	while (next_comp(rel, len, &pos, &c, &n)) {
		if (is_dot(c, n))
			continue;
		if (is_dotdot(c, n)) {
			char *slash = memrchr(out->data, '/', out->len);
			buf_truncate(out, slash ? (size_t)(slash - out->data) : 0);
			continue;
		}
		if (out->len)
			buf_putc(out, '/');
		buf_add(out, c, n);
	}
}

/*
 * The write rules on rel.  Messages start with the caller's path (shown);
 * when resolved is true, rel is where that path really leads and the
 * message says so.
 */
static int check_rules(const struct pathpol *pp, const char *shown, size_t shown_len,
		       const char *rel, bool resolved, const char *const *denied,
		       size_t ndenied, struct ferr *e)
{
	struct buf via = BUF_INIT, comp = BUF_INIT, folded = BUF_INIT;
	size_t len = strlen(rel), pos = 0, n;
	const char *c;
	int ret = -1;

	if (resolved) {
		buf_puts(&via, " (it resolves to ");
		put_name_str(&via, rel);
		buf_puts(&via, ")");
	}
	while (next_comp(rel, len, &pos, &c, &n)) {
		const char *what = is_protected_name(c, n, "git")     ? ".git"
				   : is_protected_name(c, n, "forja") ? ".forja"
								      : NULL;

		if (!what)
			continue;
		buf_reset(&comp);
		if (n != strlen(what) || memcmp(c, what, n) != 0) {
			put_name(&comp, c, n);
			buf_printf(&comp, " counts as \"%s\", which", what);
		} else {
			buf_printf(&comp, "\"%s\"", what);
		}
		if (what[1] == 'g')
			fail(e, FERR_DENIED, shown, shown_len,
			     "refused: %s is never written, at any depth (git hooks, config and "
			     "objects; nested repositories and a worktree's .git file too)%s",
			     buf_cstr(&comp), buf_cstr(&via));
		else
			fail(e, FERR_DENIED, shown, shown_len,
			     "refused: %s is never written, at any depth, even before it exists "
			     "(forja's own configuration and contracts)%s",
			     buf_cstr(&comp), buf_cstr(&via));
		goto out;
	}
	fold_dotdot(rel, &folded);
	for (size_t i = 0; i < ndenied; i++) {
		if (!denied || !denied[i])
			continue;
		if (under_prefix(pp, rel, denied[i]) || under_prefix(pp, folded.data, denied[i])) {
			buf_reset(&comp);
			put_name_str(&comp, denied[i]);
			fail(e, FERR_DENIED, shown, shown_len,
			     "refused: under %s, which the contract marks not writable%s",
			     buf_cstr(&comp), buf_cstr(&via));
			goto out;
		}
	}
	ret = 0;
out:
	buf_release(&folded);
	buf_release(&comp);
	buf_release(&via);
	return ret;
}

/* ---- the string ------------------------------------------------------- */

int pathpol_normalise(const struct pathpol *pp, const char *path, size_t len,
		      struct buf *rel, struct ferr *e)
{
	size_t pos = 0, depth = 0, n;
	const char *c;

	buf_reset(rel);
	if (!path || len == 0)
		return ferr_set(e, FERR_DENIED,
				"empty path: refused: name a file or directory inside the workspace");
	if (memchr(path, '\0', len))
		return fail(e, FERR_DENIED, path, len,
			    "refused: the path contains a NUL byte (rule: no NUL in paths; it would "
			    "cut the path short)");
	if (len > PATH_MAX - 1)
		return fail(e, FERR_DENIED, path, len,
			    "refused: the path is too long: %zu bytes, the limit is %d (PATH_MAX)",
			    len, PATH_MAX - 1);
	while (next_comp(path, len, &pos, &c, &n)) {
		if (n > NAME_MAX) {
			struct buf d = BUF_INIT;

			put_name(&d, c, n);
			fail(e, FERR_DENIED, path, len,
			     "refused: component %s is too long: %zu bytes, the limit is %d "
			     "(NAME_MAX)",
			     buf_cstr(&d), n, NAME_MAX);
			buf_release(&d);
			return -1;
		}
	}
	pos = 0;
	if (path[0] == '/' && !strip_root(pp, path, len, &pos)) {
		struct buf d = BUF_INIT;

		put_name_str(&d, pp->root ? pp->root : "");
		fail(e, FERR_DENIED, path, len,
		     "refused: absolute path outside the workspace %s; only paths beneath the "
		     "workspace root are allowed",
		     buf_cstr(&d));
		buf_release(&d);
		return -1;
	}
	while (next_comp(path, len, &pos, &c, &n)) {
		if (is_dot(c, n))
			continue;
		if (is_dotdot(c, n)) {
			if (depth == 0) {
				buf_reset(rel);
				return fail(e, FERR_DENIED, path, len,
					    "refused: \"..\" climbs above the workspace root (rule: "
					    "no escape from the workspace)");
			}
			depth--;
		} else {
			depth++;
		}
		if (rel->len)
			buf_putc(rel, '/');
		buf_add(rel, c, n);
	}
	if (rel->len == 0)
		buf_puts(rel, ".");
	return 0;
}

/* ---- the walk ----------------------------------------------------------- */

/*
 * Our resolution beneath the root, for kernels without openat2 and for
 * naming the rule an openat2 failure broke.  Only the current directory's
 * fd is held; for ".." the walk opens the kernel's ".." of it and checks
 * that it is the directory it came from (dev, ino), so a directory moved
 * meanwhile cannot take the walk elsewhere.  It never passes a '/' or a
 * symlink to the kernel: every name is one component opened O_NOFOLLOW.
 */
struct walk_frame {
	dev_t dev;
	ino_t ino;
	size_t canon_len; /* canon.len once this directory was entered */
};

struct walk {
	const struct pathpol *pp;
	const char *path;  /* the caller's path, for messages */
	size_t path_len;
	int fd;            /* the current directory: pp->root_fd or owned */
	struct walk_frame *stack; /* [0] is the root */
	size_t depth, cap;
	struct buf canon;  /* the current directory relative to the root ("" for it) */
	unsigned links;
	struct buf link_name, link_target; /* the last symlink followed */
	/* A final component that is not a directory: its O_PATH fd (owned),
	 * its stat and its name in the current directory. */
	int final_fd;
	struct stat final_st;
	char final_name[NAME_MAX + 1];
	/* Writes: create missing directories, after the rules allow them. */
	bool mkdirs;
	const char *const *denied;
	size_t ndenied;
};

static int walk_init(struct walk *w, const struct pathpol *pp, const char *path,
		     size_t path_len, struct ferr *e)
{
	struct stat st;

	memset(w, 0, sizeof *w);
	w->pp = pp;
	w->path = path;
	w->path_len = path_len;
	w->fd = pp->root_fd;
	w->final_fd = -1;
	if (fstat(pp->root_fd, &st) != 0)
		return fail(e, FERR_IO, path, path_len, "workspace root: %s", strerror(errno));
	w->cap = 16;
	w->stack = xcalloc(w->cap, sizeof *w->stack);
	w->stack[0].dev = st.st_dev;
	w->stack[0].ino = st.st_ino;
	return 0;
}

static void walk_set_fd(struct walk *w, int fd)
{
	if (w->fd != w->pp->root_fd)
		close(w->fd);
	w->fd = fd;
}

static void walk_release(struct walk *w)
{
	walk_set_fd(w, w->pp->root_fd);
	if (w->final_fd >= 0)
		close(w->final_fd);
	w->final_fd = -1;
	free(w->stack);
	w->stack = NULL;
	buf_release(&w->canon);
	buf_release(&w->link_name);
	buf_release(&w->link_target);
}

/* canon + "/" + name, the resolved location of name in the current dir. */
static void walk_child(const struct walk *w, const char *name, struct buf *out)
{
	buf_reset(out);
	buf_add(out, w->canon.data, w->canon.len);
	if (w->canon.len)
		buf_putc(out, '/');
	buf_puts(out, name);
}

/* An OS error at name in the current directory; the message names where
 * the walk was when that is not simply the path given. */
static int walk_fail_io(struct walk *w, const char *name, int err, struct ferr *e)
{
	struct buf where = BUF_INIT, d = BUF_INIT;

	walk_child(w, name, &where);
	if (where.len == w->path_len && memcmp(where.data, w->path, w->path_len) == 0) {
		fail(e, FERR_IO, w->path, w->path_len, "%s", strerror(err));
	} else {
		put_name_str(&d, buf_cstr(&where));
		fail(e, FERR_IO, w->path, w->path_len, "at %s: %s", buf_cstr(&d), strerror(err));
	}
	buf_release(&d);
	buf_release(&where);
	return -1;
}

static void walk_enter(struct walk *w, int fd, const struct stat *st, const char *name)
{
	if (w->depth + 1 >= w->cap) {
		w->cap *= 2;
		w->stack = xrealloc(w->stack, w->cap * sizeof *w->stack);
	}
	walk_set_fd(w, fd);
	if (w->canon.len)
		buf_putc(&w->canon, '/');
	buf_puts(&w->canon, name);
	w->depth++;
	w->stack[w->depth].dev = st->st_dev;
	w->stack[w->depth].ino = st->st_ino;
	w->stack[w->depth].canon_len = w->canon.len;
}

static int walk_up(struct walk *w, struct ferr *e)
{
	struct stat st;
	int fd;

	if (w->depth == 0) {
		struct buf ln = BUF_INIT, lt = BUF_INIT;

		if (!w->links)
			return fail(e, FERR_DENIED, w->path, w->path_len,
				    "refused: \"..\" climbs above the workspace root (rule: no escape "
				    "from the workspace)");
		put_name_str(&ln, buf_cstr(&w->link_name));
		put_name_str(&lt, buf_cstr(&w->link_target));
		fail(e, FERR_DENIED, w->path, w->path_len,
		     "refused: symbolic link %s (-> %s) leads outside the workspace (rule: "
		     "symlinks are followed only while they stay beneath the root)",
		     buf_cstr(&ln), buf_cstr(&lt));
		buf_release(&lt);
		buf_release(&ln);
		return -1;
	}
	if (w->depth == 1) {
		fd = w->pp->root_fd;
	} else {
		fd = openat(w->fd, "..", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			return walk_fail_io(w, "..", errno, e);
		if (fstat(fd, &st) != 0 || st.st_dev != w->stack[w->depth - 1].dev ||
		    st.st_ino != w->stack[w->depth - 1].ino) {
			close(fd);
			return fail(e, FERR_IO, w->path, w->path_len,
				    "a directory on the path was moved while it was being resolved; "
				    "try again");
		}
	}
	walk_set_fd(w, fd);
	w->depth--;
	buf_truncate(&w->canon, w->stack[w->depth].canon_len);
	return 0;
}

/* Create directory name in the current directory for mkdirs, once the
 * write rules allow its resolved path. */
static int walk_mkdir(struct walk *w, const char *name, struct ferr *e)
{
	struct buf where = BUF_INIT;
	int ret;

	walk_child(w, name, &where);
	ret = check_rules(w->pp, w->path, w->path_len, where.data, true, w->denied,
			  w->ndenied, e);
	buf_release(&where);
	if (ret < 0)
		return -1;
	if (mkdirat(w->fd, name, 0777) != 0 && errno != EEXIST)
		return walk_fail_io(w, name, errno, e);
	return 0;
}

/*
 * The component at fd (O_PATH, O_NOFOLLOW) is a symlink: splice its target
 * in front of what remains of the path (rest from *pos on), or refuse it.
 * Takes fd.
 */
static int walk_follow(struct walk *w, int fd, const char *name, struct buf *rest,
		       size_t *pos, struct ferr *e)
{
	char target[PATH_MAX];
	struct statfs sfs;
	struct buf next = BUF_INIT, d = BUF_INIT, t = BUF_INIT;
	ssize_t n;
	int ret = -1;

	walk_child(w, name, &w->link_name);
	put_name_str(&d, buf_cstr(&w->link_name));
	if (++w->links > PATHPOL_MAX_LINKS) {
		fail(e, FERR_DENIED, w->path, w->path_len,
		     "refused: more than %d symbolic links (a loop?) at %s", PATHPOL_MAX_LINKS,
		     buf_cstr(&d));
		goto out;
	}
	/* The kernel's RESOLVE_NO_MAGICLINKS: /proc/<pid>/root, cwd, fd/N jump
	 * to objects by reference, so their text is not where they lead.  A
	 * workspace has no business inside /proc, so every link there counts. */
	if (fstatfs(fd, &sfs) == 0 && sfs.f_type == PROC_SUPER_MAGIC) {
		fail(e, FERR_DENIED, w->path, w->path_len,
		     "refused: %s is a link in /proc (a magic link); magic links are never "
		     "followed",
		     buf_cstr(&d));
		goto out;
	}
	n = readlinkat(fd, "", target, sizeof target);
	if (n < 0) {
		walk_fail_io(w, name, errno, e);
		goto out;
	}
	if ((size_t)n >= sizeof target) {
		fail(e, FERR_DENIED, w->path, w->path_len,
		     "refused: the target of symbolic link %s is too long", buf_cstr(&d));
		goto out;
	}
	if (n == 0) {
		walk_fail_io(w, name, ENOENT, e);
		goto out;
	}
	buf_reset(&w->link_target);
	buf_add(&w->link_target, target, (size_t)n);
	if (target[0] == '/') {
		put_name(&t, target, (size_t)n);
		fail(e, FERR_DENIED, w->path, w->path_len,
		     "refused: symbolic link %s points to an absolute path, %s; absolute "
		     "symlinks are never followed beneath the workspace root, even when they "
		     "point inside it (make it relative)",
		     buf_cstr(&d), buf_cstr(&t));
		goto out;
	}
	/* What remains starts with its '/' (or is empty): a target's own
	 * trailing slash is kept, so "f -> file/" fails as in the kernel. */
	buf_add(&next, target, (size_t)n);
	buf_add(&next, rest->data + *pos, rest->len - *pos);
	buf_release(rest);
	*rest = next;
	next = (struct buf)BUF_INIT;
	*pos = 0;
	ret = 0;
out:
	close(fd);
	buf_release(&t);
	buf_release(&d);
	buf_release(&next);
	return ret;
}

/*
 * Resolve rel (relative, checked by pathpol_normalise) beneath the root.
 * On success either w->final_fd is the O_PATH fd of a final component that
 * is not a directory, with w->fd its directory, or w->final_fd is -1 and
 * w->fd is the directory rel names.  Symlinks are followed everywhere,
 * including the last component.
 */
static int walk_run(struct walk *w, const char *rel, struct ferr *e)
{
	struct buf rest = BUF_INIT;
	size_t pos = 0, start, n;
	unsigned tries = 0;
	const char *c;
	char name[NAME_MAX + 1];
	struct stat st;
	int fd, ret = -1;

	buf_puts(&rest, rel);
	for (;;) {
		start = pos;
		if (!next_comp(rest.data, rest.len, &pos, &c, &n))
			break;
		if (is_dot(c, n))
			continue;
		if (is_dotdot(c, n)) {
			if (walk_up(w, e) < 0)
				goto out;
			continue;
		}
		if (n > NAME_MAX) {
			fail(e, FERR_DENIED, w->path, w->path_len,
			     "refused: a component is too long (%zu bytes; the limit is %d, NAME_MAX)",
			     n, NAME_MAX);
			goto out;
		}
		memcpy(name, c, n);
		name[n] = '\0';
		fd = openat(w->fd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0) {
			if (errno == ENOENT && w->mkdirs && tries++ < MKDIR_TRIES) {
				if (walk_mkdir(w, name, e) < 0)
					goto out;
				pos = start;
				continue;
			}
			walk_fail_io(w, name, errno, e);
			goto out;
		}
		tries = 0;
		if (fstat(fd, &st) != 0) {
			walk_fail_io(w, name, errno, e);
			close(fd);
			goto out;
		}
		if (S_ISLNK(st.st_mode)) {
			if (walk_follow(w, fd, name, &rest, &pos, e) < 0)
				goto out;
			continue;
		}
		if (S_ISDIR(st.st_mode)) {
			walk_enter(w, fd, &st, name);
			continue;
		}
		if (pos < rest.len) { /* a '/' follows: "file/x", "file/." or "file/" */
			close(fd);
			walk_fail_io(w, name, ENOTDIR, e);
			goto out;
		}
		w->final_fd = fd;
		w->final_st = st;
		memcpy(w->final_name, name, n + 1);
		break;
	}
	ret = 0;
out:
	buf_release(&rest);
	return ret;
}

/* ---- openat2 ------------------------------------------------------------ */

static int beneath(const struct pathpol *pp, const char *rel, int flags)
{
	struct open_how how;

	memset(&how, 0, sizeof how);
	how.flags = (uint64_t)(flags | O_CLOEXEC);
	how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
	for (int i = 0; i < OPENAT2_TRIES; i++) {
		long fd = syscall(SYS_openat2, pp->root_fd, rel, &how, sizeof how);

		if (fd >= 0)
			return (int)fd;
		if (errno != EAGAIN && errno != EINTR)
			return -1;
	}
	return -1;
}

/*
 * openat2 refused rel with err.  openat2 says EXDEV for every kind of
 * escape; the walk finds which rule it was.  If the walk succeeds (the
 * tree changed in between), say what the kernel said.
 */
static int diagnose(const struct pathpol *pp, const char *path, size_t len,
		    const char *rel, int err, struct ferr *e)
{
	struct walk w;
	int ret;

	if (walk_init(&w, pp, path, len, e) < 0)
		return -1;
	ret = walk_run(&w, rel, e);
	walk_release(&w);
	if (ret < 0)
		return -1;
	switch (err) {
	case EXDEV:
		return fail(e, FERR_DENIED, path, len,
			    "refused: resolves outside the workspace (rule: no escape from the "
			    "workspace)");
	case ELOOP:
		return fail(e, FERR_DENIED, path, len,
			    "refused: too many symbolic links, or a magic link");
	case EAGAIN:
		return fail(e, FERR_IO, path, len,
			    "kept changing while it was being resolved; try again");
	default:
		return fail(e, FERR_IO, path, len, "%s", strerror(err));
	}
}

/* ---- the root ------------------------------------------------------------ */

static bool probe_openat2(int root_fd)
{
	struct open_how how;
	long fd;

	memset(&how, 0, sizeof how);
	how.flags = O_PATH | O_CLOEXEC;
	how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
	fd = syscall(SYS_openat2, root_fd, ".", &how, sizeof how);
	if (fd < 0)
		return false; /* ENOSYS before 5.6; EPERM under old seccomp profiles */
	close((int)fd);
	return true;
}

int pathpol_open_root(const char *root, struct pathpol *pp, struct ferr *e)
{
	struct stat st, rst;
	char *real = NULL, *d;
	int fd, err;

	pp->root_fd = -1;
	pp->root = NULL;
	pp->use_openat2 = false;
	if (!root || !*root)
		return ferr_set(e, FERR_USAGE, "workspace root: empty path");
	fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) != 0 || !(real = realpath(root, NULL)) ||
	    stat(real, &rst) != 0) {
		err = errno;
		d = utf8_path_dup(root, strlen(root));
		ferr_set(e, FERR_IO, "workspace root %s: %s", d, strerror(err));
		free(d);
		goto fail;
	}
	if (st.st_dev != rst.st_dev || st.st_ino != rst.st_ino) {
		d = utf8_path_dup(root, strlen(root));
		ferr_set(e, FERR_IO, "workspace root %s: changed while it was being opened", d);
		free(d);
		goto fail;
	}
	pp->root_fd = fd;
	pp->root = real;
	pp->use_openat2 = probe_openat2(fd);
	return 0;
fail:
	free(real);
	if (fd >= 0)
		close(fd);
	return -1;
}

void pathpol_release(struct pathpol *pp)
{
	if (pp->root_fd >= 0)
		close(pp->root_fd);
	pp->root_fd = -1;
	free(pp->root);
	pp->root = NULL;
}

/* ---- reading ------------------------------------------------------------ */

int pathpol_open_read(const struct pathpol *pp, const char *path, size_t len,
		      bool want_dir, int *fdp, struct ferr *e)
{
	struct buf rel = BUF_INIT;
	struct walk w;
	bool walking = false;
	struct stat st, st2;
	int pfd = -1, fd = -1, ret = -1;

	*fdp = -1;
	if (pathpol_normalise(pp, path, len, &rel, e) < 0)
		goto out;
	/* Classify through an O_PATH fd first: opening a FIFO, a device or a
	 * socket for real could block or have side effects. */
	if (pp->use_openat2) {
		pfd = beneath(pp, rel.data, O_PATH);
		if (pfd < 0) {
			diagnose(pp, path, len, rel.data, errno, e);
			goto out;
		}
		if (fstat(pfd, &st) != 0) {
			fail(e, FERR_IO, path, len, "%s", strerror(errno));
			goto out;
		}
	} else {
		if (walk_init(&w, pp, path, len, e) < 0)
			goto out;
		walking = true;
		if (walk_run(&w, rel.data, e) < 0)
			goto out;
		if (w.final_fd >= 0) {
			st = w.final_st;
		} else if (fstat(w.fd, &st) != 0) {
			fail(e, FERR_IO, path, len, "%s", strerror(errno));
			goto out;
		}
	}

	if (S_ISDIR(st.st_mode)) {
		if (!want_dir) {
			fail(e, FERR_IO, path, len, "is a directory, not a file");
			goto out;
		}
		/* "." of the very directory that was checked: no second lookup. */
		fd = openat(walking ? w.fd : pfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	} else if (S_ISREG(st.st_mode)) {
		if (want_dir) {
			fail(e, FERR_IO, path, len, "is a file, not a directory");
			goto out;
		}
		/* An O_PATH fd cannot be reopened without /proc, so the name is
		 * opened again (beneath the same root, or by name in the verified
		 * directory) and must be the same file. */
		if (walking) {
			fd = openat(w.fd, w.final_name,
				    O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
		} else {
			fd = beneath(pp, rel.data, O_RDONLY | O_NONBLOCK | O_NOCTTY);
			if (fd < 0) {
				diagnose(pp, path, len, rel.data, errno, e);
				goto out;
			}
		}
	} else {
		fail_special(e, path, len, st.st_mode);
		goto out;
	}
	if (fd < 0) {
		fail(e, FERR_IO, path, len, "%s", strerror(errno));
		goto out;
	}
	if (fstat(fd, &st2) != 0) {
		fail(e, FERR_IO, path, len, "%s", strerror(errno));
		goto out;
	}
	if (st2.st_dev != st.st_dev || st2.st_ino != st.st_ino) {
		fail(e, FERR_IO, path, len, "changed while it was being opened; try again");
		goto out;
	}
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) != 0) {
		fail(e, FERR_IO, path, len, "%s", strerror(errno));
		goto out;
	}
	*fdp = fd;
	fd = -1;
	ret = 0;
out:
	if (fd >= 0)
		close(fd);
	if (pfd >= 0)
		close(pfd);
	if (walking)
		walk_release(&w);
	buf_release(&rel);
	return ret;
}

/* ---- writing ------------------------------------------------------------ */

int pathpol_check_write(const struct pathpol *pp, const char *rel,
			const char *const *denied, size_t ndenied, struct ferr *e)
{
	if (!rel)
		rel = "";
	return check_rules(pp, rel, strlen(rel), rel, false, denied, ndenied, e);
}

/* A new file in directory dirfd, named TMP_PREFIX + 16 random hex digits
 * (written into name), opened for writing; -1 with errno on failure. */
static int make_temp(int dirfd, mode_t mode, char *name, size_t cap)
{
	for (unsigned i = 0; i < 32; i++) {
		uint64_t r;
		int fd;

		if (getrandom(&r, sizeof r, GRND_NONBLOCK) != (ssize_t)sizeof r) {
			struct timespec ts;

			clock_gettime(CLOCK_MONOTONIC, &ts);
			r = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 30) ^
			    ((uint64_t)getpid() << 12) ^ i;
		}
		snprintf(name, cap, TMP_PREFIX "%016llx", (unsigned long long)r);
		fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
			    mode);
		if (fd >= 0 || errno != EEXIST)
			return fd;
	}
	errno = EEXIST;
	return -1;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int pathpol_write_atomic(const struct pathpol *pp, const char *path, size_t path_len,
			 const void *data, size_t len, bool mkdirs,
			 const char *const *denied, size_t ndenied,
			 struct pathpol_prev *prev, struct ferr *e)
{
	struct buf rel = BUF_INIT, parent = BUF_INIT, full = BUF_INIT;
	struct walk w;
	bool walking = false, exists = false, tmp_made = false;
	struct stat st, tst;
	const char *name, *slash;
	char tmp[64];
	int tfd = -1, ret = -1;

	if (prev)
		memset(prev, 0, sizeof *prev);
	if (pathpol_normalise(pp, path, path_len, &rel, e) < 0)
		goto out;
	if (strcmp(rel.data, ".") == 0) {
		fail(e, FERR_DENIED, path, path_len,
		     "refused: names the workspace root itself; name a file to write");
		goto out;
	}
	slash = strrchr(rel.data, '/');
	name = slash ? slash + 1 : rel.data;
	if (slash)
		buf_add(&parent, rel.data, (size_t)(slash - rel.data));
	else
		buf_puts(&parent, ".");
	if (strcmp(name, "..") == 0) {
		fail(e, FERR_DENIED, path, path_len,
		     "refused: ends in \"..\", which names a directory; name a file to write");
		goto out;
	}
	if (check_rules(pp, path, path_len, rel.data, false, denied, ndenied, e) < 0)
		goto out;

	/* The parent is resolved by our walk even when openat2 is there: the
	 * rules need the names of the directories actually entered (g -> .git
	 * is ".git"), and openat2 does not report them.  The fd the walk ends
	 * on is the one the temp file and the rename use. */
	if (walk_init(&w, pp, path, path_len, e) < 0)
		goto out;
	walking = true;
	w.mkdirs = mkdirs;
	w.denied = denied;
	w.ndenied = ndenied;
	if (walk_run(&w, parent.data, e) < 0)
		goto out;
	if (w.final_fd >= 0) {
		walk_fail_io(&w, w.final_name, ENOTDIR, e);
		goto out;
	}
	walk_child(&w, name, &full);
	if (check_rules(pp, path, path_len, full.data, true, denied, ndenied, e) < 0)
		goto out;

	if (fstatat(w.fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		exists = true;
	} else if (errno != ENOENT) {
		walk_fail_io(&w, name, errno, e);
		goto out;
	}
	if (exists) {
		if (S_ISLNK(st.st_mode)) {
			fail(e, FERR_DENIED, path, path_len,
			     "refused: is a symbolic link; writes never follow or replace a link "
			     "(write to its target instead)");
			goto out;
		}
		if (S_ISDIR(st.st_mode)) {
			fail(e, FERR_IO, path, path_len, "is a directory, not a file");
			goto out;
		}
		if (!S_ISREG(st.st_mode)) {
			fail_special(e, path, path_len, st.st_mode);
			goto out;
		}
		if (st.st_nlink > 1) {
			fail(e, FERR_DENIED, path, path_len,
			     "refused: the file has %ju hard links; writing it would change the "
			     "other names too (rule: hard-linked files are never written)",
			     (uintmax_t)st.st_nlink);
			goto out;
		}
		if (faccessat(w.fd, name, W_OK, AT_EACCESS) != 0) {
			walk_fail_io(&w, name, errno, e);
			goto out;
		}
	}

	/* An existing file's mode is set before any byte is written, so the
	 * content is never more exposed than it was. */
	tfd = make_temp(w.fd, exists ? 0600 : 0644, tmp, sizeof tmp);
	if (tfd < 0) {
		fail(e, FERR_IO, path, path_len, "creating a temp file beside it: %s",
		     strerror(errno));
		goto out;
	}
	tmp_made = true;
	if (exists) {
		if (fstat(tfd, &tst) == 0 && (tst.st_uid != st.st_uid || tst.st_gid != st.st_gid) &&
		    fchown(tfd, st.st_uid, st.st_gid) != 0) {
			/* Not allowed to give it away: the file becomes ours. */
		}
		if (fchmod(tfd, st.st_mode & 0777) != 0) {
			fail(e, FERR_IO, path, path_len, "keeping its mode: %s", strerror(errno));
			goto out;
		}
	}
	if (write_all(tfd, data, len) != 0) {
		fail(e, FERR_IO, path, path_len, "writing the new content: %s", strerror(errno));
		goto out;
	}
	{
		int fd = tfd;

		tfd = -1;
		if (close(fd) != 0) {
			fail(e, FERR_IO, path, path_len, "writing the new content: %s",
			     strerror(errno));
			goto out;
		}
	}
	if (renameat(w.fd, tmp, w.fd, name) != 0) {
		fail(e, FERR_IO, path, path_len, "replacing the file: %s", strerror(errno));
		goto out;
	}
	tmp_made = false;
	if (prev && exists) {
		prev->existed = true;
		prev->size = st.st_size;
		prev->mode = st.st_mode & 07777;
	}
	ret = 0;
out:
	if (tfd >= 0)
		close(tfd);
	if (tmp_made)
		unlinkat(w.fd, tmp, 0);
	if (walking)
		walk_release(&w);
	buf_release(&full);
	buf_release(&parent);
	buf_release(&rel);
	return ret;
}

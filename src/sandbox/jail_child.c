/*
 * jail_child.c — everything the jail does after clone: the user namespace
 * maps, the mount view, the init of the PID namespace, and the command's
 * own confinement (session, fds, signals, rlimits, Landlock, capabilities,
 * no_new_privs, seccomp) right before execve.
 *
 * The clone was made from a process that may have other threads, so this
 * code allocates nothing, takes no lock and uses no stdio: system calls,
 * the plan the parent prepared (jail_int.h) and stack buffers.  A step that
 * fails sends one SETUP record on the status pipe naming the layer, the
 * step and errno, then exits: the parent refuses rather than run weaker.
 */
#ifdef __linux__ /* the macOS half is jail_darwin.c */
#include "jail_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/capability.h>

#ifndef __NR_mount_setattr
#define __NR_mount_setattr 442
#endif
#ifndef __NR_close_range
#define __NR_close_range 436
#endif
#ifndef AT_RECURSIVE
#define AT_RECURSIVE 0x8000
#endif
#define JAIL_MOUNT_ATTR_RDONLY 0x00000001ULL

#define SECBIT_NOROOT_ (1 << 0)
#define SECBIT_NOROOT_LOCKED_ (1 << 1)
#define SECBIT_NO_SETUID_FIXUP_ (1 << 2)
#define SECBIT_NO_SETUID_FIXUP_LOCKED_ (1 << 3)
#define SECBIT_KEEP_CAPS_LOCKED_ (1 << 5)
#define SECBIT_NO_CAP_AMBIENT_RAISE_ (1 << 6)
#define SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED_ (1 << 7)

struct jail_mount_attr {
	uint64_t attr_set, attr_clr, propagation, userns_fd;
};

static const char *const dev_names[JAIL_NDEV] = {
	"null", "zero", "full", "random", "urandom", "tty",
};

/* ---- small helpers that do not allocate ------------------------------------- */

static size_t cat(char *dst, size_t at, size_t cap, const char *s)
{
	while (s && *s && at + 1 < cap)
		dst[at++] = *s++;
	dst[at] = '\0';
	return at;
}

static void fmt_uint(char *out, unsigned long v)
{
	char tmp[24];
	size_t n = 0, i;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	for (i = 0; i < n; i++)
		out[i] = tmp[n - 1 - i];
	out[n] = '\0';
}

static void fd_path(char out[32], int fd)
{
	char num[24];

	fmt_uint(num, (unsigned long)fd);
	cat(out, cat(out, 0, 32, "/proc/self/fd/"), 32, num);
}

static void send_rec(const struct jail_plan *p, char kind, int layer, int code, const char *a,
		     const char *b)
{
	struct jail_rec r;
	size_t n;
	ssize_t w;

	memset(&r, 0, sizeof r);
	r.kind = kind;
	r.layer = layer;
	r.code = code;
	n = cat(r.msg, 0, sizeof r.msg, a);
	if (b) {
		n = cat(r.msg, n, sizeof r.msg, " ");
		cat(r.msg, n, sizeof r.msg, b);
	}
	do
		w = write(p->status_fd, &r, sizeof r);
	while (w < 0 && errno == EINTR);
}

/* Report a failed step (errno is the cause) and exit. */
static _Noreturn void fail(const struct jail_plan *p, int layer, const char *what,
			   const char *path)
{
	send_rec(p, JAIL_REC_SETUP, layer, errno, what, path);
	_exit(126);
}

static int write_all(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	size_t len = strlen(s);
	ssize_t w;

	if (fd < 0)
		return -1;
	w = write(fd, s, len);
	if (w != (ssize_t)len) {
		int err = w < 0 ? errno : EIO;

		close(fd);
		errno = err;
		return -1;
	}
	return close(fd);
}

/* Close every fd except those in keep[0..n) (n small). */
static void close_all_but(int *keep, int n)
{
	int i, j, lo = 0;

	for (i = 1; i < n; i++)
		for (j = i; j > 0 && keep[j - 1] > keep[j]; j--) {
			int t = keep[j];

			keep[j] = keep[j - 1];
			keep[j - 1] = t;
		}
	for (i = 0; i <= n; i++) {
		int hi = i < n ? keep[i] - 1 : INT_MAX;

		if (i < n && keep[i] < 0)
			continue;
		if (hi >= lo && syscall(__NR_close_range, (unsigned)lo, (unsigned)hi, 0) < 0) {
			/* Linux < 5.9: walk /proc/self/fd with getdents64 */
			char dbuf[4096];
			int dfd = open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			long nread;

			while (dfd >= 0 &&
			       (nread = syscall(SYS_getdents64, dfd, dbuf, sizeof dbuf)) > 0) {
				long off = 0;

				while (off < nread) {
					struct dirent64 *d = (struct dirent64 *)(dbuf + off);
					long fd = 0;
					const char *c;

					off += d->d_reclen;
					for (c = d->d_name; *c >= '0' && *c <= '9'; c++)
						fd = fd * 10 + (*c - '0');
					if (c == d->d_name || *c || fd == dfd || fd < lo || fd > hi)
						continue;
					close((int)fd);
				}
			}
			if (dfd >= 0)
				close(dfd);
		}
		if (i < n)
			lo = keep[i] + 1;
	}
}

static void reset_signals(void)
{
	struct sigaction sa;
	sigset_t none;
	int s;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = SIG_DFL;
	for (s = 1; s < NSIG; s++)
		if (s != SIGKILL && s != SIGSTOP)
			sigaction(s, &sa, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

/* ---- mounts ------------------------------------------------------------------- */

/* The per-mount flags a bind remount must repeat (a user namespace may not
 * drop the locked ones), from statfs. */
static unsigned long kept_flags(const char *path)
{
	struct statfs sf;
	unsigned long f = 0;

	if (statfs(path, &sf) < 0)
		return 0;
	if (sf.f_flags & ST_NOSUID)
		f |= MS_NOSUID;
	if (sf.f_flags & ST_NODEV)
		f |= MS_NODEV;
	if (sf.f_flags & ST_NOEXEC)
		f |= MS_NOEXEC;
	if (sf.f_flags & ST_NOATIME)
		f |= MS_NOATIME;
	if (sf.f_flags & ST_NODIRATIME)
		f |= MS_NODIRATIME;
	if (sf.f_flags & ST_RELATIME)
		f |= MS_RELATIME;
	return f;
}

static int remount(const char *path, bool ro)
{
	unsigned long flags = MS_REMOUNT | MS_BIND | (ro ? MS_RDONLY : 0) | kept_flags(path);

	return mount(NULL, path, NULL, flags, NULL);
}

/* Make the mount at path (and, with mount_setattr, every mount below it)
 * read-only or writable. */
static int set_ro(const char *path, bool ro)
{
	struct jail_mount_attr a = { ro ? JAIL_MOUNT_ATTR_RDONLY : 0,
				     ro ? 0 : JAIL_MOUNT_ATTR_RDONLY, 0, 0 };

	if (syscall(__NR_mount_setattr, AT_FDCWD, path, AT_RECURSIVE, &a, sizeof a) == 0)
		return 0;
	if (errno != ENOSYS)
		return -1;
	return remount(path, ro);
}

/* Undo the octal escapes of mountinfo (\040 for a space) in place. */
static void unescape(char *s)
{
	char *w = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*w++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 3;
		} else {
			*w++ = *s;
		}
	}
	*w = '\0';
}

/* Kernels without mount_setattr (< 5.12): remount every mount point listed
 * in mountinfo read-only, streaming it through a stack buffer. */
static void all_ro_by_list(const struct jail_plan *p)
{
	char buf[16384];
	size_t have = 0;
	int fd = open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		fail(p, JAIL_LAYER_MOUNT, "open", "/proc/self/mountinfo");
	for (;;) {
		ssize_t n = read(fd, buf + have, sizeof buf - 1 - have);
		char *line, *nl;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			fail(p, JAIL_LAYER_MOUNT, "read", "/proc/self/mountinfo");
		have += (size_t)n;
		buf[have] = '\0';
		line = buf;
		while ((nl = strchr(line, '\n')) != NULL || (n == 0 && *line)) {
			char *f = line, *mp;
			int field;

			if (nl)
				*nl = '\0';
			/* fields: id parent major:minor root mountpoint ... */
			for (field = 0; field < 4 && f; field++) {
				f = strchr(f, ' ');
				if (f)
					f++;
			}
			if (f) {
				mp = f;
				f = strchr(mp, ' ');
				if (f)
					*f = '\0';
				unescape(mp);
				if (remount(mp, true) < 0 && errno != ENOENT && errno != EINVAL)
					fail(p, JAIL_LAYER_MOUNT, "remount read-only", mp);
			}
			if (!nl) {
				line += strlen(line);
				break;
			}
			line = nl + 1;
		}
		have = (size_t)(buf + have - line);
		memmove(buf, line, have);
		if (n == 0)
			break;
		if (have == sizeof buf - 1) {
			errno = ENAMETOOLONG;
			fail(p, JAIL_LAYER_MOUNT, "mountinfo line too long", NULL);
		}
	}
	close(fd);
}

/* Create path (and its missing parents) as a mount point: a directory, or
 * an empty file.  Only succeeds where something writable is, that is in
 * the private tmpfs the masks put there. */
static int make_mountpoint(const char *path, bool dir)
{
	char b[PATH_MAX];
	struct stat st;
	size_t i, len = strlen(path);
	int fd;

	if (lstat(path, &st) == 0)
		return 0;
	if (errno != ENOENT || len >= sizeof b)
		return -1;
	/* most often only the last component is missing */
	if (dir ? mkdir(path, 0755) == 0 : (fd = open(path, O_CREAT | O_WRONLY | O_NOFOLLOW |
							       O_CLOEXEC, 0644)) >= 0) {
		if (!dir)
			close(fd);
		return 0;
	}
	if (errno != ENOENT)
		return -1;
	memcpy(b, path, len + 1);
	for (i = 1; i < len; i++) {
		if (b[i] != '/')
			continue;
		b[i] = '\0';
		if (mkdir(b, 0755) < 0 && errno != EEXIST)
			return -1;
		b[i] = '/';
	}
	if (dir)
		return mkdir(b, 0755) < 0 && errno != EEXIST ? -1 : 0;
	fd = open(b, O_CREAT | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0)
		return -1;
	return close(fd);
}

static void bind_fd(const struct jail_plan *p, int fd, const char *target, bool dir, bool ro)
{
	char src[32];

	fd_path(src, fd);
	if (make_mountpoint(target, dir) < 0)
		fail(p, JAIL_LAYER_MOUNT, "create mount point", target);
	if (mount(src, target, NULL, MS_BIND | MS_REC, NULL) < 0)
		fail(p, JAIL_LAYER_MOUNT, "bind", target);
	if (set_ro(target, ro) < 0)
		fail(p, JAIL_LAYER_MOUNT, ro ? "make read-only" : "make writable", target);
}

static void tmpfs_at(const struct jail_plan *p, const char *path, unsigned long flags,
		     const char *opts)
{
	char data[160];

	cat(data, cat(data, 0, sizeof data, opts), sizeof data, p->tmpfs_size);
	if (make_mountpoint(path, true) < 0)
		fail(p, JAIL_LAYER_MOUNT, "create mount point", path);
	if (mount("tmpfs", path, "tmpfs", MS_NOSUID | MS_NODEV | flags, data) < 0)
		fail(p, JAIL_LAYER_MOUNT, "mount tmpfs on", path);
}

static void setup_dev(const struct jail_plan *p)
{
	static const char *const links[][2] = {
		{ "/proc/self/fd", "/dev/fd" },   { "/proc/self/fd/0", "/dev/stdin" },
		{ "/proc/self/fd/1", "/dev/stdout" }, { "/proc/self/fd/2", "/dev/stderr" },
	};
	char path[64];
	size_t i;

	if (mount("tmpfs", "/dev", "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=0755,size=65536") < 0)
		fail(p, JAIL_LAYER_MOUNT, "mount tmpfs on", "/dev");
	for (i = 0; i < JAIL_NDEV; i++) {
		if (p->dev_fd[i] < 0)
			continue;
		cat(path, cat(path, 0, sizeof path, "/dev/"), sizeof path, dev_names[i]);
		bind_fd(p, p->dev_fd[i], path, false, true);
	}
	if (mkdir("/dev/pts", 0755) < 0)
		fail(p, JAIL_LAYER_MOUNT, "mkdir", "/dev/pts");
	/* a private devpts: the jail's ptys, none of the user's terminals */
	if (mount("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC,
		  "newinstance,ptmxmode=0666,mode=0620") == 0) {
		if (symlink("pts/ptmx", "/dev/ptmx") < 0)
			fail(p, JAIL_LAYER_MOUNT, "symlink", "/dev/ptmx");
	}
	tmpfs_at(p, "/dev/shm", MS_NOEXEC, "mode=1777");
	for (i = 0; i < sizeof links / sizeof links[0]; i++)
		if (symlink(links[i][0], links[i][1]) < 0)
			fail(p, JAIL_LAYER_MOUNT, "symlink", links[i][1]);
}

static void setup_mounts(struct jail_plan *p)
{
	char path[64];
	size_t i;
	bool have_dev = false;

	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		fail(p, JAIL_LAYER_MOUNT, "make private", "/");

	/* Open every bind's source before anything is masked: the workspace
	 * may live under $HOME or /tmp. */
	for (i = 0; i < p->nops; i++) {
		struct jail_op *op = &p->ops[i];
		struct stat st;

		op->fd = -1;
		if (op->kind != JAIL_OP_BIND_RO && op->kind != JAIL_OP_BIND_RW)
			continue;
		op->fd = open(op->path, O_PATH | O_CLOEXEC | (op->nofollow ? O_NOFOLLOW : 0));
		if (op->fd < 0) {
			if (errno == ENOENT || errno == ELOOP)
				continue;
			fail(p, JAIL_LAYER_MOUNT, "open", op->path);
		}
		if (fstat(op->fd, &st) < 0)
			fail(p, JAIL_LAYER_MOUNT, "stat", op->path);
		if (S_ISLNK(st.st_mode)) {
			close(op->fd);
			op->fd = -1;
			continue;
		}
		op->is_dir = S_ISDIR(st.st_mode);
	}
	for (i = 0; i < JAIL_NDEV; i++) {
		cat(path, cat(path, 0, sizeof path, "/dev/"), sizeof path, dev_names[i]);
		p->dev_fd[i] = open(path, O_PATH | O_CLOEXEC);
	}

	/* The whole tree read-only: the system, and the chmod/utime/setxattr a
	 * capability-less root could still do under Landlock. */
	if (set_ro("/", true) < 0) {
		if (errno != ENOSYS)
			fail(p, JAIL_LAYER_MOUNT, "make read-only", "/");
		all_ro_by_list(p);
	}

	for (i = 0; i < p->nops; i++) {
		struct jail_op *op = &p->ops[i];
		struct stat st;

		switch (op->kind) {
		case JAIL_OP_TMPFS:
			tmpfs_at(p, op->path, 0, op->data);
			break;
		case JAIL_OP_DEV:
			setup_dev(p);
			have_dev = true;
			break;
		case JAIL_OP_BIND_RO:
		case JAIL_OP_BIND_RW:
			if (op->fd >= 0)
				bind_fd(p, op->fd, op->path, op->is_dir,
					op->kind == JAIL_OP_BIND_RO);
			break;
		case JAIL_OP_HIDE:
			if (lstat(op->path, &st) < 0)
				break; /* already out of sight under a mask */
			if (S_ISDIR(st.st_mode)) {
				if (mount("tmpfs", op->path, "tmpfs",
					  MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
					  "mode=000,size=4096") < 0)
					fail(p, JAIL_LAYER_MOUNT, "hide", op->path);
			} else if (p->dev_fd[0] >= 0) {
				bind_fd(p, p->dev_fd[0], op->path, false, true);
			} else {
				errno = ENOENT;
				fail(p, JAIL_LAYER_MOUNT, "hide (no /dev/null)", op->path);
			}
			break;
		}
	}
	if (p->layers & JAIL_LAYER_PID) {
		/* fresh and read-only: only the jail's processes, and no write to
		 * /proc/sys or /proc/sysrq-trigger for a capability-less root */
		if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY,
			  NULL) < 0)
			fail(p, JAIL_LAYER_PID, "mount proc on", "/proc");
	}
	if (have_dev &&
	    mount(NULL, "/dev", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NOEXEC,
		  NULL) < 0)
		fail(p, JAIL_LAYER_MOUNT, "make read-only", "/dev");
	for (i = 0; i < p->nops; i++)
		if (p->ops[i].fd >= 0) {
			close(p->ops[i].fd);
			p->ops[i].fd = -1;
		}
	for (i = 0; i < JAIL_NDEV; i++)
		if (p->dev_fd[i] >= 0) {
			close(p->dev_fd[i]);
			p->dev_fd[i] = -1;
		}
}

/* ---- the command ----------------------------------------------------------------- */

static void drop_privileges(const struct jail_plan *p)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[2];
	int c;

	memset(data, 0, sizeof data);
	if (syscall(SYS_capget, &hdr, data) < 0)
		fail(p, 0, "capget", NULL);
	if (data[0].permitted || data[1].permitted) {
		/* Without these, uid 0 gets every capability back at execve. */
		unsigned long bits = SECBIT_NOROOT_ | SECBIT_NOROOT_LOCKED_ |
				     SECBIT_NO_SETUID_FIXUP_ | SECBIT_NO_SETUID_FIXUP_LOCKED_ |
				     SECBIT_KEEP_CAPS_LOCKED_ | SECBIT_NO_CAP_AMBIENT_RAISE_ |
				     SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED_;

		if (prctl(PR_SET_SECUREBITS, bits, 0, 0, 0) < 0)
			fail(p, 0, "set securebits", NULL);
		for (c = 0; c < 64; c++)
			if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0) {
				if (errno == EINVAL)
					break;
				fail(p, 0, "drop bounding capability", NULL);
			}
	}
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		fail(p, 0, "clear ambient capabilities", NULL);
	memset(data, 0, sizeof data);
	hdr.version = _LINUX_CAPABILITY_VERSION_3;
	hdr.pid = 0;
	if (syscall(SYS_capset, &hdr, data) < 0)
		fail(p, 0, "capset", NULL);
	if (syscall(SYS_capget, &hdr, data) < 0 || data[0].permitted || data[1].permitted ||
	    data[0].effective || data[1].effective) {
		errno = EPERM;
		fail(p, 0, "capabilities still held after capset", NULL);
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		fail(p, 0, "set no_new_privs", NULL);
}

static void limit(const struct jail_plan *p, int resource, rlim_t value, const char *what)
{
	struct rlimit rl;

	if (getrlimit(resource, &rl) < 0)
		fail(p, 0, "getrlimit", what);
	if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < value)
		value = rl.rlim_max;
	rl.rlim_cur = rl.rlim_max = value;
	if (setrlimit(resource, &rl) < 0)
		fail(p, resource == RLIMIT_NPROC ? JAIL_LAYER_PROCS : 0, "setrlimit", what);
}

/* execvpe without allocation: argv[0] with a '/' as it is, else each
 * directory of PATH in turn.  Returns with errno set when nothing ran. */
static void exec_search(const struct jail_plan *p)
{
	const char *file = p->argv[0], *s = p->path_var;
	size_t flen = strlen(file);
	bool eacces = false;
	char b[PATH_MAX];

	if (strchr(file, '/')) {
		execve(file, p->argv, p->envp);
		return;
	}
	if (!*file) {
		errno = ENOENT;
		return;
	}
	for (;;) {
		size_t dl = strcspn(s, ":");

		if (dl + 1 + flen < sizeof b) {
			if (dl) {
				memcpy(b, s, dl);
			} else {
				b[0] = '.';
				dl = 1;
			}
			b[dl] = '/';
			memcpy(b + dl + 1, file, flen + 1);
			execve(b, p->argv, p->envp);
			if (errno == EACCES)
				eacces = true;
			else if (errno != ENOENT && errno != ENOTDIR && errno != ELOOP &&
				 errno != ESTALE && errno != ENODEV && errno != ETIMEDOUT)
				return;
			dl = strcspn(s, ":");
		}
		s += dl;
		if (!*s)
			break;
		s++;
	}
	errno = eacces ? EACCES : ENOENT;
}

static _Noreturn void command(struct jail_plan *p)
{
	int ll_fd = -1, err;
	const char *what;

	if (setsid() < 0)
		fail(p, 0, "setsid", NULL);
	/* The plan is not written here: under a PID namespace this runs in a
	 * vfork child that shares the init's memory.  The status pipe stays
	 * where lift() put it, close-on-exec. */
	if (dup2(p->null_fd, 0) < 0 || dup2(p->out_fd, 1) < 0 ||
	    dup2(p->err_fd >= 0 ? p->err_fd : p->out_fd, 2) < 0)
		fail(p, 0, "dup2", NULL);
	{
		int keep[4] = { 0, 1, 2, p->status_fd };

		close_all_but(keep, 4);
	}
	{
		struct sigaction sa;

		memset(&sa, 0, sizeof sa);
		sa.sa_handler = SIG_IGN; /* a write past RLIMIT_FSIZE fails with EFBIG */
		sigaction(SIGXFSZ, &sa, NULL);
	}
	limit(p, RLIMIT_CORE, 0, "RLIMIT_CORE");
	if (p->fsize)
		limit(p, RLIMIT_FSIZE, (rlim_t)p->fsize, "RLIMIT_FSIZE");
	if (p->nproc > 0)
		limit(p, RLIMIT_NPROC, (rlim_t)p->nproc, "RLIMIT_NPROC");

	/* The ruleset is built while the paths can still be opened as
	 * before; it is enforced after no_new_privs. */
	if ((p->layers & JAIL_LAYER_LANDLOCK) && jail_landlock_prepare(p, &ll_fd, &what) < 0)
		fail(p, JAIL_LAYER_LANDLOCK, "landlock rule for", what);
	drop_privileges(p);
	if (ll_fd >= 0) {
		if (jail_landlock_enforce(ll_fd) < 0)
			fail(p, JAIL_LAYER_LANDLOCK, "landlock_restrict_self", NULL);
		close(ll_fd);
	}
	if ((p->layers & JAIL_LAYER_SECCOMP) && jail_seccomp_install(p) < 0)
		fail(p, JAIL_LAYER_SECCOMP, "install seccomp filter", NULL);
	if (!p->argv)
		_exit(0); /* a probe: everything applied, nothing to run */
	exec_search(p);
	err = errno;
	send_rec(p, JAIL_REC_EXEC, 0, err, p->argv[0], NULL);
	_exit(127);
}

/* PID 1 of the jail's namespace: start the command, reap everything,
 * report the command's status, exit — and the kernel kills whatever is
 * left.  The command is a vfork child: no copy of forja's page tables and
 * no copy-on-write faults before its execve (command() writes nothing
 * the init reads, and a vfork child's rlimits, credentials, seccomp and
 * Landlock domain are its own). */
static _Noreturn void run_init(struct jail_plan *p)
{
	pid_t pid;

	/* forja's memory (keys included) is in this process: not readable */
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	pid = vfork();
	if (pid < 0)
		fail(p, JAIL_LAYER_PID, "fork the command", NULL);
	if (pid == 0)
		command(p);
	close(p->null_fd);
	close(p->out_fd);
	if (p->err_fd >= 0)
		close(p->err_fd);
	for (;;) {
		int st;
		pid_t r = (pid_t)wait4(-1, &st, __WALL, NULL);

		if (r == pid) {
			send_rec(p, JAIL_REC_WAIT, 0, st, NULL, NULL);
			_exit(0);
		}
		if (r < 0 && errno != EINTR)
			_exit(125);
	}
}

/* Move fd to 10 or above (so that dup2 onto 0-3 cannot clobber another),
 * close-on-exec; -1 stays -1. */
static int lift(const struct jail_plan *p, int fd)
{
	int n;

	if (fd < 0)
		return -1;
	n = fcntl(fd, F_DUPFD_CLOEXEC, 10);
	if (n < 0)
		fail(p, 0, "fcntl F_DUPFD", NULL);
	return n;
}

_Noreturn void jail_child_main(struct jail_plan *p)
{
	int keep[6], i;

	prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	reset_signals();
	if (p->netns_fd >= 0 && setns(p->netns_fd, CLONE_NEWNET) < 0)
		fail(p, JAIL_LAYER_NET, "join the network namespace", NULL);
	/* Keep only what the jail needs: forja's other descriptors (its
	 * database, sockets, other calls' pipes) are gone from here on. */
	p->status_fd = lift(p, p->status_fd);
	p->null_fd = lift(p, p->null_fd);
	p->out_fd = lift(p, p->out_fd);
	p->err_fd = lift(p, p->err_fd);
	p->cg_procs_fd[0] = lift(p, p->cg_procs_fd[0]);
	p->cg_procs_fd[1] = lift(p, p->cg_procs_fd[1]);
	keep[0] = p->status_fd;
	keep[1] = p->null_fd;
	keep[2] = p->out_fd;
	keep[3] = p->err_fd;
	keep[4] = p->cg_procs_fd[0];
	keep[5] = p->cg_procs_fd[1];
	close_all_but(keep, 6);

	for (i = 0; i < 2; i++) {
		if (p->cg_procs_fd[i] < 0)
			continue;
		if (write(p->cg_procs_fd[i], "0", 1) != 1)
			fail(p, i == 0 ? JAIL_LAYER_PROCS : JAIL_LAYER_MEMORY, "join cgroup", NULL);
		close(p->cg_procs_fd[i]);
		p->cg_procs_fd[i] = -1;
	}
	if (p->userns) {
		if (write_all("/proc/self/setgroups", "deny") < 0 && errno != ENOENT)
			fail(p, JAIL_LAYER_MOUNT, "write", "/proc/self/setgroups");
		if (write_all("/proc/self/uid_map", p->uid_map) < 0)
			fail(p, JAIL_LAYER_MOUNT, "write", "/proc/self/uid_map");
		if (write_all("/proc/self/gid_map", p->gid_map) < 0)
			fail(p, JAIL_LAYER_MOUNT, "write", "/proc/self/gid_map");
	}
	if (p->layers & JAIL_LAYER_MOUNT)
		setup_mounts(p);
	if (p->cwd && chdir(p->cwd) < 0)
		fail(p, 0, "chdir", p->cwd);
	if (p->layers & JAIL_LAYER_PID)
		run_init(p);
	command(p);
}

#else
/* ISO C wants a declaration in every translation unit. */
typedef int jail_child_is_linux_only;
#endif /* __linux__ */

/*
 * jail.c — the parent's half of include/forja/jail.h: check the spec,
 * decide which layers this call gets and refuse when a needed one is
 * missing, prepare the plan the child carries out (jail_child.c), clone,
 * then read the pipes into capped buffers, enforce the timeout and clean up
 * until nothing of the call is left.  Also jail_probe().
 */
#ifdef __linux__ /* the macOS half is jail_darwin.c */
#include "jail_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/sched.h>

#ifndef __NR_clone3
#define __NR_clone3 435
#endif
#ifndef __NR_pidfd_send_signal
#define __NR_pidfd_send_signal 424
#endif
#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x00001000
#endif
#ifndef CLONE_NEWCGROUP
#define CLONE_NEWCGROUP 0x02000000
#endif
#define JAIL_CLONE_INTO_CGROUP 0x200000000ULL

struct jail_clone_args {
	uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid,
		set_tid_size, cgroup;
};

/* The names guarded when missing (see guard_missing()). */
static const char *const guard_names[] = { ".forja", ".git" };

/* ---- paths ------------------------------------------------------------------- */

/* Whether path is dir or under it, by whole components. */
static bool is_under(const char *path, const char *dir)
{
	size_t dl = strlen(dir);

	if (strcmp(dir, "/") == 0)
		return path[0] == '/';
	return strncmp(path, dir, dl) == 0 && (path[dl] == '/' || path[dl] == '\0');
}

static size_t depth_of(const char *path)
{
	size_t d = 0;

	for (; *path; path++)
		if (*path == '/' && path[1])
			d++;
	return d;
}

/* Directories a workspace, rw path or masked home may not be nor contain. */
static bool is_system_path(const char *path)
{
	static const char *const sys[] = {
		"/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc", "/boot",
		NULL,
	};
	int i;

	if (strcmp(path, "/") == 0 || is_under(path, "/proc") || is_under(path, "/sys") ||
	    is_under(path, "/dev"))
		return true;
	for (i = 0; sys[i]; i++)
		if (is_under(sys[i], path))
			return true; /* path is an ancestor of (or is) a system dir */
	return false;
}

/* ---- the plan ---------------------------------------------------------------- */

struct planner {
	struct jail_plan *p;
	size_t ops_cap;
	char **ro_extra;        /* NULL-terminated: ro_paths and git dirs, resolved */
	size_t nro_extra, ro_cap;
	char **rw_list;         /* rw_paths, resolved */
	size_t nrw, rw_cap;
	char **git_inside;      /* git dirs and hooks inside the workspace to protect */
	size_t ngit, git_cap;
	char *ws;
	size_t scan_entries;
	size_t nprotect;
	bool scan_truncated;
};

static void list_add(char ***list, size_t *n, size_t *cap, char *s)
{
	if (*n + 2 > *cap) {
		*cap = *cap ? *cap * 2 : 16;
		*list = xrealloc(*list, *cap * sizeof **list);
	}
	(*list)[(*n)++] = s;
	(*list)[*n] = NULL;
}

static void list_free(char **list, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(list[i]);
	free(list);
}

static void add_op(struct planner *pl, enum jail_op_kind kind, const char *path, const char *data,
		   bool nofollow)
{
	struct jail_plan *p = pl->p;
	size_t i;

	for (i = 0; i < p->nops; i++)
		if (p->ops[i].kind == kind && strcmp(p->ops[i].path, path) == 0)
			return;
	if (p->nops == pl->ops_cap) {
		pl->ops_cap = pl->ops_cap ? pl->ops_cap * 2 : 32;
		p->ops = xrealloc(p->ops, pl->ops_cap * sizeof *p->ops);
	}
	p->ops[p->nops] = (struct jail_op){ kind, xstrdup(path), data ? xstrdup(data) : NULL,
					    false, nofollow, -1 };
	p->nops++;
}

static int op_rank(enum jail_op_kind k)
{
	switch (k) {
	case JAIL_OP_TMPFS:
	case JAIL_OP_DEV:
		return 0;
	case JAIL_OP_BIND_RW:
		return 1;
	case JAIL_OP_BIND_RO:
		return 2;
	case JAIL_OP_HIDE:
		return 3;
	}
	return 4;
}

static int op_cmp(const void *a, const void *b)
{
	const struct jail_op *x = a, *y = b;
	size_t dx = depth_of(x->path), dy = depth_of(y->path);

	if (dx != dy)
		return dx < dy ? -1 : 1;
	if (op_rank(x->kind) != op_rank(y->kind))
		return op_rank(x->kind) - op_rank(y->kind);
	return strcmp(x->path, y->path);
}

/* A protected path inside the workspace: bound read-only over itself. */
static void protect(struct planner *pl, const char *path)
{
	if (pl->nprotect >= JAIL_MAX_PROTECT) {
		pl->scan_truncated = true;
		return;
	}
	pl->nprotect++;
	add_op(pl, JAIL_OP_BIND_RO, path, NULL, true);
}

/* A .git that is a symbolic link: git follows it, so protect what it leads
 * to when that is inside the workspace (outside is read-only anyway). */
static void protect_link(struct planner *pl, const char *path)
{
	char *real = realpath(path, NULL);

	if (real && is_under(real, pl->ws) && strcmp(real, pl->ws) != 0)
		protect(pl, real);
	free(real);
}

static void see_git_file(struct planner *pl, const char *gitfile);

static void scan_dir(struct planner *pl, int dfd, struct buf *path, int depth)
{
	DIR *d = fdopendir(dfd);
	struct dirent *de;
	size_t base = path->len;

	if (!d) {
		close(dfd);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		const char *name = de->d_name;
		unsigned char type = de->d_type;
		bool special = strcmp(name, ".git") == 0 || strcmp(name, ".forja") == 0;

		if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
			continue;
		if (++pl->scan_entries > JAIL_SCAN_ENTRIES) {
			pl->scan_truncated = true;
			break;
		}
		if (type == DT_UNKNOWN) {
			struct stat st;

			if (fstatat(dirfd(d), name, &st, AT_SYMLINK_NOFOLLOW) < 0)
				continue;
			type = S_ISDIR(st.st_mode) ? DT_DIR : S_ISLNK(st.st_mode) ? DT_LNK : DT_REG;
		}
		if (!special && type != DT_DIR)
			continue;
		buf_truncate(path, base);
		buf_printf(path, "/%s", name);
		if (special) {
			if (type == DT_LNK) {
				protect_link(pl, path->data);
			} else {
				protect(pl, path->data);
				if (type == DT_REG && name[1] == 'g' && depth > 0)
					see_git_file(pl, path->data);
			}
			continue;
		}
		if (depth + 1 >= JAIL_SCAN_DEPTH) {
			pl->scan_truncated = true;
			continue;
		}
		{
			int sub = openat(dirfd(d), name,
					 O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

			if (sub >= 0)
				scan_dir(pl, sub, path, depth + 1);
		}
		if (pl->scan_truncated)
			break;
	}
	buf_truncate(path, base);
	closedir(d);
}

/* Read "gitdir: X" from the .git file at gitfile; the resolved X, or NULL. */
static char *read_gitdir(const char *gitfile)
{
	char data[PATH_MAX + 16], *line, *res = NULL;
	int fd = open(gitfile, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return NULL;
	n = read(fd, data, sizeof data - 1);
	close(fd);
	if (n <= 8)
		return NULL;
	data[n] = '\0';
	if (strncmp(data, "gitdir:", 7) != 0)
		return NULL;
	line = data + 7;
	line += strspn(line, " \t");
	line[strcspn(line, "\r\n")] = '\0';
	if (line[0] == '/') {
		res = realpath(line, NULL);
	} else {
		struct buf b = BUF_INIT;
		const char *slash = strrchr(gitfile, '/');

		buf_add(&b, gitfile, (size_t)(slash - gitfile));
		buf_printf(&b, "/%s", line);
		res = realpath(b.data, NULL);
		buf_release(&b);
	}
	return res;
}

/* A git directory the workspace uses: protected when it lies inside the
 * workspace (a ".git" file may point anywhere, "gitdir: .g" included),
 * granted read-only when outside (a worktree's gitdir, the repository the
 * workspace is a subdirectory of). */
static void see_git_dir(struct planner *pl, const char *dir)
{
	size_t i;

	if (!dir || strcmp(dir, pl->ws) == 0 || is_system_path(dir))
		return;
	if (is_under(dir, pl->ws)) {
		for (i = 0; i < pl->ngit; i++)
			if (strcmp(pl->git_inside[i], dir) == 0)
				return;
		list_add(&pl->git_inside, &pl->ngit, &pl->git_cap, xstrdup(dir));
	} else {
		for (i = 0; i < pl->nro_extra; i++)
			if (strcmp(pl->ro_extra[i], dir) == 0)
				return;
		list_add(&pl->ro_extra, &pl->nro_extra, &pl->ro_cap, xstrdup(dir));
	}
}

/* The value of core.hooksPath in the git config file at path, or NULL.  A
 * small reader: [core] sections, "hookspath = value" in any case, optional
 * quotes; enough to find where hooks run from. */
static char *read_hooks_path(const char *path)
{
	char line[PATH_MAX + 64];
	char *res = NULL;
	bool in_core = false;
	FILE *f = fopen(path, "re");

	if (!f)
		return NULL;
	while (fgets(line, sizeof line, f)) {
		char *p = line + strspn(line, " \t"), *eq, *v, *end;

		if (*p == '[') {
			in_core = strncasecmp(p, "[core]", 6) == 0;
			continue;
		}
		eq = strchr(p, '=');
		if (!in_core || !eq || strncasecmp(p, "hookspath", 9) != 0 ||
		    p + 9 + strspn(p + 9, " \t") != eq)
			continue;
		v = eq + 1 + strspn(eq + 1, " \t");
		end = v + strcspn(v, "\r\n");
		while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
			end--;
		if (end - v >= 2 && *v == '"' && end[-1] == '"') {
			v++;
			end--;
		}
		free(res);
		res = xstrndup(v, (size_t)(end - v));
	}
	fclose(f);
	return res;
}

/* The hooks directory a gitdir's config names, when it is in the workspace. */
static void see_hooks_path(struct planner *pl, const char *gitdir)
{
	struct buf b = BUF_INIT;
	char *hp, *real;

	buf_printf(&b, "%s/config", gitdir);
	hp = read_hooks_path(b.data);
	if (hp && *hp) {
		buf_reset(&b);
		if (hp[0] == '/')
			buf_puts(&b, hp);
		else if (hp[0] == '~' && hp[1] == '/' && getenv("HOME"))
			buf_printf(&b, "%s/%s", getenv("HOME"), hp + 2);
		else
			buf_printf(&b, "%s/%s", pl->ws, hp);
		real = realpath(b.data, NULL);
		if (real && is_under(real, pl->ws))
			see_git_dir(pl, real);
		free(real);
	}
	free(hp);
	buf_release(&b);
}

/* The commondir of gitdir (a linked worktree's), resolved, or NULL. */
static char *read_commondir(const char *gitdir)
{
	char common[PATH_MAX + 16];
	struct buf b = BUF_INIT;
	char *res = NULL;
	ssize_t n;
	int fd;

	buf_printf(&b, "%s/commondir", gitdir);
	fd = open(b.data, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		n = read(fd, common, sizeof common - 1);
		close(fd);
		if (n > 0) {
			common[n] = '\0';
			common[strcspn(common, "\r\n")] = '\0';
			buf_reset(&b);
			if (common[0] == '/')
				buf_puts(&b, common);
			else
				buf_printf(&b, "%s/%s", gitdir, common);
			res = realpath(b.data, NULL);
		}
	}
	buf_release(&b);
	return res;
}

/* Follow a ".git" file (at gitfile) to its gitdir and common dir. */
static void see_git_file(struct planner *pl, const char *gitfile)
{
	char *gitdir = read_gitdir(gitfile), *common;

	if (!gitdir)
		return;
	see_git_dir(pl, gitdir);
	common = read_commondir(gitdir);
	see_git_dir(pl, common);
	see_hooks_path(pl, common ? common : gitdir);
	free(common);
	free(gitdir);
}

/* The git directories the workspace uses (see see_git_dir()), and the
 * hooks directory its config names. */
static void add_git_dirs(struct planner *pl)
{
	struct buf b = BUF_INIT;
	struct stat st;

	buf_printf(&b, "%s/.git", pl->ws);
	if (lstat(b.data, &st) == 0 && S_ISREG(st.st_mode)) {
		see_git_file(pl, b.data);
	} else if (lstat(b.data, &st) == 0 && S_ISDIR(st.st_mode)) {
		see_hooks_path(pl, b.data);
	} else if (lstat(b.data, &st) < 0) {
		/* the enclosing repository, if any */
		char *dir = xstrdup(pl->ws), *slash;

		while ((slash = strrchr(dir, '/')) != NULL && slash != dir) {
			*slash = '\0';
			buf_reset(&b);
			buf_printf(&b, "%s/.git", dir);
			if (lstat(b.data, &st) == 0) {
				if (S_ISREG(st.st_mode)) {
					see_git_file(pl, b.data);
				} else {
					char *real = realpath(b.data, NULL);

					see_git_dir(pl, real);
					if (real)
						see_hooks_path(pl, real);
					free(real);
				}
				break;
			}
		}
		free(dir);
	}
	buf_release(&b);
}

static void plan_env(struct jail_plan *p, const char *const *env, unsigned *dropped)
{
	p->envp = jail_env_build(env, &p->path_var, dropped);
}

static void plan_free(struct jail_plan *p)
{
	size_t i;

	for (i = 0; i < p->nops; i++) {
		free(p->ops[i].path);
		free(p->ops[i].data);
	}
	free(p->ops);
	for (i = 0; p->envp && p->envp[i]; i++)
		free(p->envp[i]);
	free(p->envp);
	for (i = 0; i < p->nrules; i++)
		free(p->rules[i].path);
	free(p->rules);
	free(p->filter);
	free(p->cwd);
	memset(p, 0, sizeof *p);
}

/* The home to mask: spec->home, $HOME, or the passwd entry; resolved. */
static char *find_home(const char *given)
{
	const char *h = given;

	if (!h || !*h)
		h = getenv("HOME");
	if (!h || !*h) {
		struct passwd *pw = getpwuid(getuid());

		h = pw ? pw->pw_dir : NULL;
	}
	return h && *h == '/' ? realpath(h, NULL) : NULL;
}

/* Resolve each path of list (absolute, else FERR_USAGE) into out; missing
 * ones are skipped.  "/" and /proc are refused. */
static int resolve_list(const char *const *list, const char *what, char ***out, size_t *n,
			size_t *cap, struct ferr *e)
{
	size_t i;

	for (i = 0; list && list[i]; i++) {
		char *r;

		if (list[i][0] != '/')
			return ferr_set(e, FERR_USAGE, "jail: %s \"%s\" is not an absolute path",
					what, list[i]);
		r = realpath(list[i], NULL);
		if (!r)
			continue;
		if (strcmp(r, "/") == 0 || is_under(r, "/proc")) {
			ferr_set(e, FERR_USAGE, "jail: %s \"%s\" may not be %s", what, list[i],
				 strcmp(r, "/") == 0 ? "the root directory" : "under /proc");
			free(r);
			return -1;
		}
		list_add(out, n, cap, r);
	}
	return 0;
}

/* The mounts: masks, binds, protected paths, in the order to run them. */
static int plan_mounts(struct planner *pl, const struct jail_spec *s, char *home,
		       char **private_rw, size_t *npriv, struct ferr *e)
{
	static const char *const masks[] = { "/tmp", "/var/tmp", "/run", "/var/run", "/home",
					     "/root", NULL };
	struct jail_plan *p = pl->p;
	struct buf path = BUF_INIT;
	size_t i;
	int wsfd;

	for (i = 0; masks[i]; i++) {
		struct stat st;

		if (lstat(masks[i], &st) == 0 && S_ISDIR(st.st_mode))
			add_op(pl, JAIL_OP_TMPFS, masks[i],
			       strcmp(masks[i], "/tmp") == 0 || strcmp(masks[i], "/var/tmp") == 0
				       ? "mode=1777" : "mode=0755", false);
	}
	private_rw[(*npriv)++] = xstrdup("/tmp");
	private_rw[(*npriv)++] = xstrdup("/var/tmp");
	if (home && !is_system_path(home)) {
		add_op(pl, JAIL_OP_TMPFS, home, "mode=0700", false);
		private_rw[(*npriv)++] = xstrdup(home);
	}
	add_op(pl, JAIL_OP_DEV, "/dev", NULL, false);
	if (s->network) {
		/* /etc/resolv.conf often links into /run (systemd-resolved),
		 * which is masked: bring the file itself back, read-only */
		char *rc = realpath("/etc/resolv.conf", NULL);

		if (rc && !is_under(rc, "/etc") && !is_system_path(rc) && !is_under(rc, pl->ws))
			list_add(&pl->ro_extra, &pl->nro_extra, &pl->ro_cap, rc);
		else
			free(rc);
	}
	for (i = 0; pl->ro_extra && pl->ro_extra[i]; i++)
		add_op(pl, JAIL_OP_BIND_RO, pl->ro_extra[i], NULL, false);
	add_op(pl, JAIL_OP_BIND_RW, pl->ws, NULL, false);
	for (i = 0; pl->rw_list && pl->rw_list[i]; i++)
		add_op(pl, JAIL_OP_BIND_RW, pl->rw_list[i], NULL, false);
	for (i = 0; s->hide_paths && s->hide_paths[i]; i++) {
		char *r;

		if (s->hide_paths[i][0] != '/') {
			buf_release(&path);
			return ferr_set(e, FERR_USAGE, "jail: hide path \"%s\" is not absolute",
					s->hide_paths[i]);
		}
		r = realpath(s->hide_paths[i], NULL);
		if (!r)
			continue;
		if (strcmp(r, pl->ws) == 0 || is_under(pl->ws, r)) {
			ferr_set(e, FERR_USAGE, "jail: hide path \"%s\" contains the workspace",
				 s->hide_paths[i]);
			free(r);
			buf_release(&path);
			return -1;
		}
		add_op(pl, JAIL_OP_HIDE, r, NULL, false);
		free(r);
	}

	/* every .git and .forja in the workspace, read-only */
	wsfd = open(pl->ws, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (wsfd < 0) {
		buf_release(&path);
		return ferr_set(e, FERR_IO, "jail: workspace %s: %s", pl->ws, strerror(errno));
	}
	{
		struct stat st;

		/* A symbolic link cannot be bound over: the command could remove it
		 * and make a real .forja in its place. */
		if (fstatat(wsfd, ".forja", &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode)) {
			close(wsfd);
			buf_release(&path);
			return ferr_set(e, FERR_DENIED,
					"jail: %s/.forja is a symbolic link, which a command "
					"could replace with a real .forja; remove it or make "
					"it a directory", pl->ws);
		}
	}
	buf_puts(&path, pl->ws);
	if (s->skip_git_scan) {
		for (i = 0; i < 2; i++) {
			struct stat st;

			buf_truncate(&path, strlen(pl->ws));
			buf_printf(&path, "/%s", guard_names[i]);
			if (fstatat(wsfd, guard_names[i], &st, AT_SYMLINK_NOFOLLOW) == 0) {
				if (S_ISLNK(st.st_mode))
					protect_link(pl, path.data);
				else
					protect(pl, path.data);
			}
		}
		close(wsfd);
	} else {
		scan_dir(pl, wsfd, &path, 0); /* takes wsfd */
	}
	for (i = 0; i < pl->ngit; i++)
		protect(pl, pl->git_inside[i]);
	for (i = 0; i < pl->nro_extra; i++) /* gitdirs the scan found outside */
		add_op(pl, JAIL_OP_BIND_RO, pl->ro_extra[i], NULL, false);
	for (i = 0; s->protect_paths && s->protect_paths[i]; i++) {
		const char *pp = s->protect_paths[i];

		buf_reset(&path);
		if (pp[0] == '/')
			buf_puts(&path, pp);
		else
			buf_printf(&path, "%s/%s", pl->ws, pp);
		if (!is_under(path.data, pl->ws) || strcmp(path.data, pl->ws) == 0) {
			ferr_set(e, FERR_USAGE,
				 "jail: protect path \"%s\" is not inside the workspace", pp);
			buf_release(&path);
			return -1;
		}
		if (access(path.data, F_OK) == 0)
			protect(pl, path.data);
	}
	buf_release(&path);
	(void)p;
	return 0;
}

/* The guards: a missing top-level .forja becomes an empty file of mode
 * 0400 (readable, so `git add -A` in the jail does not trip on it), a
 * missing .git an empty directory of mode 0 (a file would break git's search
 * for an enclosing repository: "invalid gitfile format"), each bound
 * read-only in the jail so that nothing can be created there.  The modes
 * mark them as ours.  A file, not a directory, for .forja: on a file system
 * mounted with discard, making and removing a directory costs milliseconds
 * (its block is discarded), a file microseconds. */
#define GUARD_FILE_MODE 0400
static bool is_guard(int dirfd, int i)
{
	struct stat st;

	if (fstatat(dirfd, guard_names[i], &st, AT_SYMLINK_NOFOLLOW) < 0)
		return false;
	if (i == 0)
		return S_ISREG(st.st_mode) && st.st_size == 0 &&
		       (st.st_mode & 07777) == GUARD_FILE_MODE;
	return S_ISDIR(st.st_mode) && (st.st_mode & 07777) == 0;
}

/* Make the missing guards, under the shared lock on the workspace.
 * Returns the bits of guard_names made. */
static unsigned guard_missing(struct planner *pl, int lockfd, bool allow_git_init)
{
	unsigned made = 0;
	int i;

	for (i = 0; i < 2; i++) {
		struct stat st;
		struct buf b = BUF_INIT;

		if (i == 1 && allow_git_init)
			continue;
		buf_printf(&b, "%s/%s", pl->ws, guard_names[i]);
		if (fstatat(lockfd, guard_names[i], &st, AT_SYMLINK_NOFOLLOW) == 0) {
			if (is_guard(lockfd, i))
				protect(pl, b.data); /* made by a call still running */
		} else if (errno == ENOENT) {
			int flags = O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC;
			int fd = i == 0 ? openat(lockfd, guard_names[i], flags, GUARD_FILE_MODE)
					: mkdirat(lockfd, guard_names[i], 0);

			/* when we cannot create it, neither can the command */
			if (fd >= 0) {
				if (i == 0) {
					fchmod(fd, GUARD_FILE_MODE); /* whatever the umask */
					close(fd);
				}
				made |= 1u << i;
				protect(pl, b.data);
			}
		}
		buf_release(&b);
	}
	return made;
}

/* After the call: the last one out removes the guards. */
static void unguard(int lockfd)
{
	int i;

	if (flock(lockfd, LOCK_EX | LOCK_NB) < 0)
		return;
	for (i = 0; i < 2; i++)
		if (is_guard(lockfd, i))
			unlinkat(lockfd, guard_names[i], i == 0 ? 0 : AT_REMOVEDIR);
}

static int kernel_at_least(int major, int minor)
{
	struct utsname u;
	int ma = 0, mi = 0;

	if (uname(&u) < 0 || sscanf(u.release, "%d.%d", &ma, &mi) != 2)
		return 0;
	return ma > major || (ma == major && mi >= minor);
}

/* ---- output ------------------------------------------------------------------ */

/* ---- the call ------------------------------------------------------------------ */

struct call {
	struct jail_plan plan;
	struct jail_cgroup cg;
	pid_t pid;              /* the child; 0 once reaped */
	pid_t pgid;             /* the command's session and group (no PID namespace) */
	int pidfd;
	int out_r, err_r, status_r;
	struct buf status;
	bool killed;
	struct jail_disks disks;
};

static void kill_all(struct call *c)
{
	if (c->pidfd >= 0)
		syscall(__NR_pidfd_send_signal, c->pidfd, SIGKILL, NULL, 0);
	if (!(c->plan.layers & JAIL_LAYER_PID)) {
		if (c->pgid > 0)
			kill(-c->pgid, SIGKILL);
		jail_cgroup_kill(&c->cg);
	}
	c->killed = true;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static int spawn(struct call *c, struct ferr *e)
{
	struct jail_clone_args args;
	long pid;

	memset(&args, 0, sizeof args);
	args.flags = c->plan.clone_flags | CLONE_PIDFD;
	args.pidfd = (uint64_t)(uintptr_t)&c->pidfd;
	args.exit_signal = 0; /* no SIGCHLD into forja: the pidfd says when */
	if (c->cg.version == 2) {
		args.flags |= JAIL_CLONE_INTO_CGROUP;
		args.cgroup = (uint64_t)c->cg.dir_fd;
	}
	pid = syscall(__NR_clone3, &args, sizeof args);
	if (pid < 0 && errno == ENOSYS && c->cg.version != 2) {
		int pidfd = -1;

		pid = syscall(SYS_clone, (unsigned long)(c->plan.clone_flags | CLONE_PIDFD), 0,
			      &pidfd, 0, 0);
		if (pid > 0)
			c->pidfd = pidfd;
	}
	if (pid == 0)
		jail_child_main(&c->plan);
	if (pid < 0)
		return ferr_set(e, FERR_DENIED, "jail: clone: %s", strerror(errno));
	c->pid = (pid_t)pid;
	c->pgid = (c->plan.layers & JAIL_LAYER_PID) ? 0 : c->pid; /* it calls setsid() */
	return 0;
}

/* Read what fd has into sink (stream 1 or 2), or the status buffer when
 * k is NULL; false at EOF. */
static bool drain_fd(const struct jail_spec *s, int fd, struct jail_sink *k, int stream,
		     struct buf *status)
{
	char chunk[65536];
	ssize_t n = read(fd, chunk, sizeof chunk);

	if (n > 0) {
		if (k)
			jail_emit(s, k, stream, chunk, (size_t)n);
		else if (status->len < 64 * sizeof(struct jail_rec))
			buf_add(status, chunk, (size_t)n);
		return true;
	}
	return n < 0 && (errno == EINTR || errno == EAGAIN);
}

static void decode_status(struct jail_result *r, int st)
{
	if (WIFEXITED(st)) {
		r->exit_code = WEXITSTATUS(st);
		r->signal = 0;
	} else if (WIFSIGNALED(st)) {
		r->exit_code = -1;
		r->signal = WTERMSIG(st);
	}
}

static int run_loop(struct call *c, const struct jail_spec *s, struct jail_result *r,
		    struct jail_sink *out, struct jail_sink *err)
{
	long long start = jail_now_ms(), deadline = s->timeout_ms > 0 ? start + s->timeout_ms : 0;
	long long drain_until = 0;
	uint64_t cap = s->max_output_bytes ? s->max_output_bytes : JAIL_DEFAULT_OUTPUT;
	uint64_t kill_at = cap > UINT64_MAX / JAIL_OUTPUT_KILL_RATIO ? UINT64_MAX
								     : cap * JAIL_OUTPUT_KILL_RATIO;
	bool exited = false;
	siginfo_t si;
	struct rusage ru;

	memset(&si, 0, sizeof si);
	memset(&ru, 0, sizeof ru);
	c->disks.next_ms = start + JAIL_DISK_CHECK_MS;
	for (;;) {
		struct pollfd fds[5];
		int nfds = 0, wait_ms = -1, i;
		long long now;

		if (c->out_r >= 0)
			fds[nfds++] = (struct pollfd){ c->out_r, POLLIN, 0 };
		if (c->err_r >= 0)
			fds[nfds++] = (struct pollfd){ c->err_r, POLLIN, 0 };
		if (c->status_r >= 0)
			fds[nfds++] = (struct pollfd){ c->status_r, POLLIN, 0 };
		if (!exited)
			fds[nfds++] = (struct pollfd){ c->pidfd, POLLIN, 0 };
		if (s->cancel_fd >= 0 && !c->killed)
			fds[nfds++] = (struct pollfd){ s->cancel_fd, POLLIN, 0 };
		if (exited && c->out_r < 0 && c->err_r < 0 && c->status_r < 0)
			break;
		now = jail_now_ms();
		if (deadline && !c->killed)
			wait_ms = deadline > now ? (int)(deadline - now) : 0;
		if (exited) {
			int d = drain_until > now ? (int)(drain_until - now) : 0;

			wait_ms = wait_ms < 0 || d < wait_ms ? d : wait_ms;
		}
		if (c->disks.n && !c->killed && !exited) {
			int d = c->disks.next_ms > now ? (int)(c->disks.next_ms - now) : 0;

			wait_ms = wait_ms < 0 || d < wait_ms ? d : wait_ms;
		}
		if (poll(fds, (nfds_t)nfds, wait_ms) < 0 && errno != EINTR)
			return -1;
		for (i = 0; i < nfds; i++) {
			int fd = fds[i].fd;

			if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR | POLLNVAL)))
				continue;
			if (fd == c->out_r) {
				if (!drain_fd(s, fd, out, 1, NULL))
					close_fd(&c->out_r);
			} else if (fd == c->err_r) {
				if (!drain_fd(s, fd, err, 2, NULL))
					close_fd(&c->err_r);
			} else if (fd == c->status_r) {
				if (!drain_fd(s, fd, NULL, 0, &c->status))
					close_fd(&c->status_r);
			} else if (fd == c->pidfd) {
				if (syscall(SYS_waitid, P_PID, c->pid, &si, WEXITED | __WALL,
					    &ru) == 0) {
					exited = true;
					c->pid = 0; /* reaped: never signal that number again */
					drain_until = jail_now_ms() + JAIL_DRAIN_MS;
					if (!(c->plan.layers & JAIL_LAYER_PID)) {
						/* The command is gone; what it left behind is
						 * not let run, nor hold the pipes.  Its group
						 * id stays reserved while members remain. */
						if (c->cg.version)
							jail_cgroup_kill(&c->cg);
						kill(-c->pgid, SIGKILL);
					}
				}
			} else if (fd == s->cancel_fd) {
				r->cancelled = true;
				kill_all(c);
			}
		}
		now = jail_now_ms();
		if (!c->killed && deadline && now >= deadline) {
			r->timed_out = true;
			kill_all(c);
		}
		if (!c->killed && (out->o->total > kill_at || err->o->total > kill_at)) {
			r->output_killed = true;
			kill_all(c);
		}
		if (c->disks.n && !c->killed && !exited && now >= c->disks.next_ms) {
			const struct jail_disk *d = jail_disks_check(&c->disks, now);

			if (d) {
				r->disk_killed = true;
				r->disk_path = xstrdup(d->path);
				r->disk_watermark = d->min_free;
				kill_all(c);
			}
		}
		if (exited && now >= drain_until) {
			/* something outside our reach holds a pipe: stop reading */
			close_fd(&c->out_r);
			close_fd(&c->err_r);
			close_fd(&c->status_r);
		}
	}
	r->elapsed_ms = (long)(jail_now_ms() - start);
	r->user_ms = ru.ru_utime.tv_sec * 1000 + ru.ru_utime.tv_usec / 1000;
	r->sys_ms = ru.ru_stime.tv_sec * 1000 + ru.ru_stime.tv_usec / 1000;
	if (si.si_code == CLD_EXITED) {
		r->exit_code = si.si_status;
	} else {
		r->exit_code = -1;
		r->signal = si.si_status;
	}
	return 0;
}

/* What the caps, the spec and the machine give this call. */
static int choose_layers(const struct jail_spec *s, const struct jail_caps *caps,
			 struct jail_plan *p, struct ferr *e)
{
	unsigned need = jail_needed_layers(s), have = caps->layers, missing;

	/* The PID and network namespaces, and the .git binds, come with the
	 * mount namespace (a fresh /proc needs it; they are made together). */
	if (!(have & JAIL_LAYER_MOUNT))
		have &= ~(JAIL_LAYER_PID | JAIL_LAYER_NET | JAIL_LAYER_GITSCAN);
	if (caps->cgroup_version == 0 && !(have & JAIL_LAYER_PID))
		have &= ~JAIL_LAYER_CLEANUP;
	missing = need & ~have;
	if (missing & ~s->allow_missing)
		return jail_refuse_missing(missing & ~s->allow_missing, caps, e);
	p->layers = need & have;
	return 0;
}

int jail_run(const struct jail_spec *s, struct jail_result *r, struct ferr *e)
{
	struct jail_caps probed;
	const struct jail_caps *caps = s->caps;
	struct planner pl;
	struct call c;
	struct jail_sink out, err;
	char *home = NULL, *private_rw[4] = { NULL, NULL, NULL, NULL };
	size_t npriv = 0, i;
	int pout[2] = { -1, -1 }, perr[2] = { -1, -1 }, pstat[2] = { -1, -1 };
	int lockfd = -1, rc = -1;
	unsigned guards = 0;
	uint64_t cap = s->max_output_bytes ? s->max_output_bytes : JAIL_DEFAULT_OUTPUT;
	struct stat st;

	memset(r, 0, sizeof *r);
	memset(&pl, 0, sizeof pl);
	memset(&c, 0, sizeof c);
	c.pidfd = c.out_r = c.err_r = c.status_r = -1;
	c.cg.procs_fd[0] = c.cg.procs_fd[1] = c.cg.dir_fd = -1;
	c.plan.null_fd = c.plan.out_fd = c.plan.err_fd = c.plan.status_fd = -1;
	c.plan.cg_procs_fd[0] = c.plan.cg_procs_fd[1] = -1;
	c.plan.netns_fd = -1;
	for (i = 0; i < JAIL_NDEV; i++)
		c.plan.dev_fd[i] = -1;
	pl.p = &c.plan;

	if (!s->argv || !s->argv[0])
		return ferr_set(e, FERR_USAGE, "jail: no command");
	if (!s->workspace || s->workspace[0] != '/')
		return ferr_set(e, FERR_USAGE, "jail: the workspace must be an absolute path");
	if (!caps) {
		jail_probe(&probed);
		caps = &probed;
	}
	if (choose_layers(s, caps, &c.plan, e) < 0)
		goto out;

	pl.ws = realpath(s->workspace, NULL);
	if (!pl.ws || stat(pl.ws, &st) < 0 || !S_ISDIR(st.st_mode)) {
		ferr_set(e, FERR_USAGE, "jail: workspace %s: %s", s->workspace,
			 pl.ws ? "not a directory" : strerror(errno));
		goto out;
	}
	if (strcmp(pl.ws, "/") == 0 || is_under(pl.ws, "/proc") || is_under(pl.ws, "/sys") ||
	    is_under(pl.ws, "/dev")) {
		ferr_set(e, FERR_USAGE, "jail: the workspace may not be %s", pl.ws);
		goto out;
	}
	c.plan.cwd = realpath(s->cwd ? s->cwd : pl.ws, NULL);
	if (!c.plan.cwd || !is_under(c.plan.cwd, pl.ws)) {
		ferr_set(e, FERR_USAGE, "jail: cwd %s is not inside the workspace %s",
			 s->cwd ? s->cwd : "(none)", pl.ws);
		goto out;
	}
	if (resolve_list(s->ro_paths, "read-only path", &pl.ro_extra, &pl.nro_extra, &pl.ro_cap,
			 e) < 0 ||
	    resolve_list(s->rw_paths, "writable path", &pl.rw_list, &pl.nrw, &pl.rw_cap, e) < 0)
		goto out;
	for (i = 0; i < pl.nrw; i++)
		if (is_system_path(pl.rw_list[i])) {
			ferr_set(e, FERR_USAGE, "jail: writable path %s is a system directory",
				 pl.rw_list[i]);
			goto out;
		}
	add_git_dirs(&pl);
	home = find_home(s->home);

	/* The shared lock says "a jail is using this workspace" (see unguard). */
	lockfd = open(pl.ws, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (lockfd < 0 || flock(lockfd, LOCK_SH) < 0) {
		ferr_set(e, FERR_IO, "jail: workspace %s: %s", pl.ws, strerror(errno));
		goto out;
	}
	if (c.plan.layers & JAIL_LAYER_MOUNT) {
		guards = guard_missing(&pl, lockfd, s->allow_git_init);
		if (plan_mounts(&pl, s, home, private_rw, &npriv, e) < 0)
			goto out;
		if (pl.scan_truncated) {
			c.plan.layers &= ~JAIL_LAYER_GITSCAN;
			if (!(s->allow_missing & JAIL_LAYER_GITSCAN)) {
				ferr_set(e, FERR_DENIED,
					 "jail: the workspace is too large to find every nested "
					 ".git (more than %d entries, %d levels or %d "
					 "repositories); pass them in protect_paths with "
					 "skip_git_scan, or allow gitscan",
					 JAIL_SCAN_ENTRIES, JAIL_SCAN_DEPTH, JAIL_MAX_PROTECT);
				goto out;
			}
		}
		qsort(c.plan.ops, c.plan.nops, sizeof *c.plan.ops, op_cmp);
		c.plan.clone_flags = CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS;
		if (c.plan.layers & JAIL_LAYER_PID)
			c.plan.clone_flags |= CLONE_NEWPID;
		if ((c.plan.layers & JAIL_LAYER_NET) && caps->netns_fd >= 0)
			c.plan.netns_fd = caps->netns_fd;
		else if (c.plan.layers & JAIL_LAYER_NET)
			c.plan.clone_flags |= CLONE_NEWNET;
		snprintf(c.plan.tmpfs_size, sizeof c.plan.tmpfs_size, ",size=%llu",
			 (unsigned long long)(s->memory_bytes ? s->memory_bytes
							      : (uint64_t)4 << 30));
	} else {
		/* No mount namespace: Landlock alone.  It cannot carve the
		 * config out of a writable tree, so refuse when it lies inside. */
		for (i = 0; s->hide_paths && s->hide_paths[i]; i++) {
			char *h = realpath(s->hide_paths[i], NULL);
			bool inside = false;
			size_t k;

			if (h) {
				inside = is_under(h, pl.ws);
				for (k = 0; k < pl.nrw; k++)
					inside |= is_under(h, pl.rw_list[k]);
				for (k = 0; k < pl.nro_extra; k++)
					inside |= is_under(h, pl.ro_extra[k]);
			}
			free(h);
			if (inside) {
				ferr_set(e, FERR_DENIED,
					 "jail: %s lies inside a path the command may use and "
					 "only a mount namespace could hide it",
					 s->hide_paths[i]);
				goto out;
			}
		}
		c.plan.layers &= ~JAIL_LAYER_GITSCAN;
	}
	if (caps->userns && (c.plan.layers & JAIL_LAYER_MOUNT)) {
		c.plan.userns = true;
		c.plan.clone_flags |= CLONE_NEWUSER;
		snprintf(c.plan.uid_map, sizeof c.plan.uid_map, "%u %u 1\n", (unsigned)geteuid(),
			 (unsigned)geteuid());
		snprintf(c.plan.gid_map, sizeof c.plan.gid_map, "%u %u 1\n", (unsigned)getegid(),
			 (unsigned)getegid());
	}
	if ((c.plan.layers & JAIL_LAYER_PROCS) && caps->procs_by_rlimit && c.plan.userns)
		c.plan.nproc = s->max_processes + 1; /* + the init */
	c.plan.fsize = s->max_file_bytes;
	c.plan.argv = (char *const *)s->argv;
	plan_env(&c.plan, s->env, &r->env_dropped);
	if (c.plan.layers & JAIL_LAYER_LANDLOCK) {
		private_rw[npriv] = NULL;
		jail_landlock_plan(&c.plan, caps->landlock_abi, s->network,
				   (c.plan.layers & JAIL_LAYER_MOUNT) != 0, pl.ws,
				   (const char *const *)pl.ro_extra,
				   (const char *const *)pl.rw_list,
				   (const char *const *)private_rw);
	}
	if (c.plan.layers & JAIL_LAYER_SECCOMP) {
		c.plan.filter = xcalloc(JAIL_SECCOMP_MAX, sizeof *c.plan.filter);
		c.plan.filter_len = (unsigned short)jail_seccomp_build(s->network, c.plan.filter,
								       JAIL_SECCOMP_MAX);
	}
	if ((c.plan.layers & (JAIL_LAYER_PROCS | JAIL_LAYER_MEMORY | JAIL_LAYER_CLEANUP)) &&
	    caps->cgroup_version) {
		if (jail_cgroup_create(caps,
				       (c.plan.layers & JAIL_LAYER_MEMORY) ? s->memory_bytes : 0,
				       (c.plan.layers & JAIL_LAYER_PROCS) && !c.plan.nproc
					       ? s->max_processes : 0,
				       &c.cg, e) < 0)
			goto out;
		c.plan.cg_procs_fd[0] = c.cg.procs_fd[0];
		c.plan.cg_procs_fd[1] = c.cg.procs_fd[1];
	}

	if (pipe2(pout, O_CLOEXEC) < 0 || (!s->merge_stderr && pipe2(perr, O_CLOEXEC) < 0) ||
	    pipe2(pstat, O_CLOEXEC) < 0) {
		ferr_set(e, FERR_IO, "jail: pipe: %s", strerror(errno));
		goto out;
	}
	c.plan.null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (c.plan.null_fd < 0) {
		ferr_set(e, FERR_IO, "jail: /dev/null: %s", strerror(errno));
		goto out;
	}
	c.plan.out_fd = pout[1];
	c.plan.err_fd = perr[1];
	c.plan.status_fd = pstat[1];
	if (s->disk_min_free != UINT64_MAX) {
		jail_disks_add(&c.disks, s, pl.ws);
		for (i = 0; i < pl.nrw; i++)
			jail_disks_add(&c.disks, s, pl.rw_list[i]);
	}
	if (spawn(&c, e) < 0)
		goto out;
	close_fd(&pout[1]);
	close_fd(&perr[1]);
	close_fd(&pstat[1]);
	close_fd(&c.plan.null_fd);
	c.out_r = pout[0];
	c.err_r = perr[0];
	c.status_r = pstat[0];
	pout[0] = perr[0] = pstat[0] = -1;
	fcntl(c.out_r, F_SETFL, O_NONBLOCK);
	if (c.err_r >= 0)
		fcntl(c.err_r, F_SETFL, O_NONBLOCK);
	fcntl(c.status_r, F_SETFL, O_NONBLOCK);

	jail_sink_init(&out, &r->out, cap);
	jail_sink_init(&err, &r->err, cap);
	if (run_loop(&c, s, r, &out, &err) < 0) {
		ferr_set(e, FERR_IO, "jail: poll: %s", strerror(errno));
		kill_all(&c);
		if (c.pid > 0)
			syscall(SYS_waitid, P_PID, c.pid, NULL, WEXITED | __WALL, NULL);
		jail_sink_finish(&out);
		jail_sink_finish(&err);
		goto out;
	}
	/* Nothing of the call may outlive it: without a PID namespace, the
	 * command's group and its cgroup are swept once more. */
	if (!(c.plan.layers & JAIL_LAYER_PID)) {
		kill(-c.pgid, SIGKILL);
		if (c.cg.version)
			jail_cgroup_kill(&c.cg);
	}
	if (c.cg.version)
		jail_cgroup_events(&c.cg, &r->oom_killed, &r->procs_limited);

	for (i = 0; i + sizeof(struct jail_rec) <= c.status.len; i += sizeof(struct jail_rec)) {
		struct jail_rec rec;

		memcpy(&rec, c.status.data + i, sizeof rec);
		rec.msg[sizeof rec.msg - 1] = '\0';
		if (rec.kind == JAIL_REC_SETUP) {
			ferr_set(e, FERR_DENIED, "jail: cannot set up %s: %s: %s",
				 rec.layer ? jail_layer_name((unsigned)rec.layer) : "the command",
				 rec.msg, strerror(rec.code));
			jail_sink_finish(&out);
			jail_sink_finish(&err);
			jail_result_release(r);
			goto out;
		} else if (rec.kind == JAIL_REC_EXEC) {
			struct buf line = BUF_INIT;

			r->exec_errno = rec.code;
			buf_printf(&line, "forja: cannot execute %s: %s\n", rec.msg,
				   strerror(rec.code));
			jail_emit(s, s->merge_stderr ? &out : &err, s->merge_stderr ? 1 : 2, line.data,
			     line.len);
			buf_release(&line);
		} else if (rec.kind == JAIL_REC_WAIT) {
			decode_status(r, rec.code);
		}
	}
	jail_sink_finish(&out);
	jail_sink_finish(&err);
	r->layers = c.plan.layers;
	r->layers_missing = jail_needed_layers(s) & ~c.plan.layers;
	r->landlock_abi = (c.plan.layers & JAIL_LAYER_LANDLOCK) ? caps->landlock_abi : 0;
	rc = 0;
out:
	close_fd(&pout[0]);
	close_fd(&pout[1]);
	close_fd(&perr[0]);
	close_fd(&perr[1]);
	close_fd(&pstat[0]);
	close_fd(&pstat[1]);
	close_fd(&c.out_r);
	close_fd(&c.err_r);
	close_fd(&c.status_r);
	close_fd(&c.pidfd);
	close_fd(&c.plan.null_fd);
	buf_release(&c.status);
	jail_disks_release(&c.disks);
	if (c.cg.version)
		jail_cgroup_destroy(&c.cg);
	if (lockfd >= 0) {
		if (guards || (c.plan.layers & JAIL_LAYER_MOUNT))
			unguard(lockfd);
		close(lockfd);
	}
	plan_free(&c.plan);
	for (i = 0; i < npriv; i++)
		free(private_rw[i]);
	list_free(pl.ro_extra, pl.nro_extra);
	list_free(pl.rw_list, pl.nrw);
	list_free(pl.git_inside, pl.ngit);
	free(pl.ws);
	free(home);
	if (caps == &probed)
		jail_caps_release(&probed);
	return rc;
}

/* ---- probe ------------------------------------------------------------------------ */

/* A trial jail with the given layers: 0, or the layer bit that failed
 * (JAIL_LAYER_MOUNT when clone itself was refused), reason in why. */
static unsigned trial(const struct jail_caps *caps, unsigned layers, char *why, size_t cap)
{
	struct call c;
	struct planner pl;
	int pstat[2];
	unsigned failed = 0;
	siginfo_t si;
	size_t i;

	memset(&c, 0, sizeof c);
	memset(&pl, 0, sizeof pl);
	pl.p = &c.plan;
	c.pidfd = c.out_r = c.err_r = c.status_r = -1;
	c.cg.procs_fd[0] = c.cg.procs_fd[1] = c.cg.dir_fd = -1;
	c.plan.layers = layers;
	c.plan.cg_procs_fd[0] = c.plan.cg_procs_fd[1] = -1;
	c.plan.err_fd = -1;
	c.plan.netns_fd = -1;
	for (i = 0; i < JAIL_NDEV; i++)
		c.plan.dev_fd[i] = -1;
	*why = '\0';
	if (layers & JAIL_LAYER_MOUNT) {
		c.plan.clone_flags = CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS;
		if (layers & JAIL_LAYER_PID)
			c.plan.clone_flags |= CLONE_NEWPID;
		if ((layers & JAIL_LAYER_NET) && caps->netns_fd >= 0)
			c.plan.netns_fd = caps->netns_fd;
		else if (layers & JAIL_LAYER_NET)
			c.plan.clone_flags |= CLONE_NEWNET;
		if (!caps->is_root) {
			c.plan.userns = true;
			c.plan.clone_flags |= CLONE_NEWUSER;
			snprintf(c.plan.uid_map, sizeof c.plan.uid_map, "%u %u 1\n",
				 (unsigned)geteuid(), (unsigned)geteuid());
			snprintf(c.plan.gid_map, sizeof c.plan.gid_map, "%u %u 1\n",
				 (unsigned)getegid(), (unsigned)getegid());
		}
		add_op(&pl, JAIL_OP_TMPFS, "/tmp", "mode=1777", false);
		add_op(&pl, JAIL_OP_DEV, "/dev", NULL, false);
		add_op(&pl, JAIL_OP_BIND_RO, "/etc", NULL, false);
		snprintf(c.plan.tmpfs_size, sizeof c.plan.tmpfs_size, ",size=1048576");
	}
	if (layers & JAIL_LAYER_LANDLOCK)
		jail_landlock_plan(&c.plan, caps->landlock_abi, false,
				   (layers & JAIL_LAYER_MOUNT) != 0, "/tmp", NULL, NULL, NULL);
	if (layers & JAIL_LAYER_SECCOMP) {
		c.plan.filter = xcalloc(JAIL_SECCOMP_MAX, sizeof *c.plan.filter);
		c.plan.filter_len =
			(unsigned short)jail_seccomp_build(false, c.plan.filter, JAIL_SECCOMP_MAX);
	}
	c.plan.envp = xcalloc(1, sizeof *c.plan.envp);
	c.plan.path_var = "/usr/bin";
	if (pipe2(pstat, O_CLOEXEC) < 0) {
		snprintf(why, cap, "pipe: %s", strerror(errno));
		plan_free(&c.plan);
		return JAIL_LAYER_MOUNT;
	}
	c.plan.status_fd = pstat[1];
	c.plan.null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	c.plan.out_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (spawn(&c, NULL) < 0) {
		snprintf(why, cap, "clone: %s", strerror(errno));
		failed = (layers & JAIL_LAYER_NET) ? JAIL_LAYER_NET : JAIL_LAYER_MOUNT;
	} else {
		struct jail_rec rec;
		ssize_t n;

		close(pstat[1]);
		pstat[1] = -1;
		while ((n = read(pstat[0], &rec, sizeof rec)) == (ssize_t)sizeof rec) {
			if (rec.kind == JAIL_REC_SETUP && !failed) {
				rec.msg[sizeof rec.msg - 1] = '\0';
				snprintf(why, cap, "%s: %s", rec.msg, strerror(rec.code));
				failed = rec.layer ? (unsigned)rec.layer : ~0u;
			}
		}
		memset(&si, 0, sizeof si);
		syscall(SYS_waitid, P_PID, c.pid, &si, WEXITED | __WALL, NULL);
		if (!failed && (si.si_code != CLD_EXITED || si.si_status != 0)) {
			snprintf(why, cap, "the trial jail died (status %d)", si.si_status);
			failed = JAIL_LAYER_MOUNT;
		}
	}
	if (pstat[1] >= 0)
		close(pstat[1]);
	close(pstat[0]);
	close_fd(&c.pidfd);
	close_fd(&c.plan.null_fd);
	close_fd(&c.plan.out_fd);
	plan_free(&c.plan);
	return failed;
}

/* An empty network namespace held by an fd: a child unshares into it and
 * waits until we have opened it.  -1 when that fails. */
static int make_netns(void)
{
	char path[64];
	int go[2], fd = -1;
	long pid;

	if (pipe2(go, O_CLOEXEC) < 0)
		return -1;
	pid = syscall(SYS_clone, (unsigned long)(CLONE_NEWNET | SIGCHLD), 0, 0, 0, 0);
	if (pid == 0) {
		char c;

		close(go[1]);
		(void)!read(go[0], &c, 1);
		_exit(0);
	}
	close(go[0]);
	if (pid > 0) {
		snprintf(path, sizeof path, "/proc/%ld/ns/net", pid);
		fd = open(path, O_RDONLY | O_CLOEXEC);
	}
	close(go[1]);
	if (pid > 0)
		waitpid((pid_t)pid, NULL, 0);
	return fd;
}

void jail_caps_release(struct jail_caps *caps)
{
	if (caps->netns_fd >= 0)
		close(caps->netns_fd);
	caps->netns_fd = -1;
}

int jail_probe(struct jail_caps *caps)
{
	struct buf why = BUF_INIT;
	unsigned want, failed;
	char reason[512];
	int tries;

	memset(caps, 0, sizeof *caps);
	caps->netns_fd = -1;
	caps->is_root = geteuid() == 0;
	if (caps->is_root)
		caps->netns_fd = make_netns();
	caps->landlock_abi = jail_landlock_abi();
	want = JAIL_LAYER_MOUNT | JAIL_LAYER_PID | JAIL_LAYER_NET;
	if (caps->landlock_abi > 0)
		want |= JAIL_LAYER_LANDLOCK;
	else
		buf_puts(&why, "landlock: not available in this kernel (or disabled)\n");
	if (jail_seccomp_available())
		want |= JAIL_LAYER_SECCOMP;
	else
		buf_puts(&why, "seccomp: no seccomp filters here, or no program for this "
			       "architecture\n");

	/* Try, and drop what fails, until a trial passes. */
	for (tries = 0; tries < 6 && want; tries++) {
		failed = trial(caps, want, reason, sizeof reason);
		if (!failed)
			break;
		if (failed == ~0u) {
			/* a step every jail needs (session, capabilities) */
			buf_printf(&why, "jail: %s\n", reason);
			want = 0;
			break;
		}
		if (failed == JAIL_LAYER_NET && caps->netns_fd >= 0) {
			/* joining the shared one failed: try one per call */
			close(caps->netns_fd);
			caps->netns_fd = -1;
		} else if (failed == JAIL_LAYER_NET) {
			buf_printf(&why, "net: %s\n", reason);
			want &= ~JAIL_LAYER_NET;
		} else if (failed == JAIL_LAYER_PID) {
			buf_printf(&why, "pid: %s\n", reason);
			want &= ~JAIL_LAYER_PID;
		} else if (failed & (JAIL_LAYER_MOUNT | JAIL_LAYER_PROCS | JAIL_LAYER_MEMORY)) {
			if (want & JAIL_LAYER_MOUNT)
				buf_printf(&why, "mount, pid, net: %s%s\n", reason,
					   caps->is_root ? ""
							 : " (user namespaces blocked?)");
			want &= ~(JAIL_LAYER_MOUNT | JAIL_LAYER_PID | JAIL_LAYER_NET);
		} else {
			buf_printf(&why, "%s: %s\n", jail_layer_name(failed), reason);
			want &= ~failed;
		}
	}
	if (tries == 6)
		want = 0;
	if (!(want & JAIL_LAYER_NET) && caps->netns_fd >= 0) {
		close(caps->netns_fd);
		caps->netns_fd = -1;
	}
	caps->layers = want;
	caps->userns = !caps->is_root && (want & JAIL_LAYER_MOUNT);

	jail_cgroup_probe(caps, &why);
	if (caps->cgroup_version == 2 || caps->cgroup_pids[0]) {
		caps->layers |= JAIL_LAYER_PROCS;
	} else if (caps->userns && kernel_at_least(5, 14)) {
		caps->layers |= JAIL_LAYER_PROCS;
		caps->procs_by_rlimit = true;
	} else {
		buf_printf(&why, "procs: no writable pids cgroup%s\n",
			   caps->is_root ? " (RLIMIT_NPROC does nothing for root)" : "");
	}
	if (caps->cgroup_version == 2 || caps->cgroup_memory[0])
		caps->layers |= JAIL_LAYER_MEMORY;
	else
		buf_puts(&why, "memory: no writable memory cgroup\n");
	if ((caps->layers & JAIL_LAYER_PID) || caps->cgroup_version)
		caps->layers |= JAIL_LAYER_CLEANUP;
	else
		buf_puts(&why, "cleanup: neither a PID namespace nor a cgroup\n");
	if (caps->layers & JAIL_LAYER_MOUNT)
		caps->layers |= JAIL_LAYER_GITSCAN;
	else
		buf_puts(&why, "gitscan: .git can only be protected with a mount namespace\n");
	snprintf(caps->why, sizeof caps->why, "%s", buf_cstr(&why));
	buf_release(&why);
	return 0;
}

#else
/* ISO C wants a declaration in every translation unit. */
typedef int jail_main_is_linux_only;
#endif /* __linux__ */

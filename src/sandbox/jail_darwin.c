/*
 * jail_darwin.c — the macOS half of include/forja/jail.h: the command runs
 * under /usr/bin/sandbox-exec with the Seatbelt profile seatbelt_profile()
 * generates (include/forja/seatbelt.h), in a session and process group of
 * its own, with the same pipes, output caps, timeout, cancel_fd, disk
 * watermark and environment scrub as on Linux.  Only POSIX and what macOS
 * documents (kqueue EVFILT_PROC for the child's exit) are used.
 */
#ifdef __APPLE__

#include "jail_common.h"

#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/event.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "forja/seatbelt.h"

/* Never one found on PATH: a planted sandbox-exec would run unconfined. */
#define SANDBOX_EXEC "/usr/bin/sandbox-exec"

/* What the Seatbelt profile stands for, in the Linux layers' terms: the
 * file rules (MOUNT and LANDLOCK), .git and .forja at any depth by regex
 * (GITSCAN), no network (NET), and its (deny default) over everything not
 * listed, task ports and other processes included (SECCOMP). */
#define DARWIN_SEATBELT_LAYERS (JAIL_LAYER_MOUNT | JAIL_LAYER_LANDLOCK | JAIL_LAYER_GITSCAN | \
				JAIL_LAYER_NET | JAIL_LAYER_SECCOMP)

/* Highest descriptor the child closes before execve (macOS has no
 * close_range). */
#define DARWIN_MAX_FD 65536

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static int cloexec_pipe(int p[2])
{
	if (pipe(p) < 0)
		return -1;
	fcntl(p[0], F_SETFD, FD_CLOEXEC);
	fcntl(p[1], F_SETFD, FD_CLOEXEC);
	return 0;
}

/* ---- probe ----------------------------------------------------------------------- */

/* Run sandbox-exec with a tiny profile and /usr/bin/true: 0 when it works,
 * else an errno-like reason in why. */
static int trial(char *why, size_t cap)
{
	static const char profile[] =
		"(version 1)(deny default)(allow process-exec)(allow process-fork)"
		"(allow file-read*)(allow sysctl-read)";
	pid_t pid;
	int st = 0;

	if (access(SANDBOX_EXEC, X_OK) < 0) {
		snprintf(why, cap, "%s: %s", SANDBOX_EXEC, strerror(errno));
		return -1;
	}
	pid = fork();
	if (pid < 0) {
		snprintf(why, cap, "fork: %s", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);

		if (null >= 0) {
			dup2(null, 0);
			dup2(null, 1);
			dup2(null, 2);
		}
		execl(SANDBOX_EXEC, "sandbox-exec", "-p", profile, "--", "/usr/bin/true",
		      (char *)NULL);
		_exit(127);
	}
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		snprintf(why, cap, "a trial sandbox-exec failed (status %d)", st);
		return -1;
	}
	return 0;
}

int jail_probe(struct jail_caps *caps)
{
	struct buf why = BUF_INIT;
	char reason[512];

	memset(caps, 0, sizeof *caps);
	caps->netns_fd = -1;
	caps->is_root = geteuid() == 0;
	if (trial(reason, sizeof reason) == 0) {
		caps->layers = DARWIN_SEATBELT_LAYERS;
	} else {
		buf_printf(&why, "mount, net, landlock, seccomp, gitscan: %s\n", reason);
	}
	buf_puts(&why, "pid: macOS has no PID namespace: Seatbelt keeps other processes out of "
		       "reach, but a process that leaves the command's group can outlive the call\n");
	buf_puts(&why, "cleanup: only the command's process group is killed (setsid or a daemon "
		       "escapes it)\n");
	buf_puts(&why, "procs: RLIMIT_NPROC counts every process of the user on macOS, not the "
		       "call's\n");
	buf_puts(&why, "memory: no memory limit on macOS (no cgroups; RLIMIT_AS is not enforced)\n");
	snprintf(caps->why, sizeof caps->why, "%s", buf_cstr(&why));
	buf_release(&why);
	return 0;
}

void jail_caps_release(struct jail_caps *caps)
{
	caps->netns_fd = -1;
}

/* ---- helpers -------------------------------------------------------------------- */

static bool is_under(const char *path, const char *dir)
{
	size_t dl = strlen(dir);

	return strncmp(path, dir, dl) == 0 && (path[dl] == '/' || path[dl] == '\0');
}

/* The command's path: argv0 when it holds a '/', else the first executable
 * file of that name in path_var.  NULL with *err set when there is none. */
static char *find_command(const char *argv0, const char *path_var, int *err)
{
	const char *p = path_var;

	*err = ENOENT;
	if (strchr(argv0, '/')) {
		if (access(argv0, X_OK) == 0)
			return xstrdup(argv0);
		*err = errno;
		return NULL;
	}
	while (*p) {
		size_t n = strcspn(p, ":");
		struct buf b = BUF_INIT;
		struct stat st;

		if (n)
			buf_add(&b, p, n);
		else
			buf_putc(&b, '.');
		buf_printf(&b, "/%s", argv0);
		if (stat(b.data, &st) == 0 && S_ISREG(st.st_mode)) {
			if (access(b.data, X_OK) == 0)
				return buf_steal(&b);
			*err = EACCES;
		}
		buf_release(&b);
		p += n;
		p += *p == ':';
	}
	return NULL;
}

/* Remove the tree under dfd's directory entry name (the private temp dir),
 * without following symbolic links. */
static void remove_tree(int dfd, const char *name, int depth)
{
	int fd;
	DIR *d;
	struct dirent *de;

	if (unlinkat(dfd, name, 0) == 0 || errno == ENOENT || depth > 64)
		return;
	fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return;
	}
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			remove_tree(dirfd(d), de->d_name, depth + 1);
	closedir(d);
	unlinkat(dfd, name, AT_REMOVEDIR);
}

/* ---- the child ------------------------------------------------------------------ */

/* Everything the child needs, prepared before fork: after fork in a
 * multithreaded process only async-signal-safe calls are allowed. */
struct darwin_plan {
	const char *exec_path;
	char **argv;
	char **envp;
	const char *cwd;
	int null_fd, out_fd, err_fd, status_fd;
	uint64_t fsize;
	int max_fd;
};

static _Noreturn void child_main(const struct darwin_plan *p)
{
	struct rlimit rl;
	sigset_t none;
	int sig, fd, err;

	/* no controlling terminal (no TIOCSTI into the user's), and a group
	 * of its own that killpg reaches */
	setsid();
	for (sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			signal(sig, SIG_DFL);
	signal(SIGXFSZ, SIG_IGN); /* a write past max_file_bytes fails with EFBIG */
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (dup2(p->null_fd, 0) < 0 || dup2(p->out_fd, 1) < 0 || dup2(p->err_fd, 2) < 0)
		goto fail;
	for (fd = 3; fd < p->max_fd; fd++)
		if (fd != p->status_fd)
			close(fd);
	rl.rlim_cur = rl.rlim_max = 0;
	setrlimit(RLIMIT_CORE, &rl);
	if (p->fsize) {
		rl.rlim_cur = rl.rlim_max = (rlim_t)p->fsize;
		if (setrlimit(RLIMIT_FSIZE, &rl) < 0)
			goto fail;
	}
	if (chdir(p->cwd) < 0)
		goto fail;
	execve(p->exec_path, p->argv, p->envp);
fail:
	err = errno;
	(void)!write(p->status_fd, &err, sizeof err);
	_exit(127);
}

/* ---- the call ------------------------------------------------------------------- */

struct darwin_call {
	pid_t pid;              /* also the group id (setsid); 0 once reaped */
	int out_r, err_r, status_r, kq;
	bool killed, exited;
	int wait_status;
	struct rusage ru;
	struct jail_disks disks;
};

static void kill_all(struct darwin_call *c)
{
	if (c->pid > 0) {
		kill(-c->pid, SIGKILL);
		kill(c->pid, SIGKILL); /* before its setsid(), the group is still ours */
	}
	c->killed = true;
}

static void reap(struct darwin_call *c)
{
	pid_t got;

	do
		got = wait4(c->pid, &c->wait_status, 0, &c->ru);
	while (got < 0 && errno == EINTR);
	kill(-c->pid, SIGKILL); /* the command is gone: so is its group */
	c->exited = true;
	c->pid = 0;
}

static void watch_fd(int kq, int fd)
{
	struct kevent ev;

	EV_SET(&ev, (uintptr_t)fd, EVFILT_READ, EV_ADD, 0, 0, NULL);
	kevent(kq, &ev, 1, NULL, 0, NULL);
}

/* Read what fd has; false at end of file. */
static bool drain(const struct jail_spec *s, int fd, struct jail_sink *k, int stream)
{
	char chunk[65536];
	ssize_t n = read(fd, chunk, sizeof chunk);

	if (n > 0) {
		jail_emit(s, k, stream, chunk, (size_t)n);
		return true;
	}
	return n < 0 && (errno == EINTR || errno == EAGAIN);
}

static int run_loop(struct darwin_call *c, const struct jail_spec *s, struct jail_result *r,
		    struct jail_sink *out, struct jail_sink *err)
{
	long long start = jail_now_ms(), deadline = s->timeout_ms > 0 ? start + s->timeout_ms : 0;
	long long drain_until = 0;
	uint64_t cap = s->max_output_bytes ? s->max_output_bytes : JAIL_DEFAULT_OUTPUT;
	uint64_t kill_at = cap > UINT64_MAX / JAIL_OUTPUT_KILL_RATIO ? UINT64_MAX
								     : cap * JAIL_OUTPUT_KILL_RATIO;
	struct kevent ev;

	c->disks.next_ms = start + JAIL_DISK_CHECK_MS;
	watch_fd(c->kq, c->out_r);
	if (c->err_r >= 0)
		watch_fd(c->kq, c->err_r);
	if (s->cancel_fd >= 0)
		watch_fd(c->kq, s->cancel_fd);
	EV_SET(&ev, (uintptr_t)c->pid, EVFILT_PROC, EV_ADD, NOTE_EXIT, 0, NULL);
	if (kevent(c->kq, &ev, 1, NULL, 0, NULL) < 0) {
		if (errno != ESRCH)
			return -1;
		reap(c); /* it exited before we could watch it */
		drain_until = jail_now_ms() + JAIL_DRAIN_MS;
	}
	for (;;) {
		struct kevent evs[8];
		struct timespec ts, *tsp = NULL;
		long long now = jail_now_ms(), wait_ms = -1;
		int n, i;

		if (c->exited && c->out_r < 0 && c->err_r < 0)
			break;
		if (deadline && !c->killed)
			wait_ms = deadline > now ? deadline - now : 0;
		if (c->exited) {
			long long d = drain_until > now ? drain_until - now : 0;

			wait_ms = wait_ms < 0 || d < wait_ms ? d : wait_ms;
		}
		if (c->disks.n && !c->killed && !c->exited) {
			long long d = c->disks.next_ms > now ? c->disks.next_ms - now : 0;

			wait_ms = wait_ms < 0 || d < wait_ms ? d : wait_ms;
		}
		if (wait_ms >= 0) {
			ts.tv_sec = (time_t)(wait_ms / 1000);
			ts.tv_nsec = (long)(wait_ms % 1000) * 1000000;
			tsp = &ts;
		}
		n = kevent(c->kq, NULL, 0, evs, 8, tsp);
		if (n < 0 && errno != EINTR)
			return -1;
		for (i = 0; i < n; i++) {
			int fd = (int)evs[i].ident;

			if (evs[i].filter == EVFILT_PROC) {
				if (c->pid > 0) {
					reap(c);
					drain_until = jail_now_ms() + JAIL_DRAIN_MS;
				}
			} else if (evs[i].filter != EVFILT_READ) {
				continue;
			} else if (fd == c->out_r && c->out_r >= 0) {
				if (!drain(s, fd, out, 1))
					close_fd(&c->out_r); /* closing removes it from kq */
			} else if (fd == c->err_r && c->err_r >= 0) {
				if (!drain(s, fd, err, 2))
					close_fd(&c->err_r);
			} else if (fd == s->cancel_fd) {
				/* once is enough: it stays readable */
				EV_SET(&ev, (uintptr_t)fd, EVFILT_READ, EV_DELETE, 0, 0, NULL);
				kevent(c->kq, &ev, 1, NULL, 0, NULL);
				if (!c->killed && !c->exited) {
					r->cancelled = true;
					kill_all(c);
				}
			}
		}
		now = jail_now_ms();
		if (!c->killed && !c->exited && deadline && now >= deadline) {
			r->timed_out = true;
			kill_all(c);
		}
		if (!c->killed && !c->exited &&
		    (out->o->total > kill_at || err->o->total > kill_at)) {
			r->output_killed = true;
			kill_all(c);
		}
		if (c->disks.n && !c->killed && !c->exited && now >= c->disks.next_ms) {
			const struct jail_disk *d = jail_disks_check(&c->disks, now);

			if (d) {
				r->disk_killed = true;
				r->disk_path = xstrdup(d->path);
				r->disk_watermark = d->min_free;
				kill_all(c);
			}
		}
		if (c->exited && now >= drain_until) {
			close_fd(&c->out_r);
			close_fd(&c->err_r);
		}
	}
	r->elapsed_ms = (long)(jail_now_ms() - start);
	r->user_ms = (long)(c->ru.ru_utime.tv_sec * 1000 + c->ru.ru_utime.tv_usec / 1000);
	r->sys_ms = (long)(c->ru.ru_stime.tv_sec * 1000 + c->ru.ru_stime.tv_usec / 1000);
	if (WIFEXITED(c->wait_status)) {
		r->exit_code = WEXITSTATUS(c->wait_status);
	} else {
		r->exit_code = -1;
		r->signal = WIFSIGNALED(c->wait_status) ? WTERMSIG(c->wait_status) : 0;
	}
	return 0;
}

/* The command's environment: the scrubbed spec env, TMPDIR the private
 * temp dir. */
static char **make_env(const struct jail_spec *s, const char *tmp, const char **path_var,
		       unsigned *dropped)
{
	char **envp = jail_env_build(s->env, path_var, dropped), **res;
	size_t n = 0, i, k = 0;
	struct buf b = BUF_INIT;

	while (envp[n])
		n++;
	res = xcalloc(n + 2, sizeof *res);
	for (i = 0; i < n; i++) {
		if (strncmp(envp[i], "TMPDIR=", 7) == 0)
			free(envp[i]);
		else
			res[k++] = envp[i];
	}
	buf_printf(&b, "TMPDIR=%s/", tmp);
	res[k++] = buf_steal(&b);
	res[k] = NULL;
	free(envp); /* its strings moved to res, *path_var's among them */
	return res;
}

int jail_run(const struct jail_spec *s, struct jail_result *r, struct ferr *e)
{
	struct jail_caps probed;
	const struct jail_caps *caps = s->caps;
	struct jail_spec resolved;
	struct darwin_call c;
	struct darwin_plan plan;
	struct jail_sink out, err;
	struct buf profile = BUF_INIT, tmpl = BUF_INIT, param = BUF_INIT;
	char *ws = NULL, *cwd = NULL, *tmp = NULL, *exec_path = NULL, **envp = NULL;
	char **argv = NULL;
	const char *path_var = NULL, *tmpbase;
	int pout[2] = { -1, -1 }, perr[2] = { -1, -1 }, pstat[2] = { -1, -1 };
	int rc = -1, exec_err = 0, tmp_dirfd = -1;
	unsigned need, have, missing;
	uint64_t cap = s->max_output_bytes ? s->max_output_bytes : JAIL_DEFAULT_OUTPUT;
	size_t argc = 0, i, k;
	struct stat st;
	struct rlimit rl;
	bool sandboxed;

	memset(r, 0, sizeof *r);
	memset(&c, 0, sizeof c);
	memset(&plan, 0, sizeof plan);
	c.out_r = c.err_r = c.status_r = c.kq = -1;
	plan.null_fd = -1;
	if (!s->argv || !s->argv[0])
		return ferr_set(e, FERR_USAGE, "jail: no command");
	if (!s->workspace || s->workspace[0] != '/')
		return ferr_set(e, FERR_USAGE, "jail: the workspace must be an absolute path");
	if (!caps) {
		jail_probe(&probed);
		caps = &probed;
	}
	need = jail_needed_layers(s);
	have = caps->layers;
	missing = need & ~have;
	if (missing & ~s->allow_missing)
		return jail_refuse_missing(missing & ~s->allow_missing, caps, e);
	sandboxed = (have & JAIL_LAYER_MOUNT) != 0;

	ws = realpath(s->workspace, NULL);
	if (!ws || stat(ws, &st) < 0 || !S_ISDIR(st.st_mode)) {
		ferr_set(e, FERR_USAGE, "jail: workspace %s: %s", s->workspace,
			 ws ? "not a directory" : strerror(errno));
		goto out;
	}
	cwd = realpath(s->cwd ? s->cwd : ws, NULL);
	if (!cwd || !is_under(cwd, ws)) {
		ferr_set(e, FERR_USAGE, "jail: cwd %s is not inside the workspace %s",
			 s->cwd ? s->cwd : "(none)", ws);
		goto out;
	}

	/* the private temp dir, removed after the call */
	tmpbase = getenv("TMPDIR");
	if (!tmpbase || tmpbase[0] != '/')
		tmpbase = "/private/tmp";
	buf_printf(&tmpl, "%s/forja-jail-XXXXXX", tmpbase);
	if (!mkdtemp(tmpl.data) || !(tmp = realpath(tmpl.data, NULL))) {
		ferr_set(e, FERR_IO, "jail: private temp dir under %s: %s", tmpbase,
			 strerror(errno));
		goto out;
	}

	resolved = *s;
	resolved.workspace = ws;
	if (sandboxed && seatbelt_profile(&resolved, &profile, e) < 0)
		goto out;
	envp = make_env(s, tmp, &path_var, &r->env_dropped);
	for (i = 0; envp[i]; i++)
		if (strncmp(envp[i], "PATH=", 5) == 0)
			path_var = envp[i] + 5;
	if (!path_var)
		path_var = "/usr/local/bin:/usr/bin:/bin";

	if (cloexec_pipe(pout) < 0 || (!s->merge_stderr && cloexec_pipe(perr) < 0) ||
	    cloexec_pipe(pstat) < 0) {
		ferr_set(e, FERR_IO, "jail: pipe: %s", strerror(errno));
		goto out;
	}
	jail_sink_init(&out, &r->out, cap);
	jail_sink_init(&err, &r->err, cap);

	exec_path = find_command(s->argv[0], path_var, &exec_err);
	if (!exec_path) {
		/* as on Linux: a command that cannot be executed is a run */
		struct buf line = BUF_INIT;

		buf_printf(&line, "forja: cannot execute %s: %s\n", s->argv[0], strerror(exec_err));
		jail_emit(s, s->merge_stderr ? &out : &err, s->merge_stderr ? 1 : 2, line.data,
			  line.len);
		buf_release(&line);
		r->exit_code = 127;
		r->exec_errno = exec_err;
		goto finish;
	}

	while (s->argv[argc])
		argc++;
	argv = xcalloc(argc + 8, sizeof *argv);
	k = 0;
	if (sandboxed) {
		buf_printf(&param, "%s=%s", SEATBELT_TMPDIR_PARAM, tmp);
		argv[k++] = "sandbox-exec";
		argv[k++] = "-D";
		argv[k++] = param.data;
		argv[k++] = "-p";
		argv[k++] = profile.data;
		argv[k++] = "--";
		argv[k++] = exec_path;
		plan.exec_path = SANDBOX_EXEC;
	} else {
		argv[k++] = (char *)s->argv[0];
		plan.exec_path = exec_path;
	}
	for (i = 1; i < argc; i++)
		argv[k++] = (char *)s->argv[i];
	argv[k] = NULL;

	plan.argv = argv;
	plan.envp = envp;
	plan.cwd = cwd;
	plan.null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	plan.out_fd = pout[1];
	plan.err_fd = s->merge_stderr ? pout[1] : perr[1];
	plan.status_fd = pstat[1];
	plan.fsize = s->max_file_bytes;
	plan.max_fd = DARWIN_MAX_FD;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
	    rl.rlim_cur < DARWIN_MAX_FD)
		plan.max_fd = (int)rl.rlim_cur;
	if (plan.null_fd < 0) {
		ferr_set(e, FERR_IO, "jail: /dev/null: %s", strerror(errno));
		goto out;
	}
	c.kq = kqueue();
	if (c.kq < 0) {
		ferr_set(e, FERR_IO, "jail: kqueue: %s", strerror(errno));
		goto out;
	}
	if (s->disk_min_free != UINT64_MAX) {
		jail_disks_add(&c.disks, s, ws);
		for (i = 0; s->rw_paths && s->rw_paths[i]; i++)
			jail_disks_add(&c.disks, s, s->rw_paths[i]);
	}

	c.pid = fork();
	if (c.pid < 0) {
		ferr_set(e, FERR_DENIED, "jail: fork: %s", strerror(errno));
		c.pid = 0;
		goto out;
	}
	if (c.pid == 0)
		child_main(&plan);
	close_fd(&pout[1]);
	close_fd(&perr[1]);
	close_fd(&pstat[1]);
	close_fd(&plan.null_fd);
	c.out_r = pout[0];
	c.err_r = perr[0];
	c.status_r = pstat[0];
	pout[0] = perr[0] = pstat[0] = -1;
	fcntl(c.out_r, F_SETFL, O_NONBLOCK);
	if (c.err_r >= 0)
		fcntl(c.err_r, F_SETFL, O_NONBLOCK);

	if (run_loop(&c, s, r, &out, &err) < 0) {
		ferr_set(e, FERR_IO, "jail: kevent: %s", strerror(errno));
		kill_all(&c);
		if (c.pid > 0)
			reap(&c);
		jail_sink_finish(&out);
		jail_sink_finish(&err);
		jail_result_release(r);
		goto out;
	}
	{
		int code = 0;

		/* the status pipe holds an errno only when execve failed */
		if (read(c.status_r, &code, sizeof code) == (ssize_t)sizeof code && code) {
			struct buf line = BUF_INIT;

			r->exec_errno = code;
			r->exit_code = 127;
			buf_printf(&line, "forja: cannot execute %s: %s\n", plan.exec_path,
				   strerror(code));
			jail_emit(s, s->merge_stderr ? &out : &err, s->merge_stderr ? 1 : 2,
				  line.data, line.len);
			buf_release(&line);
		}
	}
finish:
	jail_sink_finish(&out);
	jail_sink_finish(&err);
	r->layers = need & have;
	r->layers_missing = need & ~have;
	r->landlock_abi = 0;
	rc = 0;
out:
	if (c.pid > 0) {
		kill_all(&c);
		reap(&c);
	}
	close_fd(&pout[0]);
	close_fd(&pout[1]);
	close_fd(&perr[0]);
	close_fd(&perr[1]);
	close_fd(&pstat[0]);
	close_fd(&pstat[1]);
	close_fd(&c.out_r);
	close_fd(&c.err_r);
	close_fd(&c.status_r);
	close_fd(&c.kq);
	close_fd(&plan.null_fd);
	jail_disks_release(&c.disks);
	if (tmp) {
		char *slash = strrchr(tmp, '/');

		*slash = '\0';
		tmp_dirfd = open(*tmp ? tmp : "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (tmp_dirfd >= 0) {
			remove_tree(tmp_dirfd, slash + 1, 0);
			close(tmp_dirfd);
		}
	}
	jail_env_free(envp);
	free(argv);
	free(exec_path);
	free(tmp);
	free(cwd);
	free(ws);
	buf_release(&profile);
	buf_release(&tmpl);
	buf_release(&param);
	if (caps == &probed)
		jail_caps_release(&probed);
	return rc;
}

#else
/* ISO C wants a declaration in every translation unit. */
typedef int jail_darwin_is_macos_only;
#endif /* __APPLE__ */

/*
 * jail: unit tests of the process jail (TAP), judged by effects: output,
 * exit status, files on disk, processes left over.  Run as root and as an
 * unprivileged user (setpriv --reuid=65534 ...); each run prints the layers
 * this machine gives it and the spawn overhead as "#" lines.
 *
 * The same binary serves the escape suite (tests/e2e/sandbox/run.sh):
 *   test_jail probe                      print jail_probe() as key=value
 *   test_jail run [options] -- argv...   one jail_run(), the command's output
 *                                        on stdout/stderr, a summary in
 *                                        --result FILE (else on stderr)
 *   test_jail attack NAME [args]         inside a jail: one attack a shell
 *                                        cannot express (a raw system call),
 *                                        printing "NAME blocked ..." (exit 0)
 *                                        or "NAME ESCAPED ..." (exit 1)
 */
#ifdef __linux__
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <linux/seccomp.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include "forja/buf.h"
#include "forja/ferr.h"
#include "forja/jail.h"
#include "../../src/sandbox/jail_int.h"
#include "tap.h"

extern char **environ;

static struct jail_caps caps;
static char scratch[PATH_MAX / 2], ws[PATH_MAX];
static const char *const base_env[] = { "PATH=/usr/local/bin:/usr/bin:/bin", "LANG=C", NULL };

/* ---- helpers ------------------------------------------------------------------ */

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "test_jail: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	exit(2);
}

static void sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void sh(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof cmd, fmt, ap);
	va_end(ap);
	if (system(cmd) != 0)
		die("setup command failed: %s", cmd);
}

static const char *loadavg(void)
{
	static char la[32];
	int fd = open("/proc/loadavg", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, la, sizeof la - 1) : -1;

	if (fd >= 0)
		close(fd);
	la[n > 0 ? n : 0] = '\0';
	la[strcspn(la, " ")] = '\0';
	return la;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void spec_init(struct jail_spec *s, const char *const *argv)
{
	memset(s, 0, sizeof *s);
	s->argv = argv;
	s->workspace = ws;
	s->env = base_env;
	s->timeout_ms = 20000;
	s->cancel_fd = -1;
	s->caps = &caps;
}

/* Run argv (a shell script when argv[0] is "-c") in the default jail. */
static int run_sh(struct jail_spec *s, const char *script, struct jail_result *r,
		  struct ferr *e)
{
	const char *argv[4] = { "/bin/sh", "-c", script, NULL };
	int rc;

	s->argv = argv;
	rc = jail_run(s, r, e);
	s->argv = NULL;
	return rc;
}

static bool file_has(const char *path, const char *needle)
{
	char data[8192];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return false;
	n = read(fd, data, sizeof data - 1);
	close(fd);
	if (n < 0)
		return false;
	data[n] = '\0';
	return strstr(data, needle) != NULL;
}

/* Whether any process's command line contains marker. */
static bool process_with(const char *marker)
{
	char cmd[512];

	snprintf(cmd, sizeof cmd,
		 "{ for f in /proc/[0-9]*/cmdline; do tr '\\0' ' ' < $f; echo; done; } 2>/dev/null"
		 " | grep -v grep | grep -q -- '%s'", marker);
	return system(cmd) == 0;
}

/* ---- CLI: run ------------------------------------------------------------------ */

#define MAXL 64

static int cli_run(int argc, char **argv)
{
	const char *ro[MAXL + 1] = { 0 }, *rw[MAXL + 1] = { 0 }, *hide[MAXL + 1] = { 0 };
	const char *prot[MAXL + 1] = { 0 }, *env[MAXL + 1] = { 0 };
	int nro = 0, nrw = 0, nhide = 0, nprot = 0, nenv = 0, i, status;
	const char *result_path = NULL;
	struct jail_spec s;
	struct jail_result r;
	struct ferr e = FERR_INIT;
	struct buf sum = BUF_INIT;

	if (jail_probe(&caps) < 0)
		die("probe failed");
	spec_init(&s, NULL);
	s.workspace = NULL;
	s.env = env;
	s.timeout_ms = 0;
	for (i = 2; i < argc && strcmp(argv[i], "--") != 0; i++) {
		const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

#define TAKE() do { if (!v) die("%s needs a value", o); i++; } while (0)
		if (strcmp(o, "--ws") == 0) { TAKE(); s.workspace = v; }
		else if (strcmp(o, "--cwd") == 0) { TAKE(); s.cwd = v; }
		else if (strcmp(o, "--home") == 0) { TAKE(); s.home = v; }
		else if (strcmp(o, "--ro") == 0 && nro < MAXL) { TAKE(); ro[nro++] = v; }
		else if (strcmp(o, "--rw") == 0 && nrw < MAXL) { TAKE(); rw[nrw++] = v; }
		else if (strcmp(o, "--hide") == 0 && nhide < MAXL) { TAKE(); hide[nhide++] = v; }
		else if (strcmp(o, "--protect") == 0 && nprot < MAXL) { TAKE(); prot[nprot++] = v; }
		else if (strcmp(o, "--env") == 0 && nenv < MAXL) { TAKE(); env[nenv++] = v; }
		else if (strcmp(o, "--inherit-env") == 0 && nenv < MAXL) {
			char *val;

			TAKE();
			val = getenv(v);
			if (val) {
				char *kv = xmalloc(strlen(v) + strlen(val) + 2);

				sprintf(kv, "%s=%s", v, val);
				env[nenv++] = kv;
			}
		}
		else if (strcmp(o, "--net") == 0) s.network = true;
		else if (strcmp(o, "--merge") == 0) s.merge_stderr = true;
		else if (strcmp(o, "--allow-git-init") == 0) s.allow_git_init = true;
		else if (strcmp(o, "--no-scan") == 0) s.skip_git_scan = true;
		else if (strcmp(o, "--timeout") == 0) { TAKE(); s.timeout_ms = atol(v); }
		else if (strcmp(o, "--mem") == 0) { TAKE(); s.memory_bytes = strtoull(v, NULL, 10); }
		else if (strcmp(o, "--fsize") == 0) { TAKE(); s.max_file_bytes = strtoull(v, NULL, 10); }
		else if (strcmp(o, "--nproc") == 0) { TAKE(); s.max_processes = atol(v); }
		else if (strcmp(o, "--out-cap") == 0) { TAKE(); s.max_output_bytes = strtoull(v, NULL, 10); }
		else if (strcmp(o, "--disk-min-free") == 0) { TAKE(); s.disk_min_free = strtoull(v, NULL, 10); }
		else if (strcmp(o, "--result") == 0) { TAKE(); result_path = v; }
		else if (strcmp(o, "--allow") == 0) {
			unsigned b;

			TAKE();
			for (b = 1; b < (1u << JAIL_LAYER_COUNT); b <<= 1)
				if (strstr(v, jail_layer_name(b)) || strcmp(v, "all") == 0)
					s.allow_missing |= b;
		}
		else die("unknown option %s", o);
#undef TAKE
	}
	if (i >= argc - 1)
		die("usage: test_jail run [options] -- argv...");
	s.argv = (const char *const *)(argv + i + 1);
	s.ro_paths = ro;
	s.rw_paths = rw;
	s.hide_paths = hide;
	s.protect_paths = prot;
	if (jail_run(&s, &r, &e) < 0) {
		buf_printf(&sum, "error=%s\nmessage=%s\n", ferr_class_name(e.cls), e.msg);
		status = 200;
	} else {
		fwrite(r.out.data.data, 1, r.out.data.len, stdout);
		fwrite(r.err.data.data, 1, r.err.data.len, stderr);
		fflush(stdout);
		buf_printf(&sum, "exit=%d\nsignal=%d\nexec_errno=%d\ntimed_out=%d\ncancelled=%d\n"
			   "output_killed=%d\noom=%d\nprocs_limited=%d\nout_total=%llu\n"
			   "out_kept=%zu\nout_cut=%llu\nerr_total=%llu\nelapsed_ms=%ld\n"
			   "env_dropped=%u\nabi=%d\ndisk_killed=%d\ndisk_watermark=%llu\nlayers=",
			   r.exit_code, r.signal, r.exec_errno, r.timed_out, r.cancelled,
			   r.output_killed, r.oom_killed, r.procs_limited,
			   (unsigned long long)r.out.total, r.out.data.len,
			   (unsigned long long)r.out.cut, (unsigned long long)r.err.total,
			   r.elapsed_ms, r.env_dropped, r.landlock_abi, r.disk_killed,
			   (unsigned long long)r.disk_watermark);
		jail_layers_describe(r.layers, &sum);
		buf_puts(&sum, "\nmissing=");
		jail_layers_describe(r.layers_missing, &sum);
		buf_puts(&sum, "\n");
		status = r.exit_code >= 0 ? r.exit_code : 128 + r.signal;
		jail_result_release(&r);
	}
	if (result_path) {
		FILE *f = fopen(result_path, "w");

		if (!f)
			die("%s: %s", result_path, strerror(errno));
		fputs(sum.data, f);
		fclose(f);
	} else {
		fputs(sum.data, stderr);
	}
	buf_release(&sum);
	return status;
}

static int cli_probe(void)
{
	struct buf b = BUF_INIT;

	jail_probe(&caps);
	jail_layers_describe(caps.layers, &b);
	printf("layers=%s\nroot=%d\nuserns=%d\nlandlock_abi=%d\ncgroup=%d\ncgroup_pids=%s\n"
	       "cgroup_memory=%s\nprocs_by_rlimit=%d\n",
	       b.data ? b.data : "", caps.is_root, caps.userns, caps.landlock_abi,
	       caps.cgroup_version, caps.cgroup_pids, caps.cgroup_memory, caps.procs_by_rlimit);
	printf("why=%s%s", caps.why, caps.why[0] ? "" : "\n");
	buf_release(&b);
	return 0;
}

/* ---- CLI: attack ---------------------------------------------------------------- */

static int verdict(const char *name, long rc, int err, bool want_fail)
{
	if (want_fail ? rc < 0 : rc >= 0) {
		printf("%s blocked (%s)\n", name, rc < 0 ? strerror(err) : "as expected");
		return 0;
	}
	printf("%s ESCAPED (rc=%ld%s%s)\n", name, rc, rc < 0 ? " " : "", rc < 0 ? strerror(err) : "");
	return 1;
}

/* Run fn in a child; "blocked" when the child dies of SIGSYS (seccomp kill). */
static int killed_by_sigsys(const char *name, void (*fn)(void))
{
	int st;
	pid_t pid = fork();

	if (pid == 0) {
		fn();
		_exit(0);
	}
	if (pid < 0 || waitpid(pid, &st, 0) < 0)
		return verdict(name, -1, errno, false);
	if (WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS) {
		printf("%s blocked (killed by SIGSYS)\n", name);
		return 0;
	}
	printf("%s ESCAPED (status %d)\n", name, st);
	return 1;
}

static void x32_getpid(void)
{
	syscall(39 | 0x40000000);
}

#if defined(__x86_64__)
static void i386_int80(void)
{
	long ret;

	/* i386 getpid (20) through the 32-bit entry point */
	__asm__ volatile("int $0x80" : "=a"(ret) : "a"(20L) : "memory");
	(void)ret;
}
#endif

static int attack_tiocsti(bool high_bits)
{
	const char *name = high_bits ? "tiocsti_high_bits" : "tiocsti";
	int st, pfd[2];
	pid_t pid;
	char res[128] = "";

	if (pipe(pfd) < 0)
		return verdict(name, -1, errno, false);
	pid = fork();
	if (pid == 0) {
		int m, sfd;
		char c = 'x';
		long rc;

		setsid();
		m = posix_openpt(O_RDWR | O_NOCTTY);
		if (m < 0 || grantpt(m) < 0 || unlockpt(m) < 0) {
			dprintf(pfd[1], "nopty %d", errno);
			_exit(0);
		}
		sfd = open(ptsname(m), O_RDWR); /* becomes the controlling tty */
		if (sfd < 0) {
			dprintf(pfd[1], "nopty %d", errno);
			_exit(0);
		}
		ioctl(sfd, TIOCSCTTY, 0);
		rc = syscall(SYS_ioctl, sfd,
			     high_bits ? (unsigned long)TIOCSTI | (1UL << 32) : (unsigned long)TIOCSTI,
			     &c);
		dprintf(pfd[1], "%ld %d", rc, rc < 0 ? errno : 0);
		_exit(0);
	}
	close(pfd[1]);
	if (read(pfd[0], res, sizeof res - 1) < 0)
		res[0] = '\0';
	waitpid(pid, &st, 0);
	if (strncmp(res, "nopty", 5) == 0) {
		/* no pty at all in here: nothing to inject into either */
		printf("%s blocked (no pty: %s)\n", name, strerror(atoi(res + 6)));
		return 0;
	}
	return verdict(name, atol(res), atoi(strchr(res, ' ') ? strchr(res, ' ') + 1 : "0"), true);
}

static int attack(int argc, char **argv)
{
	const char *a = argc > 2 ? argv[2] : "";
	const char *arg = argc > 3 ? argv[3] : NULL;
	const char *arg2 = argc > 4 ? argv[4] : NULL;
	long rc;

	errno = 0;
	if (strcmp(a, "ptrace_parent") == 0) {
		rc = ptrace(PTRACE_ATTACH, arg ? atoi(arg) : getppid(), 0, 0);
		return verdict(a, rc, errno, true);
	}
	if (strcmp(a, "ptrace_traceme") == 0) {
		rc = ptrace(PTRACE_TRACEME, 0, 0, 0);
		return verdict(a, rc, errno, true);
	}
	if (strcmp(a, "process_vm_readv") == 0) {
		char buf[16];
		struct iovec l = { buf, sizeof buf }, r = { (void *)&rc, sizeof buf };

		rc = syscall(SYS_process_vm_readv, arg ? atoi(arg) : getppid(), &l, 1, &r, 1, 0);
		return verdict(a, rc, errno, true);
	}
	if (strcmp(a, "io_uring") == 0) {
		char params[120] = { 0 };

		rc = syscall(425, 8, params);
		return verdict(a, rc, errno, true);
	}
	if (strcmp(a, "bpf") == 0) {
		uint32_t attr[32] = { 2 /* BPF_MAP_TYPE_ARRAY */, 4, 4, 1 };

		rc = syscall(SYS_bpf, 0 /* BPF_MAP_CREATE */, attr, sizeof attr);
		return verdict(a, rc, errno, true);
	}
	if (strcmp(a, "perf_event_open") == 0) {
		uint32_t attr[32] = { 1 /* PERF_TYPE_SOFTWARE */, 128 };

		rc = syscall(SYS_perf_event_open, attr, 0, -1, -1, 0);
		return verdict(a, rc, errno, true);
	}
	if (strcmp(a, "userfaultfd") == 0) {
		rc = syscall(SYS_userfaultfd, 0);
		return verdict(a, rc, errno, true);
	}
	if (strcmp(a, "keyctl") == 0) {
		rc = syscall(SYS_keyctl, 0 /* KEYCTL_GET_KEYRING_ID */, -3, 1);
		return verdict(a, rc, errno, true);
	}
	if (strcmp(a, "add_key") == 0) {
		rc = syscall(SYS_add_key, "user", "forja", "x", 1, -3);
		return verdict(a, rc, errno, true);
	}
	if (strcmp(a, "mount") == 0) {
		rc = mount("none", arg ? arg : "/tmp", "tmpfs", 0, NULL);
		return verdict(a, rc, errno, true);
	}
	if (strcmp(a, "umount") == 0) {
		rc = umount2(arg ? arg : "/tmp", MNT_DETACH);
		return verdict(a, rc, errno, true);
	}
	if (strcmp(a, "remount_rw") == 0) {
		rc = mount(NULL, arg ? arg : "/", NULL, MS_REMOUNT | MS_BIND, NULL);
		return verdict(a, rc, errno, true);
	}
	if (strcmp(a, "fsopen") == 0) {
		rc = syscall(430, "tmpfs", 0);
		return verdict(a, rc, errno, true);
	}
	if (strcmp(a, "open_tree") == 0) {
		rc = syscall(428, AT_FDCWD, "/", 1 /* OPEN_TREE_CLONE */);
		return verdict(a, rc, errno, true);
	}
	if (strcmp(a, "unshare_user") == 0) {
		rc = unshare(CLONE_NEWUSER);
		return verdict(a, rc, errno, true);
	}
	if (strcmp(a, "unshare_mount") == 0) {
		rc = unshare(CLONE_NEWNS);
		return verdict(a, rc, errno, true);
	}
	if (strcmp(a, "clone_newuser") == 0) {
		rc = syscall(SYS_clone, (unsigned long)(CLONE_NEWUSER | SIGCHLD), 0, 0, 0, 0);
		if (rc == 0)
			_exit(0);
		if (rc > 0)
			waitpid((pid_t)rc, NULL, 0);
		return verdict(a, rc, errno, true);
	}
	if (strcmp(a, "clone_newuser_highbits") == 0) {
		/* the flags in the high half are ignored by the kernel; the low
		 * half still has CLONE_NEWUSER */
		rc = syscall(SYS_clone, (unsigned long)(CLONE_NEWUSER | SIGCHLD) | (1UL << 40), 0, 0,
			     0, 0);
		if (rc == 0)
			_exit(0);
		if (rc > 0)
			waitpid((pid_t)rc, NULL, 0);
		return verdict(a, rc, errno, true);
	}
	if (strcmp(a, "clone3") == 0) {
		uint64_t args[11] = { (uint64_t)CLONE_NEWUSER, 0, 0, 0, SIGCHLD };

		rc = syscall(435, args, sizeof args);
		if (rc == 0)
			_exit(0);
		return verdict(a, rc, errno, true);
	}
	if (strcmp(a, "setns") == 0) {
		int fd = open(arg ? arg : "/proc/1/ns/mnt", O_RDONLY | O_CLOEXEC);

		rc = setns(fd, 0);
		return verdict(a, rc, errno, true);
	}
	if (strcmp(a, "chroot") == 0) {
		rc = chroot(arg ? arg : ".");
		return verdict(a, rc, errno, true);
	}
	if (strcmp(a, "pivot_root") == 0) {
		rc = syscall(SYS_pivot_root, ".", ".");
		return verdict(a, rc, errno, true);
	}
	if (strcmp(a, "kexec") == 0) {
		rc = syscall(SYS_kexec_load, 0, 0, NULL, 0);
		return verdict(a, rc, errno, true);
	}
	if (strcmp(a, "init_module") == 0) {
		rc = syscall(SYS_init_module, "", 0, "");
		return verdict(a, rc, errno, true);
	}
	if (strcmp(a, "tiocsti") == 0)
		return attack_tiocsti(false);
	if (strcmp(a, "tiocsti_high_bits") == 0)
		return attack_tiocsti(true);
	if (strcmp(a, "tiocsti_stdin") == 0) {
		char c = 'x';

		rc = ioctl(0, TIOCSTI, &c);
		return verdict(a, rc, errno, true);
	}
	if (strcmp(a, "socket_inet") == 0) {
		rc = socket(AF_INET, SOCK_STREAM, 0);
		return verdict(a, rc, errno, true);
	}
	if (strcmp(a, "socket_inet6") == 0) {
		rc = socket(AF_INET6, SOCK_DGRAM, 0);
		return verdict(a, rc, errno, true);
	}
	if (strcmp(a, "socket_netlink") == 0) {
		rc = socket(AF_NETLINK, SOCK_RAW, 0);
		return verdict(a, rc, errno, true);
	}
	if (strcmp(a, "socket_packet") == 0) {
		rc = socket(AF_PACKET, SOCK_RAW, 0);
		return verdict(a, rc, errno, true);
	}
	if (strcmp(a, "socket_vsock") == 0) {
		rc = socket(40, SOCK_STREAM, 0);
		return verdict(a, rc, errno, true);
	}
	if (strcmp(a, "socket_highbits") == 0) {
		rc = syscall(SYS_socket, (long)AF_INET | (1L << 32), SOCK_STREAM, 0);
		return verdict(a, rc, errno, true);
	}
	if (strcmp(a, "tcp_connect") == 0 || strcmp(a, "udp_send") == 0) {
		struct sockaddr_in sin = { 0 };
		bool udp = a[0] == 'u';
		int fd = socket(AF_INET, udp ? SOCK_DGRAM : SOCK_STREAM, 0);

		sin.sin_family = AF_INET;
		sin.sin_port = htons((uint16_t)atoi(arg ? arg : "53"));
		inet_pton(AF_INET, arg2 ? arg2 : "127.0.0.1", &sin.sin_addr);
		if (fd < 0)
			return verdict(a, -1, errno, true);
		rc = udp ? sendto(fd, "x", 1, 0, (struct sockaddr *)&sin, sizeof sin)
			 : connect(fd, (struct sockaddr *)&sin, sizeof sin);
		return verdict(a, rc, errno, true);
	}
	if (strcmp(a, "unix_connect") == 0 || strcmp(a, "unix_sendto") == 0 ||
	    strcmp(a, "abstract_connect") == 0) {
		struct sockaddr_un sun = { 0 };
		bool dgram = strcmp(a, "unix_sendto") == 0;
		int fd = socket(AF_UNIX, dgram ? SOCK_DGRAM : SOCK_STREAM, 0);
		socklen_t len;

		if (fd < 0)
			return verdict(a, -1, errno, true);
		sun.sun_family = AF_UNIX;
		if (a[0] == 'a') {
			snprintf(sun.sun_path + 1, sizeof sun.sun_path - 1, "%s", arg ? arg : "forja");
			len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + strlen(sun.sun_path + 1));
		} else {
			snprintf(sun.sun_path, sizeof sun.sun_path, "%s", arg ? arg : "/tmp/x.sock");
			len = sizeof sun;
		}
		rc = dgram ? sendto(fd, "x", 1, 0, (struct sockaddr *)&sun, len)
			   : connect(fd, (struct sockaddr *)&sun, len);
		return verdict(a, rc, errno, true);
	}
	if (strcmp(a, "socketpair_works") == 0) {
		int sv[2];
		char c = 0;

		rc = socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
		if (rc == 0 && send(sv[0], "k", 1, 0) == 1 && recv(sv[1], &c, 1, 0) == 1 && c == 'k') {
			printf("socketpair_works ok\n");
			return 0;
		}
		printf("socketpair_works BROKEN (%s)\n", strerror(errno));
		return 1;
	}
	if (strcmp(a, "x32") == 0)
		return killed_by_sigsys(a, x32_getpid);
#if defined(__x86_64__)
	if (strcmp(a, "int80") == 0)
		return killed_by_sigsys(a, i386_int80);
#endif
	if (strcmp(a, "kill") == 0) {
		rc = kill(arg ? atoi(arg) : getppid(), SIGKILL);
		return verdict(a, rc, errno, true);
	}
	if (strcmp(a, "caps") == 0) {
		char line[256];
		FILE *f = fopen("/proc/self/status", "r");
		int bad = 0;

		while (f && fgets(line, sizeof line, f)) {
			if ((strncmp(line, "Cap", 3) == 0 && !strstr(line, "0000000000000000")) ||
			    (strncmp(line, "NoNewPrivs:", 11) == 0 && !strstr(line, "1")))
				bad = 1;
			if (strncmp(line, "Cap", 3) == 0 || strncmp(line, "NoNewPrivs", 10) == 0 ||
			    strncmp(line, "Seccomp:", 8) == 0)
				fputs(line, stdout);
		}
		if (f)
			fclose(f);
		printf("caps %s\n", bad ? "ESCAPED (capabilities held or no_new_privs off)" : "blocked (none held)");
		return bad;
	}
	if (strcmp(a, "fds") == 0) {
		char cmd[64];
		int n = 0, fd;

		for (fd = 3; fd < 1024; fd++)
			if (fcntl(fd, F_GETFD) >= 0)
				n++;
		snprintf(cmd, sizeof cmd, "%d", n);
		printf("fds %s (%s open above 2)\n", n ? "ESCAPED" : "blocked", cmd);
		return n ? 1 : 0;
	}
	if (strcmp(a, "read") == 0) {
		int fd = open(arg, O_RDONLY | O_CLOEXEC);
		char data[4096];
		ssize_t n;

		if (fd < 0)
			return verdict(a, -1, errno, true);
		n = read(fd, data, sizeof data - 1);
		if (n < 0)
			return verdict(a, -1, errno, true);
		data[n] = '\0';
		for (ssize_t k = 0; k < n; k++)
			if (!data[k])
				data[k] = '\n';
		if (arg2 && !strstr(data, arg2)) {
			printf("read blocked (opened, but no \"%s\" in it)\n", arg2);
			return 0;
		}
		printf("read ESCAPED (%zd bytes)\n", n);
		return 1;
	}
	if (strcmp(a, "open_write") == 0) {
		rc = open(arg, O_WRONLY | O_CLOEXEC);
		if (rc >= 0)
			close((int)rc); /* never write: a sysrq-trigger must not fire */
		return verdict(a, rc, errno, true);
	}
	if (strcmp(a, "write") == 0) {
		int fd = open(arg, O_WRONLY | O_APPEND | O_CLOEXEC);

		rc = fd < 0 ? -1 : write(fd, "PWNED\n", 6);
		return verdict(a, rc, errno, true);
	}
	if (strcmp(a, "chmod") == 0) {
		rc = chmod(arg, 06777);
		return verdict(a, rc, errno, true);
	}
	if (strcmp(a, "utime") == 0) {
		struct timespec ts[2] = { { 0, 0 }, { 0, 0 } };

		rc = utimensat(AT_FDCWD, arg, ts, 0);
		return verdict(a, rc, errno, true);
	}
	if (strcmp(a, "setxattr") == 0) {
		rc = setxattr(arg, "user.forja", "1", 1, 0);
		return verdict(a, rc, errno, true);
	}
	if (strcmp(a, "link") == 0) {
		rc = link(arg, arg2);
		return verdict(a, rc, errno, true);
	}
	if (strcmp(a, "fork_count") == 0) {
		int n = 0, target = arg ? atoi(arg) : 1000, i;
		int pfd[2];

		if (pipe(pfd) < 0)
			return 1;
		for (i = 0; i < target; i++) {
			pid_t p = fork();

			if (p == 0) {
				char c;

				close(pfd[1]);
				(void)!read(pfd[0], &c, 1); /* wait until the parent is done */
				_exit(0);
			}
			if (p < 0)
				break;
			n++;
		}
		close(pfd[1]);
		printf("fork_count %d of %d\n", n, target);
		while (wait(NULL) > 0)
			;
		return 0;
	}
	printf("unknown attack %s\n", a);
	return 2;
}

/* ---- unit tests ---------------------------------------------------------------- */

/* Load the program in a child and check each syscall's answer there. */
static void test_seccomp_program(void)
{
	struct sock_filter prog[JAIL_SECCOMP_MAX];
	size_t len = jail_seccomp_build(false, prog, JAIL_SECCOMP_MAX);
	int pfd[2], st;
	pid_t pid;
	char res[512] = "";
	ssize_t n;

	if (!tap_ok(len > 0 && len < JAIL_SECCOMP_MAX, "seccomp: a program for this architecture")) {
		printf("#   length %zu\n", len);
		return;
	}
	printf("# seccomp program: %zu instructions (network off)\n", len);
	if (pipe(pfd) < 0)
		die("pipe");
	pid = fork();
	if (pid == 0) {
		struct jail_plan p;
		struct buf out = BUF_INIT;
		int sv[2], fd, nul;
		char c = 'x';
		struct sockaddr_un sun = { .sun_family = AF_UNIX };
		uint64_t cargs[11] = { 0, 0, 0, 0, SIGCHLD };

		memset(&p, 0, sizeof p);
		p.filter = prog;
		p.filter_len = (unsigned short)len;
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || jail_seccomp_install(&p) < 0)
			_exit(3);
		nul = open("/dev/null", O_RDWR);
#define R(expr) do { errno = 0; long v_ = (long)(expr); buf_printf(&out, "%ld:%d ", v_ < 0 ? -1L : 0L, v_ < 0 ? errno : 0); } while (0)
		R(ptrace(PTRACE_TRACEME, 0, 0, 0));                             /* 1 EPERM */
		R(socket(AF_INET, SOCK_STREAM, 0));                             /* 2 EPERM */
		R(fd = socket(AF_UNIX, SOCK_STREAM, 0));                        /* 3 ok */
		R(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));                     /* 4 ok */
		R(send(sv[0], "a", 1, 0));                                      /* 5 ok */
		R(sendto(sv[0], "a", 1, 0, (struct sockaddr *)&sun, sizeof sun)); /* 6 EPERM */
		R(ioctl(nul, TIOCSTI, &c));                                     /* 7 EPERM (not ENOTTY) */
		R(syscall(SYS_ioctl, nul, (unsigned long)TIOCSTI | (1UL << 32), &c)); /* 8 EPERM */
		R(ioctl(nul, TCGETS, &c));                                      /* 9 ENOTTY: allowed */
		R(syscall(435, cargs, sizeof cargs));                           /* 10 ENOSYS */
		R(syscall(SYS_clone, (unsigned long)(CLONE_NEWUSER | SIGCHLD), 0, 0, 0, 0)); /* 11 EPERM */
		R(unshare(CLONE_NEWNS));                                        /* 12 EPERM */
		R(connect(fd, (struct sockaddr *)&sun, sizeof sun));            /* 13 EPERM */
		R(syscall(425, 1, NULL));                                       /* 14 EPERM */
		R(getpid());                                                    /* 15 ok */
		R(socket(AF_NETLINK, SOCK_RAW, 0));                             /* 16 EPERM */
		R(syscall(SYS_socket, (long)AF_INET | (1L << 32), SOCK_STREAM, 0)); /* 17 EPERM */
#undef R
		if (write(pfd[1], out.data, out.len) < 0)
			_exit(4);
		_exit(0);
	}
	close(pfd[1]);
	n = read(pfd[0], res, sizeof res - 1);
	res[n > 0 ? n : 0] = '\0';
	close(pfd[0]);
	waitpid(pid, &st, 0);
	{
		char want[512];

		snprintf(want, sizeof want,
			 "-1:%d -1:%d 0:0 0:0 0:0 -1:%d -1:%d -1:%d -1:%d -1:%d -1:%d -1:%d -1:%d "
			 "-1:%d 0:0 -1:%d -1:%d ",
			 EPERM, EPERM, EPERM, EPERM, EPERM, ENOTTY, ENOSYS, EPERM, EPERM, EPERM,
			 EPERM, EPERM, EPERM);
		tap_is_str(res, want, "seccomp: each call gets the answer the deny-list says");
	}
}

static void test_seccomp_foreign_arch(void)
{
#if defined(__x86_64__)
	struct sock_filter prog[JAIL_SECCOMP_MAX];
	size_t len = jail_seccomp_build(true, prog, JAIL_SECCOMP_MAX);
	int i, st;

	for (i = 0; i < 2; i++) {
		pid_t pid = fork();

		if (pid == 0) {
			struct jail_plan p;

			memset(&p, 0, sizeof p);
			p.filter = prog;
			p.filter_len = (unsigned short)len;
			if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || jail_seccomp_install(&p) < 0)
				_exit(3);
			if (i == 0)
				x32_getpid();
			else
				i386_int80();
			_exit(0);
		}
		waitpid(pid, &st, 0);
		tap_ok(WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS,
		       i == 0 ? "seccomp: an x32 system call kills the process"
			      : "seccomp: an i386 int 0x80 kills the process");
	}
#endif
}

static void test_basics(void)
{
	struct jail_spec s;
	struct jail_result r;
	struct ferr e = FERR_INIT;
	static const char *const echo[] = { "echo", "hello", NULL };
	static const char *const missing[] = { "no-such-command-forja", NULL };

	spec_init(&s, echo);
	if (tap_is_int(jail_run(&s, &r, &e), 0, "run: echo runs")) {
		tap_is_str(r.out.data.data, "hello\n", "run: stdout captured");
		tap_is_int(r.exit_code, 0, "run: exit status 0");
		tap_is_int(r.out.cut, 0, "run: nothing cut");
		printf("# layers applied:");
		{
			struct buf b = BUF_INIT;

			jail_layers_describe(r.layers, &b);
			printf(" %s (landlock ABI %d)\n", buf_cstr(&b), r.landlock_abi);
			buf_release(&b);
		}
		jail_result_release(&r);
	} else {
		printf("#   %s\n", e.msg);
	}

	spec_init(&s, NULL);
	if (run_sh(&s, "echo out; echo err >&2; exit 3", &r, &e) == 0) {
		tap_is_str(r.out.data.data, "out\n", "run: stdout apart");
		tap_is_str(r.err.data.data, "err\n", "run: stderr apart");
		tap_is_int(r.exit_code, 3, "run: exit status 3");
		jail_result_release(&r);
	} else {
		tap_ok(0, "run: sh -c");
		printf("#   %s\n", e.msg);
	}
	s.merge_stderr = true;
	if (run_sh(&s, "echo out; echo err >&2", &r, &e) == 0) {
		tap_is_str(r.out.data.data, "out\nerr\n", "run: merged stderr in order");
		jail_result_release(&r);
	}
	s.merge_stderr = false;
	if (run_sh(&s, "kill -TERM $$", &r, &e) == 0) {
		tap_is_int(r.signal, SIGTERM, "run: death by signal reported");
		tap_is_int(r.exit_code, -1, "run: no exit status then");
		jail_result_release(&r);
	}
	spec_init(&s, missing);
	if (tap_is_int(jail_run(&s, &r, &e), 0, "run: a missing command is a run")) {
		tap_is_int(r.exit_code, 127, "run: missing command exits 127");
		tap_is_int(r.exec_errno, ENOENT, "run: exec_errno ENOENT");
		tap_contains(r.err.data.data, "cannot execute no-such-command-forja",
			     "run: the reason is on stderr");
		jail_result_release(&r);
	}
	spec_init(&s, NULL);
	if (run_sh(&s, "read x; echo \"[$x]\"; pwd", &r, &e) == 0) {
		char want[PATH_MAX + 8];

		snprintf(want, sizeof want, "[]\n%s\n", ws);
		tap_is_str(r.out.data.data, want, "run: stdin is empty, cwd is the workspace");
		jail_result_release(&r);
	}
}

static void test_env(void)
{
	static const char *const env[] = {
		"PATH=/usr/bin:/bin", "KEEP=1", "OPENAI_API_KEY=sk-canary", "GITHUB_TOKEN=gh-canary",
		"AWS_SECRET_ACCESS_KEY=aws-canary", "DB_PASSWORD=pw-canary", "anthropic_apikey=x-canary",
		"MALFORMED", "=novalue", NULL,
	};
	static const char *const argv[] = { "env", NULL };
	struct jail_spec s;
	struct jail_result r;
	struct ferr e = FERR_INIT;

	spec_init(&s, argv);
	s.env = env;
	if (!tap_is_int(jail_run(&s, &r, &e), 0, "env: runs")) {
		printf("#   %s\n", e.msg);
		return;
	}
	tap_is_str(r.out.data.data, "PATH=/usr/bin:/bin\nKEEP=1\n",
		   "env: exactly the spec's env minus anything secret-looking");
	tap_is_int(r.env_dropped, 7, "env: seven entries dropped");
	jail_result_release(&r);
}

static void test_limits(void)
{
	struct jail_spec s;
	struct jail_result r;
	struct ferr e = FERR_INIT;
	double t0;
	int pfd[2];

	spec_init(&s, NULL);
	s.timeout_ms = 300;
	t0 = now_s();
	if (run_sh(&s, "trap '' TERM INT HUP; sleep 30", &r, &e) == 0) {
		double took = now_s() - t0;

		tap_ok(r.timed_out, "timeout: reported");
		tap_ok(took < 2.0, "timeout: killed in time");
		printf("#   timeout 300 ms, returned after %.0f ms\n", took * 1000);
		tap_is_int(r.signal, SIGKILL, "timeout: SIGKILL");
		jail_result_release(&r);
	}

	spec_init(&s, NULL);
	s.max_output_bytes = 2000;
	if (run_sh(&s, "head -c 100000 /dev/zero | tr '\\0' a; printf END", &r, &e) == 0) {
		tap_is_int((long long)r.out.total, 100003, "output: total counted");
		tap_is_int((long long)r.out.data.len, 2000, "output: kept bytes = the cap");
		tap_is_int((long long)r.out.cut, 98003, "output: cut counted");
		tap_is_int((long long)r.out.cut_at, 1000, "output: cut after the head half");
		tap_ok(!r.output_killed, "output: under the kill ratio, not killed");
		tap_ok(r.out.data.len >= 3 && memcmp(r.out.data.data + r.out.data.len - 3, "END", 3) == 0,
		       "output: the tail is kept");
		jail_result_release(&r);
	}
	spec_init(&s, NULL);
	s.max_output_bytes = 4096;
	t0 = now_s();
	if (run_sh(&s, "yes", &r, &e) == 0) {
		tap_ok(r.output_killed, "output: endless output killed");
		tap_ok(r.out.data.len == 4096, "output: still capped");
		tap_ok(now_s() - t0 < 5, "output: quickly");
		jail_result_release(&r);
	}

	spec_init(&s, NULL);
	if (pipe(pfd) < 0)
		die("pipe");
	if (write(pfd[1], "x", 1) != 1)
		die("write");
	s.cancel_fd = pfd[0];
	t0 = now_s();
	if (run_sh(&s, "sleep 30", &r, &e) == 0) {
		tap_ok(r.cancelled && now_s() - t0 < 3, "cancel: a readable cancel_fd kills the call");
		jail_result_release(&r);
	}
	close(pfd[0]);
	close(pfd[1]);

	spec_init(&s, NULL);
	s.max_file_bytes = 1 << 20;
	if (run_sh(&s, "dd if=/dev/zero of=big bs=1M count=5 2>&1; ls -l big | awk '{print $5}'; rm -f big",
		   &r, &e) == 0) {
		tap_contains(r.out.data.data, "File too large", "fsize: EFBIG past max_file_bytes");
		tap_contains(r.out.data.data, "\n1048576\n", "fsize: file stopped at the limit");
		jail_result_release(&r);
	}

	spec_init(&s, NULL);
	if (run_sh(&s, "(sleep 1000; echo forja-leftover-marker-a) >/dev/null 2>&1 & "
		       "nohup setsid sh -c 'sleep 1000; echo forja-leftover-marker-b' >/dev/null 2>&1 & "
		       "echo started", &r, &e) == 0) {
		tap_is_str(r.out.data.data, "started\n", "cleanup: the call returns at the command's exit");
		usleep(100000);
		tap_ok(!process_with("forja-leftover-marker"), "cleanup: no background process outlives it");
		jail_result_release(&r);
	}
}

/* What on_output saw: each stream's chunks put together, when the first
 * chunk holding "a" came, and which streams were used. */
struct seen {
	struct buf stream[3];
	double first_a;
	int chunks, bad_stream;
};

static void seen_output(void *ctx, int stream, const char *data, size_t len)
{
	struct seen *w = ctx;

	if (stream != 1 && stream != 2) {
		w->bad_stream++;
		return;
	}
	if (w->first_a == 0 && memchr(data, 'a', len))
		w->first_a = now_s();
	buf_add(&w->stream[stream], data, len);
	w->chunks++;
}

static void seen_release(struct seen *w)
{
	int i;

	for (i = 0; i < 3; i++)
		buf_release(&w->stream[i]);
	memset(w, 0, sizeof *w);
}

/* on_output: chunks as they are read, before the cap. */
static void test_stream(void)
{
	static const char *const missing[] = { "no-such-command-forja", NULL };
	struct jail_spec s;
	struct jail_result r;
	struct ferr e = FERR_INIT;
	struct seen w;
	double t0, end;

	memset(&w, 0, sizeof w);
	spec_init(&s, NULL);
	s.on_output = seen_output;
	s.output_ctx = &w;
	t0 = now_s();
	if (run_sh(&s, "printf a; sleep 0.3; printf b", &r, &e) == 0) {
		end = now_s();
		tap_ok(w.first_a > 0 && end - w.first_a >= 0.2,
		       "stream: \"a\" reaches the callback while the command still runs");
		printf("#   \"a\" seen after %.0f ms, the call returned after %.0f ms\n",
		       w.first_a > 0 ? (w.first_a - t0) * 1000 : -1.0, (end - t0) * 1000);
		tap_is_str(buf_cstr(&w.stream[1]), "ab", "stream: the chunks make the whole stdout");
		tap_ok(w.chunks >= 2, "stream: \"a\" and \"b\" came as separate chunks");
		tap_is_str(r.out.data.data, "ab", "stream: the result still holds the output");
		jail_result_release(&r);
	} else {
		tap_ok(0, "stream: runs");
		printf("#   %s\n", e.msg);
	}
	seen_release(&w);

	s.max_output_bytes = 2000;
	if (run_sh(&s, "head -c 100000 /dev/zero | tr '\\0' a; printf END; printf oops >&2",
		   &r, &e) == 0) {
		bool whole = w.stream[1].len == 100003 &&
			     memcmp(w.stream[1].data + 100000, "END", 3) == 0;
		size_t i;

		for (i = 0; whole && i < 100000; i++)
			whole = w.stream[1].data[i] == 'a';
		tap_ok(r.out.cut > 0 && r.out.data.len == 2000, "stream: the kept output was capped");
		tap_ok(whole, "stream: the chunks are the whole output, not the capped one");
		if (!whole)
			printf("#   expected 100000 a then END, got %zu bytes\n", w.stream[1].len);
		tap_is_int((long long)w.stream[1].len, (long long)r.out.total,
			   "stream: as many bytes as out.total");
		tap_is_str(buf_cstr(&w.stream[2]), "oops", "stream: stderr is stream 2");
		jail_result_release(&r);
	}
	seen_release(&w);

	s.max_output_bytes = 0;
	s.merge_stderr = true;
	if (run_sh(&s, "echo out; echo err >&2", &r, &e) == 0) {
		tap_is_str(buf_cstr(&w.stream[1]), "out\nerr\n", "stream: merged, all on stream 1");
		tap_is_int((long long)w.stream[2].len, 0, "stream: merged, nothing on stream 2");
		jail_result_release(&r);
	}
	seen_release(&w);

	spec_init(&s, missing);
	s.on_output = seen_output;
	s.output_ctx = &w;
	if (jail_run(&s, &r, &e) == 0) {
		tap_is_str(buf_cstr(&w.stream[2]), r.err.data.data,
			   "stream: forja's \"cannot execute\" line goes through the callback too");
		jail_result_release(&r);
	}
	tap_is_int(w.bad_stream, 0, "stream: no stream other than 1 and 2");
	seen_release(&w);
}

static uint64_t free_bytes(const char *path)
{
	struct statvfs v;

	if (statvfs(path, &v) < 0)
		die("statvfs %s: %s", path, strerror(errno));
	return (uint64_t)v.f_bavail * v.f_frsize;
}

/* The disk watermark, on a 64 MiB tmpfs as the workspace (root only). */
static void test_disk(void)
{
	static const char *const fill =
		"i=0; while :; do head -c 1048576 /dev/zero > f$i || exit 1; i=$((i+1)); "
		"sleep 0.05; done";
	const uint64_t mib = 1024 * 1024;
	char dir[PATH_MAX], saved[PATH_MAX];
	struct jail_spec s;
	struct jail_result r;
	struct ferr e = FERR_INIT;
	uint64_t left;
	double t0;

	if (geteuid() != 0) {
		tap_ok(1, "disk: watermark on a small tmpfs # SKIP needs root to mount one");
		return;
	}
	snprintf(dir, sizeof dir, "%s/disk", scratch);
	if (mkdir(dir, 0755) < 0)
		die("mkdir %s: %s", dir, strerror(errno));
	if (mount("forja-disk", dir, "tmpfs", 0, "size=64m,mode=0755") < 0) {
		char why[160];

		snprintf(why, sizeof why, "disk: watermark on a small tmpfs # SKIP mount tmpfs: %s",
			 strerror(errno));
		tap_ok(1, why);
		return;
	}
	snprintf(saved, sizeof saved, "%s", ws);
	snprintf(ws, sizeof ws, "%s", dir);

	spec_init(&s, NULL);
	s.disk_min_free = 16 * mib;
	t0 = now_s();
	if (run_sh(&s, fill, &r, &e) == 0) {
		left = free_bytes(dir);
		tap_ok(r.disk_killed, "disk: a command filling the disk is killed at the watermark");
		tap_ok(!r.timed_out && now_s() - t0 < 15, "disk: well before the timeout");
		tap_is_int(r.signal, SIGKILL, "disk: by SIGKILL");
		tap_is_str(r.disk_path, dir, "disk: the result names the file system's path");
		tap_is_int((long long)r.disk_watermark, (long long)(16 * mib),
			   "disk: and its watermark");
		tap_ok(left >= 8 * mib, "disk: free space is left (>= 8 MiB of 64)");
		printf("#   %.1f MiB free after the kill, watermark 16 MiB, %.1f s\n",
		       (double)left / (double)mib, now_s() - t0);
		usleep(300000);
		tap_ok(free_bytes(dir) == left, "disk: nothing keeps writing after the call");
		jail_result_release(&r);
	} else {
		tap_ok(0, "disk: runs");
		printf("#   %s\n", e.msg);
	}
	sh("rm -f '%s'/f*", dir);

	spec_init(&s, NULL);
	if (run_sh(&s, "head -c 1048576 /dev/zero > small && sleep 0.3 && echo done", &r, &e) == 0) {
		tap_ok(!r.disk_killed && r.exit_code == 0,
		       "disk: the default watermark lets a small write run");
		tap_is_str(r.out.data.data, "done\n", "disk: and it completes");
		jail_result_release(&r);
	}

	/* Already below the watermark at the start: half the free space. */
	sh("head -c %llu /dev/zero > '%s/big'", (unsigned long long)(54 * mib), dir);
	left = free_bytes(dir);
	spec_init(&s, NULL);
	s.disk_min_free = 16 * mib;
	if (run_sh(&s, "head -c 1048576 /dev/zero > small2 && sleep 0.3 && echo done", &r, &e) == 0) {
		tap_ok(!r.disk_killed && strcmp(r.out.data.data, "done\n") == 0,
		       "disk: below the watermark at the start, a small command still runs");
		jail_result_release(&r);
	}
	left = free_bytes(dir);
	if (run_sh(&s, fill, &r, &e) == 0) {
		uint64_t after = free_bytes(dir);

		tap_ok(r.disk_killed, "disk: below at the start, filling is still killed");
		tap_ok(r.disk_watermark >= left / 2 - mib && r.disk_watermark <= left / 2 + mib,
		       "disk: at half the free space of the start");
		printf("#   %.1f MiB free at the start, watermark %.1f MiB, %.1f MiB left\n",
		       (double)left / (double)mib, (double)r.disk_watermark / (double)mib,
		       (double)after / (double)mib);
		tap_ok(after >= 2 * mib, "disk: and free space is left");
		jail_result_release(&r);
	}
	sh("rm -f '%s'/f*", dir);
	s.disk_min_free = UINT64_MAX;
	if (run_sh(&s, "head -c 2097152 /dev/zero > f-off && echo done", &r, &e) == 0) {
		tap_ok(!r.disk_killed && r.exit_code == 0, "disk: UINT64_MAX turns the watermark off");
		jail_result_release(&r);
	}
	snprintf(ws, sizeof ws, "%s", saved);
	if (umount2(dir, MNT_DETACH) < 0)
		die("umount %s: %s", dir, strerror(errno));
}

static void test_errors(void)
{
	struct jail_spec s;
	struct jail_result r;
	struct ferr e = FERR_INIT;
	struct jail_caps weak;
	static const char *const argv[] = { "true", NULL };
	char outside[PATH_MAX];

	spec_init(&s, argv);
	s.workspace = "relative/ws";
	tap_is_int(jail_run(&s, &r, &e), -1, "spec: relative workspace refused");
	tap_is_int(e.cls, FERR_USAGE, "spec: FERR_USAGE");
	spec_init(&s, argv);
	s.workspace = "/";
	tap_is_int(jail_run(&s, &r, &e), -1, "spec: workspace / refused");
	spec_init(&s, argv);
	snprintf(outside, sizeof outside, "%s/out", scratch);
	s.cwd = outside;
	tap_is_int(jail_run(&s, &r, &e), -1, "spec: cwd outside the workspace refused");
	tap_contains(e.msg, "not inside the workspace", "spec: the message says why");
	spec_init(&s, NULL);
	s.argv = NULL;
	tap_is_int(jail_run(&s, &r, &e), -1, "spec: no argv refused");
	spec_init(&s, argv);
	{
		static const char *const rw[] = { "/usr", NULL };

		s.rw_paths = rw;
		tap_is_int(jail_run(&s, &r, &e), -1, "spec: a system directory is never writable");
	}

	weak = caps;
	weak.layers &= ~(JAIL_LAYER_MOUNT | JAIL_LAYER_GITSCAN);
	snprintf(weak.why, sizeof weak.why, "mount: pretend\n");
	spec_init(&s, argv);
	s.caps = &weak;
	tap_is_int(jail_run(&s, &r, &e), -1, "weaker: a missing layer refuses the call");
	tap_is_int(e.cls, FERR_DENIED, "weaker: FERR_DENIED");
	tap_contains(e.msg, "cannot enforce: mount pid net ",
		     "weaker: the message names the layers (pid and net need mount)");
	tap_contains(e.msg, "(mount: pretend)", "weaker: and why");
	s.allow_missing = JAIL_LAYER_MOUNT | JAIL_LAYER_PID | JAIL_LAYER_NET | JAIL_LAYER_GITSCAN;
	if (caps.cgroup_version == 0) /* nothing else would sweep leftovers */
		s.allow_missing |= JAIL_LAYER_CLEANUP;
	if (tap_is_int(jail_run(&s, &r, &e), 0, "weaker: allow_missing runs it anyway")) {
		tap_ok(!(r.layers & (JAIL_LAYER_MOUNT | JAIL_LAYER_PID | JAIL_LAYER_NET)),
		       "weaker: and says mount, pid and net were not applied");
		tap_ok((r.layers & (JAIL_LAYER_LANDLOCK | JAIL_LAYER_SECCOMP)) ==
			       (caps.layers & (JAIL_LAYER_LANDLOCK | JAIL_LAYER_SECCOMP)),
		       "weaker: Landlock and seccomp still applied");
		jail_result_release(&r);
	} else {
		printf("#   %s\n", e.msg);
	}
	spec_init(&s, NULL);
	s.caps = &weak;
	s.allow_missing = JAIL_LAYER_MOUNT | JAIL_LAYER_PID | JAIL_LAYER_NET | JAIL_LAYER_GITSCAN |
			  JAIL_LAYER_CLEANUP;
	if (run_sh(&s, "echo x > \"$0\" 2>&1; cat /etc/hostname >/dev/null && echo read-ok; "
		       "ls ~ 2>&1 | head -1", &r, &e) == 0) {
		tap_ok(strstr(r.out.data.data, "read-ok") != NULL,
		       "weaker: Landlock alone still lets the system be read");
		jail_result_release(&r);
	}
	if (caps.cgroup_version) {
		/* no PID namespace: the cgroup finds what setsid and nohup hid */
		s.max_processes = 32;
		if (run_sh(&s, "setsid sh -c 'sleep 1000; echo forja-leftover-marker-c' & "
			       "nohup sh -c 'sleep 1000; echo forja-leftover-marker-d' >/dev/null 2>&1 & "
			       "echo started", &r, &e) == 0) {
			usleep(100000);
			tap_ok(!process_with("forja-leftover-marker"),
			       "weaker: without a PID namespace the cgroup still kills what is left");
			jail_result_release(&r);
		}
	}
	weak = caps;
	weak.layers &= ~JAIL_LAYER_MEMORY;
	spec_init(&s, argv);
	s.caps = &weak;
	snprintf(weak.why, sizeof weak.why, "net: pretend\nmemory: no writable memory cgroup\n");
	s.memory_bytes = 1 << 28;
	tap_is_int(jail_run(&s, &r, &e), -1, "weaker: a memory limit without a memory cgroup refuses");
	tap_is_str(e.msg, "jail: this machine cannot enforce: memory (memory: no writable memory "
		   "cgroup); refusing to run weaker (allow_missing accepts it)",
		   "weaker: the message gives the reason for that layer only");
	s.memory_bytes = 0;
	tap_is_int(jail_run(&s, &r, &e), 0, "weaker: no memory limit asked, none needed");
	jail_result_release(&r);
}

static void test_workspace(void)
{
	struct jail_spec s;
	struct jail_result r;
	struct ferr e = FERR_INIT;
	char path[PATH_MAX + 32];
	struct stat st;

	if (!(caps.layers & JAIL_LAYER_MOUNT)) {
		printf("# skipping workspace tests: no mount namespace here\n");
		return;
	}
	spec_init(&s, NULL);
	if (run_sh(&s, "echo made > new.txt && mkdir -p d/e && echo x > d/e/f && "
		       "(echo x > .git/hooks/pre-commit) 2>&1; (echo x >> .git/config) 2>&1; "
		       "(mkdir .forja) 2>&1; (mkdir .forja/contracts) 2>&1; (rm -rf .git) 2>&1; "
		       "(mv .git .g) 2>&1; (echo x > sub/.git/HEAD) 2>&1; cat new.txt",
		   &r, &e) == 0) {
		tap_contains(r.out.data.data, "made", "workspace: writable");
		tap_contains(r.out.data.data, ".git/hooks/pre-commit: Read-only file system",
			     "workspace: .git/hooks read-only");
		tap_contains(r.out.data.data, ".git/config: Read-only file system",
			     "workspace: .git/config read-only");
		tap_contains(r.out.data.data, "mkdir: cannot create directory '.forja': File exists",
			     "workspace: .forja cannot be created");
		tap_contains(r.out.data.data, "sub/.git/HEAD: Read-only file system",
			     "workspace: a nested repository's .git is read-only");
		jail_result_release(&r);
	} else {
		tap_ok(0, "workspace: run");
		printf("#   %s\n", e.msg);
	}
	snprintf(path, sizeof path, "%s/.forja", ws);
	tap_ok(lstat(path, &st) < 0 && errno == ENOENT, "workspace: the .forja guard is gone after");
	snprintf(path, sizeof path, "%s/new.txt", ws);
	tap_ok(lstat(path, &st) == 0, "workspace: files written stay");
	snprintf(path, sizeof path, "%s/.git/hooks/pre-commit", ws);
	tap_ok(lstat(path, &st) < 0, "workspace: no hook appeared");
	snprintf(path, sizeof path, "%s/.git/config", ws);
	tap_ok(!file_has(path, "\nx\n") && !file_has(path, "]x"), "workspace: .git/config unchanged");
}

struct worker {
	int id, ok;
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct jail_spec s;
	struct jail_result r;
	struct ferr e = FERR_INIT;
	char script[128], want[64];
	int i;

	for (i = 0; i < 10; i++) {
		snprintf(script, sizeof script, "echo worker-%d-%d; ls -a | grep -c forja", w->id, i);
		snprintf(want, sizeof want, "worker-%d-%d\n1\n", w->id, i);
		spec_init(&s, NULL);
		if (run_sh(&s, script, &r, &e) == 0 && r.exit_code == 0 &&
		    strcmp(r.out.data.data, want) == 0)
			w->ok++;
		else
			printf("#   worker %d run %d: %s %s\n", w->id, i, e.msg,
			       r.out.data.data ? r.out.data.data : "");
		jail_result_release(&r);
	}
	return NULL;
}

/* Calls from several threads at once: the raw clone of a multithreaded
 * process, the shared lock and the .forja guard. */
/* network: true — TCP to a listener of ours works, and nothing else of
 * the jail is loosened (the filesystem rules still hold). */
static void test_network_on(void)
{
	struct jail_spec s;
	struct jail_result r;
	struct ferr e = FERR_INIT;
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof sin;
	char script[256];
	int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
	if (l < 0 || bind(l, (struct sockaddr *)&sin, sizeof sin) < 0 || listen(l, 4) < 0 ||
	    getsockname(l, (struct sockaddr *)&sin, &len) < 0)
		die("listener: %s", strerror(errno));
	snprintf(script, sizeof script,
		 "bash -c 'exec 3<>/dev/tcp/127.0.0.1/%d && echo connected' 2>&1; "
		 "echo x > /etc/forja-net-x 2>&1 || echo etc-refused",
		 ntohs(sin.sin_port));
	spec_init(&s, NULL);
	s.network = true;
	if (run_sh(&s, script, &r, &e) == 0) {
		tap_contains(r.out.data.data, "connected", "network on: TCP to 127.0.0.1 works");
		tap_contains(r.out.data.data, "etc-refused", "network on: the filesystem stays confined");
		tap_ok(!(r.layers & JAIL_LAYER_NET), "network on: no network namespace applied");
		jail_result_release(&r);
	} else {
		tap_ok(0, "network on: runs");
		printf("#   %s\n", e.msg);
	}
	spec_init(&s, NULL);
	if (run_sh(&s, script, &r, &e) == 0) {
		tap_ok(strstr(r.out.data.data, "connected") == NULL, "network off: the same TCP refused");
		jail_result_release(&r);
	}
	close(l);
}

/* A workspace that is not a repository: .git cannot be made in it (a
 * later `git` run by the user would run its hooks), unless allowed. */
static void test_not_a_repo(void)
{
	struct jail_spec s;
	struct jail_result r;
	struct ferr e = FERR_INIT;
	char nr[PATH_MAX], path[PATH_MAX + 16], saved[PATH_MAX];
	struct stat st;

	if (!(caps.layers & JAIL_LAYER_MOUNT))
		return;
	snprintf(nr, sizeof nr, "%s/plain", scratch);
	if (mkdir(nr, 0755) < 0)
		die("mkdir %s", nr);
	snprintf(saved, sizeof saved, "%s", ws);
	snprintf(ws, sizeof ws, "%s", nr);
	spec_init(&s, NULL);
	if (run_sh(&s, "git init -q . 2>&1; mkdir -p .git/hooks 2>&1; echo x > f; ls -a", &r, &e) == 0) {
		tap_ok(strstr(r.out.data.data, "Permission denied") ||
			       strstr(r.out.data.data, "Read-only file system"),
		       "not a repo: git init refused");
		jail_result_release(&r);
	}
	snprintf(path, sizeof path, "%s/.git", nr);
	tap_ok(lstat(path, &st) < 0, "not a repo: no .git left behind");
	snprintf(path, sizeof path, "%s/f", nr);
	tap_ok(lstat(path, &st) == 0, "not a repo: other files written");
	s.allow_git_init = true;
	if (run_sh(&s, "git init -q . && echo inited", &r, &e) == 0) {
		tap_contains(r.out.data.data, "inited", "not a repo: allow_git_init lets git init run");
		jail_result_release(&r);
	}
	snprintf(ws, sizeof ws, "%s", saved);
}

static void test_concurrent(void)
{
	pthread_t t[4];
	struct worker w[4];
	char path[PATH_MAX + 16];
	struct stat st;
	int i, ok = 0;

	for (i = 0; i < 4; i++) {
		w[i].id = i;
		w[i].ok = 0;
		if (pthread_create(&t[i], NULL, worker_main, &w[i]) != 0)
			die("pthread_create");
	}
	for (i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		ok += w[i].ok;
	}
	tap_is_int(ok, 40, "threads: 40 calls from 4 threads, each with its own output");
	snprintf(path, sizeof path, "%s/.forja", ws);
	tap_ok(lstat(path, &st) < 0, "threads: the last one out removed the .forja guard");
}

/* CPU seconds used so far by this process and its reaped descendants:
 * unlike wall time, hardly moved by other load on the machine. */
static double cpu_s(void)
{
	struct rusage a, b;

	getrusage(RUSAGE_SELF, &a);
	getrusage(RUSAGE_CHILDREN, &b);
	return (double)(a.ru_utime.tv_sec + a.ru_stime.tv_sec + b.ru_utime.tv_sec +
			b.ru_stime.tv_sec) +
	       (double)(a.ru_utime.tv_usec + a.ru_stime.tv_usec + b.ru_utime.tv_usec +
			b.ru_stime.tv_usec) / 1e6;
}

/* true under the full jail vs a bare fork+exec, many times. */
static void test_overhead(void)
{
	static const char *const argv[] = { "/bin/true", NULL };
	struct jail_spec s;
	struct jail_result r;
	struct ferr e = FERR_INIT;
	int i, n = 200, ok = 0;
	unsigned applied = 0;
	double t0, c0, bare, jailed, bare_cpu, jailed_cpu;

	t0 = now_s();
	c0 = cpu_s();
	for (i = 0; i < n; i++) {
		pid_t pid = fork();

		if (pid == 0) {
			execl("/bin/true", "true", (char *)NULL);
			_exit(127);
		}
		waitpid(pid, NULL, 0);
	}
	bare = (now_s() - t0) / n * 1000;
	bare_cpu = (cpu_s() - c0) / n * 1000;
	spec_init(&s, argv);
	s.memory_bytes = (uint64_t)1 << 30;
	s.max_processes = 64;
	s.max_file_bytes = (uint64_t)1 << 30;
	s.skip_git_scan = true;
	s.allow_missing = ~caps.layers & ((1u << JAIL_LAYER_COUNT) - 1);
	t0 = now_s();
	c0 = cpu_s();
	for (i = 0; i < n; i++) {
		if (jail_run(&s, &r, &e) == 0 && r.exit_code == 0)
			ok++;
		applied = r.layers;
		jail_result_release(&r);
	}
	jailed = (now_s() - t0) / n * 1000;
	jailed_cpu = (cpu_s() - c0) / n * 1000;
	tap_is_int(ok, n, "overhead: every jailed true succeeded");
	{
		struct buf b = BUF_INIT;

		jail_layers_describe(applied, &b);
		printf("# overhead (%s, uid %d, %d calls, load %s): `true` bare fork+exec %.2f ms "
		       "wall / %.2f ms CPU; under the full jail %.2f ms wall / %.2f ms CPU per call "
		       "(target < 3 ms) [%s]\n",
		       caps.is_root ? "root" : "unprivileged", (int)geteuid(), n, loadavg(), bare,
		       bare_cpu, jailed, jailed_cpu, buf_cstr(&b));
		buf_release(&b);
	}
}

int main(int argc, char **argv)
{
	struct buf b = BUF_INIT;

	if (argc > 1 && strcmp(argv[1], "run") == 0)
		return cli_run(argc, argv);
	if (argc > 1 && strcmp(argv[1], "attack") == 0)
		return attack(argc, argv);
	if (argc > 1 && strcmp(argv[1], "probe") == 0)
		return cli_probe();

	setvbuf(stdout, NULL, _IONBF, 0);
	jail_probe(&caps);
	jail_layers_describe(caps.layers, &b);
	printf("# uid %d: layers here: %s; landlock ABI %d; cgroup v%d\n", (int)geteuid(),
	       buf_cstr(&b), caps.landlock_abi, caps.cgroup_version);
	if (caps.why[0]) {
		char *line = caps.why, *nl;

		while ((nl = strchr(line, '\n')) != NULL) {
			printf("#   missing %.*s\n", (int)(nl - line), line);
			line = nl + 1;
		}
	}
	buf_release(&b);
	tap_is_str(jail_layer_name(JAIL_LAYER_LANDLOCK), "landlock", "names: a layer's name");
	tap_is_str(jail_layer_name(3), "?", "names: not a single layer");

	snprintf(scratch, sizeof scratch, "%s/forja-jail-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(scratch))
		die("mkdtemp: %s", strerror(errno));
	chmod(scratch, 0755);
	snprintf(ws, sizeof ws, "%s/ws", scratch);
	sh("mkdir -p '%s/out' && cd '%s' && mkdir ws && cd ws && git init -q . && "
	   "mkdir -p sub && git init -q sub", scratch, scratch);

	test_seccomp_program();
	test_seccomp_foreign_arch();
	test_basics();
	test_env();
	test_errors();
	test_limits();
	test_stream();
	test_disk();
	test_workspace();
	test_network_on();
	test_not_a_repo();
	test_concurrent();
	test_overhead();
	sh("rm -rf '%s'", scratch);
	jail_caps_release(&caps);
	return tap_done();
}

#else /* the jail's macOS half is tested there by hand: see jail_darwin.c */
#include <stdio.h>

int main(void)
{
	printf("1..0 # SKIP the process jail's tests need Linux\n");
	return 0;
}
#endif

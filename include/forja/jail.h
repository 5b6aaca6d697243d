/*
 * jail — the process jail: every command a tool runs (`run`, command
 * contracts) is a process this module creates and confines.  The model is
 * untrusted and the repository may be hostile, so what a jailed command can
 * reach is decided by the kernel, never by looking at the command.  It is
 * the process half of the sandbox; pathpol.h is the in-process half, and
 * the two must agree (a symlink the jail lets a command create is refused
 * by pathpol when a file tool follows it).
 *
 * One call, jail_run(), forks a process of its own (clone3 with
 * CLONE_PIDFD; libuv's uv_spawn has no hook between fork and exec), applies
 * every layer in the child before execve(), feeds the command's output into
 * capped buffers, enforces the timeout and returns when nothing the call
 * started is left running.  It never calls waitpid(-1): it waits for its own
 * child only.  The layers, one bit each of enum jail_layer:
 *
 *   MOUNT    a mount namespace in which every mount is read-only (this also
 *            stops uid 0's chmod/utime/setxattr, which Landlock cannot) and:
 *            the workspace and rw_paths bound writable; every .git (at any
 *            depth found by a bounded scan, plus protect_paths) and .forja
 *            bound read-only on top, and a missing top-level .forja (an
 *            empty file) and .git (an empty directory; unless
 *            allow_git_init) bound read-only so it cannot be created (nor a
 *            nested repository's .git under it); private tmpfs on /tmp,
 *            /var/tmp, /dev/shm and over $HOME (then ro_paths under it bound
 *            back); /home, /root and /run masked by private tmpfs too (so
 *            docker.sock, ssh-agent, D-Bus and resolver sockets are not
 *            there; with the network on, a /etc/resolv.conf that links into
 *            /run is bound back); hide_paths (forja's config and state)
 *            replaced by empty read-only ones; a minimal /dev (null zero
 *            full random urandom tty, a private devpts) instead of the
 *            host's, whose disks a capability-less root could open.  Git
 *            directories the workspace uses outside it (a worktree's gitdir
 *            and common dir, the repository it is a subdirectory of) are
 *            bound read-only and readable; those inside it that a .git file
 *            points to, and a core.hooksPath inside it, are bound read-only.
 *            A repository the command creates under a new directory cannot
 *            be prevented by any mount; pathpol refuses such names.
 *   PID      a PID namespace whose init is the jail's own process (not
 *            dumpable; the command is its vfork child), a fresh read-only
 *            /proc: the host's processes (forja's environ, its memory) are
 *            invisible, and when the command exits the kernel kills
 *            everything left in the namespace (nohup, setsid, double fork):
 *            nothing outlives the call.
 *   NET      (network off only) a network namespace: no interface but a
 *            loopback that stays down (as root, one namespace made by
 *            jail_probe() and joined by every call).
 *   LANDLOCK the best ABI the kernel has: read and execute on the system
 *            directories and ro_paths only (never $HOME), everything on the
 *            workspace, rw_paths and the private tmpfs; TCP bind/connect
 *            denied when the network is off (ABI >= 4); signals and abstract
 *            unix sockets scoped to the jail (ABI >= 6); pathname unix
 *            sockets of the host refused (ABI >= 9).  Landlock cannot take
 *            .git back out of a writable workspace (a rule on a directory
 *            covers everything under it): that is MOUNT's job.
 *   SECCOMP  a BPF deny-list (raw BPF, see jail_seccomp.c for why): ptrace,
 *            process_vm_*, io_uring_*, bpf, perf_event_open, userfaultfd,
 *            the mount family, unshare, setns, clone with CLONE_NEW*
 *            (clone3 answers ENOSYS so libc falls back to clone), keyctl
 *            and friends, kexec, modules, reboot, swap, clocks, chroot,
 *            ioctl TIOCSTI/TIOCLINUX; with the network off, socket() and
 *            socketpair() of any family but AF_UNIX, connect, bind, listen,
 *            accept, sendto with an address, sendmmsg, recvmmsg (so a unix
 *            socket of the host cannot be reached either; socketpair and
 *            send on it keep working; a unix-socket server inside the jail
 *            cannot be reached either, so such tests need the network on).
 *            A foreign architecture (i386 int 0x80) or an x32 number kills
 *            the process.  With ptrace denied, gdb and strace do not work in
 *            the jail, nor LeakSanitizer (it stops threads with ptrace): run
 *            ASan programs there with ASAN_OPTIONS=detect_leaks=0.
 *   PROCS    max_processes enforced: a cgroup's pids.max (root ignores
 *            RLIMIT_NPROC), or RLIMIT_NPROC inside the jail's own user
 *            namespace (counts only the jail's processes, Linux >= 5.14).
 *   MEMORY   memory_bytes enforced by a cgroup (memory.max, or v1's
 *            memory.limit_in_bytes).  There is no rlimit fallback on
 *            purpose: RLIMIT_AS and RLIMIT_DATA break AddressSanitizer and
 *            runtimes that reserve address space.
 *   CLEANUP  nothing outlives the call: the PID namespace, or a cgroup that
 *            can be killed (cgroup.kill, or v1 pids.procs swept).
 *   GITSCAN  every nested .git of the workspace was found within the scan
 *            budget (JAIL_SCAN_*) and bound read-only.
 *
 * Always applied, not layers (they cannot be missing): the child starts a
 * new session (setsid: no controlling terminal, so no TIOCSTI into the
 * user's); stdin is /dev/null; only fds 0-2 are open at execve
 * (close_range); every signal disposition and the mask are reset (SIGXFSZ
 * ignored, so a write past max_file_bytes fails with EFBIG); RLIMIT_FSIZE is
 * max_file_bytes and RLIMIT_CORE 0; securebits NOROOT, NO_SETUID_FIXUP,
 * KEEP_CAPS and NO_CAP_AMBIENT_RAISE are set and locked, the bounding set
 * emptied, ambient capabilities cleared, capset to zero, and
 * PR_SET_NO_NEW_PRIVS set (setuid binaries gain nothing); the environment
 * is exactly spec->env minus any entry whose name looks like a secret
 * (…_API_KEY, …APIKEY, …_TOKEN, …SECRET…, …PASSWORD…, …PASSWD…), dropped
 * defensively even though the caller filters.
 *
 * Which layers exist depends on the machine (jail_probe()): root gets the
 * namespaces directly; another user gets them inside a user namespace
 * mapping only its own uid and gid (setgroups denied); where user
 * namespaces are blocked (Ubuntu's AppArmor restriction, a sysctl, a
 * container) there are none.  Cgroups: v2 when this process's cgroup
 * already delegates the pids and memory controllers to its children (its
 * cgroup.subtree_control lists them; the jail never moves forja between
 * cgroups nor enables controllers), else the v1 pids and memory
 * hierarchies when writable (each call's cgroup is made a child of this
 * process's own, so limits set above still apply).
 *
 * Refusing to run weaker: jail_run() computes the layers the spec needs
 * (MOUNT PID LANDLOCK SECCOMP CLEANUP GITSCAN always; NET when the network
 * is off; PROCS when max_processes > 0; MEMORY when memory_bytes > 0) and
 * fails with FERR_DENIED, naming each missing layer and why, unless every
 * missing one is in spec->allow_missing.  PID, NET and GITSCAN come with
 * MOUNT (one namespace set, and /proc needs the mount namespace).  The
 * layers actually applied are in the result, for the audit log and for the
 * model.  Without MOUNT (allowed explicitly) Landlock alone confines: the
 * host's /tmp is then neither readable nor writable, there is no private
 * one, and a hide path inside a path the command may use is refused.
 *
 * Not covered, by design or by the kernel: CPU time (the timeout bounds
 * it), the number of files (R04: only the timeout and the file system's
 * own limits), inherited ignored signals other than the reset ones; on
 * cgroup v2 without delegation there is no memory limit (refused unless
 * allowed).  The v2 code path is untested on the machine this was written
 * on (its controllers are all on v1).
 *
 * Ownership and threads: the spec and everything it points to are
 * borrowed for the duration of the call.  A struct jail_result is embedded
 * by the caller and emptied by jail_result_release().  jail_run() blocks
 * the calling thread until the call is over (at most the timeout plus a
 * short drain); that thread must stay alive meanwhile (the child holds
 * PR_SET_PDEATHSIG on it, so forja dying kills the jail).  It is safe to
 * call from several threads at once; nothing in it is process-global.
 * While a call runs, forja holds a shared flock(2) on the workspace
 * directory (see jail_run()).  None of these functions is safe from a
 * signal handler.
 *
 * macOS (src/sandbox/jail_darwin.c; the Linux files build on Linux only,
 * the shared parts are in jail_common.c): the same API, by fork and
 * execve("/usr/bin/sandbox-exec", "-D", "FORJA_TMPDIR=<dir>", "-p",
 * <profile>, "--", <command path>, args…) — never a sandbox-exec found on
 * PATH — with the Seatbelt profile of include/forja/seatbelt.h: the same
 * file, .git/.forja, hide and network rules (reported as the layers MOUNT,
 * LANDLOCK, GITSCAN, NET and SECCOMP, all from that one profile).  The
 * child calls setsid(); stdin is /dev/null; descriptors above 2 are
 * closed; signals are reset (SIGXFSZ ignored); RLIMIT_FSIZE and
 * RLIMIT_CORE as on Linux; the environment is scrubbed the same way and
 * TMPDIR points at a private temp dir made for the call and removed after
 * it; the command is found in the env's PATH by forja (so a missing one is
 * exit 127 with exec_errno, as here).  The timeout, cancel_fd, output caps
 * and the disk watermark kill the command's process group (killpg, then
 * the child), and so does the command's exit.  Missing on macOS, always
 * (jail_probe() says why): PID and CLEANUP (a process that leaves the
 * group with setsid or a daemon outlives the call; there is no
 * PR_SET_PDEATHSIG either, so forja dying does not kill the command),
 * PROCS (RLIMIT_NPROC counts all of the user's processes) and MEMORY (no
 * cgroups).  A caller that accepts this puts pid and cleanup in
 * allow_missing; the result's layers_missing names them for the model.
 * Git directories the workspace uses outside it (a worktree's gitdir) are
 * readable there only when listed in ro_paths.
 */
#ifndef FORJA_JAIL_H
#define FORJA_JAIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "forja/buf.h"
#include "forja/ferr.h"

enum jail_layer {
	JAIL_LAYER_MOUNT = 1u << 0,
	JAIL_LAYER_PID = 1u << 1,
	JAIL_LAYER_NET = 1u << 2,
	JAIL_LAYER_LANDLOCK = 1u << 3,
	JAIL_LAYER_SECCOMP = 1u << 4,
	JAIL_LAYER_PROCS = 1u << 5,
	JAIL_LAYER_MEMORY = 1u << 6,
	JAIL_LAYER_CLEANUP = 1u << 7,
	JAIL_LAYER_GITSCAN = 1u << 8,
};
#define JAIL_LAYER_COUNT 9

/* The default cap on each output stream when max_output_bytes is 0. */
#define JAIL_DEFAULT_OUTPUT ((uint64_t)1024 * 1024)
/* A command whose output exceeds this many times max_output_bytes is
 * killed (output_killed): its tail is not worth a disk of pipe traffic. */
#define JAIL_OUTPUT_KILL_RATIO 64
/* After the command exits, how long the jail waits for the pipes to reach
 * end of file before it kills what holds them (only when there is no PID
 * namespace; with one, the kernel has already killed them). */
#define JAIL_DRAIN_MS 200
/* The disk watermark's default (see jail_spec.disk_min_free). */
#define JAIL_DISK_MIN_FREE ((uint64_t)1024 * 1024 * 1024)
#define JAIL_DISK_MIN_PERCENT 5
/* The scan for nested .git: directory depth below the workspace, and the
 * most directory entries read.  Past either, GITSCAN is missing. */
#define JAIL_SCAN_DEPTH 32
#define JAIL_SCAN_ENTRIES 100000
/* The most paths bound read-only inside the workspace. */
#define JAIL_MAX_PROTECT 1024

/* What this machine supports; filled by jail_probe(). */
struct jail_caps {
	unsigned layers;        /* JAIL_LAYER_* that work here */
	bool is_root;           /* euid 0: namespaces without a user namespace */
	bool userns;            /* not root, and user namespaces work */
	int landlock_abi;       /* 0 when Landlock is missing or disabled */
	int cgroup_version;     /* 0 none usable, 1 (v1 pids + memory), 2 */
	bool procs_by_rlimit;   /* PROCS comes from RLIMIT_NPROC in the userns */
	int netns_fd;           /* root: one empty network namespace every call
				 * joins (creating one per call costs ~1 ms and
				 * async kernel work); -1 otherwise */
	char cgroup_pids[4096]; /* v1: this process's pids cgroup dir; v2: its cgroup dir */
	char cgroup_memory[4096]; /* v1: its memory cgroup dir; v2: "" */
	char why[2048];         /* one line per missing layer: "mount: <reason>\n" */
};

struct jail_spec {
	/* The command: argv[0] is a path, or a name searched in the PATH of env
	 * (or /usr/local/bin:/usr/bin:/bin).  NULL-terminated, at least one. */
	const char *const *argv;
	/* Absolute, the workspace or a directory under it (after symlinks are
	 * resolved); NULL for the workspace itself. */
	const char *cwd;
	/* Absolute path of the workspace: writable, except its .git and .forja.
	 * Not "/" and not under /proc, /sys or /dev. */
	const char *workspace;
	/* NULL-terminated lists (each may be NULL) of absolute paths.  Missing
	 * ones are skipped.  ro_paths: readable and executable (toolchains,
	 * ~/.cargo).  rw_paths: writable like the workspace (caches).
	 * hide_paths: replaced by an empty read-only directory or file
	 * (forja's config and state directories, its database).  protect_paths:
	 * more paths inside the workspace to bind read-only, e.g. nested .git
	 * the index knows of (absolute, or relative to the workspace). */
	const char *const *ro_paths;
	const char *const *rw_paths;
	const char *const *hide_paths;
	const char *const *protect_paths;
	/* The user's home to mask with a private tmpfs; NULL: $HOME, else the
	 * passwd entry.  /home and /root are masked whatever it is. */
	const char *home;
	/* NAME=value entries, already filtered by the caller (see the top). */
	const char *const *env;
	bool network;           /* false: NET layer and seccomp socket rules */
	bool merge_stderr;      /* stderr goes to the same pipe as stdout (out) */
	bool allow_git_init;    /* a missing top-level .git may be created */
	bool skip_git_scan;     /* trust protect_paths; scan only the top level */
	long timeout_ms;        /* 0: none; at the deadline SIGKILL, no grace */
	uint64_t max_output_bytes; /* per stream, head and tail; 0: JAIL_DEFAULT_OUTPUT */
	uint64_t memory_bytes;  /* 0: no limit (MEMORY not needed) */
	uint64_t max_file_bytes; /* RLIMIT_FSIZE; 0: no limit */
	long max_processes;     /* 0: no limit (PROCS not needed) */
	unsigned allow_missing; /* JAIL_LAYER_* the caller accepts to run without */
	int cancel_fd;          /* readable: kill the call (cancelled); -1 none */
	/* Called on the thread running jail_run() with each chunk of output as
	 * it is read (stream 1: stdout, 2: stderr; with merge_stderr all is 1),
	 * before any cap is applied, so the chunks put together are the whole
	 * output, out.total bytes (err.total for stream 2), including forja's
	 * own "cannot execute" line; NULL: none.  data is borrowed for the
	 * call only.  It runs inside the loop that enforces the timeout and
	 * drains the pipes: it must not block long (copy and hand off, e.g.
	 * to a uv_async_t), and it must not call jail_run() nor free the
	 * spec. */
	void (*on_output)(void *ctx, int stream, const char *data, size_t len);
	void *output_ctx;
	/* The disk watermark: while the command runs, the free space (for an
	 * unprivileged writer: statvfs f_bavail * f_frsize) of the workspace's
	 * file system, and of each rw_path's when it is another one, is read
	 * every 100 ms (every 10 ms when, at the pace of the last interval,
	 * the watermark would be crossed before the next regular look); when
	 * one falls below its watermark the whole call is killed as at the
	 * timeout (disk_killed, disk_path, disk_watermark).  0: the default,
	 * per file system JAIL_DISK_MIN_FREE or JAIL_DISK_MIN_PERCENT of its
	 * size, whichever is smaller; UINT64_MAX: no watermark.  When a file
	 * system already has less free space than its watermark as the call
	 * starts, the watermark for this call is half the free space at the
	 * start: a nearly full disk still runs small commands, and a command
	 * can still not take the last of it.  Read-only file systems are not
	 * watched.  Polling cannot stop a writer faster than the check: with
	 * RLIMIT_FSIZE (max_file_bytes) it bounds how far one interval goes,
	 * and the private tmpfs (/tmp in the jail) is bounded by its size. */
	uint64_t disk_min_free;
	/* From an earlier jail_probe() (recommended: probing costs a trial
	 * jail); NULL: probe now. */
	const struct jail_caps *caps;
};

/* One output stream: data holds the first bytes (up to half the cap), and
 * when the stream was longer than the cap, the last bytes after them;
 * cut bytes were dropped at offset cut_at (cut_at == data.len, cut == 0
 * when nothing was).  After a run data.data is never NULL ("" when empty)
 * and is NUL-terminated; the output may itself hold NUL bytes. */
struct jail_output {
	struct buf data;
	size_t cut_at;
	uint64_t cut;
	uint64_t total;         /* every byte the command wrote */
};

struct jail_result {
	int exit_code;          /* the command's exit status; -1 when signalled */
	int signal;             /* the signal that ended it, else 0 */
	int exec_errno;         /* the command could not be executed (exit 127) */
	bool timed_out;         /* killed at timeout_ms */
	bool cancelled;         /* killed because cancel_fd became readable */
	bool output_killed;     /* killed at JAIL_OUTPUT_KILL_RATIO x the cap */
	bool oom_killed;        /* the memory cgroup killed something */
	bool procs_limited;     /* a fork failed at max_processes (cgroup only) */
	bool disk_killed;       /* killed at the disk watermark, then: */
	char *disk_path;        /* the workspace or rw_path whose file system
				 * fell below it (owned; NULL otherwise) */
	uint64_t disk_watermark; /* that file system's watermark, bytes */
	struct jail_output out, err;
	unsigned layers;        /* JAIL_LAYER_* applied to this call */
	unsigned layers_missing; /* layers this call needed and ran without
				  * (the caller's allow_missing accepted them);
				  * report them with the result */
	int landlock_abi;       /* the ABI the ruleset used, 0 without */
	unsigned env_dropped;   /* env entries dropped (secrets, malformed) */
	long elapsed_ms;
	long user_ms, sys_ms;   /* CPU time of the jail's processes */
};

/*
 * Find which layers work here: Landlock's ABI, seccomp, cgroups, and a
 * trial jail (every namespace and mount step, Landlock and seccomp applied,
 * then _exit instead of execve) that tells whether this machine lets us
 * have each.  Fills *caps (zeroed first; caps->why says what is missing and
 * why).  It removes the empty cgroups a forja that died mid-call left
 * behind (named forja-<pid>-…, that pid gone).
 * As root it also makes the shared network namespace (netns_fd):
 * it is empty, its loopback stays down, and with the network off no call
 * can bind or connect a socket in it, so calls cannot reach each other
 * through it.  Costs a few milliseconds; call once, pass the result in each
 * spec (copies share netns_fd), jail_caps_release() it at the end.
 * Returns 0 (a probe that finds nothing is still a success).
 */
int jail_probe(struct jail_caps *caps);

/* Close what jail_probe() opened (netns_fd).  Safe twice. */
void jail_caps_release(struct jail_caps *caps);

/*
 * Run spec->argv in the jail and wait for it.  Returns 0 when the command
 * ran, whatever its status: *out (zeroed first) says how it ended, with its
 * output.  A command that cannot be executed (not found, not executable)
 * is a run too: exit_code 127, exec_errno set and a line on its stderr.
 * Returns -1 with e filled when it could not be run:
 *   FERR_USAGE   the spec is malformed (no argv, a relative path, a cwd
 *                outside the workspace, a workspace that is "/");
 *   FERR_DENIED  a needed layer is missing on this machine and not in
 *                allow_missing (the message names each and why), or the
 *                jail could not be set up (clone refused, or the step that
 *                failed in the child: "jail: cannot set up mount: bind
 *                /path: Permission denied");
 *   FERR_IO      a pipe, the workspace lock or a cgroup failed.
 * On -1, *out holds nothing to free (releasing it is still safe).
 *
 * Side effects outside the jail: a cgroup per call, removed before
 * returning; when .forja (or .git) is missing from the workspace, an empty
 * file of mode 0400 (a directory of mode 0 for .git) made there as the
 * mount point that keeps it from being created, removed again by the last
 * concurrent call to finish (the shared flock on the workspace tells).
 * While a call
 * runs, forja's own code may therefore find .forja to be an empty file:
 * it must read that as "no .forja".
 */
int jail_run(const struct jail_spec *spec, struct jail_result *out, struct ferr *e);

/* Free what *r owns and zero it.  Safe on a zeroed result and twice. */
void jail_result_release(struct jail_result *r);

/* "mount", "pid", … for one layer bit; "?" for anything else. */
const char *jail_layer_name(unsigned layer);

/* Append the names of the layers in mask to b, separated by ' '. */
void jail_layers_describe(unsigned mask, struct buf *b);

#endif

/*
 * jail_int.h — what the jail's files share and nothing else sees: the plan
 * the parent computes for one call (every path resolved, every string
 * formatted, the BPF program built) and the child carries out.  The child
 * runs after a raw clone of a possibly multithreaded process, so it may not
 * allocate, lock or use stdio: everything it needs is in the plan, and the
 * functions marked "child" below use system calls and stack buffers only.
 */
#ifndef FORJA_JAIL_INT_H
#define FORJA_JAIL_INT_H
#ifdef __linux__

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <linux/filter.h>

#include "forja/buf.h"
#include "forja/ferr.h"
#include "forja/jail.h"
#include "jail_common.h"

/* ---- Landlock, defined here: Debian 12's headers stop at ABI 2 ---------- */

#define JAIL_LL_EXECUTE (1ULL << 0)
#define JAIL_LL_WRITE_FILE (1ULL << 1)
#define JAIL_LL_READ_FILE (1ULL << 2)
#define JAIL_LL_READ_DIR (1ULL << 3)
#define JAIL_LL_REMOVE_DIR (1ULL << 4)
#define JAIL_LL_REMOVE_FILE (1ULL << 5)
#define JAIL_LL_MAKE_CHAR (1ULL << 6)
#define JAIL_LL_MAKE_DIR (1ULL << 7)
#define JAIL_LL_MAKE_REG (1ULL << 8)
#define JAIL_LL_MAKE_SOCK (1ULL << 9)
#define JAIL_LL_MAKE_FIFO (1ULL << 10)
#define JAIL_LL_MAKE_BLOCK (1ULL << 11)
#define JAIL_LL_MAKE_SYM (1ULL << 12)
#define JAIL_LL_REFER (1ULL << 13)        /* ABI 2 */
#define JAIL_LL_TRUNCATE (1ULL << 14)     /* ABI 3 */
#define JAIL_LL_IOCTL_DEV (1ULL << 15)    /* ABI 5 */
#define JAIL_LL_RESOLVE_UNIX (1ULL << 16) /* ABI 9 */
#define JAIL_LL_NET_BIND_TCP (1ULL << 0)  /* ABI 4 */
#define JAIL_LL_NET_CONNECT_TCP (1ULL << 1)
#define JAIL_LL_SCOPE_ABSTRACT_UNIX (1ULL << 0) /* ABI 6 */
#define JAIL_LL_SCOPE_SIGNAL (1ULL << 1)
/* Rights that apply to a file (not a directory) in a path-beneath rule. */
#define JAIL_LL_FILE_RIGHTS (JAIL_LL_EXECUTE | JAIL_LL_WRITE_FILE | JAIL_LL_READ_FILE | \
			     JAIL_LL_TRUNCATE | JAIL_LL_IOCTL_DEV | JAIL_LL_RESOLVE_UNIX)
#define JAIL_LL_RO (JAIL_LL_EXECUTE | JAIL_LL_READ_FILE | JAIL_LL_READ_DIR)
#define JAIL_LL_ALL ((1ULL << 17) - 1)

struct jail_ll_rule {
	char *path;
	uint64_t access;          /* masked to the ABI; files keep file rights */
};

/* ---- the mount plan -------------------------------------------------------- */

enum jail_op_kind {
	JAIL_OP_TMPFS,    /* a private, writable tmpfs (data: its options) */
	JAIL_OP_BIND_RW,  /* path bound onto itself, writable */
	JAIL_OP_BIND_RO,  /* path bound onto itself, read-only */
	JAIL_OP_HIDE,     /* an empty read-only directory, or /dev/null for a file */
	JAIL_OP_DEV,      /* the minimal /dev (a tmpfs, device binds, devpts, shm) */
};

struct jail_op {
	enum jail_op_kind kind;
	char *path;       /* absolute, symlinks resolved; the mount target */
	char *data;       /* tmpfs options for TMPFS; NULL otherwise */
	bool is_dir;      /* what path was when the plan was made */
	bool nofollow;    /* the last component must not be a symlink (workspace entries) */
	int fd;           /* child: O_PATH of the source, opened before any mask */
};

#define JAIL_NDEV 6 /* null zero full random urandom tty */

/* One status record, written whole (it is under PIPE_BUF) on the status
 * pipe by the child or the init. */
enum jail_rec_kind {
	JAIL_REC_SETUP = 'S',  /* a layer could not be applied: code is an errno */
	JAIL_REC_EXEC = 'E',   /* execve failed: code is its errno */
	JAIL_REC_WAIT = 'W',   /* init: the command's wait status */
};
struct jail_rec {
	char kind;
	char pad[3];
	int layer;        /* JAIL_LAYER_* a SETUP record is about */
	int code;
	char msg[244];
};

struct jail_plan {
	unsigned layers;            /* what this call sets up */
	uint64_t clone_flags;
	bool userns;
	int netns_fd;               /* join this network namespace; -1: none */
	char uid_map[48], gid_map[48];

	/* MOUNT: ops in the order run (depth, then kind); dev_src: the host's
	 * device nodes bound into the new /dev */
	struct jail_op *ops;
	size_t nops;
	int dev_fd[JAIL_NDEV];
	char tmpfs_size[48];        /* ",size=N" for the private tmpfs */
	/* kernels without mount_setattr: every mount point to remount read-only */
	char **ro_mounts;
	size_t nro_mounts;
	char *cwd;

	/* cgroup v1: fds of cgroup.procs the init writes "0" to; -1 none */
	int cg_procs_fd[2];

	/* the command; argv NULL: a probe, _exit(0) where execve would be */
	char *const *argv;
	char **envp;
	const char *path_var;
	int null_fd, out_fd, err_fd, status_fd;

	/* limits */
	uint64_t fsize;             /* 0: none */
	long nproc;                 /* RLIMIT_NPROC; 0: leave it */

	/* Landlock */
	int ll_abi;
	uint64_t ll_fs, ll_net, ll_scoped;
	struct jail_ll_rule *rules;
	size_t nrules;

	/* seccomp */
	struct sock_filter *filter;
	unsigned short filter_len;
};

/* ---- jail_child.c ------------------------------------------------------------ */

/* Child: the function clone runs.  Sets up namespaces, mounts, the init
 * (PID namespace) and the command, then execve or _exit.  Never returns. */
_Noreturn void jail_child_main(struct jail_plan *p);

/* ---- jail_landlock.c ---------------------------------------------------------- */

/* The kernel's Landlock ABI, 0 when missing or disabled. */
int jail_landlock_abi(void);
/* Parent: fill p's handled sets and rules for the layers and paths given. */
void jail_landlock_plan(struct jail_plan *p, int abi, bool network, bool mount_ns,
			const char *workspace, const char *const *ro, const char *const *rw,
			const char *const *private_rw);
/* Child: build the ruleset (*fd) from p; -1 with errno and *what set. */
int jail_landlock_prepare(const struct jail_plan *p, int *fd, const char **what);
/* Child: restrict this thread with the ruleset fd (after NO_NEW_PRIVS). */
int jail_landlock_enforce(int fd);

/* ---- jail_seccomp.c ------------------------------------------------------------ */

/* The BPF program for this architecture into prog (cap instructions):
 * returns its length, or 0 when this architecture is not supported. */
size_t jail_seccomp_build(bool network, struct sock_filter *prog, size_t cap);
#define JAIL_SECCOMP_MAX 256
/* Whether the kernel has seccomp filters and this architecture a program. */
bool jail_seccomp_available(void);
/* Child: install p's filter (after NO_NEW_PRIVS); -1 with errno. */
int jail_seccomp_install(const struct jail_plan *p);

/* ---- jail_cgroup.c --------------------------------------------------------------- */

struct jail_cgroup {
	int version;         /* 0 none, 1, 2 */
	char *dir[2];        /* v1: pids, memory; v2: dir[0] */
	int procs_fd[2];     /* v1: cgroup.procs of each, for the child */
	int dir_fd;          /* v2: for CLONE_INTO_CGROUP */
};

/* Parent: find a usable cgroup setup for this process (caps->cgroup_*). */
void jail_cgroup_probe(struct jail_caps *caps, struct buf *why);
/* Parent: make this call's cgroup with its limits (0: none). */
int jail_cgroup_create(const struct jail_caps *caps, uint64_t memory_bytes, long max_processes,
		       struct jail_cgroup *cg, struct ferr *e);
/* Parent: kill every process in it; true when it is empty afterwards. */
bool jail_cgroup_kill(struct jail_cgroup *cg);
/* Parent: whether the memory limit killed something / a fork hit pids.max. */
void jail_cgroup_events(const struct jail_cgroup *cg, bool *oom, bool *pids);
/* Parent: wait until empty (bounded), remove it, close its fds. */
void jail_cgroup_destroy(struct jail_cgroup *cg);

#endif /* __linux__ */
#endif

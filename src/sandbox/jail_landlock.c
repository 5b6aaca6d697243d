/*
 * jail_landlock.c — the jail's Landlock ruleset: which paths a jailed
 * command may read, execute and write, TCP when the network is off, and the
 * scopes (signals, abstract unix sockets).  The constants and structs are
 * our own (jail_int.h): Debian 12's uapi headers stop at ABI 2.  The
 * handled set is every right the running kernel's ABI knows, masked the way
 * the kernel documentation's compatibility table does, so an older kernel
 * gets the best ruleset it can enforce, and the ABI used is reported.
 */
#ifdef __linux__ /* the macOS half is jail_darwin.c */
#include "jail_int.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef __NR_landlock_create_ruleset
#define __NR_landlock_create_ruleset 444
#define __NR_landlock_add_rule 445
#define __NR_landlock_restrict_self 446
#endif
#define LL_CREATE_RULESET_VERSION (1U << 0)
#define LL_RULE_PATH_BENEATH 1

struct ll_ruleset_attr {
	uint64_t handled_access_fs;
	uint64_t handled_access_net;
	uint64_t scoped;
};

struct ll_path_beneath_attr {
	uint64_t allowed_access;
	int32_t parent_fd;
} __attribute__((packed));

int jail_landlock_abi(void)
{
	long abi = syscall(__NR_landlock_create_ruleset, NULL, 0, LL_CREATE_RULESET_VERSION);

	return abi < 0 ? 0 : (int)abi;
}

/* The filesystem rights ABI abi handles. */
static uint64_t fs_rights(int abi)
{
	uint64_t r = JAIL_LL_ALL;

	if (abi < 9)
		r &= ~JAIL_LL_RESOLVE_UNIX;
	if (abi < 5)
		r &= ~JAIL_LL_IOCTL_DEV;
	if (abi < 3)
		r &= ~JAIL_LL_TRUNCATE;
	if (abi < 2)
		r &= ~JAIL_LL_REFER;
	return r;
}

static void add_rule(struct jail_plan *p, size_t *cap, const char *path, uint64_t access)
{
	if (!path || !*path)
		return;
	if (p->nrules == *cap) {
		*cap = *cap ? *cap * 2 : 32;
		p->rules = xrealloc(p->rules, *cap * sizeof *p->rules);
	}
	p->rules[p->nrules].path = xstrdup(path);
	/* RESOLVE_UNIX is never granted: no socket made outside the jail is
	 * reachable by path (sockets made inside it still are). */
	p->rules[p->nrules].access = access & p->ll_fs & ~JAIL_LL_RESOLVE_UNIX;
	p->nrules++;
}

void jail_landlock_plan(struct jail_plan *p, int abi, bool network, bool mount_ns,
			const char *workspace, const char *const *ro, const char *const *rw,
			const char *const *private_rw)
{
	static const char *const system_ro[] = {
		"/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc", "/opt",
		"/nix/store", NULL,
	};
	static const char *const proc_ro[] = {
		"/proc", "/sys/devices/system/cpu", "/sys/fs/cgroup", NULL,
	};
	const uint64_t dev_rw = JAIL_LL_READ_FILE | JAIL_LL_WRITE_FILE | JAIL_LL_TRUNCATE |
				JAIL_LL_IOCTL_DEV;
	size_t cap = 0;
	size_t i;

	p->ll_abi = abi;
	if (abi <= 0)
		return;
	p->ll_fs = fs_rights(abi);
	/* Pathname unix sockets: none of the host's may be reached, with the
	 * network on or off (a socket made inside the jail stays reachable). */
	p->ll_net = (!network && abi >= 4) ? JAIL_LL_NET_BIND_TCP | JAIL_LL_NET_CONNECT_TCP : 0;
	p->ll_scoped = abi >= 6 ? JAIL_LL_SCOPE_ABSTRACT_UNIX | JAIL_LL_SCOPE_SIGNAL : 0;

	for (i = 0; system_ro[i]; i++)
		add_rule(p, &cap, system_ro[i], JAIL_LL_RO);
	for (i = 0; proc_ro[i]; i++)
		add_rule(p, &cap, proc_ro[i], JAIL_LL_READ_FILE | JAIL_LL_READ_DIR);
	for (i = 0; ro && ro[i]; i++)
		add_rule(p, &cap, ro[i], JAIL_LL_RO);
	add_rule(p, &cap, workspace, JAIL_LL_ALL);
	for (i = 0; rw && rw[i]; i++)
		add_rule(p, &cap, rw[i], JAIL_LL_ALL);
	for (i = 0; private_rw && private_rw[i]; i++)
		add_rule(p, &cap, private_rw[i], JAIL_LL_ALL);

	/* Devices by name, never /dev as a whole: a capability-less root could
	 * otherwise open the host's disks (brw-rw---- root). */
	add_rule(p, &cap, "/dev", JAIL_LL_READ_DIR);
	add_rule(p, &cap, "/dev/null", dev_rw);
	add_rule(p, &cap, "/dev/zero", dev_rw);
	add_rule(p, &cap, "/dev/full", dev_rw);
	add_rule(p, &cap, "/dev/random", JAIL_LL_READ_FILE);
	add_rule(p, &cap, "/dev/urandom", JAIL_LL_READ_FILE);
	add_rule(p, &cap, "/dev/tty", dev_rw);
	if (mount_ns) {
		/* the jail's own devpts instance and shm; the host's are not seen */
		add_rule(p, &cap, "/dev/pts", dev_rw | JAIL_LL_READ_DIR);
		add_rule(p, &cap, "/dev/ptmx", dev_rw);
		add_rule(p, &cap, "/dev/shm", JAIL_LL_ALL);
	}
}

int jail_landlock_prepare(const struct jail_plan *p, int *fd, const char **what)
{
	struct ll_ruleset_attr attr = { p->ll_fs, p->ll_net, p->ll_scoped };
	size_t size = p->ll_abi >= 6 ? 24 : p->ll_abi >= 4 ? 16 : 8;
	size_t i;
	int rfd;

	*fd = -1;
	*what = "landlock_create_ruleset";
	rfd = (int)syscall(__NR_landlock_create_ruleset, &attr, size, 0);
	if (rfd < 0)
		return -1;
	for (i = 0; i < p->nrules; i++) {
		struct ll_path_beneath_attr pb;
		struct stat st;
		int pfd = open(p->rules[i].path, O_PATH | O_CLOEXEC);

		if (pfd < 0) {
			if (errno == ENOENT || errno == ENOTDIR)
				continue;
			*what = p->rules[i].path;
			goto fail;
		}
		pb.allowed_access = p->rules[i].access;
		if (fstat(pfd, &st) == 0 && !S_ISDIR(st.st_mode))
			pb.allowed_access &= JAIL_LL_FILE_RIGHTS;
		pb.parent_fd = pfd;
		if (pb.allowed_access &&
		    syscall(__NR_landlock_add_rule, rfd, LL_RULE_PATH_BENEATH, &pb, 0) < 0) {
			int err = errno;

			close(pfd);
			errno = err;
			*what = p->rules[i].path;
			goto fail;
		}
		close(pfd);
	}
	*fd = rfd;
	return 0;
fail:
	{
		int err = errno;

		close(rfd);
		errno = err;
	}
	return -1;
}

int jail_landlock_enforce(int fd)
{
	return (int)syscall(__NR_landlock_restrict_self, fd, 0);
}

#else
/* ISO C wants a declaration in every translation unit. */
typedef int jail_landlock_is_linux_only;
#endif /* __linux__ */

/*
 * jail_seccomp.c — the jail's seccomp filter, written as raw classic BPF.
 *
 * Why raw BPF and not libseccomp: the filter is a short, fixed deny-list
 * with four argument checks, which is a page of code here; it adds no
 * library to link (the Makefile's package list stays as it is); and every
 * argument check is written on the 32 bits the kernel actually reads.  That
 * last point is a real pitfall: ioctl's request, socket's family and
 * clone's flags are truncated to 32 bits by the kernel, so a filter that
 * compares all 64 bits (libseccomp's default) is bypassed by setting a high
 * bit (flatpak's TIOCSTI filter, CVE-2019-10063).  The one 64-bit check,
 * sendto's address pointer, tests both halves.
 *
 * Shape: a foreign architecture (i386 int 0x80, where socketcall would
 * hide socket families) and x32 numbers kill the process; denied calls
 * return EPERM (clone3 returns ENOSYS so that libc falls back to clone,
 * whose flags can be seen); everything else is allowed.
 */
#ifdef __linux__ /* the macOS half is jail_darwin.c */
#include "jail_int.h"

#include <errno.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/audit.h>
#include <linux/sched.h>
#include <linux/seccomp.h>

#if defined(__x86_64__)
#define JAIL_ARCH AUDIT_ARCH_X86_64
#define JAIL_X32_BIT 0x40000000u
#elif defined(__aarch64__)
#define JAIL_ARCH AUDIT_ARCH_AARCH64
#endif

#ifndef SECCOMP_RET_KILL_PROCESS
#define SECCOMP_RET_KILL_PROCESS 0x80000000U
#endif
#ifndef CLONE_NEWCGROUP
#define CLONE_NEWCGROUP 0x02000000
#endif
#ifndef AF_VSOCK
#define AF_VSOCK 40
#endif

/* Numbers from the unified table (>= 424) are the same on every
 * architecture; older headers may lack them. */
#ifndef __NR_pidfd_getfd
#define __NR_pidfd_getfd 438
#endif
#ifndef __NR_io_uring_setup
#define __NR_io_uring_setup 425
#define __NR_io_uring_enter 426
#define __NR_io_uring_register 427
#endif
#ifndef __NR_open_tree
#define __NR_open_tree 428
#define __NR_move_mount 429
#define __NR_fsopen 430
#define __NR_fsconfig 431
#define __NR_fsmount 432
#define __NR_fspick 433
#endif
#ifndef __NR_clone3
#define __NR_clone3 435
#endif
#ifndef __NR_mount_setattr
#define __NR_mount_setattr 442
#endif
#ifndef __NR_quotactl_fd
#define __NR_quotactl_fd 443
#endif

#define TIOCSTI_NR 0x5412u
#define TIOCLINUX_NR 0x541Cu

#define CLONE_NS_FLAGS (CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | \
			CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET)

#define RET_ERRNO(err) (SECCOMP_RET_ERRNO | ((err) & SECCOMP_RET_DATA))

/* Offsets of the low and high halves of argument i. */
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define ARG_LO(i) ((unsigned)(offsetof(struct seccomp_data, args) + 8 * (i)))
#define ARG_HI(i) ((unsigned)(offsetof(struct seccomp_data, args) + 8 * (i) + 4))
#else
#define ARG_LO(i) ((unsigned)(offsetof(struct seccomp_data, args) + 8 * (i) + 4))
#define ARG_HI(i) ((unsigned)(offsetof(struct seccomp_data, args) + 8 * (i)))
#endif

/* Always denied with EPERM. */
static const int deny_always[] = {
	__NR_ptrace, __NR_process_vm_readv, __NR_process_vm_writev, __NR_pidfd_getfd,
	__NR_io_uring_setup, __NR_io_uring_enter, __NR_io_uring_register,
	__NR_bpf, __NR_perf_event_open, __NR_userfaultfd,
	__NR_keyctl, __NR_add_key, __NR_request_key,
	__NR_mount, __NR_umount2, __NR_pivot_root, __NR_chroot,
	__NR_open_tree, __NR_move_mount, __NR_fsopen, __NR_fsconfig, __NR_fsmount, __NR_fspick,
	__NR_mount_setattr,
	__NR_unshare, __NR_setns,
	__NR_kexec_load,
#ifdef __NR_kexec_file_load
	__NR_kexec_file_load,
#endif
	__NR_init_module, __NR_finit_module, __NR_delete_module,
	__NR_reboot, __NR_swapon, __NR_swapoff, __NR_acct,
	__NR_settimeofday, __NR_clock_settime, __NR_clock_adjtime, __NR_adjtimex,
	__NR_quotactl, __NR_quotactl_fd, __NR_open_by_handle_at,
	__NR_syslog, __NR_vhangup, __NR_sethostname, __NR_setdomainname,
	__NR_fanotify_init,
#ifdef __NR_iopl
	__NR_iopl,
#endif
#ifdef __NR_ioperm
	__NR_ioperm,
#endif
#ifdef __NR_uselib
	__NR_uselib,
#endif
};

/* Denied with EPERM when the network is off.  (socket, socketpair and
 * sendto have argument checks of their own.) */
static const int deny_offline[] = {
	__NR_connect, __NR_bind, __NR_listen, __NR_accept, __NR_accept4,
	__NR_sendmmsg, __NR_recvmmsg,
};

struct prog {
	struct sock_filter *ins;
	size_t len, cap;
};

static void emit(struct prog *p, unsigned short code, unsigned char jt, unsigned char jf,
		 unsigned k)
{
	if (p->len < p->cap)
		p->ins[p->len] = (struct sock_filter){ code, jt, jf, k };
	p->len++;
}

static void ld(struct prog *p, unsigned off)
{
	emit(p, BPF_LD | BPF_W | BPF_ABS, 0, 0, off);
}

static void ret(struct prog *p, unsigned action)
{
	emit(p, BPF_RET | BPF_K, 0, 0, action);
}

/* if (nr == n) return action; — the accumulator holds nr before and after. */
static void deny_nr(struct prog *p, int n, unsigned action)
{
	emit(p, BPF_JMP | BPF_JEQ | BPF_K, 0, 1, (unsigned)n);
	ret(p, action);
}

/* if (nr == n) { return (low32(arg) is one of v[0..nv)) == allow_listed ?
 * ALLOW : EPERM; }  Each block ends in a return, so the accumulator needs
 * no reload after it. */
static void arg_block(struct prog *p, int n, unsigned arg, const unsigned *v, unsigned char nv,
		      bool listed_is_allowed)
{
	unsigned char i;

	emit(p, BPF_JMP | BPF_JEQ | BPF_K, 0, (unsigned char)(nv + 3), (unsigned)n);
	ld(p, ARG_LO(arg));
	for (i = 0; i < nv; i++)
		/* a match jumps to the "listed" return, nv - i - 1 tests later + 1 */
		emit(p, BPF_JMP | BPF_JEQ | BPF_K, (unsigned char)(nv - i), 0, v[i]);
	ret(p, listed_is_allowed ? RET_ERRNO(EPERM) : SECCOMP_RET_ALLOW);
	ret(p, listed_is_allowed ? SECCOMP_RET_ALLOW : RET_ERRNO(EPERM));
}

size_t jail_seccomp_build(bool network, struct sock_filter *prog, size_t cap)
{
#ifdef JAIL_ARCH
	struct prog p = { prog, 0, cap };
	static const unsigned tty_cmds[] = { TIOCSTI_NR, TIOCLINUX_NR };
	static const unsigned unix_only[] = { AF_UNIX };
	static const unsigned vsock[] = { AF_VSOCK };
	size_t i;

	ld(&p, (unsigned)offsetof(struct seccomp_data, arch));
	emit(&p, BPF_JMP | BPF_JEQ | BPF_K, 1, 0, JAIL_ARCH);
	ret(&p, SECCOMP_RET_KILL_PROCESS);
	ld(&p, (unsigned)offsetof(struct seccomp_data, nr));
#ifdef JAIL_X32_BIT
	emit(&p, BPF_JMP | BPF_JGE | BPF_K, 0, 1, JAIL_X32_BIT);
	ret(&p, SECCOMP_RET_KILL_PROCESS);
#endif
	for (i = 0; i < sizeof deny_always / sizeof deny_always[0]; i++)
		deny_nr(&p, deny_always[i], RET_ERRNO(EPERM));
	deny_nr(&p, __NR_clone3, RET_ERRNO(ENOSYS));
	if (!network)
		for (i = 0; i < sizeof deny_offline / sizeof deny_offline[0]; i++)
			deny_nr(&p, deny_offline[i], RET_ERRNO(EPERM));

	/* clone: EPERM when any namespace flag is set (the kernel reads the low
	 * 32 bits of the flags). */
	emit(&p, BPF_JMP | BPF_JEQ | BPF_K, 0, 4, __NR_clone);
	ld(&p, ARG_LO(0));
	emit(&p, BPF_JMP | BPF_JSET | BPF_K, 1, 0, CLONE_NS_FLAGS);
	ret(&p, SECCOMP_RET_ALLOW);
	ret(&p, RET_ERRNO(EPERM));
	ld(&p, (unsigned)offsetof(struct seccomp_data, nr));

	/* ioctl: TIOCSTI and TIOCLINUX (request is an unsigned int). */
	arg_block(&p, __NR_ioctl, 1, tty_cmds, 2, false);
	ld(&p, (unsigned)offsetof(struct seccomp_data, nr));

	if (network) {
		/* AF_VSOCK reaches the host of a VM (WSL2's interop bridge). */
		arg_block(&p, __NR_socket, 0, vsock, 1, false);
		ld(&p, (unsigned)offsetof(struct seccomp_data, nr));
		arg_block(&p, __NR_socketpair, 0, vsock, 1, false);
	} else {
		arg_block(&p, __NR_socket, 0, unix_only, 1, true);
		ld(&p, (unsigned)offsetof(struct seccomp_data, nr));
		arg_block(&p, __NR_socketpair, 0, unix_only, 1, true);
		ld(&p, (unsigned)offsetof(struct seccomp_data, nr));
		/* sendto with a destination address (arg 4, a pointer: both
		 * halves); send() is sendto with NULL and keeps working. */
		emit(&p, BPF_JMP | BPF_JEQ | BPF_K, 0, 6, __NR_sendto);
		ld(&p, ARG_LO(4));
		emit(&p, BPF_JMP | BPF_JEQ | BPF_K, 0, 3, 0);
		ld(&p, ARG_HI(4));
		emit(&p, BPF_JMP | BPF_JEQ | BPF_K, 0, 1, 0);
		ret(&p, SECCOMP_RET_ALLOW);
		ret(&p, RET_ERRNO(EPERM));
	}
	ret(&p, SECCOMP_RET_ALLOW);
	return p.len <= cap ? p.len : 0;
#else
	(void)network;
	(void)prog;
	(void)cap;
	return 0;
#endif
}

bool jail_seccomp_available(void)
{
	struct sock_filter prog[JAIL_SECCOMP_MAX];
	unsigned action = SECCOMP_RET_ERRNO;

	if (jail_seccomp_build(false, prog, JAIL_SECCOMP_MAX) == 0)
		return false;
	if (prctl(PR_GET_SECCOMP, 0, 0, 0, 0) < 0)
		return false;
	return syscall(__NR_seccomp, SECCOMP_GET_ACTION_AVAIL, 0, &action) == 0;
}

int jail_seccomp_install(const struct jail_plan *p)
{
	struct sock_fprog fprog = { p->filter_len, p->filter };

	if (!p->filter || p->filter_len == 0) {
		errno = ENOSYS;
		return -1;
	}
	return (int)syscall(__NR_seccomp, SECCOMP_SET_MODE_FILTER, 0, &fprog);
}

#else
/* ISO C wants a declaration in every translation unit. */
typedef int jail_seccomp_is_linux_only;
#endif /* __linux__ */

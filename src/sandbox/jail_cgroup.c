/*
 * jail_cgroup.c — one cgroup per jailed call, for pids.max (root ignores
 * RLIMIT_NPROC) and the memory limit, and to find and kill whatever the
 * call left behind.  Each call's cgroup is a child of the cgroup this
 * process is in, so limits set above forja still bound it.  v2 is used
 * only when this process's cgroup already delegates pids and memory to its
 * children; the jail never moves processes or enables controllers (the v2
 * "no internal processes" rule would make that a change to forja's own
 * placement).  Otherwise the v1 pids and memory hierarchies, when
 * writable (hybrid systems, root in CI).
 */
#ifdef __linux__ /* the macOS half is jail_darwin.c */
#include "jail_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

static int read_small(const char *path, char *out, size_t cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, out, cap - 1);
	close(fd);
	if (n < 0)
		return -1;
	out[n] = '\0';
	return 0;
}

static int write_value(const char *dir, const char *file, const char *value)
{
	char path[PATH_MAX];
	int fd, rc = 0;
	size_t len = strlen(value);

	if (snprintf(path, sizeof path, "%s/%s", dir, file) >= (int)sizeof path)
		return -1;
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (write(fd, value, len) != (ssize_t)len)
		rc = -1;
	close(fd);
	return rc;
}

/* Whether word appears in the space- or comma-separated list s. */
static bool has_word(const char *s, const char *word)
{
	size_t wl = strlen(word);

	while (*s) {
		size_t n = strcspn(s, " ,\n");

		if (n == wl && memcmp(s, word, wl) == 0)
			return true;
		s += n;
		s += strspn(s, " ,\n");
	}
	return false;
}

/* Whether a child cgroup can be made and removed in dir. */
static bool can_mkdir(const char *dir)
{
	char path[PATH_MAX];
	unsigned r = 0;

	if (getrandom(&r, sizeof r, GRND_NONBLOCK) < 0)
		r = (unsigned)time(NULL);
	if (snprintf(path, sizeof path, "%s/forja-probe-%d-%08x", dir, (int)getpid(), r) >=
	    (int)sizeof path)
		return false;
	if (mkdir(path, 0755) < 0)
		return false;
	rmdir(path);
	return true;
}

/* The v1 mount point of controller (from mountinfo) joined with this
 * process's path in it (from /proc/self/cgroup), into out. */
static bool v1_dir(const char *controller, char *out, size_t cap)
{
	char line[4096], mnt[PATH_MAX] = "", root[PATH_MAX] = "", path[PATH_MAX] = "";
	FILE *f = fopen("/proc/self/mountinfo", "re");
	const char *rel;

	if (!f)
		return false;
	while (fgets(line, sizeof line, f)) {
		char *dash = strstr(line, " - ");
		char fstype[64], source[256], opts[1024];
		char r[PATH_MAX], m[PATH_MAX];

		if (!dash || sscanf(dash, " - %63s %255s %1023s", fstype, source, opts) != 3)
			continue;
		if (strcmp(fstype, "cgroup") != 0 || !has_word(opts, controller))
			continue;
		if (sscanf(line, "%*s %*s %*s %4095s %4095s", r, m) != 2)
			continue;
		snprintf(root, sizeof root, "%s", r);
		snprintf(mnt, sizeof mnt, "%s", m);
		break;
	}
	fclose(f);
	if (!*mnt)
		return false;
	f = fopen("/proc/self/cgroup", "re");
	if (!f)
		return false;
	while (fgets(line, sizeof line, f)) {
		char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;

		if (!c2)
			continue;
		*c2 = '\0';
		if (!has_word(c1 + 1, controller))
			continue;
		c2[1 + strcspn(c2 + 1, "\n")] = '\0';
		snprintf(path, sizeof path, "%s", c2 + 1);
		break;
	}
	fclose(f);
	if (!*path)
		return false;
	rel = path;
	if (strcmp(root, "/") != 0) {
		size_t rl = strlen(root);

		if (strncmp(path, root, rl) != 0 || (path[rl] != '/' && path[rl] != '\0'))
			return false;
		rel = path + rl;
	}
	if (strcmp(rel, "/") == 0)
		rel = "";
	return snprintf(out, cap, "%s%s", mnt, rel) < (int)cap;
}

static bool v2_dir(char *out, size_t cap, struct buf *why)
{
	char line[4096], ctl[512];
	const char *mnt = NULL;
	struct statfs sf;
	FILE *f;

	if (statfs("/sys/fs/cgroup", &sf) == 0 && sf.f_type == CGROUP2_SUPER_MAGIC)
		mnt = "/sys/fs/cgroup";
	else if (statfs("/sys/fs/cgroup/unified", &sf) == 0 && sf.f_type == CGROUP2_SUPER_MAGIC)
		mnt = "/sys/fs/cgroup/unified";
	if (!mnt)
		return false;
	f = fopen("/proc/self/cgroup", "re");
	if (!f)
		return false;
	*out = '\0';
	while (fgets(line, sizeof line, f)) {
		if (strncmp(line, "0::", 3) == 0) {
			line[strcspn(line, "\n")] = '\0';
			if (snprintf(out, cap, "%s%s", mnt,
				     strcmp(line + 3, "/") == 0 ? "" : line + 3) >= (int)cap)
				*out = '\0';
			break;
		}
	}
	fclose(f);
	if (!*out)
		return false;
	if (snprintf(line, sizeof line, "%s/cgroup.subtree_control", out) >= (int)sizeof line ||
	    read_small(line, ctl, sizeof ctl) < 0)
		return false;
	if (!has_word(ctl, "pids") || !has_word(ctl, "memory")) {
		/* only worth saying on a pure v2 system */
		if (strcmp(mnt, "/sys/fs/cgroup") == 0)
			buf_printf(why, "cgroup: v2 cgroup %s does not delegate pids and memory to "
				   "its children (cgroup.subtree_control: \"%.*s\")\n", out,
				   (int)strcspn(ctl, "\n"), ctl);
		return false;
	}
	return can_mkdir(out);
}

/* Remove the cgroups of calls whose forja died before cleaning up
 * ("forja-<pid>-<hex>" with no such process left); rmdir only succeeds on
 * an empty one. */
static void sweep_stale(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;

	if (!d)
		return;
	while ((de = readdir(d)) != NULL) {
		char path[PATH_MAX], *end;
		long pid;

		if (strncmp(de->d_name, "forja-", 6) != 0)
			continue;
		pid = strtol(de->d_name + 6, &end, 10);
		if (pid <= 0 || *end != '-' || pid == (long)getpid() ||
		    kill((pid_t)pid, 0) == 0 || errno != ESRCH)
			continue;
		if (snprintf(path, sizeof path, "%s/%s", dir, de->d_name) < (int)sizeof path)
			rmdir(path);
	}
	closedir(d);
}

void jail_cgroup_probe(struct jail_caps *caps, struct buf *why)
{
	caps->cgroup_version = 0;
	caps->cgroup_pids[0] = caps->cgroup_memory[0] = '\0';
	if (v2_dir(caps->cgroup_pids, sizeof caps->cgroup_pids, why)) {
		caps->cgroup_version = 2;
		sweep_stale(caps->cgroup_pids);
		return;
	}
	caps->cgroup_pids[0] = '\0';
	if (!v1_dir("pids", caps->cgroup_pids, sizeof caps->cgroup_pids) ||
	    !can_mkdir(caps->cgroup_pids))
		caps->cgroup_pids[0] = '\0';
	if (!v1_dir("memory", caps->cgroup_memory, sizeof caps->cgroup_memory) ||
	    !can_mkdir(caps->cgroup_memory))
		caps->cgroup_memory[0] = '\0';
	if (caps->cgroup_pids[0] || caps->cgroup_memory[0])
		caps->cgroup_version = 1;
	if (caps->cgroup_pids[0])
		sweep_stale(caps->cgroup_pids);
	if (caps->cgroup_memory[0])
		sweep_stale(caps->cgroup_memory);
}

static char *make_child(const char *base, const char *name, struct ferr *e)
{
	struct buf b = BUF_INIT;

	buf_printf(&b, "%s/%s", base, name);
	if (mkdir(b.data, 0755) < 0) {
		ferr_set(e, FERR_IO, "cgroup %s: %s", b.data, strerror(errno));
		buf_release(&b);
		return NULL;
	}
	return buf_steal(&b);
}

int jail_cgroup_create(const struct jail_caps *caps, uint64_t memory_bytes, long max_processes,
		       struct jail_cgroup *cg, struct ferr *e)
{
	char name[64], num[32];
	unsigned long long r = 0;
	int i;

	cg->version = 0;
	cg->dir[0] = cg->dir[1] = NULL;
	cg->procs_fd[0] = cg->procs_fd[1] = cg->dir_fd = -1;
	if (caps->cgroup_version == 0)
		return 0;
	if (getrandom(&r, sizeof r, GRND_NONBLOCK) < 0)
		r = (unsigned long long)time(NULL) ^ (unsigned long long)clock();
	snprintf(name, sizeof name, "forja-%d-%016llx", (int)getpid(), r);
	cg->version = caps->cgroup_version;

	if (caps->cgroup_version == 2) {
		cg->dir[0] = make_child(caps->cgroup_pids, name, e);
		if (!cg->dir[0])
			goto fail;
		if (memory_bytes) {
			snprintf(num, sizeof num, "%llu", (unsigned long long)memory_bytes);
			if (write_value(cg->dir[0], "memory.max", num) < 0) {
				ferr_set(e, FERR_IO, "cgroup %s/memory.max: %s", cg->dir[0],
					 strerror(errno));
				goto fail;
			}
			write_value(cg->dir[0], "memory.swap.max", "0");
		}
		if (max_processes > 0) {
			snprintf(num, sizeof num, "%ld", max_processes + 1); /* + the init */
			if (write_value(cg->dir[0], "pids.max", num) < 0) {
				ferr_set(e, FERR_IO, "cgroup %s/pids.max: %s", cg->dir[0],
					 strerror(errno));
				goto fail;
			}
		}
		cg->dir_fd = open(cg->dir[0], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (cg->dir_fd < 0) {
			ferr_set(e, FERR_IO, "cgroup %s: %s", cg->dir[0], strerror(errno));
			goto fail;
		}
		return 0;
	}

	if (caps->cgroup_pids[0]) {
		cg->dir[0] = make_child(caps->cgroup_pids, name, e);
		if (!cg->dir[0])
			goto fail;
		if (max_processes > 0) {
			snprintf(num, sizeof num, "%ld", max_processes + 1);
			if (write_value(cg->dir[0], "pids.max", num) < 0) {
				ferr_set(e, FERR_IO, "cgroup %s/pids.max: %s", cg->dir[0],
					 strerror(errno));
				goto fail;
			}
		}
	}
	if (caps->cgroup_memory[0] && memory_bytes) {
		cg->dir[1] = make_child(caps->cgroup_memory, name, e);
		if (!cg->dir[1])
			goto fail;
		snprintf(num, sizeof num, "%llu", (unsigned long long)memory_bytes);
		if (write_value(cg->dir[1], "memory.limit_in_bytes", num) < 0) {
			ferr_set(e, FERR_IO, "cgroup %s/memory.limit_in_bytes: %s", cg->dir[1],
				 strerror(errno));
			goto fail;
		}
		/* with swap accounting, swap counts too (absent without it) */
		write_value(cg->dir[1], "memory.memsw.limit_in_bytes", num);
	}
	for (i = 0; i < 2; i++) {
		char path[PATH_MAX];

		if (!cg->dir[i])
			continue;
		snprintf(path, sizeof path, "%s/cgroup.procs", cg->dir[i]);
		cg->procs_fd[i] = open(path, O_WRONLY | O_CLOEXEC);
		if (cg->procs_fd[i] < 0) {
			ferr_set(e, FERR_IO, "cgroup %s: %s", path, strerror(errno));
			goto fail;
		}
	}
	return 0;
fail:
	jail_cgroup_destroy(cg);
	return -1;
}

/* Send SIGKILL to every pid in dir/cgroup.procs; how many there were. */
static int kill_listed(const char *dir)
{
	char path[PATH_MAX], data[8192];
	char *s, *end;
	int n = 0;

	snprintf(path, sizeof path, "%s/cgroup.procs", dir);
	if (read_small(path, data, sizeof data) < 0)
		return 0;
	for (s = data; *s; s = end) {
		long pid = strtol(s, &end, 10);

		if (end == s)
			break;
		if (pid > 0) {
			kill((pid_t)pid, SIGKILL);
			n++;
		}
	}
	return n;
}

bool jail_cgroup_kill(struct jail_cgroup *cg)
{
	const char *dir = cg->dir[0] ? cg->dir[0] : cg->dir[1];
	int round;

	if (!dir)
		return false;
	if (cg->version == 2 && write_value(dir, "cgroup.kill", "1") == 0)
		return true;
	/* v1 (or v2 before 5.14): sweep until empty; pids.max bounds a race
	 * against forks */
	for (round = 0; round < 200; round++) {
		if (kill_listed(dir) == 0)
			return true;
		usleep(round < 20 ? 500 : 5000);
	}
	return false;
}

static long long event_count(const char *dir, const char *file, const char *key)
{
	char path[PATH_MAX], data[2048];
	size_t kl = strlen(key);
	const char *s;

	if (!dir)
		return 0;
	snprintf(path, sizeof path, "%s/%s", dir, file);
	if (read_small(path, data, sizeof data) < 0)
		return 0;
	for (s = data; *s; s += strcspn(s, "\n"), s += *s == '\n') {
		if (strncmp(s, key, kl) == 0 && s[kl] == ' ')
			return strtoll(s + kl + 1, NULL, 10);
	}
	return 0;
}

void jail_cgroup_events(const struct jail_cgroup *cg, bool *oom, bool *pids)
{
	*oom = *pids = false;
	if (cg->version == 2) {
		*oom = event_count(cg->dir[0], "memory.events", "oom_kill") > 0;
		*pids = event_count(cg->dir[0], "pids.events", "max") > 0;
	} else if (cg->version == 1) {
		*oom = event_count(cg->dir[1], "memory.oom_control", "oom_kill") > 0;
		*pids = event_count(cg->dir[0], "pids.events", "max") > 0;
	}
}

void jail_cgroup_destroy(struct jail_cgroup *cg)
{
	int i, tries;

	for (i = 0; i < 2; i++) {
		if (cg->procs_fd[i] >= 0)
			close(cg->procs_fd[i]);
		cg->procs_fd[i] = -1;
	}
	if (cg->dir_fd >= 0)
		close(cg->dir_fd);
	cg->dir_fd = -1;
	for (i = 0; i < 2; i++) {
		if (!cg->dir[i])
			continue;
		/* the last tasks may still be exiting: bounded retries (~1 s) */
		for (tries = 0; rmdir(cg->dir[i]) < 0 && errno == EBUSY && tries < 120; tries++) {
			if (tries == 10)
				jail_cgroup_kill(cg);
			usleep(tries < 20 ? 1000 : 10000);
		}
		free(cg->dir[i]);
		cg->dir[i] = NULL;
	}
	cg->version = 0;
}

#else
/* ISO C wants a declaration in every translation unit. */
typedef int jail_cgroup_is_linux_only;
#endif /* __linux__ */

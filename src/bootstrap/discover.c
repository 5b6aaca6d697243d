/*
 * discover.c — finds the repository around a directory without libgit2,
 * for the cache's fast path.
 *
 * Starting libgit2 costs about 7 ms on Debian (its TLS backend parses the
 * system's CA bundle in git_libgit2_init), more than a cached answer for a
 * small repository takes in all.  So the cache looks the repository up
 * itself: the nearest ".git" directory or "gitdir:" file going up from the
 * directory, as git does, without crossing a filesystem boundary.  Whatever
 * this cannot decide with certainty (GIT_DIR and friends in the
 * environment, ceiling directories, a bare repository, a directory inside
 * .git) returns "not handled" and the caller takes the libgit2 path, so
 * the two can never disagree: a cached row is only used when the root this
 * finds equals the root libgit2 found when the row was written.
 */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static bool is_dir(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static bool is_file(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* A git directory has HEAD, and objects/ and refs/ (or a commondir file,
 * for a linked worktree's private directory). */
static bool is_gitdir(const char *dir)
{
	struct buf p = BUF_INIT;
	bool yes;

	buf_printf(&p, "%s/HEAD", dir);
	yes = is_file(p.data);
	if (yes) {
		buf_reset(&p);
		buf_printf(&p, "%s/commondir", dir);
		if (!is_file(p.data)) {
			buf_reset(&p);
			buf_printf(&p, "%s/objects", dir);
			yes = is_dir(p.data);
			buf_reset(&p);
			buf_printf(&p, "%s/refs", dir);
			yes = yes && is_dir(p.data);
		}
	}
	buf_release(&p);
	return yes;
}

/* The first line of a small file, without its line end. */
static char *read_line(const char *path)
{
	char buf[PATH_MAX + 64];
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	ssize_t n;

	if (fd < 0)
		return NULL;
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return NULL;
	buf[n] = '\0';
	buf[strcspn(buf, "\r\n")] = '\0';
	return xstrdup(buf);
}

/* path made absolute against base (a directory), then resolved. */
static char *resolve_from(const char *base, const char *path)
{
	struct buf p = BUF_INIT;
	char *real;

	if (path[0] == '/')
		buf_puts(&p, path);
	else
		buf_printf(&p, "%s/%s", base, path);
	real = realpath(p.data, NULL);
	buf_release(&p);
	return real;
}

void repo_paths_release(struct repo_paths *rp)
{
	free(rp->workdir);
	free(rp->gitdir);
	free(rp->commondir);
	free(rp->index_path);
	free(rp->cwd_rel);
	memset(rp, 0, sizeof *rp);
}

int repo_discover(const char *cwd, struct repo_paths *rp)
{
	static const char *const env[] = { "GIT_DIR", "GIT_WORK_TREE", "GIT_COMMON_DIR",
					   "GIT_CEILING_DIRECTORIES",
					   "GIT_DISCOVERY_ACROSS_FILESYSTEM" };
	char *dir = NULL;
	struct buf p = BUF_INIT;
	struct stat st;
	dev_t dev;
	int rc = 1;

	memset(rp, 0, sizeof *rp);
	for (size_t i = 0; i < sizeof env / sizeof *env; i++)
		if (getenv(env[i]))
			return 1;
	dir = realpath(cwd, NULL);
	if (!dir || stat(dir, &st) != 0)
		goto out;
	dev = st.st_dev;
	for (;;) {
		buf_reset(&p);
		buf_printf(&p, "%s/.git", strcmp(dir, "/") == 0 ? "" : dir);
		if (lstat(p.data, &st) == 0) {
			if (S_ISDIR(st.st_mode) && is_gitdir(p.data)) {
				rp->gitdir = realpath(p.data, NULL);
			} else if (S_ISREG(st.st_mode)) {
				char *line = read_line(p.data);
				if (line && strncmp(line, "gitdir: ", 8) == 0)
					rp->gitdir = resolve_from(dir, line + 8);
				free(line);
				if (!rp->gitdir || !is_gitdir(rp->gitdir))
					goto out;
			}
			if (rp->gitdir) {
				rp->workdir = xstrdup(dir);
				break;
			}
		}
		/* a bare repository, or a directory inside .git */
		if (is_gitdir(dir))
			goto out;
		char *slash = strrchr(dir, '/');
		if (!slash || strcmp(dir, "/") == 0)
			goto out;
		if (slash == dir)
			slash[1] = '\0';
		else
			*slash = '\0';
		if (stat(dir, &st) != 0 || st.st_dev != dev)
			goto out;
	}

	buf_reset(&p);
	buf_printf(&p, "%s/commondir", rp->gitdir);
	char *common = is_file(p.data) ? read_line(p.data) : NULL;
	rp->commondir = common ? resolve_from(rp->gitdir, common) : xstrdup(rp->gitdir);
	free(common);
	if (!rp->commondir)
		goto out;
	const char *idx = getenv("GIT_INDEX_FILE");
	if (idx && *idx) {
		rp->index_path = xstrdup(idx);
	} else {
		buf_reset(&p);
		buf_printf(&p, "%s/index", rp->gitdir);
		rp->index_path = buf_steal(&p);
	}
	char *real_cwd = realpath(cwd, NULL);
	size_t wl = strlen(rp->workdir);
	if (!real_cwd)
		goto out;
	if (strcmp(rp->workdir, "/") == 0)
		rp->cwd_rel = xstrdup(real_cwd + 1);
	else if (strncmp(real_cwd, rp->workdir, wl) == 0 && real_cwd[wl] == '/')
		rp->cwd_rel = xstrdup(real_cwd + wl + 1);
	else
		rp->cwd_rel = xstrdup("");
	free(real_cwd);
	rc = 0;
out:
	if (rc != 0)
		repo_paths_release(rp);
	free(dir);
	buf_release(&p);
	return rc;
}

char *bootstrap_project_root(const char *cwd)
{
	struct repo_paths rp;
	char *root;

	if (repo_discover(cwd, &rp) != 0)
		return NULL;
	root = rp.workdir;
	rp.workdir = NULL;
	repo_paths_release(&rp);
	return root;
}

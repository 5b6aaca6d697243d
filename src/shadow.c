/*
 * shadow.c — the workspace recorded in a private bare git repository (see
 * include/forja/shadow.h): libgit2's index and diff machinery decide what
 * changed, and the restore writes files itself, one directory fd at a time,
 * so that a hostile snapshot or a symbolic link in the workspace cannot
 * steer a write outside the root or into a ".git".
 */
#include "forja/shadow.h"

#include <errno.h>
#include <fcntl.h>
#include <git2.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "forja/gitlib.h"

/* The info/exclude and info/attributes files are ours; bound what we copy. */
#define SHADOW_EXCLUDE_MAX ((size_t)1024 * 1024)
#define SHADOW_NOTES_MAX 20

/* Turn every git filter off: content is recorded and restored byte for
 * byte.  info/attributes takes precedence over the workspace's files. */
static const char shadow_attributes[] =
	"# written by forja: the shadow records files byte for byte\n"
	"* -text -eol -crlf -ident -filter\n";

struct shadow {
	char *root;            /* real path of the workspace, no trailing slash */
	char *dir;             /* the shadow repository, .../<id>.git */
	char *state_exclude;   /* "/rel/" pattern for forja's state dir inside root, or NULL */
	char *user_exclude;    /* the workspace repository's info/exclude, or NULL */
	git_repository *repo;
	git_index *index;
	struct shadow_stats stats;
	struct buf notes;
	char **drop;           /* paths the last snapshot took out of the index */
	size_t ndrop, drop_cap;
	long long new_files, new_bytes; /* what this snapshot has to read */
	long long max_files;
	bool over_budget;
};

static int git_fail(struct ferr *e, enum ferr_class cls, const char *what)
{
	const git_error *ge = git_error_last();

	return ferr_set(e, cls, "%s: %s", what,
			ge && ge->message ? ge->message : "libgit2 reported no detail");
}

static bool is_absolute_dir(const char *path)
{
	return path && path[0] == '/';
}

/* mkdir -p with mode 0700 for the missing components. */
static int make_dirs(const char *path, struct ferr *e)
{
	char *copy = xstrdup(path);
	int rc = 0;

	for (char *p = copy + 1;; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char saved = *p;
		*p = '\0';
		if (mkdir(copy, 0700) != 0 && errno != EEXIST) {
			rc = ferr_set(e, FERR_IO, "%s: cannot create directory: %s", copy,
				      strerror(errno));
			break;
		}
		*p = saved;
		if (saved == '\0')
			break;
	}
	free(copy);
	return rc;
}

/* The directory that holds the shadow repositories, and the one to keep out
 * of snapshots when it lies inside a workspace (forja's whole state dir). */
static int state_dirs(struct buf *parent, struct buf *keep_out, struct ferr *e)
{
	const char *env = getenv("FORJA_SHADOW_DIR");
	const char *xdg = getenv("XDG_STATE_HOME");
	const char *home = getenv("HOME");

	if (env && *env) {
		if (env[0] != '/')
			return ferr_set(e, FERR_CONFIG,
					"FORJA_SHADOW_DIR must be an absolute path, got \"%s\"", env);
		buf_puts(parent, env);
		buf_puts(keep_out, env);
		return 0;
	}
	if (is_absolute_dir(xdg)) {
		buf_printf(keep_out, "%s/forja", xdg);
	} else if (is_absolute_dir(home)) {
		buf_printf(keep_out, "%s/.local/state/forja", home);
	} else {
		return ferr_set(e, FERR_CONFIG,
				"cannot place the shadow repository: XDG_STATE_HOME is not an "
				"absolute path and HOME is %s; set one of them",
				!home ? "unset" : !home[0] ? "empty" : "not an absolute path");
	}
	buf_printf(parent, "%s/shadow", keep_out->data);
	return 0;
}

/* An ignore pattern that matches exactly the directory rel (relative to
 * the root) anchored at the top: "/rel/" with wildcards escaped. */
static char *anchored_pattern(const char *rel)
{
	struct buf b = BUF_INIT;

	buf_putc(&b, '/');
	for (const char *p = rel; *p; p++) {
		if (strchr("*?[\\!# ", *p))
			buf_putc(&b, '\\');
		buf_putc(&b, *p);
	}
	buf_putc(&b, '/');
	return buf_steal(&b);
}

/* When dir (resolved as far as it exists) lies inside root, the pattern
 * that keeps it out of snapshots; else NULL. */
static char *exclude_if_inside(const char *root, const char *dir)
{
	char *real = realpath(dir, NULL);
	const char *d = real ? real : dir;
	size_t rl = strlen(root);
	char *pattern = NULL;

	if (strcmp(root, "/") == 0 && d[1] != '\0')
		pattern = anchored_pattern(d + 1);
	else if (strncmp(d, root, rl) == 0 && d[rl] == '/' && d[rl + 1] != '\0')
		pattern = anchored_pattern(d + rl + 1);
	free(real);
	return pattern;
}

/* Read a whole small file into out; -1 when it cannot be read or is over max. */
static int read_small_file(const char *path, size_t max, struct buf *out)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	char chunk[8192];
	ssize_t got;

	if (fd < 0)
		return -1;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (size_t)st.st_size > max) {
		close(fd);
		return -1;
	}
	while ((got = read(fd, chunk, sizeof chunk)) != 0) {
		if (got < 0) {
			if (errno == EINTR)
				continue;
			close(fd);
			return -1;
		}
		if (out->len + (size_t)got > max) {
			close(fd);
			return -1;
		}
		buf_add(out, chunk, (size_t)got);
	}
	close(fd);
	return 0;
}

static int write_all(int fd, const char *data, size_t len)
{
	while (len > 0) {
		ssize_t put = write(fd, data, len);
		if (put < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		data += put;
		len -= (size_t)put;
	}
	return 0;
}

/* Replace the file at path with content unless it already holds exactly
 * that (temporary file in the same directory, then rename). */
static int sync_file(const char *path, const char *content, size_t len, struct ferr *e)
{
	struct buf now = BUF_INIT, tmp = BUF_INIT;
	int fd = -1, rc = -1;

	if (read_small_file(path, SHADOW_EXCLUDE_MAX * 2, &now) == 0 && now.len == len &&
	    memcmp(buf_cstr(&now), content, len) == 0) {
		rc = 0;
		goto out;
	}
	buf_printf(&tmp, "%s.forja-%ld", path, (long)getpid());
	fd = open(tmp.data, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0 || write_all(fd, content, len) != 0) {
		ferr_set(e, FERR_IO, "%s: cannot write: %s", tmp.data, strerror(errno));
		goto out;
	}
	if (close(fd) != 0) {
		fd = -1;
		ferr_set(e, FERR_IO, "%s: cannot write: %s", tmp.data, strerror(errno));
		goto out;
	}
	fd = -1;
	if (rename(tmp.data, path) != 0) {
		ferr_set(e, FERR_IO, "%s: cannot replace: %s", path, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	if (rc != 0 && tmp.data)
		unlink(tmp.data);
	buf_release(&now);
	buf_release(&tmp);
	return rc;
}

/* The shadow's info/exclude: the workspace repository's patterns (read
 * again each time: best effort) and forja's state directory. */
static int sync_exclude(struct shadow *s, struct ferr *e)
{
	struct buf content = BUF_INIT, user = BUF_INIT, path = BUF_INIT;
	int rc;

	buf_puts(&content, "# written by forja at each snapshot: do not edit\n");
	if (s->user_exclude && read_small_file(s->user_exclude, SHADOW_EXCLUDE_MAX, &user) == 0 &&
	    user.len > 0) {
		buf_printf(&content, "# from %s\n", s->user_exclude);
		buf_add(&content, user.data, user.len);
		if (user.data[user.len - 1] != '\n')
			buf_putc(&content, '\n');
	}
	if (s->state_exclude)
		buf_printf(&content, "# forja's state directory\n%s\n", s->state_exclude);
	buf_printf(&path, "%s/info", s->dir);
	rc = make_dirs(path.data, e);
	if (rc == 0) {
		buf_puts(&path, "/exclude");
		rc = sync_file(path.data, content.data, content.len, e);
	}
	buf_release(&content);
	buf_release(&user);
	buf_release(&path);
	return rc;
}

/* Where the workspace's own repository keeps info/exclude, when root is
 * the top of one; NULL otherwise.  Opening reads, never writes. */
static char *find_user_exclude(const char *root)
{
	git_repository *user = NULL;
	struct buf path = BUF_INIT;
	struct stat st;

	if (lstat(root, &st) != 0)
		return NULL;
	{
		struct buf dotgit = BUF_INIT;
		buf_printf(&dotgit, "%s/.git", root);
		int has = lstat(dotgit.data, &st) == 0;
		buf_release(&dotgit);
		if (!has)
			return NULL;
	}
	if (git_repository_open_ext(&user, root, GIT_REPOSITORY_OPEN_NO_SEARCH, NULL) != 0) {
		git_error_clear();
		return NULL;
	}
	buf_printf(&path, "%sinfo/exclude", git_repository_commondir(user));
	git_repository_free(user);
	return buf_steal(&path);
}

static int config_bool(git_config *cfg, const char *name, int want, struct ferr *e)
{
	int have;

	if (git_config_get_bool(&have, cfg, name) == 0 && !have == !want)
		return 0;
	git_error_clear();
	if (git_config_set_bool(cfg, name, want) != 0)
		return git_fail(e, FERR_IO, name);
	return 0;
}

/* Open the shadow repository at dir, creating it when missing. */
static int open_or_init(struct shadow *s, struct ferr *e)
{
	git_repository_init_options opts;
	struct buf attr = BUF_INIT;
	git_config *cfg = NULL;
	struct stat st;
	int rc = -1;

	if (stat(s->dir, &st) == 0) {
		if (git_repository_open_ext(&s->repo, s->dir,
					    GIT_REPOSITORY_OPEN_NO_SEARCH | GIT_REPOSITORY_OPEN_BARE,
					    NULL) != 0) {
			git_fail(e, FERR_IO, s->dir);
			goto out;
		}
	} else {
		git_repository_init_options_init(&opts, GIT_REPOSITORY_INIT_OPTIONS_VERSION);
		opts.flags = GIT_REPOSITORY_INIT_BARE | GIT_REPOSITORY_INIT_MKPATH |
			     GIT_REPOSITORY_INIT_NO_REINIT;
		if (git_repository_init_ext(&s->repo, s->dir, &opts) != 0) {
			git_fail(e, FERR_IO, s->dir);
			goto out;
		}
		if (chmod(s->dir, 0700) != 0) {
			ferr_set(e, FERR_IO, "%s: cannot chmod: %s", s->dir, strerror(errno));
			goto out;
		}
	}
	if (!git_repository_is_bare(s->repo)) {
		ferr_set(e, FERR_IO, "%s: not forja's shadow repository (it has a work tree)",
			 s->dir);
		goto out;
	}
	if (git_repository_config(&cfg, s->repo) != 0) {
		git_fail(e, FERR_IO, s->dir);
		goto out;
	}
	if (config_bool(cfg, "core.autocrlf", 0, e) != 0 ||
	    config_bool(cfg, "core.filemode", 1, e) != 0 ||
	    config_bool(cfg, "core.symlinks", 1, e) != 0)
		goto out;
	buf_printf(&attr, "%s/info", s->dir);
	if (make_dirs(attr.data, e) != 0)
		goto out;
	buf_puts(&attr, "/attributes");
	if (sync_file(attr.data, shadow_attributes, sizeof shadow_attributes - 1, e) != 0)
		goto out;
	if (sync_exclude(s, e) != 0)
		goto out;
	/* 0: the workspace gets no .git file pointing here */
	if (git_repository_set_workdir(s->repo, s->root, 0) != 0) {
		git_fail(e, FERR_IO, s->root);
		goto out;
	}
	if (git_repository_index(&s->index, s->repo) != 0) {
		git_fail(e, FERR_IO, s->dir);
		goto out;
	}
	rc = 0;
out:
	git_config_free(cfg);
	buf_release(&attr);
	return rc;
}

int shadow_open(const char *root, struct shadow **out, struct ferr *e)
{
	struct buf parent = BUF_INIT, keep_out = BUF_INIT, dir = BUF_INIT;
	struct shadow *s = NULL;
	struct stat st;
	git_oid id;
	char hex[GIT_OID_HEXSZ + 1];
	int rc = -1;

	*out = NULL;
	if (!root || root[0] != '/')
		return ferr_set(e, FERR_USAGE, "workspace root must be an absolute path, got \"%s\"",
				root ? root : "(null)");
	if (stat(root, &st) != 0 || !S_ISDIR(st.st_mode))
		return ferr_set(e, FERR_USAGE, "%s: not a directory", root);
	if (gitlib_load(e) != 0)
		return -1;
	git_libgit2_init();

	s = xcalloc(1, sizeof *s);
	s->root = realpath(root, NULL);
	if (!s->root) {
		ferr_set(e, FERR_IO, "%s: cannot resolve: %s", root, strerror(errno));
		goto out;
	}
	if (state_dirs(&parent, &keep_out, e) != 0 || make_dirs(parent.data, e) != 0)
		goto out;
	if (git_odb_hash(&id, s->root, strlen(s->root), GIT_OBJECT_BLOB) != 0) {
		git_fail(e, FERR_INTERNAL, "hashing the workspace path");
		goto out;
	}
	git_oid_tostr(hex, sizeof hex, &id);
	buf_printf(&dir, "%s/%.16s.git", parent.data, hex);
	s->dir = buf_steal(&dir);
	s->state_exclude = exclude_if_inside(s->root, keep_out.data);
	s->user_exclude = find_user_exclude(s->root);
	if (open_or_init(s, e) != 0)
		goto out;
	*out = s;
	s = NULL;
	rc = 0;
out:
	buf_release(&parent);
	buf_release(&keep_out);
	buf_release(&dir);
	if (s)
		shadow_close(s);
	return rc;
}

const char *shadow_path(const struct shadow *s)
{
	return s->dir;
}

const struct shadow_stats *shadow_last_stats(const struct shadow *s)
{
	return &s->stats;
}

const char *shadow_notes(const struct shadow *s)
{
	return buf_cstr(&s->notes);
}

/* Write path into b with control characters and backslashes escaped, so
 * that one path stays one line. */
static void put_path(struct buf *b, const char *path)
{
	for (const unsigned char *p = (const unsigned char *)path; *p; p++) {
		if (*p == '\\')
			buf_puts(b, "\\\\");
		else if (*p == '\n')
			buf_puts(b, "\\n");
		else if (*p == '\t')
			buf_puts(b, "\\t");
		else if (*p < 0x20 || *p == 0x7f)
			buf_printf(b, "\\x%02x", *p);
		else
			buf_putc(b, (char)*p);
	}
}

static void note(struct shadow *s, size_t nth, const char *fmt, const char *path)
{
	if (nth > SHADOW_NOTES_MAX)
		return;
	if (nth == SHADOW_NOTES_MAX) {
		buf_puts(&s->notes, "(more paths left out are not listed)\n");
		return;
	}
	buf_puts(&s->notes, fmt);
	put_path(&s->notes, path);
	buf_putc(&s->notes, '\n');
}

static void drop_path(struct shadow *s, const char *path)
{
	if (s->ndrop == s->drop_cap) {
		s->drop_cap = s->drop_cap ? s->drop_cap * 2 : 8;
		s->drop = xrealloc(s->drop, s->drop_cap * sizeof *s->drop);
	}
	s->drop[s->ndrop++] = xstrdup(path);
}

/*
 * git_index_add_all's and git_index_update_all's matched-path callback,
 * called for each path that differs from the shadow index (> 0 leaves the
 * path alone).  Left out, and taken out of the index when there: nested
 * repositories, files over SHADOW_MAX_FILE, and files recorded before but
 * ignored now (git would keep them tracked; the shadow never records an
 * ignored file).
 */
static int snapshot_filter(const char *path, const char *matched, void *payload)
{
	struct shadow *s = payload;
	struct buf full = BUF_INIT;
	struct stat st;
	size_t len = strlen(path);
	int skip = 0, ignored = 0;

	(void)matched;
	if (len > 0 && path[len - 1] == '/') {
		/* an untracked directory libgit2 did not enter: it holds .git */
		note(s, s->stats.skipped_repos + s->stats.skipped_large,
		     "left out (a nested git repository): ", path);
		s->stats.skipped_repos++;
		return 1;
	}
	/* update_all meets again the paths add_all dropped */
	for (size_t i = 0; i < s->ndrop; i++)
		if (strcmp(s->drop[i], path) == 0)
			return 1;
	buf_printf(&full, "%s/%s", s->root, path);
	bool have = lstat(full.data, &st) == 0;
	if (have && S_ISREG(st.st_mode) && st.st_size > SHADOW_MAX_FILE) {
		note(s, s->stats.skipped_repos + s->stats.skipped_large,
		     "left out (larger than 50 MiB): ", path);
		s->stats.skipped_large++;
		drop_path(s, path);
		skip = 1;
	} else if (git_index_get_bypath(s->index, path, 0) != NULL &&
		   git_ignore_path_is_ignored(&ignored, s->repo, path) == 0 && ignored) {
		drop_path(s, path);
		skip = 1;
	} else if (have && S_ISREG(st.st_mode)) {
		s->new_files++;
		s->new_bytes += st.st_size;
		if (s->new_files > s->max_files || s->new_bytes > SHADOW_MAX_CHANGED_BYTES) {
			s->over_budget = true;
			skip = -1;        /* stops add_all */
		}
	}
	git_error_clear();
	buf_release(&full);
	return skip;
}

static void forget_dropped(struct shadow *s)
{
	for (size_t i = 0; i < s->ndrop; i++)
		free(s->drop[i]);
	s->ndrop = 0;
}

static int snapshot_locked(struct shadow *s, const char *label, char oid[41], struct ferr *e)
{
	char *all[] = { "*" };
	git_strarray pathspec = { all, 1 };
	git_oid tree_id, commit_id, parent_id;
	git_tree *tree = NULL;
	git_commit *parent = NULL;
	git_signature *sig = NULL;
	int rc = -1, err;

	oid[0] = '\0';
	memset(&s->stats, 0, sizeof s->stats);
	buf_reset(&s->notes);
	forget_dropped(s);
	if (sync_exclude(s, e) != 0)
		return -1;
	if (git_index_read(s->index, 0) != 0)
		return git_fail(e, FERR_IO, "reading the shadow index");
	s->new_files = s->new_bytes = 0;
	s->over_budget = false;
	/* FORJA_SHADOW_MAX_FILES lowers the file budget (for tests) */
	const char *mf = getenv("FORJA_SHADOW_MAX_FILES");
	s->max_files = mf && atoll(mf) > 0 && atoll(mf) < SHADOW_MAX_CHANGED_FILES ? atoll(mf)
										   : SHADOW_MAX_CHANGED_FILES;
	if (git_index_add_all(s->index, &pathspec, GIT_INDEX_ADD_DEFAULT, snapshot_filter, s) != 0) {
		if (s->over_budget) {
			/* forget the part recorded in memory */
			git_index_read(s->index, 1);
			git_error_clear();
			return ferr_set(e, FERR_FAILED,
					"the workspace is too big to snapshot: more than %lld files or %lld MiB "
					"changed since the last snapshot",
					s->max_files, SHADOW_MAX_CHANGED_BYTES >> 20);
		}
		return git_fail(e, FERR_IO, "recording the workspace");
	}
	err = git_index_update_all(s->index, &pathspec, snapshot_filter, s);
	if (err != 0)
		return git_fail(e, FERR_IO, "recording deleted files");
	for (size_t i = 0; i < s->ndrop; i++) {
		if (git_index_remove_bypath(s->index, s->drop[i]) != 0)
			return git_fail(e, FERR_IO, s->drop[i]);
	}
	if (git_index_write(s->index) != 0)
		return git_fail(e, FERR_IO, "writing the shadow index");
	if (git_index_write_tree(&tree_id, s->index) != 0)
		return git_fail(e, FERR_IO, "writing the snapshot tree");
	if (git_tree_lookup(&tree, s->repo, &tree_id) != 0) {
		git_fail(e, FERR_IO, "reading the snapshot tree");
		goto out;
	}
	err = git_reference_name_to_id(&parent_id, s->repo, SHADOW_REF);
	if (err == 0) {
		if (git_commit_lookup(&parent, s->repo, &parent_id) != 0) {
			git_fail(e, FERR_IO, "reading the previous snapshot");
			goto out;
		}
	} else if (err != GIT_ENOTFOUND) {
		git_fail(e, FERR_IO, SHADOW_REF);
		goto out;
	}
	git_error_clear();
	if (git_signature_now(&sig, "forja", "forja@localhost") != 0) {
		git_fail(e, FERR_INTERNAL, "making the snapshot signature");
		goto out;
	}
	{
		const git_commit *parents[1] = { parent };
		if (git_commit_create(&commit_id, s->repo, SHADOW_REF, sig, sig, NULL,
				      label && *label ? label : "snapshot", tree,
				      parent ? 1 : 0, parents) != 0) {
			git_fail(e, FERR_IO, "writing the snapshot commit");
			goto out;
		}
	}
	git_oid_tostr(oid, 41, &commit_id);
	rc = 0;
out:
	git_signature_free(sig);
	git_commit_free(parent);
	git_tree_free(tree);
	return rc;
}

/*
 * Snapshots of one shadow repository take turns: an exclusive flock(2) on
 * <dir>/forja.lock, which the kernel drops when its holder dies.  Holding
 * it, a libgit2 lock file left in the shadow repository (index.lock, the
 * snapshot ref's .lock) can only be from a forja killed mid-snapshot, and
 * is removed: one kill -9 must not stop every later snapshot.
 */
int shadow_snapshot(struct shadow *s, const char *label, char oid[41], struct ferr *e)
{
	struct buf p = BUF_INIT;
	int fd, rc;

	oid[0] = '\0';
	buf_printf(&p, "%s/forja.lock", s->dir);
	fd = open(p.data, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		rc = ferr_set(e, FERR_IO, "%s: %s", p.data, strerror(errno));
		buf_release(&p);
		return rc;
	}
	while (flock(fd, LOCK_EX) != 0 && errno == EINTR)
		;
	static const char *const stale[] = { "index.lock", SHADOW_REF ".lock" };
	for (size_t i = 0; i < sizeof stale / sizeof *stale; i++) {
		buf_reset(&p);
		buf_printf(&p, "%s/%s", s->dir, stale[i]);
		unlink(p.data);
	}
	rc = snapshot_locked(s, label, oid, e);
	close(fd);
	buf_release(&p);
	return rc;
}

/* The tree of snapshot hex (NULL: the latest).  Returns 1 with *tree NULL
 * when hex is NULL and there is no snapshot yet. */
static int snapshot_tree(struct shadow *s, const char *hex, git_tree **tree, struct ferr *e)
{
	git_commit *commit = NULL;
	git_oid id;
	int err;

	*tree = NULL;
	if (!hex) {
		err = git_reference_name_to_id(&id, s->repo, SHADOW_REF);
		if (err == GIT_ENOTFOUND) {
			git_error_clear();
			return 1;
		}
		if (err != 0)
			return git_fail(e, FERR_IO, SHADOW_REF);
	} else {
		size_t len = strspn(hex, "0123456789abcdefABCDEF");
		if (len != GIT_OID_HEXSZ || hex[len] != '\0')
			return ferr_set(e, FERR_USAGE,
					"\"%.80s\" is not a snapshot id (40 hexadecimal digits)", hex);
		if (git_oid_fromstr(&id, hex) != 0)
			return git_fail(e, FERR_USAGE, hex);
	}
	err = git_commit_lookup(&commit, s->repo, &id);
	if (err == GIT_ENOTFOUND) {
		git_error_clear();
		return ferr_set(e, FERR_USAGE, "no snapshot %s in %s", hex ? hex : SHADOW_REF, s->dir);
	}
	if (err != 0)
		return git_fail(e, FERR_IO, hex ? hex : SHADOW_REF);
	err = git_commit_tree(tree, commit);
	git_commit_free(commit);
	if (err != 0)
		return git_fail(e, FERR_IO, "reading the snapshot's tree");
	return 0;
}

/* git_diff_options.notify_cb: leave out what snapshots never record, so
 * that diff, changed and restore agree with the snapshot (> 0 skips). */
static int keep_delta(const git_diff *so_far, const git_diff_delta *delta,
		      const char *matched, void *payload)
{
	struct shadow *s = payload;

	(void)so_far;
	(void)matched;
	if (delta->old_file.mode == GIT_FILEMODE_COMMIT ||
	    delta->new_file.mode == GIT_FILEMODE_COMMIT)
		return 1;
	if (delta->status == GIT_DELTA_UNTRACKED) {
		const char *path = delta->new_file.path;
		size_t len = strlen(path);
		struct buf full = BUF_INIT;
		struct stat st;
		int skip;

		if (delta->new_file.mode == GIT_FILEMODE_TREE || (len > 0 && path[len - 1] == '/'))
			return 1;
		/* the iterator's size is 32 bits: ask the file system */
		buf_printf(&full, "%s/%s", s->root, path);
		skip = lstat(full.data, &st) == 0 && S_ISREG(st.st_mode) &&
		       st.st_size > SHADOW_MAX_FILE;
		buf_release(&full);
		return skip;
	}
	return 0;
}

/* With typechange, a file that became a link (or the reverse) is one
 * delta; without, a deletion and an addition, which print as a readable
 * patch. */
static int make_diff(struct shadow *s, git_tree *tree, int context, bool typechange,
		     git_diff **diff, struct ferr *e)
{
	git_diff_options opts;

	git_diff_options_init(&opts, GIT_DIFF_OPTIONS_VERSION);
	opts.flags = GIT_DIFF_INCLUDE_UNTRACKED | GIT_DIFF_RECURSE_UNTRACKED_DIRS |
		     GIT_DIFF_SHOW_UNTRACKED_CONTENT;
	if (typechange)
		opts.flags |= GIT_DIFF_INCLUDE_TYPECHANGE;
	opts.ignore_submodules = GIT_SUBMODULE_IGNORE_ALL;
	opts.context_lines = context < 0 ? 3 : (uint32_t)context;
	opts.max_size = SHADOW_MAX_FILE;
	opts.notify_cb = keep_delta;
	opts.payload = s;
	if (git_diff_tree_to_workdir(diff, s->repo, tree, &opts) != 0) {
		*diff = NULL;
		return git_fail(e, FERR_IO, "comparing the snapshot with the workspace");
	}
	return 0;
}

static int print_line(const git_diff_delta *delta, const git_diff_hunk *hunk,
		      const git_diff_line *line, void *payload)
{
	struct buf *out = payload;

	(void)delta;
	(void)hunk;
	if (line->origin == GIT_DIFF_LINE_CONTEXT || line->origin == GIT_DIFF_LINE_ADDITION ||
	    line->origin == GIT_DIFF_LINE_DELETION)
		buf_putc(out, line->origin);
	buf_add(out, line->content, line->content_len);
	return 0;
}

int shadow_diff(struct shadow *s, const char *from_oid, struct buf *out, int context,
		struct ferr *e)
{
	git_tree *tree = NULL;
	git_diff *diff = NULL;
	int rc;

	rc = snapshot_tree(s, from_oid, &tree, e);
	if (rc != 0)
		return rc > 0 ? 0 : -1;
	rc = make_diff(s, tree, context, false, &diff, e);
	if (rc == 0 && git_diff_print(diff, GIT_DIFF_FORMAT_PATCH, print_line, out) != 0)
		rc = git_fail(e, FERR_IO, "printing the diff");
	git_diff_free(diff);
	git_tree_free(tree);
	return rc;
}

static const char *delta_path(const git_diff_delta *delta)
{
	return delta->status == GIT_DELTA_DELETED ? delta->old_file.path : delta->new_file.path;
}

int shadow_changed(struct shadow *s, const char *from_oid, char ***paths, size_t *n,
		   struct ferr *e)
{
	git_tree *tree = NULL;
	git_diff *diff = NULL;
	int rc;

	*paths = NULL;
	*n = 0;
	rc = snapshot_tree(s, from_oid, &tree, e);
	if (rc != 0)
		return rc > 0 ? 0 : -1;
	rc = make_diff(s, tree, 0, true, &diff, e);
	if (rc == 0) {
		size_t count = git_diff_num_deltas(diff);
		if (count > 0) {
			*paths = xcalloc(count, sizeof **paths);
			for (size_t i = 0; i < count; i++)
				(*paths)[i] = xstrdup(delta_path(git_diff_get_delta(diff, i)));
			*n = count;
		}
	}
	git_diff_free(diff);
	git_tree_free(tree);
	return rc;
}

void shadow_paths_free(char **paths, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(paths[i]);
	free(paths);
}

/* Relative, no empty, "." or ".." component, no ".git" at any depth (in
 * any case: case-insensitive file systems open ".GIT" as ".git"). */
static bool path_is_safe(const char *path)
{
	const char *p = path;

	if (!*p || *p == '/')
		return false;
	for (;;) {
		size_t len = strcspn(p, "/");
		if (len == 0 || (len == 1 && p[0] == '.') || (len == 2 && memcmp(p, "..", 2) == 0) ||
		    (len == 4 && strncasecmp(p, ".git", 4) == 0))
			return false;
		if (p[len] == '\0')
			return true;
		p += len + 1;
	}
}

struct restore {
	struct shadow *s;
	int rootfd;
	struct buf *report;
	size_t failed;
	unsigned tmp_counter;
	struct ferr first;
};

static void restore_fail(struct restore *r, const char *path, const char *what, int err)
{
	if (r->failed++ == 0)
		ferr_set(&r->first, FERR_IO, "%s: %s%s%s", path, what, err ? ": " : "",
			 err ? strerror(err) : "");
}

static int open_dir_at(int dfd, const char *name)
{
	return openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

/* The directory that holds rel's last component, reached from rootfd one
 * component at a time without following symbolic links (missing ones made
 * when create).  Returns an fd and sets *leaf into rel, or -1 with errno. */
static int open_parent(int rootfd, const char *rel, bool create, const char **leaf)
{
	int dfd = open_dir_at(rootfd, ".");
	const char *p = rel;

	while (dfd >= 0) {
		const char *slash = strchr(p, '/');
		char *comp;
		int next, saved;

		if (!slash) {
			*leaf = p;
			return dfd;
		}
		comp = xstrndup(p, (size_t)(slash - p));
		next = open_dir_at(dfd, comp);
		if (next < 0 && errno == ENOENT && create &&
		    (mkdirat(dfd, comp, 0777) == 0 || errno == EEXIST))
			next = open_dir_at(dfd, comp);
		saved = errno;
		free(comp);
		close(dfd);
		errno = saved;
		dfd = next;
		p = slash + 1;
	}
	return -1;
}

static void report_line(struct restore *r, const char *what, const char *path)
{
	buf_puts(r->report, what);
	put_path(r->report, path);
	buf_putc(r->report, '\n');
}

/* Remove the directories above rel that are now empty, deepest first. */
static void prune_empty_dirs(struct restore *r, const char *rel)
{
	char *dir = xstrdup(rel);
	char *slash;

	while ((slash = strrchr(dir, '/')) != NULL) {
		const char *leaf;
		int dfd, removed;

		*slash = '\0';
		dfd = open_parent(r->rootfd, dir, false, &leaf);
		if (dfd < 0)
			break;
		removed = unlinkat(dfd, leaf, AT_REMOVEDIR) == 0;
		close(dfd);
		if (!removed)
			break;
	}
	free(dir);
}

static void remove_path(struct restore *r, const char *rel)
{
	const char *leaf;
	int dfd = open_parent(r->rootfd, rel, false, &leaf);

	if (dfd < 0) {
		if (errno != ENOENT)
			restore_fail(r, rel, "cannot reach its directory", errno);
		return;
	}
	if (unlinkat(dfd, leaf, 0) != 0) {
		if (errno != ENOENT)
			restore_fail(r, rel, "cannot remove", errno);
		close(dfd);
		return;
	}
	close(dfd);
	report_line(r, "removed ", rel);
	prune_empty_dirs(r, rel);
}

/* Create a fresh temporary name in dfd holding data (a symbolic link to
 * data when is_link); returns 0 and the name in tmp, or an errno. */
static int write_temp(struct restore *r, int dfd, const char *data, size_t size,
		      git_filemode_t mode, const struct stat *old, char *tmp, size_t tmpsize)
{
	for (int attempt = 0; attempt < 100; attempt++) {
		snprintf(tmp, tmpsize, ".forja-restore.%ld.%u", (long)getpid(), r->tmp_counter++);
		if (mode == GIT_FILEMODE_LINK) {
			if (symlinkat(data, dfd, tmp) == 0)
				return 0;
			if (errno != EEXIST)
				return errno;
			continue;
		}
		int fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
				mode == GIT_FILEMODE_BLOB_EXECUTABLE ? 0777 : 0666);
		if (fd < 0) {
			if (errno == EEXIST)
				continue;
			return errno;
		}
		int err = 0;
		if (write_all(fd, data, size) != 0)
			err = errno;
		if (!err && old) {
			mode_t perm = old->st_mode & 0777;
			if (mode == GIT_FILEMODE_BLOB_EXECUTABLE)
				perm |= (perm & 0444) >> 2;
			else
				perm &= (mode_t)~0111;
			if (fchmod(fd, perm) != 0)
				err = errno;
		}
		if (close(fd) != 0 && !err)
			err = errno;
		if (err)
			unlinkat(dfd, tmp, 0);
		return err;
	}
	return EEXIST;
}

/* Write the snapshot's version of file f back into the workspace. */
static void write_path(struct restore *r, const git_diff_file *f)
{
	git_blob *blob = NULL;
	char *target = NULL;
	const char *data, *leaf;
	char tmp[64];
	struct stat st;
	size_t size;
	int dfd = -1, err;

	if (f->mode != GIT_FILEMODE_BLOB && f->mode != GIT_FILEMODE_BLOB_EXECUTABLE &&
	    f->mode != GIT_FILEMODE_LINK) {
		restore_fail(r, f->path, "not a file or a symbolic link in the snapshot", 0);
		return;
	}
	if (git_blob_lookup(&blob, r->s->repo, &f->id) != 0) {
		const git_error *ge = git_error_last();
		restore_fail(r, f->path, ge && ge->message ? ge->message : "no such blob", 0);
		return;
	}
	data = git_blob_rawcontent(blob);
	size = (size_t)git_blob_rawsize(blob);
	if (f->mode == GIT_FILEMODE_LINK) {
		target = xstrndup(data, size);
		if (strlen(target) != size || size == 0) {
			restore_fail(r, f->path, "the snapshot's symbolic link target is empty or holds NUL", 0);
			goto out;
		}
		data = target;
	}
	dfd = open_parent(r->rootfd, f->path, true, &leaf);
	if (dfd < 0) {
		restore_fail(r, f->path, "cannot reach or create its directory", errno);
		goto out;
	}
	bool has_old = f->mode != GIT_FILEMODE_LINK &&
		       fstatat(dfd, leaf, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode);
	err = write_temp(r, dfd, data, size, f->mode, has_old ? &st : NULL, tmp, sizeof tmp);
	if (err) {
		restore_fail(r, f->path, "cannot write", err);
		goto out;
	}
	if (renameat(dfd, tmp, dfd, leaf) != 0) {
		restore_fail(r, f->path, "cannot put in place", errno);
		unlinkat(dfd, tmp, 0);
		goto out;
	}
	report_line(r, "restored ", f->path);
out:
	if (dfd >= 0)
		close(dfd);
	free(target);
	git_blob_free(blob);
}

static bool is_gitignore(const char *path)
{
	const char *base = strrchr(path, '/');

	return strcmp(base ? base + 1 : path, ".gitignore") == 0;
}

enum restore_pass { PASS_GITIGNORE, PASS_REMOVE, PASS_WRITE };

/* Apply the deltas of one pass; returns how many it acted on. */
static size_t restore_pass(struct restore *r, git_diff *diff, enum restore_pass pass)
{
	size_t count = git_diff_num_deltas(diff), acted = 0;

	for (size_t i = 0; i < count; i++) {
		const git_diff_delta *d = git_diff_get_delta(diff, i);
		bool removal = d->status == GIT_DELTA_UNTRACKED || d->status == GIT_DELTA_ADDED;

		if (pass == PASS_GITIGNORE && !is_gitignore(delta_path(d)))
			continue;
		if (pass == PASS_REMOVE && !removal)
			continue;
		if (pass == PASS_WRITE && removal)
			continue;
		acted++;
		switch (d->status) {
		case GIT_DELTA_UNTRACKED:
		case GIT_DELTA_ADDED:
			remove_path(r, d->new_file.path);
			break;
		case GIT_DELTA_DELETED:
		case GIT_DELTA_MODIFIED:
		case GIT_DELTA_TYPECHANGE:
			write_path(r, &d->old_file);
			break;
		default:
			restore_fail(r, delta_path(d), "cannot be read from the workspace", 0);
			break;
		}
	}
	return acted;
}

static int check_paths(struct shadow *s, git_diff *diff, struct ferr *e)
{
	size_t count = git_diff_num_deltas(diff);

	for (size_t i = 0; i < count; i++) {
		const git_diff_delta *d = git_diff_get_delta(diff, i);
		if (!path_is_safe(d->old_file.path) || !path_is_safe(d->new_file.path)) {
			struct buf shown = BUF_INIT;
			put_path(&shown, path_is_safe(d->old_file.path) ? d->new_file.path
								       : d->old_file.path);
			ferr_set(e, FERR_DENIED,
				 "the snapshot holds the path \"%.200s\", which leaves the workspace "
				 "or enters a .git; nothing restored in %s",
				 buf_cstr(&shown), s->root);
			buf_release(&shown);
			return -1;
		}
	}
	return 0;
}

int shadow_restore(struct shadow *s, const char *oid, struct buf *report, struct ferr *e)
{
	struct restore r = { .s = s, .rootfd = -1, .report = report, .first = FERR_INIT };
	git_tree *tree = NULL;
	git_diff *diff = NULL;
	int rc = -1;

	if (!oid)
		return ferr_set(e, FERR_USAGE, "restore needs a snapshot id");
	if (snapshot_tree(s, oid, &tree, e) != 0)
		return -1;
	r.rootfd = open(s->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (r.rootfd < 0) {
		ferr_set(e, FERR_IO, "%s: cannot open: %s", s->root, strerror(errno));
		goto out;
	}
	if (make_diff(s, tree, 0, true, &diff, e) != 0 || check_paths(s, diff, e) != 0)
		goto out;
	/* the snapshot's ignore rules first: what they ignored stays untouched */
	if (restore_pass(&r, diff, PASS_GITIGNORE) > 0) {
		git_diff_free(diff);
		diff = NULL;
		if (make_diff(s, tree, 0, true, &diff, e) != 0 || check_paths(s, diff, e) != 0)
			goto out;
	}
	restore_pass(&r, diff, PASS_REMOVE);
	restore_pass(&r, diff, PASS_WRITE);
	if (r.failed > 0) {
		ferr_set(e, FERR_IO, "%zu path%s of %s could not be restored; the first: %s",
			 r.failed, r.failed == 1 ? "" : "s", s->root, r.first.msg);
		goto out;
	}
	rc = 0;
out:
	if (r.rootfd >= 0)
		close(r.rootfd);
	git_diff_free(diff);
	git_tree_free(tree);
	return rc;
}

void shadow_close(struct shadow *s)
{
	if (!s)
		return;
	forget_dropped(s);
	free(s->drop);
	buf_release(&s->notes);
	git_index_free(s->index);
	git_repository_free(s->repo);
	/* shadow_open called git_libgit2_init before allocating s */
	git_libgit2_shutdown();
	free(s->root);
	free(s->dir);
	free(s->state_exclude);
	free(s->user_exclude);
	free(s);
}

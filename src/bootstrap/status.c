/*
 * status.c — the working-tree status of the bootstrap, faster than
 * libgit2's git_status_list_new on large trees.
 *
 * Like git (core.preloadIndex), worker threads lstat the index entries in
 * parallel and compare them with the stat data the index recorded, while
 * this thread walks the directories for untracked files.  Only entries whose
 * stat data changed (or is racy) are hashed, through libgit2 so that filters
 * (CRLF, .gitattributes) apply.  Staged changes come from libgit2's
 * tree-to-index diff.  The workers never call libgit2.
 *
 * The same sweep yields a fingerprint of the stat data, which the cache
 * compares instead of redoing the status.
 */
#include "internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "forja/utf8.h"

enum entry_state {
	ENTRY_CLEAN,
	ENTRY_MODIFIED,
	ENTRY_NEEDS_HASH,
	ENTRY_SKIP,
};

struct sweep {
	const struct idx_entry *entries;
	size_t count;
	unsigned char *state;         /* one enum entry_state per entry, or NULL */
	int root_fd;
	atomic_size_t next;
	bool trust_filemode, trust_ctime, check_stat, has_symlinks;
	int64_t index_mtime_sec;      /* for racy entries */
	uint32_t index_mtime_nsec;
	int64_t racy_after;           /* stat newer than this is not trusted by the cache */
	pthread_mutex_t lock;
	struct wt_fingerprint fp;     /* merged from the workers under lock */
};

#define SWEEP_CHUNK 512

static inline uint64_t mix64(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return h;
}

static uint64_t hash_bytes(const char *s, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 0x100000001b3ULL;
	}
	return mix64(h);
}

/* Fold one item into a and b; sums and xors commute, so the threads may
 * merge their parts in any order. */
static void fp_fold(struct wt_fingerprint *fp, uint64_t h)
{
	fp->a += h;
	fp->b ^= mix64(h + 0x9e3779b97f4a7c15ULL);
}

static uint64_t stat_hash(uint64_t seed, const struct stat *st)
{
	uint64_t h = mix64(seed);

	if (!st)
		return mix64(h ^ 0x5a5a5a5a5a5a5a5aULL);
	h = mix64(h ^ (uint64_t)st->st_mode);
	h = mix64(h ^ (uint64_t)st->st_size);
	h = mix64(h ^ (uint64_t)st->st_ino);
	h = mix64(h ^ (uint64_t)st->st_dev);
	h = mix64(h ^ (uint64_t)st->st_mtim.tv_sec);
	h = mix64(h ^ (uint64_t)st->st_mtim.tv_nsec);
	h = mix64(h ^ (uint64_t)st->st_ctim.tv_sec);
	h = mix64(h ^ (uint64_t)st->st_ctim.tv_nsec);
	return h;
}

/* Content written within the same timestamp tick as our stat would not
 * change the stat data.  Only mtime matters: a later write always moves
 * it, and a recent ctime alone (touch -d, chmod) is already in the hash. */
static bool stat_is_racy(const struct stat *st, int64_t racy_after)
{
	return st && (int64_t)st->st_mtim.tv_sec >= racy_after;
}

void wt_fingerprint_add_stat(struct wt_fingerprint *fp, const char *path,
			     const struct stat *st, int64_t racy_after)
{
	fp_fold(fp, stat_hash(hash_bytes(path, strlen(path)), st));
	if (stat_is_racy(st, racy_after))
		fp->racy = true;
}

static bool is_skipped(const struct idx_entry *ie)
{
	return idx_stage(ie) != 0 || bs_is_gitlink(ie->mode) ||
	       (ie->flags & GIT_INDEX_ENTRY_VALID) ||
	       (ie->flags_ext & GIT_INDEX_ENTRY_SKIP_WORKTREE);
}

/* Compare an entry with its lstat, as git's ie_match_stat does. */
static enum entry_state classify(const struct sweep *sw, const struct idx_entry *ie,
				 const struct stat *st)
{
	if (!st)
		return ENTRY_MODIFIED; /* deleted */
	if (ie->flags_ext & GIT_INDEX_ENTRY_INTENT_TO_ADD)
		return ENTRY_MODIFIED;
	if (S_ISLNK(ie->mode)) {
		if (!S_ISLNK(st->st_mode) && (sw->has_symlinks || !S_ISREG(st->st_mode)))
			return ENTRY_MODIFIED;
	} else if (!S_ISREG(st->st_mode)) {
		return ENTRY_MODIFIED;
	} else if (sw->trust_filemode && ((ie->mode ^ st->st_mode) & S_IXUSR)) {
		return ENTRY_MODIFIED;
	}
	if (ie->size != (uint32_t)st->st_size)
		return ENTRY_MODIFIED;
	if ((uint32_t)ie->mtime_sec != (uint32_t)st->st_mtim.tv_sec ||
	    ie->mtime_nsec != (uint32_t)st->st_mtim.tv_nsec)
		return ENTRY_NEEDS_HASH;
	if (sw->check_stat) {
		if (sw->trust_ctime &&
		    ((uint32_t)ie->ctime_sec != (uint32_t)st->st_ctim.tv_sec ||
		     ie->ctime_nsec != (uint32_t)st->st_ctim.tv_nsec))
			return ENTRY_NEEDS_HASH;
		if (ie->ino != (uint32_t)st->st_ino || ie->uid != (uint32_t)st->st_uid ||
		    ie->gid != (uint32_t)st->st_gid)
			return ENTRY_NEEDS_HASH;
	}
	/* Racily clean: written in the same tick as the index, may have
	 * changed after without its stat data showing it. */
	if ((int64_t)ie->mtime_sec > sw->index_mtime_sec ||
	    ((int64_t)ie->mtime_sec == sw->index_mtime_sec &&
	     ie->mtime_nsec >= sw->index_mtime_nsec))
		return ENTRY_NEEDS_HASH;
	return ENTRY_CLEAN;
}

/* The last directory a worker verified: entries are sorted, so
 * consecutive ones mostly share it. */
struct dir_check {
	char path[4096];
	size_t len;
	bool ok;
};

/* Is every leading component of path a real directory?  git reads a path
 * that goes through a symbolic link (or a file) as deleted; lstat alone
 * would follow a link in the middle of the path. */
static bool leading_dirs_real(int root_fd, const char *path, size_t path_len,
			      struct dir_check *dc)
{
	const char *slash = NULL;
	char buf[sizeof dc->path];
	size_t dlen, common = 0;
	bool ok = true;

	for (size_t i = path_len; i > 0; i--)
		if (path[i - 1] == '/') {
			slash = path + i - 1;
			break;
		}
	if (!slash)
		return true;
	dlen = (size_t)(slash - path);
	if (dlen == dc->len && memcmp(path, dc->path, dlen) == 0)
		return dc->ok;
	if (dlen >= sizeof buf)
		return true;
	/* components shared with a directory already found real */
	if (dc->ok) {
		size_t n = dlen < dc->len ? dlen : dc->len;
		for (size_t k = 0; k <= n; k++) {
			if (k < n && path[k] != dc->path[k])
				break;
			if ((k == dc->len || dc->path[k] == '/') && (k == dlen || path[k] == '/'))
				common = k;
		}
	}
	memcpy(buf, path, dlen);
	buf[dlen] = '\0';
	for (size_t k = common + 1; ok && k <= dlen; k++) {
		if (k != dlen && buf[k] != '/')
			continue;
		struct stat st;
		char c = buf[k];
		buf[k] = '\0';
		if (fstatat(root_fd, buf, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISDIR(st.st_mode))
			ok = false;
		buf[k] = c;
	}
	memcpy(dc->path, path, dlen);
	dc->len = dlen;
	dc->ok = ok;
	return ok;
}

static void *sweep_worker(void *arg)
{
	struct sweep *sw = arg;
	struct wt_fingerprint part = { 0, 0, false };
	struct stat st;
	struct dir_check *dc = xcalloc(1, sizeof *dc);

	for (;;) {
		size_t start = atomic_fetch_add(&sw->next, SWEEP_CHUNK);
		if (start >= sw->count)
			break;
		size_t end = start + SWEEP_CHUNK < sw->count ? start + SWEEP_CHUNK : sw->count;
		for (size_t i = start; i < end; i++) {
			const struct idx_entry *ie = &sw->entries[i];
			if (is_skipped(ie)) {
				if (sw->state)
					sw->state[i] = ENTRY_SKIP;
				continue;
			}
			bool present = fstatat(sw->root_fd, ie->path, &st, AT_SYMLINK_NOFOLLOW) == 0;
			/* the fingerprint folds what lstat saw, in both modes alike */
			fp_fold(&part, stat_hash(i * 0x9e3779b97f4a7c15ULL + 1, present ? &st : NULL));
			if (present && stat_is_racy(&st, sw->racy_after))
				part.racy = true;
			if (!sw->state)
				continue;
			if (present && !leading_dirs_real(sw->root_fd, ie->path, ie->path_len, dc))
				present = false;
			sw->state[i] = (unsigned char)classify(sw, ie, present ? &st : NULL);
		}
	}
	free(dc);
	pthread_mutex_lock(&sw->lock);
	sw->fp.a += part.a;
	sw->fp.b ^= part.b;
	sw->fp.racy |= part.racy;
	pthread_mutex_unlock(&sw->lock);
	return NULL;
}

static int config_bool(git_config *cfg, const char *name, int dflt)
{
	int v;

	return cfg && git_config_get_bool(&v, cfg, name) == 0 ? v : dflt;
}

/* repo is only needed to compare (with_state): its config says how. */
static int sweep_init(struct sweep *sw, const char *workdir, git_repository *repo,
		      const struct idx *index, bool with_state, struct ferr *e)
{
	git_config *cfg = NULL;

	memset(sw, 0, sizeof *sw);
	sw->root_fd = -1;
	pthread_mutex_init(&sw->lock, NULL);
	if (!workdir)
		return ferr_set(e, FERR_INTERNAL, "status needs a working tree");
	sw->root_fd = open(workdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (sw->root_fd < 0)
		return ferr_set(e, FERR_IO, "%s: %s", workdir, strerror(errno));
	sw->count = index->count;
	sw->entries = index->entries;
	if (with_state) {
		sw->state = xcalloc(sw->count, 1);
		git_repository_config_snapshot(&cfg, repo);
	}
	sw->trust_filemode = config_bool(cfg, "core.filemode", 1);
	sw->trust_ctime = config_bool(cfg, "core.trustctime", 1);
	sw->has_symlinks = config_bool(cfg, "core.symlinks", 1);
	sw->check_stat = true;
	if (cfg) {
		git_buf v = GIT_BUF_INIT;
		if (git_config_get_string_buf(&v, cfg, "core.checkstat") == 0 &&
		    strcmp(v.ptr, "minimal") == 0)
			sw->check_stat = false;
		git_buf_dispose(&v);
		git_config_free(cfg);
	}
	sw->index_mtime_sec = index->mtime_sec;
	sw->index_mtime_nsec = index->mtime_nsec;
	sw->racy_after = (int64_t)time(NULL) - 2;
	atomic_init(&sw->next, 0);
	return 0;
}

static void sweep_release(struct sweep *sw)
{
	if (sw->root_fd >= 0)
		close(sw->root_fd);
	free(sw->state);
	pthread_mutex_destroy(&sw->lock);
}

static size_t worker_count(size_t entries)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	if (n < 1)
		n = 1;
	if (n > 8)
		n = 8;
	if (entries < 2000)
		return 0; /* not worth a thread: this thread does it */
	return (size_t)n;
}

/* Start the workers; with none, the sweep is done here at join time. */
static size_t sweep_start(struct sweep *sw, pthread_t *threads, size_t want)
{
	size_t started = 0;

	for (; started < want; started++)
		if (pthread_create(&threads[started], NULL, sweep_worker, sw) != 0)
			break;
	return started;
}

static void sweep_join(struct sweep *sw, pthread_t *threads, size_t started)
{
	/* this thread's own work is done: take chunks until none are left
	 * (all of them when no thread could start), then wait for the rest */
	sweep_worker(sw);
	for (size_t i = 0; i < started; i++)
		pthread_join(threads[i], NULL);
}

void bs_list_push(struct bs_list *l, size_t cap, const char *item, size_t len)
{
	l->total++;
	if (l->count >= cap)
		return;
	l->items = xrealloc(l->items, (l->count + 1) * sizeof *l->items);
	l->items[l->count++] = utf8_path_dup(item, len);
}

void bs_list_release(struct bs_list *l)
{
	for (size_t i = 0; i < l->count; i++)
		free(l->items[i]);
	free(l->items);
	memset(l, 0, sizeof *l);
}

void wt_dirs_release(struct wt_dirs *dirs)
{
	for (size_t i = 0; i < dirs->count; i++)
		free(dirs->paths[i]);
	free(dirs->paths);
	memset(dirs, 0, sizeof *dirs);
}

void wt_dirs_push(struct wt_dirs *dirs, const char *path, size_t len)
{
	if ((dirs->count & (dirs->count - 1)) == 0 || dirs->count == 0)
		dirs->paths = xrealloc(dirs->paths, (dirs->count ? dirs->count * 2 : 1) *
						    sizeof *dirs->paths);
	dirs->paths[dirs->count++] = xstrndup(path, len);
}

/* The untracked walk. */
struct walk {
	git_repository *repo;
	const struct idx_entry *entries;
	size_t count;
	int root_fd;
	struct wt_dirs *dirs;
	struct wt_fingerprint *fp;
	int64_t racy_after;
	char **untracked;
	size_t nuntracked, cap_untracked;
	struct ferr *e;
};

/* First entry whose path is >= key (byte order), within [lo, hi). */
static size_t lower_bound(const struct idx_entry *entries, size_t lo, size_t hi,
			  const char *key, size_t keylen)
{
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const char *p = entries[mid].path;
		size_t plen = entries[mid].path_len;
		int c = memcmp(p, key, plen < keylen ? plen : keylen);
		if (c < 0 || (c == 0 && plen < keylen))
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static bool has_prefix(const char *path, const char *prefix, size_t len)
{
	return strncmp(path, prefix, len) == 0;
}

static bool is_ignored(struct walk *w, const char *path)
{
	int ignored = 0;

	if (git_ignore_path_is_ignored(&ignored, w->repo, path) != 0)
		return false;
	return ignored != 0;
}

static void add_untracked(struct walk *w, const char *path, size_t len)
{
	if (w->nuntracked == w->cap_untracked) {
		w->cap_untracked = w->cap_untracked ? w->cap_untracked * 2 : 64;
		w->untracked = xrealloc(w->untracked, w->cap_untracked * sizeof *w->untracked);
	}
	w->untracked[w->nuntracked++] = xstrndup(path, len);
}

struct names {
	struct buf arena;     /* NUL-separated names */
	size_t *offs;
	unsigned char *types;
	size_t count;
};

static void names_release(struct names *n)
{
	buf_release(&n->arena);
	free(n->offs);
	free(n->types);
}

/* Read a directory's names (minus . .. and .git) and close it, so that the
 * walk holds one descriptor whatever the depth.  Records its stat data. */
static int read_dir(struct walk *w, const char *rel, struct names *out)
{
	int fd = *rel ? openat(w->root_fd, rel, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
		      : dup(w->root_fd);
	struct stat st;
	DIR *d;
	struct dirent *de;
	size_t cap = 0;

	memset(out, 0, sizeof *out);
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) == 0)
		wt_fingerprint_add_stat(w->fp, rel, &st, w->racy_after);
	wt_dirs_push(w->dirs, rel, strlen(rel));
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -1;
	}
	if (!*rel)
		rewinddir(d);
	while ((de = readdir(d))) {
		const char *nm = de->d_name;
		if (nm[0] == '.' && (!nm[1] || (nm[1] == '.' && !nm[2]) ||
				     strcmp(nm, ".git") == 0))
			continue;
		if (out->count == cap) {
			cap = cap ? cap * 2 : 32;
			out->offs = xrealloc(out->offs, cap * sizeof *out->offs);
			out->types = xrealloc(out->types, cap);
		}
		out->offs[out->count] = out->arena.len;
		out->types[out->count] = de->d_type;
		out->count++;
		buf_add(&out->arena, nm, strlen(nm) + 1);
	}
	closedir(d);
	return 0;
}

static unsigned char entry_type(struct walk *w, const char *path, unsigned char dtype)
{
	struct stat st;

	if (dtype != DT_UNKNOWN)
		return dtype;
	if (fstatat(w->root_fd, path, &st, AT_SYMLINK_NOFOLLOW) != 0)
		return DT_UNKNOWN;
	if (S_ISDIR(st.st_mode))
		return DT_DIR;
	if (S_ISREG(st.st_mode))
		return DT_REG;
	if (S_ISLNK(st.st_mode))
		return DT_LNK;
	return DT_UNKNOWN;
}

/* An untracked .gitignore changes what is ignored without touching its
 * directory's stat data: the fingerprint must see it. */
static void note_gitignore(struct walk *w, const char *path)
{
	struct stat st;

	if (fstatat(w->root_fd, path, &st, AT_SYMLINK_NOFOLLOW) == 0)
		wt_fingerprint_add_stat(w->fp, path, &st, w->racy_after);
	wt_dirs_push(w->dirs, path, strlen(path));
}

static bool exists_as(int root_fd, const char *dir, const char *name, mode_t type)
{
	struct buf p = BUF_INIT;
	struct stat st;
	bool yes;

	buf_printf(&p, "%s/%s", dir, name);
	yes = fstatat(root_fd, p.data, &st, 0) == 0 && (st.st_mode & S_IFMT) == type;
	buf_release(&p);
	return yes;
}

/* What git accepts as a repository's directory: HEAD, and objects/ with
 * refs/ (or a commondir file, for a linked worktree). */
static bool is_git_dir(int root_fd, const char *dir)
{
	return exists_as(root_fd, dir, "HEAD", S_IFREG) &&
	       (exists_as(root_fd, dir, "commondir", S_IFREG) ||
		(exists_as(root_fd, dir, "objects", S_IFDIR) &&
		 exists_as(root_fd, dir, "refs", S_IFDIR)));
}

/* Is dirpath another repository (a .git directory, or a "gitdir:" file
 * naming one)?  git shows such a directory as one untracked entry and does
 * not look inside; an empty or bogus .git makes it an ordinary directory. */
static bool is_nested_repo(struct walk *w, const char *dirpath)
{
	struct buf p = BUF_INIT;
	struct stat st;
	bool yes = false;

	buf_printf(&p, "%s/.git", dirpath);
	if (fstatat(w->root_fd, p.data, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		if (S_ISDIR(st.st_mode)) {
			yes = is_git_dir(w->root_fd, p.data);
		} else if (S_ISREG(st.st_mode) && st.st_size < 4096) {
			char line[4096];
			int fd = openat(w->root_fd, p.data, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
			ssize_t n = fd >= 0 ? read(fd, line, sizeof line - 1) : -1;
			if (fd >= 0)
				close(fd);
			if (n > 8 && strncmp(line, "gitdir: ", 8) == 0) {
				line[n] = '\0';
				line[strcspn(line, "\r\n")] = '\0';
				buf_reset(&p);
				if (line[8] == '/')
					buf_puts(&p, line + 8);
				else
					buf_printf(&p, "%s/%s", dirpath, line + 8);
				yes = is_git_dir(w->root_fd, p.data);
			}
		}
	}
	buf_release(&p);
	return yes;
}

/* Does an untracked directory hold anything that is not ignored?  git
 * shows such a directory as one "dir/" entry, and hides it otherwise. */
static bool dir_has_untracked(struct walk *w, struct buf *path, int depth)
{
	struct names nm;
	bool found = false;
	size_t base = path->len;

	if (depth > 256 || read_dir(w, path->data, &nm) != 0)
		return false;
	for (size_t i = 0; i < nm.count && !found; i++) {
		const char *name = nm.arena.data + nm.offs[i];
		buf_truncate(path, base);
		buf_printf(path, "/%s", name);
		if (strcmp(name, ".gitignore") == 0)
			note_gitignore(w, path->data);
		unsigned char t = entry_type(w, path->data, nm.types[i]);
		if (t == DT_DIR) {
			buf_putc(path, '/');
			bool ign = is_ignored(w, path->data);
			buf_truncate(path, path->len - 1);
			if (!ign && (is_nested_repo(w, path->data) || dir_has_untracked(w, path, depth + 1)))
				found = true;
		} else if (t == DT_REG || t == DT_LNK) {
			if (!is_ignored(w, path->data))
				found = true;
		}
	}
	buf_truncate(path, base);
	names_release(&nm);
	return found;
}

/* Walk rel ("" or "dir/sub/") whose tracked entries are [lo, hi). */
static void walk_dir(struct walk *w, struct buf *path, size_t lo, size_t hi, int depth)
{
	struct names nm;
	size_t base = path->len;

	if (depth > 256)
		return;
	/* read_dir wants the directory without its trailing slash */
	if (base) {
		buf_truncate(path, base - 1);
		int rc = read_dir(w, path->data, &nm);
		buf_putc(path, '/');
		if (rc != 0)
			return;
	} else if (read_dir(w, "", &nm) != 0) {
		return;
	}
	for (size_t i = 0; i < nm.count; i++) {
		const char *name = nm.arena.data + nm.offs[i];
		size_t nlen = strlen(name);
		buf_truncate(path, base);
		buf_add(path, name, nlen);
		if (strcmp(name, ".gitignore") == 0)
			note_gitignore(w, path->data);

		/* A tracked file (or submodule) of that exact name? */
		size_t at = lower_bound(w->entries, lo, hi, path->data, path->len);
		if (at < hi && strcmp(w->entries[at].path, path->data) == 0)
			continue;
		unsigned char t = entry_type(w, path->data, nm.types[i]);
		if (t == DT_DIR) {
			buf_putc(path, '/');
			size_t dlo = lower_bound(w->entries, lo, hi, path->data, path->len);
			size_t dhi = dlo;
			while (dhi < hi && has_prefix(w->entries[dhi].path, path->data, path->len))
				dhi++;
			if (dhi > dlo) {
				walk_dir(w, path, dlo, dhi, depth + 1);
				continue;
			}
			if (is_ignored(w, path->data))
				continue;
			buf_truncate(path, path->len - 1);
			if (is_nested_repo(w, path->data) || dir_has_untracked(w, path, depth + 1)) {
				buf_putc(path, '/');
				add_untracked(w, path->data, path->len);
			}
		} else if (t == DT_REG || t == DT_LNK) {
			if (!is_ignored(w, path->data))
				add_untracked(w, path->data, path->len);
		}
	}
	buf_truncate(path, base);
	names_release(&nm);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Does the file's content (through the filters .gitattributes asks for)
 * hash to what the index recorded? */
static bool hash_matches(git_repository *repo, const char *workdir, const struct idx_entry *ie)
{
	git_oid oid;
	struct buf abs = BUF_INIT;
	int rc = 0;

	buf_printf(&abs, "%s%s", workdir, ie->path);
	if (S_ISLNK(ie->mode)) {
		char target[4096];
		ssize_t n = readlink(abs.data, target, sizeof target);
		if (n < 0)
			rc = -1;
		else
			rc = git_odb_hash(&oid, target, (size_t)n, GIT_OBJECT_BLOB);
	} else {
		rc = git_repository_hashfile(&oid, repo, abs.data, GIT_OBJECT_BLOB, ie->path);
	}
	buf_release(&abs);
	return rc == 0 && memcmp(oid.id, ie->oid, GIT_OID_RAWSZ) == 0;
}

int wt_status(git_repository *repo, const struct idx *index, git_tree *head_tree,
	      const char *const *dirty_subs, size_t ndirty_subs, struct bs_status *st,
	      struct wt_dirs *dirs, struct wt_fingerprint *fp, struct ferr *e)
{
	struct sweep sw;
	pthread_t threads[8];
	size_t started;
	struct walk w;
	struct buf path = BUF_INIT;
	const char *workdir = git_repository_workdir(repo);
	int rc = -1;

	memset(fp, 0, sizeof *fp);
	if (sweep_init(&sw, workdir, repo, index, true, e) != 0)
		goto out;
	started = sweep_start(&sw, threads, worker_count(sw.count));

	memset(&w, 0, sizeof w);
	w.repo = repo;
	w.root_fd = sw.root_fd;
	w.dirs = dirs;
	w.fp = fp;
	w.racy_after = sw.racy_after;
	w.e = e;
	w.entries = sw.entries;
	w.count = sw.count;
	walk_dir(&w, &path, 0, w.count, 0);

	sweep_join(&sw, threads, started);
	fp->a += sw.fp.a;
	fp->b ^= sw.fp.b;
	fp->racy |= sw.fp.racy;

	for (size_t i = 0; i < sw.count; i++) {
		const struct idx_entry *ie = &sw.entries[i];
		if (idx_stage(ie) != 0) {
			if (i == 0 || strcmp(sw.entries[i - 1].path, ie->path) != 0)
				bs_list_push(&st->conflicted, BOOTSTRAP_MAX_PATHS, ie->path,
					     strlen(ie->path));
			continue;
		}
		bool modified = sw.state[i] == ENTRY_MODIFIED;
		if (bs_is_gitlink(ie->mode))
			modified = ndirty_subs && bsearch(&ie->path, dirty_subs, ndirty_subs, sizeof *dirty_subs,
					   cmp_str) != NULL;
		if (sw.state[i] == ENTRY_NEEDS_HASH)
			modified = !hash_matches(repo, workdir, ie);
		if (modified)
			bs_list_push(&st->modified, BOOTSTRAP_MAX_PATHS, ie->path, strlen(ie->path));
	}
	if (w.nuntracked)
		qsort(w.untracked, w.nuntracked, sizeof *w.untracked, cmp_str);
	for (size_t i = 0; i < w.nuntracked; i++) {
		bs_list_push(&st->untracked, BOOTSTRAP_MAX_PATHS, w.untracked[i],
			     strlen(w.untracked[i]));
		free(w.untracked[i]);
	}
	free(w.untracked);
	rc = wt_staged(repo, index, head_tree, &st->staged, e);
out:
	buf_release(&path);
	sweep_release(&sw);
	return rc;
}

int wt_fingerprint(const char *workdir, const struct idx *index, const struct wt_dirs *dirs,
		   struct wt_fingerprint *fp, struct ferr *e)
{
	struct sweep sw;
	pthread_t threads[8];
	size_t started;
	struct stat st;

	memset(fp, 0, sizeof *fp);
	if (sweep_init(&sw, workdir, NULL, index, false, e) != 0) {
		sweep_release(&sw);
		return -1;
	}
	started = sweep_start(&sw, threads, worker_count(sw.count));
	for (size_t i = 0; i < dirs->count; i++) {
		const char *p = dirs->paths[i];
		bool present = p[0] == '/' ? lstat(p, &st) == 0
			       : *p ? fstatat(sw.root_fd, p, &st, AT_SYMLINK_NOFOLLOW) == 0
				    : fstat(sw.root_fd, &st) == 0;
		wt_fingerprint_add_stat(fp, p, present ? &st : NULL, sw.racy_after);
	}
	sweep_join(&sw, threads, started);
	fp->a += sw.fp.a;
	fp->b ^= sw.fp.b;
	fp->racy |= sw.fp.racy;
	sweep_release(&sw);
	return 0;
}

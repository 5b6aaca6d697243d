/*
 * internal.h — what the parts of the bootstrap module share: the
 * working-tree status (status.c) and its fingerprint used by the cache
 * (cache.c).  Not a public interface.
 */
#ifndef FORJA_BOOTSTRAP_INTERNAL_H
#define FORJA_BOOTSTRAP_INTERNAL_H

#include <git2.h>
#include <stdint.h>

#include "forja/bootstrap.h"

/* One entry of git's index, decoded (see index.c).  path points into the
 * mapping (versions 2 and 3) or the arena (version 4); NUL-terminated. */
struct idx_entry {
	const char *path;
	size_t path_off;
	uint32_t path_len;
	uint32_t ctime_sec, ctime_nsec, mtime_sec, mtime_nsec;
	uint32_t dev, ino, mode, uid, gid, size;
	unsigned char oid[GIT_OID_RAWSZ];
	uint16_t flags, flags_ext;
};

/* A cache-tree node: entry_count < 0 means invalid (oid unset). */
struct idx_tree {
	const char *name;        /* into the mapping, not NUL-terminated */
	size_t name_len;
	long entry_count;
	unsigned char oid[GIT_OID_RAWSZ];
	struct idx_tree **children;
	size_t nchildren;
};

struct idx {
	void *map;
	size_t map_len;
	uint32_t version;
	struct idx_entry *entries;  /* sorted by path, then stage */
	size_t count;
	char *arena;
	struct idx_tree *tree;      /* NULL without a TREE extension */
	unsigned char checksum[GIT_OID_RAWSZ];
	int64_t mtime_sec;          /* of the index file, for racy entries */
	uint32_t mtime_nsec;
};

/* Map and decode the index at path.  A missing file is an empty index.
 * Returns 0; -1 with FERR_IO naming the file when it is damaged; -2 when
 * it uses a required extension forja cannot read (split or sparse index). */
int idx_read(const char *path, struct idx *ix, struct ferr *e);
/* Decode an index held in memory (data stays owned by the caller and must
 * outlive ix); path only names it in errors.  Pure: the fuzz target. */
int idx_parse(struct idx *ix, const char *path, const void *data, size_t len,
	      struct ferr *e);
void idx_release(struct idx *ix);
/* The subtree called name (len bytes) of t, or NULL. */
const struct idx_tree *idx_tree_child(const struct idx_tree *t, const char *name, size_t len);

static inline int idx_stage(const struct idx_entry *ie)
{
	return (ie->flags & 0x3000) >> 12;
}

/* A submodule entry in the index (mode 160000). */
static inline bool bs_is_gitlink(uint32_t mode)
{
	return (mode & 0170000) == 0160000;
}

/* A 128-bit summary of stat data: equal fingerprints mean nothing that the
 * status depends on was touched. */
struct wt_fingerprint {
	uint64_t a, b;
	bool racy;   /* something changed too recently to trust its stat data */
};

/* Every path whose stat data the result depends on besides the index
 * entries, so that a later fingerprint re-stats exactly them: relative
 * ones ("" for the root) are the directories the status walked and the
 * .gitignore files in them; absolute ones are git's files (HEAD, the refs
 * read, packed-refs, configs, excludes) and the directories from the root
 * down to the current one with the files in them (instruction files,
 * README, project files). */
struct wt_dirs {
	char **paths;
	size_t count;
};

/* Full status of the working tree against the index and HEAD tree (NULL
 * when unborn): fills st (lists capped at BOOTSTRAP_MAX_PATHS, totals
 * exact), the directories visited and the fingerprint of everything
 * stat'ed.  Index entries are stat'ed by worker threads while this thread
 * walks directories for untracked files.  Returns 0 or -1 with e. */
int wt_status(git_repository *repo, const struct idx *index, git_tree *head_tree,
	      const char *const *dirty_subs, size_t ndirty_subs,
	      struct bs_status *st, struct wt_dirs *dirs, struct wt_fingerprint *fp,
	      struct ferr *e);

/* Only the fingerprint: stat every index entry and every directory in dirs.
 * Must equal what wt_status() computed when nothing changed. */
int wt_fingerprint(const char *workdir, const struct idx *index, const struct wt_dirs *dirs,
		   struct wt_fingerprint *fp, struct ferr *e);

void wt_dirs_push(struct wt_dirs *dirs, const char *path, size_t len);
void wt_dirs_release(struct wt_dirs *dirs);

/* Changes between the HEAD tree (NULL when unborn) and the index, into
 * staged; the cache-tree skips every subtree that the index did not
 * touch since it was written. */
int wt_staged(git_repository *repo, const struct idx *index, git_tree *head_tree,
	      struct bs_list *staged, struct ferr *e);

/* Mix stat data of one file into a fingerprint (absent: st == NULL). */
struct stat;
void wt_fingerprint_add_stat(struct wt_fingerprint *fp, const char *path,
			     const struct stat *st, int64_t racy_after);

/* Where a repository's parts are, found without libgit2 (discover.c). */
struct repo_paths {
	char *workdir;     /* resolved, no trailing slash */
	char *gitdir;      /* resolved */
	char *commondir;   /* resolved; equals gitdir outside linked worktrees */
	char *index_path;
	char *cwd_rel;
};

/* 0: found a repository with a working tree; 1: none, or a case left to
 * libgit2 (bare, GIT_DIR in the environment, …).  Never an error. */
int repo_discover(const char *cwd, struct repo_paths *rp);
void repo_paths_release(struct repo_paths *rp);

/* The part of the cache key that needs no libgit2: format, budget, forja
 * version, root, current directory, git directory, index path, checksum
 * and entry count. */
void bs_state_base(struct buf *key, size_t budget, const char *root, const char *cwd_rel,
		   const char *gitdir, const char *index_path, const struct idx *index);

/* One scan in progress: the repository objects the parts share. */
struct bs_ctx {
	bool initialized;        /* git_libgit2_init() was called */
	char *cwd;               /* absolute, resolved */
	git_repository *repo;    /* NULL outside a repository */
	struct idx index;        /* empty when bare */
	char *index_path;
	char *index_note;        /* why there is no index to show (split index …) */
	bool has_index;          /* false when bare */
	git_reference *head;     /* NULL when unborn */
	git_commit *head_commit;
	git_tree *head_tree;
	char *root;              /* resolved working tree (or git dir when bare) */
	char *gitdir;            /* resolved, no trailing slash */
	char *cwd_rel;
	/* submodules whose working tree differs, sorted raw paths */
	char **dirty_subs;
	size_t ndirty_subs;
	struct buf sub_state;    /* submodule ids and flags, for the cache key */
};

/* Open the repository containing cwd (none is not an error), its index
 * (a corrupt one is: FERR_IO naming the file) and HEAD. */
int bs_ctx_open(struct bs_ctx *ctx, const char *cwd, struct ferr *e);
void bs_ctx_release(struct bs_ctx *ctx);
/* Submodule states (ids, flags, which are dirty), needed before the key. */
void bs_ctx_submodule_state(struct bs_ctx *ctx);
/* The cache key of this scan: bs_state_base() plus submodule states. */
void bs_ctx_state_key(struct bs_ctx *ctx, size_t budget, struct buf *key);
/* Record (in dirs) and stat (into fp) the absolute paths the scan read
 * outside the working-tree status; see struct wt_dirs. */
void bs_ctx_record_extra(struct bs_ctx *ctx, struct wt_dirs *dirs, struct wt_fingerprint *fp);
/* The full scan; dirs and fp receive what the cache needs (may be NULL
 * for a plain directory). */
int bs_ctx_scan(struct bs_ctx *ctx, struct bootstrap *bs, struct wt_dirs *dirs,
		struct wt_fingerprint *fp, struct ferr *e);

void bs_list_push(struct bs_list *l, size_t cap, const char *item, size_t len);
void bs_list_release(struct bs_list *l);

#endif

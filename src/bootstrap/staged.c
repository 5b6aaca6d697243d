/*
 * staged.c — what is staged: the HEAD tree against the index.
 *
 * As git does, the index's cache-tree (TREE extension) names the tree
 * object each still-valid directory of the index would produce; where it
 * equals the HEAD tree's subtree, the whole directory is unchanged and is
 * skipped without reading a single object.  After a commit that is the
 * whole tree; after `git add` only the directories on the changed paths
 * are compared entry by entry.  An index without a cache-tree is compared
 * in full, which costs what libgit2's tree-to-index diff costs.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

struct staged {
	git_repository *repo;
	const struct idx_entry *entries;
	char **paths;
	size_t count, cap;
	int error;
};

static void add_path(struct staged *s, const char *path, size_t len)
{
	if (s->count == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 32;
		s->paths = xrealloc(s->paths, s->cap * sizeof *s->paths);
	}
	s->paths[s->count++] = xstrndup(path, len);
}

struct walk_payload {
	struct staged *s;
	const char *prefix;
};

static int deleted_cb(const char *root, const git_tree_entry *te, void *payload)
{
	struct walk_payload *wp = payload;
	struct buf p = BUF_INIT;

	if (git_tree_entry_type(te) == GIT_OBJECT_TREE)
		return 0;
	buf_printf(&p, "%s%s%s", wp->prefix, root, git_tree_entry_name(te));
	add_path(wp->s, p.data, p.len);
	buf_release(&p);
	return 0;
}

/* Every file of a tree that the index no longer has. */
static void add_deleted(struct staged *s, const git_tree_entry *te, const char *path)
{
	git_tree *sub = NULL;
	struct buf prefix = BUF_INIT;

	if (git_tree_entry_type(te) != GIT_OBJECT_TREE) {
		add_path(s, path, strlen(path));
		return;
	}
	if (git_tree_lookup(&sub, s->repo, git_tree_entry_id(te)) != 0) {
		s->error = -1;
		return;
	}
	buf_printf(&prefix, "%s/", path);
	struct walk_payload wp = { s, prefix.data };
	git_tree_walk(sub, GIT_TREEWALK_PRE, deleted_cb, &wp);
	git_tree_free(sub);
	buf_release(&prefix);
}

static size_t lower_bound(const struct staged *s, size_t lo, size_t hi, const char *key,
			  size_t len)
{
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct idx_entry *e = &s->entries[mid];
		size_t n = e->path_len < len ? e->path_len : len;
		int c = memcmp(e->path, key, n);
		if (c < 0 || (c == 0 && e->path_len < len))
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Does the index hold path itself, or anything beneath path/? */
static bool index_has(const struct staged *s, size_t lo, size_t hi, struct buf *path)
{
	size_t len = path->len, at = lower_bound(s, lo, hi, path->data, len);
	bool found;

	if (at < hi && s->entries[at].path_len == len &&
	    memcmp(s->entries[at].path, path->data, len) == 0)
		return true;
	buf_putc(path, '/');
	at = lower_bound(s, at, hi, path->data, len + 1);
	found = at < hi && s->entries[at].path_len > len + 1 &&
		memcmp(s->entries[at].path, path->data, len + 1) == 0;
	buf_truncate(path, len);
	return found;
}

/* Compare tree (NULL: nothing there) with the index entries [lo, hi),
 * which all start with prefix (empty or ending in '/'). */
static void diff_dir(struct staged *s, git_tree *tree, size_t lo, size_t hi,
		     struct buf *prefix, const struct idx_tree *ct)
{
	size_t plen = prefix->len;

	if (s->error)
		return;
	if (tree && ct && ct->entry_count >= 0 &&
	    memcmp(ct->oid, git_tree_id(tree)->id, GIT_OID_RAWSZ) == 0)
		return;

	for (size_t i = lo; i < hi;) {
		const struct idx_entry *ie = &s->entries[i];
		const char *name = ie->path + plen;
		const char *slash = strchr(name, '/');
		size_t nlen = slash ? (size_t)(slash - name) : strlen(name);
		size_t j = i + 1;
		char *cname = xstrndup(name, nlen);
		const git_tree_entry *te = tree ? git_tree_entry_byname(tree, cname) : NULL;

		if (!slash) {
			bool conflicted = idx_stage(ie) != 0;
			while (j < hi && s->entries[j].path_len == ie->path_len &&
			       memcmp(s->entries[j].path, ie->path, ie->path_len) == 0) {
				conflicted |= idx_stage(&s->entries[j]) != 0;
				j++;
			}
			/* git add -N: a promise to add, shown in the working tree
			 * column, not staged */
			bool intent = (ie->flags_ext & GIT_INDEX_ENTRY_INTENT_TO_ADD) != 0;
			if (!conflicted && !intent) {
				if (!te) {
					add_path(s, ie->path, ie->path_len);
				} else if (git_tree_entry_type(te) == GIT_OBJECT_TREE) {
					add_path(s, ie->path, ie->path_len);
					add_deleted(s, te, ie->path);
				} else if (memcmp(git_tree_entry_id(te)->id, ie->oid, GIT_OID_RAWSZ) != 0 ||
					   (uint32_t)git_tree_entry_filemode(te) != ie->mode) {
					add_path(s, ie->path, ie->path_len);
				}
			}
		} else {
			size_t sub_len = plen + nlen + 1;
			while (j < hi && s->entries[j].path_len > sub_len &&
			       memcmp(s->entries[j].path, ie->path, sub_len) == 0)
				j++;
			const struct idx_tree *child = ct ? idx_tree_child(ct, name, nlen) : NULL;
			git_tree *sub = NULL;
			buf_add(prefix, name, nlen + 1);
			if (te && git_tree_entry_type(te) == GIT_OBJECT_TREE) {
				if (git_tree_lookup(&sub, s->repo, git_tree_entry_id(te)) != 0)
					s->error = -1;
			} else if (te) {
				/* a file became a directory */
				buf_truncate(prefix, plen + nlen);
				add_path(s, prefix->data, prefix->len);
				buf_putc(prefix, '/');
			}
			if (!s->error)
				diff_dir(s, sub, i, j, prefix, child);
			git_tree_free(sub);
			buf_truncate(prefix, plen);
		}
		free(cname);
		i = j;
	}
	if (!tree)
		return;
	/* what the tree has and the index does not */
	for (size_t k = 0, n = git_tree_entrycount(tree); k < n && !s->error; k++) {
		const git_tree_entry *te = git_tree_entry_byindex(tree, k);
		buf_truncate(prefix, plen);
		buf_puts(prefix, git_tree_entry_name(te));
		if (!index_has(s, lo, hi, prefix))
			add_deleted(s, te, prefix->data);
	}
	buf_truncate(prefix, plen);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int wt_staged(git_repository *repo, const struct idx *index, git_tree *head_tree,
	      struct bs_list *staged, struct ferr *e)
{
	struct staged s = { repo, index->entries, NULL, 0, 0, 0 };
	struct buf prefix = BUF_INIT;

	diff_dir(&s, head_tree, 0, index->count, &prefix, index->tree);
	buf_release(&prefix);
	if (s.count)
		qsort(s.paths, s.count, sizeof *s.paths, cmp_str);
	for (size_t i = 0; i < s.count; i++) {
		bs_list_push(staged, BOOTSTRAP_MAX_PATHS, s.paths[i], strlen(s.paths[i]));
		free(s.paths[i]);
	}
	free(s.paths);
	if (s.error) {
		const git_error *ge = git_error_last();
		return ferr_set(e, FERR_IO, "comparing HEAD with the index: %s",
				ge && ge->message ? ge->message : "a tree object is missing");
	}
	return 0;
}

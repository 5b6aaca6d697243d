/*
 * gitlib.c — libgit2 loaded on first use (see include/forja/gitlib.h):
 * a table of the functions forja calls, resolved by dlsym, and one
 * wrapper per function with libgit2's own prototype (the compiler checks
 * each against git2.h).  To call another libgit2 function, add it to the
 * struct, the table and the wrappers.
 */
#include "forja/gitlib.h"

#ifndef FORJA_GIT2_SONAME

int gitlib_load(struct ferr *e)
{
	(void)e;
	return 0;
}

#else

#include <dlfcn.h>
#include <git2.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct git2_api {
	int (*git_branch_upstream_name)(git_buf *out, git_repository *repo, const char *refname);
	void (*git_buf_dispose)(git_buf *buffer);
	void (*git_commit_free)(git_commit *commit);
	const git_oid * (*git_commit_id)(const git_commit *commit);
	int (*git_commit_lookup)(git_commit **commit, git_repository *repo, const git_oid *id);
	const char * (*git_commit_message)(const git_commit *commit);
	git_time_t (*git_commit_time)(const git_commit *commit);
	int (*git_commit_time_offset)(const git_commit *commit);
	int (*git_commit_tree)(git_tree **tree_out, const git_commit *commit);
	void (*git_config_free)(git_config *cfg);
	int (*git_config_get_bool)(int *out, const git_config *cfg, const char *name);
	int (*git_config_get_path)(git_buf *out, const git_config *cfg, const char *name);
	int (*git_config_get_string_buf)(git_buf *out, const git_config *cfg, const char *name);
	void (*git_error_clear)(void);
	const git_error * (*git_error_last)(void);
	int (*git_graph_ahead_behind)(size_t *ahead, size_t *behind, git_repository *repo, const git_oid *local, const git_oid *upstream);
	int (*git_ignore_path_is_ignored)(int *ignored, git_repository *repo, const char *path);
	size_t (*git_index_entrycount)(const git_index *index);
	void (*git_index_free)(git_index *index);
	const git_index_entry * (*git_index_get_byindex)(git_index *index, size_t n);
	int (*git_index_open)(git_index **out, const char *index_path);
	int (*git_libgit2_init)(void);
	int (*git_libgit2_shutdown)(void);
	int (*git_odb_hash)(git_oid *out, const void *data, size_t len, git_object_t type);
	int (*git_oid_fromraw)(git_oid *out, const unsigned char *raw);
	char * (*git_oid_tostr)(char *out, size_t n, const git_oid *id);
	void (*git_reference_free)(git_reference *ref);
	int (*git_reference_is_branch)(const git_reference *ref);
	int (*git_reference_lookup)(git_reference **out, git_repository *repo, const char *name);
	const char * (*git_reference_name)(const git_reference *ref);
	int (*git_reference_name_to_id)(git_oid *out, git_repository *repo, const char *name);
	int (*git_reference_peel)(git_object **out, const git_reference *ref, git_object_t type);
	const char * (*git_reference_shorthand)(const git_reference *ref);
	const char * (*git_reference_symbolic_target)(const git_reference *ref);
	git_reference_t (*git_reference_type)(const git_reference *ref);
	const char * (*git_repository_commondir)(const git_repository *repo);
	int (*git_repository_config_snapshot)(git_config **out, git_repository *repo);
	void (*git_repository_free)(git_repository *repo);
	int (*git_repository_hashfile)(git_oid *out, git_repository *repo, const char *path, git_object_t type, const char *as_path);
	int (*git_repository_head)(git_reference **out, git_repository *repo);
	int (*git_repository_is_bare)(const git_repository *repo);
	int (*git_repository_is_worktree)(const git_repository *repo);
	int (*git_repository_open_ext)(git_repository **out, const char *path, unsigned int flags, const char *ceiling_dirs);
	const char * (*git_repository_path)(const git_repository *repo);
	int (*git_repository_state)(git_repository *repo);
	const char * (*git_repository_workdir)(const git_repository *repo);
	void (*git_revwalk_free)(git_revwalk *walk);
	int (*git_revwalk_new)(git_revwalk **out, git_repository *repo);
	int (*git_revwalk_next)(git_oid *out, git_revwalk *walk);
	int (*git_revwalk_push)(git_revwalk *walk, const git_oid *id);
	int (*git_revwalk_sorting)(git_revwalk *walk, unsigned int sort_mode);
	int (*git_submodule_foreach)(git_repository *repo, git_submodule_cb callback, void *payload);
	git_submodule_ignore_t (*git_submodule_ignore)(git_submodule *submodule);
	const git_oid * (*git_submodule_index_id)(git_submodule *submodule);
	const char * (*git_submodule_path)(git_submodule *submodule);
	int (*git_submodule_status)(unsigned int *status, git_repository *repo, const char *name, git_submodule_ignore_t ignore);
	const char * (*git_submodule_url)(git_submodule *submodule);
	const git_tree_entry * (*git_tree_entry_byindex)(const git_tree *tree, size_t idx);
	const git_tree_entry * (*git_tree_entry_byname)(const git_tree *tree, const char *filename);
	git_filemode_t (*git_tree_entry_filemode)(const git_tree_entry *entry);
	const git_oid * (*git_tree_entry_id)(const git_tree_entry *entry);
	const char * (*git_tree_entry_name)(const git_tree_entry *entry);
	git_object_t (*git_tree_entry_type)(const git_tree_entry *entry);
	size_t (*git_tree_entrycount)(const git_tree *tree);
	void (*git_tree_free)(git_tree *tree);
	const git_oid * (*git_tree_id)(const git_tree *tree);
	int (*git_tree_lookup)(git_tree **out, git_repository *repo, const git_oid *id);
	int (*git_tree_walk)(const git_tree *tree, git_treewalk_mode mode, git_treewalk_cb callback, void *payload);
};

static const struct {
	const char *name;
	size_t offset;
} git2_symbols[] = {
	{ "git_branch_upstream_name", offsetof(struct git2_api, git_branch_upstream_name) },
	{ "git_buf_dispose", offsetof(struct git2_api, git_buf_dispose) },
	{ "git_commit_free", offsetof(struct git2_api, git_commit_free) },
	{ "git_commit_id", offsetof(struct git2_api, git_commit_id) },
	{ "git_commit_lookup", offsetof(struct git2_api, git_commit_lookup) },
	{ "git_commit_message", offsetof(struct git2_api, git_commit_message) },
	{ "git_commit_time", offsetof(struct git2_api, git_commit_time) },
	{ "git_commit_time_offset", offsetof(struct git2_api, git_commit_time_offset) },
	{ "git_commit_tree", offsetof(struct git2_api, git_commit_tree) },
	{ "git_config_free", offsetof(struct git2_api, git_config_free) },
	{ "git_config_get_bool", offsetof(struct git2_api, git_config_get_bool) },
	{ "git_config_get_path", offsetof(struct git2_api, git_config_get_path) },
	{ "git_config_get_string_buf", offsetof(struct git2_api, git_config_get_string_buf) },
	{ "git_error_clear", offsetof(struct git2_api, git_error_clear) },
	{ "git_error_last", offsetof(struct git2_api, git_error_last) },
	{ "git_graph_ahead_behind", offsetof(struct git2_api, git_graph_ahead_behind) },
	{ "git_ignore_path_is_ignored", offsetof(struct git2_api, git_ignore_path_is_ignored) },
	{ "git_index_entrycount", offsetof(struct git2_api, git_index_entrycount) },
	{ "git_index_free", offsetof(struct git2_api, git_index_free) },
	{ "git_index_get_byindex", offsetof(struct git2_api, git_index_get_byindex) },
	{ "git_index_open", offsetof(struct git2_api, git_index_open) },
	{ "git_libgit2_init", offsetof(struct git2_api, git_libgit2_init) },
	{ "git_libgit2_shutdown", offsetof(struct git2_api, git_libgit2_shutdown) },
	{ "git_odb_hash", offsetof(struct git2_api, git_odb_hash) },
	{ "git_oid_fromraw", offsetof(struct git2_api, git_oid_fromraw) },
	{ "git_oid_tostr", offsetof(struct git2_api, git_oid_tostr) },
	{ "git_reference_free", offsetof(struct git2_api, git_reference_free) },
	{ "git_reference_is_branch", offsetof(struct git2_api, git_reference_is_branch) },
	{ "git_reference_lookup", offsetof(struct git2_api, git_reference_lookup) },
	{ "git_reference_name", offsetof(struct git2_api, git_reference_name) },
	{ "git_reference_name_to_id", offsetof(struct git2_api, git_reference_name_to_id) },
	{ "git_reference_peel", offsetof(struct git2_api, git_reference_peel) },
	{ "git_reference_shorthand", offsetof(struct git2_api, git_reference_shorthand) },
	{ "git_reference_symbolic_target", offsetof(struct git2_api, git_reference_symbolic_target) },
	{ "git_reference_type", offsetof(struct git2_api, git_reference_type) },
	{ "git_repository_commondir", offsetof(struct git2_api, git_repository_commondir) },
	{ "git_repository_config_snapshot", offsetof(struct git2_api, git_repository_config_snapshot) },
	{ "git_repository_free", offsetof(struct git2_api, git_repository_free) },
	{ "git_repository_hashfile", offsetof(struct git2_api, git_repository_hashfile) },
	{ "git_repository_head", offsetof(struct git2_api, git_repository_head) },
	{ "git_repository_is_bare", offsetof(struct git2_api, git_repository_is_bare) },
	{ "git_repository_is_worktree", offsetof(struct git2_api, git_repository_is_worktree) },
	{ "git_repository_open_ext", offsetof(struct git2_api, git_repository_open_ext) },
	{ "git_repository_path", offsetof(struct git2_api, git_repository_path) },
	{ "git_repository_state", offsetof(struct git2_api, git_repository_state) },
	{ "git_repository_workdir", offsetof(struct git2_api, git_repository_workdir) },
	{ "git_revwalk_free", offsetof(struct git2_api, git_revwalk_free) },
	{ "git_revwalk_new", offsetof(struct git2_api, git_revwalk_new) },
	{ "git_revwalk_next", offsetof(struct git2_api, git_revwalk_next) },
	{ "git_revwalk_push", offsetof(struct git2_api, git_revwalk_push) },
	{ "git_revwalk_sorting", offsetof(struct git2_api, git_revwalk_sorting) },
	{ "git_submodule_foreach", offsetof(struct git2_api, git_submodule_foreach) },
	{ "git_submodule_ignore", offsetof(struct git2_api, git_submodule_ignore) },
	{ "git_submodule_index_id", offsetof(struct git2_api, git_submodule_index_id) },
	{ "git_submodule_path", offsetof(struct git2_api, git_submodule_path) },
	{ "git_submodule_status", offsetof(struct git2_api, git_submodule_status) },
	{ "git_submodule_url", offsetof(struct git2_api, git_submodule_url) },
	{ "git_tree_entry_byindex", offsetof(struct git2_api, git_tree_entry_byindex) },
	{ "git_tree_entry_byname", offsetof(struct git2_api, git_tree_entry_byname) },
	{ "git_tree_entry_filemode", offsetof(struct git2_api, git_tree_entry_filemode) },
	{ "git_tree_entry_id", offsetof(struct git2_api, git_tree_entry_id) },
	{ "git_tree_entry_name", offsetof(struct git2_api, git_tree_entry_name) },
	{ "git_tree_entry_type", offsetof(struct git2_api, git_tree_entry_type) },
	{ "git_tree_entrycount", offsetof(struct git2_api, git_tree_entrycount) },
	{ "git_tree_free", offsetof(struct git2_api, git_tree_free) },
	{ "git_tree_id", offsetof(struct git2_api, git_tree_id) },
	{ "git_tree_lookup", offsetof(struct git2_api, git_tree_lookup) },
	{ "git_tree_walk", offsetof(struct git2_api, git_tree_walk) },
};

static struct git2_api api;
static int loaded;  /* 0 not tried, 1 ok, -1 failed */
static char load_error[512];

int gitlib_load(struct ferr *e)
{
	void *lib;

	if (loaded == 0) {
		loaded = -1;
		lib = dlopen(FORJA_GIT2_SONAME, RTLD_NOW | RTLD_LOCAL);
		if (!lib) {
			snprintf(load_error, sizeof load_error, "cannot load %s: %s",
				 FORJA_GIT2_SONAME, dlerror());
		} else {
			size_t i, n = sizeof git2_symbols / sizeof *git2_symbols;
			for (i = 0; i < n; i++) {
				void *sym = dlsym(lib, git2_symbols[i].name);
				if (!sym) {
					snprintf(load_error, sizeof load_error,
						 "%s has no %s: %s", FORJA_GIT2_SONAME,
						 git2_symbols[i].name, dlerror());
					break;
				}
				/* POSIX guarantees a data pointer from dlsym can hold
				 * a function's address */
				memcpy((char *)&api + git2_symbols[i].offset, &sym, sizeof sym);
			}
			if (i == n)
				loaded = 1;
		}
	}
	if (loaded < 0)
		return ferr_set(e, FERR_IO, "%s", load_error);
	return 0;
}

static const struct git2_api *git2_api(void)
{
	struct ferr e = FERR_INIT;

	if (loaded != 1 && gitlib_load(&e) != 0) {
		fprintf(stderr, "forja: %s\n", e.msg);
		abort();
	}
	return &api;
}

int git_branch_upstream_name(git_buf *out, git_repository *repo, const char *refname)
{
	return git2_api()->git_branch_upstream_name(out, repo, refname);
}

void git_buf_dispose(git_buf *buffer)
{
	git2_api()->git_buf_dispose(buffer);
}

void git_commit_free(git_commit *commit)
{
	git2_api()->git_commit_free(commit);
}

const git_oid * git_commit_id(const git_commit *commit)
{
	return git2_api()->git_commit_id(commit);
}

int git_commit_lookup(git_commit **commit, git_repository *repo, const git_oid *id)
{
	return git2_api()->git_commit_lookup(commit, repo, id);
}

const char * git_commit_message(const git_commit *commit)
{
	return git2_api()->git_commit_message(commit);
}

git_time_t git_commit_time(const git_commit *commit)
{
	return git2_api()->git_commit_time(commit);
}

int git_commit_time_offset(const git_commit *commit)
{
	return git2_api()->git_commit_time_offset(commit);
}

int git_commit_tree(git_tree **tree_out, const git_commit *commit)
{
	return git2_api()->git_commit_tree(tree_out, commit);
}

void git_config_free(git_config *cfg)
{
	git2_api()->git_config_free(cfg);
}

int git_config_get_bool(int *out, const git_config *cfg, const char *name)
{
	return git2_api()->git_config_get_bool(out, cfg, name);
}

int git_config_get_path(git_buf *out, const git_config *cfg, const char *name)
{
	return git2_api()->git_config_get_path(out, cfg, name);
}

int git_config_get_string_buf(git_buf *out, const git_config *cfg, const char *name)
{
	return git2_api()->git_config_get_string_buf(out, cfg, name);
}

void git_error_clear(void)
{
	git2_api()->git_error_clear();
}

const git_error * git_error_last(void)
{
	return git2_api()->git_error_last();
}

int git_graph_ahead_behind(size_t *ahead, size_t *behind, git_repository *repo, const git_oid *local, const git_oid *upstream)
{
	return git2_api()->git_graph_ahead_behind(ahead, behind, repo, local, upstream);
}

int git_ignore_path_is_ignored(int *ignored, git_repository *repo, const char *path)
{
	return git2_api()->git_ignore_path_is_ignored(ignored, repo, path);
}

size_t git_index_entrycount(const git_index *index)
{
	return git2_api()->git_index_entrycount(index);
}

void git_index_free(git_index *index)
{
	git2_api()->git_index_free(index);
}

const git_index_entry * git_index_get_byindex(git_index *index, size_t n)
{
	return git2_api()->git_index_get_byindex(index, n);
}

int git_index_open(git_index **out, const char *index_path)
{
	return git2_api()->git_index_open(out, index_path);
}

int git_libgit2_init(void)
{
	return git2_api()->git_libgit2_init();
}

int git_libgit2_shutdown(void)
{
	return git2_api()->git_libgit2_shutdown();
}

int git_odb_hash(git_oid *out, const void *data, size_t len, git_object_t type)
{
	return git2_api()->git_odb_hash(out, data, len, type);
}

int git_oid_fromraw(git_oid *out, const unsigned char *raw)
{
	return git2_api()->git_oid_fromraw(out, raw);
}

char * git_oid_tostr(char *out, size_t n, const git_oid *id)
{
	return git2_api()->git_oid_tostr(out, n, id);
}

void git_reference_free(git_reference *ref)
{
	git2_api()->git_reference_free(ref);
}

int git_reference_is_branch(const git_reference *ref)
{
	return git2_api()->git_reference_is_branch(ref);
}

int git_reference_lookup(git_reference **out, git_repository *repo, const char *name)
{
	return git2_api()->git_reference_lookup(out, repo, name);
}

const char * git_reference_name(const git_reference *ref)
{
	return git2_api()->git_reference_name(ref);
}

int git_reference_name_to_id(git_oid *out, git_repository *repo, const char *name)
{
	return git2_api()->git_reference_name_to_id(out, repo, name);
}

int git_reference_peel(git_object **out, const git_reference *ref, git_object_t type)
{
	return git2_api()->git_reference_peel(out, ref, type);
}

const char * git_reference_shorthand(const git_reference *ref)
{
	return git2_api()->git_reference_shorthand(ref);
}

const char * git_reference_symbolic_target(const git_reference *ref)
{
	return git2_api()->git_reference_symbolic_target(ref);
}

git_reference_t git_reference_type(const git_reference *ref)
{
	return git2_api()->git_reference_type(ref);
}

const char * git_repository_commondir(const git_repository *repo)
{
	return git2_api()->git_repository_commondir(repo);
}

int git_repository_config_snapshot(git_config **out, git_repository *repo)
{
	return git2_api()->git_repository_config_snapshot(out, repo);
}

void git_repository_free(git_repository *repo)
{
	git2_api()->git_repository_free(repo);
}

int git_repository_hashfile(git_oid *out, git_repository *repo, const char *path, git_object_t type, const char *as_path)
{
	return git2_api()->git_repository_hashfile(out, repo, path, type, as_path);
}

int git_repository_head(git_reference **out, git_repository *repo)
{
	return git2_api()->git_repository_head(out, repo);
}

int git_repository_is_bare(const git_repository *repo)
{
	return git2_api()->git_repository_is_bare(repo);
}

int git_repository_is_worktree(const git_repository *repo)
{
	return git2_api()->git_repository_is_worktree(repo);
}

int git_repository_open_ext(git_repository **out, const char *path, unsigned int flags, const char *ceiling_dirs)
{
	return git2_api()->git_repository_open_ext(out, path, flags, ceiling_dirs);
}

const char * git_repository_path(const git_repository *repo)
{
	return git2_api()->git_repository_path(repo);
}

int git_repository_state(git_repository *repo)
{
	return git2_api()->git_repository_state(repo);
}

const char * git_repository_workdir(const git_repository *repo)
{
	return git2_api()->git_repository_workdir(repo);
}

void git_revwalk_free(git_revwalk *walk)
{
	git2_api()->git_revwalk_free(walk);
}

int git_revwalk_new(git_revwalk **out, git_repository *repo)
{
	return git2_api()->git_revwalk_new(out, repo);
}

int git_revwalk_next(git_oid *out, git_revwalk *walk)
{
	return git2_api()->git_revwalk_next(out, walk);
}

int git_revwalk_push(git_revwalk *walk, const git_oid *id)
{
	return git2_api()->git_revwalk_push(walk, id);
}

int git_revwalk_sorting(git_revwalk *walk, unsigned int sort_mode)
{
	return git2_api()->git_revwalk_sorting(walk, sort_mode);
}

int git_submodule_foreach(git_repository *repo, git_submodule_cb callback, void *payload)
{
	return git2_api()->git_submodule_foreach(repo, callback, payload);
}

git_submodule_ignore_t git_submodule_ignore(git_submodule *submodule)
{
	return git2_api()->git_submodule_ignore(submodule);
}

const git_oid * git_submodule_index_id(git_submodule *submodule)
{
	return git2_api()->git_submodule_index_id(submodule);
}

const char * git_submodule_path(git_submodule *submodule)
{
	return git2_api()->git_submodule_path(submodule);
}

int git_submodule_status(unsigned int *status, git_repository *repo, const char *name, git_submodule_ignore_t ignore)
{
	return git2_api()->git_submodule_status(status, repo, name, ignore);
}

const char * git_submodule_url(git_submodule *submodule)
{
	return git2_api()->git_submodule_url(submodule);
}

const git_tree_entry * git_tree_entry_byindex(const git_tree *tree, size_t idx)
{
	return git2_api()->git_tree_entry_byindex(tree, idx);
}

const git_tree_entry * git_tree_entry_byname(const git_tree *tree, const char *filename)
{
	return git2_api()->git_tree_entry_byname(tree, filename);
}

git_filemode_t git_tree_entry_filemode(const git_tree_entry *entry)
{
	return git2_api()->git_tree_entry_filemode(entry);
}

const git_oid * git_tree_entry_id(const git_tree_entry *entry)
{
	return git2_api()->git_tree_entry_id(entry);
}

const char * git_tree_entry_name(const git_tree_entry *entry)
{
	return git2_api()->git_tree_entry_name(entry);
}

git_object_t git_tree_entry_type(const git_tree_entry *entry)
{
	return git2_api()->git_tree_entry_type(entry);
}

size_t git_tree_entrycount(const git_tree *tree)
{
	return git2_api()->git_tree_entrycount(tree);
}

void git_tree_free(git_tree *tree)
{
	git2_api()->git_tree_free(tree);
}

const git_oid * git_tree_id(const git_tree *tree)
{
	return git2_api()->git_tree_id(tree);
}

int git_tree_lookup(git_tree **out, git_repository *repo, const git_oid *id)
{
	return git2_api()->git_tree_lookup(out, repo, id);
}

int git_tree_walk(const git_tree *tree, git_treewalk_mode mode, git_treewalk_cb callback, void *payload)
{
	return git2_api()->git_tree_walk(tree, mode, callback, payload);
}

#endif

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
	void (*git_blob_free)(git_blob *blob);
	int (*git_blob_lookup)(git_blob **blob, git_repository *repo, const git_oid *id);
	const void * (*git_blob_rawcontent)(const git_blob *blob);
	git_object_size_t (*git_blob_rawsize)(const git_blob *blob);
	int (*git_branch_upstream_name)(git_buf *out, git_repository *repo, const char *refname);
	void (*git_buf_dispose)(git_buf *buffer);
	int (*git_commit_create)(git_oid *id, git_repository *repo, const char *update_ref, const git_signature *author, const git_signature *committer, const char *message_encoding, const char *message, const git_tree *tree, size_t parent_count, const git_commit *parents[]);
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
	int (*git_config_set_bool)(git_config *cfg, const char *name, int value);
	int (*git_config_set_string)(git_config *cfg, const char *name, const char *value);
	void (*git_diff_free)(git_diff *diff);
	const git_diff_delta * (*git_diff_get_delta)(const git_diff *diff, size_t idx);
	size_t (*git_diff_num_deltas)(const git_diff *diff);
	int (*git_diff_options_init)(git_diff_options *opts, unsigned int version);
	int (*git_diff_print)(git_diff *diff, git_diff_format_t format, git_diff_line_cb print_cb, void *payload);
	int (*git_diff_tree_to_index)(git_diff **diff, git_repository *repo, git_tree *old_tree, git_index *index, const git_diff_options *opts);
	int (*git_diff_tree_to_workdir)(git_diff **diff, git_repository *repo, git_tree *old_tree, const git_diff_options *opts);
	void (*git_error_clear)(void);
	const git_error * (*git_error_last)(void);
	int (*git_graph_ahead_behind)(size_t *ahead, size_t *behind, git_repository *repo, const git_oid *local, const git_oid *upstream);
	int (*git_ignore_path_is_ignored)(int *ignored, git_repository *repo, const char *path);
	int (*git_index_add_all)(git_index *index, const git_strarray *pathspec, unsigned int flags, git_index_matched_path_cb callback, void *payload);
	size_t (*git_index_entrycount)(const git_index *index);
	void (*git_index_free)(git_index *index);
	const git_index_entry * (*git_index_get_byindex)(git_index *index, size_t n);
	const git_index_entry * (*git_index_get_bypath)(git_index *index, const char *path, int stage);
	int (*git_index_open)(git_index **out, const char *index_path);
	int (*git_index_read)(git_index *index, int force);
	int (*git_index_remove_bypath)(git_index *index, const char *path);
	int (*git_index_update_all)(git_index *index, const git_strarray *pathspec, git_index_matched_path_cb callback, void *payload);
	int (*git_index_write)(git_index *index);
	int (*git_index_write_tree)(git_oid *out, git_index *index);
	int (*git_libgit2_init)(void);
	int (*git_libgit2_shutdown)(void);
	int (*git_odb_hash)(git_oid *out, const void *data, size_t len, git_object_t type);
	int (*git_oid_fromraw)(git_oid *out, const unsigned char *raw);
	int (*git_oid_fromstr)(git_oid *out, const char *str);
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
	int (*git_repository_config)(git_config **out, git_repository *repo);
	int (*git_repository_config_snapshot)(git_config **out, git_repository *repo);
	void (*git_repository_free)(git_repository *repo);
	int (*git_repository_hashfile)(git_oid *out, git_repository *repo, const char *path, git_object_t type, const char *as_path);
	int (*git_repository_head)(git_reference **out, git_repository *repo);
	int (*git_repository_index)(git_index **out, git_repository *repo);
	int (*git_repository_init_ext)(git_repository **out, const char *repo_path, git_repository_init_options *opts);
	int (*git_repository_init_options_init)(git_repository_init_options *opts, unsigned int version);
	int (*git_repository_is_bare)(const git_repository *repo);
	int (*git_repository_is_worktree)(const git_repository *repo);
	int (*git_repository_open_ext)(git_repository **out, const char *path, unsigned int flags, const char *ceiling_dirs);
	const char * (*git_repository_path)(const git_repository *repo);
	int (*git_repository_set_workdir)(git_repository *repo, const char *workdir, int update_gitlink);
	int (*git_repository_state)(git_repository *repo);
	const char * (*git_repository_workdir)(const git_repository *repo);
	void (*git_revwalk_free)(git_revwalk *walk);
	int (*git_revwalk_new)(git_revwalk **out, git_repository *repo);
	int (*git_revwalk_next)(git_oid *out, git_revwalk *walk);
	int (*git_revwalk_push)(git_revwalk *walk, const git_oid *id);
	int (*git_revwalk_sorting)(git_revwalk *walk, unsigned int sort_mode);
	void (*git_signature_free)(git_signature *sig);
	int (*git_signature_now)(git_signature **out, const char *name, const char *email);
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
	{ "git_blob_free", offsetof(struct git2_api, git_blob_free) },
	{ "git_blob_lookup", offsetof(struct git2_api, git_blob_lookup) },
	{ "git_blob_rawcontent", offsetof(struct git2_api, git_blob_rawcontent) },
	{ "git_blob_rawsize", offsetof(struct git2_api, git_blob_rawsize) },
	{ "git_branch_upstream_name", offsetof(struct git2_api, git_branch_upstream_name) },
	{ "git_buf_dispose", offsetof(struct git2_api, git_buf_dispose) },
	{ "git_commit_create", offsetof(struct git2_api, git_commit_create) },
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
	{ "git_config_set_bool", offsetof(struct git2_api, git_config_set_bool) },
	{ "git_config_set_string", offsetof(struct git2_api, git_config_set_string) },
	{ "git_diff_free", offsetof(struct git2_api, git_diff_free) },
	{ "git_diff_get_delta", offsetof(struct git2_api, git_diff_get_delta) },
	{ "git_diff_num_deltas", offsetof(struct git2_api, git_diff_num_deltas) },
	{ "git_diff_options_init", offsetof(struct git2_api, git_diff_options_init) },
	{ "git_diff_print", offsetof(struct git2_api, git_diff_print) },
	{ "git_diff_tree_to_index", offsetof(struct git2_api, git_diff_tree_to_index) },
	{ "git_diff_tree_to_workdir", offsetof(struct git2_api, git_diff_tree_to_workdir) },
	{ "git_error_clear", offsetof(struct git2_api, git_error_clear) },
	{ "git_error_last", offsetof(struct git2_api, git_error_last) },
	{ "git_graph_ahead_behind", offsetof(struct git2_api, git_graph_ahead_behind) },
	{ "git_ignore_path_is_ignored", offsetof(struct git2_api, git_ignore_path_is_ignored) },
	{ "git_index_add_all", offsetof(struct git2_api, git_index_add_all) },
	{ "git_index_entrycount", offsetof(struct git2_api, git_index_entrycount) },
	{ "git_index_free", offsetof(struct git2_api, git_index_free) },
	{ "git_index_get_byindex", offsetof(struct git2_api, git_index_get_byindex) },
	{ "git_index_get_bypath", offsetof(struct git2_api, git_index_get_bypath) },
	{ "git_index_open", offsetof(struct git2_api, git_index_open) },
	{ "git_index_read", offsetof(struct git2_api, git_index_read) },
	{ "git_index_remove_bypath", offsetof(struct git2_api, git_index_remove_bypath) },
	{ "git_index_update_all", offsetof(struct git2_api, git_index_update_all) },
	{ "git_index_write", offsetof(struct git2_api, git_index_write) },
	{ "git_index_write_tree", offsetof(struct git2_api, git_index_write_tree) },
	{ "git_libgit2_init", offsetof(struct git2_api, git_libgit2_init) },
	{ "git_libgit2_shutdown", offsetof(struct git2_api, git_libgit2_shutdown) },
	{ "git_odb_hash", offsetof(struct git2_api, git_odb_hash) },
	{ "git_oid_fromraw", offsetof(struct git2_api, git_oid_fromraw) },
	{ "git_oid_fromstr", offsetof(struct git2_api, git_oid_fromstr) },
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
	{ "git_repository_config", offsetof(struct git2_api, git_repository_config) },
	{ "git_repository_config_snapshot", offsetof(struct git2_api, git_repository_config_snapshot) },
	{ "git_repository_free", offsetof(struct git2_api, git_repository_free) },
	{ "git_repository_hashfile", offsetof(struct git2_api, git_repository_hashfile) },
	{ "git_repository_head", offsetof(struct git2_api, git_repository_head) },
	{ "git_repository_index", offsetof(struct git2_api, git_repository_index) },
	{ "git_repository_init_ext", offsetof(struct git2_api, git_repository_init_ext) },
	{ "git_repository_init_options_init", offsetof(struct git2_api, git_repository_init_options_init) },
	{ "git_repository_is_bare", offsetof(struct git2_api, git_repository_is_bare) },
	{ "git_repository_is_worktree", offsetof(struct git2_api, git_repository_is_worktree) },
	{ "git_repository_open_ext", offsetof(struct git2_api, git_repository_open_ext) },
	{ "git_repository_path", offsetof(struct git2_api, git_repository_path) },
	{ "git_repository_set_workdir", offsetof(struct git2_api, git_repository_set_workdir) },
	{ "git_repository_state", offsetof(struct git2_api, git_repository_state) },
	{ "git_repository_workdir", offsetof(struct git2_api, git_repository_workdir) },
	{ "git_revwalk_free", offsetof(struct git2_api, git_revwalk_free) },
	{ "git_revwalk_new", offsetof(struct git2_api, git_revwalk_new) },
	{ "git_revwalk_next", offsetof(struct git2_api, git_revwalk_next) },
	{ "git_revwalk_push", offsetof(struct git2_api, git_revwalk_push) },
	{ "git_revwalk_sorting", offsetof(struct git2_api, git_revwalk_sorting) },
	{ "git_signature_free", offsetof(struct git2_api, git_signature_free) },
	{ "git_signature_now", offsetof(struct git2_api, git_signature_now) },
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

void git_blob_free(git_blob *blob)
{
	git2_api()->git_blob_free(blob);
}

int git_blob_lookup(git_blob **blob, git_repository *repo, const git_oid *id)
{
	return git2_api()->git_blob_lookup(blob, repo, id);
}

const void * git_blob_rawcontent(const git_blob *blob)
{
	return git2_api()->git_blob_rawcontent(blob);
}

git_object_size_t git_blob_rawsize(const git_blob *blob)
{
	return git2_api()->git_blob_rawsize(blob);
}

int git_branch_upstream_name(git_buf *out, git_repository *repo, const char *refname)
{
	return git2_api()->git_branch_upstream_name(out, repo, refname);
}

void git_buf_dispose(git_buf *buffer)
{
	git2_api()->git_buf_dispose(buffer);
}

int git_commit_create(git_oid *id, git_repository *repo, const char *update_ref, const git_signature *author, const git_signature *committer, const char *message_encoding, const char *message, const git_tree *tree, size_t parent_count, const git_commit *parents[])
{
	return git2_api()->git_commit_create(id, repo, update_ref, author, committer, message_encoding, message, tree, parent_count, parents);
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

int git_config_set_bool(git_config *cfg, const char *name, int value)
{
	return git2_api()->git_config_set_bool(cfg, name, value);
}

int git_config_set_string(git_config *cfg, const char *name, const char *value)
{
	return git2_api()->git_config_set_string(cfg, name, value);
}

void git_diff_free(git_diff *diff)
{
	git2_api()->git_diff_free(diff);
}

const git_diff_delta * git_diff_get_delta(const git_diff *diff, size_t idx)
{
	return git2_api()->git_diff_get_delta(diff, idx);
}

size_t git_diff_num_deltas(const git_diff *diff)
{
	return git2_api()->git_diff_num_deltas(diff);
}

int git_diff_options_init(git_diff_options *opts, unsigned int version)
{
	return git2_api()->git_diff_options_init(opts, version);
}

int git_diff_print(git_diff *diff, git_diff_format_t format, git_diff_line_cb print_cb, void *payload)
{
	return git2_api()->git_diff_print(diff, format, print_cb, payload);
}

int git_diff_tree_to_index(git_diff **diff, git_repository *repo, git_tree *old_tree, git_index *index, const git_diff_options *opts)
{
	return git2_api()->git_diff_tree_to_index(diff, repo, old_tree, index, opts);
}

int git_diff_tree_to_workdir(git_diff **diff, git_repository *repo, git_tree *old_tree, const git_diff_options *opts)
{
	return git2_api()->git_diff_tree_to_workdir(diff, repo, old_tree, opts);
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

int git_index_add_all(git_index *index, const git_strarray *pathspec, unsigned int flags, git_index_matched_path_cb callback, void *payload)
{
	return git2_api()->git_index_add_all(index, pathspec, flags, callback, payload);
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

const git_index_entry * git_index_get_bypath(git_index *index, const char *path, int stage)
{
	return git2_api()->git_index_get_bypath(index, path, stage);
}

int git_index_open(git_index **out, const char *index_path)
{
	return git2_api()->git_index_open(out, index_path);
}

int git_index_read(git_index *index, int force)
{
	return git2_api()->git_index_read(index, force);
}

int git_index_remove_bypath(git_index *index, const char *path)
{
	return git2_api()->git_index_remove_bypath(index, path);
}

int git_index_update_all(git_index *index, const git_strarray *pathspec, git_index_matched_path_cb callback, void *payload)
{
	return git2_api()->git_index_update_all(index, pathspec, callback, payload);
}

int git_index_write(git_index *index)
{
	return git2_api()->git_index_write(index);
}

int git_index_write_tree(git_oid *out, git_index *index)
{
	return git2_api()->git_index_write_tree(out, index);
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

int git_oid_fromstr(git_oid *out, const char *str)
{
	return git2_api()->git_oid_fromstr(out, str);
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

int git_repository_config(git_config **out, git_repository *repo)
{
	return git2_api()->git_repository_config(out, repo);
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

int git_repository_index(git_index **out, git_repository *repo)
{
	return git2_api()->git_repository_index(out, repo);
}

int git_repository_init_ext(git_repository **out, const char *repo_path, git_repository_init_options *opts)
{
	return git2_api()->git_repository_init_ext(out, repo_path, opts);
}

int git_repository_init_options_init(git_repository_init_options *opts, unsigned int version)
{
	return git2_api()->git_repository_init_options_init(opts, version);
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

int git_repository_set_workdir(git_repository *repo, const char *workdir, int update_gitlink)
{
	return git2_api()->git_repository_set_workdir(repo, workdir, update_gitlink);
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

void git_signature_free(git_signature *sig)
{
	git2_api()->git_signature_free(sig);
}

int git_signature_now(git_signature **out, const char *name, const char *email)
{
	return git2_api()->git_signature_now(out, name, email);
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

/*
 * bootstrap — the deterministic project context every agent session starts
 * with: repository, branch, HEAD, upstream, status, recent commits,
 * languages, build/test/lint commands, AGENTS.md files, README head and
 * submodules.  Computed with libgit2 (no git subprocess), rendered as
 * compact text within a token budget or as JSON, cached in the store keyed
 * by repository state.
 *
 * Parts: scan.c gathers (libgit2), status.c is the parallel working-tree
 * status, detect.c finds languages and commands, render.c prints, cache.c
 * decides whether a stored result is still true.
 *
 * Every string in a struct bootstrap is owned by it and valid UTF-8:
 * paths that are not are kept in git's quoted form (see utf8.h).
 */
#ifndef FORJA_BOOTSTRAP_H
#define FORJA_BOOTSTRAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "forja/buf.h"
#include "forja/ferr.h"

/* Bumped whenever the text or JSON output changes shape; part of the cache
 * key and of the JSON ("format"). */
#define BOOTSTRAP_FORMAT_VERSION 1
#define BOOTSTRAP_DEFAULT_BUDGET 2000   /* tokens */
#define BOOTSTRAP_MAX_COMMITS 10
#define BOOTSTRAP_MAX_PATHS 10          /* per status class */
#define BOOTSTRAP_DOC_CAP (16 * 1024)   /* bytes kept of one AGENTS.md */
#define BOOTSTRAP_README_LINES 15

/* A list of strings with the total it was cut from (count <= total). */
struct bs_list {
	char **items;
	size_t count;
	size_t total;
};

struct bs_commit {
	char *id;       /* short id */
	char *subject;
};

struct bs_lang {
	char *name;     /* "C", "Python", … or ".ext" for unknown extensions */
	size_t files;
	uint64_t bytes;
};

/* A command a person would run: kind is "build", "test", "lint", "format",
 * "run" or "other"; source is the file it came from ("Makefile",
 * "package.json"). */
struct bs_command {
	char *kind;
	char *command;
	char *source;
};

/* A text file read for the context (AGENTS.md, README). */
struct bs_doc {
	char *path;          /* relative to the repository root */
	char *text;          /* capped, valid UTF-8 */
	uint64_t size;       /* the file's whole size */
	bool truncated;
};

struct bs_submodule {
	char *name;
	char *path;
	char *url;           /* credentials removed */
	char *head;          /* short id recorded in the index, or NULL */
	char *state;         /* "ok", "not initialized", "missing", "new commits",
	                        "modified content", "untracked content" */
};

struct bs_status {
	struct bs_list staged, modified, untracked, conflicted;
};

struct bootstrap {
	bool has_repo;       /* false: a plain directory scan */
	bool is_bare;
	bool is_unborn;      /* no commits yet */
	bool is_worktree;    /* a linked worktree */
	char *root;          /* working tree (or git dir when bare), absolute */
	char *name;          /* basename of root */
	char *cwd_rel;       /* current directory relative to root, "" at root */
	char *git_dir;       /* absolute, NULL without a repository */

	char *branch;        /* NULL when detached */
	char *head_id;       /* short id, NULL when unborn */
	char *head_subject;
	char *head_date;     /* ISO 8601 with the committer's offset */
	char *upstream;      /* "origin/main", NULL when none */
	bool upstream_gone;  /* configured but the ref is missing */
	size_t ahead, behind;

	struct bs_status status;
	bool has_status;

	struct bs_commit *commits;
	size_t ncommits;

	size_t tracked_files; /* files in the index, or files seen without git */
	struct bs_lang *langs;
	size_t nlangs;
	struct bs_list top;   /* top-level entries, directories end in '/' */

	struct bs_command *commands;
	size_t ncommands;

	struct bs_doc *agents; /* root first, then down to the current directory */
	size_t nagents;
	struct bs_doc readme;  /* path == NULL when there is none */

	struct bs_submodule *submodules;
	size_t nsubmodules;

	struct bs_list notes;  /* things the reader should know ("no git repository") */
};

struct bootstrap_opts {
	size_t budget_tokens;  /* for text output */
	bool use_cache;        /* false: scan afresh, do not read the cache */
	bool quiet;            /* no warnings on stderr (an unusable cache) */
	const char *db_path;   /* NULL: the default state database */
};

/* The bootstrap of the project containing cwd, rendered as text or JSON
 * into out: from the cache when nothing changed (*from_cache set), else a
 * fresh scan that is then cached.  A directory outside any repository is
 * not an error; a corrupt index is (FERR_IO naming the file).  An unusable
 * cache is a warning on stderr, never a failure.  Blocks: stats the tree. */
int bootstrap_run(const char *cwd, const struct bootstrap_opts *opts, bool json,
		  struct buf *out, bool *from_cache, struct ferr *e);
void bootstrap_release(struct bootstrap *bs);

/* The working tree root of the repository around cwd, found without
 * libgit2 (a new string, free() it), or NULL outside one or in a case only
 * libgit2 can settle (bare, GIT_DIR set).  Cheap: a few stats. */
char *bootstrap_project_root(const char *cwd);

/* Render as text within budget_tokens (about 4 bytes a token), saying what
 * was cut, or as JSON (the schema in man/forja.1).  Output depends on
 * nothing but *bs and the budget. */
void bootstrap_render_text(const struct bootstrap *bs, size_t budget_tokens, struct buf *out);
void bootstrap_render_json(const struct bootstrap *bs, struct buf *out);

#endif

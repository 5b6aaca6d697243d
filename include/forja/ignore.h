/*
 * ignore — git's ignore rules (gitignore(5)), applied the way git applies
 * them, for the tools that walk a tree (glob, grep).
 *
 * A pattern file is read into a struct ignore_list: one pattern a line;
 * blank lines and lines starting with '#' skipped; trailing spaces dropped
 * unless escaped ("\ "); a CR before the LF dropped; a UTF-8 BOM at the
 * start skipped.  A pattern may start with '!' (negation: what an earlier
 * pattern excluded is included again), end with '/' (directories only),
 * hold a slash at the start or in the middle (then it is matched against
 * the path relative to the directory of the file that holds it, with '*'
 * and '?' not crossing '/'; otherwise against the last component at any
 * depth), and use git's wildmatch: '*', '?', '[a-z]', '[!x]', '[^x]',
 * '[[:alpha:]]', '\' escaping the next character, and '**' in three
 * forms: leading and followed by a slash (in any directory), trailing after
 * a slash (everything inside), and between two slashes (zero or more
 * directories); any other "**" is a '*'.  Within one
 * list the last matching pattern decides.  Matching is byte-wise and
 * case-sensitive unless the list was made with icase (core.ignoreCase:
 * ASCII letters only, as git).  This file reproduces dir.c's quirks too,
 * such as the literal prefix compared before wildmatch runs; the unit test
 * compares every verdict with `git check-ignore --no-index`.
 *
 * A struct ignore_stack holds the lists that apply where a walk stands:
 * one frame per directory entered (its .gitignore, read as the walk enters
 * it), the repository's .git/info/exclude, and core.excludesFile.  The
 * first of these, in the order deepest .gitignore .. top .gitignore,
 * info/exclude, core.excludesFile, that has a matching pattern decides;
 * none matching means "not ignored".  A walk never descends into an
 * excluded directory, which is how "a file is not re-included if a parent
 * directory is excluded" holds.  A directory holding ".git" (a directory
 * or a file) is the top of a repository: the frames above it no longer
 * apply inside it, and its own info/exclude does.  The walk's root counts
 * as a top even without ".git" (its .gitignore files are honoured, as
 * `rg --no-require-git` does).  ".git" itself is never entered or listed.
 *
 * Fast paths: a pattern without wildcards and without a slash ("Makefile",
 * "build/") is one hash lookup of the file name, "*.ext"-style patterns
 * ('*' then a literal) one lookup per distinct suffix length; the others
 * are tried from the last one down, stopping at the best match found.
 * wildmatch is bounded by a step budget (a hostile pattern such as
 * "a*a*a*a*a*b" against a long name gives up and counts as no match).
 *
 * Ownership: lists are immutable once built and may be shared by threads.
 * A stack owns the lists pushed on it and belongs to one thread.  Nothing
 * here opens a file by name except ignore_list_load_file(), which is for
 * the user's own core.excludesFile; files in the walked tree are read
 * through a directory fd the caller verified (ignore_list_load_at()).
 */
#ifndef FORJA_IGNORE_H
#define FORJA_IGNORE_H

#include <stdbool.h>
#include <stddef.h>

#include "forja/buf.h"
#include "forja/ferr.h"

/* A pattern file larger than this is not read (a note says so). */
#define IGNORE_MAX_FILE ((size_t)4 * 1024 * 1024)

enum ignore_verdict {
	IGNORE_NONE = 0,     /* no pattern matched */
	IGNORE_EXCLUDED,     /* the deciding pattern excludes it */
	IGNORE_INCLUDED,     /* the deciding pattern is a negation ("!x") */
};

/* wildmatch flags, as git's WM_PATHNAME and WM_CASEFOLD. */
#define IGNORE_WM_PATHNAME 1u  /* '*' and '?' do not match '/'; "**" forms apply */
#define IGNORE_WM_CASEFOLD 2u

/* git's wildmatch of NUL-terminated pattern and text.  True on a match;
 * false on none, on a malformed pattern and when the step budget ran out. */
bool ignore_wildmatch(const char *pattern, const char *text, unsigned flags);

struct ignore_list;

/*
 * A new, empty list for patterns that live in directory base (base_len
 * bytes, relative to the top of the repository, with a trailing '/', or ""
 * for the top; copied).  icase: compare as core.ignoreCase=true does.
 */
struct ignore_list *ignore_list_new(const char *base, size_t base_len, bool icase);
void ignore_list_free(struct ignore_list *l);
/* Add one pattern, as a line of a file after the line rules above (no
 * comment or trailing-space handling).  An empty pattern is dropped. */
void ignore_list_add(struct ignore_list *l, const char *pattern, size_t len);
/* Add every pattern of a file's text (len bytes, any bytes). */
void ignore_list_add_text(struct ignore_list *l, const char *text, size_t len);
size_t ignore_list_count(const struct ignore_list *l);

/*
 * The verdict of l alone for path (len bytes, relative to the top, no
 * leading or trailing '/'), which is a directory when is_dir.  Paths
 * outside l's base never match.  A path NUL-terminated at len is matched
 * in place; any other is copied first (a parent checked in place).
 */
enum ignore_verdict ignore_list_match(const struct ignore_list *l, const char *path,
				      size_t len, bool is_dir);

/*
 * Read the pattern file name in the directory open at dirfd (the name is
 * not followed if it is a symbolic link, as git does for in-tree .gitignore
 * files since 2.32; only a regular file is read).  *out is NULL when there
 * is no such file (not an error).  Errors: FERR_IO naming the file, for one
 * that cannot be read or is larger than IGNORE_MAX_FILE; *out is NULL.
 */
int ignore_list_load_at(int dirfd, const char *name, const char *base, size_t base_len,
			bool icase, struct ignore_list **out, struct ferr *e);
/* The same for a file named by path (core.excludesFile; followed if a
 * symlink).  A missing file gives *out NULL and 0. */
int ignore_list_load_file(const char *path, bool icase, struct ignore_list **out,
			  struct ferr *e);

/* git's default core.excludesFile: $XDG_CONFIG_HOME/git/ignore, or
 * $HOME/.config/git/ignore when XDG_CONFIG_HOME is unset or empty.  False
 * (out untouched) when neither is set. */
bool ignore_global_path(struct buf *out);

/* ".git" (any letter case when icase): never walked, never listed. */
bool ignore_is_git_name(const char *name, bool icase);

struct ignore_stack;

/* A new stack; global (core.excludesFile's list, base "", may be NULL) is
 * taken over. */
struct ignore_stack *ignore_stack_new(bool icase, struct ignore_list *global);
void ignore_stack_free(struct ignore_stack *s);

/* What ignore_stack_enter() should read, from the directory's listing. */
#define IGNORE_HAS_GITIGNORE 1u   /* the directory holds ".gitignore" */
#define IGNORE_HAS_DOTGIT    2u   /* it holds ".git": the top of a repository */
#define IGNORE_IS_ROOT       4u   /* the walk's root: a top in any case */

/*
 * Enter the directory open at dirfd, whose path relative to the root is rel
 * (rel_len bytes, "" for the root, else with a trailing '/'): read its
 * .gitignore and, at a repository top, .git/info/exclude, and push a frame.
 * A file that cannot be read is skipped with a line in the stack's notes;
 * this never fails.  Every enter is paired with one ignore_stack_leave().
 */
void ignore_stack_enter(struct ignore_stack *s, int dirfd, const char *rel, size_t rel_len,
			unsigned hints);
/* The same with the lists given (taken over, each may be NULL): for
 * tests and for callers that read the files themselves. */
void ignore_stack_push(struct ignore_stack *s, struct ignore_list *gitignore, bool is_top,
		       struct ignore_list *exclude);
void ignore_stack_leave(struct ignore_stack *s);

/* The verdict for path (as for ignore_list_match) in the directory last
 * entered. */
enum ignore_verdict ignore_stack_match(const struct ignore_stack *s, const char *path,
				       size_t len, bool is_dir);
static inline bool ignore_is_ignored(const struct ignore_stack *s, const char *path,
				     size_t len, bool is_dir)
{
	return ignore_stack_match(s, path, len, is_dir) == IGNORE_EXCLUDED;
}

/* Problems met while reading pattern files, one line each ("a/.gitignore:
 * Permission denied"); "" when none.  Borrowed. */
const char *ignore_stack_notes(const struct ignore_stack *s);

#endif

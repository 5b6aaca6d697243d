/*
 * shadow — a private git repository that records the workspace, so that
 * the interactive session can undo what a turn changed (the agent's file
 * tools and the commands it ran alike) and show what a session changed.
 *
 * The shadow repository is a bare repository of forja's own:
 *
 *     $FORJA_SHADOW_DIR/<id>.git           when FORJA_SHADOW_DIR is set (tests)
 *     $XDG_STATE_HOME/forja/shadow/<id>.git  when XDG_STATE_HOME is absolute
 *     $HOME/.local/state/forja/shadow/<id>.git  otherwise
 *
 * where <id> is the first 16 hex digits of the SHA-1 of the workspace root's
 * real path (directories made with mode 0700).  Its work directory is set
 * to the workspace in memory only, and it keeps its own index file: nothing
 * of the user's repository (its index, refs, stash, objects, config, hooks)
 * is read for writing or written, and nothing is written into the
 * workspace except by shadow_restore().  Each snapshot is a commit on
 * refs/forja/snapshots of the shadow repository, whose parent is the
 * previous snapshot.
 *
 * What is recorded: every file that git would see as tracked or untracked
 * in the workspace — files ignored by the workspace's .gitignore files, by
 * its .git/info/exclude (copied into the shadow's at each snapshot) or by
 * core.excludesFile are neither recorded nor ever touched.  Also left out,
 * and so never touched: anything under a ".git", nested git repositories
 * (a directory holding ".git"), files larger than SHADOW_MAX_FILE, and
 * forja's own state directory when it lies inside the workspace.  A file
 * recorded once and ignored since is taken out of the next snapshot.  Content
 * is recorded byte for byte: no end-of-line or other git filter applies,
 * whatever the workspace's .gitattributes say.  Modes recorded are git's:
 * a regular file, an executable one, or a symbolic link.
 *
 * Ownership: shadow_open() returns a struct shadow that the caller frees
 * with shadow_close(); strings handed in are copied; buffers handed in are
 * appended to and stay the caller's.
 *
 * Threads and blocking: main thread only (libgit2 is loaded lazily, see
 * gitlib.h).  Every call is synchronous file I/O over the whole workspace
 * (a stat of each file, a read of each changed one) and may take a while
 * on a large tree; do not call them from a libuv callback that must stay
 * short.  Two forja processes on the same workspace share the shadow
 * repository: their snapshots take turns (an flock on <dir>/forja.lock,
 * waited for), and lock files a forja killed mid-snapshot left behind are
 * removed by the next snapshot.
 *
 * Errors: FERR_IO names the file or libgit2 operation that failed, FERR_USAGE
 * a snapshot id that is malformed or unknown, FERR_CONFIG an unusable state
 * directory, FERR_DENIED a snapshot holding a path that would leave the
 * workspace or enter a ".git".
 */
#ifndef FORJA_SHADOW_H
#define FORJA_SHADOW_H

#include <stddef.h>

#include "forja/buf.h"
#include "forja/ferr.h"

/* Files larger than this are not recorded (and so never restored or removed). */
#define SHADOW_MAX_FILE ((long long)50 * 1024 * 1024)
/* The ref of the shadow repository that holds the latest snapshot. */
#define SHADOW_REF "refs/forja/snapshots"
/* One snapshot records at most this many new or changed files, of at most
 * this many bytes in all; past either it fails (FERR_FAILED) and records
 * nothing: forja started in a home directory must not hash all of it.
 * Unchanged files cost a stat, not a read, so a project that fits once
 * fits after. */
#define SHADOW_MAX_CHANGED_FILES 200000
#define SHADOW_MAX_CHANGED_BYTES ((long long)1024 * 1024 * 1024)

struct shadow;

/* What the last shadow_snapshot() left out (zeroes before the first). */
struct shadow_stats {
	size_t skipped_large;  /* files over SHADOW_MAX_FILE */
	size_t skipped_repos;  /* nested git repositories */
};

/*
 * Open the shadow repository of the workspace at root (an absolute path to
 * a directory), creating it on first use, and configure it (core.autocrlf
 * false, core.filemode and core.symlinks true, every git filter off through
 * its info/attributes).  Loads libgit2.  On success *out is the caller's;
 * on failure *out is NULL and e says why (FERR_USAGE for a root that is not
 * an absolute path to a directory, FERR_CONFIG when no state directory can
 * be placed: FORJA_SHADOW_DIR relative, or neither XDG_STATE_HOME absolute
 * nor HOME absolute).
 */
int shadow_open(const char *root, struct shadow **out, struct ferr *e);

/* The shadow repository's directory (borrowed; valid until shadow_close). */
const char *shadow_path(const struct shadow *s);

/*
 * Record the workspace as it is now as a new snapshot labelled label (the
 * commit message; NULL means "snapshot") and write its id, 40 hex digits
 * and a NUL, into oid.  Files whose size and times have not changed since
 * the previous snapshot are not read again.  What was left out is counted
 * in shadow_last_stats() and named in shadow_notes().
 */
int shadow_snapshot(struct shadow *s, const char *label, char oid[41], struct ferr *e);

/* Counts of what the last snapshot left out (borrowed). */
const struct shadow_stats *shadow_last_stats(const struct shadow *s);

/* One line per path the last snapshot left out and why, at most 20 then a
 * line saying more were; "" when nothing was (borrowed; valid until the
 * next shadow_snapshot or shadow_close). */
const char *shadow_notes(const struct shadow *s);

/*
 * Append to out the unified diff (git's patch format, "diff --git a/P b/P"
 * headers, context lines around each change; context < 0 means 3) from the
 * snapshot from_oid to the workspace as it is now, untracked files shown
 * as added with their content.  from_oid NULL means the latest snapshot
 * (an empty diff when there is none).
 */
int shadow_diff(struct shadow *s, const char *from_oid, struct buf *out, int context,
		struct ferr *e);

/*
 * The paths, relative to the root, that differ between the snapshot
 * from_oid (NULL: the latest) and the workspace now — modified, deleted,
 * added, or changed mode or type — in git's order (bytewise).  On success
 * *paths is a new array of *n new strings (NULL when *n is 0) that the
 * caller frees with shadow_paths_free(); on failure *paths is NULL, *n 0.
 */
int shadow_changed(struct shadow *s, const char *from_oid, char ***paths, size_t *n,
		   struct ferr *e);
void shadow_paths_free(char **paths, size_t n);

/*
 * Make every recorded-kind file of the workspace (see the top) match the
 * snapshot oid: files modified, deleted or changed in type since are
 * written back from the snapshot (content, executable bit, symbolic links;
 * other permission bits of a file that still exists are kept), each
 * atomically (a temporary file renamed over it); files added since are
 * removed, and with them the directories that removal leaves empty.  The
 * snapshot's .gitignore files are put back first, so that files ignored
 * then are ignored again before anything is removed.
 *
 * Every path is checked before anything is written: a snapshot with a path
 * that is absolute, holds "." or "..", or has a ".git" component at any
 * depth is refused (FERR_DENIED) and the workspace left untouched.  Paths
 * are walked one directory at a time without following symbolic links, so
 * nothing outside the root is written even when the workspace holds links.
 *
 * report gets one line per change: "restored PATH" or "removed PATH" (control
 * characters in PATH escaped as \n, \t, \xNN, and backslashes doubled).
 * When some paths cannot be restored the others still are, report lists
 * those done, and the call returns -1 with FERR_IO naming the first failure
 * and how many failed.
 */
int shadow_restore(struct shadow *s, const char *oid, struct buf *report, struct ferr *e);

/* Free s and everything it holds; NULL is allowed.  Writes nothing. */
void shadow_close(struct shadow *s);

#endif

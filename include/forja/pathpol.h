/*
 * pathpol — the path policy for forja's in-process file tools (read, write,
 * edit, patch, list, glob, grep).  Every path a model names goes through
 * here before a byte is read or written; the model is untrusted and may be
 * steered by a hostile repository.
 *
 * Containment is by file descriptor, never by string prefix.  The workspace
 * root is opened once (O_PATH) and every path is resolved beneath that fd:
 *
 *   - with openat2(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS) when the kernel
 *     has it (Linux >= 5.6, and not blocked by a container's seccomp
 *     profile), detected once by pathpol_open_root();
 *   - otherwise by a walk of our own: one component at a time with
 *     openat(dirfd, name, O_PATH | O_NOFOLLOW), relative symlinks read with
 *     readlinkat() and resolved in place (at most PATHPOL_MAX_LINKS of them,
 *     like the kernel), ".." taken only below the root and checked to land
 *     on the directory it came from.
 *
 * Both give the same answers; the tests run every case through both (clear
 * use_openat2 after pathpol_open_root() to force the walk).
 *
 * RESOLVE_NO_XDEV is deliberately not used: a mount point beneath the root
 * (a volume for node_modules, a tmpfs build dir) is part of the workspace,
 * and crossing it cannot leave the root; refusing it would break such
 * workspaces and gain nothing.  The walk crosses mounts the same way.
 *
 * The rules, each refused with FERR_DENIED and a message that starts with
 * the path as given (git-quoted when needed) and names the rule:
 *   - a NUL byte in the path, an empty path, a path longer than PATH_MAX - 1
 *     bytes or with a component longer than NAME_MAX;
 *   - an absolute path outside the root (an absolute path inside it is made
 *     relative; the comparison is by component, so /ws-evil is not /ws);
 *   - ".." that climbs above the root, lexically or through a symlink;
 *   - a symbolic link whose target is absolute, even one pointing inside the
 *     root: that is what RESOLVE_BENEATH does, and following it would make
 *     the answer depend on where the workspace lives;
 *   - a relative symlink that leads outside the root;
 *   - more than PATHPOL_MAX_LINKS symbolic links (a loop);
 *   - a magic link (/proc/<pid>/root, /proc/self/fd/N, …);
 *   - a FIFO, socket or device: never read or written.  Reads classify
 *     the file through an O_PATH fd first, so such a file is not even
 *     opened; one swapped in after that check is opened O_NONBLOCK |
 *     O_NOCTTY (which cannot block), found not to be the file checked and
 *     refused.  Writes never open the existing file at all;
 *   - for writes only: see pathpol_check_write() and pathpol_write_atomic().
 * Real I/O failures (no such file, permission denied, disk full) are
 * FERR_IO and say what the OS said.  Relative symlinks that stay inside the
 * root are followed, anywhere in a path that is read and in the parent
 * directories of one that is written; the last component of a write is
 * never followed.  The walk refuses every symlink on procfs (it cannot tell
 * the magic ones apart); a workspace has no business there anyway.
 *
 * Check and use are the same descriptor: the fd a read returns is the one
 * that was checked, and a write's temp file and rename happen on the very
 * directory fd whose path was checked.  A symlink swapped in between "check"
 * and "use" therefore cannot redirect anything.
 *
 * Hard links: a file with more than one link is readable (a hard link can
 * only be made by someone who could already read the target, and pnpm or
 * `git clone --local` make many), but it is never written: writing it in
 * place would change the other names too, and replacing it would silently
 * split the link.  Callers that must hide specific files (forja's own config
 * and database) compare (st_dev, st_ino) of the returned fd themselves.
 *
 * Ownership and threads: a struct pathpol is embedded by its owner, filled
 * by pathpol_open_root() and emptied by pathpol_release(); after opening it
 * is read-only, so one pathpol may be shared by several threads.  Another
 * read root a contract grants is another struct pathpol.  Every call is
 * synchronous file-system work that ends in a bounded number of system
 * calls; none waits on a FIFO, a terminal or a lock, but like any file I/O
 * it can stall on a slow or network file system.  None is safe from a
 * signal handler.  This file is Linux-only (O_PATH, openat2).
 */
#ifndef FORJA_PATHPOL_H
#define FORJA_PATHPOL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "forja/buf.h"
#include "forja/ferr.h"

/* Symbolic links followed in one resolution, as the kernel's MAXSYMLINKS. */
#define PATHPOL_MAX_LINKS 40

struct pathpol {
	int root_fd;      /* O_PATH | O_DIRECTORY of the root; -1 when closed */
	char *root;       /* resolved absolute path of the root, for messages */
	bool use_openat2; /* openat2() works here; tests clear it to force the walk */
};

/* What a write replaced, for the audit log. */
struct pathpol_prev {
	bool existed;     /* false: the write created the file */
	off_t size;       /* size of the replaced file (0 when new) */
	mode_t mode;      /* its permission bits (0 when new) */
};

/*
 * Open root (absolute or relative to the cwd; symlinks in it are followed:
 * the root is the user's choice, not the model's) as the workspace and
 * detect openat2.  On failure pp is left closed (root_fd -1), so
 * pathpol_release() is still safe.  Errors: FERR_USAGE for an empty root,
 * FERR_IO when it cannot be opened or is not a directory.
 */
int pathpol_open_root(const char *root, struct pathpol *pp, struct ferr *e);

/* Close the root fd and free pp->root.  Safe to call twice. */
void pathpol_release(struct pathpol *pp);

/*
 * Check the shape of a model-supplied path (len bytes; it may hold NUL
 * bytes, which is why the length is passed) and write its relative form
 * into rel (replacing its contents): "." and empty components removed, an
 * absolute path inside the root made relative, "." for the root itself.
 * ".." is kept for the resolution to handle (a/.. is not the same as "" when
 * a is a symlink), but one that climbs above the root is refused here
 * already.  A trailing slash is dropped.  Makes no system call.
 * Errors: FERR_DENIED (NUL, empty, too long, absolute outside, ".." escape).
 */
int pathpol_normalise(const struct pathpol *pp, const char *path, size_t len,
		      struct buf *rel, struct ferr *e);

/*
 * Open path (len bytes, as for pathpol_normalise()) for reading: a regular
 * file, or a directory when want_dir is true (for listing; "." is the root).
 * On success *fd is a blocking O_RDONLY | O_CLOEXEC descriptor the caller
 * owns and closes.  Errors: FERR_DENIED for the rules above, FERR_IO for a
 * missing file, a directory where a file was wanted (or the reverse), a
 * permission error, or a file that changed while it was being opened.
 */
int pathpol_open_read(const struct pathpol *pp, const char *path, size_t len,
		      bool want_dir, int *fd, struct ferr *e);

/*
 * The write rules alone, on a relative path (as pathpol_normalise() makes
 * it; no system call).  Refused with FERR_DENIED:
 *   - any component that is ".git" or ".forja", at any depth, whether it
 *     exists or not, as a directory or a file (a worktree's or submodule's
 *     ".git" file, nested repositories); compared the way case-insensitive
 *     file systems would: ".GIT", ".Forja", ".git." / ".git " (Windows drops
 *     trailing dots and spaces), the 8.3 aliases "GIT~1" and "FORJA~1", and
 *     ".g\u200cit" (HFS+ ignores some invisible code points);
 *   - a path equal to or under one of the ndenied entries of denied (say a
 *     contract's non-write paths), compared by whole components and without
 *     regard to ASCII case; an entry may be absolute inside the root.  The
 *     path is compared both as written and with its ".." folded, so
 *     "x/../secrets/k" is under "secrets".
 * This is a check on the name only.  pathpol_write_atomic() applies it to
 * the path as given and again to the path it actually resolves to, which
 * is what catches symlinks such as g -> .git.
 */
int pathpol_check_write(const struct pathpol *pp, const char *rel,
			const char *const *denied, size_t ndenied, struct ferr *e);

/*
 * Replace path (path_len bytes) with the len bytes at data, atomically: a
 * reader sees the old content or the new, never a mix.
 *   - The name is checked by pathpol_check_write() as given and as resolved.
 *   - Parent directories are resolved beneath the root by the walk, also
 *     when openat2 is there: the rules need the names of the directories
 *     actually entered (g -> .git is ".git"), which openat2 does not report,
 *     and the walk gives those names and the directory fd from one
 *     resolution (symlinks among them followed by the rules above).  A missing one is an error (FERR_IO),
 *     or is created (mode 0777 & ~umask) when mkdirs is true, each one only
 *     after its own name passed the write rules: ".forja" is never created.
 *   - The final component is never followed: an existing symlink there is
 *     refused, as is a directory (FERR_IO), a FIFO, socket or device, a file
 *     with more than one hard link, and a file we may not write (FERR_IO).
 *   - The data goes to a new temp file ".forja-tmp-<random>" in the same
 *     directory, which then replaces the name with renameat() on that
 *     directory's fd.  No fsync, by design: the replacement is atomic for
 *     every other process, not against a power cut (after one the file may
 *     hold the old content, the new, or nothing).
 *   - The replaced file's permission bits are kept (setuid, setgid and
 *     sticky are dropped, as the kernel drops them on a write) and, when
 *     allowed, its owner and group; a new file gets 0644 & ~umask.  Extended
 *     attributes and ACLs are not copied.
 *   - On every error the temp file is removed; directories made by mkdirs
 *     stay.
 * If a racing process swaps the final name for a symlink or a hard link
 * after the check, the rename replaces that name; nothing is written
 * through it.  When prev is not NULL it receives what was replaced.
 * Errors: FERR_DENIED (rules), FERR_IO (the OS said no: missing parent,
 * permissions, disk full, file too large).
 */
int pathpol_write_atomic(const struct pathpol *pp, const char *path, size_t path_len,
			 const void *data, size_t len, bool mkdirs,
			 const char *const *denied, size_t ndenied,
			 struct pathpol_prev *prev, struct ferr *e);

#endif

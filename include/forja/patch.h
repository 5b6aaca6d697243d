/*
 * patch — unified diffs as `git diff` and `diff -u` write them: the parser
 * and the in-memory application behind the apply_patch tool (tools.h).
 * The tool itself (reading, checking and writing files through pathpol.h,
 * all or nothing) lives in src/tools/patch.c beside this code; the two
 * functions here touch no file, so the fuzzer and the tests drive them on
 * bytes alone.
 *
 * What is understood:
 *   - file headers "--- a/path" then "+++ b/path"; "a/" and "b/" are
 *     stripped when the old name has "a/" (or is /dev/null) and the new
 *     one "b/" (or is /dev/null); without those prefixes the names are
 *     taken as they are; "/dev/null" on the old side creates a file, on
 *     the new side deletes one; text after a tab (a timestamp) is ignored;
 *     git's quoted names ("a/x\ty") are unquoted;
 *   - git's extended headers: "diff --git", "new file mode", "deleted file
 *     mode", "rename from"/"rename to", "old mode"/"new mode", "index",
 *     "similarity index", "dissimilarity index"; a "diff --git" section
 *     may go without "---"/"+++" lines (git writes none for an empty new
 *     file or a pure rename);
 *   - hunks "@@ -start,count +start,count @@ section text" (",count"
 *     omitted means 1) whose body holds exactly the lines the counts say:
 *     " " context, "-" removed, "+" added, an empty line as an empty
 *     context line (as git does), and "\ No newline at end of file" after
 *     the last old and/or new line;
 *   - text before the first header (a commit message) and a surrounding
 *     Markdown fence (```diff ... ```) are skipped; a UTF-8 BOM too.
 * Refused with a message for the model: binary patches, copies, symbolic
 * links and submodules (modes 120000, 160000), combined diffs ("@@@"), a
 * hunk before any header, hunk headers without numbers (Codex's
 * "*** Begin Patch" format is named as such), counts that do not match
 * the body (the message gives the numbers the body really has), a body
 * cut short, and more than PATCH_MAX_FILES files or PATCH_MAX_HUNKS hunks.
 *
 * Applying is fuzz-free: every context and removed line of a hunk must be
 * equal, byte for byte, to the file's line (line ends aside: "\r\n" and
 * "\n" are the same end; a "\r" at the end of a patch line is part of the
 * end, not of the text).  A hunk is placed where its header says; when
 * its lines are not there, at the header's place shifted by the offset
 * the previous hunk was found at; failing that, at the one place in the
 * file where they are, and refused when they are nowhere or in more than
 * one place.  A hunk with only "+" lines cannot be checked: it goes where
 * its header says (shifted like the one before).  The hunks of a section
 * all refer to the file before the section, and may not overlap.  New
 * lines take the file's line end (CRLF when most of its lines end so; for
 * a new file, CRLF when every added line of the patch ended in "\r").
 * Whether the file ends in a newline follows the "\ No newline" markers;
 * a patch that does not mention them keeps the file's state.
 *
 * Ownership: struct patch owns its arrays and path strings; the line texts
 * and hunk headers point into the patch text, which must outlive it.
 * patch_release() frees it (also after a failed parse).  Nothing here
 * blocks, allocates without bound (PATCH_MAX_BYTES bounds the parse, the
 * caller's max_len the result) or keeps state between calls.
 */
#ifndef FORJA_PATCH_H
#define FORJA_PATCH_H

#include <stdbool.h>
#include <stddef.h>

#include "forja/buf.h"

/* The largest patch text accepted, in bytes. */
#define PATCH_MAX_BYTES ((size_t)1024 * 1024)
/* The most file sections and hunks (all files together) in one patch. */
#define PATCH_MAX_FILES 256
#define PATCH_MAX_HUNKS 10000

enum patch_op {
	PATCH_MODIFY,  /* change an existing file */
	PATCH_CREATE,  /* "--- /dev/null" or "new file mode" */
	PATCH_DELETE,  /* "+++ /dev/null" or "deleted file mode" */
	PATCH_RENAME,  /* "rename from" / "rename to", hunks optional */
};

struct patch_line {
	char kind;           /* ' ' context, '-' removed, '+' added */
	bool no_newline;     /* "\ No newline at end of file" follows it */
	bool cr;             /* it ended in "\r" in the patch (not part of text) */
	const char *text;    /* after the kind character; borrowed */
	size_t len;
	size_t lineno;       /* its line in the patch, 1-based */
};

struct patch_hunk {
	unsigned long old_start, old_count, new_start, new_count;
	const char *header;  /* the whole "@@ ... @@ section" line; borrowed */
	size_t header_len;
	size_t lineno;       /* where the header is in the patch, 1-based */
	struct patch_line *lines;
	size_t nlines;
	size_t added, removed;
};

struct patch_file {
	enum patch_op op;
	char *old_path;      /* NULL when created */
	char *new_path;      /* NULL when deleted; for MODIFY the same as old_path */
	unsigned old_mode;   /* from git's mode lines (octal 100644...); 0 if none */
	unsigned new_mode;
	size_t lineno;       /* the section's first header line, 1-based */
	struct patch_hunk *hunks;
	size_t nhunks;
};

struct patch {
	struct patch_file *files;
	size_t nfiles;
};

/*
 * Parse text (len bytes; NUL bytes are refused) into out.  Returns 0, or
 * -1 with a message for the model appended to why: "line N: what", naming
 * the hunk and the file when there is one.  out must be zeroed before the
 * call; release it with patch_release() either way.
 */
int patch_parse(const char *text, size_t len, struct patch *out, struct buf *why);

void patch_release(struct patch *p);

/*
 * Apply the hunks of one section f to old (old_len bytes; empty for a
 * created file) into out (appended to), with the rules at the top.  name
 * is how messages call the file (already in display form).  A result
 * longer than max_len bytes is refused; so is a DELETE whose hunks leave
 * anything.  *work is the number of file lines the searches for misplaced
 * hunks may still look at, shared by the calls of one patch (NULL: a
 * budget of a few hundred million for this call); when it runs out the
 * hunk is refused, so that a hostile patch cannot make the search
 * quadratic.  Returns 0, with one line for each hunk not placed where its
 * header said appended to notes ("x.c: hunk 2 applied at line 52 (its
 * header says 48)"), or -1 with the report for the model appended to why:
 * which hunk (number and header), and the first line that does not match
 * with its line number, the expected and the actual text; or the places
 * where an ambiguous hunk matches.
 */
int patch_apply(const struct patch_file *f, const char *name, const char *old, size_t old_len,
		size_t max_len, unsigned long long *work, struct buf *out, struct buf *notes,
		struct buf *why);

#endif

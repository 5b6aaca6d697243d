/*
 * patch.c — the apply_patch tool: a unified diff applied to the workspace
 * all or nothing.  The first half parses the diff and applies one file's
 * hunks in memory (include/forja/patch.h says the format and the matching
 * rules); the second half is the tool (tools.h): it computes every file's
 * new content first, checks every path with the path policy, and only then
 * writes, undoing what it wrote when a later write fails.
 */
#include "forja/patch.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "forja/json.h"
#include "forja/tools.h"
#include "forja/utf8.h"

/* How much of a line or a header a message shows, in bytes. */
#define SHOW_MAX 200
/* Lines looked at by the searches of one tool call (or one patch_apply()
 * without a budget): enough for thousands of misplaced hunks in big files,
 * small enough to answer within a second or so. */
#define WORK_BUDGET ((unsigned long long)300 * 1000 * 1000)
/* Line comparisons spent on finding the closest place for a failure report. */
#define REPORT_WORK ((size_t)16 * 1000 * 1000)
/* Places listed for an ambiguous hunk. */
#define PLACES_SHOWN 5
/* The largest number a hunk header may hold. */
#define HUNK_NUMBER_MAX 1000000000UL

static bool has_prefix(const char *p, size_t len, const char *prefix)
{
	size_t n = strlen(prefix);

	return len >= n && memcmp(p, prefix, n) == 0;
}

/* s (len bytes) as a JSON string literal, cut after SHOW_MAX bytes: shows
 * tabs, carriage returns and trailing blanks for what they are. */
static void put_text(struct buf *b, const char *s, size_t len)
{
	size_t n = len;

	if (n > SHOW_MAX) {
		n = SHOW_MAX;
		while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--;
	}
	json_put_string(b, s, n);
	if (n < len)
		buf_printf(b, " (cut; %zu bytes in all)", len);
}

/* A patch line (a header) between backquotes, as safe text. */
static void put_code(struct buf *b, const char *s, size_t len)
{
	size_t n = len;

	if (n > SHOW_MAX) {
		n = SHOW_MAX;
		while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--;
	}
	buf_putc(b, '`');
	utf8_sanitize(b, s, n);
	if (n < len)
		buf_puts(b, "...");
	buf_putc(b, '`');
}

/* ======================================================================
 * Parsing
 * ====================================================================== */

struct pline {
	const char *p;
	size_t len;      /* without the "\n" and a "\r" before it */
	bool cr;         /* a "\r" was there */
	size_t lineno;
	size_t next;     /* offset of the following line */
};

struct parser {
	const char *s;
	size_t len;
	size_t pos;      /* the next line */
	size_t lineno;   /* its number */
	struct patch *out;
	struct buf *why;
	size_t hunks;    /* in all files so far */
};

static bool peek_at(const struct parser *ps, size_t pos, size_t lineno, struct pline *l)
{
	const char *nl;

	if (pos >= ps->len)
		return false;
	l->p = ps->s + pos;
	nl = memchr(l->p, '\n', ps->len - pos);
	l->len = nl ? (size_t)(nl - l->p) : ps->len - pos;
	l->next = nl ? (size_t)(nl - ps->s) + 1 : ps->len;
	l->cr = l->len > 0 && l->p[l->len - 1] == '\r';
	if (l->cr)
		l->len--;
	l->lineno = lineno;
	return true;
}

static bool peek(const struct parser *ps, struct pline *l)
{
	return peek_at(ps, ps->pos, ps->lineno, l);
}

static void take(struct parser *ps, const struct pline *l)
{
	ps->pos = l->next;
	ps->lineno = l->lineno + 1;
}

static bool starts(const struct pline *l, const char *prefix)
{
	return has_prefix(l->p, l->len, prefix);
}

static bool is_blank(const struct pline *l)
{
	for (size_t i = 0; i < l->len; i++)
		if (l->p[i] != ' ' && l->p[i] != '\t')
			return false;
	return true;
}

/* l is "--- x" and the line after it "+++ y": a file header. */
static bool is_header_pair(const struct parser *ps, const struct pline *l)
{
	struct pline n;

	return starts(l, "--- ") && peek_at(ps, l->next, l->lineno + 1, &n) && starts(&n, "+++ ");
}

static int perr(struct parser *ps, size_t lineno, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* "line N: what" into why; returns -1. */
static int perr(struct parser *ps, size_t lineno, const char *fmt, ...)
{
	va_list ap;

	if (lineno)
		buf_printf(ps->why, "line %zu: ", lineno);
	va_start(ap, fmt);
	buf_vprintf(ps->why, fmt, ap);
	va_end(ap);
	return -1;
}

/* git's C-style quoted name at p (p[0] == '"'): *used bytes taken, the name
 * into out.  -1 when unterminated, malformed or holding a NUL byte. */
static int unquote(const char *p, size_t len, size_t *used, struct buf *out)
{
	for (size_t i = 1; i < len; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c == '"') {
			*used = i + 1;
			return 0;
		}
		if (c != '\\') {
			buf_putc(out, (char)c);
			continue;
		}
		if (++i >= len)
			return -1;
		switch (p[i]) {
		case 'a': buf_putc(out, '\a'); break;
		case 'b': buf_putc(out, '\b'); break;
		case 't': buf_putc(out, '\t'); break;
		case 'n': buf_putc(out, '\n'); break;
		case 'v': buf_putc(out, '\v'); break;
		case 'f': buf_putc(out, '\f'); break;
		case 'r': buf_putc(out, '\r'); break;
		case '"': buf_putc(out, '"'); break;
		case '\\': buf_putc(out, '\\'); break;
		default: {
			unsigned v = 0;

			for (int k = 0; k < 3; k++, i++) {
				if (i >= len || p[i] < '0' || p[i] > '7')
					return -1;
				v = v * 8 + (unsigned)(p[i] - '0');
			}
			i--;
			if (v == 0 || v > 255)
				return -1;
			buf_putc(out, (char)v);
		}
		}
	}
	return -1;
}

/* The name in a "--- name", "+++ name", "rename from name" line, after
 * skip bytes: quoted, or up to a tab (a timestamp follows) without
 * trailing blanks.  *name is NULL for /dev/null. */
static int line_name(struct parser *ps, const struct pline *l, size_t skip, char **name)
{
	const char *p = l->p + skip;
	size_t n = l->len - skip;
	struct buf b = BUF_INIT;

	*name = NULL;
	if (n > 0 && p[0] == '"') {
		size_t used;

		if (unquote(p, n, &used, &b) < 0) {
			buf_release(&b);
			return perr(ps, l->lineno, "malformed quoted file name (git's \"...\" form)");
		}
	} else {
		const char *tab = memchr(p, '\t', n);

		if (tab)
			n = (size_t)(tab - p);
		while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
			n--;
		buf_add(&b, p, n);
	}
	if (b.len == 0) {
		buf_release(&b);
		return perr(ps, l->lineno, "a file header without a file name");
	}
	if (strcmp(b.data, "/dev/null") == 0) {
		buf_release(&b);
		return 0;
	}
	*name = buf_steal(&b);
	return 0;
}

/* The two names of "diff --git a/x b/x", when they can be told apart
 * without the other headers: quoted, or two equal halves. */
static void git_names(const char *p, size_t n, char **a, char **b)
{
	struct buf x = BUF_INIT, y = BUF_INIT;
	size_t used;

	*a = *b = NULL;
	if (n > 0 && p[0] == '"') {
		if (unquote(p, n, &used, &x) == 0 && used < n && p[used] == ' ') {
			p += used + 1;
			n -= used + 1;
			if (n > 0 && p[0] == '"') {
				if (unquote(p, n, &used, &y) == 0 && used == n) {
					*a = buf_steal(&x);
					*b = buf_steal(&y);
				}
			} else if (n > 0) {
				buf_add(&y, p, n);
				*a = buf_steal(&x);
				*b = buf_steal(&y);
			}
		}
	} else if (n % 2 == 1 && p[n / 2] == ' ') {
		size_t h = n / 2;
		bool prefixed = h >= 2 && has_prefix(p, h, "a/") && has_prefix(p + h + 1, h, "b/");
		size_t skip = prefixed ? 2 : 0;

		if (memcmp(p + skip, p + h + 1 + skip, h - skip) == 0 && !memchr(p, '"', n)) {
			*a = xstrndup(p, h);
			*b = xstrndup(p + h + 1, h);
		}
	}
	buf_release(&x);
	buf_release(&y);
}

/* Drop git's "a/" and "b/" when the old name has "a/" (or is /dev/null,
 * NULL) and the new one "b/" (or is NULL). */
static void strip_ab(char *a, char *b)
{
	if ((!a && !b) || (a && strncmp(a, "a/", 2) != 0) || (b && strncmp(b, "b/", 2) != 0))
		return;
	if (a)
		memmove(a, a + 2, strlen(a + 2) + 1);
	if (b)
		memmove(b, b + 2, strlen(b + 2) + 1);
}

static bool parse_mode(const struct pline *l, size_t skip, unsigned *mode)
{
	unsigned v = 0;
	size_t i = skip, n = l->len;

	while (n > i && (l->p[n - 1] == ' ' || l->p[n - 1] == '\t'))
		n--;
	if (i == n || n - i > 7)
		return false;
	for (; i < n; i++) {
		if (l->p[i] < '0' || l->p[i] > '7')
			return false;
		v = v * 8 + (unsigned)(l->p[i] - '0');
	}
	*mode = v;
	return true;
}

static bool parse_number(const char **s, const char *end, unsigned long *v)
{
	const char *p = *s;
	unsigned long n = 0;

	if (p == end || *p < '0' || *p > '9')
		return false;
	while (p < end && *p >= '0' && *p <= '9') {
		n = n * 10 + (unsigned long)(*p - '0');
		if (n > HUNK_NUMBER_MAX)
			return false;
		p++;
	}
	*s = p;
	*v = n;
	return true;
}

/* "-start[,count]" or "+start[,count]". */
static bool parse_range(const char **s, const char *end, char sign, unsigned long *start,
			unsigned long *count)
{
	if (*s == end || **s != sign)
		return false;
	(*s)++;
	if (!parse_number(s, end, start))
		return false;
	*count = 1;
	if (*s < end && **s == ',') {
		(*s)++;
		if (!parse_number(s, end, count))
			return false;
	}
	return true;
}

static bool parse_hunk_header(const struct pline *l, struct patch_hunk *h)
{
	const char *p = l->p, *end = l->p + l->len;

	if (!has_prefix(p, l->len, "@@ "))
		return false;
	p += 3;
	if (!parse_range(&p, end, '-', &h->old_start, &h->old_count))
		return false;
	if (end - p < 1 || *p++ != ' ')
		return false;
	if (!parse_range(&p, end, '+', &h->new_start, &h->new_count))
		return false;
	if (end - p < 3 || memcmp(p, " @@", 3) != 0)
		return false;
	p += 3;
	return p == end || *p == ' ' || *p == '\t';
}

/* The display name of a section for messages. */
static void put_file_name(struct buf *b, const struct patch_file *f)
{
	const char *n = f->new_path ? f->new_path : f->old_path ? f->old_path : "?";

	utf8_quote_path(b, n, strlen(n));
}

/* "hunk 2 of x (`@@ -1,2 +1,3 @@`)" */
static void put_hunk_name(struct buf *b, const struct patch_file *f, size_t number,
			  const struct pline *hl)
{
	buf_printf(b, "hunk %zu of ", number);
	put_file_name(b, f);
	buf_puts(b, " (");
	put_code(b, hl->p, hl->len);
	buf_puts(b, ")");
}

/* What the body from pos really holds: the counts a header would need.
 * Blank lines count as context only when more of the body follows. */
static void count_body(const struct parser *ps, size_t pos, size_t lineno, unsigned long *old,
		       unsigned long *new)
{
	struct pline l;
	unsigned long blanks = 0;

	*old = *new = 0;
	while (peek_at(ps, pos, lineno, &l)) {
		char c = l.len ? l.p[0] : 0;

		if (l.len == 0) {
			blanks++;
		} else if (c == ' ' || c == '+' || (c == '-' && !is_header_pair(ps, &l))) {
			*old += blanks + (c != '+');
			*new += blanks + (c != '-');
			blanks = 0;
		} else if (c != '\\') {
			break;
		}
		pos = l.next;
		lineno++;
	}
}

/* The body of the hunk at body_pos does not fit its header's counts;
 * at_line is where that showed (0 at the end of the patch). */
static int count_error(struct parser *ps, const struct patch_file *f, size_t number,
		       const struct pline *hl, const struct patch_hunk *h, size_t body_pos,
		       size_t body_line, const struct pline *at)
{
	unsigned long old, new;
	struct buf name = BUF_INIT;
	int ret;

	count_body(ps, body_pos, body_line, &old, &new);
	put_hunk_name(&name, f, number, hl);
	if (!at && old <= h->old_count && new <= h->new_count)
		ret = perr(ps, hl->lineno,
			   "the patch ends inside %s: its header counts %lu old and %lu new lines, "
			   "the body has only %lu and %lu (is the patch cut short, or are the "
			   "counts wrong?)",
			   name.data, h->old_count, h->new_count, old, new);
	else if (old != h->old_count || new != h->new_count)
		ret = perr(ps, at ? at->lineno : hl->lineno,
			   "%s: the header counts %lu old and %lu new lines, but the body has %lu "
			   "old and %lu new (context and `-` lines are old, context and `+` lines "
			   "are new); fix the counts in the `@@` line",
			   name.data, h->old_count, h->new_count, old, new);
	else {
		struct buf shown = BUF_INIT;

		put_code(&shown, at->p, at->len);
		ret = perr(ps, at->lineno, "unexpected %s inside %s", shown.data, name.data);
		buf_release(&shown);
	}
	buf_release(&name);
	return ret;
}

/* After a complete hunk: does more of a body follow (blank lines aside)?
 * That is what counts that are too small look like. */
static bool more_body_follows(const struct parser *ps, struct pline *l)
{
	size_t pos = ps->pos, lineno = ps->lineno;

	while (peek_at(ps, pos, lineno, l)) {
		char c;

		if (l->len == 0) {
			pos = l->next;
			lineno++;
			continue;
		}
		c = l->p[0];
		return c == ' ' || c == '+' || c == '\\' || (c == '-' && !is_header_pair(ps, l));
	}
	return false;
}

/* "--- x", "+++ y", "@@ -": the next file's header, which a hunk whose
 * counts are too large would otherwise swallow as a "-" and a "+" line. */
static bool next_file_starts(const struct parser *ps, const struct pline *l)
{
	struct pline plus, hunk;

	return is_header_pair(ps, l) && peek_at(ps, l->next, l->lineno + 1, &plus) &&
	       peek_at(ps, plus.next, plus.lineno + 1, &hunk) && starts(&hunk, "@@ -");
}

static void hunk_push_line(struct patch_hunk *h, size_t *cap, char kind, const char *text,
			   size_t len, const struct pline *l)
{
	struct patch_line *pl;

	if (h->nlines == *cap) {
		*cap = *cap ? *cap * 2 : 16;
		h->lines = xrealloc(h->lines, *cap * sizeof *h->lines);
	}
	pl = &h->lines[h->nlines++];
	pl->kind = kind;
	pl->no_newline = false;
	pl->cr = l->cr;
	pl->text = text;
	pl->len = len;
	pl->lineno = l->lineno;
}

static int parse_hunk(struct parser *ps, struct patch_file *f)
{
	struct patch_hunk h;
	struct pline hl, l;
	unsigned long old_left, new_left;
	bool old_ended = false, new_ended = false;
	size_t cap = 0, number = f->nhunks + 1, body_pos, body_line;
	struct buf name = BUF_INIT;

	memset(&h, 0, sizeof h);
	peek(ps, &hl);
	if (ps->hunks >= PATCH_MAX_HUNKS)
		return perr(ps, hl.lineno, "more than %d hunks in one patch; split it into several "
			    "calls", PATCH_MAX_HUNKS);
	if (has_prefix(hl.p, hl.len, "@@@"))
		return perr(ps, hl.lineno, "a combined diff (`@@@`, from a merge) cannot be "
			    "applied; write an ordinary diff against the current file");
	if (!parse_hunk_header(&hl, &h)) {
		put_code(&name, hl.p, hl.len);
		if (!has_prefix(hl.p, hl.len, "@@ -"))
			perr(ps, hl.lineno, "hunk header %s has no line numbers: write `@@ "
			     "-start,count +start,count @@` (this tool takes a unified diff, not "
			     "the `*** Begin Patch` format)", name.data);
		else
			perr(ps, hl.lineno, "malformed hunk header %s: expected `@@ -start,count "
			     "+start,count @@` with an optional text after it", name.data);
		buf_release(&name);
		return -1;
	}
	h.header = hl.p;
	h.header_len = hl.len;
	h.lineno = hl.lineno;
	take(ps, &hl);
	if (h.old_count == 0 && h.new_count == 0) {
		put_hunk_name(&name, f, number, &hl);
		perr(ps, hl.lineno, "%s is empty: both counts are 0", name.data);
		buf_release(&name);
		return -1;
	}
	body_pos = ps->pos;
	body_line = ps->lineno;
	old_left = h.old_count;
	new_left = h.new_count;
	while (old_left || new_left) {
		char kind;
		bool fits;

		if (!peek(ps, &l)) {
			count_error(ps, f, number, &hl, &h, body_pos, body_line, NULL);
			goto fail;
		}
		if (l.len > 0 && l.p[0] == '\\') {
			struct patch_line *last = h.nlines ? &h.lines[h.nlines - 1] : NULL;

			if (!last || last->no_newline) {
				perr(ps, l.lineno, "`\\ No newline at end of file` must follow a "
				     "context, `-` or `+` line, once");
				goto fail;
			}
			last->no_newline = true;
			old_ended |= last->kind != '+';
			new_ended |= last->kind != '-';
			take(ps, &l);
			continue;
		}
		kind = l.len == 0 ? ' ' : l.p[0];
		fits = kind == ' ' ? old_left && new_left
		     : kind == '-' ? old_left > 0 && !next_file_starts(ps, &l)
		     : kind == '+' ? new_left > 0
				   : false;
		if (!fits) {
			count_error(ps, f, number, &hl, &h, body_pos, body_line, &l);
			goto fail;
		}
		if ((kind != '+' && old_ended) || (kind != '-' && new_ended)) {
			perr(ps, l.lineno, "a %s line after `\\ No newline at end of file`: the "
			     "marker goes after the last line of the old or the new side",
			     kind == ' ' ? "context" : kind == '-' ? "`-`" : "`+`");
			goto fail;
		}
		if (l.len == 0)
			hunk_push_line(&h, &cap, ' ', l.p, 0, &l);
		else
			hunk_push_line(&h, &cap, kind, l.p + 1, l.len - 1, &l);
		if (kind != '+')
			old_left--;
		if (kind != '-')
			new_left--;
		h.added += kind == '+';
		h.removed += kind == '-';
		take(ps, &l);
	}
	if (peek(ps, &l) && l.len > 0 && l.p[0] == '\\') {
		struct patch_line *last = &h.lines[h.nlines - 1];

		if (last->no_newline) {
			perr(ps, l.lineno, "`\\ No newline at end of file` twice after one line");
			goto fail;
		}
		last->no_newline = true;
		take(ps, &l);
	}
	if (more_body_follows(ps, &l)) {
		count_error(ps, f, number, &hl, &h, body_pos, body_line, &l);
		goto fail;
	}
	f->hunks = xrealloc(f->hunks, (f->nhunks + 1) * sizeof *f->hunks);
	f->hunks[f->nhunks++] = h;
	ps->hunks++;
	buf_release(&name);
	return 0;
fail:
	free(h.lines);
	buf_release(&name);
	return -1;
}

struct header {
	size_t lineno;
	bool git, is_new, is_deleted, has_minus, has_plus;
	char *git_a, *git_b;     /* from "diff --git"; NULL when unclear */
	char *minus, *plus;      /* NULL for /dev/null (or absent: has_*) */
	char *rename_from, *rename_to;
	unsigned old_mode, new_mode, new_file_mode, deleted_mode;
};

static void header_release(struct header *h)
{
	free(h->git_a);
	free(h->git_b);
	free(h->minus);
	free(h->plus);
	free(h->rename_from);
	free(h->rename_to);
}

static int binary_error(struct parser *ps, size_t lineno)
{
	return perr(ps, lineno, "a binary patch cannot be applied: apply_patch edits text files "
		    "(write the file with a text tool instead)");
}

/* The extended header lines of a "diff --git" section. */
static int parse_git_header(struct parser *ps, struct header *h)
{
	struct pline l;

	peek(ps, &l);
	git_names(l.p + 11, l.len - 11, &h->git_a, &h->git_b);
	take(ps, &l);
	while (peek(ps, &l)) {
		unsigned mode;
		char **name = NULL;
		size_t skip = 0;

		if (starts(&l, "old mode ") && parse_mode(&l, 9, &mode)) {
			h->old_mode = mode;
		} else if (starts(&l, "new mode ") && parse_mode(&l, 9, &mode)) {
			h->new_mode = mode;
		} else if (starts(&l, "deleted file mode ") && parse_mode(&l, 18, &mode)) {
			h->deleted_mode = mode;
			h->is_deleted = true;
		} else if (starts(&l, "new file mode ") && parse_mode(&l, 14, &mode)) {
			h->new_file_mode = mode;
			h->is_new = true;
		} else if (starts(&l, "rename from ")) {
			name = &h->rename_from;
			skip = 12;
		} else if (starts(&l, "rename to ")) {
			name = &h->rename_to;
			skip = 10;
		} else if (starts(&l, "rename old ")) {
			name = &h->rename_from;
			skip = 11;
		} else if (starts(&l, "rename new ")) {
			name = &h->rename_to;
			skip = 11;
		} else if (starts(&l, "copy from ") || starts(&l, "copy to ")) {
			return perr(ps, l.lineno, "copies (`copy from`/`copy to`) are not supported: "
				    "create the new file with `--- /dev/null` and `+++ b/path`");
		} else if (starts(&l, "Binary files ") || starts(&l, "GIT binary patch")) {
			return binary_error(ps, l.lineno);
		} else if (!starts(&l, "index ") && !starts(&l, "similarity index ") &&
			   !starts(&l, "dissimilarity index ")) {
			break;
		}
		if (name) {
			free(*name);
			if (line_name(ps, &l, skip, name) < 0)
				return -1;
			if (!*name)
				return perr(ps, l.lineno, "a rename from or to /dev/null");
		}
		take(ps, &l);
	}
	return 0;
}

static bool is_regular_mode(unsigned mode)
{
	return mode == 0 || (mode & 0170000) == 0100000;
}

/* Turn the header lines into f's operation and names. */
static int resolve_header(struct parser *ps, struct header *h, struct patch_file *f)
{
	size_t at = h->lineno;
	unsigned modes[4] = { h->old_mode, h->new_mode, h->new_file_mode, h->deleted_mode };

	for (int i = 0; i < 4; i++)
		if (!is_regular_mode(modes[i]))
			return perr(ps, at, "mode %06o: symbolic links and submodules cannot be "
				    "patched; apply_patch edits regular files", modes[i]);
	if (h->has_minus || h->has_plus)
		strip_ab(h->minus, h->plus);
	if (h->git_a && h->git_b)
		strip_ab(h->git_a, h->git_b);
	f->lineno = at;
	f->old_mode = h->old_mode ? h->old_mode : h->deleted_mode;
	f->new_mode = h->new_mode ? h->new_mode : h->new_file_mode;

	if (h->rename_from || h->rename_to) {
		if (!h->rename_from || !h->rename_to)
			return perr(ps, at, "`rename from` and `rename to` go together");
		if ((h->has_minus && (!h->minus || strcmp(h->minus, h->rename_from) != 0)) ||
		    (h->has_plus && (!h->plus || strcmp(h->plus, h->rename_to) != 0)))
			return perr(ps, at, "the `---`/`+++` names do not match `rename from`/`rename "
				    "to`");
		if (strcmp(h->rename_from, h->rename_to) == 0)
			return perr(ps, at, "a rename to the same name");
		f->op = PATCH_RENAME;
		f->old_path = h->rename_from;
		f->new_path = h->rename_to;
		h->rename_from = h->rename_to = NULL;
		return 0;
	}
	if (h->is_new || (h->has_minus && !h->minus)) {
		if (h->is_deleted || (h->has_plus && !h->plus))
			return perr(ps, at, "a file section that both creates and deletes its file");
		if (h->has_minus && h->minus)
			return perr(ps, at, "`new file mode` needs `--- /dev/null`, not a file name");
		f->op = PATCH_CREATE;
		if (h->has_plus) {
			f->new_path = h->plus;
			h->plus = NULL;
		} else if (h->git_b) {
			f->new_path = h->git_b;
			h->git_b = NULL;
		}
	} else if (h->is_deleted || (h->has_plus && !h->plus)) {
		if (h->has_plus && h->plus)
			return perr(ps, at, "`deleted file mode` needs `+++ /dev/null`, not a file "
				    "name");
		f->op = PATCH_DELETE;
		if (h->has_minus) {
			f->old_path = h->minus;
			h->minus = NULL;
		} else if (h->git_a) {
			f->old_path = h->git_a;
			h->git_a = NULL;
		}
	} else {
		f->op = PATCH_MODIFY;
		if (h->has_minus && h->has_plus && strcmp(h->minus, h->plus) != 0) {
			struct buf m = BUF_INIT;

			utf8_quote_path(&m, h->minus, strlen(h->minus));
			buf_puts(&m, " and ");
			utf8_quote_path(&m, h->plus, strlen(h->plus));
			perr(ps, at, "the `---` and `+++` lines name different files (%s); to rename "
			     "a file use `diff --git` with `rename from`/`rename to` lines; to "
			     "edit one, name it the same on both lines (`--- a/path`, `+++ "
			     "b/path`)", m.data);
			buf_release(&m);
			return -1;
		}
		if (h->has_minus) {
			f->old_path = h->minus;
			h->minus = NULL;
		} else if (h->git_a) {
			f->old_path = h->git_a;
			h->git_a = NULL;
		}
		if (f->old_path)
			f->new_path = xstrdup(f->old_path);
	}
	if (!f->old_path && !f->new_path)
		return perr(ps, at, "cannot tell the file's name from `diff --git`; add the `--- "
			    "a/path` and `+++ b/path` lines");
	if ((f->old_path && !*f->old_path) || (f->new_path && !*f->new_path))
		return perr(ps, at, "an empty file name");
	return 0;
}

static void file_release(struct patch_file *f)
{
	for (size_t i = 0; i < f->nhunks; i++)
		free(f->hunks[i].lines);
	free(f->hunks);
	free(f->old_path);
	free(f->new_path);
	memset(f, 0, sizeof *f);
}

/* One file section, from "diff --git" or "--- " to its last hunk. */
static int parse_section(struct parser *ps)
{
	struct header h;
	struct patch_file f;
	struct pline l;
	struct buf m = BUF_INIT;
	int ret = -1;

	memset(&h, 0, sizeof h);
	memset(&f, 0, sizeof f);
	peek(ps, &l);
	h.lineno = l.lineno;
	if (ps->out->nfiles >= PATCH_MAX_FILES) {
		perr(ps, l.lineno, "more than %d files in one patch; split it into several calls",
		     PATCH_MAX_FILES);
		goto out;
	}
	if (starts(&l, "diff --git ")) {
		h.git = true;
		if (parse_git_header(ps, &h) < 0)
			goto out;
	}
	if (peek(ps, &l) && is_header_pair(ps, &l)) {
		h.has_minus = h.has_plus = true;
		if (line_name(ps, &l, 4, &h.minus) < 0)
			goto out;
		take(ps, &l);
		peek(ps, &l);
		if (line_name(ps, &l, 4, &h.plus) < 0)
			goto out;
		take(ps, &l);
		if (!h.minus && !h.plus) {
			perr(ps, l.lineno, "both `---` and `+++` are /dev/null");
			goto out;
		}
	}
	if (resolve_header(ps, &h, &f) < 0)
		goto out;
	for (;;) {
		size_t pos = ps->pos, lineno = ps->lineno;

		/* Blank lines between hunks are tolerated. */
		while (peek_at(ps, pos, lineno, &l) && l.len == 0) {
			pos = l.next;
			lineno++;
		}
		if (!peek_at(ps, pos, lineno, &l) || !starts(&l, "@@"))
			break;
		ps->pos = pos;
		ps->lineno = lineno;
		if (parse_hunk(ps, &f) < 0)
			goto out;
	}
	if (peek(ps, &l) && (starts(&l, "GIT binary patch") || starts(&l, "Binary files "))) {
		binary_error(ps, l.lineno);
		goto out;
	}
	put_file_name(&m, &f);
	for (size_t i = 0; i < f.nhunks; i++) {
		const struct patch_hunk *hk = &f.hunks[i];

		if (f.op == PATCH_CREATE && hk->old_count) {
			perr(ps, hk->lineno, "hunk %zu of %s has context or `-` lines, but the patch "
			     "creates %s (`--- /dev/null`): every line of a new file is a `+` line",
			     i + 1, m.data, m.data);
			goto out;
		}
		if (f.op == PATCH_DELETE && hk->new_count) {
			perr(ps, hk->lineno, "hunk %zu of %s has context or `+` lines, but the patch "
			     "deletes %s (`+++ /dev/null`): every line is a `-` line",
			     i + 1, m.data, m.data);
			goto out;
		}
	}
	if (f.nhunks == 0 && f.op == PATCH_MODIFY &&
	    !(h.git && (h.old_mode || h.new_mode) && h.old_mode != h.new_mode)) {
		perr(ps, h.lineno, "the section for %s has no hunks (`@@ -start,count +start,count "
		     "@@` followed by its lines)", m.data);
		goto out;
	}
	ps->out->files = xrealloc(ps->out->files, (ps->out->nfiles + 1) * sizeof *ps->out->files);
	ps->out->files[ps->out->nfiles++] = f;
	memset(&f, 0, sizeof f);
	ret = 0;
out:
	file_release(&f);
	header_release(&h);
	buf_release(&m);
	return ret;
}

/* A line before the first file header, which is skipped, unless it shows
 * a mistake worth naming. */
static int check_leading_line(struct parser *ps, const struct pline *l)
{
	struct pline n;

	if (starts(l, "*** Begin Patch") || starts(l, "*** Update File:") ||
	    starts(l, "*** Add File:") || starts(l, "*** Delete File:"))
		return perr(ps, l->lineno, "this is the `*** Begin Patch` format; apply_patch takes "
			    "a unified diff: `--- a/path`, `+++ b/path`, then hunks `@@ "
			    "-start,count +start,count @@`");
	if (starts(l, "@@"))
		return perr(ps, l->lineno, "a hunk before any file header: start each file with "
			    "`--- a/path` and `+++ b/path` lines");
	if (starts(l, "+++ "))
		return perr(ps, l->lineno, "`+++` without a `---` line just before it");
	if (starts(l, "--- ") && peek_at(ps, l->next, l->lineno + 1, &n) && starts(&n, "@@"))
		return perr(ps, l->lineno, "`---` must be followed by a `+++ b/path` line");
	if (starts(l, "GIT binary patch") || starts(l, "Binary files "))
		return binary_error(ps, l->lineno);
	return 0;
}

/* Only blank lines from pos to the end. */
static bool rest_is_blank(const struct parser *ps, size_t pos, size_t lineno)
{
	struct pline l;

	while (peek_at(ps, pos, lineno, &l)) {
		if (!is_blank(&l))
			return false;
		pos = l.next;
		lineno++;
	}
	return true;
}

int patch_parse(const char *text, size_t len, struct patch *out, struct buf *why)
{
	struct parser ps;
	struct pline l;
	const char *nul;

	memset(&ps, 0, sizeof ps);
	ps.s = text;
	ps.len = len;
	ps.lineno = 1;
	ps.out = out;
	ps.why = why;
	if (len > PATCH_MAX_BYTES)
		return perr(&ps, 0, "the patch is %zu bytes, more than the limit of %zu; split it "
			    "into several calls", len, PATCH_MAX_BYTES);
	if ((nul = memchr(text, '\0', len)) != NULL)
		return perr(&ps, 0, "the patch holds a NUL byte (at byte %zu); apply_patch edits "
			    "text files", (size_t)(nul - text));
	if (has_prefix(text, len, "\xef\xbb\xbf"))
		ps.pos = 3;

	/* Anything before the first header: a commit message, a fence. */
	while (peek(&ps, &l) && !starts(&l, "diff --git ") && !is_header_pair(&ps, &l)) {
		if (check_leading_line(&ps, &l) < 0)
			return -1;
		take(&ps, &l);
	}
	while (peek(&ps, &l)) {
		if (starts(&l, "diff --git ") || is_header_pair(&ps, &l)) {
			if (parse_section(&ps) < 0)
				return -1;
		} else if (is_blank(&l) || starts(&l, "Index: ") || starts(&l, "====") ||
			   starts(&l, "Only in ") || (starts(&l, "diff ") && !starts(&l, "diff --git"))) {
			take(&ps, &l);
		} else if (starts(&l, "```") && rest_is_blank(&ps, l.next, l.lineno + 1)) {
			take(&ps, &l);
		} else if (check_leading_line(&ps, &l) < 0) {
			return -1;
		} else {
			struct buf shown = BUF_INIT;

			put_code(&shown, l.p, l.len);
			perr(&ps, l.lineno, "unexpected %s: expected a hunk (`@@ -start,count "
			     "+start,count @@`), the next file's `--- a/path` and `+++ b/path` lines, "
			     "or the end of the patch", shown.data);
			buf_release(&shown);
			return -1;
		}
	}
	if (out->nfiles == 0)
		return perr(&ps, 0, "no file header found: a unified diff starts each file with "
			    "`--- a/path` and `+++ b/path` lines, followed by hunks `@@ "
			    "-start,count +start,count @@`");
	return 0;
}

void patch_release(struct patch *p)
{
	for (size_t i = 0; i < p->nfiles; i++)
		file_release(&p->files[i]);
	free(p->files);
	memset(p, 0, sizeof *p);
}

/* ======================================================================
 * Applying one file's hunks in memory
 * ====================================================================== */

struct fline {
	const char *p;
	size_t len;      /* the text, without "\n", "\r\n" or a last "\r" */
	size_t full;     /* with its line end */
	uint64_t hash;
};

/* The old side of one hunk: its context and "-" lines. */
struct block {
	const struct patch_line **lines;
	uint64_t *hash;
	size_t m;
	bool marked;     /* its last line is "\ No newline at end of file" */
};

/* Regions of the old file that placed hunks took: spans (a < b) never
 * overlap; points (a == b) are pure insertions.  Both kept sorted. */
struct claim {
	size_t a, b, hunk;
};

struct claims {
	struct claim *spans, *points;
	size_t nspans, npoints;
};

struct placed {
	size_t pos, m, hunk;
};

/* A line of the result: a line of the old file or one the patch adds. */
struct oline {
	const char *p;
	size_t len;
	const char *end;     /* the file's own line end, or NULL for the new one */
	size_t end_len;
	bool nl_if_last;     /* ends in a newline when it is the last line */
	bool marked;         /* "\ No newline": must be the last line */
	size_t hunk;
};

struct applier {
	const struct patch_file *f;
	const char *name;
	struct fline *fl;
	size_t n;
	struct claims claims;
	struct placed *placed;
	size_t nplaced;
	unsigned long long *work;
	struct buf *notes, *why;
	size_t *found;       /* scratch for the search */
	size_t nfound, capfound;
};

static uint64_t line_hash(const char *p, size_t n)
{
	const unsigned char *s = (const unsigned char *)p;
	uint64_t h = 0xcbf29ce484222325ULL;

	for (size_t i = 0; i < n; i++) {
		h ^= s[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

static bool fline_has_nl(const struct fline *l)
{
	return l->full > l->len && l->p[l->full - 1] == '\n';
}

static size_t split_lines(const char *s, size_t n, struct fline **out)
{
	size_t count = 0, i = 0, pos = 0;
	const char *nl;

	for (size_t at = 0; at < n && (nl = memchr(s + at, '\n', n - at)) != NULL;
	     at = (size_t)(nl - s) + 1)
		count++;
	*out = xmalloc((count + 1) * sizeof **out);
	while (pos < n) {
		struct fline *l = &(*out)[i++];

		l->p = s + pos;
		nl = memchr(l->p, '\n', n - pos);
		l->full = nl ? (size_t)(nl - l->p) + 1 : n - pos;
		l->len = nl ? l->full - 1 : l->full;
		if (l->len > 0 && l->p[l->len - 1] == '\r')
			l->len--;
		l->hash = line_hash(l->p, l->len);
		pos += l->full;
	}
	return i;
}

static bool line_eq(const struct fline *fl, const struct patch_line *pl, uint64_t hash)
{
	return fl->hash == hash && fl->len == pl->len && memcmp(fl->p, pl->text, pl->len) == 0;
}

static void block_init(struct block *b, const struct patch_hunk *h)
{
	memset(b, 0, sizeof *b);
	b->lines = xmalloc((h->nlines + 1) * sizeof *b->lines);
	b->hash = xmalloc((h->nlines + 1) * sizeof *b->hash);
	for (size_t i = 0; i < h->nlines; i++) {
		const struct patch_line *pl = &h->lines[i];

		if (pl->kind == '+')
			continue;
		b->lines[b->m] = pl;
		b->hash[b->m++] = line_hash(pl->text, pl->len);
		b->marked = pl->no_newline;
	}
}

static void block_release(struct block *b)
{
	free(b->lines);
	free(b->hash);
}

static bool block_at(const struct block *b, const struct fline *fl, size_t n, size_t p)
{
	if (p > n || n - p < b->m)
		return false;
	for (size_t k = 0; k < b->m; k++)
		if (!line_eq(&fl[p + k], b->lines[k], b->hash[k]))
			return false;
	return true;
}

/* First index in the sorted array whose field is above key. */
static size_t first_above(const struct claim *c, size_t n, size_t key, bool by_end)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if ((by_end ? c[mid].b : c[mid].a) > key)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

/* Would [p, e) (a pure insertion at p when e == p) overlap a placed hunk? */
static bool claims_conflict(const struct claims *c, size_t p, size_t e, size_t *who)
{
	size_t i = first_above(c->spans, c->nspans, p, true);

	if (i < c->nspans && c->spans[i].a < (e > p ? e : p)) {
		*who = c->spans[i].hunk;
		return true;
	}
	if (e > p) {
		i = first_above(c->points, c->npoints, p, false);
		if (i < c->npoints && c->points[i].a < e) {
			*who = c->points[i].hunk;
			return true;
		}
	}
	return false;
}

static void claims_add(struct claims *c, size_t p, size_t e, size_t hunk)
{
	struct claim **arr = e > p ? &c->spans : &c->points;
	size_t *n = e > p ? &c->nspans : &c->npoints;
	size_t i = first_above(*arr, *n, p, false);

	*arr = xrealloc(*arr, (*n + 1) * sizeof **arr);
	memmove(*arr + i + 1, *arr + i, (*n - i) * sizeof **arr);
	(*arr)[i] = (struct claim){ p, e, hunk };
	(*n)++;
}

/* "<name>: hunk 2 of 3 (`@@ ... @@`)" */
static void put_hunk_ref(struct buf *b, const struct applier *ap, size_t hunk)
{
	const struct patch_hunk *h = &ap->f->hunks[hunk];

	buf_printf(b, "%s: hunk %zu of %zu (", ap->name, hunk + 1, ap->f->nhunks);
	put_code(b, h->header, h->header_len);
	buf_puts(b, ")");
}

static bool spend(struct applier *ap, unsigned long long cost)
{
	if (*ap->work < cost)
		return false;
	*ap->work -= cost;
	return true;
}

/* Every place where b's lines are, into ap->found (Knuth-Morris-Pratt on
 * the line hashes, then each hit compared byte for byte).  -1 when the
 * work budget runs out. */
static int find_all(struct applier *ap, const struct block *b)
{
	size_t m = b->m, n = ap->n, j = 0, *fail;

	ap->nfound = 0;
	if (m == 0 || m > n)
		return 0;
	if (!spend(ap, n + m))
		return -1;
	fail = xmalloc(m * sizeof *fail);
	fail[0] = 0;
	for (size_t i = 1, k = 0; i < m; i++) {
		while (k > 0 && b->hash[i] != b->hash[k])
			k = fail[k - 1];
		if (b->hash[i] == b->hash[k])
			k++;
		fail[i] = k;
	}
	for (size_t i = 0; i < n; i++) {
		while (j > 0 && ap->fl[i].hash != b->hash[j])
			j = fail[j - 1];
		if (ap->fl[i].hash == b->hash[j])
			j++;
		if (j < m)
			continue;
		j = fail[j - 1];
		if (!spend(ap, m)) {
			free(fail);
			return -1;
		}
		if (!block_at(b, ap->fl, n, i + 1 - m))
			continue;
		if (ap->nfound == ap->capfound) {
			ap->capfound = ap->capfound ? ap->capfound * 2 : 16;
			ap->found = xrealloc(ap->found, ap->capfound * sizeof *ap->found);
		}
		ap->found[ap->nfound++] = i + 1 - m;
	}
	free(fail);
	return 0;
}

/* Lines equal but for blanks? */
static bool same_but_blanks(const char *a, size_t an, const char *b, size_t bn)
{
	size_t i = 0, j = 0;

	for (;;) {
		while (i < an && (a[i] == ' ' || a[i] == '\t'))
			i++;
		while (j < bn && (b[j] == ' ' || b[j] == '\t'))
			j++;
		if (i == an || j == bn)
			return i == an && j == bn;
		if (a[i++] != b[j++])
			return false;
	}
}

/* How many of b's lines are equal to the file's when b starts at line p. */
static size_t match_score(const struct applier *ap, const struct block *b, size_t p)
{
	size_t score = 0;

	for (size_t i = 0; i < b->m && p + i < ap->n; i++)
		score += ap->fl[p + i].hash == b->hash[i];
	return score;
}

static size_t dist(size_t a, size_t b)
{
	return a > b ? a - b : b - a;
}

/* The hunk's lines are nowhere in the file: show the first line that
 * differs at the place that matches best (most equal lines, nearest to
 * where the header says). */
static void report_mismatch(struct applier *ap, const struct block *b, size_t hunk, size_t stated)
{
	struct buf *w = ap->why;
	size_t n = ap->n, m = b->m, npos = n ? n : 1, lo = 0, hi = npos, best, best_score = 0;
	size_t k, shown = 0, places[PLACES_SHOWN];
	const struct patch_line *want;

	if (m * npos > REPORT_WORK) {
		size_t half = REPORT_WORK / m / 2;

		lo = stated > half ? stated - half : 0;
		hi = stated + half + 1 < npos ? stated + half + 1 : npos;
	}
	best = stated < npos ? stated : npos - 1;
	best_score = match_score(ap, b, best);
	for (size_t p = lo; p < hi; p++) {
		size_t score = match_score(ap, b, p);

		if (score > best_score || (score == best_score && dist(p, stated) < dist(best, stated))) {
			best = p;
			best_score = score;
		}
	}
	for (k = 0; k < m && best + k < n; k++)
		if (!line_eq(&ap->fl[best + k], b->lines[k], b->hash[k]))
			break;
	put_hunk_ref(w, ap, hunk);
	buf_puts(w, " does not apply: its context and `-` lines are not in the file.\n");
	if (k == m)
		return; /* cannot happen: the lines would have been found */
	want = b->lines[k];
	buf_printf(w, "  First difference: line %zu of %s, against the %s line at patch line "
		   "%zu.\n    expected: ", best + k + 1, ap->name,
		   want->kind == '-' ? "`-`" : "context", want->lineno);
	put_text(w, want->text, want->len);
	buf_puts(w, "\n    actual:   ");
	if (best + k < n)
		put_text(w, ap->fl[best + k].p, ap->fl[best + k].len);
	else
		buf_printf(w, "(end of file: %s has %zu lines)", ap->name, n);
	buf_puts(w, "\n  ");
	if (k == 1)
		buf_printf(w, "The hunk's first old line matches line %zu of %s; ", best + 1,
			   ap->name);
	else if (k > 1)
		buf_printf(w, "The hunk's first %zu old lines match lines %zu-%zu of %s; ", k,
			   best + 1, best + k, ap->name);
	if (best != stated)
		buf_printf(w, "%shis is the closest place found; the header says line %zu.\n",
			   k ? "t" : "T", stated + 1);
	else
		buf_printf(w, "%shis is where the header says.\n", k ? "t" : "T");
	if (best + k < n &&
	    same_but_blanks(want->text, want->len, ap->fl[best + k].p, ap->fl[best + k].len))
		buf_puts(w, "  The two differ only in white space (tabs, spaces, trailing blanks).\n");
	for (size_t i = 0; i < n && shown < PLACES_SHOWN; i++)
		if (i != best + k && line_eq(&ap->fl[i], want, b->hash[k]))
			places[shown++] = i + 1;
	for (size_t i = 0; i < shown; i++)
		buf_printf(w, "%s%zu", i == 0 ? (shown > 1 ? "  The expected line is at lines "
						       : "  The expected line is at line ")
					       : ", ", places[i]);
	if (shown)
		buf_printf(w, " of %s.\n", ap->name);
	else
		buf_printf(w, "  The expected line is nowhere in %s.\n", ap->name);
}

/* Where hunk i goes; -1 with the report in ap->why. */
static int place_hunk(struct applier *ap, size_t i, long long *offset)
{
	const struct patch_hunk *h = &ap->f->hunks[i];
	struct block b;
	size_t stated, shifted, pos = 0, who, nvalid = 0, n = ap->n;
	long long sh;
	int ret = -1;

	block_init(&b, h);
	if (b.m == 0)
		stated = h->old_start;
	else
		stated = h->old_start ? h->old_start - 1 : 0;
	sh = (long long)stated + *offset;
	shifted = sh < 0 ? 0 : (size_t)sh;

	if (b.m == 0) {
		pos = n == 0 ? 0 : *offset ? shifted : stated;
		if (pos > n) {
			put_hunk_ref(ap->why, ap, i);
			buf_printf(ap->why, " adds lines after line %zu, but the file has only %zu "
				   "lines.\n", pos, n);
			goto out;
		}
		if (claims_conflict(&ap->claims, pos, pos, &who)) {
			put_hunk_ref(ap->why, ap, i);
			buf_printf(ap->why, " adds lines inside the lines hunk %zu changes; hunks "
				   "must not overlap (merge them into one).\n", who + 1);
			goto out;
		}
	} else {
		bool found = false;
		size_t tries[2] = { stated, shifted };

		for (int t = 0; t < 2 && !found; t++) {
			size_t p = tries[t];

			if (t == 1 && (*offset == 0 || p == stated))
				break;
			if (block_at(&b, ap->fl, n, p) && (!b.marked || p + b.m == n) &&
			    !claims_conflict(&ap->claims, p, p + b.m, &who)) {
				pos = p;
				found = true;
			}
		}
		if (!found) {
			if (find_all(ap, &b) < 0) {
				put_hunk_ref(ap->why, ap, i);
				buf_printf(ap->why, " is not at line %zu as its header says, and "
					   "searching for it elsewhere needs more work than one call "
					   "may take; fix the line numbers in the `@@` lines.\n",
					   stated + 1);
				goto out;
			}
			for (size_t c = 0; c < ap->nfound; c++) {
				size_t p = ap->found[c];

				if ((b.marked && p + b.m != n) ||
				    claims_conflict(&ap->claims, p, p + b.m, &who))
					continue;
				ap->found[nvalid++] = p;
			}
			if (nvalid == 0 && ap->nfound > 0) {
				size_t p = ap->found[0];

				put_hunk_ref(ap->why, ap, i);
				if (b.marked && p + b.m != n)
					buf_printf(ap->why, " marks its last old line `\\ No newline at "
						   "end of file`, but its lines are only at line %zu, not "
						   "at the end of the file.\n", p + 1);
				else
					buf_printf(ap->why, " matches only at line %zu, inside the lines "
						   "hunk %zu changes; hunks must not overlap (merge them "
						   "into one).\n", p + 1, who + 1);
				goto out;
			}
			if (nvalid == 0) {
				report_mismatch(ap, &b, i, stated);
				goto out;
			}
			if (nvalid > 1) {
				put_hunk_ref(ap->why, ap, i);
				buf_printf(ap->why, " is ambiguous: its context and `-` lines are not at "
					   "line %zu as the header says, and they match in %zu places: "
					   "lines ", stated + 1, nvalid);
				for (size_t c = 0; c < nvalid && c < PLACES_SHOWN; c++)
					buf_printf(ap->why, "%s%zu", c ? ", " : "", ap->found[c] + 1);
				buf_puts(ap->why, nvalid > PLACES_SHOWN ? ", ...\n" : ".\n");
				buf_puts(ap->why, "  Add context lines until only one place matches, or "
					 "fix the line number in the `@@` line.\n");
				goto out;
			}
			pos = ap->found[0];
		}
	}
	if (pos != stated) {
		if (b.m == 0)
			buf_printf(ap->notes, "%s: hunk %zu applied after line %zu (its header says "
				   "%zu)\n", ap->name, i + 1, pos, stated);
		else
			buf_printf(ap->notes, "%s: hunk %zu applied at line %zu (its header says "
				   "%zu)\n", ap->name, i + 1, pos + 1, stated + 1);
	}
	*offset = (long long)pos - (long long)stated;
	claims_add(&ap->claims, pos, pos + b.m, i);
	ap->placed[ap->nplaced++] = (struct placed){ pos, b.m, i };
	ret = 0;
out:
	block_release(&b);
	return ret;
}

static int placed_cmp(const void *x, const void *y)
{
	const struct placed *a = x, *b = y;

	if (a->pos != b->pos)
		return a->pos < b->pos ? -1 : 1;
	/* An insertion before the hunk that changes the line after it. */
	if ((a->m > 0) != (b->m > 0))
		return a->m > 0 ? 1 : -1;
	return a->hunk < b->hunk ? -1 : a->hunk > b->hunk;
}

static void push_old(struct oline **o, size_t *no, const struct fline *l, bool marked, size_t hunk)
{
	struct oline *e = &(*o)[(*no)++];

	e->p = l->p;
	e->len = l->len;
	e->nl_if_last = fline_has_nl(l);
	e->end = e->nl_if_last ? l->p + l->len : NULL;
	e->end_len = e->nl_if_last ? l->full - l->len : 0;
	e->marked = marked;
	e->hunk = hunk;
}

/* The result lines, in order, from the placed hunks. */
static size_t build_lines(struct applier *ap, struct oline *o)
{
	const struct fline *fl = ap->fl;
	size_t n = ap->n, cursor = 0, no = 0;
	bool old_nl = n == 0 || fline_has_nl(&fl[n - 1]);

	for (size_t i = 0; i < ap->nplaced; i++) {
		const struct placed *pl = &ap->placed[i];
		const struct patch_hunk *h = &ap->f->hunks[pl->hunk];
		size_t k = pl->pos;
		bool old_marked = false, at_end = pl->pos + pl->m == n;

		for (size_t j = 0; j < h->nlines; j++)
			if (h->lines[j].kind != '+' && h->lines[j].no_newline)
				old_marked = true;
		for (; cursor < pl->pos; cursor++)
			push_old(&o, &no, &fl[cursor], false, 0);
		for (size_t j = 0; j < h->nlines; j++) {
			const struct patch_line *l = &h->lines[j];
			struct oline *e;

			if (l->kind == ' ') {
				push_old(&o, &no, &fl[k++], l->no_newline, pl->hunk);
				continue;
			}
			if (l->kind == '-') {
				k++;
				continue;
			}
			e = &o[no++];
			memset(e, 0, sizeof *e);
			e->p = l->text;
			e->len = l->len;
			e->marked = l->no_newline;
			e->hunk = pl->hunk;
			/* Without markers the patch says nothing about the last newline:
			 * a hunk that ends the file keeps the file's state. */
			e->nl_if_last = !l->no_newline && (old_marked || !at_end || old_nl);
		}
		cursor = pl->pos + pl->m;
	}
	for (; cursor < n; cursor++)
		push_old(&o, &no, &fl[cursor], false, 0);
	return no;
}

/* "\r\n" when most of the file's lines end so; for a file without line
 * ends, when every line the patch adds ended in "\r". */
static const char *choose_eol(const struct applier *ap)
{
	size_t crlf = 0, lf = 0, added = 0, added_cr = 0;

	for (size_t i = 0; i < ap->n; i++) {
		if (!fline_has_nl(&ap->fl[i]))
			continue;
		if (ap->fl[i].full - ap->fl[i].len == 2)
			crlf++;
		else
			lf++;
	}
	if (crlf || lf)
		return crlf > lf ? "\r\n" : "\n";
	for (size_t i = 0; i < ap->f->nhunks; i++) {
		const struct patch_hunk *h = &ap->f->hunks[i];

		for (size_t j = 0; j < h->nlines; j++) {
			if (h->lines[j].kind != '+')
				continue;
			added++;
			added_cr += h->lines[j].cr;
		}
	}
	return added && added == added_cr ? "\r\n" : "\n";
}

int patch_apply(const struct patch_file *f, const char *name, const char *old, size_t old_len,
		size_t max_len, unsigned long long *work, struct buf *out, struct buf *notes,
		struct buf *why)
{
	struct applier ap;
	unsigned long long own_work = WORK_BUDGET;
	struct oline *o = NULL;
	size_t no, total_lines, start = out->len;
	long long offset = 0;
	const char *eol;
	int ret = -1;

	memset(&ap, 0, sizeof ap);
	ap.f = f;
	ap.name = name;
	ap.work = work ? work : &own_work;
	ap.notes = notes;
	ap.why = why;
	ap.n = split_lines(old, old_len, &ap.fl);
	ap.placed = xmalloc((f->nhunks + 1) * sizeof *ap.placed);
	total_lines = ap.n;
	for (size_t i = 0; i < f->nhunks; i++) {
		if (place_hunk(&ap, i, &offset) < 0)
			goto out;
		total_lines += f->hunks[i].added;
	}
	qsort(ap.placed, ap.nplaced, sizeof *ap.placed, placed_cmp);
	o = xmalloc((total_lines + 1) * sizeof *o);
	no = build_lines(&ap, o);
	if (f->op == PATCH_DELETE && no > 0) {
		buf_printf(why, "%s: the patch deletes the file, but its hunks leave %zu of its lines; "
			   "a deletion removes every line (the whole file as `-` lines).\n", name, no);
		goto out;
	}
	eol = choose_eol(&ap);
	for (size_t i = 0; i < no; i++) {
		const struct oline *e = &o[i];
		bool last = i + 1 == no;

		if (e->marked && !last) {
			buf_truncate(out, start);
			put_hunk_ref(why, &ap, e->hunk);
			buf_puts(why, " marks a line `\\ No newline at end of file`, but that line is "
				 "not the last of the result.\n");
			goto out;
		}
		buf_add(out, e->p, e->len);
		if (!last || e->nl_if_last) {
			if (e->end)
				buf_add(out, e->end, e->end_len);
			else
				buf_puts(out, eol);
		}
		if (out->len - start > max_len) {
			buf_truncate(out, start);
			buf_printf(why, "%s: the patched file would be larger than %zu bytes, the "
				   "limit for one file.\n", name, max_len);
			goto out;
		}
	}
	ret = 0;
out:
	free(o);
	free(ap.found);
	free(ap.claims.spans);
	free(ap.claims.points);
	free(ap.placed);
	free(ap.fl);
	return ret;
}

/* ======================================================================
 * The tool
 *
 * Three steps, and nothing is written before the third:
 *   1. plan: every file the patch names is read once through the path
 *      policy (a symbolic link, a directory, a binary or too large file is
 *      refused) and every section is applied to its content in memory, in
 *      patch order, so that two sections may touch one file and a rename
 *      carries the content along;
 *   2. vet: each file that changes is checked with the write rules, by
 *      its name and by where its directory really is (g -> .git is caught
 *      here), and must still be the file that was read;
 *   3. commit: deletions first, each by renaming the file to a temp name
 *      in its own checked directory (the path policy has no unlink, and a
 *      rename is undone exactly: inode, mode, owner); then every write
 *      through pathpol_write_atomic(); the temp names are removed last.
 *      When a step fails, what was done is undone newest first: writes
 *      restored from the content read in step 1, new files (and the empty
 *      directories made for them) removed, deleted files renamed back.
 *      What cannot be undone is said, and recorded as a change.
 * ====================================================================== */

/* The same defaults as the other file tools (files.c). */
#define DEFAULT_OUTPUT_BYTES ((uint64_t)128 * 1024)
#define DEFAULT_FILE_BYTES ((uint64_t)16 * 1024 * 1024)
#define HARD_FILE_BYTES ((uint64_t)64 * 1024 * 1024)
/* File contents held in memory by one call, before and after together. */
#define HELD_BYTES_MAX ((size_t)256 * 1024 * 1024)
/* A deleted file waits under this name (pathpol's temp prefix) until the
 * whole patch is written. */
#define TOMB_PREFIX ".forja-tmp-"

enum action { ACT_NONE, ACT_CREATE, ACT_MODIFY, ACT_DELETE };

/* One path the patch touches: what it was, what it becomes. */
struct fstate {
	char *rel;             /* normalised, relative to the root: the key */
	char *shown;           /* display form of rel */
	bool orig_exists;
	struct buf orig;
	mode_t mode;
	dev_t dev;
	ino_t ino;
	bool cur_exists;
	struct buf cur;
	size_t added, removed;
	size_t renamed_from;   /* 1 + index of the state renamed into this one */
	enum action act;
	size_t dirs_from;      /* creates: rel[0..dirs_from) existed; deeper dirs are new */
	int dirfd;             /* deletes: the parent directory, checked; else -1 */
	char tomb[40];         /* deletes: the temp name the file waits under */
	bool done;             /* the action is on disk */
	bool new_known;        /* creates: the file written, for undoing it */
	dev_t new_dev;
	ino_t new_ino;
};

struct run {
	const struct tool_ctx *ctx;
	struct fstate *st;
	size_t nst;
	size_t file_cap;
	size_t held;
	unsigned long long work;
	struct buf notes;
	struct buf msg;        /* the report when it fails */
	enum tool_status fail_status;
	bool undo_failed;      /* some of a failed commit stayed on disk */
};

static int fail(struct run *run, enum tool_status status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Append a line to the failure report; returns -1. */
static int fail(struct run *run, enum tool_status status, const char *fmt, ...)
{
	va_list ap;

	run->fail_status = status;
	va_start(ap, fmt);
	buf_vprintf(&run->msg, fmt, ap);
	va_end(ap);
	return -1;
}

/* A path policy refusal (TOOL_DENIED) or I/O failure (TOOL_FAILED). */
static int fail_ferr(struct run *run, const struct ferr *fe)
{
	run->fail_status = fe->cls == FERR_DENIED ? TOOL_DENIED : TOOL_FAILED;
	/* ferr_set may have cut the message inside a character. */
	utf8_sanitize(&run->msg, fe->msg, strlen(fe->msg));
	buf_putc(&run->msg, '\n');
	return -1;
}

static const char *const *deny_list(const struct run *run, size_t *n)
{
	*n = run->ctx->ndeny_write;
	return run->ctx->deny_write;
}

/* rel's directory ("." at the top) into parent; its last component. */
static const char *split_rel(const char *rel, struct buf *parent)
{
	const char *slash = strrchr(rel, '/');

	buf_reset(parent);
	if (!slash) {
		buf_puts(parent, ".");
		return rel;
	}
	buf_add(parent, rel, (size_t)(slash - rel));
	return slash + 1;
}

static int open_dir(const struct run *run, const char *rel, int *fd, struct ferr *fe)
{
	return pathpol_open_read(run->ctx->ws, rel, strlen(rel), true, fd, fe);
}

/* Where the directory open at fd really is, relative to the root, into
 * out: 0; -1 when the system cannot say (no /proc); -2 outside the root. */
static int dir_where(const struct run *run, int fd, struct buf *out)
{
	const char *root = run->ctx->ws->root;
	size_t rl = strlen(root);
	char link[64], *real = xmalloc(PATH_MAX + 1);
	ssize_t n;
	int ret = 0;

	buf_reset(out);
	snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
	n = readlink(link, real, PATH_MAX);
	if (n < 0 || n >= PATH_MAX) {
		ret = -1;
	} else {
		real[n] = '\0';
		if (strcmp(real, root) == 0)
			buf_puts(out, ".");
		else if (rl == 1 && real[0] == '/')
			buf_puts(out, real + 1);
		else if (strncmp(real, root, rl) == 0 && real[rl] == '/')
			buf_puts(out, real + rl + 1);
		else
			ret = -2;
	}
	free(real);
	return ret;
}

static int read_fd(int fd, size_t cap, struct buf *out, bool *too_big)
{
	char chunk[65536];

	*too_big = false;
	for (;;) {
		ssize_t n = read(fd, chunk, sizeof chunk);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			return 0;
		if ((size_t)n > cap - out->len) {
			*too_big = true;
			return 0;
		}
		buf_add(out, chunk, (size_t)n);
	}
}

/* Read what s->rel is now, through the path policy. */
static int load_state(struct run *run, struct fstate *s)
{
	struct ferr fe = FERR_INIT;
	struct buf parent = BUF_INIT;
	const char *base = split_rel(s->rel, &parent);
	struct stat lst, st;
	int dfd = -1, fd = -1, ret = -1;
	bool too_big;

	if (open_dir(run, parent.data, &dfd, &fe) < 0) {
		if (fe.cls == FERR_DENIED) {
			buf_printf(&run->msg, "%s: ", s->shown);
			fail_ferr(run, &fe);
			goto out;
		}
		ret = 0;        /* no such directory: no such file */
		goto out;
	}
	if (fstatat(dfd, base, &lst, AT_SYMLINK_NOFOLLOW) != 0) {
		if (errno == ENOENT) {
			ret = 0;
			goto out;
		}
		fail(run, TOOL_FAILED, "%s: %s\n", s->shown, strerror(errno));
		goto out;
	}
	if (S_ISLNK(lst.st_mode)) {
		fail(run, TOOL_DENIED, "%s: refused: is a symbolic link; apply_patch never writes "
		     "through a link (patch the file it points to instead)\n", s->shown);
		goto out;
	}
	if (S_ISDIR(lst.st_mode)) {
		fail(run, TOOL_FAILED, "%s: is a directory, not a file\n", s->shown);
		goto out;
	}
	if (pathpol_open_read(run->ctx->ws, s->rel, strlen(s->rel), false, &fd, &fe) < 0) {
		fail_ferr(run, &fe);
		goto out;
	}
	if (fstat(fd, &st) != 0 || st.st_dev != lst.st_dev || st.st_ino != lst.st_ino) {
		fail(run, TOOL_FAILED, "%s: changed while it was being read; try again\n", s->shown);
		goto out;
	}
	if ((uint64_t)st.st_size > run->file_cap) {
		fail(run, TOOL_FAILED, "%s: is %jd bytes; apply_patch edits files of at most %zu "
		     "bytes\n", s->shown, (intmax_t)st.st_size, run->file_cap);
		goto out;
	}
	if (read_fd(fd, run->file_cap, &s->orig, &too_big) < 0) {
		fail(run, TOOL_FAILED, "%s: reading: %s\n", s->shown, strerror(errno));
		goto out;
	}
	if (too_big) {
		fail(run, TOOL_FAILED, "%s: grew past %zu bytes while it was being read\n", s->shown,
		     run->file_cap);
		goto out;
	}
	if (s->orig.len && memchr(s->orig.data, '\0', s->orig.len)) {
		fail(run, TOOL_FAILED, "%s: holds NUL bytes, so it is binary; apply_patch edits "
		     "text files\n", s->shown);
		goto out;
	}
	for (size_t i = 0; i < run->nst; i++) {
		const struct fstate *o = &run->st[i];

		if (o != s && o->orig_exists && o->dev == st.st_dev && o->ino == st.st_ino) {
			fail(run, TOOL_FAILED, "%s and %s are the same file (through a symbolic link "
			     "or a hard link); name it one way in the patch\n", o->shown, s->shown);
			goto out;
		}
	}
	run->held += s->orig.len * 2;
	if (run->held > HELD_BYTES_MAX) {
		fail(run, TOOL_FAILED, "the files of this patch hold more than %zu bytes together; "
		     "split it into several calls\n", HELD_BYTES_MAX);
		goto out;
	}
	s->orig_exists = s->cur_exists = true;
	s->mode = st.st_mode & 07777;
	s->dev = st.st_dev;
	s->ino = st.st_ino;
	buf_add(&s->cur, buf_cstr(&s->orig), s->orig.len);
	ret = 0;
out:
	if (fd >= 0)
		close(fd);
	if (dfd >= 0)
		close(dfd);
	buf_release(&parent);
	return ret;
}

/* The state of the file a patch names (made and loaded the first time):
 * *idx.  Paths with ".." are refused outright: a patch names files from
 * the root, and one file must not have two names in one patch. */
static int state_for(struct run *run, const char *path, size_t *idx)
{
	struct ferr fe = FERR_INIT;
	struct buf rel = BUF_INIT;
	struct fstate *s;
	size_t len = strlen(path);
	int ret = -1;

	for (size_t i = 0; i < len;) {
		size_t j = i;

		while (j < len && path[j] != '/')
			j++;
		if (j - i == 2 && path[i] == '.' && path[i + 1] == '.') {
			char *shown = utf8_path_dup(path, len);

			fail(run, TOOL_DENIED, "%s: refused: `..` in a patch path; name files from the "
			     "top of the workspace\n", shown);
			free(shown);
			return -1;
		}
		i = j + 1;
	}
	if (pathpol_normalise(run->ctx->ws, path, len, &rel, &fe) < 0) {
		fail_ferr(run, &fe);
		goto out;
	}
	if (strcmp(rel.data, ".") == 0) {
		char *shown = utf8_path_dup(path, len);

		fail(run, TOOL_DENIED, "%s: refused: names the workspace itself, not a file\n", shown);
		free(shown);
		goto out;
	}
	for (size_t i = 0; i < run->nst; i++) {
		if (strcmp(run->st[i].rel, rel.data) == 0) {
			*idx = i;
			ret = 0;
			goto out;
		}
	}
	run->st = xrealloc(run->st, (run->nst + 1) * sizeof *run->st);
	s = &run->st[run->nst++];
	memset(s, 0, sizeof *s);
	s->dirfd = -1;
	s->rel = buf_steal(&rel);
	s->shown = utf8_path_dup(s->rel, strlen(s->rel));
	*idx = run->nst - 1;
	ret = load_state(run, s);
out:
	buf_release(&rel);
	return ret;
}

static int missing(struct run *run, const struct fstate *s)
{
	if (s->orig_exists)
		return fail(run, TOOL_FAILED, "%s: an earlier section of this patch deleted or "
			    "renamed it\n", s->shown);
	return fail(run, TOOL_FAILED, "%s: no such file (to create it, use `--- /dev/null` and "
		    "`+++ b/%s`)\n", s->shown, s->shown);
}

/* Apply one file section to the states in memory. */
static int plan_section(struct run *run, const struct patch_file *f)
{
	struct buf out = BUF_INIT, why = BUF_INIT;
	size_t src = 0, dst = 0;
	const struct fstate *from;
	struct fstate *to;
	int ret = -1;

	if (f->op != PATCH_CREATE && state_for(run, f->old_path, &src) < 0)
		goto out;
	if (f->op != PATCH_DELETE && state_for(run, f->new_path, &dst) < 0)
		goto out;
	if (f->op == PATCH_DELETE)
		dst = src;
	else if (f->op != PATCH_RENAME)
		src = dst;
	from = &run->st[src];
	to = &run->st[dst];
	if (f->op == PATCH_RENAME && src == dst) {
		fail(run, TOOL_FAILED, "%s: renamed to itself\n", from->shown);
		goto out;
	}
	if (f->op != PATCH_CREATE && !from->cur_exists) {
		missing(run, from);
		goto out;
	}
	if ((f->op == PATCH_CREATE || f->op == PATCH_RENAME) && to->cur_exists) {
		fail(run, TOOL_FAILED, "%s: exists already; to change it, write a diff against its "
		     "content (`--- a/%s`, `+++ b/%s`)\n", to->shown, to->shown, to->shown);
		goto out;
	}
	if (patch_apply(f, from->shown, f->op == PATCH_CREATE ? "" : buf_cstr(&from->cur),
			f->op == PATCH_CREATE ? 0 : from->cur.len, run->file_cap, &run->work, &out,
			&run->notes, &why) < 0) {
		fail(run, TOOL_FAILED, "%s", buf_cstr(&why));
		goto out;
	}
	run->held += out.len;
	if (run->held > HELD_BYTES_MAX) {
		fail(run, TOOL_FAILED, "the files of this patch hold more than %zu bytes together; "
		     "split it into several calls\n", HELD_BYTES_MAX);
		goto out;
	}
	if (f->op == PATCH_DELETE) {
		buf_reset(&to->cur);
		to->cur_exists = false;
	} else {
		if (f->op == PATCH_RENAME) {
			struct fstate *s = &run->st[src];

			buf_reset(&s->cur);
			s->cur_exists = false;
			to->renamed_from = src + 1;
		}
		buf_reset(&to->cur);
		buf_add(&to->cur, buf_cstr(&out), out.len);
		to->cur_exists = true;
	}
	for (size_t i = 0; i < f->nhunks; i++) {
		to->added += f->hunks[i].added;
		to->removed += f->hunks[i].removed;
	}
	if (f->new_mode && (f->op == PATCH_CREATE ? (f->new_mode & 0111) != 0
						  : f->new_mode != f->old_mode))
		buf_printf(&run->notes, "%s: mode %06o not applied; apply_patch does not change "
			   "file modes\n", to->shown, f->new_mode);
	ret = 0;
out:
	buf_release(&out);
	buf_release(&why);
	return ret;
}

/* Check one file that is going to be written, before anything is:
 * the write rules on its name and on where its directory really is, and
 * that it is still what was read. */
static int vet(struct run *run, struct fstate *s)
{
	struct ferr fe = FERR_INIT;
	struct buf parent = BUF_INIT, where = BUF_INIT, full = BUF_INIT;
	const char *base = split_rel(s->rel, &parent);
	const char *const *deny;
	size_t ndeny;
	struct stat st;
	int dfd = -1, ret = -1, w;

	deny = deny_list(run, &ndeny);
	if (pathpol_check_write(run->ctx->ws, s->rel, deny, ndeny, &fe) < 0) {
		fail_ferr(run, &fe);
		goto out;
	}
	if (open_dir(run, parent.data, &dfd, &fe) < 0) {
		if (s->act != ACT_CREATE || fe.cls == FERR_DENIED) {
			buf_printf(&run->msg, "%s: ", s->shown);
			fail_ferr(run, &fe);
			goto out;
		}
		/* The write makes the missing directories, each checked by the path
		 * policy; remember which existed, to remove the others on undo. */
		s->dirs_from = 0;
		for (size_t i = 0; i < parent.len; i++) {
			int probe = -1;

			if (parent.data[i] != '/')
				continue;
			parent.data[i] = '\0';
			if (open_dir(run, parent.data, &probe, &fe) == 0) {
				s->dirs_from = i;
				close(probe);
			}
			parent.data[i] = '/';
			if (probe < 0)
				break;
		}
		ret = 0;
		goto out;
	}
	s->dirs_from = parent.len;
	/* A deletion is done by this file, not by the path policy, so it must
	 * know where the directory really is; a write is checked again by
	 * pathpol_write_atomic() anyway. */
	w = dir_where(run, dfd, &where);
	if (w < 0 && s->act == ACT_DELETE) {
		fail(run, TOOL_DENIED, "%s: refused: cannot tell where its directory really is%s\n",
		     s->shown, w == -1 ? " (this system has no /proc)" : "");
		goto out;
	}
	if (w == 0) {
		if (strcmp(where.data, ".") != 0) {
			buf_puts(&full, where.data);
			buf_putc(&full, '/');
		}
		buf_puts(&full, base);
		if (strcmp(full.data, s->rel) != 0 &&
		    pathpol_check_write(run->ctx->ws, full.data, deny, ndeny, &fe) < 0) {
			fail(run, TOOL_DENIED, "%s: resolves to ", s->shown);
			utf8_quote_path(&run->msg, full.data, full.len);
			buf_puts(&run->msg, " through a symbolic link; ");
			fail_ferr(run, &fe);
			goto out;
		}
	}
	if (fstatat(dfd, base, &st, AT_SYMLINK_NOFOLLOW) != 0) {
		if (errno == ENOENT && s->act == ACT_CREATE) {
			ret = 0;
			goto out;
		}
		fail(run, TOOL_FAILED, "%s: changed while the patch was being prepared (%s); try "
		     "again\n", s->shown, strerror(errno));
		goto out;
	}
	if (s->act == ACT_CREATE) {
		fail(run, TOOL_FAILED, "%s: appeared while the patch was being prepared; try again\n",
		     s->shown);
		goto out;
	}
	if (!S_ISREG(st.st_mode) || st.st_dev != s->dev || st.st_ino != s->ino) {
		fail(run, TOOL_FAILED, "%s: changed while the patch was being prepared; try again\n",
		     s->shown);
		goto out;
	}
	if (st.st_nlink > 1) {
		fail(run, TOOL_DENIED, "%s: refused: the file has %ju hard links; writing it would "
		     "change the other names too (rule: hard-linked files are never written)\n",
		     s->shown, (uintmax_t)st.st_nlink);
		goto out;
	}
	if (s->act == ACT_DELETE) {
		s->dirfd = dfd;
		dfd = -1;
	}
	ret = 0;
out:
	if (dfd >= 0)
		close(dfd);
	buf_release(&parent);
	buf_release(&where);
	buf_release(&full);
	return ret;
}

/* Move a file to be deleted out of the way, under a temp name in the
 * same (checked) directory: undone by renaming it back. */
static int tomb_move(struct run *run, struct fstate *s)
{
	struct buf parent = BUF_INIT;
	const char *base = split_rel(s->rel, &parent);
	struct stat st;
	int ret = -1;

	if (fstatat(s->dirfd, base, &st, AT_SYMLINK_NOFOLLOW) != 0 || st.st_dev != s->dev ||
	    st.st_ino != s->ino) {
		fail(run, TOOL_FAILED, "%s: changed while the patch was being applied\n", s->shown);
		goto out;
	}
	for (int i = 0; i < 16; i++) {
		uint64_t r;

		if (getrandom(&r, sizeof r, GRND_NONBLOCK) != (ssize_t)sizeof r)
			r = ((uint64_t)getpid() << 32) ^ (uint64_t)(uintptr_t)s ^ (uint64_t)i;
		snprintf(s->tomb, sizeof s->tomb, TOMB_PREFIX "%016" PRIx64, r);
		if (renameat2(s->dirfd, base, s->dirfd, s->tomb, RENAME_NOREPLACE) == 0) {
			ret = 0;
			goto out;
		}
		if (errno == EEXIST)
			continue;
		if (errno == EINVAL || errno == ENOSYS) {
			/* A file system without RENAME_NOREPLACE: the name is random and
			 * checked just before. */
			if (fstatat(s->dirfd, s->tomb, &st, AT_SYMLINK_NOFOLLOW) == 0)
				continue;
			if (renameat(s->dirfd, base, s->dirfd, s->tomb) == 0) {
				ret = 0;
				goto out;
			}
		}
		break;
	}
	fail(run, TOOL_FAILED, "%s: deleting: %s\n", s->shown, strerror(errno));
out:
	buf_release(&parent);
	return ret;
}

/* Remove the directories the write of s made (pathpol_write_atomic()
 * leaves them, also when it fails), innermost first, while they are empty. */
static void remove_new_dirs(struct run *run, const struct fstate *s)
{
	struct ferr fe = FERR_INIT;
	struct buf parent = BUF_INIT, up = BUF_INIT;

	if (s->act != ACT_CREATE)
		return;
	split_rel(s->rel, &parent);
	while (parent.len > s->dirs_from && strcmp(parent.data, ".") != 0) {
		const char *name = split_rel(parent.data, &up);
		int ufd = -1;

		if (open_dir(run, up.data, &ufd, &fe) < 0)
			break;
		if (unlinkat(ufd, name, AT_REMOVEDIR) != 0) {
			close(ufd);
			break;
		}
		close(ufd);
		buf_truncate(&parent, strcmp(up.data, ".") == 0 ? 0 : up.len);
	}
	buf_release(&up);
	buf_release(&parent);
}

/* Remove a file this call created (only if it is still that file), and
 * the directories made for it that are still empty. */
static int remove_created(struct run *run, struct fstate *s, struct buf *err)
{
	struct ferr fe = FERR_INIT;
	struct buf parent = BUF_INIT;
	const char *base = split_rel(s->rel, &parent);
	struct stat st;
	int dfd = -1, ret = -1;

	if (!s->new_known) {
		buf_puts(err, "cannot tell that it is still the file written");
		goto out;
	}
	if (open_dir(run, parent.data, &dfd, &fe) < 0) {
		utf8_sanitize(err, fe.msg, strlen(fe.msg));
		goto out;
	}
	if (fstatat(dfd, base, &st, AT_SYMLINK_NOFOLLOW) != 0 || st.st_dev != s->new_dev ||
	    st.st_ino != s->new_ino) {
		buf_puts(err, "it changed after it was written");
		goto out;
	}
	if (unlinkat(dfd, base, 0) != 0) {
		buf_puts(err, strerror(errno));
		goto out;
	}
	remove_new_dirs(run, s);
	ret = 0;
out:
	if (dfd >= 0)
		close(dfd);
	buf_release(&parent);
	return ret;
}

static void record_change(struct tool_result *r, const struct fstate *s)
{
	tool_result_add_change(r, s->rel, s->orig_exists, s->orig.data, s->orig.len,
			       (uint32_t)s->mode);
}

/* Put back what commit() did, newest first.  Files that cannot be put
 * back are named in run->msg and recorded as changes of r (with their
 * previous content). */
static void rollback(struct run *run, struct tool_result *r)
{
	struct buf restored = BUF_INIT;
	size_t nrestored = 0;

	for (size_t i = run->nst; i-- > 0;) {
		struct fstate *s = &run->st[i];
		struct ferr fe = FERR_INIT;
		struct buf err = BUF_INIT;
		size_t ndeny;
		const char *const *deny = deny_list(run, &ndeny);
		bool ok;

		if (!s->done || s->act == ACT_DELETE)
			continue;
		if (s->act == ACT_MODIFY) {
			ok = pathpol_write_atomic(run->ctx->ws, s->rel, strlen(s->rel), s->orig.data,
						  s->orig.len, false, deny, ndeny, NULL, &fe) == 0;
			if (!ok)
				utf8_sanitize(&err, fe.msg, strlen(fe.msg));
		} else {
			ok = remove_created(run, s, &err) == 0;
		}
		if (ok) {
			buf_printf(&restored, "%s%s", nrestored++ ? ", " : "", s->shown);
		} else {
			run->undo_failed = true;
			buf_printf(&run->msg, "UNDO FAILED: %s could not be %s: %s. It keeps the "
				   "patched content; its previous content is in the change record.\n",
				   s->shown, s->act == ACT_MODIFY ? "restored" : "removed", err.data);
			record_change(r, s);
		}
		buf_release(&err);
	}
	for (size_t i = run->nst; i-- > 0;) {
		struct fstate *s = &run->st[i];
		struct buf parent = BUF_INIT;
		const char *base = split_rel(s->rel, &parent);

		if (s->done && s->act == ACT_DELETE) {
			if (renameat2(s->dirfd, s->tomb, s->dirfd, base, RENAME_NOREPLACE) == 0) {
				buf_printf(&restored, "%s%s", nrestored++ ? ", " : "", s->shown);
			} else {
				run->undo_failed = true;
				buf_printf(&run->msg, "UNDO FAILED: %s could not be put back (%s); its "
					   "content is in %s%s%s.\n", s->shown, strerror(errno),
					   strcmp(parent.data, ".") ? parent.data : "",
					   strcmp(parent.data, ".") ? "/" : "", s->tomb);
				record_change(r, s);
			}
		}
		buf_release(&parent);
	}
	if (nrestored)
		buf_printf(&run->msg, "Undone: %s.\n", restored.data);
	buf_release(&restored);
}

/* Write everything; on a failure undo what was done and return -1. */
static int commit(struct run *run, struct tool_result *r)
{
	size_t ndeny;
	const char *const *deny = deny_list(run, &ndeny);

	/* Deletions first: a file moved to a temp name is the easiest thing
	 * to put back, and its name is then free (a directory may take it). */
	for (size_t i = 0; i < run->nst; i++) {
		struct fstate *s = &run->st[i];

		if (s->act != ACT_DELETE)
			continue;
		if (tomb_move(run, s) < 0)
			goto undo;
		s->done = true;
	}
	for (size_t i = 0; i < run->nst; i++) {
		struct fstate *s = &run->st[i];
		struct ferr fe = FERR_INIT;
		struct stat st;
		int fd;

		if (s->act != ACT_CREATE && s->act != ACT_MODIFY)
			continue;
		if (pathpol_write_atomic(run->ctx->ws, s->rel, strlen(s->rel), s->cur.data,
					 s->cur.len, s->act == ACT_CREATE, deny, ndeny, NULL,
					 &fe) < 0) {
			buf_printf(&run->msg, "Writing %s failed: ", s->shown);
			fail_ferr(run, &fe);
			remove_new_dirs(run, s);
			goto undo;
		}
		s->done = true;
		if (s->act == ACT_CREATE &&
		    pathpol_open_read(run->ctx->ws, s->rel, strlen(s->rel), false, &fd, &fe) == 0) {
			if (fstat(fd, &st) == 0) {
				s->new_known = true;
				s->new_dev = st.st_dev;
				s->new_ino = st.st_ino;
			}
			close(fd);
		}
	}
	for (size_t i = 0; i < run->nst; i++) {
		struct fstate *s = &run->st[i];

		if (s->act == ACT_DELETE && unlinkat(s->dirfd, s->tomb, 0) != 0)
			buf_printf(&run->notes, "%s: deleted, but its temp name %s could not be "
				   "removed: %s\n", s->shown, s->tomb, strerror(errno));
	}
	return 0;
undo:
	rollback(run, r);
	return -1;
}

/* Each line of notes (each "\n"-terminated), as "note: ..." into out. */
static void put_notes(struct buf *out, const struct buf *notes)
{
	for (const char *p = buf_cstr(notes), *end = p + notes->len; p < end;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) + 1 : (size_t)(end - p);

		buf_puts(out, "note: ");
		buf_add(out, p, n);
		p += n;
	}
}

/* Whether state i was deleted only to become the file another state
 * names (a rename). */
static bool is_rename_source(const struct run *run, size_t i)
{
	if (run->st[i].act != ACT_DELETE)
		return false;
	for (size_t j = 0; j < run->nst; j++)
		if (run->st[j].renamed_from == i + 1 && run->st[j].act == ACT_CREATE)
			return true;
	return false;
}

/* "Patched 2 files:", a line per file (+added -removed), the notes. */
static void summarize(struct run *run, struct buf *out)
{
	struct buf lines = BUF_INIT;
	size_t nfiles = 0;

	for (size_t i = 0; i < run->nst; i++) {
		const struct fstate *s = &run->st[i];
		const struct fstate *from = s->renamed_from ? &run->st[s->renamed_from - 1] : NULL;

		if (s->act == ACT_NONE || is_rename_source(run, i))
			continue;
		nfiles++;
		if (s->act == ACT_CREATE && from && from->act == ACT_DELETE)
			buf_printf(&lines, "  R %s -> %s", from->shown, s->shown);
		else
			buf_printf(&lines, "  %c %s",
				   s->act == ACT_CREATE ? 'A' : s->act == ACT_DELETE ? 'D' : 'M',
				   s->shown);
		buf_printf(&lines, " (+%zu -%zu)\n", s->added, s->removed);
	}
	buf_printf(out, "Patched %zu file%s:\n", nfiles, nfiles == 1 ? "" : "s");
	buf_add(out, buf_cstr(&lines), lines.len);
	buf_release(&lines);
	put_notes(out, &run->notes);
}

/* Keep r->output under cap bytes: its head and its tail, cut at characters. */
static void clamp_output(struct tool_result *r, size_t cap)
{
	struct buf kept = BUF_INIT;
	const char *s = r->output.data;
	size_t len = r->output.len, head, tail, cut;

	if (len <= cap)
		return;
	tail = cap < 128 ? 0 : cap / 4;
	head = cap < 128 ? cap : cap - tail - 64;
	while (head > 0 && ((unsigned char)s[head] & 0xc0) == 0x80)
		head--;
	while (tail > 0 && ((unsigned char)s[len - tail] & 0xc0) == 0x80)
		tail--;
	cut = len - head - tail;
	buf_add(&kept, s, head);
	if (cap >= 128)
		buf_printf(&kept, "\n[... %zu bytes cut ...]\n", cut);
	buf_add(&kept, s + len - tail, tail);
	buf_release(&r->output);
	r->output = kept;
	r->cut_bytes += cut;
}

static void run_release(struct run *run)
{
	for (size_t i = 0; i < run->nst; i++) {
		struct fstate *s = &run->st[i];

		free(s->rel);
		free(s->shown);
		buf_release(&s->orig);
		buf_release(&s->cur);
		if (s->dirfd >= 0)
			close(s->dirfd);
	}
	free(run->st);
	buf_release(&run->notes);
	buf_release(&run->msg);
}

int tool_apply_patch(const struct tool_ctx *ctx, const cJSON *args, struct tool_result *r,
		     struct ferr *e)
{
	const cJSON *arg = cJSON_GetObjectItemCaseSensitive(args, "patch");
	uint64_t out_cap = ctx->max_output_bytes ? ctx->max_output_bytes : DEFAULT_OUTPUT_BYTES;
	uint64_t file_cap = ctx->max_file_bytes ? ctx->max_file_bytes : DEFAULT_FILE_BYTES;
	struct patch patch;
	struct run run;
	struct buf why = BUF_INIT;
	const char *text;
	size_t len, nact = 0;

	(void)e;
	memset(&patch, 0, sizeof patch);
	memset(&run, 0, sizeof run);
	run.ctx = ctx;
	run.file_cap = (size_t)(file_cap > HARD_FILE_BYTES ? HARD_FILE_BYTES : file_cap);
	run.work = WORK_BUDGET;
	run.fail_status = TOOL_FAILED;
	if (out_cap > SIZE_MAX / 4)
		out_cap = SIZE_MAX / 4;

	if (ctx->read_only) {
		fail(&run, TOOL_DENIED, "refused: the sandbox is read-only; apply_patch writes "
		     "files\n");
		goto failed;
	}
	if (!cJSON_IsString(arg) || !arg->valuestring) {
		fail(&run, TOOL_FAILED, "`patch`: required, a string holding a unified diff\n");
		goto failed;
	}
	text = arg->valuestring;
	len = strlen(text);
	if (len > PATCH_MAX_BYTES) {
		fail(&run, TOOL_FAILED, "The patch is %zu bytes; the limit is %zu: split it into "
		     "several calls.\n", len, PATCH_MAX_BYTES);
		goto failed;
	}
	if (patch_parse(text, len, &patch, &why) < 0) {
		fail(&run, TOOL_FAILED, "The patch is malformed: %s\n", buf_cstr(&why));
		goto failed;
	}
	for (size_t i = 0; i < patch.nfiles; i++)
		if (plan_section(&run, &patch.files[i]) < 0)
			goto failed;
	for (size_t i = 0; i < run.nst; i++) {
		struct fstate *s = &run.st[i];

		if (s->orig_exists && !s->cur_exists)
			s->act = ACT_DELETE;
		else if (!s->orig_exists && s->cur_exists)
			s->act = ACT_CREATE;
		else if (s->orig_exists && (s->orig.len != s->cur.len ||
					    memcmp(buf_cstr(&s->orig), buf_cstr(&s->cur),
						   s->orig.len) != 0))
			s->act = ACT_MODIFY;
		nact += s->act != ACT_NONE;
	}
	if (nact == 0) {
		fail(&run, TOOL_FAILED, "The patch changes nothing: every file would stay as it "
		     "is.\n");
		put_notes(&run.msg, &run.notes);
		goto failed;
	}
	for (size_t i = 0; i < run.nst; i++)
		if (run.st[i].act != ACT_NONE && vet(&run, &run.st[i]) < 0)
			goto failed;
	if (commit(&run, r) < 0) {
		r->status = run.fail_status;
		buf_add(&r->output, buf_cstr(&run.msg), run.msg.len);
		if (!run.undo_failed)
			buf_puts(&r->output, "No file was changed.\n");
		goto out;
	}
	for (size_t i = 0; i < run.nst; i++)
		if (run.st[i].act != ACT_NONE)
			record_change(r, &run.st[i]);
	r->status = TOOL_OK;
	summarize(&run, &r->output);
	goto out;
failed:
	r->status = run.fail_status;
	buf_add(&r->output, buf_cstr(&run.msg), run.msg.len);
	buf_puts(&r->output, "No file was changed.\n");
out:
	clamp_output(r, (size_t)out_cap);
	buf_release(&why);
	patch_release(&patch);
	run_release(&run);
	return 0;
}

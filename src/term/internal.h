/*
 * internal.h — what the parts of the term module share and nobody else
 * needs: the lazy libedit loader, the SGR codes and the glyph table.
 */
#ifndef FORJA_TERM_INTERNAL_H
#define FORJA_TERM_INTERNAL_H

#include <stdbool.h>

#include "forja/buf.h"
#include "forja/ferr.h"

/* Load libedit when lazily linked (FORJA_EDIT_SONAME) and resolve every
 * function the editor calls; otherwise nothing to do.  Returns 0, or -1
 * with FERR_IO naming the library and what the loader said.  Later calls
 * return the first call's result. */
int editlib_load(struct ferr *e);

/* SGR sequences, appended only when colour is on. */
#define SGR_RESET "\033[0m"
#define SGR_BOLD "\033[1m"
#define SGR_DIM "\033[2m"
#define SGR_RED "\033[31m"
#define SGR_GREEN "\033[32m"
#define SGR_YELLOW "\033[33m"
#define SGR_CYAN "\033[36m"
#define SGR_BOLD_RED "\033[1;31m"

static inline void term_sgr(struct buf *b, bool color, const char *sgr)
{
	if (color)
		buf_puts(b, sgr);
}

/* One glyph in its UTF-8 and ASCII forms. */
static inline const char *term_glyph(bool utf8, const char *u, const char *ascii)
{
	return utf8 ? u : ascii;
}

/* Bytes at the end of s[0..len) that begin a UTF-8 sequence the next
 * chunk may complete (0-3). */
size_t term_utf8_tail(const char *s, size_t len);

/*
 * The streaming markdown of the answer text (markdown.c).  Text arrives in
 * deltas and is shown as it arrives; only the start of a line is held back
 * while it may still turn out to be a fence (```) or a heading (#), at most
 * a few bytes.  Nothing is ever redrawn, so a span that never closes stays
 * styled to the end of its line.  With colour off the text is passed
 * through unchanged.  Input must be sanitised already.
 */
enum md_state { MD_LINE_START, MD_PARA, MD_HEADING, MD_FENCE_LINE, MD_CODE };

struct md_stream {
	bool color;
	enum md_state state;
	bool in_fence;
	char fence_char;
	struct buf hold;         /* the start of a line, not yet classified */
	bool bold, code_span;    /* inline styles open on this line */
	bool star;               /* a '*' held: it may start "**" */
};

void md_init(struct md_stream *m, bool color);
void md_release(struct md_stream *m);
/* Append the rendering of text[0..len) to out. */
void md_feed(struct md_stream *m, struct buf *out, const char *text, size_t len);
/* Flush what is held and close open styles: the caller ends the line (a
 * tool call or the end of the answer interrupts it).  A fence stays open. */
void md_flush(struct md_stream *m, struct buf *out);
/* Forget everything (a new answer). */
void md_reset(struct md_stream *m);

#endif

/*
 * markdown.c — a light markdown rendering that works on a stream (see
 * internal.h): ``` fences dimmed with their language and the code in a
 * colour of its own, # headings bold, **bold** and `code` spans styled
 * (their markers dropped), everything else (lists, quotes, tables) as the
 * model wrote it.  Never looks back: a line is classified from its first
 * few bytes, and what is printed stays printed.
 */
#include <string.h>

#include "internal.h"

#define SGR_CODE SGR_CYAN

void md_init(struct md_stream *m, bool color)
{
	memset(m, 0, sizeof *m);
	m->color = color;
}

void md_release(struct md_stream *m)
{
	buf_release(&m->hold);
}

void md_reset(struct md_stream *m)
{
	bool color = m->color;
	struct buf hold = m->hold;

	buf_reset(&hold);
	memset(m, 0, sizeof *m);
	m->color = color;
	m->hold = hold;
}

/* Whether the held start of a line may still become a fence or a heading
 * (then wait for more), and if not, what it is. */
enum verdict { UNDECIDED, IS_PARA, IS_HEADING, IS_FENCE, IS_CODE };

static enum verdict classify(const struct md_stream *m, bool line_complete)
{
	const char *p = m->hold.data;
	size_t len = m->hold.len, spaces = 0, run = 0;

	while (spaces < len && p[spaces] == ' ')
		spaces++;
	if (spaces > 3)
		return m->in_fence ? IS_CODE : IS_PARA;
	if (spaces == len)
		return line_complete ? (m->in_fence ? IS_CODE : IS_PARA) : UNDECIDED;
	p += spaces;
	len -= spaces;
	if (p[0] == '`' || p[0] == '~') {
		while (run < len && p[run] == p[0])
			run++;
		if (run >= 3 && (!m->in_fence || p[0] == m->fence_char))
			return IS_FENCE;
		if (run == len && !line_complete)
			return UNDECIDED;
	} else if (p[0] == '#' && !m->in_fence) {
		while (run < len && p[run] == '#')
			run++;
		if (run <= 6 && run < len && p[run] == ' ')
			return IS_HEADING;
		if (run == len && run <= 6 && !line_complete)
			return UNDECIDED;
	}
	return m->in_fence ? IS_CODE : IS_PARA;
}

static void style_on(struct md_stream *m, struct buf *out)
{
	/* after a code span closes, bold may still be open */
	if (m->bold)
		buf_puts(out, SGR_BOLD);
	if (m->code_span)
		buf_puts(out, SGR_CODE);
}

static void para_char(struct md_stream *m, struct buf *out, char c)
{
	if (m->star) {
		m->star = false;
		if (c == '*') {
			m->bold = !m->bold;
			buf_puts(out, SGR_RESET);
			style_on(m, out);
			return;
		}
		buf_putc(out, '*');
	}
	if (c == '`') {
		m->code_span = !m->code_span;
		buf_puts(out, SGR_RESET);
		style_on(m, out);
	} else if (c == '*' && !m->code_span) {
		m->star = true;
	} else {
		buf_putc(out, c);
	}
}

/* End the current line's styles (not the line). */
static void close_line(struct md_stream *m, struct buf *out)
{
	if (m->star) {
		buf_putc(out, '*');
		m->star = false;
	}
	if (m->bold || m->code_span || m->state == MD_HEADING || m->state == MD_FENCE_LINE ||
	    m->state == MD_CODE)
		buf_puts(out, SGR_RESET);
	m->bold = m->code_span = false;
}

static void emit_char(struct md_stream *m, struct buf *out, char c)
{
	if (c == '\n') {
		close_line(m, out);
		if (m->state == MD_FENCE_LINE)
			m->in_fence = !m->in_fence;
		buf_putc(out, '\n');
		m->state = MD_LINE_START;
		return;
	}
	if (m->state == MD_PARA)
		para_char(m, out, c);
	else
		buf_putc(out, c);
}

/* The held start of a line is classified: open its style and replay it. */
static void decide(struct md_stream *m, struct buf *out, enum verdict v)
{
	switch (v) {
	case IS_HEADING:
		m->state = MD_HEADING;
		buf_puts(out, SGR_BOLD);
		break;
	case IS_FENCE: {
		const char *p = m->hold.data;
		while (*p == ' ')
			p++;
		if (!m->in_fence)
			m->fence_char = *p;
		m->state = MD_FENCE_LINE;
		buf_puts(out, SGR_DIM);
		break;
	}
	case IS_CODE:
		m->state = MD_CODE;
		buf_puts(out, SGR_CODE);
		break;
	default:
		m->state = MD_PARA;
		break;
	}
	for (size_t i = 0; i < m->hold.len; i++)
		emit_char(m, out, m->hold.data[i]);
	buf_reset(&m->hold);
}

void md_feed(struct md_stream *m, struct buf *out, const char *text, size_t len)
{
	if (!m->color) {
		buf_add(out, text, len);
		return;
	}
	for (size_t i = 0; i < len; i++) {
		char c = text[i];
		enum verdict v;

		if (m->state != MD_LINE_START) {
			emit_char(m, out, c);
			continue;
		}
		if (c == '\n' && !m->hold.len) {
			buf_putc(out, '\n');
			continue;
		}
		if (c == '\n') {
			v = classify(m, true);
			decide(m, out, v);
			emit_char(m, out, '\n');
			continue;
		}
		buf_putc(&m->hold, c);
		v = classify(m, false);
		if (v != UNDECIDED)
			decide(m, out, v);
	}
}

void md_flush(struct md_stream *m, struct buf *out)
{
	if (!m->color)
		return;
	if (m->state == MD_LINE_START && m->hold.len)
		decide(m, out, classify(m, true));
	close_line(m, out);
	if (m->state == MD_FENCE_LINE)
		m->in_fence = !m->in_fence;
	m->state = MD_LINE_START;
}

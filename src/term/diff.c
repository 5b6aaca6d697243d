/*
 * diff.c — the two ways the terminal shows what a tool call will do or did:
 * a unified diff, coloured and capped, and a command's argv quoted so that
 * what the person reads is exactly what runs.
 */
#include "forja/term.h"

#include <string.h>

#include "forja/utf8.h"
#include "internal.h"

static const char *diff_line_sgr(const char *line, size_t len)
{
	if ((len >= 4 && (memcmp(line, "--- ", 4) == 0 || memcmp(line, "+++ ", 4) == 0)) ||
	    (len == 3 && (memcmp(line, "---", 3) == 0 || memcmp(line, "+++", 3) == 0)) ||
	    (len >= 5 && memcmp(line, "diff ", 5) == 0) ||
	    (len >= 6 && memcmp(line, "index ", 6) == 0) ||
	    (len >= 9 && memcmp(line, "new file ", 9) == 0) ||
	    (len >= 13 && memcmp(line, "deleted file ", 13) == 0))
		return SGR_BOLD;
	if (len >= 2 && memcmp(line, "@@", 2) == 0)
		return SGR_CYAN;
	if (len && line[0] == '-')
		return SGR_RED;
	if (len && line[0] == '+')
		return SGR_GREEN;
	return NULL;
}

void term_diff_render(struct buf *out, const char *diff, size_t len, const char *indent,
		      int max_lines, bool color, bool utf8)
{
	size_t shown = 0, more = 0, pos = 0;

	while (pos < len) {
		const char *line = diff + pos;
		const char *nl = memchr(line, '\n', len - pos);
		size_t line_len = nl ? (size_t)(nl - line) : len - pos;
		const char *sgr;

		pos += line_len + (nl ? 1 : 0);
		if (max_lines > 0 && shown >= (size_t)max_lines) {
			more++;
			continue;
		}
		if (line_len && line[line_len - 1] == '\r')
			line_len--;
		sgr = color ? diff_line_sgr(line, line_len) : NULL;
		buf_puts(out, indent ? indent : "");
		if (sgr)
			buf_puts(out, sgr);
		utf8_sanitize(out, line, line_len);
		if (sgr)
			buf_puts(out, SGR_RESET);
		buf_putc(out, '\n');
		shown++;
	}
	if (more) {
		buf_puts(out, indent ? indent : "");
		term_sgr(out, color, SGR_DIM);
		buf_printf(out, "%s %zu more diff line%s", term_glyph(utf8, "…", "..."), more,
			   more == 1 ? "" : "s");
		term_sgr(out, color, SGR_RESET);
		buf_putc(out, '\n');
	}
}

static bool is_safe_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       strchr("@%+=:,./_-", c);
}

void term_shell_quote(struct buf *out, const char *arg)
{
	const unsigned char *p = (const unsigned char *)arg;
	size_t len = strlen(arg), i;
	bool safe = len > 0, plain = true;

	for (i = 0; i < len; i++) {
		if (!p[i] || !is_safe_char(p[i]))
			safe = false;
		if (p[i] < 0x20 || p[i] == 0x7f)
			plain = false;
	}
	for (i = 0; plain && i < len;) {
		size_t n = utf8_seq_len(p + i, len - i);
		if (!n || (n == 2 && p[i] == 0xc2 && p[i + 1] < 0xa0))
			plain = false;   /* invalid, or a C1 control */
		i += n ? n : 1;
	}
	if (safe) {
		buf_add(out, arg, len);
	} else if (plain) {
		buf_putc(out, '\'');
		for (i = 0; i < len; i++) {
			if (p[i] == '\'')
				buf_puts(out, "'\\''");
			else
				buf_putc(out, (char)p[i]);
		}
		buf_putc(out, '\'');
	} else {
		buf_puts(out, "$'");
		for (i = 0; i < len;) {
			size_t n = utf8_seq_len(p + i, len - i);
			if (p[i] == '\n') {
				buf_puts(out, "\\n");
			} else if (p[i] == '\t') {
				buf_puts(out, "\\t");
			} else if (p[i] == '\\' || p[i] == '\'') {
				buf_putc(out, '\\');
				buf_putc(out, (char)p[i]);
			} else if (!n || p[i] < 0x20 || p[i] == 0x7f ||
				   (n == 2 && p[i] == 0xc2 && p[i + 1] < 0xa0)) {
				/* invalid bytes and C0/C1 controls, byte by byte */
				size_t k = n ? n : 1;
				for (size_t j = 0; j < k; j++)
					buf_printf(out, "\\x%02x", p[i + j]);
				i += k;
				continue;
			} else {
				buf_add(out, p + i, n);
			}
			i += n ? n : 1;
		}
		buf_putc(out, '\'');
	}
}

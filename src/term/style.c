/*
 * style.c — what the terminal can do (colour, UTF-8, width) and the text
 * measures the renderer needs: display width, cutting to a width with an
 * ellipsis, the clock.
 */
#include "forja/term.h"

#include <langinfo.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "forja/utf8.h"
#include "internal.h"

int term_width(int fd)
{
	struct winsize ws;

	if (fd < 0 || ioctl(fd, TIOCGWINSZ, &ws) != 0)
		return 0;
	return ws.ws_col;
}

void term_style_detect(struct term_style *style, FILE *out)
{
	int fd = fileno(out);
	const char *no_color = getenv("NO_COLOR");
	const char *term = getenv("TERM");
	const char *codeset = nl_langinfo(CODESET);

	memset(style, 0, sizeof *style);
	style->is_tty = fd >= 0 && isatty(fd);
	style->color = style->is_tty && !(no_color && *no_color) &&
		       !(term && strcmp(term, "dumb") == 0);
	style->utf8 = codeset && (strcasecmp(codeset, "UTF-8") == 0 ||
				  strcasecmp(codeset, "utf8") == 0);
	style->width = term_width(fd);
}

long long term_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Decode the valid sequence of n bytes at p. */
static uint32_t decode(const unsigned char *p, size_t n)
{
	switch (n) {
	case 1: return p[0];
	case 2: return (uint32_t)(p[0] & 0x1f) << 6 | (p[1] & 0x3f);
	case 3: return (uint32_t)(p[0] & 0x0f) << 12 | (uint32_t)(p[1] & 0x3f) << 6 | (p[2] & 0x3f);
	default:
		return (uint32_t)(p[0] & 0x07) << 18 | (uint32_t)(p[1] & 0x3f) << 12 |
		       (uint32_t)(p[2] & 0x3f) << 6 | (p[3] & 0x3f);
	}
}

/* Columns of one code point: a compact form of wcwidth() that does not
 * depend on the locale. */
static int cp_width(uint32_t c)
{
	static const uint32_t zero[][2] = {
		{ 0x0300, 0x036f }, { 0x0483, 0x0489 }, { 0x0591, 0x05bd }, { 0x0610, 0x061a },
		{ 0x064b, 0x065f }, { 0x200b, 0x200f }, { 0x202a, 0x202e }, { 0x2060, 0x2064 },
		{ 0x20d0, 0x20ff }, { 0xfe00, 0xfe0f }, { 0xfe20, 0xfe2f }, { 0xfeff, 0xfeff },
		{ 0xe0100, 0xe01ef },
	};
	static const uint32_t wide[][2] = {
		{ 0x1100, 0x115f }, { 0x231a, 0x231b }, { 0x2329, 0x232a }, { 0x23e9, 0x23ec },
		{ 0x25fd, 0x25fe }, { 0x2614, 0x2615 }, { 0x2648, 0x2653 }, { 0x26a1, 0x26a1 },
		{ 0x26aa, 0x26ab }, { 0x26bd, 0x26be }, { 0x26c4, 0x26c5 }, { 0x26d4, 0x26d4 },
		{ 0x26ea, 0x26ea }, { 0x26f2, 0x26f5 }, { 0x26fa, 0x26fd }, { 0x2705, 0x2705 },
		{ 0x270a, 0x270b }, { 0x2728, 0x2728 }, { 0x274c, 0x274c }, { 0x2753, 0x2755 },
		{ 0x2757, 0x2757 }, { 0x2795, 0x2797 }, { 0x27b0, 0x27b0 }, { 0x2b1b, 0x2b1c },
		{ 0x2e80, 0x303e }, { 0x3041, 0x33ff }, { 0x3400, 0x4dbf }, { 0x4e00, 0x9fff },
		{ 0xa000, 0xa4cf }, { 0xa960, 0xa97f }, { 0xac00, 0xd7a3 }, { 0xf900, 0xfaff },
		{ 0xfe10, 0xfe19 }, { 0xfe30, 0xfe6f }, { 0xff00, 0xff60 }, { 0xffe0, 0xffe6 },
		{ 0x1f004, 0x1f004 }, { 0x1f0cf, 0x1f0cf }, { 0x1f18e, 0x1f18e }, { 0x1f191, 0x1f19a },
		{ 0x1f200, 0x1f251 }, { 0x1f300, 0x1f64f }, { 0x1f680, 0x1f6ff }, { 0x1f900, 0x1f9ff },
		{ 0x1fa70, 0x1faff }, { 0x20000, 0x3fffd },
	};

	if (c < 0x300)
		return 1;
	for (size_t i = 0; i < sizeof zero / sizeof *zero; i++)
		if (c >= zero[i][0] && c <= zero[i][1])
			return 0;
	for (size_t i = 0; i < sizeof wide / sizeof *wide; i++)
		if (c >= wide[i][0] && c <= wide[i][1])
			return 2;
	return 1;
}

/* Width of the sequence at p (n bytes, 0 when invalid: one column). */
static int seq_width(const unsigned char *p, size_t n)
{
	return n ? cp_width(decode(p, n)) : 1;
}

size_t term_text_width(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t cols = 0;

	for (size_t i = 0; i < len;) {
		size_t n = utf8_seq_len(p + i, len - i);
		cols += (size_t)seq_width(p + i, n);
		i += n ? n : 1;
	}
	return cols;
}

void term_cut(struct buf *out, const char *s, size_t len, int cols, bool utf8)
{
	const unsigned char *p = (const unsigned char *)s;
	const char *ellipsis = utf8 ? "…" : "...";
	int ellipsis_cols = utf8 ? 1 : 3, used = 0;

	if (cols <= 0)
		return;
	if (term_text_width(s, len) <= (size_t)cols) {
		buf_add(out, s, len);
		return;
	}
	if (cols < ellipsis_cols) {
		buf_add(out, "...", (size_t)cols);
		return;
	}
	for (size_t i = 0; i < len;) {
		size_t n = utf8_seq_len(p + i, len - i);
		int w = seq_width(p + i, n);
		if (used + w > cols - ellipsis_cols)
			break;
		buf_add(out, p + i, n ? n : 1);
		used += w;
		i += n ? n : 1;
	}
	buf_puts(out, ellipsis);
}

size_t term_utf8_tail(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;

	for (size_t back = 1; back <= 3 && back <= len; back++) {
		unsigned char c = p[len - back];
		size_t need;
		if ((c & 0xc0) == 0x80)
			continue;        /* a continuation byte: look further back */
		if (c >= 0xf0 && c <= 0xf4)
			need = 4;
		else if (c >= 0xe0 && c < 0xf0)
			need = 3;
		else if (c >= 0xc2 && c < 0xe0)
			need = 2;
		else
			return 0;
		return need > back ? back : 0;
	}
	return 0;
}

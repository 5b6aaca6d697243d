/*
 * utf8.c — UTF-8 validation, git-style path quoting and text sanitising
 * (see include/forja/utf8.h for the rules).
 */
#include "forja/utf8.h"

#include <string.h>

size_t utf8_seq_len(const unsigned char *s, size_t avail)
{
	unsigned char c = s[0];
	size_t n;
	unsigned cp;

	if (c < 0x80)
		return 1;
	if (c < 0xc2)
		return 0;
	if (c < 0xe0) {
		n = 2;
		cp = c & 0x1f;
	} else if (c < 0xf0) {
		n = 3;
		cp = c & 0x0f;
	} else if (c < 0xf5) {
		n = 4;
		cp = c & 0x07;
	} else {
		return 0;
	}
	if (avail < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10ffff ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

bool utf8_is_valid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;

	for (size_t i = 0; i < len;) {
		size_t n = utf8_seq_len(p + i, len - i);
		if (!n)
			return false;
		i += n;
	}
	return true;
}

/* C1 controls (U+0080..U+009F) move terminals around as C0 ones do. */
static bool is_c1(const unsigned char *p, size_t n)
{
	return n == 2 && p[0] == 0xc2 && p[1] < 0xa0;
}

static bool path_needs_quoting(const unsigned char *p, size_t len)
{
	for (size_t i = 0; i < len;) {
		if (p[i] < 0x20 || p[i] == 0x7f || p[i] == '"' || p[i] == '\\')
			return true;
		size_t n = utf8_seq_len(p + i, len - i);
		if (!n || is_c1(p + i, n))
			return true;
		i += n;
	}
	return false;
}

void utf8_quote_path(struct buf *out, const char *path, size_t len)
{
	const unsigned char *p = (const unsigned char *)path;

	if (!path_needs_quoting(p, len)) {
		buf_add(out, path, len);
		return;
	}
	buf_putc(out, '"');
	for (size_t i = 0; i < len;) {
		static const char esc_from[] = "\"\\\t\n\r\a\b\f\v";
		static const char esc_to[] = "\"\\tnrabfv";
		const char *hit = p[i] ? strchr(esc_from, p[i]) : NULL;
		size_t n;

		if (hit) {
			buf_putc(out, '\\');
			buf_putc(out, esc_to[hit - esc_from]);
			i++;
		} else if (p[i] < 0x20 || p[i] == 0x7f || !(n = utf8_seq_len(p + i, len - i))) {
			buf_printf(out, "\\%03o", p[i]);
			i++;
		} else if (is_c1(p + i, n)) {
			buf_printf(out, "\\%03o\\%03o", p[i], p[i + 1]);
			i += 2;
		} else {
			buf_add(out, p + i, n);
			i += n;
		}
	}
	buf_putc(out, '"');
}

char *utf8_path_dup(const char *path, size_t len)
{
	struct buf b = BUF_INIT;

	utf8_quote_path(&b, path, len);
	return buf_steal(&b);
}

void utf8_sanitize(struct buf *out, const char *text, size_t len)
{
	const unsigned char *p = (const unsigned char *)text;

	buf_grow(out, len);
	for (size_t i = 0; i < len;) {
		size_t n = utf8_seq_len(p + i, len - i);
		if (!n) {
			buf_puts(out, "\xef\xbf\xbd");
			i++;
		} else if (n == 1 && ((p[i] < 0x20 && p[i] != '\t' && p[i] != '\n') || p[i] == 0x7f)) {
			i++;
		} else if (is_c1(p + i, n)) {
			i += 2;
		} else {
			buf_add(out, p + i, n);
			i += n;
		}
	}
}

char *utf8_text_dup(const char *text, size_t len)
{
	struct buf b = BUF_INIT;

	utf8_sanitize(&b, text, len);
	return buf_steal(&b);
}

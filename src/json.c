/*
 * json.c — JSON string literals for the hot paths (see include/forja/json.h).
 */
#include "forja/json.h"

#include "forja/utf8.h"

void json_put_string(struct buf *b, const char *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, run = 0;

	buf_grow(b, len + 2);
	buf_putc(b, '"');
	while (i < len) {
		unsigned char c = p[i];
		if (c >= 0x20 && c != '"' && c != '\\' && c < 0x80) {
			i++;
			run++;
			continue;
		}
		buf_add(b, p + i - run, run);
		run = 0;
		if (c == '"' || c == '\\') {
			buf_putc(b, '\\');
			buf_putc(b, (char)c);
			i++;
		} else if (c < 0x20) {
			switch (c) {
			case '\n': buf_puts(b, "\\n"); break;
			case '\r': buf_puts(b, "\\r"); break;
			case '\t': buf_puts(b, "\\t"); break;
			default: {
				char u[7] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15], 0 };
				buf_puts(b, u);
			}
			}
			i++;
		} else {
			size_t n = utf8_seq_len(p + i, len - i);
			if (n) {
				buf_add(b, p + i, n);
				i += n;
			} else {
				buf_puts(b, "\xef\xbf\xbd");
				i++;
			}
		}
	}
	buf_add(b, p + i - run, run);
	buf_putc(b, '"');
}

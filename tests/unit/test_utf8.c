/* utf8: validation, git-style path quoting, text sanitising. */
#include <stdlib.h>

#include "forja/utf8.h"
#include "tap.h"

static void quote_is(const char *in, size_t len, const char *want, const char *name)
{
	char *got = utf8_path_dup(in, len);
	tap_is_str(got, want, name);
	free(got);
}

static void text_is(const char *in, size_t len, const char *want, const char *name)
{
	char *got = utf8_text_dup(in, len);
	tap_is_str(got, want, name);
	free(got);
}

int main(void)
{
	tap_ok(utf8_is_valid("", 0), "empty is valid");
	tap_ok(utf8_is_valid("caf\xc3\xa9", 5), "two-byte sequence");
	tap_ok(utf8_is_valid("\xf0\x9f\x98\x80", 4), "four-byte sequence");
	tap_ok(!utf8_is_valid("\xc3", 1), "truncated sequence");
	tap_ok(!utf8_is_valid("\xc0\xaf", 2), "overlong slash");
	tap_ok(!utf8_is_valid("\xe0\x80\xaf", 3), "overlong three-byte");
	tap_ok(!utf8_is_valid("\xed\xa0\x80", 3), "UTF-16 surrogate");
	tap_ok(!utf8_is_valid("\xf4\x90\x80\x80", 4), "above U+10FFFF");
	tap_ok(!utf8_is_valid("\xff", 1), "0xff byte");
	tap_ok(!utf8_is_valid("a\x80z", 3), "lone continuation byte");

	quote_is("src/main.c", 10, "src/main.c", "plain path unchanged");
	quote_is("caf\xc3\xa9.txt", 9, "caf\xc3\xa9.txt", "valid UTF-8 unchanged");
	quote_is("bad\xffname", 8, "\"bad\\377name\"", "invalid byte octal-escaped and quoted");
	quote_is("new\nline", 8, "\"new\\nline\"", "newline escaped");
	quote_is("tab\there", 8, "\"tab\\there\"", "tab escaped");
	quote_is("a\"b", 3, "\"a\\\"b\"", "double quote escaped");
	quote_is("a\\b", 3, "\"a\\\\b\"", "backslash escaped");
	quote_is("\x1b[31mred", 8, "\"\\033[31mred\"", "escape sequence neutralised");
	quote_is("c1\xc2\x9b", 4, "\"c1\\302\\233\"", "C1 control (CSI) escaped");
	quote_is("nul\0byte", 8, "\"nul\\000byte\"", "NUL byte escaped");

	text_is("plain text", 10, "plain text", "text unchanged");
	text_is("bad\xff" "byte", 8, "bad\xef\xbf\xbd" "byte", "invalid byte becomes U+FFFD");
	text_is("bell\a!", 6, "bell!", "control characters dropped");
	text_is("keep\ttab\nnewline", 16, "keep\ttab\nnewline", "tab and newline kept");
	text_is("\x1b[2Jclear", 9, "[2Jclear", "ESC dropped");
	text_is("\xe2\x82", 2, "\xef\xbf\xbd\xef\xbf\xbd", "truncated sequence replaced byte by byte");

	/* every byte value alone: never crashes, always valid output */
	int all_valid = 1;
	for (int c = 0; c < 256; c++) {
		char in = (char)c;
		char *p = utf8_path_dup(&in, 1), *t = utf8_text_dup(&in, 1);
		all_valid &= utf8_is_valid(p, strlen(p)) && utf8_is_valid(t, strlen(t));
		free(p);
		free(t);
	}
	tap_ok(all_valid, "every single byte yields valid UTF-8");
	return tap_done();
}

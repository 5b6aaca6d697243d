/*
 * jsonc.c — JSON with comments: a strict scanner validates the text, blanks
 * the comments in a copy and records where each value starts; cJSON builds
 * the tree from the copy; a walk pairs items with records, which gives
 * positions, paths and duplicate-key checks.  See include/forja/jsonc.h.
 */
#include "forja/jsonc.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "forja/opt.h"
#include "forja/utf8.h"

/* Offsets fit in 32 bits because of the size limit. */
_Static_assert(JSONC_MAX_SIZE < UINT32_MAX, "offsets are 32-bit");
_Static_assert(JSONC_MAX_VALUES < UINT32_MAX, "record indices are 32-bit");

#define NONE UINT32_MAX
/* cJSON 1.7 copies a number into a 64-byte buffer before strtod. */
#define NUMBER_MAX_LEN 63
/* How much of a key or value a message quotes. */
#define SHOW_MAX 48

/* Where one value is in the source, in source (pre-)order. */
struct jsonc_rec {
	const cJSON *item;
	uint32_t key_off; /* the key's opening quote, NONE unless an object member */
	uint32_t val_off; /* the value's first byte */
	uint32_t parent;  /* record index, NONE for the root */
	uint32_t index;   /* position among the parent's members or elements */
};

struct jsonc_ptr {
	const cJSON *item;
	uint32_t rec;
};

struct jsonc_doc {
	char *name;    /* display form */
	char *src;     /* the text as given, NUL-terminated */
	size_t len;
	size_t body;   /* 3 after a byte order mark, else 0 */
	cJSON *root;
	struct jsonc_rec *recs;
	size_t nrecs, cap_recs;
	struct jsonc_ptr *by_item; /* sorted by item address */
	uint32_t *lines;           /* offset where each line starts */
	size_t nlines;
};

/* ---- positions and messages ---- */

static void line_col(const struct jsonc_doc *doc, size_t off, int *line, int *col)
{
	size_t lo = 0, hi = doc->nlines, start;
	int c = 1;

	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;
		if (doc->lines[mid] <= off)
			lo = mid;
		else
			hi = mid;
	}
	start = doc->lines[lo];
	if (lo == 0 && start < doc->body)
		start = doc->body;
	for (size_t i = start; i < off; i++)
		if (((unsigned char)doc->src[i] & 0xc0) != 0x80)
			c++;
	*line = (int)lo + 1;
	*col = c;
}

static int verror_at_off(const struct jsonc_doc *doc, size_t off, struct ferr *e,
			 const char *fmt, va_list ap)
{
	struct buf msg = BUF_INIT;

	if (off == NONE) {
		buf_printf(&msg, "%s: ", doc->name);
	} else {
		int line, col;
		line_col(doc, off, &line, &col);
		buf_printf(&msg, "%s:%d:%d: ", doc->name, line, col);
	}
	buf_vprintf(&msg, fmt, ap);
	ferr_set(e, FERR_CONFIG, "%s", buf_cstr(&msg));
	buf_release(&msg);
	return -1;
}

static int error_at_off(const struct jsonc_doc *doc, size_t off, struct ferr *e,
			const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int error_at_off(const struct jsonc_doc *doc, size_t off, struct ferr *e,
			const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	verror_at_off(doc, off, e, fmt, ap);
	va_end(ap);
	return -1;
}

/* How many of the len bytes at s to show: at most SHOW_MAX, cut on a
 * character boundary. */
static size_t show_len(const char *s, size_t len)
{
	if (len <= SHOW_MAX)
		return len;
	len = SHOW_MAX;
	while (len > 0 && ((unsigned char)s[len] & 0xc0) == 0x80)
		len--;
	return len;
}

/* The letter of JSON's short escape for control character c ('n' for
 * "\n"), or 0. */
static char short_escape(unsigned char c)
{
	static const char letters[] = "btn\0fr";

	return c >= 8 && c <= 13 ? letters[c - 8] : 0;
}

/* Append s (len bytes, valid UTF-8) as a JSON string, shortened with "..."
 * past SHOW_MAX bytes when shorten is set. */
static void put_quoted(struct buf *b, const char *s, size_t len, bool shorten)
{
	size_t n = shorten ? show_len(s, len) : len;

	buf_putc(b, '"');
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '"' || c == '\\')
			buf_printf(b, "\\%c", c);
		else if (short_escape(c))
			buf_printf(b, "\\%c", short_escape(c));
		else if (c < 0x20 || c == 0x7f)
			buf_printf(b, "\\u%04x", c);
		else
			buf_putc(b, (char)c);
	}
	if (n < len)
		buf_puts(b, "...");
	buf_putc(b, '"');
}

/* Length of the source token at off: a whole string with its quotes, a
 * number, a word, else one byte.  Only used on text the scanner passed. */
static size_t token_len(const char *s, size_t len, size_t off)
{
	size_t i = off;

	if (i >= len)
		return 0;
	if (s[i] == '"') {
		for (i++; i < len && s[i] != '"'; i++)
			if (s[i] == '\\' && i + 1 < len)
				i++;
		return (i < len ? i + 1 : len) - off;
	}
	while (i < len && (strchr("+-._", s[i]) || (s[i] >= '0' && s[i] <= '9') ||
			   (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z')))
		i++;
	return i > off ? i - off : 1;
}

/* Append the source token at off as written, shortened. */
static void put_token(struct buf *b, const struct jsonc_doc *doc, size_t off)
{
	size_t n = token_len(doc->src, doc->len, off);
	size_t shown = show_len(doc->src + off, n);

	buf_add(b, doc->src + off, shown);
	if (shown < n)
		buf_puts(b, "...");
}

/* ---- the scanner ---- */

struct scan {
	struct jsonc_doc *doc;
	const unsigned char *s; /* doc->src */
	char *out;              /* the copy cJSON reads: comments blanked */
	size_t len;
	size_t pos;
	uint32_t open;          /* offset of the innermost open '{' or '[', or NONE */
	struct ferr *e;
};

static int scan_error(struct scan *sc, size_t off, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int scan_error(struct scan *sc, size_t off, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	verror_at_off(sc->doc, off, sc->e, fmt, ap);
	va_end(ap);
	return -1;
}

/* Length of the character at off, or 0 after reporting the NUL byte or
 * invalid UTF-8 there.  where says "in a string", "in a comment" or "". */
static size_t scan_char(struct scan *sc, size_t off, const char *where)
{
	size_t n;

	if (sc->s[off] == '\0') {
		scan_error(sc, off, "NUL byte%s%s (the file must be text)", *where ? " " : "", where);
		return 0;
	}
	n = utf8_seq_len(sc->s + off, sc->len - off);
	if (!n)
		scan_error(sc, off, "invalid UTF-8%s%s (byte 0x%02X)", *where ? " " : "", where,
			   sc->s[off]);
	return n;
}

/* Describe what is at off for "found ...". */
static void describe(struct scan *sc, size_t off, struct buf *b)
{
	const unsigned char *s = sc->s;
	unsigned char c = s[off];
	size_t n;

	if (c == '"') {
		buf_puts(b, "a string");
	} else if (c == '-' || (c >= '0' && c <= '9')) {
		buf_puts(b, "a number");
	} else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_') {
		buf_putc(b, '\'');
		put_token(b, sc->doc, off);
		buf_putc(b, '\'');
	} else if (c == '\'') {
		buf_puts(b, "a single quote (JSON strings take double quotes)");
	} else if (c < 0x20 || c == 0x7f) {
		buf_printf(b, "a control character (U+%04X)", c);
	} else if (c < 0x80) {
		buf_printf(b, "'%c'", c);
	} else {
		unsigned cp;
		n = utf8_seq_len(s + off, sc->len - off);
		cp = c & (0x7f >> n);
		for (size_t i = 1; i < n; i++)
			cp = (cp << 6) | (s[off + i] & 0x3f);
		buf_printf(b, "'%.*s' (U+%04X)", (int)n, (const char *)s + off, cp);
	}
}

/*
 * Report that what was expected is not at off: "expected <what>[ <key>],
 * found <thing>", or "unexpected end of file; expected ..." at the end.
 */
static int unexpected(struct scan *sc, size_t off, const char *what, uint32_t key_off)
{
	struct buf msg = BUF_INIT;
	int line, col;

	if (off < sc->len && (sc->s[off] == '\0' || sc->s[off] >= 0x80) && !scan_char(sc, off, ""))
		return -1;
	if (off >= sc->len)
		buf_puts(&msg, "unexpected end of file; ");
	buf_printf(&msg, "expected %s", what);
	if (key_off != NONE) {
		buf_putc(&msg, ' ');
		put_token(&msg, sc->doc, key_off);
	}
	if (off < sc->len) {
		buf_puts(&msg, ", found ");
		describe(sc, off, &msg);
	} else if (sc->open != NONE) {
		line_col(sc->doc, sc->open, &line, &col);
		buf_printf(&msg, " (the %s opened at line %d, column %d is not closed)",
			   sc->s[sc->open] == '{' ? "object" : "array", line, col);
	}
	scan_error(sc, off, "%s", buf_cstr(&msg));
	buf_release(&msg);
	return -1;
}

/* Skip whitespace and comments, blanking the comments in sc->out. */
static int skip_space(struct scan *sc)
{
	const unsigned char *s = sc->s;
	size_t n, start;

	while (sc->pos < sc->len) {
		unsigned char c = s[sc->pos];
		if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
			sc->pos++;
			continue;
		}
		if (c != '/')
			return 0;
		start = sc->pos;
		if (start + 1 < sc->len && s[start + 1] == '/') {
			while (sc->pos < sc->len && s[sc->pos] != '\n') {
				if (!(n = scan_char(sc, sc->pos, "in a comment")))
					return -1;
				memset(sc->out + sc->pos, ' ', n);
				sc->pos += n;
			}
		} else if (start + 1 < sc->len && s[start + 1] == '*') {
			memset(sc->out + start, ' ', 2);
			sc->pos += 2;
			for (;;) {
				if (sc->pos >= sc->len)
					return scan_error(sc, start,
							  "unterminated comment: no '*/' closes this '/*'");
				if (s[sc->pos] == '*' && sc->pos + 1 < sc->len && s[sc->pos + 1] == '/') {
					memset(sc->out + sc->pos, ' ', 2);
					sc->pos += 2;
					break;
				}
				if (s[sc->pos] == '\n') {
					sc->pos++;
					continue;
				}
				if (!(n = scan_char(sc, sc->pos, "in a comment")))
					return -1;
				memset(sc->out + sc->pos, ' ', n);
				sc->pos += n;
			}
		} else {
			return scan_error(sc, start, "unexpected '/': a comment starts with // or /*");
		}
	}
	return 0;
}

static int hex4(const unsigned char *s, size_t avail)
{
	int v = 0;

	if (avail < 4)
		return -1;
	for (int i = 0; i < 4; i++) {
		unsigned char c = s[i];
		int d = c >= '0' && c <= '9' ? c - '0'
		      : c >= 'a' && c <= 'f' ? c - 'a' + 10
		      : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
		if (d < 0)
			return -1;
		v = v * 16 + d;
	}
	return v;
}

/* The backslash at sc->pos starts an escape; check it and step over it. */
static int scan_escape(struct scan *sc, size_t start)
{
	const unsigned char *s = sc->s;
	size_t esc = sc->pos;
	int cp, low;

	if (esc + 1 >= sc->len)
		return scan_error(sc, start, "unterminated string");
	switch (s[esc + 1]) {
	case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
		sc->pos += 2;
		return 0;
	case 'u':
		break;
	default:
		if (s[esc + 1] > 0x20 && s[esc + 1] < 0x7f)
			return scan_error(sc, esc,
					  "invalid escape '\\%c' in a string; the escapes are "
					  "\\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX",
					  s[esc + 1]);
		return scan_error(sc, esc, "invalid escape: a backslash must be followed by one of "
				  "\" \\ / b f n r t u");
	}
	cp = hex4(s + esc + 2, sc->len - esc - 2);
	if (cp < 0)
		return scan_error(sc, esc, "invalid escape: \\u takes four hex digits");
	if (cp == 0)
		return scan_error(sc, esc, "\\u0000 (a NUL character) is not allowed in a string");
	if (cp >= 0xdc00 && cp <= 0xdfff)
		return scan_error(sc, esc, "invalid escape \\u%04X: a low surrogate with no high "
				  "surrogate before it", (unsigned)cp);
	sc->pos += 6;
	if (cp >= 0xd800 && cp <= 0xdbff) {
		low = sc->pos + 1 < sc->len && s[sc->pos] == '\\' && s[sc->pos + 1] == 'u'
			? hex4(s + sc->pos + 2, sc->len - sc->pos - 2) : -1;
		if (low < 0xdc00 || low > 0xdfff)
			return scan_error(sc, esc, "invalid escape \\u%04X: a high surrogate must be "
					  "followed by a low one (\\uDC00 to \\uDFFF)", (unsigned)cp);
		sc->pos += 6;
	}
	return 0;
}

/* A string starts at sc->pos; step over it. */
static int scan_string(struct scan *sc)
{
	const unsigned char *s = sc->s;
	size_t start = sc->pos++, n;

	for (;;) {
		if (sc->pos >= sc->len)
			return scan_error(sc, start, "unterminated string");
		unsigned char c = s[sc->pos];
		if (c == '"') {
			sc->pos++;
			return 0;
		}
		if (c == '\\') {
			if (scan_escape(sc, start) < 0)
				return -1;
			continue;
		}
		if (c == '\n' || c == '\r')
			return scan_error(sc, start, "unterminated string: the line ends before the "
					  "closing quote");
		if (c < 0x20 && c != 0) {
			if (short_escape(c))
				return scan_error(sc, sc->pos, "control character U+%04X in a string; "
						  "write it as \\%c", c, short_escape(c));
			return scan_error(sc, sc->pos, "control character U+%04X in a string; write "
					  "it as \\u%04X", c, c);
		}
		if (!(n = scan_char(sc, sc->pos, "in a string")))
			return -1;
		sc->pos += n;
	}
}

static bool is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static bool is_word_char(unsigned char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static int bad_number(struct scan *sc, size_t start, const char *why)
{
	struct buf tok = BUF_INIT;

	put_token(&tok, sc->doc, start);
	scan_error(sc, start, "invalid number '%s'%s%s", buf_cstr(&tok), *why ? ": " : "", why);
	buf_release(&tok);
	return -1;
}

/* A number (or something trying to be one: '+', '.') starts at sc->pos. */
static int scan_number(struct scan *sc)
{
	const unsigned char *s = sc->s;
	size_t start = sc->pos, p = start, len = sc->len;

	if (s[p] == '+' || s[p] == '.')
		return bad_number(sc, start, "a number starts with a digit or '-'");
	if (s[p] == '-')
		p++;
	if (p < len && s[p] == '0') {
		p++;
		if (p < len && is_digit(s[p]))
			return bad_number(sc, start, "leading zeros are not allowed");
	} else if (p < len && is_digit(s[p])) {
		while (p < len && is_digit(s[p]))
			p++;
	} else {
		return bad_number(sc, start, "expected a digit after '-'");
	}
	if (p < len && s[p] == '.') {
		p++;
		if (p >= len || !is_digit(s[p]))
			return bad_number(sc, start, "expected a digit after '.'");
		while (p < len && is_digit(s[p]))
			p++;
	}
	if (p < len && (s[p] == 'e' || s[p] == 'E')) {
		p++;
		if (p < len && (s[p] == '+' || s[p] == '-'))
			p++;
		if (p >= len || !is_digit(s[p]))
			return bad_number(sc, start, "expected a digit in the exponent");
		while (p < len && is_digit(s[p]))
			p++;
	}
	if (p < len && (is_word_char(s[p]) || s[p] == '.' || s[p] == '+' || s[p] == '-'))
		return bad_number(sc, start, "");
	if (p - start > NUMBER_MAX_LEN)
		return scan_error(sc, start, "number too long (more than %d characters)",
				  NUMBER_MAX_LEN);
	sc->pos = p;
	return 0;
}

/* A word (letters, digits, '_') starts at sc->pos: true, false or null. */
static int scan_word(struct scan *sc)
{
	static const char *const literals[] = { "true", "false", "null" };
	const unsigned char *s = sc->s;
	size_t start = sc->pos, p = start;
	struct buf word = BUF_INIT;
	const char *hint;

	while (p < sc->len && is_word_char(s[p]))
		p++;
	for (size_t i = 0; i < 3; i++) {
		if (p - start == strlen(literals[i]) &&
		    memcmp(s + start, literals[i], p - start) == 0) {
			sc->pos = p;
			return 0;
		}
	}
	buf_add(&word, s + start, p - start);
	hint = opt_suggest(buf_cstr(&word), literals, 3);
	buf_reset(&word);
	put_token(&word, sc->doc, start);
	if (hint)
		scan_error(sc, start, "invalid value '%s'; did you mean '%s'?", buf_cstr(&word),
			   hint);
	else
		scan_error(sc, start, "invalid value '%s' (a string needs double quotes; the "
			   "literals are true, false and null)", buf_cstr(&word));
	buf_release(&word);
	return -1;
}

static int push_rec(struct scan *sc, uint32_t key_off, uint32_t parent, uint32_t index,
		    uint32_t *rec)
{
	struct jsonc_doc *doc = sc->doc;

	if (doc->nrecs >= JSONC_MAX_VALUES)
		return scan_error(sc, sc->pos, "too many values (the limit is %d)",
				  JSONC_MAX_VALUES);
	if (doc->nrecs == doc->cap_recs) {
		doc->cap_recs = doc->cap_recs ? doc->cap_recs * 2 : 64;
		doc->recs = xrealloc(doc->recs, doc->cap_recs * sizeof *doc->recs);
	}
	doc->recs[doc->nrecs] = (struct jsonc_rec){ NULL, key_off, (uint32_t)sc->pos, parent,
						    index };
	*rec = (uint32_t)doc->nrecs++;
	return 0;
}

static int scan_value(struct scan *sc, int depth, uint32_t key_off, uint32_t parent,
		      uint32_t index, const char *what);

/* After a ',' in a container closed by close: a trailing comma is the one
 * mistake worth its own message. */
static int after_comma(struct scan *sc, char close)
{
	size_t comma = sc->pos++;

	if (skip_space(sc) < 0)
		return -1;
	if (sc->pos < sc->len && sc->s[sc->pos] == (unsigned char)close)
		return scan_error(sc, comma, "trailing comma before '%c'", close);
	return 0;
}

static int scan_object(struct scan *sc, int depth, uint32_t rec)
{
	const unsigned char *s = sc->s;

	sc->pos++;
	if (skip_space(sc) < 0)
		return -1;
	if (sc->pos < sc->len && s[sc->pos] == '}') {
		sc->pos++;
		return 0;
	}
	for (uint32_t i = 0;; i++) {
		uint32_t key = (uint32_t)sc->pos;
		if (sc->pos >= sc->len || s[sc->pos] != '"')
			return unexpected(sc, sc->pos, i ? "a key in double quotes after ','"
						       : "a key in double quotes or '}'", NONE);
		if (scan_string(sc) < 0 || skip_space(sc) < 0)
			return -1;
		if (sc->pos >= sc->len || s[sc->pos] != ':')
			return unexpected(sc, sc->pos, "':' after the key", key);
		sc->pos++;
		if (scan_value(sc, depth, key, rec, i, "the value of") < 0 || skip_space(sc) < 0)
			return -1;
		if (sc->pos < sc->len && s[sc->pos] == ',') {
			if (after_comma(sc, '}') < 0)
				return -1;
			continue;
		}
		if (sc->pos < sc->len && s[sc->pos] == '}') {
			sc->pos++;
			return 0;
		}
		return unexpected(sc, sc->pos, "',' or '}' after the value of", key);
	}
}

static int scan_array(struct scan *sc, int depth, uint32_t rec)
{
	const unsigned char *s = sc->s;
	uint32_t owner = sc->doc->recs[rec].key_off;

	sc->pos++;
	if (skip_space(sc) < 0)
		return -1;
	if (sc->pos < sc->len && s[sc->pos] == ']') {
		sc->pos++;
		return 0;
	}
	for (uint32_t i = 0;; i++) {
		if (scan_value(sc, depth, NONE, rec, i, i ? "a value after ','" : "a value or ']'") < 0 ||
		    skip_space(sc) < 0)
			return -1;
		if (sc->pos < sc->len && s[sc->pos] == ',') {
			if (after_comma(sc, ']') < 0)
				return -1;
			continue;
		}
		if (sc->pos < sc->len && s[sc->pos] == ']') {
			sc->pos++;
			return 0;
		}
		return unexpected(sc, sc->pos, owner == NONE ? "',' or ']' after an array element"
						       : "',' or ']' after an element of", owner);
	}
}

/*
 * A value is expected at sc->pos (after whitespace): record it and step
 * over it.  depth counts the containers around it; what and key_off say
 * what was expected, for the message when something else is there.
 */
static int scan_value(struct scan *sc, int depth, uint32_t key_off, uint32_t parent,
		      uint32_t index, const char *what)
{
	uint32_t rec, outer;
	unsigned char c;
	int rc;

	if (skip_space(sc) < 0)
		return -1;
	if (sc->pos >= sc->len)
		return unexpected(sc, sc->pos, what, key_off);
	c = sc->s[sc->pos];
	if (c == '{' || c == '[') {
		if (depth >= JSONC_MAX_DEPTH)
			return scan_error(sc, sc->pos, "nested too deeply (the limit is %d levels of "
					  "objects and arrays)", JSONC_MAX_DEPTH);
		if (push_rec(sc, key_off, parent, index, &rec) < 0)
			return -1;
		outer = sc->open;
		sc->open = (uint32_t)sc->pos;
		rc = c == '{' ? scan_object(sc, depth + 1, rec) : scan_array(sc, depth + 1, rec);
		sc->open = outer;
		return rc;
	}
	if (c == '"' || c == '-' || c == '+' || c == '.' || is_digit(c) || is_word_char(c)) {
		if (push_rec(sc, key_off, parent, index, &rec) < 0)
			return -1;
		return c == '"' ? scan_string(sc) : is_word_char(c) && !is_digit(c) ? scan_word(sc)
			: scan_number(sc);
	}
	return unexpected(sc, sc->pos, what, key_off);
}

static int scan_document(struct scan *sc)
{
	const unsigned char *s = sc->s;

	if (sc->len >= 2 && ((s[0] == 0xff && s[1] == 0xfe) || (s[0] == 0xfe && s[1] == 0xff)))
		return scan_error(sc, 0, "the file is UTF-16; save it as UTF-8");
	if (sc->doc->body) {
		memset(sc->out, ' ', sc->doc->body);
		sc->pos = sc->doc->body;
	}
	if (skip_space(sc) < 0)
		return -1;
	if (sc->pos >= sc->len)
		return scan_error(sc, sc->doc->body, "empty document; expected a JSON value such "
				  "as {}");
	if (scan_value(sc, 0, NONE, NONE, 0, "a value") < 0 || skip_space(sc) < 0)
		return -1;
	if (sc->pos < sc->len)
		return unexpected(sc, sc->pos, "the end of the file after the top-level value",
				  NONE);
	return 0;
}

/* ---- pairing the cJSON tree with the records ---- */

struct key_rec {
	const char *key;
	uint32_t rec;
};

/* The earliest second occurrence of a key, over the whole document. */
struct dup {
	uint32_t second, first;
};

static int cmp_key_rec(const void *a, const void *b)
{
	const struct key_rec *x = a, *y = b;
	int c = strcmp(x->key, y->key);

	return c ? c : x->rec < y->rec ? -1 : x->rec > y->rec;
}

static void find_duplicate(struct key_rec *keys, size_t n, struct dup *dup)
{
	qsort(keys, n, sizeof *keys, cmp_key_rec);
	for (size_t i = 1, group = 0; i < n; i++) {
		if (strcmp(keys[i].key, keys[group].key) != 0) {
			group = i;
			continue;
		}
		if (i == group + 1 && keys[i].rec < dup->second) {
			dup->second = keys[i].rec;
			dup->first = keys[group].rec;
		}
	}
}

static bool item_matches(const cJSON *item, const struct jsonc_doc *doc,
			 const struct jsonc_rec *rec)
{
	unsigned char c = (unsigned char)doc->src[rec->val_off];
	bool type_ok = c == '{' ? cJSON_IsObject(item)
		     : c == '[' ? cJSON_IsArray(item)
		     : c == '"' ? cJSON_IsString(item)
		     : c == 't' ? cJSON_IsTrue(item)
		     : c == 'f' ? cJSON_IsFalse(item)
		     : c == 'n' ? cJSON_IsNull(item)
		     : cJSON_IsNumber(item);

	return type_ok && (item->string != NULL) == (rec->key_off != NONE);
}

/* Walk item's subtree in pre-order, giving each item the next record. */
static int assign(struct jsonc_doc *doc, const cJSON *item, size_t *next, struct dup *dup)
{
	struct key_rec *keys = NULL;
	size_t count = 0, k = 0;
	int rc = 0;

	if (*next >= doc->nrecs || !item_matches(item, doc, &doc->recs[*next]))
		return -1;
	doc->recs[(*next)++].item = item;
	if (!cJSON_IsObject(item) && !cJSON_IsArray(item))
		return 0;
	for (const cJSON *c = item->child; c; c = c->next)
		count++;
	if (cJSON_IsObject(item) && count > 1)
		keys = xmalloc(count * sizeof *keys);
	for (const cJSON *c = item->child; c && rc == 0; c = c->next) {
		if (keys)
			keys[k++] = (struct key_rec){ c->string, (uint32_t)*next };
		rc = assign(doc, c, next, dup);
	}
	if (keys && rc == 0)
		find_duplicate(keys, count, dup);
	free(keys);
	return rc;
}

static int cmp_ptr(const void *a, const void *b)
{
	uintptr_t x = (uintptr_t)((const struct jsonc_ptr *)a)->item;
	uintptr_t y = (uintptr_t)((const struct jsonc_ptr *)b)->item;

	return x < y ? -1 : x > y;
}

static uint32_t find_rec(const struct jsonc_doc *doc, const cJSON *item)
{
	size_t lo = 0, hi;

	if (!doc || !item || !doc->by_item)
		return NONE;
	hi = doc->nrecs;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		uintptr_t at = (uintptr_t)doc->by_item[mid].item;
		if (at == (uintptr_t)item)
			return doc->by_item[mid].rec;
		if (at < (uintptr_t)item)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NONE;
}

/* Offset messages point at for a record: its key, else its value. */
static size_t rec_off(const struct jsonc_rec *r)
{
	return r->key_off != NONE ? r->key_off : r->val_off;
}

static int index_tree(struct jsonc_doc *doc, struct ferr *e)
{
	struct dup dup = { NONE, NONE };
	size_t next = 0;
	struct buf key = BUF_INIT;
	int line, col;

	if (assign(doc, doc->root, &next, &dup) < 0 || next != doc->nrecs)
		return ferr_set(e, FERR_INTERNAL, "%s: bug: the position index does not match "
				"cJSON's tree", doc->name);
	doc->by_item = xmalloc(doc->nrecs * sizeof *doc->by_item);
	for (size_t i = 0; i < doc->nrecs; i++)
		doc->by_item[i] = (struct jsonc_ptr){ doc->recs[i].item, (uint32_t)i };
	qsort(doc->by_item, doc->nrecs, sizeof *doc->by_item, cmp_ptr);
	if (dup.second == NONE)
		return 0;
	const struct jsonc_rec *first = &doc->recs[dup.first], *second = &doc->recs[dup.second];
	put_quoted(&key, second->item->string, strlen(second->item->string), true);
	line_col(doc, first->key_off, &line, &col);
	error_at_off(doc, second->key_off, e, "duplicate key %s (first at line %d, column %d)",
		     buf_cstr(&key), line, col);
	buf_release(&key);
	return -1;
}

/* ---- loading ---- */

static int too_large(const char *name, size_t size, struct ferr *e)
{
	return ferr_set(e, FERR_CONFIG, "%s: too large (%zu bytes; the limit is %zu MiB)", name,
			size, JSONC_MAX_SIZE >> 20);
}

static void build_lines(struct jsonc_doc *doc)
{
	size_t n = 1;
	const char *p = doc->src, *end = doc->src + doc->len;

	while ((p = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		n++;
		p++;
	}
	doc->lines = xmalloc(n * sizeof *doc->lines);
	doc->lines[0] = 0;
	doc->nlines = 1;
	for (p = doc->src; (p = memchr(p, '\n', (size_t)(end - p))) != NULL; p++)
		doc->lines[doc->nlines++] = (uint32_t)(p + 1 - doc->src);
}

int jsonc_parse(const char *name, const char *text, size_t len, struct jsonc_doc **out,
		struct ferr *e)
{
	struct jsonc_doc *doc;
	struct scan sc;
	const char *end = NULL;
	int rc = -1;

	*out = NULL;
	if (!name)
		name = "<string>";
	if (len > JSONC_MAX_SIZE) {
		char *shown = utf8_path_dup(name, strlen(name));
		too_large(shown, len, e);
		free(shown);
		return -1;
	}
	doc = xcalloc(1, sizeof *doc);
	doc->name = utf8_path_dup(name, strlen(name));
	doc->src = xmalloc(len + 1);
	if (len)
		memcpy(doc->src, text, len);
	doc->src[len] = '\0';
	doc->len = len;
	if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0)
		doc->body = 3;
	build_lines(doc);

	sc = (struct scan){ doc, (const unsigned char *)doc->src, xmalloc(len + 1), len, 0, NONE,
			    e };
	memcpy(sc.out, doc->src, len + 1);
	if (scan_document(&sc) < 0)
		goto out;
	doc->root = cJSON_ParseWithLengthOpts(sc.out, len, &end, 0);
	if (!doc->root) {
		/* The scanner accepts only what cJSON reads, so this is a bug. */
		size_t off = end && end >= sc.out && end <= sc.out + len ? (size_t)(end - sc.out) : NONE;
		error_at_off(doc, off, e, "bug: cJSON could not read the document here");
		if (e)
			e->cls = FERR_INTERNAL;
		goto out;
	}
	if (index_tree(doc, e) < 0)
		goto out;
	rc = 0;
out:
	free(sc.out);
	if (rc < 0)
		jsonc_free(doc);
	else
		*out = doc;
	return rc;
}

int jsonc_load_file(const char *path, struct jsonc_doc **out, struct ferr *e)
{
	char *shown = utf8_path_dup(path, strlen(path));
	struct buf data = BUF_INIT;
	struct stat st;
	int fd, rc = -1;

	*out = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT && lstat(path, &st) == 0 && S_ISLNK(st.st_mode))
			ferr_set(e, FERR_CONFIG, "%s: a symbolic link to a file that does not exist",
				 shown);
		else if (errno == ENOENT)
			rc = 1;
		else
			ferr_set(e, FERR_CONFIG, "%s: %s", shown, strerror(errno));
		goto out;
	}
	if (fstat(fd, &st) < 0) {
		ferr_set(e, FERR_CONFIG, "%s: %s", shown, strerror(errno));
		goto out;
	}
	if (S_ISDIR(st.st_mode)) {
		ferr_set(e, FERR_CONFIG, "%s: is a directory, not a file", shown);
		goto out;
	}
	if (S_ISREG(st.st_mode) && (uintmax_t)st.st_size > JSONC_MAX_SIZE) {
		too_large(shown, (size_t)st.st_size, e);
		goto out;
	}
	/* Read one byte past the limit: sizes of pipes and /proc files lie. */
	for (;;) {
		ssize_t n;
		buf_grow(&data, 65536);
		n = read(fd, data.data + data.len, 65536);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ferr_set(e, FERR_CONFIG, "%s: %s", shown, strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		data.len += (size_t)n;
		if (data.len > JSONC_MAX_SIZE) {
			too_large(shown, data.len, e);
			goto out;
		}
	}
	rc = jsonc_parse(path, buf_cstr(&data), data.len, out, e);
out:
	if (fd >= 0)
		close(fd);
	buf_release(&data);
	free(shown);
	return rc;
}

void jsonc_free(struct jsonc_doc *doc)
{
	if (!doc)
		return;
	cJSON_Delete(doc->root);
	free(doc->by_item);
	free(doc->recs);
	free(doc->lines);
	free(doc->src);
	free(doc->name);
	free(doc);
}

/* ---- queries ---- */

const cJSON *jsonc_root(const struct jsonc_doc *doc)
{
	return doc->root;
}

const char *jsonc_name(const struct jsonc_doc *doc)
{
	return doc->name;
}

const cJSON *jsonc_member(const cJSON *obj, const char *key)
{
	if (!cJSON_IsObject(obj))
		return NULL;
	return cJSON_GetObjectItemCaseSensitive(obj, key);
}

const cJSON *jsonc_find(const struct jsonc_doc *doc, const char *path)
{
	const cJSON *cur = doc->root;
	const char *p = path;

	while (*p && cur) {
		if (*p == '[') {
			char *end;
			long idx;
			if (!is_digit((unsigned char)p[1]))
				return NULL;
			errno = 0;
			idx = strtol(p + 1, &end, 10);
			if (*end != ']' || errno || idx > INT_MAX || !cJSON_IsArray(cur))
				return NULL;
			cur = cJSON_GetArrayItem(cur, (int)idx);
			p = end + 1;
			continue;
		}
		if (p != path) {
			if (*p != '.')
				return NULL;
			p++;
		}
		size_t n = strcspn(p, ".[]");
		const cJSON *member = NULL;
		if (n == 0 || !cJSON_IsObject(cur))
			return NULL;
		for (const cJSON *c = cur->child; c && !member; c = c->next)
			if (strlen(c->string) == n && memcmp(c->string, p, n) == 0)
				member = c;
		cur = member;
		p += n;
	}
	return cur;
}

static bool is_plain_key(const char *key)
{
	if (!*key)
		return false;
	for (; *key; key++)
		if (!is_word_char((unsigned char)*key) && *key != '-')
			return false;
	return true;
}

int jsonc_path_of(const struct jsonc_doc *doc, const cJSON *item, struct buf *out)
{
	uint32_t chain[JSONC_MAX_DEPTH + 1];
	size_t depth = 0;

	for (uint32_t r = find_rec(doc, item); r != NONE; r = doc->recs[r].parent) {
		if (depth == sizeof chain / sizeof chain[0])
			return -1;
		chain[depth++] = r;
	}
	if (depth == 0)
		return -1;
	/* chain[depth - 1] is the root, which has no name. */
	for (size_t i = depth - 1; i-- > 0;) {
		const struct jsonc_rec *r = &doc->recs[chain[i]];
		const char *key = r->item->string;
		if (r->key_off == NONE) {
			buf_printf(out, "[%u]", (unsigned)r->index);
		} else if (is_plain_key(key)) {
			if (i != depth - 2)
				buf_putc(out, '.');
			buf_puts(out, key);
		} else {
			buf_putc(out, '[');
			put_quoted(out, key, strlen(key), false);
			buf_putc(out, ']');
		}
	}
	return 0;
}

int jsonc_locate(const struct jsonc_doc *doc, const cJSON *item, int *line, int *col)
{
	uint32_t r = find_rec(doc, item);

	if (r == NONE)
		return -1;
	line_col(doc, rec_off(&doc->recs[r]), line, col);
	return 0;
}

int jsonc_error_at(const struct jsonc_doc *doc, const cJSON *item, struct ferr *e,
		   const char *fmt, ...)
{
	uint32_t r = find_rec(doc, item);
	va_list ap;

	va_start(ap, fmt);
	verror_at_off(doc, r == NONE ? NONE : rec_off(&doc->recs[r]), e, fmt, ap);
	va_end(ap);
	return -1;
}

int jsonc_check_keys(const struct jsonc_doc *doc, const cJSON *obj, const char *const *known,
		     size_t n, struct ferr *e)
{
	struct buf msg = BUF_INIT;
	const cJSON *unknown = NULL;
	const char *hint;

	if (!cJSON_IsObject(obj))
		return 0;
	for (const cJSON *c = obj->child; c && !unknown; c = c->next) {
		size_t i = 0;
		while (i < n && strcmp(known[i], c->string) != 0)
			i++;
		if (i == n)
			unknown = c;
	}
	if (!unknown)
		return 0;
	buf_puts(&msg, "unknown key ");
	put_quoted(&msg, unknown->string, strlen(unknown->string), true);
	if (obj == doc->root) {
		buf_puts(&msg, " at the top level");
	} else {
		struct buf path = BUF_INIT;
		jsonc_path_of(doc, obj, &path);
		buf_puts(&msg, " in ");
		put_quoted(&msg, buf_cstr(&path), path.len, false);
		buf_release(&path);
	}
	hint = opt_suggest(unknown->string, known, n);
	if (hint) {
		buf_printf(&msg, "; did you mean \"%s\"?", hint);
	} else if (n == 0) {
		buf_puts(&msg, "; this object takes no keys");
	} else {
		buf_puts(&msg, "; the known keys are ");
		for (size_t i = 0; i < n; i++)
			buf_printf(&msg, "%s\"%s\"", i ? ", " : "", known[i]);
	}
	jsonc_error_at(doc, unknown, e, "%s", buf_cstr(&msg));
	buf_release(&msg);
	return -1;
}

/* The located "`path` must be <want>, got <value>" error. */
static int wrong_value(const struct jsonc_doc *doc, const cJSON *item, const char *want,
		       struct ferr *e)
{
	struct buf label = BUF_INIT, got = BUF_INIT;
	uint32_t r = find_rec(doc, item);

	if (r == NONE || doc->recs[r].parent == NONE) {
		buf_puts(&label, "the top-level value");
	} else {
		buf_putc(&label, '`');
		jsonc_path_of(doc, item, &label);
		buf_putc(&label, '`');
	}
	if (cJSON_IsObject(item))
		buf_puts(&got, "an object");
	else if (cJSON_IsArray(item))
		buf_puts(&got, "an array");
	else if (r != NONE)
		put_token(&got, doc, doc->recs[r].val_off);
	else
		buf_puts(&got, "a value from another document");
	jsonc_error_at(doc, item, e, "%s must be %s, got %s", buf_cstr(&label), want,
		       buf_cstr(&got));
	buf_release(&label);
	buf_release(&got);
	return -1;
}

/* "an integer", "an integer from 1 to 10", "a number of at least 0", ... */
static void describe_range(struct buf *b, const char *what, const char *lo, const char *hi)
{
	buf_puts(b, what);
	if (lo && hi)
		buf_printf(b, " from %s to %s", lo, hi);
	else if (lo)
		buf_printf(b, " of at least %s", lo);
	else if (hi)
		buf_printf(b, " of at most %s", hi);
}

static int int_wrong(const struct jsonc_doc *doc, const cJSON *item, long long min,
			    long long max, struct ferr *e)
{
	char lo[32], hi[32];
	struct buf want = BUF_INIT;
	int rc;

	snprintf(lo, sizeof lo, "%lld", min);
	snprintf(hi, sizeof hi, "%lld", max);
	describe_range(&want, "an integer", min == LLONG_MIN ? NULL : lo,
		       max == LLONG_MAX ? NULL : hi);
	if (min == LLONG_MIN && max == LLONG_MAX && cJSON_IsNumber(item))
		buf_puts(&want, " that fits in 64 bits");
	rc = wrong_value(doc, item, buf_cstr(&want), e);
	buf_release(&want);
	return rc;
}

int jsonc_as_string(const struct jsonc_doc *doc, const cJSON *item, const char **out,
		    struct ferr *e)
{
	if (!item)
		return 1;
	if (!cJSON_IsString(item))
		return wrong_value(doc, item, "a string", e);
	*out = item->valuestring;
	return 0;
}

int jsonc_as_int(const struct jsonc_doc *doc, const cJSON *item, long long min, long long max,
		 long long *out, struct ferr *e)
{
	uint32_t r;
	long long v;

	if (!item)
		return 1;
	if (!cJSON_IsNumber(item) || (r = find_rec(doc, item)) == NONE)
		return int_wrong(doc, item, min, max, e);
	const char *tok = doc->src + doc->recs[r].val_off;
	size_t n = token_len(doc->src, doc->len, doc->recs[r].val_off);
	if (!memchr(tok, '.', n) && !memchr(tok, 'e', n) && !memchr(tok, 'E', n)) {
		char *end;
		errno = 0;
		v = strtoll(tok, &end, 10);
		if (errno == ERANGE)
			return int_wrong(doc, item, min, max, e);
	} else {
		double d = item->valuedouble;
		/* 2^63 is exact in a double; LLONG_MAX is not. */
		if (!isfinite(d) || d < -9223372036854775808.0 || d >= 9223372036854775808.0)
			return int_wrong(doc, item, min, max, e);
		v = (long long)d;
		if ((double)v != d)
			return int_wrong(doc, item, min, max, e);
	}
	if (v < min || v > max)
		return int_wrong(doc, item, min, max, e);
	*out = v;
	return 0;
}

int jsonc_as_double(const struct jsonc_doc *doc, const cJSON *item, double min, double max,
		    double *out, struct ferr *e)
{
	char lo[32], hi[32];
	struct buf want = BUF_INIT;
	int rc;

	if (!item)
		return 1;
	if (cJSON_IsNumber(item) && isfinite(item->valuedouble) && item->valuedouble >= min &&
	    item->valuedouble <= max) {
		*out = item->valuedouble;
		return 0;
	}
	snprintf(lo, sizeof lo, "%g", min);
	snprintf(hi, sizeof hi, "%g", max);
	if (cJSON_IsNumber(item) && !isfinite(item->valuedouble))
		buf_puts(&want, "a number that fits in a double");
	else
		describe_range(&want, "a number", isfinite(min) ? lo : NULL,
			       isfinite(max) ? hi : NULL);
	rc = wrong_value(doc, item, buf_cstr(&want), e);
	buf_release(&want);
	return rc;
}

int jsonc_as_bool(const struct jsonc_doc *doc, const cJSON *item, bool *out, struct ferr *e)
{
	if (!item)
		return 1;
	if (!cJSON_IsBool(item))
		return wrong_value(doc, item, "true or false", e);
	*out = cJSON_IsTrue(item);
	return 0;
}

int jsonc_as_object(const struct jsonc_doc *doc, const cJSON *item, const cJSON **out,
		    struct ferr *e)
{
	if (!item)
		return 1;
	if (!cJSON_IsObject(item))
		return wrong_value(doc, item, "an object", e);
	*out = item;
	return 0;
}

int jsonc_as_array(const struct jsonc_doc *doc, const cJSON *item, const cJSON **out,
		   struct ferr *e)
{
	if (!item)
		return 1;
	if (!cJSON_IsArray(item))
		return wrong_value(doc, item, "an array", e);
	*out = item;
	return 0;
}

int jsonc_get_string(const struct jsonc_doc *doc, const cJSON *obj, const char *key,
		     const char **out, struct ferr *e)
{
	return jsonc_as_string(doc, jsonc_member(obj, key), out, e);
}

int jsonc_get_int(const struct jsonc_doc *doc, const cJSON *obj, const char *key, long long min,
		  long long max, long long *out, struct ferr *e)
{
	return jsonc_as_int(doc, jsonc_member(obj, key), min, max, out, e);
}

int jsonc_get_double(const struct jsonc_doc *doc, const cJSON *obj, const char *key, double min,
		     double max, double *out, struct ferr *e)
{
	return jsonc_as_double(doc, jsonc_member(obj, key), min, max, out, e);
}

int jsonc_get_bool(const struct jsonc_doc *doc, const cJSON *obj, const char *key, bool *out,
		   struct ferr *e)
{
	return jsonc_as_bool(doc, jsonc_member(obj, key), out, e);
}

int jsonc_get_object(const struct jsonc_doc *doc, const cJSON *obj, const char *key,
		     const cJSON **out, struct ferr *e)
{
	return jsonc_as_object(doc, jsonc_member(obj, key), out, e);
}

int jsonc_get_array(const struct jsonc_doc *doc, const cJSON *obj, const char *key,
		    const cJSON **out, struct ferr *e)
{
	return jsonc_as_array(doc, jsonc_member(obj, key), out, e);
}

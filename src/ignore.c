/*
 * ignore.c — git's ignore rules: pattern files, wildmatch, and the stack of
 * lists that apply where a walk stands (ignore.h).  The logic follows git's
 * dir.c (parse_path_pattern, match_basename, match_pathname, the order of
 * last_matching_pattern_from_lists) and the semantics of its wildmatch.c;
 * tests/unit/test_ignore.c holds the verdicts against `git check-ignore`.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "forja/ignore.h"
#include "forja/utf8.h"

/* ---- wildmatch ------------------------------------------------------------ */

enum { WM_MATCH = 0, WM_NOMATCH = 1, WM_ABORT_ALL = -1, WM_ABORT_TO_STARSTAR = -2 };

/* Steps one wildmatch may take.  Real patterns need a few per byte of the
 * text; this only stops the exponential ones. */
#define WM_BUDGET 200000L

struct wm {
	unsigned flags;
	long budget;
};

/* ASCII classes as git's sane_ctype has them: the locale plays no part. */
static bool c_upper(unsigned c) { return c >= 'A' && c <= 'Z'; }
static bool c_lower(unsigned c) { return c >= 'a' && c <= 'z'; }
static bool c_digit(unsigned c) { return c >= '0' && c <= '9'; }
static bool c_alpha(unsigned c) { return c_upper(c) || c_lower(c); }
static bool c_alnum(unsigned c) { return c_alpha(c) || c_digit(c); }
static bool c_space(unsigned c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
static bool c_cntrl(unsigned c) { return c < 0x20 || c == 0x7f; }
static bool c_print(unsigned c) { return c >= 0x20 && c <= 0x7e; }
static bool c_graph(unsigned c) { return c > 0x20 && c <= 0x7e; }
static bool c_punct(unsigned c) { return c_graph(c) && !c_alnum(c); }
static bool c_xdigit(unsigned c)
{
	return c_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
static unsigned c_tolower(unsigned c) { return c_upper(c) ? c + 32 : c; }
static unsigned c_toupper(unsigned c) { return c_lower(c) ? c - 32 : c; }

static bool is_glob_special(unsigned c)
{
	return c == '*' || c == '?' || c == '[' || c == '\\';
}

static bool class_is(const unsigned char *s, size_t n, const char *name)
{
	return strlen(name) == n && memcmp(s, name, n) == 0;
}

/*
 * A bracket expression at *pp (just past the '['), tested against t.
 * Returns WM_MATCH / WM_NOMATCH, or WM_ABORT_ALL for a malformed one; on
 * return *pp points at the closing ']'.
 */
static int wm_class(const unsigned char **pp, unsigned t, unsigned flags)
{
	const unsigned char *p = *pp;
	unsigned p_ch = *p, prev = 0;
	bool negated, matched = false;

	if (p_ch == '^')
		p_ch = '!';
	negated = p_ch == '!';
	if (negated)
		p_ch = *++p;
	do {
		if (!p_ch)
			return WM_ABORT_ALL;
		if (p_ch == '\\') {
			p_ch = *++p;
			if (!p_ch)
				return WM_ABORT_ALL;
			if (t == p_ch)
				matched = true;
		} else if (p_ch == '-' && prev && p[1] && p[1] != ']') {
			p_ch = *++p;
			if (p_ch == '\\') {
				p_ch = *++p;
				if (!p_ch)
					return WM_ABORT_ALL;
			}
			if (t <= p_ch && t >= prev)
				matched = true;
			else if ((flags & IGNORE_WM_CASEFOLD) && c_lower(t) &&
				 c_toupper(t) <= p_ch && c_toupper(t) >= prev)
				matched = true;
			p_ch = 0; /* a range does not start another range */
		} else if (p_ch == '[' && p[1] == ':') {
			const unsigned char *s = p + 2;
			size_t n;

			for (p = s; (p_ch = *p) && p_ch != ']'; p++)
				;
			if (!p_ch)
				return WM_ABORT_ALL;
			if (p == s || p[-1] != ':') {
				/* no ":]": the '[' is an ordinary member */
				p = s - 2;
				p_ch = '[';
				if (t == p_ch)
					matched = true;
				continue;
			}
			n = (size_t)(p - s) - 1;
			if (class_is(s, n, "alnum"))
				matched |= c_alnum(t);
			else if (class_is(s, n, "alpha"))
				matched |= c_alpha(t);
			else if (class_is(s, n, "blank"))
				matched |= t == ' ' || t == '\t';
			else if (class_is(s, n, "cntrl"))
				matched |= c_cntrl(t);
			else if (class_is(s, n, "digit"))
				matched |= c_digit(t);
			else if (class_is(s, n, "graph"))
				matched |= c_graph(t);
			else if (class_is(s, n, "lower"))
				matched |= c_lower(t) || ((flags & IGNORE_WM_CASEFOLD) && c_upper(t));
			else if (class_is(s, n, "print"))
				matched |= c_print(t);
			else if (class_is(s, n, "punct"))
				matched |= c_punct(t);
			else if (class_is(s, n, "space"))
				matched |= c_space(t);
			else if (class_is(s, n, "upper"))
				matched |= c_upper(t) || ((flags & IGNORE_WM_CASEFOLD) && c_lower(t));
			else if (class_is(s, n, "xdigit"))
				matched |= c_xdigit(t);
			else
				return WM_ABORT_ALL;
			p_ch = 0;
		} else if (t == p_ch) {
			matched = true;
		}
	} while (prev = p_ch, (p_ch = *++p) != ']');
	*pp = p;
	if (matched == negated || ((flags & IGNORE_WM_PATHNAME) && t == '/'))
		return WM_NOMATCH;
	return WM_MATCH;
}

static int dowild(struct wm *w, const unsigned char *p, const unsigned char *text)
{
	const unsigned char *pattern = p;
	unsigned p_ch;

	if (--w->budget < 0)
		return WM_ABORT_ALL;
	for (; (p_ch = *p) != '\0'; text++, p++) {
		unsigned t_ch = *text;
		bool match_slash;
		int r;

		if (t_ch == '\0' && p_ch != '*')
			return WM_ABORT_ALL;
		if (w->flags & IGNORE_WM_CASEFOLD) {
			t_ch = c_tolower(t_ch);
			p_ch = c_tolower(p_ch);
		}
		switch (p_ch) {
		case '\\':
			/* the next byte literally (not case-folded, as in git) */
			p_ch = *++p;
			if (t_ch != p_ch)
				return WM_NOMATCH;
			continue;
		default:
			if (t_ch != p_ch)
				return WM_NOMATCH;
			continue;
		case '?':
			if ((w->flags & IGNORE_WM_PATHNAME) && t_ch == '/')
				return WM_NOMATCH;
			continue;
		case '[':
			p++;
			r = wm_class(&p, t_ch, w->flags);
			if (r != WM_MATCH)
				return r;
			continue;
		case '*':
			if (*++p == '*') {
				const unsigned char *prev_p = p - 2;

				while (*++p == '*')
					;
				if (!(w->flags & IGNORE_WM_PATHNAME)) {
					match_slash = true;
				} else if ((prev_p < pattern || *prev_p == '/') &&
					   (*p == '\0' || *p == '/' || (p[0] == '\\' && p[1] == '/'))) {
					/* "**" + "/" may match no directory at all */
					if (p[0] == '/' && dowild(w, p + 1, text) == WM_MATCH)
						return WM_MATCH;
					match_slash = true;
				} else {
					match_slash = false;
				}
			} else {
				match_slash = !(w->flags & IGNORE_WM_PATHNAME);
			}
			if (*p == '\0') {
				/* a trailing "**" takes everything, a trailing '*' the
				 * rest of one component */
				if (!match_slash && strchr((const char *)text, '/'))
					return WM_NOMATCH;
				return WM_MATCH;
			}
			if (!match_slash && *p == '/') {
				/* "*" + "/": skip to the next slash in the text; the
				 * loop's increment then steps over both slashes */
				const char *slash = strchr((const char *)text, '/');

				if (!slash)
					return WM_NOMATCH;
				text = (const unsigned char *)slash;
				continue;
			}
			for (;;) {
				if (t_ch == '\0')
					break;
				if (--w->budget < 0)
					return WM_ABORT_ALL;
				/* a literal after the star: skip to its next occurrence */
				if (!is_glob_special(*p)) {
					unsigned want = *p;

					if (w->flags & IGNORE_WM_CASEFOLD)
						want = c_tolower(want);
					while ((t_ch = *text) != '\0' && (match_slash || t_ch != '/')) {
						if (w->flags & IGNORE_WM_CASEFOLD)
							t_ch = c_tolower(t_ch);
						if (t_ch == want)
							break;
						text++;
					}
					if (t_ch != want)
						return WM_NOMATCH;
				}
				r = dowild(w, p, text);
				if (r != WM_NOMATCH) {
					if (!match_slash || r != WM_ABORT_TO_STARSTAR)
						return r;
				} else if (!match_slash && t_ch == '/') {
					return WM_ABORT_TO_STARSTAR;
				}
				t_ch = *++text;
				if (w->flags & IGNORE_WM_CASEFOLD)
					t_ch = c_tolower(t_ch);
			}
			return WM_ABORT_ALL;
		}
	}
	return *text ? WM_NOMATCH : WM_MATCH;
}

bool ignore_wildmatch(const char *pattern, const char *text, unsigned flags)
{
	struct wm w = { flags, WM_BUDGET };

	return dowild(&w, (const unsigned char *)pattern, (const unsigned char *)text) ==
	       WM_MATCH;
}

/* ---- lists ------------------------------------------------------------------ */

#define PAT_NEGATIVE  1u
#define PAT_MUSTBEDIR 2u
#define PAT_NODIR     4u
#define PAT_ENDSWITH  8u

struct pattern {
	char *text;       /* without the '!' and the trailing '/', NUL-terminated */
	size_t len;
	size_t nowild;    /* length of the leading part free of wildcards */
	unsigned flags;
};

/* A hash table of literal names (or "*name" suffixes): for each key, the
 * last pattern that holds it, split by whether it wants a directory. */
struct slot {
	const char *key;  /* NULL: empty slot */
	size_t len;
	uint32_t hash;
	long any;         /* last index of a pattern for files and dirs; -1 none */
	long dir;         /* last index of a directory-only one; -1 none */
};

struct table {
	struct slot *slots;
	size_t cap;       /* a power of two, or 0 */
	size_t count;
};

struct ignore_list {
	struct pattern *pats;
	size_t n, cap;
	char *base;
	size_t base_len;
	bool icase;
	struct table names;     /* NODIR patterns without wildcards */
	struct table suffixes;  /* NODIR '*' + literal */
	size_t *suffix_lens;    /* distinct suffix lengths, ascending */
	size_t nsuffix_lens;
	size_t *others;         /* the remaining patterns' indices, ascending */
	size_t nothers;
};

static uint32_t hash_bytes(const char *s, size_t n, bool icase)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < n; i++) {
		unsigned c = (unsigned char)s[i];

		h = (h ^ (icase ? c_tolower(c) : c)) * 16777619u;
	}
	return h;
}

static bool bytes_eq(const char *a, const char *b, size_t n, bool icase)
{
	if (!icase)
		return memcmp(a, b, n) == 0;
	for (size_t i = 0; i < n; i++)
		if (c_tolower((unsigned char)a[i]) != c_tolower((unsigned char)b[i]))
			return false;
	return true;
}

static struct slot *table_find(const struct table *t, const char *key, size_t len,
			       uint32_t hash, bool icase)
{
	if (!t->cap)
		return NULL;
	for (size_t i = hash & (t->cap - 1);; i = (i + 1) & (t->cap - 1)) {
		struct slot *s = &t->slots[i];

		if (!s->key)
			return NULL;
		if (s->hash == hash && s->len == len && bytes_eq(s->key, key, len, icase))
			return s;
	}
}

static void table_grow(struct table *t)
{
	struct table bigger = { NULL, t->cap ? t->cap * 2 : 16, t->count };

	bigger.slots = xcalloc(bigger.cap, sizeof *bigger.slots);
	for (size_t i = 0; i < t->cap; i++) {
		struct slot *s = &t->slots[i];
		size_t j;

		if (!s->key)
			continue;
		for (j = s->hash & (bigger.cap - 1); bigger.slots[j].key; j = (j + 1) & (bigger.cap - 1))
			;
		bigger.slots[j] = *s;
	}
	free(t->slots);
	*t = bigger;
}

static void table_add(struct table *t, const char *key, size_t len, bool icase, long index,
		      bool dir_only)
{
	uint32_t hash = hash_bytes(key, len, icase);
	struct slot *s = table_find(t, key, len, hash, icase);

	if (!s) {
		size_t i;

		if ((t->count + 1) * 4 > t->cap * 3)
			table_grow(t);
		for (i = hash & (t->cap - 1); t->slots[i].key; i = (i + 1) & (t->cap - 1))
			;
		s = &t->slots[i];
		s->key = key;
		s->len = len;
		s->hash = hash;
		s->any = s->dir = -1;
		t->count++;
	}
	if (dir_only)
		s->dir = index;
	else
		s->any = index;
}

static long slot_best(const struct slot *s, bool is_dir)
{
	if (!s)
		return -1;
	return is_dir && s->dir > s->any ? s->dir : s->any;
}

struct ignore_list *ignore_list_new(const char *base, size_t base_len, bool icase)
{
	struct ignore_list *l = xcalloc(1, sizeof *l);

	l->base = xstrndup(base ? base : "", base_len);
	l->base_len = base_len;
	l->icase = icase;
	return l;
}

void ignore_list_free(struct ignore_list *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n; i++)
		free(l->pats[i].text);
	free(l->pats);
	free(l->base);
	free(l->names.slots);
	free(l->suffixes.slots);
	free(l->suffix_lens);
	free(l->others);
	free(l);
}

size_t ignore_list_count(const struct ignore_list *l)
{
	return l ? l->n : 0;
}

/* git's simple_length(): bytes before the first wildcard character. */
static size_t simple_length(const char *s, size_t len)
{
	size_t i = 0;

	while (i < len && !is_glob_special((unsigned char)s[i]))
		i++;
	return i;
}

void ignore_list_add(struct ignore_list *l, const char *pattern, size_t len)
{
	struct pattern p = { 0 };
	size_t index;

	len = strnlen(pattern, len);   /* git reads a line up to a NUL byte */
	if (len && pattern[0] == '!') {
		p.flags |= PAT_NEGATIVE;
		pattern++;
		len--;
	}
	/* simple_length() runs before the trailing slash is cut, then is
	 * capped, as in git */
	p.nowild = simple_length(pattern, len);
	if (len && pattern[len - 1] == '/') {
		len--;
		p.flags |= PAT_MUSTBEDIR;
	}
	if (!len)
		return;
	if (p.nowild > len)
		p.nowild = len;
	if (!memchr(pattern, '/', len))
		p.flags |= PAT_NODIR;
	if (pattern[0] == '*' && simple_length(pattern + 1, len - 1) == len - 1)
		p.flags |= PAT_ENDSWITH;
	p.text = xstrndup(pattern, len);
	p.len = len;

	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 8;
		l->pats = xrealloc(l->pats, l->cap * sizeof *l->pats);
	}
	index = l->n;
	l->pats[l->n++] = p;
	/* pats may move; the tables point into the texts, which do not */
	if ((p.flags & PAT_NODIR) && p.nowild == p.len) {
		table_add(&l->names, p.text, p.len, l->icase, (long)index,
			  p.flags & PAT_MUSTBEDIR);
	} else if ((p.flags & PAT_NODIR) && (p.flags & PAT_ENDSWITH)) {
		size_t slen = p.len - 1, i;

		table_add(&l->suffixes, p.text + 1, slen, l->icase, (long)index,
			  p.flags & PAT_MUSTBEDIR);
		for (i = 0; i < l->nsuffix_lens && l->suffix_lens[i] < slen; i++)
			;
		if (i == l->nsuffix_lens || l->suffix_lens[i] != slen) {
			l->suffix_lens = xrealloc(l->suffix_lens,
						  (l->nsuffix_lens + 1) * sizeof *l->suffix_lens);
			memmove(l->suffix_lens + i + 1, l->suffix_lens + i,
				(l->nsuffix_lens - i) * sizeof *l->suffix_lens);
			l->suffix_lens[i] = slen;
			l->nsuffix_lens++;
		}
	} else {
		l->others = xrealloc(l->others, (l->nothers + 1) * sizeof *l->others);
		l->others[l->nothers++] = index;
	}
}

/* git's trim_trailing_spaces(): drop trailing spaces unless escaped. */
static size_t trim_trailing_spaces(const char *s, size_t len)
{
	size_t last_space = len;   /* len: none pending */

	for (size_t i = 0; i < len; i++) {
		if (s[i] == ' ') {
			if (last_space == len)
				last_space = i;
		} else if (s[i] == '\\') {
			if (++i == len)
				return len;
			last_space = len;
		} else {
			last_space = len;
		}
	}
	return last_space;
}

void ignore_list_add_text(struct ignore_list *l, const char *text, size_t len)
{
	size_t pos = 0;

	if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0)
		pos = 3;
	while (pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t end = nl ? (size_t)(nl - text) : len, n = end - pos;
		const char *line = text + pos;

		pos = end + 1;
		if (!n || line[0] == '#')
			continue;
		if (line[n - 1] == '\r')
			n--;
		n = trim_trailing_spaces(line, n);
		if (n)
			ignore_list_add(l, line, n);
	}
}

/* git's match_pathname(): pattern p of list l against path (relative to the
 * top), whose part below l's base is name. */
static bool match_pathname(const struct ignore_list *l, const struct pattern *p,
			   const char *name, size_t namelen)
{
	const char *pat = p->text;
	size_t patlen = p->len, prefix = p->nowild;
	unsigned flags = IGNORE_WM_PATHNAME | (l->icase ? IGNORE_WM_CASEFOLD : 0);

	if (*pat == '/') {
		pat++;
		patlen--;
		prefix--;
	}
	if (prefix) {
		if (prefix > namelen || !bytes_eq(pat, name, prefix, l->icase))
			return false;
		pat += prefix;
		patlen -= prefix;
		name += prefix;
		namelen -= prefix;
		if (!patlen && !namelen)
			return true;
	}
	return ignore_wildmatch(pat, name, flags);
}

/* The index of the last pattern of l matching path, or -1. */
static long list_best(const struct ignore_list *l, const char *path, size_t len, bool is_dir)
{
	const char *base = path, *name;
	size_t blen = len, namelen;
	long best = -1;

	if (l->base_len) {
		if (len <= l->base_len || !bytes_eq(path, l->base, l->base_len, l->icase))
			return -1;
	}
	name = path + l->base_len;
	namelen = len - l->base_len;
	for (size_t i = len; i > 0; i--) {
		if (path[i - 1] == '/') {
			base = path + i;
			blen = len - i;
			break;
		}
	}
	if (l->names.count)
		best = slot_best(table_find(&l->names, base, blen,
					    hash_bytes(base, blen, l->icase), l->icase), is_dir);
	for (size_t i = 0; i < l->nsuffix_lens && l->suffix_lens[i] <= blen; i++) {
		const char *tail = base + blen - l->suffix_lens[i];
		long b = slot_best(table_find(&l->suffixes, tail, l->suffix_lens[i],
					      hash_bytes(tail, l->suffix_lens[i], l->icase),
					      l->icase), is_dir);
		if (b > best)
			best = b;
	}
	for (size_t k = l->nothers; k-- > 0;) {
		const struct pattern *p = &l->pats[l->others[k]];
		bool hit;

		if ((long)l->others[k] <= best)
			break;
		if ((p->flags & PAT_MUSTBEDIR) && !is_dir)
			continue;
		if (p->flags & PAT_NODIR)
			hit = ignore_wildmatch(p->text, base, l->icase ? IGNORE_WM_CASEFOLD : 0);
		else
			hit = match_pathname(l, p, name, namelen);
		if (hit) {
			best = (long)l->others[k];
			break;
		}
	}
	return best;
}

static enum ignore_verdict list_verdict(const struct ignore_list *l, const char *path,
					size_t len, bool is_dir)
{
	long best;

	if (!l || !l->n)
		return IGNORE_NONE;
	best = list_best(l, path, len, is_dir);
	if (best < 0)
		return IGNORE_NONE;
	return l->pats[best].flags & PAT_NEGATIVE ? IGNORE_INCLUDED : IGNORE_EXCLUDED;
}

/*
 * wildmatch reads its text up to a NUL: a path that is the prefix of a
 * longer string (a parent directory checked in place) is copied first.
 * *tmp is freed by the caller.
 */
static const char *terminated(const char *path, size_t len, char **tmp)
{
	*tmp = NULL;
	if (path[len] == '\0')
		return path;
	*tmp = xstrndup(path, len);
	return *tmp;
}

enum ignore_verdict ignore_list_match(const struct ignore_list *l, const char *path,
				      size_t len, bool is_dir)
{
	char *tmp;
	enum ignore_verdict v = list_verdict(l, terminated(path, len, &tmp), len, is_dir);

	free(tmp);
	return v;
}

/* ---- reading pattern files -------------------------------------------------- */

static int load_fd(int fd, const char *shown, const char *base, size_t base_len, bool icase,
		   struct ignore_list **out, struct ferr *e)
{
	struct buf text = BUF_INIT;
	struct stat st;
	int ret = -1;

	if (fstat(fd, &st) != 0) {
		ferr_set(e, FERR_IO, "%s: %s", shown, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		ret = 0;  /* a FIFO or a directory is not a pattern file: none */
		goto out;
	}
	if ((uint64_t)st.st_size > IGNORE_MAX_FILE) {
		ferr_set(e, FERR_IO, "%s: larger than %zu bytes, not read", shown,
			 (size_t)IGNORE_MAX_FILE);
		goto out;
	}
	for (;;) {
		ssize_t n;

		buf_grow(&text, 65536);
		n = read(fd, text.data + text.len, text.cap - text.len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ferr_set(e, FERR_IO, "%s: %s", shown, strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		text.len += (size_t)n;
		text.data[text.len] = '\0';
		if (text.len > IGNORE_MAX_FILE) {
			ferr_set(e, FERR_IO, "%s: larger than %zu bytes, not read", shown,
				 (size_t)IGNORE_MAX_FILE);
			goto out;
		}
	}
	*out = ignore_list_new(base, base_len, icase);
	ignore_list_add_text(*out, text.data ? text.data : "", text.len);
	ret = 0;
out:
	buf_release(&text);
	return ret;
}

int ignore_list_load_at(int dirfd, const char *name, const char *base, size_t base_len,
			bool icase, struct ignore_list **out, struct ferr *e)
{
	struct buf shown = BUF_INIT, full = BUF_INIT;
	int fd, ret;

	*out = NULL;
	fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0) {
		/* missing, or a symbolic link (ELOOP): git does not follow it */
		if (errno == ENOENT || errno == ELOOP || errno == ENOTDIR)
			return 0;
		buf_add(&full, base, base_len);
		buf_puts(&full, name);
		utf8_quote_path(&shown, full.data, full.len);
		ret = ferr_set(e, FERR_IO, "%s: %s", shown.data, strerror(errno));
		goto out;
	}
	buf_add(&full, base, base_len);
	buf_puts(&full, name);
	utf8_quote_path(&shown, full.data, full.len);
	ret = load_fd(fd, shown.data, base, base_len, icase, out, e);
	close(fd);
out:
	buf_release(&shown);
	buf_release(&full);
	return ret;
}

int ignore_list_load_file(const char *path, bool icase, struct ignore_list **out,
			  struct ferr *e)
{
	struct buf shown = BUF_INIT;
	int fd, ret;

	*out = NULL;
	fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0 && (errno == ENOENT || errno == ENOTDIR))
		return 0;
	utf8_quote_path(&shown, path, strlen(path));
	if (fd < 0) {
		ret = ferr_set(e, FERR_IO, "%s: %s", shown.data, strerror(errno));
	} else {
		ret = load_fd(fd, shown.data, "", 0, icase, out, e);
		close(fd);
	}
	buf_release(&shown);
	return ret;
}

bool ignore_global_path(struct buf *out)
{
	const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");

	if (xdg && *xdg) {
		buf_printf(out, "%s/git/ignore", xdg);
		return true;
	}
	if (home && *home) {
		buf_printf(out, "%s/.config/git/ignore", home);
		return true;
	}
	return false;
}

bool ignore_is_git_name(const char *name, bool icase)
{
	return strlen(name) == 4 && bytes_eq(name, ".git", 4, icase);
}

/* ---- the stack ---------------------------------------------------------------- */

struct frame {
	struct ignore_list *gitignore;
	struct ignore_list *exclude;   /* a top's .git/info/exclude */
	bool is_top;
	size_t top_len;                /* a top's path length (the global list's base) */
};

struct ignore_stack {
	struct frame *frames;
	size_t n, cap;
	struct ignore_list *global;
	bool icase;
	struct buf notes;
};

struct ignore_stack *ignore_stack_new(bool icase, struct ignore_list *global)
{
	struct ignore_stack *s = xcalloc(1, sizeof *s);

	s->icase = icase;
	s->global = global;
	return s;
}

void ignore_stack_free(struct ignore_stack *s)
{
	if (!s)
		return;
	while (s->n)
		ignore_stack_leave(s);
	free(s->frames);
	ignore_list_free(s->global);
	buf_release(&s->notes);
	free(s);
}

static void push_frame(struct ignore_stack *s, struct ignore_list *gitignore, bool is_top,
		       struct ignore_list *exclude, size_t top_len)
{
	struct frame *f;

	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 16;
		s->frames = xrealloc(s->frames, s->cap * sizeof *s->frames);
	}
	f = &s->frames[s->n++];
	f->gitignore = gitignore && gitignore->n ? gitignore : NULL;
	if (gitignore && !f->gitignore)
		ignore_list_free(gitignore);
	f->exclude = exclude && exclude->n ? exclude : NULL;
	if (exclude && !f->exclude)
		ignore_list_free(exclude);
	f->is_top = is_top;
	f->top_len = top_len;
}

void ignore_stack_push(struct ignore_stack *s, struct ignore_list *gitignore, bool is_top,
		       struct ignore_list *exclude)
{
	size_t top_len = gitignore ? gitignore->base_len : exclude ? exclude->base_len : 0;

	push_frame(s, gitignore, is_top, exclude, top_len);
}

static void note(struct ignore_stack *s, const struct ferr *e)
{
	buf_puts(&s->notes, e->msg);
	buf_putc(&s->notes, '\n');
}

void ignore_stack_enter(struct ignore_stack *s, int dirfd, const char *rel, size_t rel_len,
			unsigned hints)
{
	struct ignore_list *gitignore = NULL, *exclude = NULL;
	bool is_top = hints & (IGNORE_HAS_DOTGIT | IGNORE_IS_ROOT);
	struct ferr e = FERR_INIT;

	if ((hints & IGNORE_HAS_GITIGNORE) &&
	    ignore_list_load_at(dirfd, ".gitignore", rel, rel_len, s->icase, &gitignore, &e) < 0)
		note(s, &e);
	if (hints & IGNORE_HAS_DOTGIT) {
		int gitfd = openat(dirfd, ".git", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		int infofd = gitfd < 0 ? -1 :
			     openat(gitfd, "info", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

		/* a .git file (worktree, submodule) keeps its exclude elsewhere,
		 * outside the workspace: not read */
		if (infofd >= 0 &&
		    ignore_list_load_at(infofd, "exclude", rel, rel_len, s->icase, &exclude, &e) < 0)
			note(s, &e);
		if (infofd >= 0)
			close(infofd);
		if (gitfd >= 0)
			close(gitfd);
	}
	push_frame(s, gitignore, is_top, exclude, rel_len);
}

void ignore_stack_leave(struct ignore_stack *s)
{
	struct frame *f;

	if (!s->n)
		return;
	f = &s->frames[--s->n];
	ignore_list_free(f->gitignore);
	ignore_list_free(f->exclude);
}

static enum ignore_verdict stack_verdict(const struct ignore_stack *s, const char *path,
					 size_t len, bool is_dir)
{
	const struct frame *top = NULL;
	enum ignore_verdict v;
	size_t off;

	for (size_t i = s->n; i-- > 0;) {
		const struct frame *f = &s->frames[i];

		if (f->gitignore && (v = list_verdict(f->gitignore, path, len, is_dir)))
			return v;
		if (f->is_top) {
			top = f;
			break;
		}
	}
	if (top && top->exclude && (v = list_verdict(top->exclude, path, len, is_dir)))
		return v;
	off = top ? top->top_len : 0;
	if (!s->global || off >= len)
		return IGNORE_NONE;
	return list_verdict(s->global, path + off, len - off, is_dir);
}

enum ignore_verdict ignore_stack_match(const struct ignore_stack *s, const char *path,
				       size_t len, bool is_dir)
{
	char *tmp;
	enum ignore_verdict v = stack_verdict(s, terminated(path, len, &tmp), len, is_dir);

	free(tmp);
	return v;
}

const char *ignore_stack_notes(const struct ignore_stack *s)
{
	return buf_cstr(&s->notes);
}

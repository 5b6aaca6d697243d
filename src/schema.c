/*
 * schema.c — the JSON Schema subset of tool contracts (see
 * include/forja/schema.h): a compiler from the JSON form into a tree of
 * struct snode, checked strictly, and a validator that walks a value and
 * the tree together, writing one message per problem.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "forja/schema.h"

#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pcre2.h>

#include "forja/json.h"
#include "forja/opt.h"
#include "forja/utf8.h"

/* Pattern matching budget: enough for any sane pattern on a value of
 * megabytes, and a few milliseconds for a pathological one. */
#define PATTERN_MATCH_LIMIT 1000000
#define PATTERN_DEPTH_LIMIT 100000
#define PATTERN_HEAP_LIMIT_KIB 16384
/* The JIT's own stack, taken only when its default 32 KiB on the machine
 * stack is not enough (long values under a repeated group). */
#define PATTERN_JIT_STACK_MAX ((size_t)8 << 20)

/* Paths in messages longer than this keep their two ends. */
#define PATH_SHOWN_BYTES 200

/* Most pairwise comparisons uniqueItems spends on one array; only values
 * built to collide in the hash get near it. */
#define UNIQUE_MAX_COMPARISONS 1000000

/* 2^53: the largest magnitude below which a double holds every integer. */
#define MAX_EXACT_INTEGER 9007199254740992.0

enum {
	T_NULL = 1 << 0,
	T_BOOLEAN = 1 << 1,
	T_OBJECT = 1 << 2,
	T_ARRAY = 1 << 3,
	T_NUMBER = 1 << 4,
	T_STRING = 1 << 5,
	T_INTEGER = 1 << 6,
	T_COUNT = 7,
};

static const char *const type_names[T_COUNT] = {
	"null", "boolean", "object", "array", "number", "string", "integer",
};

enum add_mode { ADD_ANY, ADD_NONE, ADD_SCHEMA };

struct snode;

struct prop {
	const char *name;     /* borrowed from the schema's copy of the JSON */
	struct snode *schema;
};

struct snode {
	bool is_false;                    /* the schema false: nothing is valid */
	unsigned types;                   /* T_* bits; 0: any type */
	unsigned char type_order[T_COUNT];/* the types as written, for messages */
	size_t ntypes;

	struct prop *props;               /* "properties", in schema order */
	size_t nprops;
	struct prop **by_name;            /* the same, sorted by name */
	const char **required;
	size_t nrequired;
	enum add_mode additional;
	struct snode *additional_schema;

	const cJSON *enum_values;         /* the "enum" array, or NULL */
	const cJSON *const_value;
	const cJSON *default_value;

	struct snode *items;
	long long min_items, max_items;   /* -1: not set */
	bool unique_items;

	long long min_length, max_length; /* -1: not set */
	pcre2_code *pattern;
	const char *pattern_src;

	double bound[4];                  /* minimum, maximum, exclusive...: */
	unsigned has_bound;               /* bit i set when bound[i] is */

	struct snode **one_of, **any_of, **all_of;
	size_t n_one_of, n_any_of, n_all_of;
	struct snode *not_schema;
};

enum { B_MIN, B_MAX, B_XMIN, B_XMAX };

struct schema {
	cJSON *source;       /* the copy compiled from; nodes borrow from it */
	cJSON *shown;        /* source without "$comment" */
	struct snode *root;
};

/* ---- text helpers shared by messages ---------------------------------- */

/* Bytes of s (at most len) that hold its first max code points; an invalid
 * byte counts as one. */
static size_t prefix_bytes(const char *s, size_t len, size_t max)
{
	size_t i = 0;

	for (size_t n = 0; i < len && n < max; n++) {
		size_t k = utf8_seq_len((const unsigned char *)s + i, len - i);
		i += k ? k : 1;
	}
	return i;
}

/* Append a string value as a JSON literal, cut to SCHEMA_SHOWN_CHARS.
 * json_put_string escapes C0 controls and mends invalid UTF-8; DEL and the
 * C1 controls (U+0080..U+009F, which terminals obey) are escaped here. */
static void put_quoted(struct buf *b, const char *s)
{
	/* Never measure more than we could show: strings may be megabytes. */
	size_t len = strnlen(s, SCHEMA_SHOWN_CHARS * 4 + 1);
	size_t cut = prefix_bytes(s, len, SCHEMA_SHOWN_CHARS);
	struct buf lit = BUF_INIT;
	const unsigned char *p;

	json_put_string(&lit, s, cut);
	p = (const unsigned char *)lit.data;
	for (size_t i = 0; i < lit.len; i++) {
		if (p[i] == 0x7f) {
			buf_puts(b, "\\u007f");
		} else if (p[i] == 0xc2 && i + 1 < lit.len && p[i + 1] >= 0x80 && p[i + 1] <= 0x9f) {
			buf_printf(b, "\\u%04x", p[i + 1]);
			i++;
		} else {
			buf_putc(b, (char)p[i]);
		}
	}
	buf_release(&lit);
	if (cut < len)
		buf_puts(b, "…");
}

/* put_quoted into a scratch buffer, for a printf argument. */
static const char *quoted(struct buf *scratch, const char *s)
{
	buf_reset(scratch);
	put_quoted(scratch, s);
	return buf_cstr(scratch);
}

static bool is_plain_key(const char *key)
{
	size_t i = 0;

	for (; key[i] && i <= SCHEMA_SHOWN_CHARS; i++) {
		char c = key[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-'))
			return false;
	}
	return i > 0 && i <= SCHEMA_SHOWN_CHARS;
}

/* A key as it stands alone in a message: plain, or as a JSON string. */
static void put_key(struct buf *b, const char *key)
{
	if (is_plain_key(key))
		buf_puts(b, key);
	else
		put_quoted(b, key);
}

/* Append ".key" or "[\"key\"]" to a path; returns the length to pop to. */
static size_t path_push_key(struct buf *path, const char *key)
{
	size_t mark = path->len;

	if (!key)
		key = "";
	if (is_plain_key(key)) {
		if (path->len)
			buf_putc(path, '.');
		buf_puts(path, key);
	} else {
		buf_putc(path, '[');
		put_quoted(path, key);
		buf_putc(path, ']');
	}
	return mark;
}

static size_t path_push_index(struct buf *path, size_t index)
{
	size_t mark = path->len;

	buf_printf(path, "[%zu]", index);
	return mark;
}

/* The shortest of %.15g..%.17g that reads back as d. */
static void put_number(struct buf *b, double d)
{
	char tmp[64];

	if (isnan(d)) {
		buf_puts(b, "NaN");
		return;
	}
	if (isinf(d)) {
		buf_puts(b, d > 0 ? "Infinity" : "-Infinity");
		return;
	}
	if (d == 0) {
		buf_puts(b, signbit(d) ? "-0" : "0");
		return;
	}
	for (int prec = 15; prec <= 17; prec++) {
		snprintf(tmp, sizeof tmp, "%.*g", prec, d);
		if (strtod(tmp, NULL) == d)
			break;
	}
	buf_puts(b, tmp);
}

static const char *value_type_name(const cJSON *v)
{
	if (!v)
		return "nothing";
	if (cJSON_IsNull(v))
		return "null";
	if (cJSON_IsBool(v))
		return "boolean";
	if (cJSON_IsNumber(v))
		return "number";
	if (cJSON_IsString(v))
		return "string";
	if (cJSON_IsArray(v))
		return "array";
	if (cJSON_IsObject(v))
		return "object";
	return "an unsupported value";
}

static const char *str_of(const cJSON *v)
{
	return v->valuestring ? v->valuestring : "";
}

/* A value from the model, for "got ...": scalars as JSON, containers by
 * kind (they may be huge). */
static void put_value(struct buf *b, const cJSON *v)
{
	if (cJSON_IsString(v))
		put_quoted(b, str_of(v));
	else if (cJSON_IsNumber(v))
		put_number(b, v->valuedouble);
	else if (cJSON_IsTrue(v))
		buf_puts(b, "true");
	else if (cJSON_IsFalse(v))
		buf_puts(b, "false");
	else if (cJSON_IsNull(v))
		buf_puts(b, "null");
	else if (cJSON_IsArray(v))
		buf_puts(b, "an array");
	else if (cJSON_IsObject(v))
		buf_puts(b, "an object");
	else
		buf_puts(b, value_type_name(v));
}

/* A value from the schema (bounded): containers as compact JSON, cut. */
static void put_constant(struct buf *b, const cJSON *v)
{
	char *text;
	size_t len, cut;

	if (!cJSON_IsArray(v) && !cJSON_IsObject(v)) {
		put_value(b, v);
		return;
	}
	text = cJSON_PrintUnformatted(v);
	if (!text) {
		put_value(b, v);
		return;
	}
	len = strlen(text);
	cut = prefix_bytes(text, len, SCHEMA_SHOWN_CHARS);
	utf8_sanitize(b, text, cut);
	if (cut < len)
		buf_puts(b, "…");
	cJSON_free(text);
}

/* Append a path, keeping both ends of a very long one.  Paths are valid
 * UTF-8 (keys go through json_put_string), so cut on character starts. */
static void put_path(struct buf *b, const char *path, size_t len)
{
	size_t head = PATH_SHOWN_BYTES / 2, tail;

	if (len <= PATH_SHOWN_BYTES) {
		buf_add(b, path, len);
		return;
	}
	while (head > 0 && ((unsigned char)path[head] & 0xc0) == 0x80)
		head--;
	tail = len - PATH_SHOWN_BYTES / 2;
	while (tail < len && ((unsigned char)path[tail] & 0xc0) == 0x80)
		tail++;
	buf_add(b, path, head);
	buf_puts(b, "…");
	buf_add(b, path + tail, len - tail);
}

/* A pattern from the schema on one line: control characters become the
 * regular expression escapes that mean them (\n, \x01). */
static void put_pattern(struct buf *b, const char *p)
{
	for (; *p; p++) {
		unsigned char ch = (unsigned char)*p;
		if (ch == '\n')
			buf_puts(b, "\\n");
		else if (ch == '\r')
			buf_puts(b, "\\r");
		else if (ch == '\t')
			buf_puts(b, "\\t");
		else if (ch < 0x20 || ch == 0x7f)
			buf_printf(b, "\\x%02x", ch);
		else if (ch == 0xc2 && (unsigned char)p[1] >= 0x80 && (unsigned char)p[1] <= 0x9f)
			buf_printf(b, "\\u%04x", (unsigned char)*++p);
		else
			buf_putc(b, (char)ch);
	}
}

/* "string", "string or null", "string, number or null" */
static void put_type_list(struct buf *b, const unsigned char *order, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (i)
			buf_puts(b, i + 1 == n ? " or " : ", ");
		buf_puts(b, type_names[order[i]]);
	}
}

/* ---- JSON values -------------------------------------------------------- */

/* Without libm: within ±2^53 the conversion to long long is exact. */
static bool is_integer(double d)
{
	return d >= -MAX_EXACT_INTEGER && d <= MAX_EXACT_INTEGER && (double)(long long)d == d;
}

static unsigned value_types(const cJSON *v)
{
	if (cJSON_IsNull(v))
		return T_NULL;
	if (cJSON_IsBool(v))
		return T_BOOLEAN;
	if (cJSON_IsNumber(v))
		return T_NUMBER | (is_integer(v->valuedouble) ? T_INTEGER : 0);
	if (cJSON_IsString(v))
		return T_STRING;
	if (cJSON_IsArray(v))
		return T_ARRAY;
	if (cJSON_IsObject(v))
		return T_OBJECT;
	return 0;
}

static int compare_keys(const void *a, const void *b)
{
	const cJSON *x = *(const cJSON *const *)a, *y = *(const cJSON *const *)b;

	return strcmp(x->string ? x->string : "", y->string ? y->string : "");
}

static bool json_equal(const cJSON *a, const cJSON *b);

/* Objects with the same members in any order.  The common case (same
 * order) is linear; otherwise both sides are sorted by key. */
static bool objects_equal(const cJSON *a, const cJSON *b)
{
	const cJSON *x, *y;
	const cJSON **sa, **sb;
	size_t n = 0, nb = 0;
	bool same = true;

	for (x = a->child, y = b->child; x && y; x = x->next, y = y->next, n++)
		if (strcmp(x->string ? x->string : "", y->string ? y->string : "") != 0)
			same = false;
	if (x || y)
		return false;
	if (same) {
		for (x = a->child, y = b->child; x; x = x->next, y = y->next)
			if (!json_equal(x, y))
				return false;
		return true;
	}
	same = true;
	sa = xmalloc(n * sizeof *sa);
	sb = xmalloc(n * sizeof *sb);
	for (x = a->child; x; x = x->next)
		sa[nb++] = x;
	nb = 0;
	for (y = b->child; y; y = y->next)
		sb[nb++] = y;
	qsort(sa, n, sizeof *sa, compare_keys);
	qsort(sb, n, sizeof *sb, compare_keys);
	for (size_t i = 0; i < n && same; i++)
		same = compare_keys(&sa[i], &sb[i]) == 0;
	for (size_t i = 0; i < n && same; i++)
		same = json_equal(sa[i], sb[i]);
	free(sa);
	free(sb);
	return same;
}

/* JSON equality: numbers by value (1 == 1.0, -0 == 0), objects by members.
 * Recursion is bounded: values are depth-checked before they get here. */
static bool json_equal(const cJSON *a, const cJSON *b)
{
	const cJSON *x, *y;

	if (cJSON_IsNumber(a) && cJSON_IsNumber(b))
		return a->valuedouble == b->valuedouble;
	if ((a->type & 0xff) != (b->type & 0xff))
		return false;
	if (cJSON_IsString(a))
		return strcmp(str_of(a), str_of(b)) == 0;
	if (cJSON_IsArray(a)) {
		for (x = a->child, y = b->child; x && y; x = x->next, y = y->next)
			if (!json_equal(x, y))
				return false;
		return !x && !y;
	}
	if (cJSON_IsObject(a))
		return objects_equal(a, b);
	return true; /* null, true, false */
}

static uint64_t hash_bytes(uint64_t h, const void *p, size_t n)
{
	const unsigned char *s = p;

	for (size_t i = 0; i < n; i++) {
		h ^= s[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

static uint64_t mix(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	return h;
}

/* A hash that agrees with json_equal: equal values hash alike. */
static uint64_t json_hash(const cJSON *v)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	int kind = cJSON_IsNumber(v) ? cJSON_Number : v->type & 0xff;

	h = hash_bytes(h, &kind, sizeof kind);
	if (cJSON_IsNumber(v)) {
		double d = v->valuedouble == 0 ? 0.0 : v->valuedouble;
		h = hash_bytes(h, &d, sizeof d);
	} else if (cJSON_IsString(v)) {
		h = hash_bytes(h, str_of(v), strlen(str_of(v)));
	} else if (cJSON_IsArray(v)) {
		for (const cJSON *c = v->child; c; c = c->next)
			h = mix(h ^ json_hash(c));
	} else if (cJSON_IsObject(v)) {
		uint64_t sum = 0;
		for (const cJSON *c = v->child; c; c = c->next) {
			const char *k = c->string ? c->string : "";
			sum += mix(hash_bytes(0xcbf29ce484222325ULL, k, strlen(k)) ^ json_hash(c));
		}
		h = mix(h ^ sum);
	}
	return h;
}

/* Find the container nested deeper than limit, leaving its path in path
 * (unchanged when there is none).  Recursion stops at the limit. */
static bool find_too_deep(const cJSON *v, int depth, int limit, struct buf *path)
{
	size_t index = 0;

	if (!cJSON_IsArray(v) && !cJSON_IsObject(v))
		return false;
	if (depth >= limit)
		return true;
	for (const cJSON *c = v->child; c; c = c->next, index++) {
		size_t mark = cJSON_IsObject(v) ? path_push_key(path, c->string)
						: path_push_index(path, index);
		if (find_too_deep(c, depth + 1, limit, path))
			return true;
		buf_truncate(path, mark);
	}
	return false;
}

/* ---- validation ----------------------------------------------------------- */

/* Where problems go: the caller's, or a branch's while oneOf/anyOf/not
 * try each branch. */
struct sink {
	struct buf lines;
	size_t kept;    /* lines in lines */
	size_t count;   /* problems, kept or not */
};

struct vctx {
	struct buf path;           /* of the value being checked, display form */
	struct buf line;           /* the message being built */
	struct sink *sink;
	const char *root_label;    /* subject for the top value; NULL: none */
	pcre2_match_data *match;
	pcre2_match_context *limits;
	pcre2_jit_stack *jit_stack; /* made on first need */
};

static void vctx_init(struct vctx *c, const char *root_label, struct sink *sink)
{
	memset(c, 0, sizeof *c);
	c->root_label = root_label;
	c->sink = sink;
}

static void vctx_release(struct vctx *c)
{
	buf_release(&c->path);
	buf_release(&c->line);
	pcre2_match_data_free(c->match);
	pcre2_match_context_free(c->limits);
	pcre2_jit_stack_free(c->jit_stack);
}

static void sink_add(struct sink *k, const char *indent, const char *text, size_t len)
{
	k->count++;
	if (k->kept >= SCHEMA_MAX_PROBLEMS)
		return;
	buf_puts(&k->lines, indent);
	buf_add(&k->lines, text, len);
	buf_putc(&k->lines, '\n');
	k->kept++;
}

/* Start a problem about the current path: the returned buffer holds the
 * subject, the caller appends the rest and calls problem_end().  NULL when
 * the sink is full and only counts: messages for a million bad elements
 * are not worth building. */
static struct buf *problem_begin(struct vctx *c, bool with_subject)
{
	if (c->sink->kept >= SCHEMA_MAX_PROBLEMS) {
		c->sink->count++;
		return NULL;
	}
	buf_reset(&c->line);
	if (!with_subject)
		return &c->line;
	if (c->path.len) {
		buf_putc(&c->line, '`');
		put_path(&c->line, c->path.data, c->path.len);
		buf_puts(&c->line, "`: ");
	} else if (c->root_label) {
		buf_printf(&c->line, "%s: ", c->root_label);
	}
	return &c->line;
}

static void problem_end(struct vctx *c)
{
	sink_add(c->sink, "", c->line.data, c->line.len);
}

static void problem(struct vctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void problem(struct vctx *c, const char *fmt, ...)
{
	struct buf *m = problem_begin(c, true);
	va_list ap;

	if (!m)
		return;
	va_start(ap, fmt);
	buf_vprintf(m, fmt, ap);
	va_end(ap);
	problem_end(c);
}

static void check(struct vctx *c, const struct snode *n, const cJSON *v);

static bool type_fits(const struct snode *n, const cJSON *v)
{
	return !n->types || (n->types & value_types(v));
}

/* "got 1.5" when an integer was wanted and a number came, else the kind. */
static void put_got(struct buf *m, unsigned wanted, const cJSON *v)
{
	buf_puts(m, "got ");
	if (cJSON_IsNumber(v) && (wanted & T_INTEGER) && !(wanted & T_NUMBER)) {
		put_number(m, v->valuedouble);
		/* every double that large is whole */
		if (isfinite(v->valuedouble) && !is_integer(v->valuedouble) &&
		    (v->valuedouble > MAX_EXACT_INTEGER || v->valuedouble < -MAX_EXACT_INTEGER))
			buf_puts(m, ", beyond the integers a JSON number holds exactly (±2^53)");
	} else {
		buf_puts(m, value_type_name(v));
	}
}

static void problem_type(struct vctx *c, unsigned wanted, const unsigned char *order,
			 size_t norder, const cJSON *v)
{
	struct buf *m = problem_begin(c, true);

	if (!m)
		return;
	buf_puts(m, "expected ");
	put_type_list(m, order, norder);
	buf_puts(m, ", ");
	put_got(m, wanted, v);
	problem_end(c);
}

static bool in_enum(const cJSON *values, const cJSON *v)
{
	for (const cJSON *e = values->child; e; e = e->next)
		if (json_equal(e, v))
			return true;
	return false;
}

/* The constants a node allows: its enum, or else its const. */
static const cJSON *first_constant(const struct snode *n, bool use_const)
{
	return n->enum_values && !use_const ? n->enum_values->child : n->const_value;
}

static const cJSON *next_constant(const struct snode *n, bool use_const, const cJSON *e)
{
	return n->enum_values && !use_const ? e->next : NULL;
}

/* "must be "r", got "x"" or "must be one of "r", "w", got "x"", over the
 * constants of several nodes (one for enum or const, or all branches of a
 * oneOf made of constants). */
static void problem_constants(struct vctx *c, const struct snode *const *nodes, size_t nnodes,
			      bool use_const, const cJSON *v)
{
	struct buf *m = problem_begin(c, true);
	size_t total = 0, shown = 0;

	if (!m)
		return;
	for (size_t i = 0; i < nnodes; i++)
		for (const cJSON *e = first_constant(nodes[i], use_const); e;
		     e = next_constant(nodes[i], use_const, e))
			total++;
	buf_puts(m, total == 1 ? "must be " : "must be one of ");
	for (size_t i = 0; i < nnodes; i++) {
		for (const cJSON *e = first_constant(nodes[i], use_const); e;
		     e = next_constant(nodes[i], use_const, e)) {
			if (shown && m->len > 400) {
				buf_printf(m, ", … (%zu in all)", total);
				goto got;
			}
			if (shown++)
				buf_puts(m, ", ");
			put_constant(m, e);
		}
	}
got:
	buf_puts(m, ", got ");
	put_value(m, v);
	problem_end(c);
}

static size_t count_code_points(const char *s, size_t len)
{
	size_t n = 0;

	for (size_t i = 0; i < len; n++) {
		size_t k = utf8_seq_len((const unsigned char *)s + i, len - i);
		i += k ? k : 1;
	}
	return n;
}

static void check_pattern(struct vctx *c, const struct snode *n, const char *s, size_t len)
{
	struct buf *m;
	int rc;

	if (!c->match) {
		c->match = pcre2_match_data_create(1, NULL);
		c->limits = pcre2_match_context_create(NULL);
		if (!c->match || !c->limits)
			abort(); /* like xmalloc: nothing sensible to do without memory */
		pcre2_set_match_limit(c->limits, PATTERN_MATCH_LIMIT);
		pcre2_set_depth_limit(c->limits, PATTERN_DEPTH_LIMIT);
		pcre2_set_heap_limit(c->limits, PATTERN_HEAP_LIMIT_KIB);
	}
	/* The subject was checked for UTF-8 already. */
	rc = pcre2_match(n->pattern, (PCRE2_SPTR)s, len, 0, PCRE2_NO_UTF_CHECK, c->match,
			 c->limits);
	if (rc == PCRE2_ERROR_JIT_STACKLIMIT && !c->jit_stack) {
		c->jit_stack = pcre2_jit_stack_create(32 * 1024, PATTERN_JIT_STACK_MAX, NULL);
		if (c->jit_stack) {
			pcre2_jit_stack_assign(c->limits, NULL, c->jit_stack);
			rc = pcre2_match(n->pattern, (PCRE2_SPTR)s, len, 0, PCRE2_NO_UTF_CHECK,
					 c->match, c->limits);
		}
	}
	if (rc >= 0)
		return;
	m = problem_begin(c, true);
	if (!m)
		return;
	if (rc == PCRE2_ERROR_NOMATCH) {
		buf_puts(m, "must match the pattern `");
		put_pattern(m, n->pattern_src);
		buf_puts(m, "`, got ");
		put_quoted(m, s);
	} else {
		buf_puts(m, "could not be checked against the pattern `");
		put_pattern(m, n->pattern_src);
		if (rc == PCRE2_ERROR_MATCHLIMIT || rc == PCRE2_ERROR_DEPTHLIMIT ||
		    rc == PCRE2_ERROR_HEAPLIMIT || rc == PCRE2_ERROR_JIT_STACKLIMIT) {
			buf_puts(m, "` (matching took too many steps); send a shorter or simpler value");
		} else {
			PCRE2_UCHAR why[256];
			pcre2_get_error_message(rc, why, sizeof why);
			buf_printf(m, "` (%s)", (const char *)why);
		}
	}
	problem_end(c);
}

static void check_string(struct vctx *c, const struct snode *n, const char *s)
{
	size_t len, chars;

	if (n->min_length < 0 && n->max_length < 0 && !n->pattern)
		return;
	len = strlen(s);
	if (n->min_length >= 0 || n->max_length >= 0) {
		chars = count_code_points(s, len);
		if (n->min_length >= 0 && chars < (size_t)n->min_length)
			problem(c, "must be at least %lld character%s long, got %zu", n->min_length,
				n->min_length == 1 ? "" : "s", chars);
		if (n->max_length >= 0 && chars > (size_t)n->max_length)
			problem(c, "must be at most %lld character%s long, got %zu", n->max_length,
				n->max_length == 1 ? "" : "s", chars);
	}
	if (n->pattern)
		check_pattern(c, n, s, len);
}

static void check_number(struct vctx *c, const struct snode *n, double d)
{
	static const char *const words[4] = {
		"at least", "at most", "greater than", "less than",
	};
	for (int i = 0; i < 4; i++) {
		double b = n->bound[i];
		bool bad;
		struct buf *m;

		if (!(n->has_bound & (1u << i)))
			continue;
		bad = i == B_MIN ? d < b : i == B_MAX ? d > b : i == B_XMIN ? d <= b : d >= b;
		if (!bad || !(m = problem_begin(c, true)))
			continue;
		buf_printf(m, "must be %s ", words[i]);
		put_number(m, b);
		buf_puts(m, ", got ");
		put_number(m, d);
		problem_end(c);
	}
}

static long find_prop(const struct snode *n, const char *name)
{
	size_t lo = 0, hi = n->nprops;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int cmp = strcmp(name, n->by_name[mid]->name);
		if (cmp == 0)
			return n->by_name[mid] - n->props;
		if (cmp < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return -1;
}

static void problem_unexpected(struct vctx *c, const struct snode *n, const char *key,
			       const unsigned *seen)
{
	/* at the top level, "unexpected property `x`" says it all */
	struct buf *m = problem_begin(c, c->path.len > 0);
	const char **absent;
	const char *hint = NULL;
	size_t nabsent = 0;

	if (!m)
		return;
	buf_puts(m, "unexpected property `");
	put_key(m, key);
	buf_putc(m, '`');
	absent = xmalloc((n->nprops + 1) * sizeof *absent);
	for (size_t i = 0; i < n->nprops; i++)
		if (!seen[i])
			absent[nabsent++] = n->props[i].name;
	if (strlen(key) <= 64)
		hint = opt_suggest(key, absent, nabsent);
	free(absent);
	if (hint) {
		buf_puts(m, " (did you mean `");
		put_key(m, hint);
		buf_puts(m, "`?)");
	} else if (n->nprops == 0) {
		buf_puts(m, " (no properties are allowed)");
	} else {
		buf_puts(m, " (allowed: ");
		for (size_t i = 0; i < n->nprops; i++) {
			if (i == 10) {
				buf_printf(m, ", … %zu in all", n->nprops);
				break;
			}
			buf_puts(m, i ? ", `" : "`");
			put_key(m, n->props[i].name);
			buf_putc(m, '`');
		}
		buf_putc(m, ')');
	}
	problem_end(c);
}

/* Per declared property while checking one object. */
enum { SEEN_ONCE = 1, SEEN_TWICE = 2, SEEN_COUNT = 3, CHECKED = 4, REPORTED = 8 };

static void check_object(struct vctx *c, const struct snode *n, const cJSON *v)
{
	unsigned *seen;
	const cJSON *mem;

	if (!n->nprops && !n->nrequired && n->additional == ADD_ANY)
		return;
	seen = xcalloc(n->nprops + 1, sizeof *seen);
	for (mem = v->child; mem; mem = mem->next) {
		long i = find_prop(n, mem->string ? mem->string : "");
		if (i >= 0 && (seen[i] & SEEN_COUNT) < SEEN_TWICE)
			seen[i]++;
	}
	for (size_t r = 0; r < n->nrequired; r++) {
		long i = find_prop(n, n->required[r]);
		if (i >= 0 ? seen[i] == 0
			   : !cJSON_GetObjectItemCaseSensitive(v, n->required[r])) {
			size_t mark = path_push_key(&c->path, n->required[r]);
			problem(c, "required");
			buf_truncate(&c->path, mark);
		}
	}
	for (mem = v->child; mem; mem = mem->next) {
		const char *key = mem->string ? mem->string : "";
		long i = find_prop(n, key);
		size_t mark;

		if (i < 0 && n->additional == ADD_NONE) {
			problem_unexpected(c, n, key, seen);
			continue;
		}
		if (i < 0 && n->additional == ADD_ANY)
			continue;
		mark = path_push_key(&c->path, key);
		if (i < 0) {
			check(c, n->additional_schema, mem);
		} else if (!(seen[i] & CHECKED)) {
			check(c, n->props[i].schema, mem);
			seen[i] |= CHECKED;
		} else if (!(seen[i] & REPORTED)) {
			/* a tool would read only the first: say so once */
			problem(c, "given more than once");
			seen[i] |= REPORTED;
		}
		buf_truncate(&c->path, mark);
	}
	free(seen);
}

struct hashed {
	uint64_t hash;
	size_t index;
	const cJSON *item;
};

static int compare_hashed(const void *a, const void *b)
{
	const struct hashed *x = a, *y = b;

	if (x->hash != y->hash)
		return x->hash < y->hash ? -1 : 1;
	return x->index < y->index ? -1 : x->index > y->index;
}

/* uniqueItems: sort by hash, compare only within runs of equal hashes;
 * report the duplicate whose later index is smallest. */
static void check_unique(struct vctx *c, const cJSON *v, size_t count)
{
	struct hashed *h;
	size_t i = 0, first = 0, second = (size_t)-1, budget = UNIQUE_MAX_COMPARISONS;
	bool gave_up = false;

	if (count < 2)
		return;
	h = xmalloc(count * sizeof *h);
	for (const cJSON *e = v->child; e; e = e->next, i++) {
		h[i].hash = json_hash(e);
		h[i].index = i;
		h[i].item = e;
	}
	qsort(h, count, sizeof *h, compare_hashed);
	for (size_t start = 0; start < count && !gave_up;) {
		size_t end = start + 1;
		while (end < count && h[end].hash == h[start].hash)
			end++;
		for (size_t j = start + 1; j < end && !gave_up; j++) {
			bool found = false;
			if (h[j].index > second)
				break;
			for (size_t k = start; k < j; k++) {
				if (budget-- == 0) {
					gave_up = true;
					break;
				}
				if (json_equal(h[k].item, h[j].item)) {
					first = h[k].index;
					second = h[j].index;
					found = true;
					break;
				}
			}
			if (found)
				break;
		}
		start = end;
	}
	free(h);
	if (gave_up)
		problem(c, "items must be unique, and there are too many alike to check");
	else if (second != (size_t)-1)
		problem(c, "items must be unique, but [%zu] repeats [%zu]", second, first);
}

static void check_array(struct vctx *c, const struct snode *n, const cJSON *v)
{
	size_t count = 0, index = 0;

	for (const cJSON *e = v->child; e; e = e->next)
		count++;
	if (n->min_items >= 0 && count < (size_t)n->min_items)
		problem(c, "must have at least %lld item%s, got %zu", n->min_items,
			n->min_items == 1 ? "" : "s", count);
	if (n->max_items >= 0 && count > (size_t)n->max_items)
		problem(c, "must have at most %lld item%s, got %zu", n->max_items,
			n->max_items == 1 ? "" : "s", count);
	if (n->unique_items)
		check_unique(c, v, count);
	if (!n->items)
		return;
	for (const cJSON *e = v->child; e; e = e->next, index++) {
		size_t mark = path_push_index(&c->path, index);
		check(c, n->items, e);
		buf_truncate(&c->path, mark);
	}
}

static void sink_release(struct sink *k)
{
	buf_release(&k->lines);
}

/* Move the lines of from into the current sink, each indented. */
static void merge_lines(struct vctx *c, struct sink *from)
{
	const char *p = buf_cstr(&from->lines), *nl;

	while ((nl = strchr(p, '\n'))) {
		sink_add(c->sink, "  ", p, (size_t)(nl - p));
		p = nl + 1;
	}
	c->sink->count += from->count - from->kept;
}

/* No branch fits: say so as usefully as one message can. */
static void problem_no_branch(struct vctx *c, struct snode *const *br, size_t nb,
			      struct sink *subs, const char *kw, const cJSON *v)
{
	unsigned wanted = 0;
	unsigned char order[T_COUNT] = { 0 };
	size_t norder = 0, best = (size_t)-1;
	bool all_typed = true, all_constants = true;
	struct buf *m;

	for (size_t i = 0; i < nb; i++) {
		if (!br[i]->types || type_fits(br[i], v))
			all_typed = false;
		for (size_t t = 0; t < br[i]->ntypes; t++) {
			unsigned bit = 1u << br[i]->type_order[t];
			if (!(wanted & bit))
				order[norder++] = br[i]->type_order[t];
			wanted |= bit;
		}
		if ((!br[i]->enum_values && !br[i]->const_value) ||
		    (br[i]->enum_values && in_enum(br[i]->enum_values, v)) ||
		    (br[i]->const_value && json_equal(br[i]->const_value, v)))
			all_constants = false;
		/* the closest among the branches of the right type */
		if ((!br[i]->types || type_fits(br[i], v)) &&
		    (best == (size_t)-1 || subs[i].count < subs[best].count))
			best = i;
	}
	if (all_typed) {
		problem_type(c, wanted, order, norder, v);
		return;
	}
	if (all_constants) {
		problem_constants(c, (const struct snode *const *)br, nb, false, v);
		return;
	}
	m = problem_begin(c, true);
	if (!m) {
		if (subs[best].count > 1)
			c->sink->count += subs[best].count;
		return;
	}
	buf_printf(m, "matches no form in %s; the closest, %s[%zu], fails with:", kw, kw, best);
	if (subs[best].count == 1 && subs[best].kept == 1) {
		buf_putc(m, ' ');
		buf_add(m, subs[best].lines.data, subs[best].lines.len - 1);
		problem_end(c);
		return;
	}
	problem_end(c);
	merge_lines(c, &subs[best]);
}

static void check_branches(struct vctx *c, struct snode *const *br, size_t nb, const char *kw,
			   bool exactly_one, const cJSON *v)
{
	struct sink *saved = c->sink, *subs = xcalloc(nb, sizeof *subs);
	size_t nvalid = 0, tried = 0;

	for (; tried < nb; tried++) {
		c->sink = &subs[tried];
		check(c, br[tried], v);
		if (subs[tried].count == 0 && ++nvalid == (exactly_one ? 2 : 1))
			break;
	}
	if (tried < nb)
		tried++;
	c->sink = saved;
	if (nvalid == 0) {
		problem_no_branch(c, br, nb, subs, kw, v);
	} else if (nvalid > 1) {
		struct buf *m = problem_begin(c, true);
		if (m) {
			size_t which = 0;
			buf_printf(m, "matches more than one form in %s (", kw);
			for (size_t i = 0; i < tried; i++)
				if (subs[i].count == 0)
					buf_printf(m, "%s%s[%zu]", which++ ? " and " : "", kw, i);
			buf_puts(m, "); it must match exactly one");
			problem_end(c);
		}
	}
	for (size_t i = 0; i < tried; i++)
		sink_release(&subs[i]);
	free(subs);
}

static void check(struct vctx *c, const struct snode *n, const cJSON *v)
{
	if (n->is_false) {
		problem(c, "not allowed");
		return;
	}
	if (!value_types(v)) {
		problem(c, "not a JSON value");
		return;
	}
	if (!type_fits(n, v)) {
		problem_type(c, n->types, n->type_order, n->ntypes, v);
		return;
	}
	if (cJSON_IsNumber(v) && !isfinite(v->valuedouble)) {
		problem(c, isnan(v->valuedouble) ? "not a number" : "number out of range");
		return;
	}
	if (cJSON_IsString(v) && !utf8_is_valid(str_of(v), strlen(str_of(v)))) {
		problem(c, "not valid UTF-8");
		return;
	}
	if (n->enum_values && !in_enum(n->enum_values, v))
		problem_constants(c, &n, 1, false, v);
	else if (n->const_value && !json_equal(n->const_value, v))
		problem_constants(c, &n, 1, true, v);
	if (cJSON_IsString(v))
		check_string(c, n, str_of(v));
	else if (cJSON_IsNumber(v))
		check_number(c, n, v->valuedouble);
	else if (cJSON_IsObject(v))
		check_object(c, n, v);
	else if (cJSON_IsArray(v))
		check_array(c, n, v);
	for (size_t i = 0; i < n->n_all_of; i++)
		check(c, n->all_of[i], v);
	if (n->n_any_of)
		check_branches(c, n->any_of, n->n_any_of, "anyOf", false, v);
	if (n->n_one_of)
		check_branches(c, n->one_of, n->n_one_of, "oneOf", true, v);
	if (n->not_schema) {
		struct sink sub = { BUF_INIT, 0, 0 }, *saved = c->sink;
		c->sink = &sub;
		check(c, n->not_schema, v);
		c->sink = saved;
		if (sub.count == 0)
			problem(c, "must not match the schema in `not`");
		sink_release(&sub);
	}
}

int schema_validate(const struct schema *s, const cJSON *value, struct buf *problems)
{
	struct sink top = { BUF_INIT, 0, 0 };
	struct vctx c;

	vctx_init(&c, "the arguments", &top);
	if (!value)
		problem(&c, "missing");
	else if (find_too_deep(value, 0, SCHEMA_MAX_VALUE_DEPTH, &c.path))
		problem(&c, "nested more than %d levels deep", SCHEMA_MAX_VALUE_DEPTH);
	else
		check(&c, s->root, value);
	if (problems && top.lines.len)
		buf_add(problems, top.lines.data, top.lines.len);
	if (problems && top.count > top.kept)
		buf_printf(problems, "(and %zu more problem%s)\n", top.count - top.kept,
			   top.count - top.kept == 1 ? "" : "s");
	sink_release(&top);
	vctx_release(&c);
	return top.count ? 1 : 0;
}

/* ---- defaults ------------------------------------------------------------- */

static void apply_defaults(const struct snode *n, cJSON *v)
{
	if (n->is_false)
		return;
	if (cJSON_IsObject(v)) {
		for (size_t i = 0; i < n->nprops; i++) {
			const struct snode *p = n->props[i].schema;
			cJSON *m = cJSON_GetObjectItemCaseSensitive(v, n->props[i].name);
			if (!m && p->default_value) {
				m = cJSON_Duplicate(p->default_value, true);
				if (m && !cJSON_AddItemToObject(v, n->props[i].name, m)) {
					cJSON_Delete(m);
					m = NULL;
				}
			}
			if (m)
				apply_defaults(p, m);
		}
	} else if (cJSON_IsArray(v) && n->items) {
		for (cJSON *e = v->child; e; e = e->next)
			apply_defaults(n->items, e);
	}
	for (size_t i = 0; i < n->n_all_of; i++)
		apply_defaults(n->all_of[i], v);
}

void schema_apply_defaults(const struct schema *s, cJSON *value)
{
	if (s && value)
		apply_defaults(s->root, value);
}

/* ---- compiling ------------------------------------------------------------ */

enum keyword {
	KW_TYPE, KW_PROPERTIES, KW_REQUIRED, KW_ADDITIONAL, KW_ENUM, KW_CONST, KW_ITEMS,
	KW_MIN_ITEMS, KW_MAX_ITEMS, KW_UNIQUE, KW_MIN_LENGTH, KW_MAX_LENGTH, KW_MINIMUM,
	KW_MAXIMUM, KW_EXCL_MIN, KW_EXCL_MAX, KW_PATTERN, KW_ONE_OF, KW_ANY_OF, KW_ALL_OF,
	KW_NOT, KW_DEFAULT, KW_DESCRIPTION, KW_TITLE, KW_EXAMPLES, KW_COMMENT, KW_SCHEMA,
	KW_COUNT
};

static const char *const keywords[KW_COUNT] = {
	"type", "properties", "required", "additionalProperties", "enum", "const", "items",
	"minItems", "maxItems", "uniqueItems", "minLength", "maxLength", "minimum",
	"maximum", "exclusiveMinimum", "exclusiveMaximum", "pattern", "oneOf", "anyOf",
	"allOf", "not", "default", "description", "title", "examples", "$comment", "$schema",
};

/* Keywords of JSON Schema outside the subset, with what to do instead. */
static const struct {
	const char *name, *advice;
} unsupported[] = {
	{ "$ref", "write the referenced schema inline" },
	{ "$defs", "there is no $ref; write schemas inline" },
	{ "definitions", "there is no $ref; write schemas inline" },
	{ "$id", NULL },
	{ "$anchor", NULL },
	{ "$dynamicRef", NULL },
	{ "$dynamicAnchor", NULL },
	{ "$vocabulary", NULL },
	{ "format", "it would not be checked; use \"pattern\"" },
	{ "prefixItems", "use \"items\" or an object" },
	{ "additionalItems", "use \"items\"" },
	{ "contains", NULL },
	{ "minContains", NULL },
	{ "maxContains", NULL },
	{ "patternProperties", "list the properties" },
	{ "propertyNames", NULL },
	{ "minProperties", NULL },
	{ "maxProperties", NULL },
	{ "dependentRequired", NULL },
	{ "dependentSchemas", NULL },
	{ "dependencies", NULL },
	{ "unevaluatedProperties", "use \"additionalProperties\"" },
	{ "unevaluatedItems", NULL },
	{ "if", "use \"oneOf\" or \"anyOf\"" },
	{ "then", "use \"oneOf\" or \"anyOf\"" },
	{ "else", "use \"oneOf\" or \"anyOf\"" },
	{ "multipleOf", NULL },
	{ "contentEncoding", NULL },
	{ "contentMediaType", NULL },
	{ "contentSchema", NULL },
	{ "nullable", "use \"type\": [\"...\", \"null\"]" },
	{ "deprecated", NULL },
	{ "readOnly", NULL },
	{ "writeOnly", NULL },
};

struct cctx {
	struct buf path; /* where, then the keywords down to the current one */
	struct ferr *e;
};

static int cfail(struct cctx *cc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int cfail(struct cctx *cc, const char *fmt, ...)
{
	struct buf msg = BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	buf_vprintf(&msg, fmt, ap);
	va_end(ap);
	ferr_set(cc->e, FERR_CONFIG, "%s: %s", buf_cstr(&cc->path), buf_cstr(&msg));
	buf_release(&msg);
	return -1;
}

/* Like path_push_key, but the schema path always has a root ("where"). */
static size_t cpush(struct cctx *cc, const char *key)
{
	size_t mark = cc->path.len;

	if (is_plain_key(key)) {
		buf_putc(&cc->path, '.');
		buf_puts(&cc->path, key);
		return mark;
	}
	return path_push_key(&cc->path, key);
}

static void node_free(struct snode *n)
{
	if (!n)
		return;
	for (size_t i = 0; i < n->nprops; i++)
		node_free(n->props[i].schema);
	free(n->props);
	free(n->by_name);
	free(n->required);
	node_free(n->additional_schema);
	node_free(n->items);
	pcre2_code_free(n->pattern);
	for (size_t i = 0; i < n->n_one_of; i++)
		node_free(n->one_of[i]);
	for (size_t i = 0; i < n->n_any_of; i++)
		node_free(n->any_of[i]);
	for (size_t i = 0; i < n->n_all_of; i++)
		node_free(n->all_of[i]);
	free(n->one_of);
	free(n->any_of);
	free(n->all_of);
	node_free(n->not_schema);
	free(n);
}

static int compile_node(struct cctx *cc, const cJSON *j, struct snode **out);

static int type_index(const char *name)
{
	for (int t = 0; t < T_COUNT; t++)
		if (strcmp(name, type_names[t]) == 0)
			return t;
	return -1;
}

static int compile_type_name(struct cctx *cc, struct snode *n, const cJSON *item)
{
	const char *hint;
	int t;

	if (!cJSON_IsString(item))
		return cfail(cc, "must be a type name, got %s", value_type_name(item));
	t = type_index(str_of(item));
	if (t >= 0) {
		if (n->types & (1u << t))
			return cfail(cc, "\"%s\" is listed twice", type_names[t]);
		n->types |= 1u << t;
		n->type_order[n->ntypes++] = (unsigned char)t;
		return 0;
	}
	hint = strlen(str_of(item)) <= 64 ? opt_suggest(str_of(item), type_names, T_COUNT) : NULL;
	{
		struct buf q = BUF_INIT;
		put_quoted(&q, str_of(item));
		if (hint)
			cfail(cc, "unknown type %s; did you mean \"%s\"?", buf_cstr(&q), hint);
		else
			cfail(cc, "unknown type %s; the types are null, boolean, object, array, "
				  "number, string and integer", buf_cstr(&q));
		buf_release(&q);
	}
	return -1;
}

static int compile_type(struct cctx *cc, struct snode *n, const cJSON *j)
{
	size_t i = 0;

	if (cJSON_IsString(j))
		return compile_type_name(cc, n, j);
	if (!cJSON_IsArray(j))
		return cfail(cc, "must be a type name or an array of them, got %s",
			     value_type_name(j));
	if (!j->child)
		return cfail(cc, "must not be an empty array");
	for (const cJSON *t = j->child; t; t = t->next, i++) {
		size_t mark = path_push_index(&cc->path, i);
		if (compile_type_name(cc, n, t) < 0)
			return -1;
		buf_truncate(&cc->path, mark);
	}
	return 0;
}

static int compare_props(const void *a, const void *b)
{
	return strcmp((*(struct prop *const *)a)->name, (*(struct prop *const *)b)->name);
}

struct named {
	const char *name;
	size_t index;
};

static int compare_named(const void *a, const void *b)
{
	const struct named *x = a, *y = b;
	int cmp = strcmp(x->name, y->name);

	return cmp ? cmp : x->index < y->index ? -1 : x->index > y->index;
}

/* The position of the first name that repeats an earlier one, or -1.
 * Sorting keeps this O(n log n) for lists of any length. */
static long first_repeat(const char *const *names, size_t n)
{
	struct named *sorted = xmalloc((n + 1) * sizeof *sorted);
	long repeat = -1;

	for (size_t i = 0; i < n; i++) {
		sorted[i].name = names[i];
		sorted[i].index = i;
	}
	qsort(sorted, n, sizeof *sorted, compare_named);
	for (size_t i = 1; i < n; i++)
		if (strcmp(sorted[i - 1].name, sorted[i].name) == 0 &&
		    (repeat < 0 || sorted[i].index < (size_t)repeat))
			repeat = (long)sorted[i].index;
	free(sorted);
	return repeat;
}

static int compile_properties(struct cctx *cc, struct snode *n, const cJSON *j)
{
	size_t count = 0;

	if (!cJSON_IsObject(j))
		return cfail(cc, "must be an object, got %s", value_type_name(j));
	for (const cJSON *p = j->child; p; p = p->next)
		count++;
	n->props = xcalloc(count + 1, sizeof *n->props);
	n->by_name = xcalloc(count + 1, sizeof *n->by_name);
	for (const cJSON *p = j->child; p; p = p->next) {
		const char *name = p->string ? p->string : "";
		size_t mark = cpush(cc, name);
		n->props[n->nprops].name = name;
		n->by_name[n->nprops] = &n->props[n->nprops];
		if (compile_node(cc, p, &n->props[n->nprops++].schema) < 0)
			return -1;
		buf_truncate(&cc->path, mark);
	}
	qsort(n->by_name, n->nprops, sizeof *n->by_name, compare_props);
	for (size_t i = 1; i < n->nprops; i++) {
		if (strcmp(n->by_name[i - 1]->name, n->by_name[i]->name) == 0) {
			/* only a tree built in code can hold it: jsonc refuses
			 * duplicate keys */
			cpush(cc, n->by_name[i]->name);
			return cfail(cc, "property declared twice");
		}
	}
	return 0;
}

static int compile_required(struct cctx *cc, struct snode *n, const cJSON *j)
{
	size_t count = 0, i = 0;
	long repeat;

	if (!cJSON_IsArray(j))
		return cfail(cc, "must be an array of property names, got %s", value_type_name(j));
	for (const cJSON *r = j->child; r; r = r->next)
		count++;
	n->required = xcalloc(count + 1, sizeof *n->required);
	for (const cJSON *r = j->child; r; r = r->next, i++) {
		size_t mark = path_push_index(&cc->path, i);
		if (!cJSON_IsString(r))
			return cfail(cc, "must be a property name (a string), got %s",
				     value_type_name(r));
		n->required[n->nrequired++] = str_of(r);
		buf_truncate(&cc->path, mark);
	}
	repeat = first_repeat(n->required, n->nrequired);
	if (repeat >= 0) {
		struct buf q = BUF_INIT;
		path_push_index(&cc->path, (size_t)repeat);
		cfail(cc, "%s is listed twice", quoted(&q, n->required[repeat]));
		buf_release(&q);
		return -1;
	}
	return 0;
}

static int compile_list(struct cctx *cc, const cJSON *j, struct snode ***out, size_t *nout)
{
	size_t count = 0, i = 0;

	if (!cJSON_IsArray(j) || !j->child)
		return cfail(cc, "must be a non-empty array of schemas, got %s",
			     cJSON_IsArray(j) ? "an empty array" : value_type_name(j));
	for (const cJSON *s = j->child; s; s = s->next)
		count++;
	*out = xcalloc(count, sizeof **out);
	for (const cJSON *s = j->child; s; s = s->next, i++) {
		size_t mark = path_push_index(&cc->path, i);
		if (compile_node(cc, s, &(*out)[(*nout)++]) < 0)
			return -1;
		buf_truncate(&cc->path, mark);
	}
	return 0;
}

static int compile_count(struct cctx *cc, const cJSON *j, long long *out)
{
	if (!cJSON_IsNumber(j) || !is_integer(j->valuedouble) || j->valuedouble < 0) {
		struct buf got = BUF_INIT;
		put_value(&got, j);
		cfail(cc, "must be a non-negative integer, got %s", buf_cstr(&got));
		buf_release(&got);
		return -1;
	}
	*out = (long long)j->valuedouble;
	return 0;
}

static int compile_pattern(struct cctx *cc, struct snode *n, const cJSON *j)
{
	int code;
	PCRE2_SIZE offset;
	PCRE2_UCHAR why[256];
	const char *src;

	if (!cJSON_IsString(j))
		return cfail(cc, "must be a regular expression (a string), got %s",
			     value_type_name(j));
	src = str_of(j);
	n->pattern = pcre2_compile((PCRE2_SPTR)src, PCRE2_ZERO_TERMINATED,
				   PCRE2_UTF | PCRE2_DOLLAR_ENDONLY | PCRE2_ALT_BSUX |
					   PCRE2_NEVER_BACKSLASH_C,
				   &code, &offset, NULL);
	if (!n->pattern) {
		pcre2_get_error_message(code, why, sizeof why);
		return cfail(cc, "invalid regular expression: %s at offset %zu", (const char *)why,
			     count_code_points(src, offset));
	}
	/* Without JIT (not built in, or no executable memory) the interpreter
	 * runs under the same limits. */
	(void)pcre2_jit_compile(n->pattern, PCRE2_JIT_COMPLETE);
	n->pattern_src = src;
	return 0;
}

static int compile_keyword(struct cctx *cc, struct snode *n, enum keyword kw, const cJSON *j)
{
	switch (kw) {
	case KW_TYPE:
		return compile_type(cc, n, j);
	case KW_PROPERTIES:
		return compile_properties(cc, n, j);
	case KW_REQUIRED:
		return compile_required(cc, n, j);
	case KW_ADDITIONAL:
		if (cJSON_IsBool(j)) {
			n->additional = cJSON_IsTrue(j) ? ADD_ANY : ADD_NONE;
			return 0;
		}
		n->additional = ADD_SCHEMA;
		return compile_node(cc, j, &n->additional_schema);
	case KW_ENUM:
		if (!cJSON_IsArray(j) || !j->child)
			return cfail(cc, "must be a non-empty array, got %s",
				     cJSON_IsArray(j) ? "an empty array" : value_type_name(j));
		n->enum_values = j;
		return 0;
	case KW_CONST:
		n->const_value = j;
		return 0;
	case KW_DEFAULT:
		n->default_value = j;
		return 0;
	case KW_ITEMS:
		if (cJSON_IsArray(j))
			return cfail(cc, "must be a schema; the array (tuple) form is not supported");
		return compile_node(cc, j, &n->items);
	case KW_MIN_ITEMS:
		return compile_count(cc, j, &n->min_items);
	case KW_MAX_ITEMS:
		return compile_count(cc, j, &n->max_items);
	case KW_MIN_LENGTH:
		return compile_count(cc, j, &n->min_length);
	case KW_MAX_LENGTH:
		return compile_count(cc, j, &n->max_length);
	case KW_UNIQUE:
		if (!cJSON_IsBool(j))
			return cfail(cc, "must be true or false, got %s", value_type_name(j));
		n->unique_items = cJSON_IsTrue(j);
		return 0;
	case KW_MINIMUM:
	case KW_MAXIMUM:
	case KW_EXCL_MIN:
	case KW_EXCL_MAX: {
		int b = kw == KW_MINIMUM ? B_MIN : kw == KW_MAXIMUM ? B_MAX
			: kw == KW_EXCL_MIN ? B_XMIN : B_XMAX;
		if (cJSON_IsBool(j) && (kw == KW_EXCL_MIN || kw == KW_EXCL_MAX))
			return cfail(cc, "must be a number (the true/false form of draft 4 is "
					 "not supported; give the bound here instead)");
		if (!cJSON_IsNumber(j) || !isfinite(j->valuedouble))
			return cfail(cc, "must be a finite number, got %s", value_type_name(j));
		n->bound[b] = j->valuedouble;
		n->has_bound |= 1u << b;
		return 0;
	}
	case KW_PATTERN:
		return compile_pattern(cc, n, j);
	case KW_ONE_OF:
		return compile_list(cc, j, &n->one_of, &n->n_one_of);
	case KW_ANY_OF:
		return compile_list(cc, j, &n->any_of, &n->n_any_of);
	case KW_ALL_OF:
		return compile_list(cc, j, &n->all_of, &n->n_all_of);
	case KW_NOT:
		return compile_node(cc, j, &n->not_schema);
	case KW_DESCRIPTION:
	case KW_TITLE:
	case KW_COMMENT:
	case KW_SCHEMA:
		if (!cJSON_IsString(j))
			return cfail(cc, "must be a string, got %s", value_type_name(j));
		return 0;
	case KW_EXAMPLES:
		if (!cJSON_IsArray(j))
			return cfail(cc, "must be an array, got %s", value_type_name(j));
		return 0;
	case KW_COUNT:
		break;
	}
	return ferr_set(cc->e, FERR_INTERNAL, "schema: keyword %d has no compiler", (int)kw);
}

static int unknown_keyword(struct cctx *cc, const char *key)
{
	struct buf q = BUF_INIT;
	const char *hint;
	int rc;

	for (size_t i = 0; i < sizeof unsupported / sizeof *unsupported; i++)
		if (strcmp(key, unsupported[i].name) == 0)
			return unsupported[i].advice
			       ? cfail(cc, "\"%s\" is not supported; %s", key, unsupported[i].advice)
			       : cfail(cc, "\"%s\" is not supported", key);
	put_quoted(&q, key);
	hint = strlen(key) <= 64 ? opt_suggest(key, keywords, KW_COUNT) : NULL;
	if (hint)
		rc = cfail(cc, "unknown keyword %s; did you mean \"%s\"?", buf_cstr(&q), hint);
	else
		rc = cfail(cc, "unknown keyword %s", buf_cstr(&q));
	buf_release(&q);
	return rc;
}

/* A keyword that cannot apply to the declared type is a mistake. */
static int check_applies(struct cctx *cc, const struct snode *n, const cJSON *j)
{
	static const struct {
		enum keyword kw;
		unsigned types;
		const char *what;
	} applies[] = {
		{ KW_MIN_LENGTH, T_STRING, "strings" },
		{ KW_MAX_LENGTH, T_STRING, "strings" },
		{ KW_PATTERN, T_STRING, "strings" },
		{ KW_MINIMUM, T_NUMBER | T_INTEGER, "numbers" },
		{ KW_MAXIMUM, T_NUMBER | T_INTEGER, "numbers" },
		{ KW_EXCL_MIN, T_NUMBER | T_INTEGER, "numbers" },
		{ KW_EXCL_MAX, T_NUMBER | T_INTEGER, "numbers" },
		{ KW_PROPERTIES, T_OBJECT, "objects" },
		{ KW_REQUIRED, T_OBJECT, "objects" },
		{ KW_ADDITIONAL, T_OBJECT, "objects" },
		{ KW_ITEMS, T_ARRAY, "arrays" },
		{ KW_MIN_ITEMS, T_ARRAY, "arrays" },
		{ KW_MAX_ITEMS, T_ARRAY, "arrays" },
		{ KW_UNIQUE, T_ARRAY, "arrays" },
	};
	struct buf types = BUF_INIT;
	int rc = 0;

	if (!n->types)
		return 0;
	for (size_t t = 0; t < n->ntypes; t++)
		buf_printf(&types, "%s\"%s\"", t ? ", " : "", type_names[n->type_order[t]]);
	for (size_t i = 0; i < sizeof applies / sizeof *applies; i++) {
		if (!cJSON_GetObjectItemCaseSensitive(j, keywords[applies[i].kw]) ||
		    (n->types & applies[i].types))
			continue;
		cpush(cc, keywords[applies[i].kw]);
		rc = cfail(cc, "applies to %s, but \"type\" is %s%s%s", applies[i].what,
			   n->ntypes > 1 ? "[" : "", buf_cstr(&types), n->ntypes > 1 ? "]" : "");
		break;
	}
	buf_release(&types);
	return rc;
}

/* Bounds that exclude every value. */
static int check_bounds(struct cctx *cc, const struct snode *n)
{
	struct buf lo = BUF_INIT, hi = BUF_INIT;
	int rc;

	if (n->min_length >= 0 && n->max_length >= 0 && n->min_length > n->max_length)
		return cfail(cc, "minLength (%lld) is greater than maxLength (%lld)", n->min_length,
			     n->max_length);
	if (n->min_items >= 0 && n->max_items >= 0 && n->min_items > n->max_items)
		return cfail(cc, "minItems (%lld) is greater than maxItems (%lld)", n->min_items,
			     n->max_items);
	if (!(n->has_bound & (1u << B_MIN)) || !(n->has_bound & (1u << B_MAX)) ||
	    n->bound[B_MIN] <= n->bound[B_MAX])
		return 0;
	put_number(&lo, n->bound[B_MIN]);
	put_number(&hi, n->bound[B_MAX]);
	rc = cfail(cc, "minimum (%s) is greater than maximum (%s)", lo.data, hi.data);
	buf_release(&lo);
	buf_release(&hi);
	return rc;
}

/* With "properties" given, a required name outside them is a typo. */
static int check_required(struct cctx *cc, const struct snode *n, const cJSON *j)
{
	const char **names, *hint;
	struct buf q1 = BUF_INIT, q2 = BUF_INIT;
	int rc;

	if (!cJSON_GetObjectItemCaseSensitive(j, "properties"))
		return 0;
	for (size_t r = 0; r < n->nrequired; r++) {
		if (find_prop(n, n->required[r]) >= 0)
			continue;
		names = xcalloc(n->nprops + 1, sizeof *names);
		for (size_t i = 0; i < n->nprops; i++)
			names[i] = n->props[i].name;
		hint = strlen(n->required[r]) <= 64 ? opt_suggest(n->required[r], names, n->nprops)
						    : NULL;
		free(names);
		cpush(cc, "required");
		path_push_index(&cc->path, r);
		if (hint)
			rc = cfail(cc, "%s is not in \"properties\"; did you mean %s?",
				   quoted(&q1, n->required[r]), quoted(&q2, hint));
		else
			rc = cfail(cc, "%s is not in \"properties\"", quoted(&q1, n->required[r]));
		buf_release(&q1);
		buf_release(&q2);
		return rc;
	}
	return 0;
}

/* enum and const values the type rules out, and a default that fails. */
static int check_values(struct cctx *cc, const struct snode *n)
{
	struct sink sink = { BUF_INIT, 0, 0 };
	struct vctx v;
	size_t i = 0;
	int rc = 0;

	for (const cJSON *e = n->enum_values ? n->enum_values->child : NULL; e; e = e->next, i++) {
		if (type_fits(n, e))
			continue;
		cpush(cc, "enum");
		path_push_index(&cc->path, i);
		return cfail(cc, "%s is not of the schema's type", value_type_name(e));
	}
	if (n->const_value && !type_fits(n, n->const_value)) {
		cpush(cc, "const");
		return cfail(cc, "%s is not of the schema's type", value_type_name(n->const_value));
	}
	if (!n->default_value)
		return 0;
	vctx_init(&v, NULL, &sink);
	check(&v, n, n->default_value);
	vctx_release(&v);
	if (sink.count) {
		cpush(cc, "default");
		/* the first problem, without its newline */
		rc = cfail(cc, "does not match the schema: %.*s",
			   (int)(strchr(sink.lines.data, '\n') - sink.lines.data), sink.lines.data);
	}
	sink_release(&sink);
	return rc;
}

static int compile_node(struct cctx *cc, const cJSON *j, struct snode **out)
{
	struct snode *n = xcalloc(1, sizeof *n);
	uint64_t seen = 0;

	*out = n;
	n->min_items = n->max_items = n->min_length = n->max_length = -1;
	if (cJSON_IsBool(j)) {
		n->is_false = cJSON_IsFalse(j);
		return 0;
	}
	if (!cJSON_IsObject(j))
		return cfail(cc, "must be a schema (an object, true or false), got %s",
			     value_type_name(j));
	for (const cJSON *m = j->child; m; m = m->next) {
		const char *key = m->string ? m->string : "";
		int kw = -1;
		size_t mark;

		for (int k = 0; k < KW_COUNT; k++)
			if (strcmp(key, keywords[k]) == 0)
				kw = k;
		if (kw < 0)
			return unknown_keyword(cc, key);
		if (seen & (1ULL << kw))
			return cfail(cc, "\"%s\" is given twice", key);
		seen |= 1ULL << kw;
		mark = cpush(cc, key);
		if (compile_keyword(cc, n, (enum keyword)kw, m) < 0)
			return -1;
		buf_truncate(&cc->path, mark);
	}
	if (check_applies(cc, n, j) < 0 || check_bounds(cc, n) < 0 ||
	    check_required(cc, n, j) < 0 || check_values(cc, n) < 0)
		return -1;
	return 0;
}

/* Drop "$comment" wherever it is a keyword (not where it names a property). */
static void strip_comments(cJSON *j)
{
	static const char *const holding_schema[] = { "additionalProperties", "items", "not" };
	static const char *const holding_list[] = { "oneOf", "anyOf", "allOf" };
	cJSON *p;

	if (!cJSON_IsObject(j))
		return;
	cJSON_DeleteItemFromObjectCaseSensitive(j, "$comment");
	for (size_t i = 0; i < 3; i++)
		strip_comments(cJSON_GetObjectItemCaseSensitive(j, holding_schema[i]));
	for (size_t i = 0; i < 3; i++) {
		cJSON *list = cJSON_GetObjectItemCaseSensitive(j, holding_list[i]);
		for (cJSON *s = list ? list->child : NULL; s; s = s->next)
			strip_comments(s);
	}
	p = cJSON_GetObjectItemCaseSensitive(j, "properties");
	for (cJSON *s = p ? p->child : NULL; s; s = s->next)
		strip_comments(s);
}

int schema_compile(const cJSON *json, const char *where, struct schema **out, struct ferr *e)
{
	struct cctx cc = { BUF_INIT, e };
	struct schema *s = NULL;
	struct buf deep = BUF_INIT;
	int rc = -1;

	*out = NULL;
	buf_puts(&cc.path, where ? where : "schema");
	if (!json) {
		cfail(&cc, "missing");
		goto out;
	}
	/* Before copying: cJSON_Duplicate recurses without a limit. */
	if (find_too_deep(json, 0, SCHEMA_MAX_SCHEMA_DEPTH, &deep)) {
		if (deep.len && deep.data[0] != '[')
			buf_putc(&cc.path, '.');
		buf_add(&cc.path, deep.data, deep.len);
		cfail(&cc, "nested more than %d levels deep", SCHEMA_MAX_SCHEMA_DEPTH);
		goto out;
	}
	s = xcalloc(1, sizeof *s);
	s->source = cJSON_Duplicate(json, true);
	if (!s->source)
		abort();
	if (compile_node(&cc, s->source, &s->root) < 0)
		goto out;
	s->shown = cJSON_Duplicate(s->source, true);
	if (!s->shown)
		abort();
	strip_comments(s->shown);
	*out = s;
	s = NULL;
	rc = 0;
out:
	schema_free(s);
	buf_release(&deep);
	buf_release(&cc.path);
	return rc;
}

void schema_free(struct schema *s)
{
	if (!s)
		return;
	node_free(s->root);
	cJSON_Delete(s->source);
	cJSON_Delete(s->shown);
	free(s);
}

const cJSON *schema_json(const struct schema *s)
{
	return s->shown;
}

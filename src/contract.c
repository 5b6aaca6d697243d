/*
 * contract.c — loading and checking tool contract files (see
 * include/forja/contract.h and man/forja-contracts.5), validating a call's
 * arguments against a contract and expanding a command contract's argv.
 * The checks collect every problem of a file instead of stopping at the
 * first, so that `forja contracts check` shows them all at once.
 */
#include "forja/trust.h"
#include "forja/contract.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/syscall.h>
#endif

#include "forja/bootstrap.h"
#include "forja/json.h"
#include "forja/jsonc.h"
#include "forja/opt.h"
#include "forja/schema.h"
#include "forja/utf8.h"

#ifndef FORJA_DATADIR
#define FORJA_DATADIR "/usr/local/share/forja"
#endif

#define N(a) (sizeof(a) / sizeof *(a))

const char *const contract_builtin_tools[] = {
	"read_file", "write_file", "edit_file", "apply_patch", "list_dir", "glob", "grep", "run",
	NULL,
};

static const char *const top_keys[] = {
	"forja_contract", "name", "description", "kind", "input_schema", "argv", "shell",
	"effects", "limits", "env", "approval",
};
static const char *const effects_keys[] = { "read", "write", "exec", "network" };
static const char *const limits_keys[] = {
	"timeout_ms", "max_output_bytes", "memory_mb", "max_processes", "max_file_bytes",
};
static const char *const kind_names[] = { "builtin", "command" };
static const char *const approval_names[] = { "none", "on_write", "always" };
static const char *const default_env[] = { "PATH", "HOME", "LANG", "TERM" };

/* Shells whose "-c" takes a script: an argv running one of them must say
 * "shell": true when the script holds placeholders. */
static const char *const shells[] = {
	"sh", "bash", "dash", "zsh", "ksh", "mksh", "ash", "fish", "busybox",
};

/* Variables that hold credentials beyond the name patterns (see env_is_secret). */
static const char *const secret_env[] = {
	"AWS_ACCESS_KEY_ID", "GOOGLE_APPLICATION_CREDENTIALS", "GITHUB_PAT", "NETRC",
};

const char *contract_kind_name(enum contract_kind kind)
{
	return kind == CONTRACT_KIND_COMMAND ? "command" : "builtin";
}

const char *contract_approval_name(enum contract_approval a)
{
	return a == CONTRACT_APPROVAL_NONE ? "none" : a == CONTRACT_APPROVAL_ALWAYS ? "always"
										     : "on_write";
}

const char *contract_source_name(enum contract_source s)
{
	switch (s) {
	case CONTRACT_SOURCE_BUILTIN: return "builtin";
	case CONTRACT_SOURCE_USER: return "user";
	case CONTRACT_SOURCE_PROJECT: return "project";
	case CONTRACT_SOURCE_FILE: break;
	}
	return "file";
}

/* ---- string lists -------------------------------------------------------- */

static void list_push(char ***list, size_t *n, char *s)
{
	*list = xrealloc(*list, (*n + 1) * sizeof **list);
	(*list)[(*n)++] = s;
}

static void list_free(char **list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(list[i]);
	free(list);
}

/* "an object", "a string", "null": the type of v for messages. */
static const char *json_type_name(const cJSON *v)
{
	if (cJSON_IsObject(v))
		return "an object";
	if (cJSON_IsArray(v))
		return "an array";
	if (cJSON_IsString(v))
		return "a string";
	if (cJSON_IsNumber(v))
		return "a number";
	if (cJSON_IsBool(v))
		return "a boolean";
	return "null";
}

/* ---- the checker: one file, every problem --------------------------------- */

/* A problem waiting to be written: the file's problems come out in the
 * order of their positions, whatever order the checks ran in. */
struct located {
	long line, col;
	size_t seq;
	char *text;
};

struct check {
	const struct jsonc_doc *doc;
	struct located *found;
	int nproblems;
	struct contract *c;
	const cJSON *properties; /* input_schema.properties, when an object */
	bool has_schema;         /* input_schema is an object: placeholders can be checked */
};

/* msg is "file:line:col: what" (or "file: what") as jsonc writes it. */
static void problem_msg(struct check *ck, const char *msg)
{
	const char *name = jsonc_name(ck->doc), *p = msg;
	size_t n = strlen(name);
	struct located loc = { 0, 0, (size_t)ck->nproblems, xstrdup(msg) };

	if (strncmp(msg, name, n) == 0 && msg[n] == ':') {
		char *end;
		loc.line = strtol(p + n + 1, &end, 10);
		if (*end == ':')
			loc.col = strtol(end + 1, &end, 10);
	}
	ck->found = xrealloc(ck->found, ((size_t)ck->nproblems + 1) * sizeof *ck->found);
	ck->found[ck->nproblems++] = loc;
}

static int cmp_located(const void *a, const void *b)
{
	const struct located *x = a, *y = b;

	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	if (x->col != y->col)
		return x->col < y->col ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Append the problems found, in source order, to out and free them. */
static void flush_problems(struct check *ck, struct buf *out)
{
	if (ck->nproblems)
		qsort(ck->found, (size_t)ck->nproblems, sizeof *ck->found, cmp_located);
	for (int i = 0; i < ck->nproblems; i++) {
		buf_puts(out, ck->found[i].text);
		buf_putc(out, '\n');
		free(ck->found[i].text);
	}
	free(ck->found);
	ck->found = NULL;
}

static void problem_at(struct check *ck, const cJSON *item, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void problem_at(struct check *ck, const cJSON *item, const char *fmt, ...)
{
	struct buf msg = BUF_INIT;
	struct ferr e = FERR_INIT;
	va_list ap;

	va_start(ap, fmt);
	buf_vprintf(&msg, fmt, ap);
	va_end(ap);
	jsonc_error_at(ck->doc, item, &e, "%s", buf_cstr(&msg));
	problem_msg(ck, e.msg);
	buf_release(&msg);
}

static void warning_at(struct check *ck, const cJSON *item, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void warning_at(struct check *ck, const cJSON *item, const char *fmt, ...)
{
	struct buf msg = BUF_INIT;
	struct ferr e = FERR_INIT;
	va_list ap;

	buf_puts(&msg, "warning: ");
	va_start(ap, fmt);
	buf_vprintf(&msg, fmt, ap);
	va_end(ap);
	jsonc_error_at(ck->doc, item, &e, "%s", buf_cstr(&msg));
	list_push(&ck->c->warnings, &ck->c->nwarnings, xstrdup(e.msg));
	buf_release(&msg);
}

/* A jsonc_* getter's result: its message becomes a problem. */
static int got(struct check *ck, int rc, const struct ferr *e)
{
	if (rc < 0)
		problem_msg(ck, e->msg);
	return rc;
}

/* "`effects.read[2]`": the item's path for messages. */
static void label(struct check *ck, const cJSON *item, struct buf *out)
{
	buf_putc(out, '`');
	jsonc_path_of(ck->doc, item, out);
	buf_putc(out, '`');
}

/* Quote a value from the file for a message: a JSON string literal, cut
 * after 80 bytes so that one huge value cannot bury the others. */
static void put_value(struct buf *out, const char *s)
{
	size_t len = strlen(s), cut = len > 80 ? 80 : len;

	while (cut < len && cut > 0 && ((unsigned char)s[cut] & 0xC0) == 0x80)
		cut--;
	json_put_string(out, s, cut);
	if (cut < len)
		buf_puts(out, "...");
}

/* Every key of obj must be one of known; each unknown one is a problem,
 * worded as jsonc_check_keys() words the first. */
static void check_keys(struct check *ck, const cJSON *obj, const char *const *known, size_t n)
{
	for (const cJSON *m = obj ? obj->child : NULL; m; m = m->next) {
		size_t i = 0;
		while (i < n && strcmp(known[i], m->string) != 0)
			i++;
		if (i < n)
			continue;
		struct buf msg = BUF_INIT;
		buf_puts(&msg, "unknown key ");
		put_value(&msg, m->string);
		if (obj == jsonc_root(ck->doc)) {
			buf_puts(&msg, " at the top level");
		} else {
			buf_puts(&msg, " in \"");
			jsonc_path_of(ck->doc, obj, &msg);
			buf_putc(&msg, '"');
		}
		const char *hint = opt_suggest(m->string, known, n);
		if (hint) {
			buf_printf(&msg, "; did you mean \"%s\"?", hint);
		} else {
			buf_puts(&msg, "; the known keys are ");
			for (i = 0; i < n; i++)
				buf_printf(&msg, "%s\"%s\"", i ? ", " : "", known[i]);
		}
		problem_at(ck, m, "%s", buf_cstr(&msg));
		buf_release(&msg);
	}
}

/* The member key of obj, or a problem when it is missing. */
static const cJSON *required(struct check *ck, const cJSON *obj, const char *key)
{
	const cJSON *item = jsonc_member(obj, key);
	struct buf where = BUF_INIT;

	if (item)
		return item;
	if (obj != jsonc_root(ck->doc)) {
		buf_puts(&where, " in \"");
		jsonc_path_of(ck->doc, obj, &where);
		buf_putc(&where, '"');
	}
	problem_at(ck, obj, "missing required key \"%s\"%s", key, buf_cstr(&where));
	buf_release(&where);
	return NULL;
}

/* One of names (n of them) or a problem with a suggestion; -1 when not. */
static int one_of(struct check *ck, const cJSON *item, const char *const *names, size_t n)
{
	struct ferr e = FERR_INIT;
	const char *s = NULL;
	struct buf msg = BUF_INIT;

	if (got(ck, jsonc_as_string(ck->doc, item, &s, &e), &e) != 0)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (strcmp(s, names[i]) == 0)
			return (int)i;
	label(ck, item, &msg);
	buf_puts(&msg, " must be ");
	for (size_t i = 0; i < n; i++)
		buf_printf(&msg, "%s\"%s\"", i == 0 ? "" : i + 1 == n ? " or " : ", ", names[i]);
	buf_puts(&msg, ", got ");
	put_value(&msg, s);
	const char *hint = opt_suggest(s, names, n);
	if (hint)
		buf_printf(&msg, "; did you mean \"%s\"?", hint);
	problem_at(ck, item, "%s", buf_cstr(&msg));
	buf_release(&msg);
	return -1;
}

/* An array of strings copied into *list; each wrong element is a problem.
 * Returns 0, or -1 when item is not an array or is too long (then the
 * elements are not looked at). */
static int string_array(struct check *ck, const cJSON *item, char ***list, size_t *n)
{
	struct ferr e = FERR_INIT;
	const cJSON *arr = NULL, *el;
	int count;

	if (got(ck, jsonc_as_array(ck->doc, item, &arr, &e), &e) != 0)
		return -1;
	count = cJSON_GetArraySize(arr);
	if (count > CONTRACT_MAX_LIST) {
		struct buf msg = BUF_INIT;
		label(ck, item, &msg);
		problem_at(ck, item, "%s has %d elements; at most %d are allowed", buf_cstr(&msg),
			   count, CONTRACT_MAX_LIST);
		buf_release(&msg);
		return -1;
	}
	cJSON_ArrayForEach(el, arr) {
		const char *s;
		if (got(ck, jsonc_as_string(ck->doc, el, &s, &e), &e) == 0)
			list_push(list, n, xstrdup(s));
	}
	return 0;
}

/* ---- name, kind, schema ---------------------------------------------------- */

static bool name_is_valid(const char *s)
{
	size_t n = strlen(s);

	if (n < 1 || n > 64 || !(s[0] >= 'a' && s[0] <= 'z'))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
			return false;
	return true;
}

static bool is_builtin_tool(const char *name)
{
	for (size_t i = 0; contract_builtin_tools[i]; i++)
		if (strcmp(contract_builtin_tools[i], name) == 0)
			return true;
	return false;
}

static void check_name(struct check *ck, const cJSON *root)
{
	struct ferr e = FERR_INIT;
	const cJSON *item = required(ck, root, "name");
	const char *s;
	struct buf msg = BUF_INIT;

	if (!item || got(ck, jsonc_as_string(ck->doc, item, &s, &e), &e) != 0)
		return;
	jsonc_locate(ck->doc, item, &ck->c->line, &ck->c->col);
	if (name_is_valid(s)) {
		ck->c->name = xstrdup(s);
		return;
	}
	buf_puts(&msg, "`name` must be a lowercase letter followed by at most 63 lowercase "
		       "letters, digits or '_' (^[a-z][a-z0-9_]{0,63}$), got ");
	put_value(&msg, s);
	problem_at(ck, item, "%s", buf_cstr(&msg));
	buf_release(&msg);
}

static void check_description(struct check *ck, const cJSON *root)
{
	struct ferr e = FERR_INIT;
	const cJSON *item = required(ck, root, "description");
	const char *s;
	size_t len;

	if (!item || got(ck, jsonc_as_string(ck->doc, item, &s, &e), &e) != 0)
		return;
	len = strlen(s);
	if (strspn(s, " \t\r\n") == len)
		problem_at(ck, item, "`description` must not be empty: it is what tells the model "
				     "when to use the tool");
	else if (len > CONTRACT_MAX_DESCRIPTION)
		problem_at(ck, item, "`description` has %zu bytes; at most %d are allowed", len,
			   CONTRACT_MAX_DESCRIPTION);
	else
		ck->c->description = xstrdup(s);
}

/* Returns the kind, or -1 when it is missing or wrong. */
static int check_kind(struct check *ck, const cJSON *root)
{
	const cJSON *item = required(ck, root, "kind");
	int k = item ? one_of(ck, item, kind_names, N(kind_names)) : -1;

	if (k < 0)
		return -1;
	ck->c->kind = k == 0 ? CONTRACT_KIND_BUILTIN : CONTRACT_KIND_COMMAND;
	if (ck->c->kind == CONTRACT_KIND_BUILTIN && ck->c->name && !is_builtin_tool(ck->c->name)) {
		struct buf msg = BUF_INIT;
		const char *hint = opt_suggest(ck->c->name, contract_builtin_tools,
					       N(contract_builtin_tools) - 1);
		buf_printf(&msg, "a builtin contract must be named after a built-in tool (");
		for (size_t i = 0; contract_builtin_tools[i]; i++)
			buf_printf(&msg, "%s%s", i ? ", " : "", contract_builtin_tools[i]);
		buf_printf(&msg, "), got \"%s\"", ck->c->name);
		if (hint)
			buf_printf(&msg, "; did you mean \"%s\"?", hint);
		problem_at(ck, jsonc_member(root, "name"), "%s", buf_cstr(&msg));
		buf_release(&msg);
	}
	return k;
}

/*
 * A schema_compile() message, "input_schema.properties.x.type: what", at
 * the item its path names (or the nearest one jsonc_find() can reach: keys
 * written ["..."] cannot be looked up), else at the schema itself.
 */
static void schema_problem(struct check *ck, const cJSON *schema, const char *msg)
{
	const char *sep = strstr(msg, ": ");
	const cJSON *at = NULL;
	struct buf path = BUF_INIT;

	if (!sep || strncmp(msg, "input_schema", 12) != 0) {
		problem_at(ck, schema, "`input_schema`: %s", msg);
		return;
	}
	buf_add(&path, msg, (size_t)(sep - msg));
	for (size_t len = path.len; len > 0 && !at;) {
		buf_truncate(&path, len);
		at = jsonc_find(ck->doc, buf_cstr(&path));
		while (len > 0 && path.data[len - 1] != '.' && path.data[len - 1] != '[')
			len--;
		if (len > 0)
			len--;
	}
	buf_reset(&path);
	buf_add(&path, msg, (size_t)(sep - msg));
	problem_at(ck, at ? at : schema, "`%s`: %s", buf_cstr(&path), sep + 2);
	buf_release(&path);
}

static void check_schema(struct check *ck, const cJSON *root)
{
	const cJSON *item = required(ck, root, "input_schema"), *obj = NULL, *type;
	struct ferr e = FERR_INIT;

	if (!item || got(ck, jsonc_as_object(ck->doc, item, &obj, &e), &e) != 0)
		return;
	ck->has_schema = true;
	type = jsonc_member(obj, "type");
	if (!type)
		problem_at(ck, item, "`input_schema` must declare \"type\": \"object\": the "
				     "arguments of a tool call are an object");
	else if (!cJSON_IsString(type) || strcmp(type->valuestring, "object") != 0)
		problem_at(ck, type, "`input_schema.type` must be \"object\": the arguments of a "
				     "tool call are an object");
	if (schema_compile(obj, "input_schema", &ck->c->schema, &e) != 0) {
		ck->c->schema = NULL;
		schema_problem(ck, item, e.msg);
	} else {
		ck->c->input_schema = cJSON_Duplicate(obj, true);
	}
	ck->properties = jsonc_member(obj, "properties");
	if (!cJSON_IsObject(ck->properties))
		ck->properties = NULL;
}

/* ---- argv templates ------------------------------------------------------- */

/* One piece of a template element: literal text (braces already unescaped)
 * or a placeholder "{name}" / "{name...}". */
struct piece {
	bool is_placeholder;
	bool spread;
	char *text; /* the literal, or the placeholder's name */
};

struct template {
	struct piece *pieces;
	size_t n;
};

static void template_release(struct template *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->pieces[i].text);
	free(t->pieces);
	t->pieces = NULL;
	t->n = 0;
}

static void template_push(struct template *t, bool ph, bool spread, const char *s, size_t len)
{
	t->pieces = xrealloc(t->pieces, (t->n + 1) * sizeof *t->pieces);
	t->pieces[t->n++] = (struct piece){ ph, spread, xstrndup(s, len) };
}

static bool is_name_start(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '_';
}

static bool is_name_char(char ch)
{
	return is_name_start(ch) || (ch >= '0' && ch <= '9') || ch == '-';
}

/*
 * Split one argv element into pieces.  "{{" and "}}" are literal braces; a
 * placeholder is "{" NAME "}" or "{" NAME "...}" with NAME a letter or '_'
 * then letters, digits, '_' or '-'.  Returns 0, or -1 with *why set (t is
 * released) for a brace that is neither.
 */
static int template_parse(const char *s, struct template *t, const char **why)
{
	struct buf lit = BUF_INIT;

	t->pieces = NULL;
	t->n = 0;
	for (size_t i = 0; s[i];) {
		if (s[i] == '{' && s[i + 1] == '{') {
			buf_putc(&lit, '{');
			i += 2;
		} else if (s[i] == '}' && s[i + 1] == '}') {
			buf_putc(&lit, '}');
			i += 2;
		} else if (s[i] == '}') {
			*why = "a lone '}'; write '}}' for a literal brace";
			goto fail;
		} else if (s[i] == '{') {
			size_t j = i + 1, end;
			bool spread = false;
			while (is_name_char(s[j]))
				j++;
			end = j;
			if (strncmp(s + j, "...", 3) == 0) {
				spread = true;
				j += 3;
			}
			if (!is_name_start(s[i + 1]) || s[j] != '}') {
				*why = "'{' does not start a placeholder {name}; "
				       "write '{{' for a literal brace";
				goto fail;
			}
			if (lit.len) {
				template_push(t, false, false, lit.data, lit.len);
				buf_reset(&lit);
			}
			template_push(t, true, spread, s + i + 1, end - i - 1);
			i = j + 1;
		} else {
			buf_putc(&lit, s[i++]);
		}
	}
	if (lit.len || t->n == 0)
		template_push(t, false, false, buf_cstr(&lit), lit.len);
	buf_release(&lit);
	return 0;
fail:
	buf_release(&lit);
	template_release(t);
	return -1;
}

/* Whether the property's declared "type" allows the JSON type name. */
static bool type_allows(const cJSON *prop, const char *type, bool *declared)
{
	const cJSON *t = jsonc_member(prop, "type"), *el;

	*declared = false;
	if (cJSON_IsString(t)) {
		*declared = true;
		return strcmp(t->valuestring, type) == 0;
	}
	if (cJSON_IsArray(t)) {
		*declared = true;
		cJSON_ArrayForEach(el, t)
			if (cJSON_IsString(el) && strcmp(el->valuestring, type) == 0)
				return true;
	}
	return false;
}

/* Whether the property may hold a scalar that can become text. */
static bool type_allows_scalar(const cJSON *prop)
{
	static const char *const scalar[] = { "string", "number", "integer", "boolean" };
	bool declared = false;

	for (size_t i = 0; i < N(scalar); i++)
		if (type_allows(prop, scalar[i], &declared))
			return true;
	return !declared;
}

/* A problem with argv[idx]: "`argv[2]`: what". */
static void argv_problem(struct check *ck, const cJSON *el, size_t idx, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void argv_problem(struct check *ck, const cJSON *el, size_t idx, const char *fmt, ...)
{
	struct buf msg = BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	buf_vprintf(&msg, fmt, ap);
	va_end(ap);
	problem_at(ck, el, "`argv[%zu]`: %s", idx, buf_cstr(&msg));
	buf_release(&msg);
}

static void undeclared(struct check *ck, const cJSON *el, size_t idx, const char *name)
{
	const char *names[256];
	size_t n = 0;

	for (const cJSON *m = ck->properties ? ck->properties->child : NULL; m && n < N(names);
	     m = m->next)
		names[n++] = m->string;
	const char *hint = opt_suggest(name, names, n);
	if (hint)
		argv_problem(ck, el, idx, "{%s} is not a property of `input_schema`; "
					  "did you mean {%s}?", name, hint);
	else
		argv_problem(ck, el, idx, "{%s} is not a property of `input_schema`", name);
}

static void check_placeholders(struct check *ck, const cJSON *el, size_t idx,
			       const struct template *t, bool shell_script)
{
	for (size_t i = 0; i < t->n && ck->has_schema; i++) {
		const struct piece *p = &t->pieces[i];
		const cJSON *prop = jsonc_member(ck->properties, p->text);
		const char *x = p->text;
		bool declared;

		if (!p->is_placeholder)
			continue;
		if (!prop)
			undeclared(ck, el, idx, x);
		else if (p->spread && t->n != 1 && !shell_script)
			argv_problem(ck, el, idx, "{%s...} must be a whole element: it becomes one "
						  "element per item", x);
		else if (p->spread && !type_allows(prop, "array", &declared) && declared)
			argv_problem(ck, el, idx, "{%s...} needs an array, but `input_schema` does "
						  "not let \"%s\" be one; write {%s}", x, x, x);
		else if (!p->spread && !type_allows_scalar(prop) &&
			 type_allows(prop, "array", &declared))
			argv_problem(ck, el, idx, "\"%s\" is an array; write {%s...}", x, x);
		else if (!p->spread && !type_allows_scalar(prop))
			argv_problem(ck, el, idx, "\"%s\" is not a string, number or boolean, "
						  "so it cannot fill {%s}", x, x);
	}
}

static bool is_shell(const char *program)
{
	const char *base = strrchr(program, '/');

	base = base ? base + 1 : program;
	for (size_t i = 0; i < N(shells); i++)
		if (strcmp(base, shells[i]) == 0)
			return true;
	return false;
}

/* "-c", "-ec", "-xc": a shell option cluster that takes a script. */
static bool is_dash_c(const char *s)
{
	return s[0] == '-' && s[1] != '-' && s[1] && strchr(s + 1, 'c') &&
	       strspn(s + 1, "abcefhikmnprstuvxlCEO") == strlen(s + 1);
}

static void check_argv(struct check *ck, const cJSON *root, bool is_command)
{
	const cJSON *item = jsonc_member(root, "argv"), *shell_item = jsonc_member(root, "shell");
	struct ferr e = FERR_INIT;
	bool shell = false;
	size_t start_problems;

	if (!is_command) {
		if (item)
			problem_at(ck, item, "`argv` is only for command contracts; "
					     "a builtin one runs inside forja");
		if (shell_item)
			problem_at(ck, shell_item, "`shell` is only for command contracts");
		return;
	}
	if (shell_item && got(ck, jsonc_as_bool(ck->doc, shell_item, &shell, &e), &e) == 0)
		ck->c->shell = shell;
	item = required(ck, root, "argv");
	start_problems = (size_t)ck->nproblems;
	if (!item || string_array(ck, item, &ck->c->argv, &ck->c->argc) != 0)
		return;
	if (ck->c->argc == 0) {
		problem_at(ck, item, "`argv` must name at least the program to run");
		return;
	}
	if ((size_t)ck->nproblems != start_problems)
		return;
	if (shell && (ck->c->argc != 3 || strcmp(ck->c->argv[0], "sh") != 0 ||
		      strcmp(ck->c->argv[1], "-c") != 0)) {
		problem_at(ck, item,
			   "with \"shell\": true, `argv` must be [\"sh\", \"-c\", SCRIPT]");
		return;
	}
	if (shell)
		warning_at(ck, shell_item, "`shell` is true: the arguments go through sh, quoted; "
					   "an argv without a shell is safer and simpler");

	bool seen_dashdash = false, script_next = false;
	bool runs_shell = !shell && is_shell(ck->c->argv[0]);
	size_t idx = 0;
	const cJSON *el;
	cJSON_ArrayForEach(el, item) {
		struct template t;
		const char *why = NULL;
		bool is_script = script_next || (shell && idx == 2);
		if (template_parse(el->valuestring, &t, &why) != 0) {
			argv_problem(ck, el, idx, "%s", why);
			idx++;
			continue;
		}
		bool has_ph = false;
		for (size_t i = 0; i < t.n; i++)
			has_ph |= t.pieces[i].is_placeholder;
		if (idx == 0 && has_ph)
			problem_at(ck, el, "`argv[0]` names the program; "
					   "it may not hold a placeholder");
		else if (idx == 0 && !el->valuestring[0])
			problem_at(ck, el, "`argv[0]` must name the program to run");
		else if (has_ph && script_next)
			problem_at(ck, el, "`argv[%zu]` is a script for %s %s and holds "
					   "placeholders; set \"shell\": true so that their values "
					   "are quoted", idx, ck->c->argv[0], ck->c->argv[idx - 1]);
		else
			check_placeholders(ck, el, idx, &t, is_script);
		/* a value the model chose, read as an option, is a way around the contract */
		if (!shell && idx > 0 && !seen_dashdash && t.pieces[0].is_placeholder)
			warning_at(ck, el, "`argv[%zu]`: {%s%s} comes before \"--\": a value "
					   "starting with '-' would be read as an option",
				   idx, t.pieces[0].text, t.pieces[0].spread ? "..." : "");
		if (strcmp(el->valuestring, "--") == 0)
			seen_dashdash = true;
		script_next = runs_shell && idx > 0 && !script_next && is_dash_c(el->valuestring);
		template_release(&t);
		idx++;
	}
}

/* ---- effects, limits, env, approval ---------------------------------------- */

static bool has_glob(const char *s)
{
	return strpbrk(s, "*?[]") != NULL;
}

/* Whether the path names .git or .forja in any component (a pattern that
 * could match them counts). */
static bool names_protected(const char *path)
{
	struct buf comp = BUF_INIT;
	bool hit = false;

	for (const char *p = path; !hit;) {
		size_t n = strcspn(p, "/");
		buf_reset(&comp);
		buf_add(&comp, p, n);
		if (n && (fnmatch(buf_cstr(&comp), ".git", FNM_PERIOD | FNM_CASEFOLD) == 0 ||
			  fnmatch(buf_cstr(&comp), ".forja", FNM_PERIOD | FNM_CASEFOLD) == 0))
			hit = true;
		if (!p[n])
			break;
		p += n + 1;
	}
	buf_release(&comp);
	return hit;
}

static bool has_dotdot(const char *path)
{
	for (const char *p = path;;) {
		size_t n = strcspn(p, "/");
		if (n == 2 && p[0] == '.' && p[1] == '.')
			return true;
		if (!p[n])
			return false;
		p += n + 1;
	}
}

static void check_paths(struct check *ck, const cJSON *item, bool is_write, bool is_command,
			char ***list, size_t *n)
{
	struct buf msg = BUF_INIT;
	const cJSON *el;

	if (!item || string_array(ck, item, list, n) != 0)
		return;
	cJSON_ArrayForEach(el, item) {
		const char *p = el->valuestring;
		if (!cJSON_IsString(el))
			continue;
		buf_reset(&msg);
		label(ck, el, &msg);
		buf_putc(&msg, ' ');
		put_value(&msg, p);
		if (!*p)
			problem_at(ck, el, "%s: a path must not be empty; \".\" is the workspace",
				   buf_cstr(&msg));
		else if (p[0] == '~' && p[1] && p[1] != '/')
			problem_at(ck, el, "%s: '~' may only start \"~\" or \"~/...\" (the home "
					   "directory)", buf_cstr(&msg));
		else if (has_dotdot(p))
			problem_at(ck, el, "%s: a path may not contain \"..\"", buf_cstr(&msg));
		else if (is_command && has_glob(p))
			problem_at(ck, el, "%s: globs are allowed only for in-process tools; "
					   "a command contract names files or directories",
				   buf_cstr(&msg));
		else if (is_write && names_protected(p))
			problem_at(ck, el, "%s: writing .git or .forja is never granted",
				   buf_cstr(&msg));
	}
	buf_release(&msg);
}

static void check_effects(struct check *ck, const cJSON *root, int kind)
{
	const cJSON *item = required(ck, root, "effects"), *obj = NULL, *v;
	struct contract_effects *fx = &ck->c->effects;
	struct ferr e = FERR_INIT;
	bool is_command = kind == 1;

	if (!item || got(ck, jsonc_as_object(ck->doc, item, &obj, &e), &e) != 0)
		return;
	check_keys(ck, obj, effects_keys, N(effects_keys));
	check_paths(ck, required(ck, obj, "read"), false, is_command, &fx->read, &fx->nread);
	check_paths(ck, required(ck, obj, "write"), true, is_command, &fx->write, &fx->nwrite);
	if ((v = required(ck, obj, "exec")) &&
	    got(ck, jsonc_as_bool(ck->doc, v, &fx->exec, &e), &e) == 0 && is_command && !fx->exec)
		problem_at(ck, v, "`effects.exec` must be true for a command contract: it runs a "
				  "process");
	if ((v = required(ck, obj, "network")))
		got(ck, jsonc_as_bool(ck->doc, v, &fx->network, &e), &e);
}

static void check_limits(struct check *ck, const cJSON *root)
{
	static const long long max[] = {
		86400000LL, 1073741824LL, 1048576LL, 65536LL, 1099511627776LL,
	};
	struct contract_limits *l = &ck->c->limits;
	long long *slot[] = {
		&l->timeout_ms, &l->max_output_bytes, &l->memory_mb, &l->max_processes,
		&l->max_file_bytes,
	};
	const cJSON *obj = NULL;
	struct ferr e = FERR_INIT;

	if (got(ck, jsonc_get_object(ck->doc, root, "limits", &obj, &e), &e) != 0)
		return;
	check_keys(ck, obj, limits_keys, N(limits_keys));
	for (size_t i = 0; i < N(limits_keys); i++)
		got(ck, jsonc_get_int(ck->doc, obj, limits_keys[i], 1, max[i], slot[i], &e), &e);
}

static bool env_name_is_valid(const char *s)
{
	if (!is_name_start(*s))
		return false;
	for (s++; *s; s++)
		if (!is_name_start(*s) && !(*s >= '0' && *s <= '9'))
			return false;
	return true;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* Names that look like they hold a credential: *_KEY, *_TOKEN, *_SECRET,
 * *PASSWORD* and friends, compared without case, and the known ones. */
static bool env_is_secret(const char *name)
{
	struct buf up = BUF_INIT;
	bool secret;

	for (const char *p = name; *p; p++)
		buf_putc(&up, (char)toupper((unsigned char)*p));
	const char *u = buf_cstr(&up);
	secret = ends_with(u, "_KEY") || ends_with(u, "_TOKEN") || ends_with(u, "_SECRET") ||
		 strstr(u, "PASSWORD") || strstr(u, "PASSWD") || strstr(u, "API_KEY") ||
		 strstr(u, "APIKEY") || strstr(u, "SECRET_");
	for (size_t i = 0; !secret && i < N(secret_env); i++)
		secret = strcmp(u, secret_env[i]) == 0;
	buf_release(&up);
	return secret;
}

static void check_env(struct check *ck, const cJSON *root)
{
	const cJSON *item = jsonc_member(root, "env");
	struct contract *c = ck->c;
	struct buf msg = BUF_INIT;
	const cJSON *el;
	size_t i = 0;

	if (!item) {
		for (size_t d = 0; d < N(default_env); d++)
			list_push(&c->env, &c->nenv, xstrdup(default_env[d]));
		return;
	}
	if (string_array(ck, item, &c->env, &c->nenv) != 0)
		return;
	cJSON_ArrayForEach(el, item) {
		if (!cJSON_IsString(el))
			continue;
		buf_reset(&msg);
		label(ck, el, &msg);
		buf_putc(&msg, ' ');
		put_value(&msg, c->env[i]);
		size_t k = 0;
		while (k < i && strcmp(c->env[k], c->env[i]) != 0)
			k++;
		if (!env_name_is_valid(c->env[i]))
			problem_at(ck, el, "%s is not an environment variable name (letters, "
					   "digits and '_', not starting with a digit)",
				   buf_cstr(&msg));
		else if (env_is_secret(c->env[i]))
			problem_at(ck, el, "%s: API keys are never passed to tools",
				   buf_cstr(&msg));
		else if (k < i)
			problem_at(ck, el, "%s is listed twice", buf_cstr(&msg));
		i++;
	}
	buf_release(&msg);
}

static void check_approval(struct check *ck, const cJSON *root)
{
	const cJSON *item = jsonc_member(root, "approval");
	int a;

	ck->c->approval = CONTRACT_APPROVAL_ON_WRITE;
	if (!item || (a = one_of(ck, item, approval_names, N(approval_names))) < 0)
		return;
	ck->c->approval = a == 0 ? CONTRACT_APPROVAL_NONE
		: a == 1 ? CONTRACT_APPROVAL_ON_WRITE : CONTRACT_APPROVAL_ALWAYS;
}

/* ---- one contract ---------------------------------------------------------- */

static void check_contract(struct check *ck)
{
	const cJSON *root = jsonc_root(ck->doc), *obj = NULL, *fmt;
	struct ferr e = FERR_INIT;
	int kind;

	if (got(ck, jsonc_as_object(ck->doc, root, &obj, &e), &e) != 0)
		return;
	/* a newer format may have keys and rules this forja does not know */
	fmt = required(ck, root, "forja_contract");
	if (fmt && !cJSON_IsNumber(fmt)) {
		struct buf v = BUF_INIT;
		if (cJSON_IsString(fmt))
			put_value(&v, fmt->valuestring);
		else
			buf_puts(&v, json_type_name(fmt));
		problem_at(ck, fmt, "`forja_contract` must be the number %d, got %s",
			   CONTRACT_FORMAT, buf_cstr(&v));
		buf_release(&v);
	} else if (fmt) {
		double v = fmt->valuedouble;
		if (v > CONTRACT_FORMAT && v < 1e15 && v == (double)(long long)v) {
			problem_at(ck, fmt, "contract format %lld is newer than this forja "
					    "understands (%d)", (long long)v, CONTRACT_FORMAT);
			return;
		}
		if (v != CONTRACT_FORMAT)
			problem_at(ck, fmt, "`forja_contract` must be %d, got %g", CONTRACT_FORMAT,
				   v);
	}
	check_keys(ck, root, top_keys, N(top_keys));
	check_name(ck, root);
	check_description(ck, root);
	kind = check_kind(ck, root);
	check_schema(ck, root);
	if (kind >= 0)
		check_argv(ck, root, kind == 1);
	check_effects(ck, root, kind);
	check_limits(ck, root);
	check_env(ck, root);
	check_approval(ck, root);
}

static void too_large(struct buf *problems, const char *path, unsigned long long size)
{
	char *shown = utf8_path_dup(path, strlen(path));

	buf_printf(problems, "%s: a contract file may hold at most %zu bytes (1 MiB); this one "
			     "has %llu\n", shown, CONTRACT_MAX_FILE, size);
	free(shown);
}

static void set_defaults(struct contract *c)
{
	memset(c, 0, sizeof *c);
	c->limits = (struct contract_limits){
		.timeout_ms = 600000,
		.max_output_bytes = 1048576,
		.memory_mb = 4096,
		.max_processes = 512,
		.max_file_bytes = 1073741824LL,
	};
	c->approval = CONTRACT_APPROVAL_ON_WRITE;
	c->source = CONTRACT_SOURCE_FILE;
}

int contract_parse(const char *name, const char *text, size_t len, struct contract *out,
		   struct buf *problems)
{
	struct jsonc_doc *doc = NULL;
	struct ferr e = FERR_INIT;
	struct check ck = { 0 };

	set_defaults(out);
	if (!name)
		name = "<string>";
	if (len > CONTRACT_MAX_FILE) {
		too_large(problems, name, len);
		return 1;
	}
	if (jsonc_parse(name, text, len, &doc, &e) != 0) {
		buf_printf(problems, "%s\n", e.msg);
		return 1;
	}
	ck = (struct check){ .doc = doc, .c = out };
	out->file = xstrdup(jsonc_name(doc));
	check_contract(&ck);
	flush_problems(&ck, problems);
	jsonc_free(doc);
	if (ck.nproblems == 0)
		return 0;
	contract_release(out);
	return 1;
}

/* Read what fd holds (a regular file) and check it. */
static int load_fd(int fd, const char *path, struct contract *out, struct buf *problems,
		   struct ferr *e)
{
	struct buf data = BUF_INIT;
	struct stat st;
	int rc;

	set_defaults(out);
	if (fstat(fd, &st) == 0 && (unsigned long long)st.st_size > CONTRACT_MAX_FILE) {
		too_large(problems, path, (unsigned long long)st.st_size);
		return 1;
	}
	for (;;) {
		ssize_t n;
		buf_grow(&data, 65536);
		n = read(fd, data.data + data.len, 65536);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			char *shown = utf8_path_dup(path, strlen(path));
			ferr_set(e, FERR_IO, "%s: %s", shown, strerror(errno));
			free(shown);
			buf_release(&data);
			return -1;
		}
		if (n == 0)
			break;
		data.len += (size_t)n;
		if (data.len > CONTRACT_MAX_FILE) {
			/* it grew while being read */
			too_large(problems, path, (unsigned long long)data.len);
			buf_release(&data);
			return 1;
		}
	}
	rc = contract_parse(path, buf_cstr(&data), data.len, out, problems);
	buf_release(&data);
	return rc;
}

int contract_load_file(const char *path, struct contract *out, struct buf *problems,
		       struct ferr *e)
{
	char *shown = utf8_path_dup(path, strlen(path));
	struct stat st;
	int fd, rc = -1;

	set_defaults(out);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0) {
		ferr_set(e, FERR_IO, "%s: %s", shown, strerror(errno));
		goto out;
	}
	if (fstat(fd, &st) != 0) {
		ferr_set(e, FERR_IO, "%s: %s", shown, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		ferr_set(e, FERR_IO, "%s: %s", shown,
			 S_ISDIR(st.st_mode) ? "is a directory, not a file" : "not a regular file");
		goto out;
	}
	rc = load_fd(fd, path, out, problems, e);
out:
	if (fd >= 0)
		close(fd);
	free(shown);
	return rc;
}

void contract_release(struct contract *c)
{
	if (!c)
		return;
	free(c->name);
	free(c->description);
	free(c->file);
	cJSON_Delete(c->input_schema);
	schema_free(c->schema);
	list_free(c->argv, c->argc);
	list_free(c->effects.read, c->effects.nread);
	list_free(c->effects.write, c->effects.nwrite);
	list_free(c->env, c->nenv);
	list_free(c->warnings, c->nwarnings);
	set_defaults(c);
}

/* ---- sets ---------------------------------------------------------------- */

const struct contract *contract_find(const struct contract_set *set, const char *name)
{
	for (size_t i = 0; set && name && i < set->count; i++)
		if (strcmp(set->items[i].name, name) == 0)
			return &set->items[i];
	return NULL;
}

int contract_set_add(struct contract_set *set, struct contract *c, struct buf *problems)
{
	const struct contract *old = contract_find(set, c->name);

	if (old) {
		buf_printf(problems, "%s:%d:%d: contract \"%s\" ", c->file, c->line, c->col,
			   c->name);
		if (old->source == CONTRACT_SOURCE_BUILTIN && c->source != CONTRACT_SOURCE_BUILTIN)
			buf_printf(problems, "is a built-in one (%s); "
					     "a %s contract cannot replace it\n",
				   old->file, contract_source_name(c->source));
		else
			buf_printf(problems, "is already declared in %s\n", old->file);
		contract_release(c);
		return 1;
	}
	set->items = xrealloc(set->items, (set->count + 1) * sizeof *set->items);
	set->items[set->count++] = *c;
	set_defaults(c);
	return 0;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names in dir that may be contracts, sorted; -1 with errno when dir
 * cannot be read. */
static int list_dir(int dirfd, char ***names, size_t *n)
{
	int fd = dup(dirfd);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *de;

	*names = NULL;
	*n = 0;
	if (!d) {
		int saved = errno;
		if (fd >= 0)
			close(fd);
		errno = saved;
		return -1;
	}
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name);
		if (de->d_name[0] == '.' || len <= 5 || strcmp(de->d_name + len - 5, ".json") != 0)
			continue;
		list_push(names, n, xstrdup(de->d_name));
	}
	closedir(d);
	if (*n)
		qsort(*names, *n, sizeof **names, cmp_names);
	return 0;
}

#ifdef SYS_openat2
struct open_how_compat {
	uint64_t flags, mode, resolve;
};
#define RESOLVE_NO_MAGICLINKS_ 0x02
#define RESOLVE_BENEATH_ 0x08
#endif

/*
 * Open name inside dirfd for reading without leaving the directory through
 * a symbolic link: openat2(RESOLVE_BENEATH) where the kernel has it, else
 * the resolved path compared with the directory's.  Returns the fd or -1
 * with errno (EXDEV for a link out of the directory).
 */
static int open_beneath(int dirfd, const char *dir, const char *name)
{
	int flags = O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY;
#ifdef SYS_openat2
	struct open_how_compat how = { (uint64_t)flags, 0,
				       RESOLVE_BENEATH_ | RESOLVE_NO_MAGICLINKS_ };
	long fd = syscall(SYS_openat2, dirfd, name, &how, sizeof how);
	/* EXDEV also for an absolute link back into the directory: look closer */
	if (fd >= 0 || (errno != ENOSYS && errno != EPERM && errno != EINVAL && errno != EXDEV))
		return (int)fd;
#endif
	struct buf path = BUF_INIT;
	char *real_dir = realpath(dir, NULL), *real = NULL;
	int rc = -1;

	buf_printf(&path, "%s/%s", dir, name);
	real = realpath(path.data, NULL);
	if (!real_dir || !real)
		goto out;
	size_t n = strlen(real_dir);
	if (strncmp(real, real_dir, n) != 0 || (real[n] != '/' && strcmp(real_dir, "/") != 0)) {
		errno = EXDEV;
		goto out;
	}
	rc = open(real, flags);
out:
	free(real_dir);
	free(real);
	buf_release(&path);
	return rc;
}

/* Load every contract in dir into set.  Returns 0, or -1 when dir exists
 * and cannot be read; *had_problems is set when a file had problems. */
static int load_dir(struct contract_set *set, const char *dir, enum contract_source source,
		    struct buf *problems, bool *had_problems, struct ferr *e)
{
	char **names = NULL;
	size_t n = 0;
	int dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	char *shown_dir = utf8_path_dup(dir, strlen(dir));
	struct buf path = BUF_INIT;
	int rc = -1;

	if (dirfd < 0) {
		if (errno == ENOENT || errno == ENOTDIR) {
			rc = 0;
			goto out;
		}
		ferr_set(e, FERR_IO, "cannot read the contracts in %s: %s", shown_dir,
			 strerror(errno));
		goto out;
	}
	if (list_dir(dirfd, &names, &n) != 0) {
		ferr_set(e, FERR_IO, "cannot read the contracts in %s: %s", shown_dir,
			 strerror(errno));
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		struct contract c;
		struct stat st;
		struct ferr fe = FERR_INIT;
		int fd = open_beneath(dirfd, dir, names[i]);
		buf_reset(&path);
		buf_printf(&path, "%s/%s", dir, names[i]);
		char *shown = utf8_path_dup(path.data, path.len);
		if (fd < 0) {
			*had_problems = true;
			buf_printf(problems, "%s: ", shown);
			if (errno == EXDEV || errno == ELOOP)
				buf_printf(problems, "a symbolic link that leads out of %s; "
						     "not followed\n", shown_dir);
			else if (errno == ENOENT)
				buf_puts(problems,
					 "a symbolic link to a file that does not exist\n");
			else
				buf_printf(problems, "%s\n", strerror(errno));
		} else if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
			int r = load_fd(fd, path.data, &c, problems, &fe);
			if (r < 0) {
				*had_problems = true;
				buf_printf(problems, "%s\n", fe.msg);
			} else if (r > 0) {
				*had_problems = true;
			} else {
				c.source = source;
				if (contract_set_add(set, &c, problems) != 0)
					*had_problems = true;
			}
		}
		if (fd >= 0)
			close(fd);
		free(shown);
	}
	rc = 0;
out:
	if (dirfd >= 0)
		close(dirfd);
	list_free(names, n);
	buf_release(&path);
	free(shown_dir);
	return rc;
}

static bool is_dir(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static char *find_builtin_dir(void)
{
	const char *env = getenv("FORJA_CONTRACTS_DIR");
	struct buf exe = BUF_INIT, dir = BUF_INIT;
	char *found = NULL;

	if (env && *env)
		return xstrdup(env);
	for (size_t size = 256; size <= 65536; size *= 2) {
		buf_reset(&exe);
		buf_grow(&exe, size);
		ssize_t n = readlink("/proc/self/exe", exe.data, size);
		if (n < 0)
			break;
		if ((size_t)n < size) {
			exe.len = (size_t)n;
			exe.data[n] = '\0';
			break;
		}
	}
	char *slash = exe.len ? strrchr(exe.data, '/') : NULL;
	if (slash) {
		*slash = '\0';
		buf_printf(&dir, "%s/contracts", exe.data);
		if (is_dir(dir.data))
			found = buf_steal(&dir);
		if (!found) {
			buf_reset(&dir);
			buf_printf(&dir, "%s/../share/forja/contracts", exe.data);
			if (is_dir(dir.data))
				found = buf_steal(&dir);
		}
	}
	buf_release(&exe);
	buf_release(&dir);
	return found ? found : xstrdup(FORJA_DATADIR "/contracts");
}

static char *find_user_dir(void)
{
	const char *xdg = getenv("XDG_CONFIG_HOME");
	const char *home = getenv("HOME");
	struct buf p = BUF_INIT;

	if (xdg && xdg[0] == '/')
		buf_printf(&p, "%s/forja/contracts", xdg);
	else if (home && *home)
		buf_printf(&p, "%s/.config/forja/contracts", home);
	else
		return NULL;
	return buf_steal(&p);
}

static bool same_dir(const char *a, const char *b)
{
	struct stat sa, sb;
	return a && b && stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
	       sa.st_ino == sb.st_ino;
}

/* How many contract files the directory holds (regular files only). */
static size_t count_contracts(const char *dir)
{
	int dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	char **names = NULL;
	size_t n = 0, count = 0;
	struct stat st;

	if (dirfd < 0)
		return 0;
	if (list_dir(dirfd, &names, &n) == 0)
		for (size_t i = 0; i < n; i++)
			if (fstatat(dirfd, names[i], &st, AT_SYMLINK_NOFOLLOW) == 0 &&
			    (S_ISREG(st.st_mode) || S_ISLNK(st.st_mode)))
				count++;
	list_free(names, n);
	close(dirfd);
	return count;
}

int contract_set_load(const char *cwd, struct contract_set *set, struct buf *problems,
		      struct ferr *e)
{
	bool had_problems = false;
	char *root;

	memset(set, 0, sizeof *set);
	set->builtin_dir = find_builtin_dir();
	set->user_dir = find_user_dir();
	if (load_dir(set, set->builtin_dir, CONTRACT_SOURCE_BUILTIN, problems, &had_problems,
		     e) != 0)
		goto fail;
	if (set->user_dir && !same_dir(set->builtin_dir, set->user_dir) &&
	    load_dir(set, set->user_dir, CONTRACT_SOURCE_USER, problems, &had_problems, e) != 0)
		goto fail;
	root = cwd ? bootstrap_project_root(cwd) : NULL;
	if (root) {
		struct buf dir = BUF_INIT, note = BUF_INIT;
		buf_printf(&dir, "%s/.forja/contracts", root);
		size_t n = count_contracts(dir.data);
		if (n && trust_is_trusted(root)) {
			if (load_dir(set, dir.data, CONTRACT_SOURCE_PROJECT, problems, &had_problems,
				     e) != 0) {
				buf_release(&dir);
				free(root);
				goto fail;
			}
		} else if (n) {
			char *shown = utf8_path_dup(dir.data, dir.len);
			buf_printf(&note, "the project has %zu contract%s in %s that %s not "
					  "loaded until the project is trusted ('forja trust')",
				   n, n == 1 ? "" : "s", shown, n == 1 ? "is" : "are");
			list_push(&set->notes, &set->nnotes, buf_steal(&note));
			free(shown);
		}
		set->project_dir = buf_steal(&dir);
		free(root);
	}
	return had_problems ? 1 : 0;
fail:
	contract_set_release(set);
	return -1;
}

void contract_set_release(struct contract_set *set)
{
	for (size_t i = 0; i < set->count; i++)
		contract_release(&set->items[i]);
	free(set->items);
	list_free(set->notes, set->nnotes);
	free(set->builtin_dir);
	free(set->user_dir);
	free(set->project_dir);
	memset(set, 0, sizeof *set);
}

/* ---- calls ----------------------------------------------------------------- */

int contract_validate_args(const struct contract *c, const char *json, size_t len, cJSON **args,
			   struct buf *problems)
{
	struct jsonc_doc *doc = NULL;
	struct ferr e = FERR_INIT;
	const cJSON *root;
	size_t blank = 0;
	int rc = 1;

	*args = NULL;
	if (!json)
		len = 0;
	if (len > CONTRACT_MAX_ARGS) {
		buf_printf(problems, "the arguments are %zu bytes; at most %zu are accepted\n", len,
			   CONTRACT_MAX_ARGS);
		return 1;
	}
	while (blank < len && json[blank] && strchr(" \t\r\n", json[blank]))
		blank++;
	if (blank == len) {
		json = "{}";
		len = 2;
	}
	if (jsonc_parse("arguments", json, len, &doc, &e) != 0) {
		buf_printf(problems, "%s\n", e.msg);
		return 1;
	}
	root = jsonc_root(doc);
	if (!cJSON_IsObject(root)) {
		buf_printf(problems, "the arguments must be a JSON object, got %s\n",
			   json_type_name(root));
		goto out;
	}
	if (!c->schema) {
		buf_printf(problems, "the contract of %s has no usable input_schema\n",
			   c->name ? c->name : "this tool");
		goto out;
	}
	/* defaults first, so that the tool runs on exactly what was checked */
	cJSON *value = cJSON_Duplicate(root, true);
	size_t before = problems->len;
	if (!value)
		abort();
	schema_apply_defaults(c->schema, value);
	if (schema_validate(c->schema, value, problems) != 0) {
		cJSON_Delete(value);
		if (problems->len == before)
			buf_puts(problems, "the arguments do not match the tool's input_schema\n");
		else if (problems->data[problems->len - 1] != '\n')
			buf_putc(problems, '\n');
		goto out;
	}
	*args = value;
	rc = 0;
out:
	jsonc_free(doc);
	return rc;
}

/* A scalar argument as text: strings as they are, numbers as JSON writes
 * them, true and false.  Returns 0, or -1 for anything else. */
static int scalar_text(const cJSON *v, struct buf *out)
{
	if (cJSON_IsString(v)) {
		buf_puts(out, v->valuestring);
	} else if (cJSON_IsBool(v)) {
		buf_puts(out, cJSON_IsTrue(v) ? "true" : "false");
	} else if (cJSON_IsNumber(v)) {
		char *s = cJSON_PrintUnformatted(v);
		if (!s)
			return -1;
		buf_puts(out, s);
		cJSON_free(s);
	} else {
		return -1;
	}
	return 0;
}

static const cJSON *arg_value(const cJSON *args, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(args, name);
	return cJSON_IsNull(v) ? NULL : v;
}

struct expansion {
	char **argv;
	size_t argc;
	size_t bytes;
};

static int emit(struct expansion *x, struct buf *arg, struct ferr *e)
{
	if (arg->len >= CONTRACT_MAX_ARG_BYTES)
		return ferr_set(e, FERR_DENIED, "an argument of %zu bytes is too long for a "
						"command line (at most %zu)",
				arg->len, CONTRACT_MAX_ARG_BYTES - 1);
	x->bytes += arg->len + 1;
	if (x->bytes > CONTRACT_MAX_ARGV_BYTES)
		return ferr_set(e, FERR_DENIED, "the command line would be longer than %zu bytes",
				CONTRACT_MAX_ARGV_BYTES);
	if (!arg->data)
		buf_puts(arg, "");
	list_push(&x->argv, &x->argc, buf_steal(arg));
	return 0;
}

/*
 * The texts a placeholder's value stands for: one for "{x}" (a string,
 * number or boolean), one per item for "{x...}" (an array of them, or a
 * single one).  Returns 1 when the argument is absent, 0, or -1 with e set.
 */
static int value_texts(const cJSON *args, const struct piece *p, char ***texts, size_t *n,
		       struct ferr *e)
{
	const cJSON *v = arg_value(args, p->text), *el;
	struct buf text = BUF_INIT;

	*texts = NULL;
	*n = 0;
	if (!v)
		return 1;
	if (!p->spread || !cJSON_IsArray(v)) {
		if (scalar_text(v, &text) != 0)
			return ferr_set(e, FERR_DENIED,
					"`%s`: expected %sa string, number or boolean, got %s",
					p->text, p->spread ? "an array or " : "",
					json_type_name(v));
		list_push(texts, n, buf_steal(&text));
		return 0;
	}
	cJSON_ArrayForEach(el, v) {
		if (scalar_text(el, &text) != 0) {
			list_free(*texts, *n);
			*texts = NULL;
			*n = 0;
			buf_release(&text);
			return ferr_set(e, FERR_DENIED,
					"`%s`: each item must be a string, number or boolean, "
					"got %s",
					p->text, json_type_name(el));
		}
		list_push(texts, n, buf_steal(&text));
	}
	return 0;
}

/* One template element into zero or more argv elements. */
static int expand_element(struct expansion *x, const char *element, const cJSON *args,
			  bool shell_script, struct ferr *e)
{
	struct template t;
	const char *why = NULL;
	struct buf arg = BUF_INIT;
	char **texts = NULL;
	size_t ntexts = 0;
	int rc = -1;

	if (template_parse(element, &t, &why) != 0)
		return ferr_set(e, FERR_INTERNAL, "argv template \"%s\": %s", element, why);
	bool alone = !shell_script && t.n == 1 && t.pieces[0].is_placeholder;
	for (size_t i = 0; i < t.n; i++) {
		const struct piece *p = &t.pieces[i];
		if (!p->is_placeholder) {
			buf_puts(&arg, p->text);
			continue;
		}
		if (p->spread && !shell_script && !alone) {
			ferr_set(e, FERR_INTERNAL, "argv template \"%s\": {%s...} inside an "
						   "element", element, p->text);
			goto out;
		}
		int r = value_texts(args, p, &texts, &ntexts, e);
		if (r < 0)
			goto out;
		if (r > 0 && !shell_script) {
			/* an absent optional argument takes its whole element away */
			rc = 0;
			goto out;
		}
		if (alone && p->spread) {
			/* "{x...}": one element per item */
			for (size_t k = 0; k < ntexts; k++) {
				buf_reset(&arg);
				buf_puts(&arg, texts[k]);
				if (emit(x, &arg, e) != 0)
					goto out;
			}
			rc = 0;
			goto out;
		}
		for (size_t k = 0; k < ntexts; k++) {
			if (k)
				buf_putc(&arg, ' ');
			if (shell_script)
				contract_shell_quote(&arg, texts[k]);
			else
				buf_puts(&arg, texts[k]);
		}
		list_free(texts, ntexts);
		texts = NULL;
		ntexts = 0;
	}
	rc = emit(x, &arg, e);
out:
	list_free(texts, ntexts);
	buf_release(&arg);
	template_release(&t);
	return rc;
}

int contract_expand_argv(const struct contract *c, const cJSON *args, char ***argv, size_t *argc,
			 struct ferr *e)
{
	struct expansion x = { 0 };

	*argv = NULL;
	*argc = 0;
	if (c->kind != CONTRACT_KIND_COMMAND || c->argc == 0)
		return ferr_set(e, FERR_INTERNAL, "contract %s has no argv to expand",
				c->name ? c->name : "(unnamed)");
	for (size_t i = 0; i < c->argc; i++)
		if (expand_element(&x, c->argv[i], args, c->shell && i == 2, e) != 0) {
			contract_argv_free(x.argv, x.argc);
			return -1;
		}
	list_push(&x.argv, &x.argc, NULL);
	*argv = x.argv;
	*argc = x.argc - 1;
	return 0;
}

void contract_argv_free(char **argv, size_t argc)
{
	if (argv)
		list_free(argv, argc);
}

void contract_shell_quote(struct buf *out, const char *s)
{
	buf_putc(out, '\'');
	for (; *s; s++) {
		if (*s == '\'')
			buf_puts(out, "'\\''");
		else
			buf_putc(out, *s);
	}
	buf_putc(out, '\'');
}

int contract_resolve_path(const char *path, const char *workspace_root, struct buf *out,
			  struct ferr *e)
{
	buf_reset(out);
	if (path[0] == '~' && (path[1] == '\0' || path[1] == '/')) {
		const char *home = getenv("HOME");
		if (!home || home[0] != '/')
			return ferr_set(e, FERR_CONFIG, "%s: $HOME is not set to an absolute path",
					path);
		buf_puts(out, home);
		buf_puts(out, path + 1);
	} else if (path[0] == '/') {
		buf_puts(out, path);
	} else {
		buf_printf(out, "%s/%s", workspace_root, path);
	}
	return 0;
}

bool contract_needs_approval(const struct contract *c)
{
	switch (c->approval) {
	case CONTRACT_APPROVAL_NONE: return false;
	case CONTRACT_APPROVAL_ALWAYS: return true;
	case CONTRACT_APPROVAL_ON_WRITE: break;
	}
	return c->effects.nwrite > 0;
}

cJSON *contract_tool_json(const struct contract *c)
{
	cJSON *tool = cJSON_CreateObject();

	cJSON_AddStringToObject(tool, "name", c->name ? c->name : "");
	cJSON_AddStringToObject(tool, "description", c->description ? c->description : "");
	/* as the model sees it: "$comment" is for the contract's authors */
	const cJSON *params = c->schema ? schema_json(c->schema) : c->input_schema;
	cJSON_AddItemToObject(tool, "parameters",
			      params ? cJSON_Duplicate(params, true) : cJSON_CreateObject());
	return tool;
}

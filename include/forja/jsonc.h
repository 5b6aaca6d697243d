/*
 * jsonc — JSON with comments, for forja's config files (and later its tool
 * contract files), with errors a person can act on.
 *
 * The accepted language is strict JSON (RFC 8259) plus comments:
 *   - line comments (two slashes, to the end of the line) and block
 *     comments (slash-star to star-slash, newlines inside kept) anywhere
 *     whitespace may appear.  Comment markers inside strings are text.
 *   - A UTF-8 byte order mark at the very start is skipped.
 * Everything else that JSON forbids stays forbidden: trailing commas,
 * single quotes, unquoted keys, NaN, leading zeros, raw control characters
 * in strings, invalid UTF-8 anywhere (comments included), NUL bytes.  On
 * top of JSON, forja rejects duplicate keys at any depth (cJSON would keep
 * both and every lookup would silently see the first), "\u0000" in strings
 * (cJSON would cut the string there), numbers longer than 63 characters
 * (cJSON 1.7 cannot read them) and documents beyond the limits below.
 *
 * Every message has the form "file:line:column: what", with 1-based lines
 * and columns.  A column counts characters (UTF-8 code points), not bytes
 * and not display cells: a tab is one column, "é" is one column, the byte
 * order mark is not counted.  That is what vim's %c and most editors'
 * "go to line:column" expect.  Lines end at "\n"; a "\r" before it (CRLF
 * files) changes nothing.
 *
 * How it works: one strict scanner pass validates the text, blanks the
 * comments to spaces in a copy (newlines kept, so offsets stay true), and
 * records where every key and value starts, in source order.  cJSON then
 * builds the tree from the blanked copy, and a walk over the tree in the
 * same order pairs each cJSON item with its record.  Syntax messages come
 * from the scanner, which knows what it expected ("expected ',' or '}'
 * after the value of \"timeouts\", found a string"); cJSON's own error
 * pointer is only mapped to a position if cJSON ever rejects what the
 * scanner accepted, which would be a bug here.
 *
 * Ownership: a struct jsonc_doc owns a copy of the text, the cJSON tree
 * and the position index; every pointer a function below hands out (the
 * tree, its items, their strings) is borrowed from the doc and valid until
 * jsonc_free().  Do not modify the tree: positions are found by item.
 *
 * Errors are FERR_CONFIG, except FERR_INTERNAL should the scanner and
 * cJSON ever disagree about a document (a bug).  Nothing here blocks except
 * jsonc_load_file() (file I/O).  A parsed doc is read-only, so several
 * threads may query one doc at once; jsonc_parse() itself must not run in
 * two threads at once, because cJSON keeps its error pointer in a global.
 */
#ifndef FORJA_JSONC_H
#define FORJA_JSONC_H

#include <stdbool.h>
#include <stddef.h>

#include <cJSON.h>

#include "forja/buf.h"
#include "forja/ferr.h"

/* Largest document accepted, in bytes (the byte order mark included). */
#define JSONC_MAX_SIZE ((size_t)4 * 1024 * 1024)
/* Deepest nesting of objects and arrays: "[[1]]" has depth 2. */
#define JSONC_MAX_DEPTH 64
/* Most values (objects, arrays, strings, numbers, literals) in one document. */
#define JSONC_MAX_VALUES 262144

struct jsonc_doc;

/*
 * Parse len bytes of text (no NUL terminator needed; the text is copied).
 * name is what messages call the document, usually its path; NULL gives
 * "<string>".  On success *out is a new doc (jsonc_free() it) and the
 * result is 0; on any problem *out is NULL, e holds a FERR_CONFIG message
 * with the position of the first problem in the text, and the result is -1.
 */
int jsonc_parse(const char *name, const char *text, size_t len, struct jsonc_doc **out,
		struct ferr *e);

/*
 * Read and parse the file at path (see jsonc_parse).  A missing file is
 * not an error: the result is 1 and *out is NULL, so layered config can
 * skip a layer.  A dangling symbolic link, a directory, a file larger than
 * JSONC_MAX_SIZE or one that cannot be opened or read is FERR_CONFIG,
 * naming the path and the system's reason.  Blocks on file I/O.
 */
int jsonc_load_file(const char *path, struct jsonc_doc **out, struct ferr *e);

void jsonc_free(struct jsonc_doc *doc);

/* The top-level value (never NULL for a parsed doc). */
const cJSON *jsonc_root(const struct jsonc_doc *doc);
/* The name messages use for the doc: the path given, quoted when it holds
 * bytes that are not plain printable UTF-8 (see utf8_quote_path). */
const char *jsonc_name(const struct jsonc_doc *doc);

/*
 * The member of obj named key, compared case-sensitively ("Shell" is not
 * "shell"), or NULL when obj is NULL, not an object or has no such member.
 */
const cJSON *jsonc_member(const cJSON *obj, const char *key);

/*
 * The item at a dotted path from the root: "providers.local.timeout_ms",
 * "tools[2]", "tools[2].name", "[0]" for an element of a top-level array,
 * "" for the root.  NULL when there is none or the path is malformed.
 * Keys containing '.', '[' or ']' cannot be reached this way.
 */
const cJSON *jsonc_find(const struct jsonc_doc *doc, const char *path);

/*
 * Append to out the path of item inside doc, in the form jsonc_find reads
 * ("providers.local.model", "tools[3]"; "" for the root).  A key that is
 * not made only of ASCII letters, digits, '_' and '-' is written as
 * ["key"] with JSON escapes, for display.  Returns -1 (out unchanged) when
 * item is not in doc.
 */
int jsonc_path_of(const struct jsonc_doc *doc, const cJSON *item, struct buf *out);

/*
 * The 1-based line and column (see the top) of item in the source: of its
 * key when item is an object member, of the value itself for an array
 * element or the root.  Returns -1 when item is not in doc.
 */
int jsonc_locate(const struct jsonc_doc *doc, const cJSON *item, int *line, int *col);

/*
 * Fill e with FERR_CONFIG "file:line:col: <message>" at item (see
 * jsonc_locate; "file: <message>" when item is NULL or not in doc) and
 * return -1, so `return jsonc_error_at(doc, v, e, "...")` reads naturally.
 */
int jsonc_error_at(const struct jsonc_doc *doc, const cJSON *item, struct ferr *e,
		   const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/*
 * Check that every key of obj is one of the n names in known (compared
 * case-sensitively).  The first unknown key in source order fails with
 *   config.json:7:3: unknown key "modle" in "providers.local"; did you mean "model"?
 * ("at the top level" for the root object), or with the list of known keys
 * when none is close.  Returns 0 when obj is NULL or not an object.
 */
int jsonc_check_keys(const struct jsonc_doc *doc, const cJSON *obj, const char *const *known,
		     size_t n, struct ferr *e);

/*
 * Typed access.  jsonc_as_* look at one item (an array element, say);
 * jsonc_get_*(doc, obj, key, ...) are jsonc_as_*(doc, jsonc_member(obj,
 * key), ...).  All return
 *    1  item absent (NULL): *out is left alone, so it can hold a default;
 *    0  item of the right type: *out is set;
 *   -1  wrong type or out of range: e holds a located message such as
 *         config.json:14:7: `providers.local.timeout_ms` must be an integer
 *         from 1 to 600000, got "ten"
 *       naming the item by its path ("the top-level value" for the root).
 * JSON null is a value like any other, so it is a wrong type here; a
 * caller that lets null mean "unset" checks cJSON_IsNull() first.
 * Strings are borrowed from doc.  For a double without a bound pass
 * -HUGE_VAL or HUGE_VAL (math.h).  Integers are read exactly from the
 * source text (no rounding through double); a number with a fraction or
 * exponent counts when its value is a whole number ("1e3" is 1000).
 */
int jsonc_as_string(const struct jsonc_doc *doc, const cJSON *item, const char **out,
		    struct ferr *e);
int jsonc_as_int(const struct jsonc_doc *doc, const cJSON *item, long long min, long long max,
		 long long *out, struct ferr *e);
int jsonc_as_double(const struct jsonc_doc *doc, const cJSON *item, double min, double max,
		    double *out, struct ferr *e);
int jsonc_as_bool(const struct jsonc_doc *doc, const cJSON *item, bool *out, struct ferr *e);
int jsonc_as_object(const struct jsonc_doc *doc, const cJSON *item, const cJSON **out,
		    struct ferr *e);
int jsonc_as_array(const struct jsonc_doc *doc, const cJSON *item, const cJSON **out,
		   struct ferr *e);

int jsonc_get_string(const struct jsonc_doc *doc, const cJSON *obj, const char *key,
		     const char **out, struct ferr *e);
int jsonc_get_int(const struct jsonc_doc *doc, const cJSON *obj, const char *key, long long min,
		  long long max, long long *out, struct ferr *e);
int jsonc_get_double(const struct jsonc_doc *doc, const cJSON *obj, const char *key, double min,
		     double max, double *out, struct ferr *e);
int jsonc_get_bool(const struct jsonc_doc *doc, const cJSON *obj, const char *key, bool *out,
		   struct ferr *e);
int jsonc_get_object(const struct jsonc_doc *doc, const cJSON *obj, const char *key,
		     const cJSON **out, struct ferr *e);
int jsonc_get_array(const struct jsonc_doc *doc, const cJSON *obj, const char *key,
		    const cJSON **out, struct ferr *e);

#endif

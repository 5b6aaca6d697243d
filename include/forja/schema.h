/*
 * schema — JSON Schema for tool arguments: compiled once from a contract,
 * then used to check every call the model makes before anything runs.
 *
 * The model is untrusted, so validation must take anything (huge strings,
 * deep nesting, wrong types, invalid UTF-8, values built to make a regular
 * expression backtrack) and answer with short, exact messages the model can
 * act on, one per line:
 *
 *   `path`: expected string, got number
 *   `mode`: must be one of "r", "w", got "x"
 *   `edits[2].old`: required
 *   `count`: must be at most 100, got 250
 *   unexpected property `pathh` (did you mean `path`?)
 *
 * Paths are written `a.b[2].c`; a key that is not made only of ASCII
 * letters, digits, '_' and '-' is written ["key"] with JSON escapes.  The
 * top-level value itself is "the arguments".  Values quoted in messages are
 * cut to SCHEMA_SHOWN_CHARS characters (then "…") and made printable: valid
 * UTF-8, control characters escaped as in JSON.
 *
 * The language is the subset of draft 2020-12 that tool schemas use
 * (OpenAI function calling and friends):
 *
 *   type              a name or an array of names: null, boolean, object,
 *                     array, number, string, integer
 *   properties, required, additionalProperties (true, false or a schema)
 *   enum, const       compared as JSON values (1 equals 1.0, key order of
 *                     objects does not matter)
 *   items (a schema), minItems, maxItems, uniqueItems
 *   minLength, maxLength   counted in Unicode code points ("é" and "🙂"
 *                     count one each)
 *   minimum, maximum, exclusiveMinimum, exclusiveMaximum (numbers)
 *   pattern           PCRE2 in UTF mode, unanchored as in JSON Schema,
 *                     with ECMA-262's "$" (only at the very end, never
 *                     before a final newline) and "\uXXXX" escapes;
 *                     compiled once (JIT when available), matched under a
 *                     step limit, and a value the limit stops is invalid
 *                     ("could not be checked ... send a shorter or simpler
 *                     value")
 *   oneOf, anyOf, allOf, not
 *   default           used by schema_apply_defaults(); must itself be valid
 *   description, title, examples, $comment, $schema   (annotations)
 *   true, false       as schemas: anything, nothing
 *
 * Choices where JSON Schema leaves room or where we are stricter:
 *   - "integer" is a number with no fractional part (1.0 and 1e3 count, as
 *     in JSON Schema) whose magnitude is at most 2^53: beyond that a double
 *     no longer holds every integer, so the value a tool would read may not
 *     be the one the model wrote.
 *   - A number that is not finite (1e999 parses as infinity) and a string
 *     that is not valid UTF-8 are invalid wherever the schema looks at them.
 *   - A property given twice in one object is invalid (a tool would see
 *     only the first).
 *   - Compile errors, not silently ignored: unknown keywords (with a
 *     suggestion), keywords outside the subset ($ref, format, if, ... each
 *     named), a keyword that cannot apply to the declared type ("minLength"
 *     with "type": "integer"), a lower bound above its upper bound, an enum
 *     or const value of the wrong type, a name in "required" missing from
 *     "properties" (when there is one), a default that fails its schema.
 *
 * Limits: values nested more than SCHEMA_MAX_VALUE_DEPTH arrays/objects
 * deep are one problem and are not looked into further; at most
 * SCHEMA_MAX_PROBLEMS lines are written, then "(and N more problems)".
 * Schemas may nest SCHEMA_MAX_SCHEMA_DEPTH JSON levels.  Cost is linear in
 * the size of the value times the size of the schema (uniqueItems sorts;
 * patterns are bounded by the step limit), with recursion bounded by the
 * depths above, never by the value alone.
 *
 * Ownership and threads: a struct schema owns a copy of the JSON it was
 * compiled from and its compiled patterns; nothing borrowed from the
 * caller outlives schema_compile().  A compiled schema is immutable, so any
 * number of threads may validate against it at once; each call allocates
 * its own scratch (PCRE2 match data).  Nothing here blocks.
 */
#ifndef FORJA_SCHEMA_H
#define FORJA_SCHEMA_H

#include <cJSON.h>

#include "forja/buf.h"
#include "forja/ferr.h"

/* Problems written per validation before "(and N more problems)". */
#define SCHEMA_MAX_PROBLEMS 20
/* Deepest value accepted: "[[1]]" has depth 2. */
#define SCHEMA_MAX_VALUE_DEPTH 64
/* Deepest schema document accepted, counted the same way. */
#define SCHEMA_MAX_SCHEMA_DEPTH 128
/* Characters of a string value (or a key) shown in a message. */
#define SCHEMA_SHOWN_CHARS 60

struct schema;

/*
 * Compile the schema json (an object, true or false; it is copied, so the
 * caller keeps ownership).  where names it in messages, e.g.
 * "read_file.input_schema" (NULL: "schema").  On success *out is a new
 * schema (schema_free() it) and the result is 0.  A malformed schema gives
 * -1, *out NULL and FERR_CONFIG naming the first problem by its path:
 *   read_file.input_schema.properties.path.type: unknown type "strng"; did you mean "string"?
 */
int schema_compile(const cJSON *json, const char *where, struct schema **out, struct ferr *e);

void schema_free(struct schema *s);

/*
 * Check value (may be NULL: "the arguments: missing") against s.  Returns 0
 * when valid.  Otherwise returns 1 and appends the problems to problems,
 * each a line ending in "\n", in this order per object: missing required
 * properties, then the members in the order the value has them.  When no
 * branch of oneOf/anyOf fits, the message names the closest branch (fewest
 * problems) and its problems, indented by two spaces when there are more
 * than one; when every branch wanted another type, or every branch is a
 * constant, the message merges them ("expected string or array, got
 * number").  problems may be NULL when only the verdict matters.
 */
int schema_validate(const struct schema *s, const cJSON *value, struct buf *problems);

/*
 * Fill in, in value, every missing property whose schema has a "default"
 * (a copy of it), recursing through present (and filled) properties, the
 * elements of arrays under "items", and the branches of "allOf".  Other
 * combinators are not entered: which branch applies is not known yet.
 * Safe on any value (wrong types are left alone).  Call it before
 * schema_validate(), so that the tool runs on exactly what was checked.
 */
void schema_apply_defaults(const struct schema *s, cJSON *value);

/*
 * The schema as the model sees it, borrowed from s: the JSON it was
 * compiled from, annotations (description, title, examples, default)
 * kept, "$comment" dropped (JSON Schema reserves it for the schema's
 * authors).  For `forja contracts show` and the tool list.
 */
const cJSON *schema_json(const struct schema *s);

#endif

/* libFuzzer target: the first byte picks one of a few fixed tool schemas
 * (or, for the last choice, the input itself is compiled as a schema and
 * checked against itself); the rest is parsed as JSON and validated, then
 * defaults are applied and it is validated again.  Validation must answer
 * 0 with no text or 1 with printable lines (valid UTF-8, no control
 * characters, "\n"-terminated, at most SCHEMA_MAX_PROBLEMS + 1 of them,
 * each indented continuation included); a failed compile must be a
 * FERR_CONFIG message naming "fuzz".  `make fuzz`, then
 * build-fuzz/fuzz_schema tests/fuzz/seeds/fuzz_schema */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "forja/schema.h"
#include "forja/utf8.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const schemas[] = {
	/* an edit tool */
	"{\"type\":\"object\",\"additionalProperties\":false,\"required\":[\"path\",\"edits\"],"
	"\"properties\":{\"path\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":4096,"
	"\"pattern\":\"^[^\\\\u000a]+$\"},\"mode\":{\"enum\":[\"r\",\"w\",1,null],\"default\":\"r\"},"
	"\"edits\":{\"type\":\"array\",\"minItems\":1,\"maxItems\":50,\"items\":{\"type\":\"object\","
	"\"required\":[\"old\",\"new\"],\"properties\":{\"old\":{\"type\":\"string\"},\"new\":"
	"{\"type\":\"string\"},\"all\":{\"type\":\"boolean\",\"default\":false}}}}}}",
	/* numbers, uniqueness, backtracking bait */
	"{\"type\":\"object\",\"properties\":{\"count\":{\"type\":\"integer\",\"minimum\":1,"
	"\"maximum\":100,\"default\":10},\"ratio\":{\"type\":\"number\",\"exclusiveMinimum\":0,"
	"\"exclusiveMaximum\":1},\"tags\":{\"type\":\"array\",\"uniqueItems\":true},"
	"\"evil\":{\"type\":\"string\",\"pattern\":\"^(a+)+$\"},\"alt\":{\"type\":\"string\","
	"\"pattern\":\"^(?:a|b)*$\"}},\"additionalProperties\":{\"type\":[\"string\",\"null\"]}}",
	/* combinators */
	"{\"oneOf\":[{\"type\":\"string\"},{\"type\":\"array\",\"items\":{\"$comment\":\"x\","
	"\"anyOf\":[{\"const\":{\"a\":[1,2]}},{\"type\":\"object\",\"required\":[\"k\"],"
	"\"properties\":{\"k\":{\"not\":{\"type\":\"null\"}}}},{\"allOf\":[{\"type\":\"integer\"},"
	"{\"maximum\":5}]}]}},{\"type\":\"object\",\"properties\":{\"o\":{\"type\":\"object\","
	"\"default\":{},\"properties\":{\"d\":{\"default\":[1]}}}}}]}",
	/* anything at all */
	"true",
};
#define NSCHEMAS (sizeof schemas / sizeof *schemas)

static void check_output(int rc, const struct buf *out)
{
	size_t lines = 0;

	if (rc != 0 && rc != 1)
		abort();
	if ((rc == 0) != (out->len == 0))
		abort();
	if (!utf8_is_valid(buf_cstr(out), out->len))
		abort();
	for (size_t i = 0; i < out->len; i++) {
		unsigned char c = (unsigned char)out->data[i];
		if ((c < 0x20 && c != '\n') || c == 0x7f)
			abort();
		lines += c == '\n';
	}
	if (out->len && out->data[out->len - 1] != '\n')
		abort();
	if (lines > SCHEMA_MAX_PROBLEMS + 1)
		abort();
}

static void validate_twice(const struct schema *s, cJSON *v)
{
	struct buf out = BUF_INIT;

	check_output(schema_validate(s, v, &out), &out);
	buf_reset(&out);
	if (v)
		schema_apply_defaults(s, v);
	check_output(schema_validate(s, v, &out), &out);
	buf_release(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct schema *compiled[NSCHEMAS];
	struct ferr e = FERR_INIT;
	cJSON *v;

	if (size < 1)
		return 0;
	if (!compiled[0]) {
		for (size_t i = 0; i < NSCHEMAS; i++) {
			cJSON *j = cJSON_Parse(schemas[i]);
			if (!j || schema_compile(j, "fixed", &compiled[i], &e) < 0)
				abort();
			cJSON_Delete(j);
		}
	}
	v = cJSON_ParseWithLength((const char *)data + 1, size - 1);
	if (data[0] % (NSCHEMAS + 1) < NSCHEMAS) {
		validate_twice(compiled[data[0] % (NSCHEMAS + 1)], v);
	} else if (v) {
		struct schema *s = NULL;
		if (schema_compile(v, "fuzz", &s, &e) == 0) {
			cJSON *copy = cJSON_Duplicate(schema_json(s), true);
			validate_twice(s, copy);
			cJSON_Delete(copy);
			schema_free(s);
		} else if (s || e.cls != FERR_CONFIG || strncmp(e.msg, "fuzz", 4) != 0) {
			abort();
		}
	}
	cJSON_Delete(v);
	return 0;
}

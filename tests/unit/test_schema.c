/* schema: every keyword accepted and rejected with its exact message,
 * paths, malformed schemas named by path, defaults, and hostile values
 * (deep, huge, invalid UTF-8, non-finite, backtracking bait). */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "forja/schema.h"
#include "forja/utf8.h"
#include "tap.h"

/* JSON in C strings without the backslashes: ' becomes ". */
static cJSON *parse_q(const char *text)
{
	char *copy = strdup(text);
	cJSON *j;

	for (char *p = copy; *p; p++)
		if (*p == '\'')
			*p = '"';
	j = cJSON_Parse(copy);
	if (!j) {
		printf("# test bug: cannot parse %s\n", copy);
		abort();
	}
	free(copy);
	return j;
}

static struct schema *compile_q(const char *text)
{
	cJSON *j = parse_q(text);
	struct schema *s = NULL;
	struct ferr e = FERR_INIT;

	if (schema_compile(j, "input_schema", &s, &e) < 0) {
		printf("# unexpected compile error: %s\n", e.msg);
		tap_ok(0, text);
	}
	cJSON_Delete(j);
	return s;
}

static void compile_fails(const char *text, const char *want, const char *name)
{
	cJSON *j = parse_q(text);
	struct schema *s = (struct schema *)&s;
	struct ferr e = FERR_INIT;
	int rc = schema_compile(j, "input_schema", &s, &e);

	tap_is_str(e.msg, want, name);
	if (rc != -1 || s != NULL || e.cls != FERR_CONFIG)
		tap_ok(0, "  ...and returns -1, NULL, FERR_CONFIG");
	cJSON_Delete(j);
}

/* Every problem line is printable: valid UTF-8, no control characters. */
static int printable(const char *text, size_t len)
{
	if (!utf8_is_valid(text, len))
		return 0;
	for (size_t i = 0; i < len; i++)
		if (((unsigned char)text[i] < 0x20 && text[i] != '\n') || text[i] == 0x7f)
			return 0;
	return len == 0 || text[len - 1] == '\n';
}

/* Validate a cJSON value; want NULL means valid. */
static void check_item(const struct schema *s, const cJSON *v, const char *want,
		       const char *name)
{
	struct buf out = BUF_INIT;
	int rc = schema_validate(s, v, &out);

	if (!want) {
		if (!tap_ok(rc == 0 && out.len == 0, name))
			printf("#   problems: %s", buf_cstr(&out));
	} else {
		tap_is_str(buf_cstr(&out), want, name);
		if (rc != 1)
			tap_ok(0, "  ...and returns 1");
	}
	if (!printable(buf_cstr(&out), out.len))
		tap_ok(0, "  ...and is printable");
	buf_release(&out);
}

static void check_q(const struct schema *s, const char *value, const char *want,
		    const char *name)
{
	cJSON *v = parse_q(value);

	check_item(s, v, want, name);
	cJSON_Delete(v);
}

static void test_types(void)
{
	struct schema *s = compile_q(
		"{'type':'object','properties':{"
		"'s':{'type':'string'},'n':{'type':'number'},'i':{'type':'integer'},"
		"'b':{'type':'boolean'},'z':{'type':'null'},'o':{'type':'object'},"
		"'a':{'type':'array'},'sn':{'type':['string','null']},"
		"'three':{'type':['string','integer','null']}}}");

	check_q(s, "{'s':'x','n':1.5,'i':3,'b':false,'z':null,'o':{},'a':[],'sn':null,'three':7}",
		NULL, "each type accepts its values");
	check_q(s, "{'s':1}", "`s`: expected string, got number\n", "string rejects a number");
	check_q(s, "{'n':'1'}", "`n`: expected number, got string\n", "number rejects a string");
	check_q(s, "{'b':0}", "`b`: expected boolean, got number\n", "boolean rejects 0");
	check_q(s, "{'z':false}", "`z`: expected null, got boolean\n", "null rejects false");
	check_q(s, "{'o':[]}", "`o`: expected object, got array\n", "object rejects an array");
	check_q(s, "{'a':{}}", "`a`: expected array, got object\n", "array rejects an object");
	check_q(s, "{'sn':1}", "`sn`: expected string or null, got number\n", "type list of two");
	check_q(s, "{'three':true}", "`three`: expected string, integer or null, got boolean\n",
		"type list of three");
	check_q(s, "{'three':2.5}", "`three`: expected string, integer or null, got 2.5\n",
		"a fraction shown when an integer was wanted");
	check_q(s, "[1]", "the arguments: expected object, got array\n",
		"the top-level value is 'the arguments'");
	check_item(s, NULL, "the arguments: missing\n", "no value at all");
	{
		cJSON *v = parse_q("{'s':1}");
		tap_is_int(schema_validate(s, v, NULL), 1, "the verdict without the messages");
		cJSON_Delete(v);
	}
	schema_free(s);
}

/* JSON Schema: an integer is a number without a fractional part, so 1.0
 * counts (cJSON cannot tell them apart anyway); we add the bound 2^53. */
static void test_integer(void)
{
	struct schema *s = compile_q("{'type':'integer'}");

	check_q(s, "1", NULL, "1 is an integer");
	check_q(s, "1.0", NULL, "1.0 is an integer");
	check_q(s, "1e3", NULL, "1e3 is an integer");
	check_q(s, "-0", NULL, "-0 is an integer");
	check_q(s, "9007199254740992", NULL, "2^53 is an integer");
	check_q(s, "-9007199254740992", NULL, "-2^53 is an integer");
	check_q(s, "1.5", "the arguments: expected integer, got 1.5\n", "1.5 is not");
	check_q(s, "1e300",
		"the arguments: expected integer, got 1e+300, beyond the integers a JSON number "
		"holds exactly (±2^53)\n",
		"1e300 is beyond what a double holds exactly");
	check_q(s, "18014398509481984",
		"the arguments: expected integer, got 18014398509481984, beyond the integers a "
		"JSON number holds exactly (±2^53)\n",
		"2^54 neither");
	check_q(s, "'1'", "the arguments: expected integer, got string\n", "a string is not");
	check_q(s, "1e999", "the arguments: expected integer, got Infinity\n",
		"infinity is no integer");
	schema_free(s);
	s = compile_q("{'type':'number'}");
	check_q(s, "1e308", NULL, "1e308 is a number");
	check_q(s, "-1e308", NULL, "-1e308 is a number");
	check_q(s, "5e-324", NULL, "the smallest subnormal is a number");
	check_q(s, "1e999", "the arguments: number out of range\n",
		"1e999 (infinity once parsed) is not");
	check_q(s, "-1e999", "the arguments: number out of range\n", "nor is -1e999");
	{
		cJSON *nan = cJSON_CreateNumber(NAN);
		check_item(s, nan, "the arguments: not a number\n", "NaN is not");
		cJSON_Delete(nan);
	}
	schema_free(s);
}

static void test_paths(void)
{
	struct schema *s = compile_q(
		"{'type':'object','properties':{'a':{'type':'object','properties':{"
		"'b':{'type':'array','items':{'type':'object','properties':{"
		"'c':{'type':'string'},'weird key':{'type':'string'}}}}}}}}");

	check_q(s, "{'a':{'b':[{'c':'x'},{'c':'y'},{'c':5}]}}",
		"`a.b[2].c`: expected string, got number\n", "nested path a.b[2].c");
	check_q(s, "{'a':{'b':[{'weird key':1}]}}",
		"`a.b[0][\"weird key\"]`: expected string, got number\n",
		"a key with a space is quoted in the path");
	check_q(s, "{'a':{'b':[{'c':1},{'c':2}]}}",
		"`a.b[0].c`: expected string, got number\n`a.b[1].c`: expected string, got number\n",
		"every element reported");
	check_q(s, "{'a':{'b':[1]}}", "`a.b[0]`: expected object, got number\n",
		"path to an element");
	schema_free(s);
}

static void test_required(void)
{
	struct schema *s = compile_q(
		"{'type':'object','required':['path','mode','count'],'properties':{"
		"'path':{'type':'string'},'mode':{'type':'string'},'count':{'type':'integer'},"
		"'edits':{'type':'array','items':{'type':'object','required':['old','new'],"
		"'properties':{'old':{'type':'string'},'new':{'type':'string'}}}}}}");

	check_q(s, "{'path':'a','mode':'r','count':1}", NULL, "all required present");
	check_q(s, "{'mode':'r'}", "`path`: required\n`count`: required\n",
		"every missing property is listed");
	check_q(s, "{}", "`path`: required\n`mode`: required\n`count`: required\n",
		"all three missing");
	check_q(s, "{'path':'a','mode':'r','count':1,'edits':[{'old':'x','new':'y'},{'new':'y'},"
		   "{'new':'z'}]}",
		"`edits[1].old`: required\n`edits[2].old`: required\n",
		"required inside array elements, with paths");
	check_q(s, "{'path':'a','mode':'r','count':1,'path':'b'}", "`path`: given more than once\n",
		"a property given twice is a problem");
	schema_free(s);
	/* without "properties", required names anything */
	s = compile_q("{'required':['x']}");
	check_q(s, "{'x':null}", NULL, "required without properties, present");
	check_q(s, "{'y':1}", "`x`: required\n", "required without properties, missing");
	check_q(s, "5", NULL, "required applies to objects only");
	schema_free(s);
}

static void test_additional(void)
{
	struct schema *s = compile_q(
		"{'type':'object','additionalProperties':false,'properties':{"
		"'path':{'type':'string'},'mode':{'type':'string'},"
		"'opts':{'type':'object','additionalProperties':false,'properties':{"
		"'recursive':{'type':'boolean'}}}}}");
	struct schema *none = compile_q("{'type':'object','additionalProperties':false}");
	struct schema *typed = compile_q(
		"{'type':'object','properties':{'a':{}},'additionalProperties':{'type':'integer'}}");

	check_q(s, "{'pathh':'x'}", "unexpected property `pathh` (did you mean `path`?)\n",
		"typo suggested at the top level");
	check_q(s, "{'zzz':1}", "unexpected property `zzz` (allowed: `path`, `mode`, `opts`)\n",
		"no close name: the allowed ones are listed");
	check_q(s, "{'path':'x','pathh':'y'}",
		"unexpected property `pathh` (allowed: `path`, `mode`, `opts`)\n",
		"a name already present is not suggested");
	check_q(s, "{'opts':{'recursiv':true}}",
		"`opts`: unexpected property `recursiv` (did you mean `recursive`?)\n",
		"nested: the object's path first");
	check_q(s, "{'a\\nb':1}",
		"unexpected property `\"a\\nb\"` (allowed: `path`, `mode`, `opts`)\n",
		"a key with a newline is escaped");
	check_q(none, "{}", NULL, "no properties allowed, none given");
	check_q(none, "{'x':1}", "unexpected property `x` (no properties are allowed)\n",
		"no properties allowed");
	check_q(typed, "{'a':'s','b':1,'c':'x'}", "`c`: expected integer, got string\n",
		"additionalProperties as a schema checks the others");
	schema_free(s);
	schema_free(none);
	schema_free(typed);
}

static void test_enum_const(void)
{
	struct schema *s = compile_q(
		"{'type':'object','properties':{'mode':{'type':'string','enum':['r','w']},"
		"'mixed':{'enum':['a',1,null,true,{'k':[1,2]},[1,{'x':1}]]},"
		"'c':{'const':'r'},'co':{'const':{'a':1,'b':[true]}},"
		"'one':{'enum':[0]}}}");

	check_q(s, "{'mode':'w'}", NULL, "enum member");
	check_q(s, "{'mode':'x'}", "`mode`: must be one of \"r\", \"w\", got \"x\"\n",
		"enum non-member");
	check_q(s, "{'mixed':'a'}", NULL, "mixed enum: string");
	check_q(s, "{'mixed':1.0}", NULL, "mixed enum: 1.0 equals 1");
	check_q(s, "{'mixed':null}", NULL, "mixed enum: null");
	check_q(s, "{'mixed':true}", NULL, "mixed enum: true");
	check_q(s, "{'mixed':{'k':[1,2]}}", NULL, "mixed enum: object");
	check_q(s, "{'mixed':[1,{'x':1}]}", NULL, "mixed enum: array");
	check_q(s, "{'mixed':false}",
		"`mixed`: must be one of \"a\", 1, null, true, {\"k\":[1,2]}, [1,{\"x\":1}], got false\n",
		"mixed enum: false is not true");
	check_q(s, "{'mixed':'1'}",
		"`mixed`: must be one of \"a\", 1, null, true, {\"k\":[1,2]}, [1,{\"x\":1}], got \"1\"\n",
		"mixed enum: \"1\" is not 1");
	check_q(s, "{'mixed':[{'x':1},1]}",
		"`mixed`: must be one of \"a\", 1, null, true, {\"k\":[1,2]}, [1,{\"x\":1}], got an "
		"array\n",
		"mixed enum: array order matters");
	check_q(s, "{'c':'r'}", NULL, "const equal");
	check_q(s, "{'c':'w'}", "`c`: must be \"r\", got \"w\"\n", "const different");
	check_q(s, "{'co':{'b':[true],'a':1.0}}", NULL, "const object: key order does not matter");
	check_q(s, "{'co':{'a':1,'b':[true],'c':0}}",
		"`co`: must be {\"a\":1,\"b\":[true]}, got an object\n",
		"const object: an extra key differs");
	check_q(s, "{'co':{'a':1,'c':[true]}}",
		"`co`: must be {\"a\":1,\"b\":[true]}, got an object\n",
		"const object: a different key differs");
	check_q(s, "{'one':-0}", NULL, "-0 equals 0");
	schema_free(s);
}

static void test_lengths(void)
{
	struct schema *s = compile_q(
		"{'type':'object','properties':{'one':{'type':'string','minLength':1,'maxLength':1},"
		"'name':{'type':'string','minLength':3,'maxLength':5}}}");

	check_q(s, "{'one':'a'}", NULL, "one ASCII character");
	check_q(s, "{'one':'\xc3\xa9'}", NULL, "é is one character (two bytes)");
	check_q(s, "{'one':'\xf0\x9f\x99\x82'}", NULL, "an emoji is one character (four bytes)");
	check_q(s, "{'one':'\\u00e9'}", NULL, "an escaped é too");
	check_q(s, "{'one':'\\ud83d\\ude42'}", NULL, "an emoji as a surrogate pair too");
	check_q(s, "{'one':''}", "`one`: must be at least 1 character long, got 0\n",
		"minLength 1, singular");
	check_q(s, "{'one':'\xc3\xa9\xc3\xa9'}", "`one`: must be at most 1 character long, got 2\n",
		"two é are two characters");
	check_q(s, "{'name':'ab'}", "`name`: must be at least 3 characters long, got 2\n",
		"minLength");
	check_q(s, "{'name':'abcdef'}", "`name`: must be at most 5 characters long, got 6\n",
		"maxLength");
	check_q(s, "{'name':'\xf0\x9f\x99\x82\xf0\x9f\x99\x82\xf0\x9f\x99\x82'}", NULL,
		"three emoji are three characters");
	schema_free(s);
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void test_pattern(void)
{
	struct schema *s = compile_q(
		"{'type':'object','properties':{'id':{'type':'string','pattern':'^[a-z]+$'},"
		"'has':{'type':'string','pattern':'b+'},"
		"'evil':{'type':'string','pattern':'^(a+)+$'},"
		"'nl':{'type':'string','pattern':'^a\\nb$'},"
		"'u':{'type':'string','pattern':'^.$'},"
		"'esc':{'type':'string','pattern':'^\\\\u0041\\\\d$'}}}");
	double t0;

	check_q(s, "{'id':'abc'}", NULL, "pattern matches");
	check_q(s, "{'id':'ABC'}", "`id`: must match the pattern `^[a-z]+$`, got \"ABC\"\n",
		"pattern does not match");
	check_q(s, "{'id':'abc\\n'}", "`id`: must match the pattern `^[a-z]+$`, got \"abc\\n\"\n",
		"$ does not match before a final newline");
	check_q(s, "{'has':'abbbc'}", NULL, "patterns are not anchored");
	check_q(s, "{'has':'ac'}", "`has`: must match the pattern `b+`, got \"ac\"\n",
		"unanchored non-match");
	check_q(s, "{'u':'\xc3\xa9'}", NULL, "patterns see characters, not bytes");
	check_q(s, "{'esc':'A1'}", NULL, "ECMA-262 \\u escapes in patterns");
	check_q(s, "{'esc':'A\xd9\xa1'}",
		"`esc`: must match the pattern `^\\u0041\\d$`, got \"A\xd9\xa1\"\n",
		"\\d is ASCII digits only, as in ECMA-262");
	check_q(s, "{'nl':'x'}", "`nl`: must match the pattern `^a\\nb$`, got \"x\"\n",
		"a newline in a pattern is shown escaped");
	check_q(s, "{'evil':'aaaa'}", NULL, "the nested quantifier matches normally");
	{
		/* a repeated group over a long value outgrows the JIT's first stack */
		struct schema *alt = compile_q("{'pattern':'^(?:a|b)*$'}");
		char *long_value = malloc(200001);
		cJSON *v;
		for (int i = 0; i < 200000; i++)
			long_value[i] = i % 2 ? 'a' : 'b';
		long_value[200000] = '\0';
		v = cJSON_CreateString(long_value);
		check_item(alt, v, NULL, "a repeated group over 200 kB matches");
		cJSON_Delete(v);
		long_value[199999] = 'c';
		v = cJSON_CreateString(long_value);
		check_item(alt, v,
			   "the arguments: must match the pattern `^(?:a|b)*$`, got "
			   "\"babababababababababababababababababababababababababababababa\"…\n",
			   "...and fails to match at its very end");
		cJSON_Delete(v);
		free(long_value);
		schema_free(alt);
	}
	t0 = now_ms();
	check_q(s, "{'evil':'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab'}",
		"`evil`: could not be checked against the pattern `^(a+)+$` (matching took too "
		"many steps); send a shorter or simpler value\n",
		"catastrophic backtracking stops at the limit");
	if (!tap_ok(now_ms() - t0 < 2000, "...and quickly"))
		printf("#   took %.0f ms\n", now_ms() - t0);
	schema_free(s);

	compile_fails("{'type':'string','pattern':'a(b'}",
		      "input_schema.pattern: invalid regular expression: missing closing "
		      "parenthesis at offset 3",
		      "invalid pattern: the position is named");
	compile_fails("{'properties':{'x':{'pattern':'\xc3\xa9[z-a]'}}}",
		      "input_schema.properties.x.pattern: invalid regular expression: range out of "
		      "order in character class at offset 4",
		      "the offset counts characters");
	compile_fails("{'pattern':5}",
		      "input_schema.pattern: must be a regular expression (a string), got number",
		      "pattern must be a string");
}

static void test_numbers(void)
{
	struct schema *s = compile_q(
		"{'type':'object','properties':{'count':{'type':'integer','minimum':1,'maximum':100},"
		"'ratio':{'type':'number','exclusiveMinimum':0,'exclusiveMaximum':1},"
		"'t':{'minimum':-1.5}}}");

	check_q(s, "{'count':1}", NULL, "minimum inclusive");
	check_q(s, "{'count':100}", NULL, "maximum inclusive");
	check_q(s, "{'count':250}", "`count`: must be at most 100, got 250\n", "above maximum");
	check_q(s, "{'count':0}", "`count`: must be at least 1, got 0\n", "below minimum");
	check_q(s, "{'ratio':0.5}", NULL, "inside exclusive bounds");
	check_q(s, "{'ratio':0}", "`ratio`: must be greater than 0, got 0\n", "exclusiveMinimum");
	check_q(s, "{'ratio':1}", "`ratio`: must be less than 1, got 1\n", "exclusiveMaximum");
	check_q(s, "{'t':-2}", "`t`: must be at least -1.5, got -2\n", "fractional bound");
	check_q(s, "{'t':'x'}", NULL, "bounds apply to numbers only");
	check_q(s, "{'ratio':1e308}", "`ratio`: must be less than 1, got 1e+308\n", "1e308 shown");
	schema_free(s);
}

static void test_arrays(void)
{
	struct schema *s = compile_q(
		"{'type':'object','properties':{'edits':{'type':'array','minItems':1,'maxItems':2},"
		"'tags':{'type':'array','uniqueItems':true},'none':{'type':'array','items':false}}}");

	check_q(s, "{'edits':[1]}", NULL, "minItems met");
	check_q(s, "{'edits':[]}", "`edits`: must have at least 1 item, got 0\n", "minItems");
	check_q(s, "{'edits':[1,2,3]}", "`edits`: must have at most 2 items, got 3\n", "maxItems");
	check_q(s, "{'tags':['a','b',1,'1',[1],{'a':1},{'a':2}]}", NULL, "unique items");
	check_q(s, "{'tags':['a','b','a']}", "`tags`: items must be unique, but [2] repeats [0]\n",
		"duplicate strings");
	check_q(s, "{'tags':[1,2,3,2.0,1]}", "`tags`: items must be unique, but [3] repeats [1]\n",
		"2.0 repeats 2; the first repeat in order is named");
	check_q(s, "{'tags':[{'a':1,'b':2},{'b':2,'a':1}]}",
		"`tags`: items must be unique, but [1] repeats [0]\n",
		"objects equal in another key order");
	check_q(s, "{'tags':[[1]]}", NULL, "one item is unique");
	check_q(s, "{'tags':[1,2,2,1]}", "`tags`: items must be unique, but [2] repeats [1]\n",
		"two repeats: the earlier one is named");
	check_q(s, "{'none':[]}", NULL, "items false: empty is fine");
	check_q(s, "{'none':[1]}", "`none[0]`: not allowed\n", "items false: any element is not");
	schema_free(s);
}

static void test_combinators(void)
{
	struct schema *s = compile_q(
		"{'type':'object','properties':{"
		"'t':{'oneOf':[{'type':'string'},{'type':'array','items':{'type':'string'}}]},"
		"'k':{'anyOf':[{'const':'a','description':'first'},{'const':'b'},{'enum':['c','d']}]},"
		"'edit':{'anyOf':["
		"  {'type':'object','required':['path'],'properties':{'path':{'type':'string'}}},"
		"  {'type':'object','required':['old','new'],'properties':{"
		"    'old':{'type':'string'},'new':{'type':'string'}}}]},"
		"'two':{'anyOf':["
		"  {'type':'object','required':['a','b','c','d']},"
		"  {'type':'object','required':['x','y']}]},"
		"'amb':{'oneOf':[{'type':'integer'},{'type':'number','minimum':0}]},"
		"'all':{'allOf':[{'type':'string'},{'minLength':2},{'pattern':'^x'}]},"
		"'no':{'not':{'type':'null'}}}}");

	check_q(s, "{'t':'x'}", NULL, "oneOf: first branch");
	check_q(s, "{'t':['x']}", NULL, "oneOf: second branch");
	check_q(s, "{'t':5}", "`t`: expected string or array, got number\n",
		"oneOf of types: one merged type message");
	check_q(s, "{'t':[5]}",
		"`t`: matches no form in oneOf; the closest, oneOf[1], fails with: `t[0]`: expected "
		"string, got number\n",
		"oneOf: the branch of the right type is named");
	check_q(s, "{'k':'d'}", NULL, "anyOf of constants");
	check_q(s, "{'k':'e'}", "`k`: must be one of \"a\", \"b\", \"c\", \"d\", got \"e\"\n",
		"anyOf of constants: one merged list");
	check_q(s, "{'edit':{'old':'x'}}",
		"`edit`: matches no form in anyOf; the closest, anyOf[0], fails with: `edit.path`: "
		"required\n",
		"anyOf: ties go to the first branch");
	check_q(s, "{'edit':{'old':'x','path':5}}",
		"`edit`: matches no form in anyOf; the closest, anyOf[0], fails with: `edit.path`: "
		"expected string, got number\n",
		"anyOf: the closest branch's problem");
	check_q(s, "{'two':{'a':1}}",
		"`two`: matches no form in anyOf; the closest, anyOf[1], fails with:\n"
		"  `two.x`: required\n  `two.y`: required\n",
		"anyOf: several problems of the closest branch, indented");
	check_q(s, "{'amb':1.5}", NULL, "oneOf: exactly one");
	check_q(s, "{'amb':-1}", NULL, "oneOf: exactly one (the other fails)");
	check_q(s, "{'amb':3}",
		"`amb`: matches more than one form in oneOf (oneOf[0] and oneOf[1]); it must match "
		"exactly one\n",
		"oneOf: two match");
	check_q(s, "{'all':'xyz'}", NULL, "allOf: all hold");
	check_q(s, "{'all':'y'}",
		"`all`: must be at least 2 characters long, got 1\n"
		"`all`: must match the pattern `^x`, got \"y\"\n",
		"allOf: every failing branch reports");
	check_q(s, "{'no':1}", NULL, "not: holds");
	check_q(s, "{'no':null}", "`no`: must not match the schema in `not`\n", "not: fails");
	schema_free(s);
}

static void test_booleans(void)
{
	struct schema *yes = compile_q("true"), *no = compile_q("false");

	check_q(yes, "[1,{'a':null}]", NULL, "true accepts anything");
	check_q(no, "{}", "the arguments: not allowed\n", "false accepts nothing");
	schema_free(yes);
	schema_free(no);
}

static void test_defaults(void)
{
	struct schema *s = compile_q(
		"{'type':'object','properties':{"
		"'mode':{'type':'string','enum':['r','w'],'default':'r'},"
		"'count':{'type':'integer','default':10},"
		"'opts':{'type':'object','default':{},'properties':{"
		"  'depth':{'type':'integer','default':3},'follow':{'type':'boolean'}}},"
		"'edits':{'type':'array','items':{'type':'object','properties':{"
		"  'all':{'type':'boolean','default':false}}}},"
		"'x':{'allOf':[{'type':'object','properties':{'y':{'default':'z'}}}]},"
		"'never':false}}");
	cJSON *v = parse_q("{'count':5,'edits':[{},{'all':true}],'x':{},'never':{}}");
	char *text;

	schema_apply_defaults(s, v);
	text = cJSON_PrintUnformatted(v);
	tap_is_str(text,
		   "{\"count\":5,\"edits\":[{\"all\":false},{\"all\":true}],\"x\":{\"y\":\"z\"},"
		   "\"never\":{},\"mode\":\"r\",\"opts\":{\"depth\":3}}",
		   "defaults filled recursively, given values kept");
	check_item(s, v, "`never`: not allowed\n", "the filled value is checked as it is");
	free(text);
	cJSON_Delete(v);
	v = parse_q("[1,2]");
	schema_apply_defaults(s, v);
	text = cJSON_PrintUnformatted(v);
	tap_is_str(text, "[1,2]", "a value of the wrong type is left alone");
	free(text);
	cJSON_Delete(v);
	schema_free(s);
}

static void test_malformed(void)
{
	compile_fails("{'properties':{'path':{'type':'strng'}}}",
		      "input_schema.properties.path.type: unknown type \"strng\"; did you mean "
		      "\"string\"?",
		      "unknown type with a suggestion");
	compile_fails("{'type':'text'}",
		      "input_schema.type: unknown type \"text\"; the types are null, boolean, "
		      "object, array, number, string and integer",
		      "unknown type without one");
	compile_fails("{'type':5}", "input_schema.type: must be a type name or an array of them, "
				    "got number",
		      "type not a string");
	compile_fails("{'type':['string',null]}",
		      "input_schema.type[1]: must be a type name, got null", "type array element");
	compile_fails("{'type':['string','string']}",
		      "input_schema.type[1]: \"string\" is listed twice", "type listed twice");
	compile_fails("{'type':[]}", "input_schema.type: must not be an empty array",
		      "type empty array");
	compile_fails("{'properties':[]}", "input_schema.properties: must be an object, got array",
		      "properties not an object");
	compile_fails("{'properties':{'a':'string'}}",
		      "input_schema.properties.a: must be a schema (an object, true or false), got "
		      "string",
		      "a property that is not a schema");
	compile_fails("{'required':'a'}",
		      "input_schema.required: must be an array of property names, got string",
		      "required not an array");
	compile_fails("{'required':['a',1]}",
		      "input_schema.required[1]: must be a property name (a string), got number",
		      "required not strings");
	compile_fails("{'required':['a','a']}", "input_schema.required[1]: \"a\" is listed twice",
		      "required twice");
	compile_fails("{'properties':{'path':{}},'required':['pth']}",
		      "input_schema.required[0]: \"pth\" is not in \"properties\"; did you mean "
		      "\"path\"?",
		      "required names a missing property");
	compile_fails("{'properties':{'path':{}},'required':['zzzzzzzz']}",
		      "input_schema.required[0]: \"zzzzzzzz\" is not in \"properties\"",
		      "required names a missing property, nothing close");
	{
		cJSON *j = parse_q("{'properties':{'a':{}}}");
		struct schema *s = NULL;
		struct ferr e = FERR_INIT;
		cJSON_AddItemToObject(cJSON_GetObjectItem(j, "properties"), "a", cJSON_CreateObject());
		tap_ok(schema_compile(j, "w", &s, &e) == -1, "a property declared twice");
		tap_is_str(e.msg, "w.properties.a: property declared twice", "...is named");
		cJSON_Delete(j);
	}
	compile_fails("{'type':'string','minLength':-1}",
		      "input_schema.minLength: must be a non-negative integer, got -1",
		      "negative minLength");
	compile_fails("{'type':'string','maxLength':1.5}",
		      "input_schema.maxLength: must be a non-negative integer, got 1.5",
		      "fractional maxLength");
	compile_fails("{'type':'array','minItems':'1'}",
		      "input_schema.minItems: must be a non-negative integer, got \"1\"",
		      "minItems as a string");
	compile_fails("{'properties':{'path':{'type':'string','minlength':1}}}",
		      "input_schema.properties.path: unknown keyword \"minlength\"; did you mean "
		      "\"minLength\"?",
		      "unknown keyword with a suggestion");
	compile_fails("{'frobnicate':1}", "input_schema: unknown keyword \"frobnicate\"",
		      "unknown keyword without one");
	compile_fails("{'properties':{'a':{'$ref':'#/$defs/a'}}}",
		      "input_schema.properties.a: \"$ref\" is not supported; write the referenced "
		      "schema inline",
		      "$ref");
	compile_fails("{'type':'string','format':'uri'}",
		      "input_schema: \"format\" is not supported; it would not be checked; use "
		      "\"pattern\"",
		      "format");
	compile_fails("{'multipleOf':2}", "input_schema: \"multipleOf\" is not supported",
		      "other keywords outside the subset");
	compile_fails("{'type':'array','items':[{}]}",
		      "input_schema.items: must be a schema; the array (tuple) form is not supported",
		      "tuple items");
	compile_fails("{'enum':[]}", "input_schema.enum: must be a non-empty array, got an empty "
				     "array",
		      "empty enum");
	compile_fails("{'oneOf':{}}",
		      "input_schema.oneOf: must be a non-empty array of schemas, got object",
		      "oneOf not an array");
	compile_fails("{'anyOf':[{},{'type':'nul'}]}",
		      "input_schema.anyOf[1].type: unknown type \"nul\"; did you mean \"null\"?",
		      "inside a branch");
	compile_fails("{'type':'string','minLength':5,'maxLength':3}",
		      "input_schema: minLength (5) is greater than maxLength (3)", "min above max");
	compile_fails("{'type':'array','minItems':5,'maxItems':3}",
		      "input_schema: minItems (5) is greater than maxItems (3)", "minItems above max");
	compile_fails("{'minimum':5,'maximum':3.5}",
		      "input_schema: minimum (5) is greater than maximum (3.5)", "minimum above max");
	compile_fails("{'type':'integer','minLength':1}",
		      "input_schema.minLength: applies to strings, but \"type\" is \"integer\"",
		      "a keyword for another type");
	compile_fails("{'type':['integer','null'],'items':{}}",
		      "input_schema.items: applies to arrays, but \"type\" is [\"integer\", \"null\"]",
		      "a keyword for another type, type list");
	compile_fails("{'type':'string','enum':['a',1]}",
		      "input_schema.enum[1]: number is not of the schema's type", "enum of wrong type");
	compile_fails("{'type':'string','const':1}",
		      "input_schema.const: number is not of the schema's type", "const of wrong type");
	compile_fails("{'properties':{'m':{'enum':['r','w'],'default':'x'}}}",
		      "input_schema.properties.m.default: does not match the schema: must be one of "
		      "\"r\", \"w\", got \"x\"",
		      "an invalid default");
	compile_fails("{'properties':{'o':{'properties':{'a':{'type':'integer'}},'default':{'a':'1'}}}}",
		      "input_schema.properties.o.default: does not match the schema: `a`: expected "
		      "integer, got string",
		      "an invalid default, nested");
	compile_fails("{'exclusiveMinimum':true}",
		      "input_schema.exclusiveMinimum: must be a number (the true/false form of draft 4 "
		      "is not supported; give the bound here instead)",
		      "draft 4 exclusiveMinimum");
	compile_fails("{'maximum':'5'}", "input_schema.maximum: must be a finite number, got string",
		      "maximum as a string");
	compile_fails("{'uniqueItems':1}", "input_schema.uniqueItems: must be true or false, got number",
		      "uniqueItems not a boolean");
	compile_fails("{'description':1}", "input_schema.description: must be a string, got number",
		      "description not a string");
	compile_fails("{'examples':{}}", "input_schema.examples: must be an array, got object",
		      "examples not an array");
	compile_fails("[]", "input_schema: must be a schema (an object, true or false), got array",
		      "the schema itself not an object");
	compile_fails("{'properties':{'a b':{'type':'x'}}}",
		      "input_schema.properties[\"a b\"].type: unknown type \"x\"; the types are null, "
		      "boolean, object, array, number, string and integer",
		      "an odd property name is quoted in the path");
	{
		struct schema *s = (struct schema *)&s;
		struct ferr e = FERR_INIT;
		tap_ok(schema_compile(NULL, NULL, &s, &e) == -1 && !s, "no schema at all");
		tap_is_str(e.msg, "schema: missing", "...named 'schema' without a where");
	}
	{
		/* "type" twice: only a programmatic tree can hold it */
		cJSON *j = cJSON_CreateObject();
		struct schema *s = NULL;
		struct ferr e = FERR_INIT;
		cJSON_AddStringToObject(j, "type", "string");
		cJSON_AddStringToObject(j, "type", "number");
		tap_ok(schema_compile(j, "w", &s, &e) == -1, "a keyword twice is rejected");
		tap_is_str(e.msg, "w: \"type\" is given twice", "...with its name");
		cJSON_Delete(j);
	}
	{
		/* deeper than SCHEMA_MAX_SCHEMA_DEPTH: build past cJSON's parse limit */
		cJSON *root = cJSON_CreateObject(), *cur = root;
		struct schema *s = NULL;
		struct ferr e = FERR_INIT;
		for (int i = 0; i < 2000; i++) {
			cJSON *next = cJSON_CreateObject();
			cJSON_AddItemToObject(cur, "not", next);
			cur = next;
		}
		tap_ok(schema_compile(root, "deep", &s, &e) == -1 && !s, "a schema too deep");
		tap_contains(e.msg, ": nested more than 128 levels deep", "...says so");
		tap_contains(e.msg, "deep.not.not.not", "...with its path");
		cJSON_Delete(root);
	}
}

static void test_shown(void)
{
	struct schema *s = compile_q(
		"{'$comment':'for authors','type':'object','description':'d',"
		"'properties':{'$comment':{'type':'string','$comment':'x','title':'t'},"
		"'a':{'oneOf':[{'$comment':'y','type':'string'}],'examples':['q']}}}");
	char *text = cJSON_PrintUnformatted(schema_json(s));

	tap_is_str(text,
		   "{\"type\":\"object\",\"description\":\"d\",\"properties\":{\"$comment\":"
		   "{\"type\":\"string\",\"title\":\"t\"},\"a\":{\"oneOf\":[{\"type\":\"string\"}],"
		   "\"examples\":[\"q\"]}}}",
		   "the model's copy keeps annotations and drops $comment (not a property of that name)");
	free(text);
	schema_free(s);
}

/* Limits of what one message shows, and problems past the cap counted
 * whatever their kind. */
static void test_message_limits(void)
{
	struct buf text = BUF_INIT, want = BUF_INIT;
	struct schema *s;
	cJSON *v;

	/* an enum too long to list in full */
	buf_puts(&text, "{'enum':[");
	for (int i = 0; i < 40; i++)
		buf_printf(&text, "%s'value-number-%02d'", i ? "," : "", i);
	buf_puts(&text, "]}");
	s = compile_q(text.data);
	check_q(s, "'x'",
		"the arguments: must be one of \"value-number-00\", \"value-number-01\", "
		"\"value-number-02\", \"value-number-03\", \"value-number-04\", \"value-number-05\", "
		"\"value-number-06\", \"value-number-07\", \"value-number-08\", \"value-number-09\", "
		"\"value-number-10\", \"value-number-11\", \"value-number-12\", \"value-number-13\", "
		"\"value-number-14\", \"value-number-15\", \"value-number-16\", \"value-number-17\", "
		"\"value-number-18\", \"value-number-19\", … (40 in all), got \"x\"\n",
		"a long enum is cut after about 400 bytes, with the count");
	schema_free(s);

	/* a long constant is cut */
	s = compile_q("{'const':{'key':'a long string that goes on and on and on, well past sixty "
		      "characters'}}");
	check_q(s, "{}",
		"the arguments: must be {\"key\":\"a long string that goes on and on and on, "
		"well past …, got an object\n",
		"a long constant is cut to 60 characters");
	check_q(s, "{'key':'x'}",
		"the arguments: must be {\"key\":\"a long string that goes on and on and on, "
		"well past …, got an object\n",
		"same keys in the same order, another value");
	schema_free(s);

	/* many properties: ten are listed */
	buf_reset(&text);
	buf_puts(&text, "{'additionalProperties':false,'properties':{");
	for (int i = 0; i < 12; i++)
		buf_printf(&text, "%s'p%d':{}", i ? "," : "", i);
	buf_puts(&text, "}}");
	s = compile_q(text.data);
	check_q(s, "{'zzzz':1}",
		"unexpected property `zzzz` (allowed: `p0`, `p1`, `p2`, `p3`, `p4`, `p5`, `p6`, "
		"`p7`, `p8`, `p9`, … 12 in all)\n",
		"ten allowed names, then the count");
	schema_free(s);

	/* past the cap every kind of problem is still counted */
	s = compile_q("{'type':'array','items':{'type':'object','additionalProperties':false,"
		      "'required':['r'],'properties':{'r':{},'e':{'enum':[1]},'c':{'const':2},"
		      "'p':{'type':'string','pattern':'^a'},'u':{'type':'array','uniqueItems':true},"
		      "'o':{'oneOf':[{'type':'object','required':['x','y']},{'type':'string'}]}}}}");
	v = parse_q("[{'r':1,'z':1,'e':2,'c':1,'p':'b','u':[1,1],'o':{}}]");
	for (int i = 0; i < 3; i++)
		cJSON_AddItemReferenceToArray(v, v->child);
	check_item(s, v,
		   "`[0]`: unexpected property `z` (allowed: `r`, `e`, `c`, `p`, `u`, `o`)\n"
		   "`[0].e`: must be 1, got 2\n"
		   "`[0].c`: must be 2, got 1\n"
		   "`[0].p`: must match the pattern `^a`, got \"b\"\n"
		   "`[0].u`: items must be unique, but [1] repeats [0]\n"
		   "`[0].o`: matches no form in oneOf; the closest, oneOf[0], fails with:\n"
		   "  `[0].o.x`: required\n"
		   "  `[0].o.y`: required\n"
		   "`[1]`: unexpected property `z` (allowed: `r`, `e`, `c`, `p`, `u`, `o`)\n"
		   "`[1].e`: must be 1, got 2\n"
		   "`[1].c`: must be 2, got 1\n"
		   "`[1].p`: must match the pattern `^a`, got \"b\"\n"
		   "`[1].u`: items must be unique, but [1] repeats [0]\n"
		   "`[1].o`: matches no form in oneOf; the closest, oneOf[0], fails with:\n"
		   "  `[1].o.x`: required\n"
		   "  `[1].o.y`: required\n"
		   "`[2]`: unexpected property `z` (allowed: `r`, `e`, `c`, `p`, `u`, `o`)\n"
		   "`[2].e`: must be 1, got 2\n"
		   "`[2].c`: must be 2, got 1\n"
		   "`[2].p`: must match the pattern `^a`, got \"b\"\n"
		   "(and 12 more problems)\n",
		   "every kind of problem counted past the cap");
	cJSON_Delete(v);
	v = parse_q("[{'o':{},'r':1},{'r':1}]");
	cJSON_DeleteItemFromArray(v, 1);
	for (int i = 0; i < 25; i++)
		cJSON_AddItemReferenceToArray(v, v->child);
	buf_reset(&want);
	for (int i = 0; i < 6; i++)
		buf_printf(&want,
			   "`[%d].o`: matches no form in oneOf; the closest, oneOf[0], fails with:\n"
			   "  `[%d].o.x`: required\n  `[%d].o.y`: required\n", i, i, i);
	buf_printf(&want, "`[6].o`: matches no form in oneOf; the closest, oneOf[0], fails with:\n"
			  "  `[6].o.x`: required\n(and 58 more problems)\n");
	check_item(s, v, want.data, "a branch's lines stop at the cap too");
	cJSON_Delete(v);
	schema_free(s);

	/* patterns with control characters are shown on one line */
	s = compile_q("{'pattern':'^\\r\\t\\u0001\\u0085$'}");
	check_q(s, "'x'", "the arguments: must match the pattern `^\\r\\t\\x01\\u0085$`, got \"x\"\n",
		"control characters in a pattern are shown as escapes");
	schema_free(s);

	buf_release(&text);
	buf_release(&want);
}

/* An array nested depth levels, built without cJSON's parser (which stops
 * at 1000). */
static cJSON *deep_array(int depth)
{
	cJSON *root = cJSON_CreateArray(), *cur = root;

	for (int i = 1; i < depth; i++) {
		cJSON *next = cJSON_CreateArray();
		cJSON_AddItemToArray(cur, next);
		cur = next;
	}
	return root;
}

static void test_hostile(void)
{
	struct schema *any = compile_q("{}");
	struct schema *s = compile_q(
		"{'type':'object','additionalProperties':false,'properties':{"
		"'s':{'type':'string','maxLength':5,'pattern':'^[a-z]*$'},"
		"'list':{'type':'array','items':{'type':'integer'}},"
		"'free':{},'u':{'type':'array','uniqueItems':true}}}");
	struct buf want = BUF_INIT, out = BUF_INIT;
	cJSON *v;
	char *big;
	double t0;

	v = deep_array(10000);
	buf_puts(&want, "`");
	for (int i = 0; i < 64; i++)
		buf_puts(&want, "[0]");
	buf_puts(&want, "`: nested more than 64 levels deep\n");
	check_item(any, v, want.data, "10,000 nested arrays: one problem, at level 65");
	cJSON_Delete(v);
	v = deep_array(64);
	check_item(any, v, NULL, "64 nested arrays are fine");
	cJSON_Delete(v);
	v = cJSON_CreateObject();
	cJSON_AddItemToObject(v, "free", deep_array(5000));
	buf_reset(&want);
	buf_puts(&want, "`free");
	for (int i = 0; i < 63; i++)
		buf_puts(&want, "[0]");
	buf_puts(&want, "`: nested more than 64 levels deep\n");
	check_item(s, v, want.data, "deep inside a property the schema does not look into");
	cJSON_Delete(v);

	big = malloc(10 * 1024 * 1024 + 1);
	memset(big, 'a', 10 * 1024 * 1024);
	big[10 * 1024 * 1024] = '\0';
	v = cJSON_CreateObject();
	cJSON_AddStringToObject(v, "s", big);
	t0 = now_ms();
	check_item(s, v, "`s`: must be at most 5 characters long, got 10485760\n",
		   "a 10 MB string: counted, matched, shown cut");
	cJSON_Delete(v);
	big[5] = 'X';
	v = cJSON_CreateObject();
	cJSON_AddStringToObject(v, "s", big);
	check_item(s, v,
		   "`s`: must be at most 5 characters long, got 10485760\n"
		   "`s`: must match the pattern `^[a-z]*$`, got "
		   "\"aaaaaXaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"…\n",
		   "a 10 MB string that does not match");
	if (!tap_ok(now_ms() - t0 < 5000, "...in reasonable time"))
		printf("#   took %.0f ms\n", now_ms() - t0);
	cJSON_Delete(v);
	free(big);

	/* cJSON ends a string at \u0000: the validator sees what a tool would */
	check_q(s, "{'s':'ab\\u0000cdefgh'}", NULL, "a NUL escape: the string ends there");
	check_q(s, "{'s':'a\\u0001b'}",
		"`s`: must match the pattern `^[a-z]*$`, got \"a\\u0001b\"\n",
		"control characters are escaped in messages");
	check_q(s, "{'s':'a\x7f\xc2\x9b['}",
		"`s`: must match the pattern `^[a-z]*$`, got \"a\\u007f\\u009b[\"\n",
		"DEL and C1 controls (a terminal's CSI) are escaped too");

	v = cJSON_CreateObject();
	cJSON_AddStringToObject(v, "s", "ab\xff\xfe");
	check_item(s, v, "`s`: not valid UTF-8\n", "invalid UTF-8 in a string");
	cJSON_Delete(v);
	v = cJSON_CreateObject();
	cJSON_AddStringToObject(v, "s", "\xed\xa0\x80");
	check_item(s, v, "`s`: not valid UTF-8\n", "a UTF-8 surrogate is invalid");
	cJSON_Delete(v);
	v = cJSON_CreateObject();
	cJSON_AddNumberToObject(v, "bad\xff\x01key", 1);
	check_item(s, v,
		   "unexpected property `\"bad\xef\xbf\xbd\\u0001key\"` (allowed: `s`, `list`, "
		   "`free`, `u`)\n",
		   "an invalid, controlled key is shown printable");
	cJSON_Delete(v);

	big = malloc(100001);
	memset(big, 'k', 100000);
	big[100000] = '\0';
	v = cJSON_CreateObject();
	cJSON_AddNumberToObject(v, big, 1);
	check_item(s, v,
		   "unexpected property `\"kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk\"…` "
		   "(allowed: `s`, `list`, `free`, `u`)\n",
		   "a 100 kB key is cut");
	cJSON_Delete(v);
	free(big);

	/* many problems: 20 lines, then a count */
	v = cJSON_CreateObject();
	{
		cJSON *list = cJSON_AddArrayToObject(v, "list");
		for (int i = 0; i < 100000; i++)
			cJSON_AddItemToArray(list, cJSON_CreateString("x"));
	}
	buf_reset(&want);
	for (int i = 0; i < 20; i++)
		buf_printf(&want, "`list[%d]`: expected integer, got string\n", i);
	buf_puts(&want, "(and 99980 more problems)\n");
	check_item(s, v, want.data, "100,000 problems: 20 shown, the rest counted");
	cJSON_Delete(v);

	/* uniqueItems on a big array stays fast */
	v = cJSON_CreateObject();
	{
		cJSON *u = cJSON_AddArrayToObject(v, "u");
		for (int i = 0; i < 200000; i++)
			cJSON_AddItemToArray(u, cJSON_CreateNumber(i));
		cJSON_AddItemToArray(u, cJSON_CreateNumber(199999));
	}
	t0 = now_ms();
	check_item(s, v, "`u`: items must be unique, but [200000] repeats [199999]\n",
		   "uniqueItems over 200,001 numbers");
	if (!tap_ok(now_ms() - t0 < 5000, "...in reasonable time"))
		printf("#   took %.0f ms\n", now_ms() - t0);
	cJSON_Delete(v);

	/* values that are not JSON: a programmatic tree could hold them */
	v = cJSON_CreateObject();
	{
		cJSON *raw = cJSON_CreateRaw("{");
		cJSON_AddItemToObject(v, "free", raw);
	}
	check_item(s, v, "`free`: not a JSON value\n", "a raw cJSON item");
	cJSON_Delete(v);

	/* a long path keeps both ends */
	{
		cJSON *root = cJSON_CreateObject(), *cur = root;
		struct schema *deep_schema;
		struct buf sch = BUF_INIT;
		for (int i = 0; i < 30; i++) {
			cJSON *next = cJSON_CreateObject();
			cJSON_AddItemToObject(cur, "abcdefghij", next);
			cur = next;
		}
		cJSON_AddStringToObject(cur, "leaf", "x");
		for (int i = 0; i < 30; i++)
			buf_puts(&sch, "{'properties':{'abcdefghij':");
		buf_puts(&sch, "{'properties':{'leaf':{'type':'integer'}}}");
		for (int i = 0; i < 30; i++)
			buf_puts(&sch, "}}");
		deep_schema = compile_q(sch.data);
		buf_release(&sch);
		buf_reset(&out);
		schema_validate(deep_schema, root, &out);
		tap_is_str(out.data,
			   "`abcdefghij.abcdefghij.abcdefghij.abcdefghij.abcdefghij.abcdefghij."
			   "abcdefghij.abcdefghij.abcdefghij.a…defghij.abcdefghij.abcdefghij.abcdefghij."
			   "abcdefghij.abcdefghij.abcdefghij.abcdefghij.abcdefghij.leaf`: expected "
			   "integer, got string\n",
			   "a 300-byte path is shortened in the middle");
		schema_free(deep_schema);
		cJSON_Delete(root);
	}
	buf_release(&out);
	buf_release(&want);
	schema_free(any);
	schema_free(s);
}

struct thread_arg {
	const struct schema *s;
	int failures;
};

static void *validate_many(void *p)
{
	struct thread_arg *a = p;
	cJSON *good = parse_q("{'id':'abc','n':3}"), *bad = parse_q("{'id':'ABC','n':300}");
	struct buf out = BUF_INIT;

	for (int i = 0; i < 2000; i++) {
		buf_reset(&out);
		if (schema_validate(a->s, good, &out) != 0)
			a->failures++;
		buf_reset(&out);
		if (schema_validate(a->s, bad, &out) != 1 ||
		    strcmp(out.data, "`id`: must match the pattern `^[a-z]+$`, got \"ABC\"\n"
				     "`n`: must be at most 10, got 300\n") != 0)
			a->failures++;
	}
	buf_release(&out);
	cJSON_Delete(good);
	cJSON_Delete(bad);
	return NULL;
}

static void test_threads(void)
{
	struct schema *s = compile_q("{'properties':{'id':{'type':'string','pattern':'^[a-z]+$'},"
				     "'n':{'type':'integer','maximum':10}}}");
	pthread_t t[4];
	struct thread_arg a[4];
	int failures = 0;

	for (int i = 0; i < 4; i++) {
		a[i].s = s;
		a[i].failures = 0;
		pthread_create(&t[i], NULL, validate_many, &a[i]);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		failures += a[i].failures;
	}
	tap_is_int(failures, 0, "one schema, four threads validating at once");
	schema_free(s);
}

int main(void)
{
	test_types();
	test_integer();
	test_paths();
	test_required();
	test_additional();
	test_enum_const();
	test_lengths();
	test_pattern();
	test_numbers();
	test_arrays();
	test_combinators();
	test_booleans();
	test_defaults();
	test_malformed();
	test_shown();
	test_message_limits();
	test_hostile();
	test_threads();
	return tap_done();
}

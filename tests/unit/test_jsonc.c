/* jsonc: comments, precise syntax errors, duplicate keys, limits, positions,
 * typed getters and unknown-key checks.  Columns count characters. */
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "forja/jsonc.h"
#include "tap.h"

static struct jsonc_doc *parse_ok_len(const char *text, size_t len, const char *name)
{
	struct jsonc_doc *doc = NULL;
	struct ferr e = FERR_INIT;

	if (!tap_ok(jsonc_parse("config.json", text, len, &doc, &e) == 0 && doc, name))
		printf("#   error: %s\n", e.msg);
	return doc;
}

static struct jsonc_doc *parse_ok(const char *text, const char *name)
{
	return parse_ok_len(text, strlen(text), name);
}

/* The parse fails with exactly want (FERR_CONFIG) and yields no doc. */
static void fails_len(const char *text, size_t len, const char *want, const char *name)
{
	struct jsonc_doc *doc = (struct jsonc_doc *)&doc;
	struct ferr e = FERR_INIT;
	int rc = jsonc_parse("config.json", text, len, &doc, &e);

	tap_is_str(e.msg, want, name);
	if (rc != -1 || doc != NULL || e.cls != FERR_CONFIG)
		tap_ok(0, "  ...and returns -1, no doc, FERR_CONFIG");
	jsonc_free(rc == 0 ? doc : NULL);
}

static void fails(const char *text, const char *want, const char *name)
{
	fails_len(text, strlen(text), want, name);
}

static void locate_is(const struct jsonc_doc *doc, const char *path, int line, int col,
		      const char *name)
{
	int l = 0, c = 0;
	const cJSON *item = jsonc_find(doc, path);

	if (!item || jsonc_locate(doc, item, &l, &c) < 0) {
		tap_ok(0, name);
		printf("#   %s not found\n", path);
		return;
	}
	tap_is_int(l * 1000 + c, line * 1000 + col, name);
}

static void test_comments(void)
{
	const char *text =
		"// config for forja\n"                                   /* 1 */
		"{ /* before a key */ \"a\" /* before the colon */ : /* before the value */ 1, // after\n"
		"  \"arr\": [1, /* inside */ 2 // end of line inside an array\n" /* 3 */
		"    , 3 /* before ] */],\n"                               /* 4 */
		"  \"url\": \"http://x/*y*/ // z\", /* a block\n"          /* 5 */
		"  over three\n"                                           /* 6 */
		"  lines */ \"after\": true\n"                             /* 7 */
		"} // after the last value\n"                              /* 8 */
		"/* and at the very end */";
	struct jsonc_doc *doc = parse_ok(text, "comments of both kinds anywhere parse");
	const cJSON *root;

	if (!doc)
		return;
	root = jsonc_root(doc);
	tap_is_int(jsonc_member(root, "a")->valueint, 1, "value between comments");
	tap_is_int(cJSON_GetArraySize(jsonc_member(root, "arr")), 3, "array with comments inside");
	tap_is_str(jsonc_member(root, "url")->valuestring, "http://x/*y*/ // z",
		   "comment markers inside a string are text");
	tap_ok(cJSON_IsTrue(jsonc_member(root, "after")), "value after a block comment");
	locate_is(doc, "after", 7, 12, "a block comment keeps its newlines (line numbers)");
	locate_is(doc, "arr[2]", 4, 7, "array element after a comment");
	jsonc_free(doc);

	doc = parse_ok("{\"a\": \"x\\\\\", // comment\n \"b\": \"say \\\"hi\\\" // not a comment\"}",
		       "escaped backslash and quotes before comment markers");
	if (doc) {
		tap_is_str(jsonc_member(jsonc_root(doc), "a")->valuestring, "x\\",
			   "escaped backslash ends the string");
		tap_is_str(jsonc_member(jsonc_root(doc), "b")->valuestring,
			   "say \"hi\" // not a comment", "escaped quote does not end the string");
	}
	jsonc_free(doc);

	doc = parse_ok("[1]//no newline at the end", "line comment at end of file");
	jsonc_free(doc);

	fails("{\"a\": 1 /* open\n\n", "config.json:1:9: unterminated comment: no '*/' closes this '/*'",
	      "unterminated block comment reported at its start");
	fails("{\"a\": 1 / 2}", "config.json:1:9: unexpected '/': a comment starts with // or /*",
	      "lone slash");
	fails("// nothing\n/* at all */\n",
	      "config.json:1:1: empty document; expected a JSON value such as {}", "only comments");
}

static void test_syntax(void)
{
	fails("", "config.json:1:1: empty document; expected a JSON value such as {}", "empty file");
	fails("  \n\t\n", "config.json:1:1: empty document; expected a JSON value such as {}",
	      "only whitespace");
	fails("{\"a\": \"abc", "config.json:1:7: unterminated string", "unterminated string at EOF");
	fails("{\"a\": \"abc\n}",
	      "config.json:1:7: unterminated string: the line ends before the closing quote",
	      "unterminated string at end of line");
	fails("{\"a\": 1,}", "config.json:1:8: trailing comma before '}'", "trailing comma in object");
	fails("[1, 2, ]", "config.json:1:6: trailing comma before ']'", "trailing comma in array");
	fails("{\n  \"a\": 1, // last\n}", "config.json:2:9: trailing comma before '}'",
	      "trailing comma before a comment");
	fails("{\n  \"timeouts\": 30\n  \"model\": \"x\"\n}",
	      "config.json:3:3: expected ',' or '}' after the value of \"timeouts\", found a string",
	      "missing comma between members");
	fails("{\"tools\": [\"a\" \"b\"]}",
	      "config.json:1:16: expected ',' or ']' after an element of \"tools\", found a string",
	      "missing comma between elements");
	fails("[[1] [2]]",
	      "config.json:1:6: expected ',' or ']' after an array element, found '['",
	      "missing comma in an unnamed array");
	fails("{\"a\" 1}", "config.json:1:6: expected ':' after the key \"a\", found a number",
	      "missing colon");
	fails("{\"a\": [1, 2",
	      "config.json:1:12: unexpected end of file; expected ',' or ']' after an element of "
	      "\"a\" (the array opened at line 1, column 7 is not closed)",
	      "unexpected end of file inside an array");
	fails("{\n  \"a\":",
	      "config.json:2:7: unexpected end of file; expected the value of \"a\" (the object "
	      "opened at line 1, column 1 is not closed)",
	      "unexpected end of file after a colon");
	fails("{", "config.json:1:2: unexpected end of file; expected a key in double quotes or '}' "
	      "(the object opened at line 1, column 1 is not closed)", "lone brace");
	fails("{\"a\": }", "config.json:1:7: expected the value of \"a\", found '}'", "missing value");
	fails("{, \"a\": 1}", "config.json:1:2: expected a key in double quotes or '}', found ','",
	      "comma first");
	fails("{\"a\": 1, , \"b\": 2}",
	      "config.json:1:10: expected a key in double quotes after ',', found ','",
	      "double comma in object");
	fails("[1,,2]", "config.json:1:4: expected a value after ',', found ','",
	      "double comma in array");
	fails("{model: \"x\"}", "config.json:1:2: expected a key in double quotes or '}', found 'model'",
	      "unquoted key");
	fails("{'a': 1}",
	      "config.json:1:2: expected a key in double quotes or '}', found a single quote (JSON "
	      "strings take double quotes)", "single-quoted key");
	fails("{\"a\": True}", "config.json:1:7: invalid value 'True'; did you mean 'true'?",
	      "capitalised literal gets a suggestion");
	fails("{\"a\": yes}",
	      "config.json:1:7: invalid value 'yes' (a string needs double quotes; the literals are "
	      "true, false and null)", "bare word");
	fails("{\"a\": 007}", "config.json:1:7: invalid number '007': leading zeros are not allowed",
	      "leading zeros");
	fails("[0x10]", "config.json:1:2: invalid number '0x10'", "hex number");
	fails("[+1]", "config.json:1:2: invalid number '+1': a number starts with a digit or '-'",
	      "plus sign");
	fails("[.5]", "config.json:1:2: invalid number '.5': a number starts with a digit or '-'",
	      "leading dot");
	fails("[1.]", "config.json:1:2: invalid number '1.': expected a digit after '.'",
	      "trailing dot");
	fails("[1e+]", "config.json:1:2: invalid number '1e+': expected a digit in the exponent",
	      "empty exponent");
	fails("[-Infinity]", "config.json:1:2: invalid number '-Infinity': expected a digit after '-'",
	      "-Infinity");
	fails("[NaN]",
	      "config.json:1:2: invalid value 'NaN' (a string needs double quotes; the literals are "
	      "true, false and null)", "NaN");
	fails("{} {}",
	      "config.json:1:4: expected the end of the file after the top-level value, found '{'",
	      "two documents");
	fails("{\"a\": 1}}",
	      "config.json:1:9: expected the end of the file after the top-level value, found '}'",
	      "extra closing brace");
	fails("{\"a\": #}", "config.json:1:7: expected the value of \"a\", found '#'",
	      "unexpected character");
	fails("{\"a\": \xc2\xa0 1}",
	      "config.json:1:7: expected the value of \"a\", found '\xc2\xa0' (U+00A0)",
	      "non-breaking space is named with its code point");
	fails("{\"a\": \x01}", "config.json:1:7: expected the value of \"a\", found a control "
	      "character (U+0001)", "control character between tokens");

	/* strings */
	fails("{\"a\": \"\\q\"}",
	      "config.json:1:8: invalid escape '\\q' in a string; the escapes are \\\" \\\\ \\/ \\b "
	      "\\f \\n \\r \\t \\uXXXX", "invalid escape");
	fails("{\"a\": \"\\u12G4\"}", "config.json:1:8: invalid escape: \\u takes four hex digits",
	      "short \\u escape");
	fails("{\"a\": \"x\\u0000y\"}",
	      "config.json:1:9: \\u0000 (a NUL character) is not allowed in a string",
	      "\\u0000 rejected");
	fails("[\"\\uDC00\"]",
	      "config.json:1:3: invalid escape \\uDC00: a low surrogate with no high surrogate "
	      "before it", "lone low surrogate");
	fails("[\"\\uD83D x\"]",
	      "config.json:1:3: invalid escape \\uD83D: a high surrogate must be followed by a low "
	      "one (\\uDC00 to \\uDFFF)", "lone high surrogate");
	fails("[\"a\tb\"]", "config.json:1:4: control character U+0009 in a string; write it as \\t",
	      "raw tab in a string");
	fails("[\"a\x1b\"]", "config.json:1:4: control character U+001B in a string; write it as "
	      "\\u001B", "raw escape character in a string");

	struct jsonc_doc *doc = parse_ok("[\"\\uD83D\\uDE00 \\u00e9\\n\\/\"]",
					 "surrogate pair and escapes parse");
	if (doc)
		tap_is_str(cJSON_GetArrayItem(jsonc_root(doc), 0)->valuestring,
			   "\xf0\x9f\x98\x80 \xc3\xa9\n/", "escapes decoded");
	jsonc_free(doc);

	doc = parse_ok("\"just a string\"", "a scalar top-level value");
	jsonc_free(doc);
}

static void test_bytes(void)
{
	struct jsonc_doc *doc;

	doc = parse_ok("\xef\xbb\xbf{\"a\": 1}", "byte order mark accepted");
	if (doc)
		locate_is(doc, "a", 1, 2, "byte order mark is not a column");
	jsonc_free(doc);
	fails("\xef\xbb\xbf{\"a\": x}",
	      "config.json:1:7: invalid value 'x' (a string needs double quotes; the literals are "
	      "true, false and null)", "error column after a byte order mark");
	fails("\xef\xbb\xbf", "config.json:1:1: empty document; expected a JSON value such as {}",
	      "only a byte order mark");
	fails_len("\xff\xfe{\0}\0", 6, "config.json:1:1: the file is UTF-16; save it as UTF-8",
		  "UTF-16 named as such");

	fails_len("{\"a\": 1,\n \"b\"\0: 2}", 17, "config.json:2:5: NUL byte (the file must be text)",
		  "NUL byte between tokens, with position");
	fails_len("{\"a\": \"x\0y\"}", 12,
		  "config.json:1:9: NUL byte in a string (the file must be text)", "NUL byte in a string");
	fails_len("{} // x\0y", 9, "config.json:1:8: NUL byte in a comment (the file must be text)",
		  "NUL byte in a comment");

	fails("{\"a\": \"caf\xe9\"}", "config.json:1:11: invalid UTF-8 in a string (byte 0xE9)",
	      "invalid UTF-8 in a string");
	fails("{\"a\": 1, \xff}", "config.json:1:10: invalid UTF-8 (byte 0xFF)",
	      "invalid UTF-8 between tokens");
	fails("{} /* caf\xe9 */", "config.json:1:10: invalid UTF-8 in a comment (byte 0xE9)",
	      "invalid UTF-8 in a comment");
	fails("[\"\xed\xa0\x80\"]", "config.json:1:3: invalid UTF-8 in a string (byte 0xED)",
	      "encoded surrogate is invalid UTF-8");
	fails("{\"\xc3\xa9\xc3\xa9\": 1 x}",
	      "config.json:1:10: expected ',' or '}' after the value of \"\xc3\xa9\xc3\xa9\", found 'x'",
	      "columns count characters, not bytes");
	fails("{\"k\": \"\xe2\x82\xac\", \"v\": \"\xe2\x82\xac\xff\"}",
	      "config.json:1:19: invalid UTF-8 in a string (byte 0xFF)",
	      "invalid UTF-8 position after multibyte characters");
}

static void test_lines(void)
{
	struct jsonc_doc *doc;

	fails("{\r\n  \"a\": 1,\r\n  \"b\": x\r\n}",
	      "config.json:3:8: invalid value 'x' (a string needs double quotes; the literals are "
	      "true, false and null)", "CRLF line ends: line and column right");
	doc = parse_ok("{\r\n  \"a\": 1,\r\n  \"b\": [\r\n    true]\r\n}\r\n", "CRLF file parses");
	if (doc) {
		locate_is(doc, "b", 3, 3, "CRLF: key located");
		locate_is(doc, "b[0]", 4, 5, "CRLF: element located");
	}
	jsonc_free(doc);
	/* a tab is one column */
	fails("{\n\t\"a\":\ttrue,\n\t\"b\": x}",
	      "config.json:3:7: invalid value 'x' (a string needs double quotes; the literals are "
	      "true, false and null)", "a tab counts as one column");
}

static void test_duplicates(void)
{
	fails("{\n"
	      "  \"model\": \"a\",\n"
	      "  \"providers\": {\n"
	      "    \"local\": {\"url\": \"x\",\n"
	      "      \"url\": \"y\"}\n"
	      "  }\n"
	      "}",
	      "config.json:5:7: duplicate key \"url\" (first at line 4, column 15)",
	      "duplicate key at depth names both places");
	fails("{\n"
	      "  \"model\": \"a\",\n"
	      "  \"x\": {\"k\": 1, \"k\": 2},\n"
	      "  \"model\": \"b\"\n"
	      "}",
	      "config.json:3:17: duplicate key \"k\" (first at line 3, column 9)",
	      "the earliest duplicate in the file is reported");
	fails("{\"tools\": [{\"name\": 1}, {\"name\": 2, \"name\": 3}]}",
	      "config.json:1:37: duplicate key \"name\" (first at line 1, column 26)",
	      "duplicate inside an array element");
	fails("{\"a\": 1, \"\\u0061\": 2}",
	      "config.json:1:10: duplicate key \"a\" (first at line 1, column 2)",
	      "duplicates compared after decoding escapes");
	struct jsonc_doc *doc = parse_ok("{\"a\": {\"a\": {\"a\": 1}}, \"b\": {\"a\": 2}}",
					 "same key in different objects is fine");
	jsonc_free(doc);
}

static void test_limits(void)
{
	size_t n = JSONC_MAX_DEPTH + 1;
	char *deep = malloc(2 * n + 2);
	struct jsonc_doc *doc;

	/* 64 levels parse */
	memset(deep, '[', n - 1);
	memset(deep + n - 1, ']', n - 1);
	doc = parse_ok_len(deep, 2 * (n - 1), "64 levels of nesting accepted");
	jsonc_free(doc);
	memset(deep, '[', n);
	memset(deep + n, ']', n);
	fails_len(deep, 2 * n,
		  "config.json:1:65: nested too deeply (the limit is 64 levels of objects and arrays)",
		  "65 levels rejected at the 65th bracket");
	free(deep);

	/* far beyond cJSON's own limit: no stack trouble, same message */
	n = 200000;
	deep = malloc(n);
	memset(deep, '[', n);
	fails_len(deep, n,
		  "config.json:1:65: nested too deeply (the limit is 64 levels of objects and arrays)",
		  "200000 open brackets");
	free(deep);

	char *big = malloc(JSONC_MAX_SIZE + 1);
	memset(big, ' ', JSONC_MAX_SIZE + 1);
	big[0] = '{';
	big[JSONC_MAX_SIZE - 1] = '}';
	doc = parse_ok_len(big, JSONC_MAX_SIZE, "document of exactly the size limit accepted");
	jsonc_free(doc);
	fails_len(big, JSONC_MAX_SIZE + 1,
		  "config.json: too large (4194305 bytes; the limit is 4 MiB)", "size limit");
	free(big);

	/* "[0,0,...,0]": the array and its elements are the values */
	n = JSONC_MAX_VALUES - 1;
	char *many = malloc(2 * n + 3);
	many[0] = '[';
	for (size_t i = 0; i < n; i++) {
		many[1 + 2 * i] = '0';
		many[2 + 2 * i] = ',';
	}
	many[2 * n] = ']';
	doc = parse_ok_len(many, 2 * n + 1, "an array of JSONC_MAX_VALUES - 1 elements accepted");
	jsonc_free(doc);
	many[2 * n] = ',';
	many[2 * n + 1] = '0';
	many[2 * n + 2] = ']';
	char want[128];
	snprintf(want, sizeof want, "config.json:1:%zu: too many values (the limit is %d)",
		 2 * n + 2, JSONC_MAX_VALUES);
	fails_len(many, 2 * n + 3, want, "one value more rejected at that value");
	free(many);

	char num[80];
	memset(num, '1', 63);
	strcpy(num + 63, "]");
	num[0] = '[';
	doc = parse_ok(num, "62-digit number accepted");
	jsonc_free(doc);
	num[0] = '[';
	memset(num + 1, '1', 64);
	strcpy(num + 65, "]");
	fails(num, "config.json:1:2: number too long (more than 63 characters)",
	      "64-digit number rejected");
}

static const char *config_text =
	"{\n"                                     /* 1 */
	"  \"model\": \"qwen\",\n"                /* 2 */
	"  \"shell\": true,\n"                    /* 3 */
	"  \"providers\": {\n"                    /* 4 */
	"    \"local\": {\n"                      /* 5 */
	"      \"url\": \"http://127.0.0.1\",\n"  /* 6 */
	"      \"timeout_ms\": \"ten\",\n"        /* 7 */
	"      \"retries\": 70000,\n"             /* 8 */
	"      \"big\": 9223372036854775808,\n"   /* 9 */
	"      \"small\": -9223372036854775808,\n" /* 10 */
	"      \"half\": 1.5,\n"                  /* 11 */
	"      \"kilo\": 1e3,\n"                  /* 12 */
	"      \"exact\": 9007199254740993,\n"    /* 13 */
	"      \"temp\": 0.7,\n"                  /* 14 */
	"      \"nothing\": null\n"               /* 15 */
	"    }\n"                                 /* 16 */
	"  },\n"                                  /* 17 */
	"  \"tools\": [\"read\", \"write\",\n"    /* 18 */
	"            {\"name\": \"x\", \"args\": [1, 2, [3]]}],\n" /* 19 */
	"  \"a.b\": {\"c d\": [0]}\n"             /* 20 */
	"}\n";

static void test_getters(void)
{
	struct jsonc_doc *doc = parse_ok(config_text, "sample config parses");
	struct ferr e = FERR_INIT;
	const cJSON *root, *local, *obj = NULL;
	const char *str = "default";
	long long v = 42;
	double d = 0;
	bool b = false;

	if (!doc)
		return;
	root = jsonc_root(doc);
	local = jsonc_find(doc, "providers.local");
	tap_ok(local && local == jsonc_member(jsonc_member(root, "providers"), "local"),
	       "jsonc_find walks objects");

	tap_is_int(jsonc_get_string(doc, root, "model", &str, &e), 0, "string present: 0");
	tap_is_str(str, "qwen", "string value");
	str = "default";
	tap_is_int(jsonc_get_string(doc, root, "missing", &str, &e), 1, "string absent: 1");
	tap_is_str(str, "default", "absent leaves the default");
	tap_is_int(jsonc_get_string(doc, NULL, "model", &str, &e), 1, "NULL object: absent");
	tap_is_int(jsonc_get_string(doc, root, "shell", &str, &e), -1, "bool for string: -1");
	tap_is_str(e.msg, "config.json:3:3: `shell` must be a string, got true", "string type message");
	tap_is_int(e.cls, FERR_CONFIG, "FERR_CONFIG");
	tap_is_int(jsonc_get_string(doc, local, "nothing", &str, &e), -1, "null is a wrong type");
	tap_is_str(e.msg, "config.json:15:7: `providers.local.nothing` must be a string, got null",
		   "null message");

	tap_is_int(jsonc_get_bool(doc, root, "shell", &b, &e), 0, "bool present");
	tap_ok(b, "bool value");
	tap_is_int(jsonc_get_bool(doc, root, "model", &b, &e), -1, "string for bool");
	tap_is_str(e.msg, "config.json:2:3: `model` must be true or false, got \"qwen\"",
		   "bool type message");

	tap_is_int(jsonc_get_int(doc, local, "timeout_ms", 1, 600000, &v, &e), -1, "string for int");
	tap_is_str(e.msg,
		   "config.json:7:7: `providers.local.timeout_ms` must be an integer from 1 to "
		   "600000, got \"ten\"", "int type message with path and position");
	tap_is_int(v, 42, "failed get leaves the value");
	tap_is_int(jsonc_get_int(doc, local, "retries", 0, 65535, &v, &e), -1, "int above max");
	tap_is_str(e.msg, "config.json:8:7: `providers.local.retries` must be an integer from 0 to "
		   "65535, got 70000", "range message");
	tap_is_int(jsonc_get_int(doc, local, "retries", 0, LLONG_MAX, &v, &e), 0, "int in range");
	tap_is_int(v, 70000, "int value");
	tap_is_int(jsonc_get_int(doc, local, "big", LLONG_MIN, LLONG_MAX, &v, &e), -1,
		   "2^63 does not fit");
	tap_is_str(e.msg, "config.json:9:7: `providers.local.big` must be an integer that fits in "
		   "64 bits, got 9223372036854775808", "64-bit overflow message");
	tap_is_int(jsonc_get_int(doc, local, "small", LLONG_MIN, LLONG_MAX, &v, &e), 0,
		   "-2^63 fits");
	tap_ok(v == LLONG_MIN, "LLONG_MIN read exactly");
	tap_is_int(jsonc_get_int(doc, local, "small", 0, LLONG_MAX, &v, &e), -1, "below min");
	tap_is_str(e.msg, "config.json:10:7: `providers.local.small` must be an integer of at least "
		   "0, got -9223372036854775808", "lower bound message");
	tap_is_int(jsonc_get_int(doc, local, "half", INT_MIN, INT_MAX, &v, &e), -1, "1.5 is no integer");
	tap_is_str(e.msg, "config.json:11:7: `providers.local.half` must be an integer from "
		   "-2147483648 to 2147483647, got 1.5", "fraction message");
	tap_is_int(jsonc_get_int(doc, local, "kilo", 0, 5000, &v, &e), 0, "1e3 is an integer");
	tap_is_int(v, 1000, "1e3 value");
	tap_is_int(jsonc_get_int(doc, root, "model", LLONG_MIN, LLONG_MAX, &v, &e), -1,
		   "string for an unbounded int");
	tap_is_str(e.msg, "config.json:2:3: `model` must be an integer, got \"qwen\"",
		   "unbounded int type message");
	tap_is_int(jsonc_get_int(doc, local, "exact", LLONG_MIN, LLONG_MAX, &v, &e), 0,
		   "2^53 + 1 read");
	tap_ok(v == 9007199254740993LL, "integers read exactly, not through double");

	tap_is_int(jsonc_get_double(doc, local, "temp", 0, 2, &d, &e), 0, "double");
	tap_ok(d > 0.69 && d < 0.71, "double value");
	tap_is_int(jsonc_get_double(doc, local, "temp", 1, HUGE_VAL, &d, &e), -1, "double below");
	tap_is_str(e.msg, "config.json:14:7: `providers.local.temp` must be a number of at least 1, "
		   "got 0.7", "double range message");

	tap_is_int(jsonc_get_object(doc, root, "tools", &obj, &e), -1, "array for object");
	tap_is_str(e.msg, "config.json:18:3: `tools` must be an object, got an array",
		   "object type message");
	tap_is_int(jsonc_get_array(doc, root, "tools", &obj, &e), 0, "array");
	tap_is_int(jsonc_as_string(doc, cJSON_GetArrayItem(obj, 2), &str, &e), -1,
		   "array element of the wrong type");
	tap_is_str(e.msg, "config.json:19:13: `tools[2]` must be a string, got an object",
		   "array element located at the element");
	tap_is_int(jsonc_as_object(doc, root, &obj, &e), 0, "root is an object");
	tap_is_int(jsonc_as_array(doc, root, &obj, &e), -1, "root is not an array");
	tap_is_str(e.msg, "config.json:1:1: the top-level value must be an array, got an object",
		   "root named as the top-level value");

	tap_is_int(jsonc_error_at(doc, jsonc_find(doc, "tools[2].args[2][0]"), &e,
				  "`%s` is not allowed", "x"), -1, "jsonc_error_at returns -1");
	tap_is_str(e.msg, "config.json:19:43: `x` is not allowed", "jsonc_error_at message");
	tap_is_int(jsonc_error_at(doc, NULL, &e, "no place"), -1, "jsonc_error_at without an item");
	tap_is_str(e.msg, "config.json: no place", "message without a position");
	jsonc_free(doc);
}

static void path_is(const struct jsonc_doc *doc, const cJSON *item, const char *want,
		    const char *name)
{
	struct buf b = BUF_INIT;

	if (jsonc_path_of(doc, item, &b) < 0)
		buf_puts(&b, "(not found)");
	tap_is_str(buf_cstr(&b), want, name);
	buf_release(&b);
}

static void test_locate(void)
{
	struct jsonc_doc *doc = parse_ok(config_text, "sample config parses again");
	struct jsonc_doc *other = parse_ok("{\"model\": 1}", "second doc");
	int line = 0, col = 0;

	if (!doc || !other)
		return;
	locate_is(doc, "", 1, 1, "root");
	locate_is(doc, "model", 2, 3, "top-level key");
	locate_is(doc, "providers.local", 5, 5, "nested object key");
	locate_is(doc, "providers.local.timeout_ms", 7, 7, "nested key at depth 3");
	locate_is(doc, "tools[0]", 18, 13, "first array element");
	locate_is(doc, "tools[1]", 18, 21, "second array element");
	locate_is(doc, "tools[2]", 19, 13, "array element on the next line");
	locate_is(doc, "tools[2].args[1]", 19, 39, "element of an array inside an element");
	locate_is(doc, "tools[2].args[2][0]", 19, 43, "element of a nested array");
	tap_ok(jsonc_find(doc, "tools[3]") == NULL, "element past the end: NULL");
	tap_ok(jsonc_find(doc, "Model") == NULL, "find is case-sensitive");
	tap_ok(jsonc_find(doc, "model.x") == NULL, "key of a string: NULL");
	tap_ok(jsonc_find(doc, "tools.x") == NULL, "key of an array: NULL");
	tap_ok(jsonc_find(doc, "providers..local") == NULL, "empty component: NULL");
	tap_ok(jsonc_find(doc, "tools[x]") == NULL, "bad index: NULL");
	tap_ok(jsonc_find(doc, "tools[1]x") == NULL, "junk after index: NULL");

	path_is(doc, jsonc_find(doc, "providers.local.url"), "providers.local.url", "path of a key");
	path_is(doc, jsonc_find(doc, "tools[2].args[2][0]"), "tools[2].args[2][0]",
		"path through arrays");
	path_is(doc, jsonc_root(doc), "", "path of the root");
	path_is(doc, cJSON_GetArrayItem(jsonc_member(jsonc_member(jsonc_root(doc), "a.b"), "c d"), 0),
		"[\"a.b\"][\"c d\"][0]", "odd keys quoted in paths");
	path_is(doc, jsonc_root(other), "(not found)", "item of another doc");
	tap_is_int(jsonc_locate(doc, jsonc_root(other), &line, &col), -1,
		   "locate an item of another doc: -1");
	tap_is_int(jsonc_locate(doc, NULL, &line, &col), -1, "locate NULL: -1");
	jsonc_free(other);
	jsonc_free(doc);

	doc = parse_ok("[[1, 2], {\"k\": [true]}]", "top-level array");
	if (doc) {
		path_is(doc, jsonc_find(doc, "[1].k[0]"), "[1].k[0]", "path from a top-level array");
		locate_is(doc, "[1].k[0]", 1, 17, "locate in a top-level array");
	}
	jsonc_free(doc);
}

static void test_keys(void)
{
	static const char *const top[] = { "model", "shell", "providers" };
	static const char *const local[] = { "url", "model", "timeout_ms" };
	struct jsonc_doc *doc;
	struct ferr e = FERR_INIT;
	bool b = false;

	doc = parse_ok("{\n  \"model\": \"x\",\n  \"providers\": {\n    \"local\": {\n"
		       "      \"url\": \"u\",\n\n  \"modle\": \"y\"}}}", "config with a typo");
	if (doc) {
		const cJSON *loc = jsonc_find(doc, "providers.local");
		tap_is_int(jsonc_check_keys(doc, jsonc_root(doc), top, 3, &e), 0, "known keys pass");
		tap_is_int(jsonc_check_keys(doc, loc, local, 3, &e), -1, "unknown key fails");
		tap_is_str(e.msg, "config.json:7:3: unknown key \"modle\" in \"providers.local\"; did "
			   "you mean \"model\"?", "unknown key with suggestion");
		tap_is_int(jsonc_check_keys(doc, loc, local, 0, &e), -1, "no keys allowed");
		tap_is_str(e.msg, "config.json:5:7: unknown key \"url\" in \"providers.local\"; this "
			   "object takes no keys", "object that takes no keys");
		tap_is_int(jsonc_check_keys(doc, jsonc_find(doc, "model"), top, 3, &e), 0,
			   "not an object: nothing to check");
	}
	jsonc_free(doc);

	doc = parse_ok("{\"Shell\": true, \"model\": \"m\"}", "capitalised key");
	if (doc) {
		tap_is_int(jsonc_get_bool(doc, jsonc_root(doc), "shell", &b, &e), 1,
			   "\"Shell\" is not \"shell\"");
		tap_is_int(jsonc_check_keys(doc, jsonc_root(doc), top, 3, &e), -1,
			   "unknown-key check catches the case");
		tap_is_str(e.msg, "config.json:1:2: unknown key \"Shell\" at the top level; did you "
			   "mean \"shell\"?", "case difference suggested");
	}
	jsonc_free(doc);

	doc = parse_ok("{\"model\": 1, \"zzzzzz\": 2}", "far-off key");
	if (doc) {
		jsonc_check_keys(doc, jsonc_root(doc), top, 3, &e);
		tap_is_str(e.msg, "config.json:1:14: unknown key \"zzzzzz\" at the top level; the known "
			   "keys are \"model\", \"shell\", \"providers\"", "no suggestion: known keys listed");
	}
	jsonc_free(doc);

	doc = parse_ok("{\"a\\\"b\\n\": 1}", "key with escapes");
	if (doc) {
		jsonc_check_keys(doc, jsonc_root(doc), top, 3, &e);
		tap_contains(e.msg, "unknown key \"a\\\"b\\n\" at the top level",
			     "unknown key quoted with escapes");
	}
	jsonc_free(doc);
}

static void test_edges(void)
{
	struct jsonc_doc *doc = NULL, *other;
	struct ferr e = FERR_INIT;
	const char *str = NULL;
	long long v = 0;
	double d = 0;
	bool b = true;

	tap_is_int(jsonc_parse(NULL, "{", 1, &doc, &e), -1, "no name");
	tap_contains(e.msg, "<string>:1:2: unexpected end of file", "no name: <string>");
	fails("[\"a\\\n\"]", "config.json:1:4: invalid escape: a backslash must be followed by "
	      "one of \" \\ / b f n r t u", "backslash before a newline");
	fails("[\"a\\", "config.json:1:2: unterminated string", "backslash at end of file");

	doc = parse_ok("{\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\": 1,"
		       " \"\": false, \"del\x7f\": 1e400, \"t\": \"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
		       "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
		       "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\"}",
		       "odd keys and values");
	other = parse_ok("[1]", "another doc");
	if (doc && other) {
		const cJSON *root = jsonc_root(doc);
		jsonc_check_keys(doc, root, (const char *const[]){ "t" }, 1, &e);
		tap_is_str(e.msg, "config.json:1:2: unknown key \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
			   "...\" at the top level; the known keys are \"t\"", "long key shortened");
		tap_is_int(jsonc_get_string(doc, root, "", &str, &e), -1, "empty key");
		tap_is_str(e.msg, "config.json:1:83: `[\"\"]` must be a string, got false",
			   "empty key quoted in the path; false shown");
		tap_is_int(jsonc_get_double(doc, root, "del\x7f", -HUGE_VAL, HUGE_VAL, &d, &e), -1,
			   "1e400 is no double");
		tap_is_str(e.msg, "config.json:1:94: `[\"del\\u007f\"]` must be a number that fits in "
			   "a double, got 1e400", "1e400 message; DEL escaped");
		tap_is_int(jsonc_get_int(doc, root, "del\x7f", LLONG_MIN, 10, &v, &e), -1,
			   "1e400 is no integer");
		tap_is_str(e.msg, "config.json:1:94: `[\"del\\u007f\"]` must be an integer of at most "
			   "10, got 1e400", "upper bound message");
		tap_is_int(jsonc_get_bool(doc, root, "t", &b, &e), -1, "long string for bool");
		tap_contains(e.msg, "must be true or false, got \"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
			     "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
			     "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
			     "...", "long value shortened on a character boundary");
		tap_is_int(jsonc_as_string(doc, jsonc_root(other), &str, &e), -1,
			   "item of another doc");
		tap_is_str(e.msg, "config.json: the top-level value must be a string, got an array",
			   "item of another doc: no position");
		tap_is_int(jsonc_as_int(doc, NULL, 0, 1, &v, &e) + jsonc_as_double(doc, NULL, 0, 1, &d, &e) +
			   jsonc_as_bool(doc, NULL, &b, &e) + jsonc_as_object(doc, NULL, &root, &e) +
			   jsonc_as_array(doc, NULL, &root, &e), 5, "NULL item: absent for every type");
		tap_ok(jsonc_find(doc, "[99999999999]") == NULL, "huge index: NULL");
	}
	jsonc_free(other);
	jsonc_free(doc);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	fputs(text, f);
	fclose(f);
}

static void test_files(void)
{
	char dir[] = "/tmp/forja-jsonc-XXXXXX";
	char path[256];
	struct jsonc_doc *doc = NULL;
	struct ferr e = FERR_INIT;
	int rc;

	if (!mkdtemp(dir)) {
		tap_ok(0, "mkdtemp");
		return;
	}
	snprintf(path, sizeof path, "%s/missing.json", dir);
	tap_is_int(jsonc_load_file(path, &doc, &e), 1, "missing file: 1");
	tap_ok(doc == NULL && e.cls == FERR_NONE, "missing file: no doc, no error");

	snprintf(path, sizeof path, "%s/config.json", dir);
	write_file(path, "{\n  // comment\n  \"model\": \"m\"\n}\n");
	rc = jsonc_load_file(path, &doc, &e);
	tap_is_int(rc, 0, "file loads");
	if (doc) {
		tap_is_str(jsonc_name(doc), path, "doc named by its path");
		jsonc_error_at(doc, jsonc_find(doc, "model"), &e, "bad");
		char want[300];
		snprintf(want, sizeof want, "%s:3:3: bad", path);
		tap_is_str(e.msg, want, "messages start with the path");
	}
	jsonc_free(doc);

	write_file(path, "{\"model\": \"m\",}");
	tap_is_int(jsonc_load_file(path, &doc, &e), -1, "bad file: -1");
	tap_contains(e.msg, "/config.json:1:14: trailing comma before '}'",
		     "bad file: located message");

	tap_is_int(jsonc_load_file(dir, &doc, &e), -1, "directory: -1");
	tap_contains(e.msg, ": is a directory, not a file", "directory message");
	tap_is_int(e.cls, FERR_CONFIG, "directory: FERR_CONFIG");

	char link[256];
	snprintf(link, sizeof link, "%s/dangling.json", dir);
	if (symlink("nowhere.json", link) == 0) {
		tap_is_int(jsonc_load_file(link, &doc, &e), -1, "dangling symlink: -1");
		tap_contains(e.msg, "dangling.json: a symbolic link to a file that does not exist",
			     "dangling symlink message");
		unlink(link);
	}

	if (geteuid() != 0) {
		chmod(path, 0);
		tap_is_int(jsonc_load_file(path, &doc, &e), -1, "unreadable: -1");
		tap_contains(e.msg, "config.json: Permission denied", "unreadable names errno text");
		tap_is_int(e.cls, FERR_CONFIG, "unreadable: FERR_CONFIG");
	}
	unlink(path);

	FILE *f = fopen(path, "w");
	int ok = f && ftruncate(fileno(f), (off_t)JSONC_MAX_SIZE + 1) == 0;
	if (f)
		fclose(f);
	if (ok) {
		tap_is_int(jsonc_load_file(path, &doc, &e), -1, "file over the limit: -1");
		tap_contains(e.msg, "config.json: too large (4194305 bytes; the limit is 4 MiB)",
			     "file size limit checked before reading");
	}
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	test_comments();
	test_syntax();
	test_bytes();
	test_lines();
	test_duplicates();
	test_limits();
	test_getters();
	test_locate();
	test_keys();
	test_edges();
	test_files();
	return tap_done();
}

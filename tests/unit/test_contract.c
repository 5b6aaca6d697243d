/*
 * test_contract.c — contract files: the good fixtures load with the values
 * they declare; every bad fixture gives exactly its located messages;
 * loading directories (order, duplicates, symbolic links, sizes, untrusted
 * project contracts); arguments from the model, hostile ones included;
 * argv expansion, with shell quoting checked by the real /bin/sh.
 */
#include "forja/contract.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tap.h"

#define FIX "tests/fixtures/contracts"

static char tmp[PATH_MAX];
static char root[PATH_MAX];

/* ---- helpers ------------------------------------------------------------- */

/* Run from the source tree whatever the current directory: the binary is
 * <root>/<build>/tests/test_contract. */
static void chdir_to_root(void)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);

	if (n > 0) {
		exe[n] = '\0';
		for (int i = 0; i < 3; i++) {
			char *slash = strrchr(exe, '/');
			if (slash)
				*slash = '\0';
		}
		if (access(FIX, F_OK) != 0 && chdir(exe) != 0)
			perror(exe);
	}
	if (!getcwd(root, sizeof root) || access(FIX, F_OK) != 0) {
		printf("Bail out! cannot find %s\n", FIX);
		exit(1);
	}
}

static void write_file(const char *path, const char *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
		perror(path);
		exit(99);
	}
}

static const char *at(struct buf *b, const char *name)
{
	buf_reset(b);
	buf_printf(b, "%s/%s", tmp, name);
	return b->data;
}

static int sh(const char *fmt, const char *arg)
{
	struct buf cmd = BUF_INIT;
	int rc;

	buf_printf(&cmd, fmt, arg);
	rc = system(cmd.data);
	buf_release(&cmd);
	return rc;
}

/* Parse a contract from text that must be good. */
static bool parse_good(const char *text, struct contract *c, const char *name)
{
	struct buf problems = BUF_INIT;
	int rc = contract_parse("t.json", text, strlen(text), c, &problems);

	if (!tap_ok(rc == 0 && problems.len == 0, name))
		printf("#   rc %d, problems:\n%s", rc, buf_cstr(&problems));
	buf_release(&problems);
	return rc == 0;
}

/* Parse text that must fail with exactly want. */
static void parse_bad(const char *text, const char *want, const char *name)
{
	struct buf problems = BUF_INIT;
	struct contract c;
	int rc = contract_parse("t.json", text, strlen(text), &c, &problems);

	tap_is_str(buf_cstr(&problems), want, name);
	if (rc != 1 || c.name)
		tap_ok(0, "  ...and returns 1 with an empty contract");
	contract_release(&c);
	buf_release(&problems);
}

/* Run argv (NULL-terminated), return what it wrote on stdout; the child
 * runs in dir. */
static int run_capture(char **argv, const char *dir, struct buf *out)
{
	int fds[2], status = 0;
	pid_t pid;

	buf_reset(out);
	if (pipe(fds) != 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		dup2(fds[1], 1);
		close(fds[0]);
		close(fds[1]);
		if (dir && chdir(dir) != 0)
			_exit(126);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(fds[1]);
	for (;;) {
		char chunk[4096];
		ssize_t n = read(fds[0], chunk, sizeof chunk);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		buf_add(out, chunk, (size_t)n);
	}
	close(fds[0]);
	waitpid(pid, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* The argv of c for the arguments in JSON text args_json, joined with "|"
 * (NULL when expansion fails; the error in e). */
static char *expand_joined(const struct contract *c, const char *args_json, struct ferr *e)
{
	cJSON *args = cJSON_Parse(args_json);
	char **argv = NULL;
	size_t argc = 0;
	struct buf joined = BUF_INIT;

	if (contract_expand_argv(c, args, &argv, &argc, e) != 0) {
		cJSON_Delete(args);
		return NULL;
	}
	for (size_t i = 0; i < argc; i++)
		buf_printf(&joined, "%s%s", i ? "|" : "", argv[i]);
	if (argv[argc] != NULL)
		buf_puts(&joined, "<not NULL-terminated>");
	contract_argv_free(argv, argc);
	cJSON_Delete(args);
	return buf_steal(&joined);
}

static void expands_to(const struct contract *c, const char *args_json, const char *want,
		       const char *name)
{
	struct ferr e = FERR_INIT;
	char *got = expand_joined(c, args_json, &e);

	if (!got)
		printf("#   error: %s\n", e.msg);
	tap_is_str(got, want, name);
	free(got);
}

static void expand_fails(const struct contract *c, const char *args_json, const char *want,
			 const char *name)
{
	struct ferr e = FERR_INIT;
	char *got = expand_joined(c, args_json, &e);

	tap_ok(got == NULL && e.cls == FERR_DENIED, name);
	tap_is_str(e.msg, want, "  ...with the message");
	free(got);
}

/* ---- the fixtures -------------------------------------------------------- */

static void test_good_fixtures(void)
{
	struct contract c;
	struct buf problems = BUF_INIT;
	struct ferr e = FERR_INIT;
	int rc;

	rc = contract_load_file(FIX "/good/search_code.json", &c, &problems, &e);
	tap_is_int(rc, 0, "good/search_code.json loads (block and line comments allowed)");
	tap_is_str(buf_cstr(&problems), "", "  ...with no problem");
	tap_is_str(c.name, "search_code", "  name");
	tap_is_int(c.kind, CONTRACT_KIND_COMMAND, "  kind command");
	tap_is_str(c.file, FIX "/good/search_code.json", "  file");
	tap_is_int(c.line * 1000 + c.col, 7 * 1000 + 2, "  where its name is");
	tap_is_int((long long)c.argc, 7, "  argv template kept");
	tap_is_str(c.argv[2], "--max-count={max_count}", "  argv element as written");
	tap_ok(!c.shell, "  shell defaults to false");
	tap_is_int((long long)c.effects.nread, 1, "  one read path");
	tap_is_str(c.effects.read[0], ".", "  the workspace");
	tap_ok(c.effects.exec && !c.effects.network, "  exec, no network");
	tap_is_int(c.limits.timeout_ms, 30000, "  timeout_ms as declared");
	tap_is_int(c.limits.max_output_bytes, 262144, "  max_output_bytes as declared");
	tap_is_int(c.limits.memory_mb, 4096, "  memory_mb default");
	tap_is_int(c.limits.max_processes, 512, "  max_processes default");
	tap_is_int(c.limits.max_file_bytes, 1073741824LL, "  max_file_bytes default");
	tap_is_int((long long)c.nenv, 3, "  env as declared");
	tap_is_int(c.approval, CONTRACT_APPROVAL_NONE, "  approval none");
	tap_is_int((long long)c.nwarnings, 0, "  no warning");
	tap_ok(!contract_needs_approval(&c), "  needs no approval");
	tap_ok(c.schema != NULL && cJSON_IsObject(c.input_schema), "  schema compiled and kept");
	contract_release(&c);
	tap_ok(c.name == NULL && c.argv == NULL, "contract_release leaves an empty contract");

	rc = contract_load_file(FIX "/good/cargo_test.json", &c, &problems, &e);
	tap_is_int(rc, 0, "good/cargo_test.json loads");
	tap_is_int((long long)c.effects.nread, 3, "  three read paths");
	tap_is_str(c.effects.read[1], "~/.cargo", "  ~/.cargo kept as written");
	tap_is_str(c.effects.write[0], "target", "  writes target");
	tap_is_int(c.limits.max_file_bytes, 4294967296LL, "  a limit beyond 32 bits");
	tap_is_int(c.approval, CONTRACT_APPROVAL_ON_WRITE, "  approval defaults to on_write");
	tap_ok(contract_needs_approval(&c), "  on_write with a write path needs approval");
	contract_release(&c);

	rc = contract_load_file(FIX "/good/grep.json", &c, &problems, &e);
	tap_is_int(rc, 0, "good/grep.json loads (builtin, globs in effects)");
	tap_is_int(c.kind, CONTRACT_KIND_BUILTIN, "  kind builtin");
	tap_ok(c.argv == NULL && c.argc == 0, "  no argv");
	tap_is_int((long long)c.nenv, 4, "  env defaults to four names");
	tap_is_str(c.env[0], "PATH", "  PATH first");
	tap_is_str(c.env[3], "TERM", "  TERM last");
	cJSON *tool = contract_tool_json(&c);
	char *text = cJSON_PrintUnformatted(tool);
	tap_contains(text, "{\"name\":\"grep\",\"description\":\"Search the files",
		     "  tool JSON: name, description");
	tap_contains(text, "\"parameters\":{\"type\":\"object\",\"properties\":{\"pattern\"",
		     "  tool JSON: parameters are the input_schema");
	free(text);
	cJSON_Delete(tool);
	contract_release(&c);

	rc = contract_load_file(FIX "/good/line_count.json", &c, &problems, &e);
	tap_is_int(rc, 0, "good/line_count.json loads (shell: true)");
	tap_ok(c.shell, "  shell");
	tap_is_int((long long)c.nwarnings, 1, "  one warning");
	tap_is_str(c.nwarnings ? c.warnings[0] : NULL,
		   FIX "/good/line_count.json:13:2: warning: `shell` is true: the arguments go "
		       "through sh, quoted; an argv without a shell is safer and simpler",
		   "  the warning, located");
	tap_ok(contract_needs_approval(&c), "  approval always");
	contract_release(&c);
	buf_release(&problems);

	rc = contract_load_file(FIX "/good/missing.json", &c, &problems, &e);
	tap_is_int(rc, -1, "a missing file is an I/O error");
	tap_is_int(e.cls, FERR_IO, "  FERR_IO");
	tap_is_str(e.msg, FIX "/good/missing.json: No such file or directory", "  naming it");
	rc = contract_load_file(FIX "/good", &c, &problems, &e);
	tap_is_int(rc, -1, "a directory is an I/O error");
	tap_is_str(e.msg, FIX "/good: is a directory, not a file", "  saying so");
	tap_is_str(buf_cstr(&problems), "", "  no problem recorded for I/O errors");
}

struct bad_case {
	const char *file;
	const char *want; /* each line without the file name */
};

static const struct bad_case bad_cases[] = {
	{ "api_key_env.json",
	  ":9:18: `env[1]` \"OPENAI_API_KEY\": API keys are never passed to tools\n"
	  ":9:36: `env[2]` \"GITHUB_TOKEN\": API keys are never passed to tools\n"
	  ":9:52: `env[3]` \"DB_PASSWORD\": API keys are never passed to tools\n"
	  ":9:67: `env[4]` \"AWS_ACCESS_KEY_ID\": API keys are never passed to tools\n"
	  ":9:88: `env[5]` \"2FA\" is not an environment variable name (letters, digits and '_', not starting with a digit)\n"
	  ":9:95: `env[6]` \"PATH\" is listed twice\n" },
	{ "bad_kind.json",
	  ":5:2: `kind` must be \"builtin\" or \"command\", got \"shell\"\n" },
	{ "bad_name.json",
	  ":3:2: `name` must be a lowercase letter followed by at most 63 lowercase letters, digits or '_' (^[a-z][a-z0-9_]{0,63}$), got \"Search-Code\"\n" },
	{ "bad_schema.json",
	  ":9:17: `input_schema.properties.pattern.type`: unknown type \"strng\"; did you mean \"string\"?\n" },
	{ "braces.json",
	  ":7:11: `argv[0]` names the program; it may not hold a placeholder\n"
	  ":7:27: `argv[2]`: '{' does not start a placeholder {name}; write '{{' for a literal brace\n"
	  ":7:37: `argv[3]`: a lone '}'; write '}}' for a literal brace\n" },
	{ "builtin_unknown.json",
	  ":3:2: a builtin contract must be named after a built-in tool (read_file, write_file, edit_file, apply_patch, list_dir, glob, grep, run), got \"gerp\"; did you mean \"grep\"?\n"
	  ":7:2: `argv` is only for command contracts; a builtin one runs inside forja\n" },
	{ "git_write.json",
	  ":7:47: `effects.write[1]` \".git/hooks\": writing .git or .forja is never granted\n"
	  ":7:61: `effects.write[2]` \"sub/.forja\": writing .git or .forja is never granted\n"
	  ":7:75: `effects.write[3]` \".*\": writing .git or .forja is never granted\n"
	  ":7:81: `effects.write[4]` \"vendor/.GIT\": writing .git or .forja is never granted\n" },
	{ "glob_in_command.json",
	  ":8:24: `effects.read[0]` \"src/*.rs\": globs are allowed only for in-process tools; a command contract names files or directories\n"
	  ":8:48: `effects.read[2]` \"~bob/x\": '~' may only start \"~\" or \"~/...\" (the home directory)\n"
	  ":8:58: `effects.read[3]` \"../outside\": a path may not contain \"..\"\n"
	  ":8:72: `effects.read[4]` \"\": a path must not be empty; \".\" is the workspace\n"
	  ":8:87: `effects.write[0]` \"target/[ab]\": globs are allowed only for in-process tools; a command contract names files or directories\n"
	  ":8:103: `effects.exec` must be true for a command contract: it runs a process\n" },
	{ "limits_range.json",
	  ":9:14: `limits.timeout_ms` must be an integer from 1 to 86400000, got 0\n"
	  ":9:31: `limits.max_output_bytes` must be an integer from 1 to 1073741824, got 1073741825\n"
	  ":9:63: `limits.memory_mb` must be an integer from 1 to 1048576, got 1048577\n"
	  ":9:85: `limits.max_processes` must be an integer from 1 to 65536, got -1\n"
	  ":9:106: `limits.max_file_bytes` must be an integer from 1 to 1099511627776, got 1099511627777\n"
	  ":9:139: unknown key \"max_cpu\" in \"limits\"; the known keys are \"timeout_ms\", \"max_output_bytes\", \"memory_mb\", \"max_processes\", \"max_file_bytes\"\n" },
	{ "malformed.json",
	  ":4:28: trailing comma before '}'\n" },
	{ "missing_keys.json",
	  ":1:1: missing required key \"name\"\n"
	  ":1:1: missing required key \"description\"\n"
	  ":1:1: missing required key \"kind\"\n"
	  ":1:1: missing required key \"input_schema\"\n"
	  ":1:1: missing required key \"effects\"\n" },
	{ "newer_format.json",
	  ":3:2: contract format 2 is newer than this forja understands (1)\n" },
	{ "program_placeholder.json",
	  ":7:11: `argv[0]` names the program; it may not hold a placeholder\n"
	  ":8:43: `effects.exec` must be true for a command contract: it runs a process\n" },
	{ "schema_not_object.json",
	  ":4:2: `description` must not be empty: it is what tells the model when to use the tool\n"
	  ":6:20: `input_schema.type` must be \"object\": the arguments of a tool call are an object\n"
	  ":8:2: `approval` must be \"none\", \"on_write\" or \"always\", got \"allways\"; did you mean \"always\"?\n" },
	{ "shell_form.json",
	  ":7:2: with \"shell\": true, `argv` must be [\"sh\", \"-c\", SCRIPT]\n" },
	{ "shell_script.json",
	  ":7:25: `argv[2]` is a script for bash -c and holds placeholders; set \"shell\": true so that their values are quoted\n" },
	{ "undeclared_placeholder.json",
	  ":11:23: `argv[2]`: {patern} is not a property of `input_schema`; did you mean {pattern}?\n"
	  ":11:35: `argv[3]`: {paths...} must be a whole element: it becomes one element per item\n"
	  ":11:57: `argv[4]`: \"paths\" is an array; write {paths...}\n"
	  ":11:68: `argv[5]`: {pattern...} needs an array, but `input_schema` does not let \"pattern\" be one; write {pattern}\n"
	  ":11:84: `argv[6]`: {max} is not a property of `input_schema`\n" },
	{ "unknown_key.json",
	  ":8:75: unknown key \"netwrk\" in \"effects\"; did you mean \"network\"?\n"
	  ":9:2: unknown key \"aproval\" at the top level; did you mean \"approval\"?\n" },
	{ "wrong_types.json",
	  ":2:2: `forja_contract` must be the number 1, got \"1\"\n"
	  ":3:2: `name` must be a string, got 42\n"
	  ":4:2: `description` must be a string, got true\n"
	  ":6:2: `input_schema` must be an object, got an array\n"
	  ":7:2: `argv` must be an array, got \"make test\"\n"
	  ":8:2: `shell` must be true or false, got \"no\"\n"
	  ":9:15: `effects.read` must be an array, got \".\"\n"
	  ":9:38: `effects.write[0]` must be a string, got 7\n"
	  ":9:42: `effects.exec` must be true or false, got \"yes\"\n"
	  ":9:57: `effects.network` must be true or false, got 0\n"
	  ":10:14: `limits.timeout_ms` must be an integer from 1 to 86400000, got \"ten\"\n"
	  ":11:2: `env` must be an array, got \"PATH\"\n"
	  ":12:2: `approval` must be a string, got true\n" },
};

static void test_bad_fixtures(void)
{
	DIR *d = opendir(FIX "/bad");
	struct dirent *de;

	for (size_t i = 0; i < sizeof bad_cases / sizeof *bad_cases; i++) {
		struct buf path = BUF_INIT, want = BUF_INIT, problems = BUF_INIT, name = BUF_INIT;
		struct contract c;
		struct ferr e = FERR_INIT;
		const char *w = bad_cases[i].want;

		buf_printf(&path, FIX "/bad/%s", bad_cases[i].file);
		while (*w) {
			size_t n = strcspn(w, "\n");
			buf_printf(&want, "%s%.*s\n", path.data, (int)n, w);
			w += n + (w[n] == '\n');
		}
		int rc = contract_load_file(path.data, &c, &problems, &e);
		buf_printf(&name, "bad/%s: exactly its problems", bad_cases[i].file);
		tap_is_str(buf_cstr(&problems), want.data, name.data);
		if (rc != 1 || c.name || c.file)
			tap_ok(0, "  ...and returns 1 with an empty contract");
		contract_release(&c);
		buf_release(&path);
		buf_release(&want);
		buf_release(&problems);
		buf_release(&name);
	}
	/* a fixture without an expectation would test nothing */
	while (d && (de = readdir(d))) {
		bool listed = de->d_name[0] == '.';
		for (size_t i = 0; !listed && i < sizeof bad_cases / sizeof *bad_cases; i++)
			listed = strcmp(bad_cases[i].file, de->d_name) == 0;
		if (!listed) {
			tap_ok(0, "every file in bad/ has its expected messages here");
			printf("#   %s has none\n", de->d_name);
		}
	}
	if (d)
		closedir(d);
}

static void test_parse_edges(void)
{
	static const char head[] = "{\"forja_contract\": 1, \"name\": \"t\", \"description\": \"d\", "
				   "\"kind\": \"command\", \"input_schema\": {\"type\": \"object\", "
				   "\"properties\": {\"x\": {\"type\": \"string\"}}}, ";
	static const char fx[] = "\"effects\": {\"read\": [], \"write\": [], \"exec\": true, "
				 "\"network\": false}";
	struct buf t = BUF_INIT, problems = BUF_INIT;
	struct contract c;

	parse_bad("", "t.json:1:1: empty document; expected a JSON value such as {}\n", "an empty file");
	parse_bad("[]", "t.json:1:1: the top-level value must be an object, got an array\n",
		  "an array");
	parse_bad("{\"forja_contract\": 1.5}", "t.json:1:1: missing required key \"name\"\n"
						  "t.json:1:1: missing required key \"description\"\n"
						  "t.json:1:1: missing required key \"kind\"\n"
						  "t.json:1:1: missing required key \"input_schema\"\n"
						  "t.json:1:1: missing required key \"effects\"\n"
						  "t.json:1:2: `forja_contract` must be 1, got 1.5\n",
		  "a fractional format");
	parse_bad("{\"forja_contract\": 0}", "t.json:1:1: missing required key \"name\"\n"
					     "t.json:1:1: missing required key \"description\"\n"
					     "t.json:1:1: missing required key \"kind\"\n"
					     "t.json:1:1: missing required key \"input_schema\"\n"
					     "t.json:1:1: missing required key \"effects\"\n"
					     "t.json:1:2: `forja_contract` must be 1, got 0\n",
		  "format 0, every missing key, in source order");
	parse_bad("{\"forja_contract\": 1, \"forja_contract\": 1}",
		  "t.json:1:23: duplicate key \"forja_contract\" (first at line 1, column 2)\n",
		  "a duplicate key");

	buf_printf(&t, "%s\"argv\": [\"echo\", \"{{x}}\", \"a{{{x}}}b\", \"--\", \"{x}\"], %s}", head, fx);
	if (parse_good(t.data, &c, "escaped braces and a placeholder between them"))
		expands_to(&c, "{\"x\": \"v\"}", "echo|{x}|a{v}b|--|v", "  expand as literal braces");
	contract_release(&c);

	buf_reset(&t);
	buf_printf(&t, "%s\"argv\": [\"echo\", \"{x\", \"x}\", \"{x }\", \"{}\", \"{x....}\"], %s}",
		   head, fx);
	parse_bad(t.data,
		  "t.json:1:169: `argv[1]`: '{' does not start a placeholder {name}; write '{{' for a literal brace\n"
		  "t.json:1:175: `argv[2]`: a lone '}'; write '}}' for a literal brace\n"
		  "t.json:1:181: `argv[3]`: '{' does not start a placeholder {name}; write '{{' for a literal brace\n"
		  "t.json:1:189: `argv[4]`: '{' does not start a placeholder {name}; write '{{' for a literal brace\n"
		  "t.json:1:195: `argv[5]`: '{' does not start a placeholder {name}; write '{{' for a literal brace\n",
		  "malformed braces");

	buf_reset(&t);
	buf_printf(&t, "%s\"argv\": [], %s}", head, fx);
	parse_bad(t.data, "t.json:1:152: `argv` must name at least the program to run\n",
		  "an empty argv");

	buf_reset(&t);
	buf_printf(&t, "%s\"argv\": [\"grep\", \"{x}\"], %s}", head, fx);
	if (parse_good(t.data, &c, "a placeholder before \"--\" loads")) {
		tap_is_int((long long)c.nwarnings, 1, "  ...with a warning");
		tap_is_str(c.nwarnings ? c.warnings[0] : NULL,
			   "t.json:1:169: warning: `argv[1]`: {x} comes before \"--\": a value "
			   "starting with '-' would be read as an option", "  the warning");
	}
	contract_release(&c);

	buf_reset(&t);
	buf_printf(&t, "%s\"argv\": [\"sh\", \"-c\", \"echo \\\"$1\\\"\", \"sh\", \"{x}\"], %s}", head, fx);
	if (parse_good(t.data, &c, "sh -c with the value as \"$1\" is fine without shell: true"))
		expands_to(&c, "{\"x\": \"$(id)\"}", "sh|-c|echo \"$1\"|sh|$(id)", "  $1 stays a value");
	contract_release(&c);

	buf_reset(&t);
	buf_printf(&t, "%s\"argv\": [\"/bin/dash\", \"-ec\", \"echo {x}\"], %s}", head, fx);
	parse_bad(t.data, "t.json:1:181: `argv[2]` is a script for /bin/dash -ec and holds "
			  "placeholders; set \"shell\": true so that their values are quoted\n",
		  "a placeholder in a script for /bin/dash -ec");

	buf_reset(&t);
	buf_printf(&t, "%s\"argv\": [\"true\"], \"effects\": {\"read\": [], \"write\": [], "
		       "\"exec\": true}}", head);
	parse_bad(t.data, "t.json:1:170: missing required key \"network\" in \"effects\"\n",
		  "a missing key inside effects");

	/* an element of the wrong type does not shift where the others are */
	parse_bad("{ \"forja_contract\": 1, \"name\": \"m\", \"description\": \"d\", \"kind\": \"command\",\n"
		  "  \"input_schema\": { \"type\": \"object\" }, \"argv\": [\"true\"],\n"
		  "  \"effects\": { \"read\": [\"a\", 7, \"../x\"], \"write\": [], \"exec\": true, \"network\": false },\n"
		  "  \"env\": [1, \"PATH\", \"X_TOKEN\", \"PATH\"] }\n",
		  "t.json:3:30: `effects.read[1]` must be a string, got 7\n"
		  "t.json:3:33: `effects.read[2]` \"../x\": a path may not contain \"..\"\n"
		  "t.json:4:11: `env[0]` must be a string, got 1\n"
		  "t.json:4:22: `env[2]` \"X_TOKEN\": API keys are never passed to tools\n"
		  "t.json:4:33: `env[3]` \"PATH\" is listed twice\n",
		  "strings among other types in read and env");

	/* 1024 elements at most in a list */
	for (int over = 0; over < 2; over++) {
		buf_reset(&t);
		buf_printf(&t, "%s\"argv\": [\"true\"], \"effects\": {\"read\": [", head);
		for (int i = 0; i < CONTRACT_MAX_LIST + over; i++)
			buf_printf(&t, "%s\"d%d\"", i ? "," : "", i);
		buf_puts(&t, "], \"write\": [], \"exec\": true, \"network\": false}}");
		if (!over) {
			parse_good(t.data, &c, "1024 read paths");
			contract_release(&c);
		} else {
			parse_bad(t.data, "t.json:1:182: `effects.read` has 1025 elements; at most "
					  "1024 are allowed\n", "1025 read paths");
		}
	}

	/* 64 characters is the longest name */
	buf_reset(&t);
	buf_printf(&t, "{\"forja_contract\": 1, \"name\": \"a%s\", \"description\": \"d\", "
		       "\"kind\": \"command\", \"input_schema\": {\"type\": \"object\"}, "
		       "\"argv\": [\"true\"], %s}",
		   "123456789_123456789_123456789_123456789_123456789_123456789_abc", fx);
	if (parse_good(t.data, &c, "a name of 64 characters"))
		tap_is_int((long long)strlen(c.name), 64, "  kept whole");
	contract_release(&c);
	buf_reset(&t);
	buf_printf(&t, "{\"forja_contract\": 1, \"name\": \"a%s\", \"description\": \"d\", "
		       "\"kind\": \"command\", \"input_schema\": {\"type\": \"object\"}, "
		       "\"argv\": [\"true\"], %s}",
		   "123456789_123456789_123456789_123456789_123456789_123456789_abcd", fx);
	parse_bad(t.data, "t.json:1:23: `name` must be a lowercase letter followed by at most 63 "
			  "lowercase letters, digits or '_' (^[a-z][a-z0-9_]{0,63}$), got "
			  "\"a123456789_123456789_123456789_123456789_123456789_123456789_abcd\"\n",
		  "a name of 65 characters");

	/* a description at the limit, and one byte over */
	for (int over = 0; over < 2; over++) {
		buf_reset(&t);
		buf_printf(&t, "{\"forja_contract\": 1, \"name\": \"t\", \"description\": \"");
		for (int i = 0; i < CONTRACT_MAX_DESCRIPTION + over; i++)
			buf_putc(&t, 'd');
		buf_printf(&t, "\", \"kind\": \"command\", \"input_schema\": {\"type\": \"object\"}, "
			       "\"argv\": [\"true\"], %s}", fx);
		if (!over) {
			parse_good(t.data, &c, "a description of 4096 bytes");
			contract_release(&c);
		} else {
			parse_bad(t.data, "t.json:1:36: `description` has 4097 bytes; at most 4096 "
					  "are allowed\n", "a description of 4097 bytes");
		}
	}

	/* a file over 1 MiB is refused before it is parsed */
	buf_reset(&t);
	buf_putc(&t, '{');
	for (size_t i = 1; i < CONTRACT_MAX_FILE; i++)
		buf_putc(&t, ' ');
	buf_puts(&t, "}");
	buf_reset(&problems);
	tap_is_int(contract_parse("big.json", t.data, t.len, &c, &problems), 1,
		   "a contract of 1 MiB + 1 byte");
	tap_is_str(buf_cstr(&problems), "big.json: a contract file may hold at most 1048576 "
					"bytes (1 MiB); this one has 1048577\n", "  is too large");
	contract_release(&c);
	buf_release(&t);
	buf_release(&problems);
}

/* ---- sets ------------------------------------------------------------------ */

static void set_dirs(const char *builtin, const char *xdg)
{
	struct buf b = BUF_INIT;

	setenv("FORJA_CONTRACTS_DIR", builtin, 1);
	if (xdg[0] == '/') {
		setenv("XDG_CONFIG_HOME", xdg, 1);
	} else {
		buf_printf(&b, "%s/%s", root, xdg);
		setenv("XDG_CONFIG_HOME", b.data, 1);
	}
	buf_release(&b);
}

static void test_sets(void)
{
	struct contract_set set;
	struct buf problems = BUF_INIT, want = BUF_INIT;
	struct ferr e = FERR_INIT;
	int rc;

	set_dirs(FIX "/good", FIX "/user");
	rc = contract_set_load(tmp, &set, &problems, &e);
	tap_is_int(rc, 0, "built-in and user contracts load");
	tap_is_str(buf_cstr(&problems), "", "  with no problem");
	tap_is_int((long long)set.count, 5, "  five contracts");
	const char *order[] = { "cargo_test", "grep", "line_count", "search_code", "make_check" };
	for (size_t i = 0; i < 5 && i < set.count; i++)
		tap_is_str(set.items[i].name, order[i], "  built-in ones in file order, then the user's");
	tap_is_int(set.items[0].source, CONTRACT_SOURCE_BUILTIN, "  source builtin");
	tap_is_int(set.items[4].source, CONTRACT_SOURCE_USER, "  source user");
	tap_ok(contract_find(&set, "make_check") == &set.items[4], "contract_find");
	tap_ok(contract_find(&set, "make_chec") == NULL, "contract_find: an unknown name");
	tap_is_str(set.builtin_dir, FIX "/good", "FORJA_CONTRACTS_DIR names the built-in directory");
	buf_printf(&want, "%s/" FIX "/user/forja/contracts", root);
	tap_is_str(set.user_dir, want.data, "the user directory under XDG_CONFIG_HOME");
	tap_is_int((long long)set.nnotes, 0, "no note outside a project");
	contract_set_release(&set);

	set_dirs(FIX "/good", FIX "/dup");
	buf_reset(&problems);
	rc = contract_set_load(tmp, &set, &problems, &e);
	tap_is_int(rc, 1, "duplicate names: problems");
	buf_reset(&want);
	buf_printf(&want,
		   "%s/" FIX "/dup/forja/contracts/a_grep.json:3:2: contract \"grep\" is a built-in "
		   "one (" FIX "/good/grep.json); a user contract cannot replace it\n"
		   "%s/" FIX "/dup/forja/contracts/c_lint.json:4:2: contract \"lint\" is already "
		   "declared in %s/" FIX "/dup/forja/contracts/b_lint.json\n", root, root, root);
	tap_is_str(buf_cstr(&problems), want.data, "  each naming both files");
	tap_is_int((long long)set.count, 5, "  the first of each name is kept");
	tap_is_str(contract_find(&set, "grep")->file, FIX "/good/grep.json", "  the built-in grep");
	contract_set_release(&set);

	/* the same directory as built-in and user is read once */
	set_dirs(FIX "/dup/forja/contracts", FIX "/dup");
	buf_reset(&problems);
	rc = contract_set_load(tmp, &set, &problems, &e);
	tap_is_int((long long)set.count, 2, "one directory named twice is read once");
	contract_set_release(&set);

	set_dirs(FIX "/none", "/nonexistent");
	buf_reset(&problems);
	rc = contract_set_load(tmp, &set, &problems, &e);
	tap_ok(rc == 0 && set.count == 0 && problems.len == 0,
	       "directories that do not exist: no contract, no problem");
	contract_set_release(&set);

	buf_release(&problems);
	buf_release(&want);
}

static const char tiny[] =
	"{ \"forja_contract\": 1, \"name\": \"%s\", \"description\": \"d\", \"kind\": \"command\",\n"
	"  \"input_schema\": { \"type\": \"object\" }, \"argv\": [\"true\"],\n"
	"  \"effects\": { \"read\": [], \"write\": [], \"exec\": true, \"network\": false } }\n";

static void write_tiny(const char *path, const char *name)
{
	struct buf b = BUF_INIT;

	buf_printf(&b, tiny, name);
	write_file(path, b.data, b.len);
	buf_release(&b);
}

static void test_directory_rules(void)
{
	struct buf p = BUF_INIT, q = BUF_INIT, problems = BUF_INIT, want = BUF_INIT;
	struct contract_set set;
	struct ferr e = FERR_INIT;
	int rc;

	mkdir(at(&p, "c"), 0755);
	write_tiny(at(&p, "c/a.json"), "alpha");
	write_tiny(at(&p, "c/inner.txt"), "inner");
	write_tiny(at(&p, "c/inner2.txt"), "inner_abs");
	write_tiny(at(&p, "outside.txt"), "outside");
	write_tiny(at(&p, "c/notes.txt"), "not_json");
	write_file(at(&p, "c/.hidden.json"), "broken", 6);
	write_file(at(&p, "c/.json"), "broken", 6);
	mkdir(at(&p, "c/dir.json"), 0755);
	tap_ok(symlink("inner.txt", at(&p, "c/b_link.json")) == 0, "a link inside the directory");
	at(&q, "c/inner2.txt");
	tap_ok(symlink(q.data, at(&p, "c/c_abs.json")) == 0, "an absolute link into the directory");
	tap_ok(symlink("../outside.txt", at(&p, "c/d_out.json")) == 0, "a link out of it");
	tap_ok(symlink("missing.txt", at(&p, "c/e_dangling.json")) == 0, "a dangling link");
	/* 1 MiB + 1 byte: refused by size */
	{
		struct buf big = BUF_INIT;
		buf_putc(&big, '{');
		for (size_t i = 1; i < CONTRACT_MAX_FILE; i++)
			buf_putc(&big, ' ');
		buf_putc(&big, '}');
		write_file(at(&p, "c/f_big.json"), big.data, big.len);
		buf_release(&big);
	}
	write_tiny(at(&p, "c/g_upper.JSON"), "upper");

	set_dirs(at(&q, "c"), at(&p, "noconfig"));
	rc = contract_set_load(tmp, &set, &problems, &e);
	tap_is_int(rc, 1, "a directory with links, a big file and others: problems");
	buf_printf(&want,
		   "%s/c/d_out.json: a symbolic link that leads out of %s/c; not followed\n"
		   "%s/c/e_dangling.json: a symbolic link to a file that does not exist\n"
		   "%s/c/f_big.json: a contract file may hold at most 1048576 bytes (1 MiB); this "
		   "one has 1048577\n", tmp, tmp, tmp, tmp);
	tap_is_str(buf_cstr(&problems), want.data, "  the link out, the dangling link, the size");
	tap_is_int((long long)set.count, 3, "  three contracts");
	tap_ok(contract_find(&set, "alpha") && contract_find(&set, "inner") &&
	       contract_find(&set, "inner_abs"),
	       "  the file, and the links that stay inside");
	tap_ok(!contract_find(&set, "outside") && !contract_find(&set, "not_json") &&
	       !contract_find(&set, "upper"),
	       "  not the link out, not a .txt, not .JSON; dot files and directories skipped");
	contract_set_release(&set);

	/* a project's contracts are counted, not loaded */
	tap_is_int(sh("git init -q '%s/proj'", tmp), 0, "git init a project");
	buf_reset(&q);
	buf_printf(&q, "mkdir -p '%s/proj/.forja/contracts' '%s/proj/sub'", tmp, tmp);
	tap_is_int(system(q.data), 0, "  with .forja/contracts");
	write_tiny(at(&p, "proj/.forja/contracts/one.json"), "one");
	write_tiny(at(&p, "proj/.forja/contracts/two.json"), "two");
	set_dirs(FIX "/good", at(&q, "noconfig"));
	buf_reset(&problems);
	rc = contract_set_load(at(&p, "proj/sub"), &set, &problems, &e);
	tap_is_int(rc, 0, "inside a project with contracts");
	tap_ok(!contract_find(&set, "one") && !contract_find(&set, "two"),
	       "  the project's contracts are not loaded");
	tap_is_int((long long)set.nnotes, 1, "  one note");
	tap_contains(set.nnotes ? set.notes[0] : NULL, "the project has 2 contracts in ",
		     "  saying how many");
	tap_contains(set.nnotes ? set.notes[0] : NULL,
		     "/proj/.forja/contracts that are not loaded until the project is trusted",
		     "  where, and why not");
	contract_set_release(&set);

	buf_release(&p);
	buf_release(&q);
	buf_release(&problems);
	buf_release(&want);
}

/* ---- arguments from the model ---------------------------------------------- */

static int validate(const struct contract *c, const char *json, size_t len, cJSON **args,
		    struct buf *problems)
{
	buf_reset(problems);
	return contract_validate_args(c, json, len, args, problems);
}

static void invalid(const struct contract *c, const char *json, size_t len, const char *want,
		    const char *name)
{
	struct buf problems = BUF_INIT;
	cJSON *args = (cJSON *)&args;
	int rc = validate(c, json, len, &args, &problems);

	tap_is_str(buf_cstr(&problems), want, name);
	if (rc != 1 || args != NULL)
		tap_ok(0, "  ...and returns 1 with no arguments");
	buf_release(&problems);
}

static void test_validate_args(void)
{
	struct contract grep, cargo;
	struct buf problems = BUF_INIT, text = BUF_INIT;
	struct ferr e = FERR_INIT;
	cJSON *args = NULL;
	int rc;

	if (contract_load_file(FIX "/good/grep.json", &grep, &problems, &e) != 0 ||
	    contract_load_file(FIX "/good/cargo_test.json", &cargo, &problems, &e) != 0) {
		tap_ok(0, "load the contracts for argument tests");
		return;
	}
	rc = validate(&grep, "{\"pattern\": \"TODO\"}", 19, &args, &problems);
	tap_is_int(rc, 0, "valid arguments");
	tap_is_str(cJSON_GetStringValue(cJSON_GetObjectItem(args, "pattern")), "TODO",
		   "  the value");
	tap_is_str(cJSON_GetStringValue(cJSON_GetObjectItem(args, "path")), ".",
		   "  the schema's default filled in");
	cJSON_Delete(args);

	rc = validate(&cargo, "", 0, &args, &problems);
	tap_ok(rc == 0 && cJSON_IsObject(args) && !args->child, "empty text counts as {}");
	cJSON_Delete(args);
	rc = validate(&cargo, " \n\t ", 4, &args, &problems);
	tap_ok(rc == 0 && cJSON_IsObject(args), "blank text counts as {}");
	cJSON_Delete(args);
	rc = validate(&cargo, NULL, 0, &args, &problems);
	tap_ok(rc == 0 && cJSON_IsObject(args), "no text at all counts as {}");
	cJSON_Delete(args);

	invalid(&grep, "", 0, "`pattern`: required\n", "{} without a required property");
	invalid(&grep, "{\"pattern\": 5}", 14, "`pattern`: expected string, got number\n",
		"a wrong type");
	invalid(&grep, "{\"pattern\": \"x\", \"glob\": [\"*.c\"], \"pathh\": \"src\"}", 49,
		"`glob`: expected string, got array\n"
		"unexpected property `pathh` (allowed: `pattern`, `path`, `glob`)\n",
		"every problem, one a line");
	invalid(&grep, "{\"pattern\": \"\"}", 15, "`pattern`: must be at least 1 character long, got 0\n",
		"a schema constraint");
	invalid(&grep, "[\"TODO\"]", 8, "the arguments must be a JSON object, got an array\n",
		"an array instead of an object");
	invalid(&grep, "\"TODO\"", 6, "the arguments must be a JSON object, got a string\n",
		"a string instead of an object");
	invalid(&grep, "null", 4, "the arguments must be a JSON object, got null\n", "null");
	invalid(&grep, "{\"pattern\": }", 13,
		"arguments:1:13: expected the value of \"pattern\", found '}'\n", "malformed");
	invalid(&grep, "{\"pattern\": \"TO", 15,
		"arguments:1:13: unterminated string\n", "truncated");
	invalid(&grep, "{\"pattern\": \"a\0b\"}", 18,
		"arguments:1:15: NUL byte in a string (the file must be text)\n", "a NUL byte");
	invalid(&grep, "{\"pattern\": \"\xff\"}", 16,
		"arguments:1:14: invalid UTF-8 in a string (byte 0xFF)\n", "invalid UTF-8");
	invalid(&grep, "{\"pattern\": \"a\", \"pattern\": \"b\"}", 32,
		"arguments:1:18: duplicate key \"pattern\" (first at line 1, column 2)\n", "a duplicate key");

	/* huge: one byte over the limit is refused before parsing */
	buf_reset(&text);
	buf_puts(&text, "{\"pattern\": \"");
	while (text.len < CONTRACT_MAX_ARGS - 2)
		buf_putc(&text, 'a');
	buf_puts(&text, "\"}");
	rc = validate(&grep, text.data, text.len, &args, &problems);
	tap_is_int(rc, 0, "arguments of exactly 1 MiB are accepted");
	cJSON_Delete(args);
	buf_putc(&text, ' ');
	invalid(&grep, text.data, text.len,
		"the arguments are 1048577 bytes; at most 1048576 are accepted\n",
		"arguments of 1 MiB + 1 byte are refused");
	invalid(&grep, text.data, (size_t)-1,
		"the arguments are 18446744073709551615 bytes; at most 1048576 are accepted\n",
		"a length of SIZE_MAX is refused, not read");

	/* deeply nested */
	buf_reset(&text);
	for (int i = 0; i < 100000; i++)
		buf_putc(&text, '[');
	invalid(&grep, text.data, text.len,
		"arguments:1:65: nested too deeply (the limit is 64 levels of objects and arrays)\n", "100000 open brackets");
	buf_reset(&text);
	buf_puts(&text, "{\"pattern\": \"x\", \"glob\": ");
	for (int i = 0; i < 60; i++)
		buf_putc(&text, '[');
	for (int i = 0; i < 60; i++)
		buf_putc(&text, ']');
	buf_putc(&text, '}');
	invalid(&grep, text.data, text.len, "`glob`: expected string, got array\n",
		"60 levels deep in a property: a type error");

	/* random bytes and mutations of valid arguments: never a crash */
	unsigned seed = 12345;
	int answered = 0;
	for (int i = 0; i < 3000; i++) {
		char blob[64];
		size_t n = (size_t)(seed % sizeof blob);
		const char *base = "{\"pattern\": \"x\", \"path\": \"src\", \"glob\": \"*.c\"}";
		for (size_t k = 0; k < n; k++) {
			seed = seed * 1103515245u + 12345u;
			blob[k] = i % 2 ? (char)(seed >> 16) : base[(seed >> 16) % strlen(base)];
		}
		seed = seed * 1103515245u + 12345u;
		rc = validate(&grep, blob, n, &args, &problems);
		answered += (rc == 0 && args) || (rc == 1 && !args && problems.len > 0);
		cJSON_Delete(args);
	}
	tap_is_int(answered, 3000, "3000 random inputs: each answered, valid or with a message");

	contract_release(&grep);
	contract_release(&cargo);
	buf_release(&problems);
	buf_release(&text);
}

/* ---- argv expansion ------------------------------------------------------ */

static const char *const hostile[] = {
	"two words", "it's", "\"double\"", "; rm -rf /", "'; rm -rf / '", "$(id)", "`id`",
	"line1\nline2", "*", "~", "$HOME", "back\\slash", "-rf", "", "é ünïcödé 🙂", "a'b'c",
	"'''", "\\'", "--pre=sh", "\t", "x; touch PWNED", "$(touch PWNED)", "`touch PWNED`",
	"'$(touch PWNED)'", "\"; touch PWNED; \"",
};
#define NHOSTILE (sizeof hostile / sizeof *hostile)

static void test_expand(void)
{
	struct contract c;
	struct buf problems = BUF_INIT, t = BUF_INIT, out = BUF_INIT;
	struct ferr e = FERR_INIT;

	if (contract_load_file(FIX "/good/search_code.json", &c, &problems, &e) != 0) {
		tap_ok(0, "load search_code");
		return;
	}
	expands_to(&c, "{\"pattern\": \"x\"}", "rg|--json|--|x",
		   "absent optional arguments take their elements away");
	expands_to(&c, "{\"pattern\": \"x\", \"paths\": [\"a b\", \"c\"], \"max_count\": 5}",
		   "rg|--json|--max-count=5|--|x|a b|c",
		   "inline placeholder, array spread into elements");
	expands_to(&c, "{\"pattern\": \"x\", \"paths\": []}", "rg|--json|--|x",
		   "an empty array adds no element");
	expands_to(&c, "{\"pattern\": \"x\", \"glob\": null, \"max_count\": null}", "rg|--json|--|x",
		   "null counts as absent");
	expands_to(&c, "{\"pattern\": \"\", \"paths\": [\"\"]}", "rg|--json|--||",
		   "empty strings stay elements");
	expands_to(&c, "{\"pattern\": \"x\", \"paths\": \"one\"}", "rg|--json|--|x|one",
		   "a lone string for {x...} is one element");
	expands_to(&c, "{\"pattern\": \"x\", \"paths\": [1, 2.5, true, false]}",
		   "rg|--json|--|x|1|2.5|true|false", "numbers and booleans as text");
	expands_to(&c, "{\"pattern\": \"x\", \"max_count\": 1e3}", "rg|--json|--max-count=1000|--|x",
		   "a whole number written with an exponent");
	expand_fails(&c, "{\"pattern\": {\"a\": 1}}",
		     "`pattern`: expected a string, number or boolean, got an object",
		     "an object cannot fill {pattern}");
	expand_fails(&c, "{\"pattern\": [\"a\"]}",
		     "`pattern`: expected a string, number or boolean, got an array",
		     "an array cannot fill {pattern}");
	expand_fails(&c, "{\"pattern\": \"x\", \"paths\": [[\"a\"]]}",
		     "`paths`: each item must be a string, number or boolean, got an array",
		     "nested arrays cannot fill {paths...}");
	expand_fails(&c, "{\"pattern\": \"x\", \"paths\": {\"a\": 1}}",
		     "`paths`: expected an array or a string, number or boolean, got an object",
		     "an object cannot fill {paths...}");

	/* every hostile value is one element, byte for byte */
	int untouched = 0;
	for (size_t i = 0; i < NHOSTILE; i++) {
		cJSON *args = cJSON_CreateObject();
		char **argv = NULL;
		size_t argc = 0;
		cJSON_AddStringToObject(args, "pattern", hostile[i]);
		cJSON *paths = cJSON_AddArrayToObject(args, "paths");
		cJSON_AddItemToArray(paths, cJSON_CreateString(hostile[i]));
		if (contract_expand_argv(&c, args, &argv, &argc, &e) == 0 && argc == 5 &&
		    strcmp(argv[3], hostile[i]) == 0 && strcmp(argv[4], hostile[i]) == 0)
			untouched++;
		else
			printf("#   not untouched: \"%s\"\n", hostile[i]);
		/* and the real /bin/sh, given it as "$1", sees exactly it */
		char *check[] = { "sh", "-c", "printf %s \"$1\"", "sh", argv ? argv[3] : "", NULL };
		if (run_capture(check, NULL, &out) != 0 || strcmp(buf_cstr(&out), hostile[i]) != 0) {
			untouched--;
			printf("#   sh saw \"%s\" for \"%s\"\n", buf_cstr(&out), hostile[i]);
		}
		contract_argv_free(argv, argc);
		cJSON_Delete(args);
	}
	tap_is_int(untouched, (int)NHOSTILE, "hostile values pass as single elements, untouched");

	/* beyond what a command line holds */
	buf_reset(&t);
	buf_puts(&t, "{\"pattern\": \"");
	for (size_t i = 0; i < CONTRACT_MAX_ARG_BYTES; i++)
		buf_putc(&t, 'a');
	buf_puts(&t, "\"}");
	expand_fails(&c, t.data, "an argument of 131072 bytes is too long for a command line (at most 131071)",
		     "one argument of 128 KiB");
	buf_reset(&t);
	buf_puts(&t, "{\"pattern\": \"x\", \"paths\": [");
	for (int i = 0; i < 20; i++)
		buf_printf(&t, "%s\"%0100000d\"", i ? ", " : "", 0);
	buf_puts(&t, "]}");
	expand_fails(&c, t.data, "the command line would be longer than 1048576 bytes",
		     "20 arguments of 100 kB");
	contract_release(&c);

	/* a builtin contract has no argv */
	contract_load_file(FIX "/good/grep.json", &c, &problems, &e);
	char **argv = (char **)&argv;
	size_t argc = 7;
	tap_ok(contract_expand_argv(&c, NULL, &argv, &argc, &e) == -1 && e.cls == FERR_INTERNAL &&
	       argv == NULL && argc == 0, "expanding a builtin contract is a bug: FERR_INTERNAL");
	contract_release(&c);

	/* inline placeholders of every kind, absent ones */
	static const char inline_contract[] =
		"{ \"forja_contract\": 1, \"name\": \"t\", \"description\": \"d\", \"kind\": \"command\",\n"
		"  \"input_schema\": { \"type\": \"object\", \"properties\": {\n"
		"    \"n\": { \"type\": \"number\" }, \"flag\": { \"type\": \"boolean\" },\n"
		"    \"name\": { \"type\": \"string\" }, \"free\": {} } },\n"
		"  \"argv\": [\"tool\", \"--n={n}\", \"--flag={flag}\", \"{name}-{n}.txt\", \"x{{{name}}}\", \"--\", \"{free}\"],\n"
		"  \"effects\": { \"read\": [], \"write\": [], \"exec\": true, \"network\": false } }\n";
	if (parse_good(inline_contract, &c, "a contract with inline placeholders")) {
		expands_to(&c, "{}", "tool|--", "all absent: only the fixed elements");
		expands_to(&c, "{\"n\": 2.5, \"flag\": true, \"name\": \"r\"}",
			   "tool|--n=2.5|--flag=true|r-2.5.txt|x{r}|--",
			   "inline number, boolean, two in one element, braces");
		expands_to(&c, "{\"name\": \"r\"}", "tool|x{r}|--",
			   "an element with an absent placeholder goes, whole");
		expands_to(&c, "{\"n\": -0.0001, \"flag\": false}", "tool|--n=-0.0001|--flag=false|--",
			   "negative numbers, false");
		expand_fails(&c, "{\"free\": [1]}",
			     "`free`: expected a string, number or boolean, got an array",
			     "an untyped property given an array");
	}
	contract_release(&c);

	buf_release(&problems);
	buf_release(&t);
	buf_release(&out);
}

/* shell: true — the values are quoted in the script; the real /bin/sh runs
 * it in a scratch directory where nothing may appear. */
static void test_shell_quoting(void)
{
	static const char shell_contract[] =
		"{ \"forja_contract\": 1, \"name\": \"t\", \"description\": \"d\", \"kind\": \"command\",\n"
		"  \"input_schema\": { \"type\": \"object\", \"properties\": {\n"
		"    \"x\": { \"type\": \"string\" }, \"list\": { \"type\": \"array\" } } },\n"
		"  \"argv\": [\"sh\", \"-c\", \"printf '<%%s>' {x} {list...}\"], \"shell\": true,\n"
		"  \"effects\": { \"read\": [], \"write\": [], \"exec\": true, \"network\": false } }\n";
	struct contract c;
	struct buf t = BUF_INIT, out = BUF_INIT, want = BUF_INIT, dir = BUF_INIT;
	struct ferr e = FERR_INIT;

	buf_printf(&t, shell_contract);
	if (!parse_good(t.data, &c, "a shell: true contract"))
		return;
	tap_is_int((long long)c.nwarnings, 1, "  warned about");
	expands_to(&c, "{\"x\": \"a b\", \"list\": [\"c\", \"d'e\"]}",
		   "sh|-c|printf '<%s>' 'a b' 'c' 'd'\\''e'", "values single-quoted, ' as '\\''");
	expands_to(&c, "{}", "sh|-c|printf '<%s>'  ", "absent values leave nothing in the script");

	buf_printf(&dir, "%s/shell", tmp);
	mkdir(dir.data, 0755);
	int inert = 0;
	for (size_t i = 0; i < NHOSTILE; i++) {
		cJSON *args = cJSON_CreateObject();
		char **argv = NULL;
		size_t argc = 0;
		cJSON_AddStringToObject(args, "x", hostile[i]);
		cJSON *list = cJSON_AddArrayToObject(args, "list");
		cJSON_AddItemToArray(list, cJSON_CreateString(hostile[i]));
		cJSON_AddItemToArray(list, cJSON_CreateString("end"));
		buf_reset(&want);
		buf_printf(&want, "<%s><%s><end>", hostile[i], hostile[i]);
		if (contract_expand_argv(&c, args, &argv, &argc, &e) == 0 && argc == 3 &&
		    run_capture(argv, dir.data, &out) == 0 && strcmp(out.data ? out.data : "", want.data) == 0)
			inert++;
		else
			printf("#   \"%s\": got \"%s\"\n", hostile[i], buf_cstr(&out));
		contract_argv_free(argv, argc);
		cJSON_Delete(args);
	}
	tap_is_int(inert, (int)NHOSTILE, "sh prints each hostile value exactly, quoted");
	buf_printf(&dir, "/PWNED");
	tap_ok(access(dir.data, F_OK) != 0, "  and ran none of them");

	buf_reset(&out);
	contract_shell_quote(&out, "'; rm -rf / '");
	tap_is_str(out.data, "''\\''; rm -rf / '\\'''", "contract_shell_quote");
	contract_release(&c);
	buf_release(&t);
	buf_release(&out);
	buf_release(&want);
	buf_release(&dir);
}

static void test_resolve_path(void)
{
	struct buf out = BUF_INIT;
	struct ferr e = FERR_INIT;
	char *home = getenv("HOME") ? strdup(getenv("HOME")) : NULL;

	setenv("HOME", "/home/u", 1);
	contract_resolve_path("~/.cargo", "/w", &out, &e);
	tap_is_str(out.data, "/home/u/.cargo", "resolve ~/.cargo");
	contract_resolve_path("~", "/w", &out, &e);
	tap_is_str(out.data, "/home/u", "resolve ~");
	contract_resolve_path("src", "/w", &out, &e);
	tap_is_str(out.data, "/w/src", "resolve a relative path");
	contract_resolve_path("/usr/lib", "/w", &out, &e);
	tap_is_str(out.data, "/usr/lib", "an absolute path as it is");
	unsetenv("HOME");
	tap_ok(contract_resolve_path("~/.cargo", "/w", &out, &e) == -1 && e.cls == FERR_CONFIG,
	       "~ without HOME is an error");
	if (home)
		setenv("HOME", home, 1);
	free(home);
	buf_release(&out);
}

int main(void)
{
	chdir_to_root();
	snprintf(tmp, sizeof tmp, "%s/forja-contract.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(tmp)) {
		printf("Bail out! mkdtemp: %s\n", strerror(errno));
		return 1;
	}
	{
		char real[PATH_MAX];
		if (realpath(tmp, real))
			snprintf(tmp, sizeof tmp, "%s", real);
	}
	test_good_fixtures();
	test_bad_fixtures();
	test_parse_edges();
	test_sets();
	test_directory_rules();
	test_validate_args();
	test_expand();
	test_shell_quoting();
	test_resolve_path();
	if (!getenv("FORJA_TEST_KEEP"))
		sh("rm -rf '%s'", tmp);
	return tap_done();
}

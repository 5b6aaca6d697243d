/* opt: option parsing and suggestions. */
#include "forja/opt.h"
#include "tap.h"

enum { O_NAME = 1, O_FLAG, O_X };

static const struct opt_spec specs[] = {
	{ "name", 'n', OPT_VALUE, O_NAME, "NAME", "a name" },
	{ "flag", 'f', OPT_FLAG, O_FLAG, NULL, "a flag" },
	{ NULL, 'x', OPT_FLAG, O_X, NULL, "x" },
	{ 0 },
};

int main(void)
{
	struct ferr e = FERR_INIT;
	struct opt_state st;

	char *a1[] = { "cmd", "--name=joe", "-f", "pos", "--name", "ann", "-nbob", "-fx", "--", "-not", NULL };
	opt_init(&st, 10, a1, "cmd");
	tap_is_int(opt_next(&st, specs, &e), O_NAME, "--name=value");
	tap_is_str(st.value, "joe", "value after =");
	tap_is_int(opt_next(&st, specs, &e), O_FLAG, "-f");
	tap_is_int(opt_next(&st, specs, &e), OPT_POSITIONAL, "positional");
	tap_is_str(st.value, "pos", "positional value");
	tap_is_int(opt_next(&st, specs, &e), O_NAME, "--name value");
	tap_is_str(st.value, "ann", "separate value");
	tap_is_int(opt_next(&st, specs, &e), O_NAME, "-nvalue");
	tap_is_str(st.value, "bob", "attached short value");
	tap_is_int(opt_next(&st, specs, &e), O_FLAG, "bundle first");
	tap_is_int(opt_next(&st, specs, &e), O_X, "bundle second");
	tap_is_int(opt_next(&st, specs, &e), OPT_POSITIONAL, "after --, dashes are positional");
	tap_is_str(st.value, "-not", "the positional after --");
	tap_is_int(opt_next(&st, specs, &e), OPT_END, "end");

	char *a2[] = { "cmd", "--nmae", NULL };
	opt_init(&st, 2, a2, "cmd");
	tap_is_int(opt_next(&st, specs, &e), OPT_ERROR, "unknown long option");
	tap_is_int(e.cls, FERR_USAGE, "is a usage error");
	tap_contains(e.msg, "did you mean '--name'?", "suggests the transposition");

	char *a3[] = { "cmd", "--flag=yes", NULL };
	opt_init(&st, 2, a3, "cmd");
	tap_is_int(opt_next(&st, specs, &e), OPT_ERROR, "a flag given a value");
	tap_contains(e.msg, "takes no value", "says so");

	char *a4[] = { "cmd", "--name", NULL };
	opt_init(&st, 2, a4, "cmd");
	tap_is_int(opt_next(&st, specs, &e), OPT_ERROR, "missing value");
	tap_contains(e.msg, "needs a value (NAME)", "names the metavar");

	char *a5[] = { "cmd", "pos", "--flag", NULL };
	opt_init(&st, 3, a5, "cmd");
	st.stop_at_positional = true;
	tap_is_int(opt_next(&st, specs, &e), OPT_END, "stop at the first positional");
	tap_is_int(st.index, 1, "index left at the positional");

	char *a6[] = { "cmd", "--zzzzzzzz", NULL };
	opt_init(&st, 2, a6, NULL);
	tap_is_int(opt_next(&st, specs, &e), OPT_ERROR, "far-off option");
	tap_contains(e.msg, "see 'forja --help'", "no wild guess, points to help");

	static const char *const cmds[] = { "bootstrap", "help", "sessions" };
	tap_is_str(opt_suggest("bootstap", cmds, 3), "bootstrap", "missing letter");
	tap_is_str(opt_suggest("hlep", cmds, 3), "help", "swapped letters");
	tap_is_str(opt_suggest("sess", cmds, 3), "sessions", "prefix");
	tap_ok(opt_suggest("xyz", cmds, 3) == NULL, "nothing close");
	char longword[200];
	memset(longword, 'a', sizeof longword - 1);
	longword[sizeof longword - 1] = '\0';
	tap_ok(opt_suggest(longword, cmds, 3) == NULL, "a huge word is handled");
	return tap_done();
}

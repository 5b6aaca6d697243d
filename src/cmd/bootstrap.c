/*
 * bootstrap.c — `forja bootstrap`: print the project context.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "forja/bootstrap.h"
#include "forja/cmd.h"

enum { OPT_BUDGET = 1, OPT_NO_CACHE };

const struct opt_spec cmd_bootstrap_options[] = {
	{ "budget", 0, OPT_VALUE, OPT_BUDGET, "TOKENS",
	  "size of the text output in tokens (default 2000)" },
	{ "no-cache", 0, OPT_FLAG, OPT_NO_CACHE, NULL, "scan afresh, ignoring the cache" },
	{ 0 },
};

static int parse_budget(const char *s, size_t *out, struct ferr *e)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (!*s || *end || errno || s[0] == '-' || v < 100 || v > 1000000)
		return ferr_set(e, FERR_USAGE,
				"bootstrap: --budget: expected a number of tokens from 100 to 1000000, got '%s'",
				s);
	*out = (size_t)v;
	return 0;
}

int cmd_bootstrap(struct app *app, int argc, char **argv)
{
	const struct cmd *self = cmd_find("bootstrap");
	struct bootstrap_opts opts = { BOOTSTRAP_DEFAULT_BUDGET, true, false, NULL };
	struct opt_state st;
	struct ferr e = FERR_INIT;
	struct buf out = BUF_INIT;
	bool from_cache = false;
	int id, rc = EXIT_OK;
	const char *env_db = getenv("FORJA_DB");

	opt_init(&st, argc, argv, "bootstrap");
	st.common = app_common_options;
	while ((id = cmd_next_option(self, app, &st, &rc)) != OPT_END) {
		switch (id) {
		case OPT_ERROR:
			return rc;
		case OPT_BUDGET:
			if (parse_budget(st.value, &opts.budget_tokens, &e) != 0)
				goto fail;
			break;
		case OPT_NO_CACHE:
			opts.use_cache = false;
			break;
		case OPT_POSITIONAL:
			ferr_set(&e, FERR_USAGE, "bootstrap: unexpected argument '%s'; to scan another directory, use 'forja -C DIR bootstrap'",
				 st.value);
			goto fail;
		}
	}
	if (env_db && *env_db)
		opts.db_path = env_db;
	opts.quiet = app->verbosity < 0;
	if (bootstrap_run(app->cwd, &opts, app->json, &out, &from_cache, &e) != 0)
		goto fail;
	fwrite(buf_cstr(&out), 1, out.len, stdout);
	if (app->verbosity > 0)
		fprintf(stderr, "forja: bootstrap %s\n", from_cache ? "from cache" : "scanned");
	buf_release(&out);
	return EXIT_OK;
fail:
	buf_release(&out);
	app_print_error(app, &e);
	return ferr_exit_code(e.cls);
}

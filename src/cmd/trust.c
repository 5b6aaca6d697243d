/*
 * trust.c — `forja trust [--revoke | --list]`: trust the project forja runs
 * in, so that its own .forja/config.json may loosen settings and its
 * .forja/contracts are loaded; or take that back; or list what is trusted.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "forja/bootstrap.h"
#include "forja/cmd.h"
#include "forja/store.h"
#include "forja/utf8.h"

enum { OPT_REVOKE = 1, OPT_LIST };

const struct opt_spec cmd_trust_options[] = {
	{ "revoke", 0, OPT_FLAG, OPT_REVOKE, NULL, "stop trusting this project" },
	{ "list", 0, OPT_FLAG, OPT_LIST, NULL, "list the trusted projects" },
	{ 0 },
};

int cmd_trust(struct app *app, int argc, char **argv)
{
	const struct cmd *self = cmd_find("trust");
	struct opt_state st;
	struct ferr e = FERR_INIT;
	struct store *store = NULL;
	struct buf list = BUF_INIT;
	bool revoke = false, show = false;
	char *root = NULL;
	const char *db = getenv("FORJA_DB");
	int id, rc = EXIT_OK;

	opt_init(&st, argc, argv, "trust");
	st.common = app_common_options;
	while ((id = cmd_next_option(self, app, &st, &rc)) != OPT_END) {
		switch (id) {
		case OPT_ERROR:
			return rc;
		case OPT_REVOKE:
			revoke = true;
			break;
		case OPT_LIST:
			show = true;
			break;
		case OPT_POSITIONAL:
			ferr_set(&e, FERR_USAGE,
				 "trust: unexpected argument '%s'; run it in the project (or use -C DIR)",
				 st.value);
			goto fail;
		}
	}
	if (revoke && show) {
		ferr_set(&e, FERR_USAGE, "trust: --revoke and --list do not go together");
		goto fail;
	}
	if (store_open(db && *db ? db : NULL, &store, &e) != 0)
		goto fail;
	if (show) {
		if (store_trust_list(store, &list, &e) != 0)
			goto fail;
		fwrite(buf_cstr(&list), 1, list.len, stdout);
		goto out;
	}
	root = bootstrap_project_root(app->cwd);
	if (!root)
		root = realpath(app->cwd, NULL);
	if (!root) {
		ferr_set(&e, FERR_IO, "trust: cannot resolve %s", app->cwd);
		goto fail;
	}
	if (store_trust_set(store, root, !revoke, &e) != 0)
		goto fail;
	if (app->verbosity >= 0) {
		char *shown = utf8_path_dup(root, strlen(root));
		if (revoke)
			printf("no longer trusted: %s (its .forja/config.json may only tighten settings, "
			       "its .forja/contracts are not loaded)\n", shown);
		else
			printf("trusted: %s (its .forja/config.json applies in full and its "
			       ".forja/contracts are loaded)\n", shown);
		free(shown);
	}
	goto out;
fail:
	app_print_error(app, &e);
	rc = ferr_exit_code(e.cls);
out:
	store_close(store);
	buf_release(&list);
	free(root);
	return rc;
}

/*
 * main.c — global flags and dispatch to the command table.  Everything a
 * command does lives in src/cmd/<name>.c; this file only decides which one
 * runs, in which directory, with which global settings.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "forja/app.h"
#include "forja/buf.h"
#include "forja/cmd.h"
#include "forja/version.h"

static char *absolute_cwd(void)
{
	struct buf b = BUF_INIT;

	for (size_t size = 256;; size *= 2) {
		buf_reset(&b);
		buf_grow(&b, size);
		if (getcwd(b.data, b.cap))
			return buf_steal(&b);
		if (errno != ERANGE) {
			buf_release(&b);
			return NULL;
		}
	}
}

int main(int argc, char **argv)
{
	struct app app = { 0 };

	app.sandbox = SANDBOX_WORKSPACE_WRITE;
	app.sandbox_name = "workspace-write";
	struct opt_state st;
	struct ferr e = FERR_INIT;
	char *cwd = NULL;
	int id, rc;

	opt_init(&st, argc, argv, NULL);
	st.stop_at_positional = true;
	st.common = app_provider_options;
	app_resolve_color(&app);
	while ((id = opt_next(&st, cmd_global_options, &e)) != OPT_END) {
		switch (id) {
		case OPT_ERROR:
			app_print_error(&app, &e);
			return ferr_exit_code(e.cls);
		case CMD_OPT_CHDIR:
			if (chdir(st.value) != 0) {
				ferr_set(&e, FERR_USAGE, "-C %s: %s", st.value, strerror(errno));
				app_print_error(&app, &e);
				return EXIT_USAGE;
			}
			break;
		case CMD_OPT_CONTINUE:
			app.resume_latest = true;
			break;
		case CMD_OPT_VERSION:
			printf("forja %s\n", FORJA_VERSION);
			return EXIT_OK;
		case APP_OPT_HELP:
			cmd_print_usage(stdout);
			return EXIT_OK;
		default:
			if (app_common_option(&app, id, st.value, &e) != 0) {
				app_print_error(&app, &e);
				return ferr_exit_code(e.cls);
			}
		}
	}
	cwd = absolute_cwd();
	if (!cwd) {
		ferr_set(&e, FERR_IO, "cannot read the current directory: %s", strerror(errno));
		app_print_error(&app, &e);
		return EXIT_FAILED;
	}
	app.cwd = cwd;

	if (st.index >= argc) {
		/* no command: the interactive session */
		rc = cmd_chat(&app, 0, argv + argc);
		goto out;
	}
	if (app.resume_latest) {
		ferr_set(&e, FERR_USAGE, "--continue goes with no command (forja --continue), or use "
					 "'forja exec --session ID'");
		app_print_error(&app, &e);
		rc = EXIT_USAGE;
		goto out;
	}
	const struct cmd *cmd = cmd_find(argv[st.index]);
	if (!cmd) {
		rc = cmd_unknown(&app, "", argv[st.index]);
		goto out;
	}
	rc = cmd->run(&app, argc - st.index, argv + st.index);
out:
	if (fflush(stdout) != 0 && rc == EXIT_OK) {
		ferr_set(&e, FERR_IO, "cannot write the output: %s", strerror(errno));
		app_print_error(&app, &e);
		rc = EXIT_FAILED;
	}
	free(cwd);
	return rc;
}

/*
 * help.c — `forja help [COMMAND]`.
 */
#include <stdio.h>

#include "forja/cmd.h"

int cmd_help(struct app *app, int argc, char **argv)
{
	struct opt_state st;
	const struct cmd *self = cmd_find("help");
	const char *topic = NULL;
	int id, rc = EXIT_OK;

	opt_init(&st, argc, argv, "help");
	st.common = app_common_options;
	while ((id = cmd_next_option(self, app, &st, &rc)) != OPT_END) {
		if (id == OPT_ERROR)
			return rc;
		if (topic) {
			struct ferr e = FERR_INIT;
			ferr_set(&e, FERR_USAGE, "help: one command at a time, got '%s' and '%s'",
				 topic, st.value);
			app_print_error(app, &e);
			return EXIT_USAGE;
		}
		topic = st.value;
	}
	if (!topic) {
		cmd_print_usage(stdout);
		return EXIT_OK;
	}
	const struct cmd *cmd = cmd_find(topic);
	if (!cmd)
		return cmd_unknown(app, "help: ", topic);
	cmd_print_help(cmd, stdout);
	return EXIT_OK;
}

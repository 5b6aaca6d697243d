/*
 * contracts.c — `forja contracts list | show NAME | check [PATH...]`: the
 * tool contracts forja loads (include/forja/contract.h), the definition the
 * model sees for one of them, and the static checks of forja-contracts(5).
 */
#include <cJSON.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "forja/cmd.h"
#include "forja/contract.h"
#include "forja/json.h"

const struct opt_spec cmd_contracts_options[] = { { 0 } };

static const char *const subcommands[] = { "list", "show", "check" };

/* Each "\n"-terminated line of text on stderr as "forja: line". */
static void print_lines_stderr(const struct app *app, const char *text)
{
	struct ferr e = FERR_INIT;

	while (text && *text) {
		size_t n = strcspn(text, "\n");
		ferr_set(&e, FERR_CONFIG, "%.*s", (int)n, text);
		app_print_error(app, &e);
		text += n + (text[n] == '\n');
	}
}

/* Each line of text as a string in arr. */
static void add_lines(cJSON *arr, const char *text)
{
	while (text && *text) {
		size_t n = strcspn(text, "\n");
		char *line = xstrndup(text, n);
		cJSON_AddItemToArray(arr, cJSON_CreateString(line));
		free(line);
		text += n + (text[n] == '\n');
	}
}

/* JSON for people: two spaces a level, "key": value, short arrays of
 * scalars on one line. */
static void put_pretty(struct buf *out, const cJSON *v, int depth)
{
	const cJSON *el;
	bool is_array = cJSON_IsArray(v), flat = is_array && cJSON_GetArraySize(v) <= 8;

	cJSON_ArrayForEach(el, (is_array ? v : NULL))
		flat = flat && !cJSON_IsArray(el) && !cJSON_IsObject(el);
	if ((!is_array && !cJSON_IsObject(v)) || !v->child) {
		char *text = cJSON_PrintUnformatted(v);
		buf_puts(out, text ? text : "null");
		cJSON_free(text);
		return;
	}
	if (flat) {
		buf_putc(out, '[');
		cJSON_ArrayForEach(el, v) {
			put_pretty(out, el, depth);
			if (el->next)
				buf_puts(out, ", ");
		}
		buf_putc(out, ']');
		return;
	}
	buf_putc(out, is_array ? '[' : '{');
	cJSON_ArrayForEach(el, v) {
		buf_printf(out, "\n%*s", 2 * (depth + 1), "");
		if (!is_array) {
			json_put_string(out, el->string, strlen(el->string));
			buf_puts(out, ": ");
		}
		put_pretty(out, el, depth + 1);
		if (el->next)
			buf_putc(out, ',');
	}
	buf_printf(out, "\n%*s%c", 2 * depth, "", is_array ? ']' : '}');
}

static void print_json(const cJSON *obj, bool pretty)
{
	struct buf out = BUF_INIT;
	char *text = NULL;

	if (pretty) {
		put_pretty(&out, obj, 0);
		printf("%s\n", buf_cstr(&out));
	} else {
		text = cJSON_PrintUnformatted(obj);
		printf("%s\n", text ? text : "{}");
	}
	cJSON_free(text);
	buf_release(&out);
}

static void print_notes(const struct app *app, const struct contract_set *set)
{
	if (app->verbosity < 0)
		return;
	if (app->verbosity > 0) {
		fprintf(stderr, "forja: built-in contracts: %s\n", set->builtin_dir);
		fprintf(stderr, "forja: user contracts: %s\n", set->user_dir ? set->user_dir
			: "none (neither XDG_CONFIG_HOME nor HOME is set)");
		if (set->project_dir)
			fprintf(stderr, "forja: project contracts (not loaded until the project is "
					"trusted): %s\n", set->project_dir);
	}
	for (size_t i = 0; i < set->nnotes; i++)
		fprintf(stderr, "forja: note: %s\n", set->notes[i]);
}

/* Load the set; -1 (after printing the error) when a directory could not
 * be read, else the number of problems found (their text in problems). */
static int load(const struct app *app, struct contract_set *set, struct buf *problems)
{
	struct ferr e = FERR_INIT;
	int rc = contract_set_load(app->cwd, set, problems, &e);

	if (rc < 0) {
		app_print_error(app, &e);
		return -1;
	}
	return rc;
}

static int run_list(struct app *app)
{
	struct contract_set set;
	struct buf problems = BUF_INIT;
	int rc = load(app, &set, &problems);

	if (rc < 0) {
		contract_set_release(&set);
		return EXIT_FAILED;
	}
	if (app->json) {
		cJSON *out = cJSON_CreateObject();
		cJSON *arr = cJSON_AddArrayToObject(out, "contracts");
		for (size_t i = 0; i < set.count; i++) {
			const struct contract *c = &set.items[i];
			cJSON *o = cJSON_CreateObject();
			cJSON_AddStringToObject(o, "name", c->name);
			cJSON_AddStringToObject(o, "kind", contract_kind_name(c->kind));
			cJSON_AddStringToObject(o, "approval", contract_approval_name(c->approval));
			cJSON_AddStringToObject(o, "source", contract_source_name(c->source));
			cJSON_AddStringToObject(o, "file", c->file);
			cJSON_AddItemToArray(arr, o);
		}
		add_lines(cJSON_AddArrayToObject(out, "problems"), buf_cstr(&problems));
		cJSON *notes = cJSON_AddArrayToObject(out, "notes");
		for (size_t i = 0; i < set.nnotes; i++)
			cJSON_AddItemToArray(notes, cJSON_CreateString(set.notes[i]));
		print_json(out, false);
		cJSON_Delete(out);
	} else {
		int wname = 4, wkind = 7, wappr = 4;
		for (size_t i = 0; i < set.count; i++) {
			int n = (int)strlen(set.items[i].name);
			int a = (int)strlen(contract_approval_name(set.items[i].approval));
			wname = n > wname ? n : wname;
			wappr = a > wappr ? a : wappr;
		}
		for (size_t i = 0; i < set.count; i++) {
			const struct contract *c = &set.items[i];
			printf("%-*s  %-*s  %-*s  %s\n", wname, c->name,
			       wkind, contract_kind_name(c->kind),
			       wappr, contract_approval_name(c->approval), c->file);
		}
		print_lines_stderr(app, buf_cstr(&problems));
		print_notes(app, &set);
	}
	buf_release(&problems);
	contract_set_release(&set);
	return rc > 0 ? EXIT_FAILED : EXIT_OK;
}

static int run_show(struct app *app, const char *name)
{
	struct contract_set set;
	struct buf problems = BUF_INIT;
	int rc = load(app, &set, &problems), exit_code = EXIT_OK;
	const struct contract *c;

	if (rc < 0) {
		contract_set_release(&set);
		return EXIT_FAILED;
	}
	c = contract_find(&set, name);
	if (c) {
		cJSON *tool = contract_tool_json(c);
		print_json(tool, !app->json);
		cJSON_Delete(tool);
	} else {
		const char **names = xcalloc(set.count + 1, sizeof *names);
		for (size_t i = 0; i < set.count; i++)
			names[i] = set.items[i].name;
		const char *hint = opt_suggest(name, names, set.count);
		/* the one asked for may be among the files that did not load */
		print_lines_stderr(app, buf_cstr(&problems));
		if (hint)
			exit_code = app_usage_error(app, "contracts show: no contract named '%s'; "
						     "did you mean '%s'?", name, hint);
		else
			exit_code = app_usage_error(app, "contracts show: no contract named '%s'%s; "
						     "see 'forja contracts list'", name,
						set.count ? "" : " (none are loaded)");
		free(names);
	}
	buf_release(&problems);
	contract_set_release(&set);
	return exit_code;
}

static size_t count_lines(const char *text)
{
	size_t n = 0;

	for (; text && *text; text++)
		n += *text == '\n';
	return n;
}

static int run_check(struct app *app, char **paths, size_t npaths)
{
	struct contract_set set = { 0 };
	struct buf problems = BUF_INIT, warnings = BUF_INIT;
	size_t nproblems;

	if (npaths == 0) {
		if (load(app, &set, &problems) < 0) {
			contract_set_release(&set);
			return EXIT_FAILED;
		}
	}
	for (size_t i = 0; i < npaths; i++) {
		struct contract c;
		struct ferr e = FERR_INIT;
		int rc = contract_load_file(paths[i], &c, &problems, &e);
		if (rc < 0)
			buf_printf(&problems, "%s\n", e.msg);
		else if (rc == 0)
			contract_set_add(&set, &c, &problems);
	}
	for (size_t i = 0; i < set.count; i++)
		for (size_t k = 0; k < set.items[i].nwarnings; k++)
			buf_printf(&warnings, "%s\n", set.items[i].warnings[k]);
	nproblems = count_lines(buf_cstr(&problems));
	if (app->json) {
		cJSON *out = cJSON_CreateObject(), *names;
		cJSON_AddNumberToObject(out, "ok", (double)set.count);
		names = cJSON_AddArrayToObject(out, "contracts");
		for (size_t i = 0; i < set.count; i++)
			cJSON_AddItemToArray(names, cJSON_CreateString(set.items[i].name));
		add_lines(cJSON_AddArrayToObject(out, "problems"), buf_cstr(&problems));
		add_lines(cJSON_AddArrayToObject(out, "warnings"), buf_cstr(&warnings));
		cJSON *notes = cJSON_AddArrayToObject(out, "notes");
		for (size_t i = 0; i < set.nnotes; i++)
			cJSON_AddItemToArray(notes, cJSON_CreateString(set.notes[i]));
		print_json(out, false);
		cJSON_Delete(out);
	} else {
		fputs(buf_cstr(&problems), stdout);
		fputs(buf_cstr(&warnings), stdout);
		print_notes(app, &set);
		if (nproblems)
			printf("%zu problem%s; %zu contract%s ok\n", nproblems,
			       nproblems == 1 ? "" : "s", set.count, set.count == 1 ? "" : "s");
		else
			printf("%zu contract%s ok\n", set.count, set.count == 1 ? "" : "s");
	}
	buf_release(&problems);
	buf_release(&warnings);
	contract_set_release(&set);
	return nproblems ? EXIT_FAILED : EXIT_OK;
}

int cmd_contracts(struct app *app, int argc, char **argv)
{
	const struct cmd *self = cmd_find("contracts");
	struct opt_state st;
	char **args = xcalloc((size_t)argc + 1, sizeof *args);
	size_t nargs = 0;
	const char *sub;
	int id, rc = EXIT_OK;

	opt_init(&st, argc, argv, "contracts");
	st.common = app_common_options;
	while ((id = cmd_next_option(self, app, &st, &rc)) != OPT_END) {
		if (id == OPT_ERROR)
			goto out;
		if (id == OPT_POSITIONAL)
			args[nargs++] = (char *)st.value;
	}
	sub = nargs ? args[0] : "list";
	if (strcmp(sub, "list") == 0) {
		if (nargs > 1)
			rc = app_usage_error(app, "contracts list: unexpected argument '%s'; "
					      "did you mean 'forja contracts show %s'?",
					 args[1], args[1]);
		else
			rc = run_list(app);
	} else if (strcmp(sub, "show") == 0) {
		if (nargs < 2)
			rc = app_usage_error(app, "contracts show: which contract? 'forja contracts "
					      "list' shows the names");
		else if (nargs > 2)
			rc = app_usage_error(app, "contracts show: one contract at a time, "
					      "got '%s' and '%s'", args[1], args[2]);
		else
			rc = run_show(app, args[1]);
	} else if (strcmp(sub, "check") == 0) {
		rc = run_check(app, args + 1, nargs - 1);
	} else {
		const char *hint = opt_suggest(sub, subcommands,
					       sizeof subcommands / sizeof *subcommands);
		if (hint)
			rc = app_usage_error(app, "contracts: '%s' is not a subcommand; "
					      "did you mean '%s'?", sub, hint);
		else
			rc = app_usage_error(app, "contracts: '%s' is not a subcommand; "
					      "use list, show or check", sub);
	}
out:
	free(args);
	return rc;
}

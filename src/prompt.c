/*
 * prompt.c — the system prompt and the tool list (see prompt.h).
 */
#include <stdlib.h>
#include <string.h>

#include "forja/prompt.h"

static const char intro[] =
	"You are forja, a coding agent working in the user's terminal inside a software project. "
	"You help by reading the code, changing it and running commands through the tools you are "
	"given. Work in small, verified steps: read before you edit, keep edits minimal and in the "
	"project's style, and run the project's own build or tests to check your work when they "
	"exist. Answer briefly and precisely; when you are done, say what you changed and how you "
	"checked it.\n";

static const char tools_text[] =
	"\n# Tools\n"
	"- Paths are relative to the project root. Files outside it, and the .git and .forja "
	"directories, cannot be written.\n"
	"- read_file before edit_file; edit_file needs old_string to match exactly once (or "
	"replace_all). Prefer edit_file or apply_patch to rewriting whole files.\n"
	"- grep and glob respect .gitignore; use them instead of running grep or find.\n"
	"- run executes a command in a sandbox: no network unless the tool says so, no access "
	"to the user's home directory, a time limit. Use it for builds and tests, not for "
	"reading or editing files.\n"
	"- A tool result that starts with an error tells you what went wrong; adapt rather "
	"than repeat the same call. A call denied by the user or the sandbox will not succeed "
	"if repeated unchanged.\n";

void prompt_system(const struct prompt_opts *o, struct buf *out)
{
	buf_puts(out, intro);
	buf_puts(out, tools_text);
	buf_puts(out, "\n# Sandbox\n");
	switch (o->sandbox) {
	case SANDBOX_READ_ONLY:
		buf_puts(out, "The session is read-only: you may read and search files, but every "
			      "write and every command is refused. Explain the changes you would make "
			      "instead.\n");
		break;
	case SANDBOX_WORKSPACE_WRITE:
		buf_puts(out, "You may write files inside the project and run commands in the "
			      "sandbox.\n");
		break;
	case SANDBOX_DANGER_FULL_ACCESS:
		buf_puts(out, "The user chose danger-full-access: commands may run where the "
			      "sandbox is incomplete. Be careful.\n");
		break;
	}
	if (o->approvals_ask && o->interactive)
		buf_puts(out, "Writes and commands wait for the user's approval; the user may "
			      "refuse with a reason, which you will get as the result.\n");
	else if (o->approvals_ask)
		buf_puts(out, "Nobody can approve calls in this run: calls that need approval are "
			      "refused. Do what you can with reading tools.\n");
	if (o->context && *o->context) {
		buf_puts(out, "\n# Project\n");
		if (o->root)
			buf_printf(out, "Root: %s\n", o->root);
		buf_puts(out, o->context);
		if (out->len && out->data[out->len - 1] != '\n')
			buf_putc(out, '\n');
	}
}

void prompt_tools(const struct contract_set *set, struct prompt_tools *out)
{
	prompt_tools_for(set, false, out);
}

void prompt_tools_for(const struct contract_set *set, bool read_only, struct prompt_tools *out)
{
	memset(out, 0, sizeof *out);
	out->defs = xcalloc(set->count + 1, sizeof *out->defs);
	out->texts = xcalloc(set->count + 1, sizeof *out->texts);
	for (size_t i = 0; i < set->count; i++) {
		const struct contract *c = &set->items[i];
		if (read_only && (c->effects.nwrite > 0 || c->effects.exec || c->kind == CONTRACT_KIND_COMMAND))
			continue;
		cJSON *def = contract_tool_json(c);
		const cJSON *params = cJSON_GetObjectItemCaseSensitive(def, "parameters");
		char *text = params ? cJSON_PrintUnformatted(params) : NULL;
		out->texts[out->count] = text ? text : xstrdup("{\"type\":\"object\"}");
		out->defs[out->count].name = c->name;
		out->defs[out->count].description = c->description;
		out->defs[out->count].parameters = out->texts[out->count];
		out->count++;
		cJSON_Delete(def);
	}
}

void prompt_tools_free(struct prompt_tools *t)
{
	for (size_t i = 0; i < t->count; i++)
		free(t->texts[i]);
	free(t->texts);
	free(t->defs);
	memset(t, 0, sizeof *t);
}

size_t prompt_estimate_tokens(size_t bytes)
{
	return (bytes + 3) / 4;
}

/*
 * render.c — the bootstrap as compact text within a token budget, or as
 * JSON.  The text becomes part of the model's system prompt: sections are
 * kept in priority order while they fit (about 4 bytes a token), long ones
 * are shortened at a line boundary, and a last line says what was cut.
 */
#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "forja/bootstrap.h"

#define BYTES_PER_TOKEN 4
#define CUT_NOTE_RESERVE 160

enum section_id {
	SEC_HEADER,
	SEC_NOTES,
	SEC_STATUS,
	SEC_STATUS_PATHS,
	SEC_COMMANDS,
	SEC_FILES,
	SEC_COMMITS,
	SEC_SUBMODULES,
	SEC_AGENTS,
	SEC_README,
	SEC_COUNT
};

/* Keep order: the first sections survive a small budget. */
static const enum section_id priority[SEC_COUNT] = {
	SEC_HEADER, SEC_NOTES, SEC_STATUS, SEC_AGENTS, SEC_COMMANDS, SEC_STATUS_PATHS,
	SEC_COMMITS, SEC_FILES, SEC_SUBMODULES, SEC_README,
};

/* Sections whose first line is a heading: never keep the heading alone. */
static const bool has_heading[SEC_COUNT] = {
	[SEC_COMMANDS] = true, [SEC_COMMITS] = true, [SEC_SUBMODULES] = true,
	[SEC_AGENTS] = true, [SEC_README] = true,
};

static const char *const section_name[SEC_COUNT] = {
	[SEC_HEADER] = "header", [SEC_NOTES] = "notes", [SEC_STATUS] = "status",
	[SEC_STATUS_PATHS] = "status paths", [SEC_COMMANDS] = "commands",
	[SEC_FILES] = "files", [SEC_COMMITS] = "recent commits",
	[SEC_SUBMODULES] = "submodules", [SEC_AGENTS] = "AGENTS.md",
	[SEC_README] = "README",
};

static void put_indented(struct buf *out, const char *text, const char *indent)
{
	const char *p = text;

	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);
		if (n)
			buf_puts(out, indent);
		buf_add(out, p, n);
		buf_putc(out, '\n');
		p += n + (nl != NULL);
	}
}

static void render_list_line(struct buf *out, const char *label, const struct bs_list *l)
{
	if (!l->total)
		return;
	buf_printf(out, "  %s:", label);
	for (size_t i = 0; i < l->count; i++)
		buf_printf(out, "%s %s", i ? "," : "", l->items[i]);
	if (l->total > l->count)
		buf_printf(out, " (+%zu more)", l->total - l->count);
	buf_putc(out, '\n');
}

static void section_header(const struct bootstrap *bs, struct buf *out)
{
	buf_printf(out, "Project %s", bs->name);
	if (bs->has_repo) {
		buf_puts(out, bs->is_bare ? " (bare git repository)" :
			 bs->is_worktree ? " (git, linked worktree)" : " (git)");
	}
	buf_printf(out, " at %s", bs->root);
	if (bs->cwd_rel && *bs->cwd_rel)
		buf_printf(out, ", working in %s/", bs->cwd_rel);
	buf_putc(out, '\n');
	if (!bs->has_repo)
		return;
	if (bs->branch)
		buf_printf(out, "Branch %s", bs->branch);
	else
		buf_puts(out, "Detached HEAD");
	if (bs->head_id)
		buf_printf(out, ", HEAD %s %s \"%s\"", bs->head_id, bs->head_date, bs->head_subject);
	buf_putc(out, '\n');
	if (bs->upstream) {
		if (bs->upstream_gone)
			buf_printf(out, "Upstream %s (gone)\n", bs->upstream);
		else
			buf_printf(out, "Upstream %s: %zu ahead, %zu behind\n", bs->upstream,
				   bs->ahead, bs->behind);
	}
}

static void section_notes(const struct bootstrap *bs, struct buf *out)
{
	for (size_t i = 0; i < bs->notes.count; i++)
		buf_printf(out, "Note: %s\n", bs->notes.items[i]);
}

static void section_status(const struct bootstrap *bs, struct buf *out)
{
	const struct bs_status *s = &bs->status;

	if (!bs->has_status)
		return;
	if (!s->staged.total && !s->modified.total && !s->untracked.total && !s->conflicted.total) {
		buf_puts(out, "Status: clean\n");
		return;
	}
	buf_printf(out, "Status: %zu staged, %zu modified, %zu untracked", s->staged.total,
		   s->modified.total, s->untracked.total);
	if (s->conflicted.total)
		buf_printf(out, ", %zu conflicted", s->conflicted.total);
	buf_putc(out, '\n');
}

static void section_status_paths(const struct bootstrap *bs, struct buf *out)
{
	if (!bs->has_status)
		return;
	render_list_line(out, "conflicted", &bs->status.conflicted);
	render_list_line(out, "staged", &bs->status.staged);
	render_list_line(out, "modified", &bs->status.modified);
	render_list_line(out, "untracked", &bs->status.untracked);
}

static void section_commands(const struct bootstrap *bs, struct buf *out)
{
	if (!bs->ncommands)
		return;
	buf_puts(out, "Commands:\n");
	for (size_t i = 0; i < bs->ncommands; i++)
		buf_printf(out, "  %s: %s (%s)\n", bs->commands[i].kind, bs->commands[i].command,
			   bs->commands[i].source);
}

static void section_files(const struct bootstrap *bs, struct buf *out)
{
	uint64_t total = 0;

	if (bs->is_bare || (bs->has_repo && !bs->has_status))
		return;
	for (size_t i = 0; i < bs->nlangs; i++)
		total += bs->langs[i].bytes;
	buf_printf(out, "Files: %zu %s", bs->tracked_files, bs->has_repo ? "tracked" : "found");
	if (bs->nlangs) {
		buf_puts(out, "; languages by size:");
		for (size_t i = 0; i < bs->nlangs && i < 8; i++) {
			const struct bs_lang *l = &bs->langs[i];
			unsigned pct = total ? (unsigned)(l->bytes * 100 / total) : 0;
			buf_printf(out, "%s %s %u%% (%zu)", i ? "," : "", l->name, pct, l->files);
		}
		if (bs->nlangs > 8)
			buf_printf(out, ", +%zu more", bs->nlangs - 8);
	}
	buf_putc(out, '\n');
	if (bs->top.total) {
		buf_puts(out, "Top level:");
		for (size_t i = 0; i < bs->top.count; i++)
			buf_printf(out, " %s", bs->top.items[i]);
		if (bs->top.total > bs->top.count)
			buf_printf(out, " (+%zu more)", bs->top.total - bs->top.count);
		buf_putc(out, '\n');
	}
}

static void section_commits(const struct bootstrap *bs, struct buf *out)
{
	if (!bs->ncommits)
		return;
	buf_puts(out, "Recent commits:\n");
	for (size_t i = 0; i < bs->ncommits; i++)
		buf_printf(out, "  %s %s\n", bs->commits[i].id, bs->commits[i].subject);
}

static void section_submodules(const struct bootstrap *bs, struct buf *out)
{
	if (!bs->nsubmodules)
		return;
	buf_puts(out, "Submodules:\n");
	for (size_t i = 0; i < bs->nsubmodules; i++) {
		const struct bs_submodule *s = &bs->submodules[i];
		buf_printf(out, "  %s %s (%s) %s\n", s->path, s->head ? s->head : "-", s->state, s->url);
	}
}

static void section_agents(const struct bootstrap *bs, struct buf *out)
{
	for (size_t i = 0; i < bs->nagents; i++) {
		const struct bs_doc *d = &bs->agents[i];
		buf_printf(out, "Instructions from %s%s:\n", d->path,
			   d->truncated ? " (cut at 16 KiB)" : "");
		put_indented(out, d->text, "  ");
	}
}

static void section_readme(const struct bootstrap *bs, struct buf *out)
{
	if (!bs->readme.path)
		return;
	buf_printf(out, "%s (first lines):\n", bs->readme.path);
	put_indented(out, bs->readme.text, "  ");
}

static void (*const renderers[SEC_COUNT])(const struct bootstrap *, struct buf *) = {
	[SEC_HEADER] = section_header, [SEC_NOTES] = section_notes,
	[SEC_STATUS] = section_status, [SEC_STATUS_PATHS] = section_status_paths,
	[SEC_COMMANDS] = section_commands, [SEC_FILES] = section_files,
	[SEC_COMMITS] = section_commits, [SEC_SUBMODULES] = section_submodules,
	[SEC_AGENTS] = section_agents, [SEC_README] = section_readme,
};

static size_t count_lines(const char *s, size_t len)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++)
		n += s[i] == '\n';
	return n;
}

void bootstrap_render_text(const struct bootstrap *bs, size_t budget_tokens, struct buf *out)
{
	struct buf sec[SEC_COUNT];
	struct buf cut = BUF_INIT;
	size_t budget = budget_tokens * BYTES_PER_TOKEN;
	size_t total = 0, remaining;

	for (int i = 0; i < SEC_COUNT; i++) {
		sec[i] = (struct buf)BUF_INIT;
		renderers[i](bs, &sec[i]);
		total += sec[i].len;
	}
	if (total > budget) {
		remaining = budget > CUT_NOTE_RESERVE ? budget - CUT_NOTE_RESERVE : 0;
		for (int k = 0; k < SEC_COUNT; k++) {
			struct buf *s = &sec[priority[k]];
			/* instructions come first but may not starve the rest:
			 * a long AGENTS.md keeps at most 60% of the budget */
			size_t avail = remaining;
			if (priority[k] == SEC_AGENTS && avail > budget * 6 / 10)
				avail = budget * 6 / 10;
			if (s->len <= avail) {
				remaining -= s->len;
				continue;
			}
			/* Keep whole lines that fit; the header is never cut. */
			size_t keep = 0;
			if (priority[k] == SEC_HEADER) {
				keep = s->len;
			} else {
				for (size_t i = 0; i < s->len && i < avail; i++)
					if (s->data[i] == '\n')
						keep = i + 1;
			}
			if (has_heading[priority[k]] && count_lines(s->data, keep) < 2)
				keep = 0;
			size_t lines_all = count_lines(s->data, s->len);
			size_t lines_kept = count_lines(s->data, keep);
			if (lines_all != lines_kept)
				buf_printf(&cut, "%s%s (%zu of %zu lines cut)", cut.len ? ", " : "",
					   section_name[priority[k]], lines_all - lines_kept, lines_all);
			buf_truncate(s, keep);
			remaining = remaining > keep ? remaining - keep : 0;
		}
	}
	for (int i = 0; i < SEC_COUNT; i++) {
		buf_add(out, buf_cstr(&sec[i]), sec[i].len);
		buf_release(&sec[i]);
	}
	if (cut.len)
		buf_printf(out, "[cut to fit %zu tokens: %s]\n", budget_tokens, cut.data);
	buf_release(&cut);
}

static cJSON *json_str_or_null(const char *s)
{
	return s ? cJSON_CreateString(s) : cJSON_CreateNull();
}

static cJSON *json_list(const struct bs_list *l)
{
	cJSON *o = cJSON_CreateObject();
	cJSON *a = cJSON_AddArrayToObject(o, "paths");

	cJSON_AddNumberToObject(o, "count", (double)l->total);
	for (size_t i = 0; i < l->count; i++)
		cJSON_AddItemToArray(a, cJSON_CreateString(l->items[i]));
	return o;
}

static cJSON *json_doc(const struct bs_doc *d)
{
	cJSON *o;

	if (!d->path)
		return cJSON_CreateNull();
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "path", d->path);
	cJSON_AddNumberToObject(o, "size", (double)d->size);
	cJSON_AddBoolToObject(o, "truncated", d->truncated);
	cJSON_AddStringToObject(o, "text", d->text);
	return o;
}

static cJSON *json_git(const struct bootstrap *bs)
{
	cJSON *g = cJSON_CreateObject(), *a;

	cJSON_AddStringToObject(g, "dir", bs->git_dir);
	cJSON_AddBoolToObject(g, "bare", bs->is_bare);
	cJSON_AddBoolToObject(g, "worktree", bs->is_worktree);
	cJSON_AddBoolToObject(g, "unborn", bs->is_unborn);
	cJSON_AddItemToObject(g, "branch", json_str_or_null(bs->branch));
	cJSON_AddBoolToObject(g, "detached", bs->branch == NULL);
	if (bs->head_id) {
		cJSON *h = cJSON_AddObjectToObject(g, "head");
		cJSON_AddStringToObject(h, "id", bs->head_id);
		cJSON_AddStringToObject(h, "subject", bs->head_subject);
		cJSON_AddStringToObject(h, "date", bs->head_date);
	} else {
		cJSON_AddNullToObject(g, "head");
	}
	if (bs->upstream) {
		cJSON *u = cJSON_AddObjectToObject(g, "upstream");
		cJSON_AddStringToObject(u, "name", bs->upstream);
		cJSON_AddBoolToObject(u, "gone", bs->upstream_gone);
		cJSON_AddNumberToObject(u, "ahead", (double)bs->ahead);
		cJSON_AddNumberToObject(u, "behind", (double)bs->behind);
	} else {
		cJSON_AddNullToObject(g, "upstream");
	}
	if (bs->has_status) {
		cJSON *s = cJSON_AddObjectToObject(g, "status");
		cJSON_AddItemToObject(s, "staged", json_list(&bs->status.staged));
		cJSON_AddItemToObject(s, "modified", json_list(&bs->status.modified));
		cJSON_AddItemToObject(s, "untracked", json_list(&bs->status.untracked));
		cJSON_AddItemToObject(s, "conflicted", json_list(&bs->status.conflicted));
	} else {
		cJSON_AddNullToObject(g, "status");
	}
	a = cJSON_AddArrayToObject(g, "commits");
	for (size_t i = 0; i < bs->ncommits; i++) {
		cJSON *c = cJSON_CreateObject();
		cJSON_AddStringToObject(c, "id", bs->commits[i].id);
		cJSON_AddStringToObject(c, "subject", bs->commits[i].subject);
		cJSON_AddItemToArray(a, c);
	}
	a = cJSON_AddArrayToObject(g, "submodules");
	for (size_t i = 0; i < bs->nsubmodules; i++) {
		const struct bs_submodule *sm = &bs->submodules[i];
		cJSON *c = cJSON_CreateObject();
		cJSON_AddStringToObject(c, "name", sm->name);
		cJSON_AddStringToObject(c, "path", sm->path);
		cJSON_AddStringToObject(c, "url", sm->url);
		cJSON_AddItemToObject(c, "head", json_str_or_null(sm->head));
		cJSON_AddStringToObject(c, "state", sm->state);
		cJSON_AddItemToArray(a, c);
	}
	return g;
}

void bootstrap_render_json(const struct bootstrap *bs, struct buf *out)
{
	cJSON *root = cJSON_CreateObject(), *a, *f, *t;
	char *text;

	cJSON_AddNumberToObject(root, "format", BOOTSTRAP_FORMAT_VERSION);
	cJSON_AddStringToObject(root, "root", bs->root);
	cJSON_AddStringToObject(root, "name", bs->name);
	cJSON_AddStringToObject(root, "cwd", bs->cwd_rel ? bs->cwd_rel : "");
	cJSON_AddItemToObject(root, "git", bs->has_repo ? json_git(bs) : cJSON_CreateNull());
	f = cJSON_AddObjectToObject(root, "files");
	cJSON_AddNumberToObject(f, "count", (double)bs->tracked_files);
	a = cJSON_AddArrayToObject(f, "languages");
	for (size_t i = 0; i < bs->nlangs; i++) {
		cJSON *l = cJSON_CreateObject();
		cJSON_AddStringToObject(l, "name", bs->langs[i].name);
		cJSON_AddNumberToObject(l, "files", (double)bs->langs[i].files);
		cJSON_AddNumberToObject(l, "bytes", (double)bs->langs[i].bytes);
		cJSON_AddItemToArray(a, l);
	}
	t = cJSON_AddObjectToObject(f, "top_level");
	cJSON_AddNumberToObject(t, "count", (double)bs->top.total);
	a = cJSON_AddArrayToObject(t, "entries");
	for (size_t i = 0; i < bs->top.count; i++)
		cJSON_AddItemToArray(a, cJSON_CreateString(bs->top.items[i]));
	a = cJSON_AddArrayToObject(root, "commands");
	for (size_t i = 0; i < bs->ncommands; i++) {
		cJSON *c = cJSON_CreateObject();
		cJSON_AddStringToObject(c, "kind", bs->commands[i].kind);
		cJSON_AddStringToObject(c, "command", bs->commands[i].command);
		cJSON_AddStringToObject(c, "source", bs->commands[i].source);
		cJSON_AddItemToArray(a, c);
	}
	a = cJSON_AddArrayToObject(root, "instructions");
	for (size_t i = 0; i < bs->nagents; i++)
		cJSON_AddItemToArray(a, json_doc(&bs->agents[i]));
	cJSON_AddItemToObject(root, "readme", json_doc(&bs->readme));
	a = cJSON_AddArrayToObject(root, "notes");
	for (size_t i = 0; i < bs->notes.count; i++)
		cJSON_AddItemToArray(a, cJSON_CreateString(bs->notes.items[i]));
	text = cJSON_Print(root);
	if (text) {
		buf_puts(out, text);
		buf_putc(out, '\n');
	}
	free(text);
	cJSON_Delete(root);
}

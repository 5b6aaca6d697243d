/*
 * sessions.c — `forja sessions [list | show ID | export ID | rm ID... |
 * resume ID]`: the conversations kept in the state database, listed (this
 * project's or all), read in the terminal, exported as Markdown or JSON,
 * removed, or continued.  Everything the model or a person wrote passes
 * through utf8_sanitize() before it reaches the terminal, and through a
 * UTF-8 repair before it goes into JSON.
 */
#include <cJSON.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "forja/bootstrap.h"
#include "forja/cmd.h"
#include "forja/store.h"
#include "forja/utf8.h"

enum { OPT_ALL = 1, OPT_IDS, OPT_MARKDOWN };

const struct opt_spec cmd_sessions_options[] = {
	{ "all", 0, OPT_FLAG, OPT_ALL, NULL, "list every project's sessions, with their project" },
	{ "ids", 0, OPT_FLAG, OPT_IDS, NULL, "list only the full ids, one a line" },
	{ "markdown", 0, OPT_FLAG, OPT_MARKDOWN, NULL, "export as Markdown (the default)" },
	{ 0 },
};

static const char *const subcommands[] = { "list", "show", "export", "rm", "resume" };

/* Columns for a title, and for a tool call's arguments, when stdout is
 * not a terminal. */
enum { TITLE_COLUMNS_PIPE = 60, ARGS_COLUMNS_PIPE = 100 };

struct history {
	struct store_session_info info;
	struct store_message *msgs;
	size_t nmsgs;
	struct store_toolcall *calls;
	size_t ncalls;
};

static int report(const struct app *app, struct ferr *e, const char *context)
{
	ferr_prefix(e, "%s", context);
	app_print_error(app, e);
	return ferr_exit_code(e->cls);
}

static int open_store(struct store **st, struct ferr *e)
{
	const char *db = getenv("FORJA_DB");

	return store_open(db && *db ? db : NULL, st, e);
}

/* This project: the repository's root around the cwd, else the cwd. */
static char *this_project(const struct app *app)
{
	char *root = bootstrap_project_root(app->cwd);

	if (!root)
		root = realpath(app->cwd, NULL);
	return root ? root : xstrdup(app->cwd);
}

static void local_time(long long secs, char out[32])
{
	time_t t = (time_t)secs;
	struct tm tm;

	if (!localtime_r(&t, &tm) || !strftime(out, 32, "%Y-%m-%d %H:%M", &tm))
		snprintf(out, 32, "%lld", secs);
}

static void iso_time(long long secs, char out[32])
{
	time_t t = (time_t)secs;
	struct tm tm;

	if (!gmtime_r(&t, &tm) || !strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(out, 32, "%lld", secs);
}

/* Unix milliseconds as ISO 8601 UTC with milliseconds. */
static void iso_time_ms(long long ms, char out[40])
{
	char secs[32];

	iso_time(ms / 1000, secs);
	if (strlen(secs) == 20)
		snprintf(out, 40, "%.19s.%03lldZ", secs, ms % 1000);
	else
		snprintf(out, 40, "%s", secs);
}

static int stdout_columns(void)
{
	struct winsize ws;

	if (!isatty(STDOUT_FILENO) || ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) != 0 || ws.ws_col == 0)
		return 0;
	return ws.ws_col;
}

static size_t utf8_chars(const char *s, size_t len)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++)
		n += ((unsigned char)s[i] & 0xc0) != 0x80;
	return n;
}

/*
 * Append text as one line of at most max_chars characters: sanitised (no
 * control character, valid UTF-8), every run of white space one space,
 * and "…" in place of what did not fit.
 */
static void put_one_line(struct buf *out, const char *text, size_t max_chars)
{
	struct buf clean = BUF_INIT, line = BUF_INIT;
	size_t chars = 0, cut = 0;
	bool space = false;

	utf8_sanitize(&clean, text ? text : "", text ? strlen(text) : 0);
	for (size_t i = 0; i < clean.len; i++) {
		char c = clean.data[i];
		if (c == ' ' || c == '\t' || c == '\n') {
			space = line.len > 0;
			continue;
		}
		if (space)
			buf_putc(&line, ' ');
		space = false;
		buf_putc(&line, c);
	}
	if (utf8_chars(line.data ? line.data : "", line.len) <= max_chars) {
		buf_add(out, buf_cstr(&line), line.len);
	} else {
		/* the first max_chars - 1 characters, then the ellipsis */
		for (cut = 0; cut < line.len; cut++) {
			if (((unsigned char)line.data[cut] & 0xc0) != 0x80 && chars++ == max_chars - 1)
				break;
		}
		buf_add(out, line.data, cut);
		buf_puts(out, "\xe2\x80\xa6");
	}
	buf_release(&clean);
	buf_release(&line);
}

/* Append s as valid UTF-8: each byte that is not part of a valid sequence
 * becomes U+FFFD.  Control characters stay (JSON escapes them). */
static void put_valid_utf8(struct buf *out, const char *s)
{
	size_t len = strlen(s);

	for (size_t i = 0; i < len;) {
		size_t n = utf8_seq_len((const unsigned char *)s + i, len - i);
		if (n) {
			buf_add(out, s + i, n);
			i += n;
		} else {
			buf_puts(out, "\xef\xbf\xbd");
			i++;
		}
	}
}

static cJSON *json_text(const char *s)
{
	struct buf fixed = BUF_INIT;
	cJSON *item;

	if (!s)
		return cJSON_CreateNull();
	if (utf8_is_valid(s, strlen(s)))
		return cJSON_CreateString(s);
	put_valid_utf8(&fixed, s);
	item = cJSON_CreateString(buf_cstr(&fixed));
	buf_release(&fixed);
	return item;
}

/* cJSON keeps the bytes it parsed: repair every string and key of a
 * parsed body so that what we print is valid JSON. */
static void json_repair(cJSON *item)
{
	for (; item; item = item->next) {
		if (item->string && !utf8_is_valid(item->string, strlen(item->string))) {
			struct buf fixed = BUF_INIT;
			put_valid_utf8(&fixed, item->string);
			cJSON_free(item->string);
			item->string = cJSON_malloc(fixed.len + 1);
			if (!item->string)
				abort();
			memcpy(item->string, buf_cstr(&fixed), fixed.len + 1);
			buf_release(&fixed);
		}
		if (cJSON_IsString(item) && item->valuestring &&
		    !utf8_is_valid(item->valuestring, strlen(item->valuestring))) {
			struct buf fixed = BUF_INIT;
			put_valid_utf8(&fixed, item->valuestring);
			cJSON_SetValuestring(item, buf_cstr(&fixed));
			buf_release(&fixed);
		}
		json_repair(item->child);
	}
}

static void add_text(cJSON *obj, const char *key, const char *value)
{
	cJSON_AddItemToObject(obj, key, json_text(value));
}

static cJSON *info_json(const struct store_session_info *si)
{
	cJSON *o = cJSON_CreateObject();
	char when[32];

	cJSON_AddStringToObject(o, "id", si->id);
	iso_time(si->created_at, when);
	cJSON_AddStringToObject(o, "created_at", when);
	iso_time(si->updated_at, when);
	cJSON_AddStringToObject(o, "updated_at", when);
	add_text(o, "kind", si->kind);
	add_text(o, "cwd", si->cwd);
	add_text(o, "project", si->project);
	add_text(o, "title", si->title);
	add_text(o, "provider", si->provider);
	add_text(o, "model", si->model);
	cJSON_AddNumberToObject(o, "messages", (double)si->nmessages);
	cJSON_AddNumberToObject(o, "prompt_tokens", (double)si->prompt_tokens);
	cJSON_AddNumberToObject(o, "completion_tokens", (double)si->completion_tokens);
	if (si->cost >= 0)
		cJSON_AddNumberToObject(o, "cost", si->cost);
	else
		cJSON_AddNullToObject(o, "cost");
	return o;
}

static void print_json(cJSON *v)
{
	char *text = cJSON_PrintUnformatted(v);

	if (!text) {
		fprintf(stderr, "forja: out of memory\n");
		abort();
	}
	fputs(text, stdout);
	fputc('\n', stdout);
	cJSON_free(text);
}

static void put_path(struct buf *out, const char *path)
{
	char *shown = utf8_path_dup(path, strlen(path));

	buf_puts(out, shown);
	free(shown);
}

static int run_list(struct app *app, struct store *st, bool all, bool ids_only)
{
	struct store_session_info *v = NULL;
	struct ferr e = FERR_INIT;
	struct buf out = BUF_INIT;
	char *project = all ? NULL : this_project(app);
	size_t n = 0;
	int rc = EXIT_OK;

	if (store_session_list(st, project, NULL, 0, &v, &n, &e) != 0) {
		rc = report(app, &e, "sessions list");
		goto out;
	}
	if (ids_only) {
		for (size_t i = 0; i < n; i++)
			buf_printf(&out, "%s\n", v[i].id);
	} else if (app->json) {
		cJSON *arr = cJSON_CreateArray();
		for (size_t i = 0; i < n; i++)
			cJSON_AddItemToArray(arr, info_json(&v[i]));
		print_json(arr);
		cJSON_Delete(arr);
	} else {
		struct buf *models = xcalloc(n + 1, sizeof *models);
		struct buf *projects = xcalloc(n + 1, sizeof *projects);
		size_t model_w = 1, project_w = 0;
		int columns = stdout_columns(), title_w;

		for (size_t i = 0; i < n; i++) {
			put_one_line(&models[i], v[i].model ? v[i].model : "-", 32);
			model_w = models[i].len > model_w ? models[i].len : model_w;
			if (all) {
				put_path(&projects[i], v[i].project ? v[i].project : "-");
				project_w = projects[i].len > project_w ? projects[i].len : project_w;
			}
		}
		/* id, time, count, model, project and the two spaces after each */
		title_w = columns - (int)(8 + 2 + 16 + 2 + 9 + 2 + model_w + 2 +
					  (all ? project_w + 2 : 0));
		if (columns == 0)
			title_w = TITLE_COLUMNS_PIPE;
		else if (title_w < 10)
			title_w = 10;
		for (size_t i = 0; i < n; i++) {
			char when[32];
			local_time(v[i].updated_at, when);
			buf_printf(&out, "%.8s  %s  %5lld msg  %-*s  ", v[i].id, when,
				   v[i].nmessages, (int)model_w, buf_cstr(&models[i]));
			if (all)
				buf_printf(&out, "%-*s  ", (int)project_w, buf_cstr(&projects[i]));
			if (v[i].title && *v[i].title)
				put_one_line(&out, v[i].title, (size_t)title_w);
			else
				buf_puts(&out, "(untitled)");
			while (out.len && out.data[out.len - 1] == ' ')
				buf_truncate(&out, out.len - 1);
			buf_putc(&out, '\n');
		}
		for (size_t i = 0; i < n; i++) {
			buf_release(&models[i]);
			buf_release(&projects[i]);
		}
		free(models);
		free(projects);
	}
	fwrite(buf_cstr(&out), 1, out.len, stdout);
out:
	store_session_infos_free(v, n);
	buf_release(&out);
	free(project);
	return rc;
}

static int history_load(struct store *st, const char *id, struct history *h, struct ferr *e)
{
	memset(h, 0, sizeof *h);
	if (store_session_get(st, id, &h->info, e) != 0)
		return -1;
	if (store_message_list(st, h->info.id, false, &h->msgs, &h->nmsgs, e) != 0 ||
	    store_toolcall_list(st, h->info.id, &h->calls, &h->ncalls, e) != 0)
		return -1;
	return 0;
}

static void history_release(struct history *h)
{
	store_session_info_release(&h->info);
	store_messages_free(h->msgs, h->nmsgs);
	store_toolcalls_free(h->calls, h->ncalls);
}

static cJSON *history_json(const struct history *h)
{
	cJSON *o = cJSON_CreateObject();
	cJSON *msgs, *calls;
	char when[40];

	cJSON_AddItemToObject(o, "session", info_json(&h->info));
	msgs = cJSON_AddArrayToObject(o, "messages");
	calls = cJSON_AddArrayToObject(o, "tool_calls");

	for (size_t i = 0; i < h->nmsgs; i++) {
		const struct store_message *m = &h->msgs[i];
		cJSON *mo = cJSON_CreateObject(), *body = cJSON_Parse(m->body);
		cJSON_AddNumberToObject(mo, "seq", (double)m->seq);
		iso_time_ms(m->at, when);
		cJSON_AddStringToObject(mo, "at", when);
		add_text(mo, "role", m->role);
		if (body) {
			json_repair(body);
			cJSON_AddItemToObject(mo, "body", body);
		} else {
			/* not JSON: kept as the text it is */
			add_text(mo, "body", m->body);
		}
		cJSON_AddItemToArray(msgs, mo);
	}
	for (size_t i = 0; i < h->ncalls; i++) {
		const struct store_toolcall *c = &h->calls[i];
		cJSON *co = cJSON_CreateObject();
		add_text(co, "call_id", c->call_id);
		add_text(co, "name", c->name);
		add_text(co, "arguments", c->arguments);
		cJSON_AddNumberToObject(co, "message_seq", (double)c->message_seq);
		add_text(co, "approval", c->approval);
		add_text(co, "status", c->status);
		cJSON_AddNumberToObject(co, "exit_code", c->exit_code);
		cJSON_AddNumberToObject(co, "duration_ms", (double)c->duration_ms);
		add_text(co, "result", c->result);
		if (c->audit_id > 0)
			cJSON_AddNumberToObject(co, "audit_id", (double)c->audit_id);
		else
			cJSON_AddNullToObject(co, "audit_id");
		cJSON_AddItemToArray(calls, co);
	}
	return o;
}

static const char *body_string(const cJSON *body, const char *key)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(body, key);

	return cJSON_IsString(item) ? item->valuestring : NULL;
}

static void put_duration(struct buf *out, long long ms)
{
	if (ms < 1000)
		buf_printf(out, "%lld ms", ms);
	else if (ms < 60000)
		buf_printf(out, "%.1f s", (double)ms / 1000);
	else
		buf_printf(out, "%lldm %llds", ms / 60000, ms % 60000 / 1000);
}

/* "ok, 12 ms", "failed (exit 2), 1.2 s", "not finished". */
static void put_call_status(struct buf *out, const struct store_toolcall *c)
{
	if (!c || !c->status) {
		buf_puts(out, c && c->approval && strcmp(c->approval, "denied") == 0 ? "denied"
										      : "not finished");
		return;
	}
	put_one_line(out, c->status, 16);
	if (c->exit_code > 0)
		buf_printf(out, " (exit %d)", c->exit_code);
	buf_puts(out, ", ");
	put_duration(out, c->duration_ms);
}

/* The calls one assistant message made: the tool_calls rows recorded for
 * it, else (nothing recorded) those its body names. */
struct call_ref {
	const char *name, *arguments, *call_id;
	const struct store_toolcall *row;   /* NULL when not recorded */
};

static size_t message_calls(const struct history *h, const struct store_message *m,
			    const cJSON *body, struct call_ref **out)
{
	const cJSON *calls = cJSON_GetObjectItemCaseSensitive(body, "calls"), *c;
	struct call_ref *v;
	size_t n = 0;

	v = xcalloc(h->ncalls + (size_t)cJSON_GetArraySize(calls) + 1, sizeof *v);
	for (size_t i = 0; i < h->ncalls; i++)
		if (h->calls[i].message_seq == m->seq)
			v[n++] = (struct call_ref){ h->calls[i].name, h->calls[i].arguments,
						    h->calls[i].call_id, &h->calls[i] };
	if (n == 0 && cJSON_IsArray(calls)) {
		cJSON_ArrayForEach(c, calls) {
			const char *name = body_string(c, "name");
			const char *args = body_string(c, "arguments");
			v[n++] = (struct call_ref){ name ? name : "?", args ? args : "{}",
						    body_string(c, "id"), NULL };
		}
	}
	*out = v;
	return n;
}

static void put_bold(struct buf *out, const struct app *app, const char *text)
{
	buf_printf(out, "%s%s%s", app->color ? "\033[1m" : "", text, app->color ? "\033[0m" : "");
}

static void put_sanitized(struct buf *out, const char *text)
{
	size_t start = out->len;

	utf8_sanitize(out, text, strlen(text));
	while (out->len > start && out->data[out->len - 1] == '\n')
		buf_truncate(out, out->len - 1);
	buf_putc(out, '\n');
}

static void put_header(struct buf *out, const struct store_session_info *si, bool markdown)
{
	const char *fmt = markdown ? "- %s: " : "%-9s";
	char when[32];

	buf_printf(out, fmt, "session");
	buf_printf(out, markdown ? "`%s`\n" : "%s\n", si->id);
	buf_printf(out, fmt, "project");
	put_path(out, si->project ? si->project : si->cwd ? si->cwd : "-");
	buf_putc(out, '\n');
	local_time(si->created_at, when);
	buf_printf(out, fmt, "created");
	buf_printf(out, "%s\n", when);
	local_time(si->updated_at, when);
	buf_printf(out, fmt, "updated");
	buf_printf(out, "%s\n", when);
	buf_printf(out, fmt, "model");
	if (si->provider) {
		put_one_line(out, si->provider, 40);
		buf_putc(out, '/');
	}
	put_one_line(out, si->model ? si->model : "-", 80);
	buf_putc(out, '\n');
	buf_printf(out, fmt, "tokens");
	buf_printf(out, "%lld prompt, %lld completion\n", si->prompt_tokens, si->completion_tokens);
	buf_printf(out, fmt, "cost");
	if (si->cost >= 0)
		buf_printf(out, "$%.4f\n", si->cost);
	else
		buf_puts(out, "unknown\n");
	if (!markdown && si->title && *si->title) {
		buf_printf(out, fmt, "title");
		put_one_line(out, si->title, 200);
		buf_putc(out, '\n');
	}
}

static void render_text(const struct app *app, const struct history *h, struct buf *out)
{
	int columns = stdout_columns();

	put_header(out, &h->info, false);
	for (size_t i = 0; i < h->nmsgs; i++) {
		const struct store_message *m = &h->msgs[i];
		cJSON *body = cJSON_Parse(m->body);
		const char *content = body ? body_string(body, "content") : m->body;
		struct call_ref *calls = NULL;
		size_t ncalls;

		if (strcmp(m->role, "tool") == 0) {
			/* shown by its call's line */
			cJSON_Delete(body);
			continue;
		}
		buf_putc(out, '\n');
		if (strcmp(m->role, "summary") == 0)
			put_bold(out, app, "summary (of the conversation before it):");
		else if (strcmp(m->role, "user") == 0)
			put_bold(out, app, "user:");
		else if (strcmp(m->role, "assistant") == 0)
			put_bold(out, app, "assistant:");
		else
			put_bold(out, app, "message:");
		buf_putc(out, '\n');
		if (content && *content)
			put_sanitized(out, content);
		ncalls = message_calls(h, m, body, &calls);
		for (size_t k = 0; k < ncalls; k++) {
			struct buf line = BUF_INIT, status = BUF_INIT;
			size_t used, room = ARGS_COLUMNS_PIPE;
			put_call_status(&status, calls[k].row);
			buf_puts(&line, "> ");
			put_one_line(&line, calls[k].name, 64);
			buf_putc(&line, ' ');
			used = utf8_chars(line.data, line.len) + 2 + utf8_chars(status.data, status.len);
			if (columns > 0)
				room = (size_t)columns > used + 10 ? (size_t)columns - used : 10;
			put_one_line(&line, calls[k].arguments, room);
			buf_printf(out, "%s%s  %s%s\n", app->color ? "\033[2m" : "", buf_cstr(&line),
				   buf_cstr(&status), app->color ? "\033[0m" : "");
			buf_release(&line);
			buf_release(&status);
		}
		free(calls);
		cJSON_Delete(body);
	}
}

/* A fenced code block that no backtick run inside text can close. */
static void put_fenced(struct buf *out, const char *lang, const char *text)
{
	size_t longest = 0, run = 0, fence;

	for (const char *p = text; *p; p++) {
		run = *p == '`' ? run + 1 : 0;
		longest = run > longest ? run : longest;
	}
	fence = longest >= 3 ? longest + 1 : 3;
	for (size_t i = 0; i < fence; i++)
		buf_putc(out, '`');
	buf_printf(out, "%s\n", lang);
	put_sanitized(out, text);
	for (size_t i = 0; i < fence; i++)
		buf_putc(out, '`');
	buf_puts(out, "\n\n");
}

/* Arguments as indented JSON when they parse, else as they are. */
static void put_arguments(struct buf *out, const char *arguments)
{
	cJSON *args = cJSON_Parse(arguments);
	char *pretty = NULL;

	struct buf spaced = BUF_INIT;

	if (args) {
		json_repair(args);
		pretty = cJSON_Print(args);
	}
	/* cJSON indents with tabs and writes "key":\ttab; it escapes every
	 * tab inside a string, so each raw tab is layout. */
	for (const char *p = pretty; p && *p; p++) {
		if (*p != '\t')
			buf_putc(&spaced, *p);
		else if (p > pretty && p[-1] == ':')
			buf_putc(&spaced, ' ');
		else
			buf_puts(&spaced, "  ");
	}
	put_fenced(out, "json", pretty ? buf_cstr(&spaced) : arguments);
	buf_release(&spaced);
	cJSON_free(pretty);
	cJSON_Delete(args);
}

static const struct store_toolcall *call_by_id(const struct history *h, const char *call_id,
					       long long before_seq)
{
	const struct store_toolcall *found = NULL;

	for (size_t i = 0; call_id && i < h->ncalls; i++)
		if (h->calls[i].call_id && strcmp(h->calls[i].call_id, call_id) == 0 &&
		    h->calls[i].message_seq < before_seq)
			found = &h->calls[i];
	return found;
}

static void render_markdown(const struct history *h, struct buf *out)
{
	size_t turn = 0;

	buf_puts(out, "# ");
	if (h->info.title && *h->info.title)
		put_one_line(out, h->info.title, 200);
	else
		buf_printf(out, "Session %.8s", h->info.id);
	buf_puts(out, "\n\n");
	put_header(out, &h->info, true);
	buf_putc(out, '\n');
	for (size_t i = 0; i < h->nmsgs; i++) {
		const struct store_message *m = &h->msgs[i];
		cJSON *body = cJSON_Parse(m->body);
		const char *content = body ? body_string(body, "content") : m->body;
		const char *reasoning = body ? body_string(body, "reasoning") : NULL;

		if (strcmp(m->role, "user") == 0) {
			buf_printf(out, "## Turn %zu\n\n### User\n\n", ++turn);
		} else if (strcmp(m->role, "assistant") == 0) {
			buf_puts(out, "### Assistant\n\n");
		} else if (strcmp(m->role, "summary") == 0) {
			buf_puts(out, "## Summary of the conversation before it\n\n");
		} else if (strcmp(m->role, "tool") == 0) {
			const char *call_id = body ? body_string(body, "tool_call_id") : NULL;
			const char *name = body ? body_string(body, "tool_name") : NULL;
			const struct store_toolcall *c = call_by_id(h, call_id, m->seq);
			struct buf status = BUF_INIT;
			put_call_status(&status, c);
			buf_puts(out, "#### Result of ");
			put_one_line(out, name ? name : c ? c->name : "a tool call", 64);
			buf_printf(out, " (%s)\n\n", buf_cstr(&status));
			put_fenced(out, "text", content ? content : c && c->result ? c->result : "");
			buf_release(&status);
			cJSON_Delete(body);
			continue;
		} else {
			buf_puts(out, "### Message\n\n");
		}
		if (reasoning && *reasoning) {
			struct buf quoted = BUF_INIT;
			utf8_sanitize(&quoted, reasoning, strlen(reasoning));
			while (quoted.len && quoted.data[quoted.len - 1] == '\n')
				buf_truncate(&quoted, quoted.len - 1);
			buf_puts(out, "> **Reasoning**\n>\n> ");
			for (size_t k = 0; k < quoted.len; k++) {
				buf_putc(out, quoted.data[k]);
				if (quoted.data[k] == '\n')
					buf_puts(out, "> ");
			}
			buf_puts(out, "\n\n");
			buf_release(&quoted);
		}
		if (content && *content) {
			put_sanitized(out, content);
			buf_putc(out, '\n');
		}
		if (strcmp(m->role, "assistant") == 0) {
			struct call_ref *calls = NULL;
			size_t ncalls = message_calls(h, m, body, &calls);
			for (size_t k = 0; k < ncalls; k++) {
				struct buf status = BUF_INIT;
				put_call_status(&status, calls[k].row);
				buf_puts(out, "#### Tool call: ");
				put_one_line(out, calls[k].name, 64);
				buf_printf(out, " (%s)\n\n", buf_cstr(&status));
				put_arguments(out, calls[k].arguments);
				buf_release(&status);
			}
			free(calls);
		}
		cJSON_Delete(body);
	}
	while (out->len >= 2 && out->data[out->len - 1] == '\n' && out->data[out->len - 2] == '\n')
		buf_truncate(out, out->len - 1);
}

enum show_format { SHOW_TEXT, SHOW_MARKDOWN, SHOW_JSON };

static int run_show(struct app *app, struct store *st, const char *id, enum show_format format,
		    const char *context)
{
	struct history h;
	struct ferr e = FERR_INIT;
	struct buf out = BUF_INIT;
	int rc = EXIT_OK;

	if (history_load(st, id, &h, &e) != 0) {
		rc = report(app, &e, context);
		goto out;
	}
	if (format == SHOW_JSON) {
		cJSON *o = history_json(&h);
		print_json(o);
		cJSON_Delete(o);
		goto out;
	}
	if (format == SHOW_MARKDOWN)
		render_markdown(&h, &out);
	else
		render_text(app, &h, &out);
	fwrite(buf_cstr(&out), 1, out.len, stdout);
out:
	history_release(&h);
	buf_release(&out);
	return rc;
}

static int run_rm(struct app *app, struct store *st, char **ids, size_t nids)
{
	int rc = EXIT_OK;

	for (size_t i = 0; i < nids; i++) {
		struct ferr e = FERR_INIT;
		char full[33];
		if (store_session_resolve(st, ids[i], full, &e) != 0 ||
		    store_session_rm(st, full, &e) != 0) {
			int code = report(app, &e, "sessions rm");
			/* the most serious failure decides: an I/O error over a typo */
			if (rc == EXIT_OK || (rc == EXIT_USAGE && code != EXIT_USAGE))
				rc = code;
			continue;
		}
		if (app->verbosity >= 0)
			printf("removed %s\n", full);
	}
	return rc;
}

/* Resolve id, close the store (the interactive session opens its own),
 * and continue the session. */
static int run_resume(struct app *app, struct store *st, const char *id)
{
	struct ferr e = FERR_INIT;
	char full[33];
	int rc = store_session_resolve(st, id, full, &e);

	store_close(st);
	if (rc != 0)
		return report(app, &e, "sessions resume");
	return cmd_chat_resume(app, full);
}

int cmd_sessions(struct app *app, int argc, char **argv)
{
	const struct cmd *self = cmd_find("sessions");
	struct opt_state ost;
	struct ferr e = FERR_INIT;
	struct store *st = NULL;
	char **args = xcalloc((size_t)argc + 1, sizeof *args);
	size_t nargs = 0;
	bool all = false, ids = false, markdown = false;
	const char *sub;
	int id, rc = EXIT_OK;

	opt_init(&ost, argc, argv, "sessions");
	ost.common = app_common_options;
	while ((id = cmd_next_option(self, app, &ost, &rc)) != OPT_END) {
		switch (id) {
		case OPT_ERROR:
			goto out;
		case OPT_ALL:
			all = true;
			break;
		case OPT_IDS:
			ids = true;
			break;
		case OPT_MARKDOWN:
			markdown = true;
			break;
		case OPT_POSITIONAL:
			args[nargs++] = (char *)ost.value;
			break;
		}
	}
	sub = nargs ? args[0] : "list";
	if (strcmp(sub, "list") != 0 && (all || ids)) {
		rc = app_usage_error(app, "sessions %s: --%s only goes with list", sub,
				 all ? "all" : "ids");
		goto out;
	}
	if (strcmp(sub, "export") != 0 && markdown) {
		rc = app_usage_error(app, "sessions %s: --markdown only goes with export", sub);
		goto out;
	}
	if (strcmp(sub, "list") == 0) {
		if (nargs > 1) {
			rc = app_usage_error(app, "sessions list: unexpected argument '%s'; did you mean "
					      "'forja sessions show %s'?", args[1], args[1]);
			goto out;
		}
		if (ids && app->json) {
			rc = app_usage_error(app, "sessions list: --ids and --json do not go together");
			goto out;
		}
	} else if (strcmp(sub, "show") == 0 || strcmp(sub, "export") == 0 ||
		   strcmp(sub, "resume") == 0) {
		if (nargs != 2) {
			rc = nargs < 2 ? app_usage_error(app, "sessions %s: which session? 'forja sessions "
							  "list' shows their ids", sub)
				       : app_usage_error(app, "sessions %s: one session at a time, got "
							  "'%s' and '%s'", sub, args[1], args[2]);
			goto out;
		}
		if (markdown && app->json) {
			rc = app_usage_error(app, "sessions export: --markdown and --json do not go "
					      "together");
			goto out;
		}
	} else if (strcmp(sub, "rm") == 0) {
		if (nargs < 2) {
			rc = app_usage_error(app, "sessions rm: which sessions? 'forja sessions list' "
					      "shows their ids");
			goto out;
		}
	} else {
		const char *hint = opt_suggest(sub, subcommands,
					       sizeof subcommands / sizeof *subcommands);
		if (hint)
			rc = app_usage_error(app, "sessions: '%s' is not a subcommand; did you mean '%s'?",
					 sub, hint);
		else
			rc = app_usage_error(app, "sessions: '%s' is not a subcommand; use list, show, "
					      "export, rm or resume", sub);
		goto out;
	}

	if (open_store(&st, &e) != 0) {
		rc = report(app, &e, "sessions");
		goto out;
	}
	if (strcmp(sub, "list") == 0)
		rc = run_list(app, st, all, ids);
	else if (strcmp(sub, "show") == 0)
		rc = run_show(app, st, args[1], app->json ? SHOW_JSON : SHOW_TEXT, "sessions show");
	else if (strcmp(sub, "export") == 0)
		rc = run_show(app, st, args[1], app->json ? SHOW_JSON : SHOW_MARKDOWN,
			      "sessions export");
	else if (strcmp(sub, "rm") == 0)
		rc = run_rm(app, st, args + 1, nargs - 1);
	else {
		rc = run_resume(app, st, args[1]);
		st = NULL;   /* closed by run_resume */
	}
out:
	store_close(st);
	free(args);
	return rc;
}

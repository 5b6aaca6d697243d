/*
 * exec.c — `forja exec PROMPT`: one request for scripts.  The project
 * context (the bootstrap) goes as the system prompt, the prompt and any
 * piped stdin as the user message; the answer streams to stdout, or the
 * whole event stream as JSONL with --json.  Exit codes follow the error
 * classes (man forja, EXIT STATUS); Ctrl-C stops at once with 130.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "forja/bootstrap.h"
#include "forja/cmd.h"
#include "forja/config.h"
#include "forja/events.h"
#include "forja/http.h"
#include "forja/provider.h"
#include "forja/shadow.h"
#include "forja/term.h"
#include "forja/utf8.h"
#include "agentrun.h"

#define STDIN_MAX (1024 * 1024)

enum { OPT_NO_CONTEXT = 1, OPT_SESSION, OPT_OUTPUT_LAST };

const struct opt_spec cmd_exec_options[] = {
	{ "no-context", 0, OPT_FLAG, OPT_NO_CONTEXT, NULL,
	  "do not send the project context (the bootstrap)" },
	{ "session", 0, OPT_VALUE, OPT_SESSION, "ID",
	  "continue this session (its id or a unique prefix) instead of starting one" },
	{ "output-last-message", 0, OPT_VALUE, OPT_OUTPUT_LAST, "FILE",
	  "also write the model's final answer to FILE" },
	{ 0 },
};

/* Prompt text must be UTF-8 without NUL bytes: the request is JSON. */
static int clean_input(struct buf *text, const char *what, bool *replaced, struct ferr *e)
{
	if (memchr(text->data, '\0', text->len))
		return ferr_set(e, FERR_USAGE,
				"exec: %s holds NUL bytes (binary data?); forja sends text only", what);
	if (!utf8_is_valid(text->data, text->len)) {
		struct buf fixed = BUF_INIT;
		utf8_sanitize(&fixed, text->data, text->len);
		buf_release(text);
		*text = fixed;
		*replaced = true;
	}
	return 0;
}


/* stdin when it is not a terminal; empty when closed. */
static int read_stdin(struct buf *out, struct ferr *e)
{
	char chunk[65536];

	if (isatty(STDIN_FILENO))
		return 0;
	for (;;) {
		ssize_t n = read(STDIN_FILENO, chunk, sizeof chunk);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			if (errno == EBADF)
				return 0;
			return ferr_set(e, FERR_IO, "reading stdin: %s", strerror(errno));
		}
		if (n == 0)
			return 0;
		if (out->len + (size_t)n > STDIN_MAX)
			return ferr_set(e, FERR_USAGE,
					"exec: stdin is larger than %d KiB; pass a file's path in the prompt instead",
					STDIN_MAX / 1024);
		buf_add(out, chunk, (size_t)n);
	}
}


/* Approval on the terminal (exec --approvals ask, stdin a terminal). */
static enum agent_answer ask_tty(void *ctx, const struct exec_call *call, char **reason)
{
	struct term_style style;

	(void)ctx;
	term_style_detect(&style, stderr);
	fflush(stdout);
	return agentrun_ask_terminal(call, stdin, stderr, &style, reason);
}

struct flusher {
	uv_check_t check;
};

/* What exec needs to report the files changed: a snapshot of the project
 * before the first change (the shadow repository, as /undo uses). */
struct changes {
	const char *root;
	struct shadow *shadow;
	char snap[41];
	bool failed;
};

static void before_change(void *ctx)
{
	struct changes *ch = ctx;
	struct ferr e = FERR_INIT;

	if (ch->shadow || ch->failed)
		return;
	if (shadow_open(ch->root, &ch->shadow, &e) != 0 ||
	    shadow_snapshot(ch->shadow, "before exec", ch->snap, &e) != 0) {
		ch->failed = true;
		ch->snap[0] = '\0';
	}
}

static int write_last(const char *path, const char *text, struct ferr *e)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return ferr_set(e, FERR_IO, "--output-last-message %s: %s", path, strerror(errno));
	fputs(text, f);
	if (*text && text[strlen(text) - 1] != '\n')
		fputc('\n', f);
	if (fclose(f) != 0)
		return ferr_set(e, FERR_IO, "--output-last-message %s: %s", path, strerror(errno));
	return 0;
}

static void on_flush(uv_check_t *h)
{
	(void)h;
	fflush(stdout);
	fflush(stderr);
}

static void summary(const struct event_bus *bus, struct agentrun *r, struct changes *ch,
		    const struct agent_outcome *o, int rc, long long duration_ms)
{
	static const char *const status[] = { "ok", "limit", "cancelled", "denied", "error" };
	struct agent_usage u;
	struct ferr e = FERR_INIT;
	char **paths = NULL;
	size_t n = 0;

	agent_usage(r->agent, &u);
	if (ch->shadow && ch->snap[0] && shadow_changed(ch->shadow, ch->snap, &paths, &n, &e) != 0)
		n = 0;
	struct event ev = { .type = EV_SUMMARY };
	ev.status = status[o->end];
	ev.exit_code = rc;
	ev.prompt_tokens = u.prompt_tokens;
	ev.completion_tokens = u.completion_tokens;
	ev.cached_tokens = u.cached_tokens;
	ev.cost = u.cost;
	ev.requests = u.requests;
	ev.tool_calls = u.tool_calls;
	ev.files = (const char *const *)paths;
	ev.nfiles = n;
	ev.duration_ms = duration_ms;
	ev.id = r->st ? r->session : NULL;
	events_emit(bus, &ev);
	shadow_paths_free(paths, n);
}

int cmd_exec(struct app *app, int argc, char **argv)
{
	const struct cmd *self = cmd_find("exec");
	struct opt_state st;
	struct ferr e = FERR_INIT;
	struct buf prompt = BUF_INIT, input = BUF_INIT, user = BUF_INIT;
	struct event_bus bus;
	struct jsonl_sink js;
	struct term_sink ts;
	struct agentrun r;
	struct agentrun_opts ro;
	struct agent_outcome out;
	struct flusher fl;
	bool context = true, open = false, stdin_tty = isatty(STDIN_FILENO);
	const char *session = NULL, *last_file = NULL;
	struct changes ch;
	int id, rc = EXIT_OK;

	memset(&ch, 0, sizeof ch);

	memset(&r, 0, sizeof r);
	memset(&out, 0, sizeof out);
	opt_init(&st, argc, argv, "exec");
	st.common = app_agent_options;
	while ((id = cmd_next_option(self, app, &st, &rc)) != OPT_END) {
		switch (id) {
		case OPT_ERROR:
			return rc;
		case OPT_NO_CONTEXT:
			context = false;
			break;
		case OPT_SESSION:
			session = st.value;
			break;
		case OPT_OUTPUT_LAST:
			last_file = st.value;
			break;
		case OPT_POSITIONAL:
			if (prompt.len)
				buf_putc(&prompt, ' ');
			buf_puts(&prompt, st.value);
			break;
		}
	}
	events_init(&bus);
	/* the loop flushes once per turn, so a burst of deltas costs one
	 * write, not one each */
	if (app->json) {
		events_add_sink(&bus, jsonl_sink(&js, stdout));
		js.flush_each = false;
	} else {
		events_add_sink(&bus, term_sink(&ts, stdout, stderr, app->color, app->verbosity < 0));
		ts.flush_each = false;
	}

	if (read_stdin(&input, &e) != 0)
		goto fail;
	if (!prompt.len && !input.len) {
		ferr_set(&e, FERR_USAGE, "exec: no prompt; usage: %s", self->usage);
		goto fail;
	}
	bool replaced = false;
	if ((prompt.len && clean_input(&prompt, "the prompt", &replaced, &e) != 0) ||
	    (input.len && clean_input(&input, "stdin", &replaced, &e) != 0))
		goto fail;
	if (replaced && app->verbosity >= 0)
		fprintf(stderr, "forja: warning: bytes that are not UTF-8 were replaced by U+FFFD\n");
	if (prompt.len && input.len)
		buf_printf(&user, "%s\n\n<stdin>\n%s%s</stdin>\n", prompt.data, input.data,
			   input.data[input.len - 1] == '\n' ? "" : "\n");
	else
		buf_add(&user, prompt.len ? prompt.data : input.data, prompt.len ? prompt.len : input.len);

	memset(&ro, 0, sizeof ro);
	ro.kind = "exec";
	ro.session = session;
	ro.interactive = false;
	ro.context = context;
	ro.bus = &bus;
	ro.ask = ask_tty;
	ro.can_ask = stdin_tty;
	ro.before_change = before_change;
	ro.change_ctx = &ch;
	if (agentrun_open(&r, app, &ro, &e) != 0)
		goto fail;
	open = true;
	ch.root = r.root;
	if (app->verbosity > 0 && r.st)
		fprintf(stderr, "forja: session %s%s\n", r.session, r.resumed ? " (continued)" : "");
	uv_check_init(&r.loop, &fl.check);
	uv_check_start(&fl.check, on_flush);
	uv_unref((uv_handle_t *)&fl.check);
	uint64_t t0 = uv_hrtime();
	int trc = agentrun_turn(&r, user.data, &out, &e);
	uv_check_stop(&fl.check);
	uv_close((uv_handle_t *)&fl.check, NULL);
	if (trc != 0)
		goto fail;
	if (out.end != AGENT_END_DONE) {
		if (out.end == AGENT_END_CANCELLED)
			ferr_set(&e, FERR_INTERRUPTED, "interrupted");
		else
			e = out.err;
		rc = agentrun_exit_code(&out);
		struct event ev = { .type = EV_ERROR, .error = &e };
		events_emit(&bus, &ev);
	}
	if (last_file) {
		struct ferr we = FERR_INIT;
		if (write_last(last_file, agent_last_answer(r.agent), &we) != 0) {
			app_print_error(app, &we);
			if (rc == EXIT_OK)
				rc = EXIT_FAILED;
		}
	}
	summary(&bus, &r, &ch, &out, rc, (long long)((uv_hrtime() - t0) / 1000000));
	goto done;
fail:
	{
		struct event ev = { .type = EV_ERROR, .error = &e };
		rc = ferr_exit_code(e.cls);
		events_emit(&bus, &ev);
	}
done:
	{
		struct event ev = { .type = EV_DONE, .exit_code = rc };
		if (open && r.st)
			ev.id = r.session;
		events_emit(&bus, &ev);
	}
	fflush(stdout);
	if (open)
		agentrun_close(&r);
	if (ch.shadow)
		shadow_close(ch.shadow);
	buf_release(&prompt);
	buf_release(&input);
	buf_release(&user);
	return rc;
}

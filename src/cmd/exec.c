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
#include "forja/utf8.h"

#define STDIN_MAX (1024 * 1024)

enum { OPT_NO_CONTEXT = 1 };

const struct opt_spec cmd_exec_options[] = {
	{ "no-context", 0, OPT_FLAG, OPT_NO_CONTEXT, NULL,
	  "do not send the project context (the bootstrap)" },
	{ 0 },
};

static const char system_intro[] =
	"You are forja, a coding agent working in the user's terminal, inside the project "
	"described below. Answer precisely and briefly; when you show code or commands, make "
	"them correct for this project.\n\n";
static const char system_plain[] =
	"You are forja, a coding agent working in the user's terminal. Answer precisely and "
	"briefly.";

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

struct run {
	struct provider_call *call;
	bool done;
	struct ferr err;
	bool failed;
	uv_signal_t sigint, sigterm;
	uv_check_t flush;      /* once per loop turn: what the deltas wrote */
};

static void on_flush(uv_check_t *h)
{
	(void)h;
	fflush(stdout);
	fflush(stderr);
}

static void on_call_done(void *ctx, const struct ferr *err)
{
	struct run *r = ctx;

	r->done = true;
	if (err) {
		r->failed = true;
		r->err = *err;
	}
}

static void on_signal(uv_signal_t *h, int signum)
{
	struct run *r = h->data;

	(void)signum;
	provider_call_cancel(r->call);
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

static void close_cb(uv_handle_t *h)
{
	(void)h;
}

int cmd_exec(struct app *app, int argc, char **argv)
{
	const struct cmd *self = cmd_find("exec");
	struct opt_state st;
	struct ferr e = FERR_INIT;
	struct buf prompt = BUF_INIT, input = BUF_INIT, user = BUF_INIT, system = BUF_INIT;
	struct config cfg;
	struct provider_config pc;
	struct provider_choice choice;
	struct chat_result result;
	struct chat_msg msg;
	struct chat_request req;
	struct event_bus bus;
	struct jsonl_sink js;
	struct term_sink ts;
	struct run r;
	uv_loop_t loop;
	struct http_client *http = NULL;
	bool context = true, loop_open = false, cfg_open = false, pc_open = false;
	int id, rc = EXIT_OK;

	memset(&r, 0, sizeof r);
	memset(&result, 0, sizeof result);
	memset(&pc, 0, sizeof pc);
	opt_init(&st, argc, argv, "exec");
	st.common = app_provider_options;
	while ((id = cmd_next_option(self, app, &st, &rc)) != OPT_END) {
		switch (id) {
		case OPT_ERROR:
			return rc;
		case OPT_NO_CONTEXT:
			context = false;
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

	/* the project context, from the cache when nothing changed */
	buf_puts(&system, context ? system_intro : system_plain);
	struct buf ctx = BUF_INIT;
	bool from_cache = false;
	struct bootstrap_opts bo = { BOOTSTRAP_DEFAULT_BUDGET, true, true, getenv("FORJA_DB") };
	if (bo.db_path && !*bo.db_path)
		bo.db_path = NULL;
	if (context && bootstrap_run(app->cwd, &bo, false, &ctx, &from_cache, &e) == 0)
		buf_add(&system, ctx.data, ctx.len);
	ferr_clear(&e);
	buf_release(&ctx);

	char *project = bootstrap_project_root(app->cwd);
	int crc = config_load(project, &cfg, &e);
	free(project);
	if (crc != 0)
		goto fail;
	cfg_open = true;
	/* stderr is not the JSONL stream: warnings go there with --json too */
	if (app->verbosity >= 0)
		for (size_t i = 0; i < cfg.nwarnings; i++)
			fprintf(stderr, "forja: warning: %s\n", cfg.warnings[i]);
	uv_loop_init(&loop);
	loop_open = true;
	if (http_client_new(&loop, &http, &e) != 0)
		goto fail;
	memset(&choice, 0, sizeof choice);
	choice.provider = app->provider;
	choice.model = app->model;
	choice.base_url = app->base_url;
	if (provider_resolve(&loop, http, &cfg, &choice, &pc, &e) != 0)
		goto fail;
	pc_open = true;
	if (strncmp(pc.origin, "found on", 8) == 0 && app->verbosity >= 0 && !app->json)
		fprintf(stderr, "forja: using %s %s (model %s); configure one to skip this search\n",
			pc.name, pc.origin, pc.model);

	msg.role = "user";
	msg.content = user.data;
	req.system = system.data;
	req.msgs = &msg;
	req.nmsgs = 1;
	uv_signal_init(&loop, &r.sigint);
	uv_signal_init(&loop, &r.sigterm);
	r.sigint.data = r.sigterm.data = &r;
	uv_signal_start(&r.sigint, on_signal, SIGINT);
	uv_signal_start(&r.sigterm, on_signal, SIGTERM);
	uv_check_init(&loop, &r.flush);
	uv_check_start(&r.flush, on_flush);
	uv_unref((uv_handle_t *)&r.flush);
	if (provider_call_start(&loop, http, &pc, &req, &bus, &result, on_call_done, &r, &r.call,
				&e) != 0)
		goto fail;
	while (!r.done)
		uv_run(&loop, UV_RUN_ONCE);
	uv_signal_stop(&r.sigint);
	uv_signal_stop(&r.sigterm);
	if (r.failed) {
		e = r.err;
		goto fail;
	}
	if (strcmp(result.finish, "length") == 0) {
		ferr_set(&e, FERR_FAILED, "the answer was cut at the model's output limit");
		goto fail;
	}
	if (strcmp(result.finish, "content_filter") == 0) {
		ferr_set(&e, FERR_FAILED, "the provider's content filter stopped the answer");
		goto fail;
	}
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
		events_emit(&bus, &ev);
	}
	if (r.call)
		provider_call_free(r.call);
	if (http)
		http_client_free(http);
	if (loop_open) {
		if (r.sigint.loop) {
			uv_close((uv_handle_t *)&r.sigint, close_cb);
			uv_close((uv_handle_t *)&r.sigterm, close_cb);
		}
		if (r.flush.loop)
			uv_close((uv_handle_t *)&r.flush, close_cb);
		uv_run(&loop, UV_RUN_DEFAULT);
		uv_loop_close(&loop);
	}
	if (pc_open)
		provider_config_release(&pc);
	if (cfg_open)
		config_release(&cfg);
	chat_result_release(&result);
	buf_release(&prompt);
	buf_release(&input);
	buf_release(&user);
	buf_release(&system);
	return rc;
}

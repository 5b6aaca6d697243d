/*
 * agentrun.c — the set-up `forja exec` and the interactive session share
 * (see agentrun.h).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agentrun.h"
#include "forja/bootstrap.h"
#include "forja/term.h"
#include "forja/utf8.h"

/* Prices in USD per million tokens (input, output, cached input) and
 * context windows of common hosted models, by name prefix: an estimate,
 * which the config's "models" table overrides. */
static const struct known_model {
	const char *prefix;
	double in, out, cached;
	long window;
} known_models[] = {
	{ "gpt-4o-mini", 0.15, 0.60, 0.075, 128000 },
	{ "gpt-4o", 2.50, 10.00, 1.25, 128000 },
	{ "gpt-4.1-nano", 0.10, 0.40, 0.025, 1047576 },
	{ "gpt-4.1-mini", 0.40, 1.60, 0.10, 1047576 },
	{ "gpt-4.1", 2.00, 8.00, 0.50, 1047576 },
	{ "gpt-5-nano", 0.05, 0.40, 0.005, 400000 },
	{ "gpt-5-mini", 0.25, 2.00, 0.025, 400000 },
	{ "gpt-5", 1.25, 10.00, 0.125, 400000 },
	{ "o4-mini", 1.10, 4.40, 0.275, 200000 },
	{ "o3-mini", 1.10, 4.40, 0.55, 200000 },
	{ "o3", 2.00, 8.00, 0.50, 200000 },
	{ "claude-opus-4", 15.00, 75.00, 1.50, 200000 },
	{ "claude-sonnet-4", 3.00, 15.00, 0.30, 200000 },
	{ "claude-3-7-sonnet", 3.00, 15.00, 0.30, 200000 },
	{ "claude-3-5-sonnet", 3.00, 15.00, 0.30, 200000 },
	{ "claude-3-5-haiku", 0.80, 4.00, 0.08, 200000 },
	{ "claude-haiku-4", 1.00, 5.00, 0.10, 200000 },
};

static bool loopback_url(const char *url)
{
	const char *h = strstr(url ? url : "", "://");

	if (!h)
		return false;
	h += 3;
	return strncmp(h, "127.", 4) == 0 || strncmp(h, "localhost", 9) == 0 ||
	       strncmp(h, "[::1]", 5) == 0;
}

static void model_facts(const struct agentrun *r, struct agent_opts *ao)
{
	const char *model = r->pc.model ? r->pc.model : "";
	const struct config_model *cm = config_find_model(&r->cfg, model);

	ao->input_price = ao->output_price = ao->cached_input_price = -1;
	ao->context_window = 0;
	for (size_t i = 0; i < sizeof known_models / sizeof *known_models; i++) {
		const struct known_model *k = &known_models[i];
		/* the provider may prefix it: "openai/gpt-4o", "anthropic/claude-…" */
		const char *m = strchr(model, '/') ? strrchr(model, '/') + 1 : model;
		if (strncmp(m, k->prefix, strlen(k->prefix)) == 0) {
			ao->input_price = k->in;
			ao->output_price = k->out;
			ao->cached_input_price = k->cached;
			ao->context_window = k->window;
			break;
		}
	}
	if (loopback_url(r->pc.base_url))
		ao->input_price = ao->output_price = ao->cached_input_price = 0;
	if (cm) {
		if (cm->context_window > 0)
			ao->context_window = cm->context_window;
		if (cm->input_price >= 0)
			ao->input_price = cm->input_price;
		if (cm->output_price >= 0)
			ao->output_price = cm->output_price;
		if (cm->cached_input_price >= 0)
			ao->cached_input_price = cm->cached_input_price;
	}
}

static void on_signal(uv_signal_t *h, int signum)
{
	struct agentrun *r = h->data;

	(void)signum;
	r->signals_seen++;
	if (r->agent)
		agent_cancel(r->agent);
}

static void on_turn_done(void *ctx, const struct agent_outcome *o)
{
	struct agentrun *r = ctx;

	r->outcome = *o;
	r->turn_done = true;
}

static void on_tick(uv_timer_t *t)
{
	struct agentrun *r = t->data;

	if (r->on_tick)
		r->on_tick(r->tick_ctx);
}

static int open_session(struct agentrun *r, struct ferr *e)
{
	struct ferr we = FERR_INIT;
	const char *db = getenv("FORJA_DB");

	if (!r->st && store_open(db && *db ? db : NULL, &r->st, &we) != 0) {
		/* a session that cannot be recorded still runs, said so */
		if (r->o.session || r->o.resume_latest)
			return ferr_set(e, we.cls, "%s", we.msg);
		if (r->app->verbosity >= 0)
			fprintf(stderr, "forja: warning: this session will not be recorded: %s\n", we.msg);
		r->st = NULL;
		return 0;
	}
	if (r->o.session) {
		if (store_session_resolve(r->st, r->o.session, r->session, e) != 0)
			return -1;
		r->resumed = true;
	} else if (r->o.resume_latest) {
		bool found = false;
		if (store_session_latest(r->st, r->root, r->session, &found, e) != 0)
			return -1;
		if (!found)
			return ferr_set(e, FERR_USAGE,
					"--continue: no earlier session in %s; start one with 'forja' or 'forja exec'",
					r->root);
		r->resumed = true;
	} else if (store_session_new(r->st, r->o.kind, r->app->cwd, r->session, e) != 0) {
		return -1;
	}
	if (r->resumed) {
		struct store_session_info si;
		memset(&si, 0, sizeof si);
		if (store_session_get(r->st, r->session, &si, e) != 0)
			return -1;
		r->titled = si.title && *si.title;
		store_session_info_release(&si);
	}
	if (store_session_update(r->st, r->session, r->root, NULL, r->pc.name, r->pc.model, e) != 0)
		return -1;
	return 0;
}

static int make_agent(struct agentrun *r, struct ferr *e)
{
	struct agent_opts ao;

	memset(&ao, 0, sizeof ao);
	ao.loop = &r->loop;
	ao.http = r->http;
	ao.pc = &r->pc;
	ao.x = &r->x;
	ao.bus = r->o.bus;
	ao.st = r->st;
	ao.session_id = r->st ? r->session : NULL;
	ao.system = r->system.data;
	ao.tools = r->tools.defs;
	ao.ntools = r->tools.count;
	ao.approvals_auto = r->approvals_auto;
	ao.can_ask = r->o.can_ask;
	ao.ask = r->o.ask;
	ao.ask_ctx = r->o.ask_ctx;
	ao.before_change = r->o.before_change;
	ao.change_ctx = r->o.change_ctx;
	ao.max_turns = r->cfg.max_turns;
	ao.max_tool_calls = r->cfg.max_tool_calls;
	ao.max_session_tokens = r->cfg.max_session_tokens;
	ao.max_session_cost = r->cfg.max_session_cost;
	model_facts(r, &ao);
	return agent_new(&ao, &r->agent, e);
}

int agentrun_open(struct agentrun *r, struct app *app, const struct agentrun_opts *o,
		  struct ferr *e)
{
	struct buf problems = BUF_INIT;
	struct provider_choice choice;

	memset(r, 0, sizeof *r);
	r->app = app;
	r->o = *o;
	r->root = bootstrap_project_root(app->cwd);
	if (!r->root)
		r->root = xstrdup(app->cwd);
	if (config_load(r->root, &r->cfg, e) != 0)
		goto fail;
	r->cfg_open = true;
	if (app->verbosity >= 0)
		for (size_t i = 0; i < r->cfg.nwarnings; i++)
			fprintf(stderr, "forja: warning: %s\n", r->cfg.warnings[i]);
	if (!app->sandbox_given && r->cfg.sandbox) {
		struct ferr ignored = FERR_INIT;
		app_common_option(app, APP_OPT_SANDBOX, r->cfg.sandbox, &ignored);
	}
	/* ask on a terminal, auto for scripts, unless told */
	if (app->approvals != APPROVALS_DEFAULT)
		r->approvals_auto = app->approvals == APPROVALS_AUTO;
	else if (r->cfg.approvals)
		r->approvals_auto = strcmp(r->cfg.approvals, "auto") == 0;
	else
		r->approvals_auto = !(o->interactive && o->can_ask);

	if (contract_set_load(app->cwd, &r->set, &problems, e) < 0)
		goto fail;
	r->set_open = true;
	if (problems.len && app->verbosity >= 0)
		fprintf(stderr, "forja: warning: some contracts were not loaded:\n%s", problems.data);
	if (executor_open(&r->x, r->root, app->sandbox, &r->set, e) != 0)
		goto fail;
	r->x_open = true;
	prompt_tools_for(&r->set, o->read_tools_only, &r->tools);

	if (o->context && r->cfg.context_budget != 0) {
		bool from_cache = false;
		struct ferr be = FERR_INIT;
		struct bootstrap_opts bo = { BOOTSTRAP_DEFAULT_BUDGET, true, true, getenv("FORJA_DB") };
		if (r->cfg.context_budget > 0)
			bo.budget_tokens = (size_t)r->cfg.context_budget;
		if (bo.db_path && !*bo.db_path)
			bo.db_path = NULL;
		if (bootstrap_run(app->cwd, &bo, false, &r->context, &from_cache, &be) != 0)
			buf_reset(&r->context);
	}
	struct prompt_opts po = { app->sandbox, !r->approvals_auto, o->interactive,
				  r->context.len ? r->context.data : NULL, r->root };
	prompt_system(&po, &r->system);

	if (uv_loop_init(&r->loop) != 0) {
		ferr_set(e, FERR_IO, "cannot set up the event loop");
		goto fail;
	}
	r->loop_open = true;
	if (http_client_new(&r->loop, &r->http, e) != 0)
		goto fail;
	memset(&choice, 0, sizeof choice);
	choice.provider = app->provider;
	choice.model = app->model;
	choice.base_url = app->base_url;
	if (o->timeout_cap_ms > 0) {
		/* a hook must not wait past its own deadline, not even to find the model */
		long *t[] = { &r->cfg.timeouts.connect_ms, &r->cfg.timeouts.first_byte_ms,
			      &r->cfg.timeouts.idle_ms, &r->cfg.timeouts.total_ms, &r->cfg.retry_total_ms };
		for (size_t i = 0; i < sizeof t / sizeof *t; i++)
			if (*t[i] <= 0 || *t[i] > o->timeout_cap_ms)
				*t[i] = o->timeout_cap_ms;
	}
	if (provider_resolve(&r->loop, r->http, &r->cfg, &choice, &r->pc, e) != 0)
		goto fail;
	r->pc_open = true;
	if (strncmp(r->pc.origin ? r->pc.origin : "", "found on", 8) == 0 && app->verbosity >= 0 &&
	    !app->json)
		fprintf(stderr, "forja: using %s %s (model %s); configure one to skip this search\n",
			r->pc.name, r->pc.origin, r->pc.model);
	if (open_session(r, e) != 0)
		goto fail;
	if (make_agent(r, e) != 0)
		goto fail;
	uv_signal_init(&r->loop, &r->sigint);
	uv_signal_init(&r->loop, &r->sigterm);
	r->sigint.data = r->sigterm.data = r;
	uv_timer_init(&r->loop, &r->tick);
	r->tick.data = r;
	r->tick_open = true;
	r->signals_on = true;
	buf_release(&problems);
	return 0;
fail:
	buf_release(&problems);
	agentrun_close(r);
	return -1;
}

static void close_cb(uv_handle_t *h)
{
	(void)h;
}

void agentrun_close(struct agentrun *r)
{
	if (r->agent)
		agent_free(r->agent);
	r->agent = NULL;
	if (r->http)
		http_client_free(r->http);
	r->http = NULL;
	if (r->loop_open) {
		if (r->signals_on) {
			uv_close((uv_handle_t *)&r->sigint, close_cb);
			uv_close((uv_handle_t *)&r->sigterm, close_cb);
		}
		if (r->tick_open)
			uv_close((uv_handle_t *)&r->tick, close_cb);
		uv_run(&r->loop, UV_RUN_DEFAULT);
		uv_loop_close(&r->loop);
		r->loop_open = false;
	}
	if (r->pc_open)
		provider_config_release(&r->pc);
	r->pc_open = false;
	prompt_tools_free(&r->tools);
	if (r->x_open)
		executor_close(&r->x);
	r->x_open = false;
	if (r->set_open)
		contract_set_release(&r->set);
	r->set_open = false;
	if (r->cfg_open)
		config_release(&r->cfg);
	r->cfg_open = false;
	store_close(r->st);
	r->st = NULL;
	buf_release(&r->system);
	buf_release(&r->context);
	free(r->root);
	r->root = NULL;
}

static void set_title(struct agentrun *r, const char *text)
{
	struct buf t = BUF_INIT, clean = BUF_INIT;
	struct ferr e = FERR_INIT;

	if (r->titled || !r->st)
		return;
	utf8_sanitize(&clean, text, strlen(text));
	for (size_t i = 0; i < clean.len && t.len < 80; i++) {
		unsigned char c = (unsigned char)clean.data[i];
		if (c < 0x20 || c == 0x7f) {
			if (t.len && t.data[t.len - 1] != ' ')
				buf_putc(&t, ' ');
			continue;
		}
		buf_putc(&t, (char)c);
	}
	/* do not end inside a UTF-8 sequence */
	while (t.len && ((unsigned char)t.data[t.len - 1] & 0xc0) == 0x80) {
		size_t k = t.len;
		while (k && ((unsigned char)t.data[k - 1] & 0xc0) == 0x80)
			k--;
		if (k && utf8_is_valid(t.data + k - 1, t.len - k + 1))
			break;
		buf_truncate(&t, k ? k - 1 : 0);
	}
	if (t.len && store_session_update(r->st, r->session, NULL, t.data, NULL, NULL, &e) == 0)
		r->titled = true;
	buf_release(&t);
	buf_release(&clean);
}

static int run_until_done(struct agentrun *r)
{
	r->signals_seen = 0;
	uv_signal_start(&r->sigint, on_signal, SIGINT);
	uv_signal_start(&r->sigterm, on_signal, SIGTERM);
	if (r->on_tick)
		uv_timer_start(&r->tick, on_tick, 100, 100);
	while (!r->turn_done)
		uv_run(&r->loop, UV_RUN_ONCE);
	uv_timer_stop(&r->tick);
	uv_signal_stop(&r->sigint);
	uv_signal_stop(&r->sigterm);
	return 0;
}

int agentrun_turn(struct agentrun *r, const char *text, struct agent_outcome *out,
		  struct ferr *e)
{
	r->turn_done = false;
	set_title(r, text);
	if (agent_send(r->agent, text, on_turn_done, r, e) != 0)
		return -1;
	run_until_done(r);
	*out = r->outcome;
	return 0;
}

int agentrun_compact(struct agentrun *r, struct agent_outcome *out, struct ferr *e)
{
	r->turn_done = false;
	if (agent_compact(r->agent, on_turn_done, r, e) != 0)
		return -1;
	run_until_done(r);
	*out = r->outcome;
	return 0;
}

int agentrun_exit_code(const struct agent_outcome *o)
{
	switch (o->end) {
	case AGENT_END_DONE:
		return EXIT_OK;
	case AGENT_END_CANCELLED:
		return EXIT_INTERRUPTED;
	case AGENT_END_DENIED:
		return EXIT_DENIED;
	case AGENT_END_LIMIT:
		return EXIT_FAILED;
	case AGENT_END_ERROR:
		return ferr_exit_code(o->err.cls);
	}
	return EXIT_FAILED;
}

int agentrun_set_model(struct agentrun *r, const char *provider, const char *model, struct ferr *e)
{
	struct provider_config pc;
	struct provider_choice choice;

	memset(&pc, 0, sizeof pc);
	memset(&choice, 0, sizeof choice);
	choice.provider = provider ? provider : r->pc.name;
	choice.model = model;
	choice.base_url = provider ? NULL : r->app->base_url;
	if (provider_resolve(&r->loop, r->http, &r->cfg, &choice, &pc, e) != 0)
		return -1;
	provider_config_release(&r->pc);
	r->pc = pc;
	agent_set_provider(r->agent, &r->pc);
	if (r->st) {
		struct ferr we = FERR_INIT;
		store_session_update(r->st, r->session, NULL, NULL, r->pc.name, r->pc.model, &we);
	}
	return 0;
}

static int replace_agent(struct agentrun *r, struct ferr *e)
{
	struct agent *old = r->agent;

	r->agent = NULL;
	if (make_agent(r, e) != 0) {
		r->agent = old;
		return -1;
	}
	agent_free(old);
	return 0;
}

int agentrun_new_session(struct agentrun *r, struct ferr *e)
{
	char old[33];

	memcpy(old, r->session, sizeof old);
	if (r->st) {
		if (store_session_new(r->st, r->o.kind, r->app->cwd, r->session, e) != 0 ||
		    store_session_update(r->st, r->session, r->root, NULL, r->pc.name, r->pc.model, e) != 0) {
			memcpy(r->session, old, sizeof old);
			return -1;
		}
	}
	r->titled = false;
	r->resumed = false;
	return replace_agent(r, e);
}

int agentrun_switch_session(struct agentrun *r, const char *id, struct ferr *e)
{
	char old[33], full[33];

	if (!r->st)
		return ferr_set(e, FERR_FAILED, "this session is not recorded: there is nothing to resume");
	if (store_session_resolve(r->st, id, full, e) != 0)
		return -1;
	memcpy(old, r->session, sizeof old);
	memcpy(r->session, full, sizeof full);
	if (replace_agent(r, e) != 0) {
		memcpy(r->session, old, sizeof old);
		return -1;
	}
	r->resumed = true;
	r->titled = true;
	return 0;
}

static void rebuild_prompt(struct agentrun *r)
{
	struct prompt_opts po = { r->app->sandbox, !r->approvals_auto, r->o.interactive,
				  r->context.len ? r->context.data : NULL, r->root };

	buf_reset(&r->system);
	prompt_system(&po, &r->system);
	agent_set_system(r->agent, r->system.data);
}

void agentrun_set_sandbox(struct agentrun *r, enum sandbox_mode mode)
{
	static const char *const names[] = { "workspace-write", "read-only", "danger-full-access" };

	r->app->sandbox = mode;
	r->app->sandbox_name = names[mode];
	r->x.mode = mode;
	rebuild_prompt(r);
}

void agentrun_set_approvals(struct agentrun *r, bool approvals_auto)
{
	r->approvals_auto = approvals_auto;
	agent_set_approvals(r->agent, approvals_auto);
	rebuild_prompt(r);
}

enum agent_answer agentrun_ask_terminal(const struct exec_call *call, FILE *in, FILE *out,
					const struct term_style *style, char **reason)
{
	struct term_ask_request req;
	bool shell = call->argc == 3 && strcmp(call->argv[0], "sh") == 0 &&
		     strcmp(call->argv[1], "-c") == 0;

	memset(&req, 0, sizeof req);
	req.tool = call->c->name;
	req.why = call->spawns ? "it runs a command" : call->writes ? "it changes files"
								  : "its contract asks every time";
	if (call->jailed) {
		if (shell)
			req.shell = call->argv[2];
		else
			req.argv = (const char *const *)call->argv;
	} else if (call->writes) {
		req.diff = call->preview;
	} else {
		req.summary = call->summary;
	}
	switch (term_ask(&req, in, out, style, reason)) {
	case TERM_ANSWER_YES:
		return AGENT_YES;
	case TERM_ANSWER_ALWAYS:
		return AGENT_ALWAYS;
	case TERM_ANSWER_NO:
		break;
	}
	return AGENT_NO;
}

/*
 * agent.c — the turn loop (see agent.h).
 *
 * A turn is a chain of callbacks on the loop:
 *   agent_send ─► request() ─► provider stream … on_response()
 *     no calls ─► finish(DONE)
 *     calls    ─► decide each (ask the person when needed) ─► run_batch()
 *                 file tools at once; commands on the thread pool, their
 *                 output forwarded through a uv_async_t ─► on_call_done()
 *                 ─► next batch … all done ─► results into the history
 *                 ─► request() again
 * Before each request the limits are checked and, near the context
 * window, the history is compacted (compact_start() ─► on_summary()).
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "forja/agent.h"
#include "forja/prompt.h"
#include "forja/utf8.h"

struct hmsg {
	char *role;            /* user, assistant, tool, summary */
	char *content, *reasoning, *signature;
	struct chat_tool_use *calls;   /* strings owned */
	size_t ncalls;
	char *tool_call_id, *tool_name;
	bool is_error;
	long long seq;         /* its number in the store, 0 when not stored */
	long long keep_from;   /* summary: the first stored message it does not replace */
};

struct chunk {
	struct chunk *next;
	size_t call;
	int stream;
	size_t len;
	char data[];
};

struct pcall {
	struct agent *a;
	size_t index;
	char *id, *name, *args;
	struct exec_call call;
	bool valid;
	const char *decision;      /* none, auto, user, session, denied */
	char *deny_reason;
	bool run;                  /* to be run (not denied, not invalid) */
	bool started, finished;
	struct tool_result r;
	struct exec_outcome o;
	struct ferr err;
	int werr;                  /* the worker's return */
	const char *status;
	uv_work_t work;
	char carry[2][4];          /* an unfinished UTF-8 sequence per stream */
	size_t ncarry[2];
};

struct agent {
	struct agent_opts o;
	char *system;
	char session_id[33];
	struct hmsg *hist;
	size_t nhist, cap;
	char **always;             /* tools approved for the session */
	size_t nalways;

	bool busy, cancelled, compacting_only, changed;
	int turn;
	long turn_requests, turn_calls;
	bool batch_denied;
	void (*done)(void *, const struct agent_outcome *);
	void *done_ctx;
	struct provider_call *pcall_h;
	struct chat_result result;
	struct chat_msg *req_msgs;
	struct chat_request req;
	bool summary_call;
	size_t keep_from;

	struct pcall *calls;
	size_t ncalls, next, running;

	int cancel_pipe[2];
	uv_async_t async;
	bool async_open;
	pthread_mutex_t mu;
	struct chunk *q_head, *q_tail;

	long long prompt_tokens, completion_tokens, cached_tokens;
	double cost;
	bool cost_unknown;
	long long requests;
	long long total_calls;
	long long last_prompt_tokens;  /* the last request's, to estimate the next */
	size_t bytes_since;            /* history bytes added since it */
	long long turn_first_audit;
	long long turn_prompt, turn_completion;
	double turn_cost;
	uint64_t turn_start_ms;
	struct chat_msg summary_msg;   /* the compaction request */
	char *summary_text;
	struct event_bus quiet;        /* the summary streams to no one */
};

static void request(struct agent *a);
static void finish(struct agent *a, enum agent_end end, const struct ferr *err);
static void on_summary(struct agent *a, const struct ferr *err);

/* ---- history ------------------------------------------------------------ */

static char *dup_or_null(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

static void hmsg_release(struct hmsg *m)
{
	free(m->role);
	free(m->content);
	free(m->reasoning);
	free(m->signature);
	for (size_t i = 0; i < m->ncalls; i++) {
		free((char *)m->calls[i].id);
		free((char *)m->calls[i].name);
		free((char *)m->calls[i].arguments);
	}
	free(m->calls);
	free(m->tool_call_id);
	free(m->tool_name);
	memset(m, 0, sizeof *m);
}

static size_t hmsg_bytes(const struct hmsg *m)
{
	size_t n = 16;

	n += m->content ? strlen(m->content) : 0;
	n += m->reasoning ? strlen(m->reasoning) : 0;
	for (size_t i = 0; i < m->ncalls; i++)
		n += strlen(m->calls[i].name) + strlen(m->calls[i].arguments) + 16;
	return n;
}

static struct hmsg *hist_push(struct agent *a, const char *role)
{
	if (a->nhist == a->cap) {
		a->cap = a->cap ? a->cap * 2 : 32;
		a->hist = xrealloc(a->hist, a->cap * sizeof *a->hist);
	}
	struct hmsg *m = &a->hist[a->nhist++];
	memset(m, 0, sizeof *m);
	m->role = xstrdup(role);
	return m;
}

static void chat_of(const struct hmsg *m, struct chat_msg *c)
{
	memset(c, 0, sizeof *c);
	c->role = strcmp(m->role, "summary") == 0 ? "user" : m->role;
	c->content = m->content;
	c->reasoning = m->reasoning;
	c->signature = m->signature;
	c->calls = m->calls;
	c->ncalls = m->ncalls;
	c->tool_call_id = m->tool_call_id;
	c->tool_name = m->tool_name;
	c->is_error = m->is_error;
}

char *agent_body_json(const struct chat_msg *m)
{
	cJSON *o = cJSON_CreateObject();
	char *text;

	if (m->content)
		cJSON_AddStringToObject(o, "content", m->content);
	if (m->reasoning && *m->reasoning)
		cJSON_AddStringToObject(o, "reasoning", m->reasoning);
	if (m->signature && *m->signature)
		cJSON_AddStringToObject(o, "signature", m->signature);
	if (m->ncalls) {
		cJSON *arr = cJSON_AddArrayToObject(o, "calls");
		for (size_t i = 0; i < m->ncalls; i++) {
			cJSON *c = cJSON_CreateObject();
			cJSON_AddStringToObject(c, "id", m->calls[i].id);
			cJSON_AddStringToObject(c, "name", m->calls[i].name);
			cJSON_AddStringToObject(c, "arguments", m->calls[i].arguments);
			cJSON_AddItemToArray(arr, c);
		}
	}
	if (m->tool_call_id)
		cJSON_AddStringToObject(o, "tool_call_id", m->tool_call_id);
	if (m->tool_name)
		cJSON_AddStringToObject(o, "tool_name", m->tool_name);
	if (m->is_error)
		cJSON_AddBoolToObject(o, "is_error", 1);
	text = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return text ? text : xstrdup("{}");
}

static const char *jstr(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* A stored message back into the history; false when the body is not ours. */
static bool hmsg_from_store(struct agent *a, const char *role, const char *body, long long seq)
{
	cJSON *o = cJSON_Parse(body);
	const cJSON *calls, *c;

	if (!cJSON_IsObject(o)) {
		cJSON_Delete(o);
		return false;
	}
	struct hmsg *m = hist_push(a, role);
	m->content = dup_or_null(jstr(o, "content"));
	m->reasoning = dup_or_null(jstr(o, "reasoning"));
	m->signature = dup_or_null(jstr(o, "signature"));
	m->tool_call_id = dup_or_null(jstr(o, "tool_call_id"));
	m->tool_name = dup_or_null(jstr(o, "tool_name"));
	m->is_error = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "is_error"));
	m->seq = seq;
	const cJSON *kf = cJSON_GetObjectItemCaseSensitive(o, "keep_from");
	if (cJSON_IsNumber(kf) && kf->valuedouble >= 1)
		m->keep_from = (long long)kf->valuedouble;
	calls = cJSON_GetObjectItemCaseSensitive(o, "calls");
	if (cJSON_IsArray(calls) && cJSON_GetArraySize(calls) > 0) {
		m->calls = xcalloc((size_t)cJSON_GetArraySize(calls), sizeof *m->calls);
		cJSON_ArrayForEach(c, calls) {
			const char *id = jstr(c, "id"), *name = jstr(c, "name"), *args = jstr(c, "arguments");
			if (!id || !name)
				continue;
			m->calls[m->ncalls].id = xstrdup(id);
			m->calls[m->ncalls].name = xstrdup(name);
			m->calls[m->ncalls].arguments = xstrdup(args ? args : "{}");
			m->ncalls++;
		}
	}
	cJSON_Delete(o);
	return true;
}

static void warn_store(struct agent *a, const struct ferr *e)
{
	struct buf b = BUF_INIT;

	buf_printf(&b, "the session store failed: %s (the conversation goes on unrecorded)", e->msg);
	struct event ev = { .type = EV_NOTICE, .text = b.data, .len = b.len };
	events_emit(a->o.bus, &ev);
	buf_release(&b);
	a->o.st = NULL;
}

/* Commit one message of the history; *seq gets its number. */
static void save_msg(struct agent *a, const struct hmsg *m, long long *seq)
{
	struct chat_msg c;
	struct ferr e = FERR_INIT;

	if (seq)
		*seq = 0;
	if (!a->o.st)
		return;
	chat_of(m, &c);
	char *body = agent_body_json(&c);
	if (m->keep_from > 0) {
		/* a summary says which stored messages it does not replace */
		cJSON *o = cJSON_Parse(body);
		cJSON_AddNumberToObject(o, "keep_from", (double)m->keep_from);
		free(body);
		body = cJSON_PrintUnformatted(o);
		cJSON_Delete(o);
	}
	long long got = 0;
	if (store_message_add(a->o.st, a->session_id, m->role, body, &got, &e) != 0)
		warn_store(a, &e);
	((struct hmsg *)m)->seq = got;
	if (seq)
		*seq = got;
	free(body);
}

/* Every call an assistant message made has a result after it: the
 * providers refuse a history where one is missing (forja was killed while
 * the call ran). */
static void repair_history(struct agent *a)
{
	for (size_t i = 0; i < a->nhist; i++) {
		struct hmsg *m = &a->hist[i];
		if (strcmp(m->role, "assistant") != 0 || !m->ncalls)
			continue;
		size_t j = i + 1;
		for (size_t k = 0; k < m->ncalls; k++) {
			bool found = false;
			for (size_t t = i + 1; t < a->nhist; t++)
				if (strcmp(a->hist[t].role, "tool") == 0 && a->hist[t].tool_call_id && strcmp(a->hist[t].tool_call_id, m->calls[k].id) == 0)
					found = true;
			if (found)
				continue;
			/* insert after the tool messages that follow */
			while (j < a->nhist && strcmp(a->hist[j].role, "tool") == 0)
				j++;
			hist_push(a, "tool");
			m = &a->hist[i];   /* hist may have moved */
			struct hmsg fix = a->hist[a->nhist - 1];
			memmove(&a->hist[j + 1], &a->hist[j], (a->nhist - 1 - j) * sizeof *a->hist);
			fix.tool_call_id = xstrdup(m->calls[k].id);
			fix.tool_name = xstrdup(m->calls[k].name);
			fix.content = xstrdup("no result: forja stopped before this call finished; nothing "
					      "is known of what it did");
			fix.is_error = true;
			a->hist[j] = fix;
			j++;
		}
	}
}

static int load_history(struct agent *a, struct ferr *e)
{
	struct store_message *v = NULL;
	size_t n = 0;

	if (!a->o.st)
		return 0;
	if (store_message_list(a->o.st, a->session_id, false, &v, &n, e) != 0)
		return -1;
	/* the last summary replaces what came before it, except the messages
	 * from its keep_from on (the prompt it was made for, and what followed) */
	size_t last = n;
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i].role, "summary") == 0)
			last = i;
	if (last == n) {
		for (size_t i = 0; i < n; i++)
			hmsg_from_store(a, v[i].role, v[i].body, v[i].seq);
	} else {
		hmsg_from_store(a, v[last].role, v[last].body, v[last].seq);
		long long keep_from = a->nhist ? a->hist[a->nhist - 1].keep_from : 0;
		for (size_t i = 0; keep_from > 0 && i < last; i++)
			if (v[i].seq >= keep_from && strcmp(v[i].role, "summary") != 0)
				hmsg_from_store(a, v[i].role, v[i].body, v[i].seq);
		for (size_t i = last + 1; i < n; i++)
			hmsg_from_store(a, v[i].role, v[i].body, v[i].seq);
	}
	store_messages_free(v, n);
	size_t before = a->nhist;
	repair_history(a);
	/* the repaired results are part of the session from now on */
	for (size_t i = 0; a->nhist != before && i < a->nhist; i++)
		if (strcmp(a->hist[i].role, "tool") == 0 && a->hist[i].is_error && a->hist[i].content &&
		    strncmp(a->hist[i].content, "no result: forja stopped", 24) == 0)
			save_msg(a, &a->hist[i], NULL);
	for (size_t i = 0; i < a->nhist; i++)
		a->bytes_since += hmsg_bytes(&a->hist[i]);
	return 0;
}

/* ---- setup ---------------------------------------------------------------- */

static void on_async(uv_async_t *h);

int agent_new(const struct agent_opts *o, struct agent **out, struct ferr *e)
{
	struct agent *a = xcalloc(1, sizeof *a);

	a->o = *o;
	a->system = xstrdup(o->system ? o->system : "");
	if (o->session_id)
		snprintf(a->session_id, sizeof a->session_id, "%s", o->session_id);
	a->cancel_pipe[0] = a->cancel_pipe[1] = -1;
	events_init(&a->quiet);
	pthread_mutex_init(&a->mu, NULL);
	if (uv_async_init(o->loop, &a->async, on_async) != 0) {
		pthread_mutex_destroy(&a->mu);
		free(a->system);
		free(a);
		return ferr_set(e, FERR_IO, "agent: cannot set up the loop");
	}
	a->async.data = a;
	a->async_open = true;
	uv_unref((uv_handle_t *)&a->async);
	if (load_history(a, e) != 0) {
		agent_free(a);
		return -1;
	}
	*out = a;
	return 0;
}

static void free_calls(struct agent *a)
{
	for (size_t i = 0; i < a->ncalls; i++) {
		struct pcall *p = &a->calls[i];
		free(p->id);
		free(p->name);
		free(p->args);
		free(p->deny_reason);
		exec_call_release(&p->call);
		tool_result_release(&p->r);
		exec_outcome_release(&p->o);
	}
	free(a->calls);
	a->calls = NULL;
	a->ncalls = a->next = a->running = 0;
}

static void async_closed(uv_handle_t *h)
{
	struct agent *a = h->data;

	pthread_mutex_destroy(&a->mu);
	free(a);
}

void agent_free(struct agent *a)
{
	if (!a)
		return;
	if (a->pcall_h)
		provider_call_free(a->pcall_h);
	chat_result_release(&a->result);
	free(a->req_msgs);
	free_calls(a);
	for (size_t i = 0; i < a->nhist; i++)
		hmsg_release(&a->hist[i]);
	free(a->hist);
	for (size_t i = 0; i < a->nalways; i++)
		free(a->always[i]);
	free(a->always);
	free(a->system);
	free(a->summary_text);
	for (struct chunk *c = a->q_head, *n; c; c = n) {
		n = c->next;
		free(c);
	}
	if (a->cancel_pipe[0] >= 0)
		close(a->cancel_pipe[0]);
	if (a->cancel_pipe[1] >= 0)
		close(a->cancel_pipe[1]);
	if (a->async_open)
		uv_close((uv_handle_t *)&a->async, async_closed);
	else
		async_closed((uv_handle_t *)&a->async);
}

void agent_set_provider(struct agent *a, const struct provider_config *pc)
{
	a->o.pc = pc;
}

void agent_set_system(struct agent *a, const char *system)
{
	free(a->system);
	a->system = xstrdup(system ? system : "");
}

void agent_set_approvals(struct agent *a, bool approvals_auto)
{
	a->o.approvals_auto = approvals_auto;
}

bool agent_busy(const struct agent *a)
{
	return a->busy;
}

size_t agent_history_len(const struct agent *a)
{
	return a->nhist;
}

long long agent_last_turn_audit(const struct agent *a)
{
	return a->turn_first_audit;
}

void agent_usage(const struct agent *a, struct agent_usage *u)
{
	u->prompt_tokens = a->prompt_tokens;
	u->completion_tokens = a->completion_tokens;
	u->cached_tokens = a->cached_tokens;
	u->cost = a->cost_unknown ? -1 : a->cost;
	u->turns = a->turn;
	u->requests = a->requests;
	u->tool_calls = a->total_calls;
}

const char *agent_last_answer(const struct agent *a)
{
	for (size_t i = a->nhist; i-- > 0;)
		if (strcmp(a->hist[i].role, "assistant") == 0)
			return a->hist[i].content ? a->hist[i].content : "";
	return "";
}

void agent_clear(struct agent *a)
{
	for (size_t i = 0; i < a->nhist; i++)
		hmsg_release(&a->hist[i]);
	a->nhist = 0;
	a->last_prompt_tokens = 0;
	a->bytes_since = 0;
}

double agent_cost(const struct agent *a, long long prompt, long long completion, long long cached)
{
	if (a->o.input_price < 0 || a->o.output_price < 0)
		return -1;
	double cp = a->o.cached_input_price >= 0 ? a->o.cached_input_price : a->o.input_price;
	if (cached < 0)
		cached = 0;
	if (cached > prompt)
		cached = prompt;
	return ((double)(prompt - cached) * a->o.input_price + (double)cached * cp +
		(double)completion * a->o.output_price) / 1e6;
}

/* ---- the end of a turn ------------------------------------------------------ */

static void finish(struct agent *a, enum agent_end end, const struct ferr *err)
{
	struct agent_outcome out;

	memset(&out, 0, sizeof out);
	out.end = end;
	out.turn = a->turn;
	if (err)
		out.err = *err;
	if (a->cancel_pipe[0] >= 0) {
		close(a->cancel_pipe[0]);
		close(a->cancel_pipe[1]);
		a->cancel_pipe[0] = a->cancel_pipe[1] = -1;
	}
	free_calls(a);
	a->busy = false;
	if (!a->compacting_only) {
		struct event ev = { .type = EV_TURN_END };
		ev.turn = a->turn;
		ev.prompt_tokens = a->turn_prompt;
		ev.completion_tokens = a->turn_completion;
		ev.cached_tokens = -1;
		ev.reasoning_tokens = -1;
		ev.session_prompt_tokens = a->prompt_tokens;
		ev.session_completion_tokens = a->completion_tokens;
		ev.cost = a->cost_unknown ? -1 : a->turn_cost;
		ev.session_cost = a->cost_unknown ? -1 : a->cost;
		ev.duration_ms = (long long)(uv_now(a->o.loop) - a->turn_start_ms);
		ev.model = a->o.pc ? a->o.pc->model : NULL;
		ev.provider = a->o.pc ? a->o.pc->name : NULL;
		events_emit(a->o.bus, &ev);
	}
	a->compacting_only = false;
	if (a->done)
		a->done(a->done_ctx, &out);
}

static void notice(struct agent *a, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void notice(struct agent *a, const char *fmt, ...)
{
	struct buf b = BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	buf_vprintf(&b, fmt, ap);
	va_end(ap);
	struct event ev = { .type = EV_NOTICE, .text = b.data, .len = b.len };
	events_emit(a->o.bus, &ev);
	buf_release(&b);
}

/* ---- tool calls ----------------------------------------------------------- */

static bool is_always(const struct agent *a, const char *name)
{
	for (size_t i = 0; i < a->nalways; i++)
		if (strcmp(a->always[i], name) == 0)
			return true;
	return false;
}

/* text (len bytes) kept to about max bytes: its head and tail, cut at
 * UTF-8 boundaries, around a line that says how much is missing and why
 * (why: a printf format taking that count).  out gets the result. */
static void cut_middle(struct buf *out, const char *text, size_t len, size_t max, const char *why)
{
	size_t head = max / 2, from = len - max / 2;

	while (head > 0 && ((unsigned char)text[head] & 0xc0) == 0x80)
		head--;
	while (from < len && ((unsigned char)text[from] & 0xc0) == 0x80)
		from++;
	buf_add(out, text, head);
	buf_puts(out, "\n[… ");
	buf_printf(out, why, from - head);
	buf_puts(out, " …]\n");
	buf_add(out, text + from, len - from);
}

static void cut_result(struct buf *text)
{
	struct buf out = BUF_INIT;

	if (text->len <= AGENT_RESULT_MAX)
		return;
	cut_middle(&out, text->data, text->len, AGENT_RESULT_MAX,
		   "%zu bytes of this result cut; ask for a narrower range or filter the output");
	buf_release(text);
	*text = out;
}

/* A call is over: the event, the audit, the result in the store. */
static void call_finished(struct agent *a, struct pcall *p)
{
	struct ferr e = FERR_INIT;
	long long audit_id = 0;
	struct buf text = BUF_INIT;

	p->finished = true;
	if (p->o.cancelled && !p->run) {
		p->status = "cancelled";
	} else if (!p->run) {
		p->status = "denied";
		if (!p->valid)
			p->status = "failed";
	} else if (p->werr) {
		p->status = "failed";
		buf_printf(&p->r.output, "internal error: %s", p->err.msg);
	} else if (p->o.cancelled) {
		p->status = "cancelled";
	} else if (p->o.timed_out) {
		p->status = "timeout";
	} else {
		p->status = p->r.status == TOOL_OK ? "ok" : p->r.status == TOOL_DENIED ? "denied" : "failed";
	}
	if (p->r.status == TOOL_DENIED && p->run)
		a->batch_denied = true;
	buf_add(&text, buf_cstr(&p->r.output), p->r.output.len);
	if (!utf8_is_valid(buf_cstr(&text), text.len)) {
		struct buf clean = BUF_INIT;
		utf8_sanitize(&clean, buf_cstr(&text), text.len);
		buf_release(&text);
		text = clean;
	}
	cut_result(&text);
	if (!text.len)
		buf_puts(&text, strcmp(p->status, "ok") == 0 ? "(done, no output)" : p->status);

	/* writes and commands are in the audit, with what they changed */
	if (a->o.st && p->run && (p->call.writes || p->call.spawns)) {
		struct store_change *ch = xcalloc(p->r.nchanges + 1, sizeof *ch);
		for (size_t i = 0; i < p->r.nchanges; i++) {
			ch[i].path = p->r.changes[i].path;
			ch[i].existed = p->r.changes[i].existed;
			ch[i].mode = p->r.changes[i].mode_before;
			ch[i].before = p->r.changes[i].before.data;
			ch[i].before_len = p->r.changes[i].before.len;
		}
		struct store_audit au = {
			a->session_id, p->name, p->args, a->o.x->mode == SANDBOX_READ_ONLY ? "read-only"
				: a->o.x->mode == SANDBOX_DANGER_FULL_ACCESS ? "danger-full-access" : "workspace-write",
			p->decision, (int)p->r.status, p->r.output.len, (unsigned long long)p->o.duration_ms,
			ch, p->r.nchanges,
		};
		if (store_audit_add(a->o.st, &au, &audit_id, &e) != 0)
			warn_store(a, &e);
		else if (!a->turn_first_audit)
			a->turn_first_audit = audit_id;
		free(ch);
	}
	struct hmsg *m = hist_push(a, "tool");
	m->tool_call_id = xstrdup(p->id);
	m->tool_name = xstrdup(p->name);
	m->content = buf_steal(&text);
	m->is_error = strcmp(p->status, "ok") != 0;
	a->bytes_since += hmsg_bytes(m);
	save_msg(a, m, NULL);
	if (a->o.st && store_toolcall_finish(a->o.st, a->session_id, p->id, p->status, p->o.exit_code,
					     p->o.duration_ms, m->content, audit_id, &e) != 0)
		warn_store(a, &e);

	struct event ev = { .type = EV_TOOL_END };
	ev.id = p->id;
	ev.name = p->name;
	ev.status = p->status;
	ev.exit_code = p->o.exit_code;
	ev.duration_ms = p->o.duration_ms;
	ev.text = m->content;
	ev.len = strlen(m->content);
	ev.diff = p->o.diff;
	ev.reason = p->deny_reason;
	events_emit(a->o.bus, &ev);
	buf_release(&text);
}

static void emit_output(struct agent *a, struct pcall *p, int stream, const char *data, size_t len)
{
	struct buf b = BUF_INIT;
	int s = stream == 2 ? 1 : 0;

	/* hold back a UTF-8 sequence cut between two chunks */
	buf_add(&b, p->carry[s], p->ncarry[s]);
	buf_add(&b, data, len);
	p->ncarry[s] = 0;
	size_t end = b.len, k = 0;
	while (k < 3 && end > 0 && ((unsigned char)b.data[end - 1] & 0xc0) == 0x80)
		end--, k++;
	if (end > 0 && ((unsigned char)b.data[end - 1] & 0xc0) == 0xc0) {
		unsigned char lead = (unsigned char)b.data[end - 1];
		size_t need = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : 2;
		if (b.len - (end - 1) < need) {
			p->ncarry[s] = b.len - (end - 1);
			memcpy(p->carry[s], b.data + end - 1, p->ncarry[s]);
			buf_truncate(&b, end - 1);
		}
	}
	if (b.len) {
		struct buf clean = BUF_INIT;
		utf8_sanitize(&clean, b.data, b.len);
		struct event ev = { .type = EV_TOOL_OUTPUT, .id = p->id, .name = p->name, .stream = stream,
				    .text = clean.data, .len = clean.len };
		events_emit(a->o.bus, &ev);
		buf_release(&clean);
	}
	buf_release(&b);
}

static void on_async(uv_async_t *h)
{
	struct agent *a = h->data;
	struct chunk *list;

	pthread_mutex_lock(&a->mu);
	list = a->q_head;
	a->q_head = a->q_tail = NULL;
	pthread_mutex_unlock(&a->mu);
	for (struct chunk *c = list, *n; c; c = n) {
		n = c->next;
		if (c->call < a->ncalls)
			emit_output(a, &a->calls[c->call], c->stream, c->data, c->len);
		free(c);
	}
}

struct out_ctx {
	struct agent *a;
	size_t call;
};

/* On a worker thread: queue the chunk for the loop. */
static void on_output(void *ctx, int stream, const char *data, size_t len)
{
	struct pcall *p = ctx;
	struct agent *a = p->a;
	struct chunk *c = malloc(sizeof *c + len);

	if (!c)
		return;
	c->next = NULL;
	c->call = p->index;
	c->stream = stream;
	c->len = len;
	memcpy(c->data, data, len);
	pthread_mutex_lock(&a->mu);
	if (a->q_tail)
		a->q_tail->next = c;
	else
		a->q_head = c;
	a->q_tail = c;
	pthread_mutex_unlock(&a->mu);
	uv_async_send(&a->async);
}

static void work_run(uv_work_t *w)
{
	struct pcall *p = w->data;

	p->werr = executor_run(p->a->o.x, &p->call, on_output, p, p->a->cancel_pipe[0], &p->r, &p->o,
			       &p->err);
}

static void run_batch(struct agent *a);

static void work_done(uv_work_t *w, int status)
{
	struct pcall *p = w->data;
	struct agent *a = p->a;

	(void)status;
	on_async(&a->async);     /* output still queued comes first */
	for (int s = 0; s < 2; s++)
		if (p->ncarry[s]) {
			struct buf clean = BUF_INIT;
			utf8_sanitize(&clean, p->carry[s], p->ncarry[s]);
			struct event ev = { .type = EV_TOOL_OUTPUT, .id = p->id, .name = p->name,
					    .stream = s ? 2 : 1, .text = clean.data, .len = clean.len };
			events_emit(a->o.bus, &ev);
			buf_release(&clean);
			p->ncarry[s] = 0;
		}
	a->running--;
	if (a->running == 0)
		run_batch(a);
}

static void start_call(struct agent *a, struct pcall *p)
{
	struct event ev = { .type = EV_TOOL_START, .id = p->id, .name = p->name,
			    .summary = p->call.summary, .arguments = p->args };

	p->started = true;
	events_emit(a->o.bus, &ev);
	if (!p->run)
		return;
	if (a->cancelled) {
		p->run = false;
		p->o.cancelled = true;
		buf_puts(&p->r.output, "not run: the user cancelled the turn");
		return;
	}
	if ((p->call.writes || p->call.spawns) && !a->changed) {
		a->changed = true;
		if (a->o.before_change)
			a->o.before_change(a->o.change_ctx);
	}
	if (p->call.jailed) {
		executor_probe(a->o.x);
		p->work.data = p;
		if (uv_queue_work(a->o.loop, &p->work, work_run, work_done) == 0) {
			a->running++;
			return;
		}
		p->werr = -1;
		ferr_set(&p->err, FERR_IO, "cannot start a worker thread");
		return;
	}
	p->werr = executor_run(a->o.x, &p->call, NULL, NULL, -1, &p->r, &p->o, &p->err);
}

/* Results go to the history in the order of the calls. */
static void after_calls(struct agent *a)
{
	for (size_t i = 0; i < a->ncalls; i++)
		if (!a->calls[i].finished)
			call_finished(a, &a->calls[i]);
	bool denied = a->batch_denied;
	size_t n = a->ncalls;
	free_calls(a);
	if (a->cancelled) {
		struct ferr e = FERR_INIT;
		ferr_set(&e, FERR_INTERRUPTED, "cancelled");
		finish(a, AGENT_END_CANCELLED, &e);
		return;
	}
	if (a->o.max_tool_calls > 0 && a->turn_calls >= a->o.max_tool_calls) {
		struct ferr e = FERR_INIT;
		ferr_set(&e, FERR_FAILED,
			 "stopped: this prompt reached the limit of %ld tool calls (limits.max_tool_calls)",
			 a->o.max_tool_calls);
		notice(a, "%s", e.msg);
		finish(a, AGENT_END_LIMIT, &e);
		return;
	}
	(void)n;
	a->batch_denied = denied;
	request(a);
}

/* Run the next batch: consecutive calls none of which writes run together
 * (commands on worker threads); a call that writes runs alone. */
static void run_batch(struct agent *a)
{
	for (;;) {
		/* the batch that just ran: its results, in order */
		for (size_t i = 0; i < a->next; i++)
			if (a->calls[i].started && !a->calls[i].finished)
				call_finished(a, &a->calls[i]);
		if (a->next >= a->ncalls)
			break;
		size_t start = a->next, end = start + 1;
		if (!a->calls[start].call.writes)
			while (end < a->ncalls && !a->calls[end].call.writes)
				end++;
		a->next = end;
		for (size_t i = start; i < end; i++)
			start_call(a, &a->calls[i]);
		if (a->running > 0)
			return;             /* work_done() comes back here */
	}
	after_calls(a);
}

static void decide(struct agent *a, struct pcall *p)
{
	struct ferr e = FERR_INIT;
	char *reason = NULL;

	if (!p->valid) {
		p->decision = "none";
		return;
	}
	switch (executor_decide(&p->call)) {
	case EXEC_DENY:
		p->decision = "denied";
		p->deny_reason = xstrdup(p->call.forbidden);
		break;
	case EXEC_RUN:
		p->decision = "none";
		p->run = true;
		break;
	case EXEC_ASK:
		if (is_always(a, p->name)) {
			p->decision = "session";
			p->run = true;
		} else if (a->o.approvals_auto) {
			p->decision = "auto";
			p->run = true;
		} else if (a->o.can_ask && a->o.ask && !a->cancelled) {
			enum agent_answer ans = a->o.ask(a->o.ask_ctx, &p->call, &reason);
			if (ans == AGENT_ALWAYS) {
				a->always = xrealloc(a->always, (a->nalways + 1) * sizeof *a->always);
				a->always[a->nalways++] = xstrdup(p->name);
				p->decision = "session";
				p->run = true;
			} else if (ans == AGENT_YES) {
				p->decision = "user";
				p->run = true;
			} else {
				struct buf b = BUF_INIT;
				p->decision = "denied";
				buf_puts(&b, "the user refused this call");
				if (reason && *reason)
					buf_printf(&b, ": %s", reason);
				p->deny_reason = buf_steal(&b);
				buf_release(&b);
			}
		} else {
			p->decision = "denied";
			p->deny_reason = xstrdup(
				a->cancelled ? "the user cancelled the turn"
				: "this call needs approval and nobody can give it in this run (no terminal, "
				  "approvals ask); run forja with --approvals auto to allow such calls");
		}
		break;
	}
	free(reason);
	if (!p->run) {
		buf_printf(&p->r.output, "denied: %s", p->deny_reason ? p->deny_reason : "refused");
		p->r.status = TOOL_DENIED;
		a->batch_denied = true;
	}
	struct event ev = { .type = EV_APPROVAL, .id = p->id, .name = p->name, .decision = p->decision,
			    .reason = p->deny_reason };
	events_emit(a->o.bus, &ev);
	if (a->o.st && store_toolcall_approval(a->o.st, a->session_id, p->id, p->decision, &e) != 0)
		warn_store(a, &e);
}

/* ---- the model's answer ----------------------------------------------------- */

/* Add a response's usage to the turn and the session, and record it.  A
 * conversation response's prompt size also becomes the base of the next
 * estimate (a summary request's does not: it is not the conversation). */
static void account(struct agent *a, const struct chat_result *r, bool conversation)
{
	struct ferr e = FERR_INIT;

	if (conversation ? r->prompt_tokens < 0 && r->completion_tokens < 0
			 : r->prompt_tokens <= 0 && r->completion_tokens <= 0)
		return;
	long long p = r->prompt_tokens > 0 ? r->prompt_tokens : 0;
	long long c = r->completion_tokens > 0 ? r->completion_tokens : 0;
	long long cached = r->cached_tokens > 0 ? r->cached_tokens : 0;
	double cost = agent_cost(a, p, c, cached);
	a->prompt_tokens += p;
	a->completion_tokens += c;
	if (conversation)
		a->cached_tokens += cached;
	a->turn_prompt += p;
	a->turn_completion += c;
	if (cost < 0) {
		a->cost_unknown = true;
	} else {
		a->cost += cost;
		a->turn_cost += cost;
	}
	if (conversation && p > 0) {
		a->last_prompt_tokens = p + c;
		a->bytes_since = 0;
	}
	if (a->o.st && store_usage_add(a->o.st, a->session_id, a->o.pc->name, a->o.pc->model, p, c,
				       cached, r->reasoning_tokens, cost, &e) != 0)
		warn_store(a, &e);
}

static void on_response(void *ctx, const struct ferr *err)
{
	struct agent *a = ctx;
	struct chat_result *r = &a->result;
	struct ferr e = FERR_INIT;
	long long seq = 0;

	provider_call_free(a->pcall_h);
	a->pcall_h = NULL;
	free(a->req_msgs);
	a->req_msgs = NULL;
	if (a->summary_call) {
		on_summary(a, err);
		return;
	}
	a->requests++;
	/* usage first: a failed call may still have cost */
	account(a, r, true);
	if (err) {
		/* what was said before a cancel is kept, marked */
		if (err->cls == FERR_INTERRUPTED || a->cancelled) {
			if (r->text.len) {
				struct hmsg *m = hist_push(a, "assistant");
				struct buf t = BUF_INIT;
				buf_add(&t, r->text.data, r->text.len);
				buf_puts(&t, "\n[interrupted by the user]");
				m->content = buf_steal(&t);
				buf_release(&t);
				save_msg(a, m, NULL);
			}
			chat_result_release(r);
			struct ferr ce = FERR_INIT;
			ferr_set(&ce, FERR_INTERRUPTED, "cancelled");
			finish(a, AGENT_END_CANCELLED, &ce);
			return;
		}
		struct ferr copy = *err;
		chat_result_release(r);
		finish(a, AGENT_END_ERROR, &copy);
		return;
	}

	struct hmsg *m = hist_push(a, "assistant");
	m->content = xstrdup(buf_cstr(&r->text));
	if (r->reasoning.len)
		m->reasoning = xstrdup(buf_cstr(&r->reasoning));
	if (r->signature.len)
		m->signature = xstrdup(buf_cstr(&r->signature));
	if (r->ncalls) {
		m->calls = xcalloc(r->ncalls, sizeof *m->calls);
		for (size_t i = 0; i < r->ncalls; i++) {
			char idbuf[48];
			const char *id = r->calls[i].id;
			if (!id || !*id) {
				/* some local servers send no id: make one */
				snprintf(idbuf, sizeof idbuf, "call_%lld_%zu", a->requests, i);
				id = idbuf;
			}
			m->calls[i].id = xstrdup(id);
			m->calls[i].name = xstrdup(r->calls[i].name ? r->calls[i].name : "");
			m->calls[i].arguments = xstrdup(r->calls[i].arguments.len ? buf_cstr(&r->calls[i].arguments) : "{}");
		}
		m->ncalls = r->ncalls;
	}
	a->bytes_since += hmsg_bytes(m);
	save_msg(a, m, &seq);
	for (size_t i = 0; a->o.st && i < m->ncalls; i++)
		if (store_toolcall_add(a->o.st, a->session_id, m->calls[i].id, m->calls[i].name,
				       m->calls[i].arguments, seq, &e) != 0)
			warn_store(a, &e);
	char finish_reason[32];
	snprintf(finish_reason, sizeof finish_reason, "%s", r->finish);
	chat_result_release(r);
	memset(r, 0, sizeof *r);

	if (!m->ncalls) {
		bool denied = a->batch_denied;
		if (strcmp(finish_reason, "length") == 0) {
			ferr_set(&e, FERR_FAILED, "the answer was cut at the model's output limit");
			finish(a, AGENT_END_ERROR, &e);
			return;
		}
		if (strcmp(finish_reason, "content_filter") == 0) {
			ferr_set(&e, FERR_FAILED, "the provider's content filter stopped the answer");
			finish(a, AGENT_END_ERROR, &e);
			return;
		}
		if (denied) {
			ferr_set(&e, FERR_DENIED, "the model ended its turn after a tool call was denied");
			finish(a, AGENT_END_DENIED, &e);
			return;
		}
		finish(a, AGENT_END_DONE, NULL);
		return;
	}

	/* the calls: check, decide, run */
	a->batch_denied = false;
	a->calls = xcalloc(m->ncalls, sizeof *a->calls);
	a->ncalls = m->ncalls;
	for (size_t i = 0; i < m->ncalls; i++) {
		struct pcall *p = &a->calls[i];
		struct buf problem = BUF_INIT;
		p->a = a;
		p->index = i;
		p->id = xstrdup(m->calls[i].id);
		p->name = xstrdup(m->calls[i].name);
		p->args = xstrdup(m->calls[i].arguments);
		p->o.exit_code = -1;
		a->turn_calls++;
		a->total_calls++;
		if (a->o.max_tool_calls > 0 && a->turn_calls > a->o.max_tool_calls) {
			p->valid = false;
			buf_printf(&p->r.output, "not run: this prompt reached the limit of %ld tool calls",
				   a->o.max_tool_calls);
			p->r.status = TOOL_FAILED;
			p->call.summary = xstrdup(p->name);
			continue;
		}
		int prc = executor_prepare(a->o.x, p->name, p->args, strlen(p->args), &p->call, &problem, &e);
		if (prc != 0) {
			p->valid = false;
			buf_printf(&p->r.output, "error: %s", prc < 0 ? e.msg : buf_cstr(&problem));
			p->r.status = TOOL_FAILED;
			if (!p->call.summary)
				p->call.summary = xstrdup(p->name);
			ferr_clear(&e);
		} else {
			p->valid = true;
		}
		buf_release(&problem);
	}
	for (size_t i = 0; i < a->ncalls; i++)
		decide(a, &a->calls[i]);
	run_batch(a);
}

/* ---- requests ------------------------------------------------------------- */

static size_t estimate(const struct agent *a)
{
	size_t bytes = 0;

	if (a->last_prompt_tokens > 0)
		return (size_t)a->last_prompt_tokens + prompt_estimate_tokens(a->bytes_since);
	bytes += strlen(a->system);
	for (size_t i = 0; i < a->o.ntools; i++)
		bytes += strlen(a->o.tools[i].parameters) + strlen(a->o.tools[i].description ? a->o.tools[i].description : "") + 32;
	for (size_t i = 0; i < a->nhist; i++)
		bytes += hmsg_bytes(&a->hist[i]);
	return prompt_estimate_tokens(bytes);
}

static int start_compact(struct agent *a, struct ferr *e);

#define AGENT_PRUNED_MAX 2048

/* The current prompt's tool results but the last two, cut to a head and
 * tail of AGENT_PRUNED_MAX bytes: the model keeps what it learnt in its own
 * messages and can run a tool again. */
static void prune_results(struct agent *a, size_t from)
{
	size_t cut = 0, n = 0;

	for (size_t i = from; i + 2 < a->nhist; i++) {
		struct hmsg *m = &a->hist[i];
		size_t l = m->content ? strlen(m->content) : 0;
		if (strcmp(m->role, "tool") != 0 || l <= AGENT_PRUNED_MAX)
			continue;
		struct buf b = BUF_INIT;
		cut_middle(&b, m->content, l, AGENT_PRUNED_MAX,
			   "%zu bytes of this old result removed to fit the context window; "
			   "run the tool again if you need them");
		cut += l - b.len;
		free(m->content);
		m->content = buf_steal(&b);
		buf_release(&b);
		n++;
	}
	if (n) {
		a->last_prompt_tokens = 0;
		a->bytes_since = 0;
		notice(a, "the context window is nearly full: %zu earlier tool results of this prompt "
			  "were cut (%zu bytes)", n, cut);
	}
}

static void send_request(struct agent *a, const char *system, const struct chat_tool_def *tools,
			 size_t ntools, size_t from)
{
	struct ferr e = FERR_INIT;

	free(a->req_msgs);
	a->req_msgs = xcalloc(a->nhist + 1, sizeof *a->req_msgs);
	size_t n = 0;
	for (size_t i = from; i < a->nhist; i++)
		chat_of(&a->hist[i], &a->req_msgs[n++]);
	a->req.system = system;
	a->req.msgs = a->req_msgs;
	a->req.nmsgs = n;
	a->req.tools = tools;
	a->req.ntools = ntools;
	memset(&a->result, 0, sizeof a->result);
	if (provider_call_start(a->o.loop, a->o.http, a->o.pc, &a->req, a->o.bus, &a->result,
				on_response, a, &a->pcall_h, &e) != 0) {
		a->summary_call = false;
		finish(a, AGENT_END_ERROR, &e);
	}
}

static void request(struct agent *a)
{
	struct ferr e = FERR_INIT;

	if (a->cancelled) {
		ferr_set(&e, FERR_INTERRUPTED, "cancelled");
		finish(a, AGENT_END_CANCELLED, &e);
		return;
	}
	if (a->o.max_turns > 0 && a->turn_requests >= a->o.max_turns) {
		ferr_set(&e, FERR_FAILED,
			 "stopped: this prompt reached the limit of %ld requests to the model (limits.max_turns)",
			 a->o.max_turns);
		notice(a, "%s", e.msg);
		finish(a, AGENT_END_LIMIT, &e);
		return;
	}
	if (a->o.max_session_tokens > 0 &&
	    a->prompt_tokens + a->completion_tokens >= a->o.max_session_tokens) {
		ferr_set(&e, FERR_FAILED,
			 "stopped: the session used %lld tokens, its limit is %ld (limits.max_session_tokens)",
			 a->prompt_tokens + a->completion_tokens, a->o.max_session_tokens);
		notice(a, "%s", e.msg);
		finish(a, AGENT_END_LIMIT, &e);
		return;
	}
	if (a->o.max_session_cost > 0 && !a->cost_unknown && a->cost >= a->o.max_session_cost) {
		ferr_set(&e, FERR_FAILED,
			 "stopped: the session cost an estimated $%.4f, its limit is $%.2f (limits.max_session_cost)",
			 a->cost, a->o.max_session_cost);
		notice(a, "%s", e.msg);
		finish(a, AGENT_END_LIMIT, &e);
		return;
	}
	long window = a->o.context_window > 0 ? a->o.context_window : AGENT_DEFAULT_WINDOW;
	if (estimate(a) * 100 > (size_t)window * AGENT_COMPACT_PERCENT) {
		/* what came before the current prompt is summarised when it is
		 * worth it; the current prompt's own tool results are cut down
		 * when they are what fills the window */
		size_t keep = a->nhist, before = 0, all = 0;
		while (keep > 0 && strcmp(a->hist[keep - 1].role, "user") != 0)
			keep--;
		if (keep > 0)
			keep--;
		for (size_t i = 0; i < a->nhist; i++) {
			all += hmsg_bytes(&a->hist[i]);
			if (i < keep)
				before += hmsg_bytes(&a->hist[i]);
		}
		/* a summary alone before the prompt is as compact as it gets */
		bool only_summary = keep == 1 && strcmp(a->hist[0].role, "summary") == 0;
		if (!only_summary && before * 5 > all && start_compact(a, &e) == 0)
			return;            /* on_summary continues with request() */
		ferr_clear(&e);
		prune_results(a, keep);
	}
	a->turn_requests++;
	send_request(a, a->system, a->o.tools, a->o.ntools, 0);
}

int agent_send(struct agent *a, const char *text,
	       void (*done)(void *ctx, const struct agent_outcome *o), void *ctx, struct ferr *e)
{
	if (a->busy)
		return ferr_set(e, FERR_USAGE, "a turn is already running");
	if (!utf8_is_valid(text, strlen(text)))
		return ferr_set(e, FERR_USAGE, "the prompt is not valid UTF-8");
	if (pipe2(a->cancel_pipe, O_CLOEXEC) != 0)
		return ferr_set(e, FERR_IO, "agent: pipe: %s", strerror(errno));
	a->busy = true;
	a->cancelled = false;
	a->done = done;
	a->done_ctx = ctx;
	a->turn++;
	a->turn_requests = a->turn_calls = 0;
	a->turn_prompt = a->turn_completion = 0;
	a->turn_cost = 0;
	a->batch_denied = false;
	a->turn_first_audit = 0;
	a->changed = false;
	a->turn_start_ms = uv_now(a->o.loop);
	struct hmsg *m = hist_push(a, "user");
	m->content = xstrdup(text);
	a->bytes_since += hmsg_bytes(m);
	save_msg(a, m, NULL);
	request(a);
	return 0;
}

void agent_cancel(struct agent *a)
{
	if (!a->busy || a->cancelled)
		return;
	a->cancelled = true;
	if (a->cancel_pipe[1] >= 0) {
		ssize_t w = write(a->cancel_pipe[1], "x", 1);
		(void)w;
	}
	if (a->pcall_h)
		provider_call_cancel(a->pcall_h);
}

/* ---- compaction ------------------------------------------------------------- */

static const char summary_system[] =
	"You summarise a coding session between a user and an assistant that uses tools, so that "
	"the assistant can go on without the full history. Write a compact summary: the user's "
	"goals and requests, decisions made, what was changed (files and the gist of each change), "
	"commands run and what they showed, what is left to do, and any facts the assistant will "
	"need. Do not invent anything. Plain text, at most 400 words.";

/* The transcript the summary is made from: each message cut to a share of
 * what the window holds. */
static void transcript(const struct agent *a, size_t upto, struct buf *out, size_t cap)
{
	size_t per = upto ? cap / upto : cap;

	if (per < 512)
		per = 512;
	for (size_t i = 0; i < upto; i++) {
		const struct hmsg *m = &a->hist[i];
		buf_printf(out, "\n## %s\n", strcmp(m->role, "tool") == 0 ? "tool result" : m->role);
		if (m->content) {
			size_t l = strlen(m->content);
			if (l > per) {
				buf_add(out, m->content, per / 2);
				buf_printf(out, "\n[… %zu bytes …]\n", l - per);
				buf_puts(out, m->content + l - per / 2);
			} else {
				buf_puts(out, m->content);
			}
			buf_putc(out, '\n');
		}
		for (size_t k = 0; k < m->ncalls; k++) {
			const char *args = m->calls[k].arguments;
			size_t l = strlen(args);
			buf_printf(out, "called %s(%.*s%s)\n", m->calls[k].name, (int)(l > 300 ? 300 : l), args,
				   l > 300 ? "…" : "");
		}
	}
	/* the transcript itself must be valid UTF-8 */
	if (!utf8_is_valid(out->data ? out->data : "", out->len)) {
		struct buf clean = BUF_INIT;
		utf8_sanitize(&clean, out->data, out->len);
		buf_release(out);
		*out = clean;
	}
}

static int start_compact(struct agent *a, struct ferr *e)
{
	/* keep the current prompt and what followed it */
	size_t keep = a->nhist;
	while (keep > 0 && strcmp(a->hist[keep - 1].role, "user") != 0)
		keep--;
	if (keep > 0)
		keep--;
	if (keep == 0)
		return ferr_set(e, FERR_FAILED, "nothing before the current prompt to summarise");
	long window = a->o.context_window > 0 ? a->o.context_window : AGENT_DEFAULT_WINDOW;
	struct buf t = BUF_INIT;
	buf_puts(&t, "Summarise this session so far:\n");
	transcript(a, keep, &t, (size_t)window * 2);   /* about half the window, in bytes/4 */
	free(a->summary_text);
	a->summary_text = buf_steal(&t);
	buf_release(&t);
	memset(&a->summary_msg, 0, sizeof a->summary_msg);
	a->summary_msg.role = "user";
	a->summary_msg.content = a->summary_text;
	a->keep_from = keep;
	a->summary_call = true;
	notice(a, "the conversation nears the model's context window: summarising %zu earlier messages",
	       keep);
	free(a->req_msgs);
	a->req_msgs = NULL;
	a->req.system = summary_system;
	a->req.msgs = &a->summary_msg;
	a->req.nmsgs = 1;
	a->req.tools = NULL;
	a->req.ntools = 0;
	memset(&a->result, 0, sizeof a->result);
	if (provider_call_start(a->o.loop, a->o.http, a->o.pc, &a->req, &a->quiet, &a->result, on_response, a,
				&a->pcall_h, e) != 0) {
		a->summary_call = false;
		return -1;
	}
	return 0;
}

/* Every path a tool call of the history named, for the summary. */
static void touched_paths(const struct agent *a, size_t upto, struct buf *out)
{
	char **seen = NULL;
	size_t nseen = 0;

	for (size_t i = 0; i < upto; i++)
		for (size_t k = 0; k < a->hist[i].ncalls; k++) {
			cJSON *args = cJSON_Parse(a->hist[i].calls[k].arguments);
			const char *p = jstr(args, "path");
			bool dup = false;
			for (size_t s = 0; p && s < nseen; s++)
				dup |= strcmp(seen[s], p) == 0;
			if (p && !dup) {
				seen = xrealloc(seen, (nseen + 1) * sizeof *seen);
				seen[nseen++] = xstrdup(p);
			}
			cJSON_Delete(args);
		}
	if (nseen) {
		buf_puts(out, "\n\nFiles touched so far:");
		for (size_t s = 0; s < nseen; s++) {
			buf_printf(out, " %s%s", seen[s], s + 1 < nseen ? "," : "");
			free(seen[s]);
		}
		buf_putc(out, '\n');
	}
	free(seen);
}

static void on_summary(struct agent *a, const struct ferr *err)
{
	struct chat_result *r = &a->result;
	struct ferr e = FERR_INIT;

	a->summary_call = false;
	account(a, r, false);
	if (err || !r->text.len) {
		if (err && (err->cls == FERR_INTERRUPTED || a->cancelled)) {
			chat_result_release(r);
			ferr_set(&e, FERR_INTERRUPTED, "cancelled");
			finish(a, AGENT_END_CANCELLED, &e);
			return;
		}
		notice(a, "the summary failed (%s); going on with the full history",
		       err ? err->msg : "the model wrote nothing");
		chat_result_release(r);
		if (a->compacting_only) {
			ferr_set(&e, FERR_FAILED, "the summary failed");
			finish(a, AGENT_END_ERROR, &e);
			return;
		}
		a->turn_requests++;
		send_request(a, a->system, a->o.tools, a->o.ntools, 0);
		return;
	}
	struct buf s = BUF_INIT;
	buf_puts(&s, "[Summary of the earlier part of this session]\n");
	buf_add(&s, r->text.data, r->text.len);
	touched_paths(a, a->keep_from, &s);
	chat_result_release(r);
	memset(r, 0, sizeof *r);

	/* the new history: the summary, then what was kept */
	size_t keep = a->keep_from, old = a->nhist;
	struct hmsg *kept = xcalloc(old - keep + 1, sizeof *kept);
	for (size_t i = keep; i < old; i++)
		kept[i - keep] = a->hist[i];
	for (size_t i = 0; i < keep; i++)
		hmsg_release(&a->hist[i]);
	a->nhist = 0;
	struct hmsg *sm = hist_push(a, "summary");
	sm->content = buf_steal(&s);
	buf_release(&s);
	/* the kept messages are in the store already, before the summary */
	sm->keep_from = old - keep > 0 && kept[0].seq > 0 ? kept[0].seq : 0;
	save_msg(a, sm, NULL);
	for (size_t i = 0; i < old - keep; i++) {
		struct hmsg *m = hist_push(a, kept[i].role);
		free(m->role);
		*m = kept[i];
		if (!m->seq)
			save_msg(a, m, NULL);
	}
	free(kept);
	a->last_prompt_tokens = 0;
	a->bytes_since = 0;
	notice(a, "compacted: %zu earlier messages are now one summary (about %zu tokens of history left)",
	       keep, estimate(a));
	if (a->compacting_only) {
		finish(a, AGENT_END_DONE, NULL);
		return;
	}
	a->turn_requests++;
	send_request(a, a->system, a->o.tools, a->o.ntools, 0);
}

int agent_compact(struct agent *a, void (*done)(void *ctx, const struct agent_outcome *o),
		  void *ctx, struct ferr *e)
{
	if (a->busy)
		return ferr_set(e, FERR_USAGE, "a turn is already running");
	/* /compact keeps only the last exchange: pretend a prompt follows */
	a->done = done;
	a->done_ctx = ctx;
	a->compacting_only = true;
	a->busy = true;
	a->cancelled = false;
	a->turn_start_ms = uv_now(a->o.loop);
	size_t keep = a->nhist;
	while (keep > 0 && strcmp(a->hist[keep - 1].role, "user") != 0)
		keep--;
	if (keep > 0)
		keep--;
	if (keep == 0) {
		a->busy = false;
		a->compacting_only = false;
		return ferr_set(e, FERR_USAGE, "nothing to compact yet");
	}
	if (pipe2(a->cancel_pipe, O_CLOEXEC) != 0) {
		a->busy = false;
		a->compacting_only = false;
		return ferr_set(e, FERR_IO, "agent: pipe: %s", strerror(errno));
	}
	if (start_compact(a, e) != 0) {
		a->busy = false;
		a->compacting_only = false;
		return -1;
	}
	return 0;
}

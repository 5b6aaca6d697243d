/*
 * provider.c — one streamed LLM call with its retries: builds the request
 * for the configured protocol, feeds the response body through the SSE
 * parser into the protocol's event parser, classifies every failure, and
 * decides whether and when to try again.
 */
#include "forja/provider.h"

#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "forja/sse.h"
#include "providers/internal.h"

#define ERROR_BODY_MAX (64 * 1024)
#define SSE_EVENT_MAX (16 * 1024 * 1024)

struct provider_call {
	uv_loop_t *loop;
	struct http_client *http;
	const struct provider_config *pc;
	const struct chat_request *req;
	const struct event_bus *bus;
	struct chat_result *result;
	void (*done)(void *ctx, const struct ferr *err);
	void *ctx;

	struct http_transfer *xfer;
	uv_timer_t timer;
	bool timer_open;
	bool cancelled;
	bool finished;
	bool free_pending;   /* provider_call_free() ran; free when nothing is open */
	int open_parts;      /* the timer, and the transfer while it runs */
	int attempt;
	uint64_t started_ms;

	long status;
	struct buf err_body;
	char retry_after[64];
	char ratelimit_reset[64];
	struct sse_parser sse;
	bool sse_open;
	struct stream_state st;
	bool st_open;

	struct buf url, body;
	char **headers;
	size_t nheaders;
};

const char *provider_kind_name(enum provider_kind kind)
{
	return kind == PROVIDER_ANTHROPIC ? "anthropic" : "openai";
}

void provider_config_release(struct provider_config *pc)
{
	free(pc->name);
	free(pc->base_url);
	free(pc->model);
	if (pc->api_key) {
		/* scrub the key from memory before giving it back */
		volatile char *k = pc->api_key;
		while (*k)
			*k++ = 0;
		free(pc->api_key);
	}
	free(pc->key_source);
	for (size_t i = 0; i < pc->nheaders; i++)
		free(pc->headers[i]);
	free(pc->headers);
	free(pc->ca_bundle);
	free(pc->origin);
	memset(pc, 0, sizeof *pc);
}

void chat_result_release(struct chat_result *r)
{
	buf_release(&r->text);
	buf_release(&r->reasoning);
	buf_release(&r->signature);
	for (size_t i = 0; i < r->ncalls; i++) {
		free(r->calls[i].id);
		free(r->calls[i].name);
		buf_release(&r->calls[i].arguments);
	}
	free(r->calls);
	memset(r, 0, sizeof *r);
}

static void result_reset(struct chat_result *r)
{
	int attempts = r->attempts;

	chat_result_release(r);
	r->attempts = attempts;
	r->prompt_tokens = r->completion_tokens = r->cached_tokens = r->reasoning_tokens = -1;
}

void provider_redact(char *text, const char *secret)
{
	size_t n;
	char *p;

	if (!text || !secret || (n = strlen(secret)) < 8)
		return;
	while ((p = strstr(text, secret))) {
		static const char mask[] = "[redacted]";
		size_t m = sizeof mask - 1;
		memmove(p + m, p + n, strlen(p + n) + 1);
		memcpy(p, mask, m);
	}
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* The host of a URL, for messages (never the path, query or credentials). */
static void url_host(const char *url, char *out, size_t size)
{
	const char *p = strstr(url, "://");
	size_t n;

	p = p ? p + 3 : url;
	const char *at = strpbrk(p, "@/");
	if (at && *at == '@')
		p = at + 1;
	n = strcspn(p, "/?#");
	if (n >= size)
		n = size - 1;
	memcpy(out, p, n);
	out[n] = '\0';
}

/* The server's own words from an error body: OpenAI's error.message,
 * Anthropic's error.message, or the start of the body. */
static void error_message(const char *body, size_t len, char *out, size_t size,
			  char *code, size_t code_size)
{
	cJSON *root = cJSON_ParseWithLength(body, len);
	const cJSON *err = cJSON_GetObjectItemCaseSensitive(root, "error");
	const cJSON *msg = cJSON_IsString(err) ? err : cJSON_GetObjectItemCaseSensitive(err, "message");
	const cJSON *c = cJSON_GetObjectItemCaseSensitive(err, "code");
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(err, "type");

	code[0] = '\0';
	if (cJSON_IsString(c))
		snprintf(code, code_size, "%s", c->valuestring);
	else if (cJSON_IsString(t))
		snprintf(code, code_size, "%s", t->valuestring);
	if (cJSON_IsString(msg)) {
		snprintf(out, size, "%s", msg->valuestring);
	} else {
		size_t n = len < size - 1 ? len : size - 1;
		size_t k = 0;
		for (size_t i = 0; i < n; i++)
			if (body[i] != '\n' && body[i] != '\r')
				out[k++] = body[i];
		out[k] = '\0';
	}
	cJSON_Delete(root);
}

void provider_classify_status(const struct provider_config *pc, long status, const char *body,
			      size_t len, struct ferr *e, bool *retryable)
{
	char msg[600], code[64], host[256];
	const char *who = pc->name ? pc->name : "the provider";

	error_message(body ? body : "", body ? len : 0, msg, sizeof msg, code, sizeof code);
	provider_redact(msg, pc->api_key);
	url_host(pc->base_url ? pc->base_url : "", host, sizeof host);
	*retryable = false;
	if (status == 401 || status == 403) {
		ferr_set(e, FERR_AUTH, "%s refused the credentials (%ld) at %s: %s%s", who, status, host,
			 msg, pc->api_key ? "" : " (no API key was set)");
	} else if (status == 404) {
		ferr_set(e, FERR_AUTH, "%s: model '%s' not found (404) at %s: %s", who,
			 pc->model ? pc->model : "", host, msg);
	} else if (status == 400 || status == 413 || status == 422) {
		bool ctx = strstr(code, "context_length") || strstr(msg, "context length") ||
			   strstr(msg, "context window") || strstr(msg, "prompt is too long") ||
			   strstr(msg, "too many tokens") || status == 413;
		if (ctx)
			ferr_set(e, FERR_FAILED,
				 "the request is larger than the model's context window (%ld): %s", status,
				 msg);
		else
			ferr_set(e, FERR_FAILED, "%s rejected the request (%ld): %s", who, status, msg);
	} else if (status == 429 && (strstr(code, "insufficient_quota") || strstr(code, "billing"))) {
		/* a 429 that waiting does not cure */
		ferr_set(e, FERR_AUTH, "%s: the account's quota is used up (429): %s", who, msg);
	} else if (status == 429) {
		ferr_set(e, FERR_PROVIDER, "%s rate limited the request (429): %s", who, msg);
		*retryable = true;
	} else if (status == 529) {
		ferr_set(e, FERR_PROVIDER, "%s is overloaded (529): %s", who, msg);
		*retryable = true;
	} else if (status >= 500 || status == 408 || status == 409) {
		ferr_set(e, FERR_PROVIDER, "%s failed with %ld: %s", who, status, msg);
		*retryable = true;
	} else {
		ferr_set(e, FERR_FAILED, "%s answered %ld: %s", who, status, msg);
	}
}

/* "1.5", "20", an HTTP date; "6m0s", "250ms", "1s" (x-ratelimit-reset-*). */
static long parse_delay_ms(const char *v)
{
	char *end;
	double total = 0;

	if (!v || !*v)
		return -1;
	double secs = strtod(v, &end);
	if (end != v && (*end == '\0' || *end == ' '))
		return secs < 0 ? -1 : (long)(secs * 1000.0);
	/* Go-style durations */
	const char *p = v;
	while (*p) {
		double n = strtod(p, &end);
		if (end == p)
			break;
		p = end;
		if (strncmp(p, "ms", 2) == 0) {
			total += n;
			p += 2;
		} else if (*p == 'h') {
			total += n * 3600000.0;
			p++;
		} else if (*p == 'm') {
			total += n * 60000.0;
			p++;
		} else if (*p == 's') {
			total += n * 1000.0;
			p++;
		} else {
			return -1;
		}
	}
	if (p != v && *p == '\0')
		return (long)total;
	/* an HTTP date, or an RFC 3339 time (Anthropic's reset headers) */
	struct tm tm;
	memset(&tm, 0, sizeof tm);
	if (strptime(v, "%a, %d %b %Y %H:%M:%S GMT", &tm) ||
	    ((end = strptime(v, "%Y-%m-%dT%H:%M:%S", &tm)) && (*end == 'Z' || *end == '.'))) {
		time_t when = timegm(&tm), now = time(NULL);
		return when > now ? (long)(when - now) * 1000 : 0;
	}
	return -1;
}

long provider_backoff_ms(const struct provider_config *pc, int attempt, const char *retry_after,
			 const char *ratelimit_reset)
{
	long cap = pc->retry_max_delay_ms >= 0 ? pc->retry_max_delay_ms : 30000;
	long told = parse_delay_ms(retry_after);

	if (told < 0)
		told = parse_delay_ms(ratelimit_reset);
	if (told >= 0)
		return told < cap ? told : cap;
	long base = pc->retry_base_ms >= 0 ? pc->retry_base_ms : 1000;
	double ceiling = (double)base;
	for (int i = 1; i < attempt && ceiling < cap; i++)
		ceiling *= 2;
	if (ceiling > cap)
		ceiling = (double)cap;
	/* full jitter: anywhere between 0 and the ceiling */
	static unsigned seed;
	if (!seed)
		seed = (unsigned)time(NULL) ^ (unsigned)(uintptr_t)&seed;
	return (long)(ceiling * ((double)rand_r(&seed) / ((double)RAND_MAX + 1.0)));
}

static void call_finish(struct provider_call *c, const struct ferr *err);
static void attempt_start(struct provider_call *c);
static void release_part(struct provider_call *c);

static int on_sse_event(void *ctx, const struct sse_event *ev)
{
	struct provider_call *c = ctx;
	char type[64];
	size_t n = ev->type_len < sizeof type - 1 ? ev->type_len : sizeof type - 1;

	memcpy(type, ev->type, n);
	type[n] = '\0';
	if (c->pc->kind == PROVIDER_ANTHROPIC)
		return anthropic_on_event(&c->st, type, ev->data, ev->data_len) ? 1 : 0;
	return openai_on_event(&c->st, type, ev->data, ev->data_len) ? 1 : 0;
}

static int on_response(void *ctx, long status, const struct http_response_headers *h)
{
	struct provider_call *c = ctx;
	const char *v;

	c->status = status;
	if ((v = http_response_header(h, "retry-after")))
		snprintf(c->retry_after, sizeof c->retry_after, "%s", v);
	if ((v = http_response_header(h, "x-ratelimit-reset-requests")) ||
	    (v = http_response_header(h, "x-ratelimit-reset-tokens")) ||
	    (v = http_response_header(h, "anthropic-ratelimit-requests-reset")))
		snprintf(c->ratelimit_reset, sizeof c->ratelimit_reset, "%s", v);
	return 0;
}

static int on_data(void *ctx, const char *data, size_t len)
{
	struct provider_call *c = ctx;
	struct ferr e = FERR_INIT;

	if (c->status != 200) {
		size_t room = ERROR_BODY_MAX - c->err_body.len;
		buf_add(&c->err_body, data, len < room ? len : room);
		return 0;
	}
	int rc = sse_parser_feed(&c->sse, data, len, &e);
	if (rc < 0) {
		stream_fail(&c->st, e.cls, false, "%s", e.msg);
		return 1;
	}
	return rc ? 1 : 0;
}

static const char *retry_reason(const struct provider_call *c, const struct ferr *err)
{
	if (c->st.failed)
		return strstr(err->msg, "overloaded") ? "overloaded" : "the provider failed mid-stream";
	if (c->status == 429)
		return "rate limited";
	if (c->status == 529)
		return "overloaded";
	if (c->status >= 500)
		return "server error";
	if (err->cls == FERR_TIMEOUT)
		return "timed out";
	if (err->cls == FERR_NETWORK)
		return "connection failed";
	return "stream cut";
}

static void on_timer(uv_timer_t *t)
{
	attempt_start(t->data);
}

static void on_done(void *ctx, const struct ferr *herr)
{
	struct provider_call *c = ctx;
	struct ferr err = FERR_INIT;
	struct ferr pe = FERR_INIT;
	bool retryable = false, failed = true;

	c->xfer = NULL;
	if (c->free_pending) {
		release_part(c);
		return;
	}
	if (c->cancelled) {
		ferr_set(&err, FERR_INTERRUPTED, "interrupted");
		call_finish(c, &err);
		return;
	}
	if (c->st.failed) {
		err = c->st.err;
		retryable = c->st.retryable;
	} else if (c->status && c->status != 200 && (!herr || herr->cls != FERR_TIMEOUT)) {
		provider_classify_status(c->pc, c->status, c->err_body.data, c->err_body.len, &err,
					 &retryable);
	} else if (herr) {
		err = *herr;
		provider_redact(err.msg, c->pc->api_key);
		retryable = herr->cls == FERR_NETWORK || herr->cls == FERR_TIMEOUT ||
			    herr->cls == FERR_PROVIDER;
		/* a certificate that failed verification will fail again */
		if (strstr(herr->msg, "certificate") || strstr(herr->msg, "TLS"))
			retryable = false;
	} else {
		int rc = sse_parser_finish(&c->sse, true, &pe);
		if (rc < 0 && !c->st.failed)
			stream_fail(&c->st, pe.cls, false, "%s", pe.msg);
		if (c->st.failed) {
			err = c->st.err;
			retryable = c->st.retryable;
		} else if (!c->st.finished && !c->st.ended) {
			ferr_set(&err, FERR_PROVIDER,
				 "%s closed the stream before the message was complete", c->pc->name);
			retryable = true;
		} else {
			failed = false;
		}
	}
	if (!failed) {
		stream_flush(&c->st);
		call_finish(c, NULL);
		return;
	}
	uint64_t elapsed = now_ms() - c->started_ms;
	/* a server's "come back at" applies to being turned away, not to a
	 * stream that broke (OpenAI sends reset headers on every answer) */
	bool told = c->status == 429 || c->status == 503 || c->status == 529;
	long delay = provider_backoff_ms(c->pc, c->attempt, told ? c->retry_after : NULL,
					 c->status == 429 ? c->ratelimit_reset : NULL);
	int max = c->pc->max_attempts > 0 ? c->pc->max_attempts : 1;
	long budget = c->pc->retry_total_ms;
	if (!retryable || c->attempt >= max || (long)elapsed + delay > budget) {
		if (retryable && c->attempt > 1)
			ferr_prefix(&err, "gave up after %d attempts", c->attempt);
		call_finish(c, &err);
		return;
	}
	if (c->st.shown) {
		struct event cut = { .type = EV_CUT };
		events_emit(c->bus, &cut);
	}
	struct event ev = { .type = EV_RETRY };
	ev.attempt = c->attempt + 1;
	ev.max_attempts = max;
	ev.delay_ms = delay;
	ev.reason = retry_reason(c, &err);
	ev.error = &err;
	events_emit(c->bus, &ev);
	uv_timer_start(&c->timer, on_timer, (uint64_t)delay, 0);
}

static void attempt_cleanup(struct provider_call *c)
{
	if (c->sse_open)
		sse_parser_release(&c->sse);
	if (c->st_open)
		stream_state_release(&c->st);
	c->sse_open = c->st_open = false;
}

static void attempt_start(struct provider_call *c)
{
	struct ferr e = FERR_INIT;
	struct http_request req;
	static const struct http_callbacks cbs = { on_response, on_data, on_done };

	attempt_cleanup(c);
	c->attempt++;
	c->result->attempts = c->attempt;
	result_reset(c->result);
	c->status = 0;
	c->retry_after[0] = c->ratelimit_reset[0] = '\0';
	buf_reset(&c->err_body);
	stream_state_init(&c->st, c->pc, c->bus, c->result);
	c->st_open = true;
	sse_parser_init(&c->sse, SSE_EVENT_MAX, on_sse_event, c);
	c->sse_open = true;

	memset(&req, 0, sizeof req);
	req.method = "POST";
	req.url = c->url.data;
	req.headers = (const char *const *)c->headers;
	req.body = c->body.data;
	req.body_len = c->body.len;
	req.timeouts = c->pc->timeouts;
	req.ca_bundle = c->pc->ca_bundle;
	if (http_start(c->http, &req, &cbs, c, &c->xfer, &e) != 0) {
		provider_redact(e.msg, c->pc->api_key);
		call_finish(c, &e);
	}
}

static void add_header(struct provider_call *c, const char *fmt, const char *a, const char *b)
{
	struct buf h = BUF_INIT;

	buf_printf(&h, fmt, a, b);
	c->headers = xrealloc(c->headers, (c->nheaders + 2) * sizeof *c->headers);
	c->headers[c->nheaders++] = buf_steal(&h);
	c->headers[c->nheaders] = NULL;
}

int provider_call_start(uv_loop_t *loop, struct http_client *http,
			const struct provider_config *pc, const struct chat_request *req,
			const struct event_bus *bus, struct chat_result *result,
			void (*done)(void *ctx, const struct ferr *err), void *ctx,
			struct provider_call **out, struct ferr *e)
{
	struct provider_call *c = xcalloc(1, sizeof *c);
	struct event ev = { .type = EV_START };

	c->loop = loop;
	c->http = http;
	c->pc = pc;
	c->req = req;
	c->bus = bus;
	c->result = result;
	c->done = done;
	c->ctx = ctx;
	c->started_ms = now_ms();
	if (pc->kind == PROVIDER_ANTHROPIC) {
		buf_printf(&c->url, "%s/v1/messages", pc->base_url);
		anthropic_build_request(pc, req, &c->body);
		if (pc->api_key)
			add_header(c, "%s%s", "x-api-key: ", pc->api_key);
		add_header(c, "%s%s", "anthropic-version: ", "2023-06-01");
	} else {
		buf_printf(&c->url, "%s/chat/completions", pc->base_url);
		openai_build_request(pc, req, &c->body);
		if (pc->api_key)
			add_header(c, "%s%s", "Authorization: Bearer ", pc->api_key);
	}
	add_header(c, "%s%s", "Content-Type: ", "application/json");
	add_header(c, "%s%s", "Accept: ", "text/event-stream");
	for (size_t i = 0; i < pc->nheaders; i++)
		add_header(c, "%s%s", "", pc->headers[i]);
	uv_timer_init(loop, &c->timer);
	c->timer.data = c;
	c->timer_open = true;
	*out = c;
	ev.provider = pc->name;
	ev.model = pc->model;
	events_emit(bus, &ev);
	(void)e;
	attempt_start(c);
	return 0;
}

static void call_finish(struct provider_call *c, const struct ferr *err)
{
	if (c->finished)
		return;
	c->finished = true;
	uv_timer_stop(&c->timer);
	c->done(c->ctx, err);
}

void provider_call_cancel(struct provider_call *c)
{
	struct ferr err = FERR_INIT;

	if (!c || c->finished)
		return;
	c->cancelled = true;
	if (c->xfer) {
		http_cancel(c->xfer); /* on_done follows with FERR_INTERRUPTED */
		return;
	}
	ferr_set(&err, FERR_INTERRUPTED, "interrupted");
	call_finish(c, &err);
}

static void call_free_now(struct provider_call *c)
{
	for (size_t i = 0; i < c->nheaders; i++) {
		/* headers hold the key: wipe before freeing */
		memset(c->headers[i], 0, strlen(c->headers[i]));
		free(c->headers[i]);
	}
	free(c->headers);
	buf_release(&c->url);
	buf_release(&c->body);
	buf_release(&c->err_body);
	free(c);
}

static void release_part(struct provider_call *c)
{
	if (--c->open_parts == 0)
		call_free_now(c);
}

static void on_timer_closed(uv_handle_t *h)
{
	release_part(h->data);
}

void provider_call_free(struct provider_call *c)
{
	if (!c)
		return;
	c->free_pending = true;
	c->finished = true;
	attempt_cleanup(c);
	c->open_parts = 1 + (c->xfer != NULL);
	if (c->xfer)
		http_cancel(c->xfer); /* its on_done releases that part */
	uv_close((uv_handle_t *)&c->timer, on_timer_closed);
}

/*
 * stream.c — the parts of stream assembly both protocols share: UTF-8 safe
 * deltas, tool call slots, finish reasons and usage, turned into events
 * and into the chat_result.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "forja/utf8.h"
#include "internal.h"

void stream_state_init(struct stream_state *st, const struct provider_config *pc,
		       const struct event_bus *bus, struct chat_result *result)
{
	memset(st, 0, sizeof *st);
	st->pc = pc;
	st->bus = bus;
	st->result = result;
}

void stream_state_release(struct stream_state *st)
{
	buf_release(&st->carry[0]);
	buf_release(&st->carry[1]);
	free(st->call_index);
	free(st->blocks);
	memset(st, 0, sizeof *st);
}

/* Length of the longest prefix of s that ends on a character boundary,
 * assuming s itself starts on one. */
static size_t complete_prefix(const char *s, size_t len)
{
	size_t i = len, back = 0;

	while (i > 0 && back < 4) {
		unsigned char c = (unsigned char)s[i - 1];
		back++;
		i--;
		if ((c & 0xc0) != 0x80) {
			size_t need = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 :
				      (c & 0xf8) == 0xf0 ? 4 : 1;
			return back >= need ? len : i;
		}
	}
	return len;
}

static void emit_text(struct stream_state *st, enum event_type type, const char *s, size_t len)
{
	struct event ev = { .type = type };
	struct buf clean = BUF_INIT;

	if (!len)
		return;
	/* bytes that are not UTF-8 even when whole become U+FFFD */
	if (!utf8_is_valid(s, len)) {
		utf8_sanitize(&clean, s, len);
		s = clean.data;
		len = clean.len;
	}
	buf_add(type == EV_TEXT ? &st->result->text : &st->result->reasoning, s, len);
	ev.text = s;
	ev.len = len;
	st->shown = true;
	events_emit(st->bus, &ev);
	buf_release(&clean);
}

void stream_delta(struct stream_state *st, enum event_type type, const char *s, size_t len)
{
	struct buf *carry = &st->carry[type == EV_TEXT ? 0 : 1];
	struct buf joined = BUF_INIT;
	size_t keep;

	if (carry->len) {
		buf_add(&joined, carry->data, carry->len);
		buf_add(&joined, s, len);
		buf_reset(carry);
		s = joined.data;
		len = joined.len;
	}
	keep = complete_prefix(s, len);
	emit_text(st, type, s, keep);
	if (keep < len)
		buf_add(carry, s + keep, len - keep);
	buf_release(&joined);
}

void stream_flush(struct stream_state *st)
{
	for (int i = 0; i < 2; i++) {
		if (!st->carry[i].len)
			continue;
		struct buf held = st->carry[i];
		st->carry[i] = (struct buf)BUF_INIT;
		emit_text(st, i == 0 ? EV_TEXT : EV_REASONING, held.data, held.len);
		buf_release(&held);
	}
}

static const char *normalise_finish(const char *raw)
{
	static const struct { const char *raw, *norm; } map[] = {
		{ "stop", "stop" }, { "end_turn", "stop" }, { "stop_sequence", "stop" },
		{ "eos", "stop" }, { "length", "length" }, { "max_tokens", "length" },
		{ "model_length", "length" }, { "tool_calls", "tool_calls" },
		{ "function_call", "tool_calls" }, { "tool_use", "tool_calls" },
		{ "content_filter", "content_filter" }, { "refusal", "content_filter" },
		{ "pause_turn", "stop" },
	};
	for (size_t i = 0; i < sizeof map / sizeof *map; i++)
		if (strcmp(raw, map[i].raw) == 0)
			return map[i].norm;
	return raw;
}

void stream_finish(struct stream_state *st, const char *raw_reason)
{
	struct event ev = { .type = EV_FINISH };

	stream_flush(st);
	for (size_t i = 0; i < st->result->ncalls; i++)
		stream_emit_call(st, i);
	ev.raw_reason = raw_reason;
	ev.reason = normalise_finish(raw_reason);
	/* gpt-4o and several compatible servers say "stop" after tool calls:
	 * the calls are what the model asked for */
	if (st->result->ncalls && strcmp(ev.reason, "stop") == 0)
		ev.reason = "tool_calls";
	snprintf(st->result->finish, sizeof st->result->finish, "%s", ev.reason);
	st->finished = true;
	st->shown = true;
	events_emit(st->bus, &ev);
}

void stream_usage(struct stream_state *st, int64_t prompt, int64_t completion, int64_t cached,
		  int64_t reasoning)
{
	struct event ev = { .type = EV_USAGE };
	struct chat_result *r = st->result;

	if (prompt >= 0)
		r->prompt_tokens = prompt;
	if (completion >= 0)
		r->completion_tokens = completion;
	if (cached >= 0)
		r->cached_tokens = cached;
	if (reasoning >= 0)
		r->reasoning_tokens = reasoning;
	ev.prompt_tokens = r->prompt_tokens;
	ev.completion_tokens = r->completion_tokens;
	ev.cached_tokens = r->cached_tokens;
	ev.reasoning_tokens = r->reasoning_tokens;
	st->shown = true;
	events_emit(st->bus, &ev);
}

int stream_new_call(struct stream_state *st, size_t *slot)
{
	struct chat_result *r = st->result;

	if (r->ncalls >= STREAM_MAX_CALLS)
		return stream_fail(st, FERR_PROVIDER, false,
				   "%s sent more than %d tool calls in one answer", st->pc->name,
				   STREAM_MAX_CALLS);
	r->calls = xrealloc(r->calls, (r->ncalls + 1) * sizeof *r->calls);
	memset(&r->calls[r->ncalls], 0, sizeof *r->calls);
	st->call_index = xrealloc(st->call_index, (r->ncalls + 1) * sizeof *st->call_index);
	st->call_index[r->ncalls] = -1;
	*slot = r->ncalls++;
	return 0;
}

int stream_call_arguments(struct stream_state *st, size_t i, const char *s, size_t len)
{
	struct chat_tool_call *c = &st->result->calls[i];

	if (len > STREAM_MAX_ARGUMENTS - c->arguments.len)
		return stream_fail(st, FERR_PROVIDER, false,
				   "%s sent tool call arguments longer than %u bytes for %s",
				   st->pc->name, STREAM_MAX_ARGUMENTS, c->name ? c->name : "a call");
	buf_add(&c->arguments, s, len);
	return 0;
}

void stream_emit_call(struct stream_state *st, size_t i)
{
	struct chat_tool_call *c = &st->result->calls[i];
	struct event ev = { .type = EV_TOOL_CALL };

	if (c->emitted)
		return;
	c->emitted = true;
	if (!c->id || !*c->id) {
		struct buf id = BUF_INIT;
		buf_printf(&id, "call_%zu", i);
		free(c->id);
		c->id = buf_steal(&id);
	}
	ev.id = c->id;
	ev.name = c->name ? c->name : "";
	ev.arguments = c->arguments.len ? c->arguments.data : "{}";
	st->shown = true;
	events_emit(st->bus, &ev);
}

int stream_fail(struct stream_state *st, enum ferr_class cls, bool retryable, const char *fmt, ...)
{
	va_list ap;

	st->failed = true;
	st->retryable = retryable;
	st->err.cls = cls;
	va_start(ap, fmt);
	vsnprintf(st->err.msg, sizeof st->err.msg, fmt, ap);
	va_end(ap);
	provider_redact(st->err.msg, st->pc->api_key);
	return -1;
}

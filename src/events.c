/*
 * events.c — the event bus and the two sinks a one-shot run needs: the
 * terminal renderer and the JSONL writer (schema in man/forja.1, EVENTS).
 */
#include "forja/events.h"

#include <cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "forja/buf.h"
#include "forja/json.h"
#include "forja/utf8.h"

void events_init(struct event_bus *bus)
{
	memset(bus, 0, sizeof *bus);
}

int events_add_sink(struct event_bus *bus, struct event_sink sink)
{
	if (bus->nsinks >= EVENTS_MAX_SINKS)
		return -1;
	bus->sinks[bus->nsinks++] = sink;
	return 0;
}

void events_emit(const struct event_bus *bus, const struct event *ev)
{
	for (size_t i = 0; i < bus->nsinks; i++)
		bus->sinks[i].emit(bus->sinks[i].ctx, ev);
}

static const char *type_name(enum event_type t)
{
	switch (t) {
	case EV_START: return "start";
	case EV_TEXT: return "text_delta";
	case EV_REASONING: return "reasoning_delta";
	case EV_TOOL_CALL: return "tool_call";
	case EV_FINISH: return "finish";
	case EV_USAGE: return "usage";
	case EV_RETRY: return "retry";
	case EV_CUT: return "cut";
	case EV_ERROR: return "error";
	case EV_DONE: return "done";
	case EV_TOOL_START: return "tool_start";
	case EV_APPROVAL: return "approval";
	case EV_TOOL_OUTPUT: return "tool_output";
	case EV_TOOL_END: return "tool_end";
	case EV_NOTICE: return "notice";
	case EV_TURN_END: return "turn_end";
	case EV_SUMMARY: return "summary";
	}
	return "unknown";
}

static void put_key_str(struct buf *b, const char *key, const char *val, size_t len)
{
	buf_printf(b, ",\"%s\":", key);
	if (val)
		json_put_string(b, val, len);
	else
		buf_puts(b, "null");
}

static void put_tokens(struct buf *b, const char *key, int64_t n)
{
	if (n >= 0)
		buf_printf(b, ",\"%s\":%lld", key, (long long)n);
	else
		buf_printf(b, ",\"%s\":null", key);
}

static void put_cstr(struct buf *b, const char *key, const char *val)
{
	put_key_str(b, key, val, val ? strlen(val) : 0);
}

static void put_cost(struct buf *b, const char *key, double usd)
{
	if (usd >= 0)
		buf_printf(b, ",\"%s\":%.6f", key, usd);
	else
		buf_printf(b, ",\"%s\":null", key);
}

static void jsonl_emit(void *ctx, const struct event *ev)
{
	struct jsonl_sink *s = ctx;
	struct buf b = BUF_INIT;

	buf_printf(&b, "{\"v\":%d,\"type\":\"%s\"", EVENTS_SCHEMA_VERSION, type_name(ev->type));
	switch (ev->type) {
	case EV_START:
		put_key_str(&b, "provider", ev->provider, ev->provider ? strlen(ev->provider) : 0);
		put_key_str(&b, "model", ev->model, ev->model ? strlen(ev->model) : 0);
		break;
	case EV_TEXT:
	case EV_REASONING:
		put_key_str(&b, "text", ev->text, ev->len);
		break;
	case EV_TOOL_CALL: {
		const char *text = ev->arguments ? ev->arguments : "";
		size_t tlen = strlen(text);
		/* the model's own JSON, checked whole (nothing after the value) and
		 * minified, never re-printed: numbers keep every digit */
		cJSON *args = utf8_is_valid(text, tlen)
				      ? cJSON_ParseWithOpts(text, NULL, 1) : NULL;
		put_key_str(&b, "id", ev->id, ev->id ? strlen(ev->id) : 0);
		put_key_str(&b, "name", ev->name, ev->name ? strlen(ev->name) : 0);
		char *minified = NULL;
		if (args) {
			minified = xstrdup(text);
			cJSON_Minify(minified);
			/* cJSON lets raw control characters through inside strings;
			 * they would break the line */
			for (const char *p = minified; *p; p++)
				if ((unsigned char)*p < 0x20) {
					free(minified);
					minified = NULL;
					break;
				}
			cJSON_Delete(args);
		}
		if (minified) {
			buf_printf(&b, ",\"arguments\":%s", minified);
			free(minified);
		} else {
			/* not JSON: keep the text so nothing is lost */
			buf_puts(&b, ",\"arguments\":null");
			put_key_str(&b, "arguments_text", ev->arguments,
				    ev->arguments ? strlen(ev->arguments) : 0);
		}
		break;
	}
	case EV_FINISH:
		put_key_str(&b, "reason", ev->reason, ev->reason ? strlen(ev->reason) : 0);
		put_key_str(&b, "raw_reason", ev->raw_reason,
			    ev->raw_reason ? strlen(ev->raw_reason) : 0);
		break;
	case EV_USAGE:
		put_tokens(&b, "prompt_tokens", ev->prompt_tokens);
		put_tokens(&b, "completion_tokens", ev->completion_tokens);
		put_tokens(&b, "cached_tokens", ev->cached_tokens);
		put_tokens(&b, "reasoning_tokens", ev->reasoning_tokens);
		break;
	case EV_RETRY:
		buf_printf(&b, ",\"attempt\":%d,\"max_attempts\":%d,\"delay_ms\":%ld", ev->attempt,
			   ev->max_attempts, ev->delay_ms);
		put_key_str(&b, "reason", ev->reason, ev->reason ? strlen(ev->reason) : 0);
		if (ev->error) {
			put_key_str(&b, "class", ferr_class_name(ev->error->cls),
				    strlen(ferr_class_name(ev->error->cls)));
			put_key_str(&b, "message", ev->error->msg, strlen(ev->error->msg));
		}
		break;
	case EV_CUT:
		break;
	case EV_ERROR:
		if (ev->error) {
			put_key_str(&b, "class", ferr_class_name(ev->error->cls),
				    strlen(ferr_class_name(ev->error->cls)));
			put_key_str(&b, "message", ev->error->msg, strlen(ev->error->msg));
			buf_printf(&b, ",\"exit_code\":%d", ferr_exit_code(ev->error->cls));
		}
		break;
	case EV_DONE:
		buf_printf(&b, ",\"exit_code\":%d", ev->exit_code);
		if (ev->id)
			put_cstr(&b, "session", ev->id);
		break;
	case EV_TOOL_START:
		put_cstr(&b, "id", ev->id);
		put_cstr(&b, "name", ev->name);
		put_cstr(&b, "summary", ev->summary);
		break;
	case EV_APPROVAL:
		put_cstr(&b, "id", ev->id);
		put_cstr(&b, "name", ev->name);
		put_cstr(&b, "decision", ev->decision);
		put_cstr(&b, "reason", ev->reason);
		break;
	case EV_TOOL_OUTPUT:
		put_cstr(&b, "id", ev->id);
		buf_printf(&b, ",\"stream\":\"%s\"", ev->stream == 2 ? "stderr" : "stdout");
		put_key_str(&b, "text", ev->text, ev->len);
		break;
	case EV_TOOL_END:
		put_cstr(&b, "id", ev->id);
		put_cstr(&b, "name", ev->name);
		put_cstr(&b, "status", ev->status);
		if (ev->exit_code >= 0)
			buf_printf(&b, ",\"exit_code\":%d", ev->exit_code);
		else
			buf_puts(&b, ",\"exit_code\":null");
		buf_printf(&b, ",\"duration_ms\":%lld", ev->duration_ms);
		put_key_str(&b, "result", ev->text, ev->text ? ev->len : 0);
		put_cstr(&b, "diff", ev->diff);
		break;
	case EV_NOTICE:
		put_key_str(&b, "text", ev->text, ev->text ? ev->len : 0);
		break;
	case EV_SUMMARY:
		put_cstr(&b, "status", ev->status);
		buf_printf(&b, ",\"exit_code\":%d", ev->exit_code);
		put_tokens(&b, "prompt_tokens", ev->prompt_tokens);
		put_tokens(&b, "completion_tokens", ev->completion_tokens);
		put_tokens(&b, "cached_tokens", ev->cached_tokens);
		put_cost(&b, "cost", ev->cost);
		buf_printf(&b, ",\"requests\":%lld,\"tool_calls\":%lld", ev->requests, ev->tool_calls);
		buf_puts(&b, ",\"files_changed\":[");
		for (size_t i = 0; i < ev->nfiles; i++) {
			if (i)
				buf_putc(&b, ',');
			json_put_string(&b, ev->files[i], strlen(ev->files[i]));
		}
		buf_putc(&b, ']');
		buf_printf(&b, ",\"duration_ms\":%lld", ev->duration_ms);
		put_cstr(&b, "session", ev->id);
		break;
	case EV_TURN_END:
		buf_printf(&b, ",\"turn\":%d", ev->turn);
		put_tokens(&b, "prompt_tokens", ev->prompt_tokens);
		put_tokens(&b, "completion_tokens", ev->completion_tokens);
		put_tokens(&b, "session_prompt_tokens", ev->session_prompt_tokens);
		put_tokens(&b, "session_completion_tokens", ev->session_completion_tokens);
		put_cost(&b, "cost", ev->cost);
		put_cost(&b, "session_cost", ev->session_cost);
		buf_printf(&b, ",\"duration_ms\":%lld", ev->duration_ms);
		break;
	}
	buf_puts(&b, "}\n");
	fwrite(b.data, 1, b.len, s->out);
	if (s->flush_each)
		fflush(s->out);
	buf_release(&b);
}

struct event_sink jsonl_sink(struct jsonl_sink *s, FILE *out)
{
	s->out = out;
	s->flush_each = true;
	return (struct event_sink){ jsonl_emit, s };
}

static void term_end_reasoning(struct term_sink *s)
{
	if (!s->in_reasoning)
		return;
	fprintf(s->err, "%s\n", s->color ? "\033[0m" : "");
	s->in_reasoning = false;
}

static void term_emit(void *ctx, const struct event *ev)
{
	struct term_sink *s = ctx;

	switch (ev->type) {
	case EV_START:
	case EV_USAGE:
	case EV_TOOL_CALL:
	case EV_APPROVAL:
		break;
	case EV_TOOL_START:
		term_end_reasoning(s);
		if (s->wrote_text && s->last != '\n') {
			fputc('\n', s->out);
			s->last = '\n';
		}
		fflush(s->out);
		if (!s->quiet)
			fprintf(s->err, "%s> %s%s\n", s->color ? "\033[36m" : "", ev->summary ? ev->summary : ev->name,
				s->color ? "\033[0m" : "");
		break;
	case EV_TOOL_OUTPUT:
		break;
	case EV_TOOL_END:
		if (!s->quiet && ev->status && strcmp(ev->status, "ok") != 0)
			fprintf(s->err, "%s  %s: %s%s\n", s->color ? "\033[33m" : "", ev->name, ev->status,
				s->color ? "\033[0m" : "");
		break;
	case EV_NOTICE:
		term_end_reasoning(s);
		if (!s->quiet && ev->text)
			fprintf(s->err, "forja: %.*s\n", (int)ev->len, ev->text);
		break;
	case EV_TURN_END:
	case EV_SUMMARY:
		break;
	case EV_REASONING:
		if (s->quiet || !s->show_reasoning || !ev->len)
			break;
		if (!s->in_reasoning) {
			fprintf(s->err, "%s", s->color ? "\033[2m" : "");
			s->in_reasoning = true;
		}
		fwrite(ev->text, 1, ev->len, s->err);
		if (s->flush_each)
			fflush(s->err);
		break;
	case EV_TEXT:
		if (!ev->len)
			break;
		term_end_reasoning(s);
		fwrite(ev->text, 1, ev->len, s->out);
		if (s->flush_each)
			fflush(s->out);
		s->last = ev->text[ev->len - 1];
		s->wrote_text = true;
		break;
	case EV_FINISH:
		term_end_reasoning(s);
		break;
	case EV_CUT:
		term_end_reasoning(s);
		if (s->wrote_text) {
			fprintf(s->out, "%s[cut: the connection failed; the answer starts again below]\n",
				s->last == '\n' ? "" : "\n");
			fflush(s->out);
			s->last = '\n';
		}
		break;
	case EV_RETRY:
		term_end_reasoning(s);
		if (!s->quiet)
			fprintf(s->err, "%sforja: %s, retrying in %.1f s (%d/%d)%s\n",
				s->color ? "\033[33m" : "", ev->reason, (double)ev->delay_ms / 1000.0,
				ev->attempt, ev->max_attempts, s->color ? "\033[0m" : "");
		break;
	case EV_ERROR:
		term_end_reasoning(s);
		if (s->wrote_text && s->last != '\n') {
			fputc('\n', s->out);
			s->last = '\n';
		}
		fflush(s->out);
		if (ev->error)
			fprintf(s->err, "%sforja:%s %s\n", s->color ? "\033[1;31m" : "",
				s->color ? "\033[0m" : "", ev->error->msg);
		break;
	case EV_DONE:
		term_end_reasoning(s);
		if (s->wrote_text && s->last != '\n') {
			fputc('\n', s->out);
			s->last = '\n';
		}
		fflush(s->out);
		break;
	}
}

struct event_sink term_sink(struct term_sink *s, FILE *out, FILE *err, bool color, bool quiet)
{
	memset(s, 0, sizeof *s);
	s->out = out;
	s->err = err;
	s->color = color;
	s->quiet = quiet;
	s->show_reasoning = true;
	s->flush_each = true;
	s->last = '\n';
	return (struct event_sink){ term_emit, s };
}

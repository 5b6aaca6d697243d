/*
 * anthropic.c — Anthropic Messages: the request body and the streamed
 * event parser (message_start, content_block_start/delta/stop with text,
 * thinking, signature and input_json deltas, message_delta, message_stop,
 * ping, error).  Thinking text and its signature are kept in the result:
 * the API wants them sent back unchanged with the next turn.
 */
#include <cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

void anthropic_build_request(const struct provider_config *pc, const struct chat_request *req,
			     struct buf *body)
{
	cJSON *root = cJSON_CreateObject(), *msgs, *m;
	char *text;

	cJSON_AddStringToObject(root, "model", pc->model ? pc->model : "");
	cJSON_AddNumberToObject(root, "max_tokens", (double)(pc->max_tokens > 0 ? pc->max_tokens : 8192));
	if (req->system)
		cJSON_AddStringToObject(root, "system", req->system);
	msgs = cJSON_AddArrayToObject(root, "messages");
	for (size_t i = 0; i < req->nmsgs; i++) {
		m = cJSON_CreateObject();
		cJSON_AddStringToObject(m, "role", req->msgs[i].role);
		cJSON_AddStringToObject(m, "content", req->msgs[i].content);
		cJSON_AddItemToArray(msgs, m);
	}
	cJSON_AddBoolToObject(root, "stream", 1);
	text = cJSON_PrintUnformatted(root);
	buf_puts(body, text ? text : "{}");
	free(text);
	cJSON_Delete(root);
}

static const char *str_of(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int64_t num_of(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsNumber(v) ? (int64_t)v->valuedouble : -1;
}

static struct stream_block *block_at(struct stream_state *st, const cJSON *root)
{
	const cJSON *idx = cJSON_GetObjectItemCaseSensitive(root, "index");
	double d = cJSON_IsNumber(idx) ? idx->valuedouble : -1;

	if (d < 0 || d > 4096)
		return NULL;
	size_t i = (size_t)d;
	if (i >= st->nblocks) {
		st->blocks = xrealloc(st->blocks, (i + 1) * sizeof *st->blocks);
		memset(st->blocks + st->nblocks, 0, (i + 1 - st->nblocks) * sizeof *st->blocks);
		st->nblocks = i + 1;
	}
	return &st->blocks[i];
}

static void block_start(struct stream_state *st, const cJSON *root)
{
	struct stream_block *b = block_at(st, root);
	const cJSON *cb = cJSON_GetObjectItemCaseSensitive(root, "content_block");
	const char *type = str_of(cb, "type");

	if (!b || !type)
		return;
	if (strcmp(type, "text") == 0) {
		b->type = BLOCK_TEXT;
		const char *t = str_of(cb, "text");
		if (t && *t)
			stream_delta(st, EV_TEXT, t, strlen(t));
	} else if (strcmp(type, "thinking") == 0) {
		b->type = BLOCK_THINKING;
		const char *t = str_of(cb, "thinking");
		if (t && *t)
			stream_delta(st, EV_REASONING, t, strlen(t));
	} else if (strcmp(type, "tool_use") == 0 || strcmp(type, "server_tool_use") == 0) {
		b->type = BLOCK_TOOL;
		b->call = stream_new_call(st);
		struct chat_tool_call *c = &st->result->calls[b->call];
		const char *id = str_of(cb, "id"), *name = str_of(cb, "name");
		c->id = xstrdup(id ? id : "");
		c->name = xstrdup(name ? name : "");
	} else {
		b->type = BLOCK_OTHER;
	}
}

static void block_delta(struct stream_state *st, const cJSON *root)
{
	struct stream_block *b = block_at(st, root);
	const cJSON *d = cJSON_GetObjectItemCaseSensitive(root, "delta");
	const char *type = str_of(d, "type"), *t;

	if (!b || !type)
		return;
	if (strcmp(type, "text_delta") == 0 && (t = str_of(d, "text")))
		stream_delta(st, EV_TEXT, t, strlen(t));
	else if (strcmp(type, "thinking_delta") == 0 && (t = str_of(d, "thinking")))
		stream_delta(st, EV_REASONING, t, strlen(t));
	else if (strcmp(type, "signature_delta") == 0 && (t = str_of(d, "signature")))
		buf_puts(&st->result->signature, t);
	else if (strcmp(type, "input_json_delta") == 0 && b->type == BLOCK_TOOL &&
		 (t = str_of(d, "partial_json")))
		buf_puts(&st->result->calls[b->call].arguments, t);
}

int anthropic_on_event(struct stream_state *st, const char *type, const char *data, size_t len)
{
	cJSON *root = cJSON_ParseWithLength(data, len);
	const char *kind;

	if (!root)
		return stream_fail(st, FERR_PROVIDER, false,
				   "%s sent a stream event that is not JSON: %.80s", st->pc->name, data);
	/* the data's own "type" is the truth; the event: line says the same */
	kind = str_of(root, "type");
	if (!kind)
		kind = type;
	if (strcmp(kind, "message_start") == 0) {
		const cJSON *usage = cJSON_GetObjectItemCaseSensitive(
			cJSON_GetObjectItemCaseSensitive(root, "message"), "usage");
		if (usage)
			stream_usage(st, num_of(usage, "input_tokens"), num_of(usage, "output_tokens"),
				     num_of(usage, "cache_read_input_tokens"), -1);
	} else if (strcmp(kind, "content_block_start") == 0) {
		block_start(st, root);
	} else if (strcmp(kind, "content_block_delta") == 0) {
		block_delta(st, root);
	} else if (strcmp(kind, "content_block_stop") == 0) {
		struct stream_block *b = block_at(st, root);
		if (b && b->type == BLOCK_TOOL)
			stream_emit_call(st, b->call);
	} else if (strcmp(kind, "message_delta") == 0) {
		const cJSON *usage = cJSON_GetObjectItemCaseSensitive(root, "usage");
		const char *stop = str_of(cJSON_GetObjectItemCaseSensitive(root, "delta"), "stop_reason");
		if (usage)
			stream_usage(st, num_of(usage, "input_tokens"), num_of(usage, "output_tokens"),
				     num_of(usage, "cache_read_input_tokens"), -1);
		if (stop)
			stream_finish(st, stop);
	} else if (strcmp(kind, "message_stop") == 0) {
		st->ended = true;
	} else if (strcmp(kind, "error") == 0) {
		const cJSON *err = cJSON_GetObjectItemCaseSensitive(root, "error");
		const char *etype = str_of(err, "type"), *msg = str_of(err, "message");
		bool retry = etype && (strcmp(etype, "overloaded_error") == 0 ||
				       strcmp(etype, "api_error") == 0 ||
				       strcmp(etype, "rate_limit_error") == 0);
		stream_fail(st, FERR_PROVIDER, retry, "%s reported %s mid-stream: %s", st->pc->name,
			    etype ? etype : "an error", msg ? msg : "(no message)");
		cJSON_Delete(root);
		return -1;
	}
	/* ping and unknown events: nothing to do */
	cJSON_Delete(root);
	return 0;
}

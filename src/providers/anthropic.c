/*
 * anthropic.c — Anthropic Messages: the request body (alternating turns
 * of content blocks: thinking, text, tool_use, tool_result) and the streamed
 * event parser (message_start, content_block_start/delta/stop with text,
 * thinking, signature and input_json deltas, message_delta, message_stop,
 * ping, error).  Thinking text and its signature are kept in the result:
 * the API wants them sent back unchanged with the next turn.
 */
#include <cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/*
 * Messages alternate between user and assistant, so the chat_msgs are
 * gathered into turns: consecutive user-side messages ("user", "tool")
 * become one user message, consecutive assistant messages one assistant
 * message.  In a user turn the tool_result blocks go first, in order, then
 * the text blocks: the API refuses text before a tool_result.
 *
 * Empty things are left out, because the API refuses an empty text block
 * and an empty content array: an assistant message with no text, no calls
 * and no thinking signature is skipped (the user-side messages around it
 * then make one turn), an empty user text adds no block.  A turn that is
 * one text block is sent as a plain string, as a conversation without
 * tools always was; a user turn with nothing in it is sent as "" for the
 * server to name the mistake.
 */
struct turn {
	const char *role;        /* "user", "assistant", or NULL: none open */
	cJSON *results;          /* tool_result blocks */
	cJSON *blocks;           /* everything else, in order */
};

static bool is_assistant(const struct chat_msg *msg)
{
	return msg->role && strcmp(msg->role, "assistant") == 0;
}

static bool is_tool(const struct chat_msg *msg)
{
	return msg->role && strcmp(msg->role, "tool") == 0;
}

static bool assistant_is_empty(const struct chat_msg *msg)
{
	return !(msg->content && *msg->content) && !msg->ncalls &&
	       !(msg->signature && *msg->signature);
}

static void add_text_block(cJSON *blocks, const char *text)
{
	cJSON *b = cJSON_CreateObject();

	cJSON_AddStringToObject(b, "type", "text");
	request_add_string(b, "text", text);
	cJSON_AddItemToArray(blocks, b);
}

static void turn_add(struct turn *t, const struct chat_msg *msg)
{
	cJSON *b;

	if (is_tool(msg)) {
		b = cJSON_CreateObject();
		cJSON_AddStringToObject(b, "type", "tool_result");
		request_add_string(b, "tool_use_id", msg->tool_call_id);
		/* content is optional, and an empty one says nothing */
		if (msg->content && *msg->content)
			request_add_string(b, "content", msg->content);
		if (msg->is_error)
			cJSON_AddTrueToObject(b, "is_error");
		cJSON_AddItemToArray(t->results, b);
		return;
	}
	if (is_assistant(msg) && msg->signature && *msg->signature) {
		b = cJSON_CreateObject();
		cJSON_AddStringToObject(b, "type", "thinking");
		request_add_string(b, "thinking", msg->reasoning);
		request_add_string(b, "signature", msg->signature);
		cJSON_AddItemToArray(t->blocks, b);
	}
	if (msg->content && *msg->content)
		add_text_block(t->blocks, msg->content);
	if (!is_assistant(msg))
		return;
	for (size_t i = 0; i < msg->ncalls; i++) {
		const struct chat_tool_use *use = &msg->calls[i];
		cJSON *input = request_object(use->arguments);
		b = cJSON_CreateObject();
		cJSON_AddStringToObject(b, "type", "tool_use");
		request_add_string(b, "id", use->id);
		request_add_string(b, "name", use->name);
		/* the agent refused arguments that are not an object; the call
		 * still has to be in the history for its result to answer it */
		cJSON_AddItemToObject(b, "input", input ? input : cJSON_CreateObject());
		cJSON_AddItemToArray(t->blocks, b);
	}
}

static void turn_close(struct turn *t, cJSON *msgs)
{
	cJSON *m, *content, *b;
	const char *type;

	if (!t->role)
		return;
	m = cJSON_CreateObject();
	cJSON_AddStringToObject(m, "role", t->role);
	content = t->results;
	while ((b = cJSON_DetachItemFromArray(t->blocks, 0)))
		cJSON_AddItemToArray(content, b);
	cJSON_Delete(t->blocks);
	b = cJSON_GetArrayItem(content, 0);
	if (!b) {
		cJSON_AddStringToObject(m, "content", "");
		cJSON_Delete(content);
	} else if (!b->next && (type = cJSON_GetStringValue(cJSON_GetObjectItem(b, "type"))) &&
		   strcmp(type, "text") == 0) {
		cJSON_AddItemToObject(m, "content", cJSON_DetachItemFromObject(b, "text"));
		cJSON_Delete(content);
	} else {
		cJSON_AddItemToObject(m, "content", content);
	}
	cJSON_AddItemToArray(msgs, m);
	memset(t, 0, sizeof *t);
}

static void build_messages(const struct chat_request *req, cJSON *msgs)
{
	struct turn t = { 0 };

	for (size_t i = 0; i < req->nmsgs; i++) {
		const struct chat_msg *msg = &req->msgs[i];
		const char *role = is_assistant(msg) ? "assistant" : "user";
		if (is_assistant(msg) && assistant_is_empty(msg))
			continue;
		if (t.role && strcmp(t.role, role) != 0)
			turn_close(&t, msgs);
		if (!t.role) {
			t.role = role;
			t.results = cJSON_CreateArray();
			t.blocks = cJSON_CreateArray();
		}
		turn_add(&t, msg);
	}
	turn_close(&t, msgs);
}

void anthropic_build_request(const struct provider_config *pc, const struct chat_request *req,
			     struct buf *body)
{
	cJSON *root = cJSON_CreateObject();

	cJSON_AddStringToObject(root, "model", pc->model ? pc->model : "");
	cJSON_AddNumberToObject(root, "max_tokens", (double)(pc->max_tokens > 0 ? pc->max_tokens : 8192));
	if (req->system)
		request_add_string(root, "system", req->system);
	build_messages(req, cJSON_AddArrayToObject(root, "messages"));
	if (req->ntools) {
		cJSON *tools = cJSON_AddArrayToObject(root, "tools");
		for (size_t i = 0; i < req->ntools; i++) {
			const struct chat_tool_def *def = &req->tools[i];
			cJSON *tool = cJSON_CreateObject();
			request_add_string(tool, "name", def->name);
			if (def->description)
				request_add_string(tool, "description", def->description);
			cJSON_AddItemToObject(tool, "input_schema", request_schema(def->parameters));
			cJSON_AddItemToArray(tools, tool);
		}
	}
	cJSON_AddBoolToObject(root, "stream", 1);
	request_print(root, body);
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

static int block_start(struct stream_state *st, const cJSON *root)
{
	struct stream_block *b = block_at(st, root);
	const cJSON *cb = cJSON_GetObjectItemCaseSensitive(root, "content_block");
	const char *type = str_of(cb, "type");

	if (!b || !type)
		return 0;
	memset(b, 0, sizeof *b);
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
		const cJSON *input = cJSON_GetObjectItemCaseSensitive(cb, "input");
		if (stream_new_call(st, &b->call) < 0)
			return -1;
		b->type = BLOCK_TOOL;
		struct chat_tool_call *c = &st->result->calls[b->call];
		const char *id = str_of(cb, "id"), *name = str_of(cb, "name");
		c->id = xstrdup(id ? id : "");
		c->name = xstrdup(name ? name : "");
		/* the input is {} here and arrives as input_json_delta, except
		 * from proxies that send it whole at the start */
		if (cJSON_IsObject(input) && input->child) {
			char *text = cJSON_PrintUnformatted(input);
			int rc = text ? stream_call_arguments(st, b->call, text, strlen(text)) : 0;
			free(text);
			if (rc < 0)
				return -1;
			b->start_input = true;
		}
	} else {
		b->type = BLOCK_OTHER;
	}
	return 0;
}

static int block_delta(struct stream_state *st, const cJSON *root)
{
	struct stream_block *b = block_at(st, root);
	const cJSON *d = cJSON_GetObjectItemCaseSensitive(root, "delta");
	const char *type = str_of(d, "type"), *t;

	if (!b || !type)
		return 0;
	if (strcmp(type, "text_delta") == 0 && (t = str_of(d, "text"))) {
		stream_delta(st, EV_TEXT, t, strlen(t));
	} else if (strcmp(type, "thinking_delta") == 0 && (t = str_of(d, "thinking"))) {
		stream_delta(st, EV_REASONING, t, strlen(t));
	} else if (strcmp(type, "signature_delta") == 0 && (t = str_of(d, "signature"))) {
		buf_puts(&st->result->signature, t);
	} else if (strcmp(type, "input_json_delta") == 0 && b->type == BLOCK_TOOL &&
		   (t = str_of(d, "partial_json")) && *t) {
		if (b->start_input) {
			/* the deltas are the input: what the start held was a preview */
			buf_reset(&st->result->calls[b->call].arguments);
			b->start_input = false;
		}
		return stream_call_arguments(st, b->call, t, strlen(t));
	}
	return 0;
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
		if (block_start(st, root) < 0) {
			cJSON_Delete(root);
			return -1;
		}
	} else if (strcmp(kind, "content_block_delta") == 0) {
		if (block_delta(st, root) < 0) {
			cJSON_Delete(root);
			return -1;
		}
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

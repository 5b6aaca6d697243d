/*
 * openai.c — OpenAI Chat Completions: the request body and the streamed
 * chat.completion.chunk parser.  The same code serves every server that
 * speaks this protocol (Ollama, llama.cpp, vLLM, LM Studio, OpenRouter):
 * reasoning arrives as delta.reasoning_content (llama.cpp, vLLM, DeepSeek)
 * or delta.reasoning (Ollama, OpenRouter); tool calls arrive as fragments
 * keyed by index, the arguments split anywhere.
 */
#include <cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

void openai_build_request(const struct provider_config *pc, const struct chat_request *req,
			  struct buf *body)
{
	cJSON *root = cJSON_CreateObject(), *msgs, *m;
	char *text;

	cJSON_AddStringToObject(root, "model", pc->model ? pc->model : "");
	msgs = cJSON_AddArrayToObject(root, "messages");
	if (req->system) {
		m = cJSON_CreateObject();
		cJSON_AddStringToObject(m, "role", "system");
		cJSON_AddStringToObject(m, "content", req->system);
		cJSON_AddItemToArray(msgs, m);
	}
	for (size_t i = 0; i < req->nmsgs; i++) {
		m = cJSON_CreateObject();
		cJSON_AddStringToObject(m, "role", req->msgs[i].role);
		cJSON_AddStringToObject(m, "content", req->msgs[i].content);
		cJSON_AddItemToArray(msgs, m);
	}
	cJSON_AddBoolToObject(root, "stream", 1);
	cJSON_AddBoolToObject(cJSON_AddObjectToObject(root, "stream_options"), "include_usage", 1);
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

static void tool_fragment(struct stream_state *st, const cJSON *tc)
{
	const cJSON *fn = cJSON_GetObjectItemCaseSensitive(tc, "function");
	const cJSON *idx = cJSON_GetObjectItemCaseSensitive(tc, "index");
	long index = cJSON_IsNumber(idx) ? (long)idx->valuedouble : 0;
	const char *id = str_of(tc, "id");
	const char *name = str_of(fn, "name");
	const char *args = str_of(fn, "arguments");
	struct chat_result *r = st->result;
	size_t slot = r->ncalls;

	for (size_t i = 0; i < r->ncalls; i++)
		if (st->call_index[i] == index)
			slot = i;
	/* some servers omit the index and send one call per fragment with an id */
	if (slot < r->ncalls && !cJSON_IsNumber(idx) && id && r->calls[slot].id &&
	    strcmp(id, r->calls[slot].id) != 0)
		slot = r->ncalls;
	if (slot == r->ncalls) {
		slot = stream_new_call(st);
		st->call_index[slot] = cJSON_IsNumber(idx) ? index : (long)slot;
	}
	struct chat_tool_call *c = &r->calls[slot];
	if (id && *id && !c->id)
		c->id = xstrdup(id);
	if (name && *name) {
		/* a name is sent whole once; a server that streams it in pieces
		 * sends pieces that differ */
		if (!c->name) {
			c->name = xstrdup(name);
		} else if (strcmp(c->name, name) != 0) {
			size_t a = strlen(c->name), b = strlen(name);
			c->name = xrealloc(c->name, a + b + 1);
			memcpy(c->name + a, name, b + 1);
		}
	}
	if (args)
		buf_puts(&c->arguments, args);
}

int openai_on_event(struct stream_state *st, const char *type, const char *data, size_t len)
{
	cJSON *root, *choices, *usage, *error;

	(void)type;
	if (len == 6 && memcmp(data, "[DONE]", 6) == 0) {
		st->ended = true;
		return 0;
	}
	root = cJSON_ParseWithLength(data, len);
	if (!root)
		return stream_fail(st, FERR_PROVIDER, false,
				   "%s sent a stream event that is not JSON: %.80s", st->pc->name, data);
	error = cJSON_GetObjectItemCaseSensitive(root, "error");
	if (error) {
		const char *msg = cJSON_IsString(error) ? error->valuestring : str_of(error, "message");
		stream_fail(st, FERR_PROVIDER, true, "%s reported an error mid-stream: %s",
			    st->pc->name, msg ? msg : "(no message)");
		cJSON_Delete(root);
		return -1;
	}
	choices = cJSON_GetObjectItemCaseSensitive(root, "choices");
	const cJSON *choice = cJSON_IsArray(choices) ? cJSON_GetArrayItem(choices, 0) : NULL;
	if (choice) {
		const cJSON *delta = cJSON_GetObjectItemCaseSensitive(choice, "delta");
		const cJSON *v;
		if (!delta) /* a non-streamed shape inside a stream (some proxies) */
			delta = cJSON_GetObjectItemCaseSensitive(choice, "message");
		if ((v = cJSON_GetObjectItemCaseSensitive(delta, "reasoning_content")) &&
		    cJSON_IsString(v))
			stream_delta(st, EV_REASONING, v->valuestring, strlen(v->valuestring));
		else if ((v = cJSON_GetObjectItemCaseSensitive(delta, "reasoning")) && cJSON_IsString(v))
			stream_delta(st, EV_REASONING, v->valuestring, strlen(v->valuestring));
		if ((v = cJSON_GetObjectItemCaseSensitive(delta, "content")) && cJSON_IsString(v))
			stream_delta(st, EV_TEXT, v->valuestring, strlen(v->valuestring));
		const cJSON *calls = cJSON_GetObjectItemCaseSensitive(delta, "tool_calls"), *tc;
		cJSON_ArrayForEach(tc, calls)
			tool_fragment(st, tc);
		const char *finish = str_of(choice, "finish_reason");
		if (finish && *finish)
			stream_finish(st, finish);
	}
	usage = cJSON_GetObjectItemCaseSensitive(root, "usage");
	if (cJSON_IsObject(usage)) {
		const cJSON *pd = cJSON_GetObjectItemCaseSensitive(usage, "prompt_tokens_details");
		const cJSON *cd = cJSON_GetObjectItemCaseSensitive(usage, "completion_tokens_details");
		stream_usage(st, num_of(usage, "prompt_tokens"), num_of(usage, "completion_tokens"),
			     num_of(pd, "cached_tokens"), num_of(cd, "reasoning_tokens"));
	}
	cJSON_Delete(root);
	return 0;
}

/*
 * openai.c — OpenAI Chat Completions: the request body (tools as
 * functions, the model's calls as tool_calls, their results as "tool"
 * messages) and the streamed chat.completion.chunk parser.  The same code serves every server that
 * speaks this protocol (Ollama, llama.cpp, vLLM, LM Studio, OpenRouter):
 * reasoning arrives as delta.reasoning_content (llama.cpp, vLLM, DeepSeek)
 * or delta.reasoning (Ollama, OpenRouter); tool calls arrive as fragments
 * keyed by index, the arguments split anywhere.
 */
#include <cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static bool is_tool(const struct chat_msg *msg)
{
	return msg->role && strcmp(msg->role, "tool") == 0;
}

static bool is_user_side(const struct chat_msg *msg)
{
	return !msg->role || strcmp(msg->role, "assistant") != 0;
}

/* One chat_msg as a Chat Completions message.  Assistant reasoning is
 * not sent back: the protocol has no field for it. */
static cJSON *build_message(const struct chat_msg *msg)
{
	cJSON *m = cJSON_CreateObject();
	const char *role = msg->role ? msg->role : "user";

	cJSON_AddStringToObject(m, "role", role);
	if (strcmp(role, "tool") == 0) {
		request_add_string(m, "tool_call_id", msg->tool_call_id);
		request_add_string(m, "content", msg->content);
		return m;
	}
	if (strcmp(role, "assistant") != 0 || !msg->ncalls) {
		request_add_string(m, "content", msg->content);
		return m;
	}
	if (msg->content && *msg->content)
		request_add_string(m, "content", msg->content);
	else
		cJSON_AddNullToObject(m, "content");
	cJSON *calls = cJSON_AddArrayToObject(m, "tool_calls");
	for (size_t i = 0; i < msg->ncalls; i++) {
		const struct chat_tool_use *use = &msg->calls[i];
		cJSON *call = cJSON_CreateObject(), *fn;
		request_add_string(call, "id", use->id);
		cJSON_AddStringToObject(call, "type", "function");
		fn = cJSON_AddObjectToObject(call, "function");
		request_add_string(fn, "name", use->name);
		request_add_string(fn, "arguments",
				   use->arguments && *use->arguments ? use->arguments : "{}");
		cJSON_AddItemToArray(calls, call);
	}
	return m;
}

void openai_build_request(const struct provider_config *pc, const struct chat_request *req,
			  struct buf *body)
{
	cJSON *root = cJSON_CreateObject(), *msgs, *m;

	cJSON_AddStringToObject(root, "model", pc->model ? pc->model : "");
	msgs = cJSON_AddArrayToObject(root, "messages");
	if (req->system) {
		m = cJSON_CreateObject();
		cJSON_AddStringToObject(m, "role", "system");
		request_add_string(m, "content", req->system);
		cJSON_AddItemToArray(msgs, m);
	}
	/* In each run of user-side messages the tool messages go first: they
	 * must follow the assistant message whose calls they answer, and a
	 * user message between them is refused. */
	for (size_t start = 0, end; start < req->nmsgs; start = end) {
		end = start + 1;
		if (!is_user_side(&req->msgs[start])) {
			cJSON_AddItemToArray(msgs, build_message(&req->msgs[start]));
			continue;
		}
		while (end < req->nmsgs && is_user_side(&req->msgs[end]))
			end++;
		for (int pass = 0; pass < 2; pass++)
			for (size_t i = start; i < end; i++)
				if (is_tool(&req->msgs[i]) == (pass == 0))
					cJSON_AddItemToArray(msgs, build_message(&req->msgs[i]));
	}
	/* no tools, no "tools" key: some servers refuse an empty array */
	if (req->ntools) {
		cJSON *tools = cJSON_AddArrayToObject(root, "tools");
		for (size_t i = 0; i < req->ntools; i++) {
			const struct chat_tool_def *def = &req->tools[i];
			cJSON *tool = cJSON_CreateObject(), *fn;
			cJSON_AddStringToObject(tool, "type", "function");
			fn = cJSON_AddObjectToObject(tool, "function");
			request_add_string(fn, "name", def->name);
			if (def->description)
				request_add_string(fn, "description", def->description);
			cJSON_AddItemToObject(fn, "parameters", request_schema(def->parameters));
			cJSON_AddItemToArray(tools, tool);
		}
	}
	cJSON_AddBoolToObject(root, "stream", 1);
	cJSON_AddBoolToObject(cJSON_AddObjectToObject(root, "stream_options"), "include_usage", 1);
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

/* The call a fragment belongs to.  Servers number calls with "index";
 * some omit it and send each call with its own id, the continuations of
 * the last one with neither. */
static int fragment_slot(struct stream_state *st, const cJSON *idx, const char *id, size_t *slot)
{
	struct chat_result *r = st->result;

	if (cJSON_IsNumber(idx)) {
		double d = idx->valuedouble;
		long index = d >= 0 && d <= (double)STREAM_MAX_CALLS ? (long)d : -2;
		/* the latest call with that index, unless this fragment starts
		 * another call (Gemini numbers every parallel call 0) */
		for (size_t i = r->ncalls; i-- > 0;)
			if (st->call_index[i] == index) {
				if (id && *id && r->calls[i].id && strcmp(r->calls[i].id, id) != 0)
					break;
				*slot = i;
				return 0;
			}
		if (stream_new_call(st, slot) < 0)
			return -1;
		st->call_index[*slot] = index;
		return 0;
	}
	if (id && *id) {
		for (size_t i = 0; i < r->ncalls; i++)
			if (r->calls[i].id && strcmp(r->calls[i].id, id) == 0) {
				*slot = i;
				return 0;
			}
	} else if (r->ncalls) {
		*slot = r->ncalls - 1;
		return 0;
	}
	return stream_new_call(st, slot);
}

static int tool_fragment(struct stream_state *st, const cJSON *tc)
{
	const cJSON *fn = cJSON_GetObjectItemCaseSensitive(tc, "function");
	const cJSON *args = cJSON_GetObjectItemCaseSensitive(fn, "arguments");
	const char *id = str_of(tc, "id");
	const char *name = str_of(fn, "name");
	size_t slot;
	int rc = 0;

	if (fragment_slot(st, cJSON_GetObjectItemCaseSensitive(tc, "index"), id, &slot) < 0)
		return -1;
	struct chat_tool_call *c = &st->result->calls[slot];
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
	if (cJSON_IsString(args)) {
		rc = stream_call_arguments(st, slot, args->valuestring, strlen(args->valuestring));
	} else if (cJSON_IsObject(args)) {
		/* a few servers send the arguments parsed, as Ollama's own API does */
		char *text = cJSON_PrintUnformatted(args);
		if (text)
			rc = stream_call_arguments(st, slot, text, strlen(text));
		free(text);
	}
	return rc;
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
		if (!cJSON_IsArray(calls))
			calls = NULL;
		cJSON_ArrayForEach(tc, calls)
			if (cJSON_IsObject(tc) && tool_fragment(st, tc) < 0) {
				cJSON_Delete(root);
				return -1;
			}
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

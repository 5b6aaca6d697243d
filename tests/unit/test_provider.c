/* The stream assemblers (OpenAI chunks, Anthropic events), the request
 * builders (tools, tool calls and results, thinking), error
 * classification, back-off and key redaction, fed directly. */
#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/providers/internal.h"
#include "tap.h"

struct capture {
	struct buf text, reasoning, calls, finish;
	int usage_events;
	int64_t prompt, completion, cached;
};

static void capture_emit(void *ctx, const struct event *ev)
{
	struct capture *c = ctx;

	switch (ev->type) {
	case EV_TEXT:
		buf_add(&c->text, ev->text, ev->len);
		break;
	case EV_REASONING:
		buf_add(&c->reasoning, ev->text, ev->len);
		break;
	case EV_TOOL_CALL:
		buf_printf(&c->calls, "[%s|%s|%s]", ev->id, ev->name, ev->arguments);
		break;
	case EV_FINISH:
		buf_printf(&c->finish, "%s/%s", ev->reason, ev->raw_reason);
		break;
	case EV_USAGE:
		c->usage_events++;
		c->prompt = ev->prompt_tokens;
		c->completion = ev->completion_tokens;
		c->cached = ev->cached_tokens;
		break;
	default:
		break;
	}
}

static void capture_release(struct capture *c)
{
	buf_release(&c->text);
	buf_release(&c->reasoning);
	buf_release(&c->calls);
	buf_release(&c->finish);
}

struct harness {
	struct provider_config pc;
	struct event_bus bus;
	struct capture cap;
	struct chat_result result;
	struct stream_state st;
};

static void harness_init(struct harness *h, enum provider_kind kind)
{
	memset(h, 0, sizeof *h);
	h->pc.name = "test";
	h->pc.kind = kind;
	h->pc.api_key = "sk-secret-key-123456";
	events_init(&h->bus);
	events_add_sink(&h->bus, (struct event_sink){ capture_emit, &h->cap });
	stream_state_init(&h->st, &h->pc, &h->bus, &h->result);
}

static void harness_release(struct harness *h)
{
	stream_state_release(&h->st);
	chat_result_release(&h->result);
	capture_release(&h->cap);
}

static void feed(struct harness *h, const char *type, const char *data)
{
	if (h->pc.kind == PROVIDER_ANTHROPIC)
		anthropic_on_event(&h->st, type, data, strlen(data));
	else
		openai_on_event(&h->st, type, data, strlen(data));
}

static void test_openai(void)
{
	struct harness h;

	harness_init(&h, PROVIDER_OPENAI);
	feed(&h, "message", "{\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}]}");
	/* "é" (c3 a9) cannot be split inside JSON text, but a server's raw
	 * bytes can be: hand the halves over as two deltas */
	stream_delta(&h.st, EV_TEXT, "caf\xc3", 4);
	tap_is_int((long long)h.cap.text.len, 3, "an incomplete UTF-8 sequence is held back");
	stream_delta(&h.st, EV_TEXT, "\xa9!", 2);
	tap_is_str(buf_cstr(&h.cap.text), "caf\xc3\xa9!", "and completed by the next delta");
	feed(&h, "message", "{\"choices\":[{\"delta\":{\"reasoning_content\":\"think\"}}]}");
	feed(&h, "message", "{\"choices\":[{\"delta\":{\"reasoning\":\"ing\"}}]}");
	tap_is_str(buf_cstr(&h.cap.reasoning), "thinking", "reasoning_content and reasoning are reasoning");
	tap_is_str(buf_cstr(&h.cap.text), "caf\xc3\xa9!", "reasoning stays out of the answer");
	/* two calls interleaved, arguments split inside an escape */
	feed(&h, "message", "{\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"call_a\",\"type\":\"function\",\"function\":{\"name\":\"read\",\"arguments\":\"{\\\"p\\\":\\\"a\\\\\"}}]}}]}");
	feed(&h, "message", "{\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":1,\"id\":\"call_b\",\"function\":{\"name\":\"write\",\"arguments\":\"{}\"}}]}}]}");
	feed(&h, "message", "{\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"\\\"b\\\"}\"}}]}}]}");
	tap_is_str(buf_cstr(&h.cap.calls), "", "tool calls wait for the finish");
	feed(&h, "message", "{\"choices\":[{\"delta\":{},\"finish_reason\":\"tool_calls\"}]}");
	tap_is_str(buf_cstr(&h.cap.calls), "[call_a|read|{\"p\":\"a\\\"b\"}][call_b|write|{}]",
		   "interleaved calls assembled by index, exactly");
	tap_is_str(buf_cstr(&h.cap.finish), "tool_calls/tool_calls", "finish reason reported");
	feed(&h, "message", "{\"choices\":[],\"usage\":{\"prompt_tokens\":10,\"completion_tokens\":5,\"prompt_tokens_details\":{\"cached_tokens\":4}}}");
	tap_is_int(h.cap.usage_events, 1, "usage reported once");
	tap_is_int(h.cap.prompt, 10, "prompt tokens");
	tap_is_int(h.cap.cached, 4, "cached tokens");
	feed(&h, "message", "[DONE]");
	tap_ok(h.st.ended, "[DONE] ends the stream");
	tap_ok(!h.st.failed, "no failure on a good stream");
	harness_release(&h);

	harness_init(&h, PROVIDER_OPENAI);
	feed(&h, "message", "not json");
	tap_ok(h.st.failed && !h.st.retryable, "a chunk that is not JSON fails the stream");
	harness_release(&h);

	harness_init(&h, PROVIDER_OPENAI);
	feed(&h, "message", "{\"error\":{\"message\":\"bad key sk-secret-key-123456 used\"}}");
	tap_ok(h.st.failed && h.st.retryable, "an error chunk mid-stream is retryable");
	tap_ok(strstr(h.st.err.msg, "sk-secret") == NULL, "the key is redacted from it");
	tap_contains(h.st.err.msg, "[redacted]", "and says so");
	harness_release(&h);

	/* a finish of "stop" with tool calls still delivers the calls */
	harness_init(&h, PROVIDER_OPENAI);
	feed(&h, "message", "{\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"c\",\"function\":{\"name\":\"ls\",\"arguments\":\"\"}}]}}]}");
	feed(&h, "message", "{\"choices\":[{\"delta\":{},\"finish_reason\":\"stop\"}]}");
	tap_is_str(buf_cstr(&h.cap.calls), "[c|ls|{}]", "empty arguments become {}");
	harness_release(&h);
}

static void test_anthropic(void)
{
	struct harness h;

	harness_init(&h, PROVIDER_ANTHROPIC);
	feed(&h, "message_start", "{\"type\":\"message_start\",\"message\":{\"usage\":{\"input_tokens\":12,\"output_tokens\":1,\"cache_read_input_tokens\":3}}}");
	feed(&h, "content_block_start", "{\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"thinking\",\"thinking\":\"\"}}");
	feed(&h, "content_block_delta", "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"thinking_delta\",\"thinking\":\"hmm\"}}");
	feed(&h, "content_block_delta", "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"signature_delta\",\"signature\":\"SIG\"}}");
	feed(&h, "ping", "{\"type\": \"ping\"}");
	feed(&h, "content_block_start", "{\"type\":\"content_block_start\",\"index\":1,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}");
	feed(&h, "content_block_delta", "{\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hello\"}}");
	feed(&h, "content_block_start", "{\"type\":\"content_block_start\",\"index\":2,\"content_block\":{\"type\":\"tool_use\",\"id\":\"toolu_1\",\"name\":\"read\",\"input\":{}}}");
	feed(&h, "content_block_delta", "{\"type\":\"content_block_delta\",\"index\":2,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"path\\\": \\\"caf\"}}");
	feed(&h, "content_block_delta", "{\"type\":\"content_block_delta\",\"index\":2,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"\\u00e9\\\"}\"}}");
	tap_is_str(buf_cstr(&h.cap.calls), "", "a tool_use block waits for its stop");
	feed(&h, "content_block_stop", "{\"type\":\"content_block_stop\",\"index\":2}");
	tap_is_str(buf_cstr(&h.cap.calls), "[toolu_1|read|{\"path\": \"caf\xc3\xa9\"}]",
		   "tool_use input assembled from partial_json");
	feed(&h, "message_delta", "{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\"},\"usage\":{\"output_tokens\":20}}");
	feed(&h, "message_stop", "{\"type\":\"message_stop\"}");
	tap_is_str(buf_cstr(&h.cap.reasoning), "hmm", "thinking is reasoning");
	tap_is_str(buf_cstr(&h.result.signature), "SIG", "the thinking signature is kept");
	tap_is_str(buf_cstr(&h.cap.text), "Hello", "text");
	tap_is_str(buf_cstr(&h.cap.finish), "tool_calls/tool_use", "tool_use normalised to tool_calls");
	tap_is_int(h.cap.completion, 20, "output tokens from message_delta");
	tap_is_int(h.cap.prompt, 12, "input tokens from message_start");
	tap_is_int(h.cap.cached, 3, "cache reads");
	tap_ok(h.st.ended && !h.st.failed, "message_stop ends the stream");
	harness_release(&h);

	harness_init(&h, PROVIDER_ANTHROPIC);
	feed(&h, "error", "{\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}");
	tap_ok(h.st.failed && h.st.retryable, "overloaded_error mid-stream is retryable");
	harness_release(&h);
	harness_init(&h, PROVIDER_ANTHROPIC);
	feed(&h, "error", "{\"type\":\"error\",\"error\":{\"type\":\"invalid_request_error\",\"message\":\"no\"}}");
	tap_ok(h.st.failed && !h.st.retryable, "invalid_request_error is not");
	harness_release(&h);
	harness_init(&h, PROVIDER_ANTHROPIC);
	feed(&h, "content_block_delta", "{\"type\":\"content_block_delta\",\"index\":99999999,\"delta\":{\"type\":\"text_delta\",\"text\":\"x\"}}");
	tap_ok(!h.st.failed && h.cap.text.len == 0, "an absurd block index is ignored, not allocated");
	harness_release(&h);
}


/* A few more stream shapes: calls without an index or an id, Gemini's
 * parallel calls all numbered 0, arguments sent parsed, hostile counts. */
static void test_openai_calls_odd(void)
{
	struct harness h;
	int rc;

	/* no index at all: each call has its id, continuations have neither */
	harness_init(&h, PROVIDER_OPENAI);
	feed(&h, "message", "{\"choices\":[{\"delta\":{\"tool_calls\":[{\"id\":\"a\",\"function\":{\"name\":\"ls\",\"arguments\":\"{\\\"p\\\":\"}}]}}]}");
	feed(&h, "message", "{\"choices\":[{\"delta\":{\"tool_calls\":[{\"function\":{\"arguments\":\"1}\"}}]}}]}");
	feed(&h, "message", "{\"choices\":[{\"delta\":{\"tool_calls\":[{\"id\":\"b\",\"function\":{\"name\":\"cat\",\"arguments\":\"{}\"}}]}}]}");
	feed(&h, "message", "{\"choices\":[{\"delta\":{},\"finish_reason\":\"stop\"}]}");
	tap_is_str(buf_cstr(&h.cap.calls), "[a|ls|{\"p\":1}][b|cat|{}]",
		   "without an index, a fragment with no id continues the last call");
	tap_is_str(h.result.finish, "tool_calls", "finish \"stop\" with calls is tool_calls in the result");
	tap_is_str(buf_cstr(&h.cap.finish), "tool_calls/stop", "and in the event, the raw reason kept");
	harness_release(&h);

	/* Gemini: index 0 for every call, told apart by the id */
	harness_init(&h, PROVIDER_OPENAI);
	feed(&h, "message", "{\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"g1\",\"function\":{\"name\":\"a\",\"arguments\":\"{\\\"x\\\":\"}}]}}]}");
	feed(&h, "message", "{\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"1}\"}}]}}]}");
	feed(&h, "message", "{\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"g2\",\"function\":{\"name\":\"b\",\"arguments\":\"{\\\"y\\\":2}\"}}]}}]}");
	feed(&h, "message", "{\"choices\":[{\"delta\":{},\"finish_reason\":\"tool_calls\"}]}");
	tap_is_str(buf_cstr(&h.cap.calls), "[g1|a|{\"x\":1}][g2|b|{\"y\":2}]",
		   "calls sharing index 0 with different ids are two calls");
	tap_is_int((long long)h.result.ncalls, 2, "two calls in the result");
	harness_release(&h);

	/* no id anywhere, arguments as an object, an absurd index */
	harness_init(&h, PROVIDER_OPENAI);
	feed(&h, "message", "{\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":1e300,\"function\":{\"name\":\"x\",\"arguments\":{\"k\":[1,\"v\"]}}}]}}]}");
	feed(&h, "message", "{\"choices\":[{\"delta\":{},\"finish_reason\":\"tool_calls\"}]}");
	tap_is_str(buf_cstr(&h.cap.calls), "[call_0|x|{\"k\":[1,\"v\"]}]",
		   "a call without an id gets call_<n>; parsed arguments are printed back");
	tap_is_str(h.result.calls[0].id, "call_0", "the result holds the made-up id");
	tap_ok(!h.st.failed, "an index out of range is not an error");
	harness_release(&h);

	/* finish "length" with a call: the call is cut, the reason stays */
	harness_init(&h, PROVIDER_OPENAI);
	feed(&h, "message", "{\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"c\",\"function\":{\"name\":\"w\",\"arguments\":\"{\\\"t\\\":\\\"ab\"}}]}}]}");
	feed(&h, "message", "{\"choices\":[{\"delta\":{},\"finish_reason\":\"length\"}]}");
	tap_is_str(h.result.finish, "length", "finish length with a call stays length");
	harness_release(&h);

	/* hostile shapes: tool_calls not an array, function not an object,
	 * arguments a number, an index that is a string */
	harness_init(&h, PROVIDER_OPENAI);
	feed(&h, "message", "{\"choices\":[{\"delta\":{\"tool_calls\":{\"index\":0}}}]}");
	feed(&h, "message", "{\"choices\":[{\"delta\":{\"tool_calls\":[7,{\"index\":\"0\",\"function\":[1]},{\"function\":{\"name\":\"n\",\"arguments\":5}}]}}]}");
	feed(&h, "message", "{\"choices\":[{\"delta\":{},\"finish_reason\":\"tool_calls\"}]}");
	tap_ok(!h.st.failed, "malformed tool_calls shapes do not fail the stream");
	tap_is_str(buf_cstr(&h.cap.calls), "[call_0|n|{}]",
		   "they make at most one nameless-argument call, with a made-up id");
	harness_release(&h);

	/* arguments that never end */
	harness_init(&h, PROVIDER_OPENAI);
	{
		struct buf chunk = BUF_INIT;
		size_t piece = 1024 * 1024;
		buf_puts(&chunk, "{\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"c\",\"function\":{\"name\":\"big\",\"arguments\":\"");
		for (size_t i = 0; i < piece; i++)
			buf_putc(&chunk, 'x');
		buf_puts(&chunk, "\"}}]}}]}");
		rc = 0;
		for (int i = 0; i < 20 && rc == 0; i++)
			rc = openai_on_event(&h.st, "message", chunk.data, chunk.len);
		buf_release(&chunk);
	}
	tap_ok(rc < 0 && h.st.failed && !h.st.retryable, "arguments past STREAM_MAX_ARGUMENTS fail the stream");
	tap_contains(h.st.err.msg, "tool call arguments longer than", "and say why");
	tap_ok(h.result.calls[0].arguments.len <= STREAM_MAX_ARGUMENTS, "nothing past the limit is kept");
	harness_release(&h);

	/* a server that never stops numbering calls */
	harness_init(&h, PROVIDER_OPENAI);
	rc = 0;
	for (int i = 0; i <= STREAM_MAX_CALLS && rc == 0; i++) {
		char chunk[160];
		snprintf(chunk, sizeof chunk, "{\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":%d,\"id\":\"c%d\",\"function\":{\"name\":\"n\",\"arguments\":\"{}\"}}]}}]}", i, i);
		rc = openai_on_event(&h.st, "message", chunk, strlen(chunk));
	}
	tap_ok(rc < 0 && h.st.failed && !h.st.retryable, "more than STREAM_MAX_CALLS calls fails the stream");
	tap_contains(h.st.err.msg, "more than 1024 tool calls", "and says why");
	tap_is_int((long long)h.result.ncalls, STREAM_MAX_CALLS, "no call past the limit is kept");
	harness_release(&h);
}

static void test_anthropic_calls_odd(void)
{
	struct harness h;

	harness_init(&h, PROVIDER_ANTHROPIC);
	/* a proxy that sends the input whole in content_block_start */
	feed(&h, "content_block_start", "{\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"tool_use\",\"id\":\"t1\",\"name\":\"ls\",\"input\":{\"path\":\"src\"}}}");
	feed(&h, "content_block_stop", "{\"type\":\"content_block_stop\",\"index\":0}");
	/* a start preview, then the real input in deltas (the first empty) */
	feed(&h, "content_block_start", "{\"type\":\"content_block_start\",\"index\":1,\"content_block\":{\"type\":\"tool_use\",\"id\":\"t2\",\"name\":\"cat\",\"input\":{\"partial\":true}}}");
	feed(&h, "content_block_delta", "{\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"\"}}");
	feed(&h, "content_block_delta", "{\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"f\\\":\"}}");
	feed(&h, "content_block_delta", "{\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"\\\"a\\\"}\"}}");
	feed(&h, "content_block_stop", "{\"type\":\"content_block_stop\",\"index\":1}");
	/* no id */
	feed(&h, "content_block_start", "{\"type\":\"content_block_start\",\"index\":2,\"content_block\":{\"type\":\"tool_use\",\"name\":\"pwd\",\"input\":{}}}");
	feed(&h, "content_block_stop", "{\"type\":\"content_block_stop\",\"index\":2}");
	feed(&h, "message_delta", "{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\"}}");
	tap_is_str(buf_cstr(&h.cap.calls), "[t1|ls|{\"path\":\"src\"}][t2|cat|{\"f\":\"a\"}][call_2|pwd|{}]",
		   "input from content_block_start, replaced by deltas when they come; ids made up");
	tap_is_int((long long)h.result.ncalls, 3, "three calls in the result");
	tap_is_str(h.result.finish, "tool_calls", "stop_reason tool_use is finish tool_calls");
	tap_is_str(buf_cstr(&h.result.calls[1].arguments), "{\"f\":\"a\"}", "arguments kept exactly");
	harness_release(&h);
}

/* ---------------------------------------------------------------- requests */

/* Parse got, compare it with want (JSON written with ' for "), and show
 * both compactly when they differ. */
static void is_json(const char *got, const char *want_quoted, const char *name)
{
	char *want_text = xstrdup(want_quoted);
	for (char *p = want_text; *p; p++)
		if (*p == '\'')
			*p = '"';
	cJSON *want = cJSON_Parse(want_text);
	cJSON *have = cJSON_Parse(got);
	if (!want) {
		tap_ok(0, name);
		printf("# the expected JSON does not parse: %s\n", want_text);
	} else if (cJSON_Compare(have, want, 1)) {
		tap_ok(1, name);
	} else {
		char *a = have ? cJSON_PrintUnformatted(have) : xstrdup(got);
		char *b = cJSON_PrintUnformatted(want);
		tap_is_str(a, b, name);
		free(a);
		free(b);
	}
	cJSON_Delete(want);
	cJSON_Delete(have);
	free(want_text);
}

/* The member key of the JSON object text, printed compactly ("" when
 * absent), for asserting one part of a request. */
static char *json_member(const char *text, const char *key)
{
	cJSON *root = cJSON_Parse(text);
	cJSON *v = cJSON_GetObjectItemCaseSensitive(root, key);
	char *out = v ? cJSON_PrintUnformatted(v) : xstrdup("");

	cJSON_Delete(root);
	return out;
}

static const struct chat_tool_def tools[] = {
	{ "list_dir", "List a directory",
	  "{\"type\":\"object\",\"properties\":{\"path\":{\"type\":\"string\"}},\"required\":[\"path\"]}" },
	{ "read_file", NULL, "{\"type\":\"object\", oops" },
	{ "run", "Run a command", "[\"not\", \"an object\"]" },
	{ "noop", "Nothing", "{} trailing" },
};

static const struct chat_tool_use calls1[] = {
	{ "call_1", "list_dir", "{\"path\":\".\"}" },
	{ "call_2", "read_file", "[1,2]" },
};
static const struct chat_tool_use calls2[] = {
	{ "call_3", "read_file", "{\"path\":\"b.c\"} trailing" },
	{ "call_4", "noop", "" },
};

/* user; assistant with thinking and two calls (the second with arguments
 * that are not an object); both results (one an error); an empty assistant
 * message; user; assistant with text and two calls; their results. */
static const struct chat_msg conversation[] = {
	{ .role = "user", .content = "list and read" },
	{ .role = "assistant", .content = NULL, .reasoning = "look first", .signature = "SIG1",
	  .calls = calls1, .ncalls = 2 },
	{ .role = "tool", .tool_call_id = "call_1", .tool_name = "list_dir", .content = "a.c\nb.c" },
	{ .role = "tool", .tool_call_id = "call_2", .tool_name = "read_file",
	  .content = "arguments must be an object", .is_error = true },
	{ .role = "assistant", .content = "" },
	{ .role = "user", .content = "and b?" },
	{ .role = "assistant", .content = "Here.", .reasoning = "no signature, not sent",
	  .calls = calls2, .ncalls = 2 },
	{ .role = "tool", .tool_call_id = "call_3", .tool_name = "read_file", .content = "B\xff" },
	{ .role = "tool", .tool_call_id = "call_4", .tool_name = "noop", .content = "" },
};

static void test_openai_request(void)
{
	struct provider_config pc = { 0 };
	struct chat_request req = { .system = "S", .msgs = conversation,
				    .nmsgs = sizeof conversation / sizeof *conversation,
				    .tools = tools, .ntools = sizeof tools / sizeof *tools };
	struct buf body = BUF_INIT;
	char *part;

	pc.model = "gpt-test";
	openai_build_request(&pc, &req, &body);
	part = json_member(body.data, "messages");
	is_json(part,
		"[{'role':'system','content':'S'},"
		"{'role':'user','content':'list and read'},"
		"{'role':'assistant','content':null,'tool_calls':["
		"{'id':'call_1','type':'function','function':{'name':'list_dir','arguments':'{\\'path\\':\\'.\\'}'}},"
		"{'id':'call_2','type':'function','function':{'name':'read_file','arguments':'[1,2]'}}]},"
		"{'role':'tool','tool_call_id':'call_1','content':'a.c\\nb.c'},"
		"{'role':'tool','tool_call_id':'call_2','content':'arguments must be an object'},"
		"{'role':'assistant','content':''},"
		"{'role':'user','content':'and b?'},"
		"{'role':'assistant','content':'Here.','tool_calls':["
		"{'id':'call_3','type':'function','function':{'name':'read_file','arguments':'{\\'path\\':\\'b.c\\'} trailing'}},"
		"{'id':'call_4','type':'function','function':{'name':'noop','arguments':'{}'}}]},"
		"{'role':'tool','tool_call_id':'call_3','content':'B\xef\xbf\xbd'},"
		"{'role':'tool','tool_call_id':'call_4','content':''}]",
		"openai: assistant calls with arguments as text, tool messages answer them, no reasoning");
	free(part);
	part = json_member(body.data, "tools");
	is_json(part,
		"[{'type':'function','function':{'name':'list_dir','description':'List a directory',"
		"'parameters':{'type':'object','properties':{'path':{'type':'string'}},'required':['path']}}},"
		"{'type':'function','function':{'name':'read_file','parameters':{'type':'object'}}},"
		"{'type':'function','function':{'name':'run','description':'Run a command','parameters':{'type':'object'}}},"
		"{'type':'function','function':{'name':'noop','description':'Nothing','parameters':{'type':'object'}}}]",
		"openai: tools as functions; a schema that is not exactly an object becomes {type: object}");
	free(part);
	part = json_member(body.data, "tool_choice");
	tap_is_str(part, "", "openai: no tool_choice (auto)");
	free(part);
	part = json_member(body.data, "stream_options");
	tap_is_str(part, "{\"include_usage\":true}", "openai: stream_options unchanged");
	free(part);

	/* a user message between the calls and their results: results first */
	static const struct chat_tool_use one[] = { { "t1", "ls", "{}" } };
	static const struct chat_msg interjected[] = {
		{ .role = "user", .content = "go" },
		{ .role = "assistant", .calls = one, .ncalls = 1 },
		{ .role = "user", .content = "hurry" },
		{ .role = "tool", .tool_call_id = "t1", .content = "x" },
		{ .role = "user", .content = "now" },
	};
	struct chat_request ireq = { .msgs = interjected, .nmsgs = 5 };
	buf_reset(&body);
	openai_build_request(&pc, &ireq, &body);
	part = json_member(body.data, "messages");
	is_json(part,
		"[{'role':'user','content':'go'},"
		"{'role':'assistant','content':null,'tool_calls':[{'id':'t1','type':'function',"
		"'function':{'name':'ls','arguments':'{}'}}]},"
		"{'role':'tool','tool_call_id':'t1','content':'x'},"
		"{'role':'user','content':'hurry'},{'role':'user','content':'now'}]",
		"openai: tool messages come right after their calls, user text after them");
	free(part);

	/* no tools: exactly the request forja always sent */
	static const struct chat_msg plain[] = {
		{ .role = "user", .content = "hi" },
		{ .role = "assistant", .content = "yo" },
		{ .role = "user", .content = "more" },
	};
	struct chat_request preq = { .system = "S", .msgs = plain, .nmsgs = 3 };
	buf_reset(&body);
	openai_build_request(&pc, &preq, &body);
	tap_is_str(body.data,
		   "{\"model\":\"gpt-test\",\"messages\":[{\"role\":\"system\",\"content\":\"S\"},"
		   "{\"role\":\"user\",\"content\":\"hi\"},{\"role\":\"assistant\",\"content\":\"yo\"},"
		   "{\"role\":\"user\",\"content\":\"more\"}],\"stream\":true,"
		   "\"stream_options\":{\"include_usage\":true}}",
		   "openai: without tools the body is byte for byte what it was");
	buf_release(&body);
}

static void test_anthropic_request(void)
{
	struct provider_config pc = { 0 };
	struct chat_request req = { .system = "S", .msgs = conversation,
				    .nmsgs = sizeof conversation / sizeof *conversation,
				    .tools = tools, .ntools = sizeof tools / sizeof *tools };
	struct buf body = BUF_INIT;
	char *part;

	pc.model = "claude-test";
	pc.max_tokens = 1000;
	anthropic_build_request(&pc, &req, &body);
	part = json_member(body.data, "messages");
	is_json(part,
		"[{'role':'user','content':'list and read'},"
		"{'role':'assistant','content':["
		"{'type':'thinking','thinking':'look first','signature':'SIG1'},"
		"{'type':'tool_use','id':'call_1','name':'list_dir','input':{'path':'.'}},"
		"{'type':'tool_use','id':'call_2','name':'read_file','input':{}}]},"
		"{'role':'user','content':["
		"{'type':'tool_result','tool_use_id':'call_1','content':'a.c\\nb.c'},"
		"{'type':'tool_result','tool_use_id':'call_2','content':'arguments must be an object','is_error':true},"
		"{'type':'text','text':'and b?'}]},"
		"{'role':'assistant','content':["
		"{'type':'text','text':'Here.'},"
		"{'type':'tool_use','id':'call_3','name':'read_file','input':{}},"
		"{'type':'tool_use','id':'call_4','name':'noop','input':{}}]},"
		"{'role':'user','content':["
		"{'type':'tool_result','tool_use_id':'call_3','content':'B\xef\xbf\xbd'},"
		"{'type':'tool_result','tool_use_id':'call_4'}]}]",
		"anthropic: thinking first, tool_use inputs as objects ({} for bad arguments), results and "
		"the next user text in one turn, the empty assistant message left out");
	free(part);
	part = json_member(body.data, "tools");
	is_json(part,
		"[{'name':'list_dir','description':'List a directory',"
		"'input_schema':{'type':'object','properties':{'path':{'type':'string'}},'required':['path']}},"
		"{'name':'read_file','input_schema':{'type':'object'}},"
		"{'name':'run','description':'Run a command','input_schema':{'type':'object'}},"
		"{'name':'noop','description':'Nothing','input_schema':{'type':'object'}}]",
		"anthropic: tools with input_schema; a bad schema becomes {type: object}");
	free(part);
	part = json_member(body.data, "system");
	tap_is_str(part, "\"S\"", "anthropic: the system prompt stays top-level");
	free(part);

	/* a user message between the calls and their results: results first */
	static const struct chat_tool_use one[] = { { "t1", "ls", "{}" } };
	static const struct chat_msg interjected[] = {
		{ .role = "user", .content = "go" },
		{ .role = "assistant", .calls = one, .ncalls = 1 },
		{ .role = "user", .content = "hurry" },
		{ .role = "tool", .tool_call_id = "t1", .content = "x" },
		{ .role = "assistant", .content = "a" },
		{ .role = "assistant", .content = "b" },
	};
	struct chat_request ireq = { .msgs = interjected, .nmsgs = 6 };
	buf_reset(&body);
	anthropic_build_request(&pc, &ireq, &body);
	part = json_member(body.data, "messages");
	is_json(part,
		"[{'role':'user','content':'go'},"
		"{'role':'assistant','content':[{'type':'tool_use','id':'t1','name':'ls','input':{}}]},"
		"{'role':'user','content':[{'type':'tool_result','tool_use_id':'t1','content':'x'},"
		"{'type':'text','text':'hurry'}]},"
		"{'role':'assistant','content':[{'type':'text','text':'a'},{'type':'text','text':'b'}]}]",
		"anthropic: tool_result blocks lead their turn; consecutive assistant messages merge");
	free(part);
	part = json_member(body.data, "tools");
	tap_is_str(part, "", "anthropic: no tools key without tools");
	free(part);

	/* no tools: exactly the request forja always sent */
	static const struct chat_msg plain[] = {
		{ .role = "user", .content = "hi" },
		{ .role = "assistant", .content = "yo" },
		{ .role = "user", .content = "more" },
	};
	struct chat_request preq = { .system = "S", .msgs = plain, .nmsgs = 3 };
	buf_reset(&body);
	anthropic_build_request(&pc, &preq, &body);
	tap_is_str(body.data,
		   "{\"model\":\"claude-test\",\"max_tokens\":1000,\"system\":\"S\",\"messages\":["
		   "{\"role\":\"user\",\"content\":\"hi\"},{\"role\":\"assistant\",\"content\":\"yo\"},"
		   "{\"role\":\"user\",\"content\":\"more\"}],\"stream\":true}",
		   "anthropic: without tools the body is byte for byte what it was");

	/* hostile tool texts: deep nesting, huge, not JSON at all */
	struct buf deep = BUF_INIT;
	for (int i = 0; i < 5000; i++)
		buf_puts(&deep, "{\"a\":");
	static struct chat_tool_use bad[1];
	bad[0] = (struct chat_tool_use){ "t9", "x", deep.data };
	struct chat_tool_def bad_tool = { "x", "d", deep.data };
	static const struct chat_msg q = { .role = "user", .content = "q" };
	struct chat_msg hostile[3] = { q, { .role = "assistant", .calls = bad, .ncalls = 1 },
				       { .role = "tool", .tool_call_id = "t9", .content = "r" } };
	struct chat_request hreq = { .msgs = hostile, .nmsgs = 3, .tools = &bad_tool, .ntools = 1 };
	buf_reset(&body);
	anthropic_build_request(&pc, &hreq, &body);
	part = json_member(body.data, "tools");
	is_json(part, "[{'name':'x','description':'d','input_schema':{'type':'object'}}]",
		"anthropic: an unparsable (too deep) schema is {type: object}");
	free(part);
	tap_contains(body.data, "{\"type\":\"tool_use\",\"id\":\"t9\",\"name\":\"x\",\"input\":{}}",
		     "anthropic: unparsable arguments are input {}");
	buf_reset(&body);
	openai_build_request(&pc, &hreq, &body);
	part = json_member(body.data, "tools");
	is_json(part, "[{'type':'function','function':{'name':'x','description':'d','parameters':{'type':'object'}}}]",
		"openai: an unparsable schema is {type: object}");
	free(part);
	buf_release(&deep);
	buf_release(&body);
}

static void test_classify(void)
{
	struct provider_config pc = { 0 };
	struct ferr e = FERR_INIT;
	bool retry;

	pc.name = "openai";
	pc.base_url = "https://user:pw@api.example.com/v1";
	pc.model = "m1";
	pc.api_key = "sk-abcdefghijklmnop";
	static const char b401[] = "{\"error\":{\"message\":\"Incorrect API key provided: sk-abcdefghijklmnop\",\"code\":\"invalid_api_key\"}}";
	provider_classify_status(&pc, 401, b401, sizeof b401 - 1, &e, &retry);
	tap_is_int(e.cls, FERR_AUTH, "401 is auth");
	tap_ok(!retry, "401 is not retried");
	tap_ok(!strstr(e.msg, "sk-abcdefghijklmnop"), "the key echoed by the server is redacted");
	tap_ok(!strstr(e.msg, "pw@"), "credentials in the base URL are not shown");
	tap_contains(e.msg, "api.example.com", "the host is named");
	provider_classify_status(&pc, 404, "{}", 2, &e, &retry);
	tap_is_int(ferr_exit_code(e.cls), 3, "404 exits 3");
	tap_contains(e.msg, "model 'm1' not found", "404 names the model");
	static const char b400[] = "{\"error\":{\"message\":\"This model's maximum context length is 8192 tokens.\",\"code\":\"context_length_exceeded\"}}";
	provider_classify_status(&pc, 400, b400, sizeof b400 - 1, &e, &retry);
	tap_contains(e.msg, "context window", "context length exceeded is said as such");
	tap_is_int(ferr_exit_code(e.cls), 1, "400 exits 1");
	provider_classify_status(&pc, 429, "{\"error\":{\"message\":\"slow\",\"code\":\"rate_limit_exceeded\"}}", 57, &e, &retry);
	tap_ok(retry && ferr_exit_code(e.cls) == 4, "429 is retried, then exits 4");
	static const char q[] = "{\"error\":{\"message\":\"quota\",\"type\":\"insufficient_quota\",\"code\":\"insufficient_quota\"}}";
	provider_classify_status(&pc, 429, q, sizeof q - 1, &e, &retry);
	tap_ok(!retry && ferr_exit_code(e.cls) == 3, "insufficient_quota is not retried");
	provider_classify_status(&pc, 529, "", 0, &e, &retry);
	tap_ok(retry, "529 is retried");
	provider_classify_status(&pc, 502, "<html>\n<body>Bad gateway</body></html>", 38, &e, &retry);
	tap_ok(retry && !strchr(e.msg, '\n'), "an HTML 502 is retried and kept on one line");
}

static void test_backoff(void)
{
	struct provider_config pc = { 0 };
	pc.retry_base_ms = 1000;
	pc.retry_max_delay_ms = 30000;

	tap_is_int(provider_backoff_ms(&pc, 1, "2", NULL), 2000, "Retry-After in seconds");
	tap_is_int(provider_backoff_ms(&pc, 1, "0.5", NULL), 500, "fractional Retry-After");
	tap_is_int(provider_backoff_ms(&pc, 1, NULL, "6m0s"), 30000, "x-ratelimit-reset capped");
	tap_is_int(provider_backoff_ms(&pc, 1, NULL, "250ms"), 250, "milliseconds");
	tap_is_int(provider_backoff_ms(&pc, 1, NULL, "1m30.5s"), 30000, "compound duration capped");
	pc.retry_max_delay_ms = 100000;
	tap_is_int(provider_backoff_ms(&pc, 1, NULL, "1m30.5s"), 90500, "compound duration");
	tap_is_int(provider_backoff_ms(&pc, 1, "Wed, 21 Oct 2015 07:28:00 GMT", NULL), 0,
		   "an HTTP date in the past waits 0");
	int ok = 1;
	for (int attempt = 1; attempt <= 8; attempt++)
		for (int i = 0; i < 50; i++) {
			long d = provider_backoff_ms(&pc, attempt, NULL, NULL);
			long ceiling = 1000L << (attempt - 1);
			if (ceiling > 100000)
				ceiling = 100000;
			if (d < 0 || d > ceiling)
				ok = 0;
		}
	tap_ok(ok, "full jitter stays within the exponential ceiling");
	tap_is_int(provider_backoff_ms(&pc, 1, "garbage", NULL) <= 1000, 1, "a bad Retry-After falls back to jitter");
}

static void test_redact(void)
{
	char s[128] = "key sk-0123456789 and again sk-0123456789.";
	provider_redact(s, "sk-0123456789");
	tap_is_str(s, "key [redacted] and again [redacted].", "every occurrence redacted");
	char t[] = "short";
	provider_redact(t, "sh");
	tap_is_str(t, "short", "too short a secret is not hunted");
}

int main(void)
{
	test_openai();
	test_anthropic();
	test_openai_calls_odd();
	test_anthropic_calls_odd();
	test_openai_request();
	test_anthropic_request();
	test_classify();
	test_backoff();
	test_redact();
	return tap_done();
}

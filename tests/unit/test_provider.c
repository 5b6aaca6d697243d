/* The stream assemblers (OpenAI chunks, Anthropic events), error
 * classification, back-off and key redaction, fed directly. */
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
	test_classify();
	test_backoff();
	test_redact();
	return tap_done();
}

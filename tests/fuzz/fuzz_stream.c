/* libFuzzer target: the OpenAI and Anthropic stream assemblers take any
 * sequence of SSE events (hostile JSON, tool calls with broken indexes,
 * arguments split anywhere, UTF-8 cut in the middle) without crashing, and
 * everything they emit is valid UTF-8 and NUL-terminated where promised.
 * `make fuzz`, then build-fuzz/fuzz_stream tests/fuzz/seeds/fuzz_stream
 *
 * Input layout: byte 0 bit 0 picks the API (0 OpenAI, 1 Anthropic); the
 * rest is split at '\n' into events; a line "TYPE\tDATA" gives an event
 * type (Anthropic names its events), otherwise the type is "message".
 * Each request builder also runs on the assembled result, as the agent
 * sends it back. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/providers/internal.h"
#include "forja/utf8.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(void *ctx, const struct event *ev)
{
	(void)ctx;
	if ((ev->type == EV_TEXT || ev->type == EV_REASONING) && !utf8_is_valid(ev->text, ev->len))
		__builtin_trap();
	if (ev->type == EV_TOOL_CALL && (!ev->id || !ev->name || !ev->arguments))
		__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct provider_config pc;
	struct event_bus bus;
	struct chat_result result;
	struct stream_state st;
	bool anthropic;
	char *copy;

	if (size < 1 || size > 1 << 20)
		return 0;
	anthropic = data[0] & 1;
	memset(&pc, 0, sizeof pc);
	pc.name = "fuzz";
	pc.kind = anthropic ? PROVIDER_ANTHROPIC : PROVIDER_OPENAI;
	pc.model = "m";
	pc.max_tokens = 1024;
	events_init(&bus);
	events_add_sink(&bus, (struct event_sink){ check, NULL });
	memset(&result, 0, sizeof result);
	stream_state_init(&st, &pc, &bus, &result);
	copy = malloc(size);
	memcpy(copy, data + 1, size - 1);
	copy[size - 1] = '\0';
	for (char *line = copy, *next; line && !st.failed && !st.ended; line = next) {
		char *nl = memchr(line, '\n', (size_t)(copy + size - 1 - line));
		next = nl ? nl + 1 : NULL;
		if (nl)
			*nl = '\0';
		const char *type = "message";
		char *tab = strchr(line, '\t');
		if (tab) {
			*tab = '\0';
			type = line;
			line = tab + 1;
		}
		if (anthropic)
			anthropic_on_event(&st, type, line, strlen(line));
		else
			openai_on_event(&st, type, line, strlen(line));
		if (!next)
			break;
	}
	stream_flush(&st);
	/* the history as the agent would send it back */
	struct chat_tool_use *calls = calloc(result.ncalls + 1, sizeof *calls);
	for (size_t i = 0; i < result.ncalls; i++) {
		calls[i].id = result.calls[i].id ? result.calls[i].id : "x";
		calls[i].name = result.calls[i].name ? result.calls[i].name : "x";
		calls[i].arguments = result.calls[i].arguments.len ? result.calls[i].arguments.data : "{}";
	}
	struct chat_msg msgs[3];
	memset(msgs, 0, sizeof msgs);
	msgs[0].role = "user";
	msgs[0].content = "hi";
	msgs[1].role = "assistant";
	msgs[1].content = result.text.data ? result.text.data : "";
	msgs[1].reasoning = result.reasoning.data;
	msgs[1].signature = result.signature.data;
	msgs[1].calls = calls;
	msgs[1].ncalls = result.ncalls;
	msgs[2].role = "tool";
	msgs[2].tool_call_id = result.ncalls ? calls[0].id : "x";
	msgs[2].tool_name = "x";
	msgs[2].content = "ok";
	struct chat_request req = { "system", msgs, result.ncalls ? 3 : 2, NULL, 0 };
	struct buf body = BUF_INIT;
	if (anthropic)
		anthropic_build_request(&pc, &req, &body);
	else
		openai_build_request(&pc, &req, &body);
	if (!utf8_is_valid(body.data ? body.data : "", body.len))
		__builtin_trap();
	buf_release(&body);
	free(calls);
	stream_state_release(&st);
	chat_result_release(&result);
	free(copy);
	return 0;
}

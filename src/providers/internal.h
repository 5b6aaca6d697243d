/*
 * internal.h — what provider.c shares with the wire-protocol parsers in
 * this directory: the per-attempt stream state and the helpers that turn
 * parsed fragments into events.
 */
#ifndef FORJA_PROVIDERS_INTERNAL_H
#define FORJA_PROVIDERS_INTERNAL_H

#include <cJSON.h>

#include "forja/provider.h"

/* What one answer may hold: more tool calls, or a longer arguments text,
 * is a server gone wrong, not a model at work. */
#define STREAM_MAX_CALLS 1024
#define STREAM_MAX_ARGUMENTS (16u * 1024 * 1024)

enum block_type { BLOCK_OTHER, BLOCK_TEXT, BLOCK_THINKING, BLOCK_TOOL };

struct stream_block {
	enum block_type type;
	size_t call;             /* index into result->calls for BLOCK_TOOL */
	bool emitted;
	bool start_input;        /* arguments hold the input of content_block_start */
};

struct stream_state {
	const struct event_bus *bus;
	const struct provider_config *pc;
	struct chat_result *result;
	bool finished;           /* a finish reason arrived */
	bool ended;              /* [DONE] or message_stop */
	bool shown;              /* this attempt emitted something (text, calls, usage) */
	bool failed;             /* err holds an error found in the stream */
	bool retryable;
	struct ferr err;
	struct buf carry[2];     /* an incomplete UTF-8 sequence: text, reasoning */
	/* OpenAI: tool call index (as the server numbers them) per call */
	long *call_index;
	/* Anthropic: content blocks by index */
	struct stream_block *blocks;
	size_t nblocks;
};

void stream_state_init(struct stream_state *st, const struct provider_config *pc,
		       const struct event_bus *bus, struct chat_result *result);
void stream_state_release(struct stream_state *st);

/* A delta of answer (EV_TEXT) or reasoning (EV_REASONING) text; an
 * incomplete UTF-8 sequence at its end waits for the next delta. */
void stream_delta(struct stream_state *st, enum event_type type, const char *s, size_t len);
/* Emit whatever is held back (at the end of the stream). */
void stream_flush(struct stream_state *st);
void stream_finish(struct stream_state *st, const char *raw_reason);
void stream_usage(struct stream_state *st, int64_t prompt, int64_t completion, int64_t cached,
		  int64_t reasoning);
/* A new tool call slot: 0 with its index in result->calls in *slot, or -1
 * (the stream failed) past STREAM_MAX_CALLS. */
int stream_new_call(struct stream_state *st, size_t *slot);
/* Append a fragment of call i's arguments: 0, or -1 (the stream failed)
 * past STREAM_MAX_ARGUMENTS. */
int stream_call_arguments(struct stream_state *st, size_t i, const char *s, size_t len);
/* EV_TOOL_CALL for call i, once; a call the server gave no id gets
 * "call_<i>" so that its result can be sent back. */
void stream_emit_call(struct stream_state *st, size_t i);
/* An error reported inside the stream; parsing stops. */
int stream_fail(struct stream_state *st, enum ferr_class cls, bool retryable, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Request building (request.c).  cJSON values returned are new; the
 * caller adds them to a tree or deletes them. */
/* s (NULL: "") as a JSON string, invalid UTF-8 bytes replaced by U+FFFD. */
cJSON *request_string(const char *s);
void request_add_string(cJSON *obj, const char *key, const char *s);
/* text parsed as a JSON object, or NULL when it is not exactly one. */
cJSON *request_object(const char *text);
/* A tool's input schema: the object text holds, or {"type":"object"}. */
cJSON *request_schema(const char *text);
/* Print root compactly onto body and delete it. */
void request_print(cJSON *root, struct buf *body);

#endif

/*
 * provider — one interface over the LLM wire protocols: OpenAI Chat
 * Completions (which also serves Ollama, llama.cpp, vLLM, LM Studio,
 * OpenRouter) and Anthropic Messages.
 *
 * A provider_call sends one streamed request on the libuv loop, parses the
 * SSE stream as it arrives (providers/openai.c, providers/anthropic.c),
 * publishes events (text and reasoning deltas, assembled tool calls,
 * finish reason, usage, retry notices) and retries what is worth
 * retrying: network failures, timeouts, 429, 5xx and 529, a stream cut
 * mid-message — with exponential back-off and full jitter, honouring
 * Retry-After, within a number of attempts and a total time.  Text already
 * shown from a failed attempt is announced as cut (EV_CUT), never silently
 * shown twice.
 *
 * The API key lives only in the provider_config and in the request headers
 * handed to http; every message that came from the server is scrubbed of
 * it before it reaches an event or an error.
 */
#ifndef FORJA_PROVIDER_H
#define FORJA_PROVIDER_H

#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

#include "forja/buf.h"
#include "forja/events.h"
#include "forja/ferr.h"
#include "forja/http.h"

enum provider_kind { PROVIDER_OPENAI, PROVIDER_ANTHROPIC };

struct provider_config {
	char *name;            /* "openai", "anthropic", "ollama", a config name */
	enum provider_kind kind;
	char *base_url;        /* without a trailing slash */
	char *model;
	char *api_key;         /* secret, NULL for servers that need none */
	char *key_source;      /* where the key came from, for doctor: "$OPENAI_API_KEY" */
	char **headers;        /* extra "Name: value" lines */
	size_t nheaders;
	struct http_timeouts timeouts;
	int max_attempts;      /* total attempts, >= 1 */
	long retry_base_ms;    /* first back-off ceiling */
	long retry_max_delay_ms;
	long retry_total_ms;   /* give up when the next attempt would start later */
	char *ca_bundle;
	long max_tokens;       /* Anthropic requires it */
	char *origin;          /* how it was chosen, for the person: "--provider", "config", "found on 127.0.0.1:11434" */
};

void provider_config_release(struct provider_config *pc);
const char *provider_kind_name(enum provider_kind kind);

/* A tool the model may call: its contract's name, description and input
 * schema (JSON text of an object schema). */
struct chat_tool_def {
	const char *name;
	const char *description;
	const char *parameters;      /* JSON Schema text; text that is not
				      * exactly one JSON object is sent as
				      * {"type":"object"} */
};

/* A tool call the model made, as it is sent back in the history. */
struct chat_tool_use {
	const char *id;
	const char *name;
	const char *arguments;       /* JSON text as the model wrote it ("{}" when empty) */
};

/*
 * One message of the conversation.  role is "user", "assistant" or "tool".
 *   user:      content.
 *   assistant: content (may be NULL or "" when it only called tools),
 *              reasoning and signature (Anthropic thinking, sent back as a
 *              thinking block only when signature is set; OpenAI drops
 *              them), calls/ncalls (the tool calls it made).
 *   tool:      the result of one call: tool_call_id, tool_name, content
 *              (the result text), is_error.  Consecutive tool messages are
 *              one user message of tool_result blocks for Anthropic, one
 *              "tool" message each for OpenAI.  Both protocols want the
 *              results right after the calls: in a run of user-side
 *              messages the tool results are sent first, the user text
 *              after them.
 * Anthropic needs alternating roles: consecutive user-side messages are
 * merged into one (its tool_result blocks first, in order, then its text
 * blocks), consecutive
 * assistant messages too.  An assistant message with no text, no calls and
 * no signature is not sent to Anthropic (the API refuses empty content);
 * OpenAI gets it as content "".
 * A call's arguments go to OpenAI as the text given ("{}" when empty or
 * NULL) and to Anthropic as the object they parse to, or {} when they are
 * not exactly one JSON object.  Strings that are not valid UTF-8 are sent
 * with U+FFFD for the bad bytes.
 */
struct chat_msg {
	const char *role;
	const char *content;
	const char *reasoning;
	const char *signature;
	const struct chat_tool_use *calls;
	size_t ncalls;
	const char *tool_call_id;
	const char *tool_name;
	bool is_error;
};

/* tools/ntools: offered to the model (tool_choice left to the server's
 * "auto"); with ntools 0 the request has no tools key at all. */
struct chat_request {
	const char *system;
	const struct chat_msg *msgs;
	size_t nmsgs;
	const struct chat_tool_def *tools;   /* NULL/0: no tools offered */
	size_t ntools;
};

struct chat_tool_call {
	char *id;                    /* the server's, or "call_<i>" when it gave none */
	char *name;
	struct buf arguments;        /* the JSON text, as the model wrote it */
	bool emitted;                /* EV_TOOL_CALL sent */
};

/* What a finished call assembled. */
struct chat_result {
	struct buf text;
	struct buf reasoning;
	struct buf signature;        /* Anthropic thinking signature, kept to send back
				      * with reasoning (one thinking block per answer:
				      * the request does not ask for interleaved thinking) */
	struct chat_tool_call *calls;
	size_t ncalls;
	char finish[32];             /* stop, length, tool_calls, content_filter, or "";
				      * tool_calls whenever calls were made and the server
				      * said stop (gpt-4o does) */
	int64_t prompt_tokens, completion_tokens, cached_tokens, reasoning_tokens;
	int attempts;
};

void chat_result_release(struct chat_result *r);

struct provider_call;

/* Start a call on loop.  done(ctx, err) is called once at the end (err NULL
 * on success, else the final error after retries); events go to bus.  The
 * call owns copies of nothing: pc, req and bus must outlive it. */
int provider_call_start(uv_loop_t *loop, struct http_client *http,
			const struct provider_config *pc, const struct chat_request *req,
			const struct event_bus *bus, struct chat_result *result,
			void (*done)(void *ctx, const struct ferr *err), void *ctx,
			struct provider_call **out, struct ferr *e);
/* Stop at once (Ctrl-C): done gets FERR_INTERRUPTED. */
void provider_call_cancel(struct provider_call *call);
void provider_call_free(struct provider_call *call);

/* Replace every occurrence of secret in text (in place); a NULL or short
 * secret does nothing. */
void provider_redact(char *text, const char *secret);

/* The error class and message for an HTTP error status with its body
 * (redacted), as the user should read it; *retryable set for 429/5xx/529. */
void provider_classify_status(const struct provider_config *pc, long status, const char *body,
			      size_t len, struct ferr *e, bool *retryable);

/* The delay before the next attempt: Retry-After / x-ratelimit-reset-*
 * when given (capped), else full jitter over retry_base_ms * 2^(attempt-1). */
long provider_backoff_ms(const struct provider_config *pc, int attempt, const char *retry_after,
			 const char *ratelimit_reset);

/* What the flags asked for (NULL: not given). */
struct provider_choice {
	const char *provider;
	const char *model;
	const char *base_url;
	bool no_model;         /* do not ask a server for a model (listing models) */
};

struct config;
/* Choose the provider, model and key (see providers/select.c for the
 * order), probing local servers when nothing is configured.  Runs the loop
 * for probes and model lists: call it before starting anything else.
 * Returns 0, or -1 with FERR_CONFIG/FERR_AUTH/FERR_USAGE explaining what
 * to set. */
int provider_resolve(uv_loop_t *loop, struct http_client *http, const struct config *cfg,
		     const struct provider_choice *flags, struct provider_config *pc,
		     struct ferr *e);

/* GET url with pc's credentials, running the loop until done; the body is
 * capped at 4 MiB.  HTTP error statuses are not errors here. */
int provider_fetch(uv_loop_t *loop, struct http_client *http, const struct provider_config *pc,
		   const char *url, long timeout_ms, long *status, struct buf *body, struct ferr *e);

/* Internal to the stream parsers in src/providers. */
struct stream_state;
int openai_on_event(struct stream_state *st, const char *type, const char *data, size_t len);
int anthropic_on_event(struct stream_state *st, const char *type, const char *data, size_t len);
void openai_build_request(const struct provider_config *pc, const struct chat_request *req,
			  struct buf *body);
void anthropic_build_request(const struct provider_config *pc, const struct chat_request *req,
			     struct buf *body);

#endif

/*
 * agent — the turn loop.  One prompt from the person starts a turn: the
 * model's answer streams (provider), each tool call it makes is checked
 * against its contract, decided (sandbox mode, contract, approvals), run
 * (executor: file tools on the loop thread, commands on worker threads,
 * concurrently when none of a batch writes), and its result goes back to
 * the model; that repeats until the model answers without calling a tool,
 * a limit is reached, the person cancels or an error ends it.
 *
 * Every step is committed to the session store the moment it is complete
 * (a user message, an assistant message with its tool calls and usage, an
 * approval decision, a tool result), so kill -9 loses at most the step in
 * flight; agent_new() on an existing session loads its history (from the
 * last compaction summary on) and gives every call that never got a result
 * one saying so.
 *
 * Context: results larger than AGENT_RESULT_MAX go to the model cut (head
 * and tail, with a count); when the conversation nears the model's context
 * window, the older part is replaced by a summary the model writes (every
 * file path touched listed after it), announced with EV_NOTICE.
 *
 * Threads: everything but the commands runs on the loop's thread; the
 * approval callback is called there and may block (it asks a person).
 * Nothing here is safe from a signal handler: cancel from a uv_signal_t.
 */
#ifndef FORJA_AGENT_H
#define FORJA_AGENT_H

#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

#include "forja/config.h"
#include "forja/events.h"
#include "forja/executor.h"
#include "forja/ferr.h"
#include "forja/http.h"
#include "forja/provider.h"
#include "forja/store.h"

#define AGENT_RESULT_MAX (32 * 1024)     /* bytes of one tool result the model gets */
#define AGENT_COMPACT_PERCENT 80         /* compact past this share of the window */
#define AGENT_DEFAULT_WINDOW 128000

enum agent_answer { AGENT_NO, AGENT_YES, AGENT_ALWAYS };

/* How a turn ended. */
enum agent_end {
	AGENT_END_DONE,        /* a final answer */
	AGENT_END_LIMIT,       /* a limit stopped it (err says which) */
	AGENT_END_CANCELLED,   /* agent_cancel() */
	AGENT_END_DENIED,      /* it ended on a denied call */
	AGENT_END_ERROR,       /* the provider failed after its retries (err) */
};

struct agent_opts {
	uv_loop_t *loop;
	struct http_client *http;
	const struct provider_config *pc;  /* borrowed; agent_set_provider() to change */
	struct executor *x;                /* borrowed; its mode may change between turns */
	const struct event_bus *bus;
	struct store *st;                  /* NULL: nothing is recorded */
	const char *session_id;            /* an existing session (st != NULL) */
	const char *system;                /* the system prompt (copied) */
	const struct chat_tool_def *tools; /* borrowed for the agent's life */
	size_t ntools;
	bool approvals_auto;               /* --approvals auto */
	bool can_ask;                      /* a person can answer */
	/* Ask the person; *reason (malloc'ed, may stay NULL) goes to the model
	 * with a refusal. */
	enum agent_answer (*ask)(void *ctx, const struct exec_call *call, char **reason);
	void *ask_ctx;
	/* Called once per turn, on the loop, before the first call that may
	 * write or run a command starts (a snapshot for /undo); may be NULL. */
	void (*before_change)(void *ctx);
	void *change_ctx;
	long max_turns, max_tool_calls, max_session_tokens;  /* 0: none */
	double max_session_cost;
	long context_window;               /* 0: AGENT_DEFAULT_WINDOW */
	double input_price, output_price, cached_input_price; /* USD per Mtok; < 0 unknown */
};

struct agent_outcome {
	enum agent_end end;
	struct ferr err;                   /* LIMIT, ERROR, DENIED: what to tell */
	int turn;
};

struct agent_usage {
	long long prompt_tokens, completion_tokens, cached_tokens;
	double cost;                       /* < 0 unknown */
	int turns;                         /* prompts sent in this process */
	long long requests;
	long long tool_calls;              /* calls the model made in this process */
};

struct agent;

/* Create the agent for a session; loads its history when it has one. */
int agent_new(const struct agent_opts *o, struct agent **out, struct ferr *e);
void agent_free(struct agent *a);

/* Start a turn with the person's text; done is called once, on the loop. */
int agent_send(struct agent *a, const char *text,
	       void (*done)(void *ctx, const struct agent_outcome *o), void *ctx,
	       struct ferr *e);
/* Stop the turn in flight (the stream, running commands); done follows. */
void agent_cancel(struct agent *a);
bool agent_busy(const struct agent *a);

/* Summarise the history now (/compact); done as for agent_send. */
int agent_compact(struct agent *a, void (*done)(void *ctx, const struct agent_outcome *o),
		  void *ctx, struct ferr *e);
/* Forget the history in memory (the session keeps it; /clear starts a new
 * session in the front end). */
void agent_clear(struct agent *a);

void agent_set_provider(struct agent *a, const struct provider_config *pc);
/* Replace the system prompt (the sandbox mode changed). */
void agent_set_system(struct agent *a, const char *system);
void agent_set_approvals(struct agent *a, bool approvals_auto);
void agent_usage(const struct agent *a, struct agent_usage *u);
size_t agent_history_len(const struct agent *a);
/* The text of the last assistant message ("" when none); borrowed until
 * the next turn. */
const char *agent_last_answer(const struct agent *a);
/* The id of the first audit row of the last turn (0 when it wrote nothing),
 * for /undo. */
long long agent_last_turn_audit(const struct agent *a);
/* The cost of usage with the agent's prices; < 0 when unknown. */
double agent_cost(const struct agent *a, long long prompt, long long completion, long long cached);

/* The message body JSON the store keeps (store.h, "Conversations"). */
char *agent_body_json(const struct chat_msg *m);

#endif

/*
 * events — everything observable that happens in a run, and the sinks that
 * consume it.
 *
 * Producers (the provider's stream assembler, later the agent loop and the
 * tools) build a struct event on the stack and hand it to events_emit(); the
 * bus passes it to every sink in order.  Strings in an event are borrowed:
 * valid only during the call, not NUL-terminated unless said so, and always
 * valid UTF-8 (producers hold back a sequence cut between two deltas).
 * Sinks: the terminal renderer (term_sink.c), the JSONL writer for scripts
 * (jsonl_sink.c); later the session store.
 *
 * The JSONL schema (one object per line, "v": 1) is documented in
 * man/forja.1 under EVENTS; adding a field is compatible, changing one is
 * a new "v".
 */
#ifndef FORJA_EVENTS_H
#define FORJA_EVENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "forja/ferr.h"

#define EVENTS_SCHEMA_VERSION 1

enum event_type {
	EV_START,        /* a request is sent: provider, model */
	EV_TEXT,         /* answer text delta */
	EV_REASONING,    /* reasoning ("thinking") text delta */
	EV_TOOL_CALL,    /* a complete tool call: id, name, arguments JSON */
	EV_FINISH,       /* why the model stopped: stop, length, tool_calls, content_filter */
	EV_USAGE,        /* token counts */
	EV_RETRY,        /* a failed attempt that will be retried */
	EV_CUT,          /* text already shown belongs to an attempt that failed */
	EV_ERROR,        /* the run failed: class and message */
	EV_DONE,         /* the end; exit code */
	/* The agent's events (src/agent.c). */
	EV_TOOL_START,   /* a tool call begins: id, name, arguments, summary */
	EV_APPROVAL,     /* how a call was allowed or refused: id, name, decision, reason */
	EV_TOOL_OUTPUT,  /* a chunk of a running command's output: id, stream, text */
	EV_TOOL_END,     /* a call ended: id, name, status, exit_code, duration_ms,
	                    text (the result the model gets), diff (edits) */
	EV_NOTICE,       /* something the person should know: compaction, a limit, undo */
	EV_TURN_END,     /* the model gave its final answer for this prompt: usage
	                    and cost of the turn and of the session */
	EV_SUMMARY,      /* exec's last word before DONE: status, exit code, usage,
	                    cost, requests, tool calls and the files changed */
};

struct event {
	enum event_type type;
	const char *text;          /* TEXT, REASONING: the delta */
	size_t len;
	const char *provider;      /* START */
	const char *model;         /* START */
	const char *id;            /* TOOL_CALL */
	const char *name;          /* TOOL_CALL */
	const char *arguments;     /* TOOL_CALL: JSON text, NUL-terminated */
	const char *reason;        /* FINISH: normalised; RETRY: why, for the person */
	const char *raw_reason;    /* FINISH: as the server said it */
	int64_t prompt_tokens, completion_tokens, cached_tokens, reasoning_tokens; /* USAGE: -1 unknown */
	int attempt, max_attempts; /* RETRY: the attempt that comes next, of how many */
	long delay_ms;             /* RETRY */
	const struct ferr *error;  /* RETRY (what failed), ERROR */
	int exit_code;             /* DONE, TOOL_END (-1: none, e.g. a file tool) */
	const char *summary;       /* TOOL_START: one line for the person ("run: make test") */
	const char *decision;      /* APPROVAL: none, auto, user, session, denied */
	int stream;                /* TOOL_OUTPUT: 1 stdout, 2 stderr */
	const char *status;        /* TOOL_END: ok, failed, denied, timeout, cancelled */
	long long duration_ms;     /* TOOL_END, TURN_END */
	const char *diff;          /* TOOL_END: unified diff of what the call changed, or NULL */
	int turn;                  /* TURN_END: the turn's number in the session (1-based) */
	int64_t session_prompt_tokens, session_completion_tokens; /* TURN_END */
	double cost, session_cost; /* TURN_END: estimated USD; < 0 unknown */
	const char *const *files;  /* SUMMARY: the paths changed, relative to the root */
	size_t nfiles;
	long long requests, tool_calls; /* SUMMARY */
};

struct event_sink {
	void (*emit)(void *ctx, const struct event *ev);
	void *ctx;
};

#define EVENTS_MAX_SINKS 4

struct event_bus {
	struct event_sink sinks[EVENTS_MAX_SINKS];
	size_t nsinks;
};

void events_init(struct event_bus *bus);
/* Add a sink (at most EVENTS_MAX_SINKS; returns -1 beyond). */
int events_add_sink(struct event_bus *bus, struct event_sink sink);
void events_emit(const struct event_bus *bus, const struct event *ev);

/* The JSONL sink: one JSON object per event, flushed per line. */
struct jsonl_sink {
	FILE *out;
	bool flush_each;       /* flush per event; false when the owner of the
	                          loop flushes once per loop turn */
};
struct event_sink jsonl_sink(struct jsonl_sink *s, FILE *out);

/* The terminal sink for one-shot runs: answer text to out as it arrives;
 * reasoning, retry notices and cuts to err (dim when colour is on, hidden
 * when quiet); a final newline when the answer did not end with one. */
struct term_sink {
	FILE *out, *err;
	bool color;
	bool quiet;
	bool show_reasoning;
	bool in_reasoning;     /* a reasoning block is open on err */
	char last;             /* last byte written to out, '\n' at start */
	bool wrote_text;
	bool flush_each;       /* as in jsonl_sink */
};
struct event_sink term_sink(struct term_sink *s, FILE *out, FILE *err, bool color, bool quiet);

#endif

/*
 * agentrun.h — what `forja exec` and the interactive session share: the
 * config, the provider, the contracts and the executor, the system prompt,
 * the store and the session, the agent, and running one turn on the loop
 * with Ctrl-C cancelling it.  Private to src/cmd.
 */
#ifndef FORJA_CMD_AGENTRUN_H
#define FORJA_CMD_AGENTRUN_H

#include <stdbool.h>
#include <stdio.h>
#include <uv.h>

#include "forja/agent.h"
#include "forja/app.h"
#include "forja/config.h"
#include "forja/contract.h"
#include "forja/events.h"
#include "forja/executor.h"
#include "forja/http.h"
#include "forja/prompt.h"
#include "forja/provider.h"
#include "forja/store.h"

struct agentrun_opts {
	const char *kind;             /* "exec", "chat" */
	const char *session;          /* continue this session (id or prefix), or NULL */
	bool resume_latest;           /* continue the latest session of the project */
	bool interactive;             /* a person types the prompts */
	bool context;                 /* send the bootstrap */
	const struct event_bus *bus;
	enum agent_answer (*ask)(void *ctx, const struct exec_call *call, char **reason);
	void *ask_ctx;
	bool can_ask;
	void (*before_change)(void *ctx);
	void *change_ctx;
	bool read_tools_only;         /* offer only the tools that neither write nor run commands */
	long timeout_cap_ms;          /* > 0: no provider timeout (nor the retries) goes past it,
	                                 the model lookup included */
};

struct agentrun {
	struct app *app;
	struct agentrun_opts o;
	struct config cfg;
	bool cfg_open;
	uv_loop_t loop;
	bool loop_open;
	struct http_client *http;
	struct provider_config pc;
	bool pc_open;
	struct contract_set set;
	bool set_open;
	struct executor x;
	bool x_open;
	struct prompt_tools tools;
	struct buf system;
	struct buf context;           /* the bootstrap text the prompt holds */
	struct store *st;
	char session[33];
	char *root;                   /* the project root (or the cwd) */
	struct agent *agent;
	bool approvals_auto;
	bool resumed;                 /* the session had a history */
	bool titled;
	uv_signal_t sigint, sigterm;
	bool signals_on;
	bool turn_done;
	int signals_seen;
	struct agent_outcome outcome;
	void (*on_tick)(void *ctx);   /* called every 100 ms during a turn (the spinner) */
	void *tick_ctx;
	uv_timer_t tick;
	bool tick_open;
};

/* Set everything up; on failure everything opened is closed again. */
int agentrun_open(struct agentrun *r, struct app *app, const struct agentrun_opts *o,
		  struct ferr *e);
void agentrun_close(struct agentrun *r);

/* Run one turn to its end (Ctrl-C or SIGTERM cancels it); *out says how
 * it ended.  Returns -1 only when it could not start. */
int agentrun_turn(struct agentrun *r, const char *text, struct agent_outcome *out,
		  struct ferr *e);
/* /compact */
int agentrun_compact(struct agentrun *r, struct agent_outcome *out, struct ferr *e);

/* Ask the person at in/out whether call may run (term_ask with the exact
 * command, the diff or the summary), as an agent answer. */
struct term_style;
enum agent_answer agentrun_ask_terminal(const struct exec_call *call, FILE *in, FILE *out,
					const struct term_style *style, char **reason);

/* The exit code for how a turn ended. */
int agentrun_exit_code(const struct agent_outcome *o);

/* Switch to another model of the same provider, or to another provider
 * (NULL keeps it); the next request uses it. */
int agentrun_set_model(struct agentrun *r, const char *provider, const char *model, struct ferr *e);

/* Change the sandbox mode or the approvals for the next calls (the system
 * prompt follows). */
void agentrun_set_sandbox(struct agentrun *r, enum sandbox_mode mode);
void agentrun_set_approvals(struct agentrun *r, bool approvals_auto);

/* Start a new session (the old one stays in the store); /clear. */
int agentrun_new_session(struct agentrun *r, struct ferr *e);

/* Open another session in place of the current one; /resume. */
int agentrun_switch_session(struct agentrun *r, const char *id, struct ferr *e);

#endif

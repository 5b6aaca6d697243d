/*
 * executor — one tool call from a name and JSON arguments to a result, the
 * way both `forja tool` and the agent run it: the contract found, the
 * arguments validated against its schema, what the call would do worked
 * out (writes? spawns?) for the approval decision, then the call made —
 * in process for the file tools (through the path policy), in the process
 * jail for `run` and command contracts — with the sandbox mode applied.
 *
 * Two steps, so that a front end can ask the person in between:
 * executor_prepare() checks and describes the call (nothing runs), and
 * executor_run() runs it.  The approval decision itself (the table in
 * forja(1)) is executor_decide().
 *
 * Threads: prepare and decide run on the caller's thread.  executor_run()
 * of a jailed call blocks until the command is over and may run on a worker
 * thread, several at once; an in-process call is short and bounded and is
 * meant for the loop thread.  The executor is read-only while calls run.
 */
#ifndef FORJA_EXECUTOR_H
#define FORJA_EXECUTOR_H

#include <cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "forja/app.h"
#include "forja/buf.h"
#include "forja/contract.h"
#include "forja/ferr.h"
#include "forja/jail.h"
#include "forja/pathpol.h"
#include "forja/tools.h"

struct executor {
	char *root;                       /* the workspace root (resolved) */
	struct pathpol ws;
	enum sandbox_mode mode;
	const struct contract_set *set;   /* borrowed */
	struct jail_caps caps;            /* probed on the first jailed call */
	bool probed;
	char *cfgdir, *statedir;          /* hidden from every command */
};

/* One prepared call.  Owned by the caller, emptied by exec_call_release(). */
struct exec_call {
	const struct contract *c;         /* NULL when the tool is unknown */
	cJSON *args;                      /* validated; NULL when invalid */
	bool writes;                      /* may change files */
	bool spawns;                      /* runs a command */
	bool jailed;
	char **argv;                      /* jailed: the command */
	size_t argc;
	long timeout_ms;
	char *summary;                    /* one line: "run: make test", "edit_file src/a.c" */
	char *preview;                    /* what the person approves: the exact command, or a diff-like view */
	char *forbidden;                  /* set when the sandbox mode or contract forbids the call: why */
};

/* The outcome of a run, beyond struct tool_result. */
struct exec_outcome {
	int exit_code;                    /* commands; -1 otherwise */
	bool timed_out, cancelled;
	long long duration_ms;
	char *diff;                       /* unified diff of the files it changed (file tools), or NULL */
};

int executor_open(struct executor *x, const char *root, enum sandbox_mode mode,
		  const struct contract_set *set, struct ferr *e);
/* Find what the jail can do here (jail_probe(), a few milliseconds, once).
 * Call it on the owning thread before any jailed call runs; after it,
 * x->caps.why names the missing layers. */
int executor_probe(struct executor *x);
void executor_close(struct executor *x);

/*
 * Check a call: 0 with *call ready; 1 when the model made a mistake (an
 * unknown tool, arguments that do not fit the schema, an argv that cannot
 * be built): `problem` holds the message for the model and nothing runs;
 * -1 on an internal error.
 */
int executor_prepare(struct executor *x, const char *name, const char *args, size_t len,
		     struct exec_call *call, struct buf *problem, struct ferr *e);
void exec_call_release(struct exec_call *call);

/* How the call may go ahead (forja(1), APPROVALS). */
enum exec_decision {
	EXEC_DENY,      /* the sandbox mode or the contract forbids it */
	EXEC_RUN,       /* no approval needed */
	EXEC_ASK,       /* needs approval */
};
enum exec_decision executor_decide(const struct exec_call *call);

/*
 * Run a prepared call.  on_output (may be NULL) gets a jailed command's
 * output as it comes, on the thread running this function; cancel_fd
 * (or -1) readable stops a command.  Returns 0 with r and o filled (a
 * refused or failed call is a result, not an error), -1 on an internal
 * error.
 */
int executor_run(struct executor *x, const struct exec_call *call,
		 void (*on_output)(void *ctx, int stream, const char *data, size_t len),
		 void *ctx, int cancel_fd, struct tool_result *r, struct exec_outcome *o,
		 struct ferr *e);
void exec_outcome_release(struct exec_outcome *o);

/*
 * A unified diff (--- a/PATH, +++ b/PATH, hunks with `context` lines)
 * between two texts, appended to out.  Binary content (NUL bytes) gives
 * one line saying so; past max_lines of diff (0: no limit) the rest is
 * counted.
 */
void exec_diff(struct buf *out, const char *path, const char *before, size_t blen,
	       const char *after, size_t alen, int context, size_t max_lines);

#endif

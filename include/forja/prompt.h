/*
 * prompt — what the model is told before the conversation: the system
 * prompt (who it is, the rules of the sandbox and approvals, how to use
 * the tools, the project context from the bootstrap with its AGENTS.md
 * files) and the tool list, made from the loaded contracts.  Everything
 * is built within a token budget (the bootstrap's part is what gives).
 * Pure: it reads nothing but what it is given.
 */
#ifndef FORJA_PROMPT_H
#define FORJA_PROMPT_H

#include <stddef.h>

#include "forja/app.h"
#include "forja/buf.h"
#include "forja/contract.h"
#include "forja/provider.h"

struct prompt_opts {
	enum sandbox_mode sandbox;
	bool approvals_ask;           /* calls that need approval wait for the person */
	bool interactive;             /* a person is at the terminal */
	const char *context;          /* the bootstrap text, or NULL */
	const char *root;             /* the workspace root */
};

/* The system prompt, appended to out. */
void prompt_system(const struct prompt_opts *o, struct buf *out);

/* The tools the model is offered: one per contract (a new array whose
 * strings point into the contracts' JSON kept in *json_texts; free both
 * with prompt_tools_free()). */
struct prompt_tools {
	struct chat_tool_def *defs;
	size_t count;
	char **texts;                 /* the parameters JSON, owned */
};
void prompt_tools(const struct contract_set *set, struct prompt_tools *out);
/* The same, with only the contracts that neither write nor run commands
 * when read_only is true. */
void prompt_tools_for(const struct contract_set *set, bool read_only, struct prompt_tools *out);
void prompt_tools_free(struct prompt_tools *t);

/* A rough token count of text (bytes / 4, rounded up): what the budget and
 * the compaction threshold use when the provider has not said. */
size_t prompt_estimate_tokens(size_t bytes);

#endif

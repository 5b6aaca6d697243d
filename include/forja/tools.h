/*
 * tools — forja's built-in tools, run in process: read_file, write_file,
 * edit_file, apply_patch, list_dir, glob, grep.  (run, the one that spawns
 * processes, goes through the jail in src/sandbox.)
 *
 * A tool gets arguments already validated against its contract's schema
 * (contract_validate_args), a context naming the workspace and what the
 * sandbox mode and the contract allow, and fills a result: text for the
 * model, a status, and what the audit log needs.  Every path goes through
 * the path policy (pathpol.h); a tool never opens a file any other way.
 * Tools are synchronous and bounded (byte caps, result caps); they never
 * call upward and never print.
 */
#ifndef FORJA_TOOLS_H
#define FORJA_TOOLS_H

#include <cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "forja/buf.h"
#include "forja/ferr.h"
#include "forja/pathpol.h"

struct tool_ctx {
	const struct pathpol *ws;        /* the workspace root */
	bool read_only;                  /* sandbox mode read-only: every write refused */
	const char *const *deny_write;   /* more paths never written (a contract's) */
	size_t ndeny_write;
	uint64_t max_output_bytes;       /* what the model gets back, head and tail kept */
	uint64_t max_file_bytes;         /* largest file a tool writes or reads whole */
};

enum tool_status {
	TOOL_OK = 0,       /* done; output holds the result */
	TOOL_FAILED = 1,   /* the call could not be done (no such file, old text not
	                      found…); output says why, for the model */
	TOOL_DENIED = 2,   /* the policy refused it; output says which rule */
};

/* What a write changed, for the audit log and for undo. */
struct tool_change {
	char *path;                      /* relative to the root */
	bool existed;
	struct buf before;               /* the previous content (empty when new) */
	uint32_t mode_before;
};

struct tool_result {
	enum tool_status status;
	struct buf output;               /* text for the model, valid UTF-8 */
	struct tool_change *changes;     /* files written, in order */
	size_t nchanges;
	uint64_t cut_bytes;              /* output bytes left out by the cap */
};

void tool_result_release(struct tool_result *r);
/* Append a change to r (takes nothing over: copies path and content). */
void tool_result_add_change(struct tool_result *r, const char *path, bool existed,
			    const void *before, size_t before_len, uint32_t mode_before);

/* The built-in tools.  Each returns 0 with r filled (r->status says how it
 * went), or -1 only for an internal error (e filled). */
int tool_read_file(const struct tool_ctx *ctx, const cJSON *args, struct tool_result *r,
		   struct ferr *e);
int tool_write_file(const struct tool_ctx *ctx, const cJSON *args, struct tool_result *r,
		    struct ferr *e);
int tool_edit_file(const struct tool_ctx *ctx, const cJSON *args, struct tool_result *r,
		   struct ferr *e);
int tool_list_dir(const struct tool_ctx *ctx, const cJSON *args, struct tool_result *r,
		  struct ferr *e);
int tool_apply_patch(const struct tool_ctx *ctx, const cJSON *args, struct tool_result *r,
		     struct ferr *e);
int tool_glob(const struct tool_ctx *ctx, const cJSON *args, struct tool_result *r,
	      struct ferr *e);
int tool_grep(const struct tool_ctx *ctx, const cJSON *args, struct tool_result *r,
	      struct ferr *e);

#endif

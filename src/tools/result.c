/*
 * result.c — the tool result every built-in tool fills (tools.h).
 */
#include <stdlib.h>
#include <string.h>

#include "forja/tools.h"

void tool_result_add_change(struct tool_result *r, const char *path, bool existed,
			    const void *before, size_t before_len, uint32_t mode_before)
{
	struct tool_change *c;

	r->changes = xrealloc(r->changes, (r->nchanges + 1) * sizeof *r->changes);
	c = &r->changes[r->nchanges++];
	memset(c, 0, sizeof *c);
	c->path = xstrdup(path);
	c->existed = existed;
	if (before_len)
		buf_add(&c->before, before, before_len);
	c->mode_before = mode_before;
}

void tool_result_release(struct tool_result *r)
{
	for (size_t i = 0; i < r->nchanges; i++) {
		free(r->changes[i].path);
		buf_release(&r->changes[i].before);
	}
	free(r->changes);
	buf_release(&r->output);
	memset(r, 0, sizeof *r);
}

/*
 * fetch.c — a small GET for commands (model lists, reachability, local
 * server probes): runs the loop until the answer is in.  Never call it
 * from inside a loop callback.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define FETCH_BODY_MAX (4 * 1024 * 1024)

struct fetch {
	long status;
	struct buf *body;
	struct ferr err;
	bool done, failed, too_big;
};

static int fetch_response(void *ctx, long status, const struct http_response_headers *h)
{
	struct fetch *f = ctx;

	(void)h;
	f->status = status;
	return 0;
}

static int fetch_data(void *ctx, const char *data, size_t len)
{
	struct fetch *f = ctx;

	if (f->body->len + len > FETCH_BODY_MAX) {
		f->too_big = true;
		return 1;
	}
	buf_add(f->body, data, len);
	return 0;
}

static void fetch_done(void *ctx, const struct ferr *err)
{
	struct fetch *f = ctx;

	f->done = true;
	if (err && !f->too_big) {
		f->failed = true;
		f->err = *err;
	}
}

int provider_fetch(uv_loop_t *loop, struct http_client *http, const struct provider_config *pc,
		   const char *url, long timeout_ms, long *status, struct buf *body, struct ferr *e)
{
	static const struct http_callbacks cbs = { fetch_response, fetch_data, fetch_done };
	struct fetch f;
	struct http_request req;
	struct http_transfer *t = NULL;
	struct buf auth = BUF_INIT;
	const char **headers = xcalloc(pc->nheaders + 4, sizeof *headers);
	size_t n = 0;

	memset(&f, 0, sizeof f);
	f.body = body;
	buf_reset(body);
	if (pc->api_key && pc->kind == PROVIDER_ANTHROPIC)
		buf_printf(&auth, "x-api-key: %s", pc->api_key);
	else if (pc->api_key)
		buf_printf(&auth, "Authorization: Bearer %s", pc->api_key);
	if (auth.len)
		headers[n++] = auth.data;
	if (pc->kind == PROVIDER_ANTHROPIC)
		headers[n++] = "anthropic-version: 2023-06-01";
	headers[n++] = "Accept: application/json";
	/* a gateway that wants its header wants it on every request */
	for (size_t i = 0; i < pc->nheaders; i++)
		headers[n++] = pc->headers[i];
	headers[n] = NULL;
	memset(&req, 0, sizeof req);
	req.method = "GET";
	req.url = url;
	req.headers = headers;
	req.timeouts.connect_ms = timeout_ms;
	req.timeouts.total_ms = timeout_ms * 4;
	req.ca_bundle = pc->ca_bundle;
	if (http_start(http, &req, &cbs, &f, &t, e) != 0) {
		if (auth.len)
			memset(auth.data, 0, auth.len);
		buf_release(&auth);
		free(headers);
		return -1;
	}
	free(headers);
	while (!f.done)
		uv_run(loop, UV_RUN_ONCE);
	if (auth.len)
		memset(auth.data, 0, auth.len);
	buf_release(&auth);
	if (f.too_big)
		return ferr_set(e, FERR_PROVIDER, "%s: the answer is larger than %d bytes", url,
				FETCH_BODY_MAX);
	if (f.failed) {
		*e = f.err;
		provider_redact(e->msg, pc->api_key);
		return -1;
	}
	*status = f.status;
	return 0;
}

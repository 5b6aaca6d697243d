/*
 * http — HTTP requests on the one libuv loop, through libcurl's multi
 * interface.
 *
 * A client belongs to one loop.  http_start() begins a request and returns
 * at once; the loop then drives it: libcurl's sockets are uv_poll handles,
 * its timer a uv_timer.  The response comes back through three callbacks,
 * called from the loop, in this order:
 *
 *     on_response  once, with the status and headers, before any body byte
 *     on_data      zero or more times, body bytes as they arrive (a streamed
 *                  body is never collected here: each chunk is handed over
 *                  and forgotten)
 *     on_done      exactly once, success or not; the last call for that
 *                  transfer.  After it returns the transfer handle is gone.
 *
 * HTTP status codes are not errors at this layer: a 404 or a 500 is an
 * on_response with that status, its body on_data, and on_done(NULL).  The
 * provider decides what they mean.  Errors on_done reports:
 *
 *     FERR_NETWORK      DNS failure, connection refused or reset, TLS failure,
 *                       the server closing without a response
 *     FERR_PROVIDER     the connection closed mid-response (the body was cut
 *                       before its end), response headers over 64 KiB
 *     FERR_TIMEOUT      one of the four timeouts ran out; the message says
 *                       which: "timed out after 30 s waiting for the first byte
 *                       from api.openai.com"
 *     FERR_CONFIG       the CA bundle cannot be read, the URL is not valid
 *     FERR_INTERRUPTED  http_cancel(), a callback returned non-zero, or
 *                       http_client_free() while the request ran
 *     FERR_INTERNAL     libcurl out of memory and the like
 *
 * Messages name the host (and port, if the URL gave one), never the full
 * URL (it may carry credentials or keys in its query) and never a header:
 * request headers often hold API keys, and this module never logs them or
 * puts them in an error.
 *
 * What the requests do: HTTP/2 where the server offers it over TLS, else
 * HTTP/1.1; TLS peer and host verification always on; proxies from the
 * usual environment variables (http_proxy, https_proxy, all_proxy,
 * no_proxy), except that loopback hosts (localhost, 127.0.0.0/8, [::1])
 * never go through a proxy, so a local model server keeps working behind a
 * corporate proxy; no redirects followed (a 3xx is a status like any
 * other, so credentials never travel to another host); http and https
 * only; "Accept-Encoding: identity" is asked for (an SSE stream must not
 * be compressed) and libcurl decodes gzip or deflate if a server sends it
 * anyway; "Expect: 100-continue" is never sent; "User-Agent: forja/VERSION"
 * unless the request gives its own.
 *
 * Threads: main thread (the loop's) only.
 */
#ifndef FORJA_HTTP_H
#define FORJA_HTTP_H

#include <stddef.h>
#include <uv.h>

#include "forja/ferr.h"

struct http_client;
struct http_transfer;
struct http_response_headers;

/* Each in milliseconds; 0 means none.  Every one runs separately:
 *   connect_ms     DNS, TCP and TLS handshakes (libcurl's connect timeout;
 *                  0 leaves libcurl's default of 300 s)
 *   first_byte_ms  from http_start() to the first byte of the response
 *                  (covers connecting and sending the request, and the
 *                  model's thinking before a stream starts)
 *   idle_ms        the longest gap between two received bytes once the
 *                  response began: a stalled stream
 *   total_ms       the whole request, from http_start() to its end */
struct http_timeouts {
	long connect_ms;
	long first_byte_ms;
	long idle_ms;
	long total_ms;
};

/* A request.  Everything is copied by http_start(): the struct and what it
 * points to may be freed as soon as http_start() returns. */
struct http_request {
	const char *method;            /* "GET", "POST", …; NULL: POST when there
	                                  is a body, GET otherwise */
	const char *url;               /* http:// or https:// */
	const char *const *headers;    /* "Name: value" lines, NULL-terminated, or
	                                  NULL.  May hold API keys: never logged,
	                                  never in an error.  "Name:" removes a
	                                  header libcurl would add.  Give a
	                                  Content-Type with a body. */
	const char *body;              /* sent as is with Content-Length; may hold
	                                  NUL bytes */
	size_t body_len;
	struct http_timeouts timeouts;
	const char *ca_bundle;         /* PEM file of trusted CAs, used in place
	                                  of the system's bundle file (libcurl's
	                                  CURLOPT_CAINFO); NULL: the system's.
	                                  Verification stays on either way. */
};

/*
 * The callbacks, all optional, all called from the loop with the ctx given
 * to http_start().  Inside them you may call http_cancel() (any transfer
 * of the client, this one included) and http_response_header().  From
 * on_done, and only there, you may also call http_start() (a retry, the
 * next request) and http_client_free().
 *
 *   on_response  the final status (1xx interim responses are skipped) and
 *                the headers, valid during the call only.  Return non-zero
 *                to stop the transfer: on_done follows with
 *                FERR_INTERRUPTED.
 *   on_data      len > 0 body bytes, valid during the call only; chunks
 *                come in order and together are the body exactly
 *                (after any content decoding).  Non-zero stops, as above.
 *   on_done      err NULL on success, else the class and message; err is
 *                valid during the call only.  The transfer handle is
 *                invalid once on_done has returned.
 */
struct http_callbacks {
	int (*on_response)(void *ctx, long status, const struct http_response_headers *headers);
	int (*on_data)(void *ctx, const char *data, size_t len);
	void (*on_done)(void *ctx, const struct ferr *err);
};

/* Make a client on loop, loading libcurl on first use (curllib_load).
 * Returns 0 and *out, or -1 with e filled (FERR_IO: libcurl missing;
 * FERR_INTERNAL). */
int http_client_new(uv_loop_t *loop, struct http_client **out, struct ferr *e);

/*
 * Cancel every transfer still running, calling its on_done with
 * FERR_INTERRUPTED before this returns (so their ctx must still be alive),
 * close libcurl's connections and the client's handles.  The last memory is
 * freed by libuv close callbacks: run the loop once more before
 * uv_loop_close(), e.g.
 *
 *     http_client_free(client);
 *     uv_run(loop, UV_RUN_DEFAULT);   // returns when the handles are closed
 *     uv_loop_close(loop);
 *
 * NULL is allowed.  Allowed from on_done (a call from an on_done that
 * http_client_free itself is reporting does nothing), not from on_response
 * or on_data.
 */
void http_client_free(struct http_client *c);

/*
 * Start a request.  Returns 0 and *out (may be NULL if the caller does not
 * need the handle), or -1 with e filled and no callback ever called:
 * FERR_CONFIG for a URL that is not http(s) or has no host, FERR_USAGE for a
 * header with a line break or no colon, FERR_INTERRUPTED while the client is
 * being freed, FERR_INTERNAL if called from on_response or on_data.
 * Nothing is sent before the loop runs; no callback runs inside this call.
 * The loop stays alive (uv_run does not return) while a transfer of the
 * client has not had its on_done.
 */
int http_start(struct http_client *c, const struct http_request *req,
	       const struct http_callbacks *cb, void *ctx,
	       struct http_transfer **out, struct ferr *e);

/*
 * Stop a transfer at once: no more bytes are read or sent and no
 * on_response or on_data follows.  on_done then runs with
 * FERR_INTERRUPTED ("request to HOST cancelled"), never inside this call:
 * from the loop's next turn, or as soon as the callback that called this
 * returns.  A transfer that already ended (its on_done pending or running)
 * is left alone.  Safe from inside any of this client's callbacks; t must
 * not be used after its on_done returned.
 */
void http_cancel(struct http_transfer *t);

/* The value of the response header name (case-insensitive), the last one
 * if the header came more than once, with surrounding blanks removed; NULL
 * if absent.  Valid while headers is (during on_response). */
const char *http_response_header(const struct http_response_headers *headers, const char *name);

#endif

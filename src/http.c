/*
 * http.c — libcurl's multi interface on the libuv loop (see
 * include/forja/http.h).  libcurl says which sockets to watch
 * (on_curl_socket: one uv_poll each) and when to wake it (on_curl_timer:
 * the client's uv_timer); those handles call curl_multi_socket_action, and
 * client_collect() then settles the transfers that ended.  forja's own
 * timeouts (first byte, idle, total) run on one uv_timer per transfer,
 * which later also reports on_done, so that on_done never runs inside
 * libcurl, http_start or http_cancel.
 */
/* The fallback to CURLOPT_PROTOCOLS for a libcurl older than 7.85 names a
 * deprecated option on purpose. */
#define CURL_DISABLE_DEPRECATION
#include "forja/http.h"

#include <assert.h>
#include <curl/curl.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "forja/buf.h"
#include "forja/curllib.h"
#include "forja/version.h"

/* The most response header bytes kept per response, a limit on what the
 * network can make us allocate.  libcurl's own limit is higher. */
#define HEADERS_MAX (64 * 1024)

struct http_response_headers {
	struct buf fields;  /* "name\0value\0" for each field, in order */
	size_t count;
};

enum transfer_state {
	TRANSFER_RUNNING,   /* libcurl is working on it */
	TRANSFER_ENDED,     /* outcome known (err); detached from libcurl as
	                       soon as we are outside libcurl, then reported */
	TRANSFER_REPORTED,  /* on_done called; the timer is closing */
};

struct http_transfer {
	struct http_client *client;
	struct http_transfer *prev, *next;
	CURL *easy;                     /* NULL once detached from libcurl */
	struct curl_slist *header_list; /* libcurl keeps pointing at it */
	uv_timer_t timer;               /* deadlines, then the report */
	struct http_callbacks cb;
	void *ctx;
	char *host;                     /* host[:port], for messages */
	char *ca_bundle;                /* for the message when it is unusable */
	struct http_timeouts timeouts;
	uint64_t started, last_byte;    /* uv_now() */
	bool got_byte, responded, report_scheduled;
	enum transfer_state state;
	struct ferr err;                /* FERR_NONE: success */
	struct http_response_headers headers;
	char curl_error[CURL_ERROR_SIZE];
};

struct http_socket {
	uv_poll_t poll;
	curl_socket_t fd;
	int events;                    /* what libcurl asked to watch */
	struct http_client *client;
	struct http_socket *prev, *next;
};

struct http_client {
	uv_loop_t *loop;
	CURLM *multi;
	uv_timer_t curl_timer;         /* libcurl's single timeout */
	/* Active while a transfer waits for its on_done, so that uv_run keeps
	 * running; libcurl's own handles are unreferenced, since libcurl may
	 * watch idle connections with nothing left to do. */
	uv_prepare_t keepalive;
	struct http_transfer *transfers;
	struct http_socket *sockets;
	int in_curl;                   /* inside curl_multi_socket_action: our
	                                  caller's on_response / on_data may be
	                                  running, libcurl cannot be re-entered */
	bool closing;
	unsigned open_handles;         /* uv handles not yet closed */
};

/* --- handles and their closing ------------------------------------------ */

static void client_handle_closed(struct http_client *c)
{
	if (--c->open_handles == 0 && c->closing)
		free(c);
}

static void on_client_handle_closed(uv_handle_t *handle)
{
	client_handle_closed(handle->data);
}

static void on_keepalive(uv_prepare_t *handle)
{
	(void)handle;
}

static void client_update_keepalive(struct http_client *c)
{
	if (c->transfers && !c->closing)
		uv_prepare_start(&c->keepalive, on_keepalive);
	else
		uv_prepare_stop(&c->keepalive);
}

/* --- response headers --------------------------------------------------- */

static void headers_reset(struct http_response_headers *h)
{
	buf_reset(&h->fields);
	h->count = 0;
}

static void trim(const char **s, size_t *len)
{
	while (*len && (**s == ' ' || **s == '\t')) {
		(*s)++;
		(*len)--;
	}
	while (*len && ((*s)[*len - 1] == ' ' || (*s)[*len - 1] == '\t'))
		(*len)--;
}

const char *http_response_header(const struct http_response_headers *h, const char *name)
{
	const char *p, *found = NULL;
	size_t i;

	if (!h || !name || h->count == 0)
		return NULL;
	p = h->fields.data;
	for (i = 0; i < h->count; i++) {
		const char *field = p, *value = p + strlen(p) + 1;

		p = value + strlen(value) + 1;
		if (strcasecmp(field, name) == 0)
			found = value;
	}
	return found;
}

/* --- timeouts ------------------------------------------------------------ */

static const char *format_ms(char *out, size_t size, long ms)
{
	if (ms < 1000)
		snprintf(out, size, "%ld ms", ms);
	else if (ms % 1000 == 0)
		snprintf(out, size, "%ld s", ms / 1000);
	else
		snprintf(out, size, "%.1f s", (double)ms / 1000.0);
	return out;
}

static void on_deadline(uv_timer_t *timer);

static uint64_t earliest(uint64_t due, uint64_t candidate)
{
	return due == 0 || candidate < due ? candidate : due;
}

/* Arm the transfer's timer for the nearest deadline that applies now.  The
 * idle deadline moves with every byte without touching the timer: when it
 * fires early, on_deadline re-arms it. */
static void transfer_arm(struct http_transfer *t)
{
	const struct http_timeouts *to = &t->timeouts;
	uint64_t now = uv_now(t->client->loop), due = 0;

	if (to->total_ms > 0)
		due = t->started + (uint64_t)to->total_ms;
	if (!t->got_byte && to->first_byte_ms > 0)
		due = earliest(due, t->started + (uint64_t)to->first_byte_ms);
	if (t->got_byte && to->idle_ms > 0)
		due = earliest(due, t->last_byte + (uint64_t)to->idle_ms);
	if (due == 0)
		uv_timer_stop(&t->timer);
	else
		uv_timer_start(&t->timer, on_deadline, due > now ? due - now : 0, 0);
}

static void note_byte(struct http_transfer *t)
{
	t->last_byte = uv_now(t->client->loop);
	if (!t->got_byte) {
		t->got_byte = true;
		transfer_arm(t);
	}
}

/* --- ending and reporting ----------------------------------------------- */

static void on_transfer_closed(uv_handle_t *handle)
{
	struct http_transfer *t = handle->data;
	struct http_client *c = t->client;

	buf_release(&t->headers.fields);
	free(t->host);
	free(t->ca_bundle);
	free(t);
	client_handle_closed(c);
}

static void transfer_detach(struct http_transfer *t)
{
	if (!t->easy)
		return;
	curl_multi_remove_handle(t->client->multi, t->easy);
	curl_easy_cleanup(t->easy);
	t->easy = NULL;
	curl_slist_free_all(t->header_list);
	t->header_list = NULL;
}

/* Call on_done, the last thing that happens to a transfer. */
static void transfer_report(struct http_transfer *t)
{
	struct http_client *c = t->client;

	transfer_detach(t);
	uv_timer_stop(&t->timer);
	if (t->prev)
		t->prev->next = t->next;
	else
		c->transfers = t->next;
	if (t->next)
		t->next->prev = t->prev;
	t->prev = t->next = NULL;
	t->state = TRANSFER_REPORTED;
	client_update_keepalive(c);
	if (t->cb.on_done)
		t->cb.on_done(t->ctx, t->err.cls == FERR_NONE ? NULL : &t->err);
	uv_close((uv_handle_t *)&t->timer, on_transfer_closed);
}

static void on_report(uv_timer_t *timer)
{
	transfer_report(timer->data);
}

/* Once ended and outside libcurl: detach, and report on the next turn. */
static void transfer_settle(struct http_transfer *t)
{
	if (t->state != TRANSFER_ENDED || t->client->in_curl)
		return;
	transfer_detach(t);
	if (!t->report_scheduled) {
		t->report_scheduled = true;
		uv_timer_start(&t->timer, on_report, 0, 0);
	}
}

static void transfer_end(struct http_transfer *t)
{
	t->state = TRANSFER_ENDED;
	uv_timer_stop(&t->timer);
	transfer_settle(t);
}

/* Record how the transfer ended; the first outcome wins. */
static void transfer_fail(struct http_transfer *t, enum ferr_class cls, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void transfer_fail(struct http_transfer *t, enum ferr_class cls, const char *fmt, ...)
{
	va_list ap;

	if (t->state != TRANSFER_RUNNING)
		return;
	t->err.cls = cls;
	va_start(ap, fmt);
	vsnprintf(t->err.msg, sizeof t->err.msg, fmt, ap);
	va_end(ap);
	transfer_end(t);
}

static void transfer_succeed(struct http_transfer *t)
{
	if (t->state != TRANSFER_RUNNING)
		return;
	ferr_clear(&t->err);
	transfer_end(t);
}

static void on_deadline(uv_timer_t *timer)
{
	struct http_transfer *t = timer->data;
	const struct http_timeouts *to = &t->timeouts;
	uint64_t now = uv_now(t->client->loop);
	char span[32];

	if (to->total_ms > 0 && now >= t->started + (uint64_t)to->total_ms)
		transfer_fail(t, FERR_TIMEOUT, "timed out after %s in total on the request to %s",
			      format_ms(span, sizeof span, to->total_ms), t->host);
	else if (!t->got_byte && to->first_byte_ms > 0 &&
		 now >= t->started + (uint64_t)to->first_byte_ms)
		transfer_fail(t, FERR_TIMEOUT, "timed out after %s waiting for the first byte from %s",
			      format_ms(span, sizeof span, to->first_byte_ms), t->host);
	else if (t->got_byte && to->idle_ms > 0 && now >= t->last_byte + (uint64_t)to->idle_ms)
		transfer_fail(t, FERR_TIMEOUT, "timed out after %s of silence between bytes from %s",
			      format_ms(span, sizeof span, to->idle_ms), t->host);
	else
		transfer_arm(t);
}

/* --- libcurl's callbacks for one transfer ------------------------------- */

/* Hand the final status and headers over, once. */
static int transfer_respond(struct http_transfer *t)
{
	long status = 0;

	t->responded = true;
	curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status);
	if (t->cb.on_response && t->cb.on_response(t->ctx, status, &t->headers) != 0)
		transfer_fail(t, FERR_INTERRUPTED, "request to %s stopped by its receiver", t->host);
	buf_release(&t->headers.fields);
	t->headers.count = 0;
	return t->state == TRANSFER_RUNNING ? 0 : -1;
}

/* One header line, with its line end; 0 to go on, -1 to stop. */
static int transfer_header_line(struct http_transfer *t, const char *line, size_t len)
{
	struct http_response_headers *h = &t->headers;
	const char *colon, *name, *value;
	size_t name_len, value_len;

	while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		len--;
	if (len >= 5 && memcmp(line, "HTTP/", 5) == 0) {
		/* a status line: an interim (1xx) response may come first */
		headers_reset(h);
		return 0;
	}
	if (len == 0) {
		long status = 0;

		curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status);
		if (status >= 100 && status < 200) {
			headers_reset(h);
			return 0;
		}
		return transfer_respond(t);
	}
	if (h->fields.len + len + 2 > HEADERS_MAX) {
		transfer_fail(t, FERR_PROVIDER, "response headers from %s exceed %d KiB",
			      t->host, HEADERS_MAX / 1024);
		return -1;
	}
	if (memchr(line, '\0', len))
		return 0;
	if (line[0] == ' ' || line[0] == '\t') {
		/* obsolete line folding: continues the previous value */
		if (h->count == 0)
			return 0;
		trim(&line, &len);
		buf_truncate(&h->fields, h->fields.len - 1);
		buf_putc(&h->fields, ' ');
		buf_add(&h->fields, line, len);
		buf_putc(&h->fields, '\0');
		return 0;
	}
	colon = memchr(line, ':', len);
	if (!colon)
		return 0;
	name = line;
	name_len = (size_t)(colon - line);
	value = colon + 1;
	value_len = len - name_len - 1;
	trim(&name, &name_len);
	trim(&value, &value_len);
	buf_add(&h->fields, name, name_len);
	buf_putc(&h->fields, '\0');
	buf_add(&h->fields, value, value_len);
	buf_putc(&h->fields, '\0');
	h->count++;
	return 0;
}

/* Returning anything but size * count makes libcurl stop the transfer
 * (CURLE_WRITE_ERROR), which is how a cancel inside a callback lands. */
static size_t on_curl_header(char *data, size_t size, size_t count, void *userp)
{
	struct http_transfer *t = userp;
	size_t len = size * count;

	if (t->state != TRANSFER_RUNNING)
		return 0;
	note_byte(t);
	if (t->responded)
		return len;  /* trailers after a chunked body */
	return transfer_header_line(t, data, len) == 0 ? len : 0;
}

static size_t on_curl_write(char *data, size_t size, size_t count, void *userp)
{
	struct http_transfer *t = userp;
	size_t len = size * count;

	if (t->state != TRANSFER_RUNNING)
		return 0;
	note_byte(t);
	if (!t->responded && transfer_respond(t) != 0)
		return 0;
	if (len && t->cb.on_data && t->cb.on_data(t->ctx, data, len) != 0)
		transfer_fail(t, FERR_INTERRUPTED, "request to %s stopped by its receiver", t->host);
	return t->state == TRANSFER_RUNNING ? len : 0;
}

/* libcurl finished the transfer with rc: say what happened, for a person. */
static void transfer_classify(struct http_transfer *t, CURLcode rc)
{
	const char *detail = t->curl_error[0] ? t->curl_error : curl_easy_strerror(rc);
	long os_errno = 0, request_size = 0, connect_ms = t->timeouts.connect_ms > 0 ? t->timeouts.connect_ms : 300000;
	char span[32];

	curl_easy_getinfo(t->easy, CURLINFO_OS_ERRNO, &os_errno);
	switch (rc) {
	case CURLE_OK:
		if (!t->responded && transfer_respond(t) != 0)
			return;
		transfer_succeed(t);
		return;
	case CURLE_COULDNT_RESOLVE_HOST:
		transfer_fail(t, FERR_NETWORK, "cannot resolve the host name of %s", t->host);
		return;
	case CURLE_COULDNT_RESOLVE_PROXY:
		transfer_fail(t, FERR_NETWORK, "cannot resolve the proxy's host name (for %s)", t->host);
		return;
	case CURLE_COULDNT_CONNECT:
		if (os_errno == ECONNREFUSED)
			transfer_fail(t, FERR_NETWORK, "cannot connect to %s: connection refused", t->host);
		else if (os_errno)
			transfer_fail(t, FERR_NETWORK, "cannot connect to %s: %s", t->host,
				      strerror((int)os_errno));
		else
			transfer_fail(t, FERR_NETWORK, "cannot connect to %s", t->host);
		return;
	case CURLE_OPERATION_TIMEDOUT:
		/* forja's other timeouts are its own timers: only connecting is
		 * left to libcurl */
		transfer_fail(t, FERR_TIMEOUT, "timed out after %s connecting to %s",
			      format_ms(span, sizeof span, connect_ms), t->host);
		return;
	case CURLE_PEER_FAILED_VERIFICATION:
		transfer_fail(t, FERR_NETWORK, "TLS certificate of %s not trusted: %s", t->host, detail);
		return;
	case CURLE_SSL_CACERT_BADFILE:
		if (t->ca_bundle)
			transfer_fail(t, FERR_CONFIG, "cannot use the CA bundle %s: missing, unreadable "
				      "or not PEM certificates", t->ca_bundle);
		else
			transfer_fail(t, FERR_CONFIG, "cannot read the system's CA certificates: %s", detail);
		return;
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_ENGINE_NOTFOUND:
	case CURLE_SSL_ENGINE_SETFAILED:
	case CURLE_SSL_ENGINE_INITFAILED:
	case CURLE_SSL_SHUTDOWN_FAILED:
	case CURLE_SSL_CRL_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_INVALIDCERTSTATUS:
	case CURLE_USE_SSL_FAILED:
		transfer_fail(t, FERR_NETWORK, "TLS with %s failed: %s", t->host, detail);
		return;
	case CURLE_PARTIAL_FILE:
		transfer_fail(t, FERR_PROVIDER, "connection closed mid-response from %s", t->host);
		return;
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
		if (t->got_byte)
			transfer_fail(t, FERR_PROVIDER, "connection closed mid-response from %s (%s)",
				      t->host, detail);
		else if (os_errno == ECONNRESET)
			transfer_fail(t, FERR_NETWORK, "connection to %s reset by the server", t->host);
		else
			transfer_fail(t, FERR_NETWORK, "connection to %s lost: %s", t->host, detail);
		return;
	case CURLE_GOT_NOTHING:
		transfer_fail(t, FERR_NETWORK, "%s closed the connection without a response", t->host);
		return;
	case CURLE_WEIRD_SERVER_REPLY:
		transfer_fail(t, FERR_PROVIDER, "%s answered with something that is not HTTP", t->host);
		return;
	case CURLE_BAD_CONTENT_ENCODING:
		transfer_fail(t, FERR_PROVIDER, "%s sent a body in an encoding that cannot be decoded",
			      t->host);
		return;
	case CURLE_UNSUPPORTED_PROTOCOL:
		/* the scheme was checked at the start: either the answer to
		 * our request was not HTTP (libcurl refuses HTTP/0.9), or the
		 * proxy's scheme is one libcurl lacks */
		curl_easy_getinfo(t->easy, CURLINFO_REQUEST_SIZE, &request_size);
		if (request_size > 0)
			transfer_fail(t, FERR_PROVIDER, "%s answered with something that is not HTTP",
				      t->host);
		else
			transfer_fail(t, FERR_CONFIG, "cannot reach %s: the proxy's protocol is "
				      "not supported", t->host);
		return;
	case CURLE_URL_MALFORMAT:
		transfer_fail(t, FERR_CONFIG, "the URL for %s is not valid", t->host);
		return;
	case CURLE_OUT_OF_MEMORY:
		transfer_fail(t, FERR_INTERNAL, "request to %s: libcurl ran out of memory", t->host);
		return;
	default:
		/* curl_easy_strerror's fixed text: the error buffer could name a
		 * proxy or more of the URL than the host */
		transfer_fail(t, FERR_NETWORK, "request to %s failed: %s", t->host,
			      curl_easy_strerror(rc));
		return;
	}
}

/* --- the client on the loop --------------------------------------------- */

/* After libcurl returns: settle the transfers it finished and those that
 * ended (cancel, a callback said stop) while it was running. */
static void client_collect(struct http_client *c)
{
	struct http_transfer *t, *next;
	CURLMsg *msg;
	int left;

	while ((msg = curl_multi_info_read(c->multi, &left))) {
		CURL *easy = msg->easy_handle;
		CURLcode rc = msg->data.result;

		if (msg->msg != CURLMSG_DONE)
			continue;
		for (t = c->transfers; t && t->easy != easy; t = t->next)
			;
		if (!t)
			continue;
		if (t->state == TRANSFER_RUNNING)
			transfer_classify(t, rc);
		transfer_settle(t);
	}
	for (t = c->transfers; t; t = next) {
		next = t->next;
		transfer_settle(t);
	}
}

static void client_drive(struct http_client *c, curl_socket_t fd, int flags)
{
	int running;

	c->in_curl++;
	curl_multi_socket_action(c->multi, fd, flags, &running);
	c->in_curl--;
	client_collect(c);
}

static void on_poll(uv_poll_t *handle, int status, int events)
{
	struct http_socket *s = handle->data;
	int flags = 0;

	/* On a socket error (a reset) libuv reports a status and stops the
	 * handle.  Letting libcurl try to read and write finds the real
	 * errno; CURL_CSELECT_ERR would only say "select/poll returned
	 * error". */
	if (status < 0)
		events = UV_READABLE | UV_WRITABLE;
	if (events & UV_READABLE)
		flags |= CURL_CSELECT_IN;
	if (events & UV_WRITABLE)
		flags |= CURL_CSELECT_OUT;
	/* s stays allocated until its close callback, even if libcurl drops
	 * the socket in there */
	client_drive(s->client, s->fd, flags);
	if (status < 0 && s->events && !uv_is_closing((uv_handle_t *)&s->poll))
		uv_poll_start(&s->poll, s->events, on_poll);
}

static void on_socket_closed(uv_handle_t *handle)
{
	struct http_socket *s = handle->data;
	struct http_client *c = s->client;

	free(s);
	client_handle_closed(c);
}

static void socket_close(struct http_socket *s)
{
	struct http_client *c = s->client;

	if (s->prev)
		s->prev->next = s->next;
	else
		c->sockets = s->next;
	if (s->next)
		s->next->prev = s->prev;
	uv_close((uv_handle_t *)&s->poll, on_socket_closed);
}

static int on_curl_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
	struct http_client *c = userp;
	struct http_socket *s = socketp;
	int events = 0;

	(void)easy;
	if (what == CURL_POLL_REMOVE) {
		if (s)
			socket_close(s);
		return 0;
	}
	if (!s) {
		int rc;

		s = xcalloc(1, sizeof *s);
		rc = uv_poll_init_socket(c->loop, &s->poll, fd);
		if (rc == UV_EEXIST) {
			/* libcurl closed a socket without CURL_POLL_REMOVE and got
			 * the same number again: drop the stale watcher */
			struct http_socket *stale = c->sockets;

			while (stale && stale->fd != fd)
				stale = stale->next;
			if (stale) {
				socket_close(stale);
				rc = uv_poll_init_socket(c->loop, &s->poll, fd);
			}
		}
		if (rc != 0) {
			free(s);
			return -1;  /* libcurl fails the transfers on it */
		}
		s->fd = fd;
		s->client = c;
		s->poll.data = s;
		uv_unref((uv_handle_t *)&s->poll);
		c->open_handles++;
		s->next = c->sockets;
		if (c->sockets)
			c->sockets->prev = s;
		c->sockets = s;
		curl_multi_assign(c->multi, fd, s);
	}
	if (what & CURL_POLL_IN)
		events |= UV_READABLE;
	if (what & CURL_POLL_OUT)
		events |= UV_WRITABLE;
	s->events = events;
	if (events)
		uv_poll_start(&s->poll, events, on_poll);
	else
		uv_poll_stop(&s->poll);
	return 0;
}

static void on_curl_timeout(uv_timer_t *timer)
{
	client_drive(timer->data, CURL_SOCKET_TIMEOUT, 0);
}

/* libcurl must not be called from here: the timer does it on the loop. */
static int on_curl_timer(CURLM *multi, long timeout_ms, void *userp)
{
	struct http_client *c = userp;

	(void)multi;
	if (timeout_ms < 0)
		uv_timer_stop(&c->curl_timer);
	else
		/* 0 ("now") as 1 ms, as curl's multi-uv example does: libuv runs
		 * a timer re-armed at 0 from a timer callback again at once,
		 * without polling in between */
		uv_timer_start(&c->curl_timer, on_curl_timeout,
			       timeout_ms == 0 ? 1 : (uint64_t)timeout_ms, 0);
	return 0;
}

int http_client_new(uv_loop_t *loop, struct http_client **out, struct ferr *e)
{
	struct http_client *c;

	*out = NULL;
	if (curllib_load(e) != 0)
		return -1;
	c = xcalloc(1, sizeof *c);
	c->loop = loop;
	c->multi = curl_multi_init();
	if (!c->multi) {
		free(c);
		return ferr_set(e, FERR_INTERNAL, "cannot create a libcurl multi handle");
	}
	curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, on_curl_socket);
	curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c);
	curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, on_curl_timer);
	curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c);
	uv_timer_init(loop, &c->curl_timer);
	c->curl_timer.data = c;
	uv_unref((uv_handle_t *)&c->curl_timer);
	uv_prepare_init(loop, &c->keepalive);
	c->keepalive.data = c;
	c->open_handles = 2;
	*out = c;
	return 0;
}

void http_client_free(struct http_client *c)
{
	struct http_transfer *t;

	if (!c || c->closing)
		return;
	assert(!c->in_curl);
	c->closing = true;
	for (t = c->transfers; t; t = t->next) {
		transfer_fail(t, FERR_INTERRUPTED, "request to %s cancelled", t->host);
		transfer_detach(t);
	}
	while (c->transfers)
		transfer_report(c->transfers);
	uv_timer_stop(&c->curl_timer);
	curl_multi_cleanup(c->multi);  /* may still report sockets to close */
	c->multi = NULL;
	while (c->sockets)
		socket_close(c->sockets);
	uv_close((uv_handle_t *)&c->curl_timer, on_client_handle_closed);
	uv_close((uv_handle_t *)&c->keepalive, on_client_handle_closed);
}

/* --- starting a request -------------------------------------------------- */

static bool is_loopback(const char *name, size_t len)
{
	size_t i;

	if ((len == 9 && strncasecmp(name, "localhost", 9) == 0) ||
	    (len > 10 && strncasecmp(name + len - 10, ".localhost", 10) == 0) ||
	    (len == 3 && memcmp(name, "::1", 3) == 0))
		return true;
	if (len < 4 || memcmp(name, "127.", 4) != 0)
		return false;
	for (i = 4; i < len; i++)
		if (!((name[i] >= '0' && name[i] <= '9') || name[i] == '.'))
			return false;
	return true;
}

/* From url, the host and port as the URL wrote them (without any
 * user:password@) into *host, and whether it is a loopback host.  Nothing
 * of the URL goes into e: it may carry secrets. */
static int parse_url(const char *url, char **host, bool *loopback, struct ferr *e)
{
	const char *p, *end, *at, *name, *name_end;

	if (!url)
		return ferr_set(e, FERR_CONFIG, "no URL given");
	for (p = url; *p; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f)
			return ferr_set(e, FERR_CONFIG, "the URL contains a blank or a control character");
	if (strncasecmp(url, "http://", 7) == 0)
		p = url + 7;
	else if (strncasecmp(url, "https://", 8) == 0)
		p = url + 8;
	else
		return ferr_set(e, FERR_CONFIG, "the URL must start with http:// or https://");
	end = p + strcspn(p, "/?#");
	for (at = end; at > p && at[-1] != '@'; at--)
		;
	p = at;
	if (p == end)
		return ferr_set(e, FERR_CONFIG, "the URL has no host");
	if (*p == '[') {
		name = p + 1;
		name_end = memchr(name, ']', (size_t)(end - name));
		if (!name_end)
			return ferr_set(e, FERR_CONFIG, "the URL's IPv6 host has no closing ]");
	} else {
		name = p;
		name_end = memchr(p, ':', (size_t)(end - p));
		if (!name_end)
			name_end = end;
	}
	if (name_end == name)
		return ferr_set(e, FERR_CONFIG, "the URL has no host");
	if (end - p > 300)
		return ferr_set(e, FERR_CONFIG, "the URL's host is too long");
	*loopback = is_loopback(name, (size_t)(name_end - name));
	*host = xstrndup(p, (size_t)(end - p));
	return 0;
}

static bool is_token(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
		      (*s >= '0' && *s <= '9') || strchr("!#$%&'*+-.^_`|~", *s)))
			return false;
	return true;
}

static bool has_header(const char *const *headers, const char *name)
{
	size_t len = strlen(name);

	for (; headers && *headers; headers++)
		if (strncasecmp(*headers, name, len) == 0 &&
		    ((*headers)[len] == ':' || (*headers)[len] == ';'))
			return true;
	return false;
}

static int check_headers(const char *const *headers, struct ferr *e)
{
	size_t i;

	for (i = 0; headers && headers[i]; i++) {
		const char *h = headers[i];
		size_t name_len = strcspn(h, ":;");

		/* no header text in the message: it may be a key */
		if (strpbrk(h, "\r\n"))
			return ferr_set(e, FERR_USAGE, "request header %zu contains a line break", i + 1);
		if (name_len == 0 || h[name_len] == '\0')
			return ferr_set(e, FERR_USAGE, "request header %zu is not \"Name: value\"", i + 1);
	}
	return 0;
}

static void keep_first(CURLcode *first, CURLcode rc)
{
	if (*first == CURLE_OK)
		*first = rc;
}

static CURLcode append_header(struct curl_slist **list, const char *line)
{
	struct curl_slist *longer = curl_slist_append(*list, line);

	if (!longer)
		return CURLE_OUT_OF_MEMORY;
	*list = longer;
	return CURLE_OK;
}

/* Set the options of a new easy handle; the first failure's code. */
static CURLcode transfer_setup(struct http_transfer *t, const struct http_request *req,
			       bool loopback)
{
	CURL *easy = t->easy;
	const char *method = req->method ? req->method : req->body_len ? "POST" : "GET";
	CURLcode rc = CURLE_OK, protocols_rc;
	size_t i;

	for (i = 0; req->headers && req->headers[i]; i++)
		keep_first(&rc, append_header(&t->header_list, req->headers[i]));
	/* no 100-continue wait before a large body */
	if (!has_header(req->headers, "Expect"))
		keep_first(&rc, append_header(&t->header_list, "Expect:"));

	keep_first(&rc, curl_easy_setopt(easy, CURLOPT_URL, req->url));
	keep_first(&rc, curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L));
#if LIBCURL_VERSION_NUM >= 0x075500
	protocols_rc = curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
#else
	protocols_rc = CURLE_UNKNOWN_OPTION;
#endif
	if (protocols_rc == CURLE_UNKNOWN_OPTION)  /* libcurl before 7.85 */
		protocols_rc = curl_easy_setopt(easy, CURLOPT_PROTOCOLS,
						(long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
	keep_first(&rc, protocols_rc);
	keep_first(&rc, curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 0L));
	keep_first(&rc, curl_easy_setopt(easy, CURLOPT_UNRESTRICTED_AUTH, 0L));
	keep_first(&rc, curl_easy_setopt(easy, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS));
	keep_first(&rc, curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, 1L));
	keep_first(&rc, curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, 2L));
	if (req->ca_bundle)
		keep_first(&rc, curl_easy_setopt(easy, CURLOPT_CAINFO, req->ca_bundle));
	/* a proxy cannot reach our loopback; "" overrides the environment */
	if (loopback)
		keep_first(&rc, curl_easy_setopt(easy, CURLOPT_PROXY, ""));
	keep_first(&rc, curl_easy_setopt(easy, CURLOPT_ACCEPT_ENCODING, "identity"));
	keep_first(&rc, curl_easy_setopt(easy, CURLOPT_USERAGENT, "forja/" FORJA_VERSION));
	keep_first(&rc, curl_easy_setopt(easy, CURLOPT_HTTPHEADER, t->header_list));
	keep_first(&rc, curl_easy_setopt(easy, CURLOPT_SUPPRESS_CONNECT_HEADERS, 1L));
	keep_first(&rc, curl_easy_setopt(easy, CURLOPT_TCP_KEEPALIVE, 1L));
	if (req->timeouts.connect_ms > 0)
		keep_first(&rc, curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS,
						 req->timeouts.connect_ms));
	keep_first(&rc, curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, t->curl_error));
	keep_first(&rc, curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, on_curl_header));
	keep_first(&rc, curl_easy_setopt(easy, CURLOPT_HEADERDATA, t));
	keep_first(&rc, curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, on_curl_write));
	keep_first(&rc, curl_easy_setopt(easy, CURLOPT_WRITEDATA, t));
	if (strcmp(method, "HEAD") == 0 && !req->body_len) {
		keep_first(&rc, curl_easy_setopt(easy, CURLOPT_NOBODY, 1L));
	} else if (strcmp(method, "GET") == 0 && !req->body_len) {
		keep_first(&rc, curl_easy_setopt(easy, CURLOPT_HTTPGET, 1L));
	} else {
		keep_first(&rc, curl_easy_setopt(easy, CURLOPT_POST, 1L));
		/* the size first: the copy then takes body_len bytes, NULs too */
		keep_first(&rc, curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE,
						 (curl_off_t)req->body_len));
		keep_first(&rc, curl_easy_setopt(easy, CURLOPT_COPYPOSTFIELDS,
						 req->body_len ? req->body : ""));
		if (strcmp(method, "POST") != 0)
			keep_first(&rc, curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, method));
	}
	return rc;
}

static int check_request(const struct http_request *req, struct ferr *e)
{
	if (check_headers(req->headers, e) != 0)
		return -1;
	if (req->method && !is_token(req->method))
		return ferr_set(e, FERR_USAGE, "the HTTP method is not a valid token");
	if (!req->body && req->body_len)
		return ferr_set(e, FERR_USAGE, "a request body of %zu bytes with no data",
				req->body_len);
	return 0;
}

int http_start(struct http_client *c, const struct http_request *req,
	       const struct http_callbacks *cb, void *ctx,
	       struct http_transfer **out, struct ferr *e)
{
	struct http_transfer *t;
	char *host = NULL;
	bool loopback = false;
	CURLcode rc;
	CURLMcode mc;

	if (out)
		*out = NULL;
	if (c->closing)
		return ferr_set(e, FERR_INTERRUPTED, "the HTTP client is shutting down");
	if (c->in_curl)
		return ferr_set(e, FERR_INTERNAL, "http_start called from on_response or on_data");
	if (check_request(req, e) != 0 || parse_url(req->url, &host, &loopback, e) != 0)
		return -1;

	t = xcalloc(1, sizeof *t);
	t->client = c;
	t->host = host;
	t->ca_bundle = req->ca_bundle ? xstrdup(req->ca_bundle) : NULL;
	t->timeouts = req->timeouts;
	if (cb)
		t->cb = *cb;
	t->ctx = ctx;
	t->easy = curl_easy_init();
	if (!t->easy) {
		rc = CURLE_FAILED_INIT;
		goto fail;
	}
	rc = transfer_setup(t, req, loopback);
	if (rc != CURLE_OK)
		goto fail;
	mc = curl_multi_add_handle(c->multi, t->easy);
	if (mc != CURLM_OK) {
		ferr_set(e, FERR_INTERNAL, "cannot start the request to %s: %s", host,
			 curl_multi_strerror(mc));
		goto out;
	}

	uv_timer_init(c->loop, &t->timer);
	t->timer.data = t;
	c->open_handles++;
	t->next = c->transfers;
	if (c->transfers)
		c->transfers->prev = t;
	c->transfers = t;
	client_update_keepalive(c);
	/* the loop's clock may be stale after synchronous work */
	uv_update_time(c->loop);
	t->started = uv_now(c->loop);
	transfer_arm(t);
	if (out)
		*out = t;
	return 0;

fail:
	ferr_set(e, FERR_INTERNAL, "cannot set up the request to %s: %s", host, curl_easy_strerror(rc));
out:
	if (t->easy)
		curl_easy_cleanup(t->easy);
	curl_slist_free_all(t->header_list);
	free(t->ca_bundle);
	free(t->host);
	free(t);
	return -1;
}

void http_cancel(struct http_transfer *t)
{
	if (t)
		transfer_fail(t, FERR_INTERRUPTED, "request to %s cancelled", t->host);
}

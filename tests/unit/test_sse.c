/* sse: the incremental Server-Sent Events parser.  Every stream in the table
 * is fed whole, one byte at a time, split at every position and in random
 * chunks; all must give exactly the expected events. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "forja/buf.h"
#include "forja/ferr.h"
#include "forja/sse.h"
#include "tap.h"

/* Records events as "type|data|id|retry\n" lines, escaping every byte that
 * is not printable ASCII (and '|' and '\\') as \xHH so NULs, line ends and
 * invalid UTF-8 show up exactly. */
struct recorder {
	struct buf out;
	int count;
	int stop_at;       /* return stop_rc from this event (1-based); 0 never */
	int stop_rc;
	bool terminated;   /* every string was NUL-terminated at its length */
};

static void put_escaped(struct buf *b, const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c >= 0x7f || c == '|' || c == '\\')
			buf_printf(b, "\\x%02X", c);
		else
			buf_putc(b, (char)c);
	}
}

static int record(void *ctx, const struct sse_event *ev)
{
	struct recorder *r = ctx;

	r->terminated &= ev->type[ev->type_len] == '\0' && ev->data[ev->data_len] == '\0' &&
			 ev->id[ev->id_len] == '\0';
	put_escaped(&r->out, ev->type, ev->type_len);
	buf_putc(&r->out, '|');
	put_escaped(&r->out, ev->data, ev->data_len);
	buf_putc(&r->out, '|');
	put_escaped(&r->out, ev->id, ev->id_len);
	buf_printf(&r->out, "|%ld\n", ev->retry_ms);
	r->count++;
	return r->stop_at && r->count == r->stop_at ? r->stop_rc : 0;
}

static void recorder_init(struct recorder *r)
{
	memset(r, 0, sizeof *r);
	r->terminated = true;
}

enum chunking { WHOLE, BYTES, SPLIT, RANDOM };

static uint32_t xorshift(uint32_t *state)
{
	uint32_t x = *state;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return *state = x;
}

/* Feed in[0..len) chunked as asked (param: the split position, or the
 * random seed), then finish.  Returns the first non-zero result. */
static int run(struct recorder *r, size_t max, const char *in, size_t len, bool flush,
	       enum chunking how, size_t param, struct ferr *e)
{
	struct sse_parser p;
	uint32_t seed = (uint32_t)param | 1;
	size_t pos = 0;
	int rc = 0;

	sse_parser_init(&p, max, record, r);
	while (rc == 0 && pos < len) {
		size_t n = len - pos;

		if (how == BYTES)
			n = 1;
		else if (how == SPLIT && pos < param)
			n = param - pos;
		else if (how == RANDOM)
			n = 1 + xorshift(&seed) % 23;
		if (n > len - pos)
			n = len - pos;
		rc = sse_parser_feed(&p, in + pos, n, e);
		pos += n;
	}
	if (rc == 0)
		rc = sse_parser_finish(&p, flush, e);
	sse_parser_release(&p);
	return rc;
}

struct sse_case {
	const char *name;
	const char *in;
	size_t len;
	bool flush;
	const char *want;
};

#define S(lit) lit, sizeof(lit) - 1

static const struct sse_case cases[] = {
	{ "empty stream", S(""), true, "" },
	{ "only blank lines", S("\n\r\n\r\n\n"), true, "" },
	{ "LF", S("data: hello\n\n"), false, "message|hello||-1\n" },
	{ "CRLF", S("data: a\r\n\r\ndata: b\r\n\r\n"), false,
	  "message|a||-1\nmessage|b||-1\n" },
	{ "CR", S("data: a\r\rdata: b\r\r"), false, "message|a||-1\nmessage|b||-1\n" },
	{ "mixed line ends", S("data: a\r\ndata: b\n\rdata: c\r\n\n"), false,
	  "message|a\\x0Ab||-1\nmessage|c||-1\n" },
	{ "CR then CRLF is two line ends", S("data: a\r\r\ndata: b\n\r\n"), false,
	  "message|a||-1\nmessage|b||-1\n" },
	{ "LF then CR is two line ends", S("data: a\n\rdata: b\n\n"), false,
	  "message|a||-1\nmessage|b||-1\n" },
	{ "CR inside a line ends it", S("data: a\rb\n\n"), false, "message|a||-1\n" },
	{ "lone CR at end of stream ends the line", S("data: a\r\r"), false,
	  "message|a||-1\n" },
	{ "BOM skipped", S("\xEF\xBB\xBF" "data: x\n\n"), false, "message|x||-1\n" },
	{ "BOM only", S("\xEF\xBB\xBF"), true, "" },
	{ "second BOM is content", S("\xEF\xBB\xBF\xEF\xBB\xBF" "data: x\n\ndata: y\n\n"), false,
	  "message|y||-1\n" },
	{ "partial BOM is content", S("\xEF\xBB" "data: x\n\ndata: y\n\n"), false,
	  "message|y||-1\n" },
	{ "partial BOM then line end", S("\xEF\n" "data: y\n\n"), false, "message|y||-1\n" },
	{ "BOM bytes later are data", S("data: \xEF\xBB\xBF" "z\n\n"), false,
	  "message|\\xEF\\xBB\\xBFz||-1\n" },
	{ "BOM then CRLF", S("\xEF\xBB\xBF\r\ndata: x\r\n\r\n"), false, "message|x||-1\n" },
	{ "comments", S(": ping\n\ndata: x\n:comment\ndata: y\n:\n\n"), false,
	  "message|x\\x0Ay||-1\n" },
	{ "event id retry", S("event: add\nid: 7\nretry: 1500\ndata: a\n\ndata: b\n\n"), false,
	  "add|a|7|1500\nmessage|b|7|-1\n" },
	{ "event type reset after dispatch", S("event: x\ndata: a\n\ndata: b\n\n"), false,
	  "x|a||-1\nmessage|b||-1\n" },
	{ "empty event field means message", S("event: x\nevent\ndata: a\n\n"), false,
	  "message|a||-1\n" },
	{ "last event field wins", S("event: x\nevent: y\ndata: a\n\n"), false,
	  "y|a||-1\n" },
	{ "id with NUL ignored", S("id: 1\ndata: a\n\nid: 2\0x\ndata: b\n\n"), false,
	  "message|a|1|-1\nmessage|b|1|-1\n" },
	{ "empty id clears it", S("id: 1\ndata: a\n\nid\ndata: b\n\nid: 3\ndata: c\n\nid:\ndata: d\n\n"),
	  false, "message|a|1|-1\nmessage|b||-1\nmessage|c|3|-1\nmessage|d||-1\n" },
	{ "id set in a block without data persists", S("id: 9\n\ndata: a\n\n"), false,
	  "message|a|9|-1\n" },
	{ "retry with non-digits ignored",
	  S("retry: 12a\ndata: a\n\nretry: -5\ndata: b\n\nretry:\ndata: c\n\n"
	    "retry:  5\ndata: d\n\nretry: 1.5\ndata: e\n\nretry: 007\ndata: f\n\n"),
	  false,
	  "message|a||-1\nmessage|b||-1\nmessage|c||-1\nmessage|d||-1\nmessage|e||-1\n"
	  "message|f||7\n" },
	{ "retry saturates", S("retry: 99999999999999999999999999\ndata: a\n\n"), false,
	  sizeof(long) == 8 ? "message|a||9223372036854775807\n" : "message|a||2147483647\n" },
	{ "retry of an undispatched block is not carried", S("retry: 100\n\ndata: a\n\n"),
	  false, "message|a||-1\n" },
	{ "data without colon", S("data\n\n"), false, "message|||-1\n" },
	{ "two data without colon", S("data\ndata\n\n"), false, "message|\\x0A||-1\n" },
	{ "data: with empty value is dispatched", S("data:\n\n"), false, "message|||-1\n" },
	{ "data: with one space is empty", S("data: \n\n"), false, "message|||-1\n" },
	{ "data without space", S("data:x\n\n"), false, "message|x||-1\n" },
	{ "two spaces keep one", S("data:  x\n\n"), false, "message| x||-1\n" },
	{ "trailing space kept", S("data: x \n\n"), false, "message|x ||-1\n" },
	{ "tab is not a space", S("data:\tx\n\n"), false, "message|\\x09x||-1\n" },
	{ "colon in value kept", S("data: a:b: c\n\n"), false, "message|a:b: c||-1\n" },
	{ "multi-line data", S("data: a\ndata: b\ndata: c\n\n"), false,
	  "message|a\\x0Ab\\x0Ac||-1\n" },
	{ "empty data lines", S("data: a\ndata:\ndata: b\n\n"), false,
	  "message|a\\x0A\\x0Ab||-1\n" },
	{ "two empty data lines", S("data:\ndata:\n\n"), false, "message|\\x0A||-1\n" },
	{ "blocks without data are not dispatched",
	  S("\n\n\nevent: x\n\nid: 3\n\nretry: 5\n\n: c\n\ndata: z\n\n"), false,
	  "message|z|3|-1\n" },
	{ "field names case-sensitive",
	  S("Data: a\n\nDATA: b\n\nEvent: x\nID: 4\nRetry: 9\ndata: c\n\n"), false,
	  "message|c||-1\n" },
	{ "unknown fields ignored", S("foo: bar\ndata: a\nfoo\n: x\n data: b\ndata : c\n\n"),
	  false, "message|a||-1\n" },
	{ "NUL bytes in data kept", S("data: a\0b\n\ndata: \0\n\n"), false,
	  "message|a\\x00b||-1\nmessage|\\x00||-1\n" },
	{ "NUL in a field name", S("da\0ta: a\ndata: b\n\n"), false, "message|b||-1\n" },
	{ "invalid UTF-8 passed through", S("data: \xff\xfe\xc3(\x80\n\nevent: \xc0\xaf\ndata: \xed\xa0\x80\n\n"),
	  false, "message|\\xFF\\xFE\\xC3(\\x80||-1\n\\xC0\\xAF|\\xED\\xA0\\x80||-1\n" },
	{ "valid UTF-8 passed through", S("data: caf\xc3\xa9 \xf0\x9f\x98\x80\n\n"), false,
	  "message|caf\\xC3\\xA9 \\xF0\\x9F\\x98\\x80||-1\n" },
	{ "OpenAI-style stream",
	  S("data: {\"choices\":[{\"delta\":{\"content\":\"Hel\"}}]}\n\n"
	    "data: {\"choices\":[{\"delta\":{\"content\":\"lo\"}}]}\n\n"
	    "data: [DONE]\n\n"),
	  false,
	  "message|{\"choices\":[{\"delta\":{\"content\":\"Hel\"}}]}||-1\n"
	  "message|{\"choices\":[{\"delta\":{\"content\":\"lo\"}}]}||-1\n"
	  "message|[DONE]||-1\n" },
	{ "Anthropic-style stream",
	  S("event: message_start\r\n"
	    "data: {\"type\":\"message_start\"}\r\n\r\n"
	    "event: content_block_delta\r\n"
	    "data: {\"type\":\"content_block_delta\",\"index\":0,"
	    "\"delta\":{\"type\":\"text_delta\",\"text\":\"Hi\"}}\r\n\r\n"
	    "event: ping\r\ndata: {\"type\": \"ping\"}\r\n\r\n"
	    "event: message_stop\r\ndata: {\"type\":\"message_stop\"}\r\n\r\n"),
	  false,
	  "message_start|{\"type\":\"message_start\"}||-1\n"
	  "content_block_delta|{\"type\":\"content_block_delta\",\"index\":0,"
	  "\"delta\":{\"type\":\"text_delta\",\"text\":\"Hi\"}}||-1\n"
	  "ping|{\"type\": \"ping\"}||-1\n"
	  "message_stop|{\"type\":\"message_stop\"}||-1\n" },
	{ "no final blank line, flush false", S("data: a\n\ndata: b\n"), false,
	  "message|a||-1\n" },
	{ "no final blank line, flush true", S("data: a\n\ndata: b\n"), true,
	  "message|a||-1\nmessage|b||-1\n" },
	{ "no final line end, flush false", S("data: a\n\nevent: e\ndata: b"), false,
	  "message|a||-1\n" },
	{ "no final line end, flush true", S("data: a\n\nevent: e\ndata: b"), true,
	  "message|a||-1\ne|b||-1\n" },
	{ "lone CR at end, flush false", S("data: a\r"), false, "" },
	{ "lone CR at end, flush true", S("data: a\r"), true, "message|a||-1\n" },
	{ "unterminated id applies on flush", S("data: a\nid: 5"), true, "message|a|5|-1\n" },
	{ "flush with no data dispatches nothing", S("data: a\n\nevent: x\nid: 2\n"), true,
	  "message|a||-1\n" },
	{ "flush of a terminated stream adds nothing", S("data: a\n\n"), true,
	  "message|a||-1\n" },
	{ "flush of an unterminated comment", S("data: a\n: bye"), true, "message|a||-1\n" },
	{ "flush of a partial BOM", S("\xEF\xBB"), true, "" },
};

static void check_case(const struct sse_case *c)
{
	struct recorder r;
	struct ferr e = FERR_INIT;
	char name[256];
	int rc;

	recorder_init(&r);
	rc = run(&r, 0, c->in, c->len, c->flush, WHOLE, 0, &e);
	snprintf(name, sizeof name, "%s: events (whole)", c->name);
	tap_is_str(buf_cstr(&r.out), c->want, name);
	snprintf(name, sizeof name, "%s: feed and finish return 0", c->name);
	tap_is_int(rc, 0, name);
	snprintf(name, sizeof name, "%s: strings NUL-terminated", c->name);
	tap_ok(r.terminated, name);
	buf_release(&r.out);

	static const char *const how_names[] = { "whole", "one byte at a time",
						 "split at every position", "random chunks" };
	for (enum chunking how = BYTES; how <= RANDOM; how++) {
		size_t runs = how == SPLIT ? c->len + 1 : how == RANDOM ? 8 : 1;
		size_t bad = 0, first_bad = 0;
		struct buf bad_out = BUF_INIT;

		for (size_t i = 0; i < runs; i++) {
			recorder_init(&r);
			rc = run(&r, 0, c->in, c->len, c->flush, how,
				 how == RANDOM ? 0x9e3779b9u * (i + 1) : i, &e);
			if (rc != 0 || strcmp(buf_cstr(&r.out), c->want) != 0 || !r.terminated) {
				if (bad++ == 0) {
					first_bad = i;
					buf_add(&bad_out, buf_cstr(&r.out), r.out.len);
				}
			}
			buf_release(&r.out);
		}
		snprintf(name, sizeof name, "%s: same events %s", c->name, how_names[how]);
		tap_ok(bad == 0, name);
		if (bad)
			printf("#   %zu of %zu runs differ; first (run %zu) got: \"%s\"\n", bad,
			       runs, first_bad, buf_cstr(&bad_out));
		buf_release(&bad_out);
	}
}

static double now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Counts events and checks their size without keeping them. */
struct counter {
	size_t count;
	size_t data_bytes;
	size_t last_len;
	bool all_x;
};

static int count_event(void *ctx, const struct sse_event *ev)
{
	struct counter *c = ctx;

	c->count++;
	c->data_bytes += ev->data_len;
	c->last_len = ev->data_len;
	if (ev->data_len && (ev->data[0] != 'x' || ev->data[ev->data_len - 1] != 'x'))
		c->all_x = false;
	return 0;
}

static void test_huge_line_byte_by_byte(void)
{
	const size_t size = (size_t)8 << 20;
	char *in = xmalloc(size + 8);
	struct counter c = { 0, 0, 0, true };
	struct sse_parser p;
	struct ferr e = FERR_INIT;
	double start, took;
	int rc = 0;

	memcpy(in, "data: ", 6);
	memset(in + 6, 'x', size);
	memcpy(in + 6 + size, "\n\n", 2);
	sse_parser_init(&p, 0, count_event, &c);
	start = now_seconds();
	for (size_t i = 0; rc == 0 && i < size + 8; i++)
		rc = sse_parser_feed(&p, in + i, 1, &e);
	if (rc == 0)
		rc = sse_parser_finish(&p, false, &e);
	took = now_seconds() - start;
	tap_is_int(rc, 0, "8 MiB line byte by byte: no error");
	tap_is_int((long long)c.count, 1, "8 MiB line byte by byte: one event");
	tap_is_int((long long)c.last_len, (long long)size,
		   "8 MiB line byte by byte: exact data length");
	tap_ok(c.all_x, "8 MiB line byte by byte: data intact");
	tap_ok(took < 2.0, "8 MiB line byte by byte: linear (well under 2 s, even under ASan)");
	printf("#   took %.3f s\n", took);

	/* the same line whole, and in 4 KiB chunks */
	c = (struct counter){ 0, 0, 0, true };
	rc = sse_parser_feed(&p, in, size + 8, &e);
	tap_is_int((long long)c.last_len, (long long)size, "8 MiB line whole: exact data length");
	c = (struct counter){ 0, 0, 0, true };
	for (size_t i = 0; rc == 0 && i < size + 8; i += 4096)
		rc = sse_parser_feed(&p, in + i, size + 8 - i < 4096 ? size + 8 - i : 4096, &e);
	tap_ok(rc == 0 && c.count == 1 && c.last_len == size,
	       "8 MiB line in 4 KiB chunks: exact data length");
	sse_parser_release(&p);
	free(in);
}

static void test_many_events(void)
{
	const size_t events = 100000;
	struct buf in = BUF_INIT;
	struct counter c = { 0, 0, 0, true };
	struct sse_parser p;
	struct ferr e = FERR_INIT;
	double start, took;
	int rc = 0;

	for (size_t i = 0; i < events; i++)
		buf_printf(&in,
			   "data: {\"choices\":[{\"delta\":{\"content\":\"tok%zu\"}}]}\n\n", i);
	sse_parser_init(&p, 0, count_event, &c);
	start = now_seconds();
	for (size_t i = 0; rc == 0 && i < in.len; i += 1500)
		rc = sse_parser_feed(&p, in.data + i, in.len - i < 1500 ? in.len - i : 1500, &e);
	if (rc == 0)
		rc = sse_parser_finish(&p, false, &e);
	took = now_seconds() - start;
	tap_is_int(rc, 0, "100,000 events: no error");
	tap_is_int((long long)c.count, (long long)events, "100,000 events: all delivered");
	tap_ok(took < 0.5, "100,000 events: fast (a few ms optimised, under 0.5 s under ASan)");
	printf("#   took %.4f s\n", took);
	sse_parser_release(&p);
	buf_release(&in);
}

static void test_size_cap(void)
{
	struct recorder r;
	struct ferr e = FERR_INIT;
	int rc;

	recorder_init(&r);
	rc = run(&r, 16, S("data: 0123456789abcdef\n\n"), false, WHOLE, 0, &e);
	tap_ok(rc == 0 && r.count == 1, "cap: data of exactly the cap is delivered");
	buf_release(&r.out);

	recorder_init(&r);
	rc = run(&r, 16, S("data: 12345678\ndata: 1234567\n\n"), false, WHOLE, 0, &e);
	tap_is_str(buf_cstr(&r.out), "message|12345678\\x0A1234567||-1\n",
		   "cap: joined lines of exactly the cap are delivered");
	buf_release(&r.out);

	for (enum chunking how = WHOLE; how <= BYTES; how++) {
		const char *mode = how == WHOLE ? "whole" : "byte by byte";
		char name[128];

		recorder_init(&r);
		ferr_clear(&e);
		rc = run(&r, 16, S("data: ok\n\ndata: 0123456789abcdefg\n\ndata: never\n\n"),
			 false, how, 0, &e);
		snprintf(name, sizeof name, "cap (%s): one byte over is an error", mode);
		tap_is_int(rc, -1, name);
		snprintf(name, sizeof name, "cap (%s): error class provider", mode);
		tap_is_int(e.cls, FERR_PROVIDER, name);
		snprintf(name, sizeof name, "cap (%s): error names the cap", mode);
		tap_is_str(e.msg, "SSE event larger than 16 bytes", name);
		snprintf(name, sizeof name, "cap (%s): events before the error delivered", mode);
		tap_is_str(buf_cstr(&r.out), "message|ok||-1\n", name);
		buf_release(&r.out);

		recorder_init(&r);
		ferr_clear(&e);
		rc = run(&r, 16, S("data: 12345678\ndata: 12345678\n\n"), false, how, 0, &e);
		snprintf(name, sizeof name, "cap (%s): joined lines over the cap", mode);
		tap_ok(rc == -1 && r.count == 0 && e.cls == FERR_PROVIDER, name);
		buf_release(&r.out);
	}

	/* A line without an end can't grow forever either, nor can other fields. */
	struct sse_parser p;
	char chunk[50];
	size_t fed = 0;

	recorder_init(&r);
	ferr_clear(&e);
	memset(chunk, 'a', sizeof chunk);
	sse_parser_init(&p, 16, record, &r);
	rc = sse_parser_feed(&p, "event: ", 7, &e);
	while (rc == 0 && fed < 1000) {
		rc = sse_parser_feed(&p, chunk, sizeof chunk, &e);
		fed += sizeof chunk;
	}
	tap_is_int(rc, -1, "cap: an endless line is an error");
	tap_ok(fed <= 16 + 64 + sizeof chunk, "cap: the endless line is stopped at the line cap");
	tap_contains(e.msg, "SSE event larger than 16 bytes", "cap: same message for a line");
	ferr_clear(&e);
	rc = sse_parser_feed(&p, "\n\ndata: x\n\n", 11, &e);
	tap_ok(rc == -1 && e.cls == FERR_PROVIDER && r.count == 0,
	       "cap: feed after the error fails again");
	ferr_clear(&e);
	rc = sse_parser_finish(&p, true, &e);
	tap_ok(rc == -1 && e.cls == FERR_PROVIDER, "cap: finish after the error fails again");
	sse_parser_release(&p);
	buf_release(&r.out);

	recorder_init(&r);
	ferr_clear(&e);
	rc = run(&r, 16, S(": a comment much longer than sixteen bytes of data, and then some\n"
			   "id: an id much longer than sixteen bytes but under the line cap\n"
			   "data: x\n\n"),
		 false, BYTES, 0, &e);
	tap_is_str(buf_cstr(&r.out),
		   "message|x|an id much longer than sixteen bytes but under the line cap|-1\n",
		   "cap: lines over the data cap but under the line cap are fine");
	buf_release(&r.out);
}

static void test_stop(void)
{
	static const char in[] = "data: 1\n\ndata: 2\n\ndata: 3\n\n";
	struct recorder r;
	struct sse_parser p;
	struct ferr e = FERR_INIT;
	int rc;

	recorder_init(&r);
	r.stop_at = 2;
	r.stop_rc = 7;
	sse_parser_init(&p, 0, record, &r);
	rc = sse_parser_feed(&p, in, sizeof in - 1, &e);
	tap_is_int(rc, 7, "stop: feed returns the callback's value");
	tap_is_str(buf_cstr(&r.out), "message|1||-1\nmessage|2||-1\n",
		   "stop: no event after the stop");
	tap_is_int(sse_parser_feed(&p, "data: 4\n\n", 9, &e), 7, "stop: later feed returns it too");
	tap_is_int(sse_parser_finish(&p, true, &e), 7, "stop: finish returns it too");
	tap_is_int(r.count, 2, "stop: nothing parsed after the stop");
	tap_is_int(e.cls, FERR_NONE, "stop: the error is left untouched");
	sse_parser_release(&p);
	buf_release(&r.out);

	recorder_init(&r);
	r.stop_at = 1;
	r.stop_rc = 3;
	rc = run(&r, 0, in, sizeof in - 1, false, BYTES, 0, &e);
	tap_ok(rc == 3 && r.count == 1, "stop: byte by byte stops at the first event");
	buf_release(&r.out);

	recorder_init(&r);
	r.stop_at = 1;
	r.stop_rc = 5;
	rc = run(&r, 0, S("data: only"), true, WHOLE, 0, &e);
	tap_ok(rc == 5 && r.count == 1, "stop: finish returns the callback's value");
	buf_release(&r.out);
}

static void test_reuse_and_reconnect(void)
{
	struct recorder r;
	struct sse_parser p;
	struct ferr e = FERR_INIT;
	int rc;

	recorder_init(&r);
	sse_parser_init(&p, 0, record, &r);
	tap_is_int(p.reconnect_ms, -1, "reconnect_ms is -1 before any retry");
	rc = sse_parser_feed(&p, S("\xEF\xBB\xBFretry: 250\nid: 4\n\nretry: x\ndata: a\n\n"
				   "data: pending\n"), &e);
	tap_is_int(p.reconnect_ms, 250, "reconnect_ms keeps a retry from an undispatched block");
	rc |= sse_parser_finish(&p, false, &e);
	rc |= sse_parser_feed(&p, S("\xEF\xBB\xBF" "data: b\n\n"), &e);
	rc |= sse_parser_finish(&p, false, &e);
	tap_is_int(rc, 0, "reuse: no error");
	tap_is_str(buf_cstr(&r.out), "message|a|4|-1\nmessage|b||-1\n",
		   "reuse: after finish a new stream starts clean (BOM, id, pending event)");
	tap_is_int(p.reconnect_ms, 250, "reconnect_ms kept across finish");
	sse_parser_release(&p);
	buf_release(&r.out);

	recorder_init(&r);
	sse_parser_init(&p, 0, record, &r);
	rc = sse_parser_feed(&p, NULL, 0, &e);
	rc |= sse_parser_feed(&p, S("data: a\r"), &e);
	rc |= sse_parser_feed(&p, NULL, 0, &e);
	rc |= sse_parser_feed(&p, S("\n\n"), &e);
	rc |= sse_parser_finish(&p, false, &e);
	tap_ok(rc == 0 && r.count == 1, "empty feeds change nothing, even between CR and LF");
	sse_parser_release(&p);
	buf_release(&r.out);
}

int main(void)
{
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		check_case(&cases[i]);
	test_size_cap();
	test_stop();
	test_reuse_and_reconnect();
	test_many_events();
	test_huge_line_byte_by_byte();
	return tap_done();
}

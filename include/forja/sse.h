/*
 * sse — an incremental Server-Sent Events (text/event-stream) parser.
 *
 * The provider layer feeds it the HTTP response body in whatever chunks the
 * network delivers, and it calls back once per dispatched event.  It does
 * no I/O and keeps no globals: all state is in the struct sse_parser, which
 * callers embed.  Chunk boundaries never change the result: feeding a
 * stream whole or one byte at a time gives the same events.
 *
 * It follows the WHATWG HTML "event stream interpretation" rules:
 *
 *   - Lines end in LF, CR or CRLF.  A CRLF split across two chunks is one
 *     line end; a lone CR at the very end of the stream ends a line.
 *   - One UTF-8 byte order mark (EF BB BF) at the very start is skipped.
 *   - An empty line dispatches the event being built (see below).
 *   - A line starting with ':' is a comment and is ignored.
 *   - Otherwise the field name is everything before the first ':' (the
 *     whole line when there is none, with an empty value) and the value is
 *     everything after it, minus ONE leading space if there is one
 *     ("data:x" and "data: x" both give "x"; "data:  x" gives " x").
 *     Field names are case-sensitive; unknown fields are ignored.
 *   - "event": sets the event type; an empty one means "message".
 *   - "data": appends the value and then "\n" to the data buffer.
 *   - "id": sets the last event id, unless the value contains a NUL byte
 *     (then the line is ignored).  The id is not reset by dispatch: every
 *     later event carries it until another "id" line changes it ("id:" with
 *     an empty value clears it).
 *   - "retry": a value of one or more ASCII digits sets the reconnection
 *     time in milliseconds (saturating at LONG_MAX); anything else,
 *     including an empty value, is ignored.
 *
 * Dispatch, on an empty line: when the data buffer is empty (no "data"
 * line since the last dispatch) nothing is delivered and the event type
 * and retry of the block are forgotten.  Otherwise the one trailing "\n" is
 * removed and the event is delivered.  So "data\n\n" and "data:\n\n" DO
 * deliver an event with data "" (the buffer held "\n"), "data:\ndata:\n\n"
 * delivers "\n", while "event: x\n\n" (no data line) delivers nothing.
 *
 * Deliberate differences from a browser's EventSource:
 *   - Bytes are passed through as they are: invalid UTF-8 is NOT replaced
 *     by U+FFFD, and NUL bytes inside data are kept (data_len counts them).
 *     Whoever parses the data (a JSON parser) validates it.
 *   - sse_parser_finish() can, on request, dispatch an event the server
 *     left unterminated (see there); the spec discards it.
 *   - Sizes are capped (see sse_parser_init()).
 *
 * Cost: linear in the input for any chunking; no allocation per event once
 * the buffers have grown to the largest event seen.
 */
#ifndef FORJA_SSE_H
#define FORJA_SSE_H

#include <stdbool.h>
#include <stddef.h>

#include "forja/buf.h"
#include "forja/ferr.h"

/* The cap used when sse_parser_init() is given 0. */
#define SSE_DEFAULT_MAX_EVENT_BYTES ((size_t)16 << 20)

/*
 * One dispatched event.  Every pointer is borrowed from the parser and is
 * valid only during the callback: copy what you keep.  Each of type, data
 * and id is NUL-terminated as well as counted (data may contain NULs of its
 * own, so use data_len).
 */
struct sse_event {
	const char *type;  /* the "event" field; "message" when absent or empty */
	size_t type_len;
	const char *data;  /* the "data" lines joined with '\n' */
	size_t data_len;
	const char *id;    /* the last event id, "" when none has been set */
	size_t id_len;
	long retry_ms;     /* the "retry" value set in this event's block, or -1 */
};

/*
 * Called once per dispatched event, from inside sse_parser_feed() or
 * sse_parser_finish().  Return 0 to go on; any other value stops the
 * parser: the bytes after the event are not parsed, and feed/finish return
 * that value as it is.  -1 is what feed returns for its own errors (with
 * the ferr filled); a callback returning -1 must report its error itself,
 * e.g. through ctx, since the parser leaves the caller's ferr untouched.
 * The callback must not call feed, finish or release on its own parser.
 */
typedef int (*sse_event_fn)(void *ctx, const struct sse_event *ev);

/*
 * The parser, visible so callers can embed it; touch its fields only
 * through the functions below, except reconnect_ms, which may be read.
 */
struct sse_parser {
	/* The latest valid "retry" value seen, in any block, dispatched or not,
	 * and kept across sse_parser_finish(); -1 if none.  Read-only. */
	long reconnect_ms;

	/* private */
	sse_event_fn fn;
	void *ctx;
	size_t max_event_bytes;
	size_t max_line_bytes;
	struct buf line;    /* a line not yet ended, carried between feeds */
	struct buf data;    /* the data buffer: each value followed by '\n' */
	struct buf type;    /* the event type buffer */
	struct buf id;      /* the last event id buffer */
	long block_retry;   /* "retry" of the block being built, or -1 */
	unsigned char bom_matched; /* BOM bytes seen at the start; 3 = past it */
	bool after_cr;      /* the last byte seen was a CR ending a line */
	bool failed;        /* a size cap was hit */
	int stop_rc;        /* non-zero once a callback asked to stop */
};

/*
 * Set up p, which owns nothing yet.  Calls fn(ctx, event) for each event.
 *
 * max_event_bytes caps the data of one event (its data_len); 0 means
 * SSE_DEFAULT_MAX_EVENT_BYTES.  One line may be at most max_event_bytes +
 * 64 bytes (room for the field name, so a "data:" line carrying exactly the
 * cap fits); that bounds the other fields and the carried partial line too,
 * so each of the parser's four buffers stays within about cap + 64 bytes.
 * Going over either limit is an error (see sse_parser_feed()); it is
 * checked before the memory is allocated.
 */
void sse_parser_init(struct sse_parser *p, size_t max_event_bytes, sse_event_fn fn,
		     void *ctx);

/*
 * Parse len more bytes of the stream (data may be NULL when len is 0).
 * Dispatches every event completed by these bytes, in order, and keeps any
 * unfinished line or event for the next call; data is not referenced after
 * the call returns.
 *
 * Returns 0 when all bytes were parsed; the callback's non-zero value if it
 * asked to stop; or -1 with e filled (FERR_PROVIDER, "SSE event larger than
 * N bytes") when an event's data or a line exceeds the caps.  After a stop
 * or an error the parser is finished with: every later feed or finish
 * returns the same value (and -1 refills e) without parsing; release it.
 */
int sse_parser_feed(struct sse_parser *p, const char *data, size_t len, struct ferr *e);

/*
 * The stream has ended.  Per the spec, an event without its closing empty
 * line is discarded: that is flush_partial = false.  Many servers end with
 * "data: ...\n" and no empty line (or even without the last line end); with
 * flush_partial = true the unterminated last line is parsed as a line and
 * the pending event is dispatched as if an empty line followed — that is,
 * when its data buffer is non-empty.
 *
 * Returns like sse_parser_feed().  Afterwards the parser is ready for a new
 * stream (a reconnection): the line, data, event type and last event id
 * buffers are emptied and a BOM is skipped again, as the spec starts each
 * stream with empty buffers; reconnect_ms is kept.  Keep ev->id from the
 * last event if you need it for a Last-Event-ID header.
 */
int sse_parser_finish(struct sse_parser *p, bool flush_partial, struct ferr *e);

/* Free what p holds.  p may then be initialised again. */
void sse_parser_release(struct sse_parser *p);

#endif

/*
 * sse.c — the incremental Server-Sent Events parser (see include/forja/sse.h
 * for the rules it follows).  Lines that lie whole inside one chunk are
 * parsed in place; only a line cut by a chunk boundary is copied into
 * p->line.  Line ends are found with memchr, each search result cached
 * until passed, so the scan stays linear however the input is chunked.
 */
#include "forja/sse.h"

#include <limits.h>
#include <string.h>

static const unsigned char bom[3] = { 0xEF, 0xBB, 0xBF };

/* Room for a field name and ": " on top of a value of the full cap. */
enum { SSE_LINE_SLACK = 64 };
/* Up to this many bytes, a byte loop finds line ends faster than memchr. */
enum { SSE_SHORT_SCAN = 16 };

void sse_parser_init(struct sse_parser *p, size_t max_event_bytes, sse_event_fn fn,
		     void *ctx)
{
	memset(p, 0, sizeof *p);
	p->reconnect_ms = -1;
	p->fn = fn;
	p->ctx = ctx;
	p->max_event_bytes = max_event_bytes ? max_event_bytes : SSE_DEFAULT_MAX_EVENT_BYTES;
	p->max_line_bytes = p->max_event_bytes > (size_t)-1 - SSE_LINE_SLACK
				    ? (size_t)-1
				    : p->max_event_bytes + SSE_LINE_SLACK;
	p->block_retry = -1;
}

void sse_parser_release(struct sse_parser *p)
{
	buf_release(&p->line);
	buf_release(&p->data);
	buf_release(&p->type);
	buf_release(&p->id);
}

static int too_large(struct sse_parser *p, struct ferr *e)
{
	p->failed = true;
	return ferr_set(e, FERR_PROVIDER, "SSE event larger than %zu bytes",
			p->max_event_bytes);
}

/* Per spec, "retry" counts only when the value is all ASCII digits; an
 * empty value is ignored too, as browsers do.  Returns -1 when ignored. */
static long parse_retry(const char *value, size_t len)
{
	long ms = 0;

	if (len == 0)
		return -1;
	for (size_t i = 0; i < len; i++) {
		int digit = value[i] - '0';

		if (digit < 0 || digit > 9)
			return -1;
		ms = ms > (LONG_MAX - digit) / 10 ? LONG_MAX : ms * 10 + digit;
	}
	return ms;
}

static int dispatch(struct sse_parser *p)
{
	struct sse_event ev;
	int rc;

	if (p->data.len == 0) {
		buf_reset(&p->type);
		p->block_retry = -1;
		return 0;
	}
	/* The data buffer always ends in the '\n' the last "data" line added. */
	buf_truncate(&p->data, p->data.len - 1);
	ev.type = p->type.len ? p->type.data : "message";
	ev.type_len = p->type.len ? p->type.len : strlen("message");
	ev.data = p->data.data;
	ev.data_len = p->data.len;
	ev.id = buf_cstr(&p->id);
	ev.id_len = p->id.len;
	ev.retry_ms = p->block_retry;
	rc = p->fn(p->ctx, &ev);
	buf_reset(&p->data);
	buf_reset(&p->type);
	p->block_retry = -1;
	if (rc != 0)
		p->stop_rc = rc;
	return rc;
}

static bool field_is(const char *name, size_t len, const char *want)
{
	return len == strlen(want) && memcmp(name, want, len) == 0;
}

/* One complete line, without its line end. */
static int process_line(struct sse_parser *p, const char *line, size_t len,
			struct ferr *e)
{
	const char *colon, *value;
	size_t name_len, value_len;

	if (len == 0)
		return dispatch(p);
	if (line[0] == ':')
		return 0;
	colon = memchr(line, ':', len);
	if (colon) {
		name_len = (size_t)(colon - line);
		value = colon + 1;
		value_len = len - name_len - 1;
		if (value_len && *value == ' ') {
			value++;
			value_len--;
		}
	} else {
		name_len = len;
		value = line + len;
		value_len = 0;
	}

	if (field_is(line, name_len, "data")) {
		/* data.len already counts one '\n' per earlier line, which is
		 * what the joined data will hold: this value makes it exact. */
		if (value_len > p->max_event_bytes ||
		    p->data.len > p->max_event_bytes - value_len)
			return too_large(p, e);
		buf_grow(&p->data, value_len + 1);
		buf_add(&p->data, value, value_len);
		buf_putc(&p->data, '\n');
	} else if (field_is(line, name_len, "event")) {
		buf_reset(&p->type);
		buf_add(&p->type, value, value_len);
	} else if (field_is(line, name_len, "id")) {
		if (!memchr(value, '\0', value_len)) {
			buf_reset(&p->id);
			buf_add(&p->id, value, value_len);
		}
	} else if (field_is(line, name_len, "retry")) {
		long ms = parse_retry(value, value_len);

		if (ms >= 0)
			p->block_retry = p->reconnect_ms = ms;
	}
	return 0;
}

/* Carry the start of a line that this chunk does not finish. */
static int carry_partial(struct sse_parser *p, const char *bytes, size_t len,
			 struct ferr *e)
{
	if (len > p->max_line_bytes || p->line.len > p->max_line_bytes - len)
		return too_large(p, e);
	buf_add(&p->line, bytes, len);
	return 0;
}

static const char *find_or_end(const char *pos, const char *end, char c)
{
	const char *hit = memchr(pos, c, (size_t)(end - pos));

	return hit ? hit : end;
}

/* The next CR or LF in [pos, end), or end.  *lf and *cr cache earlier
 * searches: each is the first LF (CR) at or after where it was searched
 * from, or end when there is none, and is searched again only once pos has
 * passed it.  The last few bytes of a chunk, which is all of a short one
 * (a caller feeding byte by byte), are scanned by hand instead: two memchr
 * calls cost more there, and the caches are never needed again. */
static const char *next_eol(const char *pos, const char *end, const char **lf,
			    const char **cr)
{
	if (end - pos <= SSE_SHORT_SCAN) {
		while (pos < end && *pos != '\n' && *pos != '\r')
			pos++;
		return pos;
	}
	if (*lf < pos)
		*lf = find_or_end(pos, end, '\n');
	if (*cr < pos)
		*cr = find_or_end(pos, end, '\r');
	return *lf < *cr ? *lf : *cr;
}

/* Split bytes into lines; the BOM has been dealt with. */
static int feed_lines(struct sse_parser *p, const char *bytes, size_t len,
		      struct ferr *e)
{
	const char *pos = bytes, *end = bytes + len;
	const char *lf, *cr;
	int rc;

	if (len == 0)
		return 0;
	/* Prime the caches; a short chunk never uses them (see next_eol()). */
	lf = cr = end;
	if (len > SSE_SHORT_SCAN) {
		lf = find_or_end(pos, end, '\n');
		cr = find_or_end(pos, end, '\r');
	}
	while (pos < end) {
		const char *eol;

		if (p->after_cr) {
			p->after_cr = false;
			if (*pos == '\n') {
				pos++;
				continue;
			}
		}
		eol = next_eol(pos, end, &lf, &cr);
		if (eol == end)
			return carry_partial(p, pos, (size_t)(end - pos), e);

		size_t piece = (size_t)(eol - pos);

		if (piece > p->max_line_bytes || p->line.len > p->max_line_bytes - piece)
			return too_large(p, e);
		if (p->line.len) {
			buf_add(&p->line, pos, piece);
			rc = process_line(p, p->line.data, p->line.len, e);
			buf_reset(&p->line);
		} else {
			rc = process_line(p, pos, piece, e);
		}
		if (*eol == '\r')
			p->after_cr = true;
		pos = eol + 1;
		if (rc != 0)
			return rc;
	}
	return 0;
}

static int stopped(struct sse_parser *p, struct ferr *e)
{
	if (p->failed)
		return too_large(p, e);
	return p->stop_rc;
}

int sse_parser_feed(struct sse_parser *p, const char *data, size_t len, struct ferr *e)
{
	const char *pos, *end;

	if (p->failed || p->stop_rc)
		return stopped(p, e);
	if (len == 0)
		return 0;
	pos = data;
	end = data + len;
	/* The BOM may arrive split; bytes that turn out not to be one are
	 * ordinary content and go through the line splitter first. */
	while (p->bom_matched < sizeof bom && pos < end) {
		if ((unsigned char)*pos == bom[p->bom_matched]) {
			p->bom_matched++;
			pos++;
			continue;
		}
		size_t matched = p->bom_matched;

		p->bom_matched = sizeof bom;
		if (matched) {
			int rc = feed_lines(p, (const char *)bom, matched, e);

			if (rc != 0)
				return rc;
		}
	}
	return feed_lines(p, pos, (size_t)(end - pos), e);
}

static void reset_stream(struct sse_parser *p)
{
	buf_reset(&p->line);
	buf_reset(&p->data);
	buf_reset(&p->type);
	buf_reset(&p->id);
	p->block_retry = -1;
	p->bom_matched = 0;
	p->after_cr = false;
}

int sse_parser_finish(struct sse_parser *p, bool flush_partial, struct ferr *e)
{
	int rc = 0;

	if (p->failed || p->stop_rc)
		return stopped(p, e);
	if (flush_partial) {
		/* A stream that is a strict prefix of the BOM: those bytes were
		 * content after all. */
		if (p->bom_matched < sizeof bom && p->bom_matched > 0) {
			size_t matched = p->bom_matched;

			p->bom_matched = sizeof bom;
			rc = feed_lines(p, (const char *)bom, matched, e);
		}
		if (rc == 0 && p->line.len) {
			rc = process_line(p, p->line.data, p->line.len, e);
			buf_reset(&p->line);
		}
		if (rc == 0)
			rc = dispatch(p);
	}
	if (rc == 0)
		reset_stream(p);
	return rc;
}

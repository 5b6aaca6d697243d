/* libFuzzer target: the SSE parser must give the same events, and the same
 * result, however the stream is chunked, and never crash.  `make fuzz`, then
 * build-fuzz/fuzz_sse tests/fuzz/seeds/fuzz_sse
 *
 * Input layout: byte 0 holds the options (bits 0-3: how many chunk-size
 * bytes follow, bit 4: flush_partial, bit 5: a small 64-byte cap, bit 6:
 * the callback stops at event number byte 1 % 8 + 1); then the chunk-size
 * bytes (each size is the byte + 1, used in turn); the rest is the stream.
 * Each input is parsed whole, in those chunks, and one byte at a time. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "forja/sse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct digest {
	uint64_t hash;
	unsigned count;
	unsigned stop_at;
};

static void mix(struct digest *d, const void *bytes, size_t len)
{
	const unsigned char *s = bytes;

	for (size_t i = 0; i < len; i++)
		d->hash = (d->hash ^ s[i]) * 0x100000001b3ull;
	/* the length too, so field boundaries count */
	for (int i = 0; i < 8; i++)
		d->hash = (d->hash ^ ((len >> (8 * i)) & 0xff)) * 0x100000001b3ull;
}

static int on_event(void *ctx, const struct sse_event *ev)
{
	struct digest *d = ctx;

	if (ev->type[ev->type_len] || ev->data[ev->data_len] || ev->id[ev->id_len])
		__builtin_trap();
	if (ev->type_len == 0)
		__builtin_trap();
	mix(d, ev->type, ev->type_len);
	mix(d, ev->data, ev->data_len);
	mix(d, ev->id, ev->id_len);
	mix(d, &ev->retry_ms, sizeof ev->retry_ms);
	d->count++;
	return d->stop_at && d->count == d->stop_at ? 42 : 0;
}

static int parse(const uint8_t *in, size_t len, const uint8_t *sizes, size_t nsizes,
		 bool flush, size_t cap, struct digest *d)
{
	struct sse_parser p;
	struct ferr e = FERR_INIT;
	size_t pos = 0, turn = 0;
	int rc = 0;

	d->hash = 0xcbf29ce484222325ull;
	d->count = 0;
	sse_parser_init(&p, cap, on_event, d);
	while (rc == 0 && pos < len) {
		size_t n = nsizes ? (size_t)sizes[turn++ % nsizes] + 1 : len - pos;

		if (n > len - pos)
			n = len - pos;
		rc = sse_parser_feed(&p, (const char *)in + pos, n, &e);
		pos += n;
	}
	if (rc == 0)
		rc = sse_parser_finish(&p, flush, &e);
	if (rc == -1 && (e.cls != FERR_PROVIDER || strncmp(e.msg, "SSE event larger", 16)))
		__builtin_trap();
	/* a finished parser must take a new stream */
	if (rc == 0) {
		rc = sse_parser_feed(&p, "data: x\n\n", 9, &e);
		if (rc != 0 && rc != 42)
			__builtin_trap();
		rc = 0;
	}
	sse_parser_release(&p);
	return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct digest whole = { 0, 0, 0 }, chunked = { 0, 0, 0 };
	size_t nsizes, cap;
	bool flush;
	int rc_whole, rc_chunked;

	if (size < 2)
		return 0;
	nsizes = data[0] & 0x0f;
	flush = data[0] & 0x10;
	cap = data[0] & 0x20 ? 64 : 0;
	if (data[0] & 0x40)
		whole.stop_at = chunked.stop_at = data[1] % 8 + 1;
	data += 2;
	size -= 2;
	if (nsizes > size)
		nsizes = size;

	rc_whole = parse(data + nsizes, size - nsizes, NULL, 0, flush, cap, &whole);
	rc_chunked = parse(data + nsizes, size - nsizes, data, nsizes, flush, cap, &chunked);
	if (rc_whole != rc_chunked || whole.hash != chunked.hash || whole.count != chunked.count)
		__builtin_trap();
	/* one byte at a time too: the hardest chunking */
	if (size - nsizes < 4096) {
		static const uint8_t one = 0;

		chunked.hash = 0;
		rc_chunked = parse(data + nsizes, size - nsizes, &one, 1, flush, cap, &chunked);
		if (rc_whole != rc_chunked || whole.hash != chunked.hash)
			__builtin_trap();
	}
	return 0;
}

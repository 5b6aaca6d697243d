/* libFuzzer target: the input is a file's content, a NUL byte, then a
 * unified diff (without a NUL, all of it is the diff, applied to a fixed
 * file).  The diff is parsed; each of its file sections is applied to the
 * content in memory.  Parsing must answer 0 with hunks whose lines agree
 * with their counts, or -1 with a message; applying must answer 0 with a
 * result within the size limit that holds every added line, or -1 with a
 * message; every message and note is valid UTF-8.  The search budget is
 * small so that slow inputs show up as timeouts.  `make fuzz`, then
 * build-fuzz/fuzz_patch tests/fuzz/seeds/fuzz_patch */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "forja/patch.h"
#include "forja/utf8.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char sample[] = "one\ntwo\nthree\r\nfour\n\nsix\nseven\n}\n\n}\nten";

#define MAX_RESULT ((size_t)1 << 20)

static void check_text(const struct buf *b)
{
	if (b->len && !utf8_is_valid(b->data, b->len))
		abort();
}

static void check_counts(const struct patch_file *f)
{
	for (size_t i = 0; i < f->nhunks; i++) {
		const struct patch_hunk *h = &f->hunks[i];
		unsigned long old = 0, new = 0;

		for (size_t j = 0; j < h->nlines; j++) {
			char k = h->lines[j].kind;

			if (k != ' ' && k != '-' && k != '+')
				abort();
			old += k != '+';
			new += k != '-';
		}
		if (old != h->old_count || new != h->new_count || h->nlines == 0)
			abort();
	}
	if (!f->old_path && !f->new_path)
		abort();
}

/* Every added line's text is somewhere in the result. */
static void check_added(const struct patch_file *f, const struct buf *out)
{
	for (size_t i = 0; i < f->nhunks; i++) {
		const struct patch_hunk *h = &f->hunks[i];

		for (size_t j = 0; j < h->nlines; j++) {
			const struct patch_line *l = &h->lines[j];

			if (l->kind == '+' && l->len &&
			    !memmem(buf_cstr(out), out->len, l->text, l->len))
				abort();
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data, *content = sample;
	size_t len = size, content_len = sizeof sample - 1;
	const char *nul = memchr(data, '\0', size);
	struct patch p;
	struct buf why = BUF_INIT;

	if (nul) {
		content = text;
		content_len = (size_t)(nul - text);
		text = nul + 1;
		len = size - content_len - 1;
	}
	memset(&p, 0, sizeof p);
	if (patch_parse(text, len, &p, &why) != 0) {
		if (why.len == 0)
			abort();
		check_text(&why);
	} else {
		unsigned long long work = 2000000;

		if (p.nfiles == 0 || why.len)
			abort();
		for (size_t i = 0; i < p.nfiles; i++) {
			const struct patch_file *f = &p.files[i];
			struct buf out = BUF_INIT, notes = BUF_INIT, err = BUF_INIT;
			bool empty = f->op == PATCH_CREATE;
			int rc;

			check_counts(f);
			rc = patch_apply(f, "f", empty ? "" : content, empty ? 0 : content_len,
					 MAX_RESULT, &work, &out, &notes, &err);
			if (rc == 0) {
				if (out.len > MAX_RESULT || err.len)
					abort();
				if (f->op == PATCH_DELETE && out.len)
					abort();
				check_added(f, &out);
			} else if (rc != -1 || err.len == 0 || out.len) {
				abort();
			}
			check_text(&notes);
			check_text(&err);
			buf_release(&out);
			buf_release(&notes);
			buf_release(&err);
		}
	}
	patch_release(&p);
	buf_release(&why);
	return 0;
}

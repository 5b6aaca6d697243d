/*
 * buf — the one growable byte buffer used wherever text is built.
 *
 * A struct buf is always NUL-terminated once it has been written to, so
 * buf.data can be handed to C string functions; it may also hold NUL bytes
 * in the middle (len is the truth).  An initialised, never-written buffer
 * has data == NULL and len == 0: use buf_cstr() to get "" for it.
 *
 * Allocation failure aborts the program: forja cannot do anything useful
 * without memory, and every size that comes from outside is checked
 * against a limit before it reaches a buffer.
 */
#ifndef FORJA_BUF_H
#define FORJA_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct buf {
	char *data;
	size_t len;
	size_t cap;
};

#define BUF_INIT { NULL, 0, 0 }

/* Make room for at least extra more bytes (plus the terminating NUL). */
void buf_grow(struct buf *b, size_t extra);
void buf_add(struct buf *b, const void *data, size_t len);
void buf_puts(struct buf *b, const char *s);
void buf_putc(struct buf *b, char c);
void buf_printf(struct buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void buf_vprintf(struct buf *b, const char *fmt, va_list ap);
/* Forget the contents but keep the allocation. */
void buf_reset(struct buf *b);
/* Shorten to len bytes (len <= b->len). */
void buf_truncate(struct buf *b, size_t len);
/* Free the allocation and return to the initial state. */
void buf_release(struct buf *b);
/* Hand the allocation to the caller (never NULL; free() it) and reset b. */
char *buf_steal(struct buf *b);
static inline const char *buf_cstr(const struct buf *b)
{
	return b->data ? b->data : "";
}

/* Allocation helpers that abort on failure, for the same reason as above. */
void *xmalloc(size_t n);
void *xcalloc(size_t count, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);

#endif

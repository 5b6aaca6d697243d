/*
 * json — the small JSON writing helpers used on hot paths (one event per
 * streamed token) where building a cJSON tree would cost more than the
 * work itself.  Reading JSON is cJSON's job (and jsonc.h's for files).
 */
#ifndef FORJA_JSON_H
#define FORJA_JSON_H

#include <stddef.h>

#include "forja/buf.h"

/* Append s (len bytes, UTF-8) as a JSON string literal with its quotes.
 * Control characters are escaped; bytes that are not valid UTF-8 become
 * U+FFFD so that the output is always valid JSON. */
void json_put_string(struct buf *b, const char *s, size_t len);

#endif

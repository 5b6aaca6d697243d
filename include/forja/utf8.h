/*
 * utf8 — making bytes from outside (file names, commit messages, file
 * contents) safe to print and to put in JSON.
 *
 * Paths are identifiers: they are never altered silently.  A path that is
 * valid UTF-8 with no control character, backslash or double quote is kept
 * as it is; any other is written in git's quoted form (core.quotePath):
 * wrapped in double quotes, with \" \\ \t \n \r \a \b \f \v and octal
 * escapes (\303) for every other byte below 0x20, 0x7f and every byte that
 * is not part of valid UTF-8.  That form is unambiguous: a plain path never
 * starts with a double quote.
 *
 * Text (subjects, README lines) is prose: invalid bytes become U+FFFD and
 * control characters other than tab and newline are dropped.
 */
#ifndef FORJA_UTF8_H
#define FORJA_UTF8_H

#include <stdbool.h>
#include <stddef.h>

#include "forja/buf.h"

/* Length of the valid UTF-8 sequence at s (1-4), or 0 when invalid or
 * truncated (overlongs, surrogates and values above U+10FFFF are invalid). */
size_t utf8_seq_len(const unsigned char *s, size_t avail);
bool utf8_is_valid(const char *s, size_t len);
/* Append path to out, quoted as above when needed. */
void utf8_quote_path(struct buf *out, const char *path, size_t len);
/* A new string: path in display form (free() it). */
char *utf8_path_dup(const char *path, size_t len);
/* Append text to out as valid UTF-8 (see above). */
void utf8_sanitize(struct buf *out, const char *text, size_t len);
char *utf8_text_dup(const char *text, size_t len);

#endif

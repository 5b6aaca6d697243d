/*
 * ferr.c — error filling and the single class → exit code table.
 */
#include "forja/ferr.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int ferr_set(struct ferr *e, enum ferr_class cls, const char *fmt, ...)
{
	va_list ap;

	if (!e)
		return -1;
	e->cls = cls;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof e->msg, fmt, ap);
	va_end(ap);
	return -1;
}

void ferr_prefix(struct ferr *e, const char *fmt, ...)
{
	char head[512];
	size_t hl, ml;
	va_list ap;

	if (!e)
		return;
	va_start(ap, fmt);
	vsnprintf(head, sizeof head, fmt, ap);
	va_end(ap);
	hl = strlen(head);
	if (hl + 2 >= sizeof e->msg)
		hl = sizeof e->msg - 3;
	ml = strlen(e->msg);
	if (hl + 2 + ml >= sizeof e->msg)
		ml = sizeof e->msg - hl - 3;
	memmove(e->msg + hl + 2, e->msg, ml);
	e->msg[hl + 2 + ml] = '\0';
	memcpy(e->msg, head, hl);
	e->msg[hl] = ':';
	e->msg[hl + 1] = ' ';
}

void ferr_clear(struct ferr *e)
{
	e->cls = FERR_NONE;
	e->msg[0] = '\0';
}

int ferr_exit_code(enum ferr_class cls)
{
	switch (cls) {
	case FERR_NONE:
		return EXIT_OK;
	case FERR_USAGE:
		return EXIT_USAGE;
	case FERR_CONFIG:
	case FERR_AUTH:
		return EXIT_CONFIG;
	case FERR_PROVIDER:
	case FERR_NETWORK:
	case FERR_TIMEOUT:
		return EXIT_UNREACHABLE;
	case FERR_DENIED:
		return EXIT_DENIED;
	case FERR_INTERRUPTED:
		return EXIT_INTERRUPTED;
	case FERR_FAILED:
	case FERR_IO:
	case FERR_INTERNAL:
		break;
	}
	return EXIT_FAILED;
}

const char *ferr_class_name(enum ferr_class cls)
{
	static const char *const names[] = {
		[FERR_NONE] = "ok",
		[FERR_FAILED] = "failed",
		[FERR_USAGE] = "usage",
		[FERR_CONFIG] = "config",
		[FERR_AUTH] = "auth",
		[FERR_PROVIDER] = "provider",
		[FERR_NETWORK] = "network",
		[FERR_TIMEOUT] = "timeout",
		[FERR_DENIED] = "denied",
		[FERR_IO] = "io",
		[FERR_INTERNAL] = "internal",
		[FERR_INTERRUPTED] = "interrupted",
	};
	if ((unsigned)cls < sizeof names / sizeof names[0] && names[cls])
		return names[cls];
	return "unknown";
}

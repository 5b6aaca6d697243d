/*
 * ferr — the one error type of forja.
 *
 * A function that can fail returns int (0 ok, -1 error) and fills the
 * struct ferr its caller passed.  The class decides the exit code (one
 * table, ferr_exit_code(), used by every command) and whether a retry makes
 * sense; the message is for the person and names the thing that failed:
 * file, line, key, path, URL without secrets.
 */
#ifndef FORJA_FERR_H
#define FORJA_FERR_H

enum ferr_class {
	FERR_NONE = 0,
	FERR_FAILED,      /* the task failed: a check or tool reported failure, a limit hit */
	FERR_USAGE,       /* unknown command or flag, bad argument */
	FERR_CONFIG,      /* unreadable or invalid config */
	FERR_AUTH,        /* missing key, 401/403, model not found */
	FERR_PROVIDER,    /* provider failing after retries (429/5xx), stream cut */
	FERR_NETWORK,     /* DNS, refused, TLS */
	FERR_TIMEOUT,     /* a timeout ran out */
	FERR_DENIED,      /* contract, sandbox or approval refused */
	FERR_IO,          /* a file or repository could not be read or written */
	FERR_INTERNAL,    /* a bug in forja */
	FERR_INTERRUPTED, /* Ctrl-C */
};

/* Exit codes, documented in README.md and man/forja.1. */
enum {
	EXIT_OK = 0,
	EXIT_FAILED = 1,
	EXIT_USAGE = 2,
	EXIT_CONFIG = 3,
	EXIT_UNREACHABLE = 4,
	EXIT_DENIED = 5,
	EXIT_INTERRUPTED = 130,
};

struct ferr {
	enum ferr_class cls;
	char msg[1024];
};

#define FERR_INIT { FERR_NONE, "" }

/* Fill e with a class and a printf-style message; always returns -1 so that
 * `return ferr_set(e, ...)` reads naturally.  A NULL e is allowed. */
int ferr_set(struct ferr *e, enum ferr_class cls, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Prefix the existing message with "what: " (for adding context upward). */
void ferr_prefix(struct ferr *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void ferr_clear(struct ferr *e);
int ferr_exit_code(enum ferr_class cls);
const char *ferr_class_name(enum ferr_class cls);

#endif

/*
 * opt — command-line option parsing shared by main and every command.
 *
 * A command declares its options as a table of struct opt_spec ending with
 * an all-zero entry and pulls them one at a time with opt_next().  Long
 * options take "--name=value" or "--name value"; short ones "-x value",
 * "-xvalue" and bundles "-qv".  "--" ends the options.  An unknown option
 * is a usage error whose message names the closest valid one.
 */
#ifndef FORJA_OPT_H
#define FORJA_OPT_H

#include <stdbool.h>
#include <stddef.h>

#include "forja/ferr.h"

enum opt_arg { OPT_FLAG, OPT_VALUE };

struct opt_spec {
	const char *name;   /* long name without the dashes, or NULL */
	char short_name;    /* 0 when there is none */
	enum opt_arg arg;
	int id;             /* > 0, returned by opt_next() */
	const char *metavar;/* for help: "DIR" */
	const char *help;   /* one line for help output */
};

enum {
	OPT_END = 0,         /* no more arguments */
	OPT_ERROR = -1,      /* usage error, see the ferr */
	OPT_POSITIONAL = -2, /* a non-option argument, in st->value */
};

struct opt_state {
	int argc;
	char **argv;
	int index;               /* next argv element to look at */
	const char *value;       /* the option's value or the positional */
	const char *context;     /* "bootstrap", prefixes messages; NULL for global */
	bool stop_at_positional; /* return OPT_END at the first positional */
	bool only_positionals;   /* set after "--" */
	int short_pos;           /* inside a bundle of short flags */
	const struct opt_spec *common; /* options every command accepts, or NULL */
};

void opt_init(struct opt_state *st, int argc, char **argv, const char *context);
int opt_next(struct opt_state *st, const struct opt_spec *specs, struct ferr *e);

/* The candidate closest to word by edit distance, or NULL when none is close
 * enough to be a likely typo. */
const char *opt_suggest(const char *word, const char *const *candidates, size_t n);

#endif

/*
 * editlib.c — libedit loaded when the interactive session starts (see
 * include/forja/curllib.h for why: a library that only `forja` with no
 * command needs should not cost every other command its loading time).
 * Where the build found libedit's SONAME (FORJA_EDIT_SONAME) each libedit
 * function the editor calls is defined here with histedit.h's own
 * prototype, calling through a pointer resolved by dlsym; elsewhere
 * libedit is linked and editlib_load() has nothing to do.  To call
 * another libedit function or el_set()/history() operation, add it to the
 * table and the wrappers.
 */
#include "internal.h"

#include <histedit.h>

#ifndef FORJA_EDIT_SONAME

int editlib_load(struct ferr *e)
{
	(void)e;
	return 0;
}

#else

#include <dlfcn.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct edit_api {
	EditLine *(*el_init)(const char *prog, FILE *fin, FILE *fout, FILE *ferr);
	void (*el_end)(EditLine *el);
	const char *(*el_gets)(EditLine *el, int *count);
	int (*el_set)(EditLine *el, int op, ...);
	int (*el_get)(EditLine *el, int op, ...);
	int (*el_cursor)(EditLine *el, int n);
	const LineInfo *(*el_line)(EditLine *el);
	void (*el_push)(EditLine *el, const char *str);
	History *(*history_init)(void);
	void (*history_end)(History *h);
	int (*history)(History *h, HistEvent *ev, int op, ...);
};

static const struct {
	const char *name;
	size_t offset;
} edit_symbols[] = {
	{ "el_init", offsetof(struct edit_api, el_init) },
	{ "el_end", offsetof(struct edit_api, el_end) },
	{ "el_gets", offsetof(struct edit_api, el_gets) },
	{ "el_set", offsetof(struct edit_api, el_set) },
	{ "el_get", offsetof(struct edit_api, el_get) },
	{ "el_cursor", offsetof(struct edit_api, el_cursor) },
	{ "el_line", offsetof(struct edit_api, el_line) },
	{ "el_push", offsetof(struct edit_api, el_push) },
	{ "history_init", offsetof(struct edit_api, history_init) },
	{ "history_end", offsetof(struct edit_api, history_end) },
	{ "history", offsetof(struct edit_api, history) },
};

static struct edit_api api;
static int loaded;  /* 0 not tried, 1 ok, -1 failed */
static char load_error[512];

int editlib_load(struct ferr *e)
{
	if (loaded == 0) {
		void *lib = dlopen(FORJA_EDIT_SONAME, RTLD_NOW | RTLD_LOCAL);
		size_t i, n = sizeof edit_symbols / sizeof *edit_symbols;

		loaded = -1;
		if (!lib) {
			snprintf(load_error, sizeof load_error,
				 "cannot load %s (line editing for the interactive session; "
				 "install libedit): %s", FORJA_EDIT_SONAME, dlerror());
		} else {
			for (i = 0; i < n; i++) {
				void *sym = dlsym(lib, edit_symbols[i].name);
				if (!sym) {
					snprintf(load_error, sizeof load_error, "%s has no %s: %s",
						 FORJA_EDIT_SONAME, edit_symbols[i].name, dlerror());
					break;
				}
				/* POSIX: a data pointer from dlsym can hold a function's address */
				memcpy((char *)&api + edit_symbols[i].offset, &sym, sizeof sym);
			}
			if (i == n)
				loaded = 1;
		}
	}
	if (loaded < 0)
		return ferr_set(e, FERR_IO, "%s", load_error);
	return 0;
}

static const struct edit_api *edit_api(void)
{
	struct ferr e = FERR_INIT;

	if (loaded != 1 && editlib_load(&e) != 0) {
		fprintf(stderr, "forja: %s\n", e.msg);
		abort();
	}
	return &api;
}

static void unsupported(const char *fn, int op)
{
	fprintf(stderr, "forja: internal error: %s operation %d is not in src/term/editlib.c\n",
		fn, op);
	abort();
}

EditLine *el_init(const char *prog, FILE *fin, FILE *fout, FILE *ferr)
{
	return edit_api()->el_init(prog, fin, fout, ferr);
}

void el_end(EditLine *el)
{
	edit_api()->el_end(el);
}

const char *el_gets(EditLine *el, int *count)
{
	return edit_api()->el_gets(el, count);
}

int el_cursor(EditLine *el, int n)
{
	return edit_api()->el_cursor(el, n);
}

const LineInfo *el_line(EditLine *el)
{
	return edit_api()->el_line(el);
}

void el_push(EditLine *el, const char *str)
{
	edit_api()->el_push(el, str);
}

History *history_init(void)
{
	return edit_api()->history_init();
}

void history_end(History *h)
{
	edit_api()->history_end(h);
}

typedef void (*editlib_function)(void);

/*
 * A va_list cannot be passed on to a `...` function: each operation's
 * arguments are read with their real types and passed on.  Function
 * pointers travel as one generic function pointer type, which libedit
 * reads back as its own (same representation).
 */
int el_set(EditLine *el, int op, ...)
{
	const struct edit_api *a = edit_api();
	va_list ap;
	int rc;

	va_start(ap, op);
	switch (op) {
	case EL_PROMPT:
	case EL_RPROMPT:
		rc = a->el_set(el, op, va_arg(ap, editlib_function));
		break;
	case EL_EDITOR:
		rc = a->el_set(el, op, va_arg(ap, const char *));
		break;
	case EL_SIGNAL:
	case EL_EDITMODE:
	case EL_UNBUFFERED:
	case EL_PREP_TERM:
		rc = a->el_set(el, op, va_arg(ap, int));
		break;
	case EL_HIST: {
		(void)va_arg(ap, editlib_function);
		History *h = va_arg(ap, History *);
		/* libedit calls the history function with every operation it
		 * knows: give it its own, not the wrapper below */
		rc = a->el_set(el, op, a->history, h);
		break;
	}
	case EL_ADDFN: {
		const char *name = va_arg(ap, const char *);
		const char *help = va_arg(ap, const char *);
		rc = a->el_set(el, op, name, help, va_arg(ap, editlib_function));
		break;
	}
	case EL_CLIENTDATA:
		rc = a->el_set(el, op, va_arg(ap, void *));
		break;
	case EL_REFRESH:
		rc = a->el_set(el, op);
		break;
	case EL_BIND:
	case EL_SETTY: {
		/* a NULL-terminated list of strings: at most 8 here */
		const char *s[9] = { 0 };
		for (int i = 0; i < 8 && (s[i] = va_arg(ap, const char *)); i++)
			;
		if (s[8 - 1] && va_arg(ap, const char *))
			unsupported("el_set (more than 8 strings)", op);
		rc = a->el_set(el, op, s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7], s[8]);
		break;
	}
	default:
		va_end(ap);
		unsupported("el_set", op);
		return -1;
	}
	va_end(ap);
	return rc;
}

int el_get(EditLine *el, int op, ...)
{
	va_list ap;
	int rc;

	va_start(ap, op);
	switch (op) {
	case EL_CLIENTDATA:
	case EL_EDITMODE:
	case EL_UNBUFFERED:
		rc = edit_api()->el_get(el, op, va_arg(ap, void *));
		break;
	default:
		va_end(ap);
		unsupported("el_get", op);
		return -1;
	}
	va_end(ap);
	return rc;
}

int history(History *h, HistEvent *ev, int op, ...)
{
	const struct edit_api *a = edit_api();
	va_list ap;
	int rc;

	va_start(ap, op);
	switch (op) {
	case H_SETSIZE:
	case H_SETUNIQUE:
		rc = a->history(h, ev, op, va_arg(ap, int));
		break;
	case H_LOAD:
	case H_SAVE:
	case H_ENTER:
	case H_ADD:
	case H_APPEND:
		rc = a->history(h, ev, op, va_arg(ap, const char *));
		break;
	case H_SAVE_FP:
		rc = a->history(h, ev, op, va_arg(ap, FILE *));
		break;
	case H_GETSIZE:
	case H_FIRST:
	case H_LAST:
	case H_PREV:
	case H_NEXT:
	case H_CURR:
	case H_CLEAR:
	case H_END:
		rc = a->history(h, ev, op);
		break;
	default:
		va_end(ap);
		unsupported("history", op);
		return -1;
	}
	va_end(ap);
	return rc;
}

#endif

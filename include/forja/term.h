/*
 * term — the interactive terminal: reading the person's messages, showing
 * what the agent does as it happens, and asking for approvals.
 *
 * The one rule: output only appends.  Nothing that has been printed is
 * ever redrawn, there is no alternate screen and no scroll region, so the
 * terminal's scrollback keeps the whole session.  The only thing ever
 * rewritten is the current, last line, and only for the spinner
 * ("\r\033[K", or "\r" + spaces when colour is off).  When the output is
 * not a terminal there is no spinner and no "\r" at all: plain text.
 *
 * Every byte from the model or a tool goes through utf8_sanitize() before
 * it reaches the terminal: escape sequences and control characters are
 * dropped (so "\033[2J" shows as "[2J"), invalid UTF-8 becomes U+FFFD.
 *
 * Three parts:
 *   - struct term_editor (src/term/edit.c): line editing and history with
 *     libedit, loaded on first use (src/term/editlib.c, as curllib.h);
 *   - struct term_render (src/term/render.c, markdown.c, diff.c): the
 *     event sink of the interactive session;
 *   - term_ask() (src/term/ask.c): the approval prompt.
 * All of it is for the main thread; none of it is safe from signal
 * handlers.  term_editor_read() and term_ask() block on the terminal.
 */
#ifndef FORJA_TERM_H
#define FORJA_TERM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "forja/buf.h"
#include "forja/events.h"
#include "forja/ferr.h"

/* ---- what the output terminal can do ---- */

struct term_style {
	bool is_tty;    /* a terminal: the spinner and "\r" are allowed */
	bool color;     /* SGR sequences; false: no escape sequence at all */
	bool utf8;      /* the locale's charset is UTF-8: ● ✓ ✗ … ⠋; else ASCII */
	int width;      /* columns; <= 0 means 80 */
};

/* Fill style for out: is_tty from isatty(), color when out is a terminal,
 * NO_COLOR is unset or empty and TERM is not "dumb" (the caller may
 * override it with --color), utf8 from nl_langinfo(CODESET) (call
 * setlocale(LC_CTYPE, "") first), width from term_width(). */
void term_style_detect(struct term_style *style, FILE *out);
/* The terminal's width in columns (TIOCGWINSZ), or 0 when fd is not a
 * terminal or does not say. */
int term_width(int fd);
/* Display width of UTF-8 text in columns (wide CJK and emoji count 2,
 * combining marks 0, invalid bytes 1). */
size_t term_text_width(const char *s, size_t len);
/* Append s to out cut to at most cols columns: when it is wider, the
 * last column becomes "…" ("..." when !utf8, taking three).  s must be
 * sanitised already (no control characters). */
void term_cut(struct buf *out, const char *s, size_t len, int cols, bool utf8);
/* Milliseconds of CLOCK_MONOTONIC: the clock the renderer uses unless
 * told otherwise; uv_now() of a libuv loop counts on the same clock. */
long long term_now_ms(void);

/* ---- line editing ---- */

struct term_editor;

/*
 * Open an editor reading in and echoing to out (both borrowed; out is
 * where prompts go).  When in is a terminal, libedit does the editing
 * (emacs keys, history on Up/Down); libedit is loaded here, and a missing
 * library is an error (FERR_IO naming it).  Otherwise lines are read
 * plainly and libedit is not loaded.
 *
 * history_path (may be NULL: no history file): up to 1000 entries are
 * loaded from it, and it is rewritten after each message (its parent
 * directories created 0700, the file 0600).  A history file that cannot
 * be read or written is a warning on out, once, never an error.
 * Sets LC_CTYPE from the environment when it is still "C", so that
 * libedit edits UTF-8 text.
 */
struct term_editor *term_editor_open(const char *history_path, FILE *in, FILE *out,
				     struct ferr *e);
void term_editor_free(struct term_editor *ed);

/*
 * Read one message after showing prompt (plain text, no escapes) and put
 * it in text (reset first).  Returns
 *    1  a message: possibly several lines joined by "\n", no final "\n";
 *    0  end of input (Ctrl-D on an empty line, or EOF);
 *    2  interrupted by Ctrl-C: the half-typed message is discarded and
 *       text is empty; call again for a fresh prompt;
 *   -1  error: term_editor_error() says what.
 *
 * On a terminal a message ends at Enter unless
 *   - the line ends with a backslash: the backslash is removed and the
 *     message goes on on the next line ("… " prompt);
 *   - more input is already waiting (poll() for 10 ms after the line):
 *     a paste of many lines arrives as one message however the terminal
 *     delivers it;
 *   - it is inside a bracketed paste (the terminal marks pastes when
 *     "\033[?2004h" is on, which the editor turns on only while it reads
 *     and not when TERM is "dumb"): the pasted newlines stay in the
 *     message and Enter after the paste sends it.
 * While reading, the terminal does not turn Ctrl-C into SIGINT (the
 * editor reads it as a key), so the caller's SIGINT handling is not
 * involved.  Each message is added to the history as one entry.
 *
 * Not on a terminal: each line is one message ("\r\n" accepted); EOF
 * ends.  Either way a message is at most TERM_MESSAGE_MAX bytes; a longer
 * one is discarded with an error (-1) and reading may continue.
 */
#define TERM_MESSAGE_MAX (16u << 20)
int term_editor_read(struct term_editor *ed, const char *prompt, struct buf *text);
/* The last error of term_editor_read(), or NULL. */
const struct ferr *term_editor_error(const struct term_editor *ed);
/* Whether the editor uses libedit (in is a terminal). */
bool term_editor_is_interactive(const struct term_editor *ed);

/* ---- the renderer ---- */

struct term_render_options {
	struct term_style style;
	bool show_reasoning;     /* dimmed reasoning text (default true) */
	int tool_lines;          /* output lines shown per tool call (8) */
	int diff_lines;          /* diff lines shown per edit (40) */
	size_t last_max;         /* bytes of the last call's output kept (4 MiB) */
	long long (*now_ms)(void); /* clock for the spinner (term_now_ms) */
};

/* Defaults as above, style from term_style_detect(out). */
void term_render_options_default(struct term_render_options *o, FILE *out);

struct term_render;

/* A renderer writing to out (borrowed, must outlive it). */
struct term_render *term_render_new(FILE *out, const struct term_render_options *o);
void term_render_free(struct term_render *r);
/* The event sink to add to the session's bus (ctx is r). */
struct event_sink term_render_sink(struct term_render *r);

/*
 * The spinner: call every ~100 ms from a timer while the session waits.
 * It is drawn only while something is pending (a request sent and no
 * answer yet, a tool running, the model working after a tool) and only
 * when the cursor is at the start of an empty line; the next output, or
 * term_render_break(), erases it first.  Nothing when not a terminal.
 * Shows "⠋ thinking 3.2s" / "⠋ running 3.2s" ("- thinking 3.2s" in
 * ASCII), the time since the wait began.
 */
void term_render_tick(struct term_render *r, long long now_ms);
/* Before anything else writes to the terminal (a prompt, an approval):
 * erase the spinner and end a partial line, so that the other writer
 * starts on a clean line.  The spinner stays off until the next event. */
void term_render_break(struct term_render *r);
/* The terminal has a new width (SIGWINCH); <= 0 means 80. */
void term_render_resize(struct term_render *r, int width);
/* Print the whole output of the last tool call (sanitised), or its result
 * when it streamed nothing; a line says so when there is none or when it
 * was longer than last_max. */
void term_render_last(struct term_render *r, FILE *out);

/* ---- pieces, also used by term_ask ---- */

/* Append a unified diff to out for the person: headers bold, @@ cyan,
 * - red, + green (no escapes when !color), each line prefixed with
 * indent, at most max_lines lines (0: all) and then one line
 * "… N more diff lines".  Sanitised. */
void term_diff_render(struct buf *out, const char *diff, size_t len, const char *indent,
		      int max_lines, bool color, bool utf8);
/* Append arg as the shell would need it to mean exactly arg: unchanged
 * when it only has safe characters (letters, digits, @%+=:,./_-), in
 * single quotes otherwise, and in $'...' with \n \t \xHH escapes when it
 * holds control characters or invalid UTF-8. */
void term_shell_quote(struct buf *out, const char *arg);

/* ---- approval ---- */

enum term_answer {
	TERM_ANSWER_NO,        /* refuse this call */
	TERM_ANSWER_YES,       /* allow this call */
	TERM_ANSWER_ALWAYS,    /* allow this tool for the rest of the session */
};

struct term_ask_request {
	const char *tool;             /* the contract's name ("run", "edit_file") */
	const char *why;              /* why it needs approval (may be NULL) */
	const char *summary;          /* one line, when there is no argv/diff (may be NULL) */
	const char *const *argv;      /* a command: its exact argv, NULL-terminated (or NULL) */
	const char *shell;            /* or a command run as sh -c SHELL (or NULL) */
	const char *diff;             /* an edit: the unified diff (or NULL) */
};

/*
 * Show what needs approval on out and read one answer from in.
 * On a terminal it reads single keys: y (yes), n (no), a (always for this
 * tool this session); Ctrl-C, Ctrl-D and q mean no; other keys are
 * ignored.  Typed-ahead input is discarded first so that no earlier
 * keystroke answers.  After n it reads an optional one-line reason for
 * the model (Enter alone: none; Ctrl-C drops it).
 * Not on a terminal it reads a line: "y"/"yes", "a"/"always", or
 * "n"/"no" followed by an optional reason on the same line; EOF means no.
 * *reason is set to a malloc'ed reason (caller frees) or NULL.
 */
enum term_answer term_ask(const struct term_ask_request *req, FILE *in, FILE *out,
			  const struct term_style *style, char **reason);

#endif

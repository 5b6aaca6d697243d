/*
 * edit.c — reading the person's messages: libedit on a terminal (emacs
 * keys, history), plain lines otherwise (include/forja/term.h).
 *
 * Messages of several lines come three ways, all handled by reading line
 * after line with el_gets() until one ends the message: a backslash at the
 * end of a line; a bracketed paste (libedit has no notion of it, so the
 * two markers are bound to functions that flip a flag, and the pasted
 * newlines end el_gets() lines like typed ones); and input already waiting
 * when a line ends, for terminals without bracketed paste.  libedit reads
 * the terminal one byte at a time, so what it has not consumed is still
 * in the kernel's buffer where poll() sees it.
 *
 * The rest of a paste is not fed through el_gets() line by line: libedit
 * puts the terminal back in canonical mode after every line, and a large
 * paste arriving meanwhile is echoed twice and can stall in the kernel's
 * line buffer (seen with 150 KB).  So when a line ends with more input
 * waiting, the editor itself reads everything that keeps arriving (the
 * terminal non-canonical, no echo), takes its complete lines, echoes a
 * short view of them, and pushes the last, unfinished line back into
 * libedit (el_push) to be edited and sent with Enter.  A paste that the
 * terminal marked (bracketed) is never sent by its own newlines: Enter
 * after it sends the message.
 *
 * Ctrl-C: the terminal's ISIG is cleared while libedit reads ("setty -d
 * -isig"), so ^C is an ordinary key bound to a function that marks the
 * read interrupted and ends el_gets() as an EOF would.  No signal handler
 * is involved and the caller's SIGINT handling (a libuv signal handle
 * that restarts reads) is left alone.
 */
#include "forja/term.h"

#include <errno.h>
#include <fcntl.h>
#include <histedit.h>
#include <limits.h>
#include <locale.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "forja/utf8.h"
#include "internal.h"

#define HISTORY_MAX 1000
#define PASTE_WAIT_MS 10
#define PASTE_END_WAIT_MS 500      /* inside a bracketed paste: for its end marker */
#define PASTE_ECHO_LINES 20
#define CONTINUE_PROMPT "… "
#define CONTINUE_PROMPT_ASCII "> "

struct term_editor {
	FILE *in, *out;
	int infd;
	bool interactive;
	bool bracketed;            /* ask the terminal to mark pastes */
	EditLine *el;
	History *hist;
	char *history_path;
	bool history_warned;
	const char *prompt;        /* for prompt_cb during el_gets */
	bool interrupted;
	bool in_paste;
	bool bracketed_seen;       /* this message had a bracketed paste: Enter sends it */
	struct ferr err;
};

static char *prompt_cb(EditLine *el)
{
	struct term_editor *ed = NULL;

	el_get(el, EL_CLIENTDATA, &ed);
	return (char *)(ed && ed->prompt ? ed->prompt : "");
}

static struct term_editor *editor_of(EditLine *el)
{
	struct term_editor *ed = NULL;

	el_get(el, EL_CLIENTDATA, &ed);
	return ed;
}

static unsigned char on_interrupt(EditLine *el, int ch)
{
	struct term_editor *ed = editor_of(el);
	const LineInfo *li = el_line(el);

	(void)ch;
	ed->interrupted = true;
	/* "^C" goes after what was typed, wherever the cursor was */
	el_cursor(el, (int)(li->lastchar - li->cursor));
	el_set(el, EL_REFRESH);
	return CC_EOF;
}

static unsigned char on_paste_begin(EditLine *el, int ch)
{
	struct term_editor *ed = editor_of(el);

	(void)ch;
	ed->in_paste = true;
	ed->bracketed_seen = true;
	return CC_NORM;
}

static unsigned char on_paste_end(EditLine *el, int ch)
{
	(void)ch;
	editor_of(el)->in_paste = false;
	return CC_NORM;
}

static void history_warn(struct term_editor *ed, const char *what, int err)
{
	if (ed->history_warned)
		return;
	ed->history_warned = true;
	fprintf(ed->out, "forja: warning: cannot %s history file %s: %s\n", what,
		ed->history_path, strerror(err));
	fflush(ed->out);
}

/* mkdir -p of path's parent directories, mode 0700. */
static int make_parents(const char *path)
{
	char *dir = xstrdup(path);
	int rc = 0;

	for (char *p = dir + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
			rc = -1;
			*p = '/';
			break;
		}
		*p = '/';
	}
	free(dir);
	return rc;
}

static void history_save(struct term_editor *ed)
{
	HistEvent ev;
	struct buf tmp = BUF_INIT;
	FILE *f = NULL;
	int fd, err = 0;

	if (!ed->history_path)
		return;
	if (make_parents(ed->history_path) != 0) {
		history_warn(ed, "create the directory of the", errno);
		return;
	}
	/* a new file renamed over the old: a crash never leaves half a history */
	buf_printf(&tmp, "%s.%ld.tmp", ed->history_path, (long)getpid());
	fd = open(tmp.data, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0 || !(f = fdopen(fd, "w"))) {
		err = errno;
		if (fd >= 0)
			close(fd);
		goto out;
	}
	if (fchmod(fd, 0600) != 0 || history(ed->hist, &ev, H_SAVE_FP, f) < 0)
		err = errno ? errno : EIO;
	if (fclose(f) != 0 && !err)
		err = errno;
	if (!err && rename(tmp.data, ed->history_path) != 0)
		err = errno;
	if (err)
		unlink(tmp.data);
out:
	if (err)
		history_warn(ed, "write the", err);
	buf_release(&tmp);
}

static void history_open(struct term_editor *ed)
{
	HistEvent ev;

	ed->hist = history_init();
	if (!ed->hist)
		return;
	history(ed->hist, &ev, H_SETSIZE, HISTORY_MAX);
	history(ed->hist, &ev, H_SETUNIQUE, 1);
	if (!ed->history_path)
		return;
	if (access(ed->history_path, F_OK) != 0) {
		if (errno != ENOENT)
			history_warn(ed, "read the", errno);
		return;
	}
	errno = 0;
	if (history(ed->hist, &ev, H_LOAD, ed->history_path) < 0)
		history_warn(ed, "read the", errno ? errno : EINVAL);
}

static int libedit_open(struct term_editor *ed, struct ferr *e)
{
	const char *term = getenv("TERM");

	if (editlib_load(e) != 0)
		return -1;
	ed->el = el_init("forja", ed->in, ed->out, ed->out);
	if (!ed->el)
		return ferr_set(e, FERR_IO, "cannot start line editing on the terminal");
	el_set(ed->el, EL_CLIENTDATA, (void *)ed);
	el_set(ed->el, EL_EDITOR, "emacs");
	el_set(ed->el, EL_PROMPT, prompt_cb);
	el_set(ed->el, EL_SIGNAL, 1);
	el_set(ed->el, EL_SETTY, "-d", "-isig", NULL);
	el_set(ed->el, EL_ADDFN, "forja-interrupt", "discard the line (Ctrl-C)", on_interrupt);
	el_set(ed->el, EL_ADDFN, "forja-paste-begin", "start of a bracketed paste",
	       on_paste_begin);
	el_set(ed->el, EL_ADDFN, "forja-paste-end", "end of a bracketed paste", on_paste_end);
	el_set(ed->el, EL_BIND, "\\e[200~", "forja-paste-begin", NULL);
	el_set(ed->el, EL_BIND, "\\e[201~", "forja-paste-end", NULL);
	history_open(ed);
	if (ed->hist)
		el_set(ed->el, EL_HIST, history, ed->hist);
	ed->bracketed = term && *term && strcmp(term, "dumb") != 0;
	return 0;
}

struct term_editor *term_editor_open(const char *history_path, FILE *in, FILE *out,
				     struct ferr *e)
{
	struct term_editor *ed = xcalloc(1, sizeof *ed);
	const char *ctype = setlocale(LC_CTYPE, NULL);

	ed->in = in;
	ed->out = out;
	ed->infd = fileno(in);
	ed->history_path = history_path ? xstrdup(history_path) : NULL;
	ed->interactive = ed->infd >= 0 && isatty(ed->infd);
	if (!ed->interactive)
		return ed;
	if (ctype && strcmp(ctype, "C") == 0)
		setlocale(LC_CTYPE, "");
	if (libedit_open(ed, e) != 0) {
		term_editor_free(ed);
		return NULL;
	}
	return ed;
}

void term_editor_free(struct term_editor *ed)
{
	if (!ed)
		return;
	if (ed->el)
		el_end(ed->el);
	if (ed->hist)
		history_end(ed->hist);
	free(ed->history_path);
	free(ed);
}

const struct ferr *term_editor_error(const struct term_editor *ed)
{
	return ed->err.cls == FERR_NONE ? NULL : &ed->err;
}

bool term_editor_is_interactive(const struct term_editor *ed)
{
	return ed->interactive;
}

static bool input_pending(int fd, int wait_ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, wait_ms) > 0 && (p.revents & POLLIN);
}

static void remove_all(struct buf *b, const char *marker, bool *found)
{
	size_t mlen = strlen(marker);
	char *hit;

	while (b->len && (hit = memmem(b->data, b->len, marker, mlen))) {
		size_t at = (size_t)(hit - b->data);
		memmove(hit, hit + mlen, b->len - at - mlen);
		buf_truncate(b, b->len - mlen);
		*found = true;
	}
}

/*
 * Read the input that keeps arriving after a line (see the top of the
 * file): complete lines go to text, the unfinished last one back to
 * libedit.  Returns true when the message is complete (the input ended
 * with a newline outside a paste).
 */
static bool read_burst(struct term_editor *ed, struct buf *text, bool *overflow)
{
	struct termios saved, raw;
	struct buf in = BUF_INIT, shown = BUF_INIT;
	char chunk[65536];
	bool had_termios = tcgetattr(ed->infd, &saved) == 0, complete;
	size_t start, lines = 0, echoed = 0;

	if (had_termios) {
		raw = saved;
		raw.c_lflag &= ~(tcflag_t)(ICANON | ECHO | ISIG | IEXTEN);
		raw.c_cc[VMIN] = 1;
		raw.c_cc[VTIME] = 0;
		tcsetattr(ed->infd, TCSANOW, &raw);
	}
	for (;;) {
		bool found = false;
		ssize_t n;

		if (!input_pending(ed->infd, ed->in_paste ? PASTE_END_WAIT_MS : PASTE_WAIT_MS))
			break;
		n = read(ed->infd, chunk, sizeof chunk);
		if (n <= 0)
			break;
		if (!*overflow && text->len + in.len + (size_t)n > TERM_MESSAGE_MAX)
			*overflow = true;
		if (*overflow) {
			/* keep only a tail where a marker may be cut */
			if (in.len > 16)
				buf_reset(&in);
		}
		buf_add(&in, chunk, (size_t)n);
		remove_all(&in, "\033[200~", &found);
		if (found)
			ed->in_paste = ed->bracketed_seen = true;
		found = false;
		remove_all(&in, "\033[201~", &found);
		if (found)
			ed->in_paste = false;
	}
	/* a paste whose end marker never came: do not wait for it forever */
	ed->in_paste = false;
	if (had_termios)
		tcsetattr(ed->infd, TCSANOW, &saved);

	for (size_t i = 0; i < in.len; i++)
		if (in.data[i] == '\r')
			in.data[i] = (i + 1 < in.len && in.data[i + 1] == '\n') ? '\0' : '\n';
	start = 0;
	for (size_t i = 0; i <= in.len; i++) {
		if (i < in.len && in.data[i] != '\n')
			continue;
		if (i == in.len)
			break;
		if (!*overflow) {
			for (size_t j = start; j <= i; j++)
				if (in.data[j])
					buf_putc(text, in.data[j]);
		}
		if (echoed < PASTE_ECHO_LINES) {
			buf_puts(&shown, MB_CUR_MAX > 1 ? CONTINUE_PROMPT : CONTINUE_PROMPT_ASCII);
			utf8_sanitize(&shown, in.data + start, i - start);
			buf_putc(&shown, '\n');
			echoed++;
		}
		lines++;
		start = i + 1;
	}
	if (lines > echoed)
		buf_printf(&shown, "%s %zu more pasted lines\n",
			   MB_CUR_MAX > 1 ? "…" : "...", lines - echoed);
	fwrite(shown.data ? shown.data : "", 1, shown.len, ed->out);
	fflush(ed->out);
	/* after a bracketed paste the person sends the message with Enter */
	complete = start == in.len && !ed->bracketed_seen;
	if (start < in.len) {
		/* the unfinished line: libedit takes it as typed keys, to edit */
		struct buf rest = BUF_INIT;
		for (size_t j = start; j < in.len; j++)
			if (in.data[j])
				buf_putc(&rest, in.data[j]);
		if (rest.len)
			el_push(ed->el, rest.data);
		buf_release(&rest);
	}
	buf_release(&in);
	buf_release(&shown);
	return complete;
}

static void strip_newline(const char **line, size_t *len)
{
	(void)line;
	while (*len && ((*line)[*len - 1] == '\n' || (*line)[*len - 1] == '\r'))
		(*len)--;
}

static void remember(struct term_editor *ed, const struct buf *text)
{
	HistEvent ev;

	if (!ed->hist || !text->len)
		return;
	history(ed->hist, &ev, H_ENTER, text->data);
	history_save(ed);
}

static int too_long(struct term_editor *ed, struct buf *text)
{
	buf_reset(text);
	ferr_set(&ed->err, FERR_USAGE, "message longer than %u MiB, discarded",
		 TERM_MESSAGE_MAX >> 20);
	return -1;
}

static int read_interactive(struct term_editor *ed, const char *prompt, struct buf *text)
{
	bool first = true, overflow = false;
	int rc = 1;

	ed->interrupted = false;
	ed->in_paste = false;
	ed->bracketed_seen = false;
	if (ed->bracketed) {
		fputs("\033[?2004h", ed->out);
		fflush(ed->out);
	}
	for (;;) {
		const char *line;
		size_t len;
		int count = 0;
		bool more;

		ed->prompt = first ? prompt
				   : (MB_CUR_MAX > 1 ? CONTINUE_PROMPT : CONTINUE_PROMPT_ASCII);
		/* tty_bind_char() may rebind ^C when the terminal's settings change */
		el_set(ed->el, EL_BIND, "^C", "forja-interrupt", NULL);
		errno = 0;
		line = el_gets(ed->el, &count);
		if (!line) {
			if (ed->interrupted) {
				fputs("^C\n", ed->out);
				buf_reset(text);
				rc = 2;
			} else if (count < 0) {
				ferr_set(&ed->err, FERR_IO, "reading the terminal: %s",
					 strerror(errno ? errno : EIO));
				buf_reset(text);
				rc = -1;
			} else {
				/* Ctrl-D: ends the input, or sends what continued lines hold */
				fputc('\n', ed->out);
				rc = first ? 0 : 1;
			}
			break;
		}
		len = (size_t)count;
		strip_newline(&line, &len);
		first = false;
		if (!overflow && text->len + len + 1 > TERM_MESSAGE_MAX)
			overflow = true;
		if (ed->in_paste || input_pending(ed->infd, PASTE_WAIT_MS)) {
			if (!overflow) {
				buf_add(text, line, len);
				buf_putc(text, '\n');
			}
			if (read_burst(ed, text, &overflow))
				break;
			continue;
		}
		more = len && line[len - 1] == '\\';
		if (more)
			len--;
		if (!overflow) {
			buf_add(text, line, len);
			if (more)
				buf_putc(text, '\n');
		}
		if (!more)
			break;
	}
	if (ed->bracketed) {
		fputs("\033[?2004l", ed->out);
		fflush(ed->out);
	}
	if (rc == 1 && overflow)
		return too_long(ed, text);
	if (rc == 1) {
		/* a paste that ended with newlines left empty lines behind */
		while (text->len && text->data[text->len - 1] == '\n')
			buf_truncate(text, text->len - 1);
		remember(ed, text);
	}
	return rc;
}

static int read_plain(struct term_editor *ed, struct buf *text)
{
	char chunk[8192];
	bool got = false, overflow = false;

	for (;;) {
		size_t len;

		if (!fgets(chunk, sizeof chunk, ed->in)) {
			if (ferror(ed->in)) {
				buf_reset(text);
				return ferr_set(&ed->err, FERR_IO, "reading the input: %s",
						strerror(errno ? errno : EIO));
			}
			if (!got)
				return 0;
			break;
		}
		got = true;
		len = strlen(chunk);
		if (!overflow && text->len + len > TERM_MESSAGE_MAX)
			overflow = true;
		if (!overflow)
			buf_add(text, chunk, len);
		if (len && chunk[len - 1] == '\n')
			break;
	}
	if (overflow)
		return too_long(ed, text);
	while (text->len && (text->data[text->len - 1] == '\n' || text->data[text->len - 1] == '\r'))
		buf_truncate(text, text->len - 1);
	return 1;
}

int term_editor_read(struct term_editor *ed, const char *prompt, struct buf *text)
{
	buf_reset(text);
	ferr_clear(&ed->err);
	if (!ed->interactive)
		return read_plain(ed, text);
	return read_interactive(ed, prompt ? prompt : "", text);
}

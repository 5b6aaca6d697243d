/*
 * ask.c — the approval prompt: what the call will do (the diff of an
 * edit, the exact argv of a command), why it needs approval, and one
 * answer read from the person.  On a terminal the answer is one key read
 * with the terminal in non-canonical mode; the typed-ahead input is
 * flushed (tcflush) before the question is shown, so that nothing typed
 * before it answers it and a key pressed once it shows is never lost;
 * Ctrl-C is read as a key, not a signal.
 */
#include "forja/term.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <termios.h>
#include <unistd.h>

#include "forja/utf8.h"
#include "internal.h"

#define ASK_DIFF_LINES 400
#define REASON_MAX 4096

static void describe(struct buf *b, const struct term_ask_request *req,
		     const struct term_style *st)
{
	const char *tool = req->tool ? req->tool : "tool";

	term_sgr(b, st->color, SGR_YELLOW);
	buf_puts(b, "? ");
	term_sgr(b, st->color, SGR_RESET);
	buf_puts(b, "approve ");
	term_sgr(b, st->color, SGR_BOLD);
	utf8_sanitize(b, tool, strlen(tool));
	term_sgr(b, st->color, SGR_RESET);
	if (req->why && *req->why) {
		buf_puts(b, " (");
		utf8_sanitize(b, req->why, strlen(req->why));
		buf_putc(b, ')');
	}
	buf_putc(b, '\n');
	if (req->argv && req->argv[0]) {
		buf_puts(b, "  $ ");
		for (size_t i = 0; req->argv[i]; i++) {
			if (i)
				buf_putc(b, ' ');
			term_shell_quote(b, req->argv[i]);
		}
		buf_putc(b, '\n');
	} else if (req->shell) {
		buf_puts(b, "  $ sh -c ");
		term_shell_quote(b, req->shell);
		buf_putc(b, '\n');
	} else if (req->summary && !req->diff) {
		buf_puts(b, "  ");
		utf8_sanitize(b, req->summary, strlen(req->summary));
		buf_putc(b, '\n');
	}
	if (req->diff && *req->diff)
		term_diff_render(b, req->diff, strlen(req->diff), "  ", ASK_DIFF_LINES, st->color,
				 st->utf8);
	buf_puts(b, "  allow? [y]es, [n]o, [a]lways for ");
	utf8_sanitize(b, tool, strlen(tool));
	buf_puts(b, " this session: ");
}

static void say(FILE *out, const char *s)
{
	fputs(s, out);
	fflush(out);
}

/* One byte from fd; 0 at EOF or on error. */
static int read_key(int fd, unsigned char *c)
{
	ssize_t n;

	do
		n = read(fd, c, 1);
	while (n < 0 && errno == EINTR);
	return n == 1;
}

/* Remove the last UTF-8 character of b and erase it on the terminal. */
static void rub_out(struct buf *b, FILE *out)
{
	size_t start = b->len;
	size_t cols;

	if (!b->len)
		return;
	while (start > 0 && ((unsigned char)b->data[start - 1] & 0xc0) == 0x80)
		start--;
	if (start > 0)
		start--;
	cols = term_text_width(b->data + start, b->len - start);
	buf_truncate(b, start);
	for (size_t i = 0; i < cols; i++)
		fputs("\b \b", out);
	fflush(out);
}

/* A one-line reason, edited with backspace and Ctrl-U; Enter or Ctrl-D
 * ends it, Ctrl-C drops it.  NULL when empty. */
static char *read_reason_tty(int fd, FILE *out)
{
	struct buf b = BUF_INIT;
	unsigned char c;
	char *reason = NULL;

	say(out, "  reason for the model (Enter to skip): ");
	while (read_key(fd, &c)) {
		if (c == '\r' || c == '\n' || c == 4)
			break;
		if (c == 3) {
			buf_reset(&b);
			say(out, "^C");
			break;
		}
		if (c == 0x7f || c == 8) {
			rub_out(&b, out);
		} else if (c == 0x15) {
			while (b.len)
				rub_out(&b, out);
		} else if (c == 0x1b) {
			/* an escape sequence (arrows): skip it whole */
			if (read_key(fd, &c) && (c == '[' || c == 'O'))
				while (read_key(fd, &c) && !(c >= 0x40 && c <= 0x7e))
					;
		} else if (c >= 0x20 && b.len < REASON_MAX) {
			buf_putc(&b, (char)c);
			fputc(c, out);
			fflush(out);
		}
	}
	say(out, "\n");
	if (b.len) {
		reason = utf8_text_dup(b.data, b.len);
		if (!*reason) {
			free(reason);
			reason = NULL;
		}
	}
	buf_release(&b);
	return reason;
}

static enum term_answer ask_tty(int fd, FILE *out, char **reason)
{
	struct termios saved, raw;
	enum term_answer answer = TERM_ANSWER_NO;
	bool explicit_no = false;
	unsigned char c;

	if (tcgetattr(fd, &saved) != 0)
		return TERM_ANSWER_NO;
	raw = saved;
	raw.c_lflag &= ~(tcflag_t)(ICANON | ECHO | ISIG | IEXTEN);
	raw.c_iflag &= ~(tcflag_t)(IXON | ICRNL);
	raw.c_cc[VMIN] = 1;
	raw.c_cc[VTIME] = 0;
	/* what was typed before the question was dropped by term_ask(); a key
	 * pressed once the question is shown answers it */
	if (tcsetattr(fd, TCSANOW, &raw) != 0)
		return TERM_ANSWER_NO;
	for (;;) {
		if (!read_key(fd, &c)) {
			say(out, "no\n");
			break;
		}
		if (c == 'y' || c == 'Y') {
			answer = TERM_ANSWER_YES;
			say(out, "yes\n");
			break;
		}
		if (c == 'a' || c == 'A') {
			answer = TERM_ANSWER_ALWAYS;
			say(out, "always\n");
			break;
		}
		if (c == 'n' || c == 'N') {
			explicit_no = true;
			say(out, "no\n");
			break;
		}
		if (c == 3 || c == 4 || c == 'q' || c == 'Q') {
			say(out, c == 3 ? "^C no\n" : "no\n");
			break;
		}
	}
	if (explicit_no)
		*reason = read_reason_tty(fd, out);
	tcsetattr(fd, TCSANOW, &saved);
	return answer;
}

static enum term_answer ask_line(FILE *in, FILE *out, char **reason)
{
	struct buf line = BUF_INIT;
	char chunk[1024];
	enum term_answer answer = TERM_ANSWER_NO;
	size_t word = 0, rest;
	const char *p;

	while (fgets(chunk, sizeof chunk, in)) {
		if (line.len < REASON_MAX)
			buf_puts(&line, chunk);
		if (strchr(chunk, '\n'))
			break;
	}
	p = buf_cstr(&line);
	while (*p == ' ' || *p == '\t')
		p++;
	while (p[word] && p[word] != ' ' && p[word] != '\t' && p[word] != '\n' && p[word] != '\r')
		word++;
	if ((word == 1 && (*p == 'y' || *p == 'Y')) || (word == 3 && strncasecmp(p, "yes", 3) == 0))
		answer = TERM_ANSWER_YES;
	else if ((word == 1 && (*p == 'a' || *p == 'A')) ||
		 (word == 6 && strncasecmp(p, "always", 6) == 0))
		answer = TERM_ANSWER_ALWAYS;
	if (answer == TERM_ANSWER_NO && ((word == 1 && (*p == 'n' || *p == 'N')) ||
					 (word == 2 && strncasecmp(p, "no", 2) == 0))) {
		p += word;
		while (*p == ' ' || *p == '\t')
			p++;
		rest = strlen(p);
		while (rest && (p[rest - 1] == '\n' || p[rest - 1] == '\r' || p[rest - 1] == ' '))
			rest--;
		if (rest)
			*reason = utf8_text_dup(p, rest);
	}
	say(out, answer == TERM_ANSWER_YES ? "yes\n" : answer == TERM_ANSWER_ALWAYS ? "always\n" : "no\n");
	buf_release(&line);
	return answer;
}

enum term_answer term_ask(const struct term_ask_request *req, FILE *in, FILE *out,
			  const struct term_style *style, char **reason)
{
	struct buf b = BUF_INIT;
	int fd = fileno(in);

	*reason = NULL;
	/* drop what was typed ahead before the question is shown, not after:
	 * a person (or a script) answering at once must not lose the key */
	if (fd >= 0 && isatty(fd))
		tcflush(fd, TCIFLUSH);
	describe(&b, req, style);
	fwrite(b.data, 1, b.len, out);
	fflush(out);
	buf_release(&b);
	if (fd >= 0 && isatty(fd))
		return ask_tty(fd, out, reason);
	return ask_line(in, out, reason);
}

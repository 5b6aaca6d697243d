/*
 * test_term.c — the terminal front end's parts: the renderer (into a
 * memory stream, at a fixed width, colour on and off, with a fake clock),
 * the streaming markdown, diffs, quoting, the approval prompt and the
 * editor when input is not a terminal.
 *
 * `test_term editor HISTFILE` is a small program for tests/e2e/term_pty.py:
 * it reads messages from a terminal with term_editor_read() and prints
 * each one back as "<<MSG lines=N bytes=N text=...>>" (newlines shown as
 * \n), "<<INT>>", "<<ERR ...>>", and "<<EOF>>" at the end.
 */
#include <locale.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "forja/term.h"
#include "tap.h"

static long long fake_now;
static long long fake_clock(void)
{
	return fake_now;
}

struct cap {
	char *data;
	size_t len, taken;
	FILE *f;
	struct term_render *r;
	struct event_sink sink;
};

static void cap_open(struct cap *c, bool color, bool utf8, bool tty, int width)
{
	struct term_render_options o;

	memset(c, 0, sizeof *c);
	c->f = open_memstream(&c->data, &c->len);
	term_render_options_default(&o, c->f);
	o.style.color = color;
	o.style.utf8 = utf8;
	o.style.is_tty = tty;
	o.style.width = width;
	o.now_ms = fake_clock;
	c->r = term_render_new(c->f, &o);
	c->sink = term_render_sink(c->r);
}

/* What was written since the last take (the caller frees). */
static char *cap_take(struct cap *c)
{
	fflush(c->f);
	char *s = strndup(c->data + c->taken, c->len - c->taken);
	c->taken = c->len;
	return s;
}

static void cap_close(struct cap *c)
{
	term_render_free(c->r);
	fclose(c->f);
	free(c->data);
}

static void emit(struct cap *c, struct event ev)
{
	c->sink.emit(c->sink.ctx, &ev);
}

static void text(struct cap *c, const char *s)
{
	emit(c, (struct event){ .type = EV_TEXT, .text = s, .len = strlen(s) });
}

static void output(struct cap *c, const char *s)
{
	emit(c, (struct event){ .type = EV_TOOL_OUTPUT, .id = "c1", .stream = 1, .text = s,
				.len = strlen(s) });
}

static void check(struct cap *c, const char *want, const char *name)
{
	char *got = cap_take(c);
	tap_is_str(got, want, name);
	free(got);
}

static struct cap *fresh(struct cap *c, bool color, bool utf8, bool tty, int width)
{
	cap_open(c, color, utf8, tty, width);
	return c;
}

static void test_plain_text(void)
{
	struct cap c;

	fresh(&c, false, false, false, 80);
	text(&c, "Hello **wor");
	text(&c, "ld** and `x`\n# Head\n```c\nint x;\n```\n- item");
	emit(&c, (struct event){ .type = EV_DONE });
	check(&c, "Hello **world** and `x`\n# Head\n```c\nint x;\n```\n- item\n",
	      "colour off: the text exactly as the model wrote it, ended by a newline");
	cap_close(&c);
}

static const char md_input[] = "# Title\nsome **bold** and `co*de` here\n```py\nx = 1\n\n```\n"
			       "- a *star\n~~ not a fence\n#nothead\n";
static const char md_want[] =
	"\033[1m# Title\033[0m\n"
	"some \033[0m\033[1mbold\033[0m and \033[0m\033[36mco*de\033[0m here\n"
	"\033[2m```py\033[0m\n"
	"\033[36mx = 1\033[0m\n"
	"\n"
	"\033[2m```\033[0m\n"
	"- a *star\n"
	"~~ not a fence\n"
	"#nothead\n";

static void test_markdown_color(void)
{
	struct cap c;

	fresh(&c, true, true, false, 80);
	text(&c, md_input);
	check(&c, md_want, "markdown: heading bold, spans styled, fence dim with its language, code cyan");
	cap_close(&c);

	/* the same, one byte per delta: a stream never changes the result */
	fresh(&c, true, true, false, 80);
	for (size_t i = 0; md_input[i]; i++) {
		char one[2] = { md_input[i], 0 };
		text(&c, one);
	}
	check(&c, md_want, "markdown: byte-by-byte deltas render the same");
	cap_close(&c);

	fresh(&c, true, true, false, 80);
	text(&c, "an open **span");
	emit(&c, (struct event){ .type = EV_DONE });
	check(&c, "an open \033[0m\033[1mspan\033[0m\n",
	      "markdown: a span that never closes ends with its line");
	cap_close(&c);
}

static void test_sanitise(void)
{
	struct cap c;

	fresh(&c, false, true, false, 80);
	text(&c, "a\033[2Jb\007c\xff d\xc3");
	text(&c, "\xa9\r\n");
	check(&c, "a[2Jbc\xef\xbf\xbd d\xc3\xa9\n",
	      "escapes and controls dropped, invalid UTF-8 replaced, a sequence cut between deltas kept");
	cap_close(&c);
}

static void tool_run(struct cap *c, int lines, const char *status, int code, long long ms)
{
	char line[64];

	emit(c, (struct event){ .type = EV_TOOL_START, .id = "c1", .name = "run",
				.summary = "run: make test" });
	for (int i = 1; i <= lines; i++) {
		snprintf(line, sizeof line, "line %d\n", i);
		/* cut each line in two deltas */
		size_t half = strlen(line) / 2;
		char a[64];
		memcpy(a, line, half);
		a[half] = 0;
		output(c, a);
		output(c, line + half);
	}
	emit(c, (struct event){ .type = EV_TOOL_END, .id = "c1", .name = "run", .status = status,
				.exit_code = code, .duration_ms = ms });
}

static void test_tool_calls(void)
{
	struct cap c;

	fresh(&c, false, false, false, 80);
	text(&c, "Let me run it.");
	tool_run(&c, 12, "failed", 2, 1300);
	check(&c,
	      "Let me run it.\n"
	      "* run: make test\n"
	      "    line 1\n    line 2\n    line 3\n    line 4\n"
	      "    line 5\n    line 6\n    line 7\n    line 8\n"
	      "    ... 4 more lines (/last shows all)\n"
	      "  x exit 2, 1.3s\n",
	      "tool call: one line, 8 output lines, the rest counted, exit code and duration");
	FILE *f = tmpfile();
	term_render_last(c.r, f);
	rewind(f);
	char all[512] = "";
	size_t n = fread(all, 1, sizeof all - 1, f);
	all[n] = 0;
	fclose(f);
	tap_contains(all, "line 1\nline 2\n", "/last: starts with the first line");
	tap_contains(all, "line 11\nline 12\n", "/last: ends with the last line");
	cap_close(&c);

	fresh(&c, false, true, false, 80);
	tool_run(&c, 1, "ok", 0, 800);
	check(&c, "● run: make test\n    line 1\n  ✓ 0.8s\n", "tool call ok, UTF-8 glyphs");
	cap_close(&c);

	fresh(&c, true, true, false, 80);
	tool_run(&c, 0, "ok", 0, 61500);
	check(&c, "\033[36m●\033[0m \033[1mrun: make test\033[0m\n\033[32m  ✓ 1m01s\033[0m\n",
	      "tool call in colour, minutes");
	cap_close(&c);

	fresh(&c, false, true, false, 20);
	emit(&c, (struct event){ .type = EV_TOOL_START, .id = "c2", .name = "run",
				 .summary = "run: a very long command line that does not fit" });
	output(&c, "an output line that is much too long\tfor twenty\n");
	check(&c, "● run: a very long…\n    an output line…\n",
	      "width 20: the tool line and its output cut with an ellipsis");
	cap_close(&c);

	fresh(&c, false, false, false, 80);
	emit(&c, (struct event){ .type = EV_TOOL_START, .id = "c3", .name = "edit_file",
				 .summary = "edit_file src/a.c" });
	emit(&c, (struct event){ .type = EV_APPROVAL, .id = "c3", .name = "edit_file",
				 .decision = "denied", .reason = "not now\nplease" });
	emit(&c, (struct event){ .type = EV_TOOL_END, .id = "c3", .name = "edit_file",
				 .status = "denied", .exit_code = -1 });
	emit(&c, (struct event){ .type = EV_TOOL_START, .id = "c4", .name = "edit_file",
				 .summary = "edit_file b" });
	emit(&c, (struct event){ .type = EV_TOOL_END, .id = "c4", .name = "edit_file",
				 .status = "failed", .exit_code = -1, .duration_ms = 40,
				 .text = "old_string not found\nmore", .len = 25 });
	check(&c, "* edit_file src/a.c\n  denied: not now please\n"
		  "* edit_file b\n  x failed, 0.0s: old_string not found\n",
	      "denied with the person's reason; a file tool's failure with its message");
	cap_close(&c);
}

static void test_diff(void)
{
	struct buf b = BUF_INIT;
	const char *d = "--- a/x.c\n+++ b/x.c\n@@ -1,2 +1,2 @@\n ctx\n-old\n+new\033]0;t\007\n";

	term_diff_render(&b, d, strlen(d), "  ", 0, true, true);
	tap_is_str(b.data,
		   "  \033[1m--- a/x.c\033[0m\n  \033[1m+++ b/x.c\033[0m\n"
		   "  \033[36m@@ -1,2 +1,2 @@\033[0m\n   ctx\n  \033[31m-old\033[0m\n"
		   "  \033[32m+new]0;t\033[0m\n",
		   "diff: headers bold, @@ cyan, - red, + green, escapes dropped");
	buf_reset(&b);
	term_diff_render(&b, d, strlen(d), "", 3, false, false);
	tap_is_str(b.data, "--- a/x.c\n+++ b/x.c\n@@ -1,2 +1,2 @@\n... 3 more diff lines\n",
		   "diff: capped, no colour, the rest counted");
	buf_release(&b);

	struct cap c;
	struct buf big = BUF_INIT;
	buf_puts(&big, "@@ -1 +1,50 @@\n");
	for (int i = 0; i < 50; i++)
		buf_printf(&big, "+l%d\n", i);
	fresh(&c, false, true, false, 80);
	emit(&c, (struct event){ .type = EV_TOOL_START, .id = "e", .name = "write_file",
				 .summary = "write_file f" });
	emit(&c, (struct event){ .type = EV_TOOL_END, .id = "e", .name = "write_file",
				 .status = "ok", .exit_code = -1, .duration_ms = 5, .diff = big.data });
	char *got = cap_take(&c);
	tap_contains(got, "    +l38\n    … 11 more diff lines\n  ✓ 0.0s\n",
		     "an edit's diff under its tool line, 40 lines then a count");
	tap_ok(strstr(got, "+l39") == NULL, "diff line 41 not shown");
	free(got);
	cap_close(&c);
	buf_release(&big);
}

static void test_turn_end(void)
{
	struct cap c;

	fresh(&c, false, false, false, 80);
	emit(&c, (struct event){ .type = EV_START, .provider = "openai", .model = "gpt-x" });
	text(&c, "done");
	emit(&c, (struct event){ .type = EV_TURN_END, .turn = 1, .prompt_tokens = 1200,
				 .completion_tokens = 340, .session_prompt_tokens = 5600,
				 .session_completion_tokens = 1100, .cost = 0.0123,
				 .session_cost = 0.0456, .duration_ms = 2500 });
	emit(&c, (struct event){ .type = EV_TURN_END, .turn = 2, .prompt_tokens = -1,
				 .completion_tokens = 3, .session_prompt_tokens = -1,
				 .session_completion_tokens = 3, .cost = -1, .session_cost = -1 });
	check(&c,
	      "done\ngpt-x: 1200 in, 340 out; session 5600 in, 1100 out; $0.0123 (session $0.0456); 2.5s\n"
	      "gpt-x: ? in, 3 out; session ? in, 3 out; cost unknown\n",
	      "turn end: model, tokens of the turn and the session, cost");
	cap_close(&c);

	fresh(&c, true, false, false, 80);
	struct ferr e = FERR_INIT;
	ferr_set(&e, FERR_NETWORK, "cannot connect to 127.0.0.1");
	text(&c, "partial");
	emit(&c, (struct event){ .type = EV_ERROR, .error = &e });
	emit(&c, (struct event){ .type = EV_NOTICE, .text = "context compacted", .len = 17 });
	check(&c, "partial\n\033[1;31merror: cannot connect to 127.0.0.1\033[0m\n"
		  "\033[33mforja: context compacted\033[0m\n",
	      "errors and notices are lines of their own");
	cap_close(&c);
}

static void test_reasoning(void)
{
	struct cap c;

	fresh(&c, true, false, false, 80);
	emit(&c, (struct event){ .type = EV_REASONING, .text = "hmm", .len = 3 });
	text(&c, "Answer");
	check(&c, "\033[2mhmm\033[0m\033[0m\nAnswer", "reasoning dimmed, then the answer on its own line");
	cap_close(&c);
}

static void test_spinner(void)
{
	struct cap c;

	fresh(&c, false, false, true, 80);
	fake_now = 1000;
	emit(&c, (struct event){ .type = EV_START, .model = "m" });
	term_render_tick(c.r, 4250);
	term_render_tick(c.r, 4260);
	term_render_tick(c.r, 4350);
	text(&c, "Hi");
	term_render_tick(c.r, 5000);
	check(&c, "- thinking 3.2s\r               \r\\ thinking 3.3s\r               \rHi",
	      "spinner (ASCII, no colour): drawn at the start of a line, updated, erased with spaces");
	cap_close(&c);

	fresh(&c, true, true, true, 80);
	fake_now = 0;
	emit(&c, (struct event){ .type = EV_TOOL_START, .id = "s", .name = "run", .summary = "run: x" });
	term_render_tick(c.r, 100);
	output(&c, "o\n");
	term_render_break(c.r);
	term_render_tick(c.r, 200);
	check(&c, "\033[36m●\033[0m \033[1mrun: x\033[0m\n\033[2m⠙ running 0.1s\033[0m"
		  "\r\033[K\033[2m    o\033[0m\n",
	      "spinner in colour erased with \\r\\033[K; none after term_render_break");
	cap_close(&c);

	fresh(&c, false, false, false, 80);
	emit(&c, (struct event){ .type = EV_START, .model = "m" });
	term_render_tick(c.r, 5000);
	check(&c, "", "no spinner when the output is not a terminal");
	cap_close(&c);
}

static void test_pieces(void)
{
	struct buf b = BUF_INIT;
	const char *argv[] = { "make", "a b", "it's", "", "x\ny\033", "ok=1,2:/p-q", NULL };

	for (size_t i = 0; argv[i]; i++) {
		if (i)
			buf_putc(&b, ' ');
		term_shell_quote(&b, argv[i]);
	}
	tap_is_str(b.data, "make 'a b' 'it'\\''s' '' $'x\\ny\\x1b' ok=1,2:/p-q",
		   "shell quoting: only where needed, controls as $'...'");
	buf_reset(&b);
	term_cut(&b, "日本語テキスト", strlen("日本語テキスト"), 7, true);
	tap_is_str(b.data, "日本語…", "cut counts wide characters as two columns");
	tap_is_int((long long)term_text_width("e\xcc\x81", 3), 1, "combining mark has no width");
	buf_release(&b);
}

static void test_ask(void)
{
	struct term_style st = { .is_tty = false, .color = false, .utf8 = true, .width = 80 };
	const char *argv[] = { "make", "test suite", NULL };
	struct term_ask_request req = { .tool = "run", .why = "it runs a command",
					.argv = argv };
	char input[] = "n not now, run the unit tests only\n";
	char *out_data = NULL, *reason = NULL;
	size_t out_len = 0;
	FILE *in = fmemopen(input, strlen(input), "r");
	FILE *out = open_memstream(&out_data, &out_len);

	enum term_answer a = term_ask(&req, in, out, &st, &reason);
	fclose(in);
	fclose(out);
	tap_is_int(a, TERM_ANSWER_NO, "ask: n is no");
	tap_is_str(reason, "not now, run the unit tests only", "ask: the reason after n");
	tap_is_str(out_data,
		   "? approve run (it runs a command)\n  $ make 'test suite'\n"
		   "  allow? [y]es, [n]o, [a]lways for run this session: no\n",
		   "ask: the exact argv quoted, the contract and why");
	free(reason);
	free(out_data);

	const char *answers[] = { "y\n", "always\n", "", "maybe\n" };
	enum term_answer want[] = { TERM_ANSWER_YES, TERM_ANSWER_ALWAYS, TERM_ANSWER_NO,
				    TERM_ANSWER_NO };
	struct term_ask_request edit = { .tool = "edit_file", .diff = "-a\n+b\n" };
	for (size_t i = 0; i < 4; i++) {
		char name[64];
		char buf[16];
		strcpy(buf, answers[i]);
		in = fmemopen(buf, strlen(buf) ? strlen(buf) : 1, "r");
		if (!*answers[i])
			fgetc(in);  /* an empty stream: EOF at once */
		out_data = NULL;
		out = open_memstream(&out_data, &out_len);
		a = term_ask(&edit, in, out, &st, &reason);
		fclose(in);
		fclose(out);
		snprintf(name, sizeof name, "ask: answer \"%.*s\"", (int)strcspn(answers[i], "\n"),
			 answers[i]);
		tap_is_int(a, want[i], name);
		tap_ok(reason == NULL, "ask: no reason unless no");
		if (i == 0)
			tap_contains(out_data, "  -a\n  +b\n", "ask: an edit shows its diff");
		free(out_data);
	}
}

static void test_editor_plain(void)
{
	char input[] = "one\ntwo\r\n\nthree";
	FILE *in = fmemopen(input, strlen(input), "r");
	struct ferr e = FERR_INIT;
	struct term_editor *ed = term_editor_open(NULL, in, stdout, &e);
	struct buf t = BUF_INIT;
	const char *want[] = { "one", "two", "", "three" };

	tap_ok(ed && !term_editor_is_interactive(ed), "editor on a non-terminal reads plain lines");
	for (size_t i = 0; i < 4; i++) {
		int rc = term_editor_read(ed, "> ", &t);
		tap_is_int(rc, 1, "plain: a message");
		tap_is_str(buf_cstr(&t), want[i], "plain: each line is one message");
	}
	tap_is_int(term_editor_read(ed, "> ", &t), 0, "plain: EOF ends");
	term_editor_free(ed);
	fclose(in);
	buf_release(&t);
}

static void print_escaped(const char *s, size_t len, size_t max)
{
	for (size_t i = 0; i < len && i < max; i++) {
		if (s[i] == '\n')
			fputs("\\n", stdout);
		else
			putchar(s[i]);
	}
}

static int editor_main(const char *histfile)
{
	struct ferr e = FERR_INIT;
	struct term_editor *ed;
	struct buf t = BUF_INIT;

	setlocale(LC_ALL, "");
	ed = term_editor_open(histfile, stdin, stdout, &e);
	if (!ed) {
		printf("<<ERR %s>>\n", e.msg);
		return 1;
	}
	for (;;) {
		int rc = term_editor_read(ed, "you> ", &t);
		if (rc == 0) {
			printf("<<EOF>>\n");
			break;
		}
		if (rc == 2) {
			printf("<<INT>>\n");
		} else if (rc < 0) {
			printf("<<ERR %s>>\n", term_editor_error(ed)->msg);
		} else {
			size_t lines = 1;
			for (size_t i = 0; i < t.len; i++)
				lines += t.data[i] == '\n';
			printf("<<MSG lines=%zu bytes=%zu text=", lines, t.len);
			print_escaped(buf_cstr(&t), t.len, 400);
			printf(">>\n");
		}
		fflush(stdout);
	}
	fflush(stdout);
	term_editor_free(ed);
	buf_release(&t);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "editor") == 0)
		return editor_main(argv[2]);
	test_plain_text();
	test_markdown_color();
	test_sanitise();
	test_tool_calls();
	test_diff();
	test_turn_end();
	test_reasoning();
	test_spinner();
	test_pieces();
	test_ask();
	test_editor_plain();
	return tap_done();
}

/*
 * render.c — the interactive session's event sink (include/forja/term.h):
 * answer text streamed through the markdown renderer, reasoning dimmed,
 * one line per tool call with a few lines of its output and an end line,
 * diffs of edits, a usage line per turn, and the spinner.
 *
 * Output only appends.  Each event's output is built in a buffer, the
 * spinner (the one thing ever rewritten, and only while it is alone on the
 * last line) is erased, and the buffer is written and flushed.  at_bol
 * follows what is visible: whether the cursor is at the start of a line.
 */
#include "forja/term.h"

#include <stdlib.h>
#include <string.h>

#include "forja/utf8.h"
#include "internal.h"

#define DEFAULT_TOOL_LINES 8
#define DEFAULT_DIFF_LINES 40
#define DEFAULT_LAST_MAX (4u << 20)
#define TOOL_LINE_KEEP (16u << 10)  /* bytes of one output line kept for display */
#define INDENT "    "

enum block { BLOCK_NONE, BLOCK_TEXT, BLOCK_REASONING };

/* The end of a delta that may be the start of a UTF-8 sequence the next
 * delta completes. */
struct carry {
	char bytes[4];
	size_t len;
};

struct term_render {
	FILE *out;
	struct term_render_options o;
	struct md_stream md;
	struct buf ob;              /* this event's output */
	bool at_bol;
	enum block block;
	struct carry text_carry, reasoning_carry, tool_carry;
	char *model;

	/* the spinner */
	bool waiting, suspended;
	const char *wait_label;
	long long wait_since;
	bool spinner_shown;
	size_t spinner_cols;
	struct buf spinner_text;

	/* the running tool call */
	bool in_tool;
	char *tool_id;
	struct buf tool_line;       /* the output line not yet ended */
	bool tool_line_cut;         /* tool_line hit TOOL_LINE_KEEP */
	size_t tool_shown, tool_hidden;
	char *denied_reason;        /* from EV_APPROVAL, for the end line */

	/* what term_render_last() prints */
	struct buf last;
	bool last_truncated, last_any;
	bool had_tool;
};

static int width_of(const struct term_render *r)
{
	return r->o.style.width > 0 ? r->o.style.width : 80;
}

void term_render_options_default(struct term_render_options *o, FILE *out)
{
	memset(o, 0, sizeof *o);
	term_style_detect(&o->style, out);
	o->show_reasoning = true;
	o->tool_lines = DEFAULT_TOOL_LINES;
	o->diff_lines = DEFAULT_DIFF_LINES;
	o->last_max = DEFAULT_LAST_MAX;
	o->now_ms = term_now_ms;
}

struct term_render *term_render_new(FILE *out, const struct term_render_options *o)
{
	struct term_render *r = xcalloc(1, sizeof *r);

	r->out = out;
	r->o = *o;
	if (r->o.tool_lines < 0)
		r->o.tool_lines = DEFAULT_TOOL_LINES;
	if (r->o.diff_lines < 0)
		r->o.diff_lines = DEFAULT_DIFF_LINES;
	if (!r->o.last_max)
		r->o.last_max = DEFAULT_LAST_MAX;
	if (!r->o.now_ms)
		r->o.now_ms = term_now_ms;
	md_init(&r->md, r->o.style.color);
	r->at_bol = true;
	return r;
}

void term_render_free(struct term_render *r)
{
	if (!r)
		return;
	md_release(&r->md);
	buf_release(&r->ob);
	buf_release(&r->spinner_text);
	buf_release(&r->tool_line);
	buf_release(&r->last);
	free(r->model);
	free(r->tool_id);
	free(r->denied_reason);
	free(r);
}

void term_render_resize(struct term_render *r, int width)
{
	r->o.style.width = width;
}

/* The last visible byte of b, skipping our own SGR sequences (sanitised
 * text has no ESC, so every ESC in b is ours); 0 when there is none. */
static char last_visible(const struct buf *b)
{
	char last = 0;

	for (size_t i = 0; i < b->len; i++) {
		if (b->data[i] == '\033') {
			while (i + 1 < b->len && !(b->data[i + 1] >= 0x40 && b->data[i + 1] <= 0x7e &&
						   b->data[i + 1] != '['))
				i++;
			i++;
			continue;
		}
		last = b->data[i];
	}
	return last;
}

static void spinner_erase(struct term_render *r)
{
	if (!r->spinner_shown)
		return;
	if (r->o.style.color) {
		fputs("\r\033[K", r->out);
	} else {
		fputc('\r', r->out);
		for (size_t i = 0; i < r->spinner_cols; i++)
			fputc(' ', r->out);
		fputc('\r', r->out);
	}
	r->spinner_shown = false;
}

/* Write this event's output: erase the spinner first. */
static void flush_ob(struct term_render *r)
{
	char last;

	if (!r->ob.len) {
		fflush(r->out);
		return;
	}
	spinner_erase(r);
	fwrite(r->ob.data, 1, r->ob.len, r->out);
	fflush(r->out);
	last = last_visible(&r->ob);
	if (last)
		r->at_bol = last == '\n';
	buf_reset(&r->ob);
}

/* Sanitise a delta, keeping a UTF-8 sequence cut at its end for later. */
static void carry_sanitize(struct carry *c, struct buf *out, const char *s, size_t len)
{
	struct buf joined = BUF_INIT;
	size_t tail;

	if (c->len) {
		buf_add(&joined, c->bytes, c->len);
		buf_add(&joined, s, len);
		s = joined.data;
		len = joined.len;
		c->len = 0;
	}
	tail = term_utf8_tail(s, len);
	utf8_sanitize(out, s, len - tail);
	memcpy(c->bytes, s + len - tail, tail);
	c->len = tail;
	buf_release(&joined);
}

/* What remains of a cut sequence is invalid: U+FFFD. */
static void carry_flush(struct carry *c, struct buf *out)
{
	if (c->len)
		utf8_sanitize(out, c->bytes, c->len);
	c->len = 0;
}

static void end_line(struct term_render *r)
{
	char last = last_visible(&r->ob);

	if (last ? last != '\n' : !r->at_bol)
		buf_putc(&r->ob, '\n');
}

/* Close the text or reasoning block that is open, ending its line. */
static void end_block(struct term_render *r)
{
	struct buf clean = BUF_INIT;

	if (r->block == BLOCK_TEXT) {
		carry_flush(&r->text_carry, &clean);
		md_feed(&r->md, &r->ob, clean.data ? clean.data : "", clean.len);
		md_flush(&r->md, &r->ob);
	} else if (r->block == BLOCK_REASONING) {
		carry_flush(&r->reasoning_carry, &r->ob);
		term_sgr(&r->ob, r->o.style.color, SGR_RESET);
	}
	buf_release(&clean);
	if (r->block != BLOCK_NONE)
		end_line(r);
	r->block = BLOCK_NONE;
}

static void start_wait(struct term_render *r, const char *label)
{
	r->waiting = true;
	r->wait_label = label;
	r->wait_since = r->o.now_ms();
}

static void on_text(struct term_render *r, const struct event *ev)
{
	struct buf clean = BUF_INIT;

	if (!ev->len)
		return;
	r->waiting = false;
	if (r->block != BLOCK_TEXT) {
		end_block(r);
		r->block = BLOCK_TEXT;
	}
	carry_sanitize(&r->text_carry, &clean, ev->text, ev->len);
	md_feed(&r->md, &r->ob, clean.data ? clean.data : "", clean.len);
	buf_release(&clean);
}

static void on_reasoning(struct term_render *r, const struct event *ev)
{
	if (!ev->len)
		return;
	r->waiting = false;
	if (!r->o.show_reasoning)
		return;
	if (r->block != BLOCK_REASONING) {
		end_block(r);
		r->block = BLOCK_REASONING;
	}
	/* dim again for every delta: the spinner may have reset attributes */
	term_sgr(&r->ob, r->o.style.color, SGR_DIM);
	carry_sanitize(&r->reasoning_carry, &r->ob, ev->text, ev->len);
	term_sgr(&r->ob, r->o.style.color, SGR_RESET);
}

/* One line of text for the person: sanitised, newlines and tabs as spaces. */
static void one_line(struct buf *out, const char *s, size_t len)
{
	size_t start = out->len;

	utf8_sanitize(out, s, len);
	for (size_t i = start; i < out->len; i++)
		if (out->data[i] == '\n' || out->data[i] == '\t')
			out->data[i] = ' ';
}

/* Append s as one line cut to the columns left after prefix_cols. */
static void put_cut(struct term_render *r, const char *s, size_t len, int prefix_cols)
{
	struct buf line = BUF_INIT;
	int cols = width_of(r) - prefix_cols - 1;

	one_line(&line, s, len);
	term_cut(&r->ob, buf_cstr(&line), line.len, cols < 1 ? 1 : cols, r->o.style.utf8);
	buf_release(&line);
}

static void last_reset(struct term_render *r)
{
	buf_reset(&r->last);
	r->last_truncated = false;
	r->last_any = false;
}

static void last_add(struct term_render *r, const char *s, size_t len)
{
	size_t room = r->o.last_max > r->last.len ? r->o.last_max - r->last.len : 0;

	r->last_any = true;
	if (len > room) {
		len = room;
		r->last_truncated = true;
	}
	buf_add(&r->last, s, len);
}

static void on_tool_start(struct term_render *r, const struct event *ev)
{
	const char *what = ev->summary ? ev->summary : ev->name ? ev->name : "tool";
	bool color = r->o.style.color;

	end_block(r);
	end_line(r);
	free(r->tool_id);
	r->tool_id = ev->id ? xstrdup(ev->id) : NULL;
	free(r->denied_reason);
	r->denied_reason = NULL;
	r->in_tool = true;
	buf_reset(&r->tool_line);
	r->tool_line_cut = false;
	r->tool_shown = r->tool_hidden = 0;
	r->tool_carry.len = 0;
	last_reset(r);
	r->had_tool = true;
	term_sgr(&r->ob, color, SGR_CYAN);
	buf_puts(&r->ob, term_glyph(r->o.style.utf8, "●", "*"));
	term_sgr(&r->ob, color, SGR_RESET);
	buf_putc(&r->ob, ' ');
	term_sgr(&r->ob, color, SGR_BOLD);
	put_cut(r, what, strlen(what), 2);
	term_sgr(&r->ob, color, SGR_RESET);
	buf_putc(&r->ob, '\n');
	start_wait(r, "running");
}

/* Show (or count) one complete output line. */
static void tool_line_done(struct term_render *r)
{
	if (r->tool_shown < (size_t)r->o.tool_lines) {
		term_sgr(&r->ob, r->o.style.color, SGR_DIM);
		buf_puts(&r->ob, INDENT);
		term_cut(&r->ob, buf_cstr(&r->tool_line), r->tool_line.len,
			 width_of(r) - (int)strlen(INDENT) - 1 > 0 ? width_of(r) - (int)strlen(INDENT) - 1 : 1,
			 r->o.style.utf8);
		term_sgr(&r->ob, r->o.style.color, SGR_RESET);
		buf_putc(&r->ob, '\n');
		r->tool_shown++;
	} else {
		r->tool_hidden++;
	}
	buf_reset(&r->tool_line);
	r->tool_line_cut = false;
}

static void on_tool_output(struct term_render *r, const struct event *ev)
{
	struct buf clean = BUF_INIT;

	if (!ev->len)
		return;
	end_block(r);
	last_add(r, ev->text, ev->len);
	carry_sanitize(&r->tool_carry, &clean, ev->text, ev->len);
	for (size_t i = 0; i < clean.len; i++) {
		char c = clean.data[i];
		if (c == '\n') {
			tool_line_done(r);
		} else if (c == '\t') {
			buf_puts(&r->tool_line, "    ");
		} else if (r->tool_line.len < TOOL_LINE_KEEP) {
			buf_putc(&r->tool_line, c);
		} else {
			r->tool_line_cut = true;
		}
	}
	/* utf8_sanitize dropped '\r': a progress bar's redraws run together;
	 * the line is cut to the width anyway */
	buf_release(&clean);
}

static void put_duration(struct buf *b, long long ms)
{
	if (ms < 0)
		ms = 0;
	if (ms < 60000)
		buf_printf(b, "%.1fs", (double)ms / 1000.0);
	else
		buf_printf(b, "%lldm%02llds", ms / 60000, (ms / 1000) % 60);
}

/* The first line of s, for an end line. */
static size_t first_line_len(const char *s, size_t len)
{
	const char *nl = memchr(s, '\n', len);
	return nl ? (size_t)(nl - s) : len;
}

static void on_tool_end(struct term_render *r, const struct event *ev)
{
	bool color = r->o.style.color, utf8 = r->o.style.utf8;
	const char *status = ev->status ? ev->status : "ok";
	size_t text_len = ev->text ? ev->len : 0;
	struct buf line = BUF_INIT;

	end_block(r);
	carry_flush(&r->tool_carry, &r->tool_line);
	if (r->tool_line.len || r->tool_line_cut)
		tool_line_done(r);
	if (r->tool_hidden) {
		term_sgr(&r->ob, color, SGR_DIM);
		buf_printf(&r->ob, INDENT "%s %zu more line%s (/last shows all)",
			   term_glyph(utf8, "…", "..."), r->tool_hidden, r->tool_hidden == 1 ? "" : "s");
		term_sgr(&r->ob, color, SGR_RESET);
		buf_putc(&r->ob, '\n');
	}
	if (!r->last_any && text_len)
		last_add(r, ev->text, text_len);
	if (ev->diff && *ev->diff)
		term_diff_render(&r->ob, ev->diff, strlen(ev->diff), INDENT, r->o.diff_lines, color,
				 utf8);

	if (strcmp(status, "ok") == 0) {
		term_sgr(&r->ob, color, SGR_GREEN);
		buf_printf(&r->ob, "  %s ", term_glyph(utf8, "✓", "ok"));
		put_duration(&r->ob, ev->duration_ms);
		term_sgr(&r->ob, color, SGR_RESET);
	} else if (strcmp(status, "denied") == 0) {
		const char *why = r->denied_reason;
		size_t why_len = why ? strlen(why) : 0;
		if (!why_len && text_len) {
			why = ev->text;
			why_len = first_line_len(ev->text, text_len);
		}
		term_sgr(&r->ob, color, SGR_YELLOW);
		buf_puts(&line, "denied");
		if (why_len) {
			buf_puts(&line, ": ");
			one_line(&line, why, why_len);
		}
		buf_puts(&r->ob, "  ");
		term_cut(&r->ob, line.data, line.len, width_of(r) - 3, utf8);
		term_sgr(&r->ob, color, SGR_RESET);
	} else {
		term_sgr(&r->ob, color, SGR_RED);
		buf_printf(&line, "%s ", term_glyph(utf8, "✗", "x"));
		if (strcmp(status, "failed") == 0 && ev->exit_code >= 0)
			buf_printf(&line, "exit %d", ev->exit_code);
		else
			one_line(&line, status, strlen(status));
		buf_puts(&line, ", ");
		put_duration(&line, ev->duration_ms);
		/* a file tool's failure has no exit code: its message says why */
		if (ev->exit_code < 0 && text_len) {
			buf_puts(&line, ": ");
			one_line(&line, ev->text, first_line_len(ev->text, text_len));
		}
		buf_puts(&r->ob, "  ");
		term_cut(&r->ob, line.data, line.len, width_of(r) - 3, utf8);
		term_sgr(&r->ob, color, SGR_RESET);
	}
	buf_putc(&r->ob, '\n');
	buf_release(&line);
	r->in_tool = false;
	start_wait(r, "thinking");
}

static void on_approval(struct term_render *r, const struct event *ev)
{
	if (!ev->decision || strcmp(ev->decision, "denied") != 0)
		return;
	free(r->denied_reason);
	r->denied_reason = ev->reason ? xstrdup(ev->reason) : NULL;
	if (!r->in_tool || (ev->id && r->tool_id && strcmp(ev->id, r->tool_id) != 0)) {
		/* refused before it started: no end line will come */
		end_block(r);
		end_line(r);
		term_sgr(&r->ob, r->o.style.color, SGR_YELLOW);
		buf_puts(&r->ob, "  denied");
		if (ev->name) {
			buf_puts(&r->ob, " ");
			one_line(&r->ob, ev->name, strlen(ev->name));
		}
		if (ev->reason && *ev->reason) {
			buf_puts(&r->ob, ": ");
			one_line(&r->ob, ev->reason, strlen(ev->reason));
		}
		term_sgr(&r->ob, r->o.style.color, SGR_RESET);
		buf_putc(&r->ob, '\n');
	}
}

static void put_tokens(struct buf *b, int64_t n)
{
	if (n >= 0)
		buf_printf(b, "%lld", (long long)n);
	else
		buf_putc(b, '?');
}

static void on_turn_end(struct term_render *r, const struct event *ev)
{
	end_block(r);
	end_line(r);
	term_sgr(&r->ob, r->o.style.color, SGR_DIM);
	if (r->model)
		buf_printf(&r->ob, "%s: ", r->model);
	put_tokens(&r->ob, ev->prompt_tokens);
	buf_puts(&r->ob, " in, ");
	put_tokens(&r->ob, ev->completion_tokens);
	buf_puts(&r->ob, " out; session ");
	put_tokens(&r->ob, ev->session_prompt_tokens);
	buf_puts(&r->ob, " in, ");
	put_tokens(&r->ob, ev->session_completion_tokens);
	buf_puts(&r->ob, " out; ");
	if (ev->cost >= 0)
		buf_printf(&r->ob, "$%.4f", ev->cost);
	else
		buf_puts(&r->ob, "cost unknown");
	if (ev->session_cost >= 0)
		buf_printf(&r->ob, " (session $%.4f)", ev->session_cost);
	if (ev->duration_ms > 0) {
		buf_puts(&r->ob, "; ");
		put_duration(&r->ob, ev->duration_ms);
	}
	term_sgr(&r->ob, r->o.style.color, SGR_RESET);
	buf_putc(&r->ob, '\n');
	md_reset(&r->md);
	r->waiting = false;
}

/* A visible line of its own: notices, retries, errors. */
static void status_line(struct term_render *r, const char *sgr, const char *prefix,
			const char *text, size_t len)
{
	end_block(r);
	end_line(r);
	term_sgr(&r->ob, r->o.style.color, sgr);
	buf_puts(&r->ob, prefix);
	utf8_sanitize(&r->ob, text, len);
	term_sgr(&r->ob, r->o.style.color, SGR_RESET);
	end_line(r);
}

static void render_emit(void *ctx, const struct event *ev)
{
	struct term_render *r = ctx;

	r->suspended = false;
	switch (ev->type) {
	case EV_START:
		free(r->model);
		r->model = ev->model ? utf8_text_dup(ev->model, strlen(ev->model)) : NULL;
		start_wait(r, "thinking");
		break;
	case EV_TEXT:
		on_text(r, ev);
		break;
	case EV_REASONING:
		on_reasoning(r, ev);
		break;
	case EV_TOOL_CALL:
	case EV_USAGE:
		break;
	case EV_FINISH:
		if (ev->reason && strcmp(ev->reason, "length") == 0)
			status_line(r, SGR_YELLOW, "forja: ", "the answer hit the output token limit",
				    strlen("the answer hit the output token limit"));
		else if (ev->reason && strcmp(ev->reason, "content_filter") == 0)
			status_line(r, SGR_YELLOW, "forja: ", "the provider's content filter stopped the answer",
				    strlen("the provider's content filter stopped the answer"));
		break;
	case EV_RETRY: {
		struct buf msg = BUF_INIT;
		buf_printf(&msg, "%s, retrying in %.1fs (%d/%d)", ev->reason ? ev->reason : "failed",
			   (double)ev->delay_ms / 1000.0, ev->attempt, ev->max_attempts);
		status_line(r, SGR_YELLOW, "forja: ", msg.data, msg.len);
		buf_release(&msg);
		break;
	}
	case EV_CUT:
		if (r->block == BLOCK_TEXT) {
			const char *cut = "[cut: the connection failed; the answer starts again below]";
			status_line(r, SGR_YELLOW, "", cut, strlen(cut));
			md_reset(&r->md);
		}
		break;
	case EV_ERROR:
		if (ev->error)
			status_line(r, SGR_BOLD_RED, "error: ", ev->error->msg, strlen(ev->error->msg));
		r->waiting = false;
		break;
	case EV_DONE:
	case EV_SUMMARY:
		end_block(r);
		end_line(r);
		r->waiting = false;
		break;
	case EV_TOOL_START:
		on_tool_start(r, ev);
		break;
	case EV_APPROVAL:
		on_approval(r, ev);
		break;
	case EV_TOOL_OUTPUT:
		on_tool_output(r, ev);
		break;
	case EV_TOOL_END:
		on_tool_end(r, ev);
		break;
	case EV_NOTICE:
		if (ev->text && ev->len)
			status_line(r, SGR_YELLOW, "forja: ", ev->text, ev->len);
		break;
	case EV_TURN_END:
		on_turn_end(r, ev);
		break;
	}
	flush_ob(r);
}

struct event_sink term_render_sink(struct term_render *r)
{
	return (struct event_sink){ render_emit, r };
}

void term_render_tick(struct term_render *r, long long now_ms)
{
	static const char *const braille[] = { "⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏" };
	static const char *const ascii[] = { "-", "\\", "|", "/" };
	long long elapsed = now_ms - r->wait_since;
	struct buf text = BUF_INIT, shown = BUF_INIT;
	int cols = width_of(r) - 1;

	if (!r->o.style.is_tty || !r->waiting || r->suspended || !r->at_bol || r->md.hold.len)
		return;
	if (elapsed < 0)
		elapsed = 0;
	if (r->o.style.utf8)
		buf_printf(&text, "%s ", braille[(elapsed / 100) % 10]);
	else
		buf_printf(&text, "%s ", ascii[(elapsed / 100) % 4]);
	buf_printf(&text, "%s %.1fs", r->wait_label ? r->wait_label : "working",
		   (double)(elapsed / 100) / 10.0);
	term_cut(&shown, text.data, text.len, cols, r->o.style.utf8);
	if (r->spinner_shown && r->spinner_text.len == shown.len &&
	    memcmp(r->spinner_text.data, shown.data, shown.len) == 0)
		goto out;
	spinner_erase(r);
	if (r->o.style.color)
		fprintf(r->out, SGR_DIM "%s" SGR_RESET, shown.data);
	else
		fputs(shown.data, r->out);
	fflush(r->out);
	r->spinner_shown = true;
	r->spinner_cols = term_text_width(shown.data, shown.len);
	buf_reset(&r->spinner_text);
	buf_add(&r->spinner_text, shown.data, shown.len);
out:
	buf_release(&text);
	buf_release(&shown);
}

void term_render_break(struct term_render *r)
{
	end_block(r);
	end_line(r);
	flush_ob(r);
	spinner_erase(r);
	fflush(r->out);
	r->suspended = true;
}

void term_render_last(struct term_render *r, FILE *out)
{
	struct buf b = BUF_INIT;

	if (!r->last_any) {
		fputs(r->had_tool ? "(the last tool call printed nothing)\n"
				  : "(no tool call yet)\n", out);
		fflush(out);
		return;
	}
	utf8_sanitize(&b, buf_cstr(&r->last), r->last.len);
	if (b.len && b.data[b.len - 1] != '\n')
		buf_putc(&b, '\n');
	if (r->last_truncated)
		buf_printf(&b, "[output longer than %zu bytes: the rest was not kept]\n",
			   r->o.last_max);
	fwrite(b.data ? b.data : "", 1, b.len, out);
	fflush(out);
	buf_release(&b);
}

/*
 * chat.c — the interactive session: `forja` in a project.  A prompt with
 * line editing and history (term_editor), the agent's events rendered so
 * that output only appends (term_render), approvals asked on the terminal,
 * slash commands, and /undo built on the audit trail (file tools) and a
 * snapshot of the workspace in a shadow repository (commands).
 *
 * Not on a terminal, each line of stdin is a prompt and the rendering is
 * plain; with --json every event is a JSON line on stdout.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "agentrun.h"
#include "forja/cmd.h"
#include "forja/pathpol.h"
#include "forja/shadow.h"
#include "forja/term.h"
#include "forja/utf8.h"
#include "forja/version.h"

#define MAX_UNDO 100

struct turn_rec {
	long long first_audit;     /* the turn's first audit row, 0: none */
	char snap[41];             /* the workspace before the turn's first change, "" none */
	bool changed;
};

struct chat {
	struct app *app;
	struct agentrun r;
	struct term_editor *ed;
	struct term_render *rend;
	struct term_render_options ropt;
	struct jsonl_sink js;
	struct event_bus bus;
	FILE *out;
	bool json, tty;
	struct shadow *shadow;
	bool shadow_failed;
	char session_snap[41];     /* the workspace before the session's first change */
	struct turn_rec turns[MAX_UNDO];
	size_t nturns;
	struct turn_rec *cur;
	uv_signal_t winch;
	bool winch_on;
};

static void say(struct chat *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(struct chat *c, const char *fmt, ...)
{
	va_list ap;
	struct buf b = BUF_INIT;

	va_start(ap, fmt);
	buf_vprintf(&b, fmt, ap);
	va_end(ap);
	if (c->json) {
		struct event ev = { .type = EV_NOTICE, .text = b.data, .len = b.len };
		events_emit(&c->bus, &ev);
	} else {
		if (c->rend)
			term_render_break(c->rend);
		fwrite(b.data, 1, b.len, c->out);
		if (!b.len || b.data[b.len - 1] != '\n')
			fputc('\n', c->out);
		fflush(c->out);
	}
	buf_release(&b);
}

static const char *dim(const struct chat *c)
{
	return c->ropt.style.color ? "\033[2m" : "";
}

static const char *reset(const struct chat *c)
{
	return c->ropt.style.color ? "\033[0m" : "";
}

/* ---- approvals, spinner, snapshots ------------------------------------------ */

static enum agent_answer ask(void *ctx, const struct exec_call *call, char **reason)
{
	struct chat *c = ctx;

	if (c->rend)
		term_render_break(c->rend);
	return agentrun_ask_terminal(call, stdin, c->out, &c->ropt.style, reason);
}

static void tick(void *ctx)
{
	struct chat *c = ctx;

	if (c->rend)
		term_render_tick(c->rend, term_now_ms());
}

static bool open_shadow(struct chat *c)
{
	struct ferr e = FERR_INIT;

	if (c->shadow)
		return true;
	if (c->shadow_failed)
		return false;
	if (shadow_open(c->r.root, &c->shadow, &e) != 0) {
		c->shadow_failed = true;
		say(c, "forja: warning: no snapshots of the workspace (%s): /undo can only revert the "
		       "file tools' writes", e.msg);
		return false;
	}
	return true;
}

static void before_change(void *ctx)
{
	struct chat *c = ctx;
	struct ferr e = FERR_INIT;
	char label[64], oid[41];

	if (!c->cur)
		return;
	c->cur->changed = true;
	if (!open_shadow(c))
		return;
	snprintf(label, sizeof label, "before turn %zu", c->nturns);
	if (shadow_snapshot(c->shadow, label, oid, &e) != 0) {
		say(c, "forja: warning: the workspace snapshot failed (%s): /undo can only revert the "
		       "file tools' writes of this turn", e.msg);
		return;
	}
	memcpy(c->cur->snap, oid, sizeof oid);
	if (!c->session_snap[0])
		memcpy(c->session_snap, oid, sizeof oid);
}

/* ---- slash commands ------------------------------------------------------------ */

static const struct slash {
	const char *name, *args, *help;
} slashes[] = {
	{ "help", "", "this list" },
	{ "model", "[PROVIDER] [MODEL]", "show the model, or switch to another" },
	{ "approvals", "[ask|auto]", "show or set whether calls that need approval wait for you" },
	{ "sandbox", "[MODE]", "show or set the sandbox: read-only, workspace-write, danger-full-access" },
	{ "sessions", "", "this project's sessions" },
	{ "resume", "ID", "continue another session" },
	{ "clear", "", "start a new session (this one stays in forja sessions)" },
	{ "compact", "", "summarise the conversation so far to free the context" },
	{ "diff", "", "what this session changed in the workspace" },
	{ "undo", "", "revert the last turn's changes" },
	{ "last", "", "the whole output of the last tool call" },
	{ "status", "", "model, sandbox, approvals, session, tokens and cost" },
	{ "cost", "", "tokens and estimated cost of this session" },
	{ "exit", "", "leave (Ctrl-D does the same)" },
};

static void cost_line(struct chat *c, struct buf *b)
{
	struct agent_usage u;

	agent_usage(c->r.agent, &u);
	buf_printf(b, "%lld tokens in, %lld out", u.prompt_tokens, u.completion_tokens);
	if (u.cached_tokens)
		buf_printf(b, " (%lld cached)", u.cached_tokens);
	if (u.cost >= 0)
		buf_printf(b, ", about $%.4f", u.cost);
	else
		buf_puts(b, ", cost unknown (set models.\"NAME\" prices in the config)");
	buf_printf(b, "; %lld requests", u.requests);
}

static void do_status(struct chat *c)
{
	struct buf b = BUF_INIT;

	buf_printf(&b, "model      %s (%s, %s)\n", c->r.pc.model ? c->r.pc.model : "?", c->r.pc.name,
		   c->r.pc.base_url);
	buf_printf(&b, "sandbox    %s\n", c->app->sandbox_name);
	buf_printf(&b, "approvals  %s\n", c->r.approvals_auto ? "auto" : "ask");
	buf_printf(&b, "session    %s\n", c->r.st ? c->r.session : "(not recorded)");
	buf_printf(&b, "project    %s\n", c->r.root);
	buf_printf(&b, "messages   %zu in the context\n", agent_history_len(c->r.agent));
	buf_puts(&b, "usage      ");
	cost_line(c, &b);
	say(c, "%s", b.data);
	buf_release(&b);
}

static void do_sessions(struct chat *c)
{
	struct store_session_info *v = NULL;
	size_t n = 0;
	struct ferr e = FERR_INIT;
	struct buf b = BUF_INIT;

	if (!c->r.st) {
		say(c, "forja: sessions are not recorded (the state database could not be opened)");
		return;
	}
	if (store_session_list(c->r.st, c->r.root, NULL, 20, &v, &n, &e) != 0) {
		say(c, "forja: %s", e.msg);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		char when[32];
		time_t t = (time_t)v[i].updated_at;
		struct tm tm;
		localtime_r(&t, &tm);
		strftime(when, sizeof when, "%Y-%m-%d %H:%M", &tm);
		struct buf title = BUF_INIT;
		term_cut(&title, v[i].title ? v[i].title : "", v[i].title ? strlen(v[i].title) : 0, 50,
			 c->ropt.style.utf8);
		buf_printf(&b, "%s%.8s  %s  %4lld msgs  %s%s\n",
			   strcmp(v[i].id, c->r.session) == 0 ? "* " : "  ", v[i].id, when, v[i].nmessages,
			   buf_cstr(&title), "");
		buf_release(&title);
	}
	if (!n)
		buf_puts(&b, "no sessions in this project yet\n");
	buf_puts(&b, "/resume ID continues one (a unique prefix is enough)");
	say(c, "%s", b.data);
	buf_release(&b);
	store_session_infos_free(v, n);
}

/* Write back what the file tools changed since audit row `since`, newest
 * first: each file as it was, or removed when it did not exist. */
static int revert_audit(struct chat *c, long long since, struct buf *report, struct ferr *e)
{
	struct store_audit_row *rows = NULL;
	size_t n = 0;

	if (!c->r.st || since <= 0)
		return 0;
	/* rows above since - 1, newest first; each row's changes undone last first */
	if (store_audit_list(c->r.st, c->r.session, since - 1, &rows, &n, e) != 0)
		return -1;
	for (size_t k = 0; k < n; k++) {
		for (size_t j = rows[k].nchanges; j-- > 0;) {
			const struct store_change *ch = &rows[k].changes[j];
			struct ferr we = FERR_INIT;
			if (ch->existed) {
				if (pathpol_write_atomic(&c->r.x.ws, ch->path, strlen(ch->path), ch->before,
							 ch->before_len, true, NULL, 0, NULL, &we) != 0) {
					buf_printf(report, "could not restore %s: %s\n", ch->path, we.msg);
					continue;
				}
				if (ch->mode && fchmodat(c->r.x.ws.root_fd, ch->path, ch->mode & 07777, 0) != 0)
					buf_printf(report, "restored %s, but not its mode %o: %s\n", ch->path,
						   ch->mode & 07777, strerror(errno));
				else
					buf_printf(report, "restored %s\n", ch->path);
			} else if (pathpol_check_write(&c->r.x.ws, ch->path, NULL, 0, &we) == 0 &&
				   unlinkat(c->r.x.ws.root_fd, ch->path, 0) == 0) {
				buf_printf(report, "removed %s\n", ch->path);
			} else if (errno != ENOENT) {
				buf_printf(report, "could not remove %s: %s\n", ch->path,
					   we.msg[0] ? we.msg : strerror(errno));
			}
		}
	}
	store_audit_rows_free(rows, n);
	return 0;
}

static void do_undo(struct chat *c)
{
	struct buf report = BUF_INIT;
	struct ferr e = FERR_INIT;

	if (agent_busy(c->r.agent))
		return;
	while (c->nturns > 0 && !c->turns[c->nturns - 1].changed)
		c->nturns--;
	if (!c->nturns) {
		say(c, "nothing to undo: no turn of this session changed the workspace");
		return;
	}
	struct turn_rec *t = &c->turns[--c->nturns];
	if (revert_audit(c, t->first_audit, &report, &e) != 0)
		buf_printf(&report, "the audit could not be read: %s\n", e.msg);
	if (t->snap[0] && c->shadow) {
		ferr_clear(&e);
		if (shadow_restore(c->shadow, t->snap, &report, &e) != 0)
			buf_printf(&report, "the snapshot could not be restored: %s\n", e.msg);
	} else if (!t->snap[0]) {
		buf_puts(&report, "(no snapshot of this turn: what commands changed stays)\n");
	}
	/* the model should know the files are back */
	say(c, "undid turn %zu:\n%s", c->nturns + 1, report.len ? report.data : "nothing to restore\n");
	buf_release(&report);
}

static void do_diff(struct chat *c)
{
	struct buf d = BUF_INIT, shown = BUF_INIT;
	struct ferr e = FERR_INIT;

	if (!c->session_snap[0] || !c->shadow) {
		say(c, "this session has not changed the workspace");
		return;
	}
	if (shadow_diff(c->shadow, c->session_snap, &d, 3, &e) != 0) {
		say(c, "forja: %s", e.msg);
		return;
	}
	if (!d.len) {
		say(c, "no changes since this session began (or they were undone)");
	} else {
		term_diff_render(&shown, d.data, d.len, "", 0, c->ropt.style.color, c->ropt.style.utf8);
		say(c, "%s", shown.data);
	}
	buf_release(&d);
	buf_release(&shown);
}

static void show_result(struct chat *c, const struct agent_outcome *o)
{
	switch (o->end) {
	case AGENT_END_DONE:
	case AGENT_END_DENIED:
		break;
	case AGENT_END_CANCELLED:
		say(c, "%sinterrupted%s", dim(c), reset(c));
		break;
	case AGENT_END_LIMIT:
		break;                  /* the notice said it */
	case AGENT_END_ERROR: {
		struct event ev = { .type = EV_ERROR, .error = &o->err };
		events_emit(&c->bus, &ev);
		break;
	}
	}
}

/* Returns true to leave. */
static bool slash(struct chat *c, const char *line)
{
	char cmd[32] = "", a1[256] = "", a2[256] = "";
	struct ferr e = FERR_INIT;
	struct agent_outcome o;

	sscanf(line + 1, "%31s %255s %255s", cmd, a1, a2);
	if (!strcmp(cmd, "exit") || !strcmp(cmd, "quit"))
		return true;
	if (!strcmp(cmd, "help")) {
		struct buf b = BUF_INIT;
		for (size_t i = 0; i < sizeof slashes / sizeof *slashes; i++) {
			char left[40];
			snprintf(left, sizeof left, "/%s %s", slashes[i].name, slashes[i].args);
			buf_printf(&b, "  %-26s %s\n", left, slashes[i].help);
		}
		buf_puts(&b, "A line ending in \\ goes on on the next line; a paste is one message.\n"
			     "Ctrl-C stops the model or a command; Ctrl-D on an empty line leaves.");
		say(c, "%s", b.data);
		buf_release(&b);
	} else if (!strcmp(cmd, "model")) {
		if (!a1[0]) {
			say(c, "model %s (%s)", c->r.pc.model ? c->r.pc.model : "?", c->r.pc.name);
		} else if (agentrun_set_model(&c->r, a2[0] ? a1 : NULL, a2[0] ? a2 : a1, &e) != 0) {
			say(c, "forja: %s", e.msg);
		} else {
			say(c, "model %s (%s)", c->r.pc.model, c->r.pc.name);
		}
	} else if (!strcmp(cmd, "approvals")) {
		if (!strcmp(a1, "ask") || !strcmp(a1, "auto"))
			agentrun_set_approvals(&c->r, !strcmp(a1, "auto"));
		else if (a1[0])
			say(c, "forja: /approvals: expected ask or auto, got '%s'", a1);
		say(c, "approvals %s", c->r.approvals_auto ? "auto: calls run without asking"
							   : "ask: writes and commands wait for your yes");
	} else if (!strcmp(cmd, "sandbox")) {
		static const char *const modes[] = { "workspace-write", "read-only", "danger-full-access" };
		int m = -1;
		for (int i = 0; i < 3; i++)
			if (!strcmp(a1, modes[i]))
				m = i;
		if (a1[0] && m < 0) {
			const char *hint = opt_suggest(a1, modes, 3);
			say(c, "forja: /sandbox: expected read-only, workspace-write or danger-full-access, got '%s'%s%s%s",
			    a1, hint ? "; did you mean '" : "", hint ? hint : "", hint ? "'?" : "");
		} else if (m >= 0) {
			agentrun_set_sandbox(&c->r, (enum sandbox_mode)m);
			if (m == SANDBOX_DANGER_FULL_ACCESS)
				say(c, "%sWARNING: danger-full-access: commands run even where the sandbox "
				       "cannot enforce every layer%s", c->ropt.style.color ? "\033[1;31m" : "",
				    reset(c));
		}
		say(c, "sandbox %s", c->app->sandbox_name);
	} else if (!strcmp(cmd, "sessions")) {
		do_sessions(c);
	} else if (!strcmp(cmd, "resume")) {
		if (!a1[0])
			say(c, "forja: /resume ID (see /sessions)");
		else if (agentrun_switch_session(&c->r, a1, &e) != 0)
			say(c, "forja: %s", e.msg);
		else {
			c->nturns = 0;
			c->session_snap[0] = '\0';
			say(c, "continuing session %.8s (%zu messages)", c->r.session,
			    agent_history_len(c->r.agent));
		}
	} else if (!strcmp(cmd, "clear")) {
		if (agentrun_new_session(&c->r, &e) != 0)
			say(c, "forja: %s", e.msg);
		else {
			c->nturns = 0;
			c->session_snap[0] = '\0';
			say(c, "new session %.8s: the model starts from nothing", c->r.session);
		}
	} else if (!strcmp(cmd, "compact")) {
		if (agentrun_compact(&c->r, &o, &e) != 0)
			say(c, "forja: %s", e.msg);
		else
			show_result(c, &o);
	} else if (!strcmp(cmd, "diff")) {
		do_diff(c);
	} else if (!strcmp(cmd, "undo")) {
		do_undo(c);
	} else if (!strcmp(cmd, "last")) {
		if (c->rend) {
			term_render_break(c->rend);
			term_render_last(c->rend, c->out);
			fflush(c->out);
		}
	} else if (!strcmp(cmd, "status")) {
		do_status(c);
	} else if (!strcmp(cmd, "cost")) {
		struct buf b = BUF_INIT;
		cost_line(c, &b);
		say(c, "%s", b.data);
		buf_release(&b);
	} else {
		const char *names[sizeof slashes / sizeof *slashes];
		for (size_t i = 0; i < sizeof slashes / sizeof *slashes; i++)
			names[i] = slashes[i].name;
		const char *hint = opt_suggest(cmd, names, sizeof slashes / sizeof *slashes);
		say(c, "forja: /%s is not a command%s%s%s; /help lists them", cmd,
		    hint ? "; did you mean /" : "", hint ? hint : "", hint ? "?" : "");
	}
	return false;
}

/* ---- the session ------------------------------------------------------------------- */

static void on_winch(uv_signal_t *h, int signum)
{
	struct chat *c = h->data;

	(void)signum;
	if (c->rend)
		term_render_resize(c->rend, term_width(fileno(c->out)));
}

static char *history_path(void)
{
	const char *xdg = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
	struct buf b = BUF_INIT;

	if (xdg && *xdg == '/')
		buf_printf(&b, "%s/forja/history", xdg);
	else if (home && *home == '/')
		buf_printf(&b, "%s/.local/state/forja/history", home);
	else
		return NULL;
	return buf_steal(&b);
}

static int chat_run(struct app *app, const char *session, bool latest)
{
	struct chat *c = xcalloc(1, sizeof *c);
	struct agentrun_opts ro;
	struct ferr e = FERR_INIT;
	struct buf text = BUF_INIT;
	int rc = EXIT_OK, interrupts = 0;
	char *hist = NULL;

	c->app = app;
	c->out = stdout;
	c->json = app->json;
	c->tty = isatty(STDIN_FILENO) && isatty(STDOUT_FILENO);
	events_init(&c->bus);
	term_render_options_default(&c->ropt, stdout);
	if (!app->color)
		c->ropt.style.color = false;
	if (c->json) {
		events_add_sink(&c->bus, jsonl_sink(&c->js, stdout));
	} else {
		c->rend = term_render_new(stdout, &c->ropt);
		events_add_sink(&c->bus, term_render_sink(c->rend));
	}
	memset(&ro, 0, sizeof ro);
	ro.kind = "chat";
	ro.session = session;
	ro.resume_latest = latest;
	ro.interactive = true;
	ro.context = true;
	ro.bus = &c->bus;
	ro.ask = ask;
	ro.ask_ctx = c;
	ro.can_ask = isatty(STDIN_FILENO);
	ro.before_change = before_change;
	ro.change_ctx = c;
	if (agentrun_open(&c->r, app, &ro, &e) != 0) {
		app_print_error(app, &e);
		rc = ferr_exit_code(e.cls);
		goto out;
	}
	c->r.on_tick = tick;
	c->r.tick_ctx = c;
	hist = history_path();
	c->ed = term_editor_open(hist, stdin, stdout, &e);
	if (!c->ed) {
		app_print_error(app, &e);
		rc = ferr_exit_code(e.cls);
		goto out;
	}
	if (c->tty) {
		uv_signal_init(&c->r.loop, &c->winch);
		c->winch.data = c;
		uv_signal_start(&c->winch, on_winch, SIGWINCH);
		uv_unref((uv_handle_t *)&c->winch);
		c->winch_on = true;
	}
	if (!c->json && app->verbosity >= 0) {
		say(c, "%sforja %s · %s (%s) · sandbox %s · approvals %s%s", dim(c), FORJA_VERSION,
		    c->r.pc.model ? c->r.pc.model : "?", c->r.pc.name, app->sandbox_name,
		    c->r.approvals_auto ? "auto" : "ask", reset(c));
		if (c->r.resumed)
			say(c, "%scontinuing session %.8s (%zu messages in the context)%s", dim(c),
			    c->r.session, agent_history_len(c->r.agent), reset(c));
		if (c->tty)
			say(c, "%s/help for commands, Ctrl-D to leave%s", dim(c), reset(c));
	}
	for (;;) {
		int n = term_editor_read(c->ed, c->json ? "" : "> ", &text);
		if (n == 0)
			break;
		if (n == 2) {
			/* Ctrl-C at the prompt: twice in a row leaves */
			if (++interrupts >= 2)
				break;
			say(c, "%s(Ctrl-C again or Ctrl-D to leave)%s", dim(c), reset(c));
			continue;
		}
		if (n < 0) {
			const struct ferr *ee = term_editor_error(c->ed);
			say(c, "forja: %s", ee ? ee->msg : "cannot read the input");
			if (!c->tty)
				break;
			continue;
		}
		interrupts = 0;
		/* trim; an empty message is nothing */
		size_t s = 0, l = text.len;
		while (s < l && (text.data[s] == ' ' || text.data[s] == '\t' || text.data[s] == '\n'))
			s++;
		while (l > s && (text.data[l - 1] == ' ' || text.data[l - 1] == '\t' ||
				 text.data[l - 1] == '\n' || text.data[l - 1] == '\r'))
			l--;
		if (s == l)
			continue;
		struct buf msg = BUF_INIT;
		buf_add(&msg, text.data + s, l - s);
		if (msg.data[0] == '/' && !strchr(msg.data, '\n') && msg.len > 1 && msg.data[1] != '/') {
			bool leave = slash(c, msg.data);
			buf_release(&msg);
			if (leave)
				break;
			continue;
		}
		if (!utf8_is_valid(msg.data, msg.len)) {
			struct buf clean = BUF_INIT;
			utf8_sanitize(&clean, msg.data, msg.len);
			buf_release(&msg);
			msg = clean;
		}
		/* a turn: remember where it starts, for /undo */
		if (c->nturns == MAX_UNDO) {
			memmove(c->turns, c->turns + 1, (MAX_UNDO - 1) * sizeof *c->turns);
			c->nturns--;
		}
		c->cur = &c->turns[c->nturns++];
		memset(c->cur, 0, sizeof *c->cur);
		struct agent_outcome o;
		if (agentrun_turn(&c->r, msg.data, &o, &e) != 0) {
			say(c, "forja: %s", e.msg);
			ferr_clear(&e);
		} else {
			c->cur->first_audit = agent_last_turn_audit(c->r.agent);
			show_result(c, &o);
		}
		c->cur = NULL;
		buf_release(&msg);
	}
	if (!c->json && c->tty && app->verbosity >= 0 && c->r.st)
		say(c, "%ssession %.8s saved: forja --continue, or forja sessions resume %.8s%s", dim(c),
		    c->r.session, c->r.session, reset(c));
out:
	if (c->winch_on)
		uv_close((uv_handle_t *)&c->winch, NULL);
	if (c->ed)
		term_editor_free(c->ed);
	agentrun_close(&c->r);
	if (c->shadow)
		shadow_close(c->shadow);
	if (c->rend)
		term_render_free(c->rend);
	buf_release(&text);
	free(hist);
	free(c);
	return rc;
}

int cmd_chat(struct app *app, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return chat_run(app, NULL, app->resume_latest);
}

int cmd_chat_resume(struct app *app, const char *id)
{
	return chat_run(app, id, false);
}

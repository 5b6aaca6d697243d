/*
 * seatbelt: unit tests of the macOS jail's profile generator (TAP), run on
 * any system: the rules present and their order, the profile balanced as
 * s-expressions (a small tokenizer below), escaping of hostile paths, and
 * the paths refused.
 */
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "forja/buf.h"
#include "forja/ferr.h"
#include "forja/jail.h"
#include "forja/seatbelt.h"
#include "tap.h"

/* ---- a tokenizer for SBPL ----------------------------------------------------- */

#define MAX_TOPS 256

/* The top-level forms of a profile, each as its own string. */
struct tops {
	char *form[MAX_TOPS];
	int n;
};

static void tops_release(struct tops *t)
{
	int i;

	for (i = 0; i < t->n; i++)
		free(t->form[i]);
	t->n = 0;
}

/* Split text into top-level forms; 0, or -1 with why filled when it is not
 * a sequence of balanced s-expressions (an unmatched parenthesis, an
 * unterminated string, an atom outside any list). */
static int sexp_split(const char *text, struct tops *t, char *why, size_t whylen)
{
	const char *p = text, *start = NULL;
	int depth = 0;

	t->n = 0;
	while (*p) {
		if (*p == ' ' || *p == '\n' || *p == '\t') {
			p++;
		} else if (*p == ';') {
			p += strcspn(p, "\n");
		} else if (*p == '(') {
			if (depth++ == 0)
				start = p;
			p++;
		} else if (*p == ')') {
			if (--depth < 0) {
				snprintf(why, whylen, "unmatched ) at offset %td", p - text);
				return -1;
			}
			p++;
			if (depth == 0 && t->n < MAX_TOPS) {
				t->form[t->n] = xstrndup(start, (size_t)(p - start));
				t->n++;
			}
		} else if (*p == '"') {
			const char *q = p + 1;

			while (*q && *q != '"')
				q += (*q == '\\' && q[1]) ? 2 : 1;
			if (!*q) {
				snprintf(why, whylen, "unterminated string at offset %td", p - text);
				return -1;
			}
			if (depth == 0) {
				snprintf(why, whylen, "a string outside a list at offset %td", p - text);
				return -1;
			}
			p = q + 1;
		} else {
			if (depth == 0) {
				snprintf(why, whylen, "an atom outside a list at offset %td", p - text);
				return -1;
			}
			p += strcspn(p, " \n\t()\";");
		}
	}
	if (depth != 0) {
		snprintf(why, whylen, "%d list(s) left open", depth);
		return -1;
	}
	return 0;
}

static int find_top(const struct tops *t, const char *prefix)
{
	int i;

	for (i = 0; i < t->n; i++)
		if (strncmp(t->form[i], prefix, strlen(prefix)) == 0)
			return i;
	return -1;
}

static int count_of(const char *hay, const char *needle)
{
	int n = 0;

	while ((hay = strstr(hay, needle)) != NULL) {
		n++;
		hay += strlen(needle);
	}
	return n;
}

/* Generate the profile of s into out, and check it is balanced. */
static bool profile(const struct jail_spec *s, struct buf *out, struct tops *t, const char *name)
{
	struct ferr e = FERR_INIT;
	char why[128], label[256];

	buf_reset(out);
	tops_release(t);
	if (seatbelt_profile(s, out, &e) != 0) {
		snprintf(label, sizeof label, "%s: generated", name);
		tap_ok(0, label);
		printf("#   %s\n", e.msg);
		return false;
	}
	snprintf(label, sizeof label, "%s: balanced s-expressions, nothing outside a list", name);
	if (!tap_ok(sexp_split(buf_cstr(out), t, why, sizeof why) == 0, label)) {
		printf("#   %s\n%s", why, buf_cstr(out));
		return false;
	}
	return true;
}

static void spec_init(struct jail_spec *s, const char *ws)
{
	memset(s, 0, sizeof *s);
	s->workspace = ws;
	s->cancel_fd = -1;
}

/* ---- tests -------------------------------------------------------------------------- */

static void test_rules(void)
{
	static const char *const ro[] = { "/opt/tools", NULL };
	static const char *const rw[] = { "/Users/me/.cache/forja-x", NULL };
	static const char *const hide[] = { "/Users/me/.config/forja", NULL };
	static const char *const prot[] = { "sub/.git", NULL };
	struct jail_spec s;
	struct buf out = BUF_INIT;
	struct tops t = { { 0 }, 0 };
	int i, last_allow = -1, first_deny = -1, rd, wr, dgit, dprot, dhide;

	spec_init(&s, "/Users/me/proj");
	s.ro_paths = ro;
	s.rw_paths = rw;
	s.hide_paths = hide;
	s.protect_paths = prot;
	if (!profile(&s, &out, &t, "rules"))
		return;
	tap_ok(t.n >= 2 && strcmp(t.form[0], "(version 1)") == 0 &&
		       strcmp(t.form[1], "(deny default)") == 0,
	       "rules: (version 1) then (deny default) first");
	tap_ok(!strstr(out.data, "(import"), "rules: nothing imported");
	tap_ok(!strstr(out.data, "(allow default"), "rules: never (allow default)");
	tap_ok(find_top(&t, "(allow process-fork)") > 1 && find_top(&t, "(allow process-exec)") > 1,
	       "rules: fork and exec allowed");
	tap_ok(find_top(&t, "(allow signal (target same-sandbox))") > 1,
	       "rules: signals to the sandbox's own processes only");
	tap_is_int(count_of(out.data, "process-info"), 1, "rules: process-info named once");
	tap_ok(find_top(&t, "(allow process-info* (target same-sandbox))") > 1,
	       "rules: process-info on the sandbox's own processes only");
	tap_ok(find_top(&t, "(allow sysctl-read)") > 1, "rules: sysctl-read");
	tap_ok(!strstr(out.data, "sysctl-write"), "rules: no sysctl-write");
	tap_ok(!strstr(out.data, "network"), "rules: network off: no network rule at all");
	tap_ok(!strstr(out.data, "mach-priv") && !strstr(out.data, "(target others)"),
	       "rules: no task ports, nothing aimed at other processes");
	i = find_top(&t, "(allow mach-lookup");
	if (tap_ok(i > 1, "rules: a mach-lookup rule")) {
		int k, n = 0;

		for (k = 0; SEATBELT_MACH_BASE[k]; k++)
			n += strstr(t.form[i], SEATBELT_MACH_BASE[k]) != NULL;
		tap_is_int(n, k, "rules: mach-lookup holds the base list");
		tap_is_int(count_of(out.data, "global-name"), k,
			   "rules: and nothing else (not the network's names)");
	}

	rd = find_top(&t, "(allow file-read*\n");
	wr = find_top(&t, "(allow file-write*\n");
	dgit = find_top(&t, "(deny file-write*\n  (regex");
	dprot = find_top(&t, "(deny file-write*\n  (subpath");
	dhide = find_top(&t, "(deny file-read* file-write*\n");
	if (tap_ok(rd > 0 && wr > 0 && dgit > 0 && dprot > 0 && dhide > 0,
		   "rules: the read, write, .git, protect and hide rules are there")) {
		tap_contains(t.form[rd], "(subpath \"/usr\")", "rules: /usr readable");
		tap_contains(t.form[rd], "(subpath \"/private/etc\")", "rules: /private/etc readable");
		tap_contains(t.form[rd], "(subpath \"/opt/tools\")", "rules: ro_paths readable");
		tap_contains(t.form[rd], "(subpath \"/Users/me/proj\")", "rules: the workspace readable");
		tap_contains(t.form[rd], "(subpath (param \"FORJA_TMPDIR\"))",
			     "rules: the private temp dir readable");
		tap_ok(!strstr(t.form[rd], "\"/Users/me\")") && !strstr(t.form[rd], "/.config/forja"),
		       "rules: not the home, nor forja's config");
		tap_is_str(t.form[wr],
			   "(allow file-write*\n  (subpath \"/Users/me/proj\")\n"
			   "  (subpath \"/Users/me/.cache/forja-x\")\n"
			   "  (subpath (param \"FORJA_TMPDIR\")))",
			   "rules: writes: the workspace, rw_paths and the temp dir, nothing else");
		tap_is_str(t.form[dgit],
			   "(deny file-write*\n"
			   "  (regex \"^/[uU][sS][eE][rR][sS]/[mM][eE]/[pP][rR][oO][jJ]/(.*/)?"
			   "\\\\.[gG][iI][tT](/.*)?$\")\n"
			   "  (regex \"^/[uU][sS][eE][rR][sS]/[mM][eE]/[pP][rR][oO][jJ]/(.*/)?"
			   "\\\\.[fF][oO][rR][jJ][aA](/.*)?$\"))",
			   "rules: .git and .forja at any depth, any case, denied for writing");
		tap_is_str(t.form[dprot], "(deny file-write*\n  (subpath \"/Users/me/proj/sub/.git\"))",
			   "rules: protect_paths (relative to the workspace) denied for writing");
		tap_is_str(t.form[dhide],
			   "(deny file-read* file-write*\n  (subpath \"/Users/me/.config/forja\"))",
			   "rules: hide_paths denied for reading and writing");
		tap_ok(wr < dgit && dgit < dprot && dprot < dhide && rd < dgit,
		       "rules: the denies come after the allows they narrow");
	}
	for (i = 2; i < t.n; i++) {
		if (strncmp(t.form[i], "(allow", 6) == 0)
			last_allow = i;
		if (strncmp(t.form[i], "(deny", 5) == 0 && first_deny < 0)
			first_deny = i;
	}
	tap_ok(first_deny > last_allow, "rules: every deny after every allow (last match wins)");
	i = find_top(&t, "(allow file-read* file-write* file-ioctl");
	tap_ok(i > 0 && strstr(t.form[i], "(literal \"/dev/null\")") &&
		       !strstr(t.form[i], "/dev/tty") && !strstr(t.form[i], "(subpath \"/dev\")"),
	       "rules: /dev/null and a few devices, not /dev");
	tops_release(&t);
	buf_release(&out);
}

static void test_network(void)
{
	struct jail_spec s;
	struct buf out = BUF_INIT;
	struct tops t = { { 0 }, 0 };
	int k;

	spec_init(&s, "/Users/me/proj");
	s.network = true;
	if (!profile(&s, &out, &t, "network"))
		return;
	tap_ok(find_top(&t, "(allow network-outbound (remote ip \"*:*\"))") > 0,
	       "network: outbound IP allowed");
	tap_is_int(count_of(out.data, "unix-socket"), 1, "network: one host unix socket");
	tap_contains(out.data, "(remote unix-socket (path-literal \"/private/var/run/mDNSResponder\"))",
		     "network: and it is the DNS resolver's");
	tap_ok(!strstr(out.data, "(allow network*") && !strstr(out.data, "(allow network-outbound)"),
	       "network: never every network operation");
	for (k = 0; SEATBELT_MACH_NETWORK[k]; k++)
		if (!strstr(out.data, SEATBELT_MACH_NETWORK[k]))
			break;
	tap_ok(SEATBELT_MACH_NETWORK[k] == NULL, "network: the network's mach services added");
	tap_ok(find_top(&t, "(deny file-write*\n  (regex") > find_top(&t, "(allow network-outbound"),
	       "network: the .git denies still come last");
	tops_release(&t);
	buf_release(&out);
}

static void test_forms(void)
{
	struct jail_spec s;
	struct buf out = BUF_INIT;
	struct tops t = { { 0 }, 0 };

	spec_init(&s, "/tmp/forja-seatbelt-test-no-such-dir//./ws/");
	if (!profile(&s, &out, &t, "forms"))
		return;
	tap_contains(out.data, "(subpath \"/tmp/forja-seatbelt-test-no-such-dir/ws\")",
		     "forms: repeated slashes, . and the trailing slash dropped");
	tap_contains(out.data, "(subpath \"/private/tmp/forja-seatbelt-test-no-such-dir/ws\")",
		     "forms: the /private form of a /tmp path too");
	tap_is_int(count_of(out.data, "(regex"), 4, "forms: .git and .forja denied under each form");
	tops_release(&t);
	buf_release(&out);
}

/* Hostile paths: escaped so they stay one string, or refused. */
static void test_hostile(void)
{
	static const char *const inject_ro[] = { "/x/\")) (allow file-write* (subpath \"/\")) (\"", NULL };
	struct jail_spec s;
	struct buf out = BUF_INIT;
	struct tops t = { { 0 }, 0 };
	int benign_n, i;
	bool injected = false;

	spec_init(&s, "/w/x");
	if (!profile(&s, &out, &t, "hostile: benign"))
		return;
	benign_n = t.n;

	spec_init(&s, "/w/\")(allow default)(");
	if (profile(&s, &out, &t, "hostile: quote and parentheses")) {
		for (i = 0; i < t.n; i++)
			injected |= strcmp(t.form[i], "(allow default)") == 0;
		tap_ok(!injected, "hostile: \")(allow default)( in a path adds no rule");
		tap_is_int(t.n, benign_n, "hostile: as many rules as with a plain path");
		tap_contains(out.data, "(subpath \"/w/\\\")(allow default)(\")",
			     "hostile: the quote escaped in the string");
		tap_contains(out.data, "(regex \"^/[wW]/\\\"\\\\)\\\\([aA][lL]",
			     "hostile: quote and parentheses escaped in the regex");
	}
	spec_init(&s, "/w/a\\b [c]{d}.e*f+g?h|i^j$k");
	if (profile(&s, &out, &t, "hostile: backslash and regex characters")) {
		tap_is_int(t.n, benign_n, "hostile: backslash: as many rules");
		tap_contains(out.data, "(subpath \"/w/a\\\\b [c]{d}.e*f+g?h|i^j$k\")",
			     "hostile: a backslash doubled in a string");
		tap_contains(out.data,
			     "\\\\\\\\[bB] \\\\[[cC]\\\\]\\\\{[dD]\\\\}\\\\.[eE]\\\\*[fF]\\\\+"
			     "[gG]\\\\?[hH]\\\\|[iI]\\\\^[jJ]\\\\$[kK]/(.*/)?",
			     "hostile: every regex character escaped, then escaped as a string");
	}
	spec_init(&s, "/w/x");
	s.ro_paths = inject_ro;
	if (profile(&s, &out, &t, "hostile: read-only path")) {
		injected = false;
		for (i = 0; i < t.n; i++)
			injected |= strstr(t.form[i], "(allow file-write* (subpath \"/\"))") == t.form[i];
		tap_ok(!injected && t.n == benign_n, "hostile: an ro path cannot add a write rule");
	}
	tops_release(&t);
	buf_release(&out);
}

static void refused(const char *name, const char *ws, const char *const *ro, const char *const *rw,
		    const char *const *hide, const char *const *prot, const char *want)
{
	struct jail_spec s;
	struct buf out = BUF_INIT;
	struct ferr e = FERR_INIT;
	int rc;

	spec_init(&s, ws);
	s.ro_paths = ro;
	s.rw_paths = rw;
	s.hide_paths = hide;
	s.protect_paths = prot;
	rc = seatbelt_profile(&s, &out, &e);
	if (tap_ok(rc == -1 && e.cls == FERR_USAGE, name))
		tap_contains(e.msg, want, name);
	else
		printf("#   rc %d, class %d: %s\n", rc, (int)e.cls, e.msg);
	buf_release(&out);
}

static void test_refused(void)
{
	static const char *const nl[] = { "/opt/a\nb", NULL };
	static const char *const bad_utf8[] = { "/opt/\xff\xfe", NULL };
	static const char *const root[] = { "/", NULL };
	static const char *const usr[] = { "/usr", NULL };
	static const char *const lib_parent[] = { "/private/var/db", NULL };
	static const char *const parent_of_ws[] = { "/Users/me", NULL };
	static const char *const outside[] = { "/Users/other/.git", NULL };
	static const char *const dotdot[] = { "../x", NULL };
	static const char *const relative[] = { "opt/x", NULL };
	char *longp = xmalloc(PATH_MAX + 8);
	const char *const longl[] = { longp, NULL };

	memset(longp, 'a', PATH_MAX + 6);
	longp[0] = '/';
	longp[PATH_MAX + 6] = '\0';
	refused("refused: a newline in a path", "/w/x", nl, NULL, NULL, NULL, "control character");
	refused("refused: a tab in the workspace", "/w/a\tb", NULL, NULL, NULL, NULL,
		"control character (byte 0x09");
	refused("refused: invalid UTF-8", "/w/x", bad_utf8, NULL, NULL, NULL, "not valid UTF-8");
	refused("refused: a relative workspace", "w/x", NULL, NULL, NULL, NULL, "not an absolute path");
	refused("refused: a relative ro path", "/w/x", relative, NULL, NULL, NULL, "not an absolute path");
	refused("refused: a .. component", "/w/x/../../etc", NULL, NULL, NULL, NULL, "\"..\" component");
	refused("refused: / as the workspace", "/", NULL, NULL, NULL, NULL, "may not be /");
	refused("refused: / as a workspace written //", "//./", NULL, NULL, NULL, NULL, "may not be /");
	refused("refused: /usr as the workspace", "/usr", NULL, NULL, NULL, NULL, "system directory");
	refused("refused: / as a read-only path", "/w/x", root, NULL, NULL, NULL, "may not be /");
	refused("refused: /usr writable", "/w/x", NULL, usr, NULL, NULL, "system directory");
	refused("refused: a parent of a system path writable", "/w/x", NULL, lib_parent, NULL, NULL,
		"system directory");
	refused("refused: / hidden", "/w/x", NULL, NULL, root, NULL, "may not be /");
	refused("refused: a hide path holding the workspace", "/Users/me/proj", NULL, NULL,
		parent_of_ws, NULL, "contains the workspace");
	refused("refused: a protect path outside the workspace", "/Users/me/proj", NULL, NULL, NULL,
		outside, "not inside the workspace");
	refused("refused: a protect path climbing out", "/Users/me/proj", NULL, NULL, NULL, dotdot,
		"\"..\" component");
	refused("refused: a path longer than PATH_MAX", "/w/x", longl, NULL, NULL, NULL,
		"longer than PATH_MAX");
	refused("refused: no workspace", NULL, NULL, NULL, NULL, NULL, "no workspace");
	free(longp);
}

static void test_tokenizer(void)
{
	struct tops t = { { 0 }, 0 };
	char why[128];

	tap_ok(sexp_split("(a \"b)\" (c))", &t, why, sizeof why) == 0 && t.n == 1,
	       "tokenizer: a parenthesis inside a string is text");
	tops_release(&t);
	tap_ok(sexp_split("(a \"b\\\")\")", &t, why, sizeof why) == 0 && t.n == 1,
	       "tokenizer: an escaped quote stays inside the string");
	tops_release(&t);
	tap_ok(sexp_split("(a))", &t, why, sizeof why) < 0, "tokenizer: an extra ) is caught");
	tops_release(&t);
	tap_ok(sexp_split("(a \"b)", &t, why, sizeof why) < 0, "tokenizer: an open string is caught");
	tops_release(&t);
	tap_ok(sexp_split("(a) b", &t, why, sizeof why) < 0, "tokenizer: a stray atom is caught");
	tops_release(&t);
}

int main(void)
{
	test_tokenizer();
	test_rules();
	test_network();
	test_forms();
	test_hostile();
	test_refused();
	return tap_done();
}

/*
 * seatbelt.c — include/forja/seatbelt.h: the Seatbelt (SBPL) profile of a
 * jail spec, as text.  Paths are checked and normalized first, then written
 * escaped (as SBPL strings, and as regexes inside strings); the rules come
 * in the order the header gives, denies last.
 */
#include "forja/seatbelt.h"

#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "forja/utf8.h"

const char *const SEATBELT_SYSTEM_PATHS[] = {
	"/usr", "/bin", "/sbin", "/System", "/Library", "/private/etc",
	"/private/var/db/dyld", "/private/var/db/timezone", "/private/var/select",
	"/Applications/Xcode.app", "/opt/homebrew", NULL,
};

const char *const SEATBELT_DEVICES[] = {
	"/dev/null", "/dev/zero", "/dev/random", "/dev/urandom", "/dev/stdin", "/dev/stdout",
	"/dev/stderr", "/dev/dtracehelper", NULL,
};

const char *const SEATBELT_MACH_BASE[] = {
	"com.apple.system.opendirectoryd.libinfo", /* getpwuid, getgrgid */
	"com.apple.system.notification_center",    /* notify(3): time zone changes */
	"com.apple.system.logger",                 /* syslog(3) */
	"com.apple.logd",                          /* os_log */
	NULL,
};

const char *const SEATBELT_MACH_NETWORK[] = {
	"com.apple.dnssd.service",                 /* getaddrinfo */
	"com.apple.trustd.agent",                  /* TLS certificate trust */
	"com.apple.SystemConfiguration.configd",   /* proxies, reachability */
	NULL,
};

/* The symbolic links at the top that lead into /private. */
static const char *const private_links[] = { "/tmp", "/var", "/etc", NULL };

/* Up to three forms of one path (see the header: as given, resolved,
 * under /private). */
struct forms {
	char *v[4];
	int n;
};

static void forms_add(struct forms *f, const char *p)
{
	int i;

	for (i = 0; i < f->n; i++)
		if (strcmp(f->v[i], p) == 0)
			return;
	if (f->n < 4)
		f->v[f->n++] = xstrdup(p);
}

static void forms_release(struct forms *f)
{
	int i;

	for (i = 0; i < f->n; i++)
		free(f->v[i]);
	f->n = 0;
}

/* Whether path is dir or under it, by whole components. */
static bool is_under(const char *path, const char *dir)
{
	size_t dl = strlen(dir);

	return strncmp(path, dir, dl) == 0 && (path[dl] == '/' || path[dl] == '\0');
}

/* Check path (what: "workspace", "read-only path", …) and write its
 * normalized form to out; a relative path is taken under base when base is
 * given, else refused. */
static int clean_path(const char *what, const char *path, const char *base, struct buf *out,
		      struct ferr *e)
{
	struct buf joined = BUF_INIT;
	const char *p;
	size_t len = strlen(path), i;
	int rc = -1;

	buf_reset(out);
	if (len == 0 || len > PATH_MAX)
		return ferr_set(e, FERR_USAGE, "seatbelt: %s: %s", what,
				len ? "longer than PATH_MAX" : "empty path");
	if (!utf8_is_valid(path, len)) {
		char *shown = utf8_path_dup(path, len);

		ferr_set(e, FERR_USAGE, "seatbelt: %s %s is not valid UTF-8", what, shown);
		free(shown);
		return -1;
	}
	for (i = 0; i < len; i++)
		if ((unsigned char)path[i] < 0x20 || path[i] == 0x7f) {
			char *shown = utf8_path_dup(path, len);

			ferr_set(e, FERR_USAGE,
				 "seatbelt: %s %s holds a control character (byte 0x%02x at %zu)",
				 what, shown, (unsigned)(unsigned char)path[i], i);
			free(shown);
			return -1;
		}
	if (path[0] != '/') {
		if (!base)
			return ferr_set(e, FERR_USAGE, "seatbelt: %s \"%s\" is not an absolute path",
					what, path);
		buf_printf(&joined, "%s/%s", base, path);
		path = joined.data;
	}
	for (p = path; *p;) {
		size_t n;

		p += strspn(p, "/");
		n = strcspn(p, "/");
		if (n == 0 || (n == 1 && p[0] == '.')) {
			p += n;
			continue;
		}
		if (n == 2 && p[0] == '.' && p[1] == '.') {
			ferr_set(e, FERR_USAGE, "seatbelt: %s \"%s\" has a \"..\" component", what,
				 path);
			goto out;
		}
		buf_putc(out, '/');
		buf_add(out, p, n);
		p += n;
	}
	if (out->len == 0)
		buf_putc(out, '/');
	rc = 0;
out:
	buf_release(&joined);
	return rc;
}

/* Every form of the cleaned path p (see the header). */
static int path_forms(const char *what, const char *p, struct forms *f, struct ferr *e)
{
	char *real = realpath(p, NULL);
	struct buf clean = BUF_INIT;
	int i, k, n;

	forms_add(f, p);
	if (real) {
		int rc = clean_path(what, real, NULL, &clean, e);

		free(real);
		if (rc < 0) {
			ferr_prefix(e, "%s resolves to a refused path", p);
			buf_release(&clean);
			return -1;
		}
		forms_add(f, clean.data);
	}
	buf_release(&clean);
	n = f->n;
	for (k = 0; k < n; k++)
		for (i = 0; private_links[i]; i++)
			if (is_under(f->v[k], private_links[i])) {
				struct buf b = BUF_INIT;

				buf_printf(&b, "/private%s", f->v[k]);
				forms_add(f, b.data);
				buf_release(&b);
			}
	return 0;
}

/* Whether p is "/", a system path or an ancestor of one, or under /dev:
 * never writable, never hidden. */
static bool is_system_path(const char *p)
{
	int i;

	if (strcmp(p, "/") == 0 || is_under(p, "/dev") || is_under(p, "/private/dev"))
		return true;
	for (i = 0; SEATBELT_SYSTEM_PATHS[i]; i++)
		if (is_under(SEATBELT_SYSTEM_PATHS[i], p))
			return true;
	return false;
}

/* ---- writing SBPL ------------------------------------------------------------ */

/* s as an SBPL string literal. */
static void put_string(struct buf *out, const char *s)
{
	buf_putc(out, '"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			buf_putc(out, '\\');
		buf_putc(out, *s);
	}
	buf_putc(out, '"');
}

/* s as text a regex matches literally; ASCII letters in both cases when
 * fold is set. */
static void put_regex_literal(struct buf *re, const char *s, bool fold)
{
	for (; *s; s++) {
		char c = *s;

		if (fold && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))) {
			buf_printf(re, "[%c%c]", c | 0x20, c & ~0x20);
		} else {
			if (strchr(".^$*+?()[]{}|\\", c))
				buf_putc(re, '\\');
			buf_putc(re, c);
		}
	}
}

/* One filter line of a rule: "  (KIND "path")". */
static void put_filter(struct buf *out, const char *kind, const char *path)
{
	buf_printf(out, "\n  (%s ", kind);
	put_string(out, path);
	buf_putc(out, ')');
}

/* (subpath …) for every form of every path of list. */
static void put_subpaths(struct buf *out, struct forms *list, size_t n)
{
	size_t i;
	int k;

	for (i = 0; i < n; i++)
		for (k = 0; k < list[i].n; k++)
			put_filter(out, "subpath", list[i].v[k]);
}

/* The regexes that match name (".git", ".forja") as a component at any
 * depth under dir, and everything under it. */
static void put_name_regex(struct buf *out, const char *dir, const char *name)
{
	struct buf re = BUF_INIT;

	buf_putc(&re, '^');
	put_regex_literal(&re, dir, true);
	buf_puts(&re, "/(.*/)?");
	put_regex_literal(&re, name, true);
	buf_puts(&re, "(/.*)?$");
	buf_puts(out, "\n  (regex ");
	put_string(out, re.data);
	buf_putc(out, ')');
	buf_release(&re);
}

struct lists {
	struct forms ws;
	struct forms *ro, *rw, *hide, *protect;
	size_t nro, nrw, nhide, nprotect;
};

static size_t count(const char *const *list)
{
	size_t n = 0;

	while (list && list[n])
		n++;
	return n;
}

/* Check, clean and expand one list of the spec into *forms (*n of them). */
static int take_list(const char *what, const char *const *list, const char *base,
		     struct forms **forms, size_t *n, struct ferr *e)
{
	struct buf clean = BUF_INIT;
	size_t i, total = count(list);
	int rc = -1;

	*forms = xcalloc(total + 1, sizeof **forms);
	*n = 0;
	for (i = 0; i < total; i++) {
		if (clean_path(what, list[i], base, &clean, e) < 0)
			goto out;
		(*n)++;
		if (path_forms(what, clean.data, &(*forms)[*n - 1], e) < 0)
			goto out;
	}
	rc = 0;
out:
	buf_release(&clean);
	return rc;
}

static void lists_release(struct lists *l)
{
	struct forms *all[4] = { l->ro, l->rw, l->hide, l->protect };
	size_t ns[4] = { l->nro, l->nrw, l->nhide, l->nprotect }, i, k;

	forms_release(&l->ws);
	for (i = 0; i < 4; i++) {
		for (k = 0; all[i] && k < ns[i]; k++)
			forms_release(&all[i][k]);
		free(all[i]);
	}
}

static int check_lists(const struct lists *l, struct ferr *e)
{
	size_t i;
	int k, w;

	for (k = 0; k < l->ws.n; k++)
		if (is_system_path(l->ws.v[k]))
			return ferr_set(e, FERR_USAGE,
					"seatbelt: the workspace may not be %s (a system directory "
					"or one that holds them)", l->ws.v[k]);
	for (i = 0; i < l->nro; i++)
		if (strcmp(l->ro[i].v[0], "/") == 0)
			return ferr_set(e, FERR_USAGE, "seatbelt: a read-only path may not be /");
	for (i = 0; i < l->nrw; i++)
		for (k = 0; k < l->rw[i].n; k++)
			if (is_system_path(l->rw[i].v[k]))
				return ferr_set(e, FERR_USAGE,
						"seatbelt: writable path %s is a system directory",
						l->rw[i].v[k]);
	for (i = 0; i < l->nhide; i++)
		if (strcmp(l->hide[i].v[0], "/") == 0)
			return ferr_set(e, FERR_USAGE, "seatbelt: a hide path may not be /");
	for (i = 0; i < l->nhide; i++)
		for (k = 0; k < l->hide[i].n; k++)
			for (w = 0; w < l->ws.n; w++)
				if (is_under(l->ws.v[w], l->hide[i].v[k]))
					return ferr_set(e, FERR_USAGE,
							"seatbelt: hide path \"%s\" contains the "
							"workspace", l->hide[i].v[k]);
	for (i = 0; i < l->nprotect; i++) {
		bool inside = false;

		for (w = 0; w < l->ws.n; w++)
			inside |= is_under(l->protect[i].v[0], l->ws.v[w]) &&
				  strcmp(l->protect[i].v[0], l->ws.v[w]) != 0;
		if (!inside)
			return ferr_set(e, FERR_USAGE,
					"seatbelt: protect path \"%s\" is not inside the workspace",
					l->protect[i].v[0]);
	}
	return 0;
}

static void put_list_rule(struct buf *out, const char *head, const char *const *items,
			  const char *kind)
{
	size_t i;

	buf_printf(out, "(%s", head);
	for (i = 0; items[i]; i++)
		put_filter(out, kind, items[i]);
	buf_puts(out, ")\n");
}

int seatbelt_profile(const struct jail_spec *s, struct buf *out, struct ferr *e)
{
	static const char *const names[] = { ".git", ".forja" };
	struct lists l;
	struct buf clean = BUF_INIT;
	size_t i;
	int k, rc = -1;

	memset(&l, 0, sizeof l);
	if (!s->workspace)
		return ferr_set(e, FERR_USAGE, "seatbelt: no workspace");
	if (clean_path("workspace", s->workspace, NULL, &clean, e) < 0 ||
	    path_forms("workspace", clean.data, &l.ws, e) < 0 ||
	    take_list("read-only path", s->ro_paths, NULL, &l.ro, &l.nro, e) < 0 ||
	    take_list("writable path", s->rw_paths, NULL, &l.rw, &l.nrw, e) < 0 ||
	    take_list("hide path", s->hide_paths, NULL, &l.hide, &l.nhide, e) < 0 ||
	    take_list("protect path", s->protect_paths, clean.data, &l.protect, &l.nprotect, e) < 0 ||
	    check_lists(&l, e) < 0)
		goto out;

	buf_puts(out, "(version 1)\n(deny default)\n");
	buf_puts(out, "(allow process-fork)\n(allow process-exec)\n");
	buf_puts(out, "(allow signal (target same-sandbox))\n");
	buf_puts(out, "(allow process-info* (target same-sandbox))\n");
	buf_puts(out, "(allow sysctl-read)\n(allow ipc-posix-sem)\n");
	put_list_rule(out, "allow mach-lookup", SEATBELT_MACH_BASE, "global-name");
	if (s->network)
		put_list_rule(out, "allow mach-lookup", SEATBELT_MACH_NETWORK, "global-name");

	buf_puts(out, "(allow file-read-metadata)\n");
	buf_puts(out, "(allow file-read*");
	put_filter(out, "literal", "/");
	put_filter(out, "literal", "/private");
	for (i = 0; private_links[i]; i++)
		put_filter(out, "literal", private_links[i]);
	for (i = 0; SEATBELT_SYSTEM_PATHS[i]; i++)
		put_filter(out, "subpath", SEATBELT_SYSTEM_PATHS[i]);
	put_subpaths(out, l.ro, l.nro);
	put_subpaths(out, &l.ws, 1);
	put_subpaths(out, l.rw, l.nrw);
	buf_puts(out, "\n  (subpath (param \"" SEATBELT_TMPDIR_PARAM "\")))\n");

	buf_puts(out, "(allow file-read* file-write* file-ioctl");
	for (i = 0; SEATBELT_DEVICES[i]; i++)
		put_filter(out, "literal", SEATBELT_DEVICES[i]);
	put_filter(out, "subpath", "/dev/fd");
	buf_puts(out, ")\n");

	buf_puts(out, "(allow file-write*");
	put_subpaths(out, &l.ws, 1);
	put_subpaths(out, l.rw, l.nrw);
	buf_puts(out, "\n  (subpath (param \"" SEATBELT_TMPDIR_PARAM "\")))\n");

	if (s->network) {
		buf_puts(out, "(allow network-outbound (remote ip \"*:*\"))\n");
		buf_puts(out, "(allow network-bind (local ip \"*:*\"))\n");
		buf_puts(out, "(allow network-inbound (local ip \"*:*\"))\n");
		buf_puts(out, "(allow network-outbound (remote unix-socket (path-literal "
			      "\"/private/var/run/mDNSResponder\")))\n");
	}

	/* The denies, after every allow: the last matching rule wins. */
	buf_puts(out, "(deny file-write*");
	for (k = 0; k < l.ws.n; k++)
		for (i = 0; i < 2; i++)
			put_name_regex(out, l.ws.v[k], names[i]);
	buf_puts(out, ")\n");
	if (l.nprotect) {
		buf_puts(out, "(deny file-write*");
		put_subpaths(out, l.protect, l.nprotect);
		buf_puts(out, ")\n");
	}
	if (l.nhide) {
		buf_puts(out, "(deny file-read* file-write*");
		put_subpaths(out, l.hide, l.nhide);
		buf_puts(out, ")\n");
	}
	rc = 0;
out:
	buf_release(&clean);
	lists_release(&l);
	return rc;
}

/*
 * search.c — the glob and grep tools (tools.h).  Both walk the workspace
 * the same way: from a directory the path policy opened, down through
 * directory fds (openat with O_NOFOLLOW: a symbolic link is listed, never
 * followed), skipping .git and what git ignores (ignore.h), in byte order
 * of the paths so that every answer comes out sorted without a sort.  glob
 * picks names with gitignore-style patterns; grep searches contents with
 * PCRE2 (JIT, a literal prefilter), the walk on the calling thread feeding
 * batches of files to a pool of matcher threads, results collected in walk
 * order so that they are the same whatever the threads did.
 */
#define PCRE2_CODE_UNIT_WIDTH 8

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pcre2.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "forja/ignore.h"
#include "forja/tools.h"
#include "forja/utf8.h"

/* glob: most paths listed. */
#define GLOB_MAX_RESULTS 1000
/* Alternatives one {a,b} pattern may expand to. */
#define GLOB_MAX_ALTERNATIVES 256
/* Deepest directory walked (below that, a note). */
#define WALK_MAX_DEPTH 256

/* grep */
#define GREP_DEFAULT_RESULTS 200
#define GREP_MAX_RESULTS 10000
#define GREP_MAX_CONTEXT 10
#define GREP_MAX_FILE ((uint64_t)32 * 1024 * 1024)  /* larger files: skipped, counted */
#define GREP_BINARY_PROBE 8192                      /* NUL in these first bytes: binary */
#define GREP_LINE_SHOW 300                          /* bytes of a long line shown */
#define GREP_MATCH_LIMIT 1000000                    /* PCRE2 match limit per match call */
#define GREP_MAX_LIMIT_FILES 10                     /* files over the limit before giving up */
#define GREP_BATCH_FILES 64
#define GREP_QUEUE_MAX 64                           /* batches waiting before the walker helps */
#define GREP_MAX_THREADS 8
#define GREP_MAX_COLLECT ((size_t)8 * 1024 * 1024)  /* output kept before counting only */
#define NAMES_LISTED 5                              /* paths named in a summary line */

/* ---- arguments and results ------------------------------------------------- */

static const char *arg_str(const cJSON *args, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(args, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static bool arg_bool(const cJSON *args, const char *key, bool def)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(args, key);

	return cJSON_IsBool(v) ? cJSON_IsTrue(v) : def;
}

static long long arg_int(const cJSON *args, const char *key, long long def, long long lo,
			 long long hi)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(args, key);

	if (!cJSON_IsNumber(v) || v->valuedouble != v->valuedouble)
		return def;
	/* compared as doubles first: a huge value must not overflow the cast */
	return v->valuedouble < (double)lo ? lo : v->valuedouble > (double)hi ? hi :
	       (long long)v->valuedouble;
}

static int tool_fail(struct tool_result *r, enum tool_status st, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int tool_fail(struct tool_result *r, enum tool_status st, const char *fmt, ...)
{
	va_list ap;

	r->status = st;
	buf_reset(&r->output);
	va_start(ap, fmt);
	buf_vprintf(&r->output, fmt, ap);
	va_end(ap);
	return 0;
}

/* Keep the head and the tail of r's output within max bytes, cut at line
 * boundaries when there are any (summary lines live at the end). */
static void cap_output(struct tool_result *r, uint64_t max)
{
	struct buf *o = &r->output, out = BUF_INIT;
	size_t head, tail_start, marker = 64;

	if (!max || o->len <= max)
		return;
	if (max < 2 * marker) {
		head = (size_t)max;
		tail_start = o->len;
	} else {
		head = (size_t)(max - marker) * 2 / 3;
		tail_start = o->len - ((size_t)(max - marker) - head);
	}
	{
		size_t h = head, t = tail_start;

		while (h > 0 && o->data[h - 1] != '\n')
			h--;
		if (h)
			head = h;
		while (t < o->len && o->data[t - 1] != '\n')
			t++;
		if (t < o->len)
			tail_start = t;
	}
	while (head > 0 && ((unsigned char)o->data[head] & 0xc0) == 0x80)
		head--;
	while (tail_start < o->len && ((unsigned char)o->data[tail_start] & 0xc0) == 0x80)
		tail_start++;
	buf_add(&out, o->data, head);
	if (head && o->data[head - 1] != '\n')
		buf_putc(&out, '\n');
	buf_printf(&out, "[... %zu bytes cut ...]\n", tail_start - head);
	buf_add(&out, o->data + tail_start, o->len - tail_start);
	r->cut_bytes = tail_start - head;
	buf_release(o);
	*o = out;
}

/* Append up to NAMES_LISTED names from a NUL-separated list, then "…". */
static void put_names(struct buf *out, const struct buf *names, size_t count)
{
	size_t off = 0, i = 0;

	for (; off < names->len && i < NAMES_LISTED; i++) {
		buf_puts(out, i ? ", " : ": ");
		buf_puts(out, names->data + off);
		off += strlen(names->data + off) + 1;
	}
	if (count > i)
		buf_puts(out, ", ...");
}

/* "32 MiB", "64 KiB", "100 bytes". */
static void put_size(struct buf *out, uint64_t n)
{
	if (n >= 1024 * 1024 && n % (1024 * 1024) == 0)
		buf_printf(out, "%llu MiB", (unsigned long long)(n >> 20));
	else if (n >= 1024 && n % 1024 == 0)
		buf_printf(out, "%llu KiB", (unsigned long long)(n >> 10));
	else
		buf_printf(out, "%llu bytes", (unsigned long long)n);
}

static void add_name(struct buf *names, size_t count_before, const char *shown)
{
	if (count_before < NAMES_LISTED)
		buf_add(names, shown, strlen(shown) + 1);
}

/* ---- the search root -------------------------------------------------------- */

struct root {
	struct buf rel;    /* relative to the workspace, "" or "a/b/" */
	struct buf shown;  /* as shown to the model: "." or "a/b" */
	int fd;            /* the directory, or the file when is_file */
	bool is_file;
};

static void root_release(struct root *rt)
{
	buf_release(&rt->rel);
	buf_release(&rt->shown);
	if (rt->fd >= 0)
		close(rt->fd);
	rt->fd = -1;
}

static bool has_git_component(const char *rel)
{
	for (const char *p = rel; *p;) {
		const char *slash = strchr(p, '/');
		size_t n = slash ? (size_t)(slash - p) : strlen(p);

		if (n == 4 && memcmp(p, ".git", 4) == 0)
			return true;
		if (!slash)
			break;
		p = slash + 1;
	}
	return false;
}

/* Is fd the workspace's own .git directory (reached through a symlink)? */
static bool is_root_git_dir(const struct pathpol *ws, int fd)
{
	struct stat a, b;

	return fstatat(ws->root_fd, ".git", &a, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(a.st_mode) &&
	       fstat(fd, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

/*
 * Open the path the model named, through the path policy.  Returns 0 when
 * rt is ready, 1 when r already says why not (denied, missing, .git), -1
 * on an internal error.
 */
static int root_open(const struct tool_ctx *ctx, const char *path, bool allow_file,
		     struct root *rt, struct tool_result *r, struct ferr *e)
{
	struct ferr fe = FERR_INIT, fe2 = FERR_INIT;
	size_t len = strlen(path);

	rt->fd = -1;
	if (pathpol_normalise(ctx->ws, path, len, &rt->rel, &fe) < 0)
		goto refused;
	if (strcmp(rt->rel.data, ".") == 0) {
		buf_reset(&rt->rel);
		buf_puts(&rt->shown, ".");
	} else {
		utf8_quote_path(&rt->shown, rt->rel.data, rt->rel.len);
		if (has_git_component(rt->rel.data)) {
			tool_fail(r, TOOL_FAILED, "%s: inside .git, which glob and grep never search",
				  rt->shown.data);
			return 1;
		}
		buf_putc(&rt->rel, '/');
	}
	if (pathpol_open_read(ctx->ws, path, len, true, &rt->fd, &fe) == 0) {
		if (is_root_git_dir(ctx->ws, rt->fd)) {
			tool_fail(r, TOOL_FAILED, "%s: leads to .git, which glob and grep never search",
				  rt->shown.data);
			return 1;
		}
		return 0;
	}
	if (allow_file && fe.cls == FERR_IO &&
	    pathpol_open_read(ctx->ws, path, len, false, &rt->fd, &fe2) == 0) {
		rt->is_file = true;
		buf_truncate(&rt->rel, rt->rel.len - 1);  /* a file: no trailing slash */
		return 0;
	}
refused:
	if (fe.cls == FERR_INTERNAL) {
		*e = fe;
		return -1;
	}
	tool_fail(r, fe.cls == FERR_DENIED ? TOOL_DENIED : TOOL_FAILED, "%s", fe.msg);
	return 1;
}

/* ---- globs -------------------------------------------------------------------- */

/*
 * A glob as the model writes it, with gitignore's syntax and meaning: a
 * pattern without a slash matches a name at any depth below the base, one
 * with a slash matches the path relative to the base, and a directory that
 * matches selects everything below it.  {a,b} alternatives are expanded.
 */
struct glob {
	struct ignore_list *list;
	bool negate;        /* "!pattern" (grep's filter): select what does not match */
	bool anchored;      /* every pattern starts with a literal directory prefix */
	char **prefixes;    /* those prefixes, relative to the base, ending in '/' or "" */
	size_t nprefixes;
	size_t base_len;
};

static void glob_release(struct glob *g)
{
	ignore_list_free(g->list);
	for (size_t i = 0; i < g->nprefixes; i++)
		free(g->prefixes[i]);
	free(g->prefixes);
	memset(g, 0, sizeof *g);
}

/* Expand the first {a,b,...} of pat (recursively) into out; false when
 * there would be more than GLOB_MAX_ALTERNATIVES. */
static bool expand_braces(const char *pat, char ***out, size_t *n)
{
	size_t len = strlen(pat), open = len, close = len, depth = 0;
	bool comma = false;

	for (size_t i = 0; i < len; i++) {
		if (pat[i] == '\\' && i + 1 < len) {
			i++;
		} else if (pat[i] == '{') {
			if (depth++ == 0) {
				open = i;
				comma = false;
			}
		} else if (pat[i] == ',' && depth == 1) {
			comma = true;
		} else if (pat[i] == '}' && depth > 0 && --depth == 0) {
			if (comma) {
				close = i;
				break;
			}
			open = len;
		}
	}
	if (close == len) {
		if (*n >= GLOB_MAX_ALTERNATIVES)
			return false;
		*out = xrealloc(*out, (*n + 1) * sizeof **out);
		(*out)[(*n)++] = xstrdup(pat);
		return true;
	}
	for (size_t start = open + 1, i = open + 1, d = 0; i <= close; i++) {
		if (pat[i] == '\\' && i + 1 < close) {
			i++;
			continue;
		}
		if (pat[i] == '{')
			d++;
		else if (pat[i] == '}' && i < close)
			d--;
		if ((pat[i] == ',' && d == 0) || i == close) {
			struct buf alt = BUF_INIT;
			bool ok;

			buf_add(&alt, pat, open);
			buf_add(&alt, pat + start, i - start);
			buf_puts(&alt, pat + close + 1);
			ok = expand_braces(alt.data, out, n);
			buf_release(&alt);
			if (!ok)
				return false;
			start = i + 1;
		}
	}
	return true;
}

/* The literal directory part a pattern starts with ("src/lib/" for
 * "src/lib/x?.c"), or NULL when it may match at any depth. */
static char *literal_prefix(const char *p)
{
	size_t len = strlen(p), end = 0;

	while (len && p[len - 1] == '/')
		len--;
	if (!memchr(p, '/', len))
		return NULL;
	if (*p == '/') {
		p++;
		len--;
	}
	for (size_t i = 0; i < len; i++) {
		if (p[i] == '*' || p[i] == '?' || p[i] == '[' || p[i] == '\\')
			break;
		if (p[i] == '/')
			end = i + 1;
	}
	return xstrndup(p, end);
}

static int glob_compile(const char *text, const char *base, size_t base_len, bool allow_negate,
			struct glob *g, struct buf *why)
{
	char **alts = NULL;
	size_t nalts = 0;
	int ret = -1;

	memset(g, 0, sizeof *g);
	if (allow_negate && text[0] == '!') {
		g->negate = true;
		text++;
	}
	while (text[0] == '.' && text[1] == '/')
		text += 2;
	if (!*text) {
		buf_puts(why, "the glob is empty");
		return -1;
	}
	if (!expand_braces(text, &alts, &nalts)) {
		buf_printf(why, "the glob expands to more than %d alternatives",
			   GLOB_MAX_ALTERNATIVES);
		goto out;
	}
	g->list = ignore_list_new(base, base_len, false);
	g->base_len = base_len;
	g->anchored = true;
	for (size_t i = 0; i < nalts; i++) {
		const char *p = alts[i];
		struct buf esc = BUF_INIT;
		char *prefix;

		while (p[0] == '.' && p[1] == '/')
			p += 2;
		if (!*p)
			continue;
		/* a leading '!' is a name here, not a negation */
		if (*p == '!')
			buf_putc(&esc, '\\');
		buf_puts(&esc, p);
		ignore_list_add(g->list, esc.data, esc.len);
		buf_release(&esc);
		prefix = literal_prefix(p);
		if (!prefix) {
			g->anchored = false;
			continue;
		}
		g->prefixes = xrealloc(g->prefixes, (g->nprefixes + 1) * sizeof *g->prefixes);
		g->prefixes[g->nprefixes++] = prefix;
	}
	if (!ignore_list_count(g->list)) {
		buf_puts(why, "the glob is empty");
		goto out;
	}
	ret = 0;
out:
	for (size_t i = 0; i < nalts; i++)
		free(alts[i]);
	free(alts);
	if (ret < 0)
		glob_release(g);
	return ret;
}

/* Does path (relative to the workspace) match, as a file or a directory? */
static bool glob_matches(const struct glob *g, const char *path, size_t len, bool is_dir)
{
	return ignore_list_match(g->list, path, len, is_dir) == IGNORE_EXCLUDED;
}

/* Can anything below directory dir (relative to the workspace, with a
 * trailing '/') match? */
static bool glob_may_descend(const struct glob *g, const char *dir, size_t len)
{
	const char *d = dir + g->base_len;
	size_t dlen = len - g->base_len;

	if (!g->anchored || g->negate)
		return true;
	for (size_t i = 0; i < g->nprefixes; i++) {
		size_t plen = strlen(g->prefixes[i]);
		size_t n = plen < dlen ? plen : dlen;

		if (memcmp(g->prefixes[i], d, n) == 0)
			return true;
	}
	return false;
}

/* ---- the walk ------------------------------------------------------------------- */

struct entry {
	const char *name;
	size_t len;
	unsigned char type;  /* DT_REG, DT_DIR, DT_LNK */
};

struct walk;

struct walk_ops {
	/* A directory's files are about to be listed (fd borrowed). */
	void (*dir_enter)(struct walk *w, int dirfd);
	void (*dir_leave)(struct walk *w);
	/* A regular file or a symbolic link; w->path holds its path.
	 * selected: the glob picked it (always true without a glob). */
	void (*file)(struct walk *w, const char *name, size_t len, unsigned char type,
		     bool selected);
};

struct walk {
	const struct walk_ops *ops;
	void *arg;
	struct ignore_stack *ign;
	const struct glob *glob;   /* NULL: every file */
	struct buf path;           /* the current entry, relative to the workspace */
	atomic_bool *stop;         /* checked between directories */
	size_t unreadable;         /* directories that could not be opened or read */
	struct buf unreadable_names;
	bool too_deep;
};

static int entry_cmp(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;
	size_t n = x->len < y->len ? x->len : y->len;
	int c = memcmp(x->name, y->name, n), cx, cy;

	if (c)
		return c;
	/* a directory sorts as "name/", so the order is that of whole paths */
	cx = x->len > n ? (unsigned char)x->name[n] : x->type == DT_DIR ? '/' : -1;
	cy = y->len > n ? (unsigned char)y->name[n] : y->type == DT_DIR ? '/' : -1;
	return cx - cy;
}

static void note_unreadable(struct walk *w, int err)
{
	struct buf shown = BUF_INIT;

	utf8_quote_path(&shown, w->path.data, w->path.len);
	buf_printf(&shown, " (%s)", strerror(err));
	add_name(&w->unreadable_names, w->unreadable, shown.data);
	w->unreadable++;
	buf_release(&shown);
}

/* Walk the directory open at dirfd (taken over), whose path w->path holds
 * (with its trailing '/', or "" at the root). */
static void walk_dir(struct walk *w, int dirfd, unsigned hints, bool selected, size_t depth)
{
	struct entry *ents = NULL;
	size_t n = 0, cap = 0, base_len = w->path.len;
	struct buf names = BUF_INIT;
	size_t *offs = NULL;
	struct dirent *de;
	DIR *d;
	int dupfd = dup(dirfd);

	if (dupfd < 0 || !(d = fdopendir(dupfd))) {
		if (dupfd >= 0)
			close(dupfd);
		note_unreadable(w, errno);
		close(dirfd);
		return;
	}
	for (;;) {
		const char *nm;
		unsigned char type;

		errno = 0;
		if (!(de = readdir(d))) {
			if (errno)
				note_unreadable(w, errno);
			break;
		}
		nm = de->d_name;
		type = de->d_type;
		if (nm[0] == '.' && (!nm[1] || (nm[1] == '.' && !nm[2])))
			continue;
		if (strcmp(nm, ".git") == 0) {
			hints |= IGNORE_HAS_DOTGIT;
			continue;
		}
		if (strcmp(nm, ".gitignore") == 0)
			hints |= IGNORE_HAS_GITIGNORE;
		if (type == DT_UNKNOWN) {
			struct stat st;

			if (fstatat(dirfd, nm, &st, AT_SYMLINK_NOFOLLOW) != 0)
				continue;
			type = S_ISDIR(st.st_mode) ? DT_DIR : S_ISREG(st.st_mode) ? DT_REG :
			       S_ISLNK(st.st_mode) ? DT_LNK : DT_UNKNOWN;
		}
		if (type != DT_DIR && type != DT_REG && type != DT_LNK)
			continue;  /* FIFOs, sockets, devices: never listed or read */
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			ents = xrealloc(ents, cap * sizeof *ents);
			offs = xrealloc(offs, cap * sizeof *offs);
		}
		offs[n] = names.len;
		ents[n].len = strlen(nm);
		ents[n].type = type;
		buf_add(&names, nm, ents[n].len + 1);
		n++;
	}
	closedir(d);
	for (size_t i = 0; i < n; i++)
		ents[i].name = names.data + offs[i];
	free(offs);

	ignore_stack_enter(w->ign, dirfd, w->path.data ? w->path.data : "", base_len, hints);
	qsort(ents, n, sizeof *ents, entry_cmp);
	if (w->ops->dir_enter)
		w->ops->dir_enter(w, dirfd);
	for (size_t i = 0; i < n; i++) {
		const struct entry *en = &ents[i];
		bool is_dir = en->type == DT_DIR, sel = selected;

		if (w->stop && atomic_load_explicit(w->stop, memory_order_relaxed))
			break;
		buf_truncate(&w->path, base_len);
		buf_add(&w->path, en->name, en->len);
		if (ignore_is_ignored(w->ign, w->path.data, w->path.len, is_dir))
			continue;
		if (w->glob) {
			if (!sel && glob_matches(w->glob, w->path.data, w->path.len, is_dir))
				sel = true;
			if (w->glob->negate && sel)
				continue;  /* "!pattern" matched: left out, with all below */
		}
		if (!is_dir) {
			w->ops->file(w, en->name, en->len, en->type,
				     !w->glob || w->glob->negate || sel);
			continue;
		}
		buf_putc(&w->path, '/');
		if (w->glob && !sel && !glob_may_descend(w->glob, w->path.data, w->path.len))
			continue;
		if (depth + 1 >= WALK_MAX_DEPTH) {
			w->too_deep = true;
			continue;
		}
		{
			int sub = openat(dirfd, en->name,
					 O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

			if (sub < 0) {
				note_unreadable(w, errno);
				continue;
			}
			if (w->ops->dir_leave)
				w->ops->dir_leave(w);  /* the files after it form a new run */
			walk_dir(w, sub, 0, sel, depth + 1);
			buf_truncate(&w->path, base_len);
			if (w->ops->dir_enter)
				w->ops->dir_enter(w, dirfd);
		}
	}
	if (w->ops->dir_leave)
		w->ops->dir_leave(w);
	buf_truncate(&w->path, base_len);
	ignore_stack_leave(w->ign);
	free(ents);
	buf_release(&names);
	close(dirfd);
}

/*
 * The ignore stack for a walk of rt's directory: the workspace root's frame
 * and one per directory between it and rt's (opened with O_NOFOLLOW; when
 * the path goes through a symbolic link, the frames from there on are left
 * out, and after ".." only the root's is kept).  The walk enters rt's own.
 */
static struct ignore_stack *walk_stack(const struct tool_ctx *ctx, const struct root *rt)
{
	struct buf gpath = BUF_INIT;
	struct ignore_list *global = NULL;
	struct ignore_stack *s;
	struct ferr e = FERR_INIT;
	const char *rel = buf_cstr(&rt->rel);
	size_t start = 0;
	int fd;

	if (ignore_global_path(&gpath))
		ignore_list_load_file(gpath.data, false, &global, &e);
	buf_release(&gpath);
	s = ignore_stack_new(false, global);
	if (!rt->rel.len)
		return s;
	fd = openat(ctx->ws->root_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return s;
	ignore_stack_enter(s, fd, "", 0, IGNORE_IS_ROOT | IGNORE_HAS_GITIGNORE | IGNORE_HAS_DOTGIT);
	if (strcmp(rel, "../") == 0 || strncmp(rel, "../", 3) == 0 || strstr(rel, "/../")) {
		close(fd);
		return s;
	}
	for (;;) {
		const char *slash = strchr(rel + start, '/');
		size_t end = (size_t)(slash - rel);
		char *name;
		int sub;

		if (end + 1 >= rt->rel.len)
			break;  /* rt's own directory: the walk enters it */
		name = xstrndup(rel + start, end - start);
		sub = openat(fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		free(name);
		close(fd);
		fd = sub;
		if (fd < 0)
			return s;
		ignore_stack_enter(s, fd, rel, end + 1, IGNORE_HAS_GITIGNORE | IGNORE_HAS_DOTGIT);
		start = end + 1;
	}
	close(fd);
	return s;
}

static void walk_init(struct walk *w, const struct tool_ctx *ctx, const struct root *rt,
		      const struct walk_ops *ops, void *arg)
{
	memset(w, 0, sizeof *w);
	w->ops = ops;
	w->arg = arg;
	w->ign = walk_stack(ctx, rt);
	buf_add(&w->path, rt->rel.data ? rt->rel.data : "", rt->rel.len);
}

/* Walk rt's directory (its fd is taken over). */
static void walk_run(struct walk *w, struct root *rt)
{
	unsigned hints = rt->rel.len ? 0 : IGNORE_IS_ROOT;
	int fd = rt->fd;

	rt->fd = -1;
	walk_dir(w, fd, hints, false, 0);
}

static void walk_release(struct walk *w)
{
	ignore_stack_free(w->ign);
	buf_release(&w->path);
	buf_release(&w->unreadable_names);
}

/* Notes every walk may leave: unreadable directories and pattern files. */
static void walk_notes(const struct walk *w, struct buf *out)
{
	const char *notes = ignore_stack_notes(w->ign);

	if (w->unreadable) {
		buf_printf(out, "[%zu %s could not be read", w->unreadable,
			   w->unreadable == 1 ? "directory" : "directories");
		put_names(out, &w->unreadable_names, w->unreadable);
		buf_puts(out, "]\n");
	}
	if (w->too_deep)
		buf_printf(out, "[directories deeper than %d levels were not walked]\n",
			   WALK_MAX_DEPTH);
	for (const char *p = notes; *p;) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);

		buf_puts(out, "[ignore rules not read: ");
		utf8_sanitize(out, p, n);
		buf_puts(out, "]\n");
		p += n + (nl ? 1 : 0);
	}
}

/* ---- glob --------------------------------------------------------------------- */

struct glob_run {
	struct buf out;
	size_t shown, total;
};

static void glob_file(struct walk *w, const char *name, size_t len, unsigned char type,
		      bool selected)
{
	struct glob_run *g = w->arg;

	if (!selected)
		return;
	g->total++;
	if (g->shown >= GLOB_MAX_RESULTS)
		return;
	utf8_quote_path(&g->out, w->path.data, w->path.len);
	buf_putc(&g->out, '\n');
	g->shown++;
}

static const struct walk_ops glob_ops = { NULL, NULL, glob_file };

int tool_glob(const struct tool_ctx *ctx, const cJSON *args, struct tool_result *r,
	      struct ferr *e)
{
	const char *pattern = arg_str(args, "pattern"), *path = arg_str(args, "path");
	struct root rt = { BUF_INIT, BUF_INIT, -1, false };
	struct glob_run run = { BUF_INIT, 0, 0 };
	struct buf why = BUF_INIT;
	struct glob g;
	struct walk w;
	int ret;

	r->status = TOOL_OK;
	if (!pattern || !*pattern)
		return tool_fail(r, TOOL_FAILED, "`pattern` is required: a glob such as \"src/**/*.c\"");
	ret = root_open(ctx, path && *path ? path : ".", false, &rt, r, e);
	if (ret)
		goto out_root;
	if (glob_compile(pattern, buf_cstr(&rt.rel), rt.rel.len, false, &g, &why) < 0) {
		tool_fail(r, TOOL_FAILED, "bad glob: %s", why.data);
		goto out_root;
	}
	walk_init(&w, ctx, &rt, &glob_ops, &run);
	w.glob = &g;
	walk_run(&w, &rt);

	buf_reset(&r->output);
	if (run.out.len)
		buf_add(&r->output, run.out.data, run.out.len);
	if (!run.total)
		buf_printf(&r->output, "No files match the glob in %s.\n", rt.shown.data);
	else if (run.total > run.shown)
		buf_printf(&r->output,
			   "[%zu of %zu files shown, sorted by path; narrow the pattern or the path]\n",
			   run.shown, run.total);
	else
		buf_printf(&r->output, "[%zu %s, sorted by path]\n", run.total,
			   run.total == 1 ? "file" : "files");
	walk_notes(&w, &r->output);
	cap_output(r, ctx->max_output_bytes);
	walk_release(&w);
	glob_release(&g);
out_root:
	ret = ret < 0 ? -1 : 0;
	buf_release(&run.out);
	buf_release(&why);
	root_release(&rt);
	return ret;
}

/* ---- grep: the pattern --------------------------------------------------------- */

enum grep_mode {
	MODE_PURE,     /* the pattern is a literal: memmem alone decides */
	MODE_LITERAL,  /* lines holding the required literal are matched with PCRE2 */
	MODE_BUFFER,   /* PCRE2 over the whole file, spanning matches checked per line */
	MODE_LINES,    /* PCRE2 on every line (lookarounds, \A \z \G, inline flags) */
};

struct grep_pat {
	pcre2_code *code;
	bool jit;
	enum grep_mode mode;
	char *lit;             /* the required literal (lower-cased when lit_icase) */
	size_t litlen;
	bool lit_icase;
	size_t rare_idx;       /* the literal's byte searched with memchr */
	unsigned char rare, rare_other;  /* that byte, and its other case (or the same) */
	bool newline_escape;   /* the text holds "\n": for the no-match note */
};

static unsigned byte_commonness(unsigned char c)
{
	static const char order[] = " etaoinsrlhdcumpfgybwvkxjqz_.,;()=\"'/*-0123456789";
	const char *p;

	if (c >= 'A' && c <= 'Z')
		return 60;
	if (c >= 0x80)
		return 40;
	if (c && (p = strchr(order, c)))
		return 255 - (unsigned)(p - order) * 3;
	return c == '\t' ? 150 : 20;
}

static bool is_ascii_alpha(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static unsigned char ascii_lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c + 32) : c;
}

/* Skip a bracket class starting at pat[i] == '['; returns the index past
 * its ']', or len when it does not close. */
static size_t skip_class(const char *pat, size_t len, size_t i)
{
	i++;
	if (i < len && pat[i] == '^')
		i++;
	if (i < len && pat[i] == ']')
		i++;
	while (i < len && pat[i] != ']') {
		if (pat[i] == '\\')
			i++;
		else if (pat[i] == '[' && i + 1 < len && pat[i + 1] == ':') {
			const char *end = strstr(pat + i + 2, ":]");

			if (end && (size_t)(end - pat) < len)
				i = (size_t)(end - pat) + 1;
		}
		i++;
	}
	return i < len ? i + 1 : len;
}

struct lit_state {
	struct buf cur, best;
	size_t last_char;   /* length of the last char appended to cur */
};

static void lit_end_run(struct lit_state *ls)
{
	if (ls->cur.len > ls->best.len) {
		buf_reset(&ls->best);
		buf_add(&ls->best, ls->cur.data, ls->cur.len);
	}
	buf_reset(&ls->cur);
	ls->last_char = 0;
}

/*
 * The longest run of bytes every match must contain, read from the pattern
 * text: at the top level only (outside groups and classes), only when there
 * is no top-level '|', and only from constructs this reader knows; at
 * anything else it gives up (returns false: no prefilter, still correct).
 * With icase, letters that Unicode folds to non-ASCII characters (k, s) and
 * non-ASCII characters end a run.  *pure: the pattern is that literal alone.
 */
static bool extract_literal(const char *pat, size_t len, bool *icase, struct buf *lit,
			    bool *pure)
{
	struct lit_state ls = { BUF_INIT, BUF_INIT, 0 };
	size_t i = 0, depth = 0;
	bool ok = false;

	*pure = true;
	if (len >= 4 && memcmp(pat, "(?i)", 4) == 0) {
		*icase = true;
		i = 4;
		*pure = false;
	}
	while (i < len) {
		unsigned char c = (unsigned char)pat[i];

		if (depth) {
			if (c == '\\') {
				if (i + 1 < len && pat[i + 1] == 'Q')
					goto out;
				i += 2;
			} else if (c == '[') {
				i = skip_class(pat, len, i);
			} else {
				if (c == '(') {
					if (i + 2 < len && pat[i + 1] == '?' && pat[i + 2] == '#')
						goto out;
					depth++;
				} else if (c == ')') {
					depth--;
				}
				i++;
			}
			continue;
		}
		switch (c) {
		case '|':
			goto out;
		case ')':
			goto out;
		case '(':
			lit_end_run(&ls);
			*pure = false;
			if (i + 1 < len && pat[i + 1] == '*')
				goto out;
			if (i + 1 < len && pat[i + 1] == '?') {
				unsigned char n = i + 2 < len ? (unsigned char)pat[i + 2] : 0;
				unsigned char n2 = i + 3 < len ? (unsigned char)pat[i + 3] : 0;

				if (!(n == ':' || n == '=' || n == '!' || n == '>' || n == '|' ||
				      (n == '<' && (n2 == '=' || n2 == '!' || is_ascii_alpha(n2))) ||
				      (n == 'P' && n2 == '<') || n == '\''))
					goto out;
			}
			depth++;
			i++;
			continue;
		case '[':
			lit_end_run(&ls);
			*pure = false;
			i = skip_class(pat, len, i);
			continue;
		case '.':
		case '^':
		case '$':
			lit_end_run(&ls);
			*pure = false;
			i++;
			continue;
		case '*':
		case '?':
		case '{':
			/* the atom before may be absent: drop it from the run */
			if (ls.last_char)
				buf_truncate(&ls.cur, ls.cur.len - ls.last_char);
			lit_end_run(&ls);
			*pure = false;
			if (c == '{') {
				const char *close = memchr(pat + i, '}', len - i);

				i = close ? (size_t)(close - pat) + 1 : len;
			} else {
				i++;
			}
			continue;
		case '+':
			lit_end_run(&ls);
			*pure = false;
			i++;
			continue;
		case '\\': {
			unsigned char n = i + 1 < len ? (unsigned char)pat[i + 1] : 0;
			unsigned char add = 0;

			if (!n)
				goto out;
			if (n >= 0x80)
				goto out;
			if (!is_ascii_alpha(n) && !(n >= '0' && n <= '9')) {
				add = n;
			} else if (n == 't') {
				add = '\t';
			} else if (n == 'r') {
				add = '\r';
			} else if (n == 'f') {
				add = '\f';
			} else if (n == 'e') {
				add = 0x1b;
			} else if (n == 'a') {
				add = 0x07;
			} else if (strchr("dDwWsShHvVRbBAzZGKX", n) || n == 'n') {
				lit_end_run(&ls);
				*pure = false;
				i += 2;
				continue;
			} else {
				goto out;  /* \x \o \c \p \Q \N \g \k, digits, ...: not read */
			}
			buf_putc(&ls.cur, (char)add);
			ls.last_char = 1;
			i += 2;
			continue;
		}
		default:
			break;
		}
		if (c < 0x80) {
			if (*icase && is_ascii_alpha(c) &&
			    (ascii_lower(c) == 'k' || ascii_lower(c) == 's')) {
				lit_end_run(&ls);
				*pure = false;
			} else {
				buf_putc(&ls.cur, (char)(*icase ? ascii_lower(c) : c));
				ls.last_char = 1;
			}
			i++;
		} else {
			size_t n = utf8_seq_len((const unsigned char *)pat + i, len - i);

			if (!n)
				goto out;
			if (*icase) {
				lit_end_run(&ls);
				*pure = false;
			} else {
				buf_add(&ls.cur, pat + i, n);
				ls.last_char = n;
			}
			i += n;
		}
	}
	if (depth)
		goto out;
	lit_end_run(&ls);
	buf_reset(lit);
	if (ls.best.len)
		buf_add(lit, ls.best.data, ls.best.len);
	ok = ls.best.len > 0;
out:
	if (!ok)
		*pure = false;
	buf_release(&ls.cur);
	buf_release(&ls.best);
	return ok;
}

/* Can the whole file be searched at once?  Not when an assertion may look
 * past a line's ends or an inline option may change what ^ and $ mean. */
static bool buffer_safe(const char *pat, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (pat[i] == '\\' && i + 1 < len) {
			if (strchr("AzZG", pat[i + 1]))
				return false;
			i++;
		} else if (pat[i] == '(' && i + 1 < len && pat[i + 1] == '*') {
			return false;
		} else if (pat[i] == '(' && i + 1 < len && pat[i + 1] == '?') {
			char n = i + 2 < len ? pat[i + 2] : 0;
			char n2 = i + 3 < len ? pat[i + 3] : 0;

			if (!(n == ':' || n == '>' || n == '|' || n == '\'' ||
			      (n == 'P' && n2 == '<') ||
			      (n == '<' && is_ascii_alpha((unsigned char)n2))))
				return false;
		}
	}
	return true;
}

static bool has_newline_escape(const char *pat, size_t len)
{
	for (size_t i = 0; i + 1 < len; i++) {
		if (pat[i] != '\\')
			continue;
		if (pat[i + 1] == 'n')
			return true;
		i++;
	}
	return false;
}

static void grep_pat_release(struct grep_pat *g)
{
	pcre2_code_free(g->code);
	free(g->lit);
	memset(g, 0, sizeof *g);
}

/* Compile; on a bad pattern r says why (PCRE2's message and offset). */
static int grep_pat_compile(const char *pattern, bool icase, struct grep_pat *g,
			    struct tool_result *r)
{
	size_t len = strlen(pattern);
	uint32_t opts = PCRE2_UTF | PCRE2_MATCH_INVALID_UTF | PCRE2_MULTILINE |
			PCRE2_NEVER_BACKSLASH_C | (icase ? PCRE2_CASELESS : 0);
	struct buf lit = BUF_INIT;
	PCRE2_SIZE erroff;
	bool pure, lit_icase = icase;
	int errcode;

	memset(g, 0, sizeof *g);
	g->code = pcre2_compile((PCRE2_SPTR)pattern, len, opts, &errcode, &erroff, NULL);
	if (!g->code) {
		PCRE2_UCHAR msg[256];

		pcre2_get_error_message(errcode, msg, sizeof msg);
		tool_fail(r, TOOL_FAILED, "bad pattern: %s at offset %zu", (const char *)msg,
			  (size_t)erroff);
		return -1;
	}
	g->jit = pcre2_jit_compile(g->code, PCRE2_JIT_COMPLETE) == 0;
	g->newline_escape = has_newline_escape(pattern, len);
	if (extract_literal(pattern, len, &lit_icase, &lit, &pure) &&
	    (lit.len >= 2 || (pure && lit.len))) {
		unsigned bestc = 1000;

		g->mode = pure ? MODE_PURE : MODE_LITERAL;
		g->lit = xstrndup(lit.data, lit.len);
		g->litlen = lit.len;
		g->lit_icase = lit_icase;
		/* the rarest byte, and under icase one without case if there is one */
		for (size_t i = 0; i < lit.len; i++) {
			unsigned char c = (unsigned char)lit.data[i];
			unsigned score = byte_commonness(c) + (lit_icase && is_ascii_alpha(c) ? 100 : 0);

			if (score < bestc) {
				bestc = score;
				g->rare_idx = i;
			}
		}
		g->rare = (unsigned char)lit.data[g->rare_idx];
		g->rare_other = lit_icase && is_ascii_alpha(g->rare) ?
				(unsigned char)(g->rare - 32) : g->rare;
	} else {
		g->mode = buffer_safe(pattern, len) ? MODE_BUFFER : MODE_LINES;
	}
	buf_release(&lit);
	return 0;
}

/* ---- grep: searching one buffer ------------------------------------------------ */

struct hit {
	size_t ls, le;   /* the line, without its '\n' */
	size_t ms, me;   /* the match, clipped to the line */
};

struct matcher {
	struct grep_run *run;
	pcre2_match_data *md;
	pcre2_match_context *mctx;
	pcre2_jit_stack *jstack;
	char *data;          /* the file being searched */
	size_t cap;
	struct hit *hits;
	size_t nhits, caphits;
	struct buf shown;    /* the file's path as shown */
	bool spans;          /* this file met a match across lines: go line by line */
	pthread_t tid;
	bool started;
};

static int pcre_run(const struct grep_pat *g, struct matcher *m, const char *subj, size_t len,
		    size_t start)
{
	if (g->jit)
		return pcre2_jit_match(g->code, (PCRE2_SPTR)subj, len, start, 0, m->md, m->mctx);
	return pcre2_match(g->code, (PCRE2_SPTR)subj, len, start, 0, m->md, m->mctx);
}

/* Run the pattern on the line [ls, le) of buf alone; on a match, its
 * bounds in buf go to *ms and *me.  Returns what pcre_run() returns. */
static int match_line(const struct grep_pat *g, struct matcher *m, const char *buf, size_t ls,
		      size_t le, size_t *ms, size_t *me)
{
	int rc = pcre_run(g, m, buf + ls, le - ls, 0);

	if (rc >= 0) {
		const PCRE2_SIZE *ov = pcre2_get_ovector_pointer(m->md);
		*ms = ls + ov[0];
		*me = ls + ov[1];
	}
	return rc;
}

static bool literal_at(const struct grep_pat *g, const char *cand)
{
	if (!g->lit_icase)
		return memcmp(cand, g->lit, g->litlen) == 0;
	for (size_t k = 0; k < g->litlen; k++)
		if (ascii_lower((unsigned char)cand[k]) != (unsigned char)g->lit[k])
			return false;
	return true;
}

/*
 * Where the literal's rare byte (each case of it under icase) next occurs:
 * cached per scan so that the text is read once for each byte; end means
 * "no more".
 */
struct lit_scan {
	const char *next[2];
};

static const char *next_byte(const char **cache, unsigned char c, const char *from,
			     const char *stop, const char *end)
{
	if (!*cache || (*cache != end && *cache < from)) {
		const char *p = from < stop ? memchr(from, c, (size_t)(stop - from)) : NULL;

		*cache = p ? p : end;
	}
	return *cache;
}

/* Next occurrence of the literal in hay[from, n), or NULL. */
static const char *find_literal(const struct grep_pat *g, const char *hay, size_t n, size_t from,
				struct lit_scan *ls)
{
	size_t L = g->litlen, r = g->rare_idx;
	const char *end = hay + n, *stop = hay + (n >= L ? n - L + r + 1 : 0);

	while (from + L <= n) {
		const char *p = next_byte(&ls->next[0], g->rare, hay + from + r, stop, end);

		if (g->rare_other != g->rare) {
			const char *q = next_byte(&ls->next[1], g->rare_other, hay + from + r, stop,
						  end);

			if (q < p)
				p = q;
		}
		if (p == end)
			return NULL;
		if (literal_at(g, p - r))
			return p - r;
		from = (size_t)(p - r - hay) + 1;
	}
	return NULL;
}

static size_t line_start(const char *buf, size_t pos, size_t floor)
{
	const char *nl;

	if (pos <= floor)
		return floor;
	nl = memrchr(buf + floor, '\n', pos - floor);
	return nl ? (size_t)(nl - buf) + 1 : floor;
}

static size_t line_end(const char *buf, size_t len, size_t pos)
{
	const char *nl = memchr(buf + pos, '\n', len - pos);

	return nl ? (size_t)(nl - buf) : len;
}

static void add_hit(struct matcher *m, size_t ls, size_t le, size_t ms, size_t me)
{
	if (m->nhits == m->caphits) {
		m->caphits = m->caphits ? m->caphits * 2 : 64;
		m->hits = xrealloc(m->hits, m->caphits * sizeof *m->hits);
	}
	if (me > le)
		me = le;
	if (ms > le)
		ms = le;
	m->hits[m->nhits++] = (struct hit){ ls, le, ms, me };
}

/*
 * Find the matching lines of buf: all are counted into *count, the first
 * keep of them recorded in m->hits.  Returns 0, or a PCRE2 error (the
 * match limit) with the lines found so far counted.
 */
static int scan(const struct grep_pat *g, struct matcher *m, const char *buf, size_t len,
		size_t keep, size_t *count)
{
	struct lit_scan lscan = { { NULL, NULL } };
	size_t pos = 0;
	int rc;

	*count = 0;
	m->nhits = 0;
	m->spans = false;   /* per file, so that no answer depends on the thread */
	while (pos < len) {
		enum grep_mode mode = g->mode == MODE_BUFFER && m->spans ? MODE_LINES : g->mode;
		size_t ls, le, ms, me;

		if (mode == MODE_PURE || mode == MODE_LITERAL) {
			const char *hit = find_literal(g, buf, len, pos, &lscan);

			if (!hit)
				break;
			ms = (size_t)(hit - buf);
			ls = line_start(buf, ms, pos);
			le = line_end(buf, len, ms);
			me = ms + g->litlen;
			if (mode == MODE_LITERAL) {
				rc = match_line(g, m, buf, ls, le, &ms, &me);
				if (rc == PCRE2_ERROR_NOMATCH) {
					pos = le + 1;
					continue;
				}
				if (rc < 0)
					return rc;
			}
		} else if (mode == MODE_BUFFER) {
			PCRE2_SIZE *ov;

			rc = pcre_run(g, m, buf, len, pos);
			if (rc == PCRE2_ERROR_NOMATCH)
				break;
			if (rc < 0)
				return rc;
			ov = pcre2_get_ovector_pointer(m->md);
			ms = ov[0];
			me = ov[1];
			if (ms == len && buf[len - 1] == '\n')
				break;  /* an empty match after the last line */
			ls = line_start(buf, ms, pos);
			le = line_end(buf, len, ms);
			if (me > le) {
				/* It spans lines: does the line match on its own?  And
				 * from here on, line by line: the next search from the
				 * next line could run as far again, and again. */
				m->spans = true;
				rc = match_line(g, m, buf, ls, le, &ms, &me);
				if (rc == PCRE2_ERROR_NOMATCH) {
					pos = le + 1;
					continue;
				}
				if (rc < 0)
					return rc;
			}
		} else {
			ls = pos;
			le = line_end(buf, len, pos);
			rc = match_line(g, m, buf, ls, le, &ms, &me);
			if (rc == PCRE2_ERROR_NOMATCH) {
				pos = le + 1;
				continue;
			}
			if (rc < 0)
				return rc;
		}
		if (*count < keep)
			add_hit(m, ls, le, ms, me);
		(*count)++;
		pos = le + 1;
	}
	return 0;
}

/* ---- grep: showing lines ---------------------------------------------------------- */

static size_t count_newlines(const char *p, size_t n)
{
	size_t c = 0;

	for (size_t i = 0; i < n; i++)
		c += p[i] == '\n';
	return c;
}

/* A line's text, at most GREP_LINE_SHOW bytes of it: for a long match line
 * the part around the match, marked with "..." where cut. */
static void put_text(struct buf *out, const char *line, size_t n, size_t ms, bool is_match)
{
	size_t start = 0, end = n;

	if (n > GREP_LINE_SHOW) {
		if (is_match && ms > GREP_LINE_SHOW / 3)
			start = ms - GREP_LINE_SHOW / 3;
		if (start + GREP_LINE_SHOW > n)
			start = n - GREP_LINE_SHOW;
		while (start < n && ((unsigned char)line[start] & 0xc0) == 0x80)
			start++;
		end = start + GREP_LINE_SHOW < n ? start + GREP_LINE_SHOW : n;
		while (end > start && end < n && ((unsigned char)line[end] & 0xc0) == 0x80)
			end--;
	}
	if (start)
		buf_puts(out, "...");
	utf8_sanitize(out, line + start, end - start);
	if (end < n)
		buf_printf(out, "... [%zu bytes]", n);
}

static void put_line(struct buf *out, const struct buf *shown, size_t lineno, char sep,
		     const char *line, size_t n, size_t ms, bool is_match)
{
	buf_add(out, shown->data, shown->len);
	buf_printf(out, "%c%zu%c", sep, lineno, sep);
	put_text(out, line, n, ms, is_match);
	buf_putc(out, '\n');
}

/* ---- grep: the run --------------------------------------------------------------- */

enum file_status {
	FILE_DONE,
	FILE_BINARY,
	FILE_TOO_BIG,
	FILE_UNREADABLE,
	FILE_LIMIT,      /* the match limit stopped it: counted lines are a lower bound */
	FILE_SKIPPED,    /* special file or the search was stopped */
};

struct grep_file {
	size_t name_off;        /* in the batch's names */
	size_t nmatch;          /* matching lines */
	enum file_status status;
	int err;                /* errno, or the PCRE2 error */
	struct buf out;         /* shown lines; for a problem, the path as shown */
	size_t *ends;           /* end of each kept match's lines in out */
	size_t nends;
};

struct grep_dir {
	int fd;
	atomic_int refs;
	char *path;             /* with its trailing '/' (or "") */
	size_t path_len;
};

struct grep_batch {
	struct grep_dir *dir;
	struct grep_batch *qnext, *onext;
	bool done;
	size_t n;
	struct buf names;
	struct grep_file files[GREP_BATCH_FILES];
};

struct grep_run {
	const struct grep_pat *pat;
	size_t max_results, context;
	uint64_t file_cap;
	pthread_mutex_t lock;
	pthread_cond_t work;
	struct grep_batch *q_head, *q_tail;   /* waiting to be searched */
	size_t queued;
	struct grep_batch *o_head, *o_tail;   /* all, in walk order, until collected */
	bool walk_done;
	atomic_bool full;                     /* enough lines kept: count only */
	atomic_bool stop;                     /* too many files over the match limit */
	atomic_uint limit_files;
	/* the walker's current batch and directory */
	struct grep_batch *cur;
	struct grep_dir *dir;
	int dir_fd;
	/* collected, in walk order */
	struct buf out;
	size_t shown, lines, files_matched, files_searched;
	size_t binary, too_big, unreadable, limited;
	struct buf too_big_names, unreadable_names, limited_names;
};

static void dir_unref(struct grep_dir *d)
{
	if (d && atomic_fetch_sub(&d->refs, 1) == 1) {
		close(d->fd);
		free(d->path);
		free(d);
	}
}

static int read_file(struct matcher *m, int fd, uint64_t cap, size_t *len, bool *too_big)
{
	struct stat st;
	size_t want;

	*len = 0;
	*too_big = false;
	if (fstat(fd, &st) != 0)
		return -1;
	if (!S_ISREG(st.st_mode)) {
		errno = 0;
		return -1;
	}
	if ((uint64_t)st.st_size > cap) {
		*too_big = true;
		return 0;
	}
	want = (size_t)st.st_size + 1;  /* one more: a short read then means the end */
	for (;;) {
		ssize_t n;

		if (*len + want + 1 > m->cap) {
			m->cap = *len + want + 4096;
			m->data = xrealloc(m->data, m->cap);
		}
		n = read(fd, m->data + *len, want);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		*len += (size_t)n;
		if ((uint64_t)*len > cap) {
			*too_big = true;
			return 0;
		}
		if ((size_t)n < want)
			break;  /* regular files read short only at the end */
		want = 65536;   /* it grew while we read */
	}
	m->data[*len] = '\0';
	return 0;
}

static void mark_problem(const struct matcher *m, struct grep_file *f, enum file_status st,
			 int err)
{
	f->status = st;
	f->err = err;
	buf_reset(&f->out);
	buf_add(&f->out, m->shown.data, m->shown.len);
	buf_putc(&f->out, '\0');
}

/* The kept hits of m, with their context, as lines of f->out. */
static void format_hits(const struct grep_run *run, const struct matcher *m, size_t len,
			struct grep_file *f)
{
	size_t lineno = 1, pos = 0, printed = 0, ctx = run->context;

	f->ends = xmalloc(m->nhits * sizeof *f->ends);
	for (size_t i = 0; i < m->nhits; i++) {
		const struct hit *h = &m->hits[i];
		size_t first, s, next_ls, k;

		lineno += count_newlines(m->data + pos, h->ls - pos);
		pos = h->ls;
		first = lineno > ctx ? lineno - ctx : 1;
		if (printed && first <= printed)
			first = printed + 1;
		if (printed && first > printed + 1)
			buf_puts(&f->out, "--\n");
		s = h->ls;
		for (k = lineno; k > first; k--)
			s = line_start(m->data, s - 1, 0);
		for (k = first; k < lineno; k++) {
			size_t e = line_end(m->data, len, s);

			put_line(&f->out, &m->shown, k, '-', m->data + s, e - s, 0, false);
			s = e + 1;
		}
		put_line(&f->out, &m->shown, lineno, ':', m->data + h->ls, h->le - h->ls,
			 h->ms - h->ls, true);
		printed = lineno;
		next_ls = i + 1 < m->nhits ? m->hits[i + 1].ls : (size_t)-1;
		for (s = h->le + 1, k = 0; k < ctx && s < len && s < next_ls; k++) {
			size_t e = line_end(m->data, len, s);

			put_line(&f->out, &m->shown, lineno + k + 1, '-', m->data + s, e - s, 0, false);
			printed = lineno + k + 1;
			s = e + 1;
		}
		f->ends[f->nends++] = f->out.len;
	}
}

/* Search the len bytes read into m->data as file f (m->shown names it). */
static void search_loaded(struct grep_run *run, struct matcher *m, struct grep_file *f,
			  size_t len)
{
	size_t keep, count = 0;
	int rc;

	if (memchr(m->data, '\0', len < GREP_BINARY_PROBE ? len : GREP_BINARY_PROBE)) {
		mark_problem(m, f, FILE_BINARY, 0);
		return;
	}
	keep = atomic_load_explicit(&run->full, memory_order_relaxed) ? 0 : run->max_results;
	rc = scan(run->pat, m, m->data, len, keep, &count);
	f->nmatch = count;
	if (rc < 0) {
		/* the lines before the limit are still shown */
		mark_problem(m, f, FILE_LIMIT, rc);
		if (atomic_fetch_add(&run->limit_files, 1) + 1 >= GREP_MAX_LIMIT_FILES)
			atomic_store(&run->stop, true);
	}
	if (m->nhits)
		format_hits(run, m, len, f);
}

static void search_file(struct grep_run *run, struct matcher *m, const struct grep_dir *dir,
			const char *name, struct grep_file *f)
{
	size_t len;
	bool too_big;
	int fd, rc;

	buf_reset(&m->shown);
	{
		struct buf full = BUF_INIT;

		buf_add(&full, dir->path, dir->path_len);
		buf_puts(&full, name);
		utf8_quote_path(&m->shown, full.data, full.len);
		buf_release(&full);
	}
	if (atomic_load_explicit(&run->stop, memory_order_relaxed)) {
		f->status = FILE_SKIPPED;
		return;
	}
	/* O_NOFOLLOW: a symbolic link swapped in since the listing is not
	 * followed; O_NONBLOCK: nor does a FIFO swapped in block the open */
	fd = openat(dir->fd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0) {
		mark_problem(m, f, errno == ELOOP ? FILE_SKIPPED : FILE_UNREADABLE, errno);
		return;
	}
	rc = read_file(m, fd, run->file_cap, &len, &too_big);
	close(fd);
	if (rc < 0)
		mark_problem(m, f, errno ? FILE_UNREADABLE : FILE_SKIPPED, errno);
	else if (too_big)
		mark_problem(m, f, FILE_TOO_BIG, 0);
	else
		search_loaded(run, m, f, len);
}

static void search_batch(struct grep_run *run, struct matcher *m, struct grep_batch *b)
{
	for (size_t i = 0; i < b->n; i++)
		search_file(run, m, b->dir, b->names.data + b->files[i].name_off, &b->files[i]);
	dir_unref(b->dir);
	b->dir = NULL;
}

static void batch_free(struct grep_batch *b)
{
	for (size_t i = 0; i < b->n; i++) {
		buf_release(&b->files[i].out);
		free(b->files[i].ends);
	}
	buf_release(&b->names);
	dir_unref(b->dir);
	free(b);
}

/* Take one file's results into the run's output (lock held). */
static void absorb(struct grep_run *run, struct grep_file *f)
{
	struct buf shown = BUF_INIT;

	switch (f->status) {
	case FILE_SKIPPED:
		return;
	case FILE_BINARY:
		run->binary++;
		return;
	case FILE_TOO_BIG:
		add_name(&run->too_big_names, run->too_big, f->out.data);
		run->too_big++;
		return;
	case FILE_UNREADABLE:
		buf_printf(&shown, "%s (%s)", f->out.data, strerror(f->err));
		add_name(&run->unreadable_names, run->unreadable, shown.data);
		run->unreadable++;
		buf_release(&shown);
		return;
	case FILE_LIMIT:
		add_name(&run->limited_names, run->limited, f->out.data);
		run->limited++;
		break;
	case FILE_DONE:
		break;
	}
	run->files_searched++;
	if (!f->nmatch)
		return;
	run->files_matched++;
	run->lines += f->nmatch;
	if (!f->nends || run->shown >= run->max_results || run->out.len > GREP_MAX_COLLECT) {
		atomic_store(&run->full, true);
		return;
	}
	{
		size_t take = f->nends, room = run->max_results - run->shown;
		size_t start = f->status == FILE_LIMIT ? strlen(f->out.data) + 1 : 0;

		if (take > room)
			take = room;
		if (run->context && run->out.len)
			buf_puts(&run->out, "--\n");
		buf_add(&run->out, f->out.data + start, f->ends[take - 1] - start);
		run->shown += take;
	}
	if (run->shown >= run->max_results || run->out.len > GREP_MAX_COLLECT)
		atomic_store(&run->full, true);
}

/* Collect every finished batch at the head of the walk order (lock held). */
static void collect(struct grep_run *run)
{
	while (run->o_head && run->o_head->done) {
		struct grep_batch *b = run->o_head;

		run->o_head = b->onext;
		if (!run->o_head)
			run->o_tail = NULL;
		for (size_t i = 0; i < b->n; i++)
			absorb(run, &b->files[i]);
		batch_free(b);
	}
}

static void finish_batch(struct grep_run *run, struct grep_batch *b)
{
	pthread_mutex_lock(&run->lock);
	b->done = true;
	collect(run);
	pthread_mutex_unlock(&run->lock);
}

static int matcher_init(struct matcher *m, struct grep_run *run)
{
	memset(m, 0, sizeof *m);
	m->run = run;
	m->md = pcre2_match_data_create_from_pattern(run->pat->code, NULL);
	m->mctx = pcre2_match_context_create(NULL);
	if (!m->md || !m->mctx)
		return -1;
	pcre2_set_match_limit(m->mctx, GREP_MATCH_LIMIT);
	if (run->pat->jit) {
		m->jstack = pcre2_jit_stack_create(32 * 1024, 1024 * 1024, NULL);
		if (m->jstack)
			pcre2_jit_stack_assign(m->mctx, NULL, m->jstack);
	}
	return 0;
}

static void matcher_release(struct matcher *m)
{
	pcre2_match_data_free(m->md);
	pcre2_match_context_free(m->mctx);
	pcre2_jit_stack_free(m->jstack);
	free(m->data);
	free(m->hits);
	buf_release(&m->shown);
}

/* Search queued batches until the walk is over and the queue empty. */
static void matcher_loop(struct matcher *m)
{
	struct grep_run *run = m->run;

	pthread_mutex_lock(&run->lock);
	for (;;) {
		struct grep_batch *b;

		while (!run->q_head && !run->walk_done)
			pthread_cond_wait(&run->work, &run->lock);
		if (!run->q_head)
			break;
		b = run->q_head;
		run->q_head = b->qnext;
		if (!run->q_head)
			run->q_tail = NULL;
		run->queued--;
		pthread_mutex_unlock(&run->lock);
		search_batch(run, m, b);
		pthread_mutex_lock(&run->lock);
		b->done = true;
		collect(run);
	}
	pthread_mutex_unlock(&run->lock);
}

static void *matcher_main(void *arg)
{
	matcher_loop(arg);
	return NULL;
}

/* The walker's side: batches of files of one directory run. */
static void grep_flush(struct grep_run *run, struct matcher *self)
{
	struct grep_batch *b = run->cur, *help = NULL;

	if (!b)
		return;
	run->cur = NULL;
	pthread_mutex_lock(&run->lock);
	if (run->o_tail)
		run->o_tail->onext = b;
	else
		run->o_head = b;
	run->o_tail = b;
	if (run->q_tail)
		run->q_tail->qnext = b;
	else
		run->q_head = b;
	run->q_tail = b;
	if (++run->queued > GREP_QUEUE_MAX) {
		/* the matchers are behind: search the oldest one here */
		help = run->q_head;
		run->q_head = help->qnext;
		if (!run->q_head)
			run->q_tail = NULL;
		run->queued--;
	}
	pthread_cond_signal(&run->work);
	pthread_mutex_unlock(&run->lock);
	if (help) {
		search_batch(run, self, help);
		finish_batch(run, help);
	}
}

struct grep_walk {
	struct grep_run *run;
	struct matcher *self;
};

static void grep_dir_enter(struct walk *w, int dirfd)
{
	struct grep_walk *gw = w->arg;

	gw->run->dir_fd = dirfd;
}

static void grep_dir_leave(struct walk *w)
{
	struct grep_walk *gw = w->arg;

	grep_flush(gw->run, gw->self);
	dir_unref(gw->run->dir);
	gw->run->dir = NULL;
	gw->run->dir_fd = -1;
}

static void grep_file(struct walk *w, const char *name, size_t len, unsigned char type,
		      bool selected)
{
	struct grep_walk *gw = w->arg;
	struct grep_run *run = gw->run;
	struct grep_batch *b;
	struct grep_file *f;

	if (type != DT_REG || !selected)
		return;  /* symbolic links are not followed */
	if (!run->dir) {
		int fd = dup(run->dir_fd);
		size_t dlen = w->path.len - len;

		if (fd < 0)
			return;
		run->dir = xcalloc(1, sizeof *run->dir);
		run->dir->fd = fd;
		atomic_init(&run->dir->refs, 1);
		run->dir->path = xstrndup(w->path.data, dlen);
		run->dir->path_len = dlen;
	}
	if (run->cur && run->cur->n == GREP_BATCH_FILES)
		grep_flush(run, gw->self);
	if (!run->cur) {
		run->cur = xcalloc(1, sizeof *run->cur);
		run->cur->dir = run->dir;
		atomic_fetch_add(&run->dir->refs, 1);
	}
	b = run->cur;
	f = &b->files[b->n++];
	f->name_off = b->names.len;
	buf_add(&b->names, name, len + 1);
}

static const struct walk_ops grep_ops = { grep_dir_enter, grep_dir_leave, grep_file };

static size_t cpu_count(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n < 1 ? 1 : n > GREP_MAX_THREADS ? GREP_MAX_THREADS : (size_t)n;
}

static void grep_summary(struct grep_run *run, const struct grep_pat *g, const struct root *rt,
			 struct buf *out)
{
	if (!run->lines) {
		buf_printf(out, "No matches in %s (%zu %s searched).\n", rt->shown.data,
			   run->files_searched, run->files_searched == 1 ? "file" : "files");
		if (g->newline_escape)
			buf_puts(out, "[lines are matched one at a time: \\n never matches]\n");
	} else if (run->shown < run->lines) {
		buf_printf(out,
			   "[%zu matching lines in %zu files; the first %zu shown; narrow the pattern, "
			   "the path or the glob, or raise max_results]\n",
			   run->lines, run->files_matched, run->shown);
	} else {
		buf_printf(out, "[%zu matching %s in %zu %s]\n", run->lines,
			   run->lines == 1 ? "line" : "lines", run->files_matched,
			   run->files_matched == 1 ? "file" : "files");
	}
	if (run->binary)
		buf_printf(out, "[%zu binary %s skipped]\n", run->binary,
			   run->binary == 1 ? "file" : "files");
	if (run->too_big) {
		buf_printf(out, "[%zu %s over ", run->too_big, run->too_big == 1 ? "file" : "files");
		put_size(out, run->file_cap);
		buf_puts(out, " skipped");
		put_names(out, &run->too_big_names, run->too_big);
		buf_puts(out, "]\n");
	}
	if (run->unreadable) {
		buf_printf(out, "[%zu %s could not be read", run->unreadable,
			   run->unreadable == 1 ? "file" : "files");
		put_names(out, &run->unreadable_names, run->unreadable);
		buf_puts(out, "]\n");
	}
	if (run->limited) {
		buf_printf(out,
			   "[the pattern hit PCRE2's match limit in %zu %s, not searched to the end",
			   run->limited, run->limited == 1 ? "file" : "files");
		put_names(out, &run->limited_names, run->limited);
		buf_puts(out, "; simplify the pattern (nested quantifiers such as (a+)+ "
			      "backtrack without end)]\n");
	}
	if (atomic_load(&run->stop))
		buf_printf(out, "[search stopped after %d files hit the match limit: results are "
				"incomplete]\n", GREP_MAX_LIMIT_FILES);
}

static void grep_run_release(struct grep_run *run)
{
	while (run->o_head) {
		struct grep_batch *b = run->o_head;

		run->o_head = b->onext;
		batch_free(b);
	}
	if (run->cur)
		batch_free(run->cur);
	dir_unref(run->dir);
	buf_release(&run->out);
	buf_release(&run->too_big_names);
	buf_release(&run->unreadable_names);
	buf_release(&run->limited_names);
	pthread_mutex_destroy(&run->lock);
	pthread_cond_destroy(&run->work);
}

int tool_grep(const struct tool_ctx *ctx, const cJSON *args, struct tool_result *r,
	      struct ferr *e)
{
	const char *pattern = arg_str(args, "pattern"), *path = arg_str(args, "path");
	const char *globtext = arg_str(args, "glob");
	struct root rt = { BUF_INIT, BUF_INIT, -1, false };
	struct grep_pat pat;
	struct grep_run run;
	struct glob g = { 0 };
	struct buf why = BUF_INIT;
	struct matcher *ms = NULL;
	size_t nthreads = 0;
	bool have_glob = false, have_pat = false;
	int ret;

	r->status = TOOL_OK;
	memset(&run, 0, sizeof run);
	pthread_mutex_init(&run.lock, NULL);
	pthread_cond_init(&run.work, NULL);
	run.dir_fd = -1;
	if (!pattern || !*pattern) {
		ret = tool_fail(r, TOOL_FAILED, "`pattern` is required: a PCRE2 regular expression");
		goto out;
	}
	if (grep_pat_compile(pattern, arg_bool(args, "case_insensitive", false), &pat, r) < 0) {
		ret = 0;
		goto out;
	}
	have_pat = true;
	ret = root_open(ctx, path && *path ? path : ".", true, &rt, r, e);
	if (ret)
		goto out;
	if (globtext && *globtext && !rt.is_file) {
		if (glob_compile(globtext, buf_cstr(&rt.rel), rt.rel.len, true, &g, &why) < 0) {
			ret = tool_fail(r, TOOL_FAILED, "bad glob: %s", why.data);
			goto out;
		}
		have_glob = true;
	}
	run.pat = &pat;
	run.max_results = (size_t)arg_int(args, "max_results", GREP_DEFAULT_RESULTS, 1,
					  GREP_MAX_RESULTS);
	run.context = (size_t)arg_int(args, "context", 0, 0, GREP_MAX_CONTEXT);
	run.file_cap = GREP_MAX_FILE;
	if (ctx->max_file_bytes && ctx->max_file_bytes < run.file_cap)
		run.file_cap = ctx->max_file_bytes;
	atomic_init(&run.full, false);
	atomic_init(&run.stop, false);
	atomic_init(&run.limit_files, 0);

	if (rt.is_file) {
		/* one file, named: no walk, no threads, no ignore rules */
		struct matcher m;
		struct grep_file f;
		size_t len = 0;
		bool too_big;

		memset(&f, 0, sizeof f);
		if (matcher_init(&m, &run) < 0) {
			matcher_release(&m);
			ret = ferr_set(e, FERR_INTERNAL, "grep: out of memory for PCRE2");
			goto out;
		}
		utf8_quote_path(&m.shown, rt.rel.data, rt.rel.len);
		if (read_file(&m, rt.fd, run.file_cap, &len, &too_big) < 0)
			mark_problem(&m, &f, FILE_UNREADABLE, errno);
		else if (too_big)
			mark_problem(&m, &f, FILE_TOO_BIG, 0);
		else
			search_loaded(&run, &m, &f, len);
		absorb(&run, &f);
		buf_reset(&r->output);
		if (f.status == FILE_BINARY)
			buf_printf(&r->output, "%s is a binary file (a NUL byte in its first %d bytes): "
				   "not searched.\n", m.shown.data, GREP_BINARY_PROBE);
		else if (f.status == FILE_TOO_BIG) {
			buf_printf(&r->output, "%s is larger than ", m.shown.data);
			put_size(&r->output, run.file_cap);
			buf_puts(&r->output, ": not searched.\n");
		}
		else if (f.status == FILE_UNREADABLE)
			buf_printf(&r->output, "%s could not be read: %s\n", m.shown.data,
				   strerror(f.err));
		else {
			buf_add(&r->output, buf_cstr(&run.out), run.out.len);
			grep_summary(&run, &pat, &rt, &r->output);
		}
		cap_output(r, ctx->max_output_bytes);
		buf_release(&f.out);
		free(f.ends);
		matcher_release(&m);
		ret = 0;
		goto out;
	}
	{
		struct walk w;
		struct grep_walk gw = { &run, NULL };
		struct matcher self;

		nthreads = cpu_count();
		ms = xcalloc(nthreads, sizeof *ms);
		if (matcher_init(&self, &run) < 0) {
			matcher_release(&self);
			ret = ferr_set(e, FERR_INTERNAL, "grep: out of memory for PCRE2");
			goto out;
		}
		gw.self = &self;
		for (size_t i = 0; i < nthreads; i++) {
			if (matcher_init(&ms[i], &run) < 0)
				break;
			if (pthread_create(&ms[i].tid, NULL, matcher_main, &ms[i]) != 0)
				break;
			ms[i].started = true;
		}
		walk_init(&w, ctx, &rt, &grep_ops, &gw);
		w.glob = have_glob ? &g : NULL;
		w.stop = &run.stop;
		walk_run(&w, &rt);
		grep_flush(&run, &self);
		pthread_mutex_lock(&run.lock);
		run.walk_done = true;
		pthread_cond_broadcast(&run.work);
		pthread_mutex_unlock(&run.lock);
		matcher_loop(&self);
		for (size_t i = 0; i < nthreads; i++)
			if (ms[i].started)
				pthread_join(ms[i].tid, NULL);
		pthread_mutex_lock(&run.lock);
		collect(&run);
		pthread_mutex_unlock(&run.lock);

		buf_reset(&r->output);
		buf_add(&r->output, buf_cstr(&run.out), run.out.len);
		grep_summary(&run, &pat, &rt, &r->output);
		walk_notes(&w, &r->output);
		cap_output(r, ctx->max_output_bytes);
		walk_release(&w);
		matcher_release(&self);
	}
	ret = 0;
out:
	if (ms) {
		for (size_t i = 0; i < nthreads; i++)
			matcher_release(&ms[i]);
		free(ms);
	}
	if (have_glob)
		glob_release(&g);
	if (have_pat)
		grep_pat_release(&pat);
	grep_run_release(&run);
	buf_release(&why);
	root_release(&rt);
	return ret < 0 ? -1 : 0;
}

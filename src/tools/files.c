/*
 * files.c — the built-in file tools read_file, write_file, edit_file and
 * list_dir (tools.h).  Every path goes through the path policy (pathpol.h):
 * reads and listings through pathpol_open_read(), writes through
 * pathpol_write_atomic() (temp file + rename on the checked directory, the
 * mode kept, no fsync).  A write first reads what it replaces, so that the
 * change record holds the previous content for undo.
 *
 * The hash read_file prints and edit_file checks (expected_hash) is FNV-1a
 * 64 of the file's bytes, as 16 lowercase hex digits: cheap, the same on
 * every machine, and enough to tell that a file changed since the model
 * read it.  It is not a defence against crafted collisions; a model gains
 * nothing by fooling its own check.
 *
 * Bounds: a file is read whole only up to max_file_bytes (0 means 16 MiB;
 * never more than 64 MiB); read_file shows at most 2000 lines and cuts a
 * line after 2000 bytes; list_dir shows 1000 entries and counts at most
 * 100000; every output is kept under max_output_bytes (0 means 128 KiB),
 * read_file by stopping at a whole line, the others head and tail kept.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "forja/tools.h"
#include "forja/utf8.h"

#define LINES_SHOWN_MAX 2000
#define LINE_BYTES_MAX 2000
#define SNIFF_BYTES 8192
#define DEFAULT_OUTPUT_BYTES ((uint64_t)128 * 1024)
#define DEFAULT_FILE_BYTES ((uint64_t)16 * 1024 * 1024)
#define HARD_FILE_BYTES ((uint64_t)64 * 1024 * 1024)
#define LIST_ENTRIES_MAX 1000
#define LIST_DEPTH_MAX 3
#define LIST_SCAN_MAX 100000
#define EDIT_HUNKS_SHOWN 3
#define EDIT_REPLACEMENTS_TRACKED 64
#define EDIT_BLOCKS_PER_HUNK 10
#define EDIT_CONTEXT_LINES 2
#define EDIT_HUNK_LINES 20
#define EDIT_LINES_LISTED 20
#define EDIT_HINT_LINES 5
#define HINT_NEEDLE_MAX 200
#define HINT_LINE_MAX 4096
#define HINT_CELLS_MAX ((size_t)32 * 1024 * 1024)
#define HINT_SHOWN_BYTES 300
#define REPLACEMENT "\xef\xbf\xbd"

/* ---- small helpers ------------------------------------------------------- */

static size_t output_cap(const struct tool_ctx *ctx)
{
	uint64_t cap = ctx->max_output_bytes ? ctx->max_output_bytes : DEFAULT_OUTPUT_BYTES;

	return cap > SIZE_MAX / 4 ? SIZE_MAX / 4 : (size_t)cap;
}

static size_t file_cap(const struct tool_ctx *ctx)
{
	uint64_t cap = ctx->max_file_bytes ? ctx->max_file_bytes : DEFAULT_FILE_BYTES;

	return (size_t)(cap > HARD_FILE_BYTES ? HARD_FILE_BYTES : cap);
}

static uint64_t fnv1a64(const char *p, size_t n)
{
	const unsigned char *s = (const unsigned char *)p;
	uint64_t h = 0xcbf29ce484222325ULL;

	for (size_t i = 0; i < n; i++) {
		h ^= s[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

static void hash_hex(char out[17], const char *p, size_t n)
{
	snprintf(out, 17, "%016" PRIx64, fnv1a64(p, n));
}

static int say(struct tool_result *r, enum tool_status status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Set r's status and append a message for the model; returns 0. */
static int say(struct tool_result *r, enum tool_status status, const char *fmt, ...)
{
	va_list ap;

	r->status = status;
	va_start(ap, fmt);
	buf_vprintf(&r->output, fmt, ap);
	va_end(ap);
	return 0;
}

/* A refusal or an I/O failure from the path policy is the tool's answer
 * (0); anything else is forja's own error (-1, e filled). */
static int answer_ferr(struct tool_result *r, const struct ferr *fe, struct ferr *e)
{
	if (fe->cls == FERR_DENIED || fe->cls == FERR_IO) {
		r->status = fe->cls == FERR_DENIED ? TOOL_DENIED : TOOL_FAILED;
		/* ferr_set may have cut the message inside a character. */
		utf8_sanitize(&r->output, fe->msg, strlen(fe->msg));
		return 0;
	}
	return ferr_set(e, fe->cls == FERR_NONE ? FERR_INTERNAL : fe->cls, "%s", fe->msg);
}

static size_t count_byte(const char *p, size_t n, char c)
{
	size_t count = 0;
	const char *end = p + n;

	while (p < end && (p = memchr(p, c, (size_t)(end - p))) != NULL) {
		count++;
		p++;
	}
	return count;
}

/* Keep r->output under cap bytes: its head and its tail, cut at characters. */
static void clamp_output(struct tool_result *r, size_t cap)
{
	static const char mark[] = "\n[... %zu bytes cut ...]\n";
	struct buf kept = BUF_INIT;
	const char *s = r->output.data;
	size_t len = r->output.len, head, tail, cut;

	if (len <= cap)
		return;
	if (cap < 128) {
		head = cap;
		tail = 0;
	} else {
		tail = cap / 4;
		head = cap - tail - 64;
	}
	while (head > 0 && ((unsigned char)s[head] & 0xc0) == 0x80)
		head--;
	while (tail > 0 && ((unsigned char)s[len - tail] & 0xc0) == 0x80)
		tail--;
	cut = len - head - tail;
	buf_add(&kept, s, head);
	if (cap >= 128)
		buf_printf(&kept, mark, cut);
	buf_add(&kept, s + len - tail, tail);
	buf_release(&r->output);
	r->output = kept;
	r->cut_bytes += cut;
}

/* ---- arguments ------------------------------------------------------------ */

/* Each returns 1 when the argument is there, 0 when absent (or null), -1
 * when it has the wrong type or range (r then holds the message).  The
 * contract's schema already checked all this; the tools check again
 * because they are also called directly. */

static int arg_string(const cJSON *args, const char *name, const char **s, size_t *len,
		      struct tool_result *r)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(args, name);

	if (!v || cJSON_IsNull(v))
		return 0;
	if (!cJSON_IsString(v) || !v->valuestring) {
		say(r, TOOL_FAILED, "`%s`: expected a string", name);
		return -1;
	}
	*s = v->valuestring;
	*len = strlen(v->valuestring);
	return 1;
}

static int arg_required_string(const cJSON *args, const char *name, const char **s, size_t *len,
			       struct tool_result *r)
{
	int got = arg_string(args, name, s, len, r);

	if (got == 0) {
		say(r, TOOL_FAILED, "`%s`: required", name);
		return -1;
	}
	return got;
}

static int arg_int(const cJSON *args, const char *name, long long lo, long long hi, long long *out,
		   struct tool_result *r)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(args, name);
	double d;

	if (!v || cJSON_IsNull(v))
		return 0;
	if (!cJSON_IsNumber(v)) {
		say(r, TOOL_FAILED, "`%s`: expected an integer", name);
		return -1;
	}
	d = v->valuedouble;
	/* In range first, so that the cast is defined; then whole. */
	if (!isfinite(d) || d < (double)lo || d > (double)hi || (double)(long long)d != d) {
		say(r, TOOL_FAILED, "`%s`: must be an integer from %lld to %lld", name, lo, hi);
		return -1;
	}
	*out = (long long)d;
	return 1;
}

static int arg_bool(const cJSON *args, const char *name, bool *out, struct tool_result *r)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(args, name);

	if (!v || cJSON_IsNull(v))
		return 0;
	if (!cJSON_IsBool(v)) {
		say(r, TOOL_FAILED, "`%s`: expected true or false", name);
		return -1;
	}
	*out = cJSON_IsTrue(v);
	return 1;
}

static int check_call(const struct tool_ctx *ctx, const cJSON *args, struct tool_result *r,
		      const char *tool, struct ferr *e)
{
	if (!ctx || !ctx->ws || ctx->ws->root_fd < 0 || !r)
		return ferr_set(e, FERR_INTERNAL, "%s: called without a workspace or a result", tool);
	if (!cJSON_IsObject(args)) {
		say(r, TOOL_FAILED, "the arguments must be a JSON object");
		return 1;
	}
	return 0;
}

/* ---- reading files --------------------------------------------------------- */

struct file_bytes {
	struct buf data;       /* what was read, at most the cap */
	bool truncated;        /* the file holds more than the cap */
	uint64_t size;         /* its size when opened */
	uint32_t mode;         /* its permission bits */
};

/* Read path whole, up to cap bytes, through the path policy. */
static int read_whole(const struct pathpol *ws, const char *path, size_t path_len, size_t cap,
		      struct file_bytes *f, struct ferr *fe)
{
	struct stat st;
	size_t want;
	int fd, ret = -1;

	if (pathpol_open_read(ws, path, path_len, false, &fd, fe) < 0)
		return -1;
	if (fstat(fd, &st) != 0) {
		char *d = utf8_path_dup(path, path_len);

		ferr_set(fe, FERR_IO, "%s: %s", d, strerror(errno));
		free(d);
		goto out;
	}
	f->size = (uint64_t)st.st_size;
	f->mode = (uint32_t)(st.st_mode & 07777);
	want = (f->size < cap ? (size_t)f->size : cap) + 1;
	buf_grow(&f->data, want);
	for (;;) {
		size_t room = cap + 1 - f->data.len, chunk;
		ssize_t n;

		if (room == 0)
			break;
		/* The file may have grown since fstat: then read on in steps. */
		chunk = f->data.len < want ? want - f->data.len : 65536;
		if (chunk > room)
			chunk = room;
		buf_grow(&f->data, chunk);
		n = read(fd, f->data.data + f->data.len, chunk);
		if (n < 0) {
			char *d;

			if (errno == EINTR)
				continue;
			d = utf8_path_dup(path, path_len);
			ferr_set(fe, FERR_IO, "%s: %s", d, strerror(errno));
			free(d);
			goto out;
		}
		if (n == 0)
			break;
		f->data.len += (size_t)n;
	}
	if (f->data.len > cap) {
		f->data.len = cap;
		f->truncated = true;
	}
	f->data.data[f->data.len] = '\0';
	ret = 0;
out:
	close(fd);
	return ret;
}

static bool is_text_control(unsigned char c)
{
	return c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v' || c == '\b' ||
	       c == 0x1b;
}

/* A NUL in the first 8 KiB, or mostly bytes that are neither UTF-8 nor
 * the control characters text uses. */
static bool looks_binary(const char *p, size_t n)
{
	const unsigned char *s = (const unsigned char *)p;
	size_t len = n < SNIFF_BYTES ? n : SNIFF_BYTES, bad = 0;

	if (memchr(p, 0, len))
		return true;
	for (size_t i = 0; i < len;) {
		size_t k;

		if (s[i] < 0x80) {
			if (s[i] < 0x20 && !is_text_control(s[i]))
				bad++;
			i++;
			continue;
		}
		k = utf8_seq_len(s + i, len - i);
		if (k) {
			i += k;
			continue;
		}
		if (len < n && len - i < 4)
			break;          /* a character cut by the end of the sample */
		bad++;
		i++;
	}
	return bad * 10 > len * 3;
}

/* Append file text: invalid UTF-8 and NUL bytes as U+FFFD, the rest as
 * it is (tabs and other controls are valid UTF-8; JSON escapes them). */
static void put_text(struct buf *out, const char *p, size_t n)
{
	const unsigned char *s = (const unsigned char *)p;
	size_t i = 0, run = 0;

	while (i < n) {
		size_t k;

		if (s[i] >= 0x20 && s[i] < 0x80) {
			i++;
			continue;
		}
		k = s[i] ? utf8_seq_len(s + i, n - i) : 0;
		if (k) {
			i += k;
			continue;
		}
		buf_add(out, p + run, i - run);
		buf_add(out, REPLACEMENT, 3);
		run = ++i;
	}
	buf_add(out, p + run, n - run);
}

/* Append one line of at most max bytes (cut at a character, with a note). */
static void put_line(struct buf *out, const char *p, size_t n, size_t max)
{
	size_t cut = n;

	if (n > max) {
		cut = max;
		while (cut > max - 3 && ((unsigned char)p[cut] & 0xc0) == 0x80)
			cut--;
	}
	put_text(out, p, cut);
	if (cut < n)
		buf_printf(out, " [... %zu more bytes in this line]", n - cut);
}

struct text_shape {
	size_t lines;          /* counting a last line without a newline */
	size_t newlines;
	size_t crlf;           /* newlines preceded by "\r" */
	bool final_newline;
};

static void text_shape(const char *p, size_t n, struct text_shape *t)
{
	const char *s = p, *end = p + n, *nl;

	memset(t, 0, sizeof *t);
	while (s < end && (nl = memchr(s, '\n', (size_t)(end - s))) != NULL) {
		t->newlines++;
		if (nl > p && nl[-1] == '\r')
			t->crlf++;
		s = nl + 1;
	}
	t->final_newline = n > 0 && p[n - 1] == '\n';
	t->lines = t->newlines + (n > 0 && !t->final_newline);
}

/* The line at *p (without its "\n" and a "\r" before it); moves *p on. */
static size_t next_line(const char **p, const char *end, const char **line)
{
	const char *nl = memchr(*p, '\n', (size_t)(end - *p));
	size_t n;

	*line = *p;
	if (!nl) {
		n = (size_t)(end - *p);
		*p = end;
		return n;
	}
	n = (size_t)(nl - *p);
	*p = nl + 1;
	if (n > 0 && (*line)[n - 1] == '\r')
		n--;
	return n;
}

static void put_line_endings(struct buf *out, const struct text_shape *t)
{
	if (t->crlf > 0 && t->crlf == t->newlines)
		buf_puts(out, ", CRLF line endings");
	else if (t->crlf > 0)
		buf_printf(out, ", mixed line endings (%zu of %zu end in CRLF; shown without the CR)",
			   t->crlf, t->newlines);
	if (t->lines > 0 && !t->final_newline)
		buf_puts(out, ", no newline at end of file");
}

/* For a read that failed: a directory gets a pointer to list_dir. */
static int answer_read_failure(const struct tool_ctx *ctx, const char *path, size_t path_len,
			       const struct buf *disp, const struct ferr *fe,
			       struct tool_result *r, struct ferr *e)
{
	if (fe->cls == FERR_IO) {
		struct ferr fe2 = FERR_INIT;
		int fd;

		if (pathpol_open_read(ctx->ws, path, path_len, true, &fd, &fe2) == 0) {
			close(fd);
			return say(r, TOOL_FAILED,
				   "%s is a directory; use list_dir to see what it holds",
				   buf_cstr(disp));
		}
	}
	return answer_ferr(r, fe, e);
}

int tool_read_file(const struct tool_ctx *ctx, const cJSON *args, struct tool_result *r,
		   struct ferr *e)
{
	struct buf rel = BUF_INIT, disp = BUF_INIT, body = BUF_INIT;
	struct file_bytes f = { BUF_INIT, false, 0, 0 };
	struct ferr fe = FERR_INIT;
	struct text_shape shape;
	const char *path, *p, *end;
	size_t path_len, first, last, shown_last, budget, cap;
	long long offset = 1, limit = LINES_SHOWN_MAX;
	bool cut_by_bytes = false;
	char hash[17];
	int ret;

	if ((ret = check_call(ctx, args, r, "read_file", e)) != 0)
		return ret < 0 ? -1 : 0;
	ret = 0;
	if (arg_required_string(args, "path", &path, &path_len, r) < 0 ||
	    arg_int(args, "offset", 1, (long long)1 << 53, &offset, r) < 0 ||
	    arg_int(args, "limit", 1, (long long)1 << 53, &limit, r) < 0)
		goto out;
	if (pathpol_normalise(ctx->ws, path, path_len, &rel, &fe) < 0) {
		ret = answer_ferr(r, &fe, e);
		goto out;
	}
	utf8_quote_path(&disp, rel.data, rel.len);
	if (read_whole(ctx->ws, path, path_len, file_cap(ctx), &f, &fe) < 0) {
		ret = answer_read_failure(ctx, path, path_len, &disp, &fe, r, e);
		goto out;
	}
	hash_hex(hash, f.data.data, f.data.len);
	if (looks_binary(f.data.data, f.data.len)) {
		say(r, TOOL_OK, "%s: binary file, %" PRIu64 " bytes, not shown", buf_cstr(&disp),
		    f.size);
		if (!f.truncated)
			buf_printf(&r->output, " (hash %s)", hash);
		goto out;
	}
	text_shape(f.data.data, f.data.len, &shape);
	if (shape.lines == 0) {
		say(r, TOOL_OK, "%s: empty file (0 bytes), hash %s", buf_cstr(&disp), hash);
		goto out;
	}
	if ((uint64_t)offset > shape.lines) {
		say(r, TOOL_FAILED, "%s: offset %lld is past the end: the file has %zu line%s",
		    buf_cstr(&disp), offset, shape.lines, shape.lines == 1 ? "" : "s");
		if (f.truncated)
			buf_printf(&r->output, " in its first %zu bytes, all that is read of it",
				   f.data.len);
		goto out;
	}

	first = (size_t)offset;
	if (limit > LINES_SHOWN_MAX)
		limit = LINES_SHOWN_MAX;
	last = first - 1 + (size_t)limit;
	if (last > shape.lines)
		last = shape.lines;
	cap = output_cap(ctx);
	budget = cap > 512 ? cap - 512 : 0;     /* room for the header and the note */
	p = f.data.data;
	end = p + f.data.len;
	for (size_t skip = 1; skip < first; skip++) {
		const char *line;

		next_line(&p, end, &line);
	}
	shown_last = first - 1;
	for (size_t no = first; no <= last; no++) {
		const char *line, *at = p;
		size_t mark = body.len, n = next_line(&p, end, &line);

		buf_printf(&body, "%6zu\t", no);
		put_line(&body, line, n, LINE_BYTES_MAX);
		buf_putc(&body, '\n');
		if (body.len > budget) {
			const char *stop = p;

			buf_truncate(&body, mark);
			cut_by_bytes = true;
			for (size_t rest = no + 1; rest <= last; rest++)
				next_line(&stop, end, &line);
			r->cut_bytes = (uint64_t)(stop - at);
			break;
		}
		shown_last = no;
	}

	r->status = TOOL_OK;
	if (f.truncated) {
		buf_printf(&r->output,
			   "%s: %" PRIu64 " bytes, more than the %zu-byte read limit: only its "
			   "first %zu bytes are read, no hash; ",
			   buf_cstr(&disp), f.size, f.data.len, f.data.len);
		/* The cut is no end of file: say nothing about a final newline. */
		shape.final_newline = true;
	} else {
		buf_printf(&r->output, "%s: ", buf_cstr(&disp));
	}
	if (shown_last >= first)
		buf_printf(&r->output, "lines %zu-%zu of %s%zu", first, shown_last,
			   f.truncated ? "the " : "", shape.lines);
	else
		buf_printf(&r->output, "no line shown of %s%zu", f.truncated ? "the " : "",
			   shape.lines);
	if (f.truncated)
		buf_puts(&r->output, " read");
	else
		buf_printf(&r->output, ", %zu bytes, hash %s", f.data.len, hash);
	put_line_endings(&r->output, &shape);
	buf_putc(&r->output, '\n');
	buf_add(&r->output, body.data, body.len);
	if (cut_by_bytes)
		buf_printf(&r->output,
			   "[output limit of %zu bytes reached after line %zu; continue with "
			   "offset=%zu]\n",
			   cap, shown_last, shown_last + 1);
	else if (shown_last < shape.lines)
		buf_printf(&r->output, "[%zu more lines; continue with offset=%zu]\n",
			   shape.lines - shown_last, shown_last + 1);
out:
	clamp_output(r, output_cap(ctx));
	buf_release(&body);
	buf_release(&f.data);
	buf_release(&disp);
	buf_release(&rel);
	return ret;
}

/* ---- writing files --------------------------------------------------------- */

/* The checks every write starts with: the path's shape, read-only mode and
 * the write rules on the name.  1 when r holds the refusal. */
static int check_writable(const struct tool_ctx *ctx, const char *path, size_t path_len,
			  struct buf *rel, struct buf *disp, struct tool_result *r, int *ret,
			  struct ferr *e)
{
	struct ferr fe = FERR_INIT;

	if (pathpol_normalise(ctx->ws, path, path_len, rel, &fe) < 0) {
		*ret = answer_ferr(r, &fe, e);
		return 1;
	}
	utf8_quote_path(disp, rel->data, rel->len);
	if (ctx->read_only) {
		say(r, TOOL_DENIED, "%s: refused: the sandbox is read-only; no file may be written",
		    buf_cstr(disp));
		return 1;
	}
	if (pathpol_check_write(ctx->ws, rel->data, ctx->deny_write, ctx->ndeny_write, &fe) < 0) {
		*ret = answer_ferr(r, &fe, e);
		return 1;
	}
	return 0;
}

/* Look at the name rel in its directory without following it: 1 with *st
 * filled when it exists, 0 when it does not (nor, maybe, its directory),
 * -1 when that cannot be told. */
static int lstat_name(const struct tool_ctx *ctx, const struct buf *rel, struct stat *st)
{
	const char *slash = strrchr(rel->data, '/'), *name = slash ? slash + 1 : rel->data;
	struct ferr fe = FERR_INIT;
	int dfd, ret;

	if (pathpol_open_read(ctx->ws, slash ? rel->data : ".",
			      slash ? (size_t)(slash - rel->data) : 1, true, &dfd, &fe) < 0) {
		/* pathpol keeps only the message; a missing directory (or a file
		 * where one was expected) means no file by that name. */
		if (fe.cls == FERR_IO &&
		    (strstr(fe.msg, strerror(ENOENT)) || strstr(fe.msg, strerror(ENOTDIR))))
			return 0;
		return -1;
	}
	if (fstatat(dfd, name, st, AT_SYMLINK_NOFOLLOW) == 0)
		ret = 1;
	else
		ret = errno == ENOENT ? 0 : -1;
	close(dfd);
	return ret;
}

/* What path holds now, kept for undo: 0 with *existed and f filled (f
 * empty for a new file), or 1 with r holding why it cannot be replaced
 * (unreadable, larger than the cap, a directory, refused). */
static int read_previous(const struct tool_ctx *ctx, const char *path, size_t path_len,
			 const struct buf *rel, const struct buf *disp, size_t cap,
			 struct file_bytes *f, bool *existed, struct tool_result *r, int *ret,
			 struct ferr *e)
{
	struct ferr fe = FERR_INIT;
	struct stat st;
	int exists;

	*existed = false;
	if (read_whole(ctx->ws, path, path_len, cap, f, &fe) == 0) {
		if (f->truncated) {
			say(r, TOOL_FAILED,
			    "%s: is %" PRIu64 " bytes, more than the %zu-byte limit of these "
			    "tools; it is not replaced, because its previous content could not be "
			    "kept for undo",
			    buf_cstr(disp), f->size, cap);
			return 1;
		}
		*existed = true;
		return 0;
	}
	if (fe.cls != FERR_IO) {
		*ret = answer_ferr(r, &fe, e);
		return 1;
	}
	/* Unreadable: a new file, a link the write will refuse with its own
	 * rule, or a real problem (a directory, permissions) that stops it. */
	exists = lstat_name(ctx, rel, &st);
	if (exists == 0 || (exists == 1 && S_ISLNK(st.st_mode))) {
		buf_reset(&f->data);
		return 0;
	}
	if (exists == 1 && S_ISDIR(st.st_mode)) {
		say(r, TOOL_FAILED, "%s is a directory; name a file to write", buf_cstr(disp));
		return 1;
	}
	*ret = answer_read_failure(ctx, path, path_len, disp, &fe, r, e);
	return 1;
}

/* Write data to path atomically and record the change (before: what the
 * caller read there).  0 done; -1 done, but the file was not what was read
 * when it was replaced (another process raced us: the record may be off);
 * 1 not written, r holding why.  The check is by existence and size only:
 * pathpol_prev reports no more. */
static int write_and_record(const struct tool_ctx *ctx, const char *path, size_t path_len,
			    const struct buf *rel, const char *data, size_t len, bool mkdirs,
			    bool existed, const struct file_bytes *before, struct tool_result *r,
			    int *ret, struct ferr *e)
{
	struct pathpol_prev prev;
	struct ferr fe = FERR_INIT;

	if (pathpol_write_atomic(ctx->ws, path, path_len, data, len, mkdirs, ctx->deny_write,
				 ctx->ndeny_write, &prev, &fe) < 0) {
		*ret = answer_ferr(r, &fe, e);
		return 1;
	}
	tool_result_add_change(r, rel->data, prev.existed, before->data.data, before->data.len,
			       prev.existed ? (uint32_t)prev.mode : 0);
	r->status = TOOL_OK;
	if (prev.existed != existed || (uint64_t)prev.size != (uint64_t)before->data.len)
		return -1;      /* it changed between the read and the write */
	return 0;
}

static void note_race(struct tool_result *r, const struct buf *disp)
{
	buf_printf(&r->output,
		   "\nnote: %s changed on disk while it was being written; the previous "
		   "content kept for undo may not be exact",
		   buf_cstr(disp));
}

int tool_write_file(const struct tool_ctx *ctx, const cJSON *args, struct tool_result *r,
		    struct ferr *e)
{
	struct buf rel = BUF_INIT, disp = BUF_INIT;
	struct file_bytes before = { BUF_INIT, false, 0, 0 };
	const char *path, *content;
	size_t path_len, content_len, cap;
	bool existed;
	char hash[17];
	int ret, raced;

	if ((ret = check_call(ctx, args, r, "write_file", e)) != 0)
		return ret < 0 ? -1 : 0;
	ret = 0;
	if (arg_required_string(args, "path", &path, &path_len, r) < 0 ||
	    arg_required_string(args, "content", &content, &content_len, r) < 0)
		goto out;
	if (check_writable(ctx, path, path_len, &rel, &disp, r, &ret, e))
		goto out;
	cap = file_cap(ctx);
	if (content_len > cap) {
		say(r, TOOL_FAILED,
		    "%s: the content is %zu bytes, more than the %zu-byte limit for a file; "
		    "nothing written",
		    buf_cstr(&disp), content_len, cap);
		goto out;
	}
	if (read_previous(ctx, path, path_len, &rel, &disp, cap, &before, &existed, r, &ret, e))
		goto out;
	hash_hex(hash, content, content_len);
	if (existed && before.data.len == content_len &&
	    memcmp(before.data.data, content, content_len) == 0) {
		say(r, TOOL_OK, "%s already holds these %zu bytes; nothing written (hash %s)",
		    buf_cstr(&disp), content_len, hash);
		goto out;
	}
	raced = write_and_record(ctx, path, path_len, &rel, content, content_len, true, existed,
				 &before, r, &ret, e);
	if (raced > 0)
		goto out;
	buf_printf(&r->output, "wrote %zu bytes to %s (", content_len, buf_cstr(&disp));
	if (r->changes[r->nchanges - 1].existed)
		buf_printf(&r->output, "replaced %zu bytes)", before.data.len);
	else
		buf_puts(&r->output, "new file)");
	buf_printf(&r->output, ", hash %s", hash);
	if (raced < 0)
		note_race(r, &disp);
out:
	clamp_output(r, output_cap(ctx));
	buf_release(&before.data);
	buf_release(&disp);
	buf_release(&rel);
	return ret;
}

/* ---- edit_file --------------------------------------------------------------- */

/* Non-overlapping occurrences of needle in hay. */
static size_t count_matches(const char *hay, size_t n, const char *needle, size_t len)
{
	const char *p = hay, *end = hay + n, *hit;
	size_t count = 0;

	while ((size_t)(end - p) >= len && (hit = memmem(p, (size_t)(end - p), needle, len))) {
		count++;
		p = hit + len;
	}
	return count;
}

/* s with every "\n" not already after "\r" written as "\r\n". */
static void to_crlf(struct buf *out, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\n' && (i == 0 || s[i - 1] != '\r'))
			buf_putc(out, '\r');
		buf_putc(out, s[i]);
	}
}

static size_t line_of(const char *p, size_t off)
{
	return 1 + count_byte(p, off, '\n');
}

/* Tell the model where its first line comes closest: the file line with the
 * longest common substring with the first non-blank line of old_string. */
static void hint_closest(struct buf *out, const char *text, size_t n, const char *old,
			 size_t old_n)
{
	uint16_t row[HINT_NEEDLE_MAX + 1];
	const char *p = old, *end = old + old_n, *needle = NULL, *best_at = NULL;
	size_t needle_len = 0, best = 0, best_line = 0, cells = 0, old_lines, no = 0;
	bool partial = false;

	while (p < end) {
		const char *line;
		size_t len = next_line(&p, end, &line);

		while (len > 0 && (line[0] == ' ' || line[0] == '\t')) {
			line++;
			len--;
		}
		while (len > 0 && (line[len - 1] == ' ' || line[len - 1] == '\t' ||
				   line[len - 1] == '\r'))
			len--;
		if (len > 0) {
			needle = line;
			needle_len = len < HINT_NEEDLE_MAX ? len : HINT_NEEDLE_MAX;
			break;
		}
	}
	if (!needle)
		return;
	old_lines = count_byte(needle, (size_t)(end - needle), '\n') + 1;
	if (old_lines > EDIT_HINT_LINES)
		old_lines = EDIT_HINT_LINES;

	p = text;
	end = text + n;
	while (p < end) {
		const char *line;
		size_t len = next_line(&p, end, &line), top = 0;

		no++;
		if (len > HINT_LINE_MAX)
			len = HINT_LINE_MAX;
		if (len <= best)
			continue;       /* cannot beat the best */
		if (cells + len * needle_len > HINT_CELLS_MAX) {
			partial = true;
			break;
		}
		cells += len * needle_len;
		memset(row, 0, sizeof row);
		for (size_t i = 0; i < len; i++)
			for (size_t j = needle_len; j > 0; j--) {
				row[j] = line[i] == needle[j - 1] ? (uint16_t)(row[j - 1] + 1) : 0;
				if (row[j] > top)
					top = row[j];
			}
		if (top > best) {
			best = top;
			best_line = no;
			best_at = line;
			if (best == needle_len)
				break;
		}
	}
	if (!best_at || (best * 3 < needle_len && best < 20)) {
		buf_printf(out, "\nNo line of the file resembles its first line%s.",
			   partial ? " (in the part searched)" : "");
		return;
	}
	buf_printf(out, "\nThe closest text to its first line is at line %zu%s:\n", best_line,
		   partial ? " (in the part searched)" : "");
	p = best_at;
	for (size_t k = 0; k < old_lines && p < end; k++) {
		const char *line;
		size_t len = next_line(&p, end, &line);

		buf_printf(out, "%6zu\t", best_line + k);
		put_line(out, line, len, HINT_SHOWN_BYTES);
		buf_putc(out, '\n');
	}
	buf_puts(out, "Copy the text exactly as read_file shows it (without the line-number "
		      "prefix), or read the file again: it may have changed.");
}

/* Lines in [a, b): newlines, plus a last line without one. */
static size_t lines_in(const char *p, size_t a, size_t b)
{
	if (b <= a)
		return 0;
	return count_byte(p + a, b - a, '\n') + (p[b - 1] != '\n');
}

static void put_lines(struct buf *out, char prefix, const char *p, size_t a, size_t b)
{
	const char *s = p + a, *end = p + b;
	size_t shown = 0, total = lines_in(p, a, b);

	while (s < end) {
		const char *line;
		size_t len;

		if (shown == EDIT_HUNK_LINES && total > EDIT_HUNK_LINES + 1) {
			buf_printf(out, "%c[... %zu more lines]\n", prefix, total - shown);
			return;
		}
		len = next_line(&s, end, &line);
		buf_putc(out, prefix);
		put_line(out, line, len, LINE_BYTES_MAX);
		buf_putc(out, '\n');
		shown++;
	}
}

/* One replacement: where the match was and where its replacement is. */
struct replacement {
	size_t old_off, old_len;
	size_t new_off, new_len;
};

/* The whole lines a change covers, in the old text and in the new. */
struct block {
	size_t old_start, old_end;
	size_t new_start, new_end;
	size_t replacements;
};

static struct block block_of(const char *old, size_t old_n, const struct replacement *rp)
{
	struct block b;
	size_t match_end = rp->old_off + rp->old_len;

	b.old_start = rp->old_off;
	while (b.old_start > 0 && old[b.old_start - 1] != '\n')
		b.old_start--;
	b.old_end = match_end;
	if (old[b.old_end - 1] != '\n') {
		const char *nl = memchr(old + b.old_end, '\n', old_n - b.old_end);

		b.old_end = nl ? (size_t)(nl - old) + 1 : old_n;
	}
	/* The text around the match on its lines is the same in both. */
	b.new_start = rp->new_off - (rp->old_off - b.old_start);
	b.new_end = rp->new_off + rp->new_len + (b.old_end - match_end);
	b.replacements = 1;
	return b;
}

/* A unified-diff-style view of the first replacements: those on one line
 * make one block, blocks at most 2 * EDIT_CONTEXT_LINES lines apart one
 * hunk (of EDIT_BLOCKS_PER_HUNK blocks at most); EDIT_HUNKS_SHOWN hunks at
 * most.  Returns the replacements shown. */
static size_t put_hunks(struct buf *out, const char *old, size_t old_n, const char *neu,
			size_t new_n, const struct replacement *rps, size_t nrps)
{
	struct block *blocks = xmalloc((nrps ? nrps : 1) * sizeof *blocks);
	size_t nblocks = 0, shown = 0, hunks = 0;

	for (size_t i = 0; i < nrps; i++) {
		struct block b = block_of(old, old_n, &rps[i]);

		if (nblocks > 0 && b.old_start < blocks[nblocks - 1].old_end) {
			struct block *prev = &blocks[nblocks - 1];

			prev->old_end = b.old_end;
			prev->new_end = b.new_end;
			prev->replacements++;
		} else {
			blocks[nblocks++] = b;
		}
	}
	for (size_t first = 0; first < nblocks && hunks < EDIT_HUNKS_SHOWN; hunks++) {
		size_t last = first, before, after, ctx_before = 0, ctx_after = 0;
		bool full = false;

		while (last + 1 < nblocks &&
		       count_byte(neu + blocks[last].new_end,
				  blocks[last + 1].new_start - blocks[last].new_end,
				  '\n') <= 2 * EDIT_CONTEXT_LINES) {
			if (last - first + 1 == EDIT_BLOCKS_PER_HUNK) {
				full = true;
				break;
			}
			last++;
		}
		before = blocks[first].new_start;
		while (before > 0 && ctx_before < EDIT_CONTEXT_LINES) {
			before--;
			while (before > 0 && neu[before - 1] != '\n')
				before--;
			ctx_before++;
		}
		after = blocks[last].new_end;
		while (after < new_n && ctx_after < EDIT_CONTEXT_LINES) {
			const char *nl = memchr(neu + after, '\n', new_n - after);

			after = nl ? (size_t)(nl - neu) + 1 : new_n;
			ctx_after++;
		}
		buf_printf(out, "@@ -%zu,%zu +%zu,%zu @@\n",
			   line_of(old, blocks[first].old_start) - ctx_before,
			   ctx_before + lines_in(old, blocks[first].old_start, blocks[last].old_end) +
				   ctx_after,
			   line_of(neu, blocks[first].new_start) - ctx_before,
			   ctx_before + lines_in(neu, blocks[first].new_start, blocks[last].new_end) +
				   ctx_after);
		put_lines(out, ' ', neu, before, blocks[first].new_start);
		for (size_t k = first; k <= last; k++) {
			put_lines(out, '-', old, blocks[k].old_start, blocks[k].old_end);
			put_lines(out, '+', neu, blocks[k].new_start, blocks[k].new_end);
			if (k < last)
				put_lines(out, ' ', neu, blocks[k].new_end, blocks[k + 1].new_start);
			shown += blocks[k].replacements;
		}
		put_lines(out, ' ', neu, blocks[last].new_end, after);
		if (full)
			break;  /* the next hunk would repeat this one's context */
		first = last + 1;
	}
	free(blocks);
	return shown;
}

int tool_edit_file(const struct tool_ctx *ctx, const cJSON *args, struct tool_result *r,
		   struct ferr *e)
{
	struct buf rel = BUF_INIT, disp = BUF_INIT, old_crlf = BUF_INIT, new_crlf = BUF_INIT;
	struct buf result = BUF_INIT;
	struct file_bytes f = { BUF_INIT, false, 0, 0 };
	struct replacement rps[EDIT_REPLACEMENTS_TRACKED];
	struct text_shape shape;
	struct ferr fe = FERR_INIT;
	const char *path, *old, *neu, *want_hash = NULL;
	size_t path_len, old_len, new_len, want_len = 0, count, cap, nrps = 0, shown;
	bool replace_all = false;
	char hash[17], new_hash[17];
	int ret, raced;

	if ((ret = check_call(ctx, args, r, "edit_file", e)) != 0)
		return ret < 0 ? -1 : 0;
	ret = 0;
	if (arg_required_string(args, "path", &path, &path_len, r) < 0 ||
	    arg_required_string(args, "old_string", &old, &old_len, r) < 0 ||
	    arg_required_string(args, "new_string", &neu, &new_len, r) < 0 ||
	    arg_bool(args, "replace_all", &replace_all, r) < 0 ||
	    arg_string(args, "expected_hash", &want_hash, &want_len, r) < 0)
		goto out;
	if (check_writable(ctx, path, path_len, &rel, &disp, r, &ret, e))
		goto out;
	if (old_len == 0) {
		say(r, TOOL_FAILED,
		    "`old_string` is empty: give the exact text to replace (to create a file, "
		    "use write_file)");
		goto out;
	}
	if (old_len == new_len && memcmp(old, neu, old_len) == 0) {
		say(r, TOOL_FAILED,
		    "`old_string` and `new_string` are the same: the edit would change nothing");
		goto out;
	}
	if (want_hash && (want_len != 16 || strspn(want_hash, "0123456789abcdefABCDEF") != 16)) {
		say(r, TOOL_FAILED,
		    "`expected_hash`: must be the 16 hex digits read_file printed as the "
		    "file's hash");
		goto out;
	}
	cap = file_cap(ctx);
	if (read_whole(ctx->ws, path, path_len, cap, &f, &fe) < 0) {
		struct stat st;

		if (fe.cls == FERR_IO && lstat_name(ctx, &rel, &st) == 0) {
			say(r, TOOL_FAILED,
			    "%s: no such file; edit_file changes existing files (create one with "
			    "write_file)",
			    buf_cstr(&disp));
			goto out;
		}
		ret = answer_read_failure(ctx, path, path_len, &disp, &fe, r, e);
		goto out;
	}
	if (f.truncated) {
		say(r, TOOL_FAILED,
		    "%s: is %" PRIu64 " bytes, more than the %zu-byte limit for files edit_file "
		    "changes",
		    buf_cstr(&disp), f.size, cap);
		goto out;
	}
	if (looks_binary(f.data.data, f.data.len)) {
		say(r, TOOL_FAILED, "%s: is a binary file; edit_file changes text files",
		    buf_cstr(&disp));
		goto out;
	}
	hash_hex(hash, f.data.data, f.data.len);
	if (want_hash && strncasecmp(want_hash, hash, 16) != 0) {
		say(r, TOOL_FAILED,
		    "%s: the file changed since it was read (its hash is now %s, not %.16s); "
		    "read it again before editing",
		    buf_cstr(&disp), hash, want_hash);
		goto out;
	}

	/* A file with CRLF line endings keeps them: a model usually sends "\n". */
	text_shape(f.data.data, f.data.len, &shape);
	count = count_matches(f.data.data, f.data.len, old, old_len);
	if (shape.crlf * 2 > shape.newlines && !memchr(neu, '\r', new_len) &&
	    memchr(neu, '\n', new_len)) {
		to_crlf(&new_crlf, neu, new_len);
		neu = new_crlf.data;
		new_len = new_crlf.len;
	}
	if (count == 0 && shape.crlf > 0 && memchr(old, '\n', old_len) &&
	    !memchr(old, '\r', old_len)) {
		to_crlf(&old_crlf, old, old_len);
		count = count_matches(f.data.data, f.data.len, old_crlf.data, old_crlf.len);
		if (count > 0) {
			old = old_crlf.data;
			old_len = old_crlf.len;
			if (!new_crlf.data && memchr(neu, '\n', new_len) &&
			    !memchr(neu, '\r', new_len)) {
				to_crlf(&new_crlf, neu, new_len);
				neu = new_crlf.data;
				new_len = new_crlf.len;
			}
		}
	}
	if (count == 0) {
		say(r, TOOL_FAILED,
		    "%s: `old_string` was not found; it must match the file exactly, whitespace, "
		    "indentation and line breaks included.",
		    buf_cstr(&disp));
		hint_closest(&r->output, f.data.data, f.data.len, old, old_len);
		goto out;
	}
	if (count > 1 && !replace_all) {
		const char *p = f.data.data, *end = p + f.data.len, *hit, *counted = p;
		size_t line = 1, listed = 0;

		say(r, TOOL_FAILED, "%s: `old_string` occurs %zu times (at lines ", buf_cstr(&disp),
		    count);
		while (listed < EDIT_LINES_LISTED &&
		       (hit = memmem(p, (size_t)(end - p), old, old_len)) != NULL) {
			line += count_byte(counted, (size_t)(hit - counted), '\n');
			counted = hit;
			buf_printf(&r->output, "%s%zu", listed ? ", " : "", line);
			listed++;
			p = hit + old_len;
		}
		if (count > listed)
			buf_printf(&r->output, ", ... %zu more", count - listed);
		buf_puts(&r->output,
			 "); include more of the surrounding lines to make it unique, or set "
			 "replace_all to true to replace every one");
		goto out;
	}

	{
		const char *p = f.data.data, *end = p + f.data.len, *hit;

		while ((size_t)(end - p) >= old_len &&
		       (hit = memmem(p, (size_t)(end - p), old, old_len)) != NULL) {
			buf_add(&result, p, (size_t)(hit - p));
			if (nrps < EDIT_REPLACEMENTS_TRACKED)
				rps[nrps++] = (struct replacement){ (size_t)(hit - f.data.data),
								    old_len, result.len, new_len };
			buf_add(&result, neu, new_len);
			p = hit + old_len;
		}
		buf_add(&result, p, (size_t)(end - p));
	}
	if (result.len > cap) {
		say(r, TOOL_FAILED,
		    "%s: the edited file would be %zu bytes, more than the %zu-byte limit; "
		    "nothing written",
		    buf_cstr(&disp), result.len, cap);
		goto out;
	}
	raced = write_and_record(ctx, path, path_len, &rel, buf_cstr(&result), result.len, false,
				 true, &f, r, &ret, e);
	if (raced > 0)
		goto out;
	hash_hex(new_hash, buf_cstr(&result), result.len);
	text_shape(buf_cstr(&result), result.len, &shape);
	buf_printf(&r->output,
		   "edited %s: %zu replacement%s; now %zu lines, %zu bytes, hash %s\n",
		   buf_cstr(&disp), count, count == 1 ? "" : "s", shape.lines, result.len, new_hash);
	shown = put_hunks(&r->output, f.data.data, f.data.len, buf_cstr(&result), result.len, rps,
			  nrps);
	if (count > shown)
		buf_printf(&r->output, "[... %zu more replacements not shown]\n", count - shown);
	if (raced < 0)
		note_race(r, &disp);
out:
	clamp_output(r, output_cap(ctx));
	buf_release(&result);
	buf_release(&new_crlf);
	buf_release(&old_crlf);
	buf_release(&f.data);
	buf_release(&disp);
	buf_release(&rel);
	return ret;
}

/* ---- list_dir ------------------------------------------------------------------ */

struct list_entry {
	char *name;
	unsigned char type;    /* d_type */
};

struct list_state {
	const struct tool_ctx *ctx;
	struct buf body;
	size_t budget;         /* bytes body may hold */
	size_t shown, more, scanned;
	bool scan_cut;         /* stopped counting at LIST_SCAN_MAX */
};

static int cmp_entries(const void *a, const void *b)
{
	return strcmp(((const struct list_entry *)a)->name, ((const struct list_entry *)b)->name);
}

/* ".git" as a case-insensitive file system would see it. */
static bool is_git_name(const char *name)
{
	return strcasecmp(name, ".git") == 0;
}

static void put_entry(struct list_state *ls, int dfd, const char *child, size_t child_len,
		      const char *name, const struct stat *st)
{
	struct buf *out = &ls->body;
	size_t mark = out->len;

	utf8_quote_path(out, child, child_len);
	if (S_ISDIR(st->st_mode)) {
		buf_putc(out, '/');
	} else if (S_ISLNK(st->st_mode)) {
		char target[PATH_MAX];
		ssize_t n = readlinkat(dfd, name, target, sizeof target);

		buf_puts(out, "@ -> ");
		if (n >= 0)
			utf8_quote_path(out, target, (size_t)n);
		else
			buf_puts(out, "?");
	} else if (S_ISREG(st->st_mode)) {
		buf_printf(out, "  %jd", (intmax_t)st->st_size);
	} else if (S_ISFIFO(st->st_mode)) {
		buf_puts(out, "|  (FIFO)");
	} else if (S_ISSOCK(st->st_mode)) {
		buf_puts(out, "=  (socket)");
	} else {
		buf_puts(out, "  (device)");
	}
	buf_putc(out, '\n');
	if (out->len > ls->budget) {
		buf_truncate(out, mark);
		ls->more++;
		ls->budget = 0;     /* nothing more fits */
		return;
	}
	ls->shown++;
}

/* List the directory rel (beneath the root; "." is the root) and, while
 * depth > 1, its subdirectories other than .git, depth first, in byte
 * order.  Past the entry cap entries are only counted. */
static int list_level(struct list_state *ls, const char *rel, size_t rel_len, int depth,
		      struct ferr *fe)
{
	struct list_entry *entries = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	struct buf child = BUF_INIT;
	DIR *d;
	int fd;

	if (pathpol_open_read(ls->ctx->ws, rel, rel_len, true, &fd, fe) < 0)
		return -1;
	d = fdopendir(fd);
	if (!d) {
		char *disp = utf8_path_dup(rel, rel_len);

		ferr_set(fe, FERR_IO, "%s: %s", disp, strerror(errno));
		free(disp);
		close(fd);
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (ls->scanned + n >= LIST_SCAN_MAX) {
			ls->scan_cut = true;
			break;
		}
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			entries = xrealloc(entries, cap * sizeof *entries);
		}
		entries[n].name = xstrdup(de->d_name);
		entries[n].type = de->d_type;
		n++;
	}
	if (n > 1)
		qsort(entries, n, sizeof *entries, cmp_entries);
	ls->scanned += n;
	for (size_t i = 0; i < n; i++) {
		const char *name = entries[i].name;
		bool is_dir = entries[i].type == DT_DIR;
		struct stat st;

		buf_reset(&child);
		if (strcmp(rel, ".") != 0) {
			buf_add(&child, rel, rel_len);
			buf_putc(&child, '/');
		}
		buf_puts(&child, name);
		if (ls->shown < LIST_ENTRIES_MAX && ls->budget > 0) {
			if (fstatat(dirfd(d), name, &st, AT_SYMLINK_NOFOLLOW) != 0)
				continue;       /* gone since readdir */
			is_dir = S_ISDIR(st.st_mode);
			put_entry(ls, dirfd(d), child.data, child.len, name, &st);
		} else {
			if (entries[i].type == DT_UNKNOWN &&
			    fstatat(dirfd(d), name, &st, AT_SYMLINK_NOFOLLOW) == 0)
				is_dir = S_ISDIR(st.st_mode);
			ls->more++;
		}
		if (is_dir && depth > 1 && !is_git_name(name) && !ls->scan_cut) {
			struct ferr sub = FERR_INIT;

			/* One that cannot be listed (permissions, a race) is a
			 * note among the entries, not the end of the listing. */
			if (list_level(ls, child.data, child.len, depth - 1, &sub) < 0 &&
			    ls->shown < LIST_ENTRIES_MAX && ls->budget > 0) {
				buf_puts(&ls->body, "  [cannot list: ");
				utf8_sanitize(&ls->body, sub.msg, strlen(sub.msg));
				buf_puts(&ls->body, "]\n");
			}
		}
	}
	for (size_t i = 0; i < n; i++)
		free(entries[i].name);
	free(entries);
	buf_release(&child);
	closedir(d);
	return 0;
}

int tool_list_dir(const struct tool_ctx *ctx, const cJSON *args, struct tool_result *r,
		  struct ferr *e)
{
	struct list_state ls = { ctx, BUF_INIT, 0, 0, 0, 0, false };
	struct buf rel = BUF_INIT, disp = BUF_INIT;
	struct ferr fe = FERR_INIT;
	const char *path = ".";
	size_t path_len = 1, cap;
	long long depth = 1;
	int ret;

	if ((ret = check_call(ctx, args, r, "list_dir", e)) != 0)
		return ret < 0 ? -1 : 0;
	ret = 0;
	if (arg_string(args, "path", &path, &path_len, r) < 0 ||
	    arg_int(args, "depth", 1, LIST_DEPTH_MAX, &depth, r) < 0)
		goto out;
	if (path_len == 0) {
		path = ".";
		path_len = 1;
	}
	if (pathpol_normalise(ctx->ws, path, path_len, &rel, &fe) < 0) {
		ret = answer_ferr(r, &fe, e);
		goto out;
	}
	utf8_quote_path(&disp, rel.data, rel.len);
	cap = output_cap(ctx);
	ls.budget = cap > 512 ? cap - 512 : 1;
	if (list_level(&ls, rel.data, rel.len, (int)depth, &fe) < 0) {
		int fd;
		struct ferr fe2 = FERR_INIT;

		if (fe.cls == FERR_IO &&
		    pathpol_open_read(ctx->ws, rel.data, rel.len, false, &fd, &fe2) == 0) {
			close(fd);
			say(r, TOOL_FAILED, "%s is a file, not a directory; use read_file to read it",
			    buf_cstr(&disp));
			goto out;
		}
		ret = answer_ferr(r, &fe, e);
		goto out;
	}
	r->status = TOOL_OK;
	buf_printf(&r->output, "%s/: %zu entr%s", buf_cstr(&disp), ls.shown + ls.more,
		   ls.shown + ls.more == 1 ? "y" : "ies");
	if (ls.scan_cut)
		buf_puts(&r->output, " or more");
	if (depth > 1)
		buf_printf(&r->output, " to depth %lld", depth);
	buf_puts(&r->output,
		 " (directories end in /, files show their size in bytes, .git is not "
		 "listed inside)\n");
	buf_add(&r->output, ls.body.data, ls.body.len);
	if (ls.more)
		buf_printf(&r->output,
			   "[%zu%s more entries not shown; list a subdirectory, or use a smaller "
			   "depth]\n",
			   ls.more, ls.scan_cut ? " or more" : "");
out:
	clamp_output(r, output_cap(ctx));
	buf_release(&ls.body);
	buf_release(&disp);
	buf_release(&rel);
	return ret;
}

/*
 * detect.c — languages by file name and build/test/lint commands by project
 * file, for `forja bootstrap` (the contract is in include/forja/detect.h).
 *
 * Languages: a fixed sorted table maps extensions to names; a small
 * open-addressing table caches each distinct lowercased extension with its
 * counters, so a file costs one hash probe.  Commands: each project file is
 * read (capped, never through a symlink, never a FIFO) and scanned with a
 * small hand-written reader; nothing is evaluated or run.
 */
#include "forja/detect.h"

#include <assert.h>
#include <cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "forja/buf.h"

/* ---- Shared text helpers ------------------------------------------------ */

static inline char ascii_lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* The last ch in [s, s+n), or NULL (memrchr is not everywhere). */
static const char *last_byte(const char *s, size_t n, char ch)
{
	while (n--)
		if (s[n] == ch)
			return s + n;
	return NULL;
}

static inline bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

/* Length of the valid UTF-8 sequence at s (n > 0 bytes left) with its code
 * point in *cp, or 0 when the bytes there are not valid UTF-8. */
static size_t utf8_seq(const unsigned char *s, size_t n, unsigned *cp)
{
	unsigned c = s[0], min, code;
	size_t len, i;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xc2 && c <= 0xdf) {
		len = 2, code = c & 0x1f, min = 0x80;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3, code = c & 0x0f, min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4, code = c & 0x07, min = 0x10000;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		code = code << 6 | (s[i] & 0x3f);
	}
	if (code < min || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff))
		return 0;
	*cp = code;
	return len;
}

static inline bool is_control(unsigned cp)
{
	return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f);
}

/* Append s to out as valid UTF-8 without control characters: each invalid
 * byte or control character becomes '?'. */
static void put_clean(struct buf *out, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, len;
	unsigned cp;

	while (i < n) {
		len = utf8_seq(p + i, n - i, &cp);
		if (len == 0 || is_control(cp)) {
			buf_putc(out, '?');
			i += len ? len : 1;
		} else {
			buf_add(out, p + i, len);
			i += len;
		}
	}
}

/* ---- Languages ---------------------------------------------------------- */

struct ext_lang {
	const char *ext;    /* lowercase, without the dot */
	const char *lang;
};

/* Sorted by ext (bytewise); detect_langs_new() asserts it. */
static const struct ext_lang ext_langs[] = {
	{ "1", "Roff" }, { "2", "Roff" }, { "3", "Roff" }, { "4", "Roff" },
	{ "5", "Roff" }, { "6", "Roff" }, { "7", "Roff" }, { "8", "Roff" },
	{ "9", "Roff" },
	{ "adb", "Ada" }, { "adoc", "AsciiDoc" }, { "ads", "Ada" },
	{ "asciidoc", "AsciiDoc" }, { "asm", "Assembly" }, { "awk", "Awk" },
	{ "bash", "Shell" }, { "bat", "Batchfile" }, { "bazel", "Starlark" },
	{ "bib", "BibTeX" }, { "bzl", "Starlark" },
	{ "c", "C" }, { "c++", "C++" }, { "cbl", "COBOL" }, { "cc", "C++" },
	{ "cjs", "JavaScript" }, { "clj", "Clojure" }, { "cljc", "Clojure" },
	{ "cljs", "Clojure" }, { "cls", "TeX" }, { "cmake", "CMake" },
	{ "cmd", "Batchfile" }, { "cob", "COBOL" }, { "containerfile", "Dockerfile" },
	{ "cpp", "C++" }, { "cpy", "COBOL" }, { "cr", "Crystal" }, { "cs", "C#" },
	{ "css", "CSS" }, { "csv", "CSV" }, { "csx", "C#" }, { "cts", "TypeScript" },
	{ "cu", "CUDA" }, { "cuh", "CUDA" }, { "cxx", "C++" },
	{ "d", "D" }, { "dart", "Dart" }, { "diff", "Diff" },
	{ "dockerfile", "Dockerfile" }, { "dpr", "Pascal" },
	{ "edn", "Clojure" }, { "el", "Emacs Lisp" }, { "elm", "Elm" },
	{ "erl", "Erlang" }, { "ex", "Elixir" }, { "exs", "Elixir" },
	{ "f", "Fortran" }, { "f03", "Fortran" }, { "f08", "Fortran" },
	{ "f77", "Fortran" }, { "f90", "Fortran" }, { "f95", "Fortran" },
	{ "fish", "fish" }, { "for", "Fortran" }, { "frag", "GLSL" }, { "fs", "F#" },
	{ "fsi", "F#" }, { "fsx", "F#" },
	{ "gemspec", "Ruby" }, { "gleam", "Gleam" }, { "glsl", "GLSL" },
	{ "go", "Go" }, { "gql", "GraphQL" }, { "gradle", "Groovy" },
	{ "graphql", "GraphQL" }, { "groovy", "Groovy" },
	{ "h", "C" }, { "h++", "C++" }, { "handlebars", "Handlebars" },
	{ "hbs", "Handlebars" }, { "hcl", "HCL" }, { "hh", "C++" }, { "hpp", "C++" },
	{ "hrl", "Erlang" }, { "hs", "Haskell" }, { "htm", "HTML" },
	{ "html", "HTML" }, { "hxx", "C++" },
	{ "ini", "INI" }, { "inl", "C++" }, { "ipp", "C++" },
	{ "ipynb", "Jupyter Notebook" },
	{ "java", "Java" }, { "jl", "Julia" }, { "js", "JavaScript" },
	{ "json", "JSON" }, { "json5", "JSON" }, { "jsonc", "JSON" },
	{ "jsx", "JavaScript" }, { "just", "Just" },
	{ "ksh", "Shell" }, { "kt", "Kotlin" }, { "kts", "Kotlin" },
	{ "less", "Less" }, { "lhs", "Haskell" }, { "lisp", "Common Lisp" },
	{ "lpr", "Pascal" }, { "lsp", "Common Lisp" }, { "ltx", "TeX" },
	{ "lua", "Lua" },
	{ "m", "Objective-C" }, { "mak", "Makefile" }, { "man", "Roff" },
	{ "markdown", "Markdown" }, { "md", "Markdown" }, { "mdx", "MDX" },
	{ "mjs", "JavaScript" }, { "mk", "Makefile" }, { "mkd", "Markdown" },
	{ "ml", "OCaml" }, { "mli", "OCaml" }, { "mm", "Objective-C++" },
	{ "mts", "TypeScript" },
	{ "nim", "Nim" }, { "nims", "Nim" }, { "nix", "Nix" },
	{ "org", "Org" },
	{ "pas", "Pascal" }, { "patch", "Diff" }, { "perl", "Perl" }, { "php", "PHP" }, { "pl", "Perl" },
	{ "plist", "XML" }, { "pm", "Perl" }, { "proto", "Protocol Buffers" },
	{ "ps1", "PowerShell" }, { "psd1", "PowerShell" }, { "psm1", "PowerShell" },
	{ "purs", "PureScript" }, { "pxd", "Cython" }, { "py", "Python" },
	{ "pyi", "Python" }, { "pyw", "Python" }, { "pyx", "Cython" },
	{ "r", "R" }, { "rake", "Ruby" }, { "raku", "Raku" }, { "rakumod", "Raku" },
	{ "rb", "Ruby" }, { "rkt", "Racket" }, { "roff", "Roff" },
	{ "rs", "Rust" }, { "rst", "reStructuredText" },
	{ "s", "Assembly" }, { "sass", "Sass" }, { "sc", "Scala" },
	{ "scala", "Scala" }, { "scm", "Scheme" }, { "scss", "SCSS" },
	{ "sh", "Shell" }, { "sol", "Solidity" }, { "sql", "SQL" },
	{ "ss", "Scheme" }, { "star", "Starlark" }, { "sty", "TeX" },
	{ "sv", "SystemVerilog" }, { "svelte", "Svelte" }, { "svg", "SVG" },
	{ "svh", "SystemVerilog" }, { "swift", "Swift" },
	{ "tcc", "C++" }, { "tcl", "Tcl" }, { "tex", "TeX" }, { "tf", "HCL" },
	{ "tfvars", "HCL" }, { "thrift", "Thrift" }, { "toml", "TOML" },
	{ "ts", "TypeScript" }, { "tsv", "CSV" }, { "tsx", "TypeScript" },
	{ "txt", "Text" },
	{ "v", "Verilog" }, { "vb", "Visual Basic" }, { "vert", "GLSL" },
	{ "vhd", "VHDL" }, { "vhdl", "VHDL" }, { "vim", "Vim script" },
	{ "vue", "Vue" },
	{ "xhtml", "HTML" }, { "xml", "XML" }, { "xsd", "XML" }, { "xsl", "XML" },
	{ "xslt", "XML" },
	{ "yaml", "YAML" }, { "yml", "YAML" },
	{ "zig", "Zig" }, { "zsh", "Shell" },
};

/* Whole file names (lowercase) that say the language better than an
 * extension would. */
static const struct ext_lang name_langs[] = {
	{ "makefile", "Makefile" },       { "gnumakefile", "Makefile" },
	{ "cmakelists.txt", "CMake" },    { "dockerfile", "Dockerfile" },
	{ "containerfile", "Dockerfile" }, { "meson.build", "Meson" },
	{ "meson_options.txt", "Meson" }, { "meson.options", "Meson" },
	{ "rakefile", "Ruby" },           { "gemfile", "Ruby" },
	{ "vagrantfile", "Ruby" },        { "justfile", "Just" },
	{ "jenkinsfile", "Groovy" },
};
#define NAME_LANG_MAX 17                /* longest name in name_langs */
static const char name_lang_initials[] = "cdgjmrv";

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* One distinct lowercased extension and its counters. */
struct ext_slot {
	const char *lang;               /* NULL: unknown, labelled ".ext" */
	size_t files;
	uint64_t bytes;
	unsigned char len;              /* 0: empty slot */
	char ext[DETECT_EXT_MAX];
};

/* Files whose language came from their whole name, or "(none)". */
struct name_tally {
	const char *lang;
	size_t files;
	uint64_t bytes;
};

struct detect_langs {
	struct ext_slot *slots;
	size_t nslots;                  /* a power of two */
	size_t used;
	struct name_tally names[ARRAY_LEN(name_langs) + 1];
	size_t nnames;
};

static const char LANG_NONE[] = "(none)";

static int ext_cmp(const void *key, const void *elem)
{
	return strcmp(key, ((const struct ext_lang *)elem)->ext);
}

static const char *lang_of_ext(const char *lower_ext)
{
	const struct ext_lang *hit = bsearch(lower_ext, ext_langs, ARRAY_LEN(ext_langs),
					     sizeof ext_langs[0], ext_cmp);
	return hit ? hit->lang : NULL;
}

struct detect_langs *detect_langs_new(void)
{
	struct detect_langs *dl = xcalloc(1, sizeof *dl);

#ifndef NDEBUG
	for (size_t i = 1; i < ARRAY_LEN(ext_langs); i++)
		assert(strcmp(ext_langs[i - 1].ext, ext_langs[i].ext) < 0);
	for (size_t i = 0; i < ARRAY_LEN(name_langs); i++)
		assert(strlen(name_langs[i].ext) <= NAME_LANG_MAX &&
		       strchr(name_lang_initials, name_langs[i].ext[0]));
#endif
	dl->nslots = 64;
	dl->slots = xcalloc(dl->nslots, sizeof *dl->slots);
	return dl;
}

void detect_langs_free(struct detect_langs *dl)
{
	if (!dl)
		return;
	free(dl->slots);
	free(dl);
}

static uint32_t hash_bytes(const char *s, size_t n)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= 16777619u;
	}
	return h;
}

static void count_by_name(struct detect_langs *dl, const char *lang, uint64_t size)
{
	size_t i;

	for (i = 0; i < dl->nnames; i++)
		if (dl->names[i].lang == lang)
			break;
	if (i == dl->nnames) {
		assert(dl->nnames < ARRAY_LEN(dl->names));
		dl->names[dl->nnames++] = (struct name_tally){ lang, 0, 0 };
	}
	dl->names[i].files++;
	dl->names[i].bytes += size;
}

static struct ext_slot *ext_slot_find(struct ext_slot *slots, size_t nslots,
				      const char *ext, size_t len)
{
	size_t mask = nslots - 1, i = hash_bytes(ext, len) & mask;

	while (slots[i].len && (slots[i].len != len || memcmp(slots[i].ext, ext, len) != 0))
		i = (i + 1) & mask;
	return &slots[i];
}

static void ext_table_grow(struct detect_langs *dl)
{
	size_t nslots = dl->nslots * 2;
	struct ext_slot *slots = xcalloc(nslots, sizeof *slots);

	for (size_t i = 0; i < dl->nslots; i++)
		if (dl->slots[i].len)
			*ext_slot_find(slots, nslots, dl->slots[i].ext, dl->slots[i].len) =
				dl->slots[i];
	free(dl->slots);
	dl->slots = slots;
	dl->nslots = nslots;
}

/* The language a whole (lowercased) base name names, or NULL. */
static const char *lang_of_name(const char *lower, size_t len)
{
	/* Most files are not named after a build tool: a cheap first-letter
	 * test keeps this off the hot path. */
	if (!strchr(name_lang_initials, lower[0]))
		return NULL;
	for (size_t i = 0; i < ARRAY_LEN(name_langs); i++)
		if (name_langs[i].ext[0] == lower[0] && strlen(name_langs[i].ext) == len &&
		    memcmp(name_langs[i].ext, lower, len) == 0)
			return name_langs[i].lang;
	if ((len > 11 && memcmp(lower, "dockerfile.", 11) == 0) ||
	    (len > 14 && memcmp(lower, "containerfile.", 14) == 0))
		return "Dockerfile";
	return NULL;
}

void detect_langs_add(struct detect_langs *dl, const char *path, size_t path_len,
		      uint64_t size)
{
	const char *base = path, *dot = NULL, *slash;
	char lower[NAME_LANG_MAX + 1];
	size_t base_len, ext_len, i;
	struct ext_slot *slot;
	const char *lang;

	slash = last_byte(path, path_len, '/');
	if (slash)
		base = slash + 1;
	base_len = path_len - (size_t)(base - path);

	if (base_len && base_len <= NAME_LANG_MAX) {
		for (i = 0; i < base_len; i++)
			lower[i] = ascii_lower(base[i]);
		lang = lang_of_name(lower, base_len);
		if (lang) {
			count_by_name(dl, lang, size);
			return;
		}
	}

	/* Leading dots belong to the name (".gitignore", "..foo"). */
	dot = last_byte(base, base_len, '.');
	for (i = 0; dot && i < (size_t)(dot - base) && base[i] == '.'; i++)
		;
	if (dot && i == (size_t)(dot - base))
		dot = NULL;
	ext_len = dot ? base_len - (size_t)(dot + 1 - base) : 0;
	if (ext_len == 0 || ext_len > DETECT_EXT_MAX) {
		count_by_name(dl, LANG_NONE, size);
		return;
	}

	char key[DETECT_EXT_MAX];
	for (i = 0; i < ext_len; i++)
		key[i] = ascii_lower(dot[1 + i]);
	slot = ext_slot_find(dl->slots, dl->nslots, key, ext_len);
	if (!slot->len) {
		char cstr[DETECT_EXT_MAX + 1];

		memcpy(cstr, key, ext_len);
		cstr[ext_len] = '\0';
		/* A NUL inside would match a shorter table entry. */
		slot->lang = memchr(key, '\0', ext_len) ? NULL : lang_of_ext(cstr);
		slot->len = (unsigned char)ext_len;
		memcpy(slot->ext, key, ext_len);
		if (++dl->used * 2 > dl->nslots) {
			ext_table_grow(dl);
			slot = ext_slot_find(dl->slots, dl->nslots, key, ext_len);
		}
	}
	slot->files++;
	slot->bytes += size;
}

static int lang_by_name(const void *a, const void *b)
{
	return strcmp(((const struct bs_lang *)a)->name, ((const struct bs_lang *)b)->name);
}

static int lang_by_bytes(const void *a, const void *b)
{
	const struct bs_lang *x = a, *y = b;

	if (x->bytes != y->bytes)
		return x->bytes > y->bytes ? -1 : 1;
	return strcmp(x->name, y->name);
}

static bool is_data_label(const char *name)
{
	static const char *const data[] = {
		".png", ".jpg", ".jpeg", ".gif", ".ico", ".bmp", ".webp", ".tif", ".tiff",
		".psd", ".pdf", ".zip", ".gz", ".tgz", ".bz2", ".xz", ".zst", ".7z", ".rar",
		".tar", ".jar", ".war", ".ttf", ".otf", ".woff", ".woff2", ".eot", ".mp3",
		".mp4", ".wav", ".ogg", ".webm", ".mov", ".avi", ".flac", ".o", ".a", ".so",
		".dylib", ".dll", ".exe", ".bin", ".class", ".pyc", ".pyo", ".obj", ".lib",
		".asc", ".sig", ".gpg", ".pem", ".der", ".crt", ".icns", ".dat", ".db",
		".sqlite", ".wasm", ".pack", ".idx", ".po", ".pot", ".mo",
	};
	for (size_t i = 0; i < sizeof data / sizeof *data; i++)
		if (strcmp(name, data[i]) == 0)
			return true;
	return false;
}

void detect_langs_finish(struct detect_langs *dl, struct bs_lang **out, size_t *n)
{
	struct bs_lang *list = xcalloc(dl->used + dl->nnames + 1, sizeof *list);
	struct buf label = BUF_INIT;
	size_t count = 0, kept, i;

	for (i = 0; i < dl->nslots; i++) {
		const struct ext_slot *s = &dl->slots[i];

		if (!s->len)
			continue;
		if (s->lang) {
			list[count].name = xstrdup(s->lang);
		} else {
			buf_reset(&label);
			buf_putc(&label, '.');
			put_clean(&label, s->ext, s->len);
			list[count].name = xstrdup(label.data);
		}
		list[count].files = s->files;
		list[count].bytes = s->bytes;
		count++;
	}
	for (i = 0; i < dl->nnames; i++, count++)
		list[count] = (struct bs_lang){ xstrdup(dl->names[i].lang), dl->names[i].files,
						dl->names[i].bytes };
	buf_release(&label);

	/* Several extensions (and names) share a language, and distinct
	 * invalid extensions can share a cleaned label: merge equal names. */
	qsort(list, count, sizeof *list, lang_by_name);
	for (i = 0, kept = 0; i < count; i++) {
		if (kept && strcmp(list[kept - 1].name, list[i].name) == 0) {
			list[kept - 1].files += list[i].files;
			list[kept - 1].bytes += list[i].bytes;
			free(list[i].name);
		} else {
			list[kept++] = list[i];
		}
	}
	/* images, archives, fonts, media, objects and signatures say nothing
	 * about how a project is written: leave them out */
	size_t shown = 0;
	for (i = 0; i < kept; i++) {
		if (is_data_label(list[i].name))
			free(list[i].name);
		else
			list[shown++] = list[i];
	}
	kept = shown;
	qsort(list, kept, sizeof *list, lang_by_bytes);
	if (kept == 0) {
		free(list);
		list = NULL;
	}
	*out = list;
	*n = kept;
}

void detect_langs_free_list(struct bs_lang *langs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(langs[i].name);
	free(langs);
}

/* ---- Commands: reading project files ------------------------------------ */

struct detect_ctx {
	int dirfd;
	const char *dir;
	const char *prefix;
	struct bs_command **cmds;
	size_t *n;
	struct ferr *e;
	struct buf text;        /* the file being looked at */
	struct buf line;        /* scratch for one logical line */
	struct buf cmd;         /* scratch for one command */
};

/* errno values that mean "this is not a project file we can use", as
 * opposed to a failure of the machine. */
static bool is_absence(int err)
{
	switch (err) {
	case ENOENT: case ENOTDIR: case ELOOP: case EMLINK: case EACCES: case EPERM:
	case ENXIO: case ENODEV: case ENAMETOOLONG: case EISDIR: case ETXTBSY:
	case EAGAIN: case EOVERFLOW: case EFBIG: case ESTALE:
		return true;
	default:
		return false;
	}
}

/* Read at most DETECT_READ_CAP bytes of the regular file name into
 * c->text, dropping a half last line when the file is longer.  Returns 1
 * when read, 0 when there is no such regular file (or it is a symlink, a
 * FIFO, unreadable…), -1 with c->e filled on an I/O error. */
static int read_project_file(struct detect_ctx *c, const char *name)
{
	struct stat st;
	ssize_t got;
	bool more = false;
	int fd, rc = -1;

	buf_reset(&c->text);
	fd = openat(c->dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		if (is_absence(errno))
			return 0;
		return ferr_set(c->e, FERR_IO, "%s/%s: %s", c->dir, name, strerror(errno));
	}
	if (fstat(fd, &st) != 0) {
		ferr_set(c->e, FERR_IO, "%s/%s: %s", c->dir, name, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = 0;
		goto out;
	}
	buf_grow(&c->text, DETECT_READ_CAP);
	while (c->text.len < DETECT_READ_CAP) {
		got = read(fd, c->text.data + c->text.len, DETECT_READ_CAP - c->text.len);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0 && errno == EAGAIN)
			break;
		if (got < 0) {
			ferr_set(c->e, FERR_IO, "%s/%s: %s", c->dir, name, strerror(errno));
			goto out;
		}
		if (got == 0)
			break;
		c->text.len += (size_t)got;
	}
	c->text.data[c->text.len] = '\0';
	if (c->text.len == DETECT_READ_CAP) {
		char probe;

		do
			got = read(fd, &probe, 1);
		while (got < 0 && errno == EINTR);
		more = got > 0;
	}
	if (more) {
		const char *nl = last_byte(c->text.data, c->text.len, '\n');

		buf_truncate(&c->text, nl ? (size_t)(nl + 1 - c->text.data) : 0);
	}
	rc = 1;
out:
	close(fd);
	return rc;
}

/* 'f' for a regular file, 'd' for a directory, 'o' for anything else
 * (symlinks included), 0 when absent. */
static char entry_kind(const struct detect_ctx *c, const char *name)
{
	struct stat st;

	if (fstatat(c->dirfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
		return 0;
	if (S_ISREG(st.st_mode))
		return 'f';
	return S_ISDIR(st.st_mode) ? 'd' : 'o';
}

/* The first of names that is a regular file, or NULL. */
static const char *first_regular(const struct detect_ctx *c, const char *const *names)
{
	for (; *names; names++)
		if (entry_kind(c, *names) == 'f')
			return *names;
	return NULL;
}

/* Append one command (cmd is cleaned of control characters). */
static void emit(struct detect_ctx *c, const char *kind, const char *file, const char *cmd)
{
	struct bs_command *slot;
	struct buf clean = BUF_INIT, source = BUF_INIT;

	put_clean(&clean, cmd, strlen(cmd));
	buf_puts(&source, c->prefix);
	buf_puts(&source, file);
	*c->cmds = xrealloc(*c->cmds, (*c->n + 1) * sizeof **c->cmds);
	slot = &(*c->cmds)[(*c->n)++];
	slot->kind = xstrdup(kind);
	slot->command = buf_steal(&clean);
	slot->source = buf_steal(&source);
}

void detect_commands_free(struct bs_command *cmds, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(cmds[i].kind);
		free(cmds[i].command);
		free(cmds[i].source);
	}
	free(cmds);
}

/* Iterate over the lines of [text, text+len): *pos is the cursor; the line
 * is returned without its "\n" or "\r\n". */
static bool next_line(const char *text, size_t len, size_t *pos, const char **line,
		      size_t *line_len)
{
	const char *nl;
	size_t end;

	if (*pos >= len)
		return false;
	nl = memchr(text + *pos, '\n', len - *pos);
	end = nl ? (size_t)(nl - text) : len;
	*line = text + *pos;
	*line_len = end - *pos;
	if (*line_len && (*line)[*line_len - 1] == '\r')
		(*line_len)--;
	*pos = nl ? end + 1 : len;
	return true;
}

static void trim(const char **s, size_t *n)
{
	while (*n && is_space(**s))
		(*s)++, (*n)--;
	while (*n && is_space((*s)[*n - 1]))
		(*n)--;
}

/* Bytes of [s, s+n) before the first ch (n when there is none). */
static size_t span_until(const char *s, size_t n, char ch)
{
	const char *hit = memchr(s, ch, n);

	return hit ? (size_t)(hit - s) : n;
}

static bool slice_is(const char *s, size_t n, const char *word)
{
	return strlen(word) == n && memcmp(s, word, n) == 0;
}

/* Case-insensitive search for needle (lowercase) in [s, s+n). */
static const char *find_ci(const char *s, size_t n, const char *needle)
{
	size_t m = strlen(needle);

	for (size_t i = 0; m <= n && i <= n - m; i++) {
		size_t j = 0;

		while (j < m && ascii_lower(s[i + j]) == needle[j])
			j++;
		if (j == m)
			return s + i;
	}
	return NULL;
}

/* Does a line of text begin (after blanks) with a call to fn, "fn (" or
 * "fn(", case-insensitively?  That is how CMake and Meson files call
 * commands; a mention in a comment or a string does not count. */
static bool has_call(const char *text, size_t len, const char *fn)
{
	size_t pos = 0, n, m = strlen(fn);
	const char *s;

	while (next_line(text, len, &pos, &s, &n)) {
		trim(&s, &n);
		if (n <= m)
			continue;
		size_t j = 0;
		while (j < m && ascii_lower(s[j]) == fn[j])
			j++;
		if (j < m)
			continue;
		while (j < n && is_space(s[j]))
			j++;
		if (j < n && s[j] == '(')
			return true;
	}
	return false;
}

/* ---- Commands: task names ------------------------------------------------ */

/* Names of tasks (make targets, scripts, recipes) in the order first seen,
 * deduplicated through a hash of their positions. */
struct nameset {
	struct buf pool;        /* names, each NUL-terminated */
	size_t *off;            /* name i is pool.data + off[i] */
	unsigned char *flags;
	size_t count, alloc;
	size_t *slots;          /* index + 1, 0 when empty */
	size_t nslots;
};

#define NAMESET_MAX 8192
#define TASK_NAME_MAX 64

enum {
	TASK_SKIP = 1,          /* never shown */
	TASK_EXTRA = 2,         /* shown after the well-known ones, when room */
};

static void nameset_release(struct nameset *ns)
{
	buf_release(&ns->pool);
	free(ns->off);
	free(ns->flags);
	free(ns->slots);
	memset(ns, 0, sizeof *ns);
}

static size_t *nameset_slot(const struct nameset *ns, const char *s, size_t n)
{
	size_t mask = ns->nslots - 1, i = hash_bytes(s, n) & mask;

	for (;; i = (i + 1) & mask) {
		size_t k = ns->slots[i];

		if (!k)
			return &ns->slots[i];
		const char *name = ns->pool.data + ns->off[k - 1];
		if (strlen(name) == n && memcmp(name, s, n) == 0)
			return &ns->slots[i];
	}
}

static const char *nameset_name(const struct nameset *ns, size_t i)
{
	return ns->pool.data + ns->off[i];
}

static bool nameset_has(const struct nameset *ns, const char *s, size_t n)
{
	return ns->nslots && *nameset_slot(ns, s, n) != 0;
}

/* Add a name (no NUL inside) unless present or the set is full. */
static void nameset_add(struct nameset *ns, const char *s, size_t n, unsigned char flags)
{
	size_t *slot;

	if (ns->count >= NAMESET_MAX || nameset_has(ns, s, n))
		return;
	if ((ns->count + 1) * 2 > ns->nslots) {
		size_t nslots = ns->nslots ? ns->nslots * 2 : 64;

		free(ns->slots);
		ns->slots = xcalloc(nslots, sizeof *ns->slots);
		ns->nslots = nslots;
		for (size_t i = 0; i < ns->count; i++) {
			const char *name = nameset_name(ns, i);
			*nameset_slot(ns, name, strlen(name)) = i + 1;
		}
	}
	if (ns->count == ns->alloc) {
		ns->alloc = ns->alloc ? ns->alloc * 2 : 32;
		ns->off = xrealloc(ns->off, ns->alloc * sizeof *ns->off);
		ns->flags = xrealloc(ns->flags, ns->alloc);
	}
	ns->off[ns->count] = ns->pool.len;
	ns->flags[ns->count] = flags;
	buf_add(&ns->pool, s, n);
	buf_putc(&ns->pool, '\0');
	ns->count++;
	slot = nameset_slot(ns, s, n);
	*slot = ns->count;
}

/* A name fit to be shown as part of a command: 1..TASK_NAME_MAX bytes,
 * not starting with '-', ASCII letters, digits and _-.:+@/, or any
 * non-control character of valid UTF-8. */
static bool is_task_name(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, len;
	unsigned cp;

	if (n == 0 || n > TASK_NAME_MAX || s[0] == '-')
		return false;
	while (i < n) {
		if (p[i] < 0x80) {
			if (!((p[i] >= 'a' && p[i] <= 'z') || (p[i] >= 'A' && p[i] <= 'Z') ||
			      (p[i] >= '0' && p[i] <= '9') || strchr("_-.:+@/", p[i])) || !p[i])
				return false;
			i++;
			continue;
		}
		len = utf8_seq(p + i, n - i, &cp);
		if (len == 0 || is_control(cp))
			return false;
		i += len;
	}
	return true;
}

struct known_task {
	const char *name;
	const char *kind;
};

/* Task names with a fixed meaning, shown before any other task. */
static const struct known_task known_tasks[] = {
	{ "all", "build" },       { "build", "build" },        { "compile", "build" },
	{ "default", "build" },
	{ "check", "test" },      { "test", "test" },          { "tests", "test" },
	{ "lint", "lint" },       { "vet", "lint" },           { "check-format", "lint" },
	{ "format-check", "lint" }, { "fmt-check", "lint" },   { "check-fmt", "lint" },
	{ "typecheck", "lint" },
	{ "fmt", "format" },      { "format", "format" },      { "prettier", "format" },
	{ "run", "run" },         { "serve", "run" },          { "dev", "run" },
	{ "start", "run" },       { "watch", "run" },
	{ "install", "other" },   { "uninstall", "other" },    { "clean", "other" },
	{ "distclean", "other" }, { "dist", "other" },         { "release", "other" },
	{ "docs", "other" },      { "doc", "other" },          { "bench", "other" },
	{ "coverage", "other" },
};

static const struct known_task *known_task(const char *s, size_t n)
{
	for (size_t i = 0; i < ARRAY_LEN(known_tasks); i++)
		if (slice_is(s, n, known_tasks[i].name))
			return &known_tasks[i];
	return NULL;
}

/* The kind of a task: its own meaning when well known, else that of its
 * first word ("test:unit", "build-docs", "lint_fix"), else "other". */
static const char *task_kind(const char *name)
{
	const struct known_task *k = known_task(name, strlen(name));
	size_t head;

	if (k)
		return k->kind;
	head = strcspn(name, ":-_/");
	k = known_task(name, head);
	if (name[head] && k && strcmp(k->kind, "other") != 0 && strcmp(k->name, "all") != 0)
		return k->kind;
	return "other";
}

/* How a tool runs a named task: prefix + name, except that "test" may
 * have its own spelling. */
struct task_runner {
	const char *prefix;
	const char *test;       /* NULL: prefix + "test" */
};

/* Emit the well-known tasks of ns in order, then the TASK_EXTRA ones, at
 * most DETECT_MAX_TASKS in all. */
static void emit_tasks(struct detect_ctx *c, const struct nameset *ns, const char *file,
		       const struct task_runner *runner)
{
	size_t shown = 0;

	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < ns->count && shown < DETECT_MAX_TASKS; i++) {
			const char *name = nameset_name(ns, i);
			bool known = known_task(name, strlen(name)) != NULL;

			if ((ns->flags[i] & TASK_SKIP) || known != (pass == 0) ||
			    (pass == 1 && !(ns->flags[i] & TASK_EXTRA)))
				continue;
			buf_reset(&c->cmd);
			if (runner->test && strcmp(name, "test") == 0) {
				buf_puts(&c->cmd, runner->test);
			} else {
				buf_puts(&c->cmd, runner->prefix);
				buf_puts(&c->cmd, name);
			}
			emit(c, task_kind(name), file, c->cmd.data);
			shown++;
		}
	}
}

/* ---- Makefile ------------------------------------------------------------ */

struct make_state {
	struct nameset *targets;
	struct nameset *phony;
	int define_depth;
};

static const char *const make_directives[] = {
	"ifeq", "ifneq", "ifdef", "ifndef", "else", "endif", "include", "-include",
	"sinclude", "export", "unexport", "override", "vpath", "undefine", "private",
	"load", "-load", "endef", NULL,
};

/* Length of the first word of s: up to a blank or '('. */
static size_t word_len(const char *s, size_t n)
{
	size_t i = 0;

	while (i < n && !is_space(s[i]) && s[i] != '(')
		i++;
	return i;
}

static bool is_word_in(const char *s, size_t n, const char *const *words)
{
	for (; *words; words++)
		if (slice_is(s, n, *words))
			return true;
	return false;
}

/* Call fn for each blank-separated word of [s, s+n). */
static void each_word(const char *s, size_t n, struct nameset *ns,
		      void (*fn)(struct nameset *, const char *, size_t))
{
	size_t i = 0, start;

	while (i < n) {
		while (i < n && is_space(s[i]))
			i++;
		start = i;
		while (i < n && !is_space(s[i]))
			i++;
		if (i > start)
			fn(ns, s + start, i - start);
	}
}

static void add_make_target(struct nameset *ns, const char *s, size_t n)
{
	/* ".PHONY", ".c.o" and other special targets start with a dot; '%'
	 * (pattern), '$' (computed) and '/' (a file) are not commands. */
	if (n && s[0] != '.' && !memchr(s, '/', n) && is_task_name(s, n))
		nameset_add(ns, s, n, 0);
}

static void add_make_phony(struct nameset *ns, const char *s, size_t n)
{
	if (is_task_name(s, n))
		nameset_add(ns, s, n, 0);
}

/* One logical line of a makefile (continuations joined, not a recipe). */
static void make_line(struct make_state *st, const char *s, size_t n)
{
	const char *t = s, *rest;
	size_t tn = n, w, rn, i, depth = 0, colon = SIZE_MAX, after;
	bool opens_define;

	for (i = 0; i < n; i++) {
		if (s[i] == '\\') {
			i++;
		} else if (s[i] == '#') {
			n = i;
			break;
		}
	}
	tn = n;
	trim(&t, &tn);
	w = word_len(t, tn);
	opens_define = slice_is(t, w, "define");
	if (!opens_define && (slice_is(t, w, "override") || slice_is(t, w, "export") ||
			      slice_is(t, w, "private"))) {
		rest = t + w, rn = tn - w;
		trim(&rest, &rn);
		opens_define = slice_is(rest, word_len(rest, rn), "define");
	}
	if (opens_define) {
		st->define_depth++;
		return;
	}
	if (st->define_depth) {
		if (slice_is(t, w, "endef"))
			st->define_depth--;
		return;
	}
	if (n == 0 || is_space(s[0]) || is_word_in(t, w, make_directives))
		return;

	for (i = 0; i < n && colon == SIZE_MAX; i++) {
		char ch = s[i];

		if (ch == '\\') {
			i++;
		} else if (ch == '$' && i + 1 < n) {
			i++;
			if (s[i] == '(' || s[i] == '{')
				depth++;
		} else if (depth) {
			if (ch == '(' || ch == '{')
				depth++;
			else if (ch == ')' || ch == '}')
				depth--;
		} else if (ch == '=') {
			return;         /* A = b:c, A ?= …, A += …, A != … */
		} else if (ch == ':') {
			colon = i;
		}
	}
	if (colon == SIZE_MAX)
		return;
	for (after = colon; after < n && s[after] == ':'; after++)
		;
	if (after < n && s[after] == '=')
		return;                 /* A := …, A ::= …, A :::= … */
	for (i = after, depth = 0; i < n && s[i] != ';'; i++) {
		if (s[i] == '$' && i + 1 < n && (s[i + 1] == '(' || s[i + 1] == '{'))
			depth++, i++;
		else if (depth && (s[i] == ')' || s[i] == '}'))
			depth--;
		else if (!depth && s[i] == '=')
			return;         /* target: VAR = value */
	}

	for (i = 0; i + 6 <= colon; i++) {
		if (memcmp(s + i, ".PHONY", 6) == 0 && (i == 0 || is_space(s[i - 1])) &&
		    (i + 6 == colon || is_space(s[i + 6]))) {
			each_word(s + after, span_until(s + after, n - after, ';'), st->phony,
				  add_make_phony);
			return;
		}
	}
	each_word(s, colon, st->targets, add_make_target);
}

static void parse_makefile(struct detect_ctx *c, struct nameset *targets,
			   struct nameset *phony)
{
	struct make_state st = { targets, phony, 0 };
	const char *text = c->text.data, *s;
	size_t len = c->text.len, pos = 0, n, slashes;
	bool recipe, more;

	while (pos < len) {
		recipe = text[pos] == '\t';
		buf_reset(&c->line);
		do {
			if (!next_line(text, len, &pos, &s, &n))
				break;
			for (slashes = 0; slashes < n && s[n - 1 - slashes] == '\\'; slashes++)
				;
			more = slashes % 2 == 1;
			buf_add(&c->line, s, more ? n - 1 : n);
			if (more)
				buf_putc(&c->line, ' ');
		} while (more);
		if (!recipe && c->line.len)
			make_line(&st, c->line.data, c->line.len);
	}
}

static int detect_make(struct detect_ctx *c)
{
	static const char *const names[] = { "GNUmakefile", "makefile", "Makefile", NULL };
	static const struct task_runner make = { "make ", NULL };
	struct nameset targets = { 0 }, phony = { 0 };
	const char *const *name;
	int rc;

	/* make uses the first that exists; if that one is a symlink or not
	 * a regular file, we say nothing rather than guess. */
	for (name = names; *name && !entry_kind(c, *name); name++)
		;
	if (!*name || entry_kind(c, *name) != 'f')
		return 0;
	rc = read_project_file(c, *name);
	if (rc <= 0)
		return rc;
	parse_makefile(c, &targets, &phony);
	for (size_t i = 0; i < targets.count; i++) {
		const char *t = nameset_name(&targets, i);
		bool extra = phony.count ? nameset_has(&phony, t, strlen(t)) : !strchr(t, '.');

		targets.flags[i] = extra ? TASK_EXTRA : 0;
	}
	emit_tasks(c, &targets, *name, &make);
	nameset_release(&targets);
	nameset_release(&phony);
	return 0;
}

/* Autotools before the Makefile exists: configure generates it. */
static int detect_autotools(struct detect_ctx *c)
{
	if (entry_kind(c, "GNUmakefile") || entry_kind(c, "makefile") || entry_kind(c, "Makefile"))
		return 0;
	if (entry_kind(c, "configure") == 'f') {
		emit(c, "build", "configure", "./configure && make");
		emit(c, "test", "configure", "make check");
	} else if (entry_kind(c, "configure.ac") == 'f' || entry_kind(c, "configure.in") == 'f') {
		const char *src = entry_kind(c, "configure.ac") == 'f' ? "configure.ac" : "configure.in";
		emit(c, "build", src,
		     entry_kind(c, "autogen.sh") == 'f' ? "./autogen.sh && ./configure && make"
							 : "autoreconf -fi && ./configure && make");
		emit(c, "test", src, "make check");
	}
	return 0;
}

/* ---- CMake, Meson, Cargo, Go ---------------------------------------------- */

static int detect_cmake(struct detect_ctx *c)
{
	int rc = read_project_file(c, "CMakeLists.txt");
	const char *t = c->text.data;
	size_t n = c->text.len;

	if (rc <= 0 || !has_call(t, n, "project"))
		return rc;
	emit(c, "build", "CMakeLists.txt", "cmake -B build && cmake --build build");
	if (has_call(t, n, "enable_testing") || has_call(t, n, "add_test") ||
	    find_ci(t, n, "include(ctest)"))
		emit(c, "test", "CMakeLists.txt", "ctest --test-dir build");
	return 0;
}

static int detect_meson(struct detect_ctx *c)
{
	int rc = read_project_file(c, "meson.build");

	if (rc <= 0 || !has_call(c->text.data, c->text.len, "project"))
		return rc;
	emit(c, "build", "meson.build", "meson setup build && meson compile -C build");
	emit(c, "test", "meson.build", "meson test -C build");
	return 0;
}

static void detect_cargo_go(struct detect_ctx *c)
{
	if (entry_kind(c, "Cargo.toml") == 'f') {
		emit(c, "build", "Cargo.toml", "cargo build");
		emit(c, "test", "Cargo.toml", "cargo test");
		emit(c, "lint", "Cargo.toml", "cargo clippy");
		emit(c, "format", "Cargo.toml", "cargo fmt --check");
	}
	if (entry_kind(c, "go.mod") == 'f') {
		emit(c, "build", "go.mod", "go build ./...");
		emit(c, "test", "go.mod", "go test ./...");
		emit(c, "lint", "go.mod", "go vet ./...");
	}
}

/* ---- package.json, deno.json ---------------------------------------------- */

/* Parse the JSON file just read, or NULL.  A NUL byte or "\u0000" would
 * cut names short inside cJSON (and is no valid JSON text or name), so it
 * makes the file malformed here. */
static cJSON *parse_project_json(const struct detect_ctx *c)
{
	if (memchr(c->text.data, '\0', c->text.len) ||
	    memmem(c->text.data, c->text.len, "\\u0000", 6))
		return NULL;
	return cJSON_ParseWithLength(c->text.data, c->text.len);
}

/* Scripts npm runs by itself around install, publish and version. */
static const char *const npm_lifecycle[] = {
	"install", "preinstall", "postinstall", "uninstall", "preuninstall",
	"postuninstall", "prepare", "preprepare", "postprepare", "prepublish",
	"prepublishOnly", "publish", "postpublish", "prepack", "pack", "postpack",
	"preversion", "version", "postversion", "dependencies", NULL,
};

static const struct task_runner *npm_runner(const struct detect_ctx *c, const cJSON *root)
{
	static const struct task_runner npm = { "npm run ", "npm test" },
		yarn = { "yarn ", NULL }, pnpm = { "pnpm ", NULL }, bun = { "bun run ", NULL };
	static const struct { const char *tool; const struct task_runner *runner; } tools[] = {
		{ "pnpm", &pnpm }, { "yarn", &yarn }, { "bun", &bun }, { "npm", &npm },
	};
	const cJSON *pm = cJSON_GetObjectItemCaseSensitive(root, "packageManager");

	if (cJSON_IsString(pm)) {
		for (size_t i = 0; i < ARRAY_LEN(tools); i++) {
			size_t n = strlen(tools[i].tool);

			if (strncmp(pm->valuestring, tools[i].tool, n) == 0 &&
			    (pm->valuestring[n] == '@' || pm->valuestring[n] == '\0'))
				return tools[i].runner;
		}
	}
	if (entry_kind(c, "pnpm-lock.yaml"))
		return &pnpm;
	if (entry_kind(c, "yarn.lock"))
		return &yarn;
	if (entry_kind(c, "bun.lockb") || entry_kind(c, "bun.lock"))
		return &bun;
	return &npm;
}

static int detect_package_json(struct detect_ctx *c)
{
	struct nameset scripts = { 0 };
	const cJSON *list, *item;
	cJSON *root;
	int rc = read_project_file(c, "package.json");

	if (rc <= 0)
		return rc;
	root = parse_project_json(c);
	list = cJSON_GetObjectItemCaseSensitive(root, "scripts");
	if (!cJSON_IsObject(root) || !cJSON_IsObject(list))
		goto out;
	cJSON_ArrayForEach(item, list) {
		const char *name = item->string;

		if (!name || !cJSON_IsString(item) || !is_task_name(name, strlen(name)))
			continue;
		nameset_add(&scripts, name, strlen(name),
			    is_word_in(name, strlen(name), npm_lifecycle) ? TASK_SKIP : TASK_EXTRA);
	}
	/* "pretest" and "posttest" run around "test" by themselves. */
	for (size_t i = 0; i < scripts.count; i++) {
		const char *name = nameset_name(&scripts, i), *base = NULL;

		if (strncmp(name, "pre", 3) == 0)
			base = name + 3;
		else if (strncmp(name, "post", 4) == 0)
			base = name + 4;
		if (base && *base && nameset_has(&scripts, base, strlen(base)))
			scripts.flags[i] = TASK_SKIP;
	}
	emit_tasks(c, &scripts, "package.json", npm_runner(c, root));
out:
	nameset_release(&scripts);
	cJSON_Delete(root);
	return 0;
}

static int detect_deno(struct detect_ctx *c)
{
	static const char *const names[] = { "deno.json", "deno.jsonc", NULL };
	static const struct task_runner deno = { "deno task ", NULL };
	struct nameset tasks = { 0 };
	const char *name = first_regular(c, names);
	const cJSON *list, *item;
	cJSON *root;
	int rc;

	if (!name)
		return 0;
	rc = read_project_file(c, name);
	if (rc <= 0)
		return rc;
	root = parse_project_json(c);
	list = cJSON_GetObjectItemCaseSensitive(root, "tasks");
	if (cJSON_IsObject(root) && cJSON_IsObject(list)) {
		cJSON_ArrayForEach(item, list) {
			const char *task = item->string;

			if (task && (cJSON_IsString(item) || cJSON_IsObject(item)) &&
			    is_task_name(task, strlen(task)))
				nameset_add(&tasks, task, strlen(task), TASK_EXTRA);
		}
		emit_tasks(c, &tasks, name, &deno);
	}
	nameset_release(&tasks);
	cJSON_Delete(root);
	return 0;
}

/* ---- Python ---------------------------------------------------------------- */

struct py_state {
	const char *runner;     /* "uv run ", "poetry run ", "hatch run " or "" */
	bool any;               /* a Python command was given */
	bool pytest, flake8;    /* given already */
};

static void py_emit(struct detect_ctx *c, struct py_state *py, const char *kind,
		    const char *file, const char *tool)
{
	buf_reset(&c->cmd);
	buf_puts(&c->cmd, py->runner);
	buf_puts(&c->cmd, tool);
	emit(c, kind, file, c->cmd.data);
	py->any = true;
}

/* If the line is a TOML or INI table header ("[tool.ruff]", "[[x]]",
 * "[ tool . \"ruff\" ]"), put its name without blanks or quotes in out. */
static bool section_header(const char *s, size_t n, struct buf *out)
{
	size_t i;

	trim(&s, &n);
	if (!n || s[0] != '[')
		return false;
	buf_reset(out);
	for (i = 0; i < n && s[i] == '['; i++)
		;
	for (; i < n && s[i] != ']'; i++)
		if (!is_space(s[i]) && s[i] != '"' && s[i] != '\'')
			buf_putc(out, s[i]);
	return i < n;
}

/* Is section (a dotted name) table or inside it? */
static bool section_in(const char *section, const char *table)
{
	size_t n = strlen(table);

	return strncmp(section, table, n) == 0 && (section[n] == '\0' || section[n] == '.');
}

/* Does the INI file just read have the section [name], or, when name ends
 * in '*', one whose name starts with the rest? */
static bool ini_has_section(struct detect_ctx *c, const char *name)
{
	size_t pos = 0, n, len = strlen(name);
	bool is_prefix = len && name[len - 1] == '*';
	const char *s;

	while (next_line(c->text.data, c->text.len, &pos, &s, &n)) {
		if (!section_header(s, n, &c->line))
			continue;
		if (is_prefix ? strncmp(buf_cstr(&c->line), name, len - 1) == 0
			      : strcmp(buf_cstr(&c->line), name) == 0)
			return true;
	}
	return false;
}

static int detect_pyproject(struct detect_ctx *c, struct py_state *py)
{
	bool build = false, pytest = false, ruff = false, ruff_format = false, mypy = false,
	     mypy_target = false, black = false, hatch = false, in_mypy = false;
	const char *s;
	size_t pos = 0, n;
	int rc = read_project_file(c, "pyproject.toml");

	if (rc <= 0)
		return rc;
	while (next_line(c->text.data, c->text.len, &pos, &s, &n)) {
		if (section_header(s, n, &c->line)) {
			const char *sec = buf_cstr(&c->line);

			build |= strcmp(sec, "build-system") == 0;
			pytest |= section_in(sec, "tool.pytest");
			ruff |= section_in(sec, "tool.ruff");
			ruff_format |= section_in(sec, "tool.ruff.format");
			mypy |= section_in(sec, "tool.mypy");
			black |= section_in(sec, "tool.black");
			hatch |= section_in(sec, "tool.hatch");
			in_mypy = strcmp(sec, "tool.mypy") == 0;
			continue;
		}
		trim(&s, &n);
		if (in_mypy) {
			size_t k = 0;

			while (k < n && (s[k] == '_' || (s[k] >= 'a' && s[k] <= 'z')))
				k++;
			if (slice_is(s, k, "files") || slice_is(s, k, "packages") ||
			    slice_is(s, k, "modules"))
				mypy_target = true;
		}
	}
	pytest |= find_ci(c->text.data, c->text.len, "pytest") != NULL;
	if (!*py->runner && hatch)
		py->runner = "hatch run ";

	if (build) {
		const char *how = "python -m build";

		if (strcmp(py->runner, "uv run ") == 0)
			how = "uv build";
		else if (strcmp(py->runner, "poetry run ") == 0)
			how = "poetry build";
		else if (strcmp(py->runner, "hatch run ") == 0)
			how = "hatch build";
		emit(c, "build", "pyproject.toml", how);
		py->any = true;
	}
	if (pytest) {
		py_emit(c, py, "test", "pyproject.toml", "pytest");
		py->pytest = true;
	}
	if (ruff)
		py_emit(c, py, "lint", "pyproject.toml", "ruff check");
	if (mypy)
		py_emit(c, py, "lint", "pyproject.toml", mypy_target ? "mypy" : "mypy .");
	if (black)
		py_emit(c, py, "format", "pyproject.toml", "black --check .");
	if (ruff_format)
		py_emit(c, py, "format", "pyproject.toml", "ruff format --check");
	return 0;
}

/* setup.cfg, tox.ini, pytest.ini: INI files naming pytest and flake8. */
static int detect_python_ini(struct detect_ctx *c, struct py_state *py, const char *file,
			     const char *pytest_section, const char *flake8_section)
{
	int rc = read_project_file(c, file);

	if (rc <= 0)
		return rc;
	/* tox.ini often only configures flake8 or pytest. */
	if (strcmp(file, "tox.ini") == 0 &&
	    (ini_has_section(c, "tox") || ini_has_section(c, "tox:*") ||
	     ini_has_section(c, "testenv*")))
		py_emit(c, py, "test", file, "tox");
	if (!py->pytest && (!pytest_section || ini_has_section(c, pytest_section))) {
		py_emit(c, py, "test", file, "pytest");
		py->pytest = true;
	}
	if (!py->flake8 && flake8_section && ini_has_section(c, flake8_section)) {
		py_emit(c, py, "lint", file, "flake8");
		py->flake8 = true;
	}
	return 0;
}

static int detect_python(struct detect_ctx *c)
{
	struct py_state py = { "", false, false, false };

	if (entry_kind(c, "uv.lock"))
		py.runner = "uv run ";
	else if (entry_kind(c, "poetry.lock"))
		py.runner = "poetry run ";
	if (detect_pyproject(c, &py) < 0 ||
	    detect_python_ini(c, &py, "setup.cfg", "tool:pytest", "flake8") < 0 ||
	    detect_python_ini(c, &py, "tox.ini", "pytest", "flake8") < 0 ||
	    detect_python_ini(c, &py, "pytest.ini", NULL, NULL) < 0)
		return -1;
	if (!py.any && entry_kind(c, "setup.py") == 'f' &&
	    (entry_kind(c, "tests") == 'd' || entry_kind(c, "test") == 'd'))
		py_emit(c, &py, "test", "setup.py", "pytest");
	return 0;
}

/* ---- Ruby, Gradle, Maven ----------------------------------------------------- */

static int detect_ruby(struct detect_ctx *c)
{
	static const char *const rakefiles[] = {
		"Rakefile", "rakefile", "Rakefile.rb", "rakefile.rb", NULL,
	};
	const char *rakefile = first_regular(c, rakefiles);
	bool bundler = entry_kind(c, "Gemfile") == 'f';
	int rc;

	if (rakefile) {
		rc = read_project_file(c, rakefile);
		if (rc < 0)
			return rc;
		if (rc > 0) {
			bool tests = find_ci(c->text.data, c->text.len, "raketask") ||
				     find_ci(c->text.data, c->text.len, "testtask");

			emit(c, tests ? "test" : "build", rakefile,
			     bundler ? "bundle exec rake" : "rake");
		}
	}
	if (bundler && entry_kind(c, "spec") == 'd')
		emit(c, "test", "Gemfile", "bundle exec rspec");
	return 0;
}

static void detect_jvm(struct detect_ctx *c)
{
	static const char *const gradle_files[] = {
		"build.gradle.kts", "build.gradle", "settings.gradle.kts", "settings.gradle",
		"gradlew", NULL,
	};
	const char *gradle = first_regular(c, gradle_files);

	if (gradle) {
		bool wrapper = entry_kind(c, "gradlew") == 'f';

		emit(c, "build", gradle, wrapper ? "./gradlew build" : "gradle build");
		emit(c, "test", gradle, wrapper ? "./gradlew test" : "gradle test");
	}
	if (entry_kind(c, "pom.xml") == 'f') {
		bool wrapper = entry_kind(c, "mvnw") == 'f';

		emit(c, "build", "pom.xml", wrapper ? "./mvnw package" : "mvn package");
		emit(c, "test", "pom.xml", wrapper ? "./mvnw test" : "mvn test");
	}
}

/* ---- just, Task ---------------------------------------------------------------- */

static int detect_just(struct detect_ctx *c)
{
	static const char *const names[] = { "justfile", "Justfile", ".justfile", NULL };
	static const char *const keywords[] = {
		"set", "alias", "export", "import", "mod", NULL,
	};
	static const struct task_runner just = { "just ", NULL };
	struct nameset recipes = { 0 };
	const char *name = first_regular(c, names), *s;
	size_t pos = 0, n, i, w;
	bool private_next = false;
	int rc;

	if (!name)
		return 0;
	rc = read_project_file(c, name);
	if (rc <= 0)
		return rc;
	while (next_line(c->text.data, c->text.len, &pos, &s, &n)) {
		if (n == 0 || is_space(s[0]) || s[0] == '#')
			continue;
		if (s[0] == '[') {
			private_next |= find_ci(s, n, "private") != NULL;
			continue;
		}
		i = s[0] == '@' ? 1 : 0;
		for (w = i; w < n && (s[w] == '_' || s[w] == '-' ||
				      (s[w] >= 'a' && s[w] <= 'z') || (s[w] >= 'A' && s[w] <= 'Z') ||
				      (s[w] >= '0' && s[w] <= '9'));
		     w++)
			;
		if (w == i || (w < n && is_space(s[w]) && is_word_in(s + i, w - i, keywords))) {
			private_next = false;
			continue;
		}
		/* The first ':' outside quotes ends the recipe's head; ":=" is
		 * an assignment. */
		size_t k;
		char quote = 0;
		for (k = w; k < n; k++) {
			if (quote) {
				if (s[k] == quote)
					quote = 0;
			} else if (s[k] == '"' || s[k] == '\'') {
				quote = s[k];
			} else if (s[k] == ':') {
				break;
			}
		}
		if (k < n && s[k] == ':' && (k + 1 >= n || s[k + 1] != '=') && s[i] != '_' &&
		    !private_next && is_task_name(s + i, w - i))
			nameset_add(&recipes, s + i, w - i, TASK_EXTRA);
		private_next = false;
	}
	emit_tasks(c, &recipes, name, &just);
	nameset_release(&recipes);
	return 0;
}

static int detect_taskfile(struct detect_ctx *c)
{
	static const char *const names[] = {
		"Taskfile.yml", "taskfile.yml", "Taskfile.yaml", "taskfile.yaml", NULL,
	};
	static const struct task_runner task = { "task ", NULL };
	struct nameset tasks = { 0 };
	const char *name = first_regular(c, names), *s, *key;
	size_t pos = 0, n, indent = 0, ind, klen;
	bool in_tasks = false;
	int rc;

	if (!name)
		return 0;
	rc = read_project_file(c, name);
	if (rc <= 0)
		return rc;
	while (next_line(c->text.data, c->text.len, &pos, &s, &n)) {
		const char *t = s;
		size_t tn = n;

		trim(&t, &tn);
		if (tn == 0 || t[0] == '#')
			continue;
		if (!is_space(s[0])) {
			tn = span_until(t, tn, '#');
			trim(&t, &tn);
			in_tasks = slice_is(t, tn, "tasks:");
			indent = 0;
			continue;
		}
		if (!in_tasks)
			continue;
		ind = (size_t)(t - s);
		if (!indent)
			indent = ind;
		if (ind != indent)
			continue;
		if (t[0] == '"' || t[0] == '\'') {
			const char *end = memchr(t + 1, t[0], tn - 1);

			if (!end || end + 1 >= t + tn || end[1] != ':')
				continue;
			key = t + 1, klen = (size_t)(end - key);
		} else {
			for (klen = 0; klen < tn; klen++)
				if (t[klen] == ':' && (klen + 1 == tn || is_space(t[klen + 1])))
					break;
			if (klen == tn)
				continue;
			key = t;
		}
		if (is_task_name(key, klen))
			nameset_add(&tasks, key, klen, TASK_EXTRA);
	}
	emit_tasks(c, &tasks, name, &task);
	nameset_release(&tasks);
	return 0;
}

/* ---- The scan ---------------------------------------------------------------- */

int detect_commands(const char *dir, const char *prefix, struct bs_command **cmds,
		    size_t *n, struct ferr *e)
{
	struct detect_ctx c = { -1, dir, prefix, cmds, n, e, BUF_INIT, BUF_INIT, BUF_INIT };
	int rc = -1;

	c.dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (c.dirfd < 0)
		return ferr_set(e, FERR_IO, "%s: %s", dir, strerror(errno));
	if (detect_autotools(&c) < 0 || detect_make(&c) < 0 || detect_cmake(&c) < 0 ||
	    detect_meson(&c) < 0)
		goto out;
	detect_cargo_go(&c);
	if (detect_package_json(&c) < 0 || detect_deno(&c) < 0 || detect_python(&c) < 0 ||
	    detect_ruby(&c) < 0)
		goto out;
	detect_jvm(&c);
	if (detect_just(&c) < 0 || detect_taskfile(&c) < 0)
		goto out;
	rc = 0;
out:
	buf_release(&c.cmd);
	buf_release(&c.line);
	buf_release(&c.text);
	close(c.dirfd);
	return rc;
}

/*
 * detect — what a project is written in and how it is built, for
 * `forja bootstrap`.  Two independent parts:
 *
 *   Languages.  An accumulator fed (path, size) for every tracked file,
 *   tallying files and bytes per language.  The language comes from a
 *   fixed table of extensions (looked up case-insensitively) and of whole
 *   names ("Makefile", "CMakeLists.txt", "Dockerfile", …).  A file with an
 *   unknown extension is counted under ".ext" (lowercased), a file without
 *   one under "(none)"; a leading dot does not start an extension
 *   (".gitignore" has none), and neither does a trailing one.  An
 *   "extension" longer than DETECT_EXT_MAX bytes is not taken as one (the
 *   file counts under "(none)").  Paths may hold any bytes: labels made
 *   from them are valid UTF-8, with invalid bytes and control characters
 *   replaced by '?'.  Adding a file costs a hash lookup and no allocation
 *   (only a new distinct extension grows the table).
 *
 *   Commands.  The build, test, lint, format and run commands a person
 *   would type, found by reading well-known project files in one
 *   directory: Makefile targets, package.json scripts, Cargo, Go, Python
 *   tools, CMake, Meson, Rake/RSpec, Gradle, Maven, just, Task, Deno.
 *   Commands are text for a person and a model; this module never runs
 *   them.  Everything copied from a file is checked: names that are not
 *   valid UTF-8 or hold control characters or shell metacharacters are
 *   dropped.
 *
 * Output is deterministic: it depends only on the bytes of the files (or
 * the set of paths and sizes fed), never on readdir or hash order.
 *
 * Nothing here is thread-safe per object; separate objects may be used from
 * separate threads.  detect_commands() blocks on local file reads, each
 * capped at DETECT_READ_CAP bytes.
 */
#ifndef FORJA_DETECT_H
#define FORJA_DETECT_H

#include <stddef.h>
#include <stdint.h>

#include "forja/bootstrap.h"
#include "forja/ferr.h"

#define DETECT_EXT_MAX 16              /* bytes of an extension, without the dot */
#define DETECT_READ_CAP (256 * 1024)   /* bytes read of one project file */
#define DETECT_MAX_TASKS 8             /* commands kept from one task file */

/* ---- Languages ---------------------------------------------------------- */

struct detect_langs;                   /* opaque */

/* A new, empty tally.  Free with detect_langs_free(). */
struct detect_langs *detect_langs_new(void);

/* Count one file: path (path_len bytes, any bytes, need not be
 * NUL-terminated; only the part after the last '/' matters) of size bytes. */
void detect_langs_add(struct detect_langs *dl, const char *path, size_t path_len,
		      uint64_t size);

/* The tally so far, sorted by bytes descending, then name (bytewise).
 * *out is a new array of *n entries (NULL and 0 when no file was added);
 * every name is its own allocation, so the array can be given to a struct
 * bootstrap (bootstrap_release frees it) or freed with
 * detect_langs_free_list().  dl is unchanged and can still be added to. */
void detect_langs_finish(struct detect_langs *dl, struct bs_lang **out, size_t *n);

/* Free a list from detect_langs_finish(): the names and the array. */
void detect_langs_free_list(struct bs_lang *langs, size_t n);

/* Free the tally (NULL is fine). */
void detect_langs_free(struct detect_langs *dl);

/* ---- Commands ----------------------------------------------------------- */

/*
 * Inspect the project files directly in dir (an absolute path: the
 * repository root, and separately the current directory when it differs)
 * and append what they say to *cmds / *n (a heap array, NULL/0 to start;
 * it is grown with realloc).  Each command's source is prefix + the file
 * name, so pass the directory relative to the repository root: "" or
 * "sub/dir/".
 *
 * Sources are looked at in this fixed order, and within one source the
 * commands keep the order given below or found in the file:
 *
 *   GNUmakefile | makefile | Makefile  (the first that exists, as make
 *                     picks it; nothing when that one is not a regular file)
 *                     `make TARGET`; well-known targets first (all, build,
 *                     check, test, lint, fmt, run, install, clean, …), then
 *                     the other .PHONY targets (or, without any .PHONY,
 *                     targets without a dot), each group in file order, at
 *                     most DETECT_MAX_TASKS in all
 *   CMakeLists.txt    when it calls project(): build, and test when it
 *                     calls enable_testing(), add_test() or include(CTest)
 *   meson.build       when it calls project(): build, test
 *   Cargo.toml        cargo build, cargo test, cargo clippy, cargo fmt --check
 *   go.mod            go build ./..., go test ./..., go vet ./...
 *   package.json      scripts, run with the package manager named in
 *                     "packageManager" or else by a lockfile, looked for
 *                     in this order: pnpm-lock.yaml, yarn.lock, bun.lockb,
 *                     bun.lock (none: npm); `npm test` for "test";
 *                     lifecycle scripts and pre/post hooks are left out;
 *                     same selection as make
 *   deno.json(c)      tasks: `deno task NAME` (a .jsonc with comments
 *                     counts as malformed)
 *   pyproject.toml    build ([build-system]), pytest, ruff check, mypy,
 *                     black --check, ruff format --check, prefixed by
 *                     `uv run`, `poetry run` or `hatch run` when uv.lock,
 *                     poetry.lock or [tool.hatch] says so (and then built
 *                     with `uv build` etc. instead of `python -m build`)
 *   setup.cfg         [tool:pytest] → pytest, [flake8] → flake8
 *   tox.ini           tox (given [tox] or [testenv]); [pytest] → pytest,
 *                     [flake8] → flake8
 *   pytest.ini        pytest
 *   setup.py          pytest, when no Python command was found otherwise
 *                     and a tests/ or test/ directory exists
 *   Rakefile, Gemfile (bundle exec) rake; (bundle exec) rspec with spec/
 *   build.gradle[.kts] | gradlew    ./gradlew (or gradle) build, test
 *   pom.xml           ./mvnw (or mvn) package, test
 *   justfile          public recipes: `just NAME`
 *   Taskfile.yml      tasks: `task NAME`
 *
 * A Python command is given once even when several files ask for it.
 *
 * Files are opened without following symlinks (a symlinked Makefile is
 * ignored), without blocking (a FIFO is never read) and only when they are
 * regular files; at most DETECT_READ_CAP bytes of each are read (a longer
 * file counts as cut there, a half last line is dropped).  Missing,
 * unreadable or malformed project files are skipped: they are not errors.
 *
 * Returns 0, or -1 with e filled (FERR_IO naming the path) when dir cannot
 * be opened or a read fails for a reason other than the file's absence or
 * kind (EIO, EMFILE, …).  Commands appended before the error stay in
 * *cmds; free them with detect_commands_free() either way.
 */
int detect_commands(const char *dir, const char *prefix, struct bs_command **cmds,
		    size_t *n, struct ferr *e);

/* Free n commands and the array (NULL is fine). */
void detect_commands_free(struct bs_command *cmds, size_t n);

#endif

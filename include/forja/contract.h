/*
 * contract — tool contracts: the files that declare, one tool each, what the
 * model may call and what that call may do.  man/forja-contracts.5 is the
 * specification of the format; this module loads and checks contract files,
 * validates a call's arguments against the contract's JSON Schema and turns
 * a command contract's argv template into the argv of one call.  It runs
 * nothing itself: the tools module runs calls, the sandbox enforces the
 * effects and limits read from here.
 *
 * A contract (version 1) holds a name and a description for the model, the
 * JSON Schema of the arguments, its kind ("builtin": implemented inside
 * forja; "command": an argv template, no shell unless "shell": true), its
 * effects (paths read and written, processes, network), limits, the
 * environment variables a child may see and an approval rule.
 *
 * Where contracts come from, in this order (contract_set_load):
 *   1. built-in: $FORJA_CONTRACTS_DIR when set; else <dir of the binary>/
 *      contracts when that exists (a build tree); else <dir of the binary>/
 *      ../share/forja/contracts (an installed, relocated tree); else
 *      FORJA_DATADIR/contracts (the Makefile's $(DATADIR)/forja);
 *   2. user: $XDG_CONFIG_HOME/forja/contracts (~/.config/forja/contracts);
 *   3. project: <repository root>/.forja/contracts — only once the project
 *      is trusted.  Trust does not exist yet: project contracts are counted
 *      in a note and never loaded.
 * In each directory the regular files whose names end in ".json" and do
 * not start with "." are read in byte order; a symbolic link is followed
 * only while it stays inside the directory; a file may hold at most
 * CONTRACT_MAX_FILE bytes.  A name may be declared once: a later file with
 * a name already taken is a problem naming both files (a user contract
 * cannot replace a built-in one either).
 *
 * Problems are collected, not stopped at: every function that checks
 * appends one line per problem, "file:line:col: what" (1-based; columns
 * count characters, as in jsonc.h), to a struct buf, so that `forja
 * contracts check` can show them all at once.  A file with problems yields
 * no contract; the other files still load.
 *
 * Ownership: a struct contract owns every string and array in it (and the
 * compiled schema); contract_release() frees them.  A struct contract_set
 * owns its contracts.  Pointers returned by contract_find() are borrowed
 * from the set.  Loading blocks on file I/O.  Expansion is pure; validation
 * parses with jsonc_parse(), which must not run on two threads at once.
 */
#ifndef FORJA_CONTRACT_H
#define FORJA_CONTRACT_H

#include <stdbool.h>
#include <stddef.h>

#include <cJSON.h>

#include "forja/buf.h"
#include "forja/ferr.h"

/* The contract format this forja understands ("forja_contract": 1). */
#define CONTRACT_FORMAT 1
/* Largest contract file, in bytes. */
#define CONTRACT_MAX_FILE ((size_t)1024 * 1024)
/* Largest arguments text accepted from the model, in bytes. */
#define CONTRACT_MAX_ARGS ((size_t)1024 * 1024)
/* Most elements in argv, effects.read, effects.write and env. */
#define CONTRACT_MAX_LIST 1024
/* Longest description, in bytes. */
#define CONTRACT_MAX_DESCRIPTION 4096
/* Longest single element of an expanded argv (Linux's MAX_ARG_STRLEN) and
 * the most bytes all elements together may hold. */
#define CONTRACT_MAX_ARG_BYTES ((size_t)128 * 1024)
#define CONTRACT_MAX_ARGV_BYTES ((size_t)1024 * 1024)

enum contract_kind {
	CONTRACT_KIND_BUILTIN, /* implemented in forja: one of contract_builtin_tools */
	CONTRACT_KIND_COMMAND, /* runs argv (an argv template) in the sandbox */
};

enum contract_approval {
	CONTRACT_APPROVAL_NONE,     /* never ask */
	CONTRACT_APPROVAL_ON_WRITE, /* ask when the contract may write (the default) */
	CONTRACT_APPROVAL_ALWAYS,   /* ask before every call */
};

enum contract_source {
	CONTRACT_SOURCE_BUILTIN,
	CONTRACT_SOURCE_USER,
	CONTRACT_SOURCE_PROJECT,
	CONTRACT_SOURCE_FILE,       /* a file named on its own (contract_load_file) */
};

struct contract_effects {
	char **read;           /* paths as written: relative to the workspace, */
	size_t nread;          /* absolute, or "~" / "~/..." for $HOME */
	char **write;
	size_t nwrite;
	bool exec;             /* may spawn processes */
	bool network;          /* may use the network */
};

struct contract_limits {
	long long timeout_ms;        /* default 600000, 1 .. 86400000 */
	long long max_output_bytes;  /* default 1 MiB, 1 .. 1 GiB */
	long long memory_mb;         /* default 4096, 1 .. 1048576 */
	long long max_processes;     /* default 512, 1 .. 65536 */
	long long max_file_bytes;    /* default 1 GiB, 1 .. 1 TiB */
};

struct contract {
	char *name;            /* ^[a-z][a-z0-9_]{0,63}$ */
	char *description;
	enum contract_kind kind;
	char *file;            /* the file it came from, in display form */
	int line, col;         /* where its "name" is, for messages */
	enum contract_source source;
	cJSON *input_schema;   /* the schema as written (an object) */
	struct schema *schema; /* compiled from it */
	char **argv;           /* command contracts: the template; else NULL */
	size_t argc;
	bool shell;            /* argv is ["sh", "-c", TEMPLATE] */
	struct contract_effects effects;
	struct contract_limits limits;
	char **env;            /* variable names a child may see; default */
	size_t nenv;           /* PATH HOME LANG TERM */
	enum contract_approval approval;
	char **warnings;       /* located, not fatal ("shell": true, ...) */
	size_t nwarnings;
};

struct contract_set {
	struct contract *items;
	size_t count;
	char **notes;          /* for the person, one line each ("the project has ...") */
	size_t nnotes;
	char *builtin_dir;     /* the directories looked in; NULL when none */
	char *user_dir;
	char *project_dir;     /* found but not loaded (see the top) */
};

/* The names a "builtin" contract may take, NULL-terminated. */
extern const char *const contract_builtin_tools[];

/*
 * Parse and check the contract file at path.  Returns
 *    0  *out holds the contract (contract_release() it); its warnings, if
 *       any, are in out->warnings;
 *    1  problems found, each appended to problems as "file:line:col: what"
 *       (a line of its own, "\n"-terminated); *out is zeroed;
 *   -1  the file could not be read (missing, a directory, permission): e
 *       holds FERR_IO naming the path; *out is zeroed.
 * Malformed JSON, a file larger than CONTRACT_MAX_FILE, a format newer than
 * CONTRACT_FORMAT and every rule of forja-contracts(5) are problems.
 * out->source is CONTRACT_SOURCE_FILE.  Blocks on file I/O.
 */
int contract_load_file(const char *path, struct contract *out, struct buf *problems,
		       struct ferr *e);

/*
 * Check the contract held in text (len bytes) as if read from a file called
 * name; the same results as contract_load_file() without the I/O (never -1).
 */
int contract_parse(const char *name, const char *text, size_t len, struct contract *out,
		   struct buf *problems);

/*
 * Load the built-in and user contracts (see the top); cwd locates the
 * project, whose contracts are only counted in a note.  Returns 0 when
 * every file loaded, 1 when some had problems (appended to problems; the
 * others are in set), -1 when a directory exists but cannot be read (e
 * holds FERR_IO naming it; set is empty).  A directory that does not exist
 * is not an error.  Release set with contract_set_release() whatever the
 * result.  Blocks on file I/O.
 */
int contract_set_load(const char *cwd, struct contract_set *set, struct buf *problems,
		      struct ferr *e);

/*
 * Add c to set, taking what it owns (c is zeroed), unless its name is taken:
 * then c is released, a problem naming both files is appended and the
 * result is 1 (0 when added).  For callers that assemble sets themselves.
 */
int contract_set_add(struct contract_set *set, struct contract *c, struct buf *problems);

/* The contract called name, borrowed from set, or NULL. */
const struct contract *contract_find(const struct contract_set *set, const char *name);

/*
 * Validate a call's arguments, the JSON text (len bytes, no NUL needed) the
 * model sent, against c's schema.  Returns 0 with *args a new object
 * (cJSON_Delete() it) holding the arguments with the schema's defaults
 * filled in, or 1 with *args NULL and messages for the model appended to
 * problems, one a line ("`path`: expected string, got number").  Empty or
 * all-blank text counts as "{}".  Any input is safe: text larger than
 * CONTRACT_MAX_ARGS, malformed, nested deeper than jsonc's limit, holding
 * NUL bytes or invalid UTF-8 is reported, never crashed on.
 */
int contract_validate_args(const struct contract *c, const char *json, size_t len, cJSON **args,
			   struct buf *problems);

/*
 * Expand a command contract's argv template for args (validated by
 * contract_validate_args) into a new NULL-terminated array (*argv, *argc
 * elements; free with contract_argv_free()).  Each placeholder's value
 * becomes text (strings as they are, numbers as JSON writes them, true and
 * false) and never passes through a shell: an element "{x}" is exactly the
 * value, whatever it holds.  An absent (or null) argument removes every
 * element that mentions it; with "shell": true the values are put into the
 * script single-quoted and an absent one leaves nothing.  An argument that cannot fill its placeholder (an
 * object, an array in "{x}", a result beyond CONTRACT_MAX_ARG_BYTES or
 * CONTRACT_MAX_ARGV_BYTES) fails with FERR_DENIED and a message for the
 * model; a builtin contract fails with FERR_INTERNAL.
 */
int contract_expand_argv(const struct contract *c, const cJSON *args, char ***argv, size_t *argc,
			 struct ferr *e);
void contract_argv_free(char **argv, size_t argc);

/*
 * Append s to out quoted for sh(1): inside single quotes, each "'" written
 * as '\''.  The result is one word whatever s holds.
 */
void contract_shell_quote(struct buf *out, const char *s);

/*
 * Resolve an effects path for the sandbox into out (reset first): "~" and
 * "~/x" against $HOME, a relative path against workspace_root, an absolute
 * one as it is.  Returns 0, or -1 (FERR_CONFIG) when it needs $HOME and
 * $HOME is not set to an absolute path.
 */
int contract_resolve_path(const char *path, const char *workspace_root, struct buf *out,
			  struct ferr *e);

/* Whether a call under c needs the person's approval (its approval rule;
 * "on_write" asks when the effects grant any write). */
bool contract_needs_approval(const struct contract *c);

/* The tool definition the model sees, a new object (cJSON_Delete() it):
 * {"name", "description", "parameters": input_schema without "$comment"}
 * — OpenAI's function shape; a provider adapts it to its wire format. */
cJSON *contract_tool_json(const struct contract *c);

const char *contract_kind_name(enum contract_kind kind);         /* "builtin", "command" */
const char *contract_approval_name(enum contract_approval a);   /* "none", "on_write", ... */
const char *contract_source_name(enum contract_source s);       /* "builtin", "user", ... */

void contract_release(struct contract *c);
void contract_set_release(struct contract_set *set);

#endif

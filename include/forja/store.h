/*
 * store — forja's one sqlite database, $XDG_STATE_HOME/forja/forja.db.
 *
 * The store owns the file, its schema and every SQL statement run against
 * it: the schema machinery, a generic key/value cache (used by the
 * bootstrap scan), the trusted projects, and the sessions — each one's
 * conversation (messages, tool calls, token usage) and the audit of the
 * tool calls it ran, with what they changed.
 *
 * The database is in WAL mode with synchronous=NORMAL: a committed write
 * survives the process being killed (kill -9), and readers never wait for
 * a writer.  Several forja processes may open the same file at once; a
 * writer that finds another one busy waits up to STORE_BUSY_TIMEOUT_MS.
 *
 * Schema: PRAGMA user_version counts the forward migrations applied (see
 * the table at the top of store.c) and PRAGMA application_id marks the
 * file as forja's.  store_open() applies missing migrations, each in its
 * own BEGIN IMMEDIATE transaction, and refuses without writing anything:
 * a file that is not a sqlite database, a sqlite database that is not
 * forja's, and a database from a newer forja.
 *
 * Threads and blocking: a struct store is one sqlite connection opened
 * without sqlite's own mutexes, so it belongs to one thread at a time; a
 * worker thread that needs the database opens its own.  Every call below
 * is synchronous file I/O and may block up to STORE_BUSY_TIMEOUT_MS when
 * another connection holds the write lock, so do not call them from a
 * libuv callback that must stay short.  None of them is safe from a
 * signal handler or after fork() in the child (open a new store there).
 *
 * Errors are FERR_IO and name the file and what sqlite or the OS said,
 * except a missing HOME (FERR_CONFIG) and an over-size value (FERR_FAILED).
 */
#ifndef FORJA_STORE_H
#define FORJA_STORE_H

#include <stdbool.h>
#include <stddef.h>

#include "forja/buf.h"
#include "forja/ferr.h"

/* How long a write waits for another connection's write lock. */
#define STORE_BUSY_TIMEOUT_MS 5000
/* Largest value store_cache_put() accepts and store_cache_get() returns. */
#define STORE_CACHE_VALUE_MAX ((size_t)64 * 1024 * 1024)

struct store;

/*
 * Write the default database path into out (replacing its contents):
 * $XDG_STATE_HOME/forja/forja.db when XDG_STATE_HOME is an absolute path,
 * else $HOME/.local/state/forja/forja.db.  Fails (FERR_CONFIG) when the
 * fallback is needed and HOME is unset, empty or not absolute.
 */
int store_default_path(struct buf *out, struct ferr *e);

/*
 * Open (creating when missing) the database at path, or at
 * store_default_path() when path is NULL, and bring its schema up to date.
 * Missing parent directories are created with mode 0700 and a missing file
 * with mode 0600 (the -wal and -shm files sqlite adds inherit that mode);
 * existing ones are left as they are.  Opening a current database runs no
 * transaction and no integrity check.
 *
 * On success *out is a new store the caller frees with store_close().  On
 * failure *out is NULL and e is filled; an existing file is left as it was
 * (a missing one may remain, created empty), except that migrations which
 * committed before a later one failed stay applied.
 */
int store_open(const char *path, struct store **out, struct ferr *e);

/* Close the connection and free st; NULL is allowed. */
void store_close(struct store *st);

/* The path st was opened with (borrowed; valid until store_close). */
const char *store_path(const struct store *st);

/*
 * The schema version of the open database (PRAGMA user_version), or -1
 * when sqlite cannot read it.  store_schema_latest() is the version this
 * binary creates; after a successful store_open() the two are equal.
 */
int store_schema_version(struct store *st);
int store_schema_latest(void);

/*
 * Run PRAGMA quick_check.  Returns 0 when sqlite answers "ok"; otherwise
 * -1 with e naming the file and quoting sqlite's first complaints.  Reads
 * the whole file: meant for `forja doctor`, not for every start.
 */
int store_check(struct store *st, struct ferr *e);

/*
 * The cache: (ns, key) → an opaque byte string of at most
 * STORE_CACHE_VALUE_MAX bytes.  ns names the user ("bootstrap"); key is
 * whatever that user derives its validity from.  Both are NUL-terminated
 * text and must not be NULL.
 *
 * store_cache_get() replaces the contents of value (the caller owns the
 * buffer) and sets *found; when the entry is absent it returns 0 with
 * *found false and value empty.  A value of zero bytes is found and empty.
 *
 * store_cache_put() inserts or replaces, in its own transaction; value may
 * be NULL when len is 0.  store_cache_delete() succeeds whether or not the
 * entry existed.
 */
int store_cache_get(struct store *st, const char *ns, const char *key,
		    struct buf *value, bool *found, struct ferr *e);
int store_cache_put(struct store *st, const char *ns, const char *key,
		    const void *value, size_t len, struct ferr *e);
int store_cache_delete(struct store *st, const char *ns, const char *key,
		       struct ferr *e);

/*
 * Sessions and the tool audit (schema version 2).  A session is one run of
 * forja that calls tools; every call is one audit row, written in one
 * transaction with the changes it made (each file's previous content, so
 * that a write can be undone).  API keys never reach these rows: the
 * arguments are a tool's validated JSON, nothing else.
 */
struct store_change {
	const char *path;
	bool existed;
	unsigned mode;
	const void *before;
	size_t before_len;
};

struct store_audit {
	const char *session_id;
	const char *tool;
	const char *arguments;   /* JSON text */
	const char *sandbox;     /* the mode the call ran in */
	const char *approval;    /* "none", "auto", "user", "denied" */
	int status;              /* 0 ok, 1 failed, 2 denied */
	unsigned long long output_bytes;
	unsigned long long duration_ms;
	const struct store_change *changes;
	size_t nchanges;
};

/* Create a session of kind for cwd; its id (32 hex digits) goes to id. */
int store_session_new(struct store *st, const char *kind, const char *cwd, char id[33],
		      struct ferr *e);
/* Does session id exist?  (FERR_USAGE-free: *exists false when not.) */
int store_session_exists(struct store *st, const char *id, bool *exists, struct ferr *e);
/* Record one tool call and its changes, atomically; *id the row's id. */
int store_audit_add(struct store *st, const struct store_audit *a, long long *id,
		    struct ferr *e);

/* Trusted projects (schema version 3), by resolved root path. */
int store_trust_get(struct store *st, const char *root, bool *trusted, struct ferr *e);
int store_trust_set(struct store *st, const char *root, bool trusted, struct ferr *e);
/* One root a line, sorted, appended to out. */
int store_trust_list(struct store *st, struct buf *out, struct ferr *e);

/*
 * Conversations (schema version 4).  A session also has the project it
 * belongs to (the resolved project root, for `forja --continue`), a title
 * (the start of its first prompt), the provider and model last used, and
 * updated_at.  Its history is a list of steps, each committed on its own
 * (one transaction each) the moment it is complete, so that kill -9 loses
 * at most the step in flight:
 *   messages   seq (1, 2, … per session), role ("user", "assistant",
 *              "tool", "summary": a compaction summary that replaces every
 *              earlier message when the history is loaded), body: a JSON
 *              object {"content", "reasoning", "signature", "calls":
 *              [{"id","name","arguments"}], "tool_call_id", "tool_name",
 *              "is_error"} with only the keys that apply.
 *   tool_calls one row per call the model made, by (session, call id):
 *              added when the assistant message that made it is stored,
 *              then its approval decision, then its result (status text
 *              "ok", "failed", "denied", "timeout", "cancelled", exit code,
 *              duration, the result text the model got, the audit row).
 *   usage      one row per model response: provider, model, token counts,
 *              estimated cost (USD, < 0 when unknown).
 * Ids: every function taking a session id accepts the full 32 hex digits
 * or a unique prefix of at least 4 (FERR_USAGE when it matches none or
 * several, naming them).
 */
struct store_session_info {
	char id[33];
	long long created_at, updated_at;  /* unix seconds */
	char *kind, *cwd, *project, *title, *provider, *model;  /* NULL when unset */
	long long nmessages;
	long long prompt_tokens, completion_tokens;
	double cost;                       /* sum of known costs; < 0 none known */
};
void store_session_info_release(struct store_session_info *si);
void store_session_infos_free(struct store_session_info *v, size_t n);

struct store_message {
	long long seq;
	long long at;                      /* unix milliseconds */
	char *role;
	char *body;                        /* JSON text */
};
void store_messages_free(struct store_message *v, size_t n);

struct store_toolcall {
	char *call_id, *name, *arguments;
	long long message_seq;
	char *approval;                    /* NULL until decided */
	char *status;                      /* NULL until finished */
	int exit_code;                     /* -1 when none */
	long long duration_ms;
	char *result;                      /* NULL until finished */
	long long audit_id;                /* 0 when none */
};
void store_toolcalls_free(struct store_toolcall *v, size_t n);

/* Set what is known of a session; NULL leaves a field as it is.  Touches
 * updated_at, which every write that touches it makes later than any
 * other session's, so "most recently updated" follows the order of the
 * writes even within one millisecond.  The project is the resolved root
 * `forja sessions` lists by: bootstrap_project_root() of the cwd, else
 * the cwd's realpath(). */
int store_session_update(struct store *st, const char *id, const char *project,
			 const char *title, const char *provider, const char *model,
			 struct ferr *e);
/* Resolve a full id or a unique prefix to the full id. */
int store_session_resolve(struct store *st, const char *id_or_prefix, char id[33], struct ferr *e);
/* One session's summary; FERR_USAGE when there is no such session. */
int store_session_get(struct store *st, const char *id_or_prefix, struct store_session_info *out,
		      struct ferr *e);
/* Sessions, most recently updated first; project NULL: every project;
 * kind NULL: every kind; limit 0: no limit.  *out (NULL when *n is 0) is
 * the caller's, freed with store_session_infos_free(). */
int store_session_list(struct store *st, const char *project, const char *kind, size_t limit,
		       struct store_session_info **out, size_t *n, struct ferr *e);
/* The most recently updated session of project that has at least one
 * message; *found false when none. */
int store_session_latest(struct store *st, const char *project, char id[33], bool *found,
			 struct ferr *e);
/* Remove a session and everything recorded in it (messages, calls,
 * usage, audit). */
int store_session_rm(struct store *st, const char *id_or_prefix, struct ferr *e);

/* Append a message; *seq (may be NULL) gets its number: the session's
 * last plus one, taken under the write lock, so two processes appending
 * to one session never share a number.  Touches updated_at.  A role
 * other than the four above is FERR_INTERNAL. */
int store_message_add(struct store *st, const char *session_id, const char *role,
		      const char *body, long long *seq, struct ferr *e);
/* The history as the agent should load it: from the last "summary"
 * message on (or all of it), in order, read in one snapshot.  Free *out
 * with store_messages_free(). */
int store_message_list(struct store *st, const char *session_id, bool from_summary,
		       struct store_message **out, size_t *n, struct ferr *e);

/* Tool calls.  approval and finish update the latest call with that id
 * in the session (a model may reuse ids across turns) and fail with
 * FERR_INTERNAL when there is none; audit_id <= 0 records none.  The list
 * is in the order the calls were added; free it with
 * store_toolcalls_free(). */
int store_toolcall_add(struct store *st, const char *session_id, const char *call_id,
		       const char *name, const char *arguments, long long message_seq,
		       struct ferr *e);
int store_toolcall_approval(struct store *st, const char *session_id, const char *call_id,
			    const char *approval, struct ferr *e);
int store_toolcall_finish(struct store *st, const char *session_id, const char *call_id,
			  const char *status, int exit_code, long long duration_ms,
			  const char *result, long long audit_id, struct ferr *e);
int store_toolcall_list(struct store *st, const char *session_id, struct store_toolcall **out,
			size_t *n, struct ferr *e);

/* One model response's usage; a cost < 0 (or NaN) is unknown. */
int store_usage_add(struct store *st, const char *session_id, const char *provider,
		    const char *model, long long prompt_tokens, long long completion_tokens,
		    long long cached_tokens, long long reasoning_tokens, double cost,
		    struct ferr *e);

/* The audit rows of a session whose id is above since_id (0: all of
 * them), newest first, each with its changes in the order they were made,
 * for /diff and /undo.  Every string and before buffer is owned by the
 * rows (before has a NUL after its before_len bytes); free the array with
 * store_audit_rows_free(). */
struct store_audit_row {
	long long id;
	long long at;
	char *tool, *arguments;
	int status;
	struct store_change *changes;      /* path and before are owned */
	size_t nchanges;
};
void store_audit_rows_free(struct store_audit_row *v, size_t n);
int store_audit_list(struct store *st, const char *session_id, long long since_id,
		     struct store_audit_row **out, size_t *n, struct ferr *e);

#endif

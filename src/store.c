/*
 * store.c — forja's sqlite database: finding and creating the file without
 * ever clobbering someone else's, forward migrations keyed by PRAGMA
 * user_version, the generic key/value cache, trusted projects, and the
 * sessions with their conversations and audit.  Statements are prepared
 * once per connection, on first use, and always run with bound parameters.
 */
#include "forja/store.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "forja/utf8.h"

/* "forj" in the sqlite header (PRAGMA application_id): the file is ours. */
#define STORE_APPLICATION_ID 0x666f726a

/*
 * The forward migrations.  migrations[i] takes the schema from version i to
 * i + 1; it runs in one BEGIN IMMEDIATE transaction that also sets
 * user_version.  Append new entries (sessions, messages, audit, …) at the
 * end and never edit one that has shipped: a user's database has already
 * run it.  Each entry may hold several statements separated by ';'.
 */
static const char *const migrations[] = {
	/* 1: the generic cache (bootstrap scan results, …). */
	"CREATE TABLE cache ("
	"  ns TEXT NOT NULL,"
	"  key TEXT NOT NULL,"
	"  value BLOB NOT NULL,"
	"  updated_at INTEGER NOT NULL," /* unix seconds */
	"  PRIMARY KEY (ns, key)"
	");",
	/* 2: sessions, and the audit of every tool call with what it changed,
	 * so that a write can be undone. */
	"CREATE TABLE sessions ("
	"  id TEXT PRIMARY KEY,"
	"  created_at INTEGER NOT NULL,"
	"  kind TEXT NOT NULL,"          /* "tool", later "chat", "exec" */
	"  cwd TEXT NOT NULL"
	");"
	"CREATE TABLE audit ("
	"  id INTEGER PRIMARY KEY,"
	"  session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,"
	"  at INTEGER NOT NULL,"         /* unix milliseconds */
	"  tool TEXT NOT NULL,"
	"  arguments TEXT NOT NULL,"     /* the validated JSON */
	"  sandbox TEXT NOT NULL,"
	"  approval TEXT NOT NULL,"      /* how it was allowed: "none", "auto", "user", "denied" */
	"  status INTEGER NOT NULL,"     /* 0 ok, 1 failed, 2 denied */
	"  output_bytes INTEGER NOT NULL,"
	"  duration_ms INTEGER NOT NULL"
	");"
	"CREATE INDEX audit_session ON audit(session_id, id);"
	"CREATE TABLE audit_changes ("
	"  audit_id INTEGER NOT NULL REFERENCES audit(id) ON DELETE CASCADE,"
	"  seq INTEGER NOT NULL,"
	"  path TEXT NOT NULL,"
	"  existed INTEGER NOT NULL,"
	"  mode INTEGER NOT NULL,"
	"  before BLOB NOT NULL,"        /* the previous content, for undo */
	"  PRIMARY KEY (audit_id, seq)"
	");",
	/* 3: the projects the user trusts (forja trust): their own config may
	 * loosen settings and their contracts are loaded. */
	"CREATE TABLE trusted_projects ("
	"  root TEXT PRIMARY KEY,"
	"  trusted_at INTEGER NOT NULL"
	");",
	/* 4: conversations.  A session gains its project, title, provider,
	 * model and last update; its history is one row per message, per
	 * tool call the model made and per model response (token usage).
	 * Older sessions get updated_at from created_at. */
	"ALTER TABLE sessions ADD COLUMN project TEXT;"   /* resolved root, NULL unknown */
	"ALTER TABLE sessions ADD COLUMN title TEXT;"
	"ALTER TABLE sessions ADD COLUMN updated_at INTEGER NOT NULL DEFAULT 0;" /* unix ms */
	"ALTER TABLE sessions ADD COLUMN provider TEXT;"
	"ALTER TABLE sessions ADD COLUMN model TEXT;"
	"UPDATE sessions SET updated_at = created_at * 1000;"
	"CREATE INDEX sessions_project ON sessions(project, updated_at);"
	"CREATE INDEX sessions_updated ON sessions(updated_at);"
	"CREATE TABLE messages ("
	"  session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,"
	"  seq INTEGER NOT NULL,"        /* 1, 2, ... within the session */
	"  at INTEGER NOT NULL,"         /* unix milliseconds */
	"  role TEXT NOT NULL,"          /* "user", "assistant", "tool", "summary" */
	"  body TEXT NOT NULL,"          /* JSON object, see store.h */
	"  PRIMARY KEY (session_id, seq)"
	") WITHOUT ROWID;"
	"CREATE INDEX messages_summaries ON messages(session_id, seq) WHERE role = 'summary';"
	/* Keyed by a rowid, not by the model's call id: some servers reuse
	 * ids ("call_0") from one turn to the next. */
	"CREATE TABLE tool_calls ("
	"  id INTEGER PRIMARY KEY,"
	"  session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,"
	"  call_id TEXT NOT NULL,"
	"  name TEXT NOT NULL,"
	"  arguments TEXT NOT NULL,"     /* JSON text as the model sent it */
	"  message_seq INTEGER NOT NULL,"/* the assistant message that made it */
	"  approval TEXT,"               /* NULL until decided */
	"  status TEXT,"                 /* NULL until finished */
	"  exit_code INTEGER NOT NULL DEFAULT -1,"
	"  duration_ms INTEGER NOT NULL DEFAULT 0,"
	"  result TEXT,"                 /* what the model got back */
	"  audit_id INTEGER NOT NULL DEFAULT 0" /* audit(id), 0 when none */
	");"
	"CREATE INDEX tool_calls_session ON tool_calls(session_id, call_id);"
	"CREATE TABLE usage ("
	"  id INTEGER PRIMARY KEY,"
	"  session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,"
	"  at INTEGER NOT NULL,"         /* unix milliseconds */
	"  provider TEXT NOT NULL,"
	"  model TEXT NOT NULL,"
	"  prompt_tokens INTEGER NOT NULL,"
	"  completion_tokens INTEGER NOT NULL,"
	"  cached_tokens INTEGER NOT NULL,"
	"  reasoning_tokens INTEGER NOT NULL,"
	"  cost REAL"                    /* USD; NULL when unknown */
	");"
	"CREATE INDEX usage_session ON usage(session_id, id);",
};

#define SCHEMA_LATEST ((int)(sizeof migrations / sizeof migrations[0]))

/* The conversation statements, prepared on first use (stmt()). */
enum stmt_id {
	S_SESSION_NEW,
	S_SESSION_EXACT,
	S_SESSION_PREFIX,
	S_SESSION_UPDATE,
	S_SESSION_GET,
	S_SESSION_LIST,
	S_SESSION_LATEST,
	S_RM_AUDIT_CHANGES,
	S_RM_AUDIT,
	S_RM_TOOL_CALLS,
	S_RM_USAGE,
	S_RM_MESSAGES,
	S_RM_SESSION,
	S_MESSAGE_LAST_SEQ,
	S_MESSAGE_INSERT,
	S_SESSION_TOUCH,
	S_MESSAGE_LIST,
	S_TOOLCALL_ADD,
	S_TOOLCALL_APPROVAL,
	S_TOOLCALL_FINISH,
	S_TOOLCALL_LIST,
	S_USAGE_ADD,
	S_AUDIT_LIST,
	S_AUDIT_CHANGES,
	S_COUNT
};

/* One session's summary, as struct store_session_info reads it; the
 * provider and model fall back to the last usage row's. */
#define SESSION_INFO_SELECT \
	"SELECT s.id, s.created_at, s.updated_at, s.kind, s.cwd, s.project, s.title," \
	" coalesce(s.provider, (SELECT u.provider FROM usage u WHERE u.session_id = s.id" \
	"  ORDER BY u.id DESC LIMIT 1))," \
	" coalesce(s.model, (SELECT u.model FROM usage u WHERE u.session_id = s.id" \
	"  ORDER BY u.id DESC LIMIT 1))," \
	" (SELECT count(*) FROM messages m WHERE m.session_id = s.id)," \
	" (SELECT coalesce(sum(u.prompt_tokens), 0) FROM usage u WHERE u.session_id = s.id)," \
	" (SELECT coalesce(sum(u.completion_tokens), 0) FROM usage u WHERE u.session_id = s.id)," \
	" (SELECT sum(u.cost) FROM usage u WHERE u.session_id = s.id)" \
	" FROM sessions s "

/* updated_at for a write at time now (unix ms): later than every other
 * session's, so that "most recently updated" follows the order of the
 * writes even when they share a millisecond.  Run under the write lock. */
#define NEXT_UPDATE(now) \
	"max(" now ", (SELECT coalesce(max(updated_at), 0) + 1 FROM sessions))"

/* The latest call with that id: a model may reuse one across turns. */
#define TOOLCALL_LATEST "id = (SELECT max(id) FROM tool_calls WHERE session_id = ?1 AND call_id = ?2)"

static const char *const stmt_sql[S_COUNT] = {
	[S_SESSION_NEW] = "INSERT INTO sessions (id, created_at, kind, cwd, updated_at) "
			  "VALUES (?1, ?2, ?3, ?4, " NEXT_UPDATE("?5") ")",
	[S_SESSION_EXACT] = "SELECT id FROM sessions WHERE id = ?1",
	/* ids are lowercase hex: [prefix, prefix "g") holds exactly those
	 * that start with prefix, and the range uses the primary key. */
	[S_SESSION_PREFIX] = "SELECT id FROM sessions WHERE id >= ?1 AND id < ?2 ORDER BY id LIMIT 6",
	[S_SESSION_UPDATE] = "UPDATE sessions SET project = coalesce(?2, project),"
			     " title = coalesce(?3, title), provider = coalesce(?4, provider),"
			     " model = coalesce(?5, model), updated_at = " NEXT_UPDATE("?6")
			     " WHERE id = ?1",
	[S_SESSION_GET] = SESSION_INFO_SELECT "WHERE s.id = ?1",
	[S_SESSION_LIST] = SESSION_INFO_SELECT
			   "WHERE (?1 IS NULL OR s.project = ?1) AND (?2 IS NULL OR s.kind = ?2)"
			   " ORDER BY s.updated_at DESC, s.rowid DESC LIMIT ?3",
	[S_SESSION_LATEST] = "SELECT s.id FROM sessions s WHERE (?1 IS NULL OR s.project = ?1)"
			     " AND EXISTS (SELECT 1 FROM messages m WHERE m.session_id = s.id)"
			     " ORDER BY s.updated_at DESC, s.rowid DESC LIMIT 1",
	[S_RM_AUDIT_CHANGES] = "DELETE FROM audit_changes WHERE audit_id IN"
			       " (SELECT id FROM audit WHERE session_id = ?1)",
	[S_RM_AUDIT] = "DELETE FROM audit WHERE session_id = ?1",
	[S_RM_TOOL_CALLS] = "DELETE FROM tool_calls WHERE session_id = ?1",
	[S_RM_USAGE] = "DELETE FROM usage WHERE session_id = ?1",
	[S_RM_MESSAGES] = "DELETE FROM messages WHERE session_id = ?1",
	[S_RM_SESSION] = "DELETE FROM sessions WHERE id = ?1",
	[S_MESSAGE_LAST_SEQ] = "SELECT coalesce(max(seq), 0) FROM messages WHERE session_id = ?1",
	[S_MESSAGE_INSERT] = "INSERT INTO messages (session_id, seq, at, role, body)"
			     " VALUES (?1, ?2, ?3, ?4, ?5)",
	[S_SESSION_TOUCH] = "UPDATE sessions SET updated_at = " NEXT_UPDATE("?2") " WHERE id = ?1",
	/* One statement, so one snapshot even while another process appends. */
	[S_MESSAGE_LIST] = "SELECT seq, at, role, body FROM messages WHERE session_id = ?1"
			   " AND seq >= CASE WHEN ?2 THEN coalesce((SELECT max(seq) FROM messages"
			   "  WHERE session_id = ?1 AND role = 'summary'), 0) ELSE 0 END"
			   " ORDER BY seq",
	[S_TOOLCALL_ADD] = "INSERT INTO tool_calls (session_id, call_id, name, arguments, message_seq)"
			   " VALUES (?1, ?2, ?3, ?4, ?5)",
	[S_TOOLCALL_APPROVAL] = "UPDATE tool_calls SET approval = ?3 WHERE " TOOLCALL_LATEST,
	[S_TOOLCALL_FINISH] = "UPDATE tool_calls SET status = ?3, exit_code = ?4, duration_ms = ?5,"
			      " result = ?6, audit_id = ?7 WHERE " TOOLCALL_LATEST,
	[S_TOOLCALL_LIST] = "SELECT call_id, name, arguments, message_seq, approval, status,"
			    " exit_code, duration_ms, result, audit_id FROM tool_calls"
			    " WHERE session_id = ?1 ORDER BY id",
	[S_USAGE_ADD] = "INSERT INTO usage (session_id, at, provider, model, prompt_tokens,"
			" completion_tokens, cached_tokens, reasoning_tokens, cost)"
			" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
	[S_AUDIT_LIST] = "SELECT id, at, tool, arguments, status FROM audit"
			 " WHERE session_id = ?1 AND id > ?2 ORDER BY id DESC",
	[S_AUDIT_CHANGES] = "SELECT path, existed, mode, before FROM audit_changes"
			    " WHERE audit_id = ?1 ORDER BY seq",
};

struct store {
	sqlite3 *db;
	char *path;
	/* Prepared on first use, finalized by store_close(). */
	sqlite3_stmt *cache_get;
	sqlite3_stmt *cache_put;
	sqlite3_stmt *cache_delete;
	sqlite3_stmt *stmts[S_COUNT];
};

/* Fill e with "path: what: sqlite's message", adding the OS error when the
 * failure came from a system call (sqlite's "unable to open database file"
 * alone does not say why). */
static int db_fail(struct store *st, struct ferr *e, const char *what)
{
	int ext = sqlite3_extended_errcode(st->db);
	int code = ext & 0xff;
	int sys = sqlite3_system_errno(st->db);
	bool from_os = code == SQLITE_CANTOPEN || code == SQLITE_IOERR ||
		       code == SQLITE_READONLY || code == SQLITE_FULL ||
		       code == SQLITE_PERM;

	if (ext == SQLITE_READONLY_CANTINIT || ext == SQLITE_READONLY_DIRECTORY)
		return ferr_set(e, FERR_IO, "%s: %s: %s (sqlite cannot create the -wal and "
				"-shm files beside it; is the directory writable?)",
				st->path, what, sqlite3_errmsg(st->db));
	if (from_os && sys)
		return ferr_set(e, FERR_IO, "%s: %s: %s (%s)", st->path, what,
				sqlite3_errmsg(st->db), strerror(sys));
	return ferr_set(e, FERR_IO, "%s: %s: %s", st->path, what, sqlite3_errmsg(st->db));
}

static int exec_sql(struct store *st, const char *sql, const char *what, struct ferr *e)
{
	if (sqlite3_exec(st->db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return db_fail(st, e, what);
	return 0;
}

/* Undo an open transaction after a failure; e already says what went wrong. */
static void rollback(struct store *st)
{
	if (!sqlite3_get_autocommit(st->db))
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
}

/* Run a statement that answers one integer (a pragma, a count). */
static int query_int(struct store *st, const char *sql, int *val, struct ferr *e)
{
	sqlite3_stmt *stmt = NULL;
	int rc;

	if (sqlite3_prepare_v2(st->db, sql, -1, &stmt, NULL) != SQLITE_OK)
		return db_fail(st, e, "cannot read");
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		*val = sqlite3_column_int(stmt, 0);
	else if (rc != SQLITE_DONE)
		db_fail(st, e, "cannot read");
	sqlite3_finalize(stmt);
	if (rc == SQLITE_DONE)
		return ferr_set(e, FERR_INTERNAL, "%s: \"%s\" returned no row", st->path, sql);
	return rc == SQLITE_ROW ? 0 : -1;
}

static int prepare_once(struct store *st, sqlite3_stmt **slot, const char *sql, struct ferr *e)
{
	if (*slot)
		return 0;
	if (sqlite3_prepare_v3(st->db, sql, -1, SQLITE_PREPARE_PERSISTENT, slot, NULL) != SQLITE_OK)
		return db_fail(st, e, "cannot prepare a statement");
	return 0;
}

/* Append dir to out without its trailing slashes ("/" stays meaningful:
 * the caller appends "/forja/…"). */
static void add_dir(struct buf *out, const char *dir)
{
	size_t len = strlen(dir);

	while (len > 0 && dir[len - 1] == '/')
		len--;
	buf_add(out, dir, len);
}

int store_default_path(struct buf *out, struct ferr *e)
{
	const char *xdg = getenv("XDG_STATE_HOME");
	const char *home;

	buf_reset(out);
	/* The XDG spec says a relative value is invalid and must be ignored. */
	if (xdg && xdg[0] == '/') {
		add_dir(out, xdg);
		buf_puts(out, "/forja/forja.db");
		return 0;
	}
	home = getenv("HOME");
	if (!home || home[0] != '/')
		return ferr_set(e, FERR_CONFIG,
				"cannot place forja.db: XDG_STATE_HOME is not an absolute path "
				"and HOME is %s; set one of them",
				!home ? "unset" : !home[0] ? "empty" : "not an absolute path");
	add_dir(out, home);
	buf_puts(out, "/.local/state/forja/forja.db");
	return 0;
}

/* mkdir -p with mode 0700, creating only the missing components.  dir is
 * modified during the call and restored. */
static int make_dirs(char *dir, struct ferr *e)
{
	char *slash;
	int rc;

	if (mkdir(dir, 0700) == 0 || errno == EEXIST)
		return 0;
	if (errno != ENOENT)
		return ferr_set(e, FERR_IO, "%s: cannot create directory: %s", dir, strerror(errno));
	slash = strrchr(dir, '/');
	while (slash && slash > dir && slash[-1] == '/')
		slash--;
	if (!slash || slash == dir)
		return ferr_set(e, FERR_IO, "%s: cannot create directory: %s", dir, strerror(ENOENT));
	*slash = '\0';
	rc = make_dirs(dir, e);
	*slash = '/';
	if (rc < 0)
		return -1;
	if (mkdir(dir, 0700) == 0 || errno == EEXIST)
		return 0;
	return ferr_set(e, FERR_IO, "%s: cannot create directory: %s", dir, strerror(errno));
}

/*
 * Make sure path is a regular file, creating it (and its directories) when
 * missing.  Creating the empty file ourselves is what gives it mode 0600:
 * sqlite would use 0644, and copies the database's mode to -wal and -shm.
 * O_EXCL means a file that appears meanwhile is never truncated.
 */
static int prepare_file(const char *path, struct ferr *e)
{
	struct stat sb;
	char *dir;
	char *slash;
	int fd, rc = 0;

	if (!path[0])
		return ferr_set(e, FERR_IO, "store: empty database path");
	if (stat(path, &sb) == 0) {
		if (S_ISDIR(sb.st_mode))
			return ferr_set(e, FERR_IO, "%s: is a directory, not a database file", path);
		if (!S_ISREG(sb.st_mode))
			return ferr_set(e, FERR_IO, "%s: is not a regular file", path);
		return 0;
	}
	if (errno != ENOENT)
		return ferr_set(e, FERR_IO, "%s: %s", path, strerror(errno));
	if (path[strlen(path) - 1] == '/')
		return ferr_set(e, FERR_IO, "%s: names a directory, not a database file", path);

	dir = xstrdup(path);
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		rc = make_dirs(dir, e);
	}
	free(dir);
	if (rc < 0)
		return -1;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd >= 0)
		close(fd);
	else if (errno != EEXIST)
		return ferr_set(e, FERR_IO, "%s: cannot create: %s", path, strerror(errno));
	return 0;
}

static int newer_error(struct store *st, int version, struct ferr *e)
{
	return ferr_set(e, FERR_IO,
			"%s: schema version %d is newer than this forja understands (%d); "
			"upgrade forja",
			st->path, version, SCHEMA_LATEST);
}

/*
 * Decide, before anything is written, whether the file may be used: forja's
 * mark with a version we know, or an empty database (which becomes ours).
 * One statement, so one snapshot: read piecemeal, a racing process could
 * migrate in between and the file would look half-foreign.  This is the
 * first read after opening, so it is also where a file that is not a
 * database at all is reported.
 */
static int check_identity(struct store *st, int *out_version, struct ferr *e)
{
	sqlite3_stmt *stmt = NULL;
	int version = 0, app_id = 0, objects = 0;
	int rc = -1;

	if (sqlite3_prepare_v2(st->db,
			       "SELECT (SELECT user_version FROM pragma_user_version),"
			       " (SELECT application_id FROM pragma_application_id),"
			       " (SELECT count(*) FROM sqlite_master)",
			       -1, &stmt, NULL) != SQLITE_OK ||
	    sqlite3_step(stmt) != SQLITE_ROW) {
		db_fail(st, e, "cannot read");
		goto out;
	}
	version = sqlite3_column_int(stmt, 0);
	app_id = sqlite3_column_int(stmt, 1);
	objects = sqlite3_column_int(stmt, 2);
	if (app_id != 0 && app_id != STORE_APPLICATION_ID) {
		ferr_set(e, FERR_IO, "%s: is a sqlite database of another program "
			 "(application_id 0x%08x), not forja's; refusing to change it",
			 st->path, (unsigned)app_id);
		goto out;
	}
	if (version > SCHEMA_LATEST) {
		newer_error(st, version, e);
		goto out;
	}
	if (app_id != STORE_APPLICATION_ID && (version != 0 || objects != 0)) {
		ferr_set(e, FERR_IO, "%s: is a sqlite database but not forja's (user_version %d, "
			 "%d schema objects); refusing to change it",
			 st->path, version, objects);
		goto out;
	}
	*out_version = version;
	rc = 0;
out:
	sqlite3_finalize(stmt);
	return rc;
}

/*
 * Apply the missing migrations, one transaction each.  BEGIN IMMEDIATE
 * takes the write lock before reading user_version again, so of two
 * processes opening a fresh database at once, the second finds the work
 * done and only commits an empty transaction.
 */
static int migrate(struct store *st, struct ferr *e)
{
	char sql[96];
	int version = 0;

	for (;;) {
		if (exec_sql(st, "BEGIN IMMEDIATE", "cannot start the schema migration", e) < 0)
			return -1;
		if (query_int(st, "PRAGMA user_version", &version, e) < 0)
			goto fail;
		if (version > SCHEMA_LATEST) {
			newer_error(st, version, e);
			goto fail;
		}
		if (version == SCHEMA_LATEST)
			break;
		if (sqlite3_exec(st->db, migrations[version], NULL, NULL, NULL) != SQLITE_OK) {
			snprintf(sql, sizeof sql, "schema migration to version %d failed", version + 1);
			db_fail(st, e, sql);
			goto fail;
		}
		/* Pragmas take no parameters; both numbers are ours, not data. */
		snprintf(sql, sizeof sql, "PRAGMA user_version = %d; PRAGMA application_id = %d",
			 version + 1, STORE_APPLICATION_ID);
		if (exec_sql(st, sql, "cannot record the schema version", e) < 0 ||
		    exec_sql(st, "COMMIT", "cannot commit the schema migration", e) < 0)
			goto fail;
	}
	return exec_sql(st, "COMMIT", "cannot commit the schema migration", e);
fail:
	rollback(st);
	return -1;
}

/*
 * Switch to WAL; persistent in the file, so a no-op once set.  sqlite
 * answers with the mode it ended up in rather than failing.  The switch
 * upgrades the statement's own read lock to an exclusive one; when two
 * connections do that at once, sqlite gives one of them SQLITE_BUSY at once
 * instead of calling the busy handler (they would wait for each other), so
 * processes racing to create the file retry here, up to the busy timeout.
 */
static int set_wal(struct store *st, struct ferr *e)
{
	sqlite3_stmt *stmt = NULL;
	const char *mode;
	int waited_ms = 0;
	int step;
	int rc = -1;

	if (sqlite3_prepare_v2(st->db, "PRAGMA journal_mode = WAL", -1, &stmt, NULL) != SQLITE_OK) {
		db_fail(st, e, "cannot switch to WAL mode");
		goto out;
	}
	while ((step = sqlite3_step(stmt)) == SQLITE_BUSY && waited_ms < STORE_BUSY_TIMEOUT_MS) {
		sqlite3_reset(stmt);
		sqlite3_sleep(5);
		waited_ms += 5;
	}
	if (step != SQLITE_ROW) {
		db_fail(st, e, "cannot switch to WAL mode");
		goto out;
	}
	mode = (const char *)sqlite3_column_text(stmt, 0);
	if (!mode || strcmp(mode, "wal") != 0) {
		ferr_set(e, FERR_IO, "%s: cannot switch to WAL mode: sqlite stayed in %s mode",
			 st->path, mode ? mode : "an unknown");
		goto out;
	}
	rc = 0;
out:
	sqlite3_finalize(stmt);
	return rc;
}

static int configure(struct store *st, struct ferr *e)
{
	int version = 0;

	sqlite3_busy_timeout(st->db, STORE_BUSY_TIMEOUT_MS);
	if (exec_sql(st, "PRAGMA trusted_schema = OFF", "cannot configure", e) < 0)
		return -1;
	if (sqlite3_db_readonly(st->db, "main") == 1)
		return ferr_set(e, FERR_IO, "%s: can only be opened read-only (%s); "
				"forja needs to write its state there",
				st->path, access(st->path, W_OK) < 0 ? strerror(errno) : "read-only");
	if (check_identity(st, &version, e) < 0 || set_wal(st, e) < 0)
		return -1;
	/* Per connection: both must be set on every open. */
	if (exec_sql(st, "PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON",
		     "cannot configure", e) < 0)
		return -1;
	/* migrate() reads the version again under the write lock. */
	if (version != SCHEMA_LATEST)
		return migrate(st, e);
	return 0;
}

int store_open(const char *path, struct store **out, struct ferr *e)
{
	struct buf default_path = BUF_INIT;
	struct buf sqlite_path = BUF_INIT;
	struct store *st = NULL;
	int rc = -1;

	*out = NULL;
	if (!path) {
		if (store_default_path(&default_path, e) < 0)
			goto out;
		path = default_path.data;
	}
	if (prepare_file(path, e) < 0)
		goto out;

	/* "./" keeps a relative name such as ":memory:" or "file:x" a file. */
	if (path[0] != '/')
		buf_puts(&sqlite_path, "./");
	buf_puts(&sqlite_path, path);

	st = xcalloc(1, sizeof *st);
	st->path = xstrdup(path);
	if (sqlite3_open_v2(sqlite_path.data, &st->db,
			    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
			    NULL) != SQLITE_OK) {
		if (st->db)
			db_fail(st, e, "cannot open");
		else
			ferr_set(e, FERR_IO, "%s: cannot open: out of memory", path);
		goto out;
	}
	if (configure(st, e) < 0)
		goto out;
	*out = st;
	st = NULL;
	rc = 0;
out:
	store_close(st);
	buf_release(&sqlite_path);
	buf_release(&default_path);
	return rc;
}

void store_close(struct store *st)
{
	if (!st)
		return;
	sqlite3_finalize(st->cache_get);
	sqlite3_finalize(st->cache_put);
	sqlite3_finalize(st->cache_delete);
	for (size_t i = 0; i < S_COUNT; i++)
		sqlite3_finalize(st->stmts[i]);
	/* Also the last connection's WAL checkpoint; nothing useful to do if
	 * it fails, the next open recovers from the WAL. */
	sqlite3_close(st->db);
	free(st->path);
	free(st);
}

const char *store_path(const struct store *st)
{
	return st->path;
}

int store_schema_version(struct store *st)
{
	int version;

	if (query_int(st, "PRAGMA user_version", &version, NULL) < 0)
		return -1;
	return version;
}

int store_schema_latest(void)
{
	return SCHEMA_LATEST;
}

int store_check(struct store *st, struct ferr *e)
{
	struct buf complaints = BUF_INIT;
	sqlite3_stmt *stmt = NULL;
	const char *row;
	bool ok = false;
	int rows = 0;
	int rc = -1;

	if (sqlite3_prepare_v2(st->db, "PRAGMA quick_check(5)", -1, &stmt, NULL) != SQLITE_OK) {
		db_fail(st, e, "integrity check could not run");
		goto out;
	}
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		row = (const char *)sqlite3_column_text(stmt, 0);
		if (!row)
			row = "";
		ok = rows++ == 0 && strcmp(row, "ok") == 0;
		if (complaints.len)
			buf_puts(&complaints, "; ");
		buf_puts(&complaints, row);
	}
	if (rc != SQLITE_DONE) {
		db_fail(st, e, "integrity check failed");
		rc = -1;
		goto out;
	}
	if (ok && rows == 1) {
		rc = 0;
		goto out;
	}
	rc = ferr_set(e, FERR_IO, "%s: integrity check failed: %s", st->path,
		      complaints.len ? complaints.data : "no answer");
out:
	sqlite3_finalize(stmt);
	buf_release(&complaints);
	return rc;
}

static int bind_ns_key(struct store *st, sqlite3_stmt *stmt, const char *ns, const char *key,
		       struct ferr *e)
{
	if (sqlite3_bind_text(stmt, 1, ns, -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_text(stmt, 2, key, -1, SQLITE_STATIC) != SQLITE_OK)
		return db_fail(st, e, "cannot bind the cache key");
	return 0;
}

/* Run one bound writing statement in its own transaction, then reset it
 * and drop the bindings (they point into the caller's memory). */
static int write_one(struct store *st, sqlite3_stmt *stmt, const char *what, struct ferr *e)
{
	int rc = -1;

	if (exec_sql(st, "BEGIN IMMEDIATE", what, e) < 0)
		goto out;
	if (sqlite3_step(stmt) != SQLITE_DONE) {
		db_fail(st, e, what);
		goto out;
	}
	sqlite3_reset(stmt);
	if (exec_sql(st, "COMMIT", what, e) < 0)
		goto out;
	rc = 0;
out:
	if (rc < 0)
		rollback(st);
	sqlite3_reset(stmt);
	sqlite3_clear_bindings(stmt);
	return rc;
}

int store_cache_get(struct store *st, const char *ns, const char *key,
		    struct buf *value, bool *found, struct ferr *e)
{
	sqlite3_stmt *stmt;
	const void *blob;
	size_t len;
	int step;
	int rc = -1;

	assert(st && ns && key && value && found);
	buf_reset(value);
	*found = false;
	if (prepare_once(st, &st->cache_get,
			 "SELECT value FROM cache WHERE ns = ?1 AND key = ?2", e) < 0)
		return -1;
	stmt = st->cache_get;
	if (bind_ns_key(st, stmt, ns, key, e) < 0)
		goto out;
	step = sqlite3_step(stmt);
	if (step == SQLITE_DONE) {
		rc = 0;
		goto out;
	}
	if (step != SQLITE_ROW) {
		db_fail(st, e, "cannot read the cache");
		goto out;
	}
	blob = sqlite3_column_blob(stmt, 0);
	len = (size_t)sqlite3_column_bytes(stmt, 0);
	if (len > STORE_CACHE_VALUE_MAX) {
		ferr_set(e, FERR_FAILED, "%s: cache entry %s/%s is %zu bytes, over the %zu MiB limit",
			 st->path, ns, key, len, STORE_CACHE_VALUE_MAX >> 20);
		goto out;
	}
	if (!blob && len) {
		db_fail(st, e, "cannot read the cache");
		goto out;
	}
	buf_add(value, blob, len);
	*found = true;
	rc = 0;
out:
	/* Resetting ends the read transaction; a statement left on a row
	 * would pin an old WAL snapshot. */
	sqlite3_reset(stmt);
	sqlite3_clear_bindings(stmt);
	return rc;
}

int store_cache_put(struct store *st, const char *ns, const char *key,
		    const void *value, size_t len, struct ferr *e)
{
	sqlite3_stmt *stmt;

	assert(st && ns && key && (value || len == 0));
	if (len > STORE_CACHE_VALUE_MAX)
		return ferr_set(e, FERR_FAILED,
				"%s: cache entry %s/%s is %zu bytes, over the %zu MiB limit",
				st->path, ns, key, len, STORE_CACHE_VALUE_MAX >> 20);
	if (prepare_once(st, &st->cache_put,
			 "INSERT INTO cache (ns, key, value, updated_at) VALUES (?1, ?2, ?3, ?4) "
			 "ON CONFLICT (ns, key) DO UPDATE SET "
			 "value = excluded.value, updated_at = excluded.updated_at", e) < 0)
		return -1;
	stmt = st->cache_put;
	if (bind_ns_key(st, stmt, ns, key, e) < 0)
		goto fail;
	/* A non-NULL pointer even for len 0: NULL would bind SQL NULL. */
	if (sqlite3_bind_blob64(stmt, 3, value ? value : "", len, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_int64(stmt, 4, (sqlite3_int64)time(NULL)) != SQLITE_OK) {
		db_fail(st, e, "cannot bind the cache value");
		goto fail;
	}
	return write_one(st, stmt, "cannot write the cache", e);
fail:
	sqlite3_clear_bindings(stmt);
	return -1;
}

int store_cache_delete(struct store *st, const char *ns, const char *key, struct ferr *e)
{
	sqlite3_stmt *stmt;

	assert(st && ns && key);
	if (prepare_once(st, &st->cache_delete,
			 "DELETE FROM cache WHERE ns = ?1 AND key = ?2", e) < 0)
		return -1;
	stmt = st->cache_delete;
	if (bind_ns_key(st, stmt, ns, key, e) < 0) {
		sqlite3_clear_bindings(stmt);
		return -1;
	}
	return write_one(st, stmt, "cannot delete from the cache", e);
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The statement id, prepared on first use; NULL with e filled when sqlite
 * cannot prepare it. */
static sqlite3_stmt *stmt(struct store *st, enum stmt_id id, struct ferr *e)
{
	if (prepare_once(st, &st->stmts[id], stmt_sql[id], e) < 0)
		return NULL;
	return st->stmts[id];
}

/* Make a cached statement ready for its next use: ends its read (a
 * statement left on a row pins an old WAL snapshot) and drops bindings
 * that point into the caller's memory. */
static void stmt_done(sqlite3_stmt *s)
{
	if (s) {
		sqlite3_reset(s);
		sqlite3_clear_bindings(s);
	}
}

/* Run a bound statement that returns no row. */
static int step_done(struct store *st, sqlite3_stmt *s, const char *what, struct ferr *e)
{
	int rc = sqlite3_step(s) == SQLITE_DONE ? 0 : db_fail(st, e, what);

	stmt_done(s);
	return rc;
}

static int bind_text(struct store *st, sqlite3_stmt *s, int i, const char *text, struct ferr *e)
{
	int rc = text ? sqlite3_bind_text(s, i, text, -1, SQLITE_STATIC) : sqlite3_bind_null(s, i);

	return rc == SQLITE_OK ? 0 : db_fail(st, e, "cannot bind a value");
}

static int bind_int(struct store *st, sqlite3_stmt *s, int i, long long v, struct ferr *e)
{
	return sqlite3_bind_int64(s, i, (sqlite3_int64)v) == SQLITE_OK
		       ? 0 : db_fail(st, e, "cannot bind a value");
}

/* A text column as a new string, NULL for SQL NULL. */
static char *column_dup(sqlite3_stmt *s, int i)
{
	const char *text = (const char *)sqlite3_column_text(s, i);

	return text ? xstrndup(text, (size_t)sqlite3_column_bytes(s, i)) : NULL;
}

static int begin(struct store *st, const char *what, struct ferr *e)
{
	return exec_sql(st, "BEGIN IMMEDIATE", what, e);
}

/* Commit, or roll back when rc says the transaction failed; returns rc. */
static int finish(struct store *st, int rc, const char *what, struct ferr *e)
{
	if (rc == 0 && exec_sql(st, "COMMIT", what, e) < 0)
		rc = -1;
	if (rc < 0)
		rollback(st);
	return rc;
}

int store_session_new(struct store *st, const char *kind, const char *cwd, char id[33],
		      struct ferr *e)
{
	unsigned char raw[16];
	sqlite3_stmt *s;
	long long now = now_ms();

	sqlite3_randomness(sizeof raw, raw);
	for (size_t i = 0; i < sizeof raw; i++)
		snprintf(id + 2 * i, 3, "%02x", raw[i]);
	if (!(s = stmt(st, S_SESSION_NEW, e)))
		return -1;
	if (bind_text(st, s, 1, id, e) < 0 || bind_int(st, s, 2, now / 1000, e) < 0 ||
	    bind_text(st, s, 3, kind, e) < 0 || bind_text(st, s, 4, cwd, e) < 0 ||
	    bind_int(st, s, 5, now, e) < 0) {
		stmt_done(s);
		return -1;
	}
	return write_one(st, s, "cannot create a session", e);
}

int store_session_exists(struct store *st, const char *id, bool *exists, struct ferr *e)
{
	sqlite3_stmt *s;
	int step;

	*exists = false;
	if (!(s = stmt(st, S_SESSION_EXACT, e)))
		return -1;
	if (bind_text(st, s, 1, id, e) < 0) {
		stmt_done(s);
		return -1;
	}
	step = sqlite3_step(s);
	*exists = step == SQLITE_ROW;
	if (step != SQLITE_ROW && step != SQLITE_DONE)
		db_fail(st, e, "cannot read the sessions");
	stmt_done(s);
	return step == SQLITE_ROW || step == SQLITE_DONE ? 0 : -1;
}

int store_audit_add(struct store *st, const struct store_audit *a, long long *id,
		    struct ferr *e)
{
	sqlite3_stmt *row = NULL, *change = NULL;
	int rc = -1;

	if (sqlite3_prepare_v2(st->db,
			       "INSERT INTO audit (session_id, at, tool, arguments, sandbox, approval, "
			       "status, output_bytes, duration_ms) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9)",
			       -1, &row, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(st->db,
			       "INSERT INTO audit_changes (audit_id, seq, path, existed, mode, before) "
			       "VALUES (?1,?2,?3,?4,?5,?6)",
			       -1, &change, NULL) != SQLITE_OK) {
		db_fail(st, e, "cannot prepare a statement");
		goto out;
	}
	if (exec_sql(st, "BEGIN IMMEDIATE", "cannot record a tool call", e) < 0)
		goto out;
	sqlite3_bind_text(row, 1, a->session_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(row, 2, now_ms());
	sqlite3_bind_text(row, 3, a->tool, -1, SQLITE_STATIC);
	sqlite3_bind_text(row, 4, a->arguments, -1, SQLITE_STATIC);
	sqlite3_bind_text(row, 5, a->sandbox, -1, SQLITE_STATIC);
	sqlite3_bind_text(row, 6, a->approval, -1, SQLITE_STATIC);
	sqlite3_bind_int(row, 7, a->status);
	sqlite3_bind_int64(row, 8, (sqlite3_int64)a->output_bytes);
	sqlite3_bind_int64(row, 9, (sqlite3_int64)a->duration_ms);
	if (sqlite3_step(row) != SQLITE_DONE) {
		db_fail(st, e, "cannot record a tool call");
		goto rollback;
	}
	*id = (long long)sqlite3_last_insert_rowid(st->db);
	for (size_t i = 0; i < a->nchanges; i++) {
		const struct store_change *c = &a->changes[i];
		sqlite3_reset(change);
		sqlite3_bind_int64(change, 1, *id);
		sqlite3_bind_int64(change, 2, (sqlite3_int64)i);
		sqlite3_bind_text(change, 3, c->path, -1, SQLITE_STATIC);
		sqlite3_bind_int(change, 4, c->existed);
		sqlite3_bind_int(change, 5, (int)c->mode);
		sqlite3_bind_blob64(change, 6, c->before ? c->before : "", c->before_len, SQLITE_STATIC);
		if (sqlite3_step(change) != SQLITE_DONE) {
			db_fail(st, e, "cannot record a change");
			goto rollback;
		}
	}
	if (exec_sql(st, "COMMIT", "cannot record a tool call", e) < 0)
		goto rollback;
	rc = 0;
	goto out;
rollback:
	rollback(st);
out:
	sqlite3_finalize(row);
	sqlite3_finalize(change);
	return rc;
}

int store_trust_get(struct store *st, const char *root, bool *trusted, struct ferr *e)
{
	sqlite3_stmt *stmt = NULL;
	int step;

	*trusted = false;
	if (sqlite3_prepare_v2(st->db, "SELECT 1 FROM trusted_projects WHERE root = ?1", -1, &stmt,
			       NULL) != SQLITE_OK)
		return db_fail(st, e, "cannot prepare a statement");
	sqlite3_bind_text(stmt, 1, root, -1, SQLITE_STATIC);
	step = sqlite3_step(stmt);
	*trusted = step == SQLITE_ROW;
	sqlite3_finalize(stmt);
	if (step != SQLITE_ROW && step != SQLITE_DONE)
		return db_fail(st, e, "cannot read the trusted projects");
	return 0;
}

int store_trust_set(struct store *st, const char *root, bool trusted, struct ferr *e)
{
	sqlite3_stmt *stmt = NULL;
	int rc;

	if (sqlite3_prepare_v2(st->db,
			       trusted ? "INSERT OR REPLACE INTO trusted_projects (root, trusted_at) VALUES (?1, ?2)"
				       : "DELETE FROM trusted_projects WHERE root = ?1",
			       -1, &stmt, NULL) != SQLITE_OK)
		return db_fail(st, e, "cannot prepare a statement");
	sqlite3_bind_text(stmt, 1, root, -1, SQLITE_STATIC);
	if (trusted)
		sqlite3_bind_int64(stmt, 2, (sqlite3_int64)time(NULL));
	rc = write_one(st, stmt, "cannot record the trust", e);
	sqlite3_finalize(stmt);
	return rc;
}

int store_trust_list(struct store *st, struct buf *out, struct ferr *e)
{
	sqlite3_stmt *stmt = NULL;
	int step;

	if (sqlite3_prepare_v2(st->db, "SELECT root FROM trusted_projects ORDER BY root", -1, &stmt,
			       NULL) != SQLITE_OK)
		return db_fail(st, e, "cannot prepare a statement");
	while ((step = sqlite3_step(stmt)) == SQLITE_ROW) {
		buf_puts(out, (const char *)sqlite3_column_text(stmt, 0));
		buf_putc(out, '\n');
	}
	sqlite3_finalize(stmt);
	if (step != SQLITE_DONE)
		return db_fail(st, e, "cannot read the trusted projects");
	return 0;
}

/* Conversations (schema 4). */

static bool is_hex_id(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f') ||
		      (s[i] >= 'A' && s[i] <= 'F')))
			return false;
	return true;
}

/*
 * The full id of the one session whose id is in, or starts with it.  Ids
 * come from the person (the command line), so a bad one is named in its
 * quoted form: it may hold anything, escape sequences included.
 */
static int resolve(struct store *st, const char *in, char id[33], struct ferr *e)
{
	char lower[33], upper_bound[34];
	struct buf names = BUF_INIT;
	sqlite3_stmt *s;
	size_t len = strlen(in), nfound = 0;
	int step, rc = -1;

	if (len > 32 || !is_hex_id(in, len)) {
		char *shown = utf8_path_dup(in, len > 64 ? 64 : len);
		ferr_set(e, FERR_USAGE, "%s%s is not a session id: ids are 32 hex digits, "
			 "or a prefix of at least 4 of them", shown, len > 64 ? "..." : "");
		free(shown);
		return -1;
	}
	if (len < 4)
		return ferr_set(e, FERR_USAGE, "session id %s is too short: give at least 4 of "
				"its hex digits", len ? in : "''");
	for (size_t i = 0; i <= len; i++)
		lower[i] = (char)(in[i] >= 'A' && in[i] <= 'F' ? in[i] - 'A' + 'a' : in[i]);
	if (len == 32) {
		if (!(s = stmt(st, S_SESSION_EXACT, e)))
			return -1;
		if (bind_text(st, s, 1, lower, e) < 0)
			goto out;
	} else {
		memcpy(upper_bound, lower, len);
		upper_bound[len] = 'g';
		upper_bound[len + 1] = '\0';
		if (!(s = stmt(st, S_SESSION_PREFIX, e)))
			return -1;
		if (bind_text(st, s, 1, lower, e) < 0 || bind_text(st, s, 2, upper_bound, e) < 0)
			goto out;
	}
	while ((step = sqlite3_step(s)) == SQLITE_ROW) {
		const char *row = (const char *)sqlite3_column_text(s, 0);
		if (nfound == 0 && row && strlen(row) == 32)
			memcpy(id, row, 33);
		if (nfound < 5)
			buf_printf(&names, "%s%s", nfound ? ", " : "", row ? row : "");
		nfound++;
	}
	if (step != SQLITE_DONE) {
		db_fail(st, e, "cannot read the sessions");
		goto out;
	}
	if (nfound == 0)
		ferr_set(e, FERR_USAGE, "no session %s", lower);
	else if (nfound > 1)
		ferr_set(e, FERR_USAGE, "session id prefix %s is ambiguous, it matches %s%s; "
			 "give more digits", lower, names.data, nfound > 5 ? " and more" : "");
	else
		rc = 0;
out:
	stmt_done(s);
	buf_release(&names);
	return rc;
}

int store_session_resolve(struct store *st, const char *id_or_prefix, char id[33], struct ferr *e)
{
	assert(st && id_or_prefix && id);
	return resolve(st, id_or_prefix, id, e);
}

int store_session_update(struct store *st, const char *id, const char *project,
			 const char *title, const char *provider, const char *model,
			 struct ferr *e)
{
	const char *what = "cannot update a session";
	char full[33];
	sqlite3_stmt *s;
	int rc = -1;

	assert(st && id);
	if (!(s = stmt(st, S_SESSION_UPDATE, e)) || begin(st, what, e) < 0)
		return -1;
	if (resolve(st, id, full, e) < 0)
		goto out;
	if (bind_text(st, s, 1, full, e) < 0 || bind_text(st, s, 2, project, e) < 0 ||
	    bind_text(st, s, 3, title, e) < 0 || bind_text(st, s, 4, provider, e) < 0 ||
	    bind_text(st, s, 5, model, e) < 0 || bind_int(st, s, 6, now_ms(), e) < 0)
		goto out;
	rc = step_done(st, s, what, e);
out:
	stmt_done(s);
	return finish(st, rc, what, e);
}

static void info_read(sqlite3_stmt *s, struct store_session_info *si)
{
	const char *id = (const char *)sqlite3_column_text(s, 0);

	memset(si, 0, sizeof *si);
	snprintf(si->id, sizeof si->id, "%s", id ? id : "");
	si->created_at = sqlite3_column_int64(s, 1);
	si->updated_at = sqlite3_column_int64(s, 2) / 1000;
	si->kind = column_dup(s, 3);
	si->cwd = column_dup(s, 4);
	si->project = column_dup(s, 5);
	si->title = column_dup(s, 6);
	si->provider = column_dup(s, 7);
	si->model = column_dup(s, 8);
	si->nmessages = sqlite3_column_int64(s, 9);
	si->prompt_tokens = sqlite3_column_int64(s, 10);
	si->completion_tokens = sqlite3_column_int64(s, 11);
	si->cost = sqlite3_column_type(s, 12) == SQLITE_NULL ? -1 : sqlite3_column_double(s, 12);
}

void store_session_info_release(struct store_session_info *si)
{
	if (!si)
		return;
	free(si->kind);
	free(si->cwd);
	free(si->project);
	free(si->title);
	free(si->provider);
	free(si->model);
	memset(si, 0, sizeof *si);
}

void store_session_infos_free(struct store_session_info *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		store_session_info_release(&v[i]);
	free(v);
}

int store_session_get(struct store *st, const char *id_or_prefix, struct store_session_info *out,
		      struct ferr *e)
{
	char full[33];
	sqlite3_stmt *s;
	int step, rc = -1;

	assert(st && id_or_prefix && out);
	memset(out, 0, sizeof *out);
	if (resolve(st, id_or_prefix, full, e) < 0 || !(s = stmt(st, S_SESSION_GET, e)))
		return -1;
	if (bind_text(st, s, 1, full, e) < 0)
		goto out;
	step = sqlite3_step(s);
	if (step == SQLITE_ROW) {
		info_read(s, out);
		rc = 0;
	} else if (step == SQLITE_DONE) {
		/* removed by another process since resolve() saw it */
		ferr_set(e, FERR_USAGE, "no session %s", full);
	} else {
		db_fail(st, e, "cannot read the sessions");
	}
out:
	stmt_done(s);
	return rc;
}

int store_session_list(struct store *st, const char *project, const char *kind, size_t limit,
		       struct store_session_info **out, size_t *n, struct ferr *e)
{
	struct store_session_info *v = NULL;
	size_t count = 0, cap = 0;
	sqlite3_stmt *s;
	int step, rc = -1;

	assert(st && out && n);
	*out = NULL;
	*n = 0;
	if (!(s = stmt(st, S_SESSION_LIST, e)))
		return -1;
	if (bind_text(st, s, 1, project, e) < 0 || bind_text(st, s, 2, kind, e) < 0 ||
	    bind_int(st, s, 3, limit ? (long long)limit : -1, e) < 0)
		goto out;
	while ((step = sqlite3_step(s)) == SQLITE_ROW) {
		if (count == cap) {
			cap = cap ? 2 * cap : 16;
			v = xrealloc(v, cap * sizeof *v);
		}
		info_read(s, &v[count++]);
	}
	if (step != SQLITE_DONE) {
		db_fail(st, e, "cannot read the sessions");
		goto out;
	}
	*out = v;
	*n = count;
	v = NULL;
	rc = 0;
out:
	stmt_done(s);
	store_session_infos_free(v, count);
	return rc;
}

int store_session_latest(struct store *st, const char *project, char id[33], bool *found,
			 struct ferr *e)
{
	sqlite3_stmt *s;
	int step, rc = -1;

	assert(st && id && found);
	*found = false;
	id[0] = '\0';
	if (!(s = stmt(st, S_SESSION_LATEST, e)))
		return -1;
	if (bind_text(st, s, 1, project, e) < 0)
		goto out;
	step = sqlite3_step(s);
	if (step == SQLITE_ROW) {
		const char *row = (const char *)sqlite3_column_text(s, 0);
		snprintf(id, 33, "%s", row ? row : "");
		*found = true;
	} else if (step != SQLITE_DONE) {
		db_fail(st, e, "cannot read the sessions");
		goto out;
	}
	rc = 0;
out:
	stmt_done(s);
	return rc;
}

/* Explicit deletes rather than ON DELETE CASCADE: they do not depend on
 * the connection's foreign_keys setting, and the order (children first)
 * leaves the cascades nothing to look up. */
int store_session_rm(struct store *st, const char *id_or_prefix, struct ferr *e)
{
	static const enum stmt_id order[] = { S_RM_AUDIT_CHANGES, S_RM_AUDIT, S_RM_TOOL_CALLS,
					       S_RM_USAGE, S_RM_MESSAGES, S_RM_SESSION };
	const char *what = "cannot remove a session";
	char full[33];
	int rc = -1;

	assert(st && id_or_prefix);
	if (begin(st, what, e) < 0)
		return -1;
	if (resolve(st, id_or_prefix, full, e) < 0)
		goto out;
	for (size_t i = 0; i < sizeof order / sizeof order[0]; i++) {
		sqlite3_stmt *s = stmt(st, order[i], e);
		if (!s)
			goto out;
		if (bind_text(st, s, 1, full, e) < 0) {
			stmt_done(s);
			goto out;
		}
		if (step_done(st, s, what, e) < 0)
			goto out;
	}
	rc = 0;
out:
	return finish(st, rc, what, e);
}

static bool is_role(const char *role)
{
	static const char *const roles[] = { "user", "assistant", "tool", "summary" };

	for (size_t i = 0; i < sizeof roles / sizeof roles[0]; i++)
		if (strcmp(role, roles[i]) == 0)
			return true;
	return false;
}

int store_message_add(struct store *st, const char *session_id, const char *role,
		      const char *body, long long *seq, struct ferr *e)
{
	const char *what = "cannot record a message";
	sqlite3_stmt *last = NULL, *insert = NULL, *touch = NULL;
	long long now = now_ms(), next;
	char full[33];
	int rc = -1;

	assert(st && session_id && role && body);
	if (!is_role(role))
		return ferr_set(e, FERR_INTERNAL, "%s: %s: unknown message role \"%s\"", st->path,
				what, role);
	if (!(last = stmt(st, S_MESSAGE_LAST_SEQ, e)) || !(insert = stmt(st, S_MESSAGE_INSERT, e)) ||
	    !(touch = stmt(st, S_SESSION_TOUCH, e)))
		return -1;
	/* The write lock is held from here to COMMIT, so the max read below
	 * is still the max when the row goes in, whoever else is writing. */
	if (begin(st, what, e) < 0)
		return -1;
	if (resolve(st, session_id, full, e) < 0 || bind_text(st, last, 1, full, e) < 0)
		goto out;
	if (sqlite3_step(last) != SQLITE_ROW) {
		db_fail(st, e, what);
		goto out;
	}
	next = sqlite3_column_int64(last, 0) + 1;
	stmt_done(last);
	if (bind_text(st, insert, 1, full, e) < 0 || bind_int(st, insert, 2, next, e) < 0 ||
	    bind_int(st, insert, 3, now, e) < 0 || bind_text(st, insert, 4, role, e) < 0 ||
	    bind_text(st, insert, 5, body, e) < 0 || step_done(st, insert, what, e) < 0)
		goto out;
	if (bind_text(st, touch, 1, full, e) < 0 || bind_int(st, touch, 2, now, e) < 0 ||
	    step_done(st, touch, what, e) < 0)
		goto out;
	if (seq)
		*seq = next;
	rc = 0;
out:
	stmt_done(last);
	stmt_done(insert);
	stmt_done(touch);
	return finish(st, rc, what, e);
}

void store_messages_free(struct store_message *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++) {
		free(v[i].role);
		free(v[i].body);
	}
	free(v);
}

int store_message_list(struct store *st, const char *session_id, bool from_summary,
		       struct store_message **out, size_t *n, struct ferr *e)
{
	struct store_message *v = NULL;
	size_t count = 0, cap = 0;
	char full[33];
	sqlite3_stmt *s;
	int step, rc = -1;

	assert(st && session_id && out && n);
	*out = NULL;
	*n = 0;
	if (resolve(st, session_id, full, e) < 0 || !(s = stmt(st, S_MESSAGE_LIST, e)))
		return -1;
	if (bind_text(st, s, 1, full, e) < 0 || bind_int(st, s, 2, from_summary, e) < 0)
		goto out;
	while ((step = sqlite3_step(s)) == SQLITE_ROW) {
		if (count == cap) {
			cap = cap ? 2 * cap : 32;
			v = xrealloc(v, cap * sizeof *v);
		}
		v[count].seq = sqlite3_column_int64(s, 0);
		v[count].at = sqlite3_column_int64(s, 1);
		v[count].role = column_dup(s, 2);
		v[count].body = column_dup(s, 3);
		if (!v[count].body)
			v[count].body = xstrdup("{}");
		if (!v[count].role)
			v[count].role = xstrdup("");
		count++;
	}
	if (step != SQLITE_DONE) {
		db_fail(st, e, "cannot read the messages");
		goto out;
	}
	*out = v;
	*n = count;
	v = NULL;
	rc = 0;
out:
	stmt_done(s);
	store_messages_free(v, count);
	return rc;
}

int store_toolcall_add(struct store *st, const char *session_id, const char *call_id,
		       const char *name, const char *arguments, long long message_seq,
		       struct ferr *e)
{
	const char *what = "cannot record a tool call";
	char full[33];
	sqlite3_stmt *s;
	int rc = -1;

	assert(st && session_id && call_id && name && arguments);
	if (!(s = stmt(st, S_TOOLCALL_ADD, e)) || begin(st, what, e) < 0)
		return -1;
	if (resolve(st, session_id, full, e) < 0 || bind_text(st, s, 1, full, e) < 0 ||
	    bind_text(st, s, 2, call_id, e) < 0 || bind_text(st, s, 3, name, e) < 0 ||
	    bind_text(st, s, 4, arguments, e) < 0 || bind_int(st, s, 5, message_seq, e) < 0)
		goto out;
	rc = step_done(st, s, what, e);
out:
	stmt_done(s);
	return finish(st, rc, what, e);
}

/* Run an UPDATE of the latest call (session, call_id) whose other
 * parameters are bound; names the call when there is none. */
static int toolcall_update(struct store *st, sqlite3_stmt *s, const char *session_id,
			   const char *call_id, const char *what, struct ferr *e)
{
	char full[33];
	int rc = -1;

	if (begin(st, what, e) < 0)
		goto out;
	if (resolve(st, session_id, full, e) < 0 || bind_text(st, s, 1, full, e) < 0 ||
	    bind_text(st, s, 2, call_id, e) < 0 || step_done(st, s, what, e) < 0)
		goto out;
	if (sqlite3_changes(st->db) == 0) {
		ferr_set(e, FERR_INTERNAL, "%s: %s: session %s has no tool call \"%s\"", st->path,
			 what, full, call_id);
		goto out;
	}
	rc = 0;
out:
	stmt_done(s);
	return finish(st, rc, what, e);
}

int store_toolcall_approval(struct store *st, const char *session_id, const char *call_id,
			    const char *approval, struct ferr *e)
{
	const char *what = "cannot record a tool call's approval";
	sqlite3_stmt *s;

	assert(st && session_id && call_id && approval);
	if (!(s = stmt(st, S_TOOLCALL_APPROVAL, e)))
		return -1;
	if (bind_text(st, s, 3, approval, e) < 0) {
		stmt_done(s);
		return -1;
	}
	return toolcall_update(st, s, session_id, call_id, what, e);
}

int store_toolcall_finish(struct store *st, const char *session_id, const char *call_id,
			  const char *status, int exit_code, long long duration_ms,
			  const char *result, long long audit_id, struct ferr *e)
{
	const char *what = "cannot record a tool call's result";
	sqlite3_stmt *s;

	assert(st && session_id && call_id && status);
	if (!(s = stmt(st, S_TOOLCALL_FINISH, e)))
		return -1;
	if (bind_text(st, s, 3, status, e) < 0 || bind_int(st, s, 4, exit_code, e) < 0 ||
	    bind_int(st, s, 5, duration_ms, e) < 0 || bind_text(st, s, 6, result, e) < 0 ||
	    bind_int(st, s, 7, audit_id > 0 ? audit_id : 0, e) < 0) {
		stmt_done(s);
		return -1;
	}
	return toolcall_update(st, s, session_id, call_id, what, e);
}

void store_toolcalls_free(struct store_toolcall *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++) {
		free(v[i].call_id);
		free(v[i].name);
		free(v[i].arguments);
		free(v[i].approval);
		free(v[i].status);
		free(v[i].result);
	}
	free(v);
}

int store_toolcall_list(struct store *st, const char *session_id, struct store_toolcall **out,
			size_t *n, struct ferr *e)
{
	struct store_toolcall *v = NULL;
	size_t count = 0, cap = 0;
	char full[33];
	sqlite3_stmt *s;
	int step, rc = -1;

	assert(st && session_id && out && n);
	*out = NULL;
	*n = 0;
	if (resolve(st, session_id, full, e) < 0 || !(s = stmt(st, S_TOOLCALL_LIST, e)))
		return -1;
	if (bind_text(st, s, 1, full, e) < 0)
		goto out;
	while ((step = sqlite3_step(s)) == SQLITE_ROW) {
		struct store_toolcall *c;
		if (count == cap) {
			cap = cap ? 2 * cap : 16;
			v = xrealloc(v, cap * sizeof *v);
		}
		c = &v[count++];
		c->call_id = column_dup(s, 0);
		c->name = column_dup(s, 1);
		c->arguments = column_dup(s, 2);
		c->message_seq = sqlite3_column_int64(s, 3);
		c->approval = column_dup(s, 4);
		c->status = column_dup(s, 5);
		c->exit_code = sqlite3_column_int(s, 6);
		c->duration_ms = sqlite3_column_int64(s, 7);
		c->result = column_dup(s, 8);
		c->audit_id = sqlite3_column_int64(s, 9);
	}
	if (step != SQLITE_DONE) {
		db_fail(st, e, "cannot read the tool calls");
		goto out;
	}
	*out = v;
	*n = count;
	v = NULL;
	rc = 0;
out:
	stmt_done(s);
	store_toolcalls_free(v, count);
	return rc;
}

int store_usage_add(struct store *st, const char *session_id, const char *provider,
		    const char *model, long long prompt_tokens, long long completion_tokens,
		    long long cached_tokens, long long reasoning_tokens, double cost,
		    struct ferr *e)
{
	const char *what = "cannot record token usage";
	char full[33];
	sqlite3_stmt *s;
	int rc = -1;

	assert(st && session_id && provider && model);
	if (!(s = stmt(st, S_USAGE_ADD, e)) || begin(st, what, e) < 0)
		return -1;
	if (resolve(st, session_id, full, e) < 0 || bind_text(st, s, 1, full, e) < 0 ||
	    bind_int(st, s, 2, now_ms(), e) < 0 || bind_text(st, s, 3, provider, e) < 0 ||
	    bind_text(st, s, 4, model, e) < 0 || bind_int(st, s, 5, prompt_tokens, e) < 0 ||
	    bind_int(st, s, 6, completion_tokens, e) < 0 ||
	    bind_int(st, s, 7, cached_tokens, e) < 0 ||
	    bind_int(st, s, 8, reasoning_tokens, e) < 0)
		goto out;
	/* NaN is not >= 0: unknown too. */
	if ((cost >= 0 ? sqlite3_bind_double(s, 9, cost) : sqlite3_bind_null(s, 9)) != SQLITE_OK) {
		db_fail(st, e, what);
		goto out;
	}
	rc = step_done(st, s, what, e);
out:
	stmt_done(s);
	return finish(st, rc, what, e);
}

void store_audit_rows_free(struct store_audit_row *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++) {
		for (size_t k = 0; k < v[i].nchanges; k++) {
			free((char *)v[i].changes[k].path);
			free((void *)v[i].changes[k].before);
		}
		free(v[i].changes);
		free(v[i].tool);
		free(v[i].arguments);
	}
	free(v);
}

/* The changes of audit row r, in the order they were made. */
static int audit_changes_read(struct store *st, struct store_audit_row *r, struct ferr *e)
{
	size_t cap = 0;
	sqlite3_stmt *s;
	int step, rc = -1;

	if (!(s = stmt(st, S_AUDIT_CHANGES, e)))
		return -1;
	if (bind_int(st, s, 1, r->id, e) < 0)
		goto out;
	while ((step = sqlite3_step(s)) == SQLITE_ROW) {
		struct store_change *c;
		const void *blob = sqlite3_column_blob(s, 3);
		size_t len = (size_t)sqlite3_column_bytes(s, 3);
		void *before = xmalloc(len + 1);

		if (r->nchanges == cap) {
			cap = cap ? 2 * cap : 4;
			r->changes = xrealloc(r->changes, cap * sizeof *r->changes);
		}
		if (len)
			memcpy(before, blob, len);
		((char *)before)[len] = '\0';
		c = &r->changes[r->nchanges++];
		c->path = column_dup(s, 0);
		if (!c->path)
			c->path = xstrdup("");
		c->existed = sqlite3_column_int(s, 1) != 0;
		c->mode = (unsigned)sqlite3_column_int(s, 2);
		c->before = before;
		c->before_len = len;
	}
	if (step != SQLITE_DONE) {
		db_fail(st, e, "cannot read the audit");
		goto out;
	}
	rc = 0;
out:
	stmt_done(s);
	return rc;
}

int store_audit_list(struct store *st, const char *session_id, long long since_id,
		     struct store_audit_row **out, size_t *n, struct ferr *e)
{
	struct store_audit_row *v = NULL;
	size_t count = 0, cap = 0;
	char full[33];
	sqlite3_stmt *s;
	int step, rc = -1;

	assert(st && session_id && out && n);
	*out = NULL;
	*n = 0;
	/* One read transaction: the rows and their changes from one snapshot. */
	if (resolve(st, session_id, full, e) < 0 || !(s = stmt(st, S_AUDIT_LIST, e)) ||
	    exec_sql(st, "BEGIN", "cannot read the audit", e) < 0)
		return -1;
	if (bind_text(st, s, 1, full, e) < 0 || bind_int(st, s, 2, since_id, e) < 0)
		goto out;
	while ((step = sqlite3_step(s)) == SQLITE_ROW) {
		struct store_audit_row *r;
		if (count == cap) {
			cap = cap ? 2 * cap : 16;
			v = xrealloc(v, cap * sizeof *v);
		}
		r = &v[count++];
		memset(r, 0, sizeof *r);
		r->id = sqlite3_column_int64(s, 0);
		r->at = sqlite3_column_int64(s, 1);
		r->tool = column_dup(s, 2);
		r->arguments = column_dup(s, 3);
		r->status = sqlite3_column_int(s, 4);
		if (audit_changes_read(st, r, e) < 0)
			goto out;
	}
	if (step != SQLITE_DONE) {
		db_fail(st, e, "cannot read the audit");
		goto out;
	}
	*out = v;
	*n = count;
	v = NULL;
	rc = 0;
out:
	stmt_done(s);
	store_audit_rows_free(v, count);
	/* A read: ending it cannot lose anything. */
	rollback(st);
	return rc;
}

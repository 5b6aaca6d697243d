/*
 * store.c — forja's sqlite database: finding and creating the file without
 * ever clobbering someone else's, forward migrations keyed by PRAGMA
 * user_version, and the generic key/value cache.  Statements are prepared
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
};

#define SCHEMA_LATEST ((int)(sizeof migrations / sizeof migrations[0]))

struct store {
	sqlite3 *db;
	char *path;
	/* Prepared on first use, finalized by store_close(). */
	sqlite3_stmt *cache_get;
	sqlite3_stmt *cache_put;
	sqlite3_stmt *cache_delete;
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
	int version, app_id, objects;
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
	int version;

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
	int version;

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

int store_session_new(struct store *st, const char *kind, const char *cwd, char id[33],
		      struct ferr *e)
{
	unsigned char raw[16];
	sqlite3_stmt *stmt = NULL;
	int rc = -1;

	sqlite3_randomness(sizeof raw, raw);
	for (size_t i = 0; i < sizeof raw; i++)
		snprintf(id + 2 * i, 3, "%02x", raw[i]);
	if (sqlite3_prepare_v2(st->db,
			       "INSERT INTO sessions (id, created_at, kind, cwd) VALUES (?1, ?2, ?3, ?4)",
			       -1, &stmt, NULL) != SQLITE_OK)
		return db_fail(st, e, "cannot prepare a statement");
	if (sqlite3_bind_text(stmt, 1, id, -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_int64(stmt, 2, (sqlite3_int64)time(NULL)) != SQLITE_OK ||
	    sqlite3_bind_text(stmt, 3, kind, -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_text(stmt, 4, cwd, -1, SQLITE_STATIC) != SQLITE_OK) {
		db_fail(st, e, "cannot bind a session");
		goto out;
	}
	rc = write_one(st, stmt, "cannot create a session", e);
out:
	sqlite3_finalize(stmt);
	return rc;
}

int store_session_exists(struct store *st, const char *id, bool *exists, struct ferr *e)
{
	sqlite3_stmt *stmt = NULL;
	int step;

	*exists = false;
	if (sqlite3_prepare_v2(st->db, "SELECT 1 FROM sessions WHERE id = ?1", -1, &stmt, NULL) !=
	    SQLITE_OK)
		return db_fail(st, e, "cannot prepare a statement");
	sqlite3_bind_text(stmt, 1, id, -1, SQLITE_STATIC);
	step = sqlite3_step(stmt);
	*exists = step == SQLITE_ROW;
	sqlite3_finalize(stmt);
	if (step != SQLITE_ROW && step != SQLITE_DONE)
		return db_fail(st, e, "cannot read the sessions");
	return 0;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
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

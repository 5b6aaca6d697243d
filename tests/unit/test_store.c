/*
 * test_store.c — the sqlite store against real files in a temporary
 * directory: default path, creation modes, the cache, WAL, migrations,
 * refusing files that are not ours, two connections, a writer killed with
 * SIGKILL, processes racing to create the database; sessions and their
 * conversations (ids and prefixes, messages, tool calls, usage, the audit,
 * rm), two writers on one session, a message writer killed mid-flight and
 * a schema 3 database migrated.
 */
#include "forja/store.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tap.h"

static char tmp[64];

static const char *at(struct buf *b, const char *name)
{
	buf_reset(b);
	buf_printf(b, "%s/%s", tmp, name);
	return b->data;
}

static int file_mode(const char *path)
{
	struct stat sb;

	return stat(path, &sb) == 0 ? (int)(sb.st_mode & 07777) : -1;
}

static bool exists(const char *path)
{
	struct stat sb;

	return lstat(path, &sb) == 0;
}

static void write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
		perror(path);
		exit(99);
	}
}

static void read_file(const char *path, struct buf *out)
{
	char chunk[4096];
	size_t n;
	FILE *f = fopen(path, "rb");

	buf_reset(out);
	if (!f)
		return;
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
		buf_add(out, chunk, n);
	fclose(f);
}

/* Raw sqlite, bypassing the store: set up hostile files and look inside. */
static sqlite3 *raw_open(const char *path)
{
	sqlite3 *db = NULL;

	if (sqlite3_open(path, &db) != SQLITE_OK) {
		fprintf(stderr, "%s: %s\n", path, sqlite3_errmsg(db));
		exit(99);
	}
	sqlite3_busy_timeout(db, 5000);
	return db;
}

static void raw_exec(sqlite3 *db, const char *sql)
{
	char *err = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK) {
		fprintf(stderr, "%s: %s\n", sql, err);
		exit(99);
	}
}

static long long raw_int(const char *path, const char *sql)
{
	sqlite3 *db = raw_open(path);
	sqlite3_stmt *stmt;
	long long v = -12345;

	if (sqlite3_prepare_v2(db, sql, -1, &stmt, NULL) == SQLITE_OK &&
	    sqlite3_step(stmt) == SQLITE_ROW)
		v = sqlite3_column_int64(stmt, 0);
	sqlite3_finalize(stmt);
	sqlite3_close(db);
	return v;
}

static void raw_text(const char *path, const char *sql, struct buf *out)
{
	sqlite3 *db = raw_open(path);
	sqlite3_stmt *stmt;

	buf_reset(out);
	if (sqlite3_prepare_v2(db, sql, -1, &stmt, NULL) == SQLITE_OK &&
	    sqlite3_step(stmt) == SQLITE_ROW)
		buf_puts(out, (const char *)sqlite3_column_text(stmt, 0));
	sqlite3_finalize(stmt);
	sqlite3_close(db);
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static bool cache_is(struct store *st, const char *ns, const char *key, const void *want,
		     size_t want_len)
{
	struct buf value = BUF_INIT;
	struct ferr e = FERR_INIT;
	bool found = false;
	bool same;

	if (!st)
		return false;
	same = store_cache_get(st, ns, key, &value, &found, &e) == 0 && found &&
	       value.len == want_len && memcmp(buf_cstr(&value), want, want_len) == 0;
	if (!same)
		printf("# %s/%s: found=%d len=%zu err=%s\n", ns, key, found, value.len, e.msg);
	buf_release(&value);
	return same;
}

static void test_default_path(void)
{
	struct buf path = BUF_INIT, want = BUF_INIT, dir = BUF_INIT;
	struct ferr e = FERR_INIT;
	struct store *st = NULL;

	setenv("HOME", at(&dir, "home"), 1);

	setenv("XDG_STATE_HOME", at(&dir, "xdg"), 1);
	tap_is_int(store_default_path(&path, &e), 0, "default path with XDG_STATE_HOME");
	tap_is_str(path.data, at(&want, "xdg/forja/forja.db"), "XDG_STATE_HOME/forja/forja.db");

	buf_printf(&dir, "/");
	setenv("XDG_STATE_HOME", dir.data, 1);
	store_default_path(&path, &e);
	tap_is_str(path.data, at(&want, "xdg/forja/forja.db"), "trailing slash is dropped");

	setenv("XDG_STATE_HOME", "", 1);
	store_default_path(&path, &e);
	tap_is_str(path.data, at(&want, "home/.local/state/forja/forja.db"),
		   "empty XDG_STATE_HOME falls back to HOME");

	setenv("XDG_STATE_HOME", "relative/state", 1);
	store_default_path(&path, &e);
	tap_is_str(path.data, at(&want, "home/.local/state/forja/forja.db"),
		   "relative XDG_STATE_HOME is ignored");

	unsetenv("XDG_STATE_HOME");
	store_default_path(&path, &e);
	tap_is_str(path.data, at(&want, "home/.local/state/forja/forja.db"),
		   "unset XDG_STATE_HOME falls back to HOME");

	unsetenv("HOME");
	ferr_clear(&e);
	tap_is_int(store_default_path(&path, &e), -1, "no XDG_STATE_HOME and no HOME fails");
	tap_is_int(e.cls, FERR_CONFIG, "... as a config error");
	tap_contains(e.msg, "HOME is unset", "... saying HOME is unset");
	ferr_clear(&e);
	tap_is_int(store_open(NULL, &st, &e), -1, "store_open(NULL) without HOME fails");
	tap_is_int(e.cls, FERR_CONFIG, "... as a config error");
	tap_ok(st == NULL, "... and gives no store");

	/* store_open(NULL) creates the whole chain with private modes. */
	setenv("HOME", at(&dir, "home"), 1);
	ferr_clear(&e);
	tap_is_int(store_open(NULL, &st, &e), 0, "store_open(NULL) under HOME");
	if (e.msg[0])
		printf("# %s\n", e.msg);
	tap_is_str(st ? store_path(st) : NULL, at(&want, "home/.local/state/forja/forja.db"),
		   "store_path is the default path");
	tap_is_int(file_mode(at(&dir, "home/.local/state/forja")), 0700, "forja dir is 0700");
	tap_is_int(file_mode(at(&dir, "home/.local")), 0700, "created parents are 0700");
	tap_is_int(file_mode(at(&dir, "home/.local/state/forja/forja.db")), 0600,
		   "forja.db is 0600");
	{
		struct buf value = BUF_INIT;
		bool found = true;

		tap_ok(st && store_cache_get(st, "x", "y", &value, &found, &e) == 0 && !found,
		       "the fresh database is usable and empty");
		buf_release(&value);
	}
	store_close(st);

	unsetenv("HOME");
	setenv("XDG_STATE_HOME", at(&dir, "xdg"), 1);
	ferr_clear(&e);
	tap_is_int(store_open(NULL, &st, &e), 0, "store_open(NULL) under XDG_STATE_HOME, no HOME");
	tap_ok(exists(at(&dir, "xdg/forja/forja.db")), "... created XDG_STATE_HOME/forja/forja.db");
	store_close(st);

	buf_release(&path);
	buf_release(&want);
	buf_release(&dir);
}

static void test_cache(void)
{
	static const char binary[] = { 'a', '\0', 'b', '\0', '\xff', '\n', '\0' };
	struct buf path = BUF_INIT, value = BUF_INIT, raw = BUF_INIT;
	struct ferr e = FERR_INIT;
	struct store *st = NULL;
	bool found = true;

	tap_is_int(store_open(at(&path, "cache/forja.db"), &st, &e), 0, "open a new database");
	if (!st) {
		printf("# %s\n", e.msg);
		return;
	}

	buf_puts(&value, "stale contents");
	tap_is_int(store_cache_get(st, "bootstrap", "missing", &value, &found, &e), 0,
		   "get of a missing key succeeds");
	tap_ok(!found, "... with found=false");
	tap_is_int((long long)value.len, 0, "... and an emptied buffer");

	tap_is_int(store_cache_put(st, "bootstrap", "k", "first", 5, &e), 0, "put");
	tap_ok(cache_is(st, "bootstrap", "k", "first", 5), "get returns what was put");
	tap_is_int(store_cache_put(st, "bootstrap", "k", "second value", 12, &e), 0, "overwrite");
	tap_ok(cache_is(st, "bootstrap", "k", "second value", 12), "get returns the new value");
	tap_ok(store_cache_get(st, "other", "k", &value, &found, &e) == 0 && !found,
	       "namespaces are separate");

	tap_is_int(store_cache_put(st, "bin", "nul", binary, sizeof binary, &e), 0,
		   "put a value with NUL bytes");
	tap_ok(cache_is(st, "bin", "nul", binary, sizeof binary), "binary value round-trips whole");
	tap_is_int(store_cache_put(st, "bin", "empty", NULL, 0, &e), 0, "put an empty value");
	tap_ok(cache_is(st, "bin", "empty", "", 0), "empty value is found, zero bytes");

	tap_is_int(store_cache_delete(st, "bootstrap", "k", &e), 0, "delete");
	tap_ok(store_cache_get(st, "bootstrap", "k", &value, &found, &e) == 0 && !found,
	       "deleted key is gone");
	tap_is_int(store_cache_delete(st, "bootstrap", "k", &e), 0, "deleting again succeeds");
	tap_ok(cache_is(st, "bin", "nul", binary, sizeof binary), "delete left other keys");

	/* Keys are bound, not spliced into SQL. */
	tap_is_int(store_cache_put(st, "x'); DROP TABLE cache; --", "k'\"", "v", 1, &e), 0,
		   "put with quotes in ns and key");
	tap_ok(cache_is(st, "x'); DROP TABLE cache; --", "k'\"", "v", 1), "... reads back");

	raw_text(path.data, "PRAGMA journal_mode", &raw);
	tap_is_str(raw.data, "wal", "journal_mode is wal after open");
	tap_is_int(file_mode(at(&raw, "cache/forja.db-wal")), 0600, "the -wal file is 0600 too");
	tap_is_int(file_mode(at(&raw, "cache/forja.db-shm")), 0600, "the -shm file is 0600 too");

	tap_ok(store_schema_latest() >= 1, "there is at least one migration");
	tap_is_int(store_schema_version(st), store_schema_latest(), "user_version is the latest");
	tap_is_int(store_check(st, &e), 0, "quick_check passes on a healthy database");
	store_close(st);

	tap_is_int(raw_int(path.data, "PRAGMA user_version"), store_schema_latest(),
		   "user_version on disk is the latest");
	tap_is_int(raw_int(path.data, "PRAGMA application_id"), 0x666f726a,
		   "application_id marks the file as forja's");

	st = NULL;
	tap_is_int(store_open(path.data, &st, &e), 0, "reopen");
	tap_is_int(st ? store_schema_version(st) : -1, store_schema_latest(),
		   "user_version still the latest after reopen");
	tap_ok(st && cache_is(st, "bin", "nul", binary, sizeof binary), "values survive reopen");
	store_close(st);

	buf_release(&path);
	buf_release(&value);
	buf_release(&raw);
}

static void test_oversize(void)
{
	struct buf path = BUF_INIT;
	struct ferr e = FERR_INIT;
	struct store *st = NULL;
	char *big;

	if (store_open(at(&path, "big.db"), &st, &e) < 0) {
		tap_ok(0, e.msg);
		return;
	}
	store_cache_put(st, "ns", "k", "small", 5, &e);
	big = calloc(1, STORE_CACHE_VALUE_MAX + 1);
	tap_is_int(store_cache_put(st, "ns", "k", big, STORE_CACHE_VALUE_MAX + 1, &e), -1,
		   "a value over 64 MiB is refused");
	tap_is_int(e.cls, FERR_FAILED, "... as a limit error");
	tap_contains(e.msg, "64 MiB limit", "... naming the limit");
	tap_contains(e.msg, "ns/k", "... and the entry");
	tap_ok(cache_is(st, "ns", "k", "small", 5), "the previous value is intact");
	free(big);

	big = malloc(1 << 20);
	memset(big, 'z', 1 << 20);
	tap_is_int(store_cache_put(st, "ns", "mib", big, 1 << 20, &e), 0, "a 1 MiB value is fine");
	tap_ok(cache_is(st, "ns", "mib", big, 1 << 20), "... and round-trips");
	free(big);
	store_close(st);
	buf_release(&path);
}

static void test_newer_schema(void)
{
	struct buf path = BUF_INIT, want = BUF_INIT, raw = BUF_INIT;
	struct ferr e = FERR_INIT;
	struct store *st = (struct store *)&e;
	sqlite3 *db;

	db = raw_open(at(&path, "newer.db"));
	raw_exec(db, "CREATE TABLE sessions (id INTEGER PRIMARY KEY); PRAGMA user_version = 99;");
	sqlite3_close(db);

	tap_is_int(store_open(path.data, &st, &e), -1, "a database from a newer forja is refused");
	tap_ok(st == NULL, "... *out is NULL");
	tap_is_int(e.cls, FERR_IO, "... as an I/O error");
	tap_contains(e.msg, "newer", "... saying it is newer");
	buf_printf(&want, "%s: schema version 99 is newer than this forja understands (%d)",
		   path.data, store_schema_latest());
	tap_contains(e.msg, want.data, "... naming the file and both versions");
	tap_contains(e.msg, "upgrade forja", "... and what to do");
	tap_is_int(raw_int(path.data, "PRAGMA user_version"), 99, "user_version is still 99");
	raw_text(path.data, "PRAGMA journal_mode", &raw);
	tap_is_str(raw.data, "delete", "journal mode untouched");
	tap_is_int(raw_int(path.data, "SELECT count(*) FROM sqlite_master WHERE name = 'cache'"), 0,
		   "no cache table added");

	buf_release(&path);
	buf_release(&want);
	buf_release(&raw);
}

static void test_foreign_database(void)
{
	struct buf path = BUF_INIT;
	struct ferr e = FERR_INIT;
	struct store *st = NULL;
	sqlite3 *db;

	db = raw_open(at(&path, "foreign.db"));
	raw_exec(db, "CREATE TABLE users (name TEXT); INSERT INTO users VALUES ('ana');");
	sqlite3_close(db);
	tap_is_int(store_open(path.data, &st, &e), -1, "another program's database is refused");
	tap_contains(e.msg, "not forja's", "... saying it is not forja's");
	tap_contains(e.msg, path.data, "... naming the file");
	tap_is_int(raw_int(path.data, "SELECT count(*) FROM users"), 1, "its data is intact");
	tap_is_int(raw_int(path.data, "SELECT count(*) FROM sqlite_master WHERE name = 'cache'"), 0,
		   "no cache table added");

	db = raw_open(at(&path, "foreign-app.db"));
	raw_exec(db, "PRAGMA application_id = 1234;");
	sqlite3_close(db);
	ferr_clear(&e);
	tap_is_int(store_open(path.data, &st, &e), -1, "a database with another application_id is refused");
	tap_contains(e.msg, "another program", "... saying whose it is not");
	tap_is_int(raw_int(path.data, "PRAGMA user_version"), 0, "... and it is not migrated");

	buf_release(&path);
}

static void test_not_a_database(void)
{
	struct buf path = BUF_INIT, before = BUF_INIT, after = BUF_INIT, other = BUF_INIT;
	struct ferr e = FERR_INIT;
	struct store *st = NULL;
	size_t i;

	for (i = 0; i < 8192; i++)
		buf_putc(&before, (char)("not sqlite\n\0\xfe"[i % 13]));
	write_file(at(&path, "garbage.db"), before.data, before.len);
	tap_is_int(store_open(path.data, &st, &e), -1, "a garbage file is refused");
	tap_is_int(e.cls, FERR_IO, "... as an I/O error");
	tap_contains(e.msg, path.data, "... naming the file");
	tap_contains(e.msg, "not a database", "... with sqlite's reason");
	read_file(path.data, &after);
	tap_ok(after.len == before.len && memcmp(after.data, before.data, before.len) == 0,
	       "... and its bytes are unchanged");
	buf_printf(&path, "-wal");
	tap_ok(!exists(path.data), "... and no -wal file appeared");

	write_file(at(&path, "short.db"), "hello", 5);
	ferr_clear(&e);
	tap_is_int(store_open(path.data, &st, &e), -1, "a 5-byte text file is refused");
	tap_contains(e.msg, "not a database", "... with sqlite's reason");
	read_file(path.data, &after);
	tap_is_str(after.data, "hello", "... and left as it was");

	mkdir(at(&path, "dir.db"), 0755);
	ferr_clear(&e);
	tap_is_int(store_open(path.data, &st, &e), -1, "a directory in place of the file is refused");
	tap_contains(e.msg, path.data, "... naming it");
	tap_contains(e.msg, "is a directory", "... saying why");

	write_file(at(&path, "plainfile"), "x", 1);
	ferr_clear(&e);
	tap_is_int(store_open(at(&other, "plainfile/forja.db"), &st, &e), -1,
		   "a file in place of the directory is refused");
	tap_contains(e.msg, "Not a directory", "... with the OS's reason");

	ferr_clear(&e);
	tap_is_int(store_open("", &st, &e), -1, "an empty path is refused");

	buf_release(&path);
	buf_release(&before);
	buf_release(&after);
	buf_release(&other);
}

/* Open path in a child that cannot override permission bits (drops to
 * nobody when we are root) and report store_open's error message. */
static int open_unprivileged(const char *path, struct buf *msg)
{
	int fds[2], status;
	char chunk[512];
	ssize_t n;
	pid_t pid;

	buf_reset(msg);
	if (pipe(fds) < 0)
		return -1;
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		struct ferr e = FERR_INIT;
		struct store *st = NULL;
		int rc;

		close(fds[0]);
		if (geteuid() == 0 &&
		    (setgroups(0, NULL) < 0 || setgid(65534) < 0 || setuid(65534) < 0))
			_exit(98);
		rc = store_open(path, &st, &e);
		if (write(fds[1], e.msg, strlen(e.msg)) < 0)
			_exit(97);
		store_close(st);
		_exit(rc == 0 ? 0 : 1);
	}
	close(fds[1]);
	while ((n = read(fds[0], chunk, sizeof chunk)) > 0)
		buf_add(msg, chunk, (size_t)n);
	close(fds[0]);
	waitpid(pid, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void test_permissions(void)
{
	struct buf path = BUF_INIT, msg = BUF_INIT, dir = BUF_INIT;
	struct ferr e = FERR_INIT;
	struct store *st = NULL;

	/* The modes below deny the test's own user and, when it is root,
	 * nobody (open_unprivileged); nobody needs to get through tmp. */
	chmod(tmp, 0711);
	mkdir(at(&dir, "ro"), 0555);
	chmod(dir.data, 0555);

	tap_is_int(open_unprivileged(at(&path, "ro/forja.db"), &msg), 1,
		   "cannot create forja.db in an unwritable directory");
	tap_contains(msg.data, path.data, "... naming the file");
	tap_contains(msg.data, "Permission denied", "... with the OS's reason");
	tap_ok(!exists(path.data), "... and nothing was created");

	tap_is_int(open_unprivileged(at(&path, "ro/sub/forja.db"), &msg), 1,
		   "cannot create a directory under an unwritable one");
	tap_contains(msg.data, at(&dir, "ro/sub"), "... naming the directory");
	tap_contains(msg.data, "Permission denied", "... with the OS's reason");

	/* An existing database in that directory. */
	chmod(at(&dir, "ro"), 0755);
	if (store_open(at(&path, "ro/forja.db"), &st, &e) < 0)
		printf("# %s\n", e.msg);
	store_cache_put(st, "ns", "k", "v", 1, &e);
	store_close(st);
	st = NULL;
	chmod(dir.data, 0555);
	chmod(path.data, 0200);
	tap_is_int(open_unprivileged(path.data, &msg), 1, "a database we may not read is refused");
	tap_contains(msg.data, path.data, "... naming the file");
	tap_contains(msg.data, "Permission denied", "... with the OS's reason");

	/* Writable file, but sqlite cannot create -wal and -shm beside it. */
	chmod(path.data, 0666);
	tap_is_int(open_unprivileged(path.data, &msg), 1,
		   "a writable database in an unwritable directory is refused");
	tap_contains(msg.data, path.data, "... naming the file");
	tap_contains(msg.data, "is the directory writable?", "... pointing at the directory");

	/* Readable, not writable, in a directory where -wal could be made. */
	mkdir(at(&dir, "rw"), 0777);
	chmod(dir.data, 0777);
	if (store_open(at(&path, "rw/forja.db"), &st, &e) < 0)
		printf("# %s\n", e.msg);
	store_close(st);
	chmod(path.data, 0444);
	tap_is_int(open_unprivileged(path.data, &msg), 1, "a database we may not write is refused");
	tap_contains(msg.data, path.data, "... naming the file");
	tap_contains(msg.data, "can only be opened read-only (Permission denied)",
		     "... saying it is read-only and why");
	chmod(at(&dir, "ro"), 0755);   /* so that the cleanup can empty it */

	chmod(tmp, 0700);
	buf_release(&path);
	buf_release(&msg);
	buf_release(&dir);
}

static void test_two_connections(void)
{
	struct buf path = BUF_INIT;
	struct ferr e = FERR_INIT;
	struct store *a = NULL, *b = NULL;
	char key[16], val[16];
	int i, ok = 1;

	tap_is_int(store_open(at(&path, "two.db"), &a, &e), 0, "first connection");
	tap_is_int(store_open(path.data, &b, &e), 0, "second connection on the same file");
	if (!a || !b)
		goto out;
	for (i = 0; i < 20; i++) {
		struct store *w = i % 2 ? b : a, *r = i % 2 ? a : b;

		snprintf(key, sizeof key, "k%d", i % 3);
		snprintf(val, sizeof val, "v%d", i);
		if (store_cache_put(w, "two", key, val, strlen(val), &e) < 0) {
			printf("# put %d: %s\n", i, e.msg);
			ok = 0;
		}
		if (!cache_is(r, "two", key, val, strlen(val)))
			ok = 0;
	}
	tap_ok(ok, "alternating writes from two connections all succeed and are seen by the other");
out:
	store_close(a);
	store_close(b);
	buf_release(&path);
}

struct holder {
	const char *path;
	const char *sql;   /* starts the transaction whose locks are held */
	int hold_ms;
	int locked;   /* pipe write end: one byte once the lock is held */
};

static void *hold_lock(void *arg)
{
	struct holder *h = arg;
	sqlite3 *db = raw_open(h->path);
	struct timespec ts = { h->hold_ms / 1000, (h->hold_ms % 1000) * 1000000L };

	raw_exec(db, h->sql);
	if (write(h->locked, "x", 1) != 1)
		abort();
	nanosleep(&ts, NULL);
	raw_exec(db, "COMMIT");
	sqlite3_close(db);
	return NULL;
}

static void test_busy(void)
{
	struct buf path = BUF_INIT;
	struct ferr e = FERR_INIT;
	struct store *st = NULL, *st2 = NULL;
	struct holder h;
	pthread_t thread;
	double t0, waited;
	int fds[2];
	char c;

	if (store_open(at(&path, "busy.db"), &st, &e) < 0 || pipe(fds) < 0) {
		tap_ok(0, e.msg);
		return;
	}
	store_cache_put(st, "ns", "k", "before", 6, &e);

	h = (struct holder){ path.data,
			     "BEGIN IMMEDIATE; INSERT INTO cache VALUES ('lock', 'k', x'00', 0);",
			     400, fds[1] };
	pthread_create(&thread, NULL, hold_lock, &h);
	if (read(fds[0], &c, 1) != 1)
		abort();
	t0 = now_ms();
	tap_is_int(store_open(path.data, &st2, &e), 0,
		   "opening a current database while another writer holds the lock");
	tap_ok(now_ms() - t0 < 300, "... does not wait for the lock (no write on open)");
	tap_ok(st2 && cache_is(st2, "ns", "k", "before", 6), "... and can read meanwhile");
	ferr_clear(&e);
	tap_is_int(store_cache_put(st, "ns", "k", "after", 5, &e), 0,
		   "a put while another writer holds the lock waits and succeeds");
	if (e.msg[0])
		printf("# %s\n", e.msg);
	waited = now_ms() - t0;
	tap_ok(waited >= 250, "... after waiting for the lock");
	pthread_join(thread, NULL);
	tap_ok(cache_is(st, "ns", "k", "after", 5), "the waiting put landed");
	tap_ok(st2 && cache_is(st2, "lock", "k", "\0", 1), "the other writer's row landed too");
	store_close(st);
	store_close(st2);
	close(fds[0]);
	close(fds[1]);
	buf_release(&path);
}

/* A brand-new (rollback-journal) file that another process is reading:
 * the switch to WAL cannot take its exclusive lock yet and must wait for
 * the reader (busy timeout), not fail. */
static void test_wal_switch_waits(void)
{
	struct buf path = BUF_INIT;
	struct ferr e = FERR_INIT;
	struct store *st = NULL;
	struct holder h;
	pthread_t thread;
	double t0;
	int fds[2];
	char c;

	write_file(at(&path, "reading.db"), "", 0);
	if (pipe(fds) < 0)
		abort();
	h = (struct holder){ path.data, "BEGIN; SELECT count(*) FROM sqlite_master;", 300, fds[1] };
	pthread_create(&thread, NULL, hold_lock, &h);
	if (read(fds[0], &c, 1) != 1)
		abort();
	t0 = now_ms();
	tap_is_int(store_open(path.data, &st, &e), 0,
		   "opening a new database another process is reading waits and succeeds");
	if (e.msg[0])
		printf("# %s\n", e.msg);
	tap_ok(now_ms() - t0 >= 200, "... after the reader is done");
	pthread_join(thread, NULL);
	tap_ok(st && store_schema_version(st) == store_schema_latest(), "... and migrates it");
	store_close(st);
	close(fds[0]);
	close(fds[1]);
	buf_release(&path);
}

static void test_sigkill(void)
{
	struct buf path = BUF_INIT;
	struct ferr e = FERR_INIT;
	struct store *st = NULL;
	int status = 0;
	pid_t pid;

	at(&path, "killed/forja.db");
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		if (store_open(path.data, &st, &e) < 0 ||
		    store_cache_put(st, "ns", "survivor", "committed", 9, &e) < 0)
			_exit(1);
		kill(getpid(), SIGKILL);
		_exit(2);
	}
	waitpid(pid, &status, 0);
	tap_ok(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "child was killed by SIGKILL");
	buf_printf(&path, "-wal");
	tap_ok(exists(path.data), "... leaving its -wal file behind");
	buf_truncate(&path, path.len - 4);
	tap_is_int(store_open(path.data, &st, &e), 0, "reopen after the kill");
	tap_ok(st && cache_is(st, "ns", "survivor", "committed", 9),
	       "the committed put survived SIGKILL");
	tap_is_int(st ? store_check(st, &e) : -1, 0, "and the database checks ok");
	store_close(st);
	buf_release(&path);
}

/* CHILDREN processes open the same fresh database at once and each puts
 * one entry; returns how many of them failed or lost their entry. */
static int race_once(const char *path)
{
	enum { CHILDREN = 8 };
	struct ferr e = FERR_INIT;
	struct store *st = NULL;
	pid_t pids[CHILDREN];
	int go[2], i, status, failures = 0;
	char key[16];

	if (pipe(go) < 0)
		abort();
	fflush(stdout);
	for (i = 0; i < CHILDREN; i++) {
		pids[i] = fork();
		if (pids[i] == 0) {
			char c;

			close(go[1]);
			if (read(go[0], &c, 1) != 0)   /* wait for the start: EOF */
				_exit(3);
			snprintf(key, sizeof key, "child%d", i & 0xffff);
			if (store_open(path, &st, &e) < 0 ||
			    store_cache_put(st, "race", key, key, strlen(key), &e) < 0) {
				printf("# child %d: %s\n", i, e.msg);
				_exit(1);
			}
			store_close(st);
			_exit(0);
		}
	}
	close(go[0]);
	close(go[1]);
	for (i = 0; i < CHILDREN; i++) {
		waitpid(pids[i], &status, 0);
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			failures++;
	}
	if (store_open(path, &st, &e) < 0) {
		printf("# %s\n", e.msg);
		return failures + CHILDREN;
	}
	for (i = 0; i < CHILDREN; i++) {
		snprintf(key, sizeof key, "child%d", i & 0xffff);
		if (!cache_is(st, "race", key, key, strlen(key)))
			failures++;
	}
	if (store_schema_version(st) != store_schema_latest())
		failures++;
	store_close(st);
	return failures;
}

static void test_racing_creators(void)
{
	struct buf path = BUF_INIT;
	int round, failures = 0;

	/* Several rounds: the interesting interleavings (two processes both
	 * switching a new file to WAL, both migrating) are not hit every time. */
	for (round = 0; round < 10; round++) {
		buf_reset(&path);
		buf_printf(&path, "%s/race%d/deeper/forja.db", tmp, round);
		failures += race_once(path.data);
	}
	tap_is_int(failures, 0, "processes creating the same fresh database at once all "
		   "succeed, keep their writes and agree on the schema");
	buf_release(&path);
}

static void test_corrupt(void)
{
	struct buf path = BUF_INIT, junk = BUF_INIT;
	struct ferr e = FERR_INIT;
	struct store *st = NULL;
	char key[32];
	int i, fd;

	if (store_open(at(&path, "corrupt.db"), &st, &e) < 0) {
		tap_ok(0, e.msg);
		return;
	}
	buf_grow(&junk, 3000);
	memset(junk.data, 'j', 3000);
	for (i = 0; i < 200; i++) {
		snprintf(key, sizeof key, "key%03d", i);
		store_cache_put(st, "ns", key, junk.data, 3000, &e);
	}
	store_close(st);   /* last connection: checkpoints the WAL into the file */

	memset(junk.data, 0xa5, 3000);
	fd = open(path.data, O_WRONLY);
	if (fd < 0 || pwrite(fd, junk.data, 3000, 4096 * 3) != 3000)
		abort();
	close(fd);

	st = NULL;
	tap_is_int(store_open(path.data, &st, &e), 0, "a damaged database still opens (no check on open)");
	ferr_clear(&e);
	tap_is_int(st ? store_check(st, &e) : 0, -1, "store_check finds the damage");
	tap_is_int(e.cls, FERR_IO, "... as an I/O error");
	tap_contains(e.msg, path.data, "... naming the file");
	printf("# said: %s\n", e.msg);
	store_close(st);
	buf_release(&path);
	buf_release(&junk);
}

static void test_relative_path(void)
{
	char cwd[4096];
	struct ferr e = FERR_INIT;
	struct store *st = NULL;
	struct buf path = BUF_INIT;

	if (!getcwd(cwd, sizeof cwd) || chdir(tmp) < 0)
		abort();
	tap_is_int(store_open(":memory:", &st, &e), 0, "a relative path that looks special");
	tap_ok(st && store_cache_put(st, "ns", "k", "v", 1, &e) == 0, "... is usable");
	store_close(st);
	tap_ok(exists(at(&path, ":memory:")), "... and is a file in the current directory");
	if (chdir(cwd) < 0)
		abort();
	buf_release(&path);
}

static void test_speed(void)
{
	struct buf path = BUF_INIT, value = BUF_INIT;
	struct ferr e = FERR_INIT;
	struct store *st = NULL;
	bool found;
	double t0, best = 1e9;
	int i;

	store_open(at(&path, "speed.db"), &st, &e);
	store_cache_put(st, "ns", "k", "v", 1, &e);
	store_close(st);
	for (i = 0; i < 20; i++) {
		t0 = now_ms();
		store_open(path.data, &st, &e);
		store_cache_get(st, "ns", "k", &value, &found, &e);
		store_close(st);
		if (now_ms() - t0 < best)
			best = now_ms() - t0;
	}
	/* Informational: sanitizers make the real number meaningless here. */
	printf("# open + get + close of an existing database: %.3f ms (best of 20)\n", best);
	buf_release(&path);
	buf_release(&value);
}

/* Conversations (schema 4). */

static int count_where(const char *path, const char *table, const char *col, const char *id)
{
	struct buf sql = BUF_INIT;
	long long n;

	buf_printf(&sql, "SELECT count(*) FROM %s WHERE %s = '%s'", table, col, id);
	n = raw_int(path, sql.data);
	buf_release(&sql);
	return (int)n;
}

/* Give session `from` the id `to` (raw: the store makes random ids);
 * only before anything refers to it. */
static void raw_rename(const char *path, const char *from, const char *to)
{
	sqlite3 *db = raw_open(path);
	sqlite3_stmt *stmt;

	if (sqlite3_prepare_v2(db, "UPDATE sessions SET id = ?2 WHERE id = ?1", -1, &stmt, NULL) !=
		    SQLITE_OK ||
	    sqlite3_bind_text(stmt, 1, from, -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_text(stmt, 2, to, -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_step(stmt) != SQLITE_DONE) {
		fprintf(stderr, "rename %s: %s\n", from, sqlite3_errmsg(db));
		exit(99);
	}
	sqlite3_finalize(stmt);
	sqlite3_close(db);
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static void test_session_ids(void)
{
	struct buf path = BUF_INIT;
	struct ferr e = FERR_INIT;
	struct store *st = NULL;
	char a[33], b[33], full[33];

	if (store_open(at(&path, "ids.db"), &st, &e) < 0) {
		tap_ok(0, e.msg);
		return;
	}
	store_session_new(st, "chat", "/p", a, &e);
	store_session_new(st, "chat", "/p", b, &e);
	raw_rename(path.data, a, "abcd0000000000000000000000000001");
	raw_rename(path.data, b, "abcd0000000000000000000000000002");
	store_session_new(st, "chat", "/p", a, &e);
	raw_rename(path.data, a, "feed0000000000000000000000000003");

	tap_is_int(store_session_resolve(st, "feed0000000000000000000000000003", full, &e), 0,
		   "a full id resolves");
	tap_is_str(full, "feed0000000000000000000000000003", "... to itself");
	tap_is_int(store_session_resolve(st, "FEED0000000000000000000000000003", full, &e), 0,
		   "a full id in capitals resolves");
	tap_is_str(full, "feed0000000000000000000000000003", "... to the lowercase id");
	memset(full, 0, sizeof full);
	tap_is_int(store_session_resolve(st, "feed", full, &e), 0, "a unique 4-digit prefix resolves");
	tap_is_str(full, "feed0000000000000000000000000003", "... to the full id");
	tap_is_int(store_session_resolve(st, "abcd00000000000000000000000000", full, &e), -1,
		   "an ambiguous prefix is refused");
	tap_is_int(e.cls, FERR_USAGE, "... as a usage error");
	tap_contains(e.msg, "ambiguous", "... saying it is ambiguous");
	tap_contains(e.msg, "abcd0000000000000000000000000001", "... naming the first candidate");
	tap_contains(e.msg, "abcd0000000000000000000000000002", "... and the second");
	tap_is_int(store_session_resolve(st, "abcd0000000000000000000000000002", full, &e), 0,
		   "the full id of one of them resolves");
	tap_is_int(store_session_resolve(st, "feed000000000000000000000000000", full, &e), 0,
		   "a 31-digit prefix resolves");
	tap_is_str(full, "feed0000000000000000000000000003", "... to the right one");
	ferr_clear(&e);
	tap_is_int(store_session_resolve(st, "abc", full, &e), -1, "a 3-digit prefix is refused");
	tap_is_int(e.cls, FERR_USAGE, "... as a usage error");
	tap_contains(e.msg, "too short", "... saying it is too short");
	ferr_clear(&e);
	tap_is_int(store_session_resolve(st, "", full, &e), -1, "an empty id is refused");
	ferr_clear(&e);
	tap_is_int(store_session_resolve(st, "zzzz", full, &e), -1, "a non-hex id is refused");
	tap_is_int(e.cls, FERR_USAGE, "... as a usage error");
	tap_contains(e.msg, "is not a session id", "... saying what ids look like");
	ferr_clear(&e);
	tap_is_int(store_session_resolve(st, "abcd%", full, &e), -1,
		   "a prefix with a LIKE wildcard is refused");
	ferr_clear(&e);
	tap_is_int(store_session_resolve(st, "abcd\033[2J", full, &e), -1,
		   "an id with an escape sequence is refused");
	tap_ok(strchr(e.msg, '\033') == NULL, "... and the message does not carry the escape");
	tap_contains(e.msg, "\\033", "... but shows it quoted");
	ferr_clear(&e);
	tap_is_int(store_session_resolve(st, "abcd00000000000000000000000000011", full, &e), -1,
		   "33 hex digits are refused");
	tap_contains(e.msg, "is not a session id", "... as not an id");
	ferr_clear(&e);
	tap_is_int(store_session_resolve(st, "beef", full, &e), -1, "an unknown prefix is refused");
	tap_is_int(e.cls, FERR_USAGE, "... as a usage error");
	tap_is_str(e.msg, "no session beef", "... saying there is no such session");
	ferr_clear(&e);
	tap_is_int(store_session_resolve(st, "beef0000000000000000000000000003", full, &e), -1,
		   "an unknown full id is refused");
	tap_is_str(e.msg, "no session beef0000000000000000000000000003", "... naming it");
	for (int i = 0; i < 6; i++) {
		char id[33], want[48];
		store_session_new(st, "chat", "/p", id, &e);
		snprintf(want, sizeof want, "abcd00000000000000000000000001%02d", i);
		raw_rename(path.data, id, want);
	}
	ferr_clear(&e);
	store_session_resolve(st, "abcd", full, &e);
	tap_contains(e.msg, "and more", "a prefix matching 8 sessions names 5 and says there are more");
	store_close(st);
	buf_release(&path);
}

static void test_sessions(void)
{
	struct buf path = BUF_INIT;
	struct ferr e = FERR_INIT;
	struct store *st = NULL;
	struct store_session_info info, *list = NULL;
	struct store_message *msgs = NULL;
	struct store_toolcall *calls = NULL;
	struct store_audit_row *rows = NULL;
	char s1[33], s2[33], s3[33], id[33];
	long long seq = 0, audit_id = 0, before_seq;
	bool found = true;
	size_t n = 0;

	if (store_open(at(&path, "sessions.db"), &st, &e) < 0) {
		tap_ok(0, e.msg);
		return;
	}
	tap_is_int(store_schema_version(st), 4, "a new database is at schema 4");
	tap_is_int(store_session_latest(st, "/proj/a", id, &found, &e), 0,
		   "latest with no session succeeds");
	tap_ok(!found, "... and finds none");
	store_session_new(st, "chat", "/proj/a/sub", s1, &e);
	sleep_ms(3);
	store_session_new(st, "chat", "/proj/b", s2, &e);
	sleep_ms(3);
	store_session_new(st, "tool", "/proj/a", s3, &e);
	tap_is_int(store_session_update(st, s1, "/proj/a", "fix the bug", "openai", "gpt-x", &e), 0,
		   "update a session");
	store_session_update(st, s2, "/proj/b", NULL, NULL, NULL, &e);
	store_session_update(st, s3, "/proj/a", NULL, NULL, NULL, &e);

	tap_is_int(store_session_get(st, s1, &info, &e), 0, "get a session");
	tap_is_str(info.id, s1, "... its id");
	tap_is_str(info.kind, "chat", "... kind");
	tap_is_str(info.cwd, "/proj/a/sub", "... cwd");
	tap_is_str(info.project, "/proj/a", "... project");
	tap_is_str(info.title, "fix the bug", "... title");
	tap_is_str(info.provider, "openai", "... provider");
	tap_is_str(info.model, "gpt-x", "... model");
	tap_is_int(info.nmessages, 0, "... no message yet");
	tap_ok(info.cost < 0, "... no known cost");
	tap_ok(info.created_at > 1700000000 && info.updated_at >= info.created_at,
	       "... created and updated times in unix seconds");
	store_session_info_release(&info);

	tap_is_int(store_session_update(st, s1, NULL, "new title", NULL, NULL, &e), 0,
		   "update only the title");
	store_session_get(st, s1, &info, &e);
	tap_is_str(info.title, "new title", "... the title changed");
	tap_is_str(info.project, "/proj/a", "... NULL left the project");
	tap_is_str(info.model, "gpt-x", "... and the model");
	store_session_info_release(&info);
	ferr_clear(&e);
	tap_is_int(store_session_update(st, "0123456789abcdef0123456789abcdef", "x", NULL, NULL,
					NULL, &e), -1, "update of an unknown session fails");
	tap_is_int(e.cls, FERR_USAGE, "... as a usage error");
	ferr_clear(&e);
	tap_is_int(store_session_get(st, "0123", &info, &e), -1, "get of an unknown prefix fails");
	tap_is_str(e.msg, "no session 0123", "... saying so");

	/* messages */
	tap_is_int(store_message_add(st, s1, "user", "{\"content\":\"hello\"}", &seq, &e), 0,
		   "add a message");
	tap_is_int(seq, 1, "... seq 1");
	store_message_add(st, s1, "assistant", "{\"content\":\"hi\",\"calls\":[{\"id\":\"c1\","
			  "\"name\":\"read_file\",\"arguments\":\"{}\"}]}", &seq, &e);
	tap_is_int(seq, 2, "the next one is seq 2");
	store_message_add(st, s1, "tool", "{\"tool_call_id\":\"c1\",\"content\":\"data\"}", NULL, &e);
	store_message_add(st, s1, "summary", "{\"content\":\"sum 1\"}", NULL, &e);
	store_message_add(st, s1, "user", "{\"content\":\"more\"}", NULL, &e);
	store_message_add(st, s1, "summary", "{\"content\":\"sum 2\"}", NULL, &e);
	store_message_add(st, s1, "user", "{\"content\":\"last\"}", &seq, &e);
	tap_is_int(seq, 7, "seven messages: seq 7");
	ferr_clear(&e);
	tap_is_int(store_message_add(st, s1, "system", "{}", &seq, &e), -1,
		   "an unknown role is refused");
	tap_contains(e.msg, "system", "... naming it");
	ferr_clear(&e);
	tap_is_int(store_message_add(st, "99999999", "user", "{}", NULL, &e), -1,
		   "a message to an unknown session is refused");
	tap_is_int(e.cls, FERR_USAGE, "... as a usage error");
	store_message_add(st, s2, "user", "{\"content\":\"other\"}", &seq, &e);
	tap_is_int(seq, 1, "another session's messages start at 1");

	tap_is_int(store_message_list(st, s1, false, &msgs, &n, &e), 0, "list the messages");
	tap_is_int((long long)n, 7, "... all seven");
	if (n == 7) {
		bool ordered = true;
		for (size_t i = 0; i < n; i++)
			ordered = ordered && msgs[i].seq == (long long)i + 1;
		tap_ok(ordered, "... in seq order");
		tap_is_str(msgs[1].role, "assistant", "... with their roles");
		tap_contains(msgs[1].body, "read_file", "... and bodies");
		tap_ok(msgs[0].at > 1700000000000LL, "... and times in milliseconds");
	}
	store_messages_free(msgs, n);
	tap_is_int(store_message_list(st, s1, true, &msgs, &n, &e), 0, "list from the summary");
	tap_is_int((long long)n, 2, "... the last summary and what follows");
	if (n == 2) {
		tap_is_int(msgs[0].seq, 6, "... starting at the last summary");
		tap_is_str(msgs[0].body, "{\"content\":\"sum 2\"}", "... which is sum 2");
	}
	store_messages_free(msgs, n);
	tap_is_int(store_message_list(st, s2, true, &msgs, &n, &e), 0,
		   "from_summary without a summary");
	tap_is_int((long long)n, 1, "... returns everything");
	store_messages_free(msgs, n);
	tap_is_int(store_message_list(st, s3, false, &msgs, &n, &e), 0, "an empty history");
	tap_ok(n == 0 && msgs == NULL, "... is empty");

	/* tool calls */
	tap_is_int(store_toolcall_add(st, s1, "c1", "read_file", "{\"path\":\"a\"}", 2, &e), 0,
		   "add a tool call");
	store_toolcall_add(st, s1, "c2", "run", "{\"cmd\":\"make\"}", 2, &e);
	tap_is_int(store_toolcall_approval(st, s1, "c1", "auto", &e), 0, "record its approval");
	tap_is_int(store_toolcall_finish(st, s1, "c1", "ok", 0, 12, "data", 0, &e), 0,
		   "record its result");
	store_toolcall_add(st, s1, "c1", "read_file", "{\"path\":\"b\"}", 5, &e);
	store_toolcall_finish(st, s1, "c1", "failed", 2, 30, "no such file", 41, &e);
	ferr_clear(&e);
	tap_is_int(store_toolcall_approval(st, s1, "nope", "user", &e), -1,
		   "the approval of an unknown call fails");
	tap_contains(e.msg, "no tool call \"nope\"", "... naming the call");
	tap_is_int(store_toolcall_list(st, s1, &calls, &n, &e), 0, "list the tool calls");
	tap_is_int((long long)n, 3, "... three");
	if (n == 3) {
		tap_is_str(calls[0].name, "read_file", "... in order: the first");
		tap_is_str(calls[0].approval, "auto", "... its approval");
		tap_is_str(calls[0].status, "ok", "... its status");
		tap_is_int(calls[0].duration_ms, 12, "... its duration");
		tap_is_str(calls[0].result, "data", "... its result");
		tap_is_int(calls[0].exit_code, 0, "... its exit code");
		tap_is_str(calls[1].status, NULL, "the unfinished one has no status");
		tap_is_str(calls[1].approval, NULL, "... nor approval");
		tap_is_int(calls[1].exit_code, -1, "... and exit code -1");
		tap_is_str(calls[2].arguments, "{\"path\":\"b\"}",
			   "a reused call id got its own row");
		tap_is_str(calls[2].status, "failed", "... and the result went to the latest");
		tap_is_int(calls[2].audit_id, 41, "... with its audit id");
		tap_is_int(calls[2].message_seq, 5, "... and message seq");
	}
	store_toolcalls_free(calls, n);

	/* usage */
	tap_is_int(store_usage_add(st, s1, "openai", "gpt-x", 100, 20, 5, 3, 0.5, &e), 0,
		   "add usage");
	store_usage_add(st, s1, "openai", "gpt-y", 50, 10, 0, 0, -1, &e);
	store_usage_add(st, s2, "ollama", "llama", 7, 3, 0, 0, -1, &e);
	store_session_get(st, s1, &info, &e);
	tap_is_int(info.prompt_tokens, 150, "prompt tokens are summed");
	tap_is_int(info.completion_tokens, 30, "completion tokens are summed");
	tap_ok(info.cost > 0.49 && info.cost < 0.51, "the cost is the sum of the known ones");
	tap_is_int(info.nmessages, 7, "the message count");
	tap_is_str(info.model, "gpt-x", "the session's own model wins over usage");
	store_session_info_release(&info);
	store_session_get(st, s2, &info, &e);
	tap_ok(info.cost < 0, "no known cost stays unknown");
	tap_is_str(info.model, "llama", "without a model of its own, the last usage's");
	tap_is_str(info.provider, "ollama", "... and provider");
	store_session_info_release(&info);

	/* list ordering and filters: s2 got a message after s1's last one */
	sleep_ms(3);
	store_message_add(st, s3, "user", "{\"content\":\"x\"}", NULL, &e);
	tap_is_int(store_session_list(st, NULL, NULL, 0, &list, &n, &e), 0, "list every session");
	tap_is_int((long long)n, 3, "... three");
	if (n == 3) {
		tap_is_str(list[0].id, s3, "... the most recently updated first");
		tap_is_str(list[1].id, s2, "... then the next");
		tap_is_str(list[2].id, s1, "... and the oldest update last");
		tap_is_int(list[2].nmessages, 7, "... with counts");
	}
	store_session_infos_free(list, n);
	store_session_list(st, "/proj/a", NULL, 0, &list, &n, &e);
	tap_is_int((long long)n, 2, "filtered by project: two");
	if (n == 2)
		tap_ok(strcmp(list[0].id, s3) == 0 && strcmp(list[1].id, s1) == 0,
		       "... of that project, newest first");
	store_session_infos_free(list, n);
	store_session_list(st, "/proj/a", "chat", 0, &list, &n, &e);
	tap_ok(n == 1 && strcmp(list[0].id, s1) == 0, "filtered by project and kind: the one");
	store_session_infos_free(list, n);
	store_session_list(st, NULL, "tool", 0, &list, &n, &e);
	tap_ok(n == 1 && strcmp(list[0].id, s3) == 0, "filtered by kind only");
	store_session_infos_free(list, n);
	store_session_list(st, NULL, NULL, 2, &list, &n, &e);
	tap_is_int((long long)n, 2, "a limit of 2 gives 2");
	store_session_infos_free(list, n);
	store_session_list(st, "/nowhere", NULL, 0, &list, &n, &e);
	tap_ok(n == 0, "an unknown project has none");
	store_session_infos_free(list, n);

	tap_is_int(store_session_latest(st, "/proj/a", id, &found, &e), 0, "latest of a project");
	tap_ok(found && strcmp(id, s3) == 0, "... is its most recently updated");
	store_session_new(st, "chat", "/proj/a", id, &e);
	store_session_update(st, id, "/proj/a", "empty", NULL, NULL, &e);
	store_session_latest(st, "/proj/a", id, &found, &e);
	tap_ok(found && strcmp(id, s3) == 0, "... skipping a newer session without messages");
	store_message_add(st, s1, "user", "{\"content\":\"again\"}", &before_seq, &e);
	store_session_latest(st, "/proj/a", id, &found, &e);
	tap_ok(found && strcmp(id, s1) == 0, "a new message makes a session the latest");
	store_session_latest(st, NULL, id, &found, &e);
	tap_ok(found && strcmp(id, s1) == 0, "latest of any project");

	/* audit and rm */
	{
		struct store_change ch[2] = { { "a.txt", true, 0644, "old a", 5 },
					      { "b.txt", false, 0600, NULL, 0 } };
		struct store_audit a = { s1, "write_file", "{\"path\":\"a.txt\"}", "workspace-write",
					 "auto", 0, 3, 4, ch, 2 };
		long long first = 0;
		store_audit_add(st, &a, &first, &e);
		a.tool = "edit_file";
		a.nchanges = 1;
		tap_is_int(store_audit_add(st, &a, &audit_id, &e), 0, "add two audit rows");
		tap_is_int(store_audit_list(st, s1, 0, &rows, &n, &e), 0, "list the audit");
		tap_is_int((long long)n, 2, "... both rows");
		if (n == 2) {
			tap_is_str(rows[0].tool, "edit_file", "... newest first");
			tap_is_int((long long)rows[1].nchanges, 2, "... the first with two changes");
			tap_is_str(rows[1].changes[0].path, "a.txt", "... in order");
			tap_ok(rows[1].changes[0].existed && rows[1].changes[0].before_len == 5 &&
				       memcmp(rows[1].changes[0].before, "old a", 5) == 0,
			       "... with the previous content");
			tap_ok(!rows[1].changes[1].existed && rows[1].changes[1].before_len == 0,
			       "... and a created file");
			tap_is_int(rows[1].changes[1].mode, 0600, "... with its mode");
		}
		store_audit_rows_free(rows, n);
		store_audit_list(st, s1, first, &rows, &n, &e);
		tap_ok(n == 1 && rows[0].id == audit_id, "since_id leaves the older rows out");
		store_audit_rows_free(rows, n);
		a.session_id = s2;
		store_audit_add(st, &a, &first, &e);
	}
	store_toolcall_add(st, s2, "k", "run", "{}", 1, &e);
	tap_is_int(raw_int(path.data, "SELECT count(*) FROM audit_changes"), 4,
		   "the audit has changes before rm");
	tap_is_int(store_session_rm(st, s1, &e), 0, "rm a session");
	tap_is_int(count_where(path.data, "sessions", "id", s1), 0, "... its row is gone");
	tap_is_int(count_where(path.data, "messages", "session_id", s1), 0, "... its messages");
	tap_is_int(count_where(path.data, "tool_calls", "session_id", s1), 0, "... its tool calls");
	tap_is_int(count_where(path.data, "usage", "session_id", s1), 0, "... its usage");
	tap_is_int(count_where(path.data, "audit", "session_id", s1), 0, "... its audit");
	{
		struct buf sql = BUF_INIT;
		buf_printf(&sql, "SELECT count(*) FROM audit_changes WHERE audit_id NOT IN "
				 "(SELECT id FROM audit)");
		tap_is_int(raw_int(path.data, sql.data), 0, "... and its audit changes");
		buf_release(&sql);
	}
	tap_is_int(count_where(path.data, "messages", "session_id", s2), 1,
		   "another session's messages are kept");
	tap_is_int(count_where(path.data, "audit", "session_id", s2), 1, "... its audit");
	tap_is_int(raw_int(path.data, "SELECT count(*) FROM audit_changes"), 1,
		   "... and its audit changes");
	tap_is_int(count_where(path.data, "tool_calls", "session_id", s2), 1, "... its tool calls");
	tap_is_int(count_where(path.data, "usage", "session_id", s2), 1, "... its usage");
	ferr_clear(&e);
	tap_is_int(store_session_rm(st, s1, &e), -1, "rm of a removed session fails");
	tap_is_int(e.cls, FERR_USAGE, "... as a usage error");
	tap_contains(e.msg, "no session", "... saying there is no such session");
	memcpy(id, s2, 8);
	id[8] = '\0';
	tap_is_int(store_session_rm(st, id, &e), 0, "rm by an 8-digit prefix");
	tap_is_int(count_where(path.data, "sessions", "id", s2), 0, "... removed it");
	tap_is_int(store_check(st, &e), 0, "the database checks ok");
	tap_is_int(raw_int(path.data, "SELECT count(*) FROM pragma_foreign_key_check"), 0,
		   "... and has no dangling reference");
	store_close(st);
	buf_release(&path);
}

struct writer {
	const char *path;
	const char *session;
	int tag;
	int count;
	int failures;
};

static void *write_messages(void *arg)
{
	struct writer *w = arg;
	struct ferr e = FERR_INIT;
	struct store *st = NULL;
	char body[64];

	if (store_open(w->path, &st, &e) < 0) {
		w->failures = w->count;
		return NULL;
	}
	for (int i = 0; i < w->count; i++) {
		snprintf(body, sizeof body, "{\"content\":\"%d-%d\"}", w->tag, i);
		if (store_message_add(st, w->session, "user", body, NULL, &e) < 0) {
			printf("# writer %d: %s\n", w->tag, e.msg);
			w->failures++;
		}
	}
	store_close(st);
	return NULL;
}

static void test_concurrent_messages(void)
{
	enum { PER = 300 };
	struct buf path = BUF_INIT;
	struct ferr e = FERR_INIT;
	struct store *st = NULL;
	struct store_message *msgs = NULL;
	struct writer w[2];
	pthread_t threads[2];
	char id[33];
	size_t n = 0;
	int next[2] = { 0, 0 };
	bool contiguous = true, in_order = true;

	if (store_open(at(&path, "concurrent.db"), &st, &e) < 0 ||
	    store_session_new(st, "chat", "/p", id, &e) < 0) {
		tap_ok(0, e.msg);
		return;
	}
	for (int i = 0; i < 2; i++) {
		w[i] = (struct writer){ path.data, id, i, PER, 0 };
		pthread_create(&threads[i], NULL, write_messages, &w[i]);
	}
	for (int i = 0; i < 2; i++)
		pthread_join(threads[i], NULL);
	tap_is_int(w[0].failures + w[1].failures, 0,
		   "two connections adding messages to one session at once all succeed");
	store_message_list(st, id, false, &msgs, &n, &e);
	tap_is_int((long long)n, 2 * PER, "... and every message is there");
	for (size_t i = 0; i < n; i++) {
		int tag, k;
		contiguous = contiguous && msgs[i].seq == (long long)i + 1;
		if (sscanf(msgs[i].body, "{\"content\":\"%d-%d\"}", &tag, &k) != 2 || tag < 0 ||
		    tag > 1 || k != next[tag]++)
			in_order = false;
	}
	tap_ok(contiguous, "... numbered 1..N with no gap or duplicate");
	tap_ok(in_order, "... each writer's messages in the order it added them");
	store_messages_free(msgs, n);
	store_close(st);
	buf_release(&path);
}

/* A child adds messages in a loop, reporting each seq on a pipe once the
 * call returned, and is SIGKILLed at a random moment. */
static void test_sigkill_messages(void)
{
	struct buf path = BUF_INIT;
	struct ferr e = FERR_INIT;
	struct store *st = NULL;
	char id[33];
	int round, bad = 0, integrity = 0;
	long long total = 0;

	if (store_open(at(&path, "killed-messages.db"), &st, &e) < 0 ||
	    store_session_new(st, "chat", "/p", id, &e) < 0) {
		tap_ok(0, e.msg);
		return;
	}
	store_close(st);
	srand((unsigned)time(NULL) ^ (unsigned)getpid());
	for (round = 0; round < 4; round++) {
		struct store_message *msgs = NULL;
		long long last = 0, got;
		int fds[2], status;
		size_t n = 0;
		pid_t pid;

		if (pipe(fds) < 0)
			abort();
		fflush(stdout);
		pid = fork();
		if (pid == 0) {
			char body[128];
			long long seq;

			close(fds[0]);
			if (store_open(path.data, &st, &e) < 0)
				_exit(1);
			for (int i = 0;; i++) {
				snprintf(body, sizeof body, "{\"content\":\"round %d message %d\"}",
					 round, i);
				if (store_message_add(st, id, "assistant", body, &seq, &e) < 0)
					_exit(2);
				if (write(fds[1], &seq, sizeof seq) != sizeof seq)
					_exit(3);
			}
		}
		close(fds[1]);
		/* let it write a little, then kill it mid-flight */
		if (read(fds[0], &got, sizeof got) == sizeof got)
			last = got;
		sleep_ms(5 + rand() % 60);
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		while (read(fds[0], &got, sizeof got) == sizeof got)
			last = got;
		close(fds[0]);
		if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL) {
			printf("# round %d: child ended with status %d before the kill\n", round,
			       status);
			bad++;
			continue;
		}
		st = NULL;
		if (store_open(path.data, &st, &e) < 0 ||
		    store_message_list(st, id, false, &msgs, &n, &e) < 0) {
			printf("# round %d: %s\n", round, e.msg);
			bad++;
			store_close(st);
			continue;
		}
		if ((long long)n < last) {
			printf("# round %d: the child saw seq %lld returned, only %zu stored\n",
			       round, last, n);
			bad++;
		}
		for (size_t i = 0; i < n; i++)
			if (msgs[i].seq != (long long)i + 1) {
				printf("# round %d: message %zu has seq %lld\n", round, i,
				       msgs[i].seq);
				bad++;
				break;
			}
		if (store_check(st, &e) < 0) {
			printf("# round %d: %s\n", round, e.msg);
			integrity++;
		}
		total = (long long)n;
		store_messages_free(msgs, n);
		store_close(st);
	}
	printf("# %lld messages survived four kills\n", total);
	tap_ok(total > 0, "the killed children added messages");
	tap_is_int(bad, 0, "every message whose add returned survived SIGKILL, seq without gaps");
	tap_is_int(integrity, 0, "... and the database checks ok after each kill");
	buf_release(&path);
}

/* A database left at schema 3 by an older forja: its rows are kept and
 * it gains the conversation tables. */
static void test_migrate_from_3(void)
{
	struct buf path = BUF_INIT;
	struct ferr e = FERR_INIT;
	struct store *st = NULL;
	struct store_session_info info;
	struct store_audit_row *rows = NULL;
	bool trusted = false;
	long long seq = 0;
	size_t n = 0;
	sqlite3 *db;

	db = raw_open(at(&path, "v3.db"));
	raw_exec(db,
		 "PRAGMA journal_mode = WAL;"
		 "CREATE TABLE cache (ns TEXT NOT NULL, key TEXT NOT NULL, value BLOB NOT NULL,"
		 " updated_at INTEGER NOT NULL, PRIMARY KEY (ns, key));"
		 "CREATE TABLE sessions (id TEXT PRIMARY KEY, created_at INTEGER NOT NULL,"
		 " kind TEXT NOT NULL, cwd TEXT NOT NULL);"
		 "CREATE TABLE audit (id INTEGER PRIMARY KEY, session_id TEXT NOT NULL"
		 " REFERENCES sessions(id) ON DELETE CASCADE, at INTEGER NOT NULL,"
		 " tool TEXT NOT NULL, arguments TEXT NOT NULL, sandbox TEXT NOT NULL,"
		 " approval TEXT NOT NULL, status INTEGER NOT NULL, output_bytes INTEGER NOT NULL,"
		 " duration_ms INTEGER NOT NULL);"
		 "CREATE INDEX audit_session ON audit(session_id, id);"
		 "CREATE TABLE audit_changes (audit_id INTEGER NOT NULL REFERENCES audit(id)"
		 " ON DELETE CASCADE, seq INTEGER NOT NULL, path TEXT NOT NULL,"
		 " existed INTEGER NOT NULL, mode INTEGER NOT NULL, before BLOB NOT NULL,"
		 " PRIMARY KEY (audit_id, seq));"
		 "CREATE TABLE trusted_projects (root TEXT PRIMARY KEY, trusted_at INTEGER NOT NULL);"
		 "INSERT INTO cache VALUES ('ns', 'k', x'7631', 1);"
		 "INSERT INTO sessions VALUES ('0123456789abcdef0123456789abcdef', 1750000000,"
		 " 'tool', '/old/project');"
		 "INSERT INTO audit VALUES (1, '0123456789abcdef0123456789abcdef', 1750000000123,"
		 " 'write_file', '{}', 'workspace-write', 'none', 0, 0, 3);"
		 "INSERT INTO audit_changes VALUES (1, 0, 'f.txt', 1, 420, x'6f6c64');"
		 "INSERT INTO trusted_projects VALUES ('/old/project', 1750000000);"
		 "PRAGMA user_version = 3; PRAGMA application_id = 1718579818;");
	sqlite3_close(db);

	tap_is_int(store_open(path.data, &st, &e), 0, "a schema 3 database opens");
	if (!st) {
		printf("# %s\n", e.msg);
		return;
	}
	tap_is_int(store_schema_version(st), 4, "... and is migrated to 4");
	tap_ok(cache_is(st, "ns", "k", "v1", 2), "... its cache is kept");
	store_trust_get(st, "/old/project", &trusted, &e);
	tap_ok(trusted, "... its trusted projects");
	tap_is_int(store_session_get(st, "0123", &info, &e), 0, "... its session");
	tap_is_str(info.kind, "tool", "... with its kind");
	tap_is_str(info.cwd, "/old/project", "... and cwd");
	tap_is_int(info.updated_at, 1750000000, "... updated when it was created");
	tap_is_str(info.project, NULL, "... and no project");
	store_session_info_release(&info);
	tap_is_int(store_audit_list(st, "0123", 0, &rows, &n, &e), 0, "... its audit");
	tap_ok(n == 1 && rows[0].nchanges == 1 && rows[0].changes[0].before_len == 3 &&
		       memcmp(rows[0].changes[0].before, "old", 3) == 0,
	       "... with its changes");
	store_audit_rows_free(rows, n);
	tap_is_int(store_message_add(st, "0123", "user", "{\"content\":\"hi\"}", &seq, &e), 0,
		   "the old session takes messages");
	tap_is_int(seq, 1, "... from seq 1");
	tap_is_int(store_check(st, &e), 0, "the migrated database checks ok");
	store_close(st);
	buf_release(&path);
}

/*
 * `test_store fill DB`: build a database for tests/e2e/sessions.sh from
 * lines on stdin, fields separated by tabs (bytes are taken as they are,
 * escape sequences included):
 *   session  ID KIND CWD PROJECT TITLE PROVIDER MODEL   ("-": unset)
 *   message  ID ROLE BODY
 *   call     ID CALL_ID NAME ARGUMENTS MESSAGE_SEQ
 *   approval ID CALL_ID APPROVAL
 *   finish   ID CALL_ID STATUS EXIT_CODE DURATION_MS RESULT
 *   usage    ID PROVIDER MODEL PROMPT COMPLETION COST
 *   audit    ID TOOL PATH          (one call that wrote PATH)
 *   times    ID CREATED UPDATED    (unix seconds)
 * Each line goes through the store API, except the chosen ids and times.
 */
static const char *field_or_null(const char *f)
{
	return strcmp(f, "-") == 0 ? NULL : f;
}

static bool has_fields(const char *record, int n, int want, int lineno)
{
	if (n == want + 1)
		return true;
	fprintf(stderr, "fill: line %d: %s takes %d fields, got %d\n", lineno, record, want, n - 1);
	return false;
}

static int fill(const char *path)
{
	struct ferr e = FERR_INIT;
	struct store *st = NULL;
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	int lineno = 0;

	if (store_open(path, &st, &e) < 0) {
		fprintf(stderr, "fill: %s\n", e.msg);
		return 1;
	}
	while ((len = getline(&line, &cap, stdin)) >= 0) {
		char *f[10] = { 0 };
		int n = 0, rc = 0;
		char *p = line;

		lineno++;
		if (len && line[len - 1] == '\n')
			line[len - 1] = '\0';
		if (!line[0] || line[0] == '#')
			continue;
		while (n < 10) {
			f[n++] = p;
			p = strchr(p, '\t');
			if (!p)
				break;
			*p++ = '\0';
		}
		if (strcmp(f[0], "session") == 0) {
			char id[33];
			if (!has_fields(f[0], n, 7, lineno))
				return 1;
			rc = store_session_new(st, f[2], f[3], id, &e);
			if (rc == 0) {
				raw_rename(path, id, f[1]);
				rc = store_session_update(st, f[1], field_or_null(f[4]),
							  field_or_null(f[5]), field_or_null(f[6]),
							  field_or_null(f[7]), &e);
			}
		} else if (strcmp(f[0], "message") == 0) {
			if (!has_fields(f[0], n, 3, lineno))
				return 1;
			rc = store_message_add(st, f[1], f[2], f[3], NULL, &e);
		} else if (strcmp(f[0], "call") == 0) {
			if (!has_fields(f[0], n, 5, lineno))
				return 1;
			rc = store_toolcall_add(st, f[1], f[2], f[3], f[4], atoll(f[5]), &e);
		} else if (strcmp(f[0], "approval") == 0) {
			if (!has_fields(f[0], n, 3, lineno))
				return 1;
			rc = store_toolcall_approval(st, f[1], f[2], f[3], &e);
		} else if (strcmp(f[0], "finish") == 0) {
			if (!has_fields(f[0], n, 6, lineno))
				return 1;
			rc = store_toolcall_finish(st, f[1], f[2], f[3], atoi(f[4]), atoll(f[5]), f[6],
						   0, &e);
		} else if (strcmp(f[0], "usage") == 0) {
			if (!has_fields(f[0], n, 6, lineno))
				return 1;
			rc = store_usage_add(st, f[1], f[2], f[3], atoll(f[4]), atoll(f[5]), 0, 0,
					     atof(f[6]), &e);
		} else if (strcmp(f[0], "audit") == 0) {
			struct store_change ch = { f[3], true, 0644, "before", 6 };
			struct store_audit a = { f[1], f[2], "{}", "workspace-write", "auto", 0, 0, 1,
						 &ch, 1 };
			long long id;
			if (!has_fields(f[0], n, 3, lineno))
				return 1;
			rc = store_audit_add(st, &a, &id, &e);
		} else if (strcmp(f[0], "times") == 0) {
			sqlite3 *db = raw_open(path);
			sqlite3_stmt *stmt;
			if (!has_fields(f[0], n, 3, lineno))
				return 1;
			if (sqlite3_prepare_v2(db, "UPDATE sessions SET created_at = ?2, "
					       "updated_at = ?3 * 1000 WHERE id = ?1", -1, &stmt,
					       NULL) != SQLITE_OK)
				return 1;
			sqlite3_bind_text(stmt, 1, f[1], -1, SQLITE_STATIC);
			sqlite3_bind_int64(stmt, 2, atoll(f[2]));
			sqlite3_bind_int64(stmt, 3, atoll(f[3]));
			rc = sqlite3_step(stmt) == SQLITE_DONE && sqlite3_changes(db) == 1 ? 0 : -1;
			if (rc < 0)
				ferr_set(&e, FERR_IO, "no session %s to set times on", f[1]);
			sqlite3_finalize(stmt);
			sqlite3_close(db);
		} else {
			fprintf(stderr, "fill: line %d: unknown record %s\n", lineno, f[0]);
			return 1;
		}
		if (rc < 0) {
			fprintf(stderr, "fill: line %d: %s\n", lineno, e.msg);
			return 1;
		}
	}
	free(line);
	store_close(st);
	return 0;
}

static int remove_entry(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
	return remove(path);
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "fill") == 0)
		return fill(argv[2]);
	setvbuf(stdout, NULL, _IOLBF, 0);
	umask(022);
	snprintf(tmp, sizeof tmp, "/tmp/forja-store-XXXXXX");
	if (!mkdtemp(tmp)) {
		perror("mkdtemp");
		return 99;
	}

	test_default_path();
	test_cache();
	test_oversize();
	test_newer_schema();
	test_foreign_database();
	test_not_a_database();
	test_permissions();
	test_two_connections();
	test_busy();
	test_wal_switch_waits();
	test_sigkill();
	test_racing_creators();
	test_corrupt();
	test_relative_path();
	test_speed();
	test_session_ids();
	test_sessions();
	test_concurrent_messages();
	test_sigkill_messages();
	test_migrate_from_3();

	if (!getenv("FORJA_TEST_KEEP") &&
	    nftw(tmp, remove_entry, 16, FTW_DEPTH | FTW_PHYS) != 0)
		printf("# could not remove %s\n", tmp);
	return tap_done();
}

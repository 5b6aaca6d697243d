/*
 * doctor.c — `forja doctor`: one line per check with a clear verdict —
 * config, provider and key (never printed), the provider's reachability
 * and latency, the state database, and what this machine's kernel offers
 * the sandbox.  Exit 0 when nothing failed, else the first failure's code.
 */
#include <cJSON.h>
#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <linux/landlock.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "forja/bootstrap.h"
#include "forja/cmd.h"
#include "forja/config.h"
#include "forja/http.h"
#include "forja/jail.h"
#include "forja/provider.h"
#include "forja/store.h"
#include "forja/version.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <sqlite3.h>

const struct opt_spec cmd_doctor_options[] = { { 0 } };

enum verdict { OK, WARN, FAIL };

struct report {
	struct app *app;
	int first_fail_code;
	int fails, warns;
	cJSON *checks;         /* with --json: the lines, printed at the end */
};

static void line(struct report *r, enum verdict v, const char *what, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void line(struct report *r, enum verdict v, const char *what, const char *fmt, ...)
{
	static const char *const word[] = { "ok", "warn", "FAIL" };
	static const char *const color[] = { "\033[32m", "\033[33m", "\033[1;31m" };
	char msg[1200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (v == FAIL)
		r->fails++;
	if (v == WARN)
		r->warns++;
	if (r->checks) {
		cJSON *c = cJSON_CreateObject();
		cJSON_AddStringToObject(c, "check", what);
		cJSON_AddStringToObject(c, "verdict", word[v]);
		cJSON_AddStringToObject(c, "message", msg);
		cJSON_AddItemToArray(r->checks, c);
		return;
	}
	printf("%s%-4s%s  %-18s %s\n", r->app->color ? color[v] : "", word[v],
	       r->app->color ? "\033[0m" : "", what, msg);
}

static void fail_with(struct report *r, const char *what, const struct ferr *e)
{
	if (!r->first_fail_code)
		r->first_fail_code = ferr_exit_code(e->cls);
	line(r, FAIL, what, "%s", e->msg);
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

/* The version of a library loaded on first use, without loading the rest
 * of forja's use of it: dlopen its SONAME, ask, close. */
static void lazy_version(struct report *r, const char *what, const char *soname, bool git)
{
	void *h = soname ? dlopen(soname, RTLD_LAZY | RTLD_LOCAL) : NULL;

	if (!soname) {
		line(r, OK, what, "linked at build time");
		return;
	}
	if (!h) {
		line(r, FAIL, what, "%s cannot be loaded: %s", soname, dlerror());
		return;
	}
	if (git) {
		int (*ver)(int *, int *, int *);
		void *sym = dlsym(h, "git_libgit2_version");
		memcpy(&ver, &sym, sizeof ver);   /* POSIX: a data pointer to a function */
		int ma = 0, mi = 0, pa = 0;
		if (ver && ver(&ma, &mi, &pa) == 0)
			line(r, OK, what, "%d.%d.%d (%s)", ma, mi, pa, soname);
		else
			line(r, OK, what, "%s", soname);
	} else {
		char *(*ver)(void);
		void *sym = dlsym(h, "curl_version");
		memcpy(&ver, &sym, sizeof ver);
		if (ver)
			line(r, OK, what, "%s (%s)", ver(), soname);
		else
			line(r, OK, what, "%s", soname);
	}
	dlclose(h);
}

static void check_libraries(struct report *r)
{
	char pcre[64] = "";

	line(r, OK, "forja", "%s", FORJA_VERSION);
#ifdef FORJA_GIT2_SONAME
	lazy_version(r, "libgit2", FORJA_GIT2_SONAME, true);
#else
	lazy_version(r, "libgit2", NULL, true);
#endif
#ifdef FORJA_CURL_SONAME
	lazy_version(r, "libcurl", FORJA_CURL_SONAME, false);
#else
	lazy_version(r, "libcurl", NULL, false);
#endif
	pcre2_config(PCRE2_CONFIG_VERSION, pcre);
	line(r, OK, "libraries", "sqlite %s, libuv %s, PCRE2 %s, cJSON %s", sqlite3_libversion(),
	     uv_version_string(), pcre, cJSON_Version());
#ifdef FORJA_EDIT_SONAME
	{
		void *h = dlopen(FORJA_EDIT_SONAME, RTLD_LAZY | RTLD_LOCAL);
		if (h) {
			line(r, OK, "libedit", "%s (loaded by the interactive session)", FORJA_EDIT_SONAME);
			dlclose(h);
		} else {
			line(r, WARN, "libedit", "%s cannot be loaded: the interactive session has no line editing", FORJA_EDIT_SONAME);
		}
	}
#endif
}

static void check_sandbox(struct report *r)
{
#ifdef __linux__
	long abi = syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
	if (abi >= 1)
		line(r, OK, "landlock", "ABI version %ld", abi);
	else
		line(r, WARN, "landlock", "not available (%s): file rules fall back to the other layers",
		     strerror(errno));
	int sc = prctl(PR_GET_SECCOMP, 0, 0, 0, 0);
	if (sc >= 0)
		line(r, OK, "seccomp", "available");
	else
		line(r, WARN, "seccomp", "not available (%s)", strerror(errno));
	struct stat st;
	if (stat("/sys/fs/cgroup/cgroup.controllers", &st) == 0)
		line(r, OK, "cgroups", "v2, mounted at /sys/fs/cgroup");
	else if (stat("/sys/fs/cgroup/pids", &st) == 0 || stat("/sys/fs/cgroup/memory", &st) == 0)
		line(r, OK, "cgroups", "v1 (pids, memory)");
	else
		line(r, WARN, "cgroups", "none found: the process limit falls back to an rlimit, and there is no memory limit");
	long o2 = syscall(SYS_openat2, -1, NULL, 0, 0);
	if (o2 < 0 && errno == ENOSYS)
		line(r, WARN, "openat2", "not available: paths are checked component by component");
	else
		line(r, OK, "openat2", "available (RESOLVE_BENEATH)");
	FILE *f = fopen("/proc/sys/user/max_user_namespaces", "r");
	long n = -1;
	if (f) {
		if (fscanf(f, "%ld", &n) != 1)
			n = -1;
		fclose(f);
	}
	if (n > 0)
		line(r, OK, "user namespaces", "allowed (max %ld)", n);
	else
		line(r, WARN, "user namespaces", "not allowed here");
#endif
	/* the jail's own trial run: what a command tool really gets here */
	struct jail_caps caps;
	struct buf layers = BUF_INIT;
	jail_probe(&caps);
	jail_layers_describe(caps.layers, &layers);
	line(r, caps.why[0] ? WARN : OK, "process jail", "layers: %s", buf_cstr(&layers));
	for (char *w = caps.why; *w;) {
		char *nl = strchr(w, '\n');
		if (nl)
			*nl = '\0';
		line(r, WARN, "process jail", "missing %s", w);
		if (!nl)
			break;
		w = nl + 1;
	}
	buf_release(&layers);
	jail_caps_release(&caps);
}

int cmd_doctor(struct app *app, int argc, char **argv)
{
	const struct cmd *self = cmd_find("doctor");
	struct ferr e = FERR_INIT;
	struct report r = { app, 0, 0, 0, NULL };
	struct config cfg;
	struct provider_config pc;
	struct provider_choice choice;
	uv_loop_t loop;
	struct http_client *http = NULL;
	bool cfg_open = false, pc_open = false;
	int rc = EXIT_OK;

	if ((rc = cmd_parse_no_operands(self, app, argc, argv)) >= 0)
		return rc;
	rc = EXIT_OK;
	choice = (struct provider_choice){ app->provider, app->model, app->base_url, true };
	if (app->json)
		r.checks = cJSON_CreateArray();
	uv_loop_init(&loop);
	char *root = bootstrap_project_root(app->cwd);
	if (config_load(root, &cfg, &e) != 0) {
		fail_with(&r, "config", &e);
	} else {
		cfg_open = true;
		if (cfg.nfiles) {
			struct buf list = BUF_INIT;
			for (size_t i = 0; i < cfg.nfiles; i++)
				buf_printf(&list, "%s%s", i ? ", " : "", cfg.files[i]);
			line(&r, OK, "config", "%s", list.data);
			buf_release(&list);
		} else {
			line(&r, OK, "config", "no config file; defaults and environment");
		}
		for (size_t i = 0; i < cfg.nwarnings; i++)
			line(&r, WARN, "config", "%s", cfg.warnings[i]);
	}
	free(root);

	if (cfg_open && http_client_new(&loop, &http, &e) != 0)
		fail_with(&r, "http", &e);
	if (cfg_open && http) {
		if (provider_resolve(&loop, http, &cfg, &choice, &pc, &e) != 0) {
			fail_with(&r, "provider", &e);
		} else {
			pc_open = true;
			line(&r, OK, "provider", "%s (%s), %s, model %s, chosen by %s", pc.name,
			     provider_kind_name(pc.kind), pc.base_url, pc.model ? pc.model : "(any)",
			     pc.origin);
			if (pc.api_key)
				line(&r, OK, "API key", "set, from %s (%zu characters)", pc.key_source,
				     strlen(pc.api_key));
			else
				line(&r, strncmp(pc.base_url, "https://", 8) == 0 ? WARN : OK, "API key",
				     "none (local servers need none)");
			struct buf url = BUF_INIT, body = BUF_INIT;
			long status = 0;
			buf_printf(&url, "%s%s", pc.base_url,
				   pc.kind == PROVIDER_ANTHROPIC ? "/v1/models" : "/models");
			double t0 = now_ms();
			if (provider_fetch(&loop, http, &pc, url.data, pc.timeouts.connect_ms, &status,
					   &body, &e) != 0) {
				fail_with(&r, "reachable", &e);
			} else if (status != 200) {
				bool retryable;
				provider_classify_status(&pc, status, body.data, body.len, &e, &retryable);
				fail_with(&r, "reachable", &e);
			} else {
				line(&r, OK, "reachable", "%s answered in %.0f ms", url.data, now_ms() - t0);
			}
			buf_release(&url);
			buf_release(&body);
		}
	}

	struct store *store = NULL;
	const char *db = getenv("FORJA_DB");
	if (store_open(db && *db ? db : NULL, &store, &e) != 0) {
		fail_with(&r, "state database", &e);
	} else if (store_check(store, &e) != 0) {
		fail_with(&r, "state database", &e);
	} else {
		line(&r, OK, "state database", "%s (schema %d, integrity ok)", store_path(store),
		     store_schema_version(store));
	}
	store_close(store);

	check_libraries(&r);
	check_sandbox(&r);
	if (http)
		http_client_free(http);
	uv_run(&loop, UV_RUN_DEFAULT);
	uv_loop_close(&loop);
	if (pc_open)
		provider_config_release(&pc);
	if (cfg_open)
		config_release(&cfg);
	if (r.checks) {
		cJSON *out = cJSON_CreateObject();
		cJSON_AddItemToObject(out, "checks", r.checks);
		cJSON_AddNumberToObject(out, "failed", r.fails);
		cJSON_AddNumberToObject(out, "warnings", r.warns);
		char *text = cJSON_PrintUnformatted(out);
		printf("%s\n", text ? text : "{}");
		free(text);
		cJSON_Delete(out);
	} else if (app->verbosity >= 0) {
		printf("%d failed, %d warnings\n", r.fails, r.warns);
	}
	return r.first_fail_code;
}

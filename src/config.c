/*
 * config.c — the layered settings (see include/forja/config.h): defaults,
 * then /etc/forja/config.json, the user's config.json, the project's
 * .forja/config.json (which may only tighten), each checked key by key
 * with errors that name file, line, column and key.
 */
#include "forja/config.h"

#include <stdlib.h>
#include <string.h>

#include "forja/jsonc.h"
#include "forja/trust.h"

#include <sys/stat.h>
#include <unistd.h>

static const char *const top_keys[] = {
	"provider", "model", "providers", "timeouts", "retries", "ca_bundle", "sandbox",
	"approvals", "limits", "models", "context_budget", "hooks",
};
static const char *const hook_keys[] = {
	"timeout_ms", "block_on",
};
static const char *const limit_keys[] = {
	"max_turns", "max_tool_calls", "max_session_tokens", "max_session_cost",
};
static const char *const model_keys[] = {
	"context_window", "input_price", "output_price", "cached_input_price",
};
static const char *const provider_keys[] = {
	"type", "base_url", "model", "headers", "api_key_env", "api_key_file", "max_tokens",
};
static const char *const timeout_keys[] = {
	"connect_ms", "first_byte_ms", "idle_ms", "total_ms",
};
static const char *const retry_keys[] = {
	"max_attempts", "base_ms", "max_delay_ms", "total_ms",
};
#define N(a) (sizeof(a) / sizeof *(a))

static void set_str(char **slot, const char *v)
{
	free(*slot);
	*slot = v ? xstrdup(v) : NULL;
}

static void warn(struct config *cfg, const char *file, const char *key)
{
	struct buf b = BUF_INIT;

	buf_printf(&b, "%s: \"%s\" is ignored: a project's config may only tighten settings "
		       "(lower timeouts and retries, choose a model) until the project is trusted "
		       "('forja trust')",
		   file, key);
	cfg->warnings = xrealloc(cfg->warnings, (cfg->nwarnings + 1) * sizeof *cfg->warnings);
	cfg->warnings[cfg->nwarnings++] = buf_steal(&b);
}

static struct config_provider *provider_slot(struct config *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->nproviders; i++)
		if (strcmp(cfg->providers[i].name, name) == 0)
			return &cfg->providers[i];
	cfg->providers = xrealloc(cfg->providers, (cfg->nproviders + 1) * sizeof *cfg->providers);
	struct config_provider *p = &cfg->providers[cfg->nproviders++];
	memset(p, 0, sizeof *p);
	p->name = xstrdup(name);
	return p;
}

static int load_provider(struct config *cfg, const struct jsonc_doc *doc, const cJSON *obj,
			 struct ferr *e)
{
	const char *s = NULL;
	long long n = 0;
	const cJSON *headers = NULL, *h;
	struct config_provider *p;
	int rc;

	if (jsonc_as_object(doc, obj, &obj, e) != 0 ||
	    jsonc_check_keys(doc, obj, provider_keys, N(provider_keys), e) != 0)
		return -1;
	p = provider_slot(cfg, obj->string);
	set_str(&p->file, jsonc_name(doc));
	if ((rc = jsonc_get_string(doc, obj, "type", &s, e)) < 0)
		return -1;
	if (rc == 0) {
		if (strcmp(s, "openai") != 0 && strcmp(s, "anthropic") != 0)
			return jsonc_error_at(doc, jsonc_member(obj, "type"), e,
					      "\"type\" must be \"openai\" or \"anthropic\", got \"%s\"", s);
		set_str(&p->type, s);
	}
	if ((rc = jsonc_get_string(doc, obj, "base_url", &s, e)) < 0)
		return -1;
	if (rc == 0) {
		if (strncmp(s, "http://", 7) != 0 && strncmp(s, "https://", 8) != 0)
			return jsonc_error_at(doc, jsonc_member(obj, "base_url"), e,
					      "\"base_url\" must start with http:// or https://");
		set_str(&p->base_url, s);
	}
	if ((rc = jsonc_get_string(doc, obj, "model", &s, e)) < 0)
		return -1;
	if (rc == 0)
		set_str(&p->model, s);
	if ((rc = jsonc_get_string(doc, obj, "api_key_env", &s, e)) < 0)
		return -1;
	if (rc == 0)
		set_str(&p->api_key_env, s);
	if ((rc = jsonc_get_string(doc, obj, "api_key_file", &s, e)) < 0)
		return -1;
	if (rc == 0)
		set_str(&p->api_key_file, s);
	if ((rc = jsonc_get_int(doc, obj, "max_tokens", 1, 10000000, &n, e)) < 0)
		return -1;
	if (rc == 0)
		p->max_tokens = (long)n;
	if ((rc = jsonc_get_object(doc, obj, "headers", &headers, e)) < 0)
		return -1;
	cJSON_ArrayForEach(h, headers) {
		if (jsonc_as_string(doc, h, &s, e) != 0)
			return -1;
		if (strpbrk(h->string, ":\r\n") || strpbrk(s, "\r\n") || !*h->string)
			return jsonc_error_at(doc, h, e, "a header name or value may not hold ':' in the name or a line break");
		struct buf line = BUF_INIT;
		buf_printf(&line, "%s: %s", h->string, s);
		p->headers = xrealloc(p->headers, (p->nheaders + 1) * sizeof *p->headers);
		p->headers[p->nheaders++] = buf_steal(&line);
	}
	return 0;
}

/* A number that a project may only lower. */
static int tighten(const struct jsonc_doc *doc, const cJSON *obj, const char *section,
		   const char *key, long long min, long long max, long *slot, bool project,
		   struct config *cfg, struct ferr *e)
{
	long long v = 0;
	int rc = jsonc_get_int(doc, obj, key, min, max, &v, e);

	if (rc != 0)
		return rc < 0 ? -1 : 0;
	/* waiting less between retries is not tighter: it hammers the server */
	bool looser = strcmp(key, "base_ms") == 0 || strcmp(key, "max_delay_ms") == 0
			      ? v < *slot : v > *slot;
	if (project && looser) {
		struct buf path = BUF_INIT;
		buf_printf(&path, "%s.%s", section, key);
		warn(cfg, jsonc_name(doc), path.data);
		buf_release(&path);
		return 0;
	}
	*slot = (long)v;
	return 0;
}

static int load_doc(struct config *cfg, const struct jsonc_doc *doc, bool project, struct ferr *e)
{
	const cJSON *root = jsonc_root(doc), *obj = NULL, *item;
	const char *s = NULL;
	int rc;

	if (jsonc_as_object(doc, root, &root, e) != 0 ||
	    jsonc_check_keys(doc, root, top_keys, N(top_keys), e) != 0)
		return -1;
	if ((rc = jsonc_get_string(doc, root, "model", &s, e)) < 0)
		return -1;
	if (rc == 0)
		set_str(&cfg->model, s);
	if ((rc = jsonc_get_string(doc, root, "sandbox", &s, e)) < 0)
		return -1;
	if (rc == 0) {
		static const char *const modes[] = { "read-only", "workspace-write", "danger-full-access" };
		int rank = -1;
		for (int i = 0; i < 3; i++)
			if (strcmp(s, modes[i]) == 0)
				rank = i;
		if (rank < 0)
			return jsonc_error_at(doc, jsonc_member(root, "sandbox"), e,
					      "\"sandbox\" must be \"read-only\", \"workspace-write\" or \"danger-full-access\", got \"%s\"",
					      s);
		/* a project may make it stricter, never looser */
		int now = -1;
		for (int i = 0; i < 3 && cfg->sandbox; i++)
			if (strcmp(cfg->sandbox, modes[i]) == 0)
				now = i;
		if (now < 0)
			now = 1;
		if (project && rank > now)
			warn(cfg, jsonc_name(doc), "sandbox");
		else
			set_str(&cfg->sandbox, s);
	}
	if (project) {
		/* what a hostile repository could use against the user */
		static const char *const loosen[] = { "provider", "providers", "ca_bundle" };
		for (size_t i = 0; i < N(loosen); i++)
			if (jsonc_member(root, loosen[i]))
				warn(cfg, jsonc_name(doc), loosen[i]);
	} else {
		if ((rc = jsonc_get_string(doc, root, "provider", &s, e)) < 0)
			return -1;
		if (rc == 0)
			set_str(&cfg->provider, s);
		if ((rc = jsonc_get_string(doc, root, "ca_bundle", &s, e)) < 0)
			return -1;
		if (rc == 0)
			set_str(&cfg->ca_bundle, s);
		obj = NULL;
		if (jsonc_get_object(doc, root, "providers", &obj, e) < 0)
			return -1;
		cJSON_ArrayForEach(item, obj)
			if (load_provider(cfg, doc, item, e) != 0)
				return -1;
	}
	if ((rc = jsonc_get_string(doc, root, "approvals", &s, e)) < 0)
		return -1;
	if (rc == 0) {
		if (strcmp(s, "ask") != 0 && strcmp(s, "auto") != 0)
			return jsonc_error_at(doc, jsonc_member(root, "approvals"), e,
					      "\"approvals\" must be \"ask\" or \"auto\", got \"%s\"", s);
		/* a project may ask for asking, never for not asking */
		if (project && strcmp(s, "auto") == 0)
			warn(cfg, jsonc_name(doc), "approvals");
		else
			set_str(&cfg->approvals, s);
	}
	long long budget;
	if ((rc = jsonc_get_int(doc, root, "context_budget", 0, 1000000, &budget, e)) < 0)
		return -1;
	if (rc == 0)
		cfg->context_budget = (long)budget;
	obj = NULL;
	if (jsonc_get_object(doc, root, "limits", &obj, e) < 0 ||
	    jsonc_check_keys(doc, obj, limit_keys, N(limit_keys), e) != 0)
		return -1;
	if (obj) {
		/* 0 means no limit: a project may set one, or lower one */
		static const char *const ints[] = { "max_turns", "max_tool_calls", "max_session_tokens" };
		long *slots[] = { &cfg->max_turns, &cfg->max_tool_calls, &cfg->max_session_tokens };
		for (size_t i = 0; i < N(ints); i++) {
			long long v;
			if ((rc = jsonc_get_int(doc, obj, ints[i], 0, 1000000000000LL, &v, e)) < 0)
				return -1;
			if (rc != 0)
				continue;
			bool looser = v == 0 ? *slots[i] != 0 : (*slots[i] != 0 && v > *slots[i]);
			if (project && looser) {
				struct buf kp = BUF_INIT;
				buf_printf(&kp, "limits.%s", ints[i]);
				warn(cfg, jsonc_name(doc), kp.data);
				buf_release(&kp);
			} else {
				*slots[i] = (long)v;
			}
		}
		double d;
		if ((rc = jsonc_get_double(doc, obj, "max_session_cost", 0, 1e9, &d, e)) < 0)
			return -1;
		if (rc == 0) {
			bool looser = d == 0 ? cfg->max_session_cost != 0
					     : (cfg->max_session_cost != 0 && d > cfg->max_session_cost);
			if (project && looser)
				warn(cfg, jsonc_name(doc), "limits.max_session_cost");
			else
				cfg->max_session_cost = d;
		}
	}
	obj = NULL;
	if (jsonc_get_object(doc, root, "models", &obj, e) < 0)
		return -1;
	if (obj && project) {
		warn(cfg, jsonc_name(doc), "models");
	} else if (obj) {
		cJSON_ArrayForEach(item, obj) {
			const cJSON *m = NULL;
			if (jsonc_as_object(doc, item, &m, e) != 0 ||
			    jsonc_check_keys(doc, m, model_keys, N(model_keys), e) != 0)
				return -1;
			struct config_model *cm = NULL;
			for (size_t i = 0; i < cfg->nmodels; i++)
				if (strcmp(cfg->models[i].name, item->string) == 0)
					cm = &cfg->models[i];
			if (!cm) {
				cfg->models = xrealloc(cfg->models, (cfg->nmodels + 1) * sizeof *cfg->models);
				cm = &cfg->models[cfg->nmodels++];
				memset(cm, 0, sizeof *cm);
				cm->name = xstrdup(item->string);
				cm->input_price = cm->output_price = cm->cached_input_price = -1;
			}
			long long cw;
			if ((rc = jsonc_get_int(doc, m, "context_window", 1024, 100000000, &cw, e)) < 0)
				return -1;
			if (rc == 0)
				cm->context_window = (long)cw;
			static const char *const prices[] = { "input_price", "output_price", "cached_input_price" };
			double *pslots[] = { &cm->input_price, &cm->output_price, &cm->cached_input_price };
			for (size_t i = 0; i < N(prices); i++) {
				double v;
				if ((rc = jsonc_get_double(doc, m, prices[i], 0, 1e6, &v, e)) < 0)
					return -1;
				if (rc == 0)
					*pslots[i] = v;
			}
		}
	}
	obj = NULL;
	if (jsonc_get_object(doc, root, "hooks", &obj, e) < 0 ||
	    jsonc_check_keys(doc, obj, hook_keys, N(hook_keys), e) != 0)
		return -1;
	if (obj && tighten(doc, obj, "hooks", "timeout_ms", 1, 3600000, &cfg->hooks_timeout_ms,
			   project, cfg, e) != 0)
		return -1;
	if (obj && (rc = jsonc_get_string(doc, obj, "block_on", &s, e)) < 0)
		return -1;
	if (obj && rc == 0) {
		static const char *const levels[] = { "never", "error", "warning", "note" };
		int level = -1;
		for (int i = 0; i < (int)N(levels); i++)
			if (strcmp(s, levels[i]) == 0)
				level = i;
		if (level < 0)
			return jsonc_error_at(doc, jsonc_member(obj, "block_on"), e,
					      "\"hooks.block_on\" must be \"error\", \"warning\", \"note\" or \"never\", got \"%s\"",
					      s);
		/* a project may block on more findings, never on fewer */
		if (project && (enum config_block_on)level < cfg->hooks_block_on)
			warn(cfg, jsonc_name(doc), "hooks.block_on");
		else
			cfg->hooks_block_on = (enum config_block_on)level;
	}
	obj = NULL;
	if (jsonc_get_object(doc, root, "timeouts", &obj, e) < 0 ||
	    jsonc_check_keys(doc, obj, timeout_keys, N(timeout_keys), e) != 0)
		return -1;
	if (obj && (tighten(doc, obj, "timeouts", "connect_ms", 1, 3600000, &cfg->timeouts.connect_ms, project, cfg, e) ||
		    tighten(doc, obj, "timeouts", "first_byte_ms", 1, 86400000, &cfg->timeouts.first_byte_ms, project, cfg, e) ||
		    tighten(doc, obj, "timeouts", "idle_ms", 1, 86400000, &cfg->timeouts.idle_ms, project, cfg, e) ||
		    tighten(doc, obj, "timeouts", "total_ms", 1, 86400000, &cfg->timeouts.total_ms, project, cfg, e)))
		return -1;
	obj = NULL;
	if (jsonc_get_object(doc, root, "retries", &obj, e) < 0 ||
	    jsonc_check_keys(doc, obj, retry_keys, N(retry_keys), e) != 0)
		return -1;
	long attempts = cfg->max_attempts;
	if (obj && (tighten(doc, obj, "retries", "max_attempts", 1, 100, &attempts, project, cfg, e) ||
		    tighten(doc, obj, "retries", "base_ms", 0, 600000, &cfg->retry_base_ms, project, cfg, e) ||
		    tighten(doc, obj, "retries", "max_delay_ms", 0, 3600000, &cfg->retry_max_delay_ms, project, cfg, e) ||
		    tighten(doc, obj, "retries", "total_ms", 0, 86400000, &cfg->retry_total_ms, project, cfg, e)))
		return -1;
	cfg->max_attempts = (int)attempts;
	return 0;
}

static int load_layer(struct config *cfg, const char *path, bool project, struct ferr *e)
{
	struct jsonc_doc *doc = NULL;
	int rc = jsonc_load_file(path, &doc, e);

	if (rc == 1)
		return 0;
	if (rc < 0)
		return -1;
	cfg->files = xrealloc(cfg->files, (cfg->nfiles + 1) * sizeof *cfg->files);
	cfg->files[cfg->nfiles++] = xstrdup(path);
	rc = load_doc(cfg, doc, project, e);
	jsonc_free(doc);
	return rc;
}

int config_load(const char *project_root, struct config *cfg, struct ferr *e)
{
	struct buf p = BUF_INIT;
	const char *xdg = getenv("XDG_CONFIG_HOME");
	const char *home = getenv("HOME");
	int rc = -1;

	memset(cfg, 0, sizeof *cfg);
	cfg->timeouts.connect_ms = 10000;
	cfg->timeouts.first_byte_ms = 120000;
	cfg->timeouts.idle_ms = 90000;
	cfg->timeouts.total_ms = 1800000;
	cfg->max_attempts = 5;
	cfg->retry_base_ms = 1000;
	cfg->retry_max_delay_ms = 30000;
	cfg->retry_total_ms = 180000;
	cfg->max_turns = 50;
	cfg->context_budget = -1;
	cfg->hooks_timeout_ms = 15000;
	cfg->hooks_block_on = CONFIG_BLOCK_NEVER;
	cfg->max_tool_calls = 200;

	if (load_layer(cfg, "/etc/forja/config.json", false, e) != 0)
		goto out;
	if (xdg && xdg[0] == '/')
		buf_printf(&p, "%s/forja/config.json", xdg);
	else if (home && *home)
		buf_printf(&p, "%s/.config/forja/config.json", home);
	if (p.len && load_layer(cfg, p.data, false, e) != 0)
		goto out;
	if (project_root) {
		buf_reset(&p);
		buf_printf(&p, "%s/.forja", project_root);
		struct stat st;
		/* while a command runs, the jail keeps .forja from being created
		 * with an empty file in its place: that is no .forja (jail.h) */
		bool placeholder = lstat(p.data, &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 0;
		buf_puts(&p, "/config.json");
		/* a trusted project's file is read like the user's own */
		bool trusted = !placeholder && access(p.data, F_OK) == 0 && trust_is_trusted(project_root);
		if (!placeholder && load_layer(cfg, p.data, !trusted, e) != 0)
			goto out;
	}
	rc = 0;
out:
	buf_release(&p);
	if (rc != 0)
		config_release(cfg);
	return rc;
}

void config_release(struct config *cfg)
{
	free(cfg->provider);
	free(cfg->model);
	free(cfg->sandbox);
	free(cfg->approvals);
	for (size_t i = 0; i < cfg->nmodels; i++)
		free(cfg->models[i].name);
	free(cfg->models);
	for (size_t i = 0; i < cfg->nproviders; i++) {
		struct config_provider *p = &cfg->providers[i];
		free(p->name);
		free(p->type);
		free(p->base_url);
		free(p->model);
		for (size_t k = 0; k < p->nheaders; k++)
			free(p->headers[k]);
		free(p->headers);
		free(p->api_key_env);
		free(p->api_key_file);
		free(p->file);
	}
	free(cfg->providers);
	free(cfg->ca_bundle);
	for (size_t i = 0; i < cfg->nfiles; i++)
		free(cfg->files[i]);
	free(cfg->files);
	for (size_t i = 0; i < cfg->nwarnings; i++)
		free(cfg->warnings[i]);
	free(cfg->warnings);
	memset(cfg, 0, sizeof *cfg);
}

const struct config_provider *config_find_provider(const struct config *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->nproviders; i++)
		if (strcmp(cfg->providers[i].name, name) == 0)
			return &cfg->providers[i];
	return NULL;
}

const struct config_model *config_find_model(const struct config *cfg, const char *model)
{
	for (size_t i = 0; model && i < cfg->nmodels; i++)
		if (strcmp(cfg->models[i].name, model) == 0)
			return &cfg->models[i];
	return NULL;
}

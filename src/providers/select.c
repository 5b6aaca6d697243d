/*
 * select.c — which provider, model and key a run uses.
 *
 * In order: the flags (--provider, --model, --base-url); the config's
 * default provider; the environment (OPENAI_API_KEY or OPENAI_BASE_URL,
 * then ANTHROPIC_API_KEY, then OLLAMA_HOST); and, with nothing at all,
 * a short probe of the usual local servers (Ollama, llama.cpp, LM Studio,
 * vLLM) — the first that answers is used, and the person is told.
 * A provider name is a built-in one (openai, anthropic, ollama, llamacpp,
 * lmstudio, vllm, openrouter) or one defined under "providers" in config.
 */
#include <cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "forja/config.h"
#include "forja/opt.h"
#include "internal.h"

struct builtin {
	const char *name;
	enum provider_kind kind;
	const char *base_url;
	const char *key_env;       /* NULL: no key needed */
	const char *base_env;      /* overrides base_url */
	const char *model;         /* NULL: ask the server */
	bool local;
};

static const struct builtin builtins[] = {
	{ "openai", PROVIDER_OPENAI, "https://api.openai.com/v1", "OPENAI_API_KEY",
	  "OPENAI_BASE_URL", "gpt-4.1-mini", false },
	{ "anthropic", PROVIDER_ANTHROPIC, "https://api.anthropic.com", "ANTHROPIC_API_KEY",
	  "ANTHROPIC_BASE_URL", "claude-sonnet-4-5", false },
	{ "openrouter", PROVIDER_OPENAI, "https://openrouter.ai/api/v1", "OPENROUTER_API_KEY",
	  NULL, NULL, false },
	{ "ollama", PROVIDER_OPENAI, "http://127.0.0.1:11434/v1", NULL, NULL, NULL, true },
	{ "llamacpp", PROVIDER_OPENAI, "http://127.0.0.1:8080/v1", NULL, NULL, NULL, true },
	{ "lmstudio", PROVIDER_OPENAI, "http://127.0.0.1:1234/v1", NULL, NULL, NULL, true },
	{ "vllm", PROVIDER_OPENAI, "http://127.0.0.1:8000/v1", NULL, NULL, NULL, true },
};

static const struct builtin *find_builtin(const char *name)
{
	if (strcmp(name, "llama.cpp") == 0)
		name = "llamacpp";
	for (size_t i = 0; i < sizeof builtins / sizeof *builtins; i++)
		if (strcmp(builtins[i].name, name) == 0)
			return &builtins[i];
	return NULL;
}

static char *strip_slashes(const char *url)
{
	size_t n = strlen(url);

	while (n > 0 && url[n - 1] == '/')
		n--;
	return xstrndup(url, n);
}

static const char *env(const char *name)
{
	const char *v = name ? getenv(name) : NULL;

	return v && *v ? v : NULL;
}

/* OLLAMA_HOST is "host:port", "http://host:port" or ":port". */
static char *ollama_base(const char *host)
{
	struct buf b = BUF_INIT;
	const char *scheme_end = strstr(host, "://");
	const char *hostpart = scheme_end ? scheme_end + 3 : host;
	size_t hlen = strcspn(hostpart, "/");

	if (scheme_end)
		buf_add(&b, host, (size_t)(scheme_end + 3 - host));
	else
		buf_puts(&b, "http://");
	/* "0.0.0.0" is where Ollama listens, not where to connect */
	if (hlen == 0 || hostpart[0] == ':')
		buf_puts(&b, "127.0.0.1");
	else if (strncmp(hostpart, "0.0.0.0", 7) == 0 && (hlen == 7 || hostpart[7] == ':')) {
		buf_puts(&b, "127.0.0.1");
		hostpart += 7;
		hlen -= 7;
	}
	buf_add(&b, hostpart, hlen);
	/* Ollama's own client assumes 11434 when no port is given */
	if (!memchr(hostpart, ':', hlen) || hostpart[hlen - 1] == ']')
		buf_puts(&b, ":11434");
	buf_puts(&b, hostpart + hlen);
	while (b.len && b.data[b.len - 1] == '/')
		buf_truncate(&b, b.len - 1);
	buf_puts(&b, "/v1");
	return buf_steal(&b);
}

/* A key file must be a regular file only its owner can read. */
static int read_key_file(const char *path, char **out, struct ferr *e)
{
	struct stat st;
	char buf[4096];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);

	if (fd < 0)
		return ferr_set(e, FERR_AUTH, "API key file %s: %s", path, strerror(errno));
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return ferr_set(e, FERR_AUTH, "API key file %s: not a regular file", path);
	}
	if (st.st_mode & 077) {
		close(fd);
		return ferr_set(e, FERR_AUTH,
				"API key file %s is readable by others (mode %03o); run: chmod 600 %s",
				path, (unsigned)(st.st_mode & 0777), path);
	}
	if (st.st_uid != getuid()) {
		close(fd);
		return ferr_set(e, FERR_AUTH, "API key file %s belongs to another user", path);
	}
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return ferr_set(e, FERR_AUTH, "API key file %s is empty", path);
	buf[n] = '\0';
	buf[strcspn(buf, "\r\n")] = '\0';
	*out = xstrdup(buf);
	memset(buf, 0, sizeof buf);
	return 0;
}

static void set_str(char **slot, const char *v)
{
	free(*slot);
	*slot = v ? xstrdup(v) : NULL;
}

static void apply_settings(struct provider_config *pc, const struct config *cfg)
{
	pc->timeouts = cfg->timeouts;
	pc->max_attempts = cfg->max_attempts;
	pc->retry_base_ms = cfg->retry_base_ms;
	pc->retry_max_delay_ms = cfg->retry_max_delay_ms;
	pc->retry_total_ms = cfg->retry_total_ms;
	set_str(&pc->ca_bundle, cfg->ca_bundle);
}

static int from_builtin(const struct builtin *b, struct provider_config *pc, struct ferr *e)
{
	const char *base = env(b->base_env);

	pc->kind = b->kind;
	set_str(&pc->name, b->name);
	if (strcmp(b->name, "ollama") == 0 && env("OLLAMA_HOST"))
		pc->base_url = ollama_base(env("OLLAMA_HOST"));
	else
		pc->base_url = strip_slashes(base ? base : b->base_url);
	if (b->key_env) {
		const char *key = env(b->key_env);
		if (key) {
			pc->api_key = xstrdup(key);
			pc->key_source = xstrdup(b->key_env);
		}
	}
	(void)e;
	return 0;
}

static int from_config(const struct config_provider *cp, struct provider_config *pc,
		       struct ferr *e)
{
	const struct builtin *b = cp->type ? NULL : find_builtin(cp->name);

	if (b && from_builtin(b, pc, e) != 0)
		return -1;
	set_str(&pc->name, cp->name);
	if (cp->type)
		pc->kind = strcmp(cp->type, "anthropic") == 0 ? PROVIDER_ANTHROPIC : PROVIDER_OPENAI;
	if (cp->base_url) {
		free(pc->base_url);
		pc->base_url = strip_slashes(cp->base_url);
	}
	if (!pc->base_url)
		return ferr_set(e, FERR_CONFIG, "%s: provider \"%s\" has no base_url", cp->file,
				cp->name);
	if (cp->max_tokens > 0)
		pc->max_tokens = cp->max_tokens;
	for (size_t i = 0; i < cp->nheaders; i++) {
		pc->headers = xrealloc(pc->headers, (pc->nheaders + 1) * sizeof *pc->headers);
		pc->headers[pc->nheaders++] = xstrdup(cp->headers[i]);
	}
	if (cp->api_key_env) {
		const char *key = env(cp->api_key_env);
		free(pc->api_key);
		pc->api_key = NULL;
		if (!key)
			return ferr_set(e, FERR_AUTH,
					"provider \"%s\" reads its API key from $%s, which is not set",
					cp->name, cp->api_key_env);
		pc->api_key = xstrdup(key);
		set_str(&pc->key_source, cp->api_key_env);
	} else if (cp->api_key_file) {
		free(pc->api_key);
		pc->api_key = NULL;
		if (read_key_file(cp->api_key_file, &pc->api_key, e) != 0)
			return -1;
		set_str(&pc->key_source, cp->api_key_file);
	}
	return 0;
}

static int unknown_provider(const struct config *cfg, const char *name, struct ferr *e)
{
	const char *names[64];
	size_t n = 0;

	for (size_t i = 0; i < sizeof builtins / sizeof *builtins; i++)
		names[n++] = builtins[i].name;
	for (size_t i = 0; i < cfg->nproviders && n < 64; i++)
		names[n++] = cfg->providers[i].name;
	const char *hint = opt_suggest(name, names, n);
	return ferr_set(e, FERR_USAGE,
			"unknown provider '%s'%s%s%s; built in: openai, anthropic, ollama, llamacpp, "
			"lmstudio, vllm, openrouter, or one under \"providers\" in config",
			name, hint ? "; did you mean '" : "", hint ? hint : "", hint ? "'?" : "");
}

/* The first model a local server lists, when none was asked for. */
static int ask_model(uv_loop_t *loop, struct http_client *http, struct provider_config *pc,
		     struct ferr *e)
{
	struct buf body = BUF_INIT, url = BUF_INIT;
	long status = 0;
	int rc = -1;

	buf_printf(&url, "%s%s", pc->base_url,
		   pc->kind == PROVIDER_ANTHROPIC ? "/v1/models" : "/models");
	if (provider_fetch(loop, http, pc, url.data, 2000, &status, &body, e) != 0)
		goto out;
	if (status != 200) {
		ferr_set(e, FERR_CONFIG, "%s at %s answered %ld to the model list; pass --model",
			 pc->name, pc->base_url, status);
		goto out;
	}
	cJSON *root = cJSON_ParseWithLength(body.data, body.len);
	const cJSON *first = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(root, "data"), 0);
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(first, "id");
	if (cJSON_IsString(id)) {
		pc->model = xstrdup(id->valuestring);
		rc = 0;
	} else {
		ferr_set(e, FERR_CONFIG, "%s at %s lists no model; pull one or pass --model",
			 pc->name, pc->base_url);
	}
	cJSON_Delete(root);
out:
	buf_release(&body);
	buf_release(&url);
	return rc;
}

static bool probe(uv_loop_t *loop, struct http_client *http, const struct builtin *b,
		  const struct config *cfg, struct provider_config *pc)
{
	struct provider_config tmp;
	struct ferr e = FERR_INIT;
	struct buf url = BUF_INIT;
	long status = 0;
	struct buf body = BUF_INIT;
	bool found;

	memset(&tmp, 0, sizeof tmp);
	from_builtin(b, &tmp, &e);
	apply_settings(&tmp, cfg);
	buf_printf(&url, "%s/models", tmp.base_url);
	found = provider_fetch(loop, http, &tmp, url.data, 400, &status, &body, &e) == 0 &&
		status == 200;
	buf_release(&url);
	buf_release(&body);
	if (found) {
		*pc = tmp;
		return true;
	}
	provider_config_release(&tmp);
	return false;
}

int provider_resolve(uv_loop_t *loop, struct http_client *http, const struct config *cfg,
		     const struct provider_choice *flags, struct provider_config *pc,
		     struct ferr *e)
{
	const char *name = flags->provider ? flags->provider : cfg->provider;
	const char *origin = flags->provider ? "--provider" : cfg->provider ? "config" : NULL;
	bool local = false;

	const struct config_provider *cp = NULL;
	const struct builtin *b = NULL;

	memset(pc, 0, sizeof *pc);
	if (name) {
		cp = config_find_provider(cfg, name);
		b = find_builtin(name);
		if (cp) {
			if (from_config(cp, pc, e) != 0)
				goto fail;
		} else if (b) {
			from_builtin(b, pc, e);
		} else {
			unknown_provider(cfg, name, e);
			goto fail;
		}
		local = b && b->local;
	} else if (env("OPENAI_API_KEY") || env("OPENAI_BASE_URL")) {
		b = find_builtin("openai");
		from_builtin(b, pc, e);
		origin = env("OPENAI_API_KEY") ? "$OPENAI_API_KEY" : "$OPENAI_BASE_URL";
	} else if (env("ANTHROPIC_API_KEY")) {
		b = find_builtin("anthropic");
		from_builtin(b, pc, e);
		origin = "$ANTHROPIC_API_KEY";
	} else if (env("OLLAMA_HOST")) {
		b = find_builtin("ollama");
		from_builtin(b, pc, e);
		origin = "$OLLAMA_HOST";
		local = true;
	}
	if (flags->base_url) {
		free(pc->base_url);
		pc->base_url = strip_slashes(flags->base_url);
		if (!pc->name) {
			pc->name = xstrdup("openai");
			pc->kind = PROVIDER_OPENAI;
			origin = "--base-url";
		}
	}
	if (!pc->name) {
		for (size_t i = 0; i < sizeof builtins / sizeof *builtins; i++) {
			if (!builtins[i].local || !probe(loop, http, &builtins[i], cfg, pc))
				continue;
			struct buf o = BUF_INIT;
			buf_printf(&o, "found on %s", pc->base_url);
			pc->origin = buf_steal(&o);
			local = true;
			break;
		}
		if (!pc->name) {
			ferr_set(e, FERR_CONFIG,
				 "no LLM provider is configured and none answers on this machine.\n"
				 "  Hosted: export OPENAI_API_KEY=… or ANTHROPIC_API_KEY=… (or pass --provider).\n"
				 "  Local: start Ollama (ollama serve) or llama.cpp's llama-server, or pass --base-url URL.");
			goto fail;
		}
	}
	/* the model: --model, the provider's own in config, the config's
	 * default, the built-in default, or (local servers) the first listed */
	if (flags->model)
		pc->model = xstrdup(flags->model);
	else if (cp && cp->model)
		pc->model = xstrdup(cp->model);
	else if (cfg->model)
		pc->model = xstrdup(cfg->model);
	/* an OpenAI-compatible server elsewhere has its own models; Anthropic's
	 * protocol means Anthropic's models, wherever it is served */
	else if (b && b->model &&
		 (b->kind == PROVIDER_ANTHROPIC || (!flags->base_url && !env(b->base_env))))
		pc->model = xstrdup(b->model);
	if (!pc->origin)
		pc->origin = xstrdup(origin ? origin : "default");
	apply_settings(pc, cfg);
	if (!pc->model && !flags->no_model) {
		if (local || flags->base_url || env("OPENAI_BASE_URL")) {
			if (ask_model(loop, http, pc, e) != 0)
				goto fail;
		} else {
			ferr_set(e, FERR_CONFIG, "no model chosen for %s; pass --model or set \"model\" in config",
				 pc->name);
			goto fail;
		}
	}
	if (!local && !pc->api_key && strncmp(pc->base_url, "https://", 8) == 0 &&
	    !flags->base_url && !env("OPENAI_BASE_URL") && !env("ANTHROPIC_BASE_URL")) {
		const struct builtin *kb = find_builtin(pc->name);
		if (kb && kb->key_env)
			ferr_set(e, FERR_AUTH, "no API key for %s: set $%s", pc->name, kb->key_env);
		else
			ferr_set(e, FERR_AUTH,
				 "no API key for provider '%s': give it \"api_key_env\" or \"api_key_file\" in config",
				 pc->name);
		goto fail;
	}
	return 0;
fail:
	provider_config_release(pc);
	return -1;
}

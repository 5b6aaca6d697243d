/*
 * models.c — `forja models`: the models the chosen provider offers
 * (GET /models, Anthropic's /v1/models, Ollama's /api/tags).
 */
#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "forja/bootstrap.h"
#include "forja/cmd.h"
#include "forja/config.h"
#include "forja/http.h"
#include "forja/provider.h"

const struct opt_spec cmd_models_options[] = { { 0 } };

/* Ollama's own list sits beside its OpenAI-compatible /v1. */
static bool ollama_tags_url(const struct provider_config *pc, struct buf *url)
{
	size_t n = strlen(pc->base_url);

	if (strcmp(pc->name, "ollama") != 0 || n < 3 || strcmp(pc->base_url + n - 3, "/v1") != 0)
		return false;
	buf_add(url, pc->base_url, n - 3);
	buf_puts(url, "/api/tags");
	return true;
}

int cmd_models(struct app *app, int argc, char **argv)
{
	const struct cmd *self = cmd_find("models");
	struct ferr e = FERR_INIT;
	struct config cfg;
	struct provider_config pc;
	struct provider_choice choice;
	struct buf url = BUF_INIT, body = BUF_INIT;
	uv_loop_t loop;
	struct http_client *http = NULL;
	bool cfg_open = false, pc_open = false, tags;
	long status = 0;
	int rc = EXIT_OK;
	cJSON *root = NULL;

	if ((rc = cmd_parse_no_operands(self, app, argc, argv)) >= 0)
		return rc;
	rc = EXIT_OK;
	/* after parsing: --provider and friends may follow the command name */
	choice = (struct provider_choice){ app->provider, app->model, app->base_url, true };
	uv_loop_init(&loop);
	char *root_dir = bootstrap_project_root(app->cwd);
	int crc = config_load(root_dir, &cfg, &e);
	free(root_dir);
	if (crc != 0)
		goto fail;
	cfg_open = true;
	if (http_client_new(&loop, &http, &e) != 0 ||
	    provider_resolve(&loop, http, &cfg, &choice, &pc, &e) != 0)
		goto fail;
	pc_open = true;
	tags = ollama_tags_url(&pc, &url);
	if (!tags)
		buf_printf(&url, "%s%s", pc.base_url,
			   pc.kind == PROVIDER_ANTHROPIC ? "/v1/models" : "/models");
	if (provider_fetch(&loop, http, &pc, url.data, pc.timeouts.connect_ms, &status, &body,
			   &e) != 0)
		goto fail;
	if (status != 200) {
		bool retryable;
		provider_classify_status(&pc, status, body.data, body.len, &e, &retryable);
		goto fail;
	}
	root = cJSON_ParseWithLength(body.data, body.len);
	const cJSON *list = cJSON_GetObjectItemCaseSensitive(root, tags ? "models" : "data"), *m;
	if (!cJSON_IsArray(list)) {
		ferr_set(&e, FERR_PROVIDER, "%s: the model list is not what %s sends", url.data,
			 tags ? "Ollama" : provider_kind_name(pc.kind));
		goto fail;
	}
	if (app->json) {
		cJSON *out = cJSON_CreateObject(), *arr;
		cJSON_AddStringToObject(out, "provider", pc.name);
		cJSON_AddStringToObject(out, "base_url", pc.base_url);
		arr = cJSON_AddArrayToObject(out, "models");
		cJSON_ArrayForEach(m, list) {
			const cJSON *idv = cJSON_GetObjectItemCaseSensitive(m, tags ? "name" : "id");
			if (cJSON_IsString(idv))
				cJSON_AddItemToArray(arr, cJSON_CreateString(idv->valuestring));
		}
		char *text = cJSON_PrintUnformatted(out);
		printf("%s\n", text ? text : "{}");
		free(text);
		cJSON_Delete(out);
	} else {
		cJSON_ArrayForEach(m, list) {
			const cJSON *idv = cJSON_GetObjectItemCaseSensitive(m, tags ? "name" : "id");
			if (cJSON_IsString(idv))
				printf("%s\n", idv->valuestring);
		}
	}
	goto out;
fail:
	app_print_error(app, &e);
	rc = ferr_exit_code(e.cls);
out:
	cJSON_Delete(root);
	if (http)
		http_client_free(http);
	uv_run(&loop, UV_RUN_DEFAULT);
	uv_loop_close(&loop);
	if (pc_open)
		provider_config_release(&pc);
	if (cfg_open)
		config_release(&cfg);
	buf_release(&url);
	buf_release(&body);
	return rc;
}

/* libFuzzer target: jsonc must reject or accept any bytes without reading
 * out of bounds; a rejection is a located FERR_CONFIG message, and in an
 * accepted document every item can be located, has a path, and (when the
 * path has no quoted keys) is found again by that path.  `make fuzz`, then
 * build-fuzz/fuzz_jsonc tests/fuzz/seeds/fuzz_jsonc */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "forja/jsonc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_items(const struct jsonc_doc *doc, const cJSON *item)
{
	static const char *const known[] = { "model", "shell", "providers", "timeout_ms" };
	struct ferr e = FERR_INIT;
	struct buf path = BUF_INIT;
	const char *str;
	long long v;
	double d;
	bool b;
	int line = 0, col = 0;

	if (jsonc_locate(doc, item, &line, &col) < 0 || line < 1 || col < 1)
		abort();
	if (jsonc_path_of(doc, item, &path) < 0)
		abort();
	if (!strchr(buf_cstr(&path), '"') && jsonc_find(doc, buf_cstr(&path)) != item)
		abort();
	buf_release(&path);
	/* each check either passes or gives a message */
	for (int i = 0; i < 5; i++) {
		int rc;
		ferr_clear(&e);
		rc = i == 0 ? jsonc_as_string(doc, item, &str, &e)
		   : i == 1 ? jsonc_as_int(doc, item, -5, 1000000, &v, &e)
		   : i == 2 ? jsonc_as_double(doc, item, 0, 2, &d, &e)
		   : i == 3 ? jsonc_as_bool(doc, item, &b, &e)
		   : jsonc_check_keys(doc, item, known, 4, &e);
		if (rc < 0 && (e.cls != FERR_CONFIG || strncmp(e.msg, "fuzz.json:", 10) != 0))
			abort();
	}
	for (const cJSON *c = item->child; c; c = c->next)
		check_items(doc, c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct jsonc_doc *doc = NULL;
	struct ferr e = FERR_INIT;

	if (jsonc_parse("fuzz.json", (const char *)data, size, &doc, &e) == 0) {
		check_items(doc, jsonc_root(doc));
		jsonc_free(doc);
	} else if (doc || e.cls != FERR_CONFIG || strncmp(e.msg, "fuzz.json:", 10) != 0) {
		abort();
	}
	return 0;
}

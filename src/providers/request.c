/*
 * request.c — what both request builders need to turn a chat_request into
 * JSON the servers accept: strings that are always valid UTF-8 (a tool
 * result can be any bytes a file held, and one invalid byte makes the whole
 * body unparsable for the server), JSON texts from the model or a contract
 * read back as objects, and the final print.
 */
#include <cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "forja/utf8.h"
#include "internal.h"

/* Invalid bytes become U+FFFD; everything else is kept as it is. */
static void valid_utf8(struct buf *out, const char *s, size_t len)
{
	for (size_t i = 0; i < len;) {
		size_t n = utf8_seq_len((const unsigned char *)s + i, len - i);
		if (n) {
			buf_add(out, s + i, n);
			i += n;
		} else {
			buf_puts(out, "\xef\xbf\xbd");
			i++;
		}
	}
}

cJSON *request_string(const char *s)
{
	struct buf clean = BUF_INIT;
	cJSON *item;

	if (!s)
		s = "";
	if (utf8_is_valid(s, strlen(s)))
		return cJSON_CreateString(s);
	valid_utf8(&clean, s, strlen(s));
	item = cJSON_CreateString(buf_cstr(&clean));
	buf_release(&clean);
	return item;
}

void request_add_string(cJSON *obj, const char *key, const char *s)
{
	cJSON_AddItemToObject(obj, key, request_string(s));
}

cJSON *request_object(const char *text)
{
	struct buf clean = BUF_INIT;
	cJSON *v;

	if (!text)
		return NULL;
	if (!utf8_is_valid(text, strlen(text))) {
		valid_utf8(&clean, text, strlen(text));
		text = buf_cstr(&clean);
	}
	/* the whole text must be the object: "{} trailing" is not one */
	v = cJSON_ParseWithOpts(text, NULL, 1);
	buf_release(&clean);
	if (cJSON_IsObject(v))
		return v;
	cJSON_Delete(v);
	return NULL;
}

cJSON *request_schema(const char *text)
{
	cJSON *v = request_object(text);

	if (!v) {
		v = cJSON_CreateObject();
		cJSON_AddStringToObject(v, "type", "object");
	}
	return v;
}

void request_print(cJSON *root, struct buf *body)
{
	char *text = cJSON_PrintUnformatted(root);

	buf_puts(body, text ? text : "{}");
	free(text);
	cJSON_Delete(root);
}

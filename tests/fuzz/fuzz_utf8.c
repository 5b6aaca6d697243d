/* libFuzzer target: quoting and sanitising any bytes gives valid UTF-8
 * with no control characters, and the quoted form of a path is the path
 * itself exactly when nothing needed escaping. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "forja/utf8.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *q = utf8_path_dup((const char *)data, size);
	char *t = utf8_text_dup((const char *)data, size);

	if (!utf8_is_valid(q, strlen(q)) || !utf8_is_valid(t, strlen(t)))
		abort();
	for (const unsigned char *p = (const unsigned char *)q; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			abort();
	if (q[0] != '"' && (strlen(q) != size || memcmp(q, data, size) != 0))
		abort();
	free(q);
	free(t);
	return 0;
}

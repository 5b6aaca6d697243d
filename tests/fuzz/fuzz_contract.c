/* libFuzzer target: a contract file of any bytes is parsed and checked,
 * and when it loads, arguments (the rest of the input after a NUL) are
 * validated against it and its argv expanded — never a crash or a leak. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "forja/contract.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, 0, size);
	size_t clen = nul ? (size_t)(nul - data) : size;
	struct contract c;
	struct buf problems = BUF_INIT;

	memset(&c, 0, sizeof c);
	if (contract_parse("fuzz.json", (const char *)data, clen, &c, &problems) == 0 && nul) {
		cJSON *args = NULL;
		struct buf p2 = BUF_INIT;
		const char *a = (const char *)nul + 1;
		size_t alen = size - clen - 1;
		if (contract_validate_args(&c, a, alen, &args, &p2) == 0 && c.argv) {
			char **argv = NULL;
			size_t argc = 0;
			struct ferr e = FERR_INIT;
			if (contract_expand_argv(&c, args, &argv, &argc, &e) == 0)
				contract_argv_free(argv, argc);
		}
		cJSON_Delete(args);
		buf_release(&p2);
	}
	contract_release(&c);
	buf_release(&problems);
	return 0;
}

/*
 * trust.c — the trusted-projects lookup (see include/forja/trust.h).
 */
#include "forja/trust.h"

#include <stdlib.h>

#include "forja/store.h"

bool trust_is_trusted(const char *root)
{
	struct store *st = NULL;
	struct ferr e = FERR_INIT;
	const char *db = getenv("FORJA_DB");
	bool trusted = false;

	if (!root)
		return false;
	if (store_open(db && *db ? db : NULL, &st, &e) == 0 &&
	    store_trust_get(st, root, &trusted, &e) != 0)
		trusted = false;
	store_close(st);
	return trusted;
}

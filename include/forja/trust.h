/*
 * trust — whether the user trusts a project.  A project's own files come
 * with the repository, which may come from anyone: until its root is
 * trusted (`forja trust`, recorded in the state database), its
 * .forja/config.json may only tighten settings and its .forja/contracts
 * are not loaded.  Anything that cannot be read counts as not trusted.
 */
#ifndef FORJA_TRUST_H
#define FORJA_TRUST_H

#include <stdbool.h>

/* Is root (a project's resolved root) trusted?  Opens the state database
 * ($FORJA_DB or the default); false on any error.  Blocks briefly. */
bool trust_is_trusted(const char *root);

#endif

/*
 * gitlib — libgit2, loaded on first use.
 *
 * Linking libgit2 costs every forja process about 3 ms before main (its
 * dependency tree: libssh2, OpenSSL's libcrypto, Kerberos, mbedTLS, …),
 * even `forja --version` and a cached `forja bootstrap` that never touch
 * it.  So on systems where the build finds libgit2's SONAME, forja does
 * not link it: src/gitlib.c defines each libgit2 function forja calls as a
 * small wrapper that calls through a pointer resolved by dlopen/dlsym the
 * first time.  Elsewhere (no SONAME, e.g. macOS) forja links libgit2 as
 * usual and these calls are no-ops.  Packages must then depend on libgit2
 * explicitly: shlib scanning cannot see a dlopen.
 *
 * Call gitlib_load() before the first libgit2 call of a command, to turn a
 * missing library into an error for the person; a wrapper reached without
 * it aborts with the same message.  Main thread only.
 */
#ifndef FORJA_GITLIB_H
#define FORJA_GITLIB_H

#include "forja/ferr.h"

/* Load libgit2 and resolve every function forja uses.  Returns 0, or -1
 * with FERR_IO naming the library and what the loader said. */
int gitlib_load(struct ferr *e);

#endif

/*
 * curllib — libcurl, loaded on first use.
 *
 * Linking libcurl costs every forja process about 4 ms before main (its
 * dependency tree: OpenSSL, nghttp2, GnuTLS via librtmp, libssh2, LDAP,
 * Kerberos, brotli, zstd, psl, …; see shared/research/floors.md), even
 * `forja --version` or `forja tool` that never touch the network.  So
 * where the build finds libcurl's SONAME (FORJA_CURL_SONAME), forja does
 * not link it: src/curllib.c defines each libcurl function forja calls as
 * a small wrapper that calls through a pointer resolved by dlopen/dlsym
 * the first time.  Elsewhere (no SONAME, e.g. macOS) forja links -lcurl
 * as usual.  Packages must then depend on libcurl explicitly: shlib
 * scanning cannot see a dlopen.
 *
 * Call curllib_load() before the first libcurl call (http_client_new does):
 * it turns a missing library into an error for the person, and runs
 * curl_global_init() once in both builds.  A wrapper reached without it
 * aborts with the same message.  Main thread only.
 */
#ifndef FORJA_CURLLIB_H
#define FORJA_CURLLIB_H

#include "forja/ferr.h"

/* Load libcurl (when lazily linked), resolve every function forja uses and
 * initialise it once.  Returns 0, or -1 with FERR_IO naming the library
 * and what the loader said.  Later calls return the first call's result. */
int curllib_load(struct ferr *e);

#endif

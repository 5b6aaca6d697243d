/*
 * curllib.c — libcurl loaded on first use (see include/forja/curllib.h):
 * a table of the functions forja calls, resolved by dlsym, and one
 * wrapper per function with libcurl's own prototype (the compiler checks
 * each against curl.h).  To call another libcurl function, add it to the
 * struct, the table and the wrappers.
 *
 * CURL_DISABLE_TYPECHECK: curl.h turns curl_easy_setopt and friends into
 * type-checking macros under gcc -O; here they must stay plain
 * declarations so that this file can define them.  Callers elsewhere keep
 * the checks.
 */
#define CURL_DISABLE_TYPECHECK
#include "forja/curllib.h"

#include <curl/curl.h>

#ifndef FORJA_CURL_SONAME

int curllib_load(struct ferr *e)
{
	static int initialised;  /* 0 not tried, 1 ok, -1 failed */

	if (initialised == 0)
		initialised = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 1 : -1;
	if (initialised < 0)
		return ferr_set(e, FERR_IO, "cannot initialise libcurl");
	return 0;
}

#else

#include <dlfcn.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct curl_api {
	void (*curl_easy_cleanup)(CURL *curl);
	CURLcode (*curl_easy_getinfo)(CURL *curl, CURLINFO info, ...);
	CURL * (*curl_easy_init)(void);
	CURLcode (*curl_easy_setopt)(CURL *curl, CURLoption option, ...);
	const char * (*curl_easy_strerror)(CURLcode code);
	CURLcode (*curl_global_init)(long flags);
	CURLMcode (*curl_multi_add_handle)(CURLM *multi_handle, CURL *curl_handle);
	CURLMcode (*curl_multi_assign)(CURLM *multi_handle, curl_socket_t sockfd, void *sockp);
	CURLMcode (*curl_multi_cleanup)(CURLM *multi_handle);
	CURLMsg * (*curl_multi_info_read)(CURLM *multi_handle, int *msgs_in_queue);
	CURLM * (*curl_multi_init)(void);
	CURLMcode (*curl_multi_remove_handle)(CURLM *multi_handle, CURL *curl_handle);
	CURLMcode (*curl_multi_setopt)(CURLM *multi_handle, CURLMoption option, ...);
	CURLMcode (*curl_multi_socket_action)(CURLM *multi_handle, curl_socket_t s, int ev_bitmask, int *running_handles);
	const char * (*curl_multi_strerror)(CURLMcode code);
	struct curl_slist * (*curl_slist_append)(struct curl_slist *list, const char *data);
	void (*curl_slist_free_all)(struct curl_slist *list);
};

static const struct {
	const char *name;
	size_t offset;
} curl_symbols[] = {
	{ "curl_easy_cleanup", offsetof(struct curl_api, curl_easy_cleanup) },
	{ "curl_easy_getinfo", offsetof(struct curl_api, curl_easy_getinfo) },
	{ "curl_easy_init", offsetof(struct curl_api, curl_easy_init) },
	{ "curl_easy_setopt", offsetof(struct curl_api, curl_easy_setopt) },
	{ "curl_easy_strerror", offsetof(struct curl_api, curl_easy_strerror) },
	{ "curl_global_init", offsetof(struct curl_api, curl_global_init) },
	{ "curl_multi_add_handle", offsetof(struct curl_api, curl_multi_add_handle) },
	{ "curl_multi_assign", offsetof(struct curl_api, curl_multi_assign) },
	{ "curl_multi_cleanup", offsetof(struct curl_api, curl_multi_cleanup) },
	{ "curl_multi_info_read", offsetof(struct curl_api, curl_multi_info_read) },
	{ "curl_multi_init", offsetof(struct curl_api, curl_multi_init) },
	{ "curl_multi_remove_handle", offsetof(struct curl_api, curl_multi_remove_handle) },
	{ "curl_multi_setopt", offsetof(struct curl_api, curl_multi_setopt) },
	{ "curl_multi_socket_action", offsetof(struct curl_api, curl_multi_socket_action) },
	{ "curl_multi_strerror", offsetof(struct curl_api, curl_multi_strerror) },
	{ "curl_slist_append", offsetof(struct curl_api, curl_slist_append) },
	{ "curl_slist_free_all", offsetof(struct curl_api, curl_slist_free_all) },
};

static struct curl_api api;
static int loaded;  /* 0 not tried, 1 ok, -1 failed */
static char load_error[512];

int curllib_load(struct ferr *e)
{
	void *lib;

	if (loaded == 0) {
		loaded = -1;
		lib = dlopen(FORJA_CURL_SONAME, RTLD_NOW | RTLD_LOCAL);
		if (!lib) {
			snprintf(load_error, sizeof load_error, "cannot load %s: %s",
				 FORJA_CURL_SONAME, dlerror());
		} else {
			size_t i, n = sizeof curl_symbols / sizeof *curl_symbols;
			for (i = 0; i < n; i++) {
				void *sym = dlsym(lib, curl_symbols[i].name);
				if (!sym) {
					snprintf(load_error, sizeof load_error,
						 "%s has no %s: %s", FORJA_CURL_SONAME,
						 curl_symbols[i].name, dlerror());
					break;
				}
				/* POSIX guarantees a data pointer from dlsym can hold
				 * a function's address */
				memcpy((char *)&api + curl_symbols[i].offset, &sym, sizeof sym);
			}
			if (i == n && api.curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
				snprintf(load_error, sizeof load_error,
					 "cannot initialise %s", FORJA_CURL_SONAME);
			else if (i == n)
				loaded = 1;
		}
	}
	if (loaded < 0)
		return ferr_set(e, FERR_IO, "%s", load_error);
	return 0;
}

static const struct curl_api *curl_api(void)
{
	struct ferr e = FERR_INIT;

	if (loaded != 1 && curllib_load(&e) != 0) {
		fprintf(stderr, "forja: %s\n", e.msg);
		abort();
	}
	return &api;
}

/*
 * The three variadic calls take exactly one argument after the option,
 * whose type the option's number range decides (curl.h, CURLOPTTYPE_*:
 * long below 10000, object pointer below 20000, function pointer below
 * 30000, curl_off_t below 40000, struct curl_blob pointer above).  A
 * va_list cannot be forwarded to a `...` function, so each wrapper reads
 * the argument with its real type and passes it on.  Function pointers
 * travel as one generic function pointer type: libcurl reads them back as
 * their specific type, which has the same representation.
 */
typedef void (*curllib_function)(void);

CURLcode curl_easy_setopt(CURL *curl, CURLoption option, ...)
{
	CURLcode rc;
	va_list ap;

	va_start(ap, option);
	if (option < CURLOPTTYPE_OBJECTPOINT)
		rc = curl_api()->curl_easy_setopt(curl, option, va_arg(ap, long));
	else if (option < CURLOPTTYPE_FUNCTIONPOINT)
		rc = curl_api()->curl_easy_setopt(curl, option, va_arg(ap, void *));
	else if (option < CURLOPTTYPE_OFF_T)
		rc = curl_api()->curl_easy_setopt(curl, option, va_arg(ap, curllib_function));
#ifdef CURLOPTTYPE_BLOB
	else if (option >= CURLOPTTYPE_BLOB)
		rc = curl_api()->curl_easy_setopt(curl, option, va_arg(ap, void *));
#endif
	else
		rc = curl_api()->curl_easy_setopt(curl, option, va_arg(ap, curl_off_t));
	va_end(ap);
	return rc;
}

CURLMcode curl_multi_setopt(CURLM *multi_handle, CURLMoption option, ...)
{
	CURLMcode rc;
	va_list ap;

	va_start(ap, option);
	if (option < CURLOPTTYPE_OBJECTPOINT)
		rc = curl_api()->curl_multi_setopt(multi_handle, option, va_arg(ap, long));
	else if (option < CURLOPTTYPE_FUNCTIONPOINT)
		rc = curl_api()->curl_multi_setopt(multi_handle, option, va_arg(ap, void *));
	else if (option < CURLOPTTYPE_OFF_T)
		rc = curl_api()->curl_multi_setopt(multi_handle, option, va_arg(ap, curllib_function));
	else
		rc = curl_api()->curl_multi_setopt(multi_handle, option, va_arg(ap, curl_off_t));
	va_end(ap);
	return rc;
}

/* Every CURLINFO takes a pointer to where the answer goes. */
CURLcode curl_easy_getinfo(CURL *curl, CURLINFO info, ...)
{
	CURLcode rc;
	va_list ap;

	va_start(ap, info);
	rc = curl_api()->curl_easy_getinfo(curl, info, va_arg(ap, void *));
	va_end(ap);
	return rc;
}

void curl_easy_cleanup(CURL *curl)
{
	curl_api()->curl_easy_cleanup(curl);
}

CURL *curl_easy_init(void)
{
	return curl_api()->curl_easy_init();
}

const char *curl_easy_strerror(CURLcode code)
{
	return curl_api()->curl_easy_strerror(code);
}

CURLcode curl_global_init(long flags)
{
	return curl_api()->curl_global_init(flags);
}

CURLMcode curl_multi_add_handle(CURLM *multi_handle, CURL *curl_handle)
{
	return curl_api()->curl_multi_add_handle(multi_handle, curl_handle);
}

CURLMcode curl_multi_assign(CURLM *multi_handle, curl_socket_t sockfd, void *sockp)
{
	return curl_api()->curl_multi_assign(multi_handle, sockfd, sockp);
}

CURLMcode curl_multi_cleanup(CURLM *multi_handle)
{
	return curl_api()->curl_multi_cleanup(multi_handle);
}

CURLMsg *curl_multi_info_read(CURLM *multi_handle, int *msgs_in_queue)
{
	return curl_api()->curl_multi_info_read(multi_handle, msgs_in_queue);
}

CURLM *curl_multi_init(void)
{
	return curl_api()->curl_multi_init();
}

CURLMcode curl_multi_remove_handle(CURLM *multi_handle, CURL *curl_handle)
{
	return curl_api()->curl_multi_remove_handle(multi_handle, curl_handle);
}

CURLMcode curl_multi_socket_action(CURLM *multi_handle, curl_socket_t s, int ev_bitmask, int *running_handles)
{
	return curl_api()->curl_multi_socket_action(multi_handle, s, ev_bitmask, running_handles);
}

const char *curl_multi_strerror(CURLMcode code)
{
	return curl_api()->curl_multi_strerror(code);
}

struct curl_slist *curl_slist_append(struct curl_slist *list, const char *data)
{
	return curl_api()->curl_slist_append(list, data);
}

void curl_slist_free_all(struct curl_slist *list)
{
	curl_api()->curl_slist_free_all(list);
}

#endif

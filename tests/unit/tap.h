/*
 * tap.h — the smallest TAP producer that serves: each unit test is a
 * program that prints "ok N - name" or "not ok N - name" with what it
 * expected and what it got, then a plan line.  tests/run.sh (or `prove`)
 * reads it.  Header-only so every test is one file.
 */
#ifndef FORJA_TAP_H
#define FORJA_TAP_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int tap_count, tap_failed;

static inline int tap_ok(int cond, const char *name)
{
	printf("%sok %d - %s\n", cond ? "" : "not ", ++tap_count, name);
	if (!cond)
		tap_failed++;
	return cond;
}

static inline int tap_is_str(const char *got, const char *want, const char *name)
{
	int cond = (got == NULL && want == NULL) ||
		   (got && want && strcmp(got, want) == 0);
	tap_ok(cond, name);
	if (!cond)
		printf("#   expected: \"%s\"\n#        got: \"%s\"\n", want ? want : "(null)",
		       got ? got : "(null)");
	return cond;
}

static inline int tap_is_int(long long got, long long want, const char *name)
{
	int cond = got == want;
	tap_ok(cond, name);
	if (!cond)
		printf("#   expected: %lld\n#        got: %lld\n", want, got);
	return cond;
}

static inline int tap_contains(const char *hay, const char *needle, const char *name)
{
	int cond = hay && needle && strstr(hay, needle) != NULL;
	tap_ok(cond, name);
	if (!cond)
		printf("#   expected to contain: \"%s\"\n#                   in: \"%s\"\n", needle,
		       hay ? hay : "(null)");
	return cond;
}

static inline int tap_done(void)
{
	printf("1..%d\n", tap_count);
	return tap_failed ? 1 : 0;
}

#endif

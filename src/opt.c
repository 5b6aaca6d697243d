/*
 * opt.c — table-driven option parsing with "did you mean" suggestions.
 */
#include "forja/opt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "forja/buf.h"

void opt_init(struct opt_state *st, int argc, char **argv, const char *context)
{
	memset(st, 0, sizeof *st);
	st->argc = argc;
	st->argv = argv;
	st->index = 1;
	st->context = context;
}

/* Optimal string alignment distance (Levenshtein plus adjacent swaps). */
static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	size_t *prev2, *prev, *cur, d;

	if (la > 64 || lb > 64)
		return (size_t)-1;
	prev2 = xcalloc(lb + 1, sizeof *prev2);
	prev = xcalloc(lb + 1, sizeof *prev);
	cur = xcalloc(lb + 1, sizeof *cur);
	for (size_t j = 0; j <= lb; j++)
		prev[j] = j;
	for (size_t i = 1; i <= la; i++) {
		cur[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t cost = a[i - 1] != b[j - 1];
			size_t best = prev[j] + 1;
			if (cur[j - 1] + 1 < best)
				best = cur[j - 1] + 1;
			if (prev[j - 1] + cost < best)
				best = prev[j - 1] + cost;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] &&
			    a[i - 2] == b[j - 1] && prev2[j - 2] + 1 < best)
				best = prev2[j - 2] + 1;
			cur[j] = best;
		}
		size_t *t = prev2;
		prev2 = prev;
		prev = cur;
		cur = t;
	}
	d = prev[lb];
	free(prev2);
	free(prev);
	free(cur);
	return d;
}

const char *opt_suggest(const char *word, const char *const *candidates, size_t n)
{
	const char *best = NULL;
	size_t best_d = (size_t)-1, len = strlen(word);
	size_t limit = len < 4 ? 1 : len < 8 ? 2 : 3;

	for (size_t i = 0; i < n; i++) {
		size_t d = edit_distance(word, candidates[i]);
		/* A prefix of a long name ("--vers") is a likely typo too. */
		if (d > limit && len >= 3 && strncmp(candidates[i], word, len) == 0)
			d = limit;
		if (d < best_d) {
			best_d = d;
			best = candidates[i];
		}
	}
	return best_d <= limit ? best : NULL;
}

static int unknown_option(struct opt_state *st, const struct opt_spec *specs,
			  const char *arg, struct ferr *e)
{
	const char *names[128];
	char shorts[128][3];
	char stem[128];
	size_t n = 0;
	const char *word = arg;
	const char *hint;
	bool is_long = arg[1] == '-';

	for (int t = 0; t < 2; t++) {
		const struct opt_spec *s = t ? st->common : specs;
		for (; s && s->id && n < 120; s++) {
			if (is_long && s->name) {
				names[n++] = s->name;
			} else if (!is_long && s->short_name) {
				shorts[n][0] = '-';
				shorts[n][1] = s->short_name;
				shorts[n][2] = '\0';
				names[n] = shorts[n];
				n++;
			}
		}
	}
	if (is_long) {
		const char *eq = strchr(arg + 2, '=');
		size_t l = eq ? (size_t)(eq - (arg + 2)) : strlen(arg + 2);
		if (l >= sizeof stem)
			l = sizeof stem - 1;
		memcpy(stem, arg + 2, l);
		stem[l] = '\0';
		word = stem;
	}
	/* any one letter is one edit from any other: no guess for those */
	hint = is_long ? opt_suggest(word, names, n) : NULL;
	/* "forja: unknown option" for global ones, "bootstrap: …" below */
	if (hint)
		return ferr_set(e, FERR_USAGE, "%s%sunknown option '%s'; did you mean '%s%s'?",
				st->context ? st->context : "", st->context ? ": " : "", arg,
				is_long ? "--" : "", hint);
	return ferr_set(e, FERR_USAGE, "%s%sunknown option '%s'; see 'forja%s%s --help'",
			st->context ? st->context : "", st->context ? ": " : "", arg,
			st->context ? " " : "", st->context ? st->context : "");
}

static const struct opt_spec *find_short(const struct opt_state *st,
					 const struct opt_spec *specs, char c)
{
	for (const struct opt_spec *s = specs; s && s->id; s++)
		if (s->short_name == c)
			return s;
	for (const struct opt_spec *s = st->common; s && s->id; s++)
		if (s->short_name == c)
			return s;
	return NULL;
}

static const struct opt_spec *find_long(const struct opt_state *st,
					const struct opt_spec *specs,
					const char *name, size_t len)
{
	for (int t = 0; t < 2; t++)
		for (const struct opt_spec *s = t ? st->common : specs; s && s->id; s++)
			if (s->name && strlen(s->name) == len &&
			    strncmp(s->name, name, len) == 0)
				return s;
	return NULL;
}

int opt_next(struct opt_state *st, const struct opt_spec *specs, struct ferr *e)
{
	const char *arg;

	st->value = NULL;
	if (st->short_pos) {
		arg = st->argv[st->index];
		char c = arg[st->short_pos];
		const struct opt_spec *s = find_short(st, specs, c);
		if (s) {
			if (s->arg == OPT_VALUE) {
				if (arg[st->short_pos + 1]) {
					st->value = arg + st->short_pos + 1;
					st->index++;
				} else if (st->index + 1 < st->argc) {
					st->value = st->argv[st->index + 1];
					st->index += 2;
				} else {
					return ferr_set(e, FERR_USAGE, "%s%soption '-%c' needs a value",
							st->context ? st->context : "",
							st->context ? ": " : "", c);
				}
				st->short_pos = 0;
			} else if (arg[++st->short_pos] == '\0') {
				st->short_pos = 0;
				st->index++;
			}
			return s->id;
		}
		char bad[3] = { '-', c, '\0' };
		st->short_pos = 0;
		return unknown_option(st, specs, bad, e);
	}
	if (st->index >= st->argc)
		return OPT_END;
	arg = st->argv[st->index];
	if (st->only_positionals || arg[0] != '-' || arg[1] == '\0') {
		if (st->stop_at_positional)
			return OPT_END;
		st->value = arg;
		st->index++;
		return OPT_POSITIONAL;
	}
	if (strcmp(arg, "--") == 0) {
		st->index++;
		st->only_positionals = true;
		if (st->stop_at_positional)
			return OPT_END;
		return opt_next(st, specs, e);
	}
	if (arg[1] != '-') {
		st->short_pos = 1;
		return opt_next(st, specs, e);
	}
	const char *name = arg + 2;
	const char *eq = strchr(name, '=');
	size_t len = eq ? (size_t)(eq - name) : strlen(name);
	const struct opt_spec *s = find_long(st, specs, name, len);
	if (s) {
		st->index++;
		if (s->arg == OPT_FLAG) {
			if (eq)
				return ferr_set(e, FERR_USAGE, "%s%soption '--%s' takes no value",
						st->context ? st->context : "",
						st->context ? ": " : "", s->name);
		} else if (eq) {
			st->value = eq + 1;
		} else if (st->index < st->argc) {
			st->value = st->argv[st->index++];
		} else {
			return ferr_set(e, FERR_USAGE, "%s%soption '--%s' needs a value (%s)",
					st->context ? st->context : "", st->context ? ": " : "",
					s->name, s->metavar ? s->metavar : "VALUE");
		}
		return s->id;
	}
	return unknown_option(st, specs, arg, e);
}

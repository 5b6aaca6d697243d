/*
 * diff.c — the unified diff forja shows for what a file tool changed (the
 * terminal, the JSONL stream, /diff).  It is for reading, not for patching:
 * lines are compared exactly; the common head and tail are trimmed and the
 * middle is aligned by a longest common subsequence when it is small
 * enough (at most DIFF_LCS_CELLS cells), else shown as replaced whole.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "forja/executor.h"

#define DIFF_LCS_CELLS ((size_t)4 * 1000 * 1000)

struct line {
	const char *s;
	size_t len;      /* without the newline */
	bool nl;         /* ended by '\n' */
};

static struct line *split(const char *t, size_t len, size_t *n)
{
	size_t cap = 16, k = 0;
	struct line *v = xmalloc(cap * sizeof *v);
	size_t i = 0;

	while (i < len) {
		const char *nl = memchr(t + i, '\n', len - i);
		size_t end = nl ? (size_t)(nl - t) : len;
		if (k == cap) {
			cap *= 2;
			v = xrealloc(v, cap * sizeof *v);
		}
		v[k].s = t + i;
		v[k].len = end - i;
		v[k].nl = nl != NULL;
		k++;
		i = nl ? end + 1 : len;
	}
	*n = k;
	return v;
}

static bool same(const struct line *a, const struct line *b)
{
	return a->len == b->len && a->nl == b->nl && memcmp(a->s, b->s, a->len) == 0;
}

/* One edit script op per line: ' ' kept, '-' removed, '+' added. */
struct op {
	char kind;
	size_t a, b;     /* line index in each side (the one that applies) */
};

static void push_op(struct op **ops, size_t *n, size_t *cap, char kind, size_t a, size_t b)
{
	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 64;
		*ops = xrealloc(*ops, *cap * sizeof **ops);
	}
	(*ops)[(*n)++] = (struct op){ kind, a, b };
}

static void middle(const struct line *A, size_t a0, size_t a1, const struct line *B, size_t b0,
		   size_t b1, struct op **ops, size_t *n, size_t *cap)
{
	size_t na = a1 - a0, nb = b1 - b0;

	if (na && nb && (na + 1) * (nb + 1) <= DIFF_LCS_CELLS) {
		/* L[i][j]: LCS length of A[a0+i..] and B[b0+j..] */
		uint32_t *L = xcalloc((na + 1) * (nb + 1), sizeof *L);
#define AT(i, j) L[(i) * (nb + 1) + (j)]
		for (size_t i = na; i-- > 0;)
			for (size_t j = nb; j-- > 0;)
				AT(i, j) = same(&A[a0 + i], &B[b0 + j])
						   ? AT(i + 1, j + 1) + 1
						   : (AT(i + 1, j) >= AT(i, j + 1) ? AT(i + 1, j) : AT(i, j + 1));
		size_t i = 0, j = 0;
		while (i < na || j < nb) {
			if (i < na && j < nb && same(&A[a0 + i], &B[b0 + j])) {
				push_op(ops, n, cap, ' ', a0 + i, b0 + j);
				i++, j++;
			} else if (j < nb && (i == na || AT(i, j + 1) >= AT(i + 1, j))) {
				push_op(ops, n, cap, '+', a0 + i, b0 + j);
				j++;
			} else {
				push_op(ops, n, cap, '-', a0 + i, b0 + j);
				i++;
			}
		}
#undef AT
		free(L);
		return;
	}
	for (size_t i = a0; i < a1; i++)
		push_op(ops, n, cap, '-', i, b0);
	for (size_t j = b0; j < b1; j++)
		push_op(ops, n, cap, '+', a1, j);
}

static void put_line(struct buf *out, char kind, const struct line *l, size_t *written,
		     size_t max_lines)
{
	if (*written >= max_lines) {
		(*written)++;
		return;
	}
	buf_putc(out, kind);
	buf_add(out, l->s, l->len);
	buf_putc(out, '\n');
	if (!l->nl)
		buf_puts(out, "\\ No newline at end of file\n");
	(*written)++;
}

void exec_diff(struct buf *out, const char *path, const char *before, size_t blen,
	       const char *after, size_t alen, int context, size_t max_lines)
{
	size_t na, nb, nops = 0, cap = 0, written = 0;
	struct op *ops = NULL;

	if (context < 0)
		context = 3;
	if (max_lines == 0)
		max_lines = SIZE_MAX;
	buf_printf(out, "--- %s%s\n+++ b/%s\n", blen || before ? "a/" : "", blen || before ? path : "/dev/null",
		   path);
	if (memchr(before ? before : "", '\0', blen) || memchr(after ? after : "", '\0', alen)) {
		buf_printf(out, "Binary content differs (%zu -> %zu bytes)\n", blen, alen);
		return;
	}
	struct line *A = split(before ? before : "", blen, &na);
	struct line *B = split(after ? after : "", alen, &nb);
	size_t p = 0, s = 0;
	while (p < na && p < nb && same(&A[p], &B[p]))
		p++;
	while (s < na - p && s < nb - p && same(&A[na - 1 - s], &B[nb - 1 - s]))
		s++;
	for (size_t i = 0; i < p; i++)
		push_op(&ops, &nops, &cap, ' ', i, i);
	middle(A, p, na - s, B, p, nb - s, &ops, &nops, &cap);
	for (size_t i = 0; i < s; i++)
		push_op(&ops, &nops, &cap, ' ', na - s + i, nb - s + i);

	/* hunks: runs of changes with `context` kept lines around them */
	size_t k = 0;
	while (k < nops) {
		while (k < nops && ops[k].kind == ' ')
			k++;
		if (k == nops)
			break;
		size_t start = k >= (size_t)context ? k - (size_t)context : 0;
		size_t end = k;
		/* extend while the next change is within 2*context kept lines */
		for (;;) {
			while (end < nops && ops[end].kind != ' ')
				end++;
			size_t kept = 0;
			while (end + kept < nops && ops[end + kept].kind == ' ')
				kept++;
			if (end + kept < nops && kept <= 2 * (size_t)context) {
				end += kept;
				continue;
			}
			end += kept < (size_t)context ? kept : (size_t)context;
			break;
		}
		size_t a_start = ops[start].a, b_start = ops[start].b, a_n = 0, b_n = 0;
		for (size_t i = start; i < end; i++) {
			if (ops[i].kind != '+')
				a_n++;
			if (ops[i].kind != '-')
				b_n++;
		}
		if (written < max_lines) {
			buf_printf(out, "@@ -%zu,%zu +%zu,%zu @@\n", a_n ? a_start + 1 : a_start, a_n,
				   b_n ? b_start + 1 : b_start, b_n);
			written++;
		}
		for (size_t i = start; i < end; i++) {
			if (ops[i].kind == '+')
				put_line(out, '+', &B[ops[i].b], &written, max_lines);
			else
				put_line(out, ops[i].kind, &A[ops[i].a], &written, max_lines);
		}
		k = end;
	}
	if (written > max_lines)
		buf_printf(out, "[… %zu more diff lines]\n", written - max_lines);
	free(ops);
	free(A);
	free(B);
}

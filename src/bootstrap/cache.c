/*
 * cache.c — answers `forja bootstrap` from the store when nothing it
 * depends on changed, and scans otherwise.
 *
 * One row per (repository root, current directory, budget) in the store's
 * cache table.  The row keeps the state key (branch, HEAD, upstream and its
 * id, index checksum, submodule states, format version), the fingerprint of
 * the stat data of every index entry, every directory the status walked,
 * untracked .gitignore files, git configs and excludes, and the files at
 * the root and the current directory (instruction files, README, project
 * files) — and both renderings.  A repeat recomputes the key and the
 * fingerprint (a parallel stat sweep, cheaper than a status) and compares.
 * A result whose stat data is younger than two seconds is not stored: a
 * file written again within the same timestamp tick would look unchanged.
 */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "forja/store.h"
#include "forja/utf8.h"

#define CACHE_NS "bootstrap"
#define CACHE_MAGIC "forja-bootstrap-cache 1\n"

static void put_field(struct buf *b, const void *data, size_t len)
{
	uint64_t n = len;

	buf_add(b, &n, sizeof n);
	buf_add(b, data, len);
}

static bool get_field(const struct buf *b, size_t *pos, const char **data, size_t *len)
{
	uint64_t n;

	if (b->len - *pos < sizeof n)
		return false;
	memcpy(&n, b->data + *pos, sizeof n);
	*pos += sizeof n;
	if (n > b->len - *pos)
		return false;
	*data = b->data + *pos;
	*len = (size_t)n;
	*pos += (size_t)n;
	return true;
}

struct cached {
	const char *state;
	size_t state_len;
	struct wt_fingerprint fp;
	struct wt_dirs dirs;
	const char *text, *json;
	size_t text_len, json_len;
};

static bool parse_row(const struct buf *row, struct cached *c)
{
	size_t pos = strlen(CACHE_MAGIC), len, dirs_len;
	const char *data, *dirs;

	memset(c, 0, sizeof *c);
	if (row->len < pos || memcmp(row->data, CACHE_MAGIC, pos) != 0)
		return false;
	if (!get_field(row, &pos, &c->state, &c->state_len) ||
	    !get_field(row, &pos, &data, &len) || len != 2 * sizeof(uint64_t) ||
	    !get_field(row, &pos, &dirs, &dirs_len) ||
	    !get_field(row, &pos, &c->text, &c->text_len) ||
	    !get_field(row, &pos, &c->json, &c->json_len))
		return false;
	memcpy(&c->fp.a, data, sizeof c->fp.a);
	memcpy(&c->fp.b, data + sizeof c->fp.a, sizeof c->fp.b);
	for (size_t i = 0; i < dirs_len;) {
		const char *end = memchr(dirs + i, '\0', dirs_len - i);
		size_t n = end ? (size_t)(end - (dirs + i)) : dirs_len - i;
		c->dirs.paths = xrealloc(c->dirs.paths, (c->dirs.count + 1) * sizeof *c->dirs.paths);
		c->dirs.paths[c->dirs.count++] = xstrndup(dirs + i, n);
		i += n + 1;
	}
	return true;
}

static void build_row(struct buf *row, const struct buf *state, const struct wt_fingerprint *fp,
		      const struct wt_dirs *dirs, const struct buf *text, const struct buf *json)
{
	struct buf d = BUF_INIT;
	uint64_t ab[2] = { fp->a, fp->b };

	for (size_t i = 0; i < dirs->count; i++)
		buf_add(&d, dirs->paths[i], strlen(dirs->paths[i]) + 1);
	buf_puts(row, CACHE_MAGIC);
	put_field(row, state->data, state->len);
	put_field(row, ab, sizeof ab);
	put_field(row, buf_cstr(&d), d.len);
	put_field(row, buf_cstr(text), text->len);
	put_field(row, buf_cstr(json), json->len);
	buf_release(&d);
}

static void warn(const struct bootstrap_opts *opts, const struct ferr *e)
{
	if (!opts->quiet)
		fprintf(stderr, "forja: warning: %s; the bootstrap is not cached\n", e->msg);
}

static void make_key(struct buf *key, const char *root, const char *cwd_rel, size_t budget)
{
	utf8_quote_path(key, root, strlen(root));
	buf_putc(key, '\n');
	utf8_quote_path(key, cwd_rel, strlen(cwd_rel));
	buf_printf(key, "\n%zu", budget);
}

static bool has_gitlinks(const struct idx *ix)
{
	for (size_t i = 0; i < ix->count; i++)
		if (bs_is_gitlink(ix->entries[i].mode))
			return true;
	return false;
}

/* The fast path: no libgit2 unless the index has submodules, whose state
 * only libgit2 can tell.  Returns true with the stored output in out. */
static bool cache_hit(const char *cwd, const struct bootstrap_opts *opts, bool json,
		      struct store *store, struct buf *out)
{
	struct repo_paths rp;
	struct buf key = BUF_INIT, row = BUF_INIT, state = BUF_INIT;
	struct cached c = { 0 };
	struct idx ix;
	struct ferr ignored = FERR_INIT;
	struct wt_fingerprint now;
	bool found = false, hit = false;

	memset(&ix, 0, sizeof ix);
	if (repo_discover(cwd, &rp) != 0)
		return false;
	make_key(&key, rp.workdir, rp.cwd_rel, opts->budget_tokens);
	if (store_cache_get(store, CACHE_NS, key.data, &row, &found, &ignored) != 0 || !found ||
	    !parse_row(&row, &c))
		goto out;
	if (idx_read(rp.index_path, &ix, &ignored) != 0)
		goto out;
	bs_state_base(&state, opts->budget_tokens, rp.workdir, rp.cwd_rel, rp.gitdir,
		      rp.index_path, &ix);
	if (has_gitlinks(&ix)) {
		struct bs_ctx ctx;
		if (bs_ctx_open(&ctx, cwd, &ignored) != 0) {
			bs_ctx_release(&ctx);
			goto out;
		}
		bs_ctx_submodule_state(&ctx);
		if (ctx.sub_state.len)
			buf_printf(&state, "submodules=%s\n", ctx.sub_state.data);
		bs_ctx_release(&ctx);
	}
	if (c.state_len != state.len || memcmp(c.state, state.data, state.len) != 0)
		goto out;
	if (wt_fingerprint(rp.workdir, &ix, &c.dirs, &now, &ignored) != 0)
		goto out;
	/* The row was stored only when nothing was racy, so equal stat data
	 * now means nothing was written since. */
	if (now.a == c.fp.a && now.b == c.fp.b) {
		if (json)
			buf_add(out, c.json, c.json_len);
		else
			buf_add(out, c.text, c.text_len);
		hit = true;
	}
out:
	wt_dirs_release(&c.dirs);
	idx_release(&ix);
	repo_paths_release(&rp);
	buf_release(&key);
	buf_release(&row);
	buf_release(&state);
	return hit;
}

int bootstrap_run(const char *cwd, const struct bootstrap_opts *opts, bool json,
		  struct buf *out, bool *from_cache, struct ferr *e)
{
	struct bs_ctx ctx;
	struct bootstrap bs;
	struct store *store = NULL;
	struct buf state = BUF_INIT, row = BUF_INIT, key = BUF_INIT;
	struct buf text = BUF_INIT, js = BUF_INIT;
	struct wt_dirs dirs = { 0 };
	struct wt_fingerprint fp = { 0 }, extra = { 0 };
	struct ferr se = FERR_INIT;
	int rc = -1;

	*from_cache = false;
	memset(&bs, 0, sizeof bs);
	memset(&ctx, 0, sizeof ctx);
	if (opts->use_cache) {
		if (store_open(opts->db_path, &store, &se) != 0)
			warn(opts, &se);
		else if (cache_hit(cwd, opts, json, store, out)) {
			*from_cache = true;
			rc = 0;
			goto out;
		}
	}
	if (bs_ctx_open(&ctx, cwd, e) != 0)
		goto out;
	if (bs_ctx_scan(&ctx, &bs, &dirs, &fp, e) != 0)
		goto out;
	bootstrap_render_text(&bs, opts->budget_tokens, &text);
	bootstrap_render_json(&bs, &js);
	buf_add(out, json ? js.data : text.data, json ? js.len : text.len);
	/* A plain directory is walked anyway and a bare repository is cheap:
	 * only a working tree with an index is worth caching. */
	if (store && ctx.repo && ctx.has_index) {
		bs_ctx_record_extra(&ctx, &dirs, &extra);
		bs_ctx_state_key(&ctx, opts->budget_tokens, &state);
		make_key(&key, ctx.root, ctx.cwd_rel, opts->budget_tokens);
		fp.a += extra.a;
		fp.b ^= extra.b;
		if (!fp.racy && !extra.racy) {
			build_row(&row, &state, &fp, &dirs, &text, &js);
			if (store_cache_put(store, CACHE_NS, key.data, row.data, row.len, &se) != 0)
				warn(opts, &se);
		} else if (store_cache_delete(store, CACHE_NS, key.data, &se) != 0) {
			warn(opts, &se);
		}
	}
	rc = 0;
out:
	wt_dirs_release(&dirs);
	bootstrap_release(&bs);
	bs_ctx_release(&ctx);
	store_close(store);
	buf_release(&state);
	buf_release(&row);
	buf_release(&key);
	buf_release(&text);
	buf_release(&js);
	return rc;
}

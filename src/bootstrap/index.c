/*
 * index.c — reads git's index file (versions 2, 3 and 4) by mapping it and
 * decoding the entries into one flat array, with the cache-tree (TREE)
 * extension.  libgit2 can read an index too, but it allocates and hashes
 * every entry: on 100,000 files that is most of a status's time.
 *
 * Like git, the trailing checksum is not recomputed on read (git only does
 * so in fsck); every length and offset is checked against the mapping, so
 * a damaged file is an error naming it, never a crash.  Required
 * extensions forja does not read (split index "link", sparse index "sdir")
 * are reported as such.
 */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define HDR_SIZE 12
#define ENTRY_FIXED 62   /* up to and including the 16-bit flags */

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint16_t be16(const unsigned char *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static int corrupt(struct ferr *e, const char *path, const char *what)
{
	return ferr_set(e, FERR_IO, "%s: corrupt git index: %s", path, what);
}

static void ctree_free(struct idx_tree *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->nchildren; i++)
		ctree_free(t->children[i]);
	free(t->children);
	free(t);
}

/* One cache-tree node and, recursively, its subtrees (pre-order). */
static struct idx_tree *ctree_parse(const unsigned char **pp, const unsigned char *end,
				    size_t hash_len, int depth)
{
	const unsigned char *p = *pp;
	const unsigned char *nul = memchr(p, '\0', (size_t)(end - p));
	struct idx_tree *t;
	long entries, subtrees;
	char *num_end;
	char tmp[32];
	size_t n;

	if (!nul || depth > 4096)
		return NULL;
	t = xcalloc(1, sizeof *t);
	t->name = (const char *)p;
	t->name_len = (size_t)(nul - p);
	p = nul + 1;
	/* "entry_count SP subtree_count LF" in ASCII */
	const unsigned char *lf = memchr(p, '\n', (size_t)(end - p));
	if (!lf || (size_t)(lf - p) >= sizeof tmp)
		goto bad;
	memcpy(tmp, p, (size_t)(lf - p));
	tmp[lf - p] = '\0';
	entries = strtol(tmp, &num_end, 10);
	if (*num_end != ' ')
		goto bad;
	subtrees = strtol(num_end + 1, &num_end, 10);
	if (*num_end != '\0' || entries < -1 || subtrees < 0 || subtrees > 1000000)
		goto bad;
	p = lf + 1;
	/* each subtree takes at least "\0" "0 0\n" */
	if ((size_t)subtrees > (size_t)(end - p) / 5)
		goto bad;
	t->entry_count = entries;
	if (entries >= 0) {
		if ((size_t)(end - p) < hash_len)
			goto bad;
		memcpy(t->oid, p, hash_len < sizeof t->oid ? hash_len : sizeof t->oid);
		p += hash_len;
	}
	n = (size_t)subtrees;
	t->children = xcalloc(n ? n : 1, sizeof *t->children);
	for (size_t i = 0; i < n; i++) {
		t->children[i] = ctree_parse(&p, end, hash_len, depth + 1);
		if (!t->children[i])
			goto bad;
		t->nchildren++;
	}
	*pp = p;
	return t;
bad:
	ctree_free(t);
	return NULL;
}

/* Subtrees are sorted by name length, then bytes (git's subtree_name_cmp). */
const struct idx_tree *idx_tree_child(const struct idx_tree *t, const char *name, size_t len)
{
	size_t lo = 0, hi = t ? t->nchildren : 0;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct idx_tree *c = t->children[mid];
		int cmp = c->name_len < len ? -1 : c->name_len > len ? 1 :
			  memcmp(c->name, name, len);
		if (cmp == 0)
			return c;
		if (cmp < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static int read_extensions(struct idx *ix, const char *path, const unsigned char *p,
			   const unsigned char *end, struct ferr *e)
{
	while ((size_t)(end - p) >= 8) {
		const unsigned char *sig = p;
		uint32_t size = be32(p + 4);
		p += 8;
		if (size > (size_t)(end - p))
			return corrupt(e, path, "an extension runs past the end of the file");
		if (memcmp(sig, "TREE", 4) == 0 && !ix->tree) {
			const unsigned char *q = p;
			ix->tree = ctree_parse(&q, p + size, GIT_OID_RAWSZ, 0);
			/* a damaged cache-tree is only a lost shortcut */
		} else if (sig[0] < 'A' || sig[0] > 'Z') {
			return ferr_set(e, FERR_IO,
					"%s: the index uses the '%.4s' extension (%s), which forja cannot read yet",
					path, (const char *)sig,
					memcmp(sig, "link", 4) == 0 ? "split index; try 'git update-index --no-split-index'" :
					memcmp(sig, "sdir", 4) == 0 ? "sparse index; try 'git sparse-checkout init --no-sparse-index'" :
					"required by this index");
		}
		p += size;
	}
	return 0;
}

int idx_read(const char *path, struct idx *ix, struct ferr *e)
{
	struct stat st;
	void *map;
	int fd;

	memset(ix, 0, sizeof *ix);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0; /* a repository with nothing added yet */
		return ferr_set(e, FERR_IO, "%s: %s", path, strerror(errno));
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		int err = errno;
		close(fd);
		return ferr_set(e, FERR_IO, "%s: %s", path,
				S_ISREG(st.st_mode) ? strerror(err) : "not a regular file");
	}
	if ((uint64_t)st.st_size < HDR_SIZE + GIT_OID_RAWSZ) {
		close(fd);
		return corrupt(e, path, "the file is too short");
	}
	map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (map == MAP_FAILED)
		return ferr_set(e, FERR_IO, "%s: %s", path, strerror(errno));
	int rc = idx_parse(ix, path, map, (size_t)st.st_size, e);
	if (rc != 0) {
		munmap(map, (size_t)st.st_size);
		ix->map = NULL;
		idx_release(ix);
		return rc;
	}
	ix->map = map;
	ix->map_len = (size_t)st.st_size;
	ix->mtime_sec = st.st_mtim.tv_sec;
	ix->mtime_nsec = (uint32_t)st.st_mtim.tv_nsec;
	return 0;
}

int idx_parse(struct idx *ix, const char *path, const void *data, size_t len,
	      struct ferr *e)
{
	const unsigned char *base, *p, *end;
	uint32_t version, count;
	struct buf prev = BUF_INIT;
	const char *why;

	memset(ix, 0, sizeof *ix);
	if (len < HDR_SIZE + GIT_OID_RAWSZ)
		return corrupt(e, path, "the file is too short");
	base = data;
	end = base + len - GIT_OID_RAWSZ;
	memcpy(ix->checksum, end, GIT_OID_RAWSZ);
	if (memcmp(base, "DIRC", 4) != 0)
		return corrupt(e, path, "bad signature");
	version = be32(base + 4);
	count = be32(base + 8);
	if (version < 2 || version > 4)
		return ferr_set(e, FERR_IO, "%s: git index version %u is not supported", path, version);
	if (count > (len - HDR_SIZE) / (version == 4 ? 40 : ENTRY_FIXED))
		return corrupt(e, path, "more entries than the file can hold");
	ix->version = version;
	ix->entries = xcalloc(count ? count : 1, sizeof *ix->entries);
	if (version == 4)
		ix->arena = xmalloc(1); /* grown below */
	p = base + HDR_SIZE;

	size_t arena_len = 0, arena_cap = 0;
	for (uint32_t i = 0; i < count; i++) {
		struct idx_entry *ie = &ix->entries[i];
		size_t fixed = ENTRY_FIXED;
		if ((size_t)(end - p) < fixed)
			goto truncated;
		ie->ctime_sec = be32(p);
		ie->ctime_nsec = be32(p + 4);
		ie->mtime_sec = be32(p + 8);
		ie->mtime_nsec = be32(p + 12);
		ie->dev = be32(p + 16);
		ie->ino = be32(p + 20);
		ie->mode = be32(p + 24);
		ie->uid = be32(p + 28);
		ie->gid = be32(p + 32);
		ie->size = be32(p + 36);
		memcpy(ie->oid, p + 40, GIT_OID_RAWSZ);
		ie->flags = be16(p + 60);
		if (ie->flags & GIT_INDEX_ENTRY_EXTENDED) {
			if (version < 3) {
				why = "extended flags in a version 2 index";
				goto bad;
			}
			if ((size_t)(end - p) < fixed + 2)
				goto truncated;
			ie->flags_ext = be16(p + 62);
			fixed += 2;
		}
		const unsigned char *name = p + fixed;
		if (version < 4) {
			const unsigned char *nul = memchr(name, '\0', (size_t)(end - name));
			if (!nul)
				goto truncated;
			ie->path = (const char *)name;
			ie->path_len = (uint32_t)(nul - name);
			size_t entry_len = (fixed + ie->path_len + 8) & ~(size_t)7;
			if ((size_t)(end - p) < entry_len)
				goto truncated;
			p += entry_len;
		} else {
			/* a varint of bytes to drop from the previous path, then the rest */
			uint64_t strip = 0;
			const unsigned char *q = name;
			unsigned char c;
			int guard = 0;
			if (q >= end)
				goto truncated;
			c = *q++;
			strip = c & 127;
			while (c & 128) {
				if (q >= end || ++guard > 9)
					goto truncated;
				c = *q++;
				strip = ((strip + 1) << 7) | (c & 127);
			}
			if (strip > prev.len) {
				why = "a path refers past its predecessor";
				goto bad;
			}
			const unsigned char *nul = memchr(q, '\0', (size_t)(end - q));
			if (!nul)
				goto truncated;
			buf_truncate(&prev, prev.len - (size_t)strip);
			buf_add(&prev, q, (size_t)(nul - q));
			ie->path_len = (uint32_t)prev.len;
			if (arena_len + prev.len + 1 > arena_cap) {
				arena_cap = (arena_cap + prev.len + 1) * 2;
				ix->arena = xrealloc(ix->arena, arena_cap);
			}
			memcpy(ix->arena + arena_len, buf_cstr(&prev), prev.len + 1);
			ie->path_off = arena_len;
			arena_len += prev.len + 1;
			p = nul + 1;
		}
	}
	if (version == 4)
		for (uint32_t i = 0; i < count; i++)
			ix->entries[i].path = ix->arena + ix->entries[i].path_off;
	ix->count = count;
	buf_release(&prev);
	/* Extensions first: a split index has entries with empty paths, and
	 * saying "split index" is more use than "corrupt". */
	if (read_extensions(ix, path, p, end, e) != 0)
		return -2;
	for (uint32_t i = 0; i < count; i++)
		if (ix->entries[i].path_len == 0)
			return corrupt(e, path, "an entry with an empty path");
	/* Sorted by path, then stage: the binary searches of the status rely
	 * on it, and git never writes anything else. */
	for (uint32_t i = 1; i < count; i++) {
		const struct idx_entry *a = &ix->entries[i - 1], *b = &ix->entries[i];
		size_t n = a->path_len < b->path_len ? a->path_len : b->path_len;
		int c = memcmp(a->path, b->path, n);
		if (c > 0 || (c == 0 && a->path_len > b->path_len) ||
		    (c == 0 && a->path_len == b->path_len && idx_stage(a) >= idx_stage(b)))
			return corrupt(e, path, "entries are not in order");
	}
	return 0;
truncated:
	why = "an entry runs past the end of the file";
bad:
	buf_release(&prev);
	return corrupt(e, path, why);
}

void idx_release(struct idx *ix)
{
	if (ix->map)
		munmap(ix->map, ix->map_len);
	free(ix->entries);
	free(ix->arena);
	ctree_free(ix->tree);
	memset(ix, 0, sizeof *ix);
}

/* The git index reader: real indexes written by git (versions 2, 3 and 4,
 * with a cache-tree and intent-to-add entries) decode to what libgit2
 * reads, and damaged ones (every truncation, flipped bytes, wrong
 * signature, version, counts, required extensions) are errors, never
 * crashes. */
#include <git2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../src/bootstrap/internal.h"
#include "tap.h"

static char dir[] = "/tmp/forja-test-index.XXXXXX";

static int sh(const char *fmt, const char *arg)
{
	char cmd[1024];
	snprintf(cmd, sizeof cmd, fmt, arg, arg, arg, arg);
	return system(cmd);
}

static unsigned char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	unsigned char *data;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	data = malloc((size_t)n + 1);
	*len = fread(data, 1, (size_t)n, f);
	fclose(f);
	return data;
}

/* Our entries equal libgit2's, field by field. */
static void same_as_libgit2(const char *index_path, const char *name)
{
	struct idx ix;
	struct ferr e = FERR_INIT;
	git_index *gi = NULL;
	int same = 1;

	tap_is_int(idx_read(index_path, &ix, &e), 0, name);
	if (git_index_open(&gi, index_path) != 0) {
		tap_ok(0, "libgit2 opens the index");
		idx_release(&ix);
		return;
	}
	same = git_index_entrycount(gi) == ix.count;
	for (size_t i = 0; same && i < ix.count; i++) {
		const git_index_entry *g = git_index_get_byindex(gi, i);
		const struct idx_entry *o = &ix.entries[i];
		same = strcmp(g->path, o->path) == 0 && strlen(o->path) == o->path_len &&
		       memcmp(g->id.id, o->oid, GIT_OID_RAWSZ) == 0 && g->mode == o->mode &&
		       g->file_size == o->size && (uint32_t)g->mtime.seconds == o->mtime_sec &&
		       g->mtime.nanoseconds == o->mtime_nsec && g->ino == o->ino &&
		       GIT_INDEX_ENTRY_STAGE(g) == idx_stage(o) &&
		       1;
		if (!same)
			printf("# entry %zu differs: %s vs %s\n", i, g->path, o->path);
	}
	tap_ok(same, "entries match libgit2's");
	git_index_free(gi);
	idx_release(&ix);
}

int main(void)
{
	char path[256], cmd[512];
	struct idx ix;
	struct ferr e = FERR_INIT;
	size_t len;
	unsigned char *data;

	git_libgit2_init();
	if (!mkdtemp(dir))
		return 1;
	snprintf(path, sizeof path, "%s/.git/index", dir);
	sh("cd %s && git init -q && mkdir -p a/b c && for i in 1 2 3; do echo $i > a/b/f$i.c; echo $i > c/g$i; done"
	   " && echo top > top.txt && ln -s top.txt link && git add -A"
	   " && git -c user.name=t -c user.email=t@t commit -qm one", dir);
	same_as_libgit2(path, "version 2 index reads");

	tap_is_int(idx_read(path, &ix, &e), 0, "reads again");
	tap_ok(ix.tree != NULL, "a commit leaves a cache-tree");
	tap_ok(ix.tree && ix.tree->entry_count == (long)ix.count, "root cache-tree covers every entry");
	tap_ok(idx_tree_child(ix.tree, "a", 1) != NULL, "subtree lookup by name");
	tap_ok(idx_tree_child(ix.tree, "zz", 2) == NULL, "missing subtree");
	idx_release(&ix);

	sh("cd %s && echo new > intent.txt && git add -N intent.txt", dir);
	same_as_libgit2(path, "version 3 index (intent-to-add) reads");
	tap_is_int(idx_read(path, &ix, &e), 0, "v3 reads");
	tap_is_int(ix.version, 3, "git wrote version 3");
	idx_release(&ix);

	sh("cd %s && git update-index --index-version 4", dir);
	same_as_libgit2(path, "version 4 index (prefix-compressed paths) reads");
	tap_is_int(idx_read(path, &ix, &e), 0, "v4 reads");
	tap_is_int(ix.version, 4, "git wrote version 4");
	idx_release(&ix);

	/* missing index: a repository with nothing added */
	snprintf(cmd, sizeof cmd, "%s/nothing", dir);
	tap_is_int(idx_read(cmd, &ix, &e), 0, "a missing index is empty");
	tap_is_int(ix.count, 0, "with no entries");
	idx_release(&ix);

	/* every truncation of a valid v4 and v2 index */
	for (int v = 4; v >= 2; v -= 2) {
		char vcmd[128];
		snprintf(vcmd, sizeof vcmd, "cd %%s && git update-index --index-version %d", v);
		sh(vcmd, dir);
		data = slurp(path, &len);
		int crashed = 0, accepted = 0;
		for (size_t cut = 0; cut < len; cut++) {
			if (idx_parse(&ix, "index", data, cut, &e) == 0)
				accepted++;
			idx_release(&ix);
		}
		char name[64];
		snprintf(name, sizeof name, "every truncation of a v%d index is handled", v);
		tap_ok(!crashed, name);
		snprintf(name, sizeof name, "v%d: truncations inside entries are errors", v);
		/* a cut in the extensions may still parse; a cut in the entries never */
		tap_ok(accepted < (int)len / 2, name);
		/* every single-byte corruption */
		for (size_t at = 0; at < len; at++) {
			unsigned char keep = data[at];
			data[at] ^= 0xff;
			idx_parse(&ix, "index", data, len, &e);
			idx_release(&ix);
			data[at] = keep;
		}
		snprintf(name, sizeof name, "v%d: every flipped byte is handled", v);
		tap_ok(1, name);
		free(data);
	}

	data = slurp(path, &len);
	memcpy(data, "DIRX", 4);
	tap_is_int(idx_parse(&ix, "/r/.git/index", data, len, &e), -1, "bad signature");
	tap_contains(e.msg, "/r/.git/index: corrupt git index: bad signature", "names the file");
	idx_release(&ix);
	memcpy(data, "DIRC", 4);
	data[7] = 9;
	tap_is_int(idx_parse(&ix, "index", data, len, &e), -1, "unknown version");
	tap_contains(e.msg, "version 9", "says which version");
	idx_release(&ix);
	data[7] = 2;
	data[8] = 0x7f;
	tap_is_int(idx_parse(&ix, "index", data, len, &e), -1, "absurd entry count");
	tap_contains(e.msg, "more entries than the file can hold", "says why");
	idx_release(&ix);
	free(data);

	/* a required extension forja does not read */
	sh("cd %s && git update-index --index-version 2 && git -c core.splitIndex=true update-index --split-index", dir);
	tap_is_int(idx_read(path, &ix, &e), -2, "split index is refused as unsupported, not corrupt");
	tap_contains(e.msg, "split index", "and named");
	idx_release(&ix);
	sh("cd %s && git update-index --no-split-index", dir);

	/* out-of-order entries */
	{
		static const unsigned char hdr[] = "DIRC\0\0\0\2\0\0\0\2";
		unsigned char buf[512] = { 0 };
		size_t off = 12;
		memcpy(buf, hdr, 12);
		for (int k = 0; k < 2; k++) {
			unsigned char *ent = buf + off;
			ent[24] = 0x00; ent[25] = 0x00; ent[26] = 0x81; ent[27] = 0xa4;
			ent[61] = 1;
			ent[62] = k == 0 ? 'b' : 'a';
			off += (62 + 1 + 8) & ~7;
		}
		off += 20;
		tap_is_int(idx_parse(&ix, "index", buf, off, &e), -1, "unsorted entries are refused");
		tap_contains(e.msg, "not in order", "and said so");
		idx_release(&ix);
	}

	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	if (system(cmd) != 0)
		return 1;
	git_libgit2_shutdown();
	return tap_done();
}

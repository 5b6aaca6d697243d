/*
 * jail_common.c — the parts of the jail both halves use (jail_common.h):
 * layer names, the layers a spec needs and the refusal, the environment
 * scrub, the capped output sinks and the disk watermark.  Portable C.
 */
#include "jail_common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>

static const char *const layer_names[JAIL_LAYER_COUNT] = {
	"mount", "pid", "net", "landlock", "seccomp", "procs", "memory", "cleanup", "gitscan",
};

const char *jail_layer_name(unsigned layer)
{
	int i;

	for (i = 0; i < JAIL_LAYER_COUNT; i++)
		if (layer == 1u << i)
			return layer_names[i];
	return "?";
}

void jail_layers_describe(unsigned mask, struct buf *b)
{
	int i;
	bool first = true;

	for (i = 0; i < JAIL_LAYER_COUNT; i++)
		if (mask & (1u << i)) {
			buf_printf(b, "%s%s", first ? "" : " ", layer_names[i]);
			first = false;
		}
}

long long jail_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- layers ---------------------------------------------------------------- */

unsigned jail_needed_layers(const struct jail_spec *s)
{
	unsigned need = JAIL_LAYER_MOUNT | JAIL_LAYER_PID | JAIL_LAYER_LANDLOCK |
			JAIL_LAYER_SECCOMP | JAIL_LAYER_CLEANUP | JAIL_LAYER_GITSCAN;

	if (!s->network)
		need |= JAIL_LAYER_NET;
	if (s->max_processes > 0)
		need |= JAIL_LAYER_PROCS;
	if (s->memory_bytes > 0)
		need |= JAIL_LAYER_MEMORY;
	return need;
}

/* Whether the "layer, layer: reason" line line (len bytes) is about a layer
 * in mask. */
static bool why_is_about(const char *line, size_t len, unsigned mask)
{
	size_t plen = strcspn(line, ":");
	int i;

	if (plen > len)
		plen = len;
	for (i = 0; i < JAIL_LAYER_COUNT; i++) {
		const char *name = layer_names[i], *p = line;
		size_t nl = strlen(name);

		if (!(mask & (1u << i)))
			continue;
		while (p + nl <= line + plen) {
			if (memcmp(p, name, nl) == 0 && (p == line || p[-1] == ' ') &&
			    (p + nl == line + plen || p[nl] == ','))
				return true;
			p++;
		}
	}
	return false;
}

int jail_refuse_missing(unsigned missing, const struct jail_caps *caps, struct ferr *e)
{
	struct buf b = BUF_INIT;
	const char *line = caps->why;
	bool first = true;

	buf_puts(&b, "jail: this machine cannot enforce: ");
	jail_layers_describe(missing, &b);
	while (*line) {
		size_t len = strcspn(line, "\n");

		if (why_is_about(line, len, missing)) {
			buf_puts(&b, first ? " (" : "; ");
			buf_add(&b, line, len);
			first = false;
		}
		line += len;
		line += *line == '\n';
	}
	if (!first)
		buf_puts(&b, ")");
	buf_puts(&b, "; refusing to run weaker (allow_missing accepts it)");
	ferr_set(e, FERR_DENIED, "%s", b.data);
	buf_release(&b);
	return -1;
}

/* ---- the environment -------------------------------------------------------- */

bool jail_env_is_secret(const char *name, size_t len)
{
	static const char *const suffixes[] = { "API_KEY", "APIKEY", "_TOKEN", NULL };
	static const char *const parts[] = { "SECRET", "PASSWORD", "PASSWD", NULL };
	char up[256];
	size_t i;

	if (len >= sizeof up)
		return true; /* no real variable name is that long */
	for (i = 0; i < len; i++)
		up[i] = (char)(name[i] >= 'a' && name[i] <= 'z' ? name[i] - 32 : name[i]);
	up[len] = '\0';
	if (strcmp(up, "TOKEN") == 0)
		return true;
	for (i = 0; suffixes[i]; i++) {
		size_t sl = strlen(suffixes[i]);

		if (len >= sl && strcmp(up + len - sl, suffixes[i]) == 0)
			return true;
	}
	for (i = 0; parts[i]; i++)
		if (strstr(up, parts[i]))
			return true;
	return false;
}

char **jail_env_build(const char *const *env, const char **path_var, unsigned *dropped)
{
	size_t n = 0, i, k = 0;
	char **envp;

	for (i = 0; env && env[i]; i++)
		n++;
	envp = xcalloc(n + 1, sizeof *envp);
	*path_var = "/usr/local/bin:/usr/bin:/bin";
	for (i = 0; i < n; i++) {
		const char *eq = strchr(env[i], '=');

		if (!eq || eq == env[i] || jail_env_is_secret(env[i], (size_t)(eq - env[i]))) {
			(*dropped)++;
			continue;
		}
		envp[k++] = xstrdup(env[i]);
		if (strncmp(env[i], "PATH=", 5) == 0)
			*path_var = envp[k - 1] + 5;
	}
	envp[k] = NULL;
	return envp;
}

void jail_env_free(char **envp)
{
	size_t i;

	for (i = 0; envp && envp[i]; i++)
		free(envp[i]);
	free(envp);
}

/* ---- output ------------------------------------------------------------------ */
void jail_sink_init(struct jail_sink *k, struct jail_output *o, uint64_t cap)
{
	k->o = o;
	k->head_cap = cap / 2;
	k->tail_cap = cap - k->head_cap;
	k->ring = NULL;
	k->ring_pos = k->ring_len = 0;
}

void jail_sink_feed(struct jail_sink *k, const char *data, size_t n)
{
	struct jail_output *o = k->o;

	o->total += n;
	if (o->data.len < k->head_cap) {
		size_t take = (size_t)(k->head_cap - o->data.len);

		if (take > n)
			take = n;
		buf_add(&o->data, data, take);
		data += take;
		n -= take;
	}
	if (n == 0 || k->tail_cap == 0)
		return;
	if (!k->ring)
		k->ring = xmalloc((size_t)k->tail_cap);
	if (n > k->tail_cap) {
		data += n - k->tail_cap;
		n = (size_t)k->tail_cap;
	}
	while (n) {
		size_t chunk = (size_t)k->tail_cap - k->ring_pos;

		if (chunk > n)
			chunk = n;
		memcpy(k->ring + k->ring_pos, data, chunk);
		k->ring_pos = (k->ring_pos + chunk) % (size_t)k->tail_cap;
		if (k->ring_len < k->tail_cap)
			k->ring_len = k->ring_len + chunk > k->tail_cap ? (size_t)k->tail_cap
								      : k->ring_len + chunk;
		data += chunk;
		n -= chunk;
	}
}

void jail_sink_finish(struct jail_sink *k)
{
	struct jail_output *o = k->o;
	size_t head = o->data.len;

	if (k->ring_len) {
		size_t tail = (size_t)k->tail_cap;
		size_t start = (k->ring_pos + tail - k->ring_len) % tail;
		size_t first = tail - start;

		if (first > k->ring_len)
			first = k->ring_len;
		buf_add(&o->data, k->ring + start, first);
		buf_add(&o->data, k->ring, k->ring_len - first);
	}
	o->cut = o->total - o->data.len;
	o->cut_at = o->cut ? head : o->data.len;
	if (!o->data.data)
		buf_add(&o->data, "", 0);
	free(k->ring);
	k->ring = NULL;
}

void jail_emit(const struct jail_spec *s, struct jail_sink *k, int stream, const char *data,
	       size_t n)
{
	if (s->on_output && n)
		s->on_output(s->output_ctx, stream, data, n);
	jail_sink_feed(k, data, n);
}

/* ---- the disk watermark ------------------------------------------------------- */

/* The bytes an unprivileged writer may still use on path's file system,
 * and its size; false when that cannot be told or it is read-only
 * (nothing to watch there). */
static bool disk_space(const char *path, uint64_t *avail, uint64_t *size)
{
	struct statvfs v;

	if (statvfs(path, &v) < 0 || (v.f_flag & ST_RDONLY) || v.f_blocks == 0)
		return false;
	*avail = (uint64_t)v.f_bavail * v.f_frsize;
	*size = (uint64_t)v.f_blocks * v.f_frsize;
	return true;
}

/* Watch the file system of path (once per file system), with the
 * watermark spec->disk_min_free gives it (see jail.h). */
void jail_disks_add(struct jail_disks *ds, const struct jail_spec *s, const char *path)
{
	struct stat st;
	uint64_t avail, size, min;
	size_t i;

	if (stat(path, &st) < 0 || !disk_space(path, &avail, &size))
		return;
	for (i = 0; i < ds->n; i++)
		if (ds->w[i].dev == st.st_dev)
			return;
	min = s->disk_min_free;
	if (min == 0) {
		min = size / 100 * JAIL_DISK_MIN_PERCENT;
		if (min > JAIL_DISK_MIN_FREE)
			min = JAIL_DISK_MIN_FREE;
	}
	if (avail < min)
		min = avail / 2; /* a nearly full disk still runs small commands */
	ds->w = xrealloc(ds->w, (ds->n + 1) * sizeof *ds->w);
	ds->w[ds->n++] = (struct jail_disk){ xstrdup(path), st.st_dev, min, avail, jail_now_ms() };
}

/* The watched file system that fell below its watermark, or NULL; sets the
 * time of the next check: sooner when, at the pace of the last interval,
 * the watermark would be crossed before the regular one. */
const struct jail_disk *jail_disks_check(struct jail_disks *ds, long long now)
{
	long long next = JAIL_DISK_CHECK_MS;
	size_t i;

	for (i = 0; i < ds->n; i++) {
		struct jail_disk *d = &ds->w[i];
		uint64_t avail, size;

		if (!disk_space(d->path, &avail, &size))
			continue;
		if (avail < d->min_free)
			return d;
		if (d->last_free > avail && now > d->last_ms) {
			uint64_t per_ms = (d->last_free - avail) / (uint64_t)(now - d->last_ms);

			if (avail - d->min_free < per_ms * 2 * JAIL_DISK_CHECK_MS)
				next = JAIL_DISK_CHECK_FAST_MS;
		}
		d->last_free = avail;
		d->last_ms = now;
	}
	ds->next_ms = now + next;
	return NULL;
}

void jail_disks_release(struct jail_disks *d)
{
	size_t i;

	for (i = 0; i < d->n; i++)
		free(d->w[i].path);
	free(d->w);
	memset(d, 0, sizeof *d);
}

/* ---- results ---------------------------------------------------------------- */

void jail_result_release(struct jail_result *r)
{
	buf_release(&r->out.data);
	buf_release(&r->err.data);
	free(r->disk_path);
	memset(r, 0, sizeof *r);
}


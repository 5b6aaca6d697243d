/*
 * jail_common.h — what the jail's Linux half (jail.c) and its macOS half
 * (jail_darwin.c) share, in portable C: the layers a spec needs and the
 * refusal that names the missing ones, the environment scrub, the capped
 * output sinks and the on_output callback, and the disk watermark.  Used
 * by the parent only, never after fork in the child.
 */
#ifndef FORJA_JAIL_COMMON_H
#define FORJA_JAIL_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "forja/buf.h"
#include "forja/ferr.h"
#include "forja/jail.h"

/* Milliseconds on the monotonic clock. */
long long jail_now_ms(void);

/* The layers spec needs (see jail.h, "Refusing to run weaker"). */
unsigned jail_needed_layers(const struct jail_spec *s);
/* Fill e (FERR_DENIED) naming each layer of missing and, from caps->why,
 * why it is missing.  Returns -1. */
int jail_refuse_missing(unsigned missing, const struct jail_caps *caps, struct ferr *e);

/* Whether an environment variable's name (len bytes) looks like a secret. */
bool jail_env_is_secret(const char *name, size_t len);
/* The command's environment: env minus malformed and secret-looking entries
 * (each counted in *dropped), NULL-terminated, every string owned (free
 * with jail_env_free()).  *path_var points into it at PATH's value, else
 * at "/usr/local/bin:/usr/bin:/bin". */
char **jail_env_build(const char *const *env, const char **path_var, unsigned *dropped);
void jail_env_free(char **envp);

/* One output stream being captured: the head in o->data, the tail in a ring. */
struct jail_sink {
	struct jail_output *o;
	uint64_t head_cap, tail_cap;
	char *ring;
	size_t ring_pos, ring_len;
};
void jail_sink_init(struct jail_sink *k, struct jail_output *o, uint64_t cap);
void jail_sink_feed(struct jail_sink *k, const char *data, size_t n);
/* Put head and tail together in o->data and set cut/cut_at. */
void jail_sink_finish(struct jail_sink *k);
/* Output of the command (stream 1 or 2): to spec->on_output as it comes,
 * then into the capped sink. */
void jail_emit(const struct jail_spec *s, struct jail_sink *k, int stream, const char *data,
	       size_t n);

/* The disk watermark (jail_spec.disk_min_free). */
#define JAIL_DISK_CHECK_MS 100
#define JAIL_DISK_CHECK_FAST_MS 10
struct jail_disk {
	char *path;             /* the workspace or an rw_path on it */
	dev_t dev;
	uint64_t min_free;      /* the watermark for this call */
	uint64_t last_free;     /* at the last check */
	long long last_ms;
};
struct jail_disks {
	struct jail_disk *w;
	size_t n;
	long long next_ms;      /* when to look at free space again */
};
/* Watch path's file system (once per file system; read-only ones and
 * those statvfs cannot tell are skipped) with the watermark s gives it. */
void jail_disks_add(struct jail_disks *d, const struct jail_spec *s, const char *path);
/* The watched file system below its watermark, or NULL; sets next_ms. */
const struct jail_disk *jail_disks_check(struct jail_disks *d, long long now);
void jail_disks_release(struct jail_disks *d);

#endif

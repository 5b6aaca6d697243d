/*
 * seatbelt — the macOS jail's rules: a Seatbelt profile (SBPL, the
 * language /usr/bin/sandbox-exec reads) generated from a struct jail_spec,
 * with the same rules as the Linux jail (jail.h).  Portable C: it only
 * builds text, so it is compiled and unit-tested on Linux too;
 * jail_darwin.c runs it.
 *
 * The profile, in this order (SBPL applies the last rule that matches, so
 * every deny comes after the allows it narrows):
 *
 *   (version 1) (deny default)   nothing is imported (no system.sb or
 *                                bsd.sb): every permission is listed here
 *   processes    process-fork, process-exec; signal and process-info* with
 *                (target same-sandbox) only: the command's own processes,
 *                never forja or anything else on the machine
 *   sysctl-read  (reading kernel parameters; writing is denied)
 *   ipc-posix-sem (named semaphores: Python's multiprocessing needs them)
 *   mach-lookup  only SEATBELT_MACH_BASE (user and group lookups, notify,
 *                logging), plus SEATBELT_MACH_NETWORK when spec->network
 *                (DNS, TLS trust evaluation, network configuration)
 *   reading      file-read-metadata anywhere (stat, getcwd and realpath
 *                walk the parents; contents stay denied), file-read* on the
 *                system paths (SEATBELT_SYSTEM_PATHS), the few device files
 *                (SEATBELT_DEVICES, /dev/fd), ro_paths, the workspace,
 *                rw_paths and the private temp dir
 *   writing      file-write* on the workspace, rw_paths, the private temp
 *                dir and the device files only (/dev/null…)
 *   network      none when spec->network is false (deny default then also
 *                denies every unix socket); else network-outbound and
 *                network-bind/inbound on IP only, and of the host's unix
 *                sockets only mDNSResponder's (DNS)
 *   then the denies:
 *                file-write* on every ".git" and ".forja" at any depth of
 *                the workspace (and everything under them), by regex, the
 *                names matched case-insensitively as macOS file systems
 *                are, so a command cannot make ".GIT" either; protect_paths
 *                the same way by exact path; file-read* and file-write* on
 *                hide_paths (forja's config and state), metadata included.
 *
 * Paths: each must be absolute (protect_paths may be relative to the
 * workspace), valid UTF-8, without control characters (a newline or a
 * tab), without ".." components, at most PATH_MAX bytes; otherwise
 * seatbelt_profile() refuses with FERR_USAGE naming the path.  "/" is
 * refused as a workspace, ro, rw or hide path.  Repeated and trailing
 * slashes and "." components are dropped.  Each path is emitted in every
 * form macOS may report for it: as given, as realpath() resolves it when it
 * exists, and under /private for /tmp, /var and /etc (symlinks into
 * /private there).  In a string, backslash and double quote are escaped;
 * in a (regex …), every character with a meaning in a regex is escaped
 * first, then the whole is escaped as a string.  A path therefore cannot
 * end a string early and add a rule.
 *
 * The private temp dir is not a path of the spec: the profile names it as
 * (param "FORJA_TMPDIR"), which the caller passes to sandbox-exec as
 * -D FORJA_TMPDIR=<its realpath> (jail_darwin.c makes one per call).
 *
 * Ownership: spec is borrowed; the profile is appended to *out.  Nothing
 * here blocks except realpath() on the spec's paths.  Thread-safe.
 */
#ifndef FORJA_SEATBELT_H
#define FORJA_SEATBELT_H

#include "forja/buf.h"
#include "forja/ferr.h"
#include "forja/jail.h"

/* The sandbox-exec parameter that holds the private temp dir. */
#define SEATBELT_TMPDIR_PARAM "FORJA_TMPDIR"

/* System paths readable (and executable) by every command: the OS, the
 * developer tools, Homebrew's prefix on Apple silicon, the dynamic linker's
 * cache, time zones.  NULL-terminated. */
extern const char *const SEATBELT_SYSTEM_PATHS[];
/* Device files readable and writable (opening them grants nothing). */
extern const char *const SEATBELT_DEVICES[];
/* mach-lookup global names always allowed, and those added with the
 * network.  NULL-terminated. */
extern const char *const SEATBELT_MACH_BASE[];
extern const char *const SEATBELT_MACH_NETWORK[];

/*
 * Append to out the profile for spec (see the top).  Returns 0, or -1 with
 * e filled (FERR_USAGE: no workspace, or a path refused as above, named);
 * on -1, out may hold part of a profile and must not be used.
 */
int seatbelt_profile(const struct jail_spec *spec, struct buf *out, struct ferr *e);

#endif

#!/usr/bin/env python3
"""Compare `forja bootstrap --json` with git itself on real repositories.

usage: realrepo_compare.py [--keep] REPO...

Each REPO (a git working copy, left untouched) is cloned into a scratch
directory, with the submodules it has initialised.  forja is then compared
with git on the clean clone, after a fixed-seed mix of mutations (edits,
touches, deletions, modes, untracked and ignored files, staging, odd names,
nested repositories, a merge conflict...), after `git status` refreshed the
index, with an index version 4 and an untracked cache, and (for repositories
with submodules) with submodule.<name>.ignore=all in .git/config.  forja runs
from the root and from a subdirectory, with and without its cache.

Compared: git.status (counts and first 10 paths), files.count, git.branch,
git.head.id, the set of git.commits ids, git.upstream ahead/behind.  Every
mismatch is printed with both sides; the exit status is 1 if there was one.

Needs python3 and git.  FORJA names the binary (default: ../../forja from
this file), SEED the random seed (default 1).
"""
import json, os, random, shutil, subprocess, sys, tempfile, time

HERE = os.path.dirname(os.path.abspath(__file__))
FORJA = os.environ.get("FORJA", os.path.join(HERE, "..", "..", "forja"))
SEED = int(os.environ.get("SEED", "1"))
UNMERGED = {"DD", "AU", "UD", "UA", "DU", "AA", "UU"}
GITC = ["git", "-c", "user.name=Tester", "-c", "user.email=t@example.com",
        "-c", "protocol.file.allow=always", "-c", "core.hooksPath=/dev/null"]
failures = 0


def run(args, cwd, check=True):
    p = subprocess.run(args, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if check and p.returncode != 0:
        raise RuntimeError("%s failed in %s: %s" % (args, cwd, p.stderr.decode(errors="replace")))
    return p.stdout


def git(repo, *args, check=True):
    return run(GITC + list(args), repo, check)


def quote(raw):
    """A path as forja shows it (include/forja/utf8.h): as is when it is
    valid UTF-8 without control characters, '"' or '\\'; else git-quoted."""
    try:
        text = raw.decode("utf-8")
        if not any(c < 0x20 or c == 0x7F or c in b'"\\' for c in raw):
            return text
    except UnicodeDecodeError:
        pass
    esc = {7: "\\a", 8: "\\b", 9: "\\t", 10: "\\n", 11: "\\v", 12: "\\f", 13: "\\r",
           0x22: '\\"', 0x5C: "\\\\"}
    out, i = [], 0
    while i < len(raw):
        c = raw[i]
        n = utf8_len(raw, i) if c >= 0x80 else 1
        n = n or 1
        if n > 1:
            out.append(raw[i:i + n].decode())
        elif c in esc:
            out.append(esc[c])
        elif c < 0x20 or c >= 0x7F:
            out.append("\\%03o" % c)
        else:
            out.append(chr(c))
        i += n
    return '"' + "".join(out) + '"'


def utf8_len(raw, i):
    """Length of the valid multi-byte UTF-8 sequence at raw[i], or 0."""
    for n in (2, 3, 4):
        try:
            raw[i:i + n].decode("utf-8")
            return n
        except UnicodeDecodeError:
            pass
    return 0


def git_side(repo):
    """What git says, in the shape of forja's JSON."""
    out = git(repo, "--no-optional-locks", "-c", "status.renames=false", "status",
              "--porcelain=v1", "-z", "--untracked-files=normal")
    lists = {k: [] for k in ("staged", "modified", "untracked", "conflicted")}
    for rec in out.split(b"\0"):
        if not rec:
            continue
        xy, path = rec[:2].decode(), rec[3:]
        if xy == "??":
            lists["untracked"].append(path)
        elif xy in UNMERGED:
            lists["conflicted"].append(path)
        else:
            if xy[0] not in " ?!":
                lists["staged"].append(path)
            if xy[1] not in " ?!":
                lists["modified"].append(path)
    status = {k: {"count": len(v), "paths": [quote(p) for p in sorted(v)[:10]]}
              for k, v in lists.items()}
    head = git(repo, "rev-parse", "-q", "--verify", "HEAD", check=False).decode().strip()
    branch = git(repo, "symbolic-ref", "--short", "-q", "HEAD", check=False).decode().strip()
    up = git(repo, "rev-list", "--left-right", "--count", "HEAD...@{u}", check=False).split()
    return {
        "status": status,
        "files.count": len(set(git(repo, "ls-files", "-z").split(b"\0")) - {b""}),
        "branch": branch or None,
        "head.id": head[:7] or None,
        "commits": sorted(c[:7] for c in git(repo, "log", "-10", "--format=%H", check=False).decode().split()),
        "upstream": [int(up[0]), int(up[1])] if up else None,
    }


def forja_side(cwd, cache):
    args = [FORJA, "bootstrap", "--json"] + ([] if cache else ["--no-cache"])
    p = subprocess.run(args, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if p.returncode != 0:
        return {"error": "exit %d: %s" % (p.returncode, p.stderr.decode(errors="replace"))}
    d = json.loads(p.stdout)
    g = d.get("git", {})
    up = g.get("upstream")
    return {
        "status": {k: {"count": v["count"], "paths": v["paths"]}
                   for k, v in g.get("status", {}).items()},
        "files.count": d.get("files", {}).get("count"),
        "branch": g.get("branch"),
        "head.id": (g.get("head") or {}).get("id"),
        "commits": sorted(c["id"] for c in g.get("commits", [])),
        "upstream": [up["ahead"], up["behind"]] if up else None,
    }


def compare(label, repo, subdir):
    global failures
    # forja first: git status (even --no-optional-locks) must not have
    # refreshed the stat data forja is to judge.
    got = [("root", forja_side(repo, False)),
           ("subdir " + subdir, forja_side(os.path.join(repo, subdir), False)),
           ("root, cached", forja_side(repo, True))]
    want = git_side(repo)
    shown = []
    for where, g in got:
        bad = ["error"] if "error" in g else [k for k in want if g.get(k) != want[k]]
        print("%s %s: %s (forja from %s)" % ("FAIL" if bad else "ok  ", os.path.basename(repo), label, where))
        failures += len(bad)
        if bad and g in shown:
            print("    (the same as above)")
        elif bad:
            shown.append(g)
            for k in bad:
                if k == "status":
                    for s in want[k]:
                        if g[k].get(s) != want[k][s]:
                            print("    status.%s\n      git:   %s\n      forja: %s" % (s, want[k][s], g[k].get(s)))
                else:
                    print("    %s\n      git:   %s\n      forja: %s" % (k, want.get(k), g.get(k)))


def write(repo, rel, data=b"x\n", mode="wb"):
    path = os.path.join(os.fsencode(repo), os.fsencode(rel))
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, mode) as f:
        f.write(data)


def clone(src, dst):
    run(["git", "clone", "-q", src, dst], "/")
    subs = git(dst, "config", "-f", ".gitmodules", "--get-regexp", r"^submodule\..*\.path$", check=False)
    for line in subs.decode().splitlines():
        key, path = line.split(" ", 1)
        if os.path.exists(os.path.join(src, path, ".git")):
            name = key[len("submodule."):-len(".path")]
            git(dst, "config", "submodule.%s.url" % name, os.path.join(src, path))
            git(dst, "submodule", "update", "--init", "-q", "--", path)


def make_conflict(repo, rng, pool, branch):
    """Three conflicts (UU, AA, UD); the upstream moves to the other side,
    so the branch is 1 ahead and 1 behind."""
    both, deleted = pool.pop(), pool.pop()
    git(repo, "checkout", "-q", "-b", "forja-side")
    write(repo, both, b"side\n", "ab")
    write(repo, "forja_aa.txt", b"side\n")
    git(repo, "rm", "-q", deleted)
    git(repo, "add", "-A", both, "forja_aa.txt")
    git(repo, "commit", "-q", "-m", "side")
    git(repo, "checkout", "-q", branch)
    write(repo, both, b"main\n", "ab")
    write(repo, "forja_aa.txt", b"main\n")
    write(repo, deleted, b"main\n", "ab")
    git(repo, "add", both, "forja_aa.txt", deleted)
    git(repo, "commit", "-q", "-m", "main")
    git(repo, "merge", "-q", "forja-side", check=False)
    git(repo, "update-ref", "refs/remotes/origin/" + branch, "forja-side")


def ignored_samples(repo, rng, dirs):
    """Files matching the repository's own root .gitignore, plus usual suspects."""
    made = ["node_modules/pkg/index.js", rng.choice(dirs) + "/forja_obj.o", "build/forja_out.bin"]
    try:
        lines = open(os.path.join(repo, ".gitignore"), errors="replace").read().splitlines()
    except OSError:
        lines = []
    pats = [l.strip() for l in lines if l.strip() and l[0] not in "#!"]
    for pat in rng.sample(pats, min(8, len(pats))):
        body = pat.strip("/")
        if pat.startswith("*.") and not any(c in pat[2:] for c in "*?[/"):
            made.append(rng.choice(dirs) + "/forja_ign" + pat[1:])
        elif body and not any(c in body for c in "*?[/\\ "):
            where = "" if pat.startswith("/") else rng.choice(dirs + [""])
            made.append(os.path.join(where, body) + ("/forja_inside" if pat.endswith("/") else ""))
    for rel in made:
        if not os.path.lexists(os.path.join(repo, rel)) and not os.path.isfile(os.path.join(repo, os.path.dirname(rel))):
            write(repo, rel)


def mutate(repo, rng):
    branch = git(repo, "symbolic-ref", "--short", "HEAD").decode().strip()
    index = [l.split(b"\t", 1) for l in git(repo, "ls-files", "-s", "-z").split(b"\0") if l]
    special = (".gitignore", ".gitmodules", ".gitattributes")
    pool = sorted(os.fsdecode(p) for m, p in index if m.split()[0] in (b"100644", b"100755")
                  and os.path.basename(os.fsdecode(p)) not in special
                  and os.path.isfile(os.path.join(repo, os.fsdecode(p))))
    rng.shuffle(pool)
    dirs = sorted({os.path.dirname(p) for p in pool} - {""})
    tdir = rng.choice(dirs)              # tracked directory for odd names and rules
    for p in list(pool):                 # keep tdir's own files out of the rest
        if os.path.dirname(p) == tdir:
            pool.remove(p)

    make_conflict(repo, rng, pool, branch)

    # a small directory replaced by a file, a file replaced by a directory
    small = [d for d in dirs if d != tdir and not tdir.startswith(d + "/")
             and 0 < sum(os.path.dirname(p) == d for p in pool) <= 5
             and all(p.startswith(d + "/") == (os.path.dirname(p) == d) for p in pool)]
    rng.shuffle(small)
    if small:                            # git: " D d/x" for each file, "?? d"
        d = small.pop()
        pool = [p for p in pool if not p.startswith(d + "/")]
        shutil.rmtree(os.path.join(repo, d))
        write(repo, d, b"now a file\n")
    if small:                            # moved away, a symlink in its place:
        d = small.pop()                  # git: " D d/x", "?? d", "?? d_moved/"
        pool = [p for p in pool if not p.startswith(d + "/")]
        os.rename(os.path.join(repo, d), os.path.join(repo, d + "_moved"))
        os.symlink(os.path.basename(d) + "_moved", os.path.join(repo, d))
    f = pool.pop()
    os.unlink(os.path.join(repo, f))
    write(repo, f + "/inner.txt")

    now = time.time()
    modified = [pool.pop() for _ in range(20)]
    for i, p in enumerate(modified):
        full = os.path.join(repo, p)
        st = os.stat(full)
        if i < 5 and st.st_size > 0:     # same size, same mtime: only ctime tells
            data = bytearray(open(full, "rb").read())
            data[0] = ord("#") if data[0] != ord("#") else ord("$")
            open(full, "wb").write(data)
            os.utime(full, ns=(st.st_atime_ns, st.st_mtime_ns))
        else:
            write(repo, p, b"\nforja-test\n", "ab")
    for i in range(20):                  # touched, or rewritten identically
        full = os.path.join(repo, pool.pop())
        if i % 2:
            os.utime(full, (now + 5, now + 5))
        else:
            data = open(full, "rb").read()
            open(full, "wb").write(data)
    for _ in range(5):
        os.unlink(os.path.join(repo, pool.pop()))
    for p in [p for p in pool if not os.access(os.path.join(repo, p), os.X_OK)][:3]:
        pool.remove(p)
        os.chmod(os.path.join(repo, p), 0o755)

    # the index: staged, staged then modified, staged deletions, intent to add
    git(repo, "add", *modified[5:10])
    for p in modified[8:10]:
        write(repo, p, b"again\n", "ab")
    git(repo, "rm", "-q", "--cached", pool.pop())
    git(repo, "rm", "-q", pool.pop())
    write(repo, "forja_staged_new.txt")
    git(repo, "add", "forja_staged_new.txt")
    write(repo, "forja_staged_new.txt", b"more\n", "ab")
    write(repo, "forja_ita.txt")
    git(repo, "add", "-N", "forja_ita.txt")
    p = pool.pop()                       # assume-unchanged, then modified: hidden
    git(repo, "update-index", "--assume-unchanged", p)
    write(repo, p, b"hidden\n", "ab")
    p = pool.pop()                       # skip-worktree, then deleted: hidden
    git(repo, "update-index", "--skip-worktree", p)
    os.unlink(os.path.join(repo, p))
    p = pool.pop()                       # a file become a symlink (typechange)
    os.unlink(os.path.join(repo, p))
    os.symlink("elsewhere", os.path.join(repo, p))

    # untracked: in existing dirs, a new tree, symlinks, odd names
    for d in rng.sample(dirs, min(5, len(dirs))):
        if os.path.isdir(os.path.join(repo, d)):
            write(repo, d + "/forja_untracked.txt")
    for rel in ("forja_new/a.txt", "forja_new/b/c.txt", "forja_new/b/d/e.txt"):
        write(repo, rel)
    os.symlink(pool[0], os.path.join(repo, "forja_link"))
    os.symlink(tdir, os.path.join(repo, "forja_dirlink"))
    os.symlink("nowhere", os.path.join(repo, "forja_dangling"))
    for name in (b"caf\xe9.txt", b"new\nline.txt", b'quote"d.txt', b"tab\tname", "naïve.txt".encode()):
        write(repo, os.fsencode(tdir) + b"/" + name)
    git(repo, "add", "-f", os.fsdecode(os.fsencode(tdir) + b"/caf\xe9.txt"))

    # nested repositories, empty directories, directories of ignored files
    git(repo, "init", "-q", os.path.join(repo, tdir, "forja_nested"))
    write(repo, tdir + "/forja_nested/f.txt")
    git(repo, "init", "-q", os.path.join(repo, "forja_deep/x/repo"))
    os.makedirs(os.path.join(repo, "forja_empty"))
    os.makedirs(os.path.join(repo, "forja_emptytree/a/b"))
    os.makedirs(os.path.join(repo, "forja_fakegit/.git"))   # not a repository: git hides it
    with open(os.path.join(repo, ".git/info/exclude"), "a") as f:
        f.write("*.forjaign\n/forja_excluded_root\nforja_excl_dir/\n")
    for rel in ("forja_excluded_root", tdir + "/forja_excluded_root", "forja_excl_dir/f",
                tdir + "/x.forjaign", "forja_onlyign/a.forjaign", "forja_onlyign/sub/b.forjaign",
                "forja_onlyign/empty/.keep.forjaign"):
        write(repo, rel)

    # a .gitignore of our own in a tracked directory: negation and friends
    gi = os.path.join(repo, tdir, ".gitignore")
    if not os.path.exists(gi):
        write(repo, tdir + "/.gitignore",
              b"*.o\n!keep.o\ngen/\n!gen/keep.txt\n/anchored.txt\n**/deep/*.tmp\nlinkdir/\n")
        for rel in ("a.o", "keep.o", "gen/keep.txt", "gen/x.txt", "anchored.txt",
                    "newsub/anchored.txt", "x/deep/y.tmp", "onlyign/a.o", "sub2/keep.o"):
            write(repo, tdir + "/" + rel)
        # "linkdir/" matches directories only, and a symlink is not one
        os.symlink("newsub", os.path.join(repo, tdir, "linkdir"))

    ignored_samples(repo, rng, dirs)

    # submodules: an untracked file, a modified file or a new commit
    for path in git(repo, "submodule", "--quiet", "foreach", "echo $sm_path").decode().split():
        sub = os.path.join(repo, path)
        how = rng.choice(["untracked", "modified", "commit"])
        if how == "untracked":
            write(sub, "forja_untracked.txt")
        else:
            files = git(sub, "ls-files").decode().split()
            write(sub, rng.choice(files), b"\nforja\n", "ab")
            if how == "commit":
                git(sub, "commit", "-q", "-am", "forja")
        print("    (submodule %s: %s)" % (path, how))
    return tdir


def main(argv):
    global failures
    keep = "--keep" in argv
    repos = [a for a in argv if a != "--keep"]
    if not repos:
        sys.exit(__doc__)
    scratch = tempfile.mkdtemp(prefix="forja-realrepo.")
    os.environ["FORJA_DB"] = os.path.join(scratch, "forja.db")
    try:
        for src in repos:
            try:
                repo = os.path.join(scratch, os.path.basename(os.path.abspath(src)))
                clone(os.path.abspath(src), repo)
                rng = random.Random("%d:%s" % (SEED, os.path.basename(repo)))
                files = git(repo, "ls-files").decode(errors="replace").splitlines()
                first_dir = next((f.split("/")[0] for f in files if "/" in f), "")
                compare("clean", repo, first_dir)
                tdir = mutate(repo, rng)
                compare("mutated, index stat data stale", repo, tdir)
                git(repo, "status", "-s")                       # refreshes the index
                compare("after git status refreshed the index", repo, tdir)
                git(repo, "update-index", "--index-version", "4")
                git(repo, "update-index", "--untracked-cache")
                git(repo, "status", "-s")
                compare("index v4 with an untracked cache", repo, tdir)
                subs = git(repo, "config", "-f", ".gitmodules", "--name-only", "--get-regexp",
                           r"^submodule\..*\.path$", check=False).decode().split()
                if subs:                                        # git honours .git/config too
                    for key in subs:
                        git(repo, "config", key[:-len(".path")] + ".ignore", "all")
                    compare("submodule.*.ignore=all in .git/config", repo, tdir)
            except (RuntimeError, OSError, ValueError) as err:   # a broken run is a failure too
                failures += 1
                print("FAIL %s: %s" % (src, err))
    finally:
        if keep:
            print("kept", scratch)
        else:
            shutil.rmtree(scratch, ignore_errors=True)
    print("%d mismatch(es)" % failures)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

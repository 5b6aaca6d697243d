#!/bin/sh
# `forja bootstrap` against real git repositories made here: status counts
# compared with git's own, subdirectories, worktrees, empty and bare
# repositories, submodules, odd file names, a corrupt index, the token
# budget, JSON, determinism and the cache noticing every kind of change.
. "$(dirname "$0")/lib.sh"

json_get() { # json_get EXPR < json  (python3 expression on `d`)
	python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"
}

# The four counts (staged modified untracked conflicted) as git sees them.
git_counts() {
	git -C "$1" -c status.renames=false status --porcelain=v1 --untracked-files=normal | python3 -c '
import sys
s = m = u = c = 0
for line in sys.stdin:
    x, y = line[0], line[1]
    if x + y == "??": u += 1; continue
    if x == "U" or y == "U" or x + y in ("AA", "DD"): c += 1; continue
    if x not in " ?!": s += 1
    if y not in " ?!": m += 1
print(s, m, u, c)'
}
forja_counts() {
	"$FORJA" -C "$1" bootstrap --json --no-cache | json_get '" ".join(str(d["git"]["status"][k]["count"]) for k in ("staged","modified","untracked","conflicted"))'
}
# Age every file so the cache may trust its stat data (younger than two
# seconds is "racy" and never cached); git then refreshes its index.
age() {
	find "$1" -path "$1/.git" -prune -o -exec touch -h -d '2025-01-01 00:00:00' {} + 2>/dev/null
	touch -d '2025-01-01 00:00:00' "$1/.git/config" "$1/.git/info/exclude" "$HOME/.gitconfig" 2>/dev/null
	git -C "$1" status >/dev/null 2>&1
}

# --- a plain directory -------------------------------------------------
mkdir -p "$T_DIR/plain/src"
printf 'int main(void) { return 0; }\n' > "$T_DIR/plain/src/main.c"
printf 'all:\n\tcc -o x src/main.c\n' > "$T_DIR/plain/Makefile"
run "$FORJA" -C "$T_DIR/plain" bootstrap
is "plain directory exits 0" "$RC" 0
contains "plain directory says there is no repository" "$OUT" "not a git repository"
contains "plain directory counts files" "$OUT" "Files: 2 found"

# --- a repository -------------------------------------------------------
R="$T_DIR/repo"
mkdir -p "$R/src/lib" "$R/docs"
cd "$R" || exit 1
git init -q
printf '# Demo\n\nA demo project.\nSecond line.\n' > README.md
printf 'Root rules: run make check.\n' > AGENTS.md
printf 'Lib rules: keep it small.\n' > src/lib/AGENTS.md
printf 'all:\n\tcc -o demo src/main.c\ncheck:\n\t./demo\n.PHONY: all check\n' > Makefile
printf 'int main(void) { return 0; }\n' > src/main.c
printf 'int f(void);\n' > src/lib/f.h
printf 'notes\n' > docs/notes.txt
printf '*.o\nbuild/\n' > .gitignore
git add -A && git commit -qm "first commit"
printf 'int g(void);\n' > src/lib/g.h
git add -A && git commit -qm "feat: add g"
cd - >/dev/null || exit 1

run "$FORJA" -C "$R" bootstrap
is "repository exits 0" "$RC" 0
contains "shows the branch" "$OUT" "Branch main"
contains "shows HEAD's subject" "$OUT" '"feat: add g"'
contains "lists recent commits" "$OUT" "first commit"
contains "clean status" "$OUT" "Status: clean"
contains "includes the root AGENTS.md" "$OUT" "Root rules: run make check."
lacks "leaves out AGENTS.md below the current directory" "$OUT" "Lib rules"
contains "shows the README head" "$OUT" "A demo project."
contains "finds Makefile targets" "$OUT" "make check"
contains "counts tracked files" "$OUT" "Files: 9 tracked"
contains "lists top-level entries" "$OUT" "src/"

run "$FORJA" -C "$R/src/lib" bootstrap
contains "from a subdirectory: names it" "$OUT" "working in src/lib/"
contains "from a subdirectory: root AGENTS.md" "$OUT" "Root rules"
contains "from a subdirectory: its AGENTS.md" "$OUT" "Lib rules"

# intent-to-add is not staged, a directory turned into a symlink is deleted,
# a bogus .git does not make a nested repository
G="$T_DIR/edges"
git init -q "$G"
mkdir -p "$G/d" && printf 'a\n' > "$G/d/a" && printf 'b\n' > "$G/b"
git -C "$G" add -A && git -C "$G" commit -qm edges
printf 'n\n' > "$G/n.txt" && git -C "$G" add -N n.txt
mv "$G/d" "$G/real" && ln -s real "$G/d"
mkdir -p "$G/fake/.git" && printf 'x\n' > "$G/fake/x"
is "edge cases: counts equal git's" "$(forja_counts "$G")" "$(git_counts "$G")"
root_at=$(printf '%s\n' "$OUT" | grep -n 'Root rules' | cut -d: -f1)
lib_at=$(printf '%s\n' "$OUT" | grep -n 'Lib rules' | cut -d: -f1)
check "AGENTS.md files come root first" test "$root_at" -lt "$lib_at"

# --- status counts against git -------------------------------------------
printf 'changed\n' >> "$R/src/main.c"
printf 'new\n' > "$R/new.txt"
mkdir -p "$R/newdir/deeper" "$R/build" "$R/onlyignored"
printf 'x\n' > "$R/newdir/deeper/a.txt"
printf 'obj\n' > "$R/src/x.o"
printf 'obj\n' > "$R/build/out.bin"
printf 'obj\n' > "$R/onlyignored/y.o"
printf 'staged\n' > "$R/docs/staged.txt"
git -C "$R" add docs/staged.txt
printf 'more\n' >> "$R/docs/staged.txt"
git -C "$R" rm -q --cached docs/notes.txt
rm -f "$R/src/lib/g.h"
chmod +x "$R/Makefile"
is "status counts equal git's" "$(forja_counts "$R")" "$(git_counts "$R")"
run "$FORJA" -C "$R" bootstrap --json --no-cache
untracked=$(printf '%s' "$OUT" | json_get '" ".join(d["git"]["status"]["untracked"]["paths"])')
contains "an untracked directory is one entry" "$untracked" "newdir/"
lacks "ignored files are not untracked" "$untracked" "x.o"
lacks "a directory of ignored files is not shown" "$untracked" "onlyignored"

# touched but unchanged files are clean (stat differs, content does not)
git clone -q "$R" "$T_DIR/touched"
touch "$T_DIR/touched/README.md" "$T_DIR/touched/src/main.c"
is "touched-only files are clean" "$(forja_counts "$T_DIR/touched")" "0 0 0 0"

# a merge conflict
C="$T_DIR/conflict"
git init -q "$C"
printf 'base\n' > "$C/f.txt"
git -C "$C" add f.txt && git -C "$C" commit -qm base
git -C "$C" checkout -qb other
printf 'other\n' > "$C/f.txt"
git -C "$C" commit -qam other
git -C "$C" checkout -q main
printf 'main\n' > "$C/f.txt"
git -C "$C" commit -qam main
git -C "$C" merge -q other >/dev/null 2>&1
is "conflict counts equal git's" "$(forja_counts "$C")" "$(git_counts "$C")"
run "$FORJA" -C "$C" bootstrap
contains "conflicted path is shown" "$OUT" "conflicted: f.txt"
contains "the merge in progress is said" "$OUT" "a merge is in progress"

# --- odd names ------------------------------------------------------------
N="$T_DIR/names"
git init -q "$N"
printf 'a\n' > "$N/plain.txt"
git -C "$N" add -A && git -C "$N" commit -qm names
printf 'x\n' > "$N/$(printf 'bad\377name.txt')"
printf 'x\n' > "$N/$(printf 'new\nline.txt')"
printf 'x\n' > "$N/caf$(printf '\303\251').txt"
run "$FORJA" -C "$N" bootstrap --json --no-cache
is "non-UTF-8 names: exit 0" "$RC" 0
paths=$(printf '%s' "$OUT" | json_get '"|".join(d["git"]["status"]["untracked"]["paths"])')
is "JSON stays valid and names are escaped, never dropped" "$paths" '"bad\377name.txt"|café.txt|"new\nline.txt"'
run "$FORJA" -C "$N" bootstrap --no-cache
contains "text output quotes the invalid name" "$OUT" '"bad\377name.txt"'

# --- empty, bare, worktree, detached, upstream -------------------------------
E="$T_DIR/empty"
git init -q "$E"
run "$FORJA" -C "$E" bootstrap
is "empty repository exits 0" "$RC" 0
contains "empty repository is explained" "$OUT" "no commits yet"
contains "empty repository names its branch" "$OUT" "Branch main"
printf 'x\n' > "$E/first.txt"
git -C "$E" add first.txt
is "unborn branch: staged counts equal git's" "$(forja_counts "$E")" "$(git_counts "$E")"

B="$T_DIR/bare.git"
git clone -q --bare "$R" "$B"
run "$FORJA" -C "$B" bootstrap
is "bare repository exits 0" "$RC" 0
contains "bare repository is explained" "$OUT" "bare repository"
contains "bare repository still shows HEAD" "$OUT" "feat: add g"

W="$T_DIR/wt"
git -C "$C" worktree add -q "$W" -b wtbranch 2>/dev/null || git -C "$C" worktree add "$W" -b wtbranch >/dev/null 2>&1
run "$FORJA" -C "$W" bootstrap
is "linked worktree exits 0" "$RC" 0
contains "linked worktree is recognised" "$OUT" "linked worktree"
contains "linked worktree shows its branch" "$OUT" "Branch wtbranch"

U="$T_DIR/clone"
git clone -q "$R" "$U"
printf 'local\n' > "$U/local.txt"
git -C "$U" add local.txt && git -C "$U" commit -qm "local change"
run "$FORJA" -C "$U" bootstrap
contains "upstream with ahead/behind" "$OUT" "Upstream origin/main: 1 ahead, 0 behind"
git -C "$U" checkout -q --detach HEAD
run "$FORJA" -C "$U" bootstrap
contains "detached HEAD is said" "$OUT" "Detached HEAD"

# --- submodules -------------------------------------------------------------
S="$T_DIR/super"
git init -q "$S"
printf 'x\n' > "$S/x.txt"
git -C "$S" add x.txt && git -C "$S" commit -qm super
git -C "$S" submodule add -q "$R" vendor/demo >/dev/null 2>&1
git -C "$S" commit -qm "add submodule"
run "$FORJA" -C "$S" bootstrap
is "with a submodule: exit 0" "$RC" 0
contains "submodule is listed" "$OUT" "vendor/demo"
is "with a submodule: counts equal git's" "$(forja_counts "$S")" "$(git_counts "$S")"
printf 'dirty\n' >> "$S/vendor/demo/README.md"
is "dirty submodule: counts equal git's" "$(forja_counts "$S")" "$(git_counts "$S")"

# --- corrupt index ------------------------------------------------------------
K="$T_DIR/corrupt"
git clone -q "$R" "$K"
printf 'garbage that is not an index at all....................' > "$K/.git/index"
run "$FORJA" -C "$K" bootstrap
is "corrupt index exits 1" "$RC" 1
contains "corrupt index error names the file" "$ERR" "$K/.git/index"
git clone -q "$R" "$K.2"
head -c 100 "$K.2/.git/index" > "$K.2/index.cut" && mv "$K.2/index.cut" "$K.2/.git/index"
run "$FORJA" -C "$K.2" bootstrap
is "truncated index exits 1" "$RC" 1
contains "truncated index is called corrupt" "$ERR" "corrupt git index"

# --- hostile instruction files -------------------------------------------------
H="$T_DIR/hostile"
git init -q "$H"
ln -s /etc/passwd "$H/AGENTS.md"
ln -s /etc/hostname "$H/README.md"
printf 'x\n' > "$H/x" && git -C "$H" add -A && git -C "$H" commit -qm h
run "$FORJA" -C "$H" bootstrap
is "symlinked AGENTS.md outside the repo: exit 0" "$RC" 0
lacks "a link out of the repository is not followed" "$OUT" "root:"
lacks "no README read through a link out" "$OUT" "README.md (first lines)"

# --- budget and JSON ----------------------------------------------------------
big="$T_DIR/bigagents"
git init -q "$big"
python3 -c "print('\n'.join('rule %d: be careful with everything' % i for i in range(3000)))" > "$big/AGENTS.md"
git -C "$big" add -A && git -C "$big" commit -qm big
run "$FORJA" -C "$big" bootstrap --budget 200
size=$(printf '%s\n' "$OUT" | wc -c)
check "output fits the budget (200 tokens, ~800 bytes): got $size" test "$size" -le 820
contains "says what was cut" "$OUT" "[cut to fit 200 tokens:"
run "$FORJA" -C "$big" bootstrap
size=$(printf '%s\n' "$OUT" | wc -c)
check "default budget ~2000 tokens (8000 bytes): got $size" test "$size" -le 8020
run "$FORJA" -C "$big" bootstrap --json
is "JSON keeps the AGENTS.md cap, not the budget" "$(printf '%s' "$OUT" | json_get 'd["instructions"][0]["truncated"]')" "True"

run "$FORJA" -C "$R" bootstrap --json
is "JSON parses and has the format version" "$(printf '%s' "$OUT" | json_get 'd["format"]')" "1"
is "JSON: branch" "$(printf '%s' "$OUT" | json_get 'd["git"]["branch"]')" "main"
is "JSON: commits" "$(printf '%s' "$OUT" | json_get 'len(d["git"]["commits"])')" "2"

# --- determinism and the cache ---------------------------------------------------
D="$T_DIR/cache"
git clone -q "$R" "$D"
printf 'upstream\n' > "$D/AGENTS.md"
git -C "$D" add -A && git -C "$D" commit -qm "cache base"
age "$D"
a=$("$FORJA" -C "$D" bootstrap --no-cache)
b=$("$FORJA" -C "$D" bootstrap --no-cache)
is "two fresh scans are byte-identical" "$a" "$b"
run "$FORJA" -C "$D" -v bootstrap
contains "first run scans" "$ERR" "scanned"
run "$FORJA" -C "$D" -v bootstrap
contains "repeat is answered from the cache" "$ERR" "from cache"
is "cached output equals a fresh scan" "$OUT" "$a"
run "$FORJA" -C "$D" -v bootstrap --json
contains "JSON is cached with the text" "$ERR" "from cache"

changed() { # changed NAME: the next run must rescan and show something new
	run "$FORJA" -C "$D" -v bootstrap
	contains "$1: rescanned" "$ERR" "scanned"
}
printf 'edit\n' >> "$D/src/main.c"; changed "a modified file"
contains "a modified file: shown" "$OUT" "modified: src/main.c"
git -C "$D" checkout -q -- src/main.c; age "$D"; "$FORJA" -C "$D" bootstrap >/dev/null
touch -d '2025-01-02' "$D/src/main.c"; changed "a touched file"
age "$D"; "$FORJA" -C "$D" bootstrap >/dev/null
printf 'n\n' > "$D/brand-new.txt"; changed "a new untracked file"
contains "a new untracked file: shown" "$OUT" "brand-new.txt"
rm "$D/brand-new.txt"; age "$D"; "$FORJA" -C "$D" bootstrap >/dev/null
printf 'Edited rules.\n' > "$D/AGENTS.md"; changed "an edited AGENTS.md"
contains "an edited AGENTS.md: new text" "$OUT" "Edited rules."
git -C "$D" commit -qam "new rules"; age "$D"; changed "a new commit"
contains "a new commit: shown" "$OUT" '"new rules"'
"$FORJA" -C "$D" bootstrap >/dev/null
git -C "$D" checkout -qb feature; changed "a checkout"
contains "a checkout: new branch" "$OUT" "Branch feature"
git -C "$D" checkout -q main; age "$D"; "$FORJA" -C "$D" bootstrap >/dev/null
printf 'remote\n' > "$R/remote.txt"; git -C "$R" add remote.txt; git -C "$R" commit -qm remote
git -C "$D" fetch -q; changed "a fetch"
contains "a fetch: behind" "$OUT" "1 behind"
age "$D"; "$FORJA" -C "$D" bootstrap >/dev/null
printf 'sub\n' > "$D/src/AGENTS.md"; age "$D"
run "$FORJA" -C "$D/src" -v bootstrap
contains "another cwd: its own entry" "$ERR" "scanned"
contains "another cwd: its AGENTS.md" "$OUT" "sub"
printf 'sub edited\n' > "$D/src/AGENTS.md"
run "$FORJA" -C "$D/src" -v bootstrap
contains "an edited AGENTS.md in cwd: rescanned" "$ERR" "scanned"
printf 'newignored\n' >> "$D/.git/info/exclude"; printf 'x\n' > "$D/newignored"; age "$D"
"$FORJA" -C "$D" bootstrap >/dev/null
run "$FORJA" -C "$D" bootstrap
lacks "info/exclude is honoured" "$OUT" "untracked: newignored"
printf '' > "$D/.git/info/exclude"; changed "an edited info/exclude"
contains "an edited info/exclude: file appears" "$OUT" "newignored"
run "$FORJA" -C "$D" -v bootstrap --budget 300
contains "another budget: scanned" "$ERR" "scanned"

# --- the state database ---------------------------------------------------------
age "$D"
expect=$("$FORJA" -C "$D" bootstrap --no-cache)
"$FORJA" -C "$D" bootstrap >/dev/null
python3 -c "import sqlite3; c=sqlite3.connect('$XDG_STATE_HOME/forja/forja.db'); c.execute('update cache set value=randomblob(300)'); c.commit()"
run "$FORJA" -C "$D" -v bootstrap
contains "a damaged cache entry is rescanned" "$ERR" "scanned"
is "a damaged cache entry: right output" "$OUT" "$expect"
python3 -c "import sqlite3; c=sqlite3.connect('$XDG_STATE_HOME/forja/forja.db'); c.execute('update cache set value=substr(value,1,length(value)/2)'); c.commit()"
run "$FORJA" -C "$D" bootstrap
is "a truncated cache entry: right output" "$OUT" "$expect"
pids=
for i in 1 2 3 4 5 6 7 8; do
	("$FORJA" -C "$D" bootstrap --budget $((1000 + i)) >"$T_DIR/par.$i" 2>&1; echo $? >"$T_DIR/par.$i.rc") &
	pids="$pids $!"
done
wait $pids
bad=0
for i in 1 2 3 4 5 6 7 8; do
	[ "$(cat "$T_DIR/par.$i.rc")" = 0 ] || bad=$((bad + 1))
	grep -q "warning" "$T_DIR/par.$i" && bad=$((bad + 1))
done
is "eight processes at once share the database" "$bad" 0

check "the database is where XDG_STATE_HOME says" test -f "$XDG_STATE_HOME/forja/forja.db"
python3 -c "import sqlite3; c=sqlite3.connect('$T_DIR/newer.db'); c.execute('pragma user_version=99'); c.commit()"
FORJA_DB="$T_DIR/newer.db" run "$FORJA" -C "$D" bootstrap
is "newer schema: still prints the context" "$RC" 0
contains "newer schema: a clear warning" "$ERR" "newer"
is "newer schema: the database is untouched" "$(python3 -c "import sqlite3; print(sqlite3.connect('$T_DIR/newer.db').execute('pragma user_version').fetchone()[0])")" 99
printf 'not a database, just text\n' > "$T_DIR/garbage.db"
FORJA_DB="$T_DIR/garbage.db" run "$FORJA" -C "$D" bootstrap
is "garbage database: still prints the context" "$RC" 0
contains "garbage database: says so" "$ERR" "garbage.db"
is "garbage database: file left alone" "$(cat "$T_DIR/garbage.db")" "not a database, just text"
FORJA_DB="$T_DIR/garbage.db" run "$FORJA" -q -C "$D" bootstrap
is "-q silences the cache warning" "$ERR" ""

done_testing

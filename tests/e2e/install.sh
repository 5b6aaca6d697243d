#!/bin/sh
# `make install` and `make uninstall` with PREFIX and DESTDIR: the binary,
# man pages and completions land where packagers expect them, the
# installed binary runs, and uninstall removes exactly what was installed.
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT/tests/e2e/lib.sh"
D="$T_DIR/dest"

# BUILD (from tests/run.sh) names the tree $FORJA was built in: nothing is rebuilt
run make -s -C "$ROOT" install PREFIX=/usr DESTDIR="$D" ${BUILD:+BUILD="$BUILD"}
is "make install succeeds" "$RC" 0
check "binary in DESTDIR/PREFIX/bin" test -x "$D/usr/bin/forja"
check "man page in share/man/man1" test -f "$D/usr/share/man/man1/forja.1"
check "bash completion" test -f "$D/usr/share/bash-completion/completions/forja"
check "zsh completion" test -f "$D/usr/share/zsh/site-functions/_forja"
check "fish completion" test -f "$D/usr/share/fish/vendor_completions.d/forja.fish"
check "contracts directory" test -d "$D/usr/share/forja/contracts"
run "$D/usr/bin/forja" --version
is "the installed binary runs" "$RC" 0
run man -l "$D/usr/share/man/man1/forja.1"
is "the installed man page renders" "$RC" 0

run make -s -C "$ROOT" uninstall PREFIX=/usr DESTDIR="$D" ${BUILD:+BUILD="$BUILD"}
is "make uninstall succeeds" "$RC" 0
left=$(find "$D" -type f | sed "s|^$D||")
is "uninstall leaves no file behind" "$left" ""

done_testing

#!/bin/sh
# The release packaging: `make dist` writes the same bytes twice, holds
# exactly the tracked files, sorted, under forja-VERSION/ with fixed owners,
# modes and dates, and builds on its own; `make brew-formula` names that
# tarball in a formula Ruby accepts; `make deb` (where debhelper is
# installed) builds a package lintian finds no error in, with every file in
# its Debian place and a Depends on each library the binary dlopens.  As
# root in CI the package is installed, run and removed for real.
#
# In a git checkout this works on a clone of HEAD with the work tree's
# Makefile and packaging/ laid over it: the packaging as it is now, applied
# to the committed sources, so files being edited or not yet added elsewhere
# in the work tree neither break nor race it.
here=$(cd "$(dirname "$0")/../.." && pwd)   # before lib.sh changes directory
# shellcheck source=tests/e2e/lib.sh
. "$here/tests/e2e/lib.sh"

root=$here
if [ -e "$here/.git" ]; then
	root="$T_DIR/clone"
	git clone -q "$here" "$root" || { not_ok "git clone of $here"; done_testing; exit; }
	rm -rf "$root/packaging"
	cp -R "$here/packaging" "$root/packaging"
	cp "$here/Makefile" "$root/Makefile"
fi

# The makes below are our own: no jobserver, flags or BUILD from a `make
# check` around us.  BUILD points into the scratch directory, so parsing the
# Makefile leaves the tree's build/.flags as it was.
unset MAKEFLAGS MFLAGS MAKELEVEL BUILD
mk() { make -s -C "$root" BUILD="$T_DIR/mk" "$@"; }
version=$(sed -n 's/^#define FORJA_VERSION "\(.*\)"/\1/p' "$root/include/forja/version.h")
dname="forja-$version"
tarball="$T_DIR/d1/$dname.tar.gz"
sha() { sha256sum "$1" | cut -d' ' -f1; }
skip() { ok "$1 # SKIP $2"; }

# The files a release holds: the tracked files that exist, in C order.
if [ -e "$root/.git" ]; then
	git -C "$root" -c core.quotepath=off ls-files
else
	(cd "$root" && find .ci .editorconfig .gitignore LICENSE Makefile README.md completions \
		contracts include man packaging src tests \( -type f -o -type l \) 2>/dev/null)
fi | while IFS= read -r f; do
	if [ -f "$root/$f" ] || [ -L "$root/$f" ]; then printf '%s/%s\n' "$dname" "$f"; fi
done | LC_ALL=C sort >"$T_DIR/expected"

# --- the formula ----------------------------------------------------------
formula="$root/packaging/homebrew/forja.rb"
if command -v ruby >/dev/null 2>&1; then
	run ruby -c "$formula"
	is "ruby -c accepts packaging/homebrew/forja.rb" "$RC:$OUT" "0:Syntax OK"
else
	skip "ruby -c accepts packaging/homebrew/forja.rb" "no ruby"
fi
check "the formula has a real sha256" \
	grep -Eq '^  sha256 "[0-9a-f]{64}"$' "$formula"
lacks "the sha256 is not a placeholder" "$(grep '^  sha256' "$formula")" '"0000000000'
check "the formula installs with make install PREFIX" \
	grep -q 'system "make", "install", "PREFIX=#{prefix}"' "$formula"
for dir in man bash_completion zsh_completion fish_completion; do
	check "the formula installs into brew's #{$dir}" grep -q "DIR=#{$dir}\"" "$formula"
done
check "the formula's test runs --version" grep -q '/forja --version")' "$formula"
check "the formula's test runs contracts list" grep -q '/forja contracts list")' "$formula"

# --- make dist --------------------------------------------------------------
run mk dist DIST_OUT="$T_DIR/d1"
is "make dist succeeds" "$RC" 0
contains "make dist prints the tarball's sha256" "$OUT" "$tarball"
run mk dist DIST_OUT="$T_DIR/d2"
is "a second make dist succeeds" "$RC" 0
if [ -f "$tarball" ] && [ -f "$T_DIR/d2/$dname.tar.gz" ]; then
	is "two runs of make dist give the same bytes" "$(sha "$T_DIR/d2/$dname.tar.gz")" "$(sha "$tarball")"
else
	not_ok "two runs of make dist give the same bytes" "no $tarball or $T_DIR/d2/$dname.tar.gz"
fi

tar -tzf "$tarball" >"$T_DIR/listed" 2>"$T_DIR/.err"
is "the tarball lists exactly the tracked files under $dname/, sorted" \
	"$(diff "$T_DIR/expected" "$T_DIR/listed" | head -n 20)" ""
check "the tracked files are not nothing" test "$(wc -l <"$T_DIR/expected")" -gt 50

TZ=UTC tar --numeric-owner --full-time -tvzf "$tarball" >"$T_DIR/verbose"
if [ -e "$root/.git" ] && [ -z "${SOURCE_DATE_EPOCH:-}" ]; then
	epoch=$(git -C "$root" log -1 --format=%ct)
	when=$(TZ=UTC date -d "@$epoch" '+%Y-%m-%d %H:%M:%S')
	is "every file is dated by the last commit ($when)" \
		"$(grep -vc " $when $dname/" "$T_DIR/verbose")" 0
fi
is "every file is owned by 0/0" "$(grep -vc '^[-l][^ ]* 0/0 ' "$T_DIR/verbose")" 0
is "every mode is 644 or 755" \
	"$(grep -Evc '^(-rw-r--r--|-rwxr-xr-x|lrwxrwxrwx) ' "$T_DIR/verbose")" 0
is "gzip stores no name and no time" "$(od -An -tx1 -j3 -N5 "$tarball" | tr -d ' \n')" 0000000000

run mk dist DIST_OUT="$T_DIR/d3" SOURCE_DATE_EPOCH=1000000000
is "make dist honours SOURCE_DATE_EPOCH" \
	"$(TZ=UTC tar --full-time -tvzf "$T_DIR/d3/$dname.tar.gz" | grep -vc ' 2001-09-09 01:46:40 ')" 0
run mk dist DIST_OUT="$T_DIR/d4" SOURCE_DATE_EPOCH=yesterday
is "make dist refuses a SOURCE_DATE_EPOCH that is not a number" "$RC" 2
contains "and says why" "$ERR" "SOURCE_DATE_EPOCH"

# --- the tarball on its own -------------------------------------------------
mkdir -p "$T_DIR/x"
tar -xzf "$tarball" -C "$T_DIR/x"
src="$T_DIR/x/$dname"
run make -s -C "$src" -j2
is "the unpacked tarball builds with make" "$RC" 0
[ "$RC" -eq 0 ] || printf '#   %s\n' "$(printf '%s' "$ERR" | tail -n 20)"
run "$src/forja" --version
is "its binary runs" "$OUT" "forja $version"
run "$src/forja" contracts list
contains "its binary finds the contracts beside it" "$OUT" "$src/contracts/read_file.json"
run make -s -C "$src" dist DIST_OUT="$T_DIR/d5"
is "make dist in the unpacked tarball succeeds" "$RC" 0
is "and gives the same bytes" "$(sha "$T_DIR/d5/$dname.tar.gz" 2>/dev/null)" "$(sha "$tarball")"

# --- make brew-formula --------------------------------------------------------
run mk brew-formula DIST_OUT="$T_DIR/b" BREW_FORMULA="$T_DIR/forja.rb"
is "make brew-formula succeeds" "$RC" 0
is "the formula names the sha256 of the tarball" \
	"$(sed -n 's/^  sha256 "\(.*\)"$/\1/p' "$T_DIR/forja.rb")" "$(sha "$tarball")"
check "and leaves packaging/homebrew/forja.rb alone" cmp -s "$formula" "$here/packaging/homebrew/forja.rb"
contains "the formula's url names the version" "$(grep '^  url ' "$T_DIR/forja.rb")" "/$dname.tar.gz\""
grep -v '^  \(url\|sha256\) ' "$formula" >"$T_DIR/formula.rest"
is "everything else is packaging/homebrew/forja.rb" \
	"$(grep -v '^  \(url\|sha256\) ' "$T_DIR/forja.rb" | diff "$T_DIR/formula.rest" -)" ""
if command -v ruby >/dev/null 2>&1; then
	run ruby -c "$T_DIR/forja.rb"
	is "ruby -c accepts the written formula" "$RC:$OUT" "0:Syntax OK"
fi

# --- make deb -----------------------------------------------------------------
if ! command -v dpkg-buildpackage >/dev/null 2>&1 || ! command -v dh >/dev/null 2>&1; then
	skip "make deb" "no dpkg-buildpackage or debhelper"
	done_testing
	exit
fi
run mk deb DEB_OUT="$T_DIR/deb" DEB_SCRATCH="$T_DIR/debscratch"
is "make deb succeeds" "$RC" 0
# the end of what failed, each line a TAP comment (the runner shows a few)
[ "$RC" -eq 0 ] || printf '%s\n%s\n' "$OUT" "$ERR" | grep -v '^$' | tail -n 5 | sed 's/^/#   /'
deb=$(ls "$T_DIR/deb/forja_${version}_"*.deb 2>/dev/null | head -n 1)
check "make deb puts forja_${version}_ARCH.deb in DEB_OUT" test -f "$deb"
[ -f "$deb" ] || { done_testing; exit; }

depends=$(dpkg-deb -f "$deb" Depends)
contains "Depends has the shared libraries" "$depends" "libuv1"
# every library SONAME compiled into the binary (dlopen) is a dependency
bin="$T_DIR/debscratch/$dname/forja"
sonames=$(grep -ao 'lib\(git2\|curl\|edit\)\.so\.[0-9.]*[0-9]' "$bin" | sort -u)
contains "the binary dlopens libgit2 by SONAME" "$sonames" "libgit2.so."
for so in $sonames; do
	pkg=$(dpkg-query -S "*/$so" 2>/dev/null | head -n 1 | sed 's/[:,].*//')
	case ", $depends," in
	*", $pkg,"* | *", $pkg ("*) ok "Depends has $pkg, which ships $so" ;;
	*) not_ok "Depends has $pkg, which ships $so" "Depends: $depends" ;;
	esac
done

if command -v lintian >/dev/null 2>&1; then
	lintian "$deb" >"$T_DIR/lintian" 2>&1
	is "lintian reports no error" "$(grep '^E: ' "$T_DIR/lintian")" ""
else
	skip "lintian reports no error" "no lintian"
fi

r="$T_DIR/root"
dpkg -x "$deb" "$r"
check "/usr/bin/forja" test -x "$r/usr/bin/forja"
check "forja(1)" test -f "$r/usr/share/man/man1/forja.1.gz"
check "forja-contracts(5)" test -f "$r/usr/share/man/man5/forja-contracts.5.gz"
check "forja-config(5)" test -f "$r/usr/share/man/man5/forja-config.5.gz"
check "bash completion" test -f "$r/usr/share/bash-completion/completions/forja"
check "zsh completion" test -f "$r/usr/share/zsh/vendor-completions/_forja"
check "fish completion" test -f "$r/usr/share/fish/vendor_completions.d/forja.fish"
check "copyright" test -f "$r/usr/share/doc/forja/copyright"
is "every contract in /usr/share/forja/contracts" \
	"$(cd "$r/usr/share/forja/contracts" && ls)" "$(cd "$root/contracts" && ls -- *.json)"
is "nothing outside /usr" "$(cd "$r" && ls)" usr
run "$r/usr/bin/forja" contracts list
if printf '%s\n' "$OUT" | grep -q "^read_file .* $r/usr/.*share/forja/contracts/read_file.json$"; then
	ok "the packaged binary finds its contracts in ../share/forja"
else
	not_ok "the packaged binary finds its contracts in ../share/forja" \
		"expected: read_file ... $r/usr/bin/../share/forja/contracts/read_file.json" "got: $OUT"
fi

# --- installed for real: as root in CI only ----------------------------------------
if [ "${CI:-}" != true ] || [ "$(id -u)" != 0 ]; then
	skip "the package installs, runs and removes" "not root in CI"
elif dpkg-query -W -f='${db:Status-Abbrev}' forja 2>/dev/null | grep -q '^ii'; then
	skip "the package installs, runs and removes" "a forja package is installed already"
else
	run env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$deb"
	is "apt-get install the .deb" "$RC" 0
	run /usr/bin/forja --version
	is "/usr/bin/forja runs" "$OUT" "forja $version"
	if command -v man >/dev/null 2>&1; then
		run man -w forja
		is "man -w forja finds the page" "$OUT" /usr/share/man/man1/forja.1.gz
	else
		skip "man -w forja finds the page" "no man"
	fi
	run dpkg -r forja
	is "dpkg -r forja" "$RC" 0
	check "/usr/bin/forja is gone" test ! -e /usr/bin/forja
	check "/usr/share/forja is gone" test ! -e /usr/share/forja
fi

done_testing

#!/bin/sh
# The documentation matches the binary: the man page is clean mdoc, every
# command and long flag that --help shows is in the man page and in the
# bash, zsh and fish completions, the completions load, and the README
# names the quickstart commands and every exit code.
root=$(cd "$(dirname "$0")/../.." && pwd)   # before lib.sh changes directory
# shellcheck source=tests/e2e/lib.sh
. "$root/tests/e2e/lib.sh"

man="$root/man/forja.1"
bash_comp="$root/completions/forja.bash"
zsh_comp="$root/completions/_forja"
fish_comp="$root/completions/forja.fish"
readme="$root/README.md"

# present FILE WORD: WORD occurs in FILE as a whole word ("--json", not
# "--json-seq").
present() {
	grep -Eq -- "(^|[^A-Za-z0-9_-])$2([^A-Za-z0-9_-]|\$)" "$1"
}
# fish writes "-l budget" for --budget
present_fish() {
	present "$fish_comp" "$1" || grep -Eq -- "-l ${1#--}([^A-Za-z0-9_-]|\$)" "$fish_comp"
}

# the man page, and its text as a reader sees it (mdoc writes "--json" as
# "Fl \-json"; the overstrikes for bold are removed)
man_text="$T_DIR/forja.1.txt"
if command -v mandoc >/dev/null 2>&1; then
	lint=$(mandoc -Tlint -W warning "$man" 2>&1)
	is "mandoc -Tlint -W warning man/forja.1 prints nothing" "$lint" ""
	bs=$(printf '\b')
	mandoc -Tascii "$man" | sed "s/.$bs//g" >"$man_text"
else
	ok "mandoc -Tlint # SKIP mandoc is not installed"
	sed 's/Fl \\-/--/g; s/\\-/-/g' "$man" >"$man_text"
fi

# what --help shows
run "$FORJA" --help
is "forja --help exits 0" "$RC" 0
help_out=$OUT
commands=$(printf '%s\n' "$help_out" |
	sed -n '/^Commands:/,/^$/p' | sed -n 's/^  \([a-z][a-z0-9-]*\) .*/\1/p')
if [ -n "$commands" ]; then
	ok "forja --help lists commands: $(printf '%s\n' "$commands" | tr '\n' ' ')"
else
	not_ok "forja --help lists commands" "no command found under 'Commands:'"
fi

flags=$(printf '%s\n' "$help_out" | grep -o -- '--[a-z][a-z0-9-]*')
for c in $commands; do
	run "$FORJA" help "$c"
	is "forja help $c exits 0" "$RC" 0
	flags="$flags
$(printf '%s\n' "$OUT" | grep -o -- '--[a-z][a-z0-9-]*')"
done
flags=$(printf '%s\n' "$flags" | sed '/^$/d' | sort -u)

for c in $commands; do
	if present "$man_text" "$c"; then ok "man page has command $c"
	else not_ok "man page has command $c"; fi
	for f in "$bash_comp" "$zsh_comp" "$fish_comp"; do
		if present "$f" "$c"; then ok "$(basename "$f") has command $c"
		else not_ok "$(basename "$f") has command $c"; fi
	done
done

for fl in $flags; do
	if present "$man_text" "$fl"; then ok "man page has $fl"
	else not_ok "man page has $fl"; fi
	for f in "$bash_comp" "$zsh_comp"; do
		if present "$f" "$fl"; then ok "$(basename "$f") has $fl"
		else not_ok "$(basename "$f") has $fl"; fi
	done
	if present_fish "$fl"; then ok "forja.fish has $fl"
	else not_ok "forja.fish has $fl"; fi
done

# the completions load
if command -v bash >/dev/null 2>&1; then
	run bash -c '. "$1" && complete -p forja' sh "$bash_comp"
	is "bash completion loads" "$RC" 0
	contains "bash completion is registered for forja" "$OUT" "forja"
	is "bash completion loads without messages" "$ERR" ""
	# a completion round: the commands, and bootstrap's flags
	run bash -c '. "$1"; COMP_WORDS=(forja ""); COMP_CWORD=1; _forja
		printf "%s\n" "${COMPREPLY[@]}"' sh "$bash_comp"
	for c in $commands; do
		contains "bash completes the command $c" "$OUT" "$c"
	done
	run bash -c '. "$1"; COMP_WORDS=(forja bootstrap --); COMP_CWORD=2; _forja
		printf "%s\n" "${COMPREPLY[@]}"' sh "$bash_comp"
	contains "bash completes bootstrap --budget" "$OUT" "--budget"
	contains "bash completes bootstrap --no-cache" "$OUT" "--no-cache"
	run bash -c '. "$1"; COMP_WORDS=(forja --color ""); COMP_CWORD=2; _forja
		printf "%s\n" "${COMPREPLY[@]}"' sh "$bash_comp"
	is "bash completes --color values" "$(printf '%s\n' "$OUT" | tr '\n' ' ')" "auto always never "
else
	ok "bash completion loads # SKIP bash is not installed"
fi
if command -v zsh >/dev/null 2>&1; then
	run zsh -n "$zsh_comp"
	is "zsh completion parses" "$RC:$ERR" "0:"
else
	ok "zsh completion parses # SKIP zsh is not installed"
fi
if command -v fish >/dev/null 2>&1; then
	run fish -n "$fish_comp"
	is "fish completion parses" "$RC:$ERR" "0:"
	# shellcheck disable=SC2016 # $argv is fish's
	run fish --no-config -c 'source $argv[1]; complete -C"forja bootstrap --"' "$fish_comp"
	contains "fish completes bootstrap --no-cache" "$OUT" "--no-cache"
else
	ok "fish completion parses # SKIP fish is not installed"
fi

# the README
readme_text=$(cat "$readme")
contains "README has make run" "$readme_text" "make run"
contains "README has make check" "$readme_text" "make check"
for code in 0 1 2 3 4 5 130; do
	if grep -Eq "^\| *$code *\|" "$readme"; then ok "README explains exit code $code"
	else not_ok "README explains exit code $code" "no table row '| $code |'"; fi
done

done_testing

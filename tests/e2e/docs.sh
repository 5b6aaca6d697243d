#!/bin/sh
# The documentation matches the binary: the man pages are clean mdoc, every
# command and long flag that --help shows is in forja(1) and in the bash,
# zsh and fish completions, every config key src/config.c accepts is in
# forja-config(5) and its example config is accepted, every event type and
# field src/events.c writes is in forja(1), the completions load and
# complete, and the README names the quickstart commands, every command and
# every exit code.
root=$(cd "$(dirname "$0")/../.." && pwd)   # before lib.sh changes directory
# shellcheck source=tests/e2e/lib.sh
. "$root/tests/e2e/lib.sh"

man="$root/man/forja.1"
man5="$root/man/forja-config.5"
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
	lint=$(mandoc -Tlint -W warning "$man5" 2>&1)
	is "mandoc -Tlint -W warning man/forja-config.5 prints nothing" "$lint" ""
else
	ok "mandoc -Tlint # SKIP mandoc is not installed"
	ok "mandoc -Tlint man/forja-config.5 # SKIP mandoc is not installed"
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
# the list is read from --help; make sure the parse did not lose any
for c in bootstrap exec models doctor help; do
	if printf '%s\n' "$commands" | grep -qx "$c"; then ok "the commands checked include $c"
	else not_ok "the commands checked include $c" "got: $(printf '%s\n' "$commands" | tr '\n' ' ')"; fi
done

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

# every key src/config.c accepts (its arrays top_keys, provider_keys,
# timeout_keys, retry_keys) is an item of forja-config(5)
key_arrays=$(awk '/^static const char \*const (top|provider|timeout|retry)_keys\[\]/ { print }' \
	"$root/src/config.c" | wc -l | tr -d ' ')
is "src/config.c has the four key arrays" "$key_arrays" 4
keys=$(awk '/^static const char \*const (top|provider|timeout|retry)_keys\[\]/ { on = 1; next }
	on && /^};/ { on = 0 } on' "$root/src/config.c" | grep -o '"[A-Za-z0-9_]*"' | tr -d '"' | sort -u)
if [ -n "$keys" ]; then ok "config keys read from src/config.c: $(printf '%s\n' "$keys" | tr '\n' ' ')"
else not_ok "config keys read from src/config.c" "none found"; fi
for k in $keys; do
	if grep -Eq "^\.It Li $k( |\$)" "$man5"; then ok "forja-config.5 documents $k"
	else not_ok "forja-config.5 documents $k" "no '.It Li $k' item"; fi
done

# the example config files of forja-config(5) are accepted: the first is the
# user's file, the second a project's, which must give no warning
examples="$T_DIR/examples"
mkdir -p "$examples"
awk -v dir="$examples" '/^\.Sh EXAMPLES/ { ex = 1 }
	ex && /^\.Bd -literal/ { n++; on = 1; next }
	on && /^\.Ed/ { on = 0; next }
	on { print > (dir "/" n ".json") }' "$man5"
if [ -f "$examples/1.json" ] && [ -f "$examples/2.json" ]; then
	ok "forja-config.5 has two example files"
	mkdir -p "$XDG_CONFIG_HOME/forja" "$T_DIR/proj/.forja"
	cp "$examples/1.json" "$XDG_CONFIG_HOME/forja/config.json"
	cp "$examples/2.json" "$T_DIR/proj/.forja/config.json"
	git init -q "$T_DIR/proj"
	# the example's provider reads a key file that does not exist here: the
	# provider check fails before anything goes on the network
	run env -u OPENAI_API_KEY -u ANTHROPIC_API_KEY -u OPENAI_BASE_URL -u OLLAMA_HOST \
		"$FORJA" -C "$T_DIR/proj" doctor
	cfg_lines=$(printf '%s\n' "$OUT" | grep -E '^[A-Za-z]+ +config ')
	is "the example config files are accepted" "$cfg_lines" \
		"ok    config             $XDG_CONFIG_HOME/forja/config.json, $T_DIR/proj/.forja/config.json"
	rm -rf "$XDG_CONFIG_HOME/forja" "$T_DIR/proj"
else
	not_ok "forja-config.5 has two example files" "found: $(ls "$examples")"
fi

# every event type and field src/events.c writes is an item or a member
# named in EVENTS of forja(1)
events_c="$root/src/events.c"
ev_types=$(sed -n 's/.*case EV_[A-Z_]*: return "\([a-z_]*\)";.*/\1/p' "$events_c")
if [ -n "$ev_types" ]; then ok "event types read from src/events.c: $(printf '%s\n' "$ev_types" | tr '\n' ' ')"
else not_ok "event types read from src/events.c" "none found"; fi
for t in $ev_types; do
	if grep -Eq "^\.It Li $t\$" "$man"; then ok "forja.1 documents the event $t"
	else not_ok "forja.1 documents the event $t" "no '.It Li $t' item"; fi
done
ev_fields=$( { grep -o -e 'put_key_str(&b, "[a-z_]*"' -e 'put_tokens(&b, "[a-z_]*"' "$events_c" |
	sed 's/.*"\([a-z_]*\)"/\1/'
	grep -o '\\"[a-z_]*\\":' "$events_c" | sed 's/^\\"\([a-z_]*\)\\":$/\1/'; } | sort -u)
if [ -n "$ev_fields" ]; then ok "event fields read from src/events.c: $(printf '%s\n' "$ev_fields" | tr '\n' ' ')"
else not_ok "event fields read from src/events.c" "none found"; fi
events_man=$(sed -n '/^\.Sh EVENTS/,/^\.Sh /p' "$man")
for f in $ev_fields; do
	if printf '%s\n' "$events_man" | grep -Eq "^\.Li $f( |\$)"; then ok "forja.1 EVENTS documents the field $f"
	else not_ok "forja.1 EVENTS documents the field $f" "no '.Li $f' in EVENTS"; fi
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
	run bash -c '. "$1"; COMP_WORDS=(forja exec --); COMP_CWORD=2; _forja
		printf "%s\n" "${COMPREPLY[@]}"' sh "$bash_comp"
	contains "bash completes exec --no-context" "$OUT" "--no-context"
	contains "bash completes exec --provider" "$OUT" "--provider"
	contains "bash completes exec --base-url" "$OUT" "--base-url"
	run bash -c '. "$1"; COMP_WORDS=(forja --provider ""); COMP_CWORD=2; _forja
		printf "%s\n" "${COMPREPLY[@]}"' sh "$bash_comp"
	is "bash completes --provider values" "$(printf '%s\n' "$OUT" | tr '\n' ' ')" \
		"openai anthropic ollama llamacpp lmstudio vllm openrouter "
	run bash -c '. "$1"; COMP_WORDS=(forja --provider ollama --model m ""); COMP_CWORD=5; _forja
		printf "%s\n" "${COMPREPLY[@]}"' sh "$bash_comp"
	contains "bash completes commands after --provider and --model" "$OUT" "exec"
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
	# shellcheck disable=SC2016
	run fish --no-config -c 'source $argv[1]; complete -C"forja exec --"' "$fish_comp"
	contains "fish completes exec --no-context" "$OUT" "--no-context"
	# shellcheck disable=SC2016
	run fish --no-config -c 'source $argv[1]; complete -C"forja --provider "' "$fish_comp"
	contains "fish completes --provider values" "$OUT" "llamacpp"
else
	ok "fish completion parses # SKIP fish is not installed"
fi

# the README
readme_text=$(cat "$readme")
contains "README has make run" "$readme_text" "make run"
contains "README has make check" "$readme_text" "make check"
for c in $commands; do
	contains "README has forja $c" "$readme_text" "forja $c"
done
for code in 0 1 2 3 4 5 130; do
	if grep -Eq "^\| *$code *\|" "$readme"; then ok "README explains exit code $code"
	else not_ok "README explains exit code $code" "no table row '| $code |'"; fi
done

done_testing

#!/bin/sh
# The shell completions, run for real and judged by their candidates: bash
# through its completion function (COMP_WORDS/COMP_CWORD), fish through
# `complete -C`, zsh through an interactive zsh in a pty (compinit, then Tab).
# Every command and long flag of `forja --help` and `forja help CMD` must be
# offered where it applies; session ids come from `forja sessions list
# --ids`, contract names from `forja contracts list`.
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
# shellcheck source=tests/e2e/lib.sh
. "$HERE/lib.sh"
: "${FORJA_CONTRACTS_DIR:=$ROOT/contracts}"
export FORJA_CONTRACTS_DIR
BASHC="$ROOT/completions/forja.bash"
ZSHC="$ROOT/completions/_forja"
FISHC="$ROOT/completions/forja.fish"

# forja itself on the PATH, as the completions call it
mkdir -p "$T_DIR/bin"
ln -s "$FORJA" "$T_DIR/bin/forja"
PATH="$T_DIR/bin:$PATH"
export PATH

# two recorded sessions to complete
export FORJA_DB="$T_DIR/forja.db"
HELPER="${BUILD:-$ROOT/build}/tests/test_store"
SIDS=
if [ -x "$HELPER" ] && "$HELPER" fill "$FORJA_DB" >/dev/null 2>&1; then
	SIDS=$(forja sessions list --all --ids 2>/dev/null)
fi

commands=$(forja --help | sed -n '/^Commands:/,/^$/p' | awk 'NR > 1 && NF { print $1 }')
cmd_flags() { forja help "$1" 2>/dev/null | grep -oE -- '--[a-z][a-z-]*' | sort -u; }
global_flags=$(forja --help | sed -n '/^Global options:/,/^$/p' | grep -oE -- '--[a-z][a-z-]*' | sort -u)

# ---- bash ------------------------------------------------------------------------
bash_complete() { # WORDS...: the candidates for the last word
	bash -c '. "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}; _forja
		printf "%s\n" "${COMPREPLY[@]}"' sh "$BASHC" "$@" 2>&1
}
has_line() { printf '%s\n' "$1" | grep -qxF -- "$2"; }
if command -v bash >/dev/null 2>&1; then
	got=$(bash_complete forja "")
	for c in $commands; do
		has_line "$got" "$c" && ok "bash: forja <Tab> offers $c" || not_ok "bash: forja <Tab> offers $c" "got: $got"
	done
	is "bash: forja ex<Tab> is exec" "$(bash_complete forja ex)" exec
	got=$(bash_complete forja --)
	for f in $global_flags; do
		has_line "$got" "$f" && ok "bash: forja --<Tab> offers $f" || not_ok "bash: forja --<Tab> offers $f" "got: $got"
	done
	for c in $commands; do
		got=$(bash_complete forja "$c" --)
		for f in $(cmd_flags "$c"); do
			has_line "$got" "$f" && ok "bash: forja $c --<Tab> offers $f" ||
				not_ok "bash: forja $c --<Tab> offers $f" "got: $(printf '%s' "$got" | tr '\n' ' ')"
		done
	done
	is "bash: --sandbox values" "$(bash_complete forja --sandbox "" | sort | tr '\n' ' ')" \
		"danger-full-access read-only workspace-write "
	is "bash: --approvals values" "$(bash_complete forja --approvals "" | sort | tr '\n' ' ')" "ask auto "
	is "bash: contract names after tool" "$(bash_complete forja tool re)" read_file
	if [ -n "$SIDS" ]; then
		got=$(bash_complete forja sessions show "")
		first=$(printf '%s\n' "$SIDS" | head -n 1)
		has_line "$got" "$first" && ok "bash: session ids after sessions show" ||
			not_ok "bash: session ids after sessions show" "want $first" "got: $got"
	else
		ok "bash: session ids # SKIP no test_store helper to fill a database"
	fi
else
	ok "bash # SKIP bash is not installed"
fi

# ---- fish ------------------------------------------------------------------------
fish_complete() { fish --no-config -c 'source $argv[1]; complete -C"$argv[2]"' "$FISHC" "$1" 2>&1 | cut -f1; }
if command -v fish >/dev/null 2>&1; then
	got=$(fish_complete "forja ")
	for c in $commands; do
		has_line "$got" "$c" && ok "fish: forja <Tab> offers $c" || not_ok "fish: forja <Tab> offers $c" "got: $got"
	done
	got=$(fish_complete "forja --")
	for f in $global_flags; do
		has_line "$got" "$f" && ok "fish: forja --<Tab> offers $f" || not_ok "fish: forja --<Tab> offers $f" "got: $got"
	done
	for c in $commands; do
		got=$(fish_complete "forja $c --")
		for f in $(cmd_flags "$c"); do
			has_line "$got" "$f" && ok "fish: forja $c --<Tab> offers $f" ||
				not_ok "fish: forja $c --<Tab> offers $f" "got: $(printf '%s' "$got" | tr '\n' ' ')"
		done
	done
	is "fish: --sandbox values" "$(fish_complete "forja --sandbox " | sort | tr '\n' ' ')" \
		"danger-full-access read-only workspace-write "
	is "fish: contract names after tool" "$(fish_complete "forja tool re")" read_file
	if [ -n "$SIDS" ]; then
		got=$(fish_complete "forja sessions show ")
		first=$(printf '%s\n' "$SIDS" | head -n 1)
		has_line "$got" "$first" && ok "fish: session ids after sessions show" ||
			not_ok "fish: session ids after sessions show" "want $first" "got: $got"
	fi
else
	ok "fish # SKIP fish is not installed"
fi

# ---- zsh (interactive, in a pty) -----------------------------------------------
if command -v zsh >/dev/null 2>&1 && python3 -c 'import pty' 2>/dev/null; then
	mkdir -p "$T_DIR/zfunc"
	cp "$ZSHC" "$T_DIR/zfunc/_forja"
	cat >"$T_DIR/zsh.py" <<'PY'
# One interactive zsh for every query: each line of stdin is typed, then
# Tab; the listing is read until zsh goes quiet; "==" separates them.
import os, pty, re, select, sys, time
fdir = sys.argv[1]
lines = [l.rstrip("\n") for l in sys.stdin]
pid, fd = pty.fork()
if pid == 0:
    os.environ["TERM"] = "dumb"
    os.execvp("zsh", ["zsh", "-f", "-i"])
def read(quiet, most):
    out = b""
    end = time.time() + most
    last = time.time()
    while time.time() < end and time.time() - last < quiet:
        r, _, _ = select.select([fd], [], [], 0.02)
        if r:
            try:
                d = os.read(fd, 65536)
            except OSError:
                break
            if not d:
                break
            out += d
            last = time.time()
    return out.decode("utf-8", "replace")
os.write(fd, ("PS1='%% '; fpath=(%s $fpath); autoload -U compinit; compinit -u -D; "
              "unsetopt beep; LISTMAX=10000; COLUMNS=2000; echo READY\n" % fdir).encode())
read(0.8, 10)
for line in lines:
    os.write(fd, line.encode() + b"\t")
    out = read(0.6, 8)
    os.write(fd, b"\x03")
    read(0.2, 2)
    print(re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", out))
    print("==")
os.write(fd, b"exit\n")
PY
	{
		echo "forja "
		echo "forja --"
		for c in $commands; do echo "forja $c --"; done
		echo "forja --sandbox "
		echo "forja tool "
	} >"$T_DIR/zsh.in"
	python3 "$T_DIR/zsh.py" "$T_DIR/zfunc" <"$T_DIR/zsh.in" >"$T_DIR/zsh.out" 2>&1
	# zsh_block N: the listing of query N (from 1)
	zsh_block() { awk -v n="$1" 'BEGIN { k = 1 } /^==$/ { k++; next } k == n' "$T_DIR/zsh.out"; }
	got=$(zsh_block 1)
	for c in $commands; do
		contains "zsh: forja <Tab> lists $c" "$got" "$c"
	done
	got=$(zsh_block 2)
	for f in $global_flags; do
		contains "zsh: forja --<Tab> lists $f" "$got" "$f"
	done
	i=3
	for c in $commands; do
		got=$(zsh_block $i)
		for f in $(cmd_flags "$c"); do
			contains "zsh: forja $c --<Tab> lists $f" "$got" "$f"
		done
		i=$((i + 1))
	done
	contains "zsh: --sandbox values" "$(zsh_block $i)" "workspace-write"
	contains "zsh: contract names after tool" "$(zsh_block $((i + 1)))" "read_file"
else
	ok "zsh # SKIP zsh or python3's pty is not available"
fi

done_testing

# The line editor on a pseudo-terminal: typed lines, backslash
# continuations, pastes (plain, bracketed, 1 MB), Ctrl-C, Up, Ctrl-D and
# the history file.  The driver is tests/e2e/term_pty.py (Python's pty
# module); it prints the TAP.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
if ! command -v python3 >/dev/null 2>&1; then
	echo "1..0 # SKIP python3 not found"
	exit 0
fi
python3 "$here/term_pty.py"

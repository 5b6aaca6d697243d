# Shared helpers for the end-to-end tests: TAP output, a scratch directory
# that is removed on exit, an isolated HOME/XDG state, and git with a fixed
# identity and dates so repositories are reproducible.
set -u
: "${FORJA:?FORJA must point to the forja binary}"
T_COUNT=0
T_FAILED=0
T_DIR=$(mktemp -d "${TMPDIR:-/tmp}/forja-e2e.XXXXXX")
trap 'rm -rf "$T_DIR"' EXIT
export HOME="$T_DIR/home"
export XDG_STATE_HOME="$T_DIR/state"
export XDG_CONFIG_HOME="$T_DIR/config"
mkdir -p "$HOME"
cd "$T_DIR" || exit 1
unset NO_COLOR GIT_DIR GIT_WORK_TREE GIT_INDEX_FILE
export GIT_AUTHOR_NAME=Tester GIT_AUTHOR_EMAIL=t@example.com
export GIT_COMMITTER_NAME=Tester GIT_COMMITTER_EMAIL=t@example.com
export GIT_AUTHOR_DATE='2026-01-02T03:04:05Z' GIT_COMMITTER_DATE='2026-01-02T03:04:05Z'
export GIT_CONFIG_NOSYSTEM=1
git config --global init.defaultBranch main
git config --global advice.detachedHead false
git config --global protocol.file.allow always

ok() { T_COUNT=$((T_COUNT + 1)); echo "ok $T_COUNT - $1"; }
not_ok() {
	T_COUNT=$((T_COUNT + 1)); T_FAILED=$((T_FAILED + 1))
	echo "not ok $T_COUNT - $1"
	shift
	for line in "$@"; do echo "#   $line"; done
}
# check NAME COMMAND...: passes when the command succeeds.
check() { name=$1; shift; if "$@"; then ok "$name"; else not_ok "$name" "command failed: $*"; fi; }
# is NAME GOT WANT
is() {
	if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1" "expected: $3" "     got: $2"; fi
}
# contains NAME HAYSTACK NEEDLE
contains() {
	case "$2" in
	*"$3"*) ok "$1" ;;
	*) not_ok "$1" "expected to contain: $3" "in: $(printf '%s' "$2" | head -c 2000)" ;;
	esac
}
lacks() {
	case "$2" in
	*"$3"*) not_ok "$1" "expected not to contain: $3" "in: $(printf '%s' "$2" | head -c 2000)" ;;
	*) ok "$1" ;;
	esac
}
done_testing() { echo "1..$T_COUNT"; [ "$T_FAILED" -eq 0 ]; }
# run CMD...: sets OUT, ERR and RC.
run() {
	"$@" >"$T_DIR/.out" 2>"$T_DIR/.err"
	RC=$?
	OUT=$(cat "$T_DIR/.out")
	ERR=$(cat "$T_DIR/.err")
}
# start_fake SCRIPT LOG: the fake LLM server ($FAKES/llm_server.py) in the
# background on a free port, answering from SCRIPT and logging each request
# to LOG (its stderr to LOG.err); sets FAKE_PID and FAKE_BASE (its …/v1 URL).
start_fake() {
	: >"$2"
	: >"$T_DIR/port"
	python3 -S "$FAKES/llm_server.py" --port 0 --script "$1" --log "$2" \
		>"$T_DIR/port" 2>"$2.err" &
	FAKE_PID=$!
	i=0
	while [ $i -lt 250 ] && ! grep -q '^PORT ' "$T_DIR/port"; do sleep 0.02; i=$((i + 1)); done
	FAKE_BASE="http://127.0.0.1:$(sed -n 's/^PORT //p' "$T_DIR/port")/v1"
}

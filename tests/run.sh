#!/bin/sh
# Runs every test (unit binaries in $BUILD/tests, e2e scripts in tests/e2e)
# against $FORJA, prints the failures with their diagnostics, and ends with
# one line "N passed, N failed".  Exit status 1 when anything failed.
# Each test speaks TAP, so `prove` can run them one by one as well.
set -u
here=$(cd "$(dirname "$0")" && pwd)
: "${FORJA:=$here/../forja}"
: "${BUILD:=$here/../build}"
export FORJA BUILD
passed=0 failed=0 broken=
logdir=$(mktemp -d "${TMPDIR:-/tmp}/forja-tests.XXXXXX")
trap 'rm -rf "$logdir"' EXIT

run_one() {
	name=$1; shift
	log="$logdir/$(echo "$name" | tr '/' '_').log"
	"$@" >"$log" 2>&1
	status=$?
	p=$(grep -c '^ok ' "$log")
	f=$(grep -c '^not ok ' "$log")
	plan=$(sed -n 's/^1\.\.\([0-9]*\).*/\1/p' "$log" | tail -n 1)
	if [ -z "$plan" ] || [ $((p + f)) -ne "$plan" ] || { [ "$status" -ne 0 ] && [ "$f" -eq 0 ]; }; then
		# A crash, a sanitizer report or a missing plan counts as a failure.
		f=$((f + 1))
		broken="$broken $name"
		echo "FAIL $name: exit status $status, plan '${plan:-none}', $p ok, $f not ok"
		sed 's/^/    /' "$log" | tail -n 40
	elif [ "$f" -gt 0 ]; then
		echo "FAIL $name"
		grep -A6 '^not ok ' "$log" | sed 's/^/    /'
	else
		[ -n "${VERBOSE:-}" ] && echo "ok   $name ($p)"
	fi
	passed=$((passed + p))
	failed=$((failed + f))
}

for t in "$BUILD"/tests/test_*; do
	[ -x "$t" ] || continue
	case "$t" in *.d) continue ;; esac
	run_one "unit/$(basename "$t")" "$t"
done
for t in "$here"/e2e/*.sh; do
	[ -f "$t" ] || continue
	[ "$(basename "$t")" = lib.sh ] && continue
	run_one "e2e/$(basename "$t")" sh "$t"
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]

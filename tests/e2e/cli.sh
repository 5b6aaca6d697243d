#!/bin/sh
# The command-line skeleton: version, help, unknown commands and flags with
# suggestions, -C, colour, exit codes.
. "$(dirname "$0")/lib.sh"

run "$FORJA" --version
is "--version exits 0" "$RC" 0
contains "--version prints the version" "$OUT" "forja 0."

run "$FORJA" --help
is "--help exits 0" "$RC" 0
contains "--help lists bootstrap" "$OUT" "bootstrap"
contains "--help lists -C" "$OUT" "-C DIR"
contains "--help shows the exit codes" "$OUT" "130 interrupted"

run "$FORJA" help bootstrap
is "help COMMAND exits 0" "$RC" 0
contains "help bootstrap shows its usage" "$OUT" "usage: forja bootstrap"
contains "help bootstrap shows --no-cache" "$OUT" "--no-cache"

run "$FORJA" bootstrap --help
is "COMMAND --help exits 0" "$RC" 0
contains "bootstrap --help shows --budget" "$OUT" "--budget"

run "$FORJA" bootstap
is "unknown command exits 2" "$RC" 2
contains "unknown command suggests the closest" "$ERR" "did you mean 'bootstrap'?"
is "unknown command error is one line" "$(printf '%s\n' "$ERR" | wc -l | tr -d ' ')" 1

run "$FORJA" frobnicate
is "unrelated command exits 2" "$RC" 2
contains "unrelated command points to --help" "$ERR" "forja --help"

run "$FORJA" --jsno
is "unknown global flag exits 2" "$RC" 2
contains "unknown global flag suggests --json" "$ERR" "did you mean '--json'?"

run "$FORJA" bootstrap --no-cahce
is "unknown command flag exits 2" "$RC" 2
contains "unknown command flag suggests --no-cache" "$ERR" "did you mean '--no-cache'?"

run "$FORJA" bootstrap --budget
is "missing value exits 2" "$RC" 2
contains "missing value is named" "$ERR" "needs a value"

run "$FORJA" bootstrap --budget ten
is "bad budget exits 2" "$RC" 2
contains "bad budget names the value" "$ERR" "got 'ten'"

run "$FORJA" --color=sometimes --version
is "bad --color exits 2" "$RC" 2
contains "bad --color lists the choices" "$ERR" "auto, always or never"

run "$FORJA" help nosuch
is "help for an unknown command exits 2" "$RC" 2

run "$FORJA" -C "$T_DIR/does-not-exist" bootstrap
is "-C to a missing directory exits 2" "$RC" 2
contains "-C names the directory" "$ERR" "does-not-exist"

mkdir -p "$T_DIR/plain/sub"
echo hi > "$T_DIR/plain/sub/file.txt"
run "$FORJA" -C "$T_DIR/plain" bootstrap
is "-C runs there" "$RC" 0
contains "-C scans that directory" "$OUT" "Project plain"

run "$FORJA" -C "$T_DIR/plain" --base-url http://127.0.0.1:9/v1 --model m </dev/null
is "no command starts the session; end of input ends it: exit 0" "$RC" 0
contains "no command: the session's banner" "$OUT" "sandbox workspace-write"

# colour: errors are plain when not a terminal, coloured on request
run "$FORJA" --color=always nosuch
contains "--color=always colours errors" "$ERR" "$(printf '\033[')"
run "$FORJA" nosuch
lacks "no colour when stderr is not a terminal" "$ERR" "$(printf '\033[')"
NO_COLOR=1 run "$FORJA" --color=auto nosuch
lacks "NO_COLOR keeps errors plain" "$ERR" "$(printf '\033[')"

# common flags also work after the command
run "$FORJA" -C "$T_DIR/plain" bootstrap --json
is "--json after the command" "$RC" 0
contains "--json after the command gives JSON" "$OUT" '"format":'

# bundled short flags and -q
run "$FORJA" -C "$T_DIR/plain" -qv bootstrap
is "bundled short flags are accepted" "$RC" 0

# writing to a closed pipe is not an error worth a message
out=$("$FORJA" --help 2>&1 | head -n 1)
contains "output into a pipe that closes early" "$out" "usage: forja"

done_testing

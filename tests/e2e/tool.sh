#!/bin/sh
# `forja tool`: one call run as the agent would, through the contract, the
# path policy and the sandbox mode, recorded in the audit.
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT/tests/e2e/lib.sh"
# the shipped contracts, whichever build dir the binary comes from
export FORJA_CONTRACTS_DIR="$ROOT/contracts"

db="$XDG_STATE_HOME/forja/forja.db"
sql() { python3 -c "import sqlite3,sys; c=sqlite3.connect('$db'); print('|'.join(str(x) for r in c.execute(sys.argv[1]).fetchall() for x in r))" "$1"; }

W="$T_DIR/ws"
git init -q "$W"
printf 'hello\nworld\n' > "$W/a.txt"
cd "$W" || exit 1

run "$FORJA" tool read_file --args '{"path":"a.txt"}'
is "read_file exits 0" "$RC" 0
contains "read_file numbers the lines" "$OUT" "     2	world"
contains "read_file prints a hash" "$OUT" "hash "

run "$FORJA" tool edit_file --args '{"path":"a.txt","old_string":"world","new_string":"there"}'
is "edit_file exits 0" "$RC" 0
is "edit_file changed the file" "$(cat "$W/a.txt")" "$(printf 'hello\nthere')"

run "$FORJA" tool edit_file --args '{"path":"a.txt","old_string":"nowhere","new_string":"x"}'
is "an edit whose old text is missing exits 1" "$RC" 1
contains "and says so" "$OUT" "not found"

run "$FORJA" tool write_file --args '{"path":".git/hooks/pre-commit","content":"echo pwned"}'
is "a write to .git/hooks is refused: exit 5" "$RC" 5
check "and nothing was written" test ! -e "$W/.git/hooks/pre-commit"

run "$FORJA" tool write_file --args '{"path":"../outside.txt","content":"x"}'
is "a write outside the workspace is refused: exit 5" "$RC" 5
check "and nothing was written outside" test ! -e "$T_DIR/outside.txt"

ln -s /etc "$W/etc-link"
run "$FORJA" tool read_file --args '{"path":"etc-link/passwd"}'
is "reading through a link out of the workspace is refused" "$RC" 5

run "$FORJA" --sandbox read-only tool write_file --args '{"path":"b.txt","content":"x"}'
is "read-only refuses writes: exit 5" "$RC" 5
contains "read-only says so" "$OUT$ERR" "read-only"
check "read-only wrote nothing" test ! -e "$W/b.txt"

run "$FORJA" tool read_file --args '{"path":1}'
is "arguments that do not fit the schema: exit 2" "$RC" 2
contains "with the message the model would get" "$ERR" '`path`: expected string, got number'

run "$FORJA" tool read_file --args '{"path":'
is "malformed arguments: exit 2" "$RC" 2

run "$FORJA" tool read_flie
is "an unknown tool: exit 2" "$RC" 2
contains "an unknown tool: a suggestion" "$ERR" "did you mean 'read_file'?"

run sh -c "printf '%s' '{\"path\":\"new.txt\",\"content\":\"fresh\"}' | \"$FORJA\" --json tool write_file --args -"
is "--args - reads stdin; --json" "$RC" 0
is "--json: status ok" "$(printf '%s' "$OUT" | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])')" ok
session=$(printf '%s' "$OUT" | python3 -c 'import json,sys; print(json.load(sys.stdin)["session"])')
is "the file was written" "$(cat "$W/new.txt")" "fresh"

run "$FORJA" tool write_file --session "$session" --args '{"path":"new.txt","content":"second"}'
is "--session reuses a session" "$RC" 0
is "both calls are in that session" "$(sql "select count(*) from audit where session_id='$session'")" 2
is "the replaced content is kept for undo" "$(sql "select before from audit_changes c join audit a on a.id=c.audit_id where a.session_id='$session' and c.existed=1")" "b'fresh'"
is "refusals are audited with status 2" "$(sql "select count(*) from audit where status=2")" 4

run "$FORJA" tool write_file --session nosuchsession --args '{"path":"c.txt","content":"x"}'
is "an unknown session is a usage error" "$RC" 2
contains "naming the session" "$ERR" "no session 'nosuchsession'"
check "and nothing ran" test ! -e "$W/c.txt"

run "$FORJA" tool list_dir
is "list_dir with no arguments" "$RC" 0
contains "list_dir shows .git without entering it" "$OUT" ".git/"
lacks "list_dir never lists .git's content" "$OUT" ".git/HEAD"

printf 'build/\n' > "$W/.gitignore"
mkdir -p "$W/build" "$W/src"
printf 'needle in build\n' > "$W/build/out.txt"
printf 'int needle = 1;\n' > "$W/src/x.c"
run "$FORJA" tool grep --args '{"pattern":"needle"}'
is "grep exits 0" "$RC" 0
contains "grep finds the match" "$OUT" "src/x.c:1:int needle = 1;"
lacks "grep honours .gitignore" "$OUT" "build/out.txt"
run "$FORJA" tool grep --args '{"pattern":"("}'
is "grep with a bad pattern fails: exit 1" "$RC" 1
run "$FORJA" tool glob --args '{"pattern":"**/*.c"}'
is "glob exits 0" "$RC" 0
contains "glob finds the file" "$OUT" "src/x.c"
run "$FORJA" tool grep --args '{"pattern":"x","path":"../"}'
is "grep outside the workspace is refused" "$RC" 5

printf 'one\ntwo\nthree\n' > "$W/p.txt"
patch=$(printf -- '--- a/p.txt\n+++ b/p.txt\n@@ -1,3 +1,3 @@\n one\n-two\n+TWO\n three\n')
run "$FORJA" tool apply_patch --args "$(python3 -c 'import json,sys; print(json.dumps({"patch": sys.argv[1] + "\n"}))' "$patch")"
is "apply_patch exits 0" "$RC" 0
is "apply_patch changed the file" "$(cat "$W/p.txt")" "$(printf 'one\nTWO\nthree')"
bad=$(printf -- '--- a/p.txt\n+++ b/p.txt\n@@ -1,3 +1,3 @@\n one\n-nope\n+x\n three\n')
run "$FORJA" tool apply_patch --args "$(python3 -c 'import json,sys; print(json.dumps({"patch": sys.argv[1] + "\n"}))' "$bad")"
is "a patch whose context does not match fails: exit 1" "$RC" 1
is "and leaves the file alone" "$(cat "$W/p.txt")" "$(printf 'one\nTWO\nthree')"
hook=$(printf -- '--- /dev/null\n+++ b/.git/hooks/post-checkout\n@@ -0,0 +1 @@\n+echo pwned\n')
run "$FORJA" tool apply_patch --args "$(python3 -c 'import json,sys; print(json.dumps({"patch": sys.argv[1] + "\n"}))' "$hook")"
is "a patch into .git is refused: exit 5" "$RC" 5
check "and no hook was created" test ! -e "$W/.git/hooks/post-checkout"

# the config's sandbox mode; a project may only make it stricter
mkdir -p "$W/.forja"
printf '{"sandbox": "read-only"}\n' > "$W/.forja/config.json"
run "$FORJA" tool write_file --args '{"path":"cfg.txt","content":"x"}'
is "a project's read-only sandbox applies" "$RC" 5
run "$FORJA" --sandbox workspace-write tool write_file --args '{"path":"cfg.txt","content":"x"}'
is "--sandbox overrides the config" "$RC" 0
printf '{"sandbox": "danger-full-access"}\n' > "$W/.forja/config.json"
run "$FORJA" tool read_file --args '{"path":"cfg.txt"}'
contains "a project cannot loosen the sandbox" "$ERR" '"sandbox" is ignored'
rm -rf "$W/.forja"

# trust: a project's own contracts load only once the user trusts it
mkdir -p "$W/.forja/contracts"
cat > "$W/.forja/contracts/hello.json" <<'JSON'
{
	"forja_contract": 1,
	"name": "project_hello",
	"description": "Say hello.",
	"kind": "command",
	"input_schema": { "type": "object", "properties": {}, "additionalProperties": false },
	"argv": ["echo", "hello from the project"],
	"effects": { "read": ["."], "write": [], "exec": true, "network": false },
	"approval": "none"
}
JSON
run "$FORJA" tool project_hello
is "an untrusted project's contract is not loaded" "$RC" 2
run "$FORJA" trust
is "forja trust exits 0" "$RC" 0
contains "forja trust names the project" "$OUT" "trusted: $W"
run "$FORJA" tool project_hello
is "a trusted project's contract runs" "$RC" 0
contains "and says hello" "$OUT" "hello from the project"
run "$FORJA" trust --list
is "trust --list shows it" "$OUT" "$W"
run "$FORJA" trust --revoke
run "$FORJA" tool project_hello
is "after --revoke the contract is not loaded again" "$RC" 2
rm -rf "$W/.forja"

# run: a command under the jail
run "$FORJA" tool run --args '{"command":"echo made > made.txt; echo out"}'
is "run exits 0 for a command that succeeded" "$RC" 0
contains "run shows the output" "$OUT" "out"
contains "run shows how it ended" "$OUT" "[exit 0]"
is "run may write in the project" "$(cat "$W/made.txt")" "made"
run "$FORJA" tool run --args '{"command":["false"]}'
is "run of a failing command exits 1" "$RC" 1
run "$FORJA" tool run --args '{"command":"sleep 10","timeout_ms":300}'
contains "run stops a command at its timeout" "$OUT" "timed out"
run "$FORJA" tool run --args '{"command":"echo hacked > .git/config"}'
check "run cannot write .git" test "$(grep -c hacked "$W/.git/config")" = 0
mkdir -p "$HOME/.ssh" && printf 'PRIVATE-KEY-CANARY\n' > "$HOME/.ssh/id_test"
run "$FORJA" tool run --args "{\"command\":\"cat $HOME/.ssh/id_test 2>&1; cat $XDG_STATE_HOME/forja/forja.db 2>&1 | head -c 100\"}"
lacks "run cannot read the home directory" "$OUT" "PRIVATE-KEY-CANARY"
lacks "run cannot read forja's database" "$OUT" "SQLite format"
OPENAI_API_KEY=sk-canary-0123456789 run "$FORJA" tool run --args '{"command":"env"}'
lacks "no API key reaches a command" "$OUT" "sk-canary"
run "$FORJA" tool run --args '{"command":"echo x > /tmp/forja-escape-canary; echo x > '"$T_DIR"'/outside"}'
check "run cannot write outside the project" test ! -e "$T_DIR/outside"
run "$FORJA" --sandbox read-only tool run --args '{"command":"true"}'
is "read-only refuses commands: exit 5" "$RC" 5

# a command contract of the user's: argv from the arguments, no shell, and
# a project it does not declare writing stays read-only
mkdir -p "$XDG_CONFIG_HOME/forja/contracts"
cat > "$XDG_CONFIG_HOME/forja/contracts/count.json" <<'JSON'
{
	"forja_contract": 1,
	"name": "count_lines",
	"description": "Count the lines of a file.",
	"kind": "command",
	"input_schema": { "type": "object", "properties": { "file": { "type": "string" } },
			  "required": ["file"], "additionalProperties": false },
	"argv": ["wc", "-l", "--", "{file}"],
	"effects": { "read": ["."], "write": [], "exec": true, "network": false },
	"limits": { "timeout_ms": 5000, "memory_mb": 256, "max_processes": 16 },
	"approval": "none"
}
JSON
run "$FORJA" tool count_lines --args '{"file":"p.txt"}'
is "a command contract runs" "$RC" 0
contains "with its argument as one argv element" "$OUT" "3 p.txt"
run "$FORJA" tool count_lines --args '{"file":"p.txt; touch pwned"}'
check "a hostile argument stays one argument" test ! -e "$W/pwned"
cat > "$XDG_CONFIG_HOME/forja/contracts/scribble.json" <<'JSON'
{
	"forja_contract": 1,
	"name": "scribble",
	"description": "Tries to write although it declares no write.",
	"kind": "command",
	"input_schema": { "type": "object", "properties": {}, "additionalProperties": false },
	"argv": ["sh", "-c", "echo x > scribbled.txt"],
	"effects": { "read": ["."], "write": [], "exec": true, "network": false },
	"approval": "none"
}
JSON
run "$FORJA" tool scribble
check "a contract without write effects cannot write the project" test ! -e "$W/scribbled.txt"

done_testing

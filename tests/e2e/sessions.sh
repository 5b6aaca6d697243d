#!/bin/sh
# forja sessions: list (this project's, --all, --ids, --json), show, export
# (Markdown and JSON), rm, and the errors for wrong ids and subcommands,
# against a state database filled through the store API by the `fill` mode
# of the test_store binary (tests/unit/test_store.c).
root=$(cd "$(dirname "$0")/../.." && pwd)   # before lib.sh changes directory
# shellcheck source=tests/e2e/lib.sh
. "$root/tests/e2e/lib.sh"

helper=${BUILD:-$root/build}/tests/test_store
if [ ! -x "$helper" ]; then
	ok "sessions # SKIP $helper is not built (make unit)"
	done_testing
	exit
fi
export TZ=UTC
unset FORJA_DB
db="$XDG_STATE_HOME/forja/forja.db"

git init -q proj
mkdir -p proj/src other
proj=$(cd proj && pwd -P)
other=$(cd other && pwd -P)
tab=$(printf '\t')
esc=$(printf '\033')
A=1111aaaa000000000000000000000001
B=1111bbbb000000000000000000000002
C=2222cccc000000000000000000000003
D=3333dddd000000000000000000000004
long="a title long enough that it cannot fit in sixty characters of a pipe, so it is cut"

# fields separated by tabs; an escape sequence in A's title and first prompt
{
	printf 'session\t%s\tchat\t%s\t%s\tfix the %s[31mparser%s[0m\topenai\tgpt-4o\n' \
		"$A" "$proj/src" "$proj" "$esc" "$esc"
	printf 'message\t%s\tuser\t{"content":"fix the parser\\u001b[2J please"}\n' "$A"
	printf 'message\t%s\tassistant\t%s\n' "$A" \
		'{"content":"Reading it.","calls":[{"id":"c1","name":"read_file","arguments":"{\"path\":\"src/p.c\"}"},{"id":"c2","name":"run","arguments":"{\"cmd\":\"make\"}"}]}'
	printf 'call\t%s\tc1\tread_file\t{"path":"src/p.c"}\t2\n' "$A"
	printf 'call\t%s\tc2\trun\t{"cmd":"make"}\t2\n' "$A"
	printf 'approval\t%s\tc1\tauto\n' "$A"
	printf 'finish\t%s\tc1\tok\t0\t12\tint parse(void);\n' "$A"
	printf 'finish\t%s\tc2\tfailed\t2\t1500\tmake: *** error\n' "$A"
	printf 'message\t%s\ttool\t{"tool_call_id":"c1","tool_name":"read_file","content":"int parse(void);"}\n' "$A"
	printf 'message\t%s\ttool\t{"tool_call_id":"c2","tool_name":"run","content":"make: *** error","is_error":true}\n' "$A"
	printf 'message\t%s\tsummary\t{"content":"The parser was read."}\n' "$A"
	printf 'message\t%s\tassistant\t{"content":"Fixed."}\n' "$A"
	printf 'usage\t%s\topenai\tgpt-4o\t1200\t300\t0.0125\n' "$A"
	printf 'audit\t%s\twrite_file\tsrc/p.c\n' "$A"
	printf 'session\t%s\tchat\t%s\t%s\t%s\t-\t-\n' "$B" "$proj" "$proj" "$long"
	printf 'message\t%s\tuser\t{"content":"second"}\n' "$B"
	printf 'usage\t%s\tollama\tllama3\t10\t5\t-1\n' "$B"
	printf 'session\t%s\tchat\t%s\t%s\telsewhere\tanthropic\tclaude\n' "$C" "$other" "$other"
	printf 'session\t%s\ttool\t%s\t-\t-\t-\t-\n' "$D" "$proj"
	printf 'times\t%s\t1795000000\t1795003600\n' "$A"
	printf 'times\t%s\t1795000000\t1795007200\n' "$B"
	printf 'times\t%s\t1795000000\t1795010000\n' "$C"
	printf 'times\t%s\t1795000000\t1795000000\n' "$D"
} >fill.txt
run "$helper" fill "$db" <fill.txt
is "the database is filled" "$RC:$ERR" "0:"

cd proj || exit 1
run "$FORJA" sessions
is "sessions exits 0" "$RC" 0
is "sessions lists this project's two chat sessions, newest first" \
	"$(printf '%s\n' "$OUT" | cut -c1-26)" "1111bbbb  2026-11-18 13:06
1111aaaa  2026-11-18 12:06"
first=$(printf '%s\n' "$OUT" | sed -n 1p)
second=$(printf '%s\n' "$OUT" | sed -n 2p)
contains "... with the number of messages" "$second" "    6 msg"
contains "... the model" "$second" "gpt-4o"
contains "... the model of the last response when the session has none" "$first" "llama3"
contains "... and the title" "$second" "fix the [31mparser[0m"
lacks "... with no escape character reaching the terminal" "$OUT" "$esc"
lacks "... and not another project's" "$OUT" "elsewhere"
title=${first##*llama3  }
is "a title is cut to 60 characters when not a terminal" \
	"$(printf '%s' "$title" | wc -m | tr -d ' ')" 60
contains "... ending with an ellipsis" "$title" "…"

run "$FORJA" sessions list
is "list is the default" "$OUT" "$(cd "$T_DIR/proj" && "$FORJA" sessions)"
run "$FORJA" -C src sessions list
is "a subdirectory lists its repository's sessions" "$(printf '%s\n' "$OUT" | cut -c1-8 | tr '\n' ' ')" \
	"1111bbbb 1111aaaa "
run "$FORJA" -C "$other" sessions list
is "outside a repository the directory is the project" "$(printf '%s\n' "$OUT" | cut -c1-8)" "2222cccc"

run "$FORJA" sessions list --ids
is "--ids prints the full ids, newest first" "$RC:$OUT" "0:$B
$A"
run "$FORJA" sessions list --all --ids
is "--all --ids: every session" "$OUT" "$C
$B
$A
$D"
run "$FORJA" sessions list --all
is "--all exits 0" "$RC" 0
contains "--all shows the project" "$(printf '%s\n' "$OUT" | sed -n 1p)" "$other"
contains "... of each session" "$(printf '%s\n' "$OUT" | sed -n 3p)" "$proj"
contains "... and (untitled) when there is no title" "$(printf '%s\n' "$OUT" | sed -n 4p)" "(untitled)"

run "$FORJA" sessions list --json
is "--json exits 0" "$RC" 0
json_check=$(printf '%s' "$OUT" | python3 -c '
import json, sys
v = json.load(sys.stdin)
a = v[1]
print(len(v), v[0]["id"][:8], a["id"][:8], a["created_at"], a["updated_at"], a["kind"],
      a["project"].endswith("/proj"), a["cwd"].endswith("/proj/src"), a["provider"], a["model"],
      a["messages"], a["prompt_tokens"], a["completion_tokens"], a["cost"], v[0]["cost"],
      repr(a["title"]))' 2>&1)
is "--json: an array of the sessions with their fields" "$json_check" \
	"2 1111bbbb 1111aaaa 2026-11-18T11:06:40Z 2026-11-18T12:06:40Z chat True True openai gpt-4o 6 1200 300 0.0125 None 'fix the \\x1b[31mparser\\x1b[0m'"

run "$FORJA" sessions show 1111aaaa
is "show exits 0" "$RC" 0
contains "show prints the id" "$OUT" "session  $A"
contains "... the project" "$OUT" "project  $proj"
contains "... the model" "$OUT" "model    openai/gpt-4o"
contains "... the tokens" "$OUT" "tokens   1200 prompt, 300 completion"
contains "... the cost" "$OUT" "cost     \$0.0125"
contains "... the user's prompt, sanitised" "$OUT" "user:
fix the parser[2J please"
contains "... the assistant's text" "$OUT" "assistant:
Reading it."
contains "... each tool call on one line with its status and duration" "$OUT" \
	'> read_file {"path":"src/p.c"}  ok, 12 ms'
contains "... and the exit code of a failed one" "$OUT" '> run {"cmd":"make"}  failed (exit 2), 1.5 s'
contains "... the summary marked" "$OUT" "summary (of the conversation before it):
The parser was read."
lacks "... no escape character" "$OUT" "$esc"
lacks "... and no tool output" "$OUT" "int parse(void);"

run "$FORJA" sessions show 1111aaaa --json
is "show --json exits 0" "$RC" 0
show_json=$OUT
json_check=$(printf '%s' "$OUT" | python3 -c '
import json, sys
v = json.load(sys.stdin)
m, c = v["messages"], v["tool_calls"]
print(v["session"]["id"], len(m), [x["seq"] for x in m], m[1]["role"],
      m[1]["body"]["calls"][1]["name"], repr(m[0]["body"]["content"]), m[3]["body"]["is_error"],
      len(c), c[0]["status"], c[0]["approval"], c[1]["exit_code"], c[1]["duration_ms"],
      c[1]["result"], c[1]["approval"])' 2>&1)
is "show --json: the session, parsed messages and tool calls" "$json_check" \
	"$A 6 [1, 2, 3, 4, 5, 6] assistant run 'fix the parser\\x1b[2J please' True 2 ok auto 2 1500 make: *** error None"

run "$FORJA" sessions export 1111aaaa
is "export exits 0" "$RC" 0
md=$OUT
contains "export is Markdown: the title as heading" "$(printf '%s\n' "$md" | sed -n 1p)" "# fix the [31mparser[0m"
contains "... a heading per turn" "$md" "## Turn 1

### User

fix the parser[2J please"
contains "... the tool call with its arguments in a json block" "$md" '#### Tool call: read_file (ok, 12 ms)

```json
{
  "path": "src/p.c"
}
```'
contains "... its result in a text block" "$md" '#### Result of run (failed (exit 2), 1.5 s)

```text
make: *** error
```'
contains "... and the summary" "$md" "## Summary of the conversation before it"
lacks "... no escape character" "$md" "$esc"
run "$FORJA" sessions export 1111aaaa --markdown
is "--markdown is the default" "$OUT" "$md"
run "$FORJA" sessions export 1111aaaa --json
is "export --json is show --json" "$RC:$OUT" "0:$show_json"
run "$FORJA" sessions export 1111aaaa --json --markdown
is "--json and --markdown together are refused" "$RC" 2

run "$FORJA" sessions show "$(echo "$A" | tr a-f A-F)"
is "a full id in capitals works" "$RC" 0
run "$FORJA" sessions show 1111
is "an ambiguous prefix exits 2" "$RC" 2
contains "... naming the candidates" "$ERR" "$A"
contains "... both of them" "$ERR" "$B"
run "$FORJA" sessions show beef
is "an unknown id exits 2" "$RC:$ERR" "2:forja: sessions show: no session beef"
run "$FORJA" sessions export 111
is "a 3-digit prefix exits 2" "$RC" 2
contains "... saying it is too short" "$ERR" "too short"
run "$FORJA" sessions show 'zz;x'
is "a non-hex id exits 2" "$RC" 2
contains "... saying it is not an id" "$ERR" "is not a session id"
run "$FORJA" sessions show "$A" "$B"
is "show takes one id" "$RC" 2

run "$FORJA" sessions shwo 1111aaaa
is "a misspelt subcommand exits 2" "$RC" 2
contains "... with a suggestion" "$ERR" "did you mean 'show'?"
run "$FORJA" sessions list --idz
is "a misspelt flag exits 2" "$RC" 2
contains "... with a suggestion" "$ERR" "did you mean '--ids'?"
run "$FORJA" sessions show --ids 1111aaaa
is "--ids only goes with list" "$RC:$ERR" "2:forja: sessions show: --ids only goes with list"
run "$FORJA" sessions list --markdown
is "--markdown only goes with export" "$RC" 2
run "$FORJA" sessions rm
is "rm without an id exits 2" "$RC" 2

run "$FORJA" sessions rm 1111aaaa beef 2222
is "rm with an unknown id exits 2" "$RC" 2
is "... after removing the others" "$OUT" "removed $A
removed $C"
is "... naming the unknown one" "$ERR" "forja: sessions rm: no session beef"
run "$FORJA" sessions list --all --ids
is "the removed sessions are gone" "$OUT" "$B
$D"
run "$FORJA" sessions show "$A"
is "... and cannot be shown" "$RC" 2
run "$FORJA" -q sessions rm 3333
is "rm -q prints nothing" "$RC:$OUT" "0:"

# hostile content: invalid UTF-8, a body that is not JSON, arguments on
# several lines, escape sequences in JSON and raw
E=4444eeee000000000000000000000005
{
	printf 'session\t%s\tchat\t%s\t%s\tbad \377 byte %s]0;pwned\a\t-\tm\n' "$E" "$proj" "$proj" "$esc"
	printf 'message\t%s\tuser\tnot json %s[1m at all \377\n' "$E" "$esc"
	printf 'message\t%s\tassistant\t{"content":"x","calls":[{"id":"k","name":"ed\\u001bit","arguments":"{\\n\\"a\\": \\"\\u009b31m\\"\\n}"}]}\n' "$E"
	printf 'message\t%s\ttool\t{"tool_call_id":"k","content":"\377\\u001b[2J"}\n' "$E"
} >hostile.txt
run "$helper" fill "$db" <hostile.txt
is "hostile content is stored" "$RC:$ERR" "0:"
run "$FORJA" sessions list
is "list with hostile content exits 0" "$RC" 0
lacks "... and prints no escape character" "$OUT" "$esc"
lacks "... nor a BEL" "$OUT" "$(printf '\a')"
contains "... with the invalid byte replaced" "$OUT" "bad � byte ]0;pwned"
run "$FORJA" sessions show 4444
is "show with hostile content exits 0" "$RC" 0
lacks "... and prints no escape character" "$OUT" "$esc"
lacks "... nor a C1 control" "$OUT" "$(printf '\302\233')"
contains "... a body that is not JSON is shown as text" "$OUT" "not json [1m at all �"
contains "... the arguments on one line" "$OUT" '> edit { "a": "31m" }  not finished'
run "$FORJA" sessions export 4444
is "export with hostile content exits 0" "$RC" 0
lacks "... and prints no escape character" "$OUT" "$esc"
run "$FORJA" sessions show 4444 --json
json_check=$(printf '%s' "$OUT" | python3 -c '
import json, sys
v = json.load(sys.stdin)
print(repr(v["session"]["title"]), repr(v["messages"][0]["body"]), repr(v["messages"][2]["body"]["content"]))' 2>&1)
is "show --json with hostile content is valid JSON, control characters escaped" "$json_check" \
	"'bad � byte \\x1b]0;pwned\\x07' 'not json \\x1b[1m at all �' '�\\x1b[2J'"
run "$FORJA" sessions list --all --json
is "list --json with hostile content is valid JSON" \
	"$(printf '%s' "$OUT" | python3 -c 'import json, sys; print(len(json.load(sys.stdin)))' 2>&1)" 2

run "$FORJA" sessions --help
contains "sessions --help shows the subcommands" "$OUT" "show ID"

done_testing

#!/bin/sh
# The agent loop end to end: `forja exec` in a real git repository against
# the fake LLM server, the model's tool calls really run (file tools under
# the path policy, commands in the jail), results sent back, every step in
# the session store; approvals and sandbox refusals and their exit codes;
# limits; a session continued with --session; a forja killed with -9 in
# the middle of a command, then resumed.
HERE=$(cd "$(dirname "$0")" && pwd)
FAKES=$(cd "$HERE/../fakes" && pwd)
# shellcheck source=tests/e2e/lib.sh
. "$HERE/lib.sh"
unset OPENAI_API_KEY ANTHROPIC_API_KEY OLLAMA_HOST OPENAI_BASE_URL ANTHROPIC_BASE_URL
: "${FORJA_CONTRACTS_DIR:=$HERE/../../contracts}"
export FORJA_CONTRACTS_DIR
KEY=sk-agent-e2e-0123456789
export FORJA_DB="$T_DIR/forja.db"

SRV_PID=''
stop_server() {
	if [ -n "$SRV_PID" ]; then
		kill -TERM "$SRV_PID" 2>/dev/null
		wait "$SRV_PID" 2>/dev/null
		SRV_PID=
	fi
}
trap 'stop_server; rm -rf "$T_DIR"' EXIT

# gen.py SPEC...: a fake-server script from a compact description, one
# entry per argument: text:WORDS | call:NAME:JSON-ARGS (one tool call) |
# calls:NAME:JSON;NAME:JSON (several).  Each entry answers in order.
cat >"$T_DIR/gen.py" <<'PY'
import json, sys
def chunk(delta, finish=None):
    return {"data": {"id": "c", "object": "chat.completion.chunk", "model": "m",
                     "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}}
def usage():
    return {"data": {"id": "c", "object": "chat.completion.chunk", "model": "m", "choices": [],
                     "usage": {"prompt_tokens": 100, "completion_tokens": 10, "total_tokens": 110}}}
seq = []
for n, spec in enumerate(sys.argv[1:]):
    kind, _, rest = spec.partition(":")
    ev = [chunk({"role": "assistant", "content": ""})]
    if kind == "text":
        ev.append(chunk({"content": rest}))
        ev.append(chunk({}, "stop"))
    else:
        calls = rest.split(";") if kind == "calls" else [rest]
        for i, c in enumerate(calls):
            name, _, args = c.partition(":")
            ev.append(chunk({"tool_calls": [{"index": i, "id": "call_%d_%d" % (n, i), "type": "function",
                                              "function": {"name": name, "arguments": ""}}]}))
            # the arguments in two pieces, as servers send them
            h = len(args) // 2
            ev.append(chunk({"tool_calls": [{"index": i, "function": {"arguments": args[:h]}}]}))
            ev.append(chunk({"tool_calls": [{"index": i, "function": {"arguments": args[h:]}}]}))
        ev.append(chunk({}, "tool_calls"))
    ev.append(usage())
    ev.append({"data": "[DONE]"})
    seq.append({"api": "openai-chat", "status": 200, "events": ev})
json.dump({"check_request": True, "sequence": seq}, sys.stdout)
PY

# serve SPEC...: a fresh server for this scenario; LOG holds its requests.
N=0
serve() {
	stop_server
	N=$((N + 1))
	LOG="$T_DIR/llm$N.log"
	: >"$LOG"
	python3 "$T_DIR/gen.py" "$@" >"$T_DIR/script$N.json"
	start_fake "$T_DIR/script$N.json" "$LOG"
	SRV_PID=$FAKE_PID BASE=$FAKE_BASE
}
fx() { OPENAI_API_KEY=$KEY "$FORJA" exec --base-url "$BASE" --model m "$@" </dev/null; }
# q EXPR: a Python expression over the last run's events (evs, types) and
# the server's requests (reqs; msgs(i) the messages of request i).
q() {
	python3 -S - "$T_DIR/.out" "$LOG" "$1" <<'PY'
import json, sys
evs = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8") if l.strip()]
types = [e["type"] for e in evs]
reqs = [json.loads(l) for l in open(sys.argv[2], encoding="utf-8") if l.strip()]
def msgs(i):
    return reqs[i]["body"]["messages"]
def of(t):
    return [e for e in evs if e["type"] == t]
sys.stdout.write(str(eval(sys.argv[3])))
PY
}
db() { python3 -S -c 'import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); print("\n".join("|".join(str(x) for x in r) for r in c.execute(sys.argv[2])))' "$FORJA_DB" "$1"; }

W="$T_DIR/w"
mkdir -p "$W/src"
cd "$W" || exit 1
git init -q .
printf 'int main(void) { return 0; }\n' >src/main.c
printf 'one\ntwo\nthree\n' >notes.txt
git add . && git commit -qm init

# --- a write, then the answer -------------------------------------------------
serve 'call:write_file:{"path":"hello.txt","content":"hi there\n"}' 'text:Wrote hello.txt.'
run fx --json --output-last-message "$T_DIR/last.txt" "create hello.txt"
is "write then answer: exit 0" "$RC" 0
is "write then answer: the file is written" "$(cat "$W/hello.txt" 2>&1)" "hi there"
is "write then answer: tool_start, approval, tool_end in order" \
	"$(q '[t for t in types if t in ("tool_start", "approval", "tool_end")]')" \
	"['approval', 'tool_start', 'tool_end']"
is "write then answer: auto approval for exec" "$(q 'of("approval")[0]["decision"]')" auto
is "write then answer: tool_end ok with a diff" "$(q 'of("tool_end")[0]["status"] + " " + str("+hi there" in of("tool_end")[0]["diff"])')" "ok True"
is "write then answer: two requests" "$(q 'len(reqs)')" 2
is "write then answer: the second request carries the result for call_0_0" \
	"$(q '[m["role"] + ":" + m.get("tool_call_id", "") for m in msgs(1)][-2:]')" \
	"['assistant:', 'tool:call_0_0']"
is "write then answer: the tools are offered" "$(q 'sorted(t["function"]["name"] for t in reqs[0]["body"]["tools"])[:3]')" \
	"['apply_patch', 'edit_file', 'glob']"
is "write then answer: the answer" "$(q '"".join(e["text"] for e in of("text_delta"))')" "Wrote hello.txt."
is "--output-last-message writes the final answer" "$(cat "$T_DIR/last.txt")" "Wrote hello.txt."
is "the summary event: status, calls, requests, files changed" \
	"$(q 'str([of("summary")[0][k] for k in ("status", "exit_code", "requests", "tool_calls", "files_changed")])')" \
	"['ok', 0, 2, 1, ['hello.txt']]"
is "summary then done are the last two events" "$(q 'types[-2:]')" "['summary', 'done']"
SID=$(q 'of("done")[0]["session"]')
is "write then answer: the session id is in the done event" "${#SID}" 32
is "the store has the 4 steps" "$(db "select group_concat(role, ',') from (select role from messages where session_id = '$SID' order by seq)")" \
	"user,assistant,tool,assistant"
is "the store has the call with its approval and status" \
	"$(db "select name, approval, status, exit_code from tool_calls where session_id = '$SID'")" "write_file|auto|ok|-1"
is "the audit keeps what the file was (nothing)" \
	"$(db "select c.path, c.existed from audit a join audit_changes c on c.audit_id = a.id where a.session_id = '$SID'")" "hello.txt|0"
is "usage recorded for both responses" "$(db "select count(*), sum(prompt_tokens) from usage where session_id = '$SID'")" "2|200"
lacks "the API key is not in the database" "$(db "select group_concat(body) from messages")$(db "select group_concat(arguments) from tool_calls")" "$KEY"

# --- continue the session -------------------------------------------------------
serve 'text:It says hi there.'
run fx --json --session "$(printf %s "$SID" | cut -c1-8)" "what does it say?"
is "--session PREFIX: exit 0" "$RC" 0
is "--session: the history goes with the new prompt" \
	"$(q '[m["role"] for m in msgs(0)]')" "['system', 'user', 'assistant', 'tool', 'assistant', 'user']"
is "--session: same session" "$(q 'of("done")[0]["session"]')" "$SID"
run fx --session ffffffff "x"
is "--session with an unknown id: exit 2" "$RC" 2
contains "--session unknown: says so" "$ERR" "ffffffff"

# --- a command: output streamed, then results ---------------------------------
serve 'call:run:{"command":"echo out-line; echo err-line >&2; exit 3"}' 'text:It failed with 3.'
run fx --json "run it"
is "run: exit 0 (the command failed, the turn did not)" "$RC" 0
is "run: stdout streamed as tool_output" "$(q '"out-line" in "".join(e["text"] for e in of("tool_output") if e["stream"] == "stdout")')" True
is "run: stderr streamed as tool_output" "$(q '"err-line" in "".join(e["text"] for e in of("tool_output") if e["stream"] == "stderr")')" True
is "run: the summary lists what the command changed" "$(q 'of("summary")[0]["files_changed"]')" "[]"
is "run: tool_end failed with exit 3" "$(q 'of("tool_end")[0]["status"] + " " + str(of("tool_end")[0]["exit_code"])')" "failed 3"
contains "run: the model gets the exit status" "$(q 'msgs(1)[-1]["content"]')" "[exit 3]"

# --- refusals -------------------------------------------------------------------
serve 'call:write_file:{"path":"no.txt","content":"x"}' 'text:I could not write.'
run fx --json --sandbox read-only "write"
is "read-only: a write is denied and the run exits 5" "$RC" 5
check "read-only: nothing written" test ! -e "$W/no.txt"
is "read-only: the approval event says denied" "$(q 'of("approval")[0]["decision"]')" denied
contains "read-only: the model is told why" "$(q 'msgs(1)[-1]["content"]')" "read-only"

serve 'call:run:{"command":"touch made-it"}' 'text:Denied.'
run fx --json --approvals ask "make a file"
is "approvals ask without a terminal: exit 5" "$RC" 5
check "approvals ask without a terminal: nothing ran" test ! -e "$W/made-it"
contains "approvals ask without a terminal: the result names --approvals auto" "$(q 'msgs(1)[-1]["content"]')" "--approvals auto"

serve 'call:write_file:{"path":".git/hooks/pre-commit","content":"#!/bin/sh\nexit 0\n"}' 'text:ok'
run fx --json "install a hook"
check "a write into .git is refused" test ! -e "$W/.git/hooks/pre-commit"
is "a write into .git: tool_end denied" "$(q 'of("tool_end")[0]["status"]')" denied

serve 'call:read_file:{"path":42}' 'text:ok'
run fx --json "read"
is "bad arguments: the turn goes on (exit 0)" "$RC" 0
contains "bad arguments: the model gets the schema error" "$(q 'msgs(1)[-1]["content"]')" "path"
serve 'call:no_such_tool:{}' 'text:ok'
run fx --json "x"
contains "unknown tool: the model gets the list" "$(q 'msgs(1)[-1]["content"]')" "read_file"

# --- parallel reads, results in call order ------------------------------------------
serve 'calls:read_file:{"path":"notes.txt"};grep:{"pattern":"main"};list_dir:{"path":"src"}' 'text:done'
run fx --json "look"
is "three calls: three results in call order" "$(q '[m.get("tool_call_id") for m in msgs(1) if m["role"] == "tool"]')" \
	"['call_0_0', 'call_0_1', 'call_0_2']"
contains "three calls: read_file's content" "$(q 'msgs(1)[-3]["content"]')" "two"

# --- limits ---------------------------------------------------------------------------
mkdir -p "$XDG_CONFIG_HOME/forja"
printf '{"limits": {"max_turns": 2}}\n' >"$XDG_CONFIG_HOME/forja/config.json"
serve 'call:list_dir:{"path":"."}'
run fx --json "loop forever"
is "max_turns 2: exit 1" "$RC" 1
is "max_turns 2: exactly two requests" "$(q 'len(reqs)')" 2
contains "max_turns 2: the error names the limit" "$(q 'of("error")[0]["message"]')" "max_turns"
rm "$XDG_CONFIG_HOME/forja/config.json"

# --- kill -9 while a command runs, then continue ------------------------------------------
serve 'call:run:{"command":"sleep 31.5"}' 'text:resumed fine'
OPENAI_API_KEY=$KEY "$FORJA" exec --json --base-url "$BASE" --model m "sleep" </dev/null >"$T_DIR/k.out" 2>&1 &
FPID=$!
i=0
while [ $i -lt 200 ] && ! grep -q tool_start "$T_DIR/k.out"; do sleep 0.05; i=$((i + 1)); done
kill -9 "$FPID"
wait "$FPID" 2>/dev/null
KSID=$(db "select id from sessions order by created_at desc, rowid desc limit 1")
is "kill -9: the assistant's call was committed" "$(db "select name, coalesce(status, 'none') from tool_calls where session_id = '$KSID'")" "run|none"
serve 'text:resumed fine'
run fx --json --session "$KSID" "go on"
is "after kill -9: the session continues (exit 0)" "$RC" 0
contains "after kill -9: the unfinished call gets a result saying so" \
	"$(q '[m["content"] for m in msgs(0) if m["role"] == "tool"]')" "forja stopped before this call finished"
is "after kill -9: the history is valid (call then result then the new prompt)" \
	"$(q '[m["role"] for m in msgs(0)][-3:]')" "['assistant', 'tool', 'user']"
sleep 0.2
is "after kill -9: no sleep left running" "$(ps -eo args | grep -c '^sleep 31[.]5$')" 0
# the next jailed call removes the cgroup the killed forja left behind
"$FORJA" tool run --args '{"command":"true"}' >/dev/null 2>&1
is "after kill -9: its cgroups are removed by the next call" \
	"$(find /sys/fs/cgroup -maxdepth 4 -name "forja-$FPID-*" 2>/dev/null | wc -l | tr -d ' ')" 0

done_testing

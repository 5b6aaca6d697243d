#!/bin/sh
# The interactive session (`forja` with no command): fed from a pipe (each
# line a prompt, plain output), slash commands, /diff and /undo of file
# tools and of commands, --continue and `forja sessions resume`, --json;
# then at a real terminal (tests/e2e/chat_pty.py).
HERE=$(cd "$(dirname "$0")" && pwd)
FAKES=$(cd "$HERE/../fakes" && pwd)
# shellcheck source=tests/e2e/lib.sh
. "$HERE/lib.sh"
unset OPENAI_API_KEY ANTHROPIC_API_KEY OLLAMA_HOST OPENAI_BASE_URL ANTHROPIC_BASE_URL
: "${FORJA_CONTRACTS_DIR:=$HERE/../../contracts}"
export FORJA_CONTRACTS_DIR
export FORJA_DB="$T_DIR/forja.db" FORJA_SHADOW_DIR="$T_DIR/shadow"
KEY=sk-chat-e2e-42

SRV_PID=''
stop_server() {
	[ -n "$SRV_PID" ] && kill -TERM "$SRV_PID" 2>/dev/null && wait "$SRV_PID" 2>/dev/null
	SRV_PID=
}
trap 'stop_server; rm -rf "$T_DIR"' EXIT

# script entries keyed by the number of assistant messages so far (turn):
# T:text:WORDS or T:call:NAME:JSON
cat >"$T_DIR/gen.py" <<'PY'
import json, sys
def chunk(delta, finish=None):
    return {"data": {"id": "c", "object": "chat.completion.chunk", "model": "m",
                     "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}}
seq = []
for spec in sys.argv[1:]:
    turn, kind, rest = spec.split(":", 2)
    ev = [chunk({"role": "assistant", "content": ""})]
    if kind == "text":
        ev += [chunk({"content": rest}), chunk({}, "stop")]
    else:
        name, _, args = rest.partition(":")
        ev += [chunk({"tool_calls": [{"index": 0, "id": "call_t" + turn, "type": "function",
                                      "function": {"name": name, "arguments": args}}]}),
               chunk({}, "tool_calls")]
    ev.append({"data": "[DONE]"})
    seq.append({"api": "openai-chat", "events": ev, "when_turn": int(turn)})
json.dump({"check_request": True, "sequence": seq}, sys.stdout)
PY
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
# chat LINES...: the session fed one prompt per argument
chat() {
	printf '%s\n' "$@" | OPENAI_API_KEY=$KEY "$FORJA" --base-url "$BASE" --model m --color never
}
nreq() { grep -c . "$LOG"; }
lastmsgs() { python3 -S -c 'import json,sys; r=[json.loads(l) for l in open(sys.argv[1]) if l.strip()]; print([m["role"] for m in r[-1]["body"]["messages"]])' "$LOG"; }

W="$T_DIR/w"
mkdir -p "$W"
cd "$W" || exit 1
git init -q .
printf 'one\ntwo\n' >notes.txt
printf 'build/\n' >.gitignore
git add . && git commit -qm init

# --- prompts from a pipe, file writes, /diff, /undo ------------------------------
serve '0:call:write_file:{"path":"hello.txt","content":"hi\n"}' '1:text:Wrote it.' \
	'2:call:edit_file:{"path":"notes.txt","old_string":"two","new_string":"TWO"}' '3:text:Edited.' \
	'4:call:run:{"command":"echo made > made.txt; mkdir -p build; echo x > build/ignored.txt"}' '5:text:Ran.'
run chat "write hello" "edit notes" "/diff" "make a file" "/undo" "/undo" "/undo" "/undo" "/status"
is "piped session: exit 0" "$RC" 0
contains "piped session: the answers" "$OUT" "Wrote it."
contains "piped session: the second answer" "$OUT" "Edited."
contains "/diff shows the new file" "$OUT" "+hi"
contains "/diff shows the edit" "$OUT" "+TWO"
is "/undo x3: hello.txt is gone" "$(test -e hello.txt && echo present || echo gone)" gone
is "/undo x3: notes.txt is back" "$(cat notes.txt)" "one
two"
is "/undo of a command: made.txt is gone" "$(test -e made.txt && echo present || echo gone)" gone
is "/undo leaves ignored files alone" "$(cat build/ignored.txt 2>&1)" x
contains "a fourth /undo has nothing to undo" "$OUT" "nothing to undo"
contains "/status names the session" "$OUT" "session"
lacks "no escape sequences when not a terminal" "$OUT" "$(printf '\033[')"
is "the user's repository is untouched by snapshots" "$(git status --porcelain --ignored | sort | tr '\n' ' ')" "!! build/ "
is "no stash, no new refs in the user's repository" "$(git stash list; git for-each-ref | wc -l | tr -d ' ')" 1
SID=$(python3 -S -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("select id from sessions where kind = ? order by updated_at desc limit 1", ("chat",)).fetchone()[0])' "$FORJA_DB")
is "the session is recorded as chat" "${#SID}" 32

# --- slash commands ----------------------------------------------------------------
serve '0:text:unused'
run chat "/sandbox read-only" "/approvals auto" "/status" "/bogus" "/model" "/help" "/cost" "/sessions" "/exit" "never sent"
is "slash commands: exit 0" "$RC" 0
contains "/sandbox read-only" "$OUT" "sandbox read-only"
contains "/approvals auto" "$OUT" "approvals auto"
contains "/bogus: not a command" "$OUT" "/bogus is not a command"
contains "/model shows the model" "$OUT" "model m"
contains "/help lists /undo" "$OUT" "/undo"
contains "/cost" "$OUT" "tokens in"
contains "/sessions lists this project's" "$OUT" "$(printf %s "$SID" | cut -c1-8)"
is "/exit: nothing after it is sent" "$(nreq)" 0

# --- --continue and sessions resume ---------------------------------------------------
serve '0:text:first' '1:text:second' '2:text:third'
run chat "remember: 42"
SID2=$(python3 -S -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("select id from sessions order by updated_at desc, rowid desc limit 1").fetchone()[0])' "$FORJA_DB")
run sh -c "printf 'what was it?\n' | OPENAI_API_KEY=$KEY '$FORJA' --continue --base-url '$BASE' --model m --color never"
is "--continue: exit 0" "$RC" 0
is "--continue: the earlier exchange goes with the prompt" "$(lastmsgs)" "['system', 'user', 'assistant', 'user']"
run sh -c "printf 'and now?\n' | OPENAI_API_KEY=$KEY '$FORJA' --base-url '$BASE' --model m --color never sessions resume $(printf %s "$SID2" | cut -c1-10)"
is "sessions resume ID: exit 0" "$RC" 0
is "sessions resume: the whole history goes" "$(lastmsgs)" "['system', 'user', 'assistant', 'user', 'assistant', 'user']"
run sh -c "cd '$T_DIR' && mkdir -p other && cd other && printf 'x\n' | OPENAI_API_KEY=$KEY '$FORJA' --continue --base-url '$BASE' --model m"
is "--continue where there is no session: exit 2" "$RC" 2
contains "--continue with none: says so" "$ERR" "no earlier session"

# --- --json: one event per line --------------------------------------------------------
serve '0:text:json answer'
run sh -c "printf 'hi\n' | OPENAI_API_KEY=$KEY '$FORJA' --json --base-url '$BASE' --model m"
is "--json: every line is JSON" "$(printf '%s\n' "$OUT" | python3 -S -c 'import json,sys; [json.loads(l) for l in sys.stdin if l.strip()]; print("ok")' 2>&1)" ok
contains "--json: the turn_end event" "$OUT" '"type":"turn_end"'

stop_server
# --- at a terminal ----------------------------------------------------------------------
if python3 -c 'import pty' 2>/dev/null; then
	python3 "$HERE/chat_pty.py" "$FORJA" "$FAKES" >"$T_DIR/pty.tap" 2>&1
	prc=$?
	while IFS= read -r line; do
		case "$line" in
		"ok "*) ok "pty: ${line#ok [0-9]* - }" ;;
		"not ok "*) not_ok "pty: ${line#not ok [0-9]* - }" ;;
		"#"*) echo "$line" ;;
		esac
	done <"$T_DIR/pty.tap"
	[ "$prc" -le 1 ] || not_ok "pty: the script ran to its end" "exit $prc" "$(tail -20 "$T_DIR/pty.tap")"
else
	ok "pty tests # SKIP python3 has no pty module"
fi

done_testing

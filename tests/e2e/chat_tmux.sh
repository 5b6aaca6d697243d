#!/bin/sh
# The interactive session in a real terminal emulator: forja runs in a
# tmux pane (100x30) in a git repository against the fake LLM server, and
# the test types into it with send-keys and reads the screen with
# capture-pane, as a person would: a streamed answer, a write approved with
# y, a command refused with n and a reason, Ctrl-C during a running
# command, /undo, then Ctrl-D.  A wrapper prints forja's exit status and
# the terminal's modes after it, so a terminal left raw is seen.
HERE=$(cd "$(dirname "$0")" && pwd)
FAKES=$(cd "$HERE/../fakes" && pwd)
# shellcheck source=tests/e2e/lib.sh
. "$HERE/lib.sh"
unset OPENAI_API_KEY ANTHROPIC_API_KEY OLLAMA_HOST OPENAI_BASE_URL ANTHROPIC_BASE_URL TMUX TMUX_PANE
: "${FORJA_CONTRACTS_DIR:=$HERE/../../contracts}"
export FORJA_CONTRACTS_DIR

if ! command -v tmux >/dev/null 2>&1; then
	ok "the session in tmux # SKIP tmux is not installed"
	done_testing
	exit 0
fi

SOCK="$T_DIR/tmux.sock"
SRV_PID=''
cleanup() {
	tmux -S "$SOCK" kill-server 2>/dev/null
	if [ -n "$SRV_PID" ]; then
		kill -TERM "$SRV_PID" 2>/dev/null
		wait "$SRV_PID" 2>/dev/null
	fi
	rm -rf "$T_DIR"
}
trap cleanup EXIT
# a server of our own, with our own settings: the pane stays when its
# program ends (so its status can be read), and keeps the whole session
printf 'set -g remain-on-exit on\nset -g history-limit 5000\n' >"$T_DIR/tmux.conf"
tm() { tmux -S "$SOCK" -f "$T_DIR/tmux.conf" "$@"; }

# the conversation, by turn (the number of assistant messages so far)
cat >"$T_DIR/script.py" <<'PY'
import json
def chunk(delta, finish=None):
    return {"data": {"id": "c", "object": "chat.completion.chunk", "model": "m",
                     "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}}
def text(turn, words, **extra):
    ev = [chunk({"role": "assistant", "content": ""})]
    ev += [chunk({"content": w + " "}) for w in words.split()]
    ev += [chunk({}, "stop"), {"data": "[DONE]"}]
    return dict({"api": "openai-chat", "events": ev, "when_turn": turn}, **extra)
def call(turn, name, args):
    ev = [chunk({"role": "assistant", "content": ""}),
          chunk({"tool_calls": [{"index": 0, "id": "call_%d" % turn, "type": "function",
                                 "function": {"name": name, "arguments": json.dumps(args)}}]}),
          chunk({}, "tool_calls"), {"data": "[DONE]"}]
    return {"api": "openai-chat", "events": ev, "when_turn": turn}
seq = [text(0, "Hello from the fake model, streamed word by word.", delivery={"delay_ms": 60}),
       call(1, "write_file", {"path": "hello.txt", "content": "hi from tmux\n"}),
       text(2, "Wrote hello.txt."),
       call(3, "run", {"command": "touch refused.txt"}),
       text(4, "OK, I will not touch it."),
       call(5, "run", {"command": "sleep 30.75"}),
       text(6, "unused")]
print(json.dumps({"check_request": True, "sequence": seq}))
PY
python3 "$T_DIR/script.py" >"$T_DIR/script.json"
LOG="$T_DIR/llm.log"
python3 -S "$FAKES/llm_server.py" --port 0 --script "$T_DIR/script.json" --log "$LOG" \
	>"$T_DIR/port" 2>"$T_DIR/llm.err" &
SRV_PID=$!
i=0
while [ $i -lt 250 ] && ! grep -q '^PORT ' "$T_DIR/port"; do sleep 0.02; i=$((i + 1)); done
BASE="http://127.0.0.1:$(sed -n 's/^PORT //p' "$T_DIR/port")/v1"

W="$T_DIR/w"
mkdir -p "$W"
(cd "$W" && git init -q . && printf 'one\n' >notes.txt && git add . && git commit -qm init)

# What runs in the pane: forja, then its exit status and the terminal's
# line discipline as stty sees it once forja is gone.  A shell without job
# control shares forja's process group, so Ctrl-C reaches it too: it traps
# SIGINT (forja starts with the default action) to live on after forja.
cat >"$T_DIR/wrapper.sh" <<EOF
trap : INT
cd '$W' || exit 99
export HOME='$HOME' XDG_STATE_HOME='$XDG_STATE_HOME' XDG_CONFIG_HOME='$XDG_CONFIG_HOME'
export FORJA_DB='$T_DIR/forja.db' FORJA_CONTRACTS_DIR='$FORJA_CONTRACTS_DIR' OPENAI_API_KEY=sk-tmux-e2e
export LANG=C.UTF-8 LC_ALL=C.UTF-8 TERM=screen-256color
export GIT_CONFIG_NOSYSTEM=1
unset NO_COLOR
'$FORJA' --base-url '$BASE' --model m
echo "EXIT:\$?"
echo "STTY: \$(stty -a | tr ' ;' '\\n\\n' | grep -xE -- '-?(icanon|echo|isig|icrnl)' | tr '\\n' ' ')"
printf 'PASTE: '
IFS= read -r pasted
printf 'PASTED:%s:\\n' "\$pasted" | cat -v
EOF

# screen: the pane's whole history, wrapped lines joined
screen() { tm capture-pane -p -J -S - -t t 2>/dev/null; }
# wait_for REGEX [SECONDS]: until the screen matches (extended regex)
wait_for() {
	n=0 limit=$(( ${2:-10} * 10 ))
	while [ $n -lt $limit ]; do
		screen | grep -qE -- "$1" && return 0
		sleep 0.1
		n=$((n + 1))
	done
	return 1
}
# lines: how many lines hold something (the pane's blank rows below the
# cursor do not count); after MARK: the screen past the first MARK lines
lines() { screen | awk 'NF { n = NR } END { print n + 0 }'; }
after() { screen | tail -n +"$(($1 + 1))"; }
# expect NAME REGEX MARK [SECONDS]: passes when the screen after MARK matches
expect() {
	n=0 limit=$(( ${4:-10} * 10 ))
	while [ $n -lt $limit ]; do
		after "$3" | grep -qE -- "$2" && { ok "$1"; return 0; }
		sleep 0.1
		n=$((n + 1))
	done
	not_ok "$1" "expected the screen to show: $2" "got:" "$(after "$3" | tail -n 25)"
	return 1
}
# the prompt back on the last non-empty line
prompt_back() {
	n=0
	while [ $n -lt 100 ]; do
		last=$(screen | grep -v '^[[:space:]]*$' | tail -n 1)
		case "$last" in ">"|"> ") ok "$1"; return 0 ;; esac
		sleep 0.1
		n=$((n + 1))
	done
	not_ok "$1" "expected the last line to be the prompt \"> \"" "got: $last"
}
type_line() { tm send-keys -t t -l "$1"; tm send-keys -t t Enter; }

tm new-session -d -s t -x 100 -y 30 "sh '$T_DIR/wrapper.sh'"

if wait_for '^> ' 15; then ok "the prompt appears"; else not_ok "the prompt appears" "$(screen | tail -n 20)"; fi
contains "the banner says approvals ask at a terminal" "$(screen)" "approvals ask"

M=$(lines)
type_line "say hello"
# the words come 60 ms apart: the pane shows the start before the end
n=0
while [ $n -lt 300 ] && ! after "$M" | grep -q "Hello"; do sleep 0.03; n=$((n + 1)); done
lacks "the answer shows as it arrives (its start before its end)" "$(after "$M")" "word by word."
expect "the answer streams into the pane" "Hello from the fake model, streamed word by word\." "$M" 15
prompt_back "the prompt comes back after the answer"

M=$(lines)
type_line "write hello.txt"
expect "a write asks for approval" "allow\? \[y\]es" "$M" 15
contains "the approval shows the diff" "$(after "$M")" "+hi from tmux"
tm send-keys -t t y
expect "after y the answer comes" "Wrote hello\.txt\." "$M" 15
is "after y the file is written" "$(cat "$W/hello.txt" 2>&1)" "hi from tmux"
prompt_back "the prompt comes back after the approved write"

M=$(lines)
type_line "make refused.txt"
expect "a command asks for approval with its text" "touch refused\.txt" "$M" 15
expect "... and the question" "allow\? \[y\]es" "$M" 5
tm send-keys -t t n
expect "after n a reason is asked" "reason for the model" "$M" 5
type_line "not in this repository"
expect "after n the model answers" "OK, I will not touch it\." "$M" 15
check "after n the command did not run" test ! -e "$W/refused.txt"
contains "the reason reaches the model" \
	"$(python3 -S -c 'import json,sys; r=[json.loads(l) for l in open(sys.argv[1]) if l.strip()]; print([m["content"] for m in r[-1]["body"]["messages"] if m["role"] == "tool"][-1])' "$LOG")" \
	"not in this repository"
prompt_back "the prompt comes back after the refusal"

M=$(lines)
type_line "sleep a while"
expect "the sleep asks for approval" "allow\? \[y\]es" "$M" 15
tm send-keys -t t y
n=0
while [ $n -lt 50 ] && [ "$(ps -eo args | grep -c '^sleep 30[.]75$')" -eq 0 ]; do sleep 0.1; n=$((n + 1)); done
is "the approved sleep runs" "$(ps -eo args | grep -c '^sleep 30[.]75$')" 1
tm send-keys -t t C-c
expect "Ctrl-C interrupts the running command" "interrupted|cancelled" "$M" 10
prompt_back "the prompt comes back after Ctrl-C"
sleep 0.3
is "nothing of the command is left running" "$(ps -eo args | grep -c '^sleep 30[.]75$')" 0
is "the interrupted turn sent no further request" "$(grep -c . "$LOG")" 6

M=$(lines)
type_line "/undo"
expect "/undo reverts the interrupted command's turn first" "undid turn 4" "$M" 10
M=$(lines)
type_line "/undo"
expect "a second /undo removes the written file" "removed hello\.txt" "$M" 10
check "/undo: hello.txt is gone" test ! -e "$W/hello.txt"
prompt_back "the prompt comes back after /undo"

M=$(lines)
tm send-keys -t t -l "discard this line"
wait_for "discard this line" 5
tm send-keys -t t C-c
tm send-keys -t t Enter
sleep 0.5
is "Ctrl-C at the prompt discards the line: nothing is sent" "$(grep -c . "$LOG")" 6
prompt_back "the prompt is there after Ctrl-C at the prompt"

M=$(lines)
tm send-keys -t t C-d
expect "Ctrl-D leaves, forja exits 0" "^EXIT:0$" "$M" 10
wait_for '^STTY:' 5
st=$(screen | grep '^STTY:')
contains "after forja the terminal is back in canonical mode" "$st" " icanon "
contains "after forja the terminal echoes again" "$st" " echo "
lacks "no mode left off (icanon, echo, isig, icrnl)" "$st" " -"
wait_for '^PASTE: ' 5
is "after forja: no alternate screen, cursor shown, keypad and mouse modes off" \
	"$(tm display-message -p -t t 'alternate=#{alternate_on} cursor=#{cursor_flag} keypad=#{keypad_flag} keypad_cursor=#{keypad_cursor_flag} mouse=#{mouse_any_flag} insert=#{insert_flag}')" \
	"alternate=0 cursor=1 keypad=0 keypad_cursor=0 mouse=0 insert=0"
# a paste into the shell after forja: plain text, not wrapped in the
# bracketed-paste markers forja asked for while it ran
tm set-buffer -b clip 'pasted-text'
tm paste-buffer -p -b clip -t t
tm send-keys -t t Enter
wait_for '^PASTED:' 5
is "after forja: bracketed paste is off again" "$(screen | grep '^PASTED:')" "PASTED:pasted-text:"
n=0
# the pane is dead at the end of its output, its status comes a little later
while [ $n -lt 50 ] && [ -z "$(tm display-message -p -t t '#{pane_dead_status}' 2>/dev/null)" ]; do
	sleep 0.1
	n=$((n + 1))
done
# (tmux 3.3 sometimes never learns the status: then only that it ended)
st=$(tm display-message -p -t t 'dead=#{pane_dead} status=#{pane_dead_status}' 2>&1)
case "$st" in
"dead=1 status=0" | "dead=1 status=") ok "the wrapper ended, with status 0 when tmux knows it" ;;
*) not_ok "the wrapper ended, with status 0 when tmux knows it" "expected: dead=1 status=0" "     got: $st" ;;
esac

done_testing

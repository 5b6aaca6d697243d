#!/bin/sh
# `forja exec` against the fake LLM server (tests/fakes/llm_server.py): the
# request forja sends (headers, body, context, stdin), the streamed answer as
# text and as JSONL, reasoning, tool calls, Anthropic, every error class and
# its exit code, retries, cut and stalled streams, Ctrl-C, the API key never
# leaking, and config errors.  Each scenario starts its own server on a free
# port; the server checks the shape of every request (--check-request).
HERE=$(cd "$(dirname "$0")" && pwd)
FAKES=$(cd "$HERE/../fakes" && pwd)
# shellcheck source=tests/e2e/lib.sh
. "$HERE/lib.sh"
unset OPENAI_API_KEY ANTHROPIC_API_KEY OLLAMA_HOST OPENAI_BASE_URL ANTHROPIC_BASE_URL \
	OPENROUTER_API_KEY

# The key every scenario sends; e2e-openai-*-echo-key fixtures echo it back.
KEY=sk-e2e-SECRET-7f3a9c1d5b2e8f4a6c0d

# --- the fake server -------------------------------------------------------
SRV_PID='' SRV_N=0 FJ_PID=''
stop_server() {
	if [ -n "$SRV_PID" ]; then
		kill -TERM "$SRV_PID" 2>/dev/null
		wait "$SRV_PID" 2>/dev/null
		SRV_PID=
	fi
}
cleanup() {
	[ -n "$FJ_PID" ] && kill -KILL "$FJ_PID" 2>/dev/null
	stop_server
	rm -rf "$T_DIR"
}
trap cleanup EXIT
trap 'exit 130' HUP INT TERM

# serve SCRIPT-JSON: starts a fresh server answering with that script (a list
# of entries or {sequence, routes}); sets PORT, BASE (…/v1), ROOT (no /v1)
# and LOG (one JSON line per request).
serve() {
	stop_server
	SRV_N=$((SRV_N + 1))
	LOG="$T_DIR/llm$SRV_N.log"
	: >"$LOG"
	printf '%s\n' "$1" >"$T_DIR/script$SRV_N.json"
	: >"$T_DIR/llm.port"
	python3 -S "$FAKES/llm_server.py" --port 0 --script "$T_DIR/script$SRV_N.json" \
		--log "$LOG" --check-request >"$T_DIR/llm.port" 2>"$T_DIR/llm$SRV_N.err" &
	SRV_PID=$!
	i=0
	while [ $i -lt 200 ] && ! grep -q '^PORT ' "$T_DIR/llm.port"; do
		sleep 0.02
		i=$((i + 1))
	done
	PORT=$(sed -n 's/^PORT \([0-9][0-9]*\)$/\1/p' "$T_DIR/llm.port")
	if [ -z "$PORT" ]; then
		echo "# the fake server did not start:"
		sed 's/^/#   /' "$T_DIR/llm$SRV_N.err"
		PORT=1
	fi
	ROOT="http://127.0.0.1:$PORT"
	BASE="$ROOT/v1"
}

# Python helpers: q.py evaluates an expression over the request log (reqs,
# req = the first, user(i), system(i)), the JSONL output (evs, types,
# joined(type)) and a fixture (fx).
cat >"$T_DIR/q.py" <<'PY'
import json, os, sys
mode, path, expr = sys.argv[1], sys.argv[2], sys.argv[3]
fx = None
if len(sys.argv) > 4:
    with open(os.path.join(os.environ["FAKES"], "fixtures", sys.argv[4] + ".json"), encoding="utf-8") as f:
        fx = json.load(f)
with open(path, encoding="utf-8") as f:
    lines = [l for l in f.read().split("\n") if l]
if mode == "log":
    reqs = [json.loads(l) for l in lines]
    req = reqs[0] if reqs else {}
    def msgs(i=0):
        return reqs[i]["body"]["messages"]
    def user(i=0):
        return [m for m in msgs(i) if m["role"] == "user"][-1]["content"]
    def system(i=0):
        b = reqs[i]["body"]
        if "system" in b:
            return b["system"]
        return "".join(m["content"] for m in b["messages"] if m["role"] == "system")
    def hdr(name, i=0):
        for k, v in reqs[i]["headers"].items():
            if k.lower() == name.lower():
                return v
        return None
else:
    evs = [json.loads(l) for l in lines]
    types = [e.get("type") for e in evs]
    def joined(t, after=None):
        start = 0
        if after is not None and after in types:
            start = len(types) - 1 - types[::-1].index(after)
        return "".join(e.get("text", "") for e in evs[start:] if e.get("type") == t)
    def calls():
        return [(e["id"], e["name"], e["arguments"]) for e in evs if e["type"] == "tool_call"]
    def last(t):
        return [e for e in evs if e["type"] == t][-1]
    def first(t):
        return [e for e in evs if e["type"] == t][0]
    def before(t, upto):
        end = types.index(upto) if upto in types else len(types)
        return "".join(e.get("text", "") for e in evs[:end] if e.get("type") == t)
r = eval(expr)
sys.stdout.buffer.write(str(r).encode("utf-8"))
PY
export FAKES
logq() { python3 -S "$T_DIR/q.py" log "$LOG" "$@" 2>&1; }
evq() { python3 -S "$T_DIR/q.py" ev "$T_DIR/.out" "$@" 2>&1; }
# fxw NAME EXPR FILE: writes a value from fixture NAME (fx) to FILE, exactly.
fxw() {
	python3 -S -c 'import json,sys; fx=json.load(open(sys.argv[1],encoding="utf-8")); sys.stdout.buffer.write(eval(sys.argv[2]).encode("utf-8"))' \
		"$FAKES/fixtures/$1.json" "$2" >"$3"
}
# stdout_is NAME FIXTURE: stdout is exactly the fixture's expected content and a newline.
stdout_is() {
	fxw "$2" 'fx["expected"]["content"] + "\n"' "$T_DIR/want"
	if cmp -s "$T_DIR/want" "$T_DIR/.out"; then ok "$1"; else
		not_ok "$1" "expected: $(cat "$T_DIR/want")" "     got: $OUT" "  stderr: $ERR"; fi
}
nlines() { printf '%s\n' "$1" | grep -c -e "$2"; }

# forja with the key in the environment and stdin closed; oexec/aexec add
# the fake's URL (OpenAI-compatible / Anthropic).
fj() { OPENAI_API_KEY=$KEY "$FORJA" "$@" </dev/null; }
oexec() { OPENAI_API_KEY=$KEY "$FORJA" exec --base-url "$BASE" --model m "$@" </dev/null; }
aexec() {
	ANTHROPIC_API_KEY=$KEY "$FORJA" exec --provider anthropic --base-url "$ROOT" --model claude-e2e \
		"$@" </dev/null
}
aexec_nomodel() {
	ANTHROPIC_API_KEY=$KEY "$FORJA" exec --provider anthropic --base-url "$ROOT" "$@" </dev/null
}

CONF="$XDG_CONFIG_HOME/forja/config.json"
mkdir -p "$XDG_CONFIG_HOME/forja"
FAST='{"retries": {"base_ms": 20, "max_delay_ms": 50}, "timeouts": {"idle_ms": 400}}'
printf '%s\n' "$FAST" >"$CONF"

# The project forja runs in: a small repository with a recognisable README.
P="$T_DIR/proj"
mkdir -p "$P"
cd "$P" || exit 1
git init -q
printf '# Zanzibar\n\nThe Zanzibar widget factory.\n' >README.md
printf 'int main(void) { return 0; }\n' >main.c
git add -A && git commit -qm "first"

# --- nothing configured ------------------------------------------------------
local_ports_free() {
	python3 -S - <<'PY'
import socket, sys
for p in (11434, 8080, 1234, 8000):
    s = socket.socket()
    s.settimeout(0.3)
    if s.connect_ex(("127.0.0.1", p)) == 0:
        sys.exit(1)
PY
}
if local_ports_free; then
	run "$FORJA" exec hi </dev/null
	is "nothing configured: exit 3" "$RC" 3
	is "nothing configured: a three-line explanation" "$(printf '%s\n' "$ERR" | wc -l | tr -d ' ')" 3
	contains "nothing configured: mentions OPENAI_API_KEY" "$ERR" "OPENAI_API_KEY"
	contains "nothing configured: mentions Ollama" "$ERR" "Ollama"
	is "nothing configured: nothing on stdout" "$OUT" ""
else
	for t in "exit 3" "three lines" "OPENAI_API_KEY" "Ollama" "stdout"; do
		ok "nothing configured: $t # SKIP a local LLM port (11434, 8080, 1234, 8000) is in use"
	done
fi

# --- an OpenAI text stream ---------------------------------------------------------
serve '["openai-text"]'
run oexec "say hello"
is "text stream: exit 0" "$RC" 0
stdout_is "text stream: stdout is exactly the answer and a newline" openai-text
is "text stream: one request" "$(logq 'len(reqs)')" 1
is "request: POST /v1/chat/completions" "$(logq 'req["method"] + " " + req["path"]')" "POST /v1/chat/completions"
is "request: Authorization: Bearer <key>" "$(logq 'hdr("Authorization")')" "Bearer $KEY"
is "request: stream true" "$(logq 'req["body"]["stream"]')" True
is "request: stream_options.include_usage" "$(logq 'req["body"]["stream_options"]["include_usage"]')" True
is "request: the model" "$(logq 'req["body"]["model"]')" m
is "request: the system message comes first" "$(logq 'msgs()[0]["role"]')" system
contains "request: the system message holds the bootstrap" "$(logq 'system()')" "Project proj"
contains "request: the bootstrap includes the README" "$(logq 'system()')" "Zanzibar widget factory"
is "request: the prompt is the user message" "$(logq 'msgs()[-1]')" "{'role': 'user', 'content': 'say hello'}"
is "request: passed the server's shape checks" "$(logq 'req["status"]')" 200

serve '["openai-text"]'
run oexec --no-context "say hello"
is "--no-context: exit 0" "$RC" 0
lacks "--no-context: no bootstrap in the request" "$(logq 'system()')" "Project proj"
lacks "--no-context: no README in the request" "$(logq 'system()')" "Zanzibar"
is "--no-context: the prompt is still the user message" "$(logq 'user()')" "say hello"

# --- stdin -------------------------------------------------------------------------
serve '["openai-text"]'
printf 'data\n' | OPENAI_API_KEY=$KEY "$FORJA" exec --base-url "$BASE" --model m summarise \
	>"$T_DIR/.out" 2>"$T_DIR/.err"
is "stdin and a prompt: exit 0" "$?" 0
is "stdin and a prompt: the prompt, then stdin in <stdin> tags" \
	"$(logq 'user()' | od -An -c | tr -s ' \n' ' ')" \
	"$(printf 'summarise\n\n<stdin>\ndata\n</stdin>\n' | od -An -c | tr -s ' \n' ' ')"

serve '["openai-text"]'
printf 'only stdin here\n' | OPENAI_API_KEY=$KEY "$FORJA" exec --base-url "$BASE" --model m \
	>"$T_DIR/.out" 2>"$T_DIR/.err"
is "stdin only: exit 0" "$?" 0
is "stdin only: stdin is the prompt" "$(logq 'user().strip()')" "only stdin here"
lacks "stdin only: no <stdin> wrapper" "$(logq 'user()')" "<stdin>"

serve '["openai-text"]'
OPENAI_API_KEY=$KEY "$FORJA" exec --base-url "$BASE" --model m </dev/null >"$T_DIR/.out" 2>"$T_DIR/.err"
is "no prompt and empty stdin: exit 2" "$?" 2
is "no prompt and empty stdin: no request" "$(logq 'len(reqs)')" 0

# --- --json -------------------------------------------------------------------------
serve '["openai-text-usage"]'
run oexec --json hi
is "--json: exit 0" "$RC" 0
is "--json: every line is JSON with \"v\": 1" "$(evq 'all(e.get("v") == 1 for e in evs) and len(evs) > 3')" True
is "--json: starts with start" "$(evq 'types[0]')" start
is "--json: ends with done" "$(evq 'types[-1]')" "done"
is "--json: done carries exit_code 0" "$(evq 'evs[-1].get("exit_code")')" 0
is "--json: text deltas join to the answer" "$(evq 'joined("text_delta") == fx["expected"]["content"]' openai-text-usage)" True
is "--json: finish reason stop" "$(evq 'last("finish")["reason"]')" stop
is "--json: usage has the fixture's numbers" \
	"$(evq '[last("usage")[k] for k in ("prompt_tokens", "completion_tokens", "cached_tokens")]')" \
	"[1200, 9, 1024]"
is "--json: nothing on stderr" "$ERR" ""
for variant in random bytes crlf-lines; do
	case $variant in
	random) delivery='"chunking": "random", "seed": 7, "chunk_min": 1, "chunk_max": 9' ;;
	bytes) delivery='"chunking": "bytes"' ;;
	crlf-lines) delivery='"chunking": "lines", "line_ending": "\r\n"' ;;
	esac
	serve "[{\"fixture\": \"openai-text-usage\", \"delivery\": {$delivery}}]"
	run oexec --json hi
	is "--json ($variant): exit 0" "$RC" 0
	is "--json ($variant): the identical answer" \
		"$(evq 'joined("text_delta") == fx["expected"]["content"]' openai-text-usage)" True
	is "--json ($variant): the same usage" \
		"$(evq '[last("usage")[k] for k in ("prompt_tokens", "completion_tokens", "cached_tokens")]')" \
		"[1200, 9, 1024]"
done
serve '[{"fixture": "openai-text", "delivery": {"chunking": "bytes"}}]'
run oexec hi
stdout_is "text, one byte per HTTP chunk: the identical answer" openai-text

# --- reasoning --------------------------------------------------------------------
for f in openai-reasoning-content openai-reasoning; do
	serve "[\"$f\"]"
	run oexec hi
	is "$f: exit 0" "$RC" 0
	stdout_is "$f: stdout is only the answer" "$f"
	fxw "$f" 'fx["expected"]["reasoning"]' "$T_DIR/want"
	contains "$f: the reasoning goes to stderr" "$ERR" "$(cat "$T_DIR/want")"
	serve "[\"$f\"]"
	run oexec --json hi
	is "$f --json: reasoning_delta events join to the reasoning" \
		"$(evq 'joined("reasoning_delta") == fx["expected"]["reasoning"]' "$f")" True
	is "$f --json: text_delta events are only the answer" \
		"$(evq 'joined("text_delta") == fx["expected"]["content"]' "$f")" True
done

# --- parallel tool calls -------------------------------------------------------------
for how in events bytes; do
	d=
	[ $how = bytes ] && d=', "delivery": {"chunking": "bytes", "split_inside": ["é", "🦀"]}'
	serve "[{\"fixture\": \"openai-tool-calls-parallel\"$d}, \"openai-text\"]"
	run oexec --json "read and write"
	is "tool calls ($how): exit 0" "$RC" 0
	is "tool calls ($how): two tool_call events" "$(evq 'types.count("tool_call")')" 2
	is "tool calls ($how): ids, names and parsed arguments are the fixture's" \
		"$(evq 'calls() == [(c["id"], c["name"], c["arguments"]) for c in fx["expected"]["tool_calls"]]' openai-tool-calls-parallel)" \
		True
	is "tool calls ($how): finish reason tool_calls" "$(evq 'first("finish")["reason"]')" tool_calls
	is "tool calls ($how): both calls ran and ended" "$(evq 'types.count("tool_end")')" 2
done

# --- Anthropic ---------------------------------------------------------------------------
serve '["anthropic-text"]'
run aexec hi
is "anthropic text: exit 0" "$RC" 0
fxw anthropic-text '"".join(b["text"] for b in fx["expected"]["content"]) + "\n"' "$T_DIR/want"
check "anthropic text: stdout is exactly the answer and a newline" cmp -s "$T_DIR/want" "$T_DIR/.out"
is "anthropic: POST /v1/messages" "$(logq 'req["method"] + " " + req["path"]')" "POST /v1/messages"
is "anthropic: x-api-key sent" "$(logq 'hdr("x-api-key")')" "$KEY"
is "anthropic: anthropic-version sent" "$(logq 'hdr("anthropic-version") is not None')" True
is "anthropic: max_tokens present" "$(logq 'req["body"].get("max_tokens", 0) >= 1')" True
contains "anthropic: the bootstrap is the system prompt" "$(logq 'system()')" "Zanzibar widget factory"
is "anthropic: the prompt is the user message" "$(logq 'user()')" hi
is "anthropic: passed the server's shape checks" "$(logq 'req["status"]')" 200

is "anthropic: the model" "$(logq 'req["body"]["model"]')" claude-e2e

# no --model: the built-in default, or the first of Anthropic's list at /v1/models
serve '{"routes": {"GET /v1/models": "anthropic-models"}, "sequence": ["anthropic-text"]}'
run aexec_nomodel hi
is "anthropic without --model: exit 0" "$RC" 0
is "anthropic without --model: a model is sent" \
	"$(logq '[r["body"]["model"] != "" for r in reqs if r["method"] == "POST"]')" "[True]"
is "anthropic without --model: no request outside /v1" "$(logq '[r["path"] for r in reqs if not r["path"].startswith("/v1/")]')" "[]"

serve '["anthropic-thinking"]'
run aexec hi
is "anthropic thinking: exit 0" "$RC" 0
is "anthropic thinking: stdout is only the answer" "$OUT" "2 + 2 = 4."
contains "anthropic thinking: the thinking goes to stderr" "$ERR" "The user asks for 2+2. That is 4; answer plainly."
lacks "anthropic thinking: no thinking on stdout" "$OUT" "answer plainly"
serve '["anthropic-thinking"]'
run aexec --json hi
is "anthropic thinking --json: reasoning_delta events" \
	"$(evq 'joined("reasoning_delta") == fx["expected"]["content"][0]["thinking"]' anthropic-thinking)" True

serve '["anthropic-tool-use", "anthropic-text"]'
run aexec --json hi
is "anthropic tool_use: exit 0" "$RC" 0
is "anthropic tool_use: tool_call events with parsed input" \
	"$(evq 'calls() == [(b["id"], b["name"], b["input"]) for b in fx["expected"]["content"] if b["type"] == "tool_use"]' anthropic-tool-use)" \
	True
is "anthropic tool_use: the text before the calls" "$(evq 'before("text_delta", "tool_call")')" "I'll look at both."
is "anthropic tool_use: finish reason tool_calls" "$(evq 'first("finish")["reason"]')" tool_calls

# --- errors and exit codes ---------------------------------------------------------------
serve '["openai-401"]'
run oexec hi
is "401: exit 3" "$RC" 3
is "401: not retried" "$(logq 'len(reqs)')" 1

serve '["openai-404-model"]'
run oexec hi
is "404 model: exit 3" "$RC" 3

serve '["openai-400-context"]'
run oexec hi
is "400 context length: exit 1" "$RC" 1
contains "400 context length: says context window" "$ERR" "context window"

serve '["openai-429", "openai-text"]'
run oexec hi
is "429 then a stream: exit 0" "$RC" 0
stdout_is "429 then a stream: the answer" openai-text
is "429 then a stream: one retry notice" "$(nlines "$ERR" 'rate limited, retrying in')" 1
contains "429 then a stream: the notice counts attempts" "$ERR" "(2/5)"
is "429 then a stream: two requests" "$(logq 'len(reqs)')" 2

serve '["openai-429-quota"]'
run oexec hi
is "insufficient_quota: exit 3" "$RC" 3
is "insufficient_quota: not retried" "$(logq 'len(reqs)')" 1
lacks "insufficient_quota: no retry notice" "$ERR" "retrying"

serve '["openai-500"]'
run oexec hi
is "500 five times: exit 4" "$RC" 4
contains "500 five times: gave up after 5 attempts" "$ERR" "gave up after 5 attempts"
is "500 five times: five requests" "$(logq 'len(reqs)')" 5

serve '["anthropic-529", "anthropic-text"]'
run aexec hi
is "anthropic 529 then a stream: exit 0" "$RC" 0
is "anthropic 529: retried" "$(logq 'len(reqs)')" 2
contains "anthropic 529: the notice says overloaded" "$ERR" "overloaded"

serve '["openai-stream-cut", "openai-text"]'
run oexec hi
is "stream cut then a stream: exit 0" "$RC" 0
is "stream cut: [cut: once on stdout" "$(nlines "$OUT" '\[cut:')" 1
fxw openai-text 'fx["expected"]["content"] + "\n"' "$T_DIR/want"
is "stream cut: stdout ends with the full answer" \
	"$(python3 -S -c 'import sys; print(open(sys.argv[1],"rb").read().endswith(open(sys.argv[2],"rb").read()))' "$T_DIR/.out" "$T_DIR/want")" True
contains "stream cut: the part shown before the cut" "$OUT" "First part"
serve '["openai-stream-cut", "openai-text"]'
run oexec --json hi
is "stream cut --json: exit 0" "$RC" 0
is "stream cut --json: a cut event" "$(evq 'types.count("cut")')" 1
is "stream cut --json: a retry event" "$(evq 'types.count("retry")')" 1
is "stream cut --json: the text after the cut is the answer" \
	"$(evq 'joined("text_delta", after="cut") == fx["expected"]["content"]' openai-text)" True

printf '%s\n' '{"retries": {"base_ms": 20, "max_delay_ms": 50, "max_attempts": 2}, "timeouts": {"idle_ms": 400}}' >"$CONF"
serve '["openai-stall"]'
t0=$(date +%s%N)
run oexec hi
t1=$(date +%s%N)
is "stall: exit 4" "$RC" 4
contains "stall: the message names the timeout" "$ERR" "timed out"
is "stall: retried" "$(logq 'len(reqs)')" 2
check "stall: gives up within 5 s, not after the 60 s stall" test $(((t1 - t0) / 1000000)) -lt 5000
serve '["openai-stall", "openai-text"]'
run oexec hi
is "stall then a stream: exit 0" "$RC" 0
contains "stall then a stream: the answer" "$OUT" "Ça va? 🦀"
printf '%s\n' "$FAST" >"$CONF"

closed=$(python3 -S -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
run fj exec --base-url "http://127.0.0.1:$closed/v1" --model m hi
is "connection refused: exit 4" "$RC" 4
contains "connection refused: says so" "$ERR" "127.0.0.1:$closed"

serve '["openai-finish-length"]'
run oexec hi
is "finish length: exit 1" "$RC" 1
contains "finish length: the partial answer is shown" "$OUT" "The quick brown fox jum"
serve '["openai-content-filter"]'
run oexec hi
is "content_filter: exit 1" "$RC" 1

# --- Ctrl-C ---------------------------------------------------------------------------------
# interrupt [TEXT]: runs forja in the background against the current server,
# sends SIGINT after 0.5 s (or as soon as TEXT is on its stderr), sets RC,
# OUT, ERR and MS (from SIGINT to exit).
interrupt() {
	OPENAI_API_KEY=$KEY "$FORJA" exec --color=always --base-url "$BASE" --model m hi \
		</dev/null >"$T_DIR/.out" 2>"$T_DIR/.err" &
	FJ_PID=$!
	if [ $# -gt 0 ]; then
		i=0
		while [ $i -lt 250 ] && ! grep -qF "$1" "$T_DIR/.err"; do
			sleep 0.02
			i=$((i + 1))
		done
	else
		sleep 0.5
	fi
	t0=$(date +%s%N)
	kill -INT "$FJ_PID"
	wait "$FJ_PID"
	RC=$?
	t1=$(date +%s%N)
	FJ_PID=
	MS=$(((t1 - t0) / 1000000))
	OUT=$(cat "$T_DIR/.out")
	ERR=$(cat "$T_DIR/.err")
}
# sgr_closed FILE: every colour escape is followed, eventually, by a reset.
sgr_closed() {
	python3 -S - "$1" <<'PY'
import re, sys
seqs = re.findall(rb"\x1b\[([0-9;]*)m", open(sys.argv[1], "rb").read())
sys.exit(0 if not seqs or seqs[-1] in (b"", b"0") else 1)
PY
}
serve '["openai-slow"]'
interrupt
is "Ctrl-C: exit 130" "$RC" 130
check "Ctrl-C: exits within 2 s (took ${MS} ms)" test "$MS" -lt 2000
check "Ctrl-C: no colour left open on stderr" sgr_closed "$T_DIR/.err"
check "Ctrl-C: no colour left open on stdout" sgr_closed "$T_DIR/.out"
# in the middle of reasoning, which is shown dimmed
serve '[{"fixture": "openai-reasoning-content", "delivery": {"chunking": "events", "delay_ms": 250}}]'
interrupt "The user"
is "Ctrl-C in reasoning: exit 130" "$RC" 130
contains "Ctrl-C in reasoning: some reasoning was shown" "$ERR" "The user"
lacks "Ctrl-C in reasoning: interrupted before the answer" "$OUT" "Hi there"
check "Ctrl-C in reasoning: exits within 2 s (took ${MS} ms)" test "$MS" -lt 2000
check "Ctrl-C in reasoning: the dim colour is reset on stderr" sgr_closed "$T_DIR/.err"

# --- the API key never leaks -----------------------------------------------------------------
L="$T_DIR/leak"
mkdir -p "$L"
leak_from=$((SRV_N + 1))
leak_run() { # leak_run NAME forja-args...: runs forja, keeps its stdout/stderr under $L
	name=$1
	shift
	OPENAI_API_KEY=$KEY ANTHROPIC_API_KEY=$KEY "$FORJA" "$@" </dev/null >"$L/$name.out" 2>"$L/$name.err"
}
serve '["openai-text"]'
leak_run ok-text exec --base-url "$BASE" --model m hi
leak_run ok-json --json exec --base-url "$BASE" --model m hi
leak_run ok-verbose -v exec --base-url "$BASE" --model m hi
serve '["e2e-openai-401-echo-key"]'
leak_run 401-text exec --base-url "$BASE" --model m hi
leak_run 401-json --json exec --base-url "$BASE" --model m hi
leak_run 401-verbose -v exec --base-url "$BASE" --model m hi
contains "key leak: the 401 message is shown" "$(cat "$L/401-text.err")" "Incorrect API key provided"
serve '["e2e-openai-error-midstream-echo-key"]'
leak_run mid-text exec --base-url "$BASE" --model m hi
leak_run mid-json --json exec --base-url "$BASE" --model m hi
contains "key leak: the mid-stream error is reported" "$(cat "$L/mid-text.err")" "Upstream refused key"
serve '["anthropic-401"]'
leak_run anth-401 exec --provider anthropic --base-url "$ROOT" --model claude-e2e hi
serve '{"routes": {"GET /models": {"fixture": "e2e-openai-401-echo-key", "check_request": false}}}'
leak_run models-401 --base-url "$BASE" models
leak_run doctor --base-url "$BASE" doctor
contains "key leak: models shows the 401 message" "$(cat "$L/models-401.err")" "Incorrect API key provided"
: >"$T_DIR/all-requests"
i=$leak_from
while [ $i -le $SRV_N ]; do cat "$T_DIR/llm$i.log" >>"$T_DIR/all-requests"; i=$((i + 1)); done
is "key leak: the server log shows every request carried the key" \
	"$(grep -cF "$KEY" "$T_DIR/all-requests" | tr -d ' ')" "$(wc -l <"$T_DIR/all-requests" | tr -d ' ')"
check "key leak: requests were made" test "$(wc -l <"$T_DIR/all-requests")" -ge 12
is "key leak: absent from every stdout, stderr and JSONL" "$(grep -rlF "$KEY" "$L")" ""
is "key leak: absent from every file under XDG_STATE_HOME" "$(grep -rlF "$KEY" "$XDG_STATE_HOME")" ""
is "key leak: absent from every file under HOME" "$(grep -rlF "$KEY" "$HOME")" ""
is "key leak: absent from the project" "$(grep -rlF "$KEY" "$P")" ""

# --- config errors -------------------------------------------------------------------------------
serve '["openai-text"]'
printf '{\n  "model": "m",\n}\n' >"$CONF"
run oexec hi
is "config trailing comma: exit 3" "$RC" 3
is "config trailing comma: names config.json:LINE:COL" \
	"$(printf '%s' "$ERR" | grep -cE 'config\.json:[0-9]+:[0-9]+')" 1
is "config trailing comma: no request" "$(logq 'len(reqs)')" 0
printf '{\n  "modle": "m"\n}\n' >"$CONF"
run oexec hi
is "config unknown key: exit 3" "$RC" 3
contains "config unknown key: names it" "$ERR" "modle"
contains "config unknown key: suggests \"model\"" "$ERR" '"model"'
printf '%s\n' "$FAST" >"$CONF"

Q="$T_DIR/hostile"
mkdir -p "$Q/.forja"
git init -q "$Q"
printf '{"provider": "openai", "providers": {"openai": {"base_url": "http://127.0.0.1:9/v1"}}}\n' \
	>"$Q/.forja/config.json"
serve '["openai-text"]'
run fj -C "$Q" exec --base-url "$BASE" --model m hi
is "project config setting providers: exit 0" "$RC" 0
contains "project config setting providers: a warning" "$ERR" "warning"
contains "project config setting providers: says it is ignored" "$ERR" '"providers" is ignored'
is "project config setting providers: the request went to --base-url" "$(logq 'len(reqs)')" 1
stdout_is "project config setting providers: the answer" openai-text

stop_server
done_testing

#!/bin/sh
# Self-test of the fake LLM server (llm_server.py): starts it on free ports
# with a few scripts, drives it with curl (and a raw socket client where curl
# cannot see the difference), checks the bytes, and prints TAP.
#   sh tests/fakes/selftest.sh
set -u
here=$(cd "$(dirname "$0")" && pwd)
server="$here/llm_server.py"
fixtures="$here/fixtures"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/fake-llm-selftest.XXXXXX")
pid=
cleanup() {
    [ -n "$pid" ] && kill "$pid" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT

n=0 failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() {
    n=$((n + 1)); failed=$((failed + 1))
    echo "not ok $n - $1"
    shift
    for line in "$@"; do echo "#   $line"; done
}
check() { name=$1; shift; if "$@"; then ok "$name"; else not_ok "$name" "command failed: $*"; fi; }
is() { if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1" "expected: $3" "     got: $2"; fi; }
contains() {
    case "$2" in
    *"$3"*) ok "$1" ;;
    *) not_ok "$1" "expected to contain: $3" "in: $(printf '%s' "$2" | head -c 600)" ;;
    esac
}
lacks() {
    case "$2" in
    *"$3"*) not_ok "$1" "expected not to contain: $3" ;;
    *) ok "$1" ;;
    esac
}
# fixture_get NAME PYTHON-EXPR: a value from a fixture file (fx is the fixture).
fixture_get() {
    python3 -c 'import json,sys; fx=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' \
        "$fixtures/$1.json" "$2"
}

# start SCRIPT-FILE [ARGS...]: starts the server, sets pid, port, base.
start() {
    script=$1; shift
    : >"$tmp/stdout"
    python3 "$server" --port 0 --script "$script" --log "$tmp/log" "$@" \
        >"$tmp/stdout" 2>"$tmp/stderr" &
    pid=$!
    i=0
    while [ $i -lt 100 ] && ! grep -q '^PORT ' "$tmp/stdout"; do sleep 0.05; i=$((i + 1)); done
    port=$(sed -n 's/^PORT \([0-9][0-9]*\)$/\1/p' "$tmp/stdout")
    base="http://127.0.0.1:$port"
}
stop() {
    kill -TERM "$pid"
    wait "$pid"
    stop_rc=$?
    pid=
}
# post PATH [CURL-ARGS...]: POSTs a small chat body; sets code, rc; body in
# $tmp/body, headers in $tmp/hdr.
post() {
    p=$1; shift
    code=$(curl -sN -o "$tmp/body" -D "$tmp/hdr" -w '%{http_code}' -X POST \
        -H 'Content-Type: application/json' -H 'Authorization: Bearer sk-selftest-KEY' \
        --data '{"model":"m","messages":[{"role":"user","content":"hi"}],"stream":true}' \
        "$@" "$base$p")
    rc=$?
}
hdr() { tr -d '\r' <"$tmp/hdr" | sed -n "s/^$1: //Ip" | head -n 1; }

# ------------------------------------------------------------------ fixtures
out=$(python3 "$server" --lint 2>&1)
check "every fixture loads and its stream reassembles to 'expected'" [ $? -eq 0 ]
lacks "lint reports no failure" "$out" "FAIL"

echo '["no-such-fixture"]' >"$tmp/bad.json"
python3 "$server" --port 0 --script "$tmp/bad.json" >"$tmp/bad.out" 2>"$tmp/bad.err"
is "a script naming a missing fixture fails at start (exit 2)" "$?" "2"
is "... and prints no PORT line" "$(cat "$tmp/bad.out")" ""

# ------------------------------------------------------------------ main script
cat >"$tmp/main.json" <<'EOF'
{
    "routes": {"GET /models": "openai-models", "GET /api/tags": "ollama-tags"},
    "sequence": [
        "openai-429",
        "openai-text",
        {"fixture": "openai-text", "delivery": {"chunking": "bytes"}},
        {"fixture": "openai-text", "delivery": {"chunking": "random", "seed": 7, "transfer": "length"}},
        {"fixture": "openai-text", "delivery": {"transfer": "close", "line_ending": "\r\n"}},
        "openai-stream-cut",
        {"fixture": "openai-text", "delivery": {"disconnect_after_bytes": 100, "disconnect": "rst"}},
        {"fixture": "openai-text", "delivery": {"omit_done": true, "no_final_newline": true}},
        "anthropic-text",
        "anthropic-tool-use",
        {"fixture": "openai-models", "delivery": {"first_byte_delay_ms": 300}},
        "openai-tool-calls-parallel",
        "openai-text"
    ]
}
EOF
start "$tmp/main.json"
is "prints exactly one line PORT <n>" "$(wc -l <"$tmp/stdout" | tr -d ' ')" "1"
check "the port is a number" [ -n "$port" ]

models=$(curl -s "$base/v1/models")
contains "GET /v1/models is routed to the models fixture" "$models" '"object": "list"'
contains "GET /api/tags is routed to the Ollama tags fixture" "$(curl -s "$base/api/tags")" \
    '"name":"llama3.2:latest"'

post /v1/chat/completions
is "1st chat request: 429 (routes did not use up the sequence)" "$code" "429"
is "429 carries Retry-After: 1" "$(hdr Retry-After)" "1"
is "429 carries x-ratelimit-reset-requests" "$(hdr x-ratelimit-reset-requests)" "1s"
contains "429 body is OpenAI's rate_limit_exceeded" "$(cat "$tmp/body")" '"code": "rate_limit_exceeded"'

post /api/v1/chat/completions
is "2nd request under another base path (/api/v1): 200" "$code" "200"
is "stream is text/event-stream" "$(hdr Content-Type)" "text/event-stream; charset=utf-8"
is "stream uses chunked transfer encoding" "$(hdr Transfer-Encoding)" "chunked"
cp "$tmp/body" "$tmp/whole"
printf 'data: [DONE]\n\n' >"$tmp/done"
check "stream ends with data: [DONE] and a blank line" \
    sh -c "tail -c 14 '$tmp/whole' | cmp -s - '$tmp/done'"
contains "stream has the role chunk" "$(cat "$tmp/whole")" '"delta":{"role":"assistant","content":"","refusal":null}'

post /v1/chat/completions
check "one-byte chunks arrive complete and identical" cmp -s "$tmp/body" "$tmp/whole"
post /v1/chat/completions
check "seeded random writes with Content-Length arrive identical" cmp -s "$tmp/body" "$tmp/whole"
is "... with a Content-Length of the whole body" "$(hdr Content-Length)" "$(wc -c <"$tmp/whole" | tr -d ' ')"
lacks "... and no chunked encoding" "$(cat "$tmp/hdr")" "Transfer-Encoding"

post /v1/chat/completions
is "close-delimited body: Connection: close" "$(hdr Connection)" "close"
lacks "... no Content-Length" "$(cat "$tmp/hdr")" "Content-Length"
crlf=$(grep -c "$(printf '\r')\$" "$tmp/body")
lines=$(wc -l <"$tmp/body" | tr -d ' ')
is "line_ending CRLF: every line ends in CRLF" "$crlf" "$lines"
check "... and is the same stream once CRs are removed" \
    sh -c "tr -d '\r' <'$tmp/body' | cmp -s - '$tmp/whole'"

post /v1/chat/completions
is "disconnect (FIN): curl reports a partial transfer (exit 18)" "$rc" "18"
cut=$(fixture_get openai-stream-cut 'fx["delivery"]["disconnect_after_bytes"]')
is "... after exactly disconnect_after_bytes body bytes" "$(wc -c <"$tmp/body" | tr -d ' ')" "$cut"
lacks "... without [DONE]" "$(cat "$tmp/body")" "[DONE]"

post /v1/chat/completions
is "disconnect (RST): curl reports a reset (exit 56)" "$rc" "56"
check "... after at most 100 bytes" [ "$(wc -c <"$tmp/body")" -le 100 ]

post /v1/chat/completions
lacks "omit_done: no [DONE]" "$(cat "$tmp/body")" "[DONE]"
is "no_final_newline: the body ends right after the last JSON" "$(tail -c 1 "$tmp/body")" "}"

code=$(curl -s -o "$tmp/body" -w '%{http_code}' -X POST -H 'x-api-key: sk-ant-selftest' \
    --data '{}' "$base/v1/messages")
is "Anthropic request without anthropic-version: 400" "$code" "400"
contains "... in the real error shape" "$(cat "$tmp/body")" \
    '{"type":"error","error":{"type":"invalid_request_error","message":"anthropic-version: header is required"}'

code=$(curl -sN -o "$tmp/body" -w '%{http_code}' -X POST -H 'x-api-key: sk-ant-selftest' \
    -H 'anthropic-version: 2023-06-01' --data '{}' "$base/v1/messages")
is "Anthropic stream: 200" "$code" "200"
events=$(sed -n 's/^event: //p' "$tmp/body" | tr '\n' ' ')
is "... events in the real order" "$events" "message_start content_block_start ping \
content_block_delta content_block_stop content_block_start content_block_delta content_block_delta \
content_block_delta content_block_delta content_block_delta content_block_delta content_block_delta \
content_block_stop content_block_start content_block_delta content_block_delta content_block_delta \
content_block_delta content_block_stop message_delta message_stop "

t=$(curl -s -o /dev/null -w '%{time_starttransfer}' "$base/v1/chat/completions")
check "first_byte_delay_ms 300: the first byte comes after >= 0.3 s" \
    python3 -c "import sys; sys.exit(float('$t') < 0.3)"

# The byte split inside é and 🦀 (split_inside) is visible with --raw.
raw=$(curl -s --raw -X POST --data '{}' "$base/v1/chat/completions" | od -An -c | tr -d ' \n')
contains "split_inside cuts the UTF-8 bytes of é across HTTP chunks" "$raw" '303\r\n'

# Two requests on one connection: keep-alive works, the log tells them apart.
curl -s -o /dev/null -o /dev/null -X POST --data '{}' "$base/v1/chat/completions" \
    "$base/v1/chat/completions"
stop
is "SIGTERM stops the server cleanly (exit 0)" "$stop_rc" "0"

nreq=$(wc -l <"$tmp/log" | tr -d ' ')
is "the log has one line per request" "$nreq" "16"
check "every log line is a JSON object with method, path, headers, body, time" python3 -c '
import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    assert {"method", "path", "headers", "time", "t", "status"} <= set(r), r
    assert "body" in r or "body_text" in r, r
' "$tmp/log"
keys=$(grep -c '"Authorization": "Bearer sk-selftest-KEY"' "$tmp/log")
is "the log records the Authorization header as sent, on every request that had it" "$keys" "8"
contains "the log records x-api-key as sent" "$(cat "$tmp/log")" '"x-api-key": "sk-ant-selftest"'
contains "the log records the parsed request body" "$(cat "$tmp/log")" \
    '"body": {"model": "m", "messages": [{"role": "user", "content": "hi"}], "stream": true}'
contains "the log shows the keep-alive reuse" "$(tail -n 1 "$tmp/log")" '"req_on_conn": 2'

# ------------------------------------------------------------------ request checks
cat >"$tmp/check.json" <<'EOF'
{
    "check_request": true,
    "sequence": [
        "openai-text", "openai-text", "openai-text",
        "anthropic-text", "anthropic-text",
        {"fixture": "openai-text", "expect": {"headers": {"Authorization": "Bearer sk-right"}}},
        {"fixture": "openai-nonstream-text", "expect": {"body": {"model": "gpt-4o-mini"}}}
    ]
}
EOF
start "$tmp/check.json"
code=$(curl -s -o "$tmp/body" -D "$tmp/hdr" -w '%{http_code}' -X POST \
    -H 'Content-Type: application/json' --data '{"model":"m","stream":true}' \
    "$base/v1/chat/completions")
is "check: an OpenAI request without messages gets 400" "$code" "400"
contains "... saying what is wrong, in OpenAI's error shape" "$(cat "$tmp/body")" \
    "\"message\":\"Missing required parameter: 'messages'.\""
is "... marked X-Fake-Check: failed" "$(hdr X-Fake-Check)" "failed"
post /v1/chat/completions
is "check: a well-formed OpenAI request gets the stream" "$code" "200"
post /v1/chat/completion
is "check: a wrong path (.../completion) gets 404" "$code" "404"

body='{"model":"claude","messages":[{"role":"system","content":"x"},{"role":"user","content":"hi"}],"stream":true}'
code=$(curl -s -o "$tmp/body" -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
    -H 'x-api-key: k' -H 'anthropic-version: 2023-06-01' --data "$body" "$base/v1/messages")
is "check: an Anthropic request without max_tokens gets 400" "$code" "400"
contains "... naming max_tokens, in Anthropic's error shape" "$(cat "$tmp/body")" \
    '{"type":"error","error":{"type":"invalid_request_error","message":"max_tokens: Field required;'
contains "... and the system role inside messages" "$(cat "$tmp/body")" 'Unexpected role \"system\"'
body='{"model":"claude","max_tokens":64,"system":"x","messages":[{"role":"user","content":"hi"}],"stream":true}'
code=$(curl -s -o "$tmp/body" -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
    -H 'x-api-key: k' -H 'anthropic-version: 2023-06-01' --data "$body" "$base/v1/messages")
is "check: a well-formed Anthropic request gets the stream" "$code" "200"

post /v1/chat/completions
is "expect: a wrong Authorization header gets 400" "$code" "400"
contains "... naming the header" "$(cat "$tmp/body")" "header Authorization must be 'Bearer sk-right'"
code=$(curl -s -o "$tmp/body" -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
    --data '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}' \
    "$base/v1/chat/completions")
is "expect + check: the matching non-stream request gets 200" "$code" "200"
contains "... and the JSON completion" "$(cat "$tmp/body")" '"object": "chat.completion"'
stop
contains "check failures are reported on stderr" "$(cat "$tmp/stderr")" "failed the request check"

# ------------------------------------------------------------------ tool conversations
# post_json PATH FILE [CURL-ARGS...]: POSTs FILE as the body; sets code; body in $tmp/body.
post_json() {
    p=$1 f=$2; shift 2
    code=$(curl -sN -o "$tmp/body" -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
        --data-binary "@$f" "$@" "$base$p")
}
ant() { post_json /v1/messages "$1" -H 'x-api-key: k' -H 'anthropic-version: 2023-06-01'; }
cat >"$tmp/o-first.json" <<'EOF'
{"model":"m","messages":[{"role":"user","content":"read main.c"}],
 "tools":[{"type":"function","function":{"name":"read_file","description":"Read a file",
   "parameters":{"type":"object","properties":{"path":{"type":"string"}}}}}],
 "stream":true,"stream_options":{"include_usage":true}}
EOF
cat >"$tmp/o-second.json" <<'EOF'
{"model":"m","messages":[{"role":"user","content":"read main.c"},
  {"role":"assistant","content":null,"tool_calls":[
    {"id":"call_1","type":"function","function":{"name":"read_file","arguments":"{\"path\":\"main.c\"}"}},
    {"id":"call_2","type":"function","function":{"name":"read_file","arguments":"{}"}}]},
  {"role":"tool","tool_call_id":"call_1","content":"int main;"},
  {"role":"tool","tool_call_id":"call_2","content":"path is required"}],
 "tools":[{"type":"function","function":{"name":"read_file","parameters":{"type":"object"}}}],
 "stream":true}
EOF
cat >"$tmp/a-second.json" <<'EOF'
{"model":"claude","max_tokens":2048,"messages":[{"role":"user","content":"list src"},
  {"role":"assistant","content":[
    {"type":"thinking","thinking":"List it.","signature":"SIG"},
    {"type":"tool_use","id":"toolu_1","name":"list_dir","input":{"path":"src"}},
    {"type":"tool_use","id":"toolu_2","name":"list_dir","input":{}}]},
  {"role":"user","content":[
    {"type":"tool_result","tool_use_id":"toolu_1","content":"a.c"},
    {"type":"tool_result","tool_use_id":"toolu_2","content":"path is required","is_error":true},
    {"type":"text","text":"and quickly"}]}],
 "tools":[{"name":"list_dir","description":"List","input_schema":{"type":"object"}}],
 "stream":true}
EOF
# variants of the good requests, each broken in one way
python3 - "$tmp" <<'EOF'
import json, sys
d = sys.argv[1]
def variant(src, name, change):
    body = json.load(open(f"{d}/{src}.json"))
    change(body["messages"], body)
    json.dump(body, open(f"{d}/{name}.json", "w"))
variant("o-second", "o-badid", lambda m, b: m[3].update(tool_call_id="call_9"))
variant("o-second", "o-notools", lambda m, b: b.update(tools=[]))
variant("o-second", "o-nullasst", lambda m, b: m.__setitem__(slice(1, 1), [
    {"role": "assistant", "content": None}, {"role": "user", "content": "again"}]))
variant("a-second", "a-first", lambda m, b: m.__delitem__(slice(1, None)))
variant("a-second", "a-turn2", lambda m, b: m.__setitem__(slice(1, None), [
    {"role": "assistant", "content": "x"}, {"role": "user", "content": "y"},
    {"role": "assistant", "content": "z"}, {"role": "user", "content": "w"}]))
variant("a-second", "a-twousers", lambda m, b: m.insert(1, {"role": "user", "content": "again"}))
variant("a-second", "a-textfirst", lambda m, b: m[2]["content"].insert(0, m[2]["content"].pop()))
variant("a-second", "a-badid", lambda m, b: m[2]["content"][1].update(tool_use_id="toolu_9"))
variant("a-second", "a-noresult", lambda m, b: m[2]["content"].pop(1))
variant("a-second", "a-input", lambda m, b: m[1]["content"][1].update(input='{"path":"src"}'))
variant("a-second", "a-emptyasst", lambda m, b: m.__setitem__(slice(1, 1), [
    {"role": "assistant", "content": []}, {"role": "user", "content": "x"}]))
variant("a-second", "a-emptytext", lambda m, b: m[2]["content"][2].update(text=""))
variant("a-second", "a-nosig", lambda m, b: m[1]["content"][0].pop("signature"))
variant("a-second", "a-schema", lambda m, b: b["tools"][0].update(input_schema={"type": "array"}))
EOF
cat >"$tmp/loop.json" <<'EOF'
{
    "check_request": true,
    "sequence": [
        {"fixture": "openai-tool-call", "when_last": "user"},
        {"fixture": "openai-text", "when_last": "tool"}
    ]
}
EOF
start "$tmp/loop.json"
post_json /v1/chat/completions "$tmp/o-second.json"
is "when_last tool: a request ending in tool messages skips to the entry for it" "$code" "200"
contains "... and gets the text answer" "$(cat "$tmp/body")" '"content":"Hello'
post_json /v1/chat/completions "$tmp/o-first.json"
is "when_last user: the first turn gets the entry left behind" "$code" "200"
contains "... the streamed tool call" "$(cat "$tmp/body")" '"name":"read_file","arguments":""'
post_json /v1/chat/completions "$tmp/o-second.json"
contains "when every fitting entry is used, the last that fits answers again" "$(cat "$tmp/body")" \
    '"content":"Hello'
code=$(curl -s -o "$tmp/body" -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
    --data '{"model":"m","messages":[{"role":"user","content":"a"},{"role":"assistant","content":"b"}]}' \
    "$base/v1/chat/completions")
is "a request no entry fits gets a 500" "$code" "500"
contains "... naming the last role and the turn" "$(cat "$tmp/body")" "(last message: assistant, turn 1)"

post_json /v1/chat/completions "$tmp/o-badid.json"
is "check: a tool message answering no call of the preceding assistant message: 400" "$code" "400"
contains "... naming the id" "$(cat "$tmp/body")" "tool_call_id='call_9'"
contains "... and the call left without an answer" "$(cat "$tmp/body")" \
    "did not have response messages: call_2"
post_json /v1/chat/completions "$tmp/o-notools.json"
contains "check: an empty tools array is refused, as OpenAI does" "$(cat "$tmp/body")" \
    "Invalid 'tools': empty array."
post_json /v1/chat/completions "$tmp/o-nullasst.json"
contains "check: an assistant message with neither content nor tool_calls is refused" \
    "$(cat "$tmp/body")" "an assistant message without 'tool_calls' needs content"
stop

cat >"$tmp/loop.json" <<'EOF'
{
    "check_request": true,
    "sequence": [
        {"fixture": "anthropic-text", "when_turn": 2},
        {"fixture": "anthropic-thinking-tool-use", "when_turn": 0, "when_last": "user"},
        {"fixture": "anthropic-text", "when_last": "tool"}
    ]
}
EOF
start "$tmp/loop.json"
ant "$tmp/a-first.json"
is "when_turn 0 + when_last user: an Anthropic first turn" "$code" "200"
contains "... gets the thinking + tool_use stream" "$(cat "$tmp/body")" '"name":"list_dir"'
ant "$tmp/a-second.json"
is "a well-formed Anthropic tool conversation (thinking, tool_use, results, text) passes the checks" \
    "$code" "200"
contains "... and a user message of tool_result blocks is when_last tool" "$(cat "$tmp/body")" \
    '"text_delta","text":"Hello'
ant "$tmp/a-turn2.json"
is "when_turn 2: the entry listed first answers the request with two assistant messages" \
    "$(grep -c '"text_delta"' "$tmp/body")" "4"
ant "$tmp/a-twousers.json"
contains "check: two user messages in a row are refused" "$(cat "$tmp/body")" \
    'but found multiple \"user\" roles in a row'
ant "$tmp/a-textfirst.json"
contains "check: text before a tool_result is refused" "$(cat "$tmp/body")" \
    "messages.2.content.1: tool_result blocks must come first"
ant "$tmp/a-badid.json"
contains "check: a tool_result for no tool_use of the previous message is refused" \
    "$(cat "$tmp/body")" 'unexpected `tool_use_id` found in `tool_result` blocks: toolu_9'
contains "... and the tool_use it left unanswered is named" "$(cat "$tmp/body")" \
    'without `tool_result` blocks immediately after: toolu_2'
ant "$tmp/a-noresult.json"
contains "check: a tool_use without its tool_result is refused" "$(cat "$tmp/body")" \
    'without `tool_result` blocks immediately after: toolu_2'
ant "$tmp/a-input.json"
contains "check: tool_use input that is not an object is refused" "$(cat "$tmp/body")" \
    "messages.1.content.1.input: Input should be a valid dictionary"
ant "$tmp/a-emptyasst.json"
contains "check: an assistant message with empty content is refused" "$(cat "$tmp/body")" \
    "messages.1: all messages must have non-empty content"
ant "$tmp/a-emptytext.json"
contains "check: an empty text block is refused" "$(cat "$tmp/body")" \
    "messages.2.content.2: text content blocks must be non-empty"
ant "$tmp/a-nosig.json"
contains "check: a thinking block without its signature is refused" "$(cat "$tmp/body")" \
    "messages.1.content.0.thinking.signature: Field required"
ant "$tmp/a-schema.json"
contains "check: an input_schema that is not an object schema is refused" "$(cat "$tmp/body")" \
    "tools.0.custom.input_schema.type: Input should be 'object'"
stop

echo '[{"fixture": "openai-text", "when_last": "system"}]' >"$tmp/badcond.json"
python3 "$server" --port 0 --script "$tmp/badcond.json" >"$tmp/bad.out" 2>"$tmp/bad.err"
is "a malformed condition fails at start (exit 2)" "$?" "2"
contains "... saying what is allowed" "$(cat "$tmp/bad.err")" "when_last must be user, tool or assistant"

# ------------------------------------------------------------------ stall and slow
cat >"$tmp/slow.json" <<'EOF'
{
    "sequence": [
        "openai-stall",
        {"fixture": "openai-slow", "delivery": {"delay_ms": 4}}
    ]
}
EOF
start "$tmp/slow.json"
post /v1/chat/completions -m 1
is "stall: a client with a 1 s limit times out (curl exit 28)" "$rc" "28"
stall=$(fixture_get openai-stall 'fx["delivery"]["stall_after_bytes"]')
is "... having received exactly the bytes before the stall" "$(wc -c <"$tmp/body" | tr -d ' ')" "$stall"

# curl cannot show TCP segments; count what recv() returns instead.
reads=$(python3 - "$port" <<'EOF'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n"
          b"Connection: close\r\n\r\n{}")
reads, data = 0, b""
while True:
    b = s.recv(65536)
    if not b:
        break
    reads += 1
    data += b
body = data.split(b"\r\n\r\n", 1)[1]
print(reads, body.count(b"1\r\n"), data.endswith(b"0\r\n\r\n"))
EOF
)
set -- $reads
check "slow stream: bytes arrive in separate reads (TCP_NODELAY; $1 reads)" [ "$1" -gt 250 ]
check "... each body byte in its own HTTP chunk ($2 chunks)" [ "$2" -gt 250 ]
is "... and the stream ends with the terminating chunk" "$3" "True"
stop

echo "1..$n"
[ "$failed" -eq 0 ]

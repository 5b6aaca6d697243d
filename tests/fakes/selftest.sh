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

#!/bin/sh
# `forja models` and `forja doctor` against the fake LLM server
# (tests/fakes/llm_server.py): model lists from /v1/models, Anthropic's
# /v1/models and Ollama's /api/tags, as text and JSON; auth errors; doctor's
# verdicts against a live server and a closed port, the key never printed;
# and `forja exec` finding a local server on Ollama's port with nothing
# configured.
HERE=$(cd "$(dirname "$0")" && pwd)
FAKES=$(cd "$HERE/../fakes" && pwd)
# shellcheck source=tests/e2e/lib.sh
. "$HERE/lib.sh"
unset OPENAI_API_KEY ANTHROPIC_API_KEY OLLAMA_HOST OPENAI_BASE_URL ANTHROPIC_BASE_URL \
	OPENROUTER_API_KEY

KEY=sk-e2e-SECRET-7f3a9c1d5b2e8f4a6c0d

# --- the fake server -------------------------------------------------------
SRV_PID='' SRV_N=0
stop_server() {
	if [ -n "$SRV_PID" ]; then
		kill -TERM "$SRV_PID" 2>/dev/null
		wait "$SRV_PID" 2>/dev/null
		SRV_PID=
	fi
}
trap 'stop_server; rm -rf "$T_DIR"' EXIT
trap 'exit 130' HUP INT TERM

# serve SCRIPT-JSON [PORT]: starts a fresh server with that script, on PORT
# (default: a free one); sets PORT ("" when it did not start), ROOT, BASE
# (ROOT/v1) and LOG.
serve() {
	stop_server
	SRV_N=$((SRV_N + 1))
	LOG="$T_DIR/llm$SRV_N.log"
	: >"$LOG"
	printf '%s\n' "$1" >"$T_DIR/script$SRV_N.json"
	: >"$T_DIR/llm.port"
	python3 -S "$FAKES/llm_server.py" --port "${2:-0}" --script "$T_DIR/script$SRV_N.json" \
		--log "$LOG" --check-request >"$T_DIR/llm.port" 2>"$T_DIR/llm$SRV_N.err" &
	SRV_PID=$!
	i=0
	while [ $i -lt 200 ] && ! grep -q '^PORT ' "$T_DIR/llm.port"; do
		kill -0 "$SRV_PID" 2>/dev/null || break
		sleep 0.02
		i=$((i + 1))
	done
	PORT=$(sed -n 's/^PORT \([0-9][0-9]*\)$/\1/p' "$T_DIR/llm.port")
	ROOT="http://127.0.0.1:${PORT:-1}"
	BASE="$ROOT/v1"
}

# logq EXPR: a python expression over the request log (reqs, req = the first).
logq() {
	python3 -S -c 'import json,sys
reqs=[json.loads(l) for l in open(sys.argv[1],encoding="utf-8") if l.strip()]
req=reqs[0] if reqs else {}
sys.stdout.buffer.write(str(eval(sys.argv[2])).encode())' "$LOG" "$1" 2>&1
}
# fxq NAME EXPR: a python expression over fixture NAME (fx).
fxq() {
	python3 -S -c 'import json,sys
fx=json.load(open(sys.argv[1],encoding="utf-8"))
sys.stdout.buffer.write(str(eval(sys.argv[2])).encode())' "$FAKES/fixtures/$1.json" "$2" 2>&1
}
# outq EXPR: a python expression over stdout parsed as JSON (d).
outq() {
	python3 -S -c 'import json,sys
d=json.load(open(sys.argv[1],encoding="utf-8"))
sys.stdout.buffer.write(str(eval(sys.argv[2])).encode())' "$T_DIR/.out" "$1" 2>&1
}
fj() { OPENAI_API_KEY=$KEY "$FORJA" "$@" </dev/null; }
fja() { ANTHROPIC_API_KEY=$KEY "$FORJA" "$@" </dev/null; }

mkdir -p "$XDG_CONFIG_HOME/forja"
printf '%s\n' '{"retries": {"base_ms": 20, "max_delay_ms": 50}, "timeouts": {"idle_ms": 400}}' \
	>"$XDG_CONFIG_HOME/forja/config.json"
mkdir -p "$T_DIR/proj"
cd "$T_DIR/proj" || exit 1

# --- forja models ---------------------------------------------------------------
ids=$(fxq openai-models '"\n".join(m["id"] for m in fx["body"]["data"])')
serve '{"routes": {"GET /models": "openai-models"}}'
run fj --base-url "$BASE" models
is "models: exit 0" "$RC" 0
is "models: the ids, one per line" "$OUT" "$ids"
is "models: GET /v1/models" "$(logq 'req["method"] + " " + req["path"]')" "GET /v1/models"
is "models: the key is sent" "$(logq 'req["headers"].get("Authorization")')" "Bearer $KEY"
lacks "models: the key is not printed" "$OUT$ERR" "$KEY"
run fj models --base-url "$BASE"
is "models --base-url after the command: exit 0" "$RC" 0
is "models --base-url after the command: the same ids" "$OUT" "$ids"

run fj --json --base-url "$BASE" models
is "models --json: exit 0" "$RC" 0
is "models --json: the ids" "$(outq 'd["models"]')" "$(fxq openai-models '[m["id"] for m in fx["body"]["data"]]')"
is "models --json: the provider" "$(outq 'd["provider"]')" openai
is "models --json: the base URL" "$(outq 'd["base_url"]')" "$BASE"

serve '{"routes": {"GET /api/tags": "ollama-tags", "GET /models": "openai-models"}}'
run "$FORJA" --provider ollama --base-url "$BASE" models </dev/null
is "models --provider ollama: exit 0" "$RC" 0
is "models --provider ollama: the names from /api/tags" "$OUT" \
	"$(fxq ollama-tags '"\n".join(m["name"] for m in fx["body"]["models"])')"
is "models --provider ollama: asked /api/tags only" "$(logq '[r["path"] for r in reqs]')" "['/api/tags']"
run "$FORJA" models --provider ollama --base-url "$BASE" </dev/null
is "models with --provider ollama after the command: /api/tags" "$OUT" \
	"$(fxq ollama-tags '"\n".join(m["name"] for m in fx["body"]["models"])')"

serve '{"routes": {"GET /v1/models": "anthropic-models"}}'
run fja --provider anthropic --base-url "$ROOT" models
is "models --provider anthropic: exit 0" "$RC" 0
is "models --provider anthropic: the ids" "$OUT" \
	"$(fxq anthropic-models '"\n".join(m["id"] for m in fx["body"]["data"])')"
is "models --provider anthropic: x-api-key sent" "$(logq 'req["headers"].get("x-api-key")')" "$KEY"

serve '{"routes": {"GET /models": {"fixture": "openai-401", "check_request": false}}}'
run fj --base-url "$BASE" models
is "models with a 401: exit 3" "$RC" 3
is "models with a 401: nothing on stdout" "$OUT" ""
contains "models with a 401: says the credentials were refused" "$ERR" "401"

closed=$(python3 -S -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
run fj --base-url "http://127.0.0.1:$closed/v1" models
is "models against a closed port: exit 4" "$RC" 4

# --- forja doctor ---------------------------------------------------------------------
serve '{"routes": {"GET /models": "openai-models"}}'
run fj --base-url "$BASE" doctor
is "doctor against a live server: exit 0" "$RC" 0
is "doctor: an ok reachable line" "$(printf '%s\n' "$OUT" | grep -cE '^ok +reachable ')" 1
contains "doctor: the reachable line names the URL" "$OUT" "$BASE/models"
is "doctor: no FAIL line" "$(printf '%s\n' "$OUT" | grep -c '^FAIL')" 0
is "doctor: the library versions" "$(printf '%s\n' "$OUT" | grep -cE '^ok +(forja|libgit2|libcurl|libraries) ')" 4
contains "doctor: sqlite's version" "$OUT" "sqlite 3."
is "doctor: the key is reported as set" "$(printf '%s\n' "$OUT" | grep -cE '^ok +API key +set')" 1
lacks "doctor: the key is never printed (stdout)" "$OUT" "$KEY"
lacks "doctor: the key is never printed (stderr)" "$ERR" "$KEY"
lacks "doctor: not even its start" "$OUT$ERR" "sk-e2e-SECRET"
is "doctor: the key was sent" "$(logq 'req["headers"].get("Authorization")')" "Bearer $KEY"
run fj doctor --base-url "$BASE"
is "doctor --base-url after the command: exit 0" "$RC" 0
is "doctor --base-url after the command: reachable" "$(printf '%s\n' "$OUT" | grep -cE '^ok +reachable ')" 1

run fj --base-url "http://127.0.0.1:$closed/v1" doctor
check "doctor against a closed port: non-zero exit" test "$RC" -ne 0
is "doctor against a closed port: a FAIL reachable line" "$(printf '%s\n' "$OUT" | grep -cE '^FAIL +reachable ')" 1
lacks "doctor against a closed port: the key is never printed" "$OUT$ERR" "$KEY"

serve '{"routes": {"GET /models": {"fixture": "openai-401", "check_request": false}}}'
run fj --base-url "$BASE" doctor
is "doctor with a refused key: exit 3" "$RC" 3
is "doctor with a refused key: a FAIL line" "$(printf '%s\n' "$OUT" | grep -c '^FAIL')" 1

# --- a local server on Ollama's port, nothing configured ---------------------------------------
port_free() {
	python3 -S -c 'import socket,sys
s=socket.socket()
s.settimeout(0.3)
sys.exit(1 if s.connect_ex(("127.0.0.1", int(sys.argv[1]))) == 0 else 0)' "$1"
}
PORT=
if port_free 11434; then
	serve '{"routes": {"GET /models": "ollama-models"}, "sequence": ["openai-text"]}' 11434
fi
if [ -n "$PORT" ]; then
	run "$FORJA" exec hi </dev/null
	is "nothing configured, a server on 11434: exit 0" "$RC" 0
	contains "nothing configured, a server on 11434: found and said so" "$ERR" "found on http://127.0.0.1:11434/v1"
	contains "nothing configured, a server on 11434: the answer" "$OUT" "Ça va? 🦀"
	is "nothing configured, a server on 11434: the first listed model" \
		"$(logq '[r["body"]["model"] for r in reqs if r["method"] == "POST"]')" "['qwen3:8b']"
	stop_server
else
	for t in "exit 0" "found and said so" "the answer" "the first listed model"; do
		ok "nothing configured, a server on 11434: $t # SKIP port 11434 is taken"
	done
fi

stop_server
done_testing

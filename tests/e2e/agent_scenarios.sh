#!/bin/sh
# Longer runs of the agent loop, `forja exec --json` in a real git
# repository against the fake LLM server: a task of several turns (read,
# edit, patch, a failing test run, a fix, a passing run, the answer); a
# command that times out; a provider failure in the middle of a turn,
# retried without running the tool again; compaction of a long session
# near a small context window; and repeated kill -9 at random moments,
# each followed by integrity checks of the store and a resume.
HERE=$(cd "$(dirname "$0")" && pwd)
FAKES=$(cd "$HERE/../fakes" && pwd)
# shellcheck source=tests/e2e/lib.sh
. "$HERE/lib.sh"
unset OPENAI_API_KEY ANTHROPIC_API_KEY OLLAMA_HOST OPENAI_BASE_URL ANTHROPIC_BASE_URL
: "${FORJA_CONTRACTS_DIR:=$HERE/../../contracts}"
export FORJA_CONTRACTS_DIR
KEY=sk-scenarios-e2e-0123456789
export FORJA_DB="$T_DIR/forja.db"

SRV_PID='' SRV2_PID=''
stop_server() {
	for p in $SRV_PID $SRV2_PID; do
		kill -TERM "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	SRV_PID='' SRV2_PID=''
}
trap 'stop_server; rm -rf "$T_DIR"' EXIT

# A fake-server script from Python read on standard input, which sets
# `seq` with these helpers:
#   text(WORDS, **extra)                    an answer
#   calls((NAME, ARGS), ..., **extra)       tool calls, ids call_<turn>_<i>
# where extra keys (when_turn, delivery, usage=N prompt tokens, ...) are
# merged into the entry; any other fixture entry can go in as is.
cat >"$T_DIR/mkscript.py" <<'PY'
import json, sys
TURN = [0]
def chunk(delta, finish=None):
    return {"data": {"id": "c", "object": "chat.completion.chunk", "model": "m",
                     "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}}
def entry(ev, extra):
    prompt = extra.pop("usage", 100)
    ev.append({"data": {"id": "c", "object": "chat.completion.chunk", "model": "m", "choices": [],
                        "usage": {"prompt_tokens": prompt, "completion_tokens": 10,
                                  "total_tokens": prompt + 10}}})
    ev.append({"data": "[DONE]"})
    e = {"api": "openai-chat", "status": 200, "events": ev}
    e.update(extra)
    return e
def text(words, **extra):
    ev = [chunk({"role": "assistant", "content": ""})]
    # in pieces, so that a cut stream has shown some of it
    for i in range(0, len(words), 8):
        ev.append(chunk({"content": words[i:i + 8]}))
    ev.append(chunk({}, "stop"))
    return entry(ev, extra)
def calls(*cs, **extra):
    turn = extra.pop("turn", TURN[0])
    TURN[0] = turn + 1
    ev = [chunk({"role": "assistant", "content": ""})]
    for i, (name, args) in enumerate(cs):
        a = json.dumps(args)
        ev.append(chunk({"tool_calls": [{"index": i, "id": "call_%d_%d" % (turn, i), "type": "function",
                                          "function": {"name": name, "arguments": ""}}]}))
        h = len(a) // 2
        ev.append(chunk({"tool_calls": [{"index": i, "function": {"arguments": a[:h]}}]}))
        ev.append(chunk({"tool_calls": [{"index": i, "function": {"arguments": a[h:]}}]}))
    ev.append(chunk({}, "tool_calls"))
    return entry(ev, extra)
env = {"text": text, "calls": calls, "seq": None}
exec(sys.stdin.read(), env)
json.dump({"check_request": True, "sequence": env["seq"]}, sys.stdout)
PY

# serve < PYTHON: a fresh server for this scenario; LOG holds its requests.
N=0
serve() {
	stop_server
	N=$((N + 1))
	LOG="$T_DIR/llm$N.log"
	python3 "$T_DIR/mkscript.py" >"$T_DIR/script$N.json" || echo "# the script $N did not build"
	start_fake "$T_DIR/script$N.json" "$LOG"
	SRV_PID=$FAKE_PID BASE=$FAKE_BASE
}
fx() { OPENAI_API_KEY=$KEY "$FORJA" exec --base-url "$BASE" --model m "$@" </dev/null; }
# q EXPR: a Python expression over the last run's events (evs, types, of)
# and the server's requests (reqs; msgs(i) the messages of request i).
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
# db SQL: the rows of a query on the store, "|" between columns (dbf FILE SQL: another store)
dbf() { python3 -S -c 'import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); print("\n".join("|".join(str(x) for x in r) for r in c.execute(sys.argv[2])))' "$1" "$2"; }
db() { dbf "$FORJA_DB" "$1"; }
# every request the fake got passed its checks (status 200, no failures)
requests_ok() { q '[(r["n"], r["status"], r.get("check_failures")) for r in reqs if r["status"] != 200 or r.get("check_failures")]'; }
now_ms() { python3 -S -c 'import time; print(int(time.time() * 1000))'; }

W="$T_DIR/w"
mkdir -p "$W"
cd "$W" || exit 1
git init -q .
cat >calc.sh <<'EOF'
# calc.sh: arithmetic for the tests
# version 1
add() { echo $(($1 - $2)); }
EOF
cat >test.sh <<'EOF'
. ./calc.sh
fail=0
[ "$(add 2 3)" = 5 ] || { echo "FAIL: add 2 3 gave $(add 2 3)"; fail=1; }
[ "$(mul 4 5)" = 20 ] || { echo "FAIL: mul 4 5 gave $(mul 4 5)"; fail=1; }
[ $fail = 0 ] && echo "PASS: 2 tests"
exit $fail
EOF
git add . && git commit -qm init

# --- a task of seven requests: read, edit, patch, test (fails), fix, test, answer ---
serve <<'PY'
patch = ("--- a/calc.sh\n+++ b/calc.sh\n@@ -1,3 +1,4 @@\n # calc.sh: arithmetic for the tests\n"
         " # version 2\n add() { echo $(($1 - $2)); }\n+mul() { echo $(($1 * $2)); }\n")
seq = [calls(("read_file", {"path": "calc.sh"})),
       calls(("edit_file", {"path": "calc.sh", "old_string": "# version 1", "new_string": "# version 2"})),
       calls(("apply_patch", {"patch": patch})),
       calls(("run", {"command": "sh test.sh"})),
       calls(("edit_file", {"path": "calc.sh", "old_string": "$(($1 - $2))", "new_string": "$(($1 + $2))"})),
       calls(("run", {"command": "sh test.sh"})),
       text("Fixed add and added mul; the tests pass.")]
PY
run fx --json "make the tests pass"
is "task: exit 0" "$RC" 0
is "task: the file at the end" "$(cat calc.sh)" '# calc.sh: arithmetic for the tests
# version 2
add() { echo $(($1 + $2)); }
mul() { echo $(($1 * $2)); }'
is "task: the tests really pass now" "$(sh test.sh)" "PASS: 2 tests"
is "task: the tool_end statuses in order" "$(q '[(e["name"], e["status"]) for e in of("tool_end")]')" \
	"[('read_file', 'ok'), ('edit_file', 'ok'), ('apply_patch', 'ok'), ('run', 'failed'), ('edit_file', 'ok'), ('run', 'ok')]"
is "task: seven requests, each one well-formed" "$(q 'len(reqs)') $(requests_ok)" "7 []"
contains "task: the model sees read_file's content" "$(q 'msgs(1)[-1]["content"]')" "add() { echo \$((\$1 - \$2)); }"
contains "task: the failing run's output goes to the model" "$(q 'msgs(4)[-1]["content"]')" "FAIL: add 2 3 gave -1"
contains "task: with its exit status" "$(q 'msgs(4)[-1]["content"]')" "[exit 1]"
contains "task: the passing run's output goes to the model" "$(q 'msgs(6)[-1]["content"]')" "PASS: 2 tests"
is "task: each request carries the whole history so far" \
	"$(q '[len(msgs(i)) for i in range(7)]')" "[2, 4, 6, 8, 10, 12, 14]"
is "task: the results answer the calls in order" \
	"$(q '[m["tool_call_id"] for m in msgs(6) if m["role"] == "tool"]')" \
	"['call_0_0', 'call_1_0', 'call_2_0', 'call_3_0', 'call_4_0', 'call_5_0']"
is "task: the answer" "$(q '"".join(e["text"] for e in of("text_delta"))')" "Fixed add and added mul; the tests pass."
is "task: the summary counts 7 requests, 6 calls, calc.sh changed" \
	"$(q 'str([of("summary")[0][k] for k in ("status", "requests", "tool_calls", "files_changed")])')" \
	"['ok', 7, 6, ['calc.sh']]"
SID=$(q 'of("done")[0]["session"]')
is "task: the store has 14 messages in order" \
	"$(db "select count(*), group_concat(role, ',') from (select role from messages where session_id = '$SID' order by seq)")" \
	"14|user,assistant,tool,assistant,tool,assistant,tool,assistant,tool,assistant,tool,assistant,tool,assistant"
is "task: the store has the 6 calls with their statuses" \
	"$(db "select count(*), group_concat(name || ':' || status, ',') from (select name, status from tool_calls where session_id = '$SID' order by id)")" \
	"6|read_file:ok,edit_file:ok,apply_patch:ok,run:failed,edit_file:ok,run:ok"
is "task: each call points at the assistant message that made it" \
	"$(db "select group_concat(t.message_seq, ',') from tool_calls t join messages m on m.session_id = t.session_id and m.seq = t.message_seq and m.role = 'assistant' where t.session_id = '$SID' order by t.id")" \
	"2,4,6,8,10,12"
is "task: usage for each of the 7 responses" "$(db "select count(*) from usage where session_id = '$SID'")" 7

# --- a command that runs past its timeout_ms ------------------------------------------
serve <<'PY'
seq = [calls(("run", {"command": "sleep 20.25", "timeout_ms": 500})),
       text("It timed out, as expected.")]
PY
T0=$(now_ms)
run fx --json "sleep"
T1=$(now_ms)
is "timeout: exit 0, the turn goes on to the answer" "$RC" 0
is "timeout: tool_end status timeout" "$(q 'of("tool_end")[0]["status"]')" timeout
is "timeout: the call ended within 2 s" "$(q 'of("tool_end")[0]["duration_ms"] < 2000')" True
is "timeout: the whole run took less than 4 s" "$((T1 - T0 < 4000))" 1
contains "timeout: the model is told it timed out" "$(q 'msgs(1)[-1]["content"]')" "timed out after 500 ms"
is "timeout: two well-formed requests" "$(q 'len(reqs)') $(requests_ok)" "2 []"
is "timeout: the answer" "$(q '"".join(e["text"] for e in of("text_delta"))')" "It timed out, as expected."
is "timeout: the store records the status" \
	"$(db "select status from tool_calls where session_id = '$(q 'of("done")[0]["session"]')'")" timeout
is "timeout: nothing left running" "$(ps -eo args | grep -c '^sleep 20[.]25$')" 0

# --- the provider fails in the middle of a turn; the retry does not run the tool again ---
mkdir -p "$XDG_CONFIG_HOME/forja"
printf '{"retries": {"base_ms": 50, "max_delay_ms": 200}}\n' >"$XDG_CONFIG_HOME/forja/config.json"
serve <<'PY'
seq = [calls(("run", {"command": "echo ran >> ran.txt"})),
       "openai-503",
       text("The command ran once.")]
PY
rm -f ran.txt
run fx --json "run it once"
is "503 then retry: exit 0" "$RC" 0
is "503 then retry: one retry event: attempt 2, a server error, within retries.max_delay_ms" \
	"$(q '[(e["attempt"], e["reason"], e["delay_ms"] <= 200) for e in of("retry")]')" "[(2, 'server error', True)]"
is "503 then retry: the command ran exactly once" "$(cat ran.txt 2>&1)" ran
is "503 then retry: one tool_start, one tool_end" "$(q 'types.count("tool_start"), types.count("tool_end")')" "(1, 1)"
is "503 then retry: three requests, the 503 then a 200" "$(q '[r["status"] for r in reqs]')" "[200, 503, 200]"
is "503 then retry: the retry sends the same body as the failed attempt" "$(q 'reqs[1]["body"] == reqs[2]["body"]')" True
is "503 then retry: which holds the call and its one result" \
	"$(q '[m["role"] for m in msgs(2)][1:]')" "['user', 'assistant', 'tool']"
is "503 then retry: the answer" "$(q '"".join(e["text"] for e in of("text_delta"))')" "The command ran once."
is "503 then retry: the store has one result for the call" \
	"$(db "select count(*) from messages where session_id = '$(q 'of("done")[0]["session"]')' and role = 'tool'")" 1

serve <<'PY'
seq = [calls(("run", {"command": "echo ran >> ran.txt"})),
       text("This answer is cut in the middle, then sent again in full.",
            delivery={"disconnect_after_bytes": 700}),
       text("This answer is cut in the middle, then sent again in full.")]
PY
rm -f ran.txt
run fx --json "run it once more"
is "stream cut then retry: exit 0" "$RC" 0
is "stream cut then retry: some text came before the cut" \
	"$(q '0 < types.index("cut") and any(t == "text_delta" for t in types[:types.index("cut")])')" True
is "stream cut then retry: cut, then a retry saying stream cut" \
	"$(q '[(types[types.index("cut") + 1], of("retry")[0]["reason"])]')" "[('retry', 'stream cut')]"
is "stream cut then retry: the text after the cut is the whole answer" \
	"$(q '"".join(e["text"] for e in evs[types.index("cut"):] if e["type"] == "text_delta")')" \
	"This answer is cut in the middle, then sent again in full."
is "stream cut then retry: the command ran exactly once" "$(cat ran.txt 2>&1)" ran
is "stream cut then retry: the retry sends the same body" "$(q 'len(reqs) == 3 and reqs[1]["body"] == reqs[2]["body"]')" True
is "stream cut then retry: every request well-formed" "$(requests_ok)" "[]"
is "stream cut then retry: the store keeps one answer, the whole one" \
	"$(db "select count(*), max(body) from messages where session_id = '$(q 'of("done")[0]["session"]')' and role = 'assistant' and body not like '%calls%'")" \
	'1|{"content":"This answer is cut in the middle, then sent again in full."}'
rm -f "$XDG_CONFIG_HOME/forja/config.json" ran.txt

# --- compaction near a small context window -------------------------------------------
# The system prompt and the tools are about 1,800 tokens; a 10 kB file
# written in the first run brings a history loaded with --session (about
# 4,400 tokens) past 80% of a 4096-token window, while the first run's
# second request (estimated from the usage its first answer reported) is not.
mkdir -p "$XDG_CONFIG_HOME/forja"
printf '{"models": {"m": {"context_window": 4096}}}\n' >"$XDG_CONFIG_HOME/forja/config.json"
serve <<'PY'
seq = [calls(("write_file", {"path": "big.txt", "content": "".join("line %04d of a long file\n" % i for i in range(400))})),
       text("Wrote big.txt.")]
PY
run fx --json "write a long file"
is "compaction: the first run is not compacted" "$RC $(q 'len(reqs)') $(q 'len([e for e in of("notice") if "compact" in e["text"]])')" "0 2 0"
CSID=$(q 'of("done")[0]["session"]')
serve <<'PY'
seq = [text("SUMMARY-TEXT: the user asked for big.txt and it was written."),
       text("Second answer.")]
PY
run fx --json --session "$CSID" "now count its lines"
is "compaction: exit 0" "$RC" 0
is "compaction: two requests, both well-formed" "$(q 'len(reqs)') $(requests_ok)" "2 []"
is "compaction: the first is the summary request" \
	"$(q '[m["role"] for m in msgs(0)]') $(q 'msgs(0)[0]["content"].startswith("You summarise")') $(q '"tools" in reqs[0]["body"]')" \
	"['system', 'user'] True False"
contains "compaction: it summarises the earlier prompt" "$(q 'msgs(0)[1]["content"]')" "write a long file"
is "compaction: the real request starts with the summary, then the prompt" \
	"$(q '[m["role"] for m in msgs(1)]') $(q 'msgs(1)[1]["content"].startswith("[Summary of the earlier part of this session]")') $(q 'msgs(1)[-1]["content"]')" \
	"['system', 'user', 'user'] True now count its lines"
contains "compaction: the summary holds the model's text" "$(q 'msgs(1)[1]["content"]')" "SUMMARY-TEXT: the user asked for big.txt"
contains "compaction: the summary names the files touched" "$(q 'msgs(1)[1]["content"]')" "big.txt"
lacks "compaction: the long file is no longer sent" "$(q 'msgs(1)')" "line 0399"
contains "compaction: a notice says so" "$(q '" | ".join(e["text"] for e in of("notice"))')" "compacted"
is "compaction: the answer is the second one (the summary streamed to no one)" \
	"$(q '"".join(e["text"] for e in of("text_delta"))')" "Second answer."
is "compaction: the store has one summary, and the answer last" \
	"$(db "select count(*) from messages where session_id = '$CSID' and role = 'summary'") $(db "select role || ' ' || body from messages where session_id = '$CSID' order by seq desc limit 1")" \
	'1 assistant {"content":"Second answer."}'
is "compaction: the earlier messages stay in the store, before the summary" \
	"$(db "select group_concat(role, ',') from (select role from messages where session_id = '$CSID' and seq < 5 order by seq)")" \
	"user,assistant,tool,assistant"
# The full history (sessions show, export) must hold each prompt once.
is "compaction: the store holds the prompt once" \
	"$(db "select count(*) from messages where session_id = '$CSID' and role = 'user' and body like '%now count its lines%'")" 1
run "$FORJA" sessions export "$CSID"
is "compaction: the export has two turns, the prompt once" \
	"$(printf '%s\n' "$OUT" | grep -c '^## Turn') $(printf '%s\n' "$OUT" | grep -c '^now count its lines$')" "2 1"
is "compaction: seq has no gaps" "$(db "select count(*) = max(seq) from messages where session_id = '$CSID'")" 1
serve <<'PY'
seq = [text("Third answer.")]
PY
run fx --json --session "$CSID" "and then?"
is "compaction: a later --session starts from the summary, no second compaction" \
	"$RC $(q 'len(reqs)') $(q '[m["role"] for m in msgs(0)]')" \
	"0 1 ['system', 'user', 'user', 'assistant', 'user']"
is "compaction: ... with the summary first" \
	"$(q 'msgs(0)[1]["content"].startswith("[Summary of the earlier part of this session]")') $(requests_ok)" "True []"
rm -f "$XDG_CONFIG_HOME/forja/config.json"

# In the middle of a turn: two prompts in one interactive session (fed
# from a pipe); the second prompt's first answer reports 7,000 prompt
# tokens of an 8192-token window, so its next request is compacted: the
# first prompt's exchange is summarised, the current prompt, its call
# and the call's result are kept, each stored once.
printf '{"models": {"m": {"context_window": 8192}}}\n' >"$XDG_CONFIG_HOME/forja/config.json"
serve <<'PY'
seq = [calls(("write_file", {"path": "big2.txt", "content": "".join("row %04d of another long file\n" % i for i in range(300))})),
       text("Wrote big2.txt."),
       calls(("read_file", {"path": "calc.sh"}), usage=7000),
       text("SUMMARY-TEXT: big2.txt was written."),
       text("calc.sh has add.")]
PY
run sh -c "printf 'write another long file\nwhat does calc.sh hold?\n' | OPENAI_API_KEY=$KEY '$FORJA' --json --base-url '$BASE' --model m"
is "mid-turn compaction: exit 0" "$RC" 0
is "mid-turn compaction: five requests, all well-formed" "$(q 'len(reqs)') $(requests_ok)" "5 []"
is "mid-turn compaction: the fourth is the summary request" "$(q 'msgs(3)[0]["content"].startswith("You summarise")')" True
is "mid-turn compaction: the fifth keeps the prompt, its call and the result" \
	"$(q '[m["role"] for m in msgs(4)]') $(q 'msgs(4)[1]["content"].startswith("[Summary of the earlier part")') $(q 'msgs(4)[2]["content"]') $(q 'msgs(4)[-1]["tool_call_id"]')" \
	"['system', 'user', 'user', 'assistant', 'tool'] True what does calc.sh hold? call_1_0"
lacks "mid-turn compaction: the long file is no longer sent" "$(q 'msgs(4)')" "row 0299"
MSID=$(db "select id from sessions order by updated_at desc, rowid desc limit 1")
is "mid-turn compaction: the store keeps the prompt, the call and its result once" \
	"$(db "select count(*) from messages where session_id = '$MSID' and body like '%what does calc.sh hold?%' and role = 'user'") $(db "select count(*) from messages where session_id = '$MSID' and body like '%call_1_0%'")" \
	"1 2"
is "mid-turn compaction: one summary, seq without gaps" \
	"$(db "select sum(role = 'summary'), count(*) = max(seq) from messages where session_id = '$MSID'")" "1|1"
serve <<'PY'
seq = [text("Fourth answer.")]
PY
run fx --json --session "$MSID" "and now?"
is "mid-turn compaction: --session later loads the summary and what it kept" \
	"$RC $(q '[m["role"] for m in msgs(0)]') $(requests_ok)" \
	"0 ['system', 'user', 'user', 'assistant', 'tool', 'assistant', 'user'] []"
rm -f "$XDG_CONFIG_HOME/forja/config.json"

# --- kill -9 at random moments, then the store is checked and the session resumed ---
# One server plays the task (its entries chosen by turn, so every round
# gets the same task; two answers stream slowly, so that kills also land
# while the model answers), another answers every resume with text.
stop_server
python3 "$T_DIR/mkscript.py" >"$T_DIR/task.json" <<'PY'
seq = [calls(("run", {"command": "sleep 0.5; echo step0 >> k.log"}), when_turn=0),
       calls(("write_file", {"path": "k1.txt", "content": "round\n"}), ("read_file", {"path": "calc.sh"}), when_turn=1,
             delivery={"delay_ms": 40}),
       calls(("run", {"command": "sleep 0.2; echo step2 >> k.log"}), when_turn=2),
       calls(("edit_file", {"path": "k1.txt", "old_string": "round", "new_string": "edited"}), when_turn=3,
             delivery={"delay_ms": 40}),
       calls(("run", {"command": "sleep 0.5; echo step4 >> k.log"}), ("glob", {"pattern": "*.txt"}), when_turn=4),
       text("All steps done.", when_turn=5)]
PY
python3 "$T_DIR/mkscript.py" >"$T_DIR/resume.json" <<'PY'
seq = [text("Resumed.")]
PY
start_fake "$T_DIR/task.json" "$T_DIR/task.log"
SRV_PID=$FAKE_PID TASK_BASE=$FAKE_BASE
start_fake "$T_DIR/resume.json" "$T_DIR/resume.log"
SRV2_PID=$FAKE_PID RESUME_BASE=$FAKE_BASE
export KDB="$T_DIR/kill.db"

# the store's invariants, for every session: prints "ok" or the problems
cat >"$T_DIR/storecheck.py" <<'PY'
import json, sqlite3, sys
c = sqlite3.connect(sys.argv[1])
bad = []
ic = c.execute("PRAGMA integrity_check").fetchall()
if ic != [("ok",)]:
    bad.append("integrity_check: %r" % ic)
for (sid,) in c.execute("SELECT id FROM sessions").fetchall():
    rows = c.execute("SELECT seq, role, body FROM messages WHERE session_id = ? ORDER BY seq", (sid,)).fetchall()
    seqs = [r[0] for r in rows]
    if seqs != list(range(1, len(rows) + 1)):
        bad.append("%s: seq %r" % (sid[:8], seqs))
    owner = None   # the call ids of the assistant message the tool messages follow
    answered = set()
    for seq, role, body in rows:
        b = json.loads(body)
        if role == "tool":
            cid = b.get("tool_call_id")
            if owner is None or cid not in owner:
                bad.append("%s: tool message %d answers %r, not a call of the assistant message before it" % (sid[:8], seq, cid))
            elif cid in answered:
                bad.append("%s: tool message %d answers %r a second time" % (sid[:8], seq, cid))
            answered.add(cid)
        else:
            owner = [k["id"] for k in b.get("calls", [])] if role == "assistant" else None
            answered = set()
    for cid, mseq in c.execute("SELECT call_id, message_seq FROM tool_calls WHERE session_id = ?", (sid,)):
        m = [r for r in rows if r[0] == mseq]
        if not m or m[0][1] != "assistant" or cid not in [k["id"] for k in json.loads(m[0][2]).get("calls", [])]:
            bad.append("%s: tool_calls row %s points at message %d, which did not make it" % (sid[:8], cid, mseq))
print("ok" if not bad else "\n".join(bad))
PY
# the resume request sent the stored history whole, and well-formed
cat >"$T_DIR/resumecheck.py" <<'PY'
import json, sqlite3, sys
c = sqlite3.connect(sys.argv[1])
sid = sys.argv[3]
req = [json.loads(l) for l in open(sys.argv[2]) if l.strip()][-1]
bad = []
if req["status"] != 200 or req.get("check_failures"):
    bad.append("request refused: %s %r" % (req["status"], req.get("check_failures")))
def norm_store(role, body):
    b = json.loads(body)
    return (role, b.get("content") or "", b.get("tool_call_id") or "", [k["id"] for k in b.get("calls", [])])
def norm_req(m):
    return (m["role"], m.get("content") or "", m.get("tool_call_id") or "", [k["id"] for k in m.get("tool_calls") or []])
stored = [norm_store(r, b) for r, b in c.execute(
    "SELECT role, body FROM messages WHERE session_id = ? ORDER BY seq", (sid,))]
sent = [norm_req(m) for m in req["body"]["messages"][1:]]
# stored now: the history, the repaired results, the prompt, the answer
if stored[:-1] != sent:
    bad.append("sent %r" % sent)
    bad.append("stored %r" % stored)
if stored[-1] != ("assistant", "Resumed.", "", []):
    bad.append("last stored message %r" % (stored[-1],))
print("ok" if not bad else "\n".join(bad))
PY
DELAYS=$(python3 -S -c 'import random, sys; r = random.Random(int(sys.argv[1])); print(" ".join("%.2f" % r.uniform(0, 1.5) for _ in range(15)))' "$$")
echo "# kill -9 after: $DELAYS s"
round=0
for d in $DELAYS; do
	round=$((round + 1))
	rm -f k1.txt k.log
	FORJA_DB=$KDB OPENAI_API_KEY=$KEY "$FORJA" exec --json --base-url "$TASK_BASE" --model m "do the steps" \
		</dev/null >"$T_DIR/k.out" 2>&1 &
	FPID=$!
	sleep "$d"
	kill -9 "$FPID" 2>/dev/null
	wait "$FPID" 2>/dev/null
	got=$(python3 -S "$T_DIR/storecheck.py" "$KDB" 2>&1)
	KSID=$(dbf "$KDB" "select id from sessions order by created_at desc, rowid desc limit 1")
	at=$(dbf "$KDB" "select count(*) || ' messages, the last ' || coalesce((select role from messages where session_id = '$KSID' order by seq desc limit 1), 'none') from messages where session_id = '$KSID'")
	is "kill -9 round $round (after $d s; the latest session: $at): the store is intact" "$got" ok
	if [ -z "$KSID" ]; then
		ok "kill -9 round $round: killed before any session was made, nothing to resume"
		continue
	fi
	run env FORJA_DB="$KDB" OPENAI_API_KEY="$KEY" "$FORJA" exec --json --base-url "$RESUME_BASE" --model m \
		--session "$KSID" "go on"
	got=$(python3 -S "$T_DIR/resumecheck.py" "$KDB" "$T_DIR/resume.log" "$KSID" 2>&1)
	is "kill -9 round $round: resumed (exit $RC), the whole stored history sent, well-formed" "$RC $got" "0 ok"
done
is "kill -9: the store is intact after all the resumes" "$(python3 -S "$T_DIR/storecheck.py" "$KDB" 2>&1)" ok
stop_server

done_testing

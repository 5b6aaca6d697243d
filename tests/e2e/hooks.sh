#!/bin/sh
# forja hook end to end: real `git commit` in temporary repositories with
# forja's hooks installed, against the fake LLM server.  prepare-commit-msg
# drafts from exactly the diff being committed (git commit, -a, PATH, a
# linked worktree), leaves -m alone, never blocks when the provider is down
# or slow; pre-commit prints findings as file:line, blocks on
# hooks.block_on, skips with FORJA_SKIP=1; hooks already there are chained
# and put back byte for byte; core.hooksPath; the pre-commit framework.
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
FAKES=$(cd "$HERE/../fakes" && pwd)
# shellcheck source=tests/e2e/lib.sh
. "$HERE/lib.sh"
unset OPENAI_API_KEY ANTHROPIC_API_KEY OLLAMA_HOST OPENAI_BASE_URL ANTHROPIC_BASE_URL FORJA_SKIP
unset PRE_COMMIT_COMMIT_MSG_SOURCE
: "${FORJA_CONTRACTS_DIR:=$ROOT/contracts}"
export FORJA_CONTRACTS_DIR
export FORJA_DB="$T_DIR/forja.db"
case $FORJA in /*) ;; *) FORJA=$(cd "$(dirname "$FORJA")" && pwd)/$(basename "$FORJA") ;; esac

SRV_PID=''
stop_server() {
	if [ -n "$SRV_PID" ]; then
		kill -TERM "$SRV_PID" 2>/dev/null
		wait "$SRV_PID" 2>/dev/null
		SRV_PID=
	fi
}
trap 'stop_server; rm -rf "$T_DIR"' EXIT

# gen.py SPEC...: one answer per argument, in order (the last repeats):
# text:WORDS, delay:MS:WORDS (the headers after MS milliseconds), or
# call:NAME:JSON (a tool call).  \n in WORDS is a newline.
cat >"$T_DIR/gen.py" <<'PY'
import json, sys
def chunk(delta, finish=None):
    return {"data": {"id": "c", "object": "chat.completion.chunk", "model": "m",
                     "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}}
seq = []
for spec in sys.argv[1:]:
    kind, _, rest = spec.partition(":")
    entry = {"api": "openai-chat", "status": 200}
    if kind == "delay":
        ms, _, rest = rest.partition(":")
        entry["delivery"] = {"first_byte_delay_ms": int(ms)}
    if kind == "call":
        name, _, args = rest.partition(":")
        entry["events"] = [chunk({"role": "assistant", "content": ""}),
                           chunk({"tool_calls": [{"index": 0, "id": "call_0", "type": "function",
                                                  "function": {"name": name, "arguments": args}}]}),
                           chunk({}, "tool_calls"), {"data": "[DONE]"}]
    else:
        text = rest.replace("\\n", "\n")
        entry["events"] = [chunk({"role": "assistant", "content": ""}), chunk({"content": text}),
                           chunk({}, "stop"), {"data": "[DONE]"}]
    seq.append(entry)
json.dump({"check_request": True, "sequence": seq}, sys.stdout)
PY

# serve SPEC...: a fresh server; LOG holds its requests, BASE its URL.
N=0
serve() {
	stop_server
	N=$((N + 1))
	LOG="$T_DIR/llm$N.log"
	: >"$LOG"
	python3 "$T_DIR/gen.py" "$@" >"$T_DIR/script$N.json"
	start_fake "$T_DIR/script$N.json" "$LOG"
	SRV_PID=$FAKE_PID BASE=$FAKE_BASE
	write_config
}

# config [HOOKS-JSON]: the user's config, pointing at BASE (git runs the
# hooks without our flags), with these "hooks" settings; serve rewrites it
# for its BASE.
HOOKS='{}'
config() {
	HOOKS='{}'
	[ $# -gt 0 ] && HOOKS=$1
	write_config
}
write_config() {
	mkdir -p "$XDG_CONFIG_HOME/forja"
	cat >"$XDG_CONFIG_HOME/forja/config.json" <<EOF
{"provider": "fake",
 "providers": {"fake": {"type": "openai", "base_url": "$BASE", "model": "m"}},
 "retries": {"max_attempts": 1},
 "hooks": $HOOKS}
EOF
}

# nreq: how many requests the server got.
nreq() { wc -l <"$LOG" | tr -d ' '; }
# last_prompt: the user message of the server's last request.
last_prompt() {
	python3 -S - "$LOG" <<'PY'
import json, sys
reqs = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8") if l.strip()]
msgs = reqs[-1]["body"]["messages"] if reqs else []
users = [m["content"] for m in msgs if m["role"] == "user"]
sys.stdout.write(users[-1] if users else "")
PY
}
subject() { git log -1 --format=%s; }

# the editor git starts: keeps a drafted message, writes "manual message"
# when there is none (so that a commit without a draft still goes on)
cat >"$T_DIR/editor.sh" <<'SH'
#!/bin/sh
cp "$1" "$1.seen"
if ! grep -q '^[^#]' "$1"; then
	{ echo 'manual message'; cat "$1.seen"; } >"$1"
fi
SH
chmod +x "$T_DIR/editor.sh"
export GIT_EDITOR="$T_DIR/editor.sh"

R="$T_DIR/repo"
git init -q "$R"
cd "$R" || exit 1
printf 'alpha\n' >a.txt
printf 'beta\n' >b.txt
git add . && git commit -qm 'feat: first'
printf 'alpha 2\n' >a.txt && git commit -qam 'fix(a): second'
printf 'beta 2\n' >b.txt && git commit -qam 'chore: third'

# --- install, list --------------------------------------------------------
run "$FORJA" hook install prepare-commit-msg pre-commit
is "install: exit 0" "$RC:$ERR" "0:"
contains "install: says where" "$OUT" "installed prepare-commit-msg: $R/.git/hooks/prepare-commit-msg"
check "install: the script is executable" test -x .git/hooks/prepare-commit-msg
contains "install: the script calls this forja by its absolute path" \
	"$(cat .git/hooks/prepare-commit-msg)" "forja='$FORJA'"
run sh -n .git/hooks/pre-commit
is "install: the script is valid sh" "$RC:$ERR" "0:"
run "$FORJA" hook list
is "list: both hooks are forja's" "$(printf '%s\n' "$OUT" | awk '{print $1, $2}' | tr '\n' ';')" \
	"pre-commit forja;prepare-commit-msg forja;"
contains "list: with the path" "$OUT" "$R/.git/hooks/pre-commit"
run "$FORJA" hook list --json
contains "list --json" "$OUT" "{\"hook\":\"pre-commit\",\"status\":\"forja\",\"path\":\"$R/.git/hooks/pre-commit\",\"chained\":null}"
run "$FORJA" hook install pre-comit
is "install: a misspelt hook is a usage error" "$RC" 2
contains "install: with a suggestion" "$ERR" "did you mean 'pre-commit'?"
run "$FORJA" hook frobnicate
is "an unknown subcommand is a usage error" "$RC" 2

# --- prepare-commit-msg: git commit -----------------------------------------
# the review answers first (pre-commit runs before prepare-commit-msg)
serve 'text:no findings' 'text:feat(a): rework alpha\n\nAlpha changes for the test.'
config
printf 'alpha STAGED\n' >a.txt
printf 'beta UNSTAGED\n' >b.txt
git add a.txt
run git commit
is "git commit: exit 0" "$RC" 0
is "git commit: the drafted subject" "$(subject)" "feat(a): rework alpha"
is "git commit: the drafted body" "$(git log -1 --format=%b)" "Alpha changes for the test."
P=$(last_prompt)
contains "git commit: the request has the staged change" "$P" "+alpha STAGED"
lacks "git commit: not the unstaged one" "$P" "beta UNSTAGED"
contains "git commit: conventional history asks for type(scope): subject" "$P" "type(scope): subject"
contains "git commit: with the recent subjects" "$P" "fix(a): second"
contains "git commit: git's comment lines stay below the draft" "$(cat .git/COMMIT_EDITMSG.seen)" \
	"feat(a): rework alpha

Alpha changes for the test.

# Please enter the commit message"
is "git commit: two requests (review, message)" "$(nreq)" 2
is "git commit: the index is untouched (b.txt still unstaged)" "$(git status --porcelain)" " M b.txt"

# --- git commit -a ----------------------------------------------------------
serve 'text:no findings' 'text:fix: both files'
printf 'alpha ALL\n' >a.txt
printf 'untracked\n' >c.txt
run git commit -a
is "git commit -a: exit 0" "$RC" 0
is "git commit -a: the drafted subject" "$(subject)" "fix: both files"
P=$(last_prompt)
contains "git commit -a: the request has a.txt" "$P" "+alpha ALL"
contains "git commit -a: and b.txt" "$P" "+beta UNSTAGED"
lacks "git commit -a: not the untracked file" "$P" "c.txt"
rm -f c.txt

# --- git commit PATH --------------------------------------------------------
serve 'text:no findings' 'text:docs: only a'
printf 'alpha PATH\n' >a.txt
printf 'beta STAGED-NOT-COMMITTED\n' >b.txt
git add b.txt
run git commit a.txt
is "git commit PATH: exit 0" "$RC" 0
is "git commit PATH: the drafted subject" "$(subject)" "docs: only a"
P=$(last_prompt)
contains "git commit PATH: the request has the path's change" "$P" "+alpha PATH"
lacks "git commit PATH: not the other staged change" "$P" "STAGED-NOT-COMMITTED"
is "git commit PATH: b.txt is still staged" "$(git status --porcelain)" "M  b.txt"
git commit -qm 'chore: b' --no-verify

# --- -m is respected ----------------------------------------------------------
serve 'text:no findings' 'text:SHOULD NOT BE USED'
printf 'alpha M\n' >a.txt
run git commit -qam 'given message'
is "git commit -m: exit 0" "$RC" 0
is "git commit -m: the message is the one given" "$(subject)" "given message"
is "git commit -m: only the review asked the model" "$(nreq)" 1

# --- amend, merge: left alone -----------------------------------------------
serve 'text:no findings' 'text:SHOULD NOT BE USED'
run git commit --amend --no-edit -q --no-verify
is "git commit --amend: no request" "$RC:$(nreq):$(subject)" "0:0:given message"

# --- provider down: the commit goes on ----------------------------------------
serve 'text:unused'
DOWN_PORT=$(python3 -S -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
BASE="http://127.0.0.1:$DOWN_PORT/v1"
config '{"timeout_ms": 4000}'
printf 'alpha DOWN\n' >a.txt
run git commit -a
is "provider down: the commit goes on" "$RC" 0
is "provider down: git's file is as git wrote it (the editor's message)" "$(subject)" "manual message"
contains "provider down: prepare-commit-msg says so" "$ERR" "forja: no commit message drafted:"
contains "provider down: the review says so" "$ERR" "forja: review skipped:"
contains "provider down: and why" "$ERR" "$DOWN_PORT"

# --- provider slow: the commit goes on after timeout_ms -----------------------
serve 'delay:8000:too late'
config '{"timeout_ms": 700}'
printf 'alpha SLOW\n' >a.txt
t0=$(date +%s)
run git commit -a
t1=$(date +%s)
is "provider slow: the commit goes on" "$RC" 0
is "provider slow: with the editor's message" "$(subject)" "manual message"
contains "provider slow: says it timed out" "$ERR" "did not answer within 700 ms (hooks.timeout_ms)"
if [ $((t1 - t0)) -lt 6 ]; then ok "provider slow: the hooks waited about timeout_ms ($((t1 - t0)) s)"
else not_ok "provider slow: the hooks waited about timeout_ms" "expected: < 6 s" "     got: $((t1 - t0)) s"; fi

# --- pre-commit: findings, advisory, blocking, FORJA_SKIP ---------------------
FINDINGS='Here is what I found:\n- a.txt:1: error: the value is wrong\n`b.txt:3: Warning: odd spacing`\nnot a finding\nx:0: error: line zero is no line'
serve "text:$FINDINGS" 'text:fix: findings'
config
printf 'alpha REVIEW\n' >a.txt
run git commit -a
is "pre-commit advisory: the commit goes on" "$RC" 0
is "pre-commit advisory: committed" "$(subject)" "fix: findings"
contains "pre-commit: the error with file:line" "$OUT$ERR" "a.txt:1: error: the value is wrong"
contains "pre-commit: the warning with file:line" "$OUT$ERR" "b.txt:3: warning: odd spacing"
lacks "pre-commit: a line of another form is not a finding" "$OUT$ERR" "line zero"
contains "pre-commit: the count" "$ERR" "2 findings (1 error, 1 warning, 0 notes); advisory"
P=$(python3 -S -c 'import json,sys; r=[json.loads(l) for l in open(sys.argv[1])]; print(r[0]["body"]["messages"][-1]["content"])' "$LOG")
contains "pre-commit: the review request has the staged diff" "$P" "+alpha REVIEW"
contains "pre-commit: and the finding format" "$P" "path:line: severity: message"
S=$(python3 -S -c 'import json,sys; r=[json.loads(l) for l in open(sys.argv[1])]; m=r[0]["body"]["messages"][0]; print(m["content"] if m["role"] == "system" else "")' "$LOG")
contains "pre-commit: the review runs read-only" "$S" "The session is read-only"

# the model tries to write during a review: the sandbox refuses
serve 'call:write_file:{"path":"evil.txt","content":"x"}' 'text:fix: no write'
printf 'alpha WRITE\n' >a.txt
run git commit -a
is "pre-commit: a write during the review is refused" "$RC:$(test -e evil.txt && echo written || echo absent)" "0:absent"
contains "pre-commit: the refusal ends the review, which says so" "$ERR" "forja: review skipped: the model ended its turn after a tool call was denied"

serve "text:$FINDINGS" 'text:fix: blocked'
config '{"block_on": "error"}'
printf 'alpha BLOCK\n' >a.txt
before=$(git rev-parse HEAD)
run git commit -a
is "block_on error: the commit is blocked" "$RC" 1
is "block_on error: nothing committed" "$(git rev-parse HEAD)" "$before"
contains "block_on error: says why" "$ERR" "commit blocked: hooks.block_on is \"error\""
contains "block_on error: with the finding" "$OUT$ERR" "a.txt:1: error: the value is wrong"

serve 'text:a.txt:1: note: consider a comment' 'text:fix: notes only'
config '{"block_on": "warning"}'
run git commit -a
is "block_on warning: a note does not block" "$RC:$(subject)" "0:fix: notes only"

serve "text:$FINDINGS" 'text:fix: skipped'
config '{"block_on": "error"}'
printf 'alpha SKIP\n' >a.txt
FORJA_SKIP=1 run git commit -a -m 'skipped review'
is "FORJA_SKIP=1: the commit goes on" "$RC:$(subject)" "0:skipped review"
is "FORJA_SKIP=1: no request" "$(nreq)" 0
contains "FORJA_SKIP=1: says so" "$ERR" "FORJA_SKIP is set: review skipped"
printf 'alpha NOVERIFY\n' >a.txt
run git commit -qa --no-verify -m 'no verify'
is "--no-verify: no review" "$RC:$(nreq)" "0:0"

# a project may tighten block_on, never loosen it
serve "text:$FINDINGS" 'text:fix: project'
config
mkdir -p .forja
printf '{"hooks": {"block_on": "error", "timeout_ms": 9000}}\n' >.forja/config.json
printf 'alpha PROJECT\n' >a.txt
run git commit -a -m 'project blocks'
is "a project's block_on error blocks" "$RC" 1
serve "text:$FINDINGS"
config '{"block_on": "error"}'
printf '{"hooks": {"block_on": "never", "timeout_ms": 99999}}\n' >.forja/config.json
run git commit -a -m 'project loosens'
is "a project cannot loosen block_on" "$RC" 1
contains "a project cannot loosen block_on: warned" "$ERR" "\"hooks.block_on\" is ignored"
contains "a project cannot raise timeout_ms: warned" "$ERR" "\"hooks.timeout_ms\" is ignored"
printf '{"hooks": {"block_on": "sometimes"}}\n' >.forja/config.json
run git commit -a -m 'bad config'
is "a bad block_on: the commit goes on" "$RC" 0
contains "a bad block_on: named" "$ERR" "\"hooks.block_on\" must be \"error\", \"warning\", \"note\" or \"never\", got \"sometimes\""
rm -rf .forja
git add -A; git commit -qm 'chore: sync' --no-verify >/dev/null 2>&1

# --- hostile answers and diffs --------------------------------------------------
ESC=$(printf '\033')
serve "text:a.txt:1: error: red ${ESC}[31malert${ESC}[0m\nb.txt:99999999999: error: line out of range\n:3: error: no path" \
	"text:\`\`\`\n\nfeat: fenced${ESC}[2J\n# a comment line\n\n\n\nbody line\n\`\`\`"
config
printf 'alpha \377\376 not UTF-8\n' >a.txt
run git commit -a
is "hostile: the commit goes on" "$RC" 0
lacks "hostile: no escape sequence reaches the terminal" "$OUT$ERR" "$ESC"
contains "hostile: the finding without its escape bytes" "$OUT$ERR" "a.txt:1: error: red [31malert[0m"
lacks "hostile: a line number out of range is no finding" "$OUT$ERR" "99999999999"
lacks "hostile: a finding without a path is none" "$OUT$ERR" "no path"
is "hostile: the draft without fences, comments, escapes or runs of blank lines" \
	"$(git log -1 --format=%B | od -c | head -c 2000 | grep -c '033')" 0
is "hostile: the draft's text" "$(git log -1 --format=%B)" "feat: fenced[2J

body line"
contains "hostile: bytes that are not UTF-8 reach the model as U+FFFD" "$(last_prompt)" "+alpha �� not UTF-8"

serve 'text:no findings' 'text:chore: big'
awk 'BEGIN { for (i = 0; i < 20000; i++) printf "line %d of a big file\n", i }' >big.txt
git add big.txt
run git commit
is "huge diff: the commit goes on" "$RC:$(subject)" "0:chore: big"
contains "huge diff: the model is told the diff is cut" "$(last_prompt)" "[the diff is cut here:"
P=$(last_prompt)
if [ ${#P} -lt 200000 ]; then ok "huge diff: the message request stays small (${#P} bytes)"
else not_ok "huge diff: the message request stays small" "expected: < 200000 bytes" "     got: ${#P}"; fi

# --- uninstall ------------------------------------------------------------------
run "$FORJA" hook uninstall
is "uninstall: exit 0" "$RC:$ERR" "0:"
check "uninstall: the scripts are gone" test ! -e .git/hooks/pre-commit -a ! -e .git/hooks/prepare-commit-msg

# --- chaining an existing hook ------------------------------------------------
printf '#!/bin/sh\n# the team hook\necho "team hook ran with $# args" >>"%s/team.log"\nexit ${TEAM_FAIL:-0}\n' "$T_DIR" >.git/hooks/pre-commit
chmod 750 .git/hooks/pre-commit
cp -p .git/hooks/pre-commit "$T_DIR/team-hook.orig"
run "$FORJA" hook install pre-commit
is "chain: install over a foreign hook" "$RC" 0
contains "chain: says so" "$OUT" "it runs the previous hook first, now $R/.git/hooks/pre-commit.forja-chained"
check "chain: the hook moved to pre-commit.forja-chained" cmp -s "$T_DIR/team-hook.orig" .git/hooks/pre-commit.forja-chained
run "$FORJA" hook list
contains "chain: list shows the chained hook" "$OUT" "(runs the previous hook first: $R/.git/hooks/pre-commit.forja-chained)"
serve 'text:no findings'
config
printf 'alpha CHAIN\n' >a.txt
run git commit -qam 'chained'
is "chain: the commit goes on" "$RC:$(subject)" "0:chained"
is "chain: the team hook ran" "$(cat "$T_DIR/team.log" 2>&1)" "team hook ran with 0 args"
is "chain: and the review" "$(nreq)" 1
serve 'text:no findings'
printf 'alpha CHAIN FAIL\n' >a.txt
TEAM_FAIL=3 run git commit -qam 'team says no'
is "chain: the team hook's failure stops the commit" "$RC:$(subject)" "1:chained"
is "chain: and forja does not run" "$(nreq)" 0
printf '#!/bin/sh\n' >.git/hooks/prepare-commit-msg
printf 'taken\n' >.git/hooks/prepare-commit-msg.forja-chained
run "$FORJA" hook install prepare-commit-msg
is "chain: refused when HOOK.forja-chained is taken" "$RC" 1
contains "chain: with a clear message" "$ERR" "prepare-commit-msg.forja-chained already exists"
is "chain: the foreign hook is untouched" "$(cat .git/hooks/prepare-commit-msg)" "#!/bin/sh"
rm -f .git/hooks/prepare-commit-msg .git/hooks/prepare-commit-msg.forja-chained
run "$FORJA" hook install pre-commit
is "chain: installing again keeps the chained hook" "$RC:$(cat .git/hooks/pre-commit.forja-chained | head -2 | tail -1)" "0:# the team hook"
run "$FORJA" hook uninstall pre-commit
is "uninstall: exit 0" "$RC" 0
check "uninstall: the previous hook is back byte for byte" cmp -s "$T_DIR/team-hook.orig" .git/hooks/pre-commit
is "uninstall: with its mode" "$(stat -c %a .git/hooks/pre-commit)" "750"
check "uninstall: no chained file left" test ! -e .git/hooks/pre-commit.forja-chained
run "$FORJA" hook uninstall pre-commit
is "uninstall: a hook forja did not write is left alone" "$RC" 1
contains "uninstall: and says so" "$ERR" "was not written by forja; left alone"
rm -f .git/hooks/pre-commit

# --- core.hooksPath -----------------------------------------------------------
git config core.hooksPath .githooks
run "$FORJA" hook install
is "hooksPath: install" "$RC" 0
check "hooksPath: the scripts are in the worktree's .githooks" test -x "$R/.githooks/prepare-commit-msg"
check "hooksPath: none in .git/hooks" test ! -e .git/hooks/prepare-commit-msg
run "$FORJA" hook list
contains "hooksPath: list shows it" "$OUT" "$R/.githooks/prepare-commit-msg"
serve 'text:no findings' 'text:feat: through hooksPath'
printf 'alpha HOOKSPATH\n' >a.txt
run git commit -a
is "hooksPath: git runs forja's hook" "$RC:$(subject)" "0:feat: through hooksPath"
mkdir -p sub && cd sub || exit 1
run "$FORJA" hook list
contains "hooksPath: relative to the worktree's root, from a subdirectory too" "$OUT" "$R/.githooks/pre-commit"
cd "$R" || exit 1
rmdir sub
run "$FORJA" hook uninstall
git config --unset core.hooksPath
rm -rf .githooks

# --- a linked worktree --------------------------------------------------------
run "$FORJA" hook install
git worktree add -q "$T_DIR/wt" -b side 2>/dev/null
cd "$T_DIR/wt" || exit 1
run "$FORJA" hook list
contains "worktree: the hooks are the common directory's" "$OUT" "$R/.git/hooks/prepare-commit-msg"
serve 'text:no findings' 'text:feat: from the worktree'
printf 'worktree change\n' >w.txt
git add w.txt
printf 'alpha MAIN-ONLY\n' >"$R/a.txt"
(cd "$R" && git add a.txt)
run git commit
is "worktree: the commit has the draft" "$RC:$(subject)" "0:feat: from the worktree"
P=$(last_prompt)
contains "worktree: the request has the worktree's change" "$P" "+worktree change"
lacks "worktree: not the main worktree's staged change" "$P" "MAIN-ONLY"
cd "$R" || exit 1
git reset -q a.txt
git checkout -q a.txt
run "$FORJA" hook uninstall

# --- prepare-commit-msg run by hand: the sources it leaves alone ----------------
printf 'given\n' >"$T_DIR/msg"
for src in message merge squash commit; do
	run "$FORJA" hook run prepare-commit-msg "$T_DIR/msg" "$src" HEAD
	is "run prepare-commit-msg with source $src: nothing done" "$RC:$(cat "$T_DIR/msg")" "0:given"
done
run "$FORJA" hook run prepare-commit-msg
is "run prepare-commit-msg without a file: usage error" "$RC" 2

# --- the pre-commit framework -------------------------------------------------
if command -v pre-commit >/dev/null 2>&1; then
	export PRE_COMMIT_HOME="$T_DIR/pre-commit-home"
	mkdir -p "$T_DIR/bin"
	ln -s "$FORJA" "$T_DIR/bin/forja"
	# the manifest of this tree, in a repository of its own at a known rev
	HR="$T_DIR/hooks-repo"
	git init -q "$HR"
	cp "$ROOT/.pre-commit-hooks.yaml" "$HR/"
	(cd "$HR" && git add . && git commit -qm manifest)
	REV=$(git -C "$HR" rev-parse HEAD)
	F="$T_DIR/framework"
	git init -q "$F"
	cd "$F" || exit 1
	cat >.pre-commit-config.yaml <<EOF
repos:
  - repo: $HR
    rev: $REV
    hooks:
      - id: forja-review
      - id: forja-commit-msg
EOF
	printf 'int main(void) { return 0; }\n' >main.c
	git add .
	serve 'text:main.c:1: error: main never fails'
	config
	PATH="$T_DIR/bin:$PATH" run pre-commit run --all-files
	is "framework: advisory review passes" "$RC" 0
	contains "framework: forja-review ran" "$OUT" "forja review"
	run grep -c . "$LOG"
	is "framework: the review asked the model" "$OUT" 1
	P=$(python3 -S -c 'import json,sys; r=[json.loads(l) for l in open(sys.argv[1])]; print(r[0]["body"]["messages"][-1]["content"])' "$LOG")
	contains "framework: with the staged file" "$P" "+int main(void)"
	config '{"block_on": "error"}'
	PATH="$T_DIR/bin:$PATH" run pre-commit install --hook-type pre-commit --hook-type prepare-commit-msg
	is "framework: pre-commit install" "$RC" 0
	serve 'text:main.c:1: error: main never fails'
	PATH="$T_DIR/bin:$PATH" run git commit -m 'framework commit'
	is "framework: block_on error blocks git commit" "$RC" 1
	contains "framework: with the finding" "$OUT$ERR" "main.c:1: error: main never fails"
	check "framework: nothing committed" test -z "$(git rev-list -n 1 --all 2>/dev/null)"
	serve 'text:no findings' 'text:feat: framework draft'
	PATH="$T_DIR/bin:$PATH" run git commit
	is "framework: a clean review lets git commit go on" "$RC" 0
	is "framework: forja-commit-msg drafted the message" "$(subject)" "feat: framework draft"
	# a repo: local hook, as lefthook or husky would run it
	cat >.pre-commit-config.yaml <<'EOF'
repos:
  - repo: local
    hooks:
      - id: forja-review
        name: forja review
        entry: forja hook run pre-commit
        language: system
        pass_filenames: false
        stages: [commit]
EOF
	printf 'int x;\n' >x.c
	git add .
	serve 'text:x.c:1: error: a global'
	PATH="$T_DIR/bin:$PATH" run pre-commit run --all-files
	is "framework, repo local: block_on error fails the run" "$RC" 1
	contains "framework, repo local: with the finding" "$OUT" "x.c:1: error: a global"
	cd "$R" || exit 1
else
	ok "the pre-commit framework # SKIP pre-commit is not installed"
fi

stop_server
done_testing

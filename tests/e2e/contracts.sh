#!/bin/sh
# `forja contracts list | show | check`: built-in contracts from
# FORJA_CONTRACTS_DIR (tests/fixtures/contracts/good), user contracts under
# $XDG_CONFIG_HOME, project contracts counted but not loaded, the tool
# definition the model sees, every problem located, exit codes.
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=tests/e2e/lib.sh
. "$ROOT/tests/e2e/lib.sh"
FIX="$ROOT/tests/fixtures/contracts"
export FORJA_CONTRACTS_DIR="$FIX/good"
UDIR="$XDG_CONFIG_HOME/forja/contracts"

# jq-like checks without jq: a python expression over the JSON on stdin (j)
jsonq() {
	printf '%s' "$OUT" | python3 -S -c 'import json,sys
j=json.load(sys.stdin)
sys.stdout.write(str(eval(sys.argv[1])))' "$1" 2>&1
}

# --- list --------------------------------------------------------------------
run "$FORJA" contracts list
is "list exits 0" "$RC" 0
is "list: name, kind, approval, file; sorted by file" "$OUT" \
"cargo_test   command  on_write  $FIX/good/cargo_test.json
grep         builtin  none      $FIX/good/grep.json
line_count   command  always    $FIX/good/line_count.json
search_code  command  none      $FIX/good/search_code.json"
is "list prints nothing on stderr" "$ERR" ""

run "$FORJA" contracts
is "contracts with no subcommand lists" "$RC:$(printf '%s\n' "$OUT" | wc -l | tr -d ' ')" "0:4"

mkdir -p "$UDIR"
cp "$FIX/user/forja/contracts/make_check.json" "$UDIR/"
run "$FORJA" contracts list --json
is "list --json exits 0" "$RC" 0
is "list --json: the user's contract after the built-in ones" \
	"$(jsonq '[c["name"] for c in j["contracts"]]')" \
	"['cargo_test', 'grep', 'line_count', 'search_code', 'make_check']"
is "list --json: sources" "$(jsonq '[c["source"] for c in j["contracts"]]')" \
	"['builtin', 'builtin', 'builtin', 'builtin', 'user']"
is "list --json: the user file" "$(jsonq 'j["contracts"][4]["file"]')" "$UDIR/make_check.json"
is "list --json: kind and approval" "$(jsonq 'j["contracts"][4]["kind"] + " " + j["contracts"][4]["approval"]')" \
	"command on_write"
is "list --json: no problems, no notes" "$(jsonq 'j["problems"] + j["notes"]')" "[]"
is "list --json is one line" "$(printf '%s\n' "$OUT" | wc -l | tr -d ' ')" 1

# a broken user contract: reported, the others still listed, exit 1
printf '{ "forja_contract": 1, "name": "broken", }\n' >"$UDIR/broken.json"
cp "$FIX/dup/forja/contracts/a_grep.json" "$UDIR/grep.json"
run "$FORJA" contracts list
is "list with broken user contracts exits 1" "$RC" 1
is "  the good ones are still listed" "$(printf '%s\n' "$OUT" | cut -d' ' -f1 | tr '\n' ' ')" \
	"cargo_test grep line_count search_code make_check "
is "  each problem on stderr, located" "$ERR" \
"forja: $UDIR/broken.json:1:40: trailing comma before '}'
forja: $UDIR/grep.json:3:2: contract \"grep\" is a built-in one ($FIX/good/grep.json); a user contract cannot replace it"
run "$FORJA" contracts list --json
is "list --json with problems exits 1" "$RC" 1
is "  problems in the JSON" "$(jsonq 'len(j["problems"])')" 2
rm -f "$UDIR/broken.json" "$UDIR/grep.json"

# a link out of the user directory is not followed
ln -s "$FIX/good/grep.json" "$UDIR/outside.json"
run "$FORJA" contracts list
is "a symbolic link out of the directory: exit 1" "$RC" 1
is "  not followed" "$ERR" \
	"forja: $UDIR/outside.json: a symbolic link that leads out of $UDIR; not followed"
rm -f "$UDIR/outside.json"

# a project's contracts: counted in one line, never loaded
git init -q proj
mkdir -p proj/.forja/contracts proj/src
cp "$FIX/good/cargo_test.json" proj/.forja/contracts/project_one.json
sed 's/"cargo_test"/"project_two"/' "$FIX/good/cargo_test.json" >proj/.forja/contracts/two.json
run "$FORJA" -C proj/src contracts list
is "list in a project with contracts exits 0" "$RC" 0
lacks "  the project's contracts are not loaded" "$OUT" "project_two"
is "  one line says so" "$ERR" \
	"forja: note: the project has 2 contracts in $T_DIR/proj/.forja/contracts that are not loaded until the project is trusted ('forja trust')"
run "$FORJA" -C proj contracts list -q
is "  -q drops the note" "$RC:$ERR" "0:"
run "$FORJA" -C proj contracts list --json
is "  --json has the note" "$(jsonq 'len(j["notes"])')" 1
run "$FORJA" -C proj contracts list -v
contains "  -v names the built-in directory" "$ERR" "forja: built-in contracts: $FIX/good"
contains "  -v names the user directory" "$ERR" "forja: user contracts: $UDIR"

# no contracts anywhere
mkdir empty
FORJA_CONTRACTS_DIR="$T_DIR/empty" XDG_CONFIG_HOME="$T_DIR/none" run "$FORJA" contracts list
is "no contracts at all: nothing, exit 0" "$RC:$OUT:$ERR" "0::"

# --- show --------------------------------------------------------------------
run "$FORJA" contracts show grep
is "show exits 0" "$RC" 0
is "show: name" "$(jsonq 'j["name"]')" "grep"
contains "show: description" "$(jsonq 'j["description"]')" "Search the files of the workspace"
is "show: parameters are the input_schema" "$(jsonq 'j["parameters"]["required"]')" "['pattern']"
is "show: \$comment is not shown to the model" "$(jsonq '"$comment" in j["parameters"]')" "False"
is "show: only name, description, parameters" "$(jsonq 'list(j)')" \
	"['name', 'description', 'parameters']"
contains "show is indented for people" "$OUT" '
  "parameters": {
    "type": "object",'
contains "show: short arrays on one line" "$OUT" '"required": ["pattern"]'
run "$FORJA" contracts show make_check --json
is "show --json: one line" "$RC:$(printf '%s\n' "$OUT" | wc -l | tr -d ' ')" "0:1"
is "show a user contract" "$(jsonq 'j["parameters"]')" \
	"{'type': 'object', 'properties': {}, 'additionalProperties': False}"

run "$FORJA" contracts show serch_code
is "show an unknown name exits 2" "$RC" 2
is "  with a suggestion, one line" "$ERR" \
	"forja: contracts show: no contract named 'serch_code'; did you mean 'search_code'?"
run "$FORJA" contracts show zzzzzz
is "show a name far from any" "$RC:$ERR" \
	"2:forja: contracts show: no contract named 'zzzzzz'; see 'forja contracts list'"
run "$FORJA" contracts show
is "show without a name exits 2" "$RC:$ERR" \
	"2:forja: contracts show: which contract? 'forja contracts list' shows the names"
run "$FORJA" contracts show grep run
is "show two names exits 2" "$RC:$ERR" \
	"2:forja: contracts show: one contract at a time, got 'grep' and 'run'"

# --- the shipped tool definitions stay lean ------------------------------------
# Every request carries them: as the model gets them (the OpenAI wire shape,
# compact JSON) the built-in ones in contracts/ total at most 5632 bytes, so
# that a first request on a fresh repository stays under 8 KB.
budget=5632
names=$(cd "$ROOT/contracts" && ls -- *.json | sed 's/\.json$//')
defs=$(for name in $names; do
	FORJA_CONTRACTS_DIR="$ROOT/contracts" XDG_CONFIG_HOME="$T_DIR/none" \
		"$FORJA" contracts show "$name" --json || echo "forja contracts show $name failed"
done)
sizes=$(printf '%s\n' "$defs" | python3 -S -c 'import json,sys
total = 0
for line in sys.stdin:
    try:
        fn = json.loads(line)
    except ValueError:
        print("not a tool definition: " + line.strip())
        continue
    wire = json.dumps({"type": "function", "function": fn}, separators=(",", ":"), ensure_ascii=False)
    n = len(wire.encode("utf-8"))
    total += n
    print("%-12s %5d bytes" % (fn.get("name"), n))
print("total        %5d bytes" % total)' 2>&1)
printf '%s\n' "$sizes" | sed 's/^/# /'
total=$(printf '%s\n' "$sizes" | sed -n 's/^total *\([0-9]*\) bytes$/\1/p')
is "every contract in contracts/ has a tool definition" \
	"$(printf '%s\n' "$sizes" | grep ' bytes$' | grep -vc '^total ')" "$(printf '%s\n' "$names" | wc -l | tr -d ' ')"
if [ -n "$total" ] && [ "$total" -le "$budget" ]; then
	ok "the built-in tool definitions total $total bytes, at most $budget"
else
	not_ok "the built-in tool definitions total at most $budget bytes" \
		"expected: at most $budget bytes" "     got: ${total:-no total} (each tool's size above)"
fi

# --- usage -------------------------------------------------------------------
run "$FORJA" contracts lst
is "an unknown subcommand exits 2 with a suggestion" "$RC:$ERR" \
	"2:forja: contracts: 'lst' is not a subcommand; did you mean 'list'?"
run "$FORJA" contracts frobnicate
is "an unknown subcommand far from any" "$RC:$ERR" \
	"2:forja: contracts: 'frobnicate' is not a subcommand; use list, show or check"
run "$FORJA" contracts list grep
is "list with an argument exits 2" "$RC:$ERR" \
	"2:forja: contracts list: unexpected argument 'grep'; did you mean 'forja contracts show grep'?"
run "$FORJA" contracts list --jsno
is "an unknown option exits 2 with a suggestion" "$RC:$ERR" \
	"2:forja: contracts: unknown option '--jsno'; did you mean '--json'?"
run "$FORJA" contracts --help
is "contracts --help exits 0" "$RC" 0
contains "  with the usage" "$OUT" "usage: forja contracts [list | show NAME | check [PATH...]]"
run "$FORJA" help contracts
contains "help contracts names the man page" "$OUT" "forja-contracts(5)"
run "$FORJA" --help
contains "forja --help lists contracts" "$OUT" "  contracts    list, show and check the tool contracts"

# --- check -------------------------------------------------------------------
run "$FORJA" contracts check
is "check of the loaded contracts exits 0" "$RC" 0
is "check prints the warnings and the count" "$OUT" \
"$FIX/good/line_count.json:13:2: warning: \`shell\` is true: the arguments go through sh, quoted; an argv without a shell is safer and simpler
5 contracts ok"

run "$FORJA" contracts check "$FIX/bad/unknown_key.json"
is "check of a bad file exits 1" "$RC" 1
is "  every problem, located, and a summary" "$OUT" \
"$FIX/bad/unknown_key.json:8:75: unknown key \"netwrk\" in \"effects\"; did you mean \"network\"?
$FIX/bad/unknown_key.json:9:2: unknown key \"aproval\" at the top level; did you mean \"approval\"?
2 problems; 0 contracts ok"

cd "$ROOT" || exit 1
run "$FORJA" contracts check tests/fixtures/contracts/bad/malformed.json \
	tests/fixtures/contracts/good/grep.json
is "check with relative paths: names as given" "$RC:$OUT" \
"1:tests/fixtures/contracts/bad/malformed.json:4:28: trailing comma before '}'
1 problem; 1 contract ok"
run "$FORJA" contracts check tests/fixtures/contracts/bad/*.json
is "check of every bad fixture exits 1" "$RC" 1
is "  none of them is ok" "$(printf '%s\n' "$OUT" | tail -n 1 | sed 's/.*; //')" "0 contracts ok"
n_files=$(ls tests/fixtures/contracts/bad/*.json | wc -l | tr -d ' ')
n_with=$(printf '%s\n' "$OUT" | sed -n 's|^tests/fixtures/contracts/bad/\([a-z_]*\.json\):.*|\1|p' | sort -u | wc -l | tr -d ' ')
is "  every bad fixture has a located problem" "$n_with" "$n_files"
run "$FORJA" contracts check tests/fixtures/contracts/dup/forja/contracts/b_lint.json \
	tests/fixtures/contracts/dup/forja/contracts/c_lint.json
is "check: a name given twice among the files" "$RC:$OUT" \
"1:tests/fixtures/contracts/dup/forja/contracts/c_lint.json:4:2: contract \"lint\" is already declared in tests/fixtures/contracts/dup/forja/contracts/b_lint.json
1 problem; 1 contract ok"
run "$FORJA" contracts check tests/fixtures/contracts/good/nothing.json
is "check of a missing file exits 1" "$RC:$OUT" \
"1:tests/fixtures/contracts/good/nothing.json: No such file or directory
1 problem; 0 contracts ok"
run "$FORJA" contracts check tests/fixtures/contracts/bad/api_key_env.json --json
is "check --json exits 1 on problems" "$RC" 1
is "  problems as a list" "$(jsonq 'len(j["problems"])')" 6
contains "  located" "$(jsonq 'j["problems"][0]')" \
	'tests/fixtures/contracts/bad/api_key_env.json:9:18: `env[1]` "OPENAI_API_KEY": API keys are never passed to tools'
is "  nothing ok" "$(jsonq 'j["ok"]')" 0
run "$FORJA" contracts check tests/fixtures/contracts/good/line_count.json --json
is "check --json of a good file" "$RC:$(jsonq 'j["ok"], j["contracts"], len(j["warnings"]), j["problems"]')" \
	"0:(1, ['line_count'], 1, [])"
cd "$T_DIR" || exit 1

# the loaded set with a problem: check reports it
printf '{ "forja_contract": 2 }\n' >"$UDIR/future.json"
run "$FORJA" contracts check
is "check with a user contract from the future exits 1" "$RC" 1
contains "  says the format is newer" "$OUT" \
	"$UDIR/future.json:1:3: contract format 2 is newer than this forja understands (1)"
contains "  and counts the others" "$OUT" "1 problem; 5 contracts ok"
rm -f "$UDIR/future.json"

# the man page: its example contracts pass the checks, and its example
# check output is what check prints for the second one with a typo
man5="$ROOT/man/forja-contracts.5"
mkdir -p ex
awk -v dir="$T_DIR/ex" '/^\.Sh EXAMPLES/ { ex = 1 }
	ex && /^\.Bd -literal/ { n++; on = 1; next }
	on && /^\.Ed/ { on = 0; next }
	on { print > (dir "/" n ".json") }' "$man5"
cd ex || exit 1
run "$FORJA" contracts check 1.json 2.json
is "the example contracts of forja-contracts.5 pass check" "$RC:$OUT" "0:2 contracts ok"
sed 's/{filter}/{filtr}/' 2.json >cargo_test.json
run "$FORJA" contracts check cargo_test.json
want=$(sed -n '/^\$ forja contracts check cargo_test.json/,/^\.Ed/p' "$man5" | sed '1d;$d' |
	awk 'NR == 1 { line = $0; next } NR == 2 { print line " " $0; next } { print }')
is "the example check output of forja-contracts.5 is what check prints" "$OUT" "$want"
cd "$T_DIR" || exit 1
if command -v mandoc >/dev/null 2>&1; then
	lint=$(mandoc -Tlint -W warning "$ROOT/man/forja-contracts.5" 2>&1)
	is "mandoc -Tlint -W warning man/forja-contracts.5 prints nothing" "$lint" ""
else
	ok "mandoc -Tlint man/forja-contracts.5 # SKIP mandoc is not installed"
fi

done_testing

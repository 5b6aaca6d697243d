#!/usr/bin/env python3
"""The interactive session at a real terminal (a pty): forja started with no
command in a git repository, against the fake LLM server.  A person types a
prompt, approves a write with y, refuses a command with n and a reason,
interrupts a running command with Ctrl-C, runs slash commands, and leaves
with Ctrl-D.  The output must only append: no screen clears, no cursor
movement up, no alternate screen; only the current line may be rewritten.

    python3 tests/e2e/chat_pty.py FORJA FAKES_DIR

TAP on stdout.
"""
import json
import os
import pty
import re
import select
import signal
import subprocess
import sys
import tempfile
import time

FORJA, FAKES = sys.argv[1], sys.argv[2]
count = 0
failed = 0


def ok(cond, name, *diag):
    global count, failed
    count += 1
    if cond:
        print("ok %d - %s" % (count, name))
    else:
        failed += 1
        print("not ok %d - %s" % (count, name))
        for d in diag:
            for line in str(d).splitlines()[-25:]:
                print("#   " + line)
    sys.stdout.flush()


def chunk(delta, finish=None):
    return {"data": {"id": "c", "object": "chat.completion.chunk", "model": "m",
                     "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}}


def text(s):
    return {"api": "openai-chat", "events": [chunk({"role": "assistant", "content": ""}),
                                              chunk({"content": s}), chunk({}, "stop"),
                                              {"data": "[DONE]"}]}


def call(cid, name, args, **cond):
    e = {"api": "openai-chat", "events": [
        chunk({"role": "assistant", "content": ""}),
        chunk({"tool_calls": [{"index": 0, "id": cid, "type": "function",
                               "function": {"name": name, "arguments": json.dumps(args)}}]}),
        chunk({}, "tool_calls"), {"data": "[DONE]"}]}
    e.update(cond)
    return e


tmp = tempfile.mkdtemp(prefix="forja-chat-pty.")
env = dict(os.environ)
env.update({"HOME": tmp + "/home", "XDG_STATE_HOME": tmp + "/state", "XDG_CONFIG_HOME": tmp + "/config",
            "OPENAI_API_KEY": "sk-pty-test", "TERM": "xterm-256color", "LANG": "C.UTF-8",
            "LC_ALL": "C.UTF-8", "FORJA_DB": tmp + "/forja.db", "COLUMNS": "100"})
for k in ("NO_COLOR", "OPENAI_BASE_URL", "ANTHROPIC_API_KEY"):
    env.pop(k, None)
os.makedirs(env["HOME"])
ws = tmp + "/ws"
os.makedirs(ws)
subprocess.run(["git", "init", "-q", ws], check=True)
with open(ws + "/notes.txt", "w") as f:
    f.write("one\n")

# the conversation, by turn (number of assistant messages so far)
script = {"sequence": [
    call("c1", "write_file", {"path": "hello.txt", "content": "hi\n"}, when_turn=0),
    text("Wrote it.") | {"when_turn": 1},
    call("c2", "run", {"command": "touch refused.txt"}, when_turn=2),
    text("OK, I will not.") | {"when_turn": 3},
    call("c3", "run", {"command": "sleep 30"}, when_turn=4),
    text("after the interrupt") | {"when_turn": 5},
]}
with open(tmp + "/script.json", "w") as f:
    json.dump(script, f)
srv = subprocess.Popen([sys.executable, "-S", FAKES + "/llm_server.py", "--port", "0", "--script",
                        tmp + "/script.json", "--log", tmp + "/llm.log"],
                       stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
port = int(srv.stdout.readline().split()[1])

pid, fd = pty.fork()
if pid == 0:
    os.chdir(ws)
    os.execve(FORJA, [FORJA, "--base-url", "http://127.0.0.1:%d/v1" % port, "--model", "m"], env)

out = b""


def read_until(pattern, timeout=15.0):
    """Read the pty until pattern (a regex on the text so far) matches."""
    global out
    end = time.time() + timeout
    while time.time() < end:
        if re.search(pattern, out.decode("utf-8", "replace")):
            return True
        r, _, _ = select.select([fd], [], [], 0.1)
        if r:
            try:
                data = os.read(fd, 65536)
            except OSError:
                return re.search(pattern, out.decode("utf-8", "replace")) is not None
            if not data:
                break
            out += data
    return re.search(pattern, out.decode("utf-8", "replace")) is not None


def typ(s):
    for ch in s:
        os.write(fd, ch.encode())
        time.sleep(0.01)


def since(mark):
    return out[mark:].decode("utf-8", "replace")


ok(read_until(r"> "), "the prompt appears", since(0))
ok("approvals ask" in since(0), "the banner says approvals ask on a terminal", since(0))

mark = len(out)
typ("please write hello.txt\r")
ok(read_until(r"\[y\]|y/n|\(y\)|yes", 15), "a write asks for approval", since(mark))
ok("+hi" in since(mark), "the approval shows the diff", since(mark))
os.write(fd, b"y")
ok(read_until(r"Wrote it\.", 15), "after yes the tool runs and the answer streams", since(mark))
ok(read_until(r"\n(\x1b\[\?2004h)?> ", 10), "the prompt comes back", since(mark))
ok(os.path.exists(ws + "/hello.txt") and open(ws + "/hello.txt").read() == "hi\n",
   "hello.txt was written")

mark = len(out)
typ("make refused.txt\r")
ok(read_until(r"touch refused.txt", 15), "a command shows its exact text for approval", since(mark))
read_until(r"\[y\]|y/n|\(y\)|yes", 5)
os.write(fd, b"n")
time.sleep(0.3)
typ("not now\r")
ok(read_until(r"OK, I will not\.", 15), "after no the model gets the refusal and answers", since(mark))
ok(not os.path.exists(ws + "/refused.txt"), "the refused command did not run")
log = [json.loads(l) for l in open(tmp + "/llm.log") if l.strip()]
last_tool = [m for m in log[-1]["body"]["messages"] if m["role"] == "tool"][-1]["content"]
ok("not now" in last_tool, "the reason reaches the model", last_tool)

mark = len(out)
typ("sleep a while\r")
read_until(r"sleep 30", 15)
read_until(r"\[y\]|y/n|\(y\)|yes", 5)
os.write(fd, b"y")
time.sleep(1.0)
os.write(fd, b"\x03")
ok(read_until(r"interrupted|cancelled", 10), "Ctrl-C stops the running command", since(mark))
ok(read_until(r"\n(\x1b\[\?2004h)?> ", 10), "the prompt comes back after Ctrl-C", since(mark))
time.sleep(0.3)
ps = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
ok(not any(l.strip() == "sleep 30" for l in ps.splitlines()), "nothing of the command is left running")

mark = len(out)
typ("/status\r")
ok(read_until(r"sandbox\s+workspace-write", 5), "/status shows the sandbox", since(mark))
mark = len(out)
typ("/stauts\r")
ok(read_until(r"did you mean /status", 5), "a mistyped command gets a suggestion", since(mark))
mark = len(out)
typ("/undo\r")
ok(read_until(r"undid turn 3", 10), "/undo reverts the last turn that changed something (the command)",
   since(mark))
mark = len(out)
typ("/undo\r")
ok(read_until(r"removed hello\.txt", 10), "a second /undo reverts the write of turn 1", since(mark))
time.sleep(0.2)
ok(not os.path.exists(ws + "/hello.txt"), "/undo removed the file the session wrote")

mark = len(out)
os.write(fd, b"\x04")
ok(read_until(r"saved|forja --continue", 10), "Ctrl-D leaves and names the session", since(mark))
try:
    _, status = os.waitpid(pid, 0)
    code = os.waitstatus_to_exitcode(status)
except ChildProcessError:
    code = -1
ok(code == 0, "exit status 0", code)

text_all = out.decode("utf-8", "replace")
bad = [s for s in ("\x1b[2J", "\x1b[H", "\x1b[?1049h", "\x1b[1A", "\x1b[A", "\x1b[J")
       if s in text_all]
ok(not bad, "output only appends: no clear, home, alternate screen or cursor-up", repr(bad))

srv.send_signal(signal.SIGTERM)
srv.wait()
subprocess.run(["rm", "-rf", tmp])
print("1..%d" % count)
sys.exit(1 if failed else 0)

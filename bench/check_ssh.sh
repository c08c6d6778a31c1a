#!/bin/sh
# bench/check_ssh.sh — wall time and peak RSS of `meshdoctor check` against a healthy lab
# sshd and against a dead host (packets dropped by nft), next to what a user would run
# instead: `ssh -o BatchMode=yes HOST true`.  Not a test: it prints figures and ratios.
#
# Goals: against the healthy host, a median wall time at most 1.2x ssh's, on an idle machine
# and while another process keeps one core busy, and a peak RSS under 10 MB; against the
# dead host, `check` returns within --timeout + 10%.
#
# It builds its own two namespaces (client 10.77.200.1, host 10.77.200.2) with a real
# sshd (its own config, host key and authorized_keys), and removes everything on exit.
#
# Environment: MD_BIN (default ./meshdoctor), RUNS (healthy runs, default 15),
# DEAD_RUNS (default 3), TIMEOUT_MS (the dead host's --timeout, default 5000).
set -eu
cd "$(dirname "$0")/.."
. bench/lib.sh

MD_BIN=${MD_BIN:-./meshdoctor}
RUNS=${RUNS:-15}
DEAD_RUNS=${DEAD_RUNS:-3}
TIMEOUT_MS=${TIMEOUT_MS:-5000}
HOST=10.77.200.2
NS_C=mdbench-$$-c
NS_S=mdbench-$$-s
DIR=$(mktemp -d /tmp/mdbench-ssh.XXXXXX)
SSHD_PID=
BUSY_PID=

cleanup() {
	[ -n "$BUSY_PID" ] && kill "$BUSY_PID" 2>/dev/null || true
	[ -n "$SSHD_PID" ] && kill "$SSHD_PID" 2>/dev/null || true
	ip netns pids "$NS_S" 2>/dev/null | xargs -r kill 2>/dev/null || true
	ip netns pids "$NS_C" 2>/dev/null | xargs -r kill 2>/dev/null || true
	ip netns delete "$NS_C" 2>/dev/null || true
	ip netns delete "$NS_S" 2>/dev/null || true
	rm -rf "$DIR"
}
trap cleanup EXIT
# A signal ends the script through its EXIT trap (a reader that quits early sends PIPE).
trap "exit 129" HUP; trap "exit 130" INT; trap "exit 141" PIPE; trap "exit 143" TERM

[ -x "$MD_BIN" ] || { echo "check_ssh: $MD_BIN not built (run make)" >&2; exit 1; }
MD_BIN=$(readlink -f "$MD_BIN")
if [ ! -x /usr/bin/time ]; then
	echo "check_ssh: installing GNU time for peak RSS" >&2
	apt-get install -y --no-install-recommends time >/dev/null
fi

# ---- the lab
ip netns add "$NS_C"
ip netns add "$NS_S"
ip -n "$NS_C" link set lo up
ip -n "$NS_S" link set lo up
ip link add mdbc0 netns "$NS_C" type veth peer name mdbs0 netns "$NS_S"
ip -n "$NS_C" addr add 10.77.200.1/24 dev mdbc0
ip -n "$NS_S" addr add "$HOST/24" dev mdbs0
ip -n "$NS_C" link set mdbc0 up
ip -n "$NS_S" link set mdbs0 up

mkdir -p -m0755 /run/sshd
ssh-keygen -q -t ed25519 -N '' -f "$DIR/hostkey"
ssh-keygen -q -t ed25519 -N '' -f "$DIR/client"
: >"$DIR/ssh_config" # an empty client config: the user's must not change the comparison
cp "$DIR/client.pub" "$DIR/authorized_keys"
chmod 644 "$DIR/authorized_keys"
echo "$HOST $(cut -d' ' -f1,2 "$DIR/hostkey.pub")" >"$DIR/known_hosts"
cat >"$DIR/sshd_config" <<EOF
ListenAddress $HOST
HostKey $DIR/hostkey
PidFile $DIR/sshd.pid
AuthorizedKeysFile $DIR/authorized_keys
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
PermitRootLogin prohibit-password
StrictModes no
EOF
ip netns exec "$NS_S" /usr/sbin/sshd -D -e -f "$DIR/sshd_config" -p 22 2>"$DIR/sshd.log" &
SSHD_PID=$!
i=0
until ip netns exec "$NS_C" nc -z -w 1 "$HOST" 22 2>/dev/null; do
	i=$((i + 1))
	[ $i -lt 100 ] || { echo "check_ssh: sshd did not start" >&2; cat "$DIR/sshd.log" >&2; exit 1; }
	sleep 0.05
done

MD="$MD_BIN check root@$HOST --identity $DIR/client --known-hosts $DIR/known_hosts --rules rules"
SSH_OPTS="-F $DIR/ssh_config -o BatchMode=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile=$DIR/known_hosts -i $DIR/client"
SSH="ssh $SSH_OPTS root@$HOST true"


# Peak RSS in KiB of one run (GNU time %M), the largest of three.
peak_kb() { # CMD...
	best=0
	for _ in 1 2 3; do
		ip netns exec "$NS_C" /usr/bin/time -f %M -o "$DIR/rss" "$@" >/dev/null 2>&1 || true
		kb=$(tail -n 1 "$DIR/rss")
		[ "$kb" -gt "$best" ] && best=$kb
	done
	echo "$best"
}


# Sanity: the healthy host must be healthy for meshdoctor and for ssh.
ip netns exec "$NS_C" $MD >"$DIR/first.txt" 2>&1 || { echo "check_ssh: check on the healthy host did not exit 0:" >&2; cat "$DIR/first.txt" >&2; }
ip netns exec "$NS_C" $SSH || { echo "check_ssh: ssh to the healthy host failed" >&2; exit 1; }

echo "healthy host ($HOST, OpenSSH sshd), median of $RUNS runs:"
md_ms=$(bench_median_ms "$NS_C" "$RUNS" "$DIR" $MD)
md_ssh_ms=$(bench_median_ms "$NS_C" "$RUNS" "$DIR" $MD --probes ssh)
ssh_ms=$(bench_median_ms "$NS_C" "$RUNS" "$DIR" $SSH)
md_kb=$(peak_kb $MD)
ssh_kb=$(peak_kb $SSH)
printf '  %-34s %6s ms  %6s KiB peak RSS\n' "meshdoctor check (all probes)" "$md_ms" "$md_kb"
printf '  %-34s %6s ms\n' "meshdoctor check --probes ssh" "$md_ssh_ms"
printf '  %-34s %6s ms  %6s KiB peak RSS\n' "ssh -o BatchMode=yes HOST true" "$ssh_ms" "$ssh_kb"
printf '  ratio check/ssh: time %s (bar <= 1.20), --probes ssh %s, RSS %s; check RSS %s MiB (bar < 10)\n' \
	"$(bench_ratio "$md_ms" "$ssh_ms")" "$(bench_ratio "$md_ssh_ms" "$ssh_ms")" "$(bench_ratio "$md_kb" "$ssh_kb")" \
	"$(awk -v k="$md_kb" 'BEGIN { printf "%.1f", k / 1024 }')"

# ---- the same while another process keeps one core busy (a loaded machine)
sh -c 'while :; do :; done' &
BUSY_PID=$!
echo "healthy host, one core kept busy by another process, median of $RUNS runs:"
busy_md_ms=$(bench_median_ms "$NS_C" "$RUNS" "$DIR" $MD)
busy_ssh_ms=$(bench_median_ms "$NS_C" "$RUNS" "$DIR" $SSH)
kill "$BUSY_PID"; wait "$BUSY_PID" 2>/dev/null || true; BUSY_PID=
printf '  %-34s %6s ms\n' "meshdoctor check (all probes)" "$busy_md_ms"
printf '  %-34s %6s ms\n' "ssh -o BatchMode=yes HOST true" "$busy_ssh_ms"
printf '  ratio check/ssh: time %s (bar <= 1.20)\n' "$(bench_ratio "$busy_md_ms" "$busy_ssh_ms")"

# ---- the dead host: every packet to port 22 dropped on the host
ip netns exec "$NS_S" nft add table inet mdbench
ip netns exec "$NS_S" nft add chain inet mdbench in '{ type filter hook input priority 0; policy accept; }'
ip netns exec "$NS_S" nft add rule inet mdbench in tcp dport 22 drop
secs=$(awk -v t="$TIMEOUT_MS" 'BEGIN { printf "%d", (t + 999) / 1000 }')
echo "dead host (tcp/22 dropped), --timeout ${TIMEOUT_MS} ms, median of $DEAD_RUNS runs:"
dead_md_ms=$(bench_median_ms "$NS_C" "$DEAD_RUNS" "$DIR" $MD --timeout "${TIMEOUT_MS}ms")
dead_ssh_ms=$(bench_median_ms "$NS_C" "$DEAD_RUNS" "$DIR" ssh $SSH_OPTS -o ConnectTimeout="$secs" root@$HOST true)
dead_md_kb=$(peak_kb $MD --timeout "${TIMEOUT_MS}ms")
printf '  %-34s %6s ms  %6s KiB peak RSS\n' "meshdoctor check --timeout ${TIMEOUT_MS}ms" "$dead_md_ms" "$dead_md_kb"
printf '  %-34s %6s ms\n' "ssh -o ConnectTimeout=$secs" "$dead_ssh_ms"
printf '  ratio check/ssh: %s; check/deadline: %s (bar <= 1.10)\n' \
	"$(bench_ratio "$dead_md_ms" "$dead_ssh_ms")" "$(bench_ratio "$dead_md_ms" "$TIMEOUT_MS")"

#!/bin/sh
# bench/ports_vs_nmap.sh — active checks of 1,000 loopback TCP ports with meshdoctor's port
# probe, next to `nmap -sT -p 1-1000` (a full TCP connect scan, what the port probe does).
# Not a test: it prints medians and ratios.  Goal: meshdoctor is the faster of the two.
#
# Both run in a network namespace of their own with only `lo` up, against 127.0.0.1 with
# three socat listeners among the 1,000 ports.  meshdoctor checks the mesh's 8 ports on
# top (1,008) and also reads the kernel's listener tables; nmap is given -n (no reverse
# DNS, which in an offline namespace would only add a resolver timeout).  nmap is installed
# with apt-get when missing.  Everything is removed on exit.
#
# Environment: MD_BIN (default ./meshdoctor), RUNS (default 20).
set -eu
cd "$(dirname "$0")/.."
. bench/lib.sh

MD_BIN=${MD_BIN:-./meshdoctor}
RUNS=${RUNS:-20}
NS=mdbench-$$-ports
DIR=$(mktemp -d /tmp/mdbench-ports.XXXXXX)

cleanup() {
	ip netns pids "$NS" 2>/dev/null | xargs -r kill 2>/dev/null || true
	ip netns delete "$NS" 2>/dev/null || true
	rm -rf "$DIR"
}
trap cleanup EXIT
# A signal ends the script through its EXIT trap (a reader that quits early sends PIPE).
trap "exit 129" HUP; trap "exit 130" INT; trap "exit 141" PIPE; trap "exit 143" TERM

[ -x "$MD_BIN" ] || { echo "ports_vs_nmap: $MD_BIN not built (run make)" >&2; exit 1; }
MD_BIN=$(readlink -f "$MD_BIN")
if ! command -v nmap >/dev/null 2>&1; then
	echo "ports_vs_nmap: installing nmap" >&2
	apt-get install -y --no-install-recommends nmap >/dev/null
fi

ip netns add "$NS"
ip -n "$NS" link set lo up
for p in 22 443 631; do
	ip netns exec "$NS" socat -u TCP4-LISTEN:$p,bind=127.0.0.1,fork,reuseaddr /dev/null 2>/dev/null &
done
i=0
until [ "$(ip netns exec "$NS" ss -Hltn | wc -l)" -ge 3 ]; do
	i=$((i + 1))
	[ $i -lt 100 ] || { echo "ports_vs_nmap: listeners did not start" >&2; exit 1; }
	sleep 0.05
done

MD="$MD_BIN check 127.0.0.1 --no-ssh-config --probes port --rules rules --port-list 1-1000 --timeout 5s"
NMAP="nmap -sT -n -p 1-1000 127.0.0.1"

# Sanity: both must see the same three open ports.
md_open=$(ip netns exec "$NS" $MD --json - | grep -o '"name":"port\.tcp\.[0-9]*","type":"string","value":"open"' | wc -l) || true
nmap_open=$(ip netns exec "$NS" $NMAP | grep -c '/tcp *open') || true
if [ "$nmap_open" -ne 3 ]; then
	echo "ports_vs_nmap: nmap saw $nmap_open open ports, want 3" >&2
	exit 1
fi
if [ "$md_open" -ne 3 ]; then
	# The JSON layout may differ (spacing): fall back to the text checklist's count.
	md_open=$(ip netns exec "$NS" $MD | sed -n 's/.*(\([0-9]*\) open,.*/\1/p')
	[ "$md_open" = 3 ] || { echo "ports_vs_nmap: meshdoctor saw ${md_open:-?} open ports, want 3" >&2; exit 1; }
fi


md_ms=$(bench_median_ms "$NS" "$RUNS" "$DIR" $MD)
nmap_ms=$(bench_median_ms "$NS" "$RUNS" "$DIR" $NMAP)
echo "TCP connect checks of 1,000 loopback ports (3 open), median of $RUNS runs:"
printf '  %-46s %8s ms\n' "meshdoctor check --probes port --port-list 1-1000" "$md_ms"
printf '  %-46s %8s ms\n' "nmap -sT -n -p 1-1000 127.0.0.1" "$nmap_ms"
printf '  ratio meshdoctor/nmap: %s (below 1.00 = meshdoctor faster)\n' \
	"$(bench_ratio "$md_ms" "$nmap_ms")"

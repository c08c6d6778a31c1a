#!/bin/sh
# bench/tls_vs_openssl.sh — a TLS check of one endpoint with meshdoctor, next to what a
# user would run instead: `openssl s_client -connect HOST:PORT -servername NAME </dev/null`.
# Not a test: it prints medians and ratios.  Goal: meshdoctor is the faster of the two.
#
# Two pairs, both doing TCP connect, a full handshake with SNI and chain verification:
#  1. as a user runs them, against the system trust store.  The endpoint's CA is added to
#     a copy of the system store (SSL_CERT_DIR = the hashed directory, SSL_CERT_FILE = the
#     bundle, both set for both tools), as a publicly trusted endpoint would be.  s_client
#     parses the whole bundle (~140 certificates); meshdoctor looks the issuer up in the
#     hashed directory (probes/tls.c, system_trust).
#  2. the same single CA file given to both (--ca / -CAfile): equal TLS work, so this pair
#     shows meshdoctor's fixed costs (its libraries, rule files, report).
# The server is `openssl s_server` with a certificate from a throwaway CA, in a network
# namespace of its own (10.83.200.2); the clients run in a second namespace (10.83.200.1).
# Everything is removed on exit.
#
# Environment: MD_BIN (default ./meshdoctor), RUNS (default 30).
set -eu
cd "$(dirname "$0")/.."
. bench/lib.sh

MD_BIN=${MD_BIN:-./meshdoctor}
RUNS=${RUNS:-30}
HOST=10.83.200.2
PORT=8443
NAME=node1.tail1234.ts.net
NS_C=mdbench-$$-tc
NS_S=mdbench-$$-ts
DIR=$(mktemp -d /tmp/mdbench-tls.XXXXXX)
SRV_PID=

cleanup() {
	[ -n "$SRV_PID" ] && kill "$SRV_PID" 2>/dev/null || true
	for ns in "$NS_S" "$NS_C"; do
		ip netns pids "$ns" 2>/dev/null | xargs -r kill 2>/dev/null || true
		ip netns delete "$ns" 2>/dev/null || true
	done
	rm -rf "$DIR"
}
trap cleanup EXIT
# A signal ends the script through its EXIT trap (a reader that quits early sends PIPE).
trap "exit 129" HUP; trap "exit 130" INT; trap "exit 141" PIPE; trap "exit 143" TERM

[ -x "$MD_BIN" ] || { echo "tls_vs_openssl: $MD_BIN not built (run make)" >&2; exit 1; }
MD_BIN=$(readlink -f "$MD_BIN")

# ---- the lab
ip netns add "$NS_C"
ip netns add "$NS_S"
ip -n "$NS_C" link set lo up
ip -n "$NS_S" link set lo up
ip link add mdbtc0 netns "$NS_C" type veth peer name mdbts0 netns "$NS_S"
ip -n "$NS_C" addr add 10.83.200.1/24 dev mdbtc0
ip -n "$NS_S" addr add "$HOST/24" dev mdbts0
ip -n "$NS_C" link set mdbtc0 up
ip -n "$NS_S" link set mdbts0 up

# A throwaway CA (P-256) and a leaf signed by it, with the endpoint's name in its SAN.
(
	cd "$DIR"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key \
		-out ca.crt -days 30 -subj "/CN=meshdoctor bench CA" 2>/dev/null
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout leaf.key \
		-out leaf.csr -subj "/CN=$NAME" 2>/dev/null
	printf 'subjectAltName=DNS:%s\n' "$NAME" >leaf.ext
	openssl x509 -req -in leaf.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 30 \
		-extfile leaf.ext -out leaf.crt 2>/dev/null
)
ip netns exec "$NS_S" openssl s_server -accept "$HOST:$PORT" -cert "$DIR/leaf.crt" \
	-key "$DIR/leaf.key" -www -quiet >"$DIR/s_server.log" 2>&1 &
SRV_PID=$!
i=0
until ip netns exec "$NS_C" nc -z -w 1 "$HOST" "$PORT" 2>/dev/null; do
	i=$((i + 1))
	[ $i -lt 100 ] || { echo "tls_vs_openssl: s_server did not start" >&2; exit 1; }
	sleep 0.05
done

# A copy of the system trust store with the bench CA in it: hash links and bundle.
mkdir "$DIR/certs"
for f in /etc/ssl/certs/*.pem; do ln -s "$(readlink -f "$f")" "$DIR/certs/"; done
cp "$DIR/ca.crt" "$DIR/certs/meshdoctor-bench-ca.pem"
openssl rehash "$DIR/certs" 2>/dev/null
cat /etc/ssl/certs/ca-certificates.crt "$DIR/ca.crt" >"$DIR/bundle.pem"
STORE="env SSL_CERT_DIR=$DIR/certs SSL_CERT_FILE=$DIR/bundle.pem"

MD_SYS="$STORE $MD_BIN check $HOST --no-ssh-config --probes tls --rules rules --tls-port $PORT --sni $NAME --timeout 5s"
OSSL_SYS="$STORE openssl s_client -connect $HOST:$PORT -servername $NAME"
MD="$MD_BIN check $HOST --no-ssh-config --probes tls --rules rules --tls-port $PORT --sni $NAME --ca $DIR/ca.crt --timeout 5s"
OSSL="openssl s_client -connect $HOST:$PORT -servername $NAME -CAfile $DIR/ca.crt"

# Sanity: each must see a verified handshake.
for md in "$MD_SYS" "$MD"; do
	ip netns exec "$NS_C" $md | grep -q 'Certificate verification.*: ok' ||
		{ echo "tls_vs_openssl: meshdoctor did not verify the endpoint" >&2; ip netns exec "$NS_C" $md >&2; exit 1; }
done
for o in "$OSSL_SYS" "$OSSL"; do
	ip netns exec "$NS_C" $o </dev/null 2>&1 | grep -q 'Verify return code: 0 (ok)' ||
		{ echo "tls_vs_openssl: s_client did not verify the endpoint" >&2; exit 1; }
done



md_sys_ms=$(bench_median_ms "$NS_C" "$RUNS" "$DIR" $MD_SYS)
ossl_sys_ms=$(bench_median_ms "$NS_C" "$RUNS" "$DIR" $OSSL_SYS)
md_ms=$(bench_median_ms "$NS_C" "$RUNS" "$DIR" $MD)
ossl_ms=$(bench_median_ms "$NS_C" "$RUNS" "$DIR" $OSSL)
echo "TLS check of $HOST:$PORT (SNI $NAME), median of $RUNS runs:"
echo " 1. as a user runs it, system trust store (+ the endpoint's CA):"
printf '  %-50s %8s ms\n' "meshdoctor check HOST --probes tls" "$md_sys_ms"
printf '  %-50s %8s ms\n' "openssl s_client -connect ... </dev/null" "$ossl_sys_ms"
printf '  ratio meshdoctor/s_client: %s (below 1.00 = meshdoctor faster)\n' "$(bench_ratio "$md_sys_ms" "$ossl_sys_ms")"
echo " 2. one CA file for both (equal TLS work):"
printf '  %-50s %8s ms\n' "meshdoctor check HOST --probes tls --ca CA" "$md_ms"
printf '  %-50s %8s ms\n' "openssl s_client -connect ... -CAfile CA" "$ossl_ms"
printf '  ratio meshdoctor/s_client: %s\n' "$(bench_ratio "$md_ms" "$ossl_ms")"

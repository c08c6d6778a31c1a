#!/bin/sh
# Installs the Debian 12 packages meshdoctor's build, tests and lab need, when missing.
# Build: libraries through pkg-config.  Lab: the real servers the tests start.  Fuzzing:
# clang with libFuzzer (`make fuzz`).  prometheus: its promtool checks the textfiles.
set -eu
PKGS="build-essential pkg-config
libpcap-dev libssh2-1-dev libldns-dev libssl-dev libcjson-dev libcriterion-dev
openssh-server openssh-client openssl sudo netcat-openbsd socat python3
iproute2 nftables wireguard-go wireguard-tools tcpdump
dnsmasq-base avahi-daemon avahi-utils libnss-mdns curl procps time
clang libclang-rt-14-dev groff-base strace passwd prometheus"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -z "$missing" ]; then
	exit 0
fi
if [ "$(id -u)" != 0 ]; then
	echo "meshdoctor: missing Debian packages:$missing" >&2
	echo "meshdoctor: run 'make deps' as root (or: sudo apt-get install$missing)" >&2
	exit 1
fi
echo "  APT $missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# --no-install-recommends: some of these would otherwise pull in a kernel image.
apt-get install -y -qq --no-install-recommends $missing >/dev/null

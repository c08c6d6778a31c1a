#!/bin/sh
# make bench: runs every benchmark script in bench/ one after the other.  Benchmarks are
# not tests: they print figures and ratios next to the tool a user would otherwise run.
set -u
cd "$(dirname "$0")/.."
status=0
for b in bench/*.sh; do
	case "$b" in bench/run-all.sh | bench/lib.sh) continue ;; esac
	echo "=== $b"
	sh "$b" || status=1
done
exit $status

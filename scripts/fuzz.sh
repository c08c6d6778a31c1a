#!/bin/sh
# Replays each harness's corpus (tests/fuzz/corpus/NAME/), then fuzzes it for SECONDS
# (0: replay only), new inputs going to a scratch directory.  An input that crashes or
# hangs is left in build-fuzz/artifacts/NAME/: fix the parser, then add the input to the
# corpus, where it stays as a regression.  Prints one line per harness and a summary.
# usage: fuzz.sh SECONDS HARNESS...
set -u
secs=$1; shift
status=0
for h in "$@"; do
	name=$(basename "$h")
	corpus=tests/fuzz/corpus/$name
	art=build-fuzz/artifacts/$name
	work=$(mktemp -d)
	mkdir -p "$corpus" "$art"
	log=$(mktemp)
	# -runs=0 after loading: every corpus input once.
	if ! "$h" -runs=0 -timeout=10 -rss_limit_mb=2048 -artifact_prefix="$art/" "$corpus" >"$log" 2>&1; then
		cat "$log"; echo "FAIL $name: a corpus input fails (see $art/)"; status=1
		rm -rf "$work" "$log"; continue
	fi
	n=$(find "$corpus" -type f | wc -l)
	if [ "$secs" -gt 0 ]; then
		if ! "$h" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
			-artifact_prefix="$art/" "$work" "$corpus" >"$log" 2>&1; then
			tail -n 60 "$log"; echo "FAIL $name: crash or hang (input in $art/)"; status=1
			rm -rf "$work" "$log"; continue
		fi
		execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
		echo "ok   $name: $n corpus inputs replayed; ${execs:-?} executions in ${secs} s"
	else
		echo "ok   $name: $n corpus inputs replayed"
	fi
	rm -rf "$work" "$log"
done
exit $status

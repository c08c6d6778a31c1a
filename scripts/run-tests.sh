#!/bin/sh
# Runs criterion test binaries and prints one closing line: "N passed, N failed".
# usage: run-tests.sh unit|lab BUILD_DIR BIN...
set -u
kind=$1; build=$2; shift 2
bin=meshdoctor
[ "$build" = build ] || bin=$build/meshdoctor
export MD_BIN="./$bin" MD_BUILD="$build"
case "$build" in build-san*)
	export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:${ASAN_OPTIONS:-}"
	export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:${UBSAN_OPTIONS:-}" ;;
esac
passed=0; failed=0; status=0
for t in "$@"; do
	log=$(mktemp)
	# Lab tests start servers in namespaces; one at a time keeps timings honest on 2 cores.
	if [ "$kind" = lab ]; then jobs=1; else jobs=2; fi
	"$t" -j"$jobs" >"$log" 2>&1
	rc=$?
	line=$(grep -a 'Synthesis:' "$log" | tail -n 1)
	p=$(echo "$line" | sed -n 's/.*Passing: \([0-9]*\).*/\1/p')
	f=$(echo "$line" | sed -n 's/.*Failing: \([0-9]*\).*/\1/p')
	[ -n "$p" ] || p=0
	[ -n "$f" ] || f=0
	if [ $rc -ne 0 ] || [ "$f" -ne 0 ] || [ -z "$line" ]; then
		status=1
		[ "$f" -ne 0 ] || f=$((f + 1))
		cat "$log"
		echo "FAIL $t (rc $rc)"
	else
		echo "ok   $t: $p passed"
	fi
	passed=$((passed + p)); failed=$((failed + f))
	rm -f "$log"
done
[ "$kind" = lab ] && ./scripts/lab-sweep.sh
echo "$kind: $passed passed, $failed failed"
exit $status

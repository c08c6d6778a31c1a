# bench/lib.sh — shared by the benchmark scripts (sourced after `cd` to the repository).

# bench_median_ms NS RUNS SCRATCH_DIR CMD...: the median wall time in ms (one decimal) of
# RUNS runs of CMD inside network namespace NS, stdin from /dev/null, output discarded.
# hyperfine when installed (one warm-up run), else date +%s%N around each run.
bench_median_ms() {
	ns=$1 runs=$2 scratch=$3
	shift 3
	if command -v hyperfine >/dev/null 2>&1; then
		hyperfine -N -i -w 1 -r "$runs" --export-csv "$scratch/hf.csv" \
			"ip netns exec $ns $*" >/dev/null 2>&1
		awk -F, 'NR == 2 { printf "%.1f\n", $4 * 1000 }' "$scratch/hf.csv"
		return
	fi
	: >"$scratch/times"
	k=0
	while [ $k -lt "$runs" ]; do
		t0=$(date +%s%N)
		ip netns exec "$ns" "$@" </dev/null >/dev/null 2>&1 || true
		t1=$(date +%s%N)
		echo $(((t1 - t0) / 1000)) >>"$scratch/times"
		k=$((k + 1))
	done
	sort -n "$scratch/times" | awk '{ v[NR] = $1 }
		END { m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%.1f\n", m / 1000 }'
}

# bench_ratio A B: A / B with two decimals ("n/a" when B is 0).
bench_ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }

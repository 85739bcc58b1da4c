#!/bin/sh
# run.sh BUILD RUNS NAME... - what make fuzz runs: each target
# BUILD/fuzz_NAME for RUNS executions, one after the other, on its seed
# corpus (tests/fuzz/corpus/NAME, read only) and regression inputs
# (tests/fuzz/regress/NAME), growing its own corpus in BUILD/corpus/NAME.
# Prints a line per target: executions, seconds, coverage. A crash keeps
# its input in BUILD/artifacts/ and its log in BUILD/logs/NAME.txt; the
# other targets still run, and the exit status is 1.
set -u
build=$1
runs=$2
shift 2
names="$*"
failed=""
mkdir -p "$build/artifacts" "$build/logs"
for name in "$@"; do
	bin="$build/fuzz_$name"
	log="$build/logs/$name.txt"
	if [ ! -x "$bin" ]; then
		echo "fuzz: no target $name (the targets are tests/fuzz/fuzz_*.c)" >&2
		failed="$failed $name"
		continue
	fi
	mkdir -p "$build/corpus/$name"
	dirs="$build/corpus/$name"
	for d in "tests/fuzz/corpus/$name" "tests/fuzz/regress/$name"; do
		[ -d "$d" ] && dirs="$dirs $d"
	done
	# inputs up to 4 KiB (the targets that need more make it from
	# less), but colo.conf (the annotated one is 5.5 KiB) and the control
	# line, whose limit is 4 KiB itself
	case $name in
	control | config) max_len=8192 ;;
	*) max_len=4096 ;;
	esac
	echo "fuzz: $name: $runs runs ..."
	"$bin" -runs="$runs" -max_len=$max_len -timeout=10 -use_value_profile=1 \
		-print_final_stats=1 -artifact_prefix="$build/artifacts/$name-" \
		$dirs >"$log" 2>&1
	rc=$?
	# libFuzzer's last words: "Done N runs in S second(s)", and the
	# status line before them, "#N DONE cov: C ft: F ..."
	done_line=$(grep -E '^Done [0-9]+ runs in [0-9]+ second' "$log" |
		tail -n 1)
	cov_line=$(grep -E '^#[0-9]+.*cov: ' "$log" | tail -n 1)
	execs=$(echo "$done_line" | awk '{print $2}')
	secs=$(echo "$done_line" | awk '{print $5}')
	cov=$(echo "$cov_line" |
		sed -n 's/.*cov: \([0-9]*\) ft: \([0-9]*\).*/cov \1, ft \2/p')
	if [ $rc -ne 0 ] || [ -z "$done_line" ]; then
		echo "fuzz: $name: FAILED (exit $rc) after ${cov_line%% cov:*}; log $log:"
		grep -E 'ERROR|SUMMARY|fuzz: .*check failed|Test unit written|artifact' "$log" | head -n 20
		failed="$failed $name"
		continue
	fi
	echo "fuzz: $name: $execs executions in $secs s, $cov"
done
if [ -n "$failed" ]; then
	echo "fuzz: FAILED:$failed"
	exit 1
fi
echo "fuzz: no crash in: $names"

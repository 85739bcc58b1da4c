#!/bin/bash
# mk/soak.sh - kill the primary under load, over and over.
#
#   mk/soak.sh COLOCTL GUEST_DIR KV_VERIFY WORK_DIR
#
# One lab (tests/lab/colo-lab.sh), then SOAK_ITERATIONS times (default
# 100): protect kvstore (compare mode, auto_failover, the LAN heartbeat
# path), run redis-benchmark as load and kv_verify on one connection,
# SIGKILL the primary daemon and its guest at a random moment 1 to 3 s
# in, wait for the takeover, write on for a second, read every
# acknowledged key back on the same connection, and check that exactly
# one daemon is the primary. Prints a line per iteration and at the end
# takeovers, acknowledged writes lost, connections lost, split-brains and
# the failover time (kill to the verifier's first reply from the new
# primary) p50/p99 with its parts. Exit status 0 only if every iteration
# took over with nothing lost.
#
# SOAK_ITERATIONS, DEMO_DELAY_MS (default 100) and DEMO_HEARTBEAT_MS
# (default 500) change the run. Everything it started is removed on the
# way out; each iteration's logs stay in WORK_DIR/N.
set -u

COLOCTL=$1
GUEST_DIR=$2
KV_VERIFY=$3
ROOT=$4
ITERATIONS=${SOAK_ITERATIONS:-100}
DELAY_MS=${DEMO_DELAY_MS:-100}
HEARTBEAT_MS=${DEMO_HEARTBEAT_MS:-500}
HERE=$(cd "$(dirname "$0")/.." && pwd)
LAB="$HERE/tests/lab/colo-lab.sh"
PREFIX=colosoak$$

die() {
	echo "soak: $*" >&2
	exit 1
}

for v in ITERATIONS DELAY_MS HEARTBEAT_MS; do
	[[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "$v=${!v}: give a whole number above 0"
done
[ -x "$COLOCTL" ] && [ -x "$GUEST_DIR/kvstore" ] && [ -x "$KV_VERIFY" ] ||
	die "run it through 'make soak'"
[ "$(id -u)" = 0 ] || die "the soak builds network namespaces: run it as root"

rm -rf "$ROOT"
mkdir -p "$ROOT" || die "cannot create $ROOT"
WORK=$ROOT/0
# shellcheck source=mk/pair-lib.sh
. "$HERE/mk/pair-lib.sh"

pids=()
cleanup() {
	trap - EXIT INT TERM
	stop_pair
	"$LAB" down "$PREFIX" >/dev/null 2>&1
}
trap cleanup EXIT
trap 'echo; echo "soak: interrupted"; exit 130' INT TERM

# p-quantile of the numbers in FILE (one per line), nearest rank.
quantile() {		# FILE P
	sort -n "$1" | awk -v p="$2" '{ v[NR] = $1 } END {
		if (!NR) { print "-"; exit }
		i = int(p * NR + 0.999999); if (i < 1) i = 1; if (i > NR) i = NR
		print v[i] }'
}

"$LAB" up "$PREFIX" >"$ROOT/lab.txt" 2>&1 || die "the lab did not come up: $(cat "$ROOT/lab.txt")"
takeovers=0 lost_total=0 wrong_total=0 dropped=0 split=0 failed=0
: >"$ROOT/failover.txt"
for part in detect decide run announce; do : >"$ROOT/$part.txt"; done
echo "== colo soak: $ITERATIONS kills of the primary under load (heartbeat $HEARTBEAT_MS ms)"
printf "%5s %10s %8s %6s %10s %s\n" iter acked lost conn "failover" "parts (detect/decide/run/arp ms)"
for i in $(seq 1 "$ITERATIONS"); do
	WORK=$ROOT/$i
	mkdir -p "$WORK"
	start_pair
	wait_for_guest
	ip netns exec "$PREFIX-client" redis-benchmark -h $GUEST_IP -t set,get -n 1000000 \
		-c 10 -l -q >"$WORK/benchmark.txt" 2>&1 &
	bench_pid=$!
	ip netns exec "$PREFIX-client" "$KV_VERIFY" --server $GUEST_IP:6379 --prefix "s$i" \
		--stall-timeout-ms 30000 --quiet >"$WORK/verify.txt" 2>"$WORK/verify.err" &
	verify_pid=$!
	pids+=($bench_pid $verify_pid)
	sleep "$(awk -v r=$RANDOM 'BEGIN { printf "%.2f", 1 + 2 * r / 32768 }')"
	p=$(pri status --json)
	kill_ms=$(now_ms)
	kill -KILL "$(jget pid "$p")" "$(jget guest_pid "$p")" 2>/dev/null
	if wait_takeover; then
		takeovers=$((takeovers + 1))
	else
		failed=$((failed + 1))
	fi
	sleep 1
	kill -TERM $verify_pid
	wait $verify_pid
	kill -KILL $bench_pid 2>/dev/null
	wait $bench_pid 2>/dev/null
	V=$WORK/verify.txt
	acked=$(vget "writes acknowledged" "$V")
	lost=$(vget "acknowledged writes lost" "$V")
	wrong=$(vget "acknowledged writes wrong" "$V")
	survived=$(vget "connection survived" "$V")
	gap_end=$(sed -n 's/^longest reply gap  [0-9]* ms (from [0-9]* to \([0-9]*\)).*/\1/p' "$V")
	fo="-"
	if [ -n "$gap_end" ] && [ "$gap_end" -ge "$kill_ms" ]; then
		fo=$((gap_end - kill_ms))
		echo "$fo" >>"$ROOT/failover.txt"
	fi
	s=$(sec status --json 2>/dev/null)
	for part in detect decide run announce; do
		jget "takeover_${part}_ms" "$s" >>"$ROOT/$part.txt"
	done
	# exactly one primary: the old one is dead, so the secondary only
	primaries=0
	[ "$(jget role "$s")" = primary ] && primaries=$((primaries + 1))
	pri status >/dev/null 2>&1 && primaries=$((primaries + 1))
	[ $primaries -gt 1 ] && split=$((split + 1))
	[ "$survived" = yes ] || dropped=$((dropped + 1))
	lost_total=$((lost_total + ${lost:-1}))
	wrong_total=$((wrong_total + ${wrong:-1}))
	printf "%5s %10s %8s %6s %8s ms %s/%s/%s/%s\n" "$i" "${acked:-?}" "${lost:-?}" \
		"${survived:-no}" "$fo" "$(jget takeover_detect_ms "$s")" \
		"$(jget takeover_decide_ms "$s")" "$(jget takeover_run_ms "$s")" \
		"$(jget takeover_announce_ms "$s")"
	stop_pair
done

echo
echo "== soak summary"
printf "  %-36s %s of %s\n" "takeovers" "$takeovers" "$ITERATIONS"
printf "  %-36s %s\n" "acknowledged writes lost" "$lost_total"
printf "  %-36s %s\n" "acknowledged writes wrong" "$wrong_total"
printf "  %-36s %s\n" "client connections lost" "$dropped"
printf "  %-36s %s\n" "split-brains (two primaries)" "$split"
printf "  %-36s p50 %s ms, p99 %s ms (the kill to the first reply)\n" "failover time" \
	"$(quantile "$ROOT/failover.txt" 0.5)" "$(quantile "$ROOT/failover.txt" 0.99)"
for part in detect decide run announce; do
	printf "  %-36s p50 %s ms, p99 %s ms\n" "  takeover_${part}_ms" \
		"$(quantile "$ROOT/$part.txt" 0.5)" "$(quantile "$ROOT/$part.txt" 0.99)"
done
[ "$takeovers" = "$ITERATIONS" ] && [ "$lost_total" = 0 ] && [ "$wrong_total" = 0 ] &&
	[ "$dropped" = 0 ] && [ "$split" = 0 ]

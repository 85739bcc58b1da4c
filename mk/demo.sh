#!/bin/bash
# mk/demo.sh - kill the primary of a protected key-value guest mid-run:
# the secondary takes over, on the clients' own connections, and no
# acknowledged write is lost.
#
#   mk/demo.sh COLOCTL GUEST_DIR KV_VERIFY WORK_DIR
#
# Builds the lab of tests/lab/colo-lab.sh on this machine (a client host,
# a LAN switch, a primary and a secondary host, each a network
# namespace), then:
#   1. protects kvstore: the primary on its host, the secondary on the
#      other, replication over the hosts' own link, compare mode (every
#      input to both guests, a reply leaves once the secondary's guest
#      sent the same), auto_failover with the LAN heartbeat path;
#   2. runs redis-benchmark as background load and kv_verify, a client
#      that writes sequential keys over one persistent connection and
#      records each acknowledged one;
#   3. kills the primary daemon and its guest with SIGKILL mid-run; the
#      secondary finds the primary silent on both paths and takes over;
#   4. after a while, stops the writes and reads every acknowledged key
#      back on the same connection;
# and prints the figures. Everything it started (the lab, daemons, guests,
# clients) is removed on the way out, even after a failure or ^C;
# configurations and logs stay in WORK_DIR. Exit status 0 only when no
# acknowledged write was lost and the client's connection survived.
#
# DEMO_SECONDS (load before and after the kill, default 5), DEMO_DELAY_MS
# (the checkpoint delay, default 100) and DEMO_HEARTBEAT_MS (the heartbeat
# timeout: how soon a dead primary is found, default 500) change the run.
set -u

COLOCTL=$1
GUEST_DIR=$2
KV_VERIFY=$3
WORK=$4
SECONDS_TO_RUN=${DEMO_SECONDS:-5}
DELAY_MS=${DEMO_DELAY_MS:-100}
HEARTBEAT_MS=${DEMO_HEARTBEAT_MS:-500}
HERE=$(cd "$(dirname "$0")/.." && pwd)
LAB="$HERE/tests/lab/colo-lab.sh"
PREFIX=colodemo$$

die() {
	echo "demo: $*" >&2
	exit 1
}

for v in SECONDS_TO_RUN DELAY_MS HEARTBEAT_MS; do
	[[ ${!v} =~ ^[1-9][0-9]*$ ]] || {
		n=${v/SECONDS_TO_RUN/SECONDS}
		die "DEMO_${n#DEMO_}=${!v}: give a whole number above 0"
	}
done
[ "$HEARTBEAT_MS" -ge 100 ] ||
	die "DEMO_HEARTBEAT_MS=$HEARTBEAT_MS: give 100 or more (colo.conf's lower bound)"
[ -x "$COLOCTL" ] || die "no coloctl at $COLOCTL: run it through 'make demo'"
[ -x "$GUEST_DIR/kvstore" ] || die "no guest at $GUEST_DIR/kvstore: run it through 'make demo'"
[ -x "$KV_VERIFY" ] || die "no kv_verify at $KV_VERIFY: run it through 'make demo'"
[ "$(id -u)" = 0 ] || die "the demo builds network namespaces: run it as root"
for t in redis-cli redis-benchmark ip; do
	command -v $t >/dev/null || die "no $t: run it through 'make demo', which installs it"
done

rm -rf "$WORK"
mkdir -p "$WORK" || die "cannot create $WORK"

# shellcheck source=mk/pair-lib.sh
. "$HERE/mk/pair-lib.sh"

pids=()
cleanup() {
	trap - EXIT INT TERM
	stop_pair
	"$LAB" down "$PREFIX" >/dev/null 2>&1
}
trap cleanup EXIT
trap 'echo; echo "demo: interrupted"; exit 130' INT TERM

# SET, GET and INCR from the client: they must answer right.
round_trips() {
	local got want="OK
hello
1
2"
	got=$(client sh -c "redis-cli -h $GUEST_IP SET greeting hello &&
		redis-cli -h $GUEST_IP GET greeting &&
		redis-cli -h $GUEST_IP DEL visits >/dev/null &&
		redis-cli -h $GUEST_IP INCR visits &&
		redis-cli -h $GUEST_IP INCR visits")
	[ "$got" = "$want" ] || die "redis-cli got
$got
expected
$want"
	echo "   redis-cli SET/GET/INCR: answered right"
}

# One progress line: the serving daemon's state and the verifier's count.
progress() {		# LABEL CONF
	local s
	s=$("$COLOCTL" -c "$2" status --json 2>/dev/null)
	printf "   %-5s %-9s %-11s checkpoints %-5s %s\n" "$1" \
		"$(jget role "$s")" "$(jget state "$s")" "$(jget checkpoints "$s")" \
		"$(tr '\r' '\n' <"$WORK/verify.err" | grep -v '^$' | tail -1)"
}

echo "== colo demo: kvstore (a Redis-protocol key-value guest on lwIP), its primary killed mid-run"
echo "   lab: client 10.77.1.10 -- LAN switch -- primary host 10.77.1.1 / secondary host 10.77.1.2,"
echo "   guest $GUEST_IP behind the primary's TAP; replication over 10.77.2.0/24"
echo "   work directory (configurations, logs): $WORK"
echo
"$LAB" up "$PREFIX" >"$WORK/lab.txt" 2>&1 || die "the lab did not come up: $(cat "$WORK/lab.txt")"

# --- 1. protect ---------------------------------------------------------------
echo "1. protect: a secondary on the other host, checkpoints every $DELAY_MS ms, outputs compared,"
echo "   auto_failover on, heartbeats every $((HEARTBEAT_MS / 4)) ms on the replication link and the LAN"
start_pair
sed 's/^/   /' "$WORK/start.txt"
echo "   protected after an initial sync of $(jget initial_sync_ms "$p") ms (pause $(jget initial_sync_pause_ms "$p") ms)"
wait_for_guest
round_trips
echo

# --- 2. load and the verifier -------------------------------------------------
echo "2. load: redis-benchmark (SET/GET, 10 clients, looping) and kv_verify (sequential SETs, one connection)"
# (ip netns exec execs the client: $! is its pid, for the signals below)
ip netns exec "$PREFIX-client" redis-benchmark -h $GUEST_IP -t set,get -n 1000000 \
	-c 10 -l -q >"$WORK/benchmark.txt" 2>&1 &
bench_pid=$!
pids+=($bench_pid)
ip netns exec "$PREFIX-client" "$KV_VERIFY" --server $GUEST_IP:6379 --prefix demo \
	--stall-timeout-ms 30000 >"$WORK/verify.txt" 2>"$WORK/verify.err" &
verify_pid=$!
pids+=($verify_pid)
for t in $(seq 1 "$SECONDS_TO_RUN"); do
	sleep 1
	kill -0 $verify_pid 2>/dev/null ||
		die "kv_verify ended early: $(cat "$WORK/verify.err" "$WORK/verify.txt")"
	progress "${t}s" "$WORK/primary.conf"
done
echo

# --- 3. kill the primary --------------------------------------------------------
p=$(pri status --json) || die "the primary stopped before the kill; see $WORK/primary.log"
echo "3. SIGKILL to the primary daemon (pid $(jget pid "$p")) and its guest (pid $(jget guest_pid "$p")), mid-run"
kill_ms=$(now_ms)
kill -KILL "$(jget pid "$p")" "$(jget guest_pid "$p")"
wait_takeover
[ -n "$took" ] || die "the secondary did not take over within 10 s; see $WORK/secondary.log"
echo "   the secondary took over $((took - kill_ms)) ms after the kill: $(jget solo_because "$s")"
echo "   its guest runs from: $(jget took_over_state "$s") (checkpoint $(jget took_over_checkpoint "$s"))"
for t in $(seq 1 "$SECONDS_TO_RUN"); do
	sleep 1
	progress "+${t}s" "$WORK/secondary.conf"
done
echo

# --- 4. verify ------------------------------------------------------------------
echo "4. kv_verify stops writing and reads every acknowledged key back on the same connection"
kill -TERM $verify_pid
wait $verify_pid
verified=$?
kill -KILL $bench_pid 2>/dev/null
wait $bench_pid 2>/dev/null
s=$(sec status --json)
V=$WORK/verify.txt
lost=$(vget "acknowledged writes lost" "$V")
wrong=$(vget "acknowledged writes wrong" "$V")
survived=$(vget "connection survived" "$V")
gap_end=$(sed -n 's/^longest reply gap  [0-9]* ms (from [0-9]* to \([0-9]*\)).*/\1/p' "$WORK/verify.txt")
if [ -n "$gap_end" ] && [ "$gap_end" -ge "$kill_ms" ]; then
	failover_ms=$((gap_end - kill_ms))
else
	failover_ms="?"
fi
bench_errors=$(tr '\r' '\n' <"$WORK/benchmark.txt" | grep -ci "error")

echo
echo "== summary"
printf "  %-40s %s\n" "failover time (detect + take over)" \
	"$failover_ms ms (the kill to the verifier's first reply from the new primary)"
printf "  %-40s %s ms detect, %s ms decide, %s ms to run, first ARP %s ms after\n" \
	"  its parts (the new primary's status)" \
	"$(jget takeover_detect_ms "$s")" "$(jget takeover_decide_ms "$s")" \
	"$(jget takeover_run_ms "$s")" "$(jget takeover_announce_ms "$s")"
printf "  %-40s %s\n" "writes acknowledged" "$(vget "writes acknowledged" "$V") (of $(vget "writes sent" "$V") sent)"
printf "  %-40s %s\n" "acknowledged writes lost" "${lost:-?}"
printf "  %-40s %s\n" "acknowledged writes wrong" "${wrong:-?}"
printf "  %-40s %s\n" "client connection survived" "${survived:-no}"
printf "  %-40s %s\n" "throughput before (verifier replies/s)" "$(vget "replies per second before gap" "$V")"
printf "  %-40s %s\n" "throughput after (verifier replies/s)" "$(vget "replies per second after gap" "$V")"
printf "  %-40s %s\n" "redis-benchmark error lines" "$bench_errors"
printf "  %-40s %s\n" "the new primary" "$(jget role "$s"), $(jget state "$s"), guest pid $(jget guest_pid "$s")"
cleanup
echo
echo "the lab, the daemons, guests and clients removed; logs in $WORK"
[ "$verified" = 0 ] && [ "${lost:-1}" = 0 ] && [ "${wrong:-1}" = 0 ] && [ "$survived" = yes ]

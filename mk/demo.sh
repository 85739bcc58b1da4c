#!/bin/bash
# mk/demo.sh - a protected key-value guest on a network, start to finish.
#
#   mk/demo.sh COLOCTL GUEST_DIR WORK_DIR
#
# Builds the lab of tests/lab/colo-lab.sh on this machine (a client host,
# a LAN switch, a primary and a secondary host, each a network
# namespace), then:
#   1. runs kvstore unprotected: a primary daemon without a secondary (no
#      checkpoints, output not held) on the primary host, its TAP on the
#      host's bridge; redis-cli and redis-benchmark from the client host;
#   2. protects it: a secondary daemon on the secondary host, replication
#      over the hosts' own link, in compare mode: every input goes to both
#      guests, a reply leaves once the secondary's guest sent the same,
#      a difference costs a checkpoint; the same clients again, while the
#      pair checkpoints, with progress and the compare counters;
#   3. takes a last checkpoint with both guests held and compares their
#      memories byte for byte;
# and prints both runs' figures side by side. Everything it started (the
# lab, daemons, guests) is removed on the way out, even after a failure or
# ^C; configurations and logs stay in WORK_DIR. Exit status 0 when the
# clients were served right and the copy was identical.
#
# DEMO_SECONDS (the protected run's progress, default 10), DEMO_DELAY_MS
# (the checkpoint delay, default 100) and DEMO_REQUESTS (redis-benchmark's
# -n, default 5000) change the run.
set -u

COLOCTL=$1
GUEST_DIR=$2
WORK=$3
SECONDS_TO_RUN=${DEMO_SECONDS:-10}
DELAY_MS=${DEMO_DELAY_MS:-100}
REQUESTS=${DEMO_REQUESTS:-5000}
HERE=$(cd "$(dirname "$0")/.." && pwd)
LAB="$HERE/tests/lab/colo-lab.sh"
PREFIX=colodemo$$
GUEST_IP=10.77.1.100
REPL=10.77.2.2:9470

die() {
	echo "demo: $*" >&2
	exit 1
}

for v in SECONDS_TO_RUN DELAY_MS REQUESTS; do
	[[ ${!v} =~ ^[1-9][0-9]*$ ]] || {
		n=${v/SECONDS_TO_RUN/SECONDS}
		die "DEMO_${n#DEMO_}=${!v}: give a whole number above 0"
	}
done
[ -x "$COLOCTL" ] || die "no coloctl at $COLOCTL: run it through 'make demo'"
[ -x "$GUEST_DIR/kvstore" ] || die "no guest at $GUEST_DIR/kvstore: run it through 'make demo'"
[ "$(id -u)" = 0 ] || die "the demo builds network namespaces: run it as root"
for t in redis-cli redis-benchmark ip; do
	command -v $t >/dev/null || die "no $t: run it through 'make demo', which installs it"
done

rm -rf "$WORK"
mkdir -p "$WORK" || die "cannot create $WORK"

pri() { "$COLOCTL" -c "$WORK/primary.conf" "$@"; }
sec() { "$COLOCTL" -c "$WORK/secondary.conf" "$@"; }
in_ns() { local role=$1; shift; ip netns exec "$PREFIX-$role" "$@"; }
client() { in_ns client "$@"; }

# Arithmetic on figures: awk is in every Debian.
calc() {
	awk "BEGIN { printf \"%.${2:-1}f\", $1 }"
}

# One value of a 'status --json' answer (numbers and strings alike).
jget() {
	sed -n "s/.*\"$1\": \"\{0,1\}\([^\",}]*\).*/\1/p" <<<"$2"
}

pids=()
cleanup() {
	trap - EXIT INT TERM
	pri stop >/dev/null 2>&1
	sec stop >/dev/null 2>&1
	sleep 0.5
	for p in "${pids[@]}"; do
		kill -KILL "$p" 2>/dev/null
	done
	"$LAB" down "$PREFIX" >/dev/null 2>&1
}
trap cleanup EXIT
trap 'echo; echo "demo: interrupted"; exit 130' INT TERM

write_conf() {		# NAME ROLE-LINES NET-LINES
	cat >"$WORK/$1.conf" <<EOF
# written by mk/demo.sh; see colo.conf for every key
[guest]
program = $GUEST_DIR/kvstore
args = --port 6379
[checkpoint]
$2
[ha]
heartbeat_timeout_ms = 3000
[net]
guest_ip = $GUEST_IP
guest_gateway = 10.77.1.1
$3
[control]
socket = $WORK/$1.sock
[log]
file = $WORK/$1.log
EOF
}

mismatches() {		# STATUS-JSON: netcompare's mismatches, all reasons
	local n=0 r
	for r in payload length flags malformed; do
		n=$((n + $(jget "compare_mismatch_$r" "$1")))
	done
	echo $n
}

# Remember a daemon and its guest, should they outlive their stop.
remember() {
	local s
	s=$("$COLOCTL" -c "$WORK/$1.conf" status --json) || return
	pids+=("$(jget pid "$s")" "$(jget guest_pid "$s")")
}

# Wait until the guest answers a PING from the client (ARP, lwIP up).
wait_for_guest() {
	for _ in $(seq 1 100); do
		[ "$(client redis-cli -h $GUEST_IP PING 2>/dev/null)" = PONG ] && return 0
		sleep 0.1
	done
	die "the guest does not answer at $GUEST_IP; see $WORK/*.log"
}

# SET, GET, INCR, LPUSH and LRANGE from the client: they must answer right.
round_trips() {
	local got want="OK
hello
1
2
3
c
b
a"
	got=$(client sh -c "redis-cli -h $GUEST_IP SET greeting hello &&
		redis-cli -h $GUEST_IP GET greeting &&
		redis-cli -h $GUEST_IP DEL visits >/dev/null &&
		redis-cli -h $GUEST_IP INCR visits &&
		redis-cli -h $GUEST_IP INCR visits &&
		redis-cli -h $GUEST_IP DEL queue >/dev/null &&
		redis-cli -h $GUEST_IP LPUSH queue a b c &&
		redis-cli -h $GUEST_IP LRANGE queue 0 -1")
	[ "$got" = "$want" ] || die "redis-cli got
$got
expected
$want"
	echo "   redis-cli SET/GET/INCR/LPUSH/LRANGE: answered right"
}

# redis-benchmark from the client; figures into bench_<label>_<TEST>.
benchmark() {		# LABEL
	local out line t
	out=$(client redis-benchmark -h $GUEST_IP -t set,get -n "$REQUESTS" \
		-c 20 -q 2>&1) || die "redis-benchmark failed: $out"
	grep -qi "error" <<<"$out" && die "redis-benchmark reported errors: $out"
	for t in SET GET; do
		line=$(tr '\r' '\n' <<<"$out" | grep "^ *$t: .*requests per second" | tail -1)
		[ -n "$line" ] || die "redis-benchmark printed no $t figures: $out"
		printf -v "bench_$1_$t" "%s" "$(sed -n 's/.*: \([0-9.]*\) requests per second.*/\1/p' <<<"$line")"
		printf -v "p50_$1_$t" "%s" "$(sed -n 's/.*p50=\([0-9.]*\) msec.*/\1/p' <<<"$line")"
	done
	echo "   redis-benchmark -t set,get -n $REQUESTS -c 20: SET $(eval echo \$bench_$1_SET)/s, GET $(eval echo \$bench_$1_GET)/s"
}

echo "== colo demo: kvstore (a Redis-protocol key-value guest on lwIP)"
echo "   lab: client 10.77.1.10 -- LAN switch -- primary host 10.77.1.1 / secondary host 10.77.1.2,"
echo "   guest $GUEST_IP behind the primary's TAP; replication over 10.77.2.0/24"
echo "   work directory (configurations, logs): $WORK"
echo
"$LAB" up "$PREFIX" >"$WORK/lab.txt" 2>&1 || die "the lab did not come up: $(cat "$WORK/lab.txt")"

# --- 1. unprotected ---------------------------------------------------------
write_conf primary "peer = $REPL
checkpoint_delay_ms = $DELAY_MS" "bridge = br0"
echo "1. unprotected: the primary daemon alone (no secondary: no checkpoints, output not held)"
in_ns pri "$COLOCTL" -c "$WORK/primary.conf" start-primary >"$WORK/start.txt" 2>&1 ||
	die "the primary did not start: $(cat "$WORK/start.txt")"
sed 's/^/   /' "$WORK/start.txt"
remember primary
wait_for_guest
round_trips
benchmark solo
pri stop >/dev/null || die "the primary did not stop; see $WORK/primary.log"
for _ in $(seq 1 50); do pri status >/dev/null 2>&1 || break; sleep 0.1; done
mv "$WORK/primary.log" "$WORK/primary-unprotected.log"
echo

# --- 2. protected -------------------------------------------------------------
echo "2. protected: a secondary on the other host, checkpoints every $DELAY_MS ms, outputs compared"
write_conf secondary "listen = $REPL" ""
in_ns sec "$COLOCTL" -c "$WORK/secondary.conf" start-secondary >"$WORK/start.txt" 2>&1 ||
	die "the secondary did not start: $(cat "$WORK/start.txt")"
sed 's/^/   /' "$WORK/start.txt"
remember secondary
in_ns pri "$COLOCTL" -c "$WORK/primary.conf" start-primary >"$WORK/start.txt" 2>&1 ||
	die "the primary did not start: $(cat "$WORK/start.txt")"
sed 's/^/   /' "$WORK/start.txt"
remember primary
for _ in $(seq 1 600); do
	p=$(pri status --json) || die "the primary stopped; see $WORK/primary.log"
	[ "$(jget checkpoints "$p")" -ge 2 ] 2>/dev/null && break
	sleep 0.1
done
case $(jget state "$p") in
colo | checkpoint) ;;
*) die "the pair is '$(jget state "$p")', not protecting; see $WORK/*.log" ;;
esac
echo "   protected after an initial sync of $(jget initial_sync_ms "$p") ms (pause $(jget initial_sync_pause_ms "$p") ms)"
wait_for_guest
round_trips
benchmark colo
printf "%6s %12s %10s %10s %14s %10s\n" time checkpoints "p50 ms" "p99 ms" "frames matched" mismatches
for t in $(seq 1 "$SECONDS_TO_RUN"); do
	client redis-benchmark -h $GUEST_IP -t set -n 200 -c 5 -q >/dev/null 2>&1
	p=$(pri status --json) || die "the primary stopped; see $WORK/primary.log"
	case $(jget state "$p") in
	colo | checkpoint) ;;
	*) die "the pair left COLO: state $(jget state "$p") $(jget solo_because "$p"); see $WORK/*.log" ;;
	esac
	if [ $((t % 5)) = 0 ] || [ "$t" = "$SECONDS_TO_RUN" ]; then
		printf "%5ss %12s %10s %10s %14s %10s\n" "$t" "$(jget checkpoints "$p")" \
			"$(jget pause_p50_ms "$p")" "$(jget pause_p99_ms "$p")" \
			"$(jget compare_matched_frames "$p")" "$(mismatches "$p")"
	fi
	sleep 1
done

echo
echo "3. last checkpoint, both guests held, the secondary checks its copy:"
pri checkpoint --verify --hold || die "the last checkpoint failed; see $WORK/*.log"
p=$(pri status --json)
s=$(sec status --json)
"$COLOCTL" guest compare "$(jget guest_pid "$p")" "$(jget guest_pid "$s")"
same=$?

row() {		# LABEL UNPROTECTED PROTECTED
	local ratio="-"
	[ -n "$2" ] && [ -n "$3" ] && ratio=$(calc "$3 / $2" 2)
	printf "  %-34s %12s %12s %8s\n" "$1" "$2" "$3" "$ratio"
}
echo
echo "== summary"
printf "  %-34s %12s %12s %8s\n" "" unprotected protected ratio
row "SET requests/s (20 clients)" "$bench_solo_SET" "$bench_colo_SET"
row "GET requests/s (20 clients)" "$bench_solo_GET" "$bench_colo_GET"
row "SET latency p50 (ms)" "$p50_solo_SET" "$p50_colo_SET"
row "GET latency p50 (ms)" "$p50_solo_GET" "$p50_colo_GET"
printf "  %-34s %s\n" "checkpoints" "$(jget checkpoints "$p") (each $DELAY_MS ms after the last one ended)"
printf "  %-34s %s / %s ms\n" "pause p50 / p99 (guest stopped)" \
	"$(jget pause_p50_ms "$p")" "$(jget pause_p99_ms "$p")"
printf "  %-34s timer %s, mismatch %s, timeout %s, queue full %s, request %s\n" \
	"checkpoints by reason" "$(jget checkpoints_timer "$p")" \
	"$(jget checkpoints_mismatch "$p")" "$(jget checkpoints_timeout "$p")" \
	"$(jget checkpoints_queue_full "$p")" "$(jget checkpoints_request "$p")"
printf "  %-34s %s of the primary's, %s of the secondary's\n" "frames compared" \
	"$(jget compare_primary_frames "$p")" "$(jget compare_secondary_frames "$p")"
printf "  %-34s %s matched, %s mismatches, at most %s held at once\n" \
	"primary's frames" "$(jget compare_matched_frames "$p")" \
	"$(mismatches "$p")" "$(jget compare_high_frames "$p")"
printf "  %-34s %s to the secondary's guest (clock feed %s)\n" "inputs mirrored" \
	"$(jget mirror_inputs "$p")" "$(jget clock_feed "$p")"
if [ $same = 0 ]; then
	printf "  %-34s %s\n" "secondary's guest at the end" "byte-identical to the primary's"
else
	printf "  %-34s %s\n" "secondary's guest at the end" "DIFFERS from the primary's"
fi
cleanup
echo
echo "the lab, both daemons and guests removed; logs in $WORK"
exit $same

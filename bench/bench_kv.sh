#!/bin/bash
# bench/bench_kv.sh - kvstore through the lab: unprotected against
# protected in compare mode and in buffer mode at checkpoint delays of
# 20, 100 and 1000 ms, side by side in one run, compare mode at 100 ms
# without the clock feed too, and the guest's raw round trips against
# Debian's redis-server.
#
#   bench/bench_kv.sh COLOCTL GUEST_DIR CSV
#
# Every figure is redis-benchmark's (requests/s, p50 and p99 latency),
# from the lab's client namespace to the guest at 10.77.1.100; ratios are
# against the unprotected guest, measured minutes apart on the same
# machine. The reference rows are Debian's redis-server on the primary
# host's own address (the same LAN path, the host's TCP instead of the
# TAP, the daemon and lwIP).
# BENCH_KV_REQUESTS (default 20000) is redis-benchmark's -n unprotected
# and in compare mode; in buffer mode, where every reply waits for a
# checkpoint, each run gets about 15 checkpoint gaps' worth per client
# (at least 20 requests). For each compare run, the checkpoints it took
# by reason and the mismatch checkpoints per second.
set -u

COLOCTL=$1
GUEST_DIR=$2
CSV=$3
N=${BENCH_KV_REQUESTS:-20000}
HERE=$(cd "$(dirname "$0")/.." && pwd)
LAB="$HERE/tests/lab/colo-lab.sh"
PREFIX=colobench$$
WORK=$(mktemp -d /tmp/colo-bench-kv.XXXXXX)
GUEST=10.77.1.100

die() {
	echo "bench_kv: $*" >&2
	exit 1
}
[ "$(id -u)" = 0 ] || die "it builds network namespaces: run it as root"
[ -x "$GUEST_DIR/kvstore" ] || die "no $GUEST_DIR/kvstore: run it through make bench"

pids=()
cleanup() {
	for c in "$WORK"/*.conf; do
		[ -e "$c" ] && "$COLOCTL" -c "$c" stop >/dev/null 2>&1
	done
	sleep 0.5
	for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null; done
	"$LAB" down "$PREFIX" >/dev/null 2>&1
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

jget() {
	sed -n "s/.*\"$1\": \"\{0,1\}\([^\",}]*\).*/\1/p" <<<"$2"
}

conf() {		# NAME CHECKPOINT-LINES NET-LINES
	# the replication link's key, one for every pair of the run
	[ -e "$WORK/psk" ] || "$COLOCTL" genkey "$WORK/psk" >/dev/null ||
		die "cannot make the replication link's key $WORK/psk"
	cat >"$WORK/$1.conf" <<EOF
[guest]
program = $GUEST_DIR/kvstore
args = --port 6379
[checkpoint]
$2
[net]
guest_ip = $GUEST
guest_gateway = 10.77.1.1
$3
[control]
socket = $WORK/$1.sock
[log]
file = $WORK/$1.log
[security]
psk_file = $WORK/psk
EOF
}

start() {		# NAME ROLE(pri|sec) start-primary|start-secondary
	ip netns exec "$PREFIX-$2" "$COLOCTL" -c "$WORK/$1.conf" "$3" >/dev/null ||
		die "$3 failed; see $WORK/$1.log"
	local s
	s=$("$COLOCTL" -c "$WORK/$1.conf" status --json)
	pids+=("$(jget pid "$s")" "$(jget guest_pid "$s")")
}

stop() {		# NAME
	"$COLOCTL" -c "$WORK/$1.conf" stop >/dev/null 2>&1
	for _ in $(seq 1 50); do
		"$COLOCTL" -c "$WORK/$1.conf" status >/dev/null 2>&1 || return 0
		sleep 0.1
	done
}

wait_guest() {
	for _ in $(seq 1 100); do
		[ "$(ip netns exec "$PREFIX-client" redis-cli -h $GUEST PING 2>/dev/null)" = PONG ] &&
			return 0
		sleep 0.1
	done
	die "no answer from the guest"
}

# redis-benchmark --csv: "test","rps","avg","min","p50","p95","p99","max"
# One line per run into $results: MODE,CLIENTS,TEST,rps,p50,p99
results=()
measure() {		# MODE HOST PORT DELAY_MS (0: replies do not wait)
	local mode=$1 host=$2 port=$3 delay=$4 opts line n per
	for opts in "-c 1" "-c 50" "-c 1 -P 16"; do
		n=$N
		if [ "$delay" -gt 0 ]; then
			# requests in flight at once: clients x pipeline
			per=$(awk -v o="$opts" 'BEGIN { c = 1; p = 1; k = split(o, w, " ");
				for (i = 1; i < k; i++) { if (w[i] == "-c") c = w[i+1]; if (w[i] == "-P") p = w[i+1] }
				print c * p }')
			n=$((per * 15000 / delay))
			[ "$n" -lt 20 ] && n=20
			[ "$n" -gt "$N" ] && n=$N
		fi
		while IFS= read -r line; do
			IFS=, read -r t rps _avg _min p50 _p95 p99 _max <<<"$(tr -d '"' <<<"$line")"
			case $t in SET | GET) ;; *) continue ;; esac
			results+=("$mode,${opts// /},$t,$rps,$p50,$p99")
		done < <(ip netns exec "$PREFIX-client" redis-benchmark -h "$host" -p "$port" \
			-t set,get -n "$n" $opts --csv 2>/dev/null)
	done
}

"$LAB" up "$PREFIX" >/dev/null || die "the lab did not come up"

# unprotected: a primary daemon alone (no checkpoints, output not held)
conf solo "peer = 10.77.2.2:9470" "bridge = br0"
start solo pri start-primary
wait_guest
measure unprotected $GUEST 6379 0
# the guest's raw round trips against redis-server on the same path's end
rtt_guest=$(ip netns exec "$PREFIX-client" redis-benchmark -h $GUEST -t ping_inline -n "$N" -c 1 --csv 2>/dev/null |
	tr -d '"' | awk -F, '$1 == "PING_INLINE" { print $2 }')
stop solo
# spawned through the lab, which stops it with the lab
read -r redis_pid _ < <("$LAB" spawn "$PREFIX" pri redis-server --port 6390 \
	--bind 10.77.1.1 --protected-mode no --save '' --appendonly no --dir "$WORK")
[ -n "${redis_pid:-}" ] || die "redis-server did not start"
sleep 0.5
rtt_redis=$(ip netns exec "$PREFIX-client" redis-benchmark -h 10.77.1.1 -p 6390 -t ping_inline -n "$N" -c 1 --csv 2>/dev/null |
	tr -d '"' | awk -F, '$1 == "PING_INLINE" { print $2 }')
measure redis-server 10.77.1.1 6390 0
kill "$redis_pid" 2>/dev/null

# One protected run: MODE (compare|buffer) DELAY_MS FEED (yes|no)
ckpt_rows=()
protected() {
	local mode=$1 delay=$2 feed=$3 name="$1$2$3" s t0 t1 before after
	conf "sec$name" "listen = 10.77.2.2:9470" "output = $mode
clock_feed = $feed"
	conf "pri$name" "peer = 10.77.2.2:9470
checkpoint_delay_ms = $delay" "bridge = br0
output = $mode
clock_feed = $feed"
	start "sec$name" sec start-secondary
	start "pri$name" pri start-primary
	for _ in $(seq 1 300); do
		s=$("$COLOCTL" -c "$WORK/pri$name.conf" status --json)
		[ "$(jget checkpoints "$s")" -ge 2 ] 2>/dev/null && break
		sleep 0.1
	done
	wait_guest
	s=$("$COLOCTL" -c "$WORK/pri$name.conf" status --json)
	before=$(jget checkpoints_mismatch "$s")
	t0=$(date +%s.%N)
	local label="$mode-$delay"
	[ "$feed" = no ] && label="$label-nofeed"
	if [ "$mode" = compare ]; then
		measure "$label" $GUEST 6379 0
	else
		measure "$label" $GUEST 6379 "$delay"
	fi
	t1=$(date +%s.%N)
	s=$("$COLOCTL" -c "$WORK/pri$name.conf" status --json)
	after=$(jget checkpoints_mismatch "$s")
	ckpt_rows+=("$(printf "%-24s %6s %6s %8s %8s %8s %10s" "$label" \
		"$(jget checkpoints "$s")" "$(jget checkpoints_timer "$s")" \
		"$(jget checkpoints_mismatch "$s")" "$(jget checkpoints_timeout "$s")" \
		"$(jget checkpoints_queue_full "$s")" \
		"$(awk -v a="${before:-0}" -v b="${after:-0}" -v t0="$t0" -v t1="$t1" \
			'BEGIN { printf "%.2f", (b - a) / (t1 - t0) }')")")
	stop "pri$name"
	stop "sec$name"
}

for delay in 20 100 1000; do
	protected compare $delay yes
done
protected compare 100 no
for delay in 20 100 1000; do
	protected buffer $delay yes
done

echo "mode,clients,test,rps,p50_ms,p99_ms" >"$CSV"
printf "%s\n" "${results[@]}" >>"$CSV"

echo
echo "== kvstore through the lab (redis-benchmark -n $N, requests/s and latency in ms)"
printf "%-20s %-10s %-5s %10s %8s %8s %8s\n" mode clients test "req/s" p50 p99 ratio
for r in "${results[@]}"; do
	IFS=, read -r mode clients t rps p50 p99 <<<"$r"
	base=$(printf "%s\n" "${results[@]}" | awk -F, -v c="$clients" -v t="$t" \
		'$1 == "unprotected" && $2 == c && $3 == t { print $4 }')
	ratio=$(awk -v a="$rps" -v b="${base:-0}" 'BEGIN { if (b > 0) printf "%.3f", a / b; else print "-" }')
	printf "%-20s %-10s %-5s %10s %8s %8s %8s\n" "$mode" "$clients" "$t" "$rps" "$p50" "$p99" "$ratio"
done
echo
echo
echo "== checkpoints of each protected run, by reason, and mismatch checkpoints per second"
printf "%-24s %6s %6s %8s %8s %8s %10s\n" run total timer mismatch timeout full mismatch/s
printf "%s\n" "${ckpt_rows[@]}"
echo
printf "raw round trips, one client (PING_INLINE): guest %s/s, redis-server %s/s, ratio %s\n" \
	"${rtt_guest:-?}" "${rtt_redis:-?}" \
	"$(awk -v a="${rtt_guest:-0}" -v b="${rtt_redis:-0}" 'BEGIN { if (b > 0) printf "%.3f", a / b; else print "-" }')"
echo "bench_kv: figures in $CSV"

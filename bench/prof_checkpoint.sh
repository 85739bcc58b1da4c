#!/bin/bash
# bench/prof_checkpoint.sh - where a checkpoint's pause and the gap's
# stream time go (docs/perf-checkpoint.md): a pair on loopback protecting
# memstress under issue 12's anchor workload, both daemons sampled with
# perf, coloctl status --json before and after, the per-phase table.
#
#   bench/prof_checkpoint.sh COLOCTL GUEST_DIR
#
# Environment: RAM (MiB, 256), WSS (64), RATE (pages per 5 ms tick, 563:
# ~440 MiB/s), DELAY (checkpoint_delay_ms, 100), WARM (s before the
# window, 5), SECONDS_PERF (the window, 10), PERF (1; 0: figures only),
# PERF_CG (perf record's call-graph option, -g: frame pointers, so build
# with CC='gcc -fno-omit-frame-pointer' for whole stacks; or
# "--call-graph dwarf"). As root (perf on other processes' pids). The
# directory with the status files, logs, perf.data and reports stays,
# named at the end.
set -u
if [ $# -ne 2 ]; then
	echo "usage: $0 COLOCTL GUEST_DIR" >&2
	exit 2
fi
C=$1; G=$2
RAM=${RAM:-256}; WSS=${WSS:-64}; RATE=${RATE:-563}; DELAY=${DELAY:-100}
WARM=${WARM:-5}; SECONDS_PERF=${SECONDS_PERF:-10}; PERF=${PERF:-1}
PERF_CG=${PERF_CG:--g}
W=$(mktemp -d /tmp/prof_ckpt.XXXX)
PORT=$(( 20000 + $$ % 20000 ))
perf_pids=()

cleanup() {
	for p in "${perf_pids[@]}"; do kill -INT "$p" 2>/dev/null; done
	$C -c "$W/pri.conf" stop >/dev/null 2>&1
	$C -c "$W/sec.conf" stop >/dev/null 2>&1
}
trap cleanup EXIT

conf() {
	[ -e "$W/psk" ] || $C genkey "$W/psk" >/dev/null || exit 1
	cat >"$W/$1.conf" <<E
[guest]
program = $G/memstress
args = --ram $RAM --wss $WSS --pattern seq --rate $RATE --tick 5 --seed 1
stop_timeout_ms = 5000
[checkpoint]
$2
[ha]
heartbeat_timeout_ms = 30000
[control]
socket = $W/$1.sock
[log]
file = $W/$1.log
[security]
psk_file = $W/psk
E
}

# a number of a status --json file
num() { grep -o "\"$2\": [-0-9.e+]*" "$1" | head -n 1 | awk '{ print $2 }'; }

conf sec "listen = 127.0.0.1:$PORT"
conf pri "peer = 127.0.0.1:$PORT
checkpoint_delay_ms = $DELAY
compress_level = 0"

# the primary first, its guest's RAM filled, then the secondary (as
# bench_pair does): the initial sync is not what is measured here
$C -c "$W/pri.conf" start-primary >/dev/null || { cat "$W/pri.log"; exit 1; }
$C -c "$W/pri.conf" status --json >"$W/s.json"
gpid=$(num "$W/s.json" guest_pid)
for _ in $(seq 300); do
	rss=$(awk '/^VmRSS/ { print $2 }' "/proc/$gpid/status" 2>/dev/null)
	[ "${rss:-0}" -ge $(( RAM * 1024 * 95 / 100 )) ] && break
	sleep 0.1
done
$C -c "$W/sec.conf" start-secondary >/dev/null || { cat "$W/sec.log"; exit 1; }
for _ in $(seq 600); do
	$C -c "$W/pri.conf" status --json >"$W/s.json" 2>/dev/null || break
	[ "$(num "$W/s.json" checkpoints)" -ge 2 ] 2>/dev/null && break
	sleep 0.5
done
if [ "$(num "$W/s.json" checkpoints)" -lt 2 ] 2>/dev/null; then
	echo "the pair did not reach COLO; see $W/pri.log, $W/sec.log" >&2
	exit 1
fi
sleep "$WARM"

pri=$(num "$W/s.json" pid)
$C -c "$W/sec.conf" status --json >"$W/s.json"
sec=$(num "$W/s.json" pid)
$C -c "$W/pri.conf" status --json >"$W/pri.before.json"
$C -c "$W/sec.conf" status --json >"$W/sec.before.json"
t0=$(date +%s.%N)
if [ "$PERF" = 1 ]; then
	# shellcheck disable=SC2086
	perf record $PERF_CG -p "$pri" -o "$W/pri.perf.data" -- sleep "$SECONDS_PERF" \
		>"$W/pri.perf.log" 2>&1 &
	perf_pids+=($!)
	# shellcheck disable=SC2086
	perf record $PERF_CG -p "$sec" -o "$W/sec.perf.data" -- sleep "$SECONDS_PERF" \
		>"$W/sec.perf.log" 2>&1 &
	perf_pids+=($!)
	wait "${perf_pids[@]}"
	perf_pids=()
else
	sleep "$SECONDS_PERF"
fi
t1=$(date +%s.%N)
$C -c "$W/pri.conf" status --json >"$W/pri.json"
$C -c "$W/sec.conf" status --json >"$W/sec.json"

# --- the window's figures ----------------------------------------------------
b=$W/pri.before.json; a=$W/pri.json
awk -v wall="$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')" \
    -v c0="$(num "$b" checkpoints)" -v c1="$(num "$a" checkpoints)" \
    -v p0="$(num "$b" pause_total_ms)" -v p1="$(num "$a" pause_total_ms)" \
    -v g0="$(num "$b" pause_pages_total)" -v g1="$(num "$a" pause_pages_total)" \
    -v s0="$(num "$b" bytes_streamed)" -v s1="$(num "$a" bytes_streamed)" \
    -v p50="$(num "$a" pause_p50_us)" -v p99="$(num "$a" pause_p99_us)" \
    -v m50="$(num "$a" pause_p50_ms)" -v m99="$(num "$a" pause_p99_ms)" '
BEGIN {
	n = c1 - c0
	printf "window %.1f s: %d checkpoints, pause p50 %.0f us, p99 %.0f us " \
	       "(ring of the last 1024: %.1f / %.1f ms)\n", wall, n, p50, p99, m50, m99
	if (n > 0)
		printf "mean pause %.1f ms, %.0f pages a pause; guest run share %.2f; " \
		       "stream %.0f MB/s\n", (p1 - p0) / n, (g1 - g0) / n,
		       1 - (p1 - p0) / 1000 / wall, (s1 - s0) / 1e6 / wall
}'

# --- the per-phase table (p50 over the daemon's last 1024 checkpoints) ------
table() {	# SIDE JSON PAUSE_KEY PHASES...
	local side=$1 js=$2 pk=$3 pause; shift 3
	pause=$(num "$js" "$pk")
	printf "\n| %s phase | last us | p50 us | share of the p50 pause |\n|---|---|---|---|\n" "$side"
	for ph in "$@"; do
		l=$(num "$js" "${side}_${ph}_us_last"); m=$(num "$js" "${side}_${ph}_us_p50")
		awk -v ph="$ph" -v l="$l" -v m="$m" -v p="$pause" 'BEGIN {
			printf "| %s | %.0f | %.0f | %.1f%% |\n", ph, l, m, (p > 0 ? 100 * m / p : 0) }'
	done
	printf "| (%s) | | %.0f | 100%% |\n" "$pk" "$pause"
}
table primary "$W/pri.json" pause_p50_us stop reply sync clear read send \
	layout memhash size received loaded resume
table secondary "$W/sec.json" guest_stopped_p50_us stop wait_send recv \
	recv_cache check commit layout sync flush verify rearm resume loaded
echo "(secondary: stop comes before its guest's stop, loaded after it;" \
     "recv_cache is part of recv)"

# --- the profiles ------------------------------------------------------------
# A sample is the pause's when its stack holds a checkpoint handler of
# the transaction (the primary's final pass, layout, resume; the
# secondary's stop and load); the rest is the gap's stream and the loop
# (on the secondary, the pause's own PAGES records land there too: they
# look like the gap's).
PAUSE_RE='primary_checkpoint_(begin|reply|received|loaded)|load_checkpoint|try_stop_guest|secondary_checkpoint_(request|vmstate_size|tick)'
profile() {	# ROLE
	local d=$W/$1.perf.data
	[ -s "$d" ] || return 0
	perf report -i "$d" --stdio --no-children --sort sym -g none \
		--percent-limit 0.5 >"$W/$1.report.txt" 2>/dev/null
	# one line a sample: "P|G leaf-symbol"
	perf script -i "$d" -F ip,sym 2>/dev/null | awk -v re="$PAUSE_RE" '
	function flush() {
		if (leaf != "") print (pause ? "P" : "G"), leaf
		leaf = ""; pause = 0
	}
	/^[[:space:]]*$/ { flush(); next }
	{
		sym = $2; if (sym == "") sym = "[unknown]"
		if (leaf == "") leaf = sym
		if (sym ~ re) pause = 1
	}
	END { flush() }' >"$W/$1.samples"
	awk -v role="$1" '{ n[$1]++; t++ } END { if (t) printf "\n%s daemon: %d " \
		"samples, %.1f%% in the pause handlers, %.1f%% in the gap and " \
		"the loop\n", role, t, 100 * n["P"] / t, 100 * n["G"] / t }' "$W/$1.samples"
	# cpu-clock counts nanoseconds on the CPU (a VM without a PMU gets it)
	grep -q "of event 'cpu-clock" "$W/$1.report.txt" &&
		awk -v s="$SECONDS_PERF" '/^# Event count/ { printf "its CPU: %.2f s " \
			"of %s s (%.0f%% of one core)\n", $NF / 1e9, s, 100 * $NF / 1e9 / s }' \
			"$W/$1.report.txt"
	for k in G:gap:15 P:pause:10; do
		IFS=: read -r tag what top <<<"$k"
		printf "| %s, %s: leaf symbol | share of all its samples |\n|---|---|\n" "$1" "$what"
		total=$(wc -l <"$W/$1.samples")
		awk -v t="$tag" '$1 == t { print $2 }' "$W/$1.samples" | sort | uniq -c |
			sort -rn | head -n "$top" |
			awk -v total="$total" '{ printf "| %s | %.1f%% |\n", $2, 100 * $1 / total }'
	done
}
if [ "$PERF" = 1 ]; then
	profile pri
	profile sec
fi
echo
echo "status, logs and profiles: $W (perf report -i $W/pri.perf.data --stdio)"

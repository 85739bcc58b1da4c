#!/bin/bash
# mk/demo.sh - a protected pair on this machine, start to finish.
#
#   mk/demo.sh COLOCTL GUEST_DIR WORK_DIR
#
# Starts a secondary and a primary daemon on loopback protecting memstress
# (a guest that keeps writing its memory and mapping and unmapping blocks),
# lets them checkpoint for DEMO_SECONDS (default 20), shows progress, then
# takes a last checkpoint with both guests held, compares the two guests'
# memories byte for byte and prints a summary. Everything it started is
# stopped on the way out, even after a failure or ^C; configurations and
# logs stay in WORK_DIR. Exit status 0 when the copy was identical.
#
# DEMO_SECONDS, DEMO_RAM_MIB (default 256) and DEMO_DELAY_MS (the
# checkpoint delay, default 100) change the run.
set -u

COLOCTL=$1
GUEST_DIR=$2
WORK=$3
SECONDS_TO_RUN=${DEMO_SECONDS:-20}
RAM_MIB=${DEMO_RAM_MIB:-256}
DELAY_MS=${DEMO_DELAY_MS:-100}
GUEST_ARGS="--ram $RAM_MIB --wss $((RAM_MIB / 4)) --rate 100 --tick 5 --churn"

die() {
	echo "demo: $*" >&2
	exit 1
}

for v in SECONDS_TO_RUN RAM_MIB DELAY_MS; do
	[[ ${!v} =~ ^[1-9][0-9]*$ ]] ||
		die "${v/SECONDS_TO_RUN/DEMO_SECONDS}=${!v}: give a whole number above 0"
done
[ -x "$COLOCTL" ] || die "no coloctl at $COLOCTL: run it through 'make demo'"
[ -x "$GUEST_DIR/memstress" ] || die "no guest at $GUEST_DIR/memstress: run it through 'make demo'"

rm -rf "$WORK"
mkdir -p "$WORK" || die "cannot create $WORK"

pri() { "$COLOCTL" -c "$WORK/primary.conf" "$@"; }
sec() { "$COLOCTL" -c "$WORK/secondary.conf" "$@"; }

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
}
trap cleanup EXIT
trap 'echo; echo "demo: interrupted"; exit 130' INT TERM

write_conf() {		# NAME ROLE-LINES
	cat >"$WORK/$1.conf" <<EOF
# written by mk/demo.sh; see colo.conf for every key
[guest]
program = $GUEST_DIR/memstress
args = $GUEST_ARGS
[checkpoint]
$2
[ha]
heartbeat_timeout_ms = 3000
[control]
socket = $WORK/$1.sock
[log]
file = $WORK/$1.log
EOF
}

# A free loopback port: nothing answers a connect on it.
free_port() {
	local p
	for _ in $(seq 1 50); do
		p=$((20000 + RANDOM % 40000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"
			return 0
		fi
	done
	return 1
}

echo "== colo demo: memstress ($RAM_MIB MiB, $GUEST_ARGS)"
echo "   protected by a primary and a secondary on loopback for ${SECONDS_TO_RUN} s"
echo "   work directory (configurations, logs): $WORK"
echo

started=0
for attempt in 1 2 3; do
	port=$(free_port) || die "no free port on 127.0.0.1"
	write_conf secondary "listen = 127.0.0.1:$port"
	write_conf primary "peer = 127.0.0.1:$port
checkpoint_delay_ms = $DELAY_MS"
	if sec start-secondary; then
		started=1
		break
	fi
	echo "demo: port $port was taken after all; trying another" >&2
done
[ $started = 1 ] || die "the secondary did not start; see $WORK/secondary.log"
s=$(sec status --json)
pids+=("$(jget pid "$s")" "$(jget guest_pid "$s")")
pri start-primary || die "the primary did not start; see $WORK/primary.log"
# the guests too, should their daemons be killed
p=$(pri status --json)
pids+=("$(jget pid "$p")" "$(jget guest_pid "$p")")

echo
echo "waiting for the initial sync..."
for _ in $(seq 1 600); do
	p=$(pri status --json) || die "the primary stopped; see $WORK/primary.log"
	# the first checkpoint ends the initial sync
	[ "$(jget checkpoints "$p")" -ge 1 ] 2>/dev/null && break
	sleep 0.1
done
case $(jget state "$p") in
colo | checkpoint) [ "$(jget checkpoints "$p")" -ge 1 ] ||
	die "the initial sync did not end within 60 s; see $WORK/*.log" ;;
*) die "the pair is '$(jget state "$p")', not protecting; see $WORK/*.log" ;;
esac
echo "the guest is protected (dirty log: $(jget dirty_log "$p"))"
echo
printf "%6s %12s %10s %10s %12s %10s\n" time checkpoints "p50 ms" "p99 ms" "streamed MB" "MB/s"
for t in $(seq 1 "$SECONDS_TO_RUN"); do
	sleep 1
	p=$(pri status --json) || die "the primary stopped; see $WORK/primary.log"
	case $(jget state "$p") in
	colo | checkpoint) ;;
	*) die "the pair left COLO: state $(jget state "$p") $(jget solo_because "$p"); see $WORK/*.log" ;;
	esac
	if [ $((t % 5)) = 0 ] || [ "$t" = "$SECONDS_TO_RUN" ]; then
		printf "%5ss %12s %10s %10s %12s %10s\n" "$t" \
			"$(jget checkpoints "$p")" "$(jget pause_p50_ms "$p")" \
			"$(jget pause_p99_ms "$p")" \
			"$(calc "$(jget bytes_streamed "$p") / 1e6")" \
			"$(jget stream_mb_per_s "$p")"
	fi
done

echo
echo "last checkpoint, both guests held, the secondary checks its copy:"
pri checkpoint --verify --hold || die "the last checkpoint failed; see $WORK/*.log"
p=$(pri status --json)
s=$(sec status --json)
echo "comparing the two guests byte for byte:"
"$COLOCTL" guest compare "$(jget guest_pid "$p")" "$(jget guest_pid "$s")"
same=$?

ckpts=$(jget checkpoints "$p")
ppc=$(jget pages_per_checkpoint "$p")
bpc=$(jget bytes_per_checkpoint "$p")
echo
echo "== summary"
printf "  %-34s %s\n" "initial sync, stop-and-copy pause" "$(jget initial_sync_pause_ms "$p") ms"
printf "  %-34s %s\n" "checkpoints after it" "$((ckpts - 1)) (each ${DELAY_MS} ms after the last one ended)"
printf "  %-34s %s / %s ms\n" "pause p50 / p99 (guest stopped)" \
	"$(jget pause_p50_ms "$p")" "$(jget pause_p99_ms "$p")"
printf "  %-34s %s pages, %s MB\n" "sent in a pause, per checkpoint" \
	"$ppc" "$(calc "$bpc / 1e6" 2)"
printf "  %-34s %s pages, %s MB\n" "sent in all, per checkpoint" \
	"$(calc "$(jget protected_pages "$p") / ($ckpts - 1)" 0)" \
	"$(calc "$(jget protected_bytes "$p") / ($ckpts - 1) / 1e6" 2)"
printf "  %-34s %s MB/s\n" "stream while protected" "$(jget stream_mb_per_s "$p")"
printf "  %-34s %s (level %s)\n" "compression ratio" \
	"$(jget compression_ratio "$p")" "$(jget compress_level "$p")"
printf "  %-34s %s\n" "the secondary's own writes undone" \
	"$(jget pages_own_dirty_last "$s") pages at the last flush"
if [ $same = 0 ]; then
	printf "  %-34s %s\n" "secondary's guest at the end" "byte-identical to the primary's"
else
	printf "  %-34s %s\n" "secondary's guest at the end" "DIFFERS from the primary's"
fi
cleanup
echo
echo "both daemons and guests stopped; logs in $WORK"
exit $same

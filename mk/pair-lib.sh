# mk/pair-lib.sh - what mk/demo.sh and mk/soak.sh share: a protected
# kvstore in the lab of tests/lab/colo-lab.sh, with auto_failover and the
# LAN heartbeat path. Sourced; needs COLOCTL, GUEST_DIR, WORK, PREFIX,
# DELAY_MS, HEARTBEAT_MS and a die() of the caller's.

GUEST_IP=10.77.1.100
REPL=10.77.2.2:9470

pri() { "$COLOCTL" -c "$WORK/primary.conf" "$@"; }
sec() { "$COLOCTL" -c "$WORK/secondary.conf" "$@"; }
in_ns() { local role=$1; shift; ip netns exec "$PREFIX-$role" "$@"; }
client() { in_ns client "$@"; }
now_ms() { date +%s%3N; }

# One value of a 'status --json' answer (numbers and strings alike).
jget() {
	sed -n "s/.*\"$1\": \"\{0,1\}\([^\",}]*\).*/\1/p" <<<"$2"
}

# One figure of kv_verify's summary ("NAME  VALUE ...") in FILE.
vget() {		# NAME FILE
	sed -n "s/^$1  \([^ ]*\).*/\1/p" "$2"
}

# The pair's key ([security] psk_file), made once in WORK: both daemons
# prove it before anything else crosses the replication link.
make_key() {
	[ -e "$WORK/psk" ] || "$COLOCTL" genkey "$WORK/psk" >/dev/null ||
		die "cannot make the replication link's key $WORK/psk"
}

write_conf() {		# NAME CHECKPOINT-LINES HA-LINES
	make_key
	cat >"$WORK/$1.conf" <<CONF
# written by mk/pair-lib.sh; see colo.conf for every key
[guest]
program = $GUEST_DIR/kvstore
args = --port 6379
[checkpoint]
$2
[ha]
heartbeat_timeout_ms = $HEARTBEAT_MS
$3
[net]
bridge = br0
guest_ip = $GUEST_IP
guest_gateway = 10.77.1.1
[control]
socket = $WORK/$1.sock
[log]
file = $WORK/$1.log
[security]
psk_file = $WORK/psk
CONF
}

# The secondary on its host, the primary on its own; both remembered in
# pids (should they outlive their stop); returns once the pair protects
# (three checkpoints) with the primary's status in $p.
start_pair() {
	write_conf secondary "listen = $REPL" "auto_failover = yes
lan_listen = 10.77.1.2:9471
lan_peer = 10.77.1.1:9471"
	write_conf primary "peer = $REPL
checkpoint_delay_ms = $DELAY_MS" "lan_listen = 10.77.1.1:9471
lan_peer = 10.77.1.2:9471"
	in_ns sec "$COLOCTL" -c "$WORK/secondary.conf" start-secondary >"$WORK/start.txt" 2>&1 ||
		die "the secondary did not start: $(cat "$WORK/start.txt")"
	remember secondary
	in_ns pri "$COLOCTL" -c "$WORK/primary.conf" start-primary >>"$WORK/start.txt" 2>&1 ||
		die "the primary did not start: $(cat "$WORK/start.txt")"
	remember primary
	for _ in $(seq 1 600); do
		p=$(pri status --json) || die "the primary stopped; see $WORK/primary.log"
		[ "$(jget checkpoints "$p")" -ge 3 ] 2>/dev/null && break
		sleep 0.1
	done
	case $(jget state "$p") in
	colo | checkpoint) ;;
	*) die "the pair is '$(jget state "$p")', not protecting; see $WORK/*.log" ;;
	esac
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

# Poll the secondary until it is the primary: $took (ms) and its status
# in $s; 1 if it did not within 10 s.
wait_takeover() {
	took=""
	for _ in $(seq 1 1000); do
		s=$(sec status --json 2>/dev/null)
		if [ "$(jget role "$s")" = primary ]; then
			took=$(now_ms)
			return 0
		fi
		sleep 0.01
	done
	return 1
}

# Stop both daemons (whatever role each has now) and kill what is left.
stop_pair() {
	pri stop >/dev/null 2>&1
	sec stop >/dev/null 2>&1
	for _ in $(seq 1 30); do
		pri status >/dev/null 2>&1 || sec status >/dev/null 2>&1 || break
		sleep 0.1
	done
	for p in "${pids[@]}"; do
		kill -KILL "$p" 2>/dev/null
	done
	pids=()
}

#!/bin/bash
# bench/prof_compare.sh - perf profile of a compare-mode pair under
# redis-benchmark -c 50 in the lab (docs/perf-compare.md). As root:
#   bench/prof_compare.sh COLOCTL GUEST_DIR   (MODE=buffer, DELAY=MS, PERF=0)
# Prints the figures and the directory with perf.data and the logs.
set -u
M=$(cd "$(dirname "$0")/.." && pwd); C=$1; G=$2
LAB=$M/tests/lab/colo-lab.sh; P=coloprof$$; W=$(mktemp -d /tmp/prof.XXXX)
MODE=${MODE:-compare}; DELAY=${DELAY:-100}
# the daemons stop by their sockets, the lab goes with what it spawned
trap '$C -c $W/pri.conf stop >/dev/null 2>&1; $C -c $W/sec.conf stop >/dev/null 2>&1; sleep 1; $LAB down $P >/dev/null 2>&1' EXIT
conf() { [ -e "$W/psk" ] || $C genkey "$W/psk" >/dev/null || exit 1; cat >"$W/$1.conf" <<E
[guest]
program = $G/kvstore
args = --port 6379
[checkpoint]
$2
[net]
guest_ip = 10.77.1.100
guest_gateway = 10.77.1.1
output = $MODE
$3
[control]
socket = $W/$1.sock
[log]
file = $W/$1.log
[security]
psk_file = $W/psk
E
}
$LAB up $P >/dev/null
conf sec "listen = 10.77.2.2:9470" ""
conf pri "peer = 10.77.2.2:9470
checkpoint_delay_ms = $DELAY" "bridge = br0"
ip netns exec $P-sec $C -c $W/sec.conf start-secondary >/dev/null
ip netns exec $P-pri $C -c $W/pri.conf start-primary >/dev/null
sleep 3
ip netns exec $P-client redis-benchmark -h 10.77.1.100 -t set -n 100000 -c 50 -q >/dev/null 2>&1 &
b=$!
sleep 2
if [ "${PERF:-1}" = 1 ]; then perf record -a -g -o $W/perf.data -- sleep 8 >/dev/null 2>&1; fi
wait $b
ip netns exec $P-client redis-benchmark -h 10.77.1.100 -t set,get -n 20000 -c 50 -q 2>&1 | tr '\r' '\n' | grep "per second"
$C -c $W/pri.conf status | grep -E "^checkpoints|pause_p|compare_matched|compare_mismatch_payload|mirror_dropped"
echo "$W"

#!/bin/bash
# cluster-test.sh - a real two-node Corosync + Pacemaker cluster on this one
# machine, each node in network, mount, UTS and PID namespaces of its own;
# a promotable clone on it; node1 (the promoted one) powered off with
# SIGKILL; the time until node2's instance is promoted. With --agent colo
# the clone protects kvstore (compare mode, its TAP on the node's br0),
# and a client (kv_verify in colocl-client) writes through the kill: its
# connection must survive and no acknowledged write may be lost.
#
#   mk/cluster-test.sh [--agent stateful|colo] [--no-fencing] [--keep]
#
#   --agent stateful   ocf:pacemaker:Stateful, Pacemaker's own promotable
#                      test agent (the default)
#   --agent colo       ha/colo of this tree installed as ocf:colo:colo in
#                      each node's mount namespace (see colo_configs());
#                      needs COLO_COLOCTL, COLO_GUEST_DIR (kvstore) and
#                      COLO_KV_VERIFY (make cluster-test sets them)
#   --no-fencing       stonith-enabled=false (by default a fence device,
#                      stonith:fence_colocl, asks this script's "power
#                      switch" to SIGKILL the other node's namespace)
#   --cleanup          remove what a run killed with SIGKILL left behind
#   --keep             on success, leave the cluster running and wait for
#                      Ctrl-C (then tear down); for poking at it with
#                      nsenter -t $(cat /tmp/colocl/node1/init.pid) -n -m -p -u
#
# Needs root and Debian's pacemaker, corosync, pacemaker-cli-utils and
# pacemaker-resource-agents, and redis-tools for --agent colo (installed
# with apt-get when missing).
#
# Layout (every address inside namespaces this script makes; nothing is
# configured in the namespace it is run from):
#
#   colocl-lan: bridge lan0, ports to-node1, to-node2
#   colocl-node1: br0 10.78.0.1/24 (eth0 its port, on lan0)   corosync ring0
#                 repl0 10.78.1.1/24 (veth straight to node2)  for colo
#   colocl-node2: br0 10.78.0.2/24, repl0 10.78.1.2/24
#   colocl-client (--agent colo): eth0 10.78.0.10/24, on lan0 as to-client
#   the guest (--agent colo): 10.78.0.100, behind the serving node's TAP
#                 (colo0, a port of its br0)
#
# Per node N, under $COLOCL_ROOT (default /tmp/colocl)/N, bind-mounted in
# N's mount namespace only: run -> /run, shm -> /dev/shm,
# lib-pacemaker -> /var/lib/pacemaker, lib-corosync -> /var/lib/corosync,
# etc-corosync -> /etc/corosync, log-pacemaker -> /var/log/pacemaker,
# log-corosync -> /var/log/corosync, ocf -> /usr/lib/ocf/resource.d (a
# copy of the host's plus colo/colo); /usr/sbin is an overlay adding
# fence_colocl (upper layer sbin-upper).
#
# Teardown (trap, also on failure or Ctrl-C): SIGKILL of each node's
# namespace init, recorded by pid (the kernel then kills every process
# of that PID namespace, and its mounts go with its mount namespace), the
# power-switch loop and kv_verify by pid, the namespaces, the directory. Logs are
# copied to $COLOCL_LOGDIR (default /tmp/colocl-logs) first.
#
# Exit 0 only if node2's instance was promoted after node1 was killed
# (and, with --agent colo, kv_verify exited 0: nothing acknowledged lost
# or wrong, the client's connection survived).
set -u

ROOT=${COLOCL_ROOT:-/tmp/colocl}
NS_PREFIX=colocl
NS_CLIENT=$NS_PREFIX-client
NODES="node1 node2"
SELF=$(readlink -f "$0")
TREE=$(cd "$(dirname "$SELF")/.." && pwd)
LOGDIR=${COLOCL_LOGDIR:-/tmp/colocl-logs}

AGENT=stateful
FENCING=1
KEEP=0

# Timeouts (seconds) of the waits below.
FORM_TIMEOUT=${COLOCL_FORM_TIMEOUT:-60}
PROMOTE_TIMEOUT=${COLOCL_PROMOTE_TIMEOUT:-60}
FAILOVER_TIMEOUT=${COLOCL_FAILOVER_TIMEOUT:-60}

log() { printf '%s cluster-test: %s\n' "$(date +%T.%3N)" "$*" >&2; }
die() { log "FAILED: $*"; exit 1; }
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

# ---------------------------------------------------------------------------
# Inside a node: this script re-executed as the init (PID 1) of the node's
# PID namespace, in its own mount and UTS namespaces and its network
# namespace.
# ---------------------------------------------------------------------------
node_main() {
	local node=$1 d="$ROOT/$1" i
	set -e
	hostname "$node"
	mount --make-rprivate /
	# /sys of this network namespace (non-fatal: cosmetic)
	mount -t sysfs sysfs /sys 2>/dev/null || true
	mount --bind "$d/run" /run
	mount --bind "$d/shm" /dev/shm
	mount --bind "$d/lib-pacemaker" /var/lib/pacemaker
	mount --bind "$d/lib-corosync" /var/lib/corosync
	mount --bind "$d/etc-corosync" /etc/corosync
	mount --bind "$d/log-pacemaker" /var/log/pacemaker
	mount --bind "$d/log-corosync" /var/log/corosync
	mount --bind "$d/ocf" /usr/lib/ocf/resource.d
	mount -t overlay colocl-sbin -o "lowerdir=/usr/sbin,upperdir=$d/sbin-upper,workdir=$d/sbin-work" /usr/sbin
	set +e
	echo ready > "$d/mounts.ok"

	corosync -f > "$d/corosync.out" 2>&1 &
	echo $! > /run/corosync.nspid
	# pacemakerd is started by the host side (node_exec ... start-pcmk)
	# once both corosyncs see each other. PID 1 reaps and waits.
	while :; do
		wait
		sleep 1
	done
}

# Inside a node: start pacemakerd in the background of its own session.
node_start_pcmk() {
	export PCMK_logfile=/var/log/pacemaker/pacemaker.log
	export PCMK_logfacility=none
	export PCMK_logpriority=info
	# COLOCL_PCMK_DEBUG=pacemaker-controld,... : those daemons' debug lines
	[ -n "${COLOCL_PCMK_DEBUG:-}" ] && export PCMK_debug="$COLOCL_PCMK_DEBUG"
	setsid pacemakerd -f > /var/log/pacemaker/pacemakerd.out 2>&1 < /dev/null &
	echo $! > /run/pacemakerd.nspid
}

# ---------------------------------------------------------------------------
# Host side
# ---------------------------------------------------------------------------

# Run a command in NODE's namespaces (network, mount, UTS, PID).
node_exec() {
	local node=$1
	shift
	nsenter -t "$(cat "$ROOT/$node/init.pid")" -n -m -u -p -- "$@"
}

# The host pids of the processes in NODE's PID namespace (none: empty).
node_pids() {
	local node=$1 ns p
	ns=$(cat "$ROOT/$node/pidns" 2>/dev/null) || return 0
	for p in /proc/[0-9]*; do
		[ "$(readlink "$p/ns/pid" 2>/dev/null)" = "$ns" ] && echo "${p#/proc/}"
	done
}

# Host pid of the process named COMM in NODE's PID namespace.
node_pid_of() {
	local node=$1 comm=$2 p
	for p in $(node_pids "$node"); do
		[ "$(cat /proc/"$p"/comm 2>/dev/null)" = "$comm" ] && { echo "$p"; return 0; }
	done
	return 1
}

# Power NODE off: SIGKILL its namespace init (recorded pid, checked to be
# still the init of the namespace recorded at start, so that a reused pid
# is never hit); the kernel then SIGKILLs every process in the namespace.
node_power_off() {
	local node=$1 pid ns
	pid=$(cat "$ROOT/$node/init.pid" 2>/dev/null) || return 0
	ns=$(cat "$ROOT/$node/pidns" 2>/dev/null) || return 0
	if [ -n "$pid" ] && [ "$(readlink /proc/"$pid"/ns/pid 2>/dev/null)" = "$ns" ]; then
		kill -KILL "$pid" 2>/dev/null
	fi
	for _ in $(seq 100); do
		[ -z "$(node_pids "$node")" ] && return 0
		sleep 0.05
	done
	log "processes still in $node's PID namespace: $(node_pids "$node" | tr '\n' ' ')"
	return 1
}

need_packages() {
	local missing="" c
	for c in corosync pacemakerd crm_mon cibadmin crm_resource ping ss; do
		command -v "$c" >/dev/null || missing=1
	done
	[ -e /usr/lib/ocf/resource.d/pacemaker/Stateful ] || missing=1
	[ "$AGENT" = colo ] && ! command -v redis-cli >/dev/null && missing=1
	[ -z "$missing" ] && return 0
	local pkgs="pacemaker corosync pacemaker-cli-utils pacemaker-resource-agents iputils-ping iproute2"
	[ "$AGENT" = colo ] && pkgs="$pkgs redis-tools"
	log "installing $pkgs"
	# shellcheck disable=SC2086 # a list of names
	{ DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $pkgs ||
		{ apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $pkgs; }
	} > "$ROOT.apt.log" 2>&1 || die "apt-get install failed: see $ROOT.apt.log"
}

# --- the network ------------------------------------------------------------

step() {
	local out
	out=$("$@" 2>&1) || { log "$* failed: $out"; return 1; }
}

make_ns() {
	step ip netns add "$1" || return 1
	# IPv6 off (no router solicitations or MLD reports among the
	# guests' input), as in tests/lab/colo-lab.sh
	# shellcheck disable=SC2016 # expanded by that shell
	ip netns exec "$1" sh -c '
		for f in /proc/sys/net/ipv6/conf/all/disable_ipv6 \
			 /proc/sys/net/ipv6/conf/default/disable_ipv6; do
			[ -e "$f" ] && echo 1 > "$f"
		done; exit 0'
	step ip -n "$1" link set lo up
}

make_net() {
	local lan=$NS_PREFIX-lan n1=$NS_PREFIX-node1 n2=$NS_PREFIX-node2 i ns
	make_ns "$lan" && make_ns "$n1" && make_ns "$n2" || return 1
	step ip -n "$lan" link add lan0 type bridge &&
	step ip -n "$lan" link set lan0 up || return 1
	for i in 1 2; do
		ns=$NS_PREFIX-node$i
		step ip -n "$ns" link add br0 type bridge &&
		step ip -n "$ns" link set br0 address 02:78:00:00:00:0$i &&
		step ip -n "$lan" link add to-node$i type veth peer name eth0 netns "$ns" &&
		step ip -n "$lan" link set to-node$i master lan0 &&
		step ip -n "$lan" link set to-node$i up &&
		step ip -n "$ns" link set eth0 master br0 &&
		step ip -n "$ns" link set eth0 up &&
		step ip -n "$ns" addr add 10.78.0.$i/24 dev br0 &&
		step ip -n "$ns" link set br0 up || return 1
	done
	step ip -n "$n1" link add repl0 type veth peer name repl0 netns "$n2" &&
	step ip -n "$n1" addr add 10.78.1.1/24 dev repl0 &&
	step ip -n "$n2" addr add 10.78.1.2/24 dev repl0 &&
	step ip -n "$n1" link set repl0 up &&
	step ip -n "$n2" link set repl0 up || return 1
	if [ "$AGENT" = colo ]; then
		# the client host: eth0 on the LAN switch as to-client
		make_ns "$NS_CLIENT" &&
		step ip -n "$lan" link add to-client type veth peer name eth0 netns "$NS_CLIENT" &&
		step ip -n "$lan" link set to-client master lan0 &&
		step ip -n "$lan" link set to-client up &&
		step ip -n "$NS_CLIENT" link set eth0 address 02:78:00:00:00:0a &&
		step ip -n "$NS_CLIENT" addr add "$CLIENT_IP/24" dev eth0 &&
		step ip -n "$NS_CLIENT" link set eth0 up || return 1
	fi
	# wait until the links are up and node1 reaches node2 on both nets
	for _ in $(seq 50); do
		ip netns exec "$n1" ping -c1 -W1 10.78.0.2 >/dev/null 2>&1 &&
			ip netns exec "$n1" ping -c1 -W1 10.78.1.2 >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	log "node1 does not reach node2 on 10.78.0.2 and 10.78.1.2"
	return 1
}

# --- per-node files -----------------------------------------------------------

write_corosync_conf() {
	cat <<'EOF'
totem {
	version: 2
	cluster_name: colocl
	transport: knet
	crypto_cipher: none
	crypto_hash: none
	# lowered for the test: loss of a node is seen after token +
	# consensus (1000 + 1200 ms)
	token: 1000
	token_retransmits_before_loss_const: 4
	consensus: 1200
	join: 50
}
nodelist {
	node {
		name: node1
		nodeid: 1
		ring0_addr: 10.78.0.1
	}
	node {
		name: node2
		nodeid: 2
		ring0_addr: 10.78.0.2
	}
}
quorum {
	provider: corosync_votequorum
	# two_node implies wait_for_all: quorum at start needs both nodes;
	# afterwards the survivor of the two keeps it
	two_node: 1
}
logging {
	to_stderr: no
	to_syslog: no
	to_logfile: yes
	logfile: /var/log/corosync/corosync.log
	timestamp: hires
	debug: off
}
EOF
}

# The initial CIB of each node: cluster options only (the resources are
# created once the cluster has formed). dc-deadtime is read at start, so
# it has to be in the CIB before pacemakerd runs.
write_initial_cib() {
	local stonith=true
	[ "$FENCING" = 1 ] || stonith=false
	cat <<EOF
<cib validate-with="pacemaker-3.9" epoch="1" num_updates="0" admin_epoch="0">
  <configuration>
    <crm_config>
      <cluster_property_set id="cib-bootstrap-options">
        <nvpair id="opt-stonith-enabled" name="stonith-enabled" value="$stonith"/>
        <nvpair id="opt-stonith-timeout" name="stonith-timeout" value="20s"/>
        <nvpair id="opt-dc-deadtime" name="dc-deadtime" value="2s"/>
        <nvpair id="opt-recheck" name="cluster-recheck-interval" value="1min"/>
        <nvpair id="opt-cluster-name" name="cluster-name" value="colocl"/>
      </cluster_property_set>
    </crm_config>
    <nodes/>
    <resources/>
    <constraints/>
  </configuration>
  <status/>
</cib>
EOF
}

# The fence device's program, an RHCS-style fence agent (stonith:fence_colocl,
# arguments key=value on standard input): off/reboot of the node named
# by port/plug asks the host's power switch (this script's psu_loop)
# through files in psu_dir, and waits for it. Each node sees it as
# /usr/sbin/fence_colocl through an overlay on /usr/sbin in its own mount
# namespace (Pacemaker looks for fence agents in /usr/sbin only).
write_fence_agent() {
	cat <<'EOF2'
#!/bin/sh
# fence_colocl - the "power switch" of mk/cluster-test.sh's nodes
action=reboot port="" psu_dir=/tmp/colocl/psu
while IFS= read -r line; do
	case $line in
	action=*|option=*) action=${line#*=} ;;
	port=*|plug=*) port=${line#*=} ;;
	psu_dir=*) psu_dir=${line#*=} ;;
	esac
done
[ $# -gt 0 ] && case $1 in -o) action=$2 ;; --action=*) action=${1#*=} ;; esac
case $action in
metadata)
	cat <<XML
<?xml version="1.0" ?>
<resource-agent name="fence_colocl" shortdesc="mk/cluster-test.sh's power switch">
<longdesc>Powers a cluster-test node off by SIGKILL of its PID namespace's init, done by the host script.</longdesc>
<vendor-url>mk/cluster-test.sh</vendor-url>
<parameters>
<parameter name="action" unique="0" required="1"><getopt mixed="-o, --action=[action]" /><content type="string" default="reboot" /><shortdesc lang="en">Fencing action</shortdesc></parameter>
<parameter name="plug" unique="0" required="0"><getopt mixed="-n, --plug=[id]" /><content type="string" /><shortdesc lang="en">The node to power off</shortdesc></parameter>
<parameter name="psu_dir" unique="0" required="0"><content type="string" default="/tmp/colocl/psu" /><shortdesc lang="en">The switch's request directory</shortdesc></parameter>
</parameters>
<actions>
<action name="on" automatic="0"/><action name="off" /><action name="reboot" /><action name="status" /><action name="monitor" /><action name="list" /><action name="metadata" />
</actions>
</resource-agent>
XML
	exit 0 ;;
monitor)
	[ -d "$psu_dir/req" ] ;;
list)
	echo "node1,"; echo "node2,"; exit 0 ;;
status)
	[ -n "$port" ] || exit 1
	# 0: on, 2: off
	[ -e "$psu_dir/off.$port" ] && exit 2
	exit 0 ;;
off|reboot)
	[ -n "$port" ] || exit 1
	id="$port.$(date +%s%N).$$"
	echo "$action" > "$psu_dir/req/.$id" && mv "$psu_dir/req/.$id" "$psu_dir/req/$id" || exit 1
	i=0
	while [ $i -lt 400 ]; do
		[ -e "$psu_dir/done/$id" ] && exit 0
		sleep 0.02
		i=$((i + 1))
	done
	exit 1 ;;
on)
	exit 1 ;;
*)
	exit 1 ;;
esac
EOF2
}

# The power switch, on the host: a request file NODE.ID in psu/req powers
# NODE off (node_power_off) and is moved to psu/done.
psu_loop() {
	local f id node main=$1
	trap - EXIT INT TERM
	# ends by itself when the script that started it is gone
	while kill -0 "$main" 2>/dev/null; do
		for f in "$ROOT"/psu/req/*; do
			[ -e "$f" ] || continue
			id=${f##*/}
			node=${id%%.*}
			case " $NODES " in
			*" $node "*)
				node_power_off "$node"
				: > "$ROOT/psu/off.$node"
				echo "$(now_ms) $node $(cat "$f")" >> "$ROOT/psu/log"
				mv "$f" "$ROOT/psu/done/$id" ;;
			*) rm -f "$f" ;;
			esac
		done
		sleep 0.02
	done
}

# ============================================================================
# THE COLO CONFIGS (for --agent colo): one colo.conf per node, written to
# $ROOT/NODE/run/colo/colo.conf, which NODE sees as /run/colo/colo.conf
# (its /run is private) -- so the clone's one config= parameter names a
# different file on each node. The lead fills these in; see
# docs/cluster-test.md for what they need.
# ============================================================================
COLO_CONFIG_PATH=/run/colo/colo.conf

# The programs, the same path on both nodes (the tree is visible in every
# node's mount namespace). Defaults: make's build/cc and build/guest-cc.
# The guest is kvstore (a Redis-protocol key-value store on the guest
# runtime's lwIP); COLO_GUEST overrides its path (it must serve RESP on
# port 6379 too). kv_verify is the client, run in colocl-client.
COLO_COLOCTL=${COLO_COLOCTL:-$TREE/build/cc/coloctl}
COLO_GUEST_DIR=${COLO_GUEST_DIR:-$TREE/build/guest-cc}
COLO_GUEST=${COLO_GUEST:-$COLO_GUEST_DIR/kvstore}
COLO_KV_VERIFY=${COLO_KV_VERIFY:-$TREE/build/cc/bench/kv_verify}
# The guest's address on the LAN (behind the TAP of whichever node runs
# it), the client's, and the seconds kv_verify writes before the kill
# and after the promotion.
GUEST_IP=10.78.0.100
CLIENT_IP=10.78.0.10
KV_BEFORE_S=${COLOCL_KV_BEFORE:-2}
KV_AFTER_S=${COLOCL_KV_AFTER:-3}

colo_config() {
	local node=$1 me other
	case $node in
	node1) me=1 other=2 ;;
	node2) me=2 other=1 ;;
	esac
	cat <<EOF
# colo.conf of $node (written by mk/cluster-test.sh colo_config)
[guest]
program = $COLO_GUEST
args = --port 6379

[checkpoint]
# replication over the direct link repl0 (10.78.1.0/24): this host
# listens as a secondary, connects to the other as a primary
listen = 10.78.1.$me:9470
peer = 10.78.1.$other:9470

[ha]
# the secondary's own peer-loss detection; after a power cut the
# replication connection usually ends at once (node1's kernel, whose
# network namespace outlives its processes, closes the sockets), and
# Pacemaker's promote runs coloctl failover --force regardless
heartbeat_timeout_ms = 1000
# Pacemaker decides takeovers (promote), not the secondary by itself
auto_failover = no
# the second heartbeat path over the LAN (br0, 10.78.0.0/24)
lan_listen = 10.78.0.$me:9471
lan_peer = 10.78.0.$other:9471

[net]
# compare mode (the default): every input to both guests, a reply leaves
# once the secondary's guest has sent the same. The serving daemon's TAP
# goes on this node's br0 (on the LAN switch lan0); the guest is
# $GUEST_IP on both nodes. No gateway: the client is on the same LAN.
output = compare
bridge = br0
guest_ip = $GUEST_IP
guest_netmask = 255.255.255.0

[control]
socket = /run/colo/colo.sock

[log]
file = /var/log/pacemaker/colo.log

[security]
# the replication link's key, the same on both nodes (colo_configs
# copies one key to each, as an operator would)
psk_file = /run/colo/psk
EOF
}

# True when the pair is protected: node1's daemon is the primary in state
# colo (or checkpointing), with at least one checkpoint sent; the kill
# waits for this with --agent colo.
colo_pair_ready() {
	node_exec node1 "$COLO_COLOCTL" -c "$COLO_CONFIG_PATH" status 2>/dev/null | awk '
		$1 == "role" { role = $2 } $1 == "state" { state = $2 } $1 == "checkpoints" { n = $2 }
		END { exit !(role == "primary" && (state == "colo" || state == "checkpoint") && n > 0) }'
}

# True when the guest answers a PING from the client (ARP, lwIP, kvstore
# up, the reply matched by the secondary's guest).
guest_answers() {
	[ "$(ip netns exec "$NS_CLIENT" timeout 2 redis-cli -h "$GUEST_IP" PING 2>/dev/null)" = PONG ]
}

# The client: kv_verify in colocl-client, writing sequential keys over
# one connection (ip netns exec execs it, so $! is kv_verify's own pid,
# recorded for the signals below and for teardown).
kv_start() {
	ip netns exec "$NS_CLIENT" "$COLO_KV_VERIFY" --server "$GUEST_IP:6379" \
		--prefix cl --stall-timeout-ms 60000 --quiet \
		> "$ROOT/kv_verify.out" 2> "$ROOT/kv_verify.err" < /dev/null &
	KVV_PID=$!
	echo "$KVV_PID" > "$ROOT/kv_verify.pid"
}

# SIGTERM: it stops writing, reads every acknowledged key back on the same
# connection, prints its summary and exits; KVV_RC is its exit status.
kv_stop() {
	KVV_RC=1
	[ -n "${KVV_PID:-}" ] || return 0
	kill -TERM "$KVV_PID" 2>/dev/null
	wait "$KVV_PID"
	KVV_RC=$?
	KVV_PID=
}

# One figure of kv_verify's summary ("NAME  VALUE ...").
kv_get() {
	sed -n "s/^$1  \([^ ]*\).*/\1/p" "$ROOT/kv_verify.out" 2>/dev/null
}

# T1 or T2 of its "longest reply gap  N ms (from T1 to T2)" line.
kv_gap() {
	local re='^longest reply gap  [0-9]* ms (from \([0-9]*\) to \([0-9]*\)).*'
	sed -n "s/$re/\\$1/p" "$ROOT/kv_verify.out" 2>/dev/null
}

colo_configs() {
	local n
	rm -f "$ROOT/colo.psk"
	"$COLO_COLOCTL" genkey "$ROOT/colo.psk" >/dev/null ||
		die "cannot make the replication link's key $ROOT/colo.psk"
	for n in $NODES; do
		mkdir -p "$ROOT/$n/run/colo"
		colo_config "$n" > "$ROOT/$n/run/colo/colo.conf"
		install -m 600 "$ROOT/colo.psk" "$ROOT/$n/run/colo/psk"
	done
}
# ============================================================================

prepare_node() {
	local node=$1 d="$ROOT/$1"
	mkdir -p "$d"/{run,shm,lib-corosync,etc-corosync,log-corosync,ocf,sbin-upper,sbin-work} \
		"$d"/lib-pacemaker/{cib,pengine,blackbox,cores} "$d"/log-pacemaker/bundles || return 1
	chmod 755 "$d" "$d/run"
	chmod 1777 "$d/shm"
	mkdir -p "$d/run/lock" "$d/run/resource-agents" "$d/run/crm"
	chmod 1777 "$d/run/lock"
	chmod 1755 "$d/run/resource-agents"
	chown -R hacluster:haclient "$d/lib-pacemaker" "$d/log-pacemaker" "$d/run/crm"
	chmod 750 "$d"/lib-pacemaker/* "$d/run/crm"
	chmod 770 "$d/log-pacemaker"
	write_corosync_conf > "$d/etc-corosync/corosync.conf"
	write_initial_cib > "$d/lib-pacemaker/cib/cib.xml"
	chown hacluster:haclient "$d/lib-pacemaker/cib/cib.xml"
	chmod 600 "$d/lib-pacemaker/cib/cib.xml"
	# resource agents: the host's, plus colo/colo for --agent colo
	cp -a /usr/lib/ocf/resource.d/. "$d/ocf/" || return 1
	if [ "$AGENT" = colo ]; then
		mkdir -p "$d/ocf/colo"
		install -m 755 "$TREE/ha/colo" "$d/ocf/colo/colo" || return 1
	fi
	# the fence agent, added to /usr/sbin by the node's overlay
	write_fence_agent > "$d/sbin-upper/fence_colocl"
	chmod 755 "$d/sbin-upper/fence_colocl"
}

start_node() {
	local node=$1 d="$ROOT/$1" upid init=""
	setsid nsenter --net="/run/netns/$NS_PREFIX-$node" -- \
		unshare --mount --uts --pid --fork --mount-proc --propagation private -- \
		"$SELF" __node "$node" > "$d/init.out" 2>&1 < /dev/null &
	upid=$!
	echo "$upid" > "$d/unshare.pid"
	# the namespace init is the child of unshare
	for _ in $(seq 100); do
		init=$(awk '{print $1}' /proc/"$upid"/task/"$upid"/children 2>/dev/null)
		[ -n "$init" ] && [ "$(readlink /proc/"$init"/ns/pid)" != "$(readlink /proc/"$upid"/ns/pid)" ] && break
		init=""
		sleep 0.05
	done
	[ -n "$init" ] || { log "$node: no namespace init under unshare $upid"; return 1; }
	echo "$init" > "$d/init.pid"
	readlink /proc/"$init"/ns/pid > "$d/pidns"
	for _ in $(seq 100); do
		[ -e "$d/mounts.ok" ] && return 0
		kill -0 "$init" 2>/dev/null || break
		sleep 0.05
	done
	log "$node: its mounts failed: $(cat "$d/init.out")"
	return 1
}

teardown() {
	local rc=$? n
	trap - EXIT INT TERM
	# the client, by its recorded pid (ip netns exec execs it), if it
	# still runs (a failure or Ctrl-C mid-run)
	if [ -n "${KVV_PID:-}" ] && kill -0 "$KVV_PID" 2>/dev/null; then
		kill -KILL "$KVV_PID" 2>/dev/null
		wait "$KVV_PID" 2>/dev/null
	fi
	[ -n "${PSU_PID:-}" ] && kill "$PSU_PID" 2>/dev/null && wait "$PSU_PID" 2>/dev/null
	for n in $NODES; do
		[ -d "$ROOT/$n" ] || continue
		node_power_off "$n"
		[ -s "$ROOT/$n/unshare.pid" ] && wait "$(cat "$ROOT/$n/unshare.pid")" 2>/dev/null
	done
	for n in lan node1 node2 client; do
		[ -e "/run/netns/$NS_PREFIX-$n" ] && ip netns del "$NS_PREFIX-$n" 2>/dev/null
	done
	if [ -d "$ROOT" ] && [ "${OWN_ROOT:-0}" = 1 ]; then
		mkdir -p "$LOGDIR" 2>/dev/null && for n in $NODES; do
			mkdir -p "$LOGDIR/$n"
			cp -a "$ROOT/$n"/log-pacemaker/pacemaker.log "$ROOT/$n"/log-corosync/corosync.log \
				"$ROOT/$n"/corosync.out "$ROOT/$n"/init.out "$LOGDIR/$n/" 2>/dev/null
			[ -d "$ROOT/$n/log-pacemaker" ] && cp -a "$ROOT/$n"/log-pacemaker/*.out "$ROOT/$n"/log-pacemaker/colo*.log "$LOGDIR/$n/" 2>/dev/null
		done
		[ -e "$ROOT/psu/log" ] && cp "$ROOT/psu/log" "$LOGDIR/psu.log"
		[ -e "$ROOT/kv_verify.out" ] && cp "$ROOT"/kv_verify.* "$LOGDIR/" 2>/dev/null
		rm -rf "$ROOT"
	fi
	exit "$rc"
}

# Wait up to $1 s for the command "${@:2}" to succeed.
wait_for() {
	local t=$1 end
	shift
	end=$(( $(now_ms) + t * 1000 ))
	while [ "$(now_ms)" -lt "$end" ]; do
		"$@" && return 0
		sleep 0.1
	done
	return 1
}

corosync_both_members() {
	node_exec "$1" corosync-quorumtool -s 2>/dev/null | grep -q '^Quorate: *Yes' &&
		[ "$(node_exec "$1" corosync-cmapctl -b runtime.members 2>/dev/null | grep -c '\.status (str) = joined')" -eq 2 ]
}

both_online() {
	node_exec "$1" crm_mon -1 2>/dev/null | grep -q 'Online: \[ node1 node2 \]'
}

# Which node the clone's promoted instance runs on (empty: none): the
# instance's role is Promoted in crm_mon's XML and its promote is done
# (one still running shows as pending="Promoting"; a pending monitor of a
# promoted instance does not count against it).
promoted_on() {
	node_exec "$1" crm_mon -1 --output-as=xml 2>/dev/null | awk -v prim="$PRIM" '
		index($0, "<resource id=\"" prim "\"") && /role="Promoted"/ && !/pending="Promoting"/ { want = 1; next }
		want && /<node name="/ { sub(/.*<node name="/, ""); sub(/".*/, ""); print; exit }
		{ want = 0 }'
}

unpromoted_on_node2() {
	node_exec node2 crm_mon -1 --output-as=xml 2>/dev/null | awk -v prim="$PRIM" '
		index($0, "<resource id=\"" prim "\"") && /role="Unpromoted"/ && !/pending="Starting"/ { want = 1; next }
		want && /<node name="node2"/ { found = 1 }
		{ want = 0 } END { exit !found }'
}

is_promoted_on() {
	[ "$(promoted_on "$1")" = "$2" ]
}

configure_resources() {
	local node=$1 prim t
	NOTIFY=false
	if [ "$AGENT" = colo ]; then
		CLONE=colo-clone
		PRIM=colo
		NOTIFY=true
		prim='<primitive id="colo" class="ocf" provider="colo" type="colo">
      <instance_attributes id="colo-params">
        <nvpair id="colo-config" name="config" value="'"$COLO_CONFIG_PATH"'"/>
        <nvpair id="colo-coloctl" name="coloctl" value="'"$COLO_COLOCTL"'"/>
      </instance_attributes>
      <operations>
        <op id="colo-mon-p" name="monitor" interval="1s" role="Promoted" timeout="20s"/>
        <op id="colo-mon-u" name="monitor" interval="2s" role="Unpromoted" timeout="20s"/>
        <op id="colo-start" name="start" interval="0" timeout="60s"/>
        <op id="colo-promote" name="promote" interval="0" timeout="60s"/>
        <op id="colo-demote" name="demote" interval="0" timeout="60s"/>
        <op id="colo-stop" name="stop" interval="0" timeout="60s"/>
      </operations>
    </primitive>'
	else
		CLONE=st-clone
		PRIM=st
		prim='<primitive id="st" class="ocf" provider="pacemaker" type="Stateful">
      <operations>
        <op id="st-mon-p" name="monitor" interval="1s" role="Promoted" timeout="10s"/>
        <op id="st-mon-u" name="monitor" interval="2s" role="Unpromoted" timeout="10s"/>
      </operations>
    </primitive>'
	fi
	if [ "$FENCING" = 1 ]; then
		# one device per target, kept off its target (as on real
		# hardware, where a node never runs its own fence device): at
		# failover the survivor's device for the lost node is already
		# started, so fencing need not wait for a device start (~1 s)
		for t in node1 node2; do
			node_exec "$node" cibadmin --create -o resources --xml-text \
'<primitive id="psu-'"$t"'" class="stonith" type="fence_colocl">
  <instance_attributes id="psu-'"$t"'-params">
    <nvpair id="psu-'"$t"'-hostlist" name="pcmk_host_list" value="'"$t"'"/>
    <nvpair id="psu-'"$t"'-hostcheck" name="pcmk_host_check" value="static-list"/>
    <nvpair id="psu-'"$t"'-dir" name="psu_dir" value="'"$ROOT"'/psu"/>
  </instance_attributes>
  <operations>
    <op id="psu-'"$t"'-mon" name="monitor" interval="60s" timeout="20s"/>
  </operations>
</primitive>' || return 1
			node_exec "$node" cibadmin --create -o constraints --xml-text \
'<rsc_location id="psu-'"$t"'-not-on-target" rsc="psu-'"$t"'" node="'"$t"'" score="-INFINITY"/>' || return 1
		done
	fi
	node_exec "$node" cibadmin --create -o resources --xml-text \
'<clone id="'"$CLONE"'">
  <meta_attributes id="'"$CLONE"'-meta">
    <nvpair id="'"$CLONE"'-promotable" name="promotable" value="true"/>
    <nvpair id="'"$CLONE"'-promoted-max" name="promoted-max" value="1"/>
    <nvpair id="'"$CLONE"'-promoted-node-max" name="promoted-node-max" value="1"/>
    <nvpair id="'"$CLONE"'-clone-max" name="clone-max" value="2"/>
    <nvpair id="'"$CLONE"'-clone-node-max" name="clone-node-max" value="1"/>
    <nvpair id="'"$CLONE"'-notify" name="notify" value="'"$NOTIFY"'"/>
  </meta_attributes>
  '"$prim"'
</clone>' || return 1
	# node1 is where it is promoted first
	node_exec "$node" cibadmin --create -o constraints --xml-text \
'<rsc_location id="'"$CLONE"'-prefer-node1" rsc="'"$CLONE"'" role="Promoted" node="node1" score="100"/>'
}

# --cleanup: what a run killed by SIGKILL left behind (its trap could not
# run): the nodes by their recorded init pids (checked against the
# recorded PID namespaces), the namespaces, the directory.
cleanup_leftovers() {
	local n
	[ "$(id -u)" -eq 0 ] || { echo "cluster-test: needs root" >&2; return 1; }
	for n in $NODES; do
		[ -d "$ROOT/$n" ] && { node_power_off "$n" && echo "cluster-test: $n: no process left" >&2; }
	done
	for n in lan node1 node2 client; do
		[ -e "/run/netns/$NS_PREFIX-$n" ] && ip netns del "$NS_PREFIX-$n" &&
			echo "cluster-test: namespace $NS_PREFIX-$n removed" >&2
	done
	rm -rf "$ROOT"
	return 0
}

host_main() {
	local n f t0 t1 t_kill pids dc fenced="" before after ms formed=no kv_t2="" kv_fo x
	while [ $# -gt 0 ]; do
		case $1 in
		--agent) AGENT=${2:-}; shift 2 ;;
		--agent=*) AGENT=${1#--agent=}; shift ;;
		--no-fencing) FENCING=0; shift ;;
		--keep) KEEP=1; shift ;;
		--cleanup) cleanup_leftovers; exit $? ;;
		-h|--help) sed -n '2,24p' "$SELF" | sed 's/^# \{0,1\}//'; exit 0 ;;
		*) echo "cluster-test: unknown argument $1" >&2; exit 2 ;;
		esac
	done
	case $AGENT in
	stateful|colo) ;;
	*) echo "cluster-test: --agent stateful or colo, not \"$AGENT\"" >&2; exit 2 ;;
	esac
	[ "$(id -u)" -eq 0 ] || { echo "cluster-test: needs root (namespaces, mounts)" >&2; exit 1; }
	if [ "$AGENT" = colo ]; then
		for f in "$TREE/ha/colo" "$COLO_COLOCTL" "$COLO_GUEST" "$COLO_KV_VERIFY"; do
			[ -f "$f" ] || { echo "cluster-test: --agent colo: no $f (make; or set COLO_COLOCTL, COLO_GUEST_DIR, COLO_KV_VERIFY)" >&2; exit 1; }
		done
	fi
	for n in lan node1 node2 client; do
		[ -e "/run/netns/$NS_PREFIX-$n" ] &&
			{ echo "cluster-test: namespace $NS_PREFIX-$n exists: another run is on, or one was killed (then: $0 --cleanup)" >&2; exit 1; }
	done
	[ -e "$ROOT" ] && { echo "cluster-test: $ROOT exists: another run is on, or one was killed (then: $0 --cleanup)" >&2; exit 1; }

	trap teardown EXIT
	trap 'exit 130' INT TERM
	mkdir -p "$ROOT/psu/req" "$ROOT/psu/done" || die "cannot create $ROOT"
	OWN_ROOT=1
	chmod 755 "$ROOT"
	need_packages
	log "corosync $(corosync -v | sed -n "s/.*version '\(.*\)'.*/\1/p"), $(pacemakerd --version | head -1), agent $AGENT, fencing $([ $FENCING = 1 ] && echo 'stonith:fence_colocl' || echo off)"

	make_net || die "building the namespaces"
	for n in $NODES; do
		prepare_node "$n" || die "preparing $n's files"
	done
	[ "$AGENT" = colo ] && colo_configs
	if [ "$FENCING" = 1 ]; then
		psu_loop $$ &
		PSU_PID=$!
		echo "$PSU_PID" > "$ROOT/psu.pid"
	fi
	for n in $NODES; do
		start_node "$n" || die "starting $n"
	done
	if ! { wait_for 20 corosync_both_members node1 && wait_for 20 corosync_both_members node2; }; then
		die "corosync: the two nodes did not join (see $LOGDIR/NODE/corosync.log)"
	fi
	log "corosync: 2 members, quorate, on both nodes"
	for n in $NODES; do
		node_exec "$n" env COLOCL_PCMK_DEBUG="${COLOCL_PCMK_DEBUG:-}" "$SELF" __start-pcmk "$n" ||
			die "starting pacemakerd on $n"
	done
	t0=$(now_ms)
	if wait_for "$FORM_TIMEOUT" both_online node1 && wait_for 10 both_online node2; then
		formed=yes
	else
		node_exec node1 crm_mon -1 >&2
		die "pacemaker: the two nodes are not both online after ${FORM_TIMEOUT}s"
	fi
	log "pacemaker: both nodes online after $(( $(now_ms) - t0 )) ms"
	node_exec node1 crm_mon -1 | sed 's/^/  node1> /' >&2
	check_isolation

	configure_resources node1 || die "creating the resources"
	wait_for "$PROMOTE_TIMEOUT" is_promoted_on node1 node1 ||
		{ node_exec node1 crm_mon -1 >&2; die "no promoted instance on node1 after ${PROMOTE_TIMEOUT}s"; }
	# and the other instance running (unpromoted) on node2
	wait_for 20 unpromoted_on_node2 || log "warning: no unpromoted instance seen on node2"
	before=$(promoted_on node2)
	log "promoted: $before (seen by node2 too)"
	node_exec node2 crm_mon -1 | sed 's/^/  node2> /' >&2

	if [ "$AGENT" = colo ]; then
		wait_for 60 colo_pair_ready ||
			{ node_exec node1 "$COLO_COLOCTL" -c "$COLO_CONFIG_PATH" status >&2; die "colo: node1's primary is not protected after 60 s"; }
		log "colo: node1's primary protected: $(node_exec node1 "$COLO_COLOCTL" -c "$COLO_CONFIG_PATH" status | awk '$1=="state"||$1=="checkpoints"{printf "%s %s  ", $1, $2}')"
		wait_for 20 guest_answers ||
			die "colo: the guest does not answer redis-cli -h $GUEST_IP PING from $NS_CLIENT (see $LOGDIR/node1/colo.log)"
		log "colo: the guest answers PING at $GUEST_IP from $NS_CLIENT ($CLIENT_IP)"
		kv_start
		sleep "$KV_BEFORE_S"
		kill -0 "$KVV_PID" 2>/dev/null ||
			{ wait "$KVV_PID"; KVV_PID=; die "kv_verify ended before the kill: $(cat "$ROOT/kv_verify.err" "$ROOT/kv_verify.out")"; }
		log "colo: kv_verify (pid $KVV_PID) has written for ${KV_BEFORE_S} s"
	fi
	dc=$(node_exec node2 crm_mon -1 2>/dev/null | sed -n 's/.*Current DC: \([^ ]*\) .*/\1/p')
	pids="corosync $(node_pid_of node1 corosync) pacemakerd $(node_pid_of node1 pacemakerd)"
	log "killing node1: SIGKILL to its PID namespace's init $(cat "$ROOT/node1/init.pid") (with it $pids and every pacemaker daemon)"
	t_kill=$(now_ms)
	node_power_off node1
	t1=""
	while [ $(( $(now_ms) - t_kill )) -lt $(( FAILOVER_TIMEOUT * 1000 )) ]; do
		if is_promoted_on node2 node2; then
			t1=$(now_ms)
			break
		fi
		sleep 0.05
	done
	KVV_RC=1
	if [ "$AGENT" = colo ] && [ -n "$t1" ]; then
		sleep "$KV_AFTER_S"
		log "colo: SIGTERM to kv_verify: it reads every acknowledged key back"
		kv_stop
	fi
	# (no promotion: kv_verify would wait out its stall timeout for the
	# write in flight; teardown kills it by its pid instead)
	[ "$FENCING" = 1 ] && [ -s "$ROOT/psu/log" ] && fenced=$(awk '{print $2" at +"($1-'"$t_kill"')" ms"}' "$ROOT/psu/log" | tr '\n' ' ')
	node_exec node2 crm_mon -1 | sed 's/^/  node2> /' >&2

	after=no
	[ -n "$t1" ] && after=node2
	echo
	printf '%-27s %s\n' "cluster formed" "$formed"
	printf '%-27s %s\n' "agent" "$AGENT"
	printf '%-27s %s\n' "promoted before" "$before"
	printf '%-27s %s\n' "DC before" "${dc:-?}"
	printf '%-27s %s\n' "killed" "node1 at $(date -d @$((t_kill / 1000)) +%T).$(printf %03d $((t_kill % 1000)))"
	if [ "$FENCING" = 1 ]; then
		printf '%-27s %s\n' "fenced" "${fenced:-none}"
	fi
	printf '%-27s %s\n' "promoted after" "$after"
	if [ -n "$t1" ]; then
		ms=$((t1 - t_kill))
		printf '%-27s %s\n' "promotion time" "$ms ms"
	else
		printf '%-27s %s\n' "promotion time" "none within ${FAILOVER_TIMEOUT} s"
	fi
	if [ "$AGENT" = colo ]; then
		kv_t2=$(kv_gap 2)
		if [ -n "$kv_t2" ] && [ "$kv_t2" -ge "$t_kill" ]; then
			kv_fo="$((kv_t2 - t_kill)) ms"
		else
			kv_fo="unknown (no reply gap that ends after the kill)"
		fi
		printf '%-27s %s\n' "client connection survived" "$(kv_get "connection survived" | grep . || echo no)"
		printf '%-27s %s\n' "acknowledged writes lost" "$(kv_get "acknowledged writes lost" | grep . || echo unknown)"
		printf '%-27s %s\n' "acknowledged writes wrong" "$(kv_get "acknowledged writes wrong" | grep . || echo unknown)"
		printf '%-27s %s\n' "writes acknowledged" "$(kv_get "writes acknowledged" | grep . || echo unknown)"
		printf '%-27s %s\n' "client failover time" "$kv_fo"
		printf '%-27s %s\n' "kv_verify exit" "$KVV_RC"
	fi
	timeline "$t_kill"
	if [ "$AGENT" = colo ]; then
		echo "  the client (kv_verify, $CLIENT_IP to $GUEST_IP:6379):"
		x=$(kv_gap 1)
		[ -n "$x" ] && printf '    %-34s %+d ms\n' "last reply from node1's guest" $((x - t_kill))
		[ -n "$kv_t2" ] && printf '    %-34s %+d ms\n' "first reply from node2's guest" $((kv_t2 - t_kill))
		grep -E '^(writes sent|unacknowledged writes present|error replies|longest reply gap|replies per second)' \
			"$ROOT/kv_verify.out" 2>/dev/null | sed 's/^/    /'
		[ -s "$ROOT/kv_verify.err" ] && sed 's/^/    stderr: /' "$ROOT/kv_verify.err"
	fi
	if [ "$AGENT" = colo ] && [ -n "$t1" ]; then
		echo "  node2's daemon (coloctl status):"
		node_exec node2 "$COLO_COLOCTL" -c "$COLO_CONFIG_PATH" status 2>/dev/null |
			grep -E '^(role|state|took_over_|takeover_)' | sed 's/^/    /'
	fi
	[ -n "$t1" ] || exit 1
	[ "$AGENT" = colo ] && [ "$KVV_RC" != 0 ] && exit 1
	if [ "$KEEP" = 1 ]; then
		log "--keep: node2 is still running; Ctrl-C tears down"
		while :; do sleep 1; done
	fi
	exit 0
}

# Milliseconds since the epoch of the first line of FILE (a corosync or
# pacemaker log of node2) at or after T_MS that matches the extended
# regex RE; empty if none.
log_time() {
	local file=$1 t_ms=$2 re=$3 line ts ms
	[ -r "$file" ] || return 0
	grep -E "$re" "$file" | while IFS= read -r line; do
		ts=$(printf '%s' "$line" | awk '{print $1" "$2" "$3}')
		ms=$(date -d "$ts" +%s%3N 2>/dev/null) || continue
		if [ "$ms" -ge "$t_ms" ]; then echo "$ms"; break; fi
	done
}

# Where the failover's time went, from node2's own logs.
timeline() {
	local t=$1 d="$ROOT/node2" x
	echo "  after the kill, on node2 (its logs):"
	x=$(log_time "$d/log-corosync/corosync.log" "$t" 'A processor failed')
	[ -n "$x" ] && printf '    %-34s +%s ms\n' "corosync: token lost" $((x - t))
	x=$(log_time "$d/log-corosync/corosync.log" "$t" 'A new membership .* was formed')
	[ -n "$x" ] && printf '    %-34s +%s ms\n' "corosync: new membership" $((x - t))
	x=$(log_time "$d/log-pacemaker/pacemaker.log" "$t" 'pacemaker-controld.*Node node1 state is now lost')
	[ -n "$x" ] && printf '    %-34s +%s ms\n' "controld: node1 lost" $((x - t))
	x=$(log_time "$d/log-pacemaker/pacemaker.log" "$t" 'Requesting fencing .* of node node1')
	[ -n "$x" ] && printf '    %-34s +%s ms\n' "controld: fencing requested" $((x - t))
	x=$(log_time "$d/log-pacemaker/pacemaker.log" "$t" "Operation '(reboot|off)' .*targeting node1 .*returned 0")
	[ -n "$x" ] && printf '    %-34s +%s ms\n' "fenced: node1 fenced" $((x - t))
	x=$(log_time "$d/log-pacemaker/pacemaker.log" "$t" "Initiating promote operation .* locally on node2")
	[ -n "$x" ] && printf '    %-34s +%s ms\n' "controld: promote started" $((x - t))
	x=$(log_time "$d/log-pacemaker/pacemaker.log" "$t" "Result of promote operation for .* on node2: ok")
	[ -n "$x" ] && printf '    %-34s +%s ms\n' "agent: promote done" $((x - t))
	return 0
}

# Both nodes' daemons are separate processes that share nothing but
# corosync: each PID namespace has its own pacemaker-based, each /dev/shm
# its own libqb rings, and node1's CIB socket is not reachable from node2.
check_isolation() {
	local n b
	for n in $NODES; do
		b=$(node_pid_of "$n" pacemaker-based) || die "no pacemaker-based in $n"
		log "isolation: $n: pid namespace $(cut -d'[' -f2 "$ROOT/$n/pidns" | tr -d ']'), pacemaker-based host pid $b; its /dev/shm ($ROOT/$n/shm) holds $(find "$ROOT/$n/shm" -mindepth 1 -maxdepth 1 | wc -l) libqb entries; its network namespace's abstract sockets: $(ip netns exec "$NS_PREFIX-$n" ss -xlH 2>/dev/null | awk '{sub(/@+$/, "", $5); print $5}' | grep -E '^@(cib_rw|crmd|attrd|stonith-ng|lrmd|pacemakerd|cpg|cmap|quorum)$' | sort | tr '\n' ' ')"
	done
	[ -n "$(find /dev/shm -maxdepth 1 -name 'qb-*' -newer "$ROOT/psu" 2>/dev/null)" ] &&
		die "isolation: libqb files appeared in the host's /dev/shm"
	ss -xlH 2>/dev/null | awk '{sub(/@+$/, "", $5); print $5}' | grep -qE '^@(cib_rw|crmd|cpg)$' &&
		die "isolation: the host's network namespace has cluster sockets"
	# the host itself sees neither cluster's IPC
	if crm_mon -1 >/dev/null 2>&1; then
		die "isolation: crm_mon in the host's namespaces reached a cluster"
	fi
	log "isolation: crm_mon from the host's own namespaces reaches no cluster (as expected)"
}

case ${1:-} in
__node) shift; node_main "$@" ;;
__start-pcmk) shift; node_start_pcmk "$@" ;;
*) host_main "$@" ;;
esac

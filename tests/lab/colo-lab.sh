#!/bin/bash
# colo-lab.sh - a client, a LAN and a primary/secondary pair of hosts in
# network namespaces on this machine, for tests and `make demo`.
#
#   colo-lab.sh up PREFIX           build the lab and print its layout
#   colo-lab.sh down PREFIX         remove it (idempotent: what is gone
#                                   already is skipped, never an error)
#   colo-lab.sh exec PREFIX ROLE CMD...   run CMD in ROLE's namespace
#   colo-lab.sh spawn PREFIX ROLE CMD...  run CMD there in the background;
#                                   print its pid, record it for `down`,
#                                   its output in STATE/ROLE.PID.log
#   colo-lab.sh show PREFIX         print the layout again
#
# ROLE is client, lan, pri or sec; the namespaces are PREFIX-client,
# PREFIX-lan, PREFIX-pri and PREFIX-sec. PREFIX is 1 to 32 letters,
# digits, '.', '_' or '-', starting with a letter or digit.
#
# Layout and every address (all inside the lab's namespaces; nothing is
# created or changed in the namespace this script is run from):
#
#   PREFIX-client        PREFIX-lan              PREFIX-pri / PREFIX-sec
#   eth0 10.77.1.10 ---- to-client               br0 10.77.1.1 / 10.77.1.2
#                        [lan0: the LAN switch,     eth0 (port of br0)
#                         a bridge]                 the guest's TAP (port of
#                        to-pri ----------------    br0, made by the daemon)
#                        to-sec ----------------
#                                                repl0 10.77.2.1 / 10.77.2.2
#                                                (a veth pair straight from
#                                                 pri to sec: replication)
#
#   LAN          10.77.1.0/24: client .10, primary host .1 (on its br0),
#                secondary host .2 (on its br0), the protected guest .100
#                (behind the TAP of whichever host runs it; MAC
#                52:54:00:c0:10:01, the guest runtime's default)
#   replication  10.77.2.0/24: primary host .1, secondary host .2 on repl0,
#                a link of its own: the LAN cannot reach it
#   MACs         client eth0 02:77:01:00:00:0a, pri br0 02:77:01:00:00:01,
#                sec br0 02:77:01:00:00:02 (fixed, so that no bridge ever
#                changes its address when ports come and go)
#
# Loopback is up in every namespace; IPv6 is off in all of them (no
# router solicitations or MLD reports among the guests' input).
#
# `down` stops only processes it was told about: the pids in
# STATE/pids (STATE is $COLO_LAB_RUN/PREFIX, COLO_LAB_RUN default
# /run/colo-lab), written by `spawn` or appended by anyone, and only
# while they still run in one of the lab's namespaces (a reused pid is
# never hit). Other processes still in a namespace are named, not
# killed: the namespace lives on until they exit.
set -u

RUN_DIR=${COLO_LAB_RUN:-/run/colo-lab}
ROLES="client lan pri sec"

die() {
	echo "colo-lab: $*" >&2
	exit 1
}

usage() {
	sed -n '5,12p' "$0" | sed 's/^# \{0,1\}//' >&2
	exit 2
}

check_prefix() {
	[[ ${1:-} =~ ^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$ ]] ||
		die "prefix \"${1:-}\": give 1 to 32 letters, digits, '.', '_' or '-', starting with a letter or digit"
}

check_role() {
	case " $ROLES " in
	*" ${1:-} "*) ;;
	*) die "role \"${1:-}\": give one of: $ROLES" ;;
	esac
}

ns_exists() {
	[ -e "/run/netns/$1" ]
}

# The inode of a namespace: what /proc/PID/ns/net points at.
ns_inode() {
	stat -L -c %i "/run/netns/$1" 2>/dev/null
}

show() {
	local p=$1 w=$((${#1} + 9))
	echo "colo lab $p:"
	printf '  %-*s %-42s %s\n' "$w" "namespace" "links" "addresses"
	printf '  %-*s %-42s %s\n' "$w" "$p-client" "eth0 (to the LAN)" "10.77.1.10/24"
	printf '  %-*s %-42s %s\n' "$w" "$p-lan" "lan0 (bridge: to-client to-pri to-sec)" "-"
	printf '  %-*s %-42s %s\n' "$w" "$p-pri" "br0 (bridge: eth0, the guest's TAP)" "10.77.1.1/24"
	printf '  %-*s %-42s %s\n' "$w" "" "repl0 (to $p-sec)" "10.77.2.1/24"
	printf '  %-*s %-42s %s\n' "$w" "$p-sec" "br0 (bridge: eth0, the guest's TAP)" "10.77.1.2/24"
	printf '  %-*s %-42s %s\n' "$w" "" "repl0 (to $p-pri)" "10.77.2.2/24"
	cat <<EOF
  the guest: 10.77.1.100/24, MAC 52:54:00:c0:10:01, on the br0 of the host running it
  run in a namespace: $0 exec $p ROLE CMD...  (ROLE: $ROLES)
  pids stopped by 'down': $RUN_DIR/$p/pids
EOF
}

# --- up ----------------------------------------------------------------------

# Run ip, saying which step failed.
step() {
	local out
	out=$("$@" 2>&1) || {
		echo "colo-lab: $* failed: $out" >&2
		return 1
	}
}

# An empty namespace: lo up, IPv6 off.
make_ns() {
	step ip netns add "$1" || return 1
	# shellcheck disable=SC2016 # expanded by that shell
	ip netns exec "$1" sh -c '
		for f in /proc/sys/net/ipv6/conf/all/disable_ipv6 \
			 /proc/sys/net/ipv6/conf/default/disable_ipv6; do
			[ -e "$f" ] && echo 1 > "$f"
		done; exit 0'
	step ip -n "$1" link set lo up
}

# A host of the pair: its br0 with address $2 and MAC $3, its eth0 on
# br0 and on the LAN as to-$4, its end of the replication link.
make_host() {
	local p=$1 addr=$2 mac=$3 role=$4 ns="$1-$4"
	step ip -n "$ns" link add br0 type bridge &&
	step ip -n "$ns" link set br0 address "$mac" &&
	step ip -n "$p-lan" link add "to-$role" type veth peer name eth0 netns "$ns" &&
	step ip -n "$p-lan" link set "to-$role" master lan0 &&
	step ip -n "$p-lan" link set "to-$role" up &&
	step ip -n "$ns" link set eth0 master br0 &&
	step ip -n "$ns" link set eth0 up &&
	step ip -n "$ns" addr add "$addr/24" dev br0 &&
	step ip -n "$ns" link set br0 up
}

# Everything of the lab but its namespaces' creation; 1 at the first
# step that fails (which step() has named).
build() {
	local p=$1
	# the LAN switch and the client
	step ip -n "$p-lan" link add lan0 type bridge &&
	step ip -n "$p-lan" link set lan0 up &&
	step ip -n "$p-lan" link add to-client type veth peer name eth0 netns "$p-client" &&
	step ip -n "$p-lan" link set to-client master lan0 &&
	step ip -n "$p-lan" link set to-client up &&
	step ip -n "$p-client" link set eth0 address 02:77:01:00:00:0a &&
	step ip -n "$p-client" addr add 10.77.1.10/24 dev eth0 &&
	step ip -n "$p-client" link set eth0 up &&
	# the two hosts
	make_host "$p" 10.77.1.1 02:77:01:00:00:01 pri &&
	make_host "$p" 10.77.1.2 02:77:01:00:00:02 sec &&
	# the replication link
	step ip -n "$p-pri" link add repl0 type veth peer name repl0 netns "$p-sec" &&
	step ip -n "$p-pri" addr add 10.77.2.1/24 dev repl0 &&
	step ip -n "$p-sec" addr add 10.77.2.2/24 dev repl0 &&
	step ip -n "$p-pri" link set repl0 up &&
	step ip -n "$p-sec" link set repl0 up
}

# The kernel reports a link's state a moment after it changed (link
# watch batches events up to a second): wait until no link of the lab
# says it is down, so that the lab is whole when up returns.
wait_running() {
	local p=$1 r down
	for _ in $(seq 50); do
		down=""
		for r in $ROLES; do
			ip -n "$p-$r" -o link show | grep -q 'state \(DOWN\|LOWERLAYERDOWN\)' &&
				down="$down $p-$r"
		done
		[ -z "$down" ] && return 0
		sleep 0.1
	done
	echo "colo-lab: links still down after 5 s in:$down (ip -n NAMESPACE link)" >&2
}

up() {
	local p=$1 r ok=1
	[ "$(id -u)" -eq 0 ] || die "up needs root (it makes network namespaces): run it as root"
	command -v ip >/dev/null || die "no ip command: install iproute2"
	for r in $ROLES; do
		ns_exists "$p-$r" &&
			die "lab $p is up already ($p-$r exists): run '$0 down $p' first"
	done
	mkdir -p "$RUN_DIR/$p" || die "cannot create $RUN_DIR/$p"
	: > "$RUN_DIR/$p/pids"

	for r in $ROLES; do
		make_ns "$p-$r" || { ok=0; break; }
	done
	[ $ok -eq 1 ] && { build "$p" || ok=0; }
	if [ $ok -eq 0 ]; then
		echo "colo-lab: building lab $p failed; removing what was made" >&2
		down "$p" >/dev/null
		exit 1
	fi
	wait_running "$p"
	show "$p"
}

# --- down --------------------------------------------------------------------

# Is pid running in one of the inodes given (the lab's namespaces)?
in_lab() {
	local pid=$1 ino
	shift
	ino=$(stat -L -c %i "/proc/$pid/ns/net" 2>/dev/null) || return 1
	for i in "$@"; do
		[ "$ino" = "$i" ] && return 0
	done
	return 1
}

down() {
	local p=$1 r pid inodes=() ours=() left=() others removed=0
	for r in $ROLES; do
		ns_exists "$p-$r" && inodes+=("$(ns_inode "$p-$r")")
	done

	# Step 1 -- the processes we were told about, if still in the lab
	if [ -f "$RUN_DIR/$p/pids" ] && [ ${#inodes[@]} -gt 0 ]; then
		while read -r pid; do
			[[ $pid =~ ^[0-9]+$ ]] || continue
			in_lab "$pid" "${inodes[@]}" && ours+=("$pid")
		done < "$RUN_DIR/$p/pids"
	fi
	if [ ${#ours[@]} -gt 0 ]; then
		echo "colo-lab: stopping ${ours[*]}"
		kill -TERM "${ours[@]}" 2>/dev/null
		for _ in $(seq 20); do
			left=()
			for pid in "${ours[@]}"; do
				in_lab "$pid" "${inodes[@]}" && left+=("$pid")
			done
			[ ${#left[@]} -eq 0 ] && break
			sleep 0.1
		done
		[ ${#left[@]} -gt 0 ] && kill -KILL "${left[@]}" 2>/dev/null
	fi

	# Step 2 -- the namespaces, and with them every link of the lab
	for r in $ROLES; do
		ns_exists "$p-$r" || continue
		others=$(ip netns pids "$p-$r" 2>/dev/null | tr '\n' ' ')
		if [ -n "$others" ]; then
			# give a stopped process a moment to leave
			sleep 0.2
			others=$(ip netns pids "$p-$r" 2>/dev/null | tr '\n' ' ')
		fi
		[ -n "$others" ] &&
			echo "colo-lab: $p-$r still has processes not started by 'spawn': ${others% }; it lives on until they exit" >&2
		ip netns del "$p-$r" 2>/dev/null ||
			echo "colo-lab: cannot delete namespace $p-$r" >&2
		removed=$((removed + 1))
	done
	rm -rf "${RUN_DIR:?}/$p"
	if [ $removed -eq 0 ]; then
		echo "colo-lab: no lab $p here: nothing to remove"
	else
		echo "colo-lab: lab $p removed"
	fi
	return 0
}

# --- exec, spawn ------------------------------------------------------------

need_ns() {
	ns_exists "$1" || die "no namespace $1: run '$0 up ${1%-*}' first"
}

spawn() {
	local p=$1 r=$2 log pid
	shift 2
	need_ns "$p-$r"
	mkdir -p "$RUN_DIR/$p" || die "cannot create $RUN_DIR/$p"
	log=$(mktemp "$RUN_DIR/$p/$r.XXXXXX") || die "cannot create a log in $RUN_DIR/$p"
	ip netns exec "$p-$r" "$@" < /dev/null > "$log" 2>&1 &
	pid=$!
	echo "$pid" >> "$RUN_DIR/$p/pids"
	mv "$log" "$RUN_DIR/$p/$r.$pid.log" 2>/dev/null && log="$RUN_DIR/$p/$r.$pid.log"
	echo "$pid $log"
}

cmd=${1:-}
[ $# -ge 2 ] || usage
p=$2
check_prefix "$p"
case $cmd in
up)	[ $# -eq 2 ] || usage; up "$p" ;;
down)	[ $# -eq 2 ] || usage; down "$p" ;;
show)	[ $# -eq 2 ] || usage; show "$p" ;;
exec)
	[ $# -ge 4 ] || usage
	check_role "$3"
	need_ns "$p-$3"
	ns="$p-$3"
	shift 3
	exec ip netns exec "$ns" "$@"
	;;
spawn)
	[ $# -ge 4 ] || usage
	check_role "$3"
	r=$3
	shift 3
	spawn "$p" "$r" "$@"
	;;
*)	usage ;;
esac

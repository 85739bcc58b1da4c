#!/bin/bash
# check-includes.sh [ROOT] - the folders' dependency rule, checked.
#
# Each folder is one stage of the data flow and may include only its own
# headers and those of the folders below it:
#   checkpoint <- vmm <- daemon <- netcompare <- primary, secondary <- ctl
# guest/ (the runtime) sees only vmm's guest_abi.h, its contract with the
# daemons (its programs also guest/net's colo_net.h); guest/net (lwIP's
# glue) sees the runtime, guest/kvstore the runtime and guest/net.
# tests/ and bench/ may include anything. Exits 1, naming every file and
# include that breaks the rule, and the rule.
set -u
ROOT=${1:-.}
declare -A allowed=(
	[checkpoint]=""
	[vmm]="checkpoint"
	[daemon]="checkpoint vmm"
	[netcompare]="checkpoint vmm daemon"
	[primary]="checkpoint vmm daemon netcompare"
	[secondary]="checkpoint vmm daemon netcompare"
	[ctl]="checkpoint vmm daemon netcompare primary secondary"
	[guest]="vmm:guest_abi.h guest/net:colo_net.h"
	[guest/net]="guest vmm:guest_abi.h"
	[guest/kvstore]="guest guest/net vmm:guest_abi.h"
)
folders="checkpoint vmm daemon netcompare primary secondary ctl guest guest/net guest/kvstore"
bad=0

# The folder that holds header h (headers have one name in the tree).
home_of() {
	local d
	for d in $folders; do
		if [ -e "$ROOT/$d/$1" ]; then
			echo "$d"
			return
		fi
	done
}

for f in $folders; do
	[ -d "$ROOT/$f" ] || continue
	for src in "$ROOT/$f"/*.[chS]; do
		[ -e "$src" ] || continue
		while IFS= read -r h; do
			[ -e "$ROOT/$f/$h" ] && continue	# its own
			home=$(home_of "$h")
			[ -z "$home" ] && continue	# a system or library header
			ok=0
			for a in ${allowed[$f]}; do
				if [ "$a" = "$home" ] || [ "$a" = "$home:$h" ]; then
					ok=1
				fi
			done
			if [ $ok -eq 0 ]; then
				echo "check-includes: ${src#$ROOT/} includes $home/$h;" \
				     "$f/ may include only: ${allowed[$f]:-nothing of ours}"
				bad=1
			fi
		done < <(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$src")
	done
done
if [ $bad -ne 0 ]; then
	echo "check-includes: the rule is checkpoint <- vmm <- daemon <- netcompare <- primary, secondary <- ctl (docs/design.md, section 2)"
	exit 1
fi
exit 0

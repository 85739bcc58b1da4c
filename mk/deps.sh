#!/bin/sh
# Install the Debian packages colo needs, or say exactly what to install.
# Run by every entry target of the Makefile; quick when nothing is missing.
# Extra package names may be given as arguments (e.g. clang for CC=clang).
set -u

PKGS="make gcc pkg-config libc6-dev libevent-dev libnl-3-dev libnl-route-3-dev
zlib1g-dev libssl-dev libcmocka-dev libinih-dev gnuplot-nox liblwip-dev iproute2
iputils-ping redis-server redis-tools resource-agents libxml2-utils shellcheck $*"

if ! command -v dpkg-query >/dev/null 2>&1; then
	echo "deps: dpkg-query not found; colo is built on Debian 12." >&2
	echo "deps: install the equivalents of: $PKGS" | tr '\n' ' ' >&2
	echo >&2
	exit 1
fi

missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "deps: missing Debian packages:$missing" >&2
	echo "deps: install them as root:  apt-get install$missing" >&2
	exit 1
fi

echo "deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
# redis-server is the tests' reference for replies, never a service of this
# host: keep apt from starting it (and any other daemon) while installing.
if [ ! -e /usr/sbin/policy-rc.d ]; then
	printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
	chmod 755 /usr/sbin/policy-rc.d
	trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
if ! apt-get install -y -q --no-install-recommends $missing; then
	echo "deps: install failed; refreshing the package lists and retrying"
	apt-get update -q && apt-get install -y -q --no-install-recommends $missing || {
		echo "deps: could not install:$missing; check the apt sources" >&2
		exit 1
	}
fi

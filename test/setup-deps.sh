#!/bin/sh
# Installs the Debian packages the tests need, when they are missing, then
# builds the test peers (test/peers/build.sh -> build/peers/).
#
# Idempotent: with everything installed it only (re)builds what changed, and
# never touches apt. Installing needs root; when not root and something is
# missing it says what and exits 1.
#
#   libsystemd-dev   sd-daemon.h and libsystemd.so for the C peers
#   pkg-config, gcc  to build them (libc6-dev comes with gcc)
#   libxml2-utils    xmllint, to check that `hearth ctl analyze plot` is valid SVG
#   python3-systemd  systemd.daemon for the python peers (notify, listen_fds,
#                    the fd store); it is installed for Debian's /usr/bin/python3
#                    (a pyenv python first in PATH does not see it: the peers
#                    name /usr/bin/python3)
#   dbus-daemon      dbus-daemon --address=systemd: behind a hearth socket
#   dbus-bin         dbus-send, its client
#   dropbear-bin     dropbear -i, an SSH server in inetd style (accept = true,
#                    standard_input = "socket"); dropbearkey for its host key
#   systemd          systemd-socket-activate, the reference of the socket
#                    activation benchmark (bench/socket-activation.ts)
set -eu

packages="libsystemd-dev pkg-config gcc libc6-dev python3-systemd libxml2-utils dbus-daemon dbus-bin dropbear-bin systemd"

missing=""
for pkg in $packages; do
    status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
    if [ "$status" != "install ok installed" ]; then
        missing="$missing $pkg"
    fi
done
missing=${missing# }

if [ -n "$missing" ]; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "setup-deps: missing Debian packages: $missing" >&2
        echo "setup-deps: as root: apt-get install --no-install-recommends $missing" >&2
        exit 1
    fi
    echo "setup-deps: installing: $missing"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # shellcheck disable=SC2086  # one word per package
    apt-get install -y -qq --no-install-recommends $missing
fi

if ! /usr/bin/python3 -c 'from systemd import daemon' 2>/dev/null; then
    echo "setup-deps: /usr/bin/python3 cannot import systemd.daemon (python3-systemd)" >&2
    exit 1
fi
for program in /usr/bin/dbus-daemon /usr/bin/dbus-send /usr/sbin/dropbear /usr/bin/dropbearkey /usr/bin/systemd-socket-activate; do
    if [ ! -x "$program" ]; then
        echo "setup-deps: $program is missing although its package is installed" >&2
        exit 1
    fi
done

exec "$(dirname "$0")/peers/build.sh"

#!/bin/sh
# Installs the Debian packages the tests and the boards need, when they are missing,
# then builds the test peers (test/peers/build.sh -> build/peers/).
#
#   setup-deps.sh [all|test|board|native]      (default: all)
#
# Idempotent: with everything installed it only (re)builds what changed, and never
# touches apt. apt-get update runs once, and only when something is missing. Installing
# needs root; when not root and something is missing it says what and exits 1.
#
# test:
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
#   openssh-server   sshd -i as an accept = true unit, logged into for real
#                    (test/integration/peers.test.ts); installed without starting
#                    its daemon (a policy-rc.d denies it while apt runs)
#   openssh-client   ssh, ssh-keygen and ssh-keyscan, its clients
#   cron             /usr/sbin/cron -f as a unit, logging through syslog(3) to hearth
#                    (test/integration/syslog.test.ts); its daemon is not started by apt
#   avahi-daemon     a Type=dbus daemon (BusName=org.freedesktop.Avahi) on a bus of
#                    the test's own (test/integration/dbus-type.test.ts); installed
#                    without starting it, as openssh-server
#   dropbear, chrony, dnsmasq
#                    Debian's daemons run from their own unit files, imported unchanged
#                    (test/integration/debian-daemons.test.ts, with avahi-daemon and
#                    cron above); dropbear's postinst makes its host keys in
#                    /etc/dropbear; installing chrony removes systemd-timesyncd (fine on
#                    a test machine); none is started by apt (the policy-rc.d below)
#   time             GNU time: the peak memory of one `hearth check` (the kernel's
#                    count for that process; Bun's resourceUsage may report the
#                    largest child the test process ever had)
# native (make native: ffi/native.c for each architecture):
#   gcc, gcc-aarch64-linux-gnu           (linked without libc: no libc6-dev needed)
# board (make rootfs, make qemu, the boot tests):
#   qemu-system-arm, qemu-system-x86     the two QEMU boards
#   qemu-user        qemu-aarch64 user mode: the start-up floor of hearth-arm64
#                    (bench/startup-floor.ts; glibc from libc6-dev-arm64-cross)
#   gcc-aarch64-linux-gnu, libc6-dev-arm64-cross, gcc, libc6-dev
#                    board/demo/hearth-demo.c, statically linked for each board
#   the arm64 architecture in dpkg       so that apt-get download fetches the arm64
#                    kernel, glibc and BusyBox (board/image/debian.ts)
#   mtools, dosfstools, e2fsprogs        make image: the FAT boot partition (mkfs.vfat,
#                    mcopy) and the ext4 root (mke2fs -d), all without mounting
#   the non-free-firmware component      Debian's raspi-firmware (the Raspberry Pi's
#                    boot firmware) lives there: a sources entry of its own,
#                    /etc/apt/sources.list.d/hearth-non-free-firmware.sources
set -eu

group=${1:-all}
test_packages="libsystemd-dev pkg-config gcc libc6-dev python3-systemd libxml2-utils dbus-daemon dbus-bin dropbear-bin systemd openssh-server openssh-client avahi-daemon cron dropbear chrony dnsmasq time"
native_packages="gcc gcc-aarch64-linux-gnu"
board_packages="qemu-system-arm qemu-system-x86 qemu-user gcc libc6-dev gcc-aarch64-linux-gnu libc6-dev-arm64-cross mtools dosfstools e2fsprogs"
case "$group" in
    all) packages="$test_packages $board_packages $native_packages" ;;
    test) packages="$test_packages" ;;
    board) packages="$board_packages" ;;
    native) packages="$native_packages" ;;
    *) echo "setup-deps: unknown group '$group' (all, test, board, native)" >&2; exit 2 ;;
esac

missing=""
for pkg in $packages; do
    case " $missing " in *" $pkg "*) continue ;; esac
    status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
    if [ "$status" != "install ok installed" ]; then
        missing="$missing $pkg"
    fi
done
missing=${missing# }

need_arm64=no
need_firmware=no
firmware_sources=/etc/apt/sources.list.d/hearth-non-free-firmware.sources
if [ "$group" = all ] || [ "$group" = board ]; then
    if ! dpkg --print-foreign-architectures | grep -qx arm64; then
        need_arm64=add
    elif ! apt-cache show libc6:arm64 >/dev/null 2>&1; then
        need_arm64=lists
    fi
    # raspi-firmware (Architecture: all) is in non-free-firmware, which the machine's
    # sources may not list: an entry of our own, added once.
    if ! apt-cache show raspi-firmware >/dev/null 2>&1; then
        need_firmware=yes
    fi
fi

if [ -n "$missing" ] || [ "$need_arm64" != no ] || [ "$need_firmware" != no ]; then
    if [ "$(id -u)" -ne 0 ]; then
        [ -n "$missing" ] && echo "setup-deps: missing Debian packages: $missing" >&2
        [ "$need_arm64" = add ] && echo "setup-deps: as root: dpkg --add-architecture arm64" >&2
        [ "$need_firmware" = yes ] && [ ! -e "$firmware_sources" ] && echo "setup-deps: as root: add the non-free-firmware component ($firmware_sources)" >&2
        echo "setup-deps: as root: apt-get update && apt-get install --no-install-recommends $missing" >&2
        exit 1
    fi
    export DEBIAN_FRONTEND=noninteractive
    if [ "$need_arm64" = add ]; then
        echo "setup-deps: dpkg --add-architecture arm64"
        dpkg --add-architecture arm64
    fi
    if [ "$need_firmware" = yes ] && [ ! -e "$firmware_sources" ]; then
        echo "setup-deps: adding $firmware_sources"
        printf '%s\n' 'Types: deb' 'URIs: http://deb.debian.org/debian' 'Suites: bookworm bookworm-updates' \
            'Components: non-free-firmware' 'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg' > "$firmware_sources"
    fi
    apt-get update -qq
    if [ -n "$missing" ]; then
        echo "setup-deps: installing: $missing"
        # Packages with a daemon (openssh-server, avahi-daemon, dropbear, chrony, dnsmasq …) must not start it: the tests run their own.
        policy=""
        if [ ! -e /usr/sbin/policy-rc.d ]; then
            policy=/usr/sbin/policy-rc.d
            trap 'rm -f /usr/sbin/policy-rc.d' EXIT
            printf '#!/bin/sh\nexit 101\n' > "$policy"
            chmod 755 "$policy"
        fi
        # shellcheck disable=SC2086  # one word per package
        apt-get install -y -qq --no-install-recommends $missing
        if [ -n "$policy" ]; then rm -f "$policy"; trap - EXIT; fi
    fi
fi

case "$group" in board|native) exit 0 ;; esac

if ! /usr/bin/python3 -c 'from systemd import daemon' 2>/dev/null; then
    echo "setup-deps: /usr/bin/python3 cannot import systemd.daemon (python3-systemd)" >&2
    exit 1
fi
for program in /usr/bin/dbus-daemon /usr/bin/dbus-send /usr/sbin/dropbear /usr/bin/dropbearkey /usr/bin/systemd-socket-activate \
    /usr/sbin/sshd /usr/bin/ssh /usr/bin/ssh-keygen /usr/bin/ssh-keyscan /usr/sbin/avahi-daemon \
    /usr/sbin/chronyd /usr/bin/chronyc /usr/sbin/dnsmasq /usr/sbin/cron; do
    if [ ! -x "$program" ]; then
        echo "setup-deps: $program is missing although its package is installed" >&2
        exit 1
    fi
done

exec "$(dirname "$0")/peers/build.sh"

#!/bin/sh
# Set-up for the benchmarks (make bench runs it; idempotent):
#   - the peers, from Debian, installed only when missing: s6 (s6-svscan,
#     s6-supervise, s6-svwait, s6-svstat) and runit (runsvdir, runsv, sv);
#     gcc for the probes below.
#   - the C probes, compiled into build/bench/ when their source changed.
# dinit and s6-rc are not packaged for Debian 12 (apt-cache policy finds no
# candidate): the supervision race says how it does without them.
# Installing needs root; when not root and something is missing it says what
# and exits 1.
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
out="$root/build/bench"

missing=$(for pkg in s6 runit gcc libc6-dev; do
    dpkg-query -W -f='${Status}\n' "$pkg" 2>/dev/null | grep -qx 'install ok installed' || echo "$pkg"
done | tr '\n' ' ')
if [ -n "${missing% }" ]; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "bench/setup.sh: as root: apt-get install --no-install-recommends $missing" >&2
        exit 1
    fi
    echo "bench/setup.sh: installing: $missing"
    # shellcheck disable=SC2086  # one word per package
    DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

mkdir -p "$out"
for src in "$root"/bench/probe/*.c; do
    bin="$out/$(basename "$src" .c)"
    [ -x "$bin" ] && [ "$bin" -nt "$src" ] && continue
    echo "bench/setup.sh: ${CC:-cc} $(basename "$src") -> build/bench/"
    "${CC:-cc}" -std=gnu11 -O2 -Wall -Wextra -o "$bin.tmp" "$src"
    mv "$bin.tmp" "$bin"
done

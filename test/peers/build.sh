#!/bin/sh
# Builds the C test peers into build/peers/ at the repository root.
# Needs gcc (or $CC), pkg-config and libsystemd-dev: see test/setup-deps.sh.
# Rebuilds a peer only when its source is newer than the binary.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out="$root/build/peers"
cc=${CC:-cc}

if ! pkg-config --exists libsystemd 2>/dev/null; then
    echo "build.sh: libsystemd not found by pkg-config; run test/setup-deps.sh first" >&2
    exit 1
fi
flags=$(pkg-config --cflags --libs libsystemd)

mkdir -p "$out"
for src in "$here"/*.c; do
    name=$(basename "$src" .c)
    bin="$out/$name"
    if [ -x "$bin" ] && [ "$bin" -nt "$src" ] && [ "$bin" -nt "$0" ]; then
        continue
    fi
    echo "build.sh: $cc $name.c -> build/peers/$name"
    # shellcheck disable=SC2086  # $flags holds several words on purpose
    "$cc" -std=gnu11 -O2 -g -Wall -Wextra -o "$bin.tmp" "$src" $flags
    mv "$bin.tmp" "$bin"
done

# hearth — see README.md. Everything a fresh machine needs is installed from here.
BUN      := node_modules/.bin/bun
SOURCES  := $(shell find src ffi -type f 2>/dev/null) package.json
# --bytecode: JavaScriptCore starts from compiled bytecode instead of parsing the bundle at
# every start (src/main.ts must avoid top-level await). --splitting (needs ESM): each role's
# module (src/cli/*.ts, imported lazily by src/main.ts) is its own chunk inside the one
# executable, so --version and ctl never load the manager.
COMPILE  := $(BUN) build --compile --minify --bytecode --format=esm --splitting --no-compile-autoload-bunfig --no-compile-autoload-dotenv
BOARD    ?= qemu-aarch64
APPEND   ?=
# The board's architecture as Bun names it (arm64 | x64), from board/$(BOARD)/board.toml.
BOARD_ARCH = $(if $(findstring amd64,$(shell grep -m1 '^arch' board/$(BOARD)/board.toml)),x64,arm64)
BOARDS_BOOTED := qemu-aarch64 qemu-x86_64

.PHONY: corpus all build build-arm64 native deps-native bench-hello test test-unit test-system test-integration deps deps-board check clean qemu qemu-interactive rootfs image boot-images bench

all: build

node_modules/.stamp: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

$(BUN): node_modules/.stamp

# ffi/native.c built ahead of time for both architectures (ffi/build-native.ts); every
# executable carries both, and `bun test` from the sources loads them from here too.
NATIVE   := build/native/native-x64.so build/native/native-arm64.so
native: $(NATIVE)
build/native/native-%.so: ffi/native.c ffi/constants.ts ffi/build-native.ts node_modules/.stamp | deps-native
	@mkdir -p $(@D)
	$(BUN) ffi/build-native.ts $* $@

# The two C compilers (gcc, aarch64-linux-gnu-gcc).
deps-native:
	bash test/setup-deps.sh native

build: dist/hearth
dist/hearth: $(SOURCES) $(NATIVE) node_modules/.stamp
	$(COMPILE) src/main.ts --outfile $@

build-arm64: dist/hearth-arm64
dist/hearth-arm64 dist/hearth-x64: dist/hearth-%: $(SOURCES) $(NATIVE) node_modules/.stamp
	$(COMPILE) --target=bun-linux-$* src/main.ts --outfile $@

# Debian packages and compiled peers the tests use (libsystemd, python3-systemd, QEMU, ...).
deps: node_modules/.stamp
	bash test/setup-deps.sh all

# What building and booting a board needs on the host (QEMU, cross compiler, arm64 lists).
deps-board:
	bash test/setup-deps.sh board

# The board's boot images: build/boards/$(BOARD)/{vmlinuz,initramfs.cpio}.
rootfs: deps-board dist/hearth-$(BOARD_ARCH)
	$(BUN) board/image/rootfs.ts $(BOARD) --hearth dist/hearth-$(BOARD_ARCH)

# The board's flashable disk image: build/boards/$(BOARD)/sdcard.img (Raspberry Pi) or
# disk.img (QEMU boards): MBR, FAT boot partition, ext4 root (board/image/disk.ts).
image: deps-board dist/hearth-$(BOARD_ARCH)
	$(BUN) board/image/disk.ts $(BOARD) --hearth dist/hearth-$(BOARD_ARCH)

# The boot tests boot the initramfs of each QEMU board and the disk image of every board.
BOARDS_ON_DISK := qemu-aarch64 qemu-x86_64 raspberrypi3
boot-images:
	for b in $(BOARDS_BOOTED); do $(MAKE) --no-print-directory rootfs BOARD=$$b || exit 1; done
	for b in $(BOARDS_ON_DISK); do $(MAKE) --no-print-directory image BOARD=$$b || exit 1; done

check: node_modules/.stamp
	$(BUN) x tsc --noEmit -p .

test: build deps boot-images
	$(BUN) test --timeout 30000

# hearth import on the Debian corpus (test/corpus/packages.txt, fetched with apt-get
# download into build/corpus): the share of units converted without loss and what is dropped.
corpus: node_modules/.stamp
	$(BUN) test/corpus/corpus.ts

# Pure tests: no processes, sockets, /proc or FFI calls (quick, run anywhere).
test-unit: node_modules/.stamp $(NATIVE)
	$(BUN) test --timeout 30000 test/unit

# Tests that touch the kernel: spawning, reaping, cgroups, sockets, FFI; some need root.
test-system: node_modules/.stamp $(NATIVE)
	$(BUN) test --timeout 30000 test/system

test-integration: build deps
	$(BUN) test --timeout 30000 test/integration

# Every benchmark in bench/benchmarks.ts, side by side with its peers; writes
# bench/RESULTS.md. Installs s6 and runit (Debian) when missing. One or a few alone:
#   make bench BENCH="supervision micro"   (prints, leaves RESULTS.md alone)
bench: build build-arm64 bench-hello boot-images node_modules/.stamp
	bash test/setup-deps.sh test
	sh bench/setup.sh
	$(BUN) bench/run-all.ts $(BENCH)

# The start-up floor's reference (bench/startup-floor.ts): Bun's hello world compiled
# with hearth's own flags, natively and for arm64.
bench-hello: build/bench/hello-native build/bench/hello-arm64
build/bench/hello-native: bench/probe/hello.ts node_modules/.stamp
	$(COMPILE) $< --outfile $@
build/bench/hello-arm64: bench/probe/hello.ts node_modules/.stamp
	$(COMPILE) --target=bun-linux-arm64 $< --outfile $@

# Boots the board, shows its console, powers off once the example is up (QEMU exits 0).
# A board that only boots from its disk image (raspberrypi3) boots that image; the
# others boot the initramfs, or their disk image with DISK=1.
BOOT_FROM = $(if $(or $(DISK),$(shell grep -q '^disk_only = true' board/$(BOARD)/board.toml && echo y)),image,rootfs)
BOOT_DISK = $(if $(filter image,$(BOOT_FROM)),--disk)
qemu: $(BOOT_FROM)
	$(BUN) board/image/boot.ts $(BOARD) $(BOOT_DISK) --append "$(APPEND)"

# The same, staying up: log in on the console (Ctrl-A X quits QEMU).
qemu-interactive: $(BOOT_FROM)
	$(BUN) board/image/boot.ts $(BOARD) $(BOOT_DISK) --interactive --append "$(APPEND)"

clean:
	rm -rf dist build

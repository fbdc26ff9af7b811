# hearth — see README.md. Everything a fresh machine needs is installed from here.
BUN      := node_modules/.bin/bun
SOURCES  := $(shell find src ffi -type f 2>/dev/null) package.json
COMPILE  := $(BUN) build --compile --minify --no-compile-autoload-bunfig --no-compile-autoload-dotenv
BOARD    ?= qemu-aarch64

.PHONY: all build build-arm64 test test-unit test-integration deps check clean qemu bench

all: build

node_modules/.stamp: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

$(BUN): node_modules/.stamp

build: dist/hearth
dist/hearth: $(SOURCES) node_modules/.stamp
	$(COMPILE) src/main.ts --outfile $@

build-arm64: dist/hearth-arm64
dist/hearth-arm64: $(SOURCES) node_modules/.stamp
	$(COMPILE) --target=bun-linux-arm64 src/main.ts --outfile $@

# Debian packages and compiled peers the tests use (libsystemd, python3-systemd, ...).
deps: node_modules/.stamp
	bash test/setup-deps.sh

check: node_modules/.stamp
	$(BUN) x tsc --noEmit -p .

test: build deps
	$(BUN) test

test-unit: node_modules/.stamp
	$(BUN) test test/unit

test-integration: build deps
	$(BUN) test test/integration

# Every benchmark in bench/benchmarks.ts, side by side with its peers; writes
# bench/RESULTS.md. Installs s6 and runit (Debian) when missing. One or a few alone:
#   make bench BENCH="supervision micro"   (prints, leaves RESULTS.md alone)
bench: build deps
	sh bench/setup.sh
	$(BUN) bench/run-all.ts $(BENCH)

qemu:
	@echo "make qemu: booting a board arrives with the board issue (#5); 'make build' and 'hearth run' work today." >&2
	@exit 1

clean:
	rm -rf dist build

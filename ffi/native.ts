// Loads ffi/native.c: compiled at first use by TinyCC (bun:ffi cc) against the libc this
// process already runs on. Works from `bun run` and from a `bun build --compile` binary.
//
// cc needs two real files: the C source (embedded in the binary as text) and a file
// named libc.so on its library path, which a board usually lacks (only libc.so.6 is
// installed). Both are written into a fresh private directory (mkdtemp, mode 0700, so no
// other user can swap the source under a root process), then removed after compiling.
// The directory is made under $HEARTH_NATIVE_DIR, else os.tmpdir(), else /run, else
// /dev/shm: PID 1 must have one of them writable before its first spawn.

import { cc, FFIType } from "bun:ffi";
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import nativeSource from "./native.c" with { type: "text" };
import { EPOLL_EVENT_PACKED, nativeDefines } from "./constants.ts";
import { MOUNT_OP_SIZE, SPAWN_REQUEST_SLOTS, SPAWN_STAGES } from "./spawn-layout.ts";

const nativeSymbols = {
  hearth_spawn: { args: ["ptr"], returns: "i32" },
  hearth_reactor_start: { args: ["ptr"], returns: "i32" },
  hearth_reactor_ctl: { args: ["i32", "i32", "u32", "u32"], returns: "i32" },
  hearth_async_syscall: { args: ["ptr"], returns: "i32" },
  hearth_forward_signal: { args: ["i32", "i32"], returns: "i32" },
  hearth_sizeof: { args: ["i32"], returns: FFIType.i64_fast },
} as const;

/** Sizes native.c must agree on with the JS side (ffi/spawn.ts, ffi/constants.ts). */
export const NATIVE_SIZES = {
  spawnRequest: SPAWN_REQUEST_SLOTS * 8, epollEvent: EPOLL_EVENT_PACKED ? 12 : 16, asyncCall: 11 * 8,
  spawnStages: SPAWN_STAGES.length, mountOp: MOUNT_OP_SIZE,
};

type NativeSymbols = ReturnType<typeof cc<typeof nativeSymbols>>["symbols"];
let loaded: NativeSymbols | null = null;

/** The compiled helpers; compiles them on first call (a few ms natively). */
export function native(): NativeSymbols {
  if (!loaded) loaded = compileNative();
  return loaded;
}

function compileNative(): NativeSymbols {
  const dir = makePrivateDir();
  try {
    const sourcePath = join(dir, "native.c");
    writeFileSync(sourcePath, nativeSource, { mode: 0o600 });
    symlinkSync(findLoadedLibc(), join(dir, "libc.so"));
    const library = cc({
      source: sourcePath,
      define: nativeDefines(),
      flags: [`-L${dir}`],
      symbols: nativeSymbols,
    });
    checkSizes(library.symbols);
    return library.symbols;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function makePrivateDir(): string {
  const candidates = [process.env.HEARTH_NATIVE_DIR, tmpdir(), "/run", "/dev/shm"];
  const errors: string[] = [];
  for (const base of candidates) {
    if (!base) continue;
    try {
      return mkdtempSync(join(base, "hearth-native-"));
    } catch (e) {
      errors.push(`${base}: ${(e as Error).message}`);
    }
  }
  throw new Error(`hearth: no writable directory to compile ffi/native.c in (${errors.join("; ")})`);
}

/** The path of the libc.so.6 mapped into this process, as /proc/self/maps names it. */
function findLoadedLibc(): string {
  try {
    const maps = readFileSync("/proc/self/maps", "utf8");
    const match = maps.match(/\s(\/\S*\/libc(?:\.so\.6|-[\d.]+\.so))$/m);
    if (match) return match[1]!;
  } catch {
    // /proc not mounted: fall through to the usual places.
  }
  const triplet = process.arch === "x64" ? "x86_64-linux-gnu" : "aarch64-linux-gnu";
  const usual = [`/lib/${triplet}/libc.so.6`, `/usr/lib/${triplet}/libc.so.6`, "/lib64/libc.so.6", "/lib/libc.so.6", "/usr/lib/libc.so.6"];
  const found = usual.find((path) => existsSync(path));
  if (!found) throw new Error("hearth: cannot find libc.so.6 to link ffi/native.c against");
  return found;
}

function checkSizes(symbols: NativeSymbols): void {
  const actual = {
    spawnRequest: Number(symbols.hearth_sizeof(0)),
    epollEvent: Number(symbols.hearth_sizeof(1)),
    asyncCall: Number(symbols.hearth_sizeof(2)),
    spawnStages: Number(symbols.hearth_sizeof(3)),
    mountOp: Number(symbols.hearth_sizeof(4)),
  };
  const wrong = (Object.keys(NATIVE_SIZES) as (keyof typeof NATIVE_SIZES)[])
    .filter((key) => actual[key] !== NATIVE_SIZES[key])
    .map((key) => `${key} ${actual[key]} (want ${NATIVE_SIZES[key]})`);
  if (wrong.length > 0) throw new Error(`hearth: ffi/native.c layout mismatch: ${wrong.join(", ")}`);
}

// Loads ffi/native.c, built ahead of time for x86_64 and aarch64 (`make native`,
// ffi/build-native.ts) and carried inside the executable (ffi/native-libs.ts).
//
// The library for this architecture is copied into a fresh private directory (mkdtemp,
// mode 0700, so no other user can swap it under a root process), dlopen'ed from there,
// then removed: Bun's own dlopen of an embedded file would extract it to a fixed name in
// /tmp, which PID 1 may not have and another user could plant first. The same path from
// the sources, so the tests load what ships. The directory is made under
// $HEARTH_NATIVE_DIR, else os.tmpdir(), else /run, else /dev/shm: PID 1 must have one of
// them writable before its first spawn.

import { dlopen, FFIType } from "bun:ffi";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ARCH, CLONE_ARGS_SIZE_VER2, EPOLL_EVENT_PACKED } from "./constants.ts";
import { NATIVE_LIBRARIES } from "./native-libs.ts";
import { MOUNT_OP_SIZE, SPAWN_REQUEST_SLOTS, SPAWN_STAGES } from "./spawn-layout.ts";

const nativeSymbols = {
  hearth_spawn: { args: ["ptr"], returns: "i32" },
  hearth_cgroup_spawn_method: { args: [], returns: FFIType.i64_fast },
  hearth_reactor_start: { args: ["ptr"], returns: "i32" },
  hearth_reactor_ctl: { args: ["i32", "i32", "u32", "u32"], returns: "i32" },
  hearth_async_syscall: { args: ["ptr"], returns: "i32" },
  hearth_forward_signal: { args: ["i32", "i32"], returns: "i32" },
  hearth_sizeof: { args: ["i32"], returns: FFIType.i64_fast },
} as const;

/** Sizes native.c must agree on with the JS side (ffi/spawn.ts, ffi/constants.ts). */
export const NATIVE_SIZES = {
  spawnRequest: SPAWN_REQUEST_SLOTS * 8, epollEvent: EPOLL_EVENT_PACKED ? 12 : 16, asyncCall: 11 * 8,
  spawnStages: SPAWN_STAGES.length, mountOp: MOUNT_OP_SIZE, cloneArgs: CLONE_ARGS_SIZE_VER2,
};

type NativeSymbols = ReturnType<typeof dlopen<typeof nativeSymbols>>["symbols"];
let loaded: NativeSymbols | null = null;

/** The native helpers; loaded on first call. */
export function native(): NativeSymbols {
  if (!loaded) loaded = loadNative();
  return loaded;
}

function loadNative(): NativeSymbols {
  const bytes = readFileSync(NATIVE_LIBRARIES[ARCH]);
  const dir = makePrivateDir();
  try {
    const path = join(dir, "native.so");
    writeFileSync(path, bytes, { mode: 0o600 });
    const library = dlopen(path, nativeSymbols);
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
  throw new Error(`hearth: no writable directory to load the native helpers from (${errors.join("; ")})`);
}

function checkSizes(symbols: NativeSymbols): void {
  const actual = {
    spawnRequest: Number(symbols.hearth_sizeof(0)),
    epollEvent: Number(symbols.hearth_sizeof(1)),
    asyncCall: Number(symbols.hearth_sizeof(2)),
    spawnStages: Number(symbols.hearth_sizeof(3)),
    mountOp: Number(symbols.hearth_sizeof(4)),
    cloneArgs: Number(symbols.hearth_sizeof(5)),
  };
  const wrong = (Object.keys(NATIVE_SIZES) as (keyof typeof NATIVE_SIZES)[])
    .filter((key) => actual[key] !== NATIVE_SIZES[key])
    .map((key) => `${key} ${actual[key]} (want ${NATIVE_SIZES[key]})`);
  if (wrong.length > 0) throw new Error(`hearth: ffi/native.c layout mismatch: ${wrong.join(", ")}`);
}

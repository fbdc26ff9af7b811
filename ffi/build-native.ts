// Builds ffi/native.c ahead of time into a shared object for one architecture, with the
// numbers of ffi/constants.ts for that architecture as -D flags (make native; the
// Makefile runs it once per architecture):
//
//   bun ffi/build-native.ts x64|arm64 OUT.so
//
// -nostdlib: no C runtime files and no link against the build host's libc. The libc
// functions native.c calls (declared by hand there) stay undefined in the .so and bind,
// unversioned, to the libc already loaded in the process that dlopens it, so the .so does
// not depend on the build host's glibc version (the board runs its own Debian's).

import { ARCHES, nativeDefines, type Arch } from "./constants.ts";

const COMPILERS: Record<Arch, string> = { x64: "gcc", arm64: "aarch64-linux-gnu-gcc" };

const FLAGS = [
  "-std=gnu11", "-O2", "-fPIC", "-shared", "-nostdlib", "-fno-stack-protector", "-s",
  "-Wall", "-Wextra", "-Werror", "-Wl,-z,noexecstack", "-Wl,-z,now",
];

function main(args: string[]): number {
  const [arch, out] = args;
  if (!ARCHES.includes(arch as Arch) || !out) {
    console.error(`usage: bun ffi/build-native.ts ${ARCHES.join("|")} OUT.so`);
    return 2;
  }
  const defines = Object.entries(nativeDefines(arch as Arch)).map(([name, value]) => `-D${name}=${value}`);
  const source = new URL("native.c", import.meta.url).pathname;
  const command = [COMPILERS[arch as Arch], ...FLAGS, ...defines, source, "-o", out];
  const result = Bun.spawnSync(command, { stdout: "inherit", stderr: "inherit" });
  if (result.exitCode !== 0) {
    console.error(`build-native: ${COMPILERS[arch as Arch]} failed (exit ${result.exitCode ?? "signal"})`);
    return 1;
  }
  return 0;
}

process.exit(main(process.argv.slice(2)));

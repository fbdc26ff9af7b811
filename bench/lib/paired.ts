// Two commands timed as whole processes, pair by pair on a quiet machine (./quiet.ts), for
// the start-up benchmarks; and qemu-aarch64 user mode, their arm64 runner.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { quietly } from "./quiet.ts";

/** Wall ms of one run, spawn to reaped; a failing run throws. */
export async function wallMs(argv: string[]): Promise<number> {
  const t0 = performance.now();
  const p = Bun.spawn(argv, { stdin: "ignore", stdout: "ignore", stderr: "ignore" });
  const code = await p.exited;
  const ms = performance.now() - t0;
  if (code !== 0) throw new Error(`${argv.join(" ")} exited ${code}`);
  return ms;
}

/** `runs` interleaved pairs after one warm-up pair: the times of each side, ms. */
export async function pairs(label: string, a: string[], b: string[], runs: number): Promise<[number[], number[]]> {
  await wallMs(a);
  await wallMs(b);
  const as: number[] = [];
  const bs: number[] = [];
  for (let i = 0; i < runs; i++) {
    const [x, y] = await quietly(label, async () => [await wallMs(a), await wallMs(b)] as const);
    as.push(x);
    bs.push(y);
  }
  return [as, bs];
}

/** The argv prefix that runs an arm64 program here (qemu-user and the arm64 glibc of libc6-dev-arm64-cross), or null. */
export function qemuUser(): string[] | null {
  const qemu = Bun.which("qemu-aarch64") ?? Bun.which("qemu-aarch64-static");
  const sysroot = "/usr/aarch64-linux-gnu";
  if (qemu && existsSync(join(sysroot, "lib/ld-linux-aarch64.so.1"))) return [qemu, "-L", sysroot];
  console.error(`no qemu-aarch64 or no ${sysroot}: \`make deps-board\` installs them; the arm64 row is left out`);
  return null;
}

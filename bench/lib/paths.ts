// Where the benchmarks find what `make bench` built (dist/hearth, build/bench/*).
import { existsSync, mkdtempSync } from "node:fs";
import { join, resolve } from "node:path";
import { pidsRunning } from "./proc.ts";

export const ROOT = resolve(import.meta.dir, "../..");
export const HEARTH = join(ROOT, "dist/hearth");
export const PROBE = join(ROOT, "build/bench/ready-probe");
export const LAUNCH = join(ROOT, "build/bench/launch");
export const FLOOD = join(ROOT, "build/bench/notify-flood");

/** Exits with a hint when something `make bench` builds is missing. */
export function requireBuilt(...paths: string[]): void {
  const missing = paths.filter((p) => !existsSync(p));
  if (missing.length === 0) return;
  console.error(`missing: ${missing.join(", ")}\nrun \`make build\` and \`sh bench/setup.sh\` (or \`make bench\`) first`);
  process.exit(1);
}

/** A fresh directory on tmpfs (configuration, records, sockets): no disk in the figures. */
export function scratchDir(prefix: string): string {
  const base = existsSync("/dev/shm") ? "/dev/shm" : "/tmp";
  return mkdtempSync(join(base, `hearth-bench-${prefix}-`));
}

/** Probes still running (none should be, after a run). */
export function pidsRunningProbe(): number[] {
  return pidsRunning(PROBE);
}

// Where the start-up phases (src/control/startup-phases.ts) are read from the system, all on CLOCK_BOOTTIME.
// hearth's own marks are taken with performance.now() (as the manager's clock is) and
// moved onto CLOCK_BOOTTIME by one offset, measured once.

import { closeSync, constants, openSync, readFileSync, readSync, writeSync } from "node:fs";
import { boottimeMs } from "../../ffi/system.ts";
import { statField } from "./procstat.ts";
import type { PhaseMark, PhaseName, StartupPhases } from "../control/startup-phases.ts";

/** The mark src/main.ts sets on its first line (performance.mark: it needs no import there). */
export const RUNTIME_READY_MARK = "hearth:runtime-ready";
const USER_HZ = 100; // the unit of /proc/PID/stat's times on every Linux architecture
const CLOCK_MARK = "hearth: clock mark";

/** performance.now() + this = ms since boot on CLOCK_BOOTTIME. */
export function bootOffsetMs(): number {
  return boottimeMs() - performance.now();
}

/**
 * The phases up to "code loaded" (performance.now() then; by default now): the handover,
 * the runtime's first line of hearth (when src/main.ts marked it) and that. Never throws:
 * a phase it cannot read is left out, a handover it cannot read is the runtime's own time origin.
 */
export function startupMarks(origin: StartupPhases["origin"], offsetMs: number, codeLoaded = performance.now()): StartupPhases {
  const marks: PhaseMark[] = [];
  const handover = safely(() => origin === "kernel" ? kernelHandoverMs() : processStartMs());
  marks.push({ phase: "handover", atMs: handover ?? offsetMs });
  const ready = safely(() => performance.getEntriesByName(RUNTIME_READY_MARK)[0]?.startTime ?? null);
  if (ready !== null) marks.push({ phase: "runtime-ready", atMs: offsetMs + ready });
  marks.push({ phase: "code-loaded", atMs: offsetMs + codeLoaded });
  return { origin, marks };
}

export function markPhase(p: StartupPhases, phase: PhaseName, offsetMs: number) {
  p.marks.push({ phase, atMs: offsetMs + performance.now() });
}

function safely<T>(f: () => T | null): T | null {
  try {
    return f();
  } catch {
    return null;
  }
}

/** Run mode: the process's start (stat field 22, on CLOCK_BOOTTIME since Linux 5.3), in 10 ms steps. */
function processStartMs(): number | null {
  const ticks = Number(statField(readFileSync("/proc/self/stat", "utf8"), 22));
  return Number.isFinite(ticks) ? ticks * (1000 / USER_HZ) : null;
}

/**
 * PID 1: when the kernel ran init. PID 1's stat start time is of no use (the task exists
 * from early kernel init on and only execs us later), so this is the kernel's own record
 * "Run /sbin/init as init process" in /dev/kmsg. Its clock is the printk clock: a record
 * written now and read back gives the offset to CLOCK_BOOTTIME.
 */
function kernelHandoverMs(): number | null {
  const fd = openSync("/dev/kmsg", constants.O_RDWR | constants.O_NONBLOCK);
  try {
    const before = boottimeMs();
    writeSync(fd, `<7>${CLOCK_MARK}\n`); // debug priority: not shown on the console
    const written = (before + boottimeMs()) / 2;
    const buf = Buffer.alloc(8192);
    let run: number | null = null;
    for (let records = 0; records < 100_000; records++) {
      let n: number;
      try {
        n = readSync(fd, buf);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === "EPIPE") continue; // overwritten while reading
        return null; // EAGAIN: the end, and our record was not there
      }
      const r = kmsgRecord(buf.toString("utf8", 0, n));
      if (r === null) continue;
      if (/^Run \S+ as init process/.test(r.text)) run = r.ms;
      else if (r.text.startsWith(CLOCK_MARK)) return run === null ? null : run + (written - r.ms);
    }
    return null;
  } finally {
    closeSync(fd);
  }
}

/** A /dev/kmsg record, "PRI,SEQ,USEC,FLAGS;TEXT" (Documentation/ABI/testing/dev-kmsg). */
export function kmsgRecord(rec: string): { ms: number; text: string } | null {
  const semi = rec.indexOf(";");
  if (semi < 0) return null;
  const usec = Number(rec.slice(0, semi).split(",")[2]);
  if (!Number.isFinite(usec)) return null;
  return { ms: usec / 1000, text: rec.slice(semi + 1).split("\n")[0]! };
}

// The record file the probes stamp (see bench/probe/ready-probe.c): 16 bytes per slot,
// the start and the ready time (CLOCK_MONOTONIC ns) of each unit; the slot after the
// last unit holds the supervisor's start (stamped by launch).
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export interface Times {
  start: number[]; // ms after the origin, per unit (NaN: not yet)
  ready: number[];
  allReady: boolean;
}

/** A zeroed record for n units (and the supervisor's slot, n) in dir. */
export function createRecord(dir: string, n: number): string {
  const path = join(dir, "record");
  writeFileSync(path, new Uint8Array((n + 1) * 16));
  return path;
}

/** Per unit (start, ready) in ms after the start stamped in slot `originSlot`. */
export function readTimes(record: string, n: number, originSlot = n): Times {
  const raw = new BigUint64Array(readFileSync(record).buffer.slice(0));
  const origin = raw[originSlot * 2]!;
  const ms = (t: bigint) => (t === 0n ? NaN : Number(t - origin) / 1e6);
  const start: number[] = [], ready: number[] = [];
  for (let i = 0; i < n; i++) {
    start.push(ms(raw[i * 2]!));
    ready.push(ms(raw[i * 2 + 1]!));
  }
  return { start, ready, allReady: ready.every((t) => !Number.isNaN(t)) };
}

/** Polls the record until every unit is ready; `tick` runs between polls. Throws after timeoutMs. */
export async function waitAllReady(record: string, n: number, timeoutMs: number, tick?: () => void): Promise<Times> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const times = readTimes(record, n);
    if (times.allReady) return times;
    if (performance.now() > deadline) throw new Error(`not all ${n} units ready after ${timeoutMs} ms`);
    await Bun.sleep(5);
    tick?.();
  }
}

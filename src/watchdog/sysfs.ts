// What the watchdog core tells in sysfs (/sys/class/watchdog/watchdogN, with
// CONFIG_WATCHDOG_SYSFS): identity, options and boot status without opening the device,
// which would start its timer. Used while the device is not open (watchdog off, rescue).

import { readFileSync } from "node:fs";
import { basename } from "node:path";
import type { WatchdogInfo } from "../../ffi/watchdog.ts";

/** /dev/watchdog and /dev/watchdog0 are watchdog0 (the first device registered); /dev/watchdogN is N. */
export function sysfsDirOf(device: string): string | null {
  const m = /^watchdog(\d*)$/.exec(basename(device));
  return m ? `/sys/class/watchdog/watchdog${m[1] || "0"}` : null;
}

function read(dir: string, name: string): string | null {
  try {
    return readFileSync(`${dir}/${name}`, "utf8").trim();
  } catch {
    return null;
  }
}

/** sysfs numbers: "0x8180" (options, fw_version) or "32" (bootstatus). */
function number(text: string | null): number | null {
  if (text === null || text === "") return null;
  const n = Number(text);
  return Number.isInteger(n) ? n : null;
}

export function readWatchdogSysfs(device: string): { info: WatchdogInfo | null; bootStatus: number | null } {
  const dir = sysfsDirOf(device);
  const identity = dir === null ? null : read(dir, "identity");
  if (dir === null || identity === null) return { info: null, bootStatus: null };
  return {
    info: { identity, options: number(read(dir, "options")) ?? 0, firmwareVersion: number(read(dir, "fw_version")) ?? 0 },
    bootStatus: number(read(dir, "bootstatus")),
  };
}

/** The timeouts the driver takes (min_timeout, max_timeout), or null when sysfs does not say. */
export function readTimeoutRange(device: string): { min: number; max: number } | null {
  const dir = sysfsDirOf(device);
  const min = dir === null ? null : number(read(dir, "min_timeout"));
  const max = dir === null ? null : number(read(dir, "max_timeout"));
  return min === null || max === null ? null : { min, max };
}

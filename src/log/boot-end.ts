// How the previous boot ended, from what survives it: the persistent log's last lines
// (the way down began; it got as far as closing the log before the root went read-only),
// the watchdog driver's boot status (WDIOF_CARDRESET: the watchdog reset the board) and a
// panic record in pstore (/sys/fs/pstore/dmesg-*). A log that was closed in order wins
// over the boot status: drivers keep WDIOF_CARDRESET across later clean reboots (QEMU's
// i6300ESB does), so it may be stale. Pure: the facts come in, a verdict goes out.

import { CLOSED_MARK, WAY_DOWN_MARK } from "./persistent.ts";

export const WDIOF_CARDRESET = 0x0020;

export interface BootEndFacts {
  /** The bootstatus of each watchdog device (sysfs), null when unknown. */
  watchdogBootStatus: (number | null)[];
  /** The pstore records' names and first lines (dmesg-ramoops-0: "Panic#1 Part1"). */
  pstore: { name: string; head: string }[];
  /** The previous boot's log, its lines in order. */
  lines: string[];
}

export type BootEnd =
  | { kind: "watchdog"; text: string }
  | { kind: "panic"; text: string }
  | { kind: "clean"; text: string }
  | { kind: "power-loss"; text: string };

export function bootEnd(f: BootEndFacts): BootEnd {
  const wayDown = [...f.lines].reverse().find((l) => l.includes(WAY_DOWN_MARK));
  const action = wayDown ? wayDown.slice(wayDown.indexOf(WAY_DOWN_MARK) + WAY_DOWN_MARK.length) : null;
  if (action && f.lines.length > 0 && f.lines[f.lines.length - 1]!.includes(CLOSED_MARK)) return { kind: "clean", text: `clean ${action}` };
  if (f.watchdogBootStatus.some((s) => s !== null && (s & WDIOF_CARDRESET) !== 0)) {
    return { kind: "watchdog", text: `watchdog reset (WDIOF_CARDRESET in the watchdog's boot status)${action ? `, during the way down: ${action}` : ""}` };
  }
  const panic = f.pstore.find((p) => p.name.startsWith("dmesg-") && /panic/i.test(p.head));
  if (panic) return { kind: "panic", text: `kernel panic (pstore ${panic.name}: ${panic.head})` };
  if (action) return { kind: "power-loss", text: `power loss or a hard reset during the way down: ${action} (the log was not closed)` };
  return { kind: "power-loss", text: "power loss or a hard reset (no way down logged, no watchdog reset, no panic record)" };
}

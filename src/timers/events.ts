// The events and effects of timer and path units (src/engine/triggers.ts decides, the
// shell in src/timers/ performs). Part of the engine's vocabulary (src/engine/types.ts).
import type { PathSection } from "./types.ts";

export type TriggerEvent =
  // What the shell knows of the clocks: at start (with what only the disk and the machine
  // know), and again whenever the wall clock was set (`changed`: TFD_TIMER_CANCEL_ON_SET).
  | {
    type: "clock"; realtime: number; sinceBootMs: number; changed: boolean;
    machineId?: string; seed?: number; stamps?: Record<string, number>;
  }
  // The deadline of an arm-timer was reached; `realtime`: the wall clock then (it may have
  // been slewed since the last clock event: the engine takes it as the fresher reading).
  | { type: "timer-elapsed"; unit: string; id: number; realtime?: number }
  // A watched path matched (created, changed, exists, not empty): `reason` names it.
  | { type: "path-triggered"; unit: string; id: number; reason: string };

export type TriggerEffect =
  // Wake at whichever deadline comes first: `mono` on the engine's clock, `realtime` on the
  // wall clock (epoch ms, re-planned by the engine after a clock change). Replaces the last.
  | { type: "arm-timer"; unit: string; id: number; mono: number | null; realtime: number | null }
  | { type: "disarm-timer"; unit: string }
  // A persistent timer triggered: its stamp file's time (systemd's touch of the stamp).
  | { type: "timer-stamp"; unit: string; realtime: number }
  // Watch the unit's paths (replacing earlier watches); `check`: test now whether one
  // that is a state (exists, glob, not empty) holds, and report it as path-triggered.
  | { type: "watch-paths"; unit: string; id: number; path: PathSection; check: boolean }
  | { type: "unwatch-paths"; unit: string };

/** A timer or path unit as `hearth ctl status` and `list-timers` show it. */
export interface TriggerSnapshot {
  kind: "timer" | "path";
  unit: string; // what it starts
  next: number | null; // the next elapse, epoch ms (timers)
  nextMonoLeftMs: number | null; // of which the monotonic part, ms left (timers)
  last: number | null; // the last trigger, epoch ms
  lastReason: string | null; // paths: what matched
  result: string;
}

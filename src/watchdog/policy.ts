// Decisions about the hardware watchdog, pure (notes/systemd-semantics.md, "Hardware
// watchdog"): which device to open, which timeout to ask for, when to ping, whether to
// ping at all, what to do with the device on the way down, and the ping statistics.

import type { PowerAction } from "../engine/power.ts";

/** The kernel's watchdog API takes an int of seconds, handled in ms as an unsigned int. */
export const MAX_TIMEOUT_SEC = Math.min(Math.floor(0xffff_ffff / 1000), 0x7fff_ffff);

/** What the driver is asked for: whole seconds, rounded up, at least 1, at most the API's limit. */
export function requestedTimeoutSec(sec: number): number {
  return Math.min(MAX_TIMEOUT_SEC, Math.max(1, Math.ceil(sec - 1e-9)));
}

/**
 * A timeout the driver refused (EINVAL), brought into the range it takes; null when
 * the range is of no use. (Some drivers accept only part of what the API allows.)
 */
export function fitTimeout(sec: number, range: { min: number; max: number }): number | null {
  if (!(range.min >= 1 && range.max >= range.min)) return null;
  return Math.min(range.max, Math.max(range.min, sec));
}

/** The manager pings at half the timeout, from its own loop. */
export function pingIntervalMs(timeoutSec: number): number {
  return (timeoutSec * 1000) / 2;
}

/**
 * The paths tried, in order (systemd's rule): the new-style /dev/watchdog0 before the
 * classic /dev/watchdog when either is configured; any other path alone.
 */
export function devicesToTry(configured: string): string[] {
  return configured === "/dev/watchdog0" || configured === "/dev/watchdog" ? ["/dev/watchdog0", "/dev/watchdog"] : [configured];
}

/**
 * When the next ping is due: one interval after the last planned one, so that the
 * cadence does not drift with the timer's lateness; when that moment has passed already
 * (the loop was held up for a whole interval), one interval from now.
 */
export function nextPingAt(lastPlannedAt: number, now: number, intervalMs: number): number {
  const next = lastPlannedAt + intervalMs;
  return next > now ? next : now + intervalMs;
}

/**
 * The way down, on a device whose timeout is shorter than shutdown_sec: when the next
 * ping is due so that the reset still comes at the step's deadline and no sooner —
 * every half timeout, the last one a whole timeout before the deadline; null when no
 * more ping is needed (the device alone resets at the deadline, or sooner than ever
 * planned: a device that takes longer than asked).
 */
export function nextBridgePing(now: number, deadline: number, deviceMs: number): number | null {
  const last = deadline - deviceMs;
  return last <= now ? null : Math.min(now + deviceMs / 2, last);
}

/** The runtime watchdog is not armed in the rescue target: an operator at the console is not reset away. */
export function armForTarget(target: string, runtimeSec: number): boolean {
  return runtimeSec > 0 && target !== "rescue";
}

/**
 * The device at the end of the way down, just before reboot(2): a reboot closes it
 * WITHOUT disarming, so a reboot that hangs from here on is still rescued by the
 * hardware; poweroff and halt disarm it, or the board would come back up (or reset
 * while halted).
 */
export function closeBeforeReboot(action: PowerAction): "leave-armed" | "disarm" {
  return action === "reboot" ? "leave-armed" : "disarm";
}

export interface UnitHealth {
  name: string;
  active: string; // ActiveState
  result: string; // the service's result
}

export type HealthVerdict = { healthy: true } | { healthy: false; reason: string };

/**
 * Health-gated petting: a critical unit that has failed for good makes the manager stop
 * pinging, so the hardware resets the board. "Failed" is final in hearth: a unit with a
 * restart to come is "activating" (auto-restart), so a failed one has exhausted its
 * restart budget (start-limit-hit), missed its service watchdog with no restart to come,
 * or failed with nothing to restart it.
 */
export function healthVerdict(units: UnitHealth[], critical: string[]): HealthVerdict {
  for (const name of critical) {
    const u = units.find((x) => x.name === name);
    if (!u || u.active !== "failed") continue;
    if (u.result === "start-limit-hit") return { healthy: false, reason: `critical unit ${name} exhausted its restart budget (start-limit-hit)` };
    if (u.result === "watchdog") return { healthy: false, reason: `critical unit ${name} missed its service watchdog and will not be restarted` };
    return { healthy: false, reason: `critical unit ${name} failed (${u.result}) and will not be restarted` };
  }
  return { healthy: true };
}

/** What the driver's boot status says of the last reset (WDIOF_CARDRESET: the watchdog did it). */
export function resetByWatchdog(bootStatus: number | null, cardResetBit: number): boolean | null {
  return bootStatus === null ? null : (bootStatus & cardResetBit) !== 0;
}

export interface Spread {
  p50: number;
  p99: number;
  max: number;
}

export interface PingFigures {
  plannedMs: number;
  samples: number; // intervals measured
  meanMs: number;
  minMs: number;
  maxMs: number;
  /** |interval - planned|: how far each interval strayed from the plan. */
  jitterMs: Spread;
  /** How late each ping came after the moment it was planned for. */
  latenessMs: Spread;
}

const KEEP = 1000;

function spread(values: number[]): Spread {
  const d = [...values].sort((a, b) => a - b);
  const at = (p: number) => d[Math.min(d.length - 1, Math.floor(p * d.length))] ?? 0;
  return { p50: at(0.5), p99: at(0.99), max: d.at(-1) ?? 0 };
}

const round2 = (x: number) => Math.round(x * 100) / 100;

/** Ping-interval statistics over the last 1000 pings; times in ms on one monotonic clock. */
export class PingStats {
  private readonly intervals: number[] = [];
  private readonly lateness: number[] = [];
  private last: number | null = null;
  count = 0;

  /** A ping at `now` that was planned for `plannedAt` (the first ping of a cadence: no interval). */
  record(now: number, plannedAt: number = now) {
    if (this.last !== null) push(this.intervals, now - this.last);
    push(this.lateness, Math.max(0, now - plannedAt));
    this.last = now;
    this.count++;
  }

  /** A new cadence begins (a new timeout): the next ping starts a new series of intervals. */
  restart() {
    this.last = null;
    this.intervals.length = 0;
    this.lateness.length = 0;
  }

  get lastPing(): number | null {
    return this.last;
  }

  /** The last n intervals, oldest first (rounded to 0.01 ms). */
  recentIntervals(n: number): number[] {
    return this.intervals.slice(-n).map(round2);
  }

  figures(plannedMs: number): PingFigures {
    const iv = this.intervals;
    const r = (s: Spread): Spread => ({ p50: round2(s.p50), p99: round2(s.p99), max: round2(s.max) });
    return {
      plannedMs,
      samples: iv.length,
      meanMs: round2(iv.length === 0 ? 0 : iv.reduce((a, b) => a + b, 0) / iv.length),
      minMs: round2(iv.length === 0 ? 0 : Math.min(...iv)),
      maxMs: round2(iv.length === 0 ? 0 : Math.max(...iv)),
      jitterMs: r(spread(iv.map((i) => Math.abs(i - plannedMs)))),
      latenessMs: r(spread(this.lateness)),
    };
  }
}

function push(list: number[], value: number) {
  list.push(value);
  if (list.length > KEEP) list.shift();
}

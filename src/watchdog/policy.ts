// Decisions about the hardware watchdog, pure (notes/systemd-semantics.md, "Hardware
// watchdog"): which timeout to ask for, how often to ping, whether to ping at all.

/** What the driver is asked for: whole seconds, rounded up, at least 1. */
export function requestedTimeoutSec(sec: number): number {
  return Math.max(1, Math.ceil(sec - 1e-9));
}

/** The manager pings at half the timeout, from its own loop. */
export function pingIntervalMs(timeoutSec: number): number {
  return (timeoutSec * 1000) / 2;
}

export interface UnitHealth {
  name: string;
  active: string;
  result: string;
}

/**
 * Health-gated petting: a critical unit that is failed for good — its restart budget
 * exhausted (start-limit-hit) or killed by its service watchdog with no restart to come —
 * makes the manager stop pinging, so the hardware resets the board.
 */
export function healthVerdict(units: UnitHealth[], critical: string[]): { healthy: true } | { healthy: false; reason: string } {
  for (const name of critical) {
    const u = units.find((x) => x.name === name);
    if (!u || u.active !== "failed") continue;
    if (u.result === "start-limit-hit") return { healthy: false, reason: `critical unit ${name} exhausted its restart budget (start-limit-hit)` };
    if (u.result === "watchdog") return { healthy: false, reason: `critical unit ${name} missed its service watchdog and will not be restarted` };
  }
  return { healthy: true };
}

/** The runtime watchdog is not armed in the rescue target: an operator at the console is not reset away. */
export function armForTarget(target: string, runtimeSec: number): boolean {
  return runtimeSec > 0 && target !== "rescue";
}

/** Ping-interval statistics (jitter = how far each interval strays from the plan). */
export class PingStats {
  private readonly intervals: number[] = [];
  private last: number | null = null;
  count = 0;

  record(now: number) {
    if (this.last !== null) {
      this.intervals.push(now - this.last);
      if (this.intervals.length > 1000) this.intervals.shift();
    }
    this.last = now;
    this.count++;
  }

  get lastPing(): number | null {
    return this.last;
  }

  /** p50/p99/max of |interval - planned| in ms, over the last 1000 intervals. */
  jitter(plannedMs: number): { p50: number; p99: number; max: number; samples: number } {
    const d = this.intervals.map((i) => Math.abs(i - plannedMs)).sort((a, b) => a - b);
    const at = (p: number) => d[Math.min(d.length - 1, Math.floor(p * d.length))] ?? 0;
    return { p50: at(0.5), p99: at(0.99), max: d.at(-1) ?? 0, samples: d.length };
  }
}

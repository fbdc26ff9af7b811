// Restart and start-limit decisions: systemd's service_shall_restart() table
// (../shared/seeds/004, notes/systemd-semantics.md), as pure functions.
import type { RestartPolicy, ServiceSection } from "../config/types.ts";
import type { ExitStatus } from "./types.ts";

/** Why a service's main process went away, in the terms of the Restart= table. */
export type ExitCause = "clean" | "unclean-code" | "unclean-signal" | "timeout" | "watchdog";

// Signals after which an exit is "clean" (systemd: SIGHUP, SIGINT, SIGTERM, SIGPIPE).
const CLEAN_SIGNALS = new Set([1, 2, 15, 13]);

export function exitCause(status: ExitStatus, successExitStatus: number[]): ExitCause {
  if (status.kind === "exited") {
    return status.code === 0 || successExitStatus.includes(status.code) ? "clean" : "unclean-code";
  }
  return CLEAN_SIGNALS.has(status.signal) || successExitStatus.includes(-status.signal)
    ? "clean"
    : "unclean-signal";
}

const TABLE: Record<RestartPolicy, ReadonlySet<ExitCause>> = {
  "no": new Set(),
  "always": new Set(["clean", "unclean-code", "unclean-signal", "timeout", "watchdog"]),
  "on-success": new Set(["clean"]),
  "on-failure": new Set(["unclean-code", "unclean-signal", "timeout", "watchdog"]),
  "on-abnormal": new Set(["unclean-signal", "timeout", "watchdog"]),
  "on-abort": new Set(["unclean-signal"]),
  "on-watchdog": new Set(["watchdog"]),
};

export function shallRestart(
  svc: Pick<ServiceSection, "restart" | "restart_prevent_exit_status" | "restart_force_exit_status">,
  cause: ExitCause,
  status: ExitStatus | null,
): boolean {
  const code = status === null ? null : status.kind === "exited" ? status.code : -status.signal;
  if (code !== null && svc.restart_prevent_exit_status.includes(code)) return false;
  if (code !== null && svc.restart_force_exit_status.includes(code)) return true;
  return TABLE[svc.restart].has(cause);
}

/**
 * Delay before the n-th automatic restart in a row (n from 0): restart_sec, growing
 * geometrically to restart_max_delay_sec over restart_steps steps (systemd's RestartSteps).
 */
export function restartDelaySec(
  svc: Pick<ServiceSection, "restart_sec" | "restart_steps" | "restart_max_delay_sec">,
  n: number,
): number {
  const { restart_sec: base, restart_steps: steps, restart_max_delay_sec: max } = svc;
  if (steps <= 0 || !(max > base) || base <= 0) return base;
  if (n >= steps) return max;
  return Math.min(max, base * Math.pow(max / base, n / steps));
}

/**
 * Start-limit bookkeeping: times (ms) of automatic restarts inside the window.
 * Returns the window after adding `now`, and whether the burst is exceeded.
 */
export function startLimitCheck(
  times: number[],
  now: number,
  intervalSec: number,
  burst: number,
): { times: number[]; hit: boolean } {
  if (intervalSec <= 0 || burst <= 0) return { times: [], hit: false };
  const windowStart = now - intervalSec * 1000;
  const kept = [...times.filter((t) => t > windowStart), now];
  return { times: kept, hit: kept.length > burst };
}

// The control protocol: one JSON object per line each way. Pure validation of
// requests, so a hostile or broken client gets a precise error and nothing else.

import { MAX_TIMEOUT_SEC } from "../watchdog/policy.ts";

export const CONTROL_VERBS = [
  "status", "list", "start", "stop", "restart", "reload", "isolate", "logs", "reset-failed", "ping", "analyze",
  "poweroff", "reboot", "halt", "watchdog", "debug", "list-timers",
  "cat", "enable", "disable", "mask", "unmask", "daemon-reload", "daemon-reexec",
] as const;
export type ControlVerb = (typeof CONTROL_VERBS)[number];

/** Verbs that change something: only root, or the manager's own user in run mode. */
export const MUTATING_VERBS: ReadonlySet<string> = new Set([
  "start", "stop", "restart", "reload", "isolate", "reset-failed", "poweroff", "reboot", "halt", "debug", "enable", "disable", "mask", "unmask", "daemon-reload", "daemon-reexec",
]);

/** Verbs about unit files (src/control/unit-files.ts): they name files, loaded or not. */
export const UNIT_FILE_VERBS: ReadonlySet<string> = new Set(["cat", "enable", "disable", "mask", "unmask"]);

/** The debug verbs: accepted only when the kernel command line has hearth.debug=1. */
export const DEBUG_ACTIONS = ["freeze"] as const;

export interface ControlRequest {
  verb: ControlVerb;
  units: string[];
  lines: number; // logs: how many lines back
  follow: boolean; // logs -f
  /** watchdog: a new runtime timeout in seconds (0 disarms); absent: the state only. */
  setTimeoutSec?: number;
  /** debug freeze: busy-wait the manager loop for `seconds`, or for good when absent. */
  debug?: { action: (typeof DEBUG_ACTIONS)[number]; seconds?: number };
}

/** Whether a request changes something (see MUTATING_VERBS; setting the watchdog's timeout does). */
export function isMutating(req: ControlRequest): boolean {
  return MUTATING_VERBS.has(req.verb) || (req.verb === "watchdog" && req.setTimeoutSec !== undefined);
}


// Exit codes of `hearth ctl`, as systemctl's.
export const EXIT = { ok: 0, failed: 1, usage: 2, inactive: 3, noSuchUnit: 4 } as const;

export const MAX_REQUEST_BYTES = 64 * 1024;

export function parseRequest(line: string): { ok: true; req: ControlRequest } | { ok: false; error: string } {
  let raw: unknown;
  try {
    raw = JSON.parse(line);
  } catch (e) {
    return { ok: false, error: `request is not JSON: ${(e as Error).message}` };
  }
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) return { ok: false, error: "request must be a JSON object" };
  const r = raw as Record<string, unknown>;
  if (typeof r.verb !== "string" || !(CONTROL_VERBS as readonly string[]).includes(r.verb)) {
    return { ok: false, error: `unknown verb ${JSON.stringify(r.verb)}; expected one of ${CONTROL_VERBS.join(", ")}` };
  }
  const units = r.units ?? [];
  if (!Array.isArray(units) || units.some((u) => typeof u !== "string" || u.length === 0 || u.length > 255)) {
    return { ok: false, error: "units must be an array of unit names" };
  }
  const lines = r.lines ?? 10;
  if (typeof lines !== "number" || !Number.isInteger(lines) || lines < 0 || lines > 100_000) {
    return { ok: false, error: "lines must be an integer from 0 to 100000" };
  }
  const follow = r.follow ?? false;
  if (typeof follow !== "boolean") return { ok: false, error: "follow must be a boolean" };
  const verb = r.verb as ControlVerb;
  if ((["start", "stop", "restart", "reload"].includes(verb) || UNIT_FILE_VERBS.has(verb)) && units.length === 0) {
    return { ok: false, error: `${verb} needs at least one unit` };
  }
  if (verb === "isolate" && units.length !== 1) return { ok: false, error: "isolate needs exactly one unit" };
  const req: ControlRequest = { verb, units: units as string[], lines, follow };
  if (r.setTimeoutSec !== undefined) {
    const t = r.setTimeoutSec;
    if (verb !== "watchdog") return { ok: false, error: "setTimeoutSec goes with the watchdog verb" };
    if (typeof t !== "number" || !Number.isFinite(t) || t < 0 || t > MAX_TIMEOUT_SEC) {
      return { ok: false, error: `setTimeoutSec must be a number of seconds from 0 to ${MAX_TIMEOUT_SEC}` };
    }
    req.setTimeoutSec = t;
  }
  if (verb === "debug") {
    const d = r.debug as Record<string, unknown> | undefined;
    if (typeof d !== "object" || d === null || !(DEBUG_ACTIONS as readonly unknown[]).includes(d.action)) {
      return { ok: false, error: `debug needs an action: ${DEBUG_ACTIONS.join(", ")}` };
    }
    if (d.seconds !== undefined && (typeof d.seconds !== "number" || !Number.isFinite(d.seconds) || d.seconds < 0)) {
      return { ok: false, error: "debug seconds must be a non-negative number" };
    }
    req.debug = { action: d.action as "freeze", ...(d.seconds !== undefined ? { seconds: d.seconds as number } : {}) };
  }
  return { ok: true, req };
}

// Signal names and numbers for this architecture (tables in ffi/constants.ts).
// Real-time signals are named as glibc and systemd name them: SIGRTMIN, SIGRTMIN+n,
// SIGRTMAX-n, SIGRTMAX.

import { SIGNAL_ALIASES, SIGNALS, SIGRTMAX, SIGRTMIN } from "./constants.ts";

const namesByNumber = new Map<number, string>(Object.entries(SIGNALS).map(([name, n]) => [n, name]));

/** "SIGTERM" for 15; "SIGRTMIN+2" for 36; "signal 99" for a number with no name. */
export function signalName(signal: number): string {
  const name = namesByNumber.get(signal);
  if (name) return name;
  if (signal === SIGRTMIN) return "SIGRTMIN";
  if (signal === SIGRTMAX) return "SIGRTMAX";
  if (signal > SIGRTMIN && signal < SIGRTMAX) return `SIGRTMIN+${signal - SIGRTMIN}`;
  return `signal ${signal}`;
}

/**
 * The number of a signal given as "SIGTERM", "TERM", "15", "SIGRTMIN+3", "RTMAX-1"
 * (case-insensitive), or null if there is no such signal.
 */
export function signalNumber(text: string): number | null {
  const trimmed = text.trim();
  if (/^\d+$/.test(trimmed)) {
    const n = Number(trimmed);
    return n >= 1 && n <= SIGRTMAX ? n : null;
  }
  let name = trimmed.toUpperCase();
  if (!name.startsWith("SIG")) name = `SIG${name}`;
  name = SIGNAL_ALIASES[name] ?? name;
  return SIGNALS[name] ?? realtimeSignal(name);
}

function realtimeSignal(name: string): number | null {
  const match = /^SIGRT(MIN|MAX)(?:([+-])(\d+))?$/.exec(name);
  if (!match) return null;
  const base = match[1] === "MIN" ? SIGRTMIN : SIGRTMAX;
  const offset = match[3] === undefined ? 0 : Number(match[3]) * (match[2] === "+" ? 1 : -1);
  const n = base + offset;
  return n >= SIGRTMIN && n <= SIGRTMAX ? n : null;
}

// Human-readable log lines, like `journalctl -o short`. Pure.

import type { LogRecord } from "./ring.ts";
import { facilityName, severityName } from "./syslog-parse.ts";

/** The manager's own name in logs. */
export const MANAGER_IDENT = "hearth";

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

export interface FormatOptions {
  /** Print the time in UTC instead of local time. */
  utc?: boolean;
  /** Add microseconds to the time, like `journalctl -o short-precise` (the ring holds milliseconds). */
  precise?: boolean;
}

const pad = (n: number, width = 2) => String(n).padStart(width, "0");

/** "Nov 22 01:02:03" (or "Nov 22 01:02:03.123000" when precise). */
export function formatTimestamp(time: number, options: FormatOptions = {}): string {
  const d = new Date(time);
  const [month, day, h, m, s, ms] = options.utc
    ? [d.getUTCMonth(), d.getUTCDate(), d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds(), d.getUTCMilliseconds()]
    : [d.getMonth(), d.getDate(), d.getHours(), d.getMinutes(), d.getSeconds(), d.getMilliseconds()];
  const base = `${MONTHS[month]} ${pad(day)} ${pad(h)}:${pad(m)}:${pad(s)}`;
  return options.precise ? `${base}.${pad(ms, 3)}000` : base;
}

/**
 * One entry as `Nov 22 01:02:03 unit[pid]: text` (its identifier, when it has one, for
 * the unit; a syslog line adds `<facility.severity>`). What the manager logs about a
 * unit reads as systemd's does: `hearth[1]: unit: text`.
 */
export function formatEntry(entry: LogRecord, options: FormatOptions = {}): string {
  let ident = entry.ident ?? entry.unit;
  let text = entry.text;
  if (entry.stream === "manager" && entry.unit !== MANAGER_IDENT) {
    ident = MANAGER_IDENT;
    text = `${entry.unit}: ${text}`;
  }
  const pid = entry.pid !== undefined ? `[${entry.pid}]` : "";
  // What came through syslog says how it was sent: "cron[42] <cron.info>: ...".
  const sent = entry.facility !== undefined ? ` <${facilityName(entry.facility)}.${severityName(entry.priority)}>` : "";
  return `${formatTimestamp(entry.time, options)} ${ident}${pid}${sent}: ${text}`;
}

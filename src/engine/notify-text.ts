// One line that says what a notify message asked for, for the debug log: the assignments
// the parser understood, in the daemon's own words (READY=1, STATUS=…), bounded.
import type { NotifyMessage } from "./notify-message.ts";

const STATUS_SHOWN = 200; // characters of STATUS= shown; the rest is elided

export function describeNotify(msg: NotifyMessage): string {
  const parts: string[] = [];
  if (msg.ready) parts.push("READY=1");
  if (msg.reloading) parts.push("RELOADING=1");
  if (msg.stopping) parts.push("STOPPING=1");
  if (msg.status !== undefined) {
    parts.push(`STATUS=${msg.status.length > STATUS_SHOWN ? `${msg.status.slice(0, STATUS_SHOWN)}…` : msg.status}`);
  }
  if (msg.errno !== undefined) parts.push(`ERRNO=${msg.errno}`);
  if (msg.mainPid !== undefined) parts.push(`MAINPID=${msg.mainPid}`);
  if (msg.notifyAccess !== undefined) parts.push(`NOTIFYACCESS=${msg.notifyAccess}`);
  if (msg.watchdog !== undefined) parts.push(`WATCHDOG=${msg.watchdog === "ping" ? "1" : "trigger"}`);
  if (msg.watchdogUsec !== undefined) parts.push(`WATCHDOG_USEC=${msg.watchdogUsec}`);
  if (msg.extendTimeoutUsec !== undefined) parts.push(`EXTEND_TIMEOUT_USEC=${msg.extendTimeoutUsec}`);
  if (msg.monotonicUsec !== undefined) parts.push(`MONOTONIC_USEC=${msg.monotonicUsec}`);
  if (msg.fdStore) parts.push("FDSTORE=1");
  if (msg.fdStoreRemove) parts.push("FDSTOREREMOVE=1");
  if (msg.fdName !== undefined) parts.push(`FDNAME=${msg.fdName}`);
  if (msg.fdPoll !== undefined) parts.push(`FDPOLL=${msg.fdPoll ? 1 : 0}`);
  if (msg.barrier) parts.push("BARRIER=1");
  if (msg.unknown.length > 0) parts.push(`unknown: ${msg.unknown.slice(0, 8).join(", ")}${msg.unknown.length > 8 ? ", …" : ""}`);
  return parts.length > 0 ? parts.join(", ") : "(nothing hearth acts on)";
}

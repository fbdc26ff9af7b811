// Human output of `hearth ctl`, shaped after systemctl's. Pure: JSON in, text out.
import { formatEntry } from "../log/format.ts";
import type { LogEntry } from "../log/ring.ts";
import type { WatchdogState } from "../watchdog/hardware.ts";
import type { UnitStatus } from "./status.ts";
import { triggerLines } from "../timers/list-timers.ts";

const DOT: Record<string, string> = {
  active: "●", reloading: "↻", activating: "○", deactivating: "○", inactive: "○", failed: "×",
};

export function ago(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}min ${s % 60}s ago`;
  return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}min ago`;
}

function stamp(t: number): string {
  return new Date(t).toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC");
}

/** What the Loaded: line says about the unit after its file. */
function kindNote(u: UnitStatus): string {
  if (u.kind === "template") return "; accept = true: one instance per connection";
  if (u.type) return `; ${u.type}`;
  return u.kind === "target" ? "; target" : "";
}

export function formatStatus(u: UnitStatus, now = Date.now()): string {
  const lines: string[] = [];
  lines.push(`${DOT[u.active] ?? "?"} ${u.name}${u.description ? ` - ${u.description}` : ""}`);
  if (u.load === "not-found") {
    // systemctl: "Loaded: not-found (Reason: Unit X not found.)"; here also who names it.
    lines.push(`     Loaded: not-found (no unit file; named by ${(u.namedBy ?? []).join(", ")})`);
    lines.push(`     Active: inactive (dead)`);
    return lines.join("\n");
  }
  if (u.load === "masked") {
    lines.push(`     Loaded: masked (Reason: Unit ${u.name} is masked.)`, `     Active: inactive (dead)`);
    return lines.join("\n");
  }
  if (u.load === "error") {
    // As systemctl for a unit with a bad setting: the reasons, and nothing runs.
    const [first, ...more] = u.loadErrors ?? [];
    lines.push(`     Loaded: error (${first ?? u.file})`, ...more.map((e) => `             ${e}`));
    lines.push(`     Active: inactive (dead)`);
    return lines.join("\n");
  }
  lines.push(`     Loaded: loaded (${u.file || "built-in"}${kindNote(u)})${u.changedOnDisk ? " (changed on disk)" : ""}`);
  // systemctl's "Warning: The unit file ... changed on disk"; here the reload has read it, the restart applies it.
  if (u.changedOnDisk) lines.push(`    Warning: the configuration of ${u.name} changed on disk; it runs as it was until its next start`);
  const result = u.active === "failed" ? ` (Result: ${u.result})` : "";
  lines.push(`     Active: ${u.active} (${u.sub})${result} since ${stamp(u.since)}; ${ago(now - u.since)}`);
  lines.push(...triggerLines(u, now));
  if (u.job) lines.push(`        Job: ${u.job}`);
  if (u.unmet) {
    // As systemctl: "Condition: start condition unmet at …" / "Assert: start assertion failed at …".
    const what = u.unmet.assert ? "     Assert: start assertion failed" : "  Condition: start condition unmet";
    lines.push(`${what} at ${stamp(u.unmet.time)}; ${ago(now - u.unmet.time)}`, `             ${u.unmet.text}`);
  }
  for (const s of u.sockets ?? []) {
    const via = s.service !== u.name ? ` -> ${s.service}` : s.unit !== u.name ? ` (from ${s.unit})` : "";
    lines.push(`     Listen: ${s.listen} ${s.state}${via}${s.error ? `: ${s.error}` : ""}`);
  }
  if (u.accepted !== undefined) lines.push(`   Accepted: ${u.accepted}; Connected: ${u.connected ?? 0}`);
  if (u.instanceOf) lines.push(`   Instance: of ${u.instanceOf}${u.peer ? `, connection from ${u.peer}` : ""}`);
  if (u.storedFds?.length) lines.push(` Stored fds: ${u.storedFds.join(", ")}`);
  if (u.mainPid !== null) lines.push(`   Main PID: ${u.mainPid}`);
  if (u.controlPid !== null) lines.push(`    Control: ${u.controlPid}`);
  if (u.statusText) lines.push(`     Status: "${u.statusText}"`);
  if (u.errno !== null) lines.push(`      Error: ${u.errno}`);
  if (u.restarts > 0) lines.push(`   Restarts: ${u.restarts} in the start-limit window${u.crashLoop ? " (crash loop)" : ""}`);
  const last = u.exits.slice(-3);
  for (const e of last) lines.push(`   Last exit: ${stamp(e.time)} ${e.description}`);
  if (u.logs && u.logs.length > 0) {
    lines.push("");
    for (const e of u.logs) lines.push(formatEntry(e));
  }
  return lines.join("\n");
}

export function formatList(units: UnitStatus[], broken: { name: string; errors: string[] }[] = []): string {
  const describe = (u: UnitStatus) => u.statusText || (u.peer ? `connection from ${u.peer}` : u.description);
  const rows = units.map((u) => [u.name, u.active, u.sub, u.mainPid === null ? "-" : String(u.mainPid), describe(u)]);
  for (const b of broken) rows.push([b.name, "error", "not-loaded", "-", b.errors[0] ?? ""]);
  const head = ["UNIT", "ACTIVE", "SUB", "PID", "DESCRIPTION"];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const fmt = (r: string[]) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join("  ");
  return [fmt(head), ...rows.map(fmt), "", `${units.length} units listed${broken.length ? `, ${broken.length} not loaded (hearth check tells why)` : ""}.`].join("\n");
}

export function formatLogs(entries: LogEntry[]): string {
  return entries.map((e) => formatEntry(e)).join("\n");
}

const seconds = (ms: number) => `${Math.round(ms / 100) / 10}s`;

function watchdogStateLine(w: WatchdogState): string {
  if (w.phase === "shutdown") return w.armed ? `armed for the way down (${w.shutdownSec}s per step)` : "off for the way down";
  if (w.phase === "closed") return "closed for reboot(2)";
  if (!w.armed) return w.requestedSec > 0 ? `not armed: ${w.notArmedBecause ?? "unknown reason"}` : "off (runtime_sec = 0)";
  if (w.stoppedBecause !== null) return `armed, pings STOPPED: ${w.stoppedBecause}`;
  return `armed, pinged every ${seconds(w.pingIntervalMs ?? 0)} from the manager loop`;
}

function lastResetLine(w: WatchdogState): string {
  if (w.lastResetByWatchdog === null) return "unknown (the driver's boot status could not be read)";
  if (w.lastResetByWatchdog) return "by the watchdog (WDIOF_CARDRESET in the boot status)";
  return w.advertisesCardReset === false ? "not by the watchdog, as far as the driver tells (it does not advertise WDIOF_CARDRESET)" : "not by the watchdog";
}

/** `hearth ctl watchdog`: the hardware watchdog's state, systemctl-style. */
export function formatWatchdog(w: WatchdogState): string {
  const lines = [`${w.armed ? "●" : "○"} Hardware watchdog ${w.device}${w.identity ? `: '${w.identity}'` : ""}${w.firmwareVersion ? ` (firmware ${w.firmwareVersion})` : ""}`];
  const row = (label: string, text: string) => lines.push(`${label.padStart(11)}: ${text}`);
  row("State", watchdogStateLine(w));
  if (w.timeoutSec !== null) {
    const asked = w.phase === "runtime" && w.requestedSec > 0 && w.requestedSec !== w.timeoutSec ? `, ${w.requestedSec}s asked` : "";
    row("Timeout", `${w.timeoutSec}s${asked}${w.readBackSec !== null ? ` (WDIOC_GETTIMEOUT: ${w.readBackSec}s)` : ""}`);
  }
  if (w.timeLeftSec !== null) row("Time left", `${w.timeLeftSec}s${w.timeLeftFrom === "last ping" ? " (estimated from the last ping: the driver cannot tell)" : ""}`);
  if (w.pings > 0) row("Pings", `${w.pings}${w.lastPingAgoMs !== null ? `, the last ${seconds(w.lastPingAgoMs)} ago` : ""}`);
  const f = w.figures;
  if (f && f.samples > 0) {
    row("Interval", `mean ${f.meanMs} ms (planned ${f.plannedMs}), min ${f.minMs}, max ${f.maxMs}, over ${f.samples} intervals`);
    row("Jitter", `p50 ${f.jitterMs.p50} ms, p99 ${f.jitterMs.p99} ms, max ${f.jitterMs.max} ms (late after plan: p50 ${f.latenessMs.p50}, p99 ${f.latenessMs.p99}, max ${f.latenessMs.max} ms)`);
  }
  row("Last reset", lastResetLine(w));
  row("Way down", w.shutdownSec > 0 ? `armed with ${w.shutdownSec}s per step (shutdown_sec)` : "not armed (shutdown_sec = 0)");
  if (w.criticalUnits.length > 0) row("Critical", `${w.criticalUnits.join(", ")} (failed for good: the pings stop)`);
  return lines.join("\n");
}

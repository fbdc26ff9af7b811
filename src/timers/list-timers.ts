// `hearth ctl list-timers`, as `systemctl list-timers`: NEXT, LEFT, LAST, PASSED, UNIT,
// ACTIVATES, soonest first, then "N timers listed.". Pure: statuses in, text out.
import type { UnitStatus } from "../control/status.ts";

/** systemd's timestamp: "Mon 2026-12-07 00:00:00 UTC", in the zone of the one who asks. */
export function timestamp(ms: number, zone?: string): string {
  const parts: Record<string, string> = {};
  const f = new Intl.DateTimeFormat("en-US", {
    timeZone: zone, weekday: "short", year: "numeric", month: "2-digit", day: "2-digit",
    hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23", timeZoneName: "short",
  });
  for (const p of f.formatToParts(ms)) parts[p.type] = p.value;
  return `${parts.weekday} ${parts.year}-${parts.month}-${parts.day} ${parts.hour}:${parts.minute}:${parts.second} ${parts.timeZoneName}`;
}

/** systemd's time span, to the two largest units: "1 day 17h", "4min 10s", "5s". */
export function span(ms: number): string {
  let s = Math.max(0, Math.round(ms / 1000));
  const units: [string, number][] = [["y", 31_557_600], ["month", 2_629_800], ["w", 604_800], ["day", 86_400], ["h", 3600], ["min", 60], ["s", 1]];
  const out: string[] = [];
  for (const [name, size] of units) {
    if (s < size || out.length === 2) continue;
    const n = Math.floor(s / size);
    s -= n * size;
    out.push(name === "day" || name === "month" ? `${n} ${name}${n > 1 ? "s" : ""}` : `${n}${name}`);
  }
  return out.length > 0 ? out.join(" ") : "0s";
}

/** Active timers, as systemctl lists them; `all`: inactive ones too. */
export function formatListTimers(units: UnitStatus[], now = Date.now(), zone?: string, all = false): string {
  const timers = units.filter((u) => u.trigger?.kind === "timer" && (all || u.active === "active"));
  timers.sort((a, b) => (a.trigger!.next ?? Infinity) - (b.trigger!.next ?? Infinity) || a.name.localeCompare(b.name));
  const rows = timers.map((u) => {
    const t = u.trigger!;
    return [
      t.next === null ? "-" : timestamp(t.next, zone), t.next === null ? "-" : `${span(t.next - now)} left`,
      t.last === null ? "-" : timestamp(t.last, zone), t.last === null ? "-" : `${span(now - t.last)} ago`,
      u.name, t.unit,
    ];
  });
  const head = ["NEXT", "LEFT", "LAST", "PASSED", "UNIT", "ACTIVATES"];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join(" ").trimEnd();
  const hint = all ? [] : ["Pass --all to see loaded but inactive timers, too."];
  return [line(head), ...rows.map(line), "", `${timers.length} timer${timers.length === 1 ? "" : "s"} listed.`, ...hint].join("\n");
}

/** The lines `hearth ctl status` adds for a timer or path unit, after Active:. */
export function triggerLines(u: UnitStatus, now = Date.now()): string[] {
  const t = u.trigger;
  if (!t) return [];
  const lines: string[] = [];
  if (t.kind === "timer") {
    lines.push(`    Trigger: ${t.next === null ? "n/a" : `${timestamp(t.next)}; ${span(t.next - now)} left`}`);
  }
  lines.push(`   Triggers: ${t.unit}`);
  if (t.last !== null) lines.push(`  Triggered: ${timestamp(t.last)}; ${span(now - t.last)} ago${t.lastReason ? ` (${t.lastReason})` : ""}`);
  return lines;
}

// Rules of [timer] and [path] that involve more than one key, or the rest of the file: a
// timer or path unit starts another unit and runs nothing itself.
import type { Site } from "../config/diagnostics.ts";
import { PATH_KINDS, type PathSection, type TimerSection } from "./types.ts";

const TIMER_KEYS = ["on_calendar", "on_active_sec", "on_boot_sec", "on_startup_sec", "on_unit_active_sec", "on_unit_inactive_sec"] as const;

/**
 * The unit a timer or path unit starts: `unit` if given, else its own name without the
 * suffix ("logrotate.timer" starts "logrotate"), as systemd pairs foo.timer with foo.service.
 */
function triggered(section: { unit?: string | null }, name: string, suffix: ".timer" | ".path", raw: Record<string, unknown>, site: Site): string | null {
  if ("unit" in raw && typeof section.unit === "string") {
    if (section.unit === name) site.entry("unit").error("a unit cannot trigger itself");
    return section.unit;
  }
  if (name.endsWith(suffix) && name.length > suffix.length) return name.slice(0, -suffix.length);
  site.error(`name the unit to start with unit = "..." (or name this file NAME${suffix}.toml to start NAME)`, "key");
  return null;
}

export function checkTimer(timer: TimerSection, name: string, raw: Record<string, unknown>, site: Site, runsSomething: boolean): void {
  timer.unit = triggered(timer, name, ".timer", raw, site) ?? name;
  if (!TIMER_KEYS.some((key) => (timer[key] ?? []).length > 0)) site.error(`a timer needs one of ${TIMER_KEYS.join(", ")}`, "key");
  if (runsSomething) site.error("a timer unit runs nothing itself: put [service] and [[socket]] in the unit it starts", "key");
  if (timer.wake_system) site.entry("wake_system").warning("not supported (no wake alarm is armed): the timer elapses only while the board is awake");
  if (timer.persistent && timer.on_calendar.length === 0) {
    site.entry("persistent").warning("persistent applies to on_calendar only: this timer has none");
  }
}

export function checkPath(path: PathSection, name: string, raw: Record<string, unknown>, site: Site, runsSomething: boolean): void {
  path.unit = triggered(path, name, ".path", raw, site) ?? name;
  if (!PATH_KINDS.some((key) => (path[key] ?? []).length > 0)) site.error(`a path unit needs one of ${PATH_KINDS.join(", ")}`, "key");
  if (runsSomething) site.error("a path unit runs nothing itself: put [service] and [[socket]] in the unit it starts", "key");
}

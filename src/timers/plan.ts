// When a timer next elapses (systemd's timer_enter_waiting), from the clock facts it is
// given: pure. Monotonic values count on the engine's clock (ms); calendar values on the
// wall clock (epoch ms), derived from the engine's clock through the offset the shell
// reports, so a clock jump is a new offset and a re-plan, not a new fact to discover.
import type { CalendarSpec } from "./calendar.ts";
import type { TimerSection } from "./types.ts";

// The calendar (./calendar.ts) is loaded by the first timer with on_calendar: a chunk of its own in the executable, read synchronously by require.
const calendar = (): typeof import("./calendar.ts") => require("./calendar.ts");

/** What the engine knows of the clocks. */
export interface ClockFacts {
  realtimeOffset: number; // wall clock (epoch ms) minus the engine's clock
  bootAt: number; // the engine clock's reading at boot (CLOCK_BOOTTIME zero)
  startupAt: number; // … when the manager started
  zone?: string; // the local zone (tests); default the process's
}

/** When the timer last triggered its unit: engine clock, or only the wall clock (a persistent stamp read at start). */
export interface LastTrigger { mono: number | null; realtime: number | null }

export interface PlanInput {
  timer: TimerSection;
  calendars: CalendarSpec[];
  now: number;
  clock: ClockFacts;
  activatedAt: number; // the timer's own start (engine clock)
  last: LastTrigger;
  unitActiveAt: number | null; // the triggered unit's last start (engine clock)
  unitInactiveAt: number | null; // … and last stop
  disabled: ReadonlySet<string>; // one-shot values (on_active/on_boot/on_startup) already used
  timeChange: boolean;
}

export interface Plan {
  mono: number | null; // engine clock
  realtime: number | null; // epoch ms
  leaveAround: boolean; // on_unit_* values: the timer stays "elapsed" when nothing is left
  disable: string[]; // one-shot values to mark used
}

export function parseCalendars(timer: TimerSection): CalendarSpec[] {
  const out: CalendarSpec[] = [];
  for (const text of timer.on_calendar) {
    const spec = calendar().parseCalendar(text);
    if (!("error" in spec)) out.push(spec); // the loader refused bad ones already
  }
  return out;
}

/**
 * The wall-clock time of the last trigger, if it is known and not in the future: as the
 * wall clock read then (slewing since does not move it), or, after the clock was set, the
 * engine's reading mapped through the new offset.
 */
export function lastTriggerRealtime(last: LastTrigger, clock: ClockFacts, now: number): number | null {
  if (last.realtime !== null && last.realtime <= now + clock.realtimeOffset) return last.realtime;
  if (last.mono !== null) return last.mono + clock.realtimeOffset;
  return null;
}

export function planTimer(p: PlanInput): Plan {
  const { timer, clock, now } = p;
  let realtime: number | null = null;
  // Calendar: after the last trigger, or after the timer's start. Its start is kept on the
  // engine's clock and mapped to the wall clock now, so a board that started in 1970 and
  // was set by NTP later counts from the right date (systemd keeps the 1970 reading and
  // fires every calendar timer once after the jump; hearth fires only the ones missed).
  // Persistent: a missed elapse is due at once, but never before the manager's start
  // (systemd's rebase), so the random delay spreads timers that are due together.
  const lastWall = lastTriggerRealtime(p.last, clock, now);
  const base = lastWall ?? p.activatedAt + clock.realtimeOffset;
  const rebase = clock.startupAt + clock.realtimeOffset;
  for (const spec of p.calendars) {
    let at = calendar().nextElapse(spec, base, clock.zone);
    if (at === null) continue;
    if (at < rebase) at = rebase;
    realtime = realtime === null ? at : Math.min(realtime, at);
  }

  let mono: number | null = null;
  let leaveAround = false;
  const disable: string[] = [];
  const lastMono = p.last.mono;
  const consider = (key: string, values: number[], baseOf: () => number | null, oneShot: boolean) => {
    values.forEach((sec, i) => {
      const id = `${key}:${i}`;
      if (p.disabled.has(id) || !Number.isFinite(sec)) return;
      const b = baseOf();
      if (b === null) return;
      const at = b + sec * 1000;
      // A one-shot value already passed once the timer has triggered: used up.
      if (oneShot && (lastMono !== null || p.last.realtime !== null) && !p.timeChange && at < now) {
        disable.push(id);
        return;
      }
      mono = mono === null ? at : Math.min(mono, at);
    });
  };
  consider("on_active_sec", timer.on_active_sec, () => p.activatedAt, true);
  consider("on_boot_sec", timer.on_boot_sec, () => clock.bootAt, true);
  consider("on_startup_sec", timer.on_startup_sec, () => clock.startupAt, true);
  if (timer.on_unit_active_sec.length > 0) leaveAround = true;
  if (timer.on_unit_inactive_sec.length > 0) leaveAround = true;
  const latest = (a: number | null, b: number | null) => (a === null ? b : b === null ? a : Math.max(a, b));
  consider("on_unit_active_sec", timer.on_unit_active_sec, () => latest(p.unitActiveAt, lastMono), false);
  consider("on_unit_inactive_sec", timer.on_unit_inactive_sec, () => latest(p.unitInactiveAt, lastMono), false);
  return { mono, realtime, leaveAround, disable };
}

/**
 * The random delay of one elapse, in ms below randomized_delay_sec: fixed per machine and
 * unit with fixed_random_delay (a hash of both), else from the engine's generator.
 */
export function randomDelayMs(timer: TimerSection, unit: string, machineId: string, random: () => number): number {
  const span = timer.randomized_delay_sec * 1000;
  if (!(span > 0) || !Number.isFinite(span)) return 0;
  if (!timer.fixed_random_delay) return Math.floor(random() * span);
  return hash32(`${machineId}\0${unit}`) % Math.floor(span);
}

/** FNV-1a, 32 bits. */
export function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/**
 * Where in [at, at + accuracy] to wake (sd-event's sleep_between): on a whole minute, ten
 * seconds, second or 250 ms plus a per-machine offset, the coarsest that fits, so the
 * board's timers wake it together. The engine arms this; it shows `at`.
 */
export function coalesce(at: number, accuracyMs: number, perturbMs: number): number {
  if (!(accuracyMs > 1) || !Number.isFinite(at)) return at;
  const end = at + accuracyMs;
  for (const step of [60_000, 10_000, 1_000, 250]) {
    let c = Math.floor(end / step) * step + (perturbMs % step);
    if (c >= end) c -= step;
    if (c >= at) return c;
  }
  return end;
}

// Durations: a number of seconds (float allowed) or a systemd time span such as
// "500ms", "1min 30s", "2h", "1.5s" or "infinity". Always returned in seconds.

import { quote } from "./describe.ts";

/** A time unit as a fraction: seconds = amount * num / den (keeps "100ms" exactly 0.1). */
interface TimeUnit { num: number; den: number }

const USEC: TimeUnit = { num: 1, den: 1_000_000 };
const MSEC: TimeUnit = { num: 1, den: 1_000 };
const SEC: TimeUnit = { num: 1, den: 1 };
const MIN: TimeUnit = { num: 60, den: 1 };
const HOUR: TimeUnit = { num: 3_600, den: 1 };
const DAY: TimeUnit = { num: 86_400, den: 1 };
const WEEK: TimeUnit = { num: 604_800, den: 1 };
const MONTH: TimeUnit = { num: 2_629_800, den: 1 }; // 30.44 days, as systemd counts
const YEAR: TimeUnit = { num: 31_557_600, den: 1 }; // 365.25 days

/** The unit names systemd accepts (case matters: "m" is minutes, "M" months). */
const TIME_UNITS: Record<string, TimeUnit> = {
  us: USEC, usec: USEC, "µs": USEC, "μs": USEC,
  ms: MSEC, msec: MSEC,
  s: SEC, sec: SEC, second: SEC, seconds: SEC,
  m: MIN, min: MIN, minute: MIN, minutes: MIN,
  h: HOUR, hr: HOUR, hour: HOUR, hours: HOUR,
  d: DAY, day: DAY, days: DAY,
  w: WEEK, week: WEEK, weeks: WEEK,
  M: MONTH, month: MONTH, months: MONTH,
  y: YEAR, year: YEAR, years: YEAR,
};

const UNIT_HINT = "us, ms, s, min, h, d, w, M, y";
const FORMS_HINT = 'a number of seconds or a time span like "500ms", "1min 30s", "infinity"';

export class DurationError extends Error {}

/** One "<number><unit>" part of a span; the unit may be left out (seconds). */
const SPAN_PART = /\s*(\d+(?:\.\d*)?|\.\d+)\s*([^\s\d.]*)\s*/y;

/** Seconds for a TOML value: a non-negative number, or a span string. Throws DurationError. */
export function parseDuration(value: unknown): number {
  if (typeof value === "number") return checkSeconds(value, String(value));
  if (typeof value === "string") return parseTimeSpan(value);
  throw new DurationError(`expected a duration (${FORMS_HINT})`);
}

function checkSeconds(seconds: number, shown: string): number {
  if (Number.isNaN(seconds)) throw new DurationError(`${quote(shown)} is not a duration`);
  if (seconds < 0) throw new DurationError(`a duration cannot be negative (got ${shown})`);
  return seconds;
}

/** Seconds for a systemd time span string. Throws DurationError. */
export function parseTimeSpan(text: string): number {
  const span = text.trim();
  if (span === "") throw new DurationError(`empty duration: expected ${FORMS_HINT}`);
  if (span === "infinity") return Infinity;
  if (span.startsWith("-")) throw new DurationError(`a duration cannot be negative (got ${quote(text)})`);

  let seconds = 0;
  SPAN_PART.lastIndex = 0;
  while (SPAN_PART.lastIndex < span.length) {
    const at = SPAN_PART.lastIndex;
    const part = SPAN_PART.exec(span);
    if (part === null) {
      const where = at === 0 ? "" : ` at ${quote(span.slice(at))}`;
      throw new DurationError(`cannot read ${quote(text)} as a duration${where}: expected ${FORMS_HINT}`);
    }
    const [, amount, unitName] = part as unknown as [string, string, string];
    if (unitName === "" && SPAN_PART.lastIndex < span.length && !/\s$/.test(part[0])) {
      throw new DurationError(`cannot read ${quote(text)} as a duration: expected ${FORMS_HINT}`);
    }
    const unit = unitName === "" ? SEC : TIME_UNITS[unitName];
    if (unit === undefined) {
      throw new DurationError(`unknown time unit ${quote(unitName)} in ${quote(text)} (use ${UNIT_HINT})`);
    }
    seconds += (Number(amount) * unit.num) / unit.den;
  }
  return seconds;
}

/** The shortest readable span for a number of seconds: 90 -> "1min 30s", 0.1 -> "100ms". */
export function formatDuration(seconds: number): string {
  if (seconds === Infinity) return "infinity";
  let usec = Math.round(seconds * 1_000_000);
  if (usec === 0) return "0";
  const parts: string[] = [];
  const steps: [string, number][] = [
    ["w", 604_800e6], ["d", 86_400e6], ["h", 3_600e6], ["min", 60e6], ["s", 1e6], ["ms", 1e3], ["us", 1],
  ];
  for (const [name, size] of steps) {
    const count = Math.floor(usec / size);
    if (count > 0) parts.push(`${count}${name}`);
    usec -= count * size;
  }
  return parts.join(" ");
}

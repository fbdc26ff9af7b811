// systemd's calendar events (systemd.time(7), "CALENDAR EVENTS"): the parser, the normalized
// form `systemd-analyze calendar` prints, and the next elapse after an instant. Pure: time
// zones come from Intl (Bun ships the full IANA database; the zone of a board without a
// suffix is the process's local one). Instants are epoch microseconds inside, as systemd
// counts them (a second may be written "1.5"); the exported functions take and give ms.

/** One comma-separated item of a field: a value, a range `a..b`, a repetition `a/r`. */
export interface Component {
  start: number;
  stop: number | null; // the last value of a range (or of a repetition within it)
  repeat: number; // 0: the value alone (or every value of the range when stop is set)
}

/** A parsed calendar event. `null` for a field means `*` (any). Seconds are in µs. */
export interface CalendarSpec {
  weekdays: number | null; // bit 0 = Monday … bit 6 = Sunday
  year: Component[] | null;
  month: Component[] | null;
  day: Component[] | null;
  endOfMonth: boolean; // "~": days count back from the month's end
  hour: Component[] | null;
  minute: Component[] | null;
  second: Component[] | null; // µs within the minute
  zone: string | null; // null: local time; "UTC" or an IANA name
  zoneWord: string | null; // the suffix as written (a local abbreviation like "CET" stays local)
}

const US = 1_000_000;
const MAX_YEAR = 2199; // systemd's bound: no elapse is looked for past it
const DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
const LONG_DAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"];

const SHORTCUTS: Record<string, string> = {
  minutely: "*-*-* *:*:00",
  hourly: "*-*-* *:00:00",
  daily: "*-*-* 00:00:00",
  monthly: "*-*-01 00:00:00",
  weekly: "Mon *-*-* 00:00:00",
  yearly: "*-01-01 00:00:00",
  annually: "*-01-01 00:00:00",
  quarterly: "*-01,04,07,10-01 00:00:00",
  semiannually: "*-01,07-01 00:00:00",
};

// ---------------------------------------------------------------- parsing

/** Parses a calendar event; an error says what is wrong with it. */
export function parseCalendar(text: string): CalendarSpec | { error: string } {
  try {
    return parse(text);
  } catch (e) {
    return { error: (e as Error).message };
  }
}

function parse(text: string): CalendarSpec {
  if (text !== text.trim() || text === "") throw new Error("empty, or with spaces around it");
  if (text.startsWith("@")) return fromTimestamp(text.slice(1));
  let words = text.split(/\s+/);
  let zone: string | null = null;
  let zoneWord: string | null = null;
  if (words.length > 1) {
    const last = words[words.length - 1]!;
    const found = zoneOf(last);
    if (found !== undefined) {
      zone = found;
      zoneWord = last;
      words = words.slice(0, -1);
    }
  }
  if (words.length === 1 && SHORTCUTS[words[0]!] !== undefined) words = SHORTCUTS[words[0]!]!.split(" ");
  const spec: CalendarSpec = {
    weekdays: null, year: null, month: null, day: null, endOfMonth: false,
    hour: [{ start: 0, stop: null, repeat: 0 }], minute: [{ start: 0, stop: null, repeat: 0 }],
    second: [{ start: 0, stop: null, repeat: 0 }], zone, zoneWord,
  };
  let i = 0;
  if (words[i] !== undefined && /^[A-Za-z]/.test(words[i]!)) spec.weekdays = parseWeekdays(words[i++]!);
  if (words[i] !== undefined && !words[i]!.includes(":")) parseDate(words[i++]!, spec);
  if (words[i] !== undefined) parseTime(words[i++]!, spec);
  if (i < words.length) throw new Error(`unexpected "${words[i]}"`);
  if (i === 0) throw new Error("nothing to match");
  return spec;
}

/** UTC, an IANA zone name, or the local zone's own abbreviation (which stays local); undefined: not a zone. */
function zoneOf(word: string): string | null | undefined {
  if (word === "UTC" || word === "Z" || word === "GMT") return "UTC";
  if (/^[A-Z]{3,5}$/.test(word) && localAbbreviations().has(word)) return null;
  if (!/^[A-Za-z][A-Za-z0-9_+-]*(\/[A-Za-z0-9_+-]+)+$/.test(word)) return undefined;
  let known = knownZones.get(word);
  if (known === undefined) {
    try {
      known = new Intl.DateTimeFormat("en-US", { timeZone: word }).resolvedOptions().timeZone !== undefined;
    } catch {
      known = false;
    }
    if (knownZones.size < 1000) knownZones.set(word, known);
  }
  return known ? word : undefined;
}

const knownZones = new Map<string, boolean>(); // asking Intl costs ~100 us a name

let localAbbrevs: Set<string> | null = null;
function localAbbreviations(): Set<string> {
  if (localAbbrevs) return localAbbrevs;
  const names = new Set<string>();
  const year = new Date().getUTCFullYear();
  for (const month of [0, 6]) {
    const parts = new Intl.DateTimeFormat("en-US", { timeZoneName: "short" }).formatToParts(Date.UTC(year, month, 1));
    const name = parts.find((p) => p.type === "timeZoneName")?.value;
    if (name && /^[A-Z]{3,5}$/.test(name)) names.add(name);
  }
  return (localAbbrevs = names);
}

function fromTimestamp(text: string): CalendarSpec {
  if (!/^\d+$/.test(text)) throw new Error("@ takes seconds since the epoch");
  const d = new Date(Number(text) * 1000);
  if (Number.isNaN(d.getTime()) || d.getUTCFullYear() > MAX_YEAR) throw new Error("timestamp out of range");
  const one = (v: number): Component[] => [{ start: v, stop: null, repeat: 0 }];
  return {
    weekdays: null, year: one(d.getUTCFullYear()), month: one(d.getUTCMonth() + 1), day: one(d.getUTCDate()),
    endOfMonth: false, hour: one(d.getUTCHours()), minute: one(d.getUTCMinutes()), second: one(d.getUTCSeconds() * US),
    zone: "UTC", zoneWord: "UTC",
  };
}

function dayIndex(word: string): number {
  const w = word.toLowerCase();
  const i = LONG_DAYS.findIndex((d) => d === w || d.slice(0, 3) === w);
  if (i < 0) throw new Error(`"${word}" is not a weekday`);
  return i;
}

function parseWeekdays(word: string): number {
  let bits = 0;
  for (const item of word.replace(/,$/, "").split(",")) {
    const range = item.split(/\.\.|-/);
    if (range.length > 2 || item === "") throw new Error(`bad weekday "${item}"`);
    const a = dayIndex(range[0]!);
    const b = range.length === 2 ? dayIndex(range[1]!) : a;
    if (b < a) throw new Error(`weekday range "${item}" runs backwards`);
    for (let d = a; d <= b; d++) bits |= 1 << d;
  }
  return bits;
}

function parseDate(word: string, spec: CalendarSpec) {
  const tilde = word.indexOf("~");
  if (tilde >= 0 && word.indexOf("~", tilde + 1) >= 0) throw new Error("one ~ at most");
  const parts = word.split(/[-~]/);
  if (tilde >= 0 && word.lastIndexOf("-") > tilde) throw new Error("~ goes before the day");
  if (parts.length < 2 || parts.length > 3) throw new Error(`bad date "${word}"`);
  spec.endOfMonth = tilde >= 0;
  if (tilde >= 0 && tilde !== word.length - parts[parts.length - 1]!.length - 1) throw new Error("~ goes before the day");
  const [y, m, d] = parts.length === 3 ? parts : [null, ...parts];
  if (y !== null) spec.year = parseField(y!, 1970, MAX_YEAR, "year", true);
  spec.month = parseField(m!, 1, 12, "month");
  spec.day = parseField(d!, 1, 31, "day");
}

function parseTime(word: string, spec: CalendarSpec) {
  const parts = word.split(":");
  if (parts.length < 2 || parts.length > 3) throw new Error(`bad time "${word}"`);
  spec.hour = parseField(parts[0]!, 0, 23, "hour");
  spec.minute = parseField(parts[1]!, 0, 59, "minute");
  spec.second = parts.length === 3 ? parseField(parts[2]!, 0, 60 * US - 1, "second", false, true) : [{ start: 0, stop: null, repeat: 0 }];
}

/** A field: `*`, or comma-separated values, ranges `a..b` and repetitions `a/r`, `a..b/r`. */
function parseField(text: string, min: number, max: number, what: string, year = false, seconds = false): Component[] | null {
  if (text === "*") return null;
  const out: Component[] = [];
  for (const item of text.split(",")) {
    const m = /^([^./]+(?:\.\d+)?|\*)(?:\.\.([^/]+))?(?:\/(.+))?$/.exec(item);
    if (!m) throw new Error(`bad ${what} "${item}"`);
    const value = (s: string) => {
      const v = readNumber(s, seconds, what);
      const full = year && v < 100 ? (v < 70 ? 2000 + v : 1900 + v) : v;
      if (full < min || full > max) throw new Error(`${what} ${s} out of range`);
      return full;
    };
    if (m[1] === "*" && (m[2] !== undefined || m[3] === undefined)) throw new Error(`bad ${what} "${item}"`);
    if (m[1] === "*" && (year || what === "month" || what === "day")) throw new Error(`"*/N" is not allowed for the ${what}`);
    const start = m[1] === "*" ? min : value(m[1]!);
    let stop = m[2] === undefined ? null : value(m[2]);
    const repeat = m[3] === undefined ? (stop === null ? 0 : seconds ? US : 1) : readNumber(m[3], seconds, what);
    if (m[3] !== undefined && repeat <= 0) throw new Error(`bad repetition in ${what} "${item}"`);
    if (stop !== null && stop < start) throw new Error(`${what} range "${item}" runs backwards`);
    if (stop !== null && repeat > 0) stop = start + Math.floor((stop - start) / repeat) * repeat; // the last value reached
    out.push({ start, stop, repeat });
  }
  // Sorted, repeats dropped: "12,14,13,12" is "12,13,14", as systemd normalizes it.
  out.sort((a, b) => a.start - b.start || (a.stop ?? -1) - (b.stop ?? -1) || a.repeat - b.repeat);
  return out.filter((c, i) => i === 0 || JSON.stringify(c) !== JSON.stringify(out[i - 1]));
}

function readNumber(s: string, seconds: boolean, what: string): number {
  if (seconds ? !/^\d+(\.\d{1,6})?$/.test(s) : !/^\d+$/.test(s)) throw new Error(`bad ${what} "${s}"`);
  if (!seconds) return Number(s);
  const [whole, frac = ""] = s.split(".");
  return Number(whole) * US + Number(frac.padEnd(6, "0"));
}

// ---------------------------------------------------------------- the normalized form

/** The form `systemd-analyze calendar` prints as "Normalized form". */
export function formatCalendar(spec: CalendarSpec): string {
  const out: string[] = [];
  if (spec.weekdays !== null) out.push(formatWeekdays(spec.weekdays));
  const pad = (n: number, w: number) => String(n).padStart(w, "0");
  const fraction = (spec.second ?? []).some((c) => c.start % US !== 0 || c.repeat % US !== 0 || (c.stop ?? 0) % US !== 0);
  const sec = (v: number) => (fraction ? `${pad(Math.floor(v / US), 2)}.${pad(v % US, 6)}` : pad(Math.floor(v / US), 2));
  const secRepeat = (v: number) => (fraction ? `${Math.floor(v / US)}.${pad(v % US, 6)}` : String(v / US));
  const field = (cs: Component[] | null, w: number, f = (v: number) => pad(v, w), r = (v: number) => String(v)) =>
    cs === null ? "*" : cs.map((c) => {
      let s = f(c.start);
      if (c.stop !== null) s += `..${f(c.stop)}`;
      const unitStep = f === sec ? US : 1;
      if (c.repeat > 0 && !(c.stop !== null && c.repeat === unitStep)) s += `/${r(c.repeat)}`;
      return s;
    }).join(",");
  out.push(`${field(spec.year, 4)}-${field(spec.month, 2)}${spec.endOfMonth ? "~" : "-"}${field(spec.day, 2)}`);
  out.push(`${field(spec.hour, 2)}:${field(spec.minute, 2)}:${field(spec.second, 2, sec, secRepeat)}`);
  if (spec.zoneWord !== null) out.push(spec.zoneWord === "Z" || spec.zoneWord === "GMT" ? "UTC" : spec.zoneWord);
  return out.join(" ");
}

function formatWeekdays(bits: number): string {
  const items: string[] = [];
  for (let d = 0; d < 7;) {
    if (!(bits & (1 << d))) { d++; continue; }
    let e = d;
    while (e + 1 < 7 && bits & (1 << (e + 1))) e++;
    if (e - d >= 2) items.push(`${DAYS[d]}..${DAYS[e]}`);
    else for (let k = d; k <= e; k++) items.push(DAYS[k]!);
    d = e + 1;
  }
  return items.join(",");
}

// ---------------------------------------------------------------- the next elapse

/** A wall-clock reading in some zone; usec counts within the minute. */
interface Wall { year: number; month: number; day: number; hour: number; minute: number; usec: number }

/**
 * The first instant strictly after `afterMs` the event matches, in epoch ms (a fraction
 * for sub-ms seconds), or null when there is none (before the year 2200). `localZone`:
 * the zone of an event without a suffix (default: the process's).
 */
export function nextElapse(spec: CalendarSpec, afterMs: number, localZone?: string): number | null {
  const zone = spec.zone ?? localZone ?? localZoneName();
  const from = Math.floor(afterMs * 1000) + 1; // µs, strictly after
  let wall: Wall | null = toWall(from, zone);
  for (let guard = 0; guard < 1000; guard++) {
    wall = nextWall(spec, wall);
    if (wall === null) return null;
    const at = fromWall(wall, zone, from);
    if (at !== null) return at / 1000;
    wall = { ...wall, usec: wall.usec + 1 }; // a time the zone skips (DST): look after it
  }
  return null;
}

export function localZoneName(): string {
  return new Intl.DateTimeFormat().resolvedOptions().timeZone ?? "UTC";
}

/** The smallest value of the field >= v; v itself for `*`; null if none. */
function atLeast(cs: Component[] | null, v: number): number | null {
  if (cs === null) return v;
  let best: number | null = null;
  for (const c of cs) {
    let k: number;
    if (c.start >= v) k = c.start;
    else if (c.repeat > 0) k = c.start + c.repeat * Math.ceil((v - c.start) / c.repeat);
    else continue;
    if (c.stop !== null && k > c.stop) continue;
    if (best === null || k < best) best = k;
  }
  return best;
}

/** Days counted back from the month's end ("~3": the third last) made into days of the month. */
function monthDays(spec: CalendarSpec, dim: number): Component[] | null {
  if (!spec.endOfMonth || spec.day === null) return spec.day;
  return spec.day.map((c) => {
    const a = dim - c.start + 1;
    const b = c.stop === null ? null : dim - c.stop + 1;
    if (b === null) return { start: a, stop: c.repeat > 0 ? null : null, repeat: c.repeat };
    return { start: Math.min(a, b), stop: Math.max(a, b), repeat: c.repeat };
  });
}

const EVERY_SECOND: Component[] = [{ start: 0, stop: null, repeat: US }];

function nextWall(spec: CalendarSpec, w: Wall): Wall | null {
  let { year, month, day, hour, minute, usec } = w;
  const reset = (level: number) => {
    if (level <= 0) month = 1;
    if (level <= 1) day = 1;
    if (level <= 2) hour = 0;
    if (level <= 3) minute = 0;
    if (level <= 4) usec = 0;
  };
  for (let guard = 0; guard < 200_000; guard++) {
    if (year > MAX_YEAR) return null;
    const y = atLeast(spec.year, year);
    if (y === null || y > MAX_YEAR) return null;
    if (y > year) { year = y; reset(0); }
    const mo = atLeast(spec.month, month);
    if (mo === null || mo > 12) { year++; reset(0); continue; }
    if (mo > month) { month = mo; reset(1); }
    const dim = daysInMonth(year, month);
    const d = atLeast(monthDays(spec, dim), day);
    if (d === null || d > dim) { month++; if (month > 12) { year++; month = 1; } reset(1); continue; }
    if (d > day) { day = d; reset(2); }
    if (spec.weekdays !== null && !(spec.weekdays & (1 << weekday(year, month, day)))) {
      day++;
      if (day > dim) { month++; if (month > 12) { year++; month = 1; } day = 1; }
      reset(2);
      continue;
    }
    const h = atLeast(spec.hour, hour);
    if (h === null || h > 23) { day++; if (day > dim) { month++; if (month > 12) { year++; month = 1; } day = 1; } reset(2); continue; }
    if (h > hour) { hour = h; reset(3); }
    const mi = atLeast(spec.minute, minute);
    if (mi === null || mi > 59) { hour++; reset(3); if (hour > 23) { hour = 0; day++; if (day > dim) { month++; if (month > 12) { year++; month = 1; } day = 1; } } continue; }
    if (mi > minute) { minute = mi; reset(4); }
    const s = atLeast(spec.second ?? EVERY_SECOND, usec); // "*" matches whole seconds
    if (s === null || s >= 60 * US) {
      minute++; usec = 0;
      if (minute > 59) { minute = 0; hour++; if (hour > 23) { hour = 0; day++; if (day > dim) { month++; if (month > 12) { year++; month = 1; } day = 1; } } }
      continue;
    }
    return { year, month, day, hour, minute, usec: s };
  }
  return null;
}

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/** 0 = Monday … 6 = Sunday. */
function weekday(year: number, month: number, day: number): number {
  return (new Date(Date.UTC(year, month - 1, day)).getUTCDay() + 6) % 7;
}

// ---------------------------------------------------------------- zones

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(zone: string): Intl.DateTimeFormat {
  let f = formatters.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", {
      timeZone: zone, hourCycle: "h23", year: "numeric", month: "numeric", day: "numeric",
      hour: "numeric", minute: "numeric", second: "numeric",
    });
    formatters.set(zone, f);
  }
  return f;
}

/** The zone's offset from UTC at an instant, in ms (whole seconds). */
function offsetMs(zone: string, ms: number): number {
  if (zone === "UTC") return 0;
  const at = Math.floor(ms / 1000) * 1000;
  const p: Record<string, number> = {};
  for (const part of formatter(zone).formatToParts(at)) if (part.type !== "literal") p[part.type] = Number(part.value);
  return Date.UTC(p.year!, p.month! - 1, p.day!, p.hour!, p.minute!, p.second!) - at;
}

function toWall(us: number, zone: string): Wall {
  const ms = Math.floor(us / 1000);
  const local = new Date(ms + offsetMs(zone, ms));
  const subMinute = (local.getUTCSeconds() * 1000 + local.getUTCMilliseconds()) * 1000 + (us - ms * 1000);
  return {
    year: local.getUTCFullYear(), month: local.getUTCMonth() + 1, day: local.getUTCDate(),
    hour: local.getUTCHours(), minute: local.getUTCMinutes(), usec: subMinute,
  };
}

/** The wall time read as if the zone were UTC, in µs. */
function naiveUs(w: Wall): number {
  return Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute) * 1000 + w.usec;
}

/**
 * The instant the zone shows this wall time, at or after `notBefore` µs; null when the zone
 * skips it (spring forward). Of two (fall back), the earlier one not before notBefore.
 */
function fromWall(w: Wall, zone: string, notBefore: number): number | null {
  const naive = naiveUs(w);
  const candidates = new Set<number>();
  for (const probe of [naive - 26 * 3600 * US, naive, naive + 26 * 3600 * US]) {
    const off = offsetMs(zone, Math.floor(probe / 1000));
    candidates.add(naive - off * 1000);
  }
  let best: number | null = null;
  for (const c of candidates) {
    if (c < notBefore) continue;
    const back = toWall(c, zone);
    if (naiveUs(back) !== naive) continue;
    if (best === null || c < best) best = c;
  }
  return best;
}

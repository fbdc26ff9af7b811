// systemd's calendar events, checked against systemd itself: `systemd-analyze calendar`
// (with --base-time and TZ set) is the reference for the normalized form and for each
// next elapse; hearth's parser and next-elapse computation must say the same.
import { describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { formatCalendar, nextElapse, parseCalendar } from "../../src/timers/calendar.ts";

const ANALYZE = "/usr/bin/systemd-analyze";
const haveAnalyze = existsSync(ANALYZE);

interface Reference { normalized: string | null; elapses: number[] } // elapses: epoch seconds

/** What systemd-analyze says of each expression: its normalized form and the next elapses. */
function reference(exprs: string[], zone: string, baseSec: number, iterations: number): Map<string, Reference> {
  const run = Bun.spawnSync([ANALYZE, `--base-time=@${baseSec}`, "calendar", `--iterations=${iterations}`, ...exprs], {
    env: { ...process.env, TZ: zone, LC_ALL: "C", SYSTEMD_COLORS: "0" },
  });
  // One block per expression systemd parsed; "Original form" only when it differs from the normalized one.
  const out = new Map<string, Reference>();
  for (const block of run.stdout.toString().split(/\n\s*\n/)) {
    const lines = block.split("\n").map((l) => l.trim());
    const original = lines.map((l) => /^Original form: (.*)$/.exec(l)?.[1]).find((x) => x !== undefined);
    const normalized = lines.map((l) => /^Normalized form: (.*)$/.exec(l)?.[1]).find((x) => x !== undefined);
    if (normalized === undefined) continue;
    const elapses: number[] = [];
    for (let i = 0; i < lines.length; i++) {
      const m = /^(?:Next elapse|Iter\. #\d+): \w+ (\d+-\d+-\d+ \d+:\d+:\d+) (\S+)$/.exec(lines[i]!);
      if (!m) continue;
      const utc = m[2] === "UTC" ? m[1] : /^\(in UTC\): \w+ (\d+-\d+-\d+ \d+:\d+:\d+) UTC$/.exec(lines[i + 1] ?? "")?.[1];
      if (utc !== undefined) elapses.push(Date.parse(`${utc!.replace(" ", "T")}Z`) / 1000);
    }
    out.set(original ?? normalized, { normalized, elapses });
  }
  return out;
}

/** hearth's elapses, chained from the base as systemd-analyze chains them, in whole seconds. */
function hearthElapses(expr: string, zone: string, baseSec: number, iterations: number): { normalized: string; elapses: number[] } | null {
  const spec = parseCalendar(expr);
  if ("error" in spec) return null;
  const elapses: number[] = [];
  let at = baseSec * 1000;
  for (let i = 0; i < iterations; i++) {
    const next = nextElapse(spec, at, zone);
    if (next === null) break;
    elapses.push(Math.floor(next / 1000));
    at = next;
  }
  return { normalized: formatCalendar(spec), elapses };
}

const EXPRESSIONS = [
  // systemd.time(7)'s own examples
  "Sat,Thu,Mon..Wed,Sat..Sun", "Mon,Sun 12-*-* 2,1:23", "Wed *-1", "Wed..Wed,Wed *-1", "Wed, 17:48",
  "Wed..Sat,Tue 12-10-15 1:2:3", "*-*-7 0:0:0", "10-15", "monday *-12-* 17:00", "Mon,Fri *-*-3,1,2 *:30:45",
  "12,14,13,12:20,10,30", "12..14:10,20,30", "mon,fri *-1/2-1,3 *:30:45", "03-05 08:05:40", "08:05:40",
  "05:40", "Sat,Sun 12-05 08:05:40", "Sat,Sun 08:05:40", "2003-03-05 05:40", "05:40 UTC", "2003-03-05",
  "03-05", "hourly", "daily", "daily UTC", "monthly", "weekly", "yearly", "annually", "quarterly",
  "semiannually", "minutely", "*:2/3", "*-*-* *:*:*", "*:*:0/5", "*:0/15", "Mon..Fri 8:00",
  "*-02~03", "Mon *-05~07/1", "*-*~1..5", "*-*-1..5/2", "2020..2030/3-1-1", "*-*-* 8:7:6.2",
  "*:*:1.5/2.25", "Mon-Fri 9:00", "mon,TUE 10:00", "Thursday 1:1", "*-*-* 02:30:00", "*-*-* 01:30:00",
  "*-*-* 03:15", "Sun *-*-* 02:30:00", "*-*-31", "*-02-29 12:00", "*-*-* *:00/20:00,30",
  "8:00 Europe/Berlin", "*-*-* 00:00:00 Asia/Tokyo", "Sat,Sun 10:00 UTC", "*-*-* 12:00 America/New_York",
  "@1700000000", "2199-12-31 23:59:59", "*-*~01 23:00",
  // refused by systemd
  "*-*-* 24:00", "Wed..Mon", "*-*-~01", "*:*:60", "*/3-*-*", "today", "", "Mon..", "1-2-3-4", "*-13-01",
];

// Instants: ordinary days, both DST changes in Europe and America, a leap day, year ends.
const BASES = [1_700_000_000, 1_711_846_800 - 4000, 1_729_990_800 - 5000, 1_709_200_000, 1_735_689_500, 0, 1_741_500_000];
const ZONES = ["UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe"];

describe.skipIf(!haveAnalyze)("calendar events against systemd-analyze calendar", () => {
  for (const zone of ZONES) {
    test(`the normalized form and the next 6 elapses match systemd's in ${zone}`, () => {
      const mismatches: string[] = [];
      for (const base of BASES) {
        const ref = reference(EXPRESSIONS, zone, base, 6);
        for (const expr of EXPRESSIONS) {
          const want = ref.get(expr) ?? null;
          const got = hearthElapses(expr, zone, base, 6);
          if (want === null || want.normalized === null) {
            if (got !== null) mismatches.push(`${expr}: systemd refuses it, hearth parses it as ${got.normalized}`);
            continue;
          }
          if (got === null) { mismatches.push(`${expr}: systemd parses it, hearth refuses it`); continue; }
          if (got.normalized !== want.normalized) mismatches.push(`${expr}: normalized ${got.normalized} != ${want.normalized}`);
          if (JSON.stringify(got.elapses) !== JSON.stringify(want.elapses)) {
            const show = (xs: number[]) => xs.map((s) => new Date(s * 1000).toISOString()).join(" ");
            mismatches.push(`${expr} from @${base}: hearth ${show(got.elapses)} != systemd ${show(want.elapses)}`);
          }
        }
      }
      expect(mismatches).toEqual([]);
    });
  }
});

describe("calendar events", () => {
  test("a time zone suffix counts in that zone whatever the local one", () => {
    const spec = parseCalendar("*-*-* 08:00:00 Asia/Tokyo");
    if ("error" in spec) throw new Error(spec.error);
    const at = nextElapse(spec, Date.UTC(2024, 0, 1, 0, 0), "America/New_York")!;
    expect(new Date(at).toISOString()).toBe("2024-01-01T23:00:00.000Z"); // 08:00 JST the next day
  });

  test("fractions of a second are kept to the microsecond", () => {
    const spec = parseCalendar("*:*:1.5/2.25");
    if ("error" in spec) throw new Error(spec.error);
    expect(nextElapse(spec, Date.UTC(2024, 0, 1, 0, 0, 2), "UTC")).toBe(Date.UTC(2024, 0, 1, 0, 0, 3, 750));
  });

  test("an event with no future elapse says never", () => {
    const spec = parseCalendar("2003-03-05");
    if ("error" in spec) throw new Error(spec.error);
    expect(nextElapse(spec, Date.UTC(2024, 0, 1), "UTC")).toBeNull();
  });

  test("a bad expression is refused with a reason", () => {
    const r = parseCalendar("*-13-01");
    expect("error" in r && r.error).toContain("month");
  });
});

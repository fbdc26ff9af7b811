// Timer and path units under `hearth run` with real processes, a real timerfd and real
// inotify: a monotonic timer fires on time, a calendar timer fires at its second, a
// persistent timer writes its stamp, and list-timers shows them.
// (Moving the wall clock is not done here: it would move the host's; the jump is tested in
// the pure core, test/unit/timers-engine.test.ts.)
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { cleanup, poll, startManager, tempDir, writeConf, type RunningManager } from "../support/harness.ts";

let m: RunningManager;
let conf: string;
let out: string;
let state: string;
let startedAt: number;

/** A oneshot service that appends the time (epoch seconds) to out/NAME. */
const stampService = (name: string) =>
  ["[service]", 'type = "oneshot"', `exec_start = ["/bin/sh", "-c", "date +%s.%N >> ${out}/${name}"]`].join("\n");

const lines = (name: string) => (existsSync(join(out, name)) ? readFileSync(join(out, name), "utf8").trim().split("\n").filter(Boolean) : []);

beforeAll(async () => {
  out = tempDir("timer-out");
  state = tempDir("timer-state");
  conf = writeConf({
    "soon": stampService("soon"),
    "soon.timer": ['[unit]', 'wanted_by = ["multi-user"]', "[timer]", 'on_active_sec = "2s"', 'accuracy_sec = "1ms"'].join("\n"),
    "every5": stampService("every5"),
    "every5.timer": ['[unit]', 'wanted_by = ["multi-user"]', "[timer]", 'on_calendar = "*:*:0/5"', 'accuracy_sec = "1ms"', "persistent = true"].join("\n"),
    "later": stampService("later"),
    "later.timer": ['[unit]', 'wanted_by = ["multi-user"]', "[timer]", 'on_calendar = "yearly"'].join("\n"),
  });
  startedAt = Date.now();
  m = await startManager(conf, [], { env: { XDG_STATE_HOME: state } });
});

afterAll(() => cleanup(m, conf, out, state));

describe("timers under hearth run", () => {
  test("a monotonic timer starts its service once, about on_active_sec after it started", async () => {
    const [first] = await poll("soon to run", () => lines("soon").length > 0 && lines("soon"), { timeoutMs: 15_000 });
    const after = Number(first) * 1000 - startedAt;
    expect(after).toBeGreaterThanOrEqual(1900); // not before its time (the clock read before the manager started)
    expect(after).toBeLessThan(10_000);
    await Bun.sleep(500);
    expect(lines("soon").length).toBe(1);
    const status = await m.ctl("status", "soon.timer");
    expect(status.stdout).toContain("Triggers: soon");
    expect(status.stdout).toContain("(elapsed)");
  });

  test("a calendar timer fires on its seconds, and a persistent one keeps its stamp", async () => {
    const runs = await poll("every5 to run twice", () => lines("every5").length >= 2 && lines("every5"), { timeoutMs: 20_000 });
    for (const at of runs.map(Number)) {
      const intoSlot = at % 5; // due at a second that is a multiple of 5
      expect(intoSlot).toBeLessThan(2.5); // started within a generous bound of it
    }
    const stamp = statSync(join(state, "hearth/timers/every5.timer")).mtimeMs;
    expect(Math.abs(stamp / 1000 - Math.floor(Number(runs.at(-1)!)))).toBeLessThan(5);
  });

  test("list-timers shows each timer's next and last elapse and what it starts, soonest first", async () => {
    await poll("every5 to have run", () => lines("every5").length >= 1);
    const r = await m.ctl("list-timers");
    expect(r.code).toBe(0);
    const [head, ...rows] = r.stdout.trimEnd().split("\n");
    expect(head).toMatch(/^NEXT +LEFT +LAST +PASSED +UNIT +ACTIVATES$/);
    const every5 = rows.find((l) => l.includes("every5.timer"))!;
    expect(every5).toMatch(/^\w{3} \d{4}-\d\d-\d\d \d\d:\d\d:\d\d \S+ +\d+s left +\w{3} .* ago +every5\.timer +every5$/);
    const later = rows.findIndex((l) => l.includes("later.timer"));
    expect(later).toBeGreaterThan(rows.findIndex((l) => l.includes("every5.timer"))); // a year away: after
    expect(rows.find((l) => l.includes("later.timer"))).toMatch(/ - +- +later\.timer +later$/); // never triggered
    expect(r.stdout).toContain("3 timers listed.");
    const json = await m.ctlJson<{ units: { name: string; trigger: { next: number } }[] }>("list-timers");
    expect(json.units.find((u) => u.name === "later.timer")!.trigger.next).toBe(Date.UTC(new Date().getUTCFullYear() + 1, 0, 1) + new Date(Date.UTC(new Date().getUTCFullYear() + 1, 0, 1)).getTimezoneOffset() * 60_000);
  });
});


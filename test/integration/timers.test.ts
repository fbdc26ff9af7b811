// Timer and path units under `hearth run` with real processes, a real timerfd and real
// inotify: a monotonic timer fires on time, a calendar timer fires at its second, a
// persistent timer writes its stamp, list-timers shows them, and a path unit fires when a
// file is created (also in a directory that did not exist) and when one is modified.
// (Moving the wall clock is not done here: it would move the host's; the jump is tested in
// the pure core, test/unit/timers-engine.test.ts.)
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cleanup, poll, startManager, tempDir, writeConf, type RunningManager } from "../support/harness.ts";

let m: RunningManager;
let conf: string;
let out: string;
let state: string;
let startedAt: number;

/** A oneshot service that appends the time (epoch seconds) to out/NAME. */
const stampService = (name: string) =>
  ["[service]", 'type = "oneshot"', `exec_start = ["/bin/sh", "-c", "date +%%s.%%N >> ${out}/${name}"]`].join("\n");

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
    "spool": ["[service]", 'type = "oneshot"', `exec_start = ["/bin/sh", "-c", "echo created >> ${out}/spool; rm -f ${out}/in/deep/flag"]`].join("\n"),
    "spool.path": ['[unit]', 'wanted_by = ["multi-user"]', "[path]", `path_exists = "${out}/in/deep/flag"`].join("\n"),
    "conf-watch": stampService("conf-watch"),
    "drop": stampService("drop"),
    "drop.path": ['[unit]', 'wanted_by = ["multi-user"]', "[path]", `directory_not_empty = "${out}/made/drop"`, "make_directory = true", 'directory_mode = "0700"'].join("\n"),
    "glob": ["[service]", 'type = "oneshot"', `exec_start = ["/bin/sh", "-c", "echo x >> ${out}/glob; rm -f ${out}/g/*.ready"]`].join("\n"),
    "glob.path": ['[unit]', 'wanted_by = ["multi-user"]', "[path]", `path_exists_glob = "${out}/g/*.ready"`].join("\n"),
    "conf-watch.path": ['[unit]', 'wanted_by = ["multi-user"]', "[path]", `path_modified = "${out}/watched.conf"`].join("\n"),
  });
  startedAt = Date.now();
  m = await startManager(conf, [], { env: { XDG_STATE_HOME: state } });
});

afterAll(() => cleanup(m, conf, out, state));

describe("timers under hearth run", () => {
  test("a monotonic timer starts its service once, about on_active_sec after it started", async () => {
    const [first] = await poll("soon to run", () => lines("soon").length > 0 && lines("soon"), { timeoutMs: 30_000 });
    // Counted from the timer's own start (the machine may be slow to start the manager).
    const timer = (await m.ctlJson<{ units: { activeAt: number; trigger: { last: number } }[] }>("status", "soon.timer")).units[0]!;
    const after = timer.trigger.last - timer.activeAt;
    expect(after).toBeGreaterThanOrEqual(1990); // not before its time
    expect(after).toBeLessThan(10_000); // and not much after it (a generous bound: the host is shared)
    expect(Number(first) * 1000).toBeGreaterThanOrEqual(Math.floor(timer.trigger.last / 1000) * 1000); // the run followed
    await Bun.sleep(500);
    expect(lines("soon").length).toBe(1);
    const status = await m.ctl("status", "soon.timer");
    expect(status.stdout).toContain("Triggers: soon");
    expect(status.stdout).toContain("(elapsed)");
  });

  test("a calendar timer fires on its seconds, and a persistent one keeps its stamp", async () => {
    await poll("every5 to run twice", () => lines("every5").length >= 2, { timeoutMs: 30_000 });
    // The next elapse is planned on a second that is a multiple of 5 (how late a loaded host
    // runs it is not the calendar's business); the service ran after the slot it fired for.
    const timer = await poll("every5 waiting for its next elapse", async () => {
      const t = (await m.ctlJson<{ units: { trigger: { last: number; next: number | null } }[] }>("status", "every5.timer")).units[0]!;
      return t.trigger.next !== null && t;
    });
    expect(timer.trigger.next! % 5000).toBe(0);
    expect(timer.trigger.next!).toBeGreaterThan(timer.trigger.last);
    const slot = Math.floor(timer.trigger.last / 5000) * 5000;
    await poll("the service to run for that elapse", () => lines("every5").some((at) => Number(at) * 1000 >= slot));
    const stamp = await poll("the stamp of the last elapse", async () => {
      const now = (await m.ctlJson<{ units: { trigger: { last: number } }[] }>("status", "every5.timer")).units[0]!.trigger.last;
      const mtime = statSync(join(state, "hearth/timers/every5.timer")).mtimeMs;
      return Math.abs(mtime - now) < 1000 && mtime;
    });
    expect(stamp).toBeGreaterThan(startedAt);
  });

  test("list-timers shows each timer's next and last elapse and what it starts, soonest first", async () => {
    await poll("every5 to have run", () => lines("every5").length >= 1);
    // Between an elapse and the end of the run it started, a timer has no next elapse ("-"): wait for it to wait.
    const r = await poll("every5 listed with its next elapse", async () => {
      const listed = await m.ctl("list-timers");
      return /^\w{3} \d{4}-.*every5\.timer/m.test(listed.stdout) && listed;
    });
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

describe("path units under hearth run", () => {
  test("a path unit fires when its file is created in directories that did not exist yet", async () => {
    expect(lines("spool")).toEqual([]);
    mkdirSync(join(out, "in"));
    await Bun.sleep(100); // the watch moves down a level
    mkdirSync(join(out, "in/deep"));
    writeFileSync(join(out, "in/deep/flag"), "x");
    await poll("spool to run", () => lines("spool").length === 1, { timeoutMs: 10_000 });
    // Its service removed the file: it is not started again.
    await Bun.sleep(500);
    expect(lines("spool").length).toBe(1);
    const status = await m.ctl("status", "spool.path");
    expect(status.stdout).toContain(`(path_exists ${out}/in/deep/flag)`);
    writeFileSync(join(out, "in/deep/flag"), "again");
    await poll("spool to run again", () => lines("spool").length === 2, { timeoutMs: 10_000 });
  });

  test("a path unit fires when its file is modified", async () => {
    writeFileSync(join(out, "watched.conf"), "a=1\n");
    await poll("conf-watch to run for the creation", () => lines("conf-watch").length >= 1, { timeoutMs: 10_000 });
    await poll("conf-watch to be waiting again", async () => (await m.ctl("status", "conf-watch.path")).stdout.includes("(waiting)"));
    const before = lines("conf-watch").length;
    writeFileSync(join(out, "watched.conf"), "a=2\n", { flag: "a" });
    await poll("conf-watch to run for the change", () => lines("conf-watch").length > before, { timeoutMs: 10_000 });
  });

  test("make_directory makes a directory_not_empty directory, and an entry in it fires", async () => {
    await poll("the directory to be made", () => existsSync(join(out, "made/drop")));
    expect(statSync(join(out, "made/drop")).mode & 0o777).toBe(0o700);
    expect(lines("drop")).toEqual([]);
    writeFileSync(join(out, "made/drop/item"), "x");
    await poll("drop to run", () => lines("drop").length >= 1, { timeoutMs: 10_000 });
  });

  test("path_exists_glob fires when a matching file appears", async () => {
    mkdirSync(join(out, "g"));
    writeFileSync(join(out, "g/other.txt"), "x");
    await Bun.sleep(300);
    expect(lines("glob")).toEqual([]);
    writeFileSync(join(out, "g/job.ready"), "x");
    await poll("glob to run", () => lines("glob").length === 1, { timeoutMs: 10_000 });
  });
});

// Unit files that name units that are not installed, as Debian's do (chrony's
// Conflicts=openntpd): they load and start as under systemd; a requirement on a missing
// unit fails only the requiring unit's start, with the reason in its status, and the rest
// of the target comes up (issue 12, item 5).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { cleanup, hearthCommand, startManager, writeConf, type RunningManager } from "../support/harness.ts";

let m: RunningManager;
let conf: string;

const SLEEPER = '[service]\nexec_start = ["sleep", "1000"]\n';

beforeAll(async () => {
  conf = writeConf({
    chrony: `[unit]
wanted_by = ["multi-user"]
after = ["openntpd"]
wants = ["openntpd"]
conflicts = ["openntpd"]
before = ["time-sync"]
${SLEEPER}`,
    web: `[unit]
wanted_by = ["multi-user"]
requires = ["ghost"]
after = ["ghost"]
${SLEEPER}`,
    cron: `[unit]\nwanted_by = ["multi-user"]\n${SLEEPER}`,
  });
  m = await startManager(conf);
  await m.waitForOutput(/Startup finished/);
});

afterAll(async () => {
  await m?.stop();
  cleanup(m, conf);
});

describe("units naming units that are not installed", () => {
  test("after, wants, conflicts and before a missing unit: the unit starts with its target", async () => {
    await m.waitForState("chrony", "active");
    expect((await m.unit("multi-user")).active).toBe("active");
    expect((await m.unit("cron")).active).toBe("active");
  });

  test("requires a missing unit: its start fails with the reason in its status; the rest comes up", async () => {
    await m.waitForOutput(/\[FAILED\] Dependency failed for web: unit ghost not found/);
    const web = await m.unit("web");
    expect(web).toMatchObject({ load: "loaded", active: "inactive", sub: "dead", mainPid: null });
    const status = await m.ctl("status", "web");
    expect(status.code).toBe(3);
    expect(status.stdout).toContain("Dependency failed: unit ghost not found");
    const start = await m.ctl("start", "web");
    expect(start.code).toBe(1);
    expect(start.stderr).toContain("start web: dependency (unit ghost not found)");
    expect((await m.unit("cron")).active).toBe("active");
  });

  test("status of a name units give but nothing has says not-found and who names it (exit 4)", async () => {
    const ghost = await m.ctl("status", "ghost");
    expect(ghost.code).toBe(4);
    expect(ghost.stdout).toContain("Loaded: not-found (no unit file; named by web (requires), web (after))");
    expect(ghost.stdout).toContain("Active: inactive (dead)");
    const json = await m.ctlJson<{ units: Record<string, any>[] }>("status", "openntpd");
    expect(json.code).toBe(4);
    expect(json.units[0]).toMatchObject({ name: "openntpd", load: "not-found", active: "inactive", namedBy: ["chrony (wants)", "chrony (conflicts)", "chrony (after)"] });
    const nobody = await m.ctl("status", "no-one-names-this");
    expect(nobody.code).toBe(4);
    expect(nobody.stderr).toContain("unit no-one-names-this not found");
  });

  test("the manager's console has no warning for a missing after, wants, conflicts or before name (as systemd); the requires on a missing unit is still warned", async () => {
    const warnings = () => m.output.filter((l) => /\bwarning\b/.test(l));
    for (const name of ["openntpd", "time-sync"]) expect(warnings().filter((l) => l.includes(`'${name}'`))).toEqual([]);
    expect(warnings().filter((l) => l.includes("unknown unit 'ghost'"))).toEqual([
      expect.stringContaining(`${conf}/units/web.toml:3:13: warning: requires[0]: unknown unit 'ghost': starting 'web' will fail`),
    ]);
    // Logged at info (`hearth run` logs info to stderr; PID 1's console shows notices and worse).
    expect(m.output).toContainEqual(expect.stringContaining(`info: ${conf}/units/chrony.toml:3:10: note: after[0]: unknown unit 'openntpd', ignored`));
    // A reload says the same: nothing about them in its reply or as a warning.
    const reload = await m.ctl("daemon-reload");
    expect(reload.code).toBe(0);
    expect(`${reload.stdout}${reload.stderr}`).not.toContain("openntpd");
    expect(warnings().filter((l) => l.includes("'openntpd'"))).toEqual([]);
  });

  test("hearth check warns at each name, FILE:LINE:COL, and finds no error", async () => {
    const proc = Bun.spawn([...hearthCommand(), "check", "-c", conf], { stdout: "pipe", stderr: "pipe" });
    const out = await new Response(proc.stdout).text();
    expect(await proc.exited).toBe(0);
    const lines = out.trim().split("\n");
    expect(lines).toEqual([
      `${conf}/units/chrony.toml:3:10: warning: after[0]: unknown unit 'openntpd', ignored`,
      `${conf}/units/chrony.toml:4:10: warning: wants[0]: unknown unit 'openntpd', ignored`,
      `${conf}/units/chrony.toml:5:14: warning: conflicts[0]: unknown unit 'openntpd', ignored`,
      `${conf}/units/chrony.toml:6:11: warning: before[0]: unknown unit 'time-sync', ignored`,
      `${conf}/units/web.toml:3:13: warning: requires[0]: unknown unit 'ghost': starting 'web' will fail`,
      `${conf}/units/web.toml:4:10: warning: after[0]: unknown unit 'ghost', ignored`,
      "9 units, 0 errors, 6 warnings",
    ]);
  });
});

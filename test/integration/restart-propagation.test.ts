// Jobs that reach other units: a restart of a unit restarts the units that require it;
// a start by hand of one unit leaves the crash-loop counters of the others alone.
import { afterEach, describe, expect, test } from "bun:test";
import { Session } from "../support/session.ts";

const session = new Session();
afterEach(() => session.end());

describe("restart propagation", () => {
  test("restart db restarts web, which requires it, instead of leaving it stopped", async () => {
    const m = await session.start({
      db: `
[service]
exec_start = ["sleep", "1000"]
`,
      web: `
[unit]
requires = ["db"]
after = ["db"]
[service]
exec_start = ["sleep", "1000"]
`,
    });
    await m.waitForOutput(/Startup finished/);
    expect((await m.ctl("start", "web")).code).toBe(0);
    const before = await m.unit("web");
    expect(before.active).toBe("active");
    expect((await m.ctl("restart", "db")).code).toBe(0);
    const after = await m.waitForState("web", "active");
    expect(after.mainPid).not.toBe(before.mainPid);
    expect((await m.unit("db")).active).toBe("active");
  });
});

describe("crash-loop counters", () => {
  test("start web by hand: the restart count of db, which web pulls in, stays", async () => {
    const m = await session.start({
      db: `
[service]
exec_start = ["sh", "-c", "exit 1"]
restart = "always"
restart_sec = 0.2
start_limit_burst = 1000
start_limit_interval_sec = 600
`,
      web: `
[unit]
requires = ["db"]
after = ["db"]
[service]
exec_start = ["sleep", "1000"]
`,
    });
    await m.waitForOutput(/Startup finished/);
    await m.ctl("start", "db");
    const counted = await session.until("db restarted 4 times", async () => {
      const db = await m.unit("db");
      return db.restarts >= 4 && db.restarts;
    });
    await m.ctl("start", "web"); // fails: db never comes up
    expect((await m.unit("db")).restarts).toBeGreaterThanOrEqual(counted);
  });
});

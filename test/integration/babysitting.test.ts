// Babysitting with real processes: start limits and their actions, stopping services
// that fight back, the service watchdog, the crash record.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { PEERS, cleanup, startManager, writeConf, type RunningManager } from "../support/harness.ts";

describe("start limit", () => {
  test("a crash loop hits its start limit; in run mode the action ends the manager with its status", async () => {
    const conf = writeConf({
      crasher: `
[unit]
wanted_by = ["multi-user"]
[service]
exec_start = ["sh", "-c", "echo crashing; exit 7"]
restart = "always"
restart_sec = 0.05
start_limit_burst = 3
start_limit_interval_sec = 10
start_limit_action = "reboot"
`,
    });
    const m = await startManager(conf);
    try {
      const code = await Promise.race([m.proc.exited, Bun.sleep(10_000).then(() => -1)]);
      expect(code).toBe(80); // "reboot" in run mode
      expect(m.text()).toMatch(/start-limit-hit/);
      expect(m.text()).toMatch(/start_limit_action=reboot; in run mode this ends the manager with status 80/);
    } finally {
      await m.stop();
      cleanup(m, conf);
    }
  });

  test("the crash loop is visible in status; reset-failed lets the unit start again", async () => {
    const conf = writeConf({
      crasher: `
[service]
exec_start = ["sh", "-c", "echo about to crash; exit 7"]
restart = "on-failure"
restart_sec = 0.05
start_limit_burst = 3
start_limit_interval_sec = 10
`,
    });
    const m = await startManager(conf);
    try {
      await m.ctl("start", "crasher");
      const failed = await m.waitForState("crasher", "failed");
      expect(failed.result).toBe("start-limit-hit");
      expect(failed.exits.length).toBe(4);
      expect(failed.exits[0].description).toBe("exited, code=7");
      expect(failed.exits[0].logTail).toContain("about to crash");
      const human = await m.ctl("status", "crasher");
      expect(human.stdout).toContain("Result: start-limit-hit");
      expect(human.stdout).toContain("exited, code=7");
      expect(human.code).toBe(3);
      // Still failed: no more automatic restarts.
      await Bun.sleep(300);
      expect((await m.unit("crasher")).active).toBe("failed");
      expect((await m.ctl("reset-failed", "crasher")).code).toBe(0);
      expect((await m.unit("crasher")).active).toBe("inactive");
      await m.ctl("start", "crasher");
      await Bun.sleep(100);
      expect((await m.unit("crasher")).nRestarts).toBeGreaterThan(3); // looping again
    } finally {
      await m.stop();
      cleanup(m, conf);
    }
  });
});

describe("stopping and the service watchdog", () => {
  let m: RunningManager;
  let conf: string;
  beforeAll(async () => {
    conf = writeConf({
      stubborn: `
[service]
timeout_stop_sec = 1
exec_start = ["sh", "-c", "trap '' TERM; for i in $(seq 50); do sh -c \\"trap '' TERM; exec sleep 1000\\" & done; wait"]
`,
      silent: `
[service]
type = "notify"
watchdog_sec = 0.5
restart = "on-watchdog"
restart_sec = 0.1
exec_start = ["${join(PEERS, "notify-libsystemd")}"]
environment = { PING = "0" }
`,
      pinger: `
[service]
type = "notify"
watchdog_sec = 0.5
exec_start = ["${join(PEERS, "notify-libsystemd")}"]
`,
    });
    m = await startManager(conf);
    await m.waitForOutput(/Startup finished/);
  });
  afterAll(async () => {
    await m?.stop();
    cleanup(m, conf);
  });

  test("a service that forks 50 children and ignores SIGTERM is gone within timeout_stop_sec + 1 s", async () => {
    expect((await m.ctl("start", "stubborn")).code).toBe(0);
    await Bun.sleep(500);
    const pgid = (await m.unit("stubborn")).mainPid as number;
    const members = () => m.children().length + countGroup(pgid);
    expect(countGroup(pgid)).toBeGreaterThanOrEqual(51);
    const t0 = performance.now();
    expect((await m.ctl("stop", "stubborn")).code).toBe(0);
    const took = performance.now() - t0;
    expect(took).toBeGreaterThan(900); // SIGTERM was ignored: it took the SIGKILL
    expect(took).toBeLessThan(2000);
    await Bun.sleep(100);
    expect(countGroup(pgid)).toBe(0);
    expect(members()).toBeLessThanOrEqual(2); // silent/pinger only when running
  });

  test("no WATCHDOG=1 within watchdog_sec: SIGABRT within 100 ms of the deadline, then a restart", async () => {
    expect((await m.ctl("start", "silent")).code).toBe(0);
    await Bun.sleep(1000);
    // The unit's log holds the peer's own "sent: READY=1" and the manager's verdict.
    const logs = (await m.ctlJson<{ logs: { time: number; text: string }[] }>("logs", "-n", "50", "silent")).logs;
    const ready = logs.find((l) => l.text.startsWith("sent: READY=1"))!;
    const fired = logs.find((l) => l.text.startsWith("Watchdog timeout (limit 0.5s)! Killing with SIGABRT"))!;
    expect(ready).toBeDefined();
    expect(fired).toBeDefined();
    expect(fired.time - ready.time).toBeGreaterThanOrEqual(490);
    expect(fired.time - ready.time).toBeLessThan(600);
    const u = await m.unit("silent");
    expect(u.nRestarts).toBeGreaterThanOrEqual(1);
    expect(u.exits[0].cause).toBe("watchdog");
    expect(u.exits.some((e: { description: string }) => e.description.startsWith("killed, signal=ABRT"))).toBe(true);
  });

  test("a service that pings keeps running", async () => {
    expect((await m.ctl("start", "pinger")).code).toBe(0);
    const pid = (await m.unit("pinger")).mainPid;
    await Bun.sleep(20 * 500); // twenty watchdog periods
    const u = await m.unit("pinger");
    expect(u.active).toBe("active");
    expect(u.mainPid).toBe(pid);
    expect(u.exits).toEqual([]);
  }, 30_000);
});

/** Processes whose process group is pgid, from /proc. */
function countGroup(pgid: number): number {
  let n = 0;
  for (const entry of new Bun.Glob("[0-9]*").scanSync({ cwd: "/proc", onlyFiles: false })) {
    try {
      const stat = require("node:fs").readFileSync(`/proc/${entry}/stat`, "latin1") as string;
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (Number(fields[2]) === pgid && fields[0] !== "Z") n++;
    } catch { /* gone */ }
  }
  return n;
}

// Babysitting with real processes: start limits and their actions, stopping services
// that fight back, the service watchdog, the crash record.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { PEERS, cleanup, poll, startManager, writeConf, type RunningManager } from "../support/harness.ts";

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
      // Still failed: no more automatic restarts (six restart_sec later; a restart
      // that came anyway would only be missed, never invented, by a slow machine).
      await Bun.sleep(300);
      expect((await m.unit("crasher")).active).toBe("failed");
      expect((await m.ctl("reset-failed", "crasher")).code).toBe(0);
      expect((await m.unit("crasher")).active).toBe("inactive");
      await m.ctl("start", "crasher");
      await poll("crasher to loop again", async () => (await m.unit("crasher")).nRestarts > 3);
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
watchdog_sec = 1
restart = "on-watchdog"
restart_sec = 0.1
exec_start = ["${join(PEERS, "notify-libsystemd")}"]
environment = { PING = "0" }
`,
      pinger: `
[service]
type = "notify"
watchdog_sec = 2
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

  test("a service that forks 50 children and ignores SIGTERM is killed at timeout_stop_sec, all of it", async () => {
    expect((await m.ctl("start", "stubborn")).code).toBe(0);
    const pgid = (await m.unit("stubborn")).mainPid as number;
    const members = () => m.children().length + countGroup(pgid);
    await poll("51 processes in the group", () => countGroup(pgid) >= 51);
    const stop = m.ctl("stop", "stubborn");
    // When the manager began stopping it, on the manager's clock.
    const stopping = await m.waitForState("stubborn", "deactivating");
    expect((await stop).code).toBe(0);
    // SIGTERM was ignored: it took the SIGKILL, at the timeout.
    const logs = (await m.ctlJson<{ logs: { time: number; text: string }[] }>("logs", "-n", "20", "stubborn")).logs;
    const killed = logs.find((l) => l.text === "State 'stop-sigterm' timed out. Killing.")!;
    expect(killed).toBeDefined();
    expect(killed.time - stopping.since).toBeGreaterThanOrEqual(990);
    expect(killed.time - stopping.since).toBeLessThan(2000); // at the timeout, not a period later
    await poll("the group to be gone", () => countGroup(pgid) === 0);
    expect(members()).toBeLessThanOrEqual(2); // silent/pinger only when running
  });

  test("no WATCHDOG=1 within watchdog_sec: SIGABRT at the deadline, then a restart", async () => {
    expect((await m.ctl("start", "silent")).code).toBe(0);
    // The unit's log holds the peer's own "sent: READY=1" and the manager's verdict.
    const logs = await poll("the watchdog to fire and the unit to restart", async () => {
      const { logs } = await m.ctlJson<{ logs: { time: number; text: string }[] }>("logs", "-n", "50", "silent");
      const fired = logs.some((l) => l.text.startsWith("Watchdog timeout"));
      return fired && (await m.unit("silent")).nRestarts >= 1 && logs;
    });
    // Counted from when the manager took READY=1 (the first activation's activeAt), not from
    // the peer's own "sent: READY=1" line, which a loaded machine may let it write later.
    const timeline = await m.ctlJson<{ timeline: { units: { name: string; activeAt: number }[] } }>("analyze", "blame");
    const ready = timeline.timeline.units.find((u) => u.name === "silent")!.activeAt;
    const fired = logs.find((l) => l.text.startsWith("Watchdog timeout (limit 1s)! Killing with SIGABRT"))!;
    expect(fired).toBeDefined();
    expect(fired.time - ready).toBeGreaterThanOrEqual(990);
    expect(fired.time - ready).toBeLessThan(2000); // at the deadline, not a period later
    const u = await m.unit("silent");
    expect(u.nRestarts).toBeGreaterThanOrEqual(1);
    expect(u.exits[0].cause).toBe("watchdog");
    expect(u.exits.some((e: { description: string }) => e.description.startsWith("killed, signal=ABRT"))).toBe(true);
  });

  test("a service that pings keeps running", async () => {
    expect((await m.ctl("start", "pinger")).code).toBe(0);
    const pid = (await m.unit("pinger")).mainPid;
    await Bun.sleep(5 * 2000); // five watchdog periods (it pings every half period)
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

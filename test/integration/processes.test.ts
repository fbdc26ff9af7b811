// Reaping and fd hygiene with real processes: orphans of a double fork are reaped, and
// a thousand short-lived service runs leave no zombie and no leaked fd in the manager.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { cleanup, openFds, poll, startManager, writeConf, type RunningManager } from "../support/harness.ts";
import { descendantsOf, pidsRunning } from "../support/procs.ts";

let m: RunningManager;
let conf: string;

beforeAll(async () => {
  conf = writeConf({
    "double-fork": `
[unit]
wanted_by = ["multi-user"]
[service]
# The inner shell backgrounds a sleep and exits: the sleep is re-parented to the manager.
exec_start = ["sh", "-c", "sh -c 'sleep 0.3 & exit 0'; exec sleep 100000"]
`,
    "flap": `
[service]
exec_start = "true"
restart = "always"
restart_sec = 0
start_limit_interval_sec = 0
`,
    "idle": `
[unit]
wanted_by = ["multi-user"]
[service]
exec_start = "sleep 100000"
`,
  });
  m = await startManager(conf);
  await m.waitForOutput(/Startup finished/, 15_000);
});

afterAll(async () => {
  await m?.stop();
  cleanup(m, conf);
});

const zombies = () => m.children().filter((c) => c.state === "Z");

describe("processes", () => {
  test("a double-forked orphan is reaped by the manager (subreaper): no zombie", async () => {
    // Once the orphan (sleep 0.3) has ended, nothing of it is left: no zombie either.
    const orphan = () => pidsRunning("sleep 0.3").filter((pid) => descendantsOf(m.proc.pid).some((p) => p.pid === pid));
    await poll("the orphan to end and be reaped", () => orphan().length === 0 && zombies().length === 0, { timeoutMs: 5000 });
    expect(zombies()).toEqual([]);
    expect((await m.unit("double-fork")).active).toBe("active");
  });

  test("1000 short-lived runs leave no zombie and no leaked fd", async () => {
    const fdsBefore = openFds(m.proc.pid).length;
    expect((await m.ctl("start", "flap")).code).toBeLessThan(2);
    await poll("1000 restarts", async () => (await m.unit("flap")).nRestarts >= 1000, { timeoutMs: 60_000, intervalMs: 100 });
    await m.ctl("stop", "flap");
    await m.waitForState("flap", "inactive");
    // The last run's exit is reaped and its pipe closed: wait for that, then count.
    await poll("no zombie and the fds back", () => zombies().length === 0 && openFds(m.proc.pid).length <= fdsBefore + 2, { timeoutMs: 5000 })
      .catch(() => null);
    expect(zombies()).toEqual([]);
    const fdsAfter = openFds(m.proc.pid);
    expect(fdsAfter.length).toBeLessThanOrEqual(fdsBefore + 2); // a ctl connection may be open
    expect((await m.unit("idle")).active).toBe("active");
  }, 90_000);
});

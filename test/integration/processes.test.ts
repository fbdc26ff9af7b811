// Reaping and fd hygiene with real processes: orphans of a double fork are reaped, and
// a thousand short-lived service runs leave no zombie and no leaked fd in the manager.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { cleanup, openFds, startManager, writeConf, type RunningManager } from "../support/harness.ts";

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
    await Bun.sleep(600);
    expect(zombies()).toEqual([]);
    expect((await m.unit("double-fork")).active).toBe("active");
  });

  test("1000 short-lived runs leave no zombie and no leaked fd", async () => {
    await Bun.sleep(200);
    const fdsBefore = openFds(m.proc.pid).length;
    expect((await m.ctl("start", "flap")).code).toBeLessThan(2);
    const end = Date.now() + 60_000;
    let n = 0;
    while (Date.now() < end) {
      n = (await m.unit("flap")).nRestarts;
      if (n >= 1000) break;
      await Bun.sleep(100);
    }
    expect(n).toBeGreaterThanOrEqual(1000);
    await m.ctl("stop", "flap");
    await m.waitForState("flap", "inactive");
    await Bun.sleep(200);
    expect(zombies()).toEqual([]);
    const fdsAfter = openFds(m.proc.pid);
    expect(fdsAfter.length).toBeLessThanOrEqual(fdsBefore + 2); // a ctl connection may be open
    expect((await m.unit("idle")).active).toBe("active");
  }, 90_000);
});

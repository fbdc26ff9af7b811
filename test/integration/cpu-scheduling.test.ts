// cpu_scheduling_* under `hearth run`: the policy and priority the main process really has
// (/proc/self/stat fields 40 and 41: rt_priority, policy), and what its children get.
import { describe, expect, test } from "bun:test";
import { libc } from "../../ffi/libc.ts";
import { cleanup, startManager, writeConf } from "../support/harness.ts";
import { oneshot, report } from "../support/reporting-units.ts";

const isRoot = libc.geteuid() === 0;
// exec: /proc/self is the service's process itself; the sh -c child is a child of it.
const SHOW = "cut -d' ' -f40,41 /proc/self/stat; exec cut -d' ' -f40,41 /proc/self/stat";

describe("cpu_scheduling", () => {
  test.skipIf(!isRoot)("idle (chrony-style), fifo at 10 and reset_on_fork as the process and its children see them", async () => {
    const conf = writeConf({
      idle: oneshot(SHOW, 'cpu_scheduling_policy = "idle"'),
      fifo: oneshot(SHOW, 'cpu_scheduling_policy = "fifo"', "cpu_scheduling_priority = 10", "cpu_scheduling_reset_on_fork = true"),
      plain: oneshot(SHOW),
    });
    const m = await startManager(conf);
    try {
      // SCHED_IDLE is 5 and children inherit it; SCHED_FIFO is 1, its child back to 0 0.
      expect(await report(m, "idle")).toEqual(["0 5", "0 5"]);
      expect(await report(m, "fifo")).toEqual(["0 0", "10 1"]);
      expect(await report(m, "plain")).toEqual(["0 0", "0 0"]);
      expect(m.text()).not.toMatch(/internal error/i);
    } finally {
      await m.stop();
      cleanup(m, conf);
    }
  });
});

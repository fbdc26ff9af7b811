// standard_output = "journal+console" (rc-local, quota, systemd-fsckd): each line in the
// unit's log and on the console, which is `hearth run`'s stdout.
import { describe, expect, test } from "bun:test";
import { cleanup, startManager, writeConf } from "../support/harness.ts";
import { oneshot, report } from "../support/reporting-units.ts";

describe("standard_output with +console", () => {
  test("\"journal+console\": the lines are in the unit's log and on the console; plain \"journal\" keeps them off it", async () => {
    const conf = writeConf({
      "rc-local": oneshot("echo rc.local ran; echo to stderr too >&2", 'standard_output = "journal+console"', 'standard_error = "journal+console"'),
      quiet: oneshot("echo quietly logged"),
    });
    const m = await startManager(conf);
    try {
      expect(await report(m, "rc-local")).toEqual(["rc.local ran", "to stderr too"]);
      expect(await report(m, "quiet")).toEqual(["quietly logged"]);
      await m.waitForOutput(/rc-local\[\d+\]: to stderr too/);
      expect(m.text()).toMatch(/rc-local\[\d+\]: rc\.local ran/);
      expect(m.text()).not.toContain("quietly logged");
      expect(m.text()).not.toMatch(/internal error/i);
    } finally {
      await m.stop();
      cleanup(m, conf);
    }
  });
});

// A oneshot with several exec_start, exec_condition and exec_stop_post through `hearth run`:
// the commands append to a file in the work directory, and the test reads the order back.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { cleanup, poll, startManager, writeConf, type RunningManager } from "../support/harness.ts";

let m: RunningManager;
let conf: string;
const work = mkdtempSync(join(tmpdir(), "hearth-oneshot-sequence-"));

/** A command appending its words to the unit's trace file, then exiting with `code`. */
const note = (unit: string, words: string, code = 0) =>
  `["/bin/sh", "-c", "echo ${words} >> ${work}/${unit}; exit ${code}"]`;

const trace = (unit: string): string[] => {
  try {
    return readFileSync(join(work, unit), "utf8").trim().split("\n");
  } catch {
    return [];
  }
};

beforeAll(async () => {
  conf = writeConf({
    sequence: `[service]\ntype = "oneshot"\nexec_start = [${note("sequence", "one")}, ${note("sequence", "two")}, ${note("sequence", "three")}]\n`,
    "sequence-fails": `[service]\ntype = "oneshot"\nexec_start = [${note("sequence-fails", "one", 4)}, ${note("sequence-fails", "two")}]\n`,
    // exec_stop_post sees how the main process ended.
    "stop-post": `[service]\nexec_start = ["/bin/sleep", "60"]\nexec_stop_post = [${note("stop-post", "$SERVICE_RESULT/$EXIT_CODE/$EXIT_STATUS")}]\n`,
    "crash-post": `[service]\nexec_start = ["/bin/sh", "-c", "exit 7"]\nexec_stop_post = [${note("crash-post", "$SERVICE_RESULT/$EXIT_CODE/$EXIT_STATUS")}]\n`,
    "pre-fails-post": `[service]\nexec_start_pre = "/bin/false"\nexec_start = "/bin/sleep 60"\nexec_stop_post = [${note("pre-fails-post", "$SERVICE_RESULT")}]\n`,
    "condition-skips": `[service]\nexec_condition = [${note("condition-skips", "checked", 1)}]\nexec_start = ${note("condition-skips", "started")}\n`,
    "condition-fails": `[service]\nexec_condition = [${note("condition-fails", "checked", 255)}]\nexec_start = ${note("condition-fails", "started")}\n`,
  });
  m = await startManager(conf);
  await m.waitForOutput(/Startup finished/);
});

afterAll(async () => {
  await m?.stop();
  cleanup(m, conf, work);
});

describe("a oneshot with several exec_start", () => {
  test("runs them in order and is done after the last", async () => {
    expect((await m.ctl("start", "sequence")).code).toBe(0);
    expect(trace("sequence")).toEqual(["one", "two", "three"]);
    expect((await m.unit("sequence")).active).toBe("inactive");
  });

  test("stops at the first that fails, and the unit fails", async () => {
    expect((await m.ctl("start", "sequence-fails")).code).toBe(1);
    expect(trace("sequence-fails")).toEqual(["one"]);
    expect((await m.unit("sequence-fails")).active).toBe("failed");
  });
});

describe("exec_stop_post", () => {
  test("runs after a stop, told the result and how the main process ended", async () => {
    expect((await m.ctl("start", "stop-post")).code).toBe(0);
    expect(trace("stop-post")).toEqual([]);
    expect((await m.ctl("stop", "stop-post")).code).toBe(0);
    expect(trace("stop-post")).toEqual(["success/killed/TERM"]);
  });

  test("runs after the main process failed", async () => {
    await m.ctl("start", "crash-post");
    await m.waitForState("crash-post", "failed");
    expect(trace("crash-post")).toEqual(["exit-code/exited/7"]);
  });

  test("runs after a failed exec_start_pre", async () => {
    expect((await m.ctl("start", "pre-fails-post")).code).toBe(1);
    await poll("the stop_post trace", () => trace("pre-fails-post").length > 0);
    expect(trace("pre-fails-post")).toEqual(["exit-code"]);
  });
});

describe("exec_condition", () => {
  test("exit 1 skips the start: not failed, exec_start never runs", async () => {
    expect((await m.ctl("start", "condition-skips")).code).toBe(0);
    expect(trace("condition-skips")).toEqual(["checked"]);
    expect((await m.unit("condition-skips")).active).toBe("inactive");
    const status = await m.ctl("status", "condition-skips");
    expect(status.stdout).toContain("exec_condition /bin/sh exited with 1");
  });

  test("exit 255 fails the unit", async () => {
    expect((await m.ctl("start", "condition-fails")).code).toBe(1);
    expect(trace("condition-fails")).toEqual(["checked"]);
    expect((await m.unit("condition-fails")).active).toBe("failed");
  });
});

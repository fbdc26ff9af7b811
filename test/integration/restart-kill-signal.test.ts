// restart_kill_signal (systemd's RestartKillSignal=) with a real process: `hearth ctl
// restart` ends it with that signal, `hearth ctl stop` with kill_signal.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { cleanup, poll, startManager, writeConf, type RunningManager } from "../support/harness.ts";

let m: RunningManager;
let conf: string;

beforeAll(async () => {
  conf = writeConf({
    // Says which signal ended it, then exits.
    traps: `
[unit]
wanted_by = ["multi-user"]
[service]
restart_kill_signal = "SIGUSR1"
exec_start = ["/bin/sh", "-c", "trap 'echo ended by USR1; exit 0' USR1; trap 'echo ended by TERM; exit 0' TERM; while :; do sleep 0.1; done"]
`,
  });
  m = await startManager(conf);
  await m.waitForOutput(/Startup finished/);
});

afterAll(async () => {
  await m?.stop();
  cleanup(m, conf);
});

describe("restart_kill_signal", () => {
  test("a restart ends the process with it; a stop with kill_signal", async () => {
    const first = await m.waitForState("traps", "active");
    expect((await m.ctl("restart", "traps")).code).toBe(0);
    await poll("the first process's last words", async () => (await m.ctl("logs", "traps")).stdout.includes("ended by USR1"));
    const second = await m.waitForState("traps", "active");
    expect(second.mainPid).not.toBe(first.mainPid);
    expect((await m.ctl("stop", "traps")).code).toBe(0);
    await poll("the second process's last words", async () => (await m.ctl("logs", "traps")).stdout.includes("ended by TERM"));
    expect((await m.ctl("logs", "traps")).stdout.match(/ended by/g)?.length).toBe(2);
  });
});

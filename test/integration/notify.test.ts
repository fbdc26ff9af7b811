// Real notify clients — libsystemd's sd_notify (C) and python3-systemd — reported ready;
// a forged READY=1 from an unrelated process is rejected.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { PEERS, PEER_SOURCES, cleanup, startManager, writeConf, type RunningManager } from "../support/harness.ts";

let m: RunningManager;
let conf: string;

beforeAll(async () => {
  conf = writeConf({
    "c-notify": `
[unit]
description = "libsystemd sd_notify client"
wanted_by = ["multi-user"]
[service]
type = "notify"
exec_start = ["${join(PEERS, "notify-libsystemd")}"]
environment = { DELAY_MS = "200" }
`,
    "py-notify": `
[unit]
wanted_by = ["multi-user"]
[service]
type = "notify"
exec_start = ["/usr/bin/python3", "${join(PEER_SOURCES, "notify-python.py")}"]
`,
    "never-ready": `
[service]
type = "notify"
exec_start = "sleep 100000"
timeout_start_sec = 60
`,
  });
  m = await startManager(conf);
  await m.waitForOutput(/Startup finished/, 15_000);
});

afterAll(async () => {
  await m?.stop();
  cleanup(m, conf);
});

describe("notify", () => {
  test("a C daemon using libsystemd's sd_notify is ready, with its STATUS= and MAINPID=", async () => {
    const u = await m.unit("c-notify");
    expect(u.active).toBe("active");
    expect(u.statusText).toBe("serving");
    expect(u.mainPid).toBeGreaterThan(1);
    expect(u.activeAt - u.activatingAt).toBeGreaterThanOrEqual(190);
  });

  test("a python3-systemd daemon is ready", async () => {
    expect((await m.unit("py-notify")).active).toBe("active");
  });

  test("a forged READY=1 from an unrelated process is rejected and logged with its pid", async () => {
    const start = m.ctl("start", "never-ready"); // waits for the job; it must not finish
    await m.waitForState("never-ready", "activating");
    const forger = Bun.spawn(["/usr/bin/python3", join(PEER_SOURCES, "forge-ready.py")], {
      env: { ...process.env, TARGET_NOTIFY_SOCKET: join(m.runDir, "notify.sock") },
    });
    expect(await forger.exited).toBe(0);
    await m.waitForOutput(new RegExp(`notification from PID ${forger.pid}\\b.*(dropped|rejected)`));
    expect((await m.unit("never-ready")).active).toBe("activating");
    await m.ctl("stop", "never-ready");
    expect((await start).code).not.toBe(0);
  });

  test("malformed datagrams are logged with the sender and dropped; the manager goes on", async () => {
    const bad = Bun.spawn(["/usr/bin/python3", join(PEER_SOURCES, "forge-ready.py"), "READY"], {
      env: { ...process.env, TARGET_NOTIFY_SOCKET: join(m.runDir, "notify.sock") },
    });
    expect(await bad.exited).toBe(0);
    await m.waitForOutput(new RegExp(`malformed datagram from PID ${bad.pid}`));
    expect((await m.ctl("status", "c-notify")).code).toBe(0);
  });
});

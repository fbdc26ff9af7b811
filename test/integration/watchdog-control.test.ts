// hearth ctl watchdog and debug against `hearth run`: the hardware watchdog belongs to
// PID 1 only, and debug requests need PID 1 booted with hearth.debug=1 (hearth run never
// takes them). Under QEMU both work: test/boot/watchdog.test.ts.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { cleanup, startManager, writeConf, type RunningManager } from "../support/harness.ts";

let m: RunningManager;
let conf: string;

beforeAll(async () => {
  conf = writeConf({ idle: '[unit]\nwanted_by = ["multi-user"]\n[service]\nexec_start = ["sleep", "1000"]\n' });
  m = await startManager(conf);
  await m.waitForOutput(/Startup finished/);
});

afterAll(async () => {
  await m?.stop();
  cleanup(m, conf);
});

test("hearth run owns no hardware watchdog: watchdog says so and fails", async () => {
  const r = await m.ctl("watchdog");
  expect(r.code).toBe(1);
  expect(r.stderr).toContain("no hardware watchdog: only PID 1 owns it (hearth run leaves it alone)");
  expect((await m.ctl("watchdog", "set-timeout", "5s")).code).toBe(1);
});

test("debug freeze is refused without hearth.debug=1; the manager goes on", async () => {
  const r = await m.ctl("debug", "freeze", "1");
  expect(r.code).toBe(1);
  expect(r.stderr).toContain("debug requests are refused: the kernel command line has no hearth.debug=1");
  expect((await m.ctl("status", "idle")).code).toBe(0);
});

test("usage errors", async () => {
  expect((await m.ctl("watchdog", "set-timeout", "soon")).code).toBe(2);
  expect((await m.ctl("watchdog", "loud")).code).toBe(2);
  expect((await m.ctl("debug", "crash")).code).toBe(2);
});

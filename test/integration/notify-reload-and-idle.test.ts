// type = "notify-reload" and type = "idle" through `hearth run`, with real processes:
// libsystemd's peer answers SIGHUP with RELOADING=1 (MONOTONIC_USEC) then READY=1.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { cleanup, PEERS, poll, startManager, writeConf, type RunningManager } from "../support/harness.ts";

const NOTIFY = join(PEERS, "notify-libsystemd");
let m: RunningManager;
let conf: string;
const work = mkdtempSync(join(tmpdir(), "hearth-notify-reload-"));

beforeAll(async () => {
  conf = writeConf({
    daemon: `[service]\ntype = "notify-reload"\nexec_start = "${NOTIFY}"\n`,
    // Never answers: SIGWINCH is ignored by default, so the reload must time out.
    mute: `[service]\ntype = "notify-reload"\nexec_start = "${NOTIFY}"\nreload_signal = "SIGWINCH"\ntimeout_start_sec = 1\n`,
    // The slow one is ready after 1.5 s and marks it; the idle one reports whether it ran after that.
    slow: `[unit]\nwanted_by = ["multi-user"]\n[service]\ntype = "notify"\nexec_start = "${NOTIFY}"\nenvironment = { DELAY_MS = "1500" }\nexec_start_post = "/bin/touch ${work}/slow-ready"\n`,
    idle: `[unit]\nwanted_by = ["multi-user"]\n[service]\ntype = "idle"\nexec_start = ["/bin/sh", "-c", "if [ -e ${work}/slow-ready ]; then echo after > ${work}/idle; else echo before > ${work}/idle; fi; exec sleep 60"]\n`,
  });
  m = await startManager(conf);
  await m.waitForOutput(/Startup finished/);
});

afterAll(async () => {
  await m?.stop();
  cleanup(m, conf, work);
});

describe('type = "notify-reload"', () => {
  test("hearth ctl reload signals the daemon and returns once it said RELOADING=1 then READY=1", async () => {
    expect((await m.ctl("start", "daemon")).code).toBe(0);
    const r = await m.ctl("reload", "daemon");
    expect(r.code).toBe(0);
    expect((await m.unit("daemon")).active).toBe("active");
    const { logs } = await m.ctlJson<{ logs: { text: string }[] }>("logs", "-n", "50", "daemon");
    expect(logs.some((l) => /sent: RELOADING=1\|MONOTONIC_USEC=\d+/.test(l.text))).toBe(true);
  });

  test("a daemon that does not answer fails the reload job, and keeps running", async () => {
    expect((await m.ctl("start", "mute")).code).toBe(0);
    const r = await m.ctl("reload", "mute");
    expect(r.code).toBe(1);
    expect(`${r.stdout}${r.stderr}`).toContain("no RELOADING=1 after reload_signal");
    expect((await m.unit("mute")).active).toBe("active");
  });
});

describe('type = "idle"', () => {
  test("its program runs once the other start jobs are done", async () => {
    await poll("the idle unit's report", () => existsSync(join(work, "idle")));
    expect(readFileSync(join(work, "idle"), "utf8").trim()).toBe("after");
    expect((await m.unit("idle")).active).toBe("active");
  });
});

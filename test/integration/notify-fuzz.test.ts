// Malformed and random notify datagrams (test/peers/notify-fuzz.py) against a running
// manager, from a process of no unit and from a unit's own process, while a libsystemd
// notify service beside them starts: it must still become ready and stop cleanly, and the
// manager's fds, RSS and log stay bounded. The seed is fixed and printed; FUZZ_SEED=N
// replays another.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { PEERS, PEER_SOURCES, cleanup, startManager, writeConf, type RunningManager } from "../support/harness.ts";
import { fdCount, rssKiB } from "../support/procs.ts";

const SEED = Number(process.env.FUZZ_SEED ?? 20261206);
const SECONDS = 8;
const FUZZ = join(PEER_SOURCES, "notify-fuzz.py");

let m: RunningManager;
let conf: string;
let before: { fds: number; rssKiB: number };
let linesBefore = 0;
let linesDuring = 0;
let outside = "";
let steadyStart: { code: number; stderr: string };

beforeAll(async () => {
  console.log(`notify fuzz: seed ${SEED} (FUZZ_SEED=${SEED} replays it), ${SECONDS} s per sender`);
  conf = writeConf({
    steady: `
[service]
type = "notify"
exec_start = ["${join(PEERS, "notify-libsystemd")}"]
environment = { DELAY_MS = "500" }
`,
    fuzzer: `
[service]
type = "notify"
notify_access = "all"
timeout_start_sec = 30
timeout_stop_sec = 2
exec_start = ["/usr/bin/python3", "${FUZZ}", "${SEED + 1}", "${SECONDS}", "parent"]
`,
  });
  m = await startManager(conf);
  await m.waitForOutput(/Startup finished/);
  before = { fds: fdCount(m.proc.pid)!, rssKiB: rssKiB(m.proc.pid)! };
  linesBefore = m.output.length;
  const sender = Bun.spawn(["/usr/bin/python3", FUZZ, String(SEED), String(SECONDS), String(m.proc.pid)], {
    env: { ...process.env, TARGET_NOTIFY_SOCKET: join(m.runDir, "notify.sock") }, stdout: "pipe", stderr: "pipe",
  });
  const fuzzer = m.ctl("start", "fuzzer");
  steadyStart = await m.ctl("start", "steady");
  outside = await new Response(sender.stdout).text() + await new Response(sender.stderr).text();
  expect(await sender.exited).toBe(0);
  await fuzzer;
  linesDuring = m.output.length - linesBefore;
}, 60_000);

afterAll(async () => {
  await m?.stop();
  cleanup(m, conf);
});

describe(`notify fuzz (seed ${SEED})`, () => {
  test("the sender outside any unit got its datagrams through", () => {
    const sent = Number(/sent (\d+)/.exec(outside)?.[1]);
    expect(sent).toBeGreaterThan(100);
  });

  test("a libsystemd service started during the fuzz is ready, and stops cleanly", async () => {
    expect(steadyStart.code).toBe(0);
    const u = await m.unit("steady");
    expect(u).toMatchObject({ active: "active", statusText: "serving" });
    expect((await m.ctl("stop", "steady")).code).toBe(0);
    expect((await m.unit("steady")).active).toBe("inactive");
  });

  test("the unit that fuzzed its own notify channel stops when told; the manager goes on", async () => {
    const stop = await m.ctl("stop", "fuzzer");
    expect(stop.code).toBe(0);
    expect(["inactive", "failed"]).toContain((await m.unit("fuzzer")).active);
    expect(m.running).toBe(true);
  });

  test("the manager's fds are as before and its RSS grew by less than 32 MiB", () => {
    expect(m.running).toBe(true);
    const after = { fds: fdCount(m.proc.pid)!, rssKiB: rssKiB(m.proc.pid)! };
    console.log(`notify fuzz: fds ${before.fds} -> ${after.fds}, RSS ${before.rssKiB} -> ${after.rssKiB} KiB, ${linesDuring} log lines`);
    expect(after.fds).toBeLessThanOrEqual(before.fds + 1); // + a ctl connection being closed
    expect(after.rssKiB - before.rssKiB).toBeLessThan(32 * 1024);
  });

  test("bad datagrams are not logged one line each (rate-limited)", () => {
    expect(linesDuring).toBeLessThan(500);
  });
});

// Process tracking through cgroup v2 (on this host: the writable cgroup2 hierarchy; on
// the board: /sys/fs/cgroup): processes that left their session are still the unit's.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { cleanup, poll, startManager, tempDir, writeConf, type RunningManager } from "../support/harness.ts";

let m: RunningManager;
let conf: string;
const work = tempDir("cg");
let tracking = false;

beforeAll(async () => {
  conf = writeConf({
    escaper: `
[service]
# The grandchild starts a session of its own (setsid) and ignores SIGTERM: only the
# cgroup still ties it to the unit.
exec_start = ["sh", "-c", "setsid sh -c 'trap \\"\\" TERM; echo $$$$ > ${work}/escaped.pid; exec sleep 1000' & exec sleep 1000"]
timeout_stop_sec = 1
`,
    "far-notify": `
[service]
type = "notify"
notify_access = "all"
# READY=1 comes from a process in another session (which stays a while, so /proc still
# shows it when the datagram is read): matched to the unit by its cgroup.
exec_start = ["sh", "-c", "setsid /usr/bin/python3 -c \\"import os,socket; s=socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); s.connect(os.environ['NOTIFY_SOCKET']); s.send(b'READY=1'); import time; time.sleep(2)\\" & exec sleep 1000"]
`,
  });
  m = await startManager(conf);
  await m.waitForOutput(/Startup finished/);
  tracking = m.output.some((l) => l.includes("Tracking services in cgroups"));
});

afterAll(async () => {
  await m?.stop();
  cleanup(m, conf, work);
});

describe("cgroups", () => {
  test("the manager tracks services in cgroups where cgroup v2 is writable, or says why not", () => {
    expect(m.output.some((l) => /Tracking services in cgroups|tracking services by process group/.test(l))).toBe(true);
  });

  test("a process that left the session is stopped with its unit", async () => {
    expect((await m.ctl("start", "escaper")).code).toBe(0);
    const pid = await poll("the escaped pid", () => existsSync(join(work, "escaped.pid")) && Number(readFileSync(join(work, "escaped.pid"), "utf8")));
    expect(existsSync(`/proc/${pid}`)).toBe(true);
    if (tracking) expect(readFileSync(`/proc/${pid}/cgroup`, "utf8")).toContain("/escaper.service");
    expect((await m.ctl("stop", "escaper")).code).toBe(0);
    if (tracking) await poll(`the escaped process ${pid} to be gone`, () => !existsSync(`/proc/${pid}`), { timeoutMs: 5000 });
    else process.kill(pid, "SIGKILL"); // without cgroups it escapes: the documented limit
  });

  test("READY=1 from another session of the unit is accepted (notify_access = all)", async () => {
    if (!tracking) return;
    const r = await m.ctl("start", "far-notify");
    expect(r.code).toBe(0);
    expect((await m.unit("far-notify")).active).toBe("active");
  });
});

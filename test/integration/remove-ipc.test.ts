// remove_ipc (systemd's RemoveIPC=) with real IPC objects: services running as daemon make
// a System V shared memory segment, semaphore set and message queue (util-linux's ipcmk)
// and a POSIX shared memory file; once the last unit running as daemon is down they are
// gone, not before; a unit without the key leaves its user's objects alone.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { libc } from "../../ffi/libc.ts";
import { cleanup, poll, startManager, tempDir, writeConf, type RunningManager } from "../support/harness.ts";

const isRoot = libc.geteuid() === 0;
let m: RunningManager;
let conf: string;
const work = tempDir("remove-ipc");
const SHM_FILE = `/dev/shm/hearth-remove-ipc-${process.pid}`;

/** The ids of /proc/sysvipc/KIND owned by uid. */
function idsOf(kind: "shm" | "sem" | "msg", uid: number): number[] {
  const [header, ...rows] = readFileSync(`/proc/sysvipc/${kind}`, "utf8").trim().split("\n");
  const cols = header!.trim().split(/\s+/);
  const [id, owner] = [cols.indexOf(kind === "msg" ? "msqid" : `${kind}id`), cols.indexOf("uid")];
  return rows.map((r) => r.trim().split(/\s+/).map(Number)).filter((f) => f[owner] === uid).map((f) => f[id]!);
}
const DAEMON = 1, NOBODY = 65534;

beforeAll(async () => {
  const maker = (file: string) => JSON.stringify(`ipcmk -M 4096 && ipcmk -S 1 && ipcmk -Q && touch ${file}; exec sleep 1000`);
  conf = writeConf({
    owner: `[service]\nuser = "daemon"\nremove_ipc = true\nexec_start = ["/bin/sh", "-c", ${maker(SHM_FILE)}]\n`,
    "same-user": `[service]\nuser = "daemon"\nexec_start = ["sleep", "1000"]\n`,
    keeper: `[service]\nuser = "nobody"\nexec_start = ["/bin/sh", "-c", ${maker(`${SHM_FILE}-nobody`)}]\n`,
  });
  m = await startManager(conf);
  await m.waitForOutput(/Startup finished/);
});

afterAll(async () => {
  await m?.stop();
  for (const kind of ["shm", "sem", "msg"] as const) {
    for (const id of idsOf(kind, NOBODY)) Bun.spawnSync(["ipcrm", `-${kind === "shm" ? "m" : kind === "sem" ? "s" : "q"}`, String(id)]);
  }
  Bun.spawnSync(["rm", "-f", `${SHM_FILE}-nobody`]);
  cleanup(m, conf, work);
});

describe.skipIf(!isRoot)("remove_ipc", () => {
  test("the objects of daemon go when the last unit running as daemon stops, not before", async () => {
    const before = { shm: idsOf("shm", DAEMON), sem: idsOf("sem", DAEMON), msg: idsOf("msg", DAEMON) };
    expect((await m.ctl("start", "same-user")).code).toBe(0);
    expect((await m.ctl("start", "owner")).code).toBe(0);
    await poll("the objects made", () => existsSync(SHM_FILE));
    const made = { shm: idsOf("shm", DAEMON), sem: idsOf("sem", DAEMON), msg: idsOf("msg", DAEMON) };
    for (const kind of ["shm", "sem", "msg"] as const) expect(made[kind].length).toBe(before[kind].length + 1);
    expect((await m.ctl("stop", "owner")).code).toBe(0);
    expect(idsOf("shm", DAEMON)).toEqual(made.shm); // same-user still runs as daemon
    expect(existsSync(SHM_FILE)).toBe(true);
    expect((await m.ctl("stop", "same-user")).code).toBe(0);
    // same-user has no remove_ipc: the last unit down decides, as systemd's reference count
    expect(idsOf("shm", DAEMON)).toEqual(made.shm);
    expect((await m.ctl("start", "owner")).code).toBe(0);
    await poll("the second round made", () => idsOf("shm", DAEMON).length === made.shm.length + 1);
    expect((await m.ctl("stop", "owner")).code).toBe(0);
    await poll("daemon's objects gone", () => idsOf("shm", DAEMON).length + idsOf("sem", DAEMON).length + idsOf("msg", DAEMON).length === 0);
    expect(existsSync(SHM_FILE)).toBe(false);
    await m.waitForOutput(/owner: remove_ipc: \d+ IPC object\(s\) of daemon removed/);
  });

  test("a unit without it leaves its user's objects", async () => {
    expect((await m.ctl("start", "keeper")).code).toBe(0);
    await poll("nobody's objects made", () => existsSync(`${SHM_FILE}-nobody`));
    expect((await m.ctl("stop", "keeper")).code).toBe(0);
    expect(idsOf("shm", NOBODY).length).toBeGreaterThan(0);
    expect(existsSync(`${SHM_FILE}-nobody`)).toBe(true);
  });
});

// private_mounts (systemd's PrivateMounts=) through `hearth run`, seen from inside and from
// the host: the unit's processes share a mount namespace of their own; what they mount
// stays there, what the host mounts afterwards still reaches them (propagation from the
// host only). Needs root (mounts).

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { libc } from "../../ffi/libc.ts";
import { cleanup, poll, startManager, writeConf, type RunningManager } from "../support/harness.ts";

const isRoot = libc.geteuid() === 0;
let m: RunningManager;
let conf: string;
const work = mkdtempSync(join("/run", "hearth-private-mounts-"));

beforeAll(async () => {
  for (const dir of ["unit-mount", "host-mount", "flags"]) mkdirSync(join(work, dir));
  // As hearth makes / at boot (systemd too): a shared mount, whose later mounts reach the
  // units' namespaces. This host's own mounts are private, so the test makes its own.
  for (const args of [["--bind", work, work], ["--make-rshared", work]]) expect(Bun.spawnSync(["mount", ...args]).exitCode).toBe(0);
  // The service mounts a tmpfs with a file in it, then waits; a second process of the
  // unit (exec_start_post) looks for that file: the namespace is the unit's, not the process's.
  conf = writeConf({
    mounter: `
[unit]
wanted_by = ["multi-user"]
[service]
private_mounts = true
exec_start = ["/bin/sh", "-c", "mount -t tmpfs none ${work}/unit-mount && touch ${work}/unit-mount/mine && touch ${work}/flags/mounted && exec sleep 300"]
exec_start_post = [["/bin/sh", "-c", "while [ ! -e ${work}/flags/mounted ]; do sleep 0.05; done; [ -e ${work}/unit-mount/mine ] && touch ${work}/flags/shared"]]
`,
    plain: `
[unit]
wanted_by = ["multi-user"]
[service]
exec_start = ["sleep", "300"]
`,
  });
  m = await startManager(conf);
  await m.waitForOutput(/Startup finished/);
});

afterAll(async () => {
  await m?.stop();
  Bun.spawnSync(["umount", "-R", work]);
  cleanup(m, conf, work);
});

describe.skipIf(!isRoot)("private_mounts", () => {
  test("the unit's mount stays its own: the host does not see it; its other processes do", async () => {
    const u = await m.waitForState("mounter", "active");
    expect(existsSync(join(work, "flags", "mounted"))).toBe(true);
    expect(existsSync(join(work, "unit-mount", "mine"))).toBe(false); // on the host: the directory under the tmpfs
    expect(existsSync(join(work, "flags", "shared"))).toBe(true); // exec_start_post saw the main process's mount
    expect(readlinkSync(`/proc/${u.mainPid}/ns/mnt`)).not.toBe(readlinkSync("/proc/self/ns/mnt"));
    const plain = await m.unit("plain");
    expect(readlinkSync(`/proc/${plain.mainPid}/ns/mnt`)).toBe(readlinkSync("/proc/self/ns/mnt"));
  });

  test("a mount the host makes later reaches the unit (propagation from the host only)", async () => {
    const u = await m.unit("mounter");
    expect(Bun.spawnSync(["mount", "-t", "tmpfs", "none", join(work, "host-mount")]).exitCode).toBe(0);
    writeFileSync(join(work, "host-mount", "from-host"), "");
    await poll("the host's mount inside the unit", () => existsSync(`/proc/${u.mainPid}/root${work}/host-mount/from-host`));
  });
});

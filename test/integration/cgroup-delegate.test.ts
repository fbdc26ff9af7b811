// delegate (systemd's Delegate=) with the real cgroup v2 hierarchy (on this host the
// hybrid layout's cgroup2 mount, which offers no controllers; on the board /sys/fs/cgroup):
// a service running as another user makes cgroups below its own and moves its processes
// there, as container managers do; hearth still tracks them all, stops them, and removes
// the whole subtree. Without delegate the same service may not.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { libc } from "../../ffi/libc.ts";
import { cleanup, poll, startManager, tempDir, writeConf, type RunningManager } from "../support/harness.ts";

const isRoot = libc.geteuid() === 0;
let m: RunningManager;
let conf: string;
const work = tempDir("delegate");
let tracking = false;

/** Makes $cg/sub and $cg/sub2, moves itself to sub and a sleeper to sub2, then says so. */
const manager = (flag: string) => [
  "set -e",
  `mnt=$(awk '$9 == "cgroup2" { print $5; exit }' /proc/self/mountinfo)`,
  `cg="$mnt$(sed -n 's/^0:://p' /proc/self/cgroup)"`,
  `mkdir "$cg/sub" "$cg/sub2" 2>${work}/${flag}.err || { echo refused > ${work}/${flag}; exit 0; }`,
  // "$$" in a unit's command is a "$" (systemd's expansion): "$$$$" is the shell's $$
  'echo $$$$ > "$cg/sub/cgroup.procs"',
  'sleep 1000 & echo $$! > "$cg/sub2/cgroup.procs"',
  `echo "$cg" > ${work}/${flag}`,
  "exec sleep 1000",
].join("; ");

beforeAll(async () => {
  chmodSync(work, 0o777); // the services run as daemon
  const script = (flag: string) => JSON.stringify(manager(flag));
  conf = writeConf({
    delegated: `[service]\nuser = "daemon"\ndelegate = true\nexec_start = ["/bin/sh", "-c", ${script("delegated")}]\n`,
    "not-delegated": `[service]\nuser = "daemon"\nexec_start = ["/bin/sh", "-c", ${script("not-delegated")}]\n`,
    "memory-delegated": `[service]\ndelegate = ["memory"]\nexec_start = ["sleep", "1000"]\n`,
  });
  m = await startManager(conf);
  await m.waitForOutput(/Startup finished/);
  tracking = m.output.some((l) => l.includes("Tracking services in cgroups"));
});

afterAll(async () => {
  await m?.stop();
  cleanup(m, conf, work);
});

describe.skipIf(!isRoot)("delegate", () => {
  test("the service's user owns its cgroup, makes cgroups below it and moves its processes there; hearth still counts them", async () => {
    if (!tracking) return console.log("no writable cgroup2 hierarchy here: nothing to delegate");
    expect((await m.ctl("start", "delegated")).code).toBe(0);
    await poll("the delegated service to set up its cgroups", () => existsSync(join(work, "delegated")));
    const cg = readFileSync(join(work, "delegated"), "utf8").trim();
    expect(cg).toMatch(/\/delegated\.service$/);
    const daemon = statSync(cg);
    expect([daemon.uid, daemon.gid]).toEqual([1, 1]); // daemon:daemon
    const u = await m.unit("delegated");
    expect(u.active).toBe("active");
    expect(readFileSync(`/proc/${u.mainPid}/cgroup`, "utf8")).toMatch(/^0::.*\/delegated\.service\/sub$/m);
    const sleepers = readFileSync(join(cg, "sub2", "cgroup.procs"), "utf8").trim().split("\n").filter(Boolean);
    expect(sleepers.length).toBe(1);
    // The stop reaches the processes in the cgroups below, and the subtree goes with it.
    expect((await m.ctl("stop", "delegated")).code).toBe(0);
    expect(existsSync(`/proc/${sleepers[0]}`)).toBe(false);
    await poll("the delegated subtree removed", () => !existsSync(cg));
    expect(m.text()).not.toMatch(/delegated: delegate: /); // true: what the hierarchy offers, nothing to warn about
  });

  test("without delegate the cgroup stays root's: the service may not make cgroups below it", async () => {
    if (!tracking) return;
    expect((await m.ctl("start", "not-delegated")).code).toBe(0);
    await poll("the service to try", () => existsSync(join(work, "not-delegated")));
    expect(readFileSync(join(work, "not-delegated"), "utf8").trim()).toBe("refused");
    expect(readFileSync(join(work, "not-delegated.err"), "utf8")).toContain("Permission denied");
  });

  test("a controller asked for is enabled for the unit's cgroup, or the start says why it could not be", async () => {
    if (!tracking) return;
    expect((await m.ctl("start", "memory-delegated")).code).toBe(0);
    const u = await m.waitForState("memory-delegated", "active");
    const cgroupPath = readFileSync(`/proc/${u.mainPid}/cgroup`, "utf8").match(/^0::(.*)$/m)![1]!;
    const mount = readFileSync("/proc/self/mountinfo", "utf8").split("\n").map((l) => l.split(" ")).find((f) => f[8] === "cgroup2")![4]!;
    const offered = readFileSync(join(mount, "cgroup.controllers"), "utf8").split(/\s+/);
    if (offered.includes("memory")) {
      expect(readFileSync(join(mount, cgroupPath, "cgroup.controllers"), "utf8")).toContain("memory");
    } else {
      await m.waitForOutput(/memory-delegated: delegate: the memory controller is not available/);
    }
  });
});

// The hardened execution context, with real children: CPU affinity, I/O scheduling,
// capabilities, the private mount namespace and the cgroup, each checked from inside the
// child (/proc/self/status, /proc/self/mountinfo, ionice, what a write or an open does).
// Most of it needs root (CI runs as root); those tests are skipped otherwise.

import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { E, O } from "../../ffi/constants.ts";
import { close, openFile } from "../../ffi/fd.ts";
import { libc } from "../../ffi/libc.ts";
import { cgroupSpawnMethod, spawnNative } from "../../ffi/spawn.ts";
import { discoverCgroups } from "../../src/exec/cgroup.ts";
import { spawn } from "../../src/exec/spawner.ts";
import { planMounts } from "../../src/exec/mount-plan.ts";
import { makePrivateTmp, removePrivateTmp } from "../../src/exec/private-tmp.ts";
import { parseMountinfo } from "../../src/boot/mountinfo.ts";
import { sh, statusField, waitExit } from "../support/child.ts";

const isRoot = libc.geteuid() === 0;
const work = mkdtempSync(join(tmpdir(), "hearth-context-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** The mount of a path as the child printed /proc/self/mountinfo: its options and file system type. */
function mountOf(mountinfo: string, path: string): { options: string[]; fstype: string } | null {
  const lines = mountinfo.split("\n").filter((line) => line.split(" ")[4] === path);
  const line = lines.at(-1); // the last one mounted there is the one seen
  if (line === undefined) return null;
  const fields = line.split(" ");
  return { options: fields[5]!.split(","), fstype: fields[fields.indexOf("-") + 1]! };
}

/** The capability bits of a /proc/self/status field ("CapBnd: 0000000000002400"). */
function capBits(output: string, field: string): bigint {
  return BigInt(`0x${statusField(output, field)}`);
}

const bit = (cap: number) => 1n << BigInt(cap);
/** Ports below this need CAP_NET_BIND_SERVICE (a sysctl; 1024 unless lowered). */
const unprivilegedPortStart = Number(readFileSync("/proc/sys/net/ipv4/ip_unprivileged_port_start", "utf8"));
const CAP_NET_BIND_SERVICE = 10;
const CAP_NET_RAW = 13;
const CAP_SYS_ADMIN = 21;

describe("CPU affinity and I/O scheduling", () => {
  test("cpuAffinity: Cpus_allowed_list in the child", async () => {
    const last = availableParallelism() - 1;
    const one = await sh("grep Cpus_allowed_list /proc/self/status", { cpuAffinity: [last] });
    expect(statusField(one.output, "Cpus_allowed_list")).toBe(String(last));
    const all = await sh("grep Cpus_allowed_list /proc/self/status", { cpuAffinity: [...Array(last + 1).keys()] });
    expect(statusField(all.output, "Cpus_allowed_list")).toBe(last === 0 ? "0" : `0-${last}`);
  });

  test("cpuAffinity naming only CPUs the machine lacks fails at cpu_affinity", () => {
    const result = spawn({ path: "/bin/true", argv: ["true"], env: {}, cpuAffinity: [8000] });
    expect(result).toMatchObject({ ok: false, stage: "cpu_affinity", errno: E.EINVAL });
  });

  test("ioScheduling: the class and level, as ionice reads them back from the child", async () => {
    const ionice = async (scheduling: { class: "realtime" | "best-effort" | "idle" | "none"; priority: number }) =>
      (await sh("ionice -p $$", { ioScheduling: scheduling })).output.trim();
    expect(await ionice({ class: "best-effort", priority: 6 })).toBe("best-effort: prio 6");
    expect(await ionice({ class: "idle", priority: 0 })).toBe("idle");
    expect(await ionice({ class: "none", priority: 0 })).toBe("best-effort: prio 4"); // systemd's reading of "none"
    if (isRoot) expect(await ionice({ class: "realtime", priority: 1 })).toBe("realtime: prio 1");
  });
});

describe.skipIf(!isRoot)("capabilities (as root)", () => {
  const status = async (extra: Parameters<typeof sh>[1]) => (await sh("cat /proc/self/status", extra)).output;

  test("capabilityBoundingSet keeps only the capabilities listed", async () => {
    const output = await status({ capabilityBoundingSet: ["CAP_NET_RAW", "CAP_NET_BIND_SERVICE"] });
    const kept = bit(CAP_NET_RAW) | bit(CAP_NET_BIND_SERVICE);
    expect(capBits(output, "CapBnd")).toBe(kept);
    expect(capBits(output, "CapEff")).toBe(kept); // root's capabilities after execve are capped by it
  });

  test("an empty capabilityBoundingSet drops everything, even for root", async () => {
    const output = await status({ capabilityBoundingSet: [] });
    expect(capBits(output, "CapBnd")).toBe(0n);
    expect(capBits(output, "CapEff")).toBe(0n);
    expect(capBits(output, "CapPrm")).toBe(0n);
  });

  test("no capabilityBoundingSet: the manager's set, unchanged", async () => {
    const own = capBits(readFileSync("/proc/self/status", "utf8"), "CapBnd");
    expect(capBits(await status({}), "CapBnd")).toBe(own);
  });

  test("ambientCapabilities survive the change to another user, and work", async () => {
    const asNobody = { uid: 65534, gid: 65534 };
    const output = await status({ ...asNobody, ambientCapabilities: ["CAP_NET_BIND_SERVICE"] });
    expect(statusField(output, "Uid").split(/\s+/)[0]).toBe("65534");
    for (const set of ["CapAmb", "CapInh", "CapPrm", "CapEff"]) expect(capBits(output, set)).toBe(bit(CAP_NET_BIND_SERVICE));
    // The real effect: binding a privileged port as nobody.
    const bind = `python3 -c "import socket; socket.socket().bind(('127.0.0.1', 1023)); print('bound')" 2>&1`;
    expect((await sh(bind, { ...asNobody, ambientCapabilities: ["CAP_NET_BIND_SERVICE"] })).output).toContain("bound");
    if (unprivilegedPortStart > 1023) expect((await sh(bind, asNobody)).output).toContain("PermissionError");
  });

  test("ambient capabilities outside the bounding set are left out, as systemd does", async () => {
    const output = await status({
      uid: 65534, gid: 65534,
      capabilityBoundingSet: ["CAP_NET_BIND_SERVICE"],
      ambientCapabilities: ["CAP_NET_BIND_SERVICE", "CAP_SYS_ADMIN"],
    });
    expect(capBits(output, "CapAmb")).toBe(bit(CAP_NET_BIND_SERVICE));
    expect(capBits(output, "CapBnd")).toBe(bit(CAP_NET_BIND_SERVICE));
    expect(capBits(output, "CapAmb") & bit(CAP_SYS_ADMIN)).toBe(0n);
  });

  test("ambient capabilities without a user change", async () => {
    const output = await status({ ambientCapabilities: ["net_raw"] }); // names as in the config: any case, CAP_ optional
    expect(capBits(output, "CapAmb")).toBe(bit(CAP_NET_RAW));
  });
});

describe.skipIf(!isRoot)("the private mount namespace (as root)", () => {
  const hostMounts = () => readFileSync("/proc/self/mountinfo", "utf8");

  test("readOnlyPaths: writes fail with EROFS inside, the host's mount is untouched", async () => {
    const dir = join(work, "ro");
    mkdirSync(dir);
    const before = hostMounts();
    const { output } = await sh(`echo x > ${dir}/file; cat /proc/self/mountinfo`, { sandbox: { readOnlyPaths: [dir] } });
    expect(output).toContain("Read-only file system"); // strerror(EROFS)
    expect(mountOf(output, dir)?.options).toContain("ro");
    expect(hostMounts()).toBe(before);
    writeFileSync(join(dir, "file"), "the host can still write");
  });

  const shmIsMount = mountOf(readFileSync("/proc/self/mountinfo", "utf8"), "/dev/shm") !== null;

  test.skipIf(!shmIsMount)("readOnlyPaths covers the mounts below the path (/dev/shm below /dev)", async () => {
    const name = `/dev/shm/hearth-test-${process.pid}`;
    const { output } = await sh(`echo x > ${name}`, { sandbox: { readOnlyPaths: ["/dev"] } });
    expect(output).toContain("Read-only file system");
    expect(existsSync(name)).toBe(false);
  });

  test.skipIf(!shmIsMount)("on kernels without mount_setattr (< 5.12) the mounts below are read-only too, one remount each", async () => {
    const name = `/dev/shm/hearth-legacy-${process.pid}`;
    try {
      const points = parseMountinfo(hostMounts()).map((m) => m.mountPoint);
      const mounts = planMounts({ readOnlyPaths: ["/dev"] }, points);
      if (typeof mounts === "string") throw new Error(mounts);
      const result = spawnNative({
        path: "/bin/sh", argv: ["sh", "-c", `(echo x > /dev/x-${process.pid}) 2>/dev/null; (echo y > ${name}) 2>/dev/null`], env: [["PATH", "/bin:/usr/bin"]],
        pidEnv: [], fdSources: [0, 1, 2], setsid: true, rlimits: [], noNewPrivileges: false, mounts, legacyRemount: true,
      });
      if (!("pid" in result)) throw new Error(`spawn failed: ${JSON.stringify(result)}`);
      await waitExit(result.pid);
      expect(existsSync(`/dev/x-${process.pid}`)).toBe(false); // /dev itself: read-only
      expect(existsSync(name)).toBe(false); // /dev/shm, a mount below it: read-only too
    } finally {
      rmSync(name, { force: true });
    }
  });

  test("readOnlyPaths \"/\": the whole tree read-only, with privateTmp the only writable place", async () => {
    const privateTmp = makePrivateTmp(`spawner-test-${process.pid}`);
    try {
      const { output } = await sh("touch /etc/hearth-test 2>&1; touch /tmp/ok && echo tmp-writable", {
        sandbox: { readOnlyPaths: ["/"], privateTmp },
      });
      expect(output).toContain("Read-only file system");
      expect(output).toContain("tmp-writable");
      expect(existsSync("/etc/hearth-test")).toBe(false);
      expect(existsSync(join(privateTmp.tmp, "ok"))).toBe(true);
    } finally {
      removePrivateTmp(privateTmp);
    }
  });

  test("inaccessiblePaths: a directory is empty and mode 000, a file cannot be opened, even by root", async () => {
    const dir = join(work, "secret-dir");
    mkdirSync(dir);
    writeFileSync(join(dir, "key"), "secret");
    const file = join(work, "secret-file");
    writeFileSync(file, "secret");
    const script = `ls -A ${dir}; stat -c %a ${dir}; cat ${dir}/key; cat ${file}; echo > ${file}`;
    const { output } = await sh(`${script} 2>&1`, { sandbox: { inaccessiblePaths: [dir, file] } });
    const lines = output.trim().split("\n");
    expect(lines[0]).toBe("0"); // ls printed nothing; stat printed the mode
    expect(lines[1]).toMatch(/key: No such file or directory/);
    expect(lines[2]).toMatch(/secret-file: Permission denied/); // EACCES: /dev/null on a nodev mount
    expect(lines[3]).toMatch(/secret-file: (Permission denied|Read-only file system)/);
    expect(readFileSync(file, "utf8")).toBe("secret"); // untouched on the host
    const nobody = await sh(`ls ${dir} 2>&1`, { sandbox: { inaccessiblePaths: [dir] }, uid: 65534, gid: 65534 });
    expect(nobody.output).toContain("Permission denied");
  });

  test("privateTmp: the unit's own directories on /tmp and /var/tmp, shared by its processes; nothing leaks to the host's", async () => {
    const marker = join(tmpdir(), `hearth-host-marker-${process.pid}`);
    writeFileSync(marker, "host");
    const privateTmp = makePrivateTmp(`spawner-test-${process.pid}`);
    try {
      const first = await sh("ls -A /tmp | wc -l; echo child > /tmp/from-child", { sandbox: { privateTmp }, cwd: "/tmp" });
      expect(first.output.split("\n")[0]).toBe("0");
      const second = await sh("cat /tmp/from-child; stat -c %a /tmp /var/tmp", { sandbox: { privateTmp } });
      expect(second.output.split("\n").slice(0, 2)).toEqual(["child", "1777"]);
      expect(existsSync("/tmp/from-child")).toBe(false);
      expect(readFileSync(join(privateTmp.tmp, "from-child"), "utf8")).toBe("child\n");
    } finally {
      removePrivateTmp(privateTmp);
      rmSync(marker);
    }
    expect(existsSync(privateTmp.roots[0]!)).toBe(false);
  });

  test("a leading \"-\" skips a missing path; without it the spawn fails naming the step and the path", () => {
    const base = { path: "/bin/true", argv: ["true"], env: {} };
    expect(spawn({ ...base, sandbox: { readOnlyPaths: ["-/nonexistent/a"], inaccessiblePaths: ["-/nonexistent/b"] } }).ok).toBe(true);
    expect(spawn({ ...base, sandbox: { readOnlyPaths: ["/nonexistent/a/"] } })).toEqual({
      ok: false, errno: E.ENOENT, stage: "read_only_paths", path: "/nonexistent/a",
      message: "read_only_paths /nonexistent/a: No such file or directory",
    });
    expect(spawn({ ...base, sandbox: { inaccessiblePaths: ["/etc", "/nonexistent/b"] } })).toMatchObject({
      ok: false, errno: E.ENOENT, stage: "inaccessible_paths", path: "/nonexistent/b",
    });
  });
});

const tree = discoverCgroups("run", { name: `hearth-spawner-test-${process.pid}` });
afterAll(() => {
  if (!("unavailable" in tree)) tree.close();
});

describe("cgroupFd", () => {
  test.skipIf("unavailable" in tree)("the child is in the unit's cgroup before it runs anything", async () => {
    if ("unavailable" in tree) return;
    const unit = tree.ensureUnit("context-test");
    if ("error" in unit) throw new Error(unit.error);
    const { output, pid } = await sh("exec cat /proc/self/cgroup", { cgroupFd: unit.cgroupFd });
    expect(output).toContain(`0::${tree.cgroupPath}/context-test.service\n`);
    expect(pid).toBeGreaterThan(0);
  });

  // CLONE_INTO_CGROUP is Linux 5.7+: there, no child migrates (and waits for RCU) to get in.
  const [major, minor] = readFileSync("/proc/sys/kernel/osrelease", "utf8").split(".").map(Number) as [number, number];
  const hasCloneIntoCgroup = major > 5 || (major === 5 && minor >= 7);
  test.skipIf("unavailable" in tree || !hasCloneIntoCgroup)("on Linux 5.7+ clone3 starts children in their cgroup", async () => {
    if ("unavailable" in tree) return;
    const unit = tree.ensureUnit("clone3-test");
    if ("error" in unit) throw new Error(unit.error);
    await sh("true", { cgroupFd: unit.cgroupFd });
    expect(cgroupSpawnMethod()).toBe("clone3");
  });

  test.skipIf("unavailable" in tree)("without clone3 the child joins the unit's cgroup first (cgroup.procs)", async () => {
    if ("unavailable" in tree) return;
    const unit = tree.ensureUnit("join-test");
    if ("error" in unit) throw new Error(unit.error);
    const outputPath = join(work, "join-test.out");
    const output = openFile(outputPath, O.WRONLY | O.CREAT | O.TRUNC);
    try {
      const result = spawnNative({
        path: "/bin/cat", argv: ["cat", "/proc/self/cgroup"], env: [], pidEnv: [], fdSources: [0, output, 2],
        setsid: true, rlimits: [], noNewPrivileges: false, cgroupFd: unit.cgroupFd, cgroupJoin: true,
      });
      if (!("pid" in result)) throw new Error(`spawn failed: ${JSON.stringify(result)}`);
      await waitExit(result.pid);
    } finally {
      close(output);
    }
    expect(readFileSync(outputPath, "utf8")).toContain(`0::${tree.cgroupPath}/join-test.service\n`);
  });

  test.each([false, true])("an fd that is not a cgroup directory fails the spawn at stage cgroup (join: %p)", (cgroupJoin) => {
    const notCgroup = openFile("/dev/null", O.RDONLY);
    try {
      const result = spawnNative({
        path: "/bin/true", argv: ["true"], env: [], pidEnv: [], fdSources: [0, 1, 2], setsid: true, rlimits: [],
        noNewPrivileges: false, cgroupFd: notCgroup, cgroupJoin,
      });
      // clone3 refuses an fd that is not a cgroup2 directory; openat(fd, "cgroup.procs") needs a directory
      expect(result).toMatchObject({ stage: "cgroup", errno: cgroupJoin || !hasCloneIntoCgroup ? E.ENOTDIR : E.EBADF });
    } finally {
      close(notCgroup);
    }
  });
});

test("bad requests are refused before any process exists", () => {
  const base = { path: "/bin/true", argv: ["true"], env: {} };
  expect(spawn({ ...base, capabilityBoundingSet: ["CAP_BOGUS"] })).toMatchObject({
    ok: false, stage: "request", message: 'capability_bounding_set: unknown capability "CAP_BOGUS"',
  });
  expect(spawn({ ...base, ambientCapabilities: ["cap_nope"] })).toMatchObject({ ok: false, stage: "request" });
  expect(spawn({ ...base, cpuAffinity: [-1] })).toMatchObject({ ok: false, stage: "request" });
  expect(spawn({ ...base, cpuAffinity: [8192] })).toMatchObject({ ok: false, stage: "request" });
  expect(spawn({ ...base, ioScheduling: { class: "idle", priority: 8 } })).toMatchObject({ ok: false, stage: "request" });
  expect(spawn({ ...base, sandbox: { readOnlyPaths: ["relative/path"] } })).toMatchObject({
    ok: false, stage: "request", message: 'read_only_paths: not an absolute path: "relative/path"',
  });
  expect(spawn({ ...base, sandbox: { inaccessiblePaths: ["/a\0b"] } })).toMatchObject({ ok: false, stage: "request" });
});

// A kernel without clone3 (or a seccomp filter that hides it): the first spawn into a
// cgroup learns it, and that spawn and every later one join through cgroup.procs. Run in
// a process of its own, whose JS thread gets a seccomp filter answering ENOSYS to clone3.
describe.skipIf("unavailable" in tree || process.arch !== "x64")("without clone3", () => {
  const program = `
import { ptr } from "bun:ffi";
import { libc } from "${join(import.meta.dir, "../../ffi/libc.ts")}";
import { cgroupSpawnMethod } from "${join(import.meta.dir, "../../ffi/spawn.ts")}";
import { spawn } from "${join(import.meta.dir, "../../src/exec/spawner.ts")}";
import { waitExit } from "${join(import.meta.dir, "../support/child.ts")}";
// BPF (struct sock_filter: u16 code, u8 jt, u8 jf, u32 k): load the syscall number; 435
// (clone3 on x86_64) returns ENOSYS (SECCOMP_RET_ERRNO | 38), all else is allowed.
const filter = new Uint8Array(32);
const view = new DataView(filter.buffer);
[[0x20, 0, 0, 0], [0x15, 0, 1, 435], [0x06, 0, 0, 0x50000 | 38], [0x06, 0, 0, 0x7fff0000]].forEach(([code, jt, jf, k], i) => {
  view.setUint16(8 * i, code, true); view.setUint8(8 * i + 2, jt); view.setUint8(8 * i + 3, jf); view.setUint32(8 * i + 4, k, true);
});
const prog = new BigUint64Array([4n, BigInt(ptr(filter))]); // struct sock_fprog: u16 len, then the pointer
if (libc.prctl(38, 1, 0, 0, 0) !== 0 || libc.prctl(22, 2, ptr(prog), 0, 0) !== 0) throw new Error("seccomp");
const cgroupFd = Number(process.argv[2]);
for (let i = 0; i < 2; i++) {
  const result = spawn({ path: "/bin/sh", argv: ["sh", "-c", "exec cat /proc/self/cgroup"], env: {}, stdout: 1, cgroupFd });
  if (!result.ok) throw new Error(result.message);
  await waitExit(result.pid);
  console.log("method " + cgroupSpawnMethod());
}
`;

  test("the first spawn into a cgroup learns it, and children join their cgroup", () => {
    if ("unavailable" in tree) return;
    const unit = tree.ensureUnit("no-clone3");
    if ("error" in unit) throw new Error(unit.error);
    const file = join(work, "no-clone3.ts");
    writeFileSync(file, program);
    const result = Bun.spawnSync([process.execPath, file, "3"], { stdio: ["ignore", "pipe", "pipe", unit.cgroupFd] });
    const stdout = result.stdout.toString();
    expect(result.stderr.toString()).toBe("");
    const line = `0::${tree.cgroupPath}/no-clone3.service\n`;
    expect(stdout.split(line).length - 1).toBe(2);
    expect(stdout.match(/^method .*$/gm)).toEqual(["method join", "method join"]);
  });
});

// src/exec/cgroup.ts for real: a hearth subtree in this machine's cgroup2 hierarchy,
// real services in it (forking, double-forking, stopped, ignoring SIGTERM), and the
// limits where the kernel offers their controllers. Skipped, saying why, where no
// cgroup2 hierarchy is writable.

import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SIGNALS } from "../../ffi/constants.ts";
import { CgroupTree, discoverCgroups, findCgroup2Mount, parseProcCgroup } from "../../src/exec/cgroup.ts";
import { spawn } from "../../src/exec/spawner.ts";
import { PATH, sh, waitExit } from "../support/child.ts";

const SIGTERM = SIGNALS.SIGTERM!;
const SIGKILL = SIGNALS.SIGKILL!;
const work = mkdtempSync(join(tmpdir(), "hearth-cgroup-"));

const found = discoverCgroups("run", { name: `hearth-test-${process.pid}` });
const tree = "unavailable" in found ? null : found;
const why = "unavailable" in found ? found.unavailable : "";
if (!tree) console.warn(`cgroup tests skipped: ${why}`);

afterAll(() => {
  tree?.close();
  rmSync(work, { recursive: true, force: true });
});

/** Starts a shell script as the main process of a unit, in its cgroup; returns its pid. */
function startIn(unit: string, script: string): number {
  const cgroup = tree!.ensureUnit(unit);
  if ("error" in cgroup) throw new Error(cgroup.error);
  const result = spawn({ path: "/bin/sh", argv: ["sh", "-c", script], env: { PATH }, cgroupFd: cgroup.cgroupFd });
  if (!result.ok) throw new Error(result.message);
  return result.pid;
}

async function until(condition: () => boolean, what: string, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await Bun.sleep(5);
  }
}

/** A pid the kernel will never hand out (above pid_max). */
function impossiblePid(): number {
  return Number(readFileSync("/proc/sys/kernel/pid_max", "utf8")) + 1;
}

describe.skipIf(!tree)("the hearth subtree", () => {
  test("in run mode: below the manager's own cgroup, named for it", () => {
    const ownPath = parseProcCgroup(readFileSync("/proc/self/cgroup", "utf8"))!;
    expect(tree!.cgroupPath).toBe(join(ownPath, `hearth-test-${process.pid}`));
    expect(tree!.dir.startsWith(findCgroup2Mount(readFileSync("/proc/self/mountinfo", "utf8"))!.mountPoint)).toBe(true);
    expect(existsSync(join(tree!.dir, "cgroup.procs"))).toBe(true);
    expect(tree!.hasKill).toBe(existsSync(join(tree!.dir, "cgroup.kill")));
    expect(tree!.favorDynmods).toBe(findCgroup2Mount(readFileSync("/proc/self/mountinfo", "utf8"))!.options.includes("favordynmods"));
  });

  test("the empty subtree of a manager that is gone is removed by the next one", () => {
    const parent = join(tree!.dir, "..");
    const stale = join(parent, `hearth-run-${impossiblePid()}`);
    mkdirSync(join(stale, "old.service"), { recursive: true });
    const next = discoverCgroups("run", { name: `hearth-test-next-${process.pid}` });
    expect(existsSync(stale)).toBe(false);
    if (!("unavailable" in next)) next.close();
  });

  test("ensureUnit creates the cgroup once and keeps one fd for it", () => {
    const first = tree!.ensureUnit("twice");
    const second = tree!.ensureUnit("twice");
    expect(first).toEqual(second);
    expect(existsSync(tree!.unitDir("twice"))).toBe(true);
    expect(tree!.units()).toContain("twice");
    expect(tree!.removeUnit("twice")).toBe(true);
    expect(existsSync(tree!.unitDir("twice"))).toBe(false);
  });

  test("a name that would leave the subtree is refused", () => {
    expect(tree!.ensureUnit("../escape")).toEqual({ error: 'no cgroup for a unit named "../escape"' });
    expect(tree!.ensureUnit("")).toMatchObject({ error: expect.any(String) });
  });
});

describe.skipIf(!tree)("tracking real processes", () => {
  test("every process of a unit is found, a double-forked daemon too, and matched back to its unit", async () => {
    const pidFile = join(work, "daemon.pid");
    // The daemon leaves its parent, which exits: no process tree leads to it any more.
    const main = startIn("tracked", `setsid sh -c 'echo $$ > ${pidFile}; exec sleep 60' & wait; exec sleep 60`);
    await until(() => existsSync(pidFile) && readFileSync(pidFile, "utf8").endsWith("\n"), "the daemon's pid file");
    const daemon = Number(readFileSync(pidFile, "utf8"));
    await until(() => tree!.pids("tracked").length === 2, "two processes");
    expect(tree!.pids("tracked").sort()).toEqual([main, daemon].sort());
    expect(tree!.unitOfPid(main)).toBe("tracked");
    expect(tree!.unitOfPid(daemon)).toBe("tracked");
    expect(tree!.unitOfPid(process.pid)).toBeNull();
    expect(tree!.unitOfPid(impossiblePid())).toBeNull();
    expect(tree!.isEmpty("tracked")).toBe(false);
    expect(tree!.removeUnit("tracked")).toBe(false); // still populated: nothing removed

    expect(tree!.kill("tracked", SIGTERM)).toBe(2);
    expect(await waitExit(main)).toEqual({ kind: "killed", signal: SIGTERM, coreDumped: false });
    await until(() => tree!.isEmpty("tracked"), "the unit's cgroup to empty");
    expect(tree!.removeUnit("tracked")).toBe(true);
  });

  test("a stopped process gets SIGCONT after the signal, so it can act on it", async () => {
    const main = startIn("stopped", "exec sleep 60");
    await until(() => tree!.pids("stopped").length === 1, "the process");
    process.kill(main, "SIGSTOP");
    await until(() => readFileSync(`/proc/${main}/stat`, "utf8").split(") ")[1]!.startsWith("T"), "the stop");
    tree!.kill("stopped", SIGTERM);
    expect(await waitExit(main)).toEqual({ kind: "killed", signal: SIGTERM, coreDumped: false });
  });

  test("SIGKILL empties a unit that ignores SIGTERM and keeps forking", async () => {
    const script = "trap '' TERM; while :; do sleep 60 & sleep 0.005; done";
    const main = startIn("forker", script);
    await until(() => tree!.pids("forker").length > 20, "twenty processes");
    tree!.kill("forker", SIGTERM);
    await Bun.sleep(50);
    expect(tree!.isEmpty("forker")).toBe(false); // the loop ignores SIGTERM (its sleeps do not)
    expect(tree!.kill("forker", SIGKILL)).toBeGreaterThan(0);
    await waitExit(main);
    await until(() => tree!.isEmpty("forker"), "the unit's cgroup to empty");
    expect(tree!.removeUnit("forker")).toBe(true);
  });

  test("without cgroup.kill: pass after pass until no new process appears", async () => {
    const oneByOne = new CgroupTree("run", tree!.dir, tree!.cgroupPath, [], false);
    const main = startIn("racer", "while :; do sleep 60 & sleep 0.001; done");
    await until(() => tree!.pids("racer").length > 20, "twenty processes");
    expect(oneByOne.kill("racer", SIGKILL)).toBeGreaterThan(20);
    await waitExit(main);
    await until(() => tree!.isEmpty("racer"), "the unit's cgroup to empty");
    expect(tree!.removeUnit("racer")).toBe(true);
  });
});

// After cgroup.kill, the kernel SIGKILLs a child clone3 starts in that cgroup (see
// "cgroup.kill and clone3" in src/exec/cgroup.ts): a unit starting again must still live.
describe.skipIf(!tree?.hasKill)("a unit that starts again after its cgroup was killed", () => {
  /** Starts `sh -c script` in the unit's cgroup as the manager would, and waits for its end. */
  async function runIn(unit: string, script: string) {
    const cgroup = tree!.ensureUnit(unit);
    if ("error" in cgroup) throw new Error(cgroup.error);
    const result = spawn({ path: "/bin/sh", argv: ["sh", "-c", script], env: { PATH }, cgroupFd: cgroup.cgroupFd, cgroupJoin: cgroup.join });
    if (!result.ok) throw new Error(result.message);
    return { join: cgroup.join, status: await waitExit(result.pid) };
  }

  test("its emptied cgroup is made anew, and its process runs to the end", async () => {
    const old = startIn("killed-empty", "exec sleep 60");
    expect(tree!.kill("killed-empty", SIGKILL)).toBe(1);
    await waitExit(old);
    await until(() => tree!.isEmpty("killed-empty"), "the unit's cgroup to empty");
    expect(await runIn("killed-empty", "exit 7")).toEqual({ join: false, status: { kind: "exited", code: 7 } });
  });

  test("while a process still holds it, the new process joins it and runs to the end", async () => {
    const old = startIn("killed-held", "exec sleep 60");
    const cgroup = tree!.ensureUnit("killed-held");
    if ("error" in cgroup) throw new Error(cgroup.error);
    expect(tree!.kill("killed-held", SIGKILL)).toBe(1);
    // A process that entered after the kill holds the cgroup, as a dying leftover would.
    const held = spawn({ path: "/bin/sleep", argv: ["sleep", "60"], env: {}, cgroupFd: cgroup.cgroupFd, cgroupJoin: true });
    if (!held.ok) throw new Error(held.message);
    await waitExit(old);
    try {
      expect(await runIn("killed-held", "exit 7")).toEqual({ join: true, status: { kind: "exited", code: 7 } });
    } finally {
      process.kill(held.pid, "SIGKILL");
      await waitExit(held.pid);
    }
    await until(() => tree!.isEmpty("killed-held"), "the unit's cgroup to empty");
    expect(await runIn("killed-held", "exit 7")).toEqual({ join: false, status: { kind: "exited", code: 7 } });
  });
});

/** Whether the unit cgroups could get a controller: our subtree's parent offers it. */
function offered(controller: string): boolean {
  if (!tree) return false;
  try {
    return readFileSync(join(tree.dir, "..", "cgroup.controllers"), "utf8").split(/\s+/).includes(controller);
  } catch {
    return false;
  }
}

describe.skipIf(!tree)("limits", () => {
  test.skipIf(offered("memory") && offered("cpu") && offered("pids"))(
    "a limit whose controller is missing is a warning naming the unit and the key; the unit still gets its cgroup",
    () => {
      const result = tree!.ensureUnit("limited", { memoryMax: 64 * 2 ** 20, cpuQuota: 50, tasksMax: 16 });
      if ("error" in result) throw new Error(result.error);
      expect(result.cgroupFd).toBeGreaterThan(2);
      const missing = ["memory", "cpu", "pids"].filter((c) => !offered(c));
      const keys: Record<string, string> = { memory: "memory_max", cpu: "cpu_quota", pids: "tasks_max" };
      for (const controller of missing) {
        expect(result.warnings).toContainEqual(expect.stringMatching(new RegExp(`^limited: ${keys[controller]} not applied: the ${controller} controller is not available`)));
      }
      expect(tree!.removeUnit("limited")).toBe(true);
    },
  );

  test.skipIf(!offered("pids"))("tasks_max: pids.max is written, and forks past it fail", async () => {
    const cgroup = tree!.ensureUnit("few-tasks", { tasksMax: 3 });
    if ("error" in cgroup) throw new Error(cgroup.error);
    expect(cgroup.warnings).toEqual([]);
    expect(readFileSync(join(tree!.unitDir("few-tasks"), "pids.max"), "utf8").trim()).toBe("3");
    const { output } = await sh("for i in 1 2 3 4 5; do sleep 1 & done 2>&1; wait", { cgroupFd: cgroup.cgroupFd });
    expect(output).toMatch(/fork|Resource temporarily unavailable/i);
  });

  test.skipIf(!offered("memory"))("memory_max: memory.max is written, and a process past it is killed", async () => {
    const cgroup = tree!.ensureUnit("small", { memoryMax: 16 * 2 ** 20 });
    if ("error" in cgroup) throw new Error(cgroup.error);
    expect(readFileSync(join(tree!.unitDir("small"), "memory.max"), "utf8").trim()).toBe(String(16 * 2 ** 20));
    const { status } = await sh("python3 -c 'x = bytearray(64 * 2**20); print(len(x))'", { cgroupFd: cgroup.cgroupFd });
    expect(status).toMatchObject({ kind: "killed", signal: SIGKILL });
  });

  test.skipIf(!offered("cpu"))("cpu_quota: cpu.max is written", () => {
    const cgroup = tree!.ensureUnit("slow", { cpuQuota: 20 });
    if ("error" in cgroup) throw new Error(cgroup.error);
    expect(readFileSync(join(tree!.unitDir("slow"), "cpu.max"), "utf8").trim()).toBe("20000 100000");
  });
});

// The interface-file protocol on a stand-in directory (plain files, no kernel): which
// files a limit writes, and the chain of subtree_control files a controller is enabled in.
test("limits write their interface files after enabling the controller down the chain", () => {
  const top = join(work, "fake-root");
  const subtree = join(top, "hearth");
  const unitDir = join(subtree, "db.service");
  mkdirSync(unitDir, { recursive: true });
  for (const dir of [top, subtree]) {
    writeFileSync(join(dir, "cgroup.controllers"), "cpu memory pids\n");
    writeFileSync(join(dir, "cgroup.subtree_control"), "\n");
  }
  for (const file of ["cgroup.procs", "memory.max", "pids.max"]) writeFileSync(join(unitDir, file), "");
  const fake = new CgroupTree("system", subtree, "/hearth", [top, subtree], false);

  const result = fake.ensureUnit("db", { memoryMax: 2 ** 20 });
  expect(result).toMatchObject({ warnings: [] });
  expect(readFileSync(join(top, "cgroup.subtree_control"), "utf8")).toBe("+memory");
  expect(readFileSync(join(subtree, "cgroup.subtree_control"), "utf8")).toBe("+memory");
  expect(readFileSync(join(unitDir, "memory.max"), "utf8")).toBe("1048576");
  expect(readFileSync(join(unitDir, "pids.max"), "utf8")).toBe("max"); // unset, file present: reset
  expect(existsSync(join(unitDir, "cpu.max"))).toBe(false); // unset, controller off: left alone
  fake.close();
});

// The reaper: wait statuses, signals, and orphans. Anything that calls waitpid(-1) or
// becomes a subreaper runs in a child bun process, so the test runner's own children
// (Bun.spawn in other test files) are never reaped from under it.

import { describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { close, pipe, readNonBlocking } from "../../ffi/fd.ts";
import { spawn } from "../../src/exec/spawner.ts";
import { decodeWaitStatus, killProcess, reapChild } from "../../src/exec/reaper.ts";

const root = join(import.meta.dir, "..", "..");

async function waitExit(pid: number) {
  for (let i = 0; i < 2500; i++) {
    const status = reapChild(pid);
    if (status) return status;
    await Bun.sleep(2);
  }
  throw new Error(`child ${pid} did not exit`);
}

describe("decodeWaitStatus", () => {
  test("normal exits", () => {
    expect(decodeWaitStatus(0)).toEqual({ kind: "exited", code: 0 });
    expect(decodeWaitStatus(3 << 8)).toEqual({ kind: "exited", code: 3 });
    expect(decodeWaitStatus(255 << 8)).toEqual({ kind: "exited", code: 255 });
  });

  test("deaths by signal, with and without a core", () => {
    expect(decodeWaitStatus(9)).toEqual({ kind: "killed", signal: 9, coreDumped: false });
    expect(decodeWaitStatus(6 | 0x80)).toEqual({ kind: "killed", signal: 6, coreDumped: true });
    expect(decodeWaitStatus(64)).toEqual({ kind: "killed", signal: 64, coreDumped: false });
  });

  test("stopped and continued statuses are not terminations", () => {
    expect(() => decodeWaitStatus((19 << 8) | 0x7f)).toThrow(RangeError);
    expect(() => decodeWaitStatus(0xffff)).toThrow(RangeError);
  });
});

describe("signals", () => {
  test("killProcess by name and by number; false once the process is gone", async () => {
    const result = spawn({ path: "/bin/sleep", argv: ["sleep", "30"], env: {} });
    if (!result.ok) throw new Error(result.message);
    expect(killProcess(result.pid, "TERM")).toBe(true);
    expect(await waitExit(result.pid)).toEqual({ kind: "killed", signal: 15, coreDumped: false });
    expect(killProcess(4194305, 9)).toBe(false); // above the largest pid_max
  });

  test("killProcess(-pid) reaches every process of the service's session", async () => {
    const out = pipe();
    const result = spawn({
      path: "/bin/sh",
      argv: ["sh", "-c", "sleep 30 & echo $!; wait"],
      env: { PATH: "/bin:/usr/bin" },
      stdout: out.write,
    });
    close(out.write);
    if (!result.ok) throw new Error(result.message);
    const grandchild = Number(await readLine(out.read));
    close(out.read);
    expect(killProcess(-result.pid, "SIGKILL")).toBe(true);
    expect(await waitExit(result.pid)).toEqual({ kind: "killed", signal: 9, coreDumped: false });
    // The grandchild is not ours: it went to our reaper (PID 1 / a subreaper) — or is
    // simply gone. Either way it received the signal: it is no longer sleeping.
    await Bun.sleep(20);
    expect(processState(grandchild)).not.toBe("S");
  });

  test("killProcess with a negative pid signals the group, as kill(2)", async () => {
    const result = spawn({ path: "/bin/sleep", argv: ["sleep", "30"], env: {} });
    if (!result.ok) throw new Error(result.message);
    expect(killProcess(-result.pid, 9)).toBe(true); // its own session and group
    expect(await waitExit(result.pid)).toEqual({ kind: "killed", signal: 9, coreDumped: false });
  });

  test("refuses the pids that mean 'everyone'", () => {
    expect(() => killProcess(0, "TERM")).toThrow(RangeError);
    expect(() => killProcess(-1, "TERM")).toThrow(RangeError);
    expect(() => killProcess(1.5, "TERM")).toThrow(RangeError);
    expect(() => killProcess(123, "SIGNOPE")).toThrow(RangeError);
  });
});

async function readLine(fd: number): Promise<string> {
  const buf = new Uint8Array(256);
  let text = "";
  for (let i = 0; i < 2500 && !text.includes("\n"); i++) {
    const n = readNonBlocking(fd, buf);
    if (n === "eof") break;
    if (n === "again") await Bun.sleep(2);
    else text += Buffer.from(buf.subarray(0, n)).toString();
  }
  return text.trim();
}

function processState(pid: number): string {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
  } catch {
    return "gone";
  }
}

// Runs in a child bun process: becomes a subreaper, starts a shell that double-forks,
// and reaps until both the shell and its orphan are collected.
const subreaperScript = (root: string) => `
import { spawn } from "${root}/src/exec/spawner.ts";
import { becomeSubreaper, reapChildren } from "${root}/src/exec/reaper.ts";
import { readFileSync, readdirSync } from "node:fs";
becomeSubreaper();
const result = spawn({ path: "/bin/sh", argv: ["sh", "-c", "(sleep 0.2; exit 7) & exit 0"], env: { PATH: "/bin:/usr/bin" } });
if (!result.ok) throw new Error(result.message);
const reaped = [];
const deadline = Date.now() + 5000;
while (reaped.length < 2 && Date.now() < deadline) {
  reaped.push(...reapChildren());
  await Bun.sleep(5);
}
const zombies = readdirSync("/proc").filter((p) => /^\\d+$/.test(p)).filter((p) => {
  try {
    const stat = readFileSync("/proc/" + p + "/stat", "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return fields[0] === "Z" && Number(fields[1]) === process.pid;
  } catch { return false; }
});
console.log(JSON.stringify({ shell: result.pid, reaped, zombies, again: reapChildren() }));
`;

test("a subreaper collects the orphan of a double fork: no zombie left", async () => {
  const dir = mkdtempSync(join(tmpdir(), "hearth-reaper-"));
  try {
    const script = join(dir, "subreaper.ts");
    writeFileSync(script, subreaperScript(root));
    const out = pipe();
    const result = spawn({
      path: process.execPath,
      argv: ["bun", script],
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin" },
      stdout: out.write,
      stderr: out.write,
    });
    close(out.write);
    if (!result.ok) throw new Error(result.message);
    expect(await waitExit(result.pid)).toEqual({ kind: "exited", code: 0 });
    const report = JSON.parse(await readLine(out.read));
    close(out.read);
    expect(report.reaped).toHaveLength(2);
    expect(report.reaped).toContainEqual({ pid: report.shell, status: { kind: "exited", code: 0 } });
    const orphan = report.reaped.find((r: { pid: number }) => r.pid !== report.shell);
    expect(orphan.status).toEqual({ kind: "exited", code: 7 });
    expect(report.zombies).toEqual([]);
    expect(report.again).toEqual([]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

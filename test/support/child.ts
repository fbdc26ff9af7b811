// Running real children through the spawner in unit tests, and reading what they report
// about themselves. Children are collected with waitpid(pid) only: never waitpid(-1).

import { readFileSync } from "node:fs";
import { close, pipe, readNonBlocking } from "../../ffi/fd.ts";
import { reapChild, type ExitStatus } from "../../src/exec/reaper.ts";
import { spawn, type SpawnRequest } from "../../src/exec/spawner.ts";

export const PATH = "/usr/sbin:/usr/bin:/sbin:/bin";

/** Waits for one child to terminate (polling waitpid(pid, WNOHANG)). */
export async function waitExit(pid: number, timeoutMs = 5000): Promise<ExitStatus> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const status = reapChild(pid);
    if (status) return status;
    if (Date.now() > deadline) throw new Error(`child ${pid} still running after ${timeoutMs} ms`);
    await Bun.sleep(2);
  }
}

/** Everything readable now from a non-blocking fd. */
export function drain(fd: number): string {
  const chunks: Buffer[] = [];
  const buf = new Uint8Array(65536);
  for (;;) {
    const n = readNonBlocking(fd, buf);
    if (n === "eof" || n === "again") break;
    chunks.push(Buffer.from(buf.subarray(0, n)));
  }
  return Buffer.concat(chunks).toString();
}

/** Runs `script` under /bin/sh with stdout and stderr on a pipe; returns what it printed. */
export async function sh(script: string, extra: Partial<SpawnRequest> = {}): Promise<{ output: string; status: ExitStatus; pid: number }> {
  const out = pipe();
  const result = spawn({
    path: "/bin/sh",
    argv: ["sh", "-c", script],
    env: { PATH },
    stdout: out.write,
    stderr: out.write,
    ...extra,
  });
  close(out.write);
  if (!result.ok) {
    close(out.read);
    throw new Error(`spawn failed: ${result.message}`);
  }
  const status = await waitExit(result.pid);
  const output = drain(out.read);
  close(out.read);
  return { output, status, pid: result.pid };
}

/** A field of /proc/self/status as the child printed it ("Uid:\t0\t0\t0\t0"). */
export function statusField(output: string, name: string): string {
  const line = output.split("\n").find((l) => l.startsWith(`${name}:`));
  if (line === undefined) throw new Error(`no ${name} in:\n${output}`);
  return line.slice(name.length + 1).trim();
}

/** Fields of /proc/PID/stat after the command name: index 0 is field 3 (state). */
export function statFields(stat: string): string[] {
  return stat.slice(stat.lastIndexOf(")") + 2).trim().split(" ");
}

/** Zombie children of this process, from /proc. */
export function zombieChildren(): number[] {
  const zombies: number[] = [];
  for (const entry of new Bun.Glob("[0-9]*").scanSync({ cwd: "/proc", onlyFiles: false })) {
    try {
      const fields = statFields(readFileSync(`/proc/${entry}/stat`, "utf8"));
      if (fields[0] === "Z" && Number(fields[1]) === process.pid) zombies.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return zombies;
}

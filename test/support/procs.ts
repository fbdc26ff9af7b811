// What a test left on the machine, from /proc and cgroupfs: processes (by ancestry, by a
// marker in their environment, by cgroup) and cgroup directories; and how to clear them.
import { existsSync, readdirSync, readFileSync, readlinkSync, rmdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export interface Proc {
  pid: number;
  ppid: number;
  /** The state letter of /proc/PID/stat (R, S, Z ...). */
  state: string;
  /** Field 22 of /proc/PID/stat: with the pid, names one process across pid reuse. */
  startTime: string;
}

function readStat(pid: number): Proc | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "latin1");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return { pid, ppid: Number(fields[1]), state: fields[0]!, startTime: fields[19]! };
  } catch {
    return null; // gone meanwhile
  }
}

function pids(): number[] {
  return readdirSync("/proc").filter((e) => /^\d+$/.test(e)).map(Number);
}

/** Every process now. */
export function allProcs(): Proc[] {
  return pids().map(readStat).filter((p): p is Proc => p !== null);
}

/** Every descendant of root (children, their children ...), alive or zombie. */
export function descendantsOf(root: number, procs = allProcs()): Proc[] {
  const children = new Map<number, Proc[]>();
  for (const p of procs) children.set(p.ppid, [...(children.get(p.ppid) ?? []), p]);
  const out: Proc[] = [];
  const queue = [root];
  while (queue.length > 0) {
    for (const child of children.get(queue.shift()!) ?? []) {
      out.push(child);
      queue.push(child.pid);
    }
  }
  return out;
}

/** The process is still the one seen earlier (same pid and start time) and not a zombie. */
export function stillAlive(p: Proc): boolean {
  const now = readStat(p.pid);
  return now !== null && now.startTime === p.startTime && now.state !== "Z";
}

/** Live processes whose environment holds `entry` ("NAME=value"); unreadable ones are skipped. */
export function procsWithEnv(entry: string): number[] {
  const needle = Buffer.from(`\0${entry}\0`);
  const out: number[] = [];
  for (const pid of pids()) {
    try {
      const environ = Buffer.concat([Buffer.from([0]), readFileSync(`/proc/${pid}/environ`), Buffer.from([0])]);
      if (environ.includes(needle) && readStat(pid)?.state !== "Z") out.push(pid);
    } catch {
      // gone, or not ours to read
    }
  }
  return out;
}

/** The pids in a cgroup and every cgroup below it. */
export function cgroupPids(dir: string): number[] {
  const out: number[] = [];
  try {
    for (const line of readFileSync(join(dir, "cgroup.procs"), "utf8").split("\n")) if (line) out.push(Number(line));
    for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) out.push(...cgroupPids(join(dir, e.name)));
  } catch {
    // removed meanwhile
  }
  return out;
}

/** The cgroup directories at and below dir, deepest first. */
export function cgroupDirs(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const below = readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory()).flatMap((e) => cgroupDirs(join(dir, e.name)));
  return [...below, dir];
}

/** The command line of a process, its arguments joined by spaces; "" once gone. */
function cmdlineOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "latin1").split("\0").filter(Boolean).join(" ");
  } catch {
    return "";
  }
}

/** Live processes running exactly this command line ("sleep 300"). */
export function pidsRunning(cmdline: string): number[] {
  return pids().filter((pid) => cmdlineOf(pid) === cmdline && readStat(pid)?.state !== "Z");
}

/** "PID (cmdline)" for messages. */
export function describeProc(pid: number): string {
  try {
    return `${pid} (${cmdlineOf(pid) || readlinkSync(`/proc/${pid}/exe`)})`;
  } catch {
    return `${pid} (gone)`;
  }
}

/** SIGKILLs the processes, waits until they are gone, and removes the cgroup tree. */
export async function clearLeftovers(pidList: number[], cgroupDir: string | null, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  const targets = [...pidList, ...(cgroupDir === null ? [] : cgroupPids(cgroupDir))];
  const procs = targets.map(readStat).filter((p): p is Proc => p !== null);
  for (const p of procs) {
    try {
      process.kill(p.pid, "SIGKILL");
    } catch {
      // gone
    }
  }
  while (procs.some(stillAlive) && Date.now() < end) await Bun.sleep(20);
  if (cgroupDir === null) return;
  for (const dir of cgroupDirs(cgroupDir)) {
    for (;;) {
      try {
        rmdirSync(dir);
        break;
      } catch {
        if (Date.now() > end) break;
        if (existsSync(join(dir, "cgroup.kill"))) {
          try {
            writeFileSync(join(dir, "cgroup.kill"), "1");
          } catch {
            // removed meanwhile
          }
        }
        await Bun.sleep(20);
      }
    }
  }
}

/** The number of open fds of a process, or null once it is gone. */
export function fdCount(pid: number): number | null {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return null;
  }
}

/** VmRSS of a process in KiB, or null. */
export function rssKiB(pid: number): number | null {
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, "latin1"));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

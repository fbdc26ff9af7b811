// What the benchmarks read from /proc: CPU time, memory, process trees.
import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import { cpus, totalmem } from "node:os";

function read(path: string): string | null {
  try {
    return readFileSync(path, "latin1");
  } catch {
    return null; // the process or thread is gone
  }
}

function tasks(pid: number): string[] {
  try {
    return readdirSync(`/proc/${pid}/task`);
  } catch {
    return [];
  }
}

/**
 * CPU time of a live process in nanoseconds: the sum over its threads of the first field
 * of schedstat (time on a CPU, in ns; the tick-based utime/stime of /proc/PID/stat is too
 * coarse for processes that run a few ms each). Threads that already ended are not
 * counted; the supervisors measured here keep theirs.
 */
export function cpuNs(pid: number): number {
  let total = 0;
  for (const tid of tasks(pid)) {
    const s = read(`/proc/${pid}/task/${tid}/schedstat`);
    if (s) total += Number(s.slice(0, s.indexOf(" ")));
  }
  return total;
}

/** CPU time of the children a process has reaped (cutime + cstime), in ns (10 ms ticks). */
export function reapedChildrenCpuNs(pid: number): number {
  const f = statFields(pid);
  return f ? (Number(f[13]) + Number(f[14])) * 10_000_000 : 0;
}

/** Fields of /proc/PID/stat after the command name: f[0] is the state, f[1] the ppid. */
function statFields(pid: number): string[] | null {
  const s = read(`/proc/${pid}/stat`);
  return s ? s.slice(s.lastIndexOf(")") + 2).split(" ") : null;
}

/** Direct children of a process (from every thread's children list). */
export function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const tid of tasks(pid)) {
    const s = read(`/proc/${pid}/task/${tid}/children`);
    if (s) for (const c of s.split(" ")) if (c.trim()) out.push(Number(c));
  }
  return out;
}

/** All descendants of a process, depth first. */
export function descendantsOf(pid: number): number[] {
  const out: number[] = [];
  for (const c of childrenOf(pid)) out.push(c, ...descendantsOf(c));
  return out;
}

function statusField(pid: number, field: string): number {
  const s = read(`/proc/${pid}/status`);
  const m = s?.match(new RegExp(`^${field}:\\s+(\\d+) kB`, "m"));
  return m ? Number(m[1]) : NaN;
}

/** Resident set size in KiB (VmRSS). */
export function rssKiB(pid: number): number {
  return statusField(pid, "VmRSS");
}

/** Anonymous resident memory in KiB (heap, stacks, JIT code): what no page cache holds for the process. */
export function anonKiB(pid: number): number {
  return statusField(pid, "RssAnon");
}

/** Proportional set size in KiB: shared pages divided among their users (smaps_rollup). */
export function pssKiB(pid: number): number {
  const s = read(`/proc/${pid}/smaps_rollup`);
  const m = s?.match(/^Pss:\s+(\d+) kB/m);
  return m ? Number(m[1]) : NaN;
}

/** Pids of processes running this executable (the safety net after a run). */
export function pidsRunning(exe: string): number[] {
  const out: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readlinkSync(`/proc/${entry}/exe`) === exe) out.push(Number(entry));
    } catch { /* gone, or a kernel thread */ }
  }
  return out;
}

/** One line about the machine, for RESULTS.md. */
export function machine(): string {
  const os = read("/etc/os-release")?.match(/^PRETTY_NAME="?([^"\n]*)/m)?.[1] ?? "Linux";
  const kernel = read("/proc/sys/kernel/osrelease")?.trim() ?? "?";
  const model = cpus()[0]?.model.trim() ?? "?";
  const virt = /hypervisor/.test(read("/proc/cpuinfo") ?? "") ? ", virtual machine" : "";
  return `${process.arch}, ${cpus().length} × ${model}${virt}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, ${os}, Linux ${kernel}, Bun ${Bun.version}`;
}


// The dev box is shared: other sessions' tests boot QEMU on its two cores now and then.
// A run of supervisors racing for the cores is only worth keeping if nothing else ran
// meanwhile, so the benchmarks wait for a quiet machine before a run and measure how
// much other processes ran during it.
//
// "Other processes": every process on the machine except this one, its descendants and
// kernel threads, from utime + stime in /proc/PID/stat, between two snapshots. Kernel
// threads are left out because their work (freeing memory of exited processes, RCU) is
// mostly caused by the benchmark itself: a supervisor that forks a lot makes them busy.
// A process that both starts and ends between two snapshots is not seen.
import { readdirSync, readFileSync } from "node:fs";

/** Other load (in cores) above which a run's figures are suspect. */
export const QUIET_CORES = 0.15;

/**
 * How long a benchmark may wait for quiet in all (BENCH_QUIET_WAIT seconds, default 180):
 * on a machine that stays busy, it then measures anyway (and says so), instead of
 * waiting that long before each of its measurements.
 */
const WAIT_BUDGET_MS = Number(process.env.BENCH_QUIET_WAIT ?? 180) * 1000;
let waitedMs = 0;

interface Proc {
  ppid: number;
  cpuMs: number;
}

/** Every userland process: "pid/starttime" (a pid reused is another process) -> its CPU. */
function snapshot(): Map<string, Proc & { pid: number }> {
  const procs = new Map<string, Proc & { pid: number }>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, "latin1");
    } catch {
      continue; // gone
    }
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const pid = Number(entry), ppid = Number(f[1]);
    if (pid === 2 || ppid === 2) continue; // kthreadd and the kernel threads
    procs.set(`${pid}/${f[19]}`, { pid, ppid, cpuMs: (Number(f[11]) + Number(f[12])) * 10 });
  }
  return procs;
}

/** Pids of this process and its descendants in a snapshot. */
function ours(procs: Map<string, Proc & { pid: number }>): Set<number> {
  const mine = new Set([process.pid]);
  for (let grew = true; grew;) {
    grew = false;
    for (const p of procs.values()) {
      if (mine.has(p.ppid) && !mine.has(p.pid)) {
        mine.add(p.pid);
        grew = true;
      }
    }
  }
  return mine;
}

/**
 * Measures, from now on, the CPU other processes use: the difference between snapshots,
 * taken at the end and, for long measurements, every `everyMs` (so that a process that
 * lives a few seconds and ends before the measurement does is seen too).
 */
export class LoadMeter {
  private last = snapshot();
  private cpuMs = 0;
  private readonly t0 = performance.now();
  private readonly timer: ReturnType<typeof setInterval> | null;

  constructor(everyMs?: number) {
    this.timer = everyMs ? setInterval(() => this.sample(), everyMs) : null;
  }

  private sample() {
    const now = snapshot();
    const mine = ours(now);
    for (const [key, p] of now) {
      if (!mine.has(p.pid)) this.cpuMs += p.cpuMs - (this.last.get(key)?.cpuMs ?? 0); // a new process: all of it
    }
    this.last = now;
  }

  /** Cores' worth of CPU used by other processes since the start (and stops sampling). */
  otherLoad(): number {
    if (this.timer) clearInterval(this.timer);
    this.sample();
    return Math.max(0, this.cpuMs) / (performance.now() - this.t0);
  }
}

/**
 * Waits until a `windowMs` window passes with other load under QUIET_CORES, or the
 * process's waiting budget is spent; returns the last window's load.
 */
export async function waitForQuiet(windowMs = 1000, log?: (line: string) => void): Promise<number> {
  let said = false;
  for (;;) {
    const meter = new LoadMeter();
    await Bun.sleep(windowMs);
    const load = meter.otherLoad();
    if (load <= QUIET_CORES) return load;
    waitedMs += windowMs;
    if (waitedMs > WAIT_BUDGET_MS) {
      if (!said) log?.(`the machine stays busy (other load ${load.toFixed(2)} cores) and the wait budget is spent: measuring anyway`);
      return load;
    }
    if (!said) log?.(`waiting for a quiet machine (other load ${load.toFixed(2)} cores)`);
    said = true;
  }
}

const ATTEMPTS = 3;
const interference = { runs: 0, repeated: 0, keptNoisy: 0, worstKept: 0 };

/**
 * One measurement on a quiet machine: waits for quiet, measures, and measures again (at
 * most 3 times in all) when other processes took more than QUIET_CORES meanwhile.
 */
export async function quietly<T>(label: string, measure: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    await waitForQuiet(1000, (line) => process.stderr.write(`  ${line}\n`));
    const meter = new LoadMeter();
    const value = await measure();
    const load = meter.otherLoad();
    if (load <= QUIET_CORES || attempt === ATTEMPTS) {
      interference.runs++;
      if (load > QUIET_CORES) interference.keptNoisy++;
      interference.worstKept = Math.max(interference.worstKept, load);
      return value;
    }
    interference.repeated++;
    process.stderr.write(`  ${label}: other load ${load.toFixed(2)} cores during the run: again\n`);
  }
}

/** What the measurements of this process went through, for its report. */
export function interferenceNote(): string {
  const i = interference;
  return `interference: each of the ${i.runs} measurements waited for a quiet second and was repeated (up to ${ATTEMPTS} times) ` +
    `when other processes used more than ${QUIET_CORES} cores during it: ${i.repeated} repeated, ${i.keptNoisy} kept although not quiet; ` +
    `the most other load in a kept one: ${i.worstKept.toFixed(2)} cores.`;
}

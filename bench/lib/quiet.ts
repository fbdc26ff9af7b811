// The dev box is shared: other sessions' tests boot QEMU on its two cores now and then.
// A run of supervisors racing for the cores is only worth keeping if nothing else ran
// meanwhile, so the benchmarks wait for a quiet machine before a run and measure how
// much else ran during it: the machine's busy time (/proc/stat) less their own.
import { machineBusyMs } from "./proc.ts";

/** Other load (in cores) above which a run's figures are suspect. */
export const QUIET_CORES = 0.15;

/** How long to wait for quiet before running anyway (BENCH_QUIET_WAIT seconds, default 180). */
const MAX_WAIT_MS = Number(process.env.BENCH_QUIET_WAIT ?? 180) * 1000;

function ownCpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/** Measures, from now on, the CPU the rest of the machine uses. */
export class LoadMeter {
  private readonly busy0 = machineBusyMs();
  private readonly own0 = ownCpuMs();
  private readonly t0 = performance.now();

  /** Cores' worth of CPU used by others since the start; `childrenMs`: what our children used. */
  otherLoad(childrenMs = 0): number {
    const elapsed = performance.now() - this.t0;
    const others = machineBusyMs() - this.busy0 - (ownCpuMs() - this.own0) - childrenMs;
    return Math.max(0, others) / elapsed;
  }
}

/**
 * Waits until a `windowMs` window passes with other load under QUIET_CORES (this process
 * idles meanwhile), at most BENCH_QUIET_WAIT seconds; returns the last window's load.
 */
export async function waitForQuiet(windowMs = 1000, log?: (line: string) => void): Promise<number> {
  const deadline = performance.now() + MAX_WAIT_MS;
  let said = false;
  for (;;) {
    const meter = new LoadMeter();
    await Bun.sleep(windowMs);
    const load = meter.otherLoad();
    if (load <= QUIET_CORES || performance.now() > deadline) return load;
    if (!said) log?.(`waiting for a quiet machine (other load ${load.toFixed(2)} cores)`);
    said = true;
  }
}

// The boot's timing, systemd's way: "kernel" is the time from boot to the moment PID 1
// was started (its start time in /proc/self/stat), "userspace" from then until the
// boot target was reached, both on CLOCK_BOOTTIME. Pure.

/** USER_HZ: the unit of the times in /proc/PID/stat, 100 on every Linux architecture. */
export const CLOCK_TICKS_PER_SECOND = 100;

export interface StartupTimes {
  kernelMs: number;
  userspaceMs: number;
}

/** kernel = PID 1's start; userspace = from then until now (both since boot). */
export function startupTimes(startTicks: number, nowSinceBootMs: number): StartupTimes {
  const kernelMs = (startTicks * 1000) / CLOCK_TICKS_PER_SECOND;
  return { kernelMs, userspaceMs: Math.max(0, nowSinceBootMs - kernelMs) };
}

export function formatStartupFinished(t: StartupTimes, unitsReady: number): string {
  const k = Math.round(t.kernelMs), u = Math.round(t.userspaceMs);
  return `Startup finished in ${k} ms (kernel) + ${u} ms (userspace) = ${k + u} ms; ${unitsReady} units ready`;
}

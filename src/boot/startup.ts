// The boot's timing, systemd's way: "kernel" is the time from boot to the moment the
// init program started, "userspace" from then until the boot target was reached, both
// on CLOCK_BOOTTIME. Pure.

export interface StartupTimes {
  kernelMs: number;
  userspaceMs: number;
}

/** kernel = when userspace began; userspace = from then until now (both ms since boot). */
export function startupTimes(userspaceStartMs: number, nowSinceBootMs: number): StartupTimes {
  const kernelMs = Math.max(0, userspaceStartMs);
  return { kernelMs, userspaceMs: Math.max(0, nowSinceBootMs - kernelMs) };
}

export function formatStartupFinished(t: StartupTimes, unitsReady: number): string {
  const k = Math.round(t.kernelMs), u = Math.round(t.userspaceMs);
  return `Startup finished in ${k} ms (kernel) + ${u} ms (userspace) = ${k + u} ms; ${unitsReady} units ready`;
}

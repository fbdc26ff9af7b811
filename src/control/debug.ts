// Debug requests through the control socket (hearth ctl debug ...), accepted only when the
// kernel command line has hearth.debug=1: they exist to test what guards the manager.

/**
 * Busy-waits the calling thread — the manager's event loop — for ms (Infinity: for good).
 * Nothing else runs meanwhile: no timer, no reaping, no ping of the hardware watchdog,
 * which is the point (the board must be reset by the hardware).
 */
export function freezeLoop(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    // spin
  }
}

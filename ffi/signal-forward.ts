// Signals Bun's process.on() does not know (the real-time ones, SIGRTMIN+n), delivered
// on the event loop all the same: a C handler (hearth_forward_signal in ffi/native.c)
// writes each signal's number to a pipe the reactor watches.

import { native } from "./native.ts";
import { getReactor } from "./reactor.ts";
import { pipe, readNonBlocking, setNonBlocking } from "./fd.ts";
import { SysError } from "./libc.ts";

let ends: { read: number; write: number } | null = null;
const listeners = new Map<number, () => void>();

/** Runs onSignal on the JS thread each time `signal` arrives. Throws SysError. */
export function onSignal(signal: number, handler: () => void): void {
  if (ends === null) {
    ends = pipe();
    setNonBlocking(ends.write, true); // a handler must never block
    const buf = new Uint8Array(64);
    const fd = ends.read;
    getReactor().watch(fd, { read: true }, () => {
      for (;;) {
        const n = readNonBlocking(fd, buf);
        if (n === "again" || n === "eof") return;
        for (const number of buf.subarray(0, n)) listeners.get(number)?.();
      }
    });
  }
  listeners.set(signal, handler);
  const result = native().hearth_forward_signal(signal, ends.write);
  if (result < 0) throw new SysError("signal", -result, String(signal));
}

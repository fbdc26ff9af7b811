// timerfd(2): the kernel object of calendar timers. The fd is non-blocking and watched
// through the reactor; nothing here waits.
import { dlopen, FFIType, ptr } from "bun:ffi";
import { CLOCK, E, ECANCELED, TFD } from "./constants.ts";
import { check, lastErrno, SysError } from "./libc.ts";

const { symbols } = dlopen("libc.so.6", {
  timerfd_create: { args: ["i32", "i32"], returns: "i32" },
  timerfd_settime: { args: ["i32", "i32", "ptr", "ptr"], returns: "i32" },
  read: { args: ["i32", "ptr", "u64"], returns: FFIType.i64_fast },
});

/** A CLOCK_REALTIME timerfd whose reads fail with ECANCELED when the clock is set. */
export function realtimeTimerFd(): number {
  return check("timerfd_create", symbols.timerfd_create(CLOCK.REALTIME, TFD.NONBLOCK | TFD.CLOEXEC));
}

/** Arms it for the wall-clock instant `epochMs` (TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET). */
export function armRealtime(fd: number, epochMs: number): void {
  const spec = new BigInt64Array(4); // struct itimerspec: it_interval {sec, nsec}, it_value {sec, nsec}
  const ms = Math.max(1, Math.floor(epochMs)); // 0 would disarm it
  spec[2] = BigInt(Math.floor(ms / 1000));
  spec[3] = BigInt((ms % 1000) * 1_000_000);
  check("timerfd_settime", symbols.timerfd_settime(fd, TFD.TIMER_ABSTIME | TFD.TIMER_CANCEL_ON_SET, ptr(spec), null));
}

/** What a read of the timerfd says: it expired, the clock was set, or nothing yet. */
export function readTimerFd(fd: number): "expired" | "clock-set" | "again" {
  const buf = new BigUint64Array(1);
  for (;;) {
    const n = Number(symbols.read(fd, ptr(buf), 8));
    if (n === 8) return "expired";
    const errno = lastErrno();
    if (errno === E.EINTR) continue;
    if (errno === ECANCELED) return "clock-set";
    if (errno === E.EAGAIN) return "again";
    throw new SysError("read(timerfd)", errno);
  }
}

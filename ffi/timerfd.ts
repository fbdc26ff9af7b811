// timerfd(2) and inotify(7): the kernel objects of timer and path units. Both fds are
// non-blocking and watched through the reactor; nothing here waits.
import { dlopen, FFIType, ptr } from "bun:ffi";
import { CLOCK, E, ECANCELED, IN, TFD } from "./constants.ts";
import { check, cString, lastErrno, SysError } from "./libc.ts";

const { symbols } = dlopen("libc.so.6", {
  timerfd_create: { args: ["i32", "i32"], returns: "i32" },
  timerfd_settime: { args: ["i32", "i32", "ptr", "ptr"], returns: "i32" },
  inotify_init1: { args: ["i32"], returns: "i32" },
  inotify_add_watch: { args: ["i32", "ptr", "u32"], returns: "i32" },
  inotify_rm_watch: { args: ["i32", "i32"], returns: "i32" },
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

export function inotifyFd(): number {
  return check("inotify_init1", symbols.inotify_init1(IN.NONBLOCK | IN.CLOEXEC));
}

/** The watch descriptor, or the errno (ENOENT: the path is not there). */
export function addWatch(fd: number, path: string, mask: number): number | { errno: number } {
  const wd = symbols.inotify_add_watch(fd, cString(path), mask >>> 0);
  return wd >= 0 ? wd : { errno: lastErrno() };
}

export function removeWatch(fd: number, wd: number): void {
  symbols.inotify_rm_watch(fd, wd); // EINVAL: the kernel dropped it already (IN_IGNORED)
}

export interface InotifyEvent { wd: number; mask: number; name: string }

/** The events queued now (one read of at most buf's size), or "again". */
export function readInotify(fd: number, buf: Uint8Array): InotifyEvent[] | "again" {
  for (;;) {
    const n = Number(symbols.read(fd, ptr(buf), buf.byteLength));
    if (n > 0) return parseEvents(buf, n);
    const errno = lastErrno();
    if (n < 0 && errno === E.EINTR) continue;
    if (n < 0 && errno === E.EAGAIN) return "again";
    if (n === 0) return [];
    throw new SysError("read(inotify)", errno);
  }
}

/** struct inotify_event: int wd; u32 mask; u32 cookie; u32 len; char name[len] (NUL padded). */
function parseEvents(buf: Uint8Array, n: number): InotifyEvent[] {
  const view = new DataView(buf.buffer, buf.byteOffset, n);
  const out: InotifyEvent[] = [];
  for (let off = 0; off + 16 <= n;) {
    const len = view.getUint32(off + 12, true);
    const raw = buf.subarray(off + 16, Math.min(n, off + 16 + len));
    const end = raw.indexOf(0);
    out.push({ wd: view.getInt32(off, true), mask: view.getUint32(off + 4, true), name: Buffer.from(end < 0 ? raw : raw.subarray(0, end)).toString() });
    off += 16 + len;
  }
  return out;
}

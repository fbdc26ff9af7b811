// File descriptors: non-blocking reads and writes for the event loop, pipes for
// services' output, /dev/null. Every fd hearth creates is O_CLOEXEC: only the spawner
// hands fds to a child, by placing them explicitly.

import { readdirSync } from "node:fs";
import { E, EPOLL, F, O } from "./constants.ts";
import { check, cString, lastErrno, libc, retryExpecting, retryOnEintr, SysError } from "./libc.ts";

export type ReadResult = number | "again" | "eof";

/**
 * One read(2) into buf. Returns the number of bytes read (> 0), "again" when nothing
 * is available now (EAGAIN), or "eof". Other errors throw SysError.
 */
export function readNonBlocking(fd: number, buf: Uint8Array): ReadResult {
  const result = retryExpecting("read", () => Number(libc.read(fd, buf, buf.byteLength)), [E.EAGAIN]);
  if (typeof result !== "number") return "again";
  return result === 0 ? "eof" : result;
}

/**
 * One write(2) of data. Returns how many bytes went out (possibly fewer than asked)
 * or "again" when the fd would block. EPIPE and other errors throw SysError.
 */
export function writeSome(fd: number, data: Uint8Array): number | "again" {
  if (data.byteLength === 0) return 0;
  const result = retryExpecting("write", () => Number(libc.write(fd, data, data.byteLength)), [E.EAGAIN]);
  return typeof result === "number" ? result : "again";
}

/**
 * close(2). EINTR is not retried: on Linux the fd is released even then, and a retry
 * could close an fd another part just opened. EBADF is a bug in the caller: it throws.
 */
export function close(fd: number): void {
  if (libc.close(fd) < 0) {
    const errno = lastErrno();
    if (errno === E.EBADF) throw new SysError("close", errno, `fd ${fd}`);
  }
}

export interface Pipe {
  read: number;
  write: number;
}

/**
 * A pipe with O_CLOEXEC on both ends and O_NONBLOCK on the read end only: the read end
 * is the manager's, the write end goes to a service, which expects a blocking fd.
 */
export function pipe(): Pipe {
  const ends = new Int32Array(2);
  check("pipe2", libc.pipe2(ends, O.CLOEXEC));
  const pair = { read: ends[0]!, write: ends[1]! };
  setNonBlocking(pair.read, true);
  return pair;
}

/** Sets or clears O_NONBLOCK (on the open file description, shared by every dup). */
export function setNonBlocking(fd: number, nonBlocking: boolean = true): void {
  const flags = check("fcntl", libc.fcntl(fd, F.GETFL, 0), "F_GETFL");
  const wanted = nonBlocking ? flags | O.NONBLOCK : flags & ~O.NONBLOCK;
  if (wanted !== flags) check("fcntl", libc.fcntl(fd, F.SETFL, wanted), "F_SETFL");
}

export function isNonBlocking(fd: number): boolean {
  return (check("fcntl", libc.fcntl(fd, F.GETFL, 0), "F_GETFL") & O.NONBLOCK) !== 0;
}

export function isCloseOnExec(fd: number): boolean {
  return (check("fcntl", libc.fcntl(fd, F.GETFD, 0), "F_GETFD") & 1) !== 0;
}

/** open(2) with O_CLOEXEC added. Throws SysError. */
export function openFile(path: string, flags: number, mode: number = 0o644): number {
  const pathBytes = cString(path);
  return retryOnEintr("open", () => libc.open(pathBytes, flags | O.CLOEXEC, mode), path);
}

/**
 * Whether epoll can watch fd. A file whose driver has no poll (/dev/null, /dev/zero, a
 * regular file on disk) is refused with EPERM: it would be "ready" forever, so the reactor
 * could never wait on it. Asked of a throwaway epoll instance.
 */
export function canPoll(fd: number): boolean {
  const epoll = check("epoll_create1", libc.epoll_create1(EPOLL.CLOEXEC));
  try {
    const event = new Uint8Array(16); // struct epoll_event (12 bytes packed on x86_64, 16 on arm64)
    new DataView(event.buffer).setUint32(0, EPOLL.IN, true);
    if (libc.epoll_ctl(epoll, EPOLL.CTL_ADD, fd, event) === 0) return true;
    const errno = lastErrno();
    if (errno === E.EPERM) return false;
    throw new SysError("epoll_ctl", errno, `fd ${fd}`);
  } finally {
    close(epoll);
  }
}

let devNullFd = -1;

/** One shared fd on /dev/null (O_RDWR|O_CLOEXEC), opened on first use; never close it. */
export function devNull(): number {
  if (devNullFd < 0) devNullFd = openFile("/dev/null", O.RDWR);
  return devNullFd;
}

/**
 * The fds a process has open, from /proc/PID/fd (for tests and diagnostics). For this
 * process, the fd the listing itself used (closed by now) is left out.
 */
export function listOpenFds(pid: number | "self" = "self"): number[] {
  const own = pid === "self" || pid === process.pid;
  return readdirSync(`/proc/${pid}/fd`)
    .map(Number)
    .filter((fd) => Number.isInteger(fd) && (!own || libc.fcntl(fd, F.GETFD, 0) >= 0))
    .sort((a, b) => a - b);
}

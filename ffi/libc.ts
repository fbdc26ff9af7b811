// The libc functions hearth calls directly (prototypes from the man pages), and errno.
//
// Variadic functions (fcntl, open, prctl) are bound with fixed arguments: on x86_64 and
// aarch64 Linux, integer arguments of a variadic call travel in the same registers as
// in a plain call, so this is sound for integer and pointer arguments.
//
// errno is read through __errno_location() right after the failing call, on the same
// (JS) thread; nothing that runs in between sets errno, as libc only writes it on
// failure. Prefer the helpers below (check, retryOnEintr, retryExpecting) to raw reads.

import { dlopen, FFIType, read as readMemory, type Pointer } from "bun:ffi";
import { E } from "./constants.ts";

const symbols = dlopen("libc.so.6", {
  __errno_location: { args: [], returns: "ptr" },
  strerror: { args: ["i32"], returns: "cstring" },
  // fds and files
  read: { args: ["i32", "ptr", "u64"], returns: FFIType.i64_fast },
  write: { args: ["i32", "ptr", "u64"], returns: FFIType.i64_fast },
  close: { args: ["i32"], returns: "i32" },
  pipe2: { args: ["ptr", "i32"], returns: "i32" },
  // System V IPC objects removed (remove_ipc): cmd IPC_RMID, no buffer
  shmctl: { args: ["i32", "i32", "ptr"], returns: "i32" },
  semctl: { args: ["i32", "i32", "i32", "u64"], returns: "i32" }, // variadic: a 4th word, unused by IPC_RMID
  msgctl: { args: ["i32", "i32", "ptr"], returns: "i32" },
  // the manager's own resource limits (struct rlimit: u64 soft, u64 hard)
  getrlimit: { args: ["i32", "ptr"], returns: "i32" },
  setrlimit: { args: ["i32", "ptr"], returns: "i32" },
  fcntl: { args: ["i32", "i32", "i64"], returns: "i32" },
  open: { args: ["ptr", "i32", "u32"], returns: "i32" },
  dup: { args: ["i32"], returns: "i32" },
  dup3: { args: ["i32", "i32", "i32"], returns: "i32" },
  unlink: { args: ["ptr"], returns: "i32" },
  rename: { args: ["ptr", "ptr"], returns: "i32" },
  chmod: { args: ["ptr", "u32"], returns: "i32" },
  mkfifo: { args: ["ptr", "u32"], returns: "i32" },
  ioctl: { args: ["i32", "u64", "ptr"], returns: "i32" },
  // epoll here only asks whether an fd can be watched (ffi/fd.ts canPoll); the reactor's is in native.c
  epoll_create1: { args: ["i32"], returns: "i32" },
  epoll_ctl: { args: ["i32", "i32", "i32", "ptr"], returns: "i32" },
  // sockets
  socket: { args: ["i32", "i32", "i32"], returns: "i32" },
  bind: { args: ["i32", "ptr", "u32"], returns: "i32" },
  listen: { args: ["i32", "i32"], returns: "i32" },
  accept4: { args: ["i32", "ptr", "ptr", "i32"], returns: "i32" },
  connect: { args: ["i32", "ptr", "u32"], returns: "i32" },
  getsockname: { args: ["i32", "ptr", "ptr"], returns: "i32" },
  if_nametoindex: { args: ["ptr"], returns: "u32" },
  recvmsg: { args: ["i32", "ptr", "i32"], returns: FFIType.i64_fast },
  // the timeout (last argument) is always null: MSG_DONTWAIT returns what is queued
  recvmmsg: { args: ["i32", "ptr", "u32", "i32", "ptr"], returns: "i32" },
  sendmsg: { args: ["i32", "ptr", "i32"], returns: FFIType.i64_fast },
  getsockopt: { args: ["i32", "i32", "i32", "ptr", "ptr"], returns: "i32" },
  setsockopt: { args: ["i32", "i32", "i32", "ptr", "u32"], returns: "i32" },
  // processes
  waitpid: { args: ["i32", "ptr", "i32"], returns: "i32" },
  kill: { args: ["i32", "i32"], returns: "i32" },
  prctl: { args: ["i32", "u64", "u64", "u64", "u64"], returns: "i32" },
  execve: { args: ["ptr", "ptr", "ptr"], returns: "i32" },
  posix_spawn: { args: ["ptr", "ptr", "ptr", "ptr", "ptr", "ptr"], returns: "i32" },
  getpid: { args: [], returns: "i32" },
  getppid: { args: [], returns: "i32" },
  getuid: { args: [], returns: "u32" },
  geteuid: { args: [], returns: "u32" },
  getgid: { args: [], returns: "u32" },
  getegid: { args: [], returns: "u32" },
  setsid: { args: [], returns: "i32" },
  // syscall(2) itself, for calls libc has no wrapper for (kcmp)
  syscall: { args: ["i64", "i64", "i64", "i64", "i64", "i64"], returns: FFIType.i64_fast },
  // system (for src/boot and src/watchdog)
  mount: { args: ["ptr", "ptr", "ptr", "u64", "ptr"], returns: "i32" },
  umount2: { args: ["ptr", "i32"], returns: "i32" },
  reboot: { args: ["i32"], returns: "i32" },
  sethostname: { args: ["ptr", "u64"], returns: "i32" },
  sync: { args: [], returns: "void" },
  clock_gettime: { args: ["i32", "ptr"], returns: "i32" },
}).symbols;

export const libc = symbols;

let errnoAddress: Pointer | null = null;

/** errno of the last failed libc call on this thread (the JS thread: its address is cached). */
export function lastErrno(): number {
  errnoAddress ??= symbols.__errno_location() as Pointer;
  return readMemory.i32(errnoAddress, 0);
}

const errnoNames = new Map<number, string>(Object.entries(E).map(([name, value]) => [value, name]));

/** "ENOENT" for 2; "errno 200" for a number this table does not name. */
export function errnoName(errno: number): string {
  return errnoNames.get(errno) ?? `errno ${errno}`;
}

export function describeErrno(errno: number): string {
  return symbols.strerror(errno) ?? `errno ${errno}`;
}

/** A failed system call: `syscall` names it, `errno` says why. */
export class SysError extends Error {
  constructor(readonly syscall: string, readonly errno: number, detail?: string) {
    super(`${syscall}${detail ? ` ${detail}` : ""}: ${describeErrno(errno)} (${errnoName(errno)})`);
    this.name = "SysError";
  }
}

/**
 * Calls `call` until it stops failing with EINTR. Returns its result, or { errno } when
 * it failed with one of `expected`; any other failure throws SysError.
 */
export function retryExpecting(
  name: string,
  call: () => number,
  expected: readonly number[],
  detail?: string,
): number | { errno: number } {
  for (;;) {
    const result = call();
    if (result >= 0) return result;
    const errno = lastErrno();
    if (errno === E.EINTR) continue;
    if (expected.includes(errno)) return { errno };
    throw new SysError(name, errno, detail);
  }
}

/** Calls `call` until it stops failing with EINTR; any other failure throws SysError. */
export function retryOnEintr(name: string, call: () => number, detail?: string): number {
  return retryExpecting(name, call, [], detail) as number;
}

/** Throws SysError when a libc call returned a negative value; returns it otherwise. */
export function check(name: string, result: number, detail?: string): number {
  if (result < 0) throw new SysError(name, lastErrno(), detail);
  return result;
}

/** A NUL-terminated copy of a string, to pass as `const char *`. */
export function cString(text: string): Buffer {
  return Buffer.from(`${text}\0`, "utf8");
}

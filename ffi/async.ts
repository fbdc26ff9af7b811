// Blocking system calls run off the JS thread. PID 1's loop must never block, yet
// mount(2) of a real disk or finit_module(2) of a big driver may take long: each call
// here runs on a thread of its own (hearth_async_syscall in ffi/native.c), which writes
// the call's tag to a pipe when done; the reactor wakes us and the promise settles.
//
// The memory a call points to (path strings, the struct itself) is kept referenced
// until the thread has reported, so the garbage collector cannot move or free it.

import { ptr } from "bun:ffi";
import { E } from "./constants.ts";
import { SysError } from "./libc.ts";
import { native, NATIVE_SIZES } from "./native.ts";
import { getReactor } from "./reactor.ts";
import { pipe, readNonBlocking } from "./fd.ts";

/** An argument: a number, or bytes passed by pointer (a C string made with cString). */
export type SyscallArg = number | Uint8Array | null;

export interface SyscallOutcome {
  result: number;
  /** errno when result < 0, else 0. */
  errno: number;
}

interface Pending {
  call: BigInt64Array;
  keep: SyscallArg[];
  resolve: (outcome: SyscallOutcome) => void;
}

const SLOT = { number: 0, args: 1, result: 7, error: 8, notifyFd: 9, tag: 10 } as const;

class AsyncCalls {
  private readonly pending = new Map<number, Pending>();
  private nextTag = 1;
  private readonly readFd: number;
  private readonly writeFd: number;
  private readonly buf = new Uint8Array(8 * 64);

  constructor() {
    // Non-blocking read end for the reactor; the helper threads' write end blocks, so a
    // full pipe only delays them.
    const ends = pipe();
    this.readFd = ends.read;
    this.writeFd = ends.write;
  }

  run(number: number, args: SyscallArg[]): Promise<SyscallOutcome> {
    if (args.length > 6) throw new RangeError("a system call takes at most 6 arguments");
    const call = new BigInt64Array(NATIVE_SIZES.asyncCall / 8);
    call[SLOT.number] = BigInt(number);
    args.forEach((arg, i) => {
      call[SLOT.args + i] = arg === null ? 0n : typeof arg === "number" ? BigInt(arg) : BigInt(ptr(arg));
    });
    const tag = this.nextTag++;
    call[SLOT.notifyFd] = BigInt(this.writeFd);
    call[SLOT.tag] = BigInt(tag);
    return new Promise((resolve, reject) => {
      if (this.pending.size === 0) getReactor().watch(this.readFd, { read: true }, () => this.drain());
      this.pending.set(tag, { call, keep: args, resolve });
      const started = native().hearth_async_syscall(call);
      if (started < 0) {
        this.pending.delete(tag);
        this.unwatchIfIdle();
        reject(new SysError("pthread_create", -started));
      }
    });
  }

  private drain() {
    for (;;) {
      const n = readNonBlocking(this.readFd, this.buf);
      if (n === "again" || n === "eof") break;
      const tags = new BigInt64Array(this.buf.buffer, 0, Math.floor(n / 8));
      for (const tag of tags) {
        const p = this.pending.get(Number(tag));
        if (!p) continue;
        this.pending.delete(Number(tag));
        p.resolve({ result: Number(p.call[SLOT.result]), errno: Number(p.call[SLOT.error]) });
      }
    }
    this.unwatchIfIdle();
  }

  private unwatchIfIdle() {
    // No watch while idle, so a process with nothing pending can exit.
    if (this.pending.size === 0) getReactor().unwatch(this.readFd);
  }
}

let calls: AsyncCalls | null = null;

/** syscall(number, ...args) on a helper thread; resolves with its result and errno. */
export function syscallInThread(number: number, args: SyscallArg[]): Promise<SyscallOutcome> {
  calls ??= new AsyncCalls();
  return calls.run(number, args);
}

/** Like syscallInThread, but EINTR is retried and any other failure rejects with SysError. */
export async function checkedSyscallInThread(name: string, number: number, args: SyscallArg[], detail?: string): Promise<number> {
  for (;;) {
    const { result, errno } = await syscallInThread(number, args);
    if (result >= 0) return result;
    if (errno !== E.EINTR) throw new SysError(name, errno, detail);
  }
}

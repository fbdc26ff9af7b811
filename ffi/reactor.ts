// The readiness bridge: a thread in ffi/native.c waits in epoll_wait and posts each
// ready fd to the JS thread through a thread-safe JSCallback. Callbacks run on the JS
// thread, from the event loop, one at a time.
//
// Every registration is EPOLLONESHOT: an fd reports once, then stays silent until its
// callback has returned and the fd is re-armed. So the thread never spins on a
// level-triggered fd that JS has not drained yet, and at most one event per fd is ever
// in flight. Each watch carries a generation number; an event from an earlier watch of
// the same fd number (unwatched, closed, the number reused) is dropped.
//
// Keeping the process alive: the epoll thread itself does not keep Bun's event loop
// alive. While at least one fd is watched, the reactor holds a timer that does (as a
// socket does in Node); when the last fd is unwatched, the process may exit as usual.

import { JSCallback } from "bun:ffi";
import { E, EPOLL } from "./constants.ts";
import { SysError } from "./libc.ts";
import { native } from "./native.ts";

export interface Interest {
  read?: boolean;
  write?: boolean;
}

export interface Readiness {
  readable: boolean;
  writable: boolean;
  /** The peer closed or the fd is in error (EPOLLHUP/EPOLLERR): read to "eof", then unwatch. */
  hangup: boolean;
}

export type ReadyCallback = (ready: Readiness) => void;

export interface Reactor {
  /** Watches fd (or changes what is watched on it); onReady runs on the JS thread. */
  watch(fd: number, interest: Interest, onReady: ReadyCallback): void;
  /** Stops watching fd. Must be called before close(fd). Unknown fds are ignored. */
  unwatch(fd: number): void;
  /** How many fds are watched. */
  readonly size: number;
  /** Events dropped because their fd was unwatched (or re-watched) after they were posted. */
  readonly staleEventsDropped: number;
}

interface Watch {
  generation: number;
  events: number;
  onReady: ReadyCallback;
}

function eventMask(interest: Interest): number {
  // EPOLLHUP and EPOLLERR are always reported; they need not be asked for.
  return (interest.read ? EPOLL.IN : 0) | (interest.write ? EPOLL.OUT : 0) | EPOLL.ONESHOT;
}

function readiness(events: number): Readiness {
  return {
    readable: (events & EPOLL.IN) !== 0,
    writable: (events & EPOLL.OUT) !== 0,
    hangup: (events & (EPOLL.HUP | EPOLL.ERR)) !== 0,
  };
}

const KEEP_ALIVE_MS = 0x7fff_ffff; // the longest delay a timer takes

class EpollReactor implements Reactor {
  private readonly watches = new Map<number, Watch>();
  private readonly bridge: JSCallback;
  private lastGeneration = 0;
  staleEventsDropped = 0;
  private keepAlive: ReturnType<typeof setInterval> | null = null;

  constructor() {
    this.bridge = new JSCallback(
      (fd: number, events: number, generation: number) => this.dispatch(fd, events, generation),
      { args: ["i32", "u32", "u32"], returns: "void", threadsafe: true },
    );
    const result = native().hearth_reactor_start(this.bridge.ptr);
    if (result < 0) throw new SysError("reactor start (epoll_create1/pthread_create)", -result);
  }

  get size(): number {
    return this.watches.size;
  }

  watch(fd: number, interest: Interest, onReady: ReadyCallback): void {
    const events = eventMask(interest);
    const existing = this.watches.get(fd);
    if (existing) {
      existing.events = events;
      existing.onReady = onReady;
      this.control(EPOLL.CTL_MOD, fd, existing);
      return;
    }
    const watch = { generation: this.nextGeneration(), events, onReady };
    this.control(EPOLL.CTL_ADD, fd, watch);
    this.watches.set(fd, watch);
    this.updateKeepAlive();
  }

  unwatch(fd: number): void {
    if (!this.watches.delete(fd)) return;
    // ENOENT/EBADF: the fd was closed first (the kernel dropped it): nothing left to undo.
    native().hearth_reactor_ctl(EPOLL.CTL_DEL, fd, 0, 0);
    this.updateKeepAlive();
  }

  private nextGeneration(): number {
    this.lastGeneration = (this.lastGeneration + 1) >>> 0 || 1;
    return this.lastGeneration;
  }

  private control(op: number, fd: number, watch: Watch): void {
    const result = native().hearth_reactor_ctl(op, fd, watch.events, watch.generation);
    if (result < 0) throw new SysError("epoll_ctl", -result, `fd ${fd}`);
  }

  /** Runs on the JS thread for each event the epoll thread posted. */
  private dispatch(fd: number, events: number, generation: number): void {
    const watch = this.watches.get(fd);
    if (!watch || watch.generation !== generation) {
      this.staleEventsDropped++;
      return;
    }
    try {
      watch.onReady(readiness(events));
    } catch (error) {
      console.error(`hearth: reactor callback for fd ${fd} threw:`, error);
    }
    if (this.watches.get(fd) === watch) this.rearm(fd, watch);
  }

  private rearm(fd: number, watch: Watch): void {
    const result = native().hearth_reactor_ctl(EPOLL.CTL_MOD, fd, watch.events, watch.generation);
    if (result === -E.ENOENT || result === -E.EBADF) {
      console.error(`hearth: reactor: fd ${fd} was closed while watched; unwatching it`);
      this.unwatch(fd);
    } else if (result < 0) {
      console.error(`hearth: reactor: re-arming fd ${fd} failed: ${new SysError("epoll_ctl", -result).message}`);
    }
  }

  private updateKeepAlive(): void {
    if (this.watches.size > 0 && !this.keepAlive) {
      this.keepAlive = setInterval(() => {}, KEEP_ALIVE_MS);
    } else if (this.watches.size === 0 && this.keepAlive) {
      clearInterval(this.keepAlive);
      this.keepAlive = null;
    }
  }
}

let reactor: EpollReactor | null = null;

/** The process's reactor; the epoll thread starts on the first call. */
export function getReactor(): Reactor {
  reactor ??= new EpollReactor();
  return reactor;
}

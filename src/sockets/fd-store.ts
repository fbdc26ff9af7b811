// The file-descriptor store (sd_notify FDSTORE=1): fds a service hands to the manager to
// keep while it restarts, given back at its next start after its listening sockets, with
// their names in LISTEN_FDNAMES (sd_listen_fds_with_names).
//
// As systemd: at most fd_store_max fds per unit; an fd already stored (the same open
// file, as a service that stores again what it got back) is not stored twice;
// FDSTOREREMOVE=1 with FDNAME= closes the fds of that name; a stored fd whose peer hangs
// up or that reports an error is dropped, unless it was stored with FDPOLL=0. The store
// of a unit is emptied when the unit goes down for good (the engine says so: release-fd-store).
import { fstatSync } from "node:fs";
import { close } from "../../ffi/fd.ts";
import { sameOpenFile } from "../../ffi/net.ts";
import type { Reactor } from "../../ffi/reactor.ts";

export interface StoredFd {
  fd: number;
  name: string;
  polled: boolean;
}

type Log = (unit: string, level: "info" | "warning", text: string) => void;

export class FdStore {
  private readonly units = new Map<string, StoredFd[]>();

  constructor(private readonly reactor: Reactor, private readonly log: Log) {}

  /** The fds stored for a unit, in the order they were stored. */
  entries(unit: string): readonly StoredFd[] {
    return this.units.get(unit) ?? [];
  }

  /**
   * Takes the fds a service sent with FDSTORE=1: each is kept or closed, so the caller
   * owns none of them afterwards.
   */
  add(unit: string, max: number, fds: number[], name: string, poll: boolean): void {
    const stored = this.units.get(unit) ?? [];
    for (const fd of fds) {
      if (stored.some((s) => isSameFile(s.fd, fd))) {
        close(fd); // already kept
      } else if (stored.length >= max) {
        close(fd);
        const why = max === 0 ? "the unit has no fd store (fd_store_max = 0)" : `the store is full (fd_store_max = ${max})`;
        this.log(unit, "warning", `FDSTORE=1: fd "${name}" not kept: ${why}`);
      } else {
        stored.push({ fd, name, polled: poll && this.watchForHangup(unit, fd) });
      }
    }
    if (stored.length > 0) this.units.set(unit, stored);
  }

  /** FDSTOREREMOVE=1: closes every fd stored under `name`. */
  remove(unit: string, name: string): void {
    this.drop(unit, (s) => s.name === name);
  }

  /** Closes everything the unit stored. */
  release(unit: string): void {
    this.drop(unit, () => true);
  }

  /** daemon-reexec: every stored fd, to keep across the exec (src/manager/reexec.ts). */
  handover(): { unit: string; fd: number; name: string; polled: boolean }[] {
    return [...this.units].flatMap(([unit, stored]) => stored.map((s) => ({ unit, ...s })));
  }

  /** The stored fds of the process before the exec; those of units `known` does not name are returned (to close). */
  adopt(list: { unit: string; fd: number; name: string; polled: boolean }[], known: (unit: string) => boolean): number[] {
    const unused: number[] = [];
    for (const s of list) {
      if (!known(s.unit)) {
        unused.push(s.fd);
        continue;
      }
      const stored = this.units.get(s.unit) ?? [];
      stored.push({ fd: s.fd, name: s.name, polled: s.polled && this.watchForHangup(s.unit, s.fd) });
      this.units.set(s.unit, stored);
    }
    return unused;
  }

  closeAll(): void {
    for (const unit of [...this.units.keys()]) this.release(unit);
  }

  private drop(unit: string, which: (s: StoredFd) => boolean): void {
    const stored = this.units.get(unit);
    if (!stored) return;
    const keep = stored.filter((s) => !which(s));
    for (const s of stored) {
      if (keep.includes(s)) continue;
      if (s.polled) this.reactor.unwatch(s.fd);
      close(s.fd);
    }
    if (keep.length > 0) this.units.set(unit, keep);
    else this.units.delete(unit);
  }

  /** Watches for EPOLLHUP/EPOLLERR only; false when the fd cannot be polled (a regular file). */
  private watchForHangup(unit: string, fd: number): boolean {
    try {
      this.reactor.watch(fd, {}, (ready) => {
        if (!ready.hangup) return;
        const name = this.entries(unit).find((s) => s.fd === fd)?.name ?? "?";
        this.log(unit, "info", `stored fd "${name}" hung up: removed from the fd store`);
        this.drop(unit, (s) => s.fd === fd);
      });
      return true;
    } catch {
      return false;
    }
  }
}

/** The same open file description (kcmp); where the kernel cannot tell, the same file. */
function isSameFile(a: number, b: number): boolean {
  const same = sameOpenFile(a, b);
  if (same !== null) return same;
  const x = fstatSync(a), y = fstatSync(b);
  return x.dev === y.dev && x.ino === y.ino;
}

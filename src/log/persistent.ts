// The persistent log: what the manager and the units logged, kept on the root file system
// (/var/log/hearth) across resets, so that after a watchdog reset in the field the
// previous boot's last lines can be read (`hearthctl logs --boot -1`).
//
//   boot.log, boot.log.1, ...      this boot (size-capped: RotatingFile, src/log/file.ts)
//   boot-1.log, boot-1.log.1, ...  the previous boot: moved there when this one starts
//
// Writes are batched: lines wait in memory and go out in one write every flushMs (2 s),
// or at once when a batch grows past 64 KiB, and on every step of the way down. Then at
// most one fdatasync every syncMs (5 s), in a thread (PID 1's loop never waits for it),
// and only when something was written: the kernel's own writeback could keep appended
// data (ext4's delayed allocation) in memory for 30 s, so without it a power cut would
// lose more than the last seconds; with it the flash sees one small sync per 5 s of
// logging at most, never one per line. The sync is one call on fds the log holds, so a
// manager loop that hangs right after the timer fired (what the watchdog resets) does not
// stop it half-way; a file rotated away since the last sync keeps its fd until it is
// synced too. Never throws into PID 1: a read-only or full root turns the log off (told once).

import { closeSync, existsSync, fdatasync, mkdirSync, readdirSync, renameSync, rmSync } from "node:fs";
import { join } from "node:path";
import { RotatingFile } from "./file.ts";
import { formatEntry } from "./format.ts";
import type { LogRecord } from "./ring.ts";

export const PERSISTENT_LOG_DIR = "/var/log/hearth";
export const CURRENT = "boot.log";
export const PREVIOUS = "boot-1.log";
/** The line that says the way down began in order (the previous boot's end is read from it). */
export const WAY_DOWN_MARK = "-- hearth: the way down: ";
/** The last line of a boot that went down in order: the log closed before the root went read-only. */
export const CLOSED_MARK = "-- hearth: the log is closed, the root goes read-only next";

export interface PersistentLogOptions {
  dir?: string;
  /** Bytes per file before it rotates (default 256 KiB); `keep` rotated files besides. */
  maxBytes?: number;
  keep?: number;
  /** How long a line may wait in memory (default 2000 ms). */
  flushMs?: number;
  /** The least time between two fdatasync calls (default 5000 ms). */
  syncMs?: number;
  /** fdatasync of an fd the log holds (default: in a thread); for tests. */
  sync?: (fd: number) => Promise<void>;
  now?: () => number;
  /** Told once when the log cannot be written (a read-only root, a full disk). */
  onError: (error: unknown) => void;
  setTimer?: (fn: () => void, ms: number) => unknown;
}

const BATCH_BYTES = 64 * 1024;

export class PersistentLog {
  private readonly file: RotatingFile;
  private pending: string[] = [];
  private pendingBytes = 0;
  private timer: unknown = null;
  private readonly flushMs: number;
  private readonly syncMs: number;
  private readonly setTimer: (fn: () => void, ms: number) => unknown;
  private readonly sync: (fd: number) => Promise<void>;
  private readonly now: () => number;
  private syncTimer: unknown = null;
  private dirty = false;
  private lastSync = -Infinity;
  /** Files rotated away (or failed) since the last sync: closed once synced. */
  private released: number[] = [];

  private constructor(path: string, opts: PersistentLogOptions) {
    this.file = new RotatingFile({
      path, maxBytes: opts.maxBytes ?? 256 * 1024, keep: Math.max(0, opts.keep ?? 2), onError: opts.onError, mode: 0o640,
      release: (fd) => {
        this.released.push(fd);
        this.scheduleSync(); // and closed then: a disk that fails every write must not pile up fds
      },
    });
    this.flushMs = Math.max(10, opts.flushMs ?? 2000);
    this.syncMs = Math.max(10, opts.syncMs ?? 5000);
    this.setTimer = opts.setTimer ?? ((fn, ms) => setTimeout(fn, ms));
    this.sync = opts.sync ?? datasync;
    this.now = opts.now ?? (() => performance.now());
  }

  /**
   * Moves the previous boot's files to boot-1.log* and starts this boot's; null (the
   * error told) when the directory cannot be written, as on a read-only root.
   */
  static open(opts: PersistentLogOptions): PersistentLog | null {
    const dir = opts.dir ?? PERSISTENT_LOG_DIR;
    try {
      mkdirSync(dir, { recursive: true, mode: 0o750 });
      for (const f of readdirSync(dir)) if (f === PREVIOUS || f.startsWith(`${PREVIOUS}.`)) rmSync(join(dir, f), { force: true });
      for (const f of readdirSync(dir)) {
        if (f === CURRENT || f.startsWith(`${CURRENT}.`)) renameSync(join(dir, f), join(dir, PREVIOUS + f.slice(CURRENT.length)));
      }
    } catch (e) {
      opts.onError(e);
      return null;
    }
    return new PersistentLog(join(dir, CURRENT), opts);
  }

  append(record: LogRecord) {
    this.appendLine(formatEntry(record, { utc: true, precise: true }));
  }

  /** The way down began (written at once): the previous boot's end is read from this line. */
  wayDown(action: string, reason: string) {
    this.appendLine(`${WAY_DOWN_MARK}${action} (${reason.replace(/\s+/g, " ")})`, true);
  }

  /** Writes what waits, in one write. */
  flush() {
    if (this.pending.length === 0) return;
    const chunk = this.pending.join("");
    this.pending = [];
    this.pendingBytes = 0;
    if (this.file.write(chunk)) this.scheduleSync();
  }

  /** One fdatasync at most every syncMs; what is written while one runs gets the next. */
  private scheduleSync() {
    this.dirty = true;
    if (this.syncTimer !== null) return; // pending or running: it, or the one after it, covers this write
    const wait = Math.max(0, this.lastSync + this.syncMs - this.now());
    this.syncTimer = this.setTimer(() => {
      this.dirty = false;
      this.lastSync = this.now();
      // Every call is under way before this callback returns. A failing disk shows in the writes.
      const retired = this.released.splice(0);
      const current = this.file.openFd;
      const fds = current === undefined ? retired : [...retired, current];
      void Promise.allSettled(fds.map((fd) => this.sync(fd))).then(() => {
        for (const fd of retired) closeQuietly(fd);
        this.syncTimer = null;
        if (this.dirty) this.scheduleSync();
      });
    }, wait);
  }

  /** The way down is about to unmount: the last line, then no more writes. */
  close() {
    this.appendLine(CLOSED_MARK, true);
    this.file.close();
    // No fd open for writing may stay: the root is remounted read-only next (which syncs).
    for (const fd of this.released.splice(0)) closeQuietly(fd);
  }

  private appendLine(line: string, now = false) {
    const text = line.replace(/\n/g, " ") + "\n";
    this.pending.push(text);
    this.pendingBytes += text.length;
    if (now || this.pendingBytes >= BATCH_BYTES) return this.flush();
    if (this.timer === null) {
      this.timer = this.setTimer(() => {
        this.timer = null;
        this.flush();
      }, this.flushMs);
    }
  }
}

function datasync(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fdatasync(fd, (e) => (e ? reject(e) : resolve())));
}

function closeQuietly(fd: number) {
  try {
    closeSync(fd);
  } catch {
    // gone either way
  }
}

/** The previous boot's files, oldest first (boot-1.log.N .. boot-1.log). */
export function previousBootFiles(dir = PERSISTENT_LOG_DIR): string[] {
  if (!existsSync(dir)) return [];
  const rotated = readdirSync(dir).filter((f) => f.startsWith(`${PREVIOUS}.`) && /^\d+$/.test(f.slice(PREVIOUS.length + 1)))
    .sort((a, b) => Number(b.slice(PREVIOUS.length + 1)) - Number(a.slice(PREVIOUS.length + 1)));
  return [...rotated, ...(existsSync(join(dir, PREVIOUS)) ? [PREVIOUS] : [])].map((f) => join(dir, f));
}

// Appending log lines to a file that rotates by size: FILE -> FILE.1 -> ... -> FILE.N.
// Synchronous node:fs calls: lines are small, and the order of lines must hold.
// Never throws into the caller: PID 1 must not die because a disk is full.

import { closeSync, fstatSync, openSync, renameSync, rmSync, writeSync } from "node:fs";

export interface RotatingFileOptions {
  path: string;
  /** Rotate before a write would take the file past this many bytes. Default 1 MiB. */
  maxBytes?: number;
  /** How many rotated files to keep (FILE.1 .. FILE.keep). Default 3; 0 keeps none. */
  keep?: number;
  /** Told about a failure once; after a write succeeds again, the next failure is told too. */
  onError?: (error: unknown) => void;
  /** File mode when the file is created. Default 0o640. */
  mode?: number;
  /**
   * Takes the fd of a file that is done with (rotated away, failed, closed) instead of
   * closing it, and closes it later: the persistent log syncs it first (src/log/persistent.ts).
   */
  release?: (fd: number) => void;
}

const encoder = new TextEncoder();

export class RotatingFile {
  readonly path: string;
  readonly maxBytes: number;
  readonly keep: number;
  private readonly mode: number;
  private readonly onError?: (error: unknown) => void;
  private readonly release?: (fd: number) => void;
  private fd: number | undefined;
  private size = 0;
  private failing = false;
  private closed = false;

  constructor(options: RotatingFileOptions) {
    this.path = options.path;
    this.maxBytes = Math.max(1, options.maxBytes ?? 1024 * 1024);
    this.keep = Math.max(0, Math.trunc(options.keep ?? 3));
    this.mode = options.mode ?? 0o640;
    this.onError = options.onError;
    this.release = options.release;
  }

  /** The fd being appended to, while one is open. */
  get openFd(): number | undefined {
    return this.fd;
  }

  /** Appends one line (a newline is added when missing). Returns whether it was written. */
  write(line: string): boolean {
    if (this.closed) return false;
    const data = encoder.encode(line.endsWith("\n") ? line : line + "\n");
    try {
      if (this.fd === undefined) this.open();
      if (this.size > 0 && this.size + data.length > this.maxBytes) {
        this.rotate();
        this.open();
      }
      let off = 0;
      while (off < data.length) off += writeSync(this.fd!, data, off, data.length - off);
      this.size += data.length;
      this.failing = false;
      return true;
    } catch (error) {
      this.fail(error);
      return false;
    }
  }

  /** Closes the file; later writes are dropped. */
  close(): void {
    this.closed = true;
    this.closeFd();
  }

  private open(): void {
    const fd = openSync(this.path, "a", this.mode);
    try {
      this.size = fstatSync(fd).size;
    } catch (error) {
      closeSync(fd);
      throw error;
    }
    this.fd = fd;
  }

  private rotate(): void {
    this.closeFd();
    if (this.keep === 0) {
      rmSync(this.path, { force: true });
      return;
    }
    rmSync(`${this.path}.${this.keep}`, { force: true });
    for (let i = this.keep - 1; i >= 1; i--) {
      try {
        renameSync(`${this.path}.${i}`, `${this.path}.${i + 1}`);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
      }
    }
    renameSync(this.path, `${this.path}.1`);
  }

  private closeFd(): void {
    if (this.fd === undefined) return;
    const fd = this.fd;
    this.fd = undefined;
    if (this.release) return this.release(fd);
    try {
      closeSync(fd);
    } catch {
      // Nothing useful to do: the fd is gone either way.
    }
  }

  private fail(error: unknown): void {
    // Start afresh at the next write (the file may have been removed or the disk freed).
    this.closeFd();
    if (this.failing) return;
    this.failing = true;
    try {
      this.onError?.(error);
    } catch {
      // The error callback must not break the caller either.
    }
  }
}

// Reading a configuration file without trusting what stands at its path. PID 1 reads
// these at boot: it must not block on a FIFO, read a device forever, arm a watchdog by
// opening it, or take in a file of any size. So: stat first and open regular files
// only, never block in open (O_NONBLOCK), check the opened fd again (the path may have
// changed in between), and read at most a bounded number of bytes.
//
// Symbolic links are followed (units/foo.toml -> ../available/foo.toml is common), so
// no O_NOFOLLOW; a link to nothing is reported as such.

import { closeSync, constants, fstatSync, lstatSync, openSync, readlinkSync, readSync, statSync, type Stats } from "node:fs";

/**
 * The largest configuration file read. A unit file is a few hundred bytes; a 1 MiB file
 * of pathological TOML (half a million array items, a hundred thousand tables) took
 * seconds and 220 MB to validate, a quarter of that at this size.
 */
export const MAX_CONFIG_FILE_BYTES = 256 << 10;

/** One decoder for every file (decode without `stream` keeps no state between calls). */
const UTF8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });

export type FileRead = { text: string } | { missing: true } | { problem: string };

/** A regular file's text (UTF-8), at most `max` bytes of it; else why not, or that it is missing. */
export function readConfigFile(path: string, max = MAX_CONFIG_FILE_BYTES): FileRead {
  const head = readRegularFile(path, max, true);
  if (!("bytes" in head)) return head;
  try {
    return { text: UTF8.decode(head.bytes) };
  } catch {
    return { problem: "not UTF-8 text: not read" };
  }
}

/** The text of a file, or null when it is missing or is no readable regular file (environment files). */
export function readConfigText(path: string): string | null {
  const read = readConfigFile(path);
  return "text" in read ? read.text : null;
}

/**
 * The first `max` bytes of a regular file (a #! line). With `whole`, a larger file is a
 * problem instead of being cut.
 */
export function readRegularFile(path: string, max: number, whole = false): { bytes: Uint8Array } | { missing: true } | { problem: string } {
  let before: Stats;
  try {
    before = statSync(path);
  } catch (e) {
    return failure(path, e);
  }
  if (!before.isFile()) return notRegular(before);
  if (whole && before.size > max) return tooLarge(before.size, max);
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (e) {
    return failure(path, e);
  }
  try {
    const opened = fstatSync(fd);
    if (!opened.isFile()) return notRegular(opened);
    // One byte more than allowed, to see a file that grew. /proc and /sys files say size 0,
    // so the buffer starts at a page and grows until the end of the file or max + 1.
    let buffer = new Uint8Array(Math.min(Math.max(opened.size, 4096), max) + 1);
    let length = 0;
    for (;;) {
      if (length === buffer.length) {
        if (buffer.length > max) break;
        const bigger = new Uint8Array(Math.min(buffer.length * 2, max + 1));
        bigger.set(buffer);
        buffer = bigger;
      }
      const n = readSync(fd, buffer, length, buffer.length - length, null);
      if (n === 0) break;
      length += n;
    }
    if (whole && length > max) return tooLarge(length, max);
    return { bytes: buffer.subarray(0, Math.min(length, max)) };
  } catch (e) {
    return failure(path, e);
  } finally {
    closeSync(fd);
  }
}

/** Whether anything stands at `path`, a dangling symbolic link included (lstat: the link is not followed). */
export function existsNoFollow(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

function failure(path: string, e: unknown): { missing: true } | { problem: string } {
  const code = (e as NodeJS.ErrnoException).code;
  if (code !== "ENOENT") return { problem: `cannot read: ${e instanceof Error ? e.message : String(e)}` };
  const target = danglingTarget(path);
  return target === null ? { missing: true } : { problem: `a symbolic link to ${target}, which does not exist` };
}

function danglingTarget(path: string): string | null {
  try {
    return lstatSync(path).isSymbolicLink() ? readlinkSync(path) : null;
  } catch {
    return null;
  }
}

function notRegular(stats: Stats): { problem: string } {
  return { problem: `not a regular file (${fileKind(stats)}): not read` };
}

function tooLarge(size: number, max: number): { problem: string } {
  return { problem: `${size} bytes: a file is read up to ${max / 1024} KiB; not read` };
}

function fileKind(stats: Stats): string {
  if (stats.isDirectory()) return "a directory";
  if (stats.isFIFO()) return "a FIFO";
  if (stats.isSocket()) return "a socket";
  if (stats.isCharacterDevice()) return "a character device";
  if (stats.isBlockDevice()) return "a block device";
  return "not a file";
}

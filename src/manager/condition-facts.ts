// The facts conditions and asserts are tested against (src/engine/conditions.ts), read
// from the running system: stat, small regular files of /proc, /sys, /etc and /run,
// directory listings, uname. Nothing here opens anything but a regular file (a FIFO or a
// device named by a condition is only stat()ed) or reads more than MAX_FACT_BYTES.
import { closeSync, constants, fstatSync, lstatSync, openSync, opendirSync, readSync, realpathSync, statSync, type Stats } from "node:fs";
import { availableParallelism, hostname, machine, release } from "node:os";
import type { ConditionFacts, PathFacts } from "../engine/conditions.ts";

/** /proc/self/mountinfo of a system with a few thousand mounts fits. */
const MAX_FACT_BYTES = 1 << 20;

export function realConditionFacts(): ConditionFacts {
  return {
    stat: (path, follow) => {
      const st = follow ? statSync(path, { throwIfNoEntry: false }) : lstatSync(path, { throwIfNoEntry: false });
      return st === undefined ? null : pathFacts(st);
    },
    list: (dir, max) => {
      const d = opendirSync(dir);
      try {
        const names: string[] = [];
        for (let e = d.readSync(); e !== null && names.length < max; e = d.readSync()) names.push(e.name);
        return names;
      } finally {
        d.closeSync();
      }
    },
    read: readSmallFile,
    realpath: (path) => realpathSync(path),
    uname: () => ({ release: release(), machine: machine(), nodename: hostname() }),
    processArch: process.arch,
    env: (name) => process.env[name],
    cpus: () => availableParallelism(),
  };
}

function pathFacts(st: Stats): PathFacts {
  const kind = st.isFile() ? "file" : st.isDirectory() ? "dir" : st.isSymbolicLink() ? "link" : "other";
  return { kind, size: st.size, mode: st.mode & 0o7777, mtimeMs: st.mtimeMs };
}

/**
 * A regular file's bytes as latin1 text (/proc files say size 0: read to the end), null
 * when it is missing; throws when it is no regular file or larger than MAX_FACT_BYTES.
 */
function readSmallFile(path: string): string | null {
  const st = statSync(path, { throwIfNoEntry: false });
  if (st === undefined) return null;
  if (!st.isFile()) throw new Error(`${path}: not a regular file`);
  const fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  try {
    if (!fstatSync(fd).isFile()) throw new Error(`${path}: not a regular file`);
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const chunk = Buffer.alloc(Math.min(Math.max(st.size, 16384), MAX_FACT_BYTES + 1 - total));
      const n = readSync(fd, chunk, 0, chunk.length, null);
      if (n === 0) break;
      chunks.push(chunk.subarray(0, n));
      total += n;
      if (total > MAX_FACT_BYTES) throw new Error(`${path}: larger than ${MAX_FACT_BYTES} bytes`);
    }
    return Buffer.concat(chunks).toString("latin1");
  } finally {
    closeSync(fd);
  }
}

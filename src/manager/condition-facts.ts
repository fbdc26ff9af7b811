// The facts conditions and asserts are tested against (src/engine/conditions.ts), read
// from the running system: stat, small regular files of /proc, /sys, /etc and /run,
// directory listings, uname. Nothing here opens anything but a regular file (a FIFO or a
// device named by a condition is only stat()ed) or reads more than MAX_FACT_BYTES.
import { lstatSync, opendirSync, realpathSync, statSync, type Stats } from "node:fs";
import { availableParallelism, hostname, machine, release } from "node:os";
import type { ConditionFacts, PathFacts } from "../engine/conditions.ts";
import { readRegularFile } from "../config/read-file.ts";

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
  const read = readRegularFile(path, MAX_FACT_BYTES, true);
  if ("missing" in read) return null;
  if ("problem" in read) throw new Error(`${path}: ${read.problem}`);
  return Buffer.from(read.bytes).toString("latin1");
}

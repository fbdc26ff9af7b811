// The manager's own open-file limit, and the one its services start with.
//
// Bun raises its soft RLIMIT_NOFILE to the hard limit when it starts, so without a word
// from hearth every service would inherit a soft limit of 4096 (the kernel's hard limit
// for init) or more: programs that still use select(2) break on an fd past 1023. systemd
// gives services DefaultLimitNOFILE=1024:524288 and raises its own (HIGH_RLIMIT_NOFILE,
// 512 Ki, within fs.nr_open): the manager holds every service's sockets, pipes and fd
// store, so its own limit must be high; the services' soft one stays 1024 and they may
// raise it up to the hard one. A manager that is not root cannot raise its hard limit:
// it keeps its own, and its services get the same.

import { readFileSync } from "node:fs";
import { ptr } from "bun:ffi";
import { RLIMIT } from "./constants.ts";
import { libc } from "./libc.ts";

/** systemd's HIGH_RLIMIT_NOFILE: the manager's own, and its services' hard limit. */
export const HIGH_NOFILE = 512 * 1024;
/** The soft limit services start with: what select(2) can handle (FD_SETSIZE). */
export const SERVICE_NOFILE_SOFT = 1024;

function getNofile(): { soft: number; hard: number } {
  const cell = new BigUint64Array(2);
  if (libc.getrlimit(RLIMIT.nofile!, ptr(cell)) !== 0) return { soft: SERVICE_NOFILE_SOFT, hard: SERVICE_NOFILE_SOFT };
  const n = (v: bigint) => (v > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(v));
  return { soft: n(cell[0]!), hard: n(cell[1]!) };
}

function setNofile(soft: number, hard: number): boolean {
  return libc.setrlimit(RLIMIT.nofile!, ptr(new BigUint64Array([BigInt(soft), BigInt(hard)]))) === 0;
}

function nrOpen(): number {
  try {
    const n = Number(readFileSync("/proc/sys/fs/nr_open", "utf8").trim());
    return Number.isSafeInteger(n) && n > 0 ? n : HIGH_NOFILE;
  } catch {
    return HIGH_NOFILE;
  }
}

/**
 * Raises the manager's own open-file limit as far as systemd raises its own (root: to
 * min(fs.nr_open, 512 Ki), never lower than it is), and returns the limit services start
 * with: soft 1024 (or less, under a lower hard limit), hard the manager's.
 */
export function raiseOwnFileLimit(): { soft: number; hard: number } {
  let own = getNofile();
  const target = Math.min(nrOpen(), HIGH_NOFILE);
  if (own.hard < target && setNofile(target, target)) own = getNofile();
  else if (own.soft < own.hard && setNofile(own.hard, own.hard)) own = getNofile();
  return { soft: Math.min(SERVICE_NOFILE_SOFT, own.hard), hard: own.hard };
}
